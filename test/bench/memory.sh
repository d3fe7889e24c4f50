#!/usr/bin/env bash
# Backend memory of llmcost's aggregates as the input grows from 100,000 to
# 1,000,000 rows: a moving window (stats_agg over the trailing 168 rows) and
# grouped aggregation into 100,000 groups (stats_agg, sketch_agg).  For each,
# a fresh backend runs the query and its peak private memory is read from
# /proc; the peak at 1M rows is divided by the peak at 100k rows.  Flat means a
# ratio near 1: memory bound by the window or the number of groups, not by
# the rows.
#
#   test/bench/memory.sh          (uses the benchmark server of run.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/bench/server.sh
DB=llmcost_memory
PSQL=("${PSQL_SERVER[@]}")

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION llmcost CASCADE;
-- heavy-tailed costs in nano-USD; g: 100,000 groups whatever the row count
CREATE TABLE rows_100k AS
SELECT i, i % 100000 AS g, greatest(1, round(exp(14 + 1.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()))))::bigint AS v
  FROM generate_series(1, 100000) i;
CREATE TABLE rows_1m AS
SELECT i, i % 100000 AS g, greatest(1, round(exp(14 + 1.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()))))::bigint AS v
  FROM generate_series(1, 1000000) i;
-- the moving window reads rows in order through an index: no sort
CREATE INDEX ON rows_100k (i);
CREATE INDEX ON rows_1m (i);
VACUUM ANALYZE rows_100k, rows_1m;
SQL

# (Each query uses its aggregates' results: an unused aggregate in a
# subquery is removed by the planner and would measure nothing.)
# Peak private memory (kB) of a fresh backend running one query: its peak
# resident size (VmHWM) less the shared and file-backed pages it still maps
# after the query (shared buffers only ever add to those), read while the
# session waits after the query.
peak_kb() {
    local sql=$1 pid kb=""
    # work_mem large enough that no sort or hash table spills: what is
    # measured is the memory the query needs, not the work_mem cap
    "${PSQL[@]}" -d "$DB" -At -c "SET max_parallel_workers_per_gather = 0" -c "SET jit = off" \
        -c "SET work_mem = '1GB'" -c "SET enable_sort = off" \
        -c "$sql" -c "SELECT 'llmcost-measure', pg_sleep(3)" >/dev/null &
    local client=$!
    while kill -0 "$client" 2>/dev/null; do
        pid=$("${PSQL[@]}" -d postgres -At -c "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT ''llmcost-measure''%'")
        if [ -n "$pid" ]; then
            kb=$(awk '/^VmHWM:/ {h=$2} /^RssShmem:/ {s=$2} /^RssFile:/ {f=$2} END {print h - s - f}' "/proc/$pid/status")
            break
        fi
        sleep 0.1
    done
    wait "$client"
    echo "$kb"
}

echo "| aggregate | peak backend private memory at 100,000 rows (kB) | at 1,000,000 rows (kB) | growth |"
echo "|---|---|---|---|"
row() {   # row LABEL SQL (@T@: the table)
    local small large
    small=$(peak_kb "${2//@T@/rows_100k}")
    large=$(peak_kb "${2//@T@/rows_1m}")
    printf '| %s | %s | %s | **%.2fx** |\n' "$1" "$small" "$large" "$(echo "$large / $small" | bc -l)"
}
row "stats_agg as a moving window (168 rows), over all rows" \
    "SELECT max(llmcost.stats_count(s)) FROM (SELECT llmcost.stats_agg(v) OVER (ORDER BY i ROWS BETWEEN 167 PRECEDING AND CURRENT ROW) AS s FROM @T@) w"
row "stats_agg grouped into 100,000 groups" \
    "SELECT sum(llmcost.stats_count(s)) FROM (SELECT g, llmcost.stats_agg(v) AS s FROM @T@ GROUP BY g) x"
row "baseline: sum(v) as the same moving window" \
    "SELECT max(s) FROM (SELECT sum(v) OVER (ORDER BY i ROWS BETWEEN 167 PRECEDING AND CURRENT ROW) AS s FROM @T@) w"
row "sketch_agg grouped into 100,000 groups" \
    "SELECT sum(llmcost.sketch_count(s)) FROM (SELECT g, llmcost.sketch_agg(v) AS s FROM @T@ GROUP BY g) x"
row "sketch_agg of all rows (one sketch)" \
    "SELECT llmcost.sketch_count(llmcost.sketch_agg(v)) FROM @T@"
row "baseline: sum(v) grouped into 100,000 groups" \
    "SELECT sum(s) FROM (SELECT g, sum(v) AS s FROM @T@ GROUP BY g) x"
