//! `image_status` and `image_server_timing`: counting every response of
//! the module in the shared metrics zone, the pools' job gauges, the
//! content handler that serves the counters, and the `Server-Timing`
//! header of a transformed image. The counters and their renderings are
//! the engine's (`image_engine::metrics`).

use image_engine::metrics::{self, Rendering, Response};
use image_engine::{Error, ErrorKind, StageTimings};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR};

use crate::ctx::{RequestCtx, State};
use crate::nginx::{guard, MetricsZone, Request, Sink, ThreadPool};

const INTERNAL_SERVER_ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

/// Counts a response the module is sending (see `response::send`).
pub fn record(ctx: &RequestCtx, status: u16) {
    let Some(zone) = MetricsZone::current() else {
        return;
    };
    let stats = &ctx.stats;
    let response = Response {
        status,
        error_code: stats.error_code,
        error: status != 200,
        bytes_in: stats.original_bytes.map(|n| n as u64),
        bytes_out: if ctx.head { 0 } else { ctx.output.len() as u64 },
        processing: stats.processing,
    };
    zone.with(|c| c.record(&response));
}

/// Moves the job gauges of `pool` (see `scheduler`).
pub fn pool_change(pool: ThreadPool, running: i64, queued: i64) {
    if let Some(zone) = MetricsZone::current() {
        let name = pool.name();
        zone.with(|c| c.pool_change(&name, running, queued));
    }
}

/// The `Server-Timing` value of a transformation.
pub fn server_timing(timings: &StageTimings) -> String {
    metrics::server_timing(timings)
}

/// The content handler of an `image_status` location.
pub unsafe extern "C" fn status_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(INTERNAL_SERVER_ERROR, || {
        // SAFETY: nginx calls content handlers with a live request.
        match unsafe { Request::from_raw(r) } {
            Some(request) => serve_status(request),
            None => INTERNAL_SERVER_ERROR,
        }
    })
}

fn serve_status(request: Request) -> ngx_int_t {
    let Some(ctx) = request.attach_ctx(RequestCtx::new(
        String::new(),
        Err(Error::new(ErrorKind::Internal, "not a transformation")),
    )) else {
        return INTERNAL_SERVER_ERROR;
    };
    // Our own response: the module's filters let it pass.
    ctx.state = State::PassThrough;
    ctx.head = request.is_head();
    if !request.is_get_or_head() {
        return finish(
            request,
            ctx,
            405,
            "text/plain",
            b"only GET and HEAD\n".to_vec(),
        );
    }
    if !request.discard_body() {
        return INTERNAL_SERVER_ERROR;
    }
    let query = String::from_utf8_lossy(request.query()).into_owned();
    let accept = request
        .header_in("Accept")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let rendering = match metrics::choose(metrics::format_argument(&query), accept.as_deref()) {
        Ok(rendering) => rendering,
        Err(message) => {
            return finish(
                request,
                ctx,
                400,
                "text/plain",
                format!("{message}\n").into_bytes(),
            )
        }
    };
    let counters = MetricsZone::current()
        .map(|zone| zone.with(|c| *c))
        .unwrap_or_default();
    let body = match rendering {
        Rendering::Json => metrics::json(&counters),
        Rendering::Prometheus => metrics::prometheus(&counters, false),
        Rendering::OpenMetrics => metrics::prometheus(&counters, true),
    };
    finish(
        request,
        ctx,
        200,
        rendering.content_type(),
        body.into_bytes(),
    )
}

/// Sends `body` with `status`; never cached (the counters move).
fn finish(
    request: Request,
    ctx: &mut RequestCtx,
    status: u16,
    mime: &'static str,
    body: Vec<u8>,
) -> ngx_int_t {
    ctx.output = body;
    request.set_status(status);
    request.set_content_type(mime);
    request.set_content_length(ctx.output.len());
    if status == 405 && request.add_static_header_out("Allow", "GET, HEAD").is_err() {
        return INTERNAL_SERVER_ERROR;
    }
    if request
        .add_static_header_out("Cache-Control", "no-store")
        .is_err()
    {
        return INTERNAL_SERVER_ERROR;
    }
    if ctx.head {
        request.set_header_only();
    }
    request.send_response(&ctx.output, Sink::Top)
}
