//! Variables for access logs: `$image_status`, `$image_error_code`,
//! `$image_original_bytes`, `$image_output_bytes`, `$image_original_size`
//! (`WxH`), `$image_process_ms`, and `$image_via` (the incoming `Via`
//! header with the module's loop-detection token appended, for
//! `proxy_set_header Via $image_via;`), `$image_format` (the format
//! negotiated from `Accept`, for `proxy_cache_key`), and in the location
//! named by `image_endpoint_upstream`, `$image_source_url` and
//! `$image_source_host` (the absolute source an endpoint fetches).

use image_engine::endpoint::loops;

use crate::conf::LocConf;
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
    ("image_format", image_format),
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

/// `$image_format`: the format `format=auto` chose from `Accept` (`avif`,
/// `webp`...), empty when the original's format is kept. In a location
/// that does not transform (a `proxy_cache` in front of one), the choice
/// this location's `image_auto_formats` would make, for the cache key.
fn image_format(request: Request) -> Option<String> {
    let main = request.main();
    if let Some(ctx) = main.ctx::<RequestCtx>() {
        if let Ok(transform) = &ctx.transform {
            if transform.auto_format {
                return Some(
                    transform
                        .format
                        .map(|f| f.name().to_string())
                        .unwrap_or_default(),
                );
            }
        }
    }
    let conf = LocConf::of(request);
    let accept = request
        .header_in("Accept")
        .and_then(|v| std::str::from_utf8(v).ok());
    let chosen = conf
        .negotiation()
        .choose(accept, conf.policy.formats.as_deref());
    Some(chosen.map(|f| f.name().to_string()).unwrap_or_default())
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
