//! cargo-fuzz target `truncation`: see [`herald_flash::fuzzing::truncation`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::truncation(data));
