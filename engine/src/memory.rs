//! How much memory a job will need at its peak, predicted from the
//! original's header and the transform before anything is decoded, so a
//! scheduler can admit jobs against a memory budget (`image_memory`).
//!
//! The job's life has three phases, and the peak is the largest of them:
//!
//! * decode: the decoded pixels (at the shrink-on-load scale for JPEG), the
//!   decoder's own buffers (a progressive JPEG keeps every DCT coefficient
//!   of the full-size image; GIF and animated WebP compose a frame onto a
//!   canvas), and a conversion of 16-bit pixels to 8 bits;
//! * resize: the decoded pixels, the resized image and the resizer's
//!   intermediate (the horizontal pass over the kept rows);
//! * encode: the finished canvas, the step that made it (padding, rotation
//!   and flattening each copy the image once), and the encoder's working
//!   set, per output pixel.
//!
//! Each figure is per pixel and rounded up; `tests/memory.rs` checks the
//! predictions against the peak resident memory measured for real jobs.

use crate::codecs::{self, Header};
use crate::geometry::Plan;
use crate::{Compression, Error, ImageFormat, Limits, Transform};

/// Fixed costs of any job: codec tables, small row buffers (the
/// resampler's coefficient tables among them), allocator slack. 2 MB left
/// a 2000×1500 RGBA PNG → 1000 px WebP 0.1 MB short of its measured peak.
const BASE: u64 = 3 << 20;

/// Largest ancillary data a decoder keeps (see `codecs::decode`).
const ANCILLARY: u64 = 1 << 20;

/// Bytes per output pixel an encoder holds besides the image it encodes:
/// its own copy or conversion of the pixels, internal planes, and the
/// encoded output, measured with `tests/memory.rs`.
fn encoder_bytes_per_pixel(format: ImageFormat) -> u64 {
    match format {
        // libjpeg-turbo (`compression=fast`) reads rows in place; the
        // output is under a byte a pixel. The default encoder: see
        // `estimate`.
        ImageFormat::Jpeg => 2,
        // Filtered rows are small; the output can reach the raw size.
        ImageFormat::Png => 5,
        // libwebp: YUV planes, alpha, token buffers and the output.
        ImageFormat::Webp => 8,
        // An RGBA copy, the palette indices and the output.
        ImageFormat::Gif => 10,
        // ravif's RGB(A) copy and YUV planes, rav1e's source, reconstructed
        // and reference frames and its analysis buffers.
        ImageFormat::Avif => 40,
        // Not written (the pipeline picks an output format for them).
        ImageFormat::Tiff
        | ImageFormat::Bmp
        | ImageFormat::Ico
        | ImageFormat::Heic
        | ImageFormat::Json => 0,
    }
}

/// The predicted peak, in bytes, of transforming `input` with `transform`
/// under `limits`. Fails like [`process`](crate::process) would for an
/// original that is not an image or is over the limits, without decoding
/// it.
pub fn predict_memory(input: &[u8], transform: &Transform, limits: &Limits) -> Result<u64, Error> {
    let format = codecs::sniff_format(input)?;
    let header = codecs::read_header(input, format)?;
    crate::pipeline::check_source(&header, limits)?;
    let (plan, _) = crate::pipeline::plan_from_header(input, format, &header, transform);
    if transform.format == Some(ImageFormat::Json) {
        // Described from the header alone.
        return Ok(BASE);
    }
    // Formats the engine reads but does not write become JPEG, or PNG
    // when transparent, which only decoding tells: count the dearer PNG.
    let output = match transform.format {
        Some(output) => output,
        None if format.is_output() => format,
        None => ImageFormat::Png,
    };
    crate::pipeline::check_output(plan.canvas, output, limits)?;
    let shrink = if format == ImageFormat::Jpeg {
        codecs::jpeg_reduction_for(plan.reduction())
    } else {
        1
    };
    Ok(estimate(&header, format, &plan, shrink, output, transform).peak())
}

/// The three phases' needs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub decode: u64,
    pub resize: u64,
    pub encode: u64,
}

impl Estimate {
    pub fn peak(&self) -> u64 {
        self.decode.max(self.resize).max(self.encode) + BASE
    }
}

/// The pure arithmetic behind [`predict_memory`].
pub(crate) fn estimate(
    header: &Header,
    format: ImageFormat,
    plan: &Plan,
    shrink: u32,
    output: ImageFormat,
    transform: &Transform,
) -> Estimate {
    let full = u64::from(header.width) * u64::from(header.height);
    let shrink = u64::from(shrink.max(1));
    let decoded_w = u64::from(header.width).div_ceil(shrink);
    let decoded_h = u64::from(header.height).div_ceil(shrink);
    let decoded_px = decoded_w * decoded_h;

    // Bytes per decoded pixel as resampling sees it (16-bit images stay
    // 16-bit until after the resize), and the decoder's own needs.
    let pixel_bytes = u64::from(header.pixel_bytes.max(1));
    let (working, decode) = match format {
        ImageFormat::Jpeg => {
            let components = u64::from(header.pixel_bytes.clamp(1, 4));
            // Coefficients: 2 bytes per sample, full size whatever the
            // scale; baseline JPEGs stream through a few rows of blocks.
            // At 1/8 a progressive JPEG is decoded from its DC scans alone
            // (`codecs::dc_baseline`): one coefficient per block, rewritten
            // as a small baseline stream, and no whole-image buffer. (A
            // file that reader gives up on is decoded in full, within
            // libjpeg's own memory cap.)
            let samples = full * u64::from(header.sample_eighths.max(8)) / 8;
            let coefficients = match (header.progressive, shrink) {
                (false, _) => 0,
                (true, 8) => samples / 64 * 2,
                (true, _) => samples * 2,
            };
            if components == 4 {
                // CMYK: libjpeg-turbo's inks at the decoded scale, then
                // their RGB conversion.
                (3, decoded_px * (4 + 3) + coefficients)
            } else {
                (components, decoded_px * components + coefficients)
            }
        }
        // Decoded in place at its depth; colour conversion works in place
        // too. Ancillary chunks (iCCP, zTXt) are held while decoding.
        ImageFormat::Png => (pixel_bytes, full * pixel_bytes + ANCILLARY),
        // The strips as stored, and a conversion of them (CMYK to RGB,
        // floats to 16 bits).
        ImageFormat::Tiff => (pixel_bytes.min(8), full * pixel_bytes * 2),
        // The icon inside (a BMP or a PNG, up to 16-bit) and its copy.
        ImageFormat::Ico => (pixel_bytes, full * pixel_bytes * 2),
        ImageFormat::Bmp => (4, full * 4),
        // libheif's YUV planes (up to 16 bits a sample, 4:4:4), its
        // interleaved RGBA and the copy handed over: 8 bits a channel for
        // 8-bit HEVC, 16 for deeper (the header's `pixel_bytes` is 8 when
        // the `hvcC` says more than 8 bits, or says nothing).
        ImageFormat::Heic if pixel_bytes > 4 => (pixel_bytes, full * (6 + 8 + 8)),
        ImageFormat::Heic => (4, full * (6 + 4 + 4)),
        // The canvas the previous frames left, the frame being read and
        // its composition onto the canvas (see `codecs::decode`).
        ImageFormat::Gif | ImageFormat::Webp if header.frames > 1 => (4, full * 4 * 3),
        // Lossy WebP decodes through YUV planes; lossless through ARGB.
        ImageFormat::Webp => (4, full * 4 + full * 4),
        ImageFormat::Gif => (4, full * 4 + full),
        // dav1d's colour frame (YUV, 4:4:4 at most) and alpha frame stay
        // alive while they become RGB and then, with the alpha, RGBA: 16
        // bits a sample for a 10- or 12-bit file (the sequence header's
        // depth; `pixel_bytes` 8), 8 bits otherwise.
        ImageFormat::Avif if pixel_bytes > 4 => (pixel_bytes, full * (6 + 2 + 6 + 8)),
        ImageFormat::Avif => (4, full * (3 + 1 + 3 + 4)),
        // Never decoded: not an image.
        ImageFormat::Json => (4, full * 4),
    };
    let deep = working > 4;
    // Everything after resampling is 8 bits a channel.
    let channels = if deep { working / 2 } else { working };
    let decoded_bytes = decoded_px * working;

    let (resized_w, resized_h) = (u64::from(plan.resized.0), u64::from(plan.resized.1));
    let resized_bytes = resized_w * resized_h * working;
    // The horizontal pass keeps every decoded row of the crop at the new
    // width (per band, but bands overlap and are bounded by this).
    let intermediate = resized_w * decoded_h * working;
    // A 16-bit image is handed to the resizer as a copy in bytes, and its
    // result copied back, then narrowed to 8 bits.
    let deep_copies = if deep {
        decoded_bytes + resized_bytes + resized_w * resized_h * channels
    } else {
        0
    };
    let resize = decoded_bytes + resized_bytes + intermediate + deep_copies;

    let canvas_px = u64::from(plan.canvas.0) * u64::from(plan.canvas.1);
    let canvas_bytes = canvas_px * 4.max(channels);
    // Padding, rotating or flattening make a copy while the former image
    // is still alive.
    let copies = u64::from(plan.is_padded())
        + u64::from(transform.rotate != 0)
        + u64::from(output == ImageFormat::Jpeg && channels % 2 == 0);
    let making = if copies > 0 {
        resized_bytes.max(canvas_bytes)
    } else {
        0
    };
    let encoder = if output == ImageFormat::Jpeg && transform.compression != Compression::Fast {
        // jpegli quantises the whole image before writing any of it
        // (progressive scans, optimised Huffman tables).
        codecs::default_jpeg_working_set(plan.canvas.0, plan.canvas.1, channels, transform.quality)
    } else {
        canvas_px * encoder_bytes_per_pixel(output)
    };
    let encode = canvas_bytes + making + encoder;

    Estimate {
        decode,
        resize,
        encode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fit, Gravity};

    fn jpeg_header(width: u32, height: u32, progressive: bool) -> Header {
        Header {
            pixel_bytes: 3,
            progressive,
            sample_eighths: 12,
            ..Header::still(width, height)
        }
    }

    fn plan_for(header: &Header, width: u32) -> Plan {
        crate::geometry::plan(
            header.width,
            header.height,
            Some(width),
            None,
            Fit::ScaleDown,
            Gravity::Center,
        )
    }

    const MB: u64 = 1 << 20;

    #[test]
    fn progressive_jpegs_pay_for_their_coefficients() {
        let transform = Transform::default();
        let baseline = jpeg_header(4_000, 3_000, false);
        let progressive = jpeg_header(4_000, 3_000, true);
        let plan = plan_for(&baseline, 400);
        // Decoded at 1/8: 500 × 375 RGB, about half a megabyte.
        let small = estimate(
            &baseline,
            ImageFormat::Jpeg,
            &plan,
            8,
            ImageFormat::Jpeg,
            &transform,
        );
        assert!(small.peak() < BASE + 2 * MB, "{small:?}");
        // The coefficients of 12 megapixels at 4:2:0: 1.5 samples of 2
        // bytes per pixel, at any scale but 1/8...
        let plan_half = plan_for(&baseline, 2_000);
        let cost = |header: &Header| {
            estimate(
                header,
                ImageFormat::Jpeg,
                &plan_half,
                2,
                ImageFormat::Jpeg,
                &transform,
            )
            .decode
        };
        assert_eq!(cost(&progressive) - cost(&baseline), 12_000_000 * 3);
        // ...where the DC scans alone are read: one coefficient per block.
        let large = estimate(
            &progressive,
            ImageFormat::Jpeg,
            &plan,
            8,
            ImageFormat::Jpeg,
            &transform,
        );
        assert_eq!(large.decode - small.decode, 12_000_000 * 3 / 64);
    }

    #[test]
    fn shrink_on_load_is_counted() {
        let transform = Transform::default();
        let header = jpeg_header(4_000, 3_000, false);
        let plan = plan_for(&header, 400);
        let full = estimate(
            &header,
            ImageFormat::Jpeg,
            &plan,
            1,
            ImageFormat::Jpeg,
            &transform,
        );
        let eighth = estimate(
            &header,
            ImageFormat::Jpeg,
            &plan,
            8,
            ImageFormat::Jpeg,
            &transform,
        );
        assert_eq!(full.decode, 36_000_000);
        assert_eq!(eighth.decode, 500 * 375 * 3);
        assert!(full.resize > 30 * eighth.resize / 2);
    }

    #[test]
    fn avif_inputs_count_dav1d_frames_and_deep_pixels() {
        let header = Header {
            pixel_bytes: 8,
            ..Header::still(2_000, 1_000)
        };
        let plan = plan_for(&header, 2_000);
        let transform = Transform::default();
        let avif = estimate(
            &header,
            ImageFormat::Avif,
            &plan,
            1,
            ImageFormat::Png,
            &transform,
        );
        // Frames, RGB and RGBA at 16 bits alive together.
        assert_eq!(avif.decode, 2_000_000 * 22);
        // Resampled at 16 bits: more than an 8-bit PNG of the same size.
        let png = estimate(
            &Header::still(2_000, 1_000),
            ImageFormat::Png,
            &plan,
            1,
            ImageFormat::Png,
            &transform,
        );
        assert!(avif.resize > png.resize);
        // An 8-bit AVIF: the same frames and conversions at 8 bits, half.
        let eight_bit = estimate(
            &Header::still(2_000, 1_000),
            ImageFormat::Avif,
            &plan,
            1,
            ImageFormat::Png,
            &transform,
        );
        assert_eq!(eight_bit.decode, 2_000_000 * 11);
        assert_eq!(eight_bit.resize, png.resize);
    }

    #[test]
    fn deep_heic_inputs_count_sixteen_bits() {
        let plan = plan_for(&Header::still(2_000, 1_000), 2_000);
        let transform = Transform::default();
        let heic = |pixel_bytes| {
            let header = Header {
                pixel_bytes,
                ..Header::still(2_000, 1_000)
            };
            estimate(
                &header,
                ImageFormat::Heic,
                &plan,
                1,
                ImageFormat::Png,
                &transform,
            )
        };
        let (eight, deep) = (heic(4), heic(8));
        // YUV planes, libheif's interleaved RGB(A) and the copy.
        assert_eq!(eight.decode, 2_000_000 * 14);
        assert_eq!(deep.decode, 2_000_000 * 22);
        // Resampled at 16 bits.
        assert!(deep.resize > eight.resize);
    }

    #[test]
    fn outputs_cost_by_encoder() {
        let transform = Transform::default();
        let header = Header::still(2_000, 1_000);
        let plan = plan_for(&header, 2_000);
        let cost =
            |output| estimate(&header, ImageFormat::Png, &plan, 1, output, &transform).encode;
        let fast = Transform {
            compression: crate::Compression::Fast,
            ..Transform::default()
        };
        let fast_jpeg = estimate(
            &header,
            ImageFormat::Png,
            &plan,
            1,
            ImageFormat::Jpeg,
            &fast,
        );
        assert!(fast_jpeg.encode < cost(ImageFormat::Webp));
        assert!(cost(ImageFormat::Webp) < cost(ImageFormat::Avif));
        assert_eq!(cost(ImageFormat::Avif), 2_000_000 * (4 + 40));
    }

    #[test]
    fn the_default_jpeg_encoder_holds_the_whole_image() {
        let header = Header::still(2_000, 1_000);
        let plan = plan_for(&header, 2_000);
        let encode = |quality, compression| {
            let transform = Transform {
                quality,
                compression,
                ..Transform::default()
            };
            estimate(
                &header,
                ImageFormat::Png,
                &plan,
                1,
                ImageFormat::Jpeg,
                &transform,
            )
            .encode
        };
        let fast = encode(80, crate::Compression::Fast);
        let jpegli = encode(80, crate::Compression::Default);
        // Beyond libjpeg-turbo's rows: at least the quantised blocks of
        // the whole image (4:2:0, 1.5 samples of 2 bytes a pixel) and the
        // output...
        assert!(jpegli - fast >= 2_000_000 * (3 + 1), "{jpegli} vs {fast}");
        // ...but not a copy of the planes in floating point.
        assert!(jpegli - fast < 2_000_000 * 12, "{jpegli} vs {fast}");
        // Quality 90 keeps chroma whole: twice the samples.
        let whole_chroma = encode(90, crate::Compression::Default);
        assert!(
            whole_chroma > jpegli + 2_000_000 * 3,
            "{whole_chroma} vs {jpegli}"
        );
    }

    #[test]
    fn animations_hold_three_canvases_and_deep_pngs_stay_deep() {
        let transform = Transform::default();
        let still = Header::still(1_000, 1_000);
        let animated = Header {
            frames: 10,
            ..still
        };
        let deep = Header {
            pixel_bytes: 8,
            ..still
        };
        let plan = plan_for(&still, 100);
        let gif = estimate(
            &animated,
            ImageFormat::Gif,
            &plan,
            1,
            ImageFormat::Gif,
            &transform,
        );
        assert_eq!(gif.decode, 12_000_000);
        let png = estimate(
            &deep,
            ImageFormat::Png,
            &plan,
            1,
            ImageFormat::Png,
            &transform,
        );
        assert_eq!(png.decode, 8_000_000 + ANCILLARY);
        // Resampled at 16 bits: the source, its copy in bytes, and the
        // result (100 × 100) three times over, the last narrowed.
        let shallow = estimate(
            &still,
            ImageFormat::Png,
            &plan,
            1,
            ImageFormat::Png,
            &transform,
        );
        assert!(png.resize > 2 * shallow.resize, "{png:?} {shallow:?}");
    }

    #[test]
    fn headers_are_enough() {
        let transform = crate::parse("width=100,format=webp").expect("options");
        // 20000 × 20000 claimed by a 33-byte file: refused as too large,
        // never decoded.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let err = predict_memory(&png, &transform, &Limits::default()).expect_err("too large");
        assert_eq!(err.kind, crate::ErrorKind::TooManyPixels);
        // 2000 × 2000 RGBA: 16 MB of pixels decoded in place, then shrunk.
        png[16..20].copy_from_slice(&2_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&2_000u32.to_be_bytes());
        let bytes = predict_memory(&png, &transform, &Limits::default()).expect("predicted");
        assert!((16 * MB..24 * MB).contains(&bytes), "{bytes}");
    }
}
