-- OpenTelemetry GenAI spans into events: every attribute dialect, parents
-- with and without repeated usage, nested spans of one call, duplicates,
-- errors, embeddings, ints as strings and numbers, and malformed bodies.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
TRUNCATE llmcost.events, llmcost.otlp_model_calls, llmcost.rejected_spans;

-- test helpers: an attribute, a span, a body
CREATE FUNCTION pg_temp.a(key text, value jsonb) RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object('key', key, 'value',
    CASE jsonb_typeof(value) WHEN 'string' THEN jsonb_build_object('stringValue', value)
                             WHEN 'boolean' THEN jsonb_build_object('boolValue', value)
                             ELSE jsonb_build_object('intValue', value) END);
CREATE FUNCTION pg_temp.span(trace text, span text, parent text, start_s int, attrs jsonb[],
                             status jsonb DEFAULT NULL) RETURNS jsonb LANGUAGE sql
RETURN jsonb_strip_nulls(jsonb_build_object(
    'traceId', trace, 'spanId', span, 'parentSpanId', parent, 'name', 'span',
    'startTimeUnixNano', ((1764000000 + start_s)::numeric * 1000000000)::text,
    'endTimeUnixNano', ((1764000000 + start_s)::numeric * 1000000000 + 1250000000)::text,
    'attributes', to_jsonb(attrs), 'status', status));
CREATE FUNCTION pg_temp.body(spans jsonb[], resource jsonb[] DEFAULT '{}', scope text DEFAULT 'test') RETURNS jsonb
LANGUAGE sql RETURN jsonb_build_object('resourceSpans', jsonb_build_array(jsonb_build_object(
    'resource', jsonb_build_object('attributes', to_jsonb(resource)),
    'scopeSpans', jsonb_build_array(jsonb_build_object('scope', jsonb_build_object('name', scope, 'version', '1.0'),
                                                       'spans', to_jsonb(spans))))));
CREATE VIEW pg_temp.taken AS
SELECT request_id, user_id, feature, provider, model, requested_model, operation, input_tokens,
       cached_read_tokens AS cread, cache_write_tokens AS cwrite, output_tokens AS output,
       reasoning_tokens AS reasoning, latency_ms, error_class, llmcost.usd(cost_nusd) AS cost_usd
  FROM llmcost.events ORDER BY event_time, request_id;

-- 1. the current conventions
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[pg_temp.span('a1000000000000000000000000000001', 'b100000000000001', NULL, 0, ARRAY[
    pg_temp.a('gen_ai.provider.name', '"anthropic"'), pg_temp.a('gen_ai.operation.name', '"chat"'),
    pg_temp.a('gen_ai.request.model', '"claude-sonnet-4-5"'), pg_temp.a('gen_ai.response.model', '"claude-sonnet-4-5-20250929"'),
    pg_temp.a('gen_ai.usage.input_tokens', '"12000"'), pg_temp.a('gen_ai.usage.output_tokens', '800'),
    pg_temp.a('gen_ai.usage.cache_read.input_tokens', '"10000"'), pg_temp.a('gen_ai.usage.cache_creation.input_tokens', '1000'),
    pg_temp.a('gen_ai.usage.reasoning.output_tokens', '200'), pg_temp.a('gen_ai.response.id', '"msg_01"'),
    pg_temp.a('user.id', '"alice"'), pg_temp.a('gen_ai.agent.name', '"support-agent"')])]));
-- 2. the deprecated names: gen_ai.system, prompt/completion tokens, underscore cache names
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[pg_temp.span('a1000000000000000000000000000002', 'b100000000000002', NULL, 10, ARRAY[
    pg_temp.a('gen_ai.system', '"OpenAI"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
    pg_temp.a('gen_ai.usage.prompt_tokens', '1500'), pg_temp.a('gen_ai.usage.completion_tokens', '"250"'),
    pg_temp.a('gen_ai.usage.cache_read_input_tokens', '500'), pg_temp.a('gen_ai.usage.reasoning_tokens', '0'),
    pg_temp.a('gen_ai.response.id', '"chatcmpl-02"')])],
    ARRAY[pg_temp.a('service.name', '"search-service"'), pg_temp.a('user.id', '"from-resource"')]));
-- 3. OpenLLMetry (traceloop): a workflow span repeating its child's usage, the
--    child LLM span with association properties (an int user id), llm.* names
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000003', 'b100000000000030', NULL, 20, ARRAY[
        pg_temp.a('traceloop.span.kind', '"workflow"'), pg_temp.a('traceloop.workflow.name', '"rag-answer"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', '900'), pg_temp.a('gen_ai.usage.completion_tokens', '100')]),
    pg_temp.span('a1000000000000000000000000000003', 'b100000000000031', 'b100000000000030', 20, ARRAY[
        pg_temp.a('traceloop.span.kind', '"llm"'), pg_temp.a('llm.request.type', '"chat"'),
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
        pg_temp.a('gen_ai.response.model', '"gpt-4o-mini-2024-07-18"'),
        pg_temp.a('llm.token_count.prompt', '900'), pg_temp.a('llm.token_count.completion', '100'),
        pg_temp.a('llm.usage.total_tokens', '1000'), pg_temp.a('traceloop.workflow.name', '"rag-answer"'),
        pg_temp.a('traceloop.association.properties.user_id', '4242')]),
    -- a task span without usage
    pg_temp.span('a1000000000000000000000000000003', 'b100000000000032', 'b100000000000030', 21, ARRAY[
        pg_temp.a('traceloop.span.kind', '"task"'), pg_temp.a('traceloop.entity.name', '"retrieve"')])],
    '{}', 'opentelemetry.instrumentation.openai'));
-- 4. Langfuse
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[pg_temp.span('a1000000000000000000000000000004', 'b100000000000004', NULL, 30, ARRAY[
    pg_temp.a('langfuse.observation.type', '"generation"'), pg_temp.a('langfuse.observation.model.name', '"gemini-2.5-flash"'),
    pg_temp.a('gen_ai.provider.name', '"gcp.gemini"'), pg_temp.a('gen_ai.usage.input_tokens', '3000'),
    pg_temp.a('gen_ai.usage.output_tokens', '400'), pg_temp.a('langfuse.user.id', '"bob"'),
    pg_temp.a('langfuse.trace.name', '"doc-summarize"'), pg_temp.a('langfuse.session.id', '"s-9"')])]));
-- 5. OpenLIT: the client's own cost is kept apart, never used
SELECT * FROM llmcost.ingest_otlp(jsonb_set(pg_temp.body(ARRAY[pg_temp.span('a1000000000000000000000000000005', 'b100000000000005', NULL, 40, ARRAY[
    pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4.1"'),
    pg_temp.a('gen_ai.usage.input_tokens', '2000'), pg_temp.a('gen_ai.usage.output_tokens', '100'),
    pg_temp.a('gen_ai.usage.cost', '0'), pg_temp.a('gen_ai.application_name', '"ops-bot"')])], '{}', 'openlit'),
    '{resourceSpans,0,scopeSpans,0,spans,0,attributes,4,value}', '{"doubleValue": 0.0049}'));
-- 6. embeddings, and an error span (error.type) and a failed one by status only
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000006', 'b100000000000061', NULL, 50, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.operation.name', '"embeddings"'),
        pg_temp.a('gen_ai.request.model', '"text-embedding-3-small"'), pg_temp.a('gen_ai.usage.input_tokens', '8000'),
        pg_temp.a('gen_ai.agent.name', '"indexer"')]),
    pg_temp.span('a1000000000000000000000000000006', 'b100000000000062', NULL, 51, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('error.type', '"rate_limit_exceeded"'), pg_temp.a('gen_ai.agent.name', '"indexer"')],
        '{"code": 2, "message": "429"}'),
    pg_temp.span('a1000000000000000000000000000006', 'b100000000000063', NULL, 52, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('gen_ai.agent.name', '"indexer"')], '{"code": "STATUS_CODE_ERROR"}')]));
SELECT * FROM pg_temp.taken;
SELECT request_id, attributes FROM llmcost.events ORDER BY event_time, request_id;

-- 7. Anthropic's exclusive input count under gen_ai.usage.input_tokens becomes
--    the inclusive one: when the cache counts exceed it, or when the total
--    adds them on top; an inclusive count stays as it is
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000007', 'b100000000000071', NULL, 60, ARRAY[
        pg_temp.a('gen_ai.system', '"anthropic"'), pg_temp.a('gen_ai.request.model', '"claude-haiku-4-5"'),
        pg_temp.a('gen_ai.usage.input_tokens', '120'), pg_temp.a('gen_ai.usage.cache_read_input_tokens', '9000'),
        pg_temp.a('gen_ai.usage.output_tokens', '50'), pg_temp.a('gen_ai.response.id', '"exclusive-1"')]),
    pg_temp.span('a1000000000000000000000000000007', 'b100000000000072', NULL, 61, ARRAY[
        pg_temp.a('gen_ai.system', '"anthropic"'), pg_temp.a('gen_ai.request.model', '"claude-haiku-4-5"'),
        pg_temp.a('gen_ai.usage.input_tokens', '5000'), pg_temp.a('gen_ai.usage.cache_creation_input_tokens', '3000'),
        pg_temp.a('gen_ai.usage.output_tokens', '50'), pg_temp.a('llm.usage.total_tokens', '8050'),
        pg_temp.a('gen_ai.response.id', '"exclusive-2"')]),
    pg_temp.span('a1000000000000000000000000000007', 'b100000000000073', NULL, 62, ARRAY[
        pg_temp.a('gen_ai.system', '"anthropic"'), pg_temp.a('gen_ai.request.model', '"claude-haiku-4-5"'),
        pg_temp.a('gen_ai.usage.input_tokens', '5000'), pg_temp.a('gen_ai.usage.cache_read.input_tokens', '3000'),
        pg_temp.a('gen_ai.usage.output_tokens', '50'), pg_temp.a('gen_ai.response.id', '"inclusive-3"')])]));
SELECT request_id, input_tokens, cached_read_tokens, cache_write_tokens,
       attributes ? 'llmcost.input_tokens_normalized' AS normalized
  FROM llmcost.events WHERE request_id IN ('exclusive-1', 'exclusive-2', 'inclusive-3') ORDER BY 1;

-- 8. a provider SDK's span inside the instrumentation's span, both with usage
--    (and different names for the cache writes): one event, in one body...
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000008', 'b100000000000081', NULL, 70, ARRAY[
        pg_temp.a('gen_ai.system', '"anthropic"'), pg_temp.a('gen_ai.request.model', '"claude-sonnet-4-5"'),
        pg_temp.a('gen_ai.usage.input_tokens', '4000'), pg_temp.a('gen_ai.usage.cache_creation_input_tokens', '1000'),
        pg_temp.a('gen_ai.usage.output_tokens', '100'), pg_temp.a('gen_ai.agent.name', '"planner"')]),
    pg_temp.span('a1000000000000000000000000000008', 'b100000000000082', 'b100000000000081', 70, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"anthropic"'), pg_temp.a('gen_ai.request.model', '"claude-sonnet-4-5"'),
        pg_temp.a('gen_ai.usage.input_tokens', '4000'), pg_temp.a('gen_ai.usage.cache_creation.input_tokens', '1000'),
        pg_temp.a('gen_ai.usage.output_tokens', '100')])]));
-- ...or in two bodies, in either order
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000009', 'b100000000000092', 'b100000000000091', 80, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('gen_ai.usage.input_tokens', '1000'), pg_temp.a('gen_ai.usage.output_tokens', '10')])]));
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a1000000000000000000000000000009', 'b100000000000091', NULL, 80, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', '1000'), pg_temp.a('gen_ai.usage.completion_tokens', '10')])]));
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a100000000000000000000000000000a', 'b1000000000000a1', NULL, 90, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', '1000'), pg_temp.a('gen_ai.usage.completion_tokens', '10')])]));
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a100000000000000000000000000000a', 'b1000000000000a2', 'b1000000000000a1', 90, ARRAY[
        pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
        pg_temp.a('gen_ai.usage.input_tokens', '1000'), pg_temp.a('gen_ai.usage.output_tokens', '10')])]));
SELECT trace_id, count(*) AS events, sum(input_tokens) AS input_tokens FROM llmcost.events
 WHERE trace_id IN ('a1000000000000000000000000000008', 'a1000000000000000000000000000009',
                    'a100000000000000000000000000000a')
 GROUP BY 1 ORDER BY 1;
-- ...and a workflow's calls in several bodies: the second call is taken too
-- (the parent's marker is left as it is), the workflow span, were it a call,
-- is around them, a call inside one of them is the same call, and every
-- span delivered again is one duplicate
SELECT s.span_id, r.*
  FROM (VALUES (1, 'b100000000000102', 'b100000000000101'), (2, 'b100000000000103', 'b100000000000101'),
               (3, 'b100000000000101', NULL), (4, 'b100000000000104', 'b100000000000103'),
               (5, 'b100000000000103', 'b100000000000101')) s(n, span_id, parent),
       LATERAL llmcost.ingest_otlp(pg_temp.body(ARRAY[pg_temp.span('a1000000000000000000000000000010', s.span_id, s.parent, 95, ARRAY[
           pg_temp.a('gen_ai.provider.name', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o"'),
           pg_temp.a('gen_ai.usage.input_tokens', '100'), pg_temp.a('gen_ai.usage.output_tokens', '10')])])) r
 ORDER BY s.n;
SELECT span_id, is_call FROM llmcost.otlp_model_calls WHERE trace_id = 'a1000000000000000000000000000010' ORDER BY 1;
SELECT count(*) AS events FROM llmcost.events WHERE trace_id = 'a1000000000000000000000000000010';

-- 9. exporters retry: the same body again is stored once
CREATE TEMP TABLE again AS SELECT pg_temp.body(ARRAY[pg_temp.span('a100000000000000000000000000000b', 'b1000000000000b1', NULL, 100, ARRAY[
    pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
    pg_temp.a('gen_ai.usage.prompt_tokens', '10'), pg_temp.a('gen_ai.usage.completion_tokens', '10')])]) AS b;
SELECT * FROM llmcost.ingest_otlp((SELECT b FROM again));
SELECT * FROM llmcost.ingest_otlp((SELECT b FROM again)::text);
SELECT * FROM llmcost.ingest_otlp((SELECT b FROM again)::json);
SELECT count(*) AS stored_once FROM llmcost.events WHERE trace_id = 'a100000000000000000000000000000b';

-- 10. where user and feature come from is configurable
UPDATE llmcost.settings SET otlp_user_keys = '{app.customer}', otlp_feature_keys = '{app.feature}',
                            otlp_default_feature = 'untagged';
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY[
    pg_temp.span('a100000000000000000000000000000c', 'b1000000000000c1', NULL, 110, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
        pg_temp.a('app.customer', '"acme"'), pg_temp.a('app.feature', '"billing-qa"'), pg_temp.a('user.id', '"ignored"')]),
    pg_temp.span('a100000000000000000000000000000c', 'b1000000000000c2', NULL, 111, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"')])]));
SELECT span_id, user_id, feature FROM llmcost.events WHERE trace_id = 'a100000000000000000000000000000c' ORDER BY 1;
UPDATE llmcost.settings SET otlp_user_keys = DEFAULT, otlp_feature_keys = DEFAULT, otlp_default_feature = DEFAULT;
\set VERBOSITY terse
UPDATE llmcost.settings SET otlp_default_feature = '';
\set VERBOSITY default

-- 11. bad spans go to llmcost.rejected_spans; the good spans of their body are taken
SELECT * FROM llmcost.ingest_otlp(jsonb_build_object('resourceSpans', jsonb_build_array(jsonb_build_object(
    'scopeSpans', jsonb_build_array(jsonb_build_object('spans', jsonb_build_array(
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d1', NULL, 120, ARRAY[
            pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
            pg_temp.a('gen_ai.usage.input_tokens', '5')]),
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d2', NULL, 120, ARRAY[
            pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'), pg_temp.a('gen_ai.usage.input_tokens', '"-5"')]),
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d3', NULL, 120, ARRAY[
            pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'), pg_temp.a('gen_ai.usage.input_tokens', '1e30')]),
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d4', NULL, 120, ARRAY[
            pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'), pg_temp.a('gen_ai.usage.output_tokens', '"12.5"')]),
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d5', NULL, 120, ARRAY[
            pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'), pg_temp.a('gen_ai.usage.output_tokens', '10'),
            pg_temp.a('gen_ai.usage.reasoning_tokens', '20')]),
        pg_temp.span('not-hex', 'b1000000000000d6', NULL, 120, ARRAY[pg_temp.a('gen_ai.request.model', '"x"')]),
        pg_temp.span('a100000000000000000000000000000d', 'b1000000000000d7', 'zz', 120, ARRAY[pg_temp.a('gen_ai.request.model', '"x"')]),
        '{"traceId": "a100000000000000000000000000000d", "spanId": "b1000000000000d8", "startTimeUnixNano": "5", "endTimeUnixNano": "4"}'::jsonb,
        '{"traceId": "a100000000000000000000000000000d", "spanId": "b1000000000000d9", "startTimeUnixNano": "99999999999999999999", "endTimeUnixNano": "99999999999999999999"}'::jsonb,
        '{"traceId": "a100000000000000000000000000000d", "spanId": "b1000000000000da", "startTimeUnixNano": 1, "endTimeUnixNano": 2, "attributes": {"key": "x"}}'::jsonb,
        '{"traceId": "a100000000000000000000000000000d", "spanId": "b1000000000000db", "startTimeUnixNano": 1, "endTimeUnixNano": 2, "attributes": [{"value": {"intValue": 1}}]}'::jsonb,
        '"a string"'::jsonb,
        '{"traceId": "a100000000000000000000000000000d", "spanId": "b1000000000000dc"}'::jsonb)))))));
SELECT resource_index, scope_index, span_index, reason FROM llmcost.rejected_spans ORDER BY span_index;
SELECT span IS NOT NULL AS raw_span_kept FROM llmcost.rejected_spans WHERE span_index = 1;
SELECT has_table_privilege('llmcost_admin', 'llmcost.rejected_spans', 'SELECT') AS admin_reads,
       has_table_privilege('llmcost_reader', 'llmcost.rejected_spans', 'SELECT') AS reader_reads,
       has_function_privilege('llmcost_ingest', 'llmcost.ingest_otlp(jsonb)', 'EXECUTE') AS ingest_calls,
       has_function_privilege('llmcost_reader', 'llmcost.ingest_otlp(jsonb)', 'EXECUTE') AS reader_calls;

-- 12. a malformed body is an error that says where and what
\set VERBOSITY default
SELECT * FROM llmcost.ingest_otlp('[1, 2]'::jsonb);
SELECT * FROM llmcost.ingest_otlp('"spans"'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": {"a": 1}}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [7]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"resource": []}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"resource": {"attributes": 5}}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"resource": {"attributes": [{"value": {}}]}}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{}, {"scopeSpans": "x"}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"scopeSpans": [null]}]}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [');
-- invalid JSON in a text body: what was expected, at which byte, and the body there
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [] } x');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans" [] }');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [01]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [1.]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [-]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [tru]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [1 2]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [], }');
SELECT * FROM llmcost.ingest_otlp('{resourceSpans: []}');
SELECT * FROM llmcost.ingest_otlp(E'{"resource\nSpans": []}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["\x"]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["\u12"]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["\ud83d"]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["\ude00"]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["\u0000"]}');
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": ["é');
SELECT * FROM llmcost.ingest_otlp('');
SELECT * FROM llmcost.ingest_otlp(repeat('[', 101) || repeat(']', 101));
\set VERBOSITY terse
-- 100 levels are fine (then not an object); escapes are read as PostgreSQL's json reads them,
-- and of a member named twice the last counts, as in jsonb
SELECT * FROM llmcost.ingest_otlp(repeat('[', 100) || repeat(']', 100));
SELECT s.outcome, s.reason, s.model, s.user_id, s.feature, s.input_tokens, s.output_tokens
  FROM llmcost.otlp_spans('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "e1000000000000000000000000000001", "spanId": "e100000000000001",
        "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": "1764000001000000000", "attributes": [
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.response.model", "value": {"stringValue": "x", "stringValue": "gpt-4o-mini"}},
        {"key": "gen_ai.\u0075sage.input_tokens", "value": {"intValue": 1e3}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 2E+1}},
        {"key": "user.id", "value": {"stringValue": "\u00e9\ud83d\ude00 \"q\" \\ \/ \t"}},
        {"key": "gen_ai.agent.name", "value": {"intValue": -0}}]}]}]}]}',
        '{user.id}', '{gen_ai.agent.name}', 'none') s;
-- a rejected span keeps a number jsonb cannot hold as text; its body's good span is taken
SELECT s.outcome, s.reason, jsonb_typeof(s.span) AS kept_as, left(s.span #>> '{}', 40) AS span_text
  FROM llmcost.otlp_spans('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "nothex", "spanId": "e100000000000002", "weight": 1e-99999},
        {"traceId": "e1000000000000000000000000000002", "spanId": "e100000000000003", "startTimeUnixNano": "1764000000000000000",
         "endTimeUnixNano": "1764000001000000000", "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
         {"key": "gen_ai.usage.cost", "value": {"doubleValue": 1e999999}}]}]}]}]}',
        '{user.id}', '{gen_ai.agent.name}', 'none') s ORDER BY s.span_index;
-- empty bodies are fine
SELECT * FROM llmcost.ingest_otlp('{}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": []}'::jsonb);
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"scopeSpans": [{"spans": []}]}]}'::jsonb);

-- 13. a huge body: 20,000 spans in one request
SELECT * FROM llmcost.ingest_otlp(pg_temp.body(ARRAY(
    SELECT pg_temp.span('c' || lpad(to_hex(i), 31, '0'), lpad(to_hex(i), 16, '0'), NULL, 200 + i % 3600, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', to_jsonb(100 + i)), pg_temp.a('gen_ai.usage.completion_tokens', '10')])
      FROM generate_series(1, 20000) i)));
SELECT count(*) AS events, count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced FROM llmcost.events
 WHERE trace_id LIKE 'c%';
-- and every span's random mutation: never a crash, every error a class-22 one
DO $$
DECLARE
    base jsonb := pg_temp.body(ARRAY[pg_temp.span('a100000000000000000000000000000e', 'b1000000000000e1', NULL, 5000, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', '10'), pg_temp.a('gen_ai.usage.completion_tokens', '10'),
        pg_temp.a('user.id', '"u"')])]);
    t text := base::text;
    m text;
    pos int;
    errors int := 0;
    other int := 0;
    junk text[] := ARRAY['{', '}', '[', ']', '"', ',', ':', '-1', '1e999', 'null', 'true', '"x"', '99999999999999999999999', '0.5', ''];
BEGIN
    PERFORM setseed(0.11);
    FOR i IN 1 .. 3000 LOOP
        pos := 1 + floor(random() * length(t))::int;
        m := overlay(t placing junk[1 + floor(random() * array_length(junk, 1))::int]
                     from pos for floor(random() * 4)::int);
        BEGIN
            PERFORM llmcost.ingest_otlp(m);
        EXCEPTION WHEN OTHERS THEN
            IF left(SQLSTATE, 2) = '22' THEN errors := errors + 1; ELSE other := other + 1; END IF;
        END;
    END LOOP;
    RAISE NOTICE 'mutated bodies: % refused with class 22, % other errors', errors > 0, other;
END $$;
-- The body's own JSON reader against PostgreSQL's: mutated bodies (escapes,
-- control characters, multibyte text, numbers among the junk) read from
-- their text give the same rows as read from jsonb, or the same error
-- class; a body jsonb refuses is refused.
DO $$
DECLARE
    base jsonb := pg_temp.body(ARRAY[pg_temp.span('a100000000000000000000000000000f', 'b1000000000000f1', NULL, 5000, ARRAY[
        pg_temp.a('gen_ai.system', '"openai"'), pg_temp.a('gen_ai.request.model', '"gpt-4o-mini"'),
        pg_temp.a('gen_ai.usage.prompt_tokens', '10'), pg_temp.a('gen_ai.usage.completion_tokens', '10'),
        pg_temp.a('user.id', '"u\u00e9"'), pg_temp.a('gen_ai.agent.name', '"f"')])]);
    t text := base::text;
    m text;
    j jsonb;
    ours text;
    theirs text;
    ours_err text;
    theirs_err text;
    same int := 0;
    differ int := 0;
    refused_both int := 0;
    read_refused int := 0;
    junk text[] := ARRAY['{', '}', '[', ']', '"', ',', ':', '-1', '1e3', '1E+2', '-0', '0.50', 'null', 'false', '"x"',
                         '\', '\u', '\u00e9', '\ud83d', '\ude00', '\ud83d\ude00', '\u0000', '\n', '\"', E'\n', E'\t', E'\x01',
                         'é', '€', ' ', '2', '"1"', ''];
BEGIN
    PERFORM setseed(0.23);
    FOR i IN 1 .. 3000 LOOP
        m := overlay(t placing junk[1 + floor(random() * array_length(junk, 1))::int]
                     from 1 + floor(random() * length(t))::int for floor(random() * 3)::int);
        ours_err := NULL; theirs_err := NULL; j := NULL;
        BEGIN
            SELECT string_agg(x::text, ' | ' ORDER BY x.resource_index, x.scope_index, x.span_index) INTO ours
              FROM llmcost.otlp_spans(m, '{user.id}', '{gen_ai.agent.name}', 'none') x;
        EXCEPTION WHEN OTHERS THEN ours_err := left(SQLSTATE, 2);
        END;
        BEGIN
            j := m::jsonb;
            SELECT string_agg(x::text, ' | ' ORDER BY x.resource_index, x.scope_index, x.span_index) INTO theirs
              FROM llmcost.otlp_spans(j, '{user.id}', '{gen_ai.agent.name}', 'none') x;
        EXCEPTION WHEN OTHERS THEN theirs_err := left(SQLSTATE, 2);
        END;
        IF ours_err IS NULL AND theirs_err IS NULL AND ours IS NOT DISTINCT FROM theirs THEN
            same := same + 1;
        ELSIF ours_err IS NOT NULL AND theirs_err IS NOT NULL AND ours_err = theirs_err THEN
            refused_both := refused_both + 1;
        ELSE
            differ := differ + 1;
            IF differ <= 3 THEN
                RAISE NOTICE 'differs (% vs %): %', coalesce(ours_err, 'read'), coalesce(theirs_err, 'read'), m;
            END IF;
            IF j IS NULL AND ours_err IS NULL THEN read_refused := read_refused + 1; END IF;
        END IF;
    END LOOP;
    RAISE NOTICE 'mutated bodies: read alike % (many), refused alike % (many), different %, read where jsonb refused %',
        same > 1000, refused_both > 500, differ, read_refused;
END $$;
-- In a database of another encoding (LATIN1), \u escapes become its
-- characters, however many (the reader's buffer allows for encodings whose
-- characters are longer than their escape), and one it has not is an error
\set regress_db :DBNAME
CREATE DATABASE llmcost_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c llmcost_latin1
SET client_min_messages = warning;
CREATE EXTENSION llmcost CASCADE;
CREATE FUNCTION pg_temp.user_of(user_value text) RETURNS text LANGUAGE sql
RETURN (SELECT s.user_id FROM llmcost.otlp_spans(
    '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "e1000000000000000000000000000001", "spanId": "e100000000000001",
      "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": "1764000001000000000", "attributes": [
      {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
      {"key": "user.id", "value": {"stringValue": "' || user_value || '"}}]}]}]}]}', '{user.id}', '{x}', 'f') s);
SELECT convert_to(pg_temp.user_of('caf\u00e9 \u00e7a'), 'LATIN1') AS latin1_bytes,
       length(pg_temp.user_of(repeat('\u00e9', 100000))) AS long_escaped;
SELECT pg_temp.user_of('\u20ac');
\c :regress_db
DROP DATABASE llmcost_latin1;
