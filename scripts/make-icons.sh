#!/usr/bin/env bash
# Draws the desktop app's icons into icons/ (at the top of the repo) from the web
# UI's logo (ui/img/logo.svg), so the window, the tray, the pages and the
# installed package share one mark. src-tauri reads them from there and
# scripts/package-deb.sh installs the hicolor sizes.
# Needs rsvg-convert and ImageMagick (Debian: librsvg2-bin imagemagick); the PNGs
# are committed, so builds and tests never run this: run it again only when the
# logo changes.
#
#   icon.png (512), 32x32.png, 64x64.png, 128x128.png, 128x128@2x.png   app icon (window, bundles)
#   icon.ico                                                           Windows bundles
#   hicolor/<N>x<N>.png, N in 16 24 32 48 64 128 256 512               the package's icon theme sizes
#   tray.png, tray@2x.png                                              tray, nothing waiting
#   tray-pending.png, tray-pending@2x.png                              tray, approvals waiting (amber badge)
#
# Every file is 8-bit RGBA: Tauri refuses icons without an alpha channel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/icons"
LOGO="$ROOT/ui/img/logo.svg"
CONVERT=/usr/bin/convert
for tool in "$CONVERT" /usr/bin/rsvg-convert; do
    [ -x "$tool" ] || { echo "make-icons: $tool not found: apt-get install librsvg2-bin imagemagick" >&2; exit 1; }
done
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

BACK='#1f2a44'
AMBER='#f5a623'

# The same tile with an amber badge in the top right corner: approvals wait.
draw_pending() {
    local base="$1" out="$2"
    "$CONVERT" "$base" \
        -fill "$BACK" -draw "circle 400,112 400,4" \
        -fill "$AMBER" -draw "circle 400,112 400,20" \
        -fill "$BACK" -draw "roundrectangle 390,52 410,132 8,8" -draw "circle 400,158 400,146" \
        -define png:color-type=6 "PNG32:$out"
}

resize() {
    "$CONVERT" "$1" -filter Lanczos -resize "$2x$2" -define png:color-type=6 "PNG32:$3"
}

/usr/bin/rsvg-convert --width 512 --height 512 "$LOGO" -o "$TMP/logo.png"
"$CONVERT" "$TMP/logo.png" -define png:color-type=6 "PNG32:$TMP/gate.png"
draw_pending "$TMP/gate.png" "$TMP/pending.png"

cp "$TMP/gate.png" "$OUT/icon.png"
resize "$TMP/gate.png" 32 "$OUT/32x32.png"
resize "$TMP/gate.png" 64 "$OUT/64x64.png"
resize "$TMP/gate.png" 128 "$OUT/128x128.png"
resize "$TMP/gate.png" 256 "$OUT/128x128@2x.png"
resize "$TMP/gate.png" 32 "$OUT/tray.png"
resize "$TMP/gate.png" 64 "$OUT/tray@2x.png"
resize "$TMP/pending.png" 32 "$OUT/tray-pending.png"
resize "$TMP/pending.png" 64 "$OUT/tray-pending@2x.png"
mkdir -p "$OUT/hicolor"
for n in 16 24 32 48 64 128 256 512; do
    # Drawn from the vector at each size: sharper small sizes than a resize.
    /usr/bin/rsvg-convert --width "$n" --height "$n" "$LOGO" -o "$TMP/h$n.png"
    "$CONVERT" "$TMP/h$n.png" -define png:color-type=6 "PNG32:$OUT/hicolor/${n}x${n}.png"
done
"$CONVERT" "$TMP/gate.png" -define icon:auto-resize=256,128,64,48,32,16 "$OUT/icon.ico"

echo "make-icons: wrote $(find "$OUT" -type f | wc -l) files to ${OUT#"$ROOT"/}" >&2
