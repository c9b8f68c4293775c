//! `image_memory`: each job's predicted peak (from the original's header)
//! is admitted against the budget before it starts. A job that can never
//! fit is `413`/9413 before decoding; jobs that fit only one at a time run
//! one after the other (the second waits in the queue although a thread
//! and a slot are free); a full queue is `503`; and the reservation comes
//! back however the job ends (done, timed out, panicked).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use image_engine::{options, predict_memory, Limits};

const MAIN: &str = "thread_pool imgs threads=4;";

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    image_thread_pool imgs;
    image_max_concurrency 4;
    image_max_queue 1;
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_memory {MEM};
    }
    location /short/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_memory {MEM};
        image_timeout 500ms;
    }
    location /never/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w";
        image_memory 1m;
    }
    location = /status { image_status; }
}
"#;

/// The engine's prediction for `photo.jpg` at width 100, as the module
/// computes it.
fn photo_cost() -> u64 {
    let transform = options::parse("width=100").unwrap();
    predict_memory(&fixture("photo.jpg"), &transform, &Limits::default()).unwrap()
}

/// A budget that holds one photo job, not two.
fn start() -> Nginx {
    let budget = photo_cost() * 3 / 2;
    Nginx::start_with(MAIN, &CONF.replace("{MEM}", &budget.to_string()))
}

fn pool(nginx: &Nginx) -> (u64, u64) {
    let r = nginx.get("/status");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    // A pool appears once a job was posted to it.
    let p = &v["pools"][0];
    (
        p["running"].as_u64().unwrap_or(0),
        p["queued"].as_u64().unwrap_or(0),
    )
}

/// Sends a request on its own connection from another thread; gives the
/// response and when it arrived.
fn spawn_get(
    nginx: &Nginx,
    path: &'static str,
    fault: Option<&'static str>,
) -> thread::JoinHandle<(Response, Instant)> {
    let port = nginx.port;
    thread::spawn(move || {
        let mut client = Client::connect(port);
        let headers: Vec<(&str, &str)> = fault.map(|f| ("X-Image-Fault", f)).into_iter().collect();
        let r = client.request("GET", path, &headers);
        (r, Instant::now())
    })
}

/// Polls `image_status` until the pool shows `want`.
fn wait_for_pool(nginx: &Nginx, want: (u64, u64)) {
    let start = Instant::now();
    while pool(nginx) != want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the pool never showed (running, queued) = {want:?}; it shows {:?}",
            pool(nginx)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_job_that_can_never_fit_is_413_before_decoding() {
    let nginx = start();
    let r = nginx.get("/never/photo.jpg?w=100");
    assert_image_error(&r, 413, 9413);
    // Answered on the event loop: nothing ran or waited on the pool.
    assert_eq!(pool(&nginx), (0, 0));
    // The same image within the budget is transformed.
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    nginx.assert_log_clean();
}

#[test]
fn jobs_that_fit_one_at_a_time_run_one_after_the_other_and_a_full_queue_is_503() {
    let nginx = start();
    // The first job stalls on its thread, holding its memory.
    let first = spawn_get(&nginx, "/img/photo.jpg?w=100", Some("stall-job"));
    wait_for_pool(&nginx, (1, 0));
    // Threads and slots are free, the memory is not: the second waits.
    let second = spawn_get(&nginx, "/img/photo.jpg?w=100", None);
    wait_for_pool(&nginx, (1, 1));
    // The queue (1) is full now.
    let (third, took) = timed(|| nginx.get("/img/photo.jpg?w=100"));
    assert_image_error(&third, 503, 9522);
    assert!(
        took < Duration::from_secs(2),
        "a refusal must not wait: {took:?}"
    );

    let (r1, t1) = first.join().unwrap();
    let (r2, t2) = second.join().unwrap();
    assert_eq!(assert_transformed(&r1, "image/jpeg").1, 100);
    assert_eq!(assert_transformed(&r2, "image/jpeg").1, 100);
    // The second (a few ms of work) ran only once the first (stalled for
    // seconds) had ended.
    assert!(
        t2 >= t1,
        "the second job finished {:?} before the first",
        t1 - t2
    );
    wait_for_pool(&nginx, (0, 0));
    // Everything was given back: two jobs in a row run at once again.
    for _ in 0..2 {
        let r = nginx.get("/img/photo.jpg?w=100");
        assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    }
    nginx.assert_log_clean();
}

#[test]
fn the_reservation_comes_back_after_a_timeout_and_a_panic() {
    let nginx = start();
    // 504 at the deadline; the stalled job keeps its memory until it ends.
    let (r, took) = timed(|| {
        let mut c = nginx.client();
        c.request(
            "GET",
            "/short/photo.jpg?w=100",
            &[("X-Image-Fault", "stall-job")],
        )
    });
    assert_image_error(&r, 504, 9529);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(pool(&nginx).0, 1, "the abandoned job still holds its slot");
    wait_for_pool(&nginx, (0, 0));

    for fault in ["panic-job", "panic-completion"] {
        let mut c = nginx.client();
        let r = c.request("GET", "/img/photo.jpg?w=100", &[("X-Image-Fault", fault)]);
        assert_image_error(&r, 500, 9500);
    }
    wait_for_pool(&nginx, (0, 0));

    // A job that needs the whole budget still runs: nothing leaked.
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
}

/// A PNG header claiming `width`×`height` RGBA pixels at `depth` bits.
fn rgba_header(width: u32, height: u32, depth: u8) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&images::png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&images::png_chunk(
        b"IDAT",
        &images::zlib_stored(&[0u8; 256]),
    ));
    out.extend_from_slice(&images::png_chunk(b"IEND", &[]));
    out
}

/// The default `image_memory` (1 GB, README) admits the largest 8-bit job
/// the default limits let through, not a 16-bit one of the same size.
#[test]
fn the_default_budget_fits_the_largest_8_bit_job_of_the_default_limits() {
    const DEFAULT_MEMORY: u64 = 1 << 30;
    const MB: f64 = (1 << 20) as f64;
    let predict = |input: &[u8], options: &str| {
        let transform = options::parse(options).unwrap();
        predict_memory(input, &transform, &Limits::default()).unwrap()
    };
    let largest = predict(&rgba_header(10_000, 10_000, 8), "width=3400");
    let deep = predict(&rgba_header(10_000, 10_000, 16), "width=3400");
    let everyday = predict(&rgba_header(2048, 1536, 8), "width=1000");
    eprintln!(
        "predicted: 100 MP RGBA PNG → 3400 px {:.0} MB, the same at 16 bits {:.0} MB, \
         2048×1536 RGBA PNG → 1000 px {:.0} MB",
        largest as f64 / MB,
        deep as f64 / MB,
        everyday as f64 / MB
    );
    assert!(largest <= DEFAULT_MEMORY, "{largest}");
    assert!(deep > DEFAULT_MEMORY, "{deep}");
    assert!(everyday < DEFAULT_MEMORY / 16, "{everyday}");
}
