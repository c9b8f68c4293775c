//! How many transformations run at once (`image_max_concurrency`), how
//! much memory their predicted peaks may hold together (`image_memory`),
//! and how many may wait for a turn (`image_max_queue`); beyond that, 503.
//! A job whose prediction alone is over `image_memory` is refused for good
//! (413). This bounds the memory that decoded images take, per worker and
//! pool.
//!
//! The bookkeeping is the engine's [`Admission`] (unit-tested there); this
//! keeps one per thread pool. Everything here runs on the worker's event
//! loop thread.

use std::cell::RefCell;
use std::collections::HashMap;

use image_engine::admission::{Admission, Budget, Decision};

use crate::metrics;
use crate::nginx::{Request, ThreadPool};

thread_local! {
    static POOLS: RefCell<HashMap<usize, Admission<Request>>> = RefCell::new(HashMap::new());
}

/// Admits a job of `request` for `pool` whose predicted peak is `cost`
/// bytes: run now, wait in line, or refuse (for now or for good). A
/// waiting request must stay blocked until [`next`] hands it the slot.
pub fn admit(pool: ThreadPool, request: Request, cost: u64, budget: Budget) -> Decision {
    let decision = POOLS.with(|pools| {
        pools
            .borrow_mut()
            .entry(pool.key())
            .or_default()
            .admit(request, cost, budget)
    });
    match decision {
        Decision::Run => metrics::pool_change(pool, 1, 0),
        Decision::Wait => metrics::pool_change(pool, 0, 1),
        Decision::Refuse | Decision::Never => {}
    }
    decision
}

/// A job on `pool` that reserved `cost` finished (or could not be posted):
/// frees its slot and memory. Call [`next`] afterwards.
pub fn release(pool: ThreadPool, cost: u64) {
    POOLS.with(|pools| {
        pools
            .borrow_mut()
            .entry(pool.key())
            .or_default()
            .release(cost)
    });
    metrics::pool_change(pool, -1, 0);
}

/// The next waiting request of `pool` that fits now, with its cost; it
/// holds a slot and its memory from now on.
pub fn next(pool: ThreadPool) -> Option<(Request, u64)> {
    let next = POOLS.with(|pools| {
        pools
            .borrow_mut()
            .entry(pool.key())
            .or_default()
            .next_to_start()
    });
    if next.is_some() {
        metrics::pool_change(pool, 1, -1);
    }
    next
}
