//! `trim`, `flip`, corner and focal gravities, `gravity=auto` and the
//! adjustments through the whole pipeline, checked to the pixel on
//! lossless PNG and on real photographs.

mod common;

use common::*;
use image::{DynamicImage, ImageBuffer, Rgb, RgbImage};
use image_engine::ErrorKind;

/// Every pixel tells where it came from: red = x, green = y.
fn numbered(width: u32, height: u32) -> Vec<u8> {
    png_of(&DynamicImage::ImageRgb8(ImageBuffer::from_fn(
        width,
        height,
        |x, y| Rgb([x as u8, y as u8, 0]),
    )))
}

fn origin_of(bytes: &[u8], x: u32, y: u32) -> (u8, u8) {
    let pixel = decode(bytes).to_rgb8().get_pixel(x, y).0;
    (pixel[0], pixel[1])
}

#[test]
fn trim_edges_are_exact_to_the_pixel() {
    let output = ok(&numbered(100, 80), "trim=5;10;15;20,format=png");
    assert_eq!((output.width, output.height), (70, 60));
    assert_eq!(origin_of(&output.bytes, 0, 0), (20, 5));
    assert_eq!(origin_of(&output.bytes, 69, 59), (89, 64));

    // Trimmed first, then resized and cropped: a 70×60 region cut to 30×30
    // at the left, without resampling (crop never enlarges).
    let output = ok(
        &numbered(100, 80),
        "trim=5;10;15;20,width=30,height=60,fit=crop,gravity=right,format=png",
    );
    assert_eq!((output.width, output.height), (30, 60));
    assert_eq!(origin_of(&output.bytes, 0, 0), (60, 5));

    let err = run(&numbered(100, 80), "trim=40;0;40;0").expect_err("nothing left");
    assert_eq!(err.kind, ErrorKind::InvalidOption);
    assert!(
        err.message.contains("removes the whole 100×80 image"),
        "{}",
        err.message
    );
}

#[test]
fn trim_border_finds_a_uniform_frame_on_a_photo() {
    // A real photograph inside a 40 px white frame, saved as JPEG (so the
    // frame is noisy near the photo).
    let Some(photo) = corpus("photo-small.jpg") else {
        return;
    };
    let photo = decode(&photo).to_rgb8();
    let (w, h) = photo.dimensions();
    let mut framed = RgbImage::from_pixel(w + 80, h + 60, Rgb([255, 255, 255]));
    image::imageops::replace(&mut framed, &photo, 40, 30);
    let input = jpeg_of(&DynamicImage::ImageRgb8(framed), 92);
    let output = ok(&input, "trim=border,format=png");
    // Within two pixels of the photo's own edges (JPEG ringing).
    assert!(
        output.width.abs_diff(w) <= 2 && output.height.abs_diff(h) <= 2,
        "{}×{} for a {w}×{h} photo",
        output.width,
        output.height
    );
}

#[test]
fn flip_moves_pixels_exactly() {
    for (flip, (x, y)) in [("h", (99, 0)), ("v", (0, 79)), ("hv", (99, 79))] {
        let output = ok(&numbered(100, 80), &format!("flip={flip},format=png"));
        assert_eq!(origin_of(&output.bytes, 0, 0), (x as u8, y as u8), "{flip}");
    }
    // Flip comes before rotate: flip=h then a quarter turn.
    let output = ok(&numbered(100, 80), "flip=h,rotate=90,format=png");
    assert_eq!((output.width, output.height), (80, 100));
    assert_eq!(origin_of(&output.bytes, 0, 0), (99, 79));
}

#[test]
fn corner_and_focal_gravities_place_the_crop_exactly() {
    // fit=crop keeps one full side and cuts the other without resampling:
    // 40×80 of 100×80 tests x, 100×30 tests y.
    for (gravity, x) in [
        ("top-left", 0),
        ("bottom-left", 0),
        ("top-right", 60),
        ("bottom-right", 60),
        // Centred on x = 25: the box's left edge at 5.
        ("0.25x0.5", 5),
        // Off the edge: pushed back inside.
        ("0x1", 0),
        ("1x0", 60),
    ] {
        let output = ok(
            &numbered(100, 80),
            &format!("width=40,height=80,fit=crop,gravity={gravity},format=png"),
        );
        assert_eq!((output.width, output.height), (40, 80));
        assert_eq!(origin_of(&output.bytes, 0, 0), (x, 0), "{gravity}");
    }
    for (gravity, y) in [
        ("top-left", 0),
        ("top-right", 0),
        ("bottom-left", 50),
        ("bottom-right", 50),
        ("0.5x0.25", 5),
        ("0x1", 50),
        ("1x0", 0),
    ] {
        let output = ok(
            &numbered(100, 80),
            &format!("width=100,height=30,fit=crop,gravity={gravity},format=png"),
        );
        assert_eq!((output.width, output.height), (100, 30));
        assert_eq!(origin_of(&output.bytes, 0, 0), (0, y), "{gravity}");
    }
}

/// A soft, defocused real background (the storm photo, blurred) with a
/// sharp, colourful real subject (the dragonfly photo) near the right edge.
fn off_centre_subject() -> Option<(RgbImage, (u32, u32, u32, u32))> {
    let background = decode(&corpus("photo-2mp.jpg")?)
        .resize_exact(600, 400, image::imageops::FilterType::Triangle)
        .blur(6.0)
        .to_rgb8();
    let subject = decode(&corpus("photo-13mp.jpg")?)
        .crop_imm(1900, 1000, 1000, 1000)
        .resize_exact(120, 120, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut scene = background;
    let (sx, sy) = (455, 60);
    image::imageops::replace(&mut scene, &subject, sx, sy);
    Some((scene, (sx as u32, sy as u32, 120, 120)))
}

/// Where a cut of the scene starts: the offset whose pixels match the
/// output exactly (a lossless cut, no resampling).
fn offset_in(scene: &RgbImage, cut: &RgbImage) -> Option<(u32, u32)> {
    let (w, h) = cut.dimensions();
    (0..=scene.height() - h)
        .flat_map(|y| (0..=scene.width() - w).map(move |x| (x, y)))
        .find(|&(x, y)| {
            (0..h)
                .step_by(7)
                .all(|dy| (0..w).all(|dx| scene.get_pixel(x + dx, y + dy) == cut.get_pixel(dx, dy)))
        })
}

#[test]
fn gravity_auto_keeps_an_off_centre_subject() {
    let Some((scene, (sx, sy, sw, sh))) = off_centre_subject() else {
        return;
    };
    let input = png_of(&DynamicImage::ImageRgb8(scene.clone()));
    // A 200-wide portrait slice of the 600×400 scene, cut without
    // resampling: the centre slice (x 200–400) misses the subject at
    // x 455–575; the auto slice must hold all of it.
    let cut = |gravity: &str| {
        let output = ok(
            &input,
            &format!("width=200,height=400,fit=crop,gravity={gravity},format=png"),
        );
        offset_in(&scene, &decode(&output.bytes).to_rgb8()).expect("a cut of the scene")
    };
    assert_eq!(cut("center"), (200, 0));
    let (x, _) = cut("auto");
    assert!(
        x <= sx && x + 200 >= sx + sw,
        "the auto slice x {x}–{} misses the subject at x {sx}–{}",
        x + 200,
        sx + sw
    );
    // A wide strip (600×150): the subject rows 60–180 must be inside.
    let strip = ok(
        &input,
        "width=600,height=150,fit=crop,gravity=auto,format=png",
    );
    let (_, y) = offset_in(&scene, &decode(&strip.bytes).to_rgb8()).expect("a cut");
    assert!(
        y <= sy && y + 150 >= sy + sh,
        "the strip y {y}–{} misses the subject at y {sy}–{}",
        y + 150,
        sy + sh
    );
}

#[test]
fn gravity_auto_also_works_when_resampling_a_jpeg() {
    let Some((scene, _)) = off_centre_subject() else {
        return;
    };
    let input = jpeg_of(&DynamicImage::ImageRgb8(scene), 90);
    let auto = decode(&ok(&input, "width=100,height=200,fit=cover,gravity=auto").bytes);
    let right = decode(&ok(&input, "width=100,height=200,fit=cover,gravity=right").bytes);
    let centre = decode(&ok(&input, "width=100,height=200,fit=cover").bytes);
    let difference = |a: &DynamicImage, b: &DynamicImage| -> f64 {
        a.to_rgb8()
            .as_raw()
            .iter()
            .zip(b.to_rgb8().as_raw())
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.as_bytes().len() as f64
    };
    // Closer to the slice against the right edge than to the centre one.
    assert!(difference(&auto, &right) < difference(&auto, &centre));
}

#[test]
fn adjustments_reach_the_output() {
    let flat = png_of(&DynamicImage::ImageRgb8(RgbImage::from_pixel(
        20,
        20,
        Rgb([100, 50, 200]),
    )));
    let pixel = |options: &str| {
        decode(&ok(&flat, options).bytes)
            .to_rgb8()
            .get_pixel(10, 10)
            .0
    };
    assert_eq!(pixel("format=png"), [100, 50, 200]);
    assert_eq!(pixel("brightness=2,format=png"), [200, 100, 255]);
    assert_eq!(pixel("brightness=0,format=png"), [100, 50, 200]);
    let grey = pixel("saturation=0,format=png");
    assert!(grey[0] == grey[1] && grey[1] == grey[2], "{grey:?}");
    // Gamma 2 lifts, 0.5 darkens; contrast 2 spreads away from mid-grey.
    assert!(pixel("gamma=2,format=png")[1] > 50);
    assert!(pixel("gamma=0.5,format=png")[1] < 50);
    let spread = pixel("contrast=2,format=png");
    assert!(spread[1] < 50 && spread[2] > 200, "{spread:?}");
    // A flat image does not change under blur or sharpen.
    assert_eq!(pixel("blur=20,format=png"), [100, 50, 200]);
    assert_eq!(pixel("sharpen=10,format=png"), [100, 50, 200]);
}

#[test]
fn a_blurred_placeholder_is_smooth() {
    let Some(photo) = corpus("photo-13mp.jpg") else {
        return;
    };
    let sharp = decode(&ok(&photo, "width=64,format=png").bytes).to_rgb8();
    let soft = decode(&ok(&photo, "width=64,blur=50,format=png").bytes).to_rgb8();
    let roughness = |image: &RgbImage| -> u64 {
        image
            .as_raw()
            .windows(4)
            .map(|w| u64::from(w[0].abs_diff(w[3])))
            .sum()
    };
    let (soft, sharp) = (roughness(&soft), roughness(&sharp));
    assert!(soft * 3 < sharp, "blurred {soft}, sharp {sharp}");
}

#[test]
fn trim_follows_a_jpeg_shrunk_while_decoding() {
    // 1600×1200, red rising left to right; keep the left half, then shrink
    // 8 times (decoded at 1/8 by libjpeg-turbo): the red must stay in the
    // left half's range.
    let input = jpeg(1600, 1200);
    let output = ok(&input, "trim=0;800;0;0,width=100,format=png");
    assert_eq!((output.width, output.height), (100, 150));
    let image = decode(&output.bytes).to_rgb8();
    let (first, last) = (image.get_pixel(0, 75).0[0], image.get_pixel(99, 75).0[0]);
    assert!(first < 8, "left edge red {first}");
    assert!((120..=135).contains(&last), "right edge red {last}");
    // The same for a cut off the top and left.
    let output = ok(&input, "trim=600;0;0;800,width=100,format=png");
    assert_eq!((output.width, output.height), (100, 75));
    let image = decode(&output.bytes).to_rgb8();
    let first = image.get_pixel(0, 0).0;
    assert!((120..=135).contains(&first[0]), "{first:?}");
    assert!((120..=135).contains(&first[1]), "{first:?}");
}
