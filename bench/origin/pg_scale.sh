#!/bin/sh
# Scaling on PostgreSQL: durable webhooks/s and sync events/s with 1, 2
# and 3 dni-origin processes sharing one PostgreSQL database (a throwaway
# cluster under build/, fsync and synchronous_commit on), next to one
# process on SQLite (synchronous=FULL), in one run, with the p99s. Each
# process gets its own wrk (the connections split between them); the
# figures are the sums, the p99 the worst of the processes'.
# Usage: bench/origin/pg_scale.sh path/to/dni-origin
# Env: DNI_BENCH_SECONDS (default 8), DNI_BENCH_CONNECTIONS (default 48),
# DNI_BENCH_PROCS (the PostgreSQL runs, default "1 2 3"), DNI_BENCH_SQLITE=0
# (no SQLite run), DNI_BENCH_KEEP=1 (keep wrk.log and origin.log in /tmp),
# DNI_BENCH_SHOW_ERRORS=1 (log every non-2xx answer), DNI_PG_STATS=SECONDS
# (each writer prints its round trips and time every SECONDS).
set -e
BIN=${1:?usage: pg_scale.sh path/to/dni-origin}
SECS=${DNI_BENCH_SECONDS:-8}
CONNS=${DNI_BENCH_CONNECTIONS:-48}
SYNC_CONNS=${DNI_BENCH_SYNC_CONNECTIONS:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=$(mktemp -d /tmp/dni-origin-pgbench-XXXXXX)
CLUSTER="$ROOT/build/pg-bench"
export DNI_ADMIN_TOKEN=bench-admin DNI_EDGE_SECRET=bench-edge DNI_BENCH_DIR="$HERE" DNI_BENCH_NUMBERS=1000
unset DNI_TWILIO_AUTH_TOKEN
PIDS=""
cleanup() {
    for p in $PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done
    sh "$ROOT/tests/pg_cluster.sh" destroy "$CLUSTER" >/dev/null 2>&1 || true
    [ -n "$DNI_BENCH_KEEP" ] && cp "$DIR/wrk.log" "$DIR/origin.log" /tmp/ 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
URL=$(sh "$ROOT/tests/pg_cluster.sh" start "$CLUSTER")
ADMIN_URL=${URL%/*}/postgres

free_port() {
    node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# start DB N: N processes on DB; their ports in $PORTS.
start() {
    PORTS=""
    for i in $(seq 1 $2); do
        port=$(free_port)
        "$BIN" --listen 127.0.0.1:$port --db "$1" --max-connections 1024 \
            --allow-unsigned-webhooks --quiet 2>>"$DIR/origin.log" &
        PIDS="$PIDS $!"
        PORTS="$PORTS $port"
    done
    for port in $PORTS; do
        n=0
        until curl -sf http://127.0.0.1:$port/healthz >/dev/null; do
            n=$((n + 1)); [ $n -gt 200 ] && { cat "$DIR/origin.log"; exit 1; }; sleep 0.05
        done
    done
}
stop() {
    for p in $PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null || true; done
    PIDS=""
}
metric_sum() {
    s=0
    for port in $PORTS; do
        v=$(curl -s http://127.0.0.1:$port/metrics | awk -v m="$1" '$1 == m {print $2}')
        s=$((s + ${v:-0}))
    done
    echo $s
}
# run NAME SCRIPT CONNS: one wrk per process at once; prints "rps p99 secs".
run() {
    k=0; set -- "$1" "$2" "$3"
    nproc=$(echo $PORTS | wc -w)
    per=$(( $3 / nproc )); [ $per -lt 1 ] && per=1
    echo "== $1, $nproc process(es) ==" | tee -a "$DIR/wrk.log" >>"$DIR/origin.log"
    for port in $PORTS; do
        k=$((k + 1))
        DNI_BENCH_INSTANCE=$k wrk -t1 -c$per -d${SECS}s -s "$HERE/$2" \
            http://127.0.0.1:$port >"$DIR/$1.$k.out" 2>&1 &
    done
    wait
    cat "$DIR"/$1.*.out | grep '^RESULT' | awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        rps += f["rps"]; if (f["p99_ms"] > p99) p99 = f["p99_ms"]; secs = f["seconds"]; non += f["non2xx"]
    } END { printf "%.1f %.2f %.3f %d\n", rps, p99, secs, non }'
    cat "$DIR"/$1.*.out >>"$DIR/wrk.log"; rm -f "$DIR"/$1.*.out
}

# measure LABEL DB N
measure() {
    start "$2" "$3"
    first=$(echo $PORTS | cut -d' ' -f1)
    DNI_BENCH_POOL_VERSION=$(node "$HERE/setup.mjs" $first $DNI_BENCH_NUMBERS)
    export DNI_BENCH_POOL_VERSION
    # Sync first: the webhooks' calls land on the pool's numbers, and each
    # heartbeat after them would look for calls to attribute.
    E0=$(metric_sum dni_origin_sync_events_total)
    S=$(run sync sync.lua $SYNC_CONNS)
    E1=$(metric_sum dni_origin_sync_events_total)
    W=$(run webhook webhook.lua $CONNS)
    stop
    echo "$W $S $((E1 - E0))" | awk -v label="$1" '{
        printf "%-28s %12.0f %9.2f %14.0f %9.2f%s\n", label, $1, $2, $9 / $7, $6,
            ($4 + $8 > 0 ? "  non-2xx: " $4 + $8 : "") }'
}

echo "dni-origin on PostgreSQL: wrk ${SECS}s per run on 127.0.0.1, $CONNS connections for webhooks, $SYNC_CONNS for sync (500 events each)"
printf "%-28s %12s %9s %14s %9s\n" "setup" "webhooks/s" "p99 ms" "sync events/s" "p99 ms"
[ "${DNI_BENCH_SQLITE:-1}" = 0 ] || measure "SQLite, 1 process" "$DIR/bench.db" 1
for n in ${DNI_BENCH_PROCS:-1 2 3}; do
    db="bench$n"
    psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    measure "PostgreSQL, $n process$( [ $n -gt 1 ] && echo es)" "${URL%/*}/$db" $n
done
