#!/usr/bin/env bash
# llmcost benchmarks, each a ratio against its baseline measured in the same
# run (this machine is noisy; absolute times are not comparable).
#
#   make bench                     both benchmarks
#   test/bench/run.sh ingest       COPY 1M events: llmcost.events vs a plain table
#   test/bench/run.sh pricing      pricing 5M events in a scan vs sum(input_tokens)
#
# Environment: BENCH_ROWS (1000000), BENCH_PRICING_ROWS (5000000), BENCH_REPS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LLMCOST_BENCH_DIR:-/var/tmp/llmcost-bench}
PORT=${LLMCOST_BENCH_PORT:-5497}
ROWS=${BENCH_ROWS:-1000000}
PROWS=${BENCH_PRICING_ROWS:-5000000}
REPS=${BENCH_REPS:-3}
WHAT=${1:-all}
CSV="$DIR/events.csv"
PRICED_CSV="$DIR/events_priced.csv"
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -d llmcost -X -q -v ON_ERROR_STOP=1)

bash test/setup.sh >/dev/null
bash test/pgserver.sh start "$DIR" "$PORT"

# seconds taken by one SQL command
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "${PSQL[@]}" -c "$1" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

setup_db() {
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmcost CASCADE;
DROP TABLE IF EXISTS bench_plain, bench_plain_part;
CREATE EXTENSION llmcost CASCADE;
SELECT llmcost.create_partitions('2026-10-01', '2026-11-02') \g /dev/null
\i test/demo/generator.sql
-- the baseline: the same columns (cost_nusd and rate_id as plain columns), the same indexes
CREATE TABLE bench_plain (LIKE llmcost.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench_plain ADD UNIQUE (event_time, request_id);
CREATE INDEX ON bench_plain (provider, model, event_time) WHERE cost_nusd IS NULL;
-- a second baseline with llmcost's daily partitions: isolates the per-row work of pricing
CREATE TABLE bench_plain_part (LIKE bench_plain INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (event_time);
ALTER TABLE bench_plain_part ADD UNIQUE (event_time, request_id);
CREATE INDEX ON bench_plain_part (provider, model, event_time) WHERE cost_nusd IS NULL;
CREATE TABLE bench_plain_part_default PARTITION OF bench_plain_part DEFAULT;
SELECT format('CREATE TABLE bench_plain_part_%s PARTITION OF bench_plain_part FOR VALUES FROM (%L) TO (%L)',
              to_char(d, 'YYYYMMDD'), d, d + interval '1 day')
  FROM generate_series('2026-10-01 00:00+00'::timestamptz, '2026-11-02 00:00+00', '1 day') d \gexec
SQL
    if [ ! -s "$CSV" ] || [ "$(wc -l < "$CSV")" -ne "$ROWS" ]; then
        echo "generating $ROWS events into $CSV ..." >&2
        "${PSQL[@]}" -c "COPY (SELECT * FROM llmcost_demo.generate($ROWS, 30, '2026-11-01 00:00+00') ORDER BY event_time) TO '$CSV' (FORMAT csv)"
    fi
}

COLS="event_time, request_id, trace_id, span_id, user_id, feature, provider, model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id, client_cost_usd, attributes"

bench_ingest() {
    local plain=() part=() ours=() t
    # The baselines get the same rows with the cost and rate llmcost computed,
    # so that their partial "unpriced" index holds the same rows as ours.
    if [ ! -s "$PRICED_CSV" ] || [ "$(wc -l < "$PRICED_CSV")" -ne "$ROWS" ]; then
        "${PSQL[@]}" -c "TRUNCATE llmcost.events; COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv);"
        "${PSQL[@]}" -c "COPY (SELECT $COLS, cost_nusd, rate_id FROM llmcost.events ORDER BY event_time, request_id) TO '$PRICED_CSV' (FORMAT csv)"
    fi
    for i in $(seq "$REPS"); do
        "${PSQL[@]}" -c "TRUNCATE bench_plain; TRUNCATE bench_plain_part; TRUNCATE llmcost.events; CHECKPOINT;"
        t=$(timed "COPY bench_plain ($COLS, cost_nusd, rate_id) FROM '$PRICED_CSV' (FORMAT csv)"); plain+=("$t")
        "${PSQL[@]}" -c "CHECKPOINT;"
        t=$(timed "COPY bench_plain_part ($COLS, cost_nusd, rate_id) FROM '$PRICED_CSV' (FORMAT csv)"); part+=("$t")
        "${PSQL[@]}" -c "CHECKPOINT;"
        t=$(timed "COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv)"); ours+=("$t")
        echo "  ingest run $i: plain ${plain[-1]} s, plain partitioned ${part[-1]} s, llmcost ${ours[-1]} s" >&2
    done
    local mp mq mo
    mp=$(median "${plain[@]}"); mq=$(median "${part[@]}"); mo=$(median "${ours[@]}")
    "${PSQL[@]}" -At -c "SELECT 'priced rows: ' || count(*) FILTER (WHERE cost_nusd IS NOT NULL) || ' of ' || count(*) FROM llmcost.events" >&2
    printf '| COPY %s events vs a plain table, rows/s (median of %s) | %.0f | %.0f | **%.2fx** (target >= 0.8x) |\n' \
        "$ROWS" "$REPS" "$(echo "$ROWS / $mp" | bc -l)" "$(echo "$ROWS / $mo" | bc -l)" "$(echo "$mp / $mo" | bc -l)"
    printf '| COPY %s events vs a plain table with the same daily partitions, rows/s | %.0f | %.0f | **%.2fx** |\n' \
        "$ROWS" "$(echo "$ROWS / $mq" | bc -l)" "$(echo "$ROWS / $mo" | bc -l)" "$(echo "$mq / $mo" | bc -l)"
}

bench_pricing() {
    # grow llmcost.events to PROWS rows by copies of the loaded day with new request ids
    "${PSQL[@]}" -c "TRUNCATE llmcost.events; COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv);"
    local have k=1
    have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")
    while [ "$have" -lt "$PROWS" ]; do
        "${PSQL[@]}" -c "INSERT INTO llmcost.events ($COLS) SELECT $(echo "$COLS" | sed "s/request_id/request_id || '-$k'/") FROM llmcost.events WHERE request_id NOT LIKE '%-%-%' LIMIT $((PROWS - have))"
        have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")
        k=$((k + 1))
    done
    "${PSQL[@]}" -c "VACUUM ANALYZE llmcost.events"
    local base=() ours=() t
    local q_base="SELECT sum(input_tokens) FROM llmcost.events"
    local q_ours="SELECT sum(llmcost.event_cost_nusd(event_time, provider, model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, cache_status, batch, feature)) FROM llmcost.events"
    timed "$q_base" >/dev/null; timed "$q_ours" >/dev/null   # warm the cache
    for i in $(seq "$REPS"); do
        t=$(timed "$q_base"); base+=("$t")
        t=$(timed "$q_ours"); ours+=("$t")
        echo "  pricing run $i: sum(input_tokens) ${base[-1]} s, pricing ${ours[-1]} s" >&2
    done
    local mb mo
    mb=$(median "${base[@]}"); mo=$(median "${ours[@]}")
    printf '| Pricing %s events in a scan, seconds (median of %s) | %.2f | %.2f | **%.2fx** (target <= 2x) |\n' \
        "$have" "$REPS" "$mb" "$mo" "$(echo "$mo / $mb" | bc -l)"
}

setup_db
{
    echo "| benchmark | baseline | llmcost | ratio |"
    echo "|---|---|---|---|"
    case "$WHAT" in
        ingest) bench_ingest ;;
        pricing) bench_pricing ;;
        all) bench_ingest; bench_pricing ;;
    esac
} | tee "$DIR/results.md"
echo "(baselines: COPY of the same rows, with llmcost's cost and rate precomputed, into plain tables with the same columns and indexes; sum(input_tokens) over the same rows for pricing)"
