-- The privilege matrix: every table, view and sequence of llmcost x each
-- role (and PUBLIC) x each privilege, and every function llmcost keeps from
-- PUBLIC, against the matrix written here.  Mismatches must be none.
CREATE ROLE llmcost_nobody;   -- PUBLIC's privileges only

CREATE TEMP TABLE expected_rel (relname text, role text, privilege text);
INSERT INTO expected_rel
SELECT o, r, p FROM (VALUES
    -- the dashboards and read-only views: reader (and admin, who is a reader)
    ('alerts', 'reader', 'SELECT'), ('cache_savings', 'reader', 'SELECT'), ('cost_trend', 'reader', 'SELECT'),
    ('cost_trend_hourly', 'reader', 'SELECT'), ('current_rates', 'reader', 'SELECT'),
    ('error_costs', 'reader', 'SELECT'), ('open_alerts', 'reader', 'SELECT'), ('top_features', 'reader', 'SELECT'),
    ('top_users', 'reader', 'SELECT'), ('unpriced', 'reader', 'SELECT'), ('user_cost_distribution', 'reader', 'SELECT'),
    ('user_call_costs', 'reader', 'SELECT'),
    ('rates', 'reader', 'SELECT'), ('model_aliases', 'reader', 'SELECT'),
    ('denied_admissions', 'reader', 'SELECT'), ('margin_this_month', 'reader', 'SELECT'), ('plans', 'reader', 'SELECT'),
    ('invoice_reconciliation', 'reader', 'SELECT'), ('invoice_lines', 'reader', 'SELECT'),
    -- ingest: write events and refused rows; read the rates it is priced from
    ('events', 'ingest', 'INSERT'), ('rejected_events', 'ingest', 'INSERT'),
    ('rates', 'ingest', 'SELECT'), ('model_aliases', 'ingest', 'SELECT'),
    -- admin: rates, aliases, settings, raw events, rejects, rollups
    ('events', 'admin', 'SELECT'), ('events', 'admin', 'UPDATE'),
    ('rates', 'admin', 'INSERT'), ('rates', 'admin', 'UPDATE'), ('rates', 'admin', 'DELETE'),
    ('model_aliases', 'admin', 'INSERT'), ('model_aliases', 'admin', 'UPDATE'), ('model_aliases', 'admin', 'DELETE'),
    ('rates_rate_id_seq', 'admin', 'USAGE'),
    ('rejected_events', 'admin', 'SELECT'), ('rejected_events', 'admin', 'DELETE'),
    ('rejected_spans', 'admin', 'SELECT'), ('rejected_spans', 'admin', 'DELETE'),
    ('settings', 'admin', 'SELECT'), ('settings', 'admin', 'UPDATE'),
    ('feature_alert_settings', 'admin', 'SELECT'), ('feature_alert_settings', 'admin', 'INSERT'),
    ('feature_alert_settings', 'admin', 'UPDATE'), ('feature_alert_settings', 'admin', 'DELETE'),
    ('rollup_state', 'admin', 'SELECT'), ('rollup_hourly', 'admin', 'SELECT'), ('rollup_daily_feature', 'admin', 'SELECT'),
    ('rollup_daily_user', 'admin', 'SELECT'), ('rollup_hourly_feature', 'admin', 'SELECT'),
    ('rollup_user_30d', 'admin', 'SELECT'),
    -- admin: plans, their users and quotas; reservations and denials to read
    ('plans', 'admin', 'INSERT'), ('plans', 'admin', 'UPDATE'), ('plans', 'admin', 'DELETE'),
    ('user_plans', 'admin', 'SELECT'), ('user_plans', 'admin', 'INSERT'), ('user_plans', 'admin', 'UPDATE'),
    ('user_plans', 'admin', 'DELETE'), ('user_quotas', 'admin', 'SELECT'), ('user_quotas', 'admin', 'INSERT'),
    ('user_quotas', 'admin', 'UPDATE'), ('user_quotas', 'admin', 'DELETE'),
    ('quota_reservations', 'admin', 'SELECT'), ('quota_denials', 'admin', 'SELECT'),
    -- admin: provider invoice lines
    ('invoice_lines', 'admin', 'INSERT'), ('invoice_lines', 'admin', 'UPDATE'), ('invoice_lines', 'admin', 'DELETE')) m(o, r, p);
-- admin holds the ingest and reader roles
INSERT INTO expected_rel SELECT relname, 'admin', privilege FROM expected_rel WHERE role IN ('ingest', 'reader')
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE actual_rel AS
SELECT c.relname::text, replace(r.rolname, 'llmcost_', '') AS role, p AS privilege
  FROM pg_class c
 CROSS JOIN pg_roles r
 CROSS JOIN LATERAL unnest(CASE WHEN c.relkind = 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
                                ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] END) p
 WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
   AND r.rolname IN ('llmcost_ingest', 'llmcost_reader', 'llmcost_admin', 'llmcost_nobody')
   AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r.oid, c.oid, p)
            ELSE has_table_privilege(r.oid, c.oid, p) END;

-- rows that differ from the written matrix (a partition's privileges are its parent's)
SELECT 'missing' AS mismatch, * FROM (SELECT * FROM expected_rel EXCEPT SELECT * FROM actual_rel) x
UNION ALL
SELECT 'unexpected', * FROM (SELECT * FROM actual_rel EXCEPT SELECT * FROM expected_rel) y
ORDER BY 2, 3, 4;
SELECT count(*) AS relations_checked, (SELECT count(*) FROM actual_rel) AS privileges_held
  FROM pg_class c WHERE c.relnamespace = 'llmcost'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S') AND NOT c.relispartition;

-- functions kept from PUBLIC, and who may run them
CREATE TEMP TABLE expected_fn (fn text, roles text);
INSERT INTO expected_fn VALUES
    ('llmcost.acknowledge_alert(bigint)', 'admin'),
    ('llmcost.admit(text,numeric,text)', 'admin,ingest'),
    ('llmcost.announce_alert(llmcost.alerts)', ''),
    ('llmcost.plan_margin(date,date)', 'admin,reader'),
    ('llmcost.raise_quota_alert(text,numeric,text,numeric)', ''),
    ('llmcost.user_margin(date,date)', 'admin,reader'),
    ('llmcost.check_anomalies(timestamp with time zone)', 'admin'),
    ('llmcost.create_partition(text,timestamp with time zone,timestamp with time zone)', ''),
    ('llmcost.create_partitions(timestamp with time zone,timestamp with time zone)', 'admin'),
    ('llmcost.drop_expired_partitions()', 'admin'),
    ('llmcost.ingest_otlp(json)', 'admin,ingest'),
    ('llmcost.ingest_otlp(jsonb)', 'admin,ingest'),
    ('llmcost.ingest_otlp(text)', 'admin,ingest'),
    ('llmcost.load_langfuse_prices(jsonb,timestamp with time zone)', 'admin'),
    ('llmcost.load_litellm_prices(jsonb,timestamp with time zone,text[])', 'admin'),
    ('llmcost.protect_default_rates()', ''),
    ('llmcost.rates_changed()', ''),
    ('llmcost.rebuild_user_window(date,text[])', ''),
    ('llmcost.refresh_rollups(timestamp with time zone,timestamp with time zone)', 'admin'),
    ('llmcost.reprice(timestamp with time zone,timestamp with time zone)', 'admin'),
    ('llmcost.reprice_range(timestamp with time zone,timestamp with time zone)', 'admin'),
    ('llmcost.run_maintenance()', 'admin'),
    ('llmcost.schedule_jobs(text,text)', 'admin'),
    ('llmcost.set_rate(text,timestamp with time zone,numeric,numeric,numeric,numeric,numeric,integer,numeric,numeric,numeric,numeric,numeric,text,text)', 'admin'),
    ('llmcost.weekly_review_data(date)', 'admin,reader'),
    ('llmcost.weekly_review_html(date)', 'admin,reader'),
    ('llmcost.weekly_review_markdown(date)', 'admin,reader');
CREATE TEMP TABLE actual_fn AS
SELECT p.oid::regprocedure::text AS fn,
       coalesce((SELECT string_agg(replace(r, 'llmcost_', ''), ',' ORDER BY r)
                   FROM unnest(ARRAY['llmcost_admin', 'llmcost_ingest', 'llmcost_reader']) r
                  WHERE has_function_privilege(r, p.oid, 'EXECUTE')), '') AS roles
  FROM pg_proc p
 WHERE p.pronamespace = 'llmcost'::regnamespace AND NOT has_function_privilege('llmcost_nobody', p.oid, 'EXECUTE');
SELECT 'missing' AS mismatch, * FROM (SELECT * FROM expected_fn EXCEPT SELECT * FROM actual_fn) x
UNION ALL
SELECT 'unexpected', * FROM (SELECT * FROM actual_fn EXCEPT SELECT * FROM expected_fn) y
ORDER BY 2;

-- every SECURITY DEFINER function pins its search_path, and none is PUBLIC's
SELECT p.oid::regprocedure AS definer_function,
       coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=pg_catalog, pg_temp%', false) AS pinned,
       has_function_privilege('llmcost_nobody', p.oid, 'EXECUTE') AS public_may_run
  FROM pg_proc p WHERE p.pronamespace = 'llmcost'::regnamespace AND p.prosecdef ORDER BY 1;

-- the ingest role reads no one's costs, by any view or function
CREATE ROLE llmcost_pipeline LOGIN IN ROLE llmcost_ingest;
SET ROLE llmcost_pipeline;
\set VERBOSITY terse
SELECT count(*) FROM llmcost.top_users;
SELECT count(*) FROM llmcost.alerts;
SELECT count(*) FROM llmcost.events;
SELECT count(*) FROM llmcost.find_anomalies(now());
SELECT llmcost.feature_hour_causes('f', now());
SELECT llmcost.weekly_review_html();
SELECT count(*) FROM llmcost.invoice_reconciliation;
-- and the reader cannot change a price
RESET ROLE;
CREATE ROLE llmcost_bi LOGIN IN ROLE llmcost_reader;
SET ROLE llmcost_bi;
UPDATE llmcost.rates SET input_per_mtok = 0 WHERE NOT is_default;
SELECT llmcost.set_rate('gpt-4o', now(), 0, 0);
INSERT INTO llmcost.model_aliases VALUES ('cheap', 'gpt-4o-mini', NULL);
UPDATE llmcost.settings SET retention_days = 1;
RESET ROLE;
\set VERBOSITY default
DROP ROLE llmcost_pipeline, llmcost_bi, llmcost_nobody;
