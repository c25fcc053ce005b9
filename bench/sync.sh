#!/bin/bash
# bench/sync.sh: the sync protocol end to end with the real binaries on
# loopback (docs/sync.md), a release build of admitd on SQLite and admit-gate:
#   full      admit-gate enroll + full sync of a new device against an event
#             whose feed holds CHECKINS accepted check-ins (seeded by a relay
#             device in batches of 1000) and REVOKE revocations (refunds):
#             time, bytes on the wire (gzip) and raw, the gate store's size,
#             peak RSS of admit-gate and admitd; reference: curl fetching the
#             same pages to /dev/null on one keep-alive connection
#   upload    admit-gate sync of a journal of JOURNAL offline scans (real
#             tickets, all accepted); references: curl posting JOURNAL rows of
#             the same shape in batches of 1000, and the naive client (one
#             POST per row, keep-alive) on a sample of NAIVE rows, extrapolated
#   propagate gate B runs 'admit-gate sync --follow'; gate A runs 'scan
#             --online --stdin': time from A's verdict line until B's store
#             holds the check-in, PROP times; then PROP times A scanning
#             offline and running 'admit-gate sync', timed from its start;
#             reference: curl GET /healthz (time_total, and process start to
#             exit)
# Medians of RUNS runs. Usage: bench/sync.sh [RUNS] [CHECKINS]
# Environment: ADMIT_BENCH_REVOKE (300, a multiple of 100), ADMIT_BENCH_JOURNAL
# (10000), ADMIT_BENCH_NAIVE (1000), ADMIT_BENCH_PROP (20), ADMIT_BENCH_STORE
# (sqlite; mariadb: admitd on a MariaDB 10.11 primary that scripts/services
# starts, seeding and the upload section only), ADMIT_BENCH_UPLOAD_ONLY (set:
# seeding and the upload section only).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3} CHECKINS=${2:-100000}
STORE=${ADMIT_BENCH_STORE:-sqlite}
case $STORE in sqlite | mariadb) ;; *) echo "bench: ADMIT_BENCH_STORE is sqlite or mariadb" >&2; exit 2 ;; esac
ALL=1   # every section; MariaDB or ADMIT_BENCH_UPLOAD_ONLY=1: seeding and the upload only
[ "$STORE" = sqlite ] && [ -z "${ADMIT_BENCH_UPLOAD_ONLY:-}" ] || ALL=0
REVOKE=${ADMIT_BENCH_REVOKE:-300}
JOURNAL=${ADMIT_BENCH_JOURNAL:-10000}
NAIVE=${ADMIT_BENCH_NAIVE:-1000}
PROP=${ADMIT_BENCH_PROP:-20}

ADMIT_BOOTSTRAP_EXTRA="curl jq sqlite3 time" scripts/bootstrap
B=build-rel
[ -f "$B/build.ninja" ] || meson setup "$B" --buildtype=release -Dgui=disabled >/dev/null
# ninja, not meson compile: it regenerates a build dir configured before scanner/ existed
ninja -C "$B" server/admitd server/admitctl scanner/admit-gate >/dev/null ||
    { echo "bench: build failed" >&2; exit 1; }
ADMITD=$PWD/$B/server/admitd CTL=$PWD/$B/server/admitctl GATE=$PWD/$B/scanner/admit-gate

W=$(mktemp -d /tmp/admit-bench-sync.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # before the wait: the MariaDB servers are children of this shell too
    [ "$STORE" = sqlite ] || ! declare -F services_stop >/dev/null || services_stop
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
say() { echo "== $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }   # bash 5: no fork
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
maxof() { sort -g | tail -1; }
peak_rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
fsize() { local s=0 f; for f in "$@"; do [ -f "$f" ] && s=$((s + $(stat -c %s "$f"))); done; echo "$s"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

if [ "$STORE" = sqlite ]; then
    DB=(--store sqlite --sqlite "$W/centre.db")
else
    ADMIT_SERVICES=mariadb
    . scripts/services
    services_start >/dev/null || die "could not start MariaDB (scripts/services)"
    DB=(--store mysql --mysql-primary "$ADMIT_TEST_MYSQL_PRIMARY")
fi
printf 'bench-password\n' >"$W/pw"
now=$(date +%s)

# ---- the centre: one event, one list at four gates, a free ticket type
say "centre: event, tickets, $CHECKINS seeded check-ins"
"$CTL" init "${DB[@]}" --organiser org@bench.test --password-file "$W/pw" >/dev/null
"$CTL" user add "${DB[@]}" --email buyer@bench.test --password-file "$W/pw" >/dev/null
venue=$("$CTL" venue add "${DB[@]}" --name "Bench Stadium" --city Ipoh --capacity 200000)
event=$("$CTL" event add "${DB[@]}" --venue "$venue" --title "Bench Festival" --category concert \
    --start $((now - 3600)) --end $((now + 86400)) --on-sale)
type_id=$("$CTL" type add "${DB[@]}" --event "$event" --name GA --price 0 --currency MYR \
    --capacity 1000000 --per-order 100)
list=$("$CTL" checkin-list add "${DB[@]}" --event "$event" --name Main --reentry once \
    --gates North,South,East,West | jq -r .id)

start_admitd() { # sets $admitd_pid, $C
    "$ADMITD" "${DB[@]}" --port 0 --access-log false --log-level warn >"$W/admitd.out" 2>"$W/admitd.err" &
    admitd_pid=$!; pids+=("$admitd_pid")
    local port=""
    for _ in $(seq 1 200); do
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$W/admitd.out")
        [ -n "$port" ] && break; sleep 0.05
    done
    [ -n "$port" ] || die "admitd did not start: $(cat "$W/admitd.err")"
    C="http://127.0.0.1:$port"
}
stop_admitd() { kill "$admitd_pid"; wait "$admitd_pid" 2>/dev/null || true; }
api() { # api METHOD PATH TOKEN [BODY] -> reply on stdout, fails on non-2xx
    local args=(-sS --fail-with-body --max-time 60 -X "$1")
    [ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    curl "${args[@]}" "$C$2"
}
start_admitd
btok=$(api POST /v1/sessions "" '{"email":"buyer@bench.test","password":"bench-password"}' | jq -r .token)
otok=$(api POST /v1/sessions "" '{"email":"org@bench.test","password":"bench-password"}' | jq -r .token)
buy100() { # buy100 FILE: one order of 100 tickets, tokens appended to FILE; prints the order id
    local hold order
    hold=$(api POST /v1/holds "$btok" "{\"ticket_type_id\":$type_id,\"quantity\":100}" | jq -r .id)
    order=$(api POST /v1/orders "$btok" "{\"hold_ids\":[\"$hold\"]}" | jq -r .id)
    api POST "/v1/orders/$order/pay" "$btok" '{"provider":"free"}' | jq -r '.tickets[].token' >>"$1"
    echo "$order"
}
# device credentials through the API, as a gate or a relay: "dv_….secret"
device() { # device GATE [--relay]
    local t
    t=$("$CTL" enroll create "${DB[@]}" --event "$event" --gate "$1" ${2:+"$2"} | jq -r .token)
    api POST /v1/devices/enroll "" "{\"token\":\"$t\",\"name\":\"bench $1\"}" | jq -r '.device_id + "." + .secret'
}
enroll_uri() { "$CTL" enroll create "${DB[@]}" --event "$event" --gate "$1" --public-url "$C" | jq -r .enroll_uri; }

# revocations: refund REVOKE/100 orders of 100
for _ in $(seq 1 $((REVOKE / 100))); do
    o=$(buy100 "$W/refunded.txt")
    api POST "/v1/orders/$o/refund" "$otok" '{}' >/dev/null
done
# fresh tickets for the upload runs and the propagation runs
for _ in $(seq 1 $(((RUNS * JOURNAL + 2 * PROP + 99) / 100))); do buy100 "$W/tickets.txt" >/dev/null; done
[ "$(wc -l <"$W/tickets.txt")" -ge $((RUNS * JOURNAL + 2 * PROP)) ] || die "bought too few tickets"

# rows(PREFIX DEVICE N GATES): N accepted entries of random (unsold) ticket ids as
# upload JSON, 1000 a line ({"checkins":[…]}); nonces PREFIX + a counter
rows() {
    awk -v pre="$1" -v dev="$2" -v n="$3" -v gates="$4" -v list="$list" -v now="$now" -v seed="$RANDOM" '
    BEGIN {
        srand(seed); ng = split(gates, g, ",")
        for (i = 1; i <= n; i++) {
            tid = int(rand() * 67108864) * 67108864 + int(rand() * 67108864) + 1
            row = sprintf("{\"nonce\":\"%s%0" (32 - length(pre)) "d\",\"device\":\"%s\",\"ticket_id\":%.0f,\"list_id\":%d,\"at\":%d,\"gate\":\"%s\",\"direction\":\"entry\",\"verdict\":\"accept\",\"reason\":\"ok\",\"attention\":false,\"text_hash\":\"%064x\"}",
                pre, i, dev, tid, list, now - 3000 + int(i * 3000 / n), g[1 + i % ng], i)
            buf = buf (buf == "" ? "" : ",") row
            if (i % 1000 == 0 || i == n) { print "{\"checkins\":[" buf "]}"; buf = "" }
        }
    }'
}
# post_lines FILE TOKEN: every line of FILE as one POST /v1/sync/checkins, one
# curl process, one keep-alive connection; prints the wall time in µs
post_lines() {
    local cfg=$W/post.cfg line t0 t1
    : >"$cfg"
    while IFS= read -r line; do
        printf 'url = "%s/v1/sync/checkins"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' \
            "$C" "$2" "$W/body.$((++n_body))" >>"$cfg"
        printf '%s' "$line" >"$W/body.$n_body"
    done <"$1"
    sed -i '$d' "$cfg"   # no "next" after the last URL
    t0=$(now_us)
    curl -sS --config "$cfg" >"$W/post.codes"
    t1=$(now_us)
    grep -qv '^200$' "$W/post.codes" && die "an upload was refused: $(sort "$W/post.codes" | uniq -c)"
    rm -f "$W"/body.*
    echo $((t1 - t0))
}
n_body=0
relay=$(device Seed --relay)
for d in 1 2 3 4 5 6 7 8; do rows "5eed$d" "dv_seed0000000$d" $((CHECKINS / 8)) North,South,East,West; done >"$W/seed.jsonl"
seed_us=$(post_lines "$W/seed.jsonl" "$relay")
say "seeded $CHECKINS check-ins in $((seed_us / 1000)) ms (relay, batches of 1000, curl)"

# a fresh admitd over the seeded database: its VmHWM is then the serving peak
stop_admitd; start_admitd
ref=$(device North)

if [ "$ALL" = 1 ]; then
# ---- 1. full sync of a new device
# the pages a new device fetches, walked once (untimed) with the cursors it would use
: >"$W/pages.txt"; r=0 c=0
while :; do
    path="/v1/sync?revocations=$r&checkins=$c&wait=0"
    echo "$path" >>"$W/pages.txt"
    api GET "$path" "$ref" >"$W/page.json"
    r=$(jq .cursor.revocations "$W/page.json"); c=$(jq .cursor.checkins "$W/page.json")
    [ "$(jq .more "$W/page.json")" = true ] || break
done
n_pages=$(wc -l <"$W/pages.txt")
fetch_pages() { # fetch_pages [compressed]: "µs bytes" (size_download: bytes on the wire)
    local t0 t1
    # options after a "next" are per URL: --compressed on the command line would
    # only apply to the first page
    awk -v c="$C" -v a="Authorization: Bearer $ref" -v z="${1:+$1\\n}" \
        '{ printf "url = \"%s%s\"\nheader = \"%s\"\n%soutput = \"/dev/null\"\nwrite-out = \"%%{http_code} %%{size_download}\\n\"\nnext\n", c, $0, a, z }' \
        "$W/pages.txt" >"$W/get.cfg"
    sed -i '$d' "$W/get.cfg"
    t0=$(now_us)
    curl -sS --config "$W/get.cfg" >"$W/get.out"
    t1=$(now_us)
    grep -qv '^200 ' "$W/get.out" && die "a page was refused"
    echo "$((t1 - t0)) $(awk '{ s += $2 } END { print s }' "$W/get.out")"
}
say "full sync: $n_pages pages, $RUNS runs"
for i in $(seq 1 "$RUNS"); do
    uri=$(enroll_uri North)
    t0=$(now_us)
    /usr/bin/time -f '%M' -o "$W/full.time" "$GATE" enroll --db "$W/full-$i.db" --name "full $i" \
        --insecure-http "$uri" >"$W/full.json"
    t1=$(now_us)
    jq -e ".sync.checkins >= $CHECKINS and .sync.revocations >= $REVOKE" "$W/full.json" >/dev/null ||
        die "the new device did not get the whole feed: $(cat "$W/full.json")"
    echo "$((t1 - t0)) $(tail -1 "$W/full.time") $(fsize "$W/full-$i.db" "$W/full-$i.db-wal")" >>"$W/full"
    fetch_pages compressed >>"$W/ref-gzip"
    fetch_pages >>"$W/ref-raw"
done
rss_full=$(peak_rss "$admitd_pid")
jq -c .sync "$W/full.json" >"$W/full.summary"
rm -f "$W"/full-*.db*
fi

# ---- 2. upload of a JOURNAL-row journal
say "upload: $JOURNAL scans per gate, $RUNS runs"
ref_id=${ref%%.*}
for i in $(seq 1 "$RUNS"); do
    "$GATE" enroll --db "$W/up-$i.db" --name "upload $i" --insecure-http "$(enroll_uri North)" >/dev/null
    sed -n "$(((i - 1) * JOURNAL + 1)),$((i * JOURNAL))p" "$W/tickets.txt" >"$W/scan.txt"
    t0=$(now_us)
    "$GATE" scan --db "$W/up-$i.db" --list "$list" --gate North --stdin <"$W/scan.txt" >"$W/scan.out" || true
    t1=$(now_us)
    [ "$(grep -c '"verdict":"accept"' "$W/scan.out")" = "$JOURNAL" ] ||
        die "expected $JOURNAL accepted scans: $(jq -r .verdict "$W/scan.out" | sort | uniq -c | tr '\n' ' ')"
    echo $((t1 - t0)) >>"$W/scan"
    t0=$(now_us)
    /usr/bin/time -f '%M' -o "$W/up.time" "$GATE" sync --db "$W/up-$i.db" >"$W/up.json"
    t1=$(now_us)
    jq -e ".pushed == $JOURNAL" "$W/up.json" >/dev/null || die "sync pushed too little: $(cat "$W/up.json")"
    echo "$((t1 - t0)) $(tail -1 "$W/up.time")" >>"$W/up"
    jq -c . "$W/up.json" >"$W/up.summary"
    # references as the reference gate: the same shape of rows (new nonces and tickets)
    rows "b0$i" "$ref_id" "$JOURNAL" North >"$W/batches.jsonl"
    post_lines "$W/batches.jsonl" "$ref" >>"$W/ref-batch"
    rows "a0$i" "$ref_id" "$NAIVE" North | jq -c '.checkins[] | {checkins: [.]}' >"$W/single.jsonl"
    post_lines "$W/single.jsonl" "$ref" >>"$W/ref-naive"
    rm -f "$W/up-$i.db"*
done

if [ "$ALL" = 1 ]; then
# ---- 3. propagation between two online devices
say "propagation: $PROP check-ins"
"$GATE" enroll --db "$W/A.db" --name "gate A" --insecure-http "$(enroll_uri North)" >/dev/null
"$GATE" enroll --db "$W/B.db" --name "gate B" --insecure-http "$(enroll_uri South)" >/dev/null
"$GATE" sync --db "$W/B.db" --follow >/dev/null 2>"$W/B.log" &
follow_pid=$!; pids+=("$follow_pid")
# one sqlite3 process reading queries from a FIFO: a poll costs no fork
mkfifo "$W/sq.in" "$W/sq.out"
sqlite3 -batch "$W/B.db" <"$W/sq.in" >"$W/sq.out" &
pids+=($!)
exec {sq_in}>"$W/sq.in" {sq_out}<"$W/sq.out"
b_has() { # b_has NONCE: B's store holds the check-in
    echo "SELECT count(*) FROM remote_checkins WHERE nonce = '$1';" >&"$sq_in"
    read -r -t 5 -u "$sq_out" n_seen
    [ "$n_seen" = 1 ]
}
sleep 1
tail -n $((2 * PROP)) "$W/tickets.txt" >"$W/prop.txt"
# (a) A online: 'admit-gate scan --online --stdin' as a coprocess; t0 is when
# its verdict line arrives (the scan is durable and its upload has been kicked)
coproc GA { exec "$GATE" scan --db "$W/A.db" --list "$list" --gate North --online --stdin 2>"$W/A.log"; }
pids+=("$GA_PID")
sleep 1
# (b) A offline, then 'admit-gate sync': t0 is the start of that process
wait_b() { # wait_b NONCE T0: sets $waited (µs) and $polls; no fork while polling
    polls=0
    until b_has "$1"; do
        polls=$((polls + 1))
        [ $((${EPOCHREALTIME/./} - $2)) -gt 10000000 ] && die "check-in $1 did not reach B in 10 s: $(tail -3 "$W/B.log")"
    done
    waited=$((${EPOCHREALTIME/./} - $2))
}
head -n "$PROP" "$W/prop.txt" >"$W/prop-a.txt"
tail -n "$PROP" "$W/prop.txt" >"$W/prop-b.txt"
while IFS= read -r tok; do
    sleep 0.3   # B's long-poll is waiting again
    printf '%s\n' "$tok" >&"${GA[1]}"
    read -r -t 10 -u "${GA[0]}" line || die "gate A (online) did not answer: $(tail -3 "$W/A.log")"
    t0=${EPOCHREALTIME/./}
    [[ $line =~ \"verdict\":\"accept\".*\"nonce\":\"([0-9a-f]+)\" ]] || die "gate A refused a ticket: $line"
    wait_b "${BASH_REMATCH[1]}" "$t0"
    echo "$waited $polls" >>"$W/prop-online"
done <"$W/prop-a.txt"
# end the online A (EOF on its stdin) before A scans offline: its uploader would send those too
ga_pid=$GA_PID
exec {GA[1]}>&-
wait "$ga_pid" || true
while IFS= read -r tok; do
    nonce=$("$GATE" scan --db "$W/A.db" --list "$list" --gate North "$tok" </dev/null | jq -r .nonce)
    sleep 0.3
    t0=${EPOCHREALTIME/./}
    ( "$GATE" sync --db "$W/A.db" >/dev/null </dev/null; now_us >"$W/a.done" ) &
    a_pid=$!
    wait_b "$nonce" "$t0"
    wait "$a_pid"
    echo "$waited $polls $(($(cat "$W/a.done") - t0))" >>"$W/prop"
done <"$W/prop-b.txt"
# the floor, measured the same way: a process talking to admitd, start to exit
for _ in $(seq 1 "$PROP"); do
    t0=${EPOCHREALTIME/./}
    tt=$(curl -sS -o /dev/null -w '%{time_total}' "$C/healthz")
    echo "$((${EPOCHREALTIME/./} - t0)) $tt" >>"$W/ref-health"
done
t0=${EPOCHREALTIME/./}; for _ in $(seq 1 100); do b_has 0 || true; done; poll_us=$(((${EPOCHREALTIME/./} - t0) / 100))
fi
rss_all=$(peak_rss "$admitd_pid")

# ---- report
col() { cut -d' ' -f"$1" "$W/$2"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg); store $STORE"
if [ "$ALL" = 1 ]; then
full_us=$(col 1 full | median); ref_gz_us=$(col 1 ref-gzip | median); ref_raw_us=$(col 1 ref-raw | median)
gz=$(col 2 ref-gzip | median); raw=$(col 2 ref-raw | median)
printf '\n1. full sync of a new device: %s check-ins + %s revocations, %s pages (medians of %s)\n' \
    "$CHECKINS" "$REVOKE" "$n_pages" "$RUNS"
printf '  %-44s %9s %10s %10s\n' "" "ms" "wire MB" "raw MB"
printf '  %-44s %9s %10s %10s\n' "admit-gate enroll + full sync (applied)" "$(ms "$full_us")" "$(mb "$gz")" "$(mb "$raw")"
printf '  %-44s %9s %10s %10s\n' "reference: curl, same pages, gzip, /dev/null" "$(ms "$ref_gz_us")" "$(mb "$gz")" "-"
printf '  %-44s %9s %10s %10s\n' "reference: curl, same pages, identity" "$(ms "$ref_raw_us")" "-" "$(mb "$raw")"
printf '  gate store: %s MB; admit-gate VmHWM %s MB; admitd VmHWM %s MB (after these syncs)\n' \
    "$(mb "$(col 3 full | median)")" "$(awk -v k="$(col 2 full | median)" 'BEGIN { printf "%.1f", k / 1024 }')" "$rss_full"
echo "  runs (ms): $(col 1 full | awk '{ printf "%.0f ", $1 / 1000 }')  summary: $(cat "$W/full.summary")"
fi
up_us=$(col 1 up | median); batch_us=$(median <"$W/ref-batch"); naive_us=$(median <"$W/ref-naive")
printf '\n2. upload of %s journal rows (accepted scans), medians of %s\n' "$JOURNAL" "$RUNS"
printf '  %-52s %9s %10s\n' "" "ms" "rows/s"
rate() { awk -v n="$1" -v u="$2" 'BEGIN { printf "%.0f", n * 1e6 / u }'; }
printf '  %-52s %9s %10s\n' "admit-gate sync (10 batches up, feed pages down)" "$(ms "$up_us")" "$(rate "$JOURNAL" "$up_us")"
printf '  %-52s %9s %10s\n' "reference: curl, batches of 1000, keep-alive" "$(ms "$batch_us")" "$(rate "$JOURNAL" "$batch_us")"
printf '  %-52s %9s %10s\n' "reference: naive, 1 row/request ($NAIVE, x$((JOURNAL / NAIVE)))" \
    "$(ms $((naive_us * JOURNAL / NAIVE)))" "$(rate "$NAIVE" "$naive_us")"
printf '  admit-gate VmHWM %s MB; scanning the %s codes took %s ms; summary: %s\n' \
    "$(awk -v k="$(col 2 up | median)" 'BEGIN { printf "%.1f", k / 1024 }')" "$JOURNAL" \
    "$(ms "$(median <"$W/scan")")" "$(cat "$W/up.summary")"
echo "  seeding: $CHECKINS rows as a relay in $(ms "$seed_us") ms ($(rate "$CHECKINS" "$seed_us") rows/s)"
echo "  runs (ms): gate $(col 1 up | awk '{ printf "%.0f ", $1 / 1000 }') curl batches $(awk '{ printf "%.0f ", $1 / 1000 }' "$W/ref-batch")"
[ "$ALL" = 1 ] || exit 0
printf '\n3. propagation A -> B (B runs sync --follow), %s check-ins each\n' "$PROP"
printf '  %-58s %9s %9s\n' "" "p50 ms" "max ms"
printf '  %-58s %9s %9s\n' "A online (scan --online): A's verdict line -> in B's store" "$(ms "$(col 1 prop-online | median)")" "$(ms "$(col 1 prop-online | maxof)")"
printf '  %-58s %9s %9s\n' "A offline: start of A's 'admit-gate sync' -> in B's store" "$(ms "$(col 1 prop | median)")" "$(ms "$(col 1 prop | maxof)")"
printf '  %-58s %9s %9s\n' "  (A's 'admit-gate sync' process, start to exit)" "$(ms "$(col 3 prop | median)")" "$(ms "$(col 3 prop | maxof)")"
printf '  %-58s %9s %9s\n' "reference: curl GET /healthz, time_total" "$(col 2 ref-health | median | awk '{ printf "%.2f", $1 * 1000 }')" "$(col 2 ref-health | maxof | awk '{ printf "%.2f", $1 * 1000 }')"
printf '  %-58s %9s %9s\n' "reference: curl GET /healthz, process start to exit" "$(ms "$(col 1 ref-health | median)")" "$(ms "$(col 1 ref-health | maxof)")"
printf '  one poll of B'"'"'s store %s µs; polls per check-in p50 %s (online) %s (offline)\n' \
    "$poll_us" "$(col 2 prop-online | median)" "$(col 2 prop | median)"
echo "  admitd VmHWM over the whole run: $rss_all MB"
