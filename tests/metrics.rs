//! `image_status` (counters shared by all workers, JSON and Prometheus)
//! and `image_server_timing`.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// A complete configuration with two workers; `reuseport` gives each
/// worker its own listening socket, so the kernel spreads the test's
/// connections over both.
fn prepare(dir: &Path, port: u16) {
    let conf = format!(
        "load_module {module};\n\
         user root;\n\
         worker_processes 2;\n\
         error_log error.log info;\n\
         pid nginx.pid;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         types {{ text/html html; image/jpeg jpg; }}\n\
         log_format fmt '$status \"$request\" $body_bytes_sent $pid';\n\
         access_log access.log fmt;\n\
         server {{\n\
           listen 127.0.0.1:{port} reuseport;\n\
           location /img/ {{ alias {fixtures}/; image_transform \"width=$arg_w\"; }}\n\
           location /timed/ {{ alias {fixtures}/; image_transform \"width=$arg_w\"; \
                               image_server_timing on; }}\n\
           location = /status {{ image_status; }}\n\
         }}\n\
         }}\n",
        module = module_path().display(),
        fixtures = fixtures_dir().display(),
    );
    fs::write(dir.join("nginx.conf"), conf).unwrap();
}

/// GET `path` on a connection of its own (so either worker may take it).
fn get_with(nginx: &Nginx, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut client = nginx.client();
    let r = client.request("GET", path, headers);
    client.close();
    r
}

fn json(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.describe()))
}

#[test]
fn counters_add_up_across_workers_in_both_formats() {
    let nginx = Nginx::start_prepared(prepare);
    let photo = fixture("photo.jpg").len() as u64;
    let page = fixture("page.html").len() as u64;

    // The known sequence: 4 transforms (or more, below), a 415, a 400, a
    // 404.
    let mut out_bytes = 0u64;
    let mut transforms = 0u64;
    let mut transform = |out_bytes: &mut u64| {
        let r = get_with(&nginx, "/img/photo.jpg?w=50", &[]);
        assert_transformed(&r, "image/jpeg");
        *out_bytes += r.body.len() as u64;
        transforms += 1;
    };
    for _ in 0..4 {
        transform(&mut out_bytes);
    }
    for (path, status, code) in [
        ("/img/page.html?w=50", 415, 9412),
        ("/img/photo.jpg?w=abc", 400, 9401),
        ("/img/missing.jpg?w=50", 404, 9404),
    ] {
        let r = get_with(&nginx, path, &[]);
        assert_image_error(&r, status, code);
        out_bytes += r.body.len() as u64;
    }

    // Both workers served some of them (the counters below are the sum).
    // reuseport hashes each connection's address: seven of them all land
    // on one worker about one time in 64, so transform more until both
    // have served (every one counted below).
    let served_by = |responses: u64| {
        nginx.wait_for_access_log(|log| log.lines().count() as u64 >= responses, READ_TIMEOUT);
        nginx
            .access_log()
            .lines()
            .filter_map(|l| l.rsplit(' ').next().map(str::to_string))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let mut pids = served_by(7);
    for extra in 1..=40 {
        if pids.len() == 2 {
            break;
        }
        transform(&mut out_bytes);
        pids = served_by(7 + extra);
    }
    let responses = transforms + 3;
    assert_eq!(
        pids.len(),
        2,
        "one worker took every connection:\n{}",
        nginx.access_log()
    );

    // JSON, the default; reading the counters does not change them.
    for _ in 0..2 {
        let r = get_with(&nginx, "/status", &[]);
        r.assert_status(200);
        assert_eq!(r.content_type(), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = json(&r);
        assert_eq!(v["responses"], responses, "{v}");
        assert_eq!(v["transformed"], transforms, "{v}");
        assert_eq!(
            v["errors"],
            serde_json::json!([
                {"status": 415, "code": 9412, "count": 1},
                {"status": 400, "code": 9401, "count": 1},
                {"status": 404, "code": 9404, "count": 1},
            ]),
            "{v}"
        );
        assert_eq!(v["errors_other"], 0);
        // The engine read the four photos and the page it refused.
        assert_eq!(v["bytes"]["in"], transforms * photo + page, "{v}");
        assert_eq!(v["bytes"]["out"], out_bytes, "{v}");
        assert_eq!(
            v["pools"],
            serde_json::json!([{"name": "default", "running": 0, "queued": 0}]),
            "{v}"
        );
        // Engine runs: the transforms and the refused page.
        let hist = &v["processing_ms"];
        assert_eq!(hist["count"], transforms + 1, "{v}");
        let buckets = hist["buckets"].as_array().unwrap();
        assert_eq!(buckets.last().unwrap()["count"], transforms + 1, "{v}");
        assert!(hist["sum"].as_f64().unwrap() > 0.0, "{v}");
    }

    // Prometheus text, by argument and by Accept.
    let expected = [
        format!("nginx_image_responses_total {responses}"),
        format!("nginx_image_transformed_total {transforms}"),
        "nginx_image_errors_total{status=\"415\",code=\"9412\"} 1".to_string(),
        "nginx_image_errors_total{status=\"400\",code=\"9401\"} 1".to_string(),
        "nginx_image_errors_total{status=\"404\",code=\"9404\"} 1".to_string(),
        format!(
            "nginx_image_input_bytes_total {}",
            transforms * photo + page
        ),
        format!("nginx_image_output_bytes_total {out_bytes}"),
        "nginx_image_jobs_running{pool=\"default\"} 0".to_string(),
        "nginx_image_jobs_queued{pool=\"default\"} 0".to_string(),
        format!(
            "nginx_image_processing_seconds_bucket{{le=\"+Inf\"}} {}",
            transforms + 1
        ),
        format!("nginx_image_processing_seconds_count {}", transforms + 1),
    ];
    let by_arg = get_with(&nginx, "/status?format=prometheus", &[]);
    let by_accept = get_with(&nginx, "/status", &[("Accept", "text/plain")]);
    for r in [&by_arg, &by_accept] {
        r.assert_status(200);
        assert_eq!(
            r.content_type(),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let text = r.text();
        for line in &expected {
            assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
        }
        assert!(!text.contains("# EOF"));
    }

    // OpenMetrics for Prometheus' own scraper.
    let scraper = "application/openmetrics-text;version=1.0.0,\
                   text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let r = get_with(&nginx, "/status", &[("Accept", scraper)]);
    assert!(r
        .content_type()
        .unwrap_or_default()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let text = r.text();
    assert!(
        text.contains("# TYPE nginx_image_responses counter\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\nnginx_image_responses_total {responses}\n")),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    nginx.assert_log_clean();
}

#[test]
fn status_requests_are_checked() {
    let nginx = Nginx::start_prepared(prepare);
    let r = get_with(&nginx, "/status?format=xml", &[]);
    r.assert_status(400);
    assert!(r.text().contains("xml"), "{}", r.describe());

    let mut client = nginx.client();
    let r = client.request("POST", "/status", &[("Content-Length", "0")]);
    r.assert_status(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));

    let r = client.request("HEAD", "/status", &[]);
    r.assert_status(200);
    assert!(r.body.is_empty());
    assert!(r.content_length().unwrap_or(0) > 0, "{}", r.describe());
    nginx.assert_log_clean();
}

#[test]
fn server_timing_reports_the_stages_where_enabled() {
    let nginx = Nginx::start_prepared(prepare);
    let r = get_with(&nginx, "/timed/photo.jpg?w=50", &[]);
    assert_transformed(&r, "image/jpeg");
    let value = r
        .header("server-timing")
        .unwrap_or_else(|| panic!("{}", r.describe()));
    let stages: Vec<(&str, f64)> = value
        .split(", ")
        .map(|part| {
            let (name, dur) = part.split_once(";dur=").expect(value);
            (name, dur.parse::<f64>().expect(value))
        })
        .collect();
    let names: Vec<_> = stages.iter().map(|s| s.0).collect();
    assert_eq!(names, ["decode", "resize", "encode"], "{value}");
    assert!(stages.iter().all(|s| s.1 >= 0.0), "{value}");
    assert!(stages.iter().map(|s| s.1).sum::<f64>() > 0.0, "{value}");

    // Not where it is off, and not on errors.
    let r = get_with(&nginx, "/img/photo.jpg?w=50", &[]);
    assert_transformed(&r, "image/jpeg");
    assert_eq!(r.header("server-timing"), None);
    let r = get_with(&nginx, "/timed/page.html?w=50", &[]);
    assert_image_error(&r, 415, 9412);
    assert_eq!(r.header("server-timing"), None);
    nginx.assert_log_clean();
}
