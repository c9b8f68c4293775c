//! Animated GIF and WebP: every frame through the same steps as a still
//! (`render`), with its delay, and the loop count carried over, also
//! between the two formats.
//!
//! The first frame decides what changes with the pixels (a `trim=border`
//! region, the `gravity=auto` focal point), so the crop does not wander
//! from frame to frame. Before each frame the job looks at its `Control`
//! (client gone, time up) and counts the frame against
//! `image_max_animation_pixels`: the header's frame count is checked before
//! decoding, this catches a file whose frames outnumber what its header
//! walk found.

use image::DynamicImage;

use super::{bounds, locate, plan_for, render, trim, Control, Output};
use crate::codecs::frames::{self, Encoder};
use crate::{Error, ErrorKind, ImageFormat, Limits, Transform};

pub(super) fn animate(
    input: &[u8],
    original_format: ImageFormat,
    format: ImageFormat,
    transform: &Transform,
    limits: &Limits,
    control: &Control<'_>,
) -> Result<Output, Error> {
    let animation = frames::open(input, original_format, limits)?;
    let (width, height) = (animation.width, animation.height);
    bounds::check_source(width, height, 1, limits)?;
    let region = trim::edges(width, height, transform.trim)?;
    let first_plan = plan_for(region, transform, format, limits)?;
    control.check()?;

    let frame_pixels = u64::from(width) * u64::from(height);
    let mut plan = None;
    let mut encoder: Option<Encoder> = None;
    let mut count = 0u64;
    for frame in animation.frames {
        control.check()?;
        let frame = frame?;
        count += 1;
        let total = frame_pixels.saturating_mul(count);
        if count > 1 && total > limits.max_animation_pixels {
            return Err(Error::new(
                ErrorKind::TooManyPixels,
                format!(
                    "the animation has more than {} frames of {width}×{height} pixels; \
                     the limit is {} pixels for all frames together",
                    count - 1,
                    limits.max_animation_pixels
                ),
            ));
        }
        let image = DynamicImage::ImageRgba8(frame.image);
        let frame_plan = match plan {
            Some(plan) => plan,
            None => *plan.insert(locate(
                &image, first_plan, region, 1, transform, format, limits,
            )?),
        };
        let rendered = render(image, &frame_plan, transform, None, control)?.into_rgba8();
        let encoder = match &mut encoder {
            Some(encoder) => encoder,
            None => encoder.insert(Encoder::new(
                format,
                rendered.width(),
                rendered.height(),
                transform.quality_for(format),
                animation.repeat,
            )?),
        };
        encoder.add(&rendered, frame.delay_ms)?;
    }
    let Some(encoder) = encoder else {
        return Err(crate::codecs::corrupt("the animation has no frames"));
    };
    let (out_width, out_height) = match plan {
        Some(plan) => rotated(plan.canvas, transform.rotate),
        None => (width, height),
    };
    control.check()?;
    let bytes = encoder.finish()?;
    Ok(Output {
        bytes,
        format,
        width: out_width,
        height: out_height,
        original_format,
        original_width: width,
        original_height: height,
        // Frames are decoded, resized and encoded in turn: no stage
        // durations of their own.
        timings: super::StageTimings::default(),
    })
}

/// The size after a quarter turn swaps the sides.
fn rotated(size: (u32, u32), degrees: u16) -> (u32, u32) {
    if degrees % 180 == 90 {
        (size.1, size.0)
    } else {
        size
    }
}
