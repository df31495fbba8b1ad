//! cargo-fuzz target `inbox_ops`: see [`herald::fuzzing::inbox_ops`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::inbox_ops(data));
