-- Fuzzing every input path of llmcost.stats and llmcost.sketch: 100,000 mutated
-- and random inputs per type and path (text and binary).  A crash would end
-- this test; every refused input must be an error of SQLSTATE class 22; every
-- accepted input must survive in -> out -> in unchanged.
SELECT setseed(0.5);

-- one random mutation of a string: replace, insert, delete, duplicate, cut, or a wild number
CREATE FUNCTION pg_temp.mutate_text(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n int := length(s);
    p int := 1 + floor(random() * greatest(n, 1))::int;
    alphabet text := '0123456789-+(),={}:= abcdefghijklmnopqrstuvwxyz_';
    c text := substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1);
BEGIN
    CASE floor(random() * 7)::int
        WHEN 0 THEN RETURN overlay(s placing c from p for 1);
        WHEN 1 THEN RETURN overlay(s placing c from p for 0);
        WHEN 2 THEN RETURN overlay(s placing '' from p for 1);
        WHEN 3 THEN RETURN s || substr(s, p, 1 + floor(random() * 10)::int);
        WHEN 4 THEN RETURN left(s, p);
        WHEN 5 THEN RETURN regexp_replace(s, '\d+', (ARRAY['-1', '0', '9223372036854775807', '9223372036854775808',
                            '170141183460469231731687303715884105727', '99999999999999999999999999999999999999999',
                            '2147483648', '65536', '1'])[1 + floor(random() * 9)::int],
                            'g' || CASE WHEN random() < 0.7 THEN '' ELSE '' END);
        ELSE RETURN (SELECT string_agg(substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1), '')
                       FROM generate_series(1, 1 + floor(random() * 60)::int));
    END CASE;
END $$;

-- one random mutation of bytes: flip a byte, cut, extend, or random bytes
CREATE FUNCTION pg_temp.mutate_bytes(b bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    n int := length(b);
    p int := floor(random() * greatest(n, 1))::int;
BEGIN
    CASE floor(random() * 5)::int
        WHEN 0 THEN RETURN CASE WHEN n > 0 THEN set_byte(b, p, floor(random() * 256)::int) ELSE b END;
        WHEN 1 THEN RETURN CASE WHEN n > 0 THEN set_byte(set_byte(b, p, 255), (p * 7) % n, 0) ELSE b END;
        WHEN 2 THEN RETURN substr(b, 1, p);
        WHEN 3 THEN RETURN b || substr(b, 1 + p, 12);
        ELSE RETURN (SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, floor(random() * 256)::int), ''::bytea), ''::bytea)
                       FROM generate_series(1, floor(random() * 80)::int));
    END CASE;
END $$;

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

-- seeds: real values of each type
CREATE TEMP TABLE seed_values AS
SELECT g, llmcost.stats_agg((exp(random() * 20))::bigint) AS st, llmcost.sketch_agg((exp(random() * 30))::bigint) AS sk
  FROM generate_series(1, 300) i, LATERAL (SELECT i % 6 AS g) x GROUP BY g;
INSERT INTO seed_values
SELECT 99, llmcost.duration_stats_agg(v), llmcost.sketch_agg(0::bigint) FROM (VALUES (1.5::float8), (2.0)) t(v);

SELECT pg_temp.fuzz('stats', array_agg(st::text), array_agg(llmcost.stats_send(st)), 100000) FROM seed_values;
SELECT pg_temp.fuzz('sketch', array_agg(sk::text), array_agg(llmcost.sketch_send(sk)), 100000) FROM seed_values;

SELECT type, path, tried, accepted > 0 AS some_accepted, accepted < tried AS some_refused,
       errors_outside_22, roundtrip_mismatches
  FROM fuzz_result ORDER BY 1, 2;
