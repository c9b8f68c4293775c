//! Directives and their per-location configuration.
//!
//! | directive | default | contexts |
//! |---|---|---|
//! | `image_transform OPTIONS \| off` | off | http, server, location |
//! | `image_buffer SIZE` | 100m | http, server, location |
//! | `image_thread_pool NAME \| off` | default | http, server, location |

use std::ffi::{c_char, c_void};
use std::mem::offset_of;
use std::ptr;

use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_set_size_slot, ngx_conf_t, ngx_http_compile_complex_value,
    ngx_http_compile_complex_value_t, ngx_http_complex_value_t, ngx_pcalloc, ngx_str_t,
    ngx_thread_pool_add, ngx_thread_pool_t, ngx_uint_t, NGX_CONF_TAKE1, NGX_HTTP_LOC_CONF,
    NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF, NGX_HTTP_SRV_CONF, NGX_LOG_EMERG,
};
use ngx::{ngx_conf_log_error, ngx_string};

use crate::util::{guard, str_bytes};

/// nginx's "not set" marker for size settings (NGX_CONF_UNSET_SIZE).
const UNSET_SIZE: usize = usize::MAX;

/// `image_buffer` default: Cloudflare's 100 MB limit on originals.
const DEFAULT_BUFFER_SIZE: usize = 100 * 1024 * 1024;

/// `image_transform`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum TransformConf {
    #[default]
    Unset,
    Off,
    /// The option string, compiled once; may contain variables.
    Options(*mut ngx_http_complex_value_t),
}

/// `image_thread_pool`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum ThreadPoolConf {
    #[default]
    Unset,
    /// Work runs inline on the event loop (for debugging only).
    Off,
    Pool(*mut ngx_thread_pool_t),
}

#[derive(Debug)]
pub struct LocConf {
    pub transform: TransformConf,
    /// Filled by nginx's own size parser through `offset_of!`.
    pub buffer_size: usize,
    pub thread_pool: ThreadPoolConf,
}

impl Default for LocConf {
    fn default() -> Self {
        LocConf {
            transform: TransformConf::Unset,
            buffer_size: UNSET_SIZE,
            thread_pool: ThreadPoolConf::Unset,
        }
    }
}

impl LocConf {
    /// The option string to evaluate for this location, if it transforms.
    pub fn options(&self) -> Option<*mut ngx_http_complex_value_t> {
        match self.transform {
            TransformConf::Options(cv) => Some(cv),
            _ => None,
        }
    }

    /// Inherits what this level leaves unset and fills in the defaults.
    /// A location that transforms gets the `default` thread pool unless told
    /// otherwise; registering it here (not for every location) keeps nginx
    /// from starting pool threads that nothing uses.
    fn merge(&mut self, prev: &LocConf, cf: *mut ngx_conf_t) -> Result<(), ()> {
        if self.transform == TransformConf::Unset {
            self.transform = prev.transform;
        }
        if self.buffer_size == UNSET_SIZE {
            self.buffer_size = if prev.buffer_size == UNSET_SIZE {
                DEFAULT_BUFFER_SIZE
            } else {
                prev.buffer_size
            };
        }
        if self.thread_pool == ThreadPoolConf::Unset {
            self.thread_pool = prev.thread_pool;
        }
        if self.thread_pool == ThreadPoolConf::Unset && self.options().is_some() {
            // SAFETY: cf is the live configuration being merged; a null name
            // means nginx's implicit "default" pool.
            let pool = unsafe { ngx_thread_pool_add(cf, ptr::null_mut()) };
            if pool.is_null() {
                return Err(());
            }
            self.thread_pool = ThreadPoolConf::Pool(pool);
        }
        Ok(())
    }
}

/// `merge_loc_conf` hook.
pub unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    guard(NGX_CONF_ERROR, || {
        // SAFETY: nginx passes the two LocConf values created by
        // create_loc_conf for the parent and this level.
        let (prev, conf) = unsafe { (&*(prev as *const LocConf), &mut *(conf as *mut LocConf)) };
        match conf.merge(prev, cf) {
            Ok(()) => NGX_CONF_OK,
            Err(()) => NGX_CONF_ERROR,
        }
    })
}

/// The directive's first argument.
///
/// # Safety
/// `cf` must be the live configuration of a directive with one argument.
unsafe fn first_arg(cf: *mut ngx_conf_t) -> *mut ngx_str_t {
    // SAFETY: cf->args holds the directive name followed by its arguments;
    // NGX_CONF_TAKE1 guarantees the second element exists.
    unsafe { ((*(*cf).args).elts as *mut ngx_str_t).add(1) }
}

extern "C" fn set_transform(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    guard(NGX_CONF_ERROR, || {
        // SAFETY: `conf` is this module's LocConf at the current level and
        // cf is live for the duration of the call.
        unsafe {
            let conf = &mut *(conf as *mut LocConf);
            if conf.transform != TransformConf::Unset {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            let value = first_arg(cf);
            if str_bytes(&*value) == b"off" {
                conf.transform = TransformConf::Off;
                return NGX_CONF_OK;
            }
            let cv = ngx_pcalloc((*cf).pool, size_of::<ngx_http_complex_value_t>())
                as *mut ngx_http_complex_value_t;
            if cv.is_null() {
                return NGX_CONF_ERROR;
            }
            let mut ccv: ngx_http_compile_complex_value_t = std::mem::zeroed();
            ccv.cf = cf;
            ccv.value = value;
            ccv.complex_value = cv;
            if ngx_http_compile_complex_value(&mut ccv) != 0 {
                return NGX_CONF_ERROR;
            }
            conf.transform = TransformConf::Options(cv);
            NGX_CONF_OK
        }
    })
}

extern "C" fn set_thread_pool(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    guard(NGX_CONF_ERROR, || {
        // SAFETY: as in set_transform.
        unsafe {
            let conf = &mut *(conf as *mut LocConf);
            if conf.thread_pool != ThreadPoolConf::Unset {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            let name = first_arg(cf);
            if str_bytes(&*name) == b"off" {
                conf.thread_pool = ThreadPoolConf::Off;
                return NGX_CONF_OK;
            }
            // Registers the name; nginx itself reports an unknown pool
            // ("unknown thread pool") once the whole configuration is read.
            let pool = ngx_thread_pool_add(cf, name);
            if pool.is_null() {
                ngx_conf_log_error!(NGX_LOG_EMERG, cf, "cannot use thread pool \"{}\"", (*name));
                return NGX_CONF_ERROR;
            }
            conf.thread_pool = ThreadPoolConf::Pool(pool);
            NGX_CONF_OK
        }
    })
}

const CONTEXTS: ngx_uint_t =
    (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF) as ngx_uint_t;

/// The directive table, in the order of the documentation.
pub static mut COMMANDS: [ngx_command_t; 4] = [
    ngx_command_t {
        name: ngx_string!("image_transform"),
        type_: CONTEXTS | NGX_CONF_TAKE1 as ngx_uint_t,
        set: Some(set_transform),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: 0,
        post: ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("image_buffer"),
        type_: CONTEXTS | NGX_CONF_TAKE1 as ngx_uint_t,
        set: Some(ngx_conf_set_size_slot),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: offset_of!(LocConf, buffer_size),
        post: ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("image_thread_pool"),
        type_: CONTEXTS | NGX_CONF_TAKE1 as ngx_uint_t,
        set: Some(set_thread_pool),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: 0,
        post: ptr::null_mut(),
    },
    ngx_command_t::empty(),
];
