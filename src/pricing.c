/*-------------------------------------------------------------------------
 *
 * pricing.c
 *	  Validation and exact pricing of one LLM call.
 *
 * llmcost.events computes its cost_nusd and rate_id columns as STORED
 * generated columns that call llmcost_event_cost_nusd() and
 * llmcost_event_rate_id().  Generated columns, unlike a BEFORE ROW trigger,
 * leave COPY's multi-row batching on; the price lookup is a hash probe in
 * the per-backend cache of rates.c.  The same functions validate the row,
 * so an impossible row is refused with an error that names the column and
 * the value before anything is written.
 *
 * PostgreSQL requires the functions of a generated column to be declared
 * IMMUTABLE.  Ours are immutable for a given content of llmcost.rates: a
 * stored cost changes only when a row is written or when
 * llmcost.reprice() rewrites it on purpose, which is exactly the "a price
 * change never rewrites the past by accident" rule.  They must therefore
 * never be used where PostgreSQL could fold or index them across rate
 * changes; llmcost itself calls them only from the generated columns,
 * reprice() and the explanation function llmcost.price().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "money.h"
#include "pricing.h"

#ifndef HAVE_INT128
#error "llmcost needs a compiler with 128-bit integers for exact money"
#endif

#define MICRO_TOKENS		INT64CONST(1000000)	/* prices are per million */
#define BASIS_POINTS		10000

/* Raise the error every refused event column gets. */
static void
RefuseColumn(int sqlstate, const char *column, const char *msg, const char *value,
			 const char *detail)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid value for column \"%s\" of llmcost.events: %s", column, value),
			 errdetail("%s", msg),
			 detail ? errhint("%s", detail) : 0,
			 err_generic_string(PG_DIAG_SCHEMA_NAME, "llmcost"),
			 err_generic_string(PG_DIAG_TABLE_NAME, "events"),
			 err_generic_string(PG_DIAG_COLUMN_NAME, column)));
}

static inline void
CheckNonNegative(int32 v, const char *column)
{
	if (unlikely(v < 0))
		RefuseColumn(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, column,
					 "token counts cannot be negative",
					 psprintf("%d", v), NULL);
}

void
CheckEventTokens(const EventTokens *t)
{
	CheckNonNegative(t->input, "input_tokens");
	CheckNonNegative(t->cached_read, "cached_read_tokens");
	CheckNonNegative(t->cache_write, "cache_write_tokens");
	CheckNonNegative(t->output, "output_tokens");
	CheckNonNegative(t->reasoning, "reasoning_tokens");

	if (unlikely((int64) t->cached_read + t->cache_write > t->input))
		RefuseColumn(ERRCODE_CHECK_VIOLATION, "cached_read_tokens",
					 psprintf("cached_read_tokens (%d) plus cache_write_tokens (%d) exceed input_tokens (%d)",
							  t->cached_read, t->cache_write, t->input),
					 psprintf("%d", t->cached_read),
					 "input_tokens counts every prompt token, cached ones included; "
					 "convert Anthropic-style counts with llmcost.inclusive_input_tokens()");
	if (unlikely(t->reasoning > t->output))
		RefuseColumn(ERRCODE_CHECK_VIOLATION, "reasoning_tokens",
					 psprintf("reasoning_tokens (%d) exceed output_tokens (%d)",
							  t->reasoning, t->output),
					 psprintf("%d", t->reasoning),
					 "output_tokens counts every output token, reasoning included");
}

static inline void
CheckLatency(float8 ms)
{
	if (unlikely(isnan(ms) || isinf(ms) || ms < 0))
		RefuseColumn(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "latency_ms",
					 "latency must be a finite number of milliseconds, zero or more",
					 psprintf("%g", ms), NULL);
}

/* The application-cache status of a call; a hit made no provider call. */
typedef enum CacheStatus
{
	CACHE_MISS,
	CACHE_EXACT_HIT,
	CACHE_SEMANTIC_HIT
} CacheStatus;

static inline CacheStatus
ParseCacheStatus(const text *t)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 4 && memcmp(s, "miss", 4) == 0)
		return CACHE_MISS;
	if (len == 9 && memcmp(s, "exact_hit", 9) == 0)
		return CACHE_EXACT_HIT;
	if (len == 12 && memcmp(s, "semantic_hit", 12) == 0)
		return CACHE_SEMANTIC_HIT;
	RefuseColumn(ERRCODE_INVALID_TEXT_REPRESENTATION, "cache_status",
				 "cache_status must be one of miss, exact_hit, semantic_hit",
				 text_to_cstring(t), NULL);
	return CACHE_MISS;			/* keep the compiler quiet */
}

static inline void
CheckFeature(const text *t)
{
	if (unlikely(VARSIZE_ANY_EXHDR(t) == 0))
		RefuseColumn(ERRCODE_ZERO_LENGTH_CHARACTER_STRING, "feature",
					 "every event names the feature that made the call",
					 "''", NULL);
}

int64
CostOfTokens(const RateVersion *rate, const EventTokens *t, bool batch)
{
	const TierPrices *p;
	int128		n;
	int128		denom = MICRO_TOKENS;
	int128		cost;

	/* Above the threshold the whole request is billed at the long tier. */
	p = (rate->long_context_threshold >= 0 && t->input > rate->long_context_threshold)
		? &rate->long_context : &rate->base;

	/*
	 * Each token is priced once: the uncached part of the input, the cached
	 * reads and the cache writes are disjoint parts of input_tokens, and
	 * reasoning is a disjoint part of output_tokens.
	 */
	n = (int128) (t->input - t->cached_read - t->cache_write) * p->input
		+ (int128) t->cached_read * p->cached_read
		+ (int128) t->cache_write * p->cache_write
		+ (int128) (t->output - t->reasoning) * p->output
		+ (int128) t->reasoning * p->reasoning;

	if (batch && rate->batch_discount_bp > 0)
	{
		n *= BASIS_POINTS - rate->batch_discount_bp;
		denom *= BASIS_POINTS;
	}

	cost = (n + denom / 2) / denom;		/* n >= 0: round half up */
	if (unlikely(cost > PG_INT64_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cost of one event exceeds the range of llmcost money"),
				 errdetail("An event may cost at most 9,223,372,036 USD.")));
	return (int64) cost;
}

/* A text argument as a (pointer, length) pair, without detoasting copies. */
#define TEXT_ARG(n, ptr, len) \
	do { text *t_ = PG_GETARG_TEXT_PP(n); (ptr) = VARDATA_ANY(t_); (len) = VARSIZE_ANY_EXHDR(t_); } while (0)

static inline void
GetTokens(FunctionCallInfo fcinfo, int first, EventTokens *t)
{
	t->input = PG_GETARG_INT32(first);
	t->cached_read = PG_GETARG_INT32(first + 1);
	t->cache_write = PG_GETARG_INT32(first + 2);
	t->output = PG_GETARG_INT32(first + 3);
	t->reasoning = PG_GETARG_INT32(first + 4);
}

/*
 * The rate valid at the timestamptz argument time_arg for the (provider,
 * model) text arguments, or NULL.  A NULL provider counts as none.
 */
static const RateVersion *
RateOfArgs(FunctionCallInfo fcinfo, int time_arg, int provider_arg, int model_arg)
{
	const char *provider = "";
	const char *model;
	int			provider_len = 0;
	int			model_len;
	ModelRates *rates;

	if (!PG_ARGISNULL(provider_arg))
		TEXT_ARG(provider_arg, provider, provider_len);
	TEXT_ARG(model_arg, model, model_len);
	rates = LookupModelRates(provider, provider_len, model, model_len);
	return rates ? RateAt(rates, PG_GETARG_TIMESTAMPTZ(time_arg)) : NULL;
}

static inline bool
AllZero(const EventTokens *t)
{
	return (t->input | t->output) == 0;
}

/*
 * cost_nusd of llmcost.events: validates the row, then prices it.
 * Arguments: event_time, provider, model, input, cached_read, cache_write,
 * output, reasoning, latency_ms, cache_status, batch, feature.
 * NULL means unpriced: no rate covers the model at the event's time.
 */
PG_FUNCTION_INFO_V1(llmcost_event_cost_nusd);
Datum
llmcost_event_cost_nusd(PG_FUNCTION_ARGS)
{
	EventTokens tokens;
	const RateVersion *rate;

	/* A NULL in a required column: its NOT NULL constraint will name it. */
	for (int i = 0; i < 12; i++)
		if (i != 8 && PG_ARGISNULL(i))
			PG_RETURN_NULL();

	GetTokens(fcinfo, 3, &tokens);
	CheckEventTokens(&tokens);
	if (!PG_ARGISNULL(8))
		CheckLatency(PG_GETARG_FLOAT8(8));
	CheckFeature(PG_GETARG_TEXT_PP(11));

	/* An application-cache hit made no provider call: it cost nothing. */
	if (ParseCacheStatus(PG_GETARG_TEXT_PP(9)) != CACHE_MISS)
		PG_RETURN_INT64(0);

	rate = RateOfArgs(fcinfo, 0, 1, 2);
	if (rate == NULL)
	{
		/* Nothing billed needs no rate; anything else waits for one. */
		if (AllZero(&tokens))
			PG_RETURN_INT64(0);
		PG_RETURN_NULL();
	}
	PG_RETURN_INT64(CostOfTokens(rate, &tokens, PG_GETARG_BOOL(10)));
}

/* rate_id of llmcost.events: the rate valid at event_time, or NULL. */
PG_FUNCTION_INFO_V1(llmcost_event_rate_id);
Datum
llmcost_event_rate_id(PG_FUNCTION_ARGS)
{
	const RateVersion *rate = RateOfArgs(fcinfo, 0, 1, 2);

	if (rate == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT32(rate->rate_id);
}

/*
 * llmcost.price(provider, model, at, input, output, cached_read,
 * cache_write, reasoning, batch): what one call would cost, in USD, or
 * NULL when no rate covers the model at that time.  For exploring rates.
 */
PG_FUNCTION_INFO_V1(llmcost_price);
Datum
llmcost_price(PG_FUNCTION_ARGS)
{
	EventTokens tokens;
	const RateVersion *rate;

	/* Non-strict only so that the provider may be NULL. */
	for (int i = 1; i < 9; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();

	tokens.input = PG_GETARG_INT32(3);
	tokens.output = PG_GETARG_INT32(4);
	tokens.cached_read = PG_GETARG_INT32(5);
	tokens.cache_write = PG_GETARG_INT32(6);
	tokens.reasoning = PG_GETARG_INT32(7);
	CheckEventTokens(&tokens);

	rate = RateOfArgs(fcinfo, 2, 0, 1);
	if (rate == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(ScaledNumeric(CostOfTokens(rate, &tokens, PG_GETARG_BOOL(8)), 9));
}

/* llmcost.resolve_model(provider, model): the rates name it is priced as. */
PG_FUNCTION_INFO_V1(llmcost_resolve_model);
Datum
llmcost_resolve_model(PG_FUNCTION_ARGS)
{
	const char *provider = "";
	const char *model;
	int			provider_len = 0;
	int			model_len;
	const char *name;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(0))
		TEXT_ARG(0, provider, provider_len);
	TEXT_ARG(1, model, model_len);
	name = ResolvedModelName(provider, provider_len, model, model_len);
	if (name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}
