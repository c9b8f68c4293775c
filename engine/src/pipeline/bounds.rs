//! The location's limits applied to the source (from its header) and to the
//! planned output, which can be far larger than the source (`fit=contain`
//! of a 1×100 strip to `width=12000`).

use crate::codecs::format_label;
use crate::{Error, ErrorKind, ImageFormat, Limits};

/// Refuses a source with a side over `max_side`, more than `max_pixels` per
/// frame, or, for an animation, more than `max_animation_pixels` in all.
pub(super) fn check_source(
    width: u32,
    height: u32,
    frames: u32,
    limits: &Limits,
) -> Result<(), Error> {
    if too_large(width, height, limits) {
        return Err(too_many(format!(
            "the image is {width}×{height} pixels; {}",
            describe(limits)
        )));
    }
    let frame = u64::from(width) * u64::from(height);
    let total = frame.saturating_mul(u64::from(frames));
    if frames > 1 && total > limits.max_animation_pixels {
        return Err(too_many(format!(
            "the animation has {frames} frames of {width}×{height} pixels ({} in all); \
             the limit is {} for all frames together",
            pixels(total),
            pixels(limits.max_animation_pixels)
        )));
    }
    Ok(())
}

/// Refuses an output that would break the same per-frame limits.
pub(super) fn check_output(width: u32, height: u32, limits: &Limits) -> Result<(), Error> {
    if too_large(width, height, limits) {
        return Err(too_many(format!(
            "the output would be {width}×{height} pixels; {}",
            describe(limits)
        )));
    }
    Ok(())
}

/// Refuses an output larger than the location's output budget for
/// `format` (`image_max_output_pixels`, `image_max_avif_output_pixels`).
/// The budget bounds the encoder's time, so it counts the canvas that is
/// encoded, whatever made it large (`dpr`, an enlarging fit, padding).
pub(super) fn check_output_budget(
    width: u32,
    height: u32,
    format: ImageFormat,
    limits: &Limits,
) -> Result<(), Error> {
    let budget = limits.max_output_pixels_for(format);
    let area = u64::from(width) * u64::from(height);
    if area > budget {
        return Err(too_many(format!(
            "the output would be {width}×{height} pixels ({}); the limit for {} output is {}",
            pixels(area),
            format_label(format),
            pixels(budget)
        )));
    }
    Ok(())
}

fn too_large(width: u32, height: u32, limits: &Limits) -> bool {
    width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
}

fn too_many(message: String) -> Error {
    Error::new(ErrorKind::TooManyPixels, message)
}

fn describe(limits: &Limits) -> String {
    format!(
        "the limit is {} and {} pixels per side",
        pixels(limits.max_pixels),
        limits.max_side
    )
}

/// `100 megapixels`, `2.5 megapixels`, or plain pixels for small numbers
/// where megapixels would round to nothing.
fn pixels(count: u64) -> String {
    if count < 100_000 {
        return format!("{count} pixels");
    }
    let megapixels = format!("{:.1}", count as f64 / 1e6);
    let megapixels = megapixels.strip_suffix(".0").unwrap_or(&megapixels);
    format!("{megapixels} megapixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_limits_and_their_message() {
        let limits = Limits::default();
        assert!(check_source(12_000, 8_000, 1, &limits).is_ok());
        let err = check_source(20_000, 20_000, 1, &limits).expect_err("too large");
        assert_eq!(err.kind, ErrorKind::TooManyPixels);
        assert_eq!(
            err.message,
            "the image is 20000×20000 pixels; the limit is 100 megapixels and 12000 pixels per side"
        );
        // One side too long on its own.
        assert!(check_source(12_001, 1, 1, &limits).is_err());
        assert!(check_source(1, 12_001, 1, &limits).is_err());
        // Too many pixels with sides within bounds.
        let small = Limits {
            max_pixels: 2_500_000,
            ..limits
        };
        let err = check_source(2_000, 2_000, 1, &small).expect_err("too many");
        assert!(
            err.message
                .ends_with("the limit is 2.5 megapixels and 12000 pixels per side"),
            "{}",
            err.message
        );
    }

    #[test]
    fn animations_are_limited_in_total() {
        let limits = Limits::default();
        // 49 frames of a megapixel pass, 51 do not.
        assert!(check_source(1_000, 1_000, 49, &limits).is_ok());
        let err = check_source(1_000, 1_000, 51, &limits).expect_err("too long");
        assert_eq!(err.kind, ErrorKind::TooManyPixels);
        assert!(
            err.message
                .contains("51 frames of 1000×1000 pixels (51 megapixels in all)"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("the limit is 50 megapixels"),
            "{}",
            err.message
        );
        // A still image is only held to the per-frame limit.
        assert!(check_source(10_000, 9_000, 1, &limits).is_ok());
    }

    #[test]
    fn outputs_are_limited_like_sources() {
        let limits = Limits::default();
        assert!(check_output(12_000, 8_333, &limits).is_ok());
        let err = check_output(12_000, 1_200_000, &limits).expect_err("too large");
        assert!(
            err.message
                .starts_with("the output would be 12000×1200000 pixels"),
            "{}",
            err.message
        );
    }

    #[test]
    fn outputs_are_held_to_their_format_budget() {
        let limits = Limits::default();
        assert!(check_output_budget(4_000, 3_000, ImageFormat::Webp, &limits).is_ok());
        let err =
            check_output_budget(4_000, 3_001, ImageFormat::Jpeg, &limits).expect_err("over budget");
        assert_eq!(err.kind, ErrorKind::TooManyPixels);
        assert_eq!(
            err.message,
            "the output would be 4000×3001 pixels (12 megapixels); \
             the limit for JPEG output is 12 megapixels"
        );
        // AVIF has its own, lower budget...
        assert!(check_output_budget(2_000, 1_000, ImageFormat::Avif, &limits).is_ok());
        let err = check_output_budget(2_000, 1_001, ImageFormat::Avif, &limits)
            .expect_err("over the AVIF budget");
        assert!(
            err.message
                .ends_with("the limit for AVIF output is 2 megapixels"),
            "{}",
            err.message
        );
        // ...which never exceeds the general one.
        let tight = Limits {
            max_output_pixels: 1_000,
            ..limits
        };
        assert!(check_output_budget(40, 26, ImageFormat::Avif, &tight).is_err());
    }

    #[test]
    fn pixel_counts_read_naturally() {
        assert_eq!(pixels(100_000_000), "100 megapixels");
        assert_eq!(pixels(2_500_000), "2.5 megapixels");
        assert_eq!(pixels(1_000), "1000 pixels");
    }
}
