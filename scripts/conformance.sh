#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against
# Portcullis: server mode (the gateway fronting tests/python/fixtures/conformance_server.py)
# and client mode (the gateway as the client of the suite's test servers), for the
# 2025-11-25 and 2026-07-28 requirement sets. Fails on any failure not listed in
# tests/conformance/expected-failures-<revision>.yml (reasons: CONFORMANCE.md), and on a
# listed failure that now passes. Needs scripts/setup.sh and a built gateway
# ($PORTCULLIS_BIN, else $CARGO_TARGET_DIR/debug/portcullis, else target/debug/portcullis).
# Extra arguments go to tests/python/conformance.py, e.g. --only server --requirements 2026-07-28
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ ! -x .venv/bin/python ] || [ ! -d tests/node_modules/@modelcontextprotocol/conformance ]; then
    echo "conformance: the test environment is missing; run scripts/setup.sh first" >&2
    exit 1
fi
exec .venv/bin/python tests/python/conformance.py "$@"
