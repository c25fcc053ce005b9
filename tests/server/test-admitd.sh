#!/bin/bash
# test-admitd.sh: the real admitd and admitctl binaries end to end on an
# SQLite file: admitctl sets up the database (organiser, venue, event, ticket
# types), a customer books over HTTP with curl, the tickets verify offline
# against the event's public keys (also from a QR PNG through ZBar), a
# revocation shows up in the feed scanners sync, sold-out and usage errors,
# key rotation, and a clean stop on SIGTERM. Needs ADMIT_BUILDDIR, curl, jq.
set -u
ctl="$ADMIT_BUILDDIR/server/admitctl"
admitd="$ADMIT_BUILDDIR/server/admitd"
tmp=$(mktemp -d /tmp/admit-admitd-test.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
db=(--sqlite "$tmp/admit.db")

fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # check NAME EXPECTED_STATUS CMD...
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit $got, expected $want"; sed 's/^/  out: /' "$tmp/out" | head -5
        sed 's/^/  err: /' "$tmp/err" | head -5; return 1
    fi
    echo "ok   $name"
}
expect() { # expect NAME JQ-FILTER FILE
    if [ "$(jq -r "$2" "${3:-$tmp/out}" 2>/dev/null)" != true ]; then
        fail "$1: $2 on $(head -c 600 "${3:-$tmp/out}")"; return 1
    fi
    echo "ok   $1"
}
# api NAME STATUS METHOD PATH [TOKEN] [BODY]: body to $tmp/out, status checked
api() {
    local name=$1 want=$2 method=$3 path=$4 token=${5:-} body=${6:-} args=()
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    local got
    got=$(curl -s -o "$tmp/out" -w '%{http_code}' -X "$method" "${args[@]}" "$base$path")
    if [ "$got" != "$want" ]; then fail "$name: HTTP $got, expected $want: $(head -c 300 "$tmp/out")"; return 1; fi
    echo "ok   $name"
}

printf 'organiser-secret\n' > "$tmp/org.pw"
printf 'customer-secret\n' > "$tmp/cust.pw"

# --- database set-up with admitctl
check "init with organiser" 0 "$ctl" init "${db[@]}" --organiser org@test.example --password-file "$tmp/org.pw"
expect "init output" '.store == "sqlite" and .schema_version >= 1 and .organiser_id > 0'
check "init again is a no-op migration" 0 "$ctl" init "${db[@]}"
check "user add" 0 "$ctl" user add "${db[@]}" --email ana@test.example --password-file "$tmp/cust.pw" --name Ana
cust_id=$(cat "$tmp/out")
check "user add duplicate" 1 "$ctl" user add "${db[@]}" --email ANA@test.example --password-file "$tmp/cust.pw"
check "user add crew" 0 "$ctl" user add "${db[@]}" --email crew@test.example --password-file "$tmp/org.pw" --role crew
check "user add bad role" 2 "$ctl" user add "${db[@]}" --email x@test.example --password-file "$tmp/cust.pw" --role king
printf 'short\n' > "$tmp/short.pw"
check "user add short password" 2 "$ctl" user add "${db[@]}" --email y@test.example --password-file "$tmp/short.pw"
check "venue add" 0 "$ctl" venue add "${db[@]}" --name "Hall One" --city Kuching --capacity 900
venue=$(cat "$tmp/out")
check "venue add without city" 2 "$ctl" venue add "${db[@]}" --name X
now=$(date +%s)
check "event add" 0 "$ctl" event add "${db[@]}" --venue "$venue" --title "Rainforest Nights" \
    --category music --start $((now + 86400)) --end $((now + 90000)) --on-sale
event=$(cat "$tmp/out")
check "event add end before start" 2 "$ctl" event add "${db[@]}" --venue "$venue" --title T --start 2000 --end 1000
check "event add unknown venue" 1 "$ctl" event add "${db[@]}" --venue 999999 --title T --start $((now + 10)) --end $((now + 20))
check "type add free" 0 "$ctl" type add "${db[@]}" --event "$event" --name "Community" --price 0 --currency MYR --capacity 5 --per-order 4
free_type=$(cat "$tmp/out")
check "type add paid" 0 "$ctl" type add "${db[@]}" --event "$event" --name "Standard" --price 5000 --currency MYR --capacity 100
check "type add special with a zone" 0 "$ctl" type add "${db[@]}" --event "$event" --name "Access" --price 0 --currency MYR --capacity 5 --special --zone "Ramp Gate B"
special_type=$(cat "$tmp/out")
check "type add zone too long" 2 "$ctl" type add "${db[@]}" --event "$event" --name X --price 0 --currency MYR --capacity 1 --zone "123456789012345678901234567890123"
check "type add bad price" 2 "$ctl" type add "${db[@]}" --event "$event" --name X --price -1 --currency MYR --capacity 1
check "type list" 0 "$ctl" type list "${db[@]}" --event "$event"
expect "type list availability" "select(.id == $free_type) | .available == 5 and .price == 0" 
check "event list" 0 "$ctl" event list "${db[@]}"
expect "event list shows the event" "select(.id == $event) | .status == \"on_sale\" and .title == \"Rainforest Nights\""
check "event keys" 0 "$ctl" event keys "${db[@]}" --event "$event"
cp "$tmp/out" "$tmp/keys-ctl.json"
kid1=$(jq -r '.keys[0].kid' "$tmp/keys-ctl.json")

# --- admitd on the same database
"$admitd" "${db[@]}" --port 0 --access-log false > "$tmp/admitd.out" 2>"$tmp/admitd.err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$tmp/admitd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/admitd.out")
[ -n "$port" ] || { fail "admitd did not start: $(cat "$tmp/admitd.err")"; exit 1; }
base="http://127.0.0.1:$port"
api "healthz" 200 GET /healthz
api "readyz" 200 GET /readyz
api "login customer" 201 POST /v1/sessions "" '{"email":"ana@test.example","password":"customer-secret"}'
tok=$(jq -r .token "$tmp/out")
api "login organiser" 201 POST /v1/sessions "" '{"email":"org@test.example","password":"organiser-secret"}'
otok=$(jq -r .token "$tmp/out")
api "login crew" 201 POST /v1/sessions "" '{"email":"crew@test.example","password":"organiser-secret"}'
ctok=$(jq -r .token "$tmp/out")
api "catalog lists the event" 200 GET "/v1/events?city=Kuching"
expect "catalog entry" "[.events[] | select(.id == $event)] | length == 1"

api "hold 2" 201 POST /v1/holds "$tok" "{\"ticket_type_id\":$free_type,\"quantity\":2}"
hold=$(jq -r .id "$tmp/out")
api "order" 201 POST /v1/orders "$tok" "{\"hold_ids\":[\"$hold\"]}"
order=$(jq -r .id "$tmp/out")
api "pay free" 200 POST "/v1/orders/$order/pay" "$tok" '{"provider":"free"}'
expect "paid with 2 signed tickets" '.state == "paid" and (.tickets | length) == 2 and all(.tickets[]; .token | startswith("AD1:"))'
jq -r '.tickets[0].token' "$tmp/out" > "$tmp/t1.txt"
t1_id=$(jq -r '.tickets[0].id' "$tmp/out")
api "sold out beyond capacity" 409 POST /v1/holds "$tok" "{\"ticket_type_id\":$free_type,\"quantity\":4}"
expect "sold_out code" '.error == "sold_out"'
api "zero quantity" 400 POST /v1/holds "$tok" "{\"ticket_type_id\":$free_type,\"quantity\":0}"
api "broken JSON" 400 POST /v1/holds "$tok" '{"ticket_type_id":'
api "no token" 401 POST /v1/holds "" "{\"ticket_type_id\":$free_type,\"quantity\":1}"

api "hold special" 201 POST /v1/holds "$tok" "{\"ticket_type_id\":$special_type,\"quantity\":1}"
shold=$(jq -r .id "$tmp/out")
api "order special" 201 POST /v1/orders "$tok" "{\"hold_ids\":[\"$shold\"]}"
sorder=$(jq -r .id "$tmp/out")
api "pay special" 200 POST "/v1/orders/$sorder/pay" "$tok" '{"provider":"free"}'
jq -r '.tickets[0].token' "$tmp/out" > "$tmp/special.txt"
api "type view shows the attributes" 200 GET "/v1/events/$event/ticket-types"
expect "special, zone" "[.ticket_types[]? // .[]? | select(.id == $special_type)] | .[0] | .special == true and .reentry == false and .zone == \"Ramp Gate B\""
api "PATCH zone" 200 PATCH "/v1/ticket-types/$special_type" "$otok" '{"zone":"Ramp Gate C","reentry":true}'
expect "patched" '.zone == "Ramp Gate C" and .reentry == true and .special == true'
api "PATCH bad flag" 400 PATCH "/v1/ticket-types/$special_type" "$otok" '{"special":"yes"}'

# --- the same tickets seen by admitctl, verified offline
check "order list" 0 "$ctl" order list "${db[@]}" --user "$cust_id"
expect "order list row" "select(.id == $order) | .state == \"paid\" and .seats == 2"
check "ticket list" 0 "$ctl" ticket list "${db[@]}" --order "$order"
[ "$(jq -r 'select(.id == '"$t1_id"') | .token' "$tmp/out")" = "$(cat "$tmp/t1.txt")" ] || fail "ticket list token differs"
api "public keys" 200 GET "/v1/events/$event/keys"
cp "$tmp/out" "$tmp/keys.json"
[ "$(jq -r '.keys[0].kid' "$tmp/keys.json")" = "$kid1" ] || fail "API and admitctl disagree on the event key"
check "ticket verifies offline" 0 "$ctl" verify --pub "$tmp/keys.json" "$(cat "$tmp/t1.txt")"
expect "verified fields" ".ok and .event == $event and .ticket == $t1_id and .type == $free_type"
curl -s -o "$tmp/t1.png" -H "Authorization: Bearer $tok" "$base/v1/tickets/$t1_id/qr.png"
check "special ticket verifies with its flag and seat" 0 "$ctl" verify --pub "$tmp/keys.json" "$(cat "$tmp/special.txt")"
expect "flag and seat in the token" '.special == true and .seat == "Ramp Gate B"'
check "ticket QR from admitd scans and verifies" 0 "$ctl" verify --pub "$tmp/keys.json" --image "$tmp/t1.png"

# --- revocation reaches the scanners' feed
check "ticket revoke" 0 "$ctl" ticket revoke "${db[@]}" --ticket "$t1_id"
expect "revocation seq" '.revocation_seq == 1'
check "revoke twice" 1 "$ctl" ticket revoke "${db[@]}" --ticket "$t1_id"
api "revocations (crew)" 200 GET "/v1/events/$event/revocations?since=0" "$ctok"
expect "revocation listed" "[.revocations[] | select(.ticket_id == $t1_id)] | length == 1"
api "revocations need staff" 403 GET "/v1/events/$event/revocations?since=0" "$tok"

# --- rotation: new key signs, old tickets still verify
check "rotate" 0 "$ctl" event keys "${db[@]}" --event "$event" --rotate
cp "$tmp/out" "$tmp/keys2.json"
expect "two keys" '(.keys | length) == 2' "$tmp/keys2.json"
check "old ticket valid after rotation" 0 "$ctl" verify --pub "$tmp/keys2.json" "$(cat "$tmp/t1.txt")"
check "retire old key" 0 "$ctl" event keys "${db[@]}" --event "$event" --retire "$kid1"
cp "$tmp/out" "$tmp/keys3.json"
check "old ticket refused after retirement" 1 "$ctl" verify --pub "$tmp/keys3.json" "$(cat "$tmp/t1.txt")"
check "rotate and retire together" 2 "$ctl" event keys "${db[@]}" --event "$event" --rotate --retire "$kid1"

# --- metrics and a clean stop
api "metrics" 200 GET /metrics
grep -q 'admit_http_requests_total' "$tmp/out" || fail "metrics lack the request counter"
kill -TERM "$pid"
wait "$pid"; rc=$?
pid=""
[ "$rc" = 0 ] && echo "ok   admitd stops cleanly on SIGTERM" || fail "admitd exit status $rc after SIGTERM"
curl -s -o /dev/null "$base/healthz" && fail "admitd still answers after SIGTERM"

# --- configuration: the packaged sample parses, errors are usage errors
check "packaging/admitd.ini parses" 0 "$admitd" --config "$ADMIT_SRCDIR/packaging/admitd.ini" --check-config
grep -q '^backend = sqlite$' "$tmp/out" || fail "sample config: backend not read as sqlite"
check "unknown store" 2 "$ctl" init --store oracle
check "admitd bad flag" 2 "$admitd" --no-such-flag
check "edge mode needs an enrollment token" 2 "$admitd" --sqlite "$tmp/edge.db" --mode edge --upstream http://127.0.0.1:1
grep -q "not enrolled" "$tmp/err" || fail "edge without a token: $(cat "$tmp/err")"
check "edge mode refuses MariaDB" 2 "$admitd" --mode edge --upstream http://127.0.0.1:1 --store mysql --mysql-primary mysql://a@127.0.0.1/x

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
