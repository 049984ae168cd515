//! The properties the parsers that take input from outside must hold, one
//! function per fuzz target: the JSON-RPC message parser, the line reader,
//! the SSE decoder, the config parser and the Host/Origin guard. Each takes
//! arbitrary bytes and panics when a property fails: nothing else panics,
//! limits hold, and what parses writes back out to something that parses
//! the same.
//!
//! Two drivers call them: `cargo test` (`fuzz_tests.rs`: every seed of
//! `core/fuzz/corpus/<target>/` and seeded random mutations of them, a
//! bounded number each run) and the coverage-guided targets of
//! `core/fuzz/` (cargo-fuzz with libFuzzer, `scripts/fuzz.sh`), which see
//! this module through the `fuzzing` feature.

use crate::protocol::{Message, MAX_JSON_DEPTH};

/// JSON-RPC: parsing never panics, nothing deeper than the limit parses,
/// and a parsed message round-trips byte for byte.
pub fn jsonrpc(input: &[u8]) {
    if let Ok((msgs, _)) = Message::parse_many(input, 1 << 20) {
        assert!(crate::protocol::too_deep(input, MAX_JSON_DEPTH).is_none());
        for m in msgs {
            let out = m.to_bytes();
            let again = Message::parse(&out, 1 << 21)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            assert_eq!(again.to_bytes(), out, "a second round trip changed it");
        }
    }
    let _ = Message::parse(input, 64);
}

/// The line reader: every line it gives is within its limit, and it ends.
pub fn lines(input: &[u8]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut r = crate::transport::LineReader::new(input, 16);
        let mut lines = 0;
        loop {
            match r.next().await.expect("reading a slice cannot fail") {
                crate::transport::Line::Text(t) => assert!(t.len() <= 16, "{t:?}"),
                crate::transport::Line::TooLong(n) => assert!(n > 16),
                crate::transport::Line::Eof => break,
            }
            lines += 1;
            assert!(lines <= input.len() + 1, "more lines than bytes");
        }
    });
}

/// The SSE decoder, fed `input` in chunks of the sizes `chunking` gives
/// (each taken modulo 64, plus one): never panics, and no event it gives is
/// over its limit, however the stream is cut.
pub fn sse(input: &[u8], chunking: &mut dyn FnMut() -> usize) {
    let mut parser = crate::transport::SseParser::new(256);
    let mut rest = input;
    while !rest.is_empty() {
        let n = (chunking() % 64 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match parser.feed(chunk) {
            Ok(events) => {
                for e in events {
                    assert!(e.data.len() <= 256, "an event over the limit");
                }
            }
            Err(_) => break,
        }
    }
}

/// The config parser: never panics, and a file that parses either resolves
/// or is refused with an error that says what to do.
pub fn config(input: &[u8]) {
    let path = std::path::Path::new("fuzz.toml");
    let text = String::from_utf8_lossy(input);
    if let Ok(file) = crate::config::ConfigFile::parse(&text, path) {
        let overrides = crate::config::Overrides {
            listen: Some("127.0.0.1:0".into()),
        };
        if let Err(e) = crate::config::Settings::resolve(&file, &overrides, path) {
            assert!(crate::hint::hint_of(&e).is_some(), "no hint in: {e}");
        }
    }
}

/// The Host/Origin guard: each line of `input` as a Host passes only when
/// it is exactly a loopback host with an optional port; as Host and Origin
/// headers, the check never panics.
pub fn host(input: &[u8]) {
    let policy = crate::downstream::OriginPolicy::new(7331, &[]);
    for line in String::from_utf8_lossy(input).lines() {
        if crate::downstream::host_is_local(line) {
            // Whatever passed is host[:port] with a loopback host, nothing more.
            assert!(!line.contains(['@', '/', ' ', '?', '#']), "{line:?} passed");
            let host = line.rsplit_once(':').map_or(line, |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') {
                    h
                } else {
                    line
                }
            });
            let host = host.trim_start_matches('[').trim_end_matches(']');
            assert!(
                host.eq_ignore_ascii_case("localhost")
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback()),
                "{line:?} passed"
            );
        }
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = axum::http::HeaderValue::from_str(line) {
            headers.insert(axum::http::header::ORIGIN, v.clone());
            headers.insert(axum::http::header::HOST, v);
            let _ = crate::downstream::check_local(&headers, &policy);
        }
    }
}
