//! HTTP semantics behind a CDN: options bound at configuration time,
//! validators per variant and `304`s, `format=auto` and `Vary`, no range,
//! conditional or encoding header reaching the origin, clean bodies, and
//! cache policies that follow the origin's intent (README "Caching and
//! CDNs").

mod common;

use std::sync::{Arc, Mutex};

use common::origin::*;
use common::*;

/// An nginx origin (`{ORIGIN_PORT}`) serving the fixtures with their own
/// validators, and the front server holding static and proxied
/// transforming locations plus `extra`.
fn conf(options: &str, extra: &str) -> String {
    r#"
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location / { root {FIXTURES}; }
    location = /private403 {
        add_header Cache-Control "private, max-age=600" always;
        return 403;
    }
    location = /short {
        alias {FIXTURES}/photo.jpg;
        add_header Cache-Control "public, max-age=60";
    }
    location = /private {
        alias {FIXTURES}/photo.jpg;
        add_header Cache-Control "private, max-age=60";
    }
}
server {
    listen 127.0.0.1:{PORT};
    location /raw/ { alias {FIXTURES}/; }
    location /img/ { alias {FIXTURES}/; OPTIONS }
    location /p/ { proxy_pass http://127.0.0.1:{ORIGIN_PORT}/; OPTIONS }
    EXTRA
}
"#
    .replace("OPTIONS", options)
    .replace("EXTRA", extra)
}

const WIDTH: &str = r#"image_transform "width=$arg_w";"#;

fn get_with(nginx: &Nginx, path: &str, headers: &[(&str, &str)]) -> Response {
    nginx.client().request("GET", path, headers)
}

/// `assert_transformed`, except that AVIF (which the tests cannot decode)
/// is only checked by its type and `ftyp` box.
fn assert_output(resp: &Response, mime: &str) {
    if mime == "image/avif" {
        resp.assert_status(200);
        assert_eq!(resp.content_type(), Some(mime), "{}", resp.describe());
        assert_eq!(&resp.body[4..8], b"ftyp", "{}", resp.describe());
    } else {
        assert_transformed(resp, mime);
    }
}

fn etag(resp: &Response) -> String {
    resp.header("etag")
        .unwrap_or_else(|| panic!("no ETag; response:\n{}", resp.describe()))
        .to_string()
}

// --- 1. options bound at configuration time ----------------------------------

#[test]
fn literal_options_are_validated_by_nginx_t() {
    let (ok, out) = Nginx::test_config(
        r#"server { listen 127.0.0.1:{PORT}; location / { image_transform "width=abc"; } }"#,
    );
    assert!(!ok, "width=abc must fail nginx -t:\n{out}");
    assert!(out.contains("width") && out.contains("abc"), "{out}");

    let (ok, out) = Nginx::test_config(
        r#"server { listen 127.0.0.1:{PORT}; location / { image_transform "width=10,w=20"; } }"#,
    );
    assert!(!ok, "a key given twice must fail nginx -t:\n{out}");
    assert!(out.contains("twice"), "{out}");

    let (ok, out) = Nginx::test_config(
        r#"server { listen 127.0.0.1:{PORT}; location / { image_transform "width=$arg_w,quality=80"; } }"#,
    );
    assert!(ok, "a valid template passes:\n{out}");
}

#[test]
fn a_variable_fills_one_value_and_cannot_add_options() {
    let nginx = Nginx::start(&conf(r#"image_transform "width=$arg_w,quality=70";"#, ""));
    let r = nginx.get("/img/photo.jpg?w=100,format=png");
    let message = assert_image_error(&r, 400, 9401);
    assert!(message.contains("width"), "{message}");
    let r = nginx.get("/img/photo.jpg?w=100%2Cformat%3Dpng");
    assert_image_error(&r, 400, 9401);
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
}

#[test]
fn the_whole_string_form_stays_under_the_allow_lists() {
    let nginx = Nginx::start(&conf(
        "image_transform $arg_o; image_params_allowed width;",
        "",
    ));
    let r = nginx.get("/img/photo.jpg?o=width=60");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 60);
    let r = nginx.get("/img/photo.jpg?o=width=60,format=png");
    assert_eq!(r.status, 401, "{}", r.describe());
    assert!(r.header("image-error").is_some(), "{}", r.describe());
}

// --- 2. validators per variant -----------------------------------------------

#[test]
fn static_variant_etag_revalidates_to_304_and_only_for_that_variant() {
    let nginx = Nginx::start(&conf(WIDTH, ""));
    let raw = nginx.get("/raw/photo.jpg");
    let original = etag(&raw);
    let last_modified = raw.header("last-modified").unwrap().to_string();

    let r = nginx.get("/img/photo.jpg?w=100");
    assert_transformed(&r, "image/jpeg");
    let tag = etag(&r);
    assert!(tag.starts_with("\"im"), "{tag}");
    assert!(
        tag.ends_with(&format!(":{}\"", original.trim_matches('"'))),
        "{tag} carries the original's {original}"
    );

    let r = get_with(&nginx, "/img/photo.jpg?w=100", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304, "{}", r.describe());
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert!(r.header("last-modified").is_none(), "{}", r.describe());
    let listed = format!("\"x\", {tag}");
    let r = get_with(
        &nginx,
        "/img/photo.jpg?w=100",
        &[("If-None-Match", &listed)],
    );
    assert_eq!(r.status, 304, "{}", r.describe());

    // Another option, the original's own validators: never a 304.
    for (path, name, value) in [
        ("/img/photo.jpg?w=101", "If-None-Match", tag.as_str()),
        ("/img/photo.jpg?w=100", "If-None-Match", original.as_str()),
        (
            "/img/photo.jpg?w=100",
            "If-Modified-Since",
            last_modified.as_str(),
        ),
        (
            "/img/photo.jpg?w=100",
            "If-Modified-Since",
            "Thu, 01 Jan 2037 00:00:00 GMT",
        ),
    ] {
        let r = get_with(&nginx, path, &[(name, value)]);
        assert_transformed(&r, "image/jpeg");
    }
    // HEAD revalidates too.
    let r = nginx
        .client()
        .request("HEAD", "/img/photo.jpg?w=100", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304, "{}", r.describe());
}

#[test]
fn proxied_variant_etag_revalidates_without_the_origin_seeing_conditions() {
    let nginx = Nginx::start(&conf(WIDTH, ""));
    let r = nginx.get("/p/photo.jpg?w=80");
    assert_transformed(&r, "image/jpeg");
    let tag = etag(&r);
    let r = get_with(&nginx, "/p/photo.jpg?w=80", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304, "{}", r.describe());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let r = get_with(&nginx, "/p/photo.jpg?w=81", &[("If-None-Match", &tag)]);
    assert_transformed(&r, "image/jpeg");
    // The origin's 304 for its own date cannot reach the client.
    let r = get_with(
        &nginx,
        "/p/photo.jpg?w=81",
        &[("If-Modified-Since", "Thu, 01 Jan 2037 00:00:00 GMT")],
    );
    assert_transformed(&r, "image/jpeg");
}

#[test]
fn a_configuration_change_changes_the_validator() {
    let nginx = Nginx::start(&conf(
        WIDTH,
        r#"location /q80/ { alias {FIXTURES}/; image_transform "width=$arg_w,quality=80"; }
           location /q70/ { alias {FIXTURES}/; image_transform "width=$arg_w,quality=70"; }"#,
    ));
    let a = etag(&nginx.get("/q80/photo.jpg?w=90"));
    let b = etag(&nginx.get("/q70/photo.jpg?w=90"));
    assert_ne!(a, b);
    let r = get_with(&nginx, "/q70/photo.jpg?w=90", &[("If-None-Match", &a)]);
    assert_transformed(&r, "image/jpeg");
}

#[test]
fn an_origin_without_validators_gets_none_and_no_304() {
    let body = fixture("photo.jpg");
    let origin = RawOrigin::respond(http_response(
        "200 OK",
        &[("Content-Type", "image/jpeg")],
        &body,
    ));
    let nginx = Nginx::start(&format!(
        r#"server {{ listen 127.0.0.1:{{PORT}};
            location / {{ proxy_pass http://127.0.0.1:{}; {WIDTH} }} }}"#,
        origin.port
    ));
    let r = nginx.get("/x.jpg?w=50");
    assert_transformed(&r, "image/jpeg");
    assert!(r.header("etag").is_none(), "{}", r.describe());
    let r = get_with(&nginx, "/x.jpg?w=50", &[("If-None-Match", "*")]);
    assert_transformed(&r, "image/jpeg");
}

// --- 3. format=auto and Vary ---------------------------------------------------

const CHROME: &str = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";

#[test]
fn format_auto_follows_accept_and_every_response_varies() {
    let nginx = Nginx::start(&conf(
        r#"image_transform "width=$arg_w,format=auto";"#,
        r#"location /webp-first/ { alias {FIXTURES}/;
               image_transform "width=$arg_w,format=auto"; image_auto_formats webp avif; }
           location /small/ { alias {FIXTURES}/;
               image_transform "width=$arg_w,format=auto,onerror=original";
               image_max_pixels 100; }"#,
    ));
    let cases = [
        (CHROME, "image/avif"),
        ("image/avif;q=0,image/webp", "image/webp"),
        ("image/webp", "image/webp"),
        ("*/*", "image/jpeg"),
    ];
    let mut tags = Vec::new();
    for (accept, mime) in cases {
        let r = get_with(&nginx, "/img/photo.jpg?w=40", &[("Accept", accept)]);
        assert_output(&r, mime);
        assert_eq!(r.header("vary"), Some("Accept"), "{}", r.describe());
        tags.push(etag(&r));
    }
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[1], tags[3]);
    // The WebP variant's validator does not revalidate the AVIF one.
    let r = get_with(
        &nginx,
        "/img/photo.jpg?w=40",
        &[("Accept", CHROME), ("If-None-Match", &tags[1])],
    );
    assert_output(&r, "image/avif");
    let r = get_with(&nginx, "/webp-first/photo.jpg?w=40", &[("Accept", CHROME)]);
    assert_transformed(&r, "image/webp");

    // Errors and the onerror=original fallback vary too.
    let r = get_with(&nginx, "/img/missing.jpg?w=40", &[("Accept", CHROME)]);
    assert_image_error(&r, 404, 9404);
    assert_eq!(r.header("vary"), Some("Accept"), "{}", r.describe());
    let r = get_with(&nginx, "/img/photo.jpg?w=abc", &[("Accept", CHROME)]);
    assert_eq!(r.header("vary"), Some("Accept"), "{}", r.describe());
    let r = get_with(&nginx, "/small/photo.jpg?w=40", &[("Accept", CHROME)]);
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.header("image-error").is_some(), "{}", r.describe());
    assert_eq!(r.header("vary"), Some("Accept"), "{}", r.describe());
}

#[test]
fn image_format_variable_names_the_negotiated_format() {
    let nginx = Nginx::start(&conf(
        r#"image_transform "width=$arg_w,format=auto"; add_header X-Format "[$image_format]" always;"#,
        r#"location /front/ { return 200 "[$image_format]"; }"#,
    ));
    let r = get_with(&nginx, "/img/photo.jpg?w=40", &[("Accept", "image/webp")]);
    assert_eq!(r.header("x-format"), Some("[webp]"), "{}", r.describe());
    let r = get_with(&nginx, "/img/photo.jpg?w=40", &[("Accept", "*/*")]);
    assert_eq!(r.header("x-format"), Some("[]"), "{}", r.describe());
    let r = get_with(&nginx, "/front/", &[("Accept", CHROME)]);
    assert_eq!(r.text(), "[avif]");
}

#[test]
fn a_fixed_format_does_not_vary() {
    let nginx = Nginx::start(&conf(r#"image_transform "width=$arg_w,format=png";"#, ""));
    let r = get_with(&nginx, "/img/photo.jpg?w=40", &[("Accept", CHROME)]);
    assert_transformed(&r, "image/png");
    assert!(r.header("vary").is_none(), "{}", r.describe());
}

// --- 4, 5. what reaches the origin; ranges and encodings -----------------------

/// An origin that records every request head it gets and answers `reply`.
fn recording_origin(reply: Vec<u8>) -> (RawOrigin, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let origin = RawOrigin::start(move |mut stream, _| {
        let head = read_request_head(&mut stream).unwrap_or_default();
        log.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&head).to_ascii_lowercase());
        let _ = std::io::Write::write_all(&mut stream, &reply);
    });
    (origin, seen)
}

fn proxy_to(port: u16, options: &str) -> String {
    format!(
        r#"server {{ listen 127.0.0.1:{{PORT}};
            location / {{ proxy_pass http://127.0.0.1:{port}; {options} }} }}"#
    )
}

#[test]
fn range_conditions_and_encodings_never_reach_the_origin() {
    let body = fixture("photo.jpg");
    let (origin, seen) = recording_origin(http_response(
        "200 OK",
        &[("Content-Type", "image/jpeg"), ("ETag", "\"v1\"")],
        &body,
    ));
    let nginx = Nginx::start(&proxy_to(origin.port, WIDTH));
    let r = get_with(
        &nginx,
        "/x.jpg?w=50",
        &[
            ("Range", "bytes=0-99"),
            ("If-Range", "\"v1\""),
            ("Accept-Encoding", "gzip, br"),
            ("If-None-Match", "\"v1\""),
            ("If-Modified-Since", "Thu, 01 Jan 2037 00:00:00 GMT"),
            ("If-Match", "\"v1\""),
            ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT"),
            ("X-Kept", "yes"),
        ],
    );
    assert_transformed(&r, "image/jpeg");
    assert!(r.header("content-range").is_none(), "{}", r.describe());
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    for name in [
        "range:",
        "if-range:",
        "accept-encoding:",
        "if-none-match:",
        "if-modified-since:",
        "if-match:",
        "if-unmodified-since:",
    ] {
        assert!(
            !heads[0].lines().any(|l| l.starts_with(name)),
            "{name} was forwarded:\n{}",
            heads[0]
        );
    }
    assert!(heads[0].contains("x-kept: yes"), "{}", heads[0]);
}

#[test]
fn a_static_range_request_gets_the_whole_transformed_image() {
    let nginx = Nginx::start(&conf(WIDTH, ""));
    let r = get_with(
        &nginx,
        "/img/photo.jpg?w=50",
        &[("Range", "bytes=0-9"), ("If-Range", "whatever")],
    );
    assert_transformed(&r, "image/jpeg");
    assert!(r.header("content-range").is_none(), "{}", r.describe());
}

#[test]
fn an_encoded_origin_body_is_a_clean_502_9509() {
    let (origin, _) = recording_origin(http_response(
        "200 OK",
        &[("Content-Type", "image/jpeg"), ("Content-Encoding", "gzip")],
        b"\x1f\x8b\x08\x00 not really gzip",
    ));
    let nginx = Nginx::start(&proxy_to(origin.port, WIDTH));
    let r = nginx.get("/x.jpg?w=50");
    let message = assert_image_error(&r, 502, 9509);
    assert!(message.contains("Content-Encoding"), "{message}");
    assert!(r.header("content-encoding").is_none(), "{}", r.describe());
}

#[test]
fn a_gzipped_origin_error_page_leaves_no_content_encoding() {
    let (origin, _) = recording_origin(http_response(
        "404 Not Found",
        &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        b"\x1f\x8b\x08\x00 gzipped html",
    ));
    let nginx = Nginx::start(&proxy_to(origin.port, WIDTH));
    let r = nginx.get("/x.jpg?w=50");
    assert_image_error(&r, 404, 9404);
    assert!(r.header("content-encoding").is_none(), "{}", r.describe());
}

#[test]
fn an_origin_304_to_an_unconditional_request_is_502() {
    let (origin, _) = recording_origin(http_response("304 Not Modified", &[], b""));
    let nginx = Nginx::start(&proxy_to(origin.port, WIDTH));
    let r = get_with(&nginx, "/x.jpg?w=50", &[("If-None-Match", "\"a\"")]);
    assert_image_error(&r, 502, 9509);
}

// --- 6. cacheability follows intent --------------------------------------------

#[test]
fn private_errors_and_answers_to_credentials_are_never_public() {
    let nginx = Nginx::start(&conf(WIDTH, ""));
    let r = nginx.get("/p/private403?w=50");
    assert_image_error(&r, 403, 9408);
    let cc = r.header("cache-control").unwrap_or_default().to_string();
    assert!(cc.starts_with("private"), "{}", r.describe());
    for credentials in [("Cookie", "session=1"), ("Authorization", "Basic eDp5")] {
        let r = get_with(&nginx, "/p/missing.jpg?w=50", &[credentials]);
        assert_image_error(&r, 404, 9404);
        let cc = r.header("cache-control").unwrap_or_default();
        assert!(cc.starts_with("private"), "{}", r.describe());
    }
}

#[test]
fn success_keeps_the_origins_policy_unless_image_cache_control_says_more() {
    let nginx = Nginx::start(&conf(
        WIDTH,
        r#"location /min/ { proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
               image_transform "width=$arg_w"; image_cache_control min=1h; }"#,
    ));
    let r = nginx.get("/p/short?w=50");
    assert_transformed(&r, "image/jpeg");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    let r = nginx.get("/min/short?w=50");
    assert_transformed(&r, "image/jpeg");
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let r = nginx.get("/min/private?w=50");
    assert_transformed(&r, "image/jpeg");
    assert_eq!(r.header("cache-control"), Some("private, max-age=60"));
}

#[test]
fn weak_origin_tags_stay_weak_and_dates_stand_in_for_missing_tags() {
    let body = fixture("photo.jpg");
    let (weak, _) = recording_origin(http_response(
        "200 OK",
        &[("Content-Type", "image/jpeg"), ("ETag", "W/\"v7\"")],
        &body,
    ));
    let nginx = Nginx::start(&proxy_to(weak.port, WIDTH));
    let r = nginx.get("/x.jpg?w=50");
    assert_transformed(&r, "image/jpeg");
    let tag = etag(&r);
    assert!(tag.starts_with("W/\"im") && tag.ends_with(":v7\""), "{tag}");
    let r = get_with(&nginx, "/x.jpg?w=50", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304, "{}", r.describe());
    drop(nginx);

    let (dated, _) = recording_origin(http_response(
        "200 OK",
        &[
            ("Content-Type", "image/jpeg"),
            ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"),
        ],
        &body,
    ));
    let nginx = Nginx::start(&proxy_to(dated.port, WIDTH));
    let r = nginx.get("/x.jpg?w=50");
    assert_transformed(&r, "image/jpeg");
    let tag = etag(&r);
    // nginx's own "mtime-length" form, weak.
    let derived = format!(":{:x}-{:x}\"", 1_767_225_600u64, body.len());
    assert!(
        tag.starts_with("W/\"im") && tag.ends_with(&derived),
        "{tag}"
    );
    let r = get_with(&nginx, "/x.jpg?w=50", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304, "{}", r.describe());
}

#[test]
fn the_backoff_of_a_key_decays_after_its_last_max_age() {
    let nginx = Nginx::start(&format!(
        "image_error_zone errors 64k;\n{}",
        conf(WIDTH, "location /ttl/ { alias {FIXTURES}/; image_transform \"width=$arg_w\"; image_error_ttl 1s 60s; }")
    ));
    let age = |r: &Response| r.header("cache-control").unwrap_or_default().to_string();
    let r = nginx.get("/ttl/missing.jpg?w=50");
    assert_eq!(age(&r), "public, max-age=1", "{}", r.describe());
    let r = nginx.get("/ttl/missing.jpg?w=50");
    assert_eq!(age(&r), "public, max-age=2", "{}", r.describe());
    // Longer than the 2 s the last failure was given: forgotten.
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let r = nginx.get("/ttl/missing.jpg?w=50");
    assert_eq!(age(&r), "public, max-age=1", "{}", r.describe());
}
