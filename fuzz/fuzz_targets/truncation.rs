//! cargo-fuzz target `truncation`: see [`herald::fuzzing::truncation`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::truncation(data));
