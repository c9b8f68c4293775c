//! Evaluating `image_transform` for one request: each variable part of the
//! template compiled at configuration time is evaluated and bound as one
//! option's value (or, for a variable on its own, as an option list the
//! operator chose to take from the request), the allow-lists are checked,
//! and `format=auto` is settled from the request's `Accept`.

use image_engine::{Error, ErrorKind, Transform};

use crate::conf::{LocConf, OptionTemplate};
use crate::nginx::Request;

/// The request's transformation, or why its options are invalid, with the
/// bound options as `name=value` text (logs and the backoff key).
pub fn evaluate(
    request: Request,
    template: &OptionTemplate,
    conf: &LocConf,
) -> (String, Result<Transform, Error>) {
    let values = match values(request, template) {
        Ok(values) => values,
        Err(err) => return (String::new(), Err(err)),
    };
    let bound = match template.template.bind(&values) {
        Ok(bound) => bound,
        Err(err) => return (String::new(), Err(err)),
    };
    let mut transform = bound.transform;
    // Only what the request supplied is subject to image_params_allowed:
    // the literal options are the operator's own.
    if let Err(err) = conf.policy.check(&bound.from_request, &transform) {
        return (bound.options, Err(err));
    }
    let accept = request
        .header_in("Accept")
        .and_then(|v| std::str::from_utf8(v).ok());
    conf.negotiation()
        .settle(&mut transform, accept, conf.policy.formats.as_deref());
    (bound.options, Ok(transform))
}

/// Each variable part's value, in the template's slot order.
fn values(request: Request, template: &OptionTemplate) -> Result<Vec<String>, Error> {
    template
        .values
        .iter()
        .zip(template.template.slots())
        .map(|(&cv, slot)| {
            let bytes = request.evaluate(cv).ok_or_else(|| {
                Error::new(ErrorKind::Internal, "could not evaluate image_transform")
            })?;
            std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| {
                let what = match slot.option {
                    Some(name) => format!("the value of option \"{name}\""),
                    None => "the image options".to_string(),
                };
                Error::new(
                    ErrorKind::InvalidOption,
                    format!("{what} is not valid UTF-8"),
                )
            })
        })
        .collect()
}
