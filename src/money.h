/*-------------------------------------------------------------------------
 *
 * money.h
 *	  Money in llmcost is int64 nano-USD (1e-9 USD); sums are int128.  These
 *	  convert it exactly from and to numeric USD.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_MONEY_H
#define LLMCOST_MONEY_H

#include "postgres.h"

#include "fmgr.h"

/* Decimal text of an int128, palloc'd. */
extern char *Int128ToText(int128 v);

/* v units of 10^-decimals as an exact numeric Datum. */
extern Datum ScaledNumeric(int128 v, int decimals);

/*
 * numeric USD to nano-USD: exact up to 9 decimals, further decimals rounded
 * half away from zero; NaN, infinities and values beyond int64 are errors.
 */
extern int64 NanoUsdOfNumeric(Datum usd);

#endif							/* LLMCOST_MONEY_H */
