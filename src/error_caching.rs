//! The `Cache-Control` policy for error responses: never cache transient
//! failures; cache the permanent-looking ones with exponential backoff per
//! request key (Cloudinary's cached-40x behaviour), counted across workers
//! in the `image_error_zone`. A success resets the key.

use image_engine::backoff::{hash_key, max_age};
use image_engine::http::caching::{error_cache_control, error_scope};
use image_engine::http::{CacheControl, ErrorScope};
use image_engine::Error;

use crate::conf::{LocConf, MainConf};
use crate::ctx::RequestCtx;
use crate::nginx::Request;

/// The `Cache-Control` value for an error response. Never looser than the
/// origin's answer: `no-store` stays `no-store`, `private` (or an answer to
/// a request with credentials) stays private, and an origin's shorter
/// `max-age` wins over the backoff.
pub fn for_error(request: Request, ctx: &RequestCtx, err: &Error) -> String {
    let origin = request
        .header_out("Cache-Control")
        .map(|v| CacheControl::parse(&String::from_utf8_lossy(v)))
        .unwrap_or_default();
    let scope = error_scope(err.kind, &origin, has_credentials(request));
    if scope == ErrorScope::NoStore {
        return "no-store".into();
    }
    let conf = LocConf::of(request);
    let (min, max) = conf.ttl();
    let failures = match MainConf::of(request).error_zone {
        Some(zone) => zone.record_failure(key(request, ctx, conf), min, max),
        None => 1,
    };
    error_cache_control(scope, max_age(failures, min, max), &origin)
}

/// Whether the request carries a user's credentials: what the origin
/// answers it must not be shared unless the origin says it is public.
pub fn has_credentials(request: Request) -> bool {
    request.header_in("Authorization").is_some() || request.header_in("Cookie").is_some()
}

/// A success: the key's failures are forgotten.
pub fn record_success(request: Request, ctx: &RequestCtx) {
    if let Some(zone) = MainConf::of(request).error_zone {
        zone.record_success(key(request, ctx, LocConf::of(request)));
    }
}

/// The request's backoff key: `image_error_key` if set, else the
/// normalised URI and the evaluated options.
fn key(request: Request, ctx: &RequestCtx, conf: &LocConf) -> u64 {
    if let Some(cv) = conf.error_key {
        if let Some(text) = request.evaluate(cv) {
            if std::str::from_utf8(text).is_ok() {
                return hash_key(text);
            }
        }
    }
    let mut key = request.uri().to_vec();
    key.push(b'?');
    key.extend_from_slice(ctx.options.as_bytes());
    hash_key(&key)
}
