//! The shared-memory zone behind `image_error_zone`: counts failures per
//! key across all workers so cacheable errors back off exponentially. The
//! table logic is the engine's (`image_engine::backoff`); this file only
//! places it in nginx shared memory and locks it.

use std::ffi::c_void;
use std::ptr::NonNull;

use image_engine::backoff::{Entry, Table, BUCKET};
use ngx::core::Status;
use ngx::ffi::{
    ngx_shared_memory_add, ngx_shm_zone_t, ngx_shmtx_lock, ngx_shmtx_unlock, ngx_slab_alloc,
    ngx_slab_pool_t, ngx_str_t, ngx_time,
};

use super::config::{arg_text, Config};
use super::guard::guard;

/// The smallest zone worth having: a few pages of nginx's slab pool plus
/// room for some buckets.
pub const MIN_ZONE_SIZE: usize = 32 * 1024;

/// A zone registered by [`FailureZone::add`]; nginx maps it before workers
/// start and keeps it for the life of the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureZone(NonNull<ngx_shm_zone_t>);

/// What the zone's memory holds after nginx's slab pool header.
#[repr(C)]
struct Shared {
    entries: *mut Entry,
    len: usize,
}

/// `zone->data` between configuration and initialisation.
const UNINITIALISED: *mut c_void = std::ptr::dangling_mut::<c_void>();

impl FailureZone {
    /// Registers the zone (`image_error_zone NAME SIZE`); `None` after
    /// logging why not.
    pub fn add(config: &Config, name: &mut ngx_str_t, size: usize) -> Option<FailureZone> {
        let tag = std::ptr::addr_of!(crate::ngx_http_image_module) as *mut c_void;
        // SAFETY: the configuration is live; nginx owns the zone, and the
        // tag ties it to this module so a same-named zone of another module
        // is refused by nginx.
        let zone =
            NonNull::new(unsafe { ngx_shared_memory_add(config.as_ptr(), name, size, tag) })?;
        // SAFETY: nginx just returned this zone; nothing else touches it
        // during configuration.
        let zone_ref = unsafe { &mut *zone.as_ptr() };
        if !zone_ref.data.is_null() {
            config.emerg(format_args!(
                "image_error_zone \"{}\" is already defined",
                arg_text(name)
            ));
            return None;
        }
        zone_ref.init = Some(init_zone);
        // Replaced by the table in init_zone; non-null marks the name taken.
        zone_ref.data = UNINITIALISED;
        Some(FailureZone(zone))
    }

    /// Counts one more failure of `key`; returns the failures in a row. A
    /// key whose last failure is older than the `max-age` that failure got
    /// (backoff between `min` and `max`) starts again at one.
    pub fn record_failure(self, key: u64, min: u32, max: u32) -> u32 {
        self.with_table(|t| t.record_failure_decaying(key, now(), min, max))
    }

    /// Forgets `key`'s failures.
    pub fn record_success(self, key: u64) {
        self.with_table(|t| t.record_success(key))
    }

    /// Runs `f` on the zone's table under the zone's lock.
    fn with_table<T>(self, f: impl FnOnce(&mut Table<'_>) -> T) -> T {
        // SAFETY: in a running worker init_zone has stored a Shared at
        // zone->data; the slab pool's mutex serialises all workers' access
        // to the entries.
        unsafe {
            let zone = self.0.as_ptr();
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            let shared = &*((*zone).data as *const Shared);
            ngx_shmtx_lock(&mut (*pool).mutex);
            let entries = std::slice::from_raw_parts_mut(shared.entries, shared.len);
            let mut table = Table::new(entries);
            let result = f(&mut table);
            ngx_shmtx_unlock(&mut (*pool).mutex);
            result
        }
    }
}

/// Zone init: on a reload that keeps the zone, the old table is reused so
/// the counts survive.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> isize {
    guard(Status::NGX_ERROR.0, || {
        // SAFETY: nginx calls this once the shared memory is mapped and its
        // slab pool initialised at shm.addr.
        unsafe {
            if !old.is_null() && old != UNINITIALISED {
                (*zone).data = old;
                return Status::NGX_OK.0;
            }
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            if (*zone).shm.exists != 0 {
                (*zone).data = (*pool).data;
                return Status::NGX_OK.0;
            }
            let shared = ngx_slab_alloc(pool, size_of::<Shared>()) as *mut Shared;
            if shared.is_null() {
                return Status::NGX_ERROR.0;
            }
            // Half the zone for entries leaves the slab allocator room for
            // its own bookkeeping.
            let len = ((*zone).shm.size / 2 / size_of::<Entry>()) / BUCKET * BUCKET;
            let entries = ngx_slab_alloc(pool, len * size_of::<Entry>()) as *mut Entry;
            if entries.is_null() {
                return Status::NGX_ERROR.0;
            }
            for i in 0..len {
                entries.add(i).write(Entry::default());
            }
            shared.write(Shared { entries, len });
            (*pool).data = shared as *mut c_void;
            (*zone).data = shared as *mut c_void;
            Status::NGX_OK.0
        }
    })
}

fn now() -> u32 {
    ngx_time() as u32
}
