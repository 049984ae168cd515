#!/usr/bin/env bash
# Runs the Python tests (tests/python) in the checkout's .venv.
# Needs scripts/setup.sh first. Tests marked `gateway` use target/debug/portcullis
# (or $PORTCULLIS_BIN) and are skipped while it does not exist: build it first
# (`cargo build -p portcullis`) so that they run against the current code.
# Extra arguments go to pytest, e.g. scripts/test-python.sh -k time -x
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ ! -x .venv/bin/python ] || [ ! -d tests/node_modules ]; then
    echo "test-python: the test environment is missing; run scripts/setup.sh first" >&2
    exit 1
fi

# shellcheck disable=SC1091
source .venv/bin/activate

status=0
python -m pytest -p no:cacheprovider tests/python "$@" || status=$?

if [ "$status" -eq 5 ]; then
    echo "test-python: pytest collected no tests (exit 5); treating that as a failure" >&2
    exit 1
fi
exit "$status"
