//! The error catalogue: every failure the module can report, with its HTTP
//! status, its machine-readable code and whether caches may keep it.
//!
//! Codes follow Cloudflare Images' `Cf-Resized: err=CODE` numbering where one
//! exists; statuses follow Imagizer's table. This is the only place that maps
//! a failure to a status, so the glue never invents one.

use std::fmt;

/// What went wrong, independent of the words used to describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An option is unknown, malformed or out of range.
    InvalidOption,
    /// An option or output format is not allowed in this location.
    NotAllowed,
    /// The origin answered 404.
    OriginNotFound,
    /// The origin answered another 4xx; the status is passed through.
    OriginClientError(u16),
    /// The origin answered 5xx.
    OriginServerError,
    /// The origin could not be reached (refused, reset, DNS).
    OriginUnreachable,
    /// The origin did not answer in time.
    OriginTimeout,
    /// The body is not an image at all (HTML, text, JSON...).
    NotAnImage,
    /// The image format is recognised but not supported.
    UnsupportedFormat,
    /// The image is corrupt or truncated.
    CorruptImage,
    /// The original is larger than `image_buffer` bytes.
    OriginalTooLarge,
    /// The image has too many pixels, a side that is too long, or an
    /// animation with too many pixels in all.
    TooManyPixels,
    /// Processing took longer than `image_timeout`.
    ProcessingTimeout,
    /// Too many transformations are in flight; try again later.
    Overloaded,
    /// The request came back to the module (loop).
    Loop,
    /// The request method cannot be transformed.
    MethodNotAllowed,
    /// The client went away; the work was abandoned.
    Cancelled,
    /// A bug of ours (panic, unexpected state).
    Internal,
    /// The endpoint's SOURCE is not a valid path or URL: spaces, unescaped
    /// Unicode, bad escapes, a scheme other than http/https, credentials
    /// in the URL, or `..` above the root. Cloudflare lists 9406 and 9419
    /// together for these; the one code used is 9406.
    InvalidSource,
    /// The SOURCE's host is not in `image_endpoint_hosts_allowed`, or it
    /// resolves to an address the endpoint may not fetch from (private,
    /// loopback, link-local...). Imagizer's dynamic-origin refusal.
    SourceNotAllowed,
    /// The SOURCE's host name could not be resolved.
    DnsFailure,
    /// The origin redirected to a URL the endpoint may not follow.
    InvalidRedirect,
    /// The origin redirected more than `image_endpoint_max_redirects` times.
    TooManyRedirects,
}

impl ErrorKind {
    /// The HTTP status sent to the client.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidOption => 400,
            ErrorKind::NotAllowed => 401,
            ErrorKind::OriginNotFound => 404,
            ErrorKind::OriginClientError(status) => status,
            ErrorKind::OriginServerError => 502,
            ErrorKind::OriginUnreachable => 502,
            ErrorKind::OriginTimeout => 504,
            ErrorKind::NotAnImage => 415,
            ErrorKind::UnsupportedFormat => 415,
            ErrorKind::CorruptImage => 400,
            ErrorKind::OriginalTooLarge => 413,
            ErrorKind::TooManyPixels => 413,
            ErrorKind::ProcessingTimeout => 504,
            ErrorKind::Overloaded => 503,
            ErrorKind::Loop => 508,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Cancelled => 499,
            ErrorKind::Internal => 500,
            ErrorKind::InvalidSource => 400,
            ErrorKind::SourceNotAllowed => 401,
            // The origin side failed: Imagizer's 502 "unexpected error with
            // the image backend".
            ErrorKind::DnsFailure => 502,
            ErrorKind::InvalidRedirect => 502,
            ErrorKind::TooManyRedirects => 502,
        }
    }

    /// The machine-readable code sent as `Image-Error: err=CODE`, if any.
    pub fn code(self) -> Option<u16> {
        Some(match self {
            ErrorKind::InvalidOption | ErrorKind::NotAllowed => 9401,
            ErrorKind::OriginNotFound => 9404,
            ErrorKind::OriginClientError(_) => 9408,
            ErrorKind::OriginServerError => 9509,
            ErrorKind::OriginUnreachable => 9504,
            ErrorKind::OriginTimeout => 9505,
            ErrorKind::NotAnImage => 9412,
            ErrorKind::UnsupportedFormat => 9520,
            ErrorKind::CorruptImage => 9523,
            ErrorKind::OriginalTooLarge => 9402,
            ErrorKind::TooManyPixels => 9413,
            ErrorKind::ProcessingTimeout => 9529,
            ErrorKind::Overloaded => 9522,
            ErrorKind::Loop => 9403,
            ErrorKind::Internal => 9500,
            ErrorKind::InvalidSource => 9406,
            ErrorKind::SourceNotAllowed => 9401,
            ErrorKind::DnsFailure => 9407,
            ErrorKind::InvalidRedirect => 9420,
            ErrorKind::TooManyRedirects => 9421,
            ErrorKind::MethodNotAllowed | ErrorKind::Cancelled => return None,
        })
    }

    /// The failure that an origin's non-200 answer stands for, if any.
    /// `origin_answered` is false when nginx made the status up because the
    /// origin could not be reached or did not answer in time (nginx says
    /// 502 and 504 then); redirects and other non-errors are `None` and
    /// pass through untouched.
    pub fn from_origin_status(status: u16, origin_answered: bool) -> Option<ErrorKind> {
        match status {
            // A part of the original, or a refused range, is never the
            // image: the module asks for the whole file.
            206 | 416 => Some(ErrorKind::OriginServerError),
            404 => Some(ErrorKind::OriginNotFound),
            400..=499 => Some(ErrorKind::OriginClientError(status)),
            504 if !origin_answered => Some(ErrorKind::OriginTimeout),
            500..=599 if !origin_answered => Some(ErrorKind::OriginUnreachable),
            500..=599 => Some(ErrorKind::OriginServerError),
            _ => None,
        }
    }

    /// Transient failures must never be cached: the next try may succeed.
    /// An origin's 408 (timeout), 425 (too early) and 429 (rate limited)
    /// are about that moment, not about the image.
    pub fn is_transient(self) -> bool {
        matches!(self.status(), 408 | 425 | 429 | 499 | 500 | 502 | 503 | 504)
    }

    /// Failures caused by our own code rather than by the request or origin;
    /// they are logged at `error` level instead of `info`.
    pub fn is_internal(self) -> bool {
        matches!(self, ErrorKind::Internal)
    }
}

/// A failure with a short sentence a person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn code(&self) -> Option<u16> {
        self.kind.code()
    }

    /// The JSON body of an error response:
    /// `{"status": 400, "code": 9401, "error": "..."}` (`code` is null when
    /// the failure has none).
    pub fn to_json(&self) -> String {
        let code = match self.code() {
            Some(code) => code.to_string(),
            None => "null".to_string(),
        };
        format!(
            "{{\"status\": {}, \"code\": {}, \"error\": \"{}\"}}\n",
            self.status(),
            code,
            json_escape(&self.message)
        )
    }

    /// The value of the `Image-Error` response header, if the failure has a
    /// code.
    pub fn header_value(&self) -> Option<String> {
        self.code().map(|code| format!("err={code}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_carries_status_code_and_escaped_message() {
        let err = Error::new(ErrorKind::InvalidOption, "bad \"width\"\n");
        assert_eq!(
            err.to_json(),
            "{\"status\": 400, \"code\": 9401, \"error\": \"bad \\\"width\\\"\\n\"}\n"
        );
        assert_eq!(err.header_value().as_deref(), Some("err=9401"));
    }

    #[test]
    fn origin_client_errors_keep_their_status() {
        assert_eq!(ErrorKind::OriginClientError(403).status(), 403);
        assert_eq!(ErrorKind::OriginClientError(410).code(), Some(9408));
    }

    #[test]
    fn transient_failures_are_the_ones_caches_must_not_keep() {
        for kind in [
            ErrorKind::OriginServerError,
            ErrorKind::OriginTimeout,
            ErrorKind::Overloaded,
            ErrorKind::Internal,
            ErrorKind::Cancelled,
            ErrorKind::ProcessingTimeout,
            ErrorKind::OriginClientError(408),
            ErrorKind::OriginClientError(425),
            ErrorKind::OriginClientError(429),
        ] {
            assert!(kind.is_transient(), "{kind:?}");
        }
        for kind in [
            ErrorKind::InvalidOption,
            ErrorKind::OriginNotFound,
            ErrorKind::NotAnImage,
            ErrorKind::CorruptImage,
            ErrorKind::TooManyPixels,
            ErrorKind::OriginClientError(403),
            ErrorKind::OriginClientError(410),
        ] {
            assert!(!kind.is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn origin_statuses_map_to_the_catalogue() {
        use ErrorKind::*;
        let cases = [
            (404, true, Some(OriginNotFound)),
            (403, true, Some(OriginClientError(403))),
            (401, true, Some(OriginClientError(401))),
            (410, true, Some(OriginClientError(410))),
            (500, true, Some(OriginServerError)),
            (503, true, Some(OriginServerError)),
            (504, true, Some(OriginServerError)),
            (502, false, Some(OriginUnreachable)),
            (504, false, Some(OriginTimeout)),
            (301, true, None),
            (304, true, None),
            (204, true, None),
            (206, true, Some(OriginServerError)),
            (416, true, Some(OriginServerError)),
        ];
        for (status, answered, kind) in cases {
            assert_eq!(
                ErrorKind::from_origin_status(status, answered),
                kind,
                "{status} answered={answered}"
            );
        }
        assert_eq!(OriginServerError.status(), 502);
        assert_eq!(OriginServerError.code(), Some(9509));
        assert_eq!(OriginTimeout.status(), 504);
        assert_eq!(OriginUnreachable.code(), Some(9504));
    }

    #[test]
    fn endpoint_failures_have_cloudflare_codes_and_imagizer_statuses() {
        use ErrorKind::*;
        let cases = [
            (InvalidSource, 400, 9406),
            (SourceNotAllowed, 401, 9401),
            (DnsFailure, 502, 9407),
            (InvalidRedirect, 502, 9420),
            (TooManyRedirects, 502, 9421),
        ];
        for (kind, status, code) in cases {
            assert_eq!(kind.status(), status, "{kind:?}");
            assert_eq!(kind.code(), Some(code), "{kind:?}");
        }
        // A refused source is the request's fault and may be cached; an
        // origin that cannot be resolved or redirects badly may recover.
        assert!(!InvalidSource.is_transient());
        assert!(!SourceNotAllowed.is_transient());
        assert!(DnsFailure.is_transient());
        assert!(TooManyRedirects.is_transient());
    }

    #[test]
    fn method_not_allowed_has_no_code() {
        let err = Error::new(ErrorKind::MethodNotAllowed, "only GET and HEAD");
        assert_eq!(err.status(), 405);
        assert!(err.header_value().is_none());
        assert!(err.to_json().contains("\"code\": null"));
    }
}
