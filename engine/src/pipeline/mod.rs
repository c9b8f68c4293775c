//! header → plan → decode → colour → orient → resize → pad → rotate →
//! encode (→ metadata).
//!
//! JPEGs are decoded at 1/2, 1/4 or 1/8 scale when the output is at least
//! that much smaller (libjpeg-turbo's DCT scaling), so the Lanczos3 pass
//! starts from an image between one and two times the output size instead
//! of from the full-size original.
//!
//! Every step that can take a while is followed by a look at the
//! [`Control`], so a job whose client went away or whose time ran out stops
//! at the next step instead of finishing work nobody will read.

mod bounds;
mod orient;
mod pad;
mod pixels;
pub(crate) mod resize;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use image::metadata::Orientation;

use crate::codecs::{Encoding, Metadata};
use crate::json::Description;
use crate::{
    codecs, colour, geometry, Compression, Error, ErrorKind, ImageFormat, Limits, MetadataMode,
    Transform,
};

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
}

/// Whether displaying the image upright turns it a quarter.
fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Runs the whole pipeline on one original.
pub fn process(
    input: &[u8],
    transform: &Transform,
    limits: &Limits,
    control: &Control<'_>,
) -> Result<Output, Error> {
    control.check()?;
    let rotation = orient::rotation(transform.rotate)?;

    // Size first, from the header alone: a decompression bomb is refused
    // before the decoder allocates anything.
    let original_format = codecs::sniff_format(input)?;
    let header = codecs::read_header(input, original_format)?;
    bounds::check_source(header.width, header.height, header.frames, limits)?;
    if transform.format == Some(ImageFormat::Json) {
        return describe(input, original_format, &header, transform, limits);
    }
    let mut source = codecs::open(input, original_format, limits)?;
    let (original_width, original_height) = source.dimensions();
    // The decoder's view wins if it differs from the header walk.
    bounds::check_source(original_width, original_height, 1, limits)?;
    let orientation = source.orientation();
    let metadata = source.metadata(input);
    control.check()?;

    // The plan works on the upright image at full size, and is made before
    // decoding: the output limits are checked first, and the decoder learns
    // how much smaller the output will be.
    let upright = if swaps_sides(orientation) {
        (original_height, original_width)
    } else {
        (original_width, original_height)
    };
    let plan = geometry::plan(
        upright.0,
        upright.1,
        transform.width,
        transform.height,
        transform.fit,
        transform.gravity,
    );
    // The canvas is the largest thing the plan makes (it holds the resized
    // image), and enlarging modes can make it far larger than the source.
    bounds::check_output(plan.canvas.0, plan.canvas.1, limits)?;
    let planned = match transform.format {
        Some(format) if format.is_output() => format,
        _ => default_output(original_format, false),
    };
    codecs::check_size(planned, plan.canvas.0, plan.canvas.1)?;

    let (image, shrunk) = source.decode(plan.reduction())?;
    control.check()?;

    // Colour first, on the fewest pixels the decoder could give: after
    // shrink-on-load, before resampling (which should mix final colours).
    let mut image = colour::to_srgb(pixels::to_working(image), metadata.icc.as_deref());
    image.apply_orientation(orientation);
    // A decoder that shrank while decoding hands over fewer pixels: the
    // same plan, in the decoded image's coordinates.
    let plan = plan.shrunk_by(shrunk, (image.width(), image.height()));
    if plan.needs_resize(image.width(), image.height()) {
        image = resize::resize(image, &plan)?;
        control.check()?;
    }
    let mut image = pixels::to_8bit(image);

    if plan.is_padded() {
        image = pad::pad(&image, plan.canvas, plan.offset, transform.background);
    }
    image.apply_orientation(rotation);

    let format = match transform.format {
        Some(format) => format,
        None => default_output(original_format, image.color().has_alpha()),
    };
    if format == ImageFormat::Jpeg && image.color().has_alpha() {
        // JPEG has no alpha: what shows through is the background.
        image = pad::flatten(&image, transform.background);
    }
    control.check()?;

    let encoding = Encoding {
        quality: transform.quality,
        progressive: transform.progressive && transform.compression != Compression::Fast,
        palette: transform.explicit_quality && transform.quality < 100,
    };
    let mut bytes = codecs::encode_with(&image, format, &encoding)?;
    if format == ImageFormat::Jpeg {
        bytes = with_metadata(bytes, &metadata, transform.metadata);
    }
    Ok(Output {
        bytes,
        format,
        width: image.width(),
        height: image.height(),
        original_format,
        original_width,
        original_height,
    })
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
    let (width, height) = (header.width, header.height);
    let upright = if swaps_sides(codecs::orientation(input, original_format)) {
        (height, width)
    } else {
        (width, height)
    };
    let plan = geometry::plan(
        upright.0,
        upright.1,
        transform.width,
        transform.height,
        transform.fit,
        transform.gravity,
    );
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
