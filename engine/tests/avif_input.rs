//! AVIF originals: 8- and 10-bit, with and without alpha, the module's own
//! AVIF output read back, the size checked before decoding, damaged files.
//! The AVIFs are made with ravif (the encoder the engine writes AVIF with),
//! at 8 and 10 bits (`common/avif_writer.rs`).

mod common;

#[path = "common/avif_writer.rs"]
mod avif_writer;

use avif_writer::{avif_rgb, avif_rgba};
use common::*;
use image::{DynamicImage, GenericImageView, ImageBuffer, Rgb, Rgba};
use image_engine::{ErrorKind, ImageFormat, Limits};
use ravif::BitDepth;

/// Blocks of pure primaries, white, black and grey over a gradient: a
/// wrong YUV matrix or range shows at once on the primaries.
fn test_card(width: u32, height: u32) -> image::RgbImage {
    let base = rgb(width, height);
    let patches = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 255],
        [0, 0, 0],
        [128, 128, 128],
    ];
    ImageBuffer::from_fn(width, height, |x, y| {
        if y < height / 2 {
            let index = (x * patches.len() as u32 / width) as usize;
            Rgb(patches[index])
        } else {
            *base.get_pixel(x, y)
        }
    })
}

/// Mean absolute difference per channel over the pixels where `keep` is
/// true.
fn mean_difference(a: &DynamicImage, b: &DynamicImage, keep: impl Fn(u32, u32) -> bool) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let (mut total, mut count) = (0u64, 0u64);
    for (x, y, p) in a.enumerate_pixels() {
        if keep(x, y) {
            let q = b.get_pixel(x, y);
            total += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
            count += 3;
        }
    }
    total as f64 / count as f64
}

/// The middle of each primaries patch (away from chroma bleeding).
fn patch_centre(width: u32, height: u32) -> impl Fn(u32, u32) -> bool {
    move |x, y| {
        let patch = width / 6;
        let inside = x % patch;
        y > height / 8 && y < height * 3 / 8 && inside > patch / 4 && inside < patch * 3 / 4
    }
}

#[test]
fn eight_and_ten_bit_avifs_keep_their_colours() {
    let (width, height) = (192, 96);
    let card = test_card(width, height);
    let original = DynamicImage::ImageRgb8(card.clone());
    for depth in [BitDepth::Eight, BitDepth::Ten] {
        let avif = avif_rgb(&card, depth);
        assert_eq!(format_of(&avif), ImageFormat::Avif);
        let output = ok(&avif, "format=png");
        assert_eq!((output.width, output.height), (width, height));
        assert_eq!(
            (output.original_width, output.original_height),
            (width, height)
        );
        let decoded = decode(&output.bytes);
        let patches = mean_difference(&original, &decoded, patch_centre(width, height));
        let gradient = mean_difference(&original, &decoded, |_, y| y > height / 2 + 4);
        assert!(patches < 3.0, "{depth:?}: primaries off by {patches:.2}");
        assert!(gradient < 4.0, "{depth:?}: gradient off by {gradient:.2}");
    }
}

#[test]
fn alpha_is_kept() {
    let (width, height) = (128, 64);
    let image = rgba(width, height);
    for depth in [BitDepth::Eight, BitDepth::Ten] {
        let avif = avif_rgba(&image, depth);
        let output = ok(&avif, "format=png");
        let decoded = decode(&output.bytes).to_rgba8();
        for (x, expected) in [(0, 0u8), (width / 8, 128), (width / 2, 255)] {
            let Rgba([_, _, _, alpha]) = *decoded.get_pixel(x, height / 2);
            assert!(
                alpha.abs_diff(expected) <= 6,
                "{depth:?}: alpha at x={x} is {alpha}, expected {expected}"
            );
        }
        // Transparent AVIF stays AVIF by default; as JPEG it is flattened.
        assert_eq!(ok(&avif, "width=64").format, ImageFormat::Avif);
        assert_eq!(ok(&avif, "width=64,format=jpeg").format, ImageFormat::Jpeg);
    }
}

#[test]
fn the_modules_own_avif_output_reads_back() {
    for (name, input) in [
        ("jpeg", jpeg(320, 240)),
        ("png with alpha", png_rgba(96, 64)),
    ] {
        let avif = ok(&input, "format=avif").bytes;
        for (options, format) in [
            ("width=48", ImageFormat::Avif),
            ("width=48,format=webp", ImageFormat::Webp),
            ("width=48,format=png", ImageFormat::Png),
        ] {
            let output = ok(&avif, options);
            assert_eq!(output.format, format, "{name} {options}");
            assert_eq!(output.width, 48, "{name} {options}");
            assert_eq!(format_of(&output.bytes), format, "{name} {options}");
        }
    }
}

#[test]
fn memory_is_planned_at_the_files_depth() {
    // The sequence header's depth, read before decoding: an 8-bit AVIF is
    // planned at 8 bits a sample, a 10-bit one at 16.
    let image = test_card(640, 480);
    let transform = image_engine::parse("width=640,format=png").expect("options");
    let predicted = |depth| {
        image_engine::predict_memory(&avif_rgb(&image, depth), &transform, &Limits::default())
            .expect("predicted")
    };
    let (eight, ten) = (predicted(BitDepth::Eight), predicted(BitDepth::Ten));
    // Decode: 11 against 22 bytes a pixel; resize and encode: 8-bit
    // against 16-bit rows.
    assert!(ten > eight + 640 * 480 * 11, "{ten} vs {eight}");
}

#[test]
fn size_is_checked_before_decoding() {
    let avif = avif_rgb(&rgb(400, 300), BitDepth::Eight);
    let limits = Limits {
        max_pixels: 100_000,
        ..Limits::default()
    };
    let err = run_with(&avif, "width=48", &limits).expect_err("over the pixel limit");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);

    let json = ok(&avif, "format=json,width=100");
    let body: serde_json::Value = serde_json::from_slice(&json.bytes).expect("JSON body");
    assert_eq!(body["original"]["width"], 400);
    assert_eq!(body["original"]["height"], 300);
    assert_eq!(body["original"]["format"], "image/avif");
    assert_eq!(body["width"], 100);
    assert_eq!(body["height"], 75);
}

#[test]
fn damaged_avifs_are_refused_not_crashed_on() {
    let avif = avif_rgba(&rgba(64, 48), BitDepth::Ten);
    // Cut anywhere: the container or an AV1 item is short.
    for cut in [12, 40, avif.len() / 3, avif.len() / 2, avif.len() - 10] {
        let err = run(&avif[..cut], "width=32").expect_err("truncated AVIF");
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
    // Flipped bytes in the payload: an error or some image, never a crash.
    let mut rng = Xorshift(0x5eed_0013);
    for _ in 0..40 {
        let mut damaged = avif.clone();
        let at = avif.len() / 2 + (rng.next() as usize % (avif.len() / 2));
        damaged[at] ^= 1 << (rng.next() % 8);
        let _ = run(&damaged, "width=32");
    }
    // Still brand with no image in it.
    let err = run(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "width=10").expect_err("empty");
    assert_eq!(err.kind, ErrorKind::CorruptImage, "{}", err.message);
}
