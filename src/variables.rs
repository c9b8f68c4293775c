//! Variables for access logs: `$image_status`, `$image_error_code`,
//! `$image_original_bytes`, `$image_output_bytes`, `$image_original_size`
//! (`WxH`), `$image_process_ms`, and `$image_via` (the incoming `Via`
//! header with the module's loop-detection token appended, for
//! `proxy_set_header Via $image_via;`).

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t,
    ngx_str_t, ngx_uint_t, NGX_HTTP_VAR_NOCACHEABLE,
};

use crate::ctx::{self, Stats};
use crate::util::{guard, pool_str, request_header};

const NGX_OK: ngx_int_t = 0;
const NGX_ERROR: ngx_int_t = -1;

/// The token the module puts in `Via` (see [`crate::phase`]).
pub const VIA_TOKEN: &str = "nginx-image";

type Getter = fn(&Stats) -> Option<String>;

/// Each variable: name and how to read it from the request's statistics.
const VARIABLES: &[(&str, Getter)] = &[
    ("image_status", |s| s.status.map(|v| v.to_string())),
    ("image_error_code", |s| s.error_code.map(|v| v.to_string())),
    ("image_original_bytes", |s| {
        s.original_bytes.map(|v| v.to_string())
    }),
    ("image_output_bytes", |s| {
        s.output_bytes.map(|v| v.to_string())
    }),
    ("image_original_size", |s| {
        s.original_size.map(|(w, h)| format!("{w}x{h}"))
    }),
    ("image_process_ms", |s| s.process_ms.map(|v| v.to_string())),
];

/// Registers the variables (preconfiguration).
///
/// # Safety
/// `cf` must be the live http configuration.
pub unsafe fn register(cf: *mut ngx_conf_t) -> Result<(), ()> {
    // SAFETY: names are static; nginx copies what it needs.
    unsafe {
        for (index, (name, _)) in VARIABLES.iter().enumerate() {
            add(cf, name, stats_variable, index)?;
        }
        add(cf, "image_via", via_variable, 0)
    }
}

type Handler = unsafe extern "C" fn(
    *mut ngx_http_request_t,
    *mut ngx_http_variable_value_t,
    usize,
) -> ngx_int_t;

/// # Safety
/// `cf` must be live.
unsafe fn add(
    cf: *mut ngx_conf_t,
    name: &'static str,
    get: Handler,
    data: usize,
) -> Result<(), ()> {
    let mut name = ngx_str_t {
        len: name.len(),
        data: name.as_ptr() as *mut u8,
    };
    // SAFETY: nginx returns a variable slot we fill in.
    unsafe {
        let v = ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOCACHEABLE as ngx_uint_t);
        if v.is_null() {
            return Err(());
        }
        (*v).get_handler = Some(get);
        (*v).data = data;
    }
    Ok(())
}

/// # Safety
/// `v` must be nginx's value slot; `value` memory from the request pool.
unsafe fn set(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    value: Option<String>,
) -> ngx_int_t {
    // SAFETY: guaranteed by the caller.
    unsafe {
        match value {
            None => {
                (*v).set_not_found(1);
                NGX_OK
            }
            Some(text) => {
                let Some(s) = pool_str(r, text.as_bytes()) else {
                    return NGX_ERROR;
                };
                (*v).set_len(s.len as u32);
                (*v).data = s.data;
                (*v).set_valid(1);
                (*v).set_no_cacheable(0);
                (*v).set_not_found(0);
                NGX_OK
            }
        }
    }
}

unsafe extern "C" fn stats_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: nginx calls getters with a live request; statistics live
        // on the main request's context.
        unsafe {
            let value = ctx::get((*r).main).and_then(|ctx| (VARIABLES[data].1)(&ctx.stats));
            set(r, v, value)
        }
    })
}

unsafe extern "C" fn via_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    guard(NGX_ERROR, || {
        // SAFETY: as above.
        unsafe {
            let token = format!("1.1 {VIA_TOKEN}");
            let value = match request_header(r, "Via") {
                Some(via) if !via.is_empty() => {
                    format!("{}, {token}", String::from_utf8_lossy(via))
                }
                _ => token,
            };
            set(r, v, Some(value))
        }
    })
}
