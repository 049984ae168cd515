#!/usr/bin/env bash
# Runs the desktop app's end-to-end tests (tests/desktop) the way a person uses it:
# on a virtual X display (Xvfb), in a fresh D-Bus session bus with a real
# notification daemon (dunst), the app driven by tauri-driver + WebKitWebDriver.
# test_package.py builds the .deb from the same debug binaries
# (scripts/package-deb.sh), installs it on this machine with dpkg (root needed),
# starts the installed app from its menu entry and removes the package again.
# Needs scripts/setup.sh (Debian packages, .venv, tauri-driver in .deps/cargo) and
# the built app and CLI: `cargo build -p portcullis -p portcullis-desktop`.
# Anything missing fails the run and says what to do: nothing is skipped.
# Screenshots of the window and the popup land in <target>/desktop-screenshots/;
# PORTCULLIS_SCREENSHOTS=docs/screenshots scripts/test-desktop.sh refreshes the README's.
# Extra arguments go to pytest, e.g. scripts/test-desktop.sh -k popup -x
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TARGET="$(cd "$TARGET" 2>/dev/null && pwd || echo "$TARGET")"
export PORTCULLIS_BIN="${PORTCULLIS_BIN:-$TARGET/debug/portcullis}"
export PORTCULLIS_DESKTOP_BIN="${PORTCULLIS_DESKTOP_BIN:-$TARGET/debug/portcullis-desktop}"
export TAURI_DRIVER="${TAURI_DRIVER:-$ROOT/.deps/cargo/bin/tauri-driver}"

missing=()
for tool in xvfb-run dbus-run-session dbus-monitor dbus-send dunst dunstctl WebKitWebDriver gdbus gio update-desktop-database dpkg-deb dpkg-shlibdeps objcopy; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
for file in "$TAURI_DRIVER" "$PORTCULLIS_BIN" "$PORTCULLIS_DESKTOP_BIN" .venv/bin/python tests/node_modules/.bin/mcp-server-everything; do
    [ -x "$file" ] || missing+=("$file")
done
if ((${#missing[@]})); then
    echo "test-desktop: missing: ${missing[*]}" >&2
    echo "test-desktop: run scripts/setup.sh, then cargo build -p portcullis -p portcullis-desktop" >&2
    exit 1
fi

# Only what the tests start themselves may talk to the bus and the display.
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
status=0
xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- \
    .venv/bin/python -m pytest -p no:cacheprovider -c tests/desktop/pytest.ini tests/desktop "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test-desktop: pytest collected no tests (exit 5); treating that as a failure" >&2
    exit 1
fi
exit "$status"
