//! Origins scripted byte by byte for the error tests: silent, slow,
//! chunked, close-delimited, with odd status lines.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A plain TCP origin on a loopback port: every accepted connection is
/// handed to the handler on its own thread. Stopped on drop; handlers
/// should poll the flag they get when they wait.
pub struct RawOrigin {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl RawOrigin {
    pub fn start<F>(handler: F) -> RawOrigin
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("origin address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let thread = {
            let stop = stop.clone();
            let accepted = accepted.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            let _ = stream.set_nonblocking(false);
                            let handler = handler.clone();
                            let stop = stop.clone();
                            thread::spawn(move || handler(stream, &stop));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        RawOrigin {
            port,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// Accepts connections, reads the request and never answers.
    pub fn silent() -> RawOrigin {
        RawOrigin::start(|mut stream, stop| {
            let _ = read_request_head(&mut stream);
            wait_until(stop, Duration::from_secs(60));
        })
    }

    /// Answers every request with `bytes` after `delay`.
    pub fn delayed(delay: Duration, bytes: Vec<u8>) -> RawOrigin {
        RawOrigin::start(move |mut stream, stop| {
            let _ = read_request_head(&mut stream);
            wait_until(stop, delay);
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
        })
    }

    /// Answers every request with `bytes` at once and closes.
    pub fn respond(bytes: Vec<u8>) -> RawOrigin {
        RawOrigin::delayed(Duration::ZERO, bytes)
    }

    /// How many connections were accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for RawOrigin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sleeps until `stop` is set or `limit` has passed.
fn wait_until(stop: &AtomicBool, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads up to the end of a request's header.
pub fn read_request_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// A complete HTTP/1.1 response with `Content-Length` and
/// `Connection: close`. `status_line` is e.g. `"503 Slow Down"`.
pub fn http_response(status_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status_line}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A `200` response whose body is sent chunked (no `Content-Length`), in
/// chunks of `chunk` bytes.
pub fn chunked_response(content_type: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(chunk.max(1)) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// A `200` response without `Content-Length` whose end is the closing of
/// the connection (HTTP/1.0 style).
pub fn close_delimited_response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n")
            .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
