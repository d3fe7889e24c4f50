/*-------------------------------------------------------------------------
 *
 * rates.c
 *	  The per-backend cache of llmcost.rates and llmcost.model_aliases, and
 *	  the resolution of the model names events report to priced models.
 *
 * Pricing runs inside COPY and INSERT, once per row, so it must not touch
 * SPI or the catalogs per row.  This file reads both tables once into
 * backend-local hash tables and answers from memory until they change.
 *
 * Invalidation: a statement-level trigger on both tables calls
 * llmcost_rates_changed(), which queues a relcache invalidation for the
 * table.  Every backend receives it (at its commit for other sessions, at
 * the next command for the changing session) through the relcache callback
 * registered here, which marks the cache stale.  Because a backend that
 * already holds its locks would not read the invalidation queue for a
 * while, the first lookup of every statement calls
 * AcceptInvalidationMessages() itself: a committed change is seen by every
 * session's next statement.
 *
 * Name resolution (documented in the README, "Model name matching"):
 * the reported name is lower-cased, then these names are tried in order,
 * each first as "<provider>/<name>", then as itself, then through
 * llmcost.model_aliases:
 *	  1. the name as reported;
 *	  2. without a routing prefix ("openai/gpt-4o" -> "gpt-4o");
 *	  3. without a vendor prefix ("us.anthropic.claude-x" -> "claude-x");
 *	  4. without a deployment version ("claude-x-v2:0" -> "claude-x");
 *	  5. without a dated snapshot ("gpt-4o-2024-08-06" -> "gpt-4o").
 * So a snapshot with a rate of its own is priced by it, and falls back to
 * its base model only when it has none.  Each distinct reported pair is
 * resolved once per cache generation and memoized.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "rates.h"

/* Longest model name llmcost.rates accepts (its CHECK says the same). */
#define MODEL_KEY_LEN		128
/* Longest "<provider>\x1f<model>" pair that is memoized. */
#define PAIR_KEY_LEN		256

typedef struct ModelEntry
{
	char		name[MODEL_KEY_LEN];	/* hash key */
	ModelRates	rates;
} ModelEntry;

typedef struct AliasEntry
{
	char		alias[MODEL_KEY_LEN];	/* hash key */
	char		model[MODEL_KEY_LEN];
} AliasEntry;

typedef struct PairEntry
{
	char		pair[PAIR_KEY_LEN];		/* hash key */
	ModelEntry *model;			/* NULL: no rate for this name */
} PairEntry;

/* All state lives in RateCacheContext and is rebuilt as one. */
static MemoryContext RateCacheContext = NULL;
static HTAB *ModelHash = NULL;
static HTAB *AliasHash = NULL;
static HTAB *PairHash = NULL;
static bool RateCacheValid = false;
static Oid	RatesRelid = InvalidOid;
static Oid	AliasesRelid = InvalidOid;

/* The last pair looked up: the cost and rate_id columns ask for the same. */
static char LastPair[PAIR_KEY_LEN];
static int	LastPairLen = -1;
static ModelEntry *LastModel = NULL;

/* When invalidations were last accepted: once per statement. */
static TimestampTz LastStatementStart = 0;
static LocalTransactionId LastLxid = InvalidLocalTransactionId;

static void
RateCacheInvalCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == RatesRelid || relid == AliasesRelid)
		RateCacheValid = false;
}

void
RegisterRateCacheCallbacks(void)
{
	CacheRegisterRelcacheCallback(RateCacheInvalCallback, (Datum) 0);
}

/* Sort RateVersions by the start of their validity. */
static int
CompareValidFrom(const void *a, const void *b)
{
	TimestampTz ta = ((const RateVersion *) a)->valid_from;
	TimestampTz tb = ((const RateVersion *) b)->valid_from;

	return (ta > tb) - (ta < tb);
}

static int64
GetInt64(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		elog(ERROR, "llmcost: unexpected NULL in column %d of the rates query", col);
	return DatumGetInt64(d);
}

static void
FillTier(TierPrices *tier, HeapTuple tup, TupleDesc desc, int first_col)
{
	tier->input = GetInt64(tup, desc, first_col);
	tier->cached_read = GetInt64(tup, desc, first_col + 1);
	tier->cache_write = GetInt64(tup, desc, first_col + 2);
	tier->output = GetInt64(tup, desc, first_col + 3);
	tier->reasoning = GetInt64(tup, desc, first_col + 4);
}

/*
 * The query that reads llmcost.rates.  Names and operators are qualified so
 * that no search_path can substitute its own; COALESCE resolves every
 * optional price here, once, instead of per row.
 */
#define NANO(expr) "((" expr ") OPERATOR(pg_catalog.*) 1000000000)::pg_catalog.int8"
static const char *RatesQuery =
"SELECT r.rate_id, r.model, r.valid_from, r.valid_until, r.is_default, "
"       ((r.batch_discount OPERATOR(pg_catalog.*) 10000))::pg_catalog.int4, "
"       COALESCE(r.long_context_threshold, -1), "
"       " NANO("r.input_per_mtok") ", "
"       " NANO("COALESCE(r.cached_read_per_mtok, r.input_per_mtok)") ", "
"       " NANO("COALESCE(r.cache_write_per_mtok, r.input_per_mtok)") ", "
"       " NANO("r.output_per_mtok") ", "
"       " NANO("COALESCE(r.reasoning_per_mtok, r.output_per_mtok)") ", "
"       " NANO("COALESCE(r.long_input_per_mtok, r.input_per_mtok)") ", "
"       " NANO("COALESCE(r.long_cached_read_per_mtok, r.cached_read_per_mtok, r.long_input_per_mtok, r.input_per_mtok)") ", "
"       " NANO("COALESCE(r.long_cache_write_per_mtok, r.cache_write_per_mtok, r.long_input_per_mtok, r.input_per_mtok)") ", "
"       " NANO("COALESCE(r.long_output_per_mtok, r.output_per_mtok)") ", "
"       " NANO("COALESCE(r.reasoning_per_mtok, r.long_output_per_mtok, r.output_per_mtok)") " "
"  FROM llmcost.rates r";

static void
LoadRates(void)
{
	TupleDesc	desc;
	HASHCTL		ctl;
	uint64		i;

	if (SPI_execute(RatesQuery, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "llmcost: could not read llmcost.rates");
	desc = SPI_tuptable->tupdesc;

	ctl.keysize = MODEL_KEY_LEN;
	ctl.entrysize = sizeof(ModelEntry);
	ctl.hcxt = RateCacheContext;
	ModelHash = hash_create("llmcost rates", 256, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	/* First pass: count versions per model and origin. */
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		char	   *name = SPI_getvalue(tup, desc, 2);
		bool		is_default = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		ModelEntry *e;
		bool		found;

		if (strlen(name) >= MODEL_KEY_LEN)
			continue;			/* the table's CHECK forbids it */
		e = hash_search(ModelHash, name, HASH_ENTER, &found);
		if (!found)
			memset(&e->rates, 0, sizeof(ModelRates));
		if (is_default)
			e->rates.n_default++;
		else
			e->rates.n_user++;
	}

	/* Allocate the arrays, then fill them in a second pass. */
	{
		HASH_SEQ_STATUS seq;
		ModelEntry *e;

		hash_seq_init(&seq, ModelHash);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			e->rates.user = MemoryContextAllocZero(RateCacheContext,
												   sizeof(RateVersion) * (e->rates.n_user + 1));
			e->rates.defaults = MemoryContextAllocZero(RateCacheContext,
													   sizeof(RateVersion) * (e->rates.n_default + 1));
			e->rates.n_user = 0;
			e->rates.n_default = 0;
		}
	}

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		char	   *name = SPI_getvalue(tup, desc, 2);
		ModelEntry *e;
		RateVersion *v;
		Datum		until;

		if (strlen(name) >= MODEL_KEY_LEN)
			continue;
		e = hash_search(ModelHash, name, HASH_FIND, NULL);
		if (DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
			v = &e->rates.defaults[e->rates.n_default++];
		else
			v = &e->rates.user[e->rates.n_user++];

		v->rate_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		v->valid_from = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		until = SPI_getbinval(tup, desc, 4, &isnull);
		v->valid_until = isnull ? DT_NOEND : DatumGetTimestampTz(until);
		v->batch_discount_bp = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		v->long_context_threshold = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		FillTier(&v->base, tup, desc, 8);
		FillTier(&v->long_context, tup, desc, 13);
	}

	{
		HASH_SEQ_STATUS seq;
		ModelEntry *e;

		hash_seq_init(&seq, ModelHash);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			qsort(e->rates.user, e->rates.n_user, sizeof(RateVersion), CompareValidFrom);
			qsort(e->rates.defaults, e->rates.n_default, sizeof(RateVersion), CompareValidFrom);
		}
	}
}

static void
LoadAliases(void)
{
	HASHCTL		ctl;
	uint64		i;

	if (SPI_execute("SELECT a.alias, a.model FROM llmcost.model_aliases a",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "llmcost: could not read llmcost.model_aliases");

	ctl.keysize = MODEL_KEY_LEN;
	ctl.entrysize = sizeof(AliasEntry);
	ctl.hcxt = RateCacheContext;
	AliasHash = hash_create("llmcost aliases", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *alias = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *model = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		AliasEntry *e;

		if (strlen(alias) >= MODEL_KEY_LEN || strlen(model) >= MODEL_KEY_LEN)
			continue;			/* the table's CHECKs forbid it */
		e = hash_search(AliasHash, alias, HASH_ENTER, NULL);
		strlcpy(e->model, model, MODEL_KEY_LEN);
	}
}

/*
 * Rebuild the whole cache.  It is built in a fresh context and swapped in
 * only when complete, so an error halfway leaves the cache marked stale
 * rather than half-filled.
 */
static void
RebuildRateCache(void)
{
	MemoryContext newcxt;
	MemoryContext oldcxt;
	Oid			nsp;
	HASHCTL		ctl;

	newcxt = AllocSetContextCreate(CacheMemoryContext, "llmcost rate cache",
								   ALLOCSET_SMALL_SIZES);
	if (RateCacheContext)
		MemoryContextDelete(RateCacheContext);
	RateCacheContext = newcxt;
	ModelHash = AliasHash = PairHash = NULL;
	LastPairLen = -1;
	LastModel = NULL;

	nsp = get_namespace_oid("llmcost", false);
	RatesRelid = get_relname_relid("rates", nsp);
	AliasesRelid = get_relname_relid("model_aliases", nsp);
	if (!OidIsValid(RatesRelid) || !OidIsValid(AliasesRelid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("llmcost cannot price events: table llmcost.rates or llmcost.model_aliases is missing"),
				 errhint("Reinstall the extension: DROP EXTENSION llmcost CASCADE; CREATE EXTENSION llmcost.")));

	/* Mark valid before reading: an invalidation during the read wins. */
	RateCacheValid = true;

	oldcxt = MemoryContextSwitchTo(RateCacheContext);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "llmcost: SPI_connect failed");
	PG_TRY();
	{
		LoadRates();
		LoadAliases();
	}
	PG_CATCH();
	{
		RateCacheValid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();
	MemoryContextSwitchTo(oldcxt);

	ctl.keysize = PAIR_KEY_LEN;
	ctl.entrysize = sizeof(PairEntry);
	ctl.hcxt = RateCacheContext;
	PairHash = hash_create("llmcost model names", 256, &ctl,
						   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* Make sure the cache reflects every committed change, once per statement. */
static void
EnsureRateCache(void)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();

	if (stmt != LastStatementStart || MyProc->lxid != LastLxid)
	{
		AcceptInvalidationMessages();
		LastStatementStart = stmt;
		LastLxid = MyProc->lxid;
	}
	if (!RateCacheValid)
		RebuildRateCache();
}

static ModelEntry *
FindModel(const char *name, int len)
{
	char		key[MODEL_KEY_LEN];

	if (len <= 0 || len >= MODEL_KEY_LEN)
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	return hash_search(ModelHash, key, HASH_FIND, NULL);
}

/* A name tried "<provider>/<name>", then alone, then through an alias. */
static ModelEntry *
TryName(const char *provider, int provider_len, const char *name, int len)
{
	ModelEntry *e;
	AliasEntry *a;
	char		key[MODEL_KEY_LEN];

	if (provider_len > 0 && provider_len + 1 + len < MODEL_KEY_LEN)
	{
		memcpy(key, provider, provider_len);
		key[provider_len] = '/';
		memcpy(key + provider_len + 1, name, len);
		if ((e = FindModel(key, provider_len + 1 + len)) != NULL)
			return e;
	}
	if ((e = FindModel(name, len)) != NULL)
		return e;
	if (len <= 0 || len >= MODEL_KEY_LEN)
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	a = hash_search(AliasHash, key, HASH_FIND, NULL);
	if (a)
		return FindModel(a->model, strlen(a->model));
	return NULL;
}

static bool
AllDigits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return true;
}

static int
TwoDigits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool
PlausibleMonthDay(const char *mmdd)
{
	int			m = TwoDigits(mmdd);
	int			d = TwoDigits(mmdd + 2);

	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* Length of name without a routing prefix: "openai/gpt-4o" -> "gpt-4o". */
static int
StripRoutingPrefix(const char **name, int len)
{
	for (int i = len - 1; i >= 0; i--)
		if ((*name)[i] == '/')
		{
			*name += i + 1;
			return len - i - 1;
		}
	return len;
}

/* Vendor prefix: the text up to the last '.' that comes before the first '-'. */
static int
StripVendorPrefix(const char **name, int len)
{
	int			last_dot = -1;

	for (int i = 0; i < len && (*name)[i] != '-'; i++)
		if ((*name)[i] == '.')
			last_dot = i;
	if (last_dot > 0 && last_dot < len - 1 && isalpha((unsigned char) (*name)[last_dot + 1]))
	{
		*name += last_dot + 1;
		return len - last_dot - 1;
	}
	return len;
}

/* Deployment version suffix: "-v2:0", "-v1", ":0". */
static int
StripVersionSuffix(const char *name, int len)
{
	int			i = len;

	while (i > 0 && isdigit((unsigned char) name[i - 1]))
		i--;
	if (i < len && i > 0 && name[i - 1] == ':')
	{
		len = i - 1;
		i = len;
		while (i > 0 && isdigit((unsigned char) name[i - 1]))
			i--;
	}
	if (i < len && i >= 2 && name[i - 1] == 'v' && name[i - 2] == '-')
		return i - 2;
	return len;
}

/* Dated snapshot: "-2024-08-06", "-20241022", "@20241022", "-0613". */
static int
StripSnapshot(const char *name, int len)
{
	if (len > 11 && name[len - 11] == '-' && name[len - 6] == '-' && name[len - 3] == '-' &&
		AllDigits(name + len - 10, 4) && AllDigits(name + len - 5, 2) &&
		AllDigits(name + len - 2, 2))
	{
		char		mmdd[4] = {name[len - 5], name[len - 4], name[len - 2], name[len - 1]};

		if (PlausibleMonthDay(mmdd))
			return len - 11;
	}
	if (len > 9 && (name[len - 9] == '-' || name[len - 9] == '@') &&
		AllDigits(name + len - 8, 8) && PlausibleMonthDay(name + len - 4))
		return len - 9;
	if (len > 5 && name[len - 5] == '-' && AllDigits(name + len - 4, 4) &&
		PlausibleMonthDay(name + len - 4))
		return len - 5;
	return len;
}

/* Resolve one reported pair, trying the names in the documented order. */
static ModelEntry *
ResolvePair(const char *provider, int provider_len, const char *model, int model_len)
{
	char	   *prov = palloc(provider_len + 1);
	char	   *buf = palloc(model_len + 1);
	const char *name = buf;
	int			len = model_len;
	int			prev_len = -1;
	const char *prev_name = NULL;
	ModelEntry *e = NULL;

	for (int i = 0; i < provider_len; i++)
		prov[i] = pg_ascii_tolower((unsigned char) provider[i]);
	for (int i = 0; i < model_len; i++)
		buf[i] = pg_ascii_tolower((unsigned char) model[i]);

	for (int step = 0; step < 5 && e == NULL; step++)
	{
		switch (step)
		{
			case 1:
				len = StripRoutingPrefix(&name, len);
				break;
			case 2:
				len = StripVendorPrefix(&name, len);
				break;
			case 3:
				len = StripVersionSuffix(name, len);
				break;
			case 4:
				len = StripSnapshot(name, len);
				break;
		}
		if (len == prev_len && name == prev_name)
			continue;			/* this step changed nothing */
		e = TryName(prov, provider_len, name, len);
		prev_len = len;
		prev_name = name;
	}
	pfree(prov);
	pfree(buf);
	return e;
}

ModelRates *
LookupModelRates(const char *provider, int provider_len,
				 const char *model, int model_len)
{
	char		key[PAIR_KEY_LEN];
	int			keylen = provider_len + 1 + model_len;
	PairEntry  *p;
	bool		found;

	EnsureRateCache();

	/* Pairs too long to memoize (or holding a NUL) are resolved each time. */
	if (keylen >= PAIR_KEY_LEN ||
		memchr(provider, '\0', provider_len) || memchr(model, '\0', model_len))
	{
		ModelEntry *e = ResolvePair(provider, provider_len, model, model_len);

		return e ? &e->rates : NULL;
	}

	memcpy(key, provider, provider_len);
	key[provider_len] = '\x1f';
	memcpy(key + provider_len + 1, model, model_len);
	key[keylen] = '\0';

	if (keylen == LastPairLen && memcmp(key, LastPair, keylen) == 0)
		return LastModel ? &LastModel->rates : NULL;

	p = hash_search(PairHash, key, HASH_ENTER, &found);
	if (!found)
		p->model = ResolvePair(provider, provider_len, model, model_len);

	memcpy(LastPair, key, keylen + 1);
	LastPairLen = keylen;
	LastModel = p->model;
	return p->model ? &p->model->rates : NULL;
}

const char *
ResolvedModelName(const char *provider, int provider_len,
				  const char *model, int model_len)
{
	ModelRates *r = LookupModelRates(provider, provider_len, model, model_len);

	if (r == NULL)
		return NULL;
	/* The entry's key is the name; the rates are embedded in the entry. */
	return ((ModelEntry *) ((char *) r - offsetof(ModelEntry, rates)))->name;
}

/* Binary search for the version valid at ts in one sorted array. */
static const RateVersion *
VersionAt(const RateVersion *v, int n, TimestampTz ts)
{
	int			lo = 0,
				hi = n - 1,
				best = -1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (v[mid].valid_from <= ts)
		{
			best = mid;
			lo = mid + 1;
		}
		else
			hi = mid - 1;
	}
	if (best >= 0 && ts < v[best].valid_until)
		return &v[best];
	return NULL;
}

const RateVersion *
RateAt(const ModelRates *rates, TimestampTz ts)
{
	const RateVersion *v = VersionAt(rates->user, rates->n_user, ts);

	return v ? v : VersionAt(rates->defaults, rates->n_default, ts);
}

/* Trigger on llmcost.rates and llmcost.model_aliases: tell every backend. */
PG_FUNCTION_INFO_V1(llmcost_rates_changed);
Datum
llmcost_rates_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("llmcost_rates_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
