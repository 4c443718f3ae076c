#include "pg/sqlfile.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/opt.h"
#include "pg/sqlsplit.h"

/*
 * A file is read line by line.  While the lexer has nothing pending, a
 * line is a blank, a "--" comment, a lone ';' or the first line of a
 * statement: consecutive comment lines form a group, and a group holding
 * "key: value" lines is the header of the statement that starts on the
 * next line.  Two lexers run side by side over the same lines: one turns
 * :name into $n through its variable callback, the other leaves the text
 * as written so that positional $n typed by hand can be caught.
 */

#define NAME_MAX_LEN 63         /* a prepared statement name, an identifier */
#define ROUTE_MAX_SEGS 32

static const struct {
	const char *name;
	enum fa_method bit;
} methods[] = {
	{ "GET", FA_METHOD_GET }, { "POST", FA_METHOD_POST },
	{ "PUT", FA_METHOD_PUT }, { "PATCH", FA_METHOD_PATCH },
	{ "DELETE", FA_METHOD_DELETE }, { "WS", FA_METHOD_WS },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

enum key {
	KEY_NAME, KEY_ROUTE, KEY_TOOL, KEY_PARAM, KEY_RETURNS, KEY_TIMEOUT,
	KEY_LIMIT, KEY_LISTEN, KEY_CACHE, KEY_RESOURCE, KEY_PROMPT, KEY_ARG,
	KEY_CONTENT, KEY_SCHEMA, KEY_AUTH, NKEYS
};

static const char *const key_names[NKEYS] = {
	"name", "route", "tool", "param", "returns", "timeout", "limit",
	"listen", "cache", "resource", "prompt", "arg", "content", "schema", "auth",
};

/* Keys that may be given more than once. */
static bool repeatable(enum key k)
{
	return k == KEY_PARAM || k == KEY_ARG || k == KEY_CONTENT || k == KEY_SCHEMA;
}

/* A header being gathered, then the statement it annotates. */
struct block {
	int line;               /* the group's first line; 0 when empty */
	bool keys;              /* it holds key lines: it is a header */
	int key_line[NKEYS];    /* where each key was seen (param: the last) */
	struct fa_query q;      /* params in declaration order until done */
	int *first_use;         /* per declared param: its $n - 1, or -1 */
	int nused;
	struct fa_buf desc;
	bool desc_gap;          /* an empty comment line since the last text */
};

struct parser {
	const char *file;
	struct fa_error *err;
	bool failed;
	int lineno;
	struct fa_sqlsplit sp;  /* :name becomes $n */
	struct fa_sqlsplit raw; /* text as written */
	struct block group;     /* comment lines gathered so far */
	struct block stmt;      /* the header of the statement being lexed */
	bool in_stmt;
	const char *last_name;  /* the last block done, for messages */
	int last_line;
	bool after_block;       /* nothing but code since it ended */
	char subst[16];         /* the callback's "$n" */
	struct fa_buf line;     /* a comment's text, NUL-terminated */
	struct fa_query *out;
	size_t nout, capout;
};

/* ---- errors and small helpers ---------------------------------------- */

static int fail(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int line, const char *fmt, ...)
{
	char msg[sizeof(p->err->msg)];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fa_error_set(p->err, FA_EINPUT, "%s:%d: %s", p->file, line, msg);
	p->failed = true;
	return -1;
}

static int nomem(struct parser *p)
{
	if (!p->failed)
		fa_error_set(p->err, FA_ENOMEM, "%s: out of memory", p->file);
	p->failed = true;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static const char *skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* [a-z0-9_]{1,63} ([a-zA-Z0-9_] when upper_ok), not starting with a
 * digit unless digit_ok. */
static bool ident_chars(const char *s, size_t n, bool digit_ok, bool upper_ok)
{
	size_t i;

	if (n == 0 || n > NAME_MAX_LEN ||
	    (!digit_ok && isdigit((unsigned char)s[0])))
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '_' && !(upper_ok && isupper((unsigned char)s[i])))
			return false;
	return true;
}

static bool is_ident(const char *s, size_t n, bool digit_ok)
{
	return ident_chars(s, n, digit_ok, false);
}

/* A parameter's name: case matters, so camelCase names that JSON and MCP
 * clients use (resourceUri) can be declared as they are. */
static bool is_param_name(const char *s, size_t n)
{
	return ident_chars(s, n, false, true);
}

static char *dup_n(struct parser *p, const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d) {
		nomem(p);
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *dup_s(struct parser *p, const char *s)
{
	return dup_n(p, s, strlen(s));
}

/* Digits into *v (no sign); false when empty, not all digits, or > max. */
static bool parse_count(const char *s, size_t n, unsigned long long max,
			unsigned long long *v)
{
	size_t i;

	*v = 0;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		if (*v > (max - (unsigned)(s[i] - '0')) / 10)
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* ---- queries ----------------------------------------------------------- */

static void query_release(struct fa_query *q)
{
	int i;

	free(q->name);
	free(q->path);
	free(q->tool);
	free(q->description);
	free(q->sql);
	free(q->listen);
	free(q->resource);
	free(q->mime);
	free(q->prompt);
	for (i = 0; i < q->ncontent; i++) {
		free(q->content[i].column);
		free(q->content[i].mime);
		free(q->content[i].uri);
	}
	free(q->content);
	for (i = 0; i < q->nparams; i++) {
		free(q->params[i].name);
		free(q->params[i].def);
		free(q->params[i].description);
		free(q->params[i].schema);
	}
	free(q->params);
	for (i = 0; i < q->nsegs; i++)
		free(q->segs[i].text);
	free(q->segs);
	memset(q, 0, sizeof(*q));
}

static void block_init(struct block *b)
{
	memset(b, 0, sizeof(*b));
	b->q.cache_s = -1;
	fa_buf_init(&b->desc, 0);
}

static void block_release(struct block *b)
{
	query_release(&b->q);
	free(b->first_use);
	fa_buf_release(&b->desc);
	block_init(b);
}

/* Moves *from into *to (which must be empty) and empties *from. */
static void block_move(struct block *to, struct block *from)
{
	*to = *from;
	block_init(from);
}

static int find_param(const struct fa_query *q, const char *name, size_t n)
{
	int i;

	for (i = 0; i < q->nparams; i++)
		if (strlen(q->params[i].name) == n &&
		    memcmp(q->params[i].name, name, n) == 0)
			return i;
	return -1;
}

/* ---- keys ---------------------------------------------------------------- */

static int key_name(struct parser *p, struct block *b, const char *v, int line)
{
	if (!is_ident(v, strlen(v), true))
		return fail(p, line, "bad name '%s': use 1 to %d of a-z, 0-9 and _",
			    v, NAME_MAX_LEN);
	return (b->q.name = dup_s(p, v)) ? 0 : -1;
}

/* One segment of a route path: a literal or :name, not a repeated :name. */
static int check_segment(struct parser *p, const struct fa_qseg *segs, int n,
			 const char *s, size_t len, int line)
{
	static const char literal[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
	int i;

	if (s[0] != ':') {
		if (strspn(s, literal) < len || strncmp(s, ".", len) == 0 ||
		    strncmp(s, "..", len) == 0)
			return fail(p, line, "bad route segment '%.*s': use A-Z, "
				    "a-z, 0-9, '-', '.', '_' and '~', or :name",
				    (int)len, s);
		return 0;
	}
	if (!is_param_name(s + 1, len - 1))
		return fail(p, line, "bad route parameter '%.*s': use :name with "
			    "a-z, A-Z, 0-9 and _", (int)len, s);
	for (i = 0; i < n; i++)
		if (segs[i].param == 0 && strlen(segs[i].text) == len - 1 &&
		    memcmp(segs[i].text, s + 1, len - 1) == 0)
			return fail(p, line, "route parameter '%.*s' appears twice",
				    (int)len, s);
	return 0;
}

/* "/a/:id/b" into segments; the :params are resolved when the block ends. */
static int parse_path(struct parser *p, struct block *b, const char *path,
		      int line)
{
	const char *s, *e;
	struct fa_qseg *segs;
	size_t len;
	int n = 0;

	if (*path != '/')
		return fail(p, line, "route path '%s' must start with '/'", path);
	if (!(segs = b->q.segs = calloc(ROUTE_MAX_SEGS, sizeof(*segs))))
		return nomem(p);
	if (strcmp(path, "/") == 0)
		return 0;
	for (s = path + 1;; s = e + 1) {
		e = s + strcspn(s, "/");
		len = (size_t)(e - s);
		if (len == 0)
			return fail(p, line, "route path '%s' has an empty segment "
				    "(no '//' and no trailing '/')", path);
		if (n == ROUTE_MAX_SEGS)
			return fail(p, line, "route path '%s' has more than %d "
				    "segments", path, ROUTE_MAX_SEGS);
		if (check_segment(p, segs, n, s, len, line) < 0)
			return -1;
		segs[n].param = *s == ':' ? 0 : -1;    /* 0: index set later */
		if (*s == ':')
			s++, len--;
		if (!(segs[n].text = dup_n(p, s, len)))
			return -1;
		b->q.nsegs = ++n;
		if (*e == '\0')
			return 0;
	}
}

static int key_route(struct parser *p, struct block *b, const char *v, int line)
{
	size_t mlen = strcspn(v, " \t"), i;
	const char *path = skip_blanks(v + mlen);

	for (i = 0; i < NMETHODS; i++)
		if (strlen(methods[i].name) == mlen &&
		    memcmp(methods[i].name, v, mlen) == 0)
			break;
	if (i == NMETHODS)
		return fail(p, line, "bad route method '%.*s': use GET, POST, PUT, "
			    "PATCH, DELETE or WS", (int)mlen, v);
	if (*path == '\0' || path[strcspn(path, " \t")] != '\0')
		return fail(p, line, "bad route '%s': write METHOD /path", v);
	b->q.method = methods[i].name;
	b->q.method_bit = methods[i].bit;
	if (!(b->q.path = dup_s(p, path)))
		return -1;
	return parse_path(p, b, path, line);
}

/* The TYPE of a param line, "int" or "int[]". */
static int param_type(struct parser *p, struct fa_qparam *qp, const char *t,
		      size_t n, int line)
{
	qp->array = n > 2 && t[n - 2] == '[' && t[n - 1] == ']';
	if (qp->array)
		n -= 2;
	if (!fa_pgtext_type_parse(t, n, &qp->type))
		return fail(p, line, "unknown type '%.*s' for parameter '%s': use "
			    "text, int, bigint, numeric, float, bool, date, "
			    "timestamptz, uuid, json or jsonb, or one of them "
			    "followed by []", (int)(n + (qp->array ? 2 : 0)), t,
			    qp->name);
	qp->oid = fa_pgtext_type_oid(qp->type, qp->array);
	return 0;
}

/* "= DEFAULT": a word, 'quoted text' or null; *s moves past it. */
static int param_default(struct parser *p, struct fa_qparam *qp,
			 const char **s, int line)
{
	const char *v = skip_blanks(*s + 1), *e;
	struct fa_buf b;
	struct fa_error cerr;

	qp->optional = true;
	if (*v == '\'') {
		fa_buf_init(&b, 0);
		for (e = v + 1; *e && !(*e == '\'' && e[1] != '\''); e++) {
			if (fa_buf_putc(&b, *e) != FA_OK)
				return fa_buf_release(&b), nomem(p);
			if (*e == '\'')
				e++;
		}
		if (*e != '\'') {
			fa_buf_release(&b);
			return fail(p, line, "unterminated quoted default for "
				    "parameter '%s'", qp->name);
		}
		if (!(qp->def = fa_buf_detach(&b, NULL)))
			return nomem(p);
		e++;
	} else {
		e = v + strcspn(v, " \t");
		if (e == v)
			return fail(p, line, "missing default after '=' for "
				    "parameter '%s'", qp->name);
		if (e - v != 4 || strncasecmp(v, "null", 4) != 0)
			if (!(qp->def = dup_n(p, v, (size_t)(e - v))))
				return -1;
	}
	if (*e != '\0' && !is_blank(*e))
		return fail(p, line, "expected a blank after the default of "
			    "parameter '%s'", qp->name);
	*s = e;
	if (qp->def && fa_qparam_check(qp, qp->def, strlen(qp->def), &cerr))
		return fail(p, line, "default of %s", cerr.msg);
	return 0;
}

/* NAME TYPE [= DEFAULT] [DESCRIPTION] */
static int key_param(struct parser *p, struct block *b, const char *v, int line)
{
	struct fa_query *q = &b->q;
	struct fa_qparam *qp, *grown;
	size_t nlen = strcspn(v, " \t="), tlen;
	const char *t;
	int *uses;

	if (!is_param_name(v, nlen))
		return fail(p, line, "bad parameter name '%.*s': use a-z, A-Z, 0-9 "
			    "and _, not starting with a digit", (int)nlen, v);
	if (find_param(q, v, nlen) >= 0)
		return fail(p, line, "parameter '%.*s' is declared twice",
			    (int)nlen, v);
	grown = realloc(q->params, ((size_t)q->nparams + 1) * sizeof(*grown));
	if (!grown)
		return nomem(p);
	q->params = grown;
	uses = realloc(b->first_use, ((size_t)q->nparams + 1) * sizeof(*uses));
	if (!uses)
		return nomem(p);
	b->first_use = uses;
	uses[q->nparams] = -1;
	qp = &q->params[q->nparams++];
	memset(qp, 0, sizeof(*qp));
	qp->line = line;
	if (!(qp->name = dup_n(p, v, nlen)))
		return -1;
	t = skip_blanks(v + nlen);
	tlen = strcspn(t, " \t=");
	if (tlen == 0)
		return fail(p, line, "parameter '%s' has no type", qp->name);
	if (param_type(p, qp, t, tlen, line) < 0)
		return -1;
	t = skip_blanks(t + tlen);
	if (*t == '=' && param_default(p, qp, &t, line) < 0)
		return -1;
	return (qp->description = dup_s(p, skip_blanks(t))) ? 0 : -1;
}

static int key_returns(struct parser *p, struct block *b, const char *v, int line)
{
	static const char *const names[] = { "many", "one", "none", "stream" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0) {
			b->q.returns = (enum fa_returns)i;
			return 0;
		}
	return fail(p, line, "bad returns '%s': use many, one, none or stream", v);
}

static int key_timeout(struct parser *p, struct block *b, const char *v, int line)
{
	long long ms;

	if (!fa_duration_ms(v, &ms))
		return fail(p, line, "bad timeout '%s': write a number and ms, s, "
			    "min or h, as in 500ms or 2s", v);
	b->q.timeout_ms = (int)ms;
	return 0;
}

static int key_limit(struct parser *p, struct block *b, const char *v, int line)
{
	unsigned long long n;

	if (!parse_count(v, strlen(v), LONG_MAX, &n) || n == 0)
		return fail(p, line, "bad limit '%s': write a positive number "
			    "of rows", v);
	b->q.limit = (long)n;
	return 0;
}

static int key_listen(struct parser *p, struct block *b, const char *v, int line)
{
	if (!is_ident(v, strlen(v), false))
		return fail(p, line, "bad listen channel '%s': use a-z, 0-9 and _, "
			    "not starting with a digit", v);
	return (b->q.listen = dup_s(p, v)) ? 0 : -1;
}

static int key_cache(struct parser *p, struct block *b, const char *v, int line)
{
	long long ms;

	if (strcmp(v, "etag") == 0) {
		b->q.cache_s = 0;
		return 0;
	}
	if (!fa_duration_ms(v, &ms) || ms % 1000 != 0)
		return fail(p, line, "bad cache '%s': write etag, or whole seconds "
			    "as in 30s or 5min", v);
	b->q.cache_s = (int)(ms / 1000);
	return 0;
}

static int key_auth(struct parser *p, struct block *b, const char *v, int line)
{
	if (strcmp(v, "required") == 0)
		b->q.auth = FA_AUTH_REQUIRED;
	else if (strcmp(v, "optional") == 0)
		b->q.auth = FA_AUTH_OPTIONAL;
	else
		return fail(p, line, "bad auth '%s': use required or optional", v);
	return 0;
}

static int key_tool(struct parser *p, struct block *b, const char *v, int line)
{
	return (b->q.tool = dup_s(p, v)) ? 0 : -1;
}

/* URI [MIME]: the statement's first row is the resource's content. */
static int key_resource(struct parser *p, struct block *b, const char *v, int line)
{
	size_t n = strcspn(v, " \t");
	const char *mime = skip_blanks(v + n);

	if (n == 0 || !memchr(v, ':', n))
		return fail(p, line, "bad resource '%s': give a URI such as "
			    "shop://items/{id}, then a MIME type if not text/plain", v);
	if (!(b->q.resource = dup_n(p, v, n)))
		return -1;
	return (b->q.mime = dup_s(p, *mime ? mime : "text/plain")) ? 0 : -1;
}

static int key_prompt(struct parser *p, struct block *b, const char *v, int line)
{
	return (b->q.prompt = dup_s(p, v)) ? 0 : -1;
}

/* NAME [DESCRIPTION]: a prompt's argument, a text parameter it needs. */
static int key_arg(struct parser *p, struct block *b, const char *v, int line)
{
	size_t n = strcspn(v, " \t");
	char *decl = malloc(strlen(v) + 8);
	int rc;

	if (!decl)
		return nomem(p);
	sprintf(decl, "%.*s text %s", (int)n, v, skip_blanks(v + n));
	rc = key_param(p, b, decl, line);
	free(decl);
	return rc;
}

/* COLUMN MIME [URI]: that column of each row as an image, audio or resource block. */
static int key_content(struct parser *p, struct block *b, const char *v, int line)
{
	struct fa_query *q = &b->q;
	struct fa_qcontent *c, *grown;
	size_t n = strcspn(v, " \t"), m;
	const char *mime = skip_blanks(v + n), *uri;

	m = strcspn(mime, " \t");
	uri = skip_blanks(mime + m);
	if (n == 0 || m == 0 || !memchr(mime, '/', m))
		return fail(p, line, "bad content '%s': write COLUMN MIME [URI], as "
			    "in 'img image/png'", v);
	if (!(grown = realloc(q->content, ((size_t)q->ncontent + 1) * sizeof(*grown))))
		return nomem(p);
	q->content = grown;
	c = &q->content[q->ncontent++];
	*c = (struct fa_qcontent){ .line = line };
	if (!(c->column = dup_n(p, v, n)) || !(c->mime = dup_n(p, mime, m)))
		return -1;
	return *uri && !(c->uri = dup_s(p, uri)) ? -1 : 0;
}

/*
 * PARAM JSON: the JSON Schema that a json or jsonb parameter's values
 * follow, an object, for MCP clients (fa-mcp puts it in the tool's
 * inputSchema); the server checks only that a value is JSON.
 */
static int key_schema(struct parser *p, struct block *b, const char *v, int line)
{
	size_t n = strcspn(v, " \t");
	const char *js = skip_blanks(v + n);
	struct fa_qparam *qp = NULL;
	json_error_t jerr;
	json_t *j;

	for (int i = 0; i < b->q.nparams && !qp; i++)
		if (strlen(b->q.params[i].name) == n && !memcmp(b->q.params[i].name, v, n))
			qp = &b->q.params[i];
	if (!n || !qp)
		return fail(p, line, "schema: no parameter '%.*s' declared above: write "
			    "'-- schema: PARAM {...}' after its param line", (int)n, v);
	if (qp->type != FA_QTYPE_JSON && qp->type != FA_QTYPE_JSONB)
		return fail(p, line, "schema: parameter '%s' is %s, not json or jsonb", qp->name,
			    fa_pgtext_type_name(qp->type));
	if (qp->schema)
		return fail(p, line, "schema: parameter '%s' has a schema already", qp->name);
	if (!(j = json_loads(js, 0, &jerr)) || !json_is_object(j)) {
		json_decref(j);
		return fail(p, line, "schema of '%s' is not a JSON object%s%s", qp->name,
			    j ? "" : ": ", j ? "" : jerr.text);
	}
	json_decref(j);
	return (qp->schema = dup_s(p, js)) ? 0 : -1;
}

static int (*const key_parsers[NKEYS])(struct parser *, struct block *,
				       const char *, int) = {
	key_name, key_route, key_tool, key_param, key_returns, key_timeout,
	key_limit, key_listen, key_cache, key_resource, key_prompt, key_arg,
	key_content, key_schema, key_auth,
};

/* ---- comment lines ----------------------------------------------------- */

/* The length of "key" when text starts "key:" followed by a blank or its end. */
static size_t key_length(const char *t)
{
	size_t n = 0;

	if (!islower((unsigned char)t[0]))
		return 0;
	while (islower((unsigned char)t[n]) || t[n] == '_')
		n++;
	if (t[n] != ':' || (t[n + 1] != '\0' && !is_blank(t[n + 1])))
		return 0;
	return n;
}

static int add_description(struct parser *p, struct block *b, const char *t)
{
	if (*t == '\0') {
		b->desc_gap = b->desc.len > 0;
		return 0;
	}
	if (b->desc.len > 0 &&
	    fa_buf_puts(&b->desc, b->desc_gap ? "\n\n" : "\n") != FA_OK)
		return nomem(p);
	b->desc_gap = false;
	return fa_buf_puts(&b->desc, t) == FA_OK ? 0 : nomem(p);
}

/* One "--" line of a group; t is its text after the dashes. */
static int comment_line(struct parser *p, const char *t, size_t n)
{
	struct block *b = &p->group;
	size_t klen, i;
	char *s;

	fa_buf_reset(&p->line);
	if (fa_buf_append(&p->line, t, n) != FA_OK || fa_buf_putc(&p->line, 0))
		return nomem(p);
	s = (char *)skip_blanks(p->line.data);
	for (i = strlen(s); i > 0 && is_blank(s[i - 1]); i--)
		s[i - 1] = '\0';
	if (b->line == 0)
		b->line = p->lineno;
	if ((klen = key_length(s)) == 0)
		return add_description(p, b, s);
	for (i = 0; i < NKEYS; i++)
		if (strlen(key_names[i]) == klen && memcmp(key_names[i], s, klen) == 0)
			break;
	if (i == NKEYS)
		return fail(p, p->lineno, "unknown key '%.*s:' (a description line "
			    "may not start with a lower-case word and a colon)",
			    (int)klen, s);
	if (b->key_line[i] && !repeatable(i))
		return fail(p, p->lineno, "'%s:' given twice (first at line %d)",
			    key_names[i], b->key_line[i]);
	b->keys = true;
	b->key_line[i] = p->lineno;
	return key_parsers[i](p, b, skip_blanks(s + klen + 1), p->lineno);
}

/* ---- blocks ------------------------------------------------------------ */

/* Each :segment of the route must be a declared param without a default. */
static int resolve_route(struct parser *p, struct block *b)
{
	struct fa_query *q = &b->q;
	int i, k, nargs = 0;

	for (i = 0; i < q->nsegs; i++) {
		if (q->segs[i].param < 0)
			continue;
		k = find_param(q, q->segs[i].text, strlen(q->segs[i].text));
		if (k < 0)
			return fail(p, b->key_line[KEY_ROUTE], "route parameter ':%s' "
				    "is not declared (add '-- param: %s TYPE')",
				    q->segs[i].text, q->segs[i].text);
		if (q->params[k].optional)
			return fail(p, q->params[k].line, "route parameter '%s' "
				    "cannot have a default", q->params[k].name);
		if (++nargs > FA_ROUTE_MAX_ARGS)
			return fail(p, b->key_line[KEY_ROUTE], "route has more than "
				    "%d parameters", FA_ROUTE_MAX_ARGS);
		q->params[k].in_path = true;
		q->segs[i].param = k;
	}
	return 0;
}

/* The checks between keys, once the whole header is known. */
/*
 * A resource URI's {name} parts are its parameters, and it has no other:
 * a client reading the URI can give nothing else.  Each part must be a
 * declared parameter.
 */
static int resource_params(struct parser *p, struct block *b)
{
	const struct fa_query *q = &b->q;
	int used = 0;

	for (const char *u = q->resource; (u = strchr(u, '{')); ) {
		size_t n = strcspn(++u, "}");
		int i = find_param(q, u, n);

		if (!u[n] || i < 0)
			return fail(p, b->key_line[KEY_RESOURCE], "resource '%s': {%.*s} %s",
				    q->resource, (int)n, u, u[n] ? "is not a declared parameter" :
				    "is not closed");
		used++;
		u += n;
	}
	if (used < q->nparams)
		return fail(p, b->key_line[KEY_RESOURCE], "resource '%s': every parameter "
			    "must be a {part} of its URI", q->resource);
	return 0;
}

static int check_keys(struct parser *p, struct block *b)
{
	struct fa_query *q = &b->q;
	const int *at = b->key_line;

	if (!q->name)
		return fail(p, b->line, q->path ? "route without a name (add "
			    "'-- name: NAME')" : "annotations without a name (add "
			    "'-- name: NAME')");
	if (q->listen && !q->path)
		return fail(p, at[KEY_LISTEN], "listen needs a GET route");
	if (q->listen && q->method_bit != FA_METHOD_GET)
		return fail(p, at[KEY_ROUTE], "a listen route must be GET");
	if (q->listen && q->tool)
		return fail(p, at[KEY_TOOL], "a listen route cannot be a tool");
	if (q->listen && at[KEY_RETURNS])
		return fail(p, at[KEY_RETURNS], "returns does not apply to a "
			    "listen route");
	if (q->limit && q->returns != FA_RETURNS_MANY &&
	    q->returns != FA_RETURNS_STREAM)
		return fail(p, at[KEY_LIMIT], "limit applies to returns many or "
			    "stream only");
	if (q->cache_s >= 0 && q->method_bit != FA_METHOD_GET)
		return fail(p, at[KEY_CACHE], "cache applies to GET routes only");
	if (q->listen && (q->resource || q->prompt))
		return fail(p, at[KEY_LISTEN], "a listen route cannot be a resource or a prompt");
	if (q->ncontent && !q->tool && !q->prompt)
		return fail(p, at[KEY_CONTENT], "content applies to tools and prompts "
			    "(add '-- tool:' or '-- prompt:')");
	if (q->resource && resource_params(p, b) < 0)
		return -1;
	return resolve_route(p, b);
}

/* Reorders params by first use, so params[i] is $(i+1). */
static int order_params(struct parser *p, struct block *b)
{
	struct fa_query *q = &b->q;
	struct fa_qparam *sorted;
	int i;

	for (i = 0; i < q->nparams; i++)
		if (b->first_use[i] < 0)
			return fail(p, q->params[i].line, "parameter '%s' is not "
				    "used in the statement", q->params[i].name);
	if (q->nparams <= 0)
		return 0;
	sorted = malloc((size_t)q->nparams * sizeof(*sorted));
	if (!sorted)
		return nomem(p);
	for (i = 0; i < q->nparams; i++)
		sorted[b->first_use[i]] = q->params[i];
	for (i = 0; i < q->nsegs; i++)
		if (q->segs[i].param >= 0)
			q->segs[i].param = b->first_use[q->segs[i].param];
	free(q->params);
	q->params = sorted;
	return 0;
}

/* Ends block b with its statement (sql "" when none) and keeps the query. */
/* ---- limit -------------------------------------------------------------- */

/* Past a quoted string, identifier, dollar quote or comment at s[i]; i when none. */
static size_t skip_quoted(const char *s, size_t i)
{
	size_t j, tag;

	if (s[i] == '-' && s[i + 1] == '-')
		return i + strcspn(s + i, "\n");
	if (s[i] == '/' && s[i + 1] == '*') {
		int depth = 1;

		for (j = i + 2; s[j] && depth; j++)
			if (s[j] == '/' && s[j + 1] == '*')
				depth++, j++;
			else if (s[j] == '*' && s[j + 1] == '/')
				depth--, j++;
		return j;
	}
	if (s[i] == '\'' || s[i] == '"') {
		bool esc = s[i] == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e');

		for (j = i + 1; s[j]; j++) {
			if (esc && s[j] == '\\' && s[j + 1])
				j++;
			else if (s[j] == s[i] && s[j + 1] == s[i])
				j++;
			else if (s[j] == s[i])
				return j + 1;
		}
		return j;
	}
	if (s[i] == '$' && !isdigit((unsigned char)s[i + 1])) {
		for (tag = i + 1; isalnum((unsigned char)s[tag]) || s[tag] == '_'; tag++)
			;
		if (s[tag] != '$')
			return i;
		tag = tag + 1 - i;      /* "$tag$" */
		for (j = i + tag; s[j]; j++)
			if (s[j] == '$' && !strncmp(s + j, s + i, tag))
				return j + tag;
		return j;
	}
	return i;
}

/* What the words of a statement say, outside quotes and comments. */
enum { W_QUERY = 1, W_WRITE = 2, W_DESTROY = 4 };

/*
 * The statement's words: W_QUERY when it starts as a query (SELECT,
 * VALUES, TABLE, or WITH); W_WRITE for any INSERT, UPDATE, DELETE, MERGE
 * or INTO (so SELECT ... FOR UPDATE and SELECT INTO count as writes);
 * W_DESTROY for UPDATE, DELETE, MERGE, TRUNCATE or DROP, which change or
 * remove what is there.
 */
static unsigned sql_words(const char *sql)
{
	static const char *const writes[] = { "insert", "update", "delete", "merge", "into" };
	static const char *const destroys[] = { "update", "delete", "merge", "truncate", "drop" };
	unsigned w = 0;
	bool first = true;
	size_t i = 0, j, n;

	while (sql[i]) {
		if ((j = skip_quoted(sql, i)) != i) {
			i = j;
			continue;
		}
		if (!isalpha((unsigned char)sql[i]) && sql[i] != '_') {
			i++;
			continue;
		}
		for (n = 0; isalnum((unsigned char)sql[i + n]) || sql[i + n] == '_' ||
		     sql[i + n] == '$'; n++)
			;
		if (first && ((n == 6 && !strncasecmp(sql + i, "select", 6)) ||
			      (n == 6 && !strncasecmp(sql + i, "values", 6)) ||
			      (n == 5 && !strncasecmp(sql + i, "table", 5)) ||
			      (n == 4 && !strncasecmp(sql + i, "with", 4))))
			w |= W_QUERY;
		first = false;
		for (size_t k = 0; k < sizeof(writes) / sizeof(writes[0]); k++)
			if (strlen(writes[k]) == n && !strncasecmp(sql + i, writes[k], n))
				w |= W_WRITE;
		for (size_t k = 0; k < sizeof(destroys) / sizeof(destroys[0]); k++)
			if (strlen(destroys[k]) == n && !strncasecmp(sql + i, destroys[k], n))
				w |= W_DESTROY;
		i += n;
	}
	return w;
}

/* The limit goes into the statement, so the server makes only those rows. */
static int apply_limit(struct parser *p, struct fa_query *q)
{
	struct fa_buf b;

	if (!q->limit || !q->sql[0] || !q->read_only)
		return 0;
	fa_buf_init(&b, 0);
	/* own lines: a -- comment ending the statement must not eat the ")" */
	if (fa_buf_printf(&b, "SELECT * FROM (\n%s\n) AS fa_limited LIMIT %ld", q->sql,
			  q->limit) != FA_OK)
		return fa_buf_release(&b), nomem(p);
	free(q->sql);
	q->sql = fa_buf_detach(&b, NULL);
	q->limit_in_sql = true;
	return 0;
}

static int block_done(struct parser *p, struct block *b, const char *sql,
		      const char *raw, int sql_line)
{
	struct fa_query *q = &b->q, *grown;
	size_t n = strlen(sql);
	unsigned words;
	int pos;

	if (check_keys(p, b) < 0)
		return -1;
	if (n == 0 && !q->listen)
		return fail(p, b->key_line[KEY_NAME], "no statement follows "
			    "the annotations of '%s'", q->name);
	if ((pos = fa_sql_max_param(raw)) > 0)
		return fail(p, sql_line, "positional parameter $%d: write :name "
			    "placeholders", pos);
	if (order_params(p, b) < 0)
		return -1;
	while (n > 0 && is_blank(sql[n - 1]))
		n--;
	if (!(q->sql = dup_n(p, sql, n)))
		return -1;
	words = sql_words(q->sql);
	q->read_only = (words & (W_QUERY | W_WRITE)) == W_QUERY;
	q->destructive = (words & W_DESTROY) != 0;
	if (apply_limit(p, q) < 0)
		return -1;
	if (!(q->description = dup_s(p, b->desc.data ? b->desc.data : "")))
		return -1;
	if (q->tool && q->tool[0] == '\0') {
		free(q->tool);
		if (!(q->tool = dup_s(p, q->description)))
			return -1;
	}
	q->line = b->key_line[KEY_NAME];
	q->sql_line = n ? sql_line : 0;
	q->file = p->file;
	if (p->nout == p->capout) {
		size_t cap = p->capout ? p->capout * 2 : 16;

		if (!(grown = realloc(p->out, cap * sizeof(*grown))))
			return nomem(p);
		p->out = grown;
		p->capout = cap;
	}
	p->out[p->nout++] = *q;
	memset(q, 0, sizeof(*q));
	p->last_name = p->out[p->nout - 1].name;
	p->last_line = p->out[p->nout - 1].line;
	p->after_block = true;
	block_release(b);
	return 0;
}

/* A header whose statement never came: fine for a listen route only. */
static int block_bare(struct parser *p, struct block *b)
{
	if (!b->keys) {
		block_release(b);
		return 0;
	}
	return block_done(p, b, "", "", 0);
}

/* The splitter's variable callback: :name and :'name' become $n. */
static const char *on_var(void *ctx, const char *name, size_t len, char quote)
{
	struct parser *p = ctx;
	struct block *b = &p->stmt;
	int i;

	if (p->failed || !p->in_stmt || isdigit((unsigned char)name[0]))
		return NULL;    /* a[1:2] is a slice */
	if (name[-1] == '?') {
		fail(p, p->lineno, ":{?%.*s} cannot be used in a query file",
		     (int)len, name);
		return NULL;
	}
	if (quote == '"') {
		fail(p, p->lineno, ":\"%.*s\" would be an identifier: a bound "
		     "parameter can only be a value", (int)len, name);
		return NULL;
	}
	i = find_param(&b->q, name, len);
	if (i < 0) {
		fail(p, p->lineno, "':%.*s' is not a declared parameter (add "
		     "'-- param: %.*s TYPE')", (int)len, name, (int)len, name);
		return NULL;
	}
	if (b->first_use[i] < 0)
		b->first_use[i] = b->nused++;
	snprintf(p->subst, sizeof(p->subst), "$%d", b->first_use[i] + 1);
	return p->subst;
}

/* ---- lines ------------------------------------------------------------- */

/* A statement that started ended without text (only a comment): no SQL. */
static int close_stmt(struct parser *p)
{
	if (!p->in_stmt)
		return 0;
	p->in_stmt = false;
	return block_bare(p, &p->stmt);
}

static int on_statement(struct parser *p, const struct fa_sql_item *it,
			const struct fa_sql_item *raw)
{
	if (p->failed)
		return -1;
	if (it->kind == FA_SQL_META)
		return fail(p, it->line, "psql meta-command '%s' in a query file",
			    it->text);
	if (!p->in_stmt && p->after_block)
		return fail(p, it->line, "more than one statement in the block of "
			    "'%s' (line %d): each needs its own '-- name:'",
			    p->last_name, p->last_line);
	if (!p->in_stmt)
		return fail(p, it->line, "statement without a '-- name:' "
			    "annotation");
	p->in_stmt = false;
	return block_done(p, &p->stmt, it->text, raw->text, it->line);
}

/* Pops what both lexers have ready; they split at the same places. */
static int drain(struct parser *p)
{
	struct fa_sql_item it, raw;
	int rc, rc2;

	for (;;) {
		rc = fa_sqlsplit_next(&p->sp, &it);
		rc2 = fa_sqlsplit_next(&p->raw, &raw);
		if (rc == 1 && rc2 == 1) {
			rc = on_statement(p, &it, &raw);
			free(it.text);
			free(raw.text);
			if (rc < 0)
				return -1;
			continue;
		}
		if (rc == 1)
			free(it.text);
		if (rc2 == 1)
			free(raw.text);
		if (rc == 0 && rc2 == 0)
			return p->failed ? -1 : 0;
		return fail(p, p->sp.err_line ? p->sp.err_line : p->lineno,
			    "statement too long");
	}
}

static bool is_name_line(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_blank(l[i]))
		i++;
	if (n - i < 2 || l[i] != '-' || l[i + 1] != '-')
		return false;
	for (i += 2; i < n && is_blank(l[i]); i++)
		;
	return n - i > 5 && memcmp(l + i, "name:", 5) == 0;
}

/* True when s holds nothing but comments and blanks. */
static bool only_comments(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (depth == 0 && s[0] == '-' && s[1] == '-')
			s += strcspn(s, "\n") - 1;
		else if (s[0] == '/' && s[1] == '*')
			depth++, s++;
		else if (depth > 0 && s[0] == '*' && s[1] == '/')
			depth--, s++;
		else if (depth == 0 && !is_blank(*s))
			return false;
	}
	return depth == 0;
}

static int parse_line(struct parser *p, const char *l, size_t n)
{
	char state = fa_sqlsplit_state(&p->sp);
	size_t i = 0;

	if (memchr(l, '\0', n))
		return fail(p, p->lineno, "NUL byte in the file");
	while (i < n && is_blank(l[i]))
		i++;
	/* a slash-star comment between statements is no statement's start */
	if (state == '-' && n - i >= 2 && l[i] == '-' && l[i + 1] == '-' &&
	    only_comments(fa_sqlsplit_pending(&p->sp, NULL))) {
		fa_sqlsplit_reset(&p->sp);
		fa_sqlsplit_reset(&p->raw);
		state = '=';
	}
	if (state == '=') {
		if (i == n) {
			p->after_block = false;
			if (close_stmt(p) < 0 || block_bare(p, &p->group) < 0)
				return -1;
		} else if (n - i >= 2 && l[i] == '-' && l[i + 1] == '-') {
			p->after_block = false;
			if (close_stmt(p) < 0 ||
			    comment_line(p, l + i + 2, n - i - 2) < 0)
				return -1;
		} else if (l[i] == ';') {
			if (close_stmt(p) < 0 || block_bare(p, &p->group) < 0)
				return -1;
		} else {
			if (close_stmt(p) < 0)
				return -1;
			p->in_stmt = p->group.keys;
			if (p->in_stmt)
				block_move(&p->stmt, &p->group);
			else
				block_release(&p->group);
		}
	} else if ((state == '-' || state == '(') && is_name_line(l, n)) {
		return fail(p, p->lineno, "'-- name:' inside a statement: is the "
			    "';' after the statement above missing?");
	}
	if (fa_sqlsplit_feed(&p->sp, l, n, p->lineno) != FA_OK ||
	    fa_sqlsplit_feed(&p->raw, l, n, p->lineno) != FA_OK)
		return fail(p, p->lineno, "internal error: line not lexed");
	return drain(p);
}

/* The end of the text: a last statement without ';', open quotes. */
static int parse_end(struct parser *p)
{
	struct fa_sql_item it, raw;
	bool got, got_raw;
	char open;
	int rc = 0;

	got = fa_sqlsplit_finish(&p->sp, &it, &open);
	got_raw = fa_sqlsplit_finish(&p->raw, &raw, NULL);
	if (open)
		rc = fail(p, p->sp.quote_line, "unterminated %s",
			  open == '*' ? "/* comment" :
			  open == '$' ? "dollar-quoted string" :
			  open == '"' ? "quoted identifier" : "quoted string");
	else if (got && got_raw)
		rc = on_statement(p, &it, &raw);
	if (got)
		free(it.text);
	if (got_raw)
		free(raw.text);
	if (rc < 0 || close_stmt(p) < 0)
		return -1;
	return block_bare(p, &p->group);
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	const char *l = text, *end = text + len, *nl;

	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		l += 3;
	for (p->lineno = 1; l < end; p->lineno++, l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end - l));
		if (!nl)
			nl = end;
		if (parse_line(p, l, (size_t)(nl - l)) < 0)
			return -1;
		if (nl == end)
			break;
	}
	return parse_end(p);
}

static void parser_init(struct parser *p, const char *file, size_t len,
			struct fa_error *err)
{
	size_t cap = len > (SIZE_MAX - 64) / 4 ? 0 : len * 4 + 64;

	memset(p, 0, sizeof(*p));
	p->file = file;
	p->err = err;
	/* "$n" may be longer than ":n", never more than four times */
	fa_sqlsplit_init(&p->sp, cap, on_var, p);
	fa_sqlsplit_init(&p->raw, cap, NULL, NULL);
	block_init(&p->group);
	block_init(&p->stmt);
	fa_buf_init(&p->line, 0);
}

static void parser_release(struct parser *p, bool keep_out)
{
	size_t i;

	fa_sqlsplit_release(&p->sp);
	fa_sqlsplit_release(&p->raw);
	block_release(&p->group);
	block_release(&p->stmt);
	fa_buf_release(&p->line);
	if (!keep_out) {
		for (i = 0; i < p->nout; i++)
			query_release(&p->out[i]);
		free(p->out);
	}
}

/* ---- the set ----------------------------------------------------------- */

void fa_sqlfile_set_init(struct fa_sqlfile_set *set)
{
	memset(set, 0, sizeof(*set));
}

void fa_sqlfile_set_release(struct fa_sqlfile_set *set)
{
	size_t i;

	for (i = 0; i < set->nqueries; i++)
		query_release(&set->queries[i]);
	free(set->queries);
	for (i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	fa_sqlfile_set_init(set);
}

/* Same method, and segment for segment both :params or equal literals. */
static bool same_route(const struct fa_query *a, const struct fa_query *b)
{
	int i;

	if (!a->path || !b->path || a->method_bit != b->method_bit ||
	    a->nsegs != b->nsegs)
		return false;
	for (i = 0; i < a->nsegs; i++) {
		if ((a->segs[i].param >= 0) != (b->segs[i].param >= 0))
			return false;
		if (a->segs[i].param < 0 && strcmp(a->segs[i].text, b->segs[i].text))
			return false;
	}
	return true;
}

/* Names and routes of the new queries against the set's and each other. */
static int check_unique(struct parser *p, const struct fa_sqlfile_set *set)
{
	const struct fa_query *q, *o;
	size_t i, j, n;

	for (i = 0; i < p->nout; i++) {
		q = &p->out[i];
		n = set->nqueries + i;
		for (j = 0; j < n; j++) {
			o = j < set->nqueries ? &set->queries[j] :
			    &p->out[j - set->nqueries];
			if (strcmp(q->name, o->name) == 0)
				return fail(p, q->line, "duplicate name '%s' (first "
					    "at %s:%d)", q->name, o->file, o->line);
			if (same_route(q, o))
				return fail(p, q->line, "route %s %s has the same "
					    "pattern as %s %s (%s:%d)", q->method,
					    q->path, o->method, o->path, o->file,
					    o->line);
		}
	}
	return 0;
}

enum fa_err fa_sqlfile_set_add(struct fa_sqlfile_set *set, const char *name,
			       const char *text, size_t len,
			       struct fa_error *err)
{
	struct parser p;
	struct fa_query *grown;
	char **files, *file;
	size_t i;

	parser_init(&p, name, len, err);
	if (parse_text(&p, text, len) < 0 || check_unique(&p, set) < 0)
		goto fail;
	files = realloc(set->files, (set->nfiles + 1) * sizeof(*files));
	if (!files)
		goto nomem;
	set->files = files;
	if (set->nqueries + p.nout > set->cap) {
		size_t cap = set->cap ? set->cap : 16;

		while (cap < set->nqueries + p.nout)
			cap *= 2;
		if (!(grown = realloc(set->queries, cap * sizeof(*grown))))
			goto nomem;
		set->queries = grown;
		set->cap = cap;
	}
	if (!(file = strdup(name)))
		goto nomem;
	set->files[set->nfiles++] = file;
	for (i = 0; i < p.nout; i++) {
		p.out[i].file = file;
		set->queries[set->nqueries++] = p.out[i];
	}
	free(p.out);
	parser_release(&p, true);
	return FA_OK;
nomem:
	nomem(&p);
fail:
	parser_release(&p, false);
	return err ? err->code : FA_EINPUT;
}

const struct fa_query *fa_sqlfile_find(const struct fa_sqlfile_set *set,
				       const char *name)
{
	size_t i;

	for (i = 0; i < set->nqueries; i++)
		if (strcmp(set->queries[i].name, name) == 0)
			return &set->queries[i];
	return NULL;
}

/* ---- routes ------------------------------------------------------------ */

struct span {
	const char *p;
	size_t n;
};

/* Splits path into segments; -1 when it cannot match any route. */
static int split_path(const char *path, size_t len, struct span *segs)
{
	const char *q = memchr(path, '?', len), *s, *e, *end;
	int n = 0;

	if (q)
		len = (size_t)(q - path);
	if (len == 0 || path[0] != '/')
		return -1;
	if (len > 1 && path[len - 1] == '/' && path[len - 2] != '/')
		len--;
	end = path + len;
	for (s = path + 1; s < end; s = e + 1) {
		e = memchr(s, '/', (size_t)(end - s));
		if (!e)
			e = end;
		if (e == s || n == ROUTE_MAX_SEGS)
			return -1;
		segs[n].p = s;
		segs[n++].n = (size_t)(e - s);
	}
	return n;
}

static bool route_matches(const struct fa_query *q, const struct span *segs,
			  int n)
{
	int i;

	if (!q->path || q->nsegs != n)
		return false;
	for (i = 0; i < n; i++)
		if (q->segs[i].param < 0 &&
		    (strlen(q->segs[i].text) != segs[i].n ||
		     memcmp(q->segs[i].text, segs[i].p, segs[i].n) != 0))
			return false;
	return true;
}

/* True when a wins over b: the first segment where they differ is a's literal. */
static bool more_specific(const struct fa_query *a, const struct fa_query *b)
{
	int i;

	for (i = 0; i < a->nsegs; i++)
		if ((a->segs[i].param < 0) != (b->segs[i].param < 0))
			return a->segs[i].param < 0;
	return false;
}

static unsigned method_bit(const char *method)
{
	size_t i;

	if (strcmp(method, "HEAD") == 0)
		return FA_METHOD_GET;
	for (i = 0; i < NMETHODS; i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

const struct fa_query *fa_sqlfile_match(const struct fa_sqlfile_set *set,
					const char *method, const char *path,
					size_t len, struct fa_route_match *m)
{
	struct span segs[ROUTE_MAX_SEGS];
	const struct fa_query *best = NULL, *q;
	unsigned want = method_bit(method);
	int n = split_path(path, len, segs), i;
	size_t k;

	m->query = NULL;
	m->nargs = 0;
	m->allow = 0;
	if (n < 0)
		return NULL;
	for (k = 0; k < set->nqueries; k++) {
		q = &set->queries[k];
		if (!route_matches(q, segs, n))
			continue;
		m->allow |= q->method_bit;
		if (q->method_bit == want && (!best || more_specific(q, best)))
			best = q;
	}
	if (!best)
		return NULL;
	for (i = 0; i < n; i++) {
		struct fa_route_arg *a;

		if (best->segs[i].param < 0)
			continue;
		a = &m->args[m->nargs++];
		a->param = best->segs[i].param;
		a->name = best->params[a->param].name;
		a->value = segs[i].p;
		a->len = segs[i].n;
	}
	m->query = best;
	return best;
}
/* ---- parameter values -------------------------------------------------- */

enum fa_err fa_qparam_check(const struct fa_qparam *p, const char *value,
			    size_t len, struct fa_error *err)
{
	struct fa_error e;

	if (!fa_pgtext_check(p->type, p->array, value, len, &e))
		return FA_OK;
	return fa_error_set(err, e.code, "parameter '%s': %s", p->name, e.msg);
}
