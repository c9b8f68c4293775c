//! Failures of the request or of the original against the location's
//! limits: bad or forbidden options, originals larger than `image_buffer`,
//! too many pixels (decompression bombs included), animations too large,
//! and transformations that run out of `image_timeout`.

mod common;

use std::time::Duration;

use common::*;
use common::{cache_policy::*, images::*, origin::*, process::*};

const OPTIONS: &str = r#"image_transform "width=$arg_w,height=$arg_h,format=$arg_f";"#;

/// The front server with `extra` locations; `{ORIGIN_PORT}` serves the
/// fixtures, `{DIR}/files/` is for images the test writes.
fn conf(extra: &str) -> String {
    r#"
server {
    listen 127.0.0.1:{ORIGIN_PORT};
    location / { root {FIXTURES}; }
    location /gen/ { alias {DIR}/files/; }
}
server {
    listen 127.0.0.1:{PORT};
    location /img/ { alias {FIXTURES}/; OPTIONS }
    location /files/ { alias {DIR}/files/; OPTIONS }
    location /p/ { proxy_pass http://127.0.0.1:{ORIGIN_PORT}/; OPTIONS }
    EXTRA
}
"#
    .replace("EXTRA", extra)
    .replace("OPTIONS", OPTIONS)
}

fn start(extra: &str) -> Nginx {
    Nginx::start(&conf(extra))
}

fn put(nginx: &Nginx, name: &str, bytes: &[u8]) {
    write_file(&nginx.dir().join("files"), name, bytes);
}

// --- options -----------------------------------------------------------------

#[test]
fn invalid_options_are_400_9401_cacheable_and_name_the_option() {
    let nginx = start(r#"location /opts/ { alias {FIXTURES}/; image_transform $args; }"#);
    for (query, name) in [
        ("width=abc", "width"),
        ("fit=bogus", "fit"),
        ("quality=0", "quality"),
        ("width=20000", "width"),
        ("rotate=45", "rotate"),
        ("bogus=1", "bogus"),
    ] {
        let r = nginx.get(&format!("/opts/photo.jpg?{query}"));
        let message = assert_error_row(&r, 400, 9401, true);
        assert!(
            message.contains(name),
            "?{query}: the message should name {name:?}: {message:?}"
        );
    }
    // Without image_error_zone, repeats keep the minimum max-age.
    for _ in 0..3 {
        let r = nginx.get("/opts/photo.jpg?fit=bogus");
        assert_error_row(&r, 400, 9401, true);
    }
    // Bad options are refused before the original is read: a missing
    // original does not matter.
    let r = nginx.get("/opts/no-such.jpg?fit=bogus");
    assert_error_row(&r, 400, 9401, true);
}

#[test]
fn options_and_formats_outside_the_allow_lists_are_401_9401() {
    let nginx = start(
        r#"location /allowed/ {
               alias {FIXTURES}/;
               image_transform "width=$arg_w,height=$arg_h,quality=$arg_q,format=$arg_f";
               image_params_allowed width format;
               image_formats_allowed webp;
           }"#,
    );
    let r = nginx.get("/allowed/photo.jpg?w=100&f=webp");
    assert_eq!(assert_transformed(&r, "image/webp").1, 100);

    for (query, culprit) in [
        ("w=100&q=50", "quality"),
        ("h=100", "height"),
        ("w=100&f=png", "png"),
        ("f=jpeg", "jpeg"),
    ] {
        let r = nginx.get(&format!("/allowed/photo.jpg?{query}"));
        let message = assert_error_row(&r, 401, 9401, true);
        assert!(
            message.contains(culprit),
            "?{query}: the message should name {culprit:?}: {message:?}"
        );
    }
    // A request that sets nothing forbidden is still fine.
    let r = nginx.get("/allowed/photo.jpg?w=120&q=");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 120);
}

// --- image_buffer --------------------------------------------------------------

#[test]
fn originals_larger_than_image_buffer_are_413_9402_with_or_without_length() {
    let photo = fixture("photo.jpg");
    assert!(photo.len() > 100 * 1024);
    let chunked = RawOrigin::respond(chunked_response("image/jpeg", &photo, 4096));
    let unframed = RawOrigin::respond(close_delimited_response("image/jpeg", &photo));
    let extra = r#"
    location /small/ { alias {FIXTURES}/; image_buffer 10k; OPTIONS }
    location /psmall/ { proxy_pass http://127.0.0.1:{ORIGIN_PORT}/; image_buffer 10k; OPTIONS }
    location /psmallu/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
        proxy_buffering off;
        image_buffer 10k;
        OPTIONS
    }
    location /chunked/ { proxy_pass http://127.0.0.1:CHUNKED/; image_buffer 10k; OPTIONS }
    location /chunkedu/ {
        proxy_pass http://127.0.0.1:CHUNKED/;
        proxy_buffering off;
        image_buffer 10k;
        OPTIONS
    }
    location /chunkedok/ { proxy_pass http://127.0.0.1:CHUNKED/; proxy_buffering off; OPTIONS }
    location /unframed/ { proxy_pass http://127.0.0.1:UNFRAMED/; image_buffer 10k; OPTIONS }
    location /unframedu/ {
        proxy_pass http://127.0.0.1:UNFRAMED/;
        proxy_buffering off;
        image_buffer 10k;
        OPTIONS
    }
    "#
    .replace("CHUNKED", &chunked.port.to_string())
    .replace("UNFRAMED", &unframed.port.to_string());
    let nginx = start(&extra);

    // The chunked origin itself is fine when the buffer is large enough.
    let r = nginx.get("/chunkedok/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);

    for prefix in [
        "/small",
        "/psmall",
        "/psmallu",
        "/chunked",
        "/chunkedu",
        "/unframed",
        "/unframedu",
    ] {
        let (r, took) = timed(|| nginx.get(&format!("{prefix}/photo.jpg?w=100")));
        let message = assert_error_row(&r, 413, 9402, true);
        assert!(!message.is_empty());
        assert!(took < Duration::from_secs(5), "{prefix}: took {took:?}");
    }
    // Small originals pass in the same locations.
    for prefix in ["/small", "/psmall", "/psmallu"] {
        let r = nginx.get(&format!("{prefix}/anim.gif?w=50"));
        assert_eq!(assert_transformed(&r, "image/gif").1, 50, "{prefix}");
    }
}

// --- pixel limits ----------------------------------------------------------------

#[test]
fn decompression_bomb_is_refused_from_its_header_fast_and_without_memory() {
    let _heavy = heavy_lock();
    let nginx = start("");
    let bomb = png_bomb(20000, 20000);
    assert!(bomb.len() < 1024, "the bomb is a tiny file");
    put(&nginx, "bomb.png", &bomb);
    put(&nginx, "bomb.gif", &gif_bomb(20000, 20000));

    let worker = worker_pid(&nginx);
    let rss_before = status_kb(worker, "VmRSS");
    for path in [
        "/files/bomb.png?w=100",
        "/files/bomb.png",
        "/p/gen/bomb.png?w=100&f=webp",
        "/files/bomb.gif?w=100",
    ] {
        let (r, took) = timed(|| nginx.get(path));
        assert_error_row(&r, 413, 9413, true);
        assert!(
            took < Duration::from_secs(1),
            "{path}: a bomb must be refused from its header, it took {took:?}"
        );
    }
    let rss_after = status_kb(worker, "VmRSS");
    let peak = status_kb(worker, "VmHWM");
    eprintln!("worker RSS {rss_before} kB before, {rss_after} kB after, peak {peak} kB");
    assert!(
        rss_after < rss_before + 50 * 1024,
        "the worker's RSS grew from {rss_before} kB to {rss_after} kB"
    );
    assert!(
        peak < rss_before + 50 * 1024,
        "the worker's peak RSS reached {peak} kB (it was at {rss_before} kB before the bombs)"
    );
    assert_eq!(worker_pid(&nginx), worker, "the worker was replaced");
}

#[test]
fn image_max_pixels_and_image_max_side_are_413_9413() {
    let nginx = start(
        r#"location /pixels/ { alias {FIXTURES}/; image_max_pixels 1000; OPTIONS }
           location /side/ { alias {FIXTURES}/; image_max_side 100; OPTIONS }
           location /pside/ {
               proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
               image_max_side 100;
               OPTIONS
           }"#,
    );
    for path in [
        "/pixels/photo.jpg?w=10",
        "/pixels/photo.png?w=10",
        "/side/photo.jpg?w=10",
        "/side/pic.webp?w=10",
        "/pside/photo.jpg?w=10",
        "/side/photo.jpg",
    ] {
        let r = nginx.get(path);
        assert_error_row(&r, 413, 9413, true);
    }
    // anim.gif is 160×120 = 19200 pixels: refused by both limits too.
    let r = nginx.get("/side/anim.gif?w=10");
    assert_error_row(&r, 413, 9413, true);
    // The same originals are fine where the defaults apply.
    let r = nginx.get("/img/photo.jpg?w=10");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 10);
}

#[test]
fn animation_above_image_max_animation_pixels_is_413_9413() {
    let nginx = start(
        r#"location /anim/ {
               alias {DIR}/files/;
               image_max_animation_pixels 100000;
               OPTIONS
           }"#,
    );
    // 30 frames of 100×100: 10,000 pixels each, 300,000 in all.
    put(&nginx, "long.gif", &animated_gif(30, 100, 100));
    // 5 frames: 50,000 in all.
    put(&nginx, "short.gif", &animated_gif(5, 100, 100));

    let r = nginx.get("/anim/long.gif?w=50");
    let message = assert_error_row(&r, 413, 9413, true);
    assert!(!message.is_empty());
    let r = nginx.get("/anim/short.gif?w=50");
    assert_eq!(assert_transformed(&r, "image/gif").1, 50);
    // The long one is fine under the default limit.
    let r = nginx.get("/files/long.gif?w=50");
    assert_eq!(assert_transformed(&r, "image/gif").1, 50);
}

// --- image_timeout -----------------------------------------------------------------

#[test]
fn processing_beyond_image_timeout_is_504_9529_no_store() {
    let _heavy = heavy_lock();
    let nginx = start(
        r#"location /slow/ {
               alias {DIR}/files/;
               image_timeout 50ms;
               OPTIONS
           }
           location /slowp/ {
               proxy_pass http://127.0.0.1:{ORIGIN_PORT}/gen/;
               image_timeout 50ms;
               OPTIONS
           }"#,
    );
    put(&nginx, "noisy.png", &noisy_png(4000, 3000));

    // The control: without the limit the same work takes well over 50 ms.
    let (r, normal) = timed(|| nginx.get("/files/noisy.png?w=3999&f=png"));
    assert_eq!(assert_transformed(&r, "image/png").1, 3999);
    eprintln!("noisy.png w=3999 f=png: {normal:?} without image_timeout");
    assert!(
        normal > Duration::from_millis(200),
        "the transformation took only {normal:?}: the test proves nothing"
    );

    for path in [
        "/slow/noisy.png?w=3999&f=png",
        "/slowp/noisy.png?w=3999&f=png",
    ] {
        let (r, took) = timed(|| nginx.get(path));
        assert_error_row(&r, 504, 9529, false);
        assert!(
            took < normal + Duration::from_secs(2),
            "{path}: the abandoned work still took {took:?}"
        );
    }
    // The worker is fine afterwards.
    let r = nginx.get("/img/photo.jpg?w=100");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 100);
}
