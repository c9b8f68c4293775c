//! The transformative item properties of a HEIF-family image (ISO/IEC
//! 23008-12 § 6.5.9-6.5.12) as the file lists them — `clap`, `irot`,
//! `imir` — and what a sequence of them amounts to: one crop of the stored
//! (decoded) image, then one orientation. MIAF asks for that order
//! (crop, turn, mirror); any other order a file uses is honoured too.

use image::metadata::Orientation;

use super::clean_aperture::{CleanAperture, Crop};

/// A transformative property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// `irot`: quarter turns anticlockwise (0..=3).
    Rotate(u8),
    /// `imir` axis 0: top and bottom exchanged.
    FlipVertical,
    /// `imir` axis 1: left and right exchanged.
    FlipHorizontal,
    /// `clap`: a crop of the image as the earlier transforms left it.
    Clap(CleanAperture),
}

/// The orientation `transforms` amount to, as the pipeline's EXIF-style
/// value. Any sequence of quarter turns and mirrors is one of the eight.
pub(crate) fn orientation(transforms: &[Transform]) -> Orientation {
    // The image shown is R^turns · H^flipped applied to the stored one:
    // first an optional left-right mirror, then `turns` clockwise quarter
    // turns. Applying another transform after it:
    //   turn k clockwise:  R^k R^t H^f = R^(t+k) H^f
    //   mirror left-right: H R^t H^f   = R^(-t) H^(f+1)   (H R H = R⁻¹)
    //   mirror top-bottom: V = R² H, so V R^t H^f = R^(2-t) H^(f+1)
    let (mut turns, mut flipped) = (0u8, false);
    for transform in transforms {
        match *transform {
            // Anticlockwise quarter turns are clockwise ones the other way.
            Transform::Rotate(anticlockwise) => turns = (turns + 4 - anticlockwise % 4) % 4,
            Transform::FlipHorizontal => {
                turns = (4 - turns) % 4;
                flipped = !flipped;
            }
            Transform::FlipVertical => {
                turns = (6 - turns) % 4;
                flipped = !flipped;
            }
            // A crop does not turn anything.
            Transform::Clap(_) => {}
        }
    }
    match (turns, flipped) {
        (0, false) => Orientation::NoTransforms,
        (1, false) => Orientation::Rotate90,
        (2, false) => Orientation::Rotate180,
        (3, false) => Orientation::Rotate270,
        (0, true) => Orientation::FlipHorizontal,
        (2, true) => Orientation::FlipVertical,
        // `image` turns first and mirrors second: H R = R³ H.
        (3, true) => Orientation::Rotate90FlipH,
        _ => Orientation::Rotate270FlipH,
    }
}

/// The part of the stored (decoded) image that is shown, when `transforms`
/// (in the file's order) hold clean apertures; `None` when they hold none.
/// An aperture listed after a turn or a mirror is a crop of the turned or
/// mirrored image: it is mapped back onto the stored image, so decoding
/// crops once and the turns and mirrors apply afterwards, as one
/// orientation.
pub(crate) fn stored_crop(
    transforms: &[Transform],
    size: (u32, u32),
) -> Result<Option<Crop>, &'static str> {
    let mut region = Crop {
        x: 0,
        y: 0,
        width: size.0,
        height: size.1,
    };
    let mut cropped = false;
    for (index, transform) in transforms.iter().enumerate() {
        let Transform::Clap(aperture) = transform else {
            continue;
        };
        // The turns and mirrors before this aperture, and the size each
        // one is applied to.
        let mut before = Vec::new();
        let mut shown = (region.width, region.height);
        for earlier in &transforms[..index] {
            if matches!(earlier, Transform::Clap(_)) {
                continue;
            }
            before.push((*earlier, shown));
            if matches!(earlier, Transform::Rotate(1 | 3)) {
                shown = (shown.1, shown.0);
            }
        }
        let mut crop = aperture.crop(shown.0, shown.1)?;
        for (earlier, input) in before.iter().rev() {
            crop = undo(*earlier, crop, *input);
        }
        region = Crop {
            x: region.x + crop.x,
            y: region.y + crop.y,
            ..crop
        };
        cropped = true;
    }
    Ok(cropped.then_some(region))
}

/// The rectangle of an image of size `input` that `transform` turns into
/// `crop`.
fn undo(transform: Transform, crop: Crop, input: (u32, u32)) -> Crop {
    let (width, height) = input;
    match transform {
        // Anticlockwise: the stored pixel (x, y) is shown at
        // (y, width − 1 − x).
        Transform::Rotate(1) => Crop {
            x: width - crop.y - crop.height,
            y: crop.x,
            width: crop.height,
            height: crop.width,
        },
        Transform::Rotate(2) => Crop {
            x: width - crop.x - crop.width,
            y: height - crop.y - crop.height,
            ..crop
        },
        // Clockwise: the stored pixel (x, y) is shown at
        // (height − 1 − y, x).
        Transform::Rotate(3) => Crop {
            x: crop.y,
            y: height - crop.x - crop.width,
            width: crop.height,
            height: crop.width,
        },
        Transform::FlipHorizontal => Crop {
            x: width - crop.x - crop.width,
            ..crop
        },
        Transform::FlipVertical => Crop {
            y: height - crop.y - crop.height,
            ..crop
        },
        Transform::Rotate(_) | Transform::Clap(_) => crop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::clean_aperture::aperture;

    /// Every turn and mirror a file can list.
    const TURNS: [Transform; 6] = [
        Transform::Rotate(0),
        Transform::Rotate(1),
        Transform::Rotate(2),
        Transform::Rotate(3),
        Transform::FlipHorizontal,
        Transform::FlipVertical,
    ];

    fn turned(orientation: Orientation) -> [u8; 4] {
        // A 2×2 image with four distinct pixels, row by row.
        let mut image = image::DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(2, 2, vec![1, 2, 3, 4]).unwrap(),
        );
        image.apply_orientation(orientation);
        image.to_luma8().into_raw().try_into().unwrap()
    }

    fn by_hand(transforms: &[Transform]) -> [u8; 4] {
        let mut image = image::DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(2, 2, vec![1, 2, 3, 4]).unwrap(),
        );
        for transform in transforms {
            image = match *transform {
                Transform::Rotate(1) => image.rotate270(),
                Transform::Rotate(2) => image.rotate180(),
                Transform::Rotate(3) => image.rotate90(),
                Transform::Rotate(_) => image,
                Transform::FlipHorizontal => image.fliph(),
                Transform::FlipVertical => image.flipv(),
                Transform::Clap(_) => image,
            };
        }
        image.to_luma8().into_raw().try_into().unwrap()
    }

    #[test]
    fn every_sequence_of_two_or_three_transforms_is_one_orientation() {
        let all = TURNS;
        for a in all {
            for b in all {
                for c in all {
                    let sequence = [a, b, c];
                    assert_eq!(
                        turned(orientation(&sequence)),
                        by_hand(&sequence),
                        "{sequence:?}"
                    );
                    assert_eq!(turned(orientation(&sequence[..2])), by_hand(&sequence[..2]));
                }
            }
        }
    }

    /// A `width`×`height` image whose every pixel is distinct.
    fn numbered(width: u32, height: u32) -> image::DynamicImage {
        image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(width, height, |x, y| {
            image::Luma([(y * width + x) as u16])
        }))
    }

    /// Applies `transforms` one by one, cropping at each aperture.
    fn cropped_by_hand(
        mut image: image::DynamicImage,
        transforms: &[Transform],
    ) -> image::DynamicImage {
        for transform in transforms {
            image = match *transform {
                Transform::Rotate(1) => image.rotate270(),
                Transform::Rotate(2) => image.rotate180(),
                Transform::Rotate(3) => image.rotate90(),
                Transform::Rotate(_) => image,
                Transform::FlipHorizontal => image.fliph(),
                Transform::FlipVertical => image.flipv(),
                Transform::Clap(aperture) => {
                    let crop = aperture.crop(image.width(), image.height()).unwrap();
                    image.crop_imm(crop.x, crop.y, crop.width, crop.height)
                }
            };
        }
        image
    }

    #[test]
    fn apertures_anywhere_in_the_sequence_become_one_stored_crop() {
        let (width, height) = (9, 6);
        // Off-centre and odd, so every misplacement shows.
        let first = Transform::Clap(aperture((5, 1), (3, 1), (1, 1), (-1, 2)));
        let second = Transform::Clap(aperture((2, 1), (2, 1), (-1, 2), (0, 1)));
        let turns = TURNS;
        for a in turns {
            for b in turns {
                let sequences = [
                    vec![first, a, b],
                    vec![a, first, b],
                    vec![a, b, first],
                    vec![a, first, b, second],
                ];
                for sequence in sequences {
                    let expected = cropped_by_hand(numbered(width, height), &sequence);
                    let crop = stored_crop(&sequence, (width, height)).unwrap().unwrap();
                    let mut got =
                        numbered(width, height).crop_imm(crop.x, crop.y, crop.width, crop.height);
                    got.apply_orientation(orientation(&sequence));
                    assert_eq!(got, expected, "{sequence:?}");
                }
            }
        }
        assert_eq!(stored_crop(&turns, (width, height)), Ok(None));
    }
}
