//! Images made in memory for the integration tests, and small helpers.

#![allow(dead_code)] // each test file uses its own subset

use std::io::Cursor;
use std::sync::atomic::AtomicBool;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{
    Delay, DynamicImage, ExtendedColorType, Frame, ImageBuffer, ImageEncoder, Luma, Rgb, Rgba,
};

use image_engine::{process, Control, Error, ImageFormat, Limits, Output, Transform};

/// A photo of the benchmark corpus kept beside the repository
/// (`../shared/corpus`), or `None` with a note when it is absent, so that a
/// fresh clone still passes.
pub fn corpus(name: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("skipping {name}: ../shared/corpus is not present beside the repository");
            None
        }
    }
}

/// Not cancelled, no deadline.
pub static NEVER: AtomicBool = AtomicBool::new(false);

pub fn run(input: &[u8], options: &str) -> Result<Output, Error> {
    run_with(input, options, &Limits::default())
}

pub fn run_with(input: &[u8], options: &str, limits: &Limits) -> Result<Output, Error> {
    let transform = image_engine::parse(options)?;
    run_transform(input, &transform, limits)
}

pub fn run_transform(
    input: &[u8],
    transform: &Transform,
    limits: &Limits,
) -> Result<Output, Error> {
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    process(input, transform, limits, &control)
}

pub fn ok(input: &[u8], options: &str) -> Output {
    match run(input, options) {
        Ok(output) => output,
        Err(err) => panic!("{options:?} failed: {:?}: {}", err.kind, err.message),
    }
}

/// Decodes an output with the `image` crate, independently of the engine.
pub fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).expect("output decodes")
}

pub fn format_of(bytes: &[u8]) -> ImageFormat {
    image_engine::sniff_format(bytes).expect("output is an image")
}

/// A smooth colour gradient with some texture, so JPEG quality matters.
pub fn rgb(width: u32, height: u32) -> image::RgbImage {
    ImageBuffer::from_fn(width, height, |x, y| {
        let noise = ((x * 7919 + y * 104_729) % 37) as u8;
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            128u8.wrapping_add(noise),
        ])
    })
}

/// Opaque in the middle, fully transparent along the left edge, half
/// transparent elsewhere.
pub fn rgba(width: u32, height: u32) -> image::RgbaImage {
    ImageBuffer::from_fn(width, height, |x, y| {
        let alpha = if x == 0 {
            0
        } else if x > width / 4 && x < width * 3 / 4 {
            255
        } else {
            128
        };
        Rgba([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            200,
            alpha,
        ])
    })
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    jpeg_of(&DynamicImage::ImageRgb8(rgb(width, height)), 90)
}

pub fn jpeg_of(image: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    // `encode` with the image's own layout: `encode_image` would widen grey
    // to RGB.
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .expect("jpeg");
    out
}

pub fn grey_jpeg(width: u32, height: u32) -> Vec<u8> {
    let grey = ImageBuffer::from_fn(width, height, |x, _| Luma([(x * 255 / width) as u8]));
    jpeg_of(&DynamicImage::ImageLuma8(grey), 90)
}

pub fn png_rgba(width: u32, height: u32) -> Vec<u8> {
    png_of(&DynamicImage::ImageRgba8(rgba(width, height)))
}

pub fn png_of(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .expect("png");
    out
}

pub fn gif(width: u32, height: u32) -> Vec<u8> {
    animated_gif(width, height, 1)
}

pub fn animated_gif(width: u32, height: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 30);
        for i in 0..frames {
            let buffer = ImageBuffer::from_fn(width, height, |x, y| {
                Rgba([
                    (x * 255 / width) as u8,
                    (y * 255 / height) as u8,
                    (i * 40) as u8,
                    255,
                ])
            });
            encoder
                .encode_frame(Frame::from_parts(
                    buffer,
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                ))
                .expect("gif frame");
        }
    }
    out
}

/// Lossy WebP (VP8, or VP8X with ALPH when `alpha`).
pub fn webp_lossy(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    if alpha {
        let image = rgba(width, height);
        webp::Encoder::from_rgba(image.as_raw(), width, height)
            .encode_simple(false, 80.0)
            .expect("webp")
            .to_vec()
    } else {
        let image = rgb(width, height);
        webp::Encoder::from_rgb(image.as_raw(), width, height)
            .encode_simple(false, 80.0)
            .expect("webp")
            .to_vec()
    }
}

/// Lossless WebP (VP8L) from the `image` crate's own encoder.
pub fn webp_lossless(width: u32, height: u32) -> Vec<u8> {
    let image = rgba(width, height);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(image.as_raw(), width, height, ExtendedColorType::Rgba8)
        .expect("webp lossless");
    out
}

/// An animated WebP assembled by hand: VP8X with the animation flag, ANIM,
/// then one ANMF per frame wrapping a lossless frame.
pub fn animated_webp(width: u32, height: u32, frames: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    }
    fn le24(value: u32) -> [u8; 3] {
        let b = value.to_le_bytes();
        [b[0], b[1], b[2]]
    }

    let still = webp_lossless(width, height);
    // The still file is RIFF header (12 bytes) + one VP8L chunk.
    let vp8l_chunk = &still[12..];

    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x02 | 0x10, 0, 0, 0];
    vp8x.extend_from_slice(&le24(width - 1));
    vp8x.extend_from_slice(&le24(height - 1));
    chunk(&mut body, b"VP8X", &vp8x);
    chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]);
    for _ in 0..frames {
        let mut anmf = Vec::new();
        anmf.extend_from_slice(&le24(0));
        anmf.extend_from_slice(&le24(0));
        anmf.extend_from_slice(&le24(width - 1));
        anmf.extend_from_slice(&le24(height - 1));
        anmf.extend_from_slice(&le24(100));
        anmf.push(0);
        anmf.extend_from_slice(vp8l_chunk);
        chunk(&mut body, b"ANMF", &anmf);
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// Inserts an EXIF APP1 segment with the given orientation right after SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);

    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG that is only a signature and an IHDR chunk claiming this size.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Decodes with the `image` crate to compare pixels.
pub fn decode_as(bytes: &[u8], format: image::ImageFormat) -> DynamicImage {
    image::ImageReader::with_format(Cursor::new(bytes), format)
        .decode()
        .expect("decodes")
}

/// A small deterministic generator (xorshift) so garbage is reproducible.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// `png` with an extra chunk right after IHDR (where iCCP belongs).
pub fn png_with_chunk(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let after_ihdr = 8 + 4 + 4 + 13 + 4;
    let mut chunk = kind.to_vec();
    chunk.extend_from_slice(data);
    let mut out = png[..after_ihdr].to_vec();
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    out.extend_from_slice(&png[after_ihdr..]);
    out
}

/// A zlib stream that inflates to `len` zero bytes (`len` >= 1): one
/// literal zero, then back-references of 258 bytes at distance 1, in fixed
/// Huffman codes. About 160 times smaller than what it inflates to, and
/// made without compressing anything.
pub fn zlib_zeros(len: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        count: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first.
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.count;
            self.count += count;
            while self.count >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.count -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            let reversed = (0..count).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
            self.put(reversed, count);
        }
    }
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        count: 0,
    };
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman codes
    const LITERAL_ZERO: (u64, u32) = (0b0011_0000, 8);
    bits.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
    let mut left = len - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258 (code 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
    }
    bits.code(0, 7); // end of block
    if bits.count > 0 {
        bits.put(0, 8 - bits.count);
    }
    // Adler-32 of zeros: a stays 1, b adds 1 per byte.
    let adler = (((len % 65_521) as u32) << 16) | 1;
    bits.out.extend_from_slice(&adler.to_be_bytes());
    bits.out
}

/// A 1×1 PNG whose iCCP profile inflates to `len` bytes.
pub fn png_iccp_bomb(len: usize) -> Vec<u8> {
    let mut data = b"bomb\0\0".to_vec();
    data.extend_from_slice(&zlib_zeros(len));
    png_with_chunk(&png_rgba(1, 1), b"iCCP", &data)
}
