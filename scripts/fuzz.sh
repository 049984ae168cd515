#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz with libFuzzer) of the parsers that take
# input from outside: the properties in core/src/fuzzing.rs, one target each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]     default: 60 s for each of the five targets
#
# Installs cargo-fuzz into .deps/cargo on first use (a minute). The first build
# instruments the whole dependency tree in release mode, with AddressSanitizer
# (several minutes, once; core/fuzz/target keeps it). The seeds in
# core/fuzz/corpus/<target> are read, never written: what libFuzzer finds goes
# to target/fuzz-corpus/<target>, a crash to core/fuzz/artifacts/<target>/.
# A crash is fixed with a regression test: add the input to the corpus, which
# `cargo test` (core/src/fuzz_tests.rs) replays on every run.
#
# cargo-fuzz asks for nightly-only rustc flags (-Zsanitizer); RUSTC_BOOTSTRAP=1
# lets the project's one stable toolchain take them, for this build only.
# Not part of scripts/test.sh: the instrumented build would add more to CI than
# the whole cargo build; `cargo test` runs the same properties on the corpora and
# on seeded mutations of them instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(jsonrpc lines sse config host)

CARGO_FUZZ_VERSION=0.13.2
DEPS_CARGO="$ROOT/.deps/cargo"
if ! [ -x "$DEPS_CARGO/bin/cargo-fuzz" ] || [ "$(cat "$DEPS_CARGO/.cargo-fuzz-version" 2>/dev/null)" != "$CARGO_FUZZ_VERSION" ]; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into .deps/cargo" >&2
    CARGO_TARGET_DIR="$ROOT/.deps/cargo-build" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$DEPS_CARGO" --quiet
    rm -rf "$ROOT/.deps/cargo-build"
    echo "$CARGO_FUZZ_VERSION" >"$DEPS_CARGO/.cargo-fuzz-version"
fi
export PATH="$DEPS_CARGO/bin:$PATH" RUSTC_BOOTSTRAP=1

status=0
for t in "${TARGETS[@]}"; do
    found="$ROOT/target/fuzz-corpus/$t"
    mkdir -p "$found"
    echo "==== fuzz $t for ${SECONDS_EACH} s ====" >&2
    # The first corpus folder is where libFuzzer writes; the repository's seeds come second.
    if ! cargo fuzz run --fuzz-dir core/fuzz "$t" "$found" "core/fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "fuzz: $t failed; the input is in core/fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit "$status"
