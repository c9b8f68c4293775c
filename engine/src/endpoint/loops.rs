//! Request loops (Cloudflare's 9403): the module marks every origin fetch
//! with its own `Via` token, and a request that arrives carrying it came
//! back to us. An endpoint SOURCE that is itself an endpoint URL would
//! transform an already transformed image; both are refused without
//! fetching.

use crate::{Error, ErrorKind};

/// The `received-by` the module writes into `Via` (RFC 9110 §7.6.3).
pub const VIA_TOKEN: &str = "nginx-image";

/// The `Via` entry the module adds for its own hop.
const VIA_HOP: &str = "1.1 nginx-image";

/// Whether a `Via` header value lists the module's token as a hop's
/// `received-by` (`1.1 nginx-image`, `HTTP/1.1 nginx-image (comment)`),
/// case-insensitively. A token that only appears inside a comment or as a
/// protocol name does not count.
pub fn via_has_token(via: &[u8]) -> bool {
    via.split(|&b| b == b',').any(|hop| {
        hop.split(|&b| b == b' ' || b == b'\t')
            .filter(|part| !part.is_empty())
            .nth(1)
            .is_some_and(|by| by.eq_ignore_ascii_case(VIA_TOKEN.as_bytes()))
    })
}

/// The `Via` value for an origin fetch: the hops the client's request
/// already passed, then ours.
pub fn via_with_token(incoming: Option<&[u8]>) -> Vec<u8> {
    match incoming.filter(|via| !via.iter().all(u8::is_ascii_whitespace)) {
        Some(via) => [via, b", ", VIA_HOP.as_bytes()].concat(),
        None => VIA_HOP.as_bytes().to_vec(),
    }
}

/// The error for a request that came back to the module.
pub fn loop_error(why: &str) -> Error {
    Error::new(ErrorKind::Loop, format!("request loop: {why}"))
}

/// Whether a decoded, normalised path lies under the endpoint's `prefix`
/// (compared segment by segment: `/cdn-cgi/image` covers
/// `/cdn-cgi/image/w=1/a.jpg` but not `/cdn-cgi/images/a.jpg`).
pub(super) fn under_prefix(path: &str, prefix: &str) -> bool {
    let mut path = path.split('/').filter(|s| !s.is_empty());
    let mut prefix = prefix.split('/').filter(|s| !s.is_empty()).peekable();
    if prefix.peek().is_none() {
        // An endpoint at "/" owns every path; every path source would be a
        // loop, which is what it is.
        return true;
    }
    prefix.all(|segment| path.next() == Some(segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_recognised_as_a_hop() {
        assert!(via_has_token(b"1.1 nginx-image"));
        assert!(via_has_token(b"1.0 fred, 1.1 NGINX-Image (Rust)"));
        assert!(via_has_token(b"HTTP/1.1 nginx-image,1.1 other"));
        assert!(via_has_token(b"1.0 a,\t1.1\tnginx-image"));
        assert!(!via_has_token(b""));
        assert!(!via_has_token(b"1.1 varnish"));
        assert!(!via_has_token(b"1.1 proxy (nginx-image)"));
        assert!(!via_has_token(b"nginx-image"));
        assert!(!via_has_token(b"1.1 nginx-images"));
    }

    #[test]
    fn our_hop_is_appended_to_the_incoming_chain() {
        assert_eq!(via_with_token(None), b"1.1 nginx-image");
        assert_eq!(via_with_token(Some(b"  ")), b"1.1 nginx-image");
        assert_eq!(
            via_with_token(Some(b"1.1 cdn")),
            b"1.1 cdn, 1.1 nginx-image"
        );
        assert!(via_has_token(&via_with_token(Some(b"1.1 cdn"))));
        assert_eq!(loop_error("x").status(), 508);
        assert_eq!(loop_error("x").code(), Some(9403));
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under_prefix("/cdn-cgi/image/w=1/a.jpg", "/cdn-cgi/image/"));
        assert!(under_prefix("/cdn-cgi/image", "/cdn-cgi/image/"));
        assert!(under_prefix("//cdn-cgi//image/x", "/cdn-cgi/image"));
        assert!(!under_prefix("/cdn-cgi/images/a.jpg", "/cdn-cgi/image/"));
        assert!(!under_prefix(
            "/uploads/cdn-cgi/image/a.jpg",
            "/cdn-cgi/image/"
        ));
        assert!(!under_prefix("/cdn-cgi", "/cdn-cgi/image/"));
        assert!(under_prefix("/anything", "/"));
    }
}
