//! What a location allows: which options a request may set
//! (`image_params_allowed`) and which output formats it may ask for
//! (`image_formats_allowed`). Refusals are Imagizer's 401.

use crate::{Error, ErrorKind, ImageFormat, Transform};

/// A location's allow-lists; `None` allows everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Canonical option names (`width`, not `w`).
    pub params: Option<Vec<&'static str>>,
    pub formats: Option<Vec<ImageFormat>>,
}

pub use crate::options::canonical_name;

/// The output format named in an `image_formats_allowed` list.
pub fn format_by_name(name: &str) -> Option<ImageFormat> {
    crate::options::format_from_name(name)
}

impl Policy {
    /// Checks the options a request set (those with a non-empty value in
    /// `options`, already validated into `transform`).
    pub fn check(&self, options: &str, transform: &Transform) -> Result<(), Error> {
        if let Some(allowed) = &self.params {
            for item in options.split(',') {
                let Some((key, value)) = item.split_once('=') else {
                    continue;
                };
                if value.trim().is_empty() {
                    continue;
                }
                if let Some(name) = canonical_name(key) {
                    if !allowed.contains(&name) {
                        return Err(Error::new(
                            ErrorKind::NotAllowed,
                            format!("option \"{name}\" is not allowed here"),
                        ));
                    }
                }
            }
        }
        if let (Some(allowed), Some(format)) = (&self.formats, transform.format) {
            if !allowed.contains(&format) {
                return Err(Error::new(
                    ErrorKind::NotAllowed,
                    format!("output format \"{}\" is not allowed here", format.name()),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn check(policy: &Policy, options: &str) -> Result<(), Error> {
        policy.check(options, &parse(options).unwrap())
    }

    #[test]
    fn aliases_map_to_canonical_names() {
        assert_eq!(canonical_name("w"), Some("width"));
        assert_eq!(canonical_name(" Q "), Some("quality"));
        assert_eq!(canonical_name("format"), Some("format"));
        assert_eq!(canonical_name("nope"), None);
    }

    #[test]
    fn everything_is_allowed_by_default() {
        assert!(check(&Policy::default(), "width=10,format=webp,rotate=90").is_ok());
    }

    #[test]
    fn an_option_outside_the_list_is_refused_with_401() {
        let policy = Policy {
            params: Some(vec!["width", "height"]),
            formats: None,
        };
        assert!(check(&policy, "w=10,height=20").is_ok());
        let err = check(&policy, "width=10,quality=50").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotAllowed);
        assert_eq!(err.status(), 401);
        assert_eq!(err.code(), Some(9401));
        assert!(err.message.contains("quality"), "{}", err.message);
        // An option left empty (an absent $arg_) is not "set".
        assert!(check(&policy, "width=10,quality=").is_ok());
    }

    #[test]
    fn a_format_outside_the_list_is_refused() {
        let policy = Policy {
            params: None,
            formats: Some(vec![ImageFormat::Jpeg, ImageFormat::Webp]),
        };
        assert!(check(&policy, "format=webp").is_ok());
        assert!(
            check(&policy, "width=5").is_ok(),
            "keeping the input format is fine"
        );
        let err = check(&policy, "format=png").unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(err.message.contains("png"));
    }
}
