#!/usr/bin/env bash
# Fuzzing every llmcost function that takes text or json (test/fuzz_functions.sql)
# on the benchmark server, N inputs per function (default 100000), in the
# database pg_cron serves (so that schedule_jobs is fuzzed too); every call
# is rolled back.  Prints the errors by SQLSTATE per function and checks
# that the server did not restart.
#
#   test/bench/fuzz_functions.sh [N]
#   FUZZ_ONLY='^schedule_jobs$' test/bench/fuzz_functions.sh   # just the targets matching a regex
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/bench/server.sh
N=${1:-100000}
DB=llmcost
PSQL=("${PSQL_SERVER[@]}")

"${PSQL[@]}" -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS llmcost CASCADE" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
started=$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")
t0=$(date +%s)
"${PSQL[@]}" -d "$DB" <<SQL
SET client_min_messages = error;
SELECT setseed(0.125);
\i test/fuzz_inputs.sql
\set n $N
${FUZZ_ONLY:+\set only '$FUZZ_ONLY'}
\i test/fuzz_functions.sql
RESET client_min_messages;
\pset footer off
SELECT fn AS function, min(calls) AS inputs, min(ok) AS accepted,
       coalesce(sum(errors) FILTER (WHERE sqlstate_class = '22'), 0) AS errors_class_22,
       coalesce(sum(errors) FILTER (WHERE sqlstate_class <> '22'), 0) AS errors_other,
       string_agg(sqlstate || ':' || errors, ' ' ORDER BY errors DESC) AS by_sqlstate,
       max(broken) AS escapes_broken
  FROM fuzz_results GROUP BY fn ORDER BY fn;
SELECT count(DISTINCT fn) AS functions, sum(errors) + (SELECT sum(ok) FROM (SELECT DISTINCT fn, ok FROM fuzz_results) x) AS inputs,
       coalesce(sum(errors) FILTER (WHERE sqlstate_class <> '22'), 0) AS errors_outside_class_22,
       max(broken) AS escapes_broken
  FROM fuzz_results;
SELECT fn, sqlstate, errors, example FROM fuzz_results WHERE sqlstate_class <> '22' ORDER BY 1, 2;
SQL
echo "seconds: $(( $(date +%s) - t0 ))"
[ "$("${PSQL[@]}" -d "$DB" -At -c "SELECT pg_postmaster_start_time()")" = "$started" ] && echo "server restarted: no" \
    || { echo "server restarted: yes"; exit 1; }
