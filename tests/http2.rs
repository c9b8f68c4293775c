//! The module behind HTTP/2 over TLS (a certificate generated for the test,
//! ALPN negotiation): transforms, errors, HEAD, `onerror=original`, a client
//! that resets one stream while its connection lives on, and many
//! concurrent streams on one connection. The client is curl (see
//! `common/curl.rs`).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::curl::{h2_get, h2_parallel, self_signed_cert, Req};
use common::*;

/// Options that make `big.png` take seconds (see tests/offload.rs).
const HEAVY: &str = "w=7000&f=webp";

const MAIN: &str = "thread_pool single threads=1;";

const CONF: &str = r#"
log_format h2 '$status $server_protocol $connection "$request" $image_status';
server {
    listen 127.0.0.1:{PORT} ssl;
    http2 on;
    ssl_certificate CERT/cert.pem;
    ssl_certificate_key CERT/key.pem;
    access_log h2.log h2;

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
    }
    location /orig/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f,onerror=original";
        image_max_pixels 1000;
    }
    location /single/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_thread_pool single;
        # The heavy transform is deliberately larger than the default
        # output budget: it must run long enough to be cancelled.
        image_max_output_pixels 100000000;
    }
    # A plain file sent slowly: keeps a connection busy without using CPU.
    location /slow/ {
        alias {FIXTURES}/;
        limit_rate 100k;
    }
}
# The same locations over HTTP/1.1, to compare.
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location /single/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_thread_pool single;
        # The heavy transform is deliberately larger than the default
        # output budget: it must run long enough to be cancelled.
        image_max_output_pixels 100000000;
    }
}
"#;

struct Server {
    nginx: Nginx,
    _cert: TempDir,
}

fn start() -> Server {
    fixtures_dir();
    let cert = self_signed_cert();
    let conf = CONF.replace("CERT", &cert.path().display().to_string());
    Server {
        nginx: Nginx::start_with(MAIN, &conf),
        _cert: cert,
    }
}

/// The lines of the HTTP/2 server's access log.
fn h2_log(nginx: &Nginx) -> Vec<String> {
    nginx.read("h2.log").lines().map(str::to_string).collect()
}

#[test]
fn transforms_over_http2() {
    let s = start();
    let port = s.nginx.port;

    let r = h2_get(port, "/img/photo.jpg?w=100");
    assert_eq!(r.http_version, "2", "curl did not negotiate HTTP/2");
    let (_, w, _) = assert_transformed(&r.response, "image/jpeg");
    assert_eq!(w, 100);

    let r = h2_get(port, "/img/photo.png?w=80&h=80&fit=cover&f=webp");
    let (format, w, h) = assert_transformed(&r.response, "image/webp");
    assert_eq!((format, w, h), (image::ImageFormat::WebP, 80, 80));

    let r = h2_get(port, "/img/alpha.png?w=50&f=png");
    assert_eq!(assert_transformed(&r.response, "image/png").1, 50);

    let log = h2_log(&s.nginx);
    assert_eq!(log.len(), 3, "{log:?}");
    for line in &log {
        assert!(
            line.starts_with("200 HTTP/2.0 ") && line.ends_with(" 200"),
            "every request is an HTTP/2 request the module answered: {line:?}"
        );
    }
    s.nginx.assert_log_clean();
}

#[test]
fn errors_over_http2() {
    let s = start();
    let replies = h2_parallel(
        s.nginx.port,
        &[
            Req::get("/img/page.html?w=100"),
            Req::get("/img/photo.jpg?w=abc"),
            Req::get("/img/no-such.jpg?w=10"),
            Req::get("/img/truncated.jpg?w=10"),
        ],
    );
    for r in &replies {
        assert_eq!(r.http_version, "2");
    }
    assert_image_error(&replies[0].response, 415, 9412);
    let message = assert_image_error(&replies[1].response, 400, 9401);
    assert!(message.contains("width"), "{message:?}");
    assert_image_error(&replies[2].response, 404, 9404);
    assert_image_error(&replies[3].response, 400, 9523);
    s.nginx.assert_log_clean();
}

#[test]
fn head_over_http2_announces_the_transformed_length() {
    let s = start();
    let replies = h2_parallel(
        s.nginx.port,
        &[
            Req::head("/img/photo.jpg?w=120"),
            Req::get("/img/photo.jpg?w=120"),
        ],
    );
    let (head, get) = (&replies[0].response, &replies[1].response);
    assert_eq!(assert_transformed(get, "image/jpeg").1, 120);
    head.assert_status(200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.content_type(),
        Some("image/jpeg"),
        "{}",
        head.describe()
    );
    assert_eq!(
        head.content_length(),
        Some(get.body.len()),
        "HEAD must announce the transformed length; HEAD response:\n{}",
        head.describe()
    );
    // The variant's validator, the same as the GET's.
    assert_eq!(
        head.header("etag"),
        get.header("etag"),
        "{}",
        head.describe()
    );
    assert!(
        head.header("accept-ranges").is_none(),
        "{}",
        head.describe()
    );
    s.nginx.assert_log_clean();
}

#[test]
fn onerror_original_over_http2() {
    let s = start();
    let r = h2_get(s.nginx.port, "/orig/photo.jpg?w=100");
    let r = &r.response;
    r.assert_status(200);
    assert_eq!(
        r.header("image-error"),
        Some("err=9413"),
        "{}",
        r.describe()
    );
    assert_eq!(r.content_type(), Some("image/jpeg"), "{}", r.describe());
    assert!(
        r.body == fixture("photo.jpg"),
        "the original must be served byte for byte ({} bytes received)",
        r.body.len()
    );
    assert_eq!(r.content_length(), Some(r.body.len()));
    s.nginx.assert_log_clean();
}

#[test]
fn many_concurrent_streams_on_one_connection() {
    let _heavy = heavy_lock();
    let s = start();
    // 64 different transforms at once: each answer must be its own.
    let widths: Vec<u32> = (0..64).map(|i| 40 + i).collect();
    let requests: Vec<Req> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (name, f) = match i % 3 {
                0 => ("photo.jpg", "jpeg"),
                1 => ("photo.png", "webp"),
                _ => ("alpha.png", "png"),
            };
            Req::get(&format!("/img/{name}?w={w}&f={f}"))
        })
        .collect();
    let (replies, took) = timed(|| h2_parallel(s.nginx.port, &requests));
    eprintln!("{} multiplexed transforms took {took:?}", requests.len());

    let connections: u32 = replies.iter().map(|r| r.new_connections).sum();
    assert_eq!(connections, 1, "all streams must share one connection");
    for (reply, w) in replies.iter().zip(&widths) {
        assert_eq!(reply.http_version, "2");
        let mime = match reply.response.content_type() {
            Some(m) => m.to_string(),
            None => panic!("no Content-Type:\n{}", reply.response.describe()),
        };
        assert_eq!(assert_transformed(&reply.response, &mime).1, *w);
    }

    // nginx saw them as streams of a single connection.
    let log = h2_log(&s.nginx);
    assert_eq!(log.len(), requests.len(), "{log:?}");
    let connection_ids: std::collections::BTreeSet<&str> = log
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap_or(""))
        .collect();
    assert_eq!(connection_ids.len(), 1, "{log:?}");
    assert!(
        log.iter().all(|l| l.starts_with("200 HTTP/2.0 ")),
        "{log:?}"
    );
    s.nginx.assert_log_clean();
}

/// A client that resets one stream (curl's per-transfer timeout sends
/// RST_STREAM) while another stream keeps the connection open: the reset
/// request is logged as 499 and its job stops, freeing the pool's only
/// thread for the next transform long before the job would have ended.
#[test]
fn stream_reset_is_499_and_cancels_the_work() {
    let _heavy = heavy_lock();
    let s = start();
    let h1 = s.nginx.origin_port;

    // Baseline: how long the heavy job runs to its end here (HTTP/1.1).
    let (r, full) = timed(|| get(h1, &format!("/single/big.png?{HEAVY}")));
    r.assert_status(200);
    eprintln!("the heavy transform runs {full:?} when nobody cancels it");

    // One connection, two streams: the heavy transform, reset after 0.4 s,
    // and a slow plain file that keeps the connection open meanwhile.
    let port = s.nginx.port;
    let started = Instant::now();
    let h2 = thread::spawn(move || {
        h2_parallel(
            port,
            &[
                Req::timeout(&format!("/single/big.png?{HEAVY}"), 0.4),
                Req::get("/slow/photo.jpg"),
            ],
        )
    });
    // After the reset, the pool's only thread must be free again soon.
    thread::sleep(Duration::from_millis(800));
    let (r, waited) = timed(|| get(h1, "/single/photo.jpg?w=100"));
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    eprintln!(
        "a transform queued {:?} after the reset answered in {waited:?}",
        started.elapsed() - waited
    );
    let replies = h2.join().expect("curl thread");

    assert_eq!(
        replies[0].response.status, 0,
        "the heavy transfer must time out"
    );
    replies[1].response.assert_status(200);
    assert!(
        replies[1].response.body == fixture("photo.jpg"),
        "the other stream is unaffected"
    );
    assert_eq!(
        replies.iter().map(|r| r.new_connections).sum::<u32>(),
        1,
        "both streams must share one connection"
    );
    assert!(
        replies[1].seconds > 0.8,
        "the slow stream must outlive the reset for this test to mean anything \
         (it took {} s)",
        replies[1].seconds
    );

    let line = s.nginx.wait_for_log(
        "h2.log",
        |l| l.starts_with("499 HTTP/2.0 ") && l.contains("big.png"),
        Duration::from_secs(5),
    );
    assert!(
        line.is_some(),
        "no 499 for the reset stream; h2.log:\n{}\nerror.log:\n{}",
        s.nginx.read("h2.log"),
        s.nginx.error_log()
    );
    assert!(
        waited < full / 2,
        "the next transform on the pool took {waited:?} (the heavy job runs {full:?}): \
         the reset stream's job was not cancelled"
    );
    s.nginx.assert_log_clean();
}
