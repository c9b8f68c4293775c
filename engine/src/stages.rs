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

/// Encodes an opaque 8-bit image as JPEG the way `format=jpeg` does:
/// jpegli, progressive (baseline for `baseline-jpeg`), or
/// libjpeg-turbo with `fast` (`compression=fast`).
pub fn encode_jpeg(
    image: &DynamicImage,
    quality: u8,
    progressive: bool,
    fast: bool,
) -> Result<Vec<u8>, Error> {
    let encoding = codecs::Encoding {
        quality,
        progressive,
        palette: false,
        fast,
    };
    codecs::encode_with(image, ImageFormat::Jpeg, &encoding, &|| Ok(()))
}

/// The default JPEG encoder's choices (`Tuning::MODULE` is the module's),
/// for `examples/jpeg_settings.rs`.
pub use codecs::JpegliTuning;

/// Encodes an opaque 8-bit grey or RGB image with jpegli and any tuning.
pub fn encode_jpegli(
    image: &DynamicImage,
    quality: u8,
    tuning: &JpegliTuning,
) -> Result<Vec<u8>, Error> {
    codecs::encode_jpegli_tuned(image, quality, tuning)
}

/// `trim=border`: the region inside a uniform border, as
/// (x, y, width, height).
pub fn trim_border(image: &DynamicImage) -> (u32, u32, u32, u32) {
    let region = pipeline::trim::border(image, pipeline::trim::BORDER_TOLERANCE);
    (region.x, region.y, region.width, region.height)
}

/// `flip`, in place.
pub fn flip(image: &mut DynamicImage, flip: crate::Flip) {
    pipeline::flip::flip(image, flip);
}

/// `gravity=auto`: the focal point for a `crop_w × crop_h` box.
pub fn focus(image: &DynamicImage, crop_w: f64, crop_h: f64) -> Gravity {
    let region = pipeline::trim::Region::whole(image.width(), image.height());
    pipeline::focus::focus(image, region, crop_w, crop_h)
}

/// The adjustments of `transform` (blur, sharpen, brightness, …).
pub fn adjust(image: DynamicImage, transform: &crate::Transform) -> DynamicImage {
    pipeline::adjust::adjust(image, transform)
}
