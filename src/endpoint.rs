//! The content handler of `image_endpoint`: `PREFIX/OPTIONS/SOURCE`, as
//! Cloudflare serves `/cdn-cgi/image/width=80/uploads/a.jpg`.
//!
//! The URL is taken apart by the engine (`endpoint::split`), the options
//! are parsed and checked as `image_transform`'s are, and the original is
//! fetched by a **subrequest** to this server: for a path SOURCE the path
//! itself, for an absolute URL the `image_endpoint_upstream` location, once
//! the host is allowed and its addresses (looked up with nginx's
//! `resolver`) are checked. So
//! whatever location serves the original (static files, `proxy_pass` with
//! its upstreams, timeouts, TLS, keep-alive) does the fetching; the module
//! never speaks HTTP to an origin itself.
//!
//! Why this shape: the subrequest's response passes through the module's
//! own header and body filters, which find the endpoint's options on the
//! subrequest's context (`fetch_for`) and run exactly the steps of a
//! transformed response of the filter phase — status mapping, size limits,
//! the thread pool, `onerror`, fallback, error caching. A second copy of
//! that path for the content phase would drift from the first. What
//! differs is only where the outcome goes: the subrequest adopts nothing
//! into the client's response body (nginx sends no header for a
//! subrequest); its response headers are adopted by this request
//! (`adopt_headers_out`), the response is prepared on it, and this
//! request sends it once the subrequest is finalized (`resume`), from the
//! top of the filter chain like any content handler. Reading the original
//! in memory with `NGX_HTTP_SUBREQUEST_IN_MEMORY` instead would only work
//! for proxied locations and would bypass the filters.
//!
//! ```text
//! handler ─► method, loop, URL, options checked (refusals answered here)
//!         ─► fetch = subrequest(SOURCE), anonymised headers ─► NGX_DONE
//! fetch's header filter ─► redirect: Outcome::Redirect
//!                       └► adopted ─► filter steps ─► Outcome::Ready
//! resume (fetch finalized) ─► Ready: send │ Redirect: next fetch or 9420/9421
//! ```

use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image_engine::endpoint::{self, headers, loops, redirect, Source};
use image_engine::{Error, ErrorKind};
use ngx::core::Status;
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR};

use crate::conf::LocConf;
use crate::ctx::{EndpointState, Outcome, RequestCtx, State};
use crate::nginx::{guard, Lookup, Request, Sink};
use crate::response::send_error;

const INTERNAL_SERVER_ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

/// The content handler nginx calls for a request to an `image_endpoint`
/// location.
pub unsafe extern "C" fn handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(INTERNAL_SERVER_ERROR, || {
        // SAFETY: nginx calls content handlers with a live request.
        match unsafe { Request::from_raw(r) } {
            Some(request) => serve(request),
            None => INTERNAL_SERVER_ERROR,
        }
    })
}

/// The endpoint request's write handler while its fetch runs: nginx calls
/// it when the finalized fetch wakes its parent.
unsafe extern "C" fn resume_handler(r: *mut ngx_http_request_t) {
    guard((), || {
        // SAFETY: nginx calls write handlers with a live request.
        if let Some(request) = unsafe { Request::from_raw(r) } {
            if catch_unwind(AssertUnwindSafe(|| resume(request))).is_err() {
                // The request was retained for this module to end: a panic
                // must still end it (500, or a closed connection once the
                // response has started), or it would hang.
                let _ = catch_unwind(AssertUnwindSafe(|| resume_failed(request)));
            }
        }
    })
}

/// Ends an endpoint request whose completion panicked.
fn resume_failed(request: Request) {
    let rc = match request.ctx::<RequestCtx>() {
        Some(ctx) if !request.header_sent() => {
            let err = Error::new(ErrorKind::Internal, "the image engine failed unexpectedly");
            send_error(request, ctx, &err, Sink::Top)
        }
        _ => Status::NGX_ERROR.0,
    };
    if rc == Status::NGX_ERROR.0 {
        request.set_connection_error();
    }
    request.finalize(rc);
}

fn serve(request: Request) -> ngx_int_t {
    if !request.is_main() {
        // An endpoint's fetch reached another endpoint location (its SOURCE
        // is an endpoint URL with another prefix): a loop, like a nested URL
        // under the same prefix.
        return match request.ctx::<RequestCtx>() {
            Some(ctx) if ctx.fetch_for.is_some() => {
                let err = loops::loop_error("the source is itself an endpoint URL");
                send_error(request, ctx, &err, Sink::Next)
            }
            // Another module's subrequest (an SSI include): the endpoint
            // answers client requests only; nginx's other content handlers
            // (static files) get it.
            _ => Status::NGX_DECLINED.0,
        };
    }
    if request.ctx::<RequestCtx>().is_some() {
        // Woken through the phase engine instead of `resume_handler`.
        return Status::NGX_DONE.0;
    }
    let Some(ctx) = request.attach_ctx(RequestCtx::new(
        String::new(),
        Err(Error::new(ErrorKind::Internal, "not parsed yet")),
    )) else {
        return INTERNAL_SERVER_ERROR;
    };
    ctx.state = State::PassThrough;
    // A body is never needed: it is read and dropped as it arrives (never
    // held in memory), so the connection stays usable.
    if !request.discard_body() {
        return INTERNAL_SERVER_ERROR;
    }
    let source = match admit(request, ctx) {
        Ok(source) => source,
        Err(err) => return send_error(request, ctx, &err, Sink::Top),
    };
    // From here the request is ended by this module (`finalize`), not by
    // the phase engine: a lookup may even answer before `fetch` returns.
    request.set_write_handler(resume_handler);
    request.retain();
    if let Err(err) = fetch(request, ctx, source) {
        let rc = send_error(request, ctx, &err, Sink::Top);
        request.finalize(rc);
    }
    Status::NGX_DONE.0
}

/// The checks made before anything is fetched: method, loop, URL, options.
/// On success the options are on `ctx` and the source is returned.
fn admit(request: Request, ctx: &mut RequestCtx) -> Result<Source, Error> {
    if !request.is_get_or_head() {
        return Err(Error::new(
            ErrorKind::MethodNotAllowed,
            "only GET and HEAD requests can be transformed",
        ));
    }
    if request.header_in("Via").is_some_and(loops::via_has_token) {
        return Err(loops::loop_error(
            "the request came back to the image module (Via)",
        ));
    }
    let conf = LocConf::of(request);
    let prefix = conf.endpoint.as_deref().unwrap_or("/");
    let parts = endpoint::split(prefix, request.unparsed_uri())?;
    ctx.options = parts.options.clone();
    let mut transform = image_engine::parse(&parts.options)
        .and_then(|t| conf.policy.check(&parts.options, &t).map(|()| t))
        .map(|mut t| {
            t.format_qualities = conf.format_qualities;
            t
        })?;
    // format=auto is settled from the client's Accept, as in the filter
    // phase; the response then varies on it.
    let accept = request
        .header_in("Accept")
        .and_then(|v| std::str::from_utf8(v).ok());
    ctx.vary_accept = transform.auto_format;
    conf.negotiation()
        .settle(&mut transform, accept, conf.policy.formats.as_deref());
    ctx.transform = Ok(transform);
    // Compared with the variant's validator once the original's header
    // arrives (the fetch itself never carries it).
    ctx.if_none_match = request
        .header_in("If-None-Match")
        .map(|value| String::from_utf8_lossy(value).into_owned());
    Ok(parts.source)
}

/// Starts fetching `source`: a path at once, an absolute URL once its
/// host is allowed and its address checked — after a lookup with nginx's
/// `resolver` for a name. Returns when the fetch (or the lookup) is under
/// way; the request is woken when the fetch is finalized.
fn fetch(request: Request, ctx: &mut RequestCtx, source: Source) -> Result<(), Error> {
    let conf = LocConf::of(request);
    let url = match &source {
        Source::Path(path) => {
            let (uri, args) = (path.uri.clone(), path.args.clone());
            return start_subrequest(request, ctx, source, &uri, args.as_deref(), None);
        }
        Source::Url(url) => url.clone(),
    };
    match conf.endpoint_rules.admit(&url)? {
        endpoint::UrlAdmission::Connect(ip) => fetch_url(request, ctx, source, ip),
        endpoint::UrlAdmission::Resolve(host) => {
            set_state(ctx, source, None, None);
            request.resolve(&host, resolved).map_err(|_| {
                Error::new(
                    ErrorKind::DnsFailure,
                    format!(
                        "the source host \"{host}\" cannot be looked up: no resolver is configured"
                    ),
                )
            })
        }
    }
}

/// The lookup of an absolute source's host is over: check every address
/// (no private address through a DNS answer), then fetch from the first.
fn resolved(request: Request, lookup: Lookup) {
    let Some(ctx) = request.ctx::<RequestCtx>() else {
        return;
    };
    let Some(Source::Url(url)) = ctx.endpoint.as_ref().map(|state| state.source.clone()) else {
        return;
    };
    let rules = &LocConf::of(request).endpoint_rules;
    let result = match lookup {
        Ok(addresses) => rules
            .check_resolved(&url, &addresses)
            .and_then(|ip| fetch_url(request, ctx, Source::Url(url), ip)),
        Err(state) => Err(endpoint::lookup_error(url.host(), state)),
    };
    if let Err(err) = result {
        let rc = send_error(request, ctx, &err, Sink::Top);
        request.finalize(rc);
    }
}

/// Fetches an absolute source from the checked address `ip` through the
/// `image_endpoint_upstream` location.
fn fetch_url(
    request: Request,
    ctx: &mut RequestCtx,
    source: Source,
    ip: IpAddr,
) -> Result<(), Error> {
    let Source::Url(url) = &source else {
        return Err(Error::new(ErrorKind::Internal, "not an absolute source"));
    };
    let Some(upstream) = LocConf::of(request).endpoint_upstream.clone() else {
        return Err(Error::new(
            ErrorKind::SourceNotAllowed,
            "absolute source URLs need image_endpoint_upstream",
        ));
    };
    let host = url.host_header();
    let pinned = Some((url.pinned_to(ip), host.clone()));
    start_subrequest(request, ctx, source, &upstream, None, Some((&host, pinned)))
}

/// Starts the subrequest for `uri` whose response the module's filters
/// transform with this request's options; `url` carries the `Host` and the
/// pinned URL of an absolute source.
fn start_subrequest(
    request: Request,
    ctx: &mut RequestCtx,
    source: Source,
    uri: &str,
    args: Option<&str>,
    url: Option<(&str, Option<(String, String)>)>,
) -> Result<(), Error> {
    let conf = LocConf::of(request);
    let Some(sub) = request.subrequest(uri.as_bytes(), args.map(str::as_bytes)) else {
        return Err(Error::new(
            ErrorKind::Internal,
            "could not start the fetch of the original",
        ));
    };
    let client = request.headers_in();
    let origin = headers::origin_headers(&client, conf.endpoint_rules.pass_credentials);
    let origin: Vec<(&str, &[u8])> = origin.iter().map(|h| (h.name, h.value.as_ref())).collect();
    let (host, pinned) = match url {
        Some((host, pinned)) => (Some(host.as_bytes()), pinned),
        None => (None, None),
    };
    sub.replace_headers_in(host, &origin)
        .map_err(|_| Error::new(ErrorKind::Internal, "could not set the fetch's headers"))?;
    let mut fetch_ctx = RequestCtx::new(ctx.options.clone(), ctx.transform.clone());
    fetch_ctx.fetch_for = Some(request);
    fetch_ctx.vary_accept = ctx.vary_accept;
    fetch_ctx.if_none_match = ctx.if_none_match.clone();
    if sub.attach_ctx(fetch_ctx).is_none() {
        return Err(Error::new(ErrorKind::Internal, "out of memory"));
    }
    set_state(ctx, source, Some(sub), pinned);
    Ok(())
}

/// Records what is being fetched now.
fn set_state(
    ctx: &mut RequestCtx,
    source: Source,
    fetch: Option<Request>,
    url: Option<(String, String)>,
) {
    match ctx.endpoint.as_mut() {
        Some(state) => {
            state.source = source;
            state.url = url;
            state.fetch = fetch;
            state.outcome = None;
        }
        None => {
            ctx.endpoint = Some(Box::new(EndpointState {
                source,
                fetch,
                redirects: 0,
                url,
                outcome: None,
            }))
        }
    }
}

/// The fetch is finalized: send what it prepared, or follow its redirect.
fn resume(request: Request) {
    let Some(ctx) = request.ctx::<RequestCtx>() else {
        return;
    };
    if crate::fault::requested(request) == Some(crate::fault::Fault::Endpoint)
        && ctx.endpoint.as_ref().is_some_and(|s| s.outcome.is_some())
    {
        panic!("fault injected in the endpoint's completion");
    }
    let Some(state) = ctx.endpoint.as_mut() else {
        return;
    };
    if !state.fetch.is_some_and(Request::is_done) {
        // Woken by a write event while the fetch still runs.
        return;
    }
    let rc = match state.outcome.take() {
        Some(Outcome::Ready) => request.send_response(&ctx.output, Sink::Top),
        Some(Outcome::Redirect(status, location)) => {
            let conf = LocConf::of(request);
            let prefix = conf.endpoint.as_deref().unwrap_or("/");
            let rules = conf.endpoint_rules.redirects(prefix);
            let next =
                redirect::follow(&state.source, location.as_deref(), state.redirects, &rules)
                    .map_err(|err| {
                        Error::new(err.kind, format!("{} (after a {status})", err.message))
                    });
            state.redirects += 1;
            match next.and_then(|source| fetch(request, ctx, source)) {
                // The next fetch wakes this request again.
                Ok(()) => return,
                Err(err) => send_error(request, ctx, &err, Sink::Top),
            }
        }
        None => {
            let err = Error::new(ErrorKind::Internal, "the fetch ended without a response");
            send_error(request, ctx, &err, Sink::Top)
        }
    };
    request.finalize(rc);
}
