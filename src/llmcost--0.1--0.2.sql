-- llmcost 0.1 -> 0.2: per-user sketches of the cost of a call over the
-- trailing 30 days (llmcost.user_call_costs).
--
-- A fresh CREATE EXTENSION runs llmcost--0.1.sql and then this script, so
-- a fresh install and an update from 0.1 build the same schema
-- (t/002_upgrade.pl compares them with pg_dump).
\echo Use "ALTER EXTENSION llmcost UPDATE TO '0.2'" to load this file. \quit

-- Names resolve in pg_catalog and llmcost only (see llmcost--0.1.sql).
SET LOCAL search_path = pg_catalog, llmcost, pg_temp;

-- The daily per-user rollup and the 30-day window carry the sketch of the
-- cost per priced call, merged from the hourly sketches: the window answers
-- per-user percentiles from one row per user.
ALTER TABLE llmcost.rollup_daily_user ADD COLUMN cost_sketch llmcost.sketch;
COMMENT ON COLUMN llmcost.rollup_daily_user.cost_sketch IS 'quantile sketch of the cost per call (priced calls; NULL: none)';
ALTER TABLE llmcost.rollup_user_30d ADD COLUMN cost_sketch llmcost.sketch;
COMMENT ON COLUMN llmcost.rollup_user_30d.cost_sketch IS 'quantile sketch of the cost per call over the 30 days (priced calls; NULL: none)';

-- The per-user window of some users (all when users is NULL), recomputed
-- from the daily rollup: the same sums as the views' fallback.
CREATE OR REPLACE FUNCTION llmcost.rebuild_user_window(today date, users text[] DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF users IS NULL THEN
        DELETE FROM llmcost.rollup_user_30d;
        INSERT INTO llmcost.rollup_user_30d
        SELECT r.user_id, sum(r.calls), sum(r.cost_nusd),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day > today - 7), 0),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day = today), 0),
               llmcost.sketch_rollup(r.cost_sketch)
          FROM llmcost.rollup_daily_user r
         WHERE r.day > today - 30 AND r.user_id IS NOT NULL
         GROUP BY r.user_id;
    ELSE
        -- a join with the list: each user's 30 rows through the (user_id,
        -- day) index, where = ANY of a parameter would scan the window
        DELETE FROM llmcost.rollup_user_30d w USING unnest(users) u(user_id) WHERE w.user_id = u.user_id;
        INSERT INTO llmcost.rollup_user_30d
        SELECT r.user_id, sum(r.calls), sum(r.cost_nusd),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day > today - 7), 0),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day = today), 0),
               llmcost.sketch_rollup(r.cost_sketch)
          FROM (SELECT DISTINCT x.user_id FROM unnest(users) x(user_id)) u
          JOIN llmcost.rollup_daily_user r ON r.user_id = u.user_id AND r.day > today - 30
         GROUP BY r.user_id;
    END IF;
    UPDATE llmcost.rollup_state SET user_window_day = today;
END
$$;

-- As in 0.1, with the daily per-user sketches, the horizon of the
-- recomputed hours on the day boundary retention keeps, and fresh planner
-- statistics after a large refresh.
CREATE OR REPLACE FUNCTION llmcost.refresh_rollups(recompute_from timestamptz DEFAULT NULL,
                                        recompute_to timestamptz DEFAULT NULL,
                                        OUT hours_refreshed bigint, OUT watermark timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- one pass, in memory: the groups are nearly as many as the events, so
    -- partial (parallel) aggregation only adds a merge, and JIT compiles for
    -- longer than it saves
    SET jit = off
    SET max_parallel_workers_per_gather = 0
    SET work_mem = '256MB'
AS $$
DECLARE
    since timestamptz;
    horizon timestamptz;
    lo timestamptz;
    hi timestamptz;
    -- the UTC day the views call today (now(): the transaction's start)
    today date := (now() AT TIME ZONE 'UTC')::date;
    hourly_rows bigint;
    window_users text[] := '{}';
    added_users text[];
BEGIN
    -- One refresh at a time: a second one waits, then starts from where the
    -- first one left the watermark.
    PERFORM pg_advisory_xact_lock(hashtext('llmcost.refresh_rollups'));
    SELECT r.watermark INTO since FROM llmcost.rollup_state r FOR UPDATE;

    -- The next watermark: no transaction that may still commit events began
    -- before it.  Read before any snapshot of events is taken, so that an
    -- event this refresh cannot see has an ingested_at (its transaction's
    -- start) at or after it.  Prepared transactions are not counted: do not
    -- ingest with two-phase commit.
    SELECT least(clock_timestamp(), min(a.xact_start)) INTO watermark
      FROM pg_stat_activity a
     WHERE a.xact_start IS NOT NULL AND a.datname OPERATOR(pg_catalog.=) current_database();

    -- Hours holding events that arrived since the last refresh, within the
    -- raw retention (an hour whose events were dropped keeps its rollup).
    -- Retention keeps whole UTC days (drop_expired_partitions), so the
    -- horizon is the first day kept: every hour of a kept day can be
    -- recomputed, a late call of it included.
    SELECT now() - make_interval(days => s.retention_days) INTO horizon FROM llmcost.settings s;
    horizon := date_trunc('day', horizon, 'UTC');
    CREATE TEMP TABLE llmcost_touched ON COMMIT DROP AS
        SELECT date_trunc('hour', e.event_time, 'UTC') AS hour
          FROM llmcost.events e
         WHERE e.ingested_at >= since AND e.event_time >= horizon
        UNION
        -- on request, every hour of a range: after events were changed or deleted by hand
        SELECT date_trunc('hour', e.event_time, 'UTC')
          FROM llmcost.events e
         WHERE e.event_time >= greatest(recompute_from, horizon) AND e.event_time < recompute_to
        UNION
        SELECT r.hour FROM llmcost.rollup_hourly r
         WHERE r.hour >= greatest(date_trunc('hour', recompute_from, 'UTC'), horizon) AND r.hour < recompute_to;
    SELECT min(t.hour), max(t.hour) + interval '1 hour' INTO lo, hi FROM llmcost_touched t;
    hours_refreshed := (SELECT count(*) FROM llmcost_touched);

    IF hours_refreshed > 0 THEN
        -- Each touched hour is recomputed whole from the raw events, so a
        -- late, retried or repriced event can never be counted twice.
        DELETE FROM llmcost.rollup_hourly r USING llmcost_touched t WHERE r.hour = t.hour;
        INSERT INTO llmcost.rollup_hourly
        SELECT date_trunc('hour', e.event_time, 'UTC'), e.feature, e.user_id, e.provider, e.model,
               e.error_class, e.cache_status,
               count(*),
               count(*) FILTER (WHERE e.attempt > 1),
               count(*) FILTER (WHERE e.cost_nusd IS NULL),
               sum(e.input_tokens), sum(e.cached_read_tokens), sum(e.cache_write_tokens),
               sum(e.output_tokens), sum(e.reasoning_tokens),
               coalesce(sum(e.cost_nusd), 0),
               coalesce(sum(e.cost_nusd) FILTER (WHERE e.attempt > 1), 0),
               coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                            e.cached_read_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                            NULL, 'miss', e.batch, e.feature)) FILTER (WHERE e.cache_status <> 'miss'), 0),
               coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                            0, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                            NULL, 'miss', e.batch, e.feature) - e.cost_nusd)
                        FILTER (WHERE e.cache_status = 'miss' AND e.cached_read_tokens > 0), 0),
               count(*) FILTER (WHERE e.requested_model IS NOT NULL
                                  AND llmcost.resolve_model(e.provider, e.requested_model)
                                      IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)),
               -- the fallback's cost beyond the same call at the requested model's rate
               coalesce(sum(e.cost_nusd - llmcost.event_cost_nusd(e.event_time, e.provider, e.requested_model,
                            e.input_tokens, e.cached_read_tokens, e.cache_write_tokens, e.output_tokens,
                            e.reasoning_tokens, NULL, e.cache_status, e.batch, e.feature))
                        FILTER (WHERE e.requested_model IS NOT NULL
                                  AND llmcost.resolve_model(e.provider, e.requested_model)
                                      IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)), 0),
               llmcost.stats_agg(e.cost_nusd),
               llmcost.duration_stats_agg(e.latency_ms),
               llmcost.sketch_agg(e.cost_nusd)
          FROM llmcost.events e
         WHERE e.event_time >= lo AND e.event_time < hi
           AND date_trunc('hour', e.event_time, 'UTC') IN (SELECT t.hour FROM llmcost_touched t)
         GROUP BY 1, 2, 3, 4, 5, 6, 7;
        -- After a large refresh (a first load, a backfill) the planner's
        -- statistics of rollup_hourly are far behind: the rollups below would
        -- then sort a million wide rows on disk instead of hashing a few
        -- thousand groups.
        GET DIAGNOSTICS hourly_rows = ROW_COUNT;
        IF hourly_rows > 50000 THEN
            ANALYZE llmcost.rollup_hourly;
        END IF;

        -- the days of the touched hours, again whole, from the hourly rollup
        CREATE TEMP TABLE llmcost_touched_days ON COMMIT DROP AS
            SELECT DISTINCT (t.hour AT TIME ZONE 'UTC')::date AS day FROM llmcost_touched t;
        DELETE FROM llmcost.rollup_daily_feature r USING llmcost_touched_days d WHERE r.day = d.day;
        INSERT INTO llmcost.rollup_daily_feature
        SELECT (r.hour AT TIME ZONE 'UTC')::date, r.feature, r.provider, r.model, r.error_class, r.cache_status,
               sum(r.calls), sum(r.retry_calls), sum(r.unpriced_calls), sum(r.input_tokens),
               sum(r.cached_read_tokens), sum(r.cache_write_tokens), sum(r.output_tokens),
               sum(r.reasoning_tokens), sum(r.cost_nusd), sum(r.retry_cost_nusd), sum(r.avoided_nusd),
               sum(r.prompt_cache_saved_nusd), sum(r.fallback_calls), sum(r.fallback_extra_nusd),
               llmcost.stats_rollup(r.cost_stats),
               llmcost.stats_rollup(r.latency_stats)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= date_trunc('day', lo, 'UTC') AND r.hour < hi + interval '1 day'
           AND (r.hour AT TIME ZONE 'UTC')::date IN (SELECT d.day FROM llmcost_touched_days d)
         GROUP BY 1, 2, 3, 4, 5, 6;
        -- the users of those days, before and after: their 30-day windows change
        WITH gone AS (
            DELETE FROM llmcost.rollup_daily_user r USING llmcost_touched_days d WHERE r.day = d.day
            RETURNING r.day, r.user_id)
        SELECT array_agg(DISTINCT g.user_id) INTO window_users
          FROM gone g WHERE g.day > today - 30 AND g.user_id IS NOT NULL;
        INSERT INTO llmcost.rollup_daily_user
        SELECT (r.hour AT TIME ZONE 'UTC')::date, r.user_id, sum(r.calls), sum(r.cost_nusd),
               llmcost.sketch_rollup(r.cost_sketch)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= date_trunc('day', lo, 'UTC') AND r.hour < hi + interval '1 day'
           AND (r.hour AT TIME ZONE 'UTC')::date IN (SELECT d.day FROM llmcost_touched_days d)
         GROUP BY 1, 2;
        SELECT array_agg(DISTINCT u.user_id) INTO added_users
          FROM (SELECT unnest(window_users) AS user_id
                UNION
                SELECT r.user_id FROM llmcost.rollup_daily_user r
                 WHERE r.day > today - 30 AND r.user_id IS NOT NULL
                   AND r.day IN (SELECT d.day FROM llmcost_touched_days d)) u;
        window_users := coalesce(added_users, '{}');
        DROP TABLE llmcost_touched_days;
        DELETE FROM llmcost.rollup_hourly_feature r USING llmcost_touched t WHERE r.hour = t.hour;
        INSERT INTO llmcost.rollup_hourly_feature
        SELECT r.hour, r.feature, sum(r.calls),
               coalesce(sum(r.calls) FILTER (WHERE r.error_class IS NOT NULL), 0),
               sum(r.retry_calls), sum(r.input_tokens), sum(r.output_tokens), sum(r.cost_nusd),
               sum(r.retry_cost_nusd), llmcost.stats_rollup(r.cost_stats),
               llmcost.stats_rollup(r.latency_stats)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= lo AND r.hour < hi AND r.hour IN (SELECT t.hour FROM llmcost_touched t)
         GROUP BY r.hour, r.feature;
    END IF;
    DROP TABLE llmcost_touched;

    -- The per-user 30-day window: rebuilt whole on a new day, otherwise for
    -- the users of the recomputed days.
    IF (SELECT st.user_window_day FROM llmcost.rollup_state st) IS DISTINCT FROM today THEN
        PERFORM llmcost.rebuild_user_window(today);
    ELSIF cardinality(window_users) > 0 THEN
        PERFORM llmcost.rebuild_user_window(today, window_users);
    END IF;

    -- Reservations whose event is now in the rollups are settled: the
    -- quota counts the event's cost instead of the estimate.
    IF EXISTS (SELECT FROM llmcost.quota_reservations q WHERE q.settled_at IS NULL AND q.request_id IS NOT NULL) THEN
        UPDATE llmcost.quota_reservations q SET settled_at = clock_timestamp()
          FROM llmcost.events e
         WHERE q.settled_at IS NULL AND e.ingested_at >= since AND e.request_id = q.request_id
           AND e.user_id = q.user_id;
    END IF;

    UPDATE llmcost.rollup_state r
       SET watermark = refresh_rollups.watermark, refreshed_at = clock_timestamp(),
           hours_refreshed = refresh_rollups.hours_refreshed;
END
$$;

-- Rollups an update finds: the daily sketches from the hourly ones, then
-- the window from those (the next refresh would rebuild it on a new day).
UPDATE llmcost.rollup_daily_user d SET cost_sketch = h.s
  FROM (SELECT (r.hour AT TIME ZONE 'UTC')::date AS day, r.user_id, llmcost.sketch_rollup(r.cost_sketch) AS s
          FROM llmcost.rollup_hourly r GROUP BY 1, 2) h
 WHERE h.day = d.day AND h.user_id = d.user_id;
UPDATE llmcost.rollup_daily_user d SET cost_sketch = h.s
  FROM (SELECT (r.hour AT TIME ZONE 'UTC')::date AS day, llmcost.sketch_rollup(r.cost_sketch) AS s
          FROM llmcost.rollup_hourly r WHERE r.user_id IS NULL GROUP BY 1) h
 WHERE h.day = d.day AND d.user_id IS NULL;
SELECT llmcost.rebuild_user_window(st.user_window_day)
  FROM llmcost.rollup_state st WHERE st.user_window_day IS NOT NULL;

-- Per user, the distribution of the cost of one call over the trailing 30
-- days, from the per-user sketches the refresh keeps (one row per user), or
-- before the day's first refresh from the daily ones: the sketches merge
-- exactly, so both give the sketch of the raw calls.
CREATE VIEW llmcost.user_call_costs AS
WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d),
u AS (
    SELECT w.user_id, w.calls, w.cost_nusd, w.cost_sketch
      FROM llmcost.rollup_user_30d w
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) = (SELECT today.d FROM today)
    UNION ALL
    SELECT r.user_id, sum(r.calls)::bigint, sum(r.cost_nusd)::bigint, llmcost.sketch_rollup(r.cost_sketch)
      FROM llmcost.rollup_daily_user r, today
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) IS DISTINCT FROM (SELECT today.d FROM today)
       AND r.day > today.d - 30 AND r.user_id IS NOT NULL
     GROUP BY r.user_id)
SELECT u.user_id, u.calls, coalesce(llmcost.sketch_count(u.cost_sketch), 0) AS priced_calls,
       llmcost.usd(u.cost_nusd) AS cost_usd,
       llmcost.sketch_mean(u.cost_sketch) AS mean_call_usd,
       q.v[1] AS p50_call_usd, q.v[2] AS p90_call_usd, q.v[3] AS p99_call_usd, q.v[4] AS p999_call_usd,
       llmcost.sketch_max(u.cost_sketch) AS max_call_usd,
       llmcost.sketch_error(u.cost_sketch) AS relative_error
  FROM u, LATERAL (SELECT llmcost.sketch_quantiles(u.cost_sketch, '{0.5,0.9,0.99,0.999}') AS v) q;
COMMENT ON VIEW llmcost.user_call_costs IS 'per user, the cost of one call over the trailing 30 UTC days: percentiles from quantile sketches';
COMMENT ON COLUMN llmcost.user_call_costs.user_id IS 'user (calls for no user are not counted)';
COMMENT ON COLUMN llmcost.user_call_costs.calls IS 'calls over the 30 days';
COMMENT ON COLUMN llmcost.user_call_costs.priced_calls IS 'of them, priced calls: the ones the percentiles describe';
COMMENT ON COLUMN llmcost.user_call_costs.cost_usd IS 'exact cost over the 30 days, USD';
COMMENT ON COLUMN llmcost.user_call_costs.mean_call_usd IS 'mean cost of a priced call, USD (exact sum over count)';
COMMENT ON COLUMN llmcost.user_call_costs.p50_call_usd IS 'median cost of a call, USD, within relative_error';
COMMENT ON COLUMN llmcost.user_call_costs.p90_call_usd IS '90th percentile of the cost of a call, USD, within relative_error';
COMMENT ON COLUMN llmcost.user_call_costs.p99_call_usd IS '99th percentile, USD, within relative_error';
COMMENT ON COLUMN llmcost.user_call_costs.p999_call_usd IS '99.9th percentile, USD, within relative_error';
COMMENT ON COLUMN llmcost.user_call_costs.max_call_usd IS 'the most expensive call, USD (exact)';
COMMENT ON COLUMN llmcost.user_call_costs.relative_error IS 'the relative error every percentile is within (0.01 unless the sketch collapsed)';
GRANT SELECT ON llmcost.user_call_costs TO llmcost_reader;

