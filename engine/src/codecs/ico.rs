//! ICO (read only): the size of the largest icon, from the directory. The
//! `image` crate decodes that icon (BMP or PNG inside) and refuses an
//! embedded image whose size differs from its directory entry, so the
//! limits checked here hold.

use super::{corrupt, le16, Header};
use crate::Error;

/// Reserved (2), type (2), count (2), then 16-byte directory entries.
const ENTRIES: usize = 6;
const ENTRY: usize = 16;

/// Whether the bytes start like an icon or cursor: type 1 or 2, at least
/// one entry, and the first entry's reserved byte zero (four zero-ish bytes
/// alone are not enough to call something an image).
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    (bytes.starts_with(&[0, 0, 1, 0]) || bytes.starts_with(&[0, 0, 2, 0]))
        && bytes.len() >= ENTRIES + ENTRY
        && le16(bytes, 4).is_some_and(|count| count > 0)
        && bytes[ENTRIES + 3] == 0
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let count = usize::from(le16(bytes, 4).ok_or_else(|| corrupt("the ICO header is cut short"))?);
    let mut largest = (0u32, 0u32);
    for i in 0..count {
        let entry = ENTRIES + i * ENTRY;
        let (Some(&width), Some(&height)) = (bytes.get(entry), bytes.get(entry + 1)) else {
            return Err(corrupt("the ICO directory is cut short"));
        };
        // 0 stands for 256.
        let side = |byte: u8| if byte == 0 { 256 } else { u32::from(byte) };
        let size = (side(width), side(height));
        if u64::from(size.0) * u64::from(size.1) > u64::from(largest.0) * u64::from(largest.1) {
            largest = size;
        }
    }
    if count == 0 {
        return Err(corrupt("the ICO holds no image"));
    }
    // The icon inside may be a 16-bit PNG.
    Ok(Header {
        pixel_bytes: 8,
        ..Header::still(largest.0, largest.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_entry_gives_the_size() {
        let mut ico = vec![0, 0, 1, 0, 2, 0];
        ico.extend_from_slice(&[16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        ico.extend_from_slice(&[0, 0, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(looks_like(&ico));
        let header = header(&ico).expect("header");
        assert_eq!((header.width, header.height), (256, 256));
        assert!(super::header(&ico[..20]).is_err());
    }
}
