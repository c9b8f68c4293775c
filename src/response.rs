//! Building the responses the module sends: the transformed image, or an
//! error with its JSON body, `Image-Error` header and cache policy.

use image_engine::{Error, ErrorKind, ImageFormat, Output};
use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_http_output_filter, ngx_http_request_t,
    ngx_http_send_header, ngx_int_t, ngx_pcalloc, ngx_str_t, NGX_LOG_ERR, NGX_LOG_INFO,
};
use ngx::ngx_log_error;

use crate::cache;
use crate::conf::LocConf;
use crate::ctx::{RequestCtx, State};
use crate::filter;
use crate::ngx_http_image_module;
use crate::util::{
    add_header, clear_cache_control, clear_header, loc_conf, pool_str, remove_header, static_str,
    status, str_bytes,
};

const NGX_OK: ngx_int_t = 0;
const NGX_ERROR: ngx_int_t = -1;

/// Seconds an overloaded client is asked to wait before trying again.
const RETRY_AFTER: &str = "1";

/// Where a response enters the filter chain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// From a phase handler: through every filter, ours included.
    Top,
    /// From inside our filter: only the filters after ours.
    Next,
}

/// Sends the transformed image.
///
/// # Safety
/// `r` must be the live main request whose header has not been sent; `ctx`
/// is its context.
pub unsafe fn send_image(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    output: Output,
    sink: Sink,
) -> ngx_int_t {
    ctx.stats.status = Some(200);
    ctx.stats.output_bytes = Some(output.bytes.len());
    ctx.stats.original_size = Some((output.original_width, output.original_height));
    ctx.output = output.bytes;
    // SAFETY: headers_out belongs to the live request; the header has not
    // been sent, so changing it is allowed.
    unsafe {
        cache::record_success(r, ctx);
        // An origin's warning describes its answer, not this output.
        remove_header(r, "Image-Error");
        let h = &raw mut (*r).headers_out;
        set_status(h, 200);
        set_content_type(r, output.format.mime());
        (*h).content_length_n = ctx.output.len() as i64;
        clear_header(&raw mut (*h).content_length);
        // The original's validators do not describe this output.
        clear_header(&raw mut (*h).etag);
        clear_header(&raw mut (*h).accept_ranges);
        (*r).set_allow_ranges(0);
    }
    // SAFETY: as above.
    unsafe { send(r, ctx, sink) }
}

/// Sends an error response and logs it: `info` for problems with the
/// request or the origin, `error` for our own bugs.
///
/// # Safety
/// As for [`send_image`].
pub unsafe fn send_error(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    err: &Error,
    sink: Sink,
) -> ngx_int_t {
    // SAFETY: r is live; its connection log is valid.
    unsafe { log_error(r, err) };
    // SAFETY: r is live; its location configuration outlives it.
    let conf: &LocConf = unsafe { loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module)) };
    let fallback = conf
        .fallback()
        .filter(|_| matches!(err.status(), 400 | 404 | 413 | 415));
    let status_code = match fallback {
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
    ctx.stats.status = Some(status_code);
    ctx.stats.error_code = err.code();
    ctx.stats.output_bytes = Some(ctx.output.len());
    // SAFETY: r is the live request owning ctx.
    let cache = unsafe { cache::for_error(r, ctx, err) };
    // SAFETY: the header has not been sent.
    unsafe {
        let h = &raw mut (*r).headers_out;
        set_status(h, status_code);
        set_content_type(r, mime);
        (*h).content_length_n = ctx.output.len() as i64;
        clear_header(&raw mut (*h).content_length);
        clear_header(&raw mut (*h).etag);
        clear_header(&raw mut (*h).accept_ranges);
        // An origin's caching headers describe the image, not our error.
        clear_cache_control(r);
        clear_header(&raw mut (*h).expires);
        clear_header(&raw mut (*h).last_modified);
        (*h).last_modified_time = -1;
        (*r).set_allow_ranges(0);

        if !set_image_error(r, err) {
            return NGX_ERROR;
        }
        let Some(cache) = pool_str(r, cache.as_bytes()) else {
            return NGX_ERROR;
        };
        if !add_header(r, "Cache-Control", cache) {
            return NGX_ERROR;
        }
        let extra = match err.kind {
            ErrorKind::MethodNotAllowed => Some(("Allow", "GET, HEAD")),
            ErrorKind::Overloaded => Some(("Retry-After", RETRY_AFTER)),
            _ => None,
        };
        if let Some((name, value)) = extra {
            if !add_header(r, name, static_str(value)) {
                return NGX_ERROR;
            }
        }
        send(r, ctx, sink)
    }
}

/// Serves the original unchanged (`onerror=original`), with the error's
/// code kept in `Image-Error` as a warning.
///
/// # Safety
/// As for [`send_image`].
pub unsafe fn send_original(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    original: Vec<u8>,
    format: ImageFormat,
    err: &Error,
) -> ngx_int_t {
    // SAFETY: r is live; its connection log is valid.
    unsafe { log_error(r, err) };
    ctx.stats.status = Some(200);
    ctx.stats.error_code = err.code();
    ctx.stats.output_bytes = Some(original.len());
    ctx.output = original;
    // SAFETY: the header has not been sent.
    unsafe {
        let h = &raw mut (*r).headers_out;
        set_status(h, 200);
        set_content_type(r, format.mime());
        (*h).content_length_n = ctx.output.len() as i64;
        clear_header(&raw mut (*h).content_length);
        clear_header(&raw mut (*h).accept_ranges);
        (*r).set_allow_ranges(0);
        if !set_image_error(r, err) {
            return NGX_ERROR;
        }
        if err.kind.is_transient() {
            // Next time the transformation may well succeed.
            clear_cache_control(r);
            clear_header(&raw mut (*h).expires);
            if !add_header(r, "Cache-Control", static_str("no-store")) {
                return NGX_ERROR;
            }
        }
        send(r, ctx, Sink::Next)
    }
}

/// Sets `Image-Error: err=CODE` (when the failure has a code), replacing
/// one a proxied origin may have sent.
///
/// # Safety
/// `r` must be live and its header unsent.
unsafe fn set_image_error(r: *mut ngx_http_request_t, err: &Error) -> bool {
    // SAFETY: guaranteed by the caller; the value is copied into the pool.
    unsafe {
        remove_header(r, "Image-Error");
        match err.header_value() {
            None => true,
            Some(value) => {
                pool_str(r, value.as_bytes()).is_some_and(|v| add_header(r, "Image-Error", v))
            }
        }
    }
}

/// Writes the error to error.log with the request it belongs to (nginx's
/// request log handler adds client, server and request line).
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn log_error(r: *mut ngx_http_request_t, err: &Error) {
    let level = if err.kind.is_internal() {
        NGX_LOG_ERR
    } else {
        NGX_LOG_INFO
    };
    let code = err
        .code()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    // SAFETY: the connection and its log live as long as the request.
    unsafe {
        let uri = String::from_utf8_lossy(str_bytes(&(*r).uri)).into_owned();
        ngx_log_error!(
            level,
            (*(*r).connection).log,
            "image: {} (status {}, code {}) for \"{}\"",
            err.message,
            err.status(),
            code,
            uri
        );
    }
}

/// Sets the status and drops a status line copied from a proxied origin
/// ("HTTP/1.1 500 ..."), which nginx would otherwise send as it is.
///
/// # Safety
/// `h` must point at the headers of a live request whose header is unsent.
unsafe fn set_status(h: *mut ngx::ffi::ngx_http_headers_out_t, code: u16) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        (*h).status = status(code);
        (*h).status_line = ngx_str_t::default();
    }
}

/// # Safety
/// `r` must be live and its header unsent.
unsafe fn set_content_type(r: *mut ngx_http_request_t, mime: &'static str) {
    // SAFETY: static strings outlive the request.
    unsafe {
        let h = &raw mut (*r).headers_out;
        (*h).content_type = static_str(mime);
        (*h).content_type_len = mime.len();
        (*h).content_type_lowcase = std::ptr::null_mut();
        (*h).charset = ngx_str_t::default();
    }
}

/// Sends the prepared header and `ctx.output` as the whole body.
///
/// # Safety
/// `r` must be live and its header unsent; `ctx.output` must not change
/// until the request is done (nginx's buffer points into it).
unsafe fn send(r: *mut ngx_http_request_t, ctx: &mut RequestCtx, sink: Sink) -> ngx_int_t {
    // A response sent from the top of the chain passes through our own
    // filters and must not be mistaken for the origin's body; one sent from
    // inside the filter replaces whatever the origin still sends.
    ctx.state = match sink {
        Sink::Top => State::PassThrough,
        Sink::Next => State::Sent,
    };
    // SAFETY: r is live; buffers come from its pool and point at
    // ctx.output, which lives in the same pool.
    unsafe {
        if ctx.head {
            (*r).set_header_only(1);
        }
        let rc = match sink {
            Sink::Top => ngx_http_send_header(r),
            Sink::Next => filter::next_header(r),
        };
        if rc == NGX_ERROR || rc > NGX_OK || (*r).header_only() != 0 {
            return rc;
        }

        let b = ngx_pcalloc((*r).pool, size_of::<ngx_buf_t>()) as *mut ngx_buf_t;
        let cl = ngx_alloc_chain_link((*r).pool);
        if b.is_null() || cl.is_null() {
            return NGX_ERROR;
        }
        let start = ctx.output.as_mut_ptr();
        (*b).start = start;
        (*b).pos = start;
        (*b).last = start.add(ctx.output.len());
        (*b).end = (*b).last;
        (*b).set_memory(u32::from(!ctx.output.is_empty()));
        (*b).set_last_buf(1);
        (*b).set_last_in_chain(1);
        (*cl).buf = b;
        (*cl).next = std::ptr::null_mut();
        let chain: *mut ngx_chain_t = cl;
        match sink {
            Sink::Top => ngx_http_output_filter(r, chain),
            Sink::Next => filter::next_body(r, chain),
        }
    }
}
