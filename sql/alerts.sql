-- Anomaly rules and alerts on generated traffic: 30 days of stationary,
-- heavy-tailed calls (the demo generator: 20 features, 10,000 power-law
-- users, about 300 calls an hour), checked hour by hour for false alerts;
-- then four incidents injected into one hour, each of which must be named
-- by the right rule within that hour.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET client_min_messages = warning;

-- an empty store; t0 is a UTC midnight, so that UTC days (the runaway
-- baseline) fall the same way in every run
TRUNCATE llmcost.events, llmcost.rollup_hourly, llmcost.rollup_daily_feature,
         llmcost.rollup_daily_user, llmcost.rollup_hourly_feature, llmcost.alerts;
UPDATE llmcost.rollup_state SET watermark = '-infinity';
SELECT date_trunc('day', now(), 'UTC') - interval '1 day' AS t0 \gset
SELECT llmcost.create_partitions(:'t0'::timestamptz - interval '31 days', :'t0'::timestamptz + interval '2 days') >= 0 AS partitions;
\set ECHO none
\i test/demo/generator.sql
\set ECHO all
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM llmcost_demo.generate(216000, 30, :'t0', 0.42);
SELECT hours_refreshed >= 1 AS refreshed FROM llmcost.refresh_rollups();

-- False alerts: every hour of the last 22 days checked as pg_cron would.
SELECT sum(c.opened) AS opened, sum(c.resolved) AS resolved
  FROM generate_series(:'t0'::timestamptz - interval '22 days' + interval '1 hour', :'t0'::timestamptz,
                       interval '1 hour') g,
       LATERAL llmcost.check_anomalies(g) c;
SELECT rule, count(*) AS alerts FROM llmcost.alerts GROUP BY rule ORDER BY rule;
-- the targets: at most 1 per 10 feature-weeks (rule 1), 1 per 1,000 user-weeks (rule 2)
WITH weeks AS (
    SELECT count(DISTINCT feature) * 22 / 7.0 AS feature_weeks,
           (SELECT count(DISTINCT (user_id, floor(extract(epoch FROM :'t0'::timestamptz - event_time) / 604800)))
              FROM llmcost.events WHERE event_time >= :'t0'::timestamptz - interval '21 days') AS user_weeks
      FROM llmcost.events WHERE event_time >= :'t0'::timestamptz - interval '22 days')
SELECT round(feature_weeks, 1) AS feature_weeks, user_weeks,
       (SELECT count(*) FROM llmcost.alerts WHERE rule = 'feature_band') <= feature_weeks / 10 AS band_within_target,
       (SELECT count(*) FROM llmcost.alerts WHERE rule = 'user_runaway') <= user_weeks / 1000.0 AS runaway_within_target
  FROM weeks;
-- a bare 3-sigma hourly rule over the same hours (the moving-window form of
-- llmcost.stats_agg, hours without calls as zero) would fire far more often
WITH dense AS (
    SELECT f.feature, g.hour, coalesce(r.cost_nusd, 0) AS cost_nusd
      FROM (SELECT DISTINCT feature FROM llmcost.rollup_hourly_feature) f
     CROSS JOIN generate_series(:'t0'::timestamptz - interval '30 days', :'t0'::timestamptz - interval '1 hour',
                                interval '1 hour') g(hour)
      LEFT JOIN llmcost.rollup_hourly_feature r ON r.feature = f.feature AND r.hour = g.hour),
banded AS (
    SELECT d.*, llmcost.stats_agg(d.cost_nusd) OVER (PARTITION BY d.feature ORDER BY d.hour
                                                     ROWS BETWEEN 168 PRECEDING AND 1 PRECEDING) AS band
      FROM dense d)
SELECT count(*) AS bare_3_sigma_hours
  FROM banded
 WHERE hour >= :'t0'::timestamptz - interval '22 days'
   AND llmcost.is_anomaly(cost_nusd / 1e9, band, 3);
-- whatever is still live has cleared by now: start the incidents clean
UPDATE llmcost.alerts SET status = 'resolved', cleared_at = :'t0', resolved_at = now() WHERE status <> 'resolved';

-- The incident hour [t0, t0 + 1 hour): ordinary traffic, plus
--  1. chat-assistant: a prompt change doubles its context;
--  2. support-reply: a 429 retry storm, every request tried 5 more times,
--     each failed attempt billed for its input;
--  3. user u0400: a runaway script, 400 doc-summarize calls;
--  4. search-answer: its cheap models fail and fall back to Claude Opus.
CREATE TEMP TABLE hour0 AS
SELECT * FROM llmcost_demo.generate(7200, 1, :'t0'::timestamptz + interval '1 day', 0.77)
 WHERE event_time < :'t0'::timestamptz + interval '1 hour';
UPDATE hour0 SET input_tokens = input_tokens * 2, request_id = request_id || '-h0' WHERE feature = 'chat-assistant';
UPDATE hour0 SET request_id = request_id || '-h0' WHERE feature <> 'chat-assistant';
INSERT INTO hour0
SELECT h.event_time + k * interval '2 seconds', h.request_id || '-retry' || k, h.trace_id, h.span_id, h.user_id,
       h.feature, h.provider, h.model, h.operation, h.input_tokens, 0, 0, 0, 0, 900, 'rate_limit', 'miss',
       false, (k + 1)::smallint, h.request_id, NULL, NULL
  FROM hour0 h, generate_series(1, 5) k
 WHERE h.feature = 'support-reply' AND h.cache_status = 'miss';
INSERT INTO hour0
SELECT :'t0'::timestamptz + n * interval '8 seconds', 'runaway-' || n, NULL, NULL, 'u0400',
       g.feature, g.provider, g.model, g.operation, g.input_tokens, g.cached_read_tokens, g.cache_write_tokens,
       g.output_tokens, g.reasoning_tokens, g.latency_ms, NULL, 'miss', false, 1::smallint, NULL, NULL, NULL
  FROM (SELECT *, row_number() OVER (ORDER BY request_id) AS n
          FROM llmcost_demo.generate(40000, 1, :'t0'::timestamptz + interval '1 day', 0.5)
         WHERE feature = 'doc-summarize' AND error_class IS NULL AND cache_status = 'miss') g
 WHERE g.n <= 400;
-- the fallback: the first attempt fails without usage, the second goes to Opus
INSERT INTO hour0
SELECT h.event_time + interval '1 second', h.request_id || '-fallback', h.trace_id, h.span_id, h.user_id,
       h.feature, 'anthropic', 'claude-opus-4-1-20250805', h.operation, h.input_tokens, 0, 0,
       h.output_tokens, 0, h.latency_ms * 3, NULL, 'miss', false, 2::smallint, h.request_id, NULL, NULL
  FROM hour0 h
 WHERE h.feature = 'search-answer' AND h.cache_status = 'miss' AND h.error_class IS NULL;
UPDATE hour0 SET error_class = 'server_error', input_tokens = 0, cached_read_tokens = 0, output_tokens = 0
 WHERE feature = 'search-answer' AND cache_status = 'miss' AND error_class IS NULL AND attempt = 1;
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM hour0;
SELECT hours_refreshed >= 1 AS refreshed FROM llmcost.refresh_rollups();

-- what the rules see, read-only, then the check that raises the alerts
SELECT rule, subject, severity FROM llmcost.find_anomalies(:'t0'::timestamptz + interval '1 hour') ORDER BY rule, subject;
SELECT * FROM llmcost.check_anomalies(:'t0'::timestamptz + interval '1 hour');
SELECT rule, subject, severity, window_end = :'t0'::timestamptz + interval '1 hour' AS raised_for_the_hour, unit,
       details->>'top_model' AS top_model, details->>'top_user' AS top_user,
       details->>'top_error_class' AS top_error, details->>'cause' AS cause
  FROM llmcost.alerts WHERE status = 'open' ORDER BY rule, subject;
-- the messages say why
SELECT rule, subject, regexp_replace(message, '\d{4}-\d\d-\d\d \d\d:\d\d UTC', '<t>', 'g') AS message
  FROM llmcost.alerts
 WHERE status = 'open' AND (rule, subject) IN (('feature_leak', 'chat-assistant'), ('feature_band', 'support-reply'),
                                               ('user_runaway', 'u0400'), ('feature_band', 'search-answer'))
 ORDER BY rule, subject;

-- re-running the check never duplicates
SELECT * FROM llmcost.check_anomalies(:'t0'::timestamptz + interval '1 hour');
SELECT count(*) AS live_alerts FROM llmcost.open_alerts;

-- an ordinary next hour: the feature alerts clear, the runaway (a 24-hour
-- window) stays live; acknowledging does not stop it from resolving later
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM llmcost_demo.generate(7200, 1, :'t0'::timestamptz + interval '1 day 1 hour', 0.78)
 WHERE event_time >= :'t0'::timestamptz + interval '1 hour' AND event_time < :'t0'::timestamptz + interval '2 hours';
SELECT hours_refreshed >= 1 AS refreshed FROM llmcost.refresh_rollups();
SELECT * FROM llmcost.check_anomalies(:'t0'::timestamptz + interval '2 hours');
SELECT rule, subject, status, extract(epoch FROM cleared_at - :'t0'::timestamptz) / 3600 AS cleared_after_hours
  FROM llmcost.alerts WHERE window_end > :'t0'::timestamptz ORDER BY rule, subject;
SELECT status, acknowledged_by = session_user AS by_me
  FROM llmcost.acknowledge_alert((SELECT alert_id FROM llmcost.open_alerts WHERE subject = 'u0400'));
SELECT llmcost.acknowledge_alert(-1);
-- a re-run of the incident hour after it cleared opens nothing new
SELECT * FROM llmcost.check_anomalies(:'t0'::timestamptz + interval '1 hour');

-- settings: per database and per feature
INSERT INTO llmcost.feature_alert_settings (feature, enabled) VALUES ('search-answer', false);
INSERT INTO llmcost.feature_alert_settings (feature, band_min_excess_usd) VALUES ('support-reply', 1000);
UPDATE llmcost.settings SET runaway_floor_usd = 1000;
SELECT rule, subject FROM llmcost.find_anomalies(:'t0'::timestamptz + interval '1 hour')
 WHERE subject IN ('search-answer', 'support-reply', 'u0400') ORDER BY 1, 2;
UPDATE llmcost.settings SET runaway_floor_usd = DEFAULT;
DELETE FROM llmcost.feature_alert_settings;
\set VERBOSITY terse
UPDATE llmcost.settings SET band_k = 0;
UPDATE llmcost.settings SET leak_factor = 1;
INSERT INTO llmcost.feature_alert_settings (feature, band_k) VALUES ('x', -1);
\set VERBOSITY default

-- a store younger than the baselines judges nobody (two days in: no
-- feature has 72 hours of history, no user 7 days); an empty one neither
SELECT count(*) AS findings FROM llmcost.find_anomalies(:'t0'::timestamptz - interval '28 days');
SELECT count(*) AS findings FROM llmcost.find_anomalies('2000-01-01');
RESET client_min_messages;
