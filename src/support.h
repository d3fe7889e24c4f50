/*-------------------------------------------------------------------------
 *
 * support.h
 *	  Small helpers shared by llmcost's types and aggregates: reading a
 *	  type's binary form from a bytea, 128-bit integers on the wire, and the
 *	  check that lets a transition function modify its state in place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_SUPPORT_H
#define LLMCOST_SUPPORT_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"

/* A read-only StringInfo over the bytes of a bytea, as a receive function gets. */
static inline void
StringInfoOfBytea(StringInfo buf, bytea *b)
{
	buf->data = VARDATA_ANY(b);
	buf->len = VARSIZE_ANY_EXHDR(b);
	buf->maxlen = buf->len;
	buf->cursor = 0;
}

static inline void
SendInt128(StringInfo buf, int128 v)
{
	pq_sendint64(buf, (int64) (v >> 64));
	pq_sendint64(buf, (int64) (uint64) v);
}

static inline int128
GetInt128(StringInfo buf)
{
	uint128		hi = (uint64) pq_getmsgint64(buf);
	uint128		lo = (uint64) pq_getmsgint64(buf);

	return (int128) ((hi << 64) | lo);
}

/*
 * Transition and combine functions may modify their state only in an
 * aggregate; returns AGG_CONTEXT_AGGREGATE or AGG_CONTEXT_WINDOW.
 */
static inline int
CheckAggregateContext(FunctionCallInfo fcinfo, const char *fn)
{
	int			context = AggCheckCallContext(fcinfo, NULL);

	/* reachable by calling the support function directly from SQL */
	if (!context)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of an aggregate", fn)));
	return context;
}

#endif							/* LLMCOST_SUPPORT_H */
