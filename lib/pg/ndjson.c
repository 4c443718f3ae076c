#include "pg/ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* Deeper nesting is refused, so hostile input cannot exhaust the stack. */
#define MAX_DEPTH 1000
/* Longest piece of an unknown key quoted in a message. */
#define KEY_SHOWN 64

enum kind { K_STRING = 1, K_NUMBER, K_TRUE, K_FALSE, K_NULL, K_NESTED };

struct fa_ndjson_val {
	size_t off, len;        /* the value's bytes in the line */
	unsigned char kind;     /* enum kind */
	bool escaped;           /* a string holding a backslash escape */
};

/* A scan of one line; flags describe the string scanned last. */
struct scan {
	const char *start, *end;
	struct fa_error *err;
	bool escaped, nul;
};

/* ---- lexing and validation ---------------------------------------- */

static size_t pos(const struct scan *s, const char *at)
{
	return (size_t)(at - s->start) + 1;
}

static const char *bad(struct scan *s, const char *at, const char *what)
{
	fa_error_set(s->err, FA_EINPUT, "byte %zu: invalid JSON: %s",
		     pos(s, at), what);
	return NULL;
}

/* Names what was found at p where `want` was expected. */
static const char *unexpected(struct scan *s, const char *p, const char *want)
{
	unsigned char c;

	if (p == s->end) {
		fa_error_set(s->err, FA_EINPUT, "byte %zu: invalid JSON: "
			     "unexpected end of line, expected %s", pos(s, p),
			     want);
		return NULL;
	}
	c = (unsigned char)*p;
	if (c > 0x20 && c < 0x7f)
		fa_error_set(s->err, FA_EINPUT, "byte %zu: invalid JSON: "
			     "unexpected '%c', expected %s", pos(s, p), c,
			     want);
	else
		fa_error_set(s->err, FA_EINPUT, "byte %zu: invalid JSON: "
			     "unexpected byte 0x%02x, expected %s", pos(s, p),
			     c, want);
	return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The value of four hex digits at p, or -1. */
static long hex4(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Checks the escape at q (a backslash); returns the byte after it. */
static const char *scan_escape(struct scan *s, const char *q)
{
	long cp, lo;

	s->escaped = true;
	if (s->end - q < 2)
		return unexpected(s, s->end, "'\"'");
	if (strchr("\"\\/bfnrt", q[1]) && q[1] != '\0')
		return q + 2;
	if (q[1] != 'u')
		return bad(s, q, "invalid escape in a string");
	cp = s->end - q >= 6 ? hex4(q + 2) : -1;
	if (cp < 0)
		return bad(s, q, "\\u must be followed by four hex digits");
	if (cp == 0)
		s->nul = true;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return bad(s, q, "lone low surrogate in \\u escape");
	if (cp < 0xd800 || cp > 0xdbff)
		return q + 6;
	lo = s->end - q >= 12 && q[6] == '\\' && q[7] == 'u' ? hex4(q + 8) : -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return bad(s, q,
			   "high surrogate in \\u escape without a low one");
	return q + 12;
}

/* Checks the string at p (a quote); returns the byte after its end. */
static const char *scan_string(struct scan *s, const char *p)
{
	const unsigned char *q = (const unsigned char *)p + 1;
	const unsigned char *end = (const unsigned char *)s->end;
	unsigned int cp;
	int n;

	s->escaped = s->nul = false;
	for (;;) {
		while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' &&
		       *q != '\\')
			q++;
		if (q == end)
			return unexpected(s, s->end, "'\"' to end the string");
		if (*q == '"')
			return (const char *)q + 1;
		if (*q == '\\') {
			q = (const unsigned char *)
				scan_escape(s, (const char *)q);
			if (!q)
				return NULL;
			continue;
		}
		if (*q < 0x20)
			return bad(s, (const char *)q,
				   "control character in a string");
		n = fa_json_utf8_decode((const char *)q, end - q, &cp);
		if (n == 0)
			return bad(s, (const char *)q, "invalid UTF-8");
		q += n;
	}
}

static const char *scan_number(struct scan *s, const char *p)
{
	const char *q = p, *end = s->end;

	if (*q == '-')
		q++;
	if (q == end || !is_digit(*q))
		return bad(s, p, "invalid number");
	if (*q == '0')
		q++;
	else
		while (q < end && is_digit(*q))
			q++;
	if (q < end && *q == '.') {
		if (++q == end || !is_digit(*q))
			return bad(s, p, "invalid number");
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q == end || !is_digit(*q))
			return bad(s, p, "invalid number");
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && (is_digit(*q) || *q == '.' || *q == 'e' || *q == 'E'))
		return bad(s, p, "invalid number");
	return q;
}

static const char *scan_word(struct scan *s, const char *p, const char *word,
			     size_t n)
{
	if ((size_t)(s->end - p) < n || memcmp(p, word, n) != 0)
		return unexpected(s, p, "a value");
	return p + n;
}

static const char *scan_value(struct scan *s, const char *p, int depth,
			      enum kind *kind);

static const char *scan_object(struct scan *s, const char *p, int depth)
{
	enum kind kind;

	if (depth > MAX_DEPTH)
		return bad(s, p, "nested more than 1000 levels deep");
	p = skip_ws(p + 1, s->end);
	if (p < s->end && *p == '}')
		return p + 1;
	for (;;) {
		if (p == s->end || *p != '"')
			return unexpected(s, p, "a string key");
		if (!(p = scan_string(s, p)))
			return NULL;
		p = skip_ws(p, s->end);
		if (p == s->end || *p != ':')
			return unexpected(s, p, "':' after a key");
		p = scan_value(s, skip_ws(p + 1, s->end), depth, &kind);
		if (!p)
			return NULL;
		p = skip_ws(p, s->end);
		if (p < s->end && *p == '}')
			return p + 1;
		if (p == s->end || *p != ',')
			return unexpected(s, p, "',' or '}'");
		p = skip_ws(p + 1, s->end);
	}
}

static const char *scan_array(struct scan *s, const char *p, int depth)
{
	enum kind kind;

	if (depth > MAX_DEPTH)
		return bad(s, p, "nested more than 1000 levels deep");
	p = skip_ws(p + 1, s->end);
	if (p < s->end && *p == ']')
		return p + 1;
	for (;;) {
		if (!(p = scan_value(s, p, depth, &kind)))
			return NULL;
		p = skip_ws(p, s->end);
		if (p < s->end && *p == ']')
			return p + 1;
		if (p == s->end || *p != ',')
			return unexpected(s, p, "',' or ']'");
		p = skip_ws(p + 1, s->end);
	}
}

/* Checks the value at p; returns the byte after it and its kind. */
static const char *scan_value(struct scan *s, const char *p, int depth,
			      enum kind *kind)
{
	if (p == s->end)
		return unexpected(s, p, "a value");
	switch (*p) {
	case '"':
		*kind = K_STRING;
		return scan_string(s, p);
	case '{':
		*kind = K_NESTED;
		return scan_object(s, p, depth + 1);
	case '[':
		*kind = K_NESTED;
		return scan_array(s, p, depth + 1);
	case 't':
		*kind = K_TRUE;
		return scan_word(s, p, "true", 4);
	case 'f':
		*kind = K_FALSE;
		return scan_word(s, p, "false", 5);
	case 'n':
		*kind = K_NULL;
		return scan_word(s, p, "null", 4);
	default:
		*kind = K_NUMBER;
		if (*p == '-' || is_digit(*p))
			return scan_number(s, p);
		return unexpected(s, p, "a value");
	}
}

/* ---- decoding ------------------------------------------------------ */

static int utf8_encode(unsigned long cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the validated escape at q into u (up to 4 bytes of UTF-8);
 * returns the byte count and sets *used to the escape's length.
 */
static int decode_escape(const char *q, char *u, int *used)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	const char *f;
	long cp, lo;

	*used = 2;
	if (q[1] != 'u') {
		f = strchr(from, q[1]);
		u[0] = f ? to[f - from] : q[1];
		return 1;
	}
	cp = hex4(q + 2);
	*used = 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		lo = hex4(q + 8);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*used = 12;
	}
	return utf8_encode((unsigned long)cp, u);
}

/* ---- columns -------------------------------------------------------- */

static unsigned int hash(const char *p, size_t n)
{
	unsigned int h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

/* The slot holding name[0..n), or the empty slot where it would go. */
static unsigned int find_slot(const struct fa_ndjson *m, const char *name,
			      size_t n)
{
	unsigned int i = hash(name, n) & m->mask;
	int c;

	while ((c = m->slots[i]) >= 0) {
		if (m->name_len[c] == n &&
		    memcmp(m->cols[c].name, name, n) == 0)
			break;
		i = (i + 1) & m->mask;
	}
	return i;
}

/* The column whose name is the key string at key (its quote), or -1. */
static int lookup_key(struct fa_ndjson *m, const char *key, const char *after,
		      bool escaped)
{
	const char *p = key + 1, *end = after - 1;
	size_t n = 0;
	char u[4];
	int k, used;

	if (!escaped)
		return m->slots[find_slot(m, p, end - p)];
	while (p < end) {
		if (*p == '\\') {
			k = decode_escape(p, u, &used);
			p += used;
		} else {
			u[0] = *p++;
			k = 1;
		}
		if (n + k > m->max_name)
			return -1;
		memcpy(m->key + n, u, k);
		n += k;
	}
	return m->slots[find_slot(m, m->key, n)];
}

static bool is_json_type(unsigned int type)
{
	return type == FA_NDJSON_JSON || type == FA_NDJSON_JSONB;
}

static enum fa_err alloc_tables(struct fa_ndjson *m,
				const struct fa_ndjson_col *cols, int ncols)
{
	size_t names = 0, size = 8, i;
	char *w;

	for (i = 0; i < (size_t)ncols; i++) {
		names += strlen(cols[i].name) + 1;
		if (strlen(cols[i].name) > m->max_name)
			m->max_name = strlen(cols[i].name);
	}
	while (size < 2 * (size_t)ncols)
		size *= 2;
	m->mask = (unsigned int)size - 1;
	m->cols = malloc(ncols * sizeof(*m->cols) + names);
	m->name_len = malloc(ncols * sizeof(*m->name_len));
	m->slots = malloc(size * sizeof(*m->slots));
	m->key = malloc(m->max_name + 1);
	m->vals = malloc(ncols * sizeof(*m->vals));
	m->present = calloc(FA_NDJSON_WORDS(ncols), sizeof(*m->present));
	if (!m->cols || !m->name_len || !m->slots || !m->key || !m->vals ||
	    !m->present)
		return FA_ENOMEM;
	w = (char *)(m->cols + ncols);
	for (i = 0; i < (size_t)ncols; i++) {
		m->name_len[i] = strlen(cols[i].name);
		memcpy(w, cols[i].name, m->name_len[i] + 1);
		m->cols[i].name = w;
		m->cols[i].type = cols[i].type;
		w += m->name_len[i] + 1;
	}
	memset(m->slots, 0xff, size * sizeof(*m->slots));
	return FA_OK;
}

enum fa_err fa_ndjson_init(struct fa_ndjson *m,
			   const struct fa_ndjson_col *cols, int ncols,
			   bool strict_extra, struct fa_error *err)
{
	unsigned int slot;
	int i;

	memset(m, 0, sizeof(*m));
	if (ncols < 1 || ncols > (1 << 20))
		return fa_error_set(err, FA_EUSAGE,
				    "ndjson: %d columns: need 1 to %d", ncols,
				    1 << 20);
	m->ncols = ncols;
	m->strict_extra = strict_extra;
	if (alloc_tables(m, cols, ncols) != FA_OK) {
		fa_ndjson_release(m);
		return fa_error_set(err, FA_ENOMEM,
				    "ndjson: out of memory for %d columns",
				    ncols);
	}
	for (i = 0; i < ncols; i++) {
		slot = find_slot(m, m->cols[i].name, m->name_len[i]);
		if (m->slots[slot] >= 0) {
			fa_error_set(err, FA_EUSAGE, "column \"%s\" "
				     "listed twice", cols[i].name);
			fa_ndjson_release(m);
			return FA_EUSAGE;
		}
		m->slots[slot] = i;
	}
	return FA_OK;
}

void fa_ndjson_release(struct fa_ndjson *m)
{
	free(m->cols);
	free(m->name_len);
	free(m->slots);
	free(m->key);
	free(m->vals);
	free(m->present);
	memset(m, 0, sizeof(*m));
}

/* ---- parsing a line ------------------------------------------------- */

static const char *no_column(struct scan *s, const char *key,
			     const char *after)
{
	int n = (int)(after - key - 2);

	if (n > KEY_SHOWN) {
		n = KEY_SHOWN;
		while (n > 0 && ((unsigned char)key[1 + n] & 0xc0) == 0x80)
			n--;	/* do not cut a UTF-8 sequence */
	}
	fa_error_set(s->err, FA_EINPUT, "key \"%.*s%s\" at byte %zu: "
		     "no such column", n, key + 1,
		     n < after - key - 2 ? "..." : "", pos(s, key));
	return NULL;
}

/* Records the value v..end of kind for column col. */
static bool record(struct fa_ndjson *m, struct scan *s, int col,
		  const char *v, const char *end, enum kind kind)
{
	struct fa_ndjson_val *val = &m->vals[col];

	if (kind == K_STRING && s->nul && !is_json_type(m->cols[col].type)) {
		fa_error_set(s->err, FA_EINPUT, "column \"%s\" at byte %zu: "
			     "\\u0000 cannot be converted to text",
			     m->cols[col].name, pos(s, v));
		return false;
	}
	val->off = (size_t)(v - s->start);
	val->len = (size_t)(end - v);
	val->kind = (unsigned char)kind;
	val->escaped = kind == K_STRING && s->escaped;
	m->present[col / 64] |= (uint64_t)1 << (col % 64);
	return true;
}

/* One "key": value pair at p; returns the byte after the value. */
static const char *parse_member(struct fa_ndjson *m, struct scan *s,
				const char *p)
{
	const char *key = p, *v;
	enum kind kind;
	int col;

	if (p == s->end || *p != '"')
		return unexpected(s, p, "a string key");
	if (!(p = scan_string(s, p)))
		return NULL;
	col = lookup_key(m, key, p, s->escaped);
	if (col < 0 && m->strict_extra)
		return no_column(s, key, p);
	if (col >= 0 && fa_ndjson_has(m->present, col)) {
		fa_error_set(s->err, FA_EINPUT, "column \"%s\" at byte %zu: "
			     "duplicate key", m->cols[col].name, pos(s, key));
		return NULL;
	}
	p = skip_ws(p, s->end);
	if (p == s->end || *p != ':')
		return unexpected(s, p, "':' after a key");
	v = skip_ws(p + 1, s->end);
	if (!(p = scan_value(s, v, 0, &kind)))
		return NULL;
	if (col >= 0 && !record(m, s, col, v, p, kind))
		return NULL;
	return p;
}

/* The members of the top-level object after its '{'; returns after '}'. */
static const char *parse_members(struct fa_ndjson *m, struct scan *s,
				 const char *p)
{
	p = skip_ws(p, s->end);
	if (p < s->end && *p == '}')
		return p + 1;
	for (;;) {
		if (!(p = parse_member(m, s, p)))
			return NULL;
		p = skip_ws(p, s->end);
		if (p < s->end && *p == '}')
			return p + 1;
		if (p == s->end || *p != ',')
			return unexpected(s, p, "',' or '}'");
		p = skip_ws(p + 1, s->end);
	}
}

int fa_ndjson_parse(struct fa_ndjson *m, const char *line, size_t len,
		    uint64_t *present, struct fa_error *err)
{
	struct scan s = { line, line + len, err, false, false };
	size_t words = FA_NDJSON_WORDS(m->ncols) * sizeof(*m->present);
	const char *p = skip_ws(line, s.end);

	memset(m->present, 0, words);
	m->line = line;
	if (p == s.end) {
		if (present)
			memset(present, 0, words);
		return 0;
	}
	if (*p != '{') {
		fa_error_set(err, FA_EINPUT, "byte %zu: not a JSON object",
			     pos(&s, p));
		return -1;
	}
	if (!(p = parse_members(m, &s, p + 1)))
		return -1;
	p = skip_ws(p, s.end);
	if (p != s.end) {
		unexpected(&s, p, "the end of the line after the object");
		return -1;
	}
	if (present)
		memcpy(present, m->present, words);
	return 1;
}

/* ---- emitting COPY text --------------------------------------------- */

/* Writes the decoded bytes u[0..k) with COPY text escaping. */
static char *copy_escaped(char *w, const char *u, int k)
{
	static const char from[] = "\\\t\n\r\b\f\v", to[] = "\\tnrbfv";
	const char *f;

	if (k == 1 && u[0] != '\0' && (f = strchr(from, u[0]))) {
		*w++ = '\\';
		*w++ = to[f - from];
		return w;
	}
	memcpy(w, u, k);
	return w + k;
}

/*
 * The contents of a validated JSON string, unescaped, as COPY text.  No
 * escape grows (\u0009 becomes \t, "\\" stays two bytes), so len bytes of
 * room are enough.
 */
static enum fa_err put_text(struct fa_buf *out, const char *p, size_t len)
{
	const char *end = p + len, *run;
	char *w, u[4];
	int k, used;

	if (fa_buf_grow(out, len) != FA_OK)
		return FA_ENOMEM;
	w = out->data + out->len;
	while (p < end) {
		run = memchr(p, '\\', end - p);
		if (!run)
			run = end;
		memcpy(w, p, run - p);
		w += run - p;
		if ((p = run) == end)
			break;
		k = decode_escape(p, u, &used);
		p += used;
		w = copy_escaped(w, u, k);
	}
	out->len = w - out->data;
	*w = '\0';
	return FA_OK;
}

/*
 * A validated JSON value as compact JSON in COPY text: whitespace outside
 * strings dropped, every backslash doubled (a valid JSON text has no raw
 * tab, newline or CR inside strings), so 2 * len bytes are enough.
 */
static enum fa_err put_json(struct fa_buf *out, const char *p, size_t len)
{
	const char *end = p + len;
	bool in_string = false;
	char *w;

	if (fa_buf_grow(out, 2 * len) != FA_OK)
		return FA_ENOMEM;
	w = out->data + out->len;
	for (; p < end; p++) {
		if (!in_string && (*p == ' ' || *p == '\t' || *p == '\n' ||
				   *p == '\r'))
			continue;
		if (*p == '"')
			in_string = !in_string;
		*w++ = *p;
		if (*p != '\\')
			continue;
		*w++ = '\\';
		if (*++p == '\\')
			*w++ = '\\';
		*w++ = *p;
	}
	out->len = w - out->data;
	*w = '\0';
	return FA_OK;
}

static enum fa_err put_value(const struct fa_ndjson *m, int col,
			     struct fa_buf *out)
{
	const struct fa_ndjson_val *v = &m->vals[col];
	unsigned int type = m->cols[col].type;
	const char *p;

	if (!fa_ndjson_has(m->present, col))
		return fa_buf_append(out, "\\N", 2);
	p = m->line + v->off;	/* vals of absent columns are stale */
	switch ((enum kind)v->kind) {
	case K_STRING:
		if (is_json_type(type))
			return v->escaped ? put_json(out, p, v->len) :
					    fa_buf_append(out, p, v->len);
		if (!v->escaped)
			return fa_buf_append(out, p + 1, v->len - 2);
		return put_text(out, p + 1, v->len - 2);
	case K_NUMBER:
		return fa_buf_append(out, p, v->len);
	case K_TRUE:
		return fa_buf_puts(out, type == FA_NDJSON_BOOL ? "t" : "true");
	case K_FALSE:
		return fa_buf_puts(out, type == FA_NDJSON_BOOL ? "f" : "false");
	case K_NESTED:
		return put_json(out, p, v->len);
	case K_NULL:
	default:
		return fa_buf_append(out, "\\N", 2);
	}
}

enum fa_err fa_ndjson_emit(const struct fa_ndjson *m, bool only_present,
			   struct fa_buf *out, struct fa_error *err)
{
	size_t mark = out->len;
	bool first = true;
	int i;

	for (i = 0; i < m->ncols; i++) {
		if (only_present && !fa_ndjson_has(m->present, i))
			continue;
		if (!first && fa_buf_putc(out, '\t') != FA_OK)
			goto full;
		first = false;
		if (put_value(m, i, out) != FA_OK)
			goto full;
	}
	if (fa_buf_putc(out, '\n') == FA_OK)
		return FA_OK;
full:
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return fa_error_set(err, FA_ENOMEM, "COPY row does not fit in the "
			    "buffer limit of %zu bytes", out->max);
}

int fa_ndjson_row(struct fa_ndjson *m, const char *line, size_t len,
		  struct fa_buf *out, uint64_t *present, struct fa_error *err)
{
	int rc = fa_ndjson_parse(m, line, len, present, err);

	if (rc <= 0)
		return rc;
	return fa_ndjson_emit(m, false, out, err) == FA_OK ? 1 : -1;
}
