//! The default JPEG encoder's (jpegli's) settings side by side, on one
//! image: how many bytes each setting writes (and, under callgrind, how
//! many instructions it costs). The measurement behind `Tuning::MODULE` in
//! `engine/src/codecs/jpegli.rs`.
//!
//! ```text
//! jpeg_settings PNG SETTING QUALITY [--iterations N] [--save OUT]
//! ```
//!
//! SETTING is one of the names printed by `jpeg_settings --list`, followed
//! by any modifiers. `scripts/bench/jpeg_settings.py` sweeps settings and
//! qualities and reports bytes at equal SSIM.

use image_engine::stages::{encode_jpegli, JpegliTuning};

const SETTINGS: &[&str] = &[
    "module",
    "module-baseline",
    "module+aq",
    "module+level=1",
    "jpegli-defaults",
    "module+c420=2",
    "module+c420=2.7",
];

/// SETTING's modifiers: `+aq` (adaptive quantisation on), `+level=N`
/// (progressive level, 0 = baseline), `+c420=X` / `+c444=X` (chroma's
/// distance over luma's, subsampled / full-resolution chroma), `+444` /
/// `+420` (chroma subsampling forced off / on).
fn tuning(setting: &str) -> JpegliTuning {
    let mut parts = setting.split('+');
    let mut tuning = match parts.next().unwrap_or_default() {
        "module" => JpegliTuning::MODULE,
        "module-baseline" => JpegliTuning {
            progressive_level: 0,
            ..JpegliTuning::MODULE
        },
        // jpegli as its own tools use it: chroma at luma's distance,
        // adaptive quantisation.
        "jpegli-defaults" => JpegliTuning {
            chroma_distance_420: 1.0,
            chroma_distance_444: 1.0,
            adaptive_quantisation: true,
            ..JpegliTuning::MODULE
        },
        other => panic!("unknown setting {other}"),
    };
    for modifier in parts {
        let (key, value) = modifier.split_once('=').unwrap_or((modifier, ""));
        let number = || value.parse::<f32>().expect("+KEY=NUMBER");
        match key {
            "aq" => tuning.adaptive_quantisation = true,
            "level" => tuning.progressive_level = number() as u8,
            "c420" => tuning.chroma_distance_420 = number(),
            "c444" => tuning.chroma_distance_444 = number(),
            "444" => tuning.subsampled = Some(false),
            "420" => tuning.subsampled = Some(true),
            other => panic!("unknown modifier {other}"),
        }
    }
    tuning
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--list") {
        SETTINGS.iter().for_each(|s| println!("{s}"));
        return;
    }
    let [_, png, setting, quality, rest @ ..] = args.as_slice() else {
        eprintln!("usage: jpeg_settings PNG SETTING QUALITY [--iterations N] [--save OUT]");
        std::process::exit(2);
    };
    let (mut iterations, mut save) = (1usize, None);
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().expect("flag value");
        match flag.as_str() {
            "--iterations" => iterations = value.parse().expect("N"),
            "--save" => save = Some(value.clone()),
            _ => panic!("unknown flag {flag}"),
        }
    }
    let image = image::DynamicImage::ImageRgb8(image::open(png).expect("readable PNG").to_rgb8());
    let quality: u8 = quality.parse().expect("QUALITY 1..=100");
    let tuning = tuning(setting);
    let mut jpeg = Vec::new();
    for _ in 0..iterations {
        jpeg = encode_jpegli(&image, quality, &tuning).expect("encodes");
    }
    if let Some(out) = save {
        std::fs::write(out, &jpeg).expect("writable");
    }
    println!("setting={setting} quality={quality} bytes={}", jpeg.len());
}
