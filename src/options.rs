//! Evaluating `image_transform` for one request: substitute variables, then
//! let the engine parse and validate the result.

use image_engine::{Error, ErrorKind, Policy, Transform};
use ngx::ffi::{ngx_http_complex_value, ngx_http_complex_value_t, ngx_http_request_t, ngx_str_t};

use crate::util::str_bytes;

/// The request's transformation, or why its options are invalid.
///
/// # Safety
/// `r` must be a live request and `cv` a value compiled at configuration.
pub unsafe fn evaluate(
    r: *mut ngx_http_request_t,
    cv: *mut ngx_http_complex_value_t,
    policy: &Policy,
) -> (String, Result<Transform, Error>) {
    // SAFETY: guaranteed by the caller.
    match unsafe { value(r, cv) } {
        Ok(text) => {
            let transform =
                image_engine::parse(&text).and_then(|t| policy.check(&text, &t).map(|()| t));
            (text, transform)
        }
        Err(err) => (String::new(), Err(err)),
    }
}

/// The option string after variable substitution.
///
/// # Safety
/// As for [`evaluate`].
pub unsafe fn value(
    r: *mut ngx_http_request_t,
    cv: *mut ngx_http_complex_value_t,
) -> Result<String, Error> {
    let mut value = ngx_str_t::default();
    // SAFETY: both pointers are live; nginx writes the result into `value`
    // with memory from the request pool.
    let rc = unsafe { ngx_http_complex_value(r, cv, &mut value) };
    if rc != 0 {
        return Err(Error::new(
            ErrorKind::Internal,
            "could not evaluate image_transform",
        ));
    }
    // SAFETY: `value` was just filled in by nginx.
    let bytes = unsafe { str_bytes(&value) };
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOption,
            "the image options are not valid UTF-8",
        )
    })?;
    Ok(text.to_owned())
}
