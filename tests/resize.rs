//! Resizing static files: dimensions of every fit mode, format conversion,
//! response headers.

mod common;

use common::fixtures::{PHOTO, WEBP};
use common::*;
use image::{GenericImageView, ImageFormat};

/// `/img/NAME?w=&h=&fit=&f=&q=` transforms `{FIXTURES}/NAME`;
/// `/raw/NAME` serves it untouched.
const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f,quality=$arg_q";
    }
    location /raw/ {
        alias {FIXTURES}/;
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

#[test]
fn static_resize_has_right_size_and_headers() {
    let nginx = start();
    let resp = nginx.get("/img/photo.jpg?w=200");
    let (format, w, h) = assert_transformed(&resp, "image/jpeg");
    assert_eq!((format, w, h), (ImageFormat::Jpeg, 200, 150));
    assert!(
        resp.body.len() < fixture("photo.jpg").len(),
        "a 200×150 JPEG should be smaller than the 800×600 original"
    );

    // The same file through a location without the module keeps its
    // original headers: the checks above are about the module.
    let raw = nginx.get("/raw/photo.jpg");
    raw.assert_status(200);
    assert!(raw.header("etag").is_some(), "{}", raw.describe());
    assert_eq!(raw.body, fixture("photo.jpg"));
}

#[test]
fn width_or_height_alone_keeps_aspect_ratio() {
    let nginx = start();
    let (_, w, h) = assert_transformed(&nginx.get("/img/photo.jpg?w=400"), "image/jpeg");
    assert_eq!((w, h), (400, 300));
    let (_, w, h) = assert_transformed(&nginx.get("/img/photo.jpg?h=150"), "image/jpeg");
    assert_eq!((w, h), (200, 150));
}

#[test]
fn no_options_keeps_format_and_size() {
    let nginx = start();
    let (format, w, h) = assert_transformed(&nginx.get("/img/photo.jpg"), "image/jpeg");
    assert_eq!((format, w, h), (ImageFormat::Jpeg, PHOTO.0, PHOTO.1));
}

/// (options, expected width, expected height) for the 800×600 photo.
const FIT_CASES: &[(&str, u32, u32)] = &[
    // scale-down (the default): shrinks to fit, never enlarges.
    ("w=400&h=400", 400, 300),
    ("w=400&h=400&fit=scale-down", 400, 300),
    ("w=1600&h=1600&fit=scale-down", 800, 600),
    // contain: fits inside the box, may enlarge.
    ("w=400&h=400&fit=contain", 400, 300),
    ("w=1600&h=1600&fit=contain", 1600, 1200),
    // cover: fills the box exactly, may enlarge.
    ("w=300&h=300&fit=cover", 300, 300),
    ("w=1000&h=900&fit=cover", 1000, 900),
    // crop: like cover when the image is larger than the box...
    ("w=300&h=300&fit=crop", 300, 300),
    // ...and like scale-down when it is smaller.
    ("w=1000&h=1000&fit=crop", 800, 600),
    // pad: contain, then filled up to exactly the box.
    ("w=400&h=400&fit=pad", 400, 400),
    // squeeze: exactly the box, aspect ratio ignored.
    ("w=300&h=300&fit=squeeze", 300, 300),
    ("w=1000&h=200&fit=squeeze", 1000, 200),
];

#[test]
fn every_fit_mode_has_the_right_geometry() {
    let nginx = start();
    let mut failures = Vec::new();
    for &(args, ew, eh) in FIT_CASES {
        let resp = nginx.get(&format!("/img/photo.jpg?{args}"));
        if resp.status != 200 {
            failures.push(format!("{args}: status {}: {}", resp.status, resp.text()));
            continue;
        }
        match decode(&resp.body) {
            Ok((_, w, h)) if (w, h) == (ew, eh) => {}
            Ok((_, w, h)) => failures.push(format!("{args}: got {w}×{h}, want {ew}×{eh}")),
            Err(e) => failures.push(format!("{args}: undecodable body: {e}")),
        }
    }
    assert!(failures.is_empty(), "fit modes:\n{}", failures.join("\n"));
}

#[test]
fn pad_fills_with_the_default_white_background() {
    let nginx = start();
    // 800×600 contained in 400×400 is 400×300: 50 rows of padding above and
    // below.
    let resp = nginx.get("/img/photo.jpg?w=400&h=400&fit=pad&f=png");
    assert_transformed(&resp, "image/png");
    let img = decode_image(&resp.body).to_rgba8();
    assert_eq!(img.dimensions(), (400, 400));
    for (x, y) in [(200, 5), (10, 20), (390, 395)] {
        let px = img.get_pixel(x, y).0;
        assert!(
            px[0] > 240 && px[1] > 240 && px[2] > 240 && px[3] == 255,
            "padding at ({x},{y}) should be opaque white, is {px:?}"
        );
    }
    // The middle is the photo, not padding.
    let mid = img.get_pixel(200, 200).0;
    assert!(
        !(mid[0] > 240 && mid[1] > 240 && mid[2] > 240),
        "centre is white: {mid:?}"
    );
}

#[test]
fn converts_to_every_output_format() {
    let nginx = start();
    for (f, content_type, expected) in [
        ("jpeg", "image/jpeg", ImageFormat::Jpeg),
        ("png", "image/png", ImageFormat::Png),
        ("gif", "image/gif", ImageFormat::Gif),
        ("webp", "image/webp", ImageFormat::WebP),
    ] {
        for source in [
            "photo.jpg",
            "photo.png",
            "alpha.png",
            "pic.webp",
            "anim.gif",
        ] {
            let resp = nginx.get(&format!("/img/{source}?w=100&f={f}"));
            let (format, w, _) = assert_transformed(&resp, content_type);
            assert_eq!(format, expected, "{source} → {f}");
            assert_eq!(w, 100, "{source} → {f}");
        }
    }
}

#[test]
fn absent_format_keeps_the_input_format() {
    let nginx = start();
    for (source, content_type, expected) in [
        ("photo.jpg", "image/jpeg", ImageFormat::Jpeg),
        ("photo.png", "image/png", ImageFormat::Png),
        ("alpha.png", "image/png", ImageFormat::Png),
        ("pic.webp", "image/webp", ImageFormat::WebP),
        ("anim.gif", "image/gif", ImageFormat::Gif),
    ] {
        let resp = nginx.get(&format!("/img/{source}?w=80"));
        let (format, w, _) = assert_transformed(&resp, content_type);
        assert_eq!((format, w), (expected, 80), "{source}");
    }
}

#[test]
fn webp_source_resizes() {
    let nginx = start();
    let (_, w, h) = assert_transformed(&nginx.get("/img/pic.webp?w=200"), "image/webp");
    assert_eq!((w, h), (200, WEBP.1 * 200 / WEBP.0));
}

#[test]
fn transparency_survives_png_to_webp_and_is_flattened_into_jpeg() {
    let nginx = start();

    let resp = nginx.get("/img/alpha.png?w=320&f=webp");
    assert_transformed(&resp, "image/webp");
    let img = decode_image(&resp.body);
    assert!(img.color().has_alpha(), "WebP lost the alpha channel");
    let rgba = img.to_rgba8();
    assert_eq!(rgba.dimensions(), (320, 240));
    assert!(
        rgba.get_pixel(2, 2).0[3] < 10,
        "corner should stay transparent"
    );
    assert!(
        rgba.get_pixel(160, 120).0[3] > 245,
        "centre should stay opaque"
    );

    // JPEG has no alpha: transparent areas become the background (white).
    let resp = nginx.get("/img/alpha.png?w=320&f=jpeg");
    assert_transformed(&resp, "image/jpeg");
    let img = decode_image(&resp.body);
    let corner = img.get_pixel(2, 2).0;
    assert!(
        corner[0] > 235 && corner[1] > 235 && corner[2] > 235,
        "transparent corner should be flattened onto white, is {corner:?}"
    );
}

#[test]
fn quality_changes_the_size() {
    let nginx = start();
    let low = nginx.get("/img/photo.jpg?w=400&q=10");
    let high = nginx.get("/img/photo.jpg?w=400&q=95");
    assert_transformed(&low, "image/jpeg");
    assert_transformed(&high, "image/jpeg");
    assert!(
        low.body.len() * 2 < high.body.len(),
        "quality=10 ({} bytes) should be much smaller than quality=95 ({} bytes)",
        low.body.len(),
        high.body.len()
    );
}

#[test]
fn real_photos_from_the_corpus() {
    let (Some(small), Some(_)) = (corpus("photo-small.jpg"), corpus("photo-2mp.jpg")) else {
        return;
    };
    let conf = format!(
        r#"
server {{
    listen 127.0.0.1:{{PORT}};
    location /corpus/ {{
        alias {}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
    }}
}}
"#,
        small.parent().unwrap().display()
    );
    let nginx = Nginx::start(&conf);

    // 1920×1280 → 640 wide.
    let (_, w, h) = assert_transformed(&nginx.get("/corpus/photo-2mp.jpg?w=640"), "image/jpeg");
    assert_eq!(w, 640);
    assert!((426..=427).contains(&h), "height {h}");

    // 640×427 → WebP 320 wide.
    let (format, w, h) = assert_transformed(
        &nginx.get("/corpus/photo-small.jpg?w=320&f=webp"),
        "image/webp",
    );
    assert_eq!((format, w), (ImageFormat::WebP, 320));
    assert!((213..=214).contains(&h), "height {h}");

    // Cover crop to a square.
    let (_, w, h) = assert_transformed(
        &nginx.get("/corpus/photo-2mp.jpg?w=256&h=256&fit=cover&f=png"),
        "image/png",
    );
    assert_eq!((w, h), (256, 256));
}
