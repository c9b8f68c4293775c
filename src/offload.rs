//! Running a transformation off the event loop: admission (see
//! `scheduler`), posting the [`Job`] to an nginx thread pool, cancelling it
//! when the client leaves, and sending its outcome (see `response`) once it
//! is back on the event loop.
//!
//! `image_timeout` is kept twice: the job stops itself at its next check
//! once its deadline passes, and an event-loop timer armed when the job is
//! posted answers `504` at that moment whatever the job is doing. The
//! abandoned job keeps its slot, and the request stays blocked, until its
//! thread really returns, so the pool is never oversubscribed.
//!
//! Everything after the job is back runs under `catch_unwind`: a panic
//! there still frees the slot and ends the request (500, or a closed
//! connection when the response had started). Nothing here depends on which handler or
//! filter collected the original: the request's context says where the
//! response goes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

use image_engine::admission::{Budget, Decision};
use image_engine::{Error, ErrorKind};
use ngx::core::Status;

use crate::conf::{LocConf, ThreadPoolConf};
use crate::ctx::{RequestCtx, State};
use crate::image_filter_reply;
use crate::job::Job;
use crate::nginx::{Request, ThreadPool, Timer};
use crate::response;
use crate::scheduler;

/// The job for the request's original (`ctx.input`, taken).
pub fn job_for(ctx: &mut RequestCtx, conf: &LocConf, transform: image_engine::Transform) -> Job {
    let input = std::mem::take(&mut ctx.input);
    ctx.stats.original_bytes = Some(input.len());
    Job::new(
        input,
        transform,
        conf.limits(),
        Duration::from_millis(conf.timeout as u64),
        ctx.cancel.clone(),
    )
}

/// Runs `job` as the location says: on its thread pool, where the response
/// goes out when the job is back (`Ok(None)`), or inline when configured
/// `off` (the response goes out now; its status is returned).
/// `Err` means the module is overloaded: the caller answers 503.
pub fn start(
    request: Request,
    ctx: &mut RequestCtx,
    conf: &LocConf,
    mut job: Job,
) -> Result<Option<isize>, Error> {
    // Predicted from the header alone; an original the engine cannot read
    // costs nothing here and fails on the pool as it would anyway.
    let cost = job.predicted_memory().unwrap_or(0);
    if cost > conf.memory_budget() {
        let err = Error::new(
            ErrorKind::TooManyPixels,
            "the image needs more memory to transform than this server allows",
        );
        request.set_buffered(false);
        return Ok(Some(respond(request, ctx, Err(err), job.into_input())));
    }
    job.reserved = cost;
    match conf.thread_pool {
        ThreadPoolConf::Pool(pool) => submit(request, ctx, conf, pool, job).map(|()| None),
        ThreadPoolConf::Off | ThreadPoolConf::Unset => {
            let result = job.run();
            ctx.stats.process_ms = Some(job.elapsed.as_millis() as u64);
            ctx.stats.processing = Some(job.elapsed);
            request.set_buffered(false);
            Ok(Some(respond(request, ctx, result, job.into_input())))
        }
    }
}

/// Runs `job` on `pool` now, or queues it behind the running ones; the
/// request stays blocked until the job's outcome is sent.
fn submit(
    request: Request,
    ctx: &mut RequestCtx,
    conf: &LocConf,
    pool: ThreadPool,
    job: Job,
) -> Result<(), Error> {
    if !ctx.cleanup_added {
        request
            .set_on_cleanup(&ctx.cancel)
            .map_err(|()| overloaded())?;
        ctx.cleanup_added = true;
    }
    let budget = Budget {
        concurrency: conf.concurrency(pool),
        max_queue: conf.max_queue.max(0) as usize,
        memory: conf.memory_budget(),
    };
    let cost = job.reserved;
    match scheduler::admit(pool, request, cost, budget) {
        Decision::Run => {
            if let Err(job) = post(pool, request, Box::new(job)) {
                drop(job);
                start_next(pool, cost);
                return Err(overloaded());
            }
        }
        Decision::Wait => ctx.pending = Some(Box::new(job)),
        // `start` answered these already; the budget cannot change between.
        Decision::Refuse | Decision::Never => return Err(overloaded()),
    }
    request.block();
    ctx.blocked = true;
    // From here until the job is back, a client that leaves is noticed by
    // the read handler; a close reported before it was in place is seen by
    // running it once more.
    request.watch_client();
    if request.connection_broken() {
        request.recheck_client();
    }
    Ok(())
}

fn overloaded() -> Error {
    Error::new(
        ErrorKind::Overloaded,
        "too many images are being processed; try again later",
    )
}

/// Posts the job and arms its `image_timeout` timer.
fn post(pool: ThreadPool, request: Request, job: Box<Job>) -> Result<(), Box<Job>> {
    let timeout = job.timeout();
    pool.post(request, job, Job::run_on_pool, job_done)?;
    if let Some(ctx) = request.ctx::<RequestCtx>() {
        // Without memory for a timer the job's own deadline still holds.
        ctx.deadline = Timer::arm(request, timeout, deadline_passed);
    }
    Ok(())
}

/// `image_timeout` passed while the job is out: the client gets 504 now,
/// from the event loop. The job is told to stop (at its next check) and
/// keeps its slot until its thread returns (`job_done`); the request stays
/// blocked until then, and its connection closes afterwards instead of
/// queueing the client's next request behind the abandoned work.
fn deadline_passed(request: Request) {
    let Some(ctx) = request.ctx::<RequestCtx>() else {
        return;
    };
    ctx.deadline = None;
    if ctx.image_filter.is_some() {
        // image_filter answers with nginx's error page, which cannot go
        // out while the request is blocked on its job: the job stops at its
        // next check of its own deadline (which has passed too) and the
        // 504 is sent when it is back.
        return;
    }
    ctx.cancel.store(true, Ordering::Relaxed);
    if ctx.state != State::Processing || request.client_gone() {
        return;
    }
    let err = Error::new(
        ErrorKind::ProcessingTimeout,
        "processing took longer than the time limit",
    );
    request.close_after_response();
    let sink = ctx.sink;
    if send_error(request, ctx, &err, sink) == Status::NGX_ERROR.0 {
        request.set_connection_error();
    }
}

/// Back on the event loop: send the outcome, then give the slot on. The
/// slot is given on whatever happens while sending.
fn job_done(request: Request, pool: ThreadPool, job: Job) {
    let reserved = job.reserved;
    if catch_unwind(AssertUnwindSafe(|| complete(request, job))).is_err()
        && catch_unwind(AssertUnwindSafe(|| fail(request))).is_err()
    {
        // Even the 500 could not be sent: the connection closes.
        let _ = catch_unwind(AssertUnwindSafe(|| abandon(request)));
    }
    start_next(pool, reserved);
}

/// Ends a request whose completion and whose 500 both panicked: nothing
/// more is sent, the connection closes, the request is let go.
fn abandon(request: Request) {
    if let Some(ctx) = request.ctx::<RequestCtx>() {
        ctx.state = State::Sent;
        if ctx.blocked {
            ctx.blocked = false;
            request.unblock();
        }
    }
    request.set_connection_error();
    request.resume();
}

/// Ends a request whose completion panicked: a 500 if nothing was sent
/// yet, else the connection is closed.
fn fail(request: Request) {
    let Some(ctx) = request.ctx::<RequestCtx>() else {
        return;
    };
    if let Some(timer) = ctx.deadline.take() {
        timer.disarm();
    }
    if ctx.blocked {
        ctx.blocked = false;
        request.unblock();
    }
    let unsent = ctx.state == State::Processing && !request.client_gone();
    let err = Error::new(ErrorKind::Internal, "the image engine failed unexpectedly");
    let sink = ctx.sink;
    if !unsent || send_error(request, ctx, &err, sink) == Status::NGX_ERROR.0 {
        ctx.state = State::Sent;
        request.set_connection_error();
    }
    request.resume();
}

/// Frees the slot and the `freed` bytes of a finished job of `pool`, and
/// starts every waiting request that now fits and still wants it; requests
/// whose client left are completed as cancelled. Each reservation is
/// released exactly once: here, or in `job_done` for a posted job.
fn start_next(pool: ThreadPool, freed: u64) {
    scheduler::release(pool, freed);
    while let Some((next, cost)) = scheduler::next(pool) {
        // Waiting requests are live: `block` keeps them so.
        let (job, wanted) = match next.ctx::<RequestCtx>() {
            Some(ctx) => (ctx.pending.take(), !ctx.cancelled()),
            None => (None, false),
        };
        // A waiting job never takes a slot for a client that left, even one
        // whose close nginx has not reported to the read handler.
        let wanted = wanted && !next.connection_broken();
        if !wanted && !next.client_gone() {
            // Logged as 499; the request stays blocked until `complete`.
            next.end_client_gone();
        }
        let Some(mut job) = job else {
            // Cannot happen (a waiting request always holds its job), but a
            // request must never stay blocked: let it go on.
            scheduler::release(pool, cost);
            next.unblock();
            next.resume();
            continue;
        };
        if !wanted {
            scheduler::release(pool, cost);
            job.settle(Error::new(
                ErrorKind::Cancelled,
                "the client closed the connection",
            ));
            complete(next, *job);
            continue;
        }
        job.reserved = cost;
        match post(pool, next, job) {
            Ok(()) => {}
            Err(mut job) => {
                scheduler::release(pool, cost);
                job.settle(overloaded());
                complete(next, *job);
            }
        }
    }
}

/// Sends the job's result (unless the client is gone or the timeout
/// already answered) and lets the request carry on where nginx parked it.
fn complete(request: Request, mut job: Job) {
    let mut ctx = request.ctx::<RequestCtx>();
    if let Some(ctx) = ctx.as_deref_mut() {
        if let Some(timer) = ctx.deadline.take() {
            timer.disarm();
        }
        ctx.blocked = false;
    }
    request.unblock();
    if job.panic_on_return {
        panic!("fault injected in the job's completion");
    }
    let result = job.take_result();
    match ctx {
        Some(ctx) if ctx.state == State::Processing && !request.client_gone() => {
            ctx.stats.process_ms = Some(job.elapsed.as_millis() as u64);
            ctx.stats.processing = Some(job.elapsed);
            let rc = respond(request, ctx, result, job.into_input());
            if rc == Status::NGX_ERROR.0 {
                request.set_connection_error();
            }
        }
        // Nobody to answer; or answered already (the timeout's 504). How
        // long the job ran (none: dropped before it started) still goes to
        // the access log.
        Some(ctx) if ctx.state == State::Processing => {
            if !job.elapsed.is_zero() {
                ctx.stats.process_ms = Some(job.elapsed.as_millis() as u64);
            }
            ctx.state = State::Sent;
        }
        _ => {}
    }
    request.resume();
}

/// Sends a job's result: as `image_filter` answers in its locations, else
/// as `image_transform` does.
fn respond(
    request: Request,
    ctx: &mut RequestCtx,
    result: Result<image_engine::Output, Error>,
    original: Vec<u8>,
) -> isize {
    if ctx.image_filter.is_some() {
        return image_filter_reply::respond(request, ctx, result);
    }
    response::respond(request, ctx, result, original)
}

/// Sends an error of the offload itself (time limit, failed completion).
fn send_error(
    request: Request,
    ctx: &mut RequestCtx,
    err: &Error,
    sink: crate::nginx::Sink,
) -> isize {
    if ctx.image_filter.is_some() {
        return image_filter_reply::refuse(request, ctx, err);
    }
    response::send_error(request, ctx, err, sink)
}
