-- What llmcost computed from the demo traffic.
\pset footer off
\echo
\echo '== Spend over the demo period (llmcost prices every call itself) =='
SELECT count(*) AS calls,
       to_char(llmcost.usd(sum(cost_nusd)), 'FM$999,999,990.00') AS cost,
       count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced_calls,
       count(DISTINCT user_id) AS users, count(DISTINCT feature) AS features
  FROM llmcost.events;

\echo '== Cost by provider and model =='
SELECT provider, model, llmcost.resolve_model(provider, model) AS priced_as, count(*) AS calls,
       to_char(llmcost.usd(sum(cost_nusd)), 'FM$999,990.00') AS cost,
       count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced_calls
  FROM llmcost.events GROUP BY 1, 2 ORDER BY sum(cost_nusd) DESC NULLS LAST;

\echo '== Top features by cost =='
SELECT feature, count(*) AS calls,
       to_char(llmcost.usd(sum(cost_nusd)), 'FM$999,990.00') AS cost,
       to_char(llmcost.usd(sum(cost_nusd) / count(*)), 'FM$0.000000') AS per_call,
       round(100 * sum(cost_nusd) / sum(sum(cost_nusd)) OVER (), 1) AS pct
  FROM llmcost.events GROUP BY 1 ORDER BY sum(cost_nusd) DESC NULLS LAST LIMIT 10;

\echo '== The heavy tail: cost per user (llmcost.sketch, within 1%) =='
WITH u AS (SELECT user_id, sum(cost_nusd)::bigint AS c FROM llmcost.events GROUP BY 1),
     s AS (SELECT llmcost.sketch_agg(c) AS s FROM u)
SELECT llmcost.sketch_count(s) AS users,
       to_char(llmcost.sketch_quantile(s, 0.5), 'FM$990.0000') AS p50,
       to_char(llmcost.sketch_quantile(s, 0.9), 'FM$990.0000') AS p90,
       to_char(llmcost.sketch_quantile(s, 0.99), 'FM$99,990.00') AS p99,
       to_char(llmcost.sketch_quantile(s, 0.999), 'FM$99,990.00') AS p99_9,
       to_char(llmcost.sketch_max(s), 'FM$99,990.00') AS top_user,
       round(100 * (SELECT sum(c) FROM (SELECT c FROM u ORDER BY c DESC NULLS LAST LIMIT 100) t) / (SELECT sum(c) FROM u), 1)
           AS top_1pct_share
  FROM s;

\echo '== The last complete hour against each feature''s trailing 7-day band (llmcost.stats, mean + 3 sigma) =='
WITH hours AS (SELECT feature, date_trunc('hour', event_time) AS hour, sum(cost_nusd)::bigint AS c
                 FROM llmcost.events GROUP BY 1, 2),
     last AS (SELECT max(hour) - interval '1 hour' AS h FROM hours)  -- the last complete hour
SELECT feature,
       to_char(llmcost.usd(max(c) FILTER (WHERE hour = (SELECT h FROM last))), 'FM$99,990.00') AS last_hour,
       to_char(llmcost.stats_mean(llmcost.stats_agg(c) FILTER (WHERE hour < (SELECT h FROM last))), 'FM$99,990.00') AS mean_7d,
       to_char(llmcost.stats_upper_band(llmcost.stats_agg(c) FILTER (WHERE hour < (SELECT h FROM last)), 3), 'FM$99,990.00') AS band_7d,
       llmcost.is_anomaly(llmcost.usd(max(c) FILTER (WHERE hour = (SELECT h FROM last))),
                          llmcost.stats_agg(c) FILTER (WHERE hour < (SELECT h FROM last))) AS anomalous
  FROM hours WHERE hour >= (SELECT h FROM last) - interval '168 hours'
 GROUP BY feature ORDER BY max(c) FILTER (WHERE hour = (SELECT h FROM last)) DESC NULLS LAST LIMIT 8;

\echo '== Errors and application-cache hits =='
SELECT coalesce(error_class, '(none)') AS error_class, cache_status, count(*) AS calls,
       to_char(llmcost.usd(sum(cost_nusd)), 'FM$999,990.00') AS cost
  FROM llmcost.events GROUP BY 1, 2 ORDER BY count(*) DESC;

\echo '== Prompt-cache savings: cached-read tokens at the cached rate instead of the input rate =='
SELECT sum(cached_read_tokens) AS cached_read_tokens,
       to_char(sum(llmcost.price(provider, model, event_time, cached_read_tokens, 0)
                   - llmcost.price(provider, model, event_time, cached_read_tokens, 0, cached_read_tokens)),
               'FM$999,990.00') AS saved
  FROM llmcost.events WHERE cached_read_tokens > 0 AND cache_status = 'miss';

\echo '== Waiting for a rate (llmcost.unpriced): never counted as $0 =='
SELECT provider, model, calls, input_tokens, output_tokens FROM llmcost.unpriced;

\echo
\echo '==== The dashboards (views over the hourly rollups; pg_cron refreshes them every 5 minutes) ===='
\echo '== llmcost.cost_trend: the last 10 days =='
SELECT day, calls, to_char(cost_usd, 'FM$999,990.00') AS cost, to_char(cost_7d_avg_usd, 'FM$999,990.00') AS avg_7d,
       dod_change_pct, wow_change_pct
  FROM llmcost.cost_trend ORDER BY day DESC LIMIT 10;

\echo '== llmcost.top_features: yesterday =='
SELECT rank, feature, to_char(cost_usd, 'FM$999,990.00') AS cost, round(100 * share_of_day, 1) AS pct, calls,
       to_char(cost_per_call_usd, 'FM$0.000000') AS per_call, cost_wow_pct, calls_wow_pct, leak
  FROM llmcost.top_features WHERE day = (now() AT TIME ZONE 'UTC')::date - 1 ORDER BY rank LIMIT 8;

\echo '== llmcost.top_users: the trailing 30 days =='
SELECT rank, user_id, to_char(cost_usd, 'FM$999,990.00') AS cost, percentile, round(100 * share, 2) AS pct,
       round(100 * cumulative_share, 1) AS cum_pct, calls, to_char(avg_daily_cost_7d_usd, 'FM$990.00') AS daily_7d,
       to_char(today_cost_usd, 'FM$990.00') AS today
  FROM llmcost.top_users ORDER BY rank LIMIT 8;

\echo '== llmcost.cache_savings: yesterday =='
SELECT feature, calls, round(100 * hit_rate, 1) AS hit_pct, to_char(avoided_cost_usd, 'FM$99,990.00') AS avoided,
       to_char(prompt_cache_savings_usd, 'FM$99,990.00') AS prompt_cache_saved
  FROM llmcost.cache_savings WHERE day = (now() AT TIME ZONE 'UTC')::date - 1
 ORDER BY avoided_cost_usd + prompt_cache_savings_usd DESC LIMIT 8;

\echo '== llmcost.error_costs: yesterday =='
SELECT feature, coalesce(error_class, '(retries)') AS error_class, calls, to_char(cost_usd, 'FM$99,990.00') AS cost,
       retry_calls, to_char(retry_cost_usd, 'FM$99,990.00') AS retry_cost
  FROM llmcost.error_costs WHERE day = (now() AT TIME ZONE 'UTC')::date - 1 ORDER BY cost_usd DESC LIMIT 8;

\echo '== llmcost.user_cost_distribution: the trailing 30 days =='
SELECT users, to_char(p50_usd, 'FM$990.0000') AS p50, to_char(p90_usd, 'FM$990.0000') AS p90,
       to_char(p99_usd, 'FM$99,990.00') AS p99, to_char(p999_usd, 'FM$99,990.00') AS p99_9,
       to_char(mean_usd, 'FM$990.0000') AS mean, round(100 * top_1pct_share, 1) AS top_1pct,
       round(100 * top_10pct_share, 1) AS top_10pct
  FROM llmcost.user_cost_distribution;

\echo '== llmcost.user_call_costs: who makes the expensive calls (per-user p99 of a call, 30 days) =='
SELECT user_id, calls, to_char(cost_usd, 'FM$99,990.00') AS cost,
       to_char(p50_call_usd, 'FM$990.0000') AS p50_call, to_char(p99_call_usd, 'FM$990.0000') AS p99_call,
       to_char(max_call_usd, 'FM$990.0000') AS max_call
  FROM llmcost.user_call_costs WHERE calls >= 20 ORDER BY p99_call_usd DESC NULLS LAST LIMIT 5;

\echo '== Alerts: every hour of the last 3 days checked (llmcost.check_anomalies), as pg_cron would =='
SELECT sum(c.opened) AS alerts_opened, sum(c.resolved) AS resolved
  FROM generate_series(date_trunc('hour', now()) - interval '71 hours', date_trunc('hour', now()), interval '1 hour') g,
       LATERAL llmcost.check_anomalies(g) c;
SELECT rule, subject, severity, status, left(message, 160) AS message
  FROM llmcost.alerts ORDER BY window_end DESC LIMIT 10;
