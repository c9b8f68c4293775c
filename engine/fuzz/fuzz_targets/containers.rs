//! libFuzzer entry point; the body is image_engine::fuzzing::containers,
//! which the stable replay test (engine/tests/fuzz_replay.rs) runs too. It
//! reads AVIF and HEIF containers without decoding, so it runs thousands
//! of inputs a second.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| image_engine::fuzzing::containers(data));
