#!/bin/sh
# A throwaway PostgreSQL cluster for the tests, under build/ (or DIR).
#
#   tests/pg_cluster.sh start [DIR]    initdb if needed, start, print the URL
#   tests/pg_cluster.sh url [DIR]      print the URL of a started cluster
#   tests/pg_cluster.sh stop [DIR]     stop the server, keep the data
#   tests/pg_cluster.sh destroy [DIR]  stop the server and remove DIR
#   tests/pg_cluster.sh restart [DIR]  stop then start on the same port
#
# The server runs Debian's PostgreSQL 15 binaries as the unprivileged
# `postgres` user (initdb refuses root) when started by root, as the
# calling user otherwise. It listens on 127.0.0.1 only, on a free port
# chosen at the first start and kept for restarts, with its Unix socket
# in DIR/sock; fsync and synchronous_commit stay on, since the tests
# check that an acknowledged write survives. Authentication is `trust`
# for local connections: the cluster is a test fixture, never a service.
# stop and destroy are idempotent. The URL names the database `dni`.
set -eu

cmd=${1:-}
dir=${2:-build/pg}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "pg_cluster: no PostgreSQL binaries (apt-get install postgresql)" >&2; exit 2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
sock=$dir/sock

# as_pg CMD...: runs CMD as the cluster's owner.
if [ "$(id -u)" = 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

# A port nobody listens on: the kernel's choice for port 0 on 127.0.0.1.
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

url() {
    echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/dni"
}

running() {
    [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
    if [ ! -f "$data/PG_VERSION" ]; then
        rm -rf "$data"
        mkdir -p "$data" "$sock"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$data" "$sock"
        chmod 700 "$data"
        as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
        rm -f "$dir/port"
    fi
    if running; then url; return; fi
    # The port: the one from an earlier start (a restart keeps its URL),
    # else a free one; retried if another process took it meanwhile.
    tries=0
    while :; do
        [ -f "$dir/port" ] || free_port >"$dir/port"
        port=$(cat "$dir/port")
        if as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=32MB" \
            start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            tail -20 "$dir/server.log" >&2
            exit 1
        fi
        rm -f "$dir/port"
    done
    as_pg "$PGBIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -qAt \
        -c "SELECT 1 FROM pg_database WHERE datname = 'dni'" | grep -q 1 ||
        as_pg "$PGBIN/createdb" -h "$sock" -p "$port" -U postgres dni
    url
}

stop() {
    if running; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
}

case "$cmd" in
start) start ;;
url) [ -f "$dir/port" ] || { echo "pg_cluster: not started" >&2; exit 1; }; url ;;
stop) stop ;;
destroy) stop; rm -rf "$dir" ;;
restart) stop; start ;;
*) echo "usage: $0 start|url|stop|destroy|restart [DIR]" >&2; exit 2 ;;
esac
