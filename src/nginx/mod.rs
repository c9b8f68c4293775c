//! The one layer that touches nginx's C structures. Everything above it is
//! safe Rust that works with these handles:
//!
//! - [`Request`] (`request.rs`, `headers.rs`): a live request — module
//!   configuration and context, status, request and response headers, the
//!   bits nginx uses to hold a request (`buffered`, `blocked`), cleanups,
//!   resuming. Its safety contract is written once, on the type.
//! - `body.rs`: reading the body chain a filter receives ([`InChain`]) and
//!   sending a response through the filter chain ([`Sink`]).
//! - [`ThreadPool`] (`thread_pool.rs`): posting a job to an nginx thread
//!   pool and getting it back on the event loop.
//! - [`Timer`] (`timer.rs`): a one-shot event-loop timer tied to a
//!   request (`image_timeout` answered while the job is still out).
//! - [`Config`] (`config.rs`): the configuration being parsed — directive
//!   arguments, compiled values, handler and filter registration.
//! - `subrequest.rs`: subrequests (an endpoint's fetch), their headers,
//!   waking the parent; `resolver.rs`: host lookups with nginx's resolver.
//! - `upstream.rs`: whether a proxied origin is gone before the end of
//!   its body (closed, or silent for `proxy_read_timeout`).
//! - `variable.rs`: variables whose value is computed by a safe getter.
//! - [`FailureZone`] (`failure_zone.rs`): the shared-memory zone of
//!   `image_error_zone`.
//! - [`MetricsZone`] (`metrics_zone.rs`): the shared-memory counters of
//!   `image_status`.
//! - `client.rs`: noticing a client that left while its job waits or
//!   runs (the request's read handler, a test of the connection).
//! - `guard.rs`: panic containment for every `extern "C"` entry point.

mod body;
mod client;
mod config;
mod failure_zone;
mod guard;
mod headers;
mod metrics_zone;
mod request;
mod resolver;
mod subrequest;
mod thread_pool;
mod timer;
mod upstream;
mod variable;

pub use body::{flush, install_filters, pass_header, InChain, Sink};
pub use config::{arg_is, arg_text, parse_seconds, parse_size, ComplexValue, Config};
pub use failure_zone::{FailureZone, MIN_ZONE_SIZE};
pub use guard::guard;
pub use headers::{HeaderError, Tracked};
pub use metrics_zone::MetricsZone;
pub use request::{now, parse_http_time, LogLevel, ModuleCtx, Request};
pub use resolver::Lookup;
pub use thread_pool::ThreadPool;
pub use timer::Timer;
pub use upstream::OriginCut;
pub use variable::Getter;
