#!/usr/bin/env bash
# sqlsmith against the demo database as an unprivileged user (llmcost's
# reader and ingest roles, nothing else): random queries over every object
# it can see, counting server crashes (a backend killed by a signal, or the
# postmaster restarted).
#
#   test/bench/sqlsmith.sh [QUERIES]     (default 100000; needs `make demo` first)
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LLMCOST_DEMO_DIR:-/var/tmp/llmcost-demo}
PORT=${LLMCOST_DEMO_PORT:-5499}
QUERIES=${1:-100000}
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -d llmcost -X -q -At -v ON_ERROR_STOP=1)

command -v sqlsmith >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlsmith >/dev/null; }
"${PSQL[@]}" -c "SELECT 1" >/dev/null || { echo "start the demo first: make demo" >&2; exit 2; }
"${PSQL[@]}" -c "DROP ROLE IF EXISTS llmcost_fuzzer" -c "CREATE ROLE llmcost_fuzzer LOGIN IN ROLE llmcost_reader, llmcost_ingest"
started=$("${PSQL[@]}" -c "SELECT pg_postmaster_start_time()")
signals_before=$(grep -c "terminated by signal" "$DIR/server.log" || true)
(cd /tmp && runuser -u postgres -- sqlsmith --target="host=$DIR port=$PORT dbname=llmcost user=llmcost_fuzzer" \
    --seed=7 --max-queries="$QUERIES" --exclude-catalog --verbose 2> /tmp/llmcost-sqlsmith.log >/dev/null) || true
signals_after=$(grep -c "terminated by signal" "$DIR/server.log" || true)
restarted=$([ "$("${PSQL[@]}" -c "SELECT pg_postmaster_start_time()")" = "$started" ] && echo no || echo yes)
echo "sqlsmith: $(grep -o 'queries: [0-9]*' /tmp/llmcost-sqlsmith.log | tail -1), $(grep -o 'error rate: [0-9.]*' /tmp/llmcost-sqlsmith.log | tail -1)"
echo "backends killed by a signal: $((signals_after - signals_before)); server restarted: $restarted"
"${PSQL[@]}" -c "DROP ROLE llmcost_fuzzer"
[ "$((signals_after - signals_before))" -eq 0 ] && [ "$restarted" = no ]
