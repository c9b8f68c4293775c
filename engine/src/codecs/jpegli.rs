//! The default JPEG encoder: jpegli, the JPEG encoder of the JPEG XL
//! project (libjxl's `lib/jpegli`, BSD-3-Clause), built from the source the
//! `jpegli-sys` crate bundles and linked statically. libjpeg-turbo
//! ([`super::turbo`]) stays the encoder of `compression=fast`.
//!
//! jpegli writes ordinary JPEG files (any decoder reads them) but computes
//! them more precisely than libjpeg: a floating-point DCT straight from the
//! 8-bit pixels, quantisation tables and per-coefficient dead zones tuned
//! on perceptual scores, chroma tables adjusted for 4:2:0. Its API is
//! libjpeg's under the `jpegli_` prefix, so it links beside the
//! libjpeg-turbo that decodes without a symbol clash.
//!
//! The C++ library reports errors through libjpeg's `error_exit`, which
//! must not return: here it unwinds (`resume_unwind`) back through jpegli's
//! frames, built with unwind tables and declared `C-unwind` by the binding,
//! to the `catch_unwind` in [`encode`]. jpegli's memory belongs to the
//! compressor and [`Compressor`]'s `Drop` releases it whichever way the
//! encode ends; the output buffer is a Rust `Vec`.

use std::os::raw::c_int;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use jpegli_sys as ffi;

use super::internal;
use super::turbo::{subsamples_chroma, Layout};
use crate::Error;

// Parts of jpegli's API (lib/jpegli/encode.h) that jpegli-sys 0.1 does not
// declare; the static library it builds defines them.
extern "C-unwind" {
    fn jpegli_enable_adaptive_quantization(
        cinfo: *mut ffi::jpegli_compress_struct,
        value: ffi::boolean,
    );
    fn jpegli_set_progressive_level(cinfo: *mut ffi::jpegli_compress_struct, level: c_int);
    fn jpegli_quality_to_distance(quality: c_int) -> f32;
}

/// Rows handed to jpegli between two checks for a stop.
const ROWS_PER_CHECK: u32 = 64;

/// Encodes a tightly packed grey or RGB image at `quality` (1..=100),
/// progressive when asked, with the module's [`Tuning`]. Chroma as
/// [`subsamples_chroma`] says, the rule of the libjpeg-turbo path. `check`
/// is asked every [`ROWS_PER_CHECK`] rows whether to go on, so a job past
/// its deadline stops part-way.
pub(crate) fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Layout,
    quality: u8,
    progressive: bool,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let tuning = Tuning {
        progressive_level: if progressive { 2 } else { 0 },
        ..Tuning::MODULE
    };
    encode_tuned(pixels, width, height, layout, quality, &tuning, check)
}

/// [`encode`] with any [`Tuning`], for `examples/jpeg_settings.rs`.
pub(crate) fn encode_tuned(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Layout,
    quality: u8,
    tuning: &Tuning,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let (components, colour_space) = match layout {
        Layout::Grey => (1, ffi::J_COLOR_SPACE::JCS_GRAYSCALE),
        Layout::Rgb => (3, ffi::J_COLOR_SPACE::JCS_RGB),
        Layout::Cmyk => return Err(internal("the JPEG encoder takes grey or RGB")),
    };
    let stride = width as usize * components;
    if width == 0 || height == 0 || width > 65_535 || height > 65_535 {
        return Err(internal("JPEG sides are 1 to 65,535 pixels"));
    }
    if pixels.len() != stride * height as usize {
        return Err(internal("the pixel buffer does not match the image size"));
    }
    let quality = quality.clamp(1, 100);
    let subsampled = match tuning.subsampled {
        Some(subsampled) => subsampled && layout == Layout::Rgb,
        None => layout == Layout::Rgb && subsamples_chroma(quality),
    };
    let ratio = if subsampled {
        tuning.chroma_distance_420
    } else {
        tuning.chroma_distance_444
    };
    let settings = Settings {
        width,
        height,
        components: components as c_int,
        colour_space,
        quality: c_int::from(quality),
        chroma_quality: quality_at_distance(ratio * distance(c_int::from(quality))),
        subsampled,
        adaptive_quantisation: tuning.adaptive_quantisation,
        progressive_level: c_int::from(tuning.progressive_level),
    };
    compress(pixels, stride, &settings, check)
}

/// Runs a compressor over `pixels`, rows of `stride` bytes. An error jpegli
/// raises becomes an internal error; a stop from `check`, that error.
fn compress(
    pixels: &[u8],
    stride: usize,
    settings: &Settings,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut compressor = Compressor::new(pixels.len() / 8);
    let run = catch_unwind(AssertUnwindSafe(|| {
        compressor.start(settings);
        for (index, row) in pixels.chunks_exact(stride).enumerate() {
            if (index as u32).is_multiple_of(ROWS_PER_CHECK) {
                check()?;
            }
            compressor.write_row(row);
        }
        compressor.finish();
        Ok(())
    }));
    match run {
        Ok(Ok(())) => Ok(compressor.into_output()),
        Ok(Err(stopped)) => Err(stopped),
        Err(payload) => match payload.downcast::<JpegliError>() {
            Ok(error) => Err(internal(&format!("JPEG encoding failed: {}", error.0))),
            Err(other) => resume_unwind(other),
        },
    }
}

/// jpegli's distance (its Butteraugli target: 1.0 is "visually lossless",
/// larger is coarser) for a libjpeg-style `quality`.
fn distance(quality: c_int) -> f32 {
    // SAFETY: a pure function of its argument (any int is accepted).
    unsafe { jpegli_quality_to_distance(quality) }
}

/// The quality (1..=100) whose distance is nearest `target`.
fn quality_at_distance(target: f32) -> c_int {
    (1..=100)
        .min_by(|&a, &b| {
            let (a, b) = ((distance(a) - target).abs(), (distance(b) - target).abs());
            a.total_cmp(&b)
        })
        .unwrap_or(100)
}

/// Bytes the encoder holds while it encodes a `width`×`height` image of
/// `layout` at `quality`, besides the pixels it is given. Progressive
/// scans and optimised Huffman tables need every quantised coefficient
/// before the first byte is written (2 bytes a sample, 1.5 samples a
/// pixel in 4:2:0, 3 in 4:4:4, 1 in grey), plus jpegli's token buffers
/// and the output. Measured peaks (heap, massif) of a 4000×3000 photo at
/// quality 80 beside the 36 MB input: 4.2 bytes a pixel in 4:2:0, 7.9 in
/// 4:4:4; these allow 3 bytes a sample and 2 a pixel for the output.
pub(crate) fn working_set(width: u32, height: u32, layout: Layout, quality: u8) -> u64 {
    let samples_per_4_pixels: u64 = match layout {
        Layout::Grey => 4,
        Layout::Rgb if subsamples_chroma(quality) => 6,
        Layout::Rgb | Layout::Cmyk => 12,
    };
    let pixels = u64::from(width) * u64::from(height);
    pixels * samples_per_4_pixels * 3 / 4 + pixels * 2
}

/// The choices jpegli leaves open. [`Tuning::MODULE`] is what the module
/// uses; `examples/jpeg_settings.rs` measures the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Chroma's distance over luma's when chroma is subsampled (4:2:0).
    pub chroma_distance_420: f32,
    /// The same with chroma at full resolution (4:4:4, quality 90 and up).
    pub chroma_distance_444: f32,
    /// jpegli's adaptive quantisation (more zeroes where its perceptual
    /// model says texture hides them).
    pub adaptive_quantisation: bool,
    /// 0 is baseline; jpegli's progressive scripts are 1 and 2.
    pub progressive_level: u8,
    /// Chroma subsampling forced on or off; `None` follows
    /// [`subsamples_chroma`].
    pub subsampled: Option<bool>,
}

impl Tuning {
    /// Luma at `quality` with jpegli's own table; chroma at a distance
    /// that keeps its SSIM (on Cb and Cr) level with or better than
    /// libvips' at the same luma SSIM on every corpus photo; no adaptive
    /// quantisation; jpegli's level-2 progressive script.
    ///
    /// Measured with `scripts/bench/jpeg_settings.py` (the module's 400 px
    /// resize of each corpus photo encoded by each setting and by libvips;
    /// bytes against libvips' baseline JPEG at equal luma SSIM, SSIM on
    /// Cb/Cr and SSIMULACRA2 beside it), quality 80, 13 MP / 20 MP / 2 MP
    /// / small photo:
    ///
    /// * These settings: -8.9 / -14.2 / -23.6 / -21.3 % at equal luma SSIM
    ///   (mean -17.0 %), -15.4 / -12.3 / -26.6 / -10.3 % at equal
    ///   SSIMULACRA2, chroma SSIM 0.9434 / 0.9743 / 0.9873 / 0.8822 against
    ///   libvips' 0.9302 / 0.9744 / 0.9861 / 0.8807.
    /// * jpegli's defaults (chroma at luma's distance, adaptive
    ///   quantisation): -19.4 / -17.8 / -35.2 / -5.9 % at equal
    ///   SSIMULACRA2 but only +0.6 / -5.0 / -20.2 / -1.7 % at equal luma
    ///   SSIM: it spends on chroma (0.9583 against 0.9254 on 13 MP), which
    ///   luma SSIM does not see. A chroma distance of 2.4× luma's brings
    ///   chroma level with libvips' (at 2.2×: ahead, and 13 MP at -7.9 %;
    ///   at 2.7×: 13 MP -9.6 % but the 20 MP and small photos' chroma behind).
    /// * Adaptive quantisation, at the same chroma distance: -9.3 / -10.4 /
    ///   -25.7 / -14.4 % with chroma level or just behind, -8.3 / -10.5 /
    ///   -26.2 / -12.2 % at equal SSIMULACRA2, for 5-11 % more
    ///   instructions.
    /// * The JPEG standard's chroma table (libvips') instead of jpegli's at
    ///   a distance: at the same quality -8.6 / -12.2 / -22.0 / -20.7 %
    ///   with the small photo's chroma behind (0.8729 against 0.8806); at
    ///   0.7× to bring it level, 13 MP drops to -5.1 %.
    /// * Progressive level 1 instead of 2: 0.8-1.4 % more bytes (8.8 % on 2 MP);
    ///   baseline (`baseline-jpeg`, level 0): see `bench/results.md`.
    /// * At quality 90 (4:4:4 in both encoders) jpegli's chroma tables are
    ///   coarser than the standard one: chroma at luma's distance is behind
    ///   libvips' on three photos (0.9764 against 0.9833 on 13 MP); at
    ///   0.55× it is level or ahead on all four, for -14.8 / -17.5 / -9.2 /
    ///   -20.2 % at equal luma SSIM and -12.9 / -20.8 / -27.1 / -15.2 % at
    ///   equal SSIMULACRA2.
    /// * At quality 70 and 60 (2.4×): means -15.2 % and -15.5 % at equal
    ///   luma SSIM (13 MP -6.7 % and -6.2 %), -16.7 % and -17.6 % at
    ///   equal SSIMULACRA2, chroma level or ahead on all four.
    pub const MODULE: Tuning = Tuning {
        chroma_distance_420: 2.4,
        chroma_distance_444: 0.55,
        adaptive_quantisation: false,
        progressive_level: 2,
        subsampled: None,
    };
}

/// What [`Compressor::start`] sets up.
struct Settings {
    width: u32,
    height: u32,
    components: c_int,
    colour_space: ffi::J_COLOR_SPACE,
    quality: c_int,
    chroma_quality: c_int,
    subsampled: bool,
    adaptive_quantisation: bool,
    progressive_level: c_int,
}

/// A jpegli compressor with its error handler and output. Boxed, because
/// jpegli keeps pointers to the error handler and the destination.
struct Compressor {
    cinfo: ffi::jpegli_compress_struct,
    error: ffi::jpegli_error_mgr,
    destination: Destination,
    created: bool,
}

/// The destination manager first, so that jpegli's pointer to it is a
/// pointer to the whole (`repr(C)`): the callbacks find the `Vec` from it.
#[repr(C)]
struct Destination {
    manager: ffi::jpegli_destination_mgr,
    output: Vec<u8>,
}

/// The message of an error jpegli raised, carried by the unwind.
struct JpegliError(String);

impl Compressor {
    fn new(expected_output: usize) -> Box<Compressor> {
        // SAFETY: both structs are plain C data (integers, raw pointers and
        // `Option`s of function pointers) for which all-zeroes is the
        // "unset" value libjpeg's API expects before it fills them in.
        let (cinfo, error) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        Box::new(Compressor {
            cinfo,
            error,
            destination: Destination {
                manager: ffi::jpegli_destination_mgr {
                    next_output_byte: std::ptr::null_mut(),
                    free_in_buffer: 0,
                    init_destination: Some(init_destination),
                    empty_output_buffer: Some(empty_output_buffer),
                    term_destination: Some(term_destination),
                },
                output: Vec::with_capacity(expected_output.max(4096)),
            },
            created: false,
        })
    }

    /// Creates the compressor and starts it. Raises a [`JpegliError`]
    /// unwind on failure; [`encode`] catches it.
    fn start(&mut self, settings: &Settings) {
        let cinfo = &mut self.cinfo;
        // SAFETY: `self` is boxed, so the error handler and the destination
        // stay where jpegli's pointers to them point until `Drop` destroys
        // the compressor. The calls follow libjpeg's order (create,
        // parameters, start), and every parameter set here is in range.
        unsafe {
            ffi::jpegli_std_error(&mut self.error);
            self.error.error_exit = Some(error_exit);
            self.error.emit_message = Some(ignore_message);
            cinfo.common.err = &mut self.error;
            ffi::jpegli_CreateCompress(
                cinfo,
                80, // JPEG_LIB_VERSION of the API jpegli-sys binds
                std::mem::size_of::<ffi::jpegli_compress_struct>(),
            );
            self.created = true;
            cinfo.dest = &mut self.destination.manager;
            cinfo.image_width = settings.width;
            cinfo.image_height = settings.height;
            cinfo.input_components = settings.components;
            cinfo.in_color_space = settings.colour_space;
            ffi::jpegli_set_defaults(cinfo);
            // Sampling before the tables: jpegli picks its chroma tables
            // for the sampling it finds.
            let components =
                std::slice::from_raw_parts_mut(cinfo.comp_info, cinfo.num_components as usize);
            let luma_factor = if settings.subsampled { 2 } else { 1 };
            for (index, component) in components.iter_mut().enumerate() {
                let factor = if index == 0 { luma_factor } else { 1 };
                component.h_samp_factor = factor;
                component.v_samp_factor = factor;
            }
            // libjpeg's per-table qualities (scale factors), which jpegli
            // turns into a distance per table; baseline-compatible
            // (8-bit) tables.
            cinfo.q_scale_factor[0] = ffi::jpegli_quality_scaling(settings.quality);
            cinfo.q_scale_factor[1] = ffi::jpegli_quality_scaling(settings.chroma_quality);
            ffi::jpegli_default_qtables(cinfo, 1);
            jpegli_enable_adaptive_quantization(
                cinfo,
                ffi::boolean::from(settings.adaptive_quantisation),
            );
            jpegli_set_progressive_level(cinfo, settings.progressive_level);
            cinfo.optimize_coding = 1;
            ffi::jpegli_start_compress(cinfo, 1);
        }
    }

    /// Hands jpegli one row of `input_components` bytes a pixel.
    fn write_row(&mut self, row: &[u8]) {
        let rows = [row.as_ptr()];
        // SAFETY: the compressor was started for rows of exactly this
        // length; jpegli reads the row before the call returns.
        unsafe {
            ffi::jpegli_write_scanlines(&mut self.cinfo, rows.as_ptr(), 1);
        }
    }

    fn finish(&mut self) {
        // SAFETY: every row has been written; jpegli flushes the scans
        // through the destination callbacks.
        unsafe { ffi::jpegli_finish_compress(&mut self.cinfo) }
    }

    fn into_output(mut self: Box<Self>) -> Vec<u8> {
        std::mem::take(&mut self.destination.output)
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        if self.created {
            // SAFETY: created by jpegli_CreateCompress and not destroyed
            // yet; destroying releases all of jpegli's memory whatever
            // state an error or a stop left it in.
            unsafe { ffi::jpegli_destroy_compress(&mut self.cinfo) }
        }
    }
}

/// Points jpegli at the spare capacity of the output `Vec`.
fn expose_spare(destination: &mut Destination) {
    let output = &mut destination.output;
    if output.capacity() == output.len() {
        output.reserve(output.len().max(4096));
    }
    let spare = output.spare_capacity_mut();
    destination.manager.free_in_buffer = spare.len();
    destination.manager.next_output_byte = spare.as_mut_ptr().cast();
}

// The three destination callbacks are only called by jpegli, on a
// Compressor's cinfo, whose `dest` points to the `manager` that is the first
// field of the `repr(C)` Destination: the cast back to it is sound.

unsafe extern "C-unwind" fn init_destination(cinfo: &mut ffi::jpegli_compress_struct) {
    // SAFETY: see above.
    expose_spare(unsafe { &mut *cinfo.dest.cast::<Destination>() });
}

unsafe extern "C-unwind" fn empty_output_buffer(
    cinfo: &mut ffi::jpegli_compress_struct,
) -> ffi::boolean {
    // SAFETY: see init_destination.
    let destination = unsafe { &mut *cinfo.dest.cast::<Destination>() };
    // libjpeg calls this when the whole buffer it was given is written.
    let written = destination.output.capacity();
    // SAFETY: jpegli wrote every byte of the spare capacity it was given.
    unsafe { destination.output.set_len(written) };
    expose_spare(destination);
    1
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut ffi::jpegli_compress_struct) {
    // SAFETY: see init_destination.
    let destination = unsafe { &mut *cinfo.dest.cast::<Destination>() };
    let written = destination.output.capacity() - destination.manager.free_in_buffer;
    // SAFETY: the bytes before `next_output_byte` are written.
    unsafe { destination.output.set_len(written) };
}

/// libjpeg's fatal-error hook: must not return. jpegli has formatted its
/// message into `msg_parm.s`; it goes with the unwind (`resume_unwind`
/// runs no panic hook: nothing is printed).
unsafe extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpegli_common_struct) {
    // SAFETY: `err` is the Compressor's error handler; jpegli's
    // JPEGLI_ERROR writes a NUL-terminated string into `msg_parm.s` (an
    // array of 80 chars: reading it as bytes is always in bounds) before
    // it calls this hook.
    let text = unsafe { (*cinfo.err).msg_parm.s };
    let bytes = text.map(|c| c as u8);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let message = String::from_utf8_lossy(&bytes[..end]).into_owned();
    resume_unwind(Box::new(JpegliError(message)));
}

/// Warnings (and trace messages) are not errors: jpegli still writes a
/// valid file.
unsafe extern "C-unwind" fn ignore_message(_cinfo: &mut ffi::jpegli_common_struct, _level: c_int) {}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::ErrorKind;

    /// A photo-like test card: smooth gradients with fine texture on top.
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

    fn go_on() -> Result<(), Error> {
        Ok(())
    }

    fn decode(jpeg: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("decodes")
    }

    /// Mean absolute difference of a JPEG's decoded RGB from `original`.
    fn mean_error(jpeg: &[u8], original: &[u8]) -> f64 {
        let decoded = decode(jpeg).to_rgb8();
        let sum: u64 = decoded
            .as_raw()
            .iter()
            .zip(original)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        sum as f64 / original.len() as f64
    }

    /// The first component's sampling factors in the frame header.
    fn luma_factors(jpeg: &[u8]) -> u8 {
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC2] || w == [0xFF, 0xC0])
            .expect("frame header");
        // Marker (2), length (2), precision (1), size (4), count (1), then
        // the first component: id, sampling factors.
        jpeg[sof + 11]
    }

    #[test]
    fn encodes_rgb_and_grey_in_both_modes() {
        let (width, height) = (97, 61); // not a multiple of the MCU
        let rgb = card(width, height);
        let grey: Vec<u8> = rgb.chunks(3).map(|p| p[1]).collect();
        for progressive in [false, true] {
            let jpeg =
                encode(&rgb, width, height, Layout::Rgb, 80, progressive, &go_on).expect("rgb");
            let image = decode(&jpeg);
            assert_eq!((image.width(), image.height()), (width, height));
            assert!(image.color().has_color());
            // SOF2 for progressive, SOF0 for baseline.
            let sof = if progressive { 0xC2 } else { 0xC0 };
            assert!(jpeg.windows(2).any(|w| w == [0xFF, sof]), "{progressive}");
            // As faithful as libjpeg-turbo at the same quality, give or
            // take (the two scales are not the same).
            let turbo =
                super::super::turbo::encode_with(&rgb, width, height, Layout::Rgb, 80, true)
                    .expect("libjpeg-turbo");
            let (ours, theirs) = (mean_error(&jpeg, &rgb), mean_error(&turbo, &rgb));
            assert!(
                ours < theirs * 1.5,
                "mean error {ours}, libjpeg-turbo's {theirs}"
            );

            let jpeg =
                encode(&grey, width, height, Layout::Grey, 80, progressive, &go_on).expect("grey");
            let image = decode(&jpeg);
            assert!(!image.color().has_color());
            assert_eq!((image.width(), image.height()), (width, height));
        }
    }

    #[test]
    fn every_small_and_odd_size_round_trips() {
        // Sizes around the 8- and 16-pixel blocks and MCUs, and single rows
        // and columns, in every sampling and both modes.
        for (width, height) in [(1, 1), (1, 17), (17, 1), (2, 3), (9, 9), (16, 16), (17, 33)] {
            let rgb = card(width, height);
            let grey: Vec<u8> = rgb.chunks(3).map(|p| p[0]).collect();
            for (pixels, layout) in [(&rgb, Layout::Rgb), (&grey, Layout::Grey)] {
                for (quality, progressive) in [(80, true), (95, true), (80, false)] {
                    let jpeg = encode(pixels, width, height, layout, quality, progressive, &go_on)
                        .expect("encodes");
                    let image = decode(&jpeg);
                    assert_eq!(
                        (image.width(), image.height()),
                        (width, height),
                        "{layout:?} q{quality} progressive {progressive}"
                    );
                }
            }
        }
    }

    #[test]
    fn quality_90_keeps_chroma_whole() {
        let (width, height) = (64, 48);
        let rgb = card(width, height);
        for (quality, factors) in [(80, 0x22), (89, 0x22), (90, 0x11), (100, 0x11)] {
            let jpeg =
                encode(&rgb, width, height, Layout::Rgb, quality, true, &go_on).expect("encodes");
            assert_eq!(luma_factors(&jpeg), factors, "quality {quality}");
        }
    }

    #[test]
    fn chroma_distance_follows_the_tuning() {
        // jpegli's distance is linear in quality from 30 up: 0.1 + 0.09 ×
        // (100 - quality). 2.4 × 1.9 (quality 80) is quality 50's 4.6;
        // 0.55 × 1.0 (quality 90) is quality 95's 0.55.
        assert_eq!(quality_at_distance(2.4 * distance(80)), 50);
        assert_eq!(quality_at_distance(0.55 * distance(90)), 95);
        assert_eq!(quality_at_distance(distance(37)), 37);
        assert_eq!(quality_at_distance(0.0), 100);
        assert_eq!(quality_at_distance(1000.0), 1);
        // Coarser chroma, fewer bytes: the tuning reaches the tables.
        let (width, height) = (128, 96);
        let rgb = card(width, height);
        let with = |ratio: f32| {
            let tuning = Tuning {
                chroma_distance_420: ratio,
                ..Tuning::MODULE
            };
            encode_tuned(&rgb, width, height, Layout::Rgb, 80, &tuning, &go_on)
                .expect("encodes")
                .len()
        };
        assert!(with(4.0) < with(2.4) && with(2.4) < with(1.0));
    }

    #[test]
    fn smaller_than_libjpeg_turbo_at_the_same_fidelity() {
        // The same image through both encoders, each at the quality where
        // its error against the original is about the same: jpegli must
        // need fewer bytes. Error is the mean absolute difference.
        let (width, height) = (256, 192);
        let rgb = card(width, height);
        let error = |jpeg: &[u8]| mean_error(jpeg, &rgb);
        let turbo = super::super::turbo::encode_with(&rgb, width, height, Layout::Rgb, 80, true)
            .expect("libjpeg-turbo");
        let target = error(&turbo);
        let jpegli = (50..=100)
            .map(|q| encode(&rgb, width, height, Layout::Rgb, q, true, &go_on).expect("jpegli"))
            .find(|jpeg| error(jpeg) <= target)
            .expect("some quality is as faithful");
        assert!(
            jpegli.len() < turbo.len(),
            "jpegli {} bytes, libjpeg-turbo {} bytes",
            jpegli.len(),
            turbo.len()
        );
    }

    #[test]
    fn outputs_larger_than_the_first_buffer_grow_it() {
        // Noise at quality 100 compresses badly: the output outgrows the
        // eighth of the input the buffer starts with, several times over.
        let (width, height) = (300, 200);
        let mut state = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..width * height * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let jpeg = encode(&noise, width, height, Layout::Rgb, 100, true, &go_on).expect("encodes");
        assert!(jpeg.len() > noise.len() / 4, "{} bytes", jpeg.len());
        let error = mean_error(&jpeg, &noise);
        assert!(error < 3.0, "mean error {error}");
    }

    #[test]
    fn a_stop_ends_the_encode_part_way() {
        let (width, height) = (200, 1_000);
        let rgb = card(width, height);
        let calls = Cell::new(0);
        let stop_at_third = || {
            calls.set(calls.get() + 1);
            if calls.get() == 3 {
                Err(Error::new(ErrorKind::ProcessingTimeout, "stopped"))
            } else {
                Ok(())
            }
        };
        let err = encode(&rgb, width, height, Layout::Rgb, 80, true, &stop_at_third)
            .expect_err("stopped");
        assert_eq!(err.kind, ErrorKind::ProcessingTimeout);
        assert_eq!(
            calls.get(),
            3,
            "asked once per {ROWS_PER_CHECK} rows, then stopped"
        );
        // The compressor it abandoned is released, and the next encode is
        // unaffected.
        let calls_before = calls.get();
        let count = || {
            calls.set(calls.get() + 1);
            Ok(())
        };
        encode(&rgb, width, height, Layout::Rgb, 80, true, &count).expect("encodes");
        let asked = calls.get() - calls_before;
        assert_eq!(asked as u32, height.div_ceil(ROWS_PER_CHECK));
    }

    #[test]
    fn jpegli_errors_are_errors_not_crashes() {
        // A setting jpegli refuses (subsampling a single component): its
        // error_exit unwinds out of start_compress into an internal error.
        let settings = Settings {
            width: 16,
            height: 16,
            components: 1,
            colour_space: ffi::J_COLOR_SPACE::JCS_GRAYSCALE,
            quality: 80,
            chroma_quality: 80,
            subsampled: true,
            adaptive_quantisation: false,
            progressive_level: 2,
        };
        for _ in 0..3 {
            let err = compress(&[128; 256], 16, &settings, &go_on).expect_err("refused");
            assert_eq!(err.kind, ErrorKind::Internal);
            assert!(err.message.contains("ampling"), "{}", err.message);
        }
        // The next, valid, encode works.
        encode(&[128; 256], 16, 16, Layout::Grey, 80, true, &go_on).expect("encodes");
    }

    #[test]
    fn wrong_buffers_are_errors_not_panics() {
        let err = encode(&[0; 10], 4, 4, Layout::Rgb, 80, true, &go_on).expect_err("short buffer");
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(encode(&[0; 0], 0, 0, Layout::Grey, 80, false, &go_on).is_err());
        assert!(encode(&[0; 64], 4, 4, Layout::Cmyk, 80, false, &go_on).is_err());
        assert!(encode(&[0; 3], 70_000, 1, Layout::Grey, 80, false, &go_on).is_err());
    }

    #[test]
    fn the_working_set_grows_with_the_samples_kept() {
        let grey = working_set(1_000, 1_000, Layout::Grey, 80);
        let subsampled = working_set(1_000, 1_000, Layout::Rgb, 80);
        let full = working_set(1_000, 1_000, Layout::Rgb, 95);
        assert!(grey < subsampled && subsampled < full);
        // Measured (see `working_set`): 4.2 and 7.9 bytes a pixel.
        assert!(subsampled >= 4_200_000 && full >= 7_900_000);
    }
}
