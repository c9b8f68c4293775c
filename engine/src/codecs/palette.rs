//! PNG8: at most 256 colours, an index per pixel, alpha per palette entry
//! (`tRNS`). Cloudflare writes PNG8 when a PNG is asked for with an explicit
//! `quality`; for logos, icons and screenshots it is a fraction of the size
//! of full-colour PNG.
//!
//! Images with 256 colours or fewer are indexed exactly; others are reduced
//! with NeuQuant (the `color_quant` crate the GIF encoder uses too), whose
//! sampling gets finer as `quality` rises.

use std::collections::HashMap;

use color_quant::NeuQuant;
use image::DynamicImage;

use super::{encode_error, Error};
use crate::ImageFormat;

const MAX_COLOURS: usize = 256;

pub(super) fn encode(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, Error> {
    let rgba = image.to_rgba8();
    let (palette, indices) = match exact_palette(rgba.as_raw()) {
        Some(exact) => exact,
        None => quantise(rgba.as_raw(), quality),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let rgb: Vec<u8> = palette.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
    encoder.set_palette(rgb);
    if palette.iter().any(|c| c[3] < 255) {
        // Trailing opaque entries may be left out of tRNS.
        let last = palette.iter().rposition(|c| c[3] < 255).unwrap_or(0);
        encoder.set_trns(palette[..=last].iter().map(|c| c[3]).collect::<Vec<u8>>());
    }
    let mut writer = encoder
        .write_header()
        .map_err(|err| encode_error(ImageFormat::Png, err))?;
    writer
        .write_image_data(&indices)
        .map_err(|err| encode_error(ImageFormat::Png, err))?;
    writer
        .finish()
        .map_err(|err| encode_error(ImageFormat::Png, err))?;
    Ok(out)
}

/// The image's own colours, if there are at most 256 of them.
fn exact_palette(rgba: &[u8]) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    let mut index: HashMap<[u8; 4], u8> = HashMap::new();
    let mut palette = Vec::new();
    let mut indices = Vec::with_capacity(rgba.len() / 4);
    for pixel in rgba.chunks_exact(4) {
        let colour = [pixel[0], pixel[1], pixel[2], pixel[3]];
        let i = match index.get(&colour) {
            Some(&i) => i,
            None => {
                if palette.len() == MAX_COLOURS {
                    return None;
                }
                let i = palette.len() as u8;
                palette.push(colour);
                index.insert(colour, i);
                i
            }
        };
        indices.push(i);
    }
    Some((palette, indices))
}

/// NeuQuant's sampling factor: 1 looks at every pixel (best), 30 at one in
/// thirty (fastest).
fn sample_factor(quality: u8) -> i32 {
    (31 - i32::from(quality.clamp(1, 100)) * 30 / 100).clamp(1, 30)
}

fn quantise(rgba: &[u8], quality: u8) -> (Vec<[u8; 4]>, Vec<u8>) {
    let quantiser = NeuQuant::new(sample_factor(quality), MAX_COLOURS, rgba);
    let palette: Vec<[u8; 4]> = quantiser
        .color_map_rgba()
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    let indices = rgba
        .chunks_exact(4)
        .map(|p| quantiser.index_of(p) as u8)
        .collect();
    (palette, indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgba};

    fn decode(png: &[u8]) -> image::RgbaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("decodes")
            .to_rgba8()
    }

    #[test]
    fn few_colours_are_kept_exactly() {
        let image = DynamicImage::ImageRgba8(ImageBuffer::from_fn(64, 64, |x, y| {
            Rgba([
                (x / 8 * 30) as u8,
                (y / 8 * 30) as u8,
                7,
                if x < 4 { 0 } else { 255 },
            ])
        }));
        let png = encode(&image, 80).expect("png8");
        assert_eq!(png[25], 3, "colour type 3 (indexed)");
        assert_eq!(decode(&png), image.to_rgba8());
    }

    #[test]
    fn photos_are_quantised_closely_and_smaller() {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(128, 128, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
        }));
        let png = encode(&image, 80).expect("png8");
        let full = super::super::png::encode(&image).expect("png");
        assert!(png.len() < full.len(), "{} vs {}", png.len(), full.len());
        let decoded = decode(&png);
        let error: f64 = decoded
            .pixels()
            .zip(image.to_rgba8().pixels())
            .map(|(a, b)| {
                (0..3)
                    .map(|c| f64::from(a.0[c].abs_diff(b.0[c])))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (128.0 * 128.0 * 3.0);
        assert!(error < 6.0, "mean error {error}");
    }
}
