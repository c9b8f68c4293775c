//! Decoding: JPEG through libjpeg-turbo (with DCT scaling), everything else
//! and the JPEGs libjpeg-turbo does not take (CMYK, 12-bit, lossless)
//! through the `image` crate. Each decoder has the location's limits set as
//! a second line of defence behind the header check.

use std::io::{self, BufRead, Cursor, Read, Seek, SeekFrom};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};

use super::metadata::{self, Metadata};
use super::panic_guard::guarded;
use super::turbo::{self, Layout};
use super::{avif_input, corrupt, detail, jpeg, Header};
use crate::{colour, Error, ErrorKind, ImageFormat, Limits};

/// Room for the decoders' own tables, row buffers and ancillary data
/// (PNG's iCCP and zTXt, inflated) on top of the pixels. The engine uses
/// none of that metadata: a profile that inflates past this is dropped by
/// the PNG decoder, not an error.
const DECODER_OVERHEAD: u64 = 1 << 20;

/// Buffers of a whole frame a decoder may hold at once: the canvas and the
/// frame being composed onto it (GIF, animated WebP), or the pixels and a
/// conversion of them.
const FRAME_BUFFERS: u64 = 2;

/// Whole canvases an animation's decoder holds at once: GIF's keeps the
/// canvas the previous frames left, the frame being read (up to the
/// canvas's size) and that frame composed onto a copy of the canvas.
const ANIMATION_BUFFERS: u64 = 3;

/// Longest slice of input a decoder is handed per read: decoders come back
/// for more at least this often, and each time the job's control is looked
/// at.
const READ_SLICE: usize = 64 << 10;

/// A stop check: `Err` once the job should end.
pub(crate) type Check<'a> = &'a dyn Fn() -> Result<(), Error>;

/// The input as the `image` crate's decoders read it, looking at the job's
/// control on every read: a cancelled or expired job ends at the decoder's
/// next read (every row or IDAT chunk for PNG, every sub-block for GIF)
/// with an I/O error, which the pipeline turns back into the control's own
/// error.
struct CheckedInput<'a> {
    inner: Cursor<&'a [u8]>,
    check: Check<'a>,
}

impl CheckedInput<'_> {
    fn stop_if_asked(&self) -> io::Result<()> {
        (self.check)().map_err(|err| io::Error::other(err.message))
    }
}

impl Read for CheckedInput<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stop_if_asked()?;
        let len = buf.len().min(READ_SLICE);
        self.inner.read(&mut buf[..len])
    }
}

impl BufRead for CheckedInput<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.stop_if_asked()?;
        let rest = self.inner.fill_buf()?;
        Ok(&rest[..rest.len().min(READ_SLICE)])
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

impl Seek for CheckedInput<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

/// A decoder that has read the header and not yet any pixel.
pub(crate) enum Source<'a> {
    /// A JPEG libjpeg-turbo decodes, with its EXIF orientation.
    Jpeg(turbo::Jpeg<'a>, Orientation),
    /// A CMYK or YCCK JPEG libjpeg-turbo decodes to inks, with its
    /// metadata (the profile and the Adobe marker say how to make RGB).
    Cmyk(turbo::Jpeg<'a>, Orientation, Metadata),
    /// An AVIF with its container read, and the limits its AV1 decoder
    /// is given.
    Avif(super::avif_input::Avif, Limits),
    /// A HEIF with its container read, the file (libheif reads it again
    /// when decoding) and the limits its decoder is given.
    Heic(super::heic::Heic, &'a [u8], Limits),
    Generic(Box<dyn ImageDecoder + 'a>),
}

/// Opens a decoder for `format` with the location's limits applied, and a
/// memory cap derived from this image's `header`. `check` is called as the
/// decoder reads (not by libjpeg-turbo, which decodes in one call).
pub(crate) fn open<'a>(
    input: &'a [u8],
    format: ImageFormat,
    header: &Header,
    limits: &Limits,
    check: Check<'a>,
) -> Result<Source<'a>, Error> {
    if format == ImageFormat::Jpeg {
        if let Some(source) = turbo::open(input, limits)? {
            let orientation = jpeg::orientation(input);
            if source.layout == Layout::Cmyk {
                return Ok(Source::Cmyk(
                    source,
                    orientation,
                    metadata::from_jpeg(input),
                ));
            }
            return Ok(Source::Jpeg(source, orientation));
        }
    }
    if format == ImageFormat::Avif {
        return Ok(Source::Avif(avif_input::open(input)?, *limits));
    }
    if format == ImageFormat::Heic {
        return Ok(Source::Heic(super::heic::open(input)?, input, *limits));
    }
    let input = CheckedInput {
        inner: Cursor::new(input),
        check,
    };
    let mut reader = ImageReader::with_format(input, image_format(format));
    reader.limits(decoder_limits(header, limits));
    let decoder = guarded(|| reader.into_decoder().map_err(decode_error))?;
    Ok(Source::Generic(Box::new(decoder)))
}

impl Source<'_> {
    /// The stored size (the canvas for animations), before orientation.
    pub(crate) fn dimensions(&self) -> (u32, u32) {
        match self {
            Source::Jpeg(jpeg, _) | Source::Cmyk(jpeg, _, _) => (jpeg.width, jpeg.height),
            Source::Avif(avif, _) => avif.item.dimensions(),
            Source::Heic(heic, _, _) => heic.item.dimensions(),
            Source::Generic(decoder) => decoder.dimensions(),
        }
    }

    /// EXIF orientation. Damaged metadata is not worth failing a request
    /// over: the image is then taken as upright.
    pub(crate) fn orientation(&mut self) -> Orientation {
        match self {
            Source::Jpeg(_, orientation) | Source::Cmyk(_, orientation, _) => *orientation,
            Source::Avif(avif, _) => avif.item.orientation(),
            Source::Heic(heic, _, _) => heic.item.orientation(),
            Source::Generic(decoder) => decoder.orientation().unwrap_or(Orientation::NoTransforms),
        }
    }

    /// The ICC profile, EXIF and XMP of the original (`input`, the bytes
    /// this source was opened on). A CMYK JPEG's profile is used while
    /// decoding, so it is not returned again. Damaged metadata is left out.
    pub(crate) fn metadata(&mut self, input: &[u8]) -> Metadata {
        match self {
            Source::Jpeg(..) => metadata::from_jpeg(input),
            Source::Cmyk(_, _, metadata) => Metadata {
                icc: None,
                ..metadata.clone()
            },
            Source::Avif(avif, _) => Metadata {
                icc: avif.item.icc(),
                ..Metadata::default()
            },
            Source::Heic(heic, _, _) => Metadata {
                icc: heic.item.icc(),
                ..Metadata::default()
            },
            Source::Generic(decoder) => Metadata {
                icc: decoder.icc_profile().ok().flatten(),
                exif: decoder.exif_metadata().ok().flatten(),
                xmp: decoder.xmp_metadata().ok().flatten(),
                adobe: false,
            },
        }
    }

    /// Decodes the pixels (the first frame of an animation). `reduction`
    /// is how many times smaller the output will be than the source (in
    /// both directions, 1 or more): a decoder that can shrink while
    /// decoding (JPEG's DCT scaling) may return an image up to that many
    /// times smaller, never smaller than the output. Others ignore it.
    /// Returns the image and the factor it was actually shrunk by (1 for
    /// full size); a shrunk size is rounded up to whole pixels.
    pub(crate) fn decode(self, reduction: f64) -> Result<(DynamicImage, u32), Error> {
        match self {
            Source::Jpeg(jpeg, _) => {
                let layout = jpeg.layout;
                let (pixels, width, height, shrink) = jpeg.decode_for(reduction)?;
                let image = match layout {
                    Layout::Grey => image::GrayImage::from_raw(width, height, pixels)
                        .map(DynamicImage::ImageLuma8),
                    Layout::Rgb => image::RgbImage::from_raw(width, height, pixels)
                        .map(DynamicImage::ImageRgb8),
                    Layout::Cmyk => None,
                };
                let image =
                    image.ok_or_else(|| super::internal("the decoded JPEG has the wrong size"))?;
                Ok((image, shrink))
            }
            Source::Cmyk(jpeg, _, metadata) => {
                let (inks, width, height, shrink) = jpeg.decode_for(reduction)?;
                let rgb = colour::cmyk_to_srgb(
                    inks,
                    width,
                    height,
                    metadata.icc.as_deref(),
                    metadata.adobe,
                )
                .ok_or_else(|| super::internal("the decoded JPEG has the wrong size"))?;
                Ok((DynamicImage::ImageRgb8(rgb), shrink))
            }
            Source::Avif(avif, limits) => Ok((avif.decode(&limits)?, 1)),
            Source::Heic(heic, input, limits) => Ok((heic.decode(input, &limits)?, 1)),
            Source::Generic(decoder) => Ok((
                guarded(|| DynamicImage::from_decoder(decoder).map_err(decode_error))?,
                1,
            )),
        }
    }
}

fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Avif => image::ImageFormat::Avif,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Ico => image::ImageFormat::Ico,
        // Decoded by libheif, never by the generic decoder.
        ImageFormat::Heic => image::ImageFormat::Avif,
        // Never sniffed from an original; the generic decoder refuses it.
        ImageFormat::Json => image::ImageFormat::Avif,
    }
}

/// The decoder's limits: the location's sides, and memory for this image
/// (its header's size, at its widest layout) rather than for the largest
/// image allowed. The header has already passed the location's limits.
pub(crate) fn decoder_limits(header: &Header, limits: &Limits) -> image::Limits {
    limits_for(header, limits, FRAME_BUFFERS)
}

/// [`decoder_limits`] for reading every frame of an animation.
pub(crate) fn animation_limits(header: &Header, limits: &Limits) -> image::Limits {
    limits_for(header, limits, ANIMATION_BUFFERS)
}

fn limits_for(header: &Header, limits: &Limits, buffers: u64) -> image::Limits {
    let mut decoder = image::Limits::default();
    decoder.max_image_width = Some(limits.max_side);
    decoder.max_image_height = Some(limits.max_side);
    let pixels = u64::from(header.width) * u64::from(header.height);
    decoder.max_alloc = Some(
        pixels
            .saturating_mul(u64::from(header.pixel_bytes.max(4)))
            .saturating_mul(buffers)
            .saturating_add(DECODER_OVERHEAD),
    );
    decoder
}

/// Sorts the decoder's failure into the catalogue: limits are the pixel
/// limit's business, unsupported features are an unsupported format, and
/// anything else means the data is bad.
pub(super) fn decode_error(err: ImageError) -> Error {
    match err {
        ImageError::Limits(limit) => Error::new(
            ErrorKind::TooManyPixels,
            format!(
                "the image is too large to decode within the limits: {}",
                detail(&limit.to_string())
            ),
        ),
        ImageError::Unsupported(unsupported) => Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "the image uses a feature that is not supported: {}",
                detail(&unsupported.to_string())
            ),
        ),
        other => corrupt(&other.to_string()),
    }
}
