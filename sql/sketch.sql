-- llmcost.sketch: accuracy, exact merges, collapse, parallel, edges, I/O.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET extra_float_digits = 0;
SELECT setseed(0.17);

-- Heavy-tailed costs in nano-USD: log-normal and Pareto (alpha 1.2).
CREATE TEMP TABLE costs AS
SELECT 'lognormal' AS dist, i,
       greatest(1, round(exp(ln(2000000) + 1.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()))))::bigint AS nusd
  FROM generate_series(1, 100000) i
UNION ALL
SELECT 'pareto', i, least(round(100000 / power(1 - random(), 1 / 1.2)), 9e18)::bigint
  FROM generate_series(1, 100000) i;

-- Accuracy: every estimate within the stated relative error of percentile_disc.
SELECT c.dist, q.q,
       abs(llmcost.sketch_quantile(s.s, q.q) - c.exact) <= llmcost.sketch_error(s.s) * c.exact * (1 + 1e-12)
           AS within_error,
       round(llmcost.sketch_error(s.s)::numeric, 6) AS stated_error
  FROM unnest(ARRAY[0.5, 0.9, 0.99, 0.999]) q(q)
  CROSS JOIN LATERAL (SELECT dist, percentile_disc(q.q) WITHIN GROUP (ORDER BY nusd) / 1e9 AS exact
                        FROM costs GROUP BY dist) c
  JOIN (SELECT dist, llmcost.sketch_agg(nusd) AS s FROM costs GROUP BY dist) s USING (dist)
 ORDER BY 1, 2;
-- every one of 999 quantiles, against the bound
WITH sk AS (SELECT dist, llmcost.sketch_agg(nusd) AS s FROM costs GROUP BY dist),
     qs AS (SELECT array_agg(k / 1000.0 ORDER BY k) AS q FROM generate_series(1, 999) k),
     ex AS (SELECT dist, percentile_disc((SELECT q FROM qs)) WITHIN GROUP (ORDER BY nusd) AS exact
              FROM costs GROUP BY dist)
SELECT dist, count(*) AS quantiles,
       count(*) FILTER (WHERE abs(llmcost.sketch_quantile(s, q) - e / 1e9) > llmcost.sketch_error(s) * e / 1e9 * (1 + 1e-12))
           AS outside_error
  FROM ex JOIN sk USING (dist), unnest((SELECT q FROM qs), ex.exact) AS u(q, e)
 GROUP BY dist ORDER BY dist;
-- a finer alpha holds too
SELECT abs(llmcost.sketch_quantile(s, 0.99) - exact) <= llmcost.sketch_error(s) * exact * (1 + 1e-12) AS within_error,
       round(llmcost.sketch_error(s)::numeric, 6) AS stated_error
  FROM (SELECT llmcost.sketch_agg(nusd, 0.001) AS s, percentile_disc(0.99) WITHIN GROUP (ORDER BY nusd) / 1e9 AS exact
          FROM costs WHERE dist = 'pareto') x;

-- Merge: 720 hourly sketches merged in random orders equal, bucket for bucket,
-- the sketch built from all the raw values.
CREATE TEMP TABLE hourly_sketches AS
SELECT i % 720 AS hour, llmcost.sketch_agg(nusd) AS s FROM costs WHERE dist = 'lognormal' GROUP BY 1;
SELECT count(*) AS hours FROM hourly_sketches;
SELECT count(*) AS orders, count(*) FILTER (WHERE merged <> raw) AS differ
  FROM generate_series(1, 10) k,
       LATERAL (SELECT llmcost.sketch_rollup(s ORDER BY random() + k * 0)::text AS merged FROM hourly_sketches) m,
       (SELECT llmcost.sketch_agg(nusd)::text AS raw FROM costs WHERE dist = 'lognormal') r;
-- daily from hourly, then the month from days
SELECT (SELECT llmcost.sketch_rollup(d) FROM (SELECT llmcost.sketch_rollup(s) AS d FROM hourly_sketches GROUP BY hour / 24) x)::text
     = (SELECT llmcost.sketch_agg(nusd) FROM costs WHERE dist = 'lognormal')::text AS days_equal_raw;

-- Collapse: a sketch that would pass its bucket limit collapses uniformly and
-- reports the accuracy that now holds; merges stay exact across levels.
CREATE TEMP TABLE wide AS
SELECT i, round(power(10, random() * 18))::bigint AS nusd FROM generate_series(1, 50000) i;
SELECT llmcost.sketch_buckets(s) <= 2048 AS bounded, (llmcost.sketch_out(s)::text ~ 'collapses=[1-9]') AS collapsed,
       round(llmcost.sketch_error(s)::numeric, 6) AS error_now
  FROM (SELECT llmcost.sketch_agg(nusd, 0.0001) AS s FROM wide) x;
SELECT abs(llmcost.sketch_quantile(s, q) - exact) <= llmcost.sketch_error(s) * exact * (1 + 1e-12) AS within_error
  FROM (SELECT llmcost.sketch_agg(nusd, 0.0001) AS s, percentile_disc(0.9) WITHIN GROUP (ORDER BY nusd) / 1e9 AS exact,
               0.9 AS q FROM wide) x;
SELECT (SELECT llmcost.sketch_rollup(s) FROM (SELECT llmcost.sketch_agg(nusd, 0.0001) AS s FROM wide GROUP BY i % 7) p)::text
     = (SELECT llmcost.sketch_agg(nusd, 0.0001) FROM wide)::text AS merge_across_levels_exact;

-- Parallel: partial aggregation forced, results equal the serial ones.
CREATE TABLE sketch_par AS SELECT i % 8 AS g, nusd FROM costs;
ANALYZE sketch_par;
CREATE TEMP TABLE sketch_serial AS SELECT g, llmcost.sketch_agg(nusd)::text AS s FROM sketch_par GROUP BY g;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT llmcost.sketch_agg(nusd) FROM sketch_par;
SELECT (SELECT llmcost.sketch_agg(nusd) FROM sketch_par)::text
     = (SELECT llmcost.sketch_rollup(s::llmcost.sketch) FROM sketch_serial)::text AS parallel_equals_serial;
SELECT count(*) AS groups_that_differ
  FROM (SELECT g, llmcost.sketch_agg(nusd)::text AS s FROM sketch_par GROUP BY g) p JOIN sketch_serial r USING (g)
 WHERE p.s <> r.s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE sketch_par;

-- Edge cases.
SELECT llmcost.sketch_agg(v) IS NULL AS empty_is_null FROM (SELECT 1::bigint WHERE false) t(v);
SELECT s, llmcost.sketch_quantile(s, 0.5), llmcost.sketch_count(s), llmcost.sketch_sum(s),
       llmcost.sketch_min(s), llmcost.sketch_max(s), llmcost.sketch_mean(s)
  FROM (SELECT llmcost.sketch_agg(123456789::bigint) AS s) x;
SELECT s, llmcost.sketch_quantiles(s, ARRAY[0, 0.5, 1]), llmcost.sketch_rank(s, 0), llmcost.sketch_rank(s, 1)
  FROM (SELECT llmcost.sketch_agg(0::bigint) AS s FROM generate_series(1, 5)) x;
SELECT llmcost.sketch_quantiles(s, ARRAY[0, 0.5, 1]) AS all_equal
  FROM (SELECT llmcost.sketch_agg(777::bigint) AS s FROM generate_series(1, 1000)) x;
SELECT llmcost.sketch_quantiles(s, ARRAY[0, 1]) AS extremes, llmcost.sketch_min(s), llmcost.sketch_max(s)
  FROM (SELECT llmcost.sketch_agg(v) AS s FROM (VALUES (1::bigint), (9223372036854775807)) t(v)) x;
SELECT llmcost.sketch_agg(v) FROM (VALUES (NULL::bigint), (5), (NULL)) t(v);
SELECT llmcost.sketch_agg(v) FROM (VALUES (0.000000001::numeric), (0.0000000005)) t(v);
-- refused: negative values, NaN and infinity, bad alpha and quantiles, mixed accuracy
SELECT llmcost.sketch_agg(-1::bigint);
SELECT llmcost.sketch_agg('NaN'::numeric);
SELECT llmcost.sketch_agg('Infinity'::numeric);
SELECT llmcost.sketch_agg(1::bigint, 0.5);
SELECT llmcost.sketch_agg(1::bigint, 'NaN');
SELECT llmcost.sketch_quantile(llmcost.sketch_agg(1::bigint), 1.5);
SELECT llmcost.sketch_quantile(llmcost.sketch_agg(1::bigint), 'NaN');
SELECT llmcost.sketch_quantiles(llmcost.sketch_agg(1::bigint), ARRAY[0.5, NULL]);
SELECT llmcost.sketch_rollup(s) FROM (SELECT llmcost.sketch_agg(1::bigint, 0.01) UNION ALL SELECT llmcost.sketch_agg(1::bigint, 0.02)) t(s);

-- Size in bytes for users with 10, 1,000 and 100,000 calls.
SELECT n AS calls, pg_column_size(s) AS bytes, llmcost.sketch_buckets(s) AS buckets
  FROM (SELECT n, (SELECT llmcost.sketch_agg(nusd) FROM costs WHERE dist = 'lognormal' AND i <= n) AS s
          FROM unnest(ARRAY[10, 1000, 100000]) n) x ORDER BY n;

-- Text and binary input: malformed or inconsistent values are errors (class 22).
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=0,zeros=0,sum=0,min=0,max=0,buckets={})'::llmcost.sketch AS empty;
SELECT llmcost.sketch_from_binary(llmcost.sketch_send(s))::text = s::text AS binary_round_trip
  FROM (SELECT llmcost.sketch_agg(nusd) AS s FROM costs) x;
\set ON_ERROR_STOP 0
SELECT ''::llmcost.sketch;
SELECT '(alpha_ppm=0,collapses=0,max_buckets=2048,count=0,zeros=0,sum=0,min=0,max=0,buckets={})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=8,count=0,zeros=0,sum=0,min=0,max=0,buckets={})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=2,zeros=0,sum=2,min=1,max=1,buckets={0:1})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=0,sum=1,min=1,max=1,buckets={0:0})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=2,zeros=0,sum=300,min=100,max=200,buckets={266:1,232:1})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=0,sum=1,min=1,max=1,buckets={5000000:1})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=0,sum=5,min=1,max=1,buckets={0:1})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=0,sum=1000,min=1000,max=1000,buckets={0:1})'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=1,sum=0,min=0,max=0,buckets={})x'::llmcost.sketch;
SELECT '(alpha_ppm=10000,collapses=0,max_buckets=2048,count=1,zeros=1,sum=0,min=0,max=0,buckets={1:'::llmcost.sketch;
SELECT llmcost.sketch_from_binary('\x'::bytea);
SELECT llmcost.sketch_from_binary(substr(llmcost.sketch_send(llmcost.sketch_agg(5::bigint)), 1, 70));
SELECT llmcost.sketch_from_binary(llmcost.sketch_send(llmcost.sketch_agg(5::bigint)) || '\x00'::bytea);
SELECT llmcost.sketch_from_binary(set_byte(llmcost.sketch_send(llmcost.sketch_agg(5::bigint)), 0, 2));
\set ON_ERROR_STOP 1
