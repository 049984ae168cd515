#!/usr/bin/env bash
# Desktop app footprint: how long the app takes from launch to a served /mcp,
# and how much memory its process tree (the app and WebKit's web and network
# processes) holds while idle: with its window open, after the window is closed,
# once a second launch has opened it again, and started --hidden.
#
# Runs the app RUNS times (5) on a virtual display (Xvfb) in a fresh D-Bus
# session, each in a temporary PORTCULLIS_HOME with no server configured, and
# prints a markdown table: start-up (launch to the first answered MCP
# `initialize`) and, after IDLE seconds (10) of idling in each state, the tree's RSS and PSS
# (PSS shares each shared page among the processes that map it: the fairer
# sum). Goals (issue 17): at most 1 s and 150 MB.
#
# Usage: tests/bench/desktop.sh                     (the debug build)
#   APP=target/release/portcullis-desktop RUNS=9 IDLE=20 tests/bench/desktop.sh
# A release build: cargo build --release --features custom-protocol -p portcullis-desktop
set -euo pipefail

cd "$(dirname "$0")/../.."
APP="${APP:-${CARGO_TARGET_DIR:-target}/debug/portcullis-desktop}"
[ -x "$APP" ] || { echo "error: $APP is missing: cargo build -p portcullis-desktop" >&2; exit 1; }
for tool in xvfb-run dbus-run-session; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")" \
    xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
    .venv/bin/python tests/bench/desktop_footprint.py
