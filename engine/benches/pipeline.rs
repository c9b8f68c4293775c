//! Criterion benchmarks of each stage and of the whole pipeline.
//!
//! ```text
//! cargo bench -p image-engine --bench pipeline            # everything
//! cargo bench -p image-engine --bench pipeline -- decode  # one group
//! ```
//!
//! Inputs are the photos of `../shared/corpus/` (beside the repository)
//! when it is there, otherwise generated images of similar sizes. Groups:
//!
//! * `decode`: full size, and shrunk while decoding for a 400-pixel output;
//! * `resize`: Lanczos3 to 400 pixels wide, from the shrunk decode and from
//!   the full-size one;
//! * `encode`: a 400-pixel image to every output format;
//! * `pipeline`: `process` end to end, 400 pixels wide, JPEG and WebP;
//! * `colour`: the first photo to a 400-pixel JPEG as it is, tagged with a
//!   Display P3 profile (converted to sRGB at the shrink-on-load scale),
//!   and with an sRGB profile (recognised and skipped), baseline and
//!   progressive.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageBuffer, Rgb, Rgba};
use image_engine::{process, stages, Control, ImageFormat, Limits};

static NEVER: AtomicBool = AtomicBool::new(false);

const WIDTH: u32 = 400;

/// (name, bytes) of the inputs.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let names = [
        "photo-13mp.jpg",
        "photo-20mp.jpg",
        "photo-13mp-progressive.jpg",
        "photo-2mp.jpg",
        "photo-small.jpg",
        "alpha.png",
    ];
    let corpus: Vec<_> = names
        .iter()
        .filter_map(|name| Some((name.to_string(), std::fs::read(dir.join(name)).ok()?)))
        .collect();
    if corpus.len() == names.len() {
        return corpus;
    }
    eprintln!("../shared/corpus not found: benchmarking generated images");
    vec![
        ("generated-12mp.jpg".into(), jpeg(4000, 3000)),
        ("generated-2mp.jpg".into(), jpeg(1920, 1280)),
        ("generated-small.jpg".into(), jpeg(640, 427)),
        ("generated-alpha.png".into(), png_rgba(2048, 1536)),
    ]
}

fn photo_like(width: u32, height: u32) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    ImageBuffer::from_fn(width, height, |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let texture = ((fx / 3.1).sin() * (fy / 2.7).cos()) * 20.0;
        let v = |base: f64| (base + texture).clamp(0.0, 255.0) as u8;
        Rgb([
            v(fx * 255.0 / f64::from(width)),
            v(fy * 255.0 / f64::from(height)),
            v(128.0 + ((fx + fy) / 50.0).sin() * 60.0),
        ])
    })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&DynamicImage::ImageRgb8(photo_like(width, height)))
        .expect("jpeg");
    out
}

fn png_rgba(width: u32, height: u32) -> Vec<u8> {
    let rgb = photo_like(width, height);
    let rgba = ImageBuffer::from_fn(width, height, |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        Rgba([r, g, b, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(rgba)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn shrink_for(width: u32) -> f64 {
    f64::from(width) / f64::from(WIDTH)
}

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, bytes) in inputs() {
        let (full, _) = stages::decode(&bytes, 1.0).expect("decode");
        let reduction = shrink_for(full.width());
        group.bench_function(BenchmarkId::new("full", &name), |b| {
            b.iter(|| stages::decode(black_box(&bytes), 1.0).expect("decode"))
        });
        group.bench_function(BenchmarkId::new("shrink-on-load", &name), |b| {
            b.iter(|| stages::decode(black_box(&bytes), reduction).expect("decode"))
        });
    }
    group.finish();
}

fn resize(c: &mut Criterion) {
    let mut group = c.benchmark_group("resize");
    for (name, bytes) in inputs() {
        let (full, _) = stages::decode(&bytes, 1.0).expect("decode");
        let (shrunk, factor) = stages::decode(&bytes, shrink_for(full.width())).expect("decode");
        let height = (full.height() * WIDTH).div_ceil(full.width()).max(1);
        if factor > 1 {
            group.bench_function(BenchmarkId::new("from-shrunk", &name), |b| {
                b.iter(|| stages::resize(shrunk.clone(), WIDTH, height).expect("resize"))
            });
        }
        group.bench_function(BenchmarkId::new("from-full", &name), |b| {
            b.iter(|| stages::resize(full.clone(), WIDTH, height).expect("resize"))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let inputs = inputs();
    let (name, bytes) = &inputs[0];
    let (full, _) = stages::decode(bytes, 1.0).expect("decode");
    let height = (full.height() * WIDTH).div_ceil(full.width()).max(1);
    let opaque = stages::resize(full, WIDTH, height).expect("resize");
    eprintln!("encode: {name} at {WIDTH}×{height}");
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Webp,
        ImageFormat::Png,
        ImageFormat::Avif,
        ImageFormat::Gif,
    ] {
        group.bench_function(BenchmarkId::new("q80", format.name()), |b| {
            b.iter(|| stages::encode(black_box(&opaque), format, 80).expect("encode"))
        });
    }
    // With transparency (the alpha PNG, or the generated one).
    if let Some((_, png)) = inputs.iter().find(|(name, _)| name.ends_with(".png")) {
        let (full, _) = stages::decode(png, 1.0).expect("decode");
        let height = (full.height() * WIDTH).div_ceil(full.width()).max(1);
        let alpha = stages::resize(full, WIDTH, height).expect("resize");
        for format in [ImageFormat::Webp, ImageFormat::Png, ImageFormat::Avif] {
            group.bench_function(BenchmarkId::new("alpha-q80", format.name()), |b| {
                b.iter(|| stages::encode(black_box(&alpha), format, 80).expect("encode"))
            });
        }
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    for (name, bytes) in inputs() {
        for format in ["jpeg", "webp"] {
            let options = format!("width={WIDTH},quality=80,format={format}");
            let transform = image_engine::parse(&options).expect("options");
            group.bench_function(BenchmarkId::new(format, &name), |b| {
                b.iter(|| {
                    process(black_box(&bytes), &transform, &Limits::default(), &control)
                        .expect("process")
                })
            });
        }
    }
    group.finish();
}

/// The JPEG with an ICC profile in one APP2 segment after SOI.
fn with_icc(jpeg: &[u8], icc: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE2]);
    out.extend_from_slice(&((icc.len() + 16) as u16).to_be_bytes());
    out.extend_from_slice(b"ICC_PROFILE\0\x01\x01");
    out.extend_from_slice(icc);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn colour(c: &mut Criterion) {
    let mut group = c.benchmark_group("colour");
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    let (name, bytes) = inputs().remove(0);
    let p3 = moxcms::ColorProfile::new_display_p3()
        .encode()
        .expect("icc");
    let srgb = moxcms::ColorProfile::new_srgb().encode().expect("icc");
    let variants = [
        ("untagged", bytes.clone()),
        ("display-p3", with_icc(&bytes, &p3)),
        ("srgb-tagged", with_icc(&bytes, &srgb)),
    ];
    for jpeg in ["baseline-jpeg", "jpeg"] {
        let options = format!("width={WIDTH},quality=80,format={jpeg}");
        let transform = image_engine::parse(&options).expect("options");
        for (variant, input) in &variants {
            let id = BenchmarkId::new(format!("{jpeg}/{variant}"), &name);
            group.bench_function(id, |b| {
                b.iter(|| {
                    process(black_box(input), &transform, &Limits::default(), &control)
                        .expect("process")
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = decode, resize, encode, pipeline, colour
}
criterion_main!(benches);
