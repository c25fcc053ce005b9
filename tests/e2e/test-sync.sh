#!/bin/bash
# test-sync.sh: issue 4's multi-process test, all real binaries on loopback:
# a central admitd, an edge admitd (venue relay) and four admit-gate devices
# (two on the centre, two on the edge), with fault-injecting TCP proxies
# (tests/testutil/faultproxy) standing in for the network:
#   - book on the centre, enroll and sync the devices;
#   - cut the network, scan the same ticket at two gates, reconnect: one
#     accepted entry and one flagged conflict at the centre;
#   - online propagation: an entry at one gate reaches a following gate, which
#     then refuses the ticket with ALREADY_USED;
#   - through the edge while its upstream is cut: the second gate refuses
#     with ALREADY_USED, and the entries reach the centre on reconnection;
#   - a refund on the centre reaches the devices (and the edge's) as REVOKED;
#   - kill -9 of admit-gate in a burst of scans loses nothing; a sync whose
#     reply is cut mid-way loses and duplicates nothing;
#   - a corpus of malformed and forged codes is refused with the right reason.
# Needs ADMIT_BUILDDIR, curl, jq.
set -u
B=$ADMIT_BUILDDIR
ctl="$B/server/admitctl"
admitd="$B/server/admitd"
gate="$B/scanner/admit-gate"
proxy="$B/tests/faultproxy"
tmp=$(mktemp -d /tmp/admit-sync-e2e.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
check() { # check NAME EXPECTED_STATUS CMD...   (stdout in $tmp/out)
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit $got, expected $want"
        sed 's/^/  out: /' "$tmp/out" | head -8; sed 's/^/  err: /' "$tmp/err" | head -8
        return 1
    fi
    ok "$name"
}
expect() { # expect NAME JQ-FILTER [FILE]  (file slurped: .[0] is the first value)
    if [ "$(jq -rs "$2" "${3:-$tmp/out}" 2>/dev/null)" != true ]; then
        fail "$1: $2 on $(head -c 800 "${3:-$tmp/out}")"; return 1
    fi
    ok "$1"
}
# api BASE NAME STATUS METHOD PATH [TOKEN] [BODY]
api() {
    local base=$1 name=$2 want=$3 method=$4 path=$5 token=${6:-} body=${7:-} args=()
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    local got
    got=$(curl -s -o "$tmp/out" -w '%{http_code}' -X "$method" "${args[@]}" "$base$path")
    if [ "$got" != "$want" ]; then fail "$name: HTTP $got, expected $want: $(head -c 300 "$tmp/out")"; return 1; fi
    ok "$name"
}
# wait_for SECONDS CMD...: retries CMD every 0.1 s until it succeeds
wait_for() {
    local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000)); shift
    until "$@" >/dev/null 2>&1; do
        [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
start_admitd() { # start_admitd NAME ARGS...: sets $port
    local name=$1; shift
    "$admitd" --port 0 --access-log false --log-level warn "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    eval "${name}_pid=$!"
    for _ in $(seq 1 200); do grep -q 'listening on' "$tmp/$name.out" && break; sleep 0.05; done
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/$name.out")
    [ -n "$port" ] || { fail "$name did not start: $(cat "$tmp/$name.err")"; exit 1; }
}
start_proxy() { # start_proxy NAME TARGET_PORT: sets $port; control with set_link NAME MODE
    local name=$1
    echo pass >"$tmp/$name.ctl"
    "$proxy" 0 127.0.0.1 "$2" "$tmp/$name.ctl" >"$tmp/$name.proxy" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do grep -q '^ready' "$tmp/$name.proxy" && break; sleep 0.05; done
    port=$(awk '/^ready/ {print $2}' "$tmp/$name.proxy")
    [ -n "$port" ] || { fail "proxy $name did not start"; exit 1; }
}
set_link() { echo "$2" >"$tmp/$1.ctl.new" && mv "$tmp/$1.ctl.new" "$tmp/$1.ctl"; }

central=(--sqlite "$tmp/central.db")
edge_db=(--sqlite "$tmp/edge.db")
printf 'organiser-secret\n' >"$tmp/org.pw"
printf 'customer-secret\n' >"$tmp/cust.pw"
now=$(date +%s)

# ---- the centre: an event with one check-in list at two gates, tickets sold
check "init centre" 0 "$ctl" init "${central[@]}" --organiser org@test.example --password-file "$tmp/org.pw"
check "customer" 0 "$ctl" user add "${central[@]}" --email ana@test.example --password-file "$tmp/cust.pw"
check "venue" 0 "$ctl" venue add "${central[@]}" --name Arena --city Kuching --capacity 900
venue=$(cat "$tmp/out")
check "event" 0 "$ctl" event add "${central[@]}" --venue "$venue" --title "Gate Night" \
    --start $((now - 600)) --end $((now + 86400)) --on-sale
event=$(cat "$tmp/out")
check "ticket type" 0 "$ctl" type add "${central[@]}" --event "$event" --name GA --price 0 \
    --currency MYR --capacity 100 --per-order 20
type_id=$(cat "$tmp/out")
check "check-in list" 0 "$ctl" checkin-list add "${central[@]}" --event "$event" --name Main \
    --reentry once --gates North,South,East,West
list=$(jq -r .id "$tmp/out")

start_admitd centre "${central[@]}"
cport=$port
C="http://127.0.0.1:$cport"
api "$C" "login customer" 201 POST /v1/sessions "" '{"email":"ana@test.example","password":"customer-secret"}'
tok=$(jq -r .token "$tmp/out")
api "$C" "login organiser" 201 POST /v1/sessions "" '{"email":"org@test.example","password":"organiser-secret"}'
otok=$(jq -r .token "$tmp/out")
buy() { # buy N: order id to $order, tokens to $tmp/tickets-$order
    api "$C" "hold $1" 201 POST /v1/holds "$tok" "{\"ticket_type_id\":$type_id,\"quantity\":$1}" || return 1
    local hold; hold=$(jq -r .id "$tmp/out")
    api "$C" "order" 201 POST /v1/orders "$tok" "{\"hold_ids\":[\"$hold\"]}" || return 1
    order=$(jq -r .id "$tmp/out")
    api "$C" "pay" 200 POST "/v1/orders/$order/pay" "$tok" '{"provider":"free"}' || return 1
    jq -r '.tickets[].token' "$tmp/out" >"$tmp/tickets-$order"
}
buy 8; order1=$order; mapfile -t T <"$tmp/tickets-$order1"
buy 2; order2=$order; mapfile -t R <"$tmp/tickets-$order2" # refunded later
api "$C" "public keys" 200 GET "/v1/events/$event/keys"
cp "$tmp/out" "$tmp/keys.json"

# ---- devices on the centre, each behind its own link
enroll_token() { # enroll_token DB_ARGS... -- GATE [--relay]: URI to $uri
    "$ctl" enroll create "$@" >"$tmp/out" 2>"$tmp/err" || { fail "enroll create: $(cat "$tmp/err")"; return 1; }
    uri=$(jq -r .enroll_uri "$tmp/out")
    etoken=$(jq -r .token "$tmp/out")
}
start_proxy linkA "$cport"; pA=$port
start_proxy linkB "$cport"; pB=$port
enroll_token "${central[@]}" --event "$event" --gate North --public-url "http://127.0.0.1:$pA"
check "gate A enrolls through its link" 0 "$gate" enroll --db "$tmp/A.db" --name "gate A" --insecure-http "$uri"
check "enrollment token works once" 1 "$gate" enroll --db "$tmp/A2.db" --insecure-http "$uri"
enroll_token "${central[@]}" --event "$event" --gate South --public-url "http://127.0.0.1:$pB"
check "gate B enrolls" 0 "$gate" enroll --db "$tmp/B.db" --name "gate B" --insecure-http "$uri"
check "gate B status" 0 "$gate" status --db "$tmp/B.db"
expect "B knows the event and list" ".[0].event_id == $event and .[0].gate == \"South\""
devA=$("$gate" status --db "$tmp/A.db" | jq -r .device)
devB=$("$gate" status --db "$tmp/B.db" | jq -r .device)

scan() { "$gate" scan --db "$tmp/$1.db" --list "$list" --gate "$2" "${@:3}"; }

# ---- offline at both gates: the same ticket admitted twice -> one conflict
set_link linkA down; set_link linkB down
check "A admits T0 offline" 0 scan A North "${T[0]}"
check "B admits T0 offline (cannot know)" 0 scan B South "${T[0]}"
check "sync fails while cut" 1 "$gate" sync --db "$tmp/A.db"
check "A journal still pending" 0 "$gate" status --db "$tmp/A.db"
expect "A has 1 pending upload" '.[0].pending_uploads == 1'
set_link linkA pass; set_link linkB pass
check "A syncs on reconnection" 0 "$gate" sync --db "$tmp/A.db"
check "B syncs on reconnection" 0 "$gate" sync --db "$tmp/B.db"
api "$C" "conflicts at the centre" 200 GET "/v1/events/$event/checkins?conflicts=1" "$otok"
t0=$("$ctl" verify --pub "$tmp/keys.json" "${T[0]}" | jq -r .ticket)
expect "one conflict, the later scan" "[.[0].checkins[] | select(.ticket_id == $t0)] | length == 1"
api "$C" "all check-ins of T0" 200 GET "/v1/events/$event/checkins" "$otok"
expect "two accepted entries stored, one flagged" "[.[0].checkins[] | select(.ticket_id == $t0 and .verdict == \"accept\")] | (length == 2 and (map(select(.conflict)) | length) == 1)"
check "admitctl shows the conflict" 0 "$ctl" checkin conflicts "${central[@]}" --event "$event"
grep -q "$t0" "$tmp/out" || fail "admitctl checkin conflicts lacks ticket $t0"
check "A now refuses T0 (B's entry synced)" 1 scan A North "${T[0]}"
expect "already used" '.[0].verdict == "already_used"'

# ---- online propagation: B follows the feed, A admits T1, B refuses it
"$gate" sync --db "$tmp/B.db" --follow >"$tmp/B.follow" 2>&1 &
follow_pid=$!; pids+=($follow_pid)
sleep 0.5
check "A admits T1" 0 scan A North "${T[1]}"
t_start=$(date +%s%N)
check "A uploads" 0 "$gate" sync --db "$tmp/A.db"
t1=$("$ctl" verify --pub "$tmp/keys.json" "${T[1]}" | jq -r .ticket)
b_knows_t1() { "$gate" status --db "$tmp/B.db" | jq -e ".remote_checkins >= 2" >/dev/null; }
if wait_for 10 b_knows_t1; then
    ok "the entry reached B within $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
else
    fail "the entry at A did not reach B"
fi
check "B refuses T1" 1 scan B South "${T[1]}"
expect "already used at North" ".[0].verdict == \"already_used\" and .[0].first_used.gate == \"North\""
kill "$follow_pid"; wait "$follow_pid" 2>/dev/null

# ---- the edge relay: enrolled as a relay, its own two gates, upstream cut
start_proxy uplink "$cport"; pU=$port
enroll_token "${central[@]}" --event "$event" --gate Venue --relay
check "edge init" 0 "$ctl" init "${edge_db[@]}"
start_admitd edge "${edge_db[@]}" --mode edge --upstream "http://127.0.0.1:$pU" --upstream-token "$etoken"
eport=$port
E="http://127.0.0.1:$eport"
api "$E" "the edge sells nothing (no catalog routes)" 404 GET /v1/events
edge_has_event() { "$ctl" enroll create "${edge_db[@]}" --event "$event" --gate East --public-url "$E"; }
wait_for 10 edge_has_event || fail "the edge did not mirror event $event"
enroll_token "${edge_db[@]}" --event "$event" --gate East --public-url "$E"
check "gate C enrolls with the edge" 0 "$gate" enroll --db "$tmp/C.db" --name "gate C" --insecure-http "$uri"
enroll_token "${edge_db[@]}" --event "$event" --gate West --public-url "$E"
check "gate D enrolls with the edge" 0 "$gate" enroll --db "$tmp/D.db" --name "gate D" --insecure-http "$uri"
check "D got the centre's check-ins through the edge" 0 "$gate" status --db "$tmp/D.db"
expect "D knows the earlier entries" '.[0].remote_checkins >= 3'
check "D refuses T0 (admitted at the centre's gates)" 1 scan D West "${T[0]}"

set_link uplink down
check "C admits T2 (edge upstream cut)" 0 scan C East "${T[2]}"
check "C uploads to the edge" 0 "$gate" sync --db "$tmp/C.db"
check "D pulls from the edge" 0 "$gate" sync --db "$tmp/D.db"
check "D refuses T2 with ALREADY_USED" 1 scan D West "${T[2]}"
expect "first used at East by C" ".[0].verdict == \"already_used\" and .[0].first_used.gate == \"East\""
# a conflict across hops: T3 admitted at A (centre) and at C (edge) while apart
set_link linkA down
check "A admits T3 offline" 0 scan A North "${T[3]}"
check "C admits T3 (edge cut from the centre)" 0 scan C East "${T[3]}"
check "C uploads T3 to the edge" 0 "$gate" sync --db "$tmp/C.db"
set_link linkA pass
check "A uploads T3" 0 "$gate" sync --db "$tmp/A.db"
set_link uplink pass
t2=$("$ctl" verify --pub "$tmp/keys.json" "${T[2]}" | jq -r .ticket)
t3=$("$ctl" verify --pub "$tmp/keys.json" "${T[3]}" | jq -r .ticket)
centre_has_t2() { curl -sf -H "Authorization: Bearer $otok" "$C/v1/events/$event/checkins?limit=5000" | jq -e "[.checkins[] | select(.ticket_id == $t2)] | length == 1"; }
wait_for 20 centre_has_t2 && ok "the edge's entry reached the centre on reconnection" || fail "T2 never reached the centre"
centre_t3_conflict() { curl -sf -H "Authorization: Bearer $otok" "$C/v1/events/$event/checkins?conflicts=1" | jq -e "[.checkins[] | select(.ticket_id == $t3)] | length == 1"; }
wait_for 20 centre_t3_conflict && ok "a conflict between a centre gate and an edge gate is flagged at the centre" || fail "no conflict for T3 at the centre"

# ---- refund on the centre -> REVOKED at every device
api "$C" "refund order 2" 200 POST "/v1/orders/$order2/refund" "$otok" '{}'
check "A syncs the revocation" 0 "$gate" sync --db "$tmp/A.db"
check "A refuses a refunded ticket" 1 scan A North "${R[0]}"
expect "revoked" '.[0].verdict == "revoked"'
d_gets_revocation() { "$gate" sync --db "$tmp/D.db" && "$gate" status --db "$tmp/D.db" | jq -e '.revocations >= 2'; }
wait_for 20 d_gets_revocation && ok "the revocation reached D through the edge" || fail "revocation never reached D"
check "D refuses the refunded ticket" 1 scan D West "${R[1]}"
expect "revoked at the edge's gate" '.[0].verdict == "revoked"'

# ---- kill -9 in a burst; a sync cut mid-reply
for i in $(seq 1 400); do echo "BURST-$i-not-a-ticket"; done >"$tmp/burst.txt"
( while read -r l; do echo "$l"; sleep 0.002; done <"$tmp/burst.txt" ) |
    "$gate" scan --db "$tmp/B.db" --list "$list" --gate South --stdin >"$tmp/burst.out" 2>/dev/null &
burst_pid=$!
sleep 0.4
pkill -9 -f "admit-gate scan --db $tmp/B.db" 2>/dev/null
wait "$burst_pid" 2>/dev/null
reported=$(jq -r '.nonce // empty' "$tmp/burst.out" 2>/dev/null | sort -u)
n_reported=$(printf '%s\n' "$reported" | grep -c .)
"$gate" journal --db "$tmp/B.db" | jq -r .nonce | sort -u >"$tmp/journal.nonces"
missing=$(comm -23 <(printf '%s\n' "$reported" | grep .) "$tmp/journal.nonces" | wc -l)
[ "$n_reported" -gt 0 ] && [ "$missing" -eq 0 ] && ok "kill -9 after $n_reported reported scans: every one is in the journal" ||
    fail "kill -9: $n_reported reported, $missing missing from the journal"
set_link linkB "cut 40"
check "a sync whose reply is cut fails" 1 "$gate" sync --db "$tmp/B.db"
set_link linkB pass
check "the retry completes" 0 "$gate" sync --db "$tmp/B.db"
check "B has nothing pending" 0 "$gate" status --db "$tmp/B.db"
expect "no pending uploads" '.[0].pending_uploads == 0'
api "$C" "centre scans of B" 200 GET "/v1/events/$event/checkins?limit=5000" "$otok"
jq -r ".checkins[] | select(.device == \"$devB\") | .nonce" "$tmp/out" | sort >"$tmp/centre.nonces"
if cmp -s "$tmp/centre.nonces" "$tmp/journal.nonces"; then
    ok "the centre holds B's journal exactly: $(wc -l <"$tmp/centre.nonces") scans, none lost, none twice"
else
    fail "centre and B's journal differ: $(diff "$tmp/centre.nonces" "$tmp/journal.nonces" | head -5)"
fi

# ---- malformed and forged codes
tok0=${T[4]}
corpus=()
for ((i = 4; i < ${#tok0}; i++)); do # flip a bit of every character after "AD1:"
    c=$(printf '%d' "'${tok0:i:1}")
    f=$(printf "\\$(printf '%03o' $((c ^ 1)))")
    corpus+=("${tok0:0:i}$f${tok0:i+1}")
done
for n in 5 20 60 100 $((${#tok0} - 1)); do corpus+=("${tok0:0:n}"); done
corpus+=("$(printf 'AD1:%0300d' 0)" "AD1:" "" "AD2:${tok0:4}")
check "keygen (a foreign key)" 0 "$ctl" keygen --dir "$tmp/fkeys"
corpus+=("$("$ctl" issue --key "$tmp/fkeys" --event "$event" --type "$type_id" --ticket 77)")
corpus+=("$("$ctl" issue --key "$tmp/fkeys" --event $((event + 1)) --type "$type_id" --ticket 78)")
"$gate" scan --db "$tmp/A.db" --list "$list" --gate North "${corpus[@]}" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && ok "the corpus runs without a crash (${#corpus[@]} codes)" || fail "corpus exit status $rc: $(head -3 "$tmp/err")"
expect "every code refused" "length == ${#corpus[@]} and all(.[]; .verdict != \"accept\")"
expect "forged with a foreign key: unknown_key; other event: wrong_event" \
    '.[-2].verdict == "unknown_key" and .[-1].verdict == "wrong_event"'
expect "oversize and truncations are malformed" \
    '[.[] | select(.verdict == "malformed")] | length >= 5'
expect "verdicts only from the documented set" \
    'all(.[]; .verdict | IN("malformed","bad_signature","unknown_key","wrong_event","wrong_gate","not_yet_valid","expired"))'

# ---- stats and a clean stop of the edge
api "$C" "stats" 200 GET "/v1/events/$event/checkins/stats" "$otok"
expect "stats count the admissions and conflicts" '.[0].lists[0].admitted >= 6 and .[0].lists[0].conflicts == 2'
kill -TERM "$edge_pid"; wait "$edge_pid"; rc=$?
[ "$rc" = 0 ] && ok "edge stops cleanly on SIGTERM" || fail "edge exit status $rc"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
