//! Static files read with `aio threads` from nginx's `default` pool are
//! never starved by image work: by default the module leaves half of that
//! pool's threads free, so while every image slot is busy a static file
//! answers about as fast as on an idle server. The control shows the test
//! can fail: a location that lets images take every thread makes the same
//! static file wait for a job to end.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_max_queue 64;
    }
    location /greedy/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_max_concurrency 32;
        image_max_queue 64;
    }
    # Read on the default pool's threads, not on the event loop.
    location /static/ {
        alias {FIXTURES}/;
        sendfile off;
        aio threads;
    }
    location = /status { image_status; }
}
"#;

fn running(nginx: &Nginx) -> u64 {
    let r = nginx.get("/status");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["pools"][0]["running"].as_u64().unwrap_or(0)
}

/// Starts `count` image jobs that each hold a pool thread for seconds
/// (`stall-job`), and waits until `busy` of them run.
fn occupy(nginx: &Nginx, prefix: &str, count: usize, busy: u64) -> Vec<thread::JoinHandle<u16>> {
    let handles = (0..count)
        .map(|_| {
            let port = nginx.port;
            let path = format!("{prefix}photo.jpg?w=100");
            thread::spawn(move || {
                let mut client = Client::connect(port);
                client
                    .request("GET", &path, &[("X-Image-Fault", "stall-job")])
                    .status
            })
        })
        .collect();
    let start = Instant::now();
    while running(nginx) < busy {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the jobs never started"
        );
        thread::sleep(Duration::from_millis(20));
    }
    handles
}

/// The slowest of a few static reads of `page.html`.
fn static_latency(nginx: &Nginx) -> Duration {
    (0..5)
        .map(|_| {
            let (r, took) = timed(|| nginx.get("/static/page.html"));
            r.assert_status(200);
            took
        })
        .max()
        .unwrap()
}

#[test]
fn static_files_answer_while_every_image_slot_is_busy() {
    let nginx = Nginx::start(CONF);
    nginx.get("/static/page.html").assert_status(200);
    let baseline = static_latency(&nginx);

    // The default pool has 32 threads; the module takes 16 of them.
    let jobs = occupy(&nginx, "/img/", 20, 16);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        running(&nginx),
        16,
        "the default concurrency is half the pool"
    );
    let busy = static_latency(&nginx);
    eprintln!("static file: idle {baseline:?}, every image slot busy {busy:?}");
    assert!(
        busy < baseline + Duration::from_millis(100),
        "a static file took {busy:?} while images ran (idle: {baseline:?})"
    );
    for job in jobs {
        assert_eq!(job.join().unwrap(), 200);
    }
    nginx.assert_log_clean();
}

#[test]
fn images_that_take_every_thread_starve_static_files() {
    let nginx = Nginx::start(CONF);
    let baseline = static_latency(&nginx);
    let jobs = occupy(&nginx, "/greedy/", 32, 32);
    let (r, busy) = timed(|| nginx.get("/static/page.html"));
    r.assert_status(200);
    eprintln!("static file: idle {baseline:?}, every pool thread busy {busy:?}");
    assert!(
        busy > baseline + Duration::from_millis(500),
        "the control did not starve: {busy:?} (idle: {baseline:?})"
    );
    for job in jobs {
        assert_eq!(job.join().unwrap(), 200);
    }
}
