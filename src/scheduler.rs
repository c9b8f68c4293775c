//! How many transformations run at once (`image_max_concurrency`, by
//! default the thread pool's size) and how many may wait for a turn
//! (`image_max_queue`); beyond that, 503. This bounds the memory that
//! decoded images take, per worker.
//!
//! The bookkeeping is the engine's [`Admission`] (unit-tested there); this
//! keeps one per thread pool. Everything here runs on the worker's event
//! loop thread.

use std::cell::RefCell;
use std::collections::HashMap;

use image_engine::admission::{Admission, Decision};

use crate::metrics;
use crate::nginx::{Request, ThreadPool};

thread_local! {
    static POOLS: RefCell<HashMap<usize, Admission<Request>>> = RefCell::new(HashMap::new());
}

/// Admits a job of `request` for `pool`: run now, wait in line, or refuse.
/// A waiting request must stay blocked until [`release`] hands it the slot.
pub fn admit(pool: ThreadPool, request: Request, concurrency: usize, max_queue: usize) -> Decision {
    let decision = POOLS.with(|pools| {
        pools
            .borrow_mut()
            .entry(pool.key())
            .or_default()
            .admit(request, concurrency, max_queue)
    });
    match decision {
        Decision::Run => metrics::pool_change(pool, 1, 0),
        Decision::Wait => metrics::pool_change(pool, 0, 1),
        Decision::Refuse => {}
    }
    decision
}

/// A job on `pool` finished (or could not be posted): frees its slot and
/// returns the next waiting request, which now holds that slot.
pub fn release(pool: ThreadPool) -> Option<Request> {
    let next = POOLS.with(|pools| pools.borrow_mut().entry(pool.key()).or_default().release());
    // A waiter takes over the slot (no longer queued, running instead of
    // the finished job); without one the slot is free.
    match next {
        Some(_) => metrics::pool_change(pool, 0, -1),
        None => metrics::pool_change(pool, -1, 0),
    }
    next
}
