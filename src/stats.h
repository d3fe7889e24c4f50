/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  llmcost.stats: an exact statistics summary (count, sum, sum of squares,
 *	  min, max) of money or durations, held in fixed-point integers.
 *
 * Values are integers of a unit fixed by the summary's kind:
 *	  STATS_MONEY     1e-9 USD (nano-USD, the unit of llmcost.events.cost_nusd)
 *	  STATS_DURATION  1e-3 ms  (microseconds)
 * so adding, merging and removing values are exact integer operations, and
 * the result of a rollup never depends on the order of the inputs.  Sums are
 * 128-bit; every operation that would overflow raises an error instead.
 *
 * Invariants of a valid summary (checked by every input path):
 *	  count >= 0; count == 0 implies sum == sumsq == min == max == 0;
 *	  count > 0 implies min <= max, count*min <= sum <= count*max,
 *	  sumsq >= 0 and count*sumsq >= sum^2.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_STATS_H
#define LLMCOST_STATS_H

#include "postgres.h"

#include "fmgr.h"

#define STATS_VERSION		1

#define STATS_MONEY			1
#define STATS_DURATION		2

typedef struct StatsSummary
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* STATS_VERSION */
	uint8		kind;			/* STATS_MONEY or STATS_DURATION */
	uint16		flags;			/* none yet; must be 0 */
	int32		reserved;		/* must be 0 */
	int64		count;
	int128		sum;
	int128		sumsq;
	int64		min;
	int64		max;
} StatsSummary;

#define DatumGetStatsSummary(x)		((StatsSummary *) PG_DETOAST_DATUM(x))
#define PG_GETARG_STATS(x)			DatumGetStatsSummary(PG_GETARG_DATUM(x))
#define PG_RETURN_STATS(x)			PG_RETURN_POINTER(x)

#endif							/* LLMCOST_STATS_H */
