//! Images built by hand for the error tests: decompression bombs, BMP and
//! TIFF headers, long animations, incompressible PNGs.

use std::fs;
use std::path::Path;

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::CompressionType;
use image::{Delay, Frame, Rgba, RgbaImage};

use super::fixtures;

/// CRC-32 (IEEE), as PNG chunks use.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A valid zlib stream of stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A PNG that claims `width`×`height` 8-bit RGB pixels but carries only
/// the first rows' worth of a few hundred bytes: a decompression bomb as
/// far as any decoder trusting the header is concerned.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&png_chunk(b"IDAT", &zlib_stored(&[0u8; 256])));
    out.extend_from_slice(&png_chunk(b"IEND", &[]));
    out
}

/// A GIF whose logical screen claims `width`×`height` with one tiny frame.
pub fn gif_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    // Global colour table of 2 entries, background 0, no aspect ratio.
    out.extend_from_slice(&[0x80, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    // One image descriptor covering the whole screen, LZW minimum code
    // size 2, one sub-block with a clear code (4) and an end code (5).
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&[2, 1, 0x2C, 0]);
    out.push(0x3B);
    out
}

/// A real 24-bit BMP of `width`×`height` grey pixels.
pub fn bmp(width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let pixels = row * height;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(54 + pixels).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&(height as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // BI_RGB
    out.extend_from_slice(&pixels.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.resize(out.len() + pixels as usize, 0x80);
    out
}

/// A little-endian TIFF: an 8×8 8-bit greyscale strip.
pub fn tiff() -> Vec<u8> {
    let (w, h) = (8u32, 8u32);
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 4, 1, w),     // ImageWidth
        (257, 4, 1, h),     // ImageLength
        (258, 3, 1, 8),     // BitsPerSample
        (259, 3, 1, 1),     // Compression: none
        (262, 3, 1, 1),     // PhotometricInterpretation: black is zero
        (273, 4, 1, 0),     // StripOffsets, patched below
        (278, 4, 1, h),     // RowsPerStrip
        (279, 4, 1, w * h), // StripByteCounts
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let data_offset = (8 + ifd_len) as u32;
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        let value = if tag == 273 { data_offset } else { value };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.resize(out.len() + (w * h) as usize, 0x60);
    out
}

/// An animated GIF of `frames` frames of `width`×`height`, each a
/// different colour.
pub fn animated_gif(frames: usize, width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder.set_repeat(Repeat::Infinite).expect("gif repeat");
        let frames = (0..frames).map(|i| {
            let shade = (i * 37 % 200) as u8 + 30;
            let img = RgbaImage::from_pixel(width, height, Rgba([shade, 255 - shade, 90, 255]));
            Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(50, 1))
        });
        encoder.encode_frames(frames).expect("encode gif");
    }
    out
}

/// A photo-like PNG of `width`×`height` with grain (fast deflate): a few
/// MB that take a noticeable time to decode, resample and encode.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let img = fixtures::photo_pixels(width, height, 20);
    fixtures::encode_png(&image::DynamicImage::ImageRgb8(img), CompressionType::Fast)
}

/// Writes `bytes` to `dir/name`, creating `dir`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create dir");
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
