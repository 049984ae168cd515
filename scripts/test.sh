#!/usr/bin/env bash
# Runs every test of the repository, the way CI does (.ci/run calls exactly this):
#   1. scripts/setup.sh          the test environment (.venv, tests/node_modules, apt packages)
#   2. cargo fmt --check         one format for the workspace (rustfmt.toml); `cargo fmt --all` fixes it
#   3. cargo build               every target of the workspace (binaries, tests, examples)
#   4. cargo clippy -D warnings  clippy's defaults and the rules in Cargo.toml [workspace.lints]
#   5. cargo test                unit, integration and CLI snapshot tests of every package
#   6. scripts/test-python.sh    end-to-end tests against real MCP peers and the built binary
#   7. scripts/conformance.sh    the official MCP conformance suite, both modes, both eras
#   8. scripts/test-desktop.sh   the desktop app under Xvfb with dunst, driven by tauri-driver
# Stops at the first failing step and exits non-zero. Needs no terminal.
# If cargo had to update Cargo.lock, the run says so at the end: commit the lock file.
# A CLI snapshot that changed on purpose: `cargo insta review`, or accept the .snap.new files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The Python and desktop tests run the binaries this script builds, wherever cargo puts them.
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export PORTCULLIS_BIN="${PORTCULLIS_BIN:-$(mkdir -p "$TARGET" && cd "$TARGET" && pwd)/debug/portcullis}"

STEPS=8
n=0
summary=()
started=$SECONDS

step() {
    local title="$1"
    shift
    n=$((n + 1))
    printf '\n==== [%d/%d] %s ====\n$ %s\n' "$n" "$STEPS" "$title" "$*"
    local t0=$SECONDS status=0
    "$@" || status=$?
    local took=$((SECONDS - t0))
    if [ "$status" -ne 0 ]; then
        printf '\n==== FAILED: [%d/%d] %s (exit %d after %d s) ====\n' "$n" "$STEPS" "$title" "$status" "$took" >&2
        exit "$status"
    fi
    printf '==== [%d/%d] %s: ok in %d s (%d s so far) ====\n' "$n" "$STEPS" "$title" "$took" "$((SECONDS - started))"
    summary+=("$title ${took} s")
}

step "setup" ./scripts/setup.sh
step "format" cargo fmt --all --check
lock_before="$(sha256sum Cargo.lock 2>/dev/null || true)"
step "cargo build" cargo build --workspace --all-targets
step "lints" cargo clippy --workspace --all-targets -- -D warnings
step "cargo test" cargo test --workspace --no-fail-fast
step "python end-to-end tests" ./scripts/test-python.sh
step "MCP conformance suite" ./scripts/conformance.sh
step "desktop end-to-end tests" ./scripts/test-desktop.sh

if [ "$(sha256sum Cargo.lock 2>/dev/null || true)" != "$lock_before" ]; then
    echo "test: warning: cargo updated Cargo.lock during this run; commit it with the change that needed it" >&2
fi
joined="$(printf '%s, ' "${summary[@]}")"
printf '\n==== all %d steps passed in %d s (%s) ====\n' "$STEPS" "$((SECONDS - started))" "${joined%, }"
