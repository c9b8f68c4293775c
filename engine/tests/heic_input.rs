//! HEIC originals: decoded with their colours, turned by their `irot`
//! property, sized from `ispe` before decoding, damaged files refused. The
//! HEICs are written here by the system's libheif with its x265 encoder
//! (Debian's libheif carries it); without an HEVC encoder the tests say so
//! and pass.

mod common;

use std::ptr;

use common::*;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage};
use image_engine::{ErrorKind, ImageFormat, Limits};
use libheif_sys::*;

/// An RGB image as HEIC (quality 90, 4:2:0), with libheif's `orientation`,
/// or `None` when the system's libheif has no HEVC encoder.
fn heic(image: &RgbImage, orientation: heif_orientation) -> Option<Vec<u8>> {
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
    let (width, height) = (image.width() as i32, image.height() as i32);
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
        heif_encoder_set_lossy_quality(encoder, 90);
        let mut picture = ptr::null_mut();
        let err = heif_image_create(
            width,
            height,
            heif_colorspace_heif_colorspace_RGB,
            heif_chroma_heif_chroma_interleaved_RGB,
            &mut picture,
        );
        assert_eq!(err.code, heif_error_code_heif_error_Ok);
        heif_image_add_plane(
            picture,
            heif_channel_heif_channel_interleaved,
            width,
            height,
            8,
        );
        let mut stride = 0;
        let plane =
            heif_image_get_plane(picture, heif_channel_heif_channel_interleaved, &mut stride);
        assert!(!plane.is_null());
        for (y, row) in image.as_raw().chunks_exact(width as usize * 3).enumerate() {
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

/// Four flat quadrants, wider than tall: every turn looks different.
fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        match (x < width / 2, y < height / 2) {
            (true, true) => Rgb([230, 30, 30]),
            (false, true) => Rgb([30, 200, 40]),
            (true, false) => Rgb([40, 40, 220]),
            (false, false) => Rgb([240, 240, 240]),
        }
    })
}

/// Mean absolute difference per channel away from the quadrants' edges
/// (where 4:2:0 chroma bleeds).
fn off_inside(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = a.dimensions();
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let (mut total, mut count) = (0u64, 0u64);
    for (x, y, p) in a.enumerate_pixels() {
        let near = |v: u32, side: u32| v.abs_diff(side / 2) < 6 || v < 3 || v + 3 > side;
        if near(x, w) || near(y, h) {
            continue;
        }
        let q = b.get_pixel(x, y);
        total += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
        count += 3;
    }
    total as f64 / count as f64
}

#[test]
fn heic_originals_keep_their_colours() {
    let image = quadrants(96, 64);
    let Some(file) = heic(&image, heif_orientation_heif_orientation_normal) else {
        return;
    };
    assert_eq!(format_of(&file), ImageFormat::Heic);
    let output = ok(&file, "format=png");
    assert_eq!((output.width, output.height), (96, 64));
    assert_eq!(output.original_format, ImageFormat::Heic);
    let off = off_inside(&decode(&output.bytes), &DynamicImage::ImageRgb8(image));
    assert!(off < 4.0, "colours off by {off:.2}");
    // Not an output format: JPEG by default.
    assert_eq!(ok(&file, "width=48").format, ImageFormat::Jpeg);
    assert_eq!(ok(&file, "width=48,format=webp").format, ImageFormat::Webp);
}

#[test]
fn heic_irot_is_applied_and_reported() {
    let image = quadrants(96, 64);
    // libheif 1.15 writes an oriented image's `ispe` as the turned size
    // (the spec's is the coded one), so the `irot` is put in here: the
    // 16-byte `pixi` property becomes a 16-byte `irot` (a quarter turn
    // anticlockwise) and no offset moves.
    let Some(mut file) = heic(&image, heif_orientation_heif_orientation_normal) else {
        return;
    };
    let pixi = file
        .windows(8)
        .position(|w| w == b"\0\0\0\x10pixi")
        .expect("libheif writes a pixi property");
    file[pixi + 4..pixi + 16].copy_from_slice(b"irot\x01\0\0\0\0\0\0\0");
    let expected = DynamicImage::ImageRgb8(image).rotate270();
    let output = ok(&file, "format=png");
    let decoded = decode(&output.bytes);
    assert_eq!(decoded.dimensions(), (64, 96));
    let off = off_inside(&decoded, &expected);
    assert!(off < 4.0, "turned image off by {off:.2}");
    let body: serde_json::Value =
        serde_json::from_slice(&ok(&file, "format=json,width=32").bytes).expect("JSON body");
    assert_eq!(body["original"]["width"], 64);
    assert_eq!(body["original"]["height"], 96);
    assert_eq!(body["original"]["format"], "image/heic");
    assert_eq!(body["height"], 48);
}

#[test]
fn heic_size_is_checked_before_decoding() {
    let Some(file) = heic(&quadrants(96, 64), heif_orientation_heif_orientation_normal) else {
        return;
    };
    let limits = Limits {
        max_pixels: 5000,
        ..Limits::default()
    };
    let err = run_with(&file, "width=10", &limits).expect_err("over the pixel limit");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
    // A huge `ispe` (same byte count, so nothing else moves).
    let at = file
        .windows(4)
        .position(|w| w == b"ispe")
        .expect("an ispe property");
    let mut huge = file.clone();
    huge[at + 8..at + 16].copy_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]);
    for options in ["width=10", "format=json"] {
        let err = run(&huge, options).expect_err("ten gigapixels");
        assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
    }
    // An `ispe` that is not the coded size is caught after decoding.
    let mut small = file.clone();
    small[at + 8..at + 16].copy_from_slice(&[0, 0, 0, 48, 0, 0, 0, 32]);
    let err = run(&small, "width=10").expect_err("ispe disagrees");
    assert!(
        matches!(err.kind, ErrorKind::CorruptImage),
        "{:?} {}",
        err.kind,
        err.message
    );
}

#[test]
fn damaged_heics_are_refused_not_crashed_on() {
    let Some(file) = heic(&quadrants(96, 64), heif_orientation_heif_orientation_normal) else {
        return;
    };
    for cut in [12, 40, file.len() / 3, file.len() / 2, file.len() - 10] {
        let err = run(&file[..cut], "width=32").expect_err("truncated HEIC");
        assert!(
            matches!(
                err.kind,
                ErrorKind::CorruptImage | ErrorKind::UnsupportedFormat
            ),
            "cut at {cut}: {:?} {}",
            err.kind,
            err.message
        );
    }
    let mut rng = Xorshift(0x5eed_0113);
    for _ in 0..40 {
        let mut damaged = file.clone();
        let at = file.len() / 2 + (rng.next() as usize % (file.len() / 2));
        damaged[at] ^= 1 << (rng.next() % 8);
        let _ = run(&damaged, "width=32");
    }
    // A sequence brand is named, not read.
    let err = run(b"\0\0\0\x18ftypmsf1\0\0\0\0mif1msf1", "width=10").expect_err("sequence");
    assert_eq!(err.kind, ErrorKind::UnsupportedFormat, "{}", err.message);
    // Still brand with nothing in it.
    let err = run(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "width=10").expect_err("empty");
    assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
}
