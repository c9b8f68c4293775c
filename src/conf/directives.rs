//! The directive table and the parsers that nginx's stock slot setters do
//! not cover. Each parser reports a bad value with the value itself.

use std::ffi::{c_char, c_void};
use std::mem::offset_of;
use std::ptr;

use image_engine::policy::{canonical_name, format_by_name};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_full_name, ngx_conf_set_msec_slot, ngx_conf_set_num_slot,
    ngx_conf_set_size_slot, ngx_conf_t, ngx_http_compile_complex_value,
    ngx_http_compile_complex_value_t, ngx_http_complex_value_t, ngx_parse_size, ngx_parse_time,
    ngx_pcalloc, ngx_str_t, ngx_thread_pool_add, ngx_uint_t, NGX_CONF_1MORE, NGX_CONF_TAKE1,
    NGX_CONF_TAKE12, NGX_CONF_TAKE2, NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET,
    NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET, NGX_HTTP_SRV_CONF, NGX_LOG_EMERG,
};
use ngx::{ngx_conf_log_error, ngx_string};

use super::{Fallback, LocConf, MainConf, ThreadPoolConf, TransformConf};
use crate::backoff;
use crate::util::{guard, str_bytes};

/// The directive's arguments, name excluded.
///
/// # Safety
/// `cf` must be the live configuration of the directive being parsed.
unsafe fn args<'a>(cf: *mut ngx_conf_t) -> &'a mut [ngx_str_t] {
    // SAFETY: cf->args holds the directive name followed by its arguments,
    // as many as the directive's NGX_CONF_TAKE* flags allowed.
    unsafe {
        let all = std::slice::from_raw_parts_mut(
            (*(*cf).args).elts as *mut ngx_str_t,
            (*(*cf).args).nelts,
        );
        &mut all[1..]
    }
}

fn text(s: &ngx_str_t) -> String {
    // SAFETY: configuration strings are valid for the parse.
    String::from_utf8_lossy(unsafe { str_bytes(s) }).into_owned()
}

const DUPLICATE: *mut c_char = c"is duplicate".as_ptr() as *mut c_char;

/// Wraps a parser: panics become a configuration error, never an abort.
macro_rules! directive {
    ($name:ident, |$cf:ident, $conf:ident: $ty:ty| $body:block) => {
        extern "C" fn $name(
            $cf: *mut ngx_conf_t,
            _cmd: *mut ngx_command_t,
            conf: *mut c_void,
        ) -> *mut c_char {
            guard(NGX_CONF_ERROR, || {
                // SAFETY: nginx passes this module's configuration of the
                // level being parsed; cf is live for the call.
                let $conf = unsafe { &mut *(conf as *mut $ty) };
                #[allow(unused_unsafe)]
                unsafe {
                    $body
                }
            })
        }
    };
}

/// Compiles a value that may contain variables.
///
/// # Safety
/// `cf` must be live and `value` one of its arguments.
unsafe fn complex_value(
    cf: *mut ngx_conf_t,
    value: *mut ngx_str_t,
) -> Option<*mut ngx_http_complex_value_t> {
    // SAFETY: memory comes from the configuration pool, which lives as long
    // as the configuration; nginx fills the compiled value.
    unsafe {
        let cv = ngx_pcalloc((*cf).pool, size_of::<ngx_http_complex_value_t>())
            as *mut ngx_http_complex_value_t;
        if cv.is_null() {
            return None;
        }
        let mut ccv: ngx_http_compile_complex_value_t = std::mem::zeroed();
        ccv.cf = cf;
        ccv.value = value;
        ccv.complex_value = cv;
        (ngx_http_compile_complex_value(&mut ccv) == 0).then_some(cv)
    }
}

directive!(set_transform, |cf, conf: LocConf| {
    if conf.transform != TransformConf::Unset {
        return DUPLICATE;
    }
    let value = &mut args(cf)[0];
    if str_bytes(value) == b"off" {
        conf.transform = TransformConf::Off;
        return NGX_CONF_OK;
    }
    match complex_value(cf, value) {
        Some(cv) => {
            conf.transform = TransformConf::Options(cv);
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

directive!(set_thread_pool, |cf, conf: LocConf| {
    if conf.thread_pool != ThreadPoolConf::Unset {
        return DUPLICATE;
    }
    let name = &mut args(cf)[0];
    if str_bytes(name) == b"off" {
        conf.thread_pool = ThreadPoolConf::Off;
        return NGX_CONF_OK;
    }
    // Registers the name; nginx itself reports a pool that no
    // `thread_pool` directive defines ("unknown thread pool") once the
    // whole configuration has been read.
    let pool = ngx_thread_pool_add(cf, name);
    if pool.is_null() {
        return NGX_CONF_ERROR;
    }
    conf.thread_pool = ThreadPoolConf::Pool(pool);
    NGX_CONF_OK
});

/// Parses every argument with `lookup`, naming the first one it refuses.
///
/// # Safety
/// `cf` must be the live configuration of the directive being parsed.
unsafe fn list<T>(
    cf: *mut ngx_conf_t,
    what: &str,
    lookup: fn(&str) -> Option<T>,
) -> Option<Vec<T>> {
    // SAFETY: guaranteed by the caller.
    let args = unsafe { args(cf) };
    let mut items = Vec::with_capacity(args.len());
    for arg in args.iter() {
        match lookup(&text(arg)) {
            Some(item) => items.push(item),
            None => {
                ngx_conf_log_error!(
                    NGX_LOG_EMERG,
                    cf,
                    "unknown image {} \"{}\"",
                    what,
                    text(arg)
                );
                return None;
            }
        }
    }
    Some(items)
}

directive!(set_params_allowed, |cf, conf: LocConf| {
    if conf.policy.params.is_some() {
        return DUPLICATE;
    }
    conf.policy.params = list(cf, "option", canonical_name);
    if conf.policy.params.is_some() {
        NGX_CONF_OK
    } else {
        NGX_CONF_ERROR
    }
});

directive!(set_formats_allowed, |cf, conf: LocConf| {
    if conf.policy.formats.is_some() {
        return DUPLICATE;
    }
    conf.policy.formats = list(cf, "format", format_by_name);
    if conf.policy.formats.is_some() {
        NGX_CONF_OK
    } else {
        NGX_CONF_ERROR
    }
});

directive!(set_error_ttl, |cf, conf: LocConf| {
    if conf.error_ttl.is_some() {
        return DUPLICATE;
    }
    let args = args(cf);
    let mut bounds = [0u32; 2];
    for (bound, arg) in bounds.iter_mut().zip(args.iter_mut()) {
        let secs = ngx_parse_time(arg, 1);
        if secs < 1 || secs > u32::MAX as isize {
            ngx_conf_log_error!(NGX_LOG_EMERG, cf, "invalid time \"{}\"", text(arg));
            return NGX_CONF_ERROR;
        }
        *bound = secs as u32;
    }
    if bounds[0] > bounds[1] {
        ngx_conf_log_error!(NGX_LOG_EMERG, cf, "the minimum is larger than the maximum");
        return NGX_CONF_ERROR;
    }
    conf.error_ttl = Some((bounds[0], bounds[1]));
    NGX_CONF_OK
});

directive!(set_error_key, |cf, conf: LocConf| {
    if conf.error_key.is_some() {
        return DUPLICATE;
    }
    match complex_value(cf, &mut args(cf)[0]) {
        Some(cv) => {
            conf.error_key = Some(cv);
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

directive!(set_fallback, |cf, conf: LocConf| {
    if conf.fallback.is_some() {
        return DUPLICATE;
    }
    let args = args(cf);
    if str_bytes(&args[0]) == b"off" && args.len() == 1 {
        conf.fallback = Some(None);
        return NGX_CONF_OK;
    }
    // Relative paths are relative to nginx's prefix, as for other files.
    if ngx_conf_full_name((*cf).cycle, &mut args[0], 0) != 0 {
        return NGX_CONF_ERROR;
    }
    let path = text(&args[0]);
    let image = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            ngx_conf_log_error!(NGX_LOG_EMERG, cf, "cannot read \"{}\": {}", path, err);
            return NGX_CONF_ERROR;
        }
    };
    let Ok(format) = image_engine::sniff_format(&image) else {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "\"{}\" is not a JPEG, PNG, GIF or WebP image",
            path
        );
        return NGX_CONF_ERROR;
    };
    let mut status = 0;
    if let Some(arg) = args.get(1) {
        match text(arg).parse::<u16>() {
            Ok(s) if (200..=599).contains(&s) => status = s,
            _ => {
                ngx_conf_log_error!(NGX_LOG_EMERG, cf, "invalid status \"{}\"", text(arg));
                return NGX_CONF_ERROR;
            }
        }
    }
    conf.fallback = Some(Some(Fallback {
        image: std::sync::Arc::new(image),
        format,
        status,
    }));
    NGX_CONF_OK
});

directive!(set_error_zone, |cf, conf: MainConf| {
    if conf.error_zone.is_some() {
        return DUPLICATE;
    }
    let args = args(cf);
    let size = ngx_parse_size(&mut args[1]);
    if size < backoff::MIN_ZONE_SIZE as isize {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "zone \"{}\" is too small: \"{}\" (at least {} bytes)",
            text(&args[0]),
            text(&args[1]),
            backoff::MIN_ZONE_SIZE
        );
        return NGX_CONF_ERROR;
    }
    match backoff::add_zone(cf, &mut args[0], size as usize) {
        Some(zone) => {
            conf.error_zone = Some(zone);
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

const ANY_LEVEL: ngx_uint_t =
    (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF) as ngx_uint_t;

const fn command(
    name: ngx_str_t,
    args: u32,
    set: unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char,
    offset: usize,
) -> ngx_command_t {
    ngx_command_t {
        name,
        type_: ANY_LEVEL | args as ngx_uint_t,
        set: Some(set),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset,
        post: ptr::null_mut(),
    }
}

/// The directive table, in the order of the documentation.
pub static mut COMMANDS: [ngx_command_t; 18] = [
    command(
        ngx_string!("image_transform"),
        NGX_CONF_TAKE1,
        set_transform,
        0,
    ),
    command(
        ngx_string!("image_buffer"),
        NGX_CONF_TAKE1,
        ngx_conf_set_size_slot,
        offset_of!(LocConf, buffer_size),
    ),
    command(
        ngx_string!("image_thread_pool"),
        NGX_CONF_TAKE1,
        set_thread_pool,
        0,
    ),
    command(
        ngx_string!("image_max_pixels"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_pixels),
    ),
    command(
        ngx_string!("image_max_side"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_side),
    ),
    command(
        ngx_string!("image_max_animation_pixels"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_animation_pixels),
    ),
    command(
        ngx_string!("image_max_output_pixels"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_output_pixels),
    ),
    command(
        ngx_string!("image_max_avif_output_pixels"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_avif_output_pixels),
    ),
    command(
        ngx_string!("image_timeout"),
        NGX_CONF_TAKE1,
        ngx_conf_set_msec_slot,
        offset_of!(LocConf, timeout),
    ),
    command(
        ngx_string!("image_max_concurrency"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_concurrency),
    ),
    command(
        ngx_string!("image_max_queue"),
        NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, max_queue),
    ),
    command(
        ngx_string!("image_params_allowed"),
        NGX_CONF_1MORE,
        set_params_allowed,
        0,
    ),
    command(
        ngx_string!("image_formats_allowed"),
        NGX_CONF_1MORE,
        set_formats_allowed,
        0,
    ),
    command(
        ngx_string!("image_error_ttl"),
        NGX_CONF_TAKE2,
        set_error_ttl,
        0,
    ),
    command(
        ngx_string!("image_error_key"),
        NGX_CONF_TAKE1,
        set_error_key,
        0,
    ),
    command(
        ngx_string!("image_fallback"),
        NGX_CONF_TAKE12,
        set_fallback,
        0,
    ),
    ngx_command_t {
        name: ngx_string!("image_error_zone"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2) as ngx_uint_t,
        set: Some(set_error_zone),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: ptr::null_mut(),
    },
    ngx_command_t::empty(),
];
