//! cargo-fuzz target `inbox_ops`: see [`herald_flash::fuzzing::inbox_ops`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::inbox_ops(data));
