//! [`Config`]: the configuration nginx is reading, as directive parsers and
//! the module's configuration hooks see it.

use std::ffi::c_void;
use std::fmt;
use std::ptr::NonNull;

use ngx::core::{Pool, Status};
use ngx::ffi::{
    ngx_array_push, ngx_conf_full_name, ngx_conf_t, ngx_http_compile_complex_value,
    ngx_http_compile_complex_value_t, ngx_http_complex_value_t, ngx_http_handler_pt,
    ngx_http_phases_NGX_HTTP_PRECONTENT_PHASE, ngx_http_request_t, ngx_int_t, ngx_parse_size,
    ngx_parse_time, ngx_str_t, NGX_LOG_EMERG,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::ngx_conf_log_error;

use super::guard::bytes;

/// The configuration being read, valid for one call of a configuration
/// hook or directive parser, on nginx's single configuration thread.
pub struct Config(NonNull<ngx_conf_t>);

/// A value compiled at configuration that may contain variables
/// (`ngx_http_complex_value_t`); lives as long as the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplexValue(NonNull<ngx_http_complex_value_t>);

impl ComplexValue {
    pub(super) fn as_ptr(self) -> *mut ngx_http_complex_value_t {
        self.0.as_ptr()
    }
}

type PhaseHandler = unsafe extern "C" fn(*mut ngx_http_request_t) -> ngx_int_t;

impl Config {
    /// # Safety
    /// `cf` must be the configuration nginx passed to the hook or directive
    /// being run, used only during that call.
    pub unsafe fn from_raw(cf: *mut ngx_conf_t) -> Option<Config> {
        NonNull::new(cf).map(Config)
    }

    pub(super) fn as_ptr(&self) -> *mut ngx_conf_t {
        self.0.as_ptr()
    }

    /// The configuration pool: memory that lives as long as the
    /// configuration.
    pub fn pool(&self) -> Pool {
        // SAFETY: a live configuration always has its pool.
        unsafe { Pool::from_ngx_pool(self.0.as_ref().pool) }
    }

    /// The directive's arguments, its name excluded.
    pub fn args(&mut self) -> &mut [ngx_str_t] {
        // SAFETY: cf->args holds the directive name followed by its
        // arguments, as many as the directive's NGX_CONF_TAKE* flags allowed.
        unsafe {
            let args = self.0.as_ref().args;
            let all = std::slice::from_raw_parts_mut((*args).elts as *mut ngx_str_t, (*args).nelts);
            &mut all[1..]
        }
    }

    /// Logs a configuration error (`nginx: [emerg] ... in FILE:LINE`).
    pub fn emerg(&self, message: fmt::Arguments) {
        ngx_conf_log_error!(NGX_LOG_EMERG, self.as_ptr(), "{}", message);
    }

    /// Compiles a value that may contain variables.
    pub fn compile(&self, value: &mut ngx_str_t) -> Option<ComplexValue> {
        let cv = self.pool().calloc(size_of::<ngx_http_complex_value_t>())
            as *mut ngx_http_complex_value_t;
        let cv = NonNull::new(cv)?;
        // SAFETY: an all-zero ngx_http_compile_complex_value_t is nginx's
        // own starting point (ngx_memzero); nginx fills the compiled value,
        // whose memory comes from the configuration pool.
        unsafe {
            let mut ccv: ngx_http_compile_complex_value_t = std::mem::zeroed();
            ccv.cf = self.as_ptr();
            ccv.value = value;
            ccv.complex_value = cv.as_ptr();
            (ngx_http_compile_complex_value(&mut ccv) == Status::NGX_OK.0)
                .then_some(ComplexValue(cv))
        }
    }

    /// Compiles `text` (copied into the configuration pool, which the
    /// compiled value may point into) as a value with variables.
    pub fn compile_text(&self, text: &str) -> Option<ComplexValue> {
        let data = self.pool().alloc_unaligned(text.len().max(1)) as *mut u8;
        if data.is_null() {
            return None;
        }
        // SAFETY: `data` has room for `text.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), data, text.len()) };
        let mut value = ngx_str_t {
            len: text.len(),
            data,
        };
        self.compile(&mut value)
    }

    /// Makes a relative path relative to nginx's prefix, as for other files.
    pub fn full_name(&self, name: &mut ngx_str_t) -> bool {
        // SAFETY: the cycle is live during configuration; nginx replaces
        // `name` with memory from the cycle's pool.
        unsafe { ngx_conf_full_name(self.0.as_ref().cycle, name, 0) == Status::NGX_OK.0 }
    }

    /// Adds a handler to the precontent phase (postconfiguration only).
    pub fn add_precontent_handler(&self, handler: PhaseHandler) -> Result<(), ()> {
        // SAFETY: the configuration is the http block's; the core module's
        // main conf exists from preconfiguration on.
        let cmcf = NgxHttpCoreModule::main_conf_mut(unsafe { self.0.as_ref() }).ok_or(())?;
        let phase = &mut cmcf.phases[ngx_http_phases_NGX_HTTP_PRECONTENT_PHASE as usize];
        // SAFETY: the phase's handler array is initialised by the core
        // module; ngx_array_push returns room for one element or null.
        let h = unsafe { ngx_array_push(&mut phase.handlers) } as *mut ngx_http_handler_pt;
        if h.is_null() {
            return Err(());
        }
        // SAFETY: `h` is room for one handler, just pushed.
        unsafe { *h = Some(handler) };
        Ok(())
    }

    /// Allocates `value` in the configuration pool (dropped with it), for
    /// the module's `create_*_conf` hooks.
    pub fn allocate<T>(&self, value: T) -> *mut c_void {
        self.pool().allocate(value) as *mut c_void
    }
}

/// An argument as text, for messages and file names.
pub fn arg_text(s: &ngx_str_t) -> String {
    String::from_utf8_lossy(bytes(s)).into_owned()
}

/// Whether an argument is exactly `word`.
pub fn arg_is(s: &ngx_str_t, word: &str) -> bool {
    bytes(s) == word.as_bytes()
}

/// `ngx_parse_time` in seconds (`NGX_ERROR` when invalid).
pub fn parse_seconds(s: &mut ngx_str_t) -> isize {
    // SAFETY: `s` is a valid string; nginx only reads it.
    unsafe { ngx_parse_time(s, 1) }
}

/// `ngx_parse_size` (`NGX_ERROR` when invalid).
pub fn parse_size(s: &mut ngx_str_t) -> isize {
    // SAFETY: `s` is a valid string; nginx only reads it.
    unsafe { ngx_parse_size(s) }
}

impl Config {
    /// Makes `handler` the content handler of the location being parsed
    /// (as `proxy_pass` does) and returns the location's name, e.g.
    /// `/cdn-cgi/image/`. `None` outside a location.
    pub fn set_content_handler(&self, handler: PhaseHandler) -> Option<String> {
        // SAFETY: a directive of the location level is being parsed, so the
        // core module's location configuration of that level exists.
        let clcf = NgxHttpCoreModule::location_conf_mut(unsafe { self.0.as_ref() })?;
        clcf.handler = Some(handler);
        Some(String::from_utf8_lossy(bytes(&clcf.name)).into_owned())
    }
}
