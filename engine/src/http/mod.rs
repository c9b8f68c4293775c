//! The HTTP decisions of a transforming location, as pure functions the
//! glue calls with header values: validators per variant and
//! `If-None-Match` ([`etag`]), `format=auto` from `Accept` ([`negotiate`]),
//! what caches may keep ([`caching`]), and what is asked of and accepted
//! from the origin ([`origin`]).
//!
//! Decisions documented in the README ("Caching and CDNs"):
//! - A transformed response's only validator is its variant ETag; it
//!   carries no `Last-Modified`, because the original's date stays the same
//!   when options, format or configuration change the bytes. The
//!   conditional headers a client sends are evaluated here against the
//!   variant, never by nginx against the original nor by the origin.
//! - Without an origin ETag, one is derived from `Last-Modified` and the
//!   length; without either there is no validator and no `304`.

//!
//! The order a transforming location applies them in:
//!
//! ```text
//! request:  strip origin::NOT_FORWARDED (keep If-None-Match for later)
//!           Template::bind ─► Transform; Negotiation::settle (Accept)
//! header:   origin::check_unexpected_status, origin::check_encoding
//!           EntityTag::of_origin ─► Variant::new(transform).etag(origin)
//!           etag::if_none_match ─► 304 now, before any byte is decoded
//! response: ETag (variant), no Last-Modified, Vary: Accept if the
//!           template may negotiate (errors and fallbacks too),
//!           Cache-Control from caching::SuccessPolicy / error_scope
//! ```

pub mod caching;
pub mod etag;
pub mod negotiate;
pub mod origin;

pub use caching::{CacheControl, ErrorScope, SuccessPolicy};
pub use etag::{EntityTag, Variant};
pub use negotiate::Negotiation;
