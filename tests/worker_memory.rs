//! Memory follows the work, not the thread count: during a burst the
//! worker's resident memory stays under `image_memory` plus a small slack
//! above its idle value, and once the load is over it returns to within
//! 20 MB of that idle value (glibc would otherwise keep the freed image
//! buffers in the arenas of every pool thread that ran a job). A CI-sized
//! version of `scripts/bench/rss.py`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::images::*;
use common::process::*;
use common::*;
use image_engine::{options, predict_memory, Limits};

const MB: u64 = 1024; // in kB, as /proc reports

/// What resident memory may exceed the reservations by: thread stacks,
/// allocator slack, buffers of the connections.
const SLACK_MB: u64 = 32;

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {DIR}/files/;
        image_transform "width=$arg_w";
        image_memory {MEM};
        image_max_queue 64;
    }
}
"#;

/// VmRSS once it stops falling (the last job's memory is returned when it
/// ends, a moment after its response).
fn settled_rss(worker: u32) -> u64 {
    let mut last = status_kb(worker, "VmRSS");
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(100));
        let now = status_kb(worker, "VmRSS");
        if now >= last {
            return now;
        }
        last = now;
    }
    last
}

#[test]
fn memory_follows_the_work_and_returns_to_idle() {
    let _heavy = heavy_lock();
    let png = noisy_png(2048, 1536);
    let predicted = predict_memory(
        &png,
        &options::parse("width=1000").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    // Three such jobs at a time.
    let budget = predicted * 3;
    let nginx = Nginx::start(&CONF.replace("{MEM}", &budget.to_string()));
    write_file(&nginx.dir().join("files"), "big.png", &png);
    write_file(
        &nginx.dir().join("files"),
        "small.png",
        &noisy_png(200, 150),
    );
    let worker = worker_pid(&nginx);

    // Warm-up: code pages and codec tables, not image buffers.
    assert_transformed(&nginx.get("/img/small.png?w=100"), "image/png");
    let idle = settled_rss(worker);

    // A burst: 8 simultaneous requests, while a sampler records the peak.
    let peak = Arc::new(AtomicU64::new(idle));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(status_kb(worker, "VmRSS"), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let port = nginx.port;
    let burst: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Client::connect(port);
                c.request("GET", "/img/big.png?w=1000", &[])
            })
        })
        .collect();
    for r in burst {
        assert_eq!(assert_transformed(&r.join().unwrap(), "image/png").1, 1000);
    }
    // One connection resizing in a loop.
    let mut c = nginx.client();
    let start = Instant::now();
    for _ in 0..10 {
        let r = c.request("GET", "/img/big.png?w=1000", &[]);
        assert_eq!(assert_transformed(&r, "image/png").1, 1000);
    }
    let loop_time = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let after = settled_rss(worker);
    eprintln!(
        "worker VmRSS: idle {:.1} MB, peak {:.1} MB (budget {:.1} MB), after {:.1} MB; \
         10 × 2048×1536 PNG in {loop_time:?}",
        idle as f64 / MB as f64,
        peak as f64 / MB as f64,
        budget as f64 / (1 << 20) as f64,
        after as f64 / MB as f64,
    );
    assert!(
        peak <= idle + budget / 1024 + SLACK_MB * MB,
        "the peak ({peak} kB) went over idle ({idle} kB) + image_memory ({budget} B) + {SLACK_MB} MB"
    );
    assert!(
        after <= idle + 20 * MB,
        "the worker kept {} kB after the load (idle: {idle} kB)",
        after - idle
    );
    nginx.assert_log_clean();
}
