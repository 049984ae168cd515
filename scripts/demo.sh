#!/usr/bin/env bash
# One command to see Portcullis work: sets up this checkout (scripts/setup.sh),
# builds the `portcullis` binary, and runs the gateway in front of three real MCP
# servers that setup installed into the checkout:
#   everything  @modelcontextprotocol/server-everything (npm, tests/node_modules)
#   time        mcp-server-time (PyPI, .venv)
#   git         mcp-server-git (PyPI, .venv) on this checkout
# Everything lives in one folder, PORTCULLIS_HOME (default target/demo/): config.toml,
# portcullis.db, logs/, admin.token, gateway.json. On the first run the config is
# written and the three servers and their tools are approved (quarantine holds
# servers and tools until a person approves them); later runs keep your edits and
# decisions. Delete the folder to start over. Stop the gateway with Ctrl-C.
# Extra arguments go to `portcullis serve`, e.g. ./scripts/demo.sh --listen 127.0.0.1:7444
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "demo: $*" >&2; }

./scripts/setup.sh
log "building portcullis"
cargo build -p portcullis --bin portcullis
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$(cd "$TARGET" && pwd)/debug/portcullis"

DEMO_HOME="${PORTCULLIS_DEMO_HOME:-$ROOT/target/demo}"
mkdir -p "$DEMO_HOME"
DEMO_HOME="$(cd "$DEMO_HOME" && pwd)"
CONFIG="$DEMO_HOME/config.toml"

EVERYTHING="$ROOT/tests/node_modules/.bin/mcp-server-everything"
TIME_SERVER="$ROOT/.venv/bin/mcp-server-time"
GIT_SERVER="$ROOT/.venv/bin/mcp-server-git"
for program in "$EVERYTHING" "$TIME_SERVER" "$GIT_SERVER"; do
    if [ ! -x "$program" ]; then
        log "$program is missing; scripts/setup.sh should have installed it"
        exit 1
    fi
done

first_run=0
if [ ! -f "$CONFIG" ]; then
    first_run=1
    case "$ROOT" in
        *"'"*) log "the checkout's path contains a single quote, which this script cannot write into TOML"; exit 1 ;;
    esac
    log "writing $CONFIG"
    cat >"$CONFIG" <<TOML
# Portcullis demo configuration, written by scripts/demo.sh (edit it freely: it is
# written only when missing). Every option is explained in config.example.toml.

[gateway]
listen = "127.0.0.1:7331"
# Agents see three tools (search_tools, describe_tool, call_tool); /mcp/direct lists every tool.
surface = "search"

# The MCP reference server: echo, get-sum, get-env and a dozen more test tools.
[servers.everything]
command = '$EVERYTHING'
args = ["stdio"]

# Current time and time zone conversion.
[servers.time]
command = '$TIME_SERVER'
args = ["--local-timezone", "UTC"]

# This checkout's git history (it can also stage and commit: careful).
[servers.git]
command = '$GIT_SERVER'
args = ["--repository", '$ROOT']
TOML
else
    log "using the existing $CONFIG"
fi

export PORTCULLIS_HOME="$DEMO_HOME"
"$BIN" serve "$@" &
SERVE_PID=$!
trap 'kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; exit 130' INT TERM

for _ in $(seq 1 300); do
    [ -f "$DEMO_HOME/gateway.json" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { wait "$SERVE_PID"; exit $?; }
    sleep 0.1
done

# Servers that appear in the config file wait for a person's approval, and so do their
# tools (quarantine). On the first run the demo approves its three servers the way you
# would, through the running gateway; set PORTCULLIS_DEMO_APPROVE=0 to do it yourself.
state_of() {
    "$BIN" upstream list --json | "$ROOT/.venv/bin/python" -c \
        'import json, sys; print(next((s["state"] for s in json.load(sys.stdin) if s["name"] == sys.argv[1]), "missing"))' "$1"
}
if [ "$first_run" = 1 ] && [ "${PORTCULLIS_DEMO_APPROVE:-1}" = 1 ]; then
    for name in everything time git; do
        log "\$ portcullis upstream approve --name $name"
        "$BIN" upstream approve --name "$name" >&2
    done
    for name in everything time git; do
        state=""
        for _ in $(seq 1 600); do
            state="$(state_of "$name")"
            [ "$state" = ready ] || [ "$state" = backoff ] && break
            sleep 0.1
        done
        if [ "$state" = ready ]; then
            log "\$ portcullis upstream approve --name $name --all-tools"
            "$BIN" upstream approve --name "$name" --all-tools >&2
        else
            log "$name is $state; see $DEMO_HOME/logs/$name.log"
        fi
    done
fi

cat >&2 <<MSG
demo: ready. PORTCULLIS_HOME=$DEMO_HOME
demo: in another terminal, try:
demo:   export PORTCULLIS_HOME=$DEMO_HOME
demo:   $BIN upstream list
demo:   $BIN tools search "what time is it in Tokyo"
demo:   $BIN upstream disable --name git     (applied live)
MSG
wait "$SERVE_PID"
