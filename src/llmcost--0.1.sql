\echo Use "CREATE EXTENSION llmcost" to load this file. \quit

-- llmcost 0.1: events, time-valid rates, exact pricing in C.
--
-- Conventions of this script: built-ins are qualified with pg_catalog and
-- operators written OPERATOR(pg_catalog.x) wherever a function body is
-- parsed at run time; SQL functions use standard bodies (parsed here, at
-- install time); PL/pgSQL functions pin search_path.  Money is bigint
-- nano-USD (1e-9 USD) everywhere; llmcost.usd() shows it as numeric USD.

-- Names in this script resolve in pg_catalog and llmcost only.  CREATE
-- EXTENSION also puts the schema of btree_gist (a required extension,
-- usually public) in the path, where anyone allowed to create objects could
-- plant an overload of a built-in that matches better (a jsonb_agg(jsonb)
-- beats pg_catalog.jsonb_agg(anyelement)) and have it bound into a view or
-- a SQL function body here.  SET LOCAL: CREATE EXTENSION restores the
-- path after the script (a plain SET would outlive it).
SET LOCAL search_path = pg_catalog, llmcost, pg_temp;

-- The schema llmcost must be the one this CREATE EXTENSION made, or an empty
-- one owned by a superuser or the installing role (a restore makes it
-- first): objects planted by someone else in a schema of that name would be
-- found by the names this script resolves, and would stay callable.
DO $$
DECLARE
    owner_name name;
    owner_ok boolean;
    planted bigint;
    ns oid := pg_catalog.to_regnamespace('llmcost');
BEGIN
    SELECT r.rolname, r.rolsuper OR r.rolname OPERATOR(pg_catalog.=) CURRENT_USER INTO owner_name, owner_ok
      FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.oid OPERATOR(pg_catalog.=) ns;
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_collation c WHERE c.collnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_conversion c WHERE c.connamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_ts_config c WHERE c.cfgnamespace OPERATOR(pg_catalog.=) ns)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace OPERATOR(pg_catalog.=) ns)
      INTO planted;
    IF NOT owner_ok OR planted OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION 'schema llmcost already exists (owner %, % objects in it)', owner_name, planted
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'llmcost installs into a schema of its own: drop this one (or let a superuser own it, empty) and run CREATE EXTENSION again.';
    END IF;
END
$$;

--------------------------------------------------------------------------
-- Money and token helpers
--------------------------------------------------------------------------

CREATE FUNCTION llmcost.usd(nanousd numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN nanousd OPERATOR(pg_catalog.*) 0.000000001;
COMMENT ON FUNCTION llmcost.usd(numeric) IS
    'nano-USD (the unit of every llmcost cost column) as exact numeric USD';

CREATE FUNCTION llmcost.valid_price(usd_per_mtok numeric) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN usd_per_mtok IS NULL
        OR (usd_per_mtok OPERATOR(pg_catalog.>=) 0
            AND usd_per_mtok OPERATOR(pg_catalog.<) 1000000
            AND pg_catalog.scale(usd_per_mtok) OPERATOR(pg_catalog.<=) 9);
COMMENT ON FUNCTION llmcost.valid_price(numeric) IS
    'true when a price (USD per million tokens) is NULL or in [0, 1e6) with at most 9 decimals, so that it is exact in nano-USD';

CREATE FUNCTION llmcost.inclusive_input_tokens(input_tokens integer,
                                               cache_read_input_tokens integer,
                                               cache_creation_input_tokens integer)
    RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN input_tokens OPERATOR(pg_catalog.+) cache_read_input_tokens
           OPERATOR(pg_catalog.+) cache_creation_input_tokens;
COMMENT ON FUNCTION llmcost.inclusive_input_tokens(integer, integer, integer) IS
    'converts Anthropic-style usage, whose input_tokens excludes cache reads and writes, to the inclusive input_tokens of llmcost.events';

--------------------------------------------------------------------------
-- Rates
--------------------------------------------------------------------------

CREATE TABLE llmcost.rates (
    rate_id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 100000) PRIMARY KEY,
    model text NOT NULL
        CONSTRAINT rates_model_format
        CHECK (model OPERATOR(pg_catalog.=) pg_catalog.lower(model)
               AND pg_catalog.length(model) OPERATOR(pg_catalog.<) 128
               AND model OPERATOR(pg_catalog.<>) ''),
    provider text,
    valid_from timestamptz NOT NULL,
    valid_until timestamptz,
    input_per_mtok numeric NOT NULL,
    cached_read_per_mtok numeric,
    cache_write_per_mtok numeric,
    output_per_mtok numeric NOT NULL,
    reasoning_per_mtok numeric,
    long_context_threshold integer
        CONSTRAINT rates_long_context_threshold_positive
        CHECK (long_context_threshold OPERATOR(pg_catalog.>) 0),
    long_input_per_mtok numeric,
    long_cached_read_per_mtok numeric,
    long_cache_write_per_mtok numeric,
    long_output_per_mtok numeric,
    batch_discount numeric NOT NULL DEFAULT 0
        CONSTRAINT rates_batch_discount_range
        CHECK (batch_discount OPERATOR(pg_catalog.>=) 0
               AND batch_discount OPERATOR(pg_catalog.<) 1
               AND pg_catalog.scale(batch_discount) OPERATOR(pg_catalog.<=) 4),
    is_default boolean NOT NULL DEFAULT false,
    source text,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT rates_valid_range
        CHECK (valid_until IS NULL OR valid_until OPERATOR(pg_catalog.>) valid_from),
    -- every price: USD per million tokens, >= 0, at most 9 decimals, below 1e6
    CONSTRAINT rates_prices_exact CHECK (
        llmcost.valid_price(input_per_mtok) AND llmcost.valid_price(cached_read_per_mtok)
        AND llmcost.valid_price(cache_write_per_mtok) AND llmcost.valid_price(output_per_mtok)
        AND llmcost.valid_price(reasoning_per_mtok) AND llmcost.valid_price(long_input_per_mtok)
        AND llmcost.valid_price(long_cached_read_per_mtok)
        AND llmcost.valid_price(long_cache_write_per_mtok)
        AND llmcost.valid_price(long_output_per_mtok)),
    CONSTRAINT rates_long_context_complete CHECK (
        (long_context_threshold IS NULL) =
        (long_input_per_mtok IS NULL AND long_output_per_mtok IS NULL
         AND long_cached_read_per_mtok IS NULL AND long_cache_write_per_mtok IS NULL)),
    -- no two rates of one model and origin overlap in time
    CONSTRAINT rates_no_overlap EXCLUDE USING gist (
        model WITH OPERATOR(pg_catalog.=),
        is_default WITH OPERATOR(pg_catalog.=),
        pg_catalog.tstzrange(valid_from, valid_until) WITH OPERATOR(pg_catalog.&&))
);

COMMENT ON TABLE llmcost.rates IS
    'published prices, USD per million tokens, each valid over [valid_from, valid_until); the operator''s rows (is_default = false) win over the shipped default card';
COMMENT ON COLUMN llmcost.rates.rate_id IS 'identifies the rate; llmcost.events.rate_id records which rate priced each call';
COMMENT ON COLUMN llmcost.rates.model IS 'lower-case model name as priced (see "Model name matching" in the README); "<provider>/<model>" prices one provider''s deployment only';
COMMENT ON COLUMN llmcost.rates.provider IS 'provider that publishes the price (informational)';
COMMENT ON COLUMN llmcost.rates.valid_from IS 'first instant the price applies to, inclusive';
COMMENT ON COLUMN llmcost.rates.valid_until IS 'instant the price stops applying, exclusive; NULL while current';
COMMENT ON COLUMN llmcost.rates.input_per_mtok IS 'uncached input tokens, USD per million';
COMMENT ON COLUMN llmcost.rates.cached_read_per_mtok IS 'input tokens read from the provider''s prompt cache; NULL: billed as input';
COMMENT ON COLUMN llmcost.rates.cache_write_per_mtok IS 'input tokens written to the provider''s prompt cache; NULL: billed as input';
COMMENT ON COLUMN llmcost.rates.output_per_mtok IS 'output tokens, USD per million';
COMMENT ON COLUMN llmcost.rates.reasoning_per_mtok IS 'reasoning tokens when they are priced apart from output; NULL: billed as output';
COMMENT ON COLUMN llmcost.rates.long_context_threshold IS 'input tokens above which (strictly) the whole request is billed at the long_* prices; NULL: no long-context tier';
COMMENT ON COLUMN llmcost.rates.long_input_per_mtok IS 'long-context tier: uncached input; NULL: input_per_mtok';
COMMENT ON COLUMN llmcost.rates.long_cached_read_per_mtok IS 'long-context tier: cached reads; NULL: cached_read_per_mtok';
COMMENT ON COLUMN llmcost.rates.long_cache_write_per_mtok IS 'long-context tier: cache writes; NULL: cache_write_per_mtok';
COMMENT ON COLUMN llmcost.rates.long_output_per_mtok IS 'long-context tier: output; NULL: output_per_mtok';
COMMENT ON COLUMN llmcost.rates.batch_discount IS 'fraction taken off calls made through the batch API (0.5 = half price), at most 4 decimals';
COMMENT ON COLUMN llmcost.rates.is_default IS 'true for the default card shipped with llmcost (read-only, restored by CREATE EXTENSION)';
COMMENT ON COLUMN llmcost.rates.source IS 'where the price came from (llmcost default card, litellm, langfuse, manual, ...)';
COMMENT ON COLUMN llmcost.rates.created_at IS 'when the row was written';

CREATE TABLE llmcost.model_aliases (
    alias text PRIMARY KEY
        CONSTRAINT model_aliases_alias_format
        CHECK (alias OPERATOR(pg_catalog.=) pg_catalog.lower(alias)
               AND pg_catalog.length(alias) OPERATOR(pg_catalog.<) 128),
    model text NOT NULL
        CONSTRAINT model_aliases_model_format
        CHECK (model OPERATOR(pg_catalog.=) pg_catalog.lower(model)
               AND pg_catalog.length(model) OPERATOR(pg_catalog.<) 128),
    note text
);
COMMENT ON TABLE llmcost.model_aliases IS
    'explicit model-name aliases for names the automatic matching does not map (for example an Azure deployment name)';
COMMENT ON COLUMN llmcost.model_aliases.alias IS 'lower-case name as events report it';
COMMENT ON COLUMN llmcost.model_aliases.model IS 'llmcost.rates.model it is priced as';
COMMENT ON COLUMN llmcost.model_aliases.note IS 'free text';

-- Every committed change to rates or aliases reaches every backend's cache.
CREATE FUNCTION llmcost.rates_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'llmcost_rates_changed';
COMMENT ON FUNCTION llmcost.rates_changed() IS
    'trigger: invalidates every backend''s rate cache when llmcost.rates or llmcost.model_aliases change';
CREATE TRIGGER rates_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llmcost.rates
    FOR EACH STATEMENT EXECUTE FUNCTION llmcost.rates_changed();
CREATE TRIGGER model_aliases_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llmcost.model_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION llmcost.rates_changed();

--------------------------------------------------------------------------
-- Pricing functions (C)
--------------------------------------------------------------------------

-- IMMUTABLE because PostgreSQL demands it of generated columns: the result
-- is fixed for a given content of llmcost.rates, and stored costs change
-- only through llmcost.reprice().  See src/pricing.c.
CREATE FUNCTION llmcost.event_cost_nusd(event_time timestamptz, provider text, model text,
                                        input_tokens integer, cached_read_tokens integer,
                                        cache_write_tokens integer, output_tokens integer,
                                        reasoning_tokens integer, latency_ms double precision,
                                        cache_status text, batch boolean, feature text)
    RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'llmcost_event_cost_nusd';
COMMENT ON FUNCTION llmcost.event_cost_nusd(timestamptz, text, text, integer, integer, integer, integer, integer, double precision, text, boolean, text) IS
    'validates one event and returns its exact cost in nano-USD from the rate valid at event_time; NULL when no rate covers the model (unpriced)';

CREATE FUNCTION llmcost.event_rate_id(event_time timestamptz, provider text, model text)
    RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'llmcost_event_rate_id';
COMMENT ON FUNCTION llmcost.event_rate_id(timestamptz, text, text) IS
    'rate_id of the rate that prices the model at event_time, or NULL';

CREATE FUNCTION llmcost.price(provider text, model text, at timestamptz,
                              input_tokens integer, output_tokens integer,
                              cached_read_tokens integer DEFAULT 0,
                              cache_write_tokens integer DEFAULT 0,
                              reasoning_tokens integer DEFAULT 0,
                              batch boolean DEFAULT false)
    RETURNS numeric
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'llmcost_price';
COMMENT ON FUNCTION llmcost.price(text, text, timestamptz, integer, integer, integer, integer, integer, boolean) IS
    'what one call would cost in USD at a given time (inclusive token counts), or NULL when no rate covers the model';

CREATE FUNCTION llmcost.resolve_model(provider text, model text) RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'llmcost_resolve_model';
COMMENT ON FUNCTION llmcost.resolve_model(text, text) IS
    'the llmcost.rates model name a reported (provider, model) pair is priced as, or NULL';

--------------------------------------------------------------------------
-- Events
--------------------------------------------------------------------------

CREATE TABLE llmcost.events (
    event_time timestamptz NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    trace_id text,
    span_id text,
    user_id text,
    feature text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    requested_model text
        CONSTRAINT events_requested_model_not_empty CHECK (requested_model OPERATOR(pg_catalog.<>) ''),
    operation text NOT NULL DEFAULT 'chat',
    input_tokens integer NOT NULL DEFAULT 0,
    cached_read_tokens integer NOT NULL DEFAULT 0,
    cache_write_tokens integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    reasoning_tokens integer NOT NULL DEFAULT 0,
    latency_ms double precision,
    error_class text,
    cache_status text NOT NULL DEFAULT 'miss',
    batch boolean NOT NULL DEFAULT false,
    attempt smallint NOT NULL DEFAULT 1
        CONSTRAINT events_attempt_positive CHECK (attempt OPERATOR(pg_catalog.>=) 1),
    first_request_id text,
    client_cost_usd numeric,
    attributes jsonb,
    ingested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    cost_nusd bigint GENERATED ALWAYS AS (
        llmcost.event_cost_nusd(event_time, provider, model, input_tokens, cached_read_tokens,
                                cache_write_tokens, output_tokens, reasoning_tokens, latency_ms,
                                cache_status, batch, feature)) STORED,
    rate_id integer GENERATED ALWAYS AS (
        llmcost.event_rate_id(event_time, provider, model)) STORED,
    CONSTRAINT events_request_once UNIQUE (event_time, request_id)
) PARTITION BY RANGE (event_time);

COMMENT ON TABLE llmcost.events IS
    'one row per LLM call actually made (or answered from the application cache), partitioned by day; cost_nusd and rate_id are computed by llmcost';
COMMENT ON COLUMN llmcost.events.event_time IS 'when the call was made; the rate valid at this instant prices it';
COMMENT ON COLUMN llmcost.events.request_id IS 'provider response id or the application''s own id; (request_id, event_time) is stored once';
COMMENT ON COLUMN llmcost.events.trace_id IS 'OpenTelemetry trace id (hex)';
COMMENT ON COLUMN llmcost.events.span_id IS 'OpenTelemetry span id (hex)';
COMMENT ON COLUMN llmcost.events.user_id IS 'end user the call served (user.id); NULL for calls made for nobody in particular';
COMMENT ON COLUMN llmcost.events.feature IS 'product feature that made the call (gen_ai.agent.name, workflow); required, non-empty';
COMMENT ON COLUMN llmcost.events.provider IS 'gen_ai.provider.name: openai, anthropic, gcp.gemini, aws.bedrock, ...';
COMMENT ON COLUMN llmcost.events.model IS 'model that answered (gen_ai.response.model), as reported';
COMMENT ON COLUMN llmcost.events.requested_model IS 'gen_ai.request.model: the model the application asked for, when another one answered (a gateway''s fallback); NULL: the same as model';
COMMENT ON COLUMN llmcost.events.operation IS 'gen_ai.operation.name: chat, embeddings, ...';
COMMENT ON COLUMN llmcost.events.input_tokens IS 'all input tokens, cached reads and cache writes included (the OpenTelemetry/OpenAI convention)';
COMMENT ON COLUMN llmcost.events.cached_read_tokens IS 'part of input_tokens read from the provider''s prompt cache';
COMMENT ON COLUMN llmcost.events.cache_write_tokens IS 'part of input_tokens written to the provider''s prompt cache';
COMMENT ON COLUMN llmcost.events.output_tokens IS 'all output tokens, reasoning included';
COMMENT ON COLUMN llmcost.events.reasoning_tokens IS 'part of output_tokens spent on reasoning';
COMMENT ON COLUMN llmcost.events.latency_ms IS 'wall-clock duration of the call in milliseconds; finite, >= 0, or NULL';
COMMENT ON COLUMN llmcost.events.error_class IS 'error.type of a failed call; NULL on success';
COMMENT ON COLUMN llmcost.events.cache_status IS 'application cache: miss (the provider was called), exact_hit or semantic_hit (no provider call, cost 0, tokens are what the hit stood for)';
COMMENT ON COLUMN llmcost.events.batch IS 'true when the call went through the provider''s batch API (rates.batch_discount applies)';
COMMENT ON COLUMN llmcost.events.attempt IS '1 for the first attempt of a request, 2 for its first retry or fallback, ...';
COMMENT ON COLUMN llmcost.events.first_request_id IS 'request_id of the first attempt, for retries and fallbacks';
COMMENT ON COLUMN llmcost.events.client_cost_usd IS 'cost the client or provider reported, kept apart and never used by llmcost';
COMMENT ON COLUMN llmcost.events.attributes IS 'further span or application attributes';
COMMENT ON COLUMN llmcost.events.cost_nusd IS 'llmcost''s exact cost in nano-USD (1e-9 USD), computed on write; NULL: unpriced, waiting for a rate (see llmcost.unpriced)';
COMMENT ON COLUMN llmcost.events.rate_id IS 'llmcost.rates.rate_id that priced the call';
COMMENT ON COLUMN llmcost.events.ingested_at IS 'start of the transaction that wrote the row (its default; never set it): the arrival watermark of llmcost.refresh_rollups()';

-- Arrival order for the rollup refresh: tiny, and cheap to keep up at ingest.
CREATE INDEX events_ingested_at ON llmcost.events USING brin (ingested_at)
    WITH (pages_per_range = 32, autosummarize = on);

-- Unpriced events are few; this keeps llmcost.unpriced and reprice cheap.
CREATE INDEX events_unpriced ON llmcost.events (provider, model, event_time)
    WHERE cost_nusd IS NULL;

-- Rows of a day with no partition yet land here, never refused.
CREATE TABLE llmcost.events_default PARTITION OF llmcost.events DEFAULT;
COMMENT ON TABLE llmcost.events_default IS
    'events whose day has no partition yet; llmcost.create_partitions() moves them into their day';

--------------------------------------------------------------------------
-- Batch ingest that keeps every valid row
--------------------------------------------------------------------------

CREATE TABLE llmcost.rejected_events (
    rejected_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    source text NOT NULL,
    sqlstate text NOT NULL,
    message text NOT NULL,
    detail text,
    event jsonb NOT NULL
);
COMMENT ON TABLE llmcost.rejected_events IS
    'rows llmcost.ingest() refused, with the error that refused them; fix and ingest them again';
COMMENT ON COLUMN llmcost.rejected_events.rejected_at IS 'when the row was refused';
COMMENT ON COLUMN llmcost.rejected_events.source IS 'the staging table it came from';
COMMENT ON COLUMN llmcost.rejected_events.sqlstate IS 'SQLSTATE of the error (class 22 or 23 for bad data)';
COMMENT ON COLUMN llmcost.rejected_events.message IS 'the error message, naming the column and the value';
COMMENT ON COLUMN llmcost.rejected_events.detail IS 'the error detail';
COMMENT ON COLUMN llmcost.rejected_events.event IS 'the refused row as JSON';

CREATE FUNCTION llmcost.ingest(staging regclass,
                               OUT inserted bigint, OUT duplicates bigint, OUT rejected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    total bigint;
    r jsonb;
    n bigint;
    st text;
    msg text;
    det text;
BEGIN
    -- the staging table's columns that llmcost.events takes from clients
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = staging AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname IN (SELECT e.attname FROM pg_attribute e
                          WHERE e.attrelid = 'llmcost.events'::regclass AND e.attnum > 0
                            AND NOT e.attisdropped AND e.attgenerated = ''
                            AND e.attname <> 'ingested_at');
    IF cols IS NULL THEN
        RAISE EXCEPTION 'staging table % has no column of llmcost.events', staging
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', staging) INTO total;
    inserted := 0; rejected := 0;
    BEGIN
        -- the fast path: every row is valid
        EXECUTE format('INSERT INTO llmcost.events (%s) SELECT %s FROM %s ON CONFLICT DO NOTHING',
                       cols, cols, staging);
        GET DIAGNOSTICS inserted = ROW_COUNT;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
        -- some row is bad: take them one at a time, keeping every valid one
        FOR r IN EXECUTE format('SELECT to_jsonb(s) FROM (SELECT %s FROM %s) s', cols, staging) LOOP
            BEGIN
                EXECUTE format('INSERT INTO llmcost.events (%s) SELECT %s FROM jsonb_populate_record(NULL::llmcost.events, $1) ON CONFLICT DO NOTHING',
                               cols, cols) USING r;
                GET DIAGNOSTICS n = ROW_COUNT;
                inserted := inserted + n;
            EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
                INSERT INTO llmcost.rejected_events (source, sqlstate, message, detail, event)
                VALUES (staging::text, st, msg, NULLIF(det, ''), r);
                rejected := rejected + 1;
            END;
        END LOOP;
    END;
    duplicates := total - inserted - rejected;
END
$$;
COMMENT ON FUNCTION llmcost.ingest(regclass) IS
    'inserts the rows of a staging table (columns named as in llmcost.events) idempotently; rows that fail validation go to llmcost.rejected_events instead of failing the batch; returns the counts';

--------------------------------------------------------------------------
-- Partitions
--------------------------------------------------------------------------

--------------------------------------------------------------------------
-- OpenTelemetry GenAI spans (OTLP/JSON)
--------------------------------------------------------------------------

CREATE TYPE llmcost.otlp_span AS (
    resource_index integer, scope_index integer, span_index integer,
    outcome text, reason text,
    event_time timestamptz, request_id text, trace_id text, span_id text,
    parent_span_id text, user_id text, feature text, provider text, model text,
    requested_model text, operation text, input_tokens integer,
    cached_read_tokens integer, cache_write_tokens integer, output_tokens integer,
    reasoning_tokens integer, latency_ms double precision, error_class text,
    client_cost_usd numeric, scope_name text, scope_version text, service_name text,
    session_id text, input_normalized boolean, span jsonb);
COMMENT ON TYPE llmcost.otlp_span IS 'one span of an OTLP/JSON body as llmcost.otlp_spans() reads it: where it is, call, skipped or rejected (and why), and the event columns';

CREATE FUNCTION llmcost.otlp_spans(body jsonb, user_keys text[], feature_keys text[], default_feature text)
    RETURNS SETOF llmcost.otlp_span
    LANGUAGE c STABLE PARALLEL SAFE
    ROWS 100  -- an exporter's batch
    AS 'MODULE_PATHNAME', 'llmcost_otlp_spans';
COMMENT ON FUNCTION llmcost.otlp_spans(jsonb, text[], text[], text) IS
    'one row per span of an OTLP/JSON ExportTraceServiceRequest, mapped to event columns from every GenAI attribute dialect and classified: call, skipped (workflow, agent, task or tool spans, spans without a model, calls nested in another call span of the body) or rejected, with the reason; read-only, what llmcost.ingest_otlp() ingests';

CREATE TABLE llmcost.rejected_spans (
    rejected_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resource_index integer NOT NULL,
    scope_index integer NOT NULL,
    span_index integer NOT NULL,
    reason text NOT NULL,
    span jsonb
);
COMMENT ON TABLE llmcost.rejected_spans IS 'spans llmcost.ingest_otlp() refused, with the reason and the raw span (the good spans of their body were taken)';
COMMENT ON COLUMN llmcost.rejected_spans.rejected_at IS 'when';
COMMENT ON COLUMN llmcost.rejected_spans.resource_index IS 'index of its resourceSpans entry in the body';
COMMENT ON COLUMN llmcost.rejected_spans.scope_index IS 'index of its scopeSpans entry';
COMMENT ON COLUMN llmcost.rejected_spans.span_index IS 'index of the span';
COMMENT ON COLUMN llmcost.rejected_spans.reason IS 'what is wrong with it';
COMMENT ON COLUMN llmcost.rejected_spans.span IS 'the span as it came';

-- The model-call spans taken, by trace and span: a call reported by two
-- nested spans (a provider SDK's span inside an instrumentation's) is taken
-- once, whichever of its spans arrives first, in one body or several.
CREATE TABLE llmcost.otlp_model_calls (
    trace_id text COLLATE "C" NOT NULL,
    span_id text COLLATE "C" NOT NULL,
    parent_span_id text COLLATE "C",
    event_time timestamptz NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    CONSTRAINT otlp_model_calls_key PRIMARY KEY (trace_id, span_id)
);
-- (no index on the parent: the key's trace prefix finds a trace's few calls)
CREATE INDEX otlp_model_calls_time ON llmcost.otlp_model_calls USING brin (event_time);
COMMENT ON TABLE llmcost.otlp_model_calls IS 'model-call spans taken by llmcost.ingest_otlp(), so that nested spans of one call become one event; kept as long as raw events';
COMMENT ON COLUMN llmcost.otlp_model_calls.trace_id IS 'trace id (hex, lower case)';
COMMENT ON COLUMN llmcost.otlp_model_calls.span_id IS 'span id';
COMMENT ON COLUMN llmcost.otlp_model_calls.parent_span_id IS 'parent span id';
COMMENT ON COLUMN llmcost.otlp_model_calls.event_time IS 'the event''s event_time';
COMMENT ON COLUMN llmcost.otlp_model_calls.request_id IS 'the event''s request_id';

CREATE FUNCTION llmcost.ingest_otlp(body jsonb, OUT taken integer, OUT duplicates integer,
                                    OUT skipped integer, OUT rejected integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    sp llmcost.otlp_span[];
    traces text[];
    claimed text[];
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    sp := ARRAY(SELECT x FROM llmcost.otlp_spans(body, s.otlp_user_keys, s.otlp_feature_keys,
                                                 s.otlp_default_feature) x);

    -- Spans of one trace are taken one body at a time, so that two bodies
    -- carrying nested spans of the same call never both take it: a lock per
    -- trace, in order; a body of more traces than a transaction should hold
    -- locks takes the whole ingest for itself instead.
    traces := ARRAY(SELECT DISTINCT x.trace_id FROM unnest(sp) x WHERE x.outcome = 'call');
    IF cardinality(traces) > 64 THEN
        PERFORM pg_advisory_xact_lock(hashtext('llmcost.otlp'), 0);
    ELSIF cardinality(traces) > 0 THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('llmcost.otlp'), 0);
        PERFORM pg_advisory_xact_lock(hashtext('llmcost.otlp'), hashtext(t.id))
           FROM unnest(traces) t(id) ORDER BY hashtext(t.id);
    END IF;

    -- Claim the calls: not already taken (a retried delivery), not inside
    -- nor around a call taken from another body.
    WITH c AS (
        INSERT INTO llmcost.otlp_model_calls (trace_id, span_id, parent_span_id, event_time, request_id)
        SELECT x.trace_id, x.span_id, x.parent_span_id, x.event_time, x.request_id
          FROM unnest(sp) x
         WHERE x.outcome = 'call'
           AND NOT EXISTS (SELECT FROM llmcost.otlp_model_calls m
                            WHERE m.trace_id = x.trace_id
                              AND (m.span_id = x.parent_span_id OR m.parent_span_id = x.span_id))
        ON CONFLICT DO NOTHING
        RETURNING trace_id || span_id AS k)
    SELECT array_agg(c.k) INTO claimed FROM c;

    INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
                                model, requested_model, operation, input_tokens, cached_read_tokens,
                                cache_write_tokens, output_tokens, reasoning_tokens, latency_ms,
                                error_class, client_cost_usd, attributes)
    SELECT x.event_time, x.request_id, x.trace_id, x.span_id, x.user_id, x.feature, x.provider,
           x.model, x.requested_model, x.operation, x.input_tokens, x.cached_read_tokens,
           x.cache_write_tokens, x.output_tokens, x.reasoning_tokens, x.latency_ms, x.error_class,
           x.client_cost_usd,
           jsonb_strip_nulls(jsonb_build_object('otel.scope.name', x.scope_name,
                                                'otel.scope.version', x.scope_version,
                                                'service.name', x.service_name,
                                                'session.id', x.session_id,
                                                'llmcost.input_tokens_normalized',
                                                CASE WHEN x.input_normalized THEN true END))
      FROM unnest(sp) x
     WHERE x.outcome = 'call' AND x.trace_id || x.span_id = ANY (claimed)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS taken = ROW_COUNT;

    INSERT INTO llmcost.rejected_spans (resource_index, scope_index, span_index, reason, span)
    SELECT x.resource_index, x.scope_index, x.span_index, x.reason, x.span
      FROM unnest(sp) x WHERE x.outcome = 'rejected';
    GET DIAGNOSTICS rejected = ROW_COUNT;

    SELECT count(*) FILTER (WHERE x.outcome = 'call') - taken, count(*) FILTER (WHERE x.outcome = 'skipped')
      INTO duplicates, skipped
      FROM unnest(sp) x;
END
$$;
COMMENT ON FUNCTION llmcost.ingest_otlp(jsonb) IS
    'takes an OTLP/JSON ExportTraceServiceRequest: one event per model call (a call reported by nested spans, or delivered again, once); counts the calls taken, the duplicates (spans delivered again, or nested in a call taken from another body), the spans skipped (workflows, agents, tasks, tools, spans without a model, calls nested in another call span of the body) and the spans rejected into llmcost.rejected_spans';

CREATE FUNCTION llmcost.otlp_jsonb(body text) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_otlp_jsonb';
COMMENT ON FUNCTION llmcost.otlp_jsonb(text) IS
    'an OTLP/JSON body as jsonb; a body nested deeper than 100 levels is a data error (22P02) before it reaches the JSON parser';

CREATE FUNCTION llmcost.ingest_otlp(body text, OUT taken integer, OUT duplicates integer,
                                    OUT skipped integer, OUT rejected integer)
    LANGUAGE sql
BEGIN ATOMIC
    SELECT * FROM llmcost.ingest_otlp(llmcost.otlp_jsonb(body));
END;
COMMENT ON FUNCTION llmcost.ingest_otlp(text) IS 'llmcost.ingest_otlp(jsonb) for a body as text';

CREATE FUNCTION llmcost.ingest_otlp(body json, OUT taken integer, OUT duplicates integer,
                                    OUT skipped integer, OUT rejected integer)
    LANGUAGE sql
BEGIN ATOMIC
    SELECT * FROM llmcost.ingest_otlp(llmcost.otlp_jsonb(body::text));
END;
COMMENT ON FUNCTION llmcost.ingest_otlp(json) IS 'llmcost.ingest_otlp(jsonb) for a body as json';

CREATE FUNCTION llmcost.partition_name(day date) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN 'events_p' OPERATOR(pg_catalog.||) pg_catalog.to_char(day, 'YYYYMMDD');
COMMENT ON FUNCTION llmcost.partition_name(date) IS 'name of the partition of llmcost.events holding one UTC day';

CREATE FUNCTION llmcost.create_partitions(from_time timestamptz DEFAULT pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day',
                                          to_time timestamptz DEFAULT pg_catalog.now() OPERATOR(pg_catalog.+) interval '7 days')
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    day date := (date_trunc('day', from_time, 'UTC') AT TIME ZONE 'UTC')::date;
    last_day date := (date_trunc('day', to_time, 'UTC') AT TIME ZONE 'UTC')::date;
    lo timestamptz;
    hi timestamptz;
    part text;
    created integer := 0;
BEGIN
    IF from_time IS NULL OR to_time IS NULL THEN
        RAISE EXCEPTION 'create_partitions needs both from_time and to_time'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF last_day - day > 3660 THEN
        RAISE EXCEPTION 'create_partitions would create % partitions', last_day - day + 1
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Create at most ten years of daily partitions at a time.';
    END IF;
    -- one creator at a time; ingest keeps running (it only needs ROW EXCLUSIVE)
    PERFORM pg_advisory_xact_lock(hashtext('llmcost.create_partitions'));
    WHILE day <= last_day LOOP
        part := llmcost.partition_name(day);
        IF to_regclass(format('llmcost.%I', part)) IS NULL THEN
            lo := day::timestamp AT TIME ZONE 'UTC';
            hi := (day + 1)::timestamp AT TIME ZONE 'UTC';
            PERFORM llmcost.create_partition(part, lo, hi);
            created := created + 1;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION llmcost.create_partitions(timestamptz, timestamptz) IS
    'creates the missing daily (UTC) partitions of llmcost.events from from_time to to_time, moving any of their rows out of the default partition; returns how many it created';

-- One partition; rows of its day already in the default partition move in.
--
-- The partition is built apart and attached.  Its first column is a dropped
-- one, so that its row layout differs from the parent's: COPY into
-- llmcost.events then maps each row onto the partition by reference, where
-- for an identical layout it would form every row once to route it and once
-- more after computing the generated cost columns (PostgreSQL's copyfrom.c).
-- Attaching also takes a weaker lock on llmcost.events than CREATE TABLE
-- ... PARTITION OF, so ingestion goes on meanwhile.
CREATE FUNCTION llmcost.create_partition(part text, lo timestamptz, hi timestamptz)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stray bigint;
BEGIN
    IF part IS NULL OR part !~ '^events_p[0-9]{8,}$' OR lo IS NULL OR hi IS NULL OR NOT lo < hi THEN
        RAISE EXCEPTION 'invalid partition for llmcost.create_partition: "%" from % to % (a name of llmcost.partition_name() and a range)',
            left(part, 200), lo, hi USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('CREATE TABLE llmcost.%I (llmcost_layout integer, LIKE llmcost.events '
                   'INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)', part);
    EXECUTE format('ALTER TABLE llmcost.%I DROP COLUMN llmcost_layout', part);
    SELECT count(*) INTO stray FROM llmcost.events_default
     WHERE event_time >= lo AND event_time < hi;
    IF stray = 0 THEN
        EXECUTE format('ALTER TABLE llmcost.events ATTACH PARTITION llmcost.%I FOR VALUES FROM (%L) TO (%L)',
                       part, lo, hi);
        RETURN;
    END IF;
    -- Moving re-inserts the rows through the parent, which prices them
    -- again from the current rates: the same result unless the rates of
    -- their time were changed without a reprice.
    LOCK TABLE llmcost.events_default IN ACCESS EXCLUSIVE MODE;
    CREATE TEMP TABLE llmcost_moving ON COMMIT DROP AS
        SELECT * FROM llmcost.events_default WHERE event_time >= lo AND event_time < hi;
    DELETE FROM llmcost.events_default WHERE event_time >= lo AND event_time < hi;
    EXECUTE format('ALTER TABLE llmcost.events ATTACH PARTITION llmcost.%I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature,
            provider, model, requested_model, operation, input_tokens, cached_read_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, latency_ms, error_class, cache_status, batch,
            attempt, first_request_id, client_cost_usd, attributes)
        SELECT event_time, request_id, trace_id, span_id, user_id, feature,
            provider, model, requested_model, operation, input_tokens, cached_read_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, latency_ms, error_class, cache_status, batch,
            attempt, first_request_id, client_cost_usd, attributes
        FROM llmcost_moving;
    DROP TABLE llmcost_moving;
END
$$;
COMMENT ON FUNCTION llmcost.create_partition(text, timestamptz, timestamptz) IS
    'internal: creates one partition of llmcost.events, moving its rows out of the default partition';

--------------------------------------------------------------------------
-- Repricing
--------------------------------------------------------------------------

CREATE FUNCTION llmcost.reprice_range(from_time timestamptz, to_time timestamptz,
                                      OUT repriced bigint, OUT still_unpriced bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Assigning model to itself recomputes the generated cost_nusd and
    -- rate_id; only rows whose price actually changes are rewritten.  They
    -- count as arriving again, so the next rollup refresh recomputes their
    -- hours.
    UPDATE llmcost.events e SET model = e.model, ingested_at = pg_catalog.now()
     WHERE e.event_time >= from_time AND e.event_time < to_time
       AND (e.cost_nusd IS DISTINCT FROM
                llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                    e.cached_read_tokens, e.cache_write_tokens, e.output_tokens,
                    e.reasoning_tokens, e.latency_ms, e.cache_status, e.batch, e.feature)
            OR e.rate_id IS DISTINCT FROM llmcost.event_rate_id(e.event_time, e.provider, e.model));
    GET DIAGNOSTICS repriced = ROW_COUNT;
    SELECT count(*) INTO still_unpriced FROM llmcost.events e
     WHERE e.cost_nusd IS NULL AND e.event_time >= from_time AND e.event_time < to_time;
END
$$;
COMMENT ON FUNCTION llmcost.reprice_range(timestamptz, timestamptz) IS
    'prices again, in one transaction, the events of [from_time, to_time) whose cost under the current rates differs from the stored one; returns how many changed and how many remain unpriced';

-- A procedure so that each day commits on its own: progress survives an
-- interruption and locks stay short.  It cannot pin search_path (that
-- forbids COMMIT), so every name and operator in it is qualified.
CREATE PROCEDURE llmcost.reprice(from_time timestamptz, to_time timestamptz)
    LANGUAGE plpgsql
AS $$
DECLARE
    lo timestamptz := from_time;
    hi timestamptz;
    r record;
    total bigint := 0;
    days integer := 0;
BEGIN
    IF from_time IS NULL OR to_time IS NULL THEN
        RAISE EXCEPTION 'reprice needs both from_time and to_time'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    WHILE lo OPERATOR(pg_catalog.<) to_time LOOP
        hi := lo OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval;
        IF hi OPERATOR(pg_catalog.>) to_time THEN
            hi := to_time;
        END IF;
        SELECT * INTO r FROM llmcost.reprice_range(lo, hi);
        total := total OPERATOR(pg_catalog.+) r.repriced;
        days := days OPERATOR(pg_catalog.+) 1;
        RAISE NOTICE 'llmcost.reprice: [%, %): % repriced, % still unpriced', lo, hi, r.repriced, r.still_unpriced;
        COMMIT;
        lo := hi;
    END LOOP;
    RAISE NOTICE 'llmcost.reprice: done, % events repriced over % day(s)', total, days;
END
$$;
COMMENT ON PROCEDURE llmcost.reprice(timestamptz, timestamptz) IS
    'prices again the events of [from_time, to_time) under the current rates, one day per transaction, with a NOTICE per day; CALL it outside a transaction block';

--------------------------------------------------------------------------
-- Managing rates
--------------------------------------------------------------------------

CREATE FUNCTION llmcost.set_rate(model text, valid_from timestamptz,
                                 input_per_mtok numeric, output_per_mtok numeric,
                                 cached_read_per_mtok numeric DEFAULT NULL,
                                 cache_write_per_mtok numeric DEFAULT NULL,
                                 reasoning_per_mtok numeric DEFAULT NULL,
                                 long_context_threshold integer DEFAULT NULL,
                                 long_input_per_mtok numeric DEFAULT NULL,
                                 long_output_per_mtok numeric DEFAULT NULL,
                                 long_cached_read_per_mtok numeric DEFAULT NULL,
                                 long_cache_write_per_mtok numeric DEFAULT NULL,
                                 batch_discount numeric DEFAULT 0,
                                 provider text DEFAULT NULL,
                                 source text DEFAULT 'manual')
    RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text := lower(set_rate.model);
    cur llmcost.rates;
    had boolean;
    rule text;
    why text;
BEGIN
    IF set_rate.model IS NULL OR set_rate.valid_from IS NULL THEN
        RAISE EXCEPTION 'set_rate needs a model and valid_from' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO cur FROM llmcost.rates r
     WHERE r.model = m AND NOT r.is_default
       AND r.valid_from <= set_rate.valid_from
       AND (r.valid_until IS NULL OR r.valid_until > set_rate.valid_from)
     FOR UPDATE;
    had := FOUND;
    IF had THEN
        IF (cur.input_per_mtok, cur.output_per_mtok, cur.cached_read_per_mtok,
            cur.cache_write_per_mtok, cur.reasoning_per_mtok, cur.long_context_threshold,
            cur.long_input_per_mtok, cur.long_output_per_mtok, cur.long_cached_read_per_mtok,
            cur.long_cache_write_per_mtok, cur.batch_discount)
           IS NOT DISTINCT FROM
           (set_rate.input_per_mtok, set_rate.output_per_mtok, set_rate.cached_read_per_mtok,
            set_rate.cache_write_per_mtok, set_rate.reasoning_per_mtok, set_rate.long_context_threshold,
            set_rate.long_input_per_mtok, set_rate.long_output_per_mtok, set_rate.long_cached_read_per_mtok,
            set_rate.long_cache_write_per_mtok, set_rate.batch_discount) THEN
            RETURN 'unchanged';
        END IF;
        IF cur.valid_from = set_rate.valid_from THEN
            DELETE FROM llmcost.rates r WHERE r.rate_id = cur.rate_id;
        ELSE
            UPDATE llmcost.rates r SET valid_until = set_rate.valid_from WHERE r.rate_id = cur.rate_id;
        END IF;
    END IF;
    -- The rules of a rate live in the constraints of llmcost.rates alone; an
    -- argument one of them refuses is a data error naming the rule and the
    -- values, so that a caller (the loaders) can tell it from a failure.
    BEGIN
        INSERT INTO llmcost.rates (model, provider, valid_from, valid_until, input_per_mtok,
                cached_read_per_mtok, cache_write_per_mtok, output_per_mtok, reasoning_per_mtok,
                long_context_threshold, long_input_per_mtok, long_cached_read_per_mtok,
                long_cache_write_per_mtok, long_output_per_mtok, batch_discount, source)
        VALUES (m, set_rate.provider, set_rate.valid_from,
                -- until the rate that follows, if one was set for a later time
                CASE WHEN had THEN cur.valid_until
                     ELSE (SELECT min(r.valid_from) FROM llmcost.rates r
                            WHERE r.model = m AND NOT r.is_default AND r.valid_from > set_rate.valid_from) END,
                set_rate.input_per_mtok, set_rate.cached_read_per_mtok, set_rate.cache_write_per_mtok,
                set_rate.output_per_mtok, set_rate.reasoning_per_mtok, set_rate.long_context_threshold,
                set_rate.long_input_per_mtok, set_rate.long_cached_read_per_mtok,
                set_rate.long_cache_write_per_mtok, set_rate.long_output_per_mtok,
                COALESCE(set_rate.batch_discount, 0), set_rate.source);
    EXCEPTION WHEN check_violation OR not_null_violation THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME, why = MESSAGE_TEXT;
        RAISE EXCEPTION 'invalid rate for model "%": refused by %', left(m, 200), coalesce(rule, why)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'the rate given: ' || jsonb_strip_nulls(jsonb_build_object(
                               'input_per_mtok', set_rate.input_per_mtok, 'output_per_mtok', set_rate.output_per_mtok,
                               'cached_read_per_mtok', set_rate.cached_read_per_mtok,
                               'cache_write_per_mtok', set_rate.cache_write_per_mtok,
                               'reasoning_per_mtok', set_rate.reasoning_per_mtok,
                               'long_context_threshold', set_rate.long_context_threshold,
                               'long_input_per_mtok', set_rate.long_input_per_mtok,
                               'long_output_per_mtok', set_rate.long_output_per_mtok,
                               'long_cached_read_per_mtok', set_rate.long_cached_read_per_mtok,
                               'long_cache_write_per_mtok', set_rate.long_cache_write_per_mtok,
                               'batch_discount', set_rate.batch_discount))::text,
                  HINT = 'A model name has 1 to 127 characters; prices are USD per million tokens, 0 or more, below 1,000,000, with at most 9 decimals; a batch discount is in [0, 1) with at most 4 decimals; a long-context threshold (above 0) goes with long-context prices.';
    END;
    RETURN CASE WHEN had THEN 'replaced' ELSE 'inserted' END;
END
$$;
COMMENT ON FUNCTION llmcost.set_rate(text, timestamptz, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, text, text) IS
    'records a price taking effect at valid_from: the operator''s rate current then is closed at valid_from; returns inserted, replaced or unchanged. Past events keep their cost until llmcost.reprice()';

-- Price of one token kind from a community list, USD per token -> per million.
CREATE FUNCTION llmcost.per_mtok(usd_per_token jsonb) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN pg_catalog.jsonb_typeof(usd_per_token) OPERATOR(pg_catalog.=) 'number'
                THEN pg_catalog.trim_scale(pg_catalog.round(
                        (usd_per_token)::pg_catalog.text::pg_catalog.numeric
                        OPERATOR(pg_catalog.*) 1000000, 9)) END;
COMMENT ON FUNCTION llmcost.per_mtok(jsonb) IS
    'internal: a JSON number of USD per token as exact USD per million tokens (NULL if not a number)';

CREATE FUNCTION llmcost.load_litellm_prices(prices jsonb,
                                            valid_from timestamptz DEFAULT pg_catalog.now(),
                                            providers text[] DEFAULT NULL,
                                            OUT inserted integer, OUT replaced integer,
                                            OUT unchanged integer, OUT skipped integer)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    threshold integer;
    tier_key text;
    input numeric;
    batch numeric;
    outcome text;
BEGIN
    inserted := 0; replaced := 0; unchanged := 0; skipped := 0;
    IF jsonb_typeof(prices) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'a LiteLLM price list is a JSON object keyed by model name, not %', coalesce(jsonb_typeof(prices), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k, v IN SELECT key, value FROM jsonb_each(prices) LOOP
        input := llmcost.per_mtok(v -> 'input_cost_per_token');
        IF jsonb_typeof(v) <> 'object' OR input IS NULL
           OR llmcost.per_mtok(v -> 'output_cost_per_token') IS NULL
           OR length(k) >= 128 OR k = 'sample_spec'
           OR (providers IS NOT NULL AND NOT (v ->> 'litellm_provider') = ANY (providers)) THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        -- the first long-context tier the entry has, e.g. ..._above_200k_tokens
        SELECT (substring(key FROM '^input_cost_per_token_above_(\d+)k_tokens$'))::integer * 1000, key
          INTO threshold, tier_key
          FROM jsonb_object_keys(v) AS key
         WHERE key ~ '^input_cost_per_token_above_\d+k_tokens$'
         ORDER BY 1 LIMIT 1;
        batch := llmcost.per_mtok(v -> 'input_cost_per_token_batches');
        batch := CASE WHEN batch IS NOT NULL AND input > 0 AND batch < input
                      THEN round(1 - batch / input, 4) ELSE 0 END;
        BEGIN
        outcome := llmcost.set_rate(
            model => lower(k), valid_from => valid_from,
            input_per_mtok => input,
            output_per_mtok => llmcost.per_mtok(v -> 'output_cost_per_token'),
            cached_read_per_mtok => llmcost.per_mtok(v -> 'cache_read_input_token_cost'),
            cache_write_per_mtok => llmcost.per_mtok(v -> 'cache_creation_input_token_cost'),
            reasoning_per_mtok => llmcost.per_mtok(v -> 'output_cost_per_reasoning_token'),
            long_context_threshold => threshold,
            long_input_per_mtok => llmcost.per_mtok(v -> tier_key),
            long_output_per_mtok => llmcost.per_mtok(v -> replace(tier_key, 'input_cost_per_token', 'output_cost_per_token')),
            long_cached_read_per_mtok => llmcost.per_mtok(v -> replace(tier_key, 'input_cost_per_token', 'cache_read_input_token_cost')),
            long_cache_write_per_mtok => llmcost.per_mtok(v -> replace(tier_key, 'input_cost_per_token', 'cache_creation_input_token_cost')),
            batch_discount => batch,
            provider => v ->> 'litellm_provider',
            source => 'litellm');
        EXCEPTION WHEN data_exception THEN
            -- one bad entry does not cost the others
            RAISE WARNING 'skipped LiteLLM entry "%": %', left(k, 200), SQLERRM;
            skipped := skipped + 1;
            CONTINUE;
        END;
        CASE outcome
            WHEN 'inserted' THEN inserted := inserted + 1;
            WHEN 'replaced' THEN replaced := replaced + 1;
            ELSE unchanged := unchanged + 1;
        END CASE;
    END LOOP;
END
$$;
COMMENT ON FUNCTION llmcost.load_litellm_prices(jsonb, timestamptz, text[]) IS
    'loads a LiteLLM model_prices_and_context_window.json object as your own rates taking effect at valid_from (optionally only some litellm_provider values); returns the counts of inserted, replaced, unchanged and skipped entries';

CREATE FUNCTION llmcost.load_langfuse_prices(models jsonb,
                                             valid_from timestamptz DEFAULT pg_catalog.now(),
                                             OUT inserted integer, OUT replaced integer,
                                             OUT unchanged integer, OUT skipped integer)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m jsonb;
    base jsonb;
    long jsonb;
    threshold integer;
    outcome text;
BEGIN
    inserted := 0; replaced := 0; unchanged := 0; skipped := 0;
    IF jsonb_typeof(models) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'a Langfuse price list is a JSON array of models, not %', coalesce(jsonb_typeof(models), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR m IN SELECT value FROM jsonb_array_elements(models) LOOP
        SELECT t -> 'prices' INTO base FROM jsonb_array_elements(m -> 'pricingTiers') t
         WHERE (t ->> 'isDefault')::boolean LIMIT 1;
        -- the long-context tier: a usage threshold over input tokens
        SELECT t -> 'prices', (c ->> 'value')::integer INTO long, threshold
          FROM jsonb_array_elements(m -> 'pricingTiers') t,
               jsonb_array_elements(t -> 'conditions') c
         WHERE NOT (t ->> 'isDefault')::boolean
           AND c ->> 'operator' = 'gt' AND c ->> 'usageDetailPattern' ~ 'input'
           AND jsonb_typeof(c -> 'value') = 'number'
         ORDER BY (t ->> 'priority')::integer LIMIT 1;
        IF base IS NULL OR llmcost.per_mtok(base -> 'input') IS NULL
           OR llmcost.per_mtok(base -> 'output') IS NULL
           OR coalesce(length(m ->> 'modelName'), 128) >= 128 THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        -- Langfuse usage buckets are exclusive, like llmcost's price kinds
        BEGIN
        outcome := llmcost.set_rate(
            model => lower(m ->> 'modelName'), valid_from => valid_from,
            input_per_mtok => llmcost.per_mtok(base -> 'input'),
            output_per_mtok => llmcost.per_mtok(base -> 'output'),
            cached_read_per_mtok => coalesce(llmcost.per_mtok(base -> 'input_cached_tokens'),
                                             llmcost.per_mtok(base -> 'cache_read_input_tokens'),
                                             llmcost.per_mtok(base -> 'input_cache_read')),
            cache_write_per_mtok => coalesce(llmcost.per_mtok(base -> 'cache_creation_input_tokens'),
                                             llmcost.per_mtok(base -> 'input_cache_creation')),
            reasoning_per_mtok => coalesce(llmcost.per_mtok(base -> 'output_reasoning_tokens'),
                                           llmcost.per_mtok(base -> 'output_reasoning')),
            long_context_threshold => CASE WHEN long IS NOT NULL THEN threshold END,
            long_input_per_mtok => llmcost.per_mtok(long -> 'input'),
            long_output_per_mtok => llmcost.per_mtok(long -> 'output'),
            long_cached_read_per_mtok => coalesce(llmcost.per_mtok(long -> 'input_cached_tokens'),
                                                  llmcost.per_mtok(long -> 'cache_read_input_tokens')),
            long_cache_write_per_mtok => llmcost.per_mtok(long -> 'cache_creation_input_tokens'),
            provider => m ->> 'tokenizerId',
            source => 'langfuse');
        EXCEPTION WHEN data_exception THEN
            RAISE WARNING 'skipped Langfuse model "%": %', left(m ->> 'modelName', 200), SQLERRM;
            skipped := skipped + 1;
            CONTINUE;
        END;
        CASE outcome
            WHEN 'inserted' THEN inserted := inserted + 1;
            WHEN 'replaced' THEN replaced := replaced + 1;
            ELSE unchanged := unchanged + 1;
        END CASE;
    END LOOP;
END
$$;
COMMENT ON FUNCTION llmcost.load_langfuse_prices(jsonb, timestamptz) IS
    'loads a Langfuse default-model-prices.json array (default tier, and a long-context tier when one has an input-token threshold) as your own rates taking effect at valid_from';

--------------------------------------------------------------------------
-- Views
--------------------------------------------------------------------------

CREATE VIEW llmcost.unpriced AS
SELECT e.provider, e.model,
       count(*) AS calls,
       sum(e.input_tokens) AS input_tokens,
       sum(e.output_tokens) AS output_tokens,
       min(e.event_time) AS first_seen,
       max(e.event_time) AS last_seen
  FROM llmcost.events e
 WHERE e.cost_nusd IS NULL
 GROUP BY e.provider, e.model;
COMMENT ON VIEW llmcost.unpriced IS
    'models whose calls wait for a rate: add one to llmcost.rates (or an alias), then CALL llmcost.reprice(first_seen, last_seen)';
COMMENT ON COLUMN llmcost.unpriced.provider IS 'provider as events report it';
COMMENT ON COLUMN llmcost.unpriced.model IS 'model as events report it';
COMMENT ON COLUMN llmcost.unpriced.calls IS 'unpriced calls';
COMMENT ON COLUMN llmcost.unpriced.input_tokens IS 'their input tokens';
COMMENT ON COLUMN llmcost.unpriced.output_tokens IS 'their output tokens';
COMMENT ON COLUMN llmcost.unpriced.first_seen IS 'earliest unpriced call';
COMMENT ON COLUMN llmcost.unpriced.last_seen IS 'latest unpriced call';

CREATE VIEW llmcost.current_rates AS
SELECT DISTINCT ON (r.model) r.model, r.provider, r.rate_id, r.valid_from,
       r.input_per_mtok, r.cached_read_per_mtok, r.cache_write_per_mtok,
       r.output_per_mtok, r.reasoning_per_mtok, r.long_context_threshold,
       r.batch_discount, r.is_default, r.source
  FROM llmcost.rates r
 WHERE r.valid_from OPERATOR(pg_catalog.<=) pg_catalog.now()
   AND (r.valid_until IS NULL OR r.valid_until OPERATOR(pg_catalog.>) pg_catalog.now())
 ORDER BY r.model, r.is_default;
COMMENT ON VIEW llmcost.current_rates IS 'the rate that prices each model now (your rows before the default card)';
COMMENT ON COLUMN llmcost.current_rates.model IS 'model name as priced';
COMMENT ON COLUMN llmcost.current_rates.provider IS 'provider that publishes the price';
COMMENT ON COLUMN llmcost.current_rates.rate_id IS 'the rate in force';
COMMENT ON COLUMN llmcost.current_rates.valid_from IS 'since when';
COMMENT ON COLUMN llmcost.current_rates.input_per_mtok IS 'USD per million uncached input tokens';
COMMENT ON COLUMN llmcost.current_rates.cached_read_per_mtok IS 'USD per million cached-read tokens (NULL: as input)';
COMMENT ON COLUMN llmcost.current_rates.cache_write_per_mtok IS 'USD per million cache-write tokens (NULL: as input)';
COMMENT ON COLUMN llmcost.current_rates.output_per_mtok IS 'USD per million output tokens';
COMMENT ON COLUMN llmcost.current_rates.reasoning_per_mtok IS 'USD per million reasoning tokens (NULL: as output)';
COMMENT ON COLUMN llmcost.current_rates.long_context_threshold IS 'input tokens above which the long-context tier applies';
COMMENT ON COLUMN llmcost.current_rates.batch_discount IS 'batch API discount';
COMMENT ON COLUMN llmcost.current_rates.is_default IS 'from the shipped default card';
COMMENT ON COLUMN llmcost.current_rates.source IS 'origin of the price';

--------------------------------------------------------------------------
-- Statistics summaries: llmcost.stats
--------------------------------------------------------------------------

CREATE TYPE llmcost.stats;
CREATE FUNCTION llmcost.stats_in(cstring) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_in';
CREATE FUNCTION llmcost.stats_out(llmcost.stats) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_out';
CREATE FUNCTION llmcost.stats_recv(internal) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_recv';
CREATE FUNCTION llmcost.stats_send(llmcost.stats) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_send';
CREATE TYPE llmcost.stats (
    INPUT = llmcost.stats_in,
    OUTPUT = llmcost.stats_out,
    RECEIVE = llmcost.stats_recv,
    SEND = llmcost.stats_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE llmcost.stats IS
    'exact statistics summary (count, sum, sum of squares, min, max) of money (1e-9 USD units) or durations (1e-3 ms units); build with stats_agg, merge with stats_rollup, read with the stats_* accessors';
COMMENT ON FUNCTION llmcost.stats_in(cstring) IS 'text input of llmcost.stats, validating every field';
COMMENT ON FUNCTION llmcost.stats_out(llmcost.stats) IS 'text output of llmcost.stats';
COMMENT ON FUNCTION llmcost.stats_recv(internal) IS 'binary input of llmcost.stats, validating every field';
COMMENT ON FUNCTION llmcost.stats_send(llmcost.stats) IS 'binary output of llmcost.stats';

CREATE FUNCTION llmcost.stats_from_binary(bytea) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_from_binary';
COMMENT ON FUNCTION llmcost.stats_from_binary(bytea) IS
    'decodes the binary form of a summary (as stats_send and COPY BINARY write it), validating every field';

-- aggregate support: transitions, inverse transitions, combine
CREATE FUNCTION llmcost.stats_accum_nusd(llmcost.stats, bigint) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_accum_nusd';
CREATE FUNCTION llmcost.stats_remove_nusd(llmcost.stats, bigint) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_remove_nusd';
CREATE FUNCTION llmcost.stats_accum_usd(llmcost.stats, numeric) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_accum_usd';
CREATE FUNCTION llmcost.stats_remove_usd(llmcost.stats, numeric) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_remove_usd';
CREATE FUNCTION llmcost.stats_accum_interval(llmcost.stats, interval) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_accum_interval';
CREATE FUNCTION llmcost.stats_remove_interval(llmcost.stats, interval) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_remove_interval';
CREATE FUNCTION llmcost.stats_accum_ms(llmcost.stats, double precision) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_accum_ms';
CREATE FUNCTION llmcost.stats_remove_ms(llmcost.stats, double precision) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_remove_ms';
CREATE FUNCTION llmcost.stats_combine(llmcost.stats, llmcost.stats) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_combine';
CREATE FUNCTION llmcost.stats_uncombine(llmcost.stats, llmcost.stats) RETURNS llmcost.stats
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_uncombine';
COMMENT ON FUNCTION llmcost.stats_accum_nusd(llmcost.stats, bigint) IS 'transition of stats_agg(bigint)';
COMMENT ON FUNCTION llmcost.stats_remove_nusd(llmcost.stats, bigint) IS 'inverse transition of stats_agg(bigint)';
COMMENT ON FUNCTION llmcost.stats_accum_usd(llmcost.stats, numeric) IS 'transition of stats_agg(numeric)';
COMMENT ON FUNCTION llmcost.stats_remove_usd(llmcost.stats, numeric) IS 'inverse transition of stats_agg(numeric)';
COMMENT ON FUNCTION llmcost.stats_accum_interval(llmcost.stats, interval) IS 'transition of stats_agg(interval)';
COMMENT ON FUNCTION llmcost.stats_remove_interval(llmcost.stats, interval) IS 'inverse transition of stats_agg(interval)';
COMMENT ON FUNCTION llmcost.stats_accum_ms(llmcost.stats, double precision) IS 'transition of duration_stats_agg(double precision)';
COMMENT ON FUNCTION llmcost.stats_remove_ms(llmcost.stats, double precision) IS 'inverse transition of duration_stats_agg(double precision)';
COMMENT ON FUNCTION llmcost.stats_combine(llmcost.stats, llmcost.stats) IS 'combine function of the stats aggregates; transition of stats_rollup';
COMMENT ON FUNCTION llmcost.stats_uncombine(llmcost.stats, llmcost.stats) IS 'inverse transition of stats_rollup';

CREATE AGGREGATE llmcost.stats_agg(bigint) (
    SFUNC = llmcost.stats_accum_nusd, STYPE = llmcost.stats, SSPACE = 72,
    COMBINEFUNC = llmcost.stats_combine,
    MSFUNC = llmcost.stats_accum_nusd, MINVFUNC = llmcost.stats_remove_nusd,
    MSTYPE = llmcost.stats, MSSPACE = 72,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.stats_agg(bigint) IS
    'exact money summary of nano-USD values (llmcost.events.cost_nusd); usable as a moving window aggregate';
CREATE AGGREGATE llmcost.stats_agg(numeric) (
    SFUNC = llmcost.stats_accum_usd, STYPE = llmcost.stats, SSPACE = 72,
    COMBINEFUNC = llmcost.stats_combine,
    MSFUNC = llmcost.stats_accum_usd, MINVFUNC = llmcost.stats_remove_usd,
    MSTYPE = llmcost.stats, MSSPACE = 72,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.stats_agg(numeric) IS
    'exact money summary of USD values, held in nano-USD (more decimals are rounded half away from zero)';
CREATE AGGREGATE llmcost.stats_agg(interval) (
    SFUNC = llmcost.stats_accum_interval, STYPE = llmcost.stats, SSPACE = 72,
    COMBINEFUNC = llmcost.stats_combine,
    MSFUNC = llmcost.stats_accum_interval, MINVFUNC = llmcost.stats_remove_interval,
    MSTYPE = llmcost.stats, MSSPACE = 72,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.stats_agg(interval) IS
    'exact duration summary, held in microseconds (a month counts 30 days)';
CREATE AGGREGATE llmcost.duration_stats_agg(double precision) (
    SFUNC = llmcost.stats_accum_ms, STYPE = llmcost.stats, SSPACE = 72,
    COMBINEFUNC = llmcost.stats_combine,
    MSFUNC = llmcost.stats_accum_ms, MINVFUNC = llmcost.stats_remove_ms,
    MSTYPE = llmcost.stats, MSSPACE = 72,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.duration_stats_agg(double precision) IS
    'exact duration summary of milliseconds (llmcost.events.latency_ms), held in microseconds';
CREATE AGGREGATE llmcost.stats_rollup(llmcost.stats) (
    SFUNC = llmcost.stats_combine, STYPE = llmcost.stats, SSPACE = 72,
    COMBINEFUNC = llmcost.stats_combine,
    MSFUNC = llmcost.stats_combine, MINVFUNC = llmcost.stats_uncombine,
    MSTYPE = llmcost.stats, MSSPACE = 72,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.stats_rollup(llmcost.stats) IS
    'merges summaries (hourly into daily, daily into monthly): exactly the summary of all their values, in any order; usable as a moving window aggregate';

-- accessors: money in USD, durations in milliseconds
CREATE FUNCTION llmcost.stats_count(llmcost.stats) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_count';
CREATE FUNCTION llmcost.stats_kind(llmcost.stats) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_kind';
CREATE FUNCTION llmcost.stats_sum(llmcost.stats) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_sum';
CREATE FUNCTION llmcost.stats_min(llmcost.stats) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_min';
CREATE FUNCTION llmcost.stats_max(llmcost.stats) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_max';
CREATE FUNCTION llmcost.stats_mean(llmcost.stats) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_mean';
CREATE FUNCTION llmcost.stats_variance(llmcost.stats, sample boolean DEFAULT true) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_variance';
CREATE FUNCTION llmcost.stats_stddev(llmcost.stats, sample boolean DEFAULT true) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_stddev';
CREATE FUNCTION llmcost.stats_upper_band(llmcost.stats, k double precision DEFAULT 3) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_upper_band';
CREATE FUNCTION llmcost.stats_lower_band(llmcost.stats, k double precision DEFAULT 3) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_lower_band';
CREATE FUNCTION llmcost.stats_zscore(llmcost.stats, value double precision) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_stats_zscore';
CREATE FUNCTION llmcost.is_anomaly(value double precision, summary llmcost.stats, k double precision DEFAULT 3)
    RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_is_anomaly';
COMMENT ON FUNCTION llmcost.stats_count(llmcost.stats) IS 'number of values summarized';
COMMENT ON FUNCTION llmcost.stats_kind(llmcost.stats) IS 'money or duration';
COMMENT ON FUNCTION llmcost.stats_sum(llmcost.stats) IS 'exact sum (USD or ms); NULL when empty';
COMMENT ON FUNCTION llmcost.stats_min(llmcost.stats) IS 'exact minimum (USD or ms); NULL when empty';
COMMENT ON FUNCTION llmcost.stats_max(llmcost.stats) IS 'exact maximum (USD or ms); NULL when empty';
COMMENT ON FUNCTION llmcost.stats_mean(llmcost.stats) IS 'mean (USD or ms); NULL when empty';
COMMENT ON FUNCTION llmcost.stats_variance(llmcost.stats, boolean) IS 'sample variance (population with sample => false), from exact integer sums';
COMMENT ON FUNCTION llmcost.stats_stddev(llmcost.stats, boolean) IS 'sample standard deviation (population with sample => false)';
COMMENT ON FUNCTION llmcost.stats_upper_band(llmcost.stats, double precision) IS 'mean + k sample standard deviations; NULL with fewer than two values';
COMMENT ON FUNCTION llmcost.stats_lower_band(llmcost.stats, double precision) IS 'mean - k sample standard deviations; NULL with fewer than two values';
COMMENT ON FUNCTION llmcost.stats_zscore(llmcost.stats, double precision) IS '(value - mean) / sample standard deviation; NULL without spread';
COMMENT ON FUNCTION llmcost.is_anomaly(double precision, llmcost.stats, double precision) IS 'true when value exceeds mean + k sample standard deviations of the summary (value in USD or ms); NULL with fewer than two values';

--------------------------------------------------------------------------
-- Quantile sketches: llmcost.sketch
--------------------------------------------------------------------------

CREATE TYPE llmcost.sketch;
CREATE FUNCTION llmcost.sketch_in(cstring) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_in';
CREATE FUNCTION llmcost.sketch_out(llmcost.sketch) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_out';
CREATE FUNCTION llmcost.sketch_recv(internal) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_recv';
CREATE FUNCTION llmcost.sketch_send(llmcost.sketch) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_send';
CREATE TYPE llmcost.sketch (
    INPUT = llmcost.sketch_in,
    OUTPUT = llmcost.sketch_out,
    RECEIVE = llmcost.sketch_recv,
    SEND = llmcost.sketch_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE llmcost.sketch IS
    'relative-error quantile sketch of costs (DDSketch with uniform collapse): every quantile within sketch_error() of the true value; merges exactly';
COMMENT ON FUNCTION llmcost.sketch_in(cstring) IS 'text input of llmcost.sketch, validating every field';
COMMENT ON FUNCTION llmcost.sketch_out(llmcost.sketch) IS 'text output of llmcost.sketch';
COMMENT ON FUNCTION llmcost.sketch_recv(internal) IS 'binary input of llmcost.sketch, validating every field';
COMMENT ON FUNCTION llmcost.sketch_send(llmcost.sketch) IS 'binary output of llmcost.sketch';

CREATE FUNCTION llmcost.sketch_from_binary(bytea) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_from_binary';
COMMENT ON FUNCTION llmcost.sketch_from_binary(bytea) IS
    'decodes the binary form of a sketch (as sketch_send and COPY BINARY write it), validating every field';

CREATE FUNCTION llmcost.sketch_accum_nusd(llmcost.sketch, bigint) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_accum_nusd';
CREATE FUNCTION llmcost.sketch_accum_nusd(llmcost.sketch, bigint, double precision) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_accum_nusd';
CREATE FUNCTION llmcost.sketch_accum_usd(llmcost.sketch, numeric) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_accum_usd';
CREATE FUNCTION llmcost.sketch_accum_usd(llmcost.sketch, numeric, double precision) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_accum_usd';
CREATE FUNCTION llmcost.sketch_combine(llmcost.sketch, llmcost.sketch) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_combine';
CREATE FUNCTION llmcost.sketch_final(llmcost.sketch) RETURNS llmcost.sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_final';
COMMENT ON FUNCTION llmcost.sketch_accum_nusd(llmcost.sketch, bigint) IS 'transition of sketch_agg(bigint)';
COMMENT ON FUNCTION llmcost.sketch_accum_nusd(llmcost.sketch, bigint, double precision) IS 'transition of sketch_agg(bigint, alpha)';
COMMENT ON FUNCTION llmcost.sketch_accum_usd(llmcost.sketch, numeric) IS 'transition of sketch_agg(numeric)';
COMMENT ON FUNCTION llmcost.sketch_accum_usd(llmcost.sketch, numeric, double precision) IS 'transition of sketch_agg(numeric, alpha)';
COMMENT ON FUNCTION llmcost.sketch_combine(llmcost.sketch, llmcost.sketch) IS 'combine function of the sketch aggregates; transition of sketch_rollup';
COMMENT ON FUNCTION llmcost.sketch_final(llmcost.sketch) IS 'final function of the sketch aggregates: drops the spare room of the state';

CREATE AGGREGATE llmcost.sketch_agg(bigint) (
    SFUNC = llmcost.sketch_accum_nusd, STYPE = llmcost.sketch, SSPACE = 1024,
    FINALFUNC = llmcost.sketch_final, COMBINEFUNC = llmcost.sketch_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.sketch_agg(bigint) IS
    'quantile sketch of nano-USD costs (llmcost.events.cost_nusd), relative accuracy 1%';
CREATE AGGREGATE llmcost.sketch_agg(bigint, double precision) (
    SFUNC = llmcost.sketch_accum_nusd, STYPE = llmcost.sketch, SSPACE = 1024,
    FINALFUNC = llmcost.sketch_final, COMBINEFUNC = llmcost.sketch_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.sketch_agg(bigint, double precision) IS
    'quantile sketch of nano-USD costs with relative accuracy alpha (0.000001 to 0.5)';
CREATE AGGREGATE llmcost.sketch_agg(numeric) (
    SFUNC = llmcost.sketch_accum_usd, STYPE = llmcost.sketch, SSPACE = 1024,
    FINALFUNC = llmcost.sketch_final, COMBINEFUNC = llmcost.sketch_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.sketch_agg(numeric) IS
    'quantile sketch of USD costs, relative accuracy 1%';
CREATE AGGREGATE llmcost.sketch_agg(numeric, double precision) (
    SFUNC = llmcost.sketch_accum_usd, STYPE = llmcost.sketch, SSPACE = 1024,
    FINALFUNC = llmcost.sketch_final, COMBINEFUNC = llmcost.sketch_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.sketch_agg(numeric, double precision) IS
    'quantile sketch of USD costs with relative accuracy alpha (0.000001 to 0.5)';
CREATE AGGREGATE llmcost.sketch_rollup(llmcost.sketch) (
    SFUNC = llmcost.sketch_combine, STYPE = llmcost.sketch, SSPACE = 1024,
    FINALFUNC = llmcost.sketch_final, COMBINEFUNC = llmcost.sketch_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE llmcost.sketch_rollup(llmcost.sketch) IS
    'merges sketches (hourly into 30-day): bucket for bucket the sketch of all their values, in any order';

CREATE FUNCTION llmcost.sketch_quantile(llmcost.sketch, q double precision) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_quantile';
CREATE FUNCTION llmcost.sketch_quantiles(llmcost.sketch, q double precision[]) RETURNS double precision[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_quantiles';
CREATE FUNCTION llmcost.sketch_rank(llmcost.sketch, value double precision) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_rank';
CREATE FUNCTION llmcost.sketch_count(llmcost.sketch) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_count';
CREATE FUNCTION llmcost.sketch_sum(llmcost.sketch) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_sum';
CREATE FUNCTION llmcost.sketch_min(llmcost.sketch) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_min';
CREATE FUNCTION llmcost.sketch_max(llmcost.sketch) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_max';
CREATE FUNCTION llmcost.sketch_mean(llmcost.sketch) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_mean';
CREATE FUNCTION llmcost.sketch_error(llmcost.sketch) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_error';
CREATE FUNCTION llmcost.sketch_buckets(llmcost.sketch) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmcost_sketch_buckets';
COMMENT ON FUNCTION llmcost.sketch_quantile(llmcost.sketch, double precision) IS 'the q-quantile in USD (percentile_disc''s rank), within sketch_error(); NULL when empty';
COMMENT ON FUNCTION llmcost.sketch_quantiles(llmcost.sketch, double precision[]) IS 'several quantiles at once, in USD';
COMMENT ON FUNCTION llmcost.sketch_rank(llmcost.sketch, double precision) IS 'estimated fraction of values below a value in USD';
COMMENT ON FUNCTION llmcost.sketch_count(llmcost.sketch) IS 'number of values';
COMMENT ON FUNCTION llmcost.sketch_sum(llmcost.sketch) IS 'exact sum in USD';
COMMENT ON FUNCTION llmcost.sketch_min(llmcost.sketch) IS 'exact minimum in USD';
COMMENT ON FUNCTION llmcost.sketch_max(llmcost.sketch) IS 'exact maximum in USD';
COMMENT ON FUNCTION llmcost.sketch_mean(llmcost.sketch) IS 'mean in USD';
COMMENT ON FUNCTION llmcost.sketch_error(llmcost.sketch) IS 'the relative error every quantile estimate is within now (grows when the sketch collapses)';
COMMENT ON FUNCTION llmcost.sketch_buckets(llmcost.sketch) IS 'number of buckets the sketch holds';

--------------------------------------------------------------------------
-- Settings and hourly rollups
--------------------------------------------------------------------------

CREATE TABLE llmcost.settings (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT settings_one_row CHECK (singleton),
    retention_days integer NOT NULL DEFAULT 90
        CONSTRAINT settings_retention_days CHECK (retention_days OPERATOR(pg_catalog.>=) 1),
    rollup_retention_days integer NOT NULL DEFAULT 400
        CONSTRAINT settings_rollup_retention_days CHECK (rollup_retention_days OPERATOR(pg_catalog.>=) 1),
    partitions_ahead_days integer NOT NULL DEFAULT 7
        CONSTRAINT settings_partitions_ahead_days CHECK (partitions_ahead_days OPERATOR(pg_catalog.>=) 1
                                                        AND partitions_ahead_days OPERATOR(pg_catalog.<=) 366),
    -- anomaly rules (see llmcost.check_anomalies())
    band_k double precision NOT NULL DEFAULT 3
        CONSTRAINT settings_band_k CHECK (band_k OPERATOR(pg_catalog.>) 0),
    band_window_hours integer NOT NULL DEFAULT 168
        CONSTRAINT settings_band_window_hours CHECK (band_window_hours OPERATOR(pg_catalog.>=) 24
                                                    AND band_window_hours OPERATOR(pg_catalog.<=) 2160),
    band_min_history_hours integer NOT NULL DEFAULT 72
        CONSTRAINT settings_band_min_history_hours CHECK (band_min_history_hours OPERATOR(pg_catalog.>=) 0),
    band_min_excess_usd numeric NOT NULL DEFAULT 0.25
        CONSTRAINT settings_band_min_excess_usd CHECK (band_min_excess_usd OPERATOR(pg_catalog.>=) 0),
    runaway_factor double precision NOT NULL DEFAULT 10
        CONSTRAINT settings_runaway_factor CHECK (runaway_factor OPERATOR(pg_catalog.>) 1),
    runaway_window_hours integer NOT NULL DEFAULT 24
        CONSTRAINT settings_runaway_window_hours CHECK (runaway_window_hours OPERATOR(pg_catalog.>=) 1
                                                       AND runaway_window_hours OPERATOR(pg_catalog.<=) 168),
    runaway_baseline_days integer NOT NULL DEFAULT 7
        CONSTRAINT settings_runaway_baseline_days CHECK (runaway_baseline_days OPERATOR(pg_catalog.>=) 1
                                                        AND runaway_baseline_days OPERATOR(pg_catalog.<=) 90),
    runaway_floor_usd numeric NOT NULL DEFAULT 1
        CONSTRAINT settings_runaway_floor_usd CHECK (runaway_floor_usd OPERATOR(pg_catalog.>=) 0),
    leak_factor double precision NOT NULL DEFAULT 1.3
        CONSTRAINT settings_leak_factor CHECK (leak_factor OPERATOR(pg_catalog.>) 1),
    leak_max_call_growth double precision NOT NULL DEFAULT 0.2
        CONSTRAINT settings_leak_max_call_growth CHECK (leak_max_call_growth OPERATOR(pg_catalog.>=) 0),
    leak_min_calls integer NOT NULL DEFAULT 10
        CONSTRAINT settings_leak_min_calls CHECK (leak_min_calls OPERATOR(pg_catalog.>=) 2),
    latency_cost_k double precision NOT NULL DEFAULT 3.5
        CONSTRAINT settings_latency_cost_k CHECK (latency_cost_k OPERATOR(pg_catalog.>) 0),
    latency_cost_min_calls integer NOT NULL DEFAULT 20
        CONSTRAINT settings_latency_cost_min_calls CHECK (latency_cost_min_calls OPERATOR(pg_catalog.>=) 2),
    -- OTLP ingest: where user and feature come from (span attributes first, then resource ones)
    otlp_user_keys text[] NOT NULL
        DEFAULT '{user.id,enduser.id,traceloop.association.properties.user_id,langfuse.user.id}',
    otlp_feature_keys text[] NOT NULL
        DEFAULT '{gen_ai.agent.name,gen_ai.workflow.name,traceloop.association.properties.feature,traceloop.workflow.name,langfuse.trace.name,service.name}',
    otlp_default_feature text NOT NULL DEFAULT 'unknown'
        CONSTRAINT settings_otlp_default_feature CHECK (otlp_default_feature OPERATOR(pg_catalog.<>) ''),
    -- quotas (see llmcost.admit())
    quota_warn_share numeric NOT NULL DEFAULT 0.8
        CONSTRAINT settings_quota_warn_share CHECK (quota_warn_share OPERATOR(pg_catalog.>) 0
                                                    AND quota_warn_share OPERATOR(pg_catalog.<=) 1),
    reservation_ttl interval NOT NULL DEFAULT '15 minutes'
        CONSTRAINT settings_reservation_ttl CHECK (reservation_ttl OPERATOR(pg_catalog.>) interval '0'),
    quota_rolling_hours integer NOT NULL DEFAULT 24
        CONSTRAINT settings_quota_rolling_hours CHECK (quota_rolling_hours OPERATOR(pg_catalog.>=) 1
                                                       AND quota_rolling_hours OPERATOR(pg_catalog.<=) 2160),
    -- invoice reconciliation (see llmcost.invoice_reconciliation)
    invoice_tolerance_pct numeric NOT NULL DEFAULT 2
        CONSTRAINT settings_invoice_tolerance_pct CHECK (invoice_tolerance_pct OPERATOR(pg_catalog.>=) 0
                                                         AND invoice_tolerance_pct OPERATOR(pg_catalog.<) 'Infinity'),
    invoice_tolerance_usd numeric NOT NULL DEFAULT 1
        CONSTRAINT settings_invoice_tolerance_usd CHECK (invoice_tolerance_usd OPERATOR(pg_catalog.>=) 0
                                                         AND invoice_tolerance_usd OPERATOR(pg_catalog.<) 'Infinity')
);
INSERT INTO llmcost.settings DEFAULT VALUES;
COMMENT ON TABLE llmcost.settings IS 'llmcost''s settings for this database (one row; UPDATE it)';
COMMENT ON COLUMN llmcost.settings.singleton IS 'always true: the table has one row';
COMMENT ON COLUMN llmcost.settings.retention_days IS 'days of raw events kept; older daily partitions are dropped by run_maintenance()';
COMMENT ON COLUMN llmcost.settings.rollup_retention_days IS 'days of hourly rollups kept';
COMMENT ON COLUMN llmcost.settings.partitions_ahead_days IS 'days of event partitions created ahead of time';
COMMENT ON COLUMN llmcost.settings.band_k IS 'rule feature_band: alert when an hour''s cost exceeds the trailing mean + band_k standard deviations';
COMMENT ON COLUMN llmcost.settings.band_window_hours IS 'rules feature_band, feature_leak and latency_cost: hours of the trailing window (hours without calls count as zero cost)';
COMMENT ON COLUMN llmcost.settings.band_min_history_hours IS 'a feature is judged only once it had calls this many hours before the hour checked';
COMMENT ON COLUMN llmcost.settings.band_min_excess_usd IS 'rules feature_band and feature_leak: the hour must cost at least this many USD more than usual';
COMMENT ON COLUMN llmcost.settings.runaway_factor IS 'rule user_runaway: alert when a user''s cost over the window exceeds this multiple of their average daily cost';
COMMENT ON COLUMN llmcost.settings.runaway_window_hours IS 'rule user_runaway: hours of the window checked (the baseline is scaled to it)';
COMMENT ON COLUMN llmcost.settings.runaway_baseline_days IS 'rule user_runaway: UTC days before the window that make the average daily cost';
COMMENT ON COLUMN llmcost.settings.runaway_floor_usd IS 'rule user_runaway: a window costing less than this is never an alert';
COMMENT ON COLUMN llmcost.settings.leak_factor IS 'rule feature_leak: alert when an hour''s cost per call is this multiple of the trailing window''s';
COMMENT ON COLUMN llmcost.settings.leak_max_call_growth IS 'rule feature_leak: while the hour''s calls exceed the usual hourly calls by at most this fraction';
COMMENT ON COLUMN llmcost.settings.leak_min_calls IS 'rule feature_leak: hours with fewer priced calls are not judged';
COMMENT ON COLUMN llmcost.settings.latency_cost_k IS 'rule latency_cost: alert when the logarithm of an hour''s mean latency x mean cost per call exceeds its trailing mean + k standard deviations';
COMMENT ON COLUMN llmcost.settings.quota_warn_share IS 'llmcost.admit(): crossing this share of a quota raises a quota_share alert';
COMMENT ON COLUMN llmcost.settings.reservation_ttl IS 'llmcost.admit(): a reservation not settled by its event within this time stops counting';
COMMENT ON COLUMN llmcost.settings.quota_rolling_hours IS 'hours of a rolling quota period';
COMMENT ON COLUMN llmcost.settings.otlp_user_keys IS 'llmcost.ingest_otlp(): the attribute keys that name the user, tried in order (span attributes, then resource attributes)';
COMMENT ON COLUMN llmcost.settings.otlp_feature_keys IS 'llmcost.ingest_otlp(): the attribute keys that name the feature, tried in order';
COMMENT ON COLUMN llmcost.settings.otlp_default_feature IS 'llmcost.ingest_otlp(): the feature of spans that carry none of otlp_feature_keys';
COMMENT ON COLUMN llmcost.settings.latency_cost_min_calls IS 'rule latency_cost: hours with fewer priced calls are neither judged nor part of the band';
COMMENT ON COLUMN llmcost.settings.invoice_tolerance_pct IS 'llmcost.invoice_reconciliation: a gap is flagged when it passes this percent of the invoiced amount and invoice_tolerance_usd';
COMMENT ON COLUMN llmcost.settings.invoice_tolerance_usd IS 'llmcost.invoice_reconciliation: a gap is flagged when it passes this many USD and invoice_tolerance_pct';

-- Where the last refresh stopped: rows whose ingested_at is at or after it
-- may not have been folded in yet.
CREATE TABLE llmcost.rollup_state (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT rollup_state_one_row CHECK (singleton),
    watermark timestamptz NOT NULL DEFAULT '-infinity',
    refreshed_at timestamptz,
    hours_refreshed bigint NOT NULL DEFAULT 0,
    user_window_day date
);
INSERT INTO llmcost.rollup_state DEFAULT VALUES;
COMMENT ON TABLE llmcost.rollup_state IS 'progress of llmcost.refresh_rollups() (one row)';
COMMENT ON COLUMN llmcost.rollup_state.singleton IS 'always true: the table has one row';
COMMENT ON COLUMN llmcost.rollup_state.watermark IS 'every event with an earlier ingested_at is in the rollups';
COMMENT ON COLUMN llmcost.rollup_state.refreshed_at IS 'when the last refresh finished';
COMMENT ON COLUMN llmcost.rollup_state.hours_refreshed IS 'hours the last refresh recomputed';
COMMENT ON COLUMN llmcost.rollup_state.user_window_day IS 'the UTC day llmcost.rollup_user_30d ends on (NULL: not built)';

CREATE TABLE llmcost.rollup_hourly (
    hour timestamptz NOT NULL,
    feature text NOT NULL,
    user_id text,
    provider text NOT NULL,
    model text NOT NULL,
    error_class text,
    cache_status text NOT NULL,
    calls bigint NOT NULL,
    retry_calls bigint NOT NULL,
    unpriced_calls bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cached_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    retry_cost_nusd bigint NOT NULL,
    avoided_nusd bigint NOT NULL,
    prompt_cache_saved_nusd bigint NOT NULL,
    fallback_calls bigint NOT NULL,
    fallback_extra_nusd bigint NOT NULL,
    cost_stats llmcost.stats,
    latency_stats llmcost.stats,
    cost_sketch llmcost.sketch
);
-- One row per key and hour by construction: refresh_rollups(), the only
-- writer, replaces whole hours under its lock.  A unique index over the
-- seven key columns would cost more than the aggregation it guards.
CREATE INDEX rollup_hourly_hour ON llmcost.rollup_hourly (hour);
COMMENT ON TABLE llmcost.rollup_hourly IS
    'hourly rollup of llmcost.events by feature, user, provider, model, error class and cache status; kept up to date by llmcost.refresh_rollups()';
COMMENT ON COLUMN llmcost.rollup_hourly.hour IS 'the hour (UTC) of event_time';
COMMENT ON COLUMN llmcost.rollup_hourly.feature IS 'feature';
COMMENT ON COLUMN llmcost.rollup_hourly.user_id IS 'user (NULL: calls for no user)';
COMMENT ON COLUMN llmcost.rollup_hourly.provider IS 'provider as reported';
COMMENT ON COLUMN llmcost.rollup_hourly.model IS 'model as reported';
COMMENT ON COLUMN llmcost.rollup_hourly.error_class IS 'error class (NULL: success)';
COMMENT ON COLUMN llmcost.rollup_hourly.cache_status IS 'application cache status';
COMMENT ON COLUMN llmcost.rollup_hourly.calls IS 'calls';
COMMENT ON COLUMN llmcost.rollup_hourly.retry_calls IS 'calls that were retries or fallbacks (attempt > 1)';
COMMENT ON COLUMN llmcost.rollup_hourly.unpriced_calls IS 'calls waiting for a rate (not in cost_nusd)';
COMMENT ON COLUMN llmcost.rollup_hourly.input_tokens IS 'input tokens (cached included)';
COMMENT ON COLUMN llmcost.rollup_hourly.cached_read_tokens IS 'cached-read input tokens';
COMMENT ON COLUMN llmcost.rollup_hourly.cache_write_tokens IS 'cache-write input tokens';
COMMENT ON COLUMN llmcost.rollup_hourly.output_tokens IS 'output tokens (reasoning included)';
COMMENT ON COLUMN llmcost.rollup_hourly.reasoning_tokens IS 'reasoning tokens';
COMMENT ON COLUMN llmcost.rollup_hourly.cost_nusd IS 'exact cost of the priced calls, nano-USD';
COMMENT ON COLUMN llmcost.rollup_hourly.retry_cost_nusd IS 'part of cost_nusd spent on retries and fallbacks';
COMMENT ON COLUMN llmcost.rollup_hourly.avoided_nusd IS 'what application-cache hits would have cost as provider calls, nano-USD';
COMMENT ON COLUMN llmcost.rollup_hourly.prompt_cache_saved_nusd IS 'provider prompt-cache savings: cached-read tokens at the cached rate instead of the input rate, nano-USD';
COMMENT ON COLUMN llmcost.rollup_hourly.fallback_calls IS 'calls answered by another model than the one requested (requested_model)';
COMMENT ON COLUMN llmcost.rollup_hourly.fallback_extra_nusd IS 'what those calls cost beyond the same tokens at the requested model''s rate, nano-USD (negative: the fallback was cheaper)';
COMMENT ON COLUMN llmcost.rollup_hourly.cost_stats IS 'statistics summary of the cost per call (priced calls)';
COMMENT ON COLUMN llmcost.rollup_hourly.latency_stats IS 'statistics summary of the latency per call';
COMMENT ON COLUMN llmcost.rollup_hourly.cost_sketch IS 'quantile sketch of the cost per call (priced calls)';

-- Daily rollups without the user (features) and by user only: what the
-- dashboards read, a few thousand rows a day whatever the traffic.
CREATE TABLE llmcost.rollup_daily_feature (
    day date NOT NULL,
    feature text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    error_class text,
    cache_status text NOT NULL,
    calls bigint NOT NULL,
    retry_calls bigint NOT NULL,
    unpriced_calls bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cached_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    retry_cost_nusd bigint NOT NULL,
    avoided_nusd bigint NOT NULL,
    prompt_cache_saved_nusd bigint NOT NULL,
    fallback_calls bigint NOT NULL,
    fallback_extra_nusd bigint NOT NULL,
    cost_stats llmcost.stats,
    latency_stats llmcost.stats,
    CONSTRAINT rollup_daily_feature_key UNIQUE NULLS NOT DISTINCT
        (day, feature, provider, model, error_class, cache_status)
);
COMMENT ON TABLE llmcost.rollup_daily_feature IS
    'daily (UTC) rollup by feature, provider, model, error class and cache status, from llmcost.rollup_hourly; columns as there';
COMMENT ON COLUMN llmcost.rollup_daily_feature.day IS 'the UTC day';
COMMENT ON COLUMN llmcost.rollup_daily_feature.feature IS 'feature';
COMMENT ON COLUMN llmcost.rollup_daily_feature.provider IS 'provider as reported';
COMMENT ON COLUMN llmcost.rollup_daily_feature.model IS 'model as reported';
COMMENT ON COLUMN llmcost.rollup_daily_feature.error_class IS 'error class (NULL: success)';
COMMENT ON COLUMN llmcost.rollup_daily_feature.cache_status IS 'application cache status';
COMMENT ON COLUMN llmcost.rollup_daily_feature.calls IS 'calls';
COMMENT ON COLUMN llmcost.rollup_daily_feature.retry_calls IS 'retries and fallbacks (attempt > 1)';
COMMENT ON COLUMN llmcost.rollup_daily_feature.unpriced_calls IS 'calls waiting for a rate';
COMMENT ON COLUMN llmcost.rollup_daily_feature.input_tokens IS 'input tokens';
COMMENT ON COLUMN llmcost.rollup_daily_feature.cached_read_tokens IS 'cached-read input tokens';
COMMENT ON COLUMN llmcost.rollup_daily_feature.cache_write_tokens IS 'cache-write input tokens';
COMMENT ON COLUMN llmcost.rollup_daily_feature.output_tokens IS 'output tokens';
COMMENT ON COLUMN llmcost.rollup_daily_feature.reasoning_tokens IS 'reasoning tokens';
COMMENT ON COLUMN llmcost.rollup_daily_feature.cost_nusd IS 'exact cost, nano-USD';
COMMENT ON COLUMN llmcost.rollup_daily_feature.retry_cost_nusd IS 'cost of retries and fallbacks, nano-USD';
COMMENT ON COLUMN llmcost.rollup_daily_feature.avoided_nusd IS 'cost avoided by application-cache hits, nano-USD';
COMMENT ON COLUMN llmcost.rollup_daily_feature.prompt_cache_saved_nusd IS 'provider prompt-cache savings, nano-USD';
COMMENT ON COLUMN llmcost.rollup_daily_feature.fallback_calls IS 'calls answered by another model than the one requested';
COMMENT ON COLUMN llmcost.rollup_daily_feature.fallback_extra_nusd IS 'their cost beyond the requested model''s rate, nano-USD';
COMMENT ON COLUMN llmcost.rollup_daily_feature.cost_stats IS 'statistics summary of the cost per call';
COMMENT ON COLUMN llmcost.rollup_daily_feature.latency_stats IS 'statistics summary of the latency per call';

CREATE TABLE llmcost.rollup_daily_user (
    day date NOT NULL,
    user_id text,
    calls bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    CONSTRAINT rollup_daily_user_key UNIQUE NULLS NOT DISTINCT (day, user_id)
);
-- Narrow on purpose: the per-user dashboards scan 30 days of it.  Per-user
-- cost sketches stay in rollup_hourly.
COMMENT ON TABLE llmcost.rollup_daily_user IS 'daily (UTC) rollup by user, from llmcost.rollup_hourly';
COMMENT ON COLUMN llmcost.rollup_daily_user.day IS 'the UTC day';
COMMENT ON COLUMN llmcost.rollup_daily_user.user_id IS 'user (NULL: calls for no user)';
COMMENT ON COLUMN llmcost.rollup_daily_user.calls IS 'calls';
COMMENT ON COLUMN llmcost.rollup_daily_user.cost_nusd IS 'exact cost, nano-USD';

-- Per user over the trailing 30 UTC days ending on rollup_state.user_window_day:
-- what top_users and user_cost_distribution read, one row per user instead
-- of 30.  Kept by refresh_rollups() for the users of the days it recomputes,
-- and rebuilt whole by the first refresh of a new day.
CREATE TABLE llmcost.rollup_user_30d (
    user_id text PRIMARY KEY,
    calls bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    cost_7d_nusd bigint NOT NULL,
    cost_today_nusd bigint NOT NULL
);
COMMENT ON TABLE llmcost.rollup_user_30d IS 'cost per user over the trailing 30 UTC days ending on llmcost.rollup_state.user_window_day, from llmcost.rollup_daily_user';
COMMENT ON COLUMN llmcost.rollup_user_30d.user_id IS 'user (calls for no user are not counted)';
COMMENT ON COLUMN llmcost.rollup_user_30d.calls IS 'calls over the 30 days';
COMMENT ON COLUMN llmcost.rollup_user_30d.cost_nusd IS 'exact cost over the 30 days, nano-USD';
COMMENT ON COLUMN llmcost.rollup_user_30d.cost_7d_nusd IS 'exact cost over the last 7 of them, nano-USD';
COMMENT ON COLUMN llmcost.rollup_user_30d.cost_today_nusd IS 'exact cost of the last day, nano-USD';

-- The per-user window of some users (all when users is NULL), recomputed
-- from the daily rollup: the same sums as the views' fallback.
CREATE FUNCTION llmcost.rebuild_user_window(today date, users text[] DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF users IS NULL THEN
        DELETE FROM llmcost.rollup_user_30d;
        INSERT INTO llmcost.rollup_user_30d
        SELECT r.user_id, sum(r.calls), sum(r.cost_nusd),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day > today - 7), 0),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day = today), 0)
          FROM llmcost.rollup_daily_user r
         WHERE r.day > today - 30 AND r.user_id IS NOT NULL
         GROUP BY r.user_id;
    ELSE
        -- a join with the list: each user's 30 rows through the (user_id,
        -- day) index, where = ANY of a parameter would scan the window
        DELETE FROM llmcost.rollup_user_30d w USING unnest(users) u(user_id) WHERE w.user_id = u.user_id;
        INSERT INTO llmcost.rollup_user_30d
        SELECT r.user_id, sum(r.calls), sum(r.cost_nusd),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day > today - 7), 0),
               coalesce(sum(r.cost_nusd) FILTER (WHERE r.day = today), 0)
          FROM (SELECT DISTINCT x.user_id FROM unnest(users) x(user_id)) u
          JOIN llmcost.rollup_daily_user r ON r.user_id = u.user_id AND r.day > today - 30
         GROUP BY r.user_id;
    END IF;
    UPDATE llmcost.rollup_state SET user_window_day = today;
END
$$;
COMMENT ON FUNCTION llmcost.rebuild_user_window(date, text[]) IS
    'internal: recomputes llmcost.rollup_user_30d for the 30 days ending on today (for the given users, or all)';

-- Per feature and hour: the anomaly rules read 168 of its rows per feature,
-- whatever the number of users and models.
CREATE TABLE llmcost.rollup_hourly_feature (
    hour timestamptz NOT NULL,
    feature text NOT NULL,
    calls bigint NOT NULL,
    error_calls bigint NOT NULL,
    retry_calls bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    retry_cost_nusd bigint NOT NULL,
    cost_stats llmcost.stats,
    latency_stats llmcost.stats,
    CONSTRAINT rollup_hourly_feature_key PRIMARY KEY (feature, hour)
);
CREATE INDEX rollup_hourly_feature_hour ON llmcost.rollup_hourly_feature (hour);
COMMENT ON TABLE llmcost.rollup_hourly_feature IS 'hourly rollup by feature, from llmcost.rollup_hourly: what the anomaly rules read';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.hour IS 'the hour (UTC)';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.feature IS 'feature';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.calls IS 'calls';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.error_calls IS 'failed calls (error_class set)';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.retry_calls IS 'retries and fallbacks (attempt > 1)';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.input_tokens IS 'input tokens';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.output_tokens IS 'output tokens';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.cost_nusd IS 'exact cost, nano-USD';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.retry_cost_nusd IS 'cost of retries and fallbacks, nano-USD';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.cost_stats IS 'statistics summary of the cost per priced call';
COMMENT ON COLUMN llmcost.rollup_hourly_feature.latency_stats IS 'statistics summary of the latency per call';

CREATE FUNCTION llmcost.refresh_rollups(recompute_from timestamptz DEFAULT NULL,
                                        recompute_to timestamptz DEFAULT NULL,
                                        OUT hours_refreshed bigint, OUT watermark timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- one pass, in memory: the groups are nearly as many as the events, so
    -- partial (parallel) aggregation only adds a merge, and JIT compiles for
    -- longer than it saves
    SET jit = off
    SET max_parallel_workers_per_gather = 0
    SET work_mem = '256MB'
AS $$
DECLARE
    since timestamptz;
    horizon timestamptz;
    lo timestamptz;
    hi timestamptz;
    -- the UTC day the views call today (now(): the transaction's start)
    today date := (now() AT TIME ZONE 'UTC')::date;
    window_users text[] := '{}';
    added_users text[];
BEGIN
    -- One refresh at a time: a second one waits, then starts from where the
    -- first one left the watermark.
    PERFORM pg_advisory_xact_lock(hashtext('llmcost.refresh_rollups'));
    SELECT r.watermark INTO since FROM llmcost.rollup_state r FOR UPDATE;

    -- The next watermark: no transaction that may still commit events began
    -- before it.  Read before any snapshot of events is taken, so that an
    -- event this refresh cannot see has an ingested_at (its transaction's
    -- start) at or after it.  Prepared transactions are not counted: do not
    -- ingest with two-phase commit.
    SELECT least(clock_timestamp(), min(a.xact_start)) INTO watermark
      FROM pg_stat_activity a
     WHERE a.xact_start IS NOT NULL AND a.datname OPERATOR(pg_catalog.=) current_database();

    -- Hours holding events that arrived since the last refresh, within the
    -- raw retention (an hour whose events were dropped keeps its rollup).
    SELECT now() - make_interval(days => s.retention_days) INTO horizon FROM llmcost.settings s;
    horizon := date_trunc('hour', horizon, 'UTC');
    CREATE TEMP TABLE llmcost_touched ON COMMIT DROP AS
        SELECT date_trunc('hour', e.event_time, 'UTC') AS hour
          FROM llmcost.events e
         WHERE e.ingested_at >= since AND e.event_time >= horizon
        UNION
        -- on request, every hour of a range: after events were changed or deleted by hand
        SELECT date_trunc('hour', e.event_time, 'UTC')
          FROM llmcost.events e
         WHERE e.event_time >= greatest(recompute_from, horizon) AND e.event_time < recompute_to
        UNION
        SELECT r.hour FROM llmcost.rollup_hourly r
         WHERE r.hour >= greatest(date_trunc('hour', recompute_from, 'UTC'), horizon) AND r.hour < recompute_to;
    SELECT min(t.hour), max(t.hour) + interval '1 hour' INTO lo, hi FROM llmcost_touched t;
    hours_refreshed := (SELECT count(*) FROM llmcost_touched);

    IF hours_refreshed > 0 THEN
        -- Each touched hour is recomputed whole from the raw events, so a
        -- late, retried or repriced event can never be counted twice.
        DELETE FROM llmcost.rollup_hourly r USING llmcost_touched t WHERE r.hour = t.hour;
        INSERT INTO llmcost.rollup_hourly
        SELECT date_trunc('hour', e.event_time, 'UTC'), e.feature, e.user_id, e.provider, e.model,
               e.error_class, e.cache_status,
               count(*),
               count(*) FILTER (WHERE e.attempt > 1),
               count(*) FILTER (WHERE e.cost_nusd IS NULL),
               sum(e.input_tokens), sum(e.cached_read_tokens), sum(e.cache_write_tokens),
               sum(e.output_tokens), sum(e.reasoning_tokens),
               coalesce(sum(e.cost_nusd), 0),
               coalesce(sum(e.cost_nusd) FILTER (WHERE e.attempt > 1), 0),
               coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                            e.cached_read_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                            NULL, 'miss', e.batch, e.feature)) FILTER (WHERE e.cache_status <> 'miss'), 0),
               coalesce(sum(llmcost.event_cost_nusd(e.event_time, e.provider, e.model, e.input_tokens,
                            0, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
                            NULL, 'miss', e.batch, e.feature) - e.cost_nusd)
                        FILTER (WHERE e.cache_status = 'miss' AND e.cached_read_tokens > 0), 0),
               count(*) FILTER (WHERE e.requested_model IS NOT NULL
                                  AND llmcost.resolve_model(e.provider, e.requested_model)
                                      IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)),
               -- the fallback's cost beyond the same call at the requested model's rate
               coalesce(sum(e.cost_nusd - llmcost.event_cost_nusd(e.event_time, e.provider, e.requested_model,
                            e.input_tokens, e.cached_read_tokens, e.cache_write_tokens, e.output_tokens,
                            e.reasoning_tokens, NULL, e.cache_status, e.batch, e.feature))
                        FILTER (WHERE e.requested_model IS NOT NULL
                                  AND llmcost.resolve_model(e.provider, e.requested_model)
                                      IS DISTINCT FROM llmcost.resolve_model(e.provider, e.model)), 0),
               llmcost.stats_agg(e.cost_nusd),
               llmcost.duration_stats_agg(e.latency_ms),
               llmcost.sketch_agg(e.cost_nusd)
          FROM llmcost.events e
         WHERE e.event_time >= lo AND e.event_time < hi
           AND date_trunc('hour', e.event_time, 'UTC') IN (SELECT t.hour FROM llmcost_touched t)
         GROUP BY 1, 2, 3, 4, 5, 6, 7;

        -- the days of the touched hours, again whole, from the hourly rollup
        CREATE TEMP TABLE llmcost_touched_days ON COMMIT DROP AS
            SELECT DISTINCT (t.hour AT TIME ZONE 'UTC')::date AS day FROM llmcost_touched t;
        DELETE FROM llmcost.rollup_daily_feature r USING llmcost_touched_days d WHERE r.day = d.day;
        INSERT INTO llmcost.rollup_daily_feature
        SELECT (r.hour AT TIME ZONE 'UTC')::date, r.feature, r.provider, r.model, r.error_class, r.cache_status,
               sum(r.calls), sum(r.retry_calls), sum(r.unpriced_calls), sum(r.input_tokens),
               sum(r.cached_read_tokens), sum(r.cache_write_tokens), sum(r.output_tokens),
               sum(r.reasoning_tokens), sum(r.cost_nusd), sum(r.retry_cost_nusd), sum(r.avoided_nusd),
               sum(r.prompt_cache_saved_nusd), sum(r.fallback_calls), sum(r.fallback_extra_nusd),
               llmcost.stats_rollup(r.cost_stats),
               llmcost.stats_rollup(r.latency_stats)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= date_trunc('day', lo, 'UTC') AND r.hour < hi + interval '1 day'
           AND (r.hour AT TIME ZONE 'UTC')::date IN (SELECT d.day FROM llmcost_touched_days d)
         GROUP BY 1, 2, 3, 4, 5, 6;
        -- the users of those days, before and after: their 30-day windows change
        WITH gone AS (
            DELETE FROM llmcost.rollup_daily_user r USING llmcost_touched_days d WHERE r.day = d.day
            RETURNING r.day, r.user_id)
        SELECT array_agg(DISTINCT g.user_id) INTO window_users
          FROM gone g WHERE g.day > today - 30 AND g.user_id IS NOT NULL;
        INSERT INTO llmcost.rollup_daily_user
        SELECT (r.hour AT TIME ZONE 'UTC')::date, r.user_id, sum(r.calls), sum(r.cost_nusd)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= date_trunc('day', lo, 'UTC') AND r.hour < hi + interval '1 day'
           AND (r.hour AT TIME ZONE 'UTC')::date IN (SELECT d.day FROM llmcost_touched_days d)
         GROUP BY 1, 2;
        SELECT array_agg(DISTINCT u.user_id) INTO added_users
          FROM (SELECT unnest(window_users) AS user_id
                UNION
                SELECT r.user_id FROM llmcost.rollup_daily_user r
                 WHERE r.day > today - 30 AND r.user_id IS NOT NULL
                   AND r.day IN (SELECT d.day FROM llmcost_touched_days d)) u;
        window_users := coalesce(added_users, '{}');
        DROP TABLE llmcost_touched_days;
        DELETE FROM llmcost.rollup_hourly_feature r USING llmcost_touched t WHERE r.hour = t.hour;
        INSERT INTO llmcost.rollup_hourly_feature
        SELECT r.hour, r.feature, sum(r.calls),
               coalesce(sum(r.calls) FILTER (WHERE r.error_class IS NOT NULL), 0),
               sum(r.retry_calls), sum(r.input_tokens), sum(r.output_tokens), sum(r.cost_nusd),
               sum(r.retry_cost_nusd), llmcost.stats_rollup(r.cost_stats),
               llmcost.stats_rollup(r.latency_stats)
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= lo AND r.hour < hi AND r.hour IN (SELECT t.hour FROM llmcost_touched t)
         GROUP BY r.hour, r.feature;
    END IF;
    DROP TABLE llmcost_touched;

    -- The per-user 30-day window: rebuilt whole on a new day, otherwise for
    -- the users of the recomputed days.
    IF (SELECT st.user_window_day FROM llmcost.rollup_state st) IS DISTINCT FROM today THEN
        PERFORM llmcost.rebuild_user_window(today);
    ELSIF cardinality(window_users) > 0 THEN
        PERFORM llmcost.rebuild_user_window(today, window_users);
    END IF;

    -- Reservations whose event is now in the rollups are settled: the
    -- quota counts the event's cost instead of the estimate.
    IF EXISTS (SELECT FROM llmcost.quota_reservations q WHERE q.settled_at IS NULL AND q.request_id IS NOT NULL) THEN
        UPDATE llmcost.quota_reservations q SET settled_at = clock_timestamp()
          FROM llmcost.events e
         WHERE q.settled_at IS NULL AND e.ingested_at >= since AND e.request_id = q.request_id
           AND e.user_id = q.user_id;
    END IF;

    UPDATE llmcost.rollup_state r
       SET watermark = refresh_rollups.watermark, refreshed_at = clock_timestamp(),
           hours_refreshed = refresh_rollups.hours_refreshed;
END
$$;
COMMENT ON FUNCTION llmcost.refresh_rollups(timestamptz, timestamptz) IS
    'folds the events that arrived since the last refresh into llmcost.rollup_hourly by recomputing their hours from the raw events (and, when given, every hour of [recompute_from, recompute_to)); safe under concurrent ingestion and overlapping calls (one waits); returns the hours recomputed and the new watermark';

--------------------------------------------------------------------------
-- Dashboards: views over the rollups, never over raw events
--------------------------------------------------------------------------

-- The UTC days from the first one with traffic to today, so that a day
-- without calls counts as zero rather than disappearing.
CREATE VIEW llmcost.cost_trend AS
WITH d AS (
    SELECT f.day, sum(f.calls) AS calls, sum(f.input_tokens + f.output_tokens) AS tokens,
           sum(f.cost_nusd) AS cost_nusd
      FROM llmcost.rollup_daily_feature f GROUP BY f.day),
days AS (
    SELECT g.day::date AS day
      FROM generate_series((SELECT min(d.day) FROM d), greatest((SELECT max(d.day) FROM d), (now() AT TIME ZONE 'UTC')::date),
                           interval '1 day') g(day)),
t AS (
    SELECT days.day, coalesce(d.calls, 0) AS calls, coalesce(d.tokens, 0) AS tokens,
           coalesce(d.cost_nusd, 0) AS cost_nusd
      FROM days LEFT JOIN d USING (day))
SELECT t.day, t.calls, t.tokens, llmcost.usd(t.cost_nusd) AS cost_usd,
       llmcost.usd(round(avg(t.cost_nusd) OVER (ORDER BY t.day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW))) AS cost_7d_avg_usd,
       round(100 * (t.cost_nusd / nullif(lag(t.cost_nusd) OVER (ORDER BY t.day), 0) - 1), 2) AS dod_change_pct,
       round(100 * (t.cost_nusd / nullif(lag(t.cost_nusd, 7) OVER (ORDER BY t.day), 0) - 1), 2) AS wow_change_pct
  FROM t;
COMMENT ON VIEW llmcost.cost_trend IS 'dashboard 1: total cost per UTC day with its 7-day moving average and day-over-day and week-over-week change';
COMMENT ON COLUMN llmcost.cost_trend.day IS 'UTC day';
COMMENT ON COLUMN llmcost.cost_trend.calls IS 'calls';
COMMENT ON COLUMN llmcost.cost_trend.tokens IS 'input plus output tokens';
COMMENT ON COLUMN llmcost.cost_trend.cost_usd IS 'exact cost, USD';
COMMENT ON COLUMN llmcost.cost_trend.cost_7d_avg_usd IS 'mean daily cost over this day and the 6 before (days without calls count as 0), to the nano-dollar';
COMMENT ON COLUMN llmcost.cost_trend.dod_change_pct IS 'change of cost against the day before, percent (NULL when that day cost 0)';
COMMENT ON COLUMN llmcost.cost_trend.wow_change_pct IS 'change of cost against the same day a week before, percent';

-- From the per-feature hourly rollup: a few thousand rows for 72 hours,
-- where rollup_hourly holds a row per user as well.
CREATE VIEW llmcost.cost_trend_hourly AS
SELECT r.hour, sum(r.calls) AS calls, sum(r.input_tokens + r.output_tokens) AS tokens,
       llmcost.usd(sum(r.cost_nusd)) AS cost_usd
  FROM llmcost.rollup_hourly_feature r
 WHERE r.hour >= date_trunc('hour', now()) - interval '72 hours'
 GROUP BY r.hour;
COMMENT ON VIEW llmcost.cost_trend_hourly IS 'dashboard 1, by the hour: the last 72 hours';
COMMENT ON COLUMN llmcost.cost_trend_hourly.hour IS 'the hour';
COMMENT ON COLUMN llmcost.cost_trend_hourly.calls IS 'calls';
COMMENT ON COLUMN llmcost.cost_trend_hourly.tokens IS 'input plus output tokens';
COMMENT ON COLUMN llmcost.cost_trend_hourly.cost_usd IS 'exact cost, USD';

CREATE VIEW llmcost.top_features AS
WITH f AS (
    SELECT r.day, r.feature, sum(r.calls) AS calls, sum(r.cost_nusd) AS cost_nusd
      FROM llmcost.rollup_daily_feature r GROUP BY r.day, r.feature),
w AS (
    SELECT f.*, p.calls AS calls_week_before, p.cost_nusd AS cost_week_before
      FROM f LEFT JOIN f p ON p.feature = f.feature AND p.day = f.day - 7),
c AS (
    SELECT w.*,
           w.cost_nusd / nullif(w.calls, 0) AS per_call,
           w.cost_week_before / nullif(w.calls_week_before, 0) AS per_call_week_before
      FROM w)
SELECT c.day, c.feature, llmcost.usd(c.cost_nusd) AS cost_usd,
       rank() OVER (PARTITION BY c.day ORDER BY c.cost_nusd DESC) AS rank,
       round(c.cost_nusd / nullif(sum(c.cost_nusd) OVER (PARTITION BY c.day), 0), 6) AS share_of_day,
       c.calls,
       llmcost.usd(round(c.per_call)) AS cost_per_call_usd,
       round(100 * (c.cost_nusd / nullif(c.cost_week_before, 0) - 1), 2) AS cost_wow_pct,
       round(100 * (c.calls::numeric / nullif(c.calls_week_before, 0) - 1), 2) AS calls_wow_pct,
       round(100 * (c.per_call / nullif(c.per_call_week_before, 0) - 1), 2) AS cost_per_call_wow_pct,
       coalesce(c.cost_nusd >= 1.25 * c.cost_week_before AND c.calls <= 1.05 * c.calls_week_before
                AND c.cost_week_before > 0, false) AS leak
  FROM c;
COMMENT ON VIEW llmcost.top_features IS 'dashboard 2: cost per UTC day and feature, ranked, with week-over-week change and a leak flag';
COMMENT ON COLUMN llmcost.top_features.day IS 'UTC day';
COMMENT ON COLUMN llmcost.top_features.feature IS 'feature';
COMMENT ON COLUMN llmcost.top_features.cost_usd IS 'exact cost, USD';
COMMENT ON COLUMN llmcost.top_features.rank IS 'rank by cost within the day (1: most expensive)';
COMMENT ON COLUMN llmcost.top_features.share_of_day IS 'fraction of the day''s cost';
COMMENT ON COLUMN llmcost.top_features.calls IS 'calls';
COMMENT ON COLUMN llmcost.top_features.cost_per_call_usd IS 'cost per call, USD, to the nano-dollar';
COMMENT ON COLUMN llmcost.top_features.cost_wow_pct IS 'change of cost against the same day a week before, percent';
COMMENT ON COLUMN llmcost.top_features.calls_wow_pct IS 'change of calls against the same day a week before, percent';
COMMENT ON COLUMN llmcost.top_features.cost_per_call_wow_pct IS 'change of cost per call against the same day a week before, percent';
COMMENT ON COLUMN llmcost.top_features.leak IS 'cost grew 25% or more week over week while calls grew 5% or less: a leaking feature (often a prompt that bloated its context)';

CREATE VIEW llmcost.top_users AS
WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d),
u AS (
    -- one row per user, kept by the refresh for today ...
    SELECT w.user_id, w.cost_nusd, w.calls, w.cost_7d_nusd AS cost_7d, w.cost_today_nusd AS cost_today
      FROM llmcost.rollup_user_30d w
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) = (SELECT today.d FROM today)
    UNION ALL
    -- ... or, when no refresh ran yet today, the same sums from the daily rollup
    SELECT r.user_id, sum(r.cost_nusd)::bigint, sum(r.calls)::bigint,
           coalesce(sum(r.cost_nusd) FILTER (WHERE r.day > today.d - 7), 0)::bigint,
           coalesce(sum(r.cost_nusd) FILTER (WHERE r.day = today.d), 0)::bigint
      FROM llmcost.rollup_daily_user r, today
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) IS DISTINCT FROM (SELECT today.d FROM today)
       AND r.day > today.d - 30 AND r.user_id IS NOT NULL
     GROUP BY r.user_id)
SELECT u.user_id, llmcost.usd(u.cost_nusd) AS cost_usd,
       rank() OVER (ORDER BY u.cost_nusd DESC) AS rank,
       round(percent_rank() OVER (ORDER BY u.cost_nusd)::numeric, 6) AS percentile,
       round(u.cost_nusd / nullif(sum(u.cost_nusd) OVER (), 0), 6) AS share,
       round(sum(u.cost_nusd) OVER (ORDER BY u.cost_nusd DESC, u.user_id ROWS UNBOUNDED PRECEDING)
             / nullif(sum(u.cost_nusd) OVER (), 0), 6) AS cumulative_share,
       u.calls,
       llmcost.usd(round(u.cost_7d::numeric / 7)) AS avg_daily_cost_7d_usd,
       llmcost.usd(u.cost_today) AS today_cost_usd
  FROM u;
COMMENT ON VIEW llmcost.top_users IS 'dashboard 3: cost per user over the trailing 30 UTC days (today included)';
COMMENT ON COLUMN llmcost.top_users.user_id IS 'user';
COMMENT ON COLUMN llmcost.top_users.cost_usd IS 'exact cost over 30 days, USD';
COMMENT ON COLUMN llmcost.top_users.rank IS 'rank by cost (1: most expensive)';
COMMENT ON COLUMN llmcost.top_users.percentile IS 'percent_rank among users, 0 (cheapest) to 1 (most expensive)';
COMMENT ON COLUMN llmcost.top_users.share IS 'fraction of all users'' cost';
COMMENT ON COLUMN llmcost.top_users.cumulative_share IS 'fraction of cost carried by this user and every more expensive one';
COMMENT ON COLUMN llmcost.top_users.calls IS 'calls over 30 days';
COMMENT ON COLUMN llmcost.top_users.avg_daily_cost_7d_usd IS 'mean daily cost over the last 7 days, USD';
COMMENT ON COLUMN llmcost.top_users.today_cost_usd IS 'cost so far today (UTC), USD';

CREATE VIEW llmcost.cache_savings AS
SELECT r.day, r.feature, sum(r.calls) AS calls,
       sum(r.calls) FILTER (WHERE r.cache_status = 'exact_hit') AS exact_hits,
       sum(r.calls) FILTER (WHERE r.cache_status = 'semantic_hit') AS semantic_hits,
       round(coalesce(sum(r.calls) FILTER (WHERE r.cache_status = 'exact_hit'), 0) / sum(r.calls), 6) AS exact_hit_rate,
       round(coalesce(sum(r.calls) FILTER (WHERE r.cache_status = 'semantic_hit'), 0) / sum(r.calls), 6) AS semantic_hit_rate,
       round(coalesce(sum(r.calls) FILTER (WHERE r.cache_status <> 'miss'), 0) / sum(r.calls), 6) AS hit_rate,
       llmcost.usd(sum(r.avoided_nusd)) AS avoided_cost_usd,
       sum(r.cached_read_tokens) AS cached_read_tokens,
       llmcost.usd(sum(r.prompt_cache_saved_nusd)) AS prompt_cache_savings_usd
  FROM llmcost.rollup_daily_feature r
 GROUP BY r.day, r.feature;
COMMENT ON VIEW llmcost.cache_savings IS 'dashboard 4: application-cache hit rates and avoided cost, and provider prompt-cache savings, per UTC day and feature';
COMMENT ON COLUMN llmcost.cache_savings.day IS 'UTC day';
COMMENT ON COLUMN llmcost.cache_savings.feature IS 'feature';
COMMENT ON COLUMN llmcost.cache_savings.calls IS 'calls, hits included';
COMMENT ON COLUMN llmcost.cache_savings.exact_hits IS 'exact application-cache hits';
COMMENT ON COLUMN llmcost.cache_savings.semantic_hits IS 'semantic application-cache hits';
COMMENT ON COLUMN llmcost.cache_savings.exact_hit_rate IS 'exact hits / calls';
COMMENT ON COLUMN llmcost.cache_savings.semantic_hit_rate IS 'semantic hits / calls';
COMMENT ON COLUMN llmcost.cache_savings.hit_rate IS 'all hits / calls';
COMMENT ON COLUMN llmcost.cache_savings.avoided_cost_usd IS 'what the hits would have cost as provider calls, USD';
COMMENT ON COLUMN llmcost.cache_savings.cached_read_tokens IS 'input tokens read from provider prompt caches';
COMMENT ON COLUMN llmcost.cache_savings.prompt_cache_savings_usd IS 'those tokens at the cached rate instead of the input rate: USD saved';

CREATE VIEW llmcost.error_costs AS
SELECT r.day, r.feature, r.error_class,
       CASE WHEN r.error_class IS NULL THEN sum(r.retry_calls) ELSE sum(r.calls) END AS calls,
       llmcost.usd(CASE WHEN r.error_class IS NULL THEN sum(r.retry_cost_nusd) ELSE sum(r.cost_nusd) END) AS cost_usd,
       sum(r.retry_calls) AS retry_calls, llmcost.usd(sum(r.retry_cost_nusd)) AS retry_cost_usd,
       sum(r.fallback_calls) AS fallback_calls, llmcost.usd(sum(r.fallback_extra_nusd)) AS fallback_extra_cost_usd
  FROM llmcost.rollup_daily_feature r
 WHERE r.error_class IS NOT NULL OR r.retry_calls > 0 OR r.fallback_calls > 0
 GROUP BY r.day, r.feature, r.error_class;
COMMENT ON VIEW llmcost.error_costs IS 'dashboard 5: cost of failed calls per UTC day, feature and error class, and of retries and fallbacks (error_class NULL: retries that succeeded)';
COMMENT ON COLUMN llmcost.error_costs.day IS 'UTC day';
COMMENT ON COLUMN llmcost.error_costs.feature IS 'feature';
COMMENT ON COLUMN llmcost.error_costs.error_class IS 'error class; NULL for the successful retries and fallbacks';
COMMENT ON COLUMN llmcost.error_costs.calls IS 'calls of this error class (or successful retries)';
COMMENT ON COLUMN llmcost.error_costs.cost_usd IS 'their exact cost, USD';
COMMENT ON COLUMN llmcost.error_costs.retry_calls IS 'of them, retries and fallbacks (attempt > 1)';
COMMENT ON COLUMN llmcost.error_costs.retry_cost_usd IS 'cost of those retries and fallbacks, USD';
COMMENT ON COLUMN llmcost.error_costs.fallback_calls IS 'calls answered by another model than the one requested (events.requested_model)';
COMMENT ON COLUMN llmcost.error_costs.fallback_extra_cost_usd IS 'what those fallbacks cost beyond the same tokens at the requested model''s rate, USD (negative: cheaper)';

CREATE VIEW llmcost.user_cost_distribution AS
WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d),
u AS (
    SELECT w.user_id, w.cost_nusd AS c
      FROM llmcost.rollup_user_30d w
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) = (SELECT today.d FROM today)
    UNION ALL
    SELECT r.user_id, sum(r.cost_nusd)::bigint
      FROM llmcost.rollup_daily_user r, today
     WHERE (SELECT s.user_window_day FROM llmcost.rollup_state s) IS DISTINCT FROM (SELECT today.d FROM today)
       AND r.day > today.d - 30 AND r.user_id IS NOT NULL
     GROUP BY r.user_id),
ranked AS (
    SELECT u.c, row_number() OVER (ORDER BY u.c DESC) AS rn, count(*) OVER () AS n FROM u)
SELECT count(*) AS users,
       llmcost.usd(percentile_disc(0.5) WITHIN GROUP (ORDER BY ranked.c)) AS p50_usd,
       llmcost.usd(percentile_disc(0.9) WITHIN GROUP (ORDER BY ranked.c)) AS p90_usd,
       llmcost.usd(percentile_disc(0.99) WITHIN GROUP (ORDER BY ranked.c)) AS p99_usd,
       llmcost.usd(percentile_disc(0.999) WITHIN GROUP (ORDER BY ranked.c)) AS p999_usd,
       llmcost.usd(round(avg(ranked.c))) AS mean_usd,
       round(sum(ranked.c) FILTER (WHERE ranked.rn <= ceil(ranked.n * 0.01)) / nullif(sum(ranked.c), 0), 6) AS top_1pct_share,
       round(sum(ranked.c) FILTER (WHERE ranked.rn <= ceil(ranked.n * 0.10)) / nullif(sum(ranked.c), 0), 6) AS top_10pct_share
  FROM ranked;
COMMENT ON VIEW llmcost.user_cost_distribution IS 'the distribution of per-user cost over the trailing 30 UTC days';
COMMENT ON COLUMN llmcost.user_cost_distribution.users IS 'users with calls';
COMMENT ON COLUMN llmcost.user_cost_distribution.p50_usd IS 'median per-user cost, USD';
COMMENT ON COLUMN llmcost.user_cost_distribution.p90_usd IS '90th percentile of per-user cost, USD';
COMMENT ON COLUMN llmcost.user_cost_distribution.p99_usd IS '99th percentile, USD';
COMMENT ON COLUMN llmcost.user_cost_distribution.p999_usd IS '99.9th percentile, USD';
COMMENT ON COLUMN llmcost.user_cost_distribution.mean_usd IS 'mean per-user cost, USD';
COMMENT ON COLUMN llmcost.user_cost_distribution.top_1pct_share IS 'share of cost carried by the most expensive 1% of users';
COMMENT ON COLUMN llmcost.user_cost_distribution.top_10pct_share IS 'share of cost carried by the most expensive 10% of users';

--------------------------------------------------------------------------
-- Anomaly rules and alerts
--------------------------------------------------------------------------

-- Money for people: thousands separators, cents above a dollar, four
-- decimals below (a call often costs a fraction of a cent).
CREATE FUNCTION llmcost.format_usd(usd numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN usd OPERATOR(pg_catalog.<) 0 THEN '-' ELSE '' END
    OPERATOR(pg_catalog.||) '$'
    OPERATOR(pg_catalog.||) pg_catalog.to_char(pg_catalog.abs(usd),
        CASE WHEN pg_catalog.abs(usd) OPERATOR(pg_catalog.>=) 1 THEN 'FM999,999,999,999,990.00' ELSE 'FM0.0000' END);
COMMENT ON FUNCTION llmcost.format_usd(numeric) IS 'USD as people read it: $1,234.57, $0.0123';

-- Per-feature exceptions to the settings: NULL columns take the setting.
CREATE TABLE llmcost.feature_alert_settings (
    feature text PRIMARY KEY,
    enabled boolean NOT NULL DEFAULT true,
    band_k double precision CONSTRAINT feature_alert_settings_band_k CHECK (band_k OPERATOR(pg_catalog.>) 0),
    band_min_excess_usd numeric
        CONSTRAINT feature_alert_settings_band_min_excess CHECK (band_min_excess_usd OPERATOR(pg_catalog.>=) 0),
    band_min_history_hours integer
        CONSTRAINT feature_alert_settings_min_history CHECK (band_min_history_hours OPERATOR(pg_catalog.>=) 0),
    leak_factor double precision
        CONSTRAINT feature_alert_settings_leak_factor CHECK (leak_factor OPERATOR(pg_catalog.>) 1)
);
COMMENT ON TABLE llmcost.feature_alert_settings IS 'per-feature exceptions to the anomaly settings of llmcost.settings (NULL: the setting applies)';
COMMENT ON COLUMN llmcost.feature_alert_settings.feature IS 'feature';
COMMENT ON COLUMN llmcost.feature_alert_settings.enabled IS 'false: the feature rules never alert on this feature';
COMMENT ON COLUMN llmcost.feature_alert_settings.band_k IS 'overrides settings.band_k (feature_band and feature_leak)';
COMMENT ON COLUMN llmcost.feature_alert_settings.band_min_excess_usd IS 'overrides settings.band_min_excess_usd';
COMMENT ON COLUMN llmcost.feature_alert_settings.band_min_history_hours IS 'overrides settings.band_min_history_hours';
COMMENT ON COLUMN llmcost.feature_alert_settings.leak_factor IS 'overrides settings.leak_factor';

-- What a rule found for one subject at one check; check_anomalies() turns
-- these into alerts.
CREATE TYPE llmcost.anomaly AS (
    rule text,
    subject_kind text,
    subject text,
    window_start timestamptz,
    window_end timestamptz,
    observed numeric,
    baseline numeric,
    threshold numeric,
    unit text,
    severity text,
    message text,
    details jsonb
);
COMMENT ON TYPE llmcost.anomaly IS 'one finding of an anomaly rule: the subject, its window, the observed value against its baseline and threshold, and a message';

CREATE TABLE llmcost.alerts (
    alert_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule text NOT NULL CONSTRAINT alerts_rule CHECK (rule IN ('feature_band', 'user_runaway', 'feature_leak', 'latency_cost',
                                                                'quota_share')),
    subject_kind text NOT NULL CONSTRAINT alerts_subject_kind CHECK (subject_kind IN ('feature', 'user')),
    subject text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    last_window_end timestamptz NOT NULL,
    observed numeric NOT NULL,
    peak_observed numeric NOT NULL,
    baseline numeric,
    threshold numeric,
    unit text NOT NULL,
    severity text NOT NULL CONSTRAINT alerts_severity CHECK (severity IN ('warning', 'critical')),
    message text NOT NULL,
    details jsonb,
    status text NOT NULL DEFAULT 'open' CONSTRAINT alerts_status CHECK (status IN ('open', 'acknowledged', 'resolved')),
    opened_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    cleared_at timestamptz,
    resolved_at timestamptz
);
-- one live alert per rule and subject: re-running a check never duplicates
CREATE UNIQUE INDEX alerts_one_live ON llmcost.alerts (rule, subject_kind, subject) WHERE status <> 'resolved';
CREATE INDEX alerts_opened ON llmcost.alerts (window_end);
COMMENT ON TABLE llmcost.alerts IS 'alerts raised by llmcost.check_anomalies(): one per rule, subject and episode; announced with NOTIFY llmcost_alerts';
COMMENT ON COLUMN llmcost.alerts.alert_id IS 'alert id';
COMMENT ON COLUMN llmcost.alerts.rule IS 'feature_band, user_runaway, feature_leak, latency_cost (llmcost.check_anomalies()) or quota_share (llmcost.admit())';
COMMENT ON COLUMN llmcost.alerts.subject_kind IS 'feature or user';
COMMENT ON COLUMN llmcost.alerts.subject IS 'the feature or user id';
COMMENT ON COLUMN llmcost.alerts.window_start IS 'start of the window (hour, or runaway window) in which the condition first held';
COMMENT ON COLUMN llmcost.alerts.window_end IS 'its end: the check time that raised the alert';
COMMENT ON COLUMN llmcost.alerts.last_window_end IS 'the latest check time at which the condition still held';
COMMENT ON COLUMN llmcost.alerts.observed IS 'observed value when raised (see unit)';
COMMENT ON COLUMN llmcost.alerts.peak_observed IS 'highest observed value while the alert was live';
COMMENT ON COLUMN llmcost.alerts.baseline IS 'the usual value: trailing mean, or average daily cost scaled to the window';
COMMENT ON COLUMN llmcost.alerts.threshold IS 'the value the observation had to exceed';
COMMENT ON COLUMN llmcost.alerts.unit IS 'unit of observed, baseline and threshold: USD, USD/call or ms*USD/call';
COMMENT ON COLUMN llmcost.alerts.severity IS 'warning, or critical when the observation is far past the threshold';
COMMENT ON COLUMN llmcost.alerts.message IS 'what happened, for people';
COMMENT ON COLUMN llmcost.alerts.details IS 'the figures behind the message (calls, shares, top model, user, error class)';
COMMENT ON COLUMN llmcost.alerts.status IS 'open, acknowledged (llmcost.acknowledge_alert()) or resolved (the condition cleared)';
COMMENT ON COLUMN llmcost.alerts.opened_at IS 'when the alert was written';
COMMENT ON COLUMN llmcost.alerts.acknowledged_at IS 'when it was acknowledged';
COMMENT ON COLUMN llmcost.alerts.acknowledged_by IS 'who acknowledged it';
COMMENT ON COLUMN llmcost.alerts.cleared_at IS 'the check time at which the condition no longer held';
COMMENT ON COLUMN llmcost.alerts.resolved_at IS 'when the alert was resolved';

-- Rule feature_band: the hour's cost against the trailing band of hourly
-- cost (hours without calls count as zero).  Heavy-tailed calls make a
-- 3-sigma rule fire on hours carried by one expensive call, so the hour
-- must pass the band without its most expensive call too.
CREATE FUNCTION llmcost.find_feature_band_anomalies(as_of timestamptz)
    RETURNS SETOF llmcost.anomaly
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    t timestamptz := date_trunc('hour', as_of, 'UTC');
    h timestamptz := date_trunc('hour', as_of, 'UTC') - interval '1 hour';
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    RETURN QUERY
    WITH cur AS (
        SELECT f.feature, f.calls, f.cost_nusd, f.retry_cost_nusd, f.error_calls,
               coalesce(llmcost.stats_max(f.cost_stats), 0) AS max_call_usd,
               coalesce(o.enabled, true) AS enabled,
               coalesce(o.band_k, s.band_k) AS k,
               coalesce(o.band_min_excess_usd, s.band_min_excess_usd) AS min_excess,
               coalesce(o.band_min_history_hours, s.band_min_history_hours) AS min_history
          FROM llmcost.rollup_hourly_feature f
          LEFT JOIN llmcost.feature_alert_settings o ON o.feature = f.feature
         WHERE f.hour = h AND f.cost_nusd > 0),
    band AS (
        SELECT c.feature, llmcost.stats_agg(coalesce(f.cost_nusd, 0)) AS st,
               min(f.hour) AS first_hour, coalesce(sum(f.calls), 0) AS calls
          FROM cur c
         CROSS JOIN generate_series(h - make_interval(hours => s.band_window_hours), h - interval '1 hour',
                                    interval '1 hour') g(hour)
          LEFT JOIN llmcost.rollup_hourly_feature f ON f.feature = c.feature AND f.hour = g.hour
         WHERE c.enabled
         GROUP BY c.feature),
    judged AS (
        SELECT c.*, llmcost.usd(c.cost_nusd) AS observed,
               llmcost.stats_mean(b.st) AS mean, llmcost.stats_stddev(b.st) AS sd,
               b.calls::float8 / s.band_window_hours AS usual_calls
          FROM cur c JOIN band b USING (feature)
         WHERE b.first_hour <= h - make_interval(hours => c.min_history)),
    fired AS (
        SELECT j.*, j.mean + j.k * j.sd AS band_top
          FROM judged j
         WHERE j.observed > j.mean + j.k * j.sd
           AND j.observed - j.max_call_usd > j.mean + j.k * j.sd
           AND j.observed - j.mean::numeric >= j.min_excess)
    SELECT 'feature_band', 'feature', f.feature, h, t, f.observed,
           round(f.mean::numeric, 6), round(f.band_top::numeric, 6), 'USD',
           CASE WHEN f.observed > f.mean + 2 * f.k * f.sd THEN 'critical' ELSE 'warning' END,
           format('feature %s cost %s in the hour from %s, above its band of %s (%s-hour mean %s + %s sigma): %s calls (usually %s an hour), retries and fallbacks %s%% of the cost, %s',
                  f.feature, llmcost.format_usd(f.observed), to_char(h AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                  llmcost.format_usd(round(f.band_top::numeric, 4)), s.band_window_hours,
                  llmcost.format_usd(round(f.mean::numeric, 4)), f.k, f.calls, round(f.usual_calls::numeric, 1),
                  round(100 * f.retry_cost_nusd / f.cost_nusd::numeric, 1),
                  c.causes->>'summary'),
           jsonb_build_object('calls', f.calls, 'usual_calls_per_hour', round(f.usual_calls::numeric, 2),
                              'error_calls', f.error_calls,
                              'retry_cost_share', round(f.retry_cost_nusd / f.cost_nusd::numeric, 4),
                              'sigma', round(f.sd::numeric, 6), 'k', f.k,
                              'largest_call_usd', f.max_call_usd)
             || c.causes
      FROM fired f, LATERAL (SELECT llmcost.feature_hour_causes(f.feature, h) AS causes) c;
END
$$;
COMMENT ON FUNCTION llmcost.find_feature_band_anomalies(timestamptz) IS
    'rule feature_band, read-only: features whose cost in the hour before as_of passed their trailing band (mean + k sigma over settings.band_window_hours, hours without calls as zero), also without their most expensive call, by at least settings.band_min_excess_usd';

-- What drove a feature's hour: the model, user and error class with the
-- most cost or calls, against the model's usual share of the feature.
CREATE FUNCTION llmcost.feature_hour_causes(feature text, hour timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total numeric;
    m record;
    u record;
    e record;
    usual numeric;
BEGIN
    SELECT sum(r.cost_nusd) INTO total FROM llmcost.rollup_hourly r
     WHERE r.hour = feature_hour_causes.hour AND r.feature = feature_hour_causes.feature;
    IF coalesce(total, 0) = 0 THEN
        RETURN jsonb_build_object('summary', 'no breakdown by model or user available');
    END IF;
    SELECT r.model, sum(r.cost_nusd) / total AS share INTO m FROM llmcost.rollup_hourly r
     WHERE r.hour = feature_hour_causes.hour AND r.feature = feature_hour_causes.feature
     GROUP BY r.model ORDER BY 2 DESC, 1 LIMIT 1;
    SELECT coalesce(sum(d.cost_nusd) FILTER (WHERE d.model = m.model), 0) / nullif(sum(d.cost_nusd), 0)
      INTO usual FROM llmcost.rollup_daily_feature d
     WHERE d.feature = feature_hour_causes.feature
       AND d.day >= (feature_hour_causes.hour AT TIME ZONE 'UTC')::date - 7
       AND d.day < (feature_hour_causes.hour AT TIME ZONE 'UTC')::date;
    SELECT r.user_id, sum(r.cost_nusd) / total AS share INTO u FROM llmcost.rollup_hourly r
     WHERE r.hour = feature_hour_causes.hour AND r.feature = feature_hour_causes.feature
     GROUP BY r.user_id ORDER BY 2 DESC, 1 NULLS LAST LIMIT 1;
    SELECT r.error_class, sum(r.calls) AS calls INTO e FROM llmcost.rollup_hourly r
     WHERE r.hour = feature_hour_causes.hour AND r.feature = feature_hour_causes.feature
       AND r.error_class IS NOT NULL
     GROUP BY r.error_class ORDER BY 2 DESC, 1 LIMIT 1;
    RETURN jsonb_build_object(
        'top_model', m.model, 'top_model_share', round(m.share, 4),
        'top_model_usual_share', round(usual, 4),
        'top_user', u.user_id, 'top_user_share', round(u.share, 4),
        'top_error_class', e.error_class, 'top_error_calls', e.calls,
        'summary', format('model %s carried %s%% of the cost (usually %s), user %s %s%%%s',
                          m.model, round(100 * m.share, 1),
                          coalesce(round(100 * usual, 1) || '%', 'unknown'),
                          coalesce(u.user_id, '(none)'), round(100 * u.share, 1),
                          CASE WHEN e.error_class IS NOT NULL
                               THEN format(', most frequent error %s (%s calls)', e.error_class, e.calls)
                               ELSE '' END));
END
$$;
COMMENT ON FUNCTION llmcost.feature_hour_causes(text, timestamptz) IS
    'what drove a feature''s hour: the model with the most cost (and its usual share over the 7 days before), the user with the most cost, the most frequent error class';

-- Rule user_runaway: a user's cost over the window against their average
-- daily cost over the full UTC days before the window.
CREATE FUNCTION llmcost.find_user_runaway_anomalies(as_of timestamptz)
    RETURNS SETOF llmcost.anomaly
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    t timestamptz := date_trunc('hour', as_of, 'UTC');
    w0 timestamptz;
    day0 date;
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    w0 := t - make_interval(hours => s.runaway_window_hours);
    day0 := (w0 AT TIME ZONE 'UTC')::date;
    -- a store younger than the baseline judges nobody: every user would be
    -- new.  (In an older store a new user is judged against the floor.)
    IF NOT EXISTS (SELECT FROM llmcost.rollup_daily_user d WHERE d.day <= day0 - s.runaway_baseline_days) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH win AS (
        SELECT r.user_id, sum(r.cost_nusd) AS cost_nusd, sum(r.calls) AS calls,
               max(llmcost.stats_max(r.cost_stats)) * 1000000000 AS max_call_nusd
          FROM llmcost.rollup_hourly r
         WHERE r.hour >= w0 AND r.hour < t AND r.user_id IS NOT NULL
         GROUP BY r.user_id
        HAVING sum(r.cost_nusd) >= s.runaway_floor_usd * 1000000000),
    base AS (
        SELECT w.user_id, w.cost_nusd, w.calls, w.max_call_nusd,
               coalesce(sum(d.cost_nusd), 0)::numeric / s.runaway_baseline_days
                   * s.runaway_window_hours / 24 AS usual_nusd
          FROM win w
          LEFT JOIN llmcost.rollup_daily_user d
            ON d.user_id = w.user_id AND d.day >= day0 - s.runaway_baseline_days AND d.day < day0
         GROUP BY w.user_id, w.cost_nusd, w.calls, w.max_call_nusd),
    -- one expensive call is not a runaway: the window must pass the limit
    -- without its most expensive call too
    fired AS (
        SELECT b.*, greatest(b.usual_nusd * s.runaway_factor::numeric, s.runaway_floor_usd * 1000000000) AS limit_nusd
          FROM base b
         WHERE b.cost_nusd - coalesce(b.max_call_nusd, 0)
               > greatest(b.usual_nusd * s.runaway_factor::numeric, s.runaway_floor_usd * 1000000000)),
    top AS (
        SELECT DISTINCT ON (r.user_id) r.user_id, r.feature, sum(r.cost_nusd) AS cost_nusd
          FROM llmcost.rollup_hourly r JOIN fired f USING (user_id)
         WHERE r.hour >= w0 AND r.hour < t
         GROUP BY r.user_id, r.feature
         ORDER BY r.user_id, 3 DESC, r.feature)
    SELECT 'user_runaway', 'user', f.user_id, w0, t, llmcost.usd(f.cost_nusd),
           round(llmcost.usd(f.usual_nusd), 6), round(llmcost.usd(f.limit_nusd), 6), 'USD',
           CASE WHEN f.cost_nusd > 3 * f.limit_nusd THEN 'critical' ELSE 'warning' END,
           format('user %s cost %s in the %s hours to %s, %s their usual %s for such a window (%s-day average); %s calls, %s%% of the cost in feature %s',
                  f.user_id, llmcost.format_usd(llmcost.usd(f.cost_nusd)), s.runaway_window_hours,
                  to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                  CASE WHEN f.usual_nusd > 0 THEN round(f.cost_nusd / f.usual_nusd, 1) || 'x' ELSE 'against nothing:' END,
                  llmcost.format_usd(round(llmcost.usd(f.usual_nusd), 4)), s.runaway_baseline_days, f.calls,
                  round(100 * tp.cost_nusd / f.cost_nusd, 1), tp.feature),
           jsonb_build_object('calls', f.calls, 'ratio', CASE WHEN f.usual_nusd > 0 THEN round(f.cost_nusd / f.usual_nusd, 2) END,
                              'top_feature', tp.feature, 'top_feature_share', round(tp.cost_nusd / f.cost_nusd, 4))
      FROM fired f JOIN top tp USING (user_id);
END
$$;
COMMENT ON FUNCTION llmcost.find_user_runaway_anomalies(timestamptz) IS
    'rule user_runaway, read-only: users whose cost over the settings.runaway_window_hours before as_of, without their most expensive call, passed settings.runaway_factor times their average daily cost over the settings.runaway_baseline_days UTC days before the window (scaled to the window) and settings.runaway_floor_usd';

-- Rule feature_leak: cost per call up, calls not.  The hour's mean cost
-- per call must pass leak_factor x the trailing mean, also without its
-- most expensive call, and by k standard errors of the trailing calls.
CREATE FUNCTION llmcost.find_feature_leak_anomalies(as_of timestamptz)
    RETURNS SETOF llmcost.anomaly
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    t timestamptz := date_trunc('hour', as_of, 'UTC');
    h timestamptz := date_trunc('hour', as_of, 'UTC') - interval '1 hour';
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    RETURN QUERY
    WITH cur AS (
        SELECT f.feature, f.calls, f.cost_nusd, f.input_tokens, f.cost_stats,
               llmcost.stats_count(f.cost_stats) AS n,
               llmcost.stats_mean(f.cost_stats) AS per_call,
               llmcost.stats_max(f.cost_stats) AS max_call_usd,
               coalesce(o.band_k, s.band_k) AS k,
               coalesce(o.leak_factor, s.leak_factor) AS factor,
               coalesce(o.band_min_excess_usd, s.band_min_excess_usd) AS min_excess,
               coalesce(o.band_min_history_hours, s.band_min_history_hours) AS min_history
          FROM llmcost.rollup_hourly_feature f
          LEFT JOIN llmcost.feature_alert_settings o ON o.feature = f.feature
         WHERE f.hour = h AND coalesce(o.enabled, true)
           AND llmcost.stats_count(f.cost_stats) >= s.leak_min_calls),
    base AS (
        SELECT c.feature, llmcost.stats_rollup(f.cost_stats) AS st, sum(f.calls) AS calls,
               sum(f.input_tokens) AS input_tokens, min(f.hour) AS first_hour
          FROM cur c
          JOIN llmcost.rollup_hourly_feature f
            ON f.feature = c.feature AND f.hour >= h - make_interval(hours => s.band_window_hours) AND f.hour < h
         GROUP BY c.feature),
    judged AS (
        SELECT c.*, llmcost.stats_mean(b.st) AS usual, llmcost.stats_stddev(b.st) AS sd,
               b.calls::float8 / s.band_window_hours AS usual_calls,
               b.input_tokens::float8 / nullif(b.calls, 0) AS usual_input
          FROM cur c JOIN base b USING (feature)
         WHERE b.first_hour <= h - make_interval(hours => c.min_history)
           AND llmcost.stats_count(b.st) >= 2 AND llmcost.stats_mean(b.st) > 0),
    fired AS (
        SELECT j.* FROM judged j
         WHERE j.per_call >= j.factor * j.usual
           AND (j.cost_nusd / 1e9 - j.max_call_usd) / (j.n - 1) >= j.factor * j.usual
           AND j.per_call - j.usual >= j.k * j.sd / sqrt(j.n)
           AND j.calls <= (1 + s.leak_max_call_growth) * j.usual_calls
           AND (j.per_call - j.usual) * j.n >= j.min_excess)
    SELECT 'feature_leak', 'feature', f.feature, h, t,
           round(f.per_call::numeric, 9), round(f.usual::numeric, 9), round((f.factor * f.usual)::numeric, 9), 'USD/call',
           CASE WHEN f.per_call >= 2 * f.factor * f.usual THEN 'critical' ELSE 'warning' END,
           format('feature %s cost %s a call in the hour from %s, %sx its %s-hour mean of %s, while its calls did not grow (%s, usually %s an hour): input tokens per call %s (usually %s); a prompt or context change?',
                  f.feature, llmcost.format_usd(round(f.per_call::numeric, 6)),
                  to_char(h AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                  round((f.per_call / f.usual)::numeric, 2), s.band_window_hours,
                  llmcost.format_usd(round(f.usual::numeric, 6)), f.calls, round(f.usual_calls::numeric, 1),
                  round(f.input_tokens::numeric / f.calls), round(f.usual_input::numeric)),
           jsonb_build_object('calls', f.calls, 'usual_calls_per_hour', round(f.usual_calls::numeric, 2),
                              'ratio', round((f.per_call / f.usual)::numeric, 4),
                              'input_tokens_per_call', round(f.input_tokens::numeric / f.calls, 1),
                              'usual_input_tokens_per_call', round(f.usual_input::numeric, 1))
      FROM fired f;
END
$$;
COMMENT ON FUNCTION llmcost.find_feature_leak_anomalies(timestamptz) IS
    'rule feature_leak, read-only: features whose cost per call in the hour before as_of reached settings.leak_factor times the trailing window''s (also without the most expensive call, and by band_k standard errors) while their calls grew by at most settings.leak_max_call_growth';

-- Rule latency_cost: a band on mean latency x mean cost per call.  The
-- band is geometric (on the logarithm): a product of two skewed means is
-- far from normal, and its logarithm is the sum of the two factors' own,
-- which says which factor moved.
CREATE FUNCTION llmcost.find_latency_cost_anomalies(as_of timestamptz)
    RETURNS SETOF llmcost.anomaly
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    t timestamptz := date_trunc('hour', as_of, 'UTC');
    h timestamptz := date_trunc('hour', as_of, 'UTC') - interval '1 hour';
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    RETURN QUERY
    WITH hours AS (
        SELECT f.feature, f.hour, llmcost.stats_mean(f.latency_stats) AS latency,
               llmcost.stats_mean(f.cost_stats) AS per_call, f.latency_stats, f.cost_stats,
               coalesce(o.band_min_history_hours, s.band_min_history_hours) AS min_history
          FROM llmcost.rollup_hourly_feature f
          LEFT JOIN llmcost.feature_alert_settings o ON o.feature = f.feature
         WHERE f.hour >= h - make_interval(hours => s.band_window_hours) AND f.hour <= h
           AND coalesce(o.enabled, true)
           AND llmcost.stats_count(f.cost_stats) >= s.latency_cost_min_calls
           AND llmcost.stats_count(f.latency_stats) >= s.latency_cost_min_calls
           AND llmcost.stats_mean(f.cost_stats) > 0 AND llmcost.stats_mean(f.latency_stats) > 0),
    cur AS (
        SELECT x.feature, x.latency, x.per_call, x.min_history, ln(x.latency * x.per_call) AS lp
          FROM hours x WHERE x.hour = h),
    base AS (
        SELECT x.feature, avg(ln(x.latency * x.per_call)) AS mean, stddev_samp(ln(x.latency * x.per_call)) AS sd,
               avg(ln(x.latency)) AS mean_ll, avg(ln(x.per_call)) AS mean_lc,
               count(*) AS hours, min(x.hour) AS first_hour
          FROM hours x JOIN cur c USING (feature)
         WHERE x.hour < h
         GROUP BY x.feature),
    fired AS (
        SELECT c.*, b.mean, b.sd, exp(b.mean_ll) AS usual_latency, exp(b.mean_lc) AS usual_per_call,
               c.latency / exp(b.mean_ll) AS latency_ratio, c.per_call / exp(b.mean_lc) AS cost_ratio
          FROM cur c JOIN base b USING (feature)
         WHERE b.hours >= 24 AND b.first_hour <= h - make_interval(hours => c.min_history)
           AND c.lp > b.mean + s.latency_cost_k * b.sd)
    SELECT 'latency_cost', 'feature', f.feature, h, t,
           round(exp(f.lp)::numeric, 6), round(exp(f.mean)::numeric, 6),
           round(exp(f.mean + s.latency_cost_k * f.sd)::numeric, 6), 'ms*USD/call', 'warning',
           format('feature %s: mean latency x cost per call %s in the hour from %s, above its band of %s (usually %s): latency %sx its usual %s ms, cost per call %sx its usual %s: %s',
                  f.feature, round(exp(f.lp)::numeric, 4), to_char(h AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                  round(exp(f.mean + s.latency_cost_k * f.sd)::numeric, 4), round(exp(f.mean)::numeric, 4),
                  round(f.latency_ratio::numeric, 2), round(f.usual_latency::numeric),
                  round(f.cost_ratio::numeric, 2), llmcost.format_usd(round(f.usual_per_call::numeric, 6)),
                  CASE WHEN f.latency_ratio >= f.cost_ratio
                       THEN 'latency rose faster than cost (queueing or concurrency: the provider or a gateway is slow)'
                       ELSE 'cost rose faster than latency (payload size: longer prompts or outputs)' END),
           jsonb_build_object('latency_ms', round(f.latency::numeric, 1), 'usual_latency_ms', round(f.usual_latency::numeric, 1),
                              'latency_ratio', round(f.latency_ratio::numeric, 4), 'cost_ratio', round(f.cost_ratio::numeric, 4),
                              'cause', CASE WHEN f.latency_ratio >= f.cost_ratio THEN 'latency' ELSE 'payload' END)
      FROM fired f;
END
$$;
COMMENT ON FUNCTION llmcost.find_latency_cost_anomalies(timestamptz) IS
    'rule latency_cost, read-only: features whose mean latency x mean cost per call in the hour before as_of passed its trailing geometric band (log mean + latency_cost_k sigma over the hours with latency_cost_min_calls priced calls); says whether latency or cost per call moved more (ratios to their geometric means)';

CREATE FUNCTION llmcost.find_anomalies(as_of timestamptz) RETURNS SETOF llmcost.anomaly
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM llmcost.find_feature_band_anomalies(as_of)
    UNION ALL SELECT * FROM llmcost.find_user_runaway_anomalies(as_of)
    UNION ALL SELECT * FROM llmcost.find_feature_leak_anomalies(as_of)
    UNION ALL SELECT * FROM llmcost.find_latency_cost_anomalies(as_of);
END;
COMMENT ON FUNCTION llmcost.find_anomalies(timestamptz) IS
    'every rule''s findings for the hour before as_of, read-only (what llmcost.check_anomalies() would raise)';

-- Every new alert, whichever rule raised it, is announced the same way.
-- The payload stays well under NOTIFY's 8000 bytes: long subjects and
-- messages are cut.
CREATE FUNCTION llmcost.announce_alert(a llmcost.alerts) RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT pg_catalog.pg_notify('llmcost_alerts', pg_catalog.jsonb_build_object(
        'alert_id', a.alert_id, 'rule', a.rule, 'subject_kind', a.subject_kind,
        'subject', pg_catalog.left(a.subject, 200), 'severity', a.severity,
        'window_start', a.window_start, 'window_end', a.window_end,
        'observed', a.observed, 'baseline', a.baseline, 'threshold', a.threshold,
        'unit', a.unit, 'message', pg_catalog.left(a.message, 2000))::text);
END;
COMMENT ON FUNCTION llmcost.announce_alert(llmcost.alerts) IS
    'internal: NOTIFY llmcost_alerts with the JSON payload of a new alert (sent when the transaction commits)';

CREATE FUNCTION llmcost.check_anomalies(as_of timestamptz DEFAULT pg_catalog.now(),
                                        OUT opened integer, OUT ongoing integer, OUT resolved integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t timestamptz := date_trunc('hour', as_of, 'UTC');
BEGIN
    -- one check at a time, so that two never open the same alert
    PERFORM pg_advisory_xact_lock(hashtext('llmcost.check_anomalies'));
    WITH found AS MATERIALIZED (
        SELECT * FROM llmcost.find_anomalies(t)),
    still AS (
        UPDATE llmcost.alerts a
           SET last_window_end = greatest(a.last_window_end, f.window_end),
               peak_observed = greatest(a.peak_observed, f.observed),
               severity = CASE WHEN f.severity = 'critical' THEN 'critical' ELSE a.severity END
          FROM found f
         WHERE a.status <> 'resolved' AND a.rule = f.rule
           AND a.subject_kind = f.subject_kind AND a.subject = f.subject
        RETURNING a.alert_id),
    fresh AS (
        INSERT INTO llmcost.alerts (rule, subject_kind, subject, window_start, window_end, last_window_end,
                                    observed, peak_observed, baseline, threshold, unit, severity, message, details)
        SELECT f.rule, f.subject_kind, f.subject, f.window_start, f.window_end, f.window_end,
               f.observed, f.observed, f.baseline, f.threshold, f.unit, f.severity, f.message, f.details
          FROM found f
         WHERE NOT EXISTS (
                -- a live alert, or a resolved one whose episode covers t (a re-run)
                SELECT FROM llmcost.alerts a
                 WHERE a.rule = f.rule AND a.subject_kind = f.subject_kind AND a.subject = f.subject
                   AND (a.status <> 'resolved' OR (a.window_end <= t AND a.cleared_at > t)))
         ORDER BY f.rule, f.subject
        RETURNING *),
    cleared AS (
        UPDATE llmcost.alerts a
           SET status = 'resolved', cleared_at = t, resolved_at = now()
         WHERE a.status <> 'resolved'
           AND ((a.rule <> 'quota_share' AND a.last_window_end < t
                 AND NOT EXISTS (SELECT FROM found f WHERE f.rule = a.rule AND f.subject_kind = a.subject_kind
                                                       AND f.subject = a.subject))
                -- a quota alert lasts its quota period
                OR (a.rule = 'quota_share' AND a.window_end <= t))
        RETURNING a.alert_id),
    announced AS (
        SELECT llmcost.announce_alert(ROW(n.*)::llmcost.alerts) FROM fresh n ORDER BY n.alert_id)
    SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM still), (SELECT count(*) FROM cleared)
      INTO opened, ongoing, resolved
      FROM (SELECT count(*) FROM announced) x;
END
$$;
COMMENT ON FUNCTION llmcost.check_anomalies(timestamptz) IS
    'runs every anomaly rule for the hour before as_of (default: now, truncated to the hour): opens an alert per new finding (NOTIFY llmcost_alerts with a JSON payload), keeps live ones, resolves those whose condition cleared; deterministic for a given as_of and safe to re-run';

CREATE FUNCTION llmcost.acknowledge_alert(alert_id bigint) RETURNS llmcost.alerts
    LANGUAGE plpgsql STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a llmcost.alerts;
BEGIN
    UPDATE llmcost.alerts x SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = session_user
     WHERE x.alert_id = acknowledge_alert.alert_id AND x.status = 'open'
    RETURNING * INTO a;
    IF a.alert_id IS NULL THEN
        SELECT * INTO a FROM llmcost.alerts x WHERE x.alert_id = acknowledge_alert.alert_id;
        IF a.alert_id IS NULL THEN
            RAISE EXCEPTION 'alert % does not exist', acknowledge_alert.alert_id
                USING ERRCODE = 'no_data_found';
        END IF;
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION llmcost.acknowledge_alert(bigint) IS
    'marks an open alert acknowledged (by the session user); an acknowledged or resolved alert is returned unchanged';

CREATE VIEW llmcost.open_alerts AS
SELECT a.alert_id, a.rule, a.subject_kind, a.subject, a.severity, a.status, a.window_start,
       a.last_window_end, a.observed, a.peak_observed, a.baseline, a.threshold, a.unit, a.message
  FROM llmcost.alerts a
 WHERE a.status <> 'resolved';
COMMENT ON VIEW llmcost.open_alerts IS 'alerts not resolved yet, open or acknowledged';
COMMENT ON COLUMN llmcost.open_alerts.alert_id IS 'alert id';
COMMENT ON COLUMN llmcost.open_alerts.rule IS 'rule';
COMMENT ON COLUMN llmcost.open_alerts.subject_kind IS 'feature or user';
COMMENT ON COLUMN llmcost.open_alerts.subject IS 'the feature or user id';
COMMENT ON COLUMN llmcost.open_alerts.severity IS 'warning or critical';
COMMENT ON COLUMN llmcost.open_alerts.status IS 'open or acknowledged';
COMMENT ON COLUMN llmcost.open_alerts.window_start IS 'start of the window in which it first held';
COMMENT ON COLUMN llmcost.open_alerts.last_window_end IS 'the latest check at which it still held';
COMMENT ON COLUMN llmcost.open_alerts.observed IS 'observed value when raised';
COMMENT ON COLUMN llmcost.open_alerts.peak_observed IS 'highest observed value since';
COMMENT ON COLUMN llmcost.open_alerts.baseline IS 'usual value';
COMMENT ON COLUMN llmcost.open_alerts.threshold IS 'value it had to exceed';
COMMENT ON COLUMN llmcost.open_alerts.unit IS 'unit of the values';
COMMENT ON COLUMN llmcost.open_alerts.message IS 'what happened';

--------------------------------------------------------------------------
-- Plans, margin and quotas
--------------------------------------------------------------------------

CREATE TABLE llmcost.plans (
    plan text PRIMARY KEY,
    price_usd numeric NOT NULL CONSTRAINT plans_price CHECK (price_usd OPERATOR(pg_catalog.>=) 0),
    period text NOT NULL DEFAULT 'month' CONSTRAINT plans_period CHECK (period IN ('day', 'month')),
    currency text NOT NULL DEFAULT 'USD' CONSTRAINT plans_currency CHECK (currency OPERATOR(pg_catalog.=) 'USD'),
    included_usd numeric CONSTRAINT plans_included CHECK (included_usd OPERATOR(pg_catalog.>=) 0),
    quota_usd numeric CONSTRAINT plans_quota CHECK (quota_usd OPERATOR(pg_catalog.>=) 0),
    quota_period text NOT NULL DEFAULT 'month'
        CONSTRAINT plans_quota_period CHECK (quota_period IN ('day', 'month', 'rolling'))
);
COMMENT ON TABLE llmcost.plans IS 'what users pay: a price per period, an included LLM allowance, a default quota';
COMMENT ON COLUMN llmcost.plans.plan IS 'plan name';
COMMENT ON COLUMN llmcost.plans.price_usd IS 'price per period';
COMMENT ON COLUMN llmcost.plans.period IS 'billing period: day or month (UTC)';
COMMENT ON COLUMN llmcost.plans.currency IS 'currency of the price (USD: llmcost''s costs are in USD)';
COMMENT ON COLUMN llmcost.plans.included_usd IS 'LLM cost included in the price, informative (NULL: none stated)';
COMMENT ON COLUMN llmcost.plans.quota_usd IS 'quota of LLM cost per quota period for the plan''s users (NULL: none)';
COMMENT ON COLUMN llmcost.plans.quota_period IS 'day, month (UTC) or rolling (settings.quota_rolling_hours)';

CREATE TABLE llmcost.user_plans (
    user_id text NOT NULL,
    plan text NOT NULL REFERENCES llmcost.plans ON UPDATE CASCADE,
    valid_from timestamptz NOT NULL,
    valid_until timestamptz,
    CONSTRAINT user_plans_range CHECK (valid_until IS NULL OR valid_until OPERATOR(pg_catalog.>) valid_from),
    CONSTRAINT user_plans_no_overlap EXCLUDE USING gist (
        user_id WITH OPERATOR(pg_catalog.=),
        tstzrange(valid_from, valid_until) WITH OPERATOR(pg_catalog.&&))
);
COMMENT ON TABLE llmcost.user_plans IS 'which plan each user is on, over time (no overlaps)';
COMMENT ON COLUMN llmcost.user_plans.user_id IS 'user';
COMMENT ON COLUMN llmcost.user_plans.plan IS 'plan';
COMMENT ON COLUMN llmcost.user_plans.valid_from IS 'from';
COMMENT ON COLUMN llmcost.user_plans.valid_until IS 'until (NULL: open)';

CREATE TABLE llmcost.user_quotas (
    user_id text PRIMARY KEY,
    quota_usd numeric NOT NULL CONSTRAINT user_quotas_quota CHECK (quota_usd OPERATOR(pg_catalog.>=) 0),
    quota_period text NOT NULL DEFAULT 'month'
        CONSTRAINT user_quotas_period CHECK (quota_period IN ('day', 'month', 'rolling'))
);
COMMENT ON TABLE llmcost.user_quotas IS 'a user''s own quota: overrides the plan''s';
COMMENT ON COLUMN llmcost.user_quotas.user_id IS 'user';
COMMENT ON COLUMN llmcost.user_quotas.quota_usd IS 'LLM cost allowed per period';
COMMENT ON COLUMN llmcost.user_quotas.quota_period IS 'day, month (UTC) or rolling (settings.quota_rolling_hours)';

-- Admitted estimates not yet matched by their event in the rollups.
CREATE TABLE llmcost.quota_reservations (
    reservation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id text NOT NULL,
    amount_nusd bigint NOT NULL,
    request_id text COLLATE "C",
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    expires_at timestamptz NOT NULL,
    settled_at timestamptz
);
CREATE INDEX quota_reservations_open ON llmcost.quota_reservations (user_id) INCLUDE (amount_nusd, expires_at)
    WHERE settled_at IS NULL;
CREATE INDEX quota_reservations_request ON llmcost.quota_reservations (request_id) WHERE settled_at IS NULL;
COMMENT ON TABLE llmcost.quota_reservations IS 'estimates reserved by llmcost.admit(); settled when the refresh folds in the event with the same request_id, ignored once expired';
COMMENT ON COLUMN llmcost.quota_reservations.reservation_id IS 'reservation id';
COMMENT ON COLUMN llmcost.quota_reservations.user_id IS 'user';
COMMENT ON COLUMN llmcost.quota_reservations.amount_nusd IS 'the estimate reserved, nano-USD';
COMMENT ON COLUMN llmcost.quota_reservations.request_id IS 'request_id the event will carry (settles the reservation)';
COMMENT ON COLUMN llmcost.quota_reservations.created_at IS 'when admitted';
COMMENT ON COLUMN llmcost.quota_reservations.expires_at IS 'after this it no longer counts';
COMMENT ON COLUMN llmcost.quota_reservations.settled_at IS 'when its event reached the rollups';

CREATE TABLE llmcost.quota_denials (
    denied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    user_id text NOT NULL,
    estimate_usd numeric NOT NULL,
    quota_usd numeric NOT NULL,
    used_usd numeric NOT NULL,
    request_id text
);
CREATE INDEX quota_denials_at ON llmcost.quota_denials USING brin (denied_at);
COMMENT ON TABLE llmcost.quota_denials IS 'admissions llmcost.admit() denied';
COMMENT ON COLUMN llmcost.quota_denials.denied_at IS 'when';
COMMENT ON COLUMN llmcost.quota_denials.user_id IS 'user';
COMMENT ON COLUMN llmcost.quota_denials.estimate_usd IS 'the estimate asked for';
COMMENT ON COLUMN llmcost.quota_denials.quota_usd IS 'the quota in force';
COMMENT ON COLUMN llmcost.quota_denials.used_usd IS 'spent plus reserved at the time';
COMMENT ON COLUMN llmcost.quota_denials.request_id IS 'request id given';

-- per-user daily costs by user first: the admission reads one user's days
CREATE INDEX rollup_daily_user_by_user ON llmcost.rollup_daily_user (user_id, day) INCLUDE (cost_nusd);

-- The quota in force for a user now: their own, else their plan's.
-- (PL/pgSQL, like the next one: its plans are cached for the admissions.)
CREATE FUNCTION llmcost.quota_of(user_id text, at timestamptz DEFAULT pg_catalog.now(),
                                 OUT quota_usd numeric, OUT quota_period text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT q.quota_usd, q.quota_period INTO quota_usd, quota_period
      FROM llmcost.user_quotas q WHERE q.user_id = quota_of.user_id;
    IF NOT FOUND THEN
        SELECT p.quota_usd, p.quota_period INTO quota_usd, quota_period
          FROM llmcost.user_plans up JOIN llmcost.plans p ON p.plan = up.plan
         WHERE up.user_id = quota_of.user_id AND up.valid_from <= quota_of.at
           AND (up.valid_until IS NULL OR up.valid_until > quota_of.at) AND p.quota_usd IS NOT NULL;
    END IF;
END
$$;
COMMENT ON FUNCTION llmcost.quota_of(text, timestamptz) IS 'the quota in force for a user: their own (llmcost.user_quotas), else their plan''s; NULLs: no quota';

-- What a user has used of a quota period: settled cost from the rollups
-- (whole UTC days for day and month periods, hours for a rolling window)
-- plus the open reservations.
CREATE FUNCTION llmcost.quota_used_nusd(user_id text, quota_period text, at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS numeric
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    spent numeric;
    reserved numeric;
    hours integer;
BEGIN
    IF quota_period = 'rolling' THEN
        SELECT s.quota_rolling_hours INTO hours FROM llmcost.settings s;
        SELECT sum(h.cost_nusd) INTO spent FROM llmcost.rollup_hourly h
         WHERE h.user_id = quota_used_nusd.user_id
           AND h.hour >= date_trunc('hour', quota_used_nusd.at - make_interval(hours => hours), 'UTC');
    ELSE
        SELECT sum(d.cost_nusd) INTO spent FROM llmcost.rollup_daily_user d
         WHERE d.user_id = quota_used_nusd.user_id
           AND d.day >= (date_trunc(quota_used_nusd.quota_period, quota_used_nusd.at, 'UTC') AT TIME ZONE 'UTC')::date;
    END IF;
    SELECT sum(r.amount_nusd) INTO reserved FROM llmcost.quota_reservations r
     WHERE r.user_id = quota_used_nusd.user_id AND r.settled_at IS NULL AND r.expires_at > quota_used_nusd.at;
    RETURN coalesce(spent, 0) + coalesce(reserved, 0);
END
$$;
COMMENT ON FUNCTION llmcost.quota_used_nusd(text, text, timestamptz) IS 'settled cost of a user in the current quota period (from the rollups) plus their open reservations, nano-USD';

CREATE FUNCTION llmcost.admit(user_id text, estimated_usd numeric, request_id text DEFAULT NULL,
                              OUT allowed boolean, OUT remaining_usd numeric, OUT reservation_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q record;
    s llmcost.settings;
    est bigint;
    used numeric;
    limit_nusd numeric;
BEGIN
    IF estimated_usd IS NULL OR estimated_usd < 0 OR user_id IS NULL THEN
        RAISE EXCEPTION 'invalid admission: user % with estimate %', coalesce(user_id, 'NULL'), coalesce(estimated_usd::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the user and a non-negative estimate of the call''s cost in USD.';
    END IF;
    -- the check must see every reservation committed before the lock is
    -- granted: a fresh snapshot per statement
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'llmcost.admit() runs in READ COMMITTED transactions only, not %',
                        current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Call it in its own transaction, or in one at the default isolation level.';
    END IF;
    q := llmcost.quota_of(admit.user_id);
    IF q.quota_usd IS NULL THEN
        allowed := true;   -- no quota: nothing to reserve
        RETURN;
    END IF;
    est := ceil(estimated_usd * 1000000000)::bigint;
    limit_nusd := q.quota_usd * 1000000000;
    -- one admission at a time per user: spend plus reservations can never
    -- pass the quota, however many sessions admit at once
    PERFORM pg_advisory_xact_lock(hashtext('llmcost.quota'), hashtext(admit.user_id));
    used := llmcost.quota_used_nusd(admit.user_id, q.quota_period);
    IF used + est > limit_nusd THEN
        allowed := false;
        remaining_usd := llmcost.usd(greatest(limit_nusd - used, 0));
        INSERT INTO llmcost.quota_denials (user_id, estimate_usd, quota_usd, used_usd, request_id)
        VALUES (admit.user_id, estimated_usd, q.quota_usd, llmcost.usd(used), admit.request_id);
        RETURN;
    END IF;
    SELECT * INTO s FROM llmcost.settings;
    INSERT INTO llmcost.quota_reservations (user_id, amount_nusd, request_id, expires_at)
    VALUES (admit.user_id, est, admit.request_id, clock_timestamp() + s.reservation_ttl)
    RETURNING quota_reservations.reservation_id INTO admit.reservation_id;
    allowed := true;
    remaining_usd := llmcost.usd(limit_nusd - used - est);
    -- crossing the warning share of the quota raises one alert per user and period
    IF used < s.quota_warn_share * limit_nusd AND used + est >= s.quota_warn_share * limit_nusd THEN
        PERFORM llmcost.raise_quota_alert(admit.user_id, q.quota_usd, q.quota_period, llmcost.usd(used + est));
    END IF;
END
$$;
COMMENT ON FUNCTION llmcost.admit(text, numeric, text) IS
    'call before an LLM call: allowed or denied against the user''s quota, with the budget remaining; an allowed call reserves the estimate until its event (same request_id) reaches the rollups, or the reservation expires; race-free per user';

CREATE FUNCTION llmcost.raise_quota_alert(user_id text, quota_usd numeric, quota_period text, used_usd numeric)
    RETURNS void
    LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w0 timestamptz := CASE quota_period WHEN 'rolling' THEN date_trunc('hour', now(), 'UTC')
                           ELSE date_trunc(quota_period, now(), 'UTC') END;
    w1 timestamptz := CASE quota_period WHEN 'day' THEN date_trunc('day', now(), 'UTC') + interval '1 day'
                           WHEN 'month' THEN date_trunc('month', now(), 'UTC') + interval '1 month'
                           ELSE date_trunc('hour', now(), 'UTC') + interval '1 hour' END;
    a llmcost.alerts;
BEGIN
    INSERT INTO llmcost.alerts (rule, subject_kind, subject, window_start, window_end, last_window_end,
                                observed, peak_observed, baseline, threshold, unit, severity, message)
    SELECT 'quota_share', 'user', raise_quota_alert.user_id, w0, w1, w1, used_usd, used_usd, NULL,
           quota_usd * s.quota_warn_share, 'USD',
           CASE WHEN used_usd >= quota_usd THEN 'critical' ELSE 'warning' END,
           format('user %s has used %s of their %s quota of %s (%s%%)', raise_quota_alert.user_id,
                  llmcost.format_usd(used_usd), quota_period, llmcost.format_usd(quota_usd),
                  round(100 * used_usd / nullif(quota_usd, 0), 1))
      FROM llmcost.settings s
    ON CONFLICT (rule, subject_kind, subject) WHERE status <> 'resolved' DO NOTHING
    RETURNING * INTO a;
    IF a.alert_id IS NOT NULL THEN
        PERFORM llmcost.announce_alert(a);
    END IF;
END
$$;
COMMENT ON FUNCTION llmcost.raise_quota_alert(text, numeric, text, numeric) IS
    'internal: the quota_share alert of llmcost.admit() (one live alert per user; it resolves when its quota period ends)';

CREATE VIEW llmcost.denied_admissions AS
SELECT d.denied_at, d.user_id, d.estimate_usd, d.quota_usd, d.used_usd, d.request_id
  FROM llmcost.quota_denials d;
COMMENT ON VIEW llmcost.denied_admissions IS 'admissions denied by llmcost.admit()';
COMMENT ON COLUMN llmcost.denied_admissions.denied_at IS 'when';
COMMENT ON COLUMN llmcost.denied_admissions.user_id IS 'user';
COMMENT ON COLUMN llmcost.denied_admissions.estimate_usd IS 'the estimate asked for, USD';
COMMENT ON COLUMN llmcost.denied_admissions.quota_usd IS 'the quota in force, USD';
COMMENT ON COLUMN llmcost.denied_admissions.used_usd IS 'spent plus reserved at the time, USD';
COMMENT ON COLUMN llmcost.denied_admissions.request_id IS 'the request id given';

-- Margin per user over a period: the revenue of the plans they were on
-- (each plan's price prorated to the days of the period it covered) against
-- llmcost's cost of their calls (whole UTC days of the rollups).
CREATE FUNCTION llmcost.user_margin(from_day date, to_day date)
    RETURNS TABLE (user_id text, plan text, revenue_usd numeric, cost_usd numeric, margin_usd numeric,
                   margin_pct numeric, cost_percentile numeric, profitable boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH cost AS (
        SELECT d.user_id, sum(d.cost_nusd) AS nusd
          FROM llmcost.rollup_daily_user d
         WHERE d.day >= user_margin.from_day AND d.day < user_margin.to_day AND d.user_id IS NOT NULL
         GROUP BY d.user_id),
    revenue AS (
        SELECT up.user_id, min(up.plan) AS plan,
               sum(p.price_usd
                   * (extract(epoch FROM least(coalesce(up.valid_until, 'infinity'), user_margin.to_day::timestamp AT TIME ZONE 'UTC')
                                      - greatest(up.valid_from, user_margin.from_day::timestamp AT TIME ZONE 'UTC'))
                      / extract(epoch FROM CASE p.period WHEN 'day' THEN interval '1 day' ELSE interval '30 days' END))::numeric
               ) AS usd
          FROM llmcost.user_plans up JOIN llmcost.plans p ON p.plan = up.plan
         WHERE up.valid_from < user_margin.to_day::timestamp AT TIME ZONE 'UTC'
           AND (up.valid_until IS NULL OR up.valid_until > user_margin.from_day::timestamp AT TIME ZONE 'UTC')
         GROUP BY up.user_id),
    m AS (
        SELECT coalesce(c.user_id, r.user_id) AS user_id, r.plan, round(coalesce(r.usd, 0), 2) AS revenue_usd,
               llmcost.usd(coalesce(c.nusd, 0)) AS cost_usd
          FROM cost c FULL JOIN revenue r ON r.user_id = c.user_id)
    SELECT m.user_id, m.plan, m.revenue_usd, m.cost_usd, m.revenue_usd - m.cost_usd,
           round(100 * (m.revenue_usd - m.cost_usd) / nullif(m.revenue_usd, 0), 2),
           round(percent_rank() OVER (ORDER BY m.cost_usd)::numeric, 6),
           m.revenue_usd >= m.cost_usd
      FROM m;
END;
COMMENT ON FUNCTION llmcost.user_margin(date, date) IS
    'per user over [from_day, to_day): plan revenue (prices prorated to the days covered; a month counts 30 days), llmcost''s cost, margin in USD and percent, the user''s percentile of cost, profitable or not';

CREATE FUNCTION llmcost.plan_margin(from_day date, to_day date)
    RETURNS TABLE (plan text, users bigint, revenue_usd numeric, cost_usd numeric, margin_usd numeric,
                   margin_pct numeric, unprofitable_users_share numeric, unprofitable_cost_share numeric,
                   p99_user_cost_usd numeric)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT coalesce(u.plan, '(no plan)'), count(*), sum(u.revenue_usd), sum(u.cost_usd), sum(u.margin_usd),
           round(100 * sum(u.margin_usd) / nullif(sum(u.revenue_usd), 0), 2),
           round(count(*) FILTER (WHERE NOT u.profitable)::numeric / count(*), 4),
           round(coalesce(sum(u.cost_usd) FILTER (WHERE NOT u.profitable), 0) / nullif(sum(u.cost_usd), 0), 4),
           percentile_disc(0.99) WITHIN GROUP (ORDER BY u.cost_usd)
      FROM llmcost.user_margin(plan_margin.from_day, plan_margin.to_day) u
     GROUP BY coalesce(u.plan, '(no plan)');
END;
COMMENT ON FUNCTION llmcost.plan_margin(date, date) IS
    'per plan over [from_day, to_day): users, revenue, cost, margin, the share of users and of cost that are unprofitable, and the 99th percentile of per-user cost (what a tier would have to cover)';

CREATE VIEW llmcost.margin_this_month AS
SELECT * FROM llmcost.plan_margin((date_trunc('month', now(), 'UTC') AT TIME ZONE 'UTC')::date,
                                  ((now() AT TIME ZONE 'UTC')::date + 1));
COMMENT ON VIEW llmcost.margin_this_month IS 'llmcost.plan_margin() over the current UTC month so far';
COMMENT ON COLUMN llmcost.margin_this_month.plan IS 'plan ((no plan): users on none)';
COMMENT ON COLUMN llmcost.margin_this_month.users IS 'users with a plan or with cost in the period';
COMMENT ON COLUMN llmcost.margin_this_month.revenue_usd IS 'plan revenue, prices prorated to the days covered, USD';
COMMENT ON COLUMN llmcost.margin_this_month.cost_usd IS 'llmcost''s cost of their calls, USD';
COMMENT ON COLUMN llmcost.margin_this_month.margin_usd IS 'revenue minus cost, USD';
COMMENT ON COLUMN llmcost.margin_this_month.margin_pct IS 'margin as a percent of revenue';
COMMENT ON COLUMN llmcost.margin_this_month.unprofitable_users_share IS 'share of the plan''s users who cost more than they pay';
COMMENT ON COLUMN llmcost.margin_this_month.unprofitable_cost_share IS 'share of the plan''s cost carried by those users';
COMMENT ON COLUMN llmcost.margin_this_month.p99_user_cost_usd IS '99th percentile of per-user cost: what a tier would have to cover';

--------------------------------------------------------------------------
-- Invoice reconciliation: the provider's number beside llmcost's
--------------------------------------------------------------------------

-- Lines of provider invoices, as billed.  The provider's figure reconciles
-- the card charge; llmcost's own pricing is what operations run on, so the
-- two are compared, never merged.
CREATE TABLE llmcost.invoice_lines (
    invoice_line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider text NOT NULL
        CONSTRAINT invoice_lines_provider CHECK (provider OPERATOR(pg_catalog.<>) ''),
    period_start date NOT NULL
        CONSTRAINT invoice_lines_period_start CHECK (pg_catalog.isfinite(period_start)),
    period_end date NOT NULL
        CONSTRAINT invoice_lines_period_end CHECK (pg_catalog.isfinite(period_end)),
    amount numeric NOT NULL
        -- NaN sorts above Infinity, so this refuses NaN and both infinities
        CONSTRAINT invoice_lines_amount CHECK (amount OPERATOR(pg_catalog.>) '-Infinity'
                                               AND amount OPERATOR(pg_catalog.<) 'Infinity'),
    currency text NOT NULL DEFAULT 'USD'
        CONSTRAINT invoice_lines_currency CHECK (currency OPERATOR(pg_catalog.~) '^[A-Z]{3}$'),
    usd_per_unit numeric
        CONSTRAINT invoice_lines_usd_per_unit CHECK (usd_per_unit OPERATOR(pg_catalog.>) 0
                                                     AND usd_per_unit OPERATOR(pg_catalog.<) 'Infinity'),
    invoice_ref text,
    note text,
    loaded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT invoice_lines_period CHECK (period_end OPERATOR(pg_catalog.>) period_start)
);
CREATE INDEX invoice_lines_period_idx ON llmcost.invoice_lines (period_end, period_start);
COMMENT ON TABLE llmcost.invoice_lines IS 'provider invoice lines, as billed; compared with llmcost''s own cost in llmcost.invoice_reconciliation';
COMMENT ON COLUMN llmcost.invoice_lines.invoice_line_id IS 'line id';
COMMENT ON COLUMN llmcost.invoice_lines.provider IS 'provider, spelled as events report it (compared case-insensitively)';
COMMENT ON COLUMN llmcost.invoice_lines.period_start IS 'first UTC day billed';
COMMENT ON COLUMN llmcost.invoice_lines.period_end IS 'the UTC day after the last one billed (exclusive)';
COMMENT ON COLUMN llmcost.invoice_lines.amount IS 'amount billed, in currency';
COMMENT ON COLUMN llmcost.invoice_lines.currency IS 'ISO 4217 code of the amount';
COMMENT ON COLUMN llmcost.invoice_lines.usd_per_unit IS 'USD per unit of currency; needed when currency is not USD';
COMMENT ON COLUMN llmcost.invoice_lines.invoice_ref IS 'invoice number or other reference';
COMMENT ON COLUMN llmcost.invoice_lines.note IS 'free text';
COMMENT ON COLUMN llmcost.invoice_lines.loaded_at IS 'when the line was recorded';

-- One row per provider and billed period: several lines of one invoice
-- (per model, per product) are summed before the comparison, otherwise each
-- line would be held against the whole computed cost.
CREATE VIEW llmcost.invoice_reconciliation AS
WITH inv AS (
    SELECT pg_catalog.lower(i.provider) AS provider, i.period_start, i.period_end,
           count(*) AS lines,
           pg_catalog.string_agg(DISTINCT i.currency, ',') AS currencies,
           -- NULL when a line in another currency has no exchange rate
           sum(CASE WHEN i.currency = 'USD' THEN i.amount ELSE i.amount * i.usd_per_unit END) AS invoiced_usd,
           bool_or(i.currency <> 'USD' AND i.usd_per_unit IS NULL) AS missing_rate
      FROM llmcost.invoice_lines i
     GROUP BY 1, 2, 3),
cmp AS (
    SELECT inv.*, c.calls, c.unpriced_calls, llmcost.usd(c.cost_nusd) AS computed_usd,
           s.invoice_tolerance_pct, s.invoice_tolerance_usd,
           (inv.period_end::timestamp AT TIME ZONE 'UTC') > st.watermark AS incomplete,
           inv.period_start < (now() AT TIME ZONE 'UTC')::date - s.rollup_retention_days AS expired
      FROM inv
      CROSS JOIN llmcost.settings s
      CROSS JOIN llmcost.rollup_state st
      CROSS JOIN LATERAL (
          SELECT coalesce(sum(r.calls), 0) AS calls, coalesce(sum(r.unpriced_calls), 0) AS unpriced_calls,
                 coalesce(sum(r.cost_nusd), 0) AS cost_nusd
            FROM llmcost.rollup_daily_feature r
           WHERE r.day >= inv.period_start AND r.day < inv.period_end
             AND pg_catalog.lower(r.provider) = inv.provider) c),
d AS (
    SELECT cmp.*, round(cmp.computed_usd - cmp.invoiced_usd, 2) AS difference_usd,
           round(100 * (cmp.computed_usd - cmp.invoiced_usd) / nullif(cmp.invoiced_usd, 0), 2) AS difference_pct
      FROM cmp)
SELECT d.provider, d.period_start, d.period_end, d.lines, d.currencies,
       round(d.invoiced_usd, 2) AS invoiced_usd, round(d.computed_usd, 2) AS computed_usd,
       d.difference_usd, d.difference_pct, d.calls, d.unpriced_calls,
       CASE WHEN d.missing_rate THEN 'no exchange rate'
            WHEN d.incomplete THEN 'period not rolled up yet'
            WHEN d.expired THEN 'rollups expired'
            WHEN abs(d.difference_usd) > d.invoice_tolerance_usd
                 AND (d.invoiced_usd = 0 OR abs(d.difference_pct) > d.invoice_tolerance_pct) THEN 'out of tolerance'
            ELSE 'within tolerance' END AS status,
       NOT d.missing_rate AND NOT d.incomplete AND NOT d.expired
           AND abs(d.difference_usd) > d.invoice_tolerance_usd
           AND (d.invoiced_usd = 0 OR abs(d.difference_pct) > d.invoice_tolerance_pct) AS flagged
  FROM d;
COMMENT ON VIEW llmcost.invoice_reconciliation IS
    'provider invoices (llmcost.invoice_lines, summed per provider and period) beside llmcost''s computed cost for the same provider and UTC days, with the difference and a flag past the tolerance in llmcost.settings';
COMMENT ON COLUMN llmcost.invoice_reconciliation.provider IS 'provider (lower case)';
COMMENT ON COLUMN llmcost.invoice_reconciliation.period_start IS 'first UTC day billed';
COMMENT ON COLUMN llmcost.invoice_reconciliation.period_end IS 'the day after the last one billed';
COMMENT ON COLUMN llmcost.invoice_reconciliation.lines IS 'invoice lines summed';
COMMENT ON COLUMN llmcost.invoice_reconciliation.currencies IS 'their currencies';
COMMENT ON COLUMN llmcost.invoice_reconciliation.invoiced_usd IS 'amount billed, USD (converted with usd_per_unit; NULL when a rate is missing)';
COMMENT ON COLUMN llmcost.invoice_reconciliation.computed_usd IS 'llmcost''s cost of the provider''s calls in the period (from the rollups), USD';
COMMENT ON COLUMN llmcost.invoice_reconciliation.difference_usd IS 'computed minus invoiced, USD (positive: llmcost counts more than was billed)';
COMMENT ON COLUMN llmcost.invoice_reconciliation.difference_pct IS 'the difference as a percent of the invoiced amount';
COMMENT ON COLUMN llmcost.invoice_reconciliation.calls IS 'calls of the provider in the period';
COMMENT ON COLUMN llmcost.invoice_reconciliation.unpriced_calls IS 'of them, calls llmcost could not price (not in computed_usd: a cause of gaps)';
COMMENT ON COLUMN llmcost.invoice_reconciliation.status IS 'within tolerance, out of tolerance, no exchange rate, period not rolled up yet (the period ends after the rollup watermark) or rollups expired';
COMMENT ON COLUMN llmcost.invoice_reconciliation.flagged IS 'true when the difference passes both invoice_tolerance_usd and invoice_tolerance_pct';

--------------------------------------------------------------------------
-- The weekly review: one week's figures as JSON, rendered as a
-- self-contained HTML page or as Markdown
--------------------------------------------------------------------------

-- The Monday (UTC) of the week to review: the week holding the given day,
-- or, by default, the last complete week.
CREATE FUNCTION llmcost.review_week(day date DEFAULT NULL) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.date_trunc('week', coalesce(day, (pg_catalog.now() AT TIME ZONE 'UTC')::date - 7))::date;
COMMENT ON FUNCTION llmcost.review_week(date) IS
    'the Monday of the ISO week (UTC) holding the given day; by default the last complete week';

-- Every figure of the review, read from the rollups (never raw events), so
-- that rendering takes the same time at 90 days of events as at one.
-- Costs are exact USD; shares and changes are fractions (0.25 = 25%).
CREATE FUNCTION llmcost.weekly_review_data(week date DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- a few thousand rollup rows: JIT would compile for seconds to save
    -- milliseconds (the one-row settings tables inflate the estimates)
    SET jit = off
BEGIN ATOMIC
WITH p AS (
    SELECT llmcost.review_week(weekly_review_data.week) AS ws),
b AS (
    SELECT p.ws, p.ws + 7 AS we, p.ws - 7 AS pws FROM p),
-- the review week and the one before, by day and feature: all the
-- per-feature sections read this
f AS (
    SELECT r.day >= b.ws AS cur, r.day, r.feature, r.provider, r.model, r.error_class, r.cache_status,
           r.calls, r.retry_calls, r.unpriced_calls, r.input_tokens, r.output_tokens, r.cached_read_tokens,
           r.cost_nusd, r.retry_cost_nusd, r.avoided_nusd, r.prompt_cache_saved_nusd,
           r.fallback_calls, r.fallback_extra_nusd
      FROM llmcost.rollup_daily_feature r, b
     WHERE r.day >= b.pws AND r.day < b.we),
tot AS (
    SELECT coalesce(sum(f.cost_nusd) FILTER (WHERE f.cur), 0) AS cost,
           coalesce(sum(f.cost_nusd) FILTER (WHERE NOT f.cur), 0) AS prev_cost,
           coalesce(sum(f.calls) FILTER (WHERE f.cur), 0) AS calls,
           coalesce(sum(f.calls) FILTER (WHERE NOT f.cur), 0) AS prev_calls,
           coalesce(sum(f.input_tokens + f.output_tokens) FILTER (WHERE f.cur), 0) AS tokens,
           coalesce(sum(f.unpriced_calls) FILTER (WHERE f.cur), 0) AS unpriced_calls
      FROM f),
weeks AS (
    SELECT jsonb_agg(jsonb_build_object('week', g.w::date, 'cost_usd', llmcost.usd(coalesce(x.cost, 0)),
                                        'calls', coalesce(x.calls, 0)) ORDER BY g.w) AS j
      FROM b
      CROSS JOIN LATERAL generate_series(b.ws - 77, b.ws, interval '7 days') g(w)
      LEFT JOIN LATERAL (
          SELECT sum(r.cost_nusd) AS cost, sum(r.calls) AS calls
            FROM llmcost.rollup_daily_feature r
           WHERE r.day >= g.w::date AND r.day < g.w::date + 7) x ON true),
days AS (
    SELECT jsonb_agg(jsonb_build_object(
               'day', g.d::date,
               'cost_usd', llmcost.usd(coalesce((SELECT sum(f.cost_nusd) FROM f WHERE f.day = g.d::date), 0)),
               'prev_cost_usd', llmcost.usd(coalesce((SELECT sum(f.cost_nusd) FROM f WHERE f.day = g.d::date - 7), 0)),
               'calls', coalesce((SELECT sum(f.calls) FROM f WHERE f.day = g.d::date), 0),
               'hits', coalesce((SELECT sum(f.calls) FROM f WHERE f.day = g.d::date AND f.cache_status <> 'miss'), 0))
             ORDER BY g.d) AS j
      FROM b, generate_series(b.ws, b.we - 1, interval '1 day') g(d)),
feat AS (
    SELECT f.feature,
           coalesce(sum(f.cost_nusd) FILTER (WHERE f.cur), 0) AS cost,
           coalesce(sum(f.cost_nusd) FILTER (WHERE NOT f.cur), 0) AS prev_cost,
           coalesce(sum(f.calls) FILTER (WHERE f.cur), 0) AS calls,
           coalesce(sum(f.calls) FILTER (WHERE NOT f.cur), 0) AS prev_calls
      FROM f GROUP BY f.feature),
feat2 AS (
    SELECT feat.*, tot.cost AS total,
           rank() OVER (ORDER BY feat.cost DESC, feat.feature) AS rank,
           feat.cost::numeric / nullif(feat.calls, 0) AS per_call,
           feat.prev_cost::numeric / nullif(feat.prev_calls, 0) AS prev_per_call
      FROM feat, tot),
feat_j AS (
    SELECT feat2.rank, feat2.cost - feat2.prev_cost AS delta,
           jsonb_build_object(
               'feature', feat2.feature, 'rank', feat2.rank,
               'cost_usd', llmcost.usd(feat2.cost), 'prev_cost_usd', llmcost.usd(feat2.prev_cost),
               'share', round(feat2.cost / nullif(feat2.total, 0), 6),
               'calls', feat2.calls, 'prev_calls', feat2.prev_calls,
               'cost_per_call_usd', round(llmcost.usd(feat2.per_call), 9),
               'cost_change', round(feat2.cost / nullif(feat2.prev_cost, 0) - 1, 6),
               'calls_change', round(feat2.calls::numeric / nullif(feat2.prev_calls, 0) - 1, 6),
               'cost_per_call_change', round(feat2.per_call / nullif(feat2.prev_per_call, 0) - 1, 6),
               -- the rule of llmcost.top_features, over the week: cost up 25%
               -- or more while calls grew 5% or less
               'leak', coalesce(feat2.cost >= 1.25 * feat2.prev_cost AND feat2.calls <= 1.05 * feat2.prev_calls
                                AND feat2.prev_cost > 0, false)) AS j
      FROM feat2),
features AS (
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM feat WHERE feat.calls > 0),
        'top', coalesce((SELECT jsonb_agg(t.j ORDER BY t.rank) FROM (SELECT * FROM feat_j WHERE feat_j.rank <= 10) t), '[]'),
        'risers', coalesce((SELECT jsonb_agg(t.j ORDER BY t.delta DESC)
                              FROM (SELECT * FROM feat_j WHERE feat_j.delta > 0 ORDER BY feat_j.delta DESC, feat_j.rank LIMIT 5) t), '[]'),
        'fallers', coalesce((SELECT jsonb_agg(t.j ORDER BY t.delta)
                               FROM (SELECT * FROM feat_j WHERE feat_j.delta < 0 ORDER BY feat_j.delta, feat_j.rank LIMIT 5) t), '[]'),
        'leaks', coalesce((SELECT jsonb_agg(t.j ORDER BY t.rank) FROM feat_j t WHERE (t.j ->> 'leak')::boolean), '[]')) AS j),
usr AS (
    SELECT u.user_id, sum(u.cost_nusd) AS cost, sum(u.calls) AS calls
      FROM llmcost.rollup_daily_user u, b
     WHERE u.day >= b.ws AND u.day < b.we AND u.user_id IS NOT NULL
     GROUP BY u.user_id),
usr_ranked AS (
    SELECT usr.*, row_number() OVER (ORDER BY usr.cost DESC, usr.user_id) AS rn, count(*) OVER () AS n,
           sum(usr.cost) OVER () AS total
      FROM usr),
users AS (
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM usr),
        'p50_usd', llmcost.usd((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY usr.cost) FROM usr)),
        'p90_usd', llmcost.usd((SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY usr.cost) FROM usr)),
        'p99_usd', llmcost.usd((SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY usr.cost) FROM usr)),
        'p999_usd', llmcost.usd((SELECT percentile_disc(0.999) WITHIN GROUP (ORDER BY usr.cost) FROM usr)),
        'max_usd', llmcost.usd((SELECT max(usr.cost) FROM usr)),
        'mean_usd', round(llmcost.usd((SELECT avg(usr.cost) FROM usr)), 9),
        'top_1pct_share', (SELECT round(sum(r.cost) FILTER (WHERE r.rn <= ceil(r.n * 0.01)) / nullif(max(r.total), 0), 6) FROM usr_ranked r),
        'top_10pct_share', (SELECT round(sum(r.cost) FILTER (WHERE r.rn <= ceil(r.n * 0.10)) / nullif(max(r.total), 0), 6) FROM usr_ranked r),
        'top', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'user_id', r.user_id, 'rank', r.rn, 'cost_usd', llmcost.usd(r.cost),
                                  'share', round(r.cost / nullif(r.total, 0), 6), 'calls', r.calls,
                                  'prev_cost_usd', llmcost.usd(coalesce(
                                      (SELECT sum(u.cost_nusd) FROM llmcost.rollup_daily_user u
                                        WHERE u.user_id = r.user_id AND u.day >= b.pws AND u.day < b.ws), 0)))
                                ORDER BY r.rn)
                           FROM usr_ranked r, b WHERE r.rn <= 10), '[]')) AS j),
cache AS (
    SELECT jsonb_build_object(
        'calls', coalesce(sum(f.calls), 0),
        'exact_hits', coalesce(sum(f.calls) FILTER (WHERE f.cache_status = 'exact_hit'), 0),
        'semantic_hits', coalesce(sum(f.calls) FILTER (WHERE f.cache_status = 'semantic_hit'), 0),
        'hit_rate', round(coalesce(sum(f.calls) FILTER (WHERE f.cache_status <> 'miss'), 0) / nullif(sum(f.calls), 0), 6),
        'prev_hit_rate', (SELECT round(coalesce(sum(p.calls) FILTER (WHERE p.cache_status <> 'miss'), 0) / nullif(sum(p.calls), 0), 6)
                            FROM f p WHERE NOT p.cur),
        'avoided_usd', llmcost.usd(coalesce(sum(f.avoided_nusd), 0)),
        'cached_read_tokens', coalesce(sum(f.cached_read_tokens), 0),
        'prompt_cache_saved_usd', llmcost.usd(coalesce(sum(f.prompt_cache_saved_nusd), 0)),
        'by_feature', coalesce((
            SELECT jsonb_agg(t.j ORDER BY t.saved DESC, t.feature)
              FROM (SELECT c.feature, sum(c.avoided_nusd + c.prompt_cache_saved_nusd) AS saved,
                           jsonb_build_object(
                               'feature', c.feature, 'calls', sum(c.calls),
                               'hit_rate', round(coalesce(sum(c.calls) FILTER (WHERE c.cache_status <> 'miss'), 0) / sum(c.calls), 6),
                               'avoided_usd', llmcost.usd(sum(c.avoided_nusd)),
                               'prompt_cache_saved_usd', llmcost.usd(sum(c.prompt_cache_saved_nusd))) AS j
                      FROM f c WHERE c.cur GROUP BY c.feature
                     ORDER BY 2 DESC, 1 LIMIT 8) t), '[]')) AS j
      FROM f WHERE f.cur),
errs AS (
    SELECT jsonb_build_object(
        'failed_calls', coalesce(sum(f.calls) FILTER (WHERE f.cur AND f.error_class IS NOT NULL), 0),
        'failed_cost_usd', llmcost.usd(coalesce(sum(f.cost_nusd) FILTER (WHERE f.cur AND f.error_class IS NOT NULL), 0)),
        'prev_failed_cost_usd', llmcost.usd(coalesce(sum(f.cost_nusd) FILTER (WHERE NOT f.cur AND f.error_class IS NOT NULL), 0)),
        'retry_calls', coalesce(sum(f.retry_calls) FILTER (WHERE f.cur), 0),
        'retry_cost_usd', llmcost.usd(coalesce(sum(f.retry_cost_nusd) FILTER (WHERE f.cur), 0)),
        'fallback_calls', coalesce(sum(f.fallback_calls) FILTER (WHERE f.cur), 0),
        'fallback_extra_usd', llmcost.usd(coalesce(sum(f.fallback_extra_nusd) FILTER (WHERE f.cur), 0)),
        'by_class', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'error_class', t.error_class, 'calls', t.calls, 'cost_usd', llmcost.usd(t.cost),
                       'prev_cost_usd', llmcost.usd(t.prev_cost), 'top_feature', t.top_feature)
                     ORDER BY t.cost DESC, t.error_class)
              FROM (SELECT e.error_class,
                           coalesce(sum(e.calls) FILTER (WHERE e.cur), 0) AS calls,
                           coalesce(sum(e.cost_nusd) FILTER (WHERE e.cur), 0) AS cost,
                           coalesce(sum(e.cost_nusd) FILTER (WHERE NOT e.cur), 0) AS prev_cost,
                           (SELECT x.feature FROM f x WHERE x.cur AND x.error_class = e.error_class
                             GROUP BY x.feature ORDER BY sum(x.cost_nusd) DESC, x.feature LIMIT 1) AS top_feature
                      FROM f e WHERE e.error_class IS NOT NULL
                     GROUP BY e.error_class
                    HAVING sum(e.calls) FILTER (WHERE e.cur) > 0) t), '[]')) AS j
      FROM f),
alerts AS (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'alert_id', a.alert_id, 'rule', a.rule, 'subject', a.subject, 'severity', a.severity,
               'status', a.status, 'window_start', a.window_start, 'message', a.message)
             ORDER BY a.severity = 'critical' DESC, a.window_start, a.alert_id), '[]') AS j
      FROM llmcost.alerts a, b
     WHERE a.window_start < (b.we::timestamp AT TIME ZONE 'UTC')
       AND a.last_window_end >= (b.ws::timestamp AT TIME ZONE 'UTC')),
unpriced AS (
    SELECT coalesce(jsonb_agg(jsonb_build_object('provider', t.provider, 'model', t.model, 'calls', t.calls,
                                                 'first_day', t.first_day, 'last_day', t.last_day)
                              ORDER BY t.calls DESC, t.provider, t.model), '[]') AS j
      FROM (SELECT f.provider, f.model, sum(f.unpriced_calls) AS calls, min(f.day) AS first_day, max(f.day) AS last_day
              FROM f WHERE f.cur AND f.unpriced_calls > 0 GROUP BY f.provider, f.model) t),
-- invoices of the last quarter up to the week's end: they arrive weeks after
-- the period they bill
invoices AS (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'provider', i.provider, 'period_start', i.period_start, 'period_end', i.period_end,
               'invoiced_usd', i.invoiced_usd, 'computed_usd', i.computed_usd,
               'difference_usd', i.difference_usd, 'difference_pct', i.difference_pct,
               'unpriced_calls', i.unpriced_calls, 'status', i.status, 'flagged', i.flagged)
             ORDER BY i.period_start DESC, i.provider), '[]') AS j
      FROM llmcost.invoice_reconciliation i, b
     WHERE i.period_end > b.we - 92 AND i.period_start < b.we)
SELECT jsonb_build_object(
    'week_start', b.ws, 'week_end', b.we,
    'generated_at', now(),
    'rollups_as_of', (SELECT s.watermark FROM llmcost.rollup_state s),
    'summary', jsonb_build_object(
        'cost_usd', llmcost.usd(tot.cost), 'prev_cost_usd', llmcost.usd(tot.prev_cost),
        'cost_change', round(tot.cost::numeric / nullif(tot.prev_cost, 0) - 1, 6),
        'calls', tot.calls, 'prev_calls', tot.prev_calls,
        'calls_change', round(tot.calls::numeric / nullif(tot.prev_calls, 0) - 1, 6),
        'tokens', tot.tokens,
        'cost_per_call_usd', round(llmcost.usd(tot.cost::numeric / nullif(tot.calls, 0)), 9),
        'unpriced_calls', tot.unpriced_calls,
        'open_alerts', (SELECT count(*) FROM llmcost.alerts a WHERE a.status = 'open')),
    'weeks', weeks.j, 'days', days.j, 'features', features.j, 'users', users.j,
    'cache', cache.j, 'errors', errs.j, 'alerts', alerts.j, 'unpriced', unpriced.j, 'invoices', invoices.j)
  FROM b, tot, weeks, days, features, users, cache, errs, alerts, unpriced, invoices;
END;
COMMENT ON FUNCTION llmcost.weekly_review_data(date) IS
    'every figure of the weekly review of the ISO week (UTC) holding the given day (default: the last complete week), as JSON, from the rollups: totals, 12 weeks of cost, the days against the week before, top features and movers (leaks flagged), top users and the tail, cache, error classes, the week''s alerts, unpriced models and invoice gaps';

-- Text into HTML (element content and attribute values alike): feature
-- names and user ids come from the applications, never trusted as markup.
CREATE FUNCTION llmcost.html_escape(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
           s, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION llmcost.html_escape(text) IS 'text made safe inside HTML elements and quoted attributes';

-- Numbers for people.  kind: usd ($1,234.57), usd_short ($12.3k, for chart
-- labels), count (1,234,567), pct (a fraction shown as 12.3%), change (a
-- fraction shown as +12.3%).  NULL shows as a dash.
CREATE FUNCTION llmcost.review_format(v numeric, kind text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF v IS NULL THEN
        RETURN '–';
    END IF;
    CASE kind
    WHEN 'usd' THEN
        RETURN llmcost.format_usd(v);
    WHEN 'usd_short' THEN
        RETURN CASE WHEN v < 0 THEN '-' ELSE '' END || '$' ||
               CASE WHEN abs(v) >= 1e6 THEN to_char(abs(v) / 1e6, 'FM999,990.0') || 'M'
                    WHEN abs(v) >= 1e4 THEN to_char(abs(v) / 1e3, 'FM990') || 'k'
                    WHEN abs(v) >= 1e3 THEN to_char(abs(v) / 1e3, 'FM990.0') || 'k'
                    WHEN abs(v) >= 10 THEN to_char(abs(v), 'FM990')
                    WHEN abs(v) >= 0.1 THEN to_char(abs(v), 'FM990.00')
                    WHEN v = 0 THEN '0'
                    ELSE to_char(abs(v), 'FM0.0000') END;
    WHEN 'count' THEN
        RETURN to_char(v, 'FM999,999,999,999,999,990');
    WHEN 'pct' THEN
        RETURN to_char(100 * v, 'FM999,999,990.0') || '%';
    WHEN 'change' THEN
        RETURN CASE WHEN v > 0 THEN '+' ELSE '' END || to_char(100 * v, 'FM999,999,990.0') || '%';
    ELSE
        RAISE EXCEPTION 'llmcost.review_format: unknown kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use usd, usd_short, count, pct or change.';
    END CASE;
END
$$;
COMMENT ON FUNCTION llmcost.review_format(numeric, text) IS
    'a number as people read it: kind usd ($1,234.57), usd_short ($12.3k), count (1,234,567), pct (0.123 -> 12.3%) or change (0.123 -> +12.3%); NULL -> a dash';

-- One figure of the review's JSON, formatted (see llmcost.review_format).
CREATE FUNCTION llmcost.review_value(j jsonb, key text, kind text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN llmcost.review_format((j OPERATOR(pg_catalog.->>) key)::numeric, kind);
COMMENT ON FUNCTION llmcost.review_value(jsonb, text, text) IS 'a figure of llmcost.weekly_review_data() formatted by llmcost.review_format()';

-- A round upper bound for a chart axis: 1, 2, 2.5 or 5 times a power of ten.
CREATE FUNCTION llmcost.chart_axis_max(top numeric) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mag numeric;
    m numeric;
BEGIN
    IF top IS NULL OR top <= 0 THEN
        RETURN 1;
    END IF;
    mag := power(10::numeric, floor(log(top)));
    FOREACH m IN ARRAY ARRAY[1, 2, 2.5, 5, 10]::numeric[] LOOP
        IF m * mag >= top THEN
            RETURN trim_scale(m * mag);
        END IF;
    END LOOP;
    RETURN trim_scale(10 * mag);
END
$$;
COMMENT ON FUNCTION llmcost.chart_axis_max(numeric) IS 'the round axis maximum (1, 2, 2.5 or 5 x 10^n) at or above a value';

-- A column chart as inline SVG: one column per label, or two (the previous
-- period in grey beside the current one) when prev is given.  Every column
-- carries a <title> with its exact value for a tooltip.  Negative values
-- are drawn as zero (the tables show them).
CREATE FUNCTION llmcost.svg_columns(chart_id text, caption text, labels text[], vals numeric[],
                                    prev numeric[] DEFAULT NULL, kind text DEFAULT 'usd',
                                    series text[] DEFAULT ARRAY['this period', 'the period before'])
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w constant int := 680;
    h constant int := 250;
    ml constant int := 68;
    mr constant int := 12;
    mt constant int := 44;
    mb constant int := 34;
    pw constant numeric := w - ml - mr;
    ph constant numeric := h - mt - mb;
    n int := coalesce(cardinality(labels), 0);
    axis numeric;
    slot numeric;
    bw numeric;
    x numeric;
    bh numeric;
    i int;
    label_kind text := CASE WHEN kind = 'usd' THEN 'usd_short' ELSE kind END;
    svg text;
BEGIN
    axis := llmcost.chart_axis_max(greatest((SELECT max(v) FROM unnest(vals) v), (SELECT max(v) FROM unnest(prev) v)));
    svg := format('<svg class="chart" id="%s" role="img" aria-label="%s" viewBox="0 0 %s %s" width="%s" height="%s">'
                  '<title>%s</title><text class="caption" x="0" y="14">%s</text>',
                  llmcost.html_escape(chart_id), llmcost.html_escape(caption), w, h, w, h, llmcost.html_escape(caption),
                  llmcost.html_escape(caption));
    FOR i IN 0..4 LOOP
        svg := svg || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>'
                             '<text class="axis" x="%s" y="%s" text-anchor="end">%s</text>',
                             ml, w - mr, round(mt + ph - ph * i / 4, 1), round(mt + ph - ph * i / 4, 1),
                             ml - 6, round(mt + ph - ph * i / 4 + 4, 1),
                             llmcost.html_escape(llmcost.review_format(axis * i / 4, label_kind)));
    END LOOP;
    IF n = 0 THEN
        RETURN svg || format('<text class="empty" x="%s" y="%s" text-anchor="middle">no data</text></svg>',
                             ml + pw / 2, mt + ph / 2);
    END IF;
    slot := pw / n;
    bw := CASE WHEN prev IS NULL THEN slot * 0.6 ELSE slot * 0.36 END;
    FOR i IN 1..n LOOP
        x := ml + slot * (i - 1) + slot * 0.12;
        IF prev IS NOT NULL THEN
            bh := ph * greatest(coalesce(prev[i], 0), 0) / axis;
            svg := svg || format('<rect class="prev" x="%s" y="%s" width="%s" height="%s"><title>%s, %s: %s</title></rect>',
                                 round(x, 1), round(mt + ph - bh, 1), round(bw, 1), round(bh, 1),
                                 llmcost.html_escape(labels[i]), llmcost.html_escape(series[2]),
                                 llmcost.html_escape(llmcost.review_format(prev[i], kind)));
            x := x + bw + slot * 0.04;
        END IF;
        bh := ph * greatest(coalesce(vals[i], 0), 0) / axis;
        svg := svg || format('<rect class="cur%s" x="%s" y="%s" width="%s" height="%s"><title>%s%s: %s</title></rect>',
                             CASE WHEN prev IS NULL AND i = n THEN ' last' ELSE '' END,
                             round(x, 1), round(mt + ph - bh, 1), round(bw, 1), round(bh, 1),
                             llmcost.html_escape(labels[i]),
                             CASE WHEN prev IS NULL THEN '' ELSE ', ' || llmcost.html_escape(series[1]) END,
                             llmcost.html_escape(llmcost.review_format(vals[i], kind)));
        svg := svg || format('<text class="label" x="%s" y="%s" text-anchor="middle">%s</text>',
                             round(ml + slot * (i - 0.5), 1), h - mb + 16, llmcost.html_escape(labels[i]));
    END LOOP;
    IF prev IS NOT NULL THEN
        svg := svg || format('<rect class="cur" x="%s" y="22" width="12" height="12"/><text class="legend" x="%s" y="32">%s</text>'
                             '<rect class="prev" x="%s" y="22" width="12" height="12"/><text class="legend" x="%s" y="32">%s</text>',
                             w - 300, w - 284, llmcost.html_escape(series[1]),
                             w - 150, w - 134, llmcost.html_escape(series[2]));
    END IF;
    RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION llmcost.svg_columns(text, text, text[], numeric[], numeric[], text, text[]) IS
    'a column chart as inline SVG (id, caption, labels, values, optional previous-period values, llmcost.review_format kind, series names)';

-- A horizontal bar chart as inline SVG: one row per label, the value at the
-- bar's end, and a thin grey bar for the previous period when prev is given.
CREATE FUNCTION llmcost.svg_bars(chart_id text, caption text, labels text[], vals numeric[],
                                 prev numeric[] DEFAULT NULL, kind text DEFAULT 'usd')
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w constant int := 680;
    ml constant int := 190;
    mr constant int := 90;
    mt constant int := 28;
    row_h constant int := 26;
    pw constant numeric := w - ml - mr;
    n int := coalesce(cardinality(labels), 0);
    h int := mt + 8 + greatest(n, 1) * row_h;
    axis numeric;
    y numeric;
    bl numeric;
    i int;
    svg text;
BEGIN
    axis := greatest((SELECT max(v) FROM unnest(vals) v), (SELECT max(v) FROM unnest(prev) v));
    axis := CASE WHEN axis IS NULL OR axis <= 0 THEN 1 ELSE axis END;
    svg := format('<svg class="chart" id="%s" role="img" aria-label="%s" viewBox="0 0 %s %s" width="%s" height="%s">'
                  '<title>%s</title><text class="caption" x="0" y="14">%s</text>',
                  llmcost.html_escape(chart_id), llmcost.html_escape(caption), w, h, w, h, llmcost.html_escape(caption),
                  llmcost.html_escape(caption));
    IF n = 0 THEN
        RETURN svg || format('<text class="empty" x="%s" y="%s" text-anchor="middle">no data</text></svg>', w / 2, mt + 17);
    END IF;
    FOR i IN 1..n LOOP
        y := mt + row_h * (i - 1);
        svg := svg || format('<text class="label" x="%s" y="%s" text-anchor="end">%s</text>',
                             ml - 8, round(y + 15, 1),
                             llmcost.html_escape(CASE WHEN length(labels[i]) > 26 THEN left(labels[i], 25) || '…'
                                                      ELSE labels[i] END));
        bl := pw * greatest(coalesce(vals[i], 0), 0) / axis;
        svg := svg || format('<rect class="cur" x="%s" y="%s" width="%s" height="14"><title>%s: %s</title></rect>',
                             ml, round(y + 4, 1), round(bl, 1), llmcost.html_escape(labels[i]),
                             llmcost.html_escape(llmcost.review_format(vals[i], kind)));
        IF prev IS NOT NULL THEN
            svg := svg || format('<rect class="prev" x="%s" y="%s" width="%s" height="4"><title>%s, the period before: %s</title></rect>',
                                 ml, round(y + 19, 1), round(pw * greatest(coalesce(prev[i], 0), 0) / axis, 1),
                                 llmcost.html_escape(labels[i]), llmcost.html_escape(llmcost.review_format(prev[i], kind)));
        END IF;
        svg := svg || format('<text class="value" x="%s" y="%s">%s</text>',
                             round(ml + bl + 6, 1), round(y + 15, 1),
                             llmcost.html_escape(llmcost.review_format(vals[i], CASE WHEN kind = 'usd' THEN 'usd_short' ELSE kind END)));
    END LOOP;
    RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION llmcost.svg_bars(text, text, text[], numeric[], numeric[], text) IS
    'a horizontal bar chart as inline SVG (id, caption, labels, values, optional previous-period values, llmcost.review_format kind)';

-- One table row; every cell escaped here, the first text_cols left-aligned
-- as text, the others right-aligned as numbers.
CREATE FUNCTION llmcost.html_row(cells text[], text_cols int DEFAULT 1, row_class text DEFAULT NULL)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT CASE WHEN row_class IS NULL THEN '<tr>' ELSE '<tr class="' || llmcost.html_escape(row_class) || '">' END
           || string_agg(CASE WHEN c.i <= text_cols THEN '<td>' ELSE '<td class="n">' END
                         || llmcost.html_escape(coalesce(c.cell, '–')) || '</td>', '' ORDER BY c.i)
           || '</tr>'
      FROM unnest(cells) WITH ORDINALITY c(cell, i);
END;
COMMENT ON FUNCTION llmcost.html_row(text[], integer, text) IS 'a table row of escaped cells (the first text_cols as text, the rest as numbers)';

-- A table with its header, or the sentence for an empty one.
CREATE FUNCTION llmcost.html_table(table_id text, headers text[], text_cols int, row_html text[], empty text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT CASE WHEN coalesce(cardinality(row_html), 0) = 0 THEN '<p class="empty">' || llmcost.html_escape(empty) || '</p>'
           ELSE '<table id="' || llmcost.html_escape(table_id) || '"><thead><tr>'
                || (SELECT string_agg(CASE WHEN h.i <= text_cols THEN '<th>' ELSE '<th class="n">' END
                                      || llmcost.html_escape(h.head) || '</th>', '' ORDER BY h.i)
                      FROM unnest(headers) WITH ORDINALITY h(head, i))
                || '</tr></thead><tbody>' || array_to_string(row_html, '') || '</tbody></table>' END;
END;
COMMENT ON FUNCTION llmcost.html_table(text, text[], integer, text[], text) IS
    'an HTML table (id, escaped headers, text columns, rows from llmcost.html_row), or a paragraph saying why it is empty';

-- A figure for the page's header cards.
CREATE FUNCTION llmcost.html_kpi(label text, value text, note text DEFAULT NULL, tone text DEFAULT NULL)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN '<div class="kpi' || CASE WHEN tone IS NULL THEN '' ELSE ' ' || llmcost.html_escape(tone) END || '"><div class="k">'
       || llmcost.html_escape(label) || '</div><div class="v">' || llmcost.html_escape(value) || '</div>'
       || CASE WHEN note IS NULL THEN '' ELSE '<div class="d">' || llmcost.html_escape(note) || '</div>' END || '</div>';
COMMENT ON FUNCTION llmcost.html_kpi(text, text, text, text) IS 'a headline figure (label, value, optional note and tone: up, down or alert)';

-- Up is bad for cost: the tone of a cost change for the header cards.
CREATE FUNCTION llmcost.change_tone(change numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN change OPERATOR(pg_catalog.>) 0.05 THEN 'up'
            WHEN change OPERATOR(pg_catalog.<) -0.05 THEN 'down' END;
COMMENT ON FUNCTION llmcost.change_tone(numeric) IS 'up (more than +5%), down (less than -5%) or NULL: how a cost change is shown';

CREATE FUNCTION llmcost.weekly_review_html(week date DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d jsonb := llmcost.weekly_review_data(week);
    s jsonb := d -> 'summary';
    u jsonb := d -> 'users';
    c jsonb := d -> 'cache';
    e jsonb := d -> 'errors';
    ws date := (d ->> 'week_start')::date;
    title text;
    page text;
BEGIN
    title := format('LLM cost review: week of %s (UTC)', to_char(ws, 'FMDD Mon YYYY'));
    page := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        -- nothing may load or run: the page is one file, safe to mail
        || '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || '<title>' || llmcost.html_escape(title) || '</title><style>'
        || 'body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;'
        || 'background:#f3f4f6;margin:0;padding:24px}main{max-width:1000px;margin:0 auto}'
        || 'h1{font-size:24px;margin:0 0 2px}h2{font-size:18px;margin:0 0 10px}.sub{color:#6b7280;margin:0 0 16px}'
        || 'section{background:#fff;border-radius:10px;padding:18px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}'
        || '.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 16px}'
        || '.kpi{background:#fff;border-radius:10px;padding:10px 14px;min-width:130px;flex:1;box-shadow:0 1px 2px rgba(0,0,0,.06)}'
        || '.kpi .k{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.03em}.kpi .v{font-size:22px;font-weight:600}'
        || '.kpi .d{font-size:12px;color:#6b7280}.kpi.up .d{color:#b91c1c}.kpi.down .d{color:#047857}.kpi.alert .v{color:#b91c1c}'
        || 'table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:13px}'
        || 'th,td{padding:5px 8px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}'
        || 'th{color:#6b7280;font-weight:600;font-size:12px}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}'
        || 'tr.flag td{background:#fef2f2}tr.flag td:last-child{color:#b91c1c;font-weight:600}'
        || 'tr.critical td:first-child{color:#b91c1c;font-weight:600}'
        || 'p.empty{color:#6b7280;font-style:italic}.note{color:#6b7280;font-size:12px}'
        || 'svg.chart{display:block;max-width:100%;height:auto;margin:14px 0 8px}'
        || 'svg .grid{stroke:#e5e7eb}svg .axis,svg .label,svg .legend,svg .value{font-size:11px;fill:#4b5563}'
        || 'svg .caption{font-size:13px;font-weight:600;fill:#374151}svg .empty{font-size:13px;fill:#9ca3af}svg .cur{fill:#2563eb}svg .cur.last{fill:#1e3a8a}svg .prev{fill:#cbd5e1}'
        || 'footer{color:#6b7280;font-size:12px;text-align:center;margin:8px 0 0}'
        || '</style></head><body><main>'
        || '<h1>' || llmcost.html_escape(title) || '</h1>'
        || '<p class="sub">' || llmcost.html_escape(format('Monday %s to Sunday %s, against the week before. All costs priced by llmcost at each call''s own time.',
                                                           to_char(ws, 'FMDD Mon'), to_char(ws + 6, 'FMDD Mon YYYY'))) || '</p>'
        || '<div class="kpis" id="kpis">'
        || llmcost.html_kpi('Cost', llmcost.review_value(s, 'cost_usd', 'usd'),
                            llmcost.review_value(s, 'cost_change', 'change') || ' vs '
                            || llmcost.review_value(s, 'prev_cost_usd', 'usd'),
                            llmcost.change_tone((s ->> 'cost_change')::numeric))
        || llmcost.html_kpi('Calls', llmcost.review_value(s, 'calls', 'count'),
                            llmcost.review_value(s, 'calls_change', 'change') || ' vs the week before')
        || llmcost.html_kpi('Cost per call', llmcost.review_value(s, 'cost_per_call_usd', 'usd'))
        || llmcost.html_kpi('Saved by caching', llmcost.review_format((c ->> 'avoided_usd')::numeric
                                                                      + (c ->> 'prompt_cache_saved_usd')::numeric, 'usd'),
                            'hit rate ' || llmcost.review_value(c, 'hit_rate', 'pct'))
        || llmcost.html_kpi('Alerts this week', llmcost.review_format(jsonb_array_length(d -> 'alerts'), 'count'),
                            (s ->> 'open_alerts') || ' open now',
                            CASE WHEN jsonb_array_length(d -> 'alerts') > 0 THEN 'alert' END)
        || llmcost.html_kpi('Unpriced calls', llmcost.review_value(s, 'unpriced_calls', 'count'),
                            'not in any cost', CASE WHEN (s ->> 'unpriced_calls')::numeric > 0 THEN 'alert' END)
        || '</div>';

    -- 1. cost trend
    page := page || '<section id="trend"><h2>Cost trend</h2>'
        || (SELECT llmcost.svg_columns('chart-weeks', 'Cost per week, the last 12 weeks',
                                       array_agg(to_char((x ->> 'week')::date, 'FMDD Mon') ORDER BY o),
                                       array_agg((x ->> 'cost_usd')::numeric ORDER BY o))
              FROM jsonb_array_elements(d -> 'weeks') WITH ORDINALITY t(x, o))
        || (SELECT llmcost.svg_columns('chart-days', 'Cost per day, against the same day a week before',
                                       array_agg(to_char((x ->> 'day')::date, 'Dy FMDD') ORDER BY o),
                                       array_agg((x ->> 'cost_usd')::numeric ORDER BY o),
                                       array_agg((x ->> 'prev_cost_usd')::numeric ORDER BY o),
                                       'usd', ARRAY['this week', 'the week before'])
              FROM jsonb_array_elements(d -> 'days') WITH ORDINALITY t(x, o))
        || '</section>';

    -- 2. features
    page := page || '<section id="features"><h2>Top features</h2>'
        || (SELECT llmcost.svg_bars('chart-features', 'Cost by feature, this week (bar) and the week before (grey)',
                                    array_agg(x ->> 'feature' ORDER BY o), array_agg((x ->> 'cost_usd')::numeric ORDER BY o),
                                    array_agg((x ->> 'prev_cost_usd')::numeric ORDER BY o))
              FROM jsonb_array_elements(d -> 'features' -> 'top') WITH ORDINALITY t(x, o))
        || llmcost.html_table('table-features',
               ARRAY['#', 'feature', 'cost', 'share', 'calls', 'per call', 'Δ cost', 'Δ calls', 'Δ per call', ''], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'rank', x ->> 'feature',
                           llmcost.review_value(x, 'cost_usd', 'usd'),
                           llmcost.review_value(x, 'share', 'pct'),
                           llmcost.review_value(x, 'calls', 'count'),
                           llmcost.review_value(x, 'cost_per_call_usd', 'usd'),
                           llmcost.review_value(x, 'cost_change', 'change'),
                           llmcost.review_value(x, 'calls_change', 'change'),
                           llmcost.review_value(x, 'cost_per_call_change', 'change'),
                           CASE WHEN (x ->> 'leak')::boolean THEN 'leak' ELSE '' END],
                         2, CASE WHEN (x ->> 'leak')::boolean THEN 'flag' END) ORDER BY o)
                  FROM jsonb_array_elements(d -> 'features' -> 'top') WITH ORDINALITY t(x, o)),
               'No feature had calls this week.')
        || '<p class="note">Changes are against the week before. A leak: cost up 25% or more while calls grew 5% or less, usually a prompt that bloated its context.</p>'
        || '<h2>Movers</h2>'
        || llmcost.html_table('table-movers', ARRAY['feature', 'direction', 'cost', 'the week before', 'change', ''], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'feature', dir,
                           llmcost.review_value(x, 'cost_usd', 'usd'),
                           llmcost.review_value(x, 'prev_cost_usd', 'usd'),
                           llmcost.review_format((x ->> 'cost_usd')::numeric - (x ->> 'prev_cost_usd')::numeric, 'usd'),
                           CASE WHEN (x ->> 'leak')::boolean THEN 'leak' ELSE '' END],
                         2, CASE WHEN (x ->> 'leak')::boolean THEN 'flag' END) ORDER BY k, o)
                  FROM (SELECT x, o, 1 AS k, 'up' AS dir FROM jsonb_array_elements(d -> 'features' -> 'risers') WITH ORDINALITY r(x, o)
                        UNION ALL
                        SELECT x, o, 2, 'down' FROM jsonb_array_elements(d -> 'features' -> 'fallers') WITH ORDINALITY r(x, o)) m),
               'No feature changed its cost this week.')
        || '</section>';

    -- 3. users and the tail
    page := page || '<section id="users"><h2>Top users and the tail</h2>'
        || '<div class="kpis">'
        || llmcost.html_kpi('Users', llmcost.review_value(u, 'count', 'count'))
        || llmcost.html_kpi('p50 per user', llmcost.review_value(u, 'p50_usd', 'usd'))
        || llmcost.html_kpi('p90', llmcost.review_value(u, 'p90_usd', 'usd'))
        || llmcost.html_kpi('p99', llmcost.review_value(u, 'p99_usd', 'usd'))
        || llmcost.html_kpi('Top 1% of users', llmcost.review_value(u, 'top_1pct_share', 'pct'), 'of the cost')
        || '</div>'
        || llmcost.svg_bars('chart-user-share', 'Share of the week''s cost by group of users',
                            ARRAY['top 1% of users', 'next 9%', 'other 90%'],
                            ARRAY[(u ->> 'top_1pct_share')::numeric,
                                  (u ->> 'top_10pct_share')::numeric - (u ->> 'top_1pct_share')::numeric,
                                  1 - (u ->> 'top_10pct_share')::numeric], NULL, 'pct')
        || llmcost.html_table('table-users', ARRAY['#', 'user', 'cost', 'share', 'calls', 'the week before'], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'rank', x ->> 'user_id',
                           llmcost.review_value(x, 'cost_usd', 'usd'),
                           llmcost.review_value(x, 'share', 'pct'),
                           llmcost.review_value(x, 'calls', 'count'),
                           llmcost.review_value(x, 'prev_cost_usd', 'usd')], 2) ORDER BY o)
                  FROM jsonb_array_elements(u -> 'top') WITH ORDINALITY t(x, o)),
               'No user had calls this week.')
        || '<p class="note">' || llmcost.html_escape(format('Per-user cost over the week: p99.9 %s, the most expensive user %s, mean %s.',
                  llmcost.review_value(u, 'p999_usd', 'usd'), llmcost.review_value(u, 'max_usd', 'usd'),
                  llmcost.review_value(u, 'mean_usd', 'usd'))) || '</p>'
        || '</section>';

    -- 4. cache
    page := page || '<section id="cache"><h2>Cache hit rate and savings</h2>'
        || '<div class="kpis">'
        || llmcost.html_kpi('Hit rate', llmcost.review_value(c, 'hit_rate', 'pct'),
                            'the week before ' || llmcost.review_value(c, 'prev_hit_rate', 'pct'))
        || llmcost.html_kpi('Exact hits', llmcost.review_value(c, 'exact_hits', 'count'))
        || llmcost.html_kpi('Semantic hits', llmcost.review_value(c, 'semantic_hits', 'count'))
        || llmcost.html_kpi('Cost avoided by hits', llmcost.review_value(c, 'avoided_usd', 'usd'))
        || llmcost.html_kpi('Prompt-cache savings', llmcost.review_value(c, 'prompt_cache_saved_usd', 'usd'),
                            llmcost.review_value(c, 'cached_read_tokens', 'count') || ' cached tokens')
        || '</div>'
        || (SELECT llmcost.svg_columns('chart-hit-rate', 'Application-cache hit rate per day',
                                       array_agg(to_char((x ->> 'day')::date, 'Dy FMDD') ORDER BY o),
                                       array_agg(round((x ->> 'hits')::numeric / nullif((x ->> 'calls')::numeric, 0), 4) ORDER BY o),
                                       NULL, 'pct')
              FROM jsonb_array_elements(d -> 'days') WITH ORDINALITY t(x, o))
        || llmcost.html_table('table-cache', ARRAY['feature', 'calls', 'hit rate', 'cost avoided', 'prompt-cache savings'], 1,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'feature',
                           llmcost.review_value(x, 'calls', 'count'),
                           llmcost.review_value(x, 'hit_rate', 'pct'),
                           llmcost.review_value(x, 'avoided_usd', 'usd'),
                           llmcost.review_value(x, 'prompt_cache_saved_usd', 'usd')]) ORDER BY o)
                  FROM jsonb_array_elements(c -> 'by_feature') WITH ORDINALITY t(x, o)),
               'No calls this week.')
        || '</section>';

    -- 5. errors
    page := page || '<section id="errors"><h2>Cost of errors, retries and fallbacks</h2>'
        || '<div class="kpis">'
        || llmcost.html_kpi('Failed calls', llmcost.review_value(e, 'failed_calls', 'count'))
        || llmcost.html_kpi('Their cost', llmcost.review_value(e, 'failed_cost_usd', 'usd'),
                            'the week before ' || llmcost.review_value(e, 'prev_failed_cost_usd', 'usd'))
        || llmcost.html_kpi('Retries', llmcost.review_value(e, 'retry_cost_usd', 'usd'),
                            llmcost.review_value(e, 'retry_calls', 'count') || ' calls')
        || llmcost.html_kpi('Fallbacks, extra cost', llmcost.review_value(e, 'fallback_extra_usd', 'usd'),
                            llmcost.review_value(e, 'fallback_calls', 'count') || ' calls')
        || '</div>'
        || (SELECT llmcost.svg_bars('chart-errors', 'Cost of failed calls by error class, this week and the week before',
                                    array_agg(x ->> 'error_class' ORDER BY o), array_agg((x ->> 'cost_usd')::numeric ORDER BY o),
                                    array_agg((x ->> 'prev_cost_usd')::numeric ORDER BY o))
              FROM jsonb_array_elements(e -> 'by_class') WITH ORDINALITY t(x, o))
        || llmcost.html_table('table-errors', ARRAY['error class', 'costliest feature', 'calls', 'cost', 'the week before'], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'error_class', x ->> 'top_feature',
                           llmcost.review_value(x, 'calls', 'count'),
                           llmcost.review_value(x, 'cost_usd', 'usd'),
                           llmcost.review_value(x, 'prev_cost_usd', 'usd')], 2) ORDER BY o)
                  FROM jsonb_array_elements(e -> 'by_class') WITH ORDINALITY t(x, o)),
               'No call failed this week.')
        || '</section>';

    -- 6. alerts, unpriced models, invoices
    page := page || '<section id="alerts"><h2>Alerts of the week</h2>'
        || llmcost.html_table('table-alerts', ARRAY['severity', 'rule', 'subject', 'since (UTC)', 'status', 'what happened'], 6,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'severity', x ->> 'rule', x ->> 'subject',
                           to_char((x ->> 'window_start')::timestamptz AT TIME ZONE 'UTC', 'Dy DD Mon HH24:MI'),
                           x ->> 'status', x ->> 'message'], 6, x ->> 'severity') ORDER BY o)
                  FROM jsonb_array_elements(d -> 'alerts') WITH ORDINALITY t(x, o)),
               'No alerts this week.')
        || '</section>'
        || '<section id="unpriced"><h2>Unpriced models</h2>'
        || llmcost.html_table('table-unpriced', ARRAY['provider', 'model', 'calls', 'first day', 'last day'], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'provider', x ->> 'model', llmcost.review_value(x, 'calls', 'count'),
                           x ->> 'first_day', x ->> 'last_day'], 2, 'flag') ORDER BY o)
                  FROM jsonb_array_elements(d -> 'unpriced') WITH ORDINALITY t(x, o)),
               'Every call of the week was priced.')
        || CASE WHEN jsonb_array_length(d -> 'unpriced') > 0
                THEN '<p class="note">These calls are in no cost above. Add a rate (llmcost.set_rate) or an alias (llmcost.model_aliases), then CALL llmcost.reprice(from, to).</p>'
                ELSE '' END
        || '</section>'
        || '<section id="invoices"><h2>Invoice gap</h2>'
        || llmcost.html_table('table-invoices',
               ARRAY['provider', 'period', 'invoiced', 'llmcost', 'difference', 'difference %', 'unpriced calls', 'status'], 2,
               (SELECT array_agg(llmcost.html_row(ARRAY[
                           x ->> 'provider',
                           (x ->> 'period_start') || ' to ' || ((x ->> 'period_end')::date - 1),
                           llmcost.review_value(x, 'invoiced_usd', 'usd'),
                           llmcost.review_value(x, 'computed_usd', 'usd'),
                           llmcost.review_value(x, 'difference_usd', 'usd'),
                           llmcost.review_format((x ->> 'difference_pct')::numeric / 100, 'change'),
                           llmcost.review_value(x, 'unpriced_calls', 'count'),
                           x ->> 'status'], 2, CASE WHEN (x ->> 'flagged')::boolean THEN 'flag' END) ORDER BY o)
                  FROM jsonb_array_elements(d -> 'invoices') WITH ORDINALITY t(x, o)),
               'No invoice lines for the last 92 days: record them in llmcost.invoice_lines to compare.')
        || '<p class="note">The provider''s figure reconciles the card charge; llmcost''s is the one to operate on. Differences come from unpriced models, credits, taxes and rate changes the rate card has not caught up with.</p>'
        || '</section>'
        || '<footer>' || llmcost.html_escape(format('Made by llmcost from its rollups at %s UTC; events that arrived before %s UTC are in it.',
                              to_char((d ->> 'generated_at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                              coalesce(to_char((d ->> 'rollups_as_of')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '(never refreshed)')))
        || '</footer></main></body></html>';
    RETURN page;
END
$$;
COMMENT ON FUNCTION llmcost.weekly_review_html(date) IS
    'the weekly review of the ISO week (UTC) holding the given day (default: the last complete week) as one self-contained HTML page: inline CSS and SVG charts, no script, nothing loaded';

-- Text from applications inside a Markdown table cell: pipes, backslashes,
-- emphasis and code marks would break the table or the formatting.
CREATE FUNCTION llmcost.markdown_escape(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.regexp_replace(pg_catalog.regexp_replace(s, '([\\`*_|<>\[\]#])', '\\\1', 'g'), '[\r\n]+', ' ', 'g');
COMMENT ON FUNCTION llmcost.markdown_escape(text) IS 'text made inert in Markdown (table cells included)';

CREATE FUNCTION llmcost.weekly_review_markdown(week date DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d jsonb := llmcost.weekly_review_data(week);
    s jsonb := d -> 'summary';
    u jsonb := d -> 'users';
    c jsonb := d -> 'cache';
    e jsonb := d -> 'errors';
    ws date := (d ->> 'week_start')::date;
    md text;
BEGIN
    md := format(E'# LLM cost review: week of %s (UTC)\n\n', to_char(ws, 'FMDD Mon YYYY'))
       || format(E'**Cost %s** (%s vs %s the week before) · %s calls (%s) · %s per call · caching saved %s · %s alerts · %s unpriced calls\n\n',
                 llmcost.review_value(s, 'cost_usd', 'usd'),
                 llmcost.review_value(s, 'cost_change', 'change'),
                 llmcost.review_value(s, 'prev_cost_usd', 'usd'),
                 llmcost.review_value(s, 'calls', 'count'),
                 llmcost.review_value(s, 'calls_change', 'change'),
                 llmcost.review_value(s, 'cost_per_call_usd', 'usd'),
                 llmcost.review_format((c ->> 'avoided_usd')::numeric + (c ->> 'prompt_cache_saved_usd')::numeric, 'usd'),
                 jsonb_array_length(d -> 'alerts'),
                 llmcost.review_value(s, 'unpriced_calls', 'count'))
       || E'## Cost per day\n\n| day | cost | the week before |\n|---|--:|--:|\n'
       || (SELECT string_agg(format(E'| %s | %s | %s |\n', to_char((x ->> 'day')::date, 'Dy DD Mon'),
                                    llmcost.review_value(x, 'cost_usd', 'usd'),
                                    llmcost.review_value(x, 'prev_cost_usd', 'usd')), '' ORDER BY o)
             FROM jsonb_array_elements(d -> 'days') WITH ORDINALITY t(x, o))
       || E'\n## Top features\n\n'
       || coalesce(E'| # | feature | cost | share | cost vs week before | calls vs week before | |\n|--:|---|--:|--:|--:|--:|---|\n'
                   || (SELECT string_agg(format(E'| %s | %s | %s | %s | %s | %s | %s |\n', x ->> 'rank',
                                                llmcost.markdown_escape(x ->> 'feature'),
                                                llmcost.review_value(x, 'cost_usd', 'usd'),
                                                llmcost.review_value(x, 'share', 'pct'),
                                                llmcost.review_value(x, 'cost_change', 'change'),
                                                llmcost.review_value(x, 'calls_change', 'change'),
                                                CASE WHEN (x ->> 'leak')::boolean THEN '**leak**' ELSE '' END), '' ORDER BY o)
                         FROM jsonb_array_elements(d -> 'features' -> 'top') WITH ORDINALITY t(x, o)),
                   E'No feature had calls this week.\n')
       || coalesce(E'\nLeaking (cost up 25%+ with calls up 5% or less): '
                   || (SELECT string_agg(llmcost.markdown_escape(x ->> 'feature'), ', ' ORDER BY o)
                         FROM jsonb_array_elements(d -> 'features' -> 'leaks') WITH ORDINALITY t(x, o)) || E'\n', '')
       || coalesce(E'\nBiggest risers: '
                   || (SELECT string_agg(format('%s %s', llmcost.markdown_escape(x ->> 'feature'),
                                                llmcost.review_format((x ->> 'cost_usd')::numeric - (x ->> 'prev_cost_usd')::numeric, 'usd')),
                                         ', ' ORDER BY o)
                         FROM jsonb_array_elements(d -> 'features' -> 'risers') WITH ORDINALITY t(x, o)) || E'\n', '')
       || format(E'\n## Users\n\n%s users; per-user cost p50 %s, p90 %s, p99 %s, p99.9 %s; the top 1%% carry %s of the cost, the top 10%% %s.\n\n',
                 llmcost.review_value(u, 'count', 'count'),
                 llmcost.review_value(u, 'p50_usd', 'usd'), llmcost.review_value(u, 'p90_usd', 'usd'),
                 llmcost.review_value(u, 'p99_usd', 'usd'), llmcost.review_value(u, 'p999_usd', 'usd'),
                 llmcost.review_value(u, 'top_1pct_share', 'pct'),
                 llmcost.review_value(u, 'top_10pct_share', 'pct'))
       || coalesce(E'| # | user | cost | share | the week before |\n|--:|---|--:|--:|--:|\n'
                   || (SELECT string_agg(format(E'| %s | %s | %s | %s | %s |\n', x ->> 'rank',
                                                llmcost.markdown_escape(x ->> 'user_id'),
                                                llmcost.review_value(x, 'cost_usd', 'usd'),
                                                llmcost.review_value(x, 'share', 'pct'),
                                                llmcost.review_value(x, 'prev_cost_usd', 'usd')), '' ORDER BY o)
                         FROM jsonb_array_elements(u -> 'top') WITH ORDINALITY t(x, o)), '')
       || format(E'\n## Cache\n\nHit rate %s (the week before %s): %s exact and %s semantic hits avoided %s; provider prompt caching saved %s on %s cached tokens.\n',
                 llmcost.review_value(c, 'hit_rate', 'pct'), llmcost.review_value(c, 'prev_hit_rate', 'pct'),
                 llmcost.review_value(c, 'exact_hits', 'count'), llmcost.review_value(c, 'semantic_hits', 'count'),
                 llmcost.review_value(c, 'avoided_usd', 'usd'), llmcost.review_value(c, 'prompt_cache_saved_usd', 'usd'),
                 llmcost.review_value(c, 'cached_read_tokens', 'count'))
       || format(E'\n## Errors\n\n%s failed calls cost %s (the week before %s); retries %s, fallbacks %s extra.\n\n',
                 llmcost.review_value(e, 'failed_calls', 'count'), llmcost.review_value(e, 'failed_cost_usd', 'usd'),
                 llmcost.review_value(e, 'prev_failed_cost_usd', 'usd'), llmcost.review_value(e, 'retry_cost_usd', 'usd'),
                 llmcost.review_value(e, 'fallback_extra_usd', 'usd'))
       || coalesce(E'| error class | calls | cost | the week before |\n|---|--:|--:|--:|\n'
                   || (SELECT string_agg(format(E'| %s | %s | %s | %s |\n', llmcost.markdown_escape(x ->> 'error_class'),
                                                llmcost.review_value(x, 'calls', 'count'),
                                                llmcost.review_value(x, 'cost_usd', 'usd'),
                                                llmcost.review_value(x, 'prev_cost_usd', 'usd')), '' ORDER BY o)
                         FROM jsonb_array_elements(e -> 'by_class') WITH ORDINALITY t(x, o)), '')
       || E'\n## Alerts\n\n'
       || coalesce((SELECT string_agg(format(E'- **%s** %s %s (%s): %s\n', x ->> 'severity', x ->> 'rule',
                                             llmcost.markdown_escape(x ->> 'subject'), x ->> 'status',
                                             llmcost.markdown_escape(x ->> 'message')), '' ORDER BY o)
                      FROM jsonb_array_elements(d -> 'alerts') WITH ORDINALITY t(x, o)), E'No alerts this week.\n')
       || E'\n## Unpriced models\n\n'
       || coalesce((SELECT string_agg(format(E'- %s %s: %s calls in no cost\n', llmcost.markdown_escape(x ->> 'provider'),
                                             llmcost.markdown_escape(x ->> 'model'),
                                             llmcost.review_value(x, 'calls', 'count')), '' ORDER BY o)
                      FROM jsonb_array_elements(d -> 'unpriced') WITH ORDINALITY t(x, o)), E'Every call of the week was priced.\n')
       || E'\n## Invoice gap\n\n'
       || coalesce(E'| provider | period | invoiced | llmcost | difference | status |\n|---|---|--:|--:|--:|---|\n'
                   || (SELECT string_agg(format(E'| %s | %s to %s | %s | %s | %s (%s) | %s |\n',
                                                llmcost.markdown_escape(x ->> 'provider'), x ->> 'period_start',
                                                (x ->> 'period_end')::date - 1,
                                                llmcost.review_value(x, 'invoiced_usd', 'usd'),
                                                llmcost.review_value(x, 'computed_usd', 'usd'),
                                                llmcost.review_value(x, 'difference_usd', 'usd'),
                                                llmcost.review_format((x ->> 'difference_pct')::numeric / 100, 'change'),
                                                CASE WHEN (x ->> 'flagged')::boolean THEN '**' || (x ->> 'status') || '**'
                                                     ELSE x ->> 'status' END), '' ORDER BY o)
                         FROM jsonb_array_elements(d -> 'invoices') WITH ORDINALITY t(x, o)),
                   E'No invoice lines for the last 92 days.\n');
    RETURN md;
END
$$;
COMMENT ON FUNCTION llmcost.weekly_review_markdown(date) IS
    'the weekly review of the ISO week (UTC) holding the given day (default: the last complete week) as Markdown, for a chat channel or e-mail';

--------------------------------------------------------------------------
-- Retention and maintenance
--------------------------------------------------------------------------

CREATE FUNCTION llmcost.drop_expired_partitions(OUT dropped integer, OUT rollup_rows_deleted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s llmcost.settings;
    horizon date;
    part record;
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    -- a day is dropped once all of it is older than the retention
    horizon := ((now() AT TIME ZONE 'UTC') - make_interval(days => s.retention_days))::date;
    dropped := 0;
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'llmcost.events'::regclass AND c.relname ~ '^events_p[0-9]{8}$'
           AND to_date(substr(c.relname, 9), 'YYYYMMDD') < horizon
         ORDER BY c.relname
    LOOP
        -- a whole table at once: no bulk DELETE, no bloat
        EXECUTE format('DROP TABLE llmcost.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM llmcost.events_default WHERE event_time < horizon::timestamp AT TIME ZONE 'UTC';
    DELETE FROM llmcost.otlp_model_calls WHERE event_time < horizon::timestamp AT TIME ZONE 'UTC';
    -- settled or expired reservations older than a day count no more
    DELETE FROM llmcost.quota_reservations
     WHERE coalesce(settled_at, expires_at) < now() - interval '1 day';
    DELETE FROM llmcost.rollup_hourly
     WHERE hour < now() - make_interval(days => s.rollup_retention_days);
    GET DIAGNOSTICS rollup_rows_deleted = ROW_COUNT;
    DELETE FROM llmcost.rollup_daily_feature
     WHERE day < ((now() AT TIME ZONE 'UTC') - make_interval(days => s.rollup_retention_days))::date;
    DELETE FROM llmcost.rollup_daily_user
     WHERE day < ((now() AT TIME ZONE 'UTC') - make_interval(days => s.rollup_retention_days))::date;
    DELETE FROM llmcost.rollup_hourly_feature
     WHERE hour < now() - make_interval(days => s.rollup_retention_days);
END
$$;
COMMENT ON FUNCTION llmcost.drop_expired_partitions() IS
    'drops the daily partitions of llmcost.events older than settings.retention_days and deletes rollups older than settings.rollup_retention_days';

CREATE FUNCTION llmcost.run_maintenance(OUT ran boolean, OUT partitions_created integer,
                                        OUT hours_refreshed bigint, OUT partitions_dropped integer,
                                        OUT rollup_rows_deleted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '10s'
AS $$
DECLARE
    ahead integer;
BEGIN
    -- jobs never pile up: a run that finds another one running skips
    IF NOT pg_try_advisory_xact_lock(hashtext('llmcost.run_maintenance')) THEN
        ran := false;
        RETURN;
    END IF;
    ran := true;
    SELECT s.partitions_ahead_days INTO ahead FROM llmcost.settings s;
    -- Each step gives way to a long query rather than failing the run: an
    -- ATTACH or DROP of a partition waits for every reader of the default
    -- or expired partition, and a refresh for the one running.  A step that
    -- cannot get its lock within lock_timeout is left to the next run (the
    -- partitions are made days ahead) with a warning; the others still run.
    BEGIN
        partitions_created := llmcost.create_partitions(now() - interval '1 day',
                                                        now() + make_interval(days => ahead));
    EXCEPTION WHEN lock_not_available THEN
        partitions_created := 0;
        RAISE WARNING 'llmcost.run_maintenance: partitions not created this time: %', SQLERRM
            USING HINT = 'A long transaction reads llmcost.events; the next run tries again.';
    END;
    BEGIN
        SELECT r.hours_refreshed INTO hours_refreshed FROM llmcost.refresh_rollups() r;
    EXCEPTION WHEN lock_not_available THEN
        hours_refreshed := 0;
        RAISE WARNING 'llmcost.run_maintenance: rollups not refreshed this time: %', SQLERRM
            USING HINT = 'Another refresh is running; the next run folds in what it leaves.';
    END;
    BEGIN
        SELECT d.dropped, d.rollup_rows_deleted INTO partitions_dropped, rollup_rows_deleted
          FROM llmcost.drop_expired_partitions() d;
    EXCEPTION WHEN lock_not_available THEN
        partitions_dropped := 0;
        rollup_rows_deleted := 0;
        RAISE WARNING 'llmcost.run_maintenance: expired partitions not dropped this time: %', SQLERRM
            USING HINT = 'A long transaction reads llmcost.events; the next run tries again.';
    END;
END
$$;
COMMENT ON FUNCTION llmcost.run_maintenance() IS
    'the one maintenance entry point for pg_cron: creates partitions ahead, refreshes the rollups, applies retention; skips when another run is in progress';

CREATE FUNCTION llmcost.schedule_jobs(maintenance_schedule text DEFAULT '*/5 * * * *',
                                      anomaly_schedule text DEFAULT '7 * * * *')
    RETURNS TABLE (job_name text, schedule text, jobid bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF maintenance_schedule IS NULL OR anomaly_schedule IS NULL THEN
        RAISE EXCEPTION 'llmcost.schedule_jobs needs both schedules, not NULL (maintenance %, anomalies %)',
            coalesce(maintenance_schedule, 'NULL'), coalesce(anomaly_schedule, 'NULL')
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave an argument out for its default.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = 'undefined_object',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron.';
    END IF;
    IF current_setting('shared_preload_libraries') !~ '(^|[\s,])pg_cron($|[\s,])' THEN
        RAISE EXCEPTION 'pg_cron is installed but not preloaded, so its jobs would never run'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_cron to shared_preload_libraries and restart the server.';
    END IF;
    -- by name, so scheduling again updates the job instead of adding one;
    -- the statement timeout bounds a run
    job_name := 'llmcost-maintenance';
    schedule := maintenance_schedule;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
      USING job_name, schedule,
            'SET statement_timeout = ''15min''; SELECT llmcost.run_maintenance()';
    RETURN NEXT;
    -- hourly: fold in the last events, then judge the hour that just ended
    job_name := 'llmcost-anomalies';
    schedule := anomaly_schedule;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
      USING job_name, schedule,
            'SET statement_timeout = ''15min''; SELECT llmcost.refresh_rollups(); SELECT llmcost.check_anomalies()';
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION llmcost.schedule_jobs(text, text) IS
    'registers llmcost''s pg_cron jobs by name (idempotent): llmcost-maintenance runs llmcost.run_maintenance(), llmcost-anomalies refreshes the rollups and runs llmcost.check_anomalies(), each on its schedule and within 15 minutes';

--------------------------------------------------------------------------
-- The default rate card (read-only; your own rows win over it)
--------------------------------------------------------------------------

-- BEGIN DEFAULT RATE CARD
-- Generated by test/tools/make_rate_card.py from a LiteLLM price list; USD per
-- million tokens, each from the day it took effect (UTC).
INSERT INTO llmcost.rates (rate_id, model, provider, valid_from, valid_until,
    input_per_mtok, cached_read_per_mtok, cache_write_per_mtok, output_per_mtok,
    reasoning_per_mtok, long_context_threshold, long_input_per_mtok,
    long_cached_read_per_mtok, long_cache_write_per_mtok, long_output_per_mtok,
    batch_discount, is_default, source)
VALUES
    (1, 'gpt-4o', 'openai', '2024-05-13 00:00:00+00', '2024-10-02 00:00:00+00', 5, NULL, NULL, 15, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (2, 'gpt-4o', 'openai', '2024-10-02 00:00:00+00', NULL, 2.5, 1.25, NULL, 10, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (3, 'gpt-4o-2024-05-13', 'openai', '2024-05-13 00:00:00+00', NULL, 5, NULL, NULL, 15, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (4, 'gpt-4o-mini', 'openai', '2024-07-18 00:00:00+00', NULL, 0.15, 0.075, NULL, 0.6, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (5, 'gpt-4.1', 'openai', '2025-04-14 00:00:00+00', NULL, 2, 0.5, NULL, 8, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (6, 'gpt-4.1-mini', 'openai', '2025-04-14 00:00:00+00', NULL, 0.4, 0.1, NULL, 1.6, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (7, 'gpt-4.1-nano', 'openai', '2025-04-14 00:00:00+00', NULL, 0.1, 0.025, NULL, 0.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (8, 'o1', 'openai', '2024-12-17 00:00:00+00', NULL, 15, 7.5, NULL, 60, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (9, 'o3-mini', 'openai', '2025-01-31 00:00:00+00', NULL, 1.1, 0.55, NULL, 4.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (10, 'o3', 'openai', '2025-04-16 00:00:00+00', '2025-06-10 00:00:00+00', 10, 2.5, NULL, 40, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (11, 'o3', 'openai', '2025-06-10 00:00:00+00', NULL, 2, 0.5, NULL, 8, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (12, 'o4-mini', 'openai', '2025-04-16 00:00:00+00', NULL, 1.1, 0.275, NULL, 4.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (13, 'gpt-5', 'openai', '2025-08-07 00:00:00+00', NULL, 1.25, 0.125, NULL, 10, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (14, 'gpt-5-mini', 'openai', '2025-08-07 00:00:00+00', NULL, 0.25, 0.025, NULL, 2, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (15, 'gpt-5-nano', 'openai', '2025-08-07 00:00:00+00', NULL, 0.05, 0.005, NULL, 0.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (16, 'gpt-5.1', 'openai', '2025-11-13 00:00:00+00', NULL, 1.25, 0.125, NULL, 10, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (17, 'gpt-5.2', 'openai', '2025-12-11 00:00:00+00', NULL, 1.75, 0.175, NULL, 14, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (18, 'gpt-5.4', 'openai', '2026-03-05 00:00:00+00', NULL, 2.5, 0.25, NULL, 15, NULL, 272000, 5, 0.5, NULL, 22.5, 0.5, true, 'llmcost default card'),
    (19, 'gpt-5.4-mini', 'openai', '2026-03-17 00:00:00+00', NULL, 0.75, 0.075, NULL, 4.5, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (20, 'gpt-5.4-nano', 'openai', '2026-03-17 00:00:00+00', NULL, 0.2, 0.02, NULL, 1.25, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (21, 'gpt-5.5', 'openai', '2026-04-23 00:00:00+00', NULL, 5, 0.5, NULL, 30, NULL, 272000, 10, 1, NULL, 45, 0.5, true, 'llmcost default card'),
    (22, 'text-embedding-3-small', 'openai', '2024-01-25 00:00:00+00', NULL, 0.02, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (23, 'text-embedding-3-large', 'openai', '2024-01-25 00:00:00+00', NULL, 0.13, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (24, 'claude-3-7-sonnet', 'anthropic', '2025-02-24 00:00:00+00', NULL, 3, 0.3, 3.75, 15, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (25, 'claude-sonnet-4', 'anthropic', '2025-05-22 00:00:00+00', NULL, 3, 0.3, 3.75, 15, NULL, 200000, 6, 0.6, 7.5, 22.5, 0.5, true, 'llmcost default card'),
    (26, 'claude-opus-4', 'anthropic', '2025-05-22 00:00:00+00', NULL, 15, 1.5, 18.75, 75, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (27, 'claude-opus-4-1', 'anthropic', '2025-08-05 00:00:00+00', NULL, 15, 1.5, 18.75, 75, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (28, 'claude-sonnet-4-5', 'anthropic', '2025-09-29 00:00:00+00', NULL, 3, 0.3, 3.75, 15, NULL, 200000, 6, 0.6, 7.5, 22.5, 0.5, true, 'llmcost default card'),
    (29, 'claude-haiku-4-5', 'anthropic', '2025-10-15 00:00:00+00', NULL, 1, 0.1, 1.25, 5, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (30, 'claude-opus-4-5', 'anthropic', '2025-11-24 00:00:00+00', NULL, 5, 0.5, 6.25, 25, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (31, 'claude-opus-4-6', 'anthropic', '2026-02-05 00:00:00+00', NULL, 5, 0.5, 6.25, 25, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (32, 'claude-sonnet-4-6', 'anthropic', '2026-02-17 00:00:00+00', NULL, 3, 0.3, 3.75, 15, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (33, 'claude-opus-4-7', 'anthropic', '2026-04-16 00:00:00+00', NULL, 5, 0.5, 6.25, 25, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (34, 'gemini-2.0-flash', 'google', '2025-02-05 00:00:00+00', NULL, 0.1, 0.025, NULL, 0.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (35, 'gemini-2.0-flash-lite', 'google', '2025-02-25 00:00:00+00', NULL, 0.075, 0.01875, NULL, 0.3, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (36, 'gemini-2.5-pro', 'google', '2025-06-17 00:00:00+00', NULL, 1.25, 0.125, NULL, 10, NULL, 200000, 2.5, 0.25, NULL, 15, 0.5, true, 'llmcost default card'),
    (37, 'gemini-2.5-flash', 'google', '2025-06-17 00:00:00+00', NULL, 0.3, 0.03, NULL, 2.5, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (38, 'gemini-2.5-flash-lite', 'google', '2025-07-22 00:00:00+00', NULL, 0.1, 0.01, NULL, 0.4, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (39, 'gemini-3-pro-preview', 'google', '2025-11-18 00:00:00+00', NULL, 2, 0.2, NULL, 12, NULL, 200000, 4, 0.4, NULL, 18, 0.5, true, 'llmcost default card'),
    (40, 'gemini-3-flash-preview', 'google', '2025-12-17 00:00:00+00', NULL, 0.5, 0.05, NULL, 3, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card'),
    (41, 'gemini-3.1-pro-preview', 'google', '2026-02-19 00:00:00+00', NULL, 2, 0.2, NULL, 12, NULL, 200000, 4, 0.4, NULL, 18, 0.5, true, 'llmcost default card'),
    (42, 'gemini-3.5-flash', 'google', '2026-05-20 00:00:00+00', NULL, 1.5, 0.15, NULL, 9, NULL, NULL, NULL, NULL, NULL, NULL, 0.5, true, 'llmcost default card');
-- END DEFAULT RATE CARD

CREATE FUNCTION llmcost.protect_default_rates() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the rates of model "%" in the default rate card are read-only',
        CASE WHEN TG_OP = 'INSERT' THEN NEW.model ELSE OLD.model END
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Insert your own rate for the model (is_default = false, for example with llmcost.set_rate()): your rows win over the default card wherever they apply.';
END
$$;
COMMENT ON FUNCTION llmcost.protect_default_rates() IS
    'trigger: keeps the shipped default rate card read-only, so that pg_dump (which dumps only your rows) loses nothing';
CREATE TRIGGER protect_default_rates BEFORE UPDATE OR DELETE ON llmcost.rates
    FOR EACH ROW WHEN (OLD.is_default) EXECUTE FUNCTION llmcost.protect_default_rates();
CREATE TRIGGER protect_default_rates_insert BEFORE INSERT ON llmcost.rates
    FOR EACH ROW WHEN (NEW.is_default) EXECUTE FUNCTION llmcost.protect_default_rates();

-- pg_dump keeps the operator's rows; the default card comes with CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('llmcost.rates', 'WHERE NOT is_default');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rates_rate_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.model_aliases', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rejected_events', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rejected_spans', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.plans', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.user_plans', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.user_quotas', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.quota_reservations', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.quota_reservations_reservation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.quota_denials', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.otlp_model_calls', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.settings', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_state', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_hourly', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_daily_feature', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_daily_user', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_user_30d', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.rollup_hourly_feature', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.feature_alert_settings', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.alerts_alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.invoice_lines', '');
SELECT pg_catalog.pg_extension_config_dump('llmcost.invoice_lines_invoice_line_id_seq', '');

--------------------------------------------------------------------------
-- Roles and privileges
--------------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['llmcost_ingest', 'llmcost_reader', 'llmcost_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA llmcost TO llmcost_ingest, llmcost_reader, llmcost_admin;

-- ingest: write events; read the rates its inserts are priced from
GRANT INSERT ON llmcost.events TO llmcost_ingest;
GRANT INSERT ON llmcost.rejected_events TO llmcost_ingest;
GRANT SELECT ON llmcost.rates, llmcost.model_aliases TO llmcost_ingest;

-- reader: the views (and the public rate card)
GRANT SELECT ON llmcost.unpriced, llmcost.current_rates, llmcost.rates, llmcost.model_aliases,
    llmcost.cost_trend, llmcost.cost_trend_hourly, llmcost.top_features, llmcost.top_users,
    llmcost.cache_savings, llmcost.error_costs, llmcost.user_cost_distribution
    TO llmcost_reader;

-- admin: rates, aliases, repricing and partitions
GRANT llmcost_ingest, llmcost_reader TO llmcost_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON llmcost.rates, llmcost.model_aliases TO llmcost_admin;
GRANT USAGE ON SEQUENCE llmcost.rates_rate_id_seq TO llmcost_admin;
GRANT SELECT, UPDATE ON llmcost.events TO llmcost_admin;
GRANT SELECT, DELETE ON llmcost.rejected_events TO llmcost_admin;
GRANT SELECT, DELETE ON llmcost.rejected_spans TO llmcost_admin;
REVOKE ALL ON FUNCTION llmcost.ingest_otlp(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.ingest_otlp(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.ingest_otlp(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.ingest_otlp(jsonb), llmcost.ingest_otlp(text), llmcost.ingest_otlp(json)
    TO llmcost_ingest;

REVOKE ALL ON FUNCTION llmcost.create_partitions(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.create_partition(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.reprice_range(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON PROCEDURE llmcost.reprice(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.set_rate(text, timestamptz, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.load_litellm_prices(jsonb, timestamptz, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.load_langfuse_prices(jsonb, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.protect_default_rates() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.rates_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.refresh_rollups(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.rebuild_user_window(date, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.refresh_rollups(timestamptz, timestamptz) TO llmcost_admin;
REVOKE ALL ON FUNCTION llmcost.drop_expired_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.run_maintenance() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.schedule_jobs(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.drop_expired_partitions() TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.run_maintenance() TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.schedule_jobs(text, text) TO llmcost_admin;
-- alerts: the reader sees them, the admin acknowledges them and tunes the rules
GRANT SELECT ON llmcost.alerts, llmcost.open_alerts TO llmcost_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON llmcost.feature_alert_settings TO llmcost_admin;
GRANT SELECT ON llmcost.rollup_hourly_feature TO llmcost_admin;
REVOKE ALL ON FUNCTION llmcost.check_anomalies(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.acknowledge_alert(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.check_anomalies(timestamptz) TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.acknowledge_alert(bigint) TO llmcost_admin;
-- quotas: the application admits (the ingest role); the admin sets plans and quotas; the reader sees margin and denials
REVOKE ALL ON FUNCTION llmcost.admit(text, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.admit(text, numeric, text) TO llmcost_ingest, llmcost_admin;
REVOKE ALL ON FUNCTION llmcost.raise_quota_alert(text, numeric, text, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.announce_alert(llmcost.alerts) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.user_margin(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.plan_margin(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.user_margin(date, date), llmcost.plan_margin(date, date) TO llmcost_reader, llmcost_admin;
GRANT SELECT ON llmcost.denied_admissions, llmcost.margin_this_month, llmcost.plans TO llmcost_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON llmcost.plans, llmcost.user_plans, llmcost.user_quotas TO llmcost_admin;
GRANT SELECT ON llmcost.quota_reservations, llmcost.quota_denials TO llmcost_admin;
GRANT SELECT, UPDATE ON llmcost.settings TO llmcost_admin;
GRANT SELECT ON llmcost.rollup_state, llmcost.rollup_hourly, llmcost.rollup_daily_feature,
    llmcost.rollup_daily_user, llmcost.rollup_user_30d TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.create_partitions(timestamptz, timestamptz) TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.reprice_range(timestamptz, timestamptz) TO llmcost_admin;
GRANT EXECUTE ON PROCEDURE llmcost.reprice(timestamptz, timestamptz) TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.set_rate(text, timestamptz, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, text, text) TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.load_litellm_prices(jsonb, timestamptz, text[]) TO llmcost_admin;
GRANT EXECUTE ON FUNCTION llmcost.load_langfuse_prices(jsonb, timestamptz) TO llmcost_admin;

-- weekly review and invoices: readers see the review and the gaps, admins
-- record invoice lines
GRANT SELECT ON llmcost.invoice_reconciliation, llmcost.invoice_lines TO llmcost_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON llmcost.invoice_lines TO llmcost_admin;
REVOKE ALL ON FUNCTION llmcost.weekly_review_data(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.weekly_review_html(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmcost.weekly_review_markdown(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmcost.weekly_review_data(date), llmcost.weekly_review_html(date),
    llmcost.weekly_review_markdown(date) TO llmcost_reader;
