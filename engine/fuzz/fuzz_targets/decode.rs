//! libFuzzer entry point; the body is image_engine::fuzzing::decode, which the
//! stable replay test (engine/tests/fuzz_replay.rs) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // libfuzzer-sys aborts on every panic, even one the engine catches on
    // purpose (other crates' decoders run under `panic_guard`, which turns
    // their panics into a corrupt-image error). With the standard hook back,
    // a caught panic is only printed; one that escapes the engine still
    // aborts the run in libfuzzer-sys's wrapper and is saved as a crash.
    init: {
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| image_engine::fuzzing::decode(data)
);
