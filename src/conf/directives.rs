//! The directive table and the parsers that nginx's stock slot setters do
//! not cover. Each parser reports a bad value with the value itself.

use std::ffi::{c_char, c_void};
use std::mem::offset_of;
use std::ptr;

use image_engine::compat::image_filter::{self, ConfError};
use image_engine::endpoint::HostsAllowed;
use image_engine::policy::{canonical_name, format_by_name};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_set_flag_slot, ngx_conf_set_msec_slot, ngx_conf_set_num_slot,
    ngx_conf_set_size_slot, ngx_conf_t, ngx_str_t, ngx_uint_t, NGX_CONF_1MORE, NGX_CONF_FLAG,
    NGX_CONF_NOARGS, NGX_CONF_TAKE1, NGX_CONF_TAKE12, NGX_CONF_TAKE123, NGX_CONF_TAKE2,
    NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET,
    NGX_HTTP_SRV_CONF,
};
use ngx::ngx_string;

use image_engine::http::{Negotiation, SuccessPolicy};
use image_engine::options::Template;

use super::{Fallback, LocConf, MainConf, OptionTemplate, ThreadPoolConf, TransformConf};
use crate::nginx::{
    arg_is, arg_text, guard, parse_seconds, parse_size, ComplexValue, Config, FailureZone,
    ThreadPool, MIN_ZONE_SIZE,
};

const DUPLICATE: *mut c_char = c"is duplicate".as_ptr() as *mut c_char;

/// Wraps a parser: the raw arguments become a [`Config`] and this level's
/// configuration; panics become a configuration error, never an abort.
macro_rules! directive {
    ($name:ident, |$cf:ident, $conf:ident: $ty:ty| $body:block) => {
        extern "C" fn $name(
            cf: *mut ngx_conf_t,
            _cmd: *mut ngx_command_t,
            conf: *mut c_void,
        ) -> *mut c_char {
            guard(NGX_CONF_ERROR, || {
                // SAFETY: nginx passes the configuration being read and this
                // module's configuration of the level being parsed, both
                // live for the call.
                let (config, $conf) = unsafe { (Config::from_raw(cf), &mut *(conf as *mut $ty)) };
                #[allow(unused_mut)]
                let Some(mut $cf) = config
                else {
                    return NGX_CONF_ERROR;
                };
                $body
            })
        }
    };
}

/// A setting that is `off` or a value `parse` turns into the setting; set
/// once per level.
fn set_off_or<T: PartialEq>(
    cf: &mut Config,
    slot: &mut T,
    [unset, off]: [T; 2],
    parse: impl FnOnce(&Config, &mut ngx_str_t) -> Option<T>,
) -> *mut c_char {
    if *slot != unset {
        return DUPLICATE;
    }
    let mut value = cf.args()[0];
    *slot = if arg_is(&value, "off") {
        off
    } else {
        match parse(cf, &mut value) {
            Some(setting) => setting,
            None => return NGX_CONF_ERROR,
        }
    };
    NGX_CONF_OK
}

directive!(set_transform, |cf, conf: LocConf| {
    if !matches!(conf.transform, TransformConf::Unset) {
        return DUPLICATE;
    }
    let value = cf.args()[0];
    if arg_is(&value, "off") {
        conf.transform = TransformConf::Off;
        return NGX_CONF_OK;
    }
    match compile_template(&cf, &arg_text(&value)) {
        Some(template) => {
            conf.transform = TransformConf::Options(std::rc::Rc::new(template));
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

/// Parses and validates the literal options now (`nginx -t` names a bad
/// one) and compiles each variable part as a complex value.
fn compile_template(cf: &Config, text: &str) -> Option<OptionTemplate> {
    let template = match Template::compile(text) {
        Ok(template) => template,
        Err(err) => {
            cf.emerg(format_args!("invalid image_transform: {}", err.message));
            return None;
        }
    };
    let mut values = Vec::with_capacity(template.slots().len());
    for slot in template.slots() {
        values.push(cf.compile_text(&slot.source)?);
    }
    Some(OptionTemplate { template, values })
}

directive!(set_auto_formats, |cf, conf: LocConf| {
    if conf.auto_formats.is_some() {
        return DUPLICATE;
    }
    let names: Vec<String> = cf.args().iter().map(arg_text).collect();
    match Negotiation::from_names(&names) {
        Ok(negotiation) => {
            conf.auto_formats = Some(negotiation);
            NGX_CONF_OK
        }
        Err(message) => {
            cf.emerg(format_args!("{message}"));
            NGX_CONF_ERROR
        }
    }
});

directive!(set_cache_control, |cf, conf: LocConf| {
    if conf.cache_control.is_some() {
        return DUPLICATE;
    }
    match SuccessPolicy::parse(&arg_text(&cf.args()[0])) {
        Ok(policy) => {
            conf.cache_control = Some(policy);
            NGX_CONF_OK
        }
        Err(message) => {
            cf.emerg(format_args!("{message}"));
            NGX_CONF_ERROR
        }
    }
});

// Registers the pool's name; nginx itself reports a pool that no
// `thread_pool` directive defines ("unknown thread pool") once the whole
// configuration has been read.
directive!(set_thread_pool, |cf, conf: LocConf| {
    let states = [ThreadPoolConf::Unset, ThreadPoolConf::Off];
    set_off_or(&mut cf, &mut conf.thread_pool, states, |cf, name| {
        ThreadPool::add(cf, Some(name)).map(ThreadPoolConf::Pool)
    })
});

/// Parses every argument with `lookup`, naming the first one it refuses.
fn list<T>(cf: &mut Config, what: &str, lookup: fn(&str) -> Option<T>) -> Option<Vec<T>> {
    let args: Vec<ngx_str_t> = cf.args().to_vec();
    let mut items = Vec::with_capacity(args.len());
    for arg in &args {
        match lookup(&arg_text(arg)) {
            Some(item) => items.push(item),
            None => {
                cf.emerg(format_args!("unknown image {} \"{}\"", what, arg_text(arg)));
                return None;
            }
        }
    }
    Some(items)
}

/// Sets an allow-list once, from every argument.
fn set_list<T>(
    cf: &mut Config,
    slot: &mut Option<Vec<T>>,
    what: &str,
    lookup: fn(&str) -> Option<T>,
) -> *mut c_char {
    if slot.is_some() {
        return DUPLICATE;
    }
    *slot = list(cf, what, lookup);
    if slot.is_some() {
        NGX_CONF_OK
    } else {
        NGX_CONF_ERROR
    }
}

directive!(set_params_allowed, |cf, conf: LocConf| {
    set_list(&mut cf, &mut conf.policy.params, "option", canonical_name)
});

directive!(set_formats_allowed, |cf, conf: LocConf| {
    set_list(&mut cf, &mut conf.policy.formats, "format", format_by_name)
});

directive!(set_error_ttl, |cf, conf: LocConf| {
    if conf.error_ttl.is_some() {
        return DUPLICATE;
    }
    let mut args: Vec<ngx_str_t> = cf.args().to_vec();
    let mut bounds = [0u32; 2];
    for (bound, arg) in bounds.iter_mut().zip(args.iter_mut()) {
        let secs = parse_seconds(arg);
        if secs < 1 || secs > u32::MAX as isize {
            cf.emerg(format_args!("invalid time \"{}\"", arg_text(arg)));
            return NGX_CONF_ERROR;
        }
        *bound = secs as u32;
    }
    if bounds[0] > bounds[1] {
        cf.emerg(format_args!("the minimum is larger than the maximum"));
        return NGX_CONF_ERROR;
    }
    conf.error_ttl = Some((bounds[0], bounds[1]));
    NGX_CONF_OK
});

directive!(set_error_key, |cf, conf: LocConf| {
    if conf.error_key.is_some() {
        return DUPLICATE;
    }
    let mut value = cf.args()[0];
    match cf.compile(&mut value) {
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
    let mut args: Vec<ngx_str_t> = cf.args().to_vec();
    if arg_is(&args[0], "off") && args.len() == 1 {
        conf.fallback = Some(None);
        return NGX_CONF_OK;
    }
    // Relative paths are relative to nginx's prefix, as for other files.
    if !cf.full_name(&mut args[0]) {
        return NGX_CONF_ERROR;
    }
    let path = arg_text(&args[0]);
    let image = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            cf.emerg(format_args!("cannot read \"{}\": {}", path, err));
            return NGX_CONF_ERROR;
        }
    };
    let Ok(format) = image_engine::sniff_format(&image) else {
        cf.emerg(format_args!(
            "\"{}\" is not a JPEG, PNG, GIF or WebP image",
            path
        ));
        return NGX_CONF_ERROR;
    };
    let mut status = 0;
    if let Some(arg) = args.get(1) {
        match arg_text(arg).parse::<u16>() {
            Ok(s) if (200..=599).contains(&s) => status = s,
            _ => {
                cf.emerg(format_args!("invalid status \"{}\"", arg_text(arg)));
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
    let mut args: Vec<ngx_str_t> = cf.args().to_vec();
    let size = parse_size(&mut args[1]);
    if size < MIN_ZONE_SIZE as isize {
        cf.emerg(format_args!(
            "zone \"{}\" is too small: \"{}\" (at least {} bytes)",
            arg_text(&args[0]),
            arg_text(&args[1]),
            MIN_ZONE_SIZE
        ));
        return NGX_CONF_ERROR;
    }
    match FailureZone::add(&cf, &mut args[0], size as usize) {
        Some(zone) => {
            conf.error_zone = Some(zone);
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

directive!(set_endpoint, |cf, conf: LocConf| {
    if conf.endpoint.is_some() {
        return DUPLICATE;
    }
    match cf.set_content_handler(crate::endpoint::handler) {
        Some(prefix) => {
            conf.endpoint = Some(prefix);
            NGX_CONF_OK
        }
        None => NGX_CONF_ERROR,
    }
});

directive!(set_endpoint_hosts, |cf, conf: LocConf| {
    if conf.endpoint_hosts.is_some() {
        return DUPLICATE;
    }
    let args: Vec<String> = cf.args().iter().map(arg_text).collect();
    if args.len() == 1 && args[0] == "off" {
        conf.endpoint_hosts = Some(HostsAllowed::default());
        return NGX_CONF_OK;
    }
    match HostsAllowed::parse(args.iter().map(String::as_str)) {
        Ok(hosts) => {
            conf.endpoint_hosts = Some(hosts);
            NGX_CONF_OK
        }
        Err(message) => {
            cf.emerg(format_args!("{message}"));
            NGX_CONF_ERROR
        }
    }
});

directive!(set_endpoint_upstream, |cf, conf: LocConf| {
    if conf.endpoint_upstream.is_some() {
        return DUPLICATE;
    }
    let location = arg_text(&cf.args()[0]);
    if !location.starts_with('/') {
        cf.emerg(format_args!(
            "\"{location}\" is not a location path (it must start with \"/\")"
        ));
        return NGX_CONF_ERROR;
    }
    conf.endpoint_upstream = Some(location);
    NGX_CONF_OK
});

/// `image_jpeg_quality` and its siblings: 1 to 100, once per level.
fn set_quality(cf: &mut Config, slot: &mut Option<u8>) -> *mut c_char {
    if slot.is_some() {
        return DUPLICATE;
    }
    let value = arg_text(&cf.args()[0]);
    match value.parse::<u8>() {
        Ok(quality @ 1..=100) => {
            *slot = Some(quality);
            NGX_CONF_OK
        }
        _ => {
            cf.emerg(format_args!(
                "invalid image quality \"{value}\" (a number from 1 to 100)"
            ));
            NGX_CONF_ERROR
        }
    }
}

directive!(set_jpeg_quality, |cf, conf: LocConf| {
    set_quality(&mut cf, &mut conf.format_qualities.jpeg)
});

directive!(set_webp_quality, |cf, conf: LocConf| {
    set_quality(&mut cf, &mut conf.format_qualities.webp)
});

directive!(set_avif_quality, |cf, conf: LocConf| {
    set_quality(&mut cf, &mut conf.format_qualities.avif)
});

directive!(set_status, |cf, _conf: LocConf| {
    match cf.set_content_handler(crate::metrics::status_handler) {
        Some(_) => NGX_CONF_OK,
        None => NGX_CONF_ERROR,
    }
});

/// Ends a parser of image_filter's directives: nginx's message for a bad
/// argument.
fn conf_result(cf: &Config, result: Result<(), ConfError>) -> *mut c_char {
    match result {
        Ok(()) => NGX_CONF_OK,
        Err(ConfError::Invalid(message)) => {
            cf.emerg(format_args!("{message}"));
            NGX_CONF_ERROR
        }
        Err(ConfError::Reported) => NGX_CONF_ERROR,
    }
}

// Lines combine as in nginx (no "is duplicate").
directive!(set_image_filter, |cf, conf: LocConf| {
    let args: Vec<String> = cf.args().iter().map(arg_text).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = conf
        .image_filter
        .image_filter(&args, |text| cf.compile_text(text));
    conf_result(&cf, result)
});

/// `image_filter_jpeg_quality`, `_webp_quality` and `_sharpen`: a number
/// or variables; the last one at a level wins, as in nginx.
fn set_filter_number(
    cf: &mut Config,
    zero_allowed: bool,
    slot: &mut Option<image_filter::Arg<ComplexValue>>,
) -> *mut c_char {
    let text = arg_text(&cf.args()[0]);
    let result = image_filter::Directives::number(&text, zero_allowed, |t| cf.compile_text(t))
        .map(|arg| *slot = Some(arg));
    conf_result(cf, result)
}

directive!(set_image_filter_jpeg_quality, |cf, conf: LocConf| {
    set_filter_number(&mut cf, false, &mut conf.image_filter.jpeg_quality)
});

directive!(set_image_filter_webp_quality, |cf, conf: LocConf| {
    set_filter_number(&mut cf, false, &mut conf.image_filter.webp_quality)
});

directive!(set_image_filter_sharpen, |cf, conf: LocConf| {
    set_filter_number(&mut cf, true, &mut conf.image_filter.sharpen)
});

const ANY_LEVEL: ngx_uint_t =
    (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF) as ngx_uint_t;

type Setter = unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char;

/// A directive allowed at every level, stored in the location
/// configuration. `name` must be NUL-terminated (`ngx_string!`): nginx
/// compares directive names with strcmp.
const fn command(name: ngx_str_t, args: u32, set: Setter, offset: usize) -> ngx_command_t {
    ngx_command_t {
        name,
        type_: ANY_LEVEL | args as ngx_uint_t,
        set: Some(set),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset,
        post: ptr::null_mut(),
    }
}

/// `name arguments setter [field]`: the field is the LocConf slot that
/// nginx's stock setters fill; the module's own parsers find their field
/// themselves. The table's length is counted here, so adding a row touches
/// nothing else.
macro_rules! commands {
    ($vis:vis static mut $table:ident = [$($name:literal $args:ident $set:ident $($field:ident)?;)*];) => {
        // The rows, the four special directives below and the terminator.
        $vis static mut $table: [ngx_command_t; 0 $(+ one!($name))* + 5] =
        [$(command(ngx_string!($name), $args, $set, 0 $(+ offset_of!(LocConf, $field))?),)*
            ngx_command_t {
                name: ngx_string!("image_error_zone"),
                type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2) as ngx_uint_t,
                set: Some(set_error_zone),
                conf: NGX_HTTP_MAIN_CONF_OFFSET,
                offset: 0,
                post: ptr::null_mut(),
            },
            ngx_command_t {
                name: ngx_string!("image_endpoint"),
                type_: (NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS) as ngx_uint_t,
                set: Some(set_endpoint),
                conf: NGX_HTTP_LOC_CONF_OFFSET,
                offset: 0,
                post: ptr::null_mut(),
            },
            ngx_command_t {
                name: ngx_string!("image_status"),
                type_: (NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS) as ngx_uint_t,
                set: Some(set_status),
                conf: NGX_HTTP_LOC_CONF_OFFSET,
                offset: 0,
                post: ptr::null_mut(),
            },
            // Location level only, as nginx's.
            ngx_command_t {
                name: ngx_string!("image_filter"),
                type_: (NGX_HTTP_LOC_CONF | NGX_CONF_TAKE123) as ngx_uint_t,
                set: Some(set_image_filter),
                conf: NGX_HTTP_LOC_CONF_OFFSET,
                offset: 0,
                post: ptr::null_mut(),
            },
            ngx_command_t::empty(),
        ];
    };
}

/// 1 for each row of `commands!`.
macro_rules! one {
    ($row:tt) => {
        1
    };
}

// The directive table, in the order of the documentation
// (`image_error_zone`, http level only, comes last).
#[rustfmt::skip]
commands! { pub static mut COMMANDS = [
    "image_transform"            NGX_CONF_TAKE1  set_transform;
    "image_buffer"               NGX_CONF_TAKE1  ngx_conf_set_size_slot buffer_size;
    "image_thread_pool"          NGX_CONF_TAKE1  set_thread_pool;
    "image_max_pixels"           NGX_CONF_TAKE1  ngx_conf_set_num_slot max_pixels;
    "image_max_side"             NGX_CONF_TAKE1  ngx_conf_set_num_slot max_side;
    "image_max_animation_pixels" NGX_CONF_TAKE1  ngx_conf_set_num_slot max_animation_pixels;
    "image_max_output_pixels"    NGX_CONF_TAKE1  ngx_conf_set_num_slot max_output_pixels;
    "image_max_avif_output_pixels" NGX_CONF_TAKE1 ngx_conf_set_num_slot max_avif_output_pixels;
    "image_timeout"              NGX_CONF_TAKE1  ngx_conf_set_msec_slot timeout;
    "image_max_concurrency"      NGX_CONF_TAKE1  ngx_conf_set_num_slot max_concurrency;
    "image_max_queue"            NGX_CONF_TAKE1  ngx_conf_set_num_slot max_queue;
    "image_memory"               NGX_CONF_TAKE1  ngx_conf_set_size_slot memory;
    "image_params_allowed"       NGX_CONF_1MORE  set_params_allowed;
    "image_formats_allowed"      NGX_CONF_1MORE  set_formats_allowed;
    "image_error_ttl"            NGX_CONF_TAKE2  set_error_ttl;
    "image_error_key"            NGX_CONF_TAKE1  set_error_key;
    "image_fallback"             NGX_CONF_TAKE12 set_fallback;
    "image_auto_formats"         NGX_CONF_1MORE  set_auto_formats;
    "image_cache_control"        NGX_CONF_TAKE1  set_cache_control;
    "image_endpoint_hosts_allowed"     NGX_CONF_1MORE set_endpoint_hosts;
    "image_endpoint_upstream"          NGX_CONF_TAKE1 set_endpoint_upstream;
    "image_endpoint_max_redirects"     NGX_CONF_TAKE1 ngx_conf_set_num_slot endpoint_max_redirects;
    "image_endpoint_private_addresses" NGX_CONF_FLAG  ngx_conf_set_flag_slot endpoint_private_addresses;
    "image_endpoint_pass_credentials"  NGX_CONF_FLAG  ngx_conf_set_flag_slot endpoint_pass_credentials;
    "image_jpeg_quality"         NGX_CONF_TAKE1  set_jpeg_quality;
    "image_webp_quality"         NGX_CONF_TAKE1  set_webp_quality;
    "image_avif_quality"         NGX_CONF_TAKE1  set_avif_quality;
    "image_server_timing"              NGX_CONF_FLAG  ngx_conf_set_flag_slot server_timing;
    "image_filter_buffer"        NGX_CONF_TAKE1  ngx_conf_set_size_slot image_filter_buffer;
    "image_filter_jpeg_quality"  NGX_CONF_TAKE1  set_image_filter_jpeg_quality;
    "image_filter_webp_quality"  NGX_CONF_TAKE1  set_image_filter_webp_quality;
    "image_filter_sharpen"       NGX_CONF_TAKE1  set_image_filter_sharpen;
    "image_filter_transparency"  NGX_CONF_FLAG   ngx_conf_set_flag_slot image_filter_transparency;
    "image_filter_interlace"     NGX_CONF_FLAG   ngx_conf_set_flag_slot image_filter_interlace;
]; }
