-- Fuzzing every input path of llmcost.stats and llmcost.sketch: 100,000 mutated
-- and random inputs per type and path (text and binary).  A crash would end
-- this test; every refused input must be an error of SQLSTATE class 22; every
-- accepted input must survive in -> out -> in unchanged.
SELECT setseed(0.5);

-- the mutators (one random change to a string or to bytes) and the seeds
\i test/fuzz_inputs.sql

CREATE TEMP TABLE fuzz_result (type text, path text, tried int, accepted int, errors_outside_22 int, roundtrip_mismatches int);

CREATE FUNCTION pg_temp.fuzz(typ text, seeds text[], seedbytes bytea[], n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
    b bytea;
    txt text;
    ok int := 0; bad int := 0; mism int := 0;
BEGIN
    -- text
    FOR i IN 1 .. n LOOP
        t := seeds[1 + floor(random() * array_length(seeds, 1))::int];
        FOR k IN 0 .. floor(random() * 3)::int LOOP
            t := pg_temp.mutate_text(t);
        END LOOP;
        BEGIN
            IF typ = 'stats' THEN
                txt := llmcost.stats_out(llmcost.stats_in(t::cstring))::text;
                IF llmcost.stats_out(llmcost.stats_in(txt::cstring))::text <> txt THEN mism := mism + 1; END IF;
            ELSE
                txt := llmcost.sketch_out(llmcost.sketch_in(t::cstring))::text;
                IF llmcost.sketch_out(llmcost.sketch_in(txt::cstring))::text <> txt THEN mism := mism + 1; END IF;
            END IF;
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            IF left(SQLSTATE, 2) <> '22' THEN
                bad := bad + 1;
                RAISE NOTICE 'text input % gave SQLSTATE %: %', t, SQLSTATE, SQLERRM;
            END IF;
        END;
    END LOOP;
    INSERT INTO fuzz_result VALUES (typ, 'text', n, ok, bad, mism);
    ok := 0; bad := 0; mism := 0;
    -- binary
    FOR i IN 1 .. n LOOP
        b := seedbytes[1 + floor(random() * array_length(seedbytes, 1))::int];
        FOR k IN 0 .. floor(random() * 3)::int LOOP
            b := pg_temp.mutate_bytes(b);
        END LOOP;
        BEGIN
            IF typ = 'stats' THEN
                txt := llmcost.stats_from_binary(b)::text;
                IF llmcost.stats_from_binary(llmcost.stats_send(txt::llmcost.stats))::text <> txt THEN mism := mism + 1; END IF;
            ELSE
                txt := llmcost.sketch_from_binary(b)::text;
                IF llmcost.sketch_from_binary(llmcost.sketch_send(txt::llmcost.sketch))::text <> txt THEN mism := mism + 1; END IF;
            END IF;
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            IF left(SQLSTATE, 2) <> '22' THEN
                bad := bad + 1;
                RAISE NOTICE 'binary input % gave SQLSTATE %: %', b, SQLSTATE, SQLERRM;
            END IF;
        END;
    END LOOP;
    INSERT INTO fuzz_result VALUES (typ, 'binary', n, ok, bad, mism);
END $$;

SELECT pg_temp.fuzz('stats', array_agg(st::text), array_agg(llmcost.stats_send(st)), 100000) FROM seed_values;
SELECT pg_temp.fuzz('sketch', array_agg(sk::text), array_agg(llmcost.sketch_send(sk)), 100000) FROM seed_values;

SELECT type, path, tried, accepted > 0 AS some_accepted, accepted < tried AS some_refused,
       errors_outside_22, roundtrip_mismatches
  FROM fuzz_result ORDER BY 1, 2;
