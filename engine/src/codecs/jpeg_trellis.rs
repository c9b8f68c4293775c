//! The default JPEG encoder: mozjpeg's methods (trellis quantisation of
//! the DCT coefficients, optimised Huffman tables, overshoot deringing, its
//! progressive scan script) through `mozjpeg-rs`, a safe-Rust port whose
//! output matches C mozjpeg. It trades encode time for bytes: libjpeg-turbo
//! ([`super::turbo`]) stays the encoder of `compression=fast`.
//!
//! A second C libjpeg (mozjpeg-sys) would export the same `jpeg_*` symbols
//! as the libjpeg-turbo that decodes; this port has no C symbols at all.

use mozjpeg_rs::{Encoder, QuantTableIdx, Subsampling, TrellisConfig};

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

/// The encoder [`encode`] uses.
///
/// Measured on the 400 px outputs of the corpus photos (the module's own
/// resize encoded by each setting and by libvips, bytes at equal luma SSIM:
/// `scripts/bench/jpeg_settings.py`; instructions per encode with
/// callgrind), against mozjpeg's full set (progressive, AC and DC trellis,
/// deringing, optimised Huffman tables):
///
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
/// * `optimize_scans` (trying scan scripts) doubles the progressive cost
///   for -2 % to +2 % of bytes.
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
    fn wrong_buffers_are_errors_not_panics() {
        let err = encode(&[0; 10], 4, 4, Layout::Rgb, 80, true).expect_err("short buffer");
        assert_eq!(err.kind, crate::ErrorKind::Internal);
        assert!(encode(&[0; 0], 0, 0, Layout::Grey, 80, false).is_err());
        assert!(encode(&[0; 64], 4, 4, Layout::Cmyk, 80, false).is_err());
    }
}
