//! Memory that follows the work, not the thread count (glibc's malloc).
//!
//! Left alone, glibc serves each pool thread from an arena of its own and,
//! once a large block was freed, raises its mmap threshold so that later
//! large blocks (decoded images of tens of megabytes) come from those
//! arenas and stay there after `free`: the worker then sits at the sum of
//! every thread's high-water mark (measured: one connection resizing a
//! 2048×1536 RGBA PNG in a loop kept the worker at ~280 MB; README,
//! "Memory"). Two settings and a trim fix that:
//!
//! * a fixed mmap threshold: blocks of [`MMAP_THRESHOLD`] and more (image
//!   buffers, coefficient planes) are mapped for the job and unmapped when
//!   it frees them, whatever thread ran it;
//! * at most [`ARENA_MAX`] arenas for the small blocks;
//! * `malloc_trim` when the last running job ends, and otherwise at most
//!   every [`TRIM_INTERVAL`] (trimming after every job cost ~10 %
//!   throughput).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

/// Blocks this large or larger are mapped and unmapped on their own.
const MMAP_THRESHOLD: i32 = 1 << 20;
/// Arenas for everything smaller.
const ARENA_MAX: i32 = 4;
/// See [`job_ended`].
const TRIM_INTERVAL: Duration = Duration::from_millis(250);

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Applies the settings once per process; called on the event loop before
/// the first job is posted.
pub fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes malloc's tunables; it takes malloc's
        // own lock and is called before any pool thread allocates.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        }
    });
}

/// A job starts on a pool thread.
pub fn job_started() {
    RUNNING.fetch_add(1, Ordering::Relaxed);
}

/// A job ended on a pool thread: hands the memory jobs freed back to the
/// system when no other job runs, else at most every [`TRIM_INTERVAL`].
pub fn job_ended() {
    let last = RUNNING.fetch_sub(1, Ordering::Relaxed) == 1;
    if last || interval_passed() {
        trim();
    }
}

fn interval_passed() -> bool {
    use std::sync::atomic::AtomicU64;
    use std::sync::OnceLock;

    static EPOCH: OnceLock<Instant> = OnceLock::new();
    static LAST_TRIM_MS: AtomicU64 = AtomicU64::new(0);
    let now = EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let last = LAST_TRIM_MS.load(Ordering::Relaxed);
    now.saturating_sub(last) >= TRIM_INTERVAL.as_millis() as u64
        && LAST_TRIM_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
