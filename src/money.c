/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Exact conversions of money between numeric USD and integer nano-USD,
 *	  shared by pricing, statistics summaries and sketches.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "money.h"

/* Decimal text of an int128. */
char *
Int128ToText(int128 v)
{
	char		buf[48];
	char	   *p = buf + sizeof(buf) - 1;
	uint128		u = v < 0 ? -(uint128) v : (uint128) v;

	*p = '\0';
	do
	{
		*--p = '0' + (int) (u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	return pstrdup(p);
}

/*
 * An integer of units 10^-decimals as an exact numeric: "1234" with 3
 * decimals is 1.234.
 */
Datum
ScaledNumeric(int128 v, int decimals)
{
	char	   *digits = Int128ToText(v);
	bool		negative = digits[0] == '-';
	char	   *mag = digits + (negative ? 1 : 0);
	int			len = strlen(mag);
	StringInfoData buf;

	initStringInfo(&buf);
	if (negative)
		appendStringInfoChar(&buf, '-');
	if (len <= decimals)
	{
		appendStringInfoString(&buf, "0.");
		for (int i = len; i < decimals; i++)
			appendStringInfoChar(&buf, '0');
		appendStringInfoString(&buf, mag);
	}
	else
	{
		appendBinaryStringInfo(&buf, mag, len - decimals);
		if (decimals > 0)
		{
			appendStringInfoChar(&buf, '.');
			appendStringInfoString(&buf, mag + len - decimals);
		}
	}
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf.data),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/*
 * Decoding numeric without arithmetic.  sum(numeric) is the baseline a
 * summary of USD values is measured against, and numeric multiplication
 * per value would be several times slower than it.  The on-disk layout of
 * numeric (src/backend/utils/adt/numeric.c) is stable, since pg_upgrade
 * keeps numeric data as it is: a 16-bit header, in the long form a 16-bit
 * weight, then base-10000 digits, most significant first.
 */
#define NUM_SIGN_MASK			0xC000
#define NUM_NEG					0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_SHORT_SIGN_MASK		0x2000
#define NUM_SHORT_WEIGHT_SIGN	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_BASE				10000

static void
MoneyOutOfRange(Datum usd)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("money value %s USD is out of range",
					DatumGetCString(DirectFunctionCall1(numeric_out, usd))),
			 errdetail("A summarized value must lie within +/-9,223,372,036.854775807 USD.")));
}

/*
 * USD as numeric to nano-USD: exact for values with at most 9 decimals,
 * others rounded half away from zero (as numeric's own rounding does).
 */
int64
NanoUsdOfNumeric(Datum usd)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(usd);	/* no copy for short headers */
	const char *p = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			weight;
	bool		negative;
	int			ndigits;
	int128		acc = 0;

	memcpy(&header, p, sizeof(uint16));
	if ((header & NUM_SIGN_MASK) == NUM_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("money value %s is not a number of USD",
						DatumGetCString(DirectFunctionCall1(numeric_out, usd)))));
	if ((header & NUM_SIGN_MASK) == NUM_SHORT)
	{
		negative = (header & NUM_SHORT_SIGN_MASK) != 0;
		weight = (header & NUM_SHORT_WEIGHT_MASK);
		if (header & NUM_SHORT_WEIGHT_SIGN)
			weight |= ~NUM_SHORT_WEIGHT_MASK;
		p += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else
	{
		int16		w;

		negative = (header & NUM_SIGN_MASK) == NUM_NEG;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		p += 2 * sizeof(uint16);
		len -= 2 * sizeof(uint16);
	}
	ndigits = len / (int) sizeof(int16);

	/* digit i is worth digit * 10000^(weight - i) USD = digit * 10^(4(weight - i) + 9) nano-USD */
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;
		int			e = weight - i;

		memcpy(&d, p + i * sizeof(int16), sizeof(int16));
		if (d == 0)
			continue;
		if (e > 2)
			MoneyOutOfRange(usd);		/* >= 1e12 USD */
		switch (e)
		{
			case 2:
				acc += (int128) d * INT64CONST(100000000000000000);
				break;
			case 1:
				acc += (int128) d * INT64CONST(10000000000000);
				break;
			case 0:
				acc += (int128) d * INT64CONST(1000000000);
				break;
			case -1:
				acc += (int128) d * 100000;
				break;
			case -2:
				acc += (int128) d * 10;
				break;
			case -3:
				/* decimals 9 to 12: the 9th is whole nano-USD, the rest decide rounding */
				acc += d / 1000;
				if (d % 1000 >= 500)
					acc += 1;
				break;
			default:
				break;			/* below 1e-12 USD: cannot reach half a nano-USD */
		}
		if (e <= -3)
			break;
	}
	if (acc > (negative ? -(int128) PG_INT64_MIN : (int128) PG_INT64_MAX))
		MoneyOutOfRange(usd);
	return (int64) (negative ? -acc : acc);
}
