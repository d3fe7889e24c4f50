#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server of llmcost's own: its own data directory,
# run as the postgres user, listening on 127.0.0.1 and a socket in the data
# directory only, with pg_cron preloaded.  Used by the demo and benchmarks.
#
#   test/pgserver.sh start DIR PORT     (initdb on first use)
#   test/pgserver.sh stop DIR
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
cmd=$1 dir=$2 port=${3:-5499}

as_pg() { runuser -u postgres -- "$@"; }

case "$cmd" in
start)
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        as_pg "$BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'llmcost'
shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
max_parallel_workers_per_gather = 2
CONF
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        as_pg "$BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
    fi
    as_pg "$BIN/psql" -h "$dir" -p "$port" -d postgres -XAtqc \
        "SELECT 1 FROM pg_database WHERE datname = 'llmcost'" | grep -q 1 ||
        as_pg "$BIN/createdb" -h "$dir" -p "$port" llmcost
    ;;
stop)
    if [ -f "$dir/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        as_pg "$BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
