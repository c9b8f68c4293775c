//! A small JPEG writer for tests: quantized DCT coefficients of an image,
//! written with any scan script — sequential (baseline) or progressive
//! with spectral selection and successive approximation (ITU T.81 Annex
//! G), with or without restart markers. The same coefficients written
//! with two scripts give two files that decode to the same pixels, which
//! is what the progressive tests compare.
//!
//! Huffman tables are flat (every DC category in 4 bits, every AC symbol
//! in 8): valid for any script, not meant to be small.

#![allow(dead_code)]

use image::RgbImage;

/// `NATURAL[k]` is the row-major position of the k-th coefficient in
/// zigzag order.
const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    Grey,
    S444,
    S422,
    S440,
    S420,
}

/// One scan: frame component indexes, spectral band, bit positions.
#[derive(Debug, Clone)]
pub struct Scan {
    pub components: Vec<usize>,
    pub ss: u8,
    pub se: u8,
    pub ah: u8,
    pub al: u8,
}

pub fn scan(components: &[usize], ss: u8, se: u8, ah: u8, al: u8) -> Scan {
    Scan {
        components: components.to_vec(),
        ss,
        se,
        ah,
        al,
    }
}

/// One interleaved scan of everything: a baseline JPEG.
pub fn sequential(components: usize) -> Vec<Scan> {
    let all: Vec<usize> = (0..components).collect();
    vec![scan(&all, 0, 63, 0, 0)]
}

/// libjpeg's `jpeg_simple_progression` (what cjpeg -progressive and
/// TurboJPEG write): DC with successive approximation, luma AC split at 5,
/// two refinement passes.
pub fn libjpeg_default(components: usize) -> Vec<Scan> {
    if components == 1 {
        return vec![
            scan(&[0], 0, 0, 0, 1),
            scan(&[0], 1, 5, 0, 2),
            scan(&[0], 6, 63, 0, 2),
            scan(&[0], 1, 63, 2, 1),
            scan(&[0], 0, 0, 1, 0),
            scan(&[0], 1, 63, 1, 0),
        ];
    }
    vec![
        scan(&[0, 1, 2], 0, 0, 0, 1),
        scan(&[0], 1, 5, 0, 2),
        scan(&[2], 1, 63, 0, 1),
        scan(&[1], 1, 63, 0, 1),
        scan(&[0], 6, 63, 0, 2),
        scan(&[0], 1, 63, 2, 1),
        scan(&[0, 1, 2], 0, 0, 1, 0),
        scan(&[2], 1, 63, 1, 0),
        scan(&[1], 1, 63, 1, 0),
        scan(&[0], 1, 63, 1, 0),
    ]
}

/// mozjpeg's script for its "max compression" profile (jcparam.c, one DC
/// scan per component): full-precision DC without interleaving, AC split
/// at 8, luma AC with two refinement passes.
pub fn mozjpeg_style(components: usize) -> Vec<Scan> {
    if components == 1 {
        return vec![
            scan(&[0], 0, 0, 0, 0),
            scan(&[0], 1, 8, 0, 2),
            scan(&[0], 9, 63, 0, 2),
            scan(&[0], 1, 63, 2, 1),
            scan(&[0], 1, 63, 1, 0),
        ];
    }
    vec![
        scan(&[0], 0, 0, 0, 0),
        scan(&[1], 0, 0, 0, 0),
        scan(&[2], 0, 0, 0, 0),
        scan(&[0], 1, 8, 0, 2),
        scan(&[1], 1, 8, 0, 0),
        scan(&[2], 1, 8, 0, 0),
        scan(&[0], 9, 63, 0, 2),
        scan(&[0], 1, 63, 2, 1),
        scan(&[0], 1, 63, 1, 0),
        scan(&[1], 9, 63, 0, 0),
        scan(&[2], 9, 63, 0, 0),
    ]
}

/// Spectral selection only, one coefficient band at a time, DC refined in
/// three steps.
pub fn fine_bands(components: usize) -> Vec<Scan> {
    let all: Vec<usize> = (0..components).collect();
    let mut scans = vec![scan(&all, 0, 0, 0, 2)];
    for c in 0..components {
        scans.push(scan(&[c], 1, 2, 0, 0));
    }
    scans.push(scan(&all, 0, 0, 2, 1));
    for c in 0..components {
        scans.push(scan(&[c], 3, 20, 0, 0));
        scans.push(scan(&[c], 21, 63, 0, 0));
    }
    scans.push(scan(&all, 0, 0, 1, 0));
    scans
}

pub struct Component {
    pub h: usize,
    pub v: usize,
    pub table: usize,
    /// Padded grid (whole MCUs when there are several components).
    pub stride: usize,
    pub rows: usize,
    pub blocks_x: usize,
    pub blocks_y: usize,
    /// Quantized coefficients per block, zigzag order.
    pub blocks: Vec<[i32; 64]>,
}

pub struct Coefficients {
    pub width: usize,
    pub height: usize,
    pub components: Vec<Component>,
    pub mcus_x: usize,
    pub mcus_y: usize,
    /// Zigzag order.
    pub quant: Vec<[u16; 64]>,
}

/// Forward DCT (orthonormal, as T.81 A.3.3) of 8×8 level-shifted samples.
fn fdct(samples: &[f64; 64]) -> [f64; 64] {
    let c = |u: usize| if u == 0 { (0.5f64).sqrt() } else { 1.0 };
    let mut cos = [[0.0; 8]; 8];
    for (x, row) in cos.iter_mut().enumerate() {
        for (u, value) in row.iter_mut().enumerate() {
            *value = (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos();
        }
    }
    let mut rows = [0.0; 64];
    for y in 0..8 {
        for u in 0..8 {
            rows[y * 8 + u] =
                (0..8).map(|x| samples[y * 8 + x] * cos[x][u]).sum::<f64>() * c(u) / 2.0;
        }
    }
    let mut out = [0.0; 64];
    for v in 0..8 {
        for u in 0..8 {
            out[v * 8 + u] = (0..8).map(|y| rows[y * 8 + u] * cos[y][v]).sum::<f64>() * c(v) / 2.0;
        }
    }
    out
}

/// The coefficients of `image` with the given subsampling. Quantization
/// tables grow with frequency, like an encoder's at quality ~85.
pub fn coefficients(image: &RgbImage, sampling: Sampling) -> Coefficients {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let factors: Vec<(usize, usize)> = match sampling {
        Sampling::Grey => vec![(1, 1)],
        Sampling::S444 => vec![(1, 1), (1, 1), (1, 1)],
        Sampling::S422 => vec![(2, 1), (1, 1), (1, 1)],
        Sampling::S440 => vec![(1, 2), (1, 1), (1, 1)],
        Sampling::S420 => vec![(2, 2), (1, 1), (1, 1)],
    };
    let h_max = factors.iter().map(|f| f.0).max().unwrap();
    let v_max = factors.iter().map(|f| f.1).max().unwrap();
    let mcus_x = width.div_ceil(8 * h_max);
    let mcus_y = height.div_ceil(8 * v_max);
    let quant = vec![
        std::array::from_fn(|k| 3 + (k as u16) / 3),
        std::array::from_fn(|k| 5 + (k as u16) / 2),
    ];
    // Full-resolution planes (JFIF YCbCr).
    let plane = |index: usize| -> Vec<f64> {
        image
            .pixels()
            .map(|p| {
                let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
                match (sampling, index) {
                    (Sampling::Grey, _) | (_, 0) => 0.299 * r + 0.587 * g + 0.114 * b,
                    (_, 1) => -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0,
                    _ => 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0,
                }
            })
            .collect()
    };
    let components = factors
        .iter()
        .enumerate()
        .map(|(index, &(h, v))| {
            let full = plane(index);
            let (sx, sy) = (h_max / h, v_max / v);
            let comp_w = (width * h).div_ceil(h_max);
            let comp_h = (height * v).div_ceil(v_max);
            // Subsampled by averaging, then edges extended.
            let sample = |x: usize, y: usize| -> f64 {
                let (x, y) = (x.min(comp_w - 1), y.min(comp_h - 1));
                let mut sum = 0.0;
                let mut n = 0.0;
                for dy in 0..sy {
                    for dx in 0..sx {
                        let (fx, fy) =
                            ((x * sx + dx).min(width - 1), (y * sy + dy).min(height - 1));
                        sum += full[fy * width + fx];
                        n += 1.0;
                    }
                }
                sum / n
            };
            let blocks_x = comp_w.div_ceil(8);
            let blocks_y = comp_h.div_ceil(8);
            let (stride, rows) = if factors.len() == 1 {
                (blocks_x, blocks_y)
            } else {
                (mcus_x * h, mcus_y * v)
            };
            let table = usize::from(index > 0);
            let mut blocks = Vec::with_capacity(stride * rows);
            for by in 0..rows {
                for bx in 0..stride {
                    let mut samples = [0.0; 64];
                    for y in 0..8 {
                        for x in 0..8 {
                            samples[y * 8 + x] = sample(bx * 8 + x, by * 8 + y) - 128.0;
                        }
                    }
                    let dct = fdct(&samples);
                    let block: [i32; 64] = std::array::from_fn(|k| {
                        (dct[NATURAL[k]] / f64::from(quant[table][k])).round() as i32
                    });
                    blocks.push(block);
                }
            }
            Component {
                h,
                v,
                table,
                stride,
                rows,
                blocks_x,
                blocks_y,
                blocks,
            }
        })
        .collect();
    Coefficients {
        width,
        height,
        components,
        mcus_x,
        mcus_y,
        quant,
    }
}

struct Bits {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl Bits {
    fn put(&mut self, value: u32, length: u32) {
        if length == 0 {
            return;
        }
        self.acc = (self.acc << length) | u64::from(value & ((1u64 << length) - 1) as u32);
        self.count += length;
        while self.count >= 8 {
            self.count -= 8;
            let byte = (self.acc >> self.count) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    fn flush(&mut self) {
        if self.count > 0 {
            let pad = 8 - self.count;
            self.put((1 << pad) - 1, pad);
        }
    }

    /// DC table: category c is the 4-bit code c.
    fn dc_symbol(&mut self, category: u32) {
        self.put(category, 4);
    }

    /// AC table: symbol s is the 8-bit code s (0xFF is not used).
    fn ac_symbol(&mut self, symbol: u32) {
        assert!(symbol < 0xFF);
        self.put(symbol, 8);
    }
}

fn category(value: i32) -> u32 {
    32 - value.unsigned_abs().leading_zeros()
}

/// The magnitude bits of `value` in `size` bits (T.81 F.1.2.1).
fn magnitude(value: i32, size: u32) -> u32 {
    (if value < 0 { value - 1 } else { value }) as u32 & ((1u32 << size) - 1)
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Writes the coefficients with `scans`; SOF2 if `progressive`, else SOF0
/// (then the script must be [`sequential`]). `restart` is the restart
/// interval in MCUs (0: none).
pub fn write(coefs: &Coefficients, scans: &[Scan], progressive: bool, restart: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    for (index, table) in coefs.quant.iter().enumerate() {
        let mut payload = vec![index as u8];
        payload.extend(table.iter().map(|&q| q as u8));
        segment(&mut out, 0xDB, &payload);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&(coefs.height as u16).to_be_bytes());
    sof.extend_from_slice(&(coefs.width as u16).to_be_bytes());
    sof.push(coefs.components.len() as u8);
    for (index, c) in coefs.components.iter().enumerate() {
        sof.extend_from_slice(&[
            index as u8 + 1,
            ((c.h as u8) << 4) | c.v as u8,
            c.table as u8,
        ]);
    }
    segment(&mut out, if progressive { 0xC2 } else { 0xC0 }, &sof);
    let mut dht = vec![0x00];
    let mut counts = [0u8; 16];
    counts[3] = 12;
    dht.extend_from_slice(&counts);
    dht.extend(0..12u8);
    dht.push(0x10);
    let mut counts = [0u8; 16];
    counts[7] = 255;
    dht.extend_from_slice(&counts);
    dht.extend(0..255u8);
    segment(&mut out, 0xC4, &dht);
    if restart > 0 {
        segment(&mut out, 0xDD, &restart.to_be_bytes());
    }
    for s in scans {
        let mut sos = vec![s.components.len() as u8];
        for &c in &s.components {
            sos.extend_from_slice(&[c as u8 + 1, 0x00]);
        }
        sos.extend_from_slice(&[s.ss, s.se, (s.ah << 4) | s.al]);
        segment(&mut out, 0xDA, &sos);
        out = write_scan(coefs, s, restart as usize, out);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn write_scan(coefs: &Coefficients, s: &Scan, restart: usize, out: Vec<u8>) -> Vec<u8> {
    let mut bits = Bits {
        out,
        acc: 0,
        count: 0,
    };
    let interleaved = s.components.len() > 1;
    let (mcus_x, mcus_y) = if interleaved {
        (coefs.mcus_x, coefs.mcus_y)
    } else {
        let c = &coefs.components[s.components[0]];
        (c.blocks_x, c.blocks_y)
    };
    let total = mcus_x * mcus_y;
    let mut predictions = [0i32; 4];
    let mut marker = 0u8;
    for m in 0..total {
        if restart > 0 && m > 0 && m % restart == 0 {
            bits.flush();
            bits.out.extend_from_slice(&[0xFF, 0xD0 + marker]);
            marker = (marker + 1) & 7;
            predictions = [0; 4];
        }
        let (mx, my) = (m % mcus_x, m / mcus_x);
        for (k, &index) in s.components.iter().enumerate() {
            let c = &coefs.components[index];
            let (bw, bh) = if interleaved { (c.h, c.v) } else { (1, 1) };
            for by in 0..bh {
                for bx in 0..bw {
                    let block = &c.blocks[(my * bh + by) * c.stride + mx * bw + bx];
                    encode_block(&mut bits, block, s, &mut predictions[k]);
                }
            }
        }
    }
    bits.flush();
    bits.out
}

fn encode_block(bits: &mut Bits, block: &[i32; 64], s: &Scan, prediction: &mut i32) {
    let al = u32::from(s.al);
    if s.ss == 0 {
        if s.ah == 0 {
            let value = block[0] >> al;
            let diff = value - *prediction;
            *prediction = value;
            let size = category(diff);
            bits.dc_symbol(size);
            bits.put(magnitude(diff, size), size);
        } else {
            bits.put(((block[0] >> al) & 1) as u32, 1);
        }
        if s.se == 0 {
            return;
        }
    }
    let first = usize::from(s.ss.max(1));
    let last = usize::from(s.se);
    if s.ah == 0 {
        // First pass of a band (or the AC part of a sequential block).
        let mut run = 0u32;
        for &value in &block[first..=last] {
            let shifted = if value < 0 {
                -((-value) >> al)
            } else {
                value >> al
            };
            if shifted == 0 {
                run += 1;
                continue;
            }
            while run > 15 {
                bits.ac_symbol(0xF0);
                run -= 16;
            }
            let size = category(shifted);
            bits.ac_symbol((run << 4) | size);
            bits.put(magnitude(shifted, size), size);
            run = 0;
        }
        if run > 0 {
            bits.ac_symbol(0x00);
        }
        return;
    }
    // Refinement (T.81 G.1.2.3), one end-of-block per block.
    let magnitudes: Vec<u32> = block[first..=last]
        .iter()
        .map(|v| v.unsigned_abs() >> al)
        .collect();
    let last_new = magnitudes.iter().rposition(|&m| m == 1);
    let mut run = 0u32;
    let mut corrections: Vec<u32> = Vec::new();
    for (i, &m) in magnitudes.iter().enumerate() {
        if m == 0 {
            run += 1;
            continue;
        }
        while run > 15 && last_new.is_some_and(|l| i <= l) {
            bits.ac_symbol(0xF0);
            run -= 16;
            for bit in corrections.drain(..) {
                bits.put(bit, 1);
            }
        }
        if m > 1 {
            corrections.push(m & 1);
            continue;
        }
        bits.ac_symbol((run << 4) | 1);
        bits.put(u32::from(block[first + i] >= 0), 1);
        for bit in corrections.drain(..) {
            bits.put(bit, 1);
        }
        run = 0;
    }
    if run > 0 || !corrections.is_empty() {
        bits.ac_symbol(0x00);
        for bit in corrections.drain(..) {
            bits.put(bit, 1);
        }
    }
}
