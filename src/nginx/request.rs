//! [`Request`]: the handle through which the glue reads and changes an
//! nginx request. Header access is in `headers.rs`.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ngx::core::Pool;
use ngx::ffi::{
    ngx_http_cleanup_add, ngx_http_complex_value, ngx_http_discard_request_body,
    ngx_http_filter_finalize_request, ngx_http_finalize_request, ngx_http_request_t,
    ngx_http_run_posted_requests, ngx_http_weak_etag, ngx_int_t, ngx_str_t, NGX_HTTP_GET,
    NGX_HTTP_HEAD, NGX_LOG_ERR, NGX_LOG_INFO,
};
use ngx::ngx_log_error;

use super::config::ComplexValue;
use super::guard::{bytes, guard, static_str};

/// Our bit in `c->buffered` while we hold data: nginx must not finalize the
/// request under us. 0x08 is the value nginx reserves for image filtering.
const IMAGE_BUFFERED: u32 = 0x08;

/// A live nginx request.
///
/// # Safety contract
///
/// This is the one place that states when touching an nginx request is
/// sound; every method below relies on it and on nothing else.
///
/// - A `Request` is made by [`Request::from_raw`] from the pointer nginx
///   hands to an entry point (phase handler, filter, variable getter,
///   thread-task completion). That call is the only `unsafe` step.
/// - It is valid while nginx keeps the request: for the whole callback,
///   and, when stored (a waiting job in the admission queue, a posted
///   thread task), for as long as the request is held by [`Request::block`]
///   — nginx neither finalizes nor frees a request whose main request is
///   `blocked`.
/// - It is used on the worker's event-loop thread only. It holds a
///   `NonNull`, so it is neither `Send` nor `Sync`: a thread-pool job
///   cannot carry one.
/// - [`Request::ctx`] hands out the module's context as `&mut`; each entry
///   point takes it once and passes it down, so two `&mut` to the same
///   context are never used at the same time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Request(NonNull<ngx_http_request_t>);

/// The type the module keeps per request, in its context slot.
///
/// # Safety
/// Implement it for exactly one type: the slot then only ever holds that
/// type, which is what [`Request::ctx`] relies on.
pub unsafe trait ModuleCtx: Sized {}

/// The module's index into per-request context arrays.
fn ctx_index() -> usize {
    // SAFETY: nginx writes the module table only while loading the module,
    // before any request.
    unsafe { (*std::ptr::addr_of!(crate::ngx_http_image_module)).ctx_index }
}

/// Severity of a line in error.log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// A problem of the request or the origin.
    Info,
    /// A problem of ours.
    Error,
}

impl Request {
    /// Wraps the request pointer an entry point received.
    ///
    /// # Safety
    /// `r` must be a live request handed over by nginx, under the contract
    /// written on [`Request`]. Null yields `None`.
    pub unsafe fn from_raw(r: *mut ngx_http_request_t) -> Option<Request> {
        NonNull::new(r).map(Request)
    }

    pub(super) fn as_ptr(self) -> *mut ngx_http_request_t {
        self.0.as_ptr()
    }

    /// Shared view of the C structure, for reads.
    pub(super) fn raw(&self) -> &ngx_http_request_t {
        // SAFETY: the request is live (contract on `Request`).
        unsafe { self.0.as_ref() }
    }

    /// Exclusive view of the C structure, for writes. The borrow ends with
    /// the statement that uses it.
    pub(super) fn raw_mut(&mut self) -> &mut ngx_http_request_t {
        // SAFETY: the request is live and only this thread touches it
        // (contract on `Request`).
        unsafe { self.0.as_mut() }
    }

    /// The request as the `ngx` crate's configuration accessors want it
    /// (`HttpModuleLocationConf::location_conf` and friends).
    pub fn conf_source(&self) -> &ngx_http_request_t {
        self.raw()
    }

    /// The request's pool: memory that lives as long as the request.
    pub fn pool(self) -> Pool {
        // SAFETY: a live request always has its pool.
        unsafe { Pool::from_ngx_pool(self.raw().pool) }
    }

    pub fn is_main(self) -> bool {
        self.raw().main == self.as_ptr()
    }

    pub fn main(self) -> Request {
        // A live request's main request is live too (it outlives its
        // subrequests), and never null.
        Request(NonNull::new(self.raw().main).unwrap_or(self.0))
    }

    pub fn is_head(self) -> bool {
        self.raw().method == NGX_HTTP_HEAD as usize
    }

    pub fn is_get_or_head(self) -> bool {
        let method = self.raw().method;
        method == NGX_HTTP_GET as usize || method == NGX_HTTP_HEAD as usize
    }

    /// Changes the method name an upstream module sends (not `method`, which
    /// still decides whether nginx sends a body).
    pub fn set_method_name(mut self, name: &'static str) {
        self.raw_mut().method_name = static_str(name);
    }

    /// The request URI (normalised, without arguments).
    pub fn uri(&self) -> &[u8] {
        bytes(&self.raw().uri)
    }

    /// The response status set so far.
    pub fn status(self) -> usize {
        self.raw().headers_out.status
    }

    /// Sets the response status and drops a status line copied from a
    /// proxied origin ("HTTP/1.1 500 ..."), which nginx would otherwise
    /// send as it is.
    pub fn set_status(mut self, code: u16) {
        let h = &mut self.raw_mut().headers_out;
        h.status = code as usize;
        h.status_line = ngx_str_t::default();
    }

    /// `Content-Length` of the response as set so far (-1: unknown).
    pub fn content_length(self) -> i64 {
        self.raw().headers_out.content_length_n
    }

    /// The response's `Last-Modified` as Unix seconds (static files and
    /// proxied origins both fill it in), if any.
    pub fn last_modified_time(self) -> Option<i64> {
        let time = self.raw().headers_out.last_modified_time;
        // time_t is i64 here, narrower on some targets.
        #[allow(clippy::unnecessary_cast)]
        (time >= 0).then_some(time as i64)
    }

    /// Whether a proxied origin sent a response header; `false` when nginx
    /// made the status up itself because the origin failed. Requests that
    /// are not proxied count as answered.
    pub fn origin_answered(self) -> bool {
        let u = self.raw().upstream;
        // SAFETY: a non-null upstream of a live request is live.
        u.is_null() || unsafe { (*u).headers_in.status_n != 0 }
    }

    /// The module's context, if the module has taken an interest in the
    /// request (see the contract on [`Request`] about `&mut`).
    pub fn ctx<'a, T: ModuleCtx>(self) -> Option<&'a mut T> {
        // SAFETY: `ctx` has one slot per module; ours only ever holds the one
        // ModuleCtx type, allocated by `attach_ctx` in the request pool,
        // which outlives every use of the request.
        unsafe { (*self.raw().ctx.add(ctx_index()) as *mut T).as_mut() }
    }

    /// Allocates a context in the request pool (dropped with the pool) and
    /// attaches it to the request.
    pub fn attach_ctx<'a, T: ModuleCtx>(mut self, ctx: T) -> Option<&'a mut T> {
        let p = self.pool().allocate(ctx);
        if p.is_null() {
            return None;
        }
        let index = ctx_index();
        // SAFETY: see `ctx`; the slot array has one entry per module.
        unsafe {
            *self.raw_mut().ctx.add(index) = p.cast();
            Some(&mut *p)
        }
    }

    /// Evaluates a value compiled at configuration (variables substituted).
    /// The bytes live in the request pool.
    pub fn evaluate(&self, cv: ComplexValue) -> Option<&[u8]> {
        let mut value = ngx_str_t::default();
        // SAFETY: the request is live and `cv` was compiled at
        // configuration; nginx writes the result into `value` with memory
        // from the request pool.
        let rc = unsafe { ngx_http_complex_value(self.as_ptr(), cv.as_ptr(), &mut value) };
        if rc != ngx::core::Status::NGX_OK.0 {
            return None;
        }
        if value.len == 0 || value.data.is_null() {
            return Some(&[]);
        }
        // SAFETY: `value` was just filled in by nginx from the request pool,
        // which outlives the borrow of `self`.
        Some(unsafe { std::slice::from_raw_parts(value.data, value.len) })
    }

    /// Copies `bytes` into the request pool as an `ngx_str_t`.
    pub(super) fn pool_str(self, data: &[u8]) -> Option<ngx_str_t> {
        let p = self.pool().alloc_unaligned(data.len()) as *mut u8;
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` has room for `data.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Some(ngx_str_t {
            len: data.len(),
            data: p,
        })
    }

    /// Marks (or unmarks) the connection as holding our data: nginx must not
    /// finalize the request while we hold it.
    ///
    /// The bit is set on the request too: nginx only looks at the
    /// connection's bits for the main request, and a subrequest (an
    /// endpoint's fetch) must not be finalized while its job runs either.
    pub fn set_buffered(mut self, held: bool) {
        let set = |bits: u32| {
            if held {
                bits | IMAGE_BUFFERED
            } else {
                bits & !IMAGE_BUFFERED
            }
        };
        let r = self.raw_mut();
        r.set_buffered(set(r.buffered()));
        let c = r.connection;
        // SAFETY: the connection outlives its requests.
        unsafe { (*c).set_buffered(set((*c).buffered())) };
    }

    /// The response body must reach the filters in memory, not as file
    /// buffers; byte ranges are off (the output is not the original).
    pub fn want_body_in_memory(mut self) {
        let r = self.raw_mut();
        r.set_main_filter_need_in_memory(1);
        r.set_allow_ranges(0);
    }

    /// Turns byte ranges off: the response is not the original.
    pub fn disallow_ranges(mut self) {
        self.raw_mut().set_allow_ranges(0);
    }

    /// The response carries no body (HEAD).
    pub fn set_header_only(mut self) {
        self.raw_mut().set_header_only(1);
    }

    /// Whether the response header went out already.
    pub fn header_sent(self) -> bool {
        self.raw().header_sent() != 0
    }

    pub fn header_only(self) -> bool {
        self.raw().header_only() != 0
    }

    /// Keeps nginx from finalizing or freeing the request until
    /// [`unblock`](Self::unblock), as nginx's own thread-pool users do.
    pub fn block(mut self) {
        let mut main = self.main();
        let m = main.raw_mut();
        m.set_blocked(m.blocked() + 1);
        self.raw_mut().set_aio(1);
        self.set_buffered(true);
    }

    /// Undoes [`block`](Self::block).
    pub fn unblock(mut self) {
        let mut main = self.main();
        let m = main.raw_mut();
        m.set_blocked(m.blocked().saturating_sub(1));
        self.raw_mut().set_aio(0);
        self.set_buffered(false);
    }

    /// Lets the request carry on where nginx parked it: usually
    /// ngx_http_writer (flush and finalize), or the finalizer of a request
    /// whose client went away. The request may be freed by this call, so
    /// nothing may use it afterwards.
    pub fn resume(self) {
        let r = self.as_ptr();
        // SAFETY: the request and its connection are live until the handler
        // runs; nothing touches them afterwards.
        unsafe {
            let c = (*r).connection;
            if (*r).done() != 0 {
                if let Some(handler) = (*(*c).write).handler {
                    handler((*c).write);
                }
            } else if let Some(handler) = (*r).write_event_handler {
                handler(r);
                ngx_http_run_posted_requests(c);
            }
        }
    }

    /// Whether the client closed the connection or nginx gave up on it.
    pub fn client_gone(self) -> bool {
        // SAFETY: the connection and the main request outlive the request.
        unsafe {
            if (*self.raw().connection).error() != 0 {
                return true;
            }
            #[cfg(ngx_has_terminated)]
            if (*self.raw().main).terminated() != 0 {
                return true;
            }
        }
        false
    }

    /// The request's connection, for the layer's own bookkeeping.
    pub(super) fn connection_ptr(self) -> *mut ngx::ffi::ngx_connection_t {
        self.raw().connection
    }

    /// The connection closes after this response (`Connection: close`):
    /// set before the header goes out when the request cannot end at once.
    pub fn close_after_response(mut self) {
        self.raw_mut().set_keepalive(0);
    }

    /// Marks the connection broken (a response could not be sent).
    pub fn set_connection_error(self) {
        // SAFETY: the connection outlives the request.
        unsafe { (*self.raw().connection).set_error(1) };
    }

    /// Sets `flag` when nginx runs the request's cleanups: when the client
    /// goes away nginx runs them at once, even while the request is
    /// blocked, so a job polling the flag can stop early.
    pub fn set_on_cleanup(self, flag: &Arc<AtomicBool>) -> Result<(), ()> {
        // SAFETY: the request is live; nginx returns room for one cleanup
        // in its pool, or null.
        let cln = unsafe { ngx_http_cleanup_add(self.as_ptr(), 0) };
        if cln.is_null() {
            return Err(());
        }
        // The cleanup owns one reference to the flag, given back when it
        // runs (nginx runs each request cleanup exactly once).
        let data = Arc::into_raw(flag.clone());
        // SAFETY: `cln` was just allocated for us.
        unsafe {
            (*cln).handler = Some(set_flag);
            (*cln).data = data as *mut std::ffi::c_void;
        }
        Ok(())
    }

    /// Reads and drops the request body (a refused POST keeps the
    /// connection usable). `false` on failure.
    pub fn discard_body(self) -> bool {
        // SAFETY: the request is live.
        unsafe { ngx_http_discard_request_body(self.as_ptr()) == ngx::core::Status::NGX_OK.0 }
    }

    /// Answers `status` with nginx's own error page (or the location's
    /// `error_page` for it) in place of a response whose header our filter
    /// holds, as a filter module does: other modules' contexts are reset,
    /// ours is kept. Returns what the filter returns to nginx.
    pub fn filter_finalize(self, status: u16) -> ngx_int_t {
        // SAFETY: the request is live and its header not sent yet; the
        // module table is a static nginx only writes while loading it.
        unsafe {
            let module = std::ptr::addr_of_mut!(crate::ngx_http_image_module);
            ngx_http_filter_finalize_request(self.as_ptr(), module, status as ngx_int_t)
        }
    }

    /// Makes a strong `ETag` weak: the body is derived from the original's.
    pub fn weaken_etag(self) {
        // SAFETY: the request is live; nginx only edits the ETag header.
        unsafe { ngx_http_weak_etag(self.as_ptr()) }
    }

    /// Ends a request answered from a phase handler with `rc`.
    pub fn finalize(self, rc: ngx_int_t) {
        // SAFETY: the request is live; the caller returns NGX_DONE and does
        // not touch it again.
        unsafe { ngx_http_finalize_request(self.as_ptr(), rc) };
    }

    /// Writes a line to error.log with the request it belongs to (nginx's
    /// request log handler adds client, server and request line).
    pub fn log(self, level: LogLevel, message: fmt::Arguments) {
        let level = match level {
            LogLevel::Info => NGX_LOG_INFO,
            LogLevel::Error => NGX_LOG_ERR,
        };
        // SAFETY: the connection and its log live as long as the request.
        let log = unsafe { (*self.raw().connection).log };
        ngx_log_error!(level, log, "{}", message);
    }
}

/// An HTTP date (`Expires`, `Last-Modified`) as Unix seconds.
pub fn parse_http_time(value: &[u8]) -> Option<i64> {
    // SAFETY: nginx only reads `len` bytes of the value.
    let time = unsafe { ngx::ffi::ngx_parse_http_time(value.as_ptr() as *mut u8, value.len()) };
    // time_t is i64 here, narrower on some targets.
    #[allow(clippy::unnecessary_cast)]
    (time >= 0).then_some(time as i64)
}

/// The worker's cached clock, Unix seconds.
pub fn now() -> i64 {
    ngx::ffi::ngx_time() as i64
}

/// Request cleanup registered by [`Request::set_on_cleanup`].
unsafe extern "C" fn set_flag(data: *mut std::ffi::c_void) {
    guard((), || {
        // SAFETY: `data` is the reference `set_on_cleanup` leaked for this
        // cleanup, which runs once.
        let flag = unsafe { Arc::from_raw(data as *const AtomicBool) };
        flag.store(true, Ordering::Relaxed);
    })
}

impl Request {
    /// The query string, without the `?` (`$args`).
    pub fn query(&self) -> &[u8] {
        super::guard::bytes(&self.raw().args)
    }
}
