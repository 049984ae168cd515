#!/usr/bin/env bash
# Portcullis against the other gateways, side by side in one run (issue 21).
#
# Each gateway is put in front of the same upstream, the project's echo
# server (tests/src/bin/echo_server.rs, over stdio), and driven by the same
# load generator (portcullis-loadgen, tests/src/bin/loadgen.rs) over
# streamable HTTP, at 1, 8 and 64 sessions (each session its own
# `initialize` and its own keep-alive connection, one call in flight each):
#
#   portcullis   `portcullis serve`, quarantine on (the echo server and its
#                tools approved once, as a person would), activity log on
#   rust         the Rust `mcp-proxy` crate 0.6.0 (joshrotenberg/mcp-proxy),
#                default features, one stdio backend
#   python       the PyPI `mcp-proxy` 0.13 (sparfenyuk/mcp-proxy), stdio
#                server mode (`mcp-proxy --port P -- echo-server`)
#
# The peers are installed into the build folder, nothing global:
#   $PEERS_DIR/rust     `cargo install mcp-proxy --version 0.6.0 --locked --root …`
#   $PEERS_DIR/py       a venv with `pip install mcp-proxy==0.13.*`
# (PEERS_DIR defaults to ${CARGO_TARGET_DIR:-target}/peers; an install found
# there is reused.)
#
# For every (sessions, round) the gateways take turns (interleaved, so the
# drift of a shared machine hits them alike). Each run starts the gateway
# afresh, waits until one call goes through, lets it settle (SETTLE s), reads
# its idle resident memory (VmRSS), runs the load, then reads its peak (the
# larger of VmHWM and VmRSS sampled every 50 ms) and the CPU time it used
# (utime + stime from /proc/PID/stat). Only the gateway's own process is
# measured, not the echo server below it. Portcullis runs with everything a
# real call goes through: quarantine check, id mapping, activity log, limits.
#
# Prints a markdown table per round and one of medians over the rounds, with
# the ratio of each peer's calls/s to Portcullis's (how many times faster
# Portcullis is) and of p50 latencies (peer's p50 / Portcullis's).
#
# Bounded in time: every loadgen run is killed after DURATION + WARMUP + 60 s,
# every start after 60 s; the first install of the Rust crate (a compile,
# about 5-10 minutes on 2 cores) after INSTALL_TIMEOUT (default 1800 s). The
# script prints its upper bound before it starts measuring. It is a manual
# command: CI does not run it (it needs the network for the first install and
# takes minutes).
#
# Usage: tests/bench/peers.sh                     (8 s per run after 2 s warm-up, 3 rounds)
#   ROUNDS=1 DURATION=5 SESSIONS="1 8" tests/bench/peers.sh
#   PEERS="portcullis rust" tests/bench/peers.sh
#   BIN_DIR=/path/to/target/release tests/bench/peers.sh   (prebuilt binaries)
#   TABLE_ONLY=results.jsonl tests/bench/peers.sh           (the table of an earlier run)
# Raw JSON lines (loadgen's report plus gateway, round, idle_rss_kb, cpu_ms and
# the peak as above) go to $OUT (default: a temp file, printed at the end).
# Environment variables reach every gateway (e.g. MIMALLOC_PURGE_DELAY=0,
# TOKIO_WORKER_THREADS=1 to try Portcullis's allocator and runtime settings).
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
SESSIONS=${SESSIONS:-"1 8 64"}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-2}
PEERS=${PEERS:-"portcullis rust python"}
INSTALL_TIMEOUT=${INSTALL_TIMEOUT:-1800}
RUST_PEER_VERSION=0.6.0
PY_PEER_SPEC='mcp-proxy==0.13.*'

# Prints the table of medians of a results file ($1).
print_table() {
    # Medians over the rounds, per gateway and session count; the ratios compare
    # the medians. CPU per call: the gateway's CPU time over the whole run
    # (warm-up included) divided by the calls it made in that time (estimated at
    # the measured rate).
    jq -rs --argjson warmup "$WARMUP" '
      def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
      def mib: if . == null then "" else ((. / 102.4 | round) / 10 | tostring) end;
      def r1: (. * 10 | round) / 10;
      group_by([.concurrency, .gateway])
      | map({
          sessions: .[0].concurrency, gateway: .[0].gateway, runs: length,
          cps: (map(.calls_per_sec) | median),
          cps_all: (map(.calls_per_sec | tostring) | join(", ")),
          p50: (map(.p50_us) | median), p99: (map(.p99_us) | median),
          idle: (map(.idle_rss_kb) | median), peak: (map(.peak_rss_kb) | median),
          cpu_us: (map(1000 * .cpu_ms / (.calls_per_sec * (.seconds + (.warmup // $warmup)))) | median),
          errors: (map(.errors) | add)
        })
      | (map(select(.gateway == "portcullis")) | map({key: (.sessions | tostring), value: .}) | from_entries) as $p
      | "| Sessions | Gateway | Calls/s (median) | Calls/s (each round) | Portcullis × | p50 µs | p50 / Portcullis p50 | p99 µs | CPU µs/call | Idle RSS MiB | Peak RSS MiB | Errors |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        (sort_by(.sessions, (.gateway | if . == "portcullis" then 0 elif . == "rust" then 1 else 2 end))[]
         | . as $r | ($p[$r.sessions | tostring]) as $q
         | "| \($r.sessions) | \($r.gateway) | \($r.cps) | \($r.cps_all) | "
           + (if $q and $r.gateway != "portcullis" and $r.cps > 0 then "\($q.cps / $r.cps | r1)×" else "" end)
           + " | \($r.p50) | "
           + (if $q and $r.gateway != "portcullis" and $q.p50 > 0 then "\($r.p50 / $q.p50 | r1)×" else "" end)
           + " | \($r.p99) | \($r.cpu_us | r1) | \($r.idle | mib) | \($r.peak | mib) | \($r.errors) |")
    ' "$1"
}

if [[ -n "${TABLE_ONLY:-}" ]]; then # the table of an earlier run's raw results
    print_table "$TABLE_ONLY"
    exit 0
fi

for tool in jq python3 timeout; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 1; }
done

target="${CARGO_TARGET_DIR:-target}"
if [[ -n "${BIN_DIR:-}" ]]; then
    bin=$BIN_DIR
else
    cargo build --release -p portcullis -p portcullis-tests >&2
    bin="$target/release"
fi
bin=$(cd "$bin" && pwd)
portcullis="$bin/portcullis"
echo_server="$bin/portcullis-echo-server"
loadgen="$bin/portcullis-loadgen"
PEERS_DIR=${PEERS_DIR:-"$target/peers"}
mkdir -p "$PEERS_DIR"
PEERS_DIR=$(cd "$PEERS_DIR" && pwd)

# --- installing the peers into the build folder ------------------------------
wants() { [[ " $PEERS " == *" $1 "* ]]; }
rust_proxy="$PEERS_DIR/rust/bin/mcp-proxy"
py_proxy="$PEERS_DIR/py/bin/mcp-proxy"
if wants rust && ! { [[ -x $rust_proxy ]] && grep -q "\"mcp-proxy $RUST_PEER_VERSION " "$PEERS_DIR/rust/.crates.toml" 2>/dev/null; }; then
    echo "installing the Rust mcp-proxy $RUST_PEER_VERSION into $PEERS_DIR/rust (a compile; at most ${INSTALL_TIMEOUT} s)" >&2
    timeout "$INSTALL_TIMEOUT" cargo install mcp-proxy --version "$RUST_PEER_VERSION" --locked \
        --root "$PEERS_DIR/rust" >&2
fi
py_version=$("$PEERS_DIR/py/bin/pip" show mcp-proxy 2>/dev/null || true) # not piped into grep -q: pipefail
if wants python && ! grep -q '^Version: 0\.13\.' <<<"$py_version"; then
    echo "installing the Python $PY_PEER_SPEC into a venv at $PEERS_DIR/py" >&2
    python3 -m venv "$PEERS_DIR/py"
    timeout 600 "$PEERS_DIR/py/bin/pip" install --quiet "$PY_PEER_SPEC" >&2
fi

# --- one gateway at a time ---------------------------------------------------
work=$(mktemp -d -t portcullis-peers-XXXXXX)
OUT=${OUT:-$(mktemp -t portcullis-peers-results-XXXXXX)}
gw_pid=""
stop_gateway() {
    if [[ -n "$gw_pid" ]] && kill -0 "$gw_pid" 2>/dev/null; then
        kill -TERM "$gw_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$gw_pid" 2>/dev/null || true
        wait "$gw_pid" 2>/dev/null || true
    fi
    gw_pid=""
}
cleanup() { stop_gateway; rm -rf "$work"; }
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# VmHWM alone misses peaks: the kernel updates its high-water mark only at some
# events (an unmap, an exit) and otherwise reports the current VmRSS. So the
# peak is also sampled, every 50 ms, with shell builtins only (no fork per
# sample but the sleep). Writes the highest VmRSS seen, in KiB, to $2.
sample_rss() {
    local pid=$1 out=$2 max=0 k v _
    while [[ -r /proc/$pid/status ]]; do
        while read -r k v _; do
            if [[ $k == VmRSS: ]]; then ((v > max)) && max=$v; break; fi
        done <"/proc/$pid/status" 2>/dev/null || break
        echo "$max" >"$out"
        sleep 0.05
    done
}
# utime + stime of a process, in clock ticks (fields 14 and 15 after the command).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
ticks_per_sec=$(getconf CLK_TCK)

# Portcullis's home: config written once; approvals made on the first start
# stay in its store for the later ones.
phome="$work/portcullis-home"
mkdir -p "$phome"
cat >"$phome/config.toml" <<EOF
[gateway]
surface = "direct"

[servers.echo]
command = "$echo_server"
args = []
EOF

cat >"$work/rust-proxy.toml.in" <<EOF
[proxy]
name = "bench"
separator = "__"

[proxy.listen]
host = "127.0.0.1"
port = PORT

[[backends]]
name = "echo"
transport = "stdio"
command = "$echo_server"
args = []
EOF

# Starts one gateway; sets gw_pid, url and tool.
start_gateway() {
    local which=$1 port
    case $which in
    portcullis)
        # Emptied here, not only by the child's redirection: the loop below must not
        # read the previous run's address before the new process truncates the file.
        : >"$work/serve.out"
        PORTCULLIS_HOME="$phome" "$portcullis" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
        gw_pid=$!
        url=""
        for _ in $(seq 1 600); do
            url=$(grep -o 'http://[^ ]*/mcp' "$work/serve.out" 2>/dev/null | head -n1 || true)
            [[ -n "$url" ]] && break
            kill -0 "$gw_pid" 2>/dev/null || { echo "error: portcullis exited:" >&2; cat "$work/serve.err" >&2; exit 1; }
            sleep 0.1
        done
        [[ -n "$url" ]] || { echo "error: portcullis did not listen within 60 s" >&2; exit 1; }
        tool=echo__echo
        ;;
    rust)
        port=$(free_port)
        sed "s/^port = PORT$/port = $port/" "$work/rust-proxy.toml.in" >"$work/rust-proxy.toml"
        "$rust_proxy" --config "$work/rust-proxy.toml" >"$work/rust.out" 2>"$work/rust.err" &
        gw_pid=$!
        url="http://127.0.0.1:$port/"
        tool=echo__echo
        ;;
    python)
        port=$(free_port)
        "$py_proxy" --host 127.0.0.1 --port "$port" --log-level WARNING -- "$echo_server" >"$work/python.out" 2>"$work/python.err" &
        gw_pid=$!
        url="http://127.0.0.1:$port/mcp"
        tool=echo
        ;;
    esac
    # Ready when one call goes through. Portcullis quarantines the echo server
    # until a person approves it: approve it (once; the store keeps it).
    local ready=""
    for _ in $(seq 1 120); do
        kill -0 "$gw_pid" 2>/dev/null || { echo "error: $which exited:" >&2; cat "$work/$which.err" "$work/serve.err" 2>/dev/null | tail -20 >&2; exit 1; }
        if timeout 10 "$loadgen" --http "$url" --tool "$tool" --requests 1 --warmup 0 --setup-timeout 1 >/dev/null 2>"$work/probe.err"; then
            ready=1
            break
        fi
        if [[ $which == portcullis ]]; then
            PORTCULLIS_HOME="$phome" "$portcullis" upstream approve --name echo >/dev/null 2>&1 || true
            PORTCULLIS_HOME="$phome" "$portcullis" upstream approve --name echo --all-tools >/dev/null 2>&1 || true
        fi
        sleep 0.5
    done
    [[ -n "$ready" ]] || { echo "error: $which never answered a call:" >&2; cat "$work/probe.err" >&2; exit 1; }
}

gateways=()
for g in portcullis rust python; do wants "$g" && gateways+=("$g"); done
n_sessions=$(wc -w <<<"$SESSIONS")
bound=$((ROUNDS * n_sessions * ${#gateways[@]} * (${DURATION%.*} + ${WARMUP%.*} + SETTLE + 60 + 60 + 5)))
typical=$((ROUNDS * n_sessions * ${#gateways[@]} * (${DURATION%.*} + ${WARMUP%.*} + SETTLE + 3)))
echo "measuring ${gateways[*]} at sessions $SESSIONS, $ROUNDS round(s) of ${DURATION} s + ${WARMUP} s warm-up: about $((typical / 60)) min, at most $((bound / 60)) min" >&2

: >"$OUT"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
    for s in $SESSIONS; do
        for g in "${gateways[@]}"; do
            start_gateway "$g"
            sleep "$SETTLE"
            idle_kb=$(proc_field "$gw_pid" VmRSS)
            cpu0=$(cpu_ticks "$gw_pid")
            echo 0 >"$work/peak"
            sample_rss "$gw_pid" "$work/peak" &
            sampler=$!
            if ! line=$(timeout $((${DURATION%.*} + ${WARMUP%.*} + 60)) "$loadgen" --http "$url" --tool "$tool" --pid "$gw_pid" \
                --concurrency "$s" --duration "$DURATION" --warmup "$WARMUP" --label "$g" 2>"$work/loadgen.err"); then
                echo "error: loadgen against $g at $s sessions failed:" >&2
                cat "$work/loadgen.err" >&2
                exit 1
            fi
            cpu1=$(cpu_ticks "$gw_pid")
            hwm=$(proc_field "$gw_pid" VmHWM)
            kill "$sampler" 2>/dev/null || true
            wait "$sampler" 2>/dev/null || true
            sampled=$(cat "$work/peak")
            peak=$(( ${hwm:-0} > sampled ? ${hwm:-0} : sampled ))
            stop_gateway
            jq -c --arg g "$g" --argjson round "$round" --argjson idle "${idle_kb:-null}" \
                --argjson cpu_ms "$(((cpu1 - cpu0) * 1000 / ticks_per_sec))" --argjson peak "$peak" \
                --argjson warmup "$WARMUP" \
                '. + {gateway: $g, round: $round, warmup: $warmup, idle_rss_kb: $idle, cpu_ms: $cpu_ms, peak_rss_kb: $peak}' <<<"$line" >>"$OUT"
            echo "round $round, $s sessions, $g: $(jq -r '"\(.calls_per_sec) calls/s, p50 \(.p50_us) µs, p99 \(.p99_us) µs, peak \(.peak_rss_kb) KiB"' <<<"$line")" >&2
        done
    done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || true)
echo
echo "Machine: $(nproc) cores${cpu:+ ($cpu)}, $(uname -sr); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1, 5, 15 min); ${DURATION} s per run after ${WARMUP} s warm-up, $ROUNDS round(s)."
echo
print_table "$OUT"
echo
echo "raw results: $OUT" >&2
