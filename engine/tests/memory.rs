//! Memory under hostile and ordinary input, measured: each case runs in a
//! child process of this test binary (so no other test shares its
//! resident set), which resets its peak resident set after making the
//! input and reports how far the job raised it.
//!
//! * a 1×1 PNG whose iCCP profile inflates to 500 MB may raise the peak by
//!   a few megabytes at most (the decoder's memory cap comes from the
//!   header, not from the largest image allowed);
//! * `predict_memory` is an upper bound of the measured peak, and not a
//!   wild one, for every decoder and encoder.

#[path = "common/avif_writer.rs"]
mod avif_writer;
mod common;

use std::process::Command;

use avif_writer::{avif_rgb, avif_rgba};
use common::*;
use image::{DynamicImage, ImageBuffer, Rgb};
use image_engine::{predict_memory, Limits};
use ravif::BitDepth;

const MB: u64 = 1 << 20;

/// The child's side: `MEMORY_CASE=name` runs one case and prints
/// `growth=BYTES predicted=BYTES`.
#[test]
fn child_case() {
    let Ok(name) = std::env::var("MEMORY_CASE") else {
        return;
    };
    let (input, options) = case(&name);
    let transform = image_engine::parse(options).expect("options");
    let predicted = predict_memory(&input, &transform, &Limits::default()).unwrap_or(0);
    // Making the input may have freed memory the allocator keeps (ravif's
    // encode of an AVIF original): the job would reuse it without raising
    // the resident set, so give it back first.
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe { libc::malloc_trim(0) };
    let before = reset_peak();
    let result = run_transform(&input, &transform, &Limits::default());
    let peak = status_kb("VmHWM:") * 1024;
    let kind = match &result {
        Ok(_) => "Ok".to_string(),
        Err(err) => format!("{:?}", err.kind),
    };
    println!(
        "growth={} predicted={predicted} kind={kind} ok={}",
        peak.saturating_sub(before),
        result.is_ok()
    );
}

/// Resets the kernel's peak resident set to the current one and returns it.
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs (Linux 4.0+)");
    status_kb("VmRSS:") * 1024
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field")
}

fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        let noise = ((x * 7919 + y * 104_729) % 37) as u8;
        Rgb([(x % 256) as u8, (y % 256) as u8, 100u8.wrapping_add(noise)])
    }))
}

fn case(name: &str) -> (Vec<u8>, &'static str) {
    match name {
        "iccp-bomb" => (png_iccp_bomb(500 << 20), "width=1,format=png"),
        "jpeg-shrink" => (jpeg_of(&photo(3_000, 2_000), 90), "width=300"),
        "jpeg-full" => (jpeg_of(&photo(3_000, 2_000), 90), "width=2500,format=png"),
        "png-webp" => (
            png_of(&DynamicImage::ImageRgba8(rgba(2_000, 1_500))),
            "width=1000,format=webp",
        ),
        "png-avif" => (
            png_of(&DynamicImage::ImageRgba8(rgba(1_200, 900))),
            "width=1000,format=avif",
        ),
        "gif-pad" => (
            animated_gif(800, 600, 3),
            "width=900,height=900,fit=pad,format=gif",
        ),
        "webp-rotate" => (
            webp_lossy(2_000, 1_500, false),
            "width=1500,rotate=90,format=jpeg",
        ),
        // AVIF originals (the output budget keeps AVIFs small, but an
        // original can be any size): 8-bit RGB, 10-bit with alpha.
        "avif-8bit" => (
            avif_rgb(&photo(1_600, 1_200).to_rgb8(), BitDepth::Eight),
            "width=1200,format=jpeg",
        ),
        "avif-10bit" => (
            avif_rgba(&rgba(1_600, 1_200), BitDepth::Ten),
            "width=1200,format=png",
        ),
        "progressive" => (
            corpus("photo-13mp-progressive.jpg").unwrap_or_default(),
            "width=400",
        ),
        other => panic!("unknown case {other}"),
    }
}

/// Runs one case in a child and returns (growth, predicted, ok).
fn measure(name: &str) -> (u64, u64, bool) {
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_case", "--exact", "--nocapture", "--test-threads=1"])
        .env("MEMORY_CASE", name)
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{name}: {stdout}");
    // The harness may print the test's name on the same line first.
    let line = stdout
        .lines()
        .find_map(|line| line.find("growth=").map(|at| &line[at..]))
        .unwrap_or_else(|| panic!("{name}: no measurement in {stdout}"));
    let field = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(key))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (
        field("growth="),
        field("predicted="),
        line.ends_with("ok=true"),
    )
}

#[test]
fn an_iccp_bomb_costs_a_few_megabytes() {
    let (growth, _, _) = measure("iccp-bomb");
    eprintln!(
        "1×1 PNG, iCCP inflating to 500 MB: peak resident set grew by {:.2} MB",
        growth as f64 / MB as f64
    );
    // Whether the profile is dropped or the file refused, the inflated
    // profile is never held.
    assert!(growth < 8 * MB, "grew by {growth} bytes");
}

#[test]
fn predictions_bound_the_measured_peaks() {
    for name in [
        "jpeg-shrink",
        "jpeg-full",
        "png-webp",
        "png-avif",
        "gif-pad",
        "webp-rotate",
        "avif-8bit",
        "avif-10bit",
        "progressive",
    ] {
        if name == "progressive" && corpus("photo-13mp-progressive.jpg").is_none() {
            continue;
        }
        let (growth, predicted, ok) = measure(name);
        eprintln!(
            "{name}: measured peak +{:.1} MB, predicted {:.1} MB",
            growth as f64 / MB as f64,
            predicted as f64 / MB as f64
        );
        assert!(ok, "{name} failed");
        // An upper bound (admission must not under-count)...
        assert!(growth <= predicted, "{name}: {growth} > {predicted}");
        // ...and not a wild one (admission must not refuse for nothing).
        assert!(
            predicted <= 3 * growth + 8 * MB,
            "{name}: predicted {predicted} for {growth}"
        );
    }
}
