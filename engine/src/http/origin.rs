//! What a transforming location asks of its origin and accepts from it.
//!
//! The module needs the whole original, uncompressed, and decides the
//! conditional answers itself (against the variant, see [`super::etag`]),
//! so some client headers must not reach the origin: with them a proxied
//! origin would answer a part of the original (`206`), a gzip body, or a
//! `304` for a variant the client does not have.

use crate::{Error, ErrorKind};

/// Request headers a transforming location never forwards, and why.
pub const NOT_FORWARDED: &[(&str, &str)] = &[
    ("Range", "the transform needs the whole original"),
    ("If-Range", "goes with Range"),
    (
        "Accept-Encoding",
        "the decoder needs the original uncompressed",
    ),
    (
        "If-None-Match",
        "validated against the variant, not the original",
    ),
    (
        "If-Modified-Since",
        "the original's date says nothing about the variant",
    ),
    (
        "If-Match",
        "a precondition on the variant, not the original",
    ),
    (
        "If-Unmodified-Since",
        "a precondition on the variant, not the original",
    ),
];

/// Whether `name` is one of [`NOT_FORWARDED`] (case-insensitive).
pub fn is_not_forwarded(name: &str) -> bool {
    NOT_FORWARDED
        .iter()
        .any(|(header, _)| header.eq_ignore_ascii_case(name.trim()))
}

/// Checks an origin's `Content-Encoding` (lines joined with `,`; `None`
/// when absent): only `identity` can be decoded. Anything else is the
/// origin ignoring that no encoding was asked for: 502/9509, never a 415
/// about a "gzip image".
pub fn check_encoding(content_encoding: Option<&str>) -> Result<(), Error> {
    let Some(value) = content_encoding else {
        return Ok(());
    };
    let foreign = value
        .split(',')
        .map(str::trim)
        .find(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
    match foreign {
        None => Ok(()),
        Some(coding) => Err(Error::new(
            ErrorKind::OriginServerError,
            format!(
                "the origin sent the image with Content-Encoding \"{}\" although none was asked for",
                coding.chars().filter(|c| !c.is_control()).take(40).collect::<String>()
            ),
        )),
    }
}

/// An origin status that makes no sense for the request the module sent
/// (no `Range`, no conditions): a part of the original (`206`), a range
/// refusal (`416`) or a `304`. 502/9509 rather than passed on as if it
/// were the image.
pub fn check_unexpected_status(status: u16) -> Result<(), Error> {
    let what = match status {
        206 => "a part of the image (206)",
        416 => "a range refusal (416)",
        304 => "\"not modified\" (304) to an unconditional request",
        _ => return Ok(()),
    };
    Err(Error::new(
        ErrorKind::OriginServerError,
        format!("the origin answered {what} although the whole image was asked for"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_conditions_and_encodings_are_not_forwarded() {
        for name in [
            "Range",
            "if-range",
            "ACCEPT-ENCODING",
            "If-None-Match",
            "If-Modified-Since",
            "If-Match",
            "If-Unmodified-Since",
        ] {
            assert!(is_not_forwarded(name), "{name}");
        }
        for name in ["Accept", "Host", "User-Agent", "Authorization", "Ranges"] {
            assert!(!is_not_forwarded(name), "{name}");
        }
    }

    #[test]
    fn only_identity_bodies_are_accepted() {
        assert!(check_encoding(None).is_ok());
        assert!(check_encoding(Some("")).is_ok());
        assert!(check_encoding(Some("identity")).is_ok());
        assert!(check_encoding(Some(" Identity , identity")).is_ok());
        for value in ["gzip", "br", "identity, gzip", "x-gzip", "deflate"] {
            let err = check_encoding(Some(value)).unwrap_err();
            assert_eq!((err.status(), err.code()), (502, Some(9509)), "{value}");
            assert!(err.message.contains("Content-Encoding"), "{}", err.message);
        }
        let err = check_encoding(Some("gz\r\nip")).unwrap_err();
        assert!(!err.message.contains('\r'), "{}", err.message);
    }

    #[test]
    fn partial_and_range_answers_are_origin_errors() {
        for status in [206, 416, 304] {
            let err = check_unexpected_status(status).unwrap_err();
            assert_eq!((err.status(), err.code()), (502, Some(9509)), "{status}");
        }
        for status in [200, 404, 403, 500, 301] {
            assert!(check_unexpected_status(status).is_ok(), "{status}");
        }
    }
}
