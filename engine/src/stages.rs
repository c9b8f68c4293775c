//! The pipeline's stages one at a time, for the benchmarks in `benches/`
//! (which can only reach the public API). Not part of the engine's API:
//! hidden from the documentation and free to change.

use image::DynamicImage;

use crate::{codecs, geometry, pipeline, Error, Fit, Gravity, ImageFormat, Limits};

/// Sniffs, reads the header and decodes, shrinking while decoding by up to
/// `reduction` (see [`process`](crate::process)); returns the image and the
/// factor it was shrunk by.
pub fn decode(input: &[u8], reduction: f64) -> Result<(DynamicImage, u32), Error> {
    let format = codecs::sniff_format(input)?;
    let header = codecs::read_header(input, format)?;
    let source = codecs::open(input, format, &header, &Limits::default(), &|| Ok(()))?;
    source.decode(reduction)
}

/// Lanczos3 of the whole image to `width` × `height`.
pub fn resize(image: DynamicImage, width: u32, height: u32) -> Result<DynamicImage, Error> {
    let plan = geometry::plan(
        image.width(),
        image.height(),
        Some(width),
        Some(height),
        Fit::Squeeze,
        Gravity::Center,
    );
    pipeline::resize::resize(image, &plan, &|| Ok(()))
}

/// Encodes an 8-bit image (opaque for JPEG).
pub fn encode(image: &DynamicImage, format: ImageFormat, quality: u8) -> Result<Vec<u8>, Error> {
    codecs::encode(image, format, quality)
}
