//! Admission of transformations to a thread pool: how many run at once
//! and how many may wait for a turn; beyond that, the request is refused
//! (503). The nginx glue keeps one [`Admission`] per thread pool and per
//! worker; this is the bookkeeping alone, so it can be tested without
//! nginx.

use std::collections::VecDeque;

/// The answer to "may this job start?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A slot is free and now taken by the job.
    Run,
    /// Every slot is busy; the job waits in line.
    Wait,
    /// The line is full too.
    Refuse,
}

/// Running slots and the line of waiters (`T`: whatever identifies a
/// waiting job to its owner).
#[derive(Debug)]
pub struct Admission<T> {
    running: usize,
    waiting: VecDeque<T>,
}

impl<T> Default for Admission<T> {
    fn default() -> Self {
        Admission {
            running: 0,
            waiting: VecDeque::new(),
        }
    }
}

impl<T> Admission<T> {
    /// Admits `waiter`: run now if fewer than `concurrency` run, else wait
    /// if fewer than `max_queue` wait, else refuse.
    pub fn admit(&mut self, waiter: T, concurrency: usize, max_queue: usize) -> Decision {
        if self.running < concurrency {
            self.running += 1;
            Decision::Run
        } else if self.waiting.len() < max_queue {
            self.waiting.push_back(waiter);
            Decision::Wait
        } else {
            Decision::Refuse
        }
    }

    /// A running job finished (or could not start): its slot goes to the
    /// first waiter, which is returned and now counts as running; with no
    /// waiter the slot is freed.
    pub fn release(&mut self) -> Option<T> {
        let next = self.waiting.pop_front();
        if next.is_none() {
            self.running = self.running.saturating_sub(1);
        }
        next
    }

    /// Jobs holding a slot.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Jobs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_up_to_the_concurrency_then_queues_then_refuses() {
        let mut a = Admission::default();
        assert_eq!(a.admit(1, 2, 1), Decision::Run);
        assert_eq!(a.admit(2, 2, 1), Decision::Run);
        assert_eq!(a.admit(3, 2, 1), Decision::Wait);
        assert_eq!(a.admit(4, 2, 1), Decision::Refuse);
        assert_eq!((a.running(), a.waiting()), (2, 1));
    }

    #[test]
    fn a_released_slot_goes_to_the_first_waiter() {
        let mut a = Admission::default();
        a.admit("a", 1, 2);
        a.admit("b", 1, 2);
        a.admit("c", 1, 2);
        assert_eq!(a.release(), Some("b"));
        assert_eq!((a.running(), a.waiting()), (1, 1));
        assert_eq!(a.release(), Some("c"));
        assert_eq!(a.release(), None);
        assert_eq!((a.running(), a.waiting()), (0, 0));
    }

    #[test]
    fn release_without_running_jobs_does_not_underflow() {
        let mut a: Admission<u8> = Admission::default();
        assert_eq!(a.release(), None);
        assert_eq!(a.running(), 0);
        assert_eq!(a.admit(1, 1, 0), Decision::Run);
    }

    #[test]
    fn no_queue_means_refuse_when_busy() {
        let mut a = Admission::default();
        assert_eq!(a.admit((), 1, 0), Decision::Run);
        assert_eq!(a.admit((), 1, 0), Decision::Refuse);
        a.release();
        assert_eq!(a.admit((), 1, 0), Decision::Run);
    }

    #[test]
    fn zero_concurrency_never_runs() {
        let mut a = Admission::default();
        assert_eq!(a.admit(1, 0, 1), Decision::Wait);
        assert_eq!(a.admit(2, 0, 1), Decision::Refuse);
    }
}
