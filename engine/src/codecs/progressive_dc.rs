//! The DC coefficients of a progressive JPEG, and nothing else.
//!
//! Decoded at 1/8 scale, each 8×8 block becomes one pixel whose value is
//! the block's DC coefficient (libjpeg's 1×1 inverse DCT reads nothing
//! else). A progressive file sends the DC coefficients in their own scans,
//! first and cheap; the AC scans that follow carry nearly all of the data
//! and, at this scale, nothing the output uses. This reader decodes the DC
//! scans, steps over the AC scans by looking for the next marker, and
//! keeps one number per block instead of libjpeg's 64.
//!
//! It gives up (`None`) on anything it does not handle exactly as libjpeg
//! would: damaged entropy data, a file that ends early, odd progressions,
//! undefined tables, arithmetic coding. The caller then hands the file to
//! libjpeg, whose full decode reports the problem or recovers from it the
//! way it always did.

use std::ops::Range;

use super::be16;
use super::jpeg_bits::BitReader;
use super::jpeg_huffman::{canonical_codes, Decoder};
use super::jpeg_markers::{find_marker, segment_at};

/// Most scans read. The same cap libjpeg is given (see `turbo.rs`): past
/// it the file goes to libjpeg, which refuses it.
pub(super) const MAX_SCANS: usize = 500;

/// Largest DC prediction accepted (any 8-bit JPEG stays far below).
const MAX_DC: i32 = 1 << 15;

/// A quantization table as the file stores it (zigzag order).
#[derive(Clone, Copy)]
pub(super) struct QuantTable {
    pub values: [u16; 64],
    /// Stored with 16-bit entries.
    pub wide: bool,
}

pub(super) struct Component {
    pub id: u8,
    pub h: usize,
    pub v: usize,
    /// The table in force at the component's first scan (libjpeg latches
    /// it then).
    pub quant: Option<QuantTable>,
    /// The quantization table the frame header names (0..=3).
    table: usize,
    /// Blocks that hold image data.
    pub blocks_x: usize,
    pub blocks_y: usize,
    /// The stored grid: padded to whole MCUs when the frame has several
    /// components.
    pub stride: usize,
    /// One DC coefficient per block, row by row.
    pub dc: Vec<i16>,
    /// The successive-approximation bit position reached: -1 before the
    /// first DC scan.
    dc_bit: i32,
}

/// A progressive frame reduced to its DC coefficients.
pub(super) struct Frame {
    pub width: u16,
    pub height: u16,
    pub components: Vec<Component>,
    pub mcus_x: usize,
    pub mcus_y: usize,
    /// The JFIF (APP0) and Adobe (APP14) segments before the first scan,
    /// marker included: libjpeg infers the colour space from them.
    pub colour_segments: Vec<Range<usize>>,
}

/// Reads the DC coefficients of a progressive (SOF2, Huffman-coded)
/// JPEG; `None` for any other file and for anything unusual (see the
/// module notes).
pub(super) fn read(bytes: &[u8]) -> Option<Frame> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut reader = Reader {
        bytes,
        quant: [None; 4],
        dc_tables: [None, None, None, None],
        ac_tables: [false; 4],
        restart_interval: 0,
        frame: None,
        colour_segments: Vec::new(),
        scans: 0,
    };
    let mut pos = 2;
    loop {
        let (start, marker) = find_marker(bytes, pos)?;
        let after = start + 2;
        match marker {
            // Parameterless markers between segments are ignored, as
            // libjpeg does; a second SOI is an error there.
            0x01 | 0xD0..=0xD7 => pos = after,
            0xD9 => return reader.finish(),
            0xDA => pos = reader.scan(after)?,
            0xD8 => return None,
            _ => {
                let (payload, end) = segment_at(bytes, after)?;
                match marker {
                    0xC2 => reader.frame(payload)?,
                    0xC4 => reader.huffman(payload)?,
                    0xDB => reader.quantization(payload)?,
                    0xDD => reader.restart_interval = usize::from(be16(payload, 0)?),
                    // Other frame types, DAC, DNL: not this reader's job.
                    0xC0..=0xCF | 0xDC => return None,
                    0xE0 | 0xEE if reader.scans == 0 => reader.colour_segments.push(start..end),
                    _ => {}
                }
                pos = end;
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    quant: [Option<QuantTable>; 4],
    dc_tables: [Option<Decoder>; 4],
    /// Which AC tables are defined (and valid); their codes are never
    /// needed.
    ac_tables: [bool; 4],
    restart_interval: usize,
    frame: Option<Frame>,
    colour_segments: Vec<Range<usize>>,
    scans: usize,
}

/// What a scan header says.
struct ScanHeader {
    /// Indexes into the frame's components.
    components: Vec<usize>,
    dc_tables: Vec<usize>,
    ac_tables: Vec<usize>,
    ss: u8,
    se: u8,
    ah: u8,
    al: u8,
}

impl Reader<'_> {
    fn frame(&mut self, payload: &[u8]) -> Option<()> {
        if self.frame.is_some() || payload.len() < 6 || payload[0] != 8 {
            return None;
        }
        let height = be16(payload, 1)?;
        let width = be16(payload, 3)?;
        let count = usize::from(payload[5]);
        if width == 0 || height == 0 || !(1..=4).contains(&count) || payload.len() != 6 + 3 * count
        {
            return None;
        }
        let specs: Vec<(u8, usize, usize, usize)> = payload[6..]
            .chunks_exact(3)
            .map(|c| {
                (
                    c[0],
                    usize::from(c[1] >> 4),
                    usize::from(c[1] & 15),
                    usize::from(c[2]),
                )
            })
            .collect();
        if specs
            .iter()
            .any(|&(_, h, v, t)| !(1..=4).contains(&h) || !(1..=4).contains(&v) || t >= 4)
        {
            return None;
        }
        let ids: Vec<u8> = specs.iter().map(|s| s.0).collect();
        if (1..ids.len()).any(|i| ids[..i].contains(&ids[i])) {
            return None;
        }
        let h_max = specs.iter().map(|s| s.1).max()?;
        let v_max = specs.iter().map(|s| s.2).max()?;
        let (width_u, height_u) = (usize::from(width), usize::from(height));
        let mcus_x = width_u.div_ceil(8 * h_max);
        let mcus_y = height_u.div_ceil(8 * v_max);
        let components = specs
            .iter()
            .map(|&(id, h, v, table)| {
                let blocks_x = (width_u * h).div_ceil(8 * h_max);
                let blocks_y = (height_u * v).div_ceil(8 * v_max);
                let (stride, rows) = if count == 1 {
                    (blocks_x, blocks_y)
                } else {
                    (mcus_x * h, mcus_y * v)
                };
                Component {
                    id,
                    h,
                    v,
                    quant: None,
                    table,
                    blocks_x,
                    blocks_y,
                    stride,
                    dc: vec![0; stride * rows],
                    dc_bit: -1,
                }
            })
            .collect();
        self.frame = Some(Frame {
            width,
            height,
            components,
            mcus_x,
            mcus_y,
            colour_segments: Vec::new(),
        });
        Some(())
    }

    fn huffman(&mut self, mut payload: &[u8]) -> Option<()> {
        while !payload.is_empty() {
            let class = payload[0] >> 4;
            let index = usize::from(payload[0] & 15);
            let counts: [u8; 16] = payload.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
            let symbols = payload.get(17..17 + total)?;
            if index >= 4 {
                return None;
            }
            match class {
                0 => self.dc_tables[index] = Some(Decoder::new(&counts, symbols, true)?),
                1 => {
                    canonical_codes(&counts)?;
                    self.ac_tables[index] = true;
                }
                _ => return None,
            }
            payload = &payload[17 + total..];
        }
        Some(())
    }

    fn quantization(&mut self, mut payload: &[u8]) -> Option<()> {
        while !payload.is_empty() {
            let wide = payload[0] >> 4;
            let index = usize::from(payload[0] & 15);
            if index >= 4 || wide > 1 {
                return None;
            }
            let size = if wide == 1 { 128 } else { 64 };
            let data = payload.get(1..1 + size)?;
            let mut values = [0u16; 64];
            for (k, value) in values.iter_mut().enumerate() {
                *value = if wide == 1 {
                    u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
                } else {
                    u16::from(data[k])
                };
            }
            self.quant[index] = Some(QuantTable {
                values,
                wide: wide == 1,
            });
            payload = &payload[1 + size..];
        }
        Some(())
    }

    fn scan_header(&self, pos: usize) -> Option<(ScanHeader, usize)> {
        let frame = self.frame.as_ref()?;
        let length = usize::from(be16(self.bytes, pos)?);
        let payload = self.bytes.get(pos + 2..pos + length)?;
        let count = usize::from(*payload.first()?);
        if !(1..=4).contains(&count) || length != 2 * count + 6 {
            return None;
        }
        let mut header = ScanHeader {
            components: Vec::with_capacity(count),
            dc_tables: Vec::with_capacity(count),
            ac_tables: Vec::with_capacity(count),
            ss: payload[1 + 2 * count],
            se: payload[2 + 2 * count],
            ah: payload[3 + 2 * count] >> 4,
            al: payload[3 + 2 * count] & 15,
        };
        for pair in payload[1..1 + 2 * count].chunks_exact(2) {
            let index = frame.components.iter().position(|c| c.id == pair[0])?;
            if header.components.contains(&index) {
                return None;
            }
            header.components.push(index);
            header.dc_tables.push(usize::from(pair[1] >> 4));
            header.ac_tables.push(usize::from(pair[1] & 15));
        }
        Some((header, pos + length))
    }

    /// Reads one scan starting at its header; returns where its data ends.
    fn scan(&mut self, pos: usize) -> Option<usize> {
        self.scans += 1;
        if self.scans > MAX_SCANS {
            return None;
        }
        let (scan, data) = self.scan_header(pos)?;
        let frame = self.frame.as_mut()?;
        let is_dc = scan.ss == 0;
        // libjpeg's checks of the progression parameters: failing any is
        // a fatal error there.
        let bad = if is_dc {
            scan.se != 0
        } else {
            scan.ss > scan.se || scan.se > 63 || scan.components.len() != 1
        } || (scan.ah != 0 && scan.al + 1 != scan.ah)
            || scan.al > 13;
        let blocks_in_mcu: usize = scan
            .components
            .iter()
            .map(|&i| frame.components[i].h * frame.components[i].v)
            .sum();
        if bad || (scan.components.len() > 1 && blocks_in_mcu > 10) {
            return None;
        }
        // Quantization tables are latched at a component's first scan.
        for &index in &scan.components {
            let component = &mut frame.components[index];
            if component.quant.is_none() {
                component.quant = Some(self.quant[component.table]?);
            }
        }
        if !is_dc {
            if scan.ac_tables.iter().any(|&t| t >= 4 || !self.ac_tables[t]) {
                return None;
            }
            return skip_entropy_data(self.bytes, data);
        }
        // A DC scan: the first one of each component, then refinements
        // of one bit each, in order; anything else libjpeg only warns
        // about, and is left to it.
        for &index in &scan.components {
            let component = &mut frame.components[index];
            let expected = if scan.ah == 0 { -1 } else { i32::from(scan.ah) };
            if component.dc_bit != expected {
                return None;
            }
            component.dc_bit = i32::from(scan.al);
        }
        let decoders = if scan.ah == 0 {
            let mut decoders = Vec::with_capacity(scan.dc_tables.len());
            for &table in &scan.dc_tables {
                decoders.push(self.dc_tables.get(table)?.as_ref()?);
            }
            decoders
        } else {
            Vec::new()
        };
        decode_dc_scan(
            self.bytes,
            data,
            frame,
            &scan,
            &decoders,
            self.restart_interval,
        )
    }

    fn finish(mut self) -> Option<Frame> {
        let mut frame = self.frame.take()?;
        if frame.components.iter().any(|c| c.dc_bit < 0) {
            return None;
        }
        frame.colour_segments = std::mem::take(&mut self.colour_segments);
        Some(frame)
    }
}

/// Steps over an AC scan's data (restart markers included) to the marker
/// that follows it.
fn skip_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let (start, marker) = find_marker(bytes, pos)?;
        if !(0xD0..=0xD7).contains(&marker) {
            return Some(start);
        }
        pos = start + 2;
    }
}

/// Decodes a DC scan (first or refinement) into the components' grids.
fn decode_dc_scan(
    bytes: &[u8],
    mut pos: usize,
    frame: &mut Frame,
    scan: &ScanHeader,
    decoders: &[&Decoder],
    restart_interval: usize,
) -> Option<usize> {
    let interleaved = scan.components.len() > 1;
    let (mcus_x, mcus_y) = if interleaved {
        (frame.mcus_x, frame.mcus_y)
    } else {
        let component = &frame.components[scan.components[0]];
        (component.blocks_x, component.blocks_y)
    };
    let total = mcus_x * mcus_y;
    let interval = if restart_interval > 0 {
        restart_interval
    } else {
        total
    };
    let refine_bit = 1i16 << scan.al;
    let mut mcu = 0;
    let mut restart = 0u8;
    while mcu < total {
        let end = (mcu + interval).min(total);
        let mut bits = BitReader::new(bytes, pos);
        let mut prediction = [0i32; 4];
        for m in mcu..end {
            let (mx, my) = (m % mcus_x, m / mcus_x);
            for (k, &index) in scan.components.iter().enumerate() {
                let component = &mut frame.components[index];
                let (bw, bh) = if interleaved {
                    (component.h, component.v)
                } else {
                    (1, 1)
                };
                for by in 0..bh {
                    let row = (my * bh + by) * component.stride + mx * bw;
                    for bx in 0..bw {
                        let slot = &mut component.dc[row + bx];
                        if scan.ah == 0 {
                            let size = u32::from(decoders[k].decode(&mut bits)?);
                            let diff = extend(bits.take(size), size);
                            prediction[k] += diff;
                            if prediction[k].abs() > MAX_DC {
                                return None;
                            }
                            // As libjpeg: shifted, then stored as a JCOEF.
                            *slot = (prediction[k] << scan.al) as i16;
                        } else if bits.take(1) == 1 {
                            *slot |= refine_bit;
                        }
                    }
                }
            }
        }
        if bits.overran() {
            return None;
        }
        pos = bits.position();
        mcu = end;
        if mcu < total {
            let (start, marker) = find_marker(bytes, pos)?;
            if marker != 0xD0 + restart {
                return None;
            }
            restart = (restart + 1) & 7;
            pos = start + 2;
        }
    }
    Some(pos)
}

/// T.81 F.2.2.1: the `size`-bit value `bits` as a signed difference.
#[inline]
fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        return 0;
    }
    let value = bits as i32;
    if value < 1 << (size - 1) {
        value - (1 << size) + 1
    } else {
        value
    }
}
