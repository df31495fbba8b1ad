//! cargo-fuzz target `native_decode`: see [`herald_flash::fuzzing::native_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::native_decode(data));
