//! Helpers of the error tests: origins scripted byte by byte (silent, slow,
//! chunked, with odd status lines), images built by hand (decompression
//! bombs, BMP and TIFF headers, long animations), assertions on the cache
//! policy of error responses, and probes of the nginx worker process.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::CompressionType;
use image::{Delay, Frame, Rgba, RgbaImage};

use super::{fixtures, Nginx, Response};

// ---------------------------------------------------------------------------
// Scripted origins
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Images built by hand
// ---------------------------------------------------------------------------

/// CRC-32 (IEEE), as PNG chunks use.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A valid zlib stream of stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A PNG that claims `width`×`height` 8-bit RGB pixels but carries only
/// the first rows' worth of a few hundred bytes: a decompression bomb as
/// far as any decoder trusting the header is concerned.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&png_chunk(b"IDAT", &zlib_stored(&[0u8; 256])));
    out.extend_from_slice(&png_chunk(b"IEND", &[]));
    out
}

/// A GIF whose logical screen claims `width`×`height` with one tiny frame.
pub fn gif_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    // Global colour table of 2 entries, background 0, no aspect ratio.
    out.extend_from_slice(&[0x80, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    // One image descriptor covering the whole screen, LZW minimum code
    // size 2, one sub-block with a clear code (4) and an end code (5).
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&[2, 1, 0x2C, 0]);
    out.push(0x3B);
    out
}

/// A real 24-bit BMP of `width`×`height` grey pixels.
pub fn bmp(width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let pixels = row * height;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(54 + pixels).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&(height as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // BI_RGB
    out.extend_from_slice(&pixels.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.resize(out.len() + pixels as usize, 0x80);
    out
}

/// A little-endian TIFF: an 8×8 8-bit greyscale strip.
pub fn tiff() -> Vec<u8> {
    let (w, h) = (8u32, 8u32);
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 4, 1, w),     // ImageWidth
        (257, 4, 1, h),     // ImageLength
        (258, 3, 1, 8),     // BitsPerSample
        (259, 3, 1, 1),     // Compression: none
        (262, 3, 1, 1),     // PhotometricInterpretation: black is zero
        (273, 4, 1, 0),     // StripOffsets, patched below
        (278, 4, 1, h),     // RowsPerStrip
        (279, 4, 1, w * h), // StripByteCounts
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let data_offset = (8 + ifd_len) as u32;
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        let value = if tag == 273 { data_offset } else { value };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.resize(out.len() + (w * h) as usize, 0x60);
    out
}

/// An animated GIF of `frames` frames of `width`×`height`, each a
/// different colour.
pub fn animated_gif(frames: usize, width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder.set_repeat(Repeat::Infinite).expect("gif repeat");
        let frames = (0..frames).map(|i| {
            let shade = (i * 37 % 200) as u8 + 30;
            let img = RgbaImage::from_pixel(width, height, Rgba([shade, 255 - shade, 90, 255]));
            Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(50, 1))
        });
        encoder.encode_frames(frames).expect("encode gif");
    }
    out
}

/// A photo-like PNG of `width`×`height` with grain (fast deflate): a few
/// MB that take a noticeable time to decode, resample and encode.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let img = fixtures::photo_pixels(width, height, 20);
    fixtures::encode_png(&image::DynamicImage::ImageRgb8(img), CompressionType::Fast)
}

/// Writes `bytes` to `dir/name`, creating `dir`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create dir");
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------
// Cache policy of error responses
// ---------------------------------------------------------------------------

/// The `max-age` of the response's only `Cache-Control`, if it has one.
pub fn max_age(resp: &Response) -> Option<u64> {
    let values = resp.headers_named("cache-control");
    if values.len() != 1 {
        return None;
    }
    values[0]
        .split(',')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
}

/// Asserts exactly one `Cache-Control: public, max-age=AGE`, and none of
/// the origin's `Expires`.
pub fn assert_cacheable(resp: &Response, age: u64) {
    let values = resp.headers_named("cache-control");
    assert_eq!(
        values,
        vec![format!("public, max-age={age}").as_str()],
        "Cache-Control of a cacheable error; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("expires").is_none(),
        "an error must not carry the origin's Expires; response:\n{}",
        resp.describe()
    );
}

/// Asserts exactly one `Cache-Control: no-store` (no `max-age`), and no
/// `Expires`.
pub fn assert_no_store(resp: &Response) {
    let values = resp.headers_named("cache-control");
    assert_eq!(
        values,
        vec!["no-store"],
        "Cache-Control of a transient error; response:\n{}",
        resp.describe()
    );
    assert!(
        resp.header("expires").is_none(),
        "a transient error must not carry Expires; response:\n{}",
        resp.describe()
    );
}

/// Asserts the error row of the catalogue: status line, `Image-Error`,
/// JSON body (status, code, non-empty message) and the cache policy, and
/// that the origin's validators are gone. Returns the message.
pub fn assert_error_row(resp: &Response, status: u16, code: u16, cacheable: bool) -> String {
    let message = super::assert_image_error(resp, status, code);
    assert!(
        !message.trim().is_empty(),
        "the JSON error message is empty; response:\n{}",
        resp.describe()
    );
    if cacheable {
        assert_cacheable(resp, 60);
    } else {
        assert_no_store(resp);
    }
    for name in ["last-modified", "etag", "accept-ranges"] {
        assert!(
            resp.header(name).is_none(),
            "an error response must not carry {name}; response:\n{}",
            resp.describe()
        );
    }
    message
}

// ---------------------------------------------------------------------------
// The worker process
// ---------------------------------------------------------------------------

/// The master's pid, from `nginx.pid` in the prefix.
pub fn master_pid(nginx: &Nginx) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(pid) = nginx.read("nginx.pid").trim().parse() {
            return pid;
        }
        assert!(Instant::now() < deadline, "nginx.pid never appeared");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The parent pid of a process, from `/proc/PID/stat`.
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The pids of the master's children (the worker, with
/// `worker_processes 1`).
pub fn worker_pids(nginx: &Nginx) -> Vec<u32> {
    let master = master_pid(nginx);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut pids: Vec<u32> = fs::read_dir("/proc")
            .expect("read /proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&pid| parent_pid(pid) == Some(master))
            .collect();
        pids.sort_unstable();
        if !pids.is_empty() {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "no worker process under master {master}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The single worker's pid.
pub fn worker_pid(nginx: &Nginx) -> u32 {
    let pids = worker_pids(nginx);
    assert_eq!(pids.len(), 1, "expected one worker, found {pids:?}");
    pids[0]
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, ...).
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
