#![no_main]
//! `portcullis::fuzzing::lines`, coverage-guided.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis::fuzzing::lines(data));
