//! Variables for access logs: `$image_status`, `$image_error_code`,
//! `$image_original_bytes`, `$image_output_bytes`, `$image_original_size`
//! (`WxH`), `$image_process_ms`, and `$image_via` (the incoming `Via`
//! header with the module's loop-detection token appended, for
//! `proxy_set_header Via $image_via;`), and in the location named by
//! `image_endpoint_upstream`, `$image_source_url` and `$image_source_host`
//! (the absolute source an endpoint fetches).

use image_engine::endpoint::loops;

use crate::ctx::{RequestCtx, Stats};
use crate::nginx::{Config, Getter, Request};

/// Each variable and how to compute it.
const VARIABLES: &[(&str, Getter)] = &[
    ("image_status", |r| {
        stat(r, |s| s.status.map(|v| v.to_string()))
    }),
    ("image_error_code", |r| {
        stat(r, |s| s.error_code.map(|v| v.to_string()))
    }),
    ("image_original_bytes", |r| {
        stat(r, |s| s.original_bytes.map(|v| v.to_string()))
    }),
    ("image_output_bytes", |r| {
        stat(r, |s| s.output_bytes.map(|v| v.to_string()))
    }),
    ("image_original_size", |r| {
        stat(r, |s| s.original_size.map(|(w, h)| format!("{w}x{h}")))
    }),
    ("image_process_ms", |r| {
        stat(r, |s| s.process_ms.map(|v| v.to_string()))
    }),
    ("image_via", image_via),
    ("image_source_url", |r| source_url(r).map(|(url, _)| url)),
    ("image_source_host", |r| source_url(r).map(|(_, host)| host)),
];

/// Registers the variables (preconfiguration).
pub fn register(config: &Config) -> Result<(), ()> {
    for (name, get) in VARIABLES {
        config.add_variable(name, *get)?;
    }
    Ok(())
}

/// Statistics live on the main request's context.
fn stat(request: Request, read: fn(&Stats) -> Option<String>) -> Option<String> {
    request
        .main()
        .ctx::<RequestCtx>()
        .and_then(|ctx| read(&ctx.stats))
}

/// For an endpoint's fetch of an absolute URL (in the
/// `image_endpoint_upstream` location): the URL pinned to the checked
/// address, and the `Host` to send.
fn source_url(request: Request) -> Option<(String, String)> {
    let home = request.ctx::<RequestCtx>()?.fetch_for?;
    let state = home.ctx::<RequestCtx>()?.endpoint.as_ref()?;
    state.url.clone()
}

/// `$image_via`: the incoming `Via` with the module's hop appended (the
/// phase handler refuses a request that carries it: a loop).
fn image_via(request: Request) -> Option<String> {
    Some(String::from_utf8_lossy(&loops::via_with_token(request.header_in("Via"))).into_owned())
}
