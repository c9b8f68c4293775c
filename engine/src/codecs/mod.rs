//! Per-format decoding and encoding.
//!
//! Each format module knows how to read the size (and frame count) from its
//! header without decoding, and how to encode. Decoding goes through
//! libjpeg-turbo for JPEG and the `image` crate for the rest (see
//! [`decode`]); AVIF through libdav1d ([`avif_input`]).

mod avif;
mod avif_input;
mod bmp;
mod cicp_profile;
mod clean_aperture;
pub(crate) mod container_fuzz;
mod dav1d;
mod dc_baseline;
mod decode;
mod exif;
pub(crate) mod frames;
mod gif;
mod gif_frames;
mod heic;
mod ico;
mod isobmff_bounds;
mod item_properties;
mod item_transforms;
mod jpeg;
mod jpeg_bits;
mod jpeg_huffman;
mod jpeg_markers;
mod jpegli;
mod libheif;
mod metadata;
mod palette;
mod panic_guard;
mod png;
mod progressive_dc;
mod progressive_scans;
mod sniff;
mod tiff;
mod turbo;
mod webp;
mod webp_encode;
mod webp_frames;

pub use sniff::sniff_format;

pub(crate) use decode::open;
pub(crate) use metadata::Metadata;

use image::metadata::Orientation;
use image::DynamicImage;

use crate::{Error, ErrorKind, ImageFormat};

/// What a header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Canvas size (GIF's logical screen, WebP's canvas).
    pub width: u32,
    pub height: u32,
    /// 1 for still images; the number of frames of an animation.
    pub frames: u32,
    /// Most bytes per pixel the decoder hands over (RGBA: 4; 16-bit PNG
    /// RGBA: 8; JPEG: its components).
    pub pixel_bytes: u8,
    /// A progressive JPEG: its decoder keeps every DCT coefficient of the
    /// whole image until the last scan.
    pub progressive: bool,
    /// JPEG: samples per pixel over all components, in eighths (4:2:0
    /// colour: 12, 4:4:4: 24, grey: 8); the size of the coefficient
    /// buffers. 0 for other formats.
    pub sample_eighths: u16,
}

impl Header {
    /// A still image decoded to RGBA at most.
    pub(crate) fn still(width: u32, height: u32) -> Header {
        Header {
            width,
            height,
            frames: 1,
            pixel_bytes: 4,
            progressive: false,
            sample_eighths: 0,
        }
    }
}

/// The EXIF orientation of an original, read without decoding: from the
/// JPEG segments, or from whatever the format's decoder finds before the
/// pixels. Missing or unreadable means upright.
pub(crate) fn orientation(
    bytes: &[u8],
    format: ImageFormat,
    header: &Header,
) -> image::metadata::Orientation {
    use image::metadata::Orientation;
    if format == ImageFormat::Jpeg {
        return jpeg::orientation(bytes);
    }
    // Only the header is read: nothing to stop.
    match decode::open(bytes, format, header, &crate::Limits::default(), &|| Ok(())) {
        Ok(mut source) => source.orientation(),
        Err(_) => Orientation::NoTransforms,
    }
}

/// The size the original is shown at, read without decoding: the stored
/// size, less what an AVIF's or HEIF's clean aperture (`clap`) crops, turned
/// upright by its orientation. Unreadable metadata means upright and
/// uncropped (the decoder refuses the file later if it is damaged).
pub(crate) fn upright_size(bytes: &[u8], format: ImageFormat, header: &Header) -> (u32, u32) {
    let stored = (header.width, header.height);
    let (size, orientation) = match format {
        ImageFormat::Jpeg => (stored, jpeg::orientation(bytes)),
        ImageFormat::Avif | ImageFormat::Heic => {
            // Only the container is read: nothing to stop.
            match decode::open(bytes, format, header, &crate::Limits::default(), &|| Ok(())) {
                Ok(mut source) => (source.dimensions(), source.orientation()),
                Err(_) => (stored, Orientation::NoTransforms),
            }
        }
        _ => (stored, orientation(bytes, format, header)),
    };
    if swaps_sides(orientation) {
        (size.1, size.0)
    } else {
        size
    }
}

/// Reads the dimensions from the header of an image already sniffed as
/// `format`. Cheap: a few hundred bytes for PNG, JPEG and WebP, a walk over
/// block headers for GIF.
pub(crate) fn read_header(bytes: &[u8], format: ImageFormat) -> Result<Header, Error> {
    let header = match format {
        ImageFormat::Jpeg => jpeg::header(bytes),
        ImageFormat::Png => png::header(bytes),
        ImageFormat::Gif => gif::header(bytes),
        ImageFormat::Webp => webp::header(bytes),
        ImageFormat::Tiff => tiff::header(bytes),
        ImageFormat::Bmp => bmp::header(bytes),
        ImageFormat::Ico => ico::header(bytes),
        ImageFormat::Avif => avif_input::header(bytes),
        ImageFormat::Heic => heic::header(bytes),
        ImageFormat::Json => Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "{} is supported as an output format only",
                format_label(format)
            ),
        )),
    }?;
    if header.width == 0 || header.height == 0 {
        return Err(corrupt("the header gives a size of zero pixels"));
    }
    Ok(header)
}

/// Whether displaying the image upright turns it a quarter.
pub(crate) fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The DCT scale libjpeg-turbo decodes at for a `reduction`.
pub(crate) fn jpeg_reduction_for(reduction: f64) -> u32 {
    turbo::Jpeg::reduction_for(reduction)
}

/// Bytes the default JPEG encoder (jpegli) holds for a `width`×`height`
/// output of `channels` (1 grey, otherwise RGB) at `quality`, besides the
/// pixels it is given.
pub(crate) fn default_jpeg_working_set(width: u32, height: u32, channels: u64, quality: u8) -> u64 {
    let layout = if channels == 1 {
        turbo::Layout::Grey
    } else {
        turbo::Layout::Rgb
    };
    jpegli::working_set(width, height, layout, quality)
}

/// The default JPEG encoder with any tuning (`stages::encode_jpegli`).
pub(crate) use jpeg::encode_tuned as encode_jpegli_tuned;
pub use jpegli::Tuning as JpegliTuning;

/// The longest side each format can store. Only reachable when a location
/// raises `image_max_side` above these.
fn max_side(format: ImageFormat) -> u32 {
    match format {
        ImageFormat::Jpeg | ImageFormat::Gif => 65_535,
        ImageFormat::Webp => 16_383,
        ImageFormat::Avif => avif::MAX_SIDE,
        ImageFormat::Png => i32::MAX as u32,
        // Not written as images: nothing to refuse.
        ImageFormat::Tiff
        | ImageFormat::Bmp
        | ImageFormat::Ico
        | ImageFormat::Heic
        | ImageFormat::Json => u32::MAX,
    }
}

/// Refuses a size the format cannot store, so the pipeline can fail before
/// decoding rather than in the encoder.
pub(crate) fn check_size(format: ImageFormat, width: u32, height: u32) -> Result<(), Error> {
    let max = max_side(format);
    if width > max || height > max {
        return Err(Error::new(
            ErrorKind::TooManyPixels,
            format!(
                "the output would be {width}×{height} pixels; {} allows at most {max} pixels per side",
                format_label(format),
            ),
        ));
    }
    Ok(())
}

/// How to encode, beyond the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    /// 1..=100; 100 is lossless for WebP.
    pub quality: u8,
    /// Progressive JPEG (with optimised Huffman tables).
    pub progressive: bool,
    /// PNG with a palette of at most 256 colours (lossy unless the image
    /// has that few).
    pub palette: bool,
    /// `compression=fast`: JPEG through libjpeg-turbo's quick settings
    /// instead of jpegli.
    pub fast: bool,
}

impl Encoding {
    /// Baseline JPEG, full-colour PNG.
    pub(crate) fn plain(quality: u8) -> Encoding {
        Encoding {
            quality,
            progressive: false,
            palette: false,
            fast: true,
        }
    }
}

/// Encodes an 8-bit image (grey, grey+alpha, RGB or RGBA) with the
/// default settings (baseline JPEG, full-colour PNG).
pub(crate) fn encode(
    image: &DynamicImage,
    format: ImageFormat,
    quality: u8,
) -> Result<Vec<u8>, Error> {
    encode_with(image, format, &Encoding::plain(quality), &|| Ok(()))
}

/// Encodes an 8-bit image (grey, grey+alpha, RGB or RGBA). JPEG input must
/// already be opaque: flattening needs the background, which is the
/// pipeline's business. Encoders that report progress (WebP) ask `check`
/// whether to go on, so a job can be stopped part-way through its encode.
pub(crate) fn encode_with(
    image: &DynamicImage,
    format: ImageFormat,
    encoding: &Encoding,
    check: &dyn Fn() -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    check_size(format, image.width(), image.height())?;
    let quality = encoding.quality;
    match format {
        ImageFormat::Jpeg => {
            jpeg::encode_with(image, quality, encoding.progressive, encoding.fast, check)
        }
        ImageFormat::Png if encoding.palette => palette::encode(image, quality),
        ImageFormat::Png => png::encode(image),
        ImageFormat::Gif => gif::encode(image),
        ImageFormat::Webp => webp::encode(image, quality, check),
        ImageFormat::Avif => avif::encode(image, quality),
        ImageFormat::Tiff
        | ImageFormat::Bmp
        | ImageFormat::Ico
        | ImageFormat::Heic
        | ImageFormat::Json => Err(internal(&format!(
            "{} is not an output format",
            format_label(format)
        ))),
    }
}

/// Puts EXIF and XMP blocks into an encoded JPEG.
pub(crate) fn add_jpeg_metadata(jpeg: Vec<u8>, exif: Option<&[u8]>, xmp: Option<&[u8]>) -> Vec<u8> {
    metadata::insert_into_jpeg(jpeg, exif, xmp)
}

pub(crate) use exif::{
    copyright_only as exif_copyright_only, reset_orientation as exif_reset_orientation,
};

/// The name people use for the format in sentences.
pub(crate) fn format_label(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::Gif => "GIF",
        ImageFormat::Webp => "WebP",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Heic => "HEIC",
        ImageFormat::Json => "JSON",
    }
}

/// Longest detail quoted from a codec's error text.
const MAX_DETAIL_CHARS: usize = 120;

/// A codec's error text made fit for a response body: one line, no control
/// characters, bounded length.
pub(crate) fn detail(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    let mut chars = clean.chars();
    let mut short: String = chars.by_ref().take(MAX_DETAIL_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

pub(crate) fn corrupt(what: &str) -> Error {
    Error::new(
        ErrorKind::CorruptImage,
        format!("the image is corrupt or truncated: {}", detail(what)),
    )
}

pub(crate) fn internal(what: &str) -> Error {
    Error::new(ErrorKind::Internal, detail(what))
}

/// An encoder failure is never the client's fault.
fn encode_error(format: ImageFormat, err: impl std::fmt::Display) -> Error {
    internal(&format!("{} encoding failed: {err}", format_label(format)))
}

/// `N` bytes at `at`, or `None` past the end (offsets come from the file,
/// so even the addition is checked).
fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// A `depth`-bit sample (9 to 16 bits) scaled to 16 bits (the top bits
/// repeated below, so the maximum maps to 65535).
fn widen(sample: u16, depth: u32) -> u16 {
    let sample = u32::from(sample).min((1 << depth) - 1);
    ((sample << (16 - depth)) | (sample >> (2 * depth - 16))) as u16
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes_at(bytes, at).map(u16::from_be_bytes)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes_at(bytes, at).map(u32::from_be_bytes)
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes_at(bytes, at).map(u16::from_le_bytes)
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    bytes_at::<3>(bytes, at).map(|[a, b, c]| u32::from_le_bytes([a, b, c, 0]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes_at(bytes, at).map(u32::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_one_short_line() {
        assert_eq!(detail("bad\nthing\u{0}"), "bad thing");
        let long = detail(&"y".repeat(1000));
        assert_eq!(long.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn reads_never_run_past_the_end() {
        assert_eq!(be16(&[1], 0), None);
        assert_eq!(be32(&[1, 2, 3, 4], 1), None);
        assert_eq!(le24(&[1, 2, 3], 0), Some(0x030201));
        assert_eq!(le32(&[], usize::MAX - 1), None);
    }
}
