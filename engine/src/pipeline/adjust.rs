//! Cloudflare's adjustments: `brightness`, `contrast`, `gamma`,
//! `saturation`, `blur` and `sharpen`, applied to the resized image (a
//! thumbnail costs a fraction of the original).
//!
//! Scales (1 changes nothing for the four factors; `blur=0` and
//! `sharpen=0` are off):
//!
//! * `brightness=b`: every colour value times `b`;
//! * `contrast=c`: values pushed away from (`c > 1`) or toward (`c < 1`)
//!   mid-grey, `(v − ½)·c + ½`;
//! * `gamma=g`: `v^(1/g)`, so 2 brightens the mid-tones and 0.5 darkens
//!   them (Cloudflare's "exposure" reading);
//! * `saturation=s`: each colour moved from its Rec. 601 luma by `s`
//!   (0 grey, 2 twice as colourful);
//! * `blur=r` (1–250): a Gaussian of σ = r / 2, approximated by three box
//!   passes (`image`'s `fast_blur`: the cost does not grow with `r`);
//! * `sharpen=s` (0–10): an unsharp mask of σ = 1 with amount s / 2.
//!
//! The first three are one 256-entry table per image; alpha is never
//! changed by them. An option at its neutral value does no work at all.

use image::DynamicImage;

use crate::Transform;

/// σ of the unsharp mask's blur, in output pixels.
const SHARPEN_SIGMA: f32 = 1.0;

/// How much of the unsharp mask's detail one unit of `sharpen` adds.
const SHARPEN_AMOUNT_PER_UNIT: f32 = 0.5;

/// Whether any adjustment would change a pixel.
pub(super) fn is_neutral(transform: &Transform) -> bool {
    tone_is_neutral(transform)
        && transform.saturation == 1.0
        && transform.blur == 0.0
        && transform.sharpen == 0.0
}

fn tone_is_neutral(transform: &Transform) -> bool {
    transform.brightness == 1.0 && transform.contrast == 1.0 && transform.gamma == 1.0
}

/// Applies every non-neutral adjustment; the layout is kept.
pub(crate) fn adjust(mut image: DynamicImage, transform: &Transform) -> DynamicImage {
    if !tone_is_neutral(transform) {
        let table = tone_table(transform.brightness, transform.contrast, transform.gamma);
        for_each_colour(&mut image, |value| *value = table[usize::from(*value)]);
    }
    if transform.saturation != 1.0 {
        saturate(&mut image, transform.saturation as f32);
    }
    if transform.blur > 0.0 {
        image = image.fast_blur(transform.blur as f32 / 2.0);
    }
    if transform.sharpen > 0.0 {
        image = sharpen(&image, transform.sharpen as f32 * SHARPEN_AMOUNT_PER_UNIT);
    }
    image
}

/// Brightness, then contrast, then gamma, for every 8-bit value.
pub(super) fn tone_table(brightness: f64, contrast: f64, gamma: f64) -> [u8; 256] {
    let mut table = [0u8; 256];
    for (value, out) in table.iter_mut().enumerate() {
        let v = value as f64 / 255.0 * brightness;
        let v = ((v - 0.5) * contrast + 0.5).clamp(0.0, 1.0);
        let v = v.powf(1.0 / gamma);
        *out = (v * 255.0).round() as u8;
    }
    table
}

/// Calls `change` on every colour value (alpha left alone).
fn for_each_colour(image: &mut DynamicImage, mut change: impl FnMut(&mut u8)) {
    let channels = usize::from(image.color().channel_count());
    let colours = if image.color().has_alpha() {
        channels - 1
    } else {
        channels
    };
    for pixel in image_bytes(image).chunks_exact_mut(channels) {
        pixel[..colours].iter_mut().for_each(&mut change);
    }
}

fn image_bytes(image: &mut DynamicImage) -> &mut [u8] {
    match image {
        DynamicImage::ImageLuma8(buffer) => buffer,
        DynamicImage::ImageLumaA8(buffer) => buffer,
        DynamicImage::ImageRgb8(buffer) => buffer,
        DynamicImage::ImageRgba8(buffer) => buffer,
        // The pipeline narrows everything to 8 bits before this step.
        _ => &mut [],
    }
}

/// Moves each colour away from (or toward) its luma. Grey images have no
/// saturation to change.
fn saturate(image: &mut DynamicImage, factor: f32) {
    let channels = usize::from(image.color().channel_count());
    if channels < 3 {
        return;
    }
    for pixel in image_bytes(image).chunks_exact_mut(channels) {
        let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(f32::from);
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        for (out, value) in pixel.iter_mut().zip([r, g, b]) {
            *out = (luma + (value - luma) * factor).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Unsharp mask: each colour plus `amount` times its difference from a
/// Gaussian-blurred copy.
fn sharpen(image: &DynamicImage, amount: f32) -> DynamicImage {
    let blurred = image.blur(SHARPEN_SIGMA);
    let mut sharpened = image.clone();
    let blurred = blurred.as_bytes();
    let channels = usize::from(image.color().channel_count());
    let colours = if image.color().has_alpha() {
        channels - 1
    } else {
        channels
    };
    for (pixel, soft) in image_bytes(&mut sharpened)
        .chunks_exact_mut(channels)
        .zip(blurred.chunks_exact(channels))
    {
        for (value, &soft) in pixel[..colours].iter_mut().zip(soft) {
            let v = f32::from(*value);
            *value = (v + amount * (v - f32::from(soft)))
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    sharpened
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, ImageBuffer, Rgb, Rgba};

    fn photo() -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 48, |x, y| {
            Rgb([(x * 4) as u8, (y * 5) as u8, ((x * 7 + y * 11) % 256) as u8])
        }))
    }

    fn with(options: &str) -> Transform {
        crate::parse(options).expect("options")
    }

    /// Largest difference of any channel of any pixel.
    fn max_difference(a: &DynamicImage, b: &DynamicImage) -> u8 {
        a.as_bytes()
            .iter()
            .zip(b.as_bytes())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn neutral_values_change_nothing() {
        let neutral = with("brightness=1,contrast=0,gamma=1,saturation=1,blur=0,sharpen=0");
        assert!(is_neutral(&neutral));
        assert!(is_neutral(&Transform::default()));
        assert_eq!(adjust(photo(), &neutral), photo());
        for options in [
            "brightness=1.1",
            "contrast=2",
            "gamma=0.5",
            "saturation=0",
            "blur=1",
            "sharpen=1",
        ] {
            assert!(!is_neutral(&with(options)), "{options}");
        }
    }

    /// Reference formulas, written out per pixel in floating point.
    #[test]
    fn tone_matches_the_formulas() {
        let cases = [
            (2.0, 1.0, 1.0),
            (0.5, 1.0, 1.0),
            (1.0, 2.0, 1.0),
            (1.0, 0.5, 1.0),
            (1.0, 1.0, 2.0),
            (1.0, 1.0, 0.5),
            (1.3, 1.2, 0.8),
        ];
        for (brightness, contrast, gamma) in cases {
            let options = format!("brightness={brightness},contrast={contrast},gamma={gamma}");
            let adjusted = adjust(photo(), &with(&options));
            let reference = DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 48, |x, y| {
                let Rgb(pixel) = photo().to_rgb8().get_pixel(x, y).to_owned();
                Rgb(pixel.map(|v| {
                    let v = f64::from(v) / 255.0 * brightness;
                    let v = ((v - 0.5) * contrast + 0.5).clamp(0.0, 1.0);
                    (v.powf(1.0 / gamma) * 255.0).round() as u8
                }))
            }));
            assert!(max_difference(&adjusted, &reference) <= 1, "{options}");
        }
        // Brighter is brighter, gamma 2 lifts mid-grey, contrast 2 spreads.
        let table = tone_table(1.0, 1.0, 2.0);
        assert_eq!(table[0], 0);
        assert_eq!(table[255], 255);
        assert!(table[128] > 170);
        let spread = tone_table(1.0, 2.0, 1.0);
        assert_eq!((spread[32], spread[128], spread[224]), (0, 129, 255));
    }

    #[test]
    fn saturation_zero_is_grey_and_alpha_is_kept() {
        let image =
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(4, 4, Rgba([200, 100, 50, 77])));
        let grey = adjust(image, &with("saturation=0"));
        let pixel = grey.get_pixel(0, 0).0;
        let luma = (0.299f32 * 200.0 + 0.587 * 100.0 + 0.114 * 50.0).round() as u8;
        assert_eq!(pixel, [luma, luma, luma, 77]);

        let vivid = adjust(photo(), &with("saturation=2"));
        let (before, after) = (photo().get_pixel(40, 10).0, vivid.get_pixel(40, 10).0);
        let spread = |p: [u8; 4]| p[..3].iter().max().unwrap() - p[..3].iter().min().unwrap();
        assert!(spread(after) > spread(before));
    }

    #[test]
    fn blur_is_close_to_a_true_gaussian() {
        let image = photo();
        let fast = adjust(image.clone(), &with("blur=6"));
        let exact = image.blur(3.0);
        // Away from the edges (where the two treat borders differently).
        let mut worst = 0u8;
        for y in 10..38 {
            for x in 10..54 {
                let (a, b) = (fast.get_pixel(x, y).0, exact.get_pixel(x, y).0);
                for c in 0..3 {
                    worst = worst.max(a[c].abs_diff(b[c]));
                }
            }
        }
        assert!(worst <= 12, "fast blur is {worst} levels from the Gaussian");
        // And it does blur: the high-frequency blue channel flattens.
        assert!(max_difference(&fast, &image) > 20);
    }

    #[test]
    fn sharpen_is_an_unsharp_mask() {
        let image = photo();
        let sharpened = adjust(image.clone(), &with("sharpen=4"));
        let blurred = image.blur(SHARPEN_SIGMA);
        for (x, y) in [(5, 5), (30, 20), (60, 40)] {
            let (v, soft, out) = (
                image.get_pixel(x, y).0,
                blurred.get_pixel(x, y).0,
                sharpened.get_pixel(x, y).0,
            );
            for c in 0..3 {
                let expected = f32::from(v[c]) + 2.0 * (f32::from(v[c]) - f32::from(soft[c]));
                let expected = expected.round().clamp(0.0, 255.0) as u8;
                assert_eq!(out[c], expected, "({x}, {y}) channel {c}");
            }
        }
    }
}
