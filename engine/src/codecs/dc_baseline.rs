//! A progressive JPEG rewritten as a small baseline JPEG that holds only
//! its DC coefficients, for libjpeg-turbo to decode at 1/8 scale.
//!
//! At 1/8 scale libjpeg's inverse DCT turns each block into one pixel from
//! its DC coefficient alone, so the rewritten stream decodes to the same
//! pixels as the original (where chroma is decoded at 1/8 too: with 4:2:0
//! subsampling libjpeg scales chroma by 1/4 instead, with a 2×2 inverse
//! DCT that also reads a few AC coefficients; those come out flat here).
//! Being baseline, it is decoded one row of blocks at a time: no
//! whole-image coefficient buffer, which is what makes progressive files
//! expensive in memory. Upsampling and colour conversion stay libjpeg's.
//!
//! The stream: SOI, the JFIF/Adobe segments (the colour space), one
//! quantization table per component (as latched), SOF0 with the original
//! size, sampling factors and component ids, the standard DC table and an
//! AC table whose only code is end-of-block, one scan, EOI.

use super::jpeg_bits::BitWriter;
use super::jpeg_huffman::{
    canonical_codes, EOB_ONLY_COUNTS, EOB_ONLY_SYMBOLS, STANDARD_DC_COUNTS, STANDARD_DC_SYMBOLS,
};
use super::progressive_dc::{self, Frame};

/// The largest DC difference category the standard table codes.
const MAX_CATEGORY: u32 = 11;

/// Most blocks in one MCU of a baseline scan (libjpeg's limit).
const MAX_BLOCKS_IN_MCU: usize = 10;

/// The DC-only baseline twin of a progressive JPEG, or `None` when the
/// file is not progressive or anything about it is unusual (then the
/// caller decodes the original). `chroma_at_quarter` allows frames whose
/// chroma libjpeg would decode at 1/4 (4:2:0), which then lose the AC
/// detail of that chroma.
pub(super) fn rewrite(bytes: &[u8], chroma_at_quarter: bool) -> Option<Vec<u8>> {
    let frame = progressive_dc::read(bytes)?;
    if !chroma_at_quarter && chroma_decoded_larger(&frame) {
        return None;
    }
    write(bytes, &frame)
}

/// Whether libjpeg-turbo decodes some component at 1/8 with a larger
/// inverse DCT than 1×1 (jdmaster.c doubles it while the component is
/// subsampled by a further factor of 2 in both directions): then it reads
/// AC coefficients at 1/8 too.
fn chroma_decoded_larger(frame: &Frame) -> bool {
    let h_max = frame.components.iter().map(|c| c.h).max().unwrap_or(1);
    let v_max = frame.components.iter().map(|c| c.v).max().unwrap_or(1);
    frame
        .components
        .iter()
        .any(|c| h_max % (2 * c.h) == 0 && v_max % (2 * c.v) == 0)
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) -> Option<()> {
    let length = u16::try_from(payload.len() + 2).ok()?;
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    Some(())
}

fn write(bytes: &[u8], frame: &Frame) -> Option<Vec<u8>> {
    let components = &frame.components;
    let blocks: usize = components.iter().map(|c| c.dc.len()).sum();
    if components.len() > 1
        && components.iter().map(|c| c.h * c.v).sum::<usize>() > MAX_BLOCKS_IN_MCU
    {
        return None;
    }
    // About six bits per block.
    let mut out = Vec::with_capacity(blocks + 1024);
    out.extend_from_slice(&[0xFF, 0xD8]);
    for range in &frame.colour_segments {
        out.extend_from_slice(bytes.get(range.clone())?);
    }
    for (index, component) in components.iter().enumerate() {
        let table = component.quant?;
        let mut payload = vec![(u8::from(table.wide) << 4) | index as u8];
        for value in table.values {
            if table.wide {
                payload.extend_from_slice(&value.to_be_bytes());
            } else {
                payload.push(value as u8);
            }
        }
        segment(&mut out, 0xDB, &payload)?;
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&frame.height.to_be_bytes());
    sof.extend_from_slice(&frame.width.to_be_bytes());
    sof.push(components.len() as u8);
    for (index, component) in components.iter().enumerate() {
        sof.extend_from_slice(&[
            component.id,
            ((component.h as u8) << 4) | component.v as u8,
            index as u8,
        ]);
    }
    segment(&mut out, 0xC0, &sof)?;
    let mut dht = vec![0x00];
    dht.extend_from_slice(&STANDARD_DC_COUNTS);
    dht.extend_from_slice(&STANDARD_DC_SYMBOLS);
    dht.push(0x10);
    dht.extend_from_slice(&EOB_ONLY_COUNTS);
    dht.extend_from_slice(&EOB_ONLY_SYMBOLS);
    segment(&mut out, 0xC4, &dht)?;
    let mut sos = vec![components.len() as u8];
    for component in components {
        sos.extend_from_slice(&[component.id, 0x00]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(&mut out, 0xDA, &sos)?;

    let dc_codes = canonical_codes(&STANDARD_DC_COUNTS)?;
    let mut bits = BitWriter::new(out);
    let mut predictions = [0i32; 4];
    let mut put_block = |bits: &mut BitWriter, k: usize, value: i16| -> Option<()> {
        let diff = i32::from(value) - predictions[k];
        predictions[k] = i32::from(value);
        let category = 32 - diff.unsigned_abs().leading_zeros();
        if category > MAX_CATEGORY {
            return None;
        }
        let (code, length) = dc_codes[category as usize];
        // Negative differences are sent as diff - 1 in `category` bits.
        let extra = if diff < 0 { diff - 1 } else { diff } as u32;
        bits.put(
            (u32::from(code) << category) | (extra & ((1 << category) - 1)),
            u32::from(length) + category,
        );
        // End of block: the AC table's single one-bit code.
        bits.put(0, 1);
        Some(())
    };
    if components.len() == 1 {
        let component = &components[0];
        for y in 0..component.blocks_y {
            for x in 0..component.blocks_x {
                put_block(&mut bits, 0, component.dc[y * component.stride + x])?;
            }
        }
    } else {
        for my in 0..frame.mcus_y {
            for mx in 0..frame.mcus_x {
                for (k, component) in components.iter().enumerate() {
                    for by in 0..component.v {
                        let row = (my * component.v + by) * component.stride + mx * component.h;
                        for bx in 0..component.h {
                            put_block(&mut bits, k, component.dc[row + bx])?;
                        }
                    }
                }
            }
        }
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
}
