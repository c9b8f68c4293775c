//! Decoding through the `image` crate, with its own limits set as a second
//! line of defence behind the header check.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};

use super::{corrupt, detail};
use crate::{Error, ErrorKind, ImageFormat, Limits};

/// Bytes per pixel of the widest layout a decoder may produce (RGBA, 16 bits
/// per channel), used to turn the pixel limit into a memory limit.
const WIDEST_PIXEL: u64 = 8;

/// Room for the decoders' own tables and row buffers on top of the pixels.
const DECODER_OVERHEAD: u64 = 64 << 20;

/// A decoder that has read the header and not yet any pixel.
pub(crate) struct Source<'a> {
    decoder: Box<dyn ImageDecoder + 'a>,
}

/// Opens a decoder for `format` with the location's limits applied.
pub(crate) fn open<'a>(
    input: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Source<'a>, Error> {
    let mut reader = ImageReader::with_format(Cursor::new(input), image_format(format));
    reader.limits(decoder_limits(limits));
    let decoder = reader.into_decoder().map_err(decode_error)?;
    Ok(Source {
        decoder: Box::new(decoder),
    })
}

impl Source<'_> {
    /// The size the decoder will produce (the canvas for animations).
    pub(crate) fn dimensions(&self) -> (u32, u32) {
        self.decoder.dimensions()
    }

    /// EXIF orientation. Damaged metadata is not worth failing a request
    /// over: the image is then taken as upright.
    pub(crate) fn orientation(&mut self) -> Orientation {
        self.decoder
            .orientation()
            .unwrap_or(Orientation::NoTransforms)
    }

    /// Decodes the pixels (the first frame of an animation).
    pub(crate) fn decode(self) -> Result<DynamicImage, Error> {
        DynamicImage::from_decoder(self.decoder).map_err(decode_error)
    }
}

fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
    }
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut decoder = image::Limits::default();
    decoder.max_image_width = Some(limits.max_side);
    decoder.max_image_height = Some(limits.max_side);
    decoder.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(WIDEST_PIXEL)
            .saturating_add(DECODER_OVERHEAD),
    );
    decoder
}

/// Sorts the decoder's failure into the catalogue: limits are the pixel
/// limit's business, unsupported features are an unsupported format, and
/// anything else means the data is bad.
fn decode_error(err: ImageError) -> Error {
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
