/*-------------------------------------------------------------------------
 *
 * llmcost.c
 *	  Module entry point of llmcost: cost observability for LLM applications.
 *
 * llmcost keeps one row per LLM call in llmcost.events and prices every
 * call itself from llmcost.rates.  This file only loads the module; the
 * parts live in files named for them:
 *	  rates.c	  the per-backend rate cache and model-name resolution
 *	  pricing.c	  validation and exact pricing of one call
 *	  money.c	  exact conversions between numeric USD and nano-USD
 *	  stats.c	  the statistics summary type and its aggregates
 *	  sketch.c	  the relative-error quantile sketch
 *	  otlp.c	  OTLP/JSON spans to events
 *	  quota.c	  admissions against per-user quotas
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "rates.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	RegisterRateCacheCallbacks();

	/* No llmcost.* setting may be defined by anyone but llmcost. */
	MarkGUCPrefixReserved("llmcost");
}
