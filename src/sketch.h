/*-------------------------------------------------------------------------
 *
 * sketch.h
 *	  llmcost.sketch: a relative-error quantile sketch of money (DDSketch
 *	  with UDDSketch's uniform collapse).
 *
 * Values are nano-USD integers >= 0.  Zero has an exact bucket of its own.
 * A value v >= 1 falls in bucket i0 = ceil(ln v / ln g0), g0 = (1+a)/(1-a)
 * for the initial relative accuracy a; after L uniform collapses the bucket
 * is ceil(i0 / 2^L), with g = g0^(2^L).  Bucket indexes are computed at
 * level 0 and collapsed with integer arithmetic, so a sketch's buckets are a
 * pure function of its values: merging is exact and order-independent, and
 * the collapse level is always the smallest at which the buckets fit in
 * max_buckets.  Every estimate of a quantile is within the relative error
 * a_L = (g - 1) / (g + 1) of the true value (the same rank as percentile_disc).
 *
 * Layout: this header, then nbuckets SketchBucket sorted by index, strictly
 * increasing.  Invariants (checked by every input path): see ValidateSketch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_SKETCH_H
#define LLMCOST_SKETCH_H

#include "postgres.h"

#include "fmgr.h"

#define SKETCH_VERSION			1
#define SKETCH_DEFAULT_ALPHA	0.01
#define SKETCH_DEFAULT_BUCKETS	2048
#define SKETCH_MIN_BUCKETS		16
#define SKETCH_MAX_BUCKETS		65536
#define SKETCH_MAX_COLLAPSES	48
#define PPM						1000000

typedef struct SketchBucket
{
	int64		count;			/* > 0 */
	int32		index;			/* bucket index at the sketch's collapse level */
	int32		reserved;		/* 0 */
} SketchBucket;

typedef struct Sketch
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* SKETCH_VERSION */
	uint8		flags;			/* none yet: 0 */
	uint16		collapses;		/* uniform collapses so far */
	int32		alpha_ppm;		/* initial relative accuracy, parts per million */
	int32		max_buckets;	/* size bound */
	int32		nbuckets;
	int64		count;			/* all values, zeros included */
	int64		zeros;			/* values equal to 0 */
	int128		sum;			/* exact, nano-USD */
	int64		min;			/* nano-USD; 0 when empty */
	int64		max;
	SketchBucket buckets[FLEXIBLE_ARRAY_MEMBER];
} Sketch;

#define SKETCH_SIZE(n)			(offsetof(Sketch, buckets) + sizeof(SketchBucket) * (n))
#define DatumGetSketch(x)		((Sketch *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SKETCH(x)		DatumGetSketch(PG_GETARG_DATUM(x))
#define PG_RETURN_SKETCH(x)		PG_RETURN_POINTER(x)

#endif							/* LLMCOST_SKETCH_H */
