//! cargo-fuzz target `cookie_header`: see [`herald_flash::fuzzing::cookie_header`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::cookie_header(data));
