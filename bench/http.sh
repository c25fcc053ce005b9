#!/bin/bash
# bench/http.sh: admitd's HTTP throughput, side by side with nginx serving the
# same JSON as a static file, on embedded SQLite and on MariaDB (primary +
# replica). Seeds 1,000 events, then runs wrk (closed loop, loopback only) for
#   catalog   GET /v1/events (first page)
#   event     GET /v1/events/{random id} (event, venue, types, availability)
#   booking   a mix: 70% event page, 20% catalog page, 10% POST /v1/holds
#   nginx     the catalog page's bytes as a static file (reference)
# and prints req/s, p50/p99 latency and admitd's peak resident memory, the
# median of RUNS runs. Usage: bench/http.sh [RUNS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3} SECS=${2:-10} CONNS=${3:-100}
EVENTS=${ADMIT_BENCH_EVENTS:-1000}
THREADS=${ADMIT_BENCH_THREADS:-}   # admitd --threads (default: admitd's own)

ADMIT_BOOTSTRAP_EXTRA="wrk nginx-light curl" scripts/bootstrap
B=build-rel
[ -f "$B/build.ninja" ] || meson setup "$B" --buildtype=release -Dgui=disabled >/dev/null
meson compile -C "$B" server/admitd server/admitctl >/dev/null || { echo "bench: build failed" >&2; exit 1; }
ADMITD=$PWD/$B/server/admitd CTL=$PWD/$B/server/admitctl

W=$(mktemp -d /tmp/admit-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "${ADMIT_SVC_DIR:-}" ] && services_stop
    rm -rf "$W"
}
trap cleanup EXIT
. scripts/services   # also gives free_port


# seed STORE-ARGS...: database with an organiser, a customer, $EVENTS events on sale
seed() {
    printf 'bench-password\n' > "$W/pw"
    "$CTL" init "$@" --organiser org@bench.test --password-file "$W/pw" >/dev/null
    "$CTL" user add "$@" --email buyer@bench.test --password-file "$W/pw" >/dev/null
    local venue now i ev
    venue=$("$CTL" venue add "$@" --name "Bench Arena" --city "Kuala Lumpur" --capacity 50000)
    now=$(date +%s)
    for i in $(seq 1 "$EVENTS"); do
        ev=$("$CTL" event add "$@" --venue "$venue" --title "Bench event $i" \
            --category concert --description "Seeded event number $i for the benchmark" \
            --start $((now + 86400 + i * 3600)) --end $((now + 90000 + i * 3600)) --on-sale)
        "$CTL" type add "$@" --event "$ev" --name Standard --price 9900 --currency MYR \
            --capacity 1000000 --per-order 4 >/dev/null
        "$CTL" type add "$@" --event "$ev" --name VIP --price 29900 --currency MYR \
            --capacity 1000000 --per-order 2 >/dev/null
    done
}

# rss_watch PID: prints the peak resident set (VmHWM) in MiB when PID exits or on stop
peak_rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

wrk_run() { # wrk_run URL [LUA] -> "req/s p50ms p99ms errors"
    local url=$1 lua=${2:-}
    local args=(-t2 -c"$CONNS" -d"${SECS}s" --latency)
    [ -n "$lua" ] && args+=(-s "$lua")
    wrk "${args[@]}" "$url" > "$W/wrk.out" 2>&1 || true
    awk '/Requests\/sec/ { rps = $2 }
         /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
         /Non-2xx or 3xx responses/ { bad += $NF } /Socket errors/ { bad += 1 }
         function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
         END { printf "%d %.2f %.2f %d\n", rps, ms(p50), ms(p99), bad }' "$W/wrk.out"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

cat > "$W/mix.lua" <<'LUA'
-- 70% event page, 20% catalog page, 10% hold of one ticket
local token = os.getenv("BENCH_TOKEN")
local events = tonumber(os.getenv("BENCH_EVENTS"))
local types = tonumber(os.getenv("BENCH_TYPES"))
math.randomseed(os.time())
request = function()
  local r = math.random(100)
  if r <= 70 then
    return wrk.format("GET", "/v1/events/" .. math.random(events))
  elseif r <= 90 then
    return wrk.format("GET", "/v1/events")
  else
    local body = '{"ticket_type_id":' .. math.random(types) .. ',"quantity":1}'
    return wrk.format("POST", "/v1/holds", {["Authorization"] = "Bearer " .. token,
                      ["Content-Type"] = "application/json"}, body)
  end
end
LUA
cat > "$W/event.lua" <<'LUA'
local events = tonumber(os.getenv("BENCH_EVENTS"))
request = function() return wrk.format("GET", "/v1/events/" .. math.random(events)) end
LUA

# nginx serving a file, default-ish configuration
start_nginx() { # start_nginx FILE PORT
    mkdir -p "$W/nginx/logs" "$W/nginx/html"
    cp "$1" "$W/nginx/html/events.json"
    cat > "$W/nginx/nginx.conf" <<NGX
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/json;
    server { listen 127.0.0.1:$2; root $W/nginx/html; location / { } }
}
NGX
    chmod 755 "$W"; chmod -R a+rX "$W/nginx"   # nginx workers run as nobody
    nginx -c "$W/nginx/nginx.conf" -p "$W/nginx"
    pids+=("$(cat "$W/nginx/nginx.pid" 2>/dev/null || true)")
}

bench_backend() { # bench_backend NAME STORE-ARGS...
    local name=$1; shift
    echo "== seeding $EVENTS events on $name" >&2
    local t0=$SECONDS
    seed "$@"
    echo "   seeded in $((SECONDS - t0)) s" >&2
    local port; port=$(free_port)
    local targs=()
    [ -n "$THREADS" ] && targs=(--threads "$THREADS")
    "$ADMITD" "$@" "${targs[@]}" --port "$port" --access-log false --log-level warn &
    local pid=$!; pids+=("$pid")
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local token
    token=$(curl -sf -X POST -H 'Content-Type: application/json' \
        -d '{"email":"buyer@bench.test","password":"bench-password"}' \
        "http://127.0.0.1:$port/v1/sessions" | jq -r .token)
    curl -sf "http://127.0.0.1:$port/v1/events" > "$W/page.json"
    export BENCH_TOKEN=$token BENCH_EVENTS=$EVENTS BENCH_TYPES=$((EVENTS * 2))
    [ -n "${NGINX_PORT:-}" ] || { NGINX_PORT=$(free_port); start_nginx "$W/page.json" "$NGINX_PORT"; }
    local nport=$NGINX_PORT
    local r
    for r in $(seq 1 "$RUNS"); do
        echo "$(wrk_run "http://127.0.0.1:$port/v1/events")" >> "$W/$name-catalog"
        echo "$(wrk_run "http://127.0.0.1:$port/" "$W/event.lua")" >> "$W/$name-event"
        echo "$(wrk_run "http://127.0.0.1:$port/" "$W/mix.lua")" >> "$W/$name-booking"
        echo "$(wrk_run "http://127.0.0.1:$nport/events.json")" >> "$W/$name-nginx"
    done
    echo "$(peak_rss "$pid")" > "$W/$name-rss"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    printf '%s\n' "$(wc -c < "$W/page.json")" > "$W/$name-bytes"
}

report() { # report NAME
    local name=$1 k
    printf '\n%s (%s connections, %s s x %s runs, medians; catalog page %s bytes)\n' \
        "$name" "$CONNS" "$SECS" "$RUNS" "$(cat "$W/$name-bytes")"
    printf '  %-26s %10s %9s %9s %8s\n' "" "req/s" "p50 ms" "p99 ms" "non-2xx"
    for k in nginx catalog event booking; do
        local label=$k
        case $k in
            nginx) label="nginx static (reference)";; catalog) label="admitd GET /v1/events";;
            event) label="admitd GET /v1/events/ID";; booking) label="admitd booking mix";;
        esac
        printf '  %-26s %10s %9s %9s %8s\n' "$label" \
            "$(cut -d' ' -f1 "$W/$name-$k" | median)" "$(cut -d' ' -f2 "$W/$name-$k" | median)" \
            "$(cut -d' ' -f3 "$W/$name-$k" | median)" "$(cut -d' ' -f4 "$W/$name-$k" | awk '{ s += $1 } END { print s + 0 }')"
    done
    local a n; a=$(cut -d' ' -f1 "$W/$name-catalog" | median); n=$(cut -d' ' -f1 "$W/$name-nginx" | median)
    printf '  catalog / nginx: %s   admitd peak RSS: %s MiB\n' \
        "$(awk -v a="$a" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f", a / n; else print "n/a" }')" \
        "$(cat "$W/$name-rss")"
}

bench_backend sqlite --store sqlite --sqlite "$W/admit.db"
ADMIT_SERVICES=mariadb services_start
bench_backend mariadb --store mysql --mysql-primary "$ADMIT_TEST_MYSQL_PRIMARY" \
    --mysql-replica "$ADMIT_TEST_MYSQL_REPLICA"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
report sqlite
report mariadb
