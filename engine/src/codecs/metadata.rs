//! The metadata next to the pixels: the ICC profile (read for colour
//! management), EXIF and XMP (carried to JPEG output as `metadata=` asks),
//! and the Adobe marker that tells how a CMYK JPEG stores its inks.

use super::jpeg_markers;

/// What an original carries besides its pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub icc: Option<Vec<u8>>,
    /// The TIFF structure of the EXIF block (without JPEG's `Exif\0\0`).
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
    /// An `Adobe` APP14 segment is present: CMYK is stored inverted.
    pub adobe: bool,
}

const ICC_TAG: &[u8] = b"ICC_PROFILE\0";
const EXIF_TAG: &[u8] = b"Exif\0\0";
const XMP_TAG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// Largest payload of one JPEG segment (its length field counts itself).
const MAX_SEGMENT_PAYLOAD: usize = 65_533;

/// Reads the metadata segments before the first scan. A profile split over
/// several APP2 segments is put back together in their numbered order;
/// missing or duplicated pieces drop the profile (a partial profile would
/// give wrong colours).
pub(super) fn from_jpeg(bytes: &[u8]) -> Metadata {
    let mut metadata = Metadata::default();
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    for segment in jpeg_markers::segments(bytes).0 {
        let payload = &bytes[segment.payload.clone()];
        match segment.marker {
            0xE1 => {
                if let Some(exif) = payload.strip_prefix(EXIF_TAG) {
                    metadata.exif.get_or_insert_with(|| exif.to_vec());
                } else if let Some(xmp) = payload.strip_prefix(XMP_TAG) {
                    metadata.xmp.get_or_insert_with(|| xmp.to_vec());
                }
            }
            0xE2 => {
                if let Some(&[sequence, count, ref data @ ..]) = payload.strip_prefix(ICC_TAG) {
                    icc_chunks.push((sequence, count, data));
                }
            }
            0xEE if payload.starts_with(b"Adobe") => metadata.adobe = true,
            _ => {}
        }
    }
    metadata.icc = assemble_icc(icc_chunks);
    metadata
}

fn assemble_icc(mut chunks: Vec<(u8, u8, &[u8])>) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    chunks.sort_by_key(|chunk| chunk.0);
    let in_order = chunks
        .iter()
        .enumerate()
        .all(|(i, chunk)| usize::from(chunk.0) == i + 1 && chunk.1 == count);
    if !in_order || chunks.len() != usize::from(count) {
        return None;
    }
    Some(
        chunks
            .iter()
            .flat_map(|chunk| chunk.2.iter().copied())
            .collect(),
    )
}

/// Puts EXIF and XMP segments into an encoded JPEG, right after SOI and the
/// JFIF APP0 segment libjpeg writes. A block too large for one segment is
/// left out rather than split (EXIF cannot be split).
pub(super) fn insert_into_jpeg(jpeg: Vec<u8>, exif: Option<&[u8]>, xmp: Option<&[u8]>) -> Vec<u8> {
    let mut segments = Vec::new();
    for (tag, data) in [(EXIF_TAG, exif), (XMP_TAG, xmp)] {
        let Some(data) = data else { continue };
        let payload = tag.len() + data.len();
        if payload > MAX_SEGMENT_PAYLOAD {
            continue;
        }
        segments.extend_from_slice(&[0xFF, 0xE1]);
        segments.extend_from_slice(&((payload + 2) as u16).to_be_bytes());
        segments.extend_from_slice(tag);
        segments.extend_from_slice(data);
    }
    if segments.is_empty() {
        return jpeg;
    }
    let mut at = 2;
    if jpeg.get(2..4) == Some(&[0xFF, 0xE0]) {
        if let Some(length) = super::be16(&jpeg, 4) {
            at = (4 + usize::from(length)).min(jpeg.len());
        }
    }
    let mut out = Vec::with_capacity(jpeg.len() + segments.len());
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&segments);
    out.extend_from_slice(&jpeg[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn icc_chunk(sequence: u8, count: u8, data: &[u8]) -> Vec<u8> {
        let mut payload = ICC_TAG.to_vec();
        payload.extend_from_slice(&[sequence, count]);
        payload.extend_from_slice(data);
        segment(0xE2, &payload)
    }

    fn jpeg_with(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        segments.iter().for_each(|s| jpeg.extend_from_slice(s));
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        jpeg
    }

    #[test]
    fn split_profiles_are_reassembled_in_order() {
        let jpeg = jpeg_with(&[icc_chunk(2, 2, b"world"), icc_chunk(1, 2, b"hello ")]);
        assert_eq!(from_jpeg(&jpeg).icc.as_deref(), Some(&b"hello world"[..]));
    }

    #[test]
    fn incomplete_profiles_are_dropped() {
        let jpeg = jpeg_with(&[icc_chunk(1, 3, b"a"), icc_chunk(3, 3, b"c")]);
        assert_eq!(from_jpeg(&jpeg).icc, None);
        let jpeg = jpeg_with(&[icc_chunk(1, 2, b"a"), icc_chunk(1, 2, b"a")]);
        assert_eq!(from_jpeg(&jpeg).icc, None);
    }

    #[test]
    fn exif_xmp_and_adobe_are_found() {
        let jpeg = jpeg_with(&[
            segment(0xE1, b"Exif\0\0MM\0*"),
            segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x/>"),
            segment(0xEE, b"Adobe\0\x64\0\0\0\0\x02"),
        ]);
        let metadata = from_jpeg(&jpeg);
        assert_eq!(metadata.exif.as_deref(), Some(&b"MM\0*"[..]));
        assert_eq!(metadata.xmp.as_deref(), Some(&b"<x/>"[..]));
        assert!(metadata.adobe);
        assert_eq!(from_jpeg(&jpeg_with(&[])), Metadata::default());
    }

    #[test]
    fn inserted_segments_follow_the_jfif_header() {
        let jpeg = jpeg_with(&[segment(0xE0, b"JFIF\0")]);
        let out = insert_into_jpeg(jpeg.clone(), Some(b"II*\0"), Some(b"<x/>"));
        let metadata = from_jpeg(&out);
        assert_eq!(metadata.exif.as_deref(), Some(&b"II*\0"[..]));
        assert_eq!(metadata.xmp.as_deref(), Some(&b"<x/>"[..]));
        assert_eq!(&out[2..4], &[0xFF, 0xE0]);
        assert_eq!(insert_into_jpeg(jpeg.clone(), None, None), jpeg);
        let huge = vec![0u8; 70_000];
        assert_eq!(insert_into_jpeg(jpeg.clone(), Some(&huge), None), jpeg);
    }
}
