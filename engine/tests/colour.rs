//! Colour management against reference conversions.
//!
//! Each test makes an original in some colour space from a real photo (the
//! corpus's `photo-small.jpg`, or a synthetic one without the corpus),
//! embeds that space's ICC profile, runs it through the pipeline and
//! compares the output with the conversion computed here from first
//! principles (primaries, white point and transfer curve in f64, no CMS):
//! mean ΔE76 must stay under 2. The same comparison for the original's
//! pixels taken as sRGB (what ignoring the profile shows) must fail it, so
//! the bound means something.

mod common;

use common::*;
use image::{DynamicImage, ImageBuffer, ImageEncoder, Rgb, RgbImage};
use moxcms::ColorProfile;

const MAX_MEAN_DELTA_E: f64 = 2.0;

type Matrix = [[f64; 3]; 3];

/// A matrix/TRC RGB space with a D65 white.
struct Space {
    name: &'static str,
    primaries: [(f64, f64); 3],
    /// `None`: the sRGB curve; `Some(g)`: a pure power.
    gamma: Option<f64>,
    profile: fn() -> ColorProfile,
}

const D65: (f64, f64) = (0.3127, 0.3290);

const SRGB: Space = Space {
    name: "sRGB",
    primaries: [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)],
    gamma: None,
    profile: ColorProfile::new_srgb,
};
const DISPLAY_P3: Space = Space {
    name: "Display P3",
    primaries: [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)],
    gamma: None,
    profile: ColorProfile::new_display_p3,
};
const ADOBE_RGB: Space = Space {
    name: "Adobe RGB",
    primaries: [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)],
    gamma: Some(563.0 / 256.0),
    profile: ColorProfile::new_adobe_rgb,
};

impl Space {
    fn to_linear(&self, v: f64) -> f64 {
        match self.gamma {
            Some(g) => v.powf(g),
            None => srgb_to_linear(v),
        }
    }

    fn encode_linear(&self, v: f64) -> f64 {
        let v = v.clamp(0.0, 1.0);
        match self.gamma {
            Some(g) => v.powf(1.0 / g),
            None => linear_to_srgb(v),
        }
    }

    /// RGB → XYZ (D65), from the primaries.
    fn to_xyz(&self) -> Matrix {
        let xyz = |(x, y): (f64, f64)| [x / y, 1.0, (1.0 - x - y) / y];
        let [r, g, b] = self.primaries.map(xyz);
        let m = [[r[0], g[0], b[0]], [r[1], g[1], b[1]], [r[2], g[2], b[2]]];
        let s = mul(&invert(&m), xyz(D65));
        let mut out = m;
        for row in &mut out {
            for (j, value) in row.iter_mut().enumerate() {
                *value *= s[j];
            }
        }
        out
    }

    /// 8-bit pixels in this space → 8-bit sRGB, exactly (f64, clipped).
    fn pixel_to_srgb(&self, pixel: [u8; 3]) -> [f64; 3] {
        let to = multiply(&invert(&SRGB.to_xyz()), &self.to_xyz());
        let linear = pixel.map(|v| self.to_linear(f64::from(v) / 255.0));
        mul(&to, linear).map(|v| SRGB.encode_linear(v) * 255.0)
    }

    fn image_from_srgb(&self, srgb: &RgbImage) -> RgbImage {
        let to = multiply(&invert(&self.to_xyz()), &SRGB.to_xyz());
        ImageBuffer::from_fn(srgb.width(), srgb.height(), |x, y| {
            let linear = srgb
                .get_pixel(x, y)
                .0
                .map(|v| SRGB.to_linear(f64::from(v) / 255.0));
            Rgb(mul(&to, linear).map(|v| (self.encode_linear(v) * 255.0).round() as u8))
        })
    }
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f64) -> f64 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

fn mul(m: &Matrix, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    [0, 1, 2].map(|i| [0, 1, 2].map(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn invert(m: &Matrix) -> Matrix {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [
            c(1, 1, 2, 2) / det,
            -c(0, 1, 2, 2) / det,
            c(0, 1, 1, 2) / det,
        ],
        [
            -c(1, 0, 2, 2) / det,
            c(0, 0, 2, 2) / det,
            -c(0, 0, 1, 2) / det,
        ],
        [
            c(1, 0, 2, 1) / det,
            -c(0, 0, 2, 1) / det,
            c(0, 0, 1, 1) / det,
        ],
    ]
}

/// CIE Lab (D65 white) of an sRGB colour given as 0..=255 floats.
fn lab(srgb: [f64; 3]) -> [f64; 3] {
    let xyz = mul(&SRGB.to_xyz(), srgb.map(|v| srgb_to_linear(v / 255.0)));
    let white = [D65.0 / D65.1, 1.0, (1.0 - D65.0 - D65.1) / D65.1];
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let [fx, fy, fz] = [0, 1, 2].map(|i| f(xyz[i] / white[i]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

fn delta_e(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Mean ΔE76 between an output and per-pixel reference colours.
fn mean_delta_e(output: &RgbImage, reference: &[[f64; 3]]) -> f64 {
    assert_eq!(output.len() / 3, reference.len());
    let sum: f64 = output
        .pixels()
        .zip(reference)
        .map(|(p, r)| delta_e(p.0.map(f64::from), *r))
        .sum();
    sum / reference.len() as f64
}

/// The source photo in sRGB.
fn photo() -> RgbImage {
    match corpus("photo-small.jpg") {
        Some(bytes) => decode(&bytes).to_rgb8(),
        None => rgb(320, 240),
    }
}

/// A JPEG with its ICC profile in APP2 segments (split as the ICC spec
/// says, 65,519 bytes at most each), right after SOI.
fn with_icc(jpeg: &[u8], icc: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = icc.chunks(65_519).collect();
    let mut out = jpeg[..2].to_vec();
    for (i, chunk) in chunks.iter().enumerate() {
        out.extend_from_slice(&[0xFF, 0xE2]);
        out.extend_from_slice(&((chunk.len() + 16) as u16).to_be_bytes());
        out.extend_from_slice(b"ICC_PROFILE\0");
        out.extend_from_slice(&[i as u8 + 1, chunks.len() as u8]);
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn png_with_icc(image: &DynamicImage, icc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    encoder
        .set_icc_profile(icc.to_vec())
        .expect("PNG takes ICC");
    encoder
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .expect("png");
    out
}

/// Runs an original at full size to PNG and measures the output against
/// the reference; also returns what ignoring the profile would score.
fn check(name: &str, original: &[u8], decoded_original: &RgbImage, space: &Space) -> (f64, f64) {
    let output = ok(original, "format=png");
    let output = decode(&output.bytes).to_rgb8();
    assert_eq!(output.dimensions(), decoded_original.dimensions(), "{name}");
    let reference: Vec<[f64; 3]> = decoded_original
        .pixels()
        .map(|p| space.pixel_to_srgb(p.0))
        .collect();
    let managed = mean_delta_e(&output, &reference);
    let naive = mean_delta_e(decoded_original, &reference);
    eprintln!("{name}: mean ΔE76 {managed:.2} (ignoring the profile: {naive:.2})");
    assert!(
        managed < MAX_MEAN_DELTA_E,
        "{name}: mean ΔE76 {managed:.2} against the reference"
    );
    (managed, naive)
}

#[test]
fn rgb_profiles_in_jpeg_are_converted_to_srgb() {
    // The photo is a real scene with mostly muted colours; the chart has
    // the saturated ones, where ignoring a wide-gamut profile shows most.
    for (source, pixels) in [("photo", photo()), ("chart", rgb(256, 256))] {
        for space in [&SRGB, &DISPLAY_P3, &ADOBE_RGB] {
            let pixels = DynamicImage::ImageRgb8(space.image_from_srgb(&pixels));
            let icc = (space.profile)().encode().expect("profile encodes");
            let original = with_icc(&jpeg_of(&pixels, 95), &icc);
            let decoded = decode(&original).to_rgb8();
            let name = format!("{} JPEG ({source})", space.name);
            let (managed, naive) = check(&name, &original, &decoded, space);
            if space.name != "sRGB" {
                assert!(
                    naive > 3.0 * managed,
                    "{name}: the profile made no difference"
                );
                if source == "chart" {
                    assert!(naive > MAX_MEAN_DELTA_E, "{name}: the bound cannot fail");
                }
            }
        }
    }
}

#[test]
fn rgb_profiles_in_png_are_converted_to_srgb_at_16_bits() {
    let photo = photo();
    for space in [&DISPLAY_P3, &ADOBE_RGB] {
        let pixels = space.image_from_srgb(&photo);
        let icc = (space.profile)().encode().expect("profile encodes");
        let eight = png_with_icc(&DynamicImage::ImageRgb8(pixels.clone()), &icc);
        check(&format!("{} PNG", space.name), &eight, &pixels, space);
        let deep = DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(pixels.clone()).to_rgb16());
        let deep = png_with_icc(&deep, &icc);
        check(&format!("{} 16-bit PNG", space.name), &deep, &pixels, space);
    }
}

#[test]
fn srgb_tagged_and_untagged_originals_come_out_the_same() {
    let photo = DynamicImage::ImageRgb8(photo());
    let plain = jpeg_of(&photo, 90);
    let icc = ColorProfile::new_srgb().encode().expect("profile encodes");
    let tagged = with_icc(&plain, &icc);
    for options in ["width=200,format=png", "width=200"] {
        assert_eq!(
            ok(&plain, options).bytes,
            ok(&tagged, options).bytes,
            "{options}"
        );
    }
}

#[test]
fn broken_profiles_are_ignored() {
    let photo = DynamicImage::ImageRgb8(photo());
    let plain = jpeg_of(&photo, 90);
    let broken = with_icc(&plain, b"not a profile at all");
    assert_eq!(
        ok(&plain, "width=100,format=png").bytes,
        ok(&broken, "width=100,format=png").bytes
    );
}

// CMYK: a made-up press whose profile is written here, so the reference is
// exact: inks → linear-light sRGB reflectance by `press`, then sRGB.

/// Each ink absorbs mostly its own third of the spectrum and a little of
/// the others; black absorbs everything. Linear light, so it differs
/// clearly from the naive `(1 − C)(1 − K)` on gamma-encoded values.
fn press(ink: [f64; 4]) -> [f64; 3] {
    let [c, m, y, k] = ink;
    let black = 1.0 - 0.92 * k;
    [
        (1.0 - 0.97 * c) * (1.0 - 0.10 * m) * (1.0 - 0.02 * y) * black,
        (1.0 - 0.15 * c) * (1.0 - 0.95 * m) * (1.0 - 0.05 * y) * black,
        (1.0 - 0.05 * c) * (1.0 - 0.20 * m) * (1.0 - 0.93 * y) * black,
    ]
}

/// Lab (D50, the ICC connection space) of linear sRGB.
fn lab_d50(linear: [f64; 3]) -> [f64; 3] {
    const SRGB_D50: Matrix = [
        [0.436_074_7, 0.385_064_9, 0.143_080_4],
        [0.222_504_5, 0.716_878_6, 0.060_616_9],
        [0.013_932_2, 0.097_104_5, 0.714_173_3],
    ];
    let xyz = mul(&SRGB_D50, linear);
    let white = [0.9642, 1.0, 0.8249];
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let [fx, fy, fz] = [0, 1, 2].map(|i| f(xyz[i] / white[i]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// An ICC v2 output profile for `press`: CMYK → Lab as a lut16 (A2B0)
/// with `grid` points per ink, its Lab in the v2 16-bit encoding.
fn press_profile(grid: usize) -> Vec<u8> {
    let be16 = |v: u16| v.to_be_bytes();
    let be32 = |v: u32| v.to_be_bytes();
    let fixed = |v: f64| be32((v * 65536.0).round() as i32 as u32);

    let mut lut = b"mft2\0\0\0\0".to_vec();
    lut.extend_from_slice(&[4, 3, grid as u8, 0]);
    for (i, j) in (0..3).flat_map(|i| (0..3).map(move |j| (i, j))) {
        lut.extend_from_slice(&fixed(if i == j { 1.0 } else { 0.0 }));
    }
    lut.extend_from_slice(&be16(2));
    lut.extend_from_slice(&be16(2));
    for _ in 0..4 {
        lut.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    }
    let step = (grid - 1) as f64;
    for index in 0..grid.pow(4) {
        // The first ink varies slowest.
        let ink = [3, 2, 1, 0]
            .map(|p| (index / grid.pow(p)) % grid)
            .map(|n| n as f64 / step);
        let [l, a, b] = lab_d50(press(ink));
        let encode_l = (l / 100.0 * 65280.0).round().clamp(0.0, 65535.0) as u16;
        let encode_ab = |v: f64| ((v + 128.0) * 256.0).round().clamp(0.0, 65535.0) as u16;
        lut.extend_from_slice(&be16(encode_l));
        lut.extend_from_slice(&be16(encode_ab(a)));
        lut.extend_from_slice(&be16(encode_ab(b)));
    }
    for _ in 0..3 {
        lut.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    }

    let mut wtpt = b"XYZ \0\0\0\0".to_vec();
    for v in [0.9642, 1.0, 0.8249] {
        wtpt.extend_from_slice(&fixed(v));
    }

    let tags: [(&[u8; 4], &Vec<u8>); 2] = [(b"A2B0", &lut), (b"wtpt", &wtpt)];
    let table_len = 4 + 12 * tags.len();
    let mut offset = 128 + table_len;
    let mut table = be32(tags.len() as u32).to_vec();
    let mut data = Vec::new();
    for (signature, tag) in tags {
        table.extend_from_slice(signature.as_slice());
        table.extend_from_slice(&be32(offset as u32));
        table.extend_from_slice(&be32(tag.len() as u32));
        data.extend_from_slice(tag);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        offset = 128 + table_len + data.len();
    }
    let size = 128 + table_len + data.len();
    let mut header = Vec::with_capacity(128);
    header.extend_from_slice(&be32(size as u32));
    header.extend_from_slice(&[0; 4]);
    header.extend_from_slice(&be32(0x0210_0000));
    header.extend_from_slice(b"prtrCMYKLab ");
    header.extend_from_slice(&[0; 12]);
    header.extend_from_slice(b"acsp");
    header.extend_from_slice(&[0; 24]);
    header.extend_from_slice(&be32(0)); // perceptual
    for v in [0.9642, 1.0, 0.8249] {
        header.extend_from_slice(&fixed(v));
    }
    header.resize(128, 0);
    [header, table, data].concat()
}

/// Inks for the photo: complements with half the grey taken over by black.
fn inks(photo: &RgbImage) -> Vec<u8> {
    photo
        .pixels()
        .flat_map(|p| {
            let [c, m, y] = p.0.map(|v| 255 - v);
            let k = c.min(m).min(y) / 2;
            [c - k, m - k, y - k, k]
        })
        .collect()
}

/// A 4:4:4 quality-100 CMYK JPEG from libjpeg-turbo. `adobe`: stored the
/// Photoshop way (YCCK, inverted, with the Adobe marker); otherwise plain
/// CMYK, not inverted, and the Adobe marker removed.
fn cmyk_jpeg(inks: &[u8], width: u32, height: u32, adobe: bool) -> Vec<u8> {
    use std::os::raw::c_int;
    use turbojpeg_sys as tj;

    let stored: Vec<u8> = if adobe {
        inks.iter().map(|v| 255 - v).collect()
    } else {
        inks.to_vec()
    };
    // SAFETY: the handle is checked and destroyed below; the pixel buffer
    // holds width × height CMYK pixels; the output is allocated by
    // libjpeg-turbo, copied and freed once.
    let jpeg = unsafe {
        let handle = tj::tj3Init(tj::TJINIT_TJINIT_COMPRESS as c_int);
        assert!(!handle.is_null());
        tj::tj3Set(handle, tj::TJPARAM_TJPARAM_QUALITY as c_int, 100);
        tj::tj3Set(
            handle,
            tj::TJPARAM_TJPARAM_SUBSAMP as c_int,
            tj::TJSAMP_TJSAMP_444 as c_int,
        );
        let colourspace = if adobe {
            tj::TJCS_TJCS_YCCK
        } else {
            tj::TJCS_TJCS_CMYK
        };
        tj::tj3Set(
            handle,
            tj::TJPARAM_TJPARAM_COLORSPACE as c_int,
            colourspace as c_int,
        );
        let mut buffer: *mut u8 = std::ptr::null_mut();
        let mut size: tj::size_t = 0;
        let status = tj::tj3Compress8(
            handle,
            stored.as_ptr(),
            width as c_int,
            0,
            height as c_int,
            tj::TJPF_TJPF_CMYK as c_int,
            &mut buffer,
            &mut size,
        );
        assert_eq!(status, 0);
        let out = std::slice::from_raw_parts(buffer, size as usize).to_vec();
        tj::tj3Free(buffer.cast());
        tj::tj3Destroy(handle);
        out
    };
    if adobe {
        return jpeg;
    }
    strip_adobe_marker(&jpeg)
}

fn strip_adobe_marker(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA {
        let length = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        let segment = &jpeg[pos..pos + 2 + length];
        if !(jpeg[pos + 1] == 0xEE && segment[4..].starts_with(b"Adobe")) {
            out.extend_from_slice(segment);
        }
        pos += 2 + length;
    }
    out.extend_from_slice(&jpeg[pos..]);
    out
}

fn has_adobe_marker(jpeg: &[u8]) -> bool {
    jpeg.windows(9).any(|w| w == b"\xFF\xEE\0\x0EAdobe")
}

fn cmyk_check(name: &str, original: &[u8], reference: &[[f64; 3]], naive: &[[f64; 3]]) {
    let output = decode(&ok(original, "format=png").bytes).to_rgb8();
    let managed = mean_delta_e(&output, reference);
    let against_naive = mean_delta_e(&output, naive);
    eprintln!(
        "{name}: mean ΔE76 {managed:.2} against the reference, {against_naive:.2} against the naive conversion"
    );
    assert!(managed < MAX_MEAN_DELTA_E, "{name}: mean ΔE76 {managed:.2}");
}

#[test]
fn cmyk_jpegs_with_a_profile_use_it_inverted_or_not() {
    let photo = photo();
    let (width, height) = photo.dimensions();
    let inks = inks(&photo);
    let reference: Vec<[f64; 3]> = inks
        .chunks_exact(4)
        .map(|ink| {
            press([0, 1, 2, 3].map(|i| f64::from(ink[i]) / 255.0))
                .map(|v| linear_to_srgb(v) * 255.0)
        })
        .collect();
    let naive: Vec<[f64; 3]> = inks
        .chunks_exact(4)
        .map(|ink| [0, 1, 2].map(|i| f64::from(255 - ink[i]) * f64::from(255 - ink[3]) / 255.0))
        .collect();
    let profile = press_profile(17);
    assert!(profile.len() > 65_519, "the profile spans several segments");
    for adobe in [true, false] {
        let jpeg = cmyk_jpeg(&inks, width, height, adobe);
        assert_eq!(has_adobe_marker(&jpeg), adobe);
        let name = if adobe {
            "Adobe YCCK JPEG"
        } else {
            "plain CMYK JPEG"
        };
        cmyk_check(
            &format!("{name} with profile"),
            &with_icc(&jpeg, &profile),
            &reference,
            &naive,
        );
        // Without a profile: the naive conversion browsers use.
        cmyk_check(
            &format!("{name} without profile"),
            &jpeg,
            &naive,
            &reference,
        );
    }
    // The reference and the naive conversion are far apart, so the checks
    // above tell them apart.
    let apart: f64 = reference
        .iter()
        .zip(&naive)
        .map(|(a, b)| delta_e(*a, *b))
        .sum::<f64>()
        / reference.len() as f64;
    assert!(apart > 3.0 * MAX_MEAN_DELTA_E, "{apart}");
}

#[test]
fn cmyk_jpegs_shrink_on_load_and_resize() {
    let photo = photo();
    let (width, height) = photo.dimensions();
    let jpeg = with_icc(
        &cmyk_jpeg(&inks(&photo), width, height, true),
        &press_profile(9),
    );
    let output = ok(&jpeg, "width=100");
    assert_eq!(output.format, image_engine::ImageFormat::Jpeg);
    assert_eq!(output.width, 100);
    let decoded = decode(&output.bytes);
    assert_eq!(decoded.color(), image::ColorType::Rgb8, "RGB JPEG out");
}
