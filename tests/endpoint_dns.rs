//! `image_endpoint` looking absolute sources up with nginx's `resolver`:
//! a test DNS server maps names to loopback, so a name that resolves to a
//! private address is refused (no SSRF through DNS) unless the operator
//! allows private addresses; failed lookups are 502/9407.

mod common;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::*;

/// A DNS server on a loopback UDP port that answers A queries for the
/// names it knows with 127.0.0.1, other queries for them with no
/// records, and NXDOMAIN for any other name.
struct TestDns {
    port: u16,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestDns {
    fn start(names: &'static [&'static str]) -> TestDns {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind dns");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, queries) = (stop.clone(), queries.clone());
            thread::spawn(move || {
                let mut buf = [0u8; 512];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((len, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    queries.fetch_add(1, Ordering::Relaxed);
                    if let Some(reply) = answer(&buf[..len], names) {
                        let _ = socket.send_to(&reply, from);
                    }
                }
            })
        };
        TestDns {
            port,
            queries,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reply to one query (RFC 1035 §4.1), or `None` if it is malformed.
fn answer(query: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = &query[12..at + 4];
    let name = labels.join(".");
    let known = names.contains(&name.as_str());
    let a_record = known && qtype == 1;
    let mut reply = Vec::new();
    reply.extend_from_slice(&query[..2]);
    reply.extend_from_slice(if known { &[0x81, 0x80] } else { &[0x81, 0x83] });
    reply.extend_from_slice(&[0, 1, 0, u8::from(a_record), 0, 0, 0, 0]);
    reply.extend_from_slice(question);
    if a_record {
        reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]);
    }
    Some(reply)
}

fn conf(dns_port: u16) -> String {
    r#"
log_format echo '$uri|host=$http_host|via=$http_via';

server {
    listen 127.0.0.1:{ORIGIN_PORT};
    access_log echo.log echo;
    location / {
        root {FIXTURES};
    }
}

server {
    listen 127.0.0.1:{PORT};
    resolver 127.0.0.1:DNS ipv6=off valid=1s;
    resolver_timeout 2s;
    image_endpoint_upstream /_image_origin;
    image_endpoint_hosts_allowed *.example.com;

    location /cdn-cgi/image/ {
        image_endpoint;
    }
    location /internal/image/ {
        image_endpoint;
        image_endpoint_private_addresses on;
    }
    location /deaf/image/ {
        image_endpoint;
        image_endpoint_private_addresses on;
        resolver 127.0.0.1:DEAF ipv6=off;
        resolver_timeout 1s;
    }
    location /_image_origin {
        internal;
        proxy_pass $image_source_url;
        proxy_set_header Host $image_source_host;
    }
}
"#
    .replace("DNS", &dns_port.to_string())
    .replace("DEAF", &free_udp_port().to_string())
}

/// A loopback UDP port where nothing answers.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("bind udp")
}

#[test]
fn a_name_that_resolves_to_loopback_is_refused() {
    let dns = TestDns::start(&["images.example.com"]);
    let nginx = Nginx::start(&conf(dns.port));
    let source = format!("http://images.example.com:{}/photo.jpg", nginx.origin_port);
    let r = nginx.get(&format!("/cdn-cgi/image/width=20/{source}"));
    assert_image_error(&r, 401, 9401);
    assert!(
        dns.queries.load(Ordering::Relaxed) >= 1,
        "the name was looked up"
    );
    assert!(
        !nginx.read("echo.log").contains("photo.jpg"),
        "nothing fetched"
    );
    nginx.assert_log_clean();
}

#[test]
fn a_resolved_name_is_fetched_with_its_host_when_private_addresses_are_allowed() {
    let dns = TestDns::start(&["images.example.com"]);
    let nginx = Nginx::start(&conf(dns.port));
    let host = format!("images.example.com:{}", nginx.origin_port);
    let mut client = nginx.client();
    for width in [20, 30] {
        // The second request finds the answer in the resolver's cache.
        let path = format!("/internal/image/width={width}/http://{host}/photo.jpg");
        let r = client.request("GET", &path, &[]);
        assert_eq!(assert_transformed(&r, "image/jpeg").1, width);
    }
    let line = nginx
        .wait_for_log("echo.log", |l| l.starts_with("/photo.jpg|"), READ_TIMEOUT)
        .expect("the origin saw the fetch");
    assert!(line.contains(&format!("host={host}|")), "{line}");
    assert!(line.contains("via=1.1 nginx-image"), "{line}");
    drop(dns);
    nginx.assert_log_clean();
}

#[test]
fn failed_lookups_are_502_9407() {
    let dns = TestDns::start(&["images.example.com"]);
    let nginx = Nginx::start(&conf(dns.port));
    let r = nginx.get("/internal/image/width=20/http://void.example.com/photo.jpg");
    let message = assert_image_error(&r, 502, 9407);
    assert!(message.contains("void.example.com"), "{message}");
    // A resolver that never answers: nginx's resolver_timeout.
    let r = nginx.get("/deaf/image/width=20/http://images.example.com/photo.jpg");
    assert_image_error(&r, 502, 9407);
    nginx.assert_log_clean();
}
