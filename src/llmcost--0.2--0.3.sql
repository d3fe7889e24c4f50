-- llmcost 0.2 -> 0.3: admissions in C, reservations unlogged.
--
-- llmcost.admit() and the two rules it is made of, llmcost.quota_of() and
-- llmcost.quota_used_nusd(), are C functions (src/quota.c): the same
-- answers, the same per-user lock, a fraction of the time per admission.
\echo Use "ALTER EXTENSION llmcost UPDATE TO '0.3'" to load this file. \quit

-- Names resolve in pg_catalog and llmcost only (see llmcost--0.1.sql).
SET LOCAL search_path = pg_catalog, llmcost, pg_temp;

CREATE OR REPLACE FUNCTION llmcost.quota_of(user_id text, at timestamptz DEFAULT pg_catalog.now(),
                                            OUT quota_usd numeric, OUT quota_period text)
    LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'llmcost_quota_of';

CREATE OR REPLACE FUNCTION llmcost.quota_used_nusd(user_id text, quota_period text,
                                                   at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS numeric
    LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'llmcost_quota_used_nusd';

CREATE OR REPLACE FUNCTION llmcost.admit(user_id text, estimated_usd numeric, request_id text DEFAULT NULL,
                                         OUT allowed boolean, OUT remaining_usd numeric, OUT reservation_id bigint)
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'llmcost_admit';

-- The quota_share alert, raised by the first admission past the warning
-- share: with custom plans its INSERT was planned at every call (the
-- planner folds the formatting functions of its message for the values
-- given), which cost more than the admission itself.
ALTER FUNCTION llmcost.raise_quota_alert(text, numeric, text, numeric) SET plan_cache_mode = force_generic_plan;

-- Reservations are holds of minutes on a quota, not records of money: an
-- unlogged table, so that an admission writes no WAL and its commit waits
-- for no flush (a transaction that wrote only unlogged rows commits
-- asynchronously; one that also wrote logged rows, the caller's own, still
-- waits for them).  A crash empties the table: the open reservations of
-- the calls then in flight are forgotten, and those calls count once their
-- events are rolled up.  An unlogged table is not on standbys: admissions
-- and llmcost.quota_used_nusd() run on the primary.
ALTER TABLE llmcost.quota_reservations SET UNLOGGED;

-- A rolling-window quota reads one user's hours of the window: the hourly
-- rollup's index on the hour also holds the user and the cost, so that
-- the window's index entries answer it without the table (without them,
-- each such admission scanned every hourly row of the window: 266 ms for
-- a user on a month of 1,000,000 calls).  Still hour first, so that the
-- refresh appends to it as before and its deletes by hour use it.
DROP INDEX llmcost.rollup_hourly_hour;
CREATE INDEX rollup_hourly_hour ON llmcost.rollup_hourly (hour, user_id) INCLUDE (cost_nusd);
