#!/bin/bash
# test-admitctl.sh: drives the real admitctl binary through keys, issuing,
# QR rendering and verification, including rotation, retirement, tampering
# and every usage error; then the sync commands on a database (check-in
# lists, enrollment tokens and their QR codes, devices, scans, conflicts,
# counts), with a real admitd for the device side. Needs ADMIT_BUILDDIR (set
# by meson test), jq and curl.
set -u
ctl="$ADMIT_BUILDDIR/server/admitctl"
tmp=$(mktemp -d /tmp/admit-ctl-test.XXXXXX)
admitd="$ADMIT_BUILDDIR/server/admitd"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME EXPECTED_STATUS CMD...
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; sed 's/^/  out: /' "$tmp/out"; sed 's/^/  err: /' "$tmp/err"
        fails=$((fails + 1)); return 1
    fi
    echo "ok   $name"
}
expect() { # expect NAME JQ-FILTER (run on $tmp/out, must print true)
    if [ "$(jq -r "$2" "$tmp/out" 2>/dev/null)" != true ]; then
        echo "FAIL $1: $2 on $(cat "$tmp/out")"; fails=$((fails + 1)); return 1
    fi
    echo "ok   $1"
}

# usage and help
check "no arguments" 2 "$ctl"
check "unknown command" 2 "$ctl" frobnicate
check "--help" 0 "$ctl" --help
for c in keygen retire issue qr verify; do
    check "$c --help" 0 "$ctl" $c --help
    grep -q "usage: admitctl $c" "$tmp/out" || { echo "FAIL $c --help text"; fails=$((fails + 1)); }
    check "$c bad option" 2 "$ctl" $c --no-such-option
done

# keys
check "keygen" 0 "$ctl" keygen --dir "$tmp/keys"
kid1=$(cat "$tmp/out")
[[ "$kid1" =~ ^[0-9a-f]{8}$ ]] || { echo "FAIL kid format '$kid1'"; fails=$((fails + 1)); }
[ "$(stat -c %a "$tmp/keys/$kid1.key")" = 600 ] || { echo "FAIL key file mode"; fails=$((fails + 1)); }
jq -e --arg k "$kid1" '.keys[0].kid == $k' "$tmp/keys/keys.json" >/dev/null ||
    { echo "FAIL keys.json lists the key"; fails=$((fails + 1)); }
grep -qi "$(head -c 64 "$tmp/keys/$kid1.key")" "$tmp/keys/keys.json" &&
    { echo "FAIL keys.json leaks the secret seed"; fails=$((fails + 1)); }
check "keygen without --dir" 2 "$ctl" keygen

# issue + verify
check "issue" 0 "$ctl" issue --key "$tmp/keys" --event 42 --ticket 1001 --type 3 \
    --valid-from 2026-01-01T00:00:00Z --valid-until 4000000000 --seat "BLOCK A ROW 1" --special
tok=$(cat "$tmp/out")
[[ "$tok" == AD1:* ]] || { echo "FAIL token prefix '$tok'"; fails=$((fails + 1)); }
check "verify valid" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
expect "verify fields" '.ok and .reason == "ok" and .event == 42 and .ticket == 1001 and .type == 3 and .special and (.reentry | not) and .seat == "BLOCK A ROW 1" and .valid_from == 1767225600 and .valid_until == 4000000000 and .window == "open"'
expect "verify kid" ".kid == \"$kid1\""
check "verify --at before window" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --at 1000 "$tok"
expect "window not yet valid" '.window == "not_yet_valid"'
echo "$tok" > "$tmp/tok.txt"
check "verify from stdin" 0 bash -c "'$ctl' verify --pub '$tmp/keys/keys.json' - < '$tmp/tok.txt'"

# tampering: change one character of the Base45 text
pos=20; c=${tok:$pos:1}; [ "$c" = A ] && r=B || r=A
bad="${tok:0:$pos}$r${tok:$((pos + 1))}"
check "verify tampered" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$bad"
expect "tampered refused" '(.ok | not) and (.reason | IN("bad_signature", "bad_base45", "bad_field", "unknown_key", "bad_length"))'
check "verify not a ticket" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "hello"
expect "wrong prefix" '.reason == "bad_prefix"'
check "verify truncated" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "${tok:0:60}"
check "verify oversize" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "AD1:$(printf 'A%.0s' $(seq 1 400))"
expect "oversize reason" '.reason == "oversize"'

# another issuer's key
"$ctl" keygen --dir "$tmp/other" >/dev/null
check "verify other keyring" 1 "$ctl" verify --pub "$tmp/other/keys.json" "$tok"
expect "unknown key" '.reason == "unknown_key"'

# QR: PNG and back through ZBar, SVG, terminal
check "qr png" 0 "$ctl" qr "$tok" --png "$tmp/t.png"
check "verify --image" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/t.png"
expect "image fields" '.ok and .ticket == 1001'
check "qr png module 3 quiet 2" 0 "$ctl" qr "$tok" --png "$tmp/t3.png" --module 3 --quiet 2
check "verify small image" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/t3.png"
check "qr svg" 0 "$ctl" qr "$tok" --svg "$tmp/t.svg"
grep -q '<svg' "$tmp/t.svg" && grep -q '</svg>' "$tmp/t.svg" || { echo "FAIL svg content"; fails=$((fails + 1)); }
check "qr term" 0 "$ctl" qr "$tok" --term
[ "$(wc -l < "$tmp/out")" -ge 15 ] || { echo "FAIL term art lines"; fails=$((fails + 1)); }
check "qr two outputs" 2 "$ctl" qr "$tok" --term --png "$tmp/x.png"
check "qr no output" 2 "$ctl" qr "$tok"
check "qr bad module" 2 "$ctl" qr "$tok" --png "$tmp/x.png" --module 0
printf 'not a png' > "$tmp/junk.png"
check "verify junk image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/junk.png"
check "verify missing image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/nope.png"
"$ctl" qr "hello" --png "$tmp/hello.png" >/dev/null
check "verify QR that is not a ticket" 1 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/hello.png"
expect "hello prefix" '.reason == "bad_prefix"'

# usage errors
check "issue missing event" 2 "$ctl" issue --key "$tmp/keys" --ticket 1 --type 1
check "issue bad ticket" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket -5 --type 1
check "issue zero type" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 0
check "issue bad time" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --valid-from tomorrow
check "issue window reversed" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --valid-from 200 --valid-until 100
check "issue long seat" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --seat "$(printf 'x%.0s' $(seq 1 33))"
check "issue no keys" 1 "$ctl" issue --key "$tmp/none" --event 1 --ticket 5 --type 1
check "verify token and image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok" --image "$tmp/t.png"
check "verify no pub" 2 "$ctl" verify "$tok"
check "verify missing pub file" 2 "$ctl" verify --pub "$tmp/nope.json" "$tok"
echo '{"format":"admit-keyring","version":1,"keys":[{"kid":"zz"}]}' > "$tmp/badkeys.json"
check "verify malformed keyring" 2 "$ctl" verify --pub "$tmp/badkeys.json" "$tok"

# rotation and retirement
check "keygen rotate" 0 "$ctl" keygen --dir "$tmp/keys"
kid2=$(cat "$tmp/out")
[ "$kid2" != "$kid1" ] || { echo "FAIL rotation gave the same kid"; fails=$((fails + 1)); }
check "issue with new key" 0 "$ctl" issue --key "$tmp/keys" --event 42 --ticket 1002 --type 3 --reentry
tok2=$(cat "$tmp/out")
check "verify new key" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok2"
expect "new kid used" ".kid == \"$kid2\" and .reentry"
check "old token still valid" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
check "issue with --kid old" 0 "$ctl" issue --key "$tmp/keys" --kid "$kid1" --event 42 --ticket 1003 --type 3
tok3=$(cat "$tmp/out")
check "retire old" 0 "$ctl" retire --dir "$tmp/keys" "$kid1"
check "old token refused" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
expect "retired reason" '.reason == "retired_key"'
check "old --kid token refused" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok3"
check "new token valid after retire" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok2"
check "issue with retired kid" 1 "$ctl" issue --key "$tmp/keys" --kid "$kid1" --event 42 --ticket 1004 --type 3
check "retire unknown" 1 "$ctl" retire --dir "$tmp/keys" 01234567
check "retire bad kid" 2 "$ctl" retire --dir "$tmp/keys" xyz

# ---- sync commands on a database ------------------------------------------------
db=(--sqlite "$tmp/admit.db")
printf 'organiser-secret\n' > "$tmp/org.pw"
"$ctl" init "${db[@]}" --organiser org@test.example --password-file "$tmp/org.pw" >/dev/null
venue=$("$ctl" venue add "${db[@]}" --name Hall --city Kuching)
now=$(date +%s)
event=$("$ctl" event add "${db[@]}" --venue "$venue" --title Gala --start $((now + 3600)) --end $((now + 7200)) --on-sale)
ga=$("$ctl" type add "${db[@]}" --event "$event" --name GA --price 0 --currency MYR --capacity 10)
vip=$("$ctl" type add "${db[@]}" --event "$event" --name VIP --price 0 --currency MYR --capacity 10)
for c in checkin-list enroll device checkin; do
    check "$c --help" 0 "$ctl" $c --help
    grep -q "usage: admitctl $c" "$tmp/out" || { echo "FAIL $c --help text"; fails=$((fails + 1)); }
    check "$c without a subcommand" 2 "$ctl" $c
done

check "checkin-list add" 0 "$ctl" checkin-list add "${db[@]}" --event "$event" --name Main \
    --reentry once --types "$ga,$vip" --gates North,South
expect "list fields" ".id > 0 and .event_id == $event and .name == \"Main\" and .reentry == \"once\" and .ticket_types == [$ga, $vip] and .gates == [\"North\", \"South\"]"
main=$(jq -r .id "$tmp/out")
check "checkin-list add, every type, any gate" 0 "$ctl" checkin-list add "${db[@]}" --event "$event" --name Lounge --reentry after_exit
expect "empty types and gates" '.ticket_types == [] and .gates == [] and .reentry == "after_exit"'
check "checkin-list list" 0 "$ctl" checkin-list list "${db[@]}" --event "$event"
[ "$(wc -l < "$tmp/out")" = 2 ] || { echo "FAIL two lists listed"; fails=$((fails + 1)); }
check "checkin-list add bad reentry" 2 "$ctl" checkin-list add "${db[@]}" --event "$event" --name X --reentry twice
check "checkin-list add no name" 2 "$ctl" checkin-list add "${db[@]}" --event "$event" --reentry once
check "checkin-list add bad types" 2 "$ctl" checkin-list add "${db[@]}" --event "$event" --name X --reentry once --types 1,,2
check "checkin-list add duplicate gate" 2 "$ctl" checkin-list add "${db[@]}" --event "$event" --name X --reentry once --gates A,A
check "checkin-list add foreign type" 1 "$ctl" checkin-list add "${db[@]}" --event "$event" --name X --reentry once --types 999999
check "checkin-list add unknown event" 1 "$ctl" checkin-list add "${db[@]}" --event 999999 --name X --reentry once
check "checkin-list list unknown event" 1 "$ctl" checkin-list list "${db[@]}" --event 999999

check "enroll create" 0 "$ctl" enroll create "${db[@]}" --event "$event" --gate North
expect "enroll fields" ".event_id == $event and .gate == \"North\" and .kind == \"gate\" and (.token | length) == 43 and .enroll_uri == \"admit-enroll:http://127.0.0.1:8080#\" + .token and .expires_at >= $now + 86400"
check "enroll create relay, short ttl, public URL, PNG" 0 "$ctl" enroll create "${db[@]}" --event "$event" \
    --gate Venue --relay --ttl 60 --public-url https://tickets.example.org/ --qr "$tmp/enroll.png"
expect "relay fields" ".kind == \"relay\" and (.enroll_uri | startswith(\"admit-enroll:https://tickets.example.org#\")) and .qr == \"$tmp/enroll.png\" and .expires_at <= $(date +%s) + 61"
[ "$(stat -c %a "$tmp/enroll.png")" = 600 ] || { echo "FAIL enrollment QR mode"; fails=$((fails + 1)); }
check "enrollment QR decodes (not a ticket)" 1 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/enroll.png"
expect "QR holds the URI" '.reason == "bad_prefix"'
check "enroll create SVG" 0 "$ctl" enroll create "${db[@]}" --event "$event" --gate South --qr "$tmp/enroll.svg"
grep -q '<svg' "$tmp/enroll.svg" || { echo "FAIL enrollment SVG"; fails=$((fails + 1)); }
check "enroll create unknown event" 1 "$ctl" enroll create "${db[@]}" --event 999999 --gate North
check "enroll create no gate" 2 "$ctl" enroll create "${db[@]}" --event "$event"
check "enroll create bad ttl" 2 "$ctl" enroll create "${db[@]}" --event "$event" --gate N --ttl 59
check "enroll create bad QR name" 2 "$ctl" enroll create "${db[@]}" --event "$event" --gate N --qr "$tmp/x.gif"

check "device list, none yet" 0 "$ctl" device list "${db[@]}" --event "$event"
[ -s "$tmp/out" ] && { echo "FAIL no devices expected"; fails=$((fails + 1)); }
check "device revoke unknown" 1 "$ctl" device revoke "${db[@]}" dv_0123456789abcdef
check "device revoke bad id" 2 "$ctl" device revoke "${db[@]}" 42
check "checkin list, none yet" 0 "$ctl" checkin list "${db[@]}" --event "$event"
check "checkin stats unknown event" 1 "$ctl" checkin stats "${db[@]}" --event 999999

# devices enroll and upload through a real admitd on the same database
"$admitd" "${db[@]}" --port 0 --access-log false > "$tmp/admitd.out" 2>"$tmp/admitd.err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$tmp/admitd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/admitd.out")
[ -n "$port" ] || { echo "FAIL admitd did not start: $(cat "$tmp/admitd.err")"; fails=$((fails + 1)); }
base="http://127.0.0.1:$port"
device() { # device GATE: enrolls, "<id>.<secret>" on stdout
    local t; t=$("$ctl" enroll create "${db[@]}" --event "$event" --gate "$1" | jq -r .token)
    curl -s -X POST -H 'Content-Type: application/json' --data-binary "{\"token\":\"$t\",\"name\":\"$1 handheld\"}" \
        "$base/v1/devices/enroll" | jq -r '.device_id + "." + .secret'
}
upload() { # upload CRED NONCE TICKET AT GATE VERDICT
    local dev=${1%%.*}
    curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        --data-binary "{\"checkins\":[{\"nonce\":\"$2\",\"device\":\"$dev\",\"ticket_id\":$3,\"list_id\":$main,\"at\":$4,\"gate\":\"$5\",\"direction\":\"entry\",\"verdict\":\"$6\",\"reason\":\"$6\"}]}" \
        "$base/v1/sync/checkins"
}
north=$(device North); south=$(device South)
[[ "$north" =~ ^dv_[0-9a-f]{16}\. ]] || { echo "FAIL device enrollment '$north'"; fails=$((fails + 1)); }
[ "$(upload "$north" 0123456789abcdef0123456789abcd01 777 $((now + 10)) North accept)" = 200 ] || { echo "FAIL upload north"; fails=$((fails + 1)); }
[ "$(upload "$south" 0123456789abcdef0123456789abcd02 777 $((now + 20)) South accept)" = 200 ] || { echo "FAIL upload south"; fails=$((fails + 1)); }
[ "$(upload "$south" 0123456789abcdef0123456789abcd03 888 $((now + 30)) South revoked)" = 200 ] || { echo "FAIL upload refused"; fails=$((fails + 1)); }

check "device list" 0 "$ctl" device list "${db[@]}" --event "$event"
[ "$(wc -l < "$tmp/out")" = 2 ] || { echo "FAIL two devices listed"; fails=$((fails + 1)); }
jq -e -s 'map(select(.gate == "North")) | length == 1 and .[0].name == "North handheld" and .[0].kind == "gate" and .[0].last_seen != null and .[0].revoked_at == null' "$tmp/out" >/dev/null ||
    { echo "FAIL device list fields: $(cat "$tmp/out")"; fails=$((fails + 1)); }
check "checkin list" 0 "$ctl" checkin list "${db[@]}" --event "$event"
jq -e -s 'length == 3 and .[0].ticket_id == 777 and .[0].conflict == false and .[1].conflict == true and .[2].verdict == "revoked"' "$tmp/out" >/dev/null ||
    { echo "FAIL checkin list: $(cat "$tmp/out")"; fails=$((fails + 1)); }
check "checkin conflicts" 0 "$ctl" checkin conflicts "${db[@]}" --event "$event"
jq -e -s 'length == 1 and .[0].gate == "South" and .[0].ticket_id == 777' "$tmp/out" >/dev/null ||
    { echo "FAIL checkin conflicts: $(cat "$tmp/out")"; fails=$((fails + 1)); }
check "checkin stats" 0 "$ctl" checkin stats "${db[@]}" --event "$event"
expect "stats figures" ".event_id == $event and .lists[0].list_id == $main and .lists[0].name == \"Main\" and .lists[0].admitted == 2 and .lists[0].conflicts == 1 and .lists[0].inside == 1 and .lists[0].refused.revoked == 1 and (.lists[0].gates | length) == 2 and .totals.admitted == 2"

dev=${north%%.*}
check "device revoke" 0 "$ctl" device revoke "${db[@]}" "$dev"
expect "revoked" ".id == \"$dev\" and .revoked_at > 0"
at=$(jq -r .revoked_at "$tmp/out")
check "device revoke again" 0 "$ctl" device revoke "${db[@]}" "$dev"
expect "revocation time kept" ".revoked_at == $at"
code=$(curl -s -o "$tmp/out" -w '%{http_code}' -H "Authorization: Bearer $north" "$base/v1/sync")
[ "$code" = 403 ] && jq -e '.error == "device_revoked"' "$tmp/out" >/dev/null && echo "ok   revoked device refused" ||
    { echo "FAIL revoked device got $code"; fails=$((fails + 1)); }
kill "$pid"; wait "$pid" 2>/dev/null; pid=""

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
