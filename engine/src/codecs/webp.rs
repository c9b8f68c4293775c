//! WebP: size and frame count from the RIFF chunks, lossy encoding with
//! libwebp (the pure-Rust encoder in `image` is lossless only, which makes
//! photos several times larger).

use image::DynamicImage;

use super::webp_encode::{self, Channels};
use super::{corrupt, frames::Repeat, le16, le24, le32, Header};
use crate::Error;

/// `RIFF` size `WEBP`, then the first chunk's header.
const FIRST_CHUNK: usize = 12;
const CHUNK_HEADER: usize = 8;

/// VP8X flag announcing an animation.
const ANIMATION_FLAG: u8 = 0x02;

pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let truncated = || corrupt("the WebP header is cut short");
    let fourcc = bytes
        .get(FIRST_CHUNK..FIRST_CHUNK + 4)
        .ok_or_else(truncated)?;
    let data = FIRST_CHUNK + CHUNK_HEADER;
    match fourcc {
        // Lossy: frame tag (3), start code 9d 01 2a, 14-bit sizes.
        b"VP8 " => {
            if bytes.get(data + 3..data + 6) != Some(&[0x9d, 0x01, 0x2a][..]) {
                return Err(corrupt("the WebP VP8 start code is missing"));
            }
            let width = le16(bytes, data + 6).ok_or_else(truncated)? & 0x3FFF;
            let height = le16(bytes, data + 8).ok_or_else(truncated)? & 0x3FFF;
            Ok(still(u32::from(width), u32::from(height)))
        }
        // Lossless: signature 0x2f, then 14-bit sizes minus one.
        b"VP8L" => {
            if bytes.get(data) != Some(&0x2F) {
                return Err(corrupt("the WebP VP8L signature is missing"));
            }
            let bits = le32(bytes, data + 1).ok_or_else(truncated)?;
            Ok(still((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: flags (1), reserved (3), 24-bit canvas sizes minus one.
        b"VP8X" => {
            let flags = *bytes.get(data).ok_or_else(truncated)?;
            let width = le24(bytes, data + 4).ok_or_else(truncated)? + 1;
            let height = le24(bytes, data + 7).ok_or_else(truncated)? + 1;
            let frames = if flags & ANIMATION_FLAG != 0 {
                count_frames(bytes).max(1)
            } else {
                1
            };
            Ok(Header {
                frames,
                ..Header::still(width, height)
            })
        }
        _ => Err(corrupt("the WebP has no VP8, VP8L or VP8X chunk")),
    }
}

fn still(width: u32, height: u32) -> Header {
    Header::still(width, height)
}

/// Counts ANMF chunks by following chunk lengths (padded to even sizes).
/// Frames live at the top level of the RIFF, so nothing is parsed inside
/// them.
fn count_frames(bytes: &[u8]) -> u32 {
    let mut pos = FIRST_CHUNK;
    let mut frames = 0u32;
    while let (Some(fourcc), Some(size)) = (bytes.get(pos..pos + 4), le32(bytes, pos + 4)) {
        if fourcc == b"ANMF" {
            frames = frames.saturating_add(1);
        }
        let padded = (size as usize).saturating_add(size as usize & 1);
        pos = match pos.checked_add(CHUNK_HEADER + padded) {
            Some(next) => next,
            None => break,
        };
    }
    frames
}

/// How many times the animation plays, from the ANIM chunk (background
/// colour, then a 16-bit loop count, 0 meaning forever). A file without
/// one is not an animation and plays once.
pub(super) fn repeat(bytes: &[u8]) -> Repeat {
    let mut pos = FIRST_CHUNK;
    while let (Some(fourcc), Some(size)) = (bytes.get(pos..pos + 4), le32(bytes, pos + 4)) {
        if fourcc == b"ANIM" {
            return match le16(bytes, pos + CHUNK_HEADER + 4) {
                Some(0) => Repeat::Forever,
                Some(plays) => Repeat::Plays(u32::from(plays)),
                None => Repeat::Plays(1),
            };
        }
        let padded = (size as usize).saturating_add(size as usize & 1);
        pos = match pos.checked_add(CHUNK_HEADER + padded) {
            Some(next) => next,
            None => break,
        };
    }
    Repeat::Plays(1)
}

/// Lossy at `quality`; alpha is kept (libwebp compresses it losslessly).
/// Grey images are widened because libwebp takes RGB(A) only.
pub(super) fn encode(
    image: &DynamicImage,
    quality: u8,
    check: webp_encode::Check<'_>,
) -> Result<Vec<u8>, Error> {
    let converted;
    let image = match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLumaA8(_) => {
            converted = DynamicImage::ImageRgba8(image.to_rgba8());
            &converted
        }
        _ => {
            converted = DynamicImage::ImageRgb8(image.to_rgb8());
            &converted
        }
    };
    let channels = match image {
        DynamicImage::ImageRgba8(_) => Channels::Rgba,
        _ => Channels::Rgb,
    };
    webp_encode::encode(
        image.as_bytes(),
        image.width(),
        image.height(),
        channels,
        // Quality 100 means lossless (Cloudflare's and imgproxy's reading):
        // lossy WebP at 100 is still lossy, and larger than lossless for
        // graphics.
        quality >= 100,
        f32::from(quality.clamp(1, 100)),
        check,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (fourcc, data) in chunks {
            body.extend_from_slice(*fourcc);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        file
    }

    #[test]
    fn lossy_lossless_and_extended_sizes() {
        let vp8 = riff(&[(
            b"VP8 ",
            vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xF0, 0x00],
        )]);
        assert_eq!(header(&vp8).expect("vp8"), still(320, 240));

        // 100 × 50: (99) | (49 << 14).
        let bits: u32 = 99 | (49 << 14);
        let mut vp8l = vec![0x2F];
        vp8l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(
            header(&riff(&[(b"VP8L", vp8l)])).expect("vp8l"),
            still(100, 50)
        );

        let vp8x = vec![0x10, 0, 0, 0, 0x0F, 0x27, 0x00, 0x1F, 0x4E, 0x00];
        assert_eq!(
            header(&riff(&[(b"VP8X", vp8x)])).expect("vp8x"),
            still(10_000, 20_000)
        );
    }

    #[test]
    fn animation_frames_are_counted() {
        let vp8x = vec![ANIMATION_FLAG, 0, 0, 0, 9, 0, 0, 9, 0, 0];
        let file = riff(&[
            (b"VP8X", vp8x),
            (b"ANIM", vec![0; 6]),
            (b"ANMF", vec![0; 17]),
            (b"ANMF", vec![0; 24]),
            (b"ANMF", vec![0; 24]),
        ]);
        let header = header(&file).expect("header");
        assert_eq!((header.width, header.height, header.frames), (10, 10, 3));
        assert_eq!(repeat(&file), Repeat::Forever);
        let vp8x = vec![ANIMATION_FLAG, 0, 0, 0, 9, 0, 0, 9, 0, 0];
        let twice = riff(&[(b"VP8X", vp8x), (b"ANIM", vec![0, 0, 0, 0, 2, 0])]);
        assert_eq!(repeat(&twice), Repeat::Plays(2));
        assert_eq!(repeat(&twice[..30]), Repeat::Plays(1));
    }

    #[test]
    fn short_or_odd_files_are_corrupt_not_panics() {
        let vp8 = riff(&[(
            b"VP8 ",
            vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xF0, 0x00],
        )]);
        for cut in 0..vp8.len() {
            let _ = header(&vp8[..cut]);
        }
        assert!(header(&riff(&[(b"JUNK", vec![1, 2, 3])])).is_err());
        let mut huge = riff(&[(b"VP8X", vec![ANIMATION_FLAG, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
        huge.extend_from_slice(b"ANMF\xFF\xFF\xFF\xFF");
        assert_eq!(count_frames(&huge), 1);
    }
}
