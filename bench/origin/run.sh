#!/bin/sh
# Origin benchmark: wrk against a real dni-origin on 127.0.0.1 with the
# default durable settings (synchronous=FULL, group commit). Runs, side by
# side: the trivial /healthz, edge sync (batches of 500 events), and
# durable call webhooks; prints figures and ratios against the targets.
# Usage: bench/origin/run.sh path/to/dni-origin
# Env: DNI_BENCH_SECONDS (default 10), DNI_BENCH_CONNECTIONS (default 64).
set -e
BIN=${1:?usage: run.sh path/to/dni-origin}
SECS=${DNI_BENCH_SECONDS:-10}
CONNS=${DNI_BENCH_CONNECTIONS:-64}
# Edges sync a few batches at a time, not dozens: the sync run uses fewer
# connections (each carries 500 events).
SYNC_CONNS=${DNI_BENCH_SYNC_CONNECTIONS:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/dni-origin-bench-XXXXXX)
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export DNI_ADMIN_TOKEN=bench-admin DNI_EDGE_SECRET=bench-edge DNI_BENCH_DIR="$HERE" DNI_BENCH_NUMBERS=1000
unset DNI_TWILIO_AUTH_TOKEN
"$BIN" --listen 127.0.0.1:$PORT --db "$DIR/bench.db" --max-connections 1024 --allow-unsigned-webhooks --quiet 2>"$DIR/origin.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
i=0
until curl -sf http://127.0.0.1:$PORT/healthz >/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$DIR/origin.log"; exit 1; }; sleep 0.05
done
DNI_BENCH_POOL_VERSION=$(node "$HERE/setup.mjs" $PORT $DNI_BENCH_NUMBERS)
export DNI_BENCH_POOL_VERSION

metric() { curl -s http://127.0.0.1:$PORT/metrics | awk -v m="$1" '$1 == m {print $2}'; }
run() { # name script [connections]
    wrk -t2 -c${3:-$CONNS} -d${SECS}s -s "$HERE/$2" http://127.0.0.1:$PORT >"$DIR/$1.out" 2>&1 || true
    line=$(grep '^RESULT' "$DIR/$1.out" || true)
    [ -n "$line" ] || { cat "$DIR/$1.out"; exit 1; }
    echo "$line"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "dni-origin benchmark: wrk -t2 -d${SECS}s on 127.0.0.1, synchronous=FULL, $CONNS connections ($SYNC_CONNS for sync)"
H=$(run healthz healthz.lua)
E0=$(metric dni_origin_sync_events_total); C0=$(metric dni_origin_commits_total); J0=$(metric dni_origin_commit_jobs_total)
S=$(run sync sync.lua $SYNC_CONNS)
E1=$(metric dni_origin_sync_events_total); C1=$(metric dni_origin_commits_total); J1=$(metric dni_origin_commit_jobs_total)
W=$(run webhook webhook.lua)
C2=$(metric dni_origin_commits_total); J2=$(metric dni_origin_commit_jobs_total)
V=$(run voice voice.lua)

awk -v h="$(field "$H" rps)" -v hp="$(field "$H" p99_ms)" \
    -v s="$(field "$S" rps)" -v sp="$(field "$S" p99_ms)" -v ss="$(field "$S" seconds)" \
    -v sn="$(field "$S" non2xx)" -v e="$((E1 - E0))" \
    -v w="$(field "$W" rps)" -v wp="$(field "$W" p99_ms)" -v wn="$(field "$W" non2xx)" \
    -v sc="$((C1 - C0))" -v sj="$((J1 - J0))" -v wc="$((C2 - C1))" -v wj="$((J2 - J1))" \
    -v conns="$CONNS" -v v="$(field "$V" rps)" -v vp="$(field "$V" p99_ms)" -v v50="$(field "$V" p50_ms)" -v vn="$(field "$V" non2xx)" 'BEGIN {
    eps = e / ss
    printf "%-34s %12s %10s %10s\n", "endpoint", "req/s", "p99 ms", "vs healthz"
    printf "%-34s %12.0f %10.2f %10s\n", "GET /healthz (trivial)", h, hp, "1.00"
    printf "%-34s %12.0f %10.2f %10.3f\n", "POST /v1/edge/sync (500 events)", s, sp, s / h
    printf "%-34s %12.0f %10.2f %10.3f\n", "POST /v1/webhooks/call (durable)", w, wp, w / h
    printf "%-34s %12.0f %10.2f %10.3f\n", "POST /v1/voice (TwiML, durable)", v, vp, v / h
    printf "sync events applied: %.0f events/s (target 500000: %.2fx)%s\n", eps, eps / 500000, (sn > 0 ? "  non-2xx: " sn : "")
    printf "durable webhooks: %.0f req/s (target 10000: %.2fx)%s\n", w, w / 10000, (wn > 0 ? "  non-2xx: " wn : "")
    printf "voice route: p50 %.2f ms, p99 %.2f ms at %s connections (added to the caller'"'"'s ring time)%s\n", v50, vp, conns, (vn > 0 ? "  non-2xx: " vn : "")
    printf "group commit: sync %.1f jobs/commit, webhook %.1f jobs/commit\n", sc ? sj / sc : 0, wc ? wj / wc : 0
}'
