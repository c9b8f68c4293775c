//! The precontent phase handler: decides, before the content handler runs,
//! whether this request will be transformed. Bad options and methods are
//! refused here, without fetching the original.

use image_engine::{Error, ErrorKind};
use ngx::ffi::{
    ngx_http_discard_request_body, ngx_http_finalize_request, ngx_http_request_t, ngx_int_t,
};

use crate::conf::LocConf;
use crate::ctx::{self, RequestCtx};
use crate::ngx_http_image_module;
use crate::options;
use crate::response::{send_error, Sink};
use crate::util::{guard, loc_conf, request_header, static_str};
use crate::variables::VIA_TOKEN;

const NGX_DECLINED: ngx_int_t = -5;
const NGX_DONE: ngx_int_t = -4;
const NGX_HTTP_INTERNAL_SERVER_ERROR: ngx_int_t = 500;
const NGX_HTTP_GET: usize = ngx::ffi::NGX_HTTP_GET as usize;
const NGX_HTTP_HEAD: usize = ngx::ffi::NGX_HTTP_HEAD as usize;

pub unsafe extern "C" fn handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(NGX_HTTP_INTERNAL_SERVER_ERROR, || {
        // SAFETY: nginx calls phase handlers with a live request.
        unsafe { precontent(r) }
    })
}

/// # Safety
/// `r` must be a live request.
unsafe fn precontent(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: r is live for the whole call.
    unsafe {
        if r != (*r).main || ctx::get(r).is_some() {
            return NGX_DECLINED;
        }
        let conf: &LocConf = loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));
        let Some(cv) = conf.options() else {
            return NGX_DECLINED;
        };

        if is_loop(r) {
            return refuse(
                r,
                Error::new(
                    ErrorKind::Loop,
                    "the request came back to the image module (loop)",
                ),
            );
        }

        let method = (*r).method;
        if method != NGX_HTTP_GET && method != NGX_HTTP_HEAD {
            // The body of a refused POST/PUT is read and dropped so the
            // connection can be kept alive.
            if ngx_http_discard_request_body(r) != 0 {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            return refuse(
                r,
                Error::new(
                    ErrorKind::MethodNotAllowed,
                    "only GET and HEAD requests can be transformed",
                ),
            );
        }

        let (text, transform) = options::evaluate(r, cv, &conf.policy);
        let invalid = transform.is_err();
        let Some(ctx) = ctx::create(r, RequestCtx::new(text, transform)) else {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        };

        if method == NGX_HTTP_HEAD {
            // The output's length is only known once the original has been
            // transformed, so the original must arrive even for HEAD. Static
            // files do (our header filter holds the header that would tell
            // the static handler to stop); a proxied origin needs a GET,
            // which the proxy module takes from `method_name`. `method`
            // stays HEAD so that nginx still answers without a body, even
            // if the request is redirected to a location we do not touch.
            ctx.head = true;
            (*r).method_name = static_str("GET");
        }

        if invalid {
            let err = ctx.transform.clone().unwrap_err();
            return finish(r, send_error(r, ctx, &err, Sink::Top));
        }
        NGX_DECLINED
    }
}

/// Whether the request carries the module's own `Via` token: an origin
/// request that came back to a transforming location.
///
/// # Safety
/// `r` must be a live request.
unsafe fn is_loop(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: r is live.
    let Some(via) = (unsafe { request_header(r, "Via") }) else {
        return false;
    };
    via.split(|&b| b == b',').any(|hop| {
        hop.split(|&b| b == b' ')
            .filter(|part| !part.is_empty())
            .nth(1)
            .is_some_and(|by| by.eq_ignore_ascii_case(VIA_TOKEN.as_bytes()))
    })
}

/// Answers `err` before the original is fetched.
///
/// # Safety
/// `r` must be a live main request without a context of ours.
unsafe fn refuse(r: *mut ngx_http_request_t, err: Error) -> ngx_int_t {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let Some(ctx) = ctx::create(r, RequestCtx::new(String::new(), Err(err.clone()))) else {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        };
        finish(r, send_error(r, ctx, &err, Sink::Top))
    }
}

/// Ends a request answered from this phase.
///
/// # Safety
/// `r` must be a live request.
unsafe fn finish(r: *mut ngx_http_request_t, rc: ngx_int_t) -> ngx_int_t {
    // SAFETY: r is live; after finalizing we return NGX_DONE and the phase
    // engine does not touch r again.
    unsafe { ngx_http_finalize_request(r, rc) };
    NGX_DONE
}
