//! Shared harness of the integration tests: runs the nginx built by
//! `cargo build` with the freshly built module loaded, talks HTTP/1.1 to it
//! with a tiny client, and generates the test images.
//!
//! Every test starts its own nginx in its own temp dir with its own ports,
//! so tests run in parallel. On drop nginx is stopped gracefully and its
//! error log must be free of `[alert]`, `[emerg]` and crashed workers.

#![allow(dead_code)]

pub mod curl;
pub mod fixtures;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The nginx binary the module was built against (exported by build.rs).
pub const NGINX_BINARY: &str = env!("NGINX_BINARY");

/// Real photographs shared by the project's tests and benchmarks; not part
/// of the repository.
pub const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// How long a client waits for a byte before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long nginx may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// `target/<profile>/deps`, where cargo puts the test binaries and the fresh
/// `libngx_http_image_module.so`.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .expect("test binary has a directory")
        .to_path_buf()
}

/// The module built by this `cargo test` run.
pub fn module_path() -> PathBuf {
    let deps = deps_dir();
    let candidates = [
        deps.join("libngx_http_image_module.so"),
        deps.parent()
            .map(|p| p.join("libngx_http_image_module.so"))
            .unwrap_or_default(),
    ];
    for path in &candidates {
        if path.exists() {
            return path.clone();
        }
    }
    panic!(
        "the module was not built: none of {candidates:?} exists \
         (the crate must be built as cdylib + rlib)"
    );
}

/// A file of the shared corpus, or `None` (with a message saying the test is
/// skipped) when the corpus is not there.
pub fn corpus(name: &str) -> Option<PathBuf> {
    let path = Path::new(CORPUS_DIR).join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: corpus file {} not found; this test needs the shared image corpus",
            path.display()
        );
        None
    }
}

/// The directory holding the generated test images (`{FIXTURES}`), created
/// on first use and cached across runs in `target/<profile>/test-fixtures/`.
pub fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let profile_dir = deps_dir()
            .parent()
            .expect("deps has a parent")
            .to_path_buf();
        let dir = profile_dir.join("test-fixtures").join(fixtures::VERSION);
        let marker = dir.join(".complete");
        if !marker.exists() {
            fs::create_dir_all(&dir).expect("create fixtures dir");
            let started = Instant::now();
            fixtures::generate(&dir);
            fs::write(&marker, b"").expect("write fixtures marker");
            eprintln!(
                "generated test fixtures in {} ({:.1} s)",
                dir.display(),
                started.elapsed().as_secs_f64()
            );
        }
        dir
    })
}

/// The bytes of a generated fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Serialises the CPU-heavy tests of one test binary so their timings are
/// not distorted by each other (the machine may have only 2 cores).
pub fn heavy_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// Temp dirs and ports
// ---------------------------------------------------------------------------

/// A directory under the system temp dir, removed on drop unless the test
/// is failing (then its path is printed so the logs can be read).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: nginx files kept in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

/// A running nginx (master + 1 worker) with the module loaded.
pub struct Nginx {
    child: Option<Child>,
    /// `{PORT}`: where the test's main server listens.
    pub port: u16,
    /// `{ORIGIN_PORT}`: a second free port, for an origin server block.
    pub origin_port: u16,
    dir: TempDir,
}

enum StartError {
    PortInUse,
    Failed(String),
}

impl Nginx {
    /// Starts nginx with `http_conf` inside its `http {}` block.
    pub fn start(http_conf: &str) -> Nginx {
        Nginx::start_with("", http_conf)
    }

    /// Starts nginx with `main_conf` at the top level (e.g. `thread_pool`)
    /// and `http_conf` inside `http {}`.
    pub fn start_with(main_conf: &str, http_conf: &str) -> Nginx {
        // Another test may grab a port between our probe and nginx's bind:
        // retry with fresh ports in that case.
        for _ in 0..4 {
            let dir = TempDir::new("ngx-image-test");
            let port = free_port();
            let origin_port = free_port();
            write_config(dir.path(), port, origin_port, main_conf, http_conf);
            match spawn(dir.path(), port) {
                Ok(child) => {
                    return Nginx {
                        child: Some(child),
                        port,
                        origin_port,
                        dir,
                    }
                }
                Err(StartError::PortInUse) => continue,
                Err(StartError::Failed(message)) => {
                    // Keep the dir for inspection.
                    std::mem::forget(dir);
                    panic!("{message}");
                }
            }
        }
        panic!("nginx could not bind free ports after several attempts");
    }

    /// Starts nginx with a complete `nginx.conf` that `prepare(prefix,
    /// port)` writes into the prefix directory, together with anything else
    /// it needs there (e.g. an example from nginx-conf/ and its links).
    pub fn start_prepared(prepare: impl Fn(&Path, u16)) -> Nginx {
        for _ in 0..4 {
            let dir = TempDir::new("ngx-image-test");
            let port = free_port();
            prepare(dir.path(), port);
            match spawn(dir.path(), port) {
                Ok(child) => {
                    return Nginx {
                        child: Some(child),
                        port,
                        origin_port: 0,
                        dir,
                    }
                }
                Err(StartError::PortInUse) => continue,
                Err(StartError::Failed(message)) => {
                    std::mem::forget(dir);
                    panic!("{message}");
                }
            }
        }
        panic!("nginx could not bind a free port after several attempts");
    }

    /// Runs `nginx -t` on a config with `http_conf`; returns whether it
    /// passed and everything nginx printed.
    pub fn test_config(http_conf: &str) -> (bool, String) {
        Nginx::test_config_with("", http_conf)
    }

    pub fn test_config_with(main_conf: &str, http_conf: &str) -> (bool, String) {
        let dir = TempDir::new("ngx-image-conftest");
        write_config(dir.path(), free_port(), free_port(), main_conf, http_conf);
        let out = Command::new(NGINX_BINARY)
            .arg("-p")
            .arg(prefix_arg(dir.path()))
            .args(["-c", "nginx.conf", "-e", "error.log", "-t"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {NGINX_BINARY} -t: {e}"));
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Ok(log) = fs::read_to_string(dir.path().join("error.log")) {
            text.push_str(&log);
        }
        (out.status.success(), text)
    }

    /// The prefix directory (`{DIR}`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file of the prefix directory as text ("" if absent).
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir().join(name)).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        self.read("error.log")
    }

    pub fn access_log(&self) -> String {
        self.read("access.log")
    }

    /// Fails the test if the error log has an `[alert]`, an `[emerg]` or a
    /// worker that died of a signal.
    pub fn assert_log_clean(&self) {
        let log = self.error_log();
        let bad = bad_log_lines(&log);
        assert!(
            bad.is_empty(),
            "error.log of nginx in {} has problems:\n{}",
            self.dir().display(),
            bad.join("\n")
        );
    }

    /// Polls the access log until a line satisfies `pred`; returns it, or
    /// `None` after `timeout`.
    pub fn wait_for_access_log(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        self.wait_for_log("access.log", pred, timeout)
    }

    /// Like [`Nginx::wait_for_access_log`] for any log file of the prefix.
    pub fn wait_for_log(
        &self,
        name: &str,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.read(name).lines().find(|l| pred(l)) {
                return Some(line.to_string());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new keep-alive connection to `{PORT}`.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// `GET path` on a fresh connection to `{PORT}`.
    pub fn get(&self, path: &str) -> Response {
        get(self.port, path)
    }

    /// Stops nginx gracefully (SIGQUIT, so in-flight requests finish and
    /// leaked connections are reported), escalating to SIGTERM and SIGKILL.
    /// Returns a description of what went wrong, if anything.
    fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        if child.try_wait().ok().flatten().is_some() {
            return Some("nginx had already exited before the end of the test".into());
        }
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-QUIT", &pid]).status();
        if wait_exit(&mut child, Duration::from_secs(5)) {
            return None;
        }
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        if !wait_exit(&mut child, Duration::from_secs(3)) {
            let _ = child.kill();
            let _ = child.wait();
        }
        Some(
            "nginx did not exit within 5 s of SIGQUIT: a request or connection \
             was still open (stuck request?)"
                .into(),
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let problem = self.stop();
        if std::thread::panicking() {
            return;
        }
        let log = self.error_log();
        let mut bad = bad_log_lines(&log);
        if let Some(problem) = problem {
            bad.insert(0, problem);
        }
        if !bad.is_empty() {
            panic!(
                "nginx in {} ended badly:\n{}",
                self.dir().display(),
                bad.join("\n")
            );
        }
    }
}

fn bad_log_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains("[alert]") || l.contains("[emerg]") || l.contains("exited on signal")
        })
        .map(str::to_string)
        .collect()
}

fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn prefix_arg(dir: &Path) -> String {
    format!("{}/", dir.display())
}

/// Replaces `{PORT}`, `{ORIGIN_PORT}`, `{DIR}` and `{FIXTURES}`.
pub fn substitute(conf: &str, dir: &Path, port: u16, origin_port: u16) -> String {
    conf.replace("{PORT}", &port.to_string())
        .replace("{ORIGIN_PORT}", &origin_port.to_string())
        .replace("{DIR}", &dir.display().to_string())
        .replace("{FIXTURES}", &fixtures_dir().display().to_string())
}

fn write_config(dir: &Path, port: u16, origin_port: u16, main_conf: &str, http_conf: &str) {
    let module = module_path();
    let main_conf = substitute(main_conf, dir, port, origin_port);
    let http_conf = substitute(http_conf, dir, port, origin_port);
    let conf = format!(
        "load_module {module};\n\
         user root;\n\
         worker_processes 1;\n\
         error_log error.log info;\n\
         pid nginx.pid;\n\
         events {{ worker_connections 1024; }}\n\
         {main_conf}\n\
         http {{\n\
         types {{ text/html html; text/plain txt; image/jpeg jpg jpeg; image/png png; \
         image/gif gif; image/webp webp; }}\n\
         default_type application/octet-stream;\n\
         log_format fmt '$status \"$request\" $body_bytes_sent $request_time';\n\
         access_log access.log fmt;\n\
         {http_conf}\n\
         }}\n",
        module = module.display(),
    );
    fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
}

fn spawn(dir: &Path, port: u16) -> Result<Child, StartError> {
    let stdout = fs::File::create(dir.join("stdout.log")).expect("create stdout.log");
    let stderr = fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
    let mut child = Command::new(NGINX_BINARY)
        .arg("-p")
        .arg(prefix_arg(dir))
        .args(["-c", "nginx.conf", "-e", "error.log", "-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| StartError::Failed(format!("cannot run {NGINX_BINARY}: {e}")))?;

    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let logs = startup_logs(dir);
            if logs.contains("Address already in use") {
                return Err(StartError::PortInUse);
            }
            return Err(StartError::Failed(format!(
                "nginx exited during startup ({status}); config and logs in {}:\n{logs}",
                dir.display()
            )));
        }
        let addr = ("127.0.0.1", port);
        if TcpStream::connect(addr).is_ok() {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(StartError::Failed(format!(
                "nginx did not listen on port {port} within {START_TIMEOUT:?}; logs in {}:\n{}",
                dir.display(),
                startup_logs(dir)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn startup_logs(dir: &Path) -> String {
    let mut out = String::new();
    for name in ["stderr.log", "error.log"] {
        let text = fs::read_to_string(dir.join(name)).unwrap_or_default();
        if !text.trim().is_empty() {
            let _ = writeln!(out, "--- {name} ---\n{text}");
        }
    }
    out
}

// ---------------------------------------------------------------------------
// HTTP/1.1 client
// ---------------------------------------------------------------------------

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header with this name (case-insensitive).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Status, headers and (the start of) the body, for assertion messages.
    pub fn describe(&self) -> String {
        let mut out = format!("HTTP {}\n", self.status);
        for (n, v) in &self.headers {
            let _ = writeln!(out, "{n}: {v}");
        }
        let printable = self
            .body
            .iter()
            .take(400)
            .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b));
        if printable {
            let text = self.text();
            let cut: String = text.chars().take(400).collect();
            let _ = write!(out, "\n{cut}");
        } else {
            let _ = write!(out, "\n<{} bytes of binary body>", self.body.len());
        }
        out
    }

    /// Asserts the status, printing the whole response when it differs.
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; response:\n{}",
            self.describe()
        );
        self
    }

    /// Decodes the body as an image: (format, width, height).
    pub fn image(&self) -> (image::ImageFormat, u32, u32) {
        decode(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not a decodable image ({e}); response:\n{}",
                self.describe()
            )
        })
    }

    /// The body as a JSON object (`None` when it is not one).
    pub fn json(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(serde_json::Value::Object(fields)) => Some(fields),
            _ => None,
        }
    }

    /// A number field of a JSON body, e.g. `"status": 415`.
    pub fn json_number(&self, key: &str) -> Option<i64> {
        self.json()?.get(key)?.as_i64()
    }

    /// A string field of a JSON body.
    pub fn json_string(&self, key: &str) -> Option<String> {
        Some(self.json()?.get(key)?.as_str()?.to_owned())
    }
}

/// Decodes an image body: (format, width, height) of its first frame.
pub fn decode(body: &[u8]) -> Result<(image::ImageFormat, u32, u32), String> {
    let format = image::guess_format(body).map_err(|e| e.to_string())?;
    let img = image::load_from_memory_with_format(body, format).map_err(|e| e.to_string())?;
    Ok((format, img.width(), img.height()))
}

/// Decodes an image body fully.
pub fn decode_image(body: &[u8]) -> image::DynamicImage {
    image::load_from_memory(body).unwrap_or_else(|e| panic!("decode image: {e}"))
}

/// One HTTP/1.1 connection; several requests may be sent on it in turn.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Sends a request without a body and reads the response.
    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request_with_body(method, path, headers, &[])
    }

    /// Sends a request (with `Content-Length` when `body` is not empty) and
    /// reads the response.
    pub fn request_with_body(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("sending {method} {path}: {e}"));
        self.read_response(method).unwrap_or_else(|e| {
            panic!(
                "reading the response to {method} {path}: {}",
                describe_io_error(&e)
            )
        })
    }

    /// Writes a request; does not wait for the answer.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<()> {
        self.send_raw(&request_bytes(method, path, headers, body))
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// Reads one response; `method` tells whether a body follows (HEAD).
    pub fn read_response(&mut self, method: &str) -> io::Result<Response> {
        let status_line = self.read_line()?;
        if status_line.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(invalid(format!("bad status line {status_line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let headers = self.read_headers()?;
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };

        let no_body = method.eq_ignore_ascii_case("HEAD")
            || status / 100 == 1
            || status == 204
            || status == 304;
        if no_body {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            response.body = self.read_chunked()?;
        } else if let Some(len) = response.content_length() {
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body)?;
            response.body = body;
        } else {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            line.pop();
        }
        String::from_utf8(line).map_err(|e| invalid(e.to_string()))
    }

    fn read_headers(&mut self) -> io::Result<Vec<(String, String)>> {
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                return Ok(headers);
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size line {line:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                self.read_headers()?;
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            let crlf = self.read_line()?;
            if !crlf.is_empty() {
                return Err(invalid("chunk not followed by CRLF".into()));
            }
        }
    }

    /// Closes the connection abruptly (both directions).
    pub fn close(self) {
        let _ = self.reader.get_ref().shutdown(Shutdown::Both);
    }
}

/// Read timeouts show up as `WouldBlock` on Linux: say what they mean.
pub fn describe_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "no response within {} s (the server hung or sent an incomplete answer)",
            READ_TIMEOUT.as_secs()
        ),
        _ => e.to_string(),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The bytes of an HTTP/1.1 request.
pub fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str("Host: 127.0.0.1\r\n");
    }
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !body.is_empty() {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `GET path` on a fresh connection.
pub fn get(port: u16, path: &str) -> Response {
    Client::connect(port).request("GET", path, &[])
}

/// Runs `f` and measures how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// Asserts a successful transformation: 200, the given Content-Type,
/// Content-Length equal to the body, no Accept-Ranges, no validator but
/// the variant's; returns the
/// decoded (format, width, height).
pub fn assert_transformed(resp: &Response, content_type: &str) -> (image::ImageFormat, u32, u32) {
    resp.assert_status(200);
    assert_eq!(
        resp.content_type(),
        Some(content_type),
        "Content-Type; response:\n{}",
        resp.describe()
    );
    assert_eq!(
        resp.content_length(),
        Some(resp.body.len()),
        "Content-Length must equal the body length; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("accept-ranges").is_none(),
        "a transformed response must not advertise ranges; response:\n{}",
        resp.describe()
    );
    // Its only validator is the variant's ("im<variant>:<origin tag>").
    assert!(
        resp.header("etag")
            .is_none_or(|tag| tag.trim_start_matches("W/").starts_with("\"im")),
        "a transformed response must not keep the original's ETag; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("last-modified").is_none(),
        "a transformed response must not keep the original's Last-Modified; response:\n{}",
        resp.describe()
    );
    resp.image()
}

/// Asserts an error produced by the module: status, JSON body with the same
/// status and the code, `Content-Type: application/json` and
/// `Image-Error: err=CODE`. Returns the `error` message.
pub fn assert_image_error(resp: &Response, status: u16, code: u16) -> String {
    resp.assert_status(status);
    let ctx = resp.describe();
    assert_eq!(
        resp.header("image-error"),
        Some(format!("err={code}").as_str()),
        "Image-Error header; response:\n{ctx}"
    );
    let content_type = resp.content_type().unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "Content-Type must be application/json; response:\n{ctx}"
    );
    assert_eq!(
        resp.json_number("status"),
        Some(status as i64),
        "JSON status; response:\n{ctx}"
    );
    assert_eq!(
        resp.json_number("code"),
        Some(code as i64),
        "JSON code; response:\n{ctx}"
    );
    if let Some(len) = resp.content_length() {
        assert_eq!(len, resp.body.len(), "Content-Length; response:\n{ctx}");
    }
    resp.json_string("error")
        .unwrap_or_else(|| panic!("JSON body has no \"error\" string; response:\n{ctx}"))
}

pub mod cache_policy;
pub mod images;
pub mod origin;
pub mod process;
