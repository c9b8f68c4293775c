//! `flip=h|v|hv`: mirroring, done before `rotate` as at Cloudflare.

use image::metadata::Orientation;
use image::DynamicImage;

use crate::Flip;

/// Mirrors in place; nothing to do when neither direction is asked for.
pub(crate) fn flip(image: &mut DynamicImage, flip: Flip) {
    let orientation = match (flip.horizontal, flip.vertical) {
        (false, false) => return,
        (true, false) => Orientation::FlipHorizontal,
        (false, true) => Orientation::FlipVertical,
        // Both mirrors together are a half turn.
        (true, true) => Orientation::Rotate180,
    };
    image.apply_orientation(orientation);
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, ImageBuffer, Rgb};

    fn numbered() -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(3, 2, |x, y| {
            Rgb([(x + 3 * y) as u8, 0, 0])
        }))
    }

    fn reds(image: &DynamicImage) -> Vec<u8> {
        image.pixels().map(|(_, _, p)| p.0[0]).collect()
    }

    #[test]
    fn every_direction_moves_pixels_exactly() {
        let cases = [
            (false, false, [0, 1, 2, 3, 4, 5]),
            (true, false, [2, 1, 0, 5, 4, 3]),
            (false, true, [3, 4, 5, 0, 1, 2]),
            (true, true, [5, 4, 3, 2, 1, 0]),
        ];
        for (horizontal, vertical, expected) in cases {
            let mut image = numbered();
            flip(
                &mut image,
                Flip {
                    horizontal,
                    vertical,
                },
            );
            assert_eq!(image.dimensions(), (3, 2));
            assert_eq!(reds(&image), expected, "h={horizontal} v={vertical}");
        }
    }
}
