//! The item properties of a HEIF-family file's primary image (ISO/IEC
//! 23008-12 § 6.5) that change what it looks like: its size (`ispe`), the
//! transforms a reader applies before display (`clap`, `irot`, `imir`, in
//! the order the item lists them) and its colour (`colr`: CICP code points or
//! an ICC profile). `avif-parse` reads none of these, so they are read here
//! from the container's bytes (already bounds-checked by
//! [`super::isobmff_bounds`]), without decoding anything.

use image::metadata::Orientation;

pub(crate) use super::cicp_profile::Cicp;
use super::clean_aperture::{CleanAperture, Crop};
use super::isobmff_bounds::next_box;
pub(crate) use super::item_transforms::Transform;
use super::item_transforms::{orientation, stored_crop};

/// A reader refuses files whose property list is longer than this (real
/// files: under 10 per item).
const MAX_PROPERTIES: usize = 256;

/// What the primary item's properties say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ItemProperties {
    /// `ispe`: the size of the reconstructed image, before any transform.
    pub size: Option<(u32, u32)>,
    /// `clap`, `irot` and `imir`, in the order they apply.
    pub transforms: Vec<Transform>,
    /// The first `colr` of each kind (the spec allows one nclx and one ICC).
    pub cicp: Option<Cicp>,
    pub icc: Option<Vec<u8>>,
    /// The deepest luma any `hvcC` in `ipco` declares (the primary item's,
    /// or its tiles' for a grid), in bits; `None` without one.
    pub hevc_luma_bits: Option<u8>,
}

impl ItemProperties {
    /// `irot` and `imir`, as one orientation.
    pub(crate) fn orientation(&self) -> Orientation {
        orientation(&self.transforms)
    }

    /// The part of the decoded `size` image the clean apertures keep (see
    /// [`stored_crop`]), or `None` without one.
    pub(crate) fn crop(&self, size: (u32, u32)) -> Result<Option<Crop>, &'static str> {
        stored_crop(&self.transforms, size)
    }

    /// The profile the colours are in: the ICC `colr`, else one made from
    /// the `nclx` code points when they are not sRGB's.
    pub(crate) fn icc(&self) -> Option<Vec<u8>> {
        self.icc
            .clone()
            .or_else(|| super::cicp_profile::icc_for(self.cicp.as_ref()?))
    }
}

/// A HEIF-family primary image as its container describes it, before
/// decoding: its stored size, its properties and the part its clean
/// apertures keep. AVIF and HEIC answer the pipeline's questions (shown
/// size, orientation, profile) from it.
pub(crate) struct PrimaryItem {
    pub properties: ItemProperties,
    pub width: u32,
    pub height: u32,
    /// What `clap` keeps of the decoded image.
    pub crop: Option<Crop>,
}

impl PrimaryItem {
    /// The item of a `width`×`height` stored image; an aperture that does
    /// not fit it is an error.
    pub(crate) fn new(
        properties: ItemProperties,
        (width, height): (u32, u32),
    ) -> Result<PrimaryItem, &'static str> {
        let crop = properties.crop((width, height))?;
        Ok(PrimaryItem {
            properties,
            width,
            height,
            crop,
        })
    }

    /// The stored size less the clean aperture's crop, before turning.
    pub(crate) fn dimensions(&self) -> (u32, u32) {
        self.crop
            .map_or((self.width, self.height), |crop| (crop.width, crop.height))
    }

    /// `irot` and `imir`, as one orientation.
    pub(crate) fn orientation(&self) -> Orientation {
        self.properties.orientation()
    }

    /// The profile the colours are in (see [`ItemProperties::icc`]).
    pub(crate) fn icc(&self) -> Option<Vec<u8>> {
        self.properties.icc()
    }

    /// The decoded (stored) image cut to the clean aperture.
    pub(crate) fn shown(&self, image: image::DynamicImage) -> image::DynamicImage {
        super::clean_aperture::apply(image, self.crop)
    }
}

/// Reads the primary item's properties. Missing boxes give an empty
/// answer; malformed ones an error naming what is wrong.
pub(crate) fn read(file: &[u8]) -> Result<ItemProperties, &'static str> {
    let Some(meta) = child(file, b"meta")? else {
        return Ok(ItemProperties::default());
    };
    // `meta` is a full box: version and flags first.
    let meta = meta.get(4..).ok_or("the meta box is cut short")?;
    let Some(pitm) = child(meta, b"pitm")? else {
        return Ok(ItemProperties::default());
    };
    let primary = primary_item(pitm)?;
    let Some(iprp) = child(meta, b"iprp")? else {
        return Ok(ItemProperties::default());
    };
    let ipco = child(iprp, b"ipco")?.ok_or("iprp has no ipco")?;
    let ipma = child(iprp, b"ipma")?.ok_or("iprp has no ipma")?;
    let properties = property_boxes(ipco)?;
    let mut found = ItemProperties::default();
    for index in associations(ipma, primary)? {
        let Some((kind, content)) = index
            .checked_sub(1)
            .and_then(|index| properties.get(usize::from(index)))
        else {
            // Index 0 means "no property"; past the end is malformed.
            if index == 0 {
                continue;
            }
            return Err("ipma names a property ipco does not hold");
        };
        apply(&mut found, kind, content)?;
    }
    // HEVCDecoderConfigurationRecord: bitDepthLumaMinus8 in the low three
    // bits of its 18th byte.
    found.hevc_luma_bits = properties
        .iter()
        .filter(|(kind, _)| *kind == b"hvcC")
        .filter_map(|(_, content)| content.get(17).map(|byte| (byte & 7) + 8))
        .max();
    Ok(found)
}

fn apply(found: &mut ItemProperties, kind: &[u8; 4], content: &[u8]) -> Result<(), &'static str> {
    match kind {
        b"ispe" => {
            let width = be32(content, 4).ok_or("ispe is cut short")?;
            let height = be32(content, 8).ok_or("ispe is cut short")?;
            if width == 0 || height == 0 {
                return Err("ispe gives a size of zero");
            }
            found.size.get_or_insert((width, height));
        }
        b"irot" => {
            let angle = content.first().ok_or("irot is cut short")?;
            found.transforms.push(Transform::Rotate(angle & 3));
        }
        b"imir" => {
            let axis = content.first().ok_or("imir is cut short")?;
            found.transforms.push(if axis & 1 == 0 {
                Transform::FlipVertical
            } else {
                Transform::FlipHorizontal
            });
        }
        b"colr" => colour(found, content)?,
        b"clap" => found
            .transforms
            .push(Transform::Clap(CleanAperture::parse(content)?)),
        _ => {}
    }
    Ok(())
}

fn colour(found: &mut ItemProperties, content: &[u8]) -> Result<(), &'static str> {
    let kind = content.get(..4).ok_or("colr is cut short")?;
    match kind {
        b"nclx" => {
            let field = |at| be16(content, at).ok_or("colr nclx is cut short");
            let cicp = Cicp {
                primaries: field(4)?,
                transfer: field(6)?,
                matrix: field(8)?,
                full_range: content.get(10).ok_or("colr nclx is cut short")? & 0x80 != 0,
            };
            found.cicp.get_or_insert(cicp);
        }
        b"rICC" | b"prof" if found.icc.is_none() => {
            let icc = &content[4..];
            if icc.is_empty() {
                return Err("colr holds an empty ICC profile");
            }
            found.icc = Some(icc.to_vec());
        }
        _ => {}
    }
    Ok(())
}

/// The content of the first child box called `kind`.
fn child<'a>(mut boxes: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, &'static str> {
    while !boxes.is_empty() {
        let next = next_box(boxes)?;
        if next.kind == kind {
            return Ok(Some(next.content));
        }
        boxes = next.rest;
    }
    Ok(None)
}

fn primary_item(pitm: &[u8]) -> Result<u32, &'static str> {
    let short = "pitm is cut short";
    match pitm.first().ok_or(short)? {
        0 => be16(pitm, 4).map(u32::from).ok_or(short),
        _ => be32(pitm, 4).ok_or(short),
    }
}

/// A property box: its kind and content.
type Property<'a> = (&'a [u8; 4], &'a [u8]);

/// Each property box of `ipco` (kind and content), in order: `ipma`
/// refers to them by position, counting from 1.
fn property_boxes(mut ipco: &[u8]) -> Result<Vec<Property<'_>>, &'static str> {
    let mut properties = Vec::new();
    while !ipco.is_empty() {
        if properties.len() == MAX_PROPERTIES {
            return Err("ipco holds too many properties");
        }
        let next = next_box(ipco)?;
        properties.push((next.kind, next.content));
        ipco = next.rest;
    }
    Ok(properties)
}

/// The property indices `ipma` associates with `item`, in order.
fn associations(ipma: &[u8], item: u32) -> Result<Vec<u16>, &'static str> {
    let short = "ipma is cut short";
    let version = *ipma.first().ok_or(short)?;
    let wide_index = ipma.get(3).ok_or(short)? & 1 != 0;
    let entries = be32(ipma, 4).ok_or(short)?;
    let mut at = 8usize;
    for _ in 0..entries {
        let id = if version < 1 {
            let id = be16(ipma, at).map(u32::from);
            at += 2;
            id
        } else {
            let id = be32(ipma, at);
            at += 4;
            id
        }
        .ok_or(short)?;
        let count = usize::from(*ipma.get(at).ok_or(short)?);
        at += 1;
        let width = if wide_index { 2 } else { 1 };
        let list = ipma.get(at..at + count * width).ok_or(short)?;
        at += count * width;
        if id == item {
            // The top bit of each entry is `essential`, the rest the index.
            return Ok(list
                .chunks_exact(width)
                .map(|entry| {
                    if wide_index {
                        u16::from_be_bytes([entry[0], entry[1]]) & 0x7FFF
                    } else {
                        u16::from(entry[0] & 0x7F)
                    }
                })
                .collect());
        }
    }
    Ok(Vec::new())
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    super::be16(bytes, at)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    super::be32(bytes, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_meta_has_no_properties() {
        assert_eq!(read(b""), Ok(ItemProperties::default()));
    }
}
