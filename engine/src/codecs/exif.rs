//! The two EXIF edits `metadata=` needs, on the TIFF structure of an EXIF
//! block: setting the orientation to upright (the pixels already are), and
//! a new block holding only the copyright notice. Offsets come from the
//! file, so every read is bounds-checked; a block that does not parse is
//! dropped rather than passed on half-understood.

/// IFD0 tags.
const ORIENTATION: u16 = 0x0112;
const COPYRIGHT: u16 = 0x8298;
/// TIFF field types.
const ASCII: u16 = 2;
const SHORT: u16 = 3;
/// Most IFD0 entries read: real cameras write a few dozen.
const MAX_ENTRIES: usize = 1_000;

#[derive(Clone, Copy)]
struct Tiff<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl<'a> Tiff<'a> {
    fn new(bytes: &'a [u8]) -> Option<Tiff<'a>> {
        let little = match bytes.get(..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        Some(Tiff { bytes, little })
    }

    fn u16_at(self, at: usize) -> Option<u16> {
        let raw = super::bytes_at::<2>(self.bytes, at)?;
        Some(if self.little {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        })
    }

    fn u32_at(self, at: usize) -> Option<u32> {
        let raw = super::bytes_at::<4>(self.bytes, at)?;
        Some(if self.little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        })
    }

    /// Offsets of IFD0's 12-byte entries.
    fn entries(self) -> Option<impl Iterator<Item = usize>> {
        let ifd = self.u32_at(4)? as usize;
        let count = usize::from(self.u16_at(ifd)?).min(MAX_ENTRIES);
        let first = ifd.checked_add(2)?;
        Some((0..count).map(move |i| first + i * 12))
    }

    fn find(self, tag: u16) -> Option<usize> {
        self.entries()?
            .find(|&entry| self.u16_at(entry) == Some(tag))
    }
}

/// The block with its orientation set to 1 (upright), since the output's
/// pixels are already turned. Unchanged if it has no orientation; `None`
/// if it does not parse.
pub(crate) fn reset_orientation(exif: &[u8]) -> Option<Vec<u8>> {
    let tiff = Tiff::new(exif)?;
    let mut out = exif.to_vec();
    if let Some(entry) = tiff.find(ORIENTATION) {
        if tiff.u16_at(entry + 2) == Some(SHORT) && entry + 10 <= out.len() {
            let one = if tiff.little { [1, 0] } else { [0, 1] };
            out[entry + 8..entry + 10].copy_from_slice(&one);
        }
    }
    Some(out)
}

/// A new little-endian block holding only IFD0's copyright notice, or
/// `None` when there is none.
pub(crate) fn copyright_only(exif: &[u8]) -> Option<Vec<u8>> {
    let tiff = Tiff::new(exif)?;
    let entry = tiff.find(COPYRIGHT)?;
    if tiff.u16_at(entry + 2)? != ASCII {
        return None;
    }
    let count = tiff.u32_at(entry + 4)? as usize;
    let value = if count <= 4 {
        exif.get(entry + 8..entry + 8 + count)?
    } else {
        let at = tiff.u32_at(entry + 8)? as usize;
        exif.get(at..at.checked_add(count)?)?
    };
    if value.iter().all(|&b| b == 0) {
        return None;
    }
    // Header (8), one-entry IFD (2 + 12 + 4), then the text.
    const TEXT_AT: u32 = 26;
    let mut out = b"II*\0\x08\0\0\0\x01\0".to_vec();
    out.extend_from_slice(&COPYRIGHT.to_le_bytes());
    out.extend_from_slice(&ASCII.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    if value.len() <= 4 {
        let mut inline = [0u8; 4];
        inline[..value.len()].copy_from_slice(value);
        out.extend_from_slice(&inline);
        out.extend_from_slice(&[0; 4]);
    } else {
        out.extend_from_slice(&TEXT_AT.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(value);
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A big-endian block with IFD0 entries for orientation and copyright.
    pub(crate) fn sample(orientation: u16, copyright: &str) -> Vec<u8> {
        let text: Vec<u8> = copyright.bytes().chain([0]).collect();
        let mut out = b"MM\0*\0\0\0\x08\0\x02".to_vec();
        out.extend_from_slice(&ORIENTATION.to_be_bytes());
        out.extend_from_slice(&SHORT.to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&orientation.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&COPYRIGHT.to_be_bytes());
        out.extend_from_slice(&ASCII.to_be_bytes());
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        if text.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..text.len()].copy_from_slice(&text);
            out.extend_from_slice(&inline);
            out.extend_from_slice(&[0; 4]);
        } else {
            out.extend_from_slice(&38u32.to_be_bytes());
            out.extend_from_slice(&[0; 4]);
            assert_eq!(out.len(), 38);
            out.extend_from_slice(&text);
        }
        out
    }

    pub(crate) fn read_copyright(exif: &[u8]) -> Option<String> {
        let tiff = Tiff::new(exif)?;
        let entry = tiff.find(COPYRIGHT)?;
        let count = tiff.u32_at(entry + 4)? as usize;
        let at = if count <= 4 {
            entry + 8
        } else {
            tiff.u32_at(entry + 8)? as usize
        };
        let text = exif.get(at..at + count)?;
        Some(
            String::from_utf8_lossy(text)
                .trim_end_matches('\0')
                .to_string(),
        )
    }

    pub(crate) fn read_orientation(exif: &[u8]) -> Option<u16> {
        let tiff = Tiff::new(exif)?;
        let entry = tiff.find(ORIENTATION)?;
        tiff.u16_at(entry + 8)
    }

    #[test]
    fn orientation_is_reset_and_the_rest_kept() {
        let exif = sample(6, "(c) Someone");
        let reset = reset_orientation(&exif).expect("parses");
        assert_eq!(read_orientation(&reset), Some(1));
        assert_eq!(read_copyright(&reset).as_deref(), Some("(c) Someone"));
        assert_eq!(reset.len(), exif.len());
    }

    #[test]
    fn copyright_only_keeps_just_the_notice() {
        let only = copyright_only(&sample(6, "(c) Someone")).expect("copyright");
        assert_eq!(read_copyright(&only).as_deref(), Some("(c) Someone"));
        assert_eq!(read_orientation(&only), None);
        let short = copyright_only(&sample(6, "ab")).expect("short copyright");
        assert_eq!(read_copyright(&short).as_deref(), Some("ab"));
        assert_eq!(copyright_only(&sample(6, "")), None);
    }

    #[test]
    fn damaged_blocks_never_panic() {
        let exif = sample(3, "(c) Someone");
        for cut in 0..exif.len() {
            let _ = reset_orientation(&exif[..cut]);
            let _ = copyright_only(&exif[..cut]);
        }
        assert_eq!(reset_orientation(b"junk"), None);
    }
}
