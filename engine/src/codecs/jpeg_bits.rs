//! Bit-level reading and writing of JPEG entropy-coded data: most
//! significant bit first, a 0xFF data byte stuffed as `FF 00`, and a marker
//! ending the data.

/// Reads entropy-coded data up to the next marker. Past the marker (or
/// the end of the input) it supplies zero bits, as libjpeg does, and
/// remembers that it had to: [`BitReader::overran`] tells whether any of
/// those made-up bits were used.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Unread bits, left-aligned.
    acc: u64,
    bits: u32,
    /// Zero bits appended after the data ran out.
    padding: u32,
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> BitReader<'a> {
        BitReader {
            data,
            pos,
            acc: 0,
            bits: 0,
            padding: 0,
            at_marker: false,
        }
    }

    /// The next data byte, undoing the stuffing; `None` at a marker.
    /// Like libjpeg, fill bytes (`FF FF …`) before a `00` count as one
    /// stuffed 0xFF.
    #[inline]
    fn next_byte(&mut self) -> Option<u8> {
        if self.at_marker {
            return None;
        }
        let byte = *self.data.get(self.pos)?;
        if byte != 0xFF {
            self.pos += 1;
            return Some(byte);
        }
        let mut next = self.pos + 1;
        while self.data.get(next) == Some(&0xFF) {
            next += 1;
        }
        if self.data.get(next) == Some(&0x00) {
            self.pos = next + 1;
            return Some(0xFF);
        }
        self.at_marker = true;
        None
    }

    #[inline]
    fn refill(&mut self) {
        while self.bits <= 56 {
            let byte = match self.next_byte() {
                Some(byte) => byte,
                None => {
                    self.padding += 8;
                    0
                }
            };
            self.acc |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    /// The next 16 bits without consuming them.
    #[inline]
    pub(crate) fn peek16(&mut self) -> u32 {
        if self.bits < 16 {
            self.refill();
        }
        (self.acc >> 48) as u32
    }

    /// Drops `n` (at most 16) bits already peeked at.
    #[inline]
    pub(crate) fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.bits -= n;
    }

    /// The next `n` (0..=16) bits as a number.
    #[inline]
    pub(crate) fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let value = self.peek16() >> (16 - n);
        self.consume(n);
        value
    }

    /// Whether bits from past the end of the data were used.
    pub(crate) fn overran(&self) -> bool {
        self.padding > self.bits
    }

    /// Where reading stopped: the next unread byte, or the marker.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// Writes entropy-coded data with byte stuffing.
pub(crate) struct BitWriter {
    pub out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    pub(crate) fn new(out: Vec<u8>) -> BitWriter {
        BitWriter {
            out,
            acc: 0,
            bits: 0,
        }
    }

    /// Appends the low `length` (at most 32) bits of `code`.
    #[inline]
    pub(crate) fn put(&mut self, code: u32, length: u32) {
        self.acc = (self.acc << length) | u64::from(code & ((1u64 << length) - 1) as u32);
        self.bits += length;
        while self.bits >= 8 {
            self.bits -= 8;
            let byte = (self.acc >> self.bits) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0x00);
            }
        }
    }

    /// Pads the last byte with one bits (T.81 F.1.2.3) and returns the
    /// buffer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            let pad = 8 - self.bits;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_round_trips_and_markers_end_the_data() {
        let mut writer = BitWriter::new(Vec::new());
        writer.put(0xFF, 8);
        writer.put(0b101, 3);
        writer.put(0x1234, 16);
        let mut data = writer.finish();
        assert_eq!(&data[..2], &[0xFF, 0x00]);
        data.extend_from_slice(&[0xFF, 0xD9]);
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(reader.take(8), 0xFF);
        assert_eq!(reader.take(3), 0b101);
        assert_eq!(reader.take(16), 0x1234);
        assert!(!reader.overran());
        // The padding is ones; past it come made-up zeros.
        assert_eq!(reader.take(5), 0b11111);
        assert!(!reader.overran());
        assert_eq!(reader.take(8), 0);
        assert!(reader.overran());
        assert_eq!(&data[reader.position()..], &[0xFF, 0xD9]);
    }

    #[test]
    fn fill_bytes_before_a_zero_are_one_stuffed_byte() {
        let data = [0xFF, 0xFF, 0xFF, 0x00, 0x12];
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(reader.take(16), 0xFF12);
        assert!(!reader.overran());
    }
}
