//! HEIC/HEIF originals (still images: one HEVC item or a grid of them, with
//! or without alpha). The size comes from the primary item's `ispe`
//! property, read in Rust without decoding, so the location's limits apply
//! before libheif sees the file; the container's transforms and colour
//! ([`super::item_properties`], `clap` included) are honoured as for AVIF.
//! The pixels are
//! decoded by the system's libheif ([`super::libheif`]). Image sequences
//! (`msf1`, `hevc` brands) are refused by name at sniffing.

use super::clean_aperture::{self, Crop};
use super::item_properties::{self, ItemProperties};
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
    let pixel_bytes = match heic.properties.hevc_luma_bits {
        Some(bits) if bits <= 8 => 4,
        _ => 8,
    };
    Ok(Header {
        pixel_bytes,
        ..Header::still(heic.width, heic.height)
    })
}

/// A HEIF whose container has been read; nothing decoded.
pub(crate) struct Heic {
    properties: ItemProperties,
    width: u32,
    height: u32,
    /// What `clap` keeps of the decoded image.
    crop: Option<Crop>,
}

pub(super) fn open(bytes: &[u8]) -> Result<Heic, Error> {
    super::isobmff_bounds::check(bytes)
        .map_err(|what| corrupt(&format!("HEIF container: {what}")))?;
    let properties = item_properties::read(bytes)
        .map_err(|what| corrupt(&format!("HEIF item properties: {what}")))?;
    // Every HEIF image item carries its size (ISO/IEC 23008-12 § 6.5.3).
    let (width, height) = properties
        .size
        .ok_or_else(|| corrupt("the HEIF primary image has no ispe size"))?;
    let crop = properties
        .crop((width, height))
        .map_err(|what| corrupt(&format!("HEIF item properties: {what}")))?;
    Ok(Heic {
        properties,
        width,
        height,
        crop,
    })
}

impl Heic {
    /// The stored size less the clean aperture's crop, before turning.
    pub(super) fn dimensions(&self) -> (u32, u32) {
        self.crop
            .map_or((self.width, self.height), |crop| (crop.width, crop.height))
    }

    /// `irot` and `imir`, as one orientation.
    pub(super) fn orientation(&self) -> image::metadata::Orientation {
        self.properties.orientation()
    }

    /// The ICC `colr`, else a profile for non-sRGB `nclx` code points.
    pub(super) fn icc(&self) -> Option<Vec<u8>> {
        self.properties.icc()
    }

    /// Decodes the primary image, which must be the size `ispe` gave, and
    /// crops it to the clean aperture.
    pub(super) fn decode(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<image::DynamicImage, Error> {
        let image = super::libheif::decode(bytes, limits)?;
        if (image.width(), image.height()) != (self.width, self.height) {
            return Err(corrupt(&format!(
                "the HEIF image is {}×{}, its ispe gives {}×{}",
                image.width(),
                image.height(),
                self.width,
                self.height
            )));
        }
        Ok(clean_aperture::apply(image, self.crop))
    }
}
