//! Validators per variant, in Cloudflare's format
//! `"<variant>:<etag of the original>"`: the part before the colon changes
//! with everything that changes the output bytes, the part after it is the
//! origin's, so a client or CDN can tell which original a variant was made
//! from. Weak stays weak.

use crate::backoff::hash_key;
use crate::Transform;

/// Bumped whenever the same original and options can produce different
/// bytes (an encoder setting, a resampling filter, a codec upgrade), so
/// every validator sent before stops matching.
pub const OUTPUT_VERSION: u32 = 1;

/// An entity tag: `"opaque"` or, weak, `W/"opaque"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    /// Without the quotes.
    pub opaque: String,
}

impl EntityTag {
    /// Reads an origin's `ETag` header. Tolerant, as origins are: an
    /// unquoted value is taken as the opaque part; characters an entity
    /// tag cannot hold (quotes, spaces, controls) are dropped so the tag
    /// built from it stays one valid header value. `None` when nothing is
    /// left.
    pub fn parse(value: &str) -> Option<EntityTag> {
        let value = value.trim();
        let (weak, rest) = match value.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let opaque: String = rest
            .trim_matches('"')
            .chars()
            .filter(|&c| c > ' ' && c != '"' && c != '\u{7f}')
            .collect();
        if opaque.is_empty() {
            return None;
        }
        Some(EntityTag { weak, opaque })
    }

    /// The tag of an origin that sent no `ETag`: its `Last-Modified` (Unix
    /// seconds) and length, in nginx's own `"mtime-length"` hex form. Weak,
    /// because a date with one-second resolution cannot promise identical
    /// bytes.
    pub fn derived(last_modified: i64, length: Option<u64>) -> EntityTag {
        let opaque = match length {
            Some(length) => format!("{last_modified:x}-{length:x}"),
            None => format!("{last_modified:x}"),
        };
        EntityTag { weak: true, opaque }
    }

    /// The origin's validator: its `ETag` if usable, else one derived from
    /// `Last-Modified` (Unix seconds) and the length; `None` without
    /// either, and then no response of this original gets a `304`.
    pub fn of_origin(
        etag: Option<&str>,
        last_modified: Option<i64>,
        length: Option<u64>,
    ) -> Option<EntityTag> {
        etag.and_then(EntityTag::parse)
            .or_else(|| last_modified.map(|time| EntityTag::derived(time, length)))
    }

    /// The header value, quotes included.
    pub fn header_value(&self) -> String {
        let prefix = if self.weak { "W/" } else { "" };
        format!("{prefix}\"{}\"", self.opaque)
    }
}

/// What makes one output of an original different from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant(u64);

impl Variant {
    /// `transform` must be final: `format=auto` already negotiated (its
    /// `format` filled in, or `None` for "the original's format", which the
    /// origin's tag then pins). `config` is anything else of the location
    /// that changes the bytes (empty if nothing does).
    ///
    /// Hashes the `Debug` form of the transform so that a field added
    /// later is part of the variant without anyone having to remember it;
    /// a change of that form only costs one revalidation miss.
    pub fn new(transform: &Transform, config: &[u8]) -> Variant {
        let mut text = format!(
            "{OUTPUT_VERSION}|{}|{transform:?}|",
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes();
        text.extend_from_slice(config);
        Variant(hash_key(&text))
    }

    /// The response's tag: `"im<variant>:<origin's opaque tag>"`, weak if
    /// the origin's was.
    pub fn etag(&self, origin: &EntityTag) -> EntityTag {
        EntityTag {
            weak: origin.weak,
            opaque: format!("im{:016x}:{}", self.0, origin.opaque),
        }
    }
}

/// Whether a request's `If-None-Match` (several header lines joined with
/// `,`) matches `current`, i.e. whether a GET or HEAD is answered `304`.
/// Weak comparison, as RFC 9110 §13.1.2 requires for this header: `W/`
/// is ignored on both sides. `*` matches any current representation. A
/// malformed list matches nothing, so the client gets the full response.
pub fn if_none_match(header: &str, current: &EntityTag) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let mut rest = header;
    let mut matched = false;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return matched;
        }
        rest = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(quoted) = rest.strip_prefix('"') else {
            return false;
        };
        // An entity tag may contain commas: only the quote ends it.
        let Some(end) = quoted.find('"') else {
            return false;
        };
        matched |= quoted[..end] == current.opaque;
        rest = &quoted[end + 1..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, ImageFormat};

    fn tag(value: &str) -> EntityTag {
        EntityTag::parse(value).unwrap()
    }

    #[test]
    fn origin_tags_keep_their_strength() {
        assert_eq!(
            tag("\"abc\""),
            EntityTag {
                weak: false,
                opaque: "abc".into()
            }
        );
        assert_eq!(
            tag(" W/\"6500-12\" "),
            EntityTag {
                weak: true,
                opaque: "6500-12".into()
            }
        );
        assert_eq!(tag("unquoted").header_value(), "\"unquoted\"");
        assert_eq!(tag("\"a b\tc\"").opaque, "abc");
        assert_eq!(EntityTag::parse("\"\""), None);
        assert_eq!(EntityTag::parse("W/"), None);
        assert_eq!(EntityTag::parse("  "), None);
    }

    #[test]
    fn derived_tags_are_weak_and_follow_nginx_form() {
        let derived = EntityTag::derived(0x5f5e_1000, Some(0x2a));
        assert_eq!(derived.header_value(), "W/\"5f5e1000-2a\"");
        assert_eq!(EntityTag::derived(16, None).header_value(), "W/\"10\"");
        assert_ne!(
            EntityTag::derived(16, Some(1)),
            EntityTag::derived(16, Some(2)),
            "same date, other length: another original"
        );
    }

    #[test]
    fn the_origin_tag_falls_back_to_the_date_and_length() {
        assert_eq!(
            EntityTag::of_origin(Some("\"x\""), Some(16), Some(1)),
            Some(tag("\"x\""))
        );
        assert_eq!(
            EntityTag::of_origin(Some("\"\""), Some(16), Some(1)),
            Some(EntityTag::derived(16, Some(1)))
        );
        assert_eq!(
            EntityTag::of_origin(None, Some(16), None),
            Some(EntityTag::derived(16, None))
        );
        assert_eq!(EntityTag::of_origin(None, None, Some(1)), None);
    }

    #[test]
    fn variant_tag_has_the_seed_format_and_the_origin_strength() {
        let variant = Variant::new(&parse("width=100").unwrap(), b"");
        let strong = variant.etag(&tag("\"v1\""));
        let value = strong.header_value();
        assert!(value.starts_with("\"im"), "{value}");
        assert!(value.ends_with(":v1\""), "{value}");
        assert_eq!(value.len(), "\"im".len() + 16 + ":v1\"".len());
        assert!(variant
            .etag(&tag("W/\"v1\""))
            .header_value()
            .starts_with("W/\"im"));
    }

    #[test]
    fn everything_that_changes_the_bytes_changes_the_variant() {
        let base = parse("width=100,quality=80").unwrap();
        let v = Variant::new(&base, b"");
        assert_eq!(v, Variant::new(&parse("w=100,q=80").unwrap(), b""));
        assert_eq!(v, Variant::new(&parse("q=80,width=50,dpr=2").unwrap(), b""));
        for other in ["width=100,quality=81", "width=101,quality=80", "width=100"] {
            assert_ne!(v, Variant::new(&parse(other).unwrap(), b""), "{other}");
        }
        let mut negotiated = base.clone();
        negotiated.auto_format = true;
        negotiated.format = Some(ImageFormat::Webp);
        let mut avif = negotiated.clone();
        avif.format = Some(ImageFormat::Avif);
        let mut kept = negotiated.clone();
        kept.format = None;
        let variants = [
            Variant::new(&negotiated, b""),
            Variant::new(&avif, b""),
            Variant::new(&kept, b""),
            v,
        ];
        for (i, a) in variants.iter().enumerate() {
            for b in &variants[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(v, Variant::new(&base, b"limits=2"), "configuration");
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        let strong = tag("\"im1:abc\"");
        let weak = tag("W/\"im1:abc\"");
        for current in [&strong, &weak] {
            assert!(if_none_match("\"im1:abc\"", current));
            assert!(if_none_match("W/\"im1:abc\"", current));
            assert!(!if_none_match("\"im2:abc\"", current));
            assert!(!if_none_match("\"abc\"", current), "the original's tag");
        }
    }

    #[test]
    fn if_none_match_lists_and_star() {
        let current = tag("\"im1:a,b\"");
        assert!(if_none_match("*", &current));
        assert!(if_none_match(" * ", &current));
        assert!(if_none_match("\"x\", W/\"im1:a,b\"", &current));
        assert!(if_none_match("\"im1:a,b\",\"y\"", &current));
        assert!(if_none_match("\"x\" ,\t\"y\", \"im1:a,b\"", &current));
        assert!(!if_none_match("\"x\", \"im1:a\", \"b\"", &current));
        assert!(!if_none_match("", &current));
    }

    #[test]
    fn a_malformed_if_none_match_matches_nothing() {
        let current = tag("\"abc\"");
        for header in [
            "abc",
            "\"abc",
            "\"abc\"x",
            "\"x\", abc",
            "*, \"abc\"",
            "\"abc\", *",
            "w/\"abc\"",
        ] {
            assert!(!if_none_match(header, &current), "{header}");
        }
    }
}
