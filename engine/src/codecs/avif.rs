//! AVIF output through ravif (rav1e), at a fast speed preset: on the fly,
//! encoding time matters more than the last few percent of size.

use image::DynamicImage;
use ravif::{BitDepth, Encoder, Img, RGB8, RGBA8};

use super::internal;
use crate::Error;

/// rav1e's speed preset, 0 (slowest) to 10 (fastest). 9 keeps a 400-pixel
/// image well under the 150 ms budget on one core; 10 saves little more and
/// turns off coding features that matter for photos.
const SPEED: u8 = 9;

/// ravif writes one AV1 frame (no grid), and rav1e's time and memory grow
/// with the frame's area: keep to the same per-side bound as WebP.
pub(super) const MAX_SIDE: u32 = 16_383;

/// Lossy at `quality` (1..=100, ravif's scale, close to JPEG's); alpha is
/// kept when the image has any transparency. 8-bit AV1: 10-bit compresses
/// slightly better but costs more time than it is worth here.
pub(super) fn encode(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, Error> {
    let encoder = Encoder::new()
        .with_quality(f32::from(quality.clamp(1, 100)))
        .with_alpha_quality(f32::from(quality.clamp(1, 100)))
        .with_speed(SPEED)
        .with_bit_depth(BitDepth::Eight)
        .with_num_threads(Some(1));
    let (width, height) = (image.width() as usize, image.height() as usize);
    let encoded = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        let pixels: Vec<RGBA8> = rgba
            .as_raw()
            .chunks_exact(4)
            .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
            .collect();
        encoder.encode_rgba(Img::new(&pixels[..], width, height))
    } else {
        let converted;
        let rgb = match image {
            DynamicImage::ImageRgb8(rgb) => rgb,
            other => {
                converted = other.to_rgb8();
                &converted
            }
        };
        let pixels: Vec<RGB8> = rgb
            .as_raw()
            .chunks_exact(3)
            .map(|p| RGB8::new(p[0], p[1], p[2]))
            .collect();
        encoder.encode_rgb(Img::new(&pixels[..], width, height))
    };
    encoded
        .map(|encoded| encoded.avif_file)
        .map_err(|err| internal(&format!("AVIF encoding failed: {err}")))
}
