//! AVIF item properties: `irot` and `imir` turn and mirror the image (in
//! the order the item lists them), `colr` gives the YUV matrix and range
//! (over the AV1 header's) and the colour space (code points or an ICC
//! profile), `ispe` gives the size checked before decoding, `clap` crops
//! the decoded image (before or after the turns, in the file's order). The AV1
//! payloads come from ravif; the containers are written here box by box,
//! so each property can be put in, left out or damaged.

mod common;
#[path = "common/item_property.rs"]
mod item_property;

use std::io::Cursor;

use common::*;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage};
use image_engine::{ErrorKind, Limits};
use moxcms::{ColorProfile, Layout, TransformOptions};
use ravif::{Encoder, Img, MatrixCoefficients, PixelRange, RGB8};

fn encoder() -> Encoder<'static> {
    Encoder::new()
        .with_quality(98.0)
        .with_speed(8)
        .with_num_threads(Some(1))
}

/// The AV1 payload of an RGB image, as ravif codes it (BT.601, full range).
fn av1_of(image: &RgbImage) -> Vec<u8> {
    let pixels: Vec<RGB8> = image
        .pixels()
        .map(|p| RGB8::new(p[0], p[1], p[2]))
        .collect();
    let (width, height) = (image.width() as usize, image.height() as usize);
    let file = encoder()
        .encode_rgb(Img::new(&pixels[..], width, height))
        .expect("ravif encodes")
        .avif_file;
    payload(&file)
}

fn payload(file: &[u8]) -> Vec<u8> {
    avif_parse::read_avif(&mut Cursor::new(file))
        .expect("ravif's container parses")
        .primary_item
        .to_vec()
}

fn boxed(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut out = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(content);
    out
}

fn full_box(kind: &[u8; 4], version: u8, content: &[u8]) -> Vec<u8> {
    boxed(kind, &[&[version, 0, 0, 0], content].concat())
}

fn ispe(width: u32, height: u32) -> Vec<u8> {
    full_box(
        b"ispe",
        0,
        &[width.to_be_bytes(), height.to_be_bytes()].concat(),
    )
}

/// `irot`: quarter turns anticlockwise.
fn irot(quarters: u8) -> Vec<u8> {
    boxed(b"irot", &[quarters])
}

/// `imir`: axis 0 exchanges top and bottom, axis 1 left and right.
fn imir(axis: u8) -> Vec<u8> {
    boxed(b"imir", &[axis])
}

fn nclx(primaries: u16, transfer: u16, matrix: u16, full_range: bool) -> Vec<u8> {
    let mut content = b"nclx".to_vec();
    for value in [primaries, transfer, matrix] {
        content.extend_from_slice(&value.to_be_bytes());
    }
    content.push(if full_range { 0x80 } else { 0 });
    boxed(b"colr", &content)
}

fn icc_colr(icc: &[u8]) -> Vec<u8> {
    boxed(b"colr", &[b"prof".as_slice(), icc].concat())
}

/// A still AVIF holding `av1` as its one item, with `properties` (in
/// order) in `ipco` and all associated with the item.
fn avif(av1: &[u8], properties: &[Vec<u8>]) -> Vec<u8> {
    let indices: Vec<u8> = (1..=properties.len() as u8).collect();
    avif_with(av1, properties, &indices)
}

/// [`avif`] with the item's `ipma` list given (1-based indices into
/// `properties`).
fn avif_with(av1: &[u8], properties: &[Vec<u8>], indices: &[u8]) -> Vec<u8> {
    let ftyp = boxed(b"ftyp", b"avif\0\0\0\0avifmif1miaf");
    let meta = |offset: u32| {
        let hdlr = full_box(
            b"hdlr",
            0,
            &[&[0; 4], b"pict".as_slice(), &[0; 13]].concat(),
        );
        let pitm = full_box(b"pitm", 0, &[0, 1]);
        let iloc = full_box(
            b"iloc",
            0,
            &[
                &[0x44, 0x00, 0, 1, 0, 1, 0, 0, 0, 1][..],
                &offset.to_be_bytes(),
                &(av1.len() as u32).to_be_bytes(),
            ]
            .concat(),
        );
        let infe = full_box(b"infe", 2, &[0, 1, 0, 0, b'a', b'v', b'0', b'1', 0]);
        let iinf = full_box(b"iinf", 0, &[&[0, 1][..], &infe].concat());
        let ipco = boxed(b"ipco", &properties.concat());
        let mut ipma = vec![0, 0, 0, 1, 0, 1, indices.len() as u8];
        ipma.extend_from_slice(indices);
        let ipma = full_box(b"ipma", 0, &ipma);
        let iprp = boxed(b"iprp", &[ipco, ipma].concat());
        full_box(b"meta", 0, &[hdlr, pitm, iloc, iinf, iprp].concat())
    };
    let offset = (ftyp.len() + meta(0).len() + 8) as u32;
    [ftyp, meta(offset), boxed(b"mdat", av1)].concat()
}

/// Four distinct quadrants, and a wider than tall image, so that every
/// turn and mirror gives a different picture.
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

fn mean_difference(a: &DynamicImage, b: &DynamicImage) -> f64 {
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

#[test]
fn rotation_and_mirror_properties_are_applied_in_order() {
    let (width, height) = (64, 32);
    let original = DynamicImage::ImageRgb8(quadrants(width, height));
    let av1 = av1_of(&quadrants(width, height));
    let cases: [(&str, Vec<Vec<u8>>, DynamicImage); 6] = [
        ("none", vec![], original.clone()),
        (
            "irot 90° anticlockwise",
            vec![irot(1)],
            original.rotate270(),
        ),
        (
            "irot 270° anticlockwise",
            vec![irot(3)],
            original.rotate90(),
        ),
        ("imir left-right", vec![imir(1)], original.fliph()),
        ("imir top-bottom", vec![imir(0)], original.flipv()),
        (
            "irot then imir",
            vec![irot(1), imir(1)],
            original.rotate270().fliph(),
        ),
    ];
    for (name, transforms, expected) in cases {
        let properties = [vec![ispe(width, height)], transforms].concat();
        let file = avif(&av1, &properties);
        let output = ok(&file, "format=png");
        let decoded = decode(&output.bytes);
        assert_eq!(decoded.dimensions(), expected.dimensions(), "{name}");
        let off = mean_difference(&decoded, &expected);
        assert!(off < 4.0, "{name}: off by {off:.2}");
    }
    // The order matters: a mirror then a turn is another picture.
    let file = avif(&av1, &[ispe(width, height), imir(1), irot(1)]);
    let decoded = decode(&ok(&file, "format=png").bytes);
    assert!(mean_difference(&decoded, &original.fliph().rotate270()) < 4.0);
    assert!(mean_difference(&decoded, &original.rotate270().fliph()) > 40.0);
}

#[test]
fn the_reported_size_is_the_turned_one() {
    let av1 = av1_of(&quadrants(64, 32));
    let file = avif(&av1, &[ispe(64, 32), irot(1)]);
    let body: serde_json::Value =
        serde_json::from_slice(&ok(&file, "format=json").bytes).expect("JSON body");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(32), Some(64))
    );
    assert_eq!(body["original"]["width"], 32);
    assert_eq!(body["original"]["height"], 64);
    // width=16 of the upright 32×64 image is 16×32.
    let output = ok(&file, "width=16,format=png");
    assert_eq!((output.width, output.height), (16, 32));
    // The location's side limit applies to the upright size.
    let limits = Limits {
        max_side: 40,
        ..Limits::default()
    };
    let err = run_with(&avif(&av1, &[ispe(64, 32)]), "width=10", &limits)
        .expect_err("64 wide is over 40");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
}

/// 8-bit full- or limited-range YCbCr to RGB with the luma weights of
/// BT.601 or BT.709, computed here independently of the engine.
fn ycbcr_to_rgb(ycbcr: [u8; 3], bt709: bool, full_range: bool) -> [f64; 3] {
    let (kr, kb) = if bt709 {
        (0.2126, 0.0722)
    } else {
        (0.299, 0.114)
    };
    let [y, cb, cr] = ycbcr.map(f64::from);
    let (y, pb, pr) = if full_range {
        (y / 255.0, (cb - 128.0) / 255.0, (cr - 128.0) / 255.0)
    } else {
        (
            (y - 16.0) / 219.0,
            (cb - 128.0) / 224.0,
            (cr - 128.0) / 224.0,
        )
    };
    let r = y + 2.0 * (1.0 - kr) * pr;
    let b = y + 2.0 * (1.0 - kb) * pb;
    let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
    [r, g, b].map(|v| (v * 255.0).clamp(0.0, 255.0))
}

#[test]
fn colr_gives_the_matrix_and_range() {
    // Four flat patches of chosen YCbCr, coded as they are (ravif's
    // sequence header says BT.601, full range): the container's `colr`
    // says how to read them.
    let patches: [[u8; 3]; 4] = [[81, 90, 240], [145, 54, 34], [41, 240, 110], [40, 128, 128]];
    let (width, height) = (128u32, 32u32);
    let planes = (0..height).flat_map(|_| (0..width).map(move |x| patches[(x / 32) as usize]));
    let av1 = payload(
        &encoder()
            .encode_raw_planes_8_bit(
                width as usize,
                height as usize,
                planes,
                None::<[u8; 0]>,
                PixelRange::Full,
                MatrixCoefficients::BT601,
            )
            .expect("ravif encodes planes")
            .avif_file,
    );
    for (matrix, full_range) in [(6u16, true), (6, false), (1, true), (1, false)] {
        let file = avif(
            &av1,
            &[ispe(width, height), nclx(1, 13, matrix, full_range)],
        );
        let decoded = decode(&ok(&file, "format=png").bytes).to_rgb8();
        for (index, ycbcr) in patches.iter().enumerate() {
            let expected = ycbcr_to_rgb(*ycbcr, matrix == 1, full_range);
            let got = decoded.get_pixel(index as u32 * 32 + 16, height / 2);
            for channel in 0..3 {
                let off = (f64::from(got[channel]) - expected[channel]).abs();
                assert!(
                    off <= 4.0,
                    "matrix {matrix}, full {full_range}, patch {index}: {got:?} for {expected:?}"
                );
            }
        }
    }
    // The four readings really differ: the test would see a wrong one.
    let dark = |bt709, full| ycbcr_to_rgb(patches[3], bt709, full)[0];
    assert!((dark(false, true) - dark(false, false)).abs() > 10.0);
    let red = |bt709| ycbcr_to_rgb(patches[0], bt709, false)[1];
    assert!((red(false) - red(true)).abs() > 10.0);
}

/// `colour` in Display P3 as sRGB, by moxcms directly.
fn p3_to_srgb(colour: [u8; 3]) -> [u8; 3] {
    let transform = ColorProfile::new_display_p3()
        .create_transform_8bit(
            Layout::Rgb,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .expect("P3 to sRGB");
    let mut out = [0u8; 3];
    transform.transform(&colour, &mut out).expect("one pixel");
    out
}

#[test]
fn display_p3_avifs_are_converted_to_srgb() {
    let colour = [200u8, 60, 60];
    let expected = p3_to_srgb(colour);
    assert!(
        (0..3).any(|c| colour[c].abs_diff(expected[c]) >= 10),
        "P3 and sRGB must differ for this colour: {expected:?}"
    );
    let (width, height) = (32, 32);
    let av1 = av1_of(&RgbImage::from_pixel(width, height, Rgb(colour)));
    let icc = ColorProfile::new_display_p3().encode().expect("P3 profile");
    let files = [
        (
            "ICC colr",
            avif(
                &av1,
                &[ispe(width, height), nclx(1, 13, 6, true), icc_colr(&icc)],
            ),
        ),
        (
            "nclx P3",
            avif(&av1, &[ispe(width, height), nclx(12, 13, 6, true)]),
        ),
    ];
    for (name, file) in files {
        let decoded = decode(&ok(&file, "format=png").bytes).to_rgb8();
        let got = decoded.get_pixel(width / 2, height / 2);
        for c in 0..3 {
            assert!(
                got[c].abs_diff(expected[c]) <= 3,
                "{name}: {got:?}, expected {expected:?}"
            );
        }
    }
    // sRGB code points leave the pixels alone.
    let file = avif(&av1, &[ispe(width, height), nclx(1, 13, 6, true)]);
    let decoded = decode(&ok(&file, "format=png").bytes).to_rgb8();
    let got = decoded.get_pixel(width / 2, height / 2);
    assert!((0..3).all(|c| got[c].abs_diff(colour[c]) <= 3), "{got:?}");
}

#[test]
fn the_size_from_ispe_is_checked_before_decoding() {
    let av1 = av1_of(&quadrants(64, 32));
    // 100 000 × 100 000 claimed by ispe over a 64×32 payload.
    let err = run(&avif(&av1, &[ispe(100_000, 100_000)]), "width=10").expect_err("ten gigapixels");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
    let err = run(&avif(&av1, &[ispe(100_000, 100_000)]), "format=json")
        .expect_err("ten gigapixels, described");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
    // A location's pixel limit, on a real size.
    let limits = Limits {
        max_pixels: 1000,
        ..Limits::default()
    };
    let err = run_with(&avif(&av1, &[ispe(64, 32)]), "width=10", &limits).expect_err("2048 pixels");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
}

#[test]
fn malformed_properties_are_refused_as_corrupt() {
    let av1 = av1_of(&quadrants(64, 32));
    let cases: [(&str, Vec<u8>); 7] = [
        (
            "empty irot",
            avif(&av1, &[ispe(64, 32), boxed(b"irot", &[])]),
        ),
        (
            "empty imir",
            avif(&av1, &[ispe(64, 32), boxed(b"imir", &[])]),
        ),
        (
            "short nclx",
            avif(&av1, &[ispe(64, 32), boxed(b"colr", b"nclx\0\x01")]),
        ),
        (
            "empty ICC",
            avif(&av1, &[ispe(64, 32), boxed(b"colr", b"prof")]),
        ),
        ("zero ispe", avif(&av1, &[ispe(0, 32)])),
        ("ipma past ipco", avif_with(&av1, &[ispe(64, 32)], &[1, 9])),
        // The AV1 frame is larger than ispe says.
        ("small ispe", avif(&av1, &[ispe(16, 16)])),
    ];
    for (name, file) in cases {
        for options in ["width=10", "format=json"] {
            let err = run(&file, options).expect_err(name);
            assert_eq!(
                err.kind,
                ErrorKind::CorruptImage,
                "{name} {options}: {}",
                err.message
            );
        }
    }
    // A damaged ICC profile is not worth failing over: pixels as sRGB.
    let file = avif(&av1, &[ispe(64, 32), icc_colr(b"not a profile at all")]);
    assert_eq!(ok(&file, "format=png").width, 64);
}

/// The four quadrants of a `width`×`height` image as `clap` fractions:
/// half the size, the centre a quarter of the size away from the image's.
fn quadrant_clap(width: u32, height: u32, right: bool, bottom: bool) -> Vec<u8> {
    let (w, h) = (width as i32, height as i32);
    let sign = |positive: bool| if positive { 1 } else { -1 };
    item_property::clap(
        (w / 2, 1),
        (h / 2, 1),
        (sign(right) * w / 4, 1),
        (sign(bottom) * h / 4, 1),
    )
}

#[test]
fn clap_crops_to_the_clean_aperture() {
    let (width, height) = (64, 32);
    let original = DynamicImage::ImageRgb8(quadrants(width, height));
    let av1 = av1_of(&quadrants(width, height));
    for (right, bottom) in [(false, false), (true, false), (false, true), (true, true)] {
        let file = avif(
            &av1,
            &[
                ispe(width, height),
                quadrant_clap(width, height, right, bottom),
            ],
        );
        let decoded = decode(&ok(&file, "format=png").bytes);
        let x = if right { width / 2 } else { 0 };
        let y = if bottom { height / 2 } else { 0 };
        let expected = original.crop_imm(x, y, width / 2, height / 2);
        assert_eq!(
            decoded.dimensions(),
            (32, 16),
            "right {right}, bottom {bottom}"
        );
        let off = mean_difference(&decoded, &expected);
        assert!(off < 4.0, "right {right}, bottom {bottom}: off by {off:.2}");
        // Every pixel is the quadrant's colour: nothing of the others.
        let colour = original.get_pixel(x + 1, y + 1);
        let far = decoded
            .to_rgb8()
            .pixels()
            .filter(|p| (0..3).any(|c| p[c].abs_diff(colour[c]) > 30))
            .count();
        assert_eq!(far, 0, "right {right}, bottom {bottom}");
    }
}

#[test]
fn clap_and_irot_apply_in_the_files_order() {
    let (width, height) = (64, 32);
    let original = DynamicImage::ImageRgb8(quadrants(width, height));
    let av1 = av1_of(&quadrants(width, height));
    // MIAF's order: crop the stored image, then turn it.
    let file = avif(
        &av1,
        &[
            ispe(width, height),
            quadrant_clap(width, height, true, false),
            irot(1),
        ],
    );
    let output = ok(&file, "format=png");
    let expected = original.crop_imm(32, 0, 32, 16).rotate270();
    let decoded = decode(&output.bytes);
    assert_eq!(decoded.dimensions(), (16, 32));
    assert!(mean_difference(&decoded, &expected) < 4.0);
    // A clap listed after the turn crops the turned image (32×64): its
    // top-right quadrant is the stored image's bottom-right one.
    let file = avif(
        &av1,
        &[
            ispe(width, height),
            irot(1),
            quadrant_clap(height, width, true, false),
        ],
    );
    let decoded = decode(&ok(&file, "format=png").bytes);
    let expected = original.rotate270().crop_imm(16, 0, 16, 32);
    assert_eq!(decoded.dimensions(), (16, 32));
    assert!(mean_difference(&decoded, &expected) < 4.0);
    assert!(mean_difference(&decoded, &original.crop_imm(32, 16, 32, 16).rotate270()) < 4.0);
}

#[test]
fn the_reported_and_planned_size_is_the_cropped_upright_one() {
    let av1 = av1_of(&quadrants(64, 32));
    let file = avif(
        &av1,
        &[ispe(64, 32), quadrant_clap(64, 32, false, false), irot(1)],
    );
    let body: serde_json::Value =
        serde_json::from_slice(&ok(&file, "format=json").bytes).expect("JSON body");
    assert_eq!(
        (
            body["original"]["width"].as_u64(),
            body["original"]["height"].as_u64()
        ),
        (Some(16), Some(32))
    );
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(16), Some(32))
    );
    let body: serde_json::Value =
        serde_json::from_slice(&ok(&file, "width=8,format=json").bytes).expect("JSON body");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(8), Some(16))
    );
    // width=8 of the upright 16×32 aperture is 8×16.
    let output = ok(&file, "width=8,format=png");
    assert_eq!((output.width, output.height), (8, 16));
    assert_eq!((output.original_width, output.original_height), (32, 16));
    // The limits before decoding see what is decoded: ispe's 64×32.
    let limits = Limits {
        max_side: 40,
        ..Limits::default()
    };
    let err = run_with(&file, "width=10", &limits).expect_err("64 wide is decoded");
    assert_eq!(err.kind, ErrorKind::TooManyPixels, "{}", err.message);
}

#[test]
fn predicted_memory_decodes_ispe_and_plans_the_aperture() {
    let av1 = av1_of(&quadrants(64, 32));
    // 3000×3000 claimed by ispe (the payload is never decoded here).
    let whole = avif(&av1, &[ispe(3000, 3000)]);
    let cropped = avif(
        &av1,
        &[
            ispe(3000, 3000),
            item_property::clap((100, 1), (100, 1), (0, 1), (0, 1)),
        ],
    );
    let transform = image_engine::parse("format=png").unwrap();
    let limits = Limits::default();
    let whole = image_engine::predict_memory(&whole, &transform, &limits).unwrap();
    let cropped = image_engine::predict_memory(&cropped, &transform, &limits).unwrap();
    // dav1d's frames and the RGB(A) at 16 bits for all of ispe: 22 bytes a
    // pixel, whatever the aperture keeps.
    assert!(cropped >= 3000 * 3000 * 22, "{cropped}");
    // Resizing and encoding a 100×100 aperture cost far less than 3000².
    assert!(cropped < whole, "{cropped} vs {whole}");
}

#[test]
fn odd_clap_offsets_are_kept_to_the_pixel() {
    let (width, height) = (64, 32);
    // Smooth ramps: a crop one pixel off is off by 4 levels everywhere.
    let ramp = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 4) as u8, (y * 8) as u8, 128])
    });
    let original = DynamicImage::ImageRgb8(ramp.clone());
    let av1 = av1_of(&ramp);
    // 21×11 centred one pixel right and three up of the image's centre:
    // (64 − 21)/2 + 1 = 22.5 → column 22; (32 − 11)/2 − 3 = 7.5 → row 7.
    let file = avif(
        &av1,
        &[
            ispe(width, height),
            item_property::clap((21, 1), (11, 1), (1, 1), (-3, 1)),
        ],
    );
    let decoded = decode(&ok(&file, "format=png").bytes);
    assert_eq!(decoded.dimensions(), (21, 11));
    let off = |x, y| mean_difference(&decoded, &original.crop_imm(x, y, 21, 11));
    let right = off(22, 7);
    assert!(right < 1.0, "off by {right:.2}");
    for (x, y) in [(21, 7), (23, 7), (22, 6), (22, 8)] {
        assert!(
            off(x, y) > right + 0.5,
            "({x}, {y}) is as close: {:.2}",
            off(x, y)
        );
    }
}

#[test]
fn impossible_clean_apertures_are_refused_as_corrupt() {
    let av1 = av1_of(&quadrants(64, 32));
    let clap = item_property::clap;
    let cases: [(&str, Vec<u8>); 8] = [
        ("zero denominator", clap((32, 0), (16, 1), (0, 1), (0, 1))),
        (
            "negative denominator",
            clap((32, 1), (16, 1), (0, -2), (0, 1)),
        ),
        ("zero width", clap((0, 1), (16, 1), (0, 1), (0, 1))),
        ("negative height", clap((32, 1), (-16, 1), (0, 1), (0, 1))),
        ("wider than ispe", clap((65, 1), (16, 1), (0, 1), (0, 1))),
        ("off the left", clap((32, 1), (16, 1), (-17, 1), (0, 1))),
        (
            "extreme",
            clap((i32::MAX, 1), (1, i32::MAX), (i32::MIN, 1), (i32::MAX, 1)),
        ),
        (
            "cut short",
            item_property::boxed(b"clap", &[0, 0, 0, 32, 0, 0, 0, 1]),
        ),
    ];
    for (name, property) in cases {
        let file = avif(&av1, &[ispe(64, 32), property]);
        for options in ["width=10", "format=json"] {
            let err = run(&file, options).expect_err(name);
            assert_eq!(
                err.kind,
                ErrorKind::CorruptImage,
                "{name} {options}: {}",
                err.message
            );
        }
        let transform = image_engine::parse("width=10").unwrap();
        let err =
            image_engine::predict_memory(&file, &transform, &Limits::default()).expect_err(name);
        assert_eq!(err.kind, ErrorKind::CorruptImage, "{name}: {}", err.message);
    }
}
