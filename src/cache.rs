//! How long caches may keep an error: never for transient failures, and
//! with exponential backoff per request key for the permanent-looking ones
//! (Cloudinary's cached-40x behaviour). A success resets the key.

use image_engine::backoff::{hash_key, max_age};
use image_engine::Error;
use ngx::ffi::ngx_http_request_t;

use crate::conf::{LocConf, MainConf};
use crate::ctx::RequestCtx;
use crate::ngx_http_image_module;
use crate::util::{loc_conf, main_conf, str_bytes};
use crate::{backoff, options};

/// The `Cache-Control` value for an error response.
///
/// # Safety
/// `r` must be the live request owning `ctx`.
pub unsafe fn for_error(r: *mut ngx_http_request_t, ctx: &RequestCtx, err: &Error) -> String {
    if err.kind.is_transient() {
        return "no-store".into();
    }
    // SAFETY: r is live; its configuration and the zone outlive it.
    unsafe {
        let conf: &LocConf = loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));
        let (min, max) = conf.ttl();
        let failures = match zone(r) {
            Some(zone) => backoff::record_failure(zone, key(r, ctx, conf)),
            None => 1,
        };
        format!("public, max-age={}", max_age(failures, min, max))
    }
}

/// A success: the key's failures are forgotten.
///
/// # Safety
/// `r` must be the live request owning `ctx`.
pub unsafe fn record_success(r: *mut ngx_http_request_t, ctx: &RequestCtx) {
    // SAFETY: as in for_error.
    unsafe {
        if let Some(zone) = zone(r) {
            let conf: &LocConf = loc_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));
            backoff::record_success(zone, key(r, ctx, conf));
        }
    }
}

/// # Safety
/// `r` must be live.
unsafe fn zone(r: *mut ngx_http_request_t) -> Option<*mut ngx::ffi::ngx_shm_zone_t> {
    // SAFETY: the main conf exists in every http request.
    unsafe {
        let main: &MainConf = main_conf(r, &*std::ptr::addr_of!(ngx_http_image_module));
        main.error_zone
    }
}

/// The request's backoff key: `image_error_key` if set, else the
/// normalised URI and the evaluated options.
///
/// # Safety
/// `r` must be live.
unsafe fn key(r: *mut ngx_http_request_t, ctx: &RequestCtx, conf: &LocConf) -> u64 {
    // SAFETY: r is live; cv was compiled at configuration.
    unsafe {
        if let Some(cv) = conf.error_key {
            if let Ok(text) = options::value(r, cv) {
                return hash_key(text.as_bytes());
            }
        }
        let mut key = str_bytes(&(*r).uri).to_vec();
        key.push(b'?');
        key.extend_from_slice(ctx.options.as_bytes());
        hash_key(&key)
    }
}
