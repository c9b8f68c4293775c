//! HEICs written by the system's libheif with its x265 encoder, for the
//! tests (Debian's libheif carries it). Without an HEVC encoder the
//! writers return `None` and say so.

#![allow(dead_code)] // each test file uses its own subset

use std::ptr;

use image::RgbImage;
use libheif_sys::*;

/// An RGB image as HEIC (quality 90, 4:2:0), with libheif's `orientation`,
/// or `None` when the system's libheif has no HEVC encoder.
pub fn heic(image: &RgbImage, orientation: heif_orientation) -> Option<Vec<u8>> {
    let (width, height) = (image.width(), image.height());
    let pixels = Pixels::Eight(image.as_raw());
    encode_heic(width, height, &pixels, orientation, 90)
}

/// The samples handed to libheif: 8-bit RGB, or RGB of `depth` bits in
/// 16-bit words.
pub enum Pixels<'a> {
    Eight(&'a [u8]),
    Deep(&'a [u16], u8),
}

pub fn encode_heic(
    width: u32,
    height: u32,
    pixels: &Pixels<'_>,
    orientation: heif_orientation,
    quality: i32,
) -> Option<Vec<u8>> {
    unsafe extern "C" fn write(
        _: *mut heif_context,
        data: *const libc::c_void,
        size: usize,
        out: *mut libc::c_void,
    ) -> heif_error {
        // SAFETY: `out` is the Vec passed to heif_context_write below and
        // `data` holds `size` bytes.
        unsafe {
            let out = &mut *out.cast::<Vec<u8>>();
            out.extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), size));
        }
        heif_error {
            code: heif_error_code_heif_error_Ok,
            subcode: heif_suberror_code_heif_suberror_Unspecified,
            message: c"".as_ptr(),
        }
    }
    let (width, height) = (width as i32, height as i32);
    // SAFETY: plain libheif use; every object is released before returning
    // and every pointer checked.
    unsafe {
        if heif_have_encoder_for_format(heif_compression_format_heif_compression_HEVC) == 0 {
            eprintln!("skipping: the system's libheif has no HEVC encoder");
            return None;
        }
        let context = heif_context_alloc();
        let mut encoder = ptr::null_mut();
        let err = heif_context_get_encoder_for_format(
            context,
            heif_compression_format_heif_compression_HEVC,
            &mut encoder,
        );
        assert_eq!(err.code, heif_error_code_heif_error_Ok);
        heif_encoder_set_lossy_quality(encoder, quality);
        let (chroma, depth, pixel_bytes) = match pixels {
            Pixels::Eight(_) => (heif_chroma_heif_chroma_interleaved_RGB, 8, 3),
            // Big-endian words, as libheif's heif-enc hands over 16-bit PNGs.
            Pixels::Deep(_, depth) => (
                heif_chroma_heif_chroma_interleaved_RRGGBB_BE,
                i32::from(*depth),
                6,
            ),
        };
        let mut picture = ptr::null_mut();
        let err = heif_image_create(
            width,
            height,
            heif_colorspace_heif_colorspace_RGB,
            chroma,
            &mut picture,
        );
        assert_eq!(err.code, heif_error_code_heif_error_Ok);
        heif_image_add_plane(
            picture,
            heif_channel_heif_channel_interleaved,
            width,
            height,
            depth,
        );
        let mut stride = 0;
        let plane =
            heif_image_get_plane(picture, heif_channel_heif_channel_interleaved, &mut stride);
        assert!(!plane.is_null());
        let bytes: Vec<u8> = match pixels {
            Pixels::Eight(samples) => samples.to_vec(),
            Pixels::Deep(samples, _) => samples.iter().flat_map(|s| s.to_be_bytes()).collect(),
        };
        for (y, row) in bytes.chunks_exact(width as usize * pixel_bytes).enumerate() {
            ptr::copy_nonoverlapping(row.as_ptr(), plane.add(y * stride as usize), row.len());
        }
        let options = heif_encoding_options_alloc();
        (*options).image_orientation = orientation;
        let err = heif_context_encode_image(context, picture, encoder, options, ptr::null_mut());
        assert_eq!(err.code, heif_error_code_heif_error_Ok);
        heif_encoding_options_free(options);
        heif_encoder_release(encoder);
        heif_image_release(picture);
        let mut out: Vec<u8> = Vec::new();
        let mut writer = heif_writer {
            writer_api_version: 1,
            write: Some(write),
        };
        let err = heif_context_write(context, &mut writer, (&mut out as *mut Vec<u8>).cast());
        assert_eq!(err.code, heif_error_code_heif_error_Ok);
        heif_context_free(context);
        Some(out)
    }
}
