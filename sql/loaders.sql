-- Loading the community price lists: LiteLLM (USD per token, inclusive) and
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
-- Langfuse (tiers, exclusive usage buckets).  Excerpts of the real formats.
SELECT * FROM llmcost.load_litellm_prices($json${
  "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "one of ..."},
  "lite-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
              "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_batches": 1.25e-06,
              "litellm_provider": "openai", "mode": "chat"},
  "lite-sonnet": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
              "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
              "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
              "cache_read_input_token_cost_above_200k_tokens": 6e-07,
              "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
              "litellm_provider": "anthropic", "mode": "chat"},
  "lite-flash": {"input_cost_per_token": 3e-07, "output_cost_per_token": 2.5e-06,
              "output_cost_per_reasoning_token": 3.5e-06, "litellm_provider": "gemini"},
  "lite-image": {"output_cost_per_image": 0.04, "litellm_provider": "openai"},
  "lite-broken": {"input_cost_per_token": "free", "output_cost_per_token": 1e-06}
}$json$, '2026-04-01');
SELECT model, provider, input_per_mtok, cached_read_per_mtok, cache_write_per_mtok, output_per_mtok,
       reasoning_per_mtok, long_context_threshold, long_input_per_mtok, long_output_per_mtok,
       long_cached_read_per_mtok, long_cache_write_per_mtok, batch_discount, source
  FROM llmcost.rates WHERE model LIKE 'lite-%' ORDER BY model;
-- loading the same list again changes nothing; a provider filter skips the rest
SELECT * FROM llmcost.load_litellm_prices('{"lite-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_batches": 1.25e-06, "litellm_provider": "openai"}, "lite-x": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06, "litellm_provider": "xai"}}', '2026-05-01', ARRAY['openai']);
-- a new price later closes the old one at that instant
SELECT * FROM llmcost.load_litellm_prices('{"lite-4o": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "litellm_provider": "openai"}}', '2026-06-01');
SELECT valid_from, valid_until, input_per_mtok FROM llmcost.rates WHERE model = 'lite-4o' ORDER BY valid_from;

SELECT * FROM llmcost.load_langfuse_prices($json$[
  {"modelName": "fuse-pro", "matchPattern": "(?i)^(google/)?(fuse-pro)$", "tokenizerId": "google",
   "pricingTiers": [
     {"name": "Standard", "isDefault": true, "priority": 0, "conditions": [],
      "prices": {"input": 1.25e-06, "input_cached_tokens": 1.25e-07, "output": 1e-05,
                 "output_reasoning_tokens": 1e-05}},
     {"name": "Large Context", "isDefault": false, "priority": 1,
      "conditions": [{"usageDetailPattern": "(input|prompt|cached)", "operator": "gt", "value": 200000}],
      "prices": {"input": 2.5e-06, "input_cached_tokens": 2.5e-07, "output": 1.5e-05}}]},
  {"modelName": "fuse-claude", "tokenizerId": "claude",
   "pricingTiers": [
     {"name": "Standard", "isDefault": true, "priority": 0, "conditions": [],
      "prices": {"input": 3e-06, "output": 1.5e-05, "cache_creation_input_tokens": 3.75e-06,
                 "cache_read_input_tokens": 3e-07}},
     {"name": "Fast", "isDefault": false, "priority": 1,
      "conditions": [{"source": "model_parameters", "key": "service_tier", "operator": "in", "values": ["fast"]}],
      "prices": {"input": 6e-06, "output": 3e-05}}]},
  {"modelName": "fuse-no-tiers", "pricingTiers": []}
]$json$, '2026-04-01');
SELECT model, provider, input_per_mtok, cached_read_per_mtok, cache_write_per_mtok, output_per_mtok,
       reasoning_per_mtok, long_context_threshold, long_input_per_mtok, long_output_per_mtok,
       long_cached_read_per_mtok, source
  FROM llmcost.rates WHERE model LIKE 'fuse-%' ORDER BY model;
SELECT llmcost.price('google', 'fuse-pro', '2026-04-02', 250000, 1000) AS long_context_call;

-- the wrong shape is a clear error
SELECT * FROM llmcost.load_litellm_prices('[1, 2]');
-- an entry the rates' rules refuse is skipped with a warning; the others load
SELECT * FROM llmcost.load_litellm_prices('{"lite-absurd": {"input_cost_per_token": 5000, "output_cost_per_token": 1e-06}, "lite-fine": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}', '2026-07-01');
SELECT model, input_per_mtok FROM llmcost.rates WHERE model IN ('lite-absurd', 'lite-fine');
SELECT * FROM llmcost.load_langfuse_prices('{"a": 1}');
