//! header → plan → decode → orient → trim → place (auto gravity)
//! → colour and resize (the colour conversion on the side with fewer
//! pixels) → adjust → pad → flip → rotate → encode (→ metadata).
//! Animations (`animate`) run every frame through the same steps after
//! `orient`.
//!
//! JPEGs are decoded at 1/2, 1/4 or 1/8 scale when the output is at least
//! that much smaller (libjpeg-turbo's DCT scaling), so the Lanczos3 pass
//! starts from an image between one and two times the output size instead
//! of from the full-size original.
//!
//! Every step that can take a while is followed by a look at the
//! [`Control`], so a job whose client went away or whose time ran out stops
//! at the next step instead of finishing work nobody will read.

pub(crate) mod adjust;
mod animate;
mod bounds;
pub(crate) mod flip;
pub(crate) mod focus;
mod orient;
mod pad;
mod pixels;
pub(crate) mod resize;
pub(crate) mod trim;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use image::DynamicImage;

use crate::codecs::{swaps_sides, Encoding, Metadata};
use crate::geometry::Plan;
use crate::json::Description;
use crate::{
    codecs, colour, geometry, Compression, Error, ErrorKind, Gravity, ImageFormat, Limits,
    MetadataMode, Transform, Trim,
};
use trim::Region;

/// How the caller can stop a running job: a flag set when the client goes
/// away, and a deadline (`image_timeout`).
pub struct Control<'a> {
    pub cancel: &'a AtomicBool,
    pub deadline: Option<Instant>,
}

impl Control<'_> {
    /// `Err` when the job should stop: [`ErrorKind::Cancelled`] once the
    /// flag is set, [`ErrorKind::ProcessingTimeout`] once the deadline has
    /// passed. The flag is only a hint between threads, so a relaxed load is
    /// enough.
    pub fn check(&self) -> Result<(), Error> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::Cancelled,
                "the client closed the connection",
            ));
        }
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(Error::new(
                ErrorKind::ProcessingTimeout,
                "processing took longer than the time limit",
            ));
        }
        Ok(())
    }
}

/// The encoded result and what the access log wants to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub original_format: ImageFormat,
    pub original_width: u32,
    pub original_height: u32,
    /// How long the stages took (zero for those that did not run).
    pub timings: StageTimings,
}

/// How long each stage of one transformation took, for `Server-Timing`:
/// `decode` (with orientation), `resize` (colour conversion, resize,
/// crop, pad, rotate, adjustments), `encode` (with metadata).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    pub decode: std::time::Duration,
    pub resize: std::time::Duration,
    pub encode: std::time::Duration,
}

/// Refuses a source over the limits from its header alone.
pub(crate) fn check_source(header: &codecs::Header, limits: &Limits) -> Result<(), Error> {
    bounds::check_source(header.width, header.height, header.frames, limits)
}

/// Refuses an output over its format's limits, before any decoding.
pub(crate) fn check_output(
    canvas: (u32, u32),
    format: ImageFormat,
    limits: &Limits,
) -> Result<(), Error> {
    bounds::check_output(canvas.0, canvas.1, limits)?;
    codecs::check_size(format, canvas.0, canvas.1)?;
    bounds::check_output_budget(canvas.0, canvas.1, format, limits)
}

/// The plan for an original known only by its header, and the upright
/// size it starts from (EXIF orientation and a HEIF clean aperture read
/// without decoding).
pub(crate) fn plan_from_header(
    input: &[u8],
    format: ImageFormat,
    header: &codecs::Header,
    transform: &Transform,
) -> (Plan, (u32, u32)) {
    let upright = codecs::upright_size(input, format, header);
    let plan = geometry::plan(
        upright.0,
        upright.1,
        transform.width,
        transform.height,
        transform.fit,
        transform.gravity,
    );
    (plan, upright)
}

/// Runs the whole pipeline on one original.
pub fn process(
    input: &[u8],
    transform: &Transform,
    limits: &Limits,
    control: &Control<'_>,
) -> Result<Output, Error> {
    control.check()?;
    let started = std::time::Instant::now();
    // An impossible rotation is refused before anything is read.
    orient::rotation(transform.rotate)?;

    // Size first, from the header alone: a decompression bomb is refused
    // before the decoder allocates anything.
    let original_format = codecs::sniff_format(input)?;
    let header = codecs::read_header(input, original_format)?;
    bounds::check_source(header.width, header.height, header.frames, limits)?;
    if transform.format == Some(ImageFormat::Json) {
        return describe(input, original_format, &header, transform, limits);
    }
    // The format planned before decoding; a transparent image whose
    // original format cannot be written may still become PNG (see below).
    let format = match transform.format {
        Some(format) if format.is_output() => format,
        _ => default_output(original_format, false),
    };
    if header.frames > 1 && transform.anim && codecs::frames::animates(format) {
        return animate::animate(input, original_format, format, transform, limits, control);
    }
    let check = || control.check();
    let mut source = codecs::open(input, original_format, &header, limits, &check)?;
    let (original_width, original_height) = source.dimensions();
    // The decoder's view wins if it differs from the header walk.
    bounds::check_source(original_width, original_height, 1, limits)?;
    let orientation = source.orientation();
    let metadata = source.metadata(input);
    control.check()?;

    // The plan works on the upright image at full size (less what `trim`
    // cuts), and is made before decoding: the output limits are checked
    // first, and the decoder learns how much smaller the output will be.
    let upright = if swaps_sides(orientation) {
        (original_height, original_width)
    } else {
        (original_width, original_height)
    };
    let region = trim::edges(upright.0, upright.1, transform.trim)?;
    let plan = plan_for(region, transform, format, limits)?;
    // A border is found on the pixels: it must see them at full size.
    let reduction = if transform.trim == Some(Trim::Border) {
        1.0
    } else {
        plan.reduction()
    };

    let decoded = source.decode(reduction);
    // A decoder stopped by the control reports an I/O error: the control
    // says why.
    control.check()?;
    let (image, shrunk) = decoded?;

    // The embedded profile is applied in `render`, on whichever side of
    // the resize has fewer pixels.
    let mut image = pixels::to_working(image);
    image.apply_orientation(orientation);
    let decoded = std::time::Instant::now();
    let plan = locate(&image, plan, region, shrunk, transform, format, limits)?;
    let mut image = render(image, &plan, transform, metadata.icc.as_deref(), control)?;
    let rendered = std::time::Instant::now();

    let format = match transform.format {
        Some(format) => format,
        None => default_output(original_format, image.color().has_alpha()),
    };
    if (format == ImageFormat::Jpeg || transform.opaque) && image.color().has_alpha() {
        // JPEG has no alpha: what shows through is the background.
        image = pad::flatten(&image, transform.background);
    }
    control.check()?;

    let encoding = Encoding {
        quality: transform.quality_for(format),
        progressive: transform.progressive && transform.compression != Compression::Fast,
        palette: transform.explicit_quality && transform.quality < 100,
        fast: transform.compression == Compression::Fast,
    };
    let mut bytes = codecs::encode_with(&image, format, &encoding, &check)?;
    if format == ImageFormat::Jpeg {
        bytes = with_metadata(bytes, &metadata, transform.metadata);
    }
    // Not every encoder can be stopped part-way: a job that ran out of
    // time meanwhile is still reported as such, never as a late success.
    control.check()?;
    let timings = StageTimings {
        decode: decoded - started,
        resize: rendered - decoded,
        encode: rendered.elapsed(),
    };
    Ok(Output {
        bytes,
        format,
        width: image.width(),
        height: image.height(),
        original_format,
        original_width,
        original_height,
        timings,
    })
}

/// The plan for a source region, with the output limits checked.
fn plan_for(
    region: Region,
    transform: &Transform,
    format: ImageFormat,
    limits: &Limits,
) -> Result<Plan, Error> {
    let plan = geometry::plan(
        region.width,
        region.height,
        transform.width,
        transform.height,
        transform.fit,
        transform.gravity,
    );
    // The canvas is the largest thing the plan makes (it holds the resized
    // image), and enlarging modes can make it far larger than the source.
    check_output(plan.canvas, format, limits)?;
    Ok(plan)
}

/// Turns a plan made on the full-size `region` into one for the decoded
/// image: shrunk with it, moved into the trimmed region (a border trim is
/// found and planned for here), and with `gravity=auto` placed where the
/// pixels say.
fn locate(
    image: &DynamicImage,
    plan: Plan,
    region: Region,
    shrunk: u32,
    transform: &Transform,
    format: ImageFormat,
    limits: &Limits,
) -> Result<Plan, Error> {
    let (region, plan) = if transform.trim == Some(Trim::Border) {
        // Decoded at full size (see `process`), so no shrink to follow.
        let region = trim::border(image, trim::BORDER_TOLERANCE);
        (region, plan_for(region, transform, format, limits)?)
    } else {
        let scale = f64::from(shrunk.max(1));
        let (width, height) = (image.width(), image.height());
        let shrunk_region = Region {
            x: (f64::from(region.x) / scale).floor() as u32,
            y: (f64::from(region.y) / scale).floor() as u32,
            width: ((f64::from(region.width) / scale).ceil() as u32).clamp(1, width),
            height: ((f64::from(region.height) / scale).ceil() as u32).clamp(1, height),
        };
        let plan = plan.shrunk_by(shrunk, (shrunk_region.width, shrunk_region.height));
        (shrunk_region, plan)
    };
    let plan = if transform.gravity == Gravity::Auto {
        // The saliency scores read 8-bit pixels; a deep image (16-bit PNG)
        // is looked at through an 8-bit copy.
        let narrowed;
        let view = if is_8bit(image) {
            image
        } else {
            narrowed = pixels::to_8bit(image.clone());
            &narrowed
        };
        let point = focus::focus(view, region, plan.crop.width, plan.crop.height);
        plan.placed(region.width, region.height, point)
    } else {
        plan
    };
    Ok(plan.offset_by(f64::from(region.x), f64::from(region.y)))
}

/// The steps every frame goes through once decoded and upright: colour
/// (the embedded profile `icc` to sRGB), resize (which also cuts the trim
/// and the crop), adjust, pad, flip, rotate.
///
/// The colour conversion costs the same for every pixel, so it runs on
/// the smaller of the two images the resize joins: after a reduction (the
/// common case: a thumbnail converts the output's pixels, not the
/// source's), before an enlargement. Both orders resample gamma-encoded
/// values (Adobe RGB's and Display P3's curves are close to sRGB's), which
/// is also what imgproxy and libvips' thumbnail do when not working in
/// linear light. CMYK is converted in the decoder, before any of this.
fn render(
    mut image: DynamicImage,
    plan: &Plan,
    transform: &Transform,
    icc: Option<&[u8]>,
    control: &Control<'_>,
) -> Result<DynamicImage, Error> {
    let resizes = plan.needs_resize(image.width(), image.height());
    let pixels_before = u64::from(image.width()) * u64::from(image.height());
    let pixels_after = u64::from(plan.resized.0) * u64::from(plan.resized.1);
    let colour_after = resizes && pixels_after < pixels_before;
    if !colour_after {
        image = colour::to_srgb(image, icc);
    }
    if resizes {
        image = resize::resize(image, plan, &|| control.check())?;
        control.check()?;
    }
    if colour_after {
        image = colour::to_srgb(image, icc);
    }
    // Resampling kept a deep image's precision; everything after it works
    // on 8 bits, as every output format is written with 8 bits anyway.
    let mut image = pixels::to_8bit(image);
    if !adjust::is_neutral(transform) {
        image = adjust::adjust(image, transform);
        control.check()?;
    }
    if plan.is_padded() {
        image = pad::pad(&image, plan.canvas, plan.offset, transform.background);
    }
    flip::flip(&mut image, transform.flip);
    image.apply_orientation(orient::rotation(transform.rotate)?);
    Ok(image)
}

/// Whether the pixels are 8 bits per channel.
fn is_8bit(image: &DynamicImage) -> bool {
    matches!(
        image,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_)
    )
}
/// The output format when `format` is not given: the original's, or for
/// formats the engine reads but does not write, JPEG (PNG when the image
/// is transparent, and for icons, which nearly always are).
fn default_output(original: ImageFormat, has_alpha: bool) -> ImageFormat {
    if original.is_output() {
        original
    } else if has_alpha || original == ImageFormat::Ico {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    }
}

/// `format=json`: the output's size and format from the header and the
/// EXIF orientation alone, with the same limits as a real transformation.
/// Nothing is decoded, so an original cut short after its header still
/// gets an answer.
fn describe(
    input: &[u8],
    original_format: ImageFormat,
    header: &codecs::Header,
    transform: &Transform,
    limits: &Limits,
) -> Result<Output, Error> {
    let (plan, upright) = plan_from_header(input, original_format, header, transform);
    let (width, height) = (header.width, header.height);
    bounds::check_output(plan.canvas.0, plan.canvas.1, limits)?;
    let format = default_output(original_format, false);
    codecs::check_size(format, plan.canvas.0, plan.canvas.1)?;
    let (out_width, out_height) = if matches!(transform.rotate, 90 | 270) {
        (plan.canvas.1, plan.canvas.0)
    } else {
        plan.canvas
    };
    let description = Description {
        width: out_width,
        height: out_height,
        format,
        original_width: upright.0,
        original_height: upright.1,
        original_format,
        original_bytes: input.len(),
    };
    Ok(Output {
        bytes: description.to_json(),
        format: ImageFormat::Json,
        width: out_width,
        height: out_height,
        original_format,
        original_width: width,
        original_height: height,
        timings: StageTimings::default(),
    })
}

/// A JPEG output with the original's metadata `mode` keeps. The pixels are
/// upright and sRGB already, so a kept EXIF block says orientation 1 and
/// no profile is carried.
fn with_metadata(jpeg: Vec<u8>, metadata: &Metadata, mode: MetadataMode) -> Vec<u8> {
    let exif = metadata.exif.as_deref();
    match mode {
        MetadataMode::Discard => jpeg,
        MetadataMode::Copyright => {
            let copyright = exif.and_then(codecs::exif_copyright_only);
            codecs::add_jpeg_metadata(jpeg, copyright.as_deref(), None)
        }
        MetadataMode::Keep => {
            let upright = exif.and_then(codecs::exif_reset_orientation);
            codecs::add_jpeg_metadata(jpeg, upright.as_deref(), metadata.xmp.as_deref())
        }
    }
}
