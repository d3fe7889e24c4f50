#!/usr/bin/env bash
# Fuzzing the types through COPY ... (FORMAT binary) (test/bench/fuzz_copy.sql)
# on the benchmark server, N inputs per type (default 100000); then checks
# that the server did not restart.
#
#   test/bench/fuzz_copy.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LLMCOST_BENCH_DIR:-/var/tmp/llmcost-bench}
PORT=${LLMCOST_BENCH_PORT:-5497}
N=${1:-100000}
DB=llmcost_fuzz
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -X -q -v ON_ERROR_STOP=1)

bash test/setup.sh >/dev/null
bash test/pgserver.sh start "$DIR" "$PORT"
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION llmcost CASCADE" >/dev/null
started=$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")
"${PSQL[@]}" -d "$DB" -v n="$N" -v dir="$DIR" -f test/bench/fuzz_copy.sql
[ "$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")" = "$started" ] && echo "server restarted: no" \
    || { echo "server restarted: yes"; exit 1; }
