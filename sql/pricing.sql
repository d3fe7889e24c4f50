-- Exact pricing: every token kind, tiers, batch, time validity, name matching.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
-- A test model with a distinct price for every kind of token (USD per million).
SELECT llmcost.set_rate('acme-1', '2026-01-01', input_per_mtok => 3, output_per_mtok => 15,
        cached_read_per_mtok => 0.3, cache_write_per_mtok => 3.75, reasoning_per_mtok => 20,
        long_context_threshold => 200000, long_input_per_mtok => 6, long_output_per_mtok => 22.5,
        long_cached_read_per_mtok => 0.6, long_cache_write_per_mtok => 7.5,
        batch_discount => 0.5, provider => 'acme');

-- price(provider, model, at, input, output, cached_read, cache_write, reasoning, batch)
SELECT llmcost.price('acme', 'acme-1', '2026-01-15', 1000000, 0) AS input_only,
       llmcost.price('acme', 'acme-1', '2026-01-15', 0, 1000000) AS output_only,
       llmcost.price('acme', 'acme-1', '2026-01-15', 1000000, 0, 1000000) AS all_cached,
       llmcost.price('acme', 'acme-1', '2026-01-15', 1000000, 0, 0, 1000000) AS all_cache_write,
       llmcost.price('acme', 'acme-1', '2026-01-15', 0, 1000000, 0, 0, 1000000) AS all_reasoning;

-- the cached and written parts of input are priced once each, never twice
SELECT llmcost.price('acme', 'acme-1', '2026-01-15', 10000, 2000, 6000, 1000, 500) AS mixed,
       (3000 * 3 + 6000 * 0.3 + 1000 * 3.75 + 1500 * 15 + 500 * 20) / 1000000 AS by_hand;

-- long context: strictly above the threshold the whole request is at the long tier
SELECT llmcost.price('acme', 'acme-1', '2026-01-15', 200000, 1000) AS at_threshold,
       llmcost.price('acme', 'acme-1', '2026-01-15', 200001, 1000) AS above_threshold,
       (200001 * 6 + 1000 * 22.5) / 1000000 AS above_by_hand;

-- batch API: the discount applies to the whole call, rounded once
SELECT llmcost.price('acme', 'acme-1', '2026-01-15', 1000, 1000, batch => false) AS interactive,
       llmcost.price('acme', 'acme-1', '2026-01-15', 1000, 1000, batch => true) AS batch;

-- rounding, once per call, half up: a token at $0.0003/M costs 0.3 nano-USD
SELECT llmcost.set_rate('acme-tiny', '2026-01-01', input_per_mtok => 0.0003, output_per_mtok => 0.0005);
SELECT llmcost.price('acme', 'acme-tiny', '2026-01-15', 1, 0) AS "0.3 -> 0",
       llmcost.price('acme', 'acme-tiny', '2026-01-15', 2, 0) AS "0.6 -> 1",
       llmcost.price('acme', 'acme-tiny', '2026-01-15', 5, 0) AS "1.5 -> 2",
       llmcost.price('acme', 'acme-tiny', '2026-01-15', 1, 1) AS "0.8 -> 1";

-- a price change mid-range: each call priced by the rate valid at its own time
SELECT llmcost.set_rate('acme-1', '2026-01-20', input_per_mtok => 1, output_per_mtok => 5);
SELECT rate_id, valid_from, valid_until, input_per_mtok, output_per_mtok
  FROM llmcost.rates WHERE model = 'acme-1' ORDER BY valid_from;
SELECT llmcost.price('acme', 'acme-1', '2026-01-19 23:59:59.999999+00', 1000000, 0) AS before_change,
       llmcost.price('acme', 'acme-1', '2026-01-20 00:00:00+00', 1000000, 0) AS at_change,
       llmcost.price('acme', 'acme-1', '2025-12-31 23:59:59+00', 1000000, 0) AS before_any_rate;

-- stored events: the same, and exact sums
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
SELECT '2026-01-19 23:00+00'::timestamptz + i * interval '1 minute', 'mid-' || i, 'f', 'acme', 'acme-1', 333, 77
  FROM generate_series(1, 120) i;
SELECT event_time < '2026-01-20' AS before_change, count(*), sum(cost_nusd) AS nusd,
       llmcost.usd(sum(cost_nusd)) AS usd, min(rate_id) = max(rate_id) AS one_rate
  FROM llmcost.events WHERE request_id LIKE 'mid-%' GROUP BY 1 ORDER BY 1;
-- integer money sums exactly: 100,000 calls of $0.000003 are $0.30, to the nano-dollar
SELECT llmcost.usd(sum(c)) AS exact_sum, llmcost.usd(sum(c)) = 0.3 AS exact
  FROM (SELECT (llmcost.price('acme', 'acme-1', '2026-01-15', 10, 0, 10) * 1000000000)::bigint AS c
          FROM generate_series(1, 100000)) s;

-- application-cache hits made no provider call: $0, tokens kept, rate recorded
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens, cache_status)
VALUES ('2026-01-15', 'hit-exact', 'f', 'acme', 'acme-1', 5000, 500, 'exact_hit'),
       ('2026-01-15', 'hit-semantic', 'f', 'acme', 'acme-1', 5000, 500, 'semantic_hit'),
       ('2026-01-15', 'hit-unknown-model', 'f', 'acme', 'nobody-knows', 5000, 500, 'semantic_hit');
SELECT request_id, cache_status, input_tokens, cost_nusd, rate_id IS NOT NULL AS has_rate
  FROM llmcost.events WHERE request_id LIKE 'hit-%' ORDER BY 1;

-- Model name matching, in the documented order.
INSERT INTO llmcost.model_aliases (alias, model, note) VALUES ('my-azure-gpt4o-deployment', 'gpt-4o', 'Azure deployment');
SELECT llmcost.set_rate('azure/gpt-4o', '2024-01-01', input_per_mtok => 2.75, output_per_mtok => 11, provider => 'azure');
SELECT provider, left(reported, 60) AS reported, llmcost.resolve_model(provider, reported) AS priced_as
  FROM (VALUES ('openai', 'gpt-4o'),
               ('openai', 'GPT-4o'),
               ('openai', 'openai/gpt-4o'),
               ('openai', 'gpt-4o-2024-08-06'),
               ('openai', 'gpt-4o-2024-05-13'),
               ('azure', 'gpt-4o'),
               ('azure', 'my-azure-gpt4o-deployment'),
               ('openai', 'my-azure-gpt4o-deployment'),
               ('anthropic', 'claude-sonnet-4-5-20250929'),
               ('aws.bedrock', 'bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0'),
               ('aws.bedrock', 'anthropic.claude-opus-4-1-20250805-v1:0'),
               ('gcp.vertex_ai', 'claude-opus-4-5@20251101'),
               ('gcp.gemini', 'models/gemini-2.5-flash'),
               ('openai', 'gpt-4.1-mini-2025-04-14'),
               ('openai', 'gpt-4.1'),
               ('openai', 'gpt-4o-2024-13-45'),
               ('openai', 'gpt-4o-mini-x'),
               ('openai', ''),
               ('', 'gpt-5'),
               ('acme', 'claude-sonnet-4-5-20250929' || repeat('x', 300))) AS t(provider, reported);

-- a snapshot with its own rate keeps it; the base model's price differs
SELECT llmcost.price('openai', 'gpt-4o-2024-05-13', '2025-06-01', 1000000, 0) AS snapshot_own_rate,
       llmcost.price('openai', 'gpt-4o-2024-08-06', '2025-06-01', 1000000, 0) AS snapshot_of_base,
       llmcost.price('azure', 'gpt-4o', '2025-06-01', 1000000, 0) AS provider_specific;

-- gpt-4o's price fell on 2024-10-02 in the default card
SELECT llmcost.price('openai', 'gpt-4o', '2024-09-01', 1000000, 1000000) AS before_cut,
       llmcost.price('openai', 'gpt-4o', '2024-11-01', 1000000, 1000000) AS after_cut;

-- the largest call at the largest price fits in int64 nano-USD: prices are
-- below $1e6/M and counts are int4, so no call can overflow
SELECT llmcost.price('acme', 'acme-1', '2026-01-15', 2147483647, 2147483647) AS largest_call;
SELECT llmcost.set_rate('acme-pricey', '2026-01-01', input_per_mtok => 999999.999999999, output_per_mtok => 999999.999999999);
SELECT llmcost.price('acme', 'acme-pricey', '2026-01-15', 2147483647, 2147483647);

-- NULL arguments: NULL, never a crash (the provider alone may be NULL)
SELECT llmcost.price(NULL, 'gpt-4o', '2026-01-15', 1000, 0) AS null_provider,
       llmcost.price('openai', NULL, '2026-01-15', 1000, 0) AS null_model,
       llmcost.price('openai', 'gpt-4o', NULL, 1000, 0) AS null_time,
       llmcost.price('openai', 'gpt-4o', '2026-01-15', NULL, 0) AS null_tokens,
       llmcost.price('openai', 'gpt-4o', '2026-01-15', 1000, 0, batch => NULL) AS null_batch,
       llmcost.resolve_model(NULL, 'gpt-4o') AS resolve_null_provider,
       llmcost.resolve_model('openai', NULL) AS resolve_null_model,
       llmcost.event_rate_id(NULL, 'openai', 'gpt-4o') AS rate_null_time,
       llmcost.event_cost_nusd('2026-01-15', 'openai', 'gpt-4o', 1, 0, 0, 1, 0, NULL, 'miss', false, NULL) AS cost_null_feature;
