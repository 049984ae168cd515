#!/usr/bin/env bash
# Portcullis's resident memory at idle, on a first start and on restarts
# (issue 21, tests/bench/NOTES-peers.md).
#
# The peers-bench setup: `portcullis serve` with the project's echo server
# as its only upstream, in a fresh home. The first start is a person's first
# run: the echo server and its tools are approved, so they are scanned and
# indexed. Each restart reuses that home (approvals kept). After every start
# one call goes through (portcullis-loadgen, streamable HTTP), the gateway
# settles for SETTLE s, and VmRSS, RssAnon and RssFile are read from
# /proc/PID/status.
#
# Usage: tests/bench/idle_rss.sh                   (one first start, 4 restarts)
#   RESTARTS=8 SETTLE=3 BIN_DIR=/path/to/release tests/bench/idle_rss.sh
# Environment variables reach the gateway (e.g. MIMALLOC_PURGE_DELAY=0).
# Prints one line per start: which, VmRSS, RssAnon, RssFile (MiB).
set -euo pipefail

cd "$(dirname "$0")/../.."
RESTARTS=${RESTARTS:-4}
SETTLE=${SETTLE:-3}
bin=${BIN_DIR:-"${CARGO_TARGET_DIR:-target}/release"}
bin=$(cd "$bin" && pwd)
for b in portcullis portcullis-echo-server portcullis-loadgen; do
    [[ -x "$bin/$b" ]] || { echo "error: $bin/$b is missing: cargo build --release -p portcullis -p portcullis-tests" >&2; exit 1; }
done

work=$(mktemp -d -t portcullis-idle-XXXXXX)
pid=""
stop() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=""
}
trap 'stop; rm -rf "$work"' EXIT

home="$work/home"
mkdir -p "$home"
cat >"$home/config.toml" <<EOF
[gateway]
surface = "direct"

[servers.echo]
command = "$bin/portcullis-echo-server"
args = []
EOF

mib() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# Starts the gateway, waits until one call goes through (approving the echo
# server and its tools when asked to), settles, prints its memory.
measure() {
    local which=$1 url=""
    : >"$work/out" # not only by the child: never read the previous start's address
    PORTCULLIS_HOME="$home" "$bin/portcullis" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 1 600); do
        url=$(grep -o 'http://[^ ]*/mcp' "$work/out" 2>/dev/null | head -n1 || true)
        [[ -n "$url" ]] && break
        kill -0 "$pid" 2>/dev/null || { echo "error: portcullis exited:" >&2; cat "$work/err" >&2; exit 1; }
        sleep 0.1
    done
    [[ -n "$url" ]] || { echo "error: portcullis did not listen within 60 s" >&2; exit 1; }
    local ready=""
    for _ in $(seq 1 120); do
        if timeout 10 "$bin/portcullis-loadgen" --http "$url" --tool echo__echo --requests 1 --warmup 0 --setup-timeout 1 >/dev/null 2>"$work/probe.err"; then
            ready=1
            break
        fi
        PORTCULLIS_HOME="$home" "$bin/portcullis" upstream approve --name echo >/dev/null 2>&1 || true
        PORTCULLIS_HOME="$home" "$bin/portcullis" upstream approve --name echo --all-tools >/dev/null 2>&1 || true
        sleep 0.5
    done
    [[ -n "$ready" ]] || { echo "error: no call went through:" >&2; cat "$work/probe.err" >&2; exit 1; }
    sleep "$SETTLE"
    echo "$which VmRSS $(mib "$pid" VmRSS) RssAnon $(mib "$pid" RssAnon) RssFile $(mib "$pid" RssFile)"
    stop
}

measure first-start
for i in $(seq 1 "$RESTARTS"); do measure "restart-$i"; done
