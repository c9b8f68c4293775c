//! Resampling with `fast_image_resize`: Lanczos3, SIMD chosen at run time,
//! cover/crop boxes applied by the resizer itself (fractional boxes allowed)
//! so no intermediate cropped copy is made.
//!
//! The resizer works on the decoded layout directly (grey, grey+alpha, RGB,
//! RGBA): the pixel buffer is handed over without copying or converting.
//! 16-bit images (deep PNGs) are resampled at 16 bits, so gradients keep
//! their precision until the final narrowing to 8 bits; their buffer is
//! copied to bytes and back (they are rare, and the resizer takes bytes).
//! With an alpha channel it premultiplies before filtering and divides
//! after, so transparent pixels do not bleed their (invisible) colour into
//! their neighbours. Premultiplying is done in place on the decoded buffer
//! (which is ours to change): left to the resizer it would make a
//! premultiplied copy of the whole source, a fresh allocation of tens of
//! megabytes for a large PNG, page-faulted in on every request.
//!
//! A large image is made in bands of rows, with a look at the job's control
//! between bands, so a cancelled or expired job stops within one band
//! rather than at the end of the whole image (vertical enlargements, which
//! the output budget bounds, are one band). Each band is the same
//! resize with a crop box covering only its rows: the resizer takes the
//! filter's window from the whole source, not just the box, so the bands
//! join without a seam and the result equals a single pass.
//!
//! A band is not free: the resizer works out the filter's weights for
//! every output column again in each band, and re-reads the rows the
//! filter's window overlaps. So a source region of up to about a megapixel
//! (a few milliseconds of work: the usual web photo, and a JPEG already
//! shrunk on load) is resized in one pass; a larger one keeps its bands,
//! which also keep the resizer's intermediate image (the horizontal pass
//! over a band's rows) small.
//!
//! The Lanczos3 weights are computed with one `sin` each instead of two
//! ([`lanczos3`]).

use fast_image_resize::images::{CroppedImageMut, Image};
use fast_image_resize::{Filter, FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GrayAlphaImage, GrayImage, ImageBuffer, RgbImage, RgbaImage};

use crate::codecs::internal;
use crate::geometry::Plan;
use crate::Error;

/// Output rows per band: at least this many, and at most 16 bands, so the
/// overlap each band re-reads (the filter's window) stays a few percent.
const MIN_BAND_ROWS: u32 = 64;
const MAX_BANDS: u32 = 16;

/// Source regions up to this many pixels are resized in one pass (see the
/// module's note).
const ONE_PASS_SOURCE_PIXELS: f64 = 1_048_576.0;

/// Resizes to `plan.resized`, calling `check` between bands of rows and
/// stopping with its error.
pub(crate) fn resize(
    image: DynamicImage,
    plan: &Plan,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<DynamicImage, Error> {
    resize_in_bands(image, plan, check, ONE_PASS_SOURCE_PIXELS)
}

/// Lanczos3, `sinc(x) · sinc(x / 3)` on (−3, 3), with one `sin`: for
/// `s = sin(πx / 3)` the triple-angle formula gives `sin(πx) = s (3 − 4s²)`,
/// so the product is `3 s² (3 − 4s²) / (πx)²`. The same function as the
/// resizer's own Lanczos3 up to rounding, at half the cost of its weights.
fn lanczos3(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else if (-3.0..3.0).contains(&x) {
        let s = (x * std::f64::consts::FRAC_PI_3).sin();
        let s2 = s * s;
        let px = x * std::f64::consts::PI;
        3.0 * s2 * (3.0 - 4.0 * s2) / (px * px)
    } else {
        0.0
    }
}

/// The resizer's filter: [`lanczos3`] with Lanczos3's support.
fn lanczos3_filter() -> Result<FilterType, Error> {
    Filter::new("Lanczos3", lanczos3, 3.0)
        .map(FilterType::Custom)
        .map_err(|err| internal(&format!("resize filter: {err}")))
}

/// [`resize`], in one pass when the source region has at most
/// `one_pass_pixels` pixels.
fn resize_in_bands(
    image: DynamicImage,
    plan: &Plan,
    check: &dyn Fn() -> Result<(), Error>,
    one_pass_pixels: f64,
) -> Result<DynamicImage, Error> {
    let pixel_type = match image {
        DynamicImage::ImageLuma8(_) => PixelType::U8,
        DynamicImage::ImageLumaA8(_) => PixelType::U8x2,
        DynamicImage::ImageRgb8(_) => PixelType::U8x3,
        DynamicImage::ImageRgba8(_) => PixelType::U8x4,
        DynamicImage::ImageLuma16(_) => PixelType::U16,
        DynamicImage::ImageLumaA16(_) => PixelType::U16x2,
        DynamicImage::ImageRgb16(_) => PixelType::U16x3,
        DynamicImage::ImageRgba16(_) => PixelType::U16x4,
        _ => return Err(internal("resizing needs an 8- or 16-bit image")),
    };
    let (src_width, src_height) = (image.width(), image.height());
    let (width, height) = plan.resized;
    let bytes = match image {
        DynamicImage::ImageLuma16(buffer) => to_bytes(buffer.into_raw()),
        DynamicImage::ImageLumaA16(buffer) => to_bytes(buffer.into_raw()),
        DynamicImage::ImageRgb16(buffer) => to_bytes(buffer.into_raw()),
        DynamicImage::ImageRgba16(buffer) => to_bytes(buffer.into_raw()),
        other => other.into_bytes(),
    };

    let mut src = Image::from_vec_u8(src_width, src_height, bytes, pixel_type)
        .map_err(|err| internal(&format!("resize source: {err}")))?;
    let mut dst = Image::new(width, height, pixel_type);
    let crop = plan.crop;
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(lanczos3_filter()?));

    // A cut at scale 1 is a plain copy inside the resizer: leave it alone.
    let resamples = crop.width != f64::from(width) || crop.height != f64::from(height);
    let premultiply = resamples
        && matches!(
            pixel_type,
            PixelType::U8x2 | PixelType::U8x4 | PixelType::U16x2 | PixelType::U16x4
        );
    let mul_div = MulDiv::default();
    if premultiply {
        mul_div
            .multiply_alpha_inplace(&mut src)
            .map_err(|err| internal(&format!("premultiplying alpha: {err}")))?;
        options = options.use_alpha(false);
    }
    let mut resizer = Resizer::new();
    let scale = crop.height / f64::from(height);
    // Vertical enlargements (bounded by the output budget) take one pass:
    // the resizer's bands do not join exactly when it enlarges. So do small
    // sources (see the module's note).
    let band_rows = if scale < 1.0 || crop.width * crop.height <= one_pass_pixels {
        height
    } else {
        height.div_ceil(MAX_BANDS).max(MIN_BAND_ROWS)
    };
    let mut top = 0;
    while top < height {
        check()?;
        let rows = band_rows.min(height - top);
        let y = crop.y + f64::from(top) * scale;
        // The last band ends exactly where the crop does (no rounding past
        // the source's edge).
        let band_height = if top + rows == height {
            crop.y + crop.height - y
        } else {
            f64::from(rows) * scale
        };
        let band_options = options.crop(crop.x, y, crop.width, band_height);
        let mut band = CroppedImageMut::new(&mut dst, 0, top, width, rows)
            .map_err(|err| internal(&format!("resize band: {err}")))?;
        resizer
            .resize(&src, &mut band, &band_options)
            .map_err(|err| internal(&format!("resize: {err}")))?;
        top += rows;
    }
    if premultiply {
        mul_div
            .divide_alpha_inplace(&mut dst)
            .map_err(|err| internal(&format!("dividing alpha: {err}")))?;
    }

    let raw = dst.into_vec();
    let resized = match pixel_type {
        PixelType::U8 => GrayImage::from_raw(width, height, raw).map(DynamicImage::ImageLuma8),
        PixelType::U8x2 => {
            GrayAlphaImage::from_raw(width, height, raw).map(DynamicImage::ImageLumaA8)
        }
        PixelType::U8x3 => RgbImage::from_raw(width, height, raw).map(DynamicImage::ImageRgb8),
        PixelType::U8x4 => RgbaImage::from_raw(width, height, raw).map(DynamicImage::ImageRgba8),
        PixelType::U16 => {
            ImageBuffer::from_raw(width, height, from_bytes(&raw)).map(DynamicImage::ImageLuma16)
        }
        PixelType::U16x2 => {
            ImageBuffer::from_raw(width, height, from_bytes(&raw)).map(DynamicImage::ImageLumaA16)
        }
        PixelType::U16x3 => {
            ImageBuffer::from_raw(width, height, from_bytes(&raw)).map(DynamicImage::ImageRgb16)
        }
        _ => ImageBuffer::from_raw(width, height, from_bytes(&raw)).map(DynamicImage::ImageRgba16),
    };
    resized.ok_or_else(|| internal("the resized buffer has the wrong size"))
}

/// 16-bit samples as the resizer's bytes (native order).
fn to_bytes(samples: Vec<u16>) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_ne_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_ne_bytes([pair[0], pair[1]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::plan;
    use crate::{Fit, Gravity};
    use image::{ImageBuffer, LumaA, Rgb, Rgba};

    #[test]
    fn every_layout_is_resized_in_place() {
        let plan = plan(8, 4, Some(4), None, Fit::ScaleDown, Gravity::Center);
        for image in [
            DynamicImage::ImageLuma8(ImageBuffer::from_pixel(8, 4, image::Luma([50]))),
            DynamicImage::ImageLumaA8(ImageBuffer::from_pixel(8, 4, LumaA([50, 200]))),
            DynamicImage::ImageRgb8(ImageBuffer::from_pixel(8, 4, Rgb([1, 2, 3]))),
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(8, 4, Rgba([1, 2, 3, 4]))),
            DynamicImage::ImageLuma16(ImageBuffer::from_pixel(8, 4, image::Luma([500]))),
            DynamicImage::ImageLumaA16(ImageBuffer::from_pixel(8, 4, LumaA([500, 60000]))),
            DynamicImage::ImageRgb16(ImageBuffer::from_pixel(8, 4, Rgb([1, 2, 3]))),
            DynamicImage::ImageRgba16(ImageBuffer::from_pixel(8, 4, Rgba([1, 2, 3, 4]))),
        ] {
            let color = image.color();
            let resized = resize(image, &plan, &|| Ok(())).expect("resize");
            assert_eq!((resized.width(), resized.height()), (4, 2));
            assert_eq!(resized.color(), color);
        }
    }

    #[test]
    fn sixteen_bit_gradients_keep_their_steps() {
        // A ramp 256 sixteen-bit steps wide: every output pixel must differ
        // from its neighbour, which 8 bits could not represent.
        let image = DynamicImage::ImageRgb16(ImageBuffer::from_fn(512, 2, |x, _| {
            let v = 30_000 + x as u16;
            Rgb([v, v, v])
        }));
        let plan = plan(512, 2, Some(256), None, Fit::ScaleDown, Gravity::Center);
        let resized = resize(image, &plan, &|| Ok(())).expect("resize");
        let resized = resized.as_rgb16().expect("still 16-bit");
        let row: Vec<u16> = (0..256).map(|x| resized.get_pixel(x, 0).0[0]).collect();
        assert!(row[8..248].windows(2).all(|w| w[1] > w[0]), "{row:?}");
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        // Left half opaque red, right half fully transparent green.
        let image = DynamicImage::ImageRgba8(ImageBuffer::from_fn(16, 16, |x, _| {
            if x < 8 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        }));
        let plan = plan(16, 16, Some(8), None, Fit::ScaleDown, Gravity::Center);
        let resized = resize(image, &plan, &|| Ok(())).expect("resize");
        let resized = resized.as_rgba8().expect("rgba");
        for pixel in resized.pixels().filter(|p| p.0[3] > 0) {
            assert!(pixel.0[1] < 8, "green bled into {pixel:?}");
        }
    }

    /// No source small enough for one pass: every resize in bands.
    const FEWEST_ROWS: f64 = 0.0;

    /// How many times `resize` looks at the control for this source.
    fn bands_of(width: u32, height: u32, out_width: u32) -> u32 {
        let image =
            DynamicImage::ImageLuma8(ImageBuffer::from_pixel(width, height, image::Luma([9])));
        let plan = plan(
            width,
            height,
            Some(out_width),
            None,
            Fit::ScaleDown,
            Gravity::Center,
        );
        let calls = std::cell::Cell::new(0);
        resize(image, &plan, &|| {
            calls.set(calls.get() + 1);
            Ok(())
        })
        .expect("resize");
        calls.get()
    }

    #[test]
    fn small_sources_take_one_pass_and_large_ones_bands() {
        // A web photo (and a JPEG shrunk on load) pays for the filter's
        // weights once; a large source still stops between bands.
        assert_eq!(bands_of(640, 427, 400), 1);
        assert_eq!(bands_of(500, 375, 400), 1);
        let large = bands_of(2_048, 2_048, 1_024);
        assert!((4..=MAX_BANDS).contains(&large), "{large} bands");
    }

    #[test]
    fn lanczos3_with_one_sine_is_lanczos3() {
        let sinc = |x: f64| {
            if x == 0.0 {
                1.0
            } else {
                (x * std::f64::consts::PI).sin() / (x * std::f64::consts::PI)
            }
        };
        for step in -3_500..=3_500 {
            let x = f64::from(step) / 1_000.0;
            let expected = if x.abs() < 3.0 {
                sinc(x) * sinc(x / 3.0)
            } else {
                0.0
            };
            assert!((lanczos3(x) - expected).abs() < 1e-12, "x = {x}");
        }
    }

    /// The reference: one pass of the resizer over the whole crop box.
    fn single_pass(image: &DynamicImage, plan: &Plan) -> Vec<u8> {
        let src = Image::from_vec_u8(
            image.width(),
            image.height(),
            image.as_bytes().to_vec(),
            PixelType::U8x3,
        )
        .expect("src");
        let (width, height) = plan.resized;
        let mut dst = Image::new(width, height, PixelType::U8x3);
        let crop = plan.crop;
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(crop.x, crop.y, crop.width, crop.height);
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .expect("resize");
        dst.into_vec()
    }

    #[test]
    fn bands_join_without_a_seam() {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(301, 1_203, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        }));
        for plan in [
            plan(301, 1_203, Some(97), None, Fit::ScaleDown, Gravity::Center),
            plan(301, 1_203, Some(120), Some(500), Fit::Cover, Gravity::Top),
            plan(
                301,
                1_203,
                Some(700),
                Some(2_000),
                Fit::Squeeze,
                Gravity::Center,
            ),
        ] {
            let banded =
                resize_in_bands(image.clone(), &plan, &|| Ok(()), FEWEST_ROWS).expect("resize");
            let reference = single_pass(&image, &plan);
            let differing = banded
                .as_bytes()
                .iter()
                .zip(&reference)
                .filter(|(a, b)| a.abs_diff(**b) > 1)
                .count();
            assert_eq!(banded.as_bytes().len(), reference.len());
            assert_eq!(differing, 0, "{plan:?}");
        }
    }

    #[test]
    fn a_stopped_job_stops_between_bands() {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 2_000, Rgb([1, 2, 3])));
        let plan = plan(64, 2_000, Some(32), None, Fit::ScaleDown, Gravity::Center);
        let calls = std::cell::Cell::new(0);
        let err = resize_in_bands(
            image,
            &plan,
            &|| {
                calls.set(calls.get() + 1);
                if calls.get() == 3 {
                    Err(Error::new(crate::ErrorKind::Cancelled, "stop"))
                } else {
                    Ok(())
                }
            },
            FEWEST_ROWS,
        )
        .expect_err("stopped");
        assert_eq!(err.kind, crate::ErrorKind::Cancelled);
        assert_eq!(calls.get(), 3, "no band after the stop");
    }

    #[test]
    fn a_whole_pixel_crop_at_scale_one_is_a_copy() {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(10, 4, |x, _| {
            Rgb([x as u8 * 20, 0, 0])
        }));
        let plan = plan(10, 4, Some(4), Some(8), Fit::Crop, Gravity::Right);
        let cut = resize(image, &plan, &|| Ok(())).expect("resize");
        let cut = cut.as_rgb8().expect("rgb");
        assert_eq!(cut.dimensions(), (4, 4));
        let reds: Vec<u8> = (0..4).map(|x| cut.get_pixel(x, 0).0[0]).collect();
        assert_eq!(reds, [120, 140, 160, 180]);
    }
}
