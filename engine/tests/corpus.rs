//! Real photographs from the shared corpus (`../shared/corpus/`, beside the
//! repository). Skipped when it is not there: most tests use images made in
//! memory, these only add real-world encodings (progressive JPEG, EXIF,
//! 4:2:2 subsampling, an animated GIF with offset frames).

mod common;

use std::time::Instant;

use common::*;
use image::GenericImageView;
use image_engine::ImageFormat;

#[test]
fn photo_small_to_every_format() {
    let Some(input) = corpus("photo-small.jpg") else {
        return;
    };
    for format in ["jpeg", "png", "gif", "webp"] {
        let output = ok(&input, &format!("width=320,format={format}"));
        assert_eq!(output.format.name(), format);
        assert_eq!((output.original_width, output.original_height), (640, 427));
        assert_eq!((output.width, output.height), (320, 214));
        assert_eq!(decode(&output.bytes).dimensions(), (320, 214));
    }
}

#[test]
fn photo_2mp_to_400_wide_jpeg() {
    let Some(input) = corpus("photo-2mp.jpg") else {
        return;
    };
    // Warm up once (page faults, SIMD detection), then time the best of a
    // few runs.
    let _ = ok(&input, "width=400");
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let output = ok(&input, "width=400");
        best = best.min(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(output.format, ImageFormat::Jpeg);
        assert_eq!((output.width, output.height), (400, 267));
    }
    eprintln!("photo-2mp.jpg (1920×1280) → width=400 JPEG: {best:.1} ms");
}

#[test]
fn progressive_photo_cover() {
    let Some(input) = corpus("photo-13mp-progressive.jpg") else {
        return;
    };
    let output = ok(&input, "width=300,height=300,fit=cover,format=webp");
    assert_eq!((output.width, output.height), (300, 300));
    assert_eq!(format_of(&output.bytes), ImageFormat::Webp);
}

#[test]
fn alpha_png_keeps_transparency() {
    let Some(input) = corpus("alpha.png") else {
        return;
    };
    let output = ok(&input, "width=512");
    assert_eq!(output.format, ImageFormat::Png);
    assert_eq!((output.width, output.height), (512, 384));
    let decoded = decode(&output.bytes).to_rgba8();
    assert!(decoded.pixels().any(|p| p.0[3] < 255));
}

#[test]
fn animated_gif_first_frame() {
    let Some(input) = corpus("anim.gif") else {
        return;
    };
    let output = ok(&input, "width=495");
    assert_eq!(output.format, ImageFormat::Gif);
    assert_eq!((output.original_width, output.original_height), (990, 1050));
    assert_eq!((output.width, output.height), (495, 525));
    assert_eq!(decode(&output.bytes).dimensions(), (495, 525));
}
