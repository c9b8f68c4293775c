//! Admission of transformations to a thread pool: how many run at once,
//! how much memory they may hold together (`image_memory`), and how many
//! may wait for a turn; beyond that, the request is refused (503). A job
//! whose predicted peak is over the whole memory budget can never run and
//! is refused for good (413). The nginx glue keeps one [`Admission`] per
//! thread pool and per worker; this is the bookkeeping alone, so it can be
//! tested without nginx.
//!
//! Waiters start in arrival order: a large job at the head of the line is
//! not overtaken by smaller ones behind it, so it cannot be starved.

use std::collections::VecDeque;

/// The answer to "may this job start?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A slot and the job's memory are free and now taken by the job.
    Run,
    /// Every slot is busy, or the memory is taken; the job waits in line.
    Wait,
    /// The line is full too.
    Refuse,
    /// The job alone needs more than the whole memory budget.
    Never,
}

/// What a location allows its jobs on one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Jobs running at once.
    pub concurrency: usize,
    /// Jobs waiting for a turn.
    pub max_queue: usize,
    /// Bytes the running jobs' predicted peaks may add up to.
    pub memory: u64,
}

impl Budget {
    /// Only counts jobs (no memory budget).
    pub fn slots(concurrency: usize, max_queue: usize) -> Self {
        Budget {
            concurrency,
            max_queue,
            memory: u64::MAX,
        }
    }
}

/// A waiting job: its owner's handle, its predicted peak and the budget it
/// was admitted under.
#[derive(Debug)]
struct Waiter<T> {
    waiter: T,
    cost: u64,
    budget: Budget,
}

/// Running slots, their memory, and the line of waiters (`T`: whatever
/// identifies a waiting job to its owner).
#[derive(Debug)]
pub struct Admission<T> {
    running: usize,
    reserved: u64,
    waiting: VecDeque<Waiter<T>>,
}

impl<T> Default for Admission<T> {
    fn default() -> Self {
        Admission {
            running: 0,
            reserved: 0,
            waiting: VecDeque::new(),
        }
    }
}

impl<T> Admission<T> {
    /// Admits `waiter`, whose predicted peak is `cost` bytes: never if the
    /// cost is over the whole budget; run now if nobody waits, fewer than
    /// `concurrency` run and the cost fits in what the running jobs leave;
    /// else wait if fewer than `max_queue` wait; else refuse.
    pub fn admit(&mut self, waiter: T, cost: u64, budget: Budget) -> Decision {
        if cost > budget.memory {
            Decision::Never
        } else if self.waiting.is_empty() && self.fits(cost, &budget) {
            self.take(cost);
            Decision::Run
        } else if self.waiting.len() < budget.max_queue {
            self.waiting.push_back(Waiter {
                waiter,
                cost,
                budget,
            });
            Decision::Wait
        } else {
            Decision::Refuse
        }
    }

    /// A running job that reserved `cost` finished (or could not start):
    /// its slot and memory are free. Call [`next_to_start`](Self::next_to_start) afterwards
    /// until it returns `None` to start the waiters that now fit.
    pub fn release(&mut self, cost: u64) {
        self.running = self.running.saturating_sub(1);
        self.reserved = self.reserved.saturating_sub(cost);
    }

    /// The first waiter, with its cost, if it fits now; it then holds a
    /// slot and its memory, and is released like any running job.
    pub fn next_to_start(&mut self) -> Option<(T, u64)> {
        let head = self.waiting.front()?;
        if !self.fits(head.cost, &head.budget) {
            return None;
        }
        let head = self.waiting.pop_front()?;
        self.take(head.cost);
        Some((head.waiter, head.cost))
    }

    fn fits(&self, cost: u64, budget: &Budget) -> bool {
        self.running < budget.concurrency && self.reserved.saturating_add(cost) <= budget.memory
    }

    fn take(&mut self, cost: u64) {
        self.running += 1;
        self.reserved = self.reserved.saturating_add(cost);
    }

    /// Jobs holding a slot.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Jobs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Bytes reserved by the running jobs.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    fn slots(concurrency: usize, max_queue: usize) -> Budget {
        Budget::slots(concurrency, max_queue)
    }

    fn memory(concurrency: usize, max_queue: usize, memory: u64) -> Budget {
        Budget {
            concurrency,
            max_queue,
            memory,
        }
    }

    /// Releases `cost` and starts every waiter that now fits.
    fn finish<T>(a: &mut Admission<T>, cost: u64) -> Vec<T> {
        a.release(cost);
        std::iter::from_fn(|| a.next_to_start().map(|(w, _)| w)).collect()
    }

    #[test]
    fn runs_up_to_the_concurrency_then_queues_then_refuses() {
        let mut a = Admission::default();
        assert_eq!(a.admit(1, 0, slots(2, 1)), Decision::Run);
        assert_eq!(a.admit(2, 0, slots(2, 1)), Decision::Run);
        assert_eq!(a.admit(3, 0, slots(2, 1)), Decision::Wait);
        assert_eq!(a.admit(4, 0, slots(2, 1)), Decision::Refuse);
        assert_eq!((a.running(), a.waiting()), (2, 1));
    }

    #[test]
    fn a_released_slot_goes_to_the_first_waiter() {
        let mut a = Admission::default();
        a.admit("a", 0, slots(1, 2));
        a.admit("b", 0, slots(1, 2));
        a.admit("c", 0, slots(1, 2));
        assert_eq!(finish(&mut a, 0), vec!["b"]);
        assert_eq!((a.running(), a.waiting()), (1, 1));
        assert_eq!(finish(&mut a, 0), vec!["c"]);
        assert_eq!(finish(&mut a, 0), Vec::<&str>::new());
        assert_eq!((a.running(), a.waiting()), (0, 0));
    }

    #[test]
    fn release_without_running_jobs_does_not_underflow() {
        let mut a: Admission<u8> = Admission::default();
        a.release(5 * MB);
        assert_eq!(a.next_to_start(), None);
        assert_eq!((a.running(), a.reserved()), (0, 0));
        assert_eq!(a.admit(1, 0, slots(1, 0)), Decision::Run);
    }

    #[test]
    fn no_queue_means_refuse_when_busy() {
        let mut a = Admission::default();
        assert_eq!(a.admit((), 0, slots(1, 0)), Decision::Run);
        assert_eq!(a.admit((), 0, slots(1, 0)), Decision::Refuse);
        a.release(0);
        assert_eq!(a.admit((), 0, slots(1, 0)), Decision::Run);
    }

    #[test]
    fn zero_concurrency_never_runs() {
        let mut a = Admission::default();
        assert_eq!(a.admit(1, 0, slots(0, 1)), Decision::Wait);
        assert_eq!(a.admit(2, 0, slots(0, 1)), Decision::Refuse);
        assert_eq!(a.next_to_start(), None);
    }

    #[test]
    fn a_job_over_the_whole_budget_never_runs_nor_waits() {
        let mut a = Admission::default();
        let budget = memory(4, 4, 100 * MB);
        assert_eq!(a.admit(1, 100 * MB + 1, budget), Decision::Never);
        assert_eq!((a.running(), a.waiting(), a.reserved()), (0, 0, 0));
        // Exactly the budget fits, when nothing else runs.
        assert_eq!(a.admit(2, 100 * MB, budget), Decision::Run);
        assert_eq!(a.reserved(), 100 * MB);
    }

    #[test]
    fn jobs_that_fit_only_one_at_a_time_run_one_after_the_other() {
        let mut a = Admission::default();
        let budget = memory(8, 4, 100 * MB);
        assert_eq!(a.admit("first", 60 * MB, budget), Decision::Run);
        // A free slot, but not the memory: wait.
        assert_eq!(a.admit("second", 60 * MB, budget), Decision::Wait);
        assert_eq!(a.next_to_start(), None, "the first still holds its memory");
        assert_eq!((a.running(), a.waiting(), a.reserved()), (1, 1, 60 * MB));
        assert_eq!(finish(&mut a, 60 * MB), vec!["second"]);
        assert_eq!((a.running(), a.waiting(), a.reserved()), (1, 0, 60 * MB));
        assert_eq!(finish(&mut a, 60 * MB), Vec::<&str>::new());
        assert_eq!((a.running(), a.reserved()), (0, 0));
    }

    #[test]
    fn freed_memory_starts_every_waiter_that_fits() {
        let mut a = Admission::default();
        let budget = memory(8, 8, 100 * MB);
        a.admit("big", 90 * MB, budget);
        for small in ["s1", "s2", "s3"] {
            assert_eq!(a.admit(small, 30 * MB, budget), Decision::Wait);
        }
        assert_eq!(finish(&mut a, 90 * MB), vec!["s1", "s2", "s3"]);
        assert_eq!(a.reserved(), 90 * MB);
    }

    #[test]
    fn a_large_waiter_is_not_overtaken_by_smaller_ones() {
        let mut a = Admission::default();
        let budget = memory(8, 8, 100 * MB);
        a.admit("running", 50 * MB, budget);
        assert_eq!(a.admit("large", 80 * MB, budget), Decision::Wait);
        // Would fit in the 50 MB left, but the large job came first.
        assert_eq!(a.admit("small", 10 * MB, budget), Decision::Wait);
        assert_eq!(finish(&mut a, 50 * MB), vec!["large", "small"]);
        assert_eq!(a.reserved(), 90 * MB);
    }

    #[test]
    fn a_full_line_refuses_even_when_memory_is_the_reason() {
        let mut a = Admission::default();
        let budget = memory(8, 1, 100 * MB);
        a.admit(1, 70 * MB, budget);
        assert_eq!(a.admit(2, 70 * MB, budget), Decision::Wait);
        assert_eq!(a.admit(3, 70 * MB, budget), Decision::Refuse);
    }

    #[test]
    fn every_reservation_comes_back() {
        let mut a = Admission::default();
        let budget = memory(3, 16, 100 * MB);
        let costs = [10, 40, 25, 60, 5, 100, 33, 1];
        let mut running = Vec::new();
        for (i, mb) in costs.iter().enumerate() {
            if a.admit(i, mb * MB, budget) == Decision::Run {
                running.push(mb * MB);
            }
        }
        while let Some(cost) = running.pop() {
            a.release(cost);
            while let Some((_, cost)) = a.next_to_start() {
                running.push(cost);
            }
            assert!(a.reserved() <= 100 * MB && a.running() <= 3);
        }
        assert_eq!((a.running(), a.waiting(), a.reserved()), (0, 0, 0));
    }
}
