-- One regression test per cost bug our peers shipped (../shared/reference/pricing-semantics.md).
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
-- Anthropic-like prices: input $3, cache read $0.30, cache write $3.75, output $15.
SELECT llmcost.set_rate('peer-model', '2026-01-01', input_per_mtok => 3, output_per_mtok => 15,
        cached_read_per_mtok => 0.3, cache_write_per_mtok => 3.75, provider => 'anthropic');

-- langfuse#5568, #10592: cached tokens counted twice (inclusive count + cached count).
-- 10,000 input of which 8,000 cached: 2,000 x $3 + 8,000 x $0.30 = $0.0084, not $0.0324.
SELECT llmcost.price('anthropic', 'peer-model', '2026-02-01', 10000, 0, 8000) AS cost,
       llmcost.price('anthropic', 'peer-model', '2026-02-01', 10000, 0, 8000) = 0.0084 AS cached_once;

-- litellm#9812: Anthropic cache creation charged twice (cost ~1.7x the bill).
-- Anthropic reports input 100 (uncached), cache_creation 5,000, cache_read 0.
SELECT llmcost.inclusive_input_tokens(100, 0, 5000) AS inclusive_input,
       llmcost.price('anthropic', 'peer-model', '2026-02-01',
                     llmcost.inclusive_input_tokens(100, 0, 5000), 0, 0, 5000) AS cost,
       (100 * 3 + 5000 * 3.75) / 1000000 AS anthropic_bill;

-- litellm#11364, #34801: cache-read discount not applied / overstated.
SELECT llmcost.price('anthropic', 'peer-model', '2026-02-01', 1000, 0, 1000) AS all_cached,
       llmcost.price('anthropic', 'peer-model', '2026-02-01', 1000, 0, 0) AS none_cached;

-- litellm#10691: reasoning tokens not counted. output_tokens includes reasoning.
SELECT llmcost.price('openai', 'o3', '2026-02-01', 0, 5000, 0, 0, 4500) AS with_reasoning,
       5000 * 8 / 1000000.0 AS all_output_at_output_price;

-- litellm#35691, langfuse#10958, #16575, helicone#2983: unknown or prefixed names
-- priced $0.  Unknown: kept, NULL cost, listed; prefixed: matched.
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES ('2026-01-12', 'peer-unknown', 'f', 'newco', 'newco-ultra-2', 1000, 1000),
       ('2026-01-12', 'peer-prefixed', 'f', 'openai', 'openai/gpt-4o-mini', 1000, 1000);
SELECT request_id, cost_nusd, cost_nusd IS NULL AS unpriced FROM llmcost.events
 WHERE request_id LIKE 'peer-%' ORDER BY 1;
SELECT provider, model, calls, input_tokens, output_tokens FROM llmcost.unpriced WHERE provider = 'newco';

-- langfuse#12184: a new or corrected price never reaches past data.  Here it does,
-- on purpose, with reprice (see reprice.sql); without it the past stays as it was.
SELECT llmcost.set_rate('newco-ultra-2', '2026-01-01', input_per_mtok => 1, output_per_mtok => 2);
SELECT cost_nusd FROM llmcost.events WHERE request_id = 'peer-unknown';
SELECT * FROM llmcost.reprice_range('2026-01-12', '2026-01-13');
SELECT cost_nusd FROM llmcost.events WHERE request_id = 'peer-unknown';

-- litellm#41499: the price list stored in every row (65% of each row).  An event
-- stores one integer rate_id and one bigint cost: no prices, no JSON.
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a
 WHERE a.attrelid = 'llmcost.events'::regclass AND a.attname IN ('cost_nusd', 'rate_id')
 ORDER BY 1;

-- litellm#16582: retention by DELETE bloats tables.  Retention drops whole daily
-- partitions: each day is its own table.
SELECT count(*) > 0 AS daily_partitions FROM pg_inherits
 WHERE inhparent = 'llmcost.events'::regclass;
