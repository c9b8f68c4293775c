//! How long caches may keep an error: exponential backoff per request key
//! with `image_error_zone`, bounded by `image_error_ttl`, reset by a
//! success, keyed by `image_error_key`; transient failures never cached.

mod common;

use std::fs;

use common::*;
use common::{cache_policy::*, images::*};

const OPTIONS: &str = r#"image_transform "width=$arg_w";"#;

fn conf(closed_port: u16) -> String {
    r#"
image_error_zone errs 1m;

server {
    listen 127.0.0.1:{PORT};
    location /c/ { alias {DIR}/files/; OPTIONS }
    location /ttl/ { alias {DIR}/files/; image_error_ttl 10s 30s; OPTIONS }
    location /keyed/ { alias {DIR}/files/; image_error_key $arg_k; OPTIONS }
    location /closed/ { proxy_pass http://127.0.0.1:CLOSED/; OPTIONS }
}
"#
    .replace("OPTIONS", OPTIONS)
    .replace("CLOSED", &closed_port.to_string())
}

fn start() -> Nginx {
    let nginx = Nginx::start(&conf(free_port()));
    fs::create_dir_all(nginx.dir().join("files")).unwrap();
    nginx
}

/// The `max-age` values of `n` requests of `path` in a row, each asserted
/// to be the error `status`/`code`.
fn ages(nginx: &Nginx, path: &str, n: usize, status: u16, code: u16) -> Vec<u64> {
    (0..n)
        .map(|_| {
            let r = nginx.get(path);
            assert_image_error(&r, status, code);
            assert_eq!(
                r.headers_named("cache-control").len(),
                1,
                "{path}: one Cache-Control; response:\n{}",
                r.describe()
            );
            let cc = r.header("cache-control").unwrap_or_default();
            assert!(cc.starts_with("public, max-age="), "{path}: {cc:?}");
            max_age(&r).unwrap_or_else(|| panic!("{path}: no max-age:\n{}", r.describe()))
        })
        .collect()
}

#[test]
fn repeated_failures_double_the_max_age_and_a_success_resets_it() {
    let nginx = start();
    let path = "/c/late.jpg?w=50";
    assert_eq!(ages(&nginx, path, 5, 404, 9404), [60, 120, 240, 480, 960]);

    // The original appears: success, and the key is forgotten.
    let file = nginx.dir().join("files/late.jpg");
    fs::write(&file, fixture("photo.jpg")).unwrap();
    let r = nginx.get(path);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 50);

    fs::remove_file(&file).unwrap();
    assert_eq!(ages(&nginx, path, 2, 404, 9404), [60, 120]);
}

#[test]
fn each_request_key_backs_off_on_its_own() {
    let nginx = start();
    write_file(
        &nginx.dir().join("files"),
        "page.html",
        fixtures::HTML.as_bytes(),
    );
    assert_eq!(ages(&nginx, "/c/a.jpg?w=50", 2, 404, 9404), [60, 120]);
    // Another file, other options, another kind of failure: new keys.
    assert_eq!(ages(&nginx, "/c/b.jpg?w=50", 1, 404, 9404), [60]);
    assert_eq!(ages(&nginx, "/c/a.jpg?w=60", 1, 404, 9404), [60]);
    assert_eq!(ages(&nginx, "/c/page.html?w=50", 2, 415, 9412), [60, 120]);
    // The first key kept its count. Arguments that are not options do not
    // make a new key (the key is the URI and the evaluated options).
    assert_eq!(ages(&nginx, "/c/a.jpg?w=50", 1, 404, 9404), [240]);
    assert_eq!(ages(&nginx, "/c/a.jpg?w=50&utm=x", 1, 404, 9404), [480]);
    assert_eq!(ages(&nginx, "/c/b.jpg?w=50", 1, 404, 9404), [120]);
}

#[test]
fn image_error_ttl_bounds_the_backoff() {
    let nginx = start();
    assert_eq!(
        ages(&nginx, "/ttl/missing.jpg?w=50", 5, 404, 9404),
        [10, 20, 30, 30, 30]
    );
}

#[test]
fn image_error_key_decides_what_counts_as_the_same_request() {
    let nginx = start();
    assert_eq!(ages(&nginx, "/keyed/a.jpg?w=50&k=one", 1, 404, 9404), [60]);
    // Another URI, other options, same key: the count goes on.
    assert_eq!(ages(&nginx, "/keyed/b.jpg?w=70&k=one", 1, 404, 9404), [120]);
    assert_eq!(ages(&nginx, "/keyed/a.jpg?w=50&k=two", 1, 404, 9404), [60]);
    assert_eq!(ages(&nginx, "/keyed/c.jpg?k=one", 1, 404, 9404), [240]);
}

#[test]
fn transient_failures_never_get_a_max_age() {
    let nginx = start();
    for _ in 0..4 {
        let r = nginx.get("/closed/photo.jpg?w=50");
        assert_error_row(&r, 502, 9504, false);
        assert_eq!(max_age(&r), None, "{}", r.describe());
    }
}

#[test]
fn without_a_zone_every_cacheable_error_gets_the_minimum() {
    let nginx = Nginx::start(
        r#"server {
               listen 127.0.0.1:{PORT};
               location /c/ { alias {FIXTURES}/; image_transform "width=$arg_w"; }
               location /ttl/ {
                   alias {FIXTURES}/;
                   image_error_ttl 10s 30s;
                   image_transform "width=$arg_w";
               }
           }"#,
    );
    for _ in 0..4 {
        let r = nginx.get("/c/missing.jpg?w=50");
        assert_error_row(&r, 404, 9404, true);
        let r = nginx.get("/ttl/missing.jpg?w=50");
        assert_image_error(&r, 404, 9404);
        assert_cacheable(&r, 10);
    }
}

#[test]
fn image_error_zone_is_checked_by_nginx_t() {
    let server = r#"server { listen 127.0.0.1:{PORT};
        location / { image_transform "width=10"; } }"#;
    let (ok, out) = Nginx::test_config(&format!("image_error_zone errs 1m;\n{server}"));
    assert!(ok, "a valid zone must be accepted:\n{out}");
    let (ok, out) = Nginx::test_config(&format!("image_error_zone errs abc;\n{server}"));
    assert!(!ok, "nginx -t accepted a zone size of abc:\n{out}");
    let (ok, out) = Nginx::test_config(&format!(
        "image_error_zone errs 1m;\nimage_error_zone errs 1m;\n{server}"
    ));
    assert!(!ok, "nginx -t accepted the same zone twice:\n{out}");
    let (ok, out) = Nginx::test_config(&format!("image_error_ttl 10s;\n{server}"));
    assert!(
        !ok,
        "nginx -t accepted image_error_ttl with one value:\n{out}"
    );
}
