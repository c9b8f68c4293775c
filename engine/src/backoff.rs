//! Exponential backoff for cacheable errors, as Cloudinary does for its
//! cached 40x responses: the first failure of a key may be cached for `min`
//! seconds, each repeat doubles that up to `max`, a success resets the key.
//!
//! The table is a fixed array of small entries (the glue puts it in an nginx
//! shared-memory zone so every worker agrees), grouped in buckets. A full
//! bucket evicts its least recently seen entry: the table never refuses a
//! key and never grows.

/// One remembered key. Plain old data so it can live in shared memory.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    /// Hash of the key; 0 marks an empty slot.
    pub key: u64,
    /// Failures seen in a row.
    pub failures: u32,
    /// When the key was last seen, in seconds (any monotonic-enough clock).
    pub seen: u32,
}

/// Entries per bucket: a key lives in exactly one bucket.
pub const BUCKET: usize = 8;

/// A view of the entries; the caller holds whatever lock protects them.
pub struct Table<'a> {
    entries: &'a mut [Entry],
}

impl<'a> Table<'a> {
    /// `entries.len()` should be a multiple of [`BUCKET`]; a remainder is
    /// left unused.
    pub fn new(entries: &'a mut [Entry]) -> Self {
        Table { entries }
    }

    fn bucket(&mut self, key: u64) -> &mut [Entry] {
        let buckets = (self.entries.len() / BUCKET).max(1);
        let start = (key % buckets as u64) as usize * BUCKET;
        let end = (start + BUCKET).min(self.entries.len());
        &mut self.entries[start..end]
    }

    /// Records one more failure of `key` and returns how many failures in a
    /// row it has now (1 for the first).
    pub fn record_failure(&mut self, key: u64, now: u32) -> u32 {
        self.record(key, now, |_| false)
    }

    /// Like [`Table::record_failure`], but the count decays: a key whose
    /// last failure is older than the `max-age` its last response was given
    /// (`max_age(failures, min, max)`) starts again at 1, so a fixed origin
    /// that fails once more weeks later is not punished with the maximum.
    pub fn record_failure_decaying(&mut self, key: u64, now: u32, min: u32, max: u32) -> u32 {
        self.record(key, now, |entry| {
            // A clock that went backwards counts as no time passed.
            now.saturating_sub(entry.seen) > max_age(entry.failures, min, max)
        })
    }

    fn record(&mut self, key: u64, now: u32, expired: impl Fn(&Entry) -> bool) -> u32 {
        let key = nonzero(key);
        let bucket = self.bucket(key);
        if let Some(entry) = bucket.iter_mut().find(|e| e.key == key) {
            entry.failures = if expired(entry) {
                1
            } else {
                entry.failures.saturating_add(1)
            };
            entry.seen = now;
            return entry.failures;
        }
        // An empty slot, else the least recently seen entry.
        let slot = match bucket.iter().position(|e| e.key == 0) {
            Some(i) => i,
            None => {
                let mut oldest = 0;
                for (i, e) in bucket.iter().enumerate() {
                    if e.seen < bucket[oldest].seen {
                        oldest = i;
                    }
                }
                oldest
            }
        };
        bucket[slot] = Entry {
            key,
            failures: 1,
            seen: now,
        };
        1
    }

    /// Forgets `key`: the next failure starts from the beginning again.
    pub fn record_success(&mut self, key: u64) {
        let key = nonzero(key);
        if let Some(entry) = self.bucket(key).iter_mut().find(|e| e.key == key) {
            *entry = Entry::default();
        }
    }

    /// Failures in a row currently remembered for `key`.
    pub fn failures(&mut self, key: u64) -> u32 {
        let key = nonzero(key);
        self.bucket(key)
            .iter()
            .find(|e| e.key == key)
            .map_or(0, |e| e.failures)
    }
}

/// 0 marks empty slots, so a key that hashes to 0 is moved to 1.
fn nonzero(key: u64) -> u64 {
    key.max(1)
}

/// How long a response for the `failures`-th failure in a row may be cached:
/// `min`, doubling each time, never above `max`.
pub fn max_age(failures: u32, min: u32, max: u32) -> u32 {
    let doublings = failures.saturating_sub(1).min(31);
    let age = u64::from(min) << doublings;
    age.min(u64::from(max)) as u32
}

/// A stable 64-bit hash of a key (FNV-1a): the same in every worker and
/// across reloads, unlike std's randomly seeded hasher.
pub fn hash_key(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_doubles_from_min_up_to_max() {
        let ages: Vec<u32> = (1..=6).map(|n| max_age(n, 60, 86_400)).collect();
        assert_eq!(ages, [60, 120, 240, 480, 960, 1920]);
        assert_eq!(max_age(20, 60, 86_400), 86_400);
        assert_eq!(max_age(200, 60, 86_400), 86_400);
        assert_eq!(max_age(0, 60, 86_400), 60);
    }

    #[test]
    fn failures_count_up_and_success_resets() {
        let mut entries = [Entry::default(); 64];
        let mut table = Table::new(&mut entries);
        let key = hash_key(b"/img/a.jpg?width=100");
        assert_eq!(table.record_failure(key, 1), 1);
        assert_eq!(table.record_failure(key, 2), 2);
        assert_eq!(table.record_failure(key, 3), 3);
        assert_eq!(table.failures(key), 3);
        table.record_success(key);
        assert_eq!(table.failures(key), 0);
        assert_eq!(table.record_failure(key, 4), 1);
    }

    #[test]
    fn a_failure_older_than_its_last_max_age_starts_again_at_the_minimum() {
        let (min, max) = (60, 86_400);
        let mut entries = [Entry::default(); 64];
        let mut table = Table::new(&mut entries);
        let key = hash_key(b"/img/a.jpg");
        let mut now = 1000;
        for expected in 1..=4 {
            assert_eq!(table.record_failure_decaying(key, now, min, max), expected);
            // Each repeat comes just within the age the last answer had.
            now += max_age(expected, min, max);
        }
        // 4 failures: the last answer was cacheable for 480 s.
        assert_eq!(max_age(4, min, max), 480);
        now -= max_age(4, min, max);
        assert_eq!(table.record_failure_decaying(key, now + 480, min, max), 5);
        let seen = now + 480;
        // 960 s allowed for the fifth; one second more and it is forgotten.
        assert_eq!(table.record_failure_decaying(key, seen + 961, min, max), 1);
        assert_eq!(max_age(table.failures(key), min, max), min);
        // A clock going backwards is not mistaken for a long pause.
        assert_eq!(table.record_failure_decaying(key, 5, min, max), 2);
    }

    #[test]
    fn keys_are_independent() {
        let mut entries = [Entry::default(); 64];
        let mut table = Table::new(&mut entries);
        let a = hash_key(b"a");
        let b = hash_key(b"b");
        table.record_failure(a, 1);
        table.record_failure(a, 1);
        assert_eq!(table.record_failure(b, 1), 1);
        assert_eq!(table.failures(a), 2);
    }

    #[test]
    fn a_full_table_evicts_the_oldest_key_and_never_fails() {
        // One bucket: the ninth key evicts the least recently seen one.
        let mut entries = [Entry::default(); BUCKET];
        let mut table = Table::new(&mut entries);
        for k in 1..=BUCKET as u64 {
            table.record_failure(k, k as u32 * 10);
        }
        table.record_failure(1, 100); // key 1 is now the most recent
        assert_eq!(table.record_failure(99, 200), 1);
        assert_eq!(table.failures(2), 0, "key 2 was the oldest and is gone");
        assert_eq!(table.failures(1), 2, "recently seen keys stay");
        for k in 3..=BUCKET as u64 {
            assert_eq!(table.failures(k), 1);
        }
        // Thousands more keys: still no failure, still bounded.
        for k in 1000..5000u64 {
            assert_eq!(table.record_failure(k, k as u32), 1);
        }
    }

    #[test]
    fn key_zero_is_usable() {
        let mut entries = [Entry::default(); 16];
        let mut table = Table::new(&mut entries);
        assert_eq!(table.record_failure(0, 1), 1);
        assert_eq!(table.record_failure(0, 2), 2);
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash_key(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(hash_key(b"a"), hash_key(b"b"));
    }
}
