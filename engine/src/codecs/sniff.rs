//! Telling formats apart by their first bytes.
//!
//! Content types from origins are often wrong (`application/octet-stream`,
//! `text/plain` for a JPEG), so the bytes decide. Anything that is not one
//! of the supported formats is sorted into "a known image format we do
//! not support" (415 naming it, so the operator knows what to convert) or
//! "not an image at all" (an HTML error page served with status 200, JSON…).

use crate::{Error, ErrorKind, ImageFormat};

/// Identifies a supported image format from its magic bytes.
///
/// Errors are [`ErrorKind::UnsupportedFormat`] for a recognised image format
/// the engine cannot read (the message names it) and
/// [`ErrorKind::NotAnImage`] for everything else, including an empty body.
pub fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, Error> {
    if let Some(format) = supported(bytes) {
        return Ok(format);
    }
    match unsupported(bytes) {
        Some(name) => Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!("the original is a {name} image; only JPEG, PNG, GIF, WebP, AVIF, HEIC, TIFF, BMP and ICO are supported"),
        )),
        None => Err(Error::new(
            ErrorKind::NotAnImage,
            "the original is not an image",
        )),
    }
}

fn supported(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else if super::avif_input::looks_like(bytes) {
        Some(ImageFormat::Avif)
    } else if super::tiff::looks_like(bytes) {
        Some(ImageFormat::Tiff)
    } else if super::bmp::looks_like(bytes) {
        Some(ImageFormat::Bmp)
    } else if super::ico::looks_like(bytes) {
        Some(ImageFormat::Ico)
    } else if super::heic::looks_like(bytes) {
        Some(ImageFormat::Heic)
    } else {
        None
    }
}

/// Names a recognised but unsupported image format.
fn unsupported(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);

    if at(4, b"ftyp") {
        let brand = bytes.get(8..12).unwrap_or_default();
        return match brand {
            // Still AVIF is read (see `supported`); sequences are not.
            b"avis" => Some("animated AVIF"),
            // Still HEIF is read (see `supported`); sequences are not.
            b"hevc" | b"hevx" | b"msf1" => Some("HEIF sequence"),
            b"jxl " => Some("JPEG XL"),
            // Other ISO media files are video or audio.
            _ => None,
        };
    }
    if at(0, &[0xFF, 0x0A]) || at(0, b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("JPEG XL");
    }
    if at(0, b"\0\0\0\x0cjP  \r\n\x87\n") || at(0, &[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some("JPEG 2000");
    }
    if at(0, b"8BPS") {
        return Some("Photoshop");
    }
    if at(0, b"qoif") {
        return Some("QOI");
    }
    if at(0, &[0x76, 0x2F, 0x31, 0x01]) {
        return Some("OpenEXR");
    }
    if at(0, b"#?RADIANCE") || at(0, b"#?RGBE") {
        return Some("Radiance HDR");
    }
    if at(0, b"DDS ") {
        return Some("DDS");
    }
    if at(0, b"farbfeld") {
        return Some("farbfeld");
    }
    if is_svg(bytes) {
        return Some("SVG");
    }
    None
}

/// SVG is XML text: `<svg` at the start, or an XML declaration, doctype or
/// comment followed by an `<svg` element early on. Other XML and HTML are
/// not images.
fn is_svg(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    let head = &text[..text.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<svg") {
        return true;
    }
    let prologue = lower.starts_with(b"<?xml")
        || lower.starts_with(b"<!doctype svg")
        || lower.starts_with(b"<!--");
    prologue && lower.windows(4).any(|w| w == b"<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> ErrorKind {
        match sniff_format(bytes) {
            Ok(format) => panic!("{bytes:?} sniffed as {format:?}"),
            Err(err) => err.kind,
        }
    }

    #[test]
    fn supported_formats() {
        assert_eq!(
            sniff_format(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Ok(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff_format(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Ok(ImageFormat::Png)
        );
        assert_eq!(sniff_format(b"GIF87a\x01\0\x01\0"), Ok(ImageFormat::Gif));
        assert_eq!(sniff_format(b"GIF89a\x01\0\x01\0"), Ok(ImageFormat::Gif));
        assert_eq!(
            sniff_format(b"RIFF\x10\0\0\0WEBPVP8 "),
            Ok(ImageFormat::Webp)
        );
        let mut bmp = b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        bmp.resize(70, 0);
        let mut ico = vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
        ico.resize(40, 0);
        assert_eq!(sniff_format(&bmp), Ok(ImageFormat::Bmp));
        assert_eq!(sniff_format(&ico), Ok(ImageFormat::Ico));
        assert_eq!(sniff_format(b"II*\0\x08\0\0\0"), Ok(ImageFormat::Tiff));
        assert_eq!(sniff_format(b"MM\0*\0\0\0\x08"), Ok(ImageFormat::Tiff));
        assert_eq!(
            sniff_format(b"\0\0\0\x1cftypavif\0\0\0\0"),
            Ok(ImageFormat::Avif)
        );
    }

    #[test]
    fn text_and_empty_bodies_are_not_images() {
        for body in [
            &b""[..],
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            b"<html>",
            b"{\"error\": \"nope\"}",
            b"hello world\n",
            b"BMW is a car",
            b"<?xml version=\"1.0\"?><feed></feed>",
            b"%PDF-1.7",
            b"RIFF\x10\0\0\0WAVEfmt ",
            b"\0\0\0\x18ftypisom",
            b"\xFF\xD8",
            b"GIF8",
        ] {
            assert_eq!(
                kind(body),
                ErrorKind::NotAnImage,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn known_unsupported_formats_are_named() {
        for (body, name) in [
            (b"\0\0\0\x1cftypavis\0\0\0\0".to_vec(), "animated AVIF"),
            (b"\0\0\0\x18ftyphevc\0\0\0\0".to_vec(), "HEIF sequence"),
            (b"\0\0\0\x18ftypmsf1\0\0\0\0".to_vec(), "HEIF sequence"),
            (vec![0xFF, 0x0A, 0xFA], "JPEG XL"),
            (b"\0\0\0\x0cJXL \r\n\x87\n".to_vec(), "JPEG XL"),
            (b"\0\0\0\x0cjP  \r\n\x87\n".to_vec(), "JPEG 2000"),
            (b"8BPS\0\x01".to_vec(), "Photoshop"),
            (b"qoif\0\0\0\x01".to_vec(), "QOI"),
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
                "SVG",
            ),
            (b"\xEF\xBB\xBF  <SVG></SVG>".to_vec(), "SVG"),
            (
                b"<?xml version=\"1.0\"?>\n<!-- x -->\n<svg/>".to_vec(),
                "SVG",
            ),
        ] {
            let err = sniff_format(&body).expect_err(name);
            assert_eq!(err.kind, ErrorKind::UnsupportedFormat, "{name}");
            assert!(err.message.contains(name), "{name}: {}", err.message);
        }
    }
}
