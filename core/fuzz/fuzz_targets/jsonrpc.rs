#![no_main]
//! `portcullis::fuzzing::jsonrpc`, coverage-guided.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis::fuzzing::jsonrpc(data));
