#![no_main]
//! `portcullis::fuzzing::host`, coverage-guided.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis::fuzzing::host(data));
