//! The default JPEG encoder: mozjpeg's methods (trellis quantisation of
//! the DCT coefficients, optimised Huffman tables, overshoot deringing, its
//! progressive scan script) through `mozjpeg-rs`, a safe-Rust port whose
//! output matches C mozjpeg. It trades encode time for bytes: libjpeg-turbo
//! ([`super::turbo`]) stays the encoder of `compression=fast`.
//!
//! A second C libjpeg (mozjpeg-sys) would export the same `jpeg_*` symbols
//! as the libjpeg-turbo that decodes; this port has no C symbols at all.

use mozjpeg_rs::consts::STD_CHROMINANCE_QUANT_TBL;
use mozjpeg_rs::{Encoder, QuantTableIdx, Subsampling, TrellisConfig, DCTSIZE2};

use super::internal;
use super::turbo::{subsamples_chroma, Layout};
use crate::Error;

/// Encodes a tightly packed grey or RGB image at `quality` (1..=100).
/// Chroma as [`subsamples_chroma`] says, the rule of the libjpeg-turbo
/// path. The quantisation tables are the JPEG standard's (libjpeg's, libvips', not mozjpeg's default
/// ImageMagick ones), so `quality` means what it means everywhere else;
/// on the corpus photos they also need fewer bytes at equal SSIM
/// (`scripts/bench/bytes_ssim.py`).
pub(crate) fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Layout,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, Error> {
    let result = match layout {
        Layout::Grey => encoder(layout, quality, progressive)?.encode_gray(pixels, width, height),
        _ => encoder(layout, quality, progressive)?.encode_rgb(pixels, width, height),
    };
    result.map_err(|err| internal(&format!("JPEG encoding failed: {err}")))
}

/// Bytes the encoder holds while it encodes a `width`×`height` image,
/// besides the pixels it is given: its YCbCr planes (full size and
/// downsampled, padded to whole MCUs), every quantised block of the image
/// (progressive scans and the Huffman-optimisation pass go over the whole
/// image again, so nothing streams) and the output. The encoder's own
/// estimate for exactly the settings [`encode`] uses.
pub(crate) fn working_set(width: u32, height: u32, layout: Layout, quality: u8) -> u64 {
    // The progressive encoder holds the same buffers as the baseline one
    // (the estimate does not tell them apart); ask for the dearer.
    let Ok(encoder) = encoder(layout, quality, true) else {
        return 0;
    };
    let estimate = match layout {
        Layout::Grey => encoder.estimate_resources_gray(width, height),
        _ => encoder.estimate_resources(width, height),
    };
    estimate.peak_memory_bytes as u64
}

/// The trellis' rate-distortion weight, as mozjpeg's two log scales: a
/// block's distortion counts 2^15.5 / (2^16 + its AC energy) against its
/// bits, where mozjpeg's default is 2^14.75 / (2^16.5 + energy): distortion
/// weighs 2.4× mozjpeg's in flat blocks (skies, skin, where a zeroed
/// coefficient shows as banding or blocking) and 1.7× in busy ones (where
/// texture masks it), so the trellis zeroes less and less in flat areas.
/// The numbers are on [`encoder`].
const LAMBDA_LOG_SCALE: (f32, f32) = (15.5, 16.0);

/// The chroma quantisation table: the JPEG standard's times 7/8 (before
/// `quality` scales it). The trellis zeroes chroma coefficients as readily
/// as luma ones, and with the standard table the chroma came out worse than
/// libjpeg-turbo's at equal luma SSIM (SSIM on Cb and Cr 0.9304 against
/// libvips' 0.9335 on the 13 MP photo); 7/8 brings it level or better on
/// every corpus photo for 1-1.5 % of bytes. Grey images have no chroma.
fn chroma_table() -> [u16; DCTSIZE2] {
    STD_CHROMINANCE_QUANT_TBL[QuantTableIdx::JpegAnnexK as usize]
        .map(|q| ((u32::from(q) * 7 + 4) / 8).max(1) as u16)
}

/// The encoder [`encode`] uses.
///
/// Measured on the 400 px outputs of the corpus photos (the module's own
/// resize encoded by each setting and by libvips, bytes at equal luma SSIM:
/// `scripts/bench/jpeg_settings.py`; instructions per encode with
/// callgrind), against mozjpeg's full set (progressive, AC and DC trellis,
/// deringing, optimised Huffman tables):
///
/// * The rate-distortion weight ([`LAMBDA_LOG_SCALE`]) and the chroma table
///   ([`chroma_table`]) are not mozjpeg's. Bytes against libvips' default
///   (baseline) JPEG at equal luma SSIM, 13 MP / 20 MP / 2 MP / small photo:
///   mozjpeg's weight and the standard tables -10.3 / -6.1 / -13.0 / -3.3 %,
///   but with chroma worse than libvips' at those points (SSIM on Cb and Cr
///   0.9304 vs 0.9335 on 13 MP, 0.8695 vs 0.8722 on the small one) and only
///   -1.9 / -7.7 / -11.9 / -1.0 % at equal SSIMULACRA2, a perceptual score
///   that sees colour and blocking. These settings: -9.5 / -5.2 / -9.4 /
///   -3.8 % at equal luma SSIM, chroma level with or better than libvips'
///   on all four, -10.0 / -7.6 / -6.3 / -4.5 % at equal SSIMULACRA2; +0.3 %
///   instructions (60.1 M for the small photo's 400 px).
/// * Not reached: 8 % fewer bytes on every photo. The 20 MP photo (smooth,
///   SSIM 0.986) and the small one (busy texture, SSIM 0.955) leave the
///   trellis little to zero that luma SSIM does not charge for. The best of
///   everything measured, chroma aside: -7.2 % on 20 MP (`optimize_scans`)
///   and -6.0 % on the small photo (baseline scans, weight 15/15).
/// * mozjpeg's tuning presets, with the standard tables: `-tune-ssim`'s
///   weight (11.5 / 12.75) +2.2 / +6.7 / -8.6 / +1.7 %, `-tune-ms-ssim`'s
///   (12 / 13) -1.7 / +3.9 / -9.7 / -1.0 %, `-tune-psnr`'s (9 / 0) -10.1 /
///   -4.1 / -13.9 / -0.3 % with chroma further behind. With `-tune-ssim`'s
///   flat table (at quality 55, to meet the same SSIM) -9.8 % on 20 MP and
///   -18.8 % on the small photo by luma SSIM, but +1.1 % and +19.2 % by
///   SSIMULACRA2: luma SSIM rewards the high frequencies a flat table keeps
///   and misses the blocking it leaves in flat areas.
/// * `freq_split` does nothing in this encoder (only the `optimize_scans`
///   search reads it); `delta_dc_weight` acts through the DC trellis, which
///   with a weight of 1 saved less (-2.8 % on 20 MP, -0.6 % on the small
///   photo, against -6.1 / -3.3 %); so did input smoothing (-2.5 / -1.6 %).
/// * DC trellis is off: it cost 12-14 % of the encode (93 → 80 M
///   instructions for the 13 MP photo's 400×300, 60 → 49 M for the 2 MP
///   photo's) and moved the bytes by under 0.1 % either way. It also kept
///   a second whole-image copy of the coefficients, 4 bytes a sample.
/// * AC trellis stays: without it the output grows 7 % (13 MP: 28,328 vs
///   26,447 bytes at a slightly higher SSIM, +0.2 % against libvips at
///   equal SSIM instead of -3.7 %). It is half of what remains.
/// * The progressive scans stay for `format=jpeg` (Cloudflare's meaning);
///   they cost 40 % more instructions than baseline for 1-3 % fewer bytes
///   on the large photos (and a few per cent more on small ones). libjpeg-
///   turbo's lossless rewrite of a baseline file into progressive costs
///   about as much (`jpegtran -progressive`: 20 M instructions).
/// * Faster trellis search limits (`TrellisSpeedMode::Level(10)`): 2 %
///   fewer instructions; no deringing: 1 %; neither worth a setting.
/// * mozjpeg's other quantisation tables (ImageMagick's, MS-SSIM-tuned,
///   PSNR-HVS, Klein...) all needed more bytes at equal SSIM than Annex K
///   on 3 of the 4 photos; the flat table wins only by moving the
///   comparison above quality 90, where libvips stops subsampling chroma.
/// * `optimize_scans` (trying scan scripts) costs 3× the progressive
///   encode (80 → 220 M instructions on 13 MP, 60 → 186 M on the small
///   photo) for +1.7 % (13 MP) to -7 % (2 MP) of bytes with these settings.
///   It is the only other scan layout the crate offers; baseline, smaller
///   on the 2 MP and small photos, is not progressive.
/// * The crate's `simd` and `fast-yuv` features speed up only the colour
///   conversion, which is 1 % of the encode (the DCT already uses AVX2
///   without them): not worth a dependency.
fn encoder(layout: Layout, quality: u8, progressive: bool) -> Result<Encoder, Error> {
    let subsampling = match layout {
        Layout::Grey => Subsampling::Gray,
        Layout::Rgb if subsamples_chroma(quality) => Subsampling::S420,
        Layout::Rgb => Subsampling::S444,
        Layout::Cmyk => return Err(internal("the JPEG encoder takes grey or RGB")),
    };
    let trellis = TrellisConfig {
        dc_enabled: false,
        lambda_log_scale1: LAMBDA_LOG_SCALE.0,
        lambda_log_scale2: LAMBDA_LOG_SCALE.1,
        ..TrellisConfig::default()
    };
    // Progressive: mozjpeg's fixed scan script (the `optimize_scans` search
    // over scan scripts doubles the encode time for about 1 % of bytes).
    let encoder = if progressive {
        Encoder::progressive_balanced()
    } else {
        Encoder::baseline_optimized()
    };
    Ok(encoder
        .quant_tables(QuantTableIdx::JpegAnnexK)
        .custom_chroma_qtable(chroma_table())
        .quality(quality.clamp(1, 100))
        .subsampling(subsampling)
        .trellis(trellis))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo-like test card: smooth gradients with fine texture on top,
    /// which is where trellis quantisation earns its bytes.
    fn card(width: u32, height: u32) -> Vec<u8> {
        (0..height)
            .flat_map(|y| {
                (0..width).flat_map(move |x| {
                    let texture = ((x * 7 + y * 13) % 17) as u8 * 3;
                    [
                        (x * 200 / width) as u8 + texture,
                        (y * 200 / height) as u8 + texture / 2,
                        ((x + y) * 100 / (width + height)) as u8 + 40,
                    ]
                })
            })
            .collect()
    }

    fn decode(jpeg: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("decodes")
    }

    #[test]
    fn encodes_rgb_and_grey_in_both_modes() {
        let (width, height) = (97, 61); // not a multiple of the MCU
        let rgb = card(width, height);
        let grey: Vec<u8> = rgb.chunks(3).map(|p| p[1]).collect();
        for progressive in [false, true] {
            let jpeg = encode(&rgb, width, height, Layout::Rgb, 80, progressive).expect("rgb");
            let image = decode(&jpeg);
            assert_eq!((image.width(), image.height()), (width, height));
            assert!(image.color().has_color());
            // SOF2 for progressive, SOF0 for baseline.
            let sof = if progressive { 0xC2 } else { 0xC0 };
            assert!(jpeg.windows(2).any(|w| w == [0xFF, sof]), "{progressive}");

            let jpeg = encode(&grey, width, height, Layout::Grey, 80, progressive).expect("grey");
            assert!(!decode(&jpeg).color().has_color());
        }
    }

    #[test]
    fn quality_90_keeps_chroma_whole() {
        let (width, height) = (64, 48);
        let rgb = card(width, height);
        for (quality, luma_factors) in [(80, 0x22), (90, 0x11)] {
            let jpeg = encode(&rgb, width, height, Layout::Rgb, quality, true).expect("encodes");
            let sof = jpeg
                .windows(2)
                .position(|w| w == [0xFF, 0xC2])
                .expect("frame header");
            // Marker (2), length (2), precision (1), size (4), count (1),
            // then the first component: id, sampling factors.
            assert_eq!(jpeg[sof + 11], luma_factors, "quality {quality}");
        }
    }

    #[test]
    fn smaller_than_libjpeg_turbo_at_the_same_fidelity() {
        // The same image through both encoders, each at the quality where
        // its error against the original is about the same: the trellis
        // encoder must need fewer bytes. Error is the mean absolute
        // difference of the decoded pixels.
        let (width, height) = (256, 192);
        let rgb = card(width, height);
        let error = |jpeg: &[u8]| {
            let decoded = decode(jpeg).to_rgb8();
            let sum: u64 = decoded
                .as_raw()
                .iter()
                .zip(&rgb)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            sum as f64 / rgb.len() as f64
        };
        let turbo = super::super::turbo::encode_with(&rgb, width, height, Layout::Rgb, 80, true)
            .expect("libjpeg-turbo");
        let target = error(&turbo);
        // The smallest trellis output at least as faithful as libjpeg-turbo's.
        let trellis = (50..=100)
            .map(|q| encode(&rgb, width, height, Layout::Rgb, q, true).expect("trellis"))
            .find(|jpeg| error(jpeg) <= target)
            .expect("some quality is as faithful");
        assert!(
            trellis.len() < turbo.len(),
            "trellis {} bytes, libjpeg-turbo {} bytes",
            trellis.len(),
            turbo.len()
        );
    }

    #[test]
    fn fits_the_output_budget_webp_fits() {
        // The default output budget (12 MP, `Limits::DEFAULT`) was set by
        // WebP, the slowest encoder held to it (3.6 s of a photo on one
        // core): the trellis encoder, which checks for a stop only before
        // and after, must not be slower than libwebp on the same image.
        // Measured here side by side, best of three, so a loaded machine
        // slows both alike.
        let (width, height) = (1_200, 900);
        let rgb = card(width, height);
        let image = image::DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(width, height, rgb.clone()).expect("buffer"),
        );
        let best = |run: &dyn Fn()| {
            (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    run();
                    start.elapsed()
                })
                .min()
                .expect("three runs")
        };
        let trellis = best(&|| {
            encode(&rgb, width, height, Layout::Rgb, 85, true).expect("trellis");
        });
        let webp = best(&|| {
            super::super::encode(&image, crate::ImageFormat::Webp, 85).expect("webp");
        });
        assert!(
            trellis < webp.mul_f64(1.5),
            "trellis {trellis:?}, libwebp {webp:?}"
        );
    }

    #[test]
    fn flat_areas_keep_more_than_with_mozjpegs_default_weight() {
        // A gentle gradient with faint noise, the kind of area where
        // mozjpeg's default rate-distortion weight zeroes the small
        // coefficients that keep it smooth: the module's weight must keep
        // it closer to the original, for a few more bytes.
        let (width, height) = (128_u32, 96_u32);
        let rgb: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                let noise = ((x * 31 + y * 17).wrapping_mul(2_654_435_761) >> 28) as u8 % 3;
                [60 + (x / 2) as u8 + noise, 90 + (y / 2) as u8, 120 + noise]
            })
            .collect();
        let error = |jpeg: &[u8]| {
            let decoded = decode(jpeg).to_rgb8();
            let sum: u64 = decoded
                .as_raw()
                .iter()
                .zip(&rgb)
                .map(|(a, b)| u64::from(a.abs_diff(*b)).pow(2))
                .sum();
            sum as f64 / rgb.len() as f64
        };
        let ours = encode(&rgb, width, height, Layout::Rgb, 80, true).expect("ours");
        let mozjpegs = encoder(Layout::Rgb, 80, true)
            .expect("encoder")
            .trellis(TrellisConfig {
                dc_enabled: false,
                ..TrellisConfig::default()
            })
            .encode_rgb(&rgb, width, height)
            .expect("mozjpeg's weight");
        assert!(
            error(&ours) < error(&mozjpegs),
            "squared error {} vs {}",
            error(&ours),
            error(&mozjpegs)
        );
        assert!(
            ours.len() >= mozjpegs.len(),
            "{} vs {}",
            ours.len(),
            mozjpegs.len()
        );
    }

    #[test]
    fn chroma_finer_than_with_the_standard_table() {
        // Chroma error (on Cb and Cr) of the card against the same encoder
        // with the standard chroma table: the 7/8 table must keep more.
        let (width, height) = (128, 96);
        let rgb = card(width, height);
        let chroma = |pixel: &[u8]| {
            let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(f64::from);
            [
                -0.1687 * r - 0.3313 * g + 0.5 * b,
                0.5 * r - 0.4187 * g - 0.0813 * b,
            ]
        };
        let error = |jpeg: &[u8]| {
            let decoded = decode(jpeg).to_rgb8();
            decoded
                .as_raw()
                .chunks(3)
                .zip(rgb.chunks(3))
                .flat_map(|(a, b)| {
                    let (a, b) = (chroma(a), chroma(b));
                    [(a[0] - b[0]).powi(2), (a[1] - b[1]).powi(2)]
                })
                .sum::<f64>()
        };
        let ours = encode(&rgb, width, height, Layout::Rgb, 80, true).expect("ours");
        let standard = encoder(Layout::Rgb, 80, true)
            .expect("encoder")
            .custom_chroma_qtable(STD_CHROMINANCE_QUANT_TBL[0])
            .encode_rgb(&rgb, width, height)
            .expect("standard chroma table");
        assert!(
            error(&ours) < error(&standard),
            "chroma squared error {} vs {}",
            error(&ours),
            error(&standard)
        );
    }

    #[test]
    fn wrong_buffers_are_errors_not_panics() {
        let err = encode(&[0; 10], 4, 4, Layout::Rgb, 80, true).expect_err("short buffer");
        assert_eq!(err.kind, crate::ErrorKind::Internal);
        assert!(encode(&[0; 0], 0, 0, Layout::Grey, 80, false).is_err());
        assert!(encode(&[0; 64], 4, 4, Layout::Cmyk, 80, false).is_err());
    }
}
