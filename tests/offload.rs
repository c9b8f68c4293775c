//! The work happens on nginx thread pools, off the event loop; clients that
//! go away are logged as 499 and do not hurt the worker.
//!
//! These tests use `big.png` (10000×7500, ~73 MB PNG) with [`HEAVY`]:
//! decode 75 megapixels, resample to 7000 px wide, encode as lossy WebP.
//! Measured through nginx on the 2-core reference machine: ~3.0 s
//! (`w=9999&f=webp` 6.0–6.3 s, `w=9999&f=png` 1.5–1.9 s, `w=9999&f=jpeg`
//! 1.1 s). The tests print what they measure (`--nocapture` shows it).
//! Every test here that starts nginx holds [`heavy_lock`], so none of them
//! runs at the same time as another and distorts its timings.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Options that make `big.png` take seconds, with a small answer.
const HEAVY: &str = "w=7000&f=webp";
const HEAVY_WIDTH: u32 = 7000;

const MAIN: &str = "thread_pool imgs threads=2;\nthread_pool single threads=1;";

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    # The heavy transform takes ~3 s; a loaded machine may take several
    # times that, which must not turn into a 504 here.
    image_timeout 120s;
    # The heavy jobs here make outputs far over the default budget.
    image_max_output_pixels 100000000;

    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
    }
    location /inline/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
        image_thread_pool off;
    }
    location /named/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
        image_thread_pool imgs;
    }
    location /single/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f";
        image_thread_pool single;
        image_max_queue 1;
    }
    location /static/ {
        alias {FIXTURES}/;
    }
}
"#;

fn start() -> Nginx {
    // Generate the fixtures before taking any timing.
    fixtures_dir();
    Nginx::start_with(MAIN, CONF)
}

/// Starts the heavy transform on its own connection; returns the thread,
/// which yields the response, how long it took and when it finished.
fn spawn_heavy(port: u16, prefix: &str) -> thread::JoinHandle<(Response, Duration, Instant)> {
    let path = format!("{prefix}/big.png?{HEAVY}");
    thread::spawn(move || {
        let (resp, took) = timed(|| get(port, &path));
        (resp, took, Instant::now())
    })
}

/// The static probe's latency with nothing else running: the yardstick
/// the timing assertions below compare with, measured in the same run.
fn idle_latency(port: u16) -> Duration {
    let mut latencies: Vec<Duration> = (0..5)
        .map(|_| {
            let (resp, took) = timed(|| get(port, "/static/tiny.txt"));
            resp.assert_status(200);
            took
        })
        .collect();
    latencies.sort();
    latencies[latencies.len() / 2]
}

#[test]
fn transforms_run_off_the_event_loop() {
    let _heavy = heavy_lock();
    let nginx = start();
    let port = nginx.port;
    let idle = idle_latency(port);

    let heavy = spawn_heavy(port, "/img");
    // Let nginx read the original and hand the job to the pool.
    thread::sleep(Duration::from_millis(500));

    let mut latencies = Vec::new();
    for _ in 0..5 {
        let (resp, took) = timed(|| get(port, "/static/tiny.txt"));
        resp.assert_status(200);
        assert_eq!(resp.body, fixtures::TINY.as_bytes());
        latencies.push(took);
        thread::sleep(Duration::from_millis(50));
    }
    let probes_done = Instant::now();

    let (resp, took, finished) = heavy.join().expect("heavy request thread");
    eprintln!(
        "big.png {HEAVY}: {:.2} s through nginx; tiny.txt latencies meanwhile: {:?} \
         (idle: {idle:?})",
        took.as_secs_f64(),
        latencies
    );
    let (_, w, _) = assert_transformed(&resp, "image/webp");
    assert_eq!(w, HEAVY_WIDTH);
    assert!(
        took >= idle * 20,
        "the heavy transform took only {took:?}, {idle:?} for a static file: \
         the test proves nothing (make big.png heavier)"
    );
    assert!(
        finished > probes_done,
        "the probes must run while the transform is in flight (it took {took:?})"
    );
    // Blocked, a probe would wait for the rest of the transform (seconds);
    // free, it costs about what it costs idle.
    let worst = *latencies.iter().max().unwrap();
    assert!(
        worst < took / 5,
        "a static file took {worst:?} while a {took:?} transform ran (idle: {idle:?}): \
         the event loop is blocked (all latencies: {latencies:?})"
    );
}

#[test]
fn thread_pool_off_runs_inline() {
    let _heavy = heavy_lock();
    let nginx = start();
    let port = nginx.port;

    let heavy = spawn_heavy(port, "/inline");
    thread::sleep(Duration::from_millis(500));
    let probe_started = Instant::now();
    let (resp, probe) = timed(|| get(port, "/static/tiny.txt"));
    resp.assert_status(200);

    let (resp, took, finished) = heavy.join().expect("heavy request thread");
    eprintln!(
        "inline big.png {HEAVY}: {:.2} s; tiny.txt meanwhile: {probe:?}",
        took.as_secs_f64()
    );
    let (_, w, _) = assert_transformed(&resp, "image/webp");
    assert_eq!(w, HEAVY_WIDTH);
    // Inline means the worker is busy: the probe waited for (most of) the
    // rest of the transform. (Control for the test above: the same
    // measurement does see blocking.)
    let rest = finished.saturating_duration_since(probe_started);
    assert!(
        probe >= rest / 2,
        "with image_thread_pool off the transform should block the worker, \
         yet a static file came back in {probe:?} while the transform had {rest:?} to go"
    );

    // Small images work inline too.
    let r = nginx.get("/inline/photo.jpg?w=100&f=webp");
    assert_eq!(assert_transformed(&r, "image/webp").1, 100);
}

#[test]
fn named_thread_pool_works() {
    let _heavy = heavy_lock();
    let nginx = start();
    let r = nginx.get("/named/photo.jpg?w=150");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 150);

    // More requests at once than the pool has threads: they queue.
    let port = nginx.port;
    let handles: Vec<_> = (0..6)
        .map(|i| {
            thread::spawn(move || {
                let w = 100 + 20 * i;
                (w, get(port, &format!("/named/photo.png?w={w}&f=webp")))
            })
        })
        .collect();
    for h in handles {
        let (w, r) = h.join().unwrap();
        let (_, got, _) = assert_transformed(&r, "image/webp");
        assert_eq!(got, w);
    }
}

/// The module queues transformations itself (`image_max_queue` waiting
/// behind as many running as the pool has threads) and refuses the rest
/// with 503 instead of piling decoded images up in memory.
#[test]
fn full_queue_is_503() {
    let _heavy = heavy_lock();
    let nginx = start();
    let port = nginx.port;
    // `single` has 1 thread and room for 1 waiting transform: of 5
    // simultaneous transforms of big.png at least one must be refused. The
    // lighter JPEG output keeps the two that run one after the other well
    // inside the client's timeout on a loaded machine.
    let handles: Vec<_> = (0..5)
        .map(|_| thread::spawn(move || get(port, "/single/big.png?w=5000&f=jpeg")))
        .collect();
    let responses: Vec<Response> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = responses.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&Response> = responses.iter().filter(|r| r.status == 503).collect();
    assert!(
        ok >= 1 && !refused.is_empty() && ok + refused.len() == responses.len(),
        "expected some 200 and some 503; got statuses {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in refused {
        assert_image_error(r, 503, 9522);
        assert!(r.header("retry-after").is_some(), "{}", r.describe());
    }
}

#[test]
fn client_abort_is_logged_as_499_and_the_worker_survives() {
    let _heavy = heavy_lock();
    let nginx = start();

    let mut client = nginx.client();
    client
        .send("GET", &format!("/img/big.png?{HEAVY}"), &[], &[])
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    let closed = Instant::now();
    client.close();

    let line = nginx.wait_for_access_log(
        |l| l.starts_with("499 ") && l.contains("big.png"),
        Duration::from_secs(5),
    );
    let delay = closed.elapsed();
    assert!(
        line.is_some(),
        "no 499 line in the access log 5 s after the client closed; access.log:\n{}\nerror.log:\n{}",
        nginx.access_log(),
        nginx.error_log()
    );
    eprintln!("499 logged {delay:?} after the client closed");
    nginx.assert_log_clean();

    // The worker is alive and serves the next request.
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    nginx.assert_log_clean();
}

#[test]
fn client_abort_on_a_named_pool() {
    let _heavy = heavy_lock();
    let nginx = start();
    let mut client = nginx.client();
    client
        .send("GET", "/named/big.png?w=5000&f=jpeg", &[], &[])
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    client.close();
    let line = nginx.wait_for_access_log(
        |l| l.starts_with("499 ") && l.contains("/named/big.png"),
        Duration::from_secs(5),
    );
    assert!(
        line.is_some(),
        "no 499 line; access.log:\n{}\nerror.log:\n{}",
        nginx.access_log(),
        nginx.error_log()
    );
    let r = nginx.get("/named/photo.jpg?w=90");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 90);
    nginx.assert_log_clean();
}

/// The job of a client that went away stops early instead of holding its
/// thread: on a 1-thread pool the next transform does not wait for the
/// abandoned one to run to its end.
#[test]
fn aborted_transform_frees_its_thread() {
    let _heavy = heavy_lock();
    let nginx = start();
    // What the abandoned job would cost if it ran to its end, on this
    // machine, now.
    let (r, full) = timed(|| nginx.get(&format!("/single/big.png?{HEAVY}")));
    assert_transformed(&r, "image/webp");

    let mut client = nginx.client();
    client
        .send("GET", &format!("/single/big.png?{HEAVY}"), &[], &[])
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    client.close();
    let (r, took) = timed(|| nginx.get("/single/photo.jpg?w=100"));
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    eprintln!(
        "transform queued behind an abandoned one answered in {took:?} \
         (the abandoned one runs {full:?} to its end)"
    );
    assert!(
        took < full / 2,
        "the next transform on the pool took {took:?}: the abandoned job ({full:?}) \
         was not cancelled"
    );
    nginx.assert_log_clean();
}

/// Inline, the worker only notices the closed connection once the transform
/// is done and it writes the answer, so the status logged is whatever the
/// write got (200 with a broken pipe, or 499): only the worker's health is
/// checked here.
#[test]
fn client_abort_inline_leaves_the_worker_healthy() {
    let _heavy = heavy_lock();
    let nginx = start();
    let mut client = nginx.client();
    client
        .send("GET", "/inline/big.png?w=5000&f=jpeg", &[], &[])
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    client.close();
    let line =
        nginx.wait_for_access_log(|l| l.contains("/inline/big.png"), Duration::from_secs(30));
    assert!(
        line.is_some(),
        "the aborted request was never logged; access.log:\n{}\nerror.log:\n{}",
        nginx.access_log(),
        nginx.error_log()
    );
    let r = nginx.get("/inline/photo.jpg?w=90");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 90);
    nginx.assert_log_clean();
}

#[test]
fn unknown_thread_pool_name_fails_nginx_t() {
    let (ok, out) = Nginx::test_config_with(
        MAIN,
        r#"server { listen 127.0.0.1:{PORT};
             location / { image_transform "width=10"; image_thread_pool nosuch; } }"#,
    );
    assert!(!ok, "nginx -t accepted image_thread_pool nosuch:\n{out}");
    assert!(out.contains("nosuch"), "{out}");
    let (ok, out) = Nginx::test_config_with(
        MAIN,
        r#"server { listen 127.0.0.1:{PORT};
             location / { image_transform "width=10"; image_thread_pool imgs; } }"#,
    );
    assert!(ok, "a declared pool must be accepted:\n{out}");
}
