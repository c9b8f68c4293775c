//! The `image_endpoint` content handler with path sources: static and
//! proxied originals, the filter's error table, methods, loops and the
//! anonymised origin request.

mod common;

use common::*;

/// The origin logs the headers each request carried, so a test can see
/// what the module sent.
const CONF: &str = r#"
log_format echo '$uri|cookie=$http_cookie|auth=$http_authorization|key=$http_x_api_key|ua=$http_user_agent|via=$http_via|accept=$http_accept|range=$http_range';

server {
    listen 127.0.0.1:{ORIGIN_PORT};
    access_log echo.log echo;
    location / {
        root {FIXTURES};
    }
    location = /moved.jpg {
        return 302 /photo.jpg;
    }
    location = /broken {
        return 500;
    }
}

server {
    listen 127.0.0.1:{PORT};
    root {FIXTURES};

    location /cdn-cgi/image/ {
        image_endpoint;
    }
    location /trusted/image/ {
        image_endpoint;
        image_endpoint_pass_credentials on;
    }
    location /strict/image/ {
        image_endpoint;
        image_params_allowed width height;
        image_buffer 10k;
    }
    location /proxied/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
    }
    location /uploads/ {
        alias {FIXTURES}/;
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

#[test]
fn static_path_source_is_transformed() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=100,format=png/photo.jpg");
    let (format, w, _) = assert_transformed(&r, "image/png");
    assert_eq!((format, w), (image::ImageFormat::Png, 100));
    // A path served by another location (alias) works the same way.
    let r = nginx.get("/cdn-cgi/image/width=80/uploads/photo.jpg");
    let (_, w, _) = assert_transformed(&r, "image/jpeg");
    assert_eq!(w, 80);
    nginx.assert_log_clean();
}

#[test]
fn proxied_path_source_is_transformed() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=64/proxied/photo.jpg");
    let (_, w, _) = assert_transformed(&r, "image/jpeg");
    assert_eq!(w, 64);
    nginx.assert_log_clean();
}

#[test]
fn origin_errors_follow_the_filter_table() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=64/missing.jpg");
    assert_image_error(&r, 404, 9404);
    let r = nginx.get("/cdn-cgi/image/width=64/proxied/missing.jpg");
    assert_image_error(&r, 404, 9404);
    let r = nginx.get("/cdn-cgi/image/width=64/proxied/broken");
    assert_image_error(&r, 502, 9509);
    let r = nginx.get("/cdn-cgi/image/width=64/page.html");
    assert_image_error(&r, 415, 9412);
    // The endpoint's own limits apply, not the source location's.
    let r = nginx.get("/strict/image/width=64/big.png");
    assert_eq!(r.status, 413, "{}", r.describe());
    nginx.assert_log_clean();
}

#[test]
fn bad_urls_and_options_are_refused_without_fetching() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=64/a/%2e%2e/%2e%2e/etc/passwd");
    assert_image_error(&r, 400, 9406);
    // (A plain or escaped `..` right after the options is merged by nginx
    // before routing and never reaches the endpoint.)
    let r = nginx.get("/cdn-cgi/image/width=64/ftp://example.com/a.jpg");
    assert_image_error(&r, 400, 9406);
    let r = nginx.get("/cdn-cgi/image/wdth=64/photo.jpg");
    assert_eq!(r.status, 400, "{}", r.describe());
    // An option the location does not allow: as image_params_allowed
    // answers in the filter phase.
    let r = nginx.get("/strict/image/width=64,blur=3/photo.jpg");
    assert_image_error(&r, 401, 9401);
    let r = nginx.get("/cdn-cgi/image/width=64");
    assert_eq!(r.status, 400, "{}", r.describe());
    nginx.assert_log_clean();
}

#[test]
fn percent_encoded_sources_are_decoded_once() {
    let nginx = start();
    // %2F in the source is a separator once decoded: uploads/photo.jpg.
    let r = nginx.get("/cdn-cgi/image/width=50/uploads%2Fphoto.jpg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 50);
    // Escaped options are decoded before parsing.
    let r = nginx.get("/cdn-cgi/image/width%3D40%2Cformat%3Dpng/photo.jpg");
    assert_eq!(assert_transformed(&r, "image/png").1, 40);
    // A doubly escaped dot-dot stays a file name that does not exist.
    let r = nginx.get("/cdn-cgi/image/width=50/%252e%252e/photo.jpg");
    assert_image_error(&r, 404, 9404);
    nginx.assert_log_clean();
}

#[test]
fn head_answers_the_length_without_a_body() {
    let nginx = start();
    let get = nginx.get("/cdn-cgi/image/width=90/photo.jpg");
    let mut client = nginx.client();
    let head = client.request("HEAD", "/cdn-cgi/image/width=90/photo.jpg", &[]);
    head.assert_status(200);
    assert!(head.body.is_empty());
    assert_eq!(head.content_length(), Some(get.body.len()));
    assert_eq!(head.content_type(), Some("image/jpeg"));
    nginx.assert_log_clean();
}

#[test]
fn only_get_and_head_are_allowed() {
    let nginx = start();
    let mut client = nginx.client();
    let r = client.request_with_body(
        "POST",
        "/cdn-cgi/image/width=90/photo.jpg",
        &[],
        &vec![b'x'; 100_000],
    );
    r.assert_status(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    // The body was discarded: the connection serves the next request.
    let r = client.request("GET", "/cdn-cgi/image/width=30/photo.jpg", &[]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 30);
    nginx.assert_log_clean();
}

#[test]
fn keep_alive_serves_several_endpoint_requests() {
    let nginx = start();
    let mut client = nginx.client();
    for width in [20, 30, 40, 50] {
        let path = format!("/cdn-cgi/image/width={width}/proxied/photo.jpg");
        let r = client.request("GET", &path, &[]);
        assert_eq!(assert_transformed(&r, "image/jpeg").1, width);
    }
    let r = client.request("GET", "/cdn-cgi/image/width=20/missing.jpg", &[]);
    assert_image_error(&r, 404, 9404);
    let r = client.request("GET", "/cdn-cgi/image/width=20/photo.jpg", &[]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 20);
    nginx.assert_log_clean();
}

#[test]
fn loops_are_refused_without_fetching() {
    let nginx = start();
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        "/cdn-cgi/image/width=20/proxied/photo.jpg",
        &[("Via", "1.1 cdn, 1.1 nginx-image")],
    );
    assert_image_error(&r, 508, 9403);
    let r = nginx.get("/cdn-cgi/image/width=20/cdn-cgi/image/width=40/photo.jpg");
    assert_image_error(&r, 508, 9403);
    // Through another endpoint location, reached by the fetch.
    let r = nginx.get("/cdn-cgi/image/width=20/trusted/image/width=40/photo.jpg");
    assert_image_error(&r, 508, 9403);
    assert!(
        !nginx.read("echo.log").contains("photo.jpg"),
        "nothing may be fetched for a loop"
    );
    nginx.assert_log_clean();
}

const CLIENT_HEADERS: &[(&str, &str)] = &[
    ("Cookie", "session=secret"),
    ("Authorization", "Bearer t0ken"),
    ("Proxy-Authorization", "Basic eA=="),
    ("X-Api-Key", "k3y"),
    ("User-Agent", "Visitor/1.0"),
    ("Range", "bytes=0-10"),
];

fn fetched_line(nginx: &Nginx) -> String {
    nginx
        .wait_for_log("echo.log", |l| l.starts_with("/photo.jpg|"), READ_TIMEOUT)
        .expect("the origin saw the fetch")
}

#[test]
fn origin_requests_are_anonymised() {
    let nginx = start();
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        "/cdn-cgi/image/width=20/proxied/photo.jpg",
        CLIENT_HEADERS,
    );
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 20);
    let line = fetched_line(&nginx);
    for secret in ["session=secret", "t0ken", "k3y", "Visitor", "bytes="] {
        assert!(
            !line.contains(secret),
            "{secret} reached the origin: {line}"
        );
    }
    assert!(line.contains("ua=nginx-image|"), "{line}");
    assert!(line.contains("via=1.1 nginx-image|"), "{line}");
    assert!(line.contains("accept=image/webp"), "{line}");
    nginx.assert_log_clean();
}

#[test]
fn credentials_pass_when_the_operator_opts_in() {
    let nginx = start();
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        "/trusted/image/width=20/proxied/photo.jpg",
        CLIENT_HEADERS,
    );
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 20);
    let line = fetched_line(&nginx);
    for passed in [
        "cookie=session=secret",
        "auth=Bearer t0ken",
        "key=k3y",
        "ua=Visitor/1.0",
    ] {
        assert!(line.contains(passed), "{passed} missing: {line}");
    }
    // Never a range, and always the module's hop.
    assert!(line.contains("range=-"), "{line}");
    assert!(line.contains("via=1.1 nginx-image|"), "{line}");
    nginx.assert_log_clean();
}

#[test]
fn client_abort_while_fetching_is_499() {
    let origin = common::origin::RawOrigin::silent();
    let silent = format!(
        "location /silent/ {{ proxy_pass http://127.0.0.1:{}/; }}\n    location /uploads/",
        origin.port
    );
    let nginx = Nginx::start(&CONF.replacen("location /uploads/", &silent, 1));
    let mut client = nginx.client();
    client
        .send_raw(&request_bytes(
            "GET",
            "/cdn-cgi/image/width=20/silent/photo.jpg",
            &[],
            b"",
        ))
        .unwrap();
    let deadline = std::time::Instant::now() + READ_TIMEOUT;
    while origin.accepted() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(origin.accepted(), 1, "the fetch reached the origin");
    client.close();
    let line = nginx.wait_for_access_log(|l| l.contains("/silent/photo.jpg"), READ_TIMEOUT);
    assert!(
        line.as_deref().is_some_and(|l| l.starts_with("499 ")),
        "{line:?}"
    );
    // The worker still serves.
    let r = nginx.get("/cdn-cgi/image/width=20/photo.jpg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 20);
    nginx.assert_log_clean();
}

#[test]
fn the_endpoint_location_settings_apply() {
    let fallback = fixtures_dir().join("photo.png");
    let conf = CONF.replacen(
        "location /uploads/",
        &format!(
            "location /placeholder/image/ {{ image_endpoint; image_fallback {}; }}\n    location /uploads/",
            fallback.display()
        ),
        1,
    );
    let nginx = Nginx::start(&conf);
    // A missing source answers the placeholder with the error's status.
    let r = nginx.get("/placeholder/image/width=20/missing.jpg");
    r.assert_status(404);
    assert_eq!(r.content_type(), Some("image/png"));
    assert_eq!(r.header("image-error"), Some("err=9404"));
    // Errors are cached as the filter's are; successes keep nothing of
    // the source location's own headers that could leak (Set-Cookie).
    let r = nginx.get("/cdn-cgi/image/width=20/missing.jpg");
    assert!(r
        .header("cache-control")
        .is_some_and(|v| v.contains("max-age")));
    nginx.assert_log_clean();
}

/// The endpoint's answers carry the same validators and negotiation as the
/// filter's: a variant ETag, a `304` only for the variant the client has,
/// `format=auto` settled from `Accept` with `Vary: Accept`.
#[test]
fn validators_and_negotiation_match_the_filter() {
    let nginx = start();
    let mut client = nginx.client();
    let path = "/cdn-cgi/image/width=60,format=auto/photo.jpg";
    let webp = client.request("GET", path, &[("Accept", "image/webp,*/*;q=0.8")]);
    assert_transformed(&webp, "image/webp");
    assert_eq!(webp.header("vary"), Some("Accept"), "{}", webp.describe());
    let tag = webp.header("etag").expect("a variant ETag").to_string();
    assert!(tag.contains(':'), "variant:origin ETag expected, got {tag}");
    assert!(
        webp.header("last-modified").is_none(),
        "{}",
        webp.describe()
    );

    // Same variant: 304, nothing in the body.
    let r = client.request(
        "GET",
        path,
        &[("Accept", "image/webp,*/*;q=0.8"), ("If-None-Match", &tag)],
    );
    assert_eq!(r.status, 304, "{}", r.describe());
    assert!(r.body.is_empty());

    // Another negotiated format, or other options: the old validator gives a
    // full 200 with a different ETag.
    let r = client.request("GET", path, &[("Accept", "*/*"), ("If-None-Match", &tag)]);
    assert_transformed(&r, "image/jpeg");
    assert_ne!(r.header("etag"), Some(tag.as_str()), "{}", r.describe());
    let r = client.request(
        "GET",
        "/cdn-cgi/image/width=61,format=auto/photo.jpg",
        &[("Accept", "image/webp"), ("If-None-Match", &tag)],
    );
    assert_transformed(&r, "image/webp");
    assert_ne!(r.header("etag"), Some(tag.as_str()), "{}", r.describe());

    // A fixed format does not vary on Accept.
    let r = client.request("GET", "/cdn-cgi/image/width=60,format=png/photo.jpg", &[]);
    assert_transformed(&r, "image/png");
    assert!(r.header("vary").is_none(), "{}", r.describe());
    nginx.assert_log_clean();
}
