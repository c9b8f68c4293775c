//! The JPEG fast path (DCT-scaled decoding, then Lanczos3 from 1.3 to 2.6
//! times the output size) against the slow reference (full-size
//! decode with the `image` crate, then Lanczos3 straight to the output
//! size). Outputs are compared as PNG, so only the resampling differs.
//!
//! Threshold: PSNR ≥ 38 dB over all channels (mean squared error below
//! about 10 on a 0–255 scale, differences invisible at 1:1). The photos
//! come from `../shared/corpus/` and are skipped when it is absent; the
//! generated images always run.

mod common;
#[path = "common/scan_script.rs"]
mod scan_script;
#[path = "common/test_card.rs"]
mod test_card;
#[path = "common/turbo_jpeg.rs"]
mod turbo_jpeg;

use common::*;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use test_card::test_card;

const MIN_PSNR: f64 = 38.0;

/// The reference's first step, done once per input: a full-size decode
/// with the `image` crate (not libjpeg-turbo).
fn full_size(input: &[u8]) -> Image<'static> {
    let full = image::load_from_memory(input)
        .expect("reference decode")
        .to_rgb8();
    let (width, height) = full.dimensions();
    Image::from_vec_u8(width, height, full.into_raw(), PixelType::U8x3).expect("source")
}

/// The reference's second step: one Lanczos3 pass to the output size,
/// cutting `crop` (x, y, width, height in source pixels) on the way.
fn reference(src: &Image<'_>, size: (u32, u32), crop: Option<(f64, f64, f64, f64)>) -> Vec<u8> {
    let mut dst = Image::new(size.0, size.1, PixelType::U8x3);
    let (x, y, w, h) = crop.unwrap_or((0.0, 0.0, f64::from(src.width()), f64::from(src.height())));
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(x, y, w, h);
    Resizer::new()
        .resize(src, &mut dst, &options)
        .expect("reference resize");
    dst.into_vec()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    let mse = squared / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// Runs the engine to PNG and compares with the reference; returns the
/// PSNR.
fn check(
    name: &str,
    input: &[u8],
    full: &Image<'_>,
    options: &str,
    crop: Option<(f64, f64, f64, f64)>,
) -> f64 {
    // The sweep goes up to nearly the source's size (20 megapixels), past
    // the default output budget, which is not what is measured here.
    let limits = image_engine::Limits {
        max_output_pixels: 100_000_000,
        ..image_engine::Limits::default()
    };
    let options = format!("{options},format=png");
    let output = run_with(input, &options, &limits)
        .unwrap_or_else(|err| panic!("{options:?} failed: {:?}: {}", err.kind, err.message));
    let fast = decode(&output.bytes).to_rgb8();
    let size = fast.dimensions();
    let slow = reference(full, size, crop);
    let db = psnr(fast.as_raw(), &slow);
    assert!(
        db >= MIN_PSNR,
        "{name} {options} ({}×{}): PSNR {db:.1} dB is below {MIN_PSNR} dB",
        size.0,
        size.1
    );
    db
}

/// Output widths from thumbnails to nearly the source size, 12% apart, so
/// every decoding scale is tried at several distances from its threshold.
fn widths(source_width: u32) -> impl Iterator<Item = u32> {
    std::iter::successors(Some(48u32), |&w| Some(w + w.div_ceil(8)))
        .take_while(move |&w| w < source_width)
}

/// Checks every width and reports the worst.
fn sweep(name: &str, input: &[u8]) {
    let full = full_size(input);
    let (worst, at) = widths(full.width())
        .map(|width| {
            (
                check(name, input, &full, &format!("width={width}"), None),
                width,
            )
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one width");
    eprintln!("{name}: lowest PSNR {worst:.1} dB (width={at})");
}

#[test]
fn generated_images_match_the_reference() {
    for (width, height) in [(3200, 2400), (1601, 1067), (900, 700)] {
        let input = jpeg_of(&test_card(width, height), 92);
        sweep(&format!("test card {width}×{height}"), &input);
        // Height-bound outputs too.
        let full = full_size(&input);
        check("test card", &input, &full, "height=150", None);
    }
}

#[test]
fn cover_crops_match_the_reference() {
    let input = jpeg_of(&test_card(3000, 2000), 92);
    let full = full_size(&input);
    // 3000×2000 to 300×300: a 2000×2000 square, centred or on the left.
    for (gravity, x) in [("center", 500.0), ("left", 0.0)] {
        check(
            "test card 3000×2000",
            &input,
            &full,
            &format!("width=300,height=300,fit=cover,gravity={gravity}"),
            Some((x, 0.0, 2000.0, 2000.0)),
        );
    }
}

#[test]
fn corpus_photos_match_the_reference() {
    for name in [
        "photo-13mp.jpg",
        "photo-13mp-progressive.jpg",
        "photo-20mp.jpg",
        "photo-2mp.jpg",
        "photo-small.jpg",
    ] {
        let Some(input) = corpus(name) else {
            return;
        };
        // The reference below is not colour-managed, and photo-small.jpg
        // carries an Adobe RGB profile that the engine converts to sRGB:
        // compare resampling alone. Colour is tested in tests/colour.rs.
        sweep(name, &without_icc_profile(&input));
    }
}

/// The JPEG without its APP2 `ICC_PROFILE` segments.
fn without_icc_profile(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA {
        let length = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        let end = (pos + 2 + length).min(jpeg.len());
        let is_icc = jpeg[pos + 1] == 0xE2 && jpeg[pos + 4..end].starts_with(b"ICC_PROFILE\0");
        if !is_icc {
            out.extend_from_slice(&jpeg[pos..end]);
        }
        pos = end;
    }
    out.extend_from_slice(&jpeg[pos..]);
    out
}

/// Progressive inputs at every decoding scale: libjpeg's default script
/// (4:2:0, where 1/8 decodes chroma from DC alone) and a mozjpeg-style
/// script (4:2:2) from the test writer, and grey.
#[test]
fn progressive_inputs_match_the_reference() {
    let card = test_card(1601, 1067).to_rgb8();
    let libjpeg = turbo_jpeg::progressive(&card, turbo_jpeg::S420, 92, 0);
    assert!(turbo_jpeg::is_progressive(&libjpeg));
    sweep("progressive 4:2:0 (libjpeg script)", &libjpeg);
    let coefficients = scan_script::coefficients(&card, scan_script::Sampling::S422);
    let mozjpeg = scan_script::write(&coefficients, &scan_script::mozjpeg_style(3), true, 0);
    sweep("progressive 4:2:2 (mozjpeg-style script)", &mozjpeg);
    let grey = scan_script::coefficients(&card, scan_script::Sampling::Grey);
    let grey = scan_script::write(&grey, &scan_script::libjpeg_default(1), true, 9);
    sweep("progressive grey with restarts", &grey);
}

/// One output width per decoding scale of a `width`-pixel source (1/8,
/// 1/8 between 8× and 12×, 1/4, 1/2, full size; the margin rule in
/// `turbo.rs`).
fn one_width_per_scale(width: u32) -> [u32; 5] {
    [
        width * 10 / 130,
        width * 10 / 115,
        width * 10 / 60,
        width * 10 / 30,
        width * 10 / 15,
    ]
}

fn at_every_scale(name: &str, input: &[u8]) {
    let full = full_size(input);
    for width in one_width_per_scale(full.width()) {
        let db = check(name, input, &full, &format!("width={width}"), None);
        eprintln!("{name} width={width}: {db:.1} dB");
    }
}

/// Progressive versions of the corpus photos, made here without touching a
/// coefficient: libjpeg's default script (jpegtran -progressive) on the
/// 20-megapixel photo and the 13-megapixel one, and the mozjpeg-style
/// script on the 13-megapixel photo's own coefficients.
#[test]
fn corpus_progressive_scripts_at_every_scale() {
    let (Some(photo_13mp), Some(photo_20mp)) = (corpus("photo-13mp.jpg"), corpus("photo-20mp.jpg"))
    else {
        return;
    };
    let photo_13mp = without_icc_profile(&photo_13mp);
    let libjpeg_20mp = turbo_jpeg::progressive_twin(&without_icc_profile(&photo_20mp));
    assert!(turbo_jpeg::is_progressive(&libjpeg_20mp));
    at_every_scale("20 MP, libjpeg script", &libjpeg_20mp);
    let libjpeg_13mp = turbo_jpeg::progressive_twin(&photo_13mp);
    at_every_scale("13 MP, libjpeg script", &libjpeg_13mp);
    let pixels = decode(&photo_13mp).to_rgb8();
    let coefficients = scan_script::coefficients(&pixels, scan_script::Sampling::S420);
    let mozjpeg = scan_script::write(&coefficients, &scan_script::mozjpeg_style(3), true, 0);
    at_every_scale("13 MP, mozjpeg-style script", &mozjpeg);
}

/// Generated progressive files at every scale: each subsampling with
/// libjpeg's default script (successive approximation of every AC band)
/// and the mozjpeg-style one, with and without restart markers.
#[test]
fn progressive_scripts_and_subsamplings_at_every_scale() {
    use scan_script::Sampling;
    let card = test_card(1601, 1067).to_rgb8();
    for sampling in [
        Sampling::Grey,
        Sampling::S444,
        Sampling::S422,
        Sampling::S440,
        Sampling::S420,
    ] {
        let coefficients = scan_script::coefficients(&card, sampling);
        let count = coefficients.components.len();
        for restart in [0u16, 5] {
            for (script, scans) in [
                ("libjpeg", scan_script::libjpeg_default(count)),
                ("mozjpeg-style", scan_script::mozjpeg_style(count)),
            ] {
                let input = scan_script::write(&coefficients, &scans, true, restart);
                at_every_scale(&format!("{sampling:?} {script} restart={restart}"), &input);
            }
        }
    }
}
