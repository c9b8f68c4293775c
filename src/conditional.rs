//! Validators and conditional requests of a transforming location.
//!
//! Before the original is fetched, the request headers that describe the
//! *original* are taken off the request (`image_engine::http::origin::
//! NOT_FORWARDED`): `Range`/`If-Range` (the transform needs the whole
//! original), `Accept-Encoding` (the decoder needs identity bytes) and the
//! conditional headers. Removing them here, in the precontent phase, keeps
//! nginx's own not_modified and range filters (which run before ours) from
//! answering `304`/`206` for the original, and keeps `proxy_pass` from
//! forwarding them, so no origin `304` can reach a client whose variant
//! changed. The client's `If-None-Match` is kept in the context and
//! compared with the variant's validator as soon as the origin's response
//! header arrives: a match is a `304` before a byte is decoded.

use image_engine::http::etag::{if_none_match, EntityTag, Variant};
use image_engine::http::origin::is_not_forwarded;

use crate::ctx::RequestCtx;
use crate::nginx::{HeaderError, Request};

/// Keeps the client's `If-None-Match` and removes the headers the origin
/// must not see.
pub fn prepare(request: Request, ctx: &mut RequestCtx) -> Result<(), HeaderError> {
    ctx.if_none_match = request
        .header_in_joined("If-None-Match")
        .map(|value| String::from_utf8_lossy(&value).into_owned());
    request.remove_headers_in(is_not_forwarded)
}

/// The validator of the response being made: the variant (the settled
/// options, the engine's output version) and the origin's `ETag`, or one
/// derived from its `Last-Modified` and length. `None` without either, or
/// when the options are invalid (an error has no validator).
pub fn variant_etag(request: Request, ctx: &RequestCtx) -> Option<EntityTag> {
    let transform = ctx.transform.as_ref().ok()?;
    let etag = request
        .header_out("ETag")
        .and_then(|value| std::str::from_utf8(value).ok());
    let length = u64::try_from(request.content_length()).ok();
    let origin = EntityTag::of_origin(etag, request.last_modified_time(), length)?;
    Some(Variant::new(transform, b"").etag(&origin))
}

/// Whether the client already has the variant (`If-None-Match` matches).
pub fn not_modified(ctx: &RequestCtx) -> bool {
    match (&ctx.if_none_match, &ctx.etag) {
        (Some(header), Some(current)) => if_none_match(header, current),
        _ => false,
    }
}
