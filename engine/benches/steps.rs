//! Criterion benchmarks of the steps added to the pipeline: trim, flip,
//! the saliency crop, each adjustment, and animations end to end.
//!
//! ```text
//! cargo bench -p image-engine --bench steps            # everything
//! cargo bench -p image-engine --bench steps -- adjust  # one group
//! cargo bench -p image-engine --bench steps -- decode  # AVIF vs JPEG input
//! ```
//!
//! Stills are a 1200×800 photo-like image (about what a resized original
//! is when the steps run); the animation is a 20-frame 500×500 GIF,
//! resized to 200 px as GIF and as WebP.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{DynamicImage, ImageBuffer, Rgb, RgbaImage};
use image_engine::{parse, process, stages, Control, Flip, ImageFormat, Limits};

static NEVER: AtomicBool = AtomicBool::new(false);

fn photo_like(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let wave = ((fx / 37.0).sin() * (fy / 23.0).cos() * 60.0) as i32;
        let grain = ((x * 7919 + y * 104_729) % 29) as i32;
        Rgb([
            (90 + wave + grain).clamp(0, 255) as u8,
            (120 + wave / 2 + grain).clamp(0, 255) as u8,
            (150 - wave + grain).clamp(0, 255) as u8,
        ])
    }))
}

/// 20 frames of 500×500, a square moving over a textured background.
fn animated_gif() -> Vec<u8> {
    let background = photo_like(500, 500).to_rgba8();
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, 500, 500, &[]).expect("encoder");
        encoder.set_repeat(gif::Repeat::Infinite).expect("repeat");
        for i in 0..20u32 {
            let mut frame: RgbaImage = background.clone();
            for y in 100..200 {
                for x in (i * 15)..(i * 15 + 100) {
                    frame.put_pixel(x, y, image::Rgba([250, 220, 30, 255]));
                }
            }
            let mut pixels = frame.into_raw();
            let mut frame = gif::Frame::from_rgba_speed(500, 500, &mut pixels, 30);
            frame.delay = 8;
            encoder.write_frame(&frame).expect("frame");
        }
    }
    out
}

fn geometry(c: &mut Criterion) {
    let image = photo_like(1200, 800);
    let mut framed = image::RgbImage::from_pixel(1300, 900, Rgb([255, 255, 255]));
    image::imageops::replace(&mut framed, &image.to_rgb8(), 50, 50);
    let framed = DynamicImage::ImageRgb8(framed);
    let mut group = c.benchmark_group("geometry");
    group.bench_function("trim-border", |b| {
        b.iter(|| stages::trim_border(black_box(&framed)))
    });
    group.bench_function("flip-h", |b| {
        let mut image = image.clone();
        let flip = Flip {
            horizontal: true,
            vertical: false,
        };
        b.iter(|| stages::flip(black_box(&mut image), flip))
    });
    group.bench_function("gravity-auto", |b| {
        b.iter(|| stages::focus(black_box(&image), 400.0, 800.0))
    });
    group.finish();
}

fn adjust(c: &mut Criterion) {
    let image = photo_like(1200, 800);
    let mut group = c.benchmark_group("adjust");
    for options in [
        "brightness=1.2",
        "brightness=1.2,contrast=1.1,gamma=0.9",
        "saturation=1.5",
        "blur=10",
        "blur=250",
        "sharpen=1",
    ] {
        let transform = parse(options).expect("options");
        group.bench_function(options, |b| {
            b.iter(|| stages::adjust(black_box(image.clone()), &transform))
        });
    }
    group.finish();
}

fn animation(c: &mut Criterion) {
    let input = animated_gif();
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    let mut group = c.benchmark_group("animation");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for options in ["width=200,format=webp", "width=200,format=gif"] {
        let transform = parse(options).expect("options");
        group.bench_function(options, |b| {
            b.iter(|| process(black_box(&input), &transform, &Limits::default(), &control))
        });
    }
    group.finish();
}

/// Decoding a 2 MP original (1600×1250, quality 80): AVIF through libdav1d
/// beside JPEG through libjpeg-turbo, full size (no shrink-on-load).
fn decode(c: &mut Criterion) {
    let image = photo_like(1600, 1250);
    let mut group = c.benchmark_group("decode");
    group.sample_size(20);
    for format in [ImageFormat::Jpeg, ImageFormat::Avif] {
        let bytes = stages::encode(&image, format, 80).expect("encodes");
        group.bench_function(format!("{}-2mp", format.name()), |b| {
            b.iter(|| stages::decode(black_box(&bytes), 1.0).expect("decodes"))
        });
    }
    group.finish();
}

criterion_group!(benches, geometry, adjust, animation, decode);
criterion_main!(benches);
