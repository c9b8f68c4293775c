//! Evaluating `image_transform` for one request: substitute variables, then
//! let the engine parse and validate the result.

use image_engine::{Error, ErrorKind, Policy, Transform};

use crate::conf::LocConf;
use crate::nginx::{ComplexValue, Request};

/// The request's transformation, or why its options are invalid, with the
/// evaluated option string.
pub fn evaluate(
    request: Request,
    cv: ComplexValue,
    policy: &Policy,
) -> (String, Result<Transform, Error>) {
    match value(request, cv) {
        Ok(text) => {
            let qualities = LocConf::of(request).format_qualities;
            let transform = image_engine::parse(&text)
                .and_then(|t| policy.check(&text, &t).map(|()| t))
                .map(|t| Transform {
                    format_qualities: qualities,
                    ..t
                });
            (text, transform)
        }
        Err(err) => (String::new(), Err(err)),
    }
}

/// The option string after variable substitution.
fn value(request: Request, cv: ComplexValue) -> Result<String, Error> {
    let bytes = request
        .evaluate(cv)
        .ok_or_else(|| Error::new(ErrorKind::Internal, "could not evaluate image_transform"))?;
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOption,
            "the image options are not valid UTF-8",
        )
    })?;
    Ok(text.to_owned())
}
