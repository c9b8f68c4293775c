//! Parsing and validating the option string (`width=300,fit=cover,...`).
//! Processing only ever sees a validated [`Transform`].

use crate::{Error, ErrorKind, ImageFormat};

/// How the image fits the `width` × `height` box (Cloudflare's meanings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// Like `contain`, but never enlarges.
    #[default]
    ScaleDown,
    /// As large as possible inside the box, aspect ratio kept; may enlarge.
    Contain,
    /// Fills the box exactly, cropping the excess; may enlarge.
    Cover,
    /// Like `cover` but never enlarges (smaller images: like `scale-down`).
    Crop,
    /// Like `contain`, then padded with `background` to exactly the box.
    Pad,
    /// Stretched to exactly the box, aspect ratio ignored.
    Squeeze,
}

/// Which part of the image `cover`/`crop` keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gravity {
    #[default]
    Center,
    Left,
    Right,
    Top,
    Bottom,
}

/// What to do when the transformation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Answer with the error.
    #[default]
    Fail,
    /// Serve the original unchanged if it is a good image.
    Original,
}

/// A validated transformation.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub gravity: Gravity,
    /// 1..=100.
    pub quality: u8,
    /// `None` keeps the input format.
    pub format: Option<ImageFormat>,
    /// RGBA used by `fit=pad` and to flatten transparency into JPEG.
    pub background: [u8; 4],
    /// Clockwise rotation after resizing: 0, 90, 180 or 270.
    pub rotate: u16,
    pub onerror: OnError,
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            width: None,
            height: None,
            fit: Fit::default(),
            gravity: Gravity::default(),
            quality: 85,
            format: None,
            background: [255, 255, 255, 255],
            rotate: 0,
            onerror: OnError::default(),
        }
    }
}

/// Largest `width`/`height`, also the cap after `dpr` is applied
/// (Cloudflare's per-side limit).
pub const MAX_SIDE: u32 = 12_000;

/// Longest piece of a user's value quoted back in an error message: enough
/// to recognise it, not enough to turn error bodies into an echo service.
const MAX_QUOTED_CHARS: usize = 40;

/// Parses a comma-separated `key=value` list. Empty values are ignored (an
/// absent `$arg_w` means "no width"); anything unknown, malformed or out of
/// range is an [`ErrorKind::InvalidOption`](crate::ErrorKind) error that
/// names the option.
///
/// Keys and keyword values are case-insensitive; for a key given twice the
/// last non-empty value wins. `dpr` multiplies `width` and `height` after
/// all options are read, so its position in the list does not matter.
pub fn parse(options: &str) -> Result<Transform, Error> {
    let mut transform = Transform::default();
    let mut dpr: Option<f64> = None;

    for item in options.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(invalid(format!(
                "option {} has no value: expected key=value",
                quote(item)
            )));
        };
        let (key, value) = (key.trim(), value.trim());
        let name = key.to_ascii_lowercase();
        if !is_known(&name) {
            return Err(if key.is_empty() {
                invalid(format!("option {} has no name", quote(item)))
            } else {
                invalid(format!("unknown option {}", quote(key)))
            });
        }
        if value.is_empty() {
            // `width=$arg_w` with no `w` argument: the option is absent.
            continue;
        }
        let option = Pair { key, value };
        match name.as_str() {
            "width" | "w" => transform.width = Some(option.integer(1, MAX_SIDE)?),
            "height" | "h" => transform.height = Some(option.integer(1, MAX_SIDE)?),
            "dpr" => dpr = Some(option.decimal(1.0, 4.0)?),
            "fit" => transform.fit = option.fit()?,
            "gravity" | "g" => transform.gravity = option.gravity()?,
            "quality" | "q" => transform.quality = option.integer(1, 100)? as u8,
            "format" | "f" => transform.format = Some(option.format()?),
            "background" => transform.background = option.color()?,
            "rotate" => transform.rotate = option.rotation()?,
            "onerror" => transform.onerror = option.onerror()?,
            _ => return Err(invalid(format!("unknown option {}", quote(key)))),
        }
    }

    if let Some(dpr) = dpr {
        transform.width = transform.width.map(|side| scale_side(side, dpr));
        transform.height = transform.height.map(|side| scale_side(side, dpr));
    }
    Ok(transform)
}

/// The output format a `format=` value (or an `image_formats_allowed`
/// entry) names, case-insensitively.
pub fn format_from_name(name: &str) -> Option<ImageFormat> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "jpeg" | "jpg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "gif" => ImageFormat::Gif,
        "webp" => ImageFormat::Webp,
        "avif" => ImageFormat::Avif,
        _ => return None,
    })
}

fn is_known(name: &str) -> bool {
    matches!(
        name,
        "width"
            | "w"
            | "height"
            | "h"
            | "dpr"
            | "fit"
            | "gravity"
            | "g"
            | "quality"
            | "q"
            | "format"
            | "f"
            | "background"
            | "rotate"
            | "onerror"
    )
}

fn scale_side(side: u32, dpr: f64) -> u32 {
    let scaled = (f64::from(side) * dpr).round();
    // dpr >= 1 so the result is at least `side`; the cap keeps it a valid size.
    (scaled.min(f64::from(MAX_SIDE)) as u32).max(1)
}

/// One `key=value` pair, kept together so every error names both.
struct Pair<'a> {
    key: &'a str,
    value: &'a str,
}

impl Pair<'_> {
    fn error(&self, expected: &str) -> Error {
        invalid(format!(
            "invalid value {} for option {}: expected {}",
            quote(self.value),
            quote(self.key),
            expected
        ))
    }

    fn keyword(&self) -> String {
        self.value.to_ascii_lowercase()
    }

    /// Plain decimal digits only: `+5`, `1e3`, `0x10` and `5px` are refused
    /// rather than guessed at.
    fn integer(&self, min: u32, max: u32) -> Result<u32, Error> {
        let expected = format!("an integer from {min} to {max}");
        if !self.value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(&expected));
        }
        match self.value.parse::<u64>() {
            Ok(n) if (u64::from(min)..=u64::from(max)).contains(&n) => Ok(n as u32),
            _ => Err(self.error(&expected)),
        }
    }

    /// `2`, `1.5`, `.5`: digits with at most one dot. Exponents, signs,
    /// `inf` and `NaN` (which `f64::from_str` would take) are refused.
    fn decimal(&self, min: f64, max: f64) -> Result<f64, Error> {
        let expected = format!("a number from {min} to {max}");
        let digits = self.value.bytes().filter(u8::is_ascii_digit).count();
        let dots = self.value.bytes().filter(|&b| b == b'.').count();
        if digits == 0 || dots > 1 || digits + dots != self.value.len() {
            return Err(self.error(&expected));
        }
        match self.value.parse::<f64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.error(&expected)),
        }
    }

    fn fit(&self) -> Result<Fit, Error> {
        Ok(match self.keyword().as_str() {
            "scale-down" => Fit::ScaleDown,
            "contain" => Fit::Contain,
            "cover" => Fit::Cover,
            "crop" => Fit::Crop,
            "pad" => Fit::Pad,
            "squeeze" => Fit::Squeeze,
            _ => return Err(self.error("scale-down, contain, cover, crop, pad or squeeze")),
        })
    }

    fn gravity(&self) -> Result<Gravity, Error> {
        Ok(match self.keyword().as_str() {
            // Cloudflare's `auto` picks a focal point; without saliency
            // detection the centre is the honest equivalent.
            "center" | "auto" => Gravity::Center,
            "left" => Gravity::Left,
            "right" => Gravity::Right,
            "top" => Gravity::Top,
            "bottom" => Gravity::Bottom,
            _ => return Err(self.error("center, auto, left, right, top or bottom")),
        })
    }

    fn format(&self) -> Result<ImageFormat, Error> {
        format_from_name(self.value).ok_or_else(|| self.error("jpeg, png, gif, webp or avif"))
    }

    fn rotation(&self) -> Result<u16, Error> {
        match self.value {
            "0" => Ok(0),
            "90" => Ok(90),
            "180" => Ok(180),
            "270" => Ok(270),
            _ => Err(self.error("0, 90, 180 or 270")),
        }
    }

    fn onerror(&self) -> Result<OnError, Error> {
        Ok(match self.keyword().as_str() {
            "original" => OnError::Original,
            "fail" => OnError::Fail,
            _ => return Err(self.error("original or fail")),
        })
    }

    /// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` or `white`, `black`,
    /// `transparent`. `%23` is taken for `#` because nginx's `$arg_*`
    /// variables are not percent-decoded and a bare `#` cannot appear in a
    /// query string.
    fn color(&self) -> Result<[u8; 4], Error> {
        const EXPECTED: &str = "#rgb, #rrggbb, #rrggbbaa, white, black or transparent";
        let value = self.keyword();
        match value.as_str() {
            "white" => return Ok([255, 255, 255, 255]),
            "black" => return Ok([0, 0, 0, 255]),
            "transparent" => return Ok([0, 0, 0, 0]),
            _ => {}
        }
        let hex = value
            .strip_prefix('#')
            .or_else(|| value.strip_prefix("%23"))
            .ok_or_else(|| self.error(EXPECTED))?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error(EXPECTED));
        }
        let nibble = |i: usize| u8::from_str_radix(&hex[i..=i], 16).unwrap_or(0);
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        Ok(match hex.len() {
            3 => [nibble(0) * 17, nibble(1) * 17, nibble(2) * 17, 255],
            4 => [
                nibble(0) * 17,
                nibble(1) * 17,
                nibble(2) * 17,
                nibble(3) * 17,
            ],
            6 => [byte(0), byte(2), byte(4), 255],
            8 => [byte(0), byte(2), byte(4), byte(6)],
            _ => return Err(self.error(EXPECTED)),
        })
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOption, message)
}

/// Quotes user text for an error message: control characters dropped (the
/// message ends up in logs and headers), long text shortened.
fn quote(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    let mut quoted = String::with_capacity(clean.len().min(MAX_QUOTED_CHARS * 4) + 5);
    quoted.push('"');
    let mut chars = clean.chars();
    quoted.extend(chars.by_ref().take(MAX_QUOTED_CHARS));
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(options: &str) -> Transform {
        match parse(options) {
            Ok(transform) => transform,
            Err(err) => panic!("{options:?} was refused: {}", err.message),
        }
    }

    fn err(options: &str) -> String {
        match parse(options) {
            Ok(transform) => panic!("{options:?} was accepted as {transform:?}"),
            Err(err) => {
                assert_eq!(err.kind, ErrorKind::InvalidOption, "{options:?}");
                err.message
            }
        }
    }

    #[test]
    fn empty_string_is_the_default_transform() {
        assert_eq!(ok(""), Transform::default());
        assert_eq!(ok(" , ,, "), Transform::default());
    }

    #[test]
    fn defaults_match_cloudflare() {
        let t = Transform::default();
        assert_eq!(t.fit, Fit::ScaleDown);
        assert_eq!(t.gravity, Gravity::Center);
        assert_eq!(t.quality, 85);
        assert_eq!(t.format, None);
        assert_eq!(t.background, [255, 255, 255, 255]);
        assert_eq!(t.rotate, 0);
        assert_eq!(t.onerror, OnError::Fail);
    }

    #[test]
    fn width_and_height_long_and_short_names() {
        let t = ok("width=300,height=200");
        assert_eq!((t.width, t.height), (Some(300), Some(200)));
        let t = ok("w=1,h=12000");
        assert_eq!((t.width, t.height), (Some(1), Some(12000)));
        assert_eq!(ok("width=0300").width, Some(300));
    }

    #[test]
    fn whitespace_around_keys_and_values_is_trimmed() {
        let t = ok("  width = 300 ,\theight=  200\t, fit = cover ");
        assert_eq!(
            (t.width, t.height, t.fit),
            (Some(300), Some(200), Fit::Cover)
        );
    }

    #[test]
    fn empty_values_and_items_are_ignored() {
        let t = ok("width=,height=200");
        assert_eq!((t.width, t.height), (None, Some(200)));
        let t = ok(",,width=5,,fit=,format= ,");
        assert_eq!((t.width, t.fit, t.format), (Some(5), Fit::ScaleDown, None));
    }

    #[test]
    fn last_duplicate_wins() {
        assert_eq!(ok("width=100,width=200").width, Some(200));
        assert_eq!(ok("w=100,width=300").width, Some(300));
        assert_eq!(ok("fit=pad,fit=cover").fit, Fit::Cover);
        // An empty repeat means "not given", so it does not erase the first.
        assert_eq!(ok("width=100,width=").width, Some(100));
    }

    #[test]
    fn keys_and_keywords_are_case_insensitive() {
        let t = ok("WIDTH=10,Fit=Cover,g=LEFT,format=WebP,onerror=Original,background=WHITE");
        assert_eq!(t.width, Some(10));
        assert_eq!(t.fit, Fit::Cover);
        assert_eq!(t.gravity, Gravity::Left);
        assert_eq!(t.format, Some(ImageFormat::Webp));
        assert_eq!(t.onerror, OnError::Original);
        assert_eq!(ok("background=#FFaa00").background, [255, 170, 0, 255]);
    }

    #[test]
    fn dpr_multiplies_both_sides_in_any_order() {
        let t = ok("dpr=2,width=300,height=100");
        assert_eq!((t.width, t.height), (Some(600), Some(200)));
        let t = ok("width=301,dpr=1.5");
        assert_eq!((t.width, t.height), (Some(452), None)); // 451.5 rounds up
        assert_eq!(ok("width=100,dpr=1").width, Some(100));
        assert_eq!(ok("width=100,dpr=4").width, Some(400));
        assert_eq!(ok("width=100,dpr=1.").width, Some(100));
        assert_eq!(ok("width=100,dpr=2.50").width, Some(250));
        // Capped at the per-side limit rather than refused.
        assert_eq!(ok("width=10000,height=5000,dpr=3").width, Some(MAX_SIDE));
        assert_eq!(ok("width=10000,height=5000,dpr=3").height, Some(MAX_SIDE));
        // No sizes: nothing to multiply.
        assert_eq!(ok("dpr=2"), Transform::default());
    }

    #[test]
    fn every_fit() {
        for (value, fit) in [
            ("scale-down", Fit::ScaleDown),
            ("contain", Fit::Contain),
            ("cover", Fit::Cover),
            ("crop", Fit::Crop),
            ("pad", Fit::Pad),
            ("squeeze", Fit::Squeeze),
        ] {
            assert_eq!(ok(&format!("fit={value}")).fit, fit);
        }
    }

    #[test]
    fn every_gravity() {
        for (value, gravity) in [
            ("center", Gravity::Center),
            ("auto", Gravity::Center),
            ("left", Gravity::Left),
            ("right", Gravity::Right),
            ("top", Gravity::Top),
            ("bottom", Gravity::Bottom),
        ] {
            assert_eq!(ok(&format!("gravity={value}")).gravity, gravity);
            assert_eq!(ok(&format!("g={value}")).gravity, gravity);
        }
    }

    #[test]
    fn quality_bounds_and_short_name() {
        assert_eq!(ok("quality=1").quality, 1);
        assert_eq!(ok("quality=100").quality, 100);
        assert_eq!(ok("q=42").quality, 42);
    }

    #[test]
    fn every_format() {
        for (value, format) in [
            ("jpeg", ImageFormat::Jpeg),
            ("jpg", ImageFormat::Jpeg),
            ("png", ImageFormat::Png),
            ("gif", ImageFormat::Gif),
            ("webp", ImageFormat::Webp),
            ("avif", ImageFormat::Avif),
            ("AVIF", ImageFormat::Avif),
        ] {
            assert_eq!(ok(&format!("format={value}")).format, Some(format));
            assert_eq!(ok(&format!("f={value}")).format, Some(format));
        }
    }

    #[test]
    fn every_background_form() {
        for (value, rgba) in [
            ("#fff", [255, 255, 255, 255]),
            ("#f00", [255, 0, 0, 255]),
            ("#0f08", [0, 255, 0, 136]),
            ("#123456", [0x12, 0x34, 0x56, 255]),
            ("#12345678", [0x12, 0x34, 0x56, 0x78]),
            ("%23abcdef", [0xab, 0xcd, 0xef, 255]),
            ("white", [255, 255, 255, 255]),
            ("black", [0, 0, 0, 255]),
            ("transparent", [0, 0, 0, 0]),
        ] {
            assert_eq!(
                ok(&format!("background={value}")).background,
                rgba,
                "{value}"
            );
        }
    }

    #[test]
    fn every_rotation() {
        for angle in [0, 90, 180, 270] {
            assert_eq!(ok(&format!("rotate={angle}")).rotate, angle);
        }
    }

    #[test]
    fn every_onerror() {
        assert_eq!(ok("onerror=original").onerror, OnError::Original);
        assert_eq!(ok("onerror=fail").onerror, OnError::Fail);
    }

    #[test]
    fn everything_at_once() {
        let t = ok(
            "width=640,height=480,dpr=1.5,fit=pad,gravity=top,quality=70,\
                    format=png,background=#000,rotate=90,onerror=original",
        );
        assert_eq!(
            t,
            Transform {
                width: Some(960),
                height: Some(720),
                fit: Fit::Pad,
                gravity: Gravity::Top,
                quality: 70,
                format: Some(ImageFormat::Png),
                background: [0, 0, 0, 255],
                rotate: 90,
                onerror: OnError::Original,
            }
        );
    }

    #[test]
    fn integer_options_refuse_out_of_range_and_malformed_values() {
        for key in ["width", "w", "height", "h"] {
            for value in [
                "0",
                "12001",
                "99999999999999999999",
                "-1",
                "+5",
                "1.5",
                "abc",
                "5px",
                "1e3",
                "0x10",
                "1 0",
            ] {
                let message = err(&format!("{key}={value}"));
                assert_eq!(
                    message,
                    format!(
                        "invalid value \"{value}\" for option \"{key}\": expected an integer from 1 to 12000"
                    )
                );
            }
        }
        for key in ["quality", "q"] {
            for value in ["0", "101", "-5", "high", "50.5"] {
                let message = err(&format!("{key}={value}"));
                assert!(
                    message.contains("expected an integer from 1 to 100"),
                    "{message}"
                );
                assert!(message.contains(&format!("\"{key}\"")), "{message}");
            }
        }
    }

    #[test]
    fn width_message_is_exactly_as_documented() {
        assert_eq!(
            err("width=abc"),
            "invalid value \"abc\" for option \"width\": expected an integer from 1 to 12000"
        );
    }

    #[test]
    fn dpr_refuses_out_of_range_and_malformed_values() {
        for value in [
            "0", "0.5", "0.99", "4.01", "5", "-1", "+2", "1e0", "inf", "NaN", "2..0", "1.5.1", ".",
            "two", "2x",
        ] {
            let message = err(&format!("dpr={value}"));
            assert!(
                message.contains("for option \"dpr\": expected a number from 1 to 4"),
                "{message}"
            );
        }
    }

    #[test]
    fn keyword_options_refuse_unknown_values() {
        for (option, expected) in [
            (
                "fit=fill",
                "scale-down, contain, cover, crop, pad or squeeze",
            ),
            (
                "fit=scale_down",
                "scale-down, contain, cover, crop, pad or squeeze",
            ),
            ("gravity=middle", "center, auto, left, right, top or bottom"),
            ("g=0.5x0.5", "center, auto, left, right, top or bottom"),
            ("format=heic", "jpeg, png, gif, webp or avif"),
            ("f=auto", "jpeg, png, gif, webp or avif"),
            ("onerror=redirect", "original or fail"),
            ("rotate=360", "0, 90, 180 or 270"),
            ("rotate=-90", "0, 90, 180 or 270"),
            ("rotate=45", "0, 90, 180 or 270"),
            ("rotate=090", "0, 90, 180 or 270"),
        ] {
            let message = err(option);
            assert!(message.ends_with(expected), "{option}: {message}");
        }
    }

    #[test]
    fn background_refuses_malformed_colours() {
        for value in [
            "#ff",
            "#fffff",
            "#fffffff",
            "#fffffffff",
            "#ggg",
            "fff",
            "red",
            "rgb(0,0,0)",
            "#",
            "%23",
        ] {
            let message = err(&format!("background={value}"));
            assert!(message.contains("for option \"background\""), "{message}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_even_with_an_empty_value() {
        assert_eq!(err("foo=1"), "unknown option \"foo\"");
        assert_eq!(err("foo="), "unknown option \"foo\"");
        assert_eq!(err("width=10,anim=false"), "unknown option \"anim\"");
        assert_eq!(err("=5"), "option \"=5\" has no name");
    }

    #[test]
    fn missing_equals_is_refused() {
        assert_eq!(
            err("width"),
            "option \"width\" has no value: expected key=value"
        );
        assert_eq!(
            err("width=10,cover"),
            "option \"cover\" has no value: expected key=value"
        );
    }

    #[test]
    fn quoted_values_are_short_and_free_of_control_characters() {
        let long = "x".repeat(500);
        let message = err(&format!("width={long}"));
        assert!(message.len() < 120, "{message}");
        assert!(
            message.contains(&format!("\"{}…\"", "x".repeat(40))),
            "{message}"
        );

        let message = err("width=1\u{7}2\r\n3");
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(message.contains("\"123\""), "{message}");

        let message = err(&format!("{}=1", "k".repeat(100)));
        assert!(message.len() < 70, "{message}");
    }

    #[test]
    fn first_error_wins_and_names_its_option() {
        let message = err("width=10,height=0,quality=500");
        assert!(message.contains("\"height\""), "{message}");
    }
}
