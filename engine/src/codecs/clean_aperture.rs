//! `clap`, the clean aperture (ISO/IEC 14496-12 § 12.1.4.1, a
//! transformative item property in HEIF, ISO/IEC 23008-12 § 6.5.9): the
//! part of the image meant to be shown, given as a width, a height and the
//! offset of its centre from the image's centre, each a fraction.
//!
//! Rounding follows libheif (`Box_clap::left_rounded`): the first column
//! (row) is the exact edge rounded down and the width (height) is the
//! fraction rounded to the nearest whole pixel, so files libheif shows
//! are shown the same. Like libavif (`avifCropRectConvertCleanApertureBox`)
//! and unlike libheif, which clamps, an aperture that reaches outside the
//! image, is empty, or has a zero or negative denominator or size is
//! refused as a malformed file. Odd sizes and offsets are fine: the crop
//! is taken from the RGB image, after chroma is upsampled, which is what
//! MIAF (ISO/IEC 23000-22 § 7.3.6.7) asks for when an edge falls between
//! two chroma samples.

/// A signed fraction as the box stores it (32-bit numerator and
/// denominator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fraction {
    pub numerator: i32,
    pub denominator: i32,
}

/// The four fractions of a `clap` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleanAperture {
    pub width: Fraction,
    pub height: Fraction,
    pub horizontal_offset: Fraction,
    pub vertical_offset: Fraction,
}

/// A rectangle of whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crop {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl CleanAperture {
    /// The box's content: eight 32-bit fields, numerator then denominator
    /// of the width, height, horizontal and vertical offset. Every field
    /// is read as signed, as libavif does, so a "negative" size or
    /// denominator is seen as one and refused by [`Self::crop`].
    pub(crate) fn parse(content: &[u8]) -> Result<CleanAperture, &'static str> {
        let field = |index: usize| {
            super::be32(content, index * 4)
                .map(|value| value as i32)
                .ok_or("clap is cut short")
        };
        let fraction = |index: usize| -> Result<Fraction, &'static str> {
            Ok(Fraction {
                numerator: field(index)?,
                denominator: field(index + 1)?,
            })
        };
        Ok(CleanAperture {
            width: fraction(0)?,
            height: fraction(2)?,
            horizontal_offset: fraction(4)?,
            vertical_offset: fraction(6)?,
        })
    }

    /// The pixels the aperture keeps of a `width`×`height` image.
    pub(crate) fn crop(&self, width: u32, height: u32) -> Result<Crop, &'static str> {
        let (x, crop_width) = span(self.width, self.horizontal_offset, width)?;
        let (y, crop_height) = span(self.height, self.vertical_offset, height)?;
        Ok(Crop {
            x,
            y,
            width: crop_width,
            height: crop_height,
        })
    }
}

/// First pixel and length of the aperture along one side of `image`
/// pixels.
fn span(size: Fraction, offset: Fraction, image: u32) -> Result<(u32, u32), &'static str> {
    if size.denominator <= 0 || offset.denominator <= 0 {
        return Err("clap has a denominator that is not positive");
    }
    if size.numerator <= 0 {
        return Err("clap gives a size that is not positive");
    }
    // Exact in 128 bits: every product below is of 32-bit values.
    let (size_n, size_d) = (i128::from(size.numerator), i128::from(size.denominator));
    let (offset_n, offset_d) = (i128::from(offset.numerator), i128::from(offset.denominator));
    // Nearest whole pixel, halves up.
    let length = (2 * size_n + size_d).div_euclid(2 * size_d);
    if length == 0 {
        return Err("clap keeps less than a pixel");
    }
    // With pixel centres at whole positions the image's centre is at
    // (image − 1)/2, so the first kept pixel is at
    //   offset + (image − 1)/2 − (size − 1)/2 = offset + (image − size)/2,
    // rounded down.
    let image = i128::from(image);
    let start = ((image * size_d - size_n) * offset_d + 2 * size_d * offset_n)
        .div_euclid(2 * size_d * offset_d);
    if start < 0 || start + length > image {
        return Err("clap reaches outside the image");
    }
    Ok((start as u32, length as u32))
}

/// `image` (the decoded, stored image) cut to `crop`, if any.
pub(crate) fn apply(image: image::DynamicImage, crop: Option<Crop>) -> image::DynamicImage {
    match crop {
        Some(crop) if (crop.width, crop.height) != (image.width(), image.height()) => {
            image.crop_imm(crop.x, crop.y, crop.width, crop.height)
        }
        _ => image,
    }
}

/// A clean aperture from (numerator, denominator) pairs: width, height,
/// horizontal and vertical offset. For tests.
#[cfg(test)]
pub(crate) fn aperture(
    width: (i32, i32),
    height: (i32, i32),
    x: (i32, i32),
    y: (i32, i32),
) -> CleanAperture {
    let fraction = |(numerator, denominator)| Fraction {
        numerator,
        denominator,
    };
    CleanAperture {
        width: fraction(width),
        height: fraction(height),
        horizontal_offset: fraction(x),
        vertical_offset: fraction(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crop(x: u32, y: u32, width: u32, height: u32) -> Crop {
        Crop {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_centred_aperture_keeps_the_middle() {
        let centred = aperture((60, 1), (40, 1), (0, 1), (0, 1));
        assert_eq!(centred.crop(100, 50), Ok(crop(20, 5, 60, 40)));
        // The whole image.
        assert_eq!(
            aperture((100, 1), (50, 1), (0, 1), (0, 1)).crop(100, 50),
            Ok(crop(0, 0, 100, 50))
        );
    }

    #[test]
    fn offsets_move_the_centre() {
        // The top-left quadrant of 64×32: centre 16 px left and 8 px up.
        let quadrant = aperture((32, 1), (16, 1), (-16, 1), (-8, 1));
        assert_eq!(quadrant.crop(64, 32), Ok(crop(0, 0, 32, 16)));
        // The same with fractions that are not in lowest terms.
        let scaled = aperture((64, 2), (48, 3), (-48, 3), (-16, 2));
        assert_eq!(scaled.crop(64, 32), Ok(crop(0, 0, 32, 16)));
        // An odd offset: one pixel right of centre.
        let odd = aperture((10, 1), (10, 1), (1, 1), (-3, 1));
        assert_eq!(odd.crop(20, 20), Ok(crop(6, 2, 10, 10)));
    }

    #[test]
    fn fractional_edges_round_as_libheif_does() {
        // (5 − 2)/2 = 1.5: the first column rounds down.
        assert_eq!(
            aperture((2, 1), (2, 1), (0, 1), (0, 1)).crop(5, 5),
            Ok(crop(1, 1, 2, 2))
        );
        // A width of 2.5 is 3 pixels, 2.4 is 2.
        assert_eq!(
            aperture((5, 2), (12, 5), (0, 1), (0, 1)).crop(10, 10),
            Ok(crop(3, 3, 3, 2))
        );
    }

    #[test]
    fn impossible_apertures_are_refused() {
        let cases = [
            (
                "zero width denominator",
                aperture((10, 0), (10, 1), (0, 1), (0, 1)),
            ),
            (
                "negative offset denominator",
                aperture((10, 1), (10, 1), (0, -1), (0, 1)),
            ),
            ("zero height", aperture((10, 1), (0, 1), (0, 1), (0, 1))),
            (
                "negative width",
                aperture((-10, 1), (10, 1), (0, 1), (0, 1)),
            ),
            (
                "under half a pixel",
                aperture((1, 3), (10, 1), (0, 1), (0, 1)),
            ),
            (
                "wider than the image",
                aperture((21, 1), (10, 1), (0, 1), (0, 1)),
            ),
            (
                "pushed off the right",
                aperture((10, 1), (10, 1), (6, 1), (0, 1)),
            ),
            (
                "pushed off the top",
                aperture((10, 1), (10, 1), (0, 1), (-6, 1)),
            ),
            (
                "extreme values",
                aperture((i32::MAX, 1), (i32::MAX, 1), (i32::MIN, 1), (i32::MAX, 1)),
            ),
        ];
        for (name, aperture) in cases {
            assert!(aperture.crop(20, 20).is_err(), "{name}");
        }
        // Extreme but valid fractions do not overflow.
        let big = aperture(
            (i32::MAX, i32::MAX),
            (i32::MAX, i32::MAX),
            (i32::MIN, i32::MAX),
            (0, 1),
        );
        assert_eq!(big.crop(20, 20), Ok(crop(8, 9, 1, 1)));
    }

    #[test]
    fn a_short_box_is_refused() {
        assert!(CleanAperture::parse(&[0; 31]).is_err());
        let mut content = Vec::new();
        for value in [32i32, 1, 16, 1, -16, 1, -8, 1] {
            content.extend_from_slice(&value.to_be_bytes());
        }
        assert_eq!(
            CleanAperture::parse(&content),
            Ok(aperture((32, 1), (16, 1), (-16, 1), (-8, 1)))
        );
    }
}
