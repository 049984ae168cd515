//! Property tests over the parsers that take input from outside: the
//! JSON-RPC message parser, the line reader, the SSE decoder, the config
//! parser and the Host/Origin guard.
//!
//! cargo-fuzz needs a nightly toolchain, which this project does not use;
//! these run in `cargo test` instead, for a bounded number of cases each:
//! every seed of `core/fuzz/corpus/<target>/` as it is, then random
//! mutations of the seeds (byte flips, insertions, deletions, splices, deep
//! nesting) from a fixed seed, so a failure reproduces. `PORTCULLIS_FUZZ_CASES`
//! raises the count for a longer run. The properties: nothing panics, limits
//! hold, and what parses writes back out to something that parses the same.

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::protocol::{Message, MAX_JSON_DEPTH};

fn cases() -> usize {
    std::env::var("PORTCULLIS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One mutation of a seed.
fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..8) {
        let at = if data.is_empty() {
            0
        } else {
            rng.random_range(0..data.len())
        };
        match rng.random_range(0..6) {
            0 if !data.is_empty() => data[at] = rng.random(),
            1 => data.insert(
                at,
                *b"{}[]\":,\\\n\r0-e"
                    .get(rng.random_range(0..15))
                    .unwrap_or(&b'x'),
            ),
            2 if !data.is_empty() => {
                data.remove(at);
            }
            3 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                data.splice(at..at, other[from..].iter().copied());
            }
            4 => {
                let n = rng.random_range(1..400);
                let open = if rng.random() { b'[' } else { b'{' };
                data.splice(at..at, std::iter::repeat_n(open, n));
            }
            _ => data.truncate(at),
        }
    }
    data
}

fn inputs(target: &str, seed: u64) -> impl Iterator<Item = Vec<u8>> {
    let seeds = corpus(target);
    let mut rng = StdRng::seed_from_u64(seed);
    let mutated: Vec<Vec<u8>> = (0..cases()).map(|_| mutate(&mut rng, &seeds)).collect();
    seeds.into_iter().chain(mutated)
}

#[test]
fn jsonrpc_parser_never_panics_and_round_trips() {
    for input in inputs("jsonrpc", 1) {
        if let Ok((msgs, _)) = Message::parse_many(&input, 1 << 20) {
            assert!(crate::protocol::too_deep(&input, MAX_JSON_DEPTH).is_none());
            for m in msgs {
                let out = m.to_bytes();
                let again = Message::parse(&out, 1 << 21)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
                assert_eq!(again.to_bytes(), out, "a second round trip changed it");
            }
        }
        let _ = Message::parse(&input, 64);
    }
}

#[test]
fn line_reader_keeps_every_line_within_its_limit() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for input in inputs("lines", 2) {
        rt.block_on(async {
            let mut r = crate::transport::LineReader::new(&input[..], 16);
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
}

#[test]
fn sse_decoder_never_panics_and_holds_its_limit_in_any_chunking() {
    let mut rng = StdRng::seed_from_u64(3);
    for input in inputs("sse", 3) {
        let mut parser = crate::transport::SseParser::new(256);
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(64));
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
}

#[test]
fn config_parser_never_panics_and_resolves_or_explains() {
    let path = std::path::Path::new("fuzz.toml");
    for input in inputs("config", 4) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(file) = crate::config::ConfigFile::parse(&text, path) {
            let overrides = crate::config::Overrides {
                listen: Some("127.0.0.1:0".into()),
            };
            if let Err(e) = crate::config::Settings::resolve(&file, &overrides, path) {
                assert!(e.to_string().contains("hint:"), "no hint in: {e}");
            }
        }
    }
}

#[test]
fn host_guard_passes_only_loopback_authorities() {
    let policy = crate::downstream::OriginPolicy::new(7331, &[]);
    for input in inputs("host", 5) {
        for line in String::from_utf8_lossy(&input).lines() {
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
}
