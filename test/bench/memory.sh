#!/usr/bin/env bash
# Backend memory of llmcost's aggregates as the input grows from 100,000 to
# 1,000,000 rows: a moving window (stats_agg over the trailing 168 rows) and
# grouped aggregation into 100,000 groups (stats_agg, sketch_agg).  For each,
# a fresh backend runs the query while this script samples its anonymous
# resident memory (RssAnon: private memory, not shared buffers) every 10 ms;
# the peak at 1M rows is divided by the peak at 100k rows.  Flat means a
# ratio near 1: memory bound by the window or the number of groups, not by
# the rows.
#
#   test/bench/memory.sh          (uses the benchmark server of run.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LLMCOST_BENCH_DIR:-/var/tmp/llmcost-bench}
PORT=${LLMCOST_BENCH_PORT:-5497}
DB=llmcost_memory
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -X -q -v ON_ERROR_STOP=1)

bash test/setup.sh >/dev/null
bash test/pgserver.sh start "$DIR" "$PORT"
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
VACUUM ANALYZE rows_100k, rows_1m;
SQL

# peak RssAnon (kB) of a fresh backend while it runs one query
peak_kb() {
    local sql=$1 out pid peak=0 kb
    out=$(mktemp)
    chmod 666 "$out"
    # the backend's pid first, then the query, in one session
    "${PSQL[@]}" -d "$DB" -At -c "SET max_parallel_workers_per_gather = 0" -c "SET jit = off" \
        -c "SELECT pg_backend_pid(), pg_sleep(0.3)" -c "$sql" > "$out" &
    local client=$!
    for _ in $(seq 100); do
        pid=$(head -1 "$out" | cut -d'|' -f1)
        [ -n "$pid" ] && break
        sleep 0.01
    done
    while kill -0 "$client" 2>/dev/null; do
        kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.01
    done
    wait "$client"
    rm -f "$out"
    echo "$peak"
}

echo "| aggregate | peak backend RssAnon at 100,000 rows (kB) | at 1,000,000 rows (kB) | growth |"
echo "|---|---|---|---|"
row() {   # row LABEL SQL-WITH-TABLE-PLACEHOLDER
    local small large
    small=$(peak_kb "${2//ROWS/rows_100k}")
    large=$(peak_kb "${2//ROWS/rows_1m}")
    printf '| %s | %s | %s | **%.2fx** |\n' "$1" "$small" "$large" "$(echo "$large / $small" | bc -l)"
}
row "stats_agg as a moving window (168 rows), over all rows" \
    "SELECT max(llmcost.stats_count(s)) FROM (SELECT llmcost.stats_agg(v) OVER (ORDER BY i ROWS BETWEEN 167 PRECEDING AND CURRENT ROW) AS s FROM ROWS) w"
row "stats_agg grouped into 100,000 groups" \
    "SELECT count(*) FROM (SELECT g, llmcost.stats_agg(v) FROM ROWS GROUP BY g) x"
row "sketch_agg grouped into 100,000 groups" \
    "SELECT count(*) FROM (SELECT g, llmcost.sketch_agg(v) FROM ROWS GROUP BY g) x"
row "sketch_agg of all rows (one sketch)" \
    "SELECT llmcost.sketch_count(llmcost.sketch_agg(v)) FROM ROWS"
row "baseline: sum(v) grouped into 100,000 groups" \
    "SELECT count(*) FROM (SELECT g, sum(v) FROM ROWS GROUP BY g) x"
