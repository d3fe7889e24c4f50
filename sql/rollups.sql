-- Hourly rollups: incremental refresh on arrival, late events, repricing.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SELECT setseed(0.3);
SELECT llmcost.create_partitions(now() - interval '3 days', now() + interval '1 day') > 0 AS partitions;

-- the rollups against the same question asked of the raw events: rows that differ
CREATE FUNCTION pg_temp.rollup_mismatches() RETURNS bigint LANGUAGE sql AS $$
    WITH raw AS (
        SELECT date_trunc('hour', event_time, 'UTC') AS hour, feature, user_id, provider, model,
               error_class, cache_status, count(*) AS calls, count(*) FILTER (WHERE attempt > 1) AS retry_calls,
               count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced_calls,
               sum(input_tokens) AS input_tokens, sum(cached_read_tokens) AS cached_read_tokens,
               sum(output_tokens) AS output_tokens, coalesce(sum(cost_nusd), 0) AS cost_nusd,
               llmcost.stats_agg(cost_nusd)::text AS cost_stats,
               llmcost.duration_stats_agg(latency_ms)::text AS latency_stats,
               llmcost.sketch_agg(cost_nusd)::text AS cost_sketch
          FROM llmcost.events
         WHERE event_time >= date_trunc('hour', now() - interval '90 days', 'UTC')  -- the raw retention
         GROUP BY 1, 2, 3, 4, 5, 6, 7),
    rolled AS (
        SELECT hour, feature, user_id, provider, model, error_class, cache_status, calls, retry_calls,
               unpriced_calls, input_tokens, cached_read_tokens, output_tokens, cost_nusd,
               cost_stats::text, latency_stats::text, cost_sketch::text
          FROM llmcost.rollup_hourly)
    SELECT count(*) FROM ((TABLE raw EXCEPT ALL TABLE rolled) UNION ALL (TABLE rolled EXCEPT ALL TABLE raw)) d
$$;

INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens,
        cached_read_tokens, output_tokens, latency_ms, cache_status, attempt, error_class)
SELECT now() - (i % 48) * interval '1 hour' - random() * interval '59 minutes', 'r' || i,
       CASE WHEN i % 13 = 0 THEN NULL ELSE 'u' || (i % 7) END, 'f' || (i % 3), 'openai',
       CASE WHEN i % 53 = 0 THEN 'not-yet-priced' ELSE 'gpt-4o' END,
       1000 + i % 500, (i % 2) * 500, 100 + i % 50, 100 + i % 400,
       CASE WHEN i % 10 = 0 THEN 'exact_hit' WHEN i % 17 = 0 THEN 'semantic_hit' ELSE 'miss' END,
       1 + (i % 9 = 0)::int, CASE WHEN i % 23 = 0 THEN 'rate_limit' END
  FROM generate_series(1, 5000) i;
-- 48 or 49 hours of it, depending on the minute the test runs, and the
-- far-future event of the events test
SELECT hours_refreshed BETWEEN 49 AND 51 AS refreshed_every_hour FROM llmcost.refresh_rollups();
SELECT pg_temp.rollup_mismatches() AS mismatches;
SELECT sum(calls) AS calls, sum(unpriced_calls) AS unpriced, sum(retry_calls) AS retries,
       sum(avoided_nusd) > 0 AS avoided, sum(prompt_cache_saved_nusd) > 0 AS prompt_cache_saved
  FROM llmcost.rollup_hourly;

-- nothing new: nothing recomputed
SELECT hours_refreshed FROM llmcost.refresh_rollups();

-- a late event lands in its own old hour; a duplicate delivery changes nothing
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES (date_trunc('hour', now() - interval '40 hours') + interval '5 minutes', 'late-1', 'f1', 'openai', 'gpt-4o', 2000, 200),
       ((SELECT event_time FROM llmcost.events WHERE request_id = 'r1'), 'r1', 'f1', 'openai', 'gpt-4o', 1, 1)
ON CONFLICT DO NOTHING;
SELECT hours_refreshed FROM llmcost.refresh_rollups();
SELECT pg_temp.rollup_mismatches() AS mismatches;

-- repricing brings the rollups back in line
SELECT sum(unpriced_calls) AS unpriced_before FROM llmcost.rollup_hourly;
SELECT llmcost.set_rate('not-yet-priced', '2020-01-01', 1, 2);
SET client_min_messages = warning;  -- its progress notices name today's dates
CALL llmcost.reprice(now() - interval '3 days', now() + interval '1 hour');
RESET client_min_messages;
SELECT hours_refreshed > 0 AS recomputed FROM llmcost.refresh_rollups();
SELECT sum(unpriced_calls) AS unpriced_after FROM llmcost.rollup_hourly;
SELECT pg_temp.rollup_mismatches() AS mismatches;

-- rolling the hours up again equals the raw answer over the whole range
CREATE TEMP VIEW recent AS
SELECT * FROM llmcost.events WHERE event_time >= date_trunc('hour', now() - interval '90 days', 'UTC');
SELECT (SELECT sum(cost_nusd) FROM llmcost.rollup_hourly) = (SELECT sum(cost_nusd) FROM recent) AS total_equal,
       (SELECT llmcost.stats_rollup(cost_stats)::text FROM llmcost.rollup_hourly)
     = (SELECT llmcost.stats_agg(cost_nusd)::text FROM recent) AS stats_equal,
       (SELECT llmcost.sketch_rollup(cost_sketch)::text FROM llmcost.rollup_hourly)
     = (SELECT llmcost.sketch_agg(cost_nusd)::text FROM recent) AS sketch_equal;

-- events changed or deleted by hand: an explicit range recomputes every hour in it
DELETE FROM llmcost.events WHERE request_id IN ('late-1', 'r2', 'r3');
SELECT pg_temp.rollup_mismatches() > 0 AS stale_until_recomputed;
SELECT hours_refreshed > 0 AS recomputed
  FROM llmcost.refresh_rollups(now() - interval '3 days', now() + interval '1 hour');
SELECT pg_temp.rollup_mismatches() AS mismatches;
