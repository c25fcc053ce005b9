#!/bin/bash
# test-dominant-colour.sh: tests dominant-colour.sh on images made with
# ImageMagick: solid verdict colours (GNOME palette and plain ones), greys,
# regions of a two-colour image, transparency, and its errors. Skips (77)
# without ImageMagick (scripts/bootstrap installs it).
set -u
dc="$(dirname "$0")/dominant-colour.sh"
command -v convert >/dev/null && command -v identify >/dev/null ||
    { echo "SKIP: ImageMagick is not installed (scripts/bootstrap)"; exit 77; }
tmp=$(mktemp -d /tmp/admit-colour-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME WANT CMD... (WANT: the exact output, or "exit N")
    local name=$1 want=$2 got rc; shift 2
    got=$("$@" 2>"$tmp/err"); rc=$?
    if [[ $want == exit* ]]; then
        [ "$rc" = "${want#exit }" ] && { echo "ok   $name"; return; }
    elif [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
        echo "ok   $name"; return
    fi
    echo "FAIL $name: got '$got' (exit $rc), expected '$want'"; sed 's/^/  err: /' "$tmp/err"
    fails=$((fails + 1))
}
solid() { convert -size 64x48 "xc:$1" "$tmp/$2.png"; }

# solid colours: the exact average and its class
solid '#26a269' gnome-green;  check "GNOME green"  "#26a269 green" "$dc" "$tmp/gnome-green.png"
solid '#2e7d32' dark-green;   check "dark green"   "#2e7d32 green" "$dc" "$tmp/dark-green.png"
solid '#00ff00' lime;         check "pure green"   "#00ff00 green" "$dc" "$tmp/lime.png"
solid '#c01c28' gnome-red;    check "GNOME red"    "#c01c28 red"   "$dc" "$tmp/gnome-red.png"
solid '#ff0000' red;          check "pure red"     "#ff0000 red"   "$dc" "$tmp/red.png"
solid '#e01b24' red2;         check "bright red"   "#e01b24 red"   "$dc" "$tmp/red2.png"
solid '#e5a50a' gnome-amber;  check "GNOME amber"  "#e5a50a amber" "$dc" "$tmp/gnome-amber.png"
solid '#ffbf00' amber;        check "amber"        "#ffbf00 amber" "$dc" "$tmp/amber.png"
solid '#ff9800' orange;       check "orange"       "#ff9800 amber" "$dc" "$tmp/orange.png"
solid '#ffffff' white;        check "white"        "#ffffff other" "$dc" "$tmp/white.png"
solid '#808080' grey;         check "grey"         "#808080 other" "$dc" "$tmp/grey.png"
solid '#000000' black;        check "black"        "#000000 other" "$dc" "$tmp/black.png"
solid '#1c71d8' blue;         check "blue"         "#1c71d8 other" "$dc" "$tmp/blue.png"
solid '#203020' dim-green;    check "too dark to be a verdict" "#203020 other" "$dc" "$tmp/dim-green.png"
solid '#b0c0b0' pale-green;   check "too pale to be a verdict" "#b0c0b0 other" "$dc" "$tmp/pale-green.png"

# regions: left half red, right half green, a white bar with black text-like lines on top
convert -size 200x100 'xc:#c01c28' -fill '#26a269' -draw 'rectangle 100,0 199,99' "$tmp/split.png"
check "left region"  "#c01c28 red"   "$dc" "$tmp/split.png" 0 0 100 100
check "right region" "#26a269 green" "$dc" "$tmp/split.png" 100 0 100 100
check "one pixel"    "#26a269 green" "$dc" "$tmp/split.png" 150 50 1 1
check "whole image: the average (brown: no verdict)" "#735f48 other" "$dc" "$tmp/split.png"
convert -size 200x100 'xc:#26a269' -fill white -draw 'rectangle 0,0 199,19' \
    -fill black -draw 'rectangle 10,5 150,12' "$tmp/verdict.png"
check "verdict area below a title bar" "#26a269 green" "$dc" "$tmp/verdict.png" 0 20 200 80
out=$("$dc" "$tmp/verdict.png")
[[ $out == *green ]] && echo "ok   mostly green overall: $out" || { echo "FAIL mostly green: $out"; fails=$((fails + 1)); }

# transparency counts as white; a JPEG works too
convert -size 50x50 xc:none "$tmp/clear.png"
check "transparent is white" "#ffffff other" "$dc" "$tmp/clear.png"
convert -size 50x50 'xc:#c01c28' -quality 95 "$tmp/red.jpg"
out=$("$dc" "$tmp/red.jpg")
[[ $out == *" red" ]] && echo "ok   JPEG: $out" || { echo "FAIL JPEG: $out"; fails=$((fails + 1)); }

# errors
check "no arguments" "exit 2" "$dc"
check "three arguments" "exit 2" "$dc" "$tmp/red.png" 1 2
check "negative region" "exit 2" "$dc" "$tmp/red.png" -1 0 10 10
check "not a number" "exit 2" "$dc" "$tmp/red.png" 0 0 ten 10
check "empty region" "exit 1" "$dc" "$tmp/red.png" 0 0 0 10
check "region past the edge" "exit 1" "$dc" "$tmp/red.png" 60 0 10 10
check "missing image" "exit 1" "$dc" "$tmp/none.png"
echo "not an image" >"$tmp/text.png"
check "not an image" "exit 1" "$dc" "$tmp/text.png"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all passed"
