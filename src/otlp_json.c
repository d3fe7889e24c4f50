/*-------------------------------------------------------------------------
 *
 * otlp_json.c
 *	  The JSON reader of OTLP/JSON bodies (see otlp_json.h): one pass over
 *	  the text, no recursion (an explicit stack of open arrays and objects,
 *	  OTLP_JSON_MAX_DEPTH deep), strings without escapes left where they
 *	  are in the body, numbers kept as text until someone needs their value.
 *
 *	  A body is attacker-controlled: every byte is checked against the JSON
 *	  grammar, escapes are decoded as PostgreSQL's own JSON parser decodes
 *	  them (\u escapes into the server encoding, surrogate pairs paired,
 *	  \u0000 refused since text cannot hold it), and an error says which
 *	  byte and what was expected there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "mb/pg_wchar.h"

#include "otlp_json.h"

typedef struct Reader
{
	const char *s;				/* the body */
	int			len;
	int			pos;			/* the next byte to read */
	JNode	   *block;			/* nodes are allocated in blocks */
	int			used;
	int			size;
} Reader;

static void
pg_attribute_noreturn()
syntax_error(Reader *r, int at, const char *what)
{
	int			near = at < r->len ? pg_mbcliplen(r->s + at, r->len - at, 32) : 0;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid OTLP/JSON body: %s at byte %d", what, at + 1),
			 near > 0 ? errdetail("The body there: %.*s", near, r->s + at)
			 : errdetail("The body ends there.")));
}

static JNode *
new_node(Reader *r, JType type)
{
	JNode	   *n;

	if (r->used == r->size)
	{
		/* blocks grow to 4096 nodes: a small body allocates little */
		r->size = r->size ? Min(r->size * 2, 4096) : 64;
		r->block = palloc(sizeof(JNode) * r->size);
		r->used = 0;
	}
	n = &r->block[r->used++];
	memset(n, 0, sizeof(JNode));
	n->type = type;
	n->start = r->pos;
	return n;
}

static inline void
skip_blanks(Reader *r)
{
	while (r->pos < r->len)
	{
		char		c = r->s[r->pos];

		if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
			break;
		r->pos++;
	}
}

static int
hex4(Reader *r, int at)
{
	int			v = 0;

	if (at + 4 > r->len)
		syntax_error(r, at, "\\u must be followed by four hex digits");
	for (int i = at; i < at + 4; i++)
	{
		char		c = r->s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			syntax_error(r, at, "\\u must be followed by four hex digits");
	}
	return v;
}

/*
 * Appends the code point in the server encoding; returns the bytes written
 * (at most MAX_UNICODE_EQUIVALENT_STRING).
 */
static int
put_code_point(Reader *r, int at, pg_wchar cp, char *out)
{
	char		converted[MAX_UNICODE_EQUIVALENT_STRING + 1];
	int			len;

	if (cp == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("invalid OTLP/JSON body: \\u0000 cannot be converted to text at byte %d", at + 1)));
	if (GetDatabaseEncoding() == PG_UTF8)
	{
		unicode_to_utf8(cp, (unsigned char *) out);
		return pg_utf_mblen((unsigned char *) out);
	}
	if (cp < 0x80)
	{
		*out = (char) cp;
		return 1;
	}
	/*
	 * raises an error when the server encoding has no such character; it
	 * writes its NUL-terminated result into room of its own size
	 */
	pg_unicode_to_server(cp, (unsigned char *) converted);
	len = strlen(converted);
	memcpy(out, converted, len);
	return len;
}

/*
 * Decodes the escapes of the string whose text is s[from, to) into a new
 * buffer.  A \u escape is 6 bytes and stands for at most 4 in UTF-8, but
 * for up to MAX_UNICODE_EQUIVALENT_STRING in another server encoding: the
 * buffer has room for the worst case.
 */
static char *
decode_escapes(Reader *r, int from, int to, int *outlen)
{
	Size		room = GetDatabaseEncoding() == PG_UTF8 ? (Size) (to - from) + 1
		: (Size) (to - from) * (MAX_UNICODE_EQUIVALENT_STRING / 6 + 1) + 1;
	char	   *buf = palloc(room);
	int			n = 0;

	for (int i = from; i < to;)
	{
		char		c = r->s[i];
		int			cp,
					lo;

		if (c != '\\')
		{
			buf[n++] = c;
			i++;
			continue;
		}
		switch (r->s[i + 1])
		{
			case '"':
			case '\\':
			case '/':
				buf[n++] = r->s[i + 1];
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				cp = hex4(r, i + 2);
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					syntax_error(r, i, "a low surrogate \\u escape must follow a high one");
				if (cp >= 0xD800 && cp <= 0xDBFF)
				{
					if (i + 12 > to || r->s[i + 6] != '\\' || r->s[i + 7] != 'u' ||
						(lo = hex4(r, i + 8)) < 0xDC00 || lo > 0xDFFF)
						syntax_error(r, i, "a high surrogate \\u escape must be followed by a low one");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				}
				n += put_code_point(r, i, (pg_wchar) cp, buf + n);
				i += 4;
				break;
			default:
				syntax_error(r, i, "invalid escape in a string");
		}
		i += 2;
	}
	buf[n] = '\0';
	*outlen = n;
	return buf;
}

/* Reads the string at r->pos (its opening quote) into *str and *len. */
static void
read_string(Reader *r, const char **str, int *len)
{
	int			from = r->pos + 1;
	int			i = from;
	bool		escaped = false;

	for (;;)
	{
		unsigned char c;

		if (i >= r->len)
			syntax_error(r, r->pos, "unterminated string");
		c = (unsigned char) r->s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			syntax_error(r, i, psprintf("control character 0x%02x in a string (it must be escaped)", c));
		if (c == '\\')
		{
			escaped = true;
			i++;				/* the escaped character cannot end the string */
			if (i < r->len && (unsigned char) r->s[i] < 0x20)
				syntax_error(r, i - 1, "invalid escape in a string");
		}
		i++;
	}
	if (escaped)
		*str = decode_escapes(r, from, i, len);
	else
	{
		*str = r->s + from;
		*len = i - from;
	}
	r->pos = i + 1;
}

static inline bool
is_digit(Reader *r, int i)
{
	return i < r->len && r->s[i] >= '0' && r->s[i] <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static void
read_number(Reader *r, JNode *n)
{
	int			i = r->pos;

	if (r->s[i] == '-')
		i++;
	if (!is_digit(r, i))
		syntax_error(r, r->pos, "invalid number");
	if (r->s[i] == '0')
		i++;
	else
		while (is_digit(r, i))
			i++;
	if (i < r->len && r->s[i] == '.')
	{
		if (!is_digit(r, ++i))
			syntax_error(r, r->pos, "invalid number");
		while (is_digit(r, i))
			i++;
	}
	if (i < r->len && (r->s[i] == 'e' || r->s[i] == 'E'))
	{
		i++;
		if (i < r->len && (r->s[i] == '+' || r->s[i] == '-'))
			i++;
		if (!is_digit(r, i))
			syntax_error(r, r->pos, "invalid number");
		while (is_digit(r, i))
			i++;
	}
	n->str = r->s + r->pos;
	n->len = i - r->pos;
	r->pos = i;
}

static void
read_literal(Reader *r, const char *word, int wordlen)
{
	if (r->len - r->pos < wordlen || memcmp(r->s + r->pos, word, wordlen) != 0)
		syntax_error(r, r->pos, "invalid token");
	r->pos += wordlen;
}

JNode *
otlp_json_parse(const char *text, int len)
{
	Reader		r = {text, len, 0, NULL, 0, 0};
	JNode	   *open[OTLP_JSON_MAX_DEPTH];	/* the arrays and objects open */
	JNode	   *last[OTLP_JSON_MAX_DEPTH];	/* the last child of each */
	int			depth = 0;
	const char *key = NULL;
	int			keylen = 0;
	JNode	   *v;

	/* at a value: an element, a member's value or the root */
value:
	skip_blanks(&r);
	if (r.pos >= r.len)
		syntax_error(&r, r.pos, "a value was expected");
	switch (r.s[r.pos])
	{
		case '{':
			v = new_node(&r, JT_OBJECT);
			break;
		case '[':
			v = new_node(&r, JT_ARRAY);
			break;
		case '"':
			v = new_node(&r, JT_STRING);
			read_string(&r, &v->str, &v->len);
			break;
		case 't':
			v = new_node(&r, JT_TRUE);
			read_literal(&r, "true", 4);
			break;
		case 'f':
			v = new_node(&r, JT_FALSE);
			read_literal(&r, "false", 5);
			break;
		case 'n':
			v = new_node(&r, JT_NULL);
			read_literal(&r, "null", 4);
			break;
		default:
			if (r.s[r.pos] != '-' && !(r.s[r.pos] >= '0' && r.s[r.pos] <= '9'))
				syntax_error(&r, r.pos, "a value was expected");
			v = new_node(&r, JT_NUMBER);
			read_number(&r, v);
			break;
	}
	v->end = r.pos;
	if (depth > 0)
	{
		JNode	   *parent = open[depth - 1];

		if (parent->type == JT_OBJECT)
		{
			v->key = key;
			v->keylen = keylen;
		}
		if (last[depth - 1])
			last[depth - 1]->next = v;
		else
			parent->child = v;
		last[depth - 1] = v;
		parent->len++;
	}
	if (v->type == JT_OBJECT || v->type == JT_ARRAY)
	{
		if (depth == OTLP_JSON_MAX_DEPTH)
			syntax_error(&r, r.pos, psprintf("nested deeper than %d levels", OTLP_JSON_MAX_DEPTH));
		open[depth] = v;
		last[depth] = NULL;
		depth++;
		r.pos++;
		skip_blanks(&r);
		if (r.pos < r.len && r.s[r.pos] == (v->type == JT_OBJECT ? '}' : ']'))
			goto close;
		if (v->type == JT_OBJECT)
			goto member;
		goto value;
	}

	/* after a value: the next one of its parent, or its parent's end */
next:
	if (depth == 0)
	{
		skip_blanks(&r);
		if (r.pos < r.len)
			syntax_error(&r, r.pos, "text after the end of the JSON value");
		return v;
	}
	skip_blanks(&r);
	if (r.pos < r.len && r.s[r.pos] == ',')
	{
		r.pos++;
		if (open[depth - 1]->type == JT_OBJECT)
			goto member;
		goto value;
	}
	if (r.pos < r.len && r.s[r.pos] == (open[depth - 1]->type == JT_OBJECT ? '}' : ']'))
		goto close;
	syntax_error(&r, r.pos, open[depth - 1]->type == JT_OBJECT ? "',' or '}' was expected"
				 : "',' or ']' was expected");

	/* at the closing bracket of the innermost open array or object */
close:
	r.pos++;
	v = open[--depth];
	v->end = r.pos;
	goto next;

	/* at a member of an object: its name and a colon, then its value */
member:
	skip_blanks(&r);
	if (r.pos >= r.len || r.s[r.pos] != '"')
		syntax_error(&r, r.pos, "a member name (a string) was expected");
	read_string(&r, &key, &keylen);
	skip_blanks(&r);
	if (r.pos >= r.len || r.s[r.pos] != ':')
		syntax_error(&r, r.pos, "':' was expected");
	r.pos++;
	goto value;
}

JNode *
otlp_json_member(const JNode *obj, const char *key, int keylen)
{
	JNode	   *found = NULL;

	if (obj == NULL || obj->type != JT_OBJECT)
		return NULL;
	for (JNode *m = obj->child; m; m = m->next)
		if (m->keylen == keylen && memcmp(m->key, key, keylen) == 0)
			found = m;
	return found;
}

bool
otlp_json_number_is_small(const JNode *n)
{
	int			exp_digits = 0;
	bool		in_exp = false;

	if (n->len > 64)
		return false;
	for (int i = 0; i < n->len; i++)
	{
		if (n->str[i] == 'e' || n->str[i] == 'E')
			in_exp = true;
		else if (in_exp && n->str[i] >= '0' && n->str[i] <= '9')
			exp_digits++;
	}
	return exp_digits <= 4;
}

bool
otlp_json_numbers_are_small(const JNode *v)
{
	if (v->type == JT_NUMBER)
		return otlp_json_number_is_small(v);
	for (JNode *c = v->child; c; c = c->next)
	{
		check_stack_depth();	/* at most OTLP_JSON_MAX_DEPTH deep */
		if (!otlp_json_numbers_are_small(c))
			return false;
	}
	return true;
}
