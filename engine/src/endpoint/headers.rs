//! Which client request headers an origin fetch carries. Cloudflare
//! anonymises origin requests ("no cookies, no auth, no custom headers")
//! because the results land in one public cache: a response personalised
//! for one visitor must not be served to the next. The fetch therefore
//! carries only what fetching needs, set by the module itself; with
//! `image_endpoint_pass_credentials on` the client's own headers go along
//! (cookies, authorisation, custom headers), for origins that need them and
//! operators who accept the caching consequence.
//!
//! Whatever the setting, headers that would change what comes back (ranges,
//! conditionals, content codings) or that belong to one connection are
//! never forwarded: the module needs the whole original, as bytes.

use std::borrow::Cow;

use super::loops::via_with_token;

/// The formats the engine decodes, in its order of preference: an origin
/// that negotiates must not answer with one it cannot read (JPEG XL, HEIC).
/// Still AVIFs are read, but last: they cost several times a JPEG to decode.
pub const ORIGIN_ACCEPT: &str = "image/webp,image/png,image/jpeg,image/gif;q=0.9,image/avif;q=0.8";

/// The anonymised fetch's `User-Agent`: names the module, not the visitor.
pub const ORIGIN_USER_AGENT: &str = "nginx-image";

/// Never forwarded: the fetch must be a plain, complete, identity-coded
/// GET (conditionals and ranges would give a 304 or a part; `Host` and
/// `Via` are set by the module; the rest are hop-by-hop).
const NEVER: &[&str] = &[
    "accept",
    "accept-encoding",
    "connection",
    "content-length",
    "content-type",
    "expect",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "proxy-connection",
    "range",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// One header of the origin request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginHeader<'a> {
    pub name: &'a str,
    pub value: Cow<'a, [u8]>,
}

/// Whether a client header may go to the origin.
pub fn forwarded(name: &str, pass_credentials: bool) -> bool {
    let name = name.trim().to_ascii_lowercase();
    if NEVER.contains(&name.as_str()) {
        return false;
    }
    pass_credentials
}

/// The headers of the origin request, given the client's (name, value)
/// pairs in their order: the module's `Accept`, a `User-Agent` (the
/// module's, or the client's when credentials pass), `Via` with the
/// module's token appended, then whatever [`forwarded`] lets through.
/// `Host` is not included: it depends on the source.
pub fn origin_headers<'a>(
    client: &[(&'a str, &'a [u8])],
    pass_credentials: bool,
) -> Vec<OriginHeader<'a>> {
    let incoming_via = client
        .iter()
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("via"))
        .map(|(_, value)| *value);
    let mut headers = vec![
        OriginHeader {
            name: "Accept",
            value: Cow::Borrowed(ORIGIN_ACCEPT.as_bytes()),
        },
        OriginHeader {
            name: "Via",
            value: Cow::Owned(via_with_token(incoming_via)),
        },
    ];
    let client_agent = client
        .iter()
        .any(|(name, _)| name.trim().eq_ignore_ascii_case("user-agent"));
    if !(pass_credentials && client_agent) {
        headers.push(OriginHeader {
            name: "User-Agent",
            value: Cow::Borrowed(ORIGIN_USER_AGENT.as_bytes()),
        });
    }
    headers.extend(
        client
            .iter()
            .filter(|(name, _)| forwarded(name, pass_credentials))
            .map(|&(name, value)| OriginHeader {
                name,
                value: Cow::Borrowed(value),
            }),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &[(&str, &[u8])] = &[
        ("Host", b"www.example.com"),
        ("Cookie", b"session=secret"),
        ("Authorization", b"Bearer t0ken"),
        ("Proxy-Authorization", b"Basic eA=="),
        ("X-Api-Key", b"k"),
        ("User-Agent", b"Mozilla/5.0"),
        ("Accept", b"image/avif,*/*"),
        ("Accept-Encoding", b"gzip, br"),
        ("Range", b"bytes=0-10"),
        ("If-None-Match", b"\"abc\""),
        ("Referer", b"https://www.example.com/private"),
        ("Via", b"1.1 cdn"),
        ("Connection", b"keep-alive"),
    ];

    fn names(headers: &[OriginHeader]) -> Vec<String> {
        headers
            .iter()
            .map(|h| h.name.to_ascii_lowercase())
            .collect()
    }

    fn value<'a>(headers: &'a [OriginHeader], name: &str) -> Option<&'a [u8]> {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }

    #[test]
    fn anonymised_fetches_carry_only_what_fetching_needs() {
        let headers = origin_headers(CLIENT, false);
        assert_eq!(names(&headers), ["accept", "via", "user-agent"]);
        assert_eq!(value(&headers, "accept"), Some(ORIGIN_ACCEPT.as_bytes()));
        assert_eq!(
            value(&headers, "user-agent"),
            Some(b"nginx-image".as_slice())
        );
        assert_eq!(
            value(&headers, "via"),
            Some(b"1.1 cdn, 1.1 nginx-image".as_slice())
        );
        for secret in [
            "cookie",
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "referer",
        ] {
            assert!(!forwarded(secret, false), "{secret}");
        }
    }

    #[test]
    fn passing_credentials_forwards_the_client_headers_but_never_fetch_changing_ones() {
        let headers = origin_headers(CLIENT, true);
        assert_eq!(
            names(&headers),
            [
                "accept",
                "via",
                "cookie",
                "authorization",
                "proxy-authorization",
                "x-api-key",
                "user-agent",
                "referer"
            ]
        );
        assert_eq!(
            value(&headers, "cookie"),
            Some(b"session=secret".as_slice())
        );
        assert_eq!(
            value(&headers, "user-agent"),
            Some(b"Mozilla/5.0".as_slice())
        );
        // The module's Accept wins over the client's: AVIF cannot be read.
        assert_eq!(value(&headers, "accept"), Some(ORIGIN_ACCEPT.as_bytes()));
        for never in [
            "Range",
            "If-None-Match",
            "accept-encoding",
            "HOST",
            "Connection",
            " via ",
        ] {
            assert!(!forwarded(never, true), "{never}");
        }
    }

    #[test]
    fn a_fetch_without_client_headers_still_has_its_own() {
        let headers = origin_headers(&[], true);
        assert_eq!(names(&headers), ["accept", "via", "user-agent"]);
        assert_eq!(value(&headers, "via"), Some(b"1.1 nginx-image".as_slice()));
    }
}
