//! The fuzz targets on stable, for CI: the seed corpus, every saved
//! regression input (`fuzz/regressions/TARGET/`) and a short, fixed-seed
//! mutation loop go through exactly the functions the libFuzzer harness
//! calls (`image_engine::fuzzing`). The long runs are `scripts/fuzz.sh`.
//!
//! `write_seed_corpus` (ignored by default) writes the seeds to
//! `$FUZZ_CORPUS_DIR/TARGET/` for the fuzzer to start from.

mod common;
#[path = "common/heic_writer.rs"]
mod heic_writer;
#[path = "common/item_property.rs"]
mod item_property;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use image::{DynamicImage, ImageBuffer, Rgb};
use image_engine::fuzzing;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 4] = [
    ("options", fuzzing::options),
    ("decode", fuzzing::decode),
    ("pipeline", fuzzing::pipeline),
    ("containers", fuzzing::containers),
];

/// The slowest any one input may be, the fuzzer's hang threshold; a loaded
/// CI box gets some slack on top.
const HANG: Duration = Duration::from_secs(3);

/// The largest single allocation any one input may make, the fuzzer's
/// `-malloc_limit_mb` brought down to what the fuzz limits (1 MP) can
/// justify: a parser that reserves what a file claims instead of what it
/// holds shows up here on stable, not only under libFuzzer.
const MAX_ALLOCATION: usize = 256 << 20;

/// The system allocator, remembering the largest request since the last
/// reset (tests run in parallel threads, so a reset is shared; a false
/// alarm would need another input to be over the budget too).
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// only addition is an atomic maximum, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// Small originals of every format and flavour the engine decodes.
fn images() -> Vec<Vec<u8>> {
    let grey16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(9, 7, |x, y| {
        image::Luma([(x * 7000 + y * 300) as u16])
    }));
    vec![
        jpeg(24, 16),
        grey_jpeg(24, 16),
        with_exif_orientation(&jpeg(24, 16), 6),
        png_rgba(24, 16),
        png_of(&DynamicImage::ImageRgb8(ImageBuffer::from_pixel(
            5,
            3,
            Rgb([9, 8, 7]),
        ))),
        png_of(&grey16),
        gif(24, 16),
        animated_gif(24, 16, 3),
        webp_lossy(24, 16, false),
        webp_lossy(24, 16, true),
        webp_lossless(24, 16),
        animated_webp(24, 16, 3),
        png_header_only(20_000, 20_000),
    ]
}

/// Small AVIFs (ravif's, 8- and 10-bit, with alpha) and HEICs (libheif's,
/// when it has an HEVC encoder), each also with the transformative
/// properties the engine reads added: `clap` (whole, odd, fractional,
/// outside the image, with a zero denominator), `irot` and `imir`.
fn containers() -> Vec<Vec<u8>> {
    let rgb = common::rgb(24, 16);
    let pixels: Vec<ravif::RGB8> = rgb
        .pixels()
        .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
        .collect();
    let rgba: Vec<ravif::RGBA8> = rgb
        .pixels()
        .enumerate()
        .map(|(i, p)| ravif::RGBA8::new(p[0], p[1], p[2], (i * 7) as u8))
        .collect();
    let encoder = |depth| {
        ravif::Encoder::new()
            .with_quality(70.0)
            .with_speed(10)
            .with_num_threads(Some(1))
            .with_bit_depth(depth)
    };
    let mut files = vec![
        encoder(ravif::BitDepth::Eight)
            .encode_rgb(ravif::Img::new(&pixels[..], 24, 16))
            .expect("ravif encodes")
            .avif_file,
        encoder(ravif::BitDepth::Ten)
            .encode_rgba(ravif::Img::new(&rgba[..], 24, 16))
            .expect("ravif encodes")
            .avif_file,
    ];
    files.extend(heic_writer::heic(
        &rgb,
        libheif_sys::heif_orientation_heif_orientation_normal,
    ));
    let clap = item_property::clap;
    let properties = [
        clap((12, 1), (8, 1), (-6, 1), (-4, 1)),
        clap((11, 1), (7, 1), (1, 1), (-3, 2)),
        clap((23, 2), (31, 4), (0, 1), (0, 1)),
        clap((24, 1), (16, 1), (1, 1), (0, 1)),
        clap((12, 0), (8, 1), (0, 1), (0, 1)),
        item_property::boxed(b"irot", &[1]),
        item_property::boxed(b"imir", &[1]),
    ];
    let mut out = files.clone();
    for file in &files {
        for property in &properties {
            out.push(item_property::with_property(file, property));
        }
        // A clap and a turn together, in MIAF's order.
        let cropped = item_property::with_property(file, &properties[1]);
        out.push(item_property::with_property(&cropped, &properties[5]));
    }
    out
}

/// The malformed files the robustness tests make: cuts and flipped bytes.
fn malformed(images: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut rng = Xorshift(0x5EED);
    let mut out = Vec::new();
    for image in images {
        for cut in [1, 8, 16, 30, image.len() / 2, image.len() - 1] {
            out.push(image[..cut.min(image.len())].to_vec());
        }
        for _ in 0..4 {
            let mut damaged = image.clone();
            let at = rng.next() as usize % damaged.len();
            damaged[at] ^= 1 << (rng.next() % 8);
            out.push(damaged);
        }
    }
    out
}

const OPTIONS: [&str; 10] = [
    "width=8",
    "w=300,h=200,fit=cover,g=left,q=70,f=webp",
    "width=30,height=30,fit=pad,format=png,background=#ff000080,rotate=90",
    "width=12,height=40,fit=squeeze,format=gif,dpr=2",
    "width=20,fit=contain,format=avif,quality=30",
    "height=9,fit=crop,gravity=bottom,format=jpeg,onerror=original",
    "width=,height=$arg_h,fit=scale-down",
    "WIDTH=10,Fit=COVER,rotate=270",
    "width=99999999999999999999",
    "dpr=4,width=3000,height=3000",
];

/// The seed corpus of each target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let images = images();
    let mut all = images.clone();
    all.extend(malformed(&images));
    match target {
        "options" => OPTIONS.iter().map(|o| o.as_bytes().to_vec()).collect(),
        "decode" => all,
        "containers" => {
            let files = containers();
            let mut seeds = files.clone();
            seeds.extend(malformed(&files));
            seeds
        }
        _ => all
            .iter()
            .enumerate()
            .map(|(i, image)| {
                let mut input = OPTIONS[i % OPTIONS.len()].as_bytes().to_vec();
                input.push(b'\n');
                input.extend_from_slice(image);
                input
            })
            .collect(),
    }
}

fn regressions_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target)
}

/// Saved crash, hang and over-budget inputs, one file each.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(regressions_dir(target)) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("readable regression input");
            (path.display().to_string(), bytes)
        })
        .collect()
}

fn timed(target: Target, input: &[u8], what: &str) {
    LARGEST.store(0, Ordering::Relaxed);
    let start = Instant::now();
    target(input);
    let elapsed = start.elapsed();
    assert!(elapsed < HANG, "{what} took {elapsed:?}");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= MAX_ALLOCATION,
        "{what} asked for {largest} bytes at once"
    );
}

/// libFuzzer's kind of mutations, with a fixed seed.
fn mutate(rng: &mut Xorshift, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.next() % 4 {
        let len = out.len();
        let at = if len == 0 {
            0
        } else {
            rng.next() as usize % len
        };
        match rng.next() % 7 {
            0 if len > 0 => out[at] ^= 1 << (rng.next() % 8),
            1 if len > 0 => out[at] = rng.next() as u8,
            2 if len > 0 => {
                let end = (at + 1 + rng.next() as usize % 16).min(len);
                out.drain(at..end);
            }
            3 => {
                let count = 1 + rng.next() as usize % 16;
                let extra = rng.bytes(count);
                out.splice(at..at, extra);
            }
            4 if len > 0 => {
                // Interesting values where sizes and lengths live.
                let value = [0x00, 0xFF, 0x7F, 0x80][rng.next() as usize % 4];
                out[at] = value;
            }
            5 if !other.is_empty() => {
                let from = rng.next() as usize % other.len();
                let end = (from + 1 + rng.next() as usize % 64).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn seeds_and_regressions_replay() {
    for (name, target) in TARGETS {
        let seeds = seeds(name);
        for (i, seed) in seeds.iter().enumerate() {
            timed(target, seed, &format!("{name} seed {i}"));
        }
        let saved = regressions(name);
        for (path, input) in &saved {
            let start = Instant::now();
            timed(target, input, path);
            eprintln!("{path}: {:?}", start.elapsed());
        }
        eprintln!(
            "{name}: {} seeds, {} regression inputs",
            seeds.len(),
            saved.len()
        );
    }
}

#[test]
fn fixed_seed_mutations() {
    for (round, (name, target)) in TARGETS.into_iter().enumerate() {
        let seeds = seeds(name);
        // The option parser and the container readers cost microseconds
        // an input; the others decode.
        let iterations = match name {
            "options" | "containers" => 20_000,
            _ => 1_500,
        };
        let mut rng = Xorshift(0xF022 + round as u64);
        for i in 0..iterations {
            let input = &seeds[i % seeds.len()];
            let other = &seeds[rng.next() as usize % seeds.len()];
            let mutated = mutate(&mut rng, input, other);
            timed(target, &mutated, &format!("{name} mutation {i}"));
        }
        eprintln!("{name}: {iterations} mutations");
    }
}

#[test]
#[ignore = "writes files; scripts/fuzz.sh runs it"]
fn write_seed_corpus() {
    let root = PathBuf::from(std::env::var("FUZZ_CORPUS_DIR").expect("FUZZ_CORPUS_DIR is set"));
    for (name, _) in TARGETS {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (i, seed) in seeds(name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed).expect("seed written");
        }
    }
}
