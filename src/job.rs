//! One transformation as a thread-pool job. The job owns everything it
//! touches (the original's bytes, the options, the limits, a cancel flag)
//! and never sees an nginx structure: pool threads must not touch the
//! request.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_engine::compat::image_filter;
use image_engine::{Control, Error, ErrorKind, Limits, Output, Transform};

pub struct Job {
    input: Vec<u8>,
    transform: Transform,
    limits: Limits,
    timeout: Duration,
    cancel: Arc<AtomicBool>,
    result: Option<Result<Output, Error>>,
    /// How long the engine ran, for `$image_process_ms`.
    pub elapsed: Duration,
    /// Panic on purpose (tests only, see `fault`).
    pub panic: bool,
    /// Panic on purpose when the result is back on the event loop (tests
    /// only, see `fault`).
    pub panic_on_return: bool,
    /// Stall this long before starting, blind to the control (tests only,
    /// see `fault`).
    pub stall: Duration,
    /// The bytes of `image_memory` the job holds while it runs (its
    /// predicted peak).
    pub reserved: u64,
    /// Process as `image_filter` does instead of with `transform`.
    pub image_filter: Option<image_filter::Settings>,
}

impl Job {
    pub fn new(
        input: Vec<u8>,
        transform: Transform,
        limits: Limits,
        timeout: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        crate::allocator::configure();
        Job {
            input,
            transform,
            limits,
            timeout,
            cancel,
            result: None,
            elapsed: Duration::ZERO,
            panic: false,
            panic_on_return: false,
            stall: Duration::ZERO,
            reserved: 0,
            image_filter: None,
        }
    }

    /// The job's predicted peak memory, from the original's header.
    pub fn predicted_memory(&self) -> Result<u64, Error> {
        match &self.image_filter {
            Some(settings) => image_filter::predict_memory(&self.input, settings, &self.limits),
            None => image_engine::predict_memory(&self.input, &self.transform, &self.limits),
        }
    }

    /// `image_timeout`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the engine; a panic becomes an internal error instead of taking
    /// the worker down. The time limit counts from here, not from when the
    /// job was queued.
    pub fn run(&mut self) -> Result<Output, Error> {
        let start = Instant::now();
        let control = Control {
            cancel: &self.cancel,
            deadline: Some(start + self.timeout),
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if self.panic {
                panic!("fault injected in the image job");
            }
            std::thread::sleep(self.stall);
            match &self.image_filter {
                Some(settings) => {
                    image_filter::process(&self.input, settings, &self.limits, &control)
                }
                None => image_engine::process(&self.input, &self.transform, &self.limits, &control),
            }
        }))
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Internal,
                "the image engine failed unexpectedly",
            ))
        });
        self.elapsed = start.elapsed();
        result
    }

    /// What a pool thread does: run, keep the result for the event loop,
    /// give freed memory back.
    pub fn run_on_pool(&mut self) {
        crate::allocator::job_started();
        self.result = Some(self.run());
        crate::allocator::job_ended();
    }

    /// Settles the job without running it (the client left, the pool
    /// refused it).
    pub fn settle(&mut self, err: Error) {
        self.result = Some(Err(err));
    }

    /// The result kept by [`run_on_pool`](Self::run_on_pool) or
    /// [`settle`](Self::settle).
    pub fn take_result(&mut self) -> Result<Output, Error> {
        self.result
            .take()
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "the job did not run")))
    }

    /// The original, for `onerror=original`.
    pub fn into_input(self) -> Vec<u8> {
        self.input
    }
}
