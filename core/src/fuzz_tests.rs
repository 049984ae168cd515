//! The fuzz properties of [`crate::fuzzing`], run in `cargo test` for a
//! bounded number of cases each: every seed of `core/fuzz/corpus/<target>/`
//! as it is, then random mutations of the seeds (byte flips, insertions,
//! deletions, splices, deep nesting) from a fixed seed, so a failure
//! reproduces. `PORTCULLIS_FUZZ_CASES` raises the count for a longer run;
//! `scripts/fuzz.sh` runs the same properties coverage-guided (cargo-fuzz).

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::fuzzing;

fn cases() -> usize {
    std::env::var("PORTCULLIS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
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
    inputs("jsonrpc", 1).for_each(|input| fuzzing::jsonrpc(&input));
}

#[test]
fn line_reader_keeps_every_line_within_its_limit() {
    inputs("lines", 2).for_each(|input| fuzzing::lines(&input));
}

#[test]
fn sse_decoder_never_panics_and_holds_its_limit_in_any_chunking() {
    let mut rng = StdRng::seed_from_u64(3);
    for input in inputs("sse", 3) {
        fuzzing::sse(&input, &mut || rng.random_range(0..64));
    }
}

#[test]
fn config_parser_never_panics_and_resolves_or_explains() {
    inputs("config", 4).for_each(|input| fuzzing::config(&input));
}

#[test]
fn host_guard_passes_only_loopback_authorities() {
    inputs("host", 5).for_each(|input| fuzzing::host(&input));
}
