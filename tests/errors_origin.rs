//! Failures that come from the original or from the origin: each gets its
//! own status, `Image-Error` code, JSON body and cache policy (see the
//! "Errors and caching" table of the README). Also request loops and
//! methods that cannot be transformed.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use common::{cache_policy::*, images::*, origin::*};

/// The origin server block (`{ORIGIN_PORT}`): fixtures at `/`, files the
/// test writes at `/gen/`, fixed statuses at `/sNNN`. Every answer carries
/// caching headers the module must not let through on an error.
const ORIGIN: &str = r#"
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    access_log origin.log fmt;
    add_header Cache-Control "public, max-age=3600" always;
    add_header Expires "Thu, 01 Jan 2037 00:00:00 GMT" always;
    location / { root {FIXTURES}; }
    location /gen/ { alias {DIR}/files/; }
    location = /s401 { return 401; }
    location = /s403 { return 403; }
    location = /s410 { return 410; }
    location = /s500 { return 500; }
    location = /s503 { return 503; }
    location = /s206 { return 206 "part of an image"; }
    location = /s416 { return 416; }
    location = /json { default_type application/json; return 200 '{"not": "an image"}'; }
}
"#;

const OPTIONS: &str = r#"image_transform "width=$arg_w";"#;

/// A config with the origin server and a front server holding the standard
/// locations plus `extra` (which may use `OPTIONS`).
fn conf(extra: &str) -> String {
    let front = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ { alias {FIXTURES}/; OPTIONS }
    location /files/ { alias {DIR}/files/; OPTIONS }
    location /p/ { proxy_pass http://127.0.0.1:{ORIGIN_PORT}/; OPTIONS }
    location /pu/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        proxy_buffering off;
        OPTIONS
    }
    EXTRA
}
"#
    .replace("EXTRA", extra);
    format!("{ORIGIN}\n{front}").replace("OPTIONS", OPTIONS)
}

fn start(extra: &str) -> Nginx {
    Nginx::start(&conf(extra))
}

/// Writes files into `{DIR}/files/`, served at `/files/` and `/p/gen/`.
fn put(nginx: &Nginx, name: &str, bytes: &[u8]) {
    write_file(&nginx.dir().join("files"), name, bytes);
}

// --- the origin answers with an error ----------------------------------------

#[test]
fn missing_static_original_is_404_9404_cacheable() {
    let nginx = start("");
    let r = nginx.get("/img/no-such.jpg?w=100");
    assert_error_row(&r, 404, 9404, true);
    // Without any option too: the location transforms, so it answers.
    let r = nginx.get("/img/no-such.jpg");
    assert_error_row(&r, 404, 9404, true);
}

#[test]
fn origin_404_is_9404_cacheable_without_the_origins_cache_headers() {
    let nginx = start("");
    for prefix in ["/p", "/pu"] {
        let r = nginx.get(&format!("{prefix}/no-such.jpg?w=100"));
        assert_error_row(&r, 404, 9404, true);
        assert!(
            !r.text().contains("<html>"),
            "the origin's HTML error page must be replaced by JSON:\n{}",
            r.describe()
        );
    }
}

#[test]
fn origin_401_403_410_keep_their_status_with_9408() {
    let nginx = start("");
    for prefix in ["/p", "/pu"] {
        for status in [401u16, 403, 410] {
            let r = nginx.get(&format!("{prefix}/s{status}?w=100"));
            assert_error_row(&r, status, 9408, true);
        }
    }
}

#[test]
fn origin_206_and_416_are_never_passed_on_as_the_image() {
    // The module asks for the whole original; a part of it, or a refused
    // range, is an origin failure (502/9509), never bytes of the original.
    let nginx = start("");
    for prefix in ["/p", "/pu"] {
        for status in [206u16, 416] {
            let r = nginx.get(&format!("{prefix}/s{status}?w=100"));
            assert_error_row(&r, 502, 9509, false);
            assert!(!r.text().contains("part of an image"), "{}", r.describe());
        }
    }
}

#[test]
fn origin_408_425_429_keep_their_status_and_are_never_stored() {
    // Scripted: nginx itself closes the connection on `return 408`. The
    // origin says its answer may be cached; these statuses are about that
    // moment, so they are `no-store` anyway, and `Retry-After` is kept.
    for (status_line, status) in [
        ("408 Request Timeout", 408u16),
        ("425 Too Early", 425),
        ("429 Too Many Requests", 429),
    ] {
        let raw = RawOrigin::respond(http_response(
            status_line,
            &[
                ("Content-Type", "text/plain"),
                ("Cache-Control", "public, max-age=86400"),
                ("Retry-After", "30"),
            ],
            b"not now\n",
        ));
        let nginx = start(
            &r#"location /raw/ { proxy_pass http://127.0.0.1:RAW/; OPTIONS }
                location /rawu/ { proxy_pass http://127.0.0.1:RAW/; proxy_buffering off; OPTIONS }"#
                .replace("RAW", &raw.port.to_string()),
        );
        for prefix in ["/raw", "/rawu"] {
            let r = nginx.get(&format!("{prefix}/x.jpg?w=100"));
            assert_error_row(&r, status, 9408, false);
            assert_eq!(r.header("retry-after"), Some("30"), "{}", r.describe());
        }
    }
}

#[test]
fn origin_500_and_503_are_502_9509_no_store() {
    let nginx = start("");
    for prefix in ["/p", "/pu"] {
        for status in [500u16, 503] {
            let r = nginx.get(&format!("{prefix}/s{status}?w=100"));
            assert_error_row(&r, 502, 9509, false);
        }
    }
}

#[test]
fn origin_5xx_with_its_own_status_line_becomes_a_clean_502() {
    // The origin's reason phrase and caching headers must not leak: the
    // status line says 502 like the JSON body.
    let raw = RawOrigin::respond(http_response(
        "503 Slow Down Please",
        &[
            ("Content-Type", "text/plain"),
            ("Cache-Control", "public, max-age=86400"),
            ("Expires", "Thu, 01 Jan 2037 00:00:00 GMT"),
            ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("Retry-After", "120"),
        ],
        b"come back later\n",
    ));
    let nginx = start(
        &r#"location /raw/ { proxy_pass http://127.0.0.1:RAW/; OPTIONS }
            location /rawu/ { proxy_pass http://127.0.0.1:RAW/; proxy_buffering off; OPTIONS }"#
            .replace("RAW", &raw.port.to_string()),
    );
    for prefix in ["/raw", "/rawu"] {
        let mut client = nginx.client();
        client
            .send("GET", &format!("{prefix}/x.jpg?w=100"), &[], &[])
            .unwrap();
        let r = client.read_response("GET").unwrap();
        assert_error_row(&r, 502, 9509, false);

        // The reason phrase is nginx's own, not the origin's.
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", nginx.port)).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream
            .write_all(&request_bytes(
                "GET",
                &format!("{prefix}/x.jpg?w=100"),
                &[("Connection", "close")],
                &[],
            ))
            .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let status_line = text.lines().next().unwrap_or_default();
        assert!(
            status_line.starts_with("HTTP/1.1 502 ") && !status_line.contains("Slow Down"),
            "{prefix}: status line {status_line:?}"
        );
    }
}

// --- the origin cannot be reached or does not answer -------------------------

#[test]
fn unreachable_origin_is_502_9504_no_store() {
    let closed = free_port();
    let nginx = start(
        &r#"location /closed/ { proxy_pass http://127.0.0.1:CLOSED/; OPTIONS }
            location /closedu/ {
                proxy_pass http://127.0.0.1:CLOSED/;
                proxy_buffering off;
                OPTIONS
            }"#
        .replace("CLOSED", &closed.to_string()),
    );
    for prefix in ["/closed", "/closedu"] {
        let (r, took) = timed(|| nginx.get(&format!("{prefix}/photo.jpg?w=100")));
        assert_error_row(&r, 502, 9504, false);
        assert!(took < Duration::from_secs(5), "{prefix}: took {took:?}");
    }
}

#[test]
fn silent_origin_times_out_as_504_9505_no_store() {
    let silent = RawOrigin::silent();
    let nginx = start(
        &r#"location /silent/ {
                proxy_pass http://127.0.0.1:SILENT/;
                proxy_read_timeout 1s;
                OPTIONS
            }"#
        .replace("SILENT", &silent.port.to_string()),
    );
    let (r, took) = timed(|| nginx.get("/silent/photo.jpg?w=100"));
    assert_error_row(&r, 504, 9505, false);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "the answer should come after proxy_read_timeout (1 s), it took {took:?}"
    );
    assert!(silent.accepted() >= 1);
}

#[test]
fn late_origin_times_out_as_504_9505_no_store() {
    // The origin answers with a good image, but only after 3 s.
    let late = RawOrigin::delayed(
        Duration::from_secs(3),
        http_response(
            "200 OK",
            &[("Content-Type", "image/jpeg")],
            &fixture("photo.jpg"),
        ),
    );
    let nginx = start(
        &r#"location /late/ {
                proxy_pass http://127.0.0.1:LATE/;
                proxy_read_timeout 1s;
                OPTIONS
            }
            location /lateu/ {
                proxy_pass http://127.0.0.1:LATE/;
                proxy_read_timeout 1s;
                proxy_buffering off;
                OPTIONS
            }"#
        .replace("LATE", &late.port.to_string()),
    );
    for prefix in ["/late", "/lateu"] {
        let (r, took) = timed(|| nginx.get(&format!("{prefix}/photo.jpg?w=100")));
        assert_error_row(&r, 504, 9505, false);
        assert!(
            took < Duration::from_millis(2900),
            "{prefix}: took {took:?}"
        );
    }
}

// --- the original is not an image we can use ---------------------------------

#[test]
fn html_text_and_json_are_415_9412_cacheable() {
    let nginx = start("");
    put(
        &nginx,
        "data.json",
        br#"{"images": [], "note": "not an image"}"#,
    );
    let paths = [
        "/img/page.html?w=100",
        "/img/tiny.txt?w=100",
        "/files/data.json?w=100",
        "/p/page.html?w=100",
        "/p/tiny.txt?w=100",
        "/p/json?w=100",
        "/p/gen/data.json?w=100",
        "/pu/page.html?w=100",
        "/pu/json?w=100",
    ];
    for path in paths {
        let r = nginx.get(path);
        assert_error_row(&r, 415, 9412, true);
    }
}

#[test]
fn bmp_and_tiff_originals_become_jpeg() {
    // BMP and TIFF are read but not written: without `format` the output
    // is JPEG (no transparency here), static or proxied alike.
    let nginx = start("");
    put(&nginx, "picture.bmp", &bmp(16, 8));
    put(&nginx, "picture.tif", &tiff());
    for (path, size) in [
        ("/files/picture.bmp?w=10", (10, 5)),
        ("/files/picture.tif?w=10", (8, 8)),
        ("/p/gen/picture.bmp?w=10", (10, 5)),
        ("/pu/gen/picture.tif?w=10", (8, 8)),
        ("/files/picture.bmp", (16, 8)),
    ] {
        let r = nginx.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.header("Content-Type"), Some("image/jpeg"), "{path}");
        let (format, width, height) = decode(&r.body).expect(path);
        assert_eq!(format, image::ImageFormat::Jpeg, "{path}");
        assert_eq!((width, height), size, "{path}");
    }
}

#[test]
fn truncated_jpeg_and_png_are_400_9523_cacheable() {
    let nginx = start("");
    let png = fixture("photo.png");
    put(&nginx, "half.png", &png[..png.len() / 2]);
    put(&nginx, "half.jpg", &fixture("truncated.jpg"));
    for path in [
        "/img/truncated.jpg?w=100",
        "/files/half.png?w=100",
        "/files/half.jpg?w=100",
        "/p/truncated.jpg?w=100",
        "/p/gen/half.png?w=100",
        "/pu/gen/half.png?w=100",
    ] {
        let r = nginx.get(path);
        assert_error_row(&r, 400, 9523, true);
    }
    // The worker is fine afterwards.
    let r = nginx.get("/p/photo.png?w=100");
    assert_eq!(assert_transformed(&r, "image/png").1, 100);
}

// --- loops and methods ---------------------------------------------------------

#[test]
fn request_with_the_modules_via_token_is_508_9403() {
    let nginx = start("");
    for via in ["1.1 nginx-image", "1.0 cdn.example, 1.1 nginx-image"] {
        let r = nginx
            .client()
            .request("GET", "/img/photo.jpg?w=100", &[("Via", via)]);
        let message = assert_image_error(&r, 508, 9403);
        assert!(!message.is_empty());
    }
    // Proxied location: refused before the origin is asked.
    let r = nginx
        .client()
        .request("GET", "/p/photo.jpg?w=100", &[("Via", "1.1 nginx-image")]);
    assert_image_error(&r, 508, 9403);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !nginx.read("origin.log").contains("photo.jpg"),
        "a looping request must not reach the origin; origin.log:\n{}",
        nginx.read("origin.log")
    );
    // Someone else's Via is fine.
    let r = nginx
        .client()
        .request("GET", "/img/photo.jpg?w=100", &[("Via", "1.1 varnish")]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
}

#[test]
fn a_location_proxying_to_itself_stops_after_one_hop() {
    let nginx = start(
        r#"location /loop/ {
               proxy_pass http://127.0.0.1:{PORT}/loop/;
               proxy_set_header Via $image_via;
               proxy_read_timeout 5s;
               OPTIONS
           }"#,
    );
    let (r, took) = timed(|| nginx.get("/loop/photo.jpg?w=100"));
    assert!(
        took < Duration::from_secs(2),
        "the loop should be cut at once, it took {took:?}"
    );
    assert!(
        r.status == 502 || r.status == 508,
        "the outer request should fail with 502 or 508; response:\n{}",
        r.describe()
    );
    assert_eq!(
        r.json_number("status"),
        Some(r.status as i64),
        "{}",
        r.describe()
    );
    assert!(r.header("image-error").is_some(), "{}", r.describe());
    // Exactly two requests: the client's and the one that came back.
    std::thread::sleep(Duration::from_millis(200));
    let log = nginx.access_log();
    let hops: Vec<&str> = log.lines().filter(|l| l.contains("/loop/")).collect();
    assert_eq!(hops.len(), 2, "access.log:\n{log}");
    assert!(
        hops.iter().any(|l| l.starts_with("508 ")),
        "the inner request should be refused with 508; access.log:\n{log}"
    );
}

#[test]
fn post_put_delete_are_405_with_allow() {
    let nginx = start("");
    for (method, path) in [
        ("POST", "/img/photo.jpg?w=100"),
        ("POST", "/p/photo.jpg?w=100"),
        ("PUT", "/img/photo.jpg?w=100"),
        ("DELETE", "/p/photo.jpg?w=100"),
    ] {
        let r = nginx
            .client()
            .request_with_body(method, path, &[], b"payload");
        r.assert_status(405);
        assert_eq!(
            r.header("allow"),
            Some("GET, HEAD"),
            "{method} {path}:\n{}",
            r.describe()
        );
        assert_eq!(
            r.json_number("status"),
            Some(405),
            "{method} {path}:\n{}",
            r.describe()
        );
        assert!(
            r.content_type()
                .is_some_and(|t| t.starts_with("application/json")),
            "{method} {path}:\n{}",
            r.describe()
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    let log = nginx.read("origin.log");
    assert!(
        !log.contains("photo.jpg"),
        "refused methods must not reach the origin; origin.log:\n{log}"
    );
}

#[test]
fn a_transforming_origin_behind_the_module_yields_one_image_error() {
    // The origin is itself a location of this module: its annotated 404 and
    // its transformed 200 reach the front, which must not stack a second
    // Image-Error on top of the origin's.
    let nginx = Nginx::start(
        r#"
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=300";
    }
}
server {
    listen 127.0.0.1:{PORT};
    location /front/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/img/;
        image_transform "width=100";
    }
}
"#,
    );
    let r = nginx.get("/front/no-such.jpg");
    assert_image_error(&r, 404, 9404);
    assert_eq!(
        r.headers_named("image-error"),
        ["err=9404"],
        "{}",
        r.describe()
    );

    let r = nginx.get("/front/photo.jpg");
    let (_, width, _) = assert_transformed(&r, "image/jpeg");
    assert_eq!(width, 100);
    assert!(
        r.headers_named("image-error").is_empty(),
        "{}",
        r.describe()
    );
}
