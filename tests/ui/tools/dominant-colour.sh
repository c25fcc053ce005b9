#!/bin/bash
# dominant-colour.sh IMAGE [X Y W H]: the average colour of an image, or of
# the region W x H at (X, Y), as "#rrggbb CLASS", CLASS one of green, red,
# amber (admit-scan's verdict colours: admit, refuse, attention) or other
# (greys, blues, browns, dark or washed-out colours: a verdict colour needs
# a saturation of at least 45% and a value of at least 25%; hues: red below
# 20 or from 340 degrees, amber 20..70, green 85..170). For the UI tests'
# screenshot checks; uses ImageMagick (convert, identify). Exit 1 when the image cannot
# be read or the region is not inside it, 2 for a usage error.
set -u
usage() { echo "usage: dominant-colour.sh IMAGE [X Y W H]" >&2; exit 2; }
[ $# -eq 1 ] || [ $# -eq 5 ] || usage
img=$1
uint() { [[ $1 =~ ^[0-9]{1,6}$ ]]; }

size=$(identify -format '%w %h\n' "$img" 2>/dev/null | head -n 1) && [ -n "$size" ] ||
    { echo "dominant-colour.sh: cannot read $img" >&2; exit 1; }
read -r iw ih <<<"$size"
crop=()
if [ $# -eq 5 ]; then
    x=$2 y=$3 w=$4 h=$5
    for v in "$x" "$y" "$w" "$h"; do uint "$v" || usage; done
    if [ "$w" -eq 0 ] || [ "$h" -eq 0 ] || [ $((x + w)) -gt "$iw" ] || [ $((y + h)) -gt "$ih" ]; then
        echo "dominant-colour.sh: region ${w}x${h}+${x}+${y} is not inside the ${iw}x${ih} image" >&2
        exit 1
    fi
    crop=(-crop "${w}x${h}+${x}+${y}" +repage)
fi
# the first frame, transparency on white, averaged down to one pixel
hex=$(convert "${img}[0]" "${crop[@]}" -background white -alpha remove -alpha off \
      -colorspace sRGB -scale '1x1!' -depth 8 -format '%[hex:u.p{0,0}]' info: 2>/dev/null) ||
    { echo "dominant-colour.sh: cannot read $img" >&2; exit 1; }
hex=$(tr 'A-F' 'a-f' <<<"${hex:0:6}")
[[ $hex =~ ^[0-9a-f]{6}$ ]] || { echo "dominant-colour.sh: unexpected colour '$hex'" >&2; exit 1; }

# class by hue, for colours saturated and bright enough to be a verdict
awk -v r=$((16#${hex:0:2})) -v g=$((16#${hex:2:2})) -v b=$((16#${hex:4:2})) -v hex="$hex" 'BEGIN {
    max = r; if (g > max) max = g; if (b > max) max = b
    min = r; if (g < min) min = g; if (b < min) min = b
    d = max - min; cls = "other"
    if (max >= 64 && d / max >= 0.45) {
        if (max == r) h = 60 * (g - b) / d; else if (max == g) h = 60 * (b - r) / d + 120; else h = 60 * (r - g) / d + 240
        if (h < 0) h += 360
        if (h < 20 || h >= 340) cls = "red"
        else if (h < 70) cls = "amber"
        else if (h >= 85 && h < 170) cls = "green"
    }
    printf "#%s %s\n", hex, cls
}'
