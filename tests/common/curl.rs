//! An HTTP/2 client for the tests: the curl command-line tool. It speaks
//! HTTP/2 over TLS (ALPN), multiplexes parallel transfers on one connection,
//! and resets just that stream (RST_STREAM) when one transfer times out —
//! everything the HTTP/2 tests need, without a TLS stack in the test build.
//!
//! Each request is its own curl "operation" (`--next`) with its own header
//! and body files; `--parallel` runs them at once on a shared connection.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{Response, TempDir};

/// One request of a batch.
#[derive(Clone, Debug, Default)]
pub struct Req {
    pub path: String,
    /// Send HEAD instead of GET.
    pub head: bool,
    /// Give up (and reset the stream) after this many seconds.
    pub max_time: Option<f64>,
}

impl Req {
    pub fn get(path: &str) -> Req {
        Req {
            path: path.to_string(),
            ..Req::default()
        }
    }

    pub fn head(path: &str) -> Req {
        Req {
            head: true,
            ..Req::get(path)
        }
    }

    pub fn timeout(path: &str, seconds: f64) -> Req {
        Req {
            max_time: Some(seconds),
            ..Req::get(path)
        }
    }
}

/// What curl reported for one transfer.
#[derive(Debug)]
pub struct Reply {
    /// Status and headers of the final response, and the body (empty for
    /// HEAD). Status 0: no response (e.g. the transfer timed out).
    pub response: Response,
    /// The protocol curl used: "2" for HTTP/2.
    pub http_version: String,
    /// New connections this transfer opened (0 when it reused one).
    pub new_connections: u32,
    /// Seconds from the start of the transfer to its end.
    pub seconds: f64,
}

/// Panics with a clear message unless curl is installed with HTTP/2.
fn check_curl() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let out = Command::new("curl")
            .arg("--version")
            .output()
            .map_err(|e| format!("cannot run curl ({e}); scripts/setup.sh installs it"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("HTTP2") {
            Ok(())
        } else {
            Err(format!("this curl has no HTTP/2 support:\n{text}"))
        }
    });
    if let Err(message) = result {
        panic!("{message}");
    }
}

/// Runs `requests` at once over HTTPS to 127.0.0.1:`port`, HTTP/2 through
/// ALPN, multiplexed on one connection; returns the replies in the order of
/// `requests`.
pub fn h2_parallel(port: u16, requests: &[Req]) -> Vec<Reply> {
    check_curl();
    let dir = TempDir::new("ngx-image-curl");
    let mut cmd = Command::new("curl");
    cmd.args(["--no-progress-meter", "--parallel", "--parallel-max", "200"]);
    for (i, req) in requests.iter().enumerate() {
        if i > 0 {
            cmd.arg("--next");
        }
        cmd.args(["--silent", "--insecure", "--http2"]);
        if req.head {
            cmd.arg("--head");
        }
        if let Some(seconds) = req.max_time {
            cmd.args(["--max-time", &seconds.to_string()]);
        }
        cmd.arg("--dump-header")
            .arg(dir.path().join(format!("h{i}")))
            .arg("--output")
            .arg(dir.path().join(format!("b{i}")))
            .arg("--write-out")
            .arg(format!(
                "{i} %{{http_code}} %{{http_version}} %{{num_connects}} %{{time_total}}\\n"
            ))
            .arg(format!("https://127.0.0.1:{port}{}", req.path));
    }
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run curl: {e}"));
    // A transfer that timed out makes curl exit non-zero: the status of each
    // transfer is what counts.
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut replies: Vec<Option<Reply>> = requests.iter().map(|_| None).collect();
    for line in report.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [index, code, version, connects, seconds] = fields[..] else {
            panic!("unexpected curl report line {line:?} in:\n{report}");
        };
        let i: usize = index.parse().expect("transfer index");
        let req = &requests[i];
        let mut response = read_headers(&dir.path().join(format!("h{i}")));
        response.status = code.parse().unwrap_or(0);
        if !req.head {
            response.body = fs::read(dir.path().join(format!("b{i}"))).unwrap_or_default();
        }
        replies[i] = Some(Reply {
            response,
            http_version: version.to_string(),
            new_connections: connects.parse().unwrap_or(0),
            seconds: seconds.parse().unwrap_or(0.0),
        });
    }
    replies
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| panic!("curl reported nothing for request {i}:\n{report}"))
        })
        .collect()
}

/// `GET path` over HTTP/2 (one request on its own connection).
pub fn h2_get(port: u16, path: &str) -> Reply {
    h2_parallel(port, &[Req::get(path)]).remove(0)
}

/// The headers curl dumped (the last response's, if several).
pub fn read_headers(path: &Path) -> Response {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut headers = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            headers.clear();
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Response {
        status: 0,
        headers,
        body: Vec::new(),
    }
}

/// A fresh self-signed certificate for 127.0.0.1 / localhost, made by the
/// openssl command-line tool: `cert.pem` and `key.pem` in the returned
/// directory (removed when it is dropped).
pub fn self_signed_cert() -> TempDir {
    let tmp = TempDir::new("ngx-image-tls");
    let dir = tmp.path();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run openssl ({e}); scripts/setup.sh installs it"));
    assert!(
        out.status.success(),
        "openssl could not make a certificate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmp
}
