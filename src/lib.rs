//! ngx_http_image_module: resizes, crops and converts images as nginx serves
//! them, on nginx thread pools so the event loop never waits.
//!
//! This file only registers the module; each concern has its own file:
//! `conf` (directives), `phase` (early checks), `filter` (header and body
//! filters), `task` (thread-pool offload), `response` (what we send),
//! `options` (evaluating the option string), `ctx` (per-request state).

mod backoff;
mod cache;
mod conf;
mod ctx;
mod fault;
mod filter;
mod options;
mod phase;
mod response;
mod scheduler;
mod task;
mod util;
mod variables;

use std::ffi::c_void;
use std::ptr::{addr_of, null_mut};

use ngx::core::Pool;
use ngx::ffi::{
    ngx_array_push, ngx_conf_t, ngx_http_conf_ctx_t, ngx_http_core_main_conf_t,
    ngx_http_core_module, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_PRECONTENT_PHASE, ngx_int_t, ngx_module_t, NGX_HTTP_MODULE,
};

use crate::conf::{LocConf, MainConf};
use crate::util::guard;

const NGX_OK: ngx_int_t = 0;
const NGX_ERROR: ngx_int_t = -1;

unsafe extern "C" fn create_loc_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    guard(null_mut(), || {
        // SAFETY: cf is live during configuration; the pool drops the value.
        let pool = unsafe { Pool::from_ngx_pool((*cf).pool) };
        pool.allocate(LocConf::default()) as *mut c_void
    })
}

unsafe extern "C" fn create_main_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    guard(null_mut(), || {
        // SAFETY: as in create_loc_conf.
        let pool = unsafe { Pool::from_ngx_pool((*cf).pool) };
        pool.allocate(MainConf::default()) as *mut c_void
    })
}

unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: called once by nginx with the http configuration.
        match unsafe { variables::register(cf) } {
            Ok(()) => NGX_OK,
            Err(()) => NGX_ERROR,
        }
    })
}

unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: called once by nginx with the http configuration; the
        // core module's main conf exists at this point.
        unsafe {
            let http_ctx = (*cf).ctx as *mut ngx_http_conf_ctx_t;
            let cmcf = *(*http_ctx).main_conf.add(ngx_http_core_module.ctx_index)
                as *mut ngx_http_core_main_conf_t;
            let phase = &mut (*cmcf).phases[ngx_http_phases_NGX_HTTP_PRECONTENT_PHASE as usize];
            let h = ngx_array_push(&mut phase.handlers) as *mut ngx_http_handler_pt;
            if h.is_null() {
                return NGX_ERROR;
            }
            *h = Some(phase::handler);
            filter::install();
        }
        NGX_OK
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
