#!/bin/bash
# test-primary-restart.sh: the real admitd on MariaDB (primary + replica) while
# the primary goes away and comes back, twice: once stopped cleanly (SIGTERM)
# and once killed (SIGKILL, with holds in flight). While it is down, requests
# that need the primary (sign-in, holds, orders, /readyz) answer 503
# store_unavailable with Retry-After at once instead of hanging, catalog reads
# keep being answered by the replica (docs/store.md §8: a replica stays in
# rotation on its last lag estimate while the primary cannot be reached), and
# admitd stays up. Once the primary is back on its datadir and port, /readyz
# is 200 again within 20 s and hold -> order -> pay works on the first try
# (broken pooled connections are replaced), a hold retried with its
# Idempotency-Key is made once, the order paid before is intact, every hold
# answered 201 exists, and the seat counters match the rows with sold + held
# never above capacity. Runs alone (it stops the shared primary and restarts
# the replica's replication); skipped without scripts/services' MariaDB.
set -u
[ -n "${ADMIT_TEST_MYSQL_PRIMARY:-}" ] && [ -n "${ADMIT_TEST_MYSQL_REPLICA:-}" ] &&
    [ -n "${ADMIT_TEST_MYSQL_PRIMARY_SOCK:-}" ] && [ -n "${ADMIT_TEST_MYSQL_REPLICA_SOCK:-}" ] &&
    [ -f "${ADMIT_SVC_DIR:-/nonexistent}/primary.pid" ] ||
    { echo "MariaDB primary + replica not running: skipped"; exit 77; }
ctl="$ADMIT_BUILDDIR/server/admitctl"
admitd="$ADMIT_BUILDDIR/server/admitd"
tmp=$(mktemp -d /tmp/admit-primary-test.XXXXXX)
pid="" bg=""
sql_primary() { mariadb --no-defaults --socket="$ADMIT_TEST_MYSQL_PRIMARY_SOCK" -uroot -N -B -e "$1"; }
sql_replica() { mariadb --no-defaults --socket="$ADMIT_TEST_MYSQL_REPLICA_SOCK" -uroot -N -B -e "$1"; }
primary_pid() { cat "$ADMIT_SVC_DIR/primary.pid" 2>/dev/null; }
# alive PID: the process exists and is not a zombie
alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
}
# start_primary: scripts/services' own command, same datadir, port and
# options, in a session of its own so that nothing signalling this test's
# process group (meson's timeout) takes the shared primary with it
start_primary() {
    setsid -w bash -c '. "$1/scripts/services" && ADMIT_SVC_DIR=$2 && mariadb_restart_primary' \
        _ "$ADMIT_SRCDIR" "$ADMIT_SVC_DIR"
}
primary_up() { mariadb-admin --no-defaults --socket="$ADMIT_TEST_MYSQL_PRIMARY_SOCK" -uroot ping >/dev/null 2>&1; }
cleanup() {
    [ -n "$bg" ] && kill "$bg" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    # leave the shared servers as we found them: primary up, replica replicating
    primary_up || start_primary
    sql_replica "STOP SLAVE; START SLAVE" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
db=(--store mysql --mysql-primary "$ADMIT_TEST_MYSQL_PRIMARY")
run=$$-$RANDOM
capacity=300

# status PATH [TOKEN] [METHOD] [BODY] [IDEM-KEY] -> HTTP status; body in
# $tmp/out, headers in $tmp/hdr, seconds taken in $tmp/time. Every request is
# bounded by --max-time: a hang fails the test instead of stalling it.
status() {
    local args=(-s --max-time "${MAXT:-10}" -o "$tmp/out" -D "$tmp/hdr" -X "${3:-GET}"
        -w '%{http_code} %{time_total}')
    [ -n "${2:-}" ] && args+=(-H "Authorization: Bearer $2")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    [ -n "${5:-}" ] && args+=(-H "Idempotency-Key: $5")
    local r
    r=$(curl "${args[@]}" "$base$1")
    echo "${r#* }" > "$tmp/time"
    echo "${r%% *}"
}
# unavailable WHAT: the last reply was a prompt 503 store_unavailable with Retry-After
unavailable() {
    local code=$1 what=$2
    if [ "$code" = 503 ] && [ "$(jq -r .error "$tmp/out" 2>/dev/null)" = store_unavailable ] &&
        grep -qi '^retry-after: *1' "$tmp/hdr" && awk '{ exit !($1 < 5) }' "$tmp/time"; then
        ok "$what: 503 store_unavailable, Retry-After, in $(cat "$tmp/time") s"
    else
        fail "$what: $code in $(cat "$tmp/time") s: $(head -c 200 "$tmp/out")"
    fi
}
replica_reads() {
    curl -s --max-time 5 "$base/metrics" |
        awk '/^admit_store_queries_total\{.*role="replica"/ { s += $NF } END { print s + 0 }'
}
# caught_up: the replica has applied everything the primary has written
caught_up() {
    local pos
    pos=$(sql_primary "SELECT @@gtid_binlog_pos") &&
        [ "$(sql_replica "SELECT MASTER_GTID_WAIT('$pos', 10)")" = 0 ]
}
# buy N: hold -> order -> pay as $tok, each on the first try; sets $order
buy() {
    local code hold
    order=""
    code=$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":$1}")
    [ "$code" = 201 ] || { fail "hold: $code $(head -c 200 "$tmp/out")"; return 1; }
    hold=$(jq -r .id "$tmp/out")
    code=$(status /v1/orders "$tok" POST "{\"hold_ids\":[\"$hold\"]}")
    [ "$code" = 201 ] || { fail "order: $code $(head -c 200 "$tmp/out")"; return 1; }
    order=$(jq -r .id "$tmp/out")
    code=$(status "/v1/orders/$order/pay" "$tok" POST '{"provider":"free"}')
    [ "$code" = 200 ] && [ "$(jq -r '.state + ":" + (.tickets | length | tostring)' "$tmp/out")" = "paid:$1" ] ||
        { fail "pay: $code $(head -c 200 "$tmp/out")"; return 1; }
}
# counters_match WHEN: on the primary, sold is the type's tickets, held the
# seats of its active holds and of its pending orders, sold + held <= capacity
counters_match() {
    local row
    row=$(sql_primary "SELECT t.capacity, t.sold, t.held,
        (SELECT COUNT(*) FROM admit.tickets k WHERE k.type_id = t.id),
        (SELECT COALESCE(SUM(h.quantity), 0) FROM admit.holds h LEFT JOIN admit.orders o ON o.id = h.order_id
          WHERE h.type_id = t.id AND (h.state = 0 OR (h.state = 3 AND o.state = 0)))
        FROM admit.ticket_types t WHERE t.id = $type")
    read -r c s h k hh <<< "$row"
    if [ -n "${hh:-}" ] && [ "$s" = "$k" ] && [ "$h" = "$hh" ] && [ $((s + h)) -le "$c" ]; then
        ok "$1: counters match the rows (capacity $c, sold $s = $k tickets, held $h)"
    else
        fail "$1: counters do not match the rows: capacity/sold/held/tickets/held-rows = ${row:-?}"
    fi
}
# threes: this run's holds of 3 seats
threes() {
    sql_primary "SELECT COUNT(*) FROM admit.holds WHERE type_id = $type AND quantity = 3"
}
wait_gone() { # PID: up to 30 s
    local i
    for i in $(seq 1 300); do alive "$1" || return 0; sleep 0.1; done
    return 1
}

printf 'primary-test-pass\n' > "$tmp/pw"
"$ctl" init "${db[@]}" >/dev/null || { fail "admitctl init on MariaDB"; exit 1; }
"$ctl" user add "${db[@]}" --email "buyer-$run@test.example" --password-file "$tmp/pw" >/dev/null
venue=$("$ctl" venue add "${db[@]}" --name "Restart Hall $run" --city Ipoh)
now=$(date +%s)
event=$("$ctl" event add "${db[@]}" --venue "$venue" --title "Restart night $run" \
    --start $((now + 86400)) --end $((now + 90000)) --on-sale)
type=$("$ctl" type add "${db[@]}" --event "$event" --name Free --price 0 --currency MYR \
    --capacity "$capacity" --per-order 100)
[ -n "$type" ] || { fail "catalog set-up on MariaDB"; exit 1; }

"$admitd" "${db[@]}" --mysql-replica "$ADMIT_TEST_MYSQL_REPLICA" --replica-max-lag 5 \
    --port 0 --access-log false > "$tmp/admitd.out" 2>"$tmp/admitd.err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$tmp/admitd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/admitd.out")
[ -n "$port" ] || { fail "admitd did not start: $(cat "$tmp/admitd.err")"; exit 1; }
base="http://127.0.0.1:$port"

[ "$(status /v1/sessions "" POST "{\"email\":\"buyer-$run@test.example\",\"password\":\"primary-test-pass\"}")" = 201 ] ||
    { fail "login: $(cat "$tmp/out")"; exit 1; }
tok=$(jq -r .token "$tmp/out")
buy 2 && first=$order && ok "order $first paid before any restart" || exit 1

# outage ROUND SIGNAL: stop the primary with SIGNAL while admitd runs, check
# what admitd answers meanwhile, start the primary again and check recovery
outage() {
    local round=$1 sig=$2 n3 ppid code before after t0 waited got i idem
    idem="restart-$run-$round"

    # the replica has everything and answers catalog reads before the outage
    caught_up || fail "$round: the replica did not catch up before the outage"
    got=""
    for i in $(seq 1 50); do
        before=$(replica_reads)
        [ "$(status "/v1/events/$event")" = 200 ] && [ "$(replica_reads)" -gt "$before" ] && got=1 && break
        sleep 0.1
    done
    [ -n "$got" ] || fail "$round: the replica is not answering catalog reads before the outage"

    n3=$(threes) # the refused hold below asks for 3 seats, nothing else does
    ppid=$(primary_pid)
    [ -n "$ppid" ] && alive "$ppid" || { fail "$round: no primary pid"; return 1; }
    if [ "$sig" = KILL ]; then
        # holds in flight when the primary dies: whatever was answered 201
        # must exist afterwards, whatever failed may or may not have committed
        : > "$tmp/bg-$round"
        (
            for i in $(seq 1 400); do
                r=$(curl -s --max-time 10 -o "$tmp/bgout" -w '%{http_code}' -X POST \
                    -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
                    --data-binary "{\"ticket_type_id\":$type,\"quantity\":1}" "$base/v1/holds")
                if [ "$r" = 201 ]; then
                    echo "201 $(jq -r .id "$tmp/bgout")" >> "$tmp/bg-$round"
                else
                    echo "$r" >> "$tmp/bg-$round"
                    [ "$(grep -c -v '^201' "$tmp/bg-$round")" -ge 5 ] && break
                fi
            done
        ) &
        bg=$!
        sleep 0.3
    fi
    t0=$SECONDS
    kill "-$sig" "$ppid"
    wait_gone "$ppid" && ok "$round: primary (pid $ppid) stopped by SIG$sig in $((SECONDS - t0)) s" ||
        { fail "$round: the primary did not exit"; return 1; }
    if [ -n "$bg" ]; then
        wait "$bg"
        bg=""
        i=$(grep -c '^201' "$tmp/bg-$round")
        [ "$(grep -c -v '^201' "$tmp/bg-$round")" -ge 5 ] &&
            ! grep -q -v -e '^201 [0-9a-f]\{32\}$' -e '^503$' "$tmp/bg-$round" &&
            ok "$round: in-flight holds answered 201 ($i) or 503, no hang" ||
            fail "$round: in-flight holds: $(sort "$tmp/bg-$round" | uniq -c | head -5)"
    fi

    # down: what needs the primary fails fast with 503; admitd stays up
    alive "$pid" || fail "$round: admitd died with the primary"
    [ "$(status /healthz)" = 200 ] && ok "$round: /healthz still 200" || fail "$round: /healthz while down"
    code=$(status /readyz)
    [ "$code" = 503 ] && [ "$(jq -r .error "$tmp/out")" = not_ready ] && awk '{ exit !($1 < 5) }' "$tmp/time" &&
        ok "$round: /readyz 503 not_ready in $(cat "$tmp/time") s" || fail "$round: /readyz while down: $code in $(cat "$tmp/time") s"
    unavailable "$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":3}" "$idem")" "$round: hold"
    unavailable "$(status /v1/orders "$tok" POST '{"hold_ids":["0123456789abcdef0123456789abcdef"]}')" "$round: checkout"
    unavailable "$(status "/v1/orders/$first" "$tok")" "$round: own order (read on the primary)"
    unavailable "$(status /v1/sessions "" POST "{\"email\":\"buyer-$run@test.example\",\"password\":\"primary-test-pass\"}")" "$round: sign-in"
    # catalog reads: the replica keeps answering them
    got=1 before=$(replica_reads)
    for i in $(seq 1 10); do
        code=$(status "/v1/events/$event")
        [ "$code" = 200 ] && [ "$(jq -r '.ticket_types[0].id' "$tmp/out")" = "$type" ] || { got=""; break; }
        sleep 0.2
    done
    after=$(replica_reads)
    [ -n "$got" ] && [ "$after" -ge $((before + 10)) ] &&
        ok "$round: catalog reads served by the replica while the primary is down ($before -> $after)" ||
        fail "$round: catalog read while down: $code $(head -c 200 "$tmp/out") (replica reads $before -> $after)"
    code=$(status "/v1/events/$event/ticket-types")
    [ "$code" = 200 ] && ok "$round: availability polling served" || fail "$round: ticket-types while down: $code"

    # back: same datadir and port
    t0=$SECONDS
    start_primary || { fail "$round: the primary did not start again"; return 1; }
    waited=""
    for i in $(seq 1 100); do
        [ "$(MAXT=5 status /readyz)" = 200 ] && waited=1 && break
        sleep 0.2
    done
    [ -n "$waited" ] && ok "$round: primary back (pid $(primary_pid)); /readyz 200 after $((SECONDS - t0)) s" ||
        { fail "$round: /readyz not 200 within 20 s of the restart: $(cat "$tmp/out")"; return 1; }
    code=$(status "/v1/orders/$first" "$tok")
    [ "$code" = 200 ] && [ "$(jq -r '.state + ":" + (.tickets | length | tostring)' "$tmp/out")" = "paid:2" ] &&
        ok "$round: order $first still paid with its 2 tickets" || fail "$round: order $first after restart: $code $(head -c 200 "$tmp/out")"
    [ "$(threes)" = "$n3" ] && ok "$round: the refused hold left no row" ||
        fail "$round: a hold refused with 503 was written"
    buy 1 && ok "$round: hold -> order -> pay on the first try after the restart (order $order)"
    # the client retries the refused hold with its key: made once
    code=$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":3}" "$idem")
    h1=$(jq -r .id "$tmp/out")
    [ "$code" = 201 ] && [ "$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":3}" "$idem")" = 201 ] &&
        [ "$(jq -r .id "$tmp/out")" = "$h1" ] &&
        ok "$round: the refused hold, retried with its Idempotency-Key, is made once" ||
        fail "$round: idempotent retry of the refused hold: $code $(head -c 200 "$tmp/out")"
    status "/v1/holds/$h1" "$tok" DELETE >/dev/null
    if [ -f "$tmp/bg-$round" ]; then
        got=1
        while read -r code h; do
            [ "$code" = 201 ] || continue
            [ "$(status "/v1/holds/$h" "$tok")" = 200 ] && [ "$(jq -r .state "$tmp/out")" = active ] || { got=""; break; }
        done < "$tmp/bg-$round"
        [ -n "$got" ] && ok "$round: every hold answered 201 before the kill is there" ||
            fail "$round: hold $h answered 201 is missing: $(head -c 200 "$tmp/out")"
    fi
    counters_match "$round"

    # the replica re-attaches (its I/O thread would only retry after
    # MASTER_CONNECT_RETRY, 60 s) and catches up
    sql_replica "STOP SLAVE; START SLAVE" || fail "$round: START SLAVE"
    caught_up && ok "$round: the replica re-attached and caught up" || fail "$round: the replica did not catch up"
}

outage term TERM
outage kill KILL

# capacity is never exceeded: fill what is left, then one more is sold out
row=$(sql_primary "SELECT capacity - sold - held FROM admit.ticket_types WHERE id = $type")
left=${row:-0}
while [ "$left" -gt 0 ]; do
    q=$((left > 100 ? 100 : left))
    code=$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":$q}")
    [ "$code" = 201 ] || { fail "filling the type: $code $(head -c 200 "$tmp/out")"; break; }
    left=$((left - q))
done
code=$(status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":1}")
[ "$code" = 409 ] && [ "$(jq -r .error "$tmp/out")" = sold_out ] &&
    ok "full after the restarts: one more seat is sold_out" || fail "hold past capacity: $code $(head -c 200 "$tmp/out")"
counters_match "end"
[ "$(sql_primary "SELECT sold + held FROM admit.ticket_types WHERE id = $type")" = "$capacity" ] ||
    fail "sold + held is not the capacity at the end"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ "$rc" = 0 ] && ok "admitd stops cleanly" || fail "admitd exit $rc: $(tail -5 "$tmp/admitd.err")"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
