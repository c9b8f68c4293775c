//! Assertions on the cache policy of error responses (`Cache-Control`,
//! `Image-Error`, the JSON body), shared by the error tests.

use super::Response;

/// The `max-age` of the response's only `Cache-Control`, if it has one.
pub fn max_age(resp: &Response) -> Option<u64> {
    let values = resp.headers_named("cache-control");
    if values.len() != 1 {
        return None;
    }
    values[0]
        .split(',')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
}

/// Asserts exactly one `Cache-Control: public, max-age=AGE`, and none of
/// the origin's `Expires`.
pub fn assert_cacheable(resp: &Response, age: u64) {
    let values = resp.headers_named("cache-control");
    assert_eq!(
        values,
        vec![format!("public, max-age={age}").as_str()],
        "Cache-Control of a cacheable error; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("expires").is_none(),
        "an error must not carry the origin's Expires; response:\n{}",
        resp.describe()
    );
}

/// Asserts exactly one `Cache-Control: no-store` (no `max-age`), and no
/// `Expires`.
pub fn assert_no_store(resp: &Response) {
    let values = resp.headers_named("cache-control");
    assert_eq!(
        values,
        vec!["no-store"],
        "Cache-Control of a transient error; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("expires").is_none(),
        "a transient error must not carry Expires; response:\n{}",
        resp.describe()
    );
}

/// Asserts the error row of the catalogue: status line, `Image-Error`,
/// JSON body (status, code, non-empty message) and the cache policy, and
/// that the origin's validators are gone. Returns the message.
pub fn assert_error_row(resp: &Response, status: u16, code: u16, cacheable: bool) -> String {
    let message = super::assert_image_error(resp, status, code);
    assert!(
        !message.trim().is_empty(),
        "the JSON error message is empty; response:\n{}",
        resp.describe()
    );
    if cacheable {
        assert_cacheable(resp, 60);
    } else {
        assert_no_store(resp);
    }
    for name in ["last-modified", "etag", "accept-ranges"] {
        assert!(
            resp.header(name).is_none(),
            "an error response must not carry {name}; response:\n{}",
            resp.describe()
        );
    }
    message
}
