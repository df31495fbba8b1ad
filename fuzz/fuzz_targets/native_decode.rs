//! cargo-fuzz target `native_decode`: see [`herald::fuzzing::native_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::native_decode(data));
