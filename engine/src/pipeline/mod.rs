//! header → plan → decode → orient → resize → pad → rotate → encode.
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

use crate::{codecs, geometry, Error, ErrorKind, ImageFormat, Limits, Transform};

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

/// Whether displaying the image upright turns it a quarter.
pub(crate) fn swaps_sides(orientation: Orientation) -> bool {
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
    let check = || control.check();
    let mut source = codecs::open(input, original_format, &header, limits, &check)?;
    let (original_width, original_height) = source.dimensions();
    // The decoder's view wins if it differs from the header walk.
    bounds::check_source(original_width, original_height, 1, limits)?;
    let orientation = source.orientation();
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
    let format = transform.format.unwrap_or(original_format);
    check_output(plan.canvas, format, limits)?;

    let decoded = source.decode(plan.reduction());
    // A decoder stopped by the control reports an I/O error: the control
    // says why.
    control.check()?;
    let (image, shrunk) = decoded?;

    let mut image = pixels::to_8bit(image);
    image.apply_orientation(orientation);
    // A decoder that shrank while decoding hands over fewer pixels: the
    // same plan, in the decoded image's coordinates.
    let plan = plan.shrunk_by(shrunk, (image.width(), image.height()));
    if plan.needs_resize(image.width(), image.height()) {
        image = resize::resize(image, &plan, &|| control.check())?;
        control.check()?;
    }

    if plan.is_padded() {
        image = pad::pad(&image, plan.canvas, plan.offset, transform.background);
    }
    image.apply_orientation(rotation);

    if format == ImageFormat::Jpeg && image.color().has_alpha() {
        // JPEG has no alpha: what shows through is the background.
        image = pad::flatten(&image, transform.background);
    }
    control.check()?;

    let bytes = codecs::encode(&image, format, transform.quality)?;
    // Encoders run in one call: a job that ran out of time meanwhile is
    // still reported as such, never as a late success.
    control.check()?;
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
