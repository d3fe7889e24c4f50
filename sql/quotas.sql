-- Plans, margin and quotas: plans and their assignment over time, margin
-- per user and per plan, quotas per user or plan over a day, a month or a
-- rolling window, admissions that reserve, settle and expire.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
TRUNCATE llmcost.events, llmcost.rollup_hourly, llmcost.rollup_daily_feature, llmcost.rollup_daily_user,
         llmcost.rollup_hourly_feature, llmcost.alerts;
UPDATE llmcost.rollup_state SET watermark = '-infinity';

INSERT INTO llmcost.plans (plan, price_usd, period, included_usd, quota_usd, quota_period) VALUES
    ('free', 0, 'month', 0, 0.05, 'day'),
    ('pro', 20, 'month', 10, 30, 'month'),
    ('team', 300, 'month', NULL, NULL, 'month');
-- a week that ended three days ago: the same figures whatever the day of the run
SELECT (now() AT TIME ZONE 'UTC')::date - 10 AS day0, (now() AT TIME ZONE 'UTC')::date - 3 AS day7 \gset
INSERT INTO llmcost.user_plans VALUES
    ('ann', 'free', :'day0', NULL),
    ('bob', 'pro', :'day0', NULL),
    ('cat', 'pro', :'day0', NULL),
    ('dan', 'team', :'day0', NULL);
-- a user is on one plan at a time
INSERT INTO llmcost.user_plans VALUES ('bob', 'team', :'day0'::timestamptz + interval '1 day', NULL);

-- the week's calls: cat is a power user (GPT-4o, long prompts); eve has no plan
SELECT llmcost.create_partitions(:'day0'::timestamptz - interval '1 day', now() + interval '1 day') >= 0 AS partitions;
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
SELECT :'day0'::timestamptz + interval '10 minutes' * i, 'm' || i,
       (ARRAY['ann', 'bob', 'cat', 'cat', 'cat', 'dan', 'eve'])[1 + i % 7], 'chat', 'openai',
       CASE WHEN i % 7 IN (2, 3, 4) THEN 'gpt-4o' ELSE 'gpt-4o-mini' END,
       CASE WHEN i % 7 IN (2, 3, 4) THEN 400000 ELSE 2000 END, 500
  FROM generate_series(0, 69) i
  ;
SELECT hours_refreshed >= 0 AS refreshed FROM llmcost.refresh_rollups();

-- margin per user and per plan over the week (a monthly price counts 7/30 of itself)
SELECT user_id, plan, revenue_usd, cost_usd, margin_usd, margin_pct, cost_percentile, profitable
  FROM llmcost.user_margin(:'day0', :'day7') ORDER BY user_id;
SELECT plan, users, revenue_usd, cost_usd, margin_usd, margin_pct, unprofitable_users_share,
       unprofitable_cost_share, p99_user_cost_usd
  FROM llmcost.plan_margin(:'day0', :'day7') ORDER BY plan;
SELECT (SELECT coalesce(sum(cost_usd), 0) FROM llmcost.margin_this_month)
     = (SELECT llmcost.usd(coalesce(sum(cost_nusd), 0)) FROM llmcost.events
         WHERE event_time >= date_trunc('month', now(), 'UTC')) AS margin_this_month_complete;

-- quotas: the plan's, unless the user has their own
SELECT user_id, q.* FROM unnest(ARRAY['ann', 'bob', 'dan', 'eve']) user_id, LATERAL llmcost.quota_of(user_id) q ORDER BY 1;
INSERT INTO llmcost.user_quotas VALUES ('dan', 0.10, 'day');
SELECT * FROM llmcost.quota_of('dan');

-- admissions: allowed while spend plus reservations stay within the quota
TRUNCATE llmcost.events;
SELECT hours_refreshed >= 0 AS refreshed FROM llmcost.refresh_rollups(now() - interval '40 days', 'infinity');
SELECT allowed, remaining_usd, reservation_id IS NOT NULL AS reserved FROM llmcost.admit('dan', 0.04, 'r1');
SELECT allowed, remaining_usd, reservation_id IS NOT NULL AS reserved FROM llmcost.admit('dan', 0.04, 'r2');
SELECT allowed, remaining_usd, reservation_id IS NOT NULL AS reserved FROM llmcost.admit('dan', 0.04, 'r3');
SELECT user_id, estimate_usd, quota_usd, used_usd, request_id FROM llmcost.denied_admissions;
-- crossing 80% of the quota raised one alert
SELECT rule, subject, severity, message FROM llmcost.alerts WHERE rule = 'quota_share';
-- a user without a quota is always allowed, reserving nothing
SELECT * FROM llmcost.admit('nobody-in-particular', 1000);
-- bad estimates are refused
\set VERBOSITY terse
SELECT * FROM llmcost.admit('dan', -1);
SELECT * FROM llmcost.admit(NULL, 1);
SELECT * FROM llmcost.admit('dan', NULL);
SELECT * FROM llmcost.admit('dan', 'NaN');
SELECT * FROM llmcost.admit('dan', 'Infinity');
SELECT * FROM llmcost.admit('dan', 1e30);   -- past what nano-USD in a bigint hold
-- a snapshot older than the lock could miss a reservation: refused
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM llmcost.admit('dan', 0.01);
ROLLBACK;
\set VERBOSITY default

-- a user without a quota of their own is admitted against their plan's
-- (ann: the free plan's $0.05 a day, nothing used today)
SELECT * FROM llmcost.quota_of('ann');
SELECT allowed, remaining_usd, reservation_id IS NOT NULL AS reserved FROM llmcost.admit('ann', 0.04, 'a1');
SELECT allowed, remaining_usd, reservation_id IS NOT NULL AS reserved FROM llmcost.admit('ann', 0.02, 'a2');
SELECT llmcost.usd(llmcost.quota_used_nusd('ann', 'day')) AS ann_used_usd;
DELETE FROM llmcost.quota_reservations WHERE user_id = 'ann';
DELETE FROM llmcost.quota_denials WHERE user_id = 'ann';

-- reservations are holds of minutes, unlogged (no WAL, no flush wait at an
-- admission's commit), with their identity sequence
SELECT c.relname, c.relpersistence FROM pg_class c
 WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relname LIKE 'quota_reservations%' ORDER BY 1;
SELECT c.relname, c.relpersistence FROM pg_class c
 WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relname LIKE 'quota_denials%' ORDER BY 1;

-- the real event settles its reservation at the next refresh: the quota
-- then counts its cost instead of the estimate
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
VALUES (now(), 'r1', 'dan', 'chat', 'openai', 'gpt-4o', 1000, 100);
SELECT hours_refreshed > 0 AS refreshed FROM llmcost.refresh_rollups();
SELECT request_id, settled_at IS NOT NULL AS settled FROM llmcost.quota_reservations WHERE user_id = 'dan' ORDER BY 1;
SELECT llmcost.usd(llmcost.quota_used_nusd('dan', 'day')) AS used_usd;   -- 0.0035 spent + 0.04 reserved
SELECT allowed, remaining_usd FROM llmcost.admit('dan', 0.05, 'r4');
-- a reservation never settled expires
UPDATE llmcost.quota_reservations SET expires_at = now() - interval '1 second' WHERE request_id IN ('r2', 'r4');
SELECT llmcost.usd(llmcost.quota_used_nusd('dan', 'day')) AS used_after_expiry;

-- periods: a monthly quota counts the month's days, a rolling one its hours
INSERT INTO llmcost.user_quotas VALUES ('fay', 1, 'month'), ('gus', 1, 'rolling');
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
VALUES (now() - interval '2 hours', 'f1', 'fay', 'chat', 'openai', 'gpt-4o', 100000, 0),
       (now() - interval '2 hours', 'g1', 'gus', 'chat', 'openai', 'gpt-4o', 100000, 0);
SELECT hours_refreshed > 0 AS refreshed FROM llmcost.refresh_rollups();
SELECT llmcost.usd(llmcost.quota_used_nusd('fay', 'month')) AS fay_month,
       llmcost.usd(llmcost.quota_used_nusd('gus', 'rolling')) AS gus_24h,
       llmcost.usd(llmcost.quota_used_nusd('gus', 'rolling', now() + interval '25 hours')) AS gus_24h_later;
SELECT allowed, remaining_usd FROM llmcost.admit('gus', 0.7);
SELECT allowed, remaining_usd FROM llmcost.admit('gus', 0.1);

-- the quota alert lasts its period: the hourly check resolves it after the day
SELECT opened, resolved FROM llmcost.check_anomalies(date_trunc('day', now(), 'UTC') + interval '1 day');
SELECT rule, subject, status FROM llmcost.alerts WHERE rule = 'quota_share' ORDER BY subject;
