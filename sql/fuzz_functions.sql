-- Fuzzing every llmcost function that takes text or json (test/fuzz_functions.sql):
-- 1,000 mutated and random inputs each here (test/bench/fuzz_functions.sh
-- runs 100,000 each).  A crash would end this test; every refused input must
-- be an error of SQLSTATE class 22; escaping functions must never let markup
-- through; calls that write (loaders, ingest, partitions) are rolled back.
SELECT setseed(0.25);
\i test/fuzz_inputs.sql
-- a loader's skipped entries are WARNINGs, one per bad entry
SET client_min_messages = error;
\set n 1000
\i test/fuzz_functions.sql
RESET client_min_messages;

SELECT count(DISTINCT fn) AS functions_fuzzed, min(calls) AS inputs_each,
       bool_or(fn = 'schedule_jobs') AS with_pg_cron,
       coalesce(sum(errors) FILTER (WHERE sqlstate_class <> '22'), 0) AS errors_outside_class_22,
       coalesce(max(broken), 0) AS escapes_broken
  FROM fuzz_results;
-- any error outside class 22, with an example
SELECT fn, sqlstate, errors, example FROM fuzz_results WHERE sqlstate_class <> '22' ORDER BY 1, 2;
-- every function took some inputs and refused others (the fuzzing reached it)
SELECT fn FROM fuzz_results GROUP BY fn
HAVING max(ok) = 0 ORDER BY 1;
