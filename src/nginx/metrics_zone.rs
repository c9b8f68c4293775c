//! The shared-memory zone behind `image_status`: one
//! [`Counters`](image_engine::metrics::Counters) value that every worker
//! adds to under the zone's lock. The counters and their renderings are the
//! engine's; this file only places them in nginx shared memory.
//!
//! The zone is registered with the http block, whether or not a location
//! has `image_status`, so the counts start with the first request. nginx
//! initialises it in the master process before the workers are forked; the
//! zone handle is kept in a process-wide slot they inherit.

use std::ffi::c_void;
use std::ptr::{null_mut, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use image_engine::metrics::Counters;
use ngx::core::Status;
use ngx::ffi::{
    ngx_shared_memory_add, ngx_shm_zone_t, ngx_shmtx_lock, ngx_shmtx_unlock, ngx_slab_alloc,
    ngx_slab_pool_t, ngx_str_t,
};

use super::config::Config;
use super::guard::guard;

/// The zone's size: the counters (a few KB) plus nginx's slab bookkeeping.
const ZONE_SIZE: usize = 64 * 1024;

/// The zone's name, as `nginx -T` and errors about zones show it.
const ZONE_NAME: &[u8] = b"image_metrics";

/// The zone of the running configuration, set by `init_zone`.
static CURRENT: AtomicPtr<ngx_shm_zone_t> = AtomicPtr::new(null_mut());

/// The metrics zone of the running configuration.
#[derive(Debug, Clone, Copy)]
pub struct MetricsZone(NonNull<ngx_shm_zone_t>);

impl MetricsZone {
    /// Registers the zone for the configuration being read (again for a
    /// second http block: nginx hands back the same zone).
    pub fn add(config: &Config) -> Result<(), ()> {
        let tag = std::ptr::addr_of!(crate::ngx_http_image_module) as *mut c_void;
        // nginx keeps the name's pointer with the zone and compares it on
        // reload, after this module may have been unloaded: it must live in
        // the configuration's memory, not in this library.
        let data = config.pool().calloc(ZONE_NAME.len()) as *mut u8;
        if data.is_null() {
            return Err(());
        }
        // SAFETY: `data` has room for the name, just allocated.
        unsafe { std::ptr::copy_nonoverlapping(ZONE_NAME.as_ptr(), data, ZONE_NAME.len()) };
        let mut name = ngx_str_t {
            len: ZONE_NAME.len(),
            data,
        };
        // SAFETY: the configuration is live; the name lives as long as it.
        let zone = unsafe { ngx_shared_memory_add(config.as_ptr(), &mut name, ZONE_SIZE, tag) };
        let zone = NonNull::new(zone).ok_or(())?;
        // SAFETY: nginx just returned this zone; configuration is single
        // threaded.
        unsafe { (*zone.as_ptr()).init = Some(init_zone) };
        Ok(())
    }

    /// The zone, once nginx has initialised it (`None` in a configuration
    /// test, or before the http block is set up).
    pub fn current() -> Option<MetricsZone> {
        NonNull::new(CURRENT.load(Ordering::Acquire)).map(MetricsZone)
    }

    /// Runs `f` on the counters under the zone's lock.
    pub fn with<T>(self, f: impl FnOnce(&mut Counters) -> T) -> T {
        // SAFETY: init_zone stored the Counters at zone->data before the
        // zone became current; the slab pool's mutex serialises all
        // workers' access to them.
        unsafe {
            let zone = self.0.as_ptr();
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            let counters = &mut *((*zone).data as *mut Counters);
            ngx_shmtx_lock(&mut (*pool).mutex);
            let result = f(counters);
            ngx_shmtx_unlock(&mut (*pool).mutex);
            result
        }
    }
}

/// Zone init: a reload that keeps the zone keeps the counts.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> isize {
    guard(Status::NGX_ERROR.0, || {
        // SAFETY: nginx calls this once the shared memory is mapped and its
        // slab pool initialised at shm.addr.
        unsafe {
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            if !old.is_null() {
                (*zone).data = old;
            } else if (*zone).shm.exists != 0 {
                (*zone).data = (*pool).data;
            } else {
                let counters = ngx_slab_alloc(pool, size_of::<Counters>()) as *mut Counters;
                if counters.is_null() {
                    return Status::NGX_ERROR.0;
                }
                counters.write(Counters::default());
                (*pool).data = counters as *mut c_void;
                (*zone).data = counters as *mut c_void;
            }
            CURRENT.store(zone, Ordering::Release);
            Status::NGX_OK.0
        }
    })
}
