//! JPEG: size from the frame header, encoding with the `image` crate.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ExtendedColorType};

use super::{be16, corrupt, encode_error, internal, Header};
use crate::{Error, ImageFormat};

/// Walks the marker segments up to the first SOFn frame header, which holds
/// the size. Nothing is decoded; only segment lengths are followed.
pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let truncated = || corrupt("the JPEG header ends before the frame header");
    let mut pos = 2; // past SOI
    loop {
        // Some writers leave junk between segments; decoders skip to the
        // next 0xFF, and so do we.
        while *bytes.get(pos).ok_or_else(truncated)? != 0xFF {
            pos += 1;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while *bytes.get(pos).ok_or_else(truncated)? == 0xFF {
            pos += 1;
        }
        let marker = bytes[pos];
        pos += 1;
        match marker {
            // Stuffed zero, TEM, RSTn and a repeated SOI have no length.
            0x00 | 0x01 | 0xD0..=0xD8 => {}
            // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                // Length (2), precision (1), height (2), width (2).
                let height = be16(bytes, pos + 3).ok_or_else(truncated)?;
                let width = be16(bytes, pos + 5).ok_or_else(truncated)?;
                return Ok(Header {
                    width: u32::from(width),
                    height: u32::from(height),
                    frames: 1,
                });
            }
            0xD9 | 0xDA => return Err(corrupt("the JPEG has no frame header")),
            _ => {
                let length = be16(bytes, pos).ok_or_else(truncated)?;
                if length < 2 {
                    return Err(corrupt("a JPEG segment has an impossible length"));
                }
                pos += usize::from(length);
            }
        }
    }
}

/// Grey or RGB at `quality` (1..=100). Alpha must have been flattened.
pub(super) fn encode(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, Error> {
    let color = match image {
        DynamicImage::ImageLuma8(_) => ExtendedColorType::L8,
        DynamicImage::ImageRgb8(_) => ExtendedColorType::Rgb8,
        _ => return Err(internal("JPEG encoding needs an opaque 8-bit image")),
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode(image.as_bytes(), image.width(), image.height(), color)
        .map_err(|err| encode_error(ImageFormat::Jpeg, err))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_comes_from_the_frame_header() {
        // SOI, APP0 (length 4), junk, fill bytes, SOF2 for 300 × 200.
        let bytes = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0x12, 0xFF, 0xFF, 0xC2, 0x00, 0x11,
            0x08, 0x00, 0xC8, 0x01, 0x2C, 0x03,
        ];
        let header = header(&bytes).expect("header");
        assert_eq!((header.width, header.height, header.frames), (300, 200, 1));
    }

    #[test]
    fn missing_or_cut_frame_headers_are_corrupt() {
        for bytes in [
            &[0xFF, 0xD8, 0xFF][..],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x00],
            &[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01],
            &[0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00],
        ] {
            let err = header(bytes).expect_err("corrupt");
            assert_eq!(err.kind, crate::ErrorKind::CorruptImage, "{bytes:?}");
        }
    }
}
