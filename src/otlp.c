/*-------------------------------------------------------------------------
 *
 * otlp.c
 *	  OpenTelemetry GenAI spans (OTLP/JSON ExportTraceServiceRequest) to
 *	  llmcost events: llmcost.otlp_spans(body text or jsonb, ...) reads the
 *	  body's text with otlp_json.c, walks it and returns one row per span,
 *	  mapped from every attribute dialect in the wild (current gen_ai.*,
 *	  the deprecated names, OpenLLMetry's traceloop.* and llm.*, Langfuse,
 *	  OpenLIT) and classified: a model
 *	  call, a span to skip (workflow, agent, task or tool spans, spans
 *	  without a model, a call span nested in another call span of the same
 *	  body), or a span to reject (with the reason).
 *
 *	  The walk is in C because it is the hot path of OTLP ingest and
 *	  because every value must be checked: a body is attacker-controlled
 *	  input.  Structural errors of the body (resourceSpans is not an array,
 *	  ...) raise an error naming where; a malformed span becomes a reject
 *	  row and never costs the body its good spans.  A call's row also
 *	  carries its event's attributes.  llmcost.ingest_otlp() (SQL) decides
 *	  which calls become events.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "access/htup_details.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "otlp_json.h"

PG_FUNCTION_INFO_V1(llmcost_otlp_spans);

/* the columns of llmcost.otlp_spans() */
enum
{
	COL_RESOURCE, COL_SCOPE, COL_SPAN, COL_OUTCOME, COL_REASON,
	COL_EVENT_TIME, COL_REQUEST_ID, COL_TRACE_ID, COL_SPAN_ID, COL_PARENT_SPAN_ID,
	COL_USER_ID, COL_FEATURE, COL_PROVIDER, COL_MODEL, COL_REQUESTED_MODEL, COL_OPERATION,
	COL_INPUT, COL_CACHED_READ, COL_CACHE_WRITE, COL_OUTPUT, COL_REASONING,
	COL_LATENCY_MS, COL_ERROR_CLASS, COL_CLIENT_COST, COL_SCOPE_NAME, COL_SCOPE_VERSION,
	COL_SERVICE_NAME, COL_SESSION_ID, COL_INPUT_NORMALIZED, COL_SPAN_JSON, COL_ATTRIBUTES,
	NUM_COLS
};

/* An attribute value, as OTLP/JSON types it. */
typedef enum
{
	AV_STRING, AV_INT, AV_DOUBLE, AV_BOOL, AV_OTHER
} AttrKind;

typedef struct Attr
{
	const char *key;
	int			keylen;
	AttrKind	kind;
	JNode	   *value;			/* the typed value (string, number, bool) */
	JNode	   *first;			/* arrayValue: its first element's typed value */
} Attr;

typedef struct AttrList
{
	Attr	   *items;
	int			n;
} AttrList;

/*
 * Attribute names in the order they are tried, the current convention
 * first, with their lengths (looked up for every span).
 */
typedef struct KeyName
{
	const char *name;
	int			len;
} KeyName;

#define K(name) {name, sizeof(name) - 1}

static const KeyName MODEL_KEYS[] = {K("gen_ai.response.model"), K("gen_ai.request.model"),
	K("langfuse.observation.model.name"), K("llm.response.model"), K("llm.model_name"), K("llm.request.model"), {NULL, 0}};
static const KeyName REQUEST_MODEL_KEYS[] = {K("gen_ai.request.model"), K("llm.request.model"), {NULL, 0}};
static const KeyName PROVIDER_KEYS[] = {K("gen_ai.provider.name"), K("gen_ai.system"), K("llm.provider"),
	K("llm.system"), {NULL, 0}};
static const KeyName OPERATION_KEYS[] = {K("gen_ai.operation.name"), K("llm.request.type"), {NULL, 0}};
static const KeyName INPUT_KEYS[] = {K("gen_ai.usage.input_tokens"), K("gen_ai.usage.prompt_tokens"),
	K("llm.token_count.prompt"), K("llm.usage.prompt_tokens"), {NULL, 0}};
static const KeyName OUTPUT_KEYS[] = {K("gen_ai.usage.output_tokens"), K("gen_ai.usage.completion_tokens"),
	K("llm.token_count.completion"), K("llm.usage.completion_tokens"), {NULL, 0}};
static const KeyName CACHE_READ_KEYS[] = {K("gen_ai.usage.cache_read.input_tokens"),
	K("gen_ai.usage.cache_read_input_tokens"), K("llm.usage.cache_read_input_tokens"), {NULL, 0}};
static const KeyName CACHE_WRITE_KEYS[] = {K("gen_ai.usage.cache_creation.input_tokens"),
	K("gen_ai.usage.cache_creation_input_tokens"), K("llm.usage.cache_creation_input_tokens"), {NULL, 0}};
static const KeyName REASONING_KEYS[] = {K("gen_ai.usage.reasoning.output_tokens"),
	K("gen_ai.usage.reasoning_tokens"), K("llm.usage.reasoning_tokens"), {NULL, 0}};
static const KeyName TOTAL_KEYS[] = {K("gen_ai.usage.total_tokens"), K("llm.usage.total_tokens"), {NULL, 0}};
static const KeyName COST_KEYS[] = {K("gen_ai.usage.cost"), {NULL, 0}};
static const KeyName RESPONSE_ID_KEYS[] = {K("gen_ai.response.id"), {NULL, 0}};
static const KeyName ERROR_KEYS[] = {K("error.type"), {NULL, 0}};
static const KeyName SESSION_KEYS[] = {K("gen_ai.conversation.id"), K("session.id"), K("langfuse.session.id"), {NULL, 0}};
static const KeyName SPAN_KIND_KEYS[] = {K("traceloop.span.kind"), K("langfuse.observation.type"), {NULL, 0}};
static const KeyName SERVICE_KEYS[] = {K("service.name"), {NULL, 0}};

/* ---------------------------------------------------------------------
 * Reading the body
 * --------------------------------------------------------------------- */

/* The member of an object, or NULL (also when obj is not an object). */
static JNode *
member(JNode *obj, const char *key)
{
	return otlp_json_member(obj, key, strlen(key));
}

static JNode *
as_container(JNode *v, bool array)
{
	return (v && v->type == (array ? JT_ARRAY : JT_OBJECT)) ? v : NULL;
}

/* An optional array member: NULL when absent or null; *bad when not an array. */
static JNode *
array_member(JNode *obj, const char *key, bool *bad)
{
	JNode	   *v = member(obj, key);

	*bad = false;
	if (v == NULL || v->type == JT_NULL)
		return NULL;
	if (as_container(v, true) == NULL)
		*bad = true;
	return as_container(v, true);
}

static char *
string_of(JNode *v)
{
	return (v && v->type == JT_STRING) ? pnstrdup(v->str, v->len) : NULL;
}

/*
 * A JSON number as text, spelled as numeric spells it (1e3 is 1000, -0 is
 * 0), as the attribute would read had it gone through jsonb; a number too
 * long for numeric to take quickly stays as written.
 */
static char *
number_text(JNode *v)
{
	bool		plain = true;
	bool		nonzero = false;

	for (int i = 0; i < v->len; i++)
	{
		if (v->str[i] == 'e' || v->str[i] == 'E')
			plain = false;
		else if (v->str[i] >= '1' && v->str[i] <= '9')
			nonzero = true;
	}
	if ((plain && (v->str[0] != '-' || nonzero)) || !otlp_json_number_is_small(v))
		return pnstrdup(v->str, v->len);
	return DatumGetCString(DirectFunctionCall1(numeric_out,
											   DirectFunctionCall3(numeric_in,
																   CStringGetDatum(pnstrdup(v->str, v->len)),
																   ObjectIdGetDatum(InvalidOid),
																   Int32GetDatum(-1))));
}

/*
 * Strict unsigned decimal, as OTLP writes 64-bit integers in strings: digits
 * only, no sign, no blanks, no overflow.
 */
static bool
parse_uint64(const char *s, int len, uint64 *out)
{
	uint64		v = 0;

	if (len <= 0 || len > 20)
		return false;
	for (int i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		if (v > (PG_UINT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* A JSON number or decimal string holding a non-negative integer. */
static bool
uint64_of(JNode *v, uint64 *out)
{
	char	   *s;

	if (v == NULL)
		return false;
	if (v->type == JT_STRING)
		return parse_uint64(v->str, v->len, out);
	if (v->type != JT_NUMBER)
		return false;
	if (parse_uint64(v->str, v->len, out))
		return true;
	/* 1e3 or 100.0: the integer numeric reads */
	s = number_text(v);
	return parse_uint64(s, strlen(s), out);
}

/* ---------------------------------------------------------------------
 * Attributes
 * --------------------------------------------------------------------- */

/* The typed value of an OTLP AnyValue object; kind AV_OTHER when unknown. */
static AttrKind
typed_value(JNode *anyvalue, JNode **typed, JNode **first)
{
	JNode	   *v;

	*typed = NULL;
	*first = NULL;
	if ((v = member(anyvalue, "stringValue")) != NULL && v->type == JT_STRING)
		return (*typed = v, AV_STRING);
	if ((v = member(anyvalue, "intValue")) != NULL && (v->type == JT_STRING || v->type == JT_NUMBER))
		return (*typed = v, AV_INT);
	if ((v = member(anyvalue, "doubleValue")) != NULL && (v->type == JT_STRING || v->type == JT_NUMBER))
		return (*typed = v, AV_DOUBLE);
	if ((v = member(anyvalue, "boolValue")) != NULL && (v->type == JT_TRUE || v->type == JT_FALSE))
		return (*typed = v, AV_BOOL);
	if ((v = member(anyvalue, "arrayValue")) != NULL)
	{
		JNode	   *values = as_container(member(as_container(v, false), "values"), true);
		JNode	   *dummy;

		if (values && as_container(values->child, false))
			typed_value(values->child, first, &dummy);
	}
	return AV_OTHER;
}

/*
 * Reads an attributes array.  Returns NULL, or the reason it is malformed.
 */
static const char *
read_attrs(JNode *arr, AttrList *list)
{
	int			i = 0;

	list->n = 0;
	list->items = (arr && arr->len > 0) ? palloc(sizeof(Attr) * arr->len) : NULL;
	for (JNode *e = arr ? arr->child : NULL; e; e = e->next, i++)
	{
		JNode	   *obj = as_container(e, false);
		JNode	   *key;
		JNode	   *anyvalue;
		Attr	   *a;

		if (obj == NULL)
			return psprintf("attribute %d is not an object", i);
		key = member(obj, "key");
		if (key == NULL || key->type != JT_STRING || key->len == 0)
			return psprintf("attribute %d has no key", i);
		a = &list->items[list->n++];
		a->key = key->str;
		a->keylen = key->len;
		anyvalue = as_container(member(obj, "value"), false);
		a->kind = anyvalue ? typed_value(anyvalue, &a->value, &a->first) : AV_OTHER;
		if (!anyvalue)
			a->value = a->first = NULL;
	}
	return NULL;
}

static Attr *
find_attr(AttrList *list, const char *key, int keylen)
{
	for (int i = 0; i < list->n; i++)
		if (list->items[i].keylen == keylen && memcmp(list->items[i].key, key, keylen) == 0)
			return &list->items[i];
	return NULL;
}

/* The first of keys present in the span's attributes (then the resource's, if given). */
static Attr *
first_attr(AttrList *span, AttrList *resource, const KeyName *keys)
{
	for (int k = 0; keys[k].name; k++)
	{
		Attr	   *a = find_attr(span, keys[k].name, keys[k].len);

		if (a == NULL && resource)
			a = find_attr(resource, keys[k].name, keys[k].len);
		if (a && (a->value || a->first))
			return a;
	}
	return NULL;
}

/* An attribute as text: strings as they are, numbers and booleans spelled out. */
static char *
attr_text(Attr *a)
{
	JNode	   *v;

	if (a == NULL)
		return NULL;
	v = a->value ? a->value : a->first;
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case JT_STRING:
			return v->len > 0 ? pnstrdup(v->str, v->len) : NULL;
		case JT_NUMBER:
			return number_text(v);
		case JT_TRUE:
			return pstrdup("true");
		case JT_FALSE:
			return pstrdup("false");
		default:
			return NULL;
	}
}

/*
 * A token count: an integer from 0 to INT32_MAX, as intValue (string or
 * number), an integral doubleValue, or a decimal stringValue.  Returns
 * false with *err set when the attribute is present and not such a count.
 */
static bool
attr_count(Attr *a, int32 *out, const char **err)
{
	uint64		v;

	*out = 0;
	if (a == NULL)
		return true;
	if (a->value == NULL || !uint64_of(a->value, &v) || v > PG_INT32_MAX)
	{
		char	   *t = attr_text(a);

		*err = psprintf("attribute %.*s is not a token count from 0 to 2147483647: %s",
						a->keylen, a->key, t ? t : "(not a number)");
		return false;
	}
	*out = (int32) v;
	return true;
}

/* The first of a configured list of keys (text[]) present, as text. */
static char *
configured_attr(AttrList *span, AttrList *resource, Datum *keys, bool *nulls, int nkeys)
{
	for (int k = 0; k < nkeys; k++)
	{
		text	   *t;
		Attr	   *a;
		char	   *s;

		if (nulls[k])
			continue;
		t = DatumGetTextPP(keys[k]);
		a = find_attr(span, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if (a == NULL && resource)
			a = find_attr(resource, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if (a && (s = attr_text(a)) != NULL)
			return s;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * One span
 * --------------------------------------------------------------------- */

typedef struct SpanContext
{
	const char *body;			/* the body's text, which the nodes point into */
	AttrList   *resource;
	char	   *service_name;	/* the resource's service.name */
	char	   *scope_name;
	char	   *scope_version;
	Datum	   *user_keys;
	bool	   *user_nulls;
	int			n_user_keys;
	Datum	   *feature_keys;
	bool	   *feature_nulls;
	int			n_feature_keys;
	text	   *default_feature;
} SpanContext;

static bool
lower_equals(const char *a, const char *b)
{
	return a && b && pg_strcasecmp(a, b) == 0;
}

static char *
lowered(char *s)
{
	if (s)
		for (char *p = s; *p; p++)
			*p = pg_tolower((unsigned char) *p);
	return s;
}

/* Hex ids: OTLP/JSON writes traceId and spanId as hex strings. */
static bool
valid_hex_id(const char *s, int len)
{
	if (s == NULL || (len != 16 && len != 32))
		return false;
	for (int i = 0; i < len; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* Spans that stand for more than one call, or for none: never events. */
static bool
is_parent_operation(const char *operation, const char *span_kind)
{
	static const char *const parents[] = {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow",
	"workflow", "task", "agent", "tool", "chain", "span", "event", NULL};

	for (int i = 0; parents[i]; i++)
		if (lower_equals(operation, parents[i]) || lower_equals(span_kind, parents[i]))
			return true;
	return false;
}

static TimestampTz
unix_nanos_to_timestamptz(uint64 ns)
{
	return (TimestampTz) (ns / 1000) - ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

/*
 * Maps one span into values[]/nulls[].  Returns NULL for a model call,
 * or the reason to skip (*reject false) or reject (*reject true) it.
 */
static const char *
map_span(JNode *span, SpanContext *cx, Datum *values, bool *nulls, bool *reject)
{
	AttrList	attrs;
	bool		bad;
	JNode	   *arr;
	const char *err = NULL;
	char	   *trace_id,
			   *span_id,
			   *s;
	uint64		start_ns,
				end_ns,
				total = 0;
	int32		input,
				output,
				cache_read,
				cache_write,
				reasoning;
	bool		has_total = false;
	char	   *model,
			   *requested,
			   *operation,
			   *span_kind,
			   *provider;
	Attr	   *a;
	TimestampTz start;

	*reject = true;
	arr = array_member(span, "attributes", &bad);
	if (bad)
		return "attributes is not an array";
	if ((err = read_attrs(arr, &attrs)) != NULL)
		return err;

	trace_id = string_of(member(span, "traceId"));
	span_id = string_of(member(span, "spanId"));
	if (!valid_hex_id(trace_id, trace_id ? strlen(trace_id) : 0) || strlen(trace_id) != 32)
		return "traceId is not 32 hex digits";
	if (!valid_hex_id(span_id, span_id ? strlen(span_id) : 0) || strlen(span_id) != 16)
		return "spanId is not 16 hex digits";
	values[COL_TRACE_ID] = CStringGetTextDatum(lowered(trace_id));
	values[COL_SPAN_ID] = CStringGetTextDatum(lowered(span_id));
	nulls[COL_TRACE_ID] = nulls[COL_SPAN_ID] = false;
	s = string_of(member(span, "parentSpanId"));
	if (s && *s)
	{
		if (!valid_hex_id(s, strlen(s)) || strlen(s) != 16)
			return "parentSpanId is not 16 hex digits";
		values[COL_PARENT_SPAN_ID] = CStringGetTextDatum(lowered(s));
		nulls[COL_PARENT_SPAN_ID] = false;
	}

	if (!uint64_of(member(span, "startTimeUnixNano"), &start_ns) || start_ns == 0)
		return "startTimeUnixNano is not a positive integer";
	if (!uint64_of(member(span, "endTimeUnixNano"), &end_ns) || end_ns < start_ns)
		return "endTimeUnixNano is not an integer at or after startTimeUnixNano";
	start = unix_nanos_to_timestamptz(start_ns);
	if (!IS_VALID_TIMESTAMP(start))
		return "startTimeUnixNano is out of range";
	values[COL_EVENT_TIME] = TimestampTzGetDatum(start);
	values[COL_LATENCY_MS] = Float8GetDatum((double) (end_ns - start_ns) / 1000000.0);
	nulls[COL_EVENT_TIME] = nulls[COL_LATENCY_MS] = false;

	/* what kind of span: only model calls become events */
	model = attr_text(first_attr(&attrs, NULL, MODEL_KEYS));
	requested = attr_text(first_attr(&attrs, NULL, REQUEST_MODEL_KEYS));
	operation = lowered(attr_text(first_attr(&attrs, NULL, OPERATION_KEYS)));
	span_kind = lowered(attr_text(first_attr(&attrs, NULL, SPAN_KIND_KEYS)));
	provider = lowered(attr_text(first_attr(&attrs, cx->resource, PROVIDER_KEYS)));

	if (!attr_count(first_attr(&attrs, NULL, INPUT_KEYS), &input, &err) ||
		!attr_count(first_attr(&attrs, NULL, OUTPUT_KEYS), &output, &err) ||
		!attr_count(first_attr(&attrs, NULL, CACHE_READ_KEYS), &cache_read, &err) ||
		!attr_count(first_attr(&attrs, NULL, CACHE_WRITE_KEYS), &cache_write, &err) ||
		!attr_count(first_attr(&attrs, NULL, REASONING_KEYS), &reasoning, &err))
		return err;
	if ((a = first_attr(&attrs, NULL, TOTAL_KEYS)) != NULL)
	{
		if (!a->value || !uint64_of(a->value, &total))
			return psprintf("attribute %.*s is not a token count", a->keylen, a->key);
		has_total = true;
	}

	*reject = false;
	if (is_parent_operation(operation, span_kind))
		return "a workflow, agent, task or tool span: its model calls are their own spans";
	if (model == NULL)
		return "no model: not a model call";

	/*
	 * Inclusive input: some instrumentations report Anthropic's exclusive
	 * count (uncached input only).  It is certainly exclusive when the cache
	 * counts exceed it, or when the reported total adds the cache counts on
	 * top of input and output.
	 */
	nulls[COL_INPUT_NORMALIZED] = false;
	values[COL_INPUT_NORMALIZED] = BoolGetDatum(false);
	if (cache_read > 0 || cache_write > 0)
	{
		int64		cached = (int64) cache_read + cache_write;

		if (cached > input ||
			(has_total && total == (uint64) input + output + cached && total != (uint64) input + output))
		{
			if (input + cached > PG_INT32_MAX)
			{
				*reject = true;
				return "input tokens with the cached ones exceed 2147483647";
			}
			input += (int32) cached;
			values[COL_INPUT_NORMALIZED] = BoolGetDatum(true);
		}
	}
	*reject = true;
	if (reasoning > output)
		return psprintf("reasoning tokens (%d) exceed output tokens (%d)", reasoning, output);
	*reject = false;

	values[COL_MODEL] = CStringGetTextDatum(model);
	nulls[COL_MODEL] = false;
	if (requested && pg_strcasecmp(requested, model) != 0)
	{
		values[COL_REQUESTED_MODEL] = CStringGetTextDatum(requested);
		nulls[COL_REQUESTED_MODEL] = false;
	}
	values[COL_PROVIDER] = CStringGetTextDatum(provider ? provider : "unknown");
	values[COL_OPERATION] = CStringGetTextDatum(operation ? operation : "chat");
	values[COL_INPUT] = Int32GetDatum(input);
	values[COL_OUTPUT] = Int32GetDatum(output);
	values[COL_CACHED_READ] = Int32GetDatum(cache_read);
	values[COL_CACHE_WRITE] = Int32GetDatum(cache_write);
	values[COL_REASONING] = Int32GetDatum(reasoning);
	nulls[COL_PROVIDER] = nulls[COL_OPERATION] = nulls[COL_INPUT] = nulls[COL_OUTPUT] = false;
	nulls[COL_CACHED_READ] = nulls[COL_CACHE_WRITE] = nulls[COL_REASONING] = false;

	/* who and what for: configurable keys, span first, then resource */
	if ((s = configured_attr(&attrs, cx->resource, cx->user_keys, cx->user_nulls, cx->n_user_keys)) != NULL)
	{
		values[COL_USER_ID] = CStringGetTextDatum(s);
		nulls[COL_USER_ID] = false;
	}
	s = configured_attr(&attrs, cx->resource, cx->feature_keys, cx->feature_nulls, cx->n_feature_keys);
	values[COL_FEATURE] = s ? CStringGetTextDatum(s) : PointerGetDatum(cx->default_feature);
	nulls[COL_FEATURE] = false;

	/* request id: the provider's response id, else the span's own ids */
	s = attr_text(first_attr(&attrs, NULL, RESPONSE_ID_KEYS));
	values[COL_REQUEST_ID] = CStringGetTextDatum(s ? s : psprintf("%s:%s", trace_id, span_id));
	nulls[COL_REQUEST_ID] = false;

	/* errors: error.type, else the span status */
	s = attr_text(first_attr(&attrs, NULL, ERROR_KEYS));
	if (s == NULL)
	{
		JNode	   *status = as_container(member(span, "status"), false);
		JNode	   *code = member(status, "code");
		uint64		c = 0;

		if (code && ((code->type == JT_STRING && code->len == 17 &&
					  memcmp(code->str, "STATUS_CODE_ERROR", 17) == 0) ||
					 (uint64_of(code, &c) && c == 2)))
			s = pstrdup("error");
	}
	if (s)
	{
		values[COL_ERROR_CLASS] = CStringGetTextDatum(s);
		nulls[COL_ERROR_CLASS] = false;
	}

	/* the cost the client computed, kept apart */
	a = first_attr(&attrs, NULL, COST_KEYS);
	if (a && a->value && a->value->type == JT_NUMBER && otlp_json_number_is_small(a->value))
	{
		values[COL_CLIENT_COST] = DirectFunctionCall3(numeric_in,
													  CStringGetDatum(pnstrdup(a->value->str, a->value->len)),
													  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		nulls[COL_CLIENT_COST] = false;
	}

	if ((s = attr_text(first_attr(&attrs, cx->resource, SESSION_KEYS))) != NULL)
	{
		values[COL_SESSION_ID] = CStringGetTextDatum(s);
		nulls[COL_SESSION_ID] = false;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * The body
 * --------------------------------------------------------------------- */

static void
body_error(const char *where, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed OTLP/JSON body at %s: %s", where, what),
			 errhint("The body must be an OTLP/JSON ExportTraceServiceRequest: {\"resourceSpans\": [{\"resource\": {...}, \"scopeSpans\": [{\"scope\": {...}, \"spans\": [...]}]}]}.")));
}

/*
 * The rows of a body, kept until the spans nested in another model-call
 * span of the same body are known.
 */
#define SPAN_KEY_LEN 48			/* 32 hex digits of trace id, 16 of span id */

typedef struct SpanRow
{
	HeapTuple	tuple;
	bool		call;
	char		key[SPAN_KEY_LEN + 1];	/* trace id and span id */
	char		parent_key[SPAN_KEY_LEN + 1];	/* trace id and parent span id, or "" */
} SpanRow;

typedef struct SpanRows
{
	SpanRow    *rows;
	int			n;
	int			cap;
} SpanRows;

static void
span_key(char *out, Datum trace, Datum span)
{
	text	   *t = DatumGetTextPP(trace);
	text	   *s = DatumGetTextPP(span);

	/* the ids were checked: 32 and 16 hex digits */
	memcpy(out, VARDATA_ANY(t), 32);
	memcpy(out + 32, VARDATA_ANY(s), 16);
	out[SPAN_KEY_LEN] = '\0';
}

/*
 * A rejected span as jsonb, as it came.  A span jsonb might not hold (a
 * number beyond what numeric takes quickly, or more than 64 MB, well within
 * jsonb's 256 MB) is kept as a JSON string of its first 64 kB of text
 * instead: never an error that would cost the body its good spans.
 */
#define RAW_SPAN_MAX_JSONB (64 * 1024 * 1024)
#define RAW_SPAN_MAX_STRING (64 * 1024)

static Datum
raw_span(const char *body, JNode *raw)
{
	const char *src = body + raw->start;
	int			len = raw->end - raw->start;
	JsonbValue	s;

	if (len <= RAW_SPAN_MAX_JSONB && otlp_json_numbers_are_small(raw))
		return DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(src, len)));
	s.type = jbvString;
	s.val.string.val = (char *) src;
	s.val.string.len = len <= RAW_SPAN_MAX_STRING ? len : pg_mbcliplen(src, len, RAW_SPAN_MAX_STRING);
	return JsonbPGetDatum(JsonbValueToJsonb(&s));
}

static void
push_pair(JsonbParseState **state, const char *key, JsonbValue *value)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
	pushJsonbValue(state, WJB_VALUE, value);
}

static void
push_text(JsonbParseState **state, const char *key, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	push_pair(state, key, &v);
}

/*
 * The attributes of a call's event: where the span came from and what
 * llmcost made of its counts (what events.attributes holds for OTLP calls).
 */
static Datum
event_attributes(SpanContext *cx, Datum *values, bool *nulls)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (cx->scope_name)
		push_text(&state, "otel.scope.name", cx->scope_name, strlen(cx->scope_name));
	if (cx->scope_version)
		push_text(&state, "otel.scope.version", cx->scope_version, strlen(cx->scope_version));
	if (cx->service_name)
		push_text(&state, "service.name", cx->service_name, strlen(cx->service_name));
	if (!nulls[COL_SESSION_ID])
	{
		text	   *t = DatumGetTextPP(values[COL_SESSION_ID]);

		push_text(&state, "session.id", VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	if (!nulls[COL_INPUT_NORMALIZED] && DatumGetBool(values[COL_INPUT_NORMALIZED]))
	{
		JsonbValue	v;

		v.type = jbvBool;
		v.val.boolean = true;
		push_pair(&state, "llmcost.input_tokens_normalized", &v);
	}
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
}

static void
emit(SpanRows *out, TupleDesc desc, Datum *values, bool *nulls, int r, int sc, int sp,
	 const char *outcome, const char *reason, SpanContext *cx, JNode *raw, MemoryContext keep)
{
	MemoryContext old;
	SpanRow    *row;

	values[COL_RESOURCE] = Int32GetDatum(r);
	values[COL_SCOPE] = Int32GetDatum(sc);
	values[COL_SPAN] = Int32GetDatum(sp);
	values[COL_OUTCOME] = CStringGetTextDatum(outcome);
	nulls[COL_RESOURCE] = nulls[COL_SCOPE] = nulls[COL_SPAN] = nulls[COL_OUTCOME] = false;
	if (reason)
	{
		values[COL_REASON] = CStringGetTextDatum(reason);
		nulls[COL_REASON] = false;
	}
	if (cx->scope_name)
	{
		values[COL_SCOPE_NAME] = CStringGetTextDatum(cx->scope_name);
		nulls[COL_SCOPE_NAME] = false;
	}
	if (cx->scope_version)
	{
		values[COL_SCOPE_VERSION] = CStringGetTextDatum(cx->scope_version);
		nulls[COL_SCOPE_VERSION] = false;
	}
	if (cx->service_name)
	{
		values[COL_SERVICE_NAME] = CStringGetTextDatum(cx->service_name);
		nulls[COL_SERVICE_NAME] = false;
	}
	if (strcmp(outcome, "call") == 0)
	{
		values[COL_ATTRIBUTES] = event_attributes(cx, values, nulls);
		nulls[COL_ATTRIBUTES] = false;
	}
	/* the raw span is kept only where someone must read it: rejects */
	if (raw && strcmp(outcome, "rejected") == 0)
	{
		values[COL_SPAN_JSON] = raw_span(cx->body, raw);
		nulls[COL_SPAN_JSON] = false;
	}

	old = MemoryContextSwitchTo(keep);
	if (out->n == out->cap)
	{
		out->cap = out->cap ? out->cap * 2 : 128;
		out->rows = out->rows ? repalloc_huge(out->rows, sizeof(SpanRow) * out->cap)
			: palloc(sizeof(SpanRow) * out->cap);
	}
	row = &out->rows[out->n++];
	row->tuple = heap_form_tuple(desc, values, nulls);
	MemoryContextSwitchTo(old);
	row->call = strcmp(outcome, "call") == 0;
	row->key[0] = row->parent_key[0] = '\0';
	if (row->call)
	{
		span_key(row->key, values[COL_TRACE_ID], values[COL_SPAN_ID]);
		if (!nulls[COL_PARENT_SPAN_ID])
			span_key(row->parent_key, values[COL_TRACE_ID], values[COL_PARENT_SPAN_ID]);
	}
}

/*
 * A model-call span inside another model-call span of the same body is the
 * same call reported twice (a provider SDK's span inside an
 * instrumentation's): the outermost stands for it, the others are skipped.
 * Then the rows go to the tuplestore.
 */
static void
store_rows(SpanRows *rows, Tuplestorestate *ts, TupleDesc desc)
{
	HASHCTL		ctl = {0};
	HTAB	   *calls;
	int			cols[2] = {COL_OUTCOME + 1, COL_REASON + 1};

	ctl.keysize = SPAN_KEY_LEN + 1;
	ctl.entrysize = SPAN_KEY_LEN + 1;
	ctl.hcxt = CurrentMemoryContext;
	calls = hash_create("llmcost otlp calls", Max(rows->n, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int i = 0; i < rows->n; i++)
		if (rows->rows[i].call)
			hash_search(calls, rows->rows[i].key, HASH_ENTER, NULL);

	for (int i = 0; i < rows->n; i++)
	{
		SpanRow    *row = &rows->rows[i];

		if (row->call && row->parent_key[0] &&
			hash_search(calls, row->parent_key, HASH_FIND, NULL) != NULL)
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = CStringGetTextDatum("skipped");
			values[1] = CStringGetTextDatum("nested in a model-call span of the same body: the same call");
			row->tuple = heap_modify_tuple_by_cols(row->tuple, desc, 2, cols, values, nulls);
		}
		tuplestore_puttuple(ts, row->tuple);
	}
	hash_destroy(calls);
}

/* otlp_spans() takes no NULL: each entry point checks its arguments first. */
static void
check_arguments(FunctionCallInfo fcinfo)
{
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %s of llmcost.otlp_spans() is NULL",
							(const char *[]) {"body", "user_keys", "feature_keys", "default_feature"}[i])));
}

/*
 * The spans of a body's text, into the function's result.
 */
static void
spans_of_text(FunctionCallInfo fcinfo, const char *src, int len)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	JNode	   *root;
	JNode	   *resource_spans;
	SpanContext cx = {0};
	SpanRows	rows = {0};
	bool		bad;
	MemoryContext span_cxt,
				old;
	int			r = 0;

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &cx.user_keys, &cx.user_nulls, &cx.n_user_keys);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
					  &cx.feature_keys, &cx.feature_nulls, &cx.n_feature_keys);
	cx.default_feature = PG_GETARG_TEXT_PP(3);
	cx.body = src;

	InitMaterializedSRF(fcinfo, 0);

	root = otlp_json_parse(src, len);
	if (root->type != JT_OBJECT)
		body_error("the body", "not a JSON object");
	resource_spans = array_member(root, "resourceSpans", &bad);
	if (bad)
		body_error("resourceSpans", "not an array");

	/* each span's garbage goes when its row is stored */
	span_cxt = AllocSetContextCreate(CurrentMemoryContext, "llmcost otlp span", ALLOCSET_DEFAULT_SIZES);

	for (JNode *re = resource_spans ? resource_spans->child : NULL; re; re = re->next, r++)
	{
		JNode	   *rs = as_container(re, false);
		JNode	   *resource,
				   *scope_spans;
		AttrList	resource_attrs = {0};
		const char *err;
		char		where[96];
		int			sc = 0;

		snprintf(where, sizeof(where), "resourceSpans[%d]", r);
		if (rs == NULL)
			body_error(where, "not an object");
		resource = as_container(member(rs, "resource"), false);
		if (member(rs, "resource") && member(rs, "resource")->type != JT_NULL && resource == NULL)
			body_error(where, "resource is not an object");
		if (resource)
		{
			JNode	   *attrs = array_member(resource, "attributes", &bad);

			if (bad)
				body_error(where, "resource.attributes is not an array");
			if ((err = read_attrs(attrs, &resource_attrs)) != NULL)
				body_error(where, psprintf("resource.attributes: %s", err));
		}
		cx.resource = &resource_attrs;
		cx.service_name = attr_text(first_attr(&resource_attrs, NULL, SERVICE_KEYS));
		scope_spans = array_member(rs, "scopeSpans", &bad);
		if (bad)
			body_error(where, "scopeSpans is not an array");

		for (JNode *se = scope_spans ? scope_spans->child : NULL; se; se = se->next, sc++)
		{
			JNode	   *ss = as_container(se, false);
			JNode	   *scope,
					   *spans;
			int			sp = 0;

			snprintf(where, sizeof(where), "resourceSpans[%d].scopeSpans[%d]", r, sc);
			if (ss == NULL)
				body_error(where, "not an object");
			scope = as_container(member(ss, "scope"), false);
			cx.scope_name = string_of(member(scope, "name"));
			cx.scope_version = string_of(member(scope, "version"));
			spans = array_member(ss, "spans", &bad);
			if (bad)
				body_error(where, "spans is not an array");

			for (JNode *raw = spans ? spans->child : NULL; raw; raw = raw->next, sp++)
			{
				JNode	   *span = as_container(raw, false);
				Datum		values[NUM_COLS];
				bool		nulls[NUM_COLS];
				bool		reject = true;
				const char *reason;

				/* the tuplestore copies the row: the span's memory can go */
				old = MemoryContextSwitchTo(span_cxt);
				memset(nulls, true, sizeof(nulls));
				reason = span ? map_span(span, &cx, values, nulls, &reject) : "not an object";
				if (reason && reject)
					memset(nulls + COL_EVENT_TIME, true, sizeof(bool) * (NUM_COLS - COL_EVENT_TIME));
				emit(&rows, rsinfo->setDesc, values, nulls, r, sc, sp,
					 reason == NULL ? "call" : reject ? "rejected" : "skipped", reason, &cx, raw, old);
				MemoryContextSwitchTo(old);
				MemoryContextReset(span_cxt);
			}
		}
	}
	MemoryContextDelete(span_cxt);
	store_rows(&rows, rsinfo->setResult, rsinfo->setDesc);
}

/*
 * otlp_spans(body text, user_keys text[], feature_keys text[],
 *            default_feature text) returns setof record: what ingest_otlp()
 * reads, the body's text parsed by otlp_json.c.
 */
PG_FUNCTION_INFO_V1(llmcost_otlp_spans_text);
Datum
llmcost_otlp_spans_text(PG_FUNCTION_ARGS)
{
	text	   *body;

	check_arguments(fcinfo);
	body = PG_GETARG_TEXT_PP(0);
	spans_of_text(fcinfo, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body));
	return (Datum) 0;
}

/*
 * otlp_spans(body jsonb, ...): the same for a body already parsed as jsonb,
 * read back as text (one reader of bodies, whatever their type).
 */
Datum
llmcost_otlp_spans(PG_FUNCTION_ARGS)
{
	Jsonb	   *body;
	char	   *src;

	check_arguments(fcinfo);
	body = PG_GETARG_JSONB_P(0);
	src = JsonbToCString(NULL, &body->root, VARSIZE(body));
	spans_of_text(fcinfo, src, strlen(src));
	return (Datum) 0;
}

/*
 * otlp_jsonb(body text) returns jsonb: an OTLP/JSON body sent as text,
 * parsed.  A body nested deeper than any OTLP body is (resource, scope,
 * span, attribute, a few levels of AnyValue) is refused first with a data
 * error saying where: PostgreSQL's recursive JSON parser would otherwise
 * stop at its stack limit with an error of another class.
 */
#define OTLP_MAX_DEPTH 100

PG_FUNCTION_INFO_V1(llmcost_otlp_jsonb);
Datum
llmcost_otlp_jsonb(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(body);
	int			len = VARSIZE_ANY_EXHDR(body);
	int			depth = 0;
	bool		in_string = false;

	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;			/* the escaped character cannot end the string */
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if ((c == '[' || c == '{') && ++depth > OTLP_MAX_DEPTH)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid OTLP/JSON body: nested deeper than %d levels at byte %d",
							OTLP_MAX_DEPTH, i + 1)));
		else if (c == ']' || c == '}')
			depth--;
	}
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(body))));
}
