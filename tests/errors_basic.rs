//! Errors produced by the module (JSON body, `Image-Error` header) and
//! configuration errors caught by `nginx -t`.

mod common;

use common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f,quality=$arg_q";
    }

    # The whole option string comes from the query string, so a test can
    # send any option verbatim: /opts/photo.jpg?fit=bogus
    location /opts/ {
        alias {FIXTURES}/;
        image_transform $args;
    }

    location /limited/ {
        alias {FIXTURES}/;
        image_buffer 10k;
        image_transform "width=$arg_w";
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

#[test]
fn html_is_not_an_image() {
    let nginx = start();
    let r = nginx.get("/img/page.html?w=100");
    let message = assert_image_error(&r, 415, 9412);
    assert!(!message.is_empty());
}

#[test]
fn text_is_not_an_image() {
    let nginx = start();
    let r = nginx.get("/img/tiny.txt?w=100");
    assert_image_error(&r, 415, 9412);
    // Also without any option.
    let r = nginx.get("/img/tiny.txt");
    assert_image_error(&r, 415, 9412);
}

#[test]
fn truncated_jpeg_is_a_corrupt_image() {
    let nginx = start();
    let r = nginx.get("/img/truncated.jpg?w=100");
    assert_image_error(&r, 400, 9523);
    // The worker is fine afterwards.
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_transformed(&r, "image/jpeg");
}

/// Splits an error message into words, so that "w" can be found as a word.
fn words(message: &str) -> Vec<String> {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

#[test]
fn invalid_options_are_400_and_name_the_option() {
    let nginx = start();
    // (query string = option string, acceptable names of the culprit)
    let cases: &[(&str, &[&str])] = &[
        ("w=abc", &["w", "width"]),
        ("width=abc", &["width", "w"]),
        ("fit=bogus", &["fit"]),
        ("quality=0", &["quality", "q"]),
        ("q=101", &["quality", "q"]),
        ("width=20000", &["width", "w"]),
        ("height=0", &["height", "h"]),
        ("format=bmp", &["format", "f"]),
        ("rotate=45", &["rotate"]),
        ("bogus=1", &["bogus"]),
    ];
    let mut failures = Vec::new();
    for (query, names) in cases {
        let r = nginx.get(&format!("/opts/photo.jpg?{query}"));
        let ok = r.status == 400
            && r.header("image-error") == Some("err=9401")
            && r.json_number("code") == Some(9401)
            && r.json_number("status") == Some(400)
            && r.content_type()
                .is_some_and(|t| t.starts_with("application/json"))
            && r.json_string("error")
                .is_some_and(|m| words(&m).iter().any(|w| names.contains(&w.as_str())));
        if !ok {
            failures.push(format!("?{query}:\n{}\n", r.describe()));
        }
    }
    assert!(
        failures.is_empty(),
        "expected 400, Image-Error: err=9401 and a JSON error naming the option:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_option_through_a_variable_in_a_fixed_template() {
    let nginx = start();
    let r = nginx.get("/img/photo.jpg?w=abc");
    let message = assert_image_error(&r, 400, 9401);
    assert!(
        words(&message).iter().any(|w| w == "width" || w == "w"),
        "message should name the option: {message:?}"
    );
    let r = nginx.get("/img/photo.jpg?fit=bogus");
    let message = assert_image_error(&r, 400, 9401);
    assert!(message.contains("fit"), "{message:?}");
}

#[test]
fn empty_values_are_ignored() {
    let nginx = start();
    // Every variable empty: no option at all.
    let r = nginx.get("/img/photo.jpg?w=&h=&fit=&f=&q=");
    let (_, w, h) = assert_transformed(&r, "image/jpeg");
    assert_eq!((w, h), fixtures::PHOTO);
}

#[test]
fn static_original_larger_than_image_buffer_is_413() {
    let nginx = start();
    assert!(fixture("photo.jpg").len() > 10 * 1024);
    let r = nginx.get("/limited/photo.jpg?w=100");
    assert_image_error(&r, 413, 9402);
    // Small originals still work in the same location.
    assert!(fixture("anim.gif").len() < 10 * 1024);
    let r = nginx.get("/limited/anim.gif?w=50");
    assert_transformed(&r, "image/gif");
}

#[test]
fn errors_are_answered_to_head_without_body() {
    let nginx = start();
    let r = nginx.client().request("HEAD", "/img/page.html?w=100", &[]);
    r.assert_status(415);
    assert_eq!(
        r.header("image-error"),
        Some("err=9412"),
        "{}",
        r.describe()
    );
    assert!(r.body.is_empty());
}

// --- configuration errors (nginx -t) ---------------------------------------

fn location_with(directives: &str) -> String {
    format!(
        "server {{ listen 127.0.0.1:{{PORT}}; location /img/ {{ alias {{FIXTURES}}/; {directives} }} }}"
    )
}

#[test]
fn valid_configuration_passes_nginx_t() {
    let (ok, out) = Nginx::test_config(&location_with(
        r#"image_transform "width=$arg_w,format=webp"; image_buffer 20m; image_thread_pool default;"#,
    ));
    assert!(ok, "nginx -t failed:\n{out}");
}

#[test]
fn bad_image_buffer_fails_nginx_t() {
    let (ok, out) = Nginx::test_config(&location_with(
        r#"image_transform "width=100"; image_buffer abc;"#,
    ));
    assert!(!ok, "nginx -t accepted `image_buffer abc;`:\n{out}");
    assert!(
        out.contains("image_buffer") && out.contains("invalid"),
        "the message should name the directive and say the value is invalid:\n{out}"
    );
}

#[test]
fn image_transform_without_argument_fails_nginx_t() {
    let (ok, out) = Nginx::test_config(&location_with("image_transform;"));
    assert!(!ok, "nginx -t accepted `image_transform;`:\n{out}");
    assert!(out.contains("image_transform"), "{out}");
}

#[test]
fn unknown_thread_pool_fails_nginx_t() {
    let (ok, out) = Nginx::test_config(&location_with(
        r#"image_transform "width=100"; image_thread_pool nosuchpool;"#,
    ));
    assert!(!ok, "nginx -t accepted an unknown thread pool:\n{out}");
    assert!(
        out.contains("nosuchpool"),
        "the message should name the pool:\n{out}"
    );
}
