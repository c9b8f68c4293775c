//! Formats through nginx: TIFF, BMP, AVIF and HEIC originals, `format=json`,
//! `metadata=`, progressive and baseline JPEG, quality levels, PNG8,
//! lossless WebP, `compression=fast`, and colour-managed originals.

mod common;
#[path = "../engine/tests/common/item_property.rs"]
mod item_property;

use common::*;
use image::{DynamicImage, ImageEncoder, RgbImage};

/// `/img/NAME?o=OPTIONS` transforms `{MINE}/NAME` with the options given
/// whole in the query (commas and all), like an operator exposing every
/// option.
const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {MINE}/;
        image_transform "$arg_o";
    }
}
"#;

/// A photo-like image: smooth gradients and some texture.
fn photo() -> RgbImage {
    RgbImage::from_fn(320, 240, |x, y| {
        let grain = ((x * 7 + y * 13) % 17) as u8;
        image::Rgb([
            (x * 255 / 320) as u8 / 2 + grain,
            (y * 255 / 240) as u8 / 2 + 40,
            ((x + y) % 200) as u8 / 2 + 30,
        ])
    })
}

fn encode(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

fn jpeg() -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(photo()), image::ImageFormat::Jpeg)
}

/// The photo as a JPEG with EXIF (copyright, orientation 1) and XMP.
fn jpeg_with_metadata() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0\x02\0".to_vec();
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    tiff.extend_from_slice(&[0x98, 0x82, 2, 0, 12, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&[0; 4]);
    tiff.extend_from_slice(b"(c) Someone\0");
    let segments = [
        [b"Exif\0\0".to_vec(), tiff].concat(),
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta where=\"secret place\"/>".to_vec(),
    ];
    insert_app(&jpeg(), 0xE1, &segments)
}

fn insert_app(jpeg: &[u8], marker: u8, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for payload in payloads {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A flat, saturated Display P3 green, tagged with a Display P3 profile.
fn display_p3_jpeg() -> Vec<u8> {
    let green = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 64, image::Rgb([40, 200, 60])));
    let icc = moxcms::ColorProfile::new_display_p3()
        .encode()
        .expect("profile");
    let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
    payload.extend_from_slice(&icc);
    insert_app(&encode(&green, image::ImageFormat::Jpeg), 0xE2, &[payload])
}

fn png16() -> Vec<u8> {
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(256, 16, |x, _| {
        let v = 20_000 + x as u16 * 40;
        image::Rgb([v, v, v])
    }));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(deep.as_bytes(), 256, 16, deep.color().into())
        .expect("png");
    out
}

struct Server {
    nginx: Nginx,
    _files: TempDir,
}

fn start() -> Server {
    let files = TempDir::new("ngx-image-formats");
    let dir = files.path();
    let photo = DynamicImage::ImageRgb8(photo());
    for (name, bytes) in [
        ("photo.jpg", jpeg()),
        ("meta.jpg", jpeg_with_metadata()),
        ("p3.jpg", display_p3_jpeg()),
        ("photo.tif", encode(&photo, image::ImageFormat::Tiff)),
        ("photo.bmp", encode(&photo, image::ImageFormat::Bmp)),
        ("deep.png", png16()),
    ] {
        std::fs::write(dir.join(name), bytes).expect("write fixture");
    }
    let conf = CONF.replace("{MINE}", &dir.display().to_string());
    Server {
        nginx: Nginx::start(&conf),
        _files: files,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn json_reports_sizes_as_application_json() {
    let server = start();
    let resp = server.nginx.get("/img/photo.jpg?o=width=100,format=json");
    resp.assert_status(200);
    assert_eq!(
        resp.content_type(),
        Some("application/json"),
        "{}",
        resp.describe()
    );
    let value: serde_json::Value = serde_json::from_slice(&resp.body).expect("JSON body");
    assert_eq!(value["width"], 100);
    assert_eq!(value["height"], 75);
    assert_eq!(value["format"], "image/jpeg");
    assert_eq!(value["original"]["width"], 320);
    assert_eq!(value["original"]["height"], 240);
    assert_eq!(value["original"]["format"], "image/jpeg");
    assert_eq!(value["original"]["bytes"], jpeg().len());
    // A bad option is still the usual 400, not JSON about an image.
    server
        .nginx
        .get("/img/photo.jpg?o=format=jsn")
        .assert_status(400);
    server.nginx.assert_log_clean();
}

#[test]
fn metadata_keep_copyright_none() {
    let server = start();
    let get = |options: &str| {
        server
            .nginx
            .get(&format!("/img/meta.jpg?o=width=100,{options}"))
    };
    let default = get("");
    assert_transformed(&default, "image/jpeg");
    assert!(contains(&default.body, b"(c) Someone"));
    assert!(!contains(&default.body, b"secret place"));
    let keep = get("metadata=keep");
    assert!(contains(&keep.body, b"(c) Someone"));
    assert!(contains(&keep.body, b"secret place"));
    let none = get("metadata=none");
    assert!(!contains(&none.body, b"Someone"));
    assert!(!contains(&none.body, b"secret place"));
    get("metadata=all").assert_status(400);
    server.nginx.assert_log_clean();
}

#[test]
fn tiff_and_bmp_originals_become_jpeg() {
    let server = start();
    for name in ["photo.tif", "photo.bmp"] {
        let resp = server.nginx.get(&format!("/img/{name}?o=width=160"));
        let (format, w, h) = assert_transformed(&resp, "image/jpeg");
        assert_eq!(
            (format, w, h),
            (image::ImageFormat::Jpeg, 160, 120),
            "{name}"
        );
        let resp = server
            .nginx
            .get(&format!("/img/{name}?o=width=80,format=webp"));
        assert_transformed(&resp, "image/webp");
    }
    server.nginx.assert_log_clean();
}

#[test]
fn avif_originals_are_read_back() {
    let server = start();
    // The module's own AVIF output becomes an original of the location.
    let avif = server.nginx.get("/img/photo.jpg?o=format=avif");
    avif.assert_status(200);
    assert_eq!(avif.content_type(), Some("image/avif"));
    std::fs::write(server._files.path().join("photo.avif"), &avif.body).expect("write AVIF");

    let resp = server.nginx.get("/img/photo.avif?o=width=160,format=jpeg");
    let (format, w, h) = assert_transformed(&resp, "image/jpeg");
    assert_eq!((format, w, h), (image::ImageFormat::Jpeg, 160, 120));
    // Without `format`, an AVIF original stays AVIF.
    let resp = server.nginx.get("/img/photo.avif?o=width=160");
    resp.assert_status(200);
    assert_eq!(
        resp.content_type(),
        Some("image/avif"),
        "{}",
        resp.describe()
    );
    let json = server.nginx.get("/img/photo.avif?o=width=160,format=json");
    json.assert_status(200);
    let value: serde_json::Value = serde_json::from_slice(&json.body).expect("JSON body");
    assert_eq!(value["original"]["format"], "image/avif");
    assert_eq!(value["original"]["width"], 320);
    assert_eq!(value["height"], 120);
    // An `irot` property (a quarter turn anticlockwise) is applied: the
    // 16-byte `pixi` property is overwritten by a 16-byte `irot`, so no
    // offset in the file moves.
    let pixi = avif
        .body
        .windows(8)
        .position(|w| w == b"\0\0\0\x10pixi")
        .expect("the module's AVIF has a pixi property");
    let mut turned = avif.body.clone();
    turned[pixi + 4..pixi + 16].copy_from_slice(b"irot\x01\0\0\0\0\0\0\0");
    std::fs::write(server._files.path().join("turned.avif"), &turned).expect("write AVIF");
    let json = server.nginx.get("/img/turned.avif?o=format=json");
    json.assert_status(200);
    let value: serde_json::Value = serde_json::from_slice(&json.body).expect("JSON body");
    assert_eq!(
        (&value["width"], &value["height"]),
        (&240.into(), &320.into())
    );
    let resp = server.nginx.get("/img/turned.avif?o=width=120,format=png");
    let (format, w, h) = assert_transformed(&resp, "image/png");
    assert_eq!((format, w, h), (image::ImageFormat::Png, 120, 160));
    // A damaged property is a corrupt original.
    turned[pixi + 3] = 8;
    std::fs::write(server._files.path().join("bad-irot.avif"), &turned).expect("write AVIF");
    let resp = server.nginx.get("/img/bad-irot.avif?o=width=100");
    resp.assert_status(400);
    // A damaged AVIF is the usual error for a corrupt original.
    let cut = &avif.body[..avif.body.len() / 2];
    std::fs::write(server._files.path().join("cut.avif"), cut).expect("write AVIF");
    let resp = server.nginx.get("/img/cut.avif?o=width=100");
    assert!(
        resp.status >= 400,
        "a truncated AVIF must fail: {}",
        resp.describe()
    );
}

#[test]
fn avif_clean_aperture_is_applied() {
    let server = start();
    // The module's own 320×240 AVIF with a `clap` keeping its top-left
    // 160×120 quadrant.
    let avif = server.nginx.get("/img/photo.jpg?o=format=avif,quality=95");
    avif.assert_status(200);
    let clap = item_property::clap((160, 1), (120, 1), (-80, 1), (-60, 1));
    let cropped = item_property::with_property(&avif.body, &clap);
    std::fs::write(server._files.path().join("clap.avif"), &cropped).expect("write AVIF");
    let json = server.nginx.get("/img/clap.avif?o=format=json");
    json.assert_status(200);
    let value: serde_json::Value = serde_json::from_slice(&json.body).expect("JSON body");
    assert_eq!(
        (&value["original"]["width"], &value["original"]["height"]),
        (&160.into(), &120.into())
    );
    let resp = server.nginx.get("/img/clap.avif?o=format=png");
    let (format, w, h) = assert_transformed(&resp, "image/png");
    assert_eq!((format, w, h), (image::ImageFormat::Png, 160, 120));
    // The pixels are the photo's top-left quadrant.
    let got = image::load_from_memory(&resp.body).expect("PNG").to_rgb8();
    let expected = DynamicImage::ImageRgb8(photo())
        .crop_imm(0, 0, 160, 120)
        .to_rgb8();
    let total: u64 = got
        .as_raw()
        .iter()
        .zip(expected.as_raw())
        .map(|(p, q)| u64::from(p.abs_diff(*q)))
        .sum();
    let off = total as f64 / got.as_raw().len() as f64;
    assert!(off < 6.0, "the cropped AVIF is off by {off:.2}");
    // An aperture outside the image is a corrupt original.
    let outside = item_property::clap((160, 1), (120, 1), (81, 1), (0, 1));
    let bad = item_property::with_property(&avif.body, &outside);
    std::fs::write(server._files.path().join("bad-clap.avif"), &bad).expect("write AVIF");
    server
        .nginx
        .get("/img/bad-clap.avif?o=width=100")
        .assert_status(400);
    server.nginx.assert_log_clean();
}

/// The photo as HEIC, written by libheif's `heif-enc` (scripts/setup.sh
/// installs it), or `None` with a note when it is not installed.
fn heic_of(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let png = dir.join("for-heic.png");
    std::fs::write(
        &png,
        encode(&DynamicImage::ImageRgb8(photo()), image::ImageFormat::Png),
    )
    .expect("write PNG");
    let heic = dir.join("photo.heic");
    let made = std::process::Command::new("heif-enc")
        .args(["-q", "90", "-o"])
        .arg(&heic)
        .arg(&png)
        .output();
    match made {
        Ok(out) if out.status.success() => Some(heic),
        _ => {
            eprintln!("skipping the HEIC request: heif-enc (libheif-examples) is not installed");
            None
        }
    }
}

#[test]
fn heic_originals_are_transformed() {
    let server = start();
    let Some(heic) = heic_of(server._files.path()) else {
        return;
    };
    let resp = server.nginx.get("/img/photo.heic?o=width=160");
    let (format, w, h) = assert_transformed(&resp, "image/jpeg");
    assert_eq!((format, w, h), (image::ImageFormat::Jpeg, 160, 120));
    let json = server.nginx.get("/img/photo.heic?o=width=160,format=json");
    json.assert_status(200);
    let value: serde_json::Value = serde_json::from_slice(&json.body).expect("JSON body");
    assert_eq!(value["original"]["format"], "image/heic");
    assert_eq!(value["original"]["width"], 320);
    // A truncated HEIC is a corrupt original.
    let bytes = std::fs::read(&heic).expect("read HEIC");
    let cut = &bytes[..bytes.len() / 2];
    std::fs::write(server._files.path().join("cut.heic"), cut).expect("write HEIC");
    server
        .nginx
        .get("/img/cut.heic?o=width=100")
        .assert_status(400);
    server.nginx.assert_log_clean();
}

#[test]
fn jpeg_output_options() {
    let server = start();
    let get = |options: &str| {
        server
            .nginx
            .get(&format!("/img/photo.jpg?o=width=200,{options}"))
    };
    let progressive = get("format=jpeg");
    assert_transformed(&progressive, "image/jpeg");
    assert!(
        contains(&progressive.body, &[0xFF, 0xC2]),
        "progressive SOF2"
    );
    for options in ["format=baseline-jpeg", "compression=fast"] {
        let baseline = get(options);
        assert_transformed(&baseline, "image/jpeg");
        assert!(
            !contains(&baseline.body, &[0xFF, 0xC2]),
            "{options}: baseline"
        );
    }
    let high = get("quality=high").body.len();
    let low = get("quality=low").body.len();
    assert!(high > low, "high {high} vs low {low}");
    get("quality=best").assert_status(400);
    get("compression=slow").assert_status(400);
    server.nginx.assert_log_clean();
}

#[test]
fn png8_and_lossless_webp() {
    let server = start();
    let full = server.nginx.get("/img/photo.jpg?o=width=200,format=png");
    let palette = server
        .nginx
        .get("/img/photo.jpg?o=width=200,format=png,quality=70");
    assert_transformed(&full, "image/png");
    assert_transformed(&palette, "image/png");
    assert_eq!(
        (full.body[25], palette.body[25]),
        (2, 3),
        "RGB, then indexed"
    );
    assert!(palette.body.len() < full.body.len());
    let lossless = server
        .nginx
        .get("/img/photo.jpg?o=width=200,format=webp,quality=100");
    assert_transformed(&lossless, "image/webp");
    assert!(contains(&lossless.body, b"VP8L"));
    server.nginx.assert_log_clean();
}

#[test]
fn display_p3_originals_are_converted_to_srgb() {
    let server = start();
    let resp = server.nginx.get("/img/p3.jpg?o=width=32,format=png");
    assert_transformed(&resp, "image/png");
    let out = image::load_from_memory(&resp.body).expect("png").to_rgb8();
    let pixel = out.get_pixel(16, 16).0;
    // Display P3 (40, 200, 60) is sRGB (≈ 0, 203, 44): red and blue drop.
    // Ignoring the profile would keep (40, 200, 60).
    assert!(
        pixel[0] < 15 && pixel[2] < 52 && pixel[1] > 195,
        "{pixel:?}"
    );
    // 16-bit PNGs go through as well.
    let deep = server.nginx.get("/img/deep.png?o=width=128");
    let (_, w, h) = assert_transformed(&deep, "image/png");
    assert_eq!((w, h), (128, 8));
    server.nginx.assert_log_clean();
}

/// `image_jpeg_quality` and its siblings: per-format defaults when the
/// request gives no `quality`, inherited from the server level, beaten
/// by a requested `quality`.
const QUALITY_CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    image_jpeg_quality 40;
    location /default/ {
        alias {MINE}/;
        image_jpeg_quality 85;
        image_webp_quality 85;
        image_transform "$arg_o";
    }
    location /low/ {
        alias {MINE}/;
        image_webp_quality 40;
        image_transform "$arg_o";
    }
}
"#;

#[test]
fn per_format_default_qualities() {
    let files = TempDir::new("ngx-image-quality");
    std::fs::write(files.path().join("photo.jpg"), jpeg()).expect("write fixture");
    let conf = QUALITY_CONF.replace("{MINE}", &files.path().display().to_string());
    let nginx = Nginx::start(&conf);
    let size = |path: &str, content_type: &str| {
        let resp = nginx.get(path);
        assert_transformed(&resp, content_type);
        resp.body.len()
    };
    for (format, content_type) in [("jpeg", "image/jpeg"), ("webp", "image/webp")] {
        let default = size(
            &format!("/default/photo.jpg?o=width=300,format={format}"),
            content_type,
        );
        let low = size(
            &format!("/low/photo.jpg?o=width=300,format={format}"),
            content_type,
        );
        assert!(
            low * 10 < default * 8,
            "{format}: quality 40 gives {low} bytes, 85 gives {default}"
        );
        // A requested quality wins over the location's default.
        let requested = size(
            &format!("/low/photo.jpg?o=width=300,format={format},quality=85"),
            content_type,
        );
        assert_eq!(requested, default, "{format}");
    }
    nginx.assert_log_clean();

    for bad in ["0", "101", "high", "-5"] {
        let conf = format!("server {{ location / {{ image_jpeg_quality {bad}; }} }}");
        let (ok, log) = Nginx::test_config(&conf);
        assert!(!ok, "image_jpeg_quality {bad} must be refused");
        assert!(log.contains("invalid image quality"), "{log}");
    }
    let (ok, log) = Nginx::test_config(
        "server { location / { image_avif_quality 50; image_avif_quality 60; } }",
    );
    assert!(!ok && log.contains("is duplicate"), "{log}");
}
