#!/usr/bin/env bash
# llmcost benchmarks, each a ratio against its baseline measured in the same
# run (this machine is noisy; absolute times are not comparable).
#
#   make bench                     all of them
#   test/bench/run.sh ingest       COPY 1M events: llmcost.events vs plain tables
#   test/bench/run.sh pricing      pricing 5M events in a scan vs sum(input_tokens)
#   test/bench/run.sh stats        168-hour rolling mean/stddev and summaries vs built-ins
#   test/bench/run.sh sketch       per-user percentiles vs percentile_cont and tdigest
#   test/bench/run.sh rollups      rollup refresh vs COPY; each dashboard vs the same query on raw events
#   test/bench/run.sh alerts       a full anomaly check vs the same checks with float8 window aggregates
#   test/bench/run.sh otlp         OTLP/JSON ingest vs multi-row INSERTs of the same calls
#   test/bench/run.sh quotas       admissions with pgbench: throughput, p99 latency, quota overruns
#   test/bench/run.sh review       the weekly review over 90 days of events vs its figures from raw events
#
# Environment: BENCH_ROWS (1000000), BENCH_PRICING_ROWS (5000000), BENCH_REPS (5),
# BENCH_WORK_MEM (64MB, for the window and aggregate queries, baseline and llmcost alike),
# BENCH_VIEWS (the dashboards timed by "rollups", default all seven; none: no dashboard, only the refresh rows).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/pgbench_stats.sh

. test/bench/server.sh
ROWS=${BENCH_ROWS:-1000000}
PROWS=${BENCH_PRICING_ROWS:-5000000}
REPS=${BENCH_REPS:-5}
WORK_MEM=${BENCH_WORK_MEM:-64MB}
WHAT=${1:-all}
# the generated traffic ends at the start of today (UTC), so that the
# trailing-30-day dashboards see a full month of it
END_DAY=$(date -u +%Y-%m-%d)
CSV="$DIR/events-$END_DAY.csv"
PRICED_CSV="$DIR/events-priced-$END_DAY.csv"
PSQL=("${PSQL_SERVER[@]}" -d llmcost)


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
SELECT llmcost.create_partitions('$END_DAY'::timestamptz - interval '31 days', '$END_DAY'::timestamptz + interval '1 day') \g /dev/null
\i test/demo/generator.sql
-- the baseline: the same columns (cost_nusd and rate_id as plain columns), the same indexes
CREATE TABLE bench_plain (LIKE llmcost.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench_plain ADD UNIQUE (event_time, request_id);
CREATE INDEX ON bench_plain (provider, model, event_time) WHERE cost_nusd IS NULL;
CREATE INDEX ON bench_plain USING brin (ingested_at) WITH (pages_per_range = 32, autosummarize = on);
-- a second baseline with llmcost's daily partitions: isolates the per-row work of pricing
CREATE TABLE bench_plain_part (LIKE bench_plain INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (event_time);
ALTER TABLE bench_plain_part ADD UNIQUE (event_time, request_id);
CREATE INDEX ON bench_plain_part (provider, model, event_time) WHERE cost_nusd IS NULL;
CREATE INDEX ON bench_plain_part USING brin (ingested_at) WITH (pages_per_range = 32, autosummarize = on);
CREATE TABLE bench_plain_part_default PARTITION OF bench_plain_part DEFAULT;
SELECT format('CREATE TABLE bench_plain_part_%s PARTITION OF bench_plain_part FOR VALUES FROM (%L) TO (%L)',
              to_char(d, 'YYYYMMDD'), d, d + interval '1 day')
  FROM generate_series('$END_DAY 00:00+00'::timestamptz - interval '31 days', '$END_DAY 00:00+00'::timestamptz + interval '1 day', '1 day') d \gexec
SQL
    if [ ! -s "$CSV" ] || [ "$(wc -l < "$CSV")" -ne "$ROWS" ]; then
        echo "generating $ROWS events into $CSV ..." >&2
        "${PSQL[@]}" -c "COPY (SELECT * FROM llmcost_demo.generate($ROWS, 30, '$END_DAY 00:00+00') ORDER BY event_time) TO '$CSV' (FORMAT csv)"
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
    # the three loads take turns going first: no target profits from a warmer machine
    local order=(plain part ours)
    for i in $(seq "$REPS"); do
        "${PSQL[@]}" -c "TRUNCATE bench_plain; TRUNCATE bench_plain_part; TRUNCATE llmcost.events;"
        for k in 0 1 2; do
            "${PSQL[@]}" -c "CHECKPOINT;"
            case ${order[$(( (i + k) % 3 ))]} in
                plain) t=$(timed "COPY bench_plain ($COLS, cost_nusd, rate_id) FROM '$PRICED_CSV' (FORMAT csv)"); plain+=("$t") ;;
                part) t=$(timed "COPY bench_plain_part ($COLS, cost_nusd, rate_id) FROM '$PRICED_CSV' (FORMAT csv)"); part+=("$t") ;;
                ours) t=$(timed "COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv)"); ours+=("$t") ;;
            esac
        done
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

# Grows llmcost.events to PROWS rows with copies of the loaded events under
# new request ids; prints the final count.
grow_events() {
    local have k=1
    have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")
    while [ "$have" -lt "$PROWS" ]; do
        "${PSQL[@]}" -c "INSERT INTO llmcost.events ($COLS) SELECT $(echo "$COLS" | sed "s/request_id/request_id || '-$k'/") FROM llmcost.events WHERE request_id NOT LIKE '%-%-%' LIMIT $((PROWS - have))" >&2
        have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")
        k=$((k + 1))
    done
    echo "$have"
}

bench_pricing() {
    "${PSQL[@]}" -c "TRUNCATE llmcost.events; COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv);"
    local have
    have=$(grow_events)
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

# Median milliseconds of a query run REPS times in one session (no connection cost).
server_ms() {
    local script
    # the same session settings for baseline and llmcost: workers, and work_mem
    # for the window sorts (an analytical query's setting, not the 4MB default)
    script=$(printf 'SET max_parallel_workers_per_gather = %s;\nSET work_mem = %s;\n%s \\g /dev/null\n\\timing on\n' \
                    "${2:-2}" "'$WORK_MEM'" "$1"
             for _ in $(seq "$REPS"); do printf '%s \\g /dev/null\n' "$1"; done)
    median $(echo "$script" | "${PSQL[@]}" -f - 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
}

bench_stats() {
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_hourly, bench_hourly_big, bench_raw;
-- hourly cost per feature, heavy-tailed, in nano-USD and as numeric and float8 USD
CREATE TABLE bench_hourly AS
SELECT f AS feature, '2026-08-01 00:00+00'::timestamptz + h * interval '1 hour' AS hour,
       c AS cost_nusd, c / 1000000000.0 AS cost, (c / 1e9)::float8 AS cost_f
  FROM generate_series(1, 40) f, generate_series(0, 90 * 24 - 1) h,
       LATERAL (SELECT (exp(random() * 8) * 1000000 + f + h)::bigint AS c) x;
CREATE TABLE bench_hourly_big AS
SELECT f AS feature, '2026-10-01 00:00+00'::timestamptz + h * interval '1 hour' AS hour,
       c AS cost_nusd, c / 1000000000.0 AS cost, (c / 1e9)::float8 AS cost_f
  FROM generate_series(1, 1000) f, generate_series(0, 719) h,
       LATERAL (SELECT (exp(random() * 8) * 1000000 + f + h)::bigint AS c) x;
CREATE TABLE bench_raw AS
SELECT c AS cost_nusd, c / 1000000000.0 AS cost
  FROM generate_series(1, $PROWS) i, LATERAL (SELECT (exp(random() * 10) * 1000 + i % 7)::bigint AS c) x;
VACUUM ANALYZE bench_hourly, bench_hourly_big, bench_raw;
SQL
    local w="WINDOW w AS (PARTITION BY feature ORDER BY hour ROWS BETWEEN 168 PRECEDING AND 1 PRECEDING)"
    local t
    for t in bench_hourly bench_hourly_big; do
        local rows f n o target="target >= 20x"
        [ "$t" = bench_hourly_big ] && target="reported"
        rows=$("${PSQL[@]}" -At -c "SELECT count(*) FROM $t")
        f=$(server_ms "SELECT sum(m), sum(s) FROM (SELECT avg(cost_f) OVER w AS m, stddev_samp(cost_f) OVER w AS s FROM $t $w) x")
        n=$(server_ms "SELECT sum(m), sum(s) FROM (SELECT avg(cost) OVER w AS m, stddev_samp(cost) OVER w AS s FROM $t $w) x")
        o=$(server_ms "SELECT sum(llmcost.stats_mean(st)), sum(llmcost.stats_stddev(st)) FROM (SELECT llmcost.stats_agg(cost_nusd) OVER w AS st FROM $t $w) x")
        printf '| 168-hour trailing mean + stddev per feature, %s rows: vs float8 avg + stddev_samp (ms) | %.0f | %.0f | **%.1fx faster** (%s) |\n' \
            "$rows" "$f" "$o" "$(echo "$f / $o" | bc -l)" "$target"
        printf '| the same vs numeric avg + stddev_samp (ms) | %.0f | %.0f | **%.1fx faster** (target > 1x) |\n' \
            "$n" "$o" "$(echo "$n / $o" | bc -l)"
    done
    local b o1 o2
    b=$(server_ms "SELECT sum(cost) FROM bench_raw" 0)
    o1=$(server_ms "SELECT llmcost.stats_agg(cost_nusd) FROM bench_raw" 0)
    o2=$(server_ms "SELECT llmcost.stats_agg(cost) FROM bench_raw" 0)
    printf '| summary of %s raw costs, nano-USD bigint, vs sum(numeric), serial (ms) | %.0f | %.0f | **%.2fx** (target <= 1.5x) |\n' \
        "$PROWS" "$b" "$o1" "$(echo "$o1 / $b" | bc -l)"
    printf '| summary of %s raw costs, numeric USD, vs sum(numeric), serial (ms) | %.0f | %.0f | **%.2fx** |\n' \
        "$PROWS" "$b" "$o2" "$(echo "$o2 / $b" | bc -l)"
}

bench_sketch() {
    # the tdigest extension is a baseline here only
    dpkg-query -W -f='${Status}' postgresql-15-tdigest 2>/dev/null | grep -q "install ok installed" ||
        { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-tdigest >/dev/null; }
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tdigest;
DROP TABLE IF EXISTS bench_calls, bench_user_hourly, bench_user_daily, bench_user_30d;
-- 5M calls over 90 days by 100,000 users with a power-law share of the calls,
-- log-normal cost per call
SELECT setseed(0.3);
CREATE TABLE bench_calls AS
SELECT floor(100000 * power(random(), 2.5))::int AS user_id,
       '2026-08-01 00:00+00'::timestamptz + random() * interval '90 days' AS t,
       c AS nusd, c / 1000000000.0 AS cost
  FROM generate_series(1, $PROWS) g,
       -- "g * 0" makes the subquery correlated: an uncorrelated one is run once, giving every call one cost
       LATERAL (SELECT greatest(1, round(exp(ln(3000000) + 1.2 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) + g * 0))::bigint AS c) x;
CREATE INDEX ON bench_calls (t);
CREATE TABLE bench_user_hourly AS
SELECT user_id, date_trunc('hour', t) AS hour, llmcost.sketch_agg(nusd) AS s
  FROM bench_calls GROUP BY 1, 2;
-- what the refresh keeps for llmcost.user_call_costs: daily per-user sketches
-- merged from the hourly ones (rollup_daily_user), then the 30-day window
-- merged from those (rollup_user_30d)
CREATE TABLE bench_user_daily AS
SELECT user_id, (hour AT TIME ZONE 'UTC')::date AS day, llmcost.sketch_rollup(s) AS s
  FROM bench_user_hourly GROUP BY 1, 2;
VACUUM ANALYZE bench_calls, bench_user_hourly, bench_user_daily;
SQL
    local since="'2026-10-01 00:00+00'" rows hourly pc td sk raw99 rolled build window differ floor
    rows=$("${PSQL[@]}" -At -c "SELECT count(*) FROM bench_calls WHERE t >= $since")
    hourly=$("${PSQL[@]}" -At -c "SELECT count(*) FROM bench_user_hourly WHERE hour >= $since")
    # Each query sums a result of every group: over count(*) of a subquery the planner would drop
    # the unused aggregates and time only the grouping.
    pc=$(server_ms "SELECT sum(p[1] + p[2] + p[3]) FROM (SELECT user_id, percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY cost) AS p FROM bench_calls WHERE t >= $since GROUP BY user_id) x")
    td=$(server_ms "SELECT sum(p[1] + p[2] + p[3]) FROM (SELECT user_id, tdigest_percentile(cost::float8, 100, ARRAY[0.5, 0.9, 0.99]) AS p FROM bench_calls WHERE t >= $since GROUP BY user_id) x")
    sk=$(server_ms "SELECT sum(p[1] + p[2] + p[3]) FROM (SELECT user_id, llmcost.sketch_quantiles(llmcost.sketch_agg(nusd), ARRAY[0.5, 0.9, 0.99]) AS p FROM bench_calls WHERE t >= $since GROUP BY user_id) x")
    raw99=$(server_ms "SELECT sum(p) FROM (SELECT user_id, percentile_cont(0.99) WITHIN GROUP (ORDER BY cost) AS p FROM bench_calls WHERE t >= $since GROUP BY user_id) x")
    # the floor of any aggregate over the raw calls: their scan and grouping alone
    floor=$(server_ms "SELECT sum(c) FROM (SELECT user_id, count(nusd) AS c FROM bench_calls WHERE t >= $since GROUP BY user_id) x")
    rolled=$(server_ms "SELECT sum(p) FROM (SELECT user_id, llmcost.sketch_quantile(llmcost.sketch_rollup(s), 0.99) AS p FROM bench_user_hourly WHERE hour >= $since GROUP BY user_id) x")
    # the per-user window as the refresh rebuilds it on a new day, then read as user_call_costs reads it
    build=$(timed "CREATE TABLE bench_user_30d AS SELECT user_id, llmcost.sketch_rollup(s) AS s FROM bench_user_daily WHERE day >= $since::date GROUP BY user_id")
    "${PSQL[@]}" -c "VACUUM ANALYZE bench_user_30d"
    window=$(server_ms "SELECT sum(p[1] + p[2] + p[3]) FROM (SELECT user_id, llmcost.sketch_quantiles(s, ARRAY[0.5, 0.9, 0.99]) AS p FROM bench_user_30d) x")
    # the window's sketches are the raw calls' sketches, bucket for bucket
    differ=$("${PSQL[@]}" -At -c "SELECT count(*) FROM bench_user_30d w FULL JOIN (SELECT user_id, llmcost.sketch_agg(nusd)::text AS s FROM bench_calls WHERE t >= $since GROUP BY user_id) r USING (user_id) WHERE w.s::text IS DISTINCT FROM r.s")
    printf '| per-user p50/p90/p99 over 30 days (%s calls) with sketch_agg over the raw calls, vs percentile_cont (ms) | %.0f | %.0f | **%.1fx faster** |\n' \
        "$rows" "$pc" "$sk" "$(echo "$pc / $sk" | bc -l)"
    printf '| the same vs tdigest_percentile(cost, 100, ...) (ms) | %.0f | %.0f | **%.1fx faster** |\n' \
        "$td" "$sk" "$(echo "$td / $sk" | bc -l)"
    printf '| the scan and grouping of the same calls alone (a count per user): the floor of any aggregate over them (ms) | %.0f | %.0f | %.0f%% of percentile_cont |\n' \
        "$pc" "$floor" "$(echo "100 * $floor / $pc" | bc -l)"
    printf '| per-user p50/p90/p99 over 30 days from the per-user 30-day window sketches (user_call_costs), vs percentile_cont over the raw calls (ms) | %.0f | %.1f | **%.1fx faster** (target >= 3x) |\n' \
        "$pc" "$window" "$(echo "$pc / $window" | bc -l)"
    printf '| the same vs tdigest_percentile (ms) | %.0f | %.1f | **%.1fx faster** (target >= 3x) |\n' \
        "$td" "$window" "$(echo "$td / $window" | bc -l)"
    printf '| per-user p99 over 30 days merging %s hourly per-user sketches at query time, vs percentile_cont over the raw calls (ms) | %.0f | %.0f | **%.1fx faster** |\n' \
        "$hourly" "$raw99" "$rolled" "$(echo "$raw99 / $rolled" | bc -l)"
    printf '| per-user p99 over 30 days from the window sketches, vs percentile_cont over the raw calls (ms) | %.0f | %.1f | **%.1fx faster** (target >= 10x) |\n' \
        "$raw99" "$window" "$(echo "$raw99 / $window" | bc -l)"
    printf '| building the window sketches of %s users from their daily sketches (the refresh, once a day; s) | | %.2f | %s users whose window sketch differs from sketch_agg over their raw calls |\n' \
        "$("${PSQL[@]}" -At -c "SELECT count(*) FROM bench_user_30d")" "$build" "$differ"
}

bench_rollups() {
    # refresh of 1M new events against the COPY that brought them
    local copy_s refresh_s
    "${PSQL[@]}" -c "TRUNCATE llmcost.events; TRUNCATE llmcost.rollup_hourly, llmcost.rollup_daily_feature, llmcost.rollup_daily_user; UPDATE llmcost.rollup_state SET watermark = '-infinity'; CHECKPOINT;"
    copy_s=$(timed "COPY llmcost.events ($COLS) FROM '$CSV' (FORMAT csv)")
    "${PSQL[@]}" -c "UPDATE llmcost.settings SET retention_days = 3650; CHECKPOINT;"
    refresh_s=$(timed "SELECT llmcost.refresh_rollups()")
    printf '| refresh of %s new events vs the COPY that loaded them (s) | %.2f | %.2f | **%.2fx** (target <= 0.5x) |\n' \
        "$ROWS" "$copy_s" "$refresh_s" "$(echo "$refresh_s / $copy_s" | bc -l)"
    # the floor of any refresh at this grain: only writing the hourly
    # rollup's rows (copied from it, nothing aggregated) into a table like it
    local floor_s hourly_rows sizes
    "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_floor_hourly; CREATE TABLE bench_floor_hourly (LIKE llmcost.rollup_hourly INCLUDING ALL); CHECKPOINT;"
    floor_s=$(timed "INSERT INTO bench_floor_hourly SELECT * FROM llmcost.rollup_hourly")
    hourly_rows=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.rollup_hourly")
    sizes=$("${PSQL[@]}" -At -c "SELECT round(avg(pg_column_size(h.*))) || ' bytes a row, ' || round(avg(h.calls), 2) || ' calls a row; an event: ' || (SELECT round(avg(pg_column_size(e.*))) FROM llmcost.events e) || ' bytes' FROM llmcost.rollup_hourly h")
    printf '| floor: writing the %s rows of the hourly rollup alone (nothing aggregated) vs the same COPY (s) | %.2f | %.2f | **%.2fx** (%s) |\n' \
        "$hourly_rows" "$copy_s" "$floor_s" "$(echo "$floor_s / $copy_s" | bc -l)" "$sizes"
    "${PSQL[@]}" -c "DROP TABLE bench_floor_hourly"
    # a rolling-window quota's usage (24 hours) of the busiest user of the
    # window: quota_used_nusd through the hourly index, against the same sum
    # over a scan of the table (what 0.2, without the user in the index,
    # did; the "|| ''" and "+ interval '0'" keep the planner off the index)
    local busiest rolling rolling_scan
    "${PSQL[@]}" -c "VACUUM ANALYZE llmcost.rollup_hourly" >/dev/null
    busiest=$("${PSQL[@]}" -At -c "SELECT user_id FROM llmcost.rollup_hourly WHERE hour >= now() - interval '24 hours' AND user_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    rolling=$(server_ms "SELECT llmcost.quota_used_nusd('$busiest', 'rolling')")
    rolling_scan=$(server_ms "SELECT sum(h.cost_nusd) FROM llmcost.rollup_hourly h WHERE h.user_id || '' = '$busiest' AND h.hour + interval '0' >= date_trunc('hour', now() - interval '24 hours', 'UTC')")
    printf '| rolling-window quota usage (24 h) of the busiest user: quota_used_nusd through the hourly index vs the same sum scanning the window (ms) | %.1f | %.2f | **%.0fx faster** |\n' \
        "$rolling_scan" "$rolling" "$(echo "$rolling_scan / $rolling" | bc -l)"
    # BENCH_VIEWS=none: the refresh rows only
    [ "${BENCH_VIEWS:-}" = none ] && return

    # dashboards on PROWS events: the view against its own definition over raw events
    local have
    have=$(grow_events)
    "${PSQL[@]}" -c "SELECT llmcost.refresh_rollups()" -c "VACUUM ANALYZE llmcost.events, llmcost.rollup_hourly, llmcost.rollup_daily_feature, llmcost.rollup_daily_user"
    local raw_feature="(SELECT (event_time AT TIME ZONE 'UTC')::date AS day, feature, provider, model, error_class, cache_status, count(*) AS calls, count(*) FILTER (WHERE attempt > 1) AS retry_calls, sum(input_tokens) AS input_tokens, sum(cached_read_tokens) AS cached_read_tokens, sum(output_tokens) AS output_tokens, coalesce(sum(cost_nusd), 0) AS cost_nusd, coalesce(sum(cost_nusd) FILTER (WHERE attempt > 1), 0) AS retry_cost_nusd, coalesce(sum(llmcost.event_cost_nusd(event_time, provider, model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, NULL, 'miss', batch, feature)) FILTER (WHERE cache_status <> 'miss'), 0) AS avoided_nusd, coalesce(sum(llmcost.event_cost_nusd(event_time, provider, model, input_tokens, 0, cache_write_tokens, output_tokens, reasoning_tokens, NULL, 'miss', batch, feature) - cost_nusd) FILTER (WHERE cache_status = 'miss' AND cached_read_tokens > 0), 0) AS prompt_cache_saved_nusd FROM llmcost.events GROUP BY 1, 2, 3, 4, 5, 6)"
    # the lean raw subquery for the views that do not need avoided and prompt-cache costs
    local raw_feature_lean="(SELECT (event_time AT TIME ZONE 'UTC')::date AS day, feature, provider, model, error_class, cache_status, count(*) AS calls, count(*) FILTER (WHERE attempt > 1) AS retry_calls, sum(input_tokens) AS input_tokens, sum(cached_read_tokens) AS cached_read_tokens, sum(output_tokens) AS output_tokens, coalesce(sum(cost_nusd), 0) AS cost_nusd, coalesce(sum(cost_nusd) FILTER (WHERE attempt > 1), 0) AS retry_cost_nusd, count(*) FILTER (WHERE requested_model IS NOT NULL AND llmcost.resolve_model(provider, requested_model) IS DISTINCT FROM llmcost.resolve_model(provider, model)) AS fallback_calls, coalesce(sum(cost_nusd - llmcost.event_cost_nusd(event_time, provider, requested_model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, NULL, cache_status, batch, feature)) FILTER (WHERE requested_model IS NOT NULL AND llmcost.resolve_model(provider, requested_model) IS DISTINCT FROM llmcost.resolve_model(provider, model)), 0) AS fallback_extra_nusd FROM llmcost.events GROUP BY 1, 2, 3, 4, 5, 6)"
    local raw_user="(SELECT (event_time AT TIME ZONE 'UTC')::date AS day, user_id, count(*) AS calls, coalesce(sum(cost_nusd), 0) AS cost_nusd FROM llmcost.events GROUP BY 1, 2)"
    local raw_hourly_feature="(SELECT date_trunc('hour', event_time, 'UTC') AS hour, feature, count(*) AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, coalesce(sum(cost_nusd), 0) AS cost_nusd FROM llmcost.events GROUP BY 1, 2)"
    local raw_user_30d="(SELECT user_id, count(*) AS calls, coalesce(sum(cost_nusd), 0)::bigint AS cost_nusd, coalesce(sum(cost_nusd) FILTER (WHERE event_time >= date_trunc('day', now(), 'UTC') - interval '6 days'), 0)::bigint AS cost_7d_nusd, coalesce(sum(cost_nusd) FILTER (WHERE event_time >= date_trunc('day', now(), 'UTC')), 0)::bigint AS cost_today_nusd FROM llmcost.events WHERE event_time >= date_trunc('day', now(), 'UTC') - interval '29 days' AND user_id IS NOT NULL GROUP BY user_id)"
    local v def raw ours base
    for v in ${BENCH_VIEWS:-cost_trend cost_trend_hourly top_features top_users cache_savings error_costs user_cost_distribution}; do
        def=$("${PSQL[@]}" -At -c "SELECT pg_get_viewdef('llmcost.$v'::regclass)" | tr '\n' ' ' | sed 's/;[[:space:]]*$//')
        if [ "$v" = cache_savings ]; then
            raw=${def//llmcost.rollup_daily_feature/$raw_feature}
        else
            raw=${def//llmcost.rollup_daily_feature/$raw_feature_lean}
        fi
        raw=${raw//llmcost.rollup_daily_user/$raw_user}
        raw=${raw//llmcost.rollup_user_30d/$raw_user_30d}
        raw=${raw//llmcost.rollup_hourly_feature/$raw_hourly_feature}
        # every row and column, as a BI tool fetches them (a count(*) would let
        # the planner skip the window functions of both sides)
        ours=$(server_ms "SELECT * FROM llmcost.$v")
        base=$(server_ms "SELECT * FROM ($raw) x")
        printf '| dashboard llmcost.%s over %s events: the view vs its query on raw events (ms) | %.0f | %.1f | **%.0fx faster** (target >= 50x) |\n' \
            "$v" "$have" "$base" "$ours" "$(echo "$base / $ours" | bc -l)"
    done
    "${PSQL[@]}" -c "UPDATE llmcost.settings SET retention_days = 90"
}

bench_alerts() {
    # 90 days of hourly rollups for 40 features and 100,000 power-law users
    # (5M calls, heavy-tailed cost), built straight into llmcost's rollup
    # tables: the checks read nothing else
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
TRUNCATE llmcost.rollup_hourly, llmcost.rollup_hourly_feature, llmcost.rollup_daily_feature,
         llmcost.rollup_daily_user, llmcost.alerts;
SELECT setseed(0.6);
SET work_mem = '1GB';
INSERT INTO llmcost.rollup_hourly
SELECT hour, feature, user_id, 'openai', 'gpt-4o', NULL, 'miss', count(*), 0, 0, sum(inp), 0, 0, sum(outp), 0,
       sum(c), 0, 0, 0, llmcost.stats_agg(c), llmcost.duration_stats_agg(lat), NULL
  FROM (SELECT date_trunc('hour', '$END_DAY 00:00+00'::timestamptz - random() * interval '90 days') AS hour,
               'feature-' || floor(40 * power(random(), 1.5))::int AS feature,
               'u' || floor(100000 * power(random(), 2.5))::int AS user_id,
               1000 AS inp, 100 AS outp, (300 + random() * 2000)::float8 AS lat,
               greatest(1, round(exp(ln(3000000) + 1.2 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()))))::bigint AS c
          FROM generate_series(1, $PROWS)) x
 GROUP BY 1, 2, 3
 ORDER BY 1;  -- refresh_rollups() writes hour by hour: the same physical order
INSERT INTO llmcost.rollup_hourly_feature
SELECT hour, feature, sum(calls), 0, 0, sum(input_tokens), sum(output_tokens), sum(cost_nusd), 0,
       llmcost.stats_rollup(cost_stats), llmcost.stats_rollup(latency_stats)
  FROM llmcost.rollup_hourly GROUP BY 1, 2;
INSERT INTO llmcost.rollup_daily_user
SELECT (hour AT TIME ZONE 'UTC')::date, user_id, sum(calls), sum(cost_nusd) FROM llmcost.rollup_hourly GROUP BY 1, 2;
INSERT INTO llmcost.rollup_daily_feature
SELECT (hour AT TIME ZONE 'UTC')::date, feature, provider, model, error_class, cache_status, sum(calls), 0, 0,
       sum(input_tokens), 0, 0, sum(output_tokens), 0, sum(cost_nusd), 0, 0, 0, NULL, NULL
  FROM llmcost.rollup_hourly GROUP BY 1, 2, 3, 4, 5, 6;
VACUUM ANALYZE llmcost.rollup_hourly, llmcost.rollup_hourly_feature, llmcost.rollup_daily_user, llmcost.rollup_daily_feature;
SQL
    local at="'$END_DAY 00:00+00'::timestamptz" rows ours full ranged
    rows=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.rollup_hourly")
    ours=$(server_ms "SELECT count(*) FROM llmcost.find_anomalies($at)")
    # The same checks with float8 window aggregates over the same rollups:
    # rule 1 (band over a dense hourly series, zero hours included), rule 2
    # (24-hour sum per user against its 7-day daily average), rule 3 (cost
    # per call against the trailing window's).  First as a view over the
    # history would compute them, then with each window cut to the rows the
    # checked hour needs.
    local band="WITH dense AS (SELECT f.feature, g.hour, coalesce(r.cost_nusd, 0) / 1e9::float8 AS cost, coalesce(r.calls, 0) AS calls FROM (SELECT DISTINCT feature FROM llmcost.rollup_hourly_feature) f CROSS JOIN generate_series((SELECT min(hour) FROM llmcost.rollup_hourly_feature WHERE hour >= LO), $at - interval '1 hour', interval '1 hour') g(hour) LEFT JOIN llmcost.rollup_hourly_feature r ON r.feature = f.feature AND r.hour = g.hour), w AS (SELECT feature, hour, cost, calls, avg(cost) OVER b AS m, stddev_samp(cost) OVER b AS sd, sum(cost) OVER b AS wc, sum(calls) OVER b AS wn FROM dense WINDOW b AS (PARTITION BY feature ORDER BY hour ROWS BETWEEN 168 PRECEDING AND 1 PRECEDING)) SELECT count(*) FILTER (WHERE cost > m + 3 * sd AND cost - m >= 0.25) + count(*) FILTER (WHERE calls >= 10 AND cost / calls >= 1.5 * wc / nullif(wn, 0) AND calls <= 1.2 * wn / 168.0) FROM w WHERE hour = $at - interval '1 hour'"
    local runaway="WITH uh AS (SELECT user_id, hour, sum(cost_nusd) / 1e9::float8 AS cost FROM llmcost.rollup_hourly WHERE user_id IS NOT NULL AND hour >= LO GROUP BY 1, 2), w AS (SELECT user_id, hour, sum(cost) OVER (PARTITION BY user_id ORDER BY hour RANGE BETWEEN '23 hours' PRECEDING AND CURRENT ROW) AS c24 FROM uh), d AS (SELECT user_id, day, sum(cost_nusd / 1e9::float8) OVER (PARTITION BY user_id ORDER BY day RANGE BETWEEN '7 days'::interval PRECEDING AND '1 day'::interval PRECEDING) / 7 AS daily FROM llmcost.rollup_daily_user WHERE day >= LO::date) SELECT count(*) FROM w LEFT JOIN d ON d.user_id = w.user_id AND d.day = ($at - interval '24 hours')::date WHERE w.hour = $at - interval '1 hour' AND w.c24 >= 1 AND w.c24 > 10 * coalesce(d.daily, 0)"
    local all="'-infinity'::timestamptz" week="($at - interval '170 hours')" days="($at - interval '9 days')"
    full=$(server_ms "SELECT (${band//LO/$all}) + (${runaway//LO/$all})")
    ranged=$(server_ms "SELECT (${band//LO/$week}) + (${runaway//LO/$days})")
    printf '| full anomaly check, 40 features, 90 days, %s hourly rollup rows, 100,000 users (ms) | %.0f (float8 windows over the history) | %.0f | **%.0fx faster** (target >= 20x, < 500 ms) |\n' \
        "$rows" "$full" "$ours" "$(echo "$full / $ours" | bc -l)"
    printf '| the same vs float8 windows cut to the rows the hour needs (ms) | %.0f | %.0f | **%.1fx faster** |\n' \
        "$ranged" "$ours" "$(echo "$ranged / $ours" | bc -l)"
}
bench_otlp() {
    # BENCH_OTLP_SPANS calls (default 50,000) from the demo generator, sent as
    # OTLP/JSON bodies of 100 spans each (the gen_ai.* attributes an
    # instrumentation sets), against the same calls as multi-row INSERTs of
    # 100 rows, each a psql script of one statement per body
    local n=${BENCH_OTLP_SPANS:-50000} otlp_sql="$DIR/otlp-bodies.sql" insert_sql="$DIR/otlp-inserts.sql"
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_otlp_calls;
CREATE TABLE bench_otlp_calls AS
SELECT (row_number() OVER (ORDER BY g.event_time) - 1) AS n, g.*,
       lpad(to_hex(row_number() OVER (ORDER BY g.event_time)), 32, 'a') AS tid,
       lpad(to_hex(row_number() OVER (ORDER BY g.event_time)), 16, 'b') AS sid
  FROM llmcost_demo.generate($n, 30, '$END_DAY 00:00+00') g;
SQL
    "${PSQL[@]}" -At -c "
SELECT 'SELECT llmcost.ingest_otlp(' || quote_literal(jsonb_build_object('resourceSpans', jsonb_build_array(jsonb_build_object(
         'resource', jsonb_build_object('attributes', jsonb_build_array(
             jsonb_build_object('key', 'service.name', 'value', jsonb_build_object('stringValue', 'bench')))),
         'scopeSpans', jsonb_build_array(jsonb_build_object(
             'scope', jsonb_build_object('name', 'opentelemetry.instrumentation.openai', 'version', '0.47.0'),
             'spans', jsonb_agg(jsonb_build_object(
                 'traceId', c.tid, 'spanId', c.sid, 'name', 'chat ' || c.model, 'kind', 3,
                 'startTimeUnixNano', (extract(epoch FROM c.event_time) * 1000000)::bigint::text || '000',
                 'endTimeUnixNano', ((extract(epoch FROM c.event_time) * 1000000)::bigint + (c.latency_ms * 1000)::bigint)::text || '000',
                 'attributes', jsonb_build_array(
                     jsonb_build_object('key', 'gen_ai.provider.name', 'value', jsonb_build_object('stringValue', c.provider)),
                     jsonb_build_object('key', 'gen_ai.operation.name', 'value', jsonb_build_object('stringValue', c.operation)),
                     jsonb_build_object('key', 'gen_ai.request.model', 'value', jsonb_build_object('stringValue', c.model)),
                     jsonb_build_object('key', 'gen_ai.response.model', 'value', jsonb_build_object('stringValue', c.model)),
                     jsonb_build_object('key', 'gen_ai.response.id', 'value', jsonb_build_object('stringValue', c.request_id)),
                     jsonb_build_object('key', 'gen_ai.usage.input_tokens', 'value', jsonb_build_object('intValue', c.input_tokens::text)),
                     jsonb_build_object('key', 'gen_ai.usage.output_tokens', 'value', jsonb_build_object('intValue', c.output_tokens::text)),
                     jsonb_build_object('key', 'gen_ai.usage.cache_read.input_tokens', 'value', jsonb_build_object('intValue', c.cached_read_tokens::text)),
                     jsonb_build_object('key', 'gen_ai.usage.cache_creation.input_tokens', 'value', jsonb_build_object('intValue', c.cache_write_tokens::text)),
                     jsonb_build_object('key', 'gen_ai.usage.reasoning.output_tokens', 'value', jsonb_build_object('intValue', c.reasoning_tokens::text)),
                     jsonb_build_object('key', 'user.id', 'value', jsonb_build_object('stringValue', c.user_id)),
                     jsonb_build_object('key', 'gen_ai.agent.name', 'value', jsonb_build_object('stringValue', c.feature))))
                 ORDER BY c.n))))))::text) || ');'
  FROM bench_otlp_calls c GROUP BY c.n / 100 ORDER BY c.n / 100" > "$otlp_sql"
    "${PSQL[@]}" -At -c "
SELECT 'INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider, model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms) VALUES '
       || string_agg(format('(%L, %L, %L, %L, %L, %L, %L, %L, %L, %s, %s, %s, %s, %s, %s)', c.event_time, c.request_id, c.tid, c.sid,
                            c.user_id, c.feature, c.provider, c.model, c.operation, c.input_tokens, c.cached_read_tokens,
                            c.cache_write_tokens, c.output_tokens, c.reasoning_tokens, c.latency_ms), ', ' ORDER BY c.n)
       || ' ON CONFLICT DO NOTHING;'
  FROM bench_otlp_calls c GROUP BY c.n / 100 ORDER BY c.n / 100" > "$insert_sql"
    local ins=() otl=() t0 t1 i
    for i in $(seq "$REPS"); do
        "${PSQL[@]}" -c "TRUNCATE llmcost.events, llmcost.otlp_model_calls; CHECKPOINT;"
        t0=$(date +%s.%N); "${PSQL[@]}" -f "$insert_sql" >/dev/null; t1=$(date +%s.%N)
        ins+=("$(echo "$t1 - $t0" | bc -l)")
        "${PSQL[@]}" -c "TRUNCATE llmcost.events, llmcost.otlp_model_calls; CHECKPOINT;"
        t0=$(date +%s.%N); "${PSQL[@]}" -f "$otlp_sql" >/dev/null; t1=$(date +%s.%N)
        otl+=("$(echo "$t1 - $t0" | bc -l)")
        echo "  otlp run $i: multi-row INSERT ${ins[-1]} s, ingest_otlp ${otl[-1]} s" >&2
    done
    "${PSQL[@]}" -At -c "SELECT 'events from OTLP: ' || count(*) || ', priced: ' || count(cost_nusd) FROM llmcost.events" >&2
    local mi mo
    mi=$(median "${ins[@]}"); mo=$(median "${otl[@]}")
    printf '| OTLP/JSON ingest, %s spans in bodies of 100, spans/s (median of %s) vs multi-row INSERTs of 100 rows, rows/s | %.0f | %.0f | **%.2fx** (targets >= 50,000 spans/s and >= 0.3x) |\n' \
        "$n" "$REPS" "$(echo "$n / $mi" | bc -l)" "$(echo "$n / $mo" | bc -l)" "$(echo "$mi / $mo" | bc -l)"

    # The same bodies as a collector sends them: a bind parameter (pgbench
    # -M prepared), each client taking its own bodies in turn (the body is
    # fetched from a table by the same transaction), one, two and four clients.
    local bodies=$((n / 100)) pgb="$DIR/otlp-bind.pgbench" c tps
    # (stored uncompressed: fetching a body is the harness's work, not the
    # ingest's, and a collector has its body at hand)
    "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_otlp_bodies; CREATE TABLE bench_otlp_bodies (id integer PRIMARY KEY, body text);
                     ALTER TABLE bench_otlp_bodies ALTER COLUMN body SET STORAGE EXTERNAL"
    sed 's/^SELECT llmcost.ingest_otlp(\(.*\));$/INSERT INTO bench_otlp_bodies (id, body) VALUES (nextval('"'"'bench_otlp_seq'"'"'), \1);/' "$otlp_sql" \
        | { echo "DROP SEQUENCE IF EXISTS bench_otlp_seq; CREATE TEMP SEQUENCE bench_otlp_seq MINVALUE 0 START 0;"; cat; } \
        | "${PSQL[@]}" >/dev/null
    printf '\\set n :n + 1\n\\set id :client_id * :per + :n - 1\nSELECT body FROM bench_otlp_bodies WHERE id = :id \\gset\nSELECT taken FROM llmcost.ingest_otlp(:body);\n' > "$pgb"
    chown postgres "$pgb"
    # and the baseline the same way: each client its own multi-row INSERTs,
    # the statement fetched from a table (pgbench's simple protocol puts the
    # fetched text in place of :stmt)
    local pgi="$DIR/otlp-insert.pgbench" itps
    "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_otlp_inserts; CREATE TABLE bench_otlp_inserts (id serial PRIMARY KEY, stmt text);
                     ALTER TABLE bench_otlp_inserts ALTER COLUMN stmt SET STORAGE EXTERNAL"
    sed 's/^.*$/INSERT INTO bench_otlp_inserts (stmt) VALUES ($q$&$q$);/' "$insert_sql" | "${PSQL[@]}" >/dev/null
    printf '\\set n :n + 1\n\\set id :client_id * :per + :n\nSELECT stmt FROM bench_otlp_inserts WHERE id = :id \\gset\n:stmt\n' > "$pgi"
    chown postgres "$pgi"
    # (an OpenTelemetry Collector sends from several connections: 10
    # consumers of its queue by default)
    # each concurrency BENCH_REPS times, the INSERTs and the bodies in turn
    # (a run is about a second: medians, this machine is noisy)
    for c in 1 2 4; do
        local its=() ots=()
        for i in $(seq "$REPS"); do
            "${PSQL[@]}" -c "TRUNCATE llmcost.events, llmcost.otlp_model_calls; CHECKPOINT;"
            its+=("$(tps_of "$(runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -h "$DIR" -p "$PORT" -n -M simple \
                      -c "$c" -j "$c" -t $((bodies / c)) -D n=0 -D per=$((bodies / c)) -f "$pgi" llmcost 2>&1)")")
            "${PSQL[@]}" -c "TRUNCATE llmcost.events, llmcost.otlp_model_calls; CHECKPOINT;"
            ots+=("$(tps_of "$(runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -h "$DIR" -p "$PORT" -n -M prepared \
                      -c "$c" -j "$c" -t $((bodies / c)) -D n=0 -D per=$((bodies / c)) -f "$pgb" llmcost 2>&1)")")
            echo "  otlp $c client(s), run $i: multi-row INSERTs ${its[-1]} tps, bodies ${ots[-1]} tps" >&2
        done
        itps=$(median "${its[@]}"); tps=$(median "${ots[@]}")
        printf '| the same bodies as bind parameters (pgbench -M prepared), %s client(s), spans/s, vs the multi-row INSERTs from %s client(s), rows/s (medians of %s) | %.0f | %.0f | **%.2fx**, %s events stored (target >= 50,000 spans/s) |\n' \
            "$c" "$c" "$REPS" "$(echo "$itps * 100" | bc -l)" "$(echo "$tps * 100" | bc -l)" "$(echo "$tps / $itps" | bc -l)" \
            "$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")"
    done
    "${PSQL[@]}" -c "DROP TABLE bench_otlp_bodies, bench_otlp_inserts"
}
bench_quotas() {
    # admissions with pgbench: 16 clients over 10,000 users with estimates
    # of $0.01-$0.10.  Two quota mixes: "tail", a tenth of the users on a
    # tight $0.50 monthly quota and the rest on $50 (quotas cap the
    # costliest users: the tenth run out, are denied and alerted, the others
    # are admitted), with prepared statements (as drivers run a repeated
    # call) and with the simple protocol (each call parsed and planned); and
    # "tight", every user on $0.50 (the worst case: every user runs out
    # within the run, half the admissions are denials, each a logged row
    # committed with a WAL flush, and every user raises an alert).  Then all
    # 16 clients on one user, and the floor: the same clients only
    # inserting the row an allowed admission writes.  Overruns are counted
    # afterwards: users whose rollup spend plus reservations pass their
    # quota.
    local secs=${BENCH_QUOTA_SECONDS:-20} script="$DIR/admit.pgbench" hot="$DIR/admit-hot.pgbench"
    local floor="$DIR/admit-floor.pgbench" logdir="$DIR/pgbench-logs"
    local tail_quotas="UPDATE llmcost.user_quotas SET quota_usd = CASE WHEN substr(user_id, 2)::int % 10 = 0 THEN 0.50 ELSE 50 END WHERE user_id <> 'hot'"
    local tight_quotas="UPDATE llmcost.user_quotas SET quota_usd = 0.50 WHERE user_id <> 'hot'"
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
TRUNCATE llmcost.user_quotas;
INSERT INTO llmcost.user_quotas SELECT 'u' || i, 0.50, 'month' FROM generate_series(1, 10000) i;
INSERT INTO llmcost.user_quotas VALUES ('hot', 50.00, 'month');
VACUUM ANALYZE llmcost.user_quotas;
SQL
    printf '\\set uid random(1, 10000)\n\\set cents random(1, 10)\nSELECT allowed FROM llmcost.admit(%s, :cents / 100.0);\n' "'u' || :uid" > "$script"
    printf 'SELECT allowed FROM llmcost.admit(%s, 0.001);\n' "'hot'" > "$hot"
    printf '\\set uid random(1, 10000)\n\\set cents random(1, 10)\nINSERT INTO llmcost.quota_reservations (user_id, amount_nusd, expires_at) VALUES (%s, :cents * 10000000, now() + interval %s);\n' \
        "'u' || :uid" "'15 minutes'" > "$floor"
    chown postgres "$script" "$hot" "$floor"
    local row label mode file quotas tps p99 over denied allowed alerts out floor_tps tail_tps
    for row in "over 10,000 users, a tenth on a tight quota (tail), prepared statements|prepared|$script|$tail_quotas" \
               "over 10,000 users, tail, simple protocol|simple|$script|$tail_quotas" \
               "over 10,000 users, every one on a tight quota (tight), prepared statements|prepared|$script|$tight_quotas" \
               "all 16 on one user (\$50 quota, \$0.001 each), prepared|prepared|$hot|$tight_quotas" \
               "floor: only inserting the reservation row (no lock, nothing read), prepared|prepared|$floor|$tight_quotas"; do
        IFS='|' read -r label mode file quotas <<<"$row"
        "${PSQL[@]}" -c "$quotas" -c "TRUNCATE llmcost.quota_reservations, llmcost.quota_denials; DELETE FROM llmcost.alerts WHERE rule = 'quota_share'; CHECKPOINT;"
        rm -rf "$logdir"; mkdir -p "$logdir"; chown postgres "$logdir"
        out=$(cd "$logdir" && runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -h "$DIR" -p "$PORT" -n -c 16 -j 2 -T "$secs" -M "$mode" -f "$file" -l --log-prefix=run llmcost 2>&1)
        tps=$(tps_of "$out")
        p99=$(p99_ms "$logdir"/run*)
        over=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.user_quotas q
              LEFT JOIN (SELECT user_id, sum(amount_nusd) AS nusd FROM llmcost.quota_reservations GROUP BY 1) r USING (user_id)
              LEFT JOIN (SELECT user_id, sum(cost_nusd) AS nusd FROM llmcost.rollup_daily_user
                          WHERE day >= date_trunc('month', now(), 'UTC')::date GROUP BY 1) d USING (user_id)
             WHERE coalesce(r.nusd, 0) + coalesce(d.nusd, 0) > q.quota_usd * 1e9")
        allowed=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.quota_reservations")
        denied=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.quota_denials")
        alerts=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.alerts WHERE rule = 'quota_share'")
        case $file in
            "$floor")
                floor_tps=$tps
                printf '| %s, %s s | %.0f/s | | (the floor of any admission: what an allowed one writes) |\n' "$label" "$secs" "$tps" ;;
            *)
                [ -z "${tail_tps:-}" ] && tail_tps=$tps
                printf '| admissions, 16 clients %s, %s s: admissions/s; p99 latency | | %.0f/s; p99 %.2f ms (%s allowed, %s denied, %s alerts) | **%s quota overruns** |\n' \
                    "$label" "$secs" "$tps" "$p99" "$allowed" "$denied" "$alerts" "$over" ;;
        esac
    done
    printf '| admissions over 10,000 users (tail, prepared) against the floor | %.0f/s | %.0f/s | **%.0f%%** of the floor (targets >= 10,000/s, 0 overruns) |\n' \
        "$floor_tps" "$tail_tps" "$(echo "100 * $tail_tps / $floor_tps" | bc -l)"
    "${PSQL[@]}" -c "TRUNCATE llmcost.quota_reservations, llmcost.quota_denials; DELETE FROM llmcost.alerts WHERE rule = 'quota_share';"
}
bench_review() {
    # PROWS events over 90 days (the raw retention), rolled up; the review of
    # the last complete week, against the same figures (the body of
    # llmcost.weekly_review_data) computed from the raw events
    "${PSQL[@]}" -c "TRUNCATE llmcost.events; TRUNCATE llmcost.rollup_hourly, llmcost.rollup_hourly_feature, llmcost.rollup_daily_feature, llmcost.rollup_daily_user; UPDATE llmcost.rollup_state SET watermark = '-infinity'"
    "${PSQL[@]}" -c "SELECT llmcost.create_partitions('$END_DAY'::timestamptz - interval '91 days', '$END_DAY'::timestamptz + interval '1 day')" >/dev/null
    echo "generating $PROWS events over 90 days ..." >&2
    "${PSQL[@]}" -c "INSERT INTO llmcost.events ($COLS) SELECT * FROM llmcost_demo.generate($PROWS, 90, '$END_DAY 00:00+00') ORDER BY 1"
    "${PSQL[@]}" -c "SELECT llmcost.refresh_rollups()" -c "VACUUM ANALYZE llmcost.events, llmcost.rollup_daily_feature, llmcost.rollup_daily_user" >/dev/null
    local have body raw html md base
    have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM llmcost.events")
    body=$("${PSQL[@]}" -At -c "SELECT pg_get_functiondef('llmcost.weekly_review_data(date)'::regprocedure)" | tr '\n' ' ' \
           | sed -e 's/.*BEGIN ATOMIC//' -e 's/END[[:space:]]*$//' -e 's/;[[:space:]]*$//' -e 's/weekly_review_data\.week/NULL::date/g')
    local raw_feature="(SELECT (event_time AT TIME ZONE 'UTC')::date AS day, feature, provider, model, error_class, cache_status, count(*) AS calls, count(*) FILTER (WHERE attempt > 1) AS retry_calls, count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced_calls, sum(input_tokens) AS input_tokens, sum(cached_read_tokens) AS cached_read_tokens, sum(output_tokens) AS output_tokens, coalesce(sum(cost_nusd), 0) AS cost_nusd, coalesce(sum(cost_nusd) FILTER (WHERE attempt > 1), 0) AS retry_cost_nusd, coalesce(sum(llmcost.event_cost_nusd(event_time, provider, model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, NULL, 'miss', batch, feature)) FILTER (WHERE cache_status <> 'miss'), 0) AS avoided_nusd, coalesce(sum(llmcost.event_cost_nusd(event_time, provider, model, input_tokens, 0, cache_write_tokens, output_tokens, reasoning_tokens, NULL, 'miss', batch, feature) - cost_nusd) FILTER (WHERE cache_status = 'miss' AND cached_read_tokens > 0), 0) AS prompt_cache_saved_nusd, count(*) FILTER (WHERE requested_model IS NOT NULL AND llmcost.resolve_model(provider, requested_model) IS DISTINCT FROM llmcost.resolve_model(provider, model)) AS fallback_calls, coalesce(sum(cost_nusd - llmcost.event_cost_nusd(event_time, provider, requested_model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, NULL, cache_status, batch, feature)) FILTER (WHERE requested_model IS NOT NULL AND llmcost.resolve_model(provider, requested_model) IS DISTINCT FROM llmcost.resolve_model(provider, model)), 0) AS fallback_extra_nusd FROM llmcost.events GROUP BY 1, 2, 3, 4, 5, 6)"
    local raw_user="(SELECT (event_time AT TIME ZONE 'UTC')::date AS day, user_id, count(*) AS calls, coalesce(sum(cost_nusd), 0) AS cost_nusd FROM llmcost.events GROUP BY 1, 2)"
    raw=${body//llmcost.rollup_daily_feature/$raw_feature}
    raw=${raw//llmcost.rollup_daily_user/$raw_user}
    html=$(server_ms "SELECT length(llmcost.weekly_review_html())" 0)
    md=$(server_ms "SELECT length(llmcost.weekly_review_markdown())" 0)
    base=$(server_ms "SET jit = off; SELECT length(($raw)::text)")
    printf '| weekly review as HTML, %s events over 90 days: its figures from raw events vs the page from the rollups (ms) | %.0f | %.0f | **%.0fx faster** (target < 1,000 ms) |\n' \
        "$have" "$base" "$html" "$(echo "$base / $html" | bc -l)"
    printf '| the same review as Markdown (ms) | %.0f | %.0f | **%.0fx faster** |\n' "$base" "$md" "$(echo "$base / $md" | bc -l)"
}

setup_db
{
    echo "| benchmark | baseline | llmcost | ratio |"
    echo "|---|---|---|---|"
    case "$WHAT" in
        ingest) bench_ingest ;;
        pricing) bench_pricing ;;
        stats) bench_stats ;;
        sketch) bench_sketch ;;
        rollups) bench_rollups ;;
        alerts) bench_alerts ;;
        otlp) bench_otlp ;;
        quotas) bench_quotas ;;
        review) bench_review ;;
        all) bench_ingest; bench_pricing; bench_stats; bench_sketch; bench_rollups; bench_alerts; bench_otlp; bench_quotas; bench_review ;;
    esac
} | tee "$DIR/results.md"
echo "(baselines: COPY of the same rows, with llmcost's cost and rate precomputed, into plain tables with the same columns and indexes; sum(input_tokens) over the same rows for pricing)"
