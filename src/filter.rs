//! The header and body filters: the state machine of a transformed
//! response (see `ctx.rs`). The header filter holds the header of a 200
//! response, the body filter collects the original and hands it to
//! `offload`; the outcome goes out through `response`.
//!
//! The module is ordered before the copy filter (see `lib.rs`), so static
//! files reach us as memory buffers once `main_filter_need_in_memory` is set.

use std::time::{Duration, Instant};

use image_engine::endpoint::redirect;
use image_engine::http::origin;
use image_engine::{Error, ErrorKind};
use ngx::core::Status;
use ngx::ffi::{ngx_chain_t, ngx_http_request_t, ngx_int_t};

use crate::conditional;
use crate::conf::LocConf;
use crate::ctx::{hand_over, Outcome, RequestCtx, State};
use crate::fault::{self, Fault};
use crate::nginx::{flush, guard, pass_header, InChain, OriginCut, Request, Sink};
use crate::offload;
use crate::options;
use crate::response::{send_error, send_not_modified};

pub unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(Status::NGX_ERROR.0, || {
        // SAFETY: nginx calls filters with a live request.
        match unsafe { Request::from_raw(r) } {
            Some(request) => header(request),
            None => Status::NGX_ERROR.0,
        }
    })
}

pub unsafe extern "C" fn body_filter(
    r: *mut ngx_http_request_t,
    chain: *mut ngx_chain_t,
) -> ngx_int_t {
    guard(Status::NGX_ERROR.0, || {
        // SAFETY: nginx calls filters with a live request and a valid (or
        // null) chain, both used only during this call.
        let (request, chain) = unsafe { (Request::from_raw(r), InChain::from_raw(chain)) };
        match request {
            Some(request) => body(request, chain),
            None => Status::NGX_ERROR.0,
        }
    })
}

fn header(request: Request) -> ngx_int_t {
    if !request.is_main() {
        return match request.ctx::<RequestCtx>() {
            Some(ctx) if ctx.fetch_for.is_some() => fetched_header(request, ctx),
            _ => pass_header(request),
        };
    }
    let conf = LocConf::of(request);
    let ctx = match request.ctx::<RequestCtx>() {
        Some(ctx) => ctx,
        None if crate::image_filter::active(conf) => {
            return crate::image_filter::header(request, conf).unwrap_or(Status::NGX_ERROR.0);
        }
        None => {
            // The precontent phase did not see this request (a response
            // produced before it, e.g. `return 200`). Transform it all the
            // same, unless it is a HEAD that will bring no body.
            let Some(template) = conf.options() else {
                return pass_header(request);
            };
            if request.is_head() || request.status() != 200 {
                return pass_header(request);
            }
            let (text, transform) = options::evaluate(request, template, conf);
            match request.attach_ctx(RequestCtx::new(text, transform)) {
                Some(ctx) => {
                    ctx.vary_accept = template.template.may_negotiate();
                    ctx
                }
                None => return Status::NGX_ERROR.0,
            }
        }
    };

    if fault::requested(request) == Some(Fault::Filter) {
        panic!("fault injected in the header filter");
    }
    if ctx.state != State::Start {
        // Our own response, or one we already decided to leave alone.
        return pass_header(request);
    }
    transform_header(request, ctx)
}

/// The header of an endpoint's fetch (a subrequest, see `endpoint.rs`).
/// It never goes on: a redirect is handed to the endpoint request to
/// follow; anything else is adopted by the endpoint request, which then
/// goes through the same steps as a transformed response of the filter
/// phase, and sends the outcome itself.
fn fetched_header(request: Request, ctx: &mut RequestCtx) -> ngx_int_t {
    if ctx.state != State::Start {
        return Status::NGX_OK.0;
    }
    let home = ctx.home(request);
    let status = request.status();
    if let Ok(code) = u16::try_from(status) {
        if redirect::is_redirect(code) {
            ctx.state = State::Sent;
            let location = request.header_out("Location").map(<[u8]>::to_vec);
            hand_over(home, ctx, Outcome::Redirect(code, location));
            return Status::NGX_OK.0;
        }
    }
    home.adopt_headers_out(request);
    // One visitor's cookie must not land in a shared cache with the image.
    home.remove_header_out("Set-Cookie");
    if status != 200 && origin_error(request, status).is_none() {
        let err = Error::new(
            ErrorKind::OriginServerError,
            format!("the origin answered with status {status} instead of the image"),
        );
        return send_error(request, ctx, &err, Sink::Next);
    }
    transform_header(request, ctx)
}

/// The steps every response to transform takes once its header arrived:
/// an origin error, invalid options or a too large original answer at
/// once; a 200 is held and its body collected.
fn transform_header(request: Request, ctx: &mut RequestCtx) -> ngx_int_t {
    let conf = LocConf::of(ctx.home(request));
    let status = request.status();
    if status != 200 {
        return match origin_error(request, status) {
            Some(err) => send_error(request, ctx, &err, Sink::Next),
            None => {
                ctx.state = State::PassThrough;
                pass_header(request)
            }
        };
    }
    if let Err(err) = &ctx.transform {
        let err = err.clone();
        return send_error(request, ctx, &err, Sink::Next);
    }
    let encoding = request
        .header_out("Content-Encoding")
        .map(|value| String::from_utf8_lossy(value).into_owned());
    if let Err(err) = origin::check_encoding(encoding.as_deref()) {
        return send_error(request, ctx, &err, Sink::Next);
    }
    ctx.etag = conditional::variant_etag(request, ctx);
    if conditional::not_modified(ctx) {
        // The client has this variant: nothing is read or decoded.
        return send_not_modified(request, ctx);
    }

    let length = request.content_length();
    if length > 0 && length as u64 > conf.buffer_size as u64 {
        return send_error(request, ctx, &too_large(conf.buffer_size), Sink::Next);
    }
    if length > 0 {
        ctx.input.reserve_exact(length as usize);
    }

    ctx.state = State::Reading;
    ctx.last_input = Some(Instant::now());
    ctx.sink = Sink::Next;
    // The header waits until the output's length and type are known.
    request.want_body_in_memory();
    Status::NGX_OK.0
}

fn body(request: Request, chain: InChain) -> ngx_int_t {
    let Some(ctx) = request.ctx::<RequestCtx>() else {
        return chain.pass(request);
    };
    if !request.is_main() && ctx.fetch_for.is_none() {
        return chain.pass(request);
    }
    match ctx.state {
        State::Start | State::PassThrough => chain.pass(request),
        State::Sent => {
            // What the origin still sends after our response: drop it, but
            // let buffered output of ours flow on.
            let _ = chain.consume(request, None);
            flush(request)
        }
        State::Processing => {
            let _ = chain.consume(request, None);
            Status::NGX_OK.0
        }
        State::Reading if ctx.image_filter.is_some() => {
            crate::image_filter::read(request, ctx, &chain)
        }
        State::Reading => read(request, ctx, &chain),
    }
}

/// Appends the chain's bytes to the original; starts processing at the end.
fn read(request: Request, ctx: &mut RequestCtx, chain: &InChain) -> ngx_int_t {
    let conf = LocConf::of(ctx.home(request));
    let before = ctx.input.len();
    let last = match chain.consume(request, Some(&mut ctx.input)) {
        Ok(last) => last,
        Err(_) => {
            ctx.input = Vec::new();
            request.set_buffered(false);
            let err = Error::new(
                ErrorKind::Internal,
                "the original arrived as a file buffer instead of memory",
            );
            return send_error(request, ctx, &err, Sink::Next);
        }
    };
    if ctx.input.len() > conf.buffer_size {
        ctx.input = Vec::new();
        request.set_buffered(false);
        return send_error(request, ctx, &too_large(conf.buffer_size), Sink::Next);
    }
    if !last {
        // What nginx sends once the origin is gone is a bare flush (what the
        // origin sent before went through here already).
        let quiet_for = ctx.last_input.map_or(Duration::ZERO, |t| t.elapsed());
        let cut = (ctx.input.len() == before)
            .then(|| request.origin_cut(quiet_for))
            .flatten();
        if let Some(cut) = cut {
            ctx.input = Vec::new();
            request.set_buffered(false);
            return send_error(request, ctx, &cut_error(cut), Sink::Next);
        }
        if ctx.input.len() > before {
            ctx.last_input = Some(Instant::now());
        }
        // Hold the request open until the last buffer arrives.
        request.set_buffered(true);
        return Status::NGX_OK.0;
    }
    start_processing(request, ctx, conf)
}

/// Hands the whole original to `offload`: on the thread pool the response
/// goes out when the job is back; inline it goes out now.
fn start_processing(request: Request, ctx: &mut RequestCtx, conf: &LocConf) -> ngx_int_t {
    ctx.state = State::Processing;
    let transform = match &ctx.transform {
        Ok(t) => t.clone(),
        Err(err) => {
            let err = err.clone();
            request.set_buffered(false);
            return send_error(request, ctx, &err, Sink::Next);
        }
    };
    let mut job = offload::job_for(ctx, conf, transform);
    let fault = fault::requested(request);
    job.panic = fault == Some(Fault::Job);
    job.panic_on_return = fault == Some(Fault::Completion);
    if fault == Some(Fault::Stall) {
        job.stall = fault::STALL;
    }
    match offload::start(request, ctx, conf, job) {
        Ok(None) => Status::NGX_OK.0,
        Ok(Some(rc)) => rc,
        Err(err) => {
            request.set_buffered(false);
            send_error(request, ctx, &err, Sink::Next)
        }
    }
}

/// The error a non-200 response of the origin stands for. A status nginx
/// made up itself because the proxied origin failed (no response header
/// arrived) is told apart from one the origin sent.
fn origin_error(request: Request, status: usize) -> Option<Error> {
    let answered = request.origin_answered();
    let status = u16::try_from(status).ok()?;
    // Nothing conditional or ranged reaches the origin (`conditional`), so
    // a 304 (like a 206 or 416) is the origin's mistake.
    if let Err(err) = origin::check_unexpected_status(status) {
        return Some(err);
    }
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

/// The error for a proxied original that stopped before its end: the
/// client gets a JSON error instead of a closed connection.
fn cut_error(cut: OriginCut) -> Error {
    match cut {
        OriginCut::Closed => Error::new(
            ErrorKind::OriginUnreachable,
            "the origin closed the connection before the whole image arrived",
        ),
        OriginCut::TimedOut => Error::new(
            ErrorKind::OriginTimeout,
            "the origin stopped sending the image (proxy_read_timeout)",
        ),
    }
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::OriginalTooLarge,
        format!(
            "the original is larger than the {limit} bytes this location accepts (image_buffer)"
        ),
    )
}
