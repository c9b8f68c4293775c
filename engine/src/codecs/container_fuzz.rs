//! The AVIF and HEIF container readers on arbitrary bytes, for the
//! `containers` fuzz target ([`crate::fuzzing::containers`]): the box
//! bounds check, the item-property reader (`ispe`, `irot`, `imir`,
//! `colr`, `clap`, `hvcC`), the clean-aperture arithmetic, HEIC's `ispe`
//! size and `avif-parse` with the AV1 sequence header, everything that is
//! read before a decoder is started. Nothing is decoded (no libheif, no
//! dav1d), so each input costs microseconds.
//!
//! Each reader must answer without a panic, and what it answers must hold
//! together: a crop lies inside the image it crops, a header's size is
//! never zero, the shown size is never larger than what is decoded.

use super::item_properties;
use crate::ImageFormat;

/// Sizes a clean aperture is tried on besides the file's own `ispe`: the
/// smallest image, odd and even sides, and the largest side the engine
/// allows.
const SIZES: [(u32, u32); 4] = [(1, 1), (63, 32), (4096, 3), (u32::MAX, u32::MAX)];

pub(crate) fn containers(data: &[u8]) {
    let _ = super::isobmff_bounds::check(data);
    if let Ok(properties) = item_properties::read(data) {
        let _ = properties.orientation();
        let _ = properties.icc();
        if let Some((width, height)) = properties.size {
            assert!(width > 0 && height > 0, "ispe of zero accepted");
        }
        for size in properties.size.into_iter().chain(SIZES) {
            if let Ok(Some(crop)) = properties.crop(size) {
                assert!(crop.width > 0 && crop.height > 0, "{crop:?} of {size:?}");
                let right = u64::from(crop.x) + u64::from(crop.width);
                let bottom = u64::from(crop.y) + u64::from(crop.height);
                assert!(
                    right <= u64::from(size.0) && bottom <= u64::from(size.1),
                    "{crop:?} outside {size:?}"
                );
            }
        }
    }
    for format in [ImageFormat::Avif, ImageFormat::Heic] {
        let Ok(header) = super::read_header(data, format) else {
            continue;
        };
        assert!(header.width > 0 && header.height > 0);
        // The shown size (cropped, upright) fits in what is decoded.
        let (width, height) = super::upright_size(data, format, &header);
        let shown = u64::from(width) * u64::from(height);
        let decoded = u64::from(header.width) * u64::from(header.height);
        assert!(
            width > 0 && height > 0 && shown <= decoded,
            "{format:?}: shown {width}×{height} of {}×{}",
            header.width,
            header.height
        );
    }
}
