//! libjpeg-turbo through its TurboJPEG 3 API: JPEG decoding with DCT
//! scaling ("shrink on load") and SIMD encoding.
//!
//! Decoding at 1/2, 1/4 or 1/8 scale is done inside the inverse DCT: an
//! 8×8 block becomes 4×4, 2×2 or 1×1 pixels, so a 20-megapixel photo
//! meant for a 400-pixel thumbnail never exists at full size, neither in
//! time nor in memory. Entropy decoding still reads the whole file, except
//! for progressive files at 1/8, which are reduced to their DC scans first
//! (`progressive_dc.rs`, `dc_baseline.rs`), and at 1/4, whose scans of
//! frequencies the reduced decode does not need are dropped
//! (`progressive_scans.rs`).
//!
//! A handle is created per image (a few kilobytes; creating one costs
//! microseconds) and never shared, so nothing here needs locking. Errors
//! and warnings are read back from the same thread that caused them, which
//! is what TurboJPEG requires.

use std::ffi::CStr;

use turbojpeg_sys as tj;

use super::{corrupt, dc_baseline, detail, internal, progressive_dc, progressive_scans};
use crate::{Error, ErrorKind, Limits};

/// The layouts this module decodes to and encodes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Grey,
    Rgb,
    /// Four inks, as stored (CMYK, or YCCK turned into CMYK by libjpeg);
    /// colour management makes RGB of it.
    Cmyk,
}

impl Layout {
    fn channels(self) -> usize {
        match self {
            Layout::Grey => 1,
            Layout::Rgb => 3,
            Layout::Cmyk => 4,
        }
    }

    fn pixel_format(self) -> CInt {
        (match self {
            Layout::Grey => tj::TJPF_TJPF_GRAY,
            Layout::Rgb => tj::TJPF_TJPF_RGB,
            Layout::Cmyk => tj::TJPF_TJPF_CMYK,
        }) as CInt
    }
}

type CInt = std::os::raw::c_int;

/// Most progressive scans accepted. Real encoders write a dozen or so; a
/// file with thousands of tiny scans is the denial-of-service exploit that
/// TurboJPEG's scan limit exists for (each scan walks the whole coefficient
/// buffer). 500 leaves ample room for anything legitimate.
const SCAN_LIMIT: CInt = progressive_dc::MAX_SCANS as CInt;

/// Bytes per coefficient-buffer sample (progressive JPEGs keep every DCT
/// coefficient of the image, 2 bytes each, up to 3 samples per pixel) and
/// room for libjpeg's own tables, for the memory cap handed to libjpeg.
const COEFFICIENT_BYTES_PER_PIXEL: u64 = 6;
const DECODER_OVERHEAD: u64 = 16 << 20;

struct Handle(tj::tjhandle);

impl Handle {
    fn new(kind: tj::TJINIT) -> Result<Handle, Error> {
        // SAFETY: tj3Init has no preconditions; a null result is checked.
        let handle = unsafe { tj::tj3Init(kind as CInt) };
        if handle.is_null() {
            return Err(internal("libjpeg-turbo could not allocate a handle"));
        }
        Ok(Handle(handle))
    }

    fn set(&self, param: tj::TJPARAM, value: CInt) -> Result<(), Error> {
        // SAFETY: the handle is valid for the lifetime of self.
        if unsafe { tj::tj3Set(self.0, param as CInt, value) } != 0 {
            return Err(internal(&format!("libjpeg-turbo: {}", self.message())));
        }
        Ok(())
    }

    fn get(&self, param: tj::TJPARAM) -> CInt {
        // SAFETY: the handle is valid for the lifetime of self.
        unsafe { tj::tj3Get(self.0, param as CInt) }
    }

    /// The text of the last error or (first) warning on this thread.
    fn message(&self) -> String {
        // SAFETY: tj3GetErrorStr returns a pointer to a NUL-terminated
        // buffer owned by the library (per handle or thread-local), valid
        // until the next call on this handle/thread; it is copied at once.
        unsafe {
            let text = tj::tj3GetErrorStr(self.0);
            if text.is_null() {
                return String::from("unknown error");
            }
            CStr::from_ptr(text).to_string_lossy().into_owned()
        }
    }

    fn is_warning(&self) -> bool {
        // SAFETY: the handle is valid for the lifetime of self.
        unsafe { tj::tj3GetErrorCode(self.0) == tj::TJERR_TJERR_WARNING as CInt }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed once.
        unsafe { tj::tj3Destroy(self.0) }
    }
}

/// A JPEG whose header libjpeg-turbo has read and can decode to 8-bit
/// grey or RGB. Other JPEGs (CMYK, 12-bit, lossless) are left to the
/// `image` crate.
pub(crate) struct Jpeg<'a> {
    handle: Handle,
    bytes: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
}

/// Reads the header. `Ok(None)` means libjpeg-turbo is not the right
/// decoder for this file (or cannot make sense of its header), and the
/// generic decoder should have its say, including on what is wrong.
pub(crate) fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Option<Jpeg<'a>>, Error> {
    let handle = Handle::new(tj::TJINIT_TJINIT_DECOMPRESS)?;
    // SAFETY: the pointer and length describe `bytes`, which outlives the
    // call; the library only reads them.
    let status =
        unsafe { tj::tj3DecompressHeader(handle.0, bytes.as_ptr(), bytes.len() as tj::size_t) };
    if status != 0 && !handle.is_warning() {
        return Ok(None);
    }
    let width = handle.get(tj::TJPARAM_TJPARAM_JPEGWIDTH);
    let height = handle.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT);
    let precision = handle.get(tj::TJPARAM_TJPARAM_PRECISION);
    let lossless = handle.get(tj::TJPARAM_TJPARAM_LOSSLESS);
    let layout = match handle.get(tj::TJPARAM_TJPARAM_COLORSPACE) as tj::TJCS {
        tj::TJCS_TJCS_GRAY => Layout::Grey,
        tj::TJCS_TJCS_YCbCr | tj::TJCS_TJCS_RGB => Layout::Rgb,
        tj::TJCS_TJCS_CMYK | tj::TJCS_TJCS_YCCK => Layout::Cmyk,
        _ => return Ok(None),
    };
    if width <= 0 || height <= 0 || precision != 8 || lossless != 0 {
        return Ok(None);
    }

    // Second line of defence behind the header check in the pipeline:
    // libjpeg itself refuses more pixels than the limits allow, and more
    // memory than this image's own coefficients need (not the most any
    // image may need), so a lying header cannot borrow another's budget.
    let max_pixels = CInt::try_from(limits.max_pixels).unwrap_or(CInt::MAX);
    let max_memory_mb = (width as u64 * height as u64)
        .saturating_mul(COEFFICIENT_BYTES_PER_PIXEL)
        .saturating_add(DECODER_OVERHEAD)
        >> 20;
    handle.set(tj::TJPARAM_TJPARAM_MAXPIXELS, max_pixels)?;
    handle.set(
        tj::TJPARAM_TJPARAM_MAXMEMORY,
        CInt::try_from(max_memory_mb).unwrap_or(CInt::MAX),
    )?;
    handle.set(tj::TJPARAM_TJPARAM_SCANLIMIT, SCAN_LIMIT)?;

    Ok(Some(Jpeg {
        handle,
        bytes,
        width: width as u32,
        height: height as u32,
        layout,
    }))
}

/// The reductions the DCT can do, largest first.
const REDUCTIONS: [u32; 3] = [8, 4, 2];

/// How much larger than the output the DCT-scaled image must stay. A DCT
/// reduction is close to a box filter: sharper and more aliased than
/// Lanczos3, and the final Lanczos3 pass hides that better the more it
/// still has to shrink. Against a full-size decode and Lanczos3, over
/// output widths from 48 pixels up (`tests/quality.rs`), the lowest PSNR
/// was 38.5 dB with no margin, 42.5 dB at 1.3 and 46.7 dB at 1.75. 1.3 keeps
/// 1/8 for a 13-megapixel photo (4224 pixels wide) to 400 pixels (1.32×).
const MARGIN: f64 = 1.3;

/// The margin a 4:2:0 progressive JPEG needs to be decoded from its DC
/// coefficients alone. libjpeg decodes its chroma at 1/4 with a 2×2
/// inverse DCT that reads AC coefficients; the DC-only decode makes that
/// chroma flat. On photos the loss is small (a 13-megapixel photo
/// re-encoded 4:2:0: 41.8 dB at 1.3, 45.6 dB with every scan), but a test
/// card with fine coloured texture fell to 37.0 dB at 1.3 and stays above
/// 38 dB from about 1.4 (`tests/progressive.rs`, `tests/quality.rs`).
const DC_ONLY_CHROMA_MARGIN: f64 = 1.5;

impl Jpeg<'_> {
    /// The largest reduction the DCT can do (8, 4, 2 or 1) that leaves the
    /// decoded image at least [`MARGIN`] times the output size, so the
    /// final Lanczos3 pass still does a real part of the shrinking.
    pub(crate) fn reduction_for(reduction: f64) -> u32 {
        REDUCTIONS
            .into_iter()
            .find(|&r| f64::from(r) * MARGIN <= reduction)
            .unwrap_or(1)
    }

    /// The size of the image decoded at 1/`reduction`.
    pub(crate) fn scaled_size(&self, reduction: u32) -> (u32, u32) {
        (
            self.width.div_ceil(reduction),
            self.height.div_ceil(reduction),
        )
    }

    /// Decodes at 1/`reduction` (1, 2, 4 or 8) into a tightly packed buffer
    /// of the returned size.
    ///
    /// A progressive JPEG at 1/8 is decoded from its DC coefficients alone,
    /// rewritten as a small baseline stream (see `dc_baseline.rs`): the AC
    /// scans, most of the file, are never entropy-decoded, and no
    /// whole-image coefficient buffer is allocated. Anything that stream
    /// cannot stand in for exactly goes the full way through libjpeg.
    #[cfg(test)]
    pub(crate) fn decode(self, reduction: u32) -> Result<(Vec<u8>, u32, u32), Error> {
        self.decode_with(reduction, f64::from(reduction))
    }

    /// Decodes at the largest DCT reduction for an output `wanted` times
    /// smaller than the source (see [`Jpeg::reduction_for`]); also returns
    /// that reduction.
    pub(crate) fn decode_for(self, wanted: f64) -> Result<(Vec<u8>, u32, u32, u32), Error> {
        let reduction = Self::reduction_for(wanted);
        let (pixels, width, height) = self.decode_with(reduction, wanted)?;
        Ok((pixels, width, height, reduction))
    }

    fn decode_with(self, reduction: u32, wanted: f64) -> Result<(Vec<u8>, u32, u32), Error> {
        if reduction == 8 {
            let chroma_at_quarter = wanted >= 8.0 * DC_ONLY_CHROMA_MARGIN;
            if let Some(twin) = dc_baseline::rewrite(self.bytes, chroma_at_quarter) {
                if self.reads_as_the_same_image(&twin) {
                    if let Ok(decoded) = self.decode_stream(&twin, reduction) {
                        return Ok(decoded);
                    }
                }
                // Never expected; the original is decoded instead, with
                // its header read again.
                self.reads_as_the_same_image(self.bytes);
            }
        }
        if let Some(fewer_scans) = progressive_scans::rewrite(self.bytes, reduction) {
            if self.reads_as_the_same_image(&fewer_scans) {
                if let Ok(decoded) = self.decode_stream(&fewer_scans, reduction) {
                    return Ok(decoded);
                }
            }
            // As above: the original decides.
            self.reads_as_the_same_image(self.bytes);
        }
        self.decode_stream(self.bytes, reduction)
    }

    /// Reads `stream`'s header into the handle and checks that it describes
    /// an image of the same size and layout.
    fn reads_as_the_same_image(&self, stream: &[u8]) -> bool {
        // SAFETY: the pointer and length describe `stream`, which outlives
        // the call; the library only reads them.
        let status = unsafe {
            tj::tj3DecompressHeader(self.handle.0, stream.as_ptr(), stream.len() as tj::size_t)
        };
        let layout = match self.handle.get(tj::TJPARAM_TJPARAM_COLORSPACE) as tj::TJCS {
            tj::TJCS_TJCS_GRAY => Some(Layout::Grey),
            tj::TJCS_TJCS_YCbCr | tj::TJCS_TJCS_RGB => Some(Layout::Rgb),
            _ => None,
        };
        status == 0
            && layout == Some(self.layout)
            && self.handle.get(tj::TJPARAM_TJPARAM_JPEGWIDTH) as u32 == self.width
            && self.handle.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT) as u32 == self.height
    }

    /// Decodes `stream` (the original file or its DC-only twin) at
    /// 1/`reduction`.
    fn decode_stream(&self, stream: &[u8], reduction: u32) -> Result<(Vec<u8>, u32, u32), Error> {
        let factor = tj::tjscalingfactor {
            num: 1,
            denom: reduction as CInt,
        };
        // SAFETY: the handle is valid; the factor is one of the supported
        // ones (1/1, 1/2, 1/4, 1/8 are always supported).
        if unsafe { tj::tj3SetScalingFactor(self.handle.0, factor) } != 0 {
            return Err(internal(&format!(
                "libjpeg-turbo refused the scale 1/{reduction}: {}",
                self.handle.message()
            )));
        }
        let (width, height) = self.scaled_size(reduction);
        let channels = self.layout.channels();
        let pitch = width as usize * channels;
        let len = pitch
            .checked_mul(height as usize)
            .ok_or_else(|| internal("the decoded image does not fit in memory"))?;
        let mut pixels = vec![0u8; len];
        // SAFETY: `pixels` holds exactly `height` rows of `pitch` bytes,
        // the scaled size libjpeg-turbo computes for this factor (the same
        // ceiling division as `scaled_size`); the input is only read.
        let status = unsafe {
            tj::tj3Decompress8(
                self.handle.0,
                stream.as_ptr(),
                stream.len() as tj::size_t,
                pixels.as_mut_ptr(),
                pitch as CInt,
                self.layout.pixel_format(),
            )
        };
        if status != 0 {
            let message = self.handle.message();
            if !self.handle.is_warning() || !is_warning_text(&message) {
                return Err(decode_error(&message));
            }
            // A warning: libjpeg finished the image and made something up
            // for whatever it could not read. Truncation is an error (the
            // bottom of the picture would be grey); other damage libjpeg
            // recovers from (stray bytes between segments) is accepted, as
            // browsers do.
            if is_truncated(&message, stream) {
                return Err(corrupt(&format!("the JPEG data ends early ({message})")));
            }
        }
        Ok((pixels, width, height))
    }
}

/// Sorts a fatal libjpeg error into the catalogue.
fn decode_error(message: &str) -> Error {
    let lower = message.to_ascii_lowercase();
    // "Image is too large" (TJPARAM_MAXPIXELS), "Maximum supported image
    // dimension is ..." and the memory cap (TJPARAM_MAXMEMORY).
    if lower.contains("too large") || lower.contains("maximum") || lower.contains("memory") {
        return Error::new(
            ErrorKind::TooManyPixels,
            format!(
                "the image is too large to decode within the limits: {}",
                detail(message)
            ),
        );
    }
    if lower.contains("progressive scans") {
        return corrupt(&format!("too many progressive scans ({message})"));
    }
    corrupt(message)
}

/// Whether `message` is one of libjpeg's warnings. TurboJPEG reports
/// "warning" whenever a warning was raised, even if a fatal error came
/// after it and the image is unfinished; the text then is the error's
/// (libjpeg writes only the first warning's text, and every error's).
fn is_warning_text(message: &str) -> bool {
    const WARNINGS: [&str; 7] = [
        "Corrupt JPEG data",
        "Premature end of JPEG file",
        "Inconsistent progression sequence",
        "Invalid SOS parameters for sequential JPEG",
        "Unknown Adobe color transform code",
        "Warning: unknown JFIF revision number",
        "Application transferred too many scanlines",
    ];
    WARNINGS.iter().any(|warning| message.starts_with(warning))
}

/// Whether a warning means the data stopped before the image did.
/// libjpeg reports the first warning only, so a file with another warning
/// first is also checked for its end-of-image marker: entropy-coded data
/// cannot contain `FF D9`, so its absence after the first scan header means
/// the file was cut.
fn is_truncated(message: &str, bytes: &[u8]) -> bool {
    if message.to_ascii_lowercase().contains("premature end") {
        return true;
    }
    let Some(scan) = super::jpeg_markers::first_scan(bytes) else {
        return true;
    };
    !bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Whether colour JPEGs at `quality` get 4:2:0 chroma: below 90, kept at
/// full resolution from 90 up (libvips' and most encoders' rule). Both
/// JPEG encoders follow it.
pub(super) fn subsamples_chroma(quality: u8) -> bool {
    quality < 90
}

/// Encodes a tightly packed grey or RGB image, chroma as
/// [`subsamples_chroma`] says. Baseline, standard Huffman tables, no
/// metadata.
#[cfg(test)]
pub(crate) fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Layout,
    quality: u8,
) -> Result<Vec<u8>, Error> {
    encode_with(pixels, width, height, layout, quality, false)
}

/// [`encode`], progressive when asked: a blurry whole image first, then
/// detail, and (as progressive always has) Huffman tables optimised for
/// the image, a few per cent smaller than baseline.
pub(crate) fn encode_with(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Layout,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, Error> {
    let pitch = width as usize * layout.channels();
    if pixels.len() != pitch * height as usize {
        return Err(internal("the JPEG encoder got a buffer of the wrong size"));
    }
    let handle = Handle::new(tj::TJINIT_TJINIT_COMPRESS)?;
    let subsampling = match layout {
        Layout::Grey => tj::TJSAMP_TJSAMP_GRAY,
        Layout::Rgb if subsamples_chroma(quality) => tj::TJSAMP_TJSAMP_420,
        Layout::Rgb | Layout::Cmyk => tj::TJSAMP_TJSAMP_444,
    };
    handle.set(
        tj::TJPARAM_TJPARAM_QUALITY,
        CInt::from(quality.clamp(1, 100)),
    )?;
    handle.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsampling as CInt)?;
    handle.set(tj::TJPARAM_TJPARAM_PROGRESSIVE, CInt::from(progressive))?;

    let mut buffer: *mut u8 = std::ptr::null_mut();
    let mut size: tj::size_t = 0;
    // SAFETY: `pixels` holds `height` rows of `pitch` bytes (checked
    // above). With a null buffer libjpeg-turbo allocates the output itself
    // (tj3Alloc); it is copied and released with tj3Free below, on success
    // and on failure.
    let status = unsafe {
        tj::tj3Compress8(
            handle.0,
            pixels.as_ptr(),
            width as CInt,
            pitch as CInt,
            height as CInt,
            layout.pixel_format(),
            &mut buffer,
            &mut size,
        )
    };
    let result = if status != 0 && !handle.is_warning() {
        Err(internal(&format!(
            "JPEG encoding failed: {}",
            handle.message()
        )))
    } else if buffer.is_null() {
        Err(internal("JPEG encoding produced no data"))
    } else {
        // SAFETY: on success `buffer` points to `size` initialised bytes.
        Ok(unsafe { std::slice::from_raw_parts(buffer, size as usize) }.to_vec())
    };
    if !buffer.is_null() {
        // SAFETY: allocated by libjpeg-turbo for this call, freed once.
        unsafe { tj::tj3Free(buffer.cast()) };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Vec<u8> {
        (0..height)
            .flat_map(|y| {
                (0..width).flat_map(move |x| {
                    [
                        (x * 255 / width) as u8,
                        (y * 255 / height) as u8,
                        ((x + y) % 256) as u8,
                    ]
                })
            })
            .collect()
    }

    #[test]
    fn round_trip_at_every_scale() {
        let jpeg = encode(&gradient(100, 60), 100, 60, Layout::Rgb, 90).expect("encode");
        for (reduction, size) in [(1, (100, 60)), (2, (50, 30)), (4, (25, 15)), (8, (13, 8))] {
            let source = open(&jpeg, &Limits::default())
                .expect("open")
                .expect("turbo");
            assert_eq!((source.width, source.height), (100, 60));
            assert_eq!(source.layout, Layout::Rgb);
            assert_eq!(source.scaled_size(reduction), size);
            let (pixels, width, height) = source.decode(reduction).expect("decode");
            assert_eq!((width, height), size);
            assert_eq!(pixels.len(), (width * height * 3) as usize);
        }
    }

    #[test]
    fn grey_stays_grey() {
        let grey: Vec<u8> = (0..64 * 32).map(|i| (i % 251) as u8).collect();
        let jpeg = encode(&grey, 64, 32, Layout::Grey, 80).expect("encode");
        let source = open(&jpeg, &Limits::default())
            .expect("open")
            .expect("turbo");
        assert_eq!(source.layout, Layout::Grey);
        let (pixels, width, height) = source.decode(2).expect("decode");
        assert_eq!((width, height, pixels.len()), (32, 16, 32 * 16));
    }

    #[test]
    fn reduction_keeps_a_margin_above_the_output() {
        assert_eq!(Jpeg::reduction_for(0.5), 1);
        assert_eq!(Jpeg::reduction_for(1.0), 1);
        assert_eq!(Jpeg::reduction_for(2.59), 1);
        assert_eq!(Jpeg::reduction_for(2.6), 2);
        assert_eq!(Jpeg::reduction_for(10.0), 4);
        assert_eq!(Jpeg::reduction_for(10.4), 8);
        assert_eq!(Jpeg::reduction_for(10.56), 8);
        assert_eq!(Jpeg::reduction_for(15.07), 8);
    }

    #[test]
    fn truncated_entropy_data_is_corrupt() {
        let jpeg = encode(&gradient(256, 256), 256, 256, Layout::Rgb, 90).expect("encode");
        for cut in [jpeg.len() - 2, jpeg.len() / 2, jpeg.len() / 4] {
            let source = open(&jpeg[..cut], &Limits::default())
                .expect("open")
                .expect("turbo");
            let err = source.decode(1).expect_err("truncated");
            assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
        }
    }

    #[test]
    fn only_libjpeg_warnings_count_as_warnings() {
        assert!(is_warning_text(
            "Corrupt JPEG data: 2 extraneous bytes before marker 0xd9"
        ));
        assert!(is_warning_text("Premature end of JPEG file"));
        assert!(!is_warning_text("Huffman table 0x01 was not defined"));
        assert!(!is_warning_text("tj3Decompress8(): Image is too large"));
    }

    #[test]
    fn quality_picks_the_subsampling() {
        let rgb = gradient(64, 64);
        for (quality, expected) in [(80, tj::TJSAMP_TJSAMP_420), (90, tj::TJSAMP_TJSAMP_444)] {
            let jpeg = encode(&rgb, 64, 64, Layout::Rgb, quality).expect("encode");
            let handle = Handle::new(tj::TJINIT_TJINIT_DECOMPRESS).expect("handle");
            // SAFETY: valid handle and buffer.
            let status = unsafe {
                tj::tj3DecompressHeader(handle.0, jpeg.as_ptr(), jpeg.len() as tj::size_t)
            };
            assert_eq!(status, 0);
            assert_eq!(
                handle.get(tj::TJPARAM_TJPARAM_SUBSAMP),
                expected as CInt,
                "q{quality}"
            );
        }
    }

    /// Compresses `pixels` (`width` × `height` in `format`) with a handle
    /// whose parameters the caller has set.
    fn compress(
        handle: &Handle,
        pixels: &[u8],
        width: u32,
        height: u32,
        format: tj::TJPF,
    ) -> Vec<u8> {
        let channels = match format {
            tj::TJPF_TJPF_CMYK => 4,
            _ => 3,
        };
        assert_eq!(pixels.len(), (width * height) as usize * channels);
        let mut buffer: *mut u8 = std::ptr::null_mut();
        let mut size: tj::size_t = 0;
        // SAFETY: `pixels` holds width × height pixels of `format` (checked
        // above); the output is allocated by libjpeg-turbo, copied and freed.
        unsafe {
            let status = tj::tj3Compress8(
                handle.0,
                pixels.as_ptr(),
                width as CInt,
                0,
                height as CInt,
                format as CInt,
                &mut buffer,
                &mut size,
            );
            assert_eq!(status, 0, "{}", handle.message());
            let out = std::slice::from_raw_parts(buffer, size as usize).to_vec();
            tj::tj3Free(buffer.cast());
            out
        }
    }

    /// A 4-channel (YCCK) JPEG, as Photoshop writes for print.
    fn cmyk_jpeg(width: u32, height: u32) -> Vec<u8> {
        let cmyk: Vec<u8> = (0..width * height)
            .flat_map(|i| [(i % 200) as u8, 40, 90, 10])
            .collect();
        let handle = Handle::new(tj::TJINIT_TJINIT_COMPRESS).expect("handle");
        handle
            .set(tj::TJPARAM_TJPARAM_QUALITY, 90)
            .expect("quality");
        handle
            .set(tj::TJPARAM_TJPARAM_SUBSAMP, tj::TJSAMP_TJSAMP_444 as CInt)
            .expect("subsampling");
        compress(&handle, &cmyk, width, height, tj::TJPF_TJPF_CMYK)
    }

    #[test]
    fn cmyk_is_decoded_to_inks() {
        let jpeg = cmyk_jpeg(64, 48);
        let source = open(&jpeg, &Limits::default())
            .expect("open")
            .expect("turbo");
        assert_eq!(source.layout, Layout::Cmyk);
        // …which the whole pipeline turns into RGB.
        let transform = crate::parse("width=32,format=png").expect("options");
        let never = std::sync::atomic::AtomicBool::new(false);
        let control = crate::Control {
            cancel: &never,
            deadline: None,
        };
        let output = crate::process(&jpeg, &transform, &Limits::default(), &control).expect("cmyk");
        assert_eq!((output.width, output.height), (32, 24));
    }

    #[test]
    fn a_pixel_limit_is_enforced_by_libjpeg_too() {
        let jpeg = encode(&gradient(100, 60), 100, 60, Layout::Rgb, 90).expect("encode");
        let limits = Limits {
            max_pixels: 1_000,
            ..Limits::default()
        };
        let source = open(&jpeg, &limits).expect("open").expect("turbo");
        let err = source.decode(1).expect_err("too many pixels");
        assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
    }

    fn progressive(subsampling: tj::TJSAMP) -> Vec<u8> {
        let (width, height) = (203u32, 131u32);
        let rgb = gradient(width, height);
        let handle = Handle::new(tj::TJINIT_TJINIT_COMPRESS).expect("handle");
        handle
            .set(tj::TJPARAM_TJPARAM_QUALITY, 85)
            .expect("quality");
        handle
            .set(tj::TJPARAM_TJPARAM_SUBSAMP, subsampling as CInt)
            .expect("subsampling");
        handle
            .set(tj::TJPARAM_TJPARAM_PROGRESSIVE, 1)
            .expect("progressive");
        compress(&handle, &rgb, width, height, tj::TJPF_TJPF_RGB)
    }

    #[test]
    fn progressive_files_at_one_eighth_are_decoded_from_dc_alone() {
        for subsampling in [
            tj::TJSAMP_TJSAMP_444,
            tj::TJSAMP_TJSAMP_422,
            tj::TJSAMP_TJSAMP_GRAY,
        ] {
            let jpeg = progressive(subsampling);
            let twin = dc_baseline::rewrite(&jpeg, false).expect("DC-only twin");
            // Tables and one short code per block: smaller than the file.
            assert!(twin.len() < jpeg.len(), "{} vs {}", twin.len(), jpeg.len());
            let source = open(&jpeg, &Limits::default())
                .expect("open")
                .expect("turbo");
            assert!(source.reads_as_the_same_image(&twin));
            let from_dc = source.decode_stream(&twin, 8).expect("DC-only");
            let source = open(&jpeg, &Limits::default())
                .expect("open")
                .expect("turbo");
            let full = source.decode_stream(&jpeg, 8).expect("full");
            assert!(from_dc == full, "subsampling {subsampling}");
        }
        // 4:2:0 only with the wider margin.
        let jpeg = progressive(tj::TJSAMP_TJSAMP_420);
        assert!(dc_baseline::rewrite(&jpeg, false).is_none());
        assert!(dc_baseline::rewrite(&jpeg, true).is_some());
        // Baseline files are not rewritten.
        let baseline = encode(&gradient(64, 64), 64, 64, Layout::Rgb, 80).expect("encode");
        assert!(dc_baseline::rewrite(&baseline, true).is_none());
    }

    #[test]
    fn cut_progressive_files_are_left_to_libjpeg() {
        let jpeg = progressive(tj::TJSAMP_TJSAMP_422);
        for cut in [jpeg.len() - 2, jpeg.len() / 2, jpeg.len() / 5] {
            assert!(dc_baseline::rewrite(&jpeg[..cut], true).is_none(), "{cut}");
            let source = open(&jpeg[..cut], &Limits::default())
                .expect("open")
                .expect("turbo");
            let err = source.decode(8).expect_err("truncated");
            assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
        }
    }
}
