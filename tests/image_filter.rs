//! nginx's image_filter directives (nginx-conf/image-filter.conf and the
//! edge cases of nginx's documentation): sizes, combinations, variables,
//! `-`, `size`, `test`, the 415s and `error_page 415`, the encoding
//! directives, HEAD, GIF, and `nginx -t`'s messages.

mod common;

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use common::*;
use image::{DynamicImage, ImageBuffer, Rgb, Rgba};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// nginx-conf/image-filter.conf with the test's ports and paths.
fn example() -> Nginx {
    let conf = fs::read_to_string(Path::new(REPO).join("nginx-conf/image-filter.conf"))
        .expect("read nginx-conf/image-filter.conf");
    let conf = conf
        .replace("127.0.0.1:8080", "127.0.0.1:{PORT}")
        .replace("127.0.0.1:8081", "127.0.0.1:{ORIGIN_PORT}")
        .replace("/var/www/images/", "{FIXTURES}/");
    Nginx::start(&conf)
}

/// One server whose locations `/NAME/` serve `{DIR}/` with `directives`.
fn locations(list: &[(&str, &str)]) -> Nginx {
    let mut conf = String::from("server {\n listen 127.0.0.1:{PORT};\n");
    for (name, directives) in list {
        conf.push_str(&format!(
            " location /{name}/ {{ alias {{DIR}}/; {directives} }}\n"
        ));
    }
    conf.push_str("}\n");
    Nginx::start(&conf)
}

fn put(nginx: &Nginx, name: &str, bytes: &[u8]) {
    fs::write(nginx.dir().join(name), bytes).unwrap();
}

fn encode(image: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Left half red, right half blue.
fn halves(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255u8, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    encode(DynamicImage::ImageRgb8(image), image::ImageFormat::Png)
}

fn dims(resp: &Response) -> (u32, u32) {
    let (_, w, h) = resp.image();
    (w, h)
}

/// nginx's own error page for 415 (no JSON in this mode).
fn assert_415(resp: &Response) {
    resp.assert_status(415);
    assert_eq!(
        resp.content_type(),
        Some("text/html"),
        "{}",
        resp.describe()
    );
    assert!(
        resp.text().contains("415 Unsupported Media Type"),
        "{}",
        resp.describe()
    );
}

#[test]
fn documentation_example_thumbnail_turned_counter_clockwise() {
    let nginx = example();
    let resp = nginx.get("/img/photo.jpg");
    resp.assert_status(200);
    assert_eq!(resp.content_type(), Some("image/jpeg"));
    // 800x600 → 133x100 (resize 150 100) → turned: 100x133.
    assert_eq!(dims(&resp), (100, 133));
    assert_eq!(resp.content_length(), Some(resp.body.len()));
    nginx.assert_log_clean();
}

#[test]
fn documentation_example_error_page_415_serves_the_empty_gif() {
    let nginx = example();
    for path in ["/img/page.html", "/img/truncated-not-there.jpg"] {
        let resp = nginx.get(path);
        resp.assert_status(200);
        assert_eq!(resp.content_type(), Some("image/gif"), "{path}");
        assert_eq!(dims(&resp), (1, 1), "{path}");
    }
    nginx.assert_log_clean();
}

#[test]
fn sizes_from_variables_and_dash() {
    let nginx = example();
    let resp = nginx.get("/resize/photo.jpg?width=300&height=-");
    resp.assert_status(200);
    assert_eq!(dims(&resp), (300, 225));
    assert_eq!(
        dims(&nginx.get("/resize/photo.jpg?width=-&height=60")),
        (80, 60)
    );
    // Never enlarged: the original as it came.
    let resp = nginx.get("/resize/photo.jpg?width=2000&height=-");
    resp.assert_status(200);
    assert_eq!(resp.body, fixture("photo.jpg"));
    // A missing, zero or malformed size is a 415.
    for query in [
        "width=0&height=10",
        "height=10",
        "width=abc&height=10",
        "width=-5&height=1",
    ] {
        assert_415(&nginx.get(&format!("/resize/photo.jpg?{query}")));
    }
    nginx.assert_log_clean();
}

#[test]
fn crop_fills_the_box_and_never_enlarges() {
    let nginx = example();
    assert_eq!(
        dims(&nginx.get("/crop/photo.jpg?width=100&height=100")),
        (100, 100)
    );
    assert_eq!(
        dims(&nginx.get("/crop/photo.jpg?width=200&height=50")),
        (200, 50)
    );
    // Cut after turning: the box applies to the turned image (nginx's
    // sizes, checked against ngx_http_image_filter_module).
    for (query, size) in [
        ("width=80&height=60&angle=90", (60, 60)),
        ("width=100&height=300&angle=90", (100, 300)),
        ("width=333&height=77&angle=180", (333, 77)),
        ("width=80&height=60&angle=45", (80, 60)),
    ] {
        assert_eq!(
            dims(&nginx.get(&format!("/turn/photo.jpg?{query}"))),
            size,
            "{query}"
        );
    }
    // A side already smaller than the box stays.
    let wide = locations(&[("crop", "image_filter crop 80 80;")]);
    put(&wide, "wide.png", &halves(100, 50));
    assert_eq!(dims(&wide.get("/crop/wide.png")), (80, 50));
    nginx.assert_log_clean();
}

#[test]
fn rotation_is_counter_clockwise_and_only_quarter_turns() {
    let nginx = locations(&[
        ("rotate", "image_filter rotate $arg_angle;"),
        ("both", "image_filter rotate 90; image_filter resize 10 10;"),
    ]);
    put(&nginx, "halves.png", &halves(20, 10));
    let resp = nginx.get("/rotate/halves.png?angle=90");
    resp.assert_status(200);
    let image = decode_image(&resp.body).to_rgb8();
    assert_eq!(image.dimensions(), (10, 20));
    // The right half (blue) comes up to the top.
    assert_eq!(image.get_pixel(5, 2).0, [0, 0, 255]);
    assert_eq!(image.get_pixel(5, 17).0, [255, 0, 0]);
    assert_eq!(dims(&nginx.get("/rotate/halves.png?angle=180")), (20, 10));
    for angle in ["45", "0", "", "-"] {
        assert_415(&nginx.get(&format!("/rotate/halves.png?angle={angle}")));
    }
    // rotate before resize in the configuration: both apply (10x5, turned).
    assert_eq!(dims(&nginx.get("/both/halves.png")), (5, 10));
    nginx.assert_log_clean();
}

#[test]
fn size_answers_nginx_json_and_braces_for_a_non_image() {
    let nginx = example();
    let resp = nginx.get("/size/photo.jpg");
    resp.assert_status(200);
    assert_eq!(resp.content_type(), Some("application/json"));
    assert_eq!(
        resp.text(),
        "{ \"img\" : { \"width\": 800, \"height\": 600, \"type\": \"jpeg\" } }\r\n"
    );
    let resp = nginx.get("/size/anim.gif");
    assert!(
        resp.text().contains("\"type\": \"gif\""),
        "{}",
        resp.describe()
    );
    let resp = nginx.get("/size/page.html");
    resp.assert_status(200);
    assert_eq!(resp.content_type(), Some("application/json"));
    assert_eq!(resp.text(), "{}\r\n");
    nginx.assert_log_clean();
}

#[test]
fn test_passes_images_with_their_type_and_refuses_the_rest() {
    let nginx = example();
    let resp = nginx.get("/test/photo.jpg");
    resp.assert_status(200);
    assert_eq!(resp.content_type(), Some("image/jpeg"));
    assert_eq!(resp.body, fixture("photo.jpg"));
    assert_415(&nginx.get("/test/page.html"));
    assert_415(&nginx.get("/test/tiny.txt"));
    // The type comes from the bytes, not from the file name.
    let named = locations(&[("test", "image_filter test;")]);
    put(&named, "photo.txt", &fixture("pic.webp"));
    let resp = named.get("/test/photo.txt");
    resp.assert_status(200);
    assert_eq!(resp.content_type(), Some("image/webp"));
    nginx.assert_log_clean();
}

#[test]
fn over_the_buffer_is_a_415() {
    let nginx = locations(&[
        (
            "small",
            "image_filter resize 10 10; image_filter_buffer 10k;",
        ),
        ("default", "image_filter resize 10 10;"),
    ]);
    put(&nginx, "photo.jpg", &fixture("photo.jpg"));
    put(&nginx, "big.png", &fixture("big.png"));
    assert!(fixture("photo.jpg").len() > 10 * 1024);
    assert_415(&nginx.get("/small/photo.jpg"));
    // The default is 1M, as nginx's.
    assert!(fixture("big.png").len() > 1024 * 1024);
    assert_415(&nginx.get("/default/big.png"));
    nginx.get("/default/photo.jpg").assert_status(200);
    assert!(nginx.error_log().contains("image filter: too big response"));
    nginx.assert_log_clean();
}

#[test]
fn head_gets_the_length_of_the_get() {
    let nginx = example();
    let get = nginx.get("/resize/photo.jpg?width=300&height=-");
    let mut client = nginx.client();
    let head = client.request("HEAD", "/resize/photo.jpg?width=300&height=-", &[]);
    head.assert_status(200);
    assert!(head.body.is_empty());
    assert_eq!(head.content_length(), Some(get.body.len()));
    assert_eq!(head.content_type(), Some("image/jpeg"));
    // Through proxy_pass too: the origin is asked for the body.
    let get = nginx.get("/img/photo.jpg");
    let head = client.request("HEAD", "/img/photo.jpg", &[]);
    head.assert_status(200);
    assert_eq!(head.content_length(), Some(get.body.len()));
    nginx.assert_log_clean();
}

#[test]
fn gif_webp_and_png_keep_their_format() {
    let nginx = example();
    let resp = nginx.get("/resize/anim.gif?width=80&height=80");
    resp.assert_status(200);
    assert_eq!(resp.image(), (image::ImageFormat::Gif, 80, 60));
    let resp = nginx.get("/resize/pic.webp?width=100&height=100");
    assert_eq!(resp.image(), (image::ImageFormat::WebP, 100, 75));
    let resp = nginx.get("/resize/alpha.png?width=64&height=64");
    assert_eq!(resp.image(), (image::ImageFormat::Png, 64, 48));
    nginx.assert_log_clean();
}

/// The first SOF marker of a JPEG: 0xC0 baseline, 0xC2 progressive.
fn sof(bytes: &[u8]) -> u8 {
    let at = bytes
        .windows(2)
        .position(|w| w[0] == 0xff && matches!(w[1], 0xc0..=0xc2))
        .expect("a JPEG frame header");
    bytes[at + 1]
}

#[test]
fn quality_interlace_and_sharpen_change_the_output() {
    let nginx = locations(&[
        ("plain", "image_filter resize 300 300;"),
        (
            "low",
            "image_filter resize 300 300; image_filter_jpeg_quality 10;",
        ),
        (
            "high",
            "image_filter resize 300 300; image_filter_jpeg_quality $arg_q;",
        ),
        (
            "interlaced",
            "image_filter resize 300 300; image_filter_interlace on;",
        ),
        (
            "sharp",
            "image_filter resize 300 300; image_filter_sharpen 100;",
        ),
        (
            "webp10",
            "image_filter resize 300 300; image_filter_webp_quality 10;",
        ),
        ("webp", "image_filter resize 300 300;"),
    ]);
    put(&nginx, "photo.jpg", &fixture("photo.jpg"));
    put(&nginx, "pic.webp", &fixture("pic.webp"));
    let plain = nginx.get("/plain/photo.jpg");
    let low = nginx.get("/low/photo.jpg");
    let high = nginx.get("/high/photo.jpg?q=95");
    for resp in [&plain, &low, &high] {
        assert_eq!(dims(resp), (300, 225));
    }
    // Default 75, as nginx's.
    assert!(low.body.len() < plain.body.len() && plain.body.len() < high.body.len());
    assert_415(&nginx.get("/high/photo.jpg?q=0"));
    assert_eq!(sof(&plain.body), 0xc0);
    assert_eq!(sof(&nginx.get("/interlaced/photo.jpg").body), 0xc2);
    let sharp = nginx.get("/sharp/photo.jpg");
    assert_eq!(dims(&sharp), (300, 225));
    assert_ne!(sharp.body, plain.body);
    let webp10 = nginx.get("/webp10/pic.webp");
    let webp = nginx.get("/webp/pic.webp");
    assert!(webp10.body.len() < webp.body.len());
    nginx.assert_log_clean();
}

#[test]
fn transparency_off_drops_a_palette_transparency() {
    let nginx = locations(&[
        ("kept", "image_filter resize 10 10;"),
        (
            "dropped",
            "image_filter resize 10 10; image_filter_transparency off;",
        ),
    ]);
    let image = ImageBuffer::from_fn(20, 20, |x, _| {
        if x < 10 {
            Rgba([0u8, 0, 0, 0])
        } else {
            Rgba([0, 128, 0, 255])
        }
    });
    put(
        &nginx,
        "clear.gif",
        &encode(DynamicImage::ImageRgba8(image), image::ImageFormat::Gif),
    );
    let alpha = |path: &str| -> Vec<u8> {
        let resp = nginx.get(path);
        assert_eq!(
            resp.content_type(),
            Some("image/gif"),
            "{}",
            resp.describe()
        );
        let image = decode_image(&resp.body).to_rgba8();
        image.pixels().map(|p| p.0[3]).collect()
    };
    assert!(alpha("/kept/clear.gif").contains(&0));
    assert!(alpha("/dropped/clear.gif").iter().all(|&a| a == 255));
    nginx.assert_log_clean();
}

#[test]
fn a_missing_file_is_a_415_as_with_image_filter() {
    let nginx = example();
    assert_415(&nginx.get("/resize/not-there.jpg?width=10&height=10"));
    nginx.assert_log_clean();
}

#[test]
fn nginx_t_reports_bad_arguments_as_nginx_does() {
    let cases = [
        ("image_filter rotate 45;", "invalid parameter \"45\""),
        ("image_filter resize 0 10;", "invalid parameter \"0\""),
        ("image_filter blur;", "invalid parameter \"blur\""),
        ("image_filter scale 1 2;", "invalid parameter \"scale\""),
        ("image_filter_jpeg_quality 0;", "invalid value \"0\""),
        ("image_filter_sharpen -;", "invalid value \"-\""),
        (
            "image_filter_interlace maybe;",
            "it must be \"on\" or \"off\"",
        ),
        ("image_filter_buffer lots;", "invalid value"),
    ];
    for (directive, message) in cases {
        let (ok, out) = Nginx::test_config(&format!(
            "server {{ listen 127.0.0.1:{{PORT}}; location / {{ {directive} }} }}"
        ));
        assert!(!ok, "{directive} must fail nginx -t:\n{out}");
        assert!(
            out.contains(message),
            "{directive}: expected {message:?} in:\n{out}"
        );
    }
    // image_filter itself belongs in a location, as in nginx.
    let (ok, out) = Nginx::test_config("server { listen 127.0.0.1:{PORT}; image_filter size; }");
    assert!(!ok && out.contains("is not allowed here"), "{out}");
    // The others are allowed at every level, and variables anywhere.
    let (ok, out) = Nginx::test_config(
        "image_filter_jpeg_quality 80; image_filter_sharpen $arg_s; \
         server { listen 127.0.0.1:{PORT}; image_filter_buffer 2M; \
         location / { image_filter crop $arg_w -; image_filter rotate $arg_r; } }",
    );
    assert!(ok, "{out}");
}

#[test]
fn the_work_runs_on_the_thread_pool_not_the_event_loop() {
    let nginx = example();
    // A job stalled on a pool thread (4 s, blind to everything)...
    let mut stalled = nginx.client();
    stalled
        .send(
            "GET",
            "/resize/photo.jpg?width=300&height=-",
            &[("X-Image-Fault", "stall-job")],
            b"",
        )
        .unwrap();
    // ...while the same worker answers other requests, transforms included.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let other = nginx.get("/size/photo.jpg");
    other.assert_status(200);
    assert_eq!(dims(&nginx.get("/img/photo.jpg")), (100, 133));
    // The stalled one has not answered yet, and then does.
    stalled.stream().set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let pending = matches!(
        stalled.stream().read(&mut byte),
        Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    assert!(pending, "the stalled request answered before the others");
    stalled.stream().set_nonblocking(false).unwrap();
    let resp = stalled.read_response("GET").unwrap();
    assert_eq!(dims(&resp), (300, 225));
    nginx.assert_log_clean();
}

#[test]
fn a_failing_job_or_timeout_gets_nginx_pages_not_json() {
    let nginx = locations(&[
        ("resize", "image_filter resize 100 100;"),
        ("slow", "image_filter resize 100 100; image_timeout 500ms;"),
    ]);
    put(&nginx, "photo.jpg", &fixture("photo.jpg"));
    let mut client = nginx.client();
    let resp = client.request(
        "GET",
        "/resize/photo.jpg",
        &[("X-Image-Fault", "panic-job")],
    );
    resp.assert_status(500);
    assert_eq!(
        resp.content_type(),
        Some("text/html"),
        "{}",
        resp.describe()
    );
    let mut client = nginx.client();
    let resp = client.request("GET", "/slow/photo.jpg", &[("X-Image-Fault", "stall-job")]);
    resp.assert_status(504);
    assert_eq!(
        resp.content_type(),
        Some("text/html"),
        "{}",
        resp.describe()
    );
    // The worker is still there.
    assert_eq!(dims(&nginx.get("/resize/photo.jpg")), (100, 75));
    nginx.assert_log_clean();
}

#[test]
fn the_memory_budget_counts_the_reduction_and_refuses_with_nginx_pages() {
    // A 2048×1536 JPEG: about 9 MB decoded whole, a fraction of that at
    // the 1/8 scale a 100 px box decodes at.
    let image = ImageBuffer::from_fn(2048, 1536, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let jpeg = encode(DynamicImage::ImageRgb8(image), image::ImageFormat::Jpeg);
    assert!(jpeg.len() < 1024 * 1024, "fits image_filter_buffer");
    let nginx = locations(&[
        ("resize", "image_filter resize 100 100; image_memory 4m;"),
        ("rotate", "image_filter rotate 90; image_memory 4m;"),
    ]);
    put(&nginx, "big.jpg", &jpeg);
    // Within the budget because the prediction is the reduced decode's.
    assert_eq!(dims(&nginx.get("/resize/big.jpg")), (100, 75));
    // The whole image turned is over it: nginx's 415 page, not JSON 413.
    assert_415(&nginx.get("/rotate/big.jpg"));
    nginx.assert_log_clean();
}
