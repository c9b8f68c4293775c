//! Offloading a transformation to an nginx thread pool.
//!
//! The job owns everything it touches (the original's bytes, the options, a
//! cancel flag) and never sees an nginx structure: pool threads must not
//! touch the request. Completion runs back on the event loop, where the
//! next waiting job (see `scheduler`) takes the freed slot.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_engine::{Control, Error, ErrorKind, Limits, Output, Transform};
use ngx::ffi::{
    ngx_event_t, ngx_http_cleanup_add, ngx_http_request_t, ngx_http_run_posted_requests, ngx_log_t,
    ngx_thread_pool_t, ngx_thread_task_alloc, ngx_thread_task_post, ngx_thread_task_t,
};

use crate::conf::LocConf;
use crate::ctx::{self, RequestCtx, State};
use crate::filter;
use crate::scheduler::{self, Admission};
use crate::util::guard;

/// One transformation, as handed to a pool thread.
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
}

impl Job {
    pub fn new(
        input: Vec<u8>,
        transform: Transform,
        conf: &LocConf,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        Job {
            input,
            transform,
            limits: conf.limits(),
            timeout: Duration::from_millis(conf.timeout as u64),
            cancel,
            result: None,
            elapsed: Duration::ZERO,
            panic: false,
        }
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
            image_engine::process(&self.input, &self.transform, &self.limits, &control)
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

    /// The original, for `onerror=original`.
    pub fn into_input(self) -> Vec<u8> {
        self.input
    }
}

/// What the task's context area holds.
struct TaskData {
    job: *mut Job,
    pool: *mut ngx_thread_pool_t,
}

/// Runs `job` on `pool` now, or queues it behind the running ones.
/// `Err` means the module is overloaded: the caller answers 503.
///
/// # Safety
/// `r` must be the live main request owning `ctx`; `pool` a pool registered
/// at configuration.
pub unsafe fn submit(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    conf: &LocConf,
    pool: *mut ngx_thread_pool_t,
    job: Job,
) -> Result<(), Error> {
    // SAFETY: r is live; see each callee.
    unsafe {
        if !ctx.cleanup_added {
            add_cancel_cleanup(r, ctx).map_err(|()| overloaded())?;
        }
        let concurrency = match conf.max_concurrency {
            n if n > 0 => n as usize,
            _ => scheduler::pool_threads(pool),
        };
        match scheduler::admit(pool, r, concurrency, conf.max_queue.max(0) as usize) {
            Admission::Run => {
                if let Err(job) = post(r, pool, Box::new(job)) {
                    drop(job);
                    start_next(pool);
                    return Err(overloaded());
                }
            }
            Admission::Wait => ctx.pending = Some(Box::new(job)),
            Admission::Refuse => return Err(overloaded()),
        }
        block(r);
    }
    Ok(())
}

fn overloaded() -> Error {
    Error::new(
        ErrorKind::Overloaded,
        "too many images are being processed; try again later",
    )
}

/// When the client goes away nginx runs request cleanups at once, even
/// while the job runs or waits: the flag tells the job to stop.
///
/// # Safety
/// `r` must be the live request owning `ctx`.
unsafe fn add_cancel_cleanup(r: *mut ngx_http_request_t, ctx: &mut RequestCtx) -> Result<(), ()> {
    // SAFETY: the flag lives inside ctx's Arc, which the request pool keeps
    // alive until after the request's cleanups have run.
    unsafe {
        let cln = ngx_http_cleanup_add(r, 0);
        if cln.is_null() {
            return Err(());
        }
        (*cln).handler = Some(cancel_job);
        (*cln).data = Arc::as_ptr(&ctx.cancel) as *mut c_void;
    }
    ctx.cleanup_added = true;
    Ok(())
}

/// Keeps nginx from finalizing or freeing the request until the job is
/// done, as nginx's own thread-pool users do.
///
/// # Safety
/// `r` must be a live request.
unsafe fn block(r: *mut ngx_http_request_t) {
    // SAFETY: r and its main request are live.
    unsafe {
        let main = (*r).main;
        (*main).set_blocked((*main).blocked() + 1);
        (*r).set_aio(1);
        filter::set_buffered(r);
    }
}

/// # Safety
/// `r` must be a live request blocked by [`block`].
unsafe fn unblock(r: *mut ngx_http_request_t) {
    // SAFETY: r and its main request are live.
    unsafe {
        let main = (*r).main;
        (*main).set_blocked((*main).blocked().saturating_sub(1));
        (*r).set_aio(0);
        filter::clear_buffered(r);
    }
}

/// Posts the job to the pool; gives it back if the pool refuses.
///
/// # Safety
/// `r` must be a live request; `pool` a registered pool.
unsafe fn post(
    r: *mut ngx_http_request_t,
    pool: *mut ngx_thread_pool_t,
    job: Box<Job>,
) -> Result<(), Box<Job>> {
    // SAFETY: the task is allocated from the request pool, which nginx keeps
    // while `blocked` is non-zero; its context area holds a TaskData.
    unsafe {
        let task = ngx_thread_task_alloc((*r).pool, size_of::<TaskData>());
        if task.is_null() {
            return Err(job);
        }
        let job = Box::into_raw(job);
        ((*task).ctx as *mut TaskData).write(TaskData { job, pool });
        (*task).handler = Some(run);
        (*task).event.data = r as *mut c_void;
        (*task).event.handler = Some(done);
        if ngx_thread_task_post(pool, task) != 0 {
            return Err(Box::from_raw(job));
        }
    }
    Ok(())
}

/// Request cleanup: the client went away (or the request ended).
unsafe extern "C" fn cancel_job(data: *mut c_void) {
    guard((), || {
        // SAFETY: `data` points at the AtomicBool of ctx.cancel.
        unsafe { (*(data as *const AtomicBool)).store(true, Ordering::Relaxed) };
    })
}

/// Runs on a pool thread. Touches only the job.
unsafe extern "C" fn run(data: *mut c_void, _log: *mut ngx_log_t) {
    guard((), || {
        // SAFETY: `data` is the task context written in `post`; only this
        // thread uses the job until `done` runs.
        let job = unsafe { &mut *(*(data as *mut TaskData)).job };
        job.result = Some(job.run());
        release_free_memory();
    })
}

/// Hands the memory that jobs freed back to the system, at most every
/// [`TRIM_INTERVAL`]. glibc keeps freed blocks in per-thread arenas and,
/// after large frees, stops using mmap for large blocks; with decoded images
/// of tens of megabytes on many pool threads the worker would otherwise sit
/// at the sum of every thread's high-water mark (measured: ~880 MB instead
/// of ~320 MB with 8 large transforms in flight). Trimming after every job
/// cost ~10 % throughput; the interval keeps most of the saving for little.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::AtomicU64;
        use std::sync::OnceLock;

        static EPOCH: OnceLock<Instant> = OnceLock::new();
        static LAST_TRIM_MS: AtomicU64 = AtomicU64::new(0);
        let now = EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64;
        let last = LAST_TRIM_MS.load(Ordering::Relaxed);
        if now.saturating_sub(last) < TRIM_INTERVAL.as_millis() as u64
            || LAST_TRIM_MS
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // SAFETY: malloc_trim only returns free memory; it is thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// See [`release_free_memory`].
const TRIM_INTERVAL: Duration = Duration::from_millis(250);

/// Runs on the event loop once the job finished.
unsafe extern "C" fn done(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: the event is the `event` field of a task posted by `post`,
        // whose data is the request that `blocked` kept alive.
        unsafe {
            let task = (ev as *mut u8).sub(std::mem::offset_of!(ngx_thread_task_t, event))
                as *mut ngx_thread_task_t;
            let data = (*task).ctx as *mut TaskData;
            let job = Box::from_raw((*data).job);
            let pool = (*data).pool;
            let r = (*ev).data as *mut ngx_http_request_t;
            complete(r, *job);
            start_next(pool);
        }
    })
}

/// Hands the freed slot of `pool` to the next waiting request that still
/// wants it; requests whose client left are completed as cancelled.
///
/// # Safety
/// Must run on the event loop.
unsafe fn start_next(pool: *mut ngx_thread_pool_t) {
    // SAFETY: waiting requests are live: `block` keeps them so.
    unsafe {
        while let Some(next) = scheduler::release(pool) {
            let job = ctx::get(next).and_then(|ctx| ctx.pending.take());
            let Some(mut job) = job else {
                // Cannot happen (a waiting request always holds its job),
                // but a request must never stay blocked: let it go on.
                unblock(next);
                resume(next);
                continue;
            };
            if !scheduler::still_wanted(next) {
                job.result = Some(Err(Error::new(
                    ErrorKind::Cancelled,
                    "the client closed the connection",
                )));
                complete(next, *job);
                continue;
            }
            match post(next, pool, job) {
                Ok(()) => return,
                Err(mut job) => {
                    job.result = Some(Err(overloaded()));
                    complete(next, *job);
                }
            }
        }
    }
}

/// Sends the job's result (unless the client is gone) and lets the request
/// carry on where nginx parked it.
///
/// # Safety
/// `r` must be a live request blocked by [`block`].
unsafe fn complete(r: *mut ngx_http_request_t, mut job: Job) {
    // SAFETY: r is live until it is resumed below.
    unsafe {
        let c = (*r).connection;
        unblock(r);
        let result = job
            .result
            .take()
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "the job did not run")));

        match ctx::get(r) {
            Some(ctx) if ctx.state == State::Processing && !client_gone(r) => {
                ctx.stats.process_ms = Some(job.elapsed.as_millis() as u64);
                let rc = filter::respond(r, ctx, result, job);
                if rc == -1 {
                    (*c).set_error(1);
                }
            }
            Some(ctx) => ctx.state = State::Sent,
            None => {}
        }

        resume(r);
    }
}

/// Lets the request carry on where nginx parked it: usually ngx_http_writer
/// (flush and finalize), or the finalizer of a request whose client went
/// away.
///
/// # Safety
/// `r` must be a live request that is no longer blocked.
unsafe fn resume(r: *mut ngx_http_request_t) {
    // SAFETY: r is live; it may be freed by the handler, so nothing touches
    // it afterwards.
    unsafe {
        let c = (*r).connection;
        if (*r).done() != 0 {
            if let Some(handler) = (*(*c).write).handler {
                handler((*c).write);
            }
        } else if let Some(handler) = (*r).write_event_handler {
            handler(r);
            ngx_http_run_posted_requests(c);
        }
    }
}

/// Whether the client closed the connection or nginx gave up on it.
///
/// # Safety
/// `r` must be a live request.
unsafe fn client_gone(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: r and its connection are live.
    unsafe {
        if (*(*r).connection).error() != 0 {
            return true;
        }
        #[cfg(ngx_has_terminated)]
        if (*(*r).main).terminated() != 0 {
            return true;
        }
        false
    }
}
