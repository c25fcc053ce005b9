#!/bin/bash
# test-admit-scan.sh: admit-scan under Xvfb against a real admitd (SQLite,
# set up with admitctl like tests/e2e/test-sync.sh):
#   1. 480x800: enroll with --enroll URI (the state channel says enrolled,
#      the status goes online);
#   2. 480x800: the image-folder camera plays ticket QR images: ADMIT, then
#      ALREADY USED for the same ticket, then a refusal for a forged one
#      (screenshots; dominant colour of the verdict area: green, red, red);
#      a keyboard wedge (xdotool type + Enter) admits a second ticket through
#      the same path; the scans reach the server;
#   3. 1920x1080 kiosk: fullscreen, undecorated; Ctrl+Q asks for the PIN, a
#      wrong PIN keeps the kiosk; after kill -9 it starts in kiosk mode again;
#      the right PIN unlocks it and the setting is cleared.
# Screenshots go to $ADMIT_BUILDDIR/meson-logs/ui/. Needs ADMIT_BUILDDIR,
# xvfb-run, xdotool, ImageMagick (import, convert), curl, jq; helpers in lib.sh.
set -u
# shellcheck source=tests/ui/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ui_init admit-scan-ui

# ---- the server: an event, a GA type, list Main at North, two tickets sold
db=(--sqlite "$tmp/central.db")
printf 'organiser-secret\n' >"$tmp/org.pw"
printf 'customer-secret\n' >"$tmp/cust.pw"
now=$(date +%s)
"$ctl" init "${db[@]}" --organiser org@test.example --password-file "$tmp/org.pw" >/dev/null &&
    "$ctl" user add "${db[@]}" --email ana@test.example --password-file "$tmp/cust.pw" >/dev/null &&
    venue=$("$ctl" venue add "${db[@]}" --name Arena --city Kuching --capacity 900) &&
    event=$("$ctl" event add "${db[@]}" --venue "$venue" --title "Scan Night" \
        --start $((now - 600)) --end $((now + 86400)) --on-sale) &&
    type_id=$("$ctl" type add "${db[@]}" --event "$event" --name GA --price 0 --currency MYR \
        --capacity 100 --per-order 20) &&
    list=$("$ctl" checkin-list add "${db[@]}" --event "$event" --name Main --reentry once \
        --gates North | jq -r .id) || { fail "admitctl setup"; exit 1; }
start_admitd
tok=$(post /v1/sessions '{"email":"ana@test.example","password":"customer-secret"}' | jq -r .token)
hold=$(post /v1/holds "{\"ticket_type_id\":$type_id,\"quantity\":2}" "$tok" | jq -r .id)
post /v1/orders "{\"hold_ids\":[\"$hold\"]}" "$tok" >"$tmp/order.json"
order=$(jq -r .id "$tmp/order.json")
export ocode=$(jq -r .code "$tmp/order.json")
mapfile -t T < <(post "/v1/orders/$order/pay" '{"provider":"free"}' "$tok" | jq -r '.tickets[].token')
[ "${#T[@]}" = 2 ] || { fail "no tickets sold"; exit 1; }
ok "server up on $C with event $event, list $list, tickets sold"
"$ctl" keygen --dir "$tmp/fkeys" >/dev/null
forged=$("$ctl" issue --key "$tmp/fkeys" --event "$event" --type "$type_id" --ticket 77)

# ---- camera frames: blank, T0, gap, T0 again, gap, the forgery, gap (0.5 s each)
frames="$tmp/frames"
mkdir -p "$frames"
convert -size 300x300 xc:white "$frames/blank.png"
n=0
frame() { n=$((n + 1)); local f; f=$(printf '%s/%02d.png' "$frames" $n)
    if [ "$1" = blank ]; then cp "$frames/blank.png" "$f"; else "$ctl" qr "$1" --png "$f" >/dev/null; fi; }
frame blank; frame "${T[0]}"; frame blank; frame blank; frame blank
frame "${T[0]}"; frame blank; frame blank; frame blank; frame "$forged"; frame blank; frame blank
rm "$frames/blank.png"

# ---- the app's environment: its own XDG dirs, the test state channel
app_env

# ---- 1. enrollment through --enroll (480x800)
uri=$("$ctl" enroll create "${db[@]}" --event "$event" --gate North --public-url "$C" | jq -r .enroll_uri)
export uri
scenario1() {
    "$scan" --db "$gdb" --enroll "$uri" --insecure-http >"$tmp/app1.log" 2>&1 &
    p=$!
    wait_state 20 '.event == "enrolled" and .ok' && echo "S1 enrolled"
    wait_state 20 '.event == "status" and .link == "online" and .event_id > 0' && echo "S1 online"
    xdotool search --name admit-scan >/dev/null 2>&1 && echo "S1 window"
    shot 1-enrolled
    kill "$p"; wait "$p" 2>/dev/null
}
export -f scenario1
: >"$state"
xvfb 1280x1024 scenario1
grep -q "^S1 enrolled" "$tmp/xvfb.log" && ok "enrolled with --enroll" || fail "enrollment: $(grep -h . "$state" | tail -3) $(tail -5 "$tmp/app1.log")"
grep -q "^S1 online" "$tmp/xvfb.log" && ok "status bar online after the first sync" || fail "never online: $(tail -2 "$state")"
cp "$state" "$art/state-1.jsonl"

# ---- 2. the camera plays the tickets; a keyboard wedge (480x800)
mkdir -p "$(dirname "$settings")"
cat >"$settings.new" <<INI
[scan]
db=$gdb
verdict_delay_ms=1500
repeat_ms=1000
muted=false
INI
mv "$settings.new" "$settings"
export T1="${T[1]}"
export spec="folder:$frames?fps=10&hold=5"
scenario2() {
    "$scan" --camera "$spec" >"$tmp/app2.log" 2>&1 &
    p=$!
    i=0
    for want in admit refuse refuse; do
        i=$((i + 1))
        # the i-th verdict line ($want is checked on the state file afterwards)
        if timeout 30 bash -c "until [ \$(jq -c 'select(.event == \"verdict\")' '$state' | wc -l) -ge $i ]; do sleep 0.05; done"; then
            shot "2-verdict-$i"; echo "S2 shot $i"
        fi
    done
    # keyboard wedge: the window has the pointer (no window manager: focus follows it)
    wait_state 10 '.event == "view" and .view == "scan"'
    xdotool mousemove 240 300
    sleep 0.3
    xdotool type --delay 2 "$T1"
    xdotool key Return
    timeout 20 bash -c "until [ \$(jq -c 'select(.event == \"verdict\")' '$state' | wc -l) -ge 4 ]; do sleep 0.05; done" &&
        { shot 2-verdict-wedge; echo "S2 wedge"; }
    # search by order code (online): Ctrl+F, the code, Alt+S (the Search button)
    wait_state 10 '.event == "view" and .view == "scan"'
    sleep 1.6
    xdotool key ctrl+f
    xdotool type --delay 2 "$ocode"
    xdotool key alt+s
    wait_state 15 '.event == "search" and (.body | test("From the server"))' && { shot 2-search; echo "S2 search"; }
    kill "$p"; wait "$p" 2>/dev/null
}
export -f scenario2
: >"$state"
xvfb 1280x1024 scenario2
cp "$state" "$art/state-2.jsonl"
jq -c 'select(.event == "verdict")' "$state" >"$tmp/verdicts"
v() { sed -n "${1}p" "$tmp/verdicts" | jq -r "$2"; }
[ "$(v 1 .verdict)/$(v 1 .class)/$(v 1 .title)/$(v 1 .input)" = "accept/admit/ADMIT/camera" ] &&
    ok "camera: T0 admitted (green class, ADMIT)" || fail "first verdict: $(sed -n 1p "$tmp/verdicts")"
[ "$(v 2 .verdict)/$(v 2 .class)/$(v 2 .title)" = "already_used/refuse/ALREADY USED" ] &&
    ok "camera: T0 again is ALREADY USED" || fail "second verdict: $(sed -n 2p "$tmp/verdicts")"
v 2 .first_used | grep -q "at North" && ok "ALREADY USED says where: $(v 2 .first_used)" ||
    fail "no first use in: $(sed -n 2p "$tmp/verdicts")"
[ "$(v 1 .type)" = GA ] && ok "ticket type name from the snapshot" || fail "type: $(v 1 .type)"
[ "$(v 3 .class)/$(v 3 .verdict)" = "refuse/unknown_key" ] && ok "camera: forged ticket refused ($(v 3 .title))" ||
    fail "third verdict: $(sed -n 3p "$tmp/verdicts")"
[ "$(v 4 .verdict)/$(v 4 .input)" = "accept/keyboard" ] && ok "keyboard wedge: T1 admitted through the same path" ||
    fail "wedge verdict: $(sed -n 4p "$tmp/verdicts")"
[ "$(wc -l <"$tmp/verdicts")" = 4 ] && ok "no code scanned twice in a row (4 verdicts)" ||
    fail "$(wc -l <"$tmp/verdicts") verdicts: $(jq -r .verdict "$tmp/verdicts" | tr '\n' ' ')"
body=$(jq -s -r '[.[] | select(.event == "search")] | last | .body' "$state")
if grep -q "^S2 search" "$tmp/xvfb.log" && grep -q "Entry .* at North" <<<"$body" && grep -q "^Order $ocode: paid" <<<"$body"; then
    ok "search by order code asks the server: $(head -2 <<<"$body" | tr '\n' ' ')"
else
    fail "order search: $body"
fi
w=$(jq -s '[.[] | select(.event == "verdict") | .width] | max' "$state")
[ "${w:-9999}" -le 490 ] && ok "portrait 480x800: the window stays ${w} px wide" || fail "window grew to ${w} px wide"
jq -c 'select(.event == "sound" and .class == "admit")' "$state" | grep -q . &&
    ok "a verdict sound per class was played" || fail "no sound event"
# the verdict area's colour (window at 0,0, 480x800: a band below the header)
check_colour() { # NAME EXPECT(green|red|amber)
    local rgb r g b
    rgb=$(colour "$1" 30 70 400 60); read -r r g b <<<"$rgb"
    [ -n "${r:-}" ] || { fail "$1: no screenshot"; return; }
    case $2 in
    green) [ "$g" -gt 100 ] && [ "$r" -lt 80 ] && [ "$b" -lt 100 ] ;;
    red) [ "$r" -gt 150 ] && [ "$g" -lt 80 ] && [ "$b" -lt 80 ] ;;
    esac && ok "$1: verdict area is $2 ($rgb)" || fail "$1: verdict area is $rgb, expected $2"
}
check_colour 2-verdict-1 green
check_colour 2-verdict-2 red
check_colour 2-verdict-3 red
check_colour 2-verdict-wedge green
# the scans reached the server
otok=$(post /v1/sessions '{"email":"org@test.example","password":"organiser-secret"}' | jq -r .token)
for _ in $(seq 1 30); do
    got=$(curl -s -H "Authorization: Bearer $otok" "$C/v1/events/$event/checkins" | jq '.checkins | length')
    [ "${got:-0}" -ge 4 ] && break; sleep 0.2
done
[ "${got:-0}" -ge 4 ] && ok "the 4 scans were uploaded to admitd" || fail "admitd has ${got:-0} scans"

# ---- 3. kiosk at 1920x1080: fullscreen, PIN, restart after a crash
printf 'kiosk_pin=2468\n' >>"$settings"
scenario3() {
    "$scan" --kiosk >"$tmp/app3.log" 2>&1 &
    p=$!
    wait_state 20 '.kiosk == true and .width >= 1900 and .decorated == false' && echo "S3 kiosk fullscreen"
    sleep 0.5
    xdotool mousemove 960 540
    # T1 again through the wedge: ALREADY USED, red, at full HD
    xdotool type --delay 2 "$T1"; xdotool key Return
    wait_state 20 '.event == "verdict" and .verdict == "already_used"' && { shot 3-kiosk-verdict; echo "S3 verdict"; }
    wait_state 10 '.event == "view" and .view == "scan"'
    xdotool key ctrl+q
    wait_state 10 '.event == "view" and .view == "unlock"' && echo "S3 pin asked"
    sleep 0.3
    xdotool type --delay 20 1111; xdotool key Return
    wait_state 10 '.event == "unlock" and .result == "wrong_pin"' && echo "S3 wrong pin refused"
    kill -0 "$p" 2>/dev/null && echo "S3 still running"
    shot 3-kiosk-locked
    kill -9 "$p"; wait "$p" 2>/dev/null
    : >"$state"
    # restarted without --kiosk (a crash, a reboot): kiosk again
    "$scan" >"$tmp/app3b.log" 2>&1 &
    p=$!
    wait_state 20 '.kiosk == true and .width >= 1900' && echo "S3 kiosk after restart"
    sleep 0.5
    xdotool mousemove 960 540
    xdotool key ctrl+q
    wait_state 10 '.view == "unlock"' && sleep 0.3
    xdotool type --delay 20 2468; xdotool key Return
    wait_state 10 '.event == "unlock" and .result == "unlocked"' && echo "S3 unlocked"
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null || echo "S3 quit after unlock"
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
}
export -f scenario3
: >"$state"
xvfb 1920x1080 scenario3
cp "$state" "$art/state-3.jsonl"
for s in "kiosk fullscreen" "verdict" "pin asked" "wrong pin refused" "still running" \
    "kiosk after restart" "unlocked" "quit after unlock"; do
    grep -q "^S3 $s" "$tmp/xvfb.log" && ok "kiosk: $s" || fail "kiosk: $s"
done
rgb=$(colour 3-kiosk-verdict 100 40 1700 80); read -r r g b <<<"$rgb"
[ "${r:-0}" -gt 150 ] && [ "${g:-255}" -lt 80 ] && ok "1920x1080 kiosk verdict area is red ($rgb)" ||
    fail "1920x1080 verdict colour $rgb"
grep -q '^kiosk=false' "$settings" && ok "kiosk setting cleared by the PIN" || fail "settings: $(grep kiosk "$settings")"
grep -q '2468' "$settings" && fail "the plaintext PIN stayed in the settings" || ok "only the PIN hash is stored"

if [ "$fails" -gt 0 ]; then
    echo "--- xvfb log"; tail -20 "$tmp/xvfb.log"
    for f in "$tmp"/app*.log; do echo "--- $f"; grep -v "^$" "$f" | tail -40; done
fi
echo "screenshots in $art"
[ "$fails" = 0 ]
