//! ngx_http_image_module: resizes, crops and converts images as nginx serves
//! them, on nginx thread pools so the event loop never waits.
//!
//! This file only registers the module. One request's life, top to bottom
//! (each layer only calls the ones below it):
//!
//! - entry points: `phase` (precontent checks), `endpoint` (the content
//!   handler of `image_endpoint`), `filter` (header and body
//!   filters: the state machine in `ctx`), `variables` (`$image_*`),
//!   `conf` (directives, merging);
//! - orchestration: `conditional` (headers kept from the origin,
//!   validators and `304`s per variant), `offload` (admission by `scheduler`, the `job` on a
//!   thread pool, cancel, completion), `options` (evaluating the option
//!   string), `fault` (test-only panics);
//! - outcome: `response` (what to send for a result, every response's
//!   headers), `error_caching` (Cache-Control of errors, backoff);
//! - per-request state: `ctx`, `job`;
//! - the FFI layer: `nginx` (the only code that touches nginx structures:
//!   `Request`, `Config`, `ThreadPool`, body chains, the failure zone).

mod allocator;
mod conditional;
mod conf;
mod ctx;
mod endpoint;
mod error_caching;
mod fault;
mod filter;
mod image_filter;
mod image_filter_reply;
mod job;
mod metrics;
mod nginx;
mod offload;
mod options;
mod phase;
mod response;
mod scheduler;
mod variables;

use std::ffi::c_void;
use std::ptr::{addr_of, null_mut};

use ngx::core::Status;
use ngx::ffi::{ngx_conf_t, ngx_http_module_t, ngx_int_t, ngx_module_t, NGX_HTTP_MODULE};

use crate::conf::{LocConf, MainConf};
use crate::nginx::{guard, Config};

/// Runs a configuration hook with the configuration nginx passed in.
fn with_config<T: Copy>(cf: *mut ngx_conf_t, fallback: T, f: impl FnOnce(&Config) -> T) -> T {
    guard(fallback, || {
        // SAFETY: nginx passes its live configuration to every hook, for the
        // duration of the call.
        match unsafe { Config::from_raw(cf) } {
            Some(config) => f(&config),
            None => fallback,
        }
    })
}

unsafe extern "C" fn create_loc_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    with_config(cf, null_mut(), |config| config.allocate(LocConf::default()))
}

unsafe extern "C" fn create_main_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    with_config(cf, null_mut(), |config| {
        // The counters of `image_status` are kept whether or not a
        // location serves them.
        if nginx::MetricsZone::add(config).is_err() {
            return null_mut();
        }
        config.allocate(MainConf::default())
    })
}

fn status(result: Result<(), ()>) -> ngx_int_t {
    match result {
        Ok(()) => Status::NGX_OK.0,
        Err(()) => Status::NGX_ERROR.0,
    }
}

unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    with_config(cf, Status::NGX_ERROR.0, |config| {
        status(variables::register(config))
    })
}

unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    with_config(cf, Status::NGX_ERROR.0, |config| {
        let result = config.add_precontent_handler(phase::handler);
        if result.is_ok() {
            nginx::install_filters(config, filter::header_filter, filter::body_filter);
        }
        status(result)
    })
}

static MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(preconfiguration),
    postconfiguration: Some(postconfiguration),
    create_main_conf: Some(create_main_conf),
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(create_loc_conf),
    merge_loc_conf: Some(conf::merge_loc_conf),
};

#[used]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_image_module: ngx_module_t = ngx_module_t {
    ctx: addr_of!(MODULE_CTX) as _,
    commands: addr_of!(conf::COMMANDS) as *mut _,
    type_: NGX_HTTP_MODULE as _,
    ..ngx_module_t::default()
};

// The module table nginx reads from a dynamic module. Written by hand rather
// than with `ngx_modules!` because a filter must also say where it goes:
// `ngx_module_order` places us before the copy filter, as nginx's own build
// does for filter modules, so static files reach our body filter as memory
// buffers instead of sendfile descriptors. When nginx's own build system
// links the module (`config`), it generates this table with the same order.
#[cfg(not(feature = "nginx-build-system"))]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_modules: [*const ngx_module_t; 2] =
    [addr_of!(ngx_http_image_module), std::ptr::null()];

#[cfg(not(feature = "nginx-build-system"))]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_names: [*const std::ffi::c_char; 2] =
    [c"ngx_http_image_module".as_ptr(), std::ptr::null()];

#[cfg(not(feature = "nginx-build-system"))]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_order: [*const std::ffi::c_char; 3] = [
    c"ngx_http_image_module".as_ptr(),
    c"ngx_http_copy_filter_module".as_ptr(),
    std::ptr::null(),
];
