//! `image_filter` locations (nginx's `ngx_http_image_filter_module`
//! directives): the header filter holds every response but a 304, the body
//! filter collects up to `image_filter_buffer` bytes, then `test` answers
//! at once and the other modes go to the thread pool like `image_transform`
//! (see `offload`); `image_filter_reply` sends the outcome.
//!
//! A location with `image_transform` is not an `image_filter` location:
//! `image_transform` wins.

use image_engine::compat::image_filter::{self, Filter};
use image_engine::{Error, ErrorKind, Transform};
use ngx::core::Status;
use ngx::ffi::ngx_int_t;

use crate::conf::LocConf;
use crate::ctx::{RequestCtx, State};
use crate::fault::{self, Fault};
use crate::image_filter_reply::{refuse, refuse_with, send_body};
use crate::nginx::{pass_header, InChain, LogLevel, Request, Sink};
use crate::offload;

/// nginx's status for everything image_filter refuses.
const UNSUPPORTED_MEDIA_TYPE: u16 = 415;

/// Whether the location filters images as image_filter does.
pub fn active(conf: &LocConf) -> bool {
    conf.options().is_none() && conf.image_filter.mode() != Filter::Off
}

/// The header filter for a main request the module has no context for
/// yet; `None` when the location is not an image_filter location.
pub fn header(request: Request, conf: &LocConf) -> Option<ngx_int_t> {
    if !active(conf) {
        return None;
    }
    if request.status() == 304 {
        return Some(pass_header(request));
    }
    let settings = conf
        .image_filter
        .settings(|cv| request.evaluate(*cv).map(<[u8]>::to_vec));
    let ctx = request.attach_ctx(RequestCtx::new(String::new(), Ok(Transform::default())))?;
    ctx.image_filter = Some(settings);
    ctx.head = request.is_head();
    let limit = conf.image_filter.buffer_size();
    let length = request.content_length();
    if length > 0 && length as u64 > limit as u64 {
        request.log(
            LogLevel::Error,
            format_args!("image filter: too big response: {length}"),
        );
        // The handler answers nginx's 415 page; it passes our filters.
        ctx.state = State::PassThrough;
        return Some(UNSUPPORTED_MEDIA_TYPE as ngx_int_t);
    }
    if length > 0 {
        ctx.input.reserve_exact(length as usize);
    }
    ctx.state = State::Reading;
    ctx.sink = Sink::Next;
    request.want_body_in_memory();
    Some(Status::NGX_OK.0)
}

/// Collects the body; at its end, `test` answers and the other modes start
/// processing.
pub fn read(request: Request, ctx: &mut RequestCtx, chain: &InChain) -> ngx_int_t {
    let conf = LocConf::of(request);
    let last = match chain.consume(request, Some(&mut ctx.input)) {
        Ok(last) => last,
        Err(_) => {
            let err = Error::new(
                ErrorKind::Internal,
                "the response arrived as a file buffer instead of memory",
            );
            return refuse(request, ctx, &err);
        }
    };
    if ctx.input.len() > conf.image_filter.buffer_size() {
        request.log(
            LogLevel::Error,
            format_args!("image filter: too big response"),
        );
        return refuse_with(request, ctx, UNSUPPORTED_MEDIA_TYPE);
    }
    if !last {
        request.set_buffered(true);
        return Status::NGX_OK.0;
    }
    request.set_buffered(false);
    let Some(settings) = ctx.image_filter else {
        return Status::NGX_ERROR.0;
    };
    if settings.filter == Filter::Test {
        return test(request, ctx);
    }
    ctx.state = State::Processing;
    let mut job = offload::job_for(ctx, conf, Transform::default());
    job.image_filter = Some(settings);
    let fault = fault::requested(request);
    job.panic = fault == Some(Fault::Job);
    if fault == Some(Fault::Stall) {
        job.stall = fault::STALL;
    }
    match offload::start(request, ctx, conf, job) {
        Ok(None) => Status::NGX_OK.0,
        Ok(Some(rc)) => rc,
        Err(err) => refuse(request, ctx, &err),
    }
}

/// `test`: an image goes out unchanged with its own `Content-Type`.
fn test(request: Request, ctx: &mut RequestCtx) -> ngx_int_t {
    let input = std::mem::take(&mut ctx.input);
    match image_filter::image_type(&input) {
        Some(format) => {
            ctx.stats.original_bytes = Some(input.len());
            send_body(request, ctx, input, format.mime())
        }
        None => {
            request.log(
                LogLevel::Info,
                format_args!("image filter: the response is not an image"),
            );
            refuse_with(request, ctx, UNSUPPORTED_MEDIA_TYPE)
        }
    }
}
