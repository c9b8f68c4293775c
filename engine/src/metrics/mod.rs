//! The counters behind `image_status`: what the module answered, how long
//! transformations took, how busy the thread pools are. One [`Counters`]
//! value lives in nginx shared memory and every worker adds to it under the
//! zone's lock, so it is plain data of fixed size (no pointers, no heap)
//! and every update is a small pure method tested here.
//!
//! `render.rs` writes a snapshot as JSON or in the Prometheus text formats;
//! `negotiate.rs` picks the format from the request.

mod negotiate;
mod render;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use negotiate::{choose, format_argument, Rendering};
pub use render::{json, prometheus};

/// Distinct (status, code) pairs counted one by one; further pairs go to
/// [`Counters::errors_other`]. The module's catalogue has fewer.
pub const ERROR_SLOTS: usize = 64;
/// Thread pools with their own gauges; further pools share the last slot
/// under the name `other`.
pub const POOL_SLOTS: usize = 16;
/// Longest pool name kept (longer names are cut).
pub const POOL_NAME_LEN: usize = 48;
/// Upper bounds of the processing-time histogram, in milliseconds (the
/// last bucket, `+Inf`, is implicit).
pub const BUCKETS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
];

/// How many responses had one (status, error code) pair.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorSlot {
    pub status: u16,
    /// The `Image-Error` code; 0 when the error has none.
    pub code: u16,
    pub count: u64,
}

/// The jobs of one thread pool across all workers, right now.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSlot {
    name: [u8; POOL_NAME_LEN],
    name_len: u8,
    pub running: i64,
    pub queued: i64,
}

impl Default for PoolSlot {
    fn default() -> Self {
        PoolSlot {
            name: [0; POOL_NAME_LEN],
            name_len: 0,
            running: 0,
            queued: 0,
        }
    }
}

impl PoolSlot {
    pub fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("?")
    }

    fn is_free(&self) -> bool {
        self.name_len == 0
    }

    fn set_name(&mut self, name: &str) {
        let mut len = name.len().min(POOL_NAME_LEN);
        // Cut on a character boundary so the name stays UTF-8.
        while !name.is_char_boundary(len) {
            len -= 1;
        }
        self.name[..len].copy_from_slice(&name.as_bytes()[..len]);
        self.name_len = len as u8;
    }
}

/// One response of the module, as the counters see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The error's code (also for an original served under
    /// `onerror=original`, whose status is 200).
    pub error_code: Option<u16>,
    /// Whether an error is counted: an error response, or a fallback.
    pub error: bool,
    /// The original's size, when it was read.
    pub bytes_in: Option<u64>,
    pub bytes_out: u64,
    /// How long the engine ran, when it ran.
    pub processing: Option<Duration>,
}

/// Every counter of the module (see the module's documentation).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Responses the module sent (images, originals, errors).
    pub responses: u64,
    /// Transformed images sent.
    pub transformed: u64,
    pub errors: [ErrorSlot; ERROR_SLOTS],
    /// Errors whose (status, code) found no free slot.
    pub errors_other: u64,
    /// Bytes of the originals read.
    pub bytes_in: u64,
    /// Body bytes of the responses.
    pub bytes_out: u64,
    pub pools: [PoolSlot; POOL_SLOTS],
    /// Transformations per histogram bucket (`BUCKETS_MS`, then `+Inf`),
    /// not cumulative.
    pub buckets: [u64; BUCKETS_MS.len() + 1],
    pub processing_count: u64,
    pub processing_sum_us: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            responses: 0,
            transformed: 0,
            errors: [ErrorSlot::default(); ERROR_SLOTS],
            errors_other: 0,
            bytes_in: 0,
            bytes_out: 0,
            pools: [PoolSlot::default(); POOL_SLOTS],
            buckets: [0; BUCKETS_MS.len() + 1],
            processing_count: 0,
            processing_sum_us: 0,
        }
    }
}

impl Counters {
    /// Counts one response.
    pub fn record(&mut self, response: &Response) {
        self.responses += 1;
        if response.error || response.error_code.is_some() {
            self.count_error(response.status, response.error_code.unwrap_or(0));
        } else if response.status == 200 {
            self.transformed += 1;
        }
        self.bytes_in += response.bytes_in.unwrap_or(0);
        self.bytes_out += response.bytes_out;
        if let Some(elapsed) = response.processing {
            self.record_processing(elapsed);
        }
    }

    fn count_error(&mut self, status: u16, code: u16) {
        let slot = self
            .errors
            .iter_mut()
            .find(|s| s.count == 0 || (s.status == status && s.code == code));
        match slot {
            Some(slot) => {
                slot.status = status;
                slot.code = code;
                slot.count += 1;
            }
            None => self.errors_other += 1,
        }
    }

    /// Counts one run of the engine in the histogram.
    pub fn record_processing(&mut self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let bucket = BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound as f64)
            .unwrap_or(BUCKETS_MS.len());
        self.buckets[bucket] += 1;
        self.processing_count += 1;
        self.processing_sum_us += elapsed.as_micros() as u64;
    }

    /// Moves the gauges of pool `name` by the given amounts (a job started
    /// running, queued, left the queue...). Never below zero: a worker that
    /// died with jobs in flight must not make them negative forever.
    pub fn pool_change(&mut self, name: &str, running: i64, queued: i64) {
        let slot = self.pool_slot(name);
        slot.running = (slot.running + running).max(0);
        slot.queued = (slot.queued + queued).max(0);
    }

    fn pool_slot(&mut self, name: &str) -> &mut PoolSlot {
        let index = self
            .pools
            .iter()
            .position(|p| p.name() == name || p.is_free())
            .unwrap_or(POOL_SLOTS - 1);
        let slot = &mut self.pools[index];
        if slot.is_free() {
            slot.set_name(name);
        } else if index == POOL_SLOTS - 1 && slot.name() != name {
            slot.set_name("other");
        }
        slot
    }

    /// The error slots in use.
    pub fn error_slots(&self) -> impl Iterator<Item = &ErrorSlot> {
        self.errors.iter().filter(|s| s.count > 0)
    }

    /// The pools seen so far.
    pub fn pool_slots(&self) -> impl Iterator<Item = &PoolSlot> {
        self.pools.iter().filter(|p| !p.is_free())
    }
}

/// The `Server-Timing` value for one transformation's stages, durations in
/// milliseconds: `decode;dur=1.234, resize;dur=0.5, encode;dur=2.01`.
pub fn server_timing(t: &crate::StageTimings) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "decode;dur={:.3}, resize;dur={:.3}, encode;dur={:.3}",
        ms(t.decode),
        ms(t.resize),
        ms(t.encode)
    )
}
