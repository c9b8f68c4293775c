//! The characters an endpoint URL may contain as it arrived on the request
//! line: printable ASCII that RFC 3986 allows, with well-formed `%XX`
//! escapes. Cloudflare refuses spaces and unescaped Unicode (9406); so do
//! we, before any parser gets a chance to be lenient about them.

use super::invalid;
use crate::Error;

/// Checks `raw` and returns it as text (it is ASCII once checked).
pub(super) fn check(raw: &[u8]) -> Result<&str, Error> {
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        match byte {
            b' ' => return Err(invalid("the URL contains a space; escape it as %20")),
            b'%' => {
                let escape = raw.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(invalid("the URL contains a malformed %-escape"));
                }
                i += 3;
                continue;
            }
            0x80.. => {
                return Err(invalid(
                    "the URL contains unescaped Unicode; percent-encode it as UTF-8",
                ))
            }
            _ if !allowed(byte) => {
                return Err(invalid(
                    "the URL contains a character that must be percent-encoded",
                ))
            }
            _ => {}
        }
        i += 1;
    }
    // Every byte is ASCII by now.
    std::str::from_utf8(raw).map_err(|_| invalid("the URL is not valid text"))
}

/// RFC 3986 unreserved and reserved characters (`%` is handled apart).
fn allowed(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte)
}

/// Percent-decodes `text` into UTF-8 without control characters: what a
/// path segment or the options may hold once decoded.
pub(super) fn decode(text: &str, what: &str) -> Result<String, Error> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| invalid(format!("the {what} is not UTF-8 once decoded")))?;
    if decoded.chars().any(char::is_control) {
        return Err(invalid(format!(
            "the {what} contains a control character once decoded"
        )));
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn refused(raw: &[u8]) -> String {
        let err = check(raw).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidSource);
        assert_eq!((err.status(), err.code()), (400, Some(9406)));
        err.message
    }

    #[test]
    fn ordinary_urls_pass_unchanged() {
        let raw = b"/cdn-cgi/image/w=80,q=75/https://a.example/x%20y.jpg?v=1&t=2#f";
        assert_eq!(check(raw).unwrap().as_bytes(), raw);
    }

    #[test]
    fn spaces_unicode_and_bad_escapes_are_refused() {
        assert!(refused(b"/a b.jpg").contains("space"));
        assert!(refused("/caf\u{e9}.jpg".as_bytes()).contains("Unicode"));
        assert!(refused(b"/a%2.jpg").contains("%-escape"));
        assert!(refused(b"/a%zz.jpg").contains("%-escape"));
        assert!(refused(b"/a%").contains("%-escape"));
        for byte in [
            b'"', b'<', b'>', b'\\', b'^', b'`', b'{', b'|', b'}', 0, b'\t', 0x7f,
        ] {
            refused(&[b'/', b'a', byte]);
        }
    }

    #[test]
    fn decoding_refuses_invalid_utf8_and_control_characters() {
        assert_eq!(decode("caf%C3%A9", "path").unwrap(), "caf\u{e9}");
        assert_eq!(decode("a%2Fb", "path").unwrap(), "a/b");
        assert!(decode("a%FFb", "path")
            .unwrap_err()
            .message
            .contains("UTF-8"));
        assert!(decode("a%00b", "path")
            .unwrap_err()
            .message
            .contains("control"));
        assert!(decode("a%0Ab", "path")
            .unwrap_err()
            .message
            .contains("control"));
    }
}
