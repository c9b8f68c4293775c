//! `format=auto`: the output format from the request's `Accept`.
//!
//! A candidate is chosen only when `Accept` names its media type exactly
//! with a non-zero weight: browsers list `image/avif` and `image/webp` when
//! they decode them, while `*/*` or `image/*` say nothing about newer
//! formats (curl, old browsers). Among the candidates the request accepts,
//! the highest `q` wins and the configured order breaks ties; with none
//! the original's format is kept (no 406: the original is always fine).

use crate::policy::format_by_name;
use crate::{ImageFormat, Transform};

/// The candidate formats of a location in order of preference
/// (`image_format_auto`); AVIF then WebP by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiation {
    candidates: Vec<ImageFormat>,
}

impl Default for Negotiation {
    fn default() -> Self {
        Negotiation {
            candidates: vec![ImageFormat::Avif, ImageFormat::Webp],
        }
    }
}

impl Negotiation {
    /// From directive arguments (`avif webp png`): known output format
    /// names, each once. The error is for the configuration log.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Negotiation, String> {
        let mut candidates = Vec::new();
        for name in names {
            let name = name.as_ref();
            let format =
                format_by_name(name).ok_or_else(|| format!("unknown image format \"{name}\""))?;
            if candidates.contains(&format) {
                return Err(format!("image format \"{name}\" is listed twice"));
            }
            candidates.push(format);
        }
        if candidates.is_empty() {
            return Err("at least one image format is needed".into());
        }
        Ok(Negotiation { candidates })
    }

    pub fn candidates(&self) -> &[ImageFormat] {
        &self.candidates
    }

    /// The format to produce for a request with this `Accept` (header
    /// lines joined with `,`; `None` when absent), among the candidates
    /// `allowed` (`image_formats_allowed`; `None` allows all). `None`
    /// keeps the original's format.
    pub fn choose(
        &self,
        accept: Option<&str>,
        allowed: Option<&[ImageFormat]>,
    ) -> Option<ImageFormat> {
        let accept = accept?;
        let mut best: Option<(ImageFormat, u16)> = None;
        for &format in &self.candidates {
            if allowed.is_some_and(|allowed| !allowed.contains(&format)) {
                continue;
            }
            let Some(q) = explicit_weight(accept, format.mime()) else {
                continue;
            };
            if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((format, q));
            }
        }
        best.map(|(format, _)| format)
    }
}

impl Negotiation {
    /// Settles `format=auto` in `transform` for this request (see
    /// [`Negotiation::choose`]); other transforms are left alone. Returns
    /// whether the output depends on `Accept` (the response needs
    /// `Vary: Accept`).
    pub fn settle(
        &self,
        transform: &mut Transform,
        accept: Option<&str>,
        allowed: Option<&[ImageFormat]>,
    ) -> bool {
        if !transform.auto_format {
            return false;
        }
        transform.format = self.choose(accept, allowed);
        true
    }
}

/// The weight (0..=1000) `accept` gives to exactly `mime`, if it names it.
/// Repeated ranges: the first one counts. Malformed weights make the range
/// count as not named.
fn explicit_weight(accept: &str, mime: &str) -> Option<u16> {
    for range in split_outside_quotes(accept, ',') {
        let mut parts = split_outside_quotes(range, ';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(mime) {
            continue;
        }
        let mut q = 1000;
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                q = weight(value.trim())?;
                // Parameters after q are accept-extensions; they do not
                // change the weight.
                break;
            }
        }
        return Some(q);
    }
    None
}

/// RFC 9110 qvalue: `0`, `0.5`, `1`, `1.000`, at most three decimals.
fn weight(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Splits on `separator` except inside a quoted string (a parameter value
/// such as `;ext="a,b"`).
fn split_outside_quotes(text: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    text.split(move |c: char| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => return true,
            _ => {}
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImageFormat::*;

    const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    const SAFARI_15: &str =
        "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";

    fn choose(accept: &str) -> Option<ImageFormat> {
        Negotiation::default().choose(Some(accept), None)
    }

    #[test]
    fn browsers_get_avif_then_webp() {
        assert_eq!(choose(CHROME), Some(Avif));
        assert_eq!(choose(SAFARI_15), Some(Webp));
        assert_eq!(choose("IMAGE/WEBP"), Some(Webp));
    }

    #[test]
    fn wildcards_and_absent_accept_keep_the_original() {
        assert_eq!(choose("*/*"), None);
        assert_eq!(choose("image/*"), None);
        assert_eq!(choose("image/png,image/jpeg"), None);
        assert_eq!(choose(""), None);
        assert_eq!(Negotiation::default().choose(None, None), None);
    }

    #[test]
    fn q_zero_excludes_and_higher_q_wins() {
        assert_eq!(choose("image/avif;q=0,image/webp"), Some(Webp));
        assert_eq!(choose("image/avif; q=0.000, image/webp;q=0"), None);
        assert_eq!(choose("image/avif;q=0.5,image/webp;q=0.9"), Some(Webp));
        assert_eq!(choose("image/avif;q=0.9,image/webp;q=0.9"), Some(Avif));
        assert_eq!(choose("image/webp;Q=1.0,image/avif;q=0.999"), Some(Webp));
    }

    #[test]
    fn malformed_weights_do_not_select() {
        for accept in [
            "image/avif;q=2",
            "image/avif;q=1.5",
            "image/avif;q=0.0001",
            "image/avif;q=-1",
            "image/avif;q=abc",
            "image/avif;q=",
        ] {
            assert_eq!(choose(accept), None, "{accept}");
        }
        assert_eq!(choose("image/avif;q=x,image/webp"), Some(Webp));
    }

    #[test]
    fn quoted_parameters_do_not_split_ranges() {
        assert_eq!(choose("text/html;x=\"a,image/avif\""), None);
        assert_eq!(choose("image/avif;x=\"a,b;q=0\";q=0.5"), Some(Avif));
        assert_eq!(choose("image/avif;x=\"a\\\"b\",image/webp"), Some(Avif));
    }

    #[test]
    fn configured_order_and_candidates() {
        let webp_first = Negotiation::from_names(&["webp", "avif"]).unwrap();
        assert_eq!(webp_first.choose(Some(CHROME), None), Some(Webp));
        let png_only = Negotiation::from_names(&["PNG"]).unwrap();
        assert_eq!(png_only.choose(Some(CHROME), None), None);
        assert_eq!(png_only.choose(Some(SAFARI_15), None), Some(Png));
        assert!(Negotiation::from_names(&["avif", "heic"])
            .unwrap_err()
            .contains("heic"));
        assert!(Negotiation::from_names(&["webp", "WEBP"])
            .unwrap_err()
            .contains("twice"));
        assert!(Negotiation::from_names::<&str>(&[]).is_err());
    }

    #[test]
    fn settle_fills_in_only_auto() {
        let n = Negotiation::default();
        let mut auto = crate::parse("width=10,format=auto").unwrap();
        assert!(n.settle(&mut auto, Some(CHROME), None));
        assert_eq!(auto.format, Some(Avif));
        let mut kept = crate::parse("format=auto").unwrap();
        assert!(n.settle(&mut kept, Some("*/*"), None));
        assert_eq!(kept.format, None);
        let mut fixed = crate::parse("format=png").unwrap();
        assert!(!n.settle(&mut fixed, Some(CHROME), None));
        assert_eq!(fixed.format, Some(Png));
    }

    #[test]
    fn allowed_formats_are_intersected() {
        let n = Negotiation::default();
        assert_eq!(n.choose(Some(CHROME), Some(&[Webp, Jpeg])), Some(Webp));
        assert_eq!(n.choose(Some(CHROME), Some(&[Jpeg])), None);
    }
}
