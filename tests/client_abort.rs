//! Clients that leave in a burst while their transforms wait or run: every
//! one is logged 499, waiting work is dropped before it takes a slot,
//! running work stops, the pool's slots all come back and the next client
//! is served at once. Through `image_transform` and `image_endpoint`.
//! `scripts/abort-burst.py` runs the same with 1,000 clients.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Clients in a burst (CI-sized).
const CLIENTS: usize = 100;
/// How long each client waits before it closes.
const CLOSE_AFTER: Duration = Duration::from_millis(50);

const MAIN: &str = "thread_pool burst threads=2;";

const CONF: &str = r#"
log_format burst '$status "$request" $image_process_ms';
server {
    listen 127.0.0.1:{PORT};
    root {FIXTURES};
    access_log burst.log burst;
    image_timeout 120s;
    image_max_output_pixels 100000000;
    image_thread_pool burst;
    image_max_queue 1000;

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
    }
    location /cdn-cgi/image/ {
        image_endpoint;
    }
    location = /status {
        image_status;
    }
}
"#;

/// A transform of the generated 800×600 PNG that takes a while: a 5000 px
/// wide lossy WebP.
const SLOW: &str = "/img/photo.png?w=5000&f=webp";
const SLOW_ENDPOINT: &str = "/cdn-cgi/image/width=5000,format=webp/photo.png";
const QUICK: &str = "/img/photo.jpg?w=100";

/// Sends `path` on `clients` connections at once; each closes
/// [`CLOSE_AFTER`] after sending.
fn burst(port: u16, path: &str, clients: usize) {
    let request = request_bytes("GET", path, &[], b"");
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream.write_all(&request).expect("send");
                thread::sleep(CLOSE_AFTER);
                drop(stream);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
}

/// The lines of `burst.log` for `path`, once there are `count` (or after
/// a minute).
fn logged(nginx: &Nginx, path: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines: Vec<String> = nginx
            .read("burst.log")
            .lines()
            .filter(|l| l.contains(path))
            .map(str::to_string)
            .collect();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// `running` and `queued` of the pool in `image_status`.
fn pool_gauges(nginx: &Nginx) -> (i64, i64) {
    let r = nginx.get("/status?format=json");
    r.assert_status(200);
    let json = r.json().expect("image_status JSON");
    let pool = json["pools"]
        .as_array()
        .and_then(|pools| pools.iter().find(|p| p["name"] == "burst"))
        .unwrap_or_else(|| panic!("no pool \"burst\" in {}", r.text()));
    (
        pool["running"].as_i64().unwrap(),
        pool["queued"].as_i64().unwrap(),
    )
}

/// Waits until the pool has nothing running or queued.
fn wait_idle(nginx: &Nginx) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let gauges = pool_gauges(nginx);
        if gauges == (0, 0) || Instant::now() > deadline {
            return gauges;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `path` on as many connections as the pool has slots and more, all
/// at once: every one must be transformed (no slot was lost).
fn all_slots_serve(port: u16, path: &str) {
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.to_string();
            thread::spawn(move || get(port, &path))
        })
        .collect();
    for h in handles {
        let r = h.join().expect("client thread");
        assert_transformed(&r, "image/webp");
    }
}

fn check_burst(nginx: &Nginx, slow: &str, clients: usize) {
    let port = nginx.port;
    // Yardsticks, measured now on this machine.
    let (r, full) = timed(|| nginx.get(slow));
    assert_transformed(&r, "image/webp");
    let mut quick: Vec<Duration> = (0..3)
        .map(|_| {
            let (r, took) = timed(|| nginx.get(QUICK));
            assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
            took
        })
        .collect();
    quick.sort();
    let quick = quick[1];

    burst(port, slow, clients);
    let (r, next) = timed(|| nginx.get(QUICK));
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);

    let lines = logged(nginx, slow, clients + 1);
    let aborted: Vec<&String> = lines.iter().filter(|l| l.starts_with("499 ")).collect();
    let ran = aborted.iter().filter(|l| !l.ends_with(" -")).count();
    eprintln!(
        "{clients} clients left {CLOSE_AFTER:?} into {slow}: {} logged 499, {ran} of them \
         ran on the pool; next transform {next:?} (alone: {quick:?}; the slow one: {full:?})",
        aborted.len()
    );
    assert_eq!(
        aborted.len(),
        clients,
        "every client that left is logged 499; burst.log:\n{}\nerror.log:\n{}",
        lines.join("\n"),
        nginx.error_log()
    );
    // The next client waits at most for the jobs already running to reach
    // their next check (an encoder call runs to its end, slower while the
    // burst loads the machine), never for the queue of abandoned ones
    // (about clients / 2 × `full`: 25 to 50 times `full` here).
    assert!(
        next < full * 8 + quick,
        "the next transform took {next:?} (alone {quick:?}, the slow one {full:?})"
    );
    assert_eq!(wait_idle(nginx), (0, 0), "slots or queue places leaked");
    all_slots_serve(port, slow);
    assert_eq!(wait_idle(nginx), (0, 0));
    nginx.assert_log_clean();
}

#[test]
fn clients_leaving_in_a_burst_are_499_and_their_queued_work_is_dropped() {
    let _heavy = heavy_lock();
    fixtures_dir();
    let nginx = Nginx::start_with(MAIN, CONF);
    check_burst(&nginx, SLOW, CLIENTS);
    // Work of clients that left never ran: only the few jobs that were
    // running (2 threads), or started before their client closed, did.
    let lines = logged(&nginx, SLOW, CLIENTS + 1);
    let ran = lines
        .iter()
        .filter(|l| l.starts_with("499 ") && !l.ends_with(" -"))
        .count();
    assert!(
        ran <= CLIENTS / 2,
        "{ran} of {CLIENTS} abandoned transforms ran; burst.log:\n{}",
        lines.join("\n")
    );
}

#[test]
fn clients_leaving_an_endpoint_in_a_burst_are_499() {
    let _heavy = heavy_lock();
    fixtures_dir();
    let nginx = Nginx::start_with(MAIN, CONF);
    check_burst(&nginx, SLOW_ENDPOINT, CLIENTS / 2);
}
