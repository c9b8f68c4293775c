//! `image_timeout` holds whatever the job is doing: an nginx timer answers
//! `504`/9529 from the event loop when the time is up, while the abandoned
//! job keeps its thread-pool slot until it really ends (the pool is never
//! oversubscribed) and stops at its next check.
//!
//! Timings are compared with a baseline measured in the same test.

mod common;

use std::thread;
use std::time::Duration;

use common::*;

const MAIN: &str = "thread_pool single threads=1;";

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    image_max_output_pixels 100000000;
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_timeout 120s;
    }
    location /short/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_timeout 300ms;
    }
    location /stuck/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,format=$arg_f";
        image_timeout 500ms;
        image_thread_pool single;
        image_max_concurrency 1;
        image_max_queue 4;
    }
}
"#;

/// Decodes 75 megapixels, resamples, encodes a large WebP: seconds.
const HEAVY: &str = "big.png?w=7000&f=webp";

#[test]
fn the_timeout_answers_504_while_the_transform_runs() {
    let _heavy = heavy_lock();
    fixtures_dir();
    let nginx = Nginx::start_with(MAIN, CONF);
    let (baseline, full) = timed(|| nginx.get(&format!("/img/{HEAVY}")));
    assert_transformed(&baseline, "image/webp");

    let (r, took) = timed(|| nginx.get(&format!("/short/{HEAVY}")));
    eprintln!("{HEAVY}: {full:?} to finish; with image_timeout 300ms answered in {took:?}");
    assert_image_error(&r, 504, 9529);
    assert!(
        took < full / 3,
        "the 504 came after {took:?}; the whole transform takes {full:?}"
    );
    // The worker goes on serving.
    nginx.get("/img/photo.jpg?w=100").assert_status(200);
    assert!(nginx.error_log().contains("code 9529"));
    nginx.assert_log_clean();
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_job_stuck_where_it_cannot_check_is_answered_at_the_timeout_and_keeps_its_slot() {
    let nginx = Nginx::start_with(MAIN, CONF);
    let (r, quick) = timed(|| nginx.get("/stuck/photo.jpg?w=100"));
    assert_transformed(&r, "image/jpeg");

    // The job stalls 4 s without looking at its deadline (as inside one
    // long encoder call); the timer answers at 500 ms all the same.
    let stuck = {
        let port = nginx.port;
        thread::spawn(move || {
            timed(|| {
                Client::connect(port).request(
                    "GET",
                    "/stuck/photo.jpg?w=100",
                    &[("X-Image-Fault", "stall-job")],
                )
            })
        })
    };
    let (r, took) = stuck.join().expect("stuck request");
    assert_image_error(&r, 504, 9529);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        took < Duration::from_secs(2),
        "the 504 came after {took:?} (image_timeout 500ms, stall 4 s)"
    );

    // The stalled job still holds the pool's only slot: the next request
    // waits for it, then is served normally.
    let (r, waited) = timed(|| nginx.get("/stuck/photo.jpg?w=100"));
    eprintln!(
        "alone {quick:?}; 504 after {took:?}; the next request waited {waited:?} for the slot"
    );
    assert_transformed(&r, "image/jpeg");
    assert!(
        waited > Duration::from_secs(1) && waited > quick * 5,
        "the next request took {waited:?} (alone {quick:?}): the stalled job's slot was given away"
    );
    nginx.assert_log_clean();
}
