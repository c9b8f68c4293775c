//! How many transformations run at once (`image_max_concurrency`, by
//! default the thread pool's size) and how many may wait for a turn
//! (`image_max_queue`); beyond that, 503. This bounds the memory that
//! decoded images take, per worker.
//!
//! Everything here runs on the worker's event loop thread.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use ngx::ffi::{ngx_http_request_t, ngx_thread_pool_t};

use crate::ctx;

#[derive(Default)]
struct PoolState {
    running: usize,
    waiting: VecDeque<*mut ngx_http_request_t>,
}

thread_local! {
    static POOLS: RefCell<HashMap<usize, PoolState>> = RefCell::new(HashMap::new());
}

/// The answer to "may this request's job start?".
pub enum Admission {
    Run,
    Wait,
    Refuse,
}

/// Admits a job for `pool`: run now, wait in line, or refuse.
pub fn admit(
    pool: *mut ngx_thread_pool_t,
    r: *mut ngx_http_request_t,
    concurrency: usize,
    max_queue: usize,
) -> Admission {
    POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        let state = pools.entry(pool as usize).or_default();
        if state.running < concurrency {
            state.running += 1;
            Admission::Run
        } else if state.waiting.len() < max_queue {
            state.waiting.push_back(r);
            Admission::Wait
        } else {
            Admission::Refuse
        }
    })
}

/// A job on `pool` finished (or could not be posted): frees its slot and
/// returns the next waiting request, which now holds that slot.
pub fn release(pool: *mut ngx_thread_pool_t) -> Option<*mut ngx_http_request_t> {
    POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        let state = pools.entry(pool as usize).or_default();
        match state.waiting.pop_front() {
            Some(next) => Some(next),
            None => {
                state.running = state.running.saturating_sub(1);
                None
            }
        }
    })
}

/// The number of threads of an nginx thread pool.
///
/// `ngx_thread_pool_t` is opaque in nginx's headers; its layout (unchanged
/// since nginx 1.7.11) is mirrored here to read `threads`. A value outside
/// any sane range falls back to nginx's default pool size.
///
/// # Safety
/// `pool` must be a pool registered with nginx, after configuration.
pub unsafe fn pool_threads(pool: *mut ngx_thread_pool_t) -> usize {
    #[repr(C)]
    struct ThreadPoolLayout {
        mtx: ngx::ffi::ngx_thread_mutex_t,
        queue_first: *mut c_void,
        queue_last: *mut c_void,
        waiting: isize,
        cond: ngx::ffi::ngx_thread_cond_t,
        log: *mut c_void,
        name: ngx::ffi::ngx_str_t,
        threads: usize,
        max_queue: isize,
    }
    use std::ffi::c_void;
    // SAFETY: the layout mirrors struct ngx_thread_pool_s; `threads` is
    // written once at configuration and only read afterwards.
    let threads = unsafe { (*(pool as *const ThreadPoolLayout)).threads };
    if (1..=4096).contains(&threads) {
        threads
    } else {
        32
    }
}

/// Whether the waiting request `r` still wants its job run.
///
/// # Safety
/// `r` must be a live request queued by [`admit`].
pub unsafe fn still_wanted(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: the request is kept alive by `blocked` while it waits.
    unsafe {
        match ctx::get(r) {
            Some(ctx) => !ctx.cancel.load(std::sync::atomic::Ordering::Relaxed),
            None => false,
        }
    }
}
