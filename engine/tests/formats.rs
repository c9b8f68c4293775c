//! Inputs beyond the web formats (TIFF, BMP, ICO), `format=json`,
//! `metadata=`, and the output options (progressive and baseline JPEG,
//! PNG8, lossless WebP, quality levels, `compression=fast`).

mod common;

use std::io::Cursor;

use common::*;
use image::{DynamicImage, GenericImageView, ImageFormat as Codec};
use image_engine::{ErrorKind, ImageFormat, Limits};

fn encoded(image: &DynamicImage, codec: Codec) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, codec).expect("encodes");
    out.into_inner()
}

fn opaque() -> DynamicImage {
    DynamicImage::ImageRgb8(rgb(64, 48))
}

fn transparent() -> DynamicImage {
    DynamicImage::ImageRgba8(rgba(64, 48))
}

#[test]
fn tiff_bmp_and_ico_are_read_and_written_as_web_formats() {
    for (name, input, format) in [
        ("TIFF", encoded(&opaque(), Codec::Tiff), ImageFormat::Tiff),
        (
            "TIFF with alpha",
            encoded(&transparent(), Codec::Tiff),
            ImageFormat::Tiff,
        ),
        ("BMP", encoded(&opaque(), Codec::Bmp), ImageFormat::Bmp),
        (
            "BMP with alpha",
            encoded(&transparent(), Codec::Bmp),
            ImageFormat::Bmp,
        ),
        ("ICO", encoded(&transparent(), Codec::Ico), ImageFormat::Ico),
    ] {
        assert_eq!(image_engine::sniff_format(&input), Ok(format), "{name}");
        // Default output: JPEG, or PNG when transparent (icons always).
        let output = ok(&input, "width=32");
        let expected = if name.contains("alpha") || name == "ICO" {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        };
        assert_eq!(output.format, expected, "{name}");
        assert_eq!(format_of(&output.bytes), expected, "{name}");
        assert_eq!((output.width, output.height), (32, 24), "{name}");
        assert_eq!(output.original_format, format, "{name}");
        for (option, out) in [("webp", ImageFormat::Webp), ("png", ImageFormat::Png)] {
            let output = ok(&input, &format!("width=16,format={option}"));
            assert_eq!(format_of(&output.bytes), out, "{name} → {option}");
        }
        // Pixels survive: the centre of the output is the centre's colour.
        let decoded = decode(&ok(&input, "format=png").bytes).to_rgba8();
        let source = if name.contains("alpha") || name == "ICO" {
            rgba(64, 48)
        } else {
            DynamicImage::ImageRgb8(rgb(64, 48)).to_rgba8()
        };
        assert_eq!(
            decoded.get_pixel(32, 24),
            source.get_pixel(32, 24),
            "{name}"
        );
    }
}

#[test]
fn tiff_bmp_and_ico_sizes_are_checked_before_decoding() {
    let limits = Limits {
        max_pixels: 1_000,
        ..Limits::default()
    };
    for (name, input) in [
        ("TIFF", encoded(&opaque(), Codec::Tiff)),
        ("BMP", encoded(&opaque(), Codec::Bmp)),
        ("ICO", encoded(&transparent(), Codec::Ico)),
    ] {
        let err = run_with(&input, "width=10", &limits).expect_err(name);
        assert_eq!(
            err.kind,
            ErrorKind::TooManyPixels,
            "{name}: {}",
            err.message
        );
        // A header cut short is corrupt, not a panic.
        for cut in [4, 10, 20, 30] {
            let err = run(&input[..cut], "width=10").expect_err(name);
            assert!(
                matches!(err.kind, ErrorKind::CorruptImage | ErrorKind::NotAnImage),
                "{name} cut at {cut}: {:?} {}",
                err.kind,
                err.message
            );
        }
    }
}

#[test]
fn json_describes_the_output_without_decoding() {
    let input = with_exif_orientation(&jpeg(640, 480), 6);
    let output = ok(&input, "width=100,format=json");
    assert_eq!(output.format, ImageFormat::Json);
    assert_eq!(output.format.mime(), "application/json");
    let value: serde_json::Value = serde_json::from_slice(&output.bytes).expect("JSON");
    // The EXIF orientation turns 640 × 480 into 480 × 640.
    assert_eq!(value["width"], 100);
    assert_eq!(value["height"], 133);
    assert_eq!(value["format"], "image/jpeg");
    assert_eq!(value["original"]["width"], 480);
    assert_eq!(value["original"]["height"], 640);
    assert_eq!(value["original"]["format"], "image/jpeg");
    assert_eq!(value["original"]["bytes"], input.len());

    let value: serde_json::Value = serde_json::from_slice(
        &ok(
            &png_rgba(300, 200),
            "width=90,height=90,fit=pad,rotate=90,format=json",
        )
        .bytes,
    )
    .expect("JSON");
    assert_eq!(
        (value["width"].as_u64(), value["height"].as_u64()),
        (Some(90), Some(90))
    );
    assert_eq!(value["format"], "image/png");

    // Only the header is read: a PNG with nothing after its header works.
    let value: serde_json::Value =
        serde_json::from_slice(&ok(&png_header_only(4000, 3000), "width=400,format=json").bytes)
            .expect("JSON");
    assert_eq!(
        (value["width"].as_u64(), value["height"].as_u64()),
        (Some(400), Some(300))
    );
    // …and the limits still apply.
    let limits = Limits {
        max_pixels: 1_000,
        ..Limits::default()
    };
    let err = run_with(&png_header_only(4000, 3000), "format=json", &limits).expect_err("limit");
    assert_eq!(err.kind, ErrorKind::TooManyPixels);
}

/// A JPEG with an EXIF block (orientation 6, a copyright notice, a GPS
/// pointer stand-in) and an XMP packet.
fn jpeg_with_metadata() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0\x02\0".to_vec();
    // Orientation (SHORT) = 6.
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    // Copyright (ASCII, 12 bytes at offset 38).
    tiff.extend_from_slice(&[0x98, 0x82, 2, 0, 12, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&[0; 4]);
    tiff.extend_from_slice(b"(c) Someone\0");
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta secret=\"gps\"/>".to_vec();
    let plain = jpeg(64, 48);
    let mut out = plain[..2].to_vec();
    for payload in [exif, xmp] {
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
    }
    out.extend_from_slice(&plain[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn metadata_keep_copyright_and_none() {
    let input = jpeg_with_metadata();
    // Default (copyright) and explicit copyright: only the notice.
    for options in ["width=32", "width=32,metadata=copyright"] {
        let output = ok(&input, options);
        assert_eq!(
            (output.width, output.height),
            (32, 43),
            "{options}: orientation applied"
        );
        assert!(contains(&output.bytes, b"(c) Someone"), "{options}");
        assert!(
            !contains(&output.bytes, b"secret"),
            "{options}: XMP dropped"
        );
        assert!(
            !contains(&output.bytes, &[0x12, 0x01, 3, 0]),
            "{options}: orientation dropped"
        );
    }
    let kept = ok(&input, "width=32,metadata=keep");
    assert!(contains(&kept.bytes, b"(c) Someone"));
    assert!(contains(&kept.bytes, b"secret"));
    // The orientation is kept but reset: the pixels are upright already.
    assert!(contains(&kept.bytes, &[0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0]));
    let decoded = image::load_from_memory(&kept.bytes).expect("decodes");
    assert_eq!((decoded.width(), decoded.height()), (32, 43));

    let none = ok(&input, "width=32,metadata=none");
    assert!(!contains(&none.bytes, b"Exif\0\0"));
    assert!(!contains(&none.bytes, b"secret"));
    // Other formats never carry metadata.
    for format in ["png", "webp"] {
        let output = ok(&input, &format!("width=32,metadata=keep,format={format}"));
        assert!(!contains(&output.bytes, b"Someone"), "{format}");
    }
}

fn is_progressive(jpeg: &[u8]) -> bool {
    contains(jpeg, &[0xFF, 0xC2])
}

#[test]
fn jpeg_is_progressive_unless_baseline_or_fast() {
    let input = jpeg(256, 192);
    assert!(is_progressive(&ok(&input, "width=128").bytes));
    assert!(is_progressive(&ok(&input, "width=128,format=jpeg").bytes));
    let baseline = ok(&input, "width=128,format=baseline-jpeg");
    assert_eq!(baseline.format, ImageFormat::Jpeg);
    assert!(!is_progressive(&baseline.bytes));
    assert!(!is_progressive(
        &ok(&input, "width=128,compression=fast").bytes
    ));
}

#[test]
fn png_with_an_explicit_quality_is_a_palette_png() {
    let input = jpeg(128, 96);
    let full = ok(&input, "format=png");
    let palette = ok(&input, "format=png,quality=80");
    // Colour type at byte 25: 2 (RGB) and 3 (indexed).
    assert_eq!(full.bytes[25], 2);
    assert_eq!(palette.bytes[25], 3);
    assert!(palette.bytes.len() < full.bytes.len());
    assert_eq!(decode(&palette.bytes).dimensions(), (128, 96));
    assert_eq!(ok(&input, "format=png,quality=100").bytes[25], 2);
}

#[test]
fn webp_at_quality_100_is_lossless() {
    let input = png_of(&opaque());
    let output = ok(&input, "format=webp,quality=100");
    assert!(contains(&output.bytes, b"VP8L"), "lossless bitstream");
    assert_eq!(decode(&output.bytes).to_rgb8(), opaque().to_rgb8());
    assert!(contains(
        &ok(&input, "format=webp,quality=99").bytes,
        b"VP8 "
    ));
}

#[test]
fn quality_levels_order_the_sizes() {
    let input = corpus("photo-small.jpg").unwrap_or_else(|| jpeg(640, 427));
    let sizes: Vec<usize> = ["high", "medium-high", "medium-low", "low"]
        .iter()
        .map(|level| {
            ok(&input, &format!("width=320,quality={level}"))
                .bytes
                .len()
        })
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] > w[1]), "{sizes:?}");
}

/// Mean absolute difference of two same-sized images' RGB samples.
fn mean_error(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn default_jpeg_needs_fewer_bytes_than_compression_fast_for_the_same_fidelity() {
    // jpegli (the default) against libjpeg-turbo
    // (`compression=fast`), progressive on both sides so only the
    // quantisation differs: the default output at the lowest quality that
    // is at least as faithful to the resized image as libjpeg-turbo's at
    // q80 is smaller.
    let input = jpeg(512, 384);
    let exact = decode(&ok(&input, "width=256,format=png").bytes);
    let fast = ok(&input, "width=256,quality=80,compression=fast").bytes;
    let target = mean_error(&decode(&fast), &exact);
    let default = (50..=100)
        .map(|q| ok(&input, &format!("width=256,quality={q}")).bytes)
        .find(|jpeg| mean_error(&decode(jpeg), &exact) <= target)
        .expect("some quality is as faithful");
    assert!(
        default.len() < fast.len(),
        "default {} bytes, compression=fast {} bytes",
        default.len(),
        fast.len()
    );
    // Both are real JPEGs of the requested size.
    assert_eq!(decode(&default).dimensions(), (256, 192));
    assert_eq!(decode(&fast).dimensions(), (256, 192));
}

#[test]
fn grey_images_stay_grey_through_the_default_jpeg_encoder() {
    let grey = DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb(64, 48)).to_luma8());
    for options in [
        "format=jpeg",
        "format=baseline-jpeg",
        "format=jpeg,compression=fast",
    ] {
        let output = ok(&png_of(&grey), options);
        let decoded = decode(&output.bytes);
        assert!(!decoded.color().has_color(), "{options}");
        assert_eq!(decoded.dimensions(), (64, 48), "{options}");
    }
}
