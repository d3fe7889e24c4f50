-- Fuzzing every llmcost function that takes text or json: :n inputs each
-- (psql variable), derived from valid seeds by random mutations or made at
-- random, each call in a subtransaction that is rolled back afterwards (so
-- loaders and ingest leave nothing behind).  Counts, per call, the errors
-- by SQLSTATE class and the outputs that break the function's promise.
-- Included by sql/fuzz_functions.sql (a few thousand inputs, in the suite)
-- and test/bench/fuzz_functions.sh (100,000 each).  Needs test/fuzz_inputs.sql.

-- a random string: code points of every kind (controls, quotes, markup,
-- backslashes, astral planes; never NUL or surrogates), sometimes very long
CREATE FUNCTION pg_temp.random_text() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    len int := CASE WHEN random() < 0.02 THEN 2000 + floor(random() * 100000)::int ELSE floor(random() * 40)::int END;
    special text := '<>&"''\/{}[]:,-+.0123456789eE%_*$#@!?;|`~ ' || chr(9) || chr(10) || chr(13) || chr(127);
BEGIN
    IF len > 1000 THEN
        RETURN repeat(substr(special, 1 + floor(random() * length(special))::int, 1), len);
    END IF;
    RETURN (SELECT coalesce(string_agg(
                CASE floor(random() * 4)::int
                    WHEN 0 THEN substr(special, 1 + floor(random() * length(special))::int, 1)
                    WHEN 1 THEN chr(1 + floor(random() * 126)::int)
                    WHEN 2 THEN chr(160 + floor(random() * 55000)::int)
                    ELSE chr(65536 + floor(random() * 1000000)::int) END, ''), '')
              FROM generate_series(1, len));
END $$;

-- one input for a target: a seed mutated one to three times, a random
-- string, or the seed itself
CREATE FUNCTION pg_temp.fuzz_input(seeds text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s text := seeds[1 + floor(random() * cardinality(seeds))::int];
BEGIN
    CASE floor(random() * 10)::int
        WHEN 0 THEN RETURN pg_temp.random_text();
        WHEN 1 THEN RETURN s;
        ELSE
            FOR i IN 1 .. 1 + floor(random() * 3)::int LOOP
                s := pg_temp.mutate_text(s);
            END LOOP;
            RETURN s;
    END CASE;
END $$;

-- what each function is called with: $1 is the fuzzed text; check, when
-- set, is a condition on the result r that must hold
CREATE TEMP TABLE fuzz_targets (fn text, call text, seeds text[], check_result text, cast_to text);
INSERT INTO fuzz_targets VALUES
    ('ingest_otlp(text)', 'llmcost.ingest_otlp($1)', NULL, NULL),
    ('ingest_otlp(json)', 'llmcost.ingest_otlp($1::json)', NULL, NULL),
    ('ingest_otlp(jsonb)', 'llmcost.ingest_otlp($1::jsonb)', NULL, NULL),
    ('otlp_spans(body)', 'llmcost.otlp_spans($1::jsonb, ARRAY[''user.id''], ARRAY[''feature''], ''default'')', NULL, NULL),
    ('otlp_spans(keys)', 'llmcost.otlp_spans((SELECT b::jsonb FROM otlp_seeds LIMIT 1), ARRAY[$1], ARRAY[$1, ''x''], $1)',
     ARRAY['user.id', 'traceloop.association.properties.user_id', 'service.name', ''], NULL),
    ('load_litellm_prices', 'llmcost.load_litellm_prices($1::jsonb, ''2026-01-01'')', ARRAY[
        '{"fz-model": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "cache_read_input_token_cost": 5e-07, "input_cost_per_token_above_200k_tokens": 2e-06, "input_cost_per_token_batches": 5e-07, "mode": "chat"}}',
        '{"a/b": {"input_cost_per_token": 0.0000025, "output_cost_per_token": 0.00001}, "sample_spec": {"input_cost_per_token": 0}}'], NULL),
    ('load_litellm_prices(providers)', 'llmcost.load_litellm_prices(''{"fz": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}'', ''2026-01-01'', ARRAY[$1])',
     ARRAY['openai', 'anthropic', ''], NULL),
    ('load_langfuse_prices', 'llmcost.load_langfuse_prices($1::jsonb, ''2026-01-01'')', ARRAY[
        '[{"modelName": "fz", "matchPattern": "(?i)^(openai/)?(fz)$", "pricingTiers": [{"isDefault": true, "prices": {"input": 1e-06, "output": 2e-06, "input_cached_tokens": 5e-07}}]}]',
        '[{"modelName": "fz2", "pricingTiers": [{"isDefault": false, "conditions": [{"usageDetailPattern": "input", "operator": "gt", "value": 200000}], "prices": {"input": 2e-06}}, {"isDefault": true, "prices": {"input": 1e-06, "output": 2e-06}}]}]'], NULL),
    ('per_mtok', 'llmcost.per_mtok($1::jsonb)', ARRAY['1e-06', '0.0000025', '"3e-07"', '0', '1'], NULL),
    ('price(provider)', 'llmcost.price($1, ''gpt-4o'', ''2026-06-01'', 1000, 100)', ARRAY['openai', 'OpenAI', 'azure', ''], NULL),
    ('price(model)', 'llmcost.price(''openai'', $1, ''2026-06-01'', 1000, 100)', ARRAY['gpt-4o', 'gpt-4o-mini-2024-07-18', 'openai/gpt-4o', 'claude-sonnet-4-5'], NULL),
    ('event_cost_nusd(provider, model)', 'llmcost.event_cost_nusd(''2026-06-01'', $1, $1, 1000, 0, 0, 100, 0, NULL, ''miss'', false, ''f'')', ARRAY['openai', 'gpt-4o'], NULL),
    ('event_cost_nusd(cache_status, feature)', 'llmcost.event_cost_nusd(''2026-06-01'', ''openai'', ''gpt-4o'', 1000, 0, 0, 100, 0, 10, $1, false, $1)', ARRAY['miss', 'exact_hit', 'semantic_hit', ''], NULL),
    ('event_rate_id', 'llmcost.event_rate_id(''2026-06-01'', ''openai'', $1)', ARRAY['gpt-4o', 'gpt-4o-2024-08-06'], NULL),
    ('resolve_model', 'llmcost.resolve_model($1, $1)', ARRAY['openai', 'gpt-4o', 'models/gemini-2.5-pro'], NULL),
    ('set_rate(model)', 'llmcost.set_rate($1, ''2026-01-01'', 1, 2)', ARRAY['fz-model', 'gpt-4o'], NULL),
    ('set_rate(provider, source)', 'llmcost.set_rate(''fz-model'', ''2026-01-01'', 1, 2, provider => $1, source => $1)', ARRAY['openai', 'manual'], NULL),
    ('create_partition', 'llmcost.create_partition($1, ''2031-01-01'', ''2031-01-02'')', ARRAY['events_p20310101', 'events_fz'], NULL),
    ('quota_of', 'llmcost.quota_of($1)', ARRAY['u1', 'ann', ''], NULL),
    ('quota_used_nusd', 'llmcost.quota_used_nusd($1, $1)', ARRAY['day', 'month', 'rolling', 'u1'], NULL),
    ('admit(user_id)', 'llmcost.admit($1, 0.01)', ARRAY['u1', 'ann'], NULL),
    ('admit(request_id)', 'llmcost.admit(''u1'', 0.01, $1)', ARRAY['req-1', ''], NULL),
    ('raise_quota_alert', 'llmcost.raise_quota_alert($1, 1, $1, 0.9)', ARRAY['u1', 'day'], NULL),
    ('feature_hour_causes', 'llmcost.feature_hour_causes($1, ''2026-06-01'')', ARRAY['feature-1', ''], NULL),
    ('rebuild_user_window', 'llmcost.rebuild_user_window(''2026-06-01'', ARRAY[$1])', ARRAY['u1', ''], NULL),
    ('html_escape', 'llmcost.html_escape($1)', ARRAY['<script>alert(1)</script>', 'a & b "c" ''d'''],
     'r !~ ''[<>"'''']'' AND regexp_replace(r, ''&(amp|lt|gt|quot|#39);'', '''', ''g'') !~ ''&'''),
    ('markdown_escape', 'llmcost.markdown_escape($1)', ARRAY['*bold* _x_ [l](u) `c` | pipe', '<b>'],
     'regexp_replace(r, ''\\.'', '''', ''g'') !~ ''[\\`*_|<>\[\]#\r\n]'''),
    ('review_format', 'llmcost.review_format(1234.5, $1)', ARRAY['usd', 'usd_small', 'pct', 'change', 'int'], NULL),
    ('review_value', 'llmcost.review_value($1::jsonb, ''a'', ''usd'')', ARRAY['{"a": 1.5}', '{"a": null}', '{"a": "x"}'], NULL),
    ('review_value(key, kind)', 'llmcost.review_value(''{"a": 2}'', $1, $1)', ARRAY['a', 'usd', 'pct'], NULL),
    ('svg_columns', 'llmcost.svg_columns($1, $1, ARRAY[$1, ''b''], ARRAY[1, 2], ARRAY[2, 1], $1, ARRAY[$1, $1])',
     ARRAY['cost-trend', 'usd', '<script>'], 'r !~* ''<script|onerror|javascript:'''),
    ('svg_bars', 'llmcost.svg_bars($1, $1, ARRAY[$1], ARRAY[3], NULL, $1)', ARRAY['top', 'usd', '"><script>'],
     'r !~* ''<script|onerror|javascript:'''),
    ('html_row', 'llmcost.html_row(ARRAY[$1, ''2''], 1, $1)', ARRAY['cell', '<td>'], 'r !~* ''<script|onerror'''),
    ('html_table', 'llmcost.html_table($1, ARRAY[$1], 1, ARRAY[$1], $1)', ARRAY['t', '<tr>'], 'r !~* ''<script|onerror'''),
    ('html_kpi', 'llmcost.html_kpi($1, $1, $1, $1)', ARRAY['Cost', '$1.00', 'up'], 'r !~* ''<script|onerror''');
-- pg_cron's job schedules, where pg_cron is installed in this database
INSERT INTO fuzz_targets
SELECT 'schedule_jobs', 'llmcost.schedule_jobs($1, $1)', ARRAY['*/5 * * * *', '7 * * * *', '@daily', '1 seconds'], NULL
 WHERE EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron');
-- the OTLP seeds: an OpenLLMetry body (workflow parent repeating its
-- child's usage, deprecated names, ints as strings and numbers, an error)
-- and a current gen_ai.* body with cache reads
CREATE TEMP TABLE otlp_seeds (b text);
INSERT INTO otlp_seeds VALUES
    ('{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "chat-api"}}]}, "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.40.0"}, "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "workflow", "startTimeUnixNano": "1780000000000000000", "endTimeUnixNano": "1780000003000000000", "attributes": [{"key": "traceloop.span.kind", "value": {"stringValue": "workflow"}}, {"key": "traceloop.workflow.name", "value": {"stringValue": "rag-answer"}}, {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": 900}}]}, {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174", "name": "openai.chat", "startTimeUnixNano": "1780000000100000000", "endTimeUnixNano": "1780000002900000000", "status": {"code": 2, "message": "rate limited"}, "attributes": [{"key": "gen_ai.system", "value": {"stringValue": "openai"}}, {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}, {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "900"}}, {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": 100}}, {"key": "traceloop.association.properties.user_id", "value": {"intValue": 42}}, {"key": "error.type", "value": {"stringValue": "rate_limit"}}]}]}]}]}'),
    ('{"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "anthropic"}, "spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat claude-sonnet-4-5", "kind": 3, "startTimeUnixNano": "1780000000000000000", "endTimeUnixNano": "1780000001000000000", "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}, {"key": "gen_ai.provider.name", "value": {"stringValue": "anthropic"}}, {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4-5"}}, {"key": "gen_ai.response.model", "value": {"stringValue": "claude-sonnet-4-5-20250929"}}, {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12000"}}, {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 800}}, {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "10000"}}, {"key": "user.id", "value": {"stringValue": "ann"}}, {"key": "feature", "value": {"stringValue": "search"}}, {"key": "gen_ai.response.id", "value": {"stringValue": "msg_01"}}]}]}]}]}');
UPDATE fuzz_targets SET seeds = (SELECT array_agg(b) FROM otlp_seeds) WHERE seeds IS NULL;
-- json and jsonb arguments: an input PostgreSQL's own json input refuses
-- never reaches the function; it is counted apart and another one is drawn
UPDATE fuzz_targets SET cast_to = substring(call FROM '\$1::(jsonb|json)\M');

-- psql variable only (a regular expression): fuzz just the targets it matches
\if :{?only}
DELETE FROM fuzz_targets WHERE fn !~ :'only';
\endif

CREATE TEMP TABLE fuzz_results (fn text, calls int, ok int, sqlstate_class text, sqlstate text, errors int,
                                broken int, example text, not_json int);
CREATE FUNCTION pg_temp.fuzz_all(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t record;
    input text;
    r text;
    ok int;
    broken int;
    errs jsonb;
    example jsonb;
    state text;
    reached int;
    not_json int;
BEGIN
    FOR t IN SELECT * FROM fuzz_targets ORDER BY fn LOOP
        ok := 0; broken := 0; errs := '{}'; example := '{}'; reached := 0; not_json := 0;
        WHILE reached < n AND not_json < 20 * n LOOP
            input := CASE WHEN random() < 0.005 THEN NULL ELSE pg_temp.fuzz_input(t.seeds) END;
            IF t.cast_to IS NOT NULL AND input IS NOT NULL THEN
                BEGIN
                    EXECUTE format('SELECT $1::%s', t.cast_to) USING input;
                EXCEPTION WHEN OTHERS THEN
                    not_json := not_json + 1;
                    CONTINUE;
                END;
            END IF;
            reached := reached + 1;
            BEGIN
                EXECUTE format('SELECT (%s)::text', t.call) INTO r USING input;
                IF t.check_result IS NOT NULL AND r IS NOT NULL THEN
                    EXECUTE format('SELECT NOT (%s) FROM (SELECT $1 AS r) x', t.check_result) INTO state USING r;
                    IF state::boolean THEN
                        broken := broken + 1;
                        example := example || jsonb_build_object('broken', left(input, 200));
                    END IF;
                END IF;
                ok := ok + 1;
                -- undo what the call wrote (loaders, ingest, partitions, alerts)
                RAISE EXCEPTION USING ERRCODE = 'LCFZ0';
            EXCEPTION
                WHEN SQLSTATE 'LCFZ0' THEN NULL;
                WHEN OTHERS THEN
                    errs := jsonb_set(errs, ARRAY[SQLSTATE], to_jsonb(coalesce((errs ->> SQLSTATE)::int, 0) + 1));
                    IF NOT example ? SQLSTATE THEN
                        example := example || jsonb_build_object(SQLSTATE, left(SQLERRM, 160) || ' <- ' || left(coalesce(input, 'NULL'), 80));
                    END IF;
            END;
        END LOOP;
        INSERT INTO fuzz_results
        SELECT t.fn, reached, ok, left(e.key, 2), e.key, e.value::int, broken, example ->> e.key, not_json
          FROM jsonb_each_text(errs) e;
        INSERT INTO fuzz_results
        SELECT t.fn, reached, ok, NULL, NULL, 0, broken, example ->> 'broken', not_json WHERE errs = '{}';
    END LOOP;
END $$;
SELECT pg_temp.fuzz_all(:n);
