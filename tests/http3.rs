//! The module behind HTTP/3 (QUIC; the vendored nginx is built with
//! `--with-http_v3_module`, see .cargo/config.toml): transforms, errors,
//! HEAD, `onerror=original` and many streams on one QUIC connection. The
//! client is `tests/h3_client.py` (aioquic, installed by scripts/setup.sh);
//! without it these tests are skipped with a message.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::curl::{read_headers, self_signed_cert};
use common::*;

const CONF: &str = r#"
log_format h3 '$status $server_protocol $connection "$request" $image_status';
server {
    listen 127.0.0.1:{PORT} ssl;
    listen 127.0.0.1:{PORT} quic;
    ssl_certificate CERT/cert.pem;
    ssl_certificate_key CERT/key.pem;
    access_log h3.log h3;

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
    }
    location /orig/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f,onerror=original";
        image_max_pixels 1000;
    }
}
"#;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/h3_client.py");

/// Whether python3 with aioquic is there; prints why not.
fn client_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aioquic"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "SKIPPED: python3 with aioquic is not installed (scripts/setup.sh installs it); \
             the HTTP/3 tests need it as their client"
        );
    }
    ok
}

struct Server {
    nginx: Nginx,
    _cert: TempDir,
}

fn start() -> Server {
    fixtures_dir();
    let cert = self_signed_cert();
    let conf = CONF.replace("CERT", &cert.path().display().to_string());
    Server {
        nginx: Nginx::start(&conf),
        _cert: cert,
    }
}

/// Sends `requests` ("METHOD:/path") on one QUIC connection, all at once
/// or one after the other.
fn h3(port: u16, sequential: bool, requests: &[&str]) -> Vec<Response> {
    let dir = TempDir::new("ngx-image-h3");
    let out = Command::new("python3")
        .arg(CLIENT)
        .args(sequential.then_some("--sequential"))
        .arg(port.to_string())
        .arg(dir.path())
        .args(requests)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/h3_client.py");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("connections 1"),
        "the HTTP/3 client failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..requests.len()).map(|i| reply(dir.path(), i)).collect()
}

fn reply(dir: &Path, i: usize) -> Response {
    let mut response = read_headers(&dir.join(format!("h{i}")));
    let head = std::fs::read_to_string(dir.join(format!("h{i}"))).unwrap_or_default();
    response.status = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("HTTP/3 "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    response.body = std::fs::read(dir.join(format!("b{i}"))).unwrap_or_default();
    response
}

#[test]
fn transforms_errors_head_and_onerror_over_http3() {
    if !client_available() {
        return;
    }
    let s = start();
    // One after the other, HEAD last: with this client, a request sent
    // after a HEAD on the same QUIC connection gets no answer from nginx
    // 1.28, with or without the module (plain static files too).
    let r = h3(
        s.nginx.port,
        true,
        &[
            "GET:/img/photo.jpg?w=100",
            "GET:/img/photo.png?w=80&h=80&fit=cover&f=webp",
            "GET:/img/page.html?w=100",
            "GET:/img/photo.jpg?w=abc",
            "GET:/orig/photo.jpg?w=100",
            "HEAD:/img/photo.jpg?w=100",
        ],
    );
    assert_eq!(assert_transformed(&r[0], "image/jpeg").1, 100);
    let (format, w, h) = assert_transformed(&r[1], "image/webp");
    assert_eq!((format, w, h), (image::ImageFormat::WebP, 80, 80));

    assert_image_error(&r[2], 415, 9412);
    assert_image_error(&r[3], 400, 9401);

    r[4].assert_status(200);
    assert_eq!(
        r[4].header("image-error"),
        Some("err=9413"),
        "{}",
        r[4].describe()
    );
    assert!(
        r[4].body == fixture("photo.jpg"),
        "the original, byte for byte"
    );

    r[5].assert_status(200);
    assert!(r[5].body.is_empty());
    assert_eq!(r[5].content_type(), Some("image/jpeg"));
    assert_eq!(
        r[5].content_length(),
        Some(r[0].body.len()),
        "HEAD must announce the transformed length:\n{}",
        r[5].describe()
    );

    let log = s.nginx.read("h3.log");
    assert_eq!(log.lines().count(), 6, "{log}");
    assert!(log.lines().all(|l| l.contains(" HTTP/3.0 ")), "{log}");
    s.nginx.assert_log_clean();
}

#[test]
fn many_concurrent_streams_on_one_quic_connection() {
    if !client_available() {
        return;
    }
    let _heavy = heavy_lock();
    let s = start();
    let widths: Vec<u32> = (0..32).map(|i| 30 + 2 * i).collect();
    let requests: Vec<String> = widths
        .iter()
        .map(|w| format!("GET:/img/photo.jpg?w={w}&f=png"))
        .collect();
    let refs: Vec<&str> = requests.iter().map(String::as_str).collect();
    let (replies, took) = timed(|| h3(s.nginx.port, false, &refs));
    eprintln!(
        "{} transforms over one QUIC connection took {took:?}",
        refs.len()
    );
    for (r, w) in replies.iter().zip(&widths) {
        assert_eq!(assert_transformed(r, "image/png").1, *w);
    }
    // nginx numbers each QUIC stream as a connection of its own, so
    // $connection cannot show that they shared one; the client opens one.
    let log = s.nginx.read("h3.log");
    assert_eq!(log.lines().count(), refs.len(), "{log}");
    assert!(log.lines().all(|l| l.starts_with("200 HTTP/3.0 ")), "{log}");
    s.nginx.assert_log_clean();
}
