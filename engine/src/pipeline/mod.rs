//! header → plan → decode → orient → trim → place (auto gravity) →
//! resize → adjust → pad → flip → rotate → encode. Animations (`animate`)
//! run every frame through the same steps after `orient`.
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

use image::metadata::Orientation;
use image::DynamicImage;

use crate::geometry::Plan;
use crate::{codecs, geometry, Error, ErrorKind, Gravity, ImageFormat, Limits, Transform, Trim};
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
    // An impossible rotation is refused before anything is read.
    orient::rotation(transform.rotate)?;

    // Size first, from the header alone: a decompression bomb is refused
    // before the decoder allocates anything.
    let original_format = codecs::sniff_format(input)?;
    let header = codecs::read_header(input, original_format)?;
    bounds::check_source(header.width, header.height, header.frames, limits)?;
    let format = transform.format.unwrap_or(original_format);
    if header.frames > 1 && transform.anim && codecs::frames::animates(format) {
        return animate::animate(input, original_format, format, transform, limits, control);
    }
    let mut source = codecs::open(input, original_format, limits)?;
    let (original_width, original_height) = source.dimensions();
    // The decoder's view wins if it differs from the header walk.
    bounds::check_source(original_width, original_height, 1, limits)?;
    let orientation = source.orientation();
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

    let (image, shrunk) = source.decode(reduction)?;
    control.check()?;

    let mut image = pixels::to_8bit(image);
    image.apply_orientation(orientation);
    let plan = locate(&image, plan, region, shrunk, transform, format, limits)?;
    let mut image = render(image, &plan, transform, control)?;

    if format == ImageFormat::Jpeg && image.color().has_alpha() {
        // JPEG has no alpha: what shows through is the background.
        image = pad::flatten(&image, transform.background);
    }
    control.check()?;

    let bytes = codecs::encode(&image, format, transform.quality)?;
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
    bounds::check_output(plan.canvas.0, plan.canvas.1, limits)?;
    codecs::check_size(format, plan.canvas.0, plan.canvas.1)?;
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
        let point = focus::focus(image, region, plan.crop.width, plan.crop.height);
        plan.placed(region.width, region.height, point)
    } else {
        plan
    };
    Ok(plan.offset_by(f64::from(region.x), f64::from(region.y)))
}

/// The steps every frame goes through once decoded and upright: resize
/// (which also cuts the trim and the crop), adjust, pad, flip, rotate.
fn render(
    mut image: DynamicImage,
    plan: &Plan,
    transform: &Transform,
    control: &Control<'_>,
) -> Result<DynamicImage, Error> {
    if plan.needs_resize(image.width(), image.height()) {
        image = resize::resize(image, plan)?;
        control.check()?;
    }
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
