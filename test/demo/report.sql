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

\echo '== The heavy tail: cost per user =='
WITH u AS (SELECT user_id, sum(cost_nusd) AS c FROM llmcost.events GROUP BY 1)
SELECT count(*) AS users,
       to_char(llmcost.usd(percentile_disc(0.5) WITHIN GROUP (ORDER BY c)), 'FM$990.0000') AS p50,
       to_char(llmcost.usd(percentile_disc(0.9) WITHIN GROUP (ORDER BY c)), 'FM$990.0000') AS p90,
       to_char(llmcost.usd(percentile_disc(0.99) WITHIN GROUP (ORDER BY c)), 'FM$99,990.00') AS p99,
       to_char(llmcost.usd(max(c)), 'FM$99,990.00') AS top_user,
       round(100 * (SELECT sum(c) FROM (SELECT c FROM u ORDER BY c DESC NULLS LAST LIMIT 100) t) / sum(c), 1) AS top_1pct_share
  FROM u;

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
