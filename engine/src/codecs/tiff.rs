//! TIFF (read only, first page): the size from the first image file
//! directory, classic or BigTIFF, either byte order. Decoding is the
//! `image` crate's, which reads the first page too.

use super::{bytes_at, corrupt, Header};
use crate::Error;

const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const BITS_PER_SAMPLE: u16 = 258;
const SAMPLES_PER_PIXEL: u16 = 277;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const LONG8: u16 = 16;
/// Most directory entries looked at (real files have a few dozen).
const MAX_ENTRIES: u64 = 1_000;

pub(super) fn looks_like(bytes: &[u8]) -> bool {
    [&b"II*\0"[..], b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|magic| bytes.starts_with(magic))
}

struct Reader<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn uint<const N: usize>(&self, at: u64) -> Option<u64> {
        let mut raw: [u8; N] = bytes_at(self.bytes, usize::try_from(at).ok()?)?;
        if !self.little {
            raw.reverse();
        }
        Some(raw.iter().rev().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
    }
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let truncated = || corrupt("the TIFF header or first directory is cut short");
    let reader = Reader {
        bytes,
        little: bytes.starts_with(b"II"),
    };
    let big = reader.uint::<2>(2).ok_or_else(truncated)? == 43;
    // Classic: IFD offset (4), count (2), 12-byte entries with a 4-byte
    // value. BigTIFF: offset (8 at 8), count (8), 20-byte entries with an
    // 8-byte value.
    let (ifd, count_size, entry_size, value_at) = if big {
        (reader.uint::<8>(8), 8, 20, 12)
    } else {
        (reader.uint::<4>(4), 2, 12, 8)
    };
    let ifd = ifd.ok_or_else(truncated)?;
    let count = if big {
        reader.uint::<8>(ifd)
    } else {
        reader.uint::<2>(ifd)
    }
    .ok_or_else(truncated)?;
    let (mut width, mut height) = (None, None);
    // TIFF's defaults: one sample of one bit.
    let (mut bits, mut samples) = (1u64, 1u64);
    for i in 0..count.min(MAX_ENTRIES) {
        let entry = ifd + count_size + i * entry_size;
        let tag = reader.uint::<2>(entry).ok_or_else(truncated)? as u16;
        let kind = reader.uint::<2>(entry + 2).ok_or_else(truncated)? as u16;
        let value = match kind {
            SHORT => reader.uint::<2>(entry + value_at),
            LONG => reader.uint::<4>(entry + value_at),
            LONG8 => reader.uint::<8>(entry + value_at),
            _ => None,
        };
        match tag {
            IMAGE_WIDTH => width = value,
            IMAGE_LENGTH => height = value,
            // One value per sample, all alike in the files decoders take.
            // When they do not fit in the entry, it holds their offset.
            BITS_PER_SAMPLE => {
                let (count, offset) = if big {
                    (
                        reader.uint::<8>(entry + 4),
                        reader.uint::<8>(entry + value_at),
                    )
                } else {
                    (
                        reader.uint::<4>(entry + 4),
                        reader.uint::<4>(entry + value_at),
                    )
                };
                let inline = entry_size - value_at;
                let first = match count {
                    Some(n) if kind == SHORT && n.saturating_mul(2) > inline => {
                        offset.and_then(|at| reader.uint::<2>(at))
                    }
                    _ => value,
                };
                bits = first.unwrap_or(bits);
            }
            SAMPLES_PER_PIXEL => samples = value.unwrap_or(samples),
            _ => {}
        }
    }
    match (width, height) {
        (Some(width), Some(height)) => Ok(Header {
            pixel_bytes: pixel_bytes(bits, samples),
            ..Header::still(
                u32::try_from(width).unwrap_or(u32::MAX),
                u32::try_from(height).unwrap_or(u32::MAX),
            )
        }),
        _ => Err(corrupt("the TIFF's first directory has no image size")),
    }
}

/// Bytes per pixel of the image the decoder hands over: whole bytes per
/// sample (the `image` crate widens 1 to 7 bits to 8 and reads 32-bit
/// floats), at least 4 (colour conversions go through RGBA), at most a
/// float RGBA pixel.
fn pixel_bytes(bits: u64, samples: u64) -> u8 {
    let sample = bits.div_ceil(8).clamp(1, 4);
    (sample * samples.clamp(1, 4)).clamp(4, 16) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(little: bool) -> Vec<u8> {
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut out = if little {
            b"II*\0".to_vec()
        } else {
            b"MM\0*".to_vec()
        };
        out.extend_from_slice(&u32b(8));
        out.extend_from_slice(&u16b(2));
        for (tag, kind, value) in [(IMAGE_WIDTH, SHORT, 640u32), (IMAGE_LENGTH, LONG, 480)] {
            out.extend_from_slice(&u16b(tag));
            out.extend_from_slice(&u16b(kind));
            out.extend_from_slice(&u32b(1));
            if kind == SHORT {
                out.extend_from_slice(&u16b(value as u16));
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&u32b(value));
            }
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    #[test]
    fn size_comes_from_the_first_directory() {
        for little in [true, false] {
            let tiff = classic(little);
            assert!(looks_like(&tiff));
            let header = header(&tiff).expect("header");
            assert_eq!((header.width, header.height), (640, 480), "little {little}");
            for cut in 0..tiff.len() - 4 {
                assert!(super::header(&tiff[..cut]).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn pixel_bytes_follow_depth_and_samples() {
        // Missing tags: one bit, one sample, decoded to at least RGBA.
        assert_eq!(pixel_bytes(1, 1), 4);
        assert_eq!(pixel_bytes(8, 3), 4);
        assert_eq!(pixel_bytes(16, 3), 6);
        assert_eq!(pixel_bytes(16, 4), 8);
        assert_eq!(pixel_bytes(32, 4), 16);
        // Nonsense is bounded.
        assert_eq!(pixel_bytes(u64::MAX, u64::MAX), 16);
        let header = header(&classic(true)).expect("header");
        assert_eq!(header.pixel_bytes, 4);
    }
}
