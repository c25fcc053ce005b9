#!/bin/bash
# test-replica.sh: the real admitd on MariaDB with a read replica, as
# operators see it: catalog reads keep working while the replica lags
# (STOP SLAVE) and while it hangs (SIGSTOP), a buyer always sees their own
# order right after paying, and the replica rejoins when healthy. Runs alone
# (it stops the shared replica); skipped without scripts/services' MariaDB.
set -u
[ -n "${ADMIT_TEST_MYSQL_PRIMARY:-}" ] && [ -n "${ADMIT_TEST_MYSQL_REPLICA:-}" ] &&
    [ -n "${ADMIT_TEST_MYSQL_REPLICA_SOCK:-}" ] && [ -f "${ADMIT_SVC_DIR:-/nonexistent}/replica.pid" ] ||
    { echo "MariaDB primary + replica not running: skipped"; exit 77; }
ctl="$ADMIT_BUILDDIR/server/admitctl"
admitd="$ADMIT_BUILDDIR/server/admitd"
tmp=$(mktemp -d /tmp/admit-replica-test.XXXXXX)
replica_pid=$(cat "$ADMIT_SVC_DIR/replica.pid")
pid=""
sql_replica() { mariadb --no-defaults --socket="$ADMIT_TEST_MYSQL_REPLICA_SOCK" -uroot -N -B -e "$1"; }
cleanup() {
    kill -CONT "$replica_pid" 2>/dev/null
    sql_replica "START SLAVE" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
db=(--store mysql --mysql-primary "$ADMIT_TEST_MYSQL_PRIMARY")
run=$$-$RANDOM

# status PATH [TOKEN] [METHOD] [BODY] -> HTTP status, body in $tmp/out
status() {
    local args=(-s --max-time "${MAXT:-10}" -o "$tmp/out" -w '%{http_code}' -X "${3:-GET}")
    [ -n "${2:-}" ] && args+=(-H "Authorization: Bearer $2")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    curl "${args[@]}" "$base$1"
}
# replica_reads: the admitd metric of store queries answered by the replica
replica_reads() {
    curl -s "$base/metrics" | awk '/^admit_store_queries_total\{.*role="replica"/ { s += $NF } END { print s + 0 }'
}

printf 'replica-test-pass\n' > "$tmp/pw"
"$ctl" init "${db[@]}" >/dev/null || { fail "admitctl init on MariaDB"; exit 1; }
"$ctl" user add "${db[@]}" --email "buyer-$run@test.example" --password-file "$tmp/pw" >/dev/null
venue=$("$ctl" venue add "${db[@]}" --name "Replica Hall $run" --city Ipoh)
now=$(date +%s)
event=$("$ctl" event add "${db[@]}" --venue "$venue" --title "Replica night $run" \
    --start $((now + 86400)) --end $((now + 90000)) --on-sale)
type=$("$ctl" type add "${db[@]}" --event "$event" --name Free --price 0 --currency MYR --capacity 50)
[ -n "$type" ] || { fail "catalog set-up on MariaDB"; exit 1; }

"$admitd" "${db[@]}" --mysql-replica "$ADMIT_TEST_MYSQL_REPLICA" --replica-max-lag 1 \
    --port 0 --access-log false > "$tmp/admitd.out" 2>"$tmp/admitd.err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$tmp/admitd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/admitd.out")
[ -n "$port" ] || { fail "admitd did not start: $(cat "$tmp/admitd.err")"; exit 1; }
base="http://127.0.0.1:$port"

# 1. healthy replica: catalog reads are answered by it (once it has the event)
got=""
for _ in $(seq 1 50); do [ "$(status "/v1/events/$event")" = 200 ] && got=1 && break; sleep 0.1; done
[ -n "$got" ] && ok "catalog read with a healthy replica" || fail "GET /v1/events/$event never 200"
before=$(replica_reads)
for _ in $(seq 1 20); do status "/v1/events/$event" >/dev/null; done
after=$(replica_reads)
[ "$after" -gt "$before" ] && ok "the replica answers catalog reads ($before -> $after)" ||
    fail "no catalog read went to the replica ($before -> $after)"

# 2. lagging replica (replication stopped, primary moves on): reads go to the primary
sql_replica "STOP SLAVE" || fail "STOP SLAVE"
event2=$("$ctl" event add "${db[@]}" --venue "$venue" --title "Added while lagging $run" \
    --start $((now + 186400)) --end $((now + 190000)) --on-sale)
got=""
for _ in $(seq 1 100); do [ "$(status "/v1/events/$event2")" = 200 ] && got=1 && break; sleep 0.1; done
[ -n "$got" ] && ok "a lagging replica leaves rotation: new event visible from the primary" ||
    fail "event $event2 not visible while the replica lags"
code=$(status "/v1/events?q=Replica%20night%20$run")
[ "$code" = 200 ] && [ "$(jq '.events | length' "$tmp/out")" = 1 ] && ok "search works while lagging" ||
    fail "search while lagging: $code $(head -c 200 "$tmp/out")"

# 3. read-your-writes while the replica lags
[ "$(status /v1/sessions "" POST "{\"email\":\"buyer-$run@test.example\",\"password\":\"replica-test-pass\"}")" = 201 ] ||
    fail "login: $(cat "$tmp/out")"
tok=$(jq -r .token "$tmp/out")
status /v1/holds "$tok" POST "{\"ticket_type_id\":$type,\"quantity\":2}" >/dev/null
hold=$(jq -r .id "$tmp/out")
status /v1/orders "$tok" POST "{\"hold_ids\":[\"$hold\"]}" >/dev/null
order=$(jq -r .id "$tmp/out")
code=$(status "/v1/orders/$order/pay" "$tok" POST '{"provider":"free"}')
[ "$code" = 200 ] || fail "pay: $code $(head -c 300 "$tmp/out")"
code=$(status "/v1/orders/$order" "$tok")
[ "$code" = 200 ] && [ "$(jq -r '.state + ":" + (.tickets | length | tostring)' "$tmp/out")" = "paid:2" ] &&
    ok "the buyer sees their paid order and tickets at once" || fail "own order right after paying: $code $(head -c 300 "$tmp/out")"
code=$(status "/v1/orders" "$tok")
[ "$code" = 200 ] && [ "$(jq "[.orders[] | select(.id == $order)] | length" "$tmp/out")" = 1 ] &&
    ok "the order list shows it too" || fail "order list right after paying"

# 4. the replica catches up and comes back into rotation
sql_replica "START SLAVE" || fail "START SLAVE"
back=""
for _ in $(seq 1 100); do
    before=$(replica_reads)
    status "/v1/events/$event2" >/dev/null
    [ "$(replica_reads)" -gt "$before" ] && back=1 && break
    sleep 0.1
done
[ -n "$back" ] && ok "the replica rejoins after catching up" || fail "replica never rejoined"

# 5. a hung replica (SIGSTOP): reads fail over to the primary within the health-check bound
kill -STOP "$replica_pid"
got="" t0=$SECONDS
MAXT=30
for _ in $(seq 1 60); do [ "$(status "/v1/events/$event")" = 200 ] && got=1 && break; sleep 0.5; done
MAXT=10
for _ in $(seq 1 5); do [ "$(status "/v1/events/$event")" = 200 ] || got=""; done
[ -n "$got" ] && ok "a hung replica leaves rotation; reads served by the primary (after $((SECONDS - t0)) s)" ||
    fail "reads do not recover while the replica hangs"
[ "$(status "/v1/orders/$order" "$tok")" = 200 ] && ok "orders unaffected by the hung replica" ||
    fail "order read while the replica hangs"
kill -CONT "$replica_pid"
[ "$(MAXT=30 status /readyz)" = 200 ] && ok "ready after the replica resumes" || fail "readyz after resume"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ "$rc" = 0 ] && ok "admitd stops cleanly" || fail "admitd exit $rc"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
