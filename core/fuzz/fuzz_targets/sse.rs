#![no_main]
//! `portcullis::fuzzing::sse`, coverage-guided: the first bytes choose where
//! the stream is cut, the rest is the stream.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (cuts, stream) = data.split_at(data.len().min(8));
    let mut next = cuts.iter().copied().cycle().map(usize::from);
    portcullis::fuzzing::sse(stream, &mut || next.next().unwrap_or(63));
});
