//! What is served instead of an error: the original (`onerror=original`)
//! when it is a good image the transformation could not handle, or a
//! placeholder image (`image_fallback`) for the cacheable client-side
//! failures. Transient failures keep their JSON body.

mod common;

use common::cache_policy::*;
use common::*;

const OPTIONS: &str = r#"image_transform "width=$arg_w,format=$arg_f";"#;

fn conf(closed_port: u16) -> String {
    r#"
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location / { root {FIXTURES}; }
    location = /s403 { return 403; }
}
server {
    listen 127.0.0.1:{PORT};

    # onerror=original with limits the fixtures exceed
    location /orig/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f,onerror=original";
        image_max_pixels 1000;
    }
    location /origp/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        image_transform "width=$arg_w,format=$arg_f,onerror=original";
        image_max_side 100;
    }
    location /origq/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,onerror=$arg_e";
    }

    # a placeholder image
    location /fb/ {
        alias {FIXTURES}/;
        image_buffer 500k;
        OPTIONS
        image_fallback {FIXTURES}/alpha.png;
    }
    location /fbs/ {
        alias {FIXTURES}/;
        OPTIONS
        image_fallback {FIXTURES}/anim.gif 200;
    }
    location /fbp/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        OPTIONS
        image_fallback {FIXTURES}/alpha.png;
    }
    location /fbclosed/ {
        proxy_pass http://127.0.0.1:CLOSED/;
        OPTIONS
        image_fallback {FIXTURES}/alpha.png;
    }
    location /fbbig/ {
        alias {FIXTURES}/;
        image_max_pixels 1000;
        OPTIONS
        image_fallback {FIXTURES}/alpha.png;
    }
}
"#
    .replace("OPTIONS", OPTIONS)
    .replace("CLOSED", &closed_port.to_string())
}

fn start() -> Nginx {
    Nginx::start(&conf(free_port()))
}

fn assert_original(r: &Response, fixture_name: &str, content_type: &str, code: u16) {
    r.assert_status(200);
    assert_eq!(
        r.header("image-error"),
        Some(format!("err={code}").as_str()),
        "the failure is kept as a warning; response:\n{}",
        r.describe()
    );
    assert_eq!(r.content_type(), Some(content_type), "{}", r.describe());
    assert!(
        r.body == fixture(fixture_name),
        "the body must be {fixture_name} byte for byte ({} bytes received); response:\n{}",
        r.body.len(),
        r.describe()
    );
    assert_eq!(r.content_length(), Some(r.body.len()), "{}", r.describe());
}

#[test]
fn onerror_original_serves_the_original_unchanged() {
    let nginx = start();
    for (path, name, mime) in [
        ("/orig/photo.jpg?w=100", "photo.jpg", "image/jpeg"),
        ("/orig/photo.png?w=100&f=webp", "photo.png", "image/png"),
        ("/orig/anim.gif?w=10", "anim.gif", "image/gif"),
        ("/origp/photo.jpg?w=100&f=png", "photo.jpg", "image/jpeg"),
    ] {
        let r = nginx.get(path);
        assert_original(&r, name, mime, 9413);
    }
    // Where the transformation succeeds, onerror=original changes nothing.
    let r = nginx.get("/origq/photo.jpg?w=100&e=original");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    assert!(r.header("image-error").is_none(), "{}", r.describe());
}

#[test]
fn onerror_original_does_not_hide_a_broken_original() {
    // Nothing good to fall back to: the error stands.
    let nginx = start();
    let r = nginx.get("/origq/truncated.jpg?w=100&e=original");
    assert_error_row(&r, 400, 9523, true);
    let r = nginx.get("/origq/page.html?w=100&e=original");
    assert_error_row(&r, 415, 9412, true);
    let r = nginx.get("/origq/no-such.jpg?w=100&e=original");
    assert_error_row(&r, 404, 9404, true);
    // And a bad onerror value is an invalid option.
    let r = nginx.get("/origq/photo.jpg?w=100&e=bogus");
    let message = assert_error_row(&r, 400, 9401, true);
    assert!(message.contains("onerror"), "{message:?}");
}

fn assert_placeholder(r: &Response, status: u16, code: u16, name: &str, mime: &str) {
    r.assert_status(status);
    assert_eq!(
        r.header("image-error"),
        Some(format!("err={code}").as_str()),
        "response:\n{}",
        r.describe()
    );
    assert_eq!(r.content_type(), Some(mime), "{}", r.describe());
    assert!(
        r.body == fixture(name),
        "the body must be the placeholder {name} ({} bytes received); response:\n{}",
        r.body.len(),
        r.describe()
    );
    assert_eq!(r.content_length(), Some(r.body.len()), "{}", r.describe());
    assert_cacheable(r, 60);
}

#[test]
fn image_fallback_replaces_cacheable_client_errors() {
    let nginx = start();
    for (path, status, code) in [
        ("/fb/no-such.jpg?w=100", 404, 9404),
        ("/fb/page.html?w=100", 415, 9412),
        ("/fb/truncated.jpg?w=100", 400, 9523),
        ("/fb/photo.jpg?w=abc", 400, 9401),
        ("/fb/photo.png?w=100", 413, 9402),
        ("/fbbig/photo.jpg?w=100", 413, 9413),
        ("/fbp/no-such.jpg?w=100", 404, 9404),
        ("/fbp/page.html?w=100", 415, 9412),
    ] {
        let r = nginx.get(path);
        assert_placeholder(&r, status, code, "alpha.png", "image/png");
    }
    // Good originals are still transformed.
    let r = nginx.get("/fb/photo.jpg?w=100&f=webp");
    assert_eq!(assert_transformed(&r, "image/webp").1, 100);
}

#[test]
fn image_fallback_with_a_status() {
    let nginx = start();
    for (path, code) in [
        ("/fbs/no-such.jpg?w=100", 9404),
        ("/fbs/page.html?w=100", 9412),
    ] {
        let r = nginx.get(path);
        assert_placeholder(&r, 200, code, "anim.gif", "image/gif");
    }
}

#[test]
fn transient_and_other_errors_keep_their_json_despite_image_fallback() {
    let nginx = start();
    let r = nginx.get("/fbclosed/photo.jpg?w=100");
    assert_error_row(&r, 502, 9504, false);
    let r = nginx.get("/fbp/s403?w=100");
    assert_error_row(&r, 403, 9408, true);
}

#[test]
fn image_fallback_is_checked_by_nginx_t() {
    let location = |directive: &str| {
        format!(
            r#"server {{ listen 127.0.0.1:{{PORT}};
                 location / {{ alias {{FIXTURES}}/; image_transform "width=10"; {directive} }} }}"#
        )
    };
    let (ok, out) = Nginx::test_config(&location("image_fallback {FIXTURES}/alpha.png;"));
    assert!(ok, "a placeholder image must be accepted:\n{out}");
    let (ok, out) = Nginx::test_config(&location("image_fallback {FIXTURES}/alpha.png 404;"));
    assert!(ok, "a placeholder with a status must be accepted:\n{out}");
    let (ok, out) = Nginx::test_config(&location("image_fallback off;"));
    assert!(ok, "image_fallback off must be accepted:\n{out}");

    let (ok, out) = Nginx::test_config(&location("image_fallback /nonexistent/placeholder.png;"));
    assert!(!ok, "nginx -t accepted a missing placeholder file:\n{out}");
    assert!(
        out.contains("/nonexistent/placeholder.png"),
        "the message should name the file:\n{out}"
    );
    let (ok, out) = Nginx::test_config(&location("image_fallback {FIXTURES}/page.html;"));
    assert!(
        !ok,
        "nginx -t accepted an HTML page as placeholder image:\n{out}"
    );
    let (ok, out) = Nginx::test_config(&location("image_fallback {FIXTURES}/alpha.png abc;"));
    assert!(!ok, "nginx -t accepted the status abc:\n{out}");
}
