-- Realistic LLM traffic for llmcost's demo and benchmarks.
--
--   llmcost_demo.generate(events, days, end_at, seed)
--
-- returns rows in the column order of llmcost_demo.columns(): 20 features,
-- 10,000 users whose spend is heavy-tailed (a power law: a few users make
-- most calls), eight models of OpenAI, Anthropic and Google plus one model
-- no rate card knows, lognormal token counts and latencies, prompt-cache
-- reads and writes, reasoning tokens, application-cache hits, errors and
-- retries.  Deterministic for a given seed.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS llmcost_demo CASCADE;
RESET client_min_messages;
CREATE SCHEMA llmcost_demo;

CREATE TABLE llmcost_demo.features (id int PRIMARY KEY, name text, weight float8,
    models text[], input_median float8, output_median float8, cacheable float8);
INSERT INTO llmcost_demo.features VALUES
 (0,  'chat-assistant',     20, '{gpt-4o,claude-sonnet-4-5-20250929}',       2500, 400, 0.6),
 (1,  'search-answer',      14, '{gpt-4o-mini,gemini-2.5-flash}',            4000, 250, 0.3),
 (2,  'doc-summarize',       8, '{claude-haiku-4-5-20251001,gpt-4o-mini}',  12000, 600, 0.2),
 (3,  'code-review',         6, '{claude-sonnet-4-5-20250929,o4-mini}',      9000, 900, 0.5),
 (4,  'email-draft',         6, '{gpt-4o-mini}',                             1200, 350, 0.1),
 (5,  'support-triage',      7, '{gpt-4.1-mini,gemini-2.5-flash}',           1800, 120, 0.4),
 (6,  'support-reply',       6, '{gpt-4o,claude-haiku-4-5-20251001}',        3500, 450, 0.5),
 (7,  'sql-copilot',         4, '{o4-mini,gpt-4.1}',                         5000, 700, 0.4),
 (8,  'meeting-notes',       3, '{gemini-2.5-pro,claude-sonnet-4-5-20250929}', 30000, 1200, 0.1),
 (9,  'translation',         4, '{gpt-4o-mini,gemini-2.5-flash}',            1500, 1500, 0.0),
 (10, 'classification',      5, '{gpt-4.1-nano,gemini-2.5-flash}',            600,   5, 0.7),
 (11, 'embeddings-index',    5, '{text-embedding-3-small}',                  2000,   0, 0.0),
 (12, 'rag-rerank',          3, '{gpt-4.1-mini}',                            6000,  50, 0.3),
 (13, 'agent-planner',       2, '{o3,claude-opus-4-1-20250805}',             8000, 2000, 0.6),
 (14, 'agent-tools',         2, '{gpt-4.1,claude-sonnet-4-5-20250929}',     15000, 600, 0.8),
 (15, 'report-writer',       1, '{gemini-2.5-pro}',                         40000, 3000, 0.2),
 (16, 'moderation',          4, '{gpt-4.1-nano}',                             400,   2, 0.0),
 (17, 'onboarding-tips',     1, '{gpt-4o-mini}',                              900, 200, 0.9),
 (18, 'voice-transcript-qa', 1, '{gemini-2.5-flash,acme-internal-llm}',     20000, 400, 0.1),
 (19, 'legacy-chat',         1, '{gpt-4o-2024-05-13,acme-internal-llm}',     2000, 300, 0.0);

-- cumulative weights, to pick a feature with one random number
CREATE TABLE llmcost_demo.feature_cdf AS
SELECT id, sum(weight) OVER (ORDER BY id) / sum(weight) OVER () AS upto FROM llmcost_demo.features;

CREATE FUNCTION llmcost_demo.provider_of(model text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE WHEN model LIKE 'claude%' THEN 'anthropic'
            WHEN model LIKE 'gemini%' THEN 'gcp.gemini'
            WHEN model LIKE 'acme%' THEN 'acme'
            ELSE 'openai' END;

-- a standard normal number from two uniform ones (Box-Muller)
CREATE FUNCTION llmcost_demo.normal(u1 float8, u2 float8) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN sqrt(-2 * ln(greatest(u1, 1e-12))) * cos(2 * pi() * u2);

CREATE FUNCTION llmcost_demo.generate(events int, days int DEFAULT 30,
                                      end_at timestamptz DEFAULT now(), seed float8 DEFAULT 0.42)
RETURNS TABLE (event_time timestamptz, request_id text, trace_id text, span_id text, user_id text,
               feature text, provider text, model text, operation text, input_tokens int,
               cached_read_tokens int, cache_write_tokens int, output_tokens int,
               reasoning_tokens int, latency_ms float8, error_class text, cache_status text,
               batch boolean, attempt smallint, first_request_id text, client_cost_usd numeric,
               attributes jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setseed(seed);
    RETURN QUERY
    WITH r AS (
        SELECT i, random() AS r_time, random() AS r_feat, random() AS r_user, random() AS r_model,
               random() AS n1, random() AS n2, random() AS n3, random() AS n4,
               random() AS r_cache, random() AS r_app, random() AS r_err, random() AS r_lat
          FROM generate_series(1, events) i
    ), e AS (
        SELECT r.*, f.*,
               end_at - (days * interval '1 day') * (1 - r.r_time) AS t,
               -- power law: user u0000 is the heaviest, u9999 the lightest
               'u' || lpad(floor(10000 * power(r.r_user, 3))::int::text, 4, '0') AS uid,
               f.models[1 + floor(r.r_model * array_length(f.models, 1))::int] AS m
          FROM r
          JOIN LATERAL (SELECT c.id FROM llmcost_demo.feature_cdf c WHERE c.upto >= r.r_feat
                         ORDER BY c.upto LIMIT 1) pick ON true
          JOIN llmcost_demo.features f ON f.id = pick.id
    ), tok AS (
        SELECT e.*,
               greatest(1, round(e.input_median * exp(0.8 * llmcost_demo.normal(e.n1, e.n2))))::int AS inp,
               CASE WHEN e.output_median = 0 THEN 0
                    ELSE greatest(1, round(e.output_median * exp(0.7 * llmcost_demo.normal(e.n3, e.n4))))::int END AS outp,
               CASE WHEN e.r_app < 0.11 THEN NULL
                    WHEN e.r_err < 0.012 THEN 'rate_limit' WHEN e.r_err < 0.018 THEN 'timeout'
                    WHEN e.r_err < 0.021 THEN 'context_length_exceeded' WHEN e.r_err < 0.024 THEN 'server_error' END AS err,
               CASE WHEN e.r_app < 0.07 THEN 'exact_hit' WHEN e.r_app < 0.11 THEN 'semantic_hit' ELSE 'miss' END AS app
          FROM e
    )
    SELECT tok.t,
           'demo-' || tok.i,
           md5('trace' || tok.i),
           left(md5('span' || tok.i), 16),
           tok.uid,
           tok.name,
           llmcost_demo.provider_of(tok.m),
           tok.m,
           CASE WHEN tok.m LIKE 'text-embedding%' THEN 'embeddings' ELSE 'chat' END,
           tok.inp,
           -- prompt-cache reads on cacheable features (not for errors or app-cache hits)
           CASE WHEN tok.err IS NULL AND tok.app = 'miss' AND tok.r_cache < tok.cacheable
                THEN floor(tok.inp * 0.8 * tok.r_cache / greatest(tok.cacheable, 0.01))::int ELSE 0 END,
           -- Anthropic cache writes: a tenth of the cacheable calls
           CASE WHEN tok.err IS NULL AND tok.app = 'miss' AND tok.m LIKE 'claude%' AND tok.r_cache > 0.9
                THEN floor(tok.inp * 0.15)::int ELSE 0 END,
           CASE WHEN tok.err IS NULL THEN tok.outp ELSE 0 END,
           CASE WHEN tok.err IS NULL AND tok.m IN ('o3', 'o4-mini', 'gemini-2.5-pro')
                THEN floor(tok.outp * 0.6)::int ELSE 0 END,
           round((CASE WHEN tok.app <> 'miss' THEN 15 ELSE 300 + tok.outp * 12 END
                  * exp(0.5 * llmcost_demo.normal(tok.r_lat, tok.n1)))::numeric, 1)::float8,
           tok.err,
           tok.app,
           tok.name = 'report-writer',
           (CASE WHEN tok.i % 97 = 0 THEN 2 ELSE 1 END)::smallint,
           CASE WHEN tok.i % 97 = 0 THEN 'demo-' || (tok.i - 1) END,
           NULL::numeric,
           jsonb_build_object('region', CASE WHEN tok.i % 3 = 0 THEN 'eu' ELSE 'us' END)
      FROM tok;
END
$$;

-- the column list of llmcost.events the generator fills, for INSERT and COPY
CREATE FUNCTION llmcost_demo.columns() RETURNS text LANGUAGE sql IMMUTABLE
RETURN 'event_time, request_id, trace_id, span_id, user_id, feature, provider, model, operation, '
    || 'input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, '
    || 'latency_ms, error_class, cache_status, batch, attempt, first_request_id, client_cost_usd, attributes';
