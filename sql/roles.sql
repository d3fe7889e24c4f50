-- Roles: ingest writes events only, reader reads views only, admin manages rates.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SELECT r.rolname, t.obj, p.priv,
       CASE WHEN t.kind = 'table' THEN has_table_privilege(r.rolname, t.obj, p.priv) END AS granted
  FROM (VALUES ('llmcost_ingest'), ('llmcost_reader'), ('llmcost_admin')) r(rolname),
       (VALUES ('table', 'llmcost.events'), ('table', 'llmcost.rates'), ('table', 'llmcost.unpriced'),
               ('table', 'llmcost.model_aliases')) t(kind, obj),
       (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) p(priv)
 ORDER BY 1, 2, 3;
SELECT r.rolname, f.fn, has_function_privilege(r.rolname, f.fn, 'EXECUTE') AS can_execute
  FROM (VALUES ('llmcost_ingest'), ('llmcost_reader'), ('llmcost_admin')) r(rolname),
       (VALUES ('llmcost.set_rate(text, timestamptz, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, text, text)'),
               ('llmcost.reprice_range(timestamptz, timestamptz)'),
               ('llmcost.create_partitions(timestamptz, timestamptz)'),
               ('llmcost.load_litellm_prices(jsonb, timestamptz, text[])'),
               ('llmcost.load_langfuse_prices(jsonb, timestamptz)')) f(fn)
 ORDER BY 1, 2;

-- ingest in practice: it can insert (priced by its own backend), not read or change
CREATE ROLE llmcost_test_ingest LOGIN IN ROLE llmcost_ingest;
CREATE ROLE llmcost_test_reader LOGIN IN ROLE llmcost_reader;
SET ROLE llmcost_test_ingest;
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES ('2026-01-20', 'role-1', 'f', 'openai', 'gpt-4o', 100, 10)
ON CONFLICT DO NOTHING;
SELECT count(*) FROM llmcost.events;
UPDATE llmcost.rates SET input_per_mtok = 0;
RESET ROLE;
SELECT request_id, cost_nusd FROM llmcost.events WHERE request_id = 'role-1';

SET ROLE llmcost_test_reader;
SELECT count(*) >= 0 AS reads_views FROM llmcost.unpriced;
SELECT count(*) FROM llmcost.events;
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model) VALUES ('2026-01-20', 'x', 'f', 'p', 'm');
UPDATE llmcost.rates SET input_per_mtok = 0;
SELECT llmcost.set_rate('x', now(), 1, 1);
RESET ROLE;
DROP ROLE llmcost_test_ingest;
DROP ROLE llmcost_test_reader;
