//! AVIF originals (still images, 8-, 10- and 12-bit, with or without an
//! alpha item). The container is read by `avif-parse`, each AV1 item is
//! decoded by libdav1d ([`super::dav1d`]) and turned into RGB by `yuv`
//! with the matrix and range the AV1 sequence header gives.
//!
//! The size comes from the primary item's `ispe` property (or, without
//! one, the AV1 sequence header), read without decoding, so the location's
//! limits apply before any pixel is allocated. The container's item
//! properties ([`super::item_properties`]) decide what is shown: `irot`
//! and `imir` become the image's orientation (applied with EXIF's, so the
//! reported size is the upright one), a `colr` of type `nclx` gives the
//! YUV matrix and range (over the AV1 header's, as libavif does) and its
//! primaries and transfer, and an ICC `colr` is converted like a JPEG's
//! embedded profile. A `clap` (clean aperture, [`super::clean_aperture`])
//! crops the decoded image before it is turned, so the size the pipeline
//! plans with is the cropped one; the limits before decoding still see
//! `ispe`, what is decoded. Grid images (the tiled layout of some camera files)
//! and AVIF sequences are refused by name. Deeper than 8 bits stays 16-bit
//! through the pipeline, like 16-bit PNG.

use std::io::Cursor;

use avif_parse::AvifData;
use image::{DynamicImage, ImageBuffer, Rgb, Rgba};
use yuv::{YuvGrayImage, YuvPlanarImage, YuvRange, YuvStandardMatrix};

use super::dav1d::{self, Frame, Layout};
use super::item_properties::{self, ItemProperties, PrimaryItem};
use super::{corrupt, detail, internal, Header};
use crate::{Error, ErrorKind, Limits};

/// `ftyp` at offset 4 with the still-image brand as the major brand.
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    bytes.get(4..12) == Some(b"ftypavif")
}

/// The primary item's size from its AV1 sequence header: nothing decoded.
pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let avif = parse(bytes)?;
    let properties = properties(bytes)?;
    let sequence = sequence_header(&avif)?;
    let (width, height) = size(&sequence, &properties)?;
    // A malformed aperture is refused here, before anything is planned.
    item(properties, (width, height))?;
    // 10- and 12-bit AVIFs are kept at 16 bits per channel, 8-bit ones at
    // 8 (the colour item's depth decides; see `decode_whole`), alpha
    // counted either way.
    let deep = sequence.bit_depth > 8;
    Ok(Header {
        pixel_bytes: if deep { 8 } else { 4 },
        ..Header::still(width, height)
    })
}

/// An AVIF whose container has been read; the AV1 items are not decoded.
pub(crate) struct Avif {
    data: AvifData,
    /// Its size, properties and clean aperture.
    pub item: PrimaryItem,
}

pub(super) fn open(bytes: &[u8]) -> Result<Avif, Error> {
    let data = parse(bytes)?;
    let properties = properties(bytes)?;
    let size = size(&sequence_header(&data)?, &properties)?;
    let item = item(properties, size)?;
    Ok(Avif { data, item })
}

impl Avif {
    /// Decodes the colour item (and the alpha item, if any) into an RGB or
    /// RGBA image (8-bit for 8-bit AV1, 16-bit otherwise), cropped to the
    /// clean aperture.
    pub(super) fn decode(&self, limits: &Limits) -> Result<DynamicImage, Error> {
        Ok(self.item.shown(self.decode_whole(limits)?))
    }

    fn decode_whole(&self, limits: &Limits) -> Result<DynamicImage, Error> {
        let colour = Coded {
            frame: dav1d::decode(&self.data.primary_item, limits.max_pixels)?,
            cicp: self.item.properties.cicp,
        };
        let alpha = match self.data.alpha_item.as_deref() {
            Some(item) => Some(dav1d::decode(item, limits.max_pixels)?),
            None => None,
        };
        if (colour.frame.width(), colour.frame.height()) != (self.item.width, self.item.height) {
            return Err(corrupt("the AV1 frame is not the size the container gives"));
        }
        let image = if colour.frame.bit_depth() == 8 {
            DynamicImage::ImageRgb8(rgb8(&colour)?)
        } else {
            DynamicImage::ImageRgb16(rgb16(&colour)?)
        };
        match alpha {
            Some(alpha) => with_alpha(image, &alpha, self.data.premultiplied_alpha),
            None => Ok(image),
        }
    }
}

fn parse(bytes: &[u8]) -> Result<AvifData, Error> {
    super::isobmff_bounds::check(bytes)
        .map_err(|what| corrupt(&format!("AVIF container: {what}")))?;
    avif_parse::read_avif(&mut Cursor::new(bytes)).map_err(|err| match err {
        avif_parse::Error::Unsupported(what) => Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "the AVIF uses a feature that is not supported: {}",
                detail(what)
            ),
        ),
        avif_parse::Error::OutOfMemory => internal("out of memory reading the AVIF container"),
        other => corrupt(&format!("AVIF container: {other}")),
    })
}

fn properties(bytes: &[u8]) -> Result<ItemProperties, Error> {
    item_properties::read(bytes).map_err(|what| corrupt(&format!("AVIF item properties: {what}")))
}

fn item(properties: ItemProperties, size: (u32, u32)) -> Result<PrimaryItem, Error> {
    PrimaryItem::new(properties, size)
        .map_err(|what| corrupt(&format!("AVIF item properties: {what}")))
}

/// The primary image's size: `ispe`'s, which the AV1 frame must match;
/// without `ispe`, the sequence header's. A sequence header larger than
/// `ispe` is refused here, before the decoder sees it.
fn size(
    sequence: &avif_parse::AV1Metadata,
    properties: &ItemProperties,
) -> Result<(u32, u32), Error> {
    let coded = (
        sequence.max_frame_width.get(),
        sequence.max_frame_height.get(),
    );
    match properties.size {
        Some(ispe) if coded.0 > ispe.0 || coded.1 > ispe.1 => Err(corrupt(
            "the AV1 sequence header is larger than the image's ispe",
        )),
        Some(ispe) => Ok(ispe),
        None => Ok(coded),
    }
}

/// The colour item's AV1 sequence header: size and depth, nothing decoded.
fn sequence_header(avif: &AvifData) -> Result<avif_parse::AV1Metadata, Error> {
    avif.primary_item_metadata()
        .map_err(|err| corrupt(&format!("AV1 sequence header: {err}")))
}

/// A decoded frame with the container's colour code points, which win
/// over the AV1 sequence header's.
struct Coded {
    frame: Frame,
    cicp: Option<item_properties::Cicp>,
}

impl Coded {
    /// H.273 matrix coefficients: the container's unless unspecified (2).
    fn matrix(&self) -> u32 {
        match self.cicp {
            Some(cicp) if cicp.matrix != 2 => u32::from(cicp.matrix),
            _ => self.frame.matrix(),
        }
    }

    fn full_range(&self) -> bool {
        self.cicp
            .map_or_else(|| self.frame.full_range(), |cicp| cicp.full_range)
    }
}

impl std::ops::Deref for Coded {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.frame
    }
}

/// The YUV matrix for H.273 matrix coefficients. Unspecified is taken as
/// BT.601, as libavif and browsers do.
fn matrix(frame: &Coded) -> Result<Option<YuvStandardMatrix>, Error> {
    Ok(Some(match frame.matrix() {
        // Identity: the planes are G, B, R (no conversion).
        0 => return Ok(None),
        1 => YuvStandardMatrix::Bt709,
        4 => YuvStandardMatrix::Fcc,
        5 | 6 | 2 => YuvStandardMatrix::Bt601,
        7 => YuvStandardMatrix::Smpte240,
        9 | 10 => YuvStandardMatrix::Bt2020,
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!("the AVIF uses YUV matrix coefficients {other}, which are not supported"),
            ))
        }
    }))
}

fn range(frame: &Coded) -> YuvRange {
    if frame.full_range() {
        YuvRange::Full
    } else {
        YuvRange::Limited
    }
}

fn yuv_failed(err: yuv::YuvError) -> Error {
    corrupt(&format!("YUV to RGB: {err}"))
}

/// An 8-bit frame as 8-bit RGB.
fn rgb8(frame: &Coded) -> Result<image::RgbImage, Error> {
    let (width, height) = (frame.width(), frame.height());
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let stride = |index| frame.stride_bytes(index) as u32;
    let Some(matrix) = matrix(frame)? else {
        interleave_gbr(frame, |index| frame.plane_bytes(index), &mut rgb);
        return image::RgbImage::from_raw(width, height, rgb)
            .ok_or_else(|| internal("the decoded AVIF has the wrong size"));
    };
    if frame.layout() == Layout::I400 {
        let grey = YuvGrayImage {
            y_plane: frame.plane_bytes(0),
            y_stride: stride(0),
            width,
            height,
        };
        yuv::yuv400_to_rgb(&grey, &mut rgb, width * 3, range(frame), matrix)
    } else {
        let planar = YuvPlanarImage {
            y_plane: frame.plane_bytes(0),
            y_stride: stride(0),
            u_plane: frame.plane_bytes(1),
            u_stride: stride(1),
            v_plane: frame.plane_bytes(2),
            v_stride: stride(2),
            width,
            height,
        };
        let convert = match frame.layout() {
            Layout::I420 => yuv::yuv420_to_rgb,
            Layout::I422 => yuv::yuv422_to_rgb,
            _ => yuv::yuv444_to_rgb,
        };
        convert(&planar, &mut rgb, width * 3, range(frame), matrix)
    }
    .map_err(yuv_failed)?;
    image::RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| internal("the decoded AVIF has the wrong size"))
}

type Rgb16Image = ImageBuffer<Rgb<u16>, Vec<u16>>;

/// A 10- or 12-bit frame as 16-bit RGB (samples scaled to the full range).
fn rgb16(frame: &Coded) -> Result<Rgb16Image, Error> {
    let (width, height) = (frame.width(), frame.height());
    let depth = frame.bit_depth();
    let mut rgb = vec![0u16; width as usize * height as usize * 3];
    // Strides of high-bit-depth planes count samples, not bytes.
    let stride = |index| (frame.stride_bytes(index) / 2) as u32;
    if let Some(matrix) = matrix(frame)? {
        if frame.layout() == Layout::I400 {
            let grey = YuvGrayImage {
                y_plane: frame.plane_words(0),
                y_stride: stride(0),
                width,
                height,
            };
            let convert = if depth == 10 {
                yuv::y010_to_rgb10
            } else {
                yuv::y012_to_rgb12
            };
            convert(&grey, &mut rgb, width * 3, range(frame), matrix)
        } else {
            let planar = YuvPlanarImage {
                y_plane: frame.plane_words(0),
                y_stride: stride(0),
                u_plane: frame.plane_words(1),
                u_stride: stride(1),
                v_plane: frame.plane_words(2),
                v_stride: stride(2),
                width,
                height,
            };
            let convert = match (frame.layout(), depth) {
                (Layout::I420, 10) => yuv::i010_to_rgb10,
                (Layout::I422, 10) => yuv::i210_to_rgb10,
                (_, 10) => yuv::i410_to_rgb10,
                (Layout::I420, _) => yuv::i012_to_rgb12,
                (Layout::I422, _) => yuv::i212_to_rgb12,
                _ => yuv::i412_to_rgb12,
            };
            convert(&planar, &mut rgb, width * 3, range(frame), matrix)
        }
        .map_err(yuv_failed)?;
    } else {
        interleave_gbr(frame, |index| frame.plane_words(index), &mut rgb);
    }
    for sample in &mut rgb {
        *sample = super::widen(*sample, depth);
    }
    Rgb16Image::from_raw(width, height, rgb)
        .ok_or_else(|| internal("the decoded AVIF has the wrong size"))
}

/// Identity matrix (4:4:4 only): Y holds green, U blue, V red.
fn interleave_gbr<'a, T: Copy + Default + 'a>(
    frame: &Frame,
    plane: impl Fn(usize) -> &'a [T],
    rgb: &mut [T],
) {
    let width = frame.width() as usize;
    let sample = std::mem::size_of::<T>();
    let (g, b, r) = (plane(0), plane(1), plane(2));
    let at = |plane: &[T], index: usize, x: usize, y: usize| {
        let stride = frame.stride_bytes(index) / sample;
        plane.get(y * stride + x).copied().unwrap_or_default()
    };
    for (y, row) in rgb.chunks_exact_mut(width * 3).enumerate() {
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            pixel[0] = at(r, 2, x, y);
            pixel[1] = at(g, 0, x, y);
            pixel[2] = at(b, 1, x, y);
        }
    }
}

/// Adds the alpha item's luma as the fourth channel (expanded from studio
/// range if it is coded that way), dividing premultiplied colour back out.
fn with_alpha(
    image: DynamicImage,
    alpha: &Frame,
    premultiplied: bool,
) -> Result<DynamicImage, Error> {
    let (width, height) = (image.width(), image.height());
    if (alpha.width(), alpha.height()) != (width, height) {
        return Err(corrupt("the AVIF alpha item is not the size of the image"));
    }
    let depth = alpha.bit_depth();
    let max = (1u32 << depth) - 1;
    let full = alpha.full_range();
    let stride = alpha.stride_bytes(0);
    // Alpha as 0..=65535.
    let sample = |x: u32, y: u32| -> u32 {
        let raw = if depth == 8 {
            u32::from(
                alpha
                    .plane_bytes(0)
                    .get(y as usize * stride + x as usize)
                    .copied()
                    .unwrap_or(255),
            )
        } else {
            u32::from(
                alpha
                    .plane_words(0)
                    .get(y as usize * stride / 2 + x as usize)
                    .copied()
                    .unwrap_or(u16::MAX),
            )
        };
        let raw = if full {
            raw.min(max)
        } else {
            // Studio range: 16..=235 at 8 bits, shifted for deeper.
            let (low, high) = (16 << (depth - 8), 235 << (depth - 8));
            (raw.clamp(low, high) - low) * max / (high - low)
        };
        raw * 65_535 / max
    };
    let unpremultiply = |value: u32, a: u32, top: u32| -> u32 {
        if !premultiplied || a == 65_535 {
            value
        } else {
            // Fully transparent (a = 0) colour is black.
            (value * 65_535).checked_div(a).map_or(0, |v| v.min(top))
        }
    };
    Ok(match image {
        DynamicImage::ImageRgb8(rgb) => {
            DynamicImage::ImageRgba8(ImageBuffer::from_fn(width, height, |x, y| {
                let a = sample(x, y);
                let Rgb([r, g, b]) = *rgb.get_pixel(x, y);
                let c = |v: u8| unpremultiply(u32::from(v), a, 255) as u8;
                Rgba([c(r), c(g), c(b), (a / 257) as u8])
            }))
        }
        DynamicImage::ImageRgb16(rgb) => {
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(width, height, |x, y| {
                let a = sample(x, y);
                let Rgb([r, g, b]) = *rgb.get_pixel(x, y);
                let c = |v: u16| unpremultiply(u32::from(v), a, 65_535) as u16;
                Rgba([c(r), c(g), c(b), a as u16])
            }))
        }
        other => other,
    })
}
