//! Hostile input: every truncation, byte flips and random garbage must end
//! in `Ok` or `Err`, never a panic (a panic in an nginx worker thread is a
//! 500 at best).

mod common;

use common::*;
use image_engine::{ErrorKind, Limits, Transform};

/// Tight limits so a flipped size byte cannot make a test allocate
/// gigabytes.
const LIMITS: Limits = Limits {
    max_pixels: 4_000_000,
    max_side: 4_096,
    max_animation_pixels: 8_000_000,
    ..Limits::DEFAULT
};

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("jpeg", jpeg(24, 16)),
        ("grey jpeg", grey_jpeg(24, 16)),
        ("jpeg with exif", with_exif_orientation(&jpeg(24, 16), 6)),
        ("png", png_rgba(24, 16)),
        ("gif", gif(24, 16)),
        ("animated gif", animated_gif(24, 16, 3)),
        ("lossy webp", webp_lossy(24, 16, false)),
        ("lossy webp with alpha", webp_lossy(24, 16, true)),
        ("lossless webp", webp_lossless(24, 16)),
        ("animated webp", animated_webp(24, 16, 3)),
    ]
}

fn transforms() -> Vec<Transform> {
    [
        "width=8",
        "width=8,height=8,fit=cover,format=jpeg",
        "width=30,height=30,fit=pad,format=webp,rotate=90",
    ]
    .iter()
    .map(|options| image_engine::parse(options).expect("valid"))
    .collect()
}

#[test]
fn the_samples_themselves_work() {
    for (name, bytes) in samples() {
        for transform in transforms() {
            assert!(run_transform(&bytes, &transform, &LIMITS).is_ok(), "{name}");
        }
    }
}

#[test]
fn every_truncation_is_an_answer() {
    let transform = &transforms()[0];
    for (name, bytes) in samples() {
        let mut kinds = std::collections::BTreeMap::new();
        for cut in 0..bytes.len() {
            let kind = match run_transform(&bytes[..cut], transform, &LIMITS) {
                Ok(_) => "ok".to_string(),
                Err(err) => format!("{:?}", err.kind),
            };
            *kinds.entry(kind).or_insert(0) += 1;
        }
        eprintln!("{name} ({} bytes): {kinds:?}", bytes.len());
        // Damaged input is the origin's fault, never ours.
        assert!(!kinds.contains_key("Internal"), "{name}: {kinds:?}");
        assert!(kinds.contains_key("CorruptImage"), "{name}: {kinds:?}");
    }
}

#[test]
fn flipped_bytes_are_an_answer() {
    let transforms = transforms();
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    for (name, bytes) in samples() {
        // Every byte of the first 200 (headers live there), then random
        // positions further in.
        for round in 0..600 {
            let mut damaged = bytes.clone();
            let at = if round < 200 {
                round % damaged.len()
            } else {
                rng.next() as usize % damaged.len()
            };
            damaged[at] ^= 1 << (rng.next() % 8);
            if round % 3 == 0 {
                let other = rng.next() as usize % damaged.len();
                damaged[other] = rng.next() as u8;
            }
            let transform = &transforms[round % transforms.len()];
            if let Err(err) = run_transform(&damaged, transform, &LIMITS) {
                assert_ne!(err.kind, ErrorKind::Internal, "{name}: {}", err.message);
            }
        }
    }
}

#[test]
fn garbage_behind_every_signature_is_an_answer() {
    let mut rng = Xorshift(42);
    let signatures: [&[u8]; 7] = [
        b"\xFF\xD8\xFF",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
        b"RIFF\0\0\0\0WEBPVP8L",
        b"RIFF\0\0\0\0WEBPVP8X",
    ];
    for signature in signatures {
        for len in [0, 1, 2, 5, 10, 20, 50, 100, 1_000, 10_000] {
            for _ in 0..10 {
                let mut body = signature.to_vec();
                body.extend_from_slice(&rng.bytes(len));
                let _ = run_with(&body, "width=8", &LIMITS);
            }
        }
    }
    for len in 0..200 {
        let _ = run_with(&rng.bytes(len), "width=8", &LIMITS);
    }
}
