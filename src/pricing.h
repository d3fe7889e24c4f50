/*-------------------------------------------------------------------------
 *
 * pricing.h
 *	  Token counts of one LLM call and the exact cost of them under a rate.
 *
 * Money is int64 nano-USD (1e-9 USD).  A cost is computed as an exact
 * integer in 1e-15 USD (tokens x nano-USD per million tokens) and rounded
 * once, half up, to nano-USD; sums of costs are then exact.
 *
 * Token counts follow the inclusive convention of OpenTelemetry and OpenAI:
 * input_tokens includes cached reads and cache writes, output_tokens
 * includes reasoning tokens.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_PRICING_H
#define LLMCOST_PRICING_H

#include "rates.h"

typedef struct EventTokens
{
	int32		input;			/* all prompt tokens, cached ones included */
	int32		cached_read;	/* part of input read from the cache */
	int32		cache_write;	/* part of input written to the cache */
	int32		output;			/* all output tokens, reasoning included */
	int32		reasoning;		/* part of output spent on reasoning */
} EventTokens;

/* Exact cost in nano-USD of the tokens under rate; ereports on overflow. */
extern int64 CostOfTokens(const RateVersion *rate, const EventTokens *tokens,
						  bool batch);

/* Refuses impossible token counts with an error naming the column. */
extern void CheckEventTokens(const EventTokens *tokens);

#endif							/* LLMCOST_PRICING_H */
