/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  Admissions against per-user quotas: llmcost.admit(), and the two rules
 *	  it is made of, llmcost.quota_of() (the quota in force for a user) and
 *	  llmcost.quota_used_nusd() (the settled cost of the quota period plus
 *	  the open reservations).
 *
 *	  An admission sits on the path of every LLM call of an application, so
 *	  it is in C: each rule is one SQL statement, prepared once per backend
 *	  with a generic plan, and an allowed admission runs two of them (the
 *	  quota; then, under a per-user lock, what is used and the reservation
 *	  together).  The PL/pgSQL version it replaces spent most of its time in
 *	  nested function calls, their search_path switches and executor starts
 *	  (measured with perf; test/bench/run.sh quotas).
 *
 *	  Every statement runs under the function's own search_path
 *	  (pg_catalog, pg_temp: set by CREATE FUNCTION), so that nothing a
 *	  caller puts on their path is resolved, and the plan cache never sees a
 *	  different path (which would make it plan again).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(llmcost_admit);
PG_FUNCTION_INFO_V1(llmcost_quota_of);
PG_FUNCTION_INFO_V1(llmcost_quota_used_nusd);

/*
 * The quota in force for a user at a time: their own, else that of the
 * plan they are on then (plans of a user have no overlaps).  Two simple
 * statements rather than one with a union: an executor is started for
 * each statement of each admission, and its start costs more than the
 * lookups themselves.  The first also gives the share of a quota that
 * raises an alert.
 */
static const char QUOTA_OWN_SQL[] =
"SELECT q.quota_usd, q.quota_period, s.quota_warn_share"
"  FROM llmcost.settings s LEFT JOIN llmcost.user_quotas q ON q.user_id = $1";

static const char QUOTA_PLAN_SQL[] =
"SELECT p.quota_usd, p.quota_period"
"  FROM llmcost.user_plans up JOIN llmcost.plans p ON p.plan = up.plan"
" WHERE up.user_id = $1 AND up.valid_from <= $2"
"   AND (up.valid_until IS NULL OR up.valid_until > $2) AND p.quota_usd IS NOT NULL"
" LIMIT 1";

/*
 * What a user has used of a quota period at a time, in nano-USD: the
 * settled cost in the rollups (whole UTC days for day and month periods,
 * hours for the rolling window) plus the reservations still open.  $1 the
 * user, $2 the period, $3 the time.
 */
#define SPENT_DAYS \
"(SELECT sum(d.cost_nusd) FROM llmcost.rollup_daily_user d" \
"  WHERE d.user_id = $1 AND d.day >= (date_trunc($2, $3, 'UTC') AT TIME ZONE 'UTC')::date)"
/* (the window's start a subquery: a bound the hourly index can use) */
#define SPENT_HOURS \
"(SELECT sum(h.cost_nusd) FROM llmcost.rollup_hourly h" \
"  WHERE h.user_id = $1" \
"    AND h.hour >= (SELECT date_trunc('hour', $3 - make_interval(hours => s.quota_rolling_hours), 'UTC')" \
"                     FROM llmcost.settings s))"
#define USED(spent) \
"coalesce(" spent ", 0)" \
" + coalesce((SELECT sum(r.amount_nusd) FROM llmcost.quota_reservations r" \
"              WHERE r.user_id = $1 AND r.settled_at IS NULL AND r.expires_at > $3), 0)"

static const char USED_DAYS_SQL[] = "SELECT " USED(SPENT_DAYS);
static const char USED_HOURS_SQL[] = "SELECT " USED(SPENT_HOURS);

/*
 * An admission past the lock, in one statement: what is used, and the
 * reservation of $4 nano-USD (request $5) when used plus it stays within
 * the limit $6.  Returns what was used and the reservation (NULL: denied).
 * The reservation cannot see itself: the statement reads one snapshot.
 */
#define ADMIT(spent) \
"WITH u AS (SELECT " USED(spent) " AS used)," \
"     r AS (INSERT INTO llmcost.quota_reservations (user_id, amount_nusd, request_id, expires_at)" \
"           SELECT $1, $4, $5, clock_timestamp() + s.reservation_ttl FROM llmcost.settings s, u" \
"            WHERE u.used + $4 <= $6" \
"           RETURNING reservation_id)" \
"SELECT u.used, (SELECT r.reservation_id FROM r) FROM u"

static const char ADMIT_DAYS_SQL[] = ADMIT(SPENT_DAYS);
static const char ADMIT_HOURS_SQL[] = ADMIT(SPENT_HOURS);

static const char DENY_SQL[] =
"INSERT INTO llmcost.quota_denials (user_id, estimate_usd, quota_usd, used_usd, request_id)"
" VALUES ($1, $2, $3, $4, $5)";

static const char ALERT_SQL[] =
"SELECT llmcost.raise_quota_alert($1, $2, $3, $4)";

/* One prepared statement, kept for the life of the backend. */
typedef struct Statement
{
	const char *sql;
	int			nargs;
	Oid			argtypes[6];
	SPIPlanPtr	plan;
} Statement;

static Statement quota_own_stmt = {QUOTA_OWN_SQL, 1, {TEXTOID}};
static Statement quota_plan_stmt = {QUOTA_PLAN_SQL, 2, {TEXTOID, TIMESTAMPTZOID}};
static Statement used_days_stmt = {USED_DAYS_SQL, 3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}};
static Statement used_hours_stmt = {USED_HOURS_SQL, 3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}};
static Statement admit_days_stmt = {ADMIT_DAYS_SQL, 6, {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID, NUMERICOID}};
static Statement admit_hours_stmt = {ADMIT_HOURS_SQL, 6, {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID, NUMERICOID}};
static Statement deny_stmt = {DENY_SQL, 5, {TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID, TEXTOID}};
static Statement alert_stmt = {ALERT_SQL, 4, {TEXTOID, NUMERICOID, TEXTOID, NUMERICOID}};

/*
 * Runs a statement (prepared on first use; SPI connected) and returns the
 * number of rows it processed.  A generic plan: the statements look up one
 * user by index whatever the values, so planning each call only costs.
 */
static uint64
run(Statement *st, Datum *values, const bool *isnull, bool read_only)
{
	char		nulls[6];
	int			rc;

	if (st->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(st->sql, st->nargs, st->argtypes,
											  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "llmcost: preparing a quota statement failed: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "llmcost: keeping a quota statement failed");
		st->plan = plan;
	}
	for (int i = 0; i < st->nargs; i++)
		nulls[i] = isnull[i] ? 'n' : ' ';
	rc = SPI_execute_plan(st->plan, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "llmcost: a quota statement failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Column col (1-based) of the first row of the last result. */
static Datum
result_value(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * Exact numeric arithmetic, as SQL does it, with its constants made once
 * per backend (in TopMemoryContext): an admission needs them every time.
 */
static Datum zero_num,
			nano_num,			/* 0.000000001: a nano-USD in USD */
			billion_num;		/* 1000000000: nano-USD in a USD */

static Datum
num(const char *text)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	Datum		n = DirectFunctionCall3(numeric_in, CStringGetDatum(text),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));

	MemoryContextSwitchTo(old);
	return n;
}

static void
make_constants(void)
{
	if (zero_num != (Datum) 0)
		return;
	zero_num = num("0");
	nano_num = num("0.000000001");
	billion_num = num("1000000000");
}

static Datum
num_mul(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_mul, a, b);
}

static Datum
num_add(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_add, a, b);
}

static Datum
num_sub(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_sub, a, b);
}

static int
num_cmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/* nano-USD as USD: exactly llmcost.usd() */
static Datum
usd(Datum nanousd)
{
	return num_mul(nanousd, nano_num);
}

/* The quota in force: false when there is none. */
static bool
quota_in_force(Datum user_id, bool user_null, Datum at, bool at_null,
			   Datum *quota_usd, Datum *period, Datum *warn_share, bool read_only)
{
	Datum		args[2] = {user_id, at};
	bool		nulls[2] = {user_null, at_null};
	bool		quota_null,
				period_null,
				warn_null;

	if (run(&quota_own_stmt, args, nulls, read_only) != 1)
		elog(ERROR, "llmcost.settings must hold exactly one row");
	*warn_share = result_value(3, &warn_null);
	*warn_share = warn_null ? (Datum) 0 : SPI_datumTransfer(*warn_share, false, -1);
	*quota_usd = result_value(1, &quota_null);
	if (quota_null)
	{
		/* no quota of their own: their plan's, if any */
		if (run(&quota_plan_stmt, args, nulls, read_only) == 0)
			return false;
		*quota_usd = result_value(1, &quota_null);
	}
	*period = result_value(2, &period_null);
	*quota_usd = SPI_datumTransfer(*quota_usd, false, -1);
	*period = SPI_datumTransfer(*period, false, -1);
	return true;
}

/* A rolling window (hours of the rollups) rather than UTC days? */
static bool
is_rolling(Datum period, bool period_null)
{
	text	   *t;

	if (period_null)
		return false;
	t = DatumGetTextPP(period);
	return VARSIZE_ANY_EXHDR(t) == strlen("rolling") &&
		memcmp(VARDATA_ANY(t), "rolling", strlen("rolling")) == 0;
}

/* Spent plus reserved in the period, nano-USD (numeric). */
static Datum
quota_used(Datum user_id, bool user_null, Datum period, bool period_null,
		   Datum at, bool at_null, bool read_only)
{
	Datum		args[3] = {user_id, period, at};
	bool		nulls[3] = {user_null, period_null, at_null};
	bool		isnull;
	Datum		used;

	run(is_rolling(period, period_null) ? &used_hours_stmt : &used_days_stmt, args, nulls, read_only);
	used = result_value(1, &isnull);
	return SPI_datumTransfer(used, false, -1);
}

/*
 * llmcost.quota_of(user_id text, at timestamptz, OUT quota_usd numeric,
 * OUT quota_period text)
 */
Datum
llmcost_quota_of(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {true, true};
	Datum		warn_share;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "llmcost.quota_of must return a record");
	SPI_connect();
	if (quota_in_force(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1),
					   &values[0], &values[1], &warn_share, true))
		nulls[0] = nulls[1] = false;
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* llmcost.quota_used_nusd(user_id text, quota_period text, at timestamptz) */
Datum
llmcost_quota_used_nusd(PG_FUNCTION_ARGS)
{
	Datum		used;

	SPI_connect();
	used = quota_used(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1),
					  PG_GETARG_DATUM(2), PG_ARGISNULL(2), true);
	SPI_finish();
	PG_RETURN_DATUM(used);
}

/* Refuses what is no admission: no user, no estimate, a negative one, NaN. */
static void
check_admission(Datum user_id, bool user_null, Datum estimate, bool estimate_null)
{
	Numeric		n = estimate_null ? NULL : DatumGetNumeric(estimate);

	if (user_null || n == NULL || numeric_is_nan(n) || numeric_is_inf(n) ||
		num_cmp(estimate, zero_num) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid admission: user %s with estimate %s",
						user_null ? "NULL" : TextDatumGetCString(user_id),
						n == NULL ? "NULL" : DatumGetCString(DirectFunctionCall1(numeric_out, estimate))),
				 errhint("Give the user and a non-negative estimate of the call's cost in USD.")));
}

/* The estimate as whole nano-USD, rounded up (22003 past bigint). */
static int64
estimate_nusd(Datum estimate)
{
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 DirectFunctionCall1(numeric_ceil,
																 num_mul(estimate, billion_num))));
}

/*
 * One admission at a time per user: the lock of every llmcost version,
 * (hashtext('llmcost.quota'), hashtext(user_id)).
 */
static void
lock_user(Datum user_id)
{
	static int32 space = 0;
	int32		key;

	if (space == 0)
		space = DatumGetInt32(DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
													  CStringGetTextDatum("llmcost.quota")));
	key = DatumGetInt32(DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID, user_id));

	DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(space), Int32GetDatum(key));
}

/*
 * Under the user's lock: what is used, and the reservation when it fits
 * (*reservation_null: it did not).  Returns what was used, nano-USD.
 */
static Datum
reserve(Datum user_id, Datum period, int64 est, Datum request_id, bool request_null,
		Datum limit, Datum *reservation_id, bool *reservation_null)
{
	Datum		args[6] = {user_id, period, TimestampTzGetDatum(GetCurrentTimestamp()),
						   Int64GetDatum(est), request_id, limit};
	bool		nulls[6] = {false, false, false, false, request_null, false};
	bool		isnull;

	run(is_rolling(period, false) ? &admit_hours_stmt : &admit_days_stmt, args, nulls, false);
	*reservation_id = result_value(2, reservation_null);
	return result_value(1, &isnull);
}

/* Crossing the warning share raises one alert per user and period. */
static void
alert_if_crossed(Datum user_id, Datum quota_usd, Datum period, Datum warn_share,
				 Datum limit, Datum used, Datum after)
{
	Datum		warn;

	if (warn_share == (Datum) 0)
		return;
	warn = num_mul(warn_share, limit);
	if (num_cmp(used, warn) < 0 && num_cmp(after, warn) >= 0)
	{
		Datum		args[4] = {user_id, quota_usd, period, usd(after)};
		bool		nulls[4] = {false, false, false, false};

		run(&alert_stmt, args, nulls, false);
	}
}

/*
 * llmcost.admit(user_id text, estimated_usd numeric, request_id text,
 *				 OUT allowed boolean, OUT remaining_usd numeric,
 *				 OUT reservation_id bigint)
 */
Datum
llmcost_admit(PG_FUNCTION_ARGS)
{
	Datum		user_id = PG_GETARG_DATUM(0);
	Datum		request_id = PG_GETARG_DATUM(2);
	bool		request_null = PG_ARGISNULL(2);
	TupleDesc	desc;
	Datum		result[3];
	bool		result_null[3] = {false, true, true};
	int64		est;
	Datum		quota_usd,
				period,
				warn_share,
				limit,
				used,
				after;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "llmcost.admit must return a record");
	make_constants();
	check_admission(user_id, PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	/*
	 * The check must see every reservation committed before the lock is
	 * granted: a fresh snapshot per statement.
	 */
	if (XactIsoLevel != XACT_READ_COMMITTED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("llmcost.admit() runs in READ COMMITTED transactions only, not %s",
						GetConfigOption("transaction_isolation", false, false)),
				 errhint("Call it in its own transaction, or in one at the default isolation level.")));

	/*
	 * (Between SPI calls the current memory context is SPI's, gone at
	 * SPI_finish: what is returned is moved out with SPI_datumTransfer.)
	 */
	SPI_connect();
	if (!quota_in_force(user_id, false, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false,
						&quota_usd, &period, &warn_share, false))
	{
		SPI_finish();
		result[0] = BoolGetDatum(true); /* no quota: nothing to reserve */
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), result, result_null)));
	}
	est = estimate_nusd(PG_GETARG_DATUM(1));
	limit = num_mul(quota_usd, billion_num);

	/*
	 * One admission at a time per user, and what is used read after the
	 * lock: spend plus reservations can never pass the quota, however many
	 * sessions admit at once.
	 */
	lock_user(user_id);
	used = reserve(user_id, period, est, request_id, request_null, limit,
				   &result[2], &result_null[2]);
	after = num_add(used, DirectFunctionCall1(int8_numeric, Int64GetDatum(est)));
	result_null[1] = false;
	if (result_null[2])
	{
		/* denied: recorded, with what was left */
		Datum		left = num_sub(limit, used);
		Datum		args[5] = {user_id, PG_GETARG_DATUM(1), quota_usd, usd(used), request_id};
		bool		nulls[5] = {false, false, false, false, request_null};

		run(&deny_stmt, args, nulls, false);
		result[0] = BoolGetDatum(false);
		result[1] = SPI_datumTransfer(usd(num_cmp(left, zero_num) > 0 ? left : zero_num), false, -1);
	}
	else
	{
		result[0] = BoolGetDatum(true);
		result[1] = SPI_datumTransfer(usd(num_sub(limit, after)), false, -1);
		alert_if_crossed(user_id, quota_usd, period, warn_share, limit, used, after);
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), result, result_null)));
}
