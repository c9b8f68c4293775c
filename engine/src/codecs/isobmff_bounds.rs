//! A bounds check of an ISO-BMFF (AVIF) container before `avif-parse`
//! reads it. That parser reserves memory from sizes and counts the file
//! declares — a box's declared size, `iinf`'s entry count, `iloc`'s item
//! and extent counts — before it knows the bytes are there, so a
//! 100-byte file claiming a 4 GB `ftyp` asks for 4 GB. Here every box
//! must fit inside its parent and every count must be backed by the bytes
//! its entries need, so what the parser reserves is bounded by the input.

/// Boxes whose payload is a list of boxes (after `skip` bytes of header).
const CONTAINERS: [(&[u8; 4], usize); 5] = [
    (b"meta", 4),
    (b"iprp", 0),
    (b"ipco", 0),
    (b"dinf", 0),
    (b"iref", 4),
];

/// The smallest `infe` box: an 8-byte header and a 4-byte full-box header.
const MIN_INFE_BYTES: usize = 12;

/// How deep boxes may nest before the file is refused (real AVIFs: 4).
const MAX_DEPTH: usize = 8;

pub(super) fn check(bytes: &[u8]) -> Result<(), &'static str> {
    boxes(bytes, 0)
}

fn boxes(mut payload: &[u8], depth: usize) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("boxes nest too deeply");
    }
    while !payload.is_empty() {
        let BmffBox {
            kind,
            content,
            rest,
        } = next_box(payload)?;
        if let Some((_, skip)) = CONTAINERS.iter().find(|(name, _)| *name == kind) {
            boxes(content.get(*skip..).ok_or("a box is cut short")?, depth + 1)?;
        } else if kind == b"iinf" {
            iinf(content, depth)?;
        } else if kind == b"iloc" {
            iloc(content)?;
        }
        payload = rest;
    }
    Ok(())
}

/// One box read off the front of a payload.
pub(super) struct BmffBox<'a> {
    pub kind: &'a [u8; 4],
    pub content: &'a [u8],
    /// What follows the box in its parent.
    pub rest: &'a [u8],
}

/// The first box of `bytes`, or an error when its declared size does not
/// fit in `bytes`.
pub(super) fn next_box(bytes: &[u8]) -> Result<BmffBox<'_>, &'static str> {
    let short = "a box header is cut short";
    let size32 = u32::from_be_bytes(bytes.get(0..4).ok_or(short)?.try_into().unwrap());
    let kind: &[u8; 4] = bytes.get(4..8).ok_or(short)?.try_into().unwrap();
    let (header, size) = match size32 {
        0 => (8, bytes.len() as u64),
        1 => {
            let large = bytes.get(8..16).ok_or(short)?;
            (16, u64::from_be_bytes(large.try_into().unwrap()))
        }
        n => (8, u64::from(n)),
    };
    if size < header as u64 || size > bytes.len() as u64 {
        return Err("a box is larger than the bytes that hold it");
    }
    let size = size as usize;
    Ok(BmffBox {
        kind,
        content: &bytes[header..size],
        rest: &bytes[size..],
    })
}

fn iinf(content: &[u8], depth: usize) -> Result<(), &'static str> {
    let mut reader = Fields::new(content);
    let version = reader.take(1)?;
    reader.take(3)?;
    let count = reader.take(if version == 0 { 2 } else { 4 })?;
    let rest = reader.rest();
    if count > (rest.len() / MIN_INFE_BYTES) as u64 {
        return Err("iinf counts more entries than it holds");
    }
    boxes(rest, depth + 1)
}

/// `iloc` (ISO 14496-12 § 8.11.3): every item and every extent must be
/// backed by the bytes it occupies, counting a zero-byte extent as one.
fn iloc(content: &[u8]) -> Result<(), &'static str> {
    let mut reader = Fields::new(content);
    let version = reader.take(1)?;
    reader.take(3)?;
    let sizes = reader.take(2)?;
    let (offset_size, length_size) = ((sizes >> 12) & 15, (sizes >> 8) & 15);
    let base_offset_size = (sizes >> 4) & 15;
    let index_size = if version == 0 { 0 } else { sizes & 15 };
    let wide = version == 2;
    let items = reader.take(if wide { 4 } else { 2 })?;
    let mut budget = content.len() as u64;
    for _ in 0..items {
        reader.take(if wide { 4 } else { 2 })?;
        if version != 0 {
            reader.take(2)?;
        }
        reader.take(2)?;
        reader.take(base_offset_size as usize)?;
        let extents = reader.take(2)?;
        let per_extent = (index_size + offset_size + length_size).max(1);
        budget = budget
            .checked_sub(extents * per_extent)
            .ok_or("iloc counts more extents than it holds")?;
        for _ in 0..extents {
            for size in [index_size, offset_size, length_size] {
                reader.take(size as usize)?;
            }
        }
    }
    Ok(())
}

/// Big-endian fields of 0, 1, 2, 4 or 8 bytes, read in order.
struct Fields<'a> {
    bytes: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes }
    }

    fn take(&mut self, len: usize) -> Result<u64, &'static str> {
        if len > 8 {
            return Err("a field is wider than 8 bytes");
        }
        let field = self.bytes.get(..len).ok_or("a box is cut short")?;
        self.bytes = &self.bytes[len..];
        Ok(field.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn rest(self) -> &'a [u8] {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
        let mut out = ((content.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(content);
        out
    }

    fn ftyp() -> Vec<u8> {
        boxed(b"ftyp", b"avif\0\0\0\0avifmif1")
    }

    #[test]
    fn a_well_formed_tree_passes() {
        let infe = boxed(
            b"infe",
            &[2, 0, 0, 0, 0, 1, 0, 0, b'a', b'v', b'0', b'1', 0],
        );
        let iinf = boxed(b"iinf", &[[0, 0, 0, 0, 0, 1].as_slice(), &infe].concat());
        // version 0, offset/length 4 bytes, one item with one extent.
        let iloc = boxed(
            b"iloc",
            &[
                0, 0, 0, 0, 0x44, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 3,
            ],
        );
        let meta = boxed(b"meta", &[[0, 0, 0, 0].as_slice(), &iinf, &iloc].concat());
        let file = [ftyp(), meta, boxed(b"mdat", b"abc")].concat();
        assert_eq!(check(&file), Ok(()));
    }

    #[test]
    fn a_box_larger_than_the_file_is_refused() {
        let mut file = ftyp();
        file[0..4].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
        assert!(check(&file).is_err());
        let mut large = ftyp();
        large[0..4].copy_from_slice(&1u32.to_be_bytes());
        large.splice(8..8, u64::MAX.to_be_bytes());
        assert!(check(&large).is_err());
    }

    #[test]
    fn a_child_larger_than_its_parent_is_refused() {
        let mut iinf = boxed(b"iinf", &[0, 0, 0, 0, 0, 0]);
        iinf[0..4].copy_from_slice(&1000u32.to_be_bytes());
        let meta = boxed(b"meta", &[[0, 0, 0, 0].as_slice(), &iinf].concat());
        let file = [ftyp(), meta, vec![0; 2000]].concat();
        assert!(check(&file).is_err());
    }

    #[test]
    fn counts_must_be_backed_by_bytes() {
        // iinf version 1 claiming four billion entries.
        let iinf = boxed(b"iinf", &[1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        let meta = boxed(b"meta", &[[0, 0, 0, 0].as_slice(), &iinf].concat());
        assert!(check(&[ftyp(), meta].concat()).is_err());
        // iloc version 2 claiming four billion items.
        let iloc = boxed(b"iloc", &[2, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        let meta = boxed(b"meta", &[[0, 0, 0, 0].as_slice(), &iloc].concat());
        assert!(check(&[ftyp(), meta].concat()).is_err());
        // Zero-byte extents: 65535 of them in a 20-byte box.
        let iloc = boxed(b"iloc", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xFF]);
        let meta = boxed(b"meta", &[[0, 0, 0, 0].as_slice(), &iloc].concat());
        assert!(check(&[ftyp(), meta].concat()).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut inner = boxed(b"ipco", &[]);
        for _ in 0..20 {
            inner = boxed(b"ipco", &inner);
        }
        assert!(check(&[ftyp(), inner].concat()).is_err());
    }
}
