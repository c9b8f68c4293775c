use std::time::Duration;

use super::*;

fn image(bytes_in: u64, bytes_out: u64, ms: u64) -> Response {
    Response {
        status: 200,
        bytes_in: Some(bytes_in),
        bytes_out,
        processing: Some(Duration::from_millis(ms)),
        ..Response::default()
    }
}

fn error(status: u16, code: Option<u16>, bytes_out: u64) -> Response {
    Response {
        status,
        error_code: code,
        error: true,
        bytes_out,
        ..Response::default()
    }
}

fn sample() -> Counters {
    let mut c = Counters::default();
    c.record(&image(1000, 100, 3));
    c.record(&image(2000, 200, 40));
    c.record(&error(415, Some(9520), 50));
    c.record(&error(400, Some(9401), 60));
    c.record(&error(415, Some(9520), 50));
    c.record(&error(503, None, 70));
    c.pool_change("default", 1, 0);
    c.pool_change("big", 2, 3);
    c
}

#[test]
fn responses_are_counted_by_outcome() {
    let c = sample();
    assert_eq!(c.responses, 6);
    assert_eq!(c.transformed, 2);
    let errors: Vec<_> = c
        .error_slots()
        .map(|s| (s.status, s.code, s.count))
        .collect();
    assert_eq!(errors, [(415, 9520, 2), (400, 9401, 1), (503, 0, 1)]);
    assert_eq!((c.bytes_in, c.bytes_out), (3000, 530));
}

#[test]
fn an_original_served_on_error_counts_as_an_error_not_a_transform() {
    let mut c = Counters::default();
    c.record(&Response {
        status: 200,
        error_code: Some(9413),
        bytes_out: 10,
        ..Response::default()
    });
    assert_eq!(c.transformed, 0);
    assert_eq!(
        c.error_slots().next().map(|s| (s.status, s.code)),
        Some((200, 9413))
    );
}

#[test]
fn the_histogram_puts_each_duration_in_its_bucket() {
    let mut c = Counters::default();
    for ms in [0, 5, 6, 100, 31_000] {
        c.record_processing(Duration::from_millis(ms));
    }
    // 0 and 5 → ≤5; 6 → ≤10; 100 → ≤100; 31 s → +Inf.
    assert_eq!(c.buckets[0], 2);
    assert_eq!(c.buckets[1], 1);
    assert_eq!(c.buckets[4], 1);
    assert_eq!(c.buckets[BUCKETS_MS.len()], 1);
    assert_eq!(c.processing_count, 5);
    assert_eq!(c.processing_sum_us, 31_111_000);
}

#[test]
fn pool_gauges_move_and_never_go_negative() {
    let mut c = Counters::default();
    c.pool_change("default", 1, 0);
    c.pool_change("default", 0, 2);
    c.pool_change("default", 0, -1);
    c.pool_change("default", -5, 0);
    let pool = c.pool_slots().next().unwrap();
    assert_eq!((pool.name(), pool.running, pool.queued), ("default", 0, 1));
}

#[test]
fn too_many_pools_share_the_last_slot() {
    let mut c = Counters::default();
    for i in 0..POOL_SLOTS + 2 {
        c.pool_change(&format!("p{i}"), 1, 0);
    }
    let names: Vec<_> = c.pool_slots().map(|p| p.name().to_string()).collect();
    assert_eq!(names.len(), POOL_SLOTS);
    assert_eq!(names[0], "p0");
    assert_eq!(names[POOL_SLOTS - 1], "other");
    assert_eq!(c.pools[POOL_SLOTS - 1].running, 3);
}

#[test]
fn a_long_pool_name_is_cut_on_a_character_boundary() {
    let mut c = Counters::default();
    let name = "é".repeat(POOL_NAME_LEN);
    c.pool_change(&name, 1, 0);
    let kept = c.pool_slots().next().unwrap().name().to_string();
    assert!(name.starts_with(&kept) && kept.len() <= POOL_NAME_LEN && !kept.is_empty());
}

#[test]
fn more_error_pairs_than_slots_are_counted_as_other() {
    let mut c = Counters::default();
    for code in 0..ERROR_SLOTS as u16 + 3 {
        c.record(&error(400, Some(9000 + code), 1));
    }
    assert_eq!(c.error_slots().count(), ERROR_SLOTS);
    assert_eq!(c.errors_other, 3);
}

#[test]
fn json_has_every_counter() {
    let text = json(&sample());
    let v: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(v["responses"], 6);
    assert_eq!(v["transformed"], 2);
    assert_eq!(
        v["errors"][0],
        serde_json::json!({"status":415,"code":9520,"count":2})
    );
    assert_eq!(v["errors"][2]["code"], serde_json::Value::Null);
    assert_eq!(v["bytes"], serde_json::json!({"in":3000,"out":530}));
    assert_eq!(
        v["pools"][1],
        serde_json::json!({"name":"big","running":2,"queued":3})
    );
    let hist = &v["processing_ms"];
    assert_eq!(hist["count"], 2);
    assert_eq!(hist["sum"], 43.0);
    let buckets = hist["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), BUCKETS_MS.len() + 1);
    assert_eq!(buckets[0], serde_json::json!({"le":5,"count":1}));
    assert_eq!(buckets[2], serde_json::json!({"le":25,"count":1}));
    assert_eq!(buckets[3], serde_json::json!({"le":50,"count":2}));
    assert_eq!(
        buckets[BUCKETS_MS.len()],
        serde_json::json!({"le":"+Inf","count":2})
    );
}

#[test]
fn json_escapes_pool_names() {
    let mut c = Counters::default();
    c.pool_change("a\"b\\c", 1, 0);
    let v: serde_json::Value = serde_json::from_str(&json(&c)).unwrap();
    assert_eq!(v["pools"][0]["name"], "a\"b\\c");
}

/// The sample lines (not comments) of a Prometheus text.
fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn prometheus_text_has_every_counter() {
    let text = prometheus(&sample(), false);
    let lines = samples(&text);
    for expected in [
        "nginx_image_responses_total 6",
        "nginx_image_transformed_total 2",
        "nginx_image_errors_total{status=\"415\",code=\"9520\"} 2",
        "nginx_image_errors_total{status=\"400\",code=\"9401\"} 1",
        "nginx_image_errors_total{status=\"503\",code=\"\"} 1",
        "nginx_image_input_bytes_total 3000",
        "nginx_image_output_bytes_total 530",
        "nginx_image_jobs_running{pool=\"default\"} 1",
        "nginx_image_jobs_queued{pool=\"big\"} 3",
        "nginx_image_processing_seconds_bucket{le=\"0.005\"} 1",
        "nginx_image_processing_seconds_bucket{le=\"0.05\"} 2",
        "nginx_image_processing_seconds_bucket{le=\"+Inf\"} 2",
        "nginx_image_processing_seconds_sum 0.043",
        "nginx_image_processing_seconds_count 2",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected:?} missing in:\n{text}"
        );
    }
    assert!(text.contains("# TYPE nginx_image_responses_total counter\n"));
    assert!(text.contains("# TYPE nginx_image_processing_seconds histogram\n"));
    assert!(!text.contains("# EOF"));
}

#[test]
fn every_prometheus_line_is_well_formed() {
    for openmetrics in [false, true] {
        let text = prometheus(&sample(), openmetrics);
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            if line.starts_with('#') {
                let words: Vec<_> = line.split(' ').collect();
                assert!(
                    matches!(words[1], "HELP" | "TYPE" | "EOF") && words.len() >= 2,
                    "{line}"
                );
                continue;
            }
            let (name, value) = line.rsplit_once(' ').expect(line);
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let metric = name.split('{').next().unwrap();
            assert!(
                metric
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
        }
    }
}

#[test]
fn openmetrics_names_counter_families_without_total_and_ends_with_eof() {
    let text = prometheus(&sample(), true);
    assert!(text.contains("# TYPE nginx_image_responses counter\n"));
    assert!(text.contains("nginx_image_responses_total 6\n"));
    assert!(text.contains("# TYPE nginx_image_jobs_running gauge\n"));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn prometheus_label_values_are_escaped() {
    let mut c = Counters::default();
    c.pool_change("a\"b", 1, 0);
    assert!(prometheus(&c, false).contains("{pool=\"a\\\"b\"} 1"));
}

#[test]
fn the_format_argument_wins_over_accept() {
    assert_eq!(
        choose(Some("prometheus"), Some("application/json")),
        Ok(Rendering::Prometheus)
    );
    assert_eq!(
        choose(Some("JSON"), Some("text/plain")),
        Ok(Rendering::Json)
    );
    assert_eq!(
        choose(Some("openmetrics"), None),
        Ok(Rendering::OpenMetrics)
    );
    assert!(choose(Some("xml"), None).unwrap_err().contains("xml"));
    assert_eq!(
        choose(Some(""), Some("text/plain")),
        Ok(Rendering::Prometheus)
    );
}

#[test]
fn accept_chooses_the_heaviest_known_type() {
    let prometheus_scraper = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(
        choose(None, Some(prometheus_scraper)),
        Ok(Rendering::OpenMetrics)
    );
    assert_eq!(choose(None, Some("text/plain")), Ok(Rendering::Prometheus));
    assert_eq!(
        choose(None, Some("text/plain;q=0.5, application/json")),
        Ok(Rendering::Json)
    );
    assert_eq!(choose(None, Some("*/*")), Ok(Rendering::Json));
    assert_eq!(choose(None, Some("text/plain;q=0")), Ok(Rendering::Json));
    assert_eq!(choose(None, None), Ok(Rendering::Json));
}

#[test]
fn content_types() {
    assert_eq!(Rendering::Json.content_type(), "application/json");
    assert!(Rendering::Prometheus
        .content_type()
        .starts_with("text/plain; version=0.0.4"));
    assert!(Rendering::OpenMetrics
        .content_type()
        .starts_with("application/openmetrics-text"));
}

#[test]
fn the_format_argument_is_found_in_the_query() {
    assert_eq!(format_argument("format=prometheus"), Some("prometheus"));
    assert_eq!(format_argument("a=1&format=json&b"), Some("json"));
    assert_eq!(format_argument("xformat=json"), None);
    assert_eq!(format_argument(""), None);
}

#[test]
fn server_timing_lists_the_stages_in_milliseconds() {
    let t = crate::StageTimings {
        decode: Duration::from_micros(1234),
        resize: Duration::from_micros(500),
        encode: Duration::from_millis(2),
    };
    assert_eq!(
        server_timing(&t),
        "decode;dur=1.234, resize;dur=0.500, encode;dur=2.000"
    );
}
