//! The per-request state of the module, kept in the request pool and
//! reached through [`Request::ctx`](crate::nginx::Request::ctx).
//!
//! ```text
//!           phase.rs: options evaluated (or refused: answered at once)
//!             │
//! Start ──header 200──► Reading ──last_buf──► Processing ──job done──► Sent
//!   │   (filter.rs)        │      (filter.rs)     (offload.rs:        ▲
//!   │                      │                       waiting or running) │
//!   │                      └─ too large / not in memory ───────────────┤
//!   ├──origin error, invalid options, too large (Content-Length) ──────┘
//!   └──other status──► PassThrough
//! ```
//!
//! `Sent`: our response (image, original or error) went out through the
//! filters after ours; what the origin still sends is dropped.
//! `PassThrough`: not ours to transform, or a response we sent from the
//! top of the chain (a refusal from the phase handler), which passes our
//! own filters untouched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use image_engine::compat::image_filter;
use image_engine::endpoint::Source;
use image_engine::http::EntityTag;
use image_engine::{Error, Transform};

use crate::job::Job;
use crate::nginx::{ModuleCtx, Request, Sink, Timer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Options evaluated; the response header has not arrived yet.
    Start,
    /// Collecting the original's bytes.
    Reading,
    /// The original is with the thread pool (waiting or running), or being
    /// processed inline.
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
    /// How long the engine ran (`image_status`'s histogram).
    pub processing: Option<std::time::Duration>,
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
    /// Where the result of the transformation enters the filter chain:
    /// `Next` when the original came through our body filter.
    pub sink: Sink,
    /// Set when the client goes away; the job polls it.
    pub cancel: Arc<AtomicBool>,
    /// Whether the cancel cleanup is registered.
    pub cleanup_added: bool,
    /// The evaluated option string (part of the default backoff key).
    pub options: String,
    /// The client's `If-None-Match`, taken off the request before the
    /// original is fetched (see `conditional`); compared with the variant.
    pub if_none_match: Option<String>,
    /// The variant's validator, once the origin's header is known.
    pub etag: Option<EntityTag>,
    /// The bytes of this location's responses may differ by `Accept`:
    /// every response carries `Vary: Accept`.
    pub vary_accept: bool,
    /// A job waiting for a free slot (see `scheduler`).
    pub pending: Option<Box<Job>>,
    /// `image_timeout` for the job on the pool: answers 504 from the event
    /// loop if the job is still out when it fires (see `offload`).
    pub deadline: Option<Timer>,
    /// The request is held (`Request::block`) for a waiting or running job.
    pub blocked: bool,
    pub stats: Stats,
    /// When the origin last sent part of the original (see `filter`: an
    /// origin that went quiet until `proxy_read_timeout` is a 504).
    pub last_input: Option<std::time::Instant>,
    /// On an endpoint's fetch (a subrequest): the endpoint request that
    /// sends what the fetch produced (see `endpoint.rs`).
    pub fetch_for: Option<Request>,
    /// On an endpoint request: its fetch and what came back.
    pub endpoint: Option<Box<EndpointState>>,
    /// In an `image_filter` location: the request's settings (see
    /// `image_filter.rs`).
    pub image_filter: Option<image_filter::Settings>,
}

/// Where an endpoint request (`image_endpoint`) stands.
pub struct EndpointState {
    /// What is being fetched (changes when a redirect is followed).
    pub source: Source,
    /// The running fetch.
    pub fetch: Option<Request>,
    /// Redirects followed so far.
    pub redirects: u32,
    /// For an absolute source: the URL to fetch, pinned to the checked
    /// address, and the `Host` it is fetched for (`$image_source_url`,
    /// `$image_source_host`).
    pub url: Option<(String, String)>,
    /// What the fetch handed over, once it has.
    pub outcome: Option<Outcome>,
}

/// What an endpoint's fetch hands to the endpoint request.
pub enum Outcome {
    /// The response (image or error) is prepared on the endpoint request:
    /// headers set, body in its `output`.
    Ready,
    /// The source redirected (status, `Location`).
    Redirect(u16, Option<Vec<u8>>),
}

// SAFETY: RequestCtx is the only type the module keeps in its context slot.
unsafe impl ModuleCtx for RequestCtx {}

/// Hands the response a fetch prepared (`fetch`'s output and statistics)
/// to the endpoint request `home`, whose write handler sends it once the
/// fetch is finalized.
pub fn hand_over(home: Request, fetch: &mut RequestCtx, outcome: Outcome) {
    if let Some(ctx) = home.ctx::<RequestCtx>() {
        ctx.output = std::mem::take(&mut fetch.output);
        ctx.stats = fetch.stats.clone();
        if let Some(state) = ctx.endpoint.as_mut() {
            state.outcome = Some(outcome);
        }
    }
}

impl RequestCtx {
    pub fn new(options: String, transform: Result<Transform, Error>) -> Self {
        RequestCtx {
            state: State::Start,
            transform,
            options,
            pending: None,
            if_none_match: None,
            etag: None,
            vary_accept: false,
            deadline: None,
            blocked: false,
            stats: Stats::default(),
            head: false,
            input: Vec::new(),
            output: Vec::new(),
            sink: Sink::Next,
            cancel: Arc::new(AtomicBool::new(false)),
            cleanup_added: false,
            fetch_for: None,
            endpoint: None,
            last_input: None,
            image_filter: None,
        }
    }

    /// The request whose location configuration applies and to which the
    /// response goes: the endpoint request for its fetch, else `request`.
    pub fn home(&self, request: Request) -> Request {
        self.fetch_for.unwrap_or(request)
    }

    /// Whether the client went away (the request's cleanup ran).
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
