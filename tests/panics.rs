//! A panic inside the module costs one request, never the worker: a panic
//! in a pool job or in its completion on the event loop becomes a 500 with
//! code 9500 (and frees the job's slot), a panic in a filter, or while the
//! response (even the 500) is sent, closes that one connection, and the
//! same worker keeps serving.
//!
//! The panics are injected with the `fault-injection` cargo feature, which
//! `scripts/test.sh` enables; without it these tests are compiled out.
#![cfg(feature = "fault-injection")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    root {FIXTURES};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
    }
    location /one/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_max_concurrency 1;
        image_max_queue 2;
    }
    location /cdn-cgi/image/ {
        image_endpoint;
        image_max_concurrency 1;
        image_max_queue 2;
    }
}
"#;

#[test]
fn a_panic_in_a_job_is_a_500_and_the_worker_lives() {
    let nginx = Nginx::start(CONF);
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        "/img/photo.jpg?w=100",
        &[("X-Image-Fault", "panic-job")],
    );
    let message = assert_image_error(&r, 500, 9500);
    assert!(!message.is_empty());
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // Same connection, same worker: the next request is served normally.
    let r = client.request("GET", "/img/photo.jpg?w=100", &[]);
    r.assert_status(200);
    assert_eq!(r.content_type(), Some("image/jpeg"));

    let log = nginx.error_log();
    assert!(log.contains("code 9500"), "the failure is logged:\n{log}");
    // assert_log_clean refuses "exited on signal": the worker never died.
    nginx.assert_log_clean();
}

#[test]
fn a_panic_in_a_filter_closes_one_connection_and_the_worker_lives() {
    let nginx = Nginx::start(CONF);
    let mut stream = TcpStream::connect(("127.0.0.1", nginx.port)).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
        .write_all(&request_bytes(
            "GET",
            "/img/photo.jpg?w=100",
            &[("X-Image-Fault", "panic-filter")],
            &[],
        ))
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    assert!(
        !String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"),
        "a request whose filter panicked must not look successful"
    );

    for _ in 0..3 {
        let r = nginx.get("/img/photo.jpg?w=100");
        r.assert_status(200);
    }
    nginx.assert_log_clean();
}

#[test]
fn a_panic_in_the_completion_frees_the_slot_and_answers_500() {
    let nginx = Nginx::start(CONF);
    // One slot: a leaked slot would leave every later request waiting.
    for _ in 0..3 {
        let r = nginx.client().request(
            "GET",
            "/one/photo.jpg?w=100",
            &[("X-Image-Fault", "panic-completion")],
        );
        assert_image_error(&r, 500, 9500);
        let r = nginx.get("/one/photo.jpg?w=100");
        assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    }
    nginx.assert_log_clean();
}

/// Sends `path` with the fault `fault` on a connection of its own and
/// returns what came back before the connection closed.
fn raw_reply(nginx: &Nginx, path: &str, fault: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", nginx.port)).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
        .write_all(&request_bytes(
            "GET",
            path,
            &[("X-Image-Fault", fault), ("Connection", "close")],
            &[],
        ))
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// A panic while the response is sent, which the 500 that replaces it hits
/// again: the connection closes, the slot is given on (one slot: a leaked
/// one would leave every later request waiting), the worker lives. Through
/// `image_transform` and `image_endpoint`.
#[test]
fn a_panic_while_sending_closes_one_connection_and_frees_the_slot() {
    let nginx = Nginx::start(CONF);
    for (path, normal) in [
        ("/one/photo.jpg?w=100", "/one/photo.jpg?w=100"),
        (
            "/cdn-cgi/image/width=100/photo.jpg",
            "/cdn-cgi/image/width=100/photo.jpg",
        ),
    ] {
        for _ in 0..3 {
            let (reply, took) = timed(|| raw_reply(&nginx, path, "panic-response"));
            // A request nobody ends hangs until the client gives up.
            assert!(
                took < READ_TIMEOUT / 2,
                "{path}: the connection was left hanging for {took:?}"
            );
            assert!(
                !reply.starts_with("HTTP/1.1 200"),
                "{path}: a request whose response panicked must not look successful:\n{reply}"
            );
            let (r, took) = timed(|| nginx.get(normal));
            assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
            assert!(
                took < READ_TIMEOUT / 2,
                "{path}: the next request took {took:?}"
            );
        }
    }
    nginx.assert_log_clean();
}

/// A panic when an endpoint request sends what its fetch prepared: 500
/// with code 9500, and the endpoint keeps serving.
#[test]
fn a_panic_in_the_endpoint_completion_is_a_500() {
    let nginx = Nginx::start(CONF);
    for _ in 0..3 {
        let r = nginx.client().request(
            "GET",
            "/cdn-cgi/image/width=100/photo.jpg",
            &[("X-Image-Fault", "panic-endpoint")],
        );
        assert_image_error(&r, 500, 9500);
        let r = nginx.get("/cdn-cgi/image/width=100/photo.jpg");
        assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    }
    nginx.assert_log_clean();
}
