//! Parsing and validating the option string (`width=300,fit=cover,...`).
//! Processing only ever sees a validated [`Transform`].

mod format_quality;
mod template;
mod values;

use crate::{Error, ErrorKind, ImageFormat};
use values::Pair;

pub use format_quality::FormatQualities;
pub use template::{Bound, Slot, Template};

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
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Gravity {
    #[default]
    Center,
    Left,
    Right,
    Top,
    Bottom,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    /// The most salient part of the image (see `pipeline/focus.rs`).
    Auto,
    /// A focal point, as fractions of the width and height (0.0–1.0): the
    /// crop is centred on it as far as the image allows.
    Focus {
        x: f64,
        y: f64,
    },
}

/// What `trim` cuts away before anything else happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Pixels removed from each side of the (upright) original.
    Edges {
        top: u32,
        right: u32,
        bottom: u32,
        left: u32,
    },
    /// A uniform border (the colour of the top-left pixel, within a
    /// tolerance), detected on the image.
    Border,
}

/// Mirroring before rotation (`flip=h|v|hv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flip {
    pub horizontal: bool,
    pub vertical: bool,
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

/// Which invisible metadata (EXIF, XMP) a JPEG output keeps
/// (Cloudflare's `metadata`). PNG, WebP, AVIF and GIF outputs never carry
/// any. Colour profiles and EXIF orientation are applied to the pixels
/// whatever this says, and a kept orientation is reset to upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataMode {
    /// EXIF (GPS included) and XMP as the original has them.
    Keep,
    /// Only the EXIF copyright notice: Cloudflare's default for JPEG.
    #[default]
    Copyright,
    /// Nothing.
    Discard,
}

/// How much encoding effort an output gets (`compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// JPEG through jpegli, progressive unless `baseline-jpeg`.
    #[default]
    Default,
    /// The quickest settings: baseline JPEG from libjpeg-turbo. Larger
    /// files, less latency.
    Fast,
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
    /// `format=auto`: the output format is negotiated per request from
    /// `Accept` and written into `format` (`None` keeps the input format).
    pub auto_format: bool,
    /// JPEG output is progressive (`format=jpeg`) unless `format` was
    /// `baseline-jpeg` or `compression=fast`.
    pub progressive: bool,
    /// An explicit `quality` below 100 with PNG output asks for a palette
    /// (PNG8), as with Cloudflare.
    pub explicit_quality: bool,
    pub metadata: MetadataMode,
    pub compression: Compression,
    /// Keep every frame of an animation (`anim=true`, the default), or
    /// only the first.
    pub anim: bool,
    pub trim: Option<Trim>,
    pub flip: Flip,
    /// Gaussian blur radius, 0 (none) or 1–250.
    pub blur: f64,
    /// Unsharp-mask strength, 0 (none) to 10.
    pub sharpen: f64,
    /// Factors where 1 changes nothing (Cloudflare's scales): brightness
    /// and contrast multiply, gamma brightens above 1 and darkens below,
    /// saturation 0 is grey and 2 doubles it.
    pub brightness: f64,
    pub contrast: f64,
    pub gamma: f64,
    pub saturation: f64,
    /// The location's default quality per output format, used when the
    /// request gives no `quality` (set by the glue, not by options).
    pub format_qualities: FormatQualities,
    /// Transparency is flattened onto `background` whatever the output
    /// format (`image_filter_transparency off`; not an option).
    pub opaque: bool,
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
            auto_format: false,
            progressive: true,
            explicit_quality: false,
            metadata: MetadataMode::default(),
            compression: Compression::default(),
            anim: true,
            trim: None,
            flip: Flip::default(),
            blur: 0.0,
            sharpen: 0.0,
            brightness: 1.0,
            contrast: 1.0,
            gamma: 1.0,
            saturation: 1.0,
            format_qualities: FormatQualities::default(),
            opaque: false,
        }
    }
}

/// Largest `width`/`height`, also the cap after `dpr` is applied
/// (Cloudflare's per-side limit).
pub const MAX_SIDE: u32 = 12_000;

/// Largest `trim` of one side; the image left must still have pixels,
/// which is checked against the actual size.
pub const MAX_TRIM: u32 = 100_000;

/// Largest `blur` radius (Cloudflare's).
pub const MAX_BLUR: f64 = 250.0;

/// Largest `sharpen` strength (Cloudflare's).
pub const MAX_SHARPEN: f64 = 10.0;

/// Largest `brightness`, `contrast`, `gamma` and `saturation` factor.
pub const MAX_FACTOR: f64 = 10.0;

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
    let mut builder = Builder::default();
    for item in options.split(',') {
        let Some((key, value)) = split_item(item)? else {
            continue;
        };
        builder.apply(key, value)?;
    }
    Ok(builder.finish())
}

/// One item of an option list as `(key, value)`, both trimmed; `None` for
/// an empty item. The key is checked against [`OPTION_NAMES`] here so an
/// unknown key is refused even when its value is empty.
fn split_item(item: &str) -> Result<Option<(&str, &str)>, Error> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(None);
    }
    let Some((key, value)) = item.split_once('=') else {
        return Err(invalid(format!(
            "option {} has no value: expected key=value",
            quote(item)
        )));
    };
    let key = key.trim();
    if canonical_name(key).is_none() {
        return Err(if key.is_empty() {
            invalid(format!("option {} has no name", quote(item)))
        } else {
            invalid(format!("unknown option {}", quote(key)))
        });
    }
    Ok(Some((key, value.trim())))
}

/// A [`Transform`] being assembled one option at a time. `dpr` is applied
/// by [`Builder::finish`], so the order of the options does not matter.
/// Cloned per request by a compiled template (see [`template`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Builder {
    transform: Transform,
    dpr: Option<f64>,
}

impl Builder {
    /// Validates and applies one option; an empty value means "not given".
    /// `key` may be an alias; messages name it as written.
    pub(crate) fn apply(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let Some(name) = canonical_name(key) else {
            return Err(invalid(format!("unknown option {}", quote(key))));
        };
        if value.is_empty() {
            // `width=$arg_w` with no `w` argument: the option is absent.
            return Ok(());
        }
        let option = Pair { key, value };
        let transform = &mut self.transform;
        match name {
            "width" => transform.width = Some(option.integer(1, MAX_SIDE)?),
            "height" => transform.height = Some(option.integer(1, MAX_SIDE)?),
            "dpr" => self.dpr = Some(option.decimal(1.0, 4.0)?),
            "fit" => transform.fit = option.fit()?,
            "gravity" => transform.gravity = option.gravity()?,
            "quality" => {
                transform.quality = option.quality()?;
                transform.explicit_quality = true;
            }
            "format" => {
                // `auto` is decided per request from `Accept`
                // (`http::negotiate`); until then the input format is kept.
                let auto = option.keyword() == "auto";
                transform.auto_format = auto;
                transform.format = if auto { None } else { Some(option.format()?) };
                transform.progressive = option.keyword() != "baseline-jpeg";
            }
            "background" => transform.background = option.color()?,
            "rotate" => transform.rotate = option.rotation()?,
            "onerror" => transform.onerror = option.onerror()?,
            "metadata" => transform.metadata = option.metadata()?,
            "compression" => transform.compression = option.compression()?,
            "anim" => transform.anim = option.boolean()?,
            "trim" => transform.trim = option.trim()?,
            "flip" => transform.flip = option.flip()?,
            "blur" => transform.blur = option.zero_or_decimal(1.0, MAX_BLUR)?,
            "sharpen" => transform.sharpen = option.decimal(0.0, MAX_SHARPEN)?,
            // 0 means "no change" for these three, as at Cloudflare.
            "brightness" => transform.brightness = option.factor()?,
            "contrast" => transform.contrast = option.factor()?,
            "gamma" => transform.gamma = option.factor()?,
            "saturation" => transform.saturation = option.decimal(0.0, MAX_FACTOR)?,
            // A row of OPTION_NAMES without an arm; a test keeps this unused.
            _ => return Err(invalid(format!("unknown option {}", quote(key)))),
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Transform {
        if let Some(dpr) = self.dpr {
            let transform = &mut self.transform;
            transform.width = transform.width.map(|side| scale_side(side, dpr));
            transform.height = transform.height.map(|side| scale_side(side, dpr));
        }
        self.transform
    }
}

/// The output format a `format=` value (or an `image_formats_allowed`
/// entry) names, case-insensitively.
pub fn format_from_name(name: &str) -> Option<ImageFormat> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "jpeg" | "jpg" | "baseline-jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "gif" => ImageFormat::Gif,
        "webp" => ImageFormat::Webp,
        "avif" => ImageFormat::Avif,
        "json" => ImageFormat::Json,
        _ => return None,
    })
}

/// Every option's canonical name with its short aliases: the one list that
/// parsing, the allow-lists (`image_params_allowed`) and error messages use.
/// A new option is a row here and an arm in [`parse`].
pub const OPTION_NAMES: &[(&str, &[&str])] = &[
    ("width", &["w"]),
    ("height", &["h"]),
    ("dpr", &[]),
    ("fit", &[]),
    ("gravity", &["g"]),
    ("quality", &["q"]),
    ("format", &["f"]),
    ("background", &[]),
    ("rotate", &[]),
    ("onerror", &[]),
    ("metadata", &[]),
    ("compression", &[]),
    ("anim", &[]),
    ("trim", &[]),
    ("flip", &[]),
    ("blur", &[]),
    ("sharpen", &[]),
    ("brightness", &[]),
    ("contrast", &[]),
    ("gamma", &[]),
    ("saturation", &[]),
];

/// The canonical name of an option or alias, case-insensitively
/// (`W` → `width`); `None` for an unknown key.
pub fn canonical_name(key: &str) -> Option<&'static str> {
    let key = key.trim().to_ascii_lowercase();
    OPTION_NAMES
        .iter()
        .find(|(name, aliases)| *name == key || aliases.contains(&key.as_str()))
        .map(|(name, _)| *name)
}

fn scale_side(side: u32, dpr: f64) -> u32 {
    let scaled = (f64::from(side) * dpr).round();
    // dpr >= 1 so the result is at least `side`; the cap keeps it a valid size.
    (scaled.min(f64::from(MAX_SIDE)) as u32).max(1)
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
mod tests;
