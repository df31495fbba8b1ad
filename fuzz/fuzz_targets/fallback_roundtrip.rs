//! cargo-fuzz target `fallback_roundtrip`: see [`herald_flash::fuzzing::fallback_roundtrip`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::fallback_roundtrip(data));
