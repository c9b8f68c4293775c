//! Admission control: `image_max_concurrency` and `image_max_queue` bound
//! the transformations of a worker; beyond them a request is answered at
//! once with `503`, `Retry-After` and code 9522, never anything else, and
//! the worker keeps serving afterwards.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::*;
use common::{cache_policy::*, images::*};

const MAIN: &str = "thread_pool imgs threads=1;";

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    # The heavy jobs here make outputs far over the default budget.
    image_max_output_pixels 100000000;
    location /img/ {
        alias {DIR}/files/;
        image_transform "width=$arg_w,format=$arg_f";
        image_thread_pool imgs;
        image_max_concurrency 1;
        image_max_queue 1;
    }
    location /small/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_thread_pool imgs;
        image_max_concurrency 1;
        image_max_queue 1;
    }
    location /static/ { alias {FIXTURES}/; }
}
"#;

/// Options that make `heavy.png` (3000×2000) take a few hundred ms.
const HEAVY: &str = "/img/heavy.png?w=2999&f=png";

fn start() -> Nginx {
    let nginx = Nginx::start_with(MAIN, CONF);
    write_file(
        &nginx.dir().join("files"),
        "heavy.png",
        &noisy_png(3000, 2000),
    );
    nginx
}

fn assert_refused(r: &Response) {
    assert_error_row(r, 503, 9522, false);
    let retry = r.header("retry-after").unwrap_or_default();
    assert!(
        retry.parse::<u32>().is_ok_and(|s| s >= 1),
        "503 needs a Retry-After in seconds; response:\n{}",
        r.describe()
    );
}

#[test]
fn a_flood_gets_200_or_503_and_nothing_else() {
    let _heavy = heavy_lock();
    let nginx = start();
    let port = nginx.port;

    let (r, single) = timed(|| nginx.get(HEAVY));
    assert_eq!(assert_transformed(&r, "image/png").1, 2999);
    eprintln!("one heavy request alone: {single:?}");

    const FLOOD: usize = 12;
    let barrier = Arc::new(Barrier::new(FLOOD));
    let handles: Vec<_> = (0..FLOOD)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut client = Client::connect(port);
                barrier.wait();
                timed(|| client.request("GET", HEAVY, &[]))
            })
        })
        .collect();
    let results: Vec<(Response, Duration)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();

    let statuses: Vec<u16> = results.iter().map(|(r, _)| r.status).collect();
    eprintln!(
        "flood of {FLOOD}: statuses {statuses:?}, times {:?}",
        results.iter().map(|(_, t)| *t).collect::<Vec<_>>()
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 and 503 are acceptable answers to a flood; got {statuses:?}\n{}",
        results
            .iter()
            .filter(|(r, _)| r.status != 200 && r.status != 503)
            .map(|(r, _)| r.describe())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert!(
        ok >= 2,
        "the running and the queued request must both succeed: {statuses:?}"
    );
    assert!(refused >= 1, "nothing was refused: {statuses:?}");
    for (r, took) in &results {
        if r.status == 200 {
            assert_eq!(assert_transformed(r, "image/png").1, 2999);
        } else {
            assert_refused(r);
            assert!(
                *took < single * 2 + Duration::from_secs(1),
                "a refusal should not wait for the running work: {took:?} (one request \
                 alone takes {single:?})"
            );
        }
    }

    // The slots are free again: requests work one after the other.
    for _ in 0..3 {
        let r = nginx.get("/small/photo.jpg?w=100");
        assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
    }
    let r = nginx.get(HEAVY);
    assert_eq!(assert_transformed(&r, "image/png").1, 2999);
    nginx.assert_log_clean();

    let log = nginx.access_log();
    let logged_503 = log.lines().filter(|l| l.starts_with("503 ")).count();
    assert_eq!(logged_503, refused, "access.log:\n{log}");
}

#[test]
fn a_queued_request_whose_client_leaves_gives_its_place_back() {
    let _heavy = heavy_lock();
    let nginx = start();
    let port = nginx.port;

    // A runs for seconds (big.png, on the same pool and with the same
    // limits); B waits in the queue; B's client goes away.
    let running = thread::spawn(move || timed(|| get(port, "/small/big.png?w=9999&f=png")));
    thread::sleep(Duration::from_millis(500));
    let mut queued = nginx.client();
    queued.send("GET", HEAVY, &[], &[]).unwrap();
    thread::sleep(Duration::from_millis(200));
    queued.close();

    let (r, took) = running.join().unwrap();
    assert_eq!(assert_transformed(&r, "image/png").1, 9999);
    assert!(
        took > Duration::from_millis(900),
        "big.png took only {took:?}: B was probably not queued, the test proves nothing"
    );
    let line = nginx.wait_for_access_log(
        |l| l.starts_with("499 ") && l.contains("heavy.png"),
        Duration::from_secs(10),
    );
    assert!(
        line.is_some(),
        "the abandoned request should be logged as 499; access.log:\n{}",
        nginx.access_log()
    );

    // Neither the running slot nor the queue place leaked: two requests at
    // once (one runs, one waits) both succeed, then more in a row.
    let a = thread::spawn(move || get(port, "/small/photo.png?w=300&f=webp"));
    let b = thread::spawn(move || get(port, "/small/photo.jpg?w=200&f=webp"));
    assert_eq!(assert_transformed(&a.join().unwrap(), "image/webp").1, 300);
    assert_eq!(assert_transformed(&b.join().unwrap(), "image/webp").1, 200);
    for w in [50, 60, 70] {
        let r = nginx.get(&format!("/small/photo.jpg?w={w}"));
        assert_eq!(assert_transformed(&r, "image/jpeg").1, w);
    }
    nginx.assert_log_clean();
}

#[test]
fn overload_settings_are_checked_by_nginx_t() {
    let location = |directives: &str| {
        format!(
            r#"server {{ listen 127.0.0.1:{{PORT}};
                 location / {{ image_transform "width=10"; {directives} }} }}"#
        )
    };
    let (ok, out) = Nginx::test_config(&location(
        "image_max_concurrency 2; image_max_queue 0; image_timeout 500ms;",
    ));
    assert!(ok, "valid settings must be accepted:\n{out}");
    for bad in [
        "image_max_concurrency abc;",
        "image_max_queue -1;",
        "image_timeout forever;",
    ] {
        let (ok, out) = Nginx::test_config(&location(bad));
        assert!(!ok, "nginx -t accepted `{bad}`:\n{out}");
    }
}
