//! JPEG Huffman tables (ITU T.81 Annex C): canonical codes from a DHT
//! segment's counts, a decoder with a lookup table, and the fixed tables
//! the DC-only baseline writer uses.
//!
//! Table validity follows libjpeg's rules exactly (at most 256 symbols, no
//! code of all ones, DC symbols at most 15): a table libjpeg would refuse
//! is refused here too, so the caller can leave such a file to libjpeg and
//! its error message.

use super::jpeg_bits::BitReader;

/// Bits looked up at once; longer codes take the slow path.
const LOOKAHEAD: u32 = 9;

/// The (code, length) of each symbol in table order, or `None` when the
/// counts describe an impossible table.
pub(super) fn canonical_codes(counts: &[u8; 16]) -> Option<Vec<(u16, u8)>> {
    let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
    if total > 256 {
        return None;
    }
    let mut codes = Vec::with_capacity(total);
    let mut code: u32 = 0;
    for (index, &count) in counts.iter().enumerate() {
        let length = index as u8 + 1;
        for _ in 0..count {
            codes.push((code as u16, length));
            code += 1;
        }
        // The next code must still fit: a code of all ones is not allowed.
        if count > 0 && code >= 1 << length {
            return None;
        }
        code <<= 1;
    }
    Some(codes)
}

/// Decodes the symbols of one table.
pub(super) struct Decoder {
    /// By the next LOOKAHEAD bits: (length << 8) | symbol, or 0 when the
    /// code is longer (or not a code at all).
    lookup: Vec<u16>,
    /// By length 1..=16: the largest code of that length, -1 if none.
    max_code: [i32; 17],
    /// By length: index of the first symbol of that length minus its code.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Decoder {
    /// `dc` tables may only hold symbols 0..=15 (libjpeg's rule).
    pub(super) fn new(counts: &[u8; 16], symbols: &[u8], dc: bool) -> Option<Decoder> {
        let codes = canonical_codes(counts)?;
        if codes.len() != symbols.len() || (dc && symbols.iter().any(|&s| s > 15)) {
            return None;
        }
        let mut lookup = vec![0u16; 1 << LOOKAHEAD];
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        for (index, (&(code, length), &symbol)) in codes.iter().zip(symbols).enumerate() {
            let length_u = usize::from(length);
            if max_code[length_u] < 0 {
                offset[length_u] = index as i32 - i32::from(code);
            }
            max_code[length_u] = i32::from(code);
            if u32::from(length) <= LOOKAHEAD {
                let shift = LOOKAHEAD - u32::from(length);
                let first = usize::from(code) << shift;
                for slot in &mut lookup[first..first + (1 << shift)] {
                    *slot = (u16::from(length) << 8) | u16::from(symbol);
                }
            }
        }
        Some(Decoder {
            lookup,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        })
    }

    /// The next symbol, or `None` for a bit pattern that is no code.
    #[inline]
    pub(super) fn decode(&self, bits: &mut BitReader<'_>) -> Option<u8> {
        let peek = bits.peek16();
        let entry = self.lookup[(peek >> (16 - LOOKAHEAD)) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        for length in LOOKAHEAD + 1..=16 {
            let code = (peek >> (16 - length)) as i32;
            if code <= self.max_code[length as usize] {
                bits.consume(length);
                let index = self.offset[length as usize] + code;
                return self.symbols.get(usize::try_from(index).ok()?).copied();
            }
        }
        None
    }
}

/// The DC table of ITU T.81 Annex K.3 (luminance), categories 0..=11: the
/// table the DC-only baseline stream is written with.
pub(super) const STANDARD_DC_COUNTS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
pub(super) const STANDARD_DC_SYMBOLS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// An AC table with a single symbol, end-of-block, coded as one 0 bit:
/// every block of the DC-only stream ends right after its DC value.
pub(super) const EOB_ONLY_COUNTS: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
pub(super) const EOB_ONLY_SYMBOLS: [u8; 1] = [0x00];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_dc_codes_are_annex_k() {
        let codes = canonical_codes(&STANDARD_DC_COUNTS).expect("valid");
        assert_eq!(codes[0], (0b00, 2));
        assert_eq!(codes[1], (0b010, 3));
        assert_eq!(codes[5], (0b110, 3));
        assert_eq!(codes[6], (0b1110, 4));
        assert_eq!(codes[11], (0b1_1111_1110, 9));
    }

    #[test]
    fn impossible_tables_are_refused_like_libjpeg() {
        // Two codes of length 1 use up the code space: "1" would be all ones.
        let mut counts = [0u8; 16];
        counts[0] = 2;
        assert!(canonical_codes(&counts).is_none());
        // More than 256 symbols.
        let counts = [0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0];
        assert!(canonical_codes(&counts).is_none());
        // DC symbols above 15.
        let mut counts = [0u8; 16];
        counts[1] = 1;
        assert!(Decoder::new(&counts, &[16], true).is_none());
        assert!(Decoder::new(&counts, &[16], false).is_some());
        // Fewer symbols than codes.
        assert!(Decoder::new(&STANDARD_DC_COUNTS, &[0, 1], true).is_none());
    }

    #[test]
    fn long_and_short_codes_decode() {
        // One code of each length 1..=15 (symbols 0..=14), then one of 16.
        let mut counts = [1u8; 16];
        counts[15] = 1;
        let symbols: Vec<u8> = (0..16).collect();
        let decoder = Decoder::new(&counts, &symbols, false).expect("valid");
        let codes = canonical_codes(&counts).expect("codes");
        for (symbol, &(code, length)) in codes.iter().enumerate() {
            // The code, left-aligned, then padding.
            let value = u32::from(code) << (32 - u32::from(length));
            let bytes: Vec<u8> = value
                .to_be_bytes()
                .iter()
                .flat_map(|&b| if b == 0xFF { vec![0xFF, 0x00] } else { vec![b] })
                .collect();
            let mut bits = BitReader::new(&bytes, 0);
            assert_eq!(decoder.decode(&mut bits), Some(symbol as u8), "{symbol}");
        }
        // All ones is no code.
        let mut bits = BitReader::new(&[0xFF, 0x00, 0xFF, 0x00], 0);
        assert_eq!(decoder.decode(&mut bits), None);
    }
}
