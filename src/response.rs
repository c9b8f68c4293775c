//! The outcome of a request: what to send for an engine result (the image,
//! the original under `onerror=original`, or an error with its JSON body,
//! `Image-Error` header and cache policy), and sending it. Every response
//! goes through [`send`], which sets the headers they share.

use image_engine::http::caching::SuccessHeaders;
use image_engine::http::CacheControl;
use image_engine::{sniff_format, Error, ErrorKind, ImageFormat, OnError, Output};
use ngx::core::Status;
use ngx::ffi::ngx_int_t;

use crate::conf::LocConf;
use crate::ctx::{hand_over, Outcome, RequestCtx, State};
use crate::error_caching;
use crate::nginx::{
    now, parse_http_time, pass_header, HeaderError, LogLevel, Request, Sink, Tracked,
};

/// Seconds an overloaded client is asked to wait before trying again.
const RETRY_AFTER: &str = "1";

/// Sends the engine's result where the request's context says; with
/// `onerror=original`, a failure serves the original instead when it is a
/// good image the engine merely could not transform.
pub fn respond(
    request: Request,
    ctx: &mut RequestCtx,
    result: Result<Output, Error>,
    original: Vec<u8>,
) -> ngx_int_t {
    let sink = ctx.sink;
    match result {
        Ok(output) => send_image(request, ctx, output, sink),
        Err(err) => {
            let wants_original = matches!(&ctx.transform, Ok(t) if t.onerror == OnError::Original);
            if wants_original && original_is_servable(err.kind) {
                if let Ok(format) = sniff_format(&original) {
                    return send_original(request, ctx, original, format, &err, sink);
                }
            }
            send_error(request, ctx, &err, sink)
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

/// Sends the transformed image.
pub fn send_image(request: Request, ctx: &mut RequestCtx, output: Output, sink: Sink) -> ngx_int_t {
    let request = ctx.home(request);
    ctx.stats.status = Some(200);
    ctx.stats.output_bytes = Some(output.bytes.len());
    ctx.stats.original_size = Some((output.original_width, output.original_height));
    ctx.output = output.bytes;
    if LocConf::of(request).server_timing == 1 {
        let value = crate::metrics::server_timing(&output.timings);
        if request
            .add_header_out("Server-Timing", value.as_bytes())
            .is_err()
        {
            return Status::NGX_ERROR.0;
        }
    }
    error_caching::record_success(request, ctx);
    // An origin's warning describes its answer, not this output.
    request.remove_header_out("Image-Error");
    if set_variant_headers(request, ctx).is_err() {
        return Status::NGX_ERROR.0;
    }
    send(request, ctx, 200, output.format.mime(), sink)
}

/// Answers `304` for the variant the client has (`conditional`), from the
/// header filter, before the original is read.
pub fn send_not_modified(request: Request, ctx: &mut RequestCtx) -> ngx_int_t {
    let request = ctx.home(request);
    ctx.stats.status = Some(304);
    request.remove_header_out("Image-Error");
    if set_variant_headers(request, ctx).is_err() {
        return Status::NGX_ERROR.0;
    }
    if ctx.vary_accept && request.add_static_header_out("Vary", "Accept").is_err() {
        return Status::NGX_ERROR.0;
    }
    request.set_status(304);
    request.clear_body_headers();
    request.clear_tracked(Tracked::ContentEncoding);
    request.clear_tracked(Tracked::AcceptRanges);
    request.disallow_ranges();
    request.set_header_only();
    ctx.state = State::Sent;
    if ctx.fetch_for.is_some() {
        // An endpoint's fetch: the endpoint request sends the 304.
        hand_over(request, ctx, Outcome::Ready);
        return Status::NGX_OK.0;
    }
    pass_header(request)
}

/// The headers a variant (a `200` image or its `304`) shares: its own
/// validator instead of the original's (no `Last-Modified`: the original's
/// date stays the same when the options change the bytes), and the
/// location's Cache-Control policy.
fn set_variant_headers(request: Request, ctx: &RequestCtx) -> Result<(), HeaderError> {
    request.clear_tracked(Tracked::LastModified);
    match &ctx.etag {
        Some(etag) => request.set_header_out("ETag", etag.header_value().as_bytes())?,
        None => request.clear_tracked(Tracked::ETag),
    }
    let origin = request
        .header_out("Cache-Control")
        .map(|v| CacheControl::parse(&String::from_utf8_lossy(v)))
        .unwrap_or_default();
    let expires_in = request
        .header_out("Expires")
        .map(|v| parse_http_time(v).map_or(0, |t| t - now()));
    let decision = LocConf::of(request).success_policy().decide(
        &origin,
        expires_in,
        error_caching::has_credentials(request),
    );
    if let SuccessHeaders::Replace(value) = decision {
        request.clear_tracked(Tracked::CacheControl);
        request.clear_tracked(Tracked::Expires);
        request.add_header_out("Cache-Control", value.as_bytes())?;
    }
    Ok(())
}

/// Sends an error response and logs it: `info` for problems with the
/// request or the origin, `error` for our own bugs.
pub fn send_error(request: Request, ctx: &mut RequestCtx, err: &Error, sink: Sink) -> ngx_int_t {
    let request = ctx.home(request);
    log_error(request, err);
    let fallback = LocConf::of(request)
        .fallback()
        .filter(|_| matches!(err.status(), 400 | 404 | 413 | 415));
    let status = match fallback {
        Some(f) if f.status != 0 => f.status,
        _ => err.status(),
    };
    let mime = match fallback {
        // A placeholder image instead of the JSON body, as Cloudinary's
        // default image.
        Some(f) => {
            ctx.output = f.image.as_ref().clone();
            f.format.mime()
        }
        None => {
            ctx.output = err.to_json().into_bytes();
            "application/json"
        }
    };
    ctx.stats.status = Some(status);
    ctx.stats.error_code = err.code();
    ctx.stats.output_bytes = Some(ctx.output.len());
    let cache_control = error_caching::for_error(request, ctx, err);

    request.clear_tracked(Tracked::ETag);
    // An origin's caching headers describe the image, not our error.
    request.clear_tracked(Tracked::CacheControl);
    request.clear_tracked(Tracked::Expires);
    request.clear_tracked(Tracked::LastModified);
    let extra = match err.kind {
        ErrorKind::MethodNotAllowed => Some(("Allow", "GET, HEAD")),
        ErrorKind::Overloaded => Some(("Retry-After", RETRY_AFTER)),
        _ => None,
    };
    let headers = set_image_error(request, err)
        .and_then(|()| request.add_header_out("Cache-Control", cache_control.as_bytes()))
        .and_then(|()| match extra {
            Some((name, value)) => request.add_static_header_out(name, value),
            None => Ok(()),
        });
    if headers.is_err() {
        return Status::NGX_ERROR.0;
    }
    send(request, ctx, status, mime, sink)
}

/// Serves the original unchanged (`onerror=original`), with the error's
/// code kept in `Image-Error` as a warning.
fn send_original(
    request: Request,
    ctx: &mut RequestCtx,
    original: Vec<u8>,
    format: ImageFormat,
    err: &Error,
    sink: Sink,
) -> ngx_int_t {
    let request = ctx.home(request);
    log_error(request, err);
    ctx.stats.status = Some(200);
    ctx.stats.error_code = err.code();
    ctx.stats.output_bytes = Some(original.len());
    ctx.output = original;
    if set_image_error(request, err).is_err() {
        return Status::NGX_ERROR.0;
    }
    if err.kind.is_transient() {
        // Next time the transformation may well succeed.
        request.clear_tracked(Tracked::CacheControl);
        request.clear_tracked(Tracked::Expires);
        if request
            .add_static_header_out("Cache-Control", "no-store")
            .is_err()
        {
            return Status::NGX_ERROR.0;
        }
    }
    send(request, ctx, 200, format.mime(), sink)
}

/// Sets `Image-Error: err=CODE` (when the failure has a code), replacing
/// one a proxied origin may have sent.
fn set_image_error(request: Request, err: &Error) -> Result<(), crate::nginx::HeaderError> {
    match err.header_value() {
        None => {
            request.remove_header_out("Image-Error");
            Ok(())
        }
        Some(value) => request.set_header_out("Image-Error", value.as_bytes()),
    }
}

/// Writes the error to error.log with the request it belongs to.
fn log_error(request: Request, err: &Error) {
    let level = if err.kind.is_internal() {
        LogLevel::Error
    } else {
        LogLevel::Info
    };
    let code = err
        .code()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    request.log(
        level,
        format_args!(
            "image: {} (status {}, code {}) for \"{}\"",
            err.message,
            err.status(),
            code,
            String::from_utf8_lossy(request.uri())
        ),
    );
}

/// The headers every response of ours shares (status, type, length; no
/// byte ranges: the body is not the origin's), then `ctx.output` as the
/// whole body. An endpoint's fetch sends nothing itself: the headers are
/// set on the endpoint request (`request` here), which sends them and the
/// body once the fetch is finalized.
pub fn send(
    request: Request,
    ctx: &mut RequestCtx,
    status: u16,
    mime: &'static str,
    sink: Sink,
) -> ngx_int_t {
    if crate::fault::requested(request) == Some(crate::fault::Fault::Response) {
        panic!("fault injected while sending the response");
    }
    request.set_status(status);
    request.set_content_type(mime);
    request.set_content_length(ctx.output.len());
    request.clear_tracked(Tracked::AcceptRanges);
    // The body is ours: whatever encoding the origin's had is gone.
    request.clear_tracked(Tracked::ContentEncoding);
    request.disallow_ranges();
    // Set once: a response sent from the top passes our header filter
    // again, untouched (PassThrough). `format=auto` from an endpoint URL
    // depends on Accept as much as one from image_transform.
    let negotiated = matches!(&ctx.transform, Ok(t) if t.auto_format);
    if (ctx.vary_accept || negotiated) && request.add_static_header_out("Vary", "Accept").is_err() {
        return Status::NGX_ERROR.0;
    }
    if ctx.fetch_for.is_some() {
        ctx.state = State::Sent;
        hand_over(request, ctx, Outcome::Ready);
        return Status::NGX_OK.0;
    }
    // A response sent from the top of the chain passes through our own
    // filters and must not be mistaken for the origin's body; one sent from
    // inside the filter replaces whatever the origin still sends.
    ctx.state = match sink {
        Sink::Top => State::PassThrough,
        Sink::Next => State::Sent,
    };
    if ctx.head {
        request.set_header_only();
    }
    crate::metrics::record(ctx, status);
    // ctx.output lives in the request pool with the context and is not
    // touched again: nginx's buffer may point into it.
    request.send_response(&ctx.output, sink)
}
