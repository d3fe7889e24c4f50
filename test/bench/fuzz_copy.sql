-- Fuzzing llmcost.stats and llmcost.sketch through COPY ... (FORMAT binary):
-- the path a bulk loader takes into the types' receive functions, with
-- COPY's own framing around them.  For each input, a one-field binary COPY
-- file is written whose field bytes are a mutated real value (or random
-- bytes), then loaded into a table of the type.  A crash would end the run;
-- every refused input must be an error of SQLSTATE class 22; every accepted
-- value must survive out -> in and send -> receive unchanged.
--
--   psql -v n=100000 -v dir=/tmp -f test/bench/fuzz_copy.sql    (superuser:
--   server-side COPY files; see test/bench/fuzz_copy.sh)
\set ON_ERROR_STOP 1
SELECT setseed(0.25);

\i test/fuzz_inputs.sql

CREATE TEMP TABLE copy_stats (v llmcost.stats);
CREATE TEMP TABLE copy_sketch (v llmcost.sketch);
CREATE TEMP TABLE copy_result (type text, tried int, accepted int, errors_outside_22 int, roundtrip_mismatches int);

CREATE FUNCTION pg_temp.fuzz_copy(typ text, seeds bytea[], n int, file text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b bytea;
    ok int := 0; bad int := 0; mism int := 0;
    same boolean;
BEGIN
    FOR i IN 1 .. n LOOP
        b := seeds[1 + floor(random() * array_length(seeds, 1))::int];
        FOR k IN 0 .. floor(random() * 3)::int LOOP
            b := pg_temp.mutate_bytes(b);
        END LOOP;
        -- a binary COPY file of one bytea field holds the bytes as they are
        EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, file);
        BEGIN
            EXECUTE format('COPY pg_temp.copy_%s (v) FROM %L (FORMAT binary)', typ, file);
            IF typ = 'stats' THEN
                SELECT v::text::llmcost.stats::text = v::text
                       AND llmcost.stats_from_binary(llmcost.stats_send(v))::text = v::text INTO same FROM pg_temp.copy_stats;
                DELETE FROM pg_temp.copy_stats;
            ELSE
                SELECT v::text::llmcost.sketch::text = v::text
                       AND llmcost.sketch_from_binary(llmcost.sketch_send(v))::text = v::text INTO same FROM pg_temp.copy_sketch;
                DELETE FROM pg_temp.copy_sketch;
            END IF;
            IF NOT same THEN mism := mism + 1; END IF;
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            IF left(SQLSTATE, 2) <> '22' THEN
                bad := bad + 1;
                RAISE NOTICE 'COPY binary input % gave SQLSTATE %: %', b, SQLSTATE, SQLERRM;
            END IF;
        END;
    END LOOP;
    INSERT INTO copy_result VALUES (typ, n, ok, bad, mism);
END $$;

SELECT pg_temp.fuzz_copy('stats', array_agg(llmcost.stats_send(st)), :n, :'dir' || '/llmcost-fuzz-copy.bin') FROM seed_values;
SELECT pg_temp.fuzz_copy('sketch', array_agg(llmcost.sketch_send(sk)), :n, :'dir' || '/llmcost-fuzz-copy.bin') FROM seed_values;
SELECT type, tried, accepted, tried - accepted AS refused, errors_outside_22, roundtrip_mismatches
  FROM copy_result ORDER BY type;
