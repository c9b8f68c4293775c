//! Offloading a transformation to an nginx thread pool.
//!
//! The job owns everything it touches (the original's bytes, the options, a
//! cancel flag) and never sees an nginx structure: pool threads must not
//! touch the request. The completion handler runs back on the event loop.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_engine::{Control, Error, ErrorKind, Limits, Output, Transform};
use ngx::ffi::{
    ngx_event_t, ngx_http_cleanup_add, ngx_http_request_t, ngx_http_run_posted_requests, ngx_log_t,
    ngx_thread_pool_t, ngx_thread_task_alloc, ngx_thread_task_post,
};

use crate::ctx::{self, RequestCtx, State};
use crate::filter;
use crate::util::guard;

/// How long one transformation may take before it is abandoned.
const PROCESSING_TIMEOUT: Duration = Duration::from_secs(10);

/// One transformation, as handed to a pool thread.
pub struct Job {
    input: Vec<u8>,
    transform: Transform,
    limits: Limits,
    cancel: Arc<AtomicBool>,
    result: Option<Result<Output, Error>>,
}

impl Job {
    pub fn new(input: Vec<u8>, transform: Transform, cancel: Arc<AtomicBool>) -> Self {
        Job {
            input,
            transform,
            limits: Limits::default(),
            cancel,
            result: None,
        }
    }

    /// Runs the engine; a panic becomes an internal error instead of taking
    /// the worker down.
    pub fn run(&self) -> Result<Output, Error> {
        let control = Control {
            cancel: &self.cancel,
            deadline: Some(Instant::now() + PROCESSING_TIMEOUT),
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            image_engine::process(&self.input, &self.transform, &self.limits, &control)
        }))
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Internal,
                "the image engine failed unexpectedly",
            ))
        })
    }
}

/// Posts the job to `pool`; the response is sent from [`done`].
///
/// # Safety
/// `r` must be the live main request owning `ctx`; `pool` a pool registered
/// at configuration.
pub unsafe fn post(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    pool: *mut ngx_thread_pool_t,
    job: Job,
) -> Result<(), ()> {
    // SAFETY: r and its pool are live; the task is allocated from the
    // request pool, which nginx keeps while `blocked` is non-zero.
    unsafe {
        if !ctx.cleanup_added {
            // When the client goes away nginx runs request cleanups at once,
            // even while the job runs: tell the job to stop.
            let cln = ngx_http_cleanup_add(r, 0);
            if cln.is_null() {
                return Err(());
            }
            (*cln).handler = Some(cancel_job);
            // The flag lives inside ctx's Arc, which the pool keeps alive
            // until after request cleanups have run.
            (*cln).data = Arc::as_ptr(&ctx.cancel) as *mut c_void;
            ctx.cleanup_added = true;
        }

        let task = ngx_thread_task_alloc((*r).pool, size_of::<*mut Job>());
        if task.is_null() {
            return Err(());
        }
        let job = Box::into_raw(Box::new(job));
        *((*task).ctx as *mut *mut Job) = job;
        (*task).handler = Some(run);
        (*task).event.data = r as *mut c_void;
        (*task).event.handler = Some(done);

        if ngx_thread_task_post(pool, task) != 0 {
            // The queue is full; the job never ran.
            drop(Box::from_raw(job));
            return Err(());
        }

        // Keep nginx from finalizing or freeing the request until `done`.
        let main = (*r).main;
        (*main).set_blocked((*main).blocked() + 1);
        (*r).set_aio(1);
        filter::set_buffered(r);
    }
    Ok(())
}

/// Request cleanup: the client went away (or the request ended).
unsafe extern "C" fn cancel_job(data: *mut c_void) {
    guard((), || {
        // SAFETY: `data` points at the AtomicBool of ctx.cancel (see post).
        unsafe { (*(data as *const AtomicBool)).store(true, Ordering::Relaxed) };
    })
}

/// Runs on a pool thread. Touches only the job.
unsafe extern "C" fn run(data: *mut c_void, _log: *mut ngx_log_t) {
    guard((), || {
        // SAFETY: `data` is the task ctx holding the Box pointer written in
        // `post`; only this thread uses the job until `done` runs.
        let job = unsafe { &mut **(data as *mut *mut Job) };
        job.result = Some(job.run());
    })
}

/// Runs on the event loop once the job finished.
unsafe extern "C" fn done(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: the event belongs to the task allocated in `post`, whose
        // data is the request; `blocked` kept the request alive.
        unsafe { finish(ev) }
    })
}

/// # Safety
/// `ev` must be the completion event of a task posted by [`post`].
unsafe fn finish(ev: *mut ngx_event_t) {
    // SAFETY: see `done`. The task is laid out as ngx_thread_task_t with
    // `event` as a field; its ctx pointer sits in the same allocation.
    unsafe {
        let r = (*ev).data as *mut ngx_http_request_t;
        let task = (ev as *mut u8).sub(std::mem::offset_of!(ngx::ffi::ngx_thread_task_t, event))
            as *mut ngx::ffi::ngx_thread_task_t;
        let job = Box::from_raw(*((*task).ctx as *mut *mut Job));
        let c = (*r).connection;

        let main = (*r).main;
        (*main).set_blocked((*main).blocked() - 1);
        (*r).set_aio(0);
        filter::clear_buffered(r);

        let result = job
            .result
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "the job did not run")));

        match ctx::get(r) {
            Some(ctx) if ctx.state == State::Processing && !client_gone(r) => {
                let rc = filter::respond(r, ctx, result);
                if rc == -1 {
                    (*c).set_error(1);
                }
            }
            Some(ctx) => ctx.state = State::Sent,
            None => {}
        }

        // Let the request carry on where it was parked (usually
        // ngx_http_writer, which flushes and finalizes).
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
        let c = (*r).connection;
        if (*c).error() != 0 {
            return true;
        }
        #[cfg(ngx_has_terminated)]
        if (*(*r).main).terminated() != 0 {
            return true;
        }
        false
    }
}
