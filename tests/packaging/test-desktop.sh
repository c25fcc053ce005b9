#!/bin/bash
# test-desktop.sh: admit-scan's packaging files (packaging/): the desktop
# entry passes desktop-file-validate, the AppStream metainfo passes
# appstreamcli validate --no-net, they agree with each other (id, launchable,
# icon, binary), and the icon is a well-formed SVG. Not the installed layout
# (meson install) nor the app itself (tests/ui). Skips (77) without the tools
# (scripts/bootstrap installs desktop-file-utils and appstream).
set -u
pkg="$ADMIT_SRCDIR/packaging"
desktop="$pkg/org.admit.Scan.desktop"
metainfo="$pkg/org.admit.Scan.metainfo.xml"
icon="$pkg/org.admit.Scan.svg"
fails=0

for tool in desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/bootstrap)"; exit 77; }
done
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

if out=$(desktop-file-validate "$desktop" 2>&1) && [ -z "$out" ]; then
    ok "desktop-file-validate"
else
    fail "desktop-file-validate: $out"
fi
if out=$(appstreamcli validate --no-net --no-color "$metainfo" 2>&1); then
    ok "appstreamcli validate --no-net"
else
    fail "appstreamcli validate: $out"
fi
# warnings are failures too (appstreamcli passes with warnings); pedantic notes are fine
if grep -q '^W:' <<<"$out"; then fail "appstreamcli warnings: $out"; else ok "no AppStream warnings"; fi

key() { sed -n "s/^$1=//p" "$desktop"; }
[ "$(key Exec)" = admit-scan ] && ok "Exec=admit-scan" || fail "Exec is '$(key Exec)'"
[ "$(key Icon)" = org.admit.Scan ] && ok "Icon=org.admit.Scan" || fail "Icon is '$(key Icon)'"
[ "$(key Type)" = Application ] && ok "Type=Application" || fail "Type is '$(key Type)'"
grep -q '^Keywords=.*ticket' "$desktop" && ok "Keywords" || fail "no Keywords"
grep -q '<id>org.admit.Scan</id>' "$metainfo" && ok "metainfo id" || fail "metainfo id"
grep -q '<launchable type="desktop-id">org.admit.Scan.desktop</launchable>' "$metainfo" &&
    ok "launchable names the desktop file" || fail "launchable"
grep -q '<binary>admit-scan</binary>' "$metainfo" && ok "provides admit-scan" || fail "provides binary"
grep -q '<release version="0.1.0" date="[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]"' "$metainfo" &&
    ok "release 0.1.0 with a date" || fail "release 0.1.0"
grep -q "version : '0.1.0'" "$ADMIT_SRCDIR/meson.build" && ok "release matches the project version" ||
    fail "the project version is not the release's"
grep -q '<metadata_license>CC0-1.0</metadata_license>' "$metainfo" && ok "metadata_license" || fail "metadata_license"
license=$(sed -n "s/^ *license : '\(.*\)',/\1/p" "$ADMIT_SRCDIR/meson.build")
grep -q "<project_license>$license</project_license>" "$metainfo" && ok "project_license $license" ||
    fail "project_license is not the project's ($license)"
grep -q '<content_rating type="oars-1.1"' "$metainfo" && ok "content_rating" || fail "content_rating"

# the icon: XML with an <svg> root and a square viewBox
if command -v xmllint >/dev/null; then
    xmllint --noout "$icon" "$metainfo" && ok "icon and metainfo are well-formed XML" || fail "xmllint"
elif command -v python3 >/dev/null; then
    python3 -c 'import sys, xml.dom.minidom as m; [m.parse(f) for f in sys.argv[1:]]' "$icon" "$metainfo" &&
        ok "icon and metainfo are well-formed XML" || fail "XML parse"
fi
grep -q '<svg[^>]*viewBox="0 0 128 128"' "$icon" && ok "icon viewBox" || fail "icon viewBox"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all passed"
