#!/usr/bin/env bash
# Builds the Debian package of Portcullis from binaries cargo already built:
#
#   cargo build -p portcullis -p portcullis-desktop && scripts/package-deb.sh
#
# The package holds the desktop app (/usr/bin/portcullis-desktop), the CLI
# (/usr/bin/portcullis), a .desktop entry that also handles portcullis:// links,
# and the app icon at every hicolor size (icons/hicolor, drawn by
# scripts/make-icons.sh). Nothing is downloaded: only dpkg-deb and dpkg-shlibdeps
# (Debian: dpkg-dev) and binutils' objcopy are used. The binaries lose their debug
# sections on the way in (the build folder keeps them), so a debug build, as CI has,
# packages as well as a release one (`cargo build --release --features custom-protocol
# -p portcullis-desktop`, `cargo build --release -p portcullis`, then PROFILE=release).
#
# Only a .deb: an .rpm needs rpmbuild and an AppImage needs appimagetool, neither of
# which Debian bookworm ships; Tauri's bundler would download the latter at build time.
#
# Settings (environment):
#   PROFILE=debug|release   which target/<profile> to take the binaries from (debug)
#   PORTCULLIS_BIN, PORTCULLIS_DESKTOP_BIN   the two binaries, overriding PROFILE
#   OUT=DIR                 where the .deb goes (<target>/packages)
# Prints the path of the package it wrote on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${PROFILE:-debug}"
CLI="${PORTCULLIS_BIN:-$TARGET/$PROFILE/portcullis}"
APP="${PORTCULLIS_DESKTOP_BIN:-$TARGET/$PROFILE/portcullis-desktop}"
OUT="${OUT:-$TARGET/packages}"

fail() {
    echo "package-deb: $1" >&2
    [ -n "${2:-}" ] && echo "hint: $2" >&2
    exit 1
}
for tool in dpkg-deb dpkg-shlibdeps objcopy; do
    command -v "$tool" >/dev/null || fail "$tool not found" "apt-get install dpkg-dev binutils"
done
for bin in "$CLI" "$APP"; do
    [ -x "$bin" ] || fail "$bin is missing" "cargo build -p portcullis -p portcullis-desktop (PROFILE=release for a release build)"
done
for n in 16 24 32 48 64 128 256 512; do
    [ -f "icons/hicolor/${n}x${n}.png" ] || fail "icons/hicolor/${n}x${n}.png is missing" "run scripts/make-icons.sh"
done

VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)"
[ -n "$VERSION" ] || fail "no version in Cargo.toml's [workspace.package]"
ARCH="$(dpkg --print-architecture)"
NAME=portcullis

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/pkg"
mkdir -p "$PKG/DEBIAN" "$PKG/usr/bin" "$PKG/usr/share/applications" "$PKG/usr/share/doc/$NAME"

objcopy --strip-debug "$CLI" "$PKG/usr/bin/portcullis"
objcopy --strip-debug "$APP" "$PKG/usr/bin/portcullis-desktop"
chmod 0755 "$PKG/usr/bin/portcullis" "$PKG/usr/bin/portcullis-desktop"

for n in 16 24 32 48 64 128 256 512; do
    dir="$PKG/usr/share/icons/hicolor/${n}x${n}/apps"
    mkdir -p "$dir"
    install -m 0644 "icons/hicolor/${n}x${n}.png" "$dir/$NAME.png"
done

# %u: a portcullis:// link the person opened (or a client's MCP config file, from
# "Open With"); the running app gets it (one instance). The scheme is found through
# mimeinfo.cache, which desktop-file-utils' dpkg trigger rebuilds on install and removal.
cat >"$PKG/usr/share/applications/$NAME.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Portcullis
GenericName=MCP gateway
Comment=Decide which MCP servers and tools your agents may use
Exec=portcullis-desktop %u
Icon=$NAME
Terminal=false
Categories=Development;Network;
Keywords=MCP;agent;gateway;tools;
MimeType=x-scheme-handler/portcullis;
StartupWMClass=portcullis-desktop
EOF
chmod 0644 "$PKG/usr/share/applications/$NAME.desktop"

cat >"$PKG/usr/share/doc/$NAME/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Portcullis
License: $(sed -n '/^\[workspace.package\]/,/^\[/s/^license *= *"\(.*\)"/\1/p' Cargo.toml)
EOF

# The shared libraries the binaries link, as package dependencies; the tray's
# indicator library is opened at run time, so it is named by hand.
mkdir -p "$STAGE/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" >"$STAGE/shlibs/debian/control"
DEPENDS="$(cd "$STAGE/shlibs" && dpkg-shlibdeps -O "$PKG/usr/bin/portcullis" "$PKG/usr/bin/portcullis-desktop" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$DEPENDS" ] || fail "dpkg-shlibdeps found no dependencies"
DEPENDS="$DEPENDS, libayatana-appindicator3-1"

cat >"$PKG/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: Portcullis <portcullis@localhost>
Section: net
Priority: optional
Depends: $DEPENDS
Recommends: dunst | notification-daemon, desktop-file-utils
Installed-Size: $(du -sk "$PKG/usr" | cut -f1)
Description: local MCP gateway with a tray app
 Portcullis sits between your AI agents and the MCP servers they use: one
 endpoint on 127.0.0.1, tools held until you approve them, an activity log.
 This package holds the desktop app (tray, notifications, window) and the
 portcullis command line.
EOF

mkdir -p "$OUT"
DEB="$OUT/${NAME}_${VERSION}_${ARCH}.deb"
# gzip: a debug build packs in seconds; xz would take a minute for little gain.
dpkg-deb --root-owner-group -Zgzip --build "$PKG" "$DEB" >/dev/null
echo "package-deb: wrote $DEB ($(du -h "$DEB" | cut -f1))" >&2
echo "$DEB"
