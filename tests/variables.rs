//! The module's variables, as an access log shows them: `$image_status`,
//! `$image_error_code`, `$image_original_bytes`, `$image_output_bytes`,
//! `$image_original_size`, `$image_process_ms`, and `$image_via`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;

const CONF: &str = r#"
log_format img '$status "$request" st=$image_status err=$image_error_code in=$image_original_bytes out=$image_output_bytes size=$image_original_size ms=$image_process_ms';

server {
    listen 127.0.0.1:{PORT};
    access_log img.log img;

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
    }
    location /inline/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_thread_pool off;
    }
    location /orig/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,onerror=original";
        image_max_pixels 1000;
    }
    location /plain/ {
        alias {FIXTURES}/;
    }
    location = /via {
        default_type text/plain;
        return 200 "[$image_via]";
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

/// The fields (`key=value`) of the img.log line of `path`, plus `status`.
fn logged(nginx: &Nginx, path: &str) -> HashMap<String, String> {
    let needle = format!("\"GET {path} HTTP/1.1\"");
    let line = nginx
        .wait_for_log("img.log", |l| l.contains(&needle), Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no img.log line for {path}:\n{}", nginx.read("img.log")));
    let mut fields: HashMap<String, String> = line
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.insert(
        "status".into(),
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    );
    fields.insert("line".into(), line.clone());
    fields
}

fn field<'a>(fields: &'a HashMap<String, String>, key: &str) -> &'a str {
    fields
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {key}= in {:?}", fields["line"]))
}

/// Empty values are logged as `-` by nginx.
fn is_empty(value: &str) -> bool {
    value.is_empty() || value == "-"
}

fn number(fields: &HashMap<String, String>, key: &str) -> u64 {
    let value = field(fields, key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value:?} is not a number in {:?}", fields["line"]))
}

#[test]
fn a_success_logs_sizes_dimensions_and_time() {
    let nginx = start();
    for prefix in ["/img", "/inline"] {
        let path = format!("{prefix}/photo.jpg?w=200&f=webp");
        let r = nginx.get(&path);
        assert_transformed(&r, "image/webp");
        let f = logged(&nginx, &path);
        let line = &f["line"];
        assert_eq!(field(&f, "status"), "200", "{line}");
        assert_eq!(field(&f, "st"), "200", "{line}");
        assert!(is_empty(field(&f, "err")), "{line}");
        assert_eq!(
            number(&f, "in"),
            fixture("photo.jpg").len() as u64,
            "{line}"
        );
        assert_eq!(number(&f, "out"), r.body.len() as u64, "{line}");
        assert_eq!(field(&f, "size"), "800x600", "{line}");
        let ms = number(&f, "ms");
        assert!(ms < 10_000, "{line}");
    }
}

#[test]
fn an_error_logs_its_status_and_code() {
    let nginx = start();

    // Not an image: the original was read, the JSON body was sent.
    let path = "/img/page.html?w=100";
    let r = nginx.get(path);
    assert_image_error(&r, 415, 9412);
    let f = logged(&nginx, path);
    let line = &f["line"];
    assert_eq!(field(&f, "status"), "415", "{line}");
    assert_eq!(field(&f, "st"), "415", "{line}");
    assert_eq!(field(&f, "err"), "9412", "{line}");
    assert_eq!(number(&f, "in"), fixtures::HTML.len() as u64, "{line}");
    assert_eq!(number(&f, "out"), r.body.len() as u64, "{line}");
    assert!(is_empty(field(&f, "size")), "{line}");

    // A bad option: refused before anything was read.
    let path = "/img/photo.jpg?w=abc";
    let r = nginx.get(path);
    assert_image_error(&r, 400, 9401);
    let f = logged(&nginx, path);
    let line = &f["line"];
    assert_eq!(field(&f, "st"), "400", "{line}");
    assert_eq!(field(&f, "err"), "9401", "{line}");
    assert!(is_empty(field(&f, "in")), "{line}");
    assert_eq!(number(&f, "out"), r.body.len() as u64, "{line}");
    assert!(is_empty(field(&f, "size")), "{line}");

    // A missing original.
    let path = "/img/no-such.jpg?w=100";
    let r = nginx.get(path);
    assert_image_error(&r, 404, 9404);
    let f = logged(&nginx, path);
    assert_eq!(field(&f, "st"), "404", "{}", f["line"]);
    assert_eq!(field(&f, "err"), "9404", "{}", f["line"]);
}

#[test]
fn onerror_original_logs_200_with_the_code() {
    let nginx = start();
    let path = "/orig/photo.jpg?w=100";
    let r = nginx.get(path);
    r.assert_status(200);
    assert_eq!(r.body, fixture("photo.jpg"));
    let f = logged(&nginx, path);
    let line = &f["line"];
    assert_eq!(field(&f, "st"), "200", "{line}");
    assert_eq!(field(&f, "err"), "9413", "{line}");
    assert_eq!(number(&f, "out"), r.body.len() as u64, "{line}");
}

#[test]
fn locations_without_the_module_log_empty_values() {
    let nginx = start();
    let path = "/plain/photo.jpg";
    let r = nginx.get(path);
    r.assert_status(200);
    let f = logged(&nginx, path);
    for key in ["st", "err", "in", "out", "size", "ms"] {
        assert!(is_empty(field(&f, key)), "{key}: {}", f["line"]);
    }
}

#[test]
fn image_via_appends_the_modules_token() {
    let nginx = start();
    let r = nginx.get("/via");
    r.assert_status(200);
    assert_eq!(r.text(), "[1.1 nginx-image]");
    let r = nginx
        .client()
        .request("GET", "/via", &[("Via", "1.0 cdn.example")]);
    assert_eq!(r.text(), "[1.0 cdn.example, 1.1 nginx-image]");
}
