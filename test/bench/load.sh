#!/usr/bin/env bash
# Load: pgbench with 16 clients sending multi-row INSERTs of 100 events for
# LOAD_SECONDS (default 300) at LOAD_RATE transactions/s (default 200, i.e.
# 20,000 events/s; 0: as fast as they can), twice: first with pg_cron
# running llmcost's maintenance (partitions, rollup refresh, retention) and
# anomaly check every minute, then with no llmcost job.  Reports rows/s, the
# p99 latency of an INSERT, failed transactions, the jobs' runs and
# failures, and how far the rollups were behind when the load stopped; then
# checks that the rollups hold every event.
#
#   test/bench/load.sh          (the benchmark server of run.sh, port 5497)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/pgbench_stats.sh

. test/bench/server.sh
SECONDS_EACH=${LOAD_SECONDS:-300}
CLIENTS=${LOAD_CLIENTS:-16}
RATE=${LOAD_RATE:-200}
PSQL=("${PSQL_SERVER[@]}" -d llmcost -At)
PGBENCH=(runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -h "$DIR" -p "$PORT" -n)

work=$(mktemp -d /tmp/llmcost-load.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT

"${PSQL[@]}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
DROP EXTENSION IF EXISTS llmcost CASCADE;
CREATE EXTENSION llmcost CASCADE;
SELECT llmcost.create_partitions(now() - interval '1 day', now() + interval '2 days') \g /dev/null
SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'llmcost-%' \g /dev/null
SQL

# one transaction: 100 calls of random users and features, unique request ids
cat > "$work/insert.sql" <<'SQL'
\set u random(1, 100000)
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model,
                            input_tokens, cached_read_tokens, output_tokens, latency_ms, cache_status)
SELECT now() - random() * interval '10 minutes', 'load-' || :client_id || '-' || txid_current() || '-' || g,
       'u' || (:u + g * 7919) % 100000, 'feature-' || g % 40,
       CASE WHEN g % 3 = 0 THEN 'anthropic' ELSE 'openai' END,
       CASE WHEN g % 3 = 0 THEN 'claude-sonnet-4-5' ELSE 'gpt-4o-mini' END,
       300 + (g * 37) % 4000, CASE WHEN g % 4 = 0 THEN 200 ELSE 0 END, 20 + (g * 13) % 600, 200 + g * 9,
       CASE WHEN g % 11 = 0 THEN 'exact_hit' ELSE 'miss' END
  FROM generate_series(1, 100) g;
SQL
chmod 644 "$work/insert.sql"

# run LABEL: pgbench for SECONDS_EACH, then rows/s, p99 (ms) and failures
run() {
    local label=$1 out tps p99 failed
    rm -f "$work"/pgbench_log*
    out=$(cd "$work" && "${PGBENCH[@]}" -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" $([ "$RATE" -gt 0 ] && echo "-R $RATE") \
          -f insert.sql --log --log-prefix="$work/pgbench_log" llmcost 2>&1)
    tps=$(tps_of "$out")
    failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
    p99=$(p99_ms "$work"/pgbench_log*)
    printf '| %s | %.0f | %.1f | %s |' "$label" "$(echo "$tps * 100" | bc -l)" "$p99" "${failed:-0}"
}

echo "| load ($CLIENTS clients, ${SECONDS_EACH} s, INSERTs of 100 events, $([ "$RATE" -gt 0 ] && echo "$RATE per second" || echo "unthrottled")) | rows/s | p99 latency (ms) | failed transactions | llmcost jobs run (failed) | events not yet rolled up at the end |"
echo "|---|---|---|---|---|---|"
behind() { "${PSQL[@]}" -c "SELECT count(*) FROM llmcost.events WHERE ingested_at >= (SELECT watermark FROM llmcost.rollup_state)"; }

# with the jobs every minute, as pg_cron runs them
"${PSQL[@]}" -c "SELECT count(*) FROM llmcost.schedule_jobs('* * * * *', '* * * * *')" >/dev/null
since=$("${PSQL[@]}" -c "SELECT now()")
line=$(run "with maintenance (refresh, partitions, retention) and anomaly checks every minute")
backlog=$(behind)
# stop new runs, then unschedule once none is running (deactivating or unscheduling a job
# cancels its running run: those are counted apart)
"${PSQL[@]}" -c "SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname LIKE 'llmcost-%'" >/dev/null
for _ in $(seq 600); do
    [ "$("${PSQL[@]}" -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                          WHERE j.jobname LIKE 'llmcost-%' AND d.status IN ('starting', 'running')")" = 0 ] && break
    sleep 1
done
"${PSQL[@]}" -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'llmcost-%'" >/dev/null
# runs cancelled by the stop itself (pg_cron cancels a deactivated job's run) are not failures
jobs=$("${PSQL[@]}" -c "SELECT count(*) || ' (' || count(*) FILTER (WHERE d.status <> 'succeeded' AND d.return_message IS DISTINCT FROM 'job canceled')
                                 || ' failed, ' || count(*) FILTER (WHERE d.return_message = 'job canceled') || ' cancelled at the stop)'
                          FROM cron.job_run_details d
                         WHERE d.command LIKE '%llmcost.%' AND d.start_time >= '$since'")
echo "$line $jobs | $backlog |"
"${PSQL[@]}" -c "SELECT llmcost.refresh_rollups()" -c "VACUUM ANALYZE llmcost.events" >/dev/null

echo "$(run "without llmcost's jobs") none | $(behind) |"

# every event of both runs is in the rollups after a last refresh
"${PSQL[@]}" -c "SELECT llmcost.refresh_rollups()" >/dev/null
"${PSQL[@]}" -c "SELECT 'events: ' || (SELECT count(*) FROM llmcost.events) || ', in the hourly rollups: ' ||
                        (SELECT sum(calls) FROM llmcost.rollup_hourly) || ', cost equal: ' ||
                        ((SELECT sum(cost_nusd) FROM llmcost.events) = (SELECT sum(cost_nusd) FROM llmcost.rollup_hourly))"
