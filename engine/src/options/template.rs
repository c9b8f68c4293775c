//! `image_transform`'s argument compiled once, at configuration time.
//!
//! The literal options are parsed and validated when nginx loads the
//! configuration, so `nginx -t` refuses `width=abc` and names the option.
//! A variable may only stand for one option's *value* (`width=$arg_w`): per
//! request the glue evaluates each [`Slot`] and [`Template::bind`] checks
//! that the value is a single value of that option — a `,` or `=` in it is a
//! 400 naming the option, never extra options. An item that is a variable
//! on its own (`image_transform $arg_o;`) is the operator's explicit choice
//! of a whole option list from the request, still subject to the
//! allow-lists; it cannot override an option the template sets.

use super::{canonical_name, invalid, quote, split_item, Builder};
use crate::{Error, ErrorKind, Transform};

/// A part of the template whose text contains nginx variables; the glue
/// compiles `source` as a complex value and evaluates it per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The canonical option whose value this is; `None` for a whole option
    /// list (`$arg_o` on its own).
    pub option: Option<&'static str>,
    /// The text with the variables, trimmed (`$arg_w`, `${arg_w}`).
    pub source: String,
}

/// A compiled `image_transform` argument.
#[derive(Debug, Clone)]
pub struct Template {
    /// The literal options, already validated.
    base: Builder,
    /// Canonical names the template sets, literally or through a slot.
    fixed: Vec<&'static str>,
    /// `name=value` of the literal options, canonical names.
    literal_options: String,
    slots: Vec<Slot>,
}

/// A template with the values of one request filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub transform: Transform,
    /// Every option set (literal and from the request), as `name=value`
    /// with canonical names: for logs and the error backoff key.
    pub options: String,
    /// Only the options the request supplied: what `image_params_allowed`
    /// restricts (the literal ones are the operator's own).
    pub from_request: String,
}

impl Template {
    /// Splits and validates `text` (the directive's argument, nginx's own
    /// quotes already removed). Errors name the option; they are meant for
    /// the configuration log.
    pub fn compile(text: &str) -> Result<Template, Error> {
        let mut template = Template {
            base: Builder::default(),
            fixed: Vec::new(),
            literal_options: String::new(),
            slots: Vec::new(),
        };
        for item in text.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if item.contains(['"', '\'']) {
                return Err(invalid(format!(
                    "quotes in option {}: quote the whole argument in the configuration, \
                     not a single option",
                    quote(item)
                )));
            }
            let Some((key, value)) = item.split_once('=') else {
                if has_variable(item) {
                    template.slots.push(Slot {
                        option: None,
                        source: item.to_owned(),
                    });
                    continue;
                }
                return Err(invalid(format!(
                    "option {} has no value: expected key=value",
                    quote(item)
                )));
            };
            let (key, value) = (key.trim(), value.trim());
            if has_variable(key) {
                return Err(invalid(format!(
                    "option name {} cannot come from a variable: use \"name=$variable\"",
                    quote(key)
                )));
            }
            let Some(name) = canonical_name(key) else {
                return Err(split_item(item)
                    .err()
                    .unwrap_or_else(|| invalid(format!("unknown option {}", quote(key)))));
            };
            if template.fixed.contains(&name) {
                return Err(invalid(format!("option \"{name}\" is given twice")));
            }
            template.fixed.push(name);
            if has_variable(value) {
                if value.contains('=') {
                    return Err(invalid(format!(
                        "option \"{name}\" has \"=\" in its value {}",
                        quote(value)
                    )));
                }
                template.slots.push(Slot {
                    option: Some(name),
                    source: value.to_owned(),
                });
                continue;
            }
            if value.is_empty() {
                return Err(invalid(format!("option \"{name}\" has an empty value")));
            }
            template.base.apply(key, value)?;
            push_option(&mut template.literal_options, name, value);
        }
        Ok(template)
    }

    /// The parts the glue evaluates per request, in the order
    /// [`Template::bind`] expects their values.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Whether the output format can depend on the request's `Accept`
    /// (`format=auto` literally, or a format chosen by the request): the
    /// responses of such a location carry `Vary: Accept`.
    pub fn may_negotiate(&self) -> bool {
        self.base.transform.auto_format
            || self
                .slots
                .iter()
                .any(|slot| matches!(slot.option, None | Some("format")))
    }

    /// Fills in the evaluated value of each slot (same order as
    /// [`Template::slots`]). Errors are 400/9401 and name the option.
    pub fn bind<S: AsRef<str>>(&self, values: &[S]) -> Result<Bound, Error> {
        if values.len() != self.slots.len() {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "image_transform has {} variable parts, {} values given",
                    self.slots.len(),
                    values.len()
                ),
            ));
        }
        let mut builder = self.base.clone();
        let mut from_request = String::new();
        let mut whole_lists = Vec::new();
        for (slot, value) in self.slots.iter().zip(values) {
            let value = value.as_ref().trim();
            match slot.option {
                Some(name) => {
                    if value.contains([',', '=']) {
                        return Err(invalid(format!(
                            "invalid value {} for option \"{name}\": \
                             a value cannot contain \",\" or \"=\"",
                            quote(value)
                        )));
                    }
                    builder.apply(name, value)?;
                    push_option(&mut from_request, name, value);
                }
                None => whole_lists.push(value),
            }
        }
        // Whole option lists: the operator's explicit choice; the last
        // repeat of a key wins among them, as in `parse`.
        for list in whole_lists {
            for item in list.split(',') {
                let Some((key, value)) = split_item(item)? else {
                    continue;
                };
                // split_item only returns known keys.
                let name = canonical_name(key).unwrap_or_default();
                if self.fixed.contains(&name) {
                    return Err(invalid(format!(
                        "option \"{name}\" is set by the configuration here"
                    )));
                }
                builder.apply(key, value)?;
                push_option(&mut from_request, name, value);
            }
        }
        let mut options = self.literal_options.clone();
        if !from_request.is_empty() {
            if !options.is_empty() {
                options.push(',');
            }
            options.push_str(&from_request);
        }
        Ok(Bound {
            transform: builder.finish(),
            options,
            from_request,
        })
    }
}

/// nginx variables start with `$` (`$name` or `${name}`); nginx has no
/// escape for a literal `$`.
fn has_variable(text: &str) -> bool {
    text.contains('$')
}

/// Appends `name=value` unless the value is empty (an absent option).
fn push_option(list: &mut String, name: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(name);
    list.push('=');
    list.push_str(value);
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
