//! Small helpers shared by the glue: panic containment and access to the
//! nginx structures that ngx 0.5 exposes only as raw FFI.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::ffi::{
    ngx_http_request_t, ngx_list_push, ngx_module_t, ngx_str_t, ngx_table_elt_t, ngx_uint_t,
};

/// Runs `f`, turning a panic into `fallback`. Every `extern "C"` entry point
/// goes through here: a panic that unwinds into nginx's C frames aborts the
/// worker and loses every request it was serving.
pub fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The module's location configuration for this request.
///
/// # Safety
/// `r` must be a live request whose `loc_conf` array was set up by nginx for
/// a configuration that includes `module`.
pub unsafe fn loc_conf<'a, T>(r: *mut ngx_http_request_t, module: &ngx_module_t) -> &'a T {
    // SAFETY: nginx allocates one loc conf per module in every location; the
    // caller guarantees the request and module belong together.
    unsafe { &*(*(*r).loc_conf.add(module.ctx_index) as *const T) }
}

/// The module's per-request context, if one was set.
///
/// # Safety
/// `r` must be a live request and the slot must hold a `T` or null.
pub unsafe fn request_ctx<'a, T>(
    r: *mut ngx_http_request_t,
    module: &ngx_module_t,
) -> Option<&'a mut T> {
    // SAFETY: `ctx` has one slot per module; we only ever store a `T` in ours.
    unsafe { (*(*r).ctx.add(module.ctx_index) as *mut T).as_mut() }
}

/// Stores the per-request context pointer.
///
/// # Safety
/// `r` must be a live request; `value` must live as long as its pool.
pub unsafe fn set_request_ctx<T>(r: *mut ngx_http_request_t, module: &ngx_module_t, value: *mut T) {
    // SAFETY: see `request_ctx`.
    unsafe { *(*r).ctx.add(module.ctx_index) = value as *mut c_void };
}

/// Appends a response header. `name` and `value` must outlive the request
/// (static strings or memory from the request pool).
///
/// # Safety
/// `r` must be a live request whose headers have not been sent.
pub unsafe fn add_header(r: *mut ngx_http_request_t, name: &'static str, value: ngx_str_t) -> bool {
    // SAFETY: headers_out.headers is an initialised ngx_list_t of
    // ngx_table_elt_t; ngx_list_push returns uninitialised room for one.
    unsafe {
        let h = ngx_list_push(&mut (*r).headers_out.headers) as *mut ngx_table_elt_t;
        if h.is_null() {
            return false;
        }
        (*h).hash = 1;
        (*h).key = static_str(name);
        (*h).value = value;
        (*h).lowcase_key = std::ptr::null_mut();
        #[cfg(ngx_has_header_links)]
        {
            (*h).next = std::ptr::null_mut();
        }
        true
    }
}

/// Hides a header that nginx tracks by pointer (Content-Length, ETag...):
/// a zero hash makes the header filter skip it.
///
/// # Safety
/// `slot` must point at a field of `headers_out`.
pub unsafe fn clear_header(slot: *mut *mut ngx_table_elt_t) {
    // SAFETY: the field is either null or points into headers_out.headers;
    // the elements of a header chain (`next`) are all in that list.
    unsafe {
        let mut h = *slot;
        while !h.is_null() {
            (*h).hash = 0;
            #[cfg(ngx_has_header_links)]
            {
                h = (*h).next;
            }
            #[cfg(not(ngx_has_header_links))]
            {
                h = std::ptr::null_mut();
            }
        }
        *slot = std::ptr::null_mut();
    }
}

/// Hides every `Cache-Control` header of the response.
///
/// # Safety
/// `r` must be a live request whose headers have not been sent.
pub unsafe fn clear_cache_control(r: *mut ngx_http_request_t) {
    // SAFETY: before nginx 1.23 the field is an array of pointers into
    // headers_out.headers; from 1.23 it is a chain of them.
    unsafe {
        #[cfg(ngx_has_header_links)]
        clear_header(&mut (*r).headers_out.cache_control);
        #[cfg(not(ngx_has_header_links))]
        {
            let list = &mut (*r).headers_out.cache_control;
            let elts = list.elts as *mut *mut ngx_table_elt_t;
            for i in 0..list.nelts {
                (**elts.add(i)).hash = 0;
            }
            list.nelts = 0;
        }
    }
}

/// Hides every response header called `name` (case-insensitive), e.g. an
/// `Image-Error` that a proxied origin sent, before the module sets its own.
///
/// # Safety
/// `r` must be a live request whose headers have not been sent.
pub unsafe fn remove_header(r: *mut ngx_http_request_t, name: &str) {
    // SAFETY: headers_out.headers is an initialised list of table elements.
    unsafe {
        let mut part = &raw mut (*r).headers_out.headers.part;
        while !part.is_null() {
            let elts = (*part).elts as *mut ngx_table_elt_t;
            for i in 0..(*part).nelts {
                let h = elts.add(i);
                if (*h).hash != 0 && str_bytes(&(*h).key).eq_ignore_ascii_case(name.as_bytes()) {
                    (*h).hash = 0;
                }
            }
            part = (*part).next;
        }
    }
}

/// An `ngx_str_t` view of a static string.
pub fn static_str(s: &'static str) -> ngx_str_t {
    ngx_str_t {
        len: s.len(),
        data: s.as_ptr() as *mut u8,
    }
}

/// Copies `bytes` into the request pool as an `ngx_str_t`.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn pool_str(r: *mut ngx_http_request_t, bytes: &[u8]) -> Option<ngx_str_t> {
    // SAFETY: ngx_pnalloc returns `len` writable bytes that live as long as
    // the request pool.
    unsafe {
        let data = ngx::ffi::ngx_pnalloc((*r).pool, bytes.len()) as *mut u8;
        if data.is_null() {
            return None;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        Some(ngx_str_t {
            len: bytes.len(),
            data,
        })
    }
}

/// The bytes of an `ngx_str_t`.
///
/// # Safety
/// `s` must describe valid memory (or have a zero length).
pub unsafe fn str_bytes<'a>(s: &ngx_str_t) -> &'a [u8] {
    if s.len == 0 || s.data.is_null() {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}

/// `ngx_uint_t` helper for the status field.
pub fn status(code: u16) -> ngx_uint_t {
    code as ngx_uint_t
}

/// The module's http-level configuration for this request.
///
/// # Safety
/// As for [`loc_conf`].
pub unsafe fn main_conf<'a, T>(r: *mut ngx_http_request_t, module: &ngx_module_t) -> &'a T {
    // SAFETY: nginx allocates one main conf per http module.
    unsafe { &*(*(*r).main_conf.add(module.ctx_index) as *const T) }
}

/// The value of the first request header called `name` (case-insensitive).
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn request_header<'a>(r: *mut ngx_http_request_t, name: &str) -> Option<&'a [u8]> {
    // SAFETY: headers_in.headers is an initialised list of table elements.
    unsafe {
        let mut part = &(*r).headers_in.headers.part as *const ngx::ffi::ngx_list_part_t;
        while !part.is_null() {
            let elts = (*part).elts as *const ngx_table_elt_t;
            for i in 0..(*part).nelts {
                let h = &*elts.add(i);
                if str_bytes(&h.key).eq_ignore_ascii_case(name.as_bytes()) {
                    return Some(str_bytes(&h.value));
                }
            }
            part = (*part).next;
        }
        None
    }
}
