//! JPEG: size from the frame header, EXIF orientation from APP1, encoding
//! with jpegli (libjpeg-turbo for `compression=fast`).

use image::metadata::Orientation;
use image::DynamicImage;

use super::jpeg_markers::segments;
use super::jpegli;
use super::turbo::{self, Layout};
use super::{be16, corrupt, internal, Header};
use crate::Error;

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
                // Length (2), precision (1), height (2), width (2),
                // components (1).
                let height = be16(bytes, pos + 3).ok_or_else(truncated)?;
                let width = be16(bytes, pos + 5).ok_or_else(truncated)?;
                let components = bytes.get(pos + 7).copied().unwrap_or(3);
                return Ok(Header {
                    pixel_bytes: components.clamp(1, 4),
                    sample_eighths: sample_eighths(bytes, pos + 8, components),
                    // SOF2, SOF6, SOF10, SOF14: progressive.
                    progressive: marker & 0x03 == 0x02,
                    ..Header::still(u32::from(width), u32::from(height))
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

/// Samples per pixel in eighths over the frame's components, from their
/// sampling factors (three bytes each from `at`: id, H << 4 | V, table).
/// A cut or odd frame header counts every component at full resolution.
fn sample_eighths(bytes: &[u8], at: usize, components: u8) -> u16 {
    let factors: Option<Vec<(u16, u16)>> = (0..usize::from(components))
        .map(|i| {
            let packed = *bytes.get(at + 3 * i + 1)?;
            Some((
                u16::from(packed >> 4).max(1),
                u16::from(packed & 0x0F).max(1),
            ))
        })
        .collect();
    let Some(factors) = factors.filter(|f| !f.is_empty()) else {
        return 8 * u16::from(components.max(1));
    };
    let h_max = factors.iter().map(|f| f.0).max().unwrap_or(1);
    let v_max = factors.iter().map(|f| f.1).max().unwrap_or(1);
    factors
        .iter()
        .map(|(h, v)| 8 * h * v / (h_max * v_max))
        .sum::<u16>()
        .max(1)
}

/// The EXIF orientation from the first APP1 `Exif` segment. Missing or
/// damaged metadata means upright: it is not worth failing a request over.
pub(super) fn orientation(bytes: &[u8]) -> Orientation {
    segments(bytes)
        .0
        .iter()
        .filter(|segment| segment.marker == 0xE1)
        .find_map(|segment| bytes[segment.payload.clone()].strip_prefix(b"Exif\0\0"))
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms)
}

/// Grey or RGB at `quality` (1..=100), progressive when asked; `fast`
/// takes libjpeg-turbo's quick path instead of jpegli. Alpha must have
/// been flattened. jpegli asks `check` as it goes, so a job can be stopped
/// part-way through its encode.
pub(super) fn encode_with(
    image: &DynamicImage,
    quality: u8,
    progressive: bool,
    fast: bool,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let layout = layout(image)?;
    let (pixels, width, height) = (image.as_bytes(), image.width(), image.height());
    if fast {
        turbo::encode_with(pixels, width, height, layout, quality, progressive)
    } else {
        jpegli::encode(pixels, width, height, layout, quality, progressive, check)
    }
}

/// jpegli with any [`jpegli::Tuning`] (`stages::encode_jpegli`).
pub(crate) fn encode_tuned(
    image: &DynamicImage,
    quality: u8,
    tuning: &jpegli::Tuning,
) -> Result<Vec<u8>, Error> {
    let layout = layout(image)?;
    let (pixels, width, height) = (image.as_bytes(), image.width(), image.height());
    jpegli::encode_tuned(pixels, width, height, layout, quality, tuning, &|| Ok(()))
}

/// The encoders' layout of an opaque 8-bit image.
fn layout(image: &DynamicImage) -> Result<Layout, Error> {
    match image {
        DynamicImage::ImageLuma8(_) => Ok(Layout::Grey),
        DynamicImage::ImageRgb8(_) => Ok(Layout::Rgb),
        _ => Err(internal("JPEG encoding needs an opaque 8-bit image")),
    }
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
        assert!(header.progressive);
        // The components' sampling factors are cut off: full resolution.
        assert_eq!(header.sample_eighths, 24);
    }

    #[test]
    fn sampling_factors_size_the_coefficients() {
        // Y at 2×2, Cb and Cr at 1×1 (4:2:0), then 4:4:4, then grey.
        let yuv420 = [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
        assert_eq!(sample_eighths(&yuv420, 0, 3), 12);
        let yuv444 = [1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1];
        assert_eq!(sample_eighths(&yuv444, 0, 3), 24);
        assert_eq!(sample_eighths(&[1, 0x11, 0], 0, 1), 8);
    }

    /// SOI, an APP1 `Exif` segment with the given orientation (big-endian
    /// TIFF, one IFD entry), then a stub of SOF0 and SOS.
    fn with_orientation(value: u16) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
        tiff.extend_from_slice(&value.to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        jpeg.extend_from_slice(&[0xFF, 0xE1]);
        jpeg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        jpeg.extend_from_slice(&payload);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34]);
        jpeg
    }

    #[test]
    fn orientation_comes_from_exif() {
        assert_eq!(orientation(&with_orientation(6)), Orientation::Rotate90);
        assert_eq!(orientation(&with_orientation(3)), Orientation::Rotate180);
        assert_eq!(orientation(&with_orientation(8)), Orientation::Rotate270);
        assert_eq!(orientation(&with_orientation(1)), Orientation::NoTransforms);
        // Out of range or missing: upright.
        assert_eq!(
            orientation(&with_orientation(42)),
            Orientation::NoTransforms
        );
        assert_eq!(
            orientation(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]),
            Orientation::NoTransforms
        );
        // Every truncation is handled.
        let full = with_orientation(6);
        for cut in 0..full.len() {
            let _ = orientation(&full[..cut]);
        }
    }

    #[test]
    fn the_first_scan_is_found_past_the_segments() {
        let jpeg = with_orientation(1);
        let first_scan = super::super::jpeg_markers::first_scan;
        assert_eq!(first_scan(&jpeg), Some(jpeg.len() - 4));
        assert_eq!(first_scan(&jpeg[..jpeg.len() - 6]), None);
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
