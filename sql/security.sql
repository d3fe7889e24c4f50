-- Hijack test: a non-superuser pre-plants functions and operators named like
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
-- the ones llmcost calls, before CREATE EXTENSION, and they are never called,
-- neither at install nor at run time under a hostile search_path.
SET client_min_messages = warning;
DROP EXTENSION llmcost CASCADE;
RESET client_min_messages;
CREATE ROLE llmcost_hostile LOGIN;
GRANT CREATE ON SCHEMA public TO llmcost_hostile;
CREATE TABLE public.trojan_calls (what text);
GRANT INSERT ON public.trojan_calls TO PUBLIC;

SET ROLE llmcost_hostile;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('lower') RETURNING 'evil' $$;
CREATE FUNCTION public.length(text) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('length') RETURNING 1 $$;
CREATE FUNCTION public.scale(numeric) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('scale') RETURNING 0 $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('now') RETURNING 'epoch'::timestamptz $$;
CREATE FUNCTION public.hashtext(text) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('hashtext') RETURNING 1 $$;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('to_regclass') RETURNING NULL::regclass $$;
CREATE FUNCTION public.to_char(date, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('to_char') RETURNING 'evil' $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('jsonb_typeof') RETURNING 'number' $$;
CREATE FUNCTION public.round(numeric, integer) RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('round') RETURNING 0::numeric $$;
CREATE FUNCTION public.replace(text, text, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('replace') RETURNING 'evil' $$;
CREATE FUNCTION public.count(bigint) RETURNS bigint LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('count') RETURNING 0::bigint $$;
CREATE FUNCTION public.evil_text_eq(text, text) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('=') RETURNING true $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_text_eq);
CREATE FUNCTION public.evil_int_plus(integer, integer) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('+') RETURNING 0 $$;
CREATE OPERATOR public.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.evil_int_plus);
CREATE FUNCTION public.evil_bigint_plus(bigint, bigint) RETURNS bigint LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('+8') RETURNING 0::bigint $$;
CREATE OPERATOR public.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.evil_bigint_plus);
CREATE FUNCTION public.evil_num_mul(numeric, numeric) RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('*') RETURNING 0::numeric $$;
CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = public.evil_num_mul);
CREATE FUNCTION public.evil_num_ge(numeric, numeric) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('>=') RETURNING true $$;
CREATE OPERATOR public.>= (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = public.evil_num_ge);
CREATE FUNCTION public.evil_ts_lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('<') RETURNING false $$;
CREATE OPERATOR public.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.evil_ts_lt);
CREATE FUNCTION public.evil_ts_plus(timestamptz, interval) RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('ts+') RETURNING $1 $$;
CREATE OPERATOR public.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = public.evil_ts_plus);
CREATE FUNCTION public.evil_concat(text, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('||') RETURNING 'evil' $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_concat);
CREATE FUNCTION public.ln(double precision) RETURNS double precision LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('ln') RETURNING 0::float8 $$;
CREATE FUNCTION public.sqrt(double precision) RETURNS double precision LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('sqrt') RETURNING 1::float8 $$;
CREATE FUNCTION public.abs(numeric) RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('abs') RETURNING 0::numeric $$;
CREATE FUNCTION public.date_trunc(text, timestamptz, text) RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('date_trunc') RETURNING $2 $$;
CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('pg_notify') $$;
CREATE FUNCTION public.left(text, integer) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('left') RETURNING 'evil' $$;
-- what the weekly review and the invoice view call
CREATE FUNCTION public.to_char(timestamp, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('to_char(ts)') RETURNING 'evil' $$;
CREATE FUNCTION public.to_char(numeric, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('to_char(num)') RETURNING 'evil' $$;
CREATE FUNCTION public.regexp_replace(text, text, text, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('regexp_replace') RETURNING 'evil' $$;
CREATE FUNCTION public.jsonb_array_length(jsonb) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('jsonb_array_length') RETURNING 0 $$;
CREATE FUNCTION public.power(numeric, numeric) RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('power') RETURNING 1::numeric $$;
CREATE FUNCTION public.trim_scale(numeric) RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('trim_scale') RETURNING 1::numeric $$;
CREATE FUNCTION public.cardinality(anyarray) RETURNS integer LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('cardinality') RETURNING 0 $$;
CREATE FUNCTION public.evil_jsonb_text(jsonb, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.trojan_calls VALUES ('->>') RETURNING '1' $$;
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.evil_jsonb_text);
RESET ROLE;

-- install with the hostile schema first in the path
SET search_path = public, pg_catalog;
CREATE EXTENSION llmcost;
SELECT count(*) AS trojan_calls_at_install FROM public.trojan_calls;

-- run everything llmcost offers under the same path
SELECT llmcost.create_partitions('2026-02-01', '2026-02-03');
SELECT llmcost.set_rate('hijack-model', '2026-01-01', input_per_mtok => 1, output_per_mtok => 2);
INSERT INTO llmcost.model_aliases VALUES ('hijack-alias', 'gpt-4o', NULL);
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, cached_read_tokens, output_tokens)
VALUES ('2026-02-01 10:00+00', 'h1', 'f', 'openai', 'gpt-4o', 1000, 500, 100),
       ('2026-02-01 10:00+00', 'h2', 'f', 'x', 'hijack-model', 1000, 0, 100),
       ('2026-02-01 10:00+00', 'h3', 'f', 'x', 'hijack-alias', 1000, 0, 100),
       ('2026-02-01 10:00+00', 'h4', 'f', 'x', 'unknown-model', 1000, 0, 100),
       ('2026-02-05 10:00+00', 'h5', 'f', 'openai', 'gpt-4o', 1000, 0, 100);
SELECT llmcost.create_partitions('2026-02-05', '2026-02-05');
SELECT llmcost.set_rate('unknown-model', '2026-01-01', input_per_mtok => 1, output_per_mtok => 2);
CALL llmcost.reprice('2026-02-01', '2026-02-03');
SELECT * FROM llmcost.load_litellm_prices('{"hj": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "input_cost_per_token_above_200k_tokens": 2e-06, "input_cost_per_token_batches": 5e-07}}');
SELECT * FROM llmcost.load_langfuse_prices('[{"modelName": "hj2", "pricingTiers": [{"isDefault": true, "prices": {"input": 1e-06, "output": 2e-06}}]}]');
SELECT count(*) FROM llmcost.unpriced;
SELECT count(*) FROM llmcost.current_rates;
SELECT llmcost.price('openai', 'gpt-4o', '2026-02-01', 1000, 100), llmcost.inclusive_input_tokens(1, 2, 3),
       llmcost.usd(1234567890), llmcost.partition_name('2026-02-01');
UPDATE llmcost.settings SET retention_days = 3650;  -- keep this test's old events
SELECT hours_refreshed >= 0 AS refreshed FROM llmcost.refresh_rollups();
SELECT ran FROM llmcost.run_maintenance();
SELECT dropped >= 0 AS retention_ran FROM llmcost.drop_expired_partitions();
SELECT count(*) >= 0 FROM llmcost.cost_trend;
SELECT count(*) >= 0 FROM llmcost.cost_trend_hourly;
SELECT count(*) >= 0 FROM llmcost.top_features;
SELECT count(*) >= 0 FROM llmcost.top_users;
SELECT count(*) >= 0 FROM llmcost.cache_savings;
SELECT count(*) >= 0 FROM llmcost.error_costs;
SELECT users >= 0 FROM llmcost.user_cost_distribution;
CREATE TEMP TABLE staging_h (event_time timestamptz, request_id text, feature text, provider text, model text);
INSERT INTO staging_h VALUES ('2026-02-01 11:00+00', 'h6', 'f', 'openai', 'gpt-4o'), ('2026-02-01 11:00+00', 'h7', '', 'openai', 'gpt-4o');
SELECT * FROM llmcost.ingest('staging_h');
SELECT llmcost.stats_mean(llmcost.stats_agg(cost_nusd)), llmcost.sketch_quantile(llmcost.sketch_agg(cost_nusd), 0.5)
  FROM llmcost.events;
-- the anomaly rules, on a feature whose last hour is far above its band
INSERT INTO llmcost.rollup_hourly_feature (hour, feature, calls, error_calls, retry_calls,
                                           input_tokens, output_tokens, cost_nusd, retry_cost_nusd)
SELECT '2020-01-01 00:00+00'::timestamptz OPERATOR(pg_catalog.+) pg_catalog.make_interval(hours => g),
       'hj', 10, 0, 0, 1000, 100,
       CASE WHEN g OPERATOR(pg_catalog.=) 200 THEN 10000000000 ELSE 1000000000 END, 0
  FROM pg_catalog.generate_series(0, 200) g;
SELECT pg_catalog.count(*) AS findings FROM llmcost.find_anomalies('2020-01-09 09:00+00');
SELECT * FROM llmcost.check_anomalies('2020-01-09 09:00+00');
SELECT status FROM llmcost.acknowledge_alert((SELECT pg_catalog.min(alert_id) FROM llmcost.alerts));
SELECT * FROM llmcost.check_anomalies('2020-01-09 10:00+00');
SELECT subject, status FROM llmcost.alerts;
SELECT pg_catalog.count(*) FROM llmcost.open_alerts;
SELECT llmcost.format_usd(-1234.5), llmcost.format_usd(0.5);
-- the weekly review and the invoice gap
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount) VALUES ('openai', '2026-02-01', '2026-02-08', 1);
SELECT provider, status FROM llmcost.invoice_reconciliation;
SELECT pg_catalog.length(llmcost.weekly_review_html('2026-02-02')) > 1000 AS html,
       pg_catalog.length(llmcost.weekly_review_markdown('2026-02-02')) > 100 AS markdown,
       llmcost.weekly_review_data('2026-02-02') OPERATOR(pg_catalog.->) 'summary' OPERATOR(pg_catalog.->>) 'calls' AS calls,
       llmcost.review_format(1234.5, 'usd') AS usd, llmcost.html_escape('<b>') AS escaped;
SELECT pg_catalog.count(*) AS trojan_calls_at_run_time FROM public.trojan_calls;
-- and the costs are right
SELECT request_id, cost_nusd FROM llmcost.events ORDER BY request_id;
RESET search_path;

DROP TABLE public.trojan_calls;
DROP OWNED BY llmcost_hostile;
DROP ROLE llmcost_hostile;
