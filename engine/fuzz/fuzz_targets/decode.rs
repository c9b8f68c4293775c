//! libFuzzer entry point; the body is image_engine::fuzzing::decode, which the
//! stable replay test (engine/tests/fuzz_replay.rs) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| image_engine::fuzzing::decode(data));
