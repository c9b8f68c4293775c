//! The content-phase endpoint's pure logic: a request for
//! `PREFIX/OPTIONS/SOURCE` (Cloudflare's `/cdn-cgi/image/width=80/uploads/a.jpg`)
//! split into its options and a [`Source`], and the rules an origin fetch
//! follows: which hosts ([`HostsAllowed`]) and addresses
//! ([`address::check_addresses`]) it may reach, which headers it carries
//! ([`headers::origin_headers`]), how redirects are followed
//! ([`redirect::follow`]) and how loops are caught ([`loops`]).
//!
//! ```text
//! split(prefix, raw request target)
//!     syntax::check ─► PREFIX segments ─► OPTIONS (decoded) ─► SOURCE
//!     SOURCE = /path       ─► PathSource (decoded, normalised)  ─► subrequest
//!            | http(s)://… ─► UrlSource (hosts allowed, then DNS + address check)
//! ```
//!
//! Every refusal is an [`Error`] from the one catalogue: bad syntax 400/9406,
//! a host or address that is not allowed 401, a loop 508/9403, a bad
//! redirect 9420, too many 9421, a failed lookup 9407.

mod absolute;
pub mod address;
pub mod headers;
mod hosts;
pub mod loops;
mod path;
pub mod redirect;
mod rules;
mod syntax;

pub use absolute::UrlSource;
pub use hosts::{HostPattern, HostsAllowed};
pub use path::PathSource;
pub use rules::{lookup_error, resolver_state, EndpointRules, UrlAdmission};

use crate::{Error, ErrorKind};

/// Where the original image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path on this server, fetched by a subrequest.
    Path(PathSource),
    /// An absolute URL, fetched through `image_endpoint_upstream`.
    Url(UrlSource),
}

/// An endpoint request taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRequest {
    /// The OPTIONS segment, percent-decoded, for [`crate::parse`].
    pub options: String,
    pub source: Source,
}

/// Splits the raw request target (`r->unparsed_uri`: path and query as the
/// client sent them, before nginx decoded or merged anything, so that
/// `https://` survives) of a request to the endpoint at `prefix` (the
/// location's literal prefix, e.g. `/cdn-cgi/image/`).
///
/// A SOURCE that is an endpoint URL itself (path or absolute) is a loop.
pub fn split(prefix: &str, target: &[u8]) -> Result<EndpointRequest, Error> {
    let target = syntax::check(target)?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let rest = strip_prefix(path, prefix)?;
    let (options, source) = rest.split_once('/').unwrap_or((rest, ""));
    if options.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!("no options: expected {prefix}OPTIONS/SOURCE"),
        ));
    }
    let options = syntax::decode(options, "options")?;
    let source = match query {
        Some(query) => format!("{source}?{query}"),
        None => source.to_string(),
    };
    let source = parse_source(&source)?;
    if is_endpoint_url(&source, prefix) {
        return Err(loops::loop_error(
            "the source is itself an endpoint URL (an already transformed image)",
        ));
    }
    Ok(EndpointRequest { options, source })
}

/// Parses SOURCE as it follows the options (no leading slash): an absolute
/// http(s) URL (also percent-encoded whole, `https%3A%2F%2F…`, as some
/// HTML templates write it), another scheme (refused), or a path.
fn parse_source(raw: &str) -> Result<Source, Error> {
    if raw.is_empty() || raw.starts_with('?') {
        return Err(invalid("no SOURCE after the options"));
    }
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if lower.starts_with("http%3a") || lower.starts_with("https%3a") {
        let decoded = syntax::decode(raw, "source URL")?;
        syntax::check(decoded.as_bytes())?;
        return UrlSource::parse(&decoded).map(Source::Url);
    }
    if has_scheme(raw) {
        return UrlSource::parse(raw).map(Source::Url);
    }
    PathSource::parse(&format!("/{raw}")).map(Source::Path)
}

/// `scheme:/…`: RFC 3986 scheme characters, then a colon and a slash. A
/// first path segment with a colon in it (`/a:b.jpg`) stays a path.
fn has_scheme(raw: &str) -> bool {
    let Some((scheme, rest)) = raw.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && rest.starts_with('/')
}

/// Whether the source's path lies under the endpoint's own prefix.
fn is_endpoint_url(source: &Source, prefix: &str) -> bool {
    match source {
        Source::Path(path) => loops::under_prefix(&path.uri, prefix),
        // Another site's URL under the same prefix is an image some
        // endpoint already transformed (the `/` prefix names no such URL).
        Source::Url(url) if prefix.split('/').any(|s| !s.is_empty()) => {
            let path = percent_encoding::percent_decode_str(url.url().path()).decode_utf8_lossy();
            loops::under_prefix(&path, prefix)
        }
        Source::Url(_) => false,
    }
}

/// Removes the prefix's segments from the raw path. nginx routed the
/// request here by its decoded, merged URI, so the raw one may spell the
/// prefix with escapes or doubled slashes; compare decoded segments.
fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Result<&'a str, Error> {
    let mut rest = path.trim_start_matches('/');
    for expected in prefix.split('/').filter(|s| !s.is_empty()) {
        let (segment, after) = rest.split_once('/').unwrap_or((rest, ""));
        if syntax::decode(segment, "path")? != expected {
            return Err(invalid(format!(
                "the URL does not start with {prefix}: expected {prefix}OPTIONS/SOURCE"
            )));
        }
        rest = after.trim_start_matches('/');
    }
    Ok(rest)
}

/// An [`ErrorKind::InvalidSource`] error (400/9406).
fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidSource, message)
}

#[cfg(test)]
mod tests;
