#!/usr/bin/env bash
# Gateway overhead benchmark: what Portcullis adds to a tool call.
#
# Builds release binaries, starts `portcullis serve` in a temporary
# PORTCULLIS_HOME whose only upstream is the echo server, and runs
# portcullis-loadgen at each concurrency in three modes:
#   direct-stdio   loadgen -> echo server (stdio)
#   relay          loadgen -> portcullis-relay -> echo server: a byte copier,
#                  the floor for any process in the middle
#   gateway-stdio  loadgen -> portcullis stdio -> echo server
#   gateway-http   loadgen -> portcullis serve (streamable HTTP) -> echo server
# then prints a markdown table (with the peak resident memory of the process
# the load generator talks to: the echo server, the relay, `portcullis stdio`,
# or `portcullis serve`, whose peak is since it started). Modes are
# interleaved per concurrency so that
# drift of the machine hits them alike.
#
# Usage: tests/bench/run.sh            (10 s per run after 2 s of warm-up)
#   DURATION=5 WARMUP=1 CONCURRENCY="1 8" tests/bench/run.sh
#   BIN_DIR=/path/to/release tests/bench/run.sh   (prebuilt binaries, no build)
# Raw JSON lines are kept in $OUT (default: a temp file, printed at the end).
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-"1 8 64"}

command -v jq >/dev/null || { echo "error: jq is needed to print the table" >&2; exit 1; }

if [[ -n "${BIN_DIR:-}" ]]; then
    bin=$BIN_DIR # prebuilt release binaries, e.g. of another commit
else
    cargo build --release -p portcullis -p portcullis-tests >&2
    bin="${CARGO_TARGET_DIR:-target}/release"
fi
portcullis="$bin/portcullis"
echo_server="$(cd "$bin" && pwd)/portcullis-echo-server"
loadgen="$bin/portcullis-loadgen"
relay="$bin/portcullis-relay"

home=$(mktemp -d -t portcullis-bench-XXXXXX)
OUT=${OUT:-$(mktemp -t portcullis-bench-results-XXXXXX)}
gateway_pid=""
cleanup() {
    if [[ -n "$gateway_pid" ]] && kill -0 "$gateway_pid" 2>/dev/null; then
        kill -TERM "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    rm -rf "$home"
}
trap cleanup EXIT

cat >"$home/config.toml" <<EOF
[gateway]
surface = "direct"

[servers.echo]
command = "$echo_server"
args = []
EOF

PORTCULLIS_HOME="$home" "$portcullis" serve --listen 127.0.0.1:0 >"$home/serve.out" 2>"$home/serve.err" &
gateway_pid=$!
url=""
for _ in $(seq 1 600); do
    url=$(grep -o 'http://[^ ]*/mcp' "$home/serve.out" 2>/dev/null | head -n1 || true)
    [[ -n "$url" ]] && break
    kill -0 "$gateway_pid" 2>/dev/null || { echo "error: the gateway exited:" >&2; cat "$home/serve.err" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$url" ]] || { echo "error: the gateway did not start listening within 60 s" >&2; exit 1; }
echo "gateway at $url (home $home)" >&2

# Quarantine: the gateway starts a hand-written server and serves its tools
# only once approved. (A gateway without quarantine has no such command.)
ready=""
for _ in $(seq 1 120); do
    if "$loadgen" --http "$url" --requests 1 --warmup 0 --setup-timeout 1 >/dev/null 2>"$home/probe.err"; then ready=1; break; fi
    PORTCULLIS_HOME="$home" "$portcullis" upstream approve --name echo >/dev/null 2>&1 || true
    PORTCULLIS_HOME="$home" "$portcullis" upstream approve --name echo --all-tools >/dev/null 2>&1 || true
    sleep 0.5
done
[[ -n "$ready" ]] || { echo "error: echo__echo never became callable through the gateway:" >&2; cat "$home/probe.err" "$home/serve.err" >&2; exit 1; }

: >"$OUT"
run() {
    local label=$1 c=$2
    shift 2
    "$loadgen" "$@" --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" --label "$label" >>"$OUT"
}
for c in $CONCURRENCY; do
    run direct "$c" --direct-stdio "$echo_server"
    run relay "$c" --direct-stdio "$relay" "$echo_server"
    run gateway-stdio "$c" --gateway-stdio "$portcullis" --echo-server "$echo_server"
    run gateway-http "$c" --http "$url" --pid "$gateway_pid"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || true)
echo
echo "Machine: $(nproc) cores${cpu:+ ($cpu)}, $(uname -sr), $(rustc --version 2>/dev/null || echo 'rustc ?'); ${DURATION} s per run after ${WARMUP} s warm-up."
echo
jq -rs '
  (map(select(.label == "direct")) | map({key: (.concurrency | tostring), value: .}) | from_entries) as $direct
  | "| Concurrency | Mode | Calls/s | % of direct | p50 µs | Added p50 µs | p90 µs | p99 µs | Errors | Peak RSS MiB |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    (sort_by(.concurrency)[]
     | . as $r
     | ($direct[$r.concurrency | tostring]) as $d
     | "| \($r.concurrency) | \($r.label) | \($r.calls_per_sec) | "
       + (if $d then "\((100 * $r.calls_per_sec / $d.calls_per_sec) | round)%" else "" end)
       + " | \($r.p50_us) | "
       + (if $d and $r.label != "direct" then "\($r.p50_us - $d.p50_us)" else "" end)
       + " | \($r.p90_us) | \($r.p99_us) | \($r.errors) | "
       + (if $r.peak_rss_kb then "\(($r.peak_rss_kb / 102.4 | round) / 10)" else "" end) + " |")
' "$OUT"
echo
echo "raw results: $OUT" >&2
