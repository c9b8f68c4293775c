//! HTTP behaviour around the transformation: HEAD, keep-alive, methods,
//! responses that must pass through, and how the directive is configured
//! (nesting, inheritance, variables).

mod common;

use common::*;
use image::ImageFormat;

const CONF: &str = r#"
map $arg_size $img_opts {
    default "width=100";
    small   "width=50,format=png";
    large   "width=400,format=webp";
}

server {
    listen 127.0.0.1:{PORT};

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
    }

    location /fixed/ {
        alias {FIXTURES}/;
        image_transform "width=100";

        location /fixed/raw/ {
            alias {FIXTURES}/;
            image_transform off;
        }
    }

    location /mapped/ {
        alias {FIXTURES}/;
        image_transform $img_opts;
    }

    location ~ ^/thumb/(\d+)x(\d+)/(.+)$ {
        alias {FIXTURES}/$3;
        image_transform "width=$1,height=$2,fit=cover";
    }

    location /raw/ {
        alias {FIXTURES}/;
    }

    location = /img-redirect {
        image_transform "width=100";
        return 302 /img/photo.jpg;
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

#[test]
fn head_has_the_same_headers_as_get_and_no_body() {
    let nginx = start();
    for path in [
        "/img/photo.jpg?w=120",
        "/img/photo.jpg?w=300&f=webp",
        "/img/alpha.png?w=200&h=200&fit=cover&f=png",
    ] {
        let get = nginx.get(path);
        assert_transformed(&get, get.content_type().unwrap_or("?"));

        let mut client = nginx.client();
        let head = client.request("HEAD", path, &[]);
        head.assert_status(200);
        assert_eq!(head.content_type(), get.content_type(), "{path}");
        assert_eq!(
            head.content_length(),
            Some(get.body.len()),
            "HEAD must announce the transformed length; {path}; HEAD response:\n{}",
            head.describe()
        );
        assert!(
            head.header("accept-ranges").is_none(),
            "{}",
            head.describe()
        );
        // The variant's validator, the same as the GET's.
        assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        assert!(head.body.is_empty());

        // No stray body bytes: the connection must be usable right away.
        let next = client.request("GET", "/raw/tiny.txt", &[]);
        next.assert_status(200);
        assert_eq!(next.body, fixtures::TINY.as_bytes(), "{path}");
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let nginx = start();
    let mut client = nginx.client();

    let r = client.request("GET", "/img/photo.jpg?w=100", &[]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);

    let r = client.request("HEAD", "/img/photo.jpg?w=200", &[]);
    r.assert_status(200);
    assert!(r.body.is_empty());
    let head_len = r.content_length().expect("HEAD Content-Length");

    let r = client.request("GET", "/img/photo.jpg?w=200", &[]);
    let (_, w, h) = assert_transformed(&r, "image/jpeg");
    assert_eq!((w, h), (200, 150));
    assert_eq!(
        r.body.len(),
        head_len,
        "HEAD and GET disagree on the length"
    );

    let r = client.request("GET", "/img/photo.jpg?w=300&f=webp", &[]);
    let (format, w, _) = assert_transformed(&r, "image/webp");
    assert_eq!((format, w), (ImageFormat::WebP, 300));

    let r = client.request("GET", "/raw/tiny.txt", &[]);
    r.assert_status(200);
    assert_eq!(r.body, fixtures::TINY.as_bytes());

    let r = client.request("GET", "/img/page.html", &[]);
    assert_image_error(&r, 415, 9412);

    let r = client.request("GET", "/img/alpha.png?w=50&f=png", &[]);
    let (format, w, _) = assert_transformed(&r, "image/png");
    assert_eq!((format, w), (ImageFormat::Png, 50));

    assert!(
        !r.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "nginx wants to close the connection: {}",
        r.describe()
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let nginx = start();
    let mut client = nginx.client();
    let mut batch = Vec::new();
    for path in [
        "/img/photo.jpg?w=64",
        "/raw/tiny.txt",
        "/img/photo.jpg?w=128&f=png",
        "/img/photo.jpg?w=32",
    ] {
        batch.extend(request_bytes("GET", path, &[], &[]));
    }
    client.send_raw(&batch).unwrap();

    let r = client.read_response("GET").unwrap();
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 64);
    let r = client.read_response("GET").unwrap();
    r.assert_status(200);
    assert_eq!(r.body, fixtures::TINY.as_bytes());
    let r = client.read_response("GET").unwrap();
    assert_eq!(assert_transformed(&r, "image/png").1, 128);
    let r = client.read_response("GET").unwrap();
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 32);
}

#[test]
fn nested_off_serves_raw_bytes() {
    let nginx = start();
    let r = nginx.get("/fixed/photo.jpg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);

    let r = nginx.get("/fixed/raw/photo.jpg");
    r.assert_status(200);
    assert_eq!(r.content_type(), Some("image/jpeg"));
    assert_eq!(
        r.body,
        fixture("photo.jpg"),
        "image_transform off must not touch the bytes"
    );
    assert!(r.header("image-error").is_none());
}

#[test]
fn options_from_a_map() {
    let nginx = start();
    let (format, w, _) = assert_transformed(&nginx.get("/mapped/photo.jpg"), "image/jpeg");
    assert_eq!((format, w), (ImageFormat::Jpeg, 100));
    let (format, w, _) =
        assert_transformed(&nginx.get("/mapped/photo.jpg?size=small"), "image/png");
    assert_eq!((format, w), (ImageFormat::Png, 50));
    let (format, w, _) =
        assert_transformed(&nginx.get("/mapped/photo.jpg?size=large"), "image/webp");
    assert_eq!((format, w), (ImageFormat::WebP, 400));
}

#[test]
fn options_from_regex_captures() {
    let nginx = start();
    let (_, w, h) = assert_transformed(&nginx.get("/thumb/120x80/photo.jpg"), "image/jpeg");
    assert_eq!((w, h), (120, 80));
    let (_, w, h) = assert_transformed(&nginx.get("/thumb/64x64/alpha.png"), "image/png");
    assert_eq!((w, h), (64, 64));
}

#[test]
fn options_from_query_arguments() {
    let nginx = start();
    let (_, w, h) = assert_transformed(
        &nginx.get("/img/photo.jpg?w=160&h=160&fit=cover"),
        "image/jpeg",
    );
    assert_eq!((w, h), (160, 160));
    // Unrelated arguments do not matter; absent ones are ignored.
    let (_, w, h) = assert_transformed(&nginx.get("/img/photo.jpg?x=1&h=60&y=2"), "image/jpeg");
    assert_eq!((w, h), (80, 60));
}

#[test]
fn server_and_http_level_settings_are_inherited_and_overridden() {
    let nginx = Nginx::start(
        r#"
image_transform "width=90";

server {
    listen 127.0.0.1:{PORT};
    image_transform "width=120";

    location /inherits/ {
        alias {FIXTURES}/;
    }
    location /own/ {
        alias {FIXTURES}/;
        image_transform "width=60,format=png";
    }
    location /off/ {
        alias {FIXTURES}/;
        image_transform off;
    }
}

server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location / {
        alias {FIXTURES}/;
    }
}
"#,
    );
    let (_, w, _) = assert_transformed(&nginx.get("/inherits/photo.jpg"), "image/jpeg");
    assert_eq!(
        w, 120,
        "server-level image_transform applies to a location without its own"
    );
    let (format, w, _) = assert_transformed(&nginx.get("/own/photo.jpg"), "image/png");
    assert_eq!((format, w), (ImageFormat::Png, 60));
    let r = nginx.get("/off/photo.jpg");
    r.assert_status(200);
    assert_eq!(r.body, fixture("photo.jpg"));

    // The second server inherits from http {}.
    let r = get(nginx.origin_port, "/photo.jpg");
    let (_, w, _) = assert_transformed(&r, "image/jpeg");
    assert_eq!(
        w, 90,
        "http-level image_transform applies to a server without its own"
    );
}

#[test]
fn post_and_other_methods_are_refused_with_405() {
    let nginx = start();
    for method in ["POST", "PUT", "DELETE"] {
        let mut client = nginx.client();
        let r = client.request_with_body(method, "/img/photo.jpg?w=100", &[], b"hello");
        r.assert_status(405);
        assert_eq!(
            r.header("allow"),
            Some("GET, HEAD"),
            "{method}: response:\n{}",
            r.describe()
        );
    }
    // Untransformed locations are not the module's business.
    let r = nginx.client().request("OPTIONS", "/raw/tiny.txt", &[]);
    assert!(r.header("image-error").is_none(), "{}", r.describe());
}

#[test]
fn missing_original_is_annotated_404() {
    // The status stays 404 (caches and browsers see the truth); the body
    // and header say so in the module's machine-readable form.
    let nginx = start();
    let r = nginx.get("/img/no-such-file.jpg?w=100");
    assert_image_error(&r, 404, 9404);
}

#[test]
fn redirect_passes_through() {
    let nginx = start();
    let r = nginx.get("/img-redirect");
    r.assert_status(302);
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with("/img/photo.jpg")),
        "{}",
        r.describe()
    );
    assert!(r.header("image-error").is_none(), "{}", r.describe());
}

/// The original's date says nothing about a variant (the options may have
/// changed since): `If-Modified-Since` never yields a `304` here, the
/// variant's ETag does (tests/cdn.rs).
#[test]
fn the_originals_date_does_not_revalidate_a_variant() {
    let nginx = start();
    let raw = nginx.get("/raw/photo.jpg");
    let last_modified = raw
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        "/img/photo.jpg?w=100",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    assert!(r.header("image-error").is_none(), "{}", r.describe());
    // The connection is still in a sane state afterwards.
    let r = client.request("GET", "/img/photo.jpg?w=100", &[]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
}
