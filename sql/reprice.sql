-- Repricing: an unknown model becomes priced; a correction reaches the past on purpose.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
SELECT '2026-01-05 00:00+00'::timestamptz + i * interval '1 hour', 'rp-' || i, 'f', 'newlab', 'newlab-7b', 1000, 100
  FROM generate_series(0, 71) i;
SELECT count(*) AS unpriced_calls FROM llmcost.events WHERE model = 'newlab-7b' AND cost_nusd IS NULL;
SELECT provider, model, calls, first_seen, last_seen FROM llmcost.unpriced WHERE model = 'newlab-7b';

-- a rate arrives; stored events are unchanged until repriced
SELECT llmcost.set_rate('newlab-7b', '2026-01-01', input_per_mtok => 0.2, output_per_mtok => 0.8);
SELECT count(*) FILTER (WHERE cost_nusd IS NULL) AS still_unpriced FROM llmcost.events WHERE model = 'newlab-7b';
CALL llmcost.reprice('2026-01-05', '2026-01-08');
SELECT count(*) FILTER (WHERE cost_nusd IS NULL) AS unpriced, sum(cost_nusd) AS nusd,
       count(DISTINCT rate_id) AS rates
  FROM llmcost.events WHERE model = 'newlab-7b';
SELECT count(*) AS unpriced_rows FROM llmcost.unpriced WHERE model = 'newlab-7b';

-- nothing changed: a second reprice rewrites no row
SELECT * FROM llmcost.reprice_range('2026-01-05', '2026-01-08');

-- a correction from 2026-01-06 on, applied to the past on purpose
SELECT llmcost.set_rate('newlab-7b', '2026-01-06', input_per_mtok => 0.25, output_per_mtok => 1);
SELECT * FROM llmcost.reprice_range('2026-01-05', '2026-01-08');
SELECT event_time::date AS day, count(*), sum(cost_nusd) AS nusd, min(rate_id) = max(rate_id) AS one_rate
  FROM llmcost.events WHERE model = 'newlab-7b' GROUP BY 1 ORDER BY 1;

-- reprice refuses to run without bounds
CALL llmcost.reprice(NULL, '2026-01-08');
