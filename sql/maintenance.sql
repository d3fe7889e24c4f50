-- Retention and maintenance, and the jobs running for real under pg_cron.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';

-- retention drops exactly the expired daily partitions, never rows one by one
SELECT llmcost.create_partitions(now() - interval '100 days', now() - interval '85 days') > 0 AS old_partitions;
INSERT INTO llmcost.events (event_time, request_id, feature, provider, model, input_tokens, output_tokens)
VALUES (now() - interval '95 days', 'old-1', 'f', 'openai', 'gpt-4o', 10, 1),
       (now() - interval '89 days', 'kept-1', 'f', 'openai', 'gpt-4o', 10, 1);
CREATE TEMP TABLE before_drop AS
SELECT c.relname, to_date(substr(c.relname, 9), 'YYYYMMDD') AS day
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'llmcost.events'::regclass AND c.relname ~ '^events_p[0-9]{8}$';
SELECT dropped > 0 AS dropped_some FROM llmcost.drop_expired_partitions();
-- the partitions left are exactly those whose day is within the 90 days
SELECT count(*) FILTER (WHERE still AND expired) AS expired_kept,
       count(*) FILTER (WHERE NOT still AND NOT expired) AS live_dropped
  FROM (SELECT b.day < ((now() AT TIME ZONE 'UTC') - interval '90 days')::date AS expired,
               to_regclass('llmcost.' || b.relname) IS NOT NULL AS still
          FROM before_drop b) x;
SELECT request_id FROM llmcost.events WHERE request_id IN ('old-1', 'kept-1') ORDER BY 1;
-- configurable
\set VERBOSITY terse
UPDATE llmcost.settings SET retention_days = 0;
\set VERBOSITY default
UPDATE llmcost.settings SET retention_days = 30;
SELECT dropped > 0 AS dropped_more FROM llmcost.drop_expired_partitions();
SELECT count(*) AS kept_older_than_30_days FROM llmcost.events WHERE event_time < now() - interval '31 days'
   AND event_time > now() - interval '5 years';
UPDATE llmcost.settings SET retention_days = 90;

-- the maintenance entry point
SELECT ran, partitions_created >= 0 AS created, hours_refreshed >= 0 AS refreshed
  FROM llmcost.run_maintenance();
SELECT count(*) >= 8 AS partitions_ahead FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'llmcost.events'::regclass
   AND c.relname >= 'events_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD');

-- scheduling needs pg_cron: a clear error without it
\set VERBOSITY default
SELECT * FROM llmcost.schedule_jobs();
CREATE EXTENSION pg_cron;
SELECT job_name, schedule FROM llmcost.schedule_jobs('* * * * *', '* * * * *');
-- idempotent: scheduling again updates the same jobs
SELECT job_name, schedule FROM llmcost.schedule_jobs('* * * * *', '* * * * *');
SELECT jobname, schedule, command FROM cron.job ORDER BY jobid;

-- the job runs for real: wait for pg_cron's next minute (at most 150 s)
UPDATE llmcost.rollup_state SET refreshed_at = NULL;
DO $$
BEGIN
    FOR i IN 1 .. 150 LOOP
        EXIT WHEN (SELECT count(DISTINCT j.jobname) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                    WHERE d.status IN ('succeeded', 'failed')) = 2;
        PERFORM pg_sleep(1);
    END LOOP;
END $$;
SELECT DISTINCT ON (j.jobname) j.jobname, d.status
  FROM cron.job_run_details d JOIN cron.job j USING (jobid)
 WHERE d.status IN ('succeeded', 'failed') ORDER BY j.jobname, d.runid;
SELECT refreshed_at IS NOT NULL AS refreshed_by_cron FROM llmcost.rollup_state;
SELECT cron.unschedule('llmcost-maintenance');
SELECT cron.unschedule('llmcost-anomalies');
DROP EXTENSION pg_cron;
