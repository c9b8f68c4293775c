//! Loop detection through `Via`: the module adds its token to the `Via`
//! header of the requests it sends to an origin (`$image_via`), and refuses
//! a request that arrives carrying it (it came back to a transforming
//! location: Cloudflare's error 9403-style loop).

/// The token the module puts in `Via`.
pub const TOKEN: &str = "nginx-image";

/// Whether a `Via` header value names the module as one of its hops
/// (`1.1 nginx-image`, possibly among others, comma-separated).
pub fn carries_token(via: &[u8]) -> bool {
    via.split(|&b| b == b',').any(|hop| {
        hop.split(|&b| b == b' ')
            .filter(|part| !part.is_empty())
            .nth(1)
            .is_some_and(|by| by.eq_ignore_ascii_case(TOKEN.as_bytes()))
    })
}

/// The `Via` value to send on: the incoming one (if any) with the module's
/// hop appended.
pub fn with_token(incoming: Option<&[u8]>) -> String {
    let hop = format!("1.1 {TOKEN}");
    match incoming {
        Some(via) if !via.is_empty() => format!("{}, {hop}", String::from_utf8_lossy(via)),
        _ => hop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_among_hops() {
        assert!(carries_token(b"1.1 nginx-image"));
        assert!(carries_token(b"1.0 fred, 1.1 NGINX-IMAGE"));
        assert!(carries_token(b"1.1 proxy,1.1  nginx-image (comment)"));
    }

    #[test]
    fn other_hops_are_not_loops() {
        assert!(!carries_token(b""));
        assert!(!carries_token(b"1.1 varnish"));
        assert!(!carries_token(b"nginx-image"));
        assert!(!carries_token(b"1.1 nginx-image-other"));
    }

    #[test]
    fn appends_the_hop() {
        assert_eq!(with_token(None), "1.1 nginx-image");
        assert_eq!(with_token(Some(b"")), "1.1 nginx-image");
        assert_eq!(with_token(Some(b"1.0 fred")), "1.0 fred, 1.1 nginx-image");
        assert!(carries_token(with_token(Some(b"1.0 fred")).as_bytes()));
    }
}
