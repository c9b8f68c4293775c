//! The per-request state of the filter, kept in the request pool.
//!
//! ```text
//! Start ──header 200──► Reading ──last_buf──► Processing ──job done──► Sent
//!   │                     └─ too large ─────────────────────────────►  Sent
//!   └──other status───► PassThrough
//! ```

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use image_engine::{Error, Transform};
use ngx::core::Pool;
use ngx::ffi::ngx_http_request_t;

use crate::ngx_http_image_module;
use crate::util::{request_ctx, set_request_ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Options evaluated; the response header has not arrived yet.
    Start,
    /// Collecting the original's bytes.
    Reading,
    /// The original is with the thread pool (or being processed inline).
    Processing,
    /// Our response (image or error) went out; anything the origin still
    /// sends is dropped.
    Sent,
    /// Not ours to transform (not 200, subrequest...): pass untouched.
    PassThrough,
}

/// What the access log may want to know (`$image_*` variables).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub status: Option<u16>,
    pub error_code: Option<u16>,
    pub original_bytes: Option<usize>,
    pub output_bytes: Option<usize>,
    pub original_size: Option<(u32, u32)>,
    pub process_ms: Option<u64>,
}

pub struct RequestCtx {
    pub state: State,
    /// The parsed options, or why they are invalid.
    pub transform: Result<Transform, Error>,
    /// The client asked for HEAD; the request runs as GET so the original's
    /// body arrives and the output's Content-Length can be computed.
    pub head: bool,
    /// The original, as it arrives.
    pub input: Vec<u8>,
    /// The body we send (image or JSON error); nginx's buffer points into
    /// it, so it must live as long as the request.
    pub output: Vec<u8>,
    /// Set when the client goes away; the job polls it.
    pub cancel: Arc<AtomicBool>,
    /// Whether the cancel cleanup is registered.
    pub cleanup_added: bool,
    /// The evaluated option string (part of the default backoff key).
    pub options: String,
    /// A job waiting for a free slot (see `scheduler`).
    pub pending: Option<Box<crate::task::Job>>,
    pub stats: Stats,
}

impl RequestCtx {
    pub fn new(options: String, transform: Result<Transform, Error>) -> Self {
        RequestCtx {
            state: State::Start,
            transform,
            options,
            pending: None,
            stats: Stats::default(),
            head: false,
            input: Vec::new(),
            output: Vec::new(),
            cancel: Arc::new(AtomicBool::new(false)),
            cleanup_added: false,
        }
    }
}

/// The request's context, if the module has taken an interest in it.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn get<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut RequestCtx> {
    // SAFETY: our slot only ever holds a RequestCtx allocated by `create`.
    unsafe { request_ctx::<RequestCtx>(r, &*std::ptr::addr_of!(ngx_http_image_module)) }
}

/// Allocates a context in the request pool (dropped with the pool) and
/// attaches it to the request.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn create<'a>(
    r: *mut ngx_http_request_t,
    ctx: RequestCtx,
) -> Option<&'a mut RequestCtx> {
    // SAFETY: the pool outlives every use of the context; Pool::allocate
    // registers a cleanup that drops the value when the pool is destroyed.
    unsafe {
        let pool = Pool::from_ngx_pool((*r).pool);
        let p = pool.allocate(ctx);
        if p.is_null() {
            return None;
        }
        set_request_ctx(r, &*std::ptr::addr_of!(ngx_http_image_module), p);
        Some(&mut *p)
    }
}
