-- Installing llmcost: the extension, its version, its documentation.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET client_min_messages = warning;
CREATE EXTENSION llmcost CASCADE;
RESET client_min_messages;

-- the installed version is the control file's (the one place it lives)
SELECT extversion FROM pg_extension WHERE extname = 'llmcost';
-- the install leaves the session's search_path as it found it
SHOW search_path;

-- every relation, column of a table or view, and routine carries a COMMENT
SELECT c.relname AS uncommented_relation
  FROM pg_class c
 WHERE c.relnamespace = 'llmcost'::regnamespace
   AND c.relkind IN ('r', 'p', 'v') AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.relname, a.attname AS uncommented_column
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relkind IN ('p', 'v')
   AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL
   AND c.relname <> 'events_default';
SELECT p.oid::regprocedure AS uncommented_routine
  FROM pg_proc p
 WHERE p.pronamespace = 'llmcost'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;

-- every C function of the pricing path is parallel safe
SELECT p.proname, p.provolatile, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'llmcost'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
 ORDER BY 1;

-- no SECURITY DEFINER routine without a pinned search_path
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'llmcost'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, pg_temp%', false);

-- the default card covers OpenAI, Anthropic and Google, each price dated
SELECT provider, count(*) AS rates, min(valid_from)::date AS earliest
  FROM llmcost.rates WHERE is_default GROUP BY provider ORDER BY provider;

-- every aggregate: one argument, a combine function, a state type that is not
-- internal (Citus pushes only those down), parallel safe, SSPACE set, a moving
-- (inverse) form, and a name no built-in aggregate has
SELECT p.oid::regprocedure AS aggregate, p.pronargs AS args, a.aggcombinefn <> 0 AS has_combine,
       a.aggtranstype::regtype AS state, p.proparallel AS parallel, a.aggtransspace AS sspace,
       a.aggminvtransfn <> 0 AS has_inverse,
       EXISTS (SELECT FROM pg_proc b WHERE b.pronamespace = 'pg_catalog'::regnamespace
                AND b.proname = p.proname AND b.prokind = 'a') AS collides_with_builtin
  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
 WHERE p.pronamespace = 'llmcost'::regnamespace
 ORDER BY 1;

-- support functions refuse to run outside an aggregate (they modify their state in place)
SELECT llmcost.stats_accum_nusd(NULL, 1);
SELECT llmcost.sketch_combine(NULL, NULL);

-- pg_dump keeps the operator's data: the tables registered as configuration,
-- with the default rate card (restored by CREATE EXTENSION) left out
SELECT c.relname, coalesce(x.cond, '') AS dump_condition
  FROM pg_extension e,
       unnest(e.extconfig, e.extcondition) AS x(oid, cond)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'llmcost'
 ORDER BY 1;
