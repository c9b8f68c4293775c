//! Which rendering an `image_status` request gets: `?format=` first
//! (`json`, `prometheus`, `openmetrics`), else the `Accept` header — the
//! type with the highest weight among `application/json`,
//! `application/openmetrics-text` and `text/plain` (Prometheus' scraper
//! asks for OpenMetrics first, then `text/plain`) — else JSON.

/// A rendering and the `Content-Type` it is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Json,
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
    OpenMetrics,
}

impl Rendering {
    pub fn content_type(self) -> &'static str {
        match self {
            Rendering::Json => "application/json",
            Rendering::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Rendering::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The rendering for a request with the `format` query argument and the
/// `Accept` header given; `Err` names a `format` value that is unknown.
pub fn choose(format: Option<&str>, accept: Option<&str>) -> Result<Rendering, String> {
    if let Some(format) = format.filter(|f| !f.is_empty()) {
        return match format.to_ascii_lowercase().as_str() {
            "json" => Ok(Rendering::Json),
            "prometheus" | "text" => Ok(Rendering::Prometheus),
            "openmetrics" => Ok(Rendering::OpenMetrics),
            _ => Err(format!(
                "unknown format \"{format}\" (json, prometheus or openmetrics)"
            )),
        };
    }
    Ok(accept.map_or(Rendering::Json, from_accept))
}

/// The best of the three types `accept` lists with a non-zero weight;
/// ties go to JSON, then OpenMetrics; wildcards choose nothing.
fn from_accept(accept: &str) -> Rendering {
    let mut best = (Rendering::Json, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let rendering = match media.as_str() {
            "application/json" => Rendering::Json,
            "application/openmetrics-text" => Rendering::OpenMetrics,
            "text/plain" => Rendering::Prometheus,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > best.1 {
            best = (rendering, q);
        }
    }
    best.0
}

/// The value of the `format` argument in a query string
/// (`a=1&format=prometheus`), as nginx's `$arg_format` finds it.
pub fn format_argument(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("format="))
}
