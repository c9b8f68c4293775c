//! Test images generated in code, so the tests need nothing that cannot be
//! redistributed. They are written once into a cache directory next to the
//! test binaries (`target/<profile>/test-fixtures/v1/`) and reused by every
//! test and every later run; `{FIXTURES}` in a test config points there.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{Delay, Frame, Rgb, RgbImage, Rgba, RgbaImage};

/// Bump when a fixture changes so stale caches are not reused.
pub const VERSION: &str = "v1";

/// Width × height of `photo.jpg`, `photo.png`.
pub const PHOTO: (u32, u32) = (800, 600);
/// Width × height of `alpha.png`.
pub const ALPHA: (u32, u32) = (640, 480);
/// Width × height of both frames of `anim.gif`.
pub const ANIM: (u32, u32) = (160, 120);
/// Width × height of `pic.webp`.
pub const WEBP: (u32, u32) = (400, 300);
/// Width × height of `big.png`: 75 megapixels of noisy gradient, ~73 MB as
/// PNG (under the default `image_buffer 100m`). Decoding, resampling to
/// `width=7000` and encoding as WebP takes ~3 s in a release build (see
/// tests/offload.rs for the figures).
pub const BIG: (u32, u32) = (10000, 7500);

pub const HTML: &str = "<!DOCTYPE html>\n<html><head><title>not an image</title></head>\n\
<body><p>This page is HTML, not an image.</p></body></html>\n";
pub const TINY: &str = "tiny static file, not transformed\n";

/// A small deterministic PRNG (xorshift64*), so fixtures are identical on
/// every machine and run.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// A photo-like picture: smooth colour gradients, a bright disc and grain.
pub fn photo_pixels(width: u32, height: u32, grain: i32) -> RgbImage {
    let mut noise = Noise::new(0x5eed_0001);
    let (cx, cy) = (width as f32 * 0.62, height as f32 * 0.4);
    let radius = height as f32 * 0.22;
    RgbImage::from_fn(width, height, |x, y| {
        let fx = x as f32 / width as f32;
        let fy = y as f32 / height as f32;
        let mut r = 40.0 + 180.0 * fx;
        let mut g = 60.0 + 150.0 * fy;
        let mut b = 200.0 - 120.0 * fx * fy;
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        if d < radius {
            let k = 1.0 - d / radius;
            r += 80.0 * k;
            g += 70.0 * k;
            b += 20.0 * k;
        }
        let n = |noise: &mut Noise| (noise.next() % (2 * grain as u64 + 1)) as i32 - grain;
        Rgb([
            clamp(r as i32 + n(&mut noise)),
            clamp(g as i32 + n(&mut noise)),
            clamp(b as i32 + n(&mut noise)),
        ])
    })
}

/// RGBA with real transparency: fully transparent corners, an opaque disc in
/// the middle and a translucent ring around it.
pub fn alpha_pixels() -> RgbaImage {
    let (w, h) = ALPHA;
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbaImage::from_fn(w, h, |x, y| {
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        if d < 120.0 {
            Rgba([220, 30, 40, 255])
        } else if d < 200.0 {
            let a = (255.0 * (200.0 - d) / 80.0) as u8;
            Rgba([30, 90, 220, a])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode jpeg");
    out
}

pub fn encode_png(img: &image::DynamicImage, compression: CompressionType) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(Cursor::new(&mut out), compression, FilterType::Adaptive);
    img.write_with_encoder(encoder).expect("encode png");
    out
}

pub fn encode_webp(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode webp");
    out
}

pub fn encode_anim_gif() -> Vec<u8> {
    let (w, h) = ANIM;
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder.set_repeat(Repeat::Infinite).expect("gif repeat");
        let frames = [[230u8, 40, 40, 255], [40, 60, 230, 255]].map(|colour| {
            let img = RgbaImage::from_fn(w, h, |x, _| {
                if x < w / 2 {
                    Rgba(colour)
                } else {
                    Rgba([250, 250, 250, 255])
                }
            });
            Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(200, 1))
        });
        encoder.encode_frames(frames).expect("encode gif");
    }
    out
}

/// The heavy fixture: a gradient with grain in the low 2 bits of every
/// channel, so it compresses to well under the default `image_buffer`
/// (100m) while still being 48 megapixels to decode, resample and encode.
pub fn big_png() -> Vec<u8> {
    let (w, h) = BIG;
    let mut noise = Noise::new(0xb16_b16);
    let mut raw = vec![0u8; (w * h * 3) as usize];
    for (i, px) in raw.chunks_exact_mut(3).enumerate() {
        let x = (i as u32 % w) as u64;
        let y = (i as u32 / w) as u64;
        let n = noise.next();
        px[0] = ((x * 252 / w as u64) as u8) | (n & 3) as u8;
        px[1] = ((y * 252 / h as u64) as u8) | ((n >> 2) & 3) as u8;
        px[2] = (((x + y) * 126 / w as u64) as u8) | ((n >> 4) & 3) as u8;
    }
    let img = RgbImage::from_raw(w, h, raw).expect("big buffer");
    encode_png(&image::DynamicImage::ImageRgb8(img), CompressionType::Fast)
}

/// Writes every fixture into `dir` (which must exist).
pub fn generate(dir: &Path) {
    let photo = photo_pixels(PHOTO.0, PHOTO.1, 14);
    let photo_jpg = encode_jpeg(&photo, 90);
    write(dir, "photo.jpg", &photo_jpg);
    write(dir, "truncated.jpg", &photo_jpg[..photo_jpg.len() / 2]);
    write(
        dir,
        "photo.png",
        &encode_png(
            &image::DynamicImage::ImageRgb8(photo),
            CompressionType::Default,
        ),
    );
    write(
        dir,
        "alpha.png",
        &encode_png(
            &image::DynamicImage::ImageRgba8(alpha_pixels()),
            CompressionType::Default,
        ),
    );
    write(dir, "anim.gif", &encode_anim_gif());
    write(
        dir,
        "pic.webp",
        &encode_webp(&photo_pixels(WEBP.0, WEBP.1, 6)),
    );
    write(dir, "page.html", HTML.as_bytes());
    write(dir, "tiny.txt", TINY.as_bytes());
    write(dir, "big.png", &big_png());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp: PathBuf = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    fs::rename(&tmp, dir.join(name)).expect("rename fixture");
}
