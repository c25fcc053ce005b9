#!/bin/bash
# test-admit-scan-setup.sh: admit-scan's Setup page, keyboard only, under
# Xvfb against a real admitd (an event with two check-in lists: Main for the
# gates North and South, VIP for the gate VIP and only the VIP type):
#   1. the app starts not enrolled (fresh settings and gate store, no
#      camera); Ctrl+, opens Setup, the enrollment code (admitctl enroll
#      create --public-url) is typed after Alt+E and Alt+N ("Enroll this
#      device") enrolls: the state channel says enrolled, then online with
#      both lists;
#   2. in Setup, by keyboard: the check-in list VIP (Alt+L, the dropdown),
#      the gate VIP (Alt+G), Exit (Alt+D), Save settings (Alt+S): the settings
#      file holds the list, the gate and direction=exit;
#   3. a keyboard wedge (xdotool type + Enter) scans a VIP ticket that has not
#      entered: NOT INSIDE, amber; Setup again, Entry, saved: the same ticket
#      is ADMITted, green (screenshots checked with tools/dominant-colour.sh);
#      a GA ticket is WRONG ENTRANCE on the VIP list;
#   4. Sync now (Alt+Y): "Synced", and admitd has the device's scans
#      (admitctl checkin list).
# Screenshots go to $ADMIT_BUILDDIR/meson-logs/ui/setup-*. Needs
# ADMIT_BUILDDIR, xvfb-run, xdotool, ImageMagick, curl, jq; helpers in lib.sh.
set -u
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tests/ui/lib.sh
. "$here/lib.sh"
ui_init admit-scan-setup
dominant="$here/tools/dominant-colour.sh"

# ---- the server: an event, types GA and VIP, lists Main and VIP, a ticket of each
db=(--sqlite "$tmp/central.db")
printf 'organiser-secret\n' >"$tmp/org.pw"
printf 'customer-secret\n' >"$tmp/cust.pw"
now=$(date +%s)
"$ctl" init "${db[@]}" --organiser org@test.example --password-file "$tmp/org.pw" >/dev/null &&
    "$ctl" user add "${db[@]}" --email ana@test.example --password-file "$tmp/cust.pw" >/dev/null &&
    venue=$("$ctl" venue add "${db[@]}" --name Arena --city Kuching --capacity 900) &&
    event=$("$ctl" event add "${db[@]}" --venue "$venue" --title "Setup Night" \
        --start $((now - 600)) --end $((now + 86400)) --on-sale) &&
    ga=$("$ctl" type add "${db[@]}" --event "$event" --name GA --price 0 --currency MYR \
        --capacity 100 --per-order 20) &&
    vip=$("$ctl" type add "${db[@]}" --event "$event" --name VIP --price 0 --currency MYR \
        --capacity 10 --per-order 5) &&
    main_list=$("$ctl" checkin-list add "${db[@]}" --event "$event" --name Main --reentry once \
        --gates North,South | jq -r .id) &&
    vip_list=$("$ctl" checkin-list add "${db[@]}" --event "$event" --name VIP --reentry once \
        --types "$vip" --gates VIP | jq -r .id) || { fail "admitctl setup"; exit 1; }
start_admitd
tok=$(post /v1/sessions '{"email":"ana@test.example","password":"customer-secret"}' | jq -r .token)
token_of() { # TYPE: one paid ticket's token
    local hold order
    hold=$(post /v1/holds "{\"ticket_type_id\":$1,\"quantity\":1}" "$tok" | jq -r .id)
    order=$(post /v1/orders "{\"hold_ids\":[\"$hold\"]}" "$tok" | jq -r .id)
    post "/v1/orders/$order/pay" '{"provider":"free"}' "$tok" | jq -r '.tickets[0].token'
}
TV=$(token_of "$vip")
TG=$(token_of "$ga")
[ -n "$TV" ] && [ "$TV" != null ] && [ -n "$TG" ] && [ "$TG" != null ] ||
    { fail "no tickets sold"; exit 1; }
ok "server up on $C with event $event, lists Main ($main_list) and VIP ($vip_list)"
uri=$("$ctl" enroll create "${db[@]}" --event "$event" --gate North --public-url "$C" | jq -r .enroll_uri)
[ -n "$uri" ] && [ "$uri" != null ] || { fail "no enrollment uri"; exit 1; }

app_env
export uri TV TG
: >"$state"
[ ! -e "$settings" ] || { fail "settings file exists before the first start"; exit 1; }

# The scenario echoes "S <step>" lines, checked below; keys only, no clicks
# (without a window manager the focus follows the pointer, so it rests on
# the window).
# popups N: until admit-scan has N visible X windows (2: a dropdown's popup is open)
popups() {
    for _ in $(seq 1 50); do
        [ "$(xdotool search --onlyvisible --class admit-scan 2>/dev/null | wc -l)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
# pick MNEMONIC KEY...: opens a dropdown by its label's mnemonic, moves with
# the keys, Return takes the row
pick() {
    local m=$1; shift
    xdotool key "$m"
    popups 2 || return 1
    sleep 0.2
    for k in "$@"; do xdotool key "$k"; sleep 0.1; done
    xdotool key Return
    popups 1
}
scenario() {
    "$scan" --db "$gdb" --insecure-http >"$tmp/app.log" 2>&1 &
    p=$!
    wait_state 20 '.event == "status" and .enrolled == false' && echo "S not enrolled"
    xdotool mousemove 240 300
    sleep 0.5
    xdotool key ctrl+comma
    wait_state 10 '.event == "view" and .view == "setup"' && echo "S setup opened"
    sleep 0.3
    xdotool key alt+e
    xdotool type --delay 2 "$uri"
    xdotool key alt+n
    wait_state 20 '.event == "enrolled" and .ok' && echo "S enrolled"
    wait_state 20 '.event == "status" and .enrolled and .link == "online" and .lists >= 2' &&
        echo "S online"
    shot setup-1-enrolled
    # the list: Alt+L opens the dropdown's popup on the selected row
    # (Automatic, Main, VIP): Down Down Return picks VIP
    sleep 0.3
    pick alt+l Down Down && echo "S list picked"
    xdotool key alt+g ctrl+a
    xdotool type --delay 2 VIP
    pick alt+d Down && echo "S exit picked"
    shot setup-2-exit
    xdotool key alt+s
    wait_state 10 '.event == "status" and .exit_mode and .gate == "VIP" and .list_name == "VIP"' &&
        echo "S saved exit"
    sleep 0.3
    cp "$settings" "$tmp/settings-exit.ini" 2>/dev/null
    # back to scanning; the wedge: a VIP ticket that never entered
    xdotool key Escape
    wait_state 10 '.event == "view" and .view == "scan"' && echo "S back to scan"
    sleep 0.3
    xdotool type --delay 2 "$TV"; xdotool key Return
    wait_verdicts 20 1 && { shot setup-3-not-inside; echo "S verdict 1"; }
    xdotool key Escape
    # Entry again through Setup
    xdotool key ctrl+comma
    wait_state 10 '.event == "view" and .view == "setup" and .exit_mode' && sleep 0.3
    pick alt+d Up && echo "S entry picked"
    xdotool key alt+s
    wait_state 10 '.event == "status" and .exit_mode == false and .gate == "VIP"' && echo "S saved entry"
    sleep 0.3
    cp "$settings" "$tmp/settings-entry.ini" 2>/dev/null
    xdotool key Escape
    sleep 0.3
    xdotool type --delay 2 "$TV"; xdotool key Return
    wait_verdicts 20 2 && { shot setup-4-admit; echo "S verdict 2"; }
    xdotool key Escape; sleep 0.3
    xdotool type --delay 2 "$TG"; xdotool key Return
    wait_verdicts 20 3 && echo "S verdict 3"
    xdotool key Escape
    # Sync now
    xdotool key ctrl+comma
    wait_state 10 '.event == "view" and .view == "setup" and .admitted == 1' && sleep 0.3
    xdotool key alt+y
    wait_state 20 '.event == "notice" and (.message | startswith("Synced"))' && echo "S synced"
    shot setup-5-synced
    kill "$p"; wait "$p" 2>/dev/null
}
export -f scenario
xvfb 1280x1024 scenario
cp "$state" "$art/setup-state.jsonl"
step() { grep -q "^S $1\$" "$tmp/xvfb.log"; }
step "not enrolled" && ok "starts not enrolled" || fail "not 'not enrolled' at start: $(head -2 "$state")"
step "setup opened" && ok "Ctrl+, opens Setup" || fail "Ctrl+, did not open Setup"
step enrolled && ok "enrolled by typing the code in Setup and Alt+N" ||
    fail "enrollment: $(jq -c 'select(.event == "enrolled" or .event == "notice")' "$state" | tail -2)"
step online && ok "online with the event's two lists" ||
    fail "never online with 2 lists: $(jq -c 'select(.event == "status")' "$state" | tail -1)"
for d in "list picked" "exit picked" "entry picked"; do
    step "$d" && ok "dropdown by keyboard: $d" || fail "dropdown by keyboard: not $d"
done
step "saved exit" && ok "list VIP, gate VIP, Exit saved with the keyboard" ||
    fail "Setup by keyboard: $(jq -c 'select(.event == "status")' "$state" | tail -1)"
ini() { sed -n "s/^$2=//p" "$1" 2>/dev/null; }
s="$tmp/settings-exit.ini"
[ "$(ini "$s" list_id)/$(ini "$s" gate)/$(ini "$s" direction)" = "$vip_list/VIP/exit" ] &&
    ok "settings file: list_id=$vip_list gate=VIP direction=exit" ||
    fail "settings after the first save: $(tr '\n' ' ' <"$s" 2>/dev/null)"
s="$tmp/settings-entry.ini"
[ "$(ini "$s" list_id)/$(ini "$s" gate)/$(ini "$s" direction)" = "$vip_list/VIP/entry" ] &&
    ok "settings file after Entry: direction=entry" ||
    fail "settings after the second save: $(tr '\n' ' ' <"$s" 2>/dev/null)"
jq -c 'select(.event == "verdict")' "$state" >"$tmp/verdicts"
v() { sed -n "${1}p" "$tmp/verdicts" | jq -r "$2"; }
[ "$(v 1 .verdict)/$(v 1 .class)/$(v 1 .title)/$(v 1 .input)" = "not_inside/attention/NOT INSIDE/keyboard" ] &&
    ok "exit of a ticket not inside: NOT INSIDE (amber class)" || fail "first verdict: $(sed -n 1p "$tmp/verdicts")"
[ "$(v 2 .verdict)/$(v 2 .class)/$(v 2 .title)/$(v 2 .type)" = "accept/admit/ADMIT/VIP" ] &&
    ok "entry of the same ticket: ADMIT" || fail "second verdict: $(sed -n 2p "$tmp/verdicts")"
[ "$(v 3 .class)/$(v 3 .title)" = "refuse/WRONG ENTRANCE" ] &&
    ok "a GA ticket on the VIP list: WRONG ENTRANCE" || fail "third verdict: $(sed -n 3p "$tmp/verdicts")"
# the verdict area (window at 0,0, 480x800: a band below the header)
check_colour() { # NAME EXPECT
    local got
    got=$("$dominant" "$art/$1.png" 30 70 400 60 2>&1)
    [ "${got#* }" = "$2" ] && ok "$1: verdict area is $2 ($got)" || fail "$1: verdict area is '$got', expected $2"
}
check_colour setup-3-not-inside amber
check_colour setup-4-admit green
step synced && ok "Sync now: $(jq -r 'select(.event == "notice") | .message' "$state" | grep Synced | tail -1)" ||
    fail "Sync now: $(jq -c 'select(.event == "notice")' "$state" | tail -2)"
dev=$(jq -r 'select(.event == "enrolled") | .message' "$state" | sed -n 's/^Enrolled as \(dv_[0-9a-z]*\) .*/\1/p' | head -1)
"$ctl" checkin list "${db[@]}" --event "$event" >"$tmp/checkins.jsonl" 2>"$tmp/checkins.err"
got=$(jq -r "select(.device == \"$dev\" and .list_id == $vip_list and .gate == \"VIP\") | .direction + \"/\" + .verdict" \
    "$tmp/checkins.jsonl" 2>/dev/null | tr '\n' ' ')
[ -n "$dev" ] && [ "$got" = "exit/not_inside entry/accept entry/wrong_gate " ] &&
    ok "admitd has the device's 3 scans at gate VIP on list VIP ($got)" ||
    fail "admitd's scans of device '$dev' at VIP: '$got' $(head -c 600 "$tmp/checkins.jsonl") $(cat "$tmp/checkins.err")"
pending=$(jq -s '[.[] | select(.event == "status")] | last | .pending' "$state")
[ "$pending" = 0 ] && ok "nothing left to upload" || fail "$pending scans still waiting to upload"

if [ "$fails" -gt 0 ]; then
    echo "--- xvfb log"; tail -20 "$tmp/xvfb.log"
    echo "--- app log"; grep -v "^$" "$tmp/app.log" | tail -40
fi
echo "screenshots in $art"
[ "$fails" = 0 ]
