//! The fuzz targets' bodies, shared by the libFuzzer harness (`fuzz/`,
//! nightly) and the stable replay test (`tests/fuzz_replay.rs`), so CI runs
//! exactly the code the fuzzer explores. Not part of the engine's API:
//! hidden from the documentation and free to change.
//!
//! Each target panics when an invariant breaks; a crash input found by the
//! fuzzer is saved under `fuzz/regressions/TARGET/` and replayed by CI.

use std::sync::atomic::AtomicBool;

use crate::{options, process, Control, ErrorKind, Limits, Policy};

/// Limits tight enough that one input costs milliseconds, so the fuzzer
/// explores instead of waiting on big legitimate images (a hang there would
/// be the limits' fault, not a finding).
pub const LIMITS: Limits = Limits {
    max_pixels: 1_000_000,
    max_side: 4_096,
    max_animation_pixels: 2_000_000,
    max_output_pixels: 250_000,
    max_avif_output_pixels: 16_384,
};

static NEVER: AtomicBool = AtomicBool::new(false);

/// The option parser and the allow-list check on arbitrary text: never a
/// panic, and a parsed transform is always within the documented ranges.
pub fn options(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for name in text.split([',', '=']) {
        if let Some(canonical) = options::canonical_name(name) {
            assert!(options::OPTION_NAMES.iter().any(|(n, _)| *n == canonical));
        }
    }
    match crate::parse(&text) {
        Ok(transform) => {
            for side in [transform.width, transform.height].into_iter().flatten() {
                assert!((1..=options::MAX_SIDE).contains(&side), "side {side}");
            }
            assert!((1..=100).contains(&transform.quality));
            assert!([0, 90, 180, 270].contains(&transform.rotate));
            let policy = Policy {
                params: Some(vec!["width", "height"]),
                formats: Some(vec![crate::ImageFormat::Webp]),
            };
            let _ = policy.check(&text, &transform);
        }
        Err(err) => {
            assert_eq!(err.kind, ErrorKind::InvalidOption, "{}", err.message);
            // Messages end up in headers and logs: one short line.
            assert!(
                !err.message.chars().any(char::is_control),
                "{:?}",
                err.message
            );
            assert!(err.message.len() < 400, "{} bytes", err.message.len());
        }
    }
}

/// Every decoder through the engine's entry point, with a transform that
/// makes the whole image be read: damaged input is the origin's fault
/// (4xx), never an internal error or a panic.
pub fn decode(data: &[u8]) {
    let transform = crate::parse("width=16,format=png").expect("valid options");
    check(data, &transform);
}

/// The whole pipeline with arbitrary options: the options are the input up
/// to its first newline, the image is the rest.
pub fn pipeline(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let text = String::from_utf8_lossy(&data[..split]);
    let image = data.get(split + 1..).unwrap_or_default();
    let Ok(transform) = crate::parse(&text) else {
        return;
    };
    check(image, &transform);
}

/// The AVIF and HEIF container readers alone, nothing decoded: box
/// bounds, item properties (`clap` among them) and the sizes read before
/// a decoder starts (see `codecs::container_fuzz`).
pub fn containers(data: &[u8]) {
    crate::codecs::container_fuzz::containers(data);
}

fn check(image: &[u8], transform: &crate::Transform) {
    let control = Control {
        cancel: &NEVER,
        deadline: None,
    };
    match process(image, transform, &LIMITS, &control) {
        Ok(output) => {
            let area = u64::from(output.width) * u64::from(output.height);
            assert!(
                area <= LIMITS.max_output_pixels_for(output.format),
                "{area}"
            );
            assert!(!output.bytes.is_empty());
        }
        Err(err) => assert_ne!(err.kind, ErrorKind::Internal, "{}", err.message),
    }
}
