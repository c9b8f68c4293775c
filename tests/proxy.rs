//! Transforming proxied responses: buffered, unbuffered, over upstream
//! keep-alive connections, and what must pass through untouched.

mod common;

use std::time::Duration;

use common::*;
use image::ImageFormat;

const OPTIONS: &str = r#"image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";"#;

fn conf() -> String {
    r#"
log_format origin '$connection $status "$request"';

upstream origin_pool {
    server 127.0.0.1:{ORIGIN_PORT};
    keepalive 4;
}

server {
    listen 127.0.0.1:{ORIGIN_PORT};
    access_log origin.log origin;
    location / {
        root {FIXTURES};
    }
    location = /moved.jpg {
        return 302 /photo.jpg;
    }
    location = /broken {
        return 500;
    }
    location = /echo-method {
        return 200 "$request_method\n";
    }
}

server {
    listen 127.0.0.1:{PORT};

    location /buffered/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        OPTIONS
    }
    location /unbuffered/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        proxy_buffering off;
        OPTIONS
    }
    location /pooled/ {
        proxy_pass http://origin_pool/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        OPTIONS
    }
    location /small-buffers/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        proxy_buffer_size 4k;
        proxy_buffers 4 4k;
        proxy_busy_buffers_size 8k;
        OPTIONS
    }
    location /limited/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        image_buffer 10k;
        OPTIONS
    }
}
"#
    .replace("OPTIONS", OPTIONS)
}

fn start() -> Nginx {
    Nginx::start(&conf())
}

fn check_resize(nginx: &Nginx, prefix: &str) {
    let r = nginx.get(&format!("{prefix}/photo.jpg?w=200"));
    let (format, w, h) = assert_transformed(&r, "image/jpeg");
    assert_eq!((format, w, h), (ImageFormat::Jpeg, 200, 150), "{prefix}");

    let r = nginx.get(&format!("{prefix}/alpha.png?w=320&h=320&fit=cover&f=webp"));
    let (format, w, h) = assert_transformed(&r, "image/webp");
    assert_eq!((format, w, h), (ImageFormat::WebP, 320, 320), "{prefix}");
}

#[test]
fn proxied_buffered() {
    let nginx = start();
    check_resize(&nginx, "/buffered");
}

#[test]
fn proxied_unbuffered() {
    let nginx = start();
    check_resize(&nginx, "/unbuffered");
}

#[test]
fn proxied_with_small_proxy_buffers() {
    // The original (hundreds of KB) arrives in many small pieces.
    let nginx = start();
    check_resize(&nginx, "/small-buffers");
    let r = nginx.get("/small-buffers/photo.png?w=333&f=jpeg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 333);
}

#[test]
fn proxied_over_upstream_keepalive() {
    let nginx = start();
    let mut client = nginx.client();
    for (i, w) in [100u32, 150, 200, 250, 300].into_iter().enumerate() {
        let path = if i % 2 == 0 {
            format!("/pooled/photo.jpg?w={w}")
        } else {
            format!("/pooled/photo.jpg?w={w}&f=png")
        };
        let r = client.request("GET", &path, &[]);
        let (_, got, _) = assert_transformed(&r, r.content_type().unwrap_or("?"));
        assert_eq!(got, w, "{path}");
    }
    // A transformed HEAD too, and a pass-through error.
    let r = client.request("HEAD", "/pooled/photo.jpg?w=120", &[]);
    r.assert_status(200);
    let r = client.request("GET", "/pooled/no-such.jpg?w=120", &[]);
    r.assert_status(404);

    // The origin saw every request on the same, reused upstream connection:
    // the module read each upstream response to its end.
    let log = nginx.read("origin.log");
    let connections: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(connections.len() >= 7, "origin.log:\n{log}");
    assert!(
        connections.iter().all(|c| *c == connections[0]),
        "upstream keep-alive connection was not reused; origin.log ($connection $status $request):\n{log}"
    );
}

#[test]
fn proxied_head_matches_get() {
    let nginx = start();
    for prefix in PREFIXES {
        let path = format!("{prefix}/photo.jpg?w=180&f=webp");
        let get = nginx.get(&path);
        assert_transformed(&get, "image/webp");
        let head = nginx.client().request("HEAD", &path, &[]);
        head.assert_status(200);
        assert_eq!(head.content_type(), Some("image/webp"), "{path}");
        assert_eq!(
            head.content_length(),
            Some(get.body.len()),
            "{path}: HEAD response:\n{}",
            head.describe()
        );
        assert!(
            head.header("accept-ranges").is_none(),
            "{}",
            head.describe()
        );
        assert!(head.body.is_empty());
    }
}

const PREFIXES: [&str; 3] = ["/buffered", "/unbuffered", "/pooled"];

#[test]
fn proxied_origin_404_stays_404() {
    let nginx = start();
    for prefix in PREFIXES {
        let r = nginx.get(&format!("{prefix}/no-such.jpg?w=100"));
        assert_image_error(&r, 404, 9404);
    }
}

#[test]
fn proxied_origin_redirect_passes_through() {
    let nginx = start();
    for prefix in PREFIXES {
        let r = nginx.get(&format!("{prefix}/moved.jpg?w=100"));
        r.assert_status(302);
        assert!(
            r.header("location")
                .is_some_and(|l| l.ends_with("/photo.jpg")),
            "{}",
            r.describe()
        );
        assert!(r.header("image-error").is_none(), "{}", r.describe());
    }
}

#[test]
fn proxied_origin_500_is_502() {
    // An origin failure is a bad gateway from the client's point of view,
    // and never cacheable.
    let nginx = start();
    for prefix in PREFIXES {
        let r = nginx.get(&format!("{prefix}/broken?w=100"));
        assert_image_error(&r, 502, 9509);
        assert_eq!(
            r.header("cache-control"),
            Some("no-store"),
            "{}",
            r.describe()
        );
    }
}

#[test]
fn proxied_not_an_image_is_415() {
    let nginx = start();
    for prefix in PREFIXES {
        let r = nginx.get(&format!("{prefix}/page.html?w=100"));
        assert_image_error(&r, 415, 9412);
    }
}

#[test]
fn proxied_original_larger_than_image_buffer_is_413() {
    let nginx = start();
    let r = nginx.get("/limited/photo.jpg?w=100");
    assert_image_error(&r, 413, 9402);
    // A small enough original still works there.
    let r = nginx.get("/limited/anim.gif?w=50");
    assert_transformed(&r, "image/gif");
    assert!(fixture("anim.gif").len() < 10 * 1024);
}

#[test]
fn post_is_refused_before_reaching_the_origin() {
    let nginx = start();
    let r = nginx
        .client()
        .request_with_body("POST", "/buffered/echo-method?w=100", &[], b"data");
    r.assert_status(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"), "{}", r.describe());
    std::thread::sleep(Duration::from_millis(200));
    let log = nginx.read("origin.log");
    assert!(
        !log.contains("POST"),
        "a refused POST must not be forwarded to the origin; origin.log:\n{log}"
    );
}
