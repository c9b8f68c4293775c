//! A progressive JPEG with the scans a reduced decode does not read taken
//! out, for libjpeg-turbo to decode at 1/4 (and at 1/8 when its chroma is
//! decoded at 1/4).
//!
//! libjpeg-turbo decodes a scaled image with a reduced inverse DCT per
//! component (`jidctred.c`). Its 2×2 IDCT reads rows and columns 0, 1, 3,
//! 5 and 7 of a block, its 4×4 IDCT every row and column but 4, its 1×1
//! only the DC coefficient. So no scan is unused at 2×2 in the strict
//! sense; but the high odd frequencies it reads are the ones the final
//! Lanczos3 pass, at least 1.3× further down, filters out of the reference
//! (a full-size decode), and they are most of a file's bits. Here a
//! component decoded with the 2×2 IDCT keeps the bands up to zig-zag
//! index 4 (the DC, the first row and column frequency and their product,
//! every coefficient the 2×2 IDCT weighs most), and one decoded with the
//! 1×1 IDCT keeps the DC alone. A first AC scan that starts above that is
//! dropped, and with it every refinement scan of a band it had a part in
//! (a refinement cannot be decoded without knowing which coefficients are
//! already non-zero). The kept bands may then lack their last
//! successive-approximation bits; libjpeg treats the stream as a
//! progressive file that stopped early, as it always does (block
//! smoothing included). `tests/progressive.rs` and `tests/quality.rs`
//! hold the output to the quality bound.
//!
//! The 4×4 IDCT (1/2 scale) reads frequencies up to 7 in both directions;
//! nothing is dropped for it, and a component at full size keeps
//! everything.
//!
//! Only Huffman-coded progressive frames (SOF2) are rewritten, and only
//! when the file parses from end to end: a file cut anywhere, or with
//! more scans than libjpeg is allowed to read, goes to libjpeg whole, which
//! reports it as it always did.

use super::jpeg_markers::{find_marker, segment_at};
use super::progressive_dc::MAX_SCANS;

/// The highest zig-zag index kept for a component decoded with an
/// `size`×`size` inverse DCT, or `None` when every band is kept.
fn highest_kept(size: usize) -> Option<u8> {
    match size {
        1 => Some(0),
        2 => Some(4),
        _ => None,
    }
}

/// The inverse DCT size libjpeg-turbo uses for a component with sampling
/// factors `h`×`v` (of `h_max`×`v_max`) at 1/`reduction` (jdmaster.c:
/// doubled while the component is subsampled by a further factor of 2 in
/// both directions, up to 8).
fn idct_size(h: usize, v: usize, h_max: usize, v_max: usize, reduction: usize) -> usize {
    let least = 8 / reduction;
    let mut size = least;
    while size < 8
        && (h_max * least).is_multiple_of(h * size * 2)
        && (v_max * least).is_multiple_of(v * size * 2)
    {
        size *= 2;
    }
    size
}

/// The file without the scans a 1/`reduction` decode does not read, or
/// `None` when there is nothing to drop or the file is not one this
/// handles (see the module notes).
pub(super) fn rewrite(bytes: &[u8], reduction: u32) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) || !matches!(reduction, 2 | 4 | 8) {
        return None;
    }
    let mut components: Vec<Plan> = Vec::new();
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut dropped_any = false;
    let mut scans = 0;
    let mut pos = 2;
    loop {
        let (start, marker) = find_marker(bytes, pos)?;
        let after = start + 2;
        match marker {
            0xD9 => {
                out.extend_from_slice(&bytes[start..after]);
                return dropped_any.then_some(out);
            }
            // A stray RSTn or TEM between segments: copied, as libjpeg
            // ignores it.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[start..after]);
                pos = after;
            }
            0xD8 => return None,
            _ => {
                let (payload, end) = segment_at(bytes, after)?;
                match marker {
                    0xC2 if components.is_empty() => {
                        components = plans(payload, reduction as usize)?;
                    }
                    // Any other frame type: not this rewrite's job.
                    0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return None,
                    0xCC => return None,
                    _ => {}
                }
                if marker != 0xDA {
                    out.extend_from_slice(&bytes[start..end]);
                    pos = end;
                    continue;
                }
                scans += 1;
                if components.is_empty() || scans > MAX_SCANS {
                    return None;
                }
                // The scan's entropy-coded data runs to the next marker
                // that is not a restart marker.
                let mut data_end = end;
                let next = loop {
                    let (at, next) = find_marker(bytes, data_end)?;
                    if !(0xD0..=0xD7).contains(&next) {
                        break at;
                    }
                    data_end = at + 2;
                };
                if keep(payload, &mut components)? {
                    out.extend_from_slice(&bytes[start..next]);
                } else {
                    dropped_any = true;
                }
                pos = next;
            }
        }
    }
}

/// What is kept of one component's bands.
struct Plan {
    id: u8,
    /// `None`: everything.
    highest_kept: Option<u8>,
    /// Per zig-zag index: a first scan or a refinement of it was dropped,
    /// so later refinements of it cannot be decoded.
    incomplete: [bool; 64],
}

fn plans(frame: &[u8], reduction: usize) -> Option<Vec<Plan>> {
    let count = usize::from(*frame.get(5)?);
    if frame.first() != Some(&8) || !(1..=4).contains(&count) || frame.len() != 6 + 3 * count {
        return None;
    }
    let specs: Vec<(u8, usize, usize)> = frame[6..]
        .chunks_exact(3)
        .map(|c| (c[0], usize::from(c[1] >> 4), usize::from(c[1] & 15)))
        .collect();
    if specs
        .iter()
        .any(|&(_, h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return None;
    }
    let h_max = specs.iter().map(|s| s.1).max()?;
    let v_max = specs.iter().map(|s| s.2).max()?;
    Some(
        specs
            .iter()
            .map(|&(id, h, v)| Plan {
                id,
                highest_kept: highest_kept(idct_size(h, v, h_max, v_max, reduction)),
                incomplete: [false; 64],
            })
            .collect(),
    )
}

/// Whether the scan with this header is kept, updating the plans; `None`
/// for a header that does not parse or names an unknown component.
fn keep(header: &[u8], plans: &mut [Plan]) -> Option<bool> {
    let count = usize::from(*header.first()?);
    if count == 0 || header.len() != 4 + 2 * count {
        return None;
    }
    let ss = header[1 + 2 * count];
    let se = header[2 + 2 * count];
    let ah = header[3 + 2 * count] >> 4;
    // DC scans (and anything libjpeg would refuse) are kept; libjpeg
    // judges them.
    if ss == 0 || count != 1 || se > 63 || ss > se {
        return Some(true);
    }
    let id = header[1];
    let plan = plans.iter_mut().find(|p| p.id == id)?;
    let band = usize::from(ss)..=usize::from(se);
    let drop = if ah == 0 {
        plan.highest_kept.is_some_and(|highest| ss > highest)
    } else {
        plan.incomplete[band.clone()].iter().any(|&i| i)
    };
    if drop {
        plan.incomplete[band].iter_mut().for_each(|i| *i = true);
    }
    Some(!drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idct_sizes_follow_libjpeg() {
        // 4:2:0: luma 2×2 at 1/4, chroma 4×4; at 1/8 luma 1×1, chroma 2×2.
        assert_eq!(idct_size(2, 2, 2, 2, 4), 2);
        assert_eq!(idct_size(1, 1, 2, 2, 4), 4);
        assert_eq!(idct_size(2, 2, 2, 2, 8), 1);
        assert_eq!(idct_size(1, 1, 2, 2, 8), 2);
        // 4:2:2: chroma is subsampled one way only, so scaled like luma.
        assert_eq!(idct_size(1, 1, 2, 1, 4), 2);
        assert_eq!(idct_size(1, 1, 1, 1, 2), 4);
        assert_eq!(idct_size(1, 1, 1, 1, 1), 8);
    }

    fn sos(id: u8, ss: u8, se: u8, ah: u8, al: u8) -> Vec<u8> {
        vec![1, id, 0, ss, se, (ah << 4) | al]
    }

    #[test]
    fn bands_above_the_kept_ones_and_their_refinements_are_dropped() {
        let mut plans = vec![Plan {
            id: 1,
            highest_kept: Some(4),
            incomplete: [false; 64],
        }];
        assert_eq!(keep(&[1, 1, 0, 0, 0, 0x01], &mut plans), Some(true));
        assert_eq!(keep(&sos(1, 1, 5, 0, 2), &mut plans), Some(true));
        assert_eq!(keep(&sos(1, 6, 63, 0, 2), &mut plans), Some(false));
        // The refinement of 1..=63 needs 6..=63: dropped, and the next one.
        assert_eq!(keep(&sos(1, 1, 63, 2, 1), &mut plans), Some(false));
        assert_eq!(keep(&sos(1, 1, 63, 1, 0), &mut plans), Some(false));
        // Unknown component, cut header.
        assert_eq!(keep(&sos(9, 1, 5, 0, 0), &mut plans), None);
        assert_eq!(keep(&[1, 1, 0, 1], &mut plans), None);
    }

    #[test]
    fn full_size_components_keep_everything() {
        let mut plans = vec![Plan {
            id: 1,
            highest_kept: None,
            incomplete: [false; 64],
        }];
        assert_eq!(keep(&sos(1, 6, 63, 0, 2), &mut plans), Some(true));
        assert_eq!(keep(&sos(1, 1, 63, 2, 1), &mut plans), Some(true));
    }
}
