//! Panic containment and small conversions shared by the FFI layer.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::ffi::ngx_str_t;

/// Runs `f`, turning a panic into `fallback`. Every `extern "C"` entry point
/// goes through here: a panic that unwinds into nginx's C frames aborts the
/// worker and loses every request it was serving.
pub fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// An `ngx_str_t` view of a static string.
pub(super) fn static_str(s: &'static str) -> ngx_str_t {
    ngx_str_t {
        len: s.len(),
        data: s.as_ptr() as *mut u8,
    }
}

/// The bytes of an `ngx_str_t` that nginx filled in (a header, an argument,
/// an evaluated value): such strings point at `len` valid bytes, or have
/// no data. Only strings from nginx reach this, so it stays in this layer.
pub(super) fn bytes(s: &ngx_str_t) -> &[u8] {
    if s.len == 0 || s.data.is_null() {
        return &[];
    }
    // SAFETY: nginx's strings describe `len` bytes at `data` that live at
    // least as long as the structure holding the ngx_str_t.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}
