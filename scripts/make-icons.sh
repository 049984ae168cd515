#!/usr/bin/env bash
# Draws the desktop app's icons into src-tauri/icons/ with ImageMagick (Debian's
# imagemagick package, which scripts/setup.sh installs). The PNGs are committed;
# run this again only to change the drawing.
#
#   icon.png (512), 32x32.png, 64x64.png, 128x128.png, 128x128@2x.png   app icon (window, bundles)
#   icon.ico                                                           Windows bundles
#   tray.png, tray@2x.png                                              tray, nothing waiting
#   tray-pending.png, tray-pending@2x.png                              tray, approvals waiting (amber badge)
#
# Every file is 8-bit RGBA: Tauri refuses icons without an alpha channel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/src-tauri/icons"
CONVERT=/usr/bin/convert
[ -x "$CONVERT" ] || { echo "make-icons: $CONVERT not found: apt-get install imagemagick" >&2; exit 1; }
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

NAVY='#1f2a44'
STEEL='#dfe6f0'
AMBER='#f5a623'

# The gate on a 512 canvas: a rounded navy tile, a stone arch, and the
# portcullis grille (five bars ending in spikes, three cross bars).
draw_gate() {
    local out="$1"
    local bars=() x
    for x in 136 196 256 316 376; do
        bars+=(-draw "rectangle $((x - 11)),120 $((x + 11)),380"
            -draw "polygon $((x - 11)),380 $((x + 11)),380 $x,420")
    done
    "$CONVERT" -size 512x512 xc:none \
        -fill "$NAVY" -draw "roundrectangle 16,16 496,496 96,96" \
        -fill none -stroke "$STEEL" -strokewidth 26 \
        -draw "line 96,220 96,440" -draw "line 416,220 416,440" -draw "arc 96,60 416,380 180,360" \
        -stroke none -fill "$STEEL" "${bars[@]}" \
        -draw "rectangle 120,170 392,188" \
        -draw "rectangle 112,250 400,268" \
        -draw "rectangle 112,330 400,348" \
        -define png:color-type=6 "PNG32:$out"
}

# The same tile with an amber badge in the top right corner: approvals wait.
draw_pending() {
    local base="$1" out="$2"
    "$CONVERT" "$base" \
        -fill "$NAVY" -draw "circle 400,112 400,4" \
        -fill "$AMBER" -draw "circle 400,112 400,20" \
        -fill "$NAVY" -draw "roundrectangle 390,52 410,132 8,8" -draw "circle 400,158 400,146" \
        -define png:color-type=6 "PNG32:$out"
}

resize() {
    "$CONVERT" "$1" -filter Lanczos -resize "$2x$2" -define png:color-type=6 "PNG32:$3"
}

draw_gate "$TMP/gate.png"
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
"$CONVERT" "$TMP/gate.png" -define icon:auto-resize=256,128,64,48,32,16 "$OUT/icon.ico"

echo "make-icons: wrote $(ls "$OUT" | wc -l) files to ${OUT#"$ROOT"/}" >&2
