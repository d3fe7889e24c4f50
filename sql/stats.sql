-- llmcost.stats: exact summaries, rollups, rolling windows, parallel, I/O.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET extra_float_digits = 0;
SELECT setseed(0.42);

-- Edge cases: empty input, one value, all equal, NULLs, kinds.
SELECT llmcost.stats_agg(v) IS NULL AS empty_is_null FROM (SELECT 1::bigint WHERE false) t(v);
SELECT llmcost.stats_agg(v) FROM (VALUES (NULL::bigint), (NULL)) t(v);
SELECT s, llmcost.stats_count(s), llmcost.stats_sum(s), llmcost.stats_mean(s),
       llmcost.stats_stddev(s), llmcost.stats_variance(s, false) AS var_pop,
       llmcost.stats_min(s), llmcost.stats_max(s), llmcost.stats_upper_band(s)
  FROM (SELECT llmcost.stats_agg(v) s FROM (VALUES (250000000::bigint)) t(v)) x;
SELECT llmcost.stats_stddev(s) AS all_equal_stddev, llmcost.stats_stddev(s, false) AS pop,
       llmcost.stats_zscore(s, 0.5) AS zscore_without_spread, llmcost.is_anomaly(0.5, s) AS above_mean,
       llmcost.is_anomaly(0.25, s) AS at_mean
  FROM (SELECT llmcost.stats_agg(250000000::bigint) s FROM generate_series(1, 10)) x;
SELECT llmcost.stats_agg(v) FROM (VALUES (100::bigint), (NULL), (300)) t(v);
SELECT llmcost.stats_kind(llmcost.stats_agg(1::bigint)), llmcost.stats_kind(llmcost.duration_stats_agg(1.5));

-- The accessors against PostgreSQL's own aggregates over the same values.
CREATE TEMP TABLE vals AS
SELECT i, (exp(random() * 12) * 1000)::bigint AS nusd, (random() * 5000)::float8 AS ms
  FROM generate_series(1, 20000) i;
SELECT llmcost.stats_count(s) = c AS count_ok,
       llmcost.stats_sum(s) = su / 1e9 AS sum_exact,
       llmcost.stats_min(s) = mi / 1e9 AS min_exact,
       llmcost.stats_max(s) = ma / 1e9 AS max_exact,
       abs(llmcost.stats_mean(s) - av / 1e9) <= 1e-12 * av / 1e9 AS mean_ok,
       abs(llmcost.stats_stddev(s) - sd / 1e9) <= 1e-13 * sd / 1e9 AS stddev_ok,
       abs(llmcost.stats_variance(s, false) - vp / 1e18) <= 1e-12 * vp / 1e18 AS var_pop_ok
  FROM (SELECT llmcost.stats_agg(nusd) AS s, count(*) AS c, sum(nusd) AS su, min(nusd) AS mi,
               max(nusd) AS ma, avg(nusd) AS av,
               -- numeric stddev_samp keeps too few digits to check ours; this keeps 30
               sqrt(round((count(*) * sum(nusd::numeric * nusd) - sum(nusd)::numeric ^ 2)
                          / (count(*) * (count(*) - 1)), 30)) AS sd,
               var_pop(nusd) AS vp
          FROM vals) x;
-- money as numeric USD: the same summary as nano-USD bigint
SELECT (SELECT llmcost.stats_agg(nusd / 1000000000.0) FROM vals)::text
     = (SELECT llmcost.stats_agg(nusd) FROM vals)::text AS numeric_equals_bigint;
-- numeric USD is decoded exactly, rounding past 9 decimals half away from zero,
-- like round(x * 1e9): 200,000 random values of every magnitude and scale
SELECT count(*) AS groups, count(*) FILTER (WHERE a <> b) AS mismatches FROM (
  SELECT llmcost.stats_agg(x)::text AS a, llmcost.stats_agg(round(x * 1000000000)::bigint)::text AS b
    FROM (SELECT round((random() - 0.5)::numeric * 10::numeric ^ (floor(random() * 22) - 12)::int,
                       floor(random() * 16)::int) AS x, i
            FROM generate_series(1, 200000) i) v
   GROUP BY i % 1000) z;
SELECT llmcost.stats_agg(x) FROM (VALUES (0.0000000005), (-0.0000000005), (0.0000000004999),
       (0.000000000499999999999), (1.5), (-9223372036.854775808)) t(x);
-- durations: milliseconds and intervals agree
SELECT (SELECT llmcost.duration_stats_agg(round(ms::numeric, 3)::float8) FROM vals)::text
     = (SELECT llmcost.stats_agg(make_interval(secs => round(ms::numeric, 3)::float8 / 1000)) FROM vals)::text
       AS ms_equals_interval;

-- Exactness 1: a rollup of summaries is the summary of the raw values,
-- hourly -> daily -> monthly, and in any order.
CREATE TEMP TABLE calls AS
SELECT '2026-01-01 00:00+00'::timestamptz + (random() * 60 * 24) * interval '1 hour' AS t,
       (exp(random() * 10) * 10000)::bigint AS nusd
  FROM generate_series(1, 30000);
CREATE TEMP TABLE hourly AS
SELECT date_trunc('hour', t) AS hour, llmcost.stats_agg(nusd) AS s FROM calls GROUP BY 1;
CREATE TEMP TABLE daily AS
SELECT date_trunc('day', hour) AS day, llmcost.stats_rollup(s) AS s FROM hourly GROUP BY 1;
SELECT (SELECT llmcost.stats_rollup(s) FROM daily)::text = (SELECT llmcost.stats_agg(nusd) FROM calls)::text
       AS monthly_from_daily_equals_raw,
       (SELECT llmcost.stats_rollup(s ORDER BY random()) FROM hourly)::text
       = (SELECT llmcost.stats_agg(nusd) FROM calls)::text AS any_order;

-- Exactness 2: 1,000 random splits of the values combine to the same summary.
SELECT count(*) AS splits_that_differ
  FROM generate_series(1, 1000) k,
       LATERAL (SELECT llmcost.stats_rollup(p) AS s
                  FROM (SELECT llmcost.stats_agg(nusd) AS p
                          FROM calls
                         GROUP BY hashint8(nusd # k) % (1 + k % 17)) parts) r
 WHERE r.s::text <> (SELECT llmcost.stats_agg(nusd) FROM calls)::text;

-- Exactness 3: rolling windows (ROWS and RANGE, values and summaries) equal a
-- from-scratch recompute of every frame, bit for bit.
CREATE TEMP TABLE series AS
SELECT f AS feature, '2026-01-01 00:00+00'::timestamptz + h * interval '1 hour' AS hour,
       (exp(random() * 6) * 1000000)::bigint AS nusd
  FROM generate_series(1, 3) f, generate_series(0, 599) h
 WHERE random() < 0.9;                              -- some hours missing
SELECT count(*) AS frames,
       count(*) FILTER (WHERE rolling IS DISTINCT FROM recomputed) AS mismatches
  FROM (SELECT llmcost.stats_agg(nusd) OVER (PARTITION BY feature ORDER BY hour
                   ROWS BETWEEN 168 PRECEDING AND 1 PRECEDING)::text AS rolling,
               (SELECT llmcost.stats_agg(s2.nusd)::text FROM
                   (SELECT nusd, row_number() OVER (PARTITION BY feature ORDER BY hour) AS rn
                      FROM series WHERE feature = s.feature) s2
                 WHERE s2.rn BETWEEN s.rn - 168 AND s.rn - 1) AS recomputed
          FROM (SELECT *, row_number() OVER (PARTITION BY feature ORDER BY hour) AS rn FROM series) s) x;
SELECT count(*) AS frames,
       count(*) FILTER (WHERE rolling IS DISTINCT FROM recomputed) AS mismatches
  FROM (SELECT llmcost.stats_agg(nusd) OVER (PARTITION BY feature ORDER BY hour
                   RANGE BETWEEN interval '168 hours' PRECEDING AND interval '1 hour' PRECEDING)::text AS rolling,
               (SELECT llmcost.stats_agg(s2.nusd)::text FROM series s2
                 WHERE s2.feature = s.feature AND s2.hour >= s.hour - interval '168 hours'
                   AND s2.hour <= s.hour - interval '1 hour') AS recomputed
          FROM series s) x;
-- summaries of summaries slide too: 24-hour windows over hourly summaries
SELECT count(*) AS frames,
       count(*) FILTER (WHERE rolling IS DISTINCT FROM recomputed) AS mismatches
  FROM (SELECT llmcost.stats_rollup(s) OVER (ORDER BY hour ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)::text AS rolling,
               (SELECT llmcost.stats_agg(c.nusd)::text FROM calls c
                 WHERE c.t >= h.hour - interval '23 hours' AND c.t < h.hour + interval '1 hour'
                   AND date_trunc('hour', c.t) IN (SELECT h3.hour FROM (SELECT hour FROM hourly ORDER BY hour) h3
                                                    WHERE h3.hour <= h.hour ORDER BY h3.hour DESC LIMIT 24)) AS recomputed
          FROM hourly h) x;

-- NULLs in a window: frames of NULLs only give an empty summary (a moving
-- aggregate may not return NULL), whose accessors are NULL
SELECT hour, llmcost.stats_count(s), llmcost.stats_mean(s), llmcost.stats_kind(s)
  FROM (SELECT h AS hour, llmcost.stats_agg(v) OVER (ORDER BY h ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s
          FROM (VALUES (1, NULL::bigint), (2, NULL), (3, 1000000000), (4, NULL), (5, NULL), (6, NULL)) t(h, v)) x;
SELECT hour, llmcost.stats_count(s), llmcost.stats_kind(s)
  FROM (SELECT h AS hour, llmcost.stats_rollup(v) OVER (ORDER BY h ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s
          FROM (VALUES (1, NULL::llmcost.stats), (2, NULL), (3, '(kind=duration,count=1,sum=5,sumsq=25,min=5,max=5)'),
                       (4, NULL)) t(h, v)) x;

-- Overflow is an error, never a wrong answer.
SELECT llmcost.stats_agg(v) FROM (VALUES (9223372036854775807::bigint), (9223372036854775807), (9223372036854775807)) t(v);
SELECT llmcost.stats_agg(v) FROM (VALUES (-9223372036854775807::bigint), (9223372036854775807)) t(v);
SELECT llmcost.stats_agg(1e10::numeric);
SELECT llmcost.stats_agg(9223372036.854775808::numeric);
SELECT llmcost.stats_agg(-9223372036.8547758085::numeric);
SELECT llmcost.stats_agg('-Infinity'::numeric);
SELECT llmcost.stats_agg('NaN'::numeric);
SELECT llmcost.duration_stats_agg('Infinity'::float8);
SELECT llmcost.duration_stats_agg('NaN'::float8);
-- kinds do not mix
SELECT llmcost.stats_rollup(s) FROM (SELECT llmcost.stats_agg(1::bigint) UNION ALL SELECT llmcost.duration_stats_agg(1)) t(s);
SELECT llmcost.stats_upper_band(llmcost.stats_agg(v), 'NaN') FROM (VALUES (1::bigint), (2)) t(v);

-- Parallel: partial aggregation forced, results equal the serial ones.
CREATE TABLE stats_par AS
SELECT i % 10 AS g, (exp(random() * 10) * 1000)::bigint AS nusd, random() * 2000 AS ms
  FROM generate_series(1, 200000) i;
ANALYZE stats_par;
CREATE TEMP TABLE serial_result AS
SELECT g, llmcost.stats_agg(nusd)::text AS s, llmcost.duration_stats_agg(ms)::text AS d FROM stats_par GROUP BY g;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT g, llmcost.stats_agg(nusd), llmcost.duration_stats_agg(ms) FROM stats_par GROUP BY g;
SELECT count(*) AS groups_that_differ
  FROM (SELECT g, llmcost.stats_agg(nusd)::text AS s, llmcost.duration_stats_agg(ms)::text AS d
          FROM stats_par GROUP BY g) p
  JOIN serial_result r USING (g)
 WHERE p.s <> r.s OR p.d <> r.d;
-- without GROUP BY, and for the rollup aggregate over stored summaries
EXPLAIN (COSTS OFF) SELECT llmcost.stats_agg(nusd) FROM stats_par;
SELECT (SELECT llmcost.stats_agg(nusd) FROM stats_par)::text = (SELECT llmcost.stats_rollup(s::llmcost.stats) FROM serial_result)::text
       AS parallel_equals_serial;
RESET max_parallel_workers_per_gather;
CREATE TABLE stats_par_s AS SELECT llmcost.stats_agg(nusd) AS s FROM stats_par GROUP BY nusd % 5000;
ANALYZE stats_par_s;
CREATE TEMP TABLE serial_rollup AS SELECT llmcost.stats_rollup(s)::text AS s FROM stats_par_s;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT llmcost.stats_rollup(s) FROM stats_par_s;
SELECT (SELECT llmcost.stats_rollup(s) FROM stats_par_s)::text = (SELECT s FROM serial_rollup) AS parallel_rollup_equals_serial;
DROP TABLE stats_par_s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE stats_par;

-- Text input: every malformed or inconsistent value is an error (class 22).
SELECT '(kind=money,count=0,sum=0,sumsq=0,min=0,max=0)'::llmcost.stats AS empty;
SELECT ' ( kind=duration, count=2, sum=3, sumsq=5, min=1, max=2 ) '::llmcost.stats AS spaces;
SELECT '(kind=money,count=1,sum=-5,sumsq=25,min=-5,max=-5)'::llmcost.stats AS negative_values;
\set ON_ERROR_STOP 0
SELECT ''::llmcost.stats;
SELECT '(kind=euro,count=1,sum=1,sumsq=1,min=1,max=1)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1,max=1) x'::llmcost.stats;
SELECT '(kind=money,count=-1,sum=0,sumsq=0,min=0,max=0)'::llmcost.stats;
SELECT '(kind=money,count=0,sum=1,sumsq=0,min=0,max=0)'::llmcost.stats;
SELECT '(kind=money,count=2,sum=3,sumsq=5,min=2,max=1)'::llmcost.stats;
SELECT '(kind=money,count=2,sum=10,sumsq=50,min=1,max=2)'::llmcost.stats;
SELECT '(kind=money,count=2,sum=3,sumsq=4,min=1,max=2)'::llmcost.stats;
SELECT '(kind=money,count=2,sum=3,sumsq=9,min=1,max=2)'::llmcost.stats;
SELECT '(kind=money,count=2,sum=3,sumsq=-5,min=1,max=2)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1,max=9223372036854775808)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=170141183460469231731687303715884105728,sumsq=1,min=1,max=1)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1,max=1'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1,max=x)'::llmcost.stats;
SELECT '(kind=money,count=1,sum=1,sumsq=1,min=1,max=-)'::llmcost.stats;
\set ON_ERROR_STOP 1

-- Binary I/O: round trip, and hostile bytes through COPY BINARY.
CREATE TABLE stats_io (s llmcost.stats);
INSERT INTO stats_io SELECT llmcost.stats_agg(nusd) FROM calls;
COPY stats_io TO '/tmp/llmcost_stats_io.bin' (FORMAT binary);
CREATE TABLE stats_io2 (s llmcost.stats);
COPY stats_io2 FROM '/tmp/llmcost_stats_io.bin' (FORMAT binary);
SELECT (SELECT s::text FROM stats_io) = (SELECT s::text FROM stats_io2) AS binary_round_trip;
-- write one binary COPY file holding payload as the only field of one row
CREATE FUNCTION pg_temp.copy_binary(payload bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT %L) TO PROGRAM %L',
        translate(encode('\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                         || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea,
                         'base64'), E'\n', ''),
        'base64 -d > /tmp/llmcost_stats_bad.bin');
END $$;
CREATE FUNCTION pg_temp.stats_bytes(version int, kind int, flags int, count int8, sum int8,
                                    sumsq int8, min int8, max int8) RETURNS bytea
LANGUAGE sql AS $$
    SELECT decode(lpad(to_hex(version), 2, '0') || lpad(to_hex(kind), 2, '0'), 'hex')
           || int2send(flags::int2) || int8send(count)
           || int8send(CASE WHEN sum < 0 THEN -1 ELSE 0 END) || int8send(sum)
           || int8send(CASE WHEN sumsq < 0 THEN -1 ELSE 0 END) || int8send(sumsq)
           || int8send(min) || int8send(max)
$$;
CREATE TABLE stats_bad (s llmcost.stats);
-- valid: version 1, money, count 2, sum 3, sumsq 5, min 1, max 2
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, 2, 3, 5, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT s FROM stats_bad;
\set ON_ERROR_STOP 0
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(2, 1, 0, 2, 3, 5, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 9, 0, 2, 3, 5, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 4, 2, 3, 5, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, -2, 3, 5, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, 2, 3, 5, 2, 1));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, 2, 3, 4, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, 2, 30, 500, 1, 2));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
-- truncated and overlong payloads
SELECT pg_temp.copy_binary(substr(pg_temp.stats_bytes(1, 1, 0, 2, 3, 5, 1, 2), 1, 59));
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(pg_temp.stats_bytes(1, 1, 0, 2, 3, 5, 1, 2) || '\x00'::bytea);
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
SELECT pg_temp.copy_binary(''::bytea);
COPY stats_bad FROM '/tmp/llmcost_stats_bad.bin' (FORMAT binary);
\set ON_ERROR_STOP 1
SELECT count(*) AS rows_accepted FROM stats_bad;
DROP TABLE stats_io, stats_io2, stats_bad;
