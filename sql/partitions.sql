-- Daily partitions, created ahead; rows that arrived before their partition move in.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SELECT count(*) AS stray_rows FROM llmcost.events_default;
SELECT request_id, tableoid::regclass FROM llmcost.events WHERE request_id = 'far-future';
SELECT llmcost.create_partitions('2031-05-04', '2031-05-06');
SELECT request_id, cost_nusd, tableoid::regclass FROM llmcost.events WHERE request_id = 'far-future';
SELECT count(*) AS stray_rows FROM llmcost.events_default;
-- idempotent
SELECT llmcost.create_partitions('2031-05-04', '2031-05-06');
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
  FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
 WHERE i.inhparent = 'llmcost.events'::regclass AND c.relname LIKE 'events_p203105%'
 ORDER BY 1;
-- bounds are checked
SELECT llmcost.create_partitions('2026-01-01', '2040-01-01');
SELECT llmcost.create_partitions(NULL, '2026-01-01');
