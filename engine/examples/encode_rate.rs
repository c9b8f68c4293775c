//! How many output pixels each encoder finishes per second on one core:
//! the measurement behind the default output budgets
//! (`Limits::max_output_pixels`, `Limits::max_avif_output_pixels`).
//!
//! ```text
//! encode_rate [MEGAPIXELS [PHOTO]]   (default: 4, a synthetic texture)
//! ```
//!
//! Encodes an RGB image of about MEGAPIXELS (4:3) in every output format at
//! the default quality: PHOTO resized to that size, or a synthetic texture
//! of gradients and noise (harder for every encoder than a photo). Prints
//! per format the time, the megapixels per second and how many megapixels
//! it finishes in a quarter of the default 10 s `image_timeout`, the rest
//! being left to decoding, resizing and a loaded machine.

use std::time::Instant;

use image::{DynamicImage, ImageBuffer, Rgb};
use image_engine::{stages, ImageFormat};

fn main() {
    let megapixels: f64 = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("MEGAPIXELS is a number"))
        .unwrap_or(4.0);
    let height = ((megapixels * 1e6 * 3.0 / 4.0).sqrt()) as u32;
    let width = height * 4 / 3;
    let image = match std::env::args().nth(2) {
        Some(path) => {
            let bytes = std::fs::read(&path).expect("PHOTO is readable");
            let (photo, _) = stages::decode(&bytes, 1.0).expect("PHOTO decodes");
            stages::resize(photo, width, height).expect("resize")
        }
        None => texture(width, height),
    };
    let pixels = f64::from(width) * f64::from(height);
    let report = |name: &str, encode: &dyn Fn() -> Vec<u8>| {
        let start = Instant::now();
        let bytes = encode();
        let seconds = start.elapsed().as_secs_f64();
        let rate = pixels / seconds / 1e6;
        println!(
            "format={name} size={width}x{height} seconds={seconds:.2} megapixels_per_second={rate:.2} \
             megapixels_in_2.5s={:.1} bytes={}",
            rate * 2.5,
            bytes.len()
        );
    };
    // JPEG as `format=jpeg` (jpegli, progressive), `baseline-jpeg`
    // (jpegli) and `compression=fast` (libjpeg-turbo).
    for (name, progressive, fast) in [
        ("jpeg", true, false),
        ("baseline-jpeg", false, false),
        ("jpeg-fast", false, true),
    ] {
        report(name, &|| {
            stages::encode_jpeg(&image, 85, progressive, fast).expect("encode")
        });
    }
    for format in [
        ImageFormat::Webp,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Avif,
    ] {
        report(format.name(), &|| {
            stages::encode(&image, format, 85).expect("encode")
        });
    }
}

/// Gradients with noise on top: flat colour would flatter every encoder.
fn texture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 61;
        Rgb([
            (x * 255 / width) as u8 ^ noise as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    }))
}
