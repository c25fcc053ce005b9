# shellcheck shell=bash
# tests/ui/lib.sh: shell helpers shared by the admit-scan Xvfb tests
# (test-admit-scan.sh, test-admit-scan-setup.sh); sourced, not run.
#   ui_init PREFIX     checks the tools (exit 77 when one is missing), sets
#                      B ctl admitd scan art tmp, the cleanup trap, fails;
#   fail / ok          count and print a check;
#   start_admitd       admitd on a free port on the database in "${db[@]}";
#                      sets port and C (its URL), or fails and exits;
#   post PATH JSON [BEARER]   a JSON POST to admitd;
#   app_env            the app's environment: its own XDG dirs, no D-Bus, the
#                      test state channel ($state), $settings, $gdb;
#   xvfb SCREEN FUNC   runs the scenario function under its own Xvfb;
#   wait_state, wait_verdicts, shot, colour: used inside the scenarios.
# Needs ADMIT_BUILDDIR, xvfb-run, xdotool, ImageMagick, curl, jq.

ui_init() {
    B=$ADMIT_BUILDDIR
    ctl="$B/server/admitctl"
    admitd="$B/server/admitd"
    scan="$B/ui/admit-scan"
    art="$B/meson-logs/ui"
    local t
    for t in xvfb-run xdotool import convert jq curl; do
        command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (scripts/bootstrap)"; exit 77; }
    done
    [ -x "$scan" ] || { echo "SKIP: admit-scan not built (-Dgui)"; exit 77; }
    mkdir -p "$art"
    tmp=$(mktemp -d "/tmp/$1.XXXXXX")
    pids=()
    trap ui_cleanup EXIT
    fails=0
}
ui_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${ADMIT_KEEP_TMP:-}" ] || rm -rf "$tmp"
}
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

start_admitd() {
    # shellcheck disable=SC2154 # db: the caller's database options
    "$admitd" --port 0 --access-log false --log-level warn "${db[@]}" >"$tmp/admitd.out" 2>"$tmp/admitd.err" &
    pids+=($!)
    for _ in $(seq 1 200); do grep -q 'listening on' "$tmp/admitd.out" && break; sleep 0.05; done
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/admitd.out")
    [ -n "$port" ] || { fail "admitd did not start: $(cat "$tmp/admitd.err")"; exit 1; }
    C="http://127.0.0.1:$port"
}
post() { curl -s -X POST -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} --data-binary "$2" "$C$1"; }

app_env() {
    export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    export GSK_RENDERER=cairo GTK_A11Y=none NO_AT_BRIDGE=1 GDK_BACKEND=x11
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$tmp/no-bus"
    export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
    export GST_REGISTRY="$tmp/gst-registry.bin"
    state="$tmp/state.jsonl"
    export ADMIT_SCAN_TEST_STATE="$state"
    settings="$XDG_CONFIG_HOME/admit-scan/settings.ini"
    gdb="$tmp/gate.db"
    export state art scan gdb settings tmp ctl
}

# Runs a scenario function under its own Xvfb: xvfb SCREEN FUNCTION
xvfb() {
    xvfb-run -a -s "-screen 0 $1x24 -nolisten tcp" bash -c "$(declare -f); $2" \
        >>"$tmp/xvfb.log" 2>&1
}
# helpers used inside the Xvfb scenarios
# wait_state SECONDS JQ-FILTER: until a line of the state channel matches
wait_state() {
    local deadline=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le "$deadline" ]; do
        [ -s "$state" ] && jq -c "select($2)" "$state" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}
# wait_verdicts SECONDS N: until the state channel holds N verdict lines
wait_verdicts() {
    local deadline=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le "$deadline" ]; do
        [ "$(jq -c 'select(.event == "verdict")' "$state" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# shot NAME: a screenshot of the whole screen in the artifacts
shot() { sleep 0.3; import -window root "$art/$1.png" 2>/dev/null; }
# colour NAME X Y W H: the mean colour of a region of a screenshot as "R G B"
colour() {
    convert "$art/$1.png" -crop "${4}x${5}+${2}+${3}" +repage -resize 1x1\! -depth 8 txt:- |
        sed -n 's/.*srgb(\([0-9]*\),\([0-9]*\),\([0-9]*\).*/\1 \2 \3/p;s/.*rgb(\([0-9]*\),\([0-9]*\),\([0-9]*\).*/\1 \2 \3/p' | head -1
}
export -f wait_state wait_verdicts shot colour
