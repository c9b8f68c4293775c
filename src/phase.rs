//! The precontent phase handler: decides, before the content handler runs,
//! whether this request will be transformed. Bad options and methods are
//! refused here, without fetching the original.

use image_engine::endpoint::loops;
use image_engine::{Error, ErrorKind};
use ngx::core::Status;
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR};

use crate::conditional;
use crate::conf::LocConf;
use crate::ctx::RequestCtx;
use crate::nginx::{guard, Request, Sink};
use crate::options;
use crate::response::send_error;

const INTERNAL_SERVER_ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

pub unsafe extern "C" fn handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(INTERNAL_SERVER_ERROR, || {
        // SAFETY: nginx calls phase handlers with a live request.
        match unsafe { Request::from_raw(r) } {
            Some(request) => precontent(request),
            None => INTERNAL_SERVER_ERROR,
        }
    })
}

fn precontent(request: Request) -> ngx_int_t {
    if !request.is_main() || request.ctx::<RequestCtx>().is_some() {
        return Status::NGX_DECLINED.0;
    }
    let conf = LocConf::of(request);
    if crate::image_filter::active(conf) && request.is_head() {
        // As for image_transform below: a proxied origin must send the
        // body for the output's length to be known.
        request.set_method_name("GET");
    }
    let Some(template) = conf.options() else {
        return Status::NGX_DECLINED.0;
    };

    if is_loop(request) {
        return refuse(
            request,
            Error::new(
                ErrorKind::Loop,
                "the request came back to the image module (loop)",
            ),
        );
    }

    if !request.is_get_or_head() {
        // The body of a refused POST/PUT is read and dropped so the
        // connection can be kept alive.
        if !request.discard_body() {
            return INTERNAL_SERVER_ERROR;
        }
        return refuse(
            request,
            Error::new(
                ErrorKind::MethodNotAllowed,
                "only GET and HEAD requests can be transformed",
            ),
        );
    }

    let (text, transform) = options::evaluate(request, template, conf);
    let invalid = transform.is_err();
    let Some(ctx) = request.attach_ctx(RequestCtx::new(text, transform)) else {
        return INTERNAL_SERVER_ERROR;
    };
    ctx.vary_accept = template.template.may_negotiate();
    if conditional::prepare(request, ctx).is_err() {
        return INTERNAL_SERVER_ERROR;
    }

    if request.is_head() {
        // The output's length is only known once the original has been
        // transformed, so the original must arrive even for HEAD. Static
        // files do (our header filter holds the header that would tell the
        // static handler to stop); a proxied origin needs a GET, which the
        // proxy module takes from `method_name`. `method` stays HEAD so
        // that nginx still answers without a body, even if the request is
        // redirected to a location we do not touch.
        ctx.head = true;
        request.set_method_name("GET");
    }

    if invalid {
        let err = ctx.transform.clone().unwrap_err();
        return finish(request, send_error(request, ctx, &err, Sink::Top));
    }
    Status::NGX_DECLINED.0
}

/// Whether the request carries the module's own `Via` token: an origin
/// request that came back to a transforming location.
fn is_loop(request: Request) -> bool {
    request.header_in("Via").is_some_and(loops::via_has_token)
}

/// Answers `err` before the original is fetched.
fn refuse(request: Request, err: Error) -> ngx_int_t {
    let Some(ctx) = request.attach_ctx(RequestCtx::new(String::new(), Err(err.clone()))) else {
        return INTERNAL_SERVER_ERROR;
    };
    ctx.vary_accept = LocConf::of(request)
        .options()
        .is_some_and(|t| t.template.may_negotiate());
    finish(request, send_error(request, ctx, &err, Sink::Top))
}

/// Ends a request answered from this phase; the phase engine does not
/// touch it again.
fn finish(request: Request, rc: ngx_int_t) -> ngx_int_t {
    request.finalize(rc);
    Status::NGX_DONE.0
}
