-- The inputs of llmcost's fuzz tests (sql/fuzz.sql, test/bench/fuzz_copy.sql):
-- pg_temp functions that derive a random variant of a valid text or binary
-- input, and seed_values, real values of each type to start from.

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

-- seeds: real values of each type
CREATE TEMP TABLE seed_values AS
SELECT g, llmcost.stats_agg((exp(random() * 20))::bigint) AS st, llmcost.sketch_agg((exp(random() * 30))::bigint) AS sk
  FROM generate_series(1, 300) i, LATERAL (SELECT i % 6 AS g) x GROUP BY g;
INSERT INTO seed_values
SELECT 99, llmcost.duration_stats_agg(v), llmcost.sketch_agg(0::bigint) FROM (VALUES (1.5::float8), (2.0)) t(v);
