-- The weekly review (HTML and Markdown) and invoice reconciliation.  Every
-- figure of llmcost.weekly_review_data() is checked against the same
-- question asked of the raw events; the page against what it must and must
-- not contain (the rendering in Chromium is test/browser/review_page.sh).
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
DELETE FROM llmcost.events;
DELETE FROM llmcost.alerts;
SELECT hours_refreshed >= 0 AS cleared FROM llmcost.refresh_rollups(now() - interval '100 days', 'infinity');

-- the week reviewed: the Monday two weeks back, so that it and the week
-- before are complete whatever day the suite runs
CREATE TEMP TABLE w AS SELECT (date_trunc('week', now() AT TIME ZONE 'UTC') - interval '14 days')::date AS ws;
SELECT extract(isodow FROM ws) AS monday, llmcost.review_week(ws + 6) = ws AS sunday_maps_to_monday,
       llmcost.review_week() = ws + 7 AS default_is_last_complete_week
  FROM w;
SELECT llmcost.create_partitions((SELECT ws FROM w) - 35, now() + interval '1 day') >= 0 AS partitions;

-- five weeks of calls, deterministic: 6 features (one with a name that is
-- markup), 200 users (a few heavy), errors, retries, fallbacks, cache hits,
-- cached prompt reads, one model without a rate; search-answer leaks in the
-- review week (three times the context, the same traffic)
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, requested_model,
        input_tokens, cached_read_tokens, output_tokens, latency_ms, cache_status, attempt, error_class)
SELECT (w.ws - 28)::timestamp AT TIME ZONE 'UTC' + (i % 840) * interval '1 hour' + (i % 53) * interval '1 minute',
       'r' || i,
       'u' || CASE WHEN i % 10 < 3 THEN i % 5 ELSE (i * 7919) % 200 END,
       (ARRAY['chat-assistant', 'search-answer', 'doc-summarize', 'code-review', 'email-draft',
              '<script>alert("x")</script>|*_'])[1 + i % 6],
       CASE WHEN i % 4 = 0 THEN 'anthropic' WHEN i % 97 = 0 THEN 'acme' ELSE 'openai' END,
       CASE WHEN i % 4 = 0 THEN 'claude-sonnet-4-5' WHEN i % 97 = 0 THEN 'acme-internal-llm' ELSE 'gpt-4o-mini' END,
       CASE WHEN i % 4 = 0 AND i % 9 = 0 THEN 'claude-haiku-4-5' END,
       (300 + (i * 37) % 4000) * CASE WHEN i % 6 = 1 AND i % 840 >= 672 THEN 3 ELSE 1 END,
       CASE WHEN i % 5 = 0 THEN 200 ELSE 0 END, 50 + (i * 13) % 700, 100 + (i * 17) % 2900,
       CASE WHEN i % 11 = 0 THEN 'exact_hit' WHEN i % 19 = 0 THEN 'semantic_hit' ELSE 'miss' END,
       CASE WHEN i % 23 = 0 THEN 2 ELSE 1 END,
       CASE WHEN i % 31 = 0 THEN 'rate_limit' WHEN i % 37 = 0 THEN 'timeout' END
  FROM w, generate_series(1, 42000) i;
SELECT hours_refreshed AS hours FROM llmcost.refresh_rollups();

-- an alert of the week whose subject is markup too
INSERT INTO llmcost.alerts (rule, subject_kind, subject, window_start, window_end, last_window_end, observed,
                            peak_observed, baseline, threshold, unit, severity, message)
SELECT 'feature_band', 'feature', '<script>alert("x")</script>|*_', (w.ws + 2)::timestamp AT TIME ZONE 'UTC',
       (w.ws + 2)::timestamp AT TIME ZONE 'UTC' + interval '1 hour', (w.ws + 2)::timestamp AT TIME ZONE 'UTC' + interval '1 hour',
       12.5, 12.5, 2, 5, 'USD', 'critical', 'cost 6x the band <b>bold</b>'
  FROM w;

CREATE TEMP TABLE d AS SELECT llmcost.weekly_review_data(ws) AS j FROM w;
CREATE TEMP TABLE raw AS
SELECT e.*, (e.event_time AT TIME ZONE 'UTC')::date AS day, (e.event_time AT TIME ZONE 'UTC')::date >= w.ws AS cur
  FROM llmcost.events e, w
 WHERE e.event_time >= (w.ws - 7)::timestamp AT TIME ZONE 'UTC' AND e.event_time < (w.ws + 7)::timestamp AT TIME ZONE 'UTC';

-- headline figures, from the review and from the raw events
SELECT j -> 'summary' ->> 'cost_usd' AS cost_usd,
       (j -> 'summary' ->> 'cost_usd')::numeric = (SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE cur) AS cost_ok,
       (j -> 'summary' ->> 'prev_cost_usd')::numeric = (SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE NOT cur) AS prev_ok,
       (j -> 'summary' ->> 'calls')::bigint = (SELECT count(*) FROM raw WHERE cur) AS calls_ok,
       (j -> 'summary' ->> 'unpriced_calls')::bigint = (SELECT count(*) FROM raw WHERE cur AND cost_nusd IS NULL) AS unpriced_ok,
       (j -> 'summary' ->> 'tokens')::bigint = (SELECT sum(input_tokens + output_tokens) FROM raw WHERE cur) AS tokens_ok
  FROM d;

-- the 12 weeks and the 7 days
SELECT count(*) AS weeks,
       count(*) FILTER (WHERE (x ->> 'cost_usd')::numeric IS DISTINCT FROM
           (SELECT coalesce(llmcost.usd(sum(e.cost_nusd)), 0) FROM llmcost.events e
             WHERE e.event_time >= (x ->> 'week')::date::timestamp AT TIME ZONE 'UTC'
               AND e.event_time < ((x ->> 'week')::date + 7)::timestamp AT TIME ZONE 'UTC')) AS weeks_wrong
  FROM d, jsonb_array_elements(j -> 'weeks') x;
SELECT count(*) AS days,
       count(*) FILTER (WHERE (x ->> 'cost_usd')::numeric IS DISTINCT FROM
                              (SELECT coalesce(llmcost.usd(sum(r.cost_nusd)), 0) FROM raw r WHERE r.day = (x ->> 'day')::date)
                           OR (x ->> 'prev_cost_usd')::numeric IS DISTINCT FROM
                              (SELECT coalesce(llmcost.usd(sum(r.cost_nusd)), 0) FROM raw r WHERE r.day = (x ->> 'day')::date - 7)
                           OR (x ->> 'hits')::bigint <> (SELECT count(*) FROM raw r WHERE r.day = (x ->> 'day')::date
                                                                                    AND r.cache_status <> 'miss'))
           AS days_wrong
  FROM d, jsonb_array_elements(j -> 'days') x;

-- features: every one of the top list, its week-over-week figures and the leak flag
WITH rf AS (
    SELECT feature, sum(cost_nusd) FILTER (WHERE cur) AS cost, sum(cost_nusd) FILTER (WHERE NOT cur) AS prev,
           count(*) FILTER (WHERE cur) AS calls, count(*) FILTER (WHERE NOT cur) AS prev_calls
      FROM raw GROUP BY feature)
SELECT x ->> 'rank' AS rank, x ->> 'feature' AS feature, x ->> 'cost_usd' AS cost_usd, x ->> 'cost_change' AS cost_change,
       x ->> 'calls_change' AS calls_change, x ->> 'leak' AS leak,
       (x ->> 'cost_usd')::numeric = llmcost.usd(rf.cost) AND (x ->> 'prev_cost_usd')::numeric = llmcost.usd(rf.prev)
       AND (x ->> 'calls')::bigint = rf.calls AND (x ->> 'prev_calls')::bigint = rf.prev_calls
       AND (x ->> 'leak')::boolean = (rf.cost >= 1.25 * rf.prev AND rf.calls <= 1.05 * rf.prev_calls) AS matches_raw
  FROM d, jsonb_array_elements(j -> 'features' -> 'top') x JOIN rf ON rf.feature = x ->> 'feature'
 ORDER BY (x ->> 'rank')::int;
SELECT jsonb_array_length(j -> 'features' -> 'risers') AS risers, jsonb_array_length(j -> 'features' -> 'fallers') AS fallers,
       j -> 'features' -> 'leaks' -> 0 ->> 'feature' AS leaking
  FROM d;

-- users: percentiles of per-user weekly cost, the tail's share, the top 10
WITH ru AS (SELECT user_id, sum(cost_nusd) AS c, count(*) AS calls FROM raw WHERE cur AND user_id IS NOT NULL GROUP BY user_id),
     rk AS (SELECT ru.*, row_number() OVER (ORDER BY c DESC, user_id) AS rn, count(*) OVER () AS n FROM ru)
SELECT (j -> 'users' ->> 'count')::bigint = (SELECT count(*) FROM ru) AS users_ok,
       (j -> 'users' ->> 'p50_usd')::numeric = (SELECT llmcost.usd(percentile_disc(0.5) WITHIN GROUP (ORDER BY c)) FROM ru)
       AND (j -> 'users' ->> 'p90_usd')::numeric = (SELECT llmcost.usd(percentile_disc(0.9) WITHIN GROUP (ORDER BY c)) FROM ru)
       AND (j -> 'users' ->> 'p99_usd')::numeric = (SELECT llmcost.usd(percentile_disc(0.99) WITHIN GROUP (ORDER BY c)) FROM ru)
       AND (j -> 'users' ->> 'p999_usd')::numeric = (SELECT llmcost.usd(percentile_disc(0.999) WITHIN GROUP (ORDER BY c)) FROM ru)
       AND (j -> 'users' ->> 'max_usd')::numeric = (SELECT llmcost.usd(max(c)) FROM ru) AS percentiles_ok,
       (j -> 'users' ->> 'top_1pct_share')::numeric
           = (SELECT round(sum(c) FILTER (WHERE rn <= ceil(n * 0.01)) / sum(c), 6) FROM rk) AS top_1pct_ok,
       (j -> 'users' ->> 'top_10pct_share')::numeric
           = (SELECT round(sum(c) FILTER (WHERE rn <= ceil(n * 0.10)) / sum(c), 6) FROM rk) AS top_10pct_ok,
       (SELECT jsonb_agg(jsonb_build_array(x ->> 'user_id', (x ->> 'cost_usd')::numeric, (x ->> 'calls')::bigint) ORDER BY o)
          FROM jsonb_array_elements(j -> 'users' -> 'top') WITH ORDINALITY t(x, o))
       = (SELECT jsonb_agg(jsonb_build_array(user_id, llmcost.usd(c), calls) ORDER BY rn) FROM rk WHERE rn <= 10) AS top_users_ok,
       j -> 'users' ->> 'top_1pct_share' AS top_1pct_share
  FROM d;

-- cache: hits from the raw events; avoided cost and prompt-cache savings
-- as in the cache_savings dashboard (checked against raw events there)
SELECT (j -> 'cache' ->> 'exact_hits')::bigint = (SELECT count(*) FROM raw WHERE cur AND cache_status = 'exact_hit') AS exact_ok,
       (j -> 'cache' ->> 'semantic_hits')::bigint = (SELECT count(*) FROM raw WHERE cur AND cache_status = 'semantic_hit') AS semantic_ok,
       (j -> 'cache' ->> 'cached_read_tokens')::bigint = (SELECT sum(cached_read_tokens) FROM raw WHERE cur) AS cached_tokens_ok,
       (j -> 'cache' ->> 'avoided_usd')::numeric
           = (SELECT sum(avoided_cost_usd) FROM llmcost.cache_savings, w WHERE day >= ws AND day < ws + 7) AS avoided_ok,
       (j -> 'cache' ->> 'prompt_cache_saved_usd')::numeric
           = (SELECT sum(prompt_cache_savings_usd) FROM llmcost.cache_savings, w WHERE day >= ws AND day < ws + 7) AS saved_ok,
       (j -> 'cache' ->> 'avoided_usd')::numeric > 0 AS avoided_positive
  FROM d;

-- errors by class, retries, fallbacks
SELECT x ->> 'error_class' AS error_class, x ->> 'calls' AS calls, x ->> 'cost_usd' AS cost_usd,
       (x ->> 'calls')::bigint = (SELECT count(*) FROM raw WHERE cur AND error_class = x ->> 'error_class')
       AND (x ->> 'cost_usd')::numeric = (SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE cur AND error_class = x ->> 'error_class')
       AND (x ->> 'prev_cost_usd')::numeric = (SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE NOT cur AND error_class = x ->> 'error_class')
           AS matches_raw
  FROM d, jsonb_array_elements(j -> 'errors' -> 'by_class') x;
SELECT (j -> 'errors' ->> 'retry_calls')::bigint = (SELECT count(*) FROM raw WHERE cur AND attempt > 1) AS retries_ok,
       (j -> 'errors' ->> 'retry_cost_usd')::numeric = (SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE cur AND attempt > 1) AS retry_cost_ok,
       (j -> 'errors' ->> 'fallback_calls')::bigint
           = (SELECT count(*) FROM raw WHERE cur AND requested_model IS NOT NULL
                AND llmcost.resolve_model(provider, requested_model) IS DISTINCT FROM llmcost.resolve_model(provider, model)) AS fallbacks_ok,
       (j -> 'errors' ->> 'fallback_calls')::bigint > 0 AS some_fallbacks
  FROM d;

-- the week's alert, the unpriced model
SELECT jsonb_array_length(j -> 'alerts') AS alerts, j -> 'alerts' -> 0 ->> 'severity' AS severity,
       j -> 'unpriced' -> 0 ->> 'model' AS unpriced_model,
       (j -> 'unpriced' -> 0 ->> 'calls')::bigint = (SELECT count(*) FROM raw WHERE cur AND cost_nusd IS NULL) AS unpriced_ok
  FROM d;

----------------------------------------------------------------------------
-- invoice reconciliation
----------------------------------------------------------------------------
-- openai billed exactly what llmcost computed, in two lines; anthropic 10%
-- less; acme in euros without a rate, then with one; a period not over yet
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, currency, usd_per_unit, invoice_ref)
SELECT 'OpenAI', ws, ws + 7, round(llmcost.usd(sum(cost_nusd)) - 10, 2), 'USD', NULL::numeric, 'inv-1' FROM raw, w WHERE cur AND provider = 'openai' GROUP BY ws
UNION ALL
SELECT 'openai', ws, ws + 7, 10, 'USD', NULL, 'inv-1' FROM w
UNION ALL
SELECT 'anthropic', ws, ws + 7, round(0.9 * llmcost.usd(sum(cost_nusd)), 2), 'USD', NULL, 'inv-2' FROM raw, w WHERE cur AND provider = 'anthropic' GROUP BY ws
UNION ALL
SELECT 'acme', ws, ws + 7, 15, 'EUR', NULL, 'inv-3' FROM w
UNION ALL
SELECT 'openai', ws + 7, ws + 21, 1, 'USD', NULL, 'inv-4' FROM w;
SELECT provider, period_start - ws AS start_offset, period_end - ws AS end_offset, lines, currencies,
       abs(difference_usd) < 0.01 AS gap_under_a_cent, difference_pct, unpriced_calls, status, flagged
  FROM llmcost.invoice_reconciliation, w ORDER BY provider, period_start;
-- the euro line gets its rate: compared in USD; acme's calls are all unpriced, so the gap is the invoice
UPDATE llmcost.invoice_lines SET usd_per_unit = 1.08 WHERE provider = 'acme';
SELECT provider, invoiced_usd, computed_usd, difference_usd, difference_pct, unpriced_calls > 0 AS has_unpriced, status, flagged
  FROM llmcost.invoice_reconciliation WHERE provider = 'acme';
-- a wider tolerance clears anthropic's flag; a dollar floor keeps small gaps quiet
UPDATE llmcost.settings SET invoice_tolerance_pct = 15;
SELECT provider, status, flagged FROM llmcost.invoice_reconciliation WHERE provider = 'anthropic';
UPDATE llmcost.settings SET invoice_tolerance_pct = 2, invoice_tolerance_usd = 1000000;
SELECT provider, status, flagged FROM llmcost.invoice_reconciliation WHERE provider = 'anthropic';
UPDATE llmcost.settings SET invoice_tolerance_usd = 1;
-- bad lines are refused with the column in the constraint's name; the good ones stay
\set VERBOSITY default
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, loaded_at) VALUES ('openai', '2026-02-01', '2026-01-01', 1, '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, currency, loaded_at) VALUES ('openai', '2026-01-01', '2026-02-01', 1, 'usd', '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, loaded_at) VALUES ('openai', '2026-01-01', '2026-02-01', 'NaN', '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, loaded_at) VALUES ('openai', '2026-01-01', '2026-02-01', 'Infinity', '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, loaded_at) VALUES ('openai', '-infinity', '2026-02-01', 1, '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, loaded_at) VALUES ('', '2026-01-01', '2026-02-01', 1, '2026-01-01 00:00+00');
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, currency, usd_per_unit, loaded_at) VALUES ('openai', '2026-01-01', '2026-02-01', 1, 'EUR', 0, '2026-01-01 00:00+00');
SELECT count(*) AS invoice_lines FROM llmcost.invoice_lines;

----------------------------------------------------------------------------
-- the HTML page
----------------------------------------------------------------------------
CREATE TEMP TABLE page AS SELECT llmcost.weekly_review_html(ws) AS html FROM w;
SELECT html LIKE '<!DOCTYPE html>%</html>' AS whole_document,
       html LIKE '%Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''"%' AS locked_down,
       html !~* '<script|<link|<img|<iframe|src=|href=|url\(|@import|https?:' AS loads_and_runs_nothing,
       (SELECT count(*) FROM regexp_matches(html, '<svg class="chart"', 'g')) AS charts,
       (SELECT count(*) FROM regexp_matches(html, '<table id="', 'g')) AS tables,
       (SELECT array_agg(m[1] ORDER BY o) FROM regexp_matches(html, '<section id="([a-z-]+)"', 'g') WITH ORDINALITY t(m, o)) AS sections,
       (SELECT array_agg(m[1] ORDER BY o) FROM regexp_matches(html, '<(?:svg class="chart"|table) id="([a-z-]+)"', 'g') WITH ORDINALITY t(m, o)) AS ids
  FROM page;
-- markup from the data is shown, never run: the feature name and the alert
-- subject and message are escaped wherever they appear
SELECT strpos(html, '<script>alert') AS raw_script, strpos(html, '<b>bold') AS raw_bold,
       (SELECT count(*) FROM regexp_matches(html, '&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt;\|\*_', 'g')) AS escaped_names,
       strpos(html, 'the band &lt;b&gt;bold&lt;/b&gt;') > 0 AS escaped_message
  FROM page;
-- numbers for people
SELECT html LIKE '%' || llmcost.format_usd((SELECT llmcost.usd(sum(cost_nusd)) FROM raw WHERE cur)) || '%' AS total_shown,
       html LIKE '%>leak</td>%' AS leak_flagged, html LIKE '%out of tolerance%' AS invoice_gap_flagged,
       html LIKE '%acme-internal-llm%' AS unpriced_listed
  FROM page;

-- the same review as Markdown
CREATE TEMP TABLE md AS SELECT llmcost.weekly_review_markdown(ws) AS text FROM w;
SELECT split_part(text, E'\n', 1) LIKE '# LLM cost review: week of %' AS heading,
       strpos(text, '<script>') AS raw_script,
       strpos(text, '\<script\>alert("x")\</script\>\|\*\_') > 0 AS escaped_name,
       (SELECT count(*) FROM regexp_matches(text, E'\n## ', 'g')) AS sections,
       text LIKE '%**leak**%' AS leak_flagged, text LIKE '%**out of tolerance**%' AS gap_flagged
  FROM md;

-- a week without a single call renders too, saying so
SELECT h LIKE '%No feature had calls this week.%' AS says_no_features, h LIKE '%no data%' AS empty_charts,
       m LIKE '%No alerts this week.%' AS markdown_says_no_alerts
  FROM (SELECT llmcost.weekly_review_html('2001-01-01') AS h, llmcost.weekly_review_markdown('2001-01-01') AS m) t;

----------------------------------------------------------------------------
-- the building blocks
----------------------------------------------------------------------------
SELECT llmcost.review_format(1234567.891, 'usd') AS usd, llmcost.review_format(0.01234, 'usd') AS usd_small,
       llmcost.review_format(-12.5, 'usd') AS usd_negative, llmcost.review_format(12345, 'usd_short') AS short_k,
       llmcost.review_format(2500000, 'usd_short') AS short_m, llmcost.review_format(1234567, 'count') AS count,
       llmcost.review_format(0.1234, 'pct') AS pct, llmcost.review_format(0.05, 'change') AS up,
       llmcost.review_format(-0.5, 'change') AS down, llmcost.review_format(NULL, 'usd') AS missing;
SELECT llmcost.review_format(1, 'euros');
SELECT llmcost.chart_axis_max(0) AS zero, llmcost.chart_axis_max(7) AS seven, llmcost.chart_axis_max(1900) AS nineteen_hundred,
       llmcost.chart_axis_max(0.22) AS fraction, llmcost.chart_axis_max(250) AS exact;
SELECT llmcost.html_escape('<a href="x">''&''</a>') AS escaped, llmcost.markdown_escape(E'a|b*c_d\n`e`') AS md;
SELECT llmcost.svg_columns('c', 'Empty', '{}', '{}') LIKE '%no data%' AS empty_columns,
       llmcost.svg_bars('b', 'Empty', NULL, NULL) LIKE '%no data%' AS empty_bars,
       llmcost.svg_columns('c', 'One', '{Mon}', '{-5}') LIKE '%height="0.0"%' AS negative_drawn_as_zero;
