-- One seeded run of the anomaly-rule evaluation (test/bench/alerts_eval.sh):
-- 30 days of stationary generated traffic ending at :t0, four incidents
-- injected at seeded hours of its last week, every hour of the last 21 days
-- checked as pg_cron would, and every alert scored into llmcost_eval.
--   psql -v seed=N -v t0='YYYY-MM-DD 00:00+00' -f test/bench/alerts_eval.sql
SET client_min_messages = warning;
TRUNCATE llmcost.events, llmcost.rollup_hourly, llmcost.rollup_daily_feature,
         llmcost.rollup_daily_user, llmcost.rollup_hourly_feature, llmcost.alerts;
UPDATE llmcost.rollup_state SET watermark = '-infinity';
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM llmcost_demo.generate(216000, 30, :'t0', :seed / 1000.0);

-- the incidents: kind, subject, hour; 40 hours apart so that they never overlap
SELECT setseed(:seed / 1000.0 + 0.5);
CREATE TEMP TABLE incident AS
SELECT k.kind, k.pick[1 + floor(random() * array_length(k.pick, 1))::int] AS subject,
       k.via[1 + floor(random() * array_length(k.via, 1))::int] AS via,
       :'t0'::timestamptz - interval '7 days' + (k.n * 40 + floor(random() * 30)::int) * interval '1 hour' AS hour,
       NULL::numeric AS extra_usd
  FROM (VALUES
    (0, 'leak', '{chat-assistant,search-answer,doc-summarize,support-triage,code-review,support-reply}'::text[], '{-}'::text[]),
    (1, 'storm', '{chat-assistant,search-answer,doc-summarize,support-triage,code-review,support-reply}', '{-}'),
    (2, 'runaway', ARRAY(SELECT 'u' || lpad(x::text, 4, '0') FROM generate_series(100, 3000, 7) x),
        '{chat-assistant,doc-summarize,code-review,support-reply,sql-copilot}'),
    (3, 'fallback', '{search-answer,support-triage,email-draft,translation}', '{-}')) k(n, kind, pick, via);
-- storm and leak on different features
UPDATE incident SET subject = CASE WHEN subject = 'chat-assistant' THEN 'support-reply' ELSE 'chat-assistant' END
 WHERE kind = 'storm' AND subject = (SELECT subject FROM incident WHERE kind = 'leak');
CREATE TEMP TABLE cost_before AS
SELECT i.kind, coalesce(sum(e.cost_nusd), 0) AS nusd
  FROM incident i LEFT JOIN llmcost.events e
    ON e.event_time >= i.hour AND e.event_time < i.hour + interval '1 hour'
   AND (e.feature = i.subject OR (i.kind = 'runaway' AND e.user_id = i.subject))
 GROUP BY i.kind;

-- 1. a prompt change doubles the feature's context
UPDATE llmcost.events e SET input_tokens = e.input_tokens * 2
  FROM incident i
 WHERE i.kind = 'leak' AND e.feature = i.subject AND e.event_time >= i.hour AND e.event_time < i.hour + interval '1 hour';
-- 2. a 429 retry storm: every call tried 5 more times, each failure billed for its input
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, operation, input_tokens,
        latency_ms, error_class, attempt, first_request_id)
SELECT e.event_time + k * interval '2 seconds', e.request_id || '-retry' || k, e.user_id, e.feature, e.provider,
       e.model, e.operation, e.input_tokens, 900, 'rate_limit', (k + 1)::smallint, e.request_id
  FROM incident i JOIN llmcost.events e
    ON e.feature = i.subject AND e.event_time >= i.hour AND e.event_time < i.hour + interval '1 hour'
   AND e.cache_status = 'miss', generate_series(1, 5) k
 WHERE i.kind = 'storm';
-- 3. one user's runaway script: 400 calls of a feature in the hour
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, operation, input_tokens,
        cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms)
SELECT i.hour + n * interval '8 seconds', 'runaway-' || n, i.subject, e.feature, e.provider, e.model, e.operation,
       e.input_tokens, e.cached_read_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, e.latency_ms
  FROM incident i,
       LATERAL (SELECT x.*, row_number() OVER () AS n FROM llmcost.events x
                 WHERE x.feature = i.via AND x.error_class IS NULL AND x.cache_status = 'miss'
                   AND x.event_time < i.hour - interval '1 day' LIMIT 400) e
 WHERE i.kind = 'runaway';
-- 4. the cheap models fail and every call falls back to Claude Opus
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, operation, input_tokens,
        output_tokens, latency_ms, attempt, first_request_id)
SELECT e.event_time + interval '1 second', e.request_id || '-fallback', e.user_id, e.feature, 'anthropic',
       'claude-opus-4-1-20250805', e.operation, e.input_tokens, e.output_tokens, e.latency_ms * 3, 2::smallint, e.request_id
  FROM incident i JOIN llmcost.events e
    ON e.feature = i.subject AND e.event_time >= i.hour AND e.event_time < i.hour + interval '1 hour'
   AND e.cache_status = 'miss' AND e.error_class IS NULL AND e.attempt = 1
 WHERE i.kind = 'fallback';
UPDATE llmcost.events e SET error_class = 'server_error', input_tokens = 0, cached_read_tokens = 0,
       cache_write_tokens = 0, output_tokens = 0, reasoning_tokens = 0
  FROM incident i
 WHERE i.kind = 'fallback' AND e.feature = i.subject AND e.event_time >= i.hour
   AND e.event_time < i.hour + interval '1 hour' AND e.cache_status = 'miss' AND e.error_class IS NULL
   AND e.attempt = 1;
UPDATE incident i SET extra_usd = (
    SELECT llmcost.usd(coalesce(sum(e.cost_nusd), 0) - b.nusd)
      FROM llmcost.events e
     WHERE e.event_time >= i.hour AND e.event_time < i.hour + interval '1 hour'
       AND (e.feature = i.subject OR (i.kind = 'runaway' AND e.user_id = i.subject)))
  FROM cost_before b WHERE b.kind = i.kind;

SELECT hours_refreshed > 0 AS refreshed FROM llmcost.refresh_rollups();
SELECT sum(c.opened) AS opened
  FROM generate_series(:'t0'::timestamptz - interval '21 days' + interval '1 hour', :'t0'::timestamptz,
                       interval '1 hour') g,
       LATERAL llmcost.check_anomalies(g) c;

-- score: an alert is true when it names an incident's subject (or, for a
-- runaway, the feature its calls went to) within a day of its start
INSERT INTO llmcost_eval.alerts
SELECT :seed, a.rule, a.subject, a.window_end,
       EXISTS (SELECT FROM incident i
                WHERE a.subject IN (i.subject, CASE WHEN i.kind = 'runaway' THEN i.via END)
                  AND a.window_end > i.hour AND a.window_end <= i.hour + interval '25 hours')
  FROM llmcost.alerts a;
INSERT INTO llmcost_eval.incidents
SELECT :seed, i.kind, i.subject, i.extra_usd,
       EXISTS (SELECT FROM llmcost.alerts a
                WHERE a.subject = i.subject AND a.window_end = i.hour + interval '1 hour'
                  AND a.rule = CASE i.kind WHEN 'leak' THEN 'feature_leak' WHEN 'runaway' THEN 'user_runaway'
                                           ELSE 'feature_band' END),
       EXISTS (SELECT FROM llmcost.alerts a
                WHERE a.subject = i.subject AND a.window_end = i.hour + interval '1 hour')
  FROM incident i;
