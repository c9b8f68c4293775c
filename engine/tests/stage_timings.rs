//! The stage durations the pipeline reports (`Server-Timing`).

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_transform_reports_each_stage_within_its_total() {
    let input = jpeg(1200, 900);
    let start = Instant::now();
    let out = ok(&input, "width=300,format=png");
    let total = start.elapsed();
    let t = out.timings;
    assert!(t.decode > Duration::ZERO, "{t:?}");
    assert!(t.resize > Duration::ZERO, "{t:?}");
    assert!(t.encode > Duration::ZERO, "{t:?}");
    assert!(t.decode + t.resize + t.encode <= total, "{t:?} > {total:?}");
}

#[test]
fn a_description_runs_no_stage() {
    let out = ok(&jpeg(100, 80), "width=50,format=json");
    assert_eq!(out.timings, image_engine::StageTimings::default());
}
