//! The module's configuration: what each location says, how levels
//! inherit, and the defaults. The directive table and its parsers live in
//! `directives.rs`.

mod directives;

use std::ffi::{c_char, c_void};
use std::ptr;

use image_engine::{Limits, Policy};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_conf_t, ngx_http_complex_value_t, ngx_msec_t, ngx_shm_zone_t, ngx_thread_pool_add,
    ngx_thread_pool_t,
};

pub use directives::COMMANDS;

use crate::util::guard;

/// nginx's "not set" markers (NGX_CONF_UNSET_SIZE, _UNSET, _UNSET_MSEC).
const UNSET_SIZE: usize = usize::MAX;
const UNSET_NUM: isize = -1;
const UNSET_MSEC: ngx_msec_t = ngx_msec_t::MAX;

/// `image_buffer` default: Cloudflare's 100 MB limit on originals.
const DEFAULT_BUFFER_SIZE: usize = 100 * 1024 * 1024;
/// `image_timeout` default: Imagizer's backend timeout.
const DEFAULT_TIMEOUT_MS: ngx_msec_t = 10_000;
/// `image_max_queue` default.
const DEFAULT_MAX_QUEUE: isize = 64;
/// `image_error_ttl` defaults: one minute, doubling up to a day.
const DEFAULT_TTL_MIN: u32 = 60;
const DEFAULT_TTL_MAX: u32 = 86_400;

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

/// `image_fallback FILE [STATUS]`: a placeholder image read once at
/// configuration time.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub image: std::sync::Arc<Vec<u8>>,
    pub format: image_engine::ImageFormat,
    /// 0: keep the error's status.
    pub status: u16,
}

#[derive(Debug)]
pub struct LocConf {
    pub transform: TransformConf,
    /// The fields below marked "slot" are filled by nginx's own parsers
    /// through `offset_of!`, so they keep nginx's types and unset markers.
    pub buffer_size: usize, // slot
    pub thread_pool: ThreadPoolConf,
    pub max_pixels: isize,             // slot
    pub max_side: isize,               // slot
    pub max_animation_pixels: isize,   // slot
    pub max_output_pixels: isize,      // slot
    pub max_avif_output_pixels: isize, // slot
    pub timeout: ngx_msec_t,           // slot
    pub max_concurrency: isize,        // slot
    pub max_queue: isize,              // slot
    /// `image_params_allowed` / `image_formats_allowed` (`None`: unset).
    pub policy: Policy,
    /// (min, max) seconds; `None` while unset.
    pub error_ttl: Option<(u32, u32)>,
    pub error_key: Option<*mut ngx_http_complex_value_t>,
    /// `Some(None)` is an explicit `image_fallback off`.
    pub fallback: Option<Option<Fallback>>,
}

impl Default for LocConf {
    fn default() -> Self {
        LocConf {
            transform: TransformConf::Unset,
            buffer_size: UNSET_SIZE,
            thread_pool: ThreadPoolConf::Unset,
            max_pixels: UNSET_NUM,
            max_side: UNSET_NUM,
            max_animation_pixels: UNSET_NUM,
            max_output_pixels: UNSET_NUM,
            max_avif_output_pixels: UNSET_NUM,
            timeout: UNSET_MSEC,
            max_concurrency: UNSET_NUM,
            max_queue: UNSET_NUM,
            policy: Policy::default(),
            error_ttl: None,
            error_key: None,
            fallback: None,
        }
    }
}

/// `http`-level configuration.
#[derive(Debug, Default)]
pub struct MainConf {
    /// `image_error_zone`: where repeated failures are counted.
    pub error_zone: Option<*mut ngx_shm_zone_t>,
}

impl LocConf {
    /// The option string to evaluate for this location, if it transforms.
    pub fn options(&self) -> Option<*mut ngx_http_complex_value_t> {
        match self.transform {
            TransformConf::Options(cv) => Some(cv),
            _ => None,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels as u64,
            max_side: self.max_side as u32,
            max_animation_pixels: self.max_animation_pixels as u64,
            max_output_pixels: self.max_output_pixels as u64,
            max_avif_output_pixels: self.max_avif_output_pixels as u64,
        }
    }

    pub fn ttl(&self) -> (u32, u32) {
        self.error_ttl.unwrap_or((DEFAULT_TTL_MIN, DEFAULT_TTL_MAX))
    }

    pub fn fallback(&self) -> Option<&Fallback> {
        self.fallback.as_ref().and_then(Option::as_ref)
    }

    /// Inherits what this level leaves unset and fills in the defaults.
    /// A location that transforms gets the `default` thread pool unless told
    /// otherwise; registering it here (not for every location) keeps nginx
    /// from starting pool threads that nothing uses.
    fn merge(&mut self, prev: &LocConf, cf: *mut ngx_conf_t) -> Result<(), ()> {
        let defaults = Limits::default();
        if self.transform == TransformConf::Unset {
            self.transform = prev.transform;
        }
        merge(
            &mut self.buffer_size,
            prev.buffer_size,
            UNSET_SIZE,
            DEFAULT_BUFFER_SIZE,
        );
        merge(
            &mut self.max_pixels,
            prev.max_pixels,
            UNSET_NUM,
            defaults.max_pixels as isize,
        );
        merge(
            &mut self.max_side,
            prev.max_side,
            UNSET_NUM,
            defaults.max_side as isize,
        );
        merge(
            &mut self.max_animation_pixels,
            prev.max_animation_pixels,
            UNSET_NUM,
            defaults.max_animation_pixels as isize,
        );
        merge(
            &mut self.max_output_pixels,
            prev.max_output_pixels,
            UNSET_NUM,
            defaults.max_output_pixels as isize,
        );
        merge(
            &mut self.max_avif_output_pixels,
            prev.max_avif_output_pixels,
            UNSET_NUM,
            defaults.max_avif_output_pixels as isize,
        );
        merge(
            &mut self.timeout,
            prev.timeout,
            UNSET_MSEC,
            DEFAULT_TIMEOUT_MS,
        );
        // 0 means "as many as the pool has threads", known only at run time.
        merge(
            &mut self.max_concurrency,
            prev.max_concurrency,
            UNSET_NUM,
            0,
        );
        merge(
            &mut self.max_queue,
            prev.max_queue,
            UNSET_NUM,
            DEFAULT_MAX_QUEUE,
        );
        if self.policy.params.is_none() {
            self.policy.params = prev.policy.params.clone();
        }
        if self.policy.formats.is_none() {
            self.policy.formats = prev.policy.formats.clone();
        }
        if self.error_ttl.is_none() {
            self.error_ttl = prev.error_ttl;
        }
        if self.error_key.is_none() {
            self.error_key = prev.error_key;
        }
        if self.fallback.is_none() {
            self.fallback = prev.fallback.clone();
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

/// `ngx_conf_merge_*_value`: this level's value, else the parent's, else
/// the default.
fn merge<T: Copy + PartialEq>(value: &mut T, prev: T, unset: T, default: T) {
    if *value == unset {
        *value = if prev == unset { default } else { prev };
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
