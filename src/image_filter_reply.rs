//! What an `image_filter` location answers once the body is processed:
//! the image (keeping the response's status, with a weak `ETag` as nginx
//! gives), the `size` JSON, or nginx's own error page (415 as
//! image_filter; `error_page 415` applies). No JSON error bodies here:
//! a configuration written for image_filter must get what it expects.

use image_engine::compat::image_filter;
use image_engine::{Error, ImageFormat, Output};
use ngx::ffi::ngx_int_t;

use crate::ctx::{RequestCtx, State};
use crate::nginx::{LogLevel, Request, Sink, Tracked};
use crate::response;

/// Sends the job's result.
pub fn respond(request: Request, ctx: &mut RequestCtx, result: Result<Output, Error>) -> ngx_int_t {
    match result {
        Ok(output) if output.format == ImageFormat::Json => send_json(request, ctx, output.bytes),
        Ok(output) => {
            ctx.stats.original_size = Some((output.original_width, output.original_height));
            request.weaken_etag();
            send_body(request, ctx, output.bytes, output.format.mime())
        }
        Err(err) => refuse(request, ctx, &err),
    }
}

/// Sends `body` as the response's new body, keeping its status and
/// headers (`test` sends the original this way).
pub fn send_body(
    request: Request,
    ctx: &mut RequestCtx,
    body: Vec<u8>,
    mime: &'static str,
) -> ngx_int_t {
    let status = u16::try_from(request.status()).unwrap_or(200);
    ctx.stats.status = Some(status);
    ctx.stats.output_bytes = Some(body.len());
    ctx.output = body;
    response::send(request, ctx, status, mime, Sink::Next)
}

/// `size`'s answer: a 200 with only the JSON, as image_filter clears the
/// response's other headers.
fn send_json(request: Request, ctx: &mut RequestCtx, body: Vec<u8>) -> ngx_int_t {
    for header in [
        Tracked::ETag,
        Tracked::LastModified,
        Tracked::CacheControl,
        Tracked::Expires,
    ] {
        request.clear_tracked(header);
    }
    ctx.stats.status = Some(200);
    ctx.stats.output_bytes = Some(body.len());
    ctx.output = body;
    response::send(request, ctx, 200, "application/json", Sink::Next)
}

/// Answers the error's status (415 for anything about the image) with
/// nginx's error page, logged as image_filter logs it.
pub fn refuse(request: Request, ctx: &mut RequestCtx, err: &Error) -> ngx_int_t {
    let status = image_filter::status(err);
    let level = if err.kind.is_internal() {
        LogLevel::Error
    } else {
        LogLevel::Info
    };
    request.log(level, format_args!("image filter: {}", err.message));
    refuse_with(request, ctx, status)
}

/// Sends nginx's page for `status`. It passes our own filters (the state
/// says so while it is sent); whatever the original still sends after it
/// is dropped.
pub fn refuse_with(request: Request, ctx: &mut RequestCtx, status: u16) -> ngx_int_t {
    ctx.input = Vec::new();
    ctx.stats.status = Some(status);
    request.set_buffered(false);
    ctx.state = State::PassThrough;
    crate::metrics::record(ctx, status);
    // NGX_ERROR once the page is out: nginx's "reset any pending data".
    let rc = request.filter_finalize(status);
    ctx.state = State::Sent;
    rc
}
