//! BMP (read only): the size from the DIB header. Decoding is the `image`
//! crate's.

use super::{corrupt, le16, le32, Header};
use crate::Error;

/// File header (14 bytes), then the DIB header, which starts with its size.
const DIB: usize = 14;

/// The DIB header sizes writers use (OS/2 1.x core, Windows 3 to 5, and
/// the Adobe and OS/2 2.x variants).
const DIB_SIZES: [u32; 8] = [12, 16, 40, 52, 56, 64, 108, 124];

/// Whether the bytes start like a BMP: `BM` alone appears in text, so the
/// DIB header size must be one of the known ones too.
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BM") && le32(bytes, DIB).is_some_and(|size| DIB_SIZES.contains(&size))
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let truncated = || corrupt("the BMP header is cut short");
    let dib_size = le32(bytes, DIB).ok_or_else(truncated)?;
    let (width, height) = if dib_size == 12 {
        // OS/2 core header: unsigned 16-bit sizes.
        (
            u32::from(le16(bytes, DIB + 4).ok_or_else(truncated)?),
            u32::from(le16(bytes, DIB + 6).ok_or_else(truncated)?),
        )
    } else {
        // Signed 32-bit sizes; a negative height means rows top-down.
        let width = le32(bytes, DIB + 4).ok_or_else(truncated)? as i32;
        let height = le32(bytes, DIB + 8).ok_or_else(truncated)? as i32;
        if width < 0 {
            return Err(corrupt("the BMP has a negative width"));
        }
        (width.unsigned_abs(), height.unsigned_abs())
    };
    // Decoded to RGB or RGBA, 8 bits.
    Ok(Header::still(width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_comes_from_the_dib_header() {
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        bmp.extend_from_slice(&300i32.to_le_bytes());
        bmp.extend_from_slice(&(-200i32).to_le_bytes());
        assert!(looks_like(&bmp));
        let header = header(&bmp).expect("header");
        assert_eq!((header.width, header.height), (300, 200));
        for cut in 0..bmp.len() {
            let _ = header_or_error(&bmp[..cut]);
        }
        assert!(!looks_like(b"BMW is a car and more text"));
    }

    fn header_or_error(bytes: &[u8]) -> Result<Header, Error> {
        header(bytes)
    }
}
