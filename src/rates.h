/*-------------------------------------------------------------------------
 *
 * rates.h
 *	  The per-backend rate cache: what one published price looks like once
 *	  it has been read from llmcost.rates, and how a model name is looked up.
 *
 * Prices are held as int64 nano-USD per million tokens (1e-15 USD per
 * token), so that a cost is an exact integer product that is rounded once.
 * Every NULL of llmcost.rates (no separate cached-read price, no long
 * context tier, ...) is resolved to a concrete price when the cache is
 * built, so the per-row path has no NULL handling at all.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_RATES_H
#define LLMCOST_RATES_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* Prices of one tier, nano-USD per million tokens. */
typedef struct TierPrices
{
	int64		input;			/* uncached input */
	int64		cached_read;	/* input read from the provider's cache */
	int64		cache_write;	/* input written to the provider's cache */
	int64		output;			/* output other than reasoning */
	int64		reasoning;		/* reasoning output */
} TierPrices;

/* One row of llmcost.rates, valid over [valid_from, valid_until). */
typedef struct RateVersion
{
	int32		rate_id;
	TimestampTz valid_from;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	int32		batch_discount_bp;	/* batch discount, basis points */
	int32		long_context_threshold; /* -1: no long-context tier */
	TierPrices	base;
	TierPrices	long_context;	/* used when input_tokens > threshold */
} RateVersion;

/*
 * All rates of one model name, split by origin: the operator's own rows win
 * over the shipped default card wherever both cover a time.  Each array is
 * sorted by valid_from and has no overlaps (the exclusion constraint).
 */
typedef struct ModelRates
{
	int			n_user;
	int			n_default;
	RateVersion *user;
	RateVersion *defaults;
} ModelRates;

/* Resolves a (provider, model) pair as reported by an event; NULL if none. */
extern ModelRates *LookupModelRates(const char *provider, int provider_len,
									const char *model, int model_len);

/* The rate among a model's versions that is valid at ts; NULL if none. */
extern const RateVersion *RateAt(const ModelRates *rates, TimestampTz ts);

/* The rates name a (provider, model) pair resolves to, for explanation. */
extern const char *ResolvedModelName(const char *provider, int provider_len,
									 const char *model, int model_len);

/* Called once from _PG_init. */
extern void RegisterRateCacheCallbacks(void);

#endif							/* LLMCOST_RATES_H */
