#![no_main]
//! `portcullis::fuzzing::config`, coverage-guided.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis::fuzzing::config(data));
