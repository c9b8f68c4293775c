//! The default JPEG encoder's settings side by side, on one RGB image:
//! how many bytes each setting writes (and, under callgrind, how many
//! instructions it costs). The measurement behind the choice documented in
//! `engine/src/codecs/jpeg_trellis.rs`.
//!
//! ```text
//! jpeg_settings PNG SETTING QUALITY [--iterations N] [--save OUT]
//! ```
//!
//! SETTING is one of the names printed by `jpeg_settings --list`.
//! `scripts/bench/jpeg_settings.py` sweeps settings and qualities and
//! reports bytes at equal SSIM.

use mozjpeg_rs::{Encoder, QuantTableIdx, Subsampling, TrellisConfig, TrellisSpeedMode};

const SETTINGS: &[&str] = &[
    "progressive",
    "baseline",
    "progressive-no-dc-trellis",
    "progressive-level5",
    "progressive-level10",
    "progressive-no-dering",
    "progressive-eob",
    "progressive-no-trellis",
    "baseline-no-dc-trellis",
    "baseline-no-trellis",
];

/// SETTING may end in modifiers: `+qtN` (mozjpeg's quantisation table N,
/// 0 = Annex K), `+scans` (optimize_scans), `+444` (no chroma subsampling).
fn encoder(setting: &str, quality: u8) -> Encoder {
    let mut parts = setting.split('+');
    let setting = parts.next().unwrap_or_default();
    let (mut table, mut scans, mut subsampling) =
        (QuantTableIdx::JpegAnnexK, false, Subsampling::S420);
    for modifier in parts {
        match modifier {
            "scans" => scans = true,
            "444" => subsampling = Subsampling::S444,
            qt => {
                let n = qt
                    .strip_prefix("qt")
                    .and_then(|n| n.parse().ok())
                    .expect("+qtN");
                table = QuantTableIdx::from_u8(n).expect("table 0..=8");
            }
        }
    }
    let progressive = setting.starts_with("progressive");
    let mut trellis = TrellisConfig::default();
    let mut dering = true;
    match setting.split_once('-').map(|(_, rest)| rest) {
        None => {}
        Some("no-dc-trellis") => trellis.dc_enabled = false,
        Some("level5") => trellis.speed_mode = TrellisSpeedMode::Level(5),
        Some("level10") => trellis.speed_mode = TrellisSpeedMode::Level(10),
        Some("no-dering") => dering = false,
        Some("eob") => trellis.eob_opt = true,
        Some("no-trellis") => trellis = TrellisConfig::disabled(),
        Some(other) => panic!("unknown setting {other}"),
    }
    let base = if progressive {
        Encoder::progressive_balanced()
    } else {
        Encoder::baseline_optimized()
    };
    base.quant_tables(table)
        .quality(quality)
        .subsampling(subsampling)
        .optimize_scans(scans)
        .trellis(trellis)
        .overshoot_deringing(dering)
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
    let image = image::open(png).expect("readable PNG").to_rgb8();
    let (width, height) = image.dimensions();
    let quality: u8 = quality.parse().expect("QUALITY 1..=100");
    let mut jpeg = Vec::new();
    for _ in 0..iterations {
        jpeg = encoder(setting, quality)
            .encode_rgb(image.as_raw(), width, height)
            .expect("encodes");
    }
    if let Some(out) = save {
        std::fs::write(out, &jpeg).expect("writable");
    }
    println!("setting={setting} quality={quality} bytes={}", jpeg.len());
}
