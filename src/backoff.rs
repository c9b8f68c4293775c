//! The shared-memory zone behind `image_error_zone`: counts failures per
//! key across all workers so cacheable errors back off exponentially.
//! The table logic itself is the engine's (`image_engine::backoff`); this
//! file only places it in nginx shared memory and locks it.

use std::ffi::c_void;

use image_engine::backoff::{Entry, Table, BUCKET};
use ngx::ffi::{
    ngx_conf_t, ngx_shared_memory_add, ngx_shm_zone_t, ngx_shmtx_lock, ngx_shmtx_unlock,
    ngx_slab_alloc, ngx_slab_pool_t, ngx_str_t, ngx_time,
};

use crate::ngx_http_image_module;
use crate::util::guard;

/// The smallest zone worth having: a few pages of nginx's slab pool plus
/// room for some buckets.
pub const MIN_ZONE_SIZE: usize = 32 * 1024;

/// What the zone's memory holds after nginx's slab pool header.
#[repr(C)]
struct Shared {
    entries: *mut Entry,
    len: usize,
}

/// `zone->data` between configuration and initialisation.
const UNINITIALISED: *mut c_void = std::ptr::dangling_mut::<c_void>();

/// Registers the zone (`image_error_zone NAME SIZE`).
///
/// # Safety
/// `cf` must be the live configuration; `name` one of its arguments.
pub unsafe fn add_zone(
    cf: *mut ngx_conf_t,
    name: *mut ngx_str_t,
    size: usize,
) -> Option<*mut ngx_shm_zone_t> {
    // SAFETY: nginx owns the zone; the tag ties it to this module so a
    // same-named zone of another module is refused by nginx.
    unsafe {
        let tag = std::ptr::addr_of_mut!(ngx_http_image_module) as *mut c_void;
        let zone = ngx_shared_memory_add(cf, name, size, tag);
        if zone.is_null() {
            return None;
        }
        if !(*zone).data.is_null() {
            ngx::ngx_conf_log_error!(
                ngx::ffi::NGX_LOG_EMERG,
                cf,
                "image_error_zone \"{}\" is already defined",
                String::from_utf8_lossy(crate::util::str_bytes(&*name))
            );
            return None;
        }
        (*zone).init = Some(init_zone);
        // Replaced by the table in init_zone; non-null marks the name taken.
        (*zone).data = UNINITIALISED;
        Some(zone)
    }
}

/// Zone init: on a reload that keeps the zone, the old table is reused so
/// the counts survive.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> isize {
    guard(-1, || {
        // SAFETY: nginx calls this once the shared memory is mapped and its
        // slab pool initialised at shm.addr.
        unsafe {
            if !old.is_null() && old != UNINITIALISED {
                (*zone).data = old;
                return 0;
            }
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            if (*zone).shm.exists != 0 {
                (*zone).data = (*pool).data;
                return 0;
            }
            let shared = ngx_slab_alloc(pool, size_of::<Shared>()) as *mut Shared;
            if shared.is_null() {
                return -1;
            }
            // Half the zone for entries leaves the slab allocator room for
            // its own bookkeeping.
            let len = ((*zone).shm.size / 2 / size_of::<Entry>()) / BUCKET * BUCKET;
            let entries = ngx_slab_alloc(pool, len * size_of::<Entry>()) as *mut Entry;
            if entries.is_null() {
                return -1;
            }
            for i in 0..len {
                entries.add(i).write(Entry::default());
            }
            shared.write(Shared { entries, len });
            (*pool).data = shared as *mut c_void;
            (*zone).data = shared as *mut c_void;
            0
        }
    })
}

/// Runs `f` on the zone's table under the zone's lock.
///
/// # Safety
/// `zone` must be a zone registered by [`add_zone`] in a running worker.
unsafe fn with_table<T>(zone: *mut ngx_shm_zone_t, f: impl FnOnce(&mut Table<'_>) -> T) -> T {
    // SAFETY: init_zone stored a Shared at zone->data; the slab pool's
    // mutex serialises all workers' access to the entries.
    unsafe {
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

fn now() -> u32 {
    ngx_time() as u32
}

/// Counts one more failure of `key`; returns the failures in a row.
///
/// # Safety
/// As for [`with_table`].
pub unsafe fn record_failure(zone: *mut ngx_shm_zone_t, key: u64) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { with_table(zone, |t| t.record_failure(key, now())) }
}

/// Forgets `key`'s failures.
///
/// # Safety
/// As for [`with_table`].
pub unsafe fn record_success(zone: *mut ngx_shm_zone_t, key: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { with_table(zone, |t| t.record_success(key)) }
}
