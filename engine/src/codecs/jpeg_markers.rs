//! JPEG marker segments: the walk over the segments before the first scan
//! that the header reader, the orientation reader and the truncation check
//! share. Nothing here decodes or depends on a codec library.

use super::be16;

/// One marker segment: its marker byte and where its payload (after the
/// length) starts and ends.
pub(super) struct Segment {
    pub marker: u8,
    pub payload: std::ops::Range<usize>,
}

/// The marker segments before the first scan, in order, then the offset
/// just past the SOS marker. Stops (with `None` as the scan) at the end of
/// the data or at anything that does not parse.
pub(super) fn segments(bytes: &[u8]) -> (Vec<Segment>, Option<usize>) {
    let mut found = Vec::new();
    let mut pos = 2; // past SOI
    loop {
        while bytes.get(pos).is_some_and(|&b| b != 0xFF) {
            pos += 1;
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return (found, None);
        };
        pos += 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD8 => {}
            0xD9 => return (found, None),
            0xDA => return (found, Some(pos)),
            _ => {
                let Some(length) = be16(bytes, pos).map(usize::from) else {
                    return (found, None);
                };
                if length < 2 || pos + length > bytes.len() {
                    return (found, None);
                }
                found.push(Segment {
                    marker,
                    payload: pos + 2..pos + length,
                });
                pos += length;
            }
        }
    }
}

/// The payload of the marker segment whose length field starts at `at`
/// and the offset just past the segment, or `None` when the length is
/// impossible or runs past the data.
pub(super) fn segment_at(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let length = usize::from(be16(bytes, at)?);
    let end = at.checked_add(length)?;
    if length < 2 || end > bytes.len() {
        return None;
    }
    Some((&bytes[at + 2..end], end))
}

/// The offset just past the first SOS marker: where entropy-coded data
/// starts.
pub(super) fn first_scan(bytes: &[u8]) -> Option<usize> {
    segments(bytes).1
}

/// The next marker at or after `pos` in data that may be entropy-coded:
/// its start (the `FF` right before the marker byte) and the marker byte.
/// Stuffed `FF 00` pairs and fill bytes are stepped over; `None` when the
/// data ends first.
pub(super) fn find_marker(bytes: &[u8], mut pos: usize) -> Option<(usize, u8)> {
    loop {
        let ff = pos + memchr::memchr(0xFF, bytes.get(pos..)?)?;
        let mut next = ff + 1;
        while bytes.get(next) == Some(&0xFF) {
            next += 1;
        }
        match *bytes.get(next)? {
            0x00 => pos = next + 1,
            marker => return Some((next - 1, marker)),
        }
    }
}
