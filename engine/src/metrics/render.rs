//! A snapshot of the [`Counters`] as JSON, or in Prometheus' text
//! exposition format (0.0.4) or OpenMetrics 1.0, which differ only in how
//! a counter family is named in `# TYPE` and in the closing `# EOF`.

use std::fmt::Write as _;

use super::{Counters, BUCKETS_MS};

/// The JSON rendering:
///
/// ```text
/// {"responses":7,"transformed":3,"errors":[{"status":415,"code":9520,"count":1}],
///  "errors_other":0,"bytes":{"in":123,"out":456},
///  "pools":[{"name":"default","running":0,"queued":0}],
///  "processing_ms":{"count":4,"sum":12.5,"buckets":[{"le":5,"count":3},...,{"le":"+Inf","count":4}]}}
/// ```
///
/// Bucket counts are cumulative, as in Prometheus.
pub fn json(c: &Counters) -> String {
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "{{\"responses\":{},\"transformed\":{},\"errors\":[",
        c.responses, c.transformed
    );
    for (i, slot) in c.error_slots().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let code = match slot.code {
            0 => "null".to_string(),
            code => code.to_string(),
        };
        let _ = write!(
            out,
            "{comma}{{\"status\":{},\"code\":{code},\"count\":{}}}",
            slot.status, slot.count
        );
    }
    let _ = write!(
        out,
        "],\"errors_other\":{},\"bytes\":{{\"in\":{},\"out\":{}}},\"pools\":[",
        c.errors_other, c.bytes_in, c.bytes_out
    );
    for (i, pool) in c.pool_slots().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(
            out,
            "{comma}{{\"name\":\"{}\",\"running\":{},\"queued\":{}}}",
            json_escape(pool.name()),
            pool.running,
            pool.queued
        );
    }
    let _ = write!(
        out,
        "],\"processing_ms\":{{\"count\":{},\"sum\":{},\"buckets\":[",
        c.processing_count,
        c.processing_sum_us as f64 / 1000.0
    );
    let mut cumulative = 0;
    for (i, count) in c.buckets.iter().enumerate() {
        cumulative += count;
        let comma = if i > 0 { "," } else { "" };
        let le = match BUCKETS_MS.get(i) {
            Some(bound) => bound.to_string(),
            None => "\"+Inf\"".to_string(),
        };
        let _ = write!(out, "{comma}{{\"le\":{le},\"count\":{cumulative}}}");
    }
    out.push_str("]}}\n");
    out
}

/// The Prometheus rendering; `openmetrics` selects OpenMetrics 1.0.
pub fn prometheus(c: &Counters, openmetrics: bool) -> String {
    let mut out = String::with_capacity(2048);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        // OpenMetrics names a counter family without its `_total` suffix.
        let family = match (openmetrics, kind) {
            (true, "counter") => name.trim_end_matches("_total"),
            _ => name,
        };
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} {kind}");
    };
    let p = "nginx_image_";
    family(
        &mut out,
        &format!("{p}responses_total"),
        "counter",
        "Responses the image module sent (images, originals, errors).",
    );
    let _ = writeln!(out, "{p}responses_total {}", c.responses);
    family(
        &mut out,
        &format!("{p}transformed_total"),
        "counter",
        "Transformed images sent.",
    );
    let _ = writeln!(out, "{p}transformed_total {}", c.transformed);
    family(
        &mut out,
        &format!("{p}errors_total"),
        "counter",
        "Error responses by HTTP status and Image-Error code.",
    );
    for slot in c.error_slots() {
        let code = match slot.code {
            0 => String::new(),
            code => code.to_string(),
        };
        let _ = writeln!(
            out,
            "{p}errors_total{{status=\"{}\",code=\"{code}\"}} {}",
            slot.status, slot.count
        );
    }
    if c.errors_other > 0 {
        let _ = writeln!(
            out,
            "{p}errors_total{{status=\"other\",code=\"other\"}} {}",
            c.errors_other
        );
    }
    family(
        &mut out,
        &format!("{p}input_bytes_total"),
        "counter",
        "Bytes of the originals read.",
    );
    let _ = writeln!(out, "{p}input_bytes_total {}", c.bytes_in);
    family(
        &mut out,
        &format!("{p}output_bytes_total"),
        "counter",
        "Body bytes of the module's responses.",
    );
    let _ = writeln!(out, "{p}output_bytes_total {}", c.bytes_out);
    for (gauge, help) in [
        (
            "jobs_running",
            "Transformations running on the thread pool.",
        ),
        ("jobs_queued", "Transformations waiting for a turn."),
    ] {
        family(&mut out, &format!("{p}{gauge}"), "gauge", help);
        for pool in c.pool_slots() {
            let value = if gauge == "jobs_running" {
                pool.running
            } else {
                pool.queued
            };
            let _ = writeln!(
                out,
                "{p}{gauge}{{pool=\"{}\"}} {value}",
                label_escape(pool.name())
            );
        }
    }
    family(
        &mut out,
        &format!("{p}processing_seconds"),
        "histogram",
        "Time the image engine took per transformation.",
    );
    let mut cumulative = 0;
    for (i, count) in c.buckets.iter().enumerate() {
        cumulative += count;
        let le = match BUCKETS_MS.get(i) {
            Some(&ms) => format!("{}", ms as f64 / 1000.0),
            None => "+Inf".to_string(),
        };
        let _ = writeln!(
            out,
            "{p}processing_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "{p}processing_seconds_sum {}",
        c.processing_sum_us as f64 / 1e6
    );
    let _ = writeln!(out, "{p}processing_seconds_count {}", c.processing_count);
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// A JSON string's content.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A Prometheus label value's content.
fn label_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
