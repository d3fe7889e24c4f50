/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  llmcost.stats: exact statistics summaries, their aggregates (plain,
 *	  rollup and moving), accessors and text/binary I/O.
 *
 * The two-step style of the TimescaleDB Toolkit: an aggregate builds a
 * summary value, accessors read it.  The aggregates' state is the summary
 * type itself (not internal), has a combine function and takes one
 * argument, so parallel query and Citus can push them down.
 *
 * Exactness: values are int64 in the kind's unit (stats.h), count, sum and
 * sum of squares are integers, so adding, merging and removing are exact
 * and order-independent.  Overflow raises an error.
 *
 * Moving aggregates: removing a value is exact for count, sum and sum of
 * squares.  min and max cannot be maintained under removal, so when the
 * value leaving the window is the current min or max, the inverse
 * transition returns NULL and PostgreSQL recomputes that frame from
 * scratch: min and max are always exact, at a cost that is amortized away
 * unless the extreme leaves the window at nearly every step.
 *
 * Transition functions modify their state in place (AggCheckCallContext
 * guarantees it is the aggregate's own).  A new state (the first, or a
 * combine's copy) is built in the per-call memory context: the executor
 * copies any new state into the aggregate's context itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "money.h"
#include "support.h"
#include "stats.h"

#define NANOUSD_PER_USD		1000000000.0
#define MICROS_PER_MS		1000.0

/*-------------------------------------------------------------------------
 * Checked 128-bit arithmetic
 *-------------------------------------------------------------------------
 */

static void
StatsOverflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("llmcost.stats overflow"),
			 errdetail("The sum or the sum of squares no longer fits in 128 bits.")));
}

static inline int128
AddChecked(int128 a, int128 b)
{
	int128		r;

	if (unlikely(__builtin_add_overflow(a, b, &r)))
		StatsOverflow();
	return r;
}

static inline int128
SubChecked(int128 a, int128 b)
{
	int128		r;

	if (unlikely(__builtin_sub_overflow(a, b, &r)))
		StatsOverflow();
	return r;
}

static inline int128
Square(int64 v)
{
	/* |v| < 2^63, so v*v < 2^126: it always fits */
	return (int128) v * v;
}

/*-------------------------------------------------------------------------
 * The summary
 *-------------------------------------------------------------------------
 */

static const char *
KindName(int kind)
{
	return kind == STATS_MONEY ? "money" : kind == STATS_DURATION ? "duration" : "?";
}

static StatsSummary *
NewStats(int kind, MemoryContext cxt)
{
	StatsSummary *s = MemoryContextAllocZero(cxt, sizeof(StatsSummary));

	SET_VARSIZE(s, sizeof(StatsSummary));
	s->version = STATS_VERSION;
	s->kind = kind;
	return s;
}

static StatsSummary *
CopyStats(const StatsSummary *s, MemoryContext cxt)
{
	StatsSummary *c = MemoryContextAlloc(cxt, sizeof(StatsSummary));

	memcpy(c, s, sizeof(StatsSummary));
	return c;
}

static inline void
StatsAdd(StatsSummary *s, int64 v)
{
	if (s->count == 0)
		s->min = s->max = v;
	else
	{
		if (v < s->min)
			s->min = v;
		if (v > s->max)
			s->max = v;
	}
	s->count++;
	s->sum = AddChecked(s->sum, v);
	s->sumsq = AddChecked(s->sumsq, Square(v));
}

/* Removes v; false when min or max would become unknown (restart). */
static inline bool
StatsRemove(StatsSummary *s, int64 v)
{
	if (s->count == 1)
	{
		s->count = 0;
		s->sum = s->sumsq = 0;
		s->min = s->max = 0;
		return true;
	}
	if (v == s->min || v == s->max)
		return false;
	s->count--;
	s->sum = SubChecked(s->sum, v);
	s->sumsq = SubChecked(s->sumsq, Square(v));
	return true;
}

static void
CheckSameKind(const StatsSummary *a, const StatsSummary *b)
{
	if (a->kind != b->kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine a %s summary with a %s summary",
						KindName(a->kind), KindName(b->kind))));
}

static void
StatsMerge(StatsSummary *a, const StatsSummary *b)
{
	/* an empty summary takes the kind of what is merged into it */
	if (a->count == 0)
		a->kind = b->kind;
	CheckSameKind(a, b);
	if (b->count == 0)
		return;
	if (a->count == 0)
	{
		a->min = b->min;
		a->max = b->max;
	}
	else
	{
		a->min = Min(a->min, b->min);
		a->max = Max(a->max, b->max);
	}
	a->count += b->count;		/* both < 2^63 rows: cannot overflow in practice */
	a->sum = AddChecked(a->sum, b->sum);
	a->sumsq = AddChecked(a->sumsq, b->sumsq);
}

/* Removes summary b (merged earlier) from a; false: restart needed. */
static bool
StatsUnmerge(StatsSummary *a, const StatsSummary *b)
{
	CheckSameKind(a, b);
	if (b->count == 0)
		return true;
	if (b->count > a->count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot remove a summary of %lld values from one of %lld",
						(long long) b->count, (long long) a->count)));
	if (b->count == a->count)
	{
		a->count = 0;
		a->sum = a->sumsq = 0;
		a->min = a->max = 0;
		return true;
	}
	if (b->min == a->min || b->max == a->max)
		return false;
	a->count -= b->count;
	a->sum = SubChecked(a->sum, b->sum);
	a->sumsq = SubChecked(a->sumsq, b->sumsq);
	return true;
}

/*
 * n*sumsq - sum^2, exactly, as long double; it is n^2 times the population
 * variance.  Computed in int128 when it fits (always, for realistic costs
 * and latencies), otherwise through numeric.
 */
static long double
CenteredSumSquaresTimesN(const StatsSummary *s)
{
	int128		a,
				b,
				d;

	if (!__builtin_mul_overflow((int128) s->count, s->sumsq, &a) &&
		!__builtin_mul_overflow(s->sum, s->sum, &b) &&
		!__builtin_sub_overflow(a, b, &d))
	{
		/* int64 converts to long double in one instruction; int128 needs a call */
		if (d <= PG_INT64_MAX)
			return (long double) (int64) d;
		return (long double) d;
	}

	/* the rare slow path: numeric is exact at any size */
	{
		Datum		n = DirectFunctionCall1(int8_numeric, Int64GetDatum(s->count));
		Datum		sq = ScaledNumeric(s->sumsq, 0);
		Datum		sm = ScaledNumeric(s->sum, 0);
		Datum		r = DirectFunctionCall2(numeric_sub,
										   DirectFunctionCall2(numeric_mul, n, sq),
										   DirectFunctionCall2(numeric_mul, sm, sm));

		return (long double) DatumGetFloat8(DirectFunctionCall1(numeric_float8, r));
	}
}

/* The factor from the kind's integer unit to the unit accessors report. */
static inline long double
UnitScale(const StatsSummary *s)
{
	return s->kind == STATS_MONEY ? NANOUSD_PER_USD : MICROS_PER_MS;
}

/* Variance in reported units squared; sample (n-1) or population (n). */
static bool
StatsVariance(const StatsSummary *s, bool sample, double *result)
{
	long double d;
	long double scale = UnitScale(s);

	if (s->count == 0 || (sample && s->count < 2))
		return false;
	d = CenteredSumSquaresTimesN(s);
	if (d < 0)
		d = 0;					/* cannot happen for a valid summary */
	*result = (double) (d / ((long double) s->count * (sample ? s->count - 1 : s->count))
						/ (scale * scale));
	return true;
}

static bool
StatsMean(const StatsSummary *s, double *result)
{
	if (s->count == 0)
		return false;
	/* int64 converts to long double in one instruction; int128 needs a call */
	if (s->sum >= PG_INT64_MIN && s->sum <= PG_INT64_MAX)
		*result = (double) ((long double) (int64) s->sum / s->count / UnitScale(s));
	else
		*result = (double) ((long double) s->sum / s->count / UnitScale(s));
	return true;
}

/*-------------------------------------------------------------------------
 * Validation, used by every input path
 *-------------------------------------------------------------------------
 */

static void
Invalid(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid llmcost.stats value: %s", what)));
}

static void
ValidateStats(const StatsSummary *s, int sqlstate)
{
	const char *problem = NULL;

	if (s->version != STATS_VERSION)
		problem = "unknown version";
	else if (s->kind != STATS_MONEY && s->kind != STATS_DURATION)
		problem = "unknown kind";
	else if (s->flags != 0 || s->reserved != 0)
		problem = "unknown flags";
	else if (s->count < 0)
		problem = "negative count";
	else if (s->count == 0)
	{
		if (s->sum != 0 || s->sumsq != 0 || s->min != 0 || s->max != 0)
			problem = "an empty summary has a sum, sum of squares, min or max";
	}
	else
	{
		int128		lo,
					hi;

		if (s->min > s->max)
			problem = "min is greater than max";
		else if (s->sumsq < 0)
			problem = "negative sum of squares";
		else if (__builtin_mul_overflow((int128) s->count, s->min, &lo) ||
				 __builtin_mul_overflow((int128) s->count, s->max, &hi) ||
				 s->sum < lo || s->sum > hi)
			problem = "sum is outside count x [min, max]";
		else if (CenteredSumSquaresTimesN(s) < 0)
			problem = "sum of squares is smaller than the sum allows";
		else
		{
			int128		m = Max(Square(s->min), Square(s->max));
			int128		top;

			if (!__builtin_mul_overflow((int128) s->count, m, &top) && s->sumsq > top)
				problem = "sum of squares is larger than count x max^2";
		}
	}
	if (problem)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid llmcost.stats value: %s", problem)));
}

/*-------------------------------------------------------------------------
 * Text and binary I/O
 *
 * Text: "(kind=money,count=3,sum=600,sumsq=140000,min=100,max=300)", all
 * integers in the kind's unit.  Every field is required, in this order.
 *-------------------------------------------------------------------------
 */

static const char *
ExpectWord(const char *p, const char *word, const char *input)
{
	size_t		len = strlen(word);

	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, word, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type llmcost.stats: \"%s\"", input),
				 errdetail("Expected \"%s\".", word)));
	return p + len;
}

static const char *
ParseInt128(const char *p, int128 *out, const char *input)
{
	bool		neg = false;
	uint128		u = 0;
	const char *start;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '-' || *p == '+')
		neg = (*p++ == '-');
	start = p;
	while (isdigit((unsigned char) *p))
	{
		int			d = *p++ - '0';

		/* the magnitude must fit int128 (2^127 for a negative number) */
		if (u > (((uint128) 1 << 127) - d) / 10)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range for llmcost.stats: \"%s\"", input)));
		u = u * 10 + d;
	}
	if (p == start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type llmcost.stats: \"%s\"", input),
				 errdetail("Expected an integer.")));
	if (!neg && u > (((uint128) 1 << 127) - 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range for llmcost.stats: \"%s\"", input)));
	*out = neg ? (int128) (-u) : (int128) u;
	return p;
}

static const char *
ParseInt64(const char *p, int64 *out, const char *input)
{
	int128		v;

	p = ParseInt128(p, &v, input);
	if (v < PG_INT64_MIN || v > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range for llmcost.stats: \"%s\"", input)));
	*out = (int64) v;
	return p;
}

/* Text input of llmcost.stats. */
PG_FUNCTION_INFO_V1(llmcost_stats_in);
Datum
llmcost_stats_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	StatsSummary *s = NewStats(STATS_MONEY, CurrentMemoryContext);

	p = ExpectWord(p, "(", input);
	p = ExpectWord(p, "kind=", input);
	if (strncmp(p, "money", 5) == 0)
		p += 5;
	else if (strncmp(p, "duration", 8) == 0)
	{
		s->kind = STATS_DURATION;
		p += 8;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type llmcost.stats: \"%s\"", input),
				 errdetail("The kind is money or duration.")));
	p = ExpectWord(p, ",", input);
	p = ExpectWord(p, "count=", input);
	p = ParseInt64(p, &s->count, input);
	p = ExpectWord(p, ",", input);
	p = ExpectWord(p, "sum=", input);
	p = ParseInt128(p, &s->sum, input);
	p = ExpectWord(p, ",", input);
	p = ExpectWord(p, "sumsq=", input);
	p = ParseInt128(p, &s->sumsq, input);
	p = ExpectWord(p, ",", input);
	p = ExpectWord(p, "min=", input);
	p = ParseInt64(p, &s->min, input);
	p = ExpectWord(p, ",", input);
	p = ExpectWord(p, "max=", input);
	p = ParseInt64(p, &s->max, input);
	p = ExpectWord(p, ")", input);
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type llmcost.stats: \"%s\"", input),
				 errdetail("Unexpected text after the closing parenthesis.")));
	ValidateStats(s, ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_STATS(s);
}

/* Text output of llmcost.stats. */
PG_FUNCTION_INFO_V1(llmcost_stats_out);
Datum
llmcost_stats_out(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);

	PG_RETURN_CSTRING(psprintf("(kind=%s,count=" INT64_FORMAT ",sum=%s,sumsq=%s,min=" INT64_FORMAT ",max=" INT64_FORMAT ")",
							   KindName(s->kind), s->count, Int128ToText(s->sum),
							   Int128ToText(s->sumsq), s->min, s->max));
}

/* Decodes the binary form; everything is checked before it is used. */
static StatsSummary *
StatsFromBinary(StringInfo buf)
{
	StatsSummary *s = NewStats(STATS_MONEY, CurrentMemoryContext);

	/* version, kind, flags, then the numbers: 4 + 8 + 16 + 16 + 8 + 8 bytes */
	if (buf->len - buf->cursor != 60)
		Invalid("wrong length");
	s->version = pq_getmsgbyte(buf);
	s->kind = pq_getmsgbyte(buf);
	s->flags = pq_getmsgint(buf, 2);
	s->count = pq_getmsgint64(buf);
	s->sum = GetInt128(buf);
	s->sumsq = GetInt128(buf);
	s->min = pq_getmsgint64(buf);
	s->max = pq_getmsgint64(buf);
	ValidateStats(s, ERRCODE_INVALID_BINARY_REPRESENTATION);
	return s;
}

/* Binary input of llmcost.stats: checks everything the text input checks. */
PG_FUNCTION_INFO_V1(llmcost_stats_recv);
Datum
llmcost_stats_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_STATS(StatsFromBinary((StringInfo) PG_GETARG_POINTER(0)));
}

/* stats_from_binary(bytea): the binary form (as COPY BINARY sends it) decoded. */
PG_FUNCTION_INFO_V1(llmcost_stats_from_binary);
Datum
llmcost_stats_from_binary(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	StringInfoOfBytea(&buf, PG_GETARG_BYTEA_PP(0));
	PG_RETURN_STATS(StatsFromBinary(&buf));
}

/* Binary output of llmcost.stats. */
PG_FUNCTION_INFO_V1(llmcost_stats_send);
Datum
llmcost_stats_send(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, s->version);
	pq_sendbyte(&buf, s->kind);
	pq_sendint16(&buf, s->flags);
	pq_sendint64(&buf, s->count);
	SendInt128(&buf, s->sum);
	SendInt128(&buf, s->sumsq);
	pq_sendint64(&buf, s->min);
	pq_sendint64(&buf, s->max);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*-------------------------------------------------------------------------
 * Values of each input type, as integers of the kind's unit
 *-------------------------------------------------------------------------
 */

static int64
MicrosOfMs(float8 ms)
{
	float8		us = rint(ms * MICROS_PER_MS);

	if (isnan(ms) || isinf(ms) || !FLOAT8_FITS_IN_INT64(us))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cannot summarize the duration %g ms", ms)));
	return (int64) us;
}

static int64
MicrosOfInterval(const Interval *iv)
{
	int128		us = (int128) iv->time
		+ (int128) iv->day * USECS_PER_DAY
		+ (int128) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;

	if (us < PG_INT64_MIN || us > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range for llmcost.stats")));
	return (int64) us;
}

/* The value of argument 1 of an aggregate support function, by kind of input. */
typedef enum StatsInput
{
	INPUT_NANOUSD,				/* bigint nano-USD */
	INPUT_USD,					/* numeric USD */
	INPUT_INTERVAL,				/* interval */
	INPUT_MS					/* double precision milliseconds */
} StatsInput;

static inline int64
InputValue(FunctionCallInfo fcinfo, StatsInput input)
{
	switch (input)
	{
		case INPUT_NANOUSD:
			return PG_GETARG_INT64(1);
		case INPUT_USD:
			return NanoUsdOfNumeric(PG_GETARG_DATUM(1));
		case INPUT_INTERVAL:
			return MicrosOfInterval(PG_GETARG_INTERVAL_P(1));
		case INPUT_MS:
			return MicrosOfMs(PG_GETARG_FLOAT8(1));
	}
	return 0;					/* keep the compiler quiet */
}

static inline int
KindOfInput(StatsInput input)
{
	return (input == INPUT_NANOUSD || input == INPUT_USD) ? STATS_MONEY : STATS_DURATION;
}

/*-------------------------------------------------------------------------
 * Aggregate support
 *-------------------------------------------------------------------------
 */


#ifdef USE_ASSERT_CHECKING
#define AssertValidState(s) ValidateStats((s), ERRCODE_INTERNAL_ERROR)
#else
#define AssertValidState(s) ((void) 0)
#endif

/* The transition: the state (NULL at first), plus one value; NULLs skipped. */
static Datum
Accumulate(FunctionCallInfo fcinfo, StatsInput input, const char *fn)
{
	StatsSummary *s;
	int			context = CheckAggregateContext(fcinfo, fn);

	if (PG_ARGISNULL(0))
	{
		/*
		 * Only NULLs so far: no summary, but a moving aggregate (a window)
		 * may not return NULL, so it gets an empty one.
		 */
		if (PG_ARGISNULL(1) && context != AGG_CONTEXT_WINDOW)
			PG_RETURN_NULL();
		s = NewStats(KindOfInput(input), CurrentMemoryContext);
	}
	else
		s = (StatsSummary *) PG_GETARG_POINTER(0);	/* ours: AggCheckCallContext */
	if (!PG_ARGISNULL(1))
		StatsAdd(s, InputValue(fcinfo, input));
	AssertValidState(s);
	PG_RETURN_STATS(s);
}

/* The inverse transition of the moving aggregates; NULL: restart. */
static Datum
Deaccumulate(FunctionCallInfo fcinfo, StatsInput input, const char *fn)
{
	StatsSummary *s;

	CheckAggregateContext(fcinfo, fn);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (StatsSummary *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !StatsRemove(s, InputValue(fcinfo, input)))
		PG_RETURN_NULL();
	AssertValidState(s);
	PG_RETURN_STATS(s);
}

/* Transition of stats_agg(bigint): nano-USD. */
PG_FUNCTION_INFO_V1(llmcost_stats_accum_nusd);
Datum
llmcost_stats_accum_nusd(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, INPUT_NANOUSD, "llmcost_stats_accum_nusd");
}

/* Inverse transition of stats_agg(bigint). */
PG_FUNCTION_INFO_V1(llmcost_stats_remove_nusd);
Datum
llmcost_stats_remove_nusd(PG_FUNCTION_ARGS)
{
	return Deaccumulate(fcinfo, INPUT_NANOUSD, "llmcost_stats_remove_nusd");
}

/* Transition of stats_agg(numeric): USD. */
PG_FUNCTION_INFO_V1(llmcost_stats_accum_usd);
Datum
llmcost_stats_accum_usd(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, INPUT_USD, "llmcost_stats_accum_usd");
}

/* Inverse transition of stats_agg(numeric). */
PG_FUNCTION_INFO_V1(llmcost_stats_remove_usd);
Datum
llmcost_stats_remove_usd(PG_FUNCTION_ARGS)
{
	return Deaccumulate(fcinfo, INPUT_USD, "llmcost_stats_remove_usd");
}

/* Transition of stats_agg(interval): durations. */
PG_FUNCTION_INFO_V1(llmcost_stats_accum_interval);
Datum
llmcost_stats_accum_interval(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, INPUT_INTERVAL, "llmcost_stats_accum_interval");
}

/* Inverse transition of stats_agg(interval). */
PG_FUNCTION_INFO_V1(llmcost_stats_remove_interval);
Datum
llmcost_stats_remove_interval(PG_FUNCTION_ARGS)
{
	return Deaccumulate(fcinfo, INPUT_INTERVAL, "llmcost_stats_remove_interval");
}

/* Transition of duration_stats_agg(double precision): milliseconds. */
PG_FUNCTION_INFO_V1(llmcost_stats_accum_ms);
Datum
llmcost_stats_accum_ms(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, INPUT_MS, "llmcost_stats_accum_ms");
}

/* Inverse transition of duration_stats_agg(double precision). */
PG_FUNCTION_INFO_V1(llmcost_stats_remove_ms);
Datum
llmcost_stats_remove_ms(PG_FUNCTION_ARGS)
{
	return Deaccumulate(fcinfo, INPUT_MS, "llmcost_stats_remove_ms");
}

/*
 * Combine function of every stats aggregate, and transition of the rollup
 * aggregate stats_rollup(stats): merges the second summary into the first.
 * Never returns its second argument as-is: it is not ours to hand on.
 */
PG_FUNCTION_INFO_V1(llmcost_stats_combine);
Datum
llmcost_stats_combine(PG_FUNCTION_ARGS)
{
	StatsSummary *a;
	StatsSummary *b;
	int			context = CheckAggregateContext(fcinfo, "llmcost_stats_combine");

	if (PG_ARGISNULL(1))
	{
		if (!PG_ARGISNULL(0))
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		/* as in Accumulate: a window gets an empty summary, not NULL */
		if (context != AGG_CONTEXT_WINDOW)
			PG_RETURN_NULL();
		PG_RETURN_STATS(NewStats(STATS_MONEY, CurrentMemoryContext));
	}
	b = PG_GETARG_STATS(1);
	if (PG_ARGISNULL(0))
		PG_RETURN_STATS(CopyStats(b, CurrentMemoryContext));
	a = (StatsSummary *) PG_GETARG_POINTER(0);	/* ours: AggCheckCallContext */
	StatsMerge(a, b);
	AssertValidState(a);
	PG_RETURN_STATS(a);
}

/* Inverse transition of stats_rollup(stats); NULL: restart. */
PG_FUNCTION_INFO_V1(llmcost_stats_uncombine);
Datum
llmcost_stats_uncombine(PG_FUNCTION_ARGS)
{
	StatsSummary *a;

	CheckAggregateContext(fcinfo, "llmcost_stats_uncombine");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	a = (StatsSummary *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !StatsUnmerge(a, PG_GETARG_STATS(1)))
		PG_RETURN_NULL();
	AssertValidState(a);
	PG_RETURN_STATS(a);
}

/*-------------------------------------------------------------------------
 * Accessors.  Money is reported in USD, durations in milliseconds.
 *-------------------------------------------------------------------------
 */

/* Exact integer of the kind's unit as numeric in reported units. */
static Datum
ReportedNumeric(const StatsSummary *s, int128 v)
{
	return ScaledNumeric(v, s->kind == STATS_MONEY ? 9 : 3);
}

/* stats_count(stats): how many values. */
PG_FUNCTION_INFO_V1(llmcost_stats_count);
Datum
llmcost_stats_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_STATS(0)->count);
}

/* stats_kind(stats): money or duration. */
PG_FUNCTION_INFO_V1(llmcost_stats_kind);
Datum
llmcost_stats_kind(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(KindName(PG_GETARG_STATS(0)->kind)));
}

/* stats_sum(stats): exact sum, USD or ms. */
PG_FUNCTION_INFO_V1(llmcost_stats_sum);
Datum
llmcost_stats_sum(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ReportedNumeric(s, s->sum));
}

/* stats_min(stats): exact minimum. */
PG_FUNCTION_INFO_V1(llmcost_stats_min);
Datum
llmcost_stats_min(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ReportedNumeric(s, s->min));
}

/* stats_max(stats): exact maximum. */
PG_FUNCTION_INFO_V1(llmcost_stats_max);
Datum
llmcost_stats_max(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ReportedNumeric(s, s->max));
}

/* stats_mean(stats). */
PG_FUNCTION_INFO_V1(llmcost_stats_mean);
Datum
llmcost_stats_mean(PG_FUNCTION_ARGS)
{
	double		r;

	if (!StatsMean(PG_GETARG_STATS(0), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

/* stats_variance(stats, sample): sample (default) or population variance. */
PG_FUNCTION_INFO_V1(llmcost_stats_variance);
Datum
llmcost_stats_variance(PG_FUNCTION_ARGS)
{
	double		r;

	if (!StatsVariance(PG_GETARG_STATS(0), PG_GETARG_BOOL(1), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

/* stats_stddev(stats, sample): sample (default) or population stddev. */
PG_FUNCTION_INFO_V1(llmcost_stats_stddev);
Datum
llmcost_stats_stddev(PG_FUNCTION_ARGS)
{
	double		r;

	if (!StatsVariance(PG_GETARG_STATS(0), PG_GETARG_BOOL(1), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sqrt(r));
}

/* mean + k * sample stddev; NULL with fewer than two values. */
static bool
Band(const StatsSummary *s, double k, double *result)
{
	double		mean,
				var;

	if (isnan(k) || isinf(k))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the band width k must be finite, not %g", k)));
	if (!StatsMean(s, &mean) || !StatsVariance(s, true, &var))
		return false;
	*result = mean + k * sqrt(var);
	return true;
}

/* stats_upper_band(stats, k): mean + k sigma. */
PG_FUNCTION_INFO_V1(llmcost_stats_upper_band);
Datum
llmcost_stats_upper_band(PG_FUNCTION_ARGS)
{
	double		r;

	if (!Band(PG_GETARG_STATS(0), PG_GETARG_FLOAT8(1), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

/* stats_lower_band(stats, k): mean - k sigma. */
PG_FUNCTION_INFO_V1(llmcost_stats_lower_band);
Datum
llmcost_stats_lower_band(PG_FUNCTION_ARGS)
{
	double		r;

	if (!Band(PG_GETARG_STATS(0), -PG_GETARG_FLOAT8(1), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

/* stats_zscore(stats, value): (value - mean) / sample stddev. */
PG_FUNCTION_INFO_V1(llmcost_stats_zscore);
Datum
llmcost_stats_zscore(PG_FUNCTION_ARGS)
{
	StatsSummary *s = PG_GETARG_STATS(0);
	double		value = PG_GETARG_FLOAT8(1);
	double		mean,
				var;

	if (!StatsMean(s, &mean) || !StatsVariance(s, true, &var) || var == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((value - mean) / sqrt(var));
}

/*
 * is_anomaly(value, stats, k): value above mean + k sigma.  With no spread
 * (all values equal) any value above the mean is an anomaly; with fewer
 * than two values nothing is judged (NULL).
 */
PG_FUNCTION_INFO_V1(llmcost_is_anomaly);
Datum
llmcost_is_anomaly(PG_FUNCTION_ARGS)
{
	double		value = PG_GETARG_FLOAT8(0);
	double		upper;

	if (!Band(PG_GETARG_STATS(1), PG_GETARG_FLOAT8(2), &upper))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(value > upper);
}
