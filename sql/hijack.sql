-- Hijack test, every name: a non-superuser pre-creates a hostile object for
-- every name llmcost creates or calls (every built-in function, aggregate
-- and operator, with its own signature and, for polymorphic ones, with
-- concrete types that would out-match it; every llmcost function whose
-- argument types exist before llmcost does; a table for every llmcost
-- relation and type name) before CREATE EXTENSION.  Each hostile routine counts its call on
-- a sequence (which a rollback does not undo) and then fails.  Then the
-- ingest, admin and reader roles work under a search_path that puts the
-- hostile schema first: 10,000 events, every job, every view.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- 10,000 calls of the last six days, staged before anything is planted
CREATE TABLE public.hj_staging AS
SELECT now() - (i % 8640) * interval '1 minute' AS event_time, 'hj-' || i AS request_id,
       'u' || (i % 97) AS user_id, 'feature-' || (i % 9) AS feature, 'hj-provider' AS provider,
       'hj-model' AS model, 100 + (i * 7919) % 30000 AS input_tokens, 10 + (i * 104729) % 3000 AS output_tokens,
       CASE WHEN i % 50 = 0 THEN 'timeout' END AS error_class
  FROM generate_series(1, 10000) i;

-- what to plant, recorded while llmcost is installed
CREATE TABLE public.hijack_targets (kind text, name text, args text, result text);
INSERT INTO public.hijack_targets
SELECT 'function', p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid)
  FROM pg_proc p
 WHERE p.pronamespace IN ('pg_catalog'::regnamespace, 'llmcost'::regnamespace) AND p.prokind IN ('f', 'p');
INSERT INTO public.hijack_targets
SELECT 'aggregate', p.proname, pg_get_function_identity_arguments(p.oid), p.prorettype::regtype::text
  FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
 WHERE p.pronamespace IN ('pg_catalog'::regnamespace, 'llmcost'::regnamespace) AND a.aggkind = 'n';
INSERT INTO public.hijack_targets
SELECT 'operator', o.oprname, format('%s, %s', coalesce(o.oprleft::regtype::text, 'NONE'), o.oprright::regtype),
       o.oprresult::regtype::text
  FROM pg_operator o
 WHERE o.oprnamespace IN ('pg_catalog'::regnamespace, 'llmcost'::regnamespace);
INSERT INTO public.hijack_targets
SELECT 'relation', c.relname, NULL, NULL
  FROM pg_class c WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S');
INSERT INTO public.hijack_targets
SELECT 'type', t.typname, NULL, NULL
  FROM pg_type t WHERE t.typnamespace = 'llmcost'::regnamespace AND t.typtype = 'b';
-- polymorphic signatures again with concrete types, which beat them in
-- overload resolution wherever the hostile schema is in the path
INSERT INTO public.hijack_targets
SELECT h.kind, h.name,
       regexp_replace(regexp_replace(h.args, '\m(anyarray|anycompatiblearray)\M', t || '[]', 'g'),
                      '\m(anyelement|anynonarray|anycompatible|anycompatiblenonarray)\M', t, 'g'),
       regexp_replace(regexp_replace(h.result, '\m(anyarray|anycompatiblearray)\M', t || '[]', 'g'),
                      '\m(anyelement|anynonarray|anycompatible|anycompatiblenonarray)\M', t, 'g')
  FROM public.hijack_targets h,
       unnest(ARRAY['text', 'integer', 'bigint', 'numeric', 'double precision', 'timestamp with time zone',
                    'date', 'jsonb', 'boolean', 'interval']) t
 WHERE h.kind IN ('function', 'aggregate', 'operator')
   AND h.args ~ '\m(anyarray|anycompatiblearray|anyelement|anynonarray|anycompatible|anycompatiblenonarray)\M';
SELECT kind, count(*) > 0 AS listed FROM public.hijack_targets GROUP BY 1 ORDER BY 1;

SET client_min_messages = warning;
DROP EXTENSION llmcost CASCADE;
DROP SCHEMA llmcost;
RESET client_min_messages;
CREATE SEQUENCE public.trojan_calls;
GRANT USAGE ON SEQUENCE public.trojan_calls TO PUBLIC;
GRANT SELECT ON public.hijack_targets TO PUBLIC;
CREATE ROLE llmcost_planter LOGIN;
GRANT CREATE ON SCHEMA public TO llmcost_planter;

-- the non-superuser plants everything it is allowed to create
SET ROLE llmcost_planter;
CREATE TABLE public.planted (kind text, name text);
DO $plant$
DECLARE
    t record;
    body text := $b$ BEGIN PERFORM pg_catalog.nextval('public.trojan_calls'); RAISE EXCEPTION 'trojan called'; END $b$;
    n integer := 0;
    l text;
    r text;
BEGIN
    FOR t IN SELECT * FROM public.hijack_targets ORDER BY kind, name, args LOOP
        n := n + 1;
        BEGIN
            IF t.kind = 'function' AND t.result IS NULL THEN
                EXECUTE format('CREATE PROCEDURE public.%I(%s) LANGUAGE plpgsql AS %L', t.name, t.args, body);
            ELSIF t.kind = 'function' THEN
                EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                               t.name, t.args, t.result, body);
            ELSIF t.kind = 'aggregate' THEN
                -- a hostile state function over a bigint state, for any arguments
                EXECUTE format('CREATE FUNCTION public.trojan_sfunc_%s(bigint%s) RETURNS bigint LANGUAGE plpgsql AS %L',
                               n, CASE WHEN t.args IN ('*', '') THEN '' ELSE ', ' || t.args END, body);
                EXECUTE format('CREATE AGGREGATE public.%I(%s) (SFUNC = public.trojan_sfunc_%s, STYPE = bigint)',
                               t.name, CASE WHEN t.args = '' THEN '*' ELSE t.args END, n);
            ELSIF t.kind = 'operator' THEN
                l := split_part(t.args, ', ', 1);
                r := split_part(t.args, ', ', 2);
                EXECUTE format('CREATE FUNCTION public.trojan_op_%s(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                               n, CASE WHEN l = 'NONE' THEN r ELSE l || ', ' || r END, t.result, body);
                EXECUTE format('CREATE OPERATOR public.%s (%s RIGHTARG = %s, FUNCTION = public.trojan_op_%s)',
                               t.name, CASE WHEN l = 'NONE' THEN '' ELSE 'LEFTARG = ' || l || ',' END, r, n);
            ELSIF t.kind IN ('relation', 'type') THEN
                EXECUTE format('CREATE TABLE public.%I (trojan int)', t.name);
            END IF;
            INSERT INTO public.planted VALUES (t.kind, t.name);
        EXCEPTION WHEN OTHERS THEN
            NULL;  -- not creatable by a non-superuser (internal, "any", ...) or already planted
        END;
    END LOOP;
END
$plant$;
-- the schema itself: not creatable without CREATE on the database ...
CREATE SCHEMA llmcost;
RESET ROLE;
-- from here on this test's own statements resolve in pg_catalog only (the
-- plants would out-match built-ins in them too), except where it puts the
-- hostile schema first on purpose
SET search_path = pg_catalog, pg_temp;
SELECT kind, count(*) AS planted,
       count(DISTINCT name) FILTER (WHERE name IN ('sum', 'count', 'now', 'coalesce', 'date_trunc', 'array_agg',
                                                   'percentile_disc', 'format', '=', '+', '||', '->>', 'events',
                                                   'rates', 'event_cost_nusd', 'stats', 'sketch')) AS of_the_usual
  FROM public.planted GROUP BY 1 ORDER BY 1;

-- ... and with it, a schema of llmcost's name is refused
GRANT CREATE ON DATABASE :"DBNAME" TO llmcost_planter;
SET ROLE llmcost_planter;
CREATE SCHEMA llmcost;
CREATE FUNCTION llmcost.price(text, text, timestamptz, integer, integer) RETURNS numeric LANGUAGE sql AS 'SELECT 0';
RESET ROLE;
CREATE EXTENSION llmcost;
SET ROLE llmcost_planter;
DROP SCHEMA llmcost CASCADE;
RESET ROLE;
REVOKE CREATE ON DATABASE :"DBNAME" FROM llmcost_planter;

-- install with the hostile schema first in the path
SET search_path = public, pg_catalog;
CREATE EXTENSION llmcost;
SET search_path = pg_catalog, pg_temp;
SELECT last_value, is_called AS any_trojan_called_at_install FROM public.trojan_calls;

-- the roles of a deployment
CREATE ROLE hj_ingest LOGIN IN ROLE llmcost_ingest;
CREATE ROLE hj_reader LOGIN IN ROLE llmcost_reader;
CREATE ROLE hj_admin LOGIN IN ROLE llmcost_admin;
GRANT SELECT ON public.hj_staging TO hj_ingest;

SET search_path = public, pg_catalog;
SET ROLE hj_admin;
-- (the statements of this test name pg_catalog themselves: the hostile
-- schema is first for them too)
SELECT llmcost.create_partitions(pg_catalog.now() OPERATOR(pg_catalog.-) interval '7 days',
                                 pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 day')
       OPERATOR(pg_catalog.>) 0 AS partitions;
SELECT llmcost.set_rate('hj-model', '2020-01-01', input_per_mtok => 1.5, output_per_mtok => 6) IS NOT NULL AS rate_set;
SET ROLE hj_ingest;
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens, error_class)
SELECT * FROM public.hj_staging;
SELECT * FROM llmcost.ingest_otlp('{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "hj"}}]}, "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat hj-model", "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": "1764000001000000000", "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}, {"key": "gen_ai.provider.name", "value": {"stringValue": "hj-provider"}}, {"key": "gen_ai.request.model", "value": {"stringValue": "hj-otlp-model"}}, {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}}, {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 100}}]}]}]}]}'::jsonb);
SELECT allowed FROM llmcost.admit('u1', 0.01);
SET ROLE hj_admin;
SELECT hours_refreshed OPERATOR(pg_catalog.>) 0 AS refreshed FROM llmcost.refresh_rollups();
SELECT ran FROM llmcost.run_maintenance();
SELECT opened IS NOT NULL AS checked FROM llmcost.check_anomalies();
SET client_min_messages = warning;  -- its NOTICEs name the time
CALL llmcost.reprice(pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day', pg_catalog.now());
RESET client_min_messages;
SELECT dropped IS NOT NULL AS retention FROM llmcost.drop_expired_partitions();
SET ROLE hj_reader;
-- every view the reader may read, every row and column (a count(*) alone
-- would let the planner skip columns)
DO $read$
DECLARE
    v name;
    n bigint;
    k integer := 0;
BEGIN
    FOR v IN SELECT c.relname FROM pg_catalog.pg_class c
              WHERE c.relnamespace OPERATOR(pg_catalog.=) 'llmcost'::pg_catalog.regnamespace
                AND c.relkind OPERATOR(pg_catalog.=) 'v'
                AND pg_catalog.has_table_privilege(c.oid, 'SELECT') LOOP
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(x.*) FROM llmcost.%I x', v) INTO n;
        k := k OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RAISE NOTICE 'views read: %', k;
END
$read$;
SELECT pg_catalog.length(llmcost.weekly_review_html()) OPERATOR(pg_catalog.>) 1000 AS review;
RESET ROLE;
SET search_path = pg_catalog, pg_temp;

SELECT last_value, is_called AS any_trojan_called FROM public.trojan_calls;
-- and the costs are right: every staged call at 1.5 and 6 USD per million tokens
SELECT count(*) AS events,
       count(*) FILTER (WHERE e.cost_nusd IS DISTINCT FROM s.input_tokens * 1500::bigint + s.output_tokens * 6000::bigint)
           AS wrong_costs
  FROM public.hj_staging s JOIN llmcost.events e USING (request_id);
SELECT (SELECT sum(cost_nusd) FROM llmcost.rollup_hourly WHERE model = 'hj-model')
     = (SELECT sum(input_tokens * 1500::bigint + output_tokens * 6000::bigint) FROM public.hj_staging) AS rollups_right;

RESET search_path;
SET client_min_messages = warning;
DROP TABLE public.hj_staging, public.hijack_targets;
DROP OWNED BY llmcost_planter CASCADE;
DROP ROLE llmcost_planter;
DROP ROLE hj_ingest, hj_reader, hj_admin;
DROP SEQUENCE public.trojan_calls;
