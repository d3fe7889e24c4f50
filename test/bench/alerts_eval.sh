#!/usr/bin/env bash
# Precision and recall of llmcost's anomaly rules over seeded runs: each run
# generates 30 days of stationary traffic, injects four incidents (a prompt
# change doubling a feature's context, a 429 retry storm, a user's runaway
# script, a fallback from cheap models to Claude Opus) at seeded hours of
# its last week, checks every hour of the last 21 days and scores the alerts.
#
#   test/bench/alerts_eval.sh [RUNS]     (default 20; about 40 s a run)
#
# EVAL_SETTINGS, if set, is applied to llmcost.settings first, to compare
# other settings than the defaults: EVAL_SETTINGS="leak_factor = 1.3".
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/bench/server.sh
RUNS=${1:-20}
T0="$(date -u +%Y-%m-%d) 00:00+00"
PSQL=("${PSQL_SERVER[@]}")

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS llmcost_eval" -c "CREATE DATABASE llmcost_eval"
"${PSQL[@]}" -d llmcost_eval <<SQL
SET client_min_messages = warning;
CREATE EXTENSION llmcost CASCADE;
SELECT llmcost.create_partitions('$T0'::timestamptz - interval '31 days', '$T0'::timestamptz + interval '1 day') \g /dev/null
\i test/demo/generator.sql
${EVAL_SETTINGS:+UPDATE llmcost.settings SET $EVAL_SETTINGS;}
CREATE SCHEMA llmcost_eval;
CREATE TABLE llmcost_eval.alerts (seed int, rule text, subject text, window_end timestamptz, true_alert boolean);
CREATE TABLE llmcost_eval.incidents (seed int, kind text, subject text, extra_usd numeric,
                                     detected_by_rule boolean, detected_by_any boolean);
SQL
for seed in $(seq "$RUNS"); do
    "${PSQL[@]}" -d llmcost_eval -v seed="$seed" -v t0="$T0" -f test/bench/alerts_eval.sql >/dev/null
    echo "  run $seed of $RUNS done" >&2
done
"${PSQL[@]}" -d llmcost_eval <<'SQL'
\pset footer off
\echo '| rule | alerts | true | false | precision |'
\echo '|---|---|---|---|---|'
SELECT format('| %s | %s | %s | %s | %s |', rule, count(*), count(*) FILTER (WHERE true_alert),
              count(*) FILTER (WHERE NOT true_alert),
              round(count(*) FILTER (WHERE true_alert)::numeric / count(*), 3))
  FROM llmcost_eval.alerts GROUP BY rule ORDER BY rule \g (tuples_only format=unaligned)
\echo
\echo '| incident | expected rule | injected | recall (that rule, within the hour) | recall (any rule) | injected adding >= $0.25 in the hour | their recall (that rule) |'
\echo '|---|---|---|---|---|---|---|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s |', kind,
              CASE kind WHEN 'leak' THEN 'feature_leak' WHEN 'runaway' THEN 'user_runaway' ELSE 'feature_band' END,
              count(*), round(avg(detected_by_rule::int), 3), round(avg(detected_by_any::int), 3),
              count(*) FILTER (WHERE extra_usd >= 0.25),
              round(avg(detected_by_rule::int) FILTER (WHERE extra_usd >= 0.25), 3))
  FROM llmcost_eval.incidents GROUP BY kind ORDER BY kind \g (tuples_only format=unaligned)
SQL
