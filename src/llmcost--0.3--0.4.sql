-- llmcost 0.3 -> 0.4: OTLP bodies read from their text.
--
-- llmcost.ingest_otlp() no longer turns a body into jsonb to walk it once:
-- llmcost.otlp_spans(body text, ...) parses the text itself (src/otlp_json.c)
-- into nodes that point into the body and reads the spans from them.  The
-- same spans, the same rows, the same errors for a malformed body; invalid
-- JSON is refused with the byte where it goes wrong.
--
-- Calls are claimed without a lock per trace (nor the whole ingest's lock
-- for a body of more than 64 traces): two bodies wait on each other only
-- where they carry the same span, nested spans of one call or two calls of
-- one parent; a body none of whose spans was seen before is stored by plain
-- inserts.  A call's event attributes are made by the span reader.
\echo Use "ALTER EXTENSION llmcost UPDATE TO '0.4'" to load this file. \quit

-- Names resolve in pg_catalog and llmcost only (see llmcost--0.1.sql).
SET LOCAL search_path = pg_catalog, llmcost, pg_temp;

-- A call's event attributes (scope, service, session, whether its input
-- count was normalized), made by the span reader rather than by SQL per row.
ALTER TYPE llmcost.otlp_span ADD ATTRIBUTE attributes jsonb;
COMMENT ON TYPE llmcost.otlp_span IS 'one span of an OTLP/JSON body as llmcost.otlp_spans() reads it: where it is, call, skipped or rejected (and why), the event columns, and for a call its event''s attributes';

CREATE FUNCTION llmcost.otlp_spans(body text, user_keys text[], feature_keys text[], default_feature text)
    RETURNS SETOF llmcost.otlp_span
    LANGUAGE c STABLE PARALLEL SAFE
    ROWS 100  -- an exporter's batch
    AS 'MODULE_PATHNAME', 'llmcost_otlp_spans_text';
COMMENT ON FUNCTION llmcost.otlp_spans(text, text[], text[], text) IS
    'llmcost.otlp_spans() of a body as text, parsed from the text: what llmcost.ingest_otlp() reads; invalid JSON is a data error (22P02) naming the byte';

-- Calls are claimed without locks (see ingest_otlp below): a claim row is a
-- span of a call taken, or a marker, the parent of a call taken.
ALTER TABLE llmcost.otlp_model_calls ADD COLUMN is_call boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN llmcost.otlp_model_calls.is_call IS
    'true: a span of a call taken; false: a marker, the parent span of a call taken (a span with this id is around that call)';
INSERT INTO llmcost.otlp_model_calls (trace_id, span_id, event_time, request_id, is_call)
SELECT DISTINCT ON (m.trace_id, m.parent_span_id) m.trace_id, m.parent_span_id, m.event_time, m.request_id, false
  FROM llmcost.otlp_model_calls m
 WHERE m.parent_span_id IS NOT NULL
 ORDER BY m.trace_id, m.parent_span_id, m.event_time
ON CONFLICT DO NOTHING;

-- The claims a body's calls make (see ingest_otlp below): each call span's
-- own id, and its parent's id as a marker, in key order, once each.
CREATE FUNCTION llmcost.otlp_claim_keys(spans llmcost.otlp_span[], OUT trace_id text, OUT span_id text,
                                        OUT parent_span_id text, OUT event_time timestamptz,
                                        OUT request_id text, OUT is_call boolean)
    RETURNS SETOF record
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT DISTINCT ON (k.trace_id, k.span_id) k.*
      FROM (SELECT c.trace_id, c.span_id, c.parent_span_id, c.event_time, c.request_id, true AS is_call
              FROM unnest(spans) c WHERE c.outcome = 'call'
            UNION ALL
            SELECT c.trace_id, c.parent_span_id, NULL, c.event_time, c.request_id, false
              FROM unnest(spans) c WHERE c.outcome = 'call' AND c.parent_span_id IS NOT NULL) k
     ORDER BY k.trace_id, k.span_id, k.is_call DESC;
END;
COMMENT ON FUNCTION llmcost.otlp_claim_keys(llmcost.otlp_span[]) IS
    'the rows llmcost.ingest_otlp() claims in llmcost.otlp_model_calls for the calls of a body: each call span, and its parent as a marker, in key order';

-- The ingest itself now takes the text; the jsonb and json forms hand it theirs.
CREATE OR REPLACE FUNCTION llmcost.ingest_otlp(body text, OUT taken integer, OUT duplicates integer,
                                               OUT skipped integer, OUT rejected integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- the planner cannot know how many spans a body holds (an array: it
    -- guesses one) and would match the claims to the spans by nested loops,
    -- quadratic in the spans of a body: hash joins instead
    SET enable_nestloop = off
AS $$
DECLARE
    s llmcost.settings;
    sp llmcost.otlp_span[];
BEGIN
    SELECT * INTO s FROM llmcost.settings;
    sp := ARRAY(SELECT x FROM llmcost.otlp_spans(body, s.otlp_user_keys, s.otlp_feature_keys,
                                                 s.otlp_default_feature) x);

    -- Claims take no lock: each call span's own id, and its parent's id as
    -- a marker, go into otlp_model_calls in key order (otlp_claim_keys).  A
    -- key already there, or being written by another body (the insert
    -- waits for that body to commit), decides:
    --   - the span's own id, as a call: a retried delivery;
    --   - the span's own id, as a marker: a call inside this span was taken
    --     (this span is around it: the same call);
    --   - the parent's id, as a call: this span is inside a call taken.
    -- A marker meeting a marker is two calls of one parent: no conflict.
    -- Key order keeps two bodies from waiting on each other.
    --
    -- The common case first: no key and no event of this body is stored
    -- yet, except markers of parents whose other calls came in earlier
    -- bodies (those are left as they are), so every call is taken, by plain
    -- inserts (cheaper than ON CONFLICT's speculative ones).  The first key
    -- or event already there raises unique_violation, which undoes this
    -- block; then the statement after it decides span by span.
    BEGIN
        WITH claimed AS (
            INSERT INTO llmcost.otlp_model_calls (trace_id, span_id, parent_span_id, event_time, request_id, is_call)
            SELECT k.* FROM llmcost.otlp_claim_keys(sp) k
             -- (a scalar subquery: a probe of the key per marker, never a
             -- join or a hash of the whole table)
             WHERE k.is_call OR (SELECT m.is_call FROM llmcost.otlp_model_calls m
                                  WHERE m.trace_id = k.trace_id AND m.span_id = k.span_id)
                                IS DISTINCT FROM false)
        INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
                                    model, requested_model, operation, input_tokens, cached_read_tokens,
                                    cache_write_tokens, output_tokens, reasoning_tokens, latency_ms,
                                    error_class, client_cost_usd, attributes)
        SELECT x.event_time, x.request_id, x.trace_id, x.span_id, x.user_id, x.feature, x.provider,
               x.model, x.requested_model, x.operation, x.input_tokens, x.cached_read_tokens,
               x.cache_write_tokens, x.output_tokens, x.reasoning_tokens, x.latency_ms, x.error_class,
               x.client_cost_usd, x.attributes
          FROM unnest(sp) x WHERE x.outcome = 'call';
        GET DIAGNOSTICS taken = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        -- Span by span: nothing is rewritten except when a call meets a
        -- call (the row is locked, then left as it was).
        WITH calls AS (
            SELECT * FROM unnest(sp) x WHERE x.outcome = 'call'),
        claimed AS (
            INSERT INTO llmcost.otlp_model_calls AS m (trace_id, span_id, parent_span_id, event_time, request_id, is_call)
            SELECT * FROM llmcost.otlp_claim_keys(sp)
            ON CONFLICT (trace_id, span_id) DO UPDATE SET is_call = true WHERE m.is_call
            RETURNING m.trace_id, m.span_id, m.xmax = 0 AS fresh),
        stored AS (
            INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
                                        model, requested_model, operation, input_tokens, cached_read_tokens,
                                        cache_write_tokens, output_tokens, reasoning_tokens, latency_ms,
                                        error_class, client_cost_usd, attributes)
            SELECT x.event_time, x.request_id, x.trace_id, x.span_id, x.user_id, x.feature, x.provider,
                   x.model, x.requested_model, x.operation, x.input_tokens, x.cached_read_tokens,
                   x.cache_write_tokens, x.output_tokens, x.reasoning_tokens, x.latency_ms, x.error_class,
                   x.client_cost_usd, x.attributes
              FROM calls x
             WHERE EXISTS (SELECT FROM claimed k
                            WHERE k.trace_id = x.trace_id AND k.span_id = x.span_id AND k.fresh)
               AND NOT EXISTS (SELECT FROM claimed k
                                WHERE k.trace_id = x.trace_id AND k.span_id = x.parent_span_id AND NOT k.fresh)
            ON CONFLICT DO NOTHING
            RETURNING 1)
        SELECT count(*) INTO taken FROM stored;
    END;

    INSERT INTO llmcost.rejected_spans (resource_index, scope_index, span_index, reason, span)
    SELECT x.resource_index, x.scope_index, x.span_index, x.reason, x.span
      FROM unnest(sp) x WHERE x.outcome = 'rejected';
    GET DIAGNOSTICS rejected = ROW_COUNT;

    SELECT count(*) FILTER (WHERE x.outcome = 'call') - taken, count(*) FILTER (WHERE x.outcome = 'skipped')
      INTO duplicates, skipped
      FROM unnest(sp) x;
END
$$;
COMMENT ON FUNCTION llmcost.ingest_otlp(text) IS
    'takes an OTLP/JSON ExportTraceServiceRequest: one event per model call (a call reported by nested spans, or delivered again, once); counts the calls taken, the duplicates (spans delivered again, or nested in a call taken from another body), the spans skipped (workflows, agents, tasks, tools, spans without a model, calls nested in another call span of the body) and the spans rejected into llmcost.rejected_spans';

CREATE OR REPLACE FUNCTION llmcost.ingest_otlp(body jsonb, OUT taken integer, OUT duplicates integer,
                                               OUT skipped integer, OUT rejected integer)
    LANGUAGE sql
BEGIN ATOMIC
    SELECT * FROM llmcost.ingest_otlp(body::text);
END;
COMMENT ON FUNCTION llmcost.ingest_otlp(jsonb) IS 'llmcost.ingest_otlp(text) for a body as jsonb';

CREATE OR REPLACE FUNCTION llmcost.ingest_otlp(body json, OUT taken integer, OUT duplicates integer,
                                               OUT skipped integer, OUT rejected integer)
    LANGUAGE sql
BEGIN ATOMIC
    SELECT * FROM llmcost.ingest_otlp(body::text);
END;
COMMENT ON FUNCTION llmcost.ingest_otlp(json) IS 'llmcost.ingest_otlp(text) for a body as json';
