//! Progressive JPEGs: at 1/8 scale only their DC scans are decoded, at 1/4
//! only the scans of the lowest frequencies. Each progressive file here is
//! compared with its sequential twin (the same coefficients in one scan,
//! which always takes the full path), at every decoding scale, for every
//! subsampling, several scan scripts (successive approximation included)
//! and with restart markers: the same pixels where every coefficient the
//! inverse DCT reads is decoded (1/8 except 4:2:0, 1/2, full size), and
//! within the quality test's bound where some are left out (1/4, and 1/8
//! for 4:2:0, whose chroma libjpeg decodes at 1/4): PSNR ≥ 38 dB against a
//! full-size decode (the `image` crate) and one Lanczos3 pass.
//!
//! Damaged files behave as before: a cut anywhere (inside a skipped scan
//! too) is the corrupt-image error, too many scans are refused, and damage
//! libjpeg recovers from is still recovered from.

mod common;
#[path = "common/scan_script.rs"]
mod scan_script;
#[path = "common/test_card.rs"]
mod test_card;
#[path = "common/turbo_jpeg.rs"]
mod turbo_jpeg;

use common::*;
use image_engine::ErrorKind;
use scan_script::{Sampling, Scan};

const MIN_PSNR: f64 = 38.0;

/// A scan script for a number of components.
type Script = fn(usize) -> Vec<Scan>;

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// A full-size decode with the `image` crate and one Lanczos3 pass.
fn reference(jpeg: &[u8], size: (u32, u32)) -> Vec<u8> {
    use fast_image_resize::images::Image;
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let full = image::load_from_memory(jpeg).expect("reference").to_rgb8();
    let (width, height) = full.dimensions();
    let src = Image::from_vec_u8(width, height, full.into_raw(), PixelType::U8x3).expect("src");
    let mut dst = Image::new(size.0, size.1, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("resize");
    dst.into_vec()
}

/// Output widths of a `width`-pixel source that decode at 1/8, 1/4, 1/2
/// and full scale (the margin rule in `turbo.rs`: the DCT-scaled image
/// stays at least 1.3× the output).
fn widths_per_scale(width: u32) -> [(u32, u32); 4] {
    [
        (8, width * 10 / 105),
        (4, width * 10 / 60),
        (2, width * 10 / 30),
        (1, width * 10 / 15),
    ]
}

/// The progressive file and its twin give the same pixels at 1/2 and full
/// scale, and at 1/8 unless the frame is 4:2:0. At 1/4, and at 1/8 for
/// 4:2:0 (whose chroma libjpeg decodes at 1/4), the scans of frequencies
/// the reduced decode barely reads are dropped, so the output must stay
/// within the quality bound instead: PSNR ≥ 38 dB against a full-size
/// decode and one Lanczos3 pass (the twin's own PSNR is printed beside it:
/// the luma bands kept lose their last refinement bits, a few dB).
fn assert_same_as_twin(
    name: &str,
    progressive: &[u8],
    twin: &[u8],
    width: u32,
    subsampled_420: bool,
) {
    assert!(turbo_jpeg::is_progressive(progressive), "{name}");
    assert!(!turbo_jpeg::is_progressive(twin), "{name}");
    let mut scales = widths_per_scale(width).to_vec();
    // Between 8× and 12×: 4:2:0 at 1/8 with every chroma scan up to the
    // 2×2 IDCT's band; further down: DC alone.
    scales.push((8, width * 10 / 115));
    scales.push((8, width * 10 / 130));
    for (scale, out_width) in scales {
        let options = format!("width={out_width},format=png");
        let fast = decode(&ok(progressive, &options).bytes).to_rgb8();
        let full = decode(&ok(twin, &options).bytes).to_rgb8();
        let fewer_scans = scale == 4 || (scale == 8 && subsampled_420);
        if !fewer_scans {
            assert!(
                fast == full,
                "{name} at 1/{scale} ({options}) differs from its twin"
            );
            continue;
        }
        let reference = reference(twin, fast.dimensions());
        let db = psnr(fast.as_raw(), &reference);
        let twin_db = psnr(full.as_raw(), &reference);
        eprintln!("{name} at 1/{scale} ({options}): {db:.1} dB, every scan {twin_db:.1} dB");
        assert!(
            db >= MIN_PSNR,
            "{name} at 1/{scale} ({options}): PSNR {db:.1} dB (every scan: {twin_db:.1} dB)"
        );
    }
}

fn card(width: u32, height: u32) -> image::RgbImage {
    test_card::test_card(width, height).to_rgb8()
}

#[test]
fn scan_scripts_subsamplings_and_restarts_decode_as_their_twins() {
    // Odd sizes: partial MCUs on both edges.
    let image = card(461, 347);
    let scripts: [(&str, Script); 3] = [
        ("libjpeg default", scan_script::libjpeg_default),
        ("mozjpeg-style", scan_script::mozjpeg_style),
        ("fine bands", scan_script::fine_bands),
    ];
    for sampling in [
        Sampling::Grey,
        Sampling::S444,
        Sampling::S422,
        Sampling::S440,
        Sampling::S420,
    ] {
        let coefficients = scan_script::coefficients(&image, sampling);
        let count = coefficients.components.len();
        for restart in [0u16, 7] {
            let twin = scan_script::write(
                &coefficients,
                &scan_script::sequential(count),
                false,
                restart,
            );
            for (script, make) in scripts {
                let progressive = scan_script::write(&coefficients, &make(count), true, restart);
                assert_same_as_twin(
                    &format!("{sampling:?} {script} restart={restart}"),
                    &progressive,
                    &twin,
                    image.width(),
                    sampling == Sampling::S420,
                );
            }
        }
    }
}

#[test]
fn libjpeg_turbo_progressive_files_decode_as_their_twins() {
    let image = card(1203, 803);
    for (name, subsampling) in [
        ("grey", turbo_jpeg::GREY),
        ("4:4:4", turbo_jpeg::S444),
        ("4:2:2", turbo_jpeg::S422),
        ("4:4:0", turbo_jpeg::S440),
        ("4:2:0", turbo_jpeg::S420),
    ] {
        for restart in [0u16, 3] {
            let progressive = turbo_jpeg::progressive(&image, subsampling, 85, restart);
            let twin = turbo_jpeg::sequential_twin(&progressive);
            assert_same_as_twin(
                &format!("libjpeg-turbo {name} restart={restart}"),
                &progressive,
                &twin,
                image.width(),
                subsampling == turbo_jpeg::S420,
            );
        }
    }
}

#[test]
fn the_corpus_progressive_photo_decodes_as_its_twin() {
    let Some(progressive) = corpus("photo-13mp-progressive.jpg") else {
        return;
    };
    let twin = turbo_jpeg::sequential_twin(&progressive);
    // 4224 wide: 400 pixels is 1/8.
    let fast = ok(&progressive, "width=400,format=png");
    let full = ok(&twin, "width=400,format=png");
    assert!(fast.bytes == full.bytes, "the 1/8 decode differs");
}

/// Offsets of the SOS markers.
fn scan_starts(jpeg: &[u8]) -> Vec<usize> {
    (0..jpeg.len() - 1)
        .filter(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
        .collect()
}

fn assert_corrupt(input: &[u8], what: &str) {
    // 1/8 (4:2:0 between 8× and 12×: scans dropped), 1/4, 1/2.
    for width in [40, 80, 150, 300] {
        let err = run(input, &format!("width={width}")).expect_err(what);
        assert_eq!(err.kind, ErrorKind::CorruptImage, "{what}: {}", err.message);
        assert_eq!((err.status(), err.code()), (400, Some(9523)), "{what}");
    }
}

#[test]
fn a_cut_anywhere_is_corrupt() {
    let image = card(461, 347);
    let coefficients = scan_script::coefficients(&image, Sampling::S420);
    // mozjpeg-style: three DC scans, then AC scans the 1/8 decode skips.
    let jpeg = scan_script::write(&coefficients, &scan_script::mozjpeg_style(3), true, 0);
    let scans = scan_starts(&jpeg);
    assert_eq!(scans.len(), 11);
    let inside = |n: usize| (scans[n] + scans[n + 1]) / 2;
    assert_corrupt(&jpeg[..inside(1)], "cut inside a DC scan");
    assert_corrupt(&jpeg[..inside(3)], "cut inside a skipped AC scan");
    // Scans 6 to 8 (luma from frequency 9 up and its refinements) are
    // dropped at 1/4, and luma's AC at 1/8.
    assert_corrupt(&jpeg[..inside(6)], "cut inside a scan dropped at 1/4");
    assert_corrupt(&jpeg[..inside(8)], "cut inside a refinement dropped at 1/4");
    assert_corrupt(
        &jpeg[..(scans[10] + jpeg.len()) / 2],
        "cut inside the last scan",
    );
    assert_corrupt(&jpeg[..scans[6]], "cut between scans");
    assert_corrupt(&jpeg[..jpeg.len() - 2], "no end-of-image marker");
    // libjpeg's own script, with DC refinement late in the file.
    let libjpeg = turbo_jpeg::progressive(&image, turbo_jpeg::S420, 85, 0);
    let scans = scan_starts(&libjpeg);
    assert_corrupt(
        &libjpeg[..(scans[4] + scans[5]) / 2],
        "cut before the DC refinement",
    );
    // The whole file decodes.
    for width in [30, 40, 80, 150, 300] {
        assert!(run(&jpeg, &format!("width={width}")).is_ok());
        assert!(run(&libjpeg, &format!("width={width}")).is_ok());
    }
}

#[test]
fn too_many_scans_are_refused() {
    let image = card(64, 48);
    let coefficients = scan_script::coefficients(&image, Sampling::Grey);
    let mut scans = vec![scan_script::scan(&[0], 0, 0, 0, 0)];
    scans.extend((0..600).map(|_| scan_script::scan(&[0], 1, 63, 0, 0)));
    let jpeg = scan_script::write(&coefficients, &scans, true, 0);
    for width in [6, 64] {
        let err = run(&jpeg, &format!("width={width}")).expect_err("scan limit");
        assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
    }
}

#[test]
fn damage_in_the_dc_scans_is_left_to_libjpeg() {
    let image = card(461, 347);
    let coefficients = scan_script::coefficients(&image, Sampling::S444);
    let jpeg = scan_script::write(&coefficients, &scan_script::mozjpeg_style(3), true, 0);
    let scans = scan_starts(&jpeg);
    // Garbage in the middle of the first DC scan: libjpeg warns, makes
    // something up and finishes; the DC-only path gives up and hands the
    // file over, so the result is libjpeg's either way.
    let mut damaged = jpeg.clone();
    let middle = (scans[0] + scans[1]) / 2;
    for byte in &mut damaged[middle..middle + 8] {
        *byte = 0xFE;
    }
    let at_eighth = run(&damaged, "width=40,format=png");
    let full = run(&damaged, "width=400,format=png");
    assert_eq!(at_eighth.is_ok(), full.is_ok());
    // A scan naming a component the frame does not have: libjpeg's error.
    let mut bad = jpeg.clone();
    bad[scans[1] + 5] = 9;
    let err = run(&bad, "width=40").expect_err("bad component");
    assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
    // Impossible progression parameters (Se < Ss in an AC scan).
    let mut bad = jpeg.clone();
    let ac = scans[3];
    bad[ac + 7] = 9;
    bad[ac + 8] = 1;
    let err = run(&bad, "width=40").expect_err("bad progression");
    assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
}
