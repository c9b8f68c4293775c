//! Per-image CPU cost of the engine, in process, one thread.
//!
//! ```text
//! bench_engine FILE OPTIONS [--iterations N] [--warmup N] [--parallel P] [--save OUT]
//! ```
//!
//! Runs `process` on FILE with the option string OPTIONS (the same syntax as
//! `image_transform`), N times after a warm-up, and prints one line of
//! `key=value` pairs: the median and mean CPU milliseconds per image (user +
//! system, from `getrusage`), the median wall time, the output size and
//! format. With `--parallel P` it first runs P transforms at once and reports
//! how much the peak resident set grew per transform in flight.
//! `scripts/bench.sh` parses this line.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use image_engine::{process, Control, Limits, Output, Transform};

static NEVER: AtomicBool = AtomicBool::new(false);

struct Args {
    file: String,
    options: String,
    iterations: usize,
    warmup: usize,
    parallel: usize,
    save: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench_engine FILE OPTIONS [--iterations N] [--warmup N] [--parallel P] [--save OUT]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let mut args = Args {
        file: String::new(),
        options: String::new(),
        iterations: 20,
        warmup: 3,
        parallel: 0,
        save: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let number = |it: &mut dyn Iterator<Item = String>| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--iterations" | "-n" => args.iterations = number(&mut it).max(1),
            "--warmup" => args.warmup = number(&mut it),
            "--parallel" => args.parallel = number(&mut it),
            "--save" => args.save = Some(it.next().unwrap_or_else(|| usage())),
            "--help" | "-h" => usage(),
            _ => positional.push(arg),
        }
    }
    if positional.len() != 2 {
        usage();
    }
    args.options = positional.pop().unwrap_or_default();
    args.file = positional.pop().unwrap_or_default();
    args
}

/// CPU time (user + system) of the whole process, in milliseconds.
fn cpu_ms() -> f64 {
    let usage = rusage();
    let ms = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// Peak resident set size so far, in kilobytes: `VmHWM` of this process's
/// memory map. (`getrusage`'s `ru_maxrss` is no good here: it survives
/// `exec`, so a child of a larger process starts with its parent's peak.)
fn peak_rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid
    // starting value for this plain C struct.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}

fn run(input: &[u8], transform: &Transform) -> Output {
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    match process(input, transform, &Limits::default(), &control) {
        Ok(output) => output,
        Err(err) => {
            eprintln!("bench_engine: {:?}: {}", err.kind, err.message);
            std::process::exit(1);
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn main() {
    let args = parse_args();
    let input = std::fs::read(&args.file).unwrap_or_else(|err| {
        eprintln!("bench_engine: {}: {err}", args.file);
        std::process::exit(1);
    });
    let transform = image_engine::parse(&args.options).unwrap_or_else(|err| {
        eprintln!("bench_engine: {}", err.message);
        std::process::exit(2);
    });

    // Memory first, in a fresh process: the peak only ever grows.
    let mut parallel = String::new();
    if args.parallel > 0 {
        let before = peak_rss_kb();
        let shared = Arc::new(input.clone());
        let barrier = Arc::new(Barrier::new(args.parallel));
        let threads: Vec<_> = (0..args.parallel)
            .map(|_| {
                let (input, barrier, transform) =
                    (Arc::clone(&shared), Arc::clone(&barrier), transform.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    run(&input, &transform).bytes.len()
                })
            })
            .collect();
        for thread in threads {
            let _ = thread.join();
        }
        let growth = peak_rss_kb() - before;
        parallel = format!(
            " parallel={} rss_growth_per_transform_kb={}",
            args.parallel,
            growth / args.parallel as i64
        );
    }

    let rss_before = peak_rss_kb();
    let mut output = run(&input, &transform);
    let rss_one = peak_rss_kb();
    for _ in 1..args.warmup {
        output = run(&input, &transform);
    }

    let mut cpu = Vec::with_capacity(args.iterations);
    let mut wall = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations {
        let (cpu0, wall0) = (cpu_ms(), Instant::now());
        output = run(&input, &transform);
        cpu.push(cpu_ms() - cpu0);
        wall.push(wall0.elapsed().as_secs_f64() * 1e3);
    }
    let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
    let cpu_median = median(&mut cpu);
    let wall_median = median(&mut wall);

    let mut line = format!(
        "file={} cpu_ms_median={cpu_median:.2} cpu_ms_mean={mean:.2} wall_ms_median={wall_median:.2} \
         n={} out={}x{} format={} bytes={} rss_growth_first_kb={}",
        args.file,
        args.iterations,
        output.width,
        output.height,
        output.format.name(),
        output.bytes.len(),
        rss_one - rss_before,
    );

    line.push_str(&parallel);
    println!("{line}");

    if let Some(path) = args.save {
        if let Err(err) = std::fs::write(&path, &output.bytes) {
            eprintln!("bench_engine: {path}: {err}");
            std::process::exit(1);
        }
    }
}
