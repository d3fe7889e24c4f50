-- llmcost.events: partitions, validation of every column, idempotent delivery.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SELECT llmcost.create_partitions('2026-01-01', '2026-01-31');

-- a valid call, inclusive counts (OpenTelemetry / OpenAI convention)
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model,
        input_tokens, cached_read_tokens, output_tokens, reasoning_tokens, latency_ms)
VALUES ('2026-01-10 12:00+00', 'req-1', 'u1', 'search', 'openai', 'gpt-4o',
        1000, 400, 300, 0, 812.5);
SELECT request_id, cost_nusd, llmcost.usd(cost_nusd) AS usd, rate_id, tableoid::regclass
  FROM llmcost.events;

-- the same delivery again: stored once (the README's idempotent insert)
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES ('2026-01-10 12:00+00', 'req-1', 'search', 'openai', 'gpt-4o', 1000, 300)
ON CONFLICT DO NOTHING;
SELECT count(*) FROM llmcost.events WHERE request_id = 'req-1';
-- without ON CONFLICT the duplicate is refused, not stored twice
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model)
VALUES ('2026-01-10 12:00+00', 'req-1', 'search', 'openai', 'gpt-4o');

-- Every refused input: SQLSTATE, column and value.  (terse: the details of
-- NOT NULL errors print the whole row, ingested_at included)
\set VERBOSITY terse
\set insert 'INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, cache_status, attempt) VALUES '
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', -1, 0, 0, 0, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, -1, 0, 0, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, -5, 0, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, -2, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, -3, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 11, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 6, 5, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 6, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 'NaN', 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, '-0.5', 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 'Infinity', 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'hit', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'MISS', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', NULL, 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', '', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', NULL, 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', NULL, 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', NULL, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert (NULL, 'bad', 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', NULL, 'f', 'openai', 'gpt-4o', 10, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:insert ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 3000000000, 0, 0, 5, 0, 1, 'miss', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- cost_nusd and rate_id are llmcost's: a client cannot write them
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, cost_nusd)
VALUES ('2026-01-10', 'bad', 'f', 'openai', 'gpt-4o', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS refused_rows_stored FROM llmcost.events WHERE request_id = 'bad';

-- NULL latency (unknown) is fine; so are zero tokens
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, error_class)
VALUES ('2026-01-10 13:00+00', 'req-err', 'search', 'openai', 'gpt-4o', 'rate_limit');
SELECT request_id, latency_ms, error_class, cost_nusd FROM llmcost.events WHERE request_id = 'req-err';

-- retries and fallbacks are attributable to their first attempt
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens, attempt, first_request_id, client_cost_usd)
VALUES ('2026-01-10 13:00:01+00', 'req-err-2', 'search', 'anthropic', 'claude-sonnet-4-5', 1000, 100, 2, 'req-err', 0.0045);
SELECT request_id, attempt, first_request_id, llmcost.usd(cost_nusd), client_cost_usd
  FROM llmcost.events WHERE coalesce(first_request_id, request_id) = 'req-err' ORDER BY attempt;

-- COPY: a bad row names its line and column, and the whole COPY is refused
COPY llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens) FROM stdin (FORMAT csv);
2026-01-11 00:00:00+00,copy-1,f,openai,gpt-4o-mini,100,10
2026-01-11 00:00:01+00,copy-2,f,openai,gpt-4o-mini,-100,10
\.
COPY llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens) FROM stdin (FORMAT csv);
2026-01-11 00:00:00+00,copy-1,f,openai,gpt-4o-mini,100,10
2026-01-11 00:00:01+00,copy-2,f,openai,gpt-4o-mini,200,20
\.
SELECT request_id, cost_nusd, tableoid::regclass FROM llmcost.events WHERE request_id LIKE 'copy-%' ORDER BY 1;

-- a day with no partition lands in the default partition, never refused
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES ('2031-05-05 00:00+00', 'far-future', 'f', 'openai', 'gpt-4o', 1, 1);
SELECT request_id, tableoid::regclass FROM llmcost.events WHERE request_id = 'far-future';

-- Batch ingest that loses no valid row: COPY into a staging table, then ingest it.
CREATE TEMP TABLE staging (event_time timestamptz, request_id text, feature text, provider text,
                           model text, input_tokens int, cached_read_tokens int, output_tokens int,
                           cache_status text, extra_column text);
INSERT INTO staging VALUES
    ('2026-01-12 01:00+00', 'st-1', 'f', 'openai', 'gpt-4o', 1000, 0, 10, 'miss', 'ignored'),
    ('2026-01-12 01:00+00', 'st-2', 'f', 'openai', 'gpt-4o', 1000, 2000, 10, 'miss', NULL),
    ('2026-01-12 01:00+00', 'st-3', 'f', 'openai', 'gpt-4o', 1000, 0, 10, 'bogus', NULL),
    ('2026-01-12 01:00+00', 'st-4', NULL, 'openai', 'gpt-4o', 1000, 0, 10, 'miss', NULL),
    ('2026-01-12 01:00+00', 'st-5', 'f', 'openai', 'gpt-4o', 1000, 0, 10, 'miss', NULL),
    ('2026-01-10 12:00+00', 'req-1', 'search', 'openai', 'gpt-4o', 1000, 400, 300, 'miss', NULL);
SELECT * FROM llmcost.ingest('staging');
SELECT request_id, cost_nusd FROM llmcost.events WHERE request_id LIKE 'st-%' ORDER BY 1;
SELECT source, sqlstate, message, event ->> 'request_id' AS request_id
  FROM llmcost.rejected_events ORDER BY 4;
-- a retried batch of valid rows is stored once
DELETE FROM staging WHERE request_id IN ('st-2', 'st-3', 'st-4');
SELECT * FROM llmcost.ingest('staging');
SELECT * FROM llmcost.ingest('staging');
