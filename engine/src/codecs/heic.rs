//! HEIC/HEIF originals (still images: one HEVC item or a grid of them, with
//! or without alpha). The size comes from the primary item's `ispe`
//! property, read in Rust without decoding, so the location's limits apply
//! before libheif sees the file; the container's transforms and colour
//! ([`super::item_properties`], `clap` included) are honoured as for AVIF.
//! The pixels are
//! decoded by the system's libheif ([`super::libheif`]). Image sequences
//! (`msf1`, `hevc` brands) are refused by name at sniffing.

use super::item_properties::{self, PrimaryItem};
use super::{corrupt, Header};
use crate::{Error, Limits};

/// Major brands of still HEIF files: HEVC (`heic`, `heix`: 10-bit),
/// multi-layer HEVC (`heim`, `heis`) and the generic image brand.
const STILL_BRANDS: [&[u8; 4]; 5] = [b"heic", b"heix", b"heim", b"heis", b"mif1"];

pub(super) fn looks_like(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"ftyp")
        && bytes
            .get(8..12)
            .is_some_and(|brand| STILL_BRANDS.iter().any(|still| still.as_slice() == brand))
}

/// The primary item's size from `ispe`: nothing decoded.
pub(super) fn header(bytes: &[u8]) -> Result<Header, Error> {
    let heic = open(bytes)?;
    // 8-bit HEVC is decoded to 8-bit RGB(A); deeper (or undeclared, the
    // widest case) to 16-bit.
    let pixel_bytes = match heic.item.properties.hevc_luma_bits {
        Some(bits) if bits <= 8 => 4,
        _ => 8,
    };
    Ok(Header {
        pixel_bytes,
        ..Header::still(heic.item.width, heic.item.height)
    })
}

/// A HEIF whose container has been read; nothing decoded.
pub(crate) struct Heic {
    /// Its size, properties and clean aperture.
    pub item: PrimaryItem,
}

pub(super) fn open(bytes: &[u8]) -> Result<Heic, Error> {
    super::isobmff_bounds::check(bytes)
        .map_err(|what| corrupt(&format!("HEIF container: {what}")))?;
    let properties = item_properties::read(bytes)
        .map_err(|what| corrupt(&format!("HEIF item properties: {what}")))?;
    // Every HEIF image item carries its size (ISO/IEC 23008-12 § 6.5.3).
    let size = properties
        .size
        .ok_or_else(|| corrupt("the HEIF primary image has no ispe size"))?;
    let item = PrimaryItem::new(properties, size)
        .map_err(|what| corrupt(&format!("HEIF item properties: {what}")))?;
    Ok(Heic { item })
}

impl Heic {
    /// Decodes the primary image, which must be the size `ispe` gave, and
    /// crops it to the clean aperture.
    pub(super) fn decode(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<image::DynamicImage, Error> {
        let image = super::libheif::decode(bytes, limits)?;
        let (width, height) = (self.item.width, self.item.height);
        if (image.width(), image.height()) != (width, height) {
            return Err(corrupt(&format!(
                "the HEIF image is {}×{}, its ispe gives {}×{}",
                image.width(),
                image.height(),
                width,
                height
            )));
        }
        Ok(self.item.shown(image))
    }
}
