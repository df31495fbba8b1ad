//! cargo-fuzz target `django_decode`: see [`herald_flash::fuzzing::django_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_flash::fuzzing::django_decode(data));
