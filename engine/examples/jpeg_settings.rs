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
    "module",
    "module-baseline",
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
/// 0 = Annex K), `+scans` (optimize_scans), `+444` (no chroma subsampling),
/// `+l1=X` / `+l2=X` (the trellis lambda's log scales: lambda =
/// 2^l1 / (2^l2 + block norm), or 2^(l1 - 12) when l2 is 0; mozjpeg's
/// default 14.75 / 16.5, its `-tune-ssim` 11.5 / 12.75, `-tune-ms-ssim`
/// 12 / 13, `-tune-psnr` 9 / 0), `+dc` (DC trellis on), `+dcw=X` (DC
/// trellis' vertical-gradient weight), `+smooth=N` (input smoothing),
/// `+cs=F` (the Annex K chroma table times F before quality scaling: F < 1
/// spends more on chroma).
fn encoder(setting: &str, quality: u8) -> Encoder {
    // The module's own settings (`jpeg_trellis.rs`), spelt out.
    let setting = setting
        .replacen(
            "module-baseline",
            "baseline-no-dc-trellis+l1=15.5+l2=16+cs=0.875",
            1,
        )
        .replacen(
            "module",
            "progressive-no-dc-trellis+l1=15.5+l2=16+cs=0.875",
            1,
        );
    let mut parts = setting.split('+');
    let setting = parts.next().unwrap_or_default();
    let (mut table, mut scans, mut subsampling) =
        (QuantTableIdx::JpegAnnexK, false, Subsampling::S420);
    let (mut lambda, mut dc, mut dc_weight, mut smoothing) = ((None, None), None, None, 0);
    let mut chroma_scale = None;
    for modifier in parts {
        let (key, value) = modifier.split_once('=').unwrap_or((modifier, ""));
        let number = || value.parse::<f32>().expect("+KEY=NUMBER");
        match key {
            "scans" => scans = true,
            "444" => subsampling = Subsampling::S444,
            "l1" => lambda.0 = Some(number()),
            "l2" => lambda.1 = Some(number()),
            "dc" => dc = Some(true),
            "dcw" => dc_weight = Some(number()),
            "smooth" => smoothing = number() as u8,
            "cs" => chroma_scale = Some(number()),
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
    if let Some(scale) = lambda.0 {
        trellis.lambda_log_scale1 = scale;
    }
    if let Some(scale) = lambda.1 {
        trellis.lambda_log_scale2 = scale;
    }
    if let Some(enabled) = dc {
        trellis.dc_enabled = enabled;
    }
    if let Some(weight) = dc_weight {
        trellis.delta_dc_weight = weight;
    }
    let base = if progressive {
        Encoder::progressive_balanced()
    } else {
        Encoder::baseline_optimized()
    };
    let base = match chroma_scale {
        Some(scale) => base.custom_chroma_qtable(
            mozjpeg_rs::consts::STD_CHROMINANCE_QUANT_TBL[0]
                .map(|q| ((f32::from(q) * scale).round() as u16).clamp(1, 255)),
        ),
        None => base,
    };
    base.quant_tables(table)
        .quality(quality)
        .subsampling(subsampling)
        .optimize_scans(scans)
        .trellis(trellis)
        .overshoot_deringing(dering)
        .smoothing(smoothing)
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
