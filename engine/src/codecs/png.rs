//! PNG: size from IHDR, fast encoding with the `image` crate.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder};

use super::{be32, corrupt, encode_error, internal, Header};
use crate::{Error, ImageFormat};

/// IHDR is required to be the first chunk: signature (8), length (4),
/// type (4), then width and height.
pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    if bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return Err(corrupt("the PNG does not start with an IHDR chunk"));
    }
    match (be32(bytes, 16), be32(bytes, 20)) {
        (Some(width), Some(height)) => Ok(Header {
            // 16 bits per sample double every layout's size.
            pixel_bytes: if bytes.get(24) == Some(&16) { 8 } else { 4 },
            ..Header::still(width, height)
        }),
        _ => Err(corrupt("the PNG header is cut short")),
    }
}

/// Fast deflate: on the fly, encoding time matters more than the last few
/// percent of size, and adaptive filtering recovers most of it.
pub(super) fn encode(image: &DynamicImage) -> Result<Vec<u8>, Error> {
    if !matches!(
        image,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_)
    ) {
        return Err(internal("PNG encoding needs an 8-bit image"));
    }
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .map_err(|err| encode_error(ImageFormat::Png, err))?;
    Ok(out)
}
