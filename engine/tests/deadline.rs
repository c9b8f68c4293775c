//! A job that is cancelled, or whose deadline passes, while it decodes
//! stops at the decoder's next read, while libwebp encodes at its next
//! progress report, and while jpegli takes rows at its next group of rows,
//! not at the end of the stage: it returns within a small part of the time
//! the whole job takes, measured in the same test.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use image::{DynamicImage, ImageBuffer, Rgba};
use image_engine::{process, Control, ErrorKind, Limits, Transform};

/// A large PNG of noise (slow to inflate and to resize) and a transform
/// that keeps it large, with the fast encoder (`compression=fast`,
/// libjpeg-turbo, which checks for a stop only before and after): nearly
/// all the time is spent in the stages that must stop early.
fn heavy() -> (Vec<u8>, Transform) {
    let mut rng = Xorshift(7);
    let noise: Vec<u8> = rng.bytes(2_400 * 2_400 * 4);
    let image = ImageBuffer::<Rgba<u8>, _>::from_raw(2_400, 2_400, noise).expect("buffer");
    let png = png_of(&DynamicImage::ImageRgba8(image));
    let transform =
        image_engine::parse("width=2300,format=jpeg,compression=fast").expect("options");
    (png, transform)
}

fn full_run(input: &[u8], transform: &Transform) -> Duration {
    let never = AtomicBool::new(false);
    let control = Control {
        cancel: &never,
        deadline: None,
    };
    let start = Instant::now();
    process(input, transform, &Limits::default(), &control).expect("the job itself works");
    start.elapsed()
}

/// The job's full run (the quicker of two), then the same job with its
/// deadline at `fraction` of that: how long it took to stop, and why.
fn with_deadline_at(
    input: &[u8],
    transform: &Transform,
    fraction: f64,
) -> (Duration, Duration, image_engine::Error) {
    let full = (0..2).map(|_| full_run(input, transform)).min().unwrap();
    let never = AtomicBool::new(false);
    let start = Instant::now();
    let control = Control {
        cancel: &never,
        deadline: Some(start + full.mul_f64(fraction)),
    };
    let err = process(input, transform, &Limits::default(), &control)
        .expect_err("the deadline passes mid-job");
    let elapsed = start.elapsed();
    eprintln!("full job {full:?}; deadline at {fraction} of it: stopped after {elapsed:?}");
    (full, elapsed, err)
}

#[test]
fn an_expired_deadline_stops_the_stage_it_is_in() {
    let (input, transform) = heavy();
    let fraction = 0.1;
    let (full, elapsed, err) = with_deadline_at(&input, &transform, fraction);
    assert_eq!(err.kind, ErrorKind::ProcessingTimeout);
    assert!(
        elapsed < full.mul_f64(fraction + 0.2),
        "stopped after {elapsed:?} of {full:?}"
    );
}

#[test]
fn a_cancelled_job_stops_at_its_next_check() {
    let (input, transform) = heavy();
    let full = (0..2).map(|_| full_run(&input, &transform)).min().unwrap();
    {
        let fraction = 0.1;
        let cancel = AtomicBool::new(false);
        let (elapsed, err) = std::thread::scope(|scope| {
            let start = Instant::now();
            scope.spawn(|| {
                std::thread::sleep(full.mul_f64(fraction));
                cancel.store(true, Ordering::Relaxed);
            });
            let control = Control {
                cancel: &cancel,
                deadline: None,
            };
            let result = process(&input, &transform, &Limits::default(), &control);
            (start.elapsed(), result.expect_err("cancelled mid-job"))
        });
        eprintln!("full job {full:?}; cancelled at {fraction} of it: stopped after {elapsed:?}");
        assert_eq!(err.kind, ErrorKind::Cancelled);
        assert!(
            elapsed < full.mul_f64(fraction + 0.2),
            "stopped after {elapsed:?} of {full:?}"
        );
    }
}

/// A job that spends most of its time in the WebP encoder (a JPEG kept at
/// its size, re-encoded as WebP): libwebp asks the control as it goes, so
/// the deadline stops the encode part-way instead of at its end.
#[test]
fn a_deadline_stops_the_webp_encode_part_way() {
    let input = jpeg(2_400, 2_400);
    let transform = image_engine::parse("format=webp").expect("options");
    let fraction = 0.5;
    let (full, elapsed, err) = with_deadline_at(&input, &transform, fraction);
    assert_eq!(err.kind, ErrorKind::ProcessingTimeout);
    assert!(
        elapsed < full.mul_f64(fraction + 0.25),
        "stopped after {elapsed:?} of {full:?}"
    );
}

/// A job that spends most of its time in the default JPEG encoder (a JPEG
/// kept at its size, re-encoded at quality 95: full-resolution chroma).
/// jpegli asks the control every 64 rows while it transforms and quantises
/// them, which is about half of its encode; the entropy coding that
/// follows runs to its end. A deadline a third of the way in must stop
/// the job long before it would have finished.
#[test]
fn a_deadline_stops_the_default_jpeg_encode_part_way() {
    let input = jpeg(2_400, 2_400);
    let transform = image_engine::parse("format=jpeg,quality=95").expect("options");
    let fraction = 0.35;
    let (full, elapsed, err) = with_deadline_at(&input, &transform, fraction);
    assert_eq!(err.kind, ErrorKind::ProcessingTimeout);
    assert!(
        elapsed < full.mul_f64(fraction + 0.3),
        "stopped after {elapsed:?} of {full:?}"
    );
}
