//! cargo-fuzz target `encrypted_decode`: see [`herald_flash::fuzzing::encrypted_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::encrypted_decode(data));
