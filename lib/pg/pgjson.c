#include "pg/pgjson.h"

#include <string.h>
#include <strings.h>

#include "core/json.h"

/*
 * While writing one value: where it goes, the scratch levels, and the
 * first error.  FA_EINPUT means "the text is not what the type says";
 * fa_pgjson_put() then writes the whole value as a string instead.
 */
struct ctx {
	struct fa_buf *out;
	struct fa_pgjson_scratch *sc;
};

static enum fa_err put_value(struct ctx *x, const struct fa_pgjson_type *t,
			     const char *s, size_t n, int depth);

void fa_pgjson_scratch_init(struct fa_pgjson_scratch *sc, size_t max)
{
	for (int i = 0; i < FA_PGJSON_DEPTH; i++)
		fa_buf_init(&sc->level[i], max);
}

void fa_pgjson_scratch_release(struct fa_pgjson_scratch *sc)
{
	for (int i = 0; i < FA_PGJSON_DEPTH; i++)
		fa_buf_release(&sc->level[i]);
}

enum fa_pgjson_kind fa_pgjson_scalar_kind(unsigned int oid)
{
	switch (oid) {
	case 20: case 21: case 23: case 700: case 701: case 1700:
		return FA_PGJSON_NUMBER;
	case 16:
		return FA_PGJSON_BOOL;
	case 114: case 3802:
		return FA_PGJSON_RAW;
	case 1114:
		return FA_PGJSON_TIMESTAMP;
	case 1184:
		return FA_PGJSON_TIMESTAMPTZ;
	}
	return FA_PGJSON_STRING;
}

static bool isdigit_(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * ISO DateStyle output "2026-01-02 03:04:05.5+05:30 BC" to to_json's
 * "2026-01-02T03:04:05.5+05:30 BC": the space becomes 'T' and an offset
 * of whole hours gains ":00".  Anything else is written as it is.
 */
static enum fa_err put_timestamp(struct ctx *x, const char *s, size_t n, bool tz)
{
	char buf[96];
	const char *sp = memchr(s, ' ', n);
	size_t at, i, k, end;

	if (!sp || n + 3 >= sizeof(buf))
		return fa_json_put_string(x->out, s, n);
	at = sp - s;
	if (at < 10 || s[at - 3] != '-' || s[at - 6] != '-' || !isdigit_(s[at - 1]) ||
	    n < at + 4 || !isdigit_(s[at + 1]) || !isdigit_(s[at + 2]) || s[at + 3] != ':')
		return fa_json_put_string(x->out, s, n);
	memcpy(buf, s, n);
	buf[at] = 'T';
	k = n;
	if (tz) {
		for (i = at + 1; i < n && s[i] != '+' && s[i] != '-' && s[i] != ' '; i++)
			;
		for (end = i; end < n && s[end] != ' '; end++)
			;
		if (i < n && s[i] != ' ' && end - i == 3) {   /* "+05" */
			memmove(buf + end + 3, buf + end, n - end);
			memcpy(buf + end, ":00", 3);
			k = n + 3;
		}
	}
	return fa_json_put_string(x->out, buf, k);
}

/* Skips an array's explicit bounds, "[0:1][1:2]=", if there are any. */
static bool skip_bounds(const char **pp, const char *end)
{
	const char *p = *pp;

	if (p == end || *p != '[')
		return true;
	while (p < end && *p == '[') {
		const char *close = memchr(p, ']', end - p);

		if (!close)
			return false;
		p = close + 1;
	}
	if (p == end || *p != '=')
		return false;
	*pp = p + 1;
	return true;
}

/* A quoted array element at *pp ('"' included) unescaped into dst. */
static enum fa_err take_quoted(const char **pp, const char *end, struct fa_buf *dst)
{
	const char *p = *pp + 1, *run = p;
	enum fa_err rc;

	for (;;) {
		if (p == end)
			return FA_EINPUT;
		if (*p == '"')
			break;
		if (*p == '\\') {
			if ((rc = fa_buf_append(dst, run, p - run)))
				return rc;
			if (++p == end)
				return FA_EINPUT;
			run = p;
		}
		p++;
	}
	if ((rc = fa_buf_append(dst, run, p - run)))
		return rc;
	*pp = p + 1;
	return FA_OK;
}

/* One element at *pp: null, or its text written by the element type. */
static enum fa_err put_element(struct ctx *x, const struct fa_pgjson_type *t,
			       const char **pp, const char *end, int depth)
{
	const char *p = *pp, *start = p;
	struct fa_buf *dst = &x->sc->level[depth];
	enum fa_err rc;

	if (p < end && *p == '"') {
		fa_buf_reset(dst);
		if ((rc = take_quoted(pp, end, dst)))
			return rc;
		return put_value(x, t->elem, dst->data ? dst->data : "", dst->len, depth + 1);
	}
	while (p < end && *p != t->delim && *p != '}' && *p != '{' && *p != '"' && *p != '\\')
		p++;
	if (p == start)
		return FA_EINPUT;
	*pp = p;
	if (p - start == 4 && !strncasecmp(start, "NULL", 4))
		return fa_buf_append(x->out, "null", 4);
	return put_value(x, t->elem, start, p - start, depth + 1);
}

/* One "{...}" level of an array, nested ones included. */
static enum fa_err put_level(struct ctx *x, const struct fa_pgjson_type *t,
			     const char **pp, const char *end, int dim, int depth)
{
	const char *p = *pp;
	enum fa_err rc;

	if (p == end || *p != '{' || dim >= FA_PGJSON_MAXDIM)
		return FA_EINPUT;
	p++;
	if ((rc = fa_buf_putc(x->out, '[')))
		return rc;
	if (p < end && *p == '}') {
		*pp = p + 1;
		return fa_buf_putc(x->out, ']');
	}
	for (;;) {
		if (p < end && *p == '{')
			rc = put_level(x, t, &p, end, dim + 1, depth);
		else
			rc = put_element(x, t, &p, end, depth);
		if (rc)
			return rc;
		if (p == end)
			return FA_EINPUT;
		if (*p == '}')
			break;
		if (*p != t->delim)
			return FA_EINPUT;
		p++;
		if ((rc = fa_buf_putc(x->out, ',')))
			return rc;
	}
	*pp = p + 1;
	return fa_buf_putc(x->out, ']');
}

/* int2vector and oidvector: "1 2 3", never quoted, never NULL. */
static enum fa_err put_vector(struct ctx *x, const struct fa_pgjson_type *t,
			      const char *s, size_t n, int depth)
{
	const char *p = s, *end = s + n, *w;
	enum fa_err rc = fa_buf_putc(x->out, '[');

	while (!rc && p < end) {
		for (w = p; p < end && *p != ' '; p++)
			;
		if (w != s && (rc = fa_buf_putc(x->out, ',')))
			return rc;
		if (p == w)
			return FA_EINPUT;
		rc = put_value(x, t->elem, w, p - w, depth + 1);
		if (p < end && ++p == end)
			return FA_EINPUT;
	}
	return rc ? rc : fa_buf_putc(x->out, ']');
}

static enum fa_err put_array(struct ctx *x, const struct fa_pgjson_type *t,
			     const char *s, size_t n, int depth)
{
	const char *p = s, *end = s + n;
	enum fa_err rc;

	if (!t->elem)
		return FA_EINPUT;
	if (t->vector)
		return put_vector(x, t, s, n, depth);
	if (!skip_bounds(&p, end))
		return FA_EINPUT;
	if ((rc = put_level(x, t, &p, end, 0, depth)))
		return rc;
	return p == end ? FA_OK : FA_EINPUT;
}

/*
 * One field of a record at *pp, up to the ',' or ')' after it, unescaped
 * into dst; *null when it was empty (record_out's NULL).  Quotes may
 * start and stop anywhere, "" inside them is a quote, and a backslash
 * takes the next byte as it is, as record_in reads them.
 */
static enum fa_err take_field(const char **pp, const char *end, struct fa_buf *dst, bool *null)
{
	const char *p = *pp, *run;
	bool quoted = false;
	enum fa_err rc;

	*null = p < end && (*p == ',' || *p == ')');
	for (run = p; p < end; p++) {
		if (!quoted && (*p == ',' || *p == ')'))
			break;
		if (*p != '"' && *p != '\\')
			continue;
		if ((rc = fa_buf_append(dst, run, p - run)))
			return rc;
		if (*p == '\\') {
			if (++p == end)
				return FA_EINPUT;
			run = p;
		} else if (quoted && p + 1 < end && p[1] == '"') {
			run = ++p;
		} else {
			quoted = !quoted;
			run = p + 1;
		}
	}
	if (quoted || p == end)
		return FA_EINPUT;
	*pp = p;
	return fa_buf_append(dst, run, p - run);
}

static enum fa_err put_record(struct ctx *x, const struct fa_pgjson_type *t,
			      const char *s, size_t n, int depth)
{
	const char *p = s, *end = s + n;
	struct fa_buf *dst = &x->sc->level[depth];
	enum fa_err rc;
	bool null;
	int i;

	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return FA_EINPUT;
	if (t->nfields == 0)
		return n == 2 ? fa_buf_append(x->out, "{}", 2) : FA_EINPUT;
	if ((rc = fa_buf_putc(x->out, '{')))
		return rc;
	for (i = 0, p++; ; i++, p++) {
		const struct fa_pgjson_field *f = &t->fields[i];

		fa_buf_reset(dst);
		if ((i > 0 && (rc = fa_buf_putc(x->out, ','))) ||
		    (rc = fa_json_put_key(x->out, f->name, strlen(f->name))) ||
		    (rc = take_field(&p, end, dst, &null)))
			return rc;
		if (null)
			rc = fa_buf_append(x->out, "null", 4);
		else
			rc = put_value(x, f->type, dst->data ? dst->data : "", dst->len,
				       depth + 1);
		if (rc)
			return rc;
		if (*p == ')')
			break;
		if (i + 1 == t->nfields)        /* more fields than the type has */
			return FA_EINPUT;
	}
	/* as many fields as the type has, and nothing after the ')' */
	if (i + 1 != t->nfields || p + 1 != end)
		return FA_EINPUT;
	return fa_buf_putc(x->out, '}');
}

static enum fa_err put_value(struct ctx *x, const struct fa_pgjson_type *t,
			     const char *s, size_t n, int depth)
{
	if (depth >= FA_PGJSON_DEPTH)
		return FA_EINPUT;
	switch (t->kind) {
	case FA_PGJSON_NUMBER:
		if (fa_json_is_number(s, n))
			return fa_buf_append(x->out, s, n);
		break;
	case FA_PGJSON_BOOL:
		if (n == 1 && (*s == 't' || *s == 'f'))
			return fa_buf_puts(x->out, *s == 't' ? "true" : "false");
		break;
	case FA_PGJSON_RAW:
		if (n > 0)
			return fa_buf_append(x->out, s, n);
		break;
	case FA_PGJSON_TIMESTAMP:
	case FA_PGJSON_TIMESTAMPTZ:
		return put_timestamp(x, s, n, t->kind == FA_PGJSON_TIMESTAMPTZ);
	case FA_PGJSON_ARRAY:
		return put_array(x, t, s, n, depth);
	case FA_PGJSON_RECORD:
		return put_record(x, t, s, n, depth);
	case FA_PGJSON_STRING:
		break;
	}
	return fa_json_put_string(x->out, s, n);
}

enum fa_err fa_pgjson_put(struct fa_buf *out, const struct fa_pgjson_type *t,
			  const char *s, size_t n, struct fa_pgjson_scratch *sc)
{
	struct ctx x = { out, sc };
	size_t mark = out->len;
	enum fa_err rc = put_value(&x, t, s, n, 0);

	if (rc != FA_EINPUT)
		return rc;
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return fa_json_put_string(out, s, n);
}
