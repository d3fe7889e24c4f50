/*-------------------------------------------------------------------------
 *
 * sketch.c
 *	  llmcost.sketch: relative-error quantile sketches of money, their
 *	  aggregates, accessors and validated text/binary I/O.
 *
 * See sketch.h for the representation and its guarantee.  The aggregates'
 * state is the sketch type itself (one argument, a combine function, no
 * internal state), so parallel query and Citus can push them down.
 *
 * Growing the state: the transition updates its state in place, in the
 * aggregate's memory context.  A state may carry spare bucket slots past
 * nbuckets, counted in its varlena size; when they run out the transition
 * returns a new state of twice the capacity, built in the per-call memory
 * context: the executor copies any new state into the aggregate's context
 * and frees the old one itself, so nothing here frees or moves a state.  The
 * final function trims the spare slots, so stored sketches have none.  The
 * combine function builds a new sketch and never hands on its second
 * argument.
 *
 * Negative values are refused: costs are never negative, and a sketch with
 * a negative side would halve the accuracy budget for nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "money.h"
#include "support.h"
#include "sketch.h"

/*-------------------------------------------------------------------------
 * Bucket arithmetic
 *-------------------------------------------------------------------------
 */

/*
 * ln g0 for an initial relative accuracy in parts per million.  Remembered
 * for the last accuracy asked: the transition needs it for every value, and
 * one aggregate uses one accuracy.
 */
static inline double
LnGamma0(int32 alpha_ppm)
{
	static int32 last_ppm = 0;
	static double last_ln = 0;

	if (alpha_ppm != last_ppm)
	{
		double		a = (double) alpha_ppm / PPM;

		last_ln = log((1 + a) / (1 - a));
		last_ppm = alpha_ppm;
	}
	return last_ln;
}

/* Level-0 bucket of a value v >= 1 nano-USD. */
static inline int64
Index0(int64 v, double ln_g0)
{
	return (int64) ceil(log((double) v) / ln_g0);
}

/* ceil(i / 2^levels) for i >= 0: the bucket after that many collapses. */
static inline int64
Collapsed(int64 i, int levels)
{
	if (levels == 0)
		return i;
	if (levels >= 62)
		return i > 0 ? 1 : 0;
	return (i + ((INT64CONST(1) << levels) - 1)) >> levels;
}

/* ln g at the sketch's collapse level. */
static inline double
LnGamma(const Sketch *s)
{
	return LnGamma0(s->alpha_ppm) * ldexp(1.0, s->collapses);
}

/* The relative error that holds now: (g - 1) / (g + 1). */
static inline double
SketchError(const Sketch *s)
{
	return tanh(LnGamma(s) / 2);
}

/* The estimate of bucket i, nano-USD: 2 g^i / (g + 1), within the error of every value in it. */
static inline double
BucketEstimate(const Sketch *s, int32 index)
{
	double		lng = LnGamma(s);

	return exp(index * lng + M_LN2 - log1p(exp(lng)));
}

/*-------------------------------------------------------------------------
 * Building sketches
 *-------------------------------------------------------------------------
 */

/* A new empty sketch with room for capacity buckets (its varlena size). */
static Sketch *
NewSketch(int32 alpha_ppm, int32 max_buckets, int capacity, MemoryContext cxt)
{
	Sketch	   *s = MemoryContextAllocZero(cxt, SKETCH_SIZE(capacity));

	SET_VARSIZE(s, SKETCH_SIZE(capacity));
	s->version = SKETCH_VERSION;
	s->alpha_ppm = alpha_ppm;
	s->max_buckets = max_buckets;
	return s;
}

/* Bucket slots a sketch has room for: nbuckets, plus any spare ones of a state. */
static inline int
Capacity(const Sketch *s)
{
	return (VARSIZE(s) - offsetof(Sketch, buckets)) / sizeof(SketchBucket);
}

/* The same sketch without spare slots, new in cxt. */
static Sketch *
Trimmed(const Sketch *s, MemoryContext cxt)
{
	Sketch	   *t = MemoryContextAlloc(cxt, SKETCH_SIZE(s->nbuckets));

	memcpy(t, s, SKETCH_SIZE(s->nbuckets));
	SET_VARSIZE(t, SKETCH_SIZE(s->nbuckets));
	return t;
}

/* A copy with twice the room, new in cxt; the original is left as it is. */
static Sketch *
Grown(const Sketch *s, MemoryContext cxt)
{
	int			capacity = Min(Max(8, s->nbuckets * 2), s->max_buckets + 1);
	Sketch	   *g = MemoryContextAllocZero(cxt, SKETCH_SIZE(capacity));

	memcpy(g, s, SKETCH_SIZE(s->nbuckets));
	SET_VARSIZE(g, SKETCH_SIZE(capacity));
	return g;
}

/* One uniform collapse: g becomes g^2 and bucket i becomes ceil(i/2). */
static void
Collapse(Sketch *s)
{
	int			out = -1;

	for (int i = 0; i < s->nbuckets; i++)
	{
		int32		idx = (int32) Collapsed(s->buckets[i].index, 1);

		if (out >= 0 && s->buckets[out].index == idx)
			s->buckets[out].count += s->buckets[i].count;
		else
		{
			out++;
			s->buckets[out].index = idx;
			s->buckets[out].count = s->buckets[i].count;
		}
	}
	s->nbuckets = out + 1;
	s->collapses++;
}

static void
FitBuckets(Sketch *s)
{
	while (s->nbuckets > s->max_buckets)
	{
		if (s->collapses >= SKETCH_MAX_COLLAPSES)
			elog(ERROR, "llmcost.sketch cannot collapse further");
		Collapse(s);
	}
}

static void
NegativeValue(int64 v)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("llmcost.sketch summarizes costs, which cannot be negative: %s USD",
					DatumGetCString(DirectFunctionCall1(numeric_out, ScaledNumeric(v, 9))))));
}

/* Adds one value (nano-USD); a full state is replaced by a grown copy in cxt. */
static Sketch *
SketchAdd(Sketch *s, int64 v, MemoryContext cxt)
{
	if (v < 0)
		NegativeValue(v);
	if (s->count == 0)
		s->min = s->max = v;
	else
	{
		s->min = Min(s->min, v);
		s->max = Max(s->max, v);
	}
	s->count++;
	s->sum += v;				/* < 2^63 values of < 2^63: cannot overflow int128 */
	if (v == 0)
	{
		s->zeros++;
		return s;
	}
	else
	{
		int32		idx = (int32) Collapsed(Index0(v, LnGamma0(s->alpha_ppm)), s->collapses);
		int			lo = 0,
					hi = s->nbuckets;

		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (s->buckets[mid].index < idx)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->nbuckets && s->buckets[lo].index == idx)
		{
			s->buckets[lo].count++;
			return s;
		}
		if (s->nbuckets >= Capacity(s))
			s = Grown(s, cxt);
		memmove(&s->buckets[lo + 1], &s->buckets[lo], sizeof(SketchBucket) * (s->nbuckets - lo));
		s->buckets[lo].index = idx;
		s->buckets[lo].count = 1;
		s->buckets[lo].reserved = 0;
		s->nbuckets++;
		FitBuckets(s);
		return s;
	}
}

/*
 * The union of two sketches, new in cxt: both brought to the coarser level,
 * counts of equal buckets added, then collapsed until it fits the smaller
 * bound.  The result depends only on the union of the values.
 */
static Sketch *
SketchMerge(const Sketch *a, const Sketch *b, MemoryContext cxt)
{
	int			level = Max(a->collapses, b->collapses);
	Sketch	   *m;
	int			ia = 0,
				ib = 0,
				out = -1;

	if (a->alpha_ppm != b->alpha_ppm)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge sketches of different base accuracy (%g and %g)",
						(double) a->alpha_ppm / PPM, (double) b->alpha_ppm / PPM),
				 errhint("Build the sketches with the same alpha.")));

	m = NewSketch(a->alpha_ppm, Min(a->max_buckets, b->max_buckets),
				  a->nbuckets + b->nbuckets, cxt);
	m->collapses = level;
	m->count = a->count + b->count;
	m->zeros = a->zeros + b->zeros;
	m->sum = a->sum + b->sum;
	if (a->count == 0 || b->count == 0)
	{
		m->min = a->count ? a->min : b->min;
		m->max = a->count ? a->max : b->max;
	}
	else
	{
		m->min = Min(a->min, b->min);
		m->max = Max(a->max, b->max);
	}

	while (ia < a->nbuckets || ib < b->nbuckets)
	{
		int64		ka = ia < a->nbuckets ? Collapsed(a->buckets[ia].index, level - a->collapses) : PG_INT64_MAX;
		int64		kb = ib < b->nbuckets ? Collapsed(b->buckets[ib].index, level - b->collapses) : PG_INT64_MAX;
		int64		k = Min(ka, kb);
		int64		c = 0;

		if (ka == k)
			c += a->buckets[ia++].count;
		if (kb == k)
			c += b->buckets[ib++].count;
		if (out >= 0 && m->buckets[out].index == k)
			m->buckets[out].count += c;
		else
		{
			out++;
			m->buckets[out].index = (int32) k;
			m->buckets[out].count = c;
		}
	}
	m->nbuckets = out + 1;
	FitBuckets(m);
	SET_VARSIZE(m, SKETCH_SIZE(m->nbuckets));
	return m;
}

/*-------------------------------------------------------------------------
 * Validation, used by every input path
 *-------------------------------------------------------------------------
 */

static void
ValidateSketch(const Sketch *s, int sqlstate, bool is_state)
{
	const char *problem = NULL;
	int64		total;

	if (is_state ? Capacity(s) < s->nbuckets : VARSIZE(s) != SKETCH_SIZE(s->nbuckets))
		problem = "wrong size";
	else if (s->version != SKETCH_VERSION)
		problem = "unknown version";
	else if (s->flags != 0)
		problem = "unknown flags";
	else if (s->alpha_ppm < 1 || s->alpha_ppm >= PPM / 2)
		problem = "alpha out of range";
	else if (s->collapses > SKETCH_MAX_COLLAPSES)
		problem = "too many collapses";
	else if (s->max_buckets < SKETCH_MIN_BUCKETS || s->max_buckets > SKETCH_MAX_BUCKETS)
		problem = "bucket limit out of range";
	else if (s->nbuckets < 0 || s->nbuckets > s->max_buckets)
		problem = "more buckets than the limit";
	else if (s->count < 0 || s->zeros < 0 || s->zeros > s->count)
		problem = "inconsistent counts";
	else if (s->count == 0 && (s->sum != 0 || s->min != 0 || s->max != 0 || s->nbuckets != 0))
		problem = "an empty sketch has values";
	else if (s->count > 0 && (s->min < 0 || s->min > s->max))
		problem = "min and max out of order or negative";
	else if (s->count > 0 && ((s->zeros > 0) != (s->min == 0)))
		problem = "min does not match the zero count";
	else if (s->count > 0 && ((s->nbuckets == 0) != (s->max == 0)))
		problem = "max does not match the buckets";
	else if (s->sum < (int128) s->min * s->count || s->sum > (int128) s->max * s->count)
		problem = "sum is outside count x [min, max]";
	if (problem == NULL)
	{
		int64		top = Collapsed(Index0(PG_INT64_MAX, LnGamma0(s->alpha_ppm)), s->collapses);

		total = s->zeros;
		for (int i = 0; i < s->nbuckets && problem == NULL; i++)
		{
			const SketchBucket *b = &s->buckets[i];

			if (b->count <= 0 || b->reserved != 0)
				problem = "a bucket count is not positive";
			else if (b->index < 0 || b->index > top)
				problem = "a bucket index is out of range";
			else if (i > 0 && b->index <= s->buckets[i - 1].index)
				problem = "bucket indexes are not strictly increasing";
			else if (__builtin_add_overflow(total, b->count, &total))
				problem = "bucket counts overflow";
		}
		if (problem == NULL && total != s->count)
			problem = "bucket counts do not add up to the count";
	}
	if (problem == NULL && s->nbuckets > 0)
	{
		/* min and max lie in the first and last buckets (one off for rounding) */
		double		lng0 = LnGamma0(s->alpha_ppm);
		int64		first = s->buckets[0].index;
		int64		last = s->buckets[s->nbuckets - 1].index;
		int64		imin = s->min > 0 ? Collapsed(Index0(s->min, lng0), s->collapses) : first;
		int64		imax = Collapsed(Index0(s->max, lng0), s->collapses);

		if (imin < first - 1 || imin > first + 1 || imax < last - 1 || imax > last + 1)
			problem = "min or max do not match the buckets";
	}
	if (problem)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid llmcost.sketch value: %s", problem)));
}

/*-------------------------------------------------------------------------
 * Text and binary I/O
 *
 * Text: "(alpha_ppm=10000,collapses=0,max_buckets=2048,count=3,zeros=1,
 * sum=30,min=0,max=20,buckets={1:1,150:1})", money in nano-USD, buckets as
 * index:count.
 *-------------------------------------------------------------------------
 */

static void
SyntaxError(const char *input, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type llmcost.sketch: \"%s\"", input),
			 errdetail("Expected %s.", expected)));
}

static const char *
Expect(const char *p, const char *word, const char *input)
{
	size_t		len = strlen(word);

	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, word, len) != 0)
		SyntaxError(input, psprintf("\"%s\"", word));
	return p + len;
}

/* A decimal integer in [lo, hi]. */
static const char *
Number(const char *p, int128 lo, int128 hi, int128 *out, const char *input)
{
	bool		neg = false;
	int128		v = 0;
	const char *start;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '-')
	{
		neg = true;
		p++;
	}
	start = p;
	while (isdigit((unsigned char) *p))
	{
		if (v > (((int128) 1 << 120)))
			SyntaxError(input, "a number in range");
		v = v * 10 + (*p++ - '0');
	}
	if (p == start)
		SyntaxError(input, "a number");
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range in llmcost.sketch input: \"%s\"", input)));
	*out = v;
	return p;
}

#define FIELD(p, name, lo, hi, target) \
	do { int128 v_; (p) = Expect((p), name, input); \
		 (p) = Number((p), (lo), (hi), &v_, input); (target) = v_; } while (0)

/* Text input of llmcost.sketch. */
PG_FUNCTION_INFO_V1(llmcost_sketch_in);
Datum
llmcost_sketch_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int32		alpha_ppm,
				max_buckets,
				collapses;
	Sketch	   *s;

	p = Expect(p, "(", input);
	FIELD(p, "alpha_ppm=", 1, PPM / 2 - 1, alpha_ppm);
	p = Expect(p, ",", input);
	FIELD(p, "collapses=", 0, SKETCH_MAX_COLLAPSES, collapses);
	p = Expect(p, ",", input);
	FIELD(p, "max_buckets=", SKETCH_MIN_BUCKETS, SKETCH_MAX_BUCKETS, max_buckets);
	s = NewSketch(alpha_ppm, max_buckets, max_buckets, CurrentMemoryContext);
	s->collapses = collapses;
	p = Expect(p, ",", input);
	FIELD(p, "count=", 0, PG_INT64_MAX, s->count);
	p = Expect(p, ",", input);
	FIELD(p, "zeros=", 0, PG_INT64_MAX, s->zeros);
	p = Expect(p, ",", input);
	{
		int128		v;

		p = Expect(p, "sum=", input);
		p = Number(p, 0, ((int128) 1 << 126), &v, input);
		s->sum = v;
	}
	p = Expect(p, ",", input);
	FIELD(p, "min=", 0, PG_INT64_MAX, s->min);
	p = Expect(p, ",", input);
	FIELD(p, "max=", 0, PG_INT64_MAX, s->max);
	p = Expect(p, ",", input);
	p = Expect(p, "buckets={", input);
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '}')
	{
		for (;;)
		{
			if (s->nbuckets >= max_buckets)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid llmcost.sketch value: more buckets than the limit")));
			FIELD(p, "", 0, PG_INT32_MAX, s->buckets[s->nbuckets].index);
			p = Expect(p, ":", input);
			FIELD(p, "", 1, PG_INT64_MAX, s->buckets[s->nbuckets].count);
			s->nbuckets++;
			while (isspace((unsigned char) *p))
				p++;
			if (*p != ',')
				break;
			p++;
		}
	}
	p = Expect(p, "}", input);
	p = Expect(p, ")", input);
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		SyntaxError(input, "the end after the closing parenthesis");
	SET_VARSIZE(s, SKETCH_SIZE(s->nbuckets));
	ValidateSketch(s, ERRCODE_INVALID_TEXT_REPRESENTATION, false);
	PG_RETURN_SKETCH(s);
}

/* Text output of llmcost.sketch. */
PG_FUNCTION_INFO_V1(llmcost_sketch_out);
Datum
llmcost_sketch_out(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(alpha_ppm=%d,collapses=%d,max_buckets=%d,count=" INT64_FORMAT
					 ",zeros=" INT64_FORMAT ",sum=%s,min=" INT64_FORMAT ",max=" INT64_FORMAT ",buckets={",
					 s->alpha_ppm, s->collapses, s->max_buckets, s->count, s->zeros,
					 Int128ToText(s->sum), s->min, s->max);
	for (int i = 0; i < s->nbuckets; i++)
		appendStringInfo(&buf, "%s%d:" INT64_FORMAT, i ? "," : "",
						 s->buckets[i].index, s->buckets[i].count);
	appendStringInfoString(&buf, "})");
	PG_RETURN_CSTRING(buf.data);
}

/* Decodes the binary form; everything is checked before it is used. */
static Sketch *
SketchFromBinary(StringInfo buf)
{
	int			header = 1 + 1 + 2 + 4 + 4 + 4 + 8 + 8 + 16 + 8 + 8;
	int32		alpha_ppm,
				max_buckets,
				nbuckets;
	uint8		version,
				flags;
	uint16		collapses;
	Sketch	   *s;

	if (buf->len - buf->cursor < header)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid llmcost.sketch value: truncated")));
	version = pq_getmsgbyte(buf);
	flags = pq_getmsgbyte(buf);
	collapses = pq_getmsgint(buf, 2);
	alpha_ppm = pq_getmsgint(buf, 4);
	max_buckets = pq_getmsgint(buf, 4);
	nbuckets = pq_getmsgint(buf, 4);
	if (max_buckets < SKETCH_MIN_BUCKETS || max_buckets > SKETCH_MAX_BUCKETS ||
		nbuckets < 0 || nbuckets > max_buckets ||
		buf->len - buf->cursor != (header - 16) + nbuckets * 12)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid llmcost.sketch value: wrong length or bucket count")));
	s = NewSketch(alpha_ppm, max_buckets, nbuckets, CurrentMemoryContext);
	s->version = version;
	s->flags = flags;
	s->collapses = collapses;
	s->nbuckets = nbuckets;
	s->count = pq_getmsgint64(buf);
	s->zeros = pq_getmsgint64(buf);
	s->sum = GetInt128(buf);
	s->min = pq_getmsgint64(buf);
	s->max = pq_getmsgint64(buf);
	for (int i = 0; i < nbuckets; i++)
	{
		s->buckets[i].index = pq_getmsgint(buf, 4);
		s->buckets[i].count = pq_getmsgint64(buf);
	}
	SET_VARSIZE(s, SKETCH_SIZE(nbuckets));
	ValidateSketch(s, ERRCODE_INVALID_BINARY_REPRESENTATION, false);
	return s;
}

/* Binary input of llmcost.sketch. */
PG_FUNCTION_INFO_V1(llmcost_sketch_recv);
Datum
llmcost_sketch_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_SKETCH(SketchFromBinary((StringInfo) PG_GETARG_POINTER(0)));
}

/* sketch_from_binary(bytea): the binary form (as COPY BINARY sends it) decoded. */
PG_FUNCTION_INFO_V1(llmcost_sketch_from_binary);
Datum
llmcost_sketch_from_binary(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	StringInfoOfBytea(&buf, PG_GETARG_BYTEA_PP(0));
	PG_RETURN_SKETCH(SketchFromBinary(&buf));
}

/* Binary output of llmcost.sketch. */
PG_FUNCTION_INFO_V1(llmcost_sketch_send);
Datum
llmcost_sketch_send(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, s->version);
	pq_sendbyte(&buf, s->flags);
	pq_sendint16(&buf, s->collapses);
	pq_sendint32(&buf, s->alpha_ppm);
	pq_sendint32(&buf, s->max_buckets);
	pq_sendint32(&buf, s->nbuckets);
	pq_sendint64(&buf, s->count);
	pq_sendint64(&buf, s->zeros);
	SendInt128(&buf, s->sum);
	pq_sendint64(&buf, s->min);
	pq_sendint64(&buf, s->max);
	for (int i = 0; i < s->nbuckets; i++)
	{
		pq_sendint32(&buf, s->buckets[i].index);
		pq_sendint64(&buf, s->buckets[i].count);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*-------------------------------------------------------------------------
 * Aggregate support
 *-------------------------------------------------------------------------
 */


static int32
AlphaPpm(double alpha)
{
	if (isnan(alpha) || alpha < 1.0 / PPM || alpha >= 0.5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sketch accuracy alpha must be between 0.000001 and 0.5, not %g", alpha)));
	return (int32) rint(alpha * PPM);
}

#ifdef USE_ASSERT_CHECKING
#define AssertValidSketch(s) ValidateSketch((s), ERRCODE_INTERNAL_ERROR, true)
#else
#define AssertValidSketch(s) ((void) 0)
#endif

/* The transition: state (NULL at first), value (nano-USD), optional alpha. */
static Datum
Accumulate(FunctionCallInfo fcinfo, bool numeric_usd, const char *fn)
{
	bool		has_alpha = PG_NARGS() > 2;
	int32		alpha_ppm = SKETCH_DEFAULT_ALPHA * PPM;
	Sketch	   *s;
	int64		v;

	CheckAggregateContext(fcinfo, fn);
	if (has_alpha && !PG_ARGISNULL(2))
		alpha_ppm = AlphaPpm(PG_GETARG_FLOAT8(2));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	v = numeric_usd ? NanoUsdOfNumeric(PG_GETARG_DATUM(1)) : PG_GETARG_INT64(1);

	if (PG_ARGISNULL(0))
		s = NewSketch(alpha_ppm, SKETCH_DEFAULT_BUCKETS, 8, CurrentMemoryContext);
	else
	{
		s = (Sketch *) PG_GETARG_POINTER(0);	/* ours, in cxt */
		if (s->alpha_ppm != alpha_ppm)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the accuracy of one sketch_agg cannot change between rows")));
	}
	s = SketchAdd(s, v, CurrentMemoryContext);
	AssertValidSketch(s);
	PG_RETURN_SKETCH(s);
}

/* Transition of sketch_agg(bigint [, alpha]): nano-USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_accum_nusd);
Datum
llmcost_sketch_accum_nusd(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, false, "llmcost_sketch_accum_nusd");
}

/* Transition of sketch_agg(numeric [, alpha]): USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_accum_usd);
Datum
llmcost_sketch_accum_usd(PG_FUNCTION_ARGS)
{
	return Accumulate(fcinfo, true, "llmcost_sketch_accum_usd");
}

/* Combine function of every sketch aggregate, and transition of sketch_rollup. */
PG_FUNCTION_INFO_V1(llmcost_sketch_combine);
Datum
llmcost_sketch_combine(PG_FUNCTION_ARGS)
{
	Sketch	   *b;
	Sketch	   *m;

	CheckAggregateContext(fcinfo, "llmcost_sketch_combine");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = PG_GETARG_SKETCH(1);
	if (PG_ARGISNULL(0))
		PG_RETURN_SKETCH(Trimmed(b, CurrentMemoryContext));
	m = SketchMerge((Sketch *) PG_GETARG_POINTER(0), b, CurrentMemoryContext);
	AssertValidSketch(m);
	PG_RETURN_SKETCH(m);
}

/* Final function of every sketch aggregate: the state without spare slots. */
PG_FUNCTION_INFO_V1(llmcost_sketch_final);
Datum
llmcost_sketch_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_SKETCH(Trimmed((Sketch *) PG_GETARG_POINTER(0), CurrentMemoryContext));
}

/*-------------------------------------------------------------------------
 * Accessors (USD)
 *-------------------------------------------------------------------------
 */

/* The value of rank r (0-based) in nano-USD, clamped to [min, max]. */
static double
ValueAtRank(const Sketch *s, int64 rank)
{
	int64		seen = s->zeros;

	if (rank < seen)
		return 0;
	for (int i = 0; i < s->nbuckets; i++)
	{
		seen += s->buckets[i].count;
		if (rank < seen)
		{
			double		e = BucketEstimate(s, s->buckets[i].index);

			return Min(Max(e, (double) s->min), (double) s->max);
		}
	}
	return (double) s->max;
}

/* The quantile q in USD, at percentile_disc's rank: ceil(q n) - 1. */
static double
Quantile(const Sketch *s, double q)
{
	int64		rank;

	if (isnan(q) || q < 0 || q > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantile must be between 0 and 1, not %g", q)));
	rank = (int64) ceil(q * (double) s->count) - 1;
	rank = Max(rank, 0);
	rank = Min(rank, s->count - 1);
	return ValueAtRank(s, rank) / 1e9;
}

/* sketch_quantile(sketch, q): the q-quantile in USD; NULL when empty. */
PG_FUNCTION_INFO_V1(llmcost_sketch_quantile);
Datum
llmcost_sketch_quantile(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(Quantile(s, PG_GETARG_FLOAT8(1)));
}

/* sketch_quantiles(sketch, q[]): several quantiles at once. */
PG_FUNCTION_INFO_V1(llmcost_sketch_quantiles);
Datum
llmcost_sketch_quantiles(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);
	ArrayType  *qs = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Datum	   *out;

	if (ARR_NDIM(qs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("quantiles must be a one-dimensional array")));
	if (s->count == 0)
		PG_RETURN_NULL();
	deconstruct_array(qs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("quantiles cannot be NULL")));
		out[i] = Float8GetDatum(Quantile(s, DatumGetFloat8(elems[i])));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* sketch_rank(sketch, value): the fraction of values below value (USD). */
PG_FUNCTION_INFO_V1(llmcost_sketch_rank);
Datum
llmcost_sketch_rank(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);
	double		v = PG_GETARG_FLOAT8(1) * 1e9;
	int64		below = 0;

	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot rank NaN")));
	if (s->count == 0)
		PG_RETURN_NULL();
	if (v > 0)
		below += s->zeros;
	for (int i = 0; i < s->nbuckets; i++)
	{
		double		e = Min(Max(BucketEstimate(s, s->buckets[i].index), (double) s->min), (double) s->max);

		if (e >= v)
			break;
		below += s->buckets[i].count;
	}
	PG_RETURN_FLOAT8((double) below / (double) s->count);
}

/* sketch_count(sketch). */
PG_FUNCTION_INFO_V1(llmcost_sketch_count);
Datum
llmcost_sketch_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_SKETCH(0)->count);
}

/* sketch_sum(sketch): exact, USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_sum);
Datum
llmcost_sketch_sum(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ScaledNumeric(s->sum, 9));
}

/* sketch_min(sketch): exact, USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_min);
Datum
llmcost_sketch_min(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ScaledNumeric(s->min, 9));
}

/* sketch_max(sketch): exact, USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_max);
Datum
llmcost_sketch_max(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ScaledNumeric(s->max, 9));
}

/* sketch_mean(sketch): USD. */
PG_FUNCTION_INFO_V1(llmcost_sketch_mean);
Datum
llmcost_sketch_mean(PG_FUNCTION_ARGS)
{
	Sketch	   *s = PG_GETARG_SKETCH(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) ((long double) s->sum / s->count / 1e9L));
}

/* sketch_error(sketch): the relative error every quantile is within now. */
PG_FUNCTION_INFO_V1(llmcost_sketch_error);
Datum
llmcost_sketch_error(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(SketchError(PG_GETARG_SKETCH(0)));
}

/* sketch_buckets(sketch): how many buckets it holds. */
PG_FUNCTION_INFO_V1(llmcost_sketch_buckets);
Datum
llmcost_sketch_buckets(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SKETCH(0)->nbuckets);
}
