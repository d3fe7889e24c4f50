/*-------------------------------------------------------------------------
 *
 * otlp_json.h
 *	  The JSON reader of OTLP/JSON bodies: a body's text parsed once into a
 *	  tree of nodes that point into the text.  OTLP ingest reads a few
 *	  members of every span and keeps nothing else, so it does not pay for
 *	  building jsonb (sorted, deduplicated keys, numeric conversion of every
 *	  number) that it would walk once and throw away.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LLMCOST_OTLP_JSON_H
#define LLMCOST_OTLP_JSON_H

#include "postgres.h"

/* deeper than any OTLP body is (resource, scope, span, attribute, AnyValue) */
#define OTLP_JSON_MAX_DEPTH 100

typedef enum JType
{
	JT_NULL, JT_FALSE, JT_TRUE, JT_NUMBER, JT_STRING, JT_ARRAY, JT_OBJECT
} JType;

typedef struct JNode
{
	JType		type;
	int			len;			/* string: decoded bytes; number: its text's
								 * bytes; array, object: elements, members */
	const char *str;			/* string: decoded (not NUL-terminated);
								 * number: its text as written */
	const char *key;			/* a member of an object: its name, decoded */
	int			keylen;
	int			start;			/* the value's bytes in the body: [start, end) */
	int			end;
	struct JNode *child;		/* array, object: the first element or member */
	struct JNode *next;			/* the next element or member of its parent */
} JNode;

/*
 * Parses a whole JSON text (RFC 8259, as PostgreSQL's json type accepts it:
 * no \u0000 in strings) into nodes allocated in the current memory context.
 * Invalid JSON and nesting deeper than OTLP_JSON_MAX_DEPTH raise a data
 * error (22P02) naming the byte; numbers are checked for their grammar only.
 */
extern JNode *otlp_json_parse(const char *text, int len);

/* The member named key of an object (the last one, as jsonb keeps), or NULL. */
extern JNode *otlp_json_member(const JNode *obj, const char *key, int keylen);

/*
 * Whether a number can be converted to numeric without error and at little
 * cost: at most 64 characters, an exponent of at most four digits.
 */
extern bool otlp_json_number_is_small(const JNode *n);

/* Whether the value and everything in it holds only such numbers. */
extern bool otlp_json_numbers_are_small(const JNode *v);

#endif							/* LLMCOST_OTLP_JSON_H */
