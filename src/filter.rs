//! The header and body filters: hold the header of a 200 response, collect
//! the original, hand it to the engine and send what comes back.
//!
//! The module is ordered before the copy filter (see `lib.rs`), so static
//! files reach us as memory buffers once `main_filter_need_in_memory` is set.

use image_engine::{sniff_format, Error, ErrorKind, OnError};
use ngx::ffi::{
    ngx_chain_t, ngx_http_output_body_filter_pt, ngx_http_output_header_filter_pt,
    ngx_http_request_t, ngx_int_t,
};

use crate::conf::{LocConf, ThreadPoolConf};
use crate::ctx::{self, RequestCtx, State};
use crate::fault::{self, Fault};
use crate::ngx_http_image_module;
use crate::options;
use crate::response::{send_error, send_image, send_original, Sink};
use crate::task;
use crate::util::{guard, loc_conf};

const NGX_OK: ngx_int_t = 0;
const NGX_ERROR: ngx_int_t = -1;
const NGX_HTTP_HEAD: usize = ngx::ffi::NGX_HTTP_HEAD as usize;

/// Our bit in `c->buffered` while we hold data: nginx must not finalize the
/// request under us. 0x08 is the value nginx reserves for image filtering.
pub const IMAGE_BUFFERED: u32 = 0x08;

static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

/// Puts our filters on top of the chains (called once, at configuration).
///
/// # Safety
/// Must run in postconfiguration, on nginx's single configuration thread.
pub unsafe fn install() {
    // SAFETY: the top-filter globals are only written during configuration,
    // which is single-threaded.
    unsafe {
        NEXT_HEADER_FILTER = ngx::ffi::ngx_http_top_header_filter;
        ngx::ffi::ngx_http_top_header_filter = Some(header_filter);
        NEXT_BODY_FILTER = ngx::ffi::ngx_http_top_body_filter;
        ngx::ffi::ngx_http_top_body_filter = Some(body_filter);
    }
}

/// Calls the header filter after ours.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn next_header(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: set once at configuration, read-only afterwards.
    unsafe {
        match NEXT_HEADER_FILTER {
            Some(next) => next(r),
            None => NGX_ERROR,
        }
    }
}

/// Calls the body filter after ours.
///
/// # Safety
/// `r` must be a live request; `chain` null or a valid chain.
pub unsafe fn next_body(r: *mut ngx_http_request_t, chain: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: set once at configuration, read-only afterwards.
    unsafe {
        match NEXT_BODY_FILTER {
            Some(next) => next(r, chain),
            None => NGX_ERROR,
        }
    }
}

unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: nginx calls filters with a live request.
        unsafe { header(r) }
    })
}

unsafe extern "C" fn body_filter(r: *mut ngx_http_request_t, chain: *mut ngx_chain_t) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: nginx calls filters with a live request and chain.
        unsafe { body(r, chain) }
    })
}

/// # Safety
/// `r` must be a live request.
unsafe fn header(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: r is live for the whole call.
    unsafe {
        if r != (*r).main {
            return next_header(r);
        }
        let conf: &LocConf = loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));

        let ctx = match ctx::get(r) {
            Some(ctx) => ctx,
            None => {
                // The precontent phase did not see this request (a response
                // produced before it, e.g. `return 200`). Transform it all
                // the same, unless it is a HEAD that will bring no body.
                let Some(cv) = conf.options() else {
                    return next_header(r);
                };
                if (*r).method == NGX_HTTP_HEAD || (*r).headers_out.status != 200 {
                    return next_header(r);
                }
                let (text, transform) = options::evaluate(r, cv, &conf.policy);
                match ctx::create(r, RequestCtx::new(text, transform)) {
                    Some(ctx) => ctx,
                    None => return NGX_ERROR,
                }
            }
        };

        if fault::requested(r) == Some(Fault::Filter) {
            panic!("fault injected in the header filter");
        }
        if ctx.state != State::Start {
            // Our own response, or one we already decided to leave alone.
            return next_header(r);
        }
        let status = (*r).headers_out.status;
        if status != 200 {
            return match origin_error(r, status) {
                Some(err) => send_error(r, ctx, &err, Sink::Next),
                None => {
                    ctx.state = State::PassThrough;
                    next_header(r)
                }
            };
        }
        if let Err(err) = &ctx.transform {
            let err = err.clone();
            return send_error(r, ctx, &err, Sink::Next);
        }

        let length = (*r).headers_out.content_length_n;
        if length > 0 && length as u64 > conf.buffer_size as u64 {
            return send_error(r, ctx, &too_large(conf.buffer_size), Sink::Next);
        }
        if length > 0 {
            ctx.input.reserve_exact(length as usize);
        }

        ctx.state = State::Reading;
        // The header waits until the output's length and type are known.
        (*r).set_main_filter_need_in_memory(1);
        (*r).set_allow_ranges(0);
        NGX_OK
    }
}

/// # Safety
/// `r` must be a live request and `chain` null or a valid chain.
unsafe fn body(r: *mut ngx_http_request_t, chain: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: r is live for the whole call.
    unsafe {
        if r != (*r).main {
            return next_body(r, chain);
        }
        let Some(ctx) = ctx::get(r) else {
            return next_body(r, chain);
        };
        match ctx.state {
            State::Start | State::PassThrough => next_body(r, chain),
            State::Sent => {
                // What the origin still sends after our response: drop it,
                // but let buffered output of ours flow on.
                let _ = consume(chain, None);
                next_body(r, std::ptr::null_mut())
            }
            State::Processing => {
                let _ = consume(chain, None);
                NGX_OK
            }
            State::Reading => read(r, ctx, chain),
        }
    }
}

/// Appends the chain's bytes to the original; starts processing at the end.
///
/// # Safety
/// `r` must be the live main request owning `ctx`.
unsafe fn read(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    chain: *mut ngx_chain_t,
) -> ngx_int_t {
    // SAFETY: r is live; chain is valid for this call.
    unsafe {
        let conf: &LocConf = loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));
        let last = match consume(chain, Some(&mut ctx.input)) {
            Ok(last) => last,
            Err(()) => {
                ctx.input = Vec::new();
                clear_buffered(r);
                let err = Error::new(
                    ErrorKind::Internal,
                    "the original arrived as a file buffer instead of memory",
                );
                return send_error(r, ctx, &err, Sink::Next);
            }
        };
        if ctx.input.len() > conf.buffer_size {
            ctx.input = Vec::new();
            clear_buffered(r);
            return send_error(r, ctx, &too_large(conf.buffer_size), Sink::Next);
        }
        if !last {
            // Hold the request open until the last buffer arrives.
            set_buffered(r);
            return NGX_OK;
        }
        start_processing(r, ctx, conf)
    }
}

/// Runs the transformation on the thread pool (or inline when configured
/// `off`). With the pool, the response goes out from `task::done`.
///
/// # Safety
/// `r` must be the live main request owning `ctx`.
unsafe fn start_processing(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    conf: &LocConf,
) -> ngx_int_t {
    ctx.state = State::Processing;
    let transform = match &ctx.transform {
        Ok(t) => t.clone(),
        Err(err) => {
            let err = err.clone();
            // SAFETY: r is live.
            unsafe { clear_buffered(r) };
            return unsafe { send_error(r, ctx, &err, Sink::Next) };
        }
    };
    let input = std::mem::take(&mut ctx.input);
    ctx.stats.original_bytes = Some(input.len());
    let mut job = task::Job::new(input, transform, conf, ctx.cancel.clone());
    // SAFETY: r is live.
    job.panic = unsafe { fault::requested(r) } == Some(Fault::Job);

    match conf.thread_pool {
        ThreadPoolConf::Pool(pool) => {
            // SAFETY: r is live; the pool was registered at configuration.
            match unsafe { task::submit(r, ctx, conf, pool, job) } {
                Ok(()) => NGX_OK,
                Err(err) => unsafe {
                    clear_buffered(r);
                    send_error(r, ctx, &err, Sink::Next)
                },
            }
        }
        ThreadPoolConf::Off | ThreadPoolConf::Unset => {
            let result = job.run();
            ctx.stats.process_ms = Some(job.elapsed.as_millis() as u64);
            // SAFETY: r is live.
            unsafe {
                clear_buffered(r);
                respond(r, ctx, result, job)
            }
        }
    }
}

/// Sends the engine's result through the rest of the chain; with
/// `onerror=original`, a failure serves the original instead when it is a
/// good image the engine merely could not transform.
///
/// # Safety
/// `r` must be the live main request owning `ctx`, header unsent.
pub unsafe fn respond(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    result: Result<image_engine::Output, Error>,
    job: task::Job,
) -> ngx_int_t {
    // SAFETY: guaranteed by the caller.
    unsafe {
        match result {
            Ok(output) => send_image(r, ctx, output, Sink::Next),
            Err(err) => {
                let wants_original =
                    matches!(&ctx.transform, Ok(t) if t.onerror == OnError::Original);
                if wants_original && original_is_servable(err.kind) {
                    let original = job.into_input();
                    if let Ok(format) = sniff_format(&original) {
                        return send_original(r, ctx, original, format, &err);
                    }
                }
                send_error(r, ctx, &err, Sink::Next)
            }
        }
    }
}

/// Failures after which the original is still a good image to show.
fn original_is_servable(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::TooManyPixels
            | ErrorKind::ProcessingTimeout
            | ErrorKind::Overloaded
            | ErrorKind::Internal
    )
}

/// The error a non-200 response of the origin stands for. A status nginx
/// made up itself because the proxied origin failed (no response header
/// arrived) is told apart from one the origin sent.
///
/// # Safety
/// `r` must be a live request.
unsafe fn origin_error(r: *mut ngx_http_request_t, status: usize) -> Option<Error> {
    // SAFETY: r and its upstream (if any) are live.
    let answered = unsafe {
        let u = (*r).upstream;
        u.is_null() || (*u).headers_in.status_n != 0
    };
    let status = u16::try_from(status).ok()?;
    let kind = ErrorKind::from_origin_status(status, answered)?;
    let message = match kind {
        ErrorKind::OriginUnreachable => "the origin could not be reached".to_string(),
        ErrorKind::OriginTimeout => "the origin did not answer in time".to_string(),
        ErrorKind::OriginServerError => format!("the origin failed with status {status}"),
        ErrorKind::OriginNotFound => "the original image was not found".to_string(),
        _ => format!("the origin refused the request with status {status}"),
    };
    Some(Error::new(kind, message))
}

/// Clears our `c->buffered` bit.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn clear_buffered(r: *mut ngx_http_request_t) {
    // SAFETY: the connection outlives the request.
    unsafe {
        let c = (*r).connection;
        (*c).set_buffered((*c).buffered() & !IMAGE_BUFFERED);
    }
}

/// Sets our `c->buffered` bit: nginx must not finalize the request while we
/// hold its data.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn set_buffered(r: *mut ngx_http_request_t) {
    // SAFETY: the connection outlives the request.
    unsafe {
        let c = (*r).connection;
        (*c).set_buffered((*c).buffered() | IMAGE_BUFFERED);
    }
}

/// Marks every buffer of the chain as consumed, copying memory buffers into
/// `into` when given; returns whether the last buffer was seen. Consumed
/// buffers go back to their owner (e.g. the upstream's buffer pool).
/// Collecting from a buffer that is only in a file is an error: the copy
/// filter should have read it into memory, and skipping it would silently
/// corrupt the original.
///
/// # Safety
/// `chain` must be null or a valid chain.
unsafe fn consume(mut chain: *mut ngx_chain_t, mut into: Option<&mut Vec<u8>>) -> Result<bool, ()> {
    let mut last = false;
    // SAFETY: each link and buffer of a valid chain is valid.
    unsafe {
        while !chain.is_null() {
            let b = (*chain).buf;
            if !b.is_null() {
                let in_memory = (*b).temporary() != 0 || (*b).memory() != 0 || (*b).mmap() != 0;
                if in_memory && !(*b).pos.is_null() && (*b).last > (*b).pos {
                    let len = (*b).last.offset_from((*b).pos) as usize;
                    if let Some(v) = into.as_deref_mut() {
                        v.extend_from_slice(std::slice::from_raw_parts((*b).pos, len));
                    }
                } else if into.is_some() && (*b).in_file() != 0 && (*b).file_last > (*b).file_pos {
                    return Err(());
                }
                (*b).pos = (*b).last;
                if (*b).in_file() != 0 {
                    (*b).file_pos = (*b).file_last;
                }
                if (*b).last_buf() != 0 {
                    last = true;
                }
            }
            chain = (*chain).next;
        }
    }
    Ok(last)
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::OriginalTooLarge,
        format!(
            "the original is larger than the {limit} bytes this location accepts (image_buffer)"
        ),
    )
}
