//! The pixel layouts the pipeline works in.
//!
//! Colour conversion and resampling handle grey, grey+alpha, RGB and RGBA
//! at 8 or 16 bits ([`to_working`]: float images become 16-bit), so deep
//! PNGs keep their precision through both; everything after resampling
//! works on 8 bits ([`to_8bit`]), as every output format is written with 8
//! bits per channel anyway.

use image::DynamicImage;

/// The layouts colour conversion and resampling take: 8- and 16-bit ones
/// unchanged, float ones as 16-bit.
pub(super) fn to_working(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb32F(_) => DynamicImage::ImageRgb16(image.to_rgb16()),
        DynamicImage::ImageRgba32F(_) => DynamicImage::ImageRgba16(image.to_rgba16()),
        other => other,
    }
}

pub(super) fn to_8bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => {
            DynamicImage::ImageRgb8(image.to_rgb8())
        }
        _ => DynamicImage::ImageRgba8(image.to_rgba8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, Rgba};

    #[test]
    fn eight_bit_layouts_pass_through_and_others_are_narrowed() {
        let grey = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(2, 2, Luma([7])));
        assert_eq!(to_8bit(grey.clone()), grey);

        let deep = DynamicImage::ImageLuma16(ImageBuffer::from_pixel(2, 2, Luma([65535])));
        assert_eq!(
            to_8bit(deep).as_luma8().map(|b| b.get_pixel(0, 0).0),
            Some([255])
        );

        let deep =
            DynamicImage::ImageRgba16(ImageBuffer::from_pixel(1, 1, Rgba([0, 65535, 0, 32896])));
        assert_eq!(
            to_8bit(deep).as_rgba8().map(|b| b.get_pixel(0, 0).0),
            Some([0, 255, 0, 128])
        );
    }
}
