//! HEIC originals: decoded with their colours, turned by their `irot`
//! property, cropped by their `clap`, sized from `ispe` before decoding,
//! 10- and 12-bit ones kept at 16 bits, damaged files refused. The
//! HEICs are written here by the system's libheif with its x265 encoder
//! (Debian's libheif carries it); without an HEVC encoder the tests say so
//! and pass.

mod common;
#[path = "common/heic_writer.rs"]
mod heic_writer;
#[path = "common/item_property.rs"]
mod item_property;

use common::*;
use heic_writer::*;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage};
use image_engine::{ErrorKind, ImageFormat, Limits};
use libheif_sys::*;

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

/// libheif's file with the 16-byte `pixi` property overwritten by an
/// `irot` of `quarters` anticlockwise (no offset moves).
fn with_irot(mut file: Vec<u8>, quarters: u8) -> Vec<u8> {
    let pixi = file
        .windows(8)
        .position(|w| w == b"\0\0\0\x10pixi")
        .expect("libheif writes a pixi property");
    file[pixi + 4..pixi + 16]
        .copy_from_slice(&[b'i', b'r', b'o', b't', quarters, 0, 0, 0, 0, 0, 0, 0]);
    file
}

#[test]
fn heic_clap_crops_to_the_clean_aperture() {
    let image = quadrants(96, 64);
    let Some(file) = heic(&image, heif_orientation_heif_orientation_normal) else {
        return;
    };
    let original = DynamicImage::ImageRgb8(image);
    // The bottom-left quadrant: 48×32, centred 24 left and 16 down.
    let cropped = item_property::with_property(
        &file,
        &item_property::clap((48, 1), (32, 1), (-24, 1), (16, 1)),
    );
    let output = ok(&cropped, "format=png");
    let decoded = decode(&output.bytes);
    assert_eq!(decoded.dimensions(), (48, 32));
    let off = off_inside(&decoded, &original.crop_imm(0, 32, 48, 32));
    assert!(off < 4.0, "cropped image off by {off:.2}");
    let colour = original.get_pixel(1, 33);
    let far = decoded
        .to_rgb8()
        .pixels()
        .filter(|p| (0..3).any(|c| p[c].abs_diff(colour[c]) > 40))
        .count();
    assert_eq!(far, 0, "only the bottom-left quadrant is kept");
    // After an `irot` (a quarter turn anticlockwise) the aperture is of
    // the turned 64×96 image: its top-left 32×48 quadrant is the stored
    // image's top-right one, turned.
    let turned = item_property::with_property(
        &with_irot(file.clone(), 1),
        &item_property::clap((32, 1), (48, 1), (-16, 1), (-24, 1)),
    );
    let decoded = decode(&ok(&turned, "format=png").bytes);
    assert_eq!(decoded.dimensions(), (32, 48));
    let expected = original.crop_imm(48, 0, 48, 32).rotate270();
    let off = off_inside(&decoded, &expected);
    assert!(off < 4.0, "turned and cropped image off by {off:.2}");
    let body: serde_json::Value =
        serde_json::from_slice(&ok(&turned, "format=json").bytes).expect("JSON body");
    assert_eq!(
        (&body["original"]["width"], &body["original"]["height"]),
        (&32.into(), &48.into())
    );
    // An aperture outside the image is a corrupt file, before decoding.
    let outside = item_property::with_property(
        &file,
        &item_property::clap((48, 1), (32, 1), (25, 1), (0, 1)),
    );
    for options in ["width=10", "format=json"] {
        let err = run(&outside, options).expect_err("outside");
        assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
    }
}

/// Mean absolute difference per channel over the whole image.
fn mean_off(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(p, q)| u64::from(p.abs_diff(*q)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// A grey ramp across `width` pixels at `depth` bits: every level of the
/// depth appears when `width` is 2^depth.
fn ramp(width: u32, height: u32, depth: u8) -> Vec<u16> {
    let top = (1u32 << depth) - 1;
    (0..height)
        .flat_map(|_| (0..width).flat_map(move |x| [(x * top / (width - 1)) as u16; 3]))
        .collect()
}

#[test]
fn ten_and_twelve_bit_heics_keep_their_precision() {
    let (width, height) = (1024, 16);
    for depth in [10u8, 12] {
        let samples = ramp(width, height, depth);
        let Some(file) = encode_heic(
            width,
            height,
            &Pixels::Deep(&samples, depth),
            heif_orientation_heif_orientation_normal,
            95,
        ) else {
            return;
        };
        // Decoded at 16 bits with far more than 256 grey levels.
        let (decoded, _) = image_engine::stages::decode(&file, 1.0).expect("decodes");
        let deep = decoded
            .as_rgb16()
            .unwrap_or_else(|| panic!("{depth}-bit decodes to 16-bit RGB"));
        let levels: std::collections::BTreeSet<u16> = deep.pixels().map(|p| p[1]).collect();
        assert!(levels.len() > 600, "{depth}-bit: {} levels", levels.len());
        // The samples are scaled to the full 16-bit range and follow the
        // ramp (to within what HEVC at quality 95 changes).
        let middle = deep.get_pixel(width / 2, height / 2)[1];
        assert!(
            middle.abs_diff(32_768) < 1_000,
            "{depth}-bit middle: {middle}"
        );
        let end = deep.get_pixel(width - 1, height / 2)[1];
        assert!(end > 64_000, "{depth}-bit end: {end}");
        // Through the pipeline: the same picture as an 8-bit HEIC of the
        // ramp, within HEVC's error.
        let narrow: Vec<u8> = samples
            .iter()
            .map(|s| (u32::from(*s) * 255 / ((1 << depth) - 1)) as u8)
            .collect();
        let reference = RgbImage::from_raw(width, height, narrow).expect("ramp");
        let eight = heic(&reference, heif_orientation_heif_orientation_normal).expect("8-bit HEIC");
        let output = decode(&ok(&file, "width=512,format=png").bytes);
        let expected = DynamicImage::ImageRgb8(reference).resize_exact(
            512,
            8,
            image::imageops::FilterType::Lanczos3,
        );
        assert_eq!(output.dimensions(), (512, 8));
        let off = mean_off(&output, &expected);
        assert!(
            off < 2.0,
            "{depth}-bit through the pipeline off by {off:.2}"
        );
        // And the 8-bit HEIC of the same ramp comes out the same.
        let eight_output = decode(&ok(&eight, "width=512,format=png").bytes);
        let off = mean_off(&output, &eight_output);
        assert!(off < 2.0, "{depth}-bit against 8-bit HEIC off by {off:.2}");
        let (decoded, _) = image_engine::stages::decode(&eight, 1.0).expect("decodes");
        assert!(decoded.as_rgb8().is_some(), "8-bit HEIC stays 8-bit");
        // The header says what decoding holds: 16 bits for the deep one.
        let transform = image_engine::parse("format=png").unwrap();
        let deep_memory =
            image_engine::predict_memory(&file, &transform, &Limits::default()).unwrap();
        let eight_memory =
            image_engine::predict_memory(&eight, &transform, &Limits::default()).unwrap();
        assert!(
            deep_memory > eight_memory,
            "{deep_memory} vs {eight_memory}"
        );
    }
}
