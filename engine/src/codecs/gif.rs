//! GIF: size from the logical screen, frames counted by walking the block
//! structure, single-frame encoding with the `image` crate.

use image::codecs::gif::GifEncoder;
use image::{DynamicImage, ExtendedColorType};

use super::{corrupt, encode_error, frames::Repeat, le16, Header};
use crate::{Error, ImageFormat};

/// Colour quantisation effort, 1 (best) to 30 (fastest). 10 is the `gif`
/// crate's own suggestion for a reasonable trade-off.
const QUANTISATION_SPEED: i32 = 10;

pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    match (le16(bytes, 6), le16(bytes, 8)) {
        (Some(width), Some(height)) => Ok(Header {
            frames: count_frames(bytes).max(1),
            ..Header::still(u32::from(width), u32::from(height))
        }),
        _ => Err(corrupt("the GIF header is cut short")),
    }
}

/// Counts image descriptors by hopping over sub-blocks, without
/// decompressing anything. A truncated file counts the frames seen so far;
/// decoding reports the damage later.
fn count_frames(bytes: &[u8]) -> u32 {
    scan(bytes).0
}

/// How many times the animation plays: the NETSCAPE2.0 (or ANIMEXTS1.0)
/// application extension counts repeats after the first play, 0 meaning
/// forever; without it an animation plays once.
pub(super) fn repeat(bytes: &[u8]) -> Repeat {
    match scan(bytes).1 {
        None => Repeat::Plays(1),
        Some(0) => Repeat::Forever,
        Some(repeats) => Repeat::Plays(u32::from(repeats) + 1),
    }
}

/// Walks the block structure: the number of frames, and the loop count of
/// the first looping extension.
fn scan(bytes: &[u8]) -> (u32, Option<u16>) {
    /// Skips a chain of sub-blocks (length byte, data, …, zero terminator).
    fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let length = usize::from(*bytes.get(pos)?);
            pos += 1;
            if length == 0 {
                return Some(pos);
            }
            pos += length;
        }
    }
    /// Size of a colour table announced by a packed-fields byte.
    fn color_table(flags: u8) -> usize {
        if flags & 0x80 != 0 {
            3 << ((flags & 0x07) + 1)
        } else {
            0
        }
    }
    /// The loop count of an application extension whose sub-blocks start
    /// at `pos`: an 11-byte identifier, then `1, count (LE16)`.
    fn loop_count(bytes: &[u8], pos: usize) -> Option<u16> {
        let identifier = bytes.get(pos..pos + 12)?;
        if identifier[0] != 11 || !matches!(&identifier[1..], b"NETSCAPE2.0" | b"ANIMEXTS1.0") {
            return None;
        }
        let data = pos + 12;
        if bytes.get(data..data + 2)? != [3, 1] {
            return None;
        }
        le16(bytes, data + 2)
    }

    let mut repeats = None;
    let Some(&screen_flags) = bytes.get(10) else {
        return (0, repeats);
    };
    let mut pos = 13 + color_table(screen_flags);
    let mut frames = 0u32;
    loop {
        match bytes.get(pos) {
            // Image descriptor: separator, position and size (8), flags,
            // optional local colour table, LZW code size, data sub-blocks.
            Some(0x2C) => {
                frames = frames.saturating_add(1);
                let Some(&flags) = bytes.get(pos + 9) else {
                    return (frames, repeats);
                };
                pos += 10 + color_table(flags) + 1;
            }
            // Extension: introducer, label, sub-blocks.
            Some(0x21) => {
                if bytes.get(pos + 1) == Some(&0xFF) && repeats.is_none() {
                    repeats = loop_count(bytes, pos + 2);
                }
                pos += 2;
            }
            // Trailer, end of data or garbage.
            _ => return (frames, repeats),
        }
        match skip_sub_blocks(bytes, pos) {
            Some(next) => pos = next,
            None => return (frames, repeats),
        }
    }
}

/// One frame, quantised to 256 colours. Grey images are widened to RGB
/// because GIF palettes are RGB.
pub(super) fn encode(image: &DynamicImage) -> Result<Vec<u8>, Error> {
    let converted;
    let (image, color) = match image {
        DynamicImage::ImageRgb8(_) => (image, ExtendedColorType::Rgb8),
        DynamicImage::ImageRgba8(_) => (image, ExtendedColorType::Rgba8),
        DynamicImage::ImageLumaA8(_) => {
            converted = DynamicImage::ImageRgba8(image.to_rgba8());
            (&converted, ExtendedColorType::Rgba8)
        }
        _ => {
            converted = DynamicImage::ImageRgb8(image.to_rgb8());
            (&converted, ExtendedColorType::Rgb8)
        }
    };
    let mut out = Vec::new();
    {
        // The trailer is written when the encoder is dropped.
        let mut encoder = GifEncoder::new_with_speed(&mut out, QUANTISATION_SPEED);
        encoder
            .encode(image.as_bytes(), image.width(), image.height(), color)
            .map_err(|err| encode_error(ImageFormat::Gif, err))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-frame GIF: header, screen with a 2-colour table, a graphic
    /// control extension, two 1×1 images.
    fn two_frames() -> Vec<u8> {
        let mut gif = b"GIF89a\x02\x00\x03\x00\x80\x00\x00".to_vec();
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        gif.extend_from_slice(&[0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]);
        for _ in 0..2 {
            gif.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x00]);
            gif.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
        }
        gif.push(0x3B);
        gif
    }

    #[test]
    fn screen_size_and_frames() {
        let header = header(&two_frames()).expect("header");
        assert_eq!((header.width, header.height, header.frames), (2, 3, 2));
    }

    #[test]
    fn truncated_files_count_what_they_have() {
        let gif = two_frames();
        for cut in 0..gif.len() {
            let _ = header(&gif[..cut]);
        }
        assert!(header(&gif[..10]).is_ok());
        assert!(header(&gif[..9]).is_err());
        // The second image descriptor starts at byte 42.
        assert_eq!(count_frames(&gif[..42]), 1);
        assert_eq!(count_frames(&gif[..43]), 2);
    }

    #[test]
    fn loop_count_from_the_netscape_extension() {
        assert_eq!(repeat(&two_frames()), Repeat::Plays(1));
        let with_loop = |count: u16| {
            let mut gif = two_frames();
            let mut extension = vec![0x21, 0xFF, 11];
            extension.extend_from_slice(b"NETSCAPE2.0");
            extension.extend_from_slice(&[3, 1]);
            extension.extend_from_slice(&count.to_le_bytes());
            extension.push(0);
            // After the header, screen descriptor and colour table.
            gif.splice(19..19, extension);
            gif
        };
        assert_eq!(repeat(&with_loop(0)), Repeat::Forever);
        assert_eq!(repeat(&with_loop(2)), Repeat::Plays(3));
        assert_eq!(header(&with_loop(2)).expect("header").frames, 2);
    }
}
