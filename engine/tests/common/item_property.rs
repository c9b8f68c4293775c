//! Adds an item property to a HEIF or AVIF file another program wrote
//! (`ftyp`, `meta`, then `mdat`): the box is appended to `ipco`, the
//! primary item's `ipma` entry lists it last, and the `iloc` offsets
//! into `mdat` move by what `meta` grew. Test-only, for well-formed files.

#![allow(dead_code)] // each test file uses its own subset

/// `content` as a box called `kind`.
pub fn boxed(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut out = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(content);
    out
}

/// A `clap` box: width, height, horizontal and vertical offset, each as
/// (numerator, denominator).
pub fn clap(width: (i32, i32), height: (i32, i32), x: (i32, i32), y: (i32, i32)) -> Vec<u8> {
    let mut content = Vec::new();
    for value in [width.0, width.1, height.0, height.1, x.0, x.1, y.0, y.1] {
        content.extend_from_slice(&value.to_be_bytes());
    }
    boxed(b"clap", &content)
}

/// `(kind, start, end)` of each box in `bytes[from..to]`.
fn children(bytes: &[u8], from: usize, to: usize) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        assert!(size >= 8 && at + size <= to, "a well-formed box");
        out.push((bytes[at + 4..at + 8].try_into().unwrap(), at, at + size));
        at += size;
    }
    out
}

fn find(list: &[([u8; 4], usize, usize)], kind: &[u8; 4]) -> (usize, usize) {
    let (_, start, end) = list
        .iter()
        .find(|(name, _, _)| name == kind)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)));
    (*start, *end)
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, &b| acc << 8 | u64::from(b))
}

/// `file` with `property` added to the primary item's properties, after
/// the ones it has.
pub fn with_property(file: &[u8], property: &[u8]) -> Vec<u8> {
    let top = children(file, 0, file.len());
    let (meta_start, meta_end) = find(&top, b"meta");
    let inside = children(file, meta_start + 12, meta_end);
    let (pitm, _) = find(&inside, b"pitm");
    let primary = if file[pitm + 8] == 0 {
        be(&file[pitm + 12..pitm + 14])
    } else {
        be(&file[pitm + 12..pitm + 16])
    };
    let (iprp_start, iprp_end) = find(&inside, b"iprp");
    let in_iprp = children(file, iprp_start + 8, iprp_end);
    let (ipco_start, ipco_end) = find(&in_iprp, b"ipco");
    let count = children(file, ipco_start + 8, ipco_end).len();
    let ipco = boxed(
        b"ipco",
        &[&file[ipco_start + 8..ipco_end], property].concat(),
    );
    let (ipma_start, ipma_end) = find(&in_iprp, b"ipma");
    let ipma = add_association(&file[ipma_start..ipma_end], primary, count as u16 + 1);
    let mut iprp_content = Vec::new();
    for (kind, start, end) in &in_iprp {
        match kind {
            b"ipco" => iprp_content.extend_from_slice(&ipco),
            b"ipma" => iprp_content.extend_from_slice(&ipma),
            _ => iprp_content.extend_from_slice(&file[*start..*end]),
        }
    }
    let iprp = boxed(b"iprp", &iprp_content);
    let grown = iprp.len() - (iprp_end - iprp_start);
    let mut meta_content = file[meta_start + 8..meta_start + 12].to_vec();
    for (kind, start, end) in &inside {
        match kind {
            b"iprp" => meta_content.extend_from_slice(&iprp),
            b"iloc" => {
                meta_content.extend_from_slice(&moved_iloc(&file[*start..*end], meta_end, grown))
            }
            _ => meta_content.extend_from_slice(&file[*start..*end]),
        }
    }
    [
        &file[..meta_start],
        &boxed(b"meta", &meta_content),
        &file[meta_end..],
    ]
    .concat()
}

/// `ipma` with `index` appended to `item`'s list (marked essential, as
/// MIAF asks of transformative properties).
fn add_association(ipma: &[u8], item: u64, index: u16) -> Vec<u8> {
    let version = ipma[8];
    let wide = ipma[11] & 1 != 0;
    let mut out = ipma[8..16].to_vec();
    let entries = be(&ipma[12..16]);
    let mut at = 16;
    for _ in 0..entries {
        let id_len = if version < 1 { 2 } else { 4 };
        let id = be(&ipma[at..at + id_len]);
        out.extend_from_slice(&ipma[at..at + id_len]);
        at += id_len;
        let count = ipma[at] as usize;
        let width = if wide { 2 } else { 1 };
        let list = &ipma[at + 1..at + 1 + count * width];
        at += 1 + count * width;
        if id == item {
            out.push(count as u8 + 1);
            out.extend_from_slice(list);
            if wide {
                out.extend_from_slice(&(index | 0x8000).to_be_bytes());
            } else {
                out.push(index as u8 | 0x80);
            }
        } else {
            out.push(count as u8);
            out.extend_from_slice(list);
        }
    }
    boxed(b"ipma", &out)
}

/// `iloc` with every file offset past `after` moved by `by`.
fn moved_iloc(iloc: &[u8], after: usize, by: usize) -> Vec<u8> {
    let mut out = iloc.to_vec();
    let version = iloc[8];
    let sizes = u16::from_be_bytes([iloc[12], iloc[13]]);
    let offset_size = usize::from(sizes >> 12);
    let length_size = usize::from((sizes >> 8) & 15);
    let base_size = usize::from((sizes >> 4) & 15);
    let index_size = if version == 0 {
        0
    } else {
        usize::from(sizes & 15)
    };
    let mut at = 14;
    let items = if version < 2 {
        at += 2;
        be(&iloc[14..16])
    } else {
        at += 4;
        be(&iloc[14..18])
    };
    let shift = |out: &mut [u8], at: usize, len: usize| {
        let value = be(&out[at..at + len]);
        if len > 0 && value >= after as u64 {
            let moved = (value + by as u64).to_be_bytes();
            out[at..at + len].copy_from_slice(&moved[8 - len..]);
        }
    };
    for _ in 0..items {
        at += if version < 2 { 2 } else { 4 };
        // construction_method 0 is an offset in the file.
        let in_file = version == 0 || iloc[at + 1] & 15 == 0;
        if version != 0 {
            at += 2;
        }
        at += 2; // data_reference_index
        let base_at = at;
        at += base_size;
        let extents = be(&iloc[at..at + 2]);
        at += 2;
        // A base offset into mdat moves; otherwise the extents' do.
        let base_moves = base_size > 0 && be(&iloc[base_at..base_at + base_size]) >= after as u64;
        if in_file && base_moves {
            shift(&mut out, base_at, base_size);
        }
        for _ in 0..extents {
            at += index_size;
            if in_file && !base_moves {
                shift(&mut out, at, offset_size);
            }
            at += offset_size + length_size;
        }
    }
    out
}
