//! Origins that fail after their header: one that closes the connection
//! mid-body gives the client the JSON `502`/9504, one that stops sending
//! gives `504`/9505 at `proxy_read_timeout`, never a dropped connection.
//! Through `image_transform` (buffered and unbuffered proxying) and
//! `image_endpoint`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::origin::{read_request_head, RawOrigin};
use common::*;

/// The front server: `/x/` proxied buffered, `/xu/` unbuffered, and the
/// endpoint, whose fetch of `/x/...` goes through the same proxy.
const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /x/ {
        proxy_pass http://127.0.0.1:ORIGIN/;
        proxy_read_timeout 1s;
        image_transform "width=$arg_w";
    }
    location /xu/ {
        proxy_pass http://127.0.0.1:ORIGIN/;
        proxy_read_timeout 1s;
        proxy_buffering off;
        image_transform "width=$arg_w";
    }
    location /cdn-cgi/image/ {
        image_endpoint;
    }
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
    }
}
"#;

/// The paths that reach the scripted origin.
const PATHS: [&str; 3] = [
    "/x/photo.jpg?w=100",
    "/xu/photo.jpg?w=100",
    "/cdn-cgi/image/width=100/x/photo.jpg",
];

fn start(origin: &RawOrigin) -> Nginx {
    fixtures_dir();
    Nginx::start(&CONF.replace("ORIGIN", &origin.port.to_string()))
}

/// The header of the whole `photo.jpg` and the first half of its body
/// (`chunked`: in chunked encoding, the last chunk cut short).
fn head_and_half(chunked: bool) -> Vec<u8> {
    let body = fixture("photo.jpg");
    let half = &body[..body.len() / 2];
    let mut out = Vec::new();
    if chunked {
        out.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    } else {
        out.extend_from_slice(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(half);
    out
}

/// Sends the header and half the body, then closes.
fn closing_origin(chunked: bool) -> RawOrigin {
    RawOrigin::start(move |mut stream: TcpStream, _stop: &AtomicBool| {
        let _ = read_request_head(&mut stream);
        let _ = stream.write_all(&head_and_half(chunked));
        let _ = stream.flush();
    })
}

/// Sends the header and half the body, then says nothing more.
fn stalling_origin() -> RawOrigin {
    RawOrigin::start(|mut stream: TcpStream, stop: &AtomicBool| {
        let _ = read_request_head(&mut stream);
        let _ = stream.write_all(&head_and_half(false));
        let _ = stream.flush();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    })
}

/// The worker is fine afterwards: it transforms the next request.
fn still_serves(nginx: &Nginx) {
    let r = nginx.get("/img/photo.jpg?w=90");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 90);
    nginx.assert_log_clean();
}

#[test]
fn origin_closing_mid_body_is_502_9504() {
    for chunked in [false, true] {
        let origin = closing_origin(chunked);
        let nginx = start(&origin);
        for path in PATHS {
            let (r, took) = timed(|| nginx.get(path));
            let what = format!("{path} (chunked: {chunked})");
            assert_eq!(r.status, 502, "{what}: {}", r.describe());
            assert_image_error(&r, 502, 9504);
            // Not the read timeout: at once.
            assert!(took < Duration::from_millis(900), "{what} took {took:?}");
        }
        assert!(origin.accepted() >= PATHS.len());
        still_serves(&nginx);
    }
}

#[test]
fn origin_stalling_mid_body_is_504_9505_at_proxy_read_timeout() {
    let origin = stalling_origin();
    let nginx = start(&origin);
    for path in PATHS {
        let (r, took) = timed(|| nginx.get(path));
        assert_eq!(r.status, 504, "{path}: {}", r.describe());
        assert_image_error(&r, 504, 9505);
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{path}: the answer should come at proxy_read_timeout (1 s), it took {took:?}"
        );
    }
    still_serves(&nginx);
}
