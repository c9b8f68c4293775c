//! nginx's `ngx_http_image_filter_module`, backed by this engine: the
//! directives' values (`image_filter` lines and their siblings), how levels
//! inherit them, and what one response becomes.
//!
//! The arithmetic follows nginx's source (`ngx_http_image_resize`): a
//! `resize` reduces the image into the box, never enlarging; a `crop`
//! reduces it until its narrower side fills the box, turns it, then cuts
//! the excess, centred; a `rotate` turns it counter-clockwise after the
//! reduction. An image that already fits, unturned, is sent as it came.
//! Sizes are computed on the upright image (EXIF orientation applied),
//! which image_filter does not do.

use crate::codecs::{self, swaps_sides};
use crate::options::MAX_SHARPEN;
use crate::{
    Control, Error, ErrorKind, FormatQualities, ImageFormat, Limits, MetadataMode, Output,
    StageTimings, Transform, Trim,
};

/// `image_filter_buffer` default.
pub const DEFAULT_BUFFER: usize = 1024 * 1024;
/// `image_filter_jpeg_quality` default (libjpeg's).
pub const DEFAULT_JPEG_QUALITY: u64 = 75;
/// `image_filter_webp_quality` default (libwebp's).
pub const DEFAULT_WEBP_QUALITY: u64 = 80;
/// A size given as `-`: no limit on that side.
pub const UNCONSTRAINED: u64 = u64::MAX;

/// The mode an `image_filter` line selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    Off,
    /// Passes images (with their own `Content-Type`), refuses the rest.
    Test,
    /// Answers the image's size as JSON.
    Size,
    Rotate,
    Resize,
    Crop,
}

/// A directive's numeric argument: a literal, or a variable the glue
/// evaluates per request (`V` is its compiled form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<V> {
    Value(u64),
    Variable(V),
}

impl<V> Default for Arg<V> {
    fn default() -> Self {
        Arg::Value(0)
    }
}

/// What a level of the configuration says. `None`: not set at this level.
#[derive(Debug, Clone, PartialEq)]
pub struct Directives<V> {
    pub filter: Option<Filter>,
    pub width: Arg<V>,
    pub height: Arg<V>,
    pub angle: Arg<V>,
    pub jpeg_quality: Option<Arg<V>>,
    pub webp_quality: Option<Arg<V>>,
    pub sharpen: Option<Arg<V>>,
    pub transparency: Option<bool>,
    pub interlace: Option<bool>,
    pub buffer: Option<usize>,
}

impl<V> Default for Directives<V> {
    fn default() -> Self {
        Directives {
            filter: None,
            width: Arg::default(),
            height: Arg::default(),
            angle: Arg::default(),
            jpeg_quality: None,
            webp_quality: None,
            sharpen: None,
            transparency: None,
            interlace: None,
            buffer: None,
        }
    }
}

/// Why a directive's arguments were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfError {
    /// nginx's message for `nginx -t`.
    Invalid(String),
    /// Compiling a variable failed; the glue reported it already.
    Reported,
}

/// nginx's `ngx_http_image_filter_value`: `-` is unconstrained, a positive
/// decimal integer is itself, anything else is 0 (invalid).
pub fn value(text: &[u8]) -> u64 {
    if text == b"-" {
        return UNCONSTRAINED;
    }
    match atoi(text) {
        Some(n) if n > 0 => n,
        _ => 0,
    }
}

/// `ngx_atoi`: digits only, no sign, at most `i64::MAX`.
fn atoi(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if n > i64::MAX as u64 {
            return None;
        }
    }
    Some(n)
}

/// Whether nginx compiles `text` as a complex value with variables (it
/// counts `$` signs).
pub fn has_variables(text: &str) -> bool {
    text.contains('$')
}

fn invalid(text: &str) -> ConfError {
    ConfError::Invalid(format!("invalid parameter \"{text}\""))
}

impl<V> Directives<V> {
    /// Applies one `image_filter` line (its arguments after the name), as
    /// nginx does: `rotate` keeps a `resize` or `crop` set before it and
    /// adds the angle; `resize`/`crop` replace the mode and keep an angle
    /// set before them. `compile` turns an argument with variables into
    /// `V`.
    pub fn image_filter(
        &mut self,
        args: &[&str],
        mut compile: impl FnMut(&str) -> Option<V>,
    ) -> Result<(), ConfError> {
        let mut arg = |text: &str, check: fn(u64) -> bool| -> Result<Arg<V>, ConfError> {
            if has_variables(text) {
                return compile(text).map(Arg::Variable).ok_or(ConfError::Reported);
            }
            let n = value(text.as_bytes());
            if check(n) {
                Ok(Arg::Value(n))
            } else {
                Err(invalid(text))
            }
        };
        match args {
            [mode] => {
                self.filter = Some(match *mode {
                    "off" => Filter::Off,
                    "test" => Filter::Test,
                    "size" => Filter::Size,
                    _ => return Err(invalid(mode)),
                });
            }
            ["rotate", angle] => {
                self.angle = arg(angle, |n| matches!(n, 90 | 180 | 270))?;
                if !matches!(self.filter, Some(Filter::Resize | Filter::Crop)) {
                    self.filter = Some(Filter::Rotate);
                }
            }
            [mode, _] => return Err(invalid(mode)),
            [mode, width, height] => {
                let filter = match *mode {
                    "resize" => Filter::Resize,
                    "crop" => Filter::Crop,
                    _ => return Err(invalid(mode)),
                };
                self.filter = Some(filter);
                self.width = arg(width, |n| n != 0)?;
                self.height = arg(height, |n| n != 0)?;
            }
            // nginx's table allows 1 to 3 arguments.
            _ => return Err(invalid(args.first().copied().unwrap_or(""))),
        }
        Ok(())
    }

    /// `image_filter_jpeg_quality`, `image_filter_webp_quality` (a positive
    /// number) and `image_filter_sharpen` (`zero_allowed`).
    pub fn number(
        text: &str,
        zero_allowed: bool,
        compile: impl FnOnce(&str) -> Option<V>,
    ) -> Result<Arg<V>, ConfError> {
        if has_variables(text) {
            return compile(text).map(Arg::Variable).ok_or(ConfError::Reported);
        }
        let n = value(text.as_bytes());
        // nginx reads "-" as -1 here: refused for all three.
        let valid = n != UNCONSTRAINED && (n > 0 || (zero_allowed && n == 0));
        if valid {
            Ok(Arg::Value(n))
        } else {
            Err(ConfError::Invalid(format!("invalid value \"{text}\"")))
        }
    }
}

impl<V: Clone> Directives<V> {
    /// Inherits what this level leaves unset, as nginx's merge does: the
    /// `image_filter` lines as a whole (mode, sizes and angle together).
    pub fn merge(&mut self, parent: &Directives<V>) {
        if self.filter.is_none() {
            self.filter = parent.filter;
            self.width = parent.width.clone();
            self.height = parent.height.clone();
            self.angle = parent.angle.clone();
        }
        if self.jpeg_quality.is_none() {
            self.jpeg_quality = parent.jpeg_quality.clone();
        }
        if self.webp_quality.is_none() {
            self.webp_quality = parent.webp_quality.clone();
        }
        if self.sharpen.is_none() {
            self.sharpen = parent.sharpen.clone();
        }
        self.transparency = self.transparency.or(parent.transparency);
        self.interlace = self.interlace.or(parent.interlace);
        self.buffer = self.buffer.or(parent.buffer);
    }

    /// The mode in effect (`off` when no level set one).
    pub fn mode(&self) -> Filter {
        self.filter.unwrap_or_default()
    }

    /// `image_filter_buffer` in effect.
    pub fn buffer_size(&self) -> usize {
        self.buffer.unwrap_or(DEFAULT_BUFFER)
    }

    /// The settings of one request: each variable evaluated by `eval`
    /// (`None` counts as invalid, as a failed evaluation does in nginx).
    pub fn settings(&self, mut eval: impl FnMut(&V) -> Option<Vec<u8>>) -> Settings {
        let mut get = |arg: &Arg<V>| match arg {
            Arg::Value(n) => *n,
            Arg::Variable(v) => eval(v).map_or(0, |text| value(&text)),
        };
        let mut or = |arg: &Option<Arg<V>>, default: u64| arg.as_ref().map_or(default, &mut get);
        Settings {
            filter: self.mode(),
            jpeg_quality: or(&self.jpeg_quality, DEFAULT_JPEG_QUALITY),
            webp_quality: or(&self.webp_quality, DEFAULT_WEBP_QUALITY),
            sharpen: or(&self.sharpen, 0),
            width: get(&self.width),
            height: get(&self.height),
            angle: get(&self.angle),
            transparency: self.transparency.unwrap_or(true),
            interlace: self.interlace.unwrap_or(false),
        }
    }
}

/// One request's image_filter settings, variables evaluated. Sizes are
/// nginx's: 0 is invalid, [`UNCONSTRAINED`] is `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub filter: Filter,
    pub width: u64,
    pub height: u64,
    /// Counter-clockwise degrees; in `rotate` mode only 90, 180 and 270
    /// are valid, combined with `resize`/`crop` other values turn nothing.
    pub angle: u64,
    pub jpeg_quality: u64,
    pub webp_quality: u64,
    /// gd's sharpening percentage.
    pub sharpen: u64,
    pub transparency: bool,
    pub interlace: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Directives::<()>::default().settings(|_| None)
    }
}

/// The image types image_filter recognises from the first bytes (its
/// `ngx_http_image_test`), then the others this engine reads (AVIF, TIFF,
/// BMP, ICO). `None`: not an image; the client gets 415.
pub fn image_type(input: &[u8]) -> Option<ImageFormat> {
    if let Some(p) = input.get(..16) {
        if p.starts_with(&[0xff, 0xd8]) {
            return Some(ImageFormat::Jpeg);
        }
        if p.starts_with(b"GIF8") && matches!(p[4], b'7' | b'9') && p[5] == b'a' {
            return Some(ImageFormat::Gif);
        }
        if p.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(ImageFormat::Png);
        }
        if p.starts_with(b"RIFF") && &p[8..12] == b"WEBP" {
            return Some(ImageFormat::Webp);
        }
    }
    match crate::sniff_format(input) {
        Ok(
            format @ (ImageFormat::Avif | ImageFormat::Tiff | ImageFormat::Bmp | ImageFormat::Ico),
        ) => Some(format),
        _ => None,
    }
}

/// `size`'s answer: image_filter's JSON, byte for byte (with its CRLF);
/// `{}` when the size is unknown.
pub fn size_json(size: Option<(u32, u32, ImageFormat)>) -> String {
    match size {
        Some((width, height, format)) => format!(
            "{{ \"img\" : {{ \"width\": {width}, \"height\": {height}, \"type\": \"{}\" }} }}\r\n",
            format.name()
        ),
        None => "{}\r\n".to_string(),
    }
}

/// What image_filter does with an image of `size` (upright): its sizes at
/// each step, in nginx's integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// After the reduction (before turning).
    pub reduced: (u32, u32),
    /// Counter-clockwise quarter turns applied: 0, 90, 180 or 270.
    pub angle: u16,
    /// The final size, after turning and cutting.
    pub output: (u32, u32),
}

/// `ngx_http_image_resize`'s sizes for `resize`, `crop` or `rotate`.
pub fn geometry(settings: &Settings, (sx, sy): (u32, u32)) -> Geometry {
    let (max_w, max_h) = (settings.width, settings.height);
    let (mut dx, mut dy) = (u64::from(sx), u64::from(sy));
    match settings.filter {
        Filter::Resize => {
            if dx > max_w {
                dy = (dy * max_w / dx).max(1);
                dx = max_w;
            }
            if dy > max_h {
                dx = (dx * max_h / dy).max(1);
                dy = max_h;
            }
        }
        Filter::Crop => {
            // nginx compares the ratios as doubles; an unconstrained side is
            // a huge number there too.
            if (dx as f64 / dy as f64) < (max_w as f64 / max_h as f64) {
                if dx > max_w {
                    dy = (dy * max_w / dx).max(1);
                    dx = max_w;
                }
            } else if dy > max_h {
                dx = (dx * max_h / dy).max(1);
                dy = max_h;
            }
        }
        _ => {}
    }
    let reduced = (dx as u32, dy as u32);
    let angle = match settings.angle {
        a @ (90 | 180 | 270) => a as u16,
        _ => 0,
    };
    let (mut ox, mut oy) = if angle == 90 || angle == 270 {
        (dy, dx)
    } else {
        (dx, dy)
    };
    if settings.filter == Filter::Crop {
        ox = ox.min(max_w);
        oy = oy.min(max_h);
    }
    Geometry {
        reduced,
        angle,
        output: (ox as u32, oy as u32),
    }
}

/// The status image_filter's clients get for a failure: 415 for anything
/// about the image, except when the server (not the image) is the reason.
pub fn status(err: &Error) -> u16 {
    match err.kind {
        ErrorKind::Overloaded | ErrorKind::ProcessingTimeout | ErrorKind::Internal => err.status(),
        _ => 415,
    }
}

fn unsupported(message: &str) -> Error {
    Error::new(ErrorKind::UnsupportedFormat, message)
}

/// What one response body becomes, decided from its header alone.
enum Plan {
    /// An answer that needs no decoding (`size`, an image that fits).
    Ready(Output),
    /// The engine's transform equal to the image_filter line.
    Transform(Transform),
}

/// Processes one response body as image_filter would (`size`, `rotate`,
/// `resize`, `crop`; `test` needs no processing, see [`image_type`]).
/// `size` answers JSON (format [`ImageFormat::Json`]); an image that needs
/// no change comes back as it was. Any `Err` is answered with
/// [`status`].
pub fn process(
    input: &[u8],
    settings: &Settings,
    limits: &Limits,
    control: &Control<'_>,
) -> Result<Output, Error> {
    match plan(input, settings)? {
        Plan::Ready(output) => Ok(output),
        Plan::Transform(transform) => crate::process(input, &transform, limits, control),
    }
}

/// The peak memory [`process`] is predicted to need, from the header (see
/// [`crate::predict_memory`]): the transform the line amounts to, so a
/// `resize` of a large JPEG counts its reduced decode, not the whole image.
/// Answers that need no decoding cost nothing beyond the input.
pub fn predict_memory(input: &[u8], settings: &Settings, limits: &Limits) -> Result<u64, Error> {
    match plan(input, settings)? {
        Plan::Ready(_) => Ok(0),
        Plan::Transform(transform) => crate::predict_memory(input, &transform, limits),
    }
}

fn plan(input: &[u8], settings: &Settings) -> Result<Plan, Error> {
    let kind = image_type(input);
    if settings.filter == Filter::Size {
        let size = kind.and_then(|format| {
            let header = codecs::read_header(input, format).ok()?;
            Some((header.width, header.height, format))
        });
        return Ok(Plan::Ready(json(size_json(size), kind)));
    }
    let Some(format) = kind else {
        return Err(unsupported(
            "the response is not a JPEG, GIF, PNG or WebP image",
        ));
    };
    let header = codecs::read_header(input, format)?;
    let upright = if swaps_sides(codecs::orientation(input, format, &header)) {
        (header.height, header.width)
    } else {
        (header.width, header.height)
    };
    match settings.filter {
        Filter::Rotate if !matches!(settings.angle, 90 | 180 | 270) => {
            return Err(unsupported("the rotation angle is not 90, 180 or 270"));
        }
        Filter::Resize | Filter::Crop if settings.width == 0 || settings.height == 0 => {
            return Err(unsupported("the width or height is not a positive number"));
        }
        Filter::Resize | Filter::Crop | Filter::Rotate => {}
        Filter::Off | Filter::Test | Filter::Size => {
            return Err(Error::new(ErrorKind::Internal, "nothing to process"));
        }
    }
    let quality = match format {
        ImageFormat::Jpeg => settings.jpeg_quality,
        ImageFormat::Webp => settings.webp_quality,
        _ => 1,
    };
    if quality == 0 {
        return Err(unsupported("the quality is not a positive number"));
    }
    let fits = u64::from(upright.0) <= settings.width && u64::from(upright.1) <= settings.height;
    let geometry = geometry(settings, upright);
    if settings.filter != Filter::Rotate && geometry.angle == 0 && fits && !forces(input, format) {
        return Ok(Plan::Ready(as_is(input, format, upright)));
    }
    Ok(Plan::Transform(transform(
        input, format, settings, upright, &geometry,
    )))
}

/// image_filter re-encodes a JPEG that fits when its application data
/// (EXIF, XMP...) take more than 5% of it, to drop them.
fn forces(input: &[u8], format: ImageFormat) -> bool {
    format == ImageFormat::Jpeg && input.len() / 20 < jpeg_app_data(input)
}

/// The bytes of a JPEG's APP1–APP15 segments, walked as nginx does.
fn jpeg_app_data(input: &[u8]) -> usize {
    let mut app = 0;
    let mut p = 2;
    let last = input.len().saturating_sub(10);
    while p < last {
        if input[p] == 0xff && input[p + 1] != 0xff {
            p += 1;
            let len = usize::from(input[p + 1]) * 256 + usize::from(input[p + 2]);
            if (0xe1..=0xef).contains(&input[p]) {
                app += len;
            }
            p += len;
            continue;
        }
        p += 1;
    }
    app
}

/// The engine's transform for `geometry`: a centred cut (as `trim`, in the
/// upright original's pixels), a reduction to exactly the size nginx
/// computes, a clockwise turn equal to nginx's counter-clockwise one, and
/// image_filter's encoding settings.
fn transform(
    input: &[u8],
    format: ImageFormat,
    settings: &Settings,
    (sx, sy): (u32, u32),
    geometry: &Geometry,
) -> Transform {
    let quarter = geometry.angle == 90 || geometry.angle == 270;
    // The final size before turning.
    let (fx, fy) = if quarter {
        (geometry.output.1, geometry.output.0)
    } else {
        geometry.output
    };
    let (dx, dy) = geometry.reduced;
    // The cut, scaled back to the original's pixels.
    let keep_x = scale_back(fx, sx, dx);
    let keep_y = scale_back(fy, sy, dy);
    let trim = (keep_x < sx || keep_y < sy).then(|| {
        let (left, top) = ((sx - keep_x) / 2, (sy - keep_y) / 2);
        Trim::Edges {
            top,
            right: sx - keep_x - left,
            bottom: sy - keep_y - top,
            left,
        }
    });
    let resized = (fx, fy) != (keep_x, keep_y);
    Transform {
        width: resized.then_some(fx),
        height: resized.then_some(fy),
        fit: crate::Fit::Squeeze,
        rotate: (360 - geometry.angle) % 360,
        trim,
        // gd reads only the first frame of an animation.
        anim: false,
        progressive: settings.interlace,
        metadata: MetadataMode::Discard,
        sharpen: (settings.sharpen as f64 / 10.0).min(MAX_SHARPEN),
        format_qualities: FormatQualities {
            jpeg: Some(settings.jpeg_quality.clamp(1, 100) as u8),
            webp: Some(settings.webp_quality.clamp(1, 100) as u8),
            avif: None,
        },
        opaque: !settings.transparency && has_palette(input, format),
        ..Transform::default()
    }
}

/// `side` of the output in the original's pixels, when the original's
/// `original` became `reduced`.
fn scale_back(side: u32, original: u32, reduced: u32) -> u32 {
    if reduced == original {
        return side;
    }
    let scaled = (u64::from(side) * u64::from(original) + u64::from(reduced) / 2)
        / u64::from(reduced.max(1));
    (scaled as u32).clamp(1, original)
}

/// GIF, and PNG with a palette: where `image_filter_transparency off`
/// drops the transparent colour.
fn has_palette(input: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Gif => true,
        // IHDR's colour type, 3: indexed.
        ImageFormat::Png => input.get(25) == Some(&3),
        _ => false,
    }
}

fn as_is(input: &[u8], format: ImageFormat, (width, height): (u32, u32)) -> Output {
    Output {
        bytes: input.to_vec(),
        format,
        width,
        height,
        original_format: format,
        original_width: width,
        original_height: height,
        timings: StageTimings::default(),
    }
}

fn json(body: String, kind: Option<ImageFormat>) -> Output {
    let original = kind.unwrap_or(ImageFormat::Json);
    Output {
        bytes: body.into_bytes(),
        format: ImageFormat::Json,
        width: 0,
        height: 0,
        original_format: original,
        original_width: 0,
        original_height: 0,
        timings: StageTimings::default(),
    }
}

#[cfg(test)]
#[path = "image_filter_tests.rs"]
mod tests;
