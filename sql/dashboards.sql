-- The dashboards read the rollups; every one gives exactly the numbers of the
-- same question asked of the raw events.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SELECT setseed(0.7);
SELECT llmcost.create_partitions(now() - interval '22 days', now() + interval '1 day') >= 0 AS partitions;
DELETE FROM llmcost.events;
SELECT hours_refreshed >= 0 AS cleared FROM llmcost.refresh_rollups(now() - interval '100 days', 'infinity');
SELECT count(*) AS rollup_rows_left FROM llmcost.rollup_hourly;

-- three weeks of traffic: 8 features, 300 users (power law), errors, retries, hits
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens,
        cached_read_tokens, output_tokens, latency_ms, cache_status, attempt, error_class)
-- (every hour of the 21 days gets the same number of calls, of one feature in turn)
SELECT now() - (i % 504) * interval '1 hour', 'd' || i,
       'u' || floor(300 * power(random(), 3))::int, 'feature-' || (i % 8),
       CASE WHEN i % 3 = 0 THEN 'anthropic' ELSE 'openai' END,
       CASE WHEN i % 3 = 0 THEN 'claude-sonnet-4-5' WHEN i % 97 = 0 THEN 'unknown-llm' ELSE 'gpt-4o-mini' END,
       200 + floor(random() * 5000)::int, CASE WHEN i % 4 = 0 THEN 100 ELSE 0 END, floor(random() * 800)::int,
       random() * 3000,
       CASE WHEN i % 11 = 0 THEN 'exact_hit' WHEN i % 19 = 0 THEN 'semantic_hit' ELSE 'miss' END,
       CASE WHEN i % 29 = 0 THEN 2 ELSE 1 END,
       CASE WHEN i % 31 = 0 THEN 'rate_limit' WHEN i % 37 = 0 THEN 'timeout' END
  FROM generate_series(1, 30000) i;
-- feature-3's retries are fallbacks: gpt-4o-mini was asked for, claude-sonnet-4-5 or gpt-4o-mini answered
UPDATE llmcost.events SET requested_model = 'gpt-4o-mini', ingested_at = now()
 WHERE feature = 'feature-3' AND attempt = 2;
-- feature-0 leaks since yesterday: three times the context, the same traffic
UPDATE llmcost.events SET input_tokens = input_tokens * 3, ingested_at = now()
 WHERE feature = 'feature-0' AND event_time >= date_trunc('day', now(), 'UTC') - interval '1 day';
SELECT hours_refreshed > 0 AS refreshed FROM llmcost.refresh_rollups();

-- the same daily rollups built straight from the raw events
CREATE TEMP TABLE raw_daily_feature AS
SELECT (e.event_time AT TIME ZONE 'UTC')::date AS day, e.feature, e.provider, e.model, e.error_class,
       e.cache_status, count(*) AS calls, count(*) FILTER (WHERE e.attempt > 1) AS retry_calls,
       count(*) FILTER (WHERE e.cost_nusd IS NULL) AS unpriced_calls,
       sum(e.input_tokens) AS input_tokens, sum(e.cached_read_tokens) AS cached_read_tokens,
       sum(e.cache_write_tokens) AS cache_write_tokens, sum(e.output_tokens) AS output_tokens,
       sum(e.reasoning_tokens) AS reasoning_tokens, coalesce(sum(e.cost_nusd), 0) AS cost_nusd,
       coalesce(sum(e.cost_nusd) FILTER (WHERE e.attempt > 1), 0) AS retry_cost_nusd,
       coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                    e.cached_read_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                    NULL, 'miss', e.batch, e.feature)) FILTER (WHERE e.cache_status <> 'miss'), 0) AS avoided_nusd,
       coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                    0, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                    NULL, 'miss', e.batch, e.feature) - e.cost_nusd)
                FILTER (WHERE e.cache_status = 'miss' AND e.cached_read_tokens > 0), 0) AS prompt_cache_saved_nusd,
       count(*) FILTER (WHERE e.requested_model IS NOT NULL
                          AND llmcost.resolve_model(e.provider, e.requested_model)
                              IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)) AS fallback_calls,
       coalesce(sum(e.cost_nusd - llmcost.event_cost_nusd(e.event_time, e.provider, e.requested_model,
                    e.input_tokens, e.cached_read_tokens, e.cache_write_tokens, e.output_tokens,
                    e.reasoning_tokens, NULL, e.cache_status, e.batch, e.feature))
                FILTER (WHERE e.requested_model IS NOT NULL
                          AND llmcost.resolve_model(e.provider, e.requested_model)
                              IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)), 0) AS fallback_extra_nusd,
       llmcost.stats_agg(e.cost_nusd) AS cost_stats, llmcost.duration_stats_agg(e.latency_ms) AS latency_stats
  FROM llmcost.events e GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TEMP TABLE raw_daily_user AS
SELECT (e.event_time AT TIME ZONE 'UTC')::date AS day, e.user_id, count(*) AS calls,
       coalesce(sum(e.cost_nusd), 0) AS cost_nusd, llmcost.sketch_agg(e.cost_nusd) AS cost_sketch
  FROM llmcost.events e GROUP BY 1, 2;
-- the per-user 30-day window, as llmcost.rollup_user_30d holds it
CREATE FUNCTION pg_temp.raw_user_window() RETURNS TABLE (user_id text, calls bigint, cost_nusd bigint,
                                                         cost_7d_nusd bigint, cost_today_nusd bigint,
                                                         cost_sketch llmcost.sketch)
LANGUAGE sql AS $$
    SELECT e.user_id, count(*), coalesce(sum(e.cost_nusd), 0)::bigint,
           coalesce(sum(e.cost_nusd) FILTER (WHERE (e.event_time AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 7), 0)::bigint,
           coalesce(sum(e.cost_nusd) FILTER (WHERE (e.event_time AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date), 0)::bigint,
           llmcost.sketch_agg(e.cost_nusd)
      FROM llmcost.events e
     WHERE (e.event_time AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 30 AND e.user_id IS NOT NULL
     GROUP BY e.user_id
$$;
CREATE TEMP TABLE raw_user_30d AS SELECT * FROM pg_temp.raw_user_window();
-- windows compared as text: a sketch has no equality operator, and its text
-- form is bucket for bucket
CREATE TEMP VIEW window_kept AS
SELECT user_id, calls, cost_nusd, cost_7d_nusd, cost_today_nusd, cost_sketch::text AS cost_sketch
  FROM llmcost.rollup_user_30d;
CREATE TEMP VIEW window_raw AS
SELECT user_id, calls, cost_nusd, cost_7d_nusd, cost_today_nusd, cost_sketch::text AS cost_sketch
  FROM pg_temp.raw_user_window();
CREATE TEMP TABLE raw_hourly_feature AS
SELECT date_trunc('hour', e.event_time, 'UTC') AS hour, e.feature, count(*) AS calls,
       sum(e.input_tokens) AS input_tokens, sum(e.output_tokens) AS output_tokens,
       coalesce(sum(e.cost_nusd), 0) AS cost_nusd
  FROM llmcost.events e GROUP BY 1, 2;

-- each view, run over the raw-built tables instead of the rollups: rows that differ
CREATE TEMP TABLE view_check (view text, rows bigint, differing bigint);
DO $$
DECLARE
    v text;
    def text;
    n bigint;
    d bigint;
BEGIN
    FOREACH v IN ARRAY ARRAY['cost_trend', 'cost_trend_hourly', 'top_features', 'top_users',
                             'cache_savings', 'error_costs', 'user_cost_distribution', 'user_call_costs'] LOOP
        def := pg_get_viewdef(('llmcost.' || v)::regclass);
        def := replace(def, 'llmcost.rollup_daily_feature', 'pg_temp.raw_daily_feature');
        def := replace(def, 'llmcost.rollup_daily_user', 'pg_temp.raw_daily_user');
        def := replace(def, 'llmcost.rollup_hourly_feature', 'pg_temp.raw_hourly_feature');
        def := replace(def, 'llmcost.rollup_user_30d', 'pg_temp.raw_user_30d');
        EXECUTE format('CREATE TEMP VIEW raw_%s AS %s', v, def);
        EXECUTE format('SELECT count(*) FROM llmcost.%I', v) INTO n;
        EXECUTE format('SELECT count(*) FROM ((TABLE llmcost.%1$I EXCEPT ALL TABLE raw_%1$s)
                                   UNION ALL (TABLE raw_%1$s EXCEPT ALL TABLE llmcost.%1$I)) x', v) INTO d;
        INSERT INTO view_check VALUES (v, n, d);
    END LOOP;
END $$;
SELECT view, rows > 0 AS has_rows, differing FROM view_check ORDER BY view;

-- the per-user views read one row per user, kept by the refresh for today;
-- before the day's first refresh they sum the daily rollup instead: the
-- same rows either way
SELECT (SELECT user_window_day FROM llmcost.rollup_state) = (now() AT TIME ZONE 'UTC')::date AS window_is_today,
       (SELECT count(*) FROM ((TABLE window_kept EXCEPT ALL TABLE window_raw)
                              UNION ALL (TABLE window_raw EXCEPT ALL TABLE window_kept)) x) AS window_rows_differing;
CREATE TEMP TABLE fresh_top_users AS TABLE llmcost.top_users;
CREATE TEMP TABLE fresh_distribution AS TABLE llmcost.user_cost_distribution;
CREATE TEMP TABLE fresh_call_costs AS TABLE llmcost.user_call_costs;
UPDATE llmcost.rollup_state SET user_window_day = NULL;
SELECT (SELECT count(*) FROM ((TABLE llmcost.top_users EXCEPT ALL TABLE fresh_top_users)
                              UNION ALL (TABLE fresh_top_users EXCEPT ALL TABLE llmcost.top_users)) x) AS top_users_differing,
       (SELECT count(*) FROM ((TABLE llmcost.user_cost_distribution EXCEPT ALL TABLE fresh_distribution)
                              UNION ALL (TABLE fresh_distribution EXCEPT ALL TABLE llmcost.user_cost_distribution)) x)
           AS distribution_differing,
       (SELECT count(*) FROM ((TABLE llmcost.user_call_costs EXCEPT ALL TABLE fresh_call_costs)
                              UNION ALL (TABLE fresh_call_costs EXCEPT ALL TABLE llmcost.user_call_costs)) x)
           AS call_costs_differing;
-- the next refresh rebuilds the window; later ones keep it for the users of
-- the days they recompute (a late call of an old user, a new user today, an
-- event deleted by hand and recomputed)
SELECT hours_refreshed AS nothing_new FROM llmcost.refresh_rollups();
SELECT user_window_day = (now() AT TIME ZONE 'UTC')::date AS rebuilt FROM llmcost.rollup_state;
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
VALUES (now() - interval '10 days', 'late-1', 'u7', 'feature-1', 'openai', 'gpt-4o', 50000, 4000),
       (now(), 'new-user-1', 'brand-new-user', 'feature-2', 'openai', 'gpt-4o', 1000, 100);
SELECT hours_refreshed AS hours FROM llmcost.refresh_rollups();
CREATE TEMP VIEW window_check AS
SELECT (SELECT count(*) FROM ((TABLE window_kept EXCEPT ALL TABLE window_raw)
                              UNION ALL (TABLE window_raw EXCEPT ALL TABLE window_kept)) x)
           AS window_rows_differing,
       (SELECT calls FROM llmcost.top_users WHERE user_id = 'brand-new-user') AS new_user_calls;
SELECT * FROM window_check;
DELETE FROM llmcost.events WHERE request_id IN ('new-user-1', 'd1000');
SELECT hours_refreshed > 0 AS refreshed FROM llmcost.refresh_rollups(now() - interval '30 days', now() + interval '1 hour');
SELECT * FROM window_check;

-- and questions asked of the raw events directly
SELECT count(*) AS days_that_differ
  FROM llmcost.cost_trend t
  FULL JOIN (SELECT (event_time AT TIME ZONE 'UTC')::date AS day, llmcost.usd(coalesce(sum(cost_nusd), 0)) AS cost_usd,
                    count(*) AS calls
               FROM llmcost.events GROUP BY 1) r USING (day)
 WHERE t.cost_usd IS DISTINCT FROM coalesce(r.cost_usd, 0) OR t.calls IS DISTINCT FROM coalesce(r.calls, 0);
SELECT (SELECT sum(cost_usd) FROM llmcost.top_users) = (SELECT llmcost.usd(sum(cost_nusd)) FROM llmcost.events
         WHERE event_time >= (now() AT TIME ZONE 'UTC')::date - 29) AS top_users_total_equal,
       (SELECT users FROM llmcost.user_cost_distribution)
     = (SELECT count(DISTINCT user_id) FROM llmcost.events WHERE event_time >= (now() AT TIME ZONE 'UTC')::date - 29)
       AS distribution_users_equal;

-- what the dashboards say of this traffic
SELECT feature, leak, cost_wow_pct > 25 AS cost_grew, calls_wow_pct <= 5 AS calls_flat
  FROM llmcost.top_features WHERE day = (now() AT TIME ZONE 'UTC')::date - 1 AND feature = 'feature-0';
SELECT max(rank) = 8 AS ranked, bool_and(share_of_day BETWEEN 0 AND 1) AS shares FROM llmcost.top_features;
SELECT min(rank) = 1 AS has_top_user, max(cumulative_share) = 1 AS cumulative_to_one FROM llmcost.top_users;
SELECT bool_and(hit_rate BETWEEN 0 AND 1) AS rates, sum(avoided_cost_usd) > 0 AS avoided,
       sum(prompt_cache_savings_usd) > 0 AS prompt_cache_saved FROM llmcost.cache_savings;
SELECT error_class, sum(calls) > 0 AS calls FROM llmcost.error_costs GROUP BY 1 ORDER BY 1;
-- fallbacks: only the retries that another model answered, with their extra cost
SELECT feature, sum(fallback_calls) AS fallback_calls, sum(fallback_extra_cost_usd) > 0 AS cost_more
  FROM llmcost.error_costs WHERE fallback_calls > 0 GROUP BY 1 ORDER BY 1;
SELECT (SELECT sum(fallback_calls) FROM llmcost.error_costs)
     = (SELECT count(*) FROM llmcost.events WHERE requested_model IS NOT NULL AND model <> 'gpt-4o-mini') AS fallbacks_counted;
SELECT users > 0 AS users, p50_usd <= p90_usd AND p90_usd <= p99_usd AND p99_usd <= p999_usd AS ordered,
       top_1pct_share <= top_10pct_share AS shares FROM llmcost.user_cost_distribution;
-- per-user percentiles of the cost of a call: the sketch's, at percentile_disc's
-- rank, within the stated relative error of the exact ones; mean and max exact
SELECT count(*) AS users,
       count(*) FILTER (WHERE abs(c.p50_call_usd - r.p[1]) > c.relative_error * r.p[1] * (1 + 1e-9)
                           OR abs(c.p90_call_usd - r.p[2]) > c.relative_error * r.p[2] * (1 + 1e-9)
                           OR abs(c.p99_call_usd - r.p[3]) > c.relative_error * r.p[3] * (1 + 1e-9)
                           OR abs(c.p999_call_usd - r.p[4]) > c.relative_error * r.p[4] * (1 + 1e-9)) AS outside_error,
       count(*) FILTER (WHERE c.max_call_usd <> r.max_usd OR c.priced_calls <> r.n
                           OR abs(c.mean_call_usd - r.mean_usd) > 1e-12) AS exact_differing,
       bool_and(c.relative_error = 0.01::float8 OR abs(c.relative_error - 0.01) < 1e-12) AS one_percent,
       count(*) FILTER (WHERE c.p50_call_usd <> r.p[1]) > 0 AS estimates_not_exact
  FROM llmcost.user_call_costs c
  JOIN (SELECT user_id, count(cost_nusd) AS n, max(cost_nusd) / 1e9 AS max_usd,
               (avg(cost_nusd) / 1e9)::float8 AS mean_usd,
               percentile_disc(ARRAY[0.5, 0.9, 0.99, 0.999]) WITHIN GROUP (ORDER BY cost_nusd / 1e9::float8) AS p
          FROM llmcost.events
         WHERE event_time >= (now() AT TIME ZONE 'UTC')::date - 29 AND user_id IS NOT NULL AND cost_nusd IS NOT NULL
         GROUP BY user_id) r USING (user_id);

-- the reader role reads every dashboard
SELECT v, has_table_privilege('llmcost_reader', 'llmcost.' || v, 'SELECT') AS reader_can_read
  FROM unnest(ARRAY['cost_trend', 'cost_trend_hourly', 'top_features', 'top_users', 'cache_savings',
                    'error_costs', 'user_cost_distribution', 'user_call_costs']) v ORDER BY v;
