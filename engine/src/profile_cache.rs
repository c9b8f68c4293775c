//! A small cache keyed by an embedded profile's bytes. Building a colour
//! transform costs more than converting a small photo with it (moxcms
//! evaluates the profile's curves into tables: for a 0.27 MP Adobe RGB
//! photo, about half of the whole transform's instructions), while a site
//! serves a handful of distinct profiles. Shared by the pool's threads;
//! the least recently used entry makes room.

use std::sync::{Arc, Mutex, PoisonError};

pub(crate) struct ProfileCache<T> {
    /// Most recently used last.
    entries: Mutex<Vec<(Vec<u8>, Arc<T>)>>,
    capacity: usize,
}

impl<T> ProfileCache<T> {
    pub(crate) const fn new(capacity: usize) -> Self {
        ProfileCache {
            entries: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// The value for `key`, built by `build` when it is not cached. The
    /// lock is not held while building (two threads may build the same
    /// value once each; the second insert wins, both are correct).
    pub(crate) fn get_or_build(&self, key: &[u8], build: impl FnOnce() -> T) -> Arc<T> {
        if let Some(found) = self.take(key) {
            return found;
        }
        let value = Arc::new(build());
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(k, _)| k.as_slice() != key);
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        entries.push((key.to_vec(), value.clone()));
        value
    }

    /// A cached value, moved to the most recently used end.
    fn take(&self, key: &[u8]) -> Option<Arc<T>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let at = entries.iter().position(|(k, _)| k.as_slice() == key)?;
        let entry = entries.remove(at);
        let value = entry.1.clone();
        entries.push(entry);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_value_is_built_once_per_key() {
        let cache = ProfileCache::new(4);
        let builds = Cell::new(0);
        let build = |n| {
            builds.set(builds.get() + 1);
            n
        };
        assert_eq!(*cache.get_or_build(b"a", || build(1)), 1);
        assert_eq!(*cache.get_or_build(b"a", || build(2)), 1);
        assert_eq!(*cache.get_or_build(b"b", || build(3)), 3);
        assert_eq!(builds.get(), 2);
    }

    #[test]
    fn the_least_recently_used_entry_makes_room() {
        let cache = ProfileCache::new(2);
        cache.get_or_build(b"a", || 1);
        cache.get_or_build(b"b", || 2);
        cache.get_or_build(b"a", || 0); // a is now the most recent
        cache.get_or_build(b"c", || 3); // b goes
        assert_eq!(*cache.get_or_build(b"a", || 10), 1);
        assert_eq!(*cache.get_or_build(b"b", || 20), 20);
    }
}
