#!/bin/bash
# test-admit-gate.sh: drives the real admit-gate binary end to end: init from a
# snapshot, scans of texts, PNG images and keyboard-wedge input without Enter,
# hooks, the journal, status, and usage errors; the sync commands' failures
# that need no server (bad enrollment codes, unreachable server, not
# enrolled), --camera without a camera, and --camera folder:DIR (ticket
# images played as camera frames). admitctl (server/) makes keys,
# tokens and QR images here only; admit-gate itself never links server/.
# Sync against a real admitd is tests/e2e/test-sync.sh. Needs jq.
set -u
gate="$ADMIT_BUILDDIR/scanner/admit-gate"
ctl="$ADMIT_BUILDDIR/server/admitctl"
tmp=$(mktemp -d /tmp/admit-gate-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
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
expect() { # expect NAME JQ-FILTER (run with -s on $tmp/out, must print true)
    if [ "$(jq -rs "$2" "$tmp/out" 2>/dev/null)" != true ]; then
        echo "FAIL $1: $2 on $(cat "$tmp/out")"; fails=$((fails + 1)); return 1
    fi
    echo "ok   $1"
}

# usage and help
check "no arguments" 2 "$gate"
check "unknown command" 2 "$gate" frobnicate
check "--help" 0 "$gate" --help
for c in init scan journal enroll sync status; do
    check "$c --help" 0 "$gate" $c --help
    grep -q "usage: admit-gate $c" "$tmp/out" || { echo "FAIL $c --help text"; fails=$((fails + 1)); }
    check "$c bad option" 2 "$gate" $c --no-such-option
done
check "init without --snapshot" 2 "$gate" init --db "$tmp/g.db"
check "scan without --list" 2 "$gate" scan --db "$tmp/g.db" --gate North AD1:X
check "scan bad --list" 2 "$gate" scan --db "$tmp/g.db" --list 0 --gate North AD1:X
check "scan nothing to scan" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North
check "scan --stdin with TEXT" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --stdin AD1:X
check "scan bad hook class" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --hook open=true AD1:X
check "scan bad --pause-ms" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --pause-ms 0 --stdin
check "scan before init" 1 "$gate" scan --db "$tmp/empty.db" --list 1 --gate North AD1:X
check "journal of a missing file" 1 "$gate" journal --db "$tmp/missing.db"

# keys, snapshot, tokens
check "keygen" 0 "$ctl" keygen --dir "$tmp/keys"
cat >"$tmp/snap.json" <<EOF
{"format":"admit-gate-snapshot","version":1,"event":{"id":7,"name":"Test"},
 "keys":$(cat "$tmp/keys/keys.json"),
 "ticket_types":[{"id":21,"name":"GA"},{"id":22,"name":"VIP"}],
 "tickets":[{"id":5,"status":"blocked"}],
 "revocations":{"revocations":[{"seq":1,"ticket_id":4,"revoked_at":1767312000,"reason":"revoked"}],"next":1,"more":false},
 "checkin_lists":[{"id":1,"name":"Main","reentry":"once","ticket_types":[21,22],"gates":["North","South"]},
                  {"id":2,"name":"VIP","reentry":"after_exit","ticket_types":[22]}],
 "checkins":[{"nonce":"r-1","ticket_id":3,"list_id":1,"at":1767300000,"gate":"South","device":"dev-b","direction":"entry"}]}
EOF
echo '{"format":"nope"}' >"$tmp/bad.json"
check "init bad snapshot" 1 "$gate" init --db "$tmp/g.db" --snapshot "$tmp/bad.json"
check "init" 0 "$gate" init --db "$tmp/g.db" --snapshot "$tmp/snap.json"
expect "init output" '.[0].event_id == 7 and (.[0].device | length) == 16'
device=$(jq -r .device "$tmp/out")
tk() { "$ctl" issue --key "$tmp/keys" --event 7 --type 21 --ticket "$@"; }
t1=$(tk 1); t2=$(tk 2); t3=$(tk 3); t4=$(tk 4); t5=$(tk 5); t6=$(tk 6 --special); t7=$(tk 7)
t8=$(tk 8); t9=$(tk 9); t10=$(tk 10 --reentry)
other=$("$ctl" issue --key "$tmp/keys" --event 8 --type 21 --ticket 1)

# texts
check "scan accept" 0 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --at 1800000000 "$t1"
expect "accept output" '.[0].verdict == "accept" and .[0].ticket.id == 1 and .[0].ticket.verified and (.[0].nonce | length) == 32 and .[0].at == 1800000000'
check "scan again" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate South "$t1"
expect "already used here" ".[0].verdict == \"already_used\" and .[0].first_used.gate == \"North\" and .[0].first_used.device == \"$device\" and .[0].first_used.at == 1800000000"
check "used at another device" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North "$t3"
expect "first used at South by dev-b" '.[0].verdict == "already_used" and .[0].first_used.gate == "South" and .[0].first_used.device == "dev-b"'
check "refusals" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North "$t4" "$t5" "$other" "AD1:NOPE" "hello"
expect "refusal verdicts" '[.[].verdict] == ["revoked","revoked","wrong_event","malformed","malformed"] and .[1].reason == "blocked"'
check "exit not inside" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --exit "$t2"
expect "not_inside" '.[0].verdict == "not_inside"'
check "wrong gate (type not on list)" 1 "$gate" scan --db "$tmp/g.db" --list 2 --gate Lounge "$t2"
expect "wrong_gate" '.[0].verdict == "wrong_gate"'
check "gate not on the list" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate East "$t2"
grep -q "not in the snapshot" "$tmp/err" || { echo "FAIL gate not on list message"; fails=$((fails + 1)); }
check "reentry ticket" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North "$t10" "$t10"
expect "reentry: inside" '[.[].verdict] == ["accept","already_used"]'
check "reentry exit" 0 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --exit "$t10"
check "reentry again" 0 "$gate" scan --db "$tmp/g.db" --list 1 --gate North "$t10"

# images rendered by admitctl qr
check "render png" 0 "$ctl" qr "$t2" --png "$tmp/t2.png"
check "scan image" 0 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --image "$tmp/t2.png"
expect "image accepted" '.[0].verdict == "accept" and .[0].ticket.id == 2'
check "scan image again + missing file" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --image "$tmp/t2.png" "$tmp/none.png"
expect "image refusals" '[.[].verdict] == ["already_used","malformed"] and .[1].reason == "io_error"'

# keyboard wedge: codes without Enter, separated only by pauses, then one with CR LF
# (through a FIFO, each code sent once the previous verdict is out: a slow
# start must not find all three codes in the pipe at once)
wait_lines() { for _ in $(seq 1 200); do [ "$(wc -l <"$tmp/out")" -ge "$1" ] && return 0; sleep 0.05; done; return 1; }
mkfifo "$tmp/wedge"
"$gate" scan --db "$tmp/g.db" --list 1 --gate North --stdin --pause-ms 100 <"$tmp/wedge" >"$tmp/out" 2>"$tmp/err" &
wedge_pid=$!
exec 3>"$tmp/wedge"
printf '%s' "$t7" >&3; wait_lines 1
printf '%s' "$t8" >&3; wait_lines 2
printf '%s\r\n' "$t9" >&3
exec 3>&-
wait "$wedge_pid"
rc=$?
if [ "$rc" = 0 ]; then echo "ok   wedge without Enter"; else echo "FAIL wedge without Enter: exit $rc"; fails=$((fails + 1)); fi
expect "wedge: three codes" '[.[].ticket.id] == [7,8,9] and all(.[]; .verdict == "accept")'
check "wedge lines" 1 bash -c "printf '%s\n\n%s\r\n' '$t7' 'garbage' | '$gate' scan --db '$tmp/g.db' --list 1 --gate North --stdin"
expect "wedge lines verdicts" '[.[].verdict] == ["already_used","malformed"]'
check "wedge oversize code" 1 bash -c "head -c 1500 /dev/zero | tr '\\0' A | '$gate' scan --db '$tmp/g.db' --list 1 --gate North --stdin"
expect "oversize refused" 'length == 1 and .[0].verdict == "malformed" and .[0].reason == "oversize"'

# hooks
hooks="$tmp/hooks.log"
check "hooks" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North \
    --hook "accept=echo accept \$1 \$(printf %s \"\$ADMIT_VERDICT\" | jq -r .ticket.id) >>'$hooks'" \
    --hook "refuse=echo refuse \$1 >>'$hooks'" \
    --hook "attention=echo attention \$1 >>'$hooks'" \
    "$t6" "$t6"
want=$'accept accept 6\nattention accept\nrefuse already_used\nattention already_used'
if [ "$(cat "$hooks" 2>/dev/null)" != "$want" ]; then
    echo "FAIL hooks log:"; sed 's/^/  /' "$hooks"; fails=$((fails + 1))
else
    echo "ok   hooks fired in order with the verdict"
fi

# the journal has every scan, with unique nonces
check "journal" 0 "$gate" journal --db "$tmp/g.db"
expect "journal rows" 'length == 24 and ([.[].nonce] | unique | length) == 24 and all(.[]; (.text_hash | length) == 64)'
expect "journal accepts" '[.[] | select(.verdict == "accept")] | length == 9'

expect "journal rows not uploaded yet" 'all(.[]; .uploaded == false and .conflict == false)'

# status: the store as JSON
check "status" 0 "$gate" status --db "$tmp/g.db"
expect "status of an offline store" ".[0].device == \"$device\" and .[0].event_id == 7 and .[0].enrolled == false and .[0].pending_uploads == 24 and .[0].journal.total == 24 and .[0].journal.accept == 9 and .[0].journal.malformed == 4 and .[0].remote_checkins == 1 and .[0].revocations == 1 and .[0].cursor == {\"revocations\":0,\"checkins\":0} and (.[0] | has(\"secret\") | not)"
check "status of a missing file" 1 "$gate" status --db "$tmp/missing.db"
check "status with an argument" 2 "$gate" status --db "$tmp/g.db" extra

# enroll: bad codes and unreachable servers fail with a clear message, store untouched
check "enroll without a code" 2 "$gate" enroll --db "$tmp/e.db"
check "enroll with two codes" 2 "$gate" enroll --db "$tmp/e.db" a b
check "enroll bad --pin" 2 "$gate" enroll --db "$tmp/e.db" --pin md5//x "admit-enroll:https://x#t"
check "enroll with a bad URI" 1 "$gate" enroll --db "$tmp/e.db" "https://tickets.example.org#token"
grep -q "not an enrollment code" "$tmp/err" || { echo "FAIL bad URI message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "enroll with a ticket instead" 1 "$gate" enroll --db "$tmp/e.db" "$t1"
grep -q "not an enrollment code" "$tmp/err" || { echo "FAIL ticket-as-code message"; fails=$((fails + 1)); }
check "enroll with a ticket's QR image" 1 "$gate" enroll --db "$tmp/e.db" --qr-image "$tmp/t2.png"
grep -q "not an enrollment code" "$tmp/err" || { echo "FAIL ticket QR message"; fails=$((fails + 1)); }
check "enroll with a missing QR image" 1 "$gate" enroll --db "$tmp/e.db" --qr-image "$tmp/none.png"
grep -q "cannot read an enrollment QR code" "$tmp/err" || { echo "FAIL missing QR message"; fails=$((fails + 1)); }
check "enroll over plain http without --insecure-http" 1 "$gate" enroll --db "$tmp/e.db" "admit-enroll:http://127.0.0.1:1#dG9rZW4"
grep -q -- "--insecure-http" "$tmp/err" || { echo "FAIL http message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "enroll with a missing --ca" 1 "$gate" enroll --db "$tmp/e.db" --ca "$tmp/none.pem" "admit-enroll:https://127.0.0.1:1#dG9rZW4"
grep -q "cannot read --ca" "$tmp/err" || { echo "FAIL --ca message"; fails=$((fails + 1)); }
check "render an enrollment QR" 0 "$ctl" qr "admit-enroll:http://127.0.0.1:1#dG9rZW4" --png "$tmp/enroll.png"
check "enroll from a QR image, server unreachable" 1 "$gate" enroll --db "$tmp/e.db" --insecure-http --qr-image "$tmp/enroll.png"
grep -q "cannot be reached" "$tmp/err" || { echo "FAIL unreachable message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
grep -q "dG9rZW4" "$tmp/err" && { echo "FAIL the token was echoed"; fails=$((fails + 1)); }
check "the failed enrollment stored nothing" 0 "$gate" status --db "$tmp/e.db"
expect "not enrolled" '.[0].enrolled == false and .[0].event_id == 0'

# sync and --online need an enrolled store
check "sync of a missing store" 1 "$gate" sync --db "$tmp/missing.db"
check "sync of a store not enrolled" 1 "$gate" sync --db "$tmp/g.db"
grep -q "not enrolled" "$tmp/err" || { echo "FAIL not enrolled message"; fails=$((fails + 1)); }
check "sync --follow of a store not enrolled" 1 "$gate" sync --db "$tmp/g.db" --follow
check "scan --online of a store not enrolled" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --online "$t1"
grep -q "not enrolled" "$tmp/err" || { echo "FAIL --online message"; fails=$((fails + 1)); }

# --camera: no camera here; a missing or unusable device is a clear error, nothing journaled
check "camera with TEXT" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera /dev/video0 "$t1"
check "camera and stdin" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera /dev/video0 --stdin
check "bad --repeat-ms" 2 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera /dev/video0 --repeat-ms -1
check "missing camera" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera /dev/nonexistent
grep -q "cannot use camera /dev/nonexistent: No such file or directory" "$tmp/err" || { echo "FAIL missing camera message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "not a video device" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera /dev/null
grep -q "cannot use camera /dev/null" "$tmp/err" || { echo "FAIL /dev/null camera message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "a regular file as camera" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "$tmp/snap.json"
grep -q "not a video device" "$tmp/err" || { echo "FAIL file camera message"; fails=$((fails + 1)); }
check "journal unchanged" 0 "$gate" journal --db "$tmp/g.db"
expect "still 24 rows" 'length == 24'

# --camera folder:DIR plays PNG files as camera frames through the same frame path:
# two ticket images (each held several frames) give two verdicts, then the source ends
mkdir -p "$tmp/frames"
t11=$(tk 11); t12=$(tk 12)
"$ctl" qr "$t11" --png "$tmp/frames/01-t11.png" >/dev/null
"$ctl" qr "$t12" --png "$tmp/frames/02-t12.png" >/dev/null
echo "not an image" >"$tmp/frames/notes.txt"
check "camera folder" 0 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "folder:$tmp/frames?fps=50&hold=3"
expect "folder: two verdicts in name order" '[.[].ticket.id] == [11,12] and all(.[]; .verdict == "accept")'
grep -q "scanning with folder $tmp/frames (2 images)" "$tmp/err" || { echo "FAIL folder camera message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "camera folder again (looping is off: one pass)" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "folder:$tmp/frames?fps=50&hold=3"
expect "folder again: already used" '[.[].verdict] == ["already_used","already_used"]'
check "camera image" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "image:$tmp/frames/01-t11.png?fps=50"
expect "image: one verdict" 'length == 1 and .[0].verdict == "already_used" and .[0].ticket.id == 11'
check "camera missing folder" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "folder:$tmp/nope"
grep -q "cannot use camera folder:$tmp/nope: .*No such file or directory" "$tmp/err" || { echo "FAIL missing folder message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "camera unknown source" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "webcam"
grep -q "unknown source" "$tmp/err" || { echo "FAIL unknown source message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "camera bad folder option" 1 "$gate" scan --db "$tmp/g.db" --list 1 --gate North --camera "folder:$tmp/frames?fps=0"
check "journal after the folder camera" 0 "$gate" journal --db "$tmp/g.db"
expect "29 rows" 'length == 29'

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all passed"
