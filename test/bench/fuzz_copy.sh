#!/usr/bin/env bash
# Fuzzing the types through COPY ... (FORMAT binary) (test/bench/fuzz_copy.sql)
# on the benchmark server, N inputs per type (default 100000); then checks
# that the server did not restart.
#
#   test/bench/fuzz_copy.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/bench/server.sh
N=${1:-100000}
DB=llmcost_fuzz
PSQL=("${PSQL_SERVER[@]}")

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION llmcost CASCADE" >/dev/null
started=$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")
"${PSQL[@]}" -d "$DB" -v n="$N" -v dir="$DIR" -f test/bench/fuzz_copy.sql
[ "$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")" = "$started" ] && echo "server restarted: no" \
    || { echo "server restarted: yes"; exit 1; }
