#include "http/h1.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Byte classes (RFC 9110 section 5.6.2, RFC 3986 section 2). */
enum {
	C_TCHAR = 1,    /* token: ALPHA DIGIT !#$%&'*+-.^_`|~ */
	C_FIELD = 2,    /* field value: HTAB SP VCHAR obs-text */
	C_TARGET = 4,   /* request target: unreserved sub-delims :@/?%[] */
	C_HEX = 8,      /* HEXDIG */
	C_HOST = 16,    /* Host: unreserved sub-delims :[]% */
};

static const unsigned char cls[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  /* 00 */
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 10 */
	 2, 23,  2,  3, 23, 23, 23, 23, 22, 22, 23, 23, 22, 23, 23,  6,  /* 20 */
	31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 22, 22,  2, 22,  2,  6,  /* 30 */
	 6, 31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23, 23, 23, 23, 23,  /* 40 */
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 22,  2, 22,  3, 23,  /* 50 */
	 3, 31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23, 23, 23, 23, 23,  /* 60 */
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,  2,  3,  2, 23,  0,  /* 70 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 80 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 90 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* a0 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* b0 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* c0 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* d0 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* e0 */
	 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* f0 */
};

static bool is(char c, int bits)
{
	return cls[(unsigned char)c] & bits;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
	while (i < n && is_ows(s[i]))
		i++;
	return i;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Whether a[0..n) equals b[0..n), ignoring ASCII case. */
static bool ieqn(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* Whether s[0..n) equals the NUL-terminated name, ignoring ASCII case. */
static bool ieq(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && ieqn(s, name, n);
}

static bool method_is(const struct fa_h1_request *req, const char *m)
{
	return req->method_len == strlen(m) &&
	       memcmp(req->method, m, req->method_len) == 0;
}

bool fa_h1_header_eq(const struct fa_h1_header *h, const char *name)
{
	return ieq(h->name, h->name_len, name);
}

const struct fa_h1_header *fa_h1_get(const struct fa_h1_request *req,
				     const char *name)
{
	int i;

	for (i = 0; i < req->nheaders; i++)
		if (fa_h1_header_eq(&req->headers[i], name))
			return &req->headers[i];
	return NULL;
}

void fa_h1_limits_init(struct fa_h1_limits *lim)
{
	lim->max_head = FA_H1_MAX_HEAD;
	lim->max_target = FA_H1_MAX_TARGET;
	lim->max_headers = FA_H1_MAX_HEADERS;
	lim->max_body = -1;
}

/* Where a parse reports its error. */
struct ctx {
	int *status;
	struct fa_error *err;
	int line;               /* of the head, counted by fields() */
};

static int fail(struct ctx *x, int status, const char *msg)
{
	if (x->status)
		*x->status = status;
	fa_error_set(x->err, FA_EINPUT, "%s", msg);
	return -1;
}

/*
 * The request line from b[*pos], scanned left to right so that a prefix
 * fails where the whole would: 1 with *pos after its CRLF, 0 when b[0..win)
 * ends first, -1 on error.
 */
static int request_line(struct ctx *x, const char *b, size_t *pos,
			size_t win, size_t max_target,
			struct fa_h1_request *req)
{
	static const char version[] = "HTTP/#.#\r\n";
	size_t i = *pos, t, v, k;
	char c;

	while (i < win && is(b[i], C_TCHAR))
		i++;
	if (i == win)
		return 0;
	if (b[i] != ' ' || i == *pos)
		return fail(x, 400, "invalid method");
	req->method = b + *pos;
	req->method_len = i - *pos;
	t = ++i;
	while (i < win && is(b[i], C_TARGET)) {
		if (i - t == max_target)
			return fail(x, 414, "request target too long");
		i++;
	}
	if (i == win)
		return 0;
	if (b[i] != ' ' || i == t)
		return fail(x, 400, "invalid request target");
	req->target = b + t;
	req->target_len = i - t;
	v = ++i;
	for (k = 0; version[k]; k++) {
		if (v + k == win)
			return 0;
		c = b[v + k];
		if (version[k] == '#' ? c >= '0' && c <= '9' : c == version[k])
			continue;
		if (k == 8 && c == '\n')
			return fail(x, 400, "bare LF in request line");
		if (k == 9)
			return fail(x, 400, "bare CR in request line");
		return fail(x, 400, "invalid HTTP version");
	}
	if (b[v + 5] != '1')
		return fail(x, 505, "HTTP version not supported");
	req->minor = b[v + 7] == '0' ? 0 : 1;
	*pos = v + k;
	return 1;
}

/* Whether every '%' in s[0..n) starts an escape, and no '[' or ']'. */
static bool path_query_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || !is(s[i + 1], C_HEX) ||
			    !is(s[i + 2], C_HEX))
				return false;
			i += 2;
		} else if (s[i] == '[' || s[i] == ']') {
			return false;
		}
	}
	return true;
}

/* uri-host [ ":" port ], the Host field and an absolute-form authority. */
static bool host_ok(const char *h, size_t n)
{
	size_t i = 0;

	if (n > 0 && h[0] == '[') {
		for (i = 1; i < n && h[i] != ']'; i++)
			if (!is(h[i], C_HOST) || h[i] == '[')
				return false;
		if (i++ == n)
			return false;
	} else {
		for (; i < n && h[i] != ':'; i++) {
			if (!is(h[i], C_HOST) || h[i] == '[' || h[i] == ']')
				return false;
			if (h[i] == '%' && (n - i < 3 || !is(h[i + 1], C_HEX) ||
					    !is(h[i + 2], C_HEX)))
				return false;
		}
	}
	if (i < n && h[i++] != ':')
		return false;
	for (; i < n; i++)
		if (h[i] < '0' || h[i] > '9')
			return false;
	return true;
}

/* "http://host:port" at the front of t[0..n): the length of the part
   before the path, or 0 when it is no http or https absolute-URI. */
static size_t absolute_prefix(struct fa_h1_request *req, const char *t,
			      size_t n)
{
	size_t s = 0, a;

	while (s < n && lower(t[s]) >= 'a' && lower(t[s]) <= 'z')
		s++;
	if (!(ieq(t, s, "http") || ieq(t, s, "https")) || n - s < 3 ||
	    memcmp(t + s, "://", 3) != 0)
		return 0;
	a = s + 3;
	for (s = a; s < n && t[s] != '/' && t[s] != '?'; s++)
		;
	if (s == a || t[a] == ':' || !host_ok(t + a, s - a))
		return 0;
	req->host = t + a;
	req->host_len = s - a;
	return s;
}

/* Splits the target into path and query, by its form (RFC 9112 3.2). */
static int target_form(struct ctx *x, struct fa_h1_request *req)
{
	static const char slash[] = "/";
	const char *t = req->target, *q;
	size_t n = req->target_len, p = 0;

	if (method_is(req, "CONNECT"))
		return fail(x, 501, "CONNECT not supported");
	if (n == 1 && t[0] == '*') {
		if (!method_is(req, "OPTIONS"))
			return fail(x, 400, "asterisk-form target without OPTIONS");
		req->path = t;
		req->path_len = 1;
		return 0;
	}
	if (t[0] != '/') {
		p = absolute_prefix(req, t, n);
		if (p == 0)
			return fail(x, 400, "invalid request target");
	}
	if (!path_query_ok(t + p, n - p))
		return fail(x, 400, "invalid request target");
	q = memchr(t + p, '?', n - p);
	req->path = t + p;
	req->path_len = (q ? (size_t)(q - t) : n) - p;
	if (q) {
		req->query = q + 1;
		req->query_len = (size_t)(t + n - q) - 1;
	}
	if (req->path_len == 0) {
		req->path = slash;
		req->path_len = 1;
	}
	return 0;
}

/* Whether none of the 8 bytes in w is a CTL (below 0x20, or 0x7f). */
static bool word_plain(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t del = w ^ (ones * 0x7f);

	return ((((w - ones * 0x20) & ~w) | ((del - ones) & ~del)) &
		(ones * 0x80)) == 0;
}

/* Whether s[0..n) holds only HTAB, SP, VCHAR and obs-text; a word at a
   time, since values (cookies, tokens) are most of a head. */
static bool value_ok(const char *s, size_t n)
{
	size_t i = 0, k;
	uint64_t w;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, s + i, 8);
		if (word_plain(w))
			continue;
		for (k = i; k < i + 8; k++)
			if (!is(s[k], C_FIELD))
				return false;
	}
	for (; i < n; i++)
		if (!is(s[i], C_FIELD))
			return false;
	return true;
}

/* One field line l[0..n), its CRLF cut off, into *h. */
static int field_line(struct ctx *x, const char *l, size_t n,
		      struct fa_h1_header *h)
{
	size_t i = 0, v, e;

	while (i < n && is(l[i], C_TCHAR))
		i++;
	if (i == n)
		return fail(x, 400, "field line without a colon");
	if (l[i] != ':') {
		if (is_ows(l[i]))
			return fail(x, 400, "whitespace before a colon");
		return fail(x, 400, "invalid character in field name");
	}
	if (i == 0)
		return fail(x, 400, "empty field name");
	v = skip_ows(l, i + 1, n);
	for (e = n; e > v && is_ows(l[e - 1]); e--)
		;
	if (!value_ok(l + v, e - v))
		return fail(x, 400, "invalid character in field value");
	h->name = l;
	h->name_len = i;
	h->value = l + v;
	h->value_len = e - v;
	return 0;
}

/*
 * Field lines from b[*pos] to the empty line that ends them, within
 * b[0..win): up to cap of them go into hdr (NULL: counted only), *n counts
 * them.  1 with *pos after the empty line, 0 when the window ends first,
 * -1 on error.  A trailer section may not carry framing fields.
 */
static int fields(struct ctx *x, const char *b, size_t *pos, size_t win,
		  struct fa_h1_header *hdr, int cap, int *n, bool trailer)
{
	struct fa_h1_header h;
	size_t p = *pos, e;
	const char *lf;

	for (;;) {
		x->line++;
		if (p == win)
			return 0;
		if (b[p] == '\r') {
			if (p + 1 == win)
				return 0;
			if (b[p + 1] != '\n')
				return fail(x, 400, "bare CR in field section");
			*pos = p + 2;
			return 1;
		}
		if (b[p] == '\n')
			return fail(x, 400, "bare LF in field section");
		if (is_ows(b[p]))
			return fail(x, 400, "field line starts with whitespace "
				    "(obs-fold)");
		lf = memchr(b + p, '\n', win - p);
		if (!lf)
			return 0;
		e = (size_t)(lf - b);
		if (b[e - 1] != '\r')
			return fail(x, 400, "bare LF in field section");
		if (field_line(x, b + p, e - 1 - p, &h) < 0)
			return -1;
		if (trailer && (fa_h1_header_eq(&h, "Content-Length") ||
				fa_h1_header_eq(&h, "Transfer-Encoding")))
			return fail(x, 400, "framing field in trailer section");
		if (*n == cap)
			return fail(x, 431, "too many header fields");
		if (hdr)
			hdr[*n] = h;
		(*n)++;
		p = e + 1;
	}
}

/* The next element of a comma-separated list, OWS trimmed, empty ones
   too; *p is NULL after the last.  An empty list has one empty element. */
static bool list_next(const char **p, const char *end, const char **elem,
		      size_t *len)
{
	const char *s = *p, *c, *e;

	if (!s)
		return false;
	c = memchr(s, ',', (size_t)(end - s));
	e = c ? c : end;
	while (s < e && is_ows(*s))
		s++;
	*elem = s;
	while (e > s && is_ows(e[-1]))
		e--;
	*len = (size_t)(e - s);
	*p = c ? c + 1 : NULL;
	return true;
}

static bool token_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is(s[i], C_TCHAR))
			return false;
	return n > 0;
}

/* What the framing and connection fields say, summed over field lines. */
struct head_info {
	int hosts, lengths, codings;
	bool te, te_bad, chunked_last, chunked_early;
	bool close, keep, cont, expect_other;
};

static int content_length(struct ctx *x, const struct fa_h1_header *h,
			  int64_t *out)
{
	int64_t v = 0;
	size_t i;
	int d;

	if (h->value_len == 0)
		return fail(x, 400, "invalid Content-Length");
	for (i = 0; i < h->value_len; i++) {
		d = h->value[i] - '0';
		if (d < 0 || d > 9)
			return fail(x, 400, "invalid Content-Length");
		if (v > (INT64_MAX - d) / 10)
			return fail(x, 400, "Content-Length too large");
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Sums up one field line into hi; Host and Content-Length are checked. */
static int note_field(struct ctx *x, const struct fa_h1_header *h,
		      struct fa_h1_request *req, struct head_info *hi)
{
	const char *p = h->value, *end = p + h->value_len, *e;
	size_t n;

	/* the length first: most fields are none of these */
	if (h->name_len == 4 && ieqn(h->name, "Host", 4)) {
		if (++hi->hosts > 1)
			return fail(x, 400, "more than one Host field");
		if (!host_ok(h->value, h->value_len))
			return fail(x, 400, "invalid Host field");
		if (!req->host) {
			req->host = h->value;
			req->host_len = h->value_len;
		}
	} else if (h->name_len == 14 && ieqn(h->name, "Content-Length", 14)) {
		if (++hi->lengths > 1)
			return fail(x, 400, "more than one Content-Length field");
		return content_length(x, h, &req->content_length);
	} else if (h->name_len == 17 &&
		   ieqn(h->name, "Transfer-Encoding", 17)) {
		hi->te = true;
		while (list_next(&p, end, &e, &n)) {
			if (!token_ok(e, n))
				hi->te_bad = true;
			if (hi->chunked_last)
				hi->chunked_early = true;
			hi->chunked_last = ieq(e, n, "chunked");
			hi->codings++;
		}
	} else if (h->name_len == 10 && ieqn(h->name, "Connection", 10)) {
		while (list_next(&p, end, &e, &n)) {
			hi->close |= ieq(e, n, "close");
			hi->keep |= ieq(e, n, "keep-alive");
		}
	} else if (h->name_len == 6 && ieqn(h->name, "Expect", 6)) {
		while (list_next(&p, end, &e, &n)) {
			if (ieq(e, n, "100-continue"))
				hi->cont = true;
			else if (n > 0)
				hi->expect_other = true;
		}
	}
	return 0;
}

/*
 * Transfer-Encoding, the same for requests and responses: only "chunked",
 * last and alone, never in HTTP/1.0, never with Content-Length.  bad is
 * the status for a malformed one, unsupported for other codings (a
 * response has none: 0).
 */
static int transfer_coding(struct ctx *x, const struct head_info *hi, int minor, int bad,
			   int unsupported)
{
	if (minor == 0)
		return fail(x, bad, "Transfer-Encoding in HTTP/1.0");
	if (hi->lengths)
		return fail(x, bad, "both Content-Length and Transfer-Encoding");
	if (hi->te_bad)
		return fail(x, bad, "invalid Transfer-Encoding");
	if (hi->chunked_early)
		return fail(x, bad, "chunked is not the final transfer coding");
	if (!hi->chunked_last || hi->codings > 1)
		return fail(x, unsupported, "transfer coding not supported");
	return 0;
}

/* What the whole head means: framing, Host, expectations, keep-alive. */
static int semantics(struct ctx *x, struct fa_h1_request *req,
		     const struct fa_h1_limits *lim)
{
	struct head_info hi;
	int i;

	memset(&hi, 0, sizeof(hi));
	for (i = 0; i < req->nheaders; i++)
		if (note_field(x, &req->headers[i], req, &hi) < 0)
			return -1;
	if (req->minor == 1 && hi.hosts == 0)
		return fail(x, 400, "missing Host field");
	if (hi.te && transfer_coding(x, &hi, req->minor, 400, 501) < 0)
		return -1;
	req->chunked = hi.te;
	if (lim->max_body >= 0 && req->content_length > lim->max_body)
		return fail(x, 413, "request body too large");
	if (req->minor == 1) {
		if (hi.expect_other)
			return fail(x, 417, "unsupported expectation");
		req->expect_continue = hi.cont;
	}
	req->keep_alive = !hi.close && (req->minor == 1 || hi.keep);
	req->is_head = method_is(req, "HEAD");
	return 0;
}

int fa_h1_parse_request(const char *buf, size_t len,
			const struct fa_h1_limits *lim,
			struct fa_h1_header *hdr_space, int hdr_cap,
			struct fa_h1_request *req, int *status,
			struct fa_error *err)
{
	struct ctx x = { .status = status, .err = err };
	struct fa_h1_limits def;
	size_t max_head, win, pos = 0;
	int cap, rc;

	if (!lim) {
		fa_h1_limits_init(&def);
		lim = &def;
	}
	memset(req, 0, sizeof(*req));
	req->headers = hdr_space;
	req->content_length = -1;
	max_head = lim->max_head < INT_MAX ? lim->max_head : INT_MAX;
	win = len < max_head ? len : max_head;
	cap = hdr_cap < lim->max_headers ? hdr_cap : lim->max_headers;
	if (cap < 0 || !hdr_space)
		cap = 0;

	while (pos < win && buf[pos] == '\r') {
		if (pos + 1 == win)
			goto more;
		if (buf[pos + 1] != '\n')
			return fail(&x, 400, "bare CR before the request line");
		pos += 2;
	}
	if (pos < win && buf[pos] == '\n')
		return fail(&x, 400, "bare LF before the request line");
	rc = request_line(&x, buf, &pos, win, lim->max_target, req);
	if (rc <= 0)
		goto out;
	if (target_form(&x, req) < 0)
		return -1;
	rc = fields(&x, buf, &pos, win, hdr_space, cap, &req->nheaders, false);
	if (rc <= 0)
		goto out;
	req->head_len = pos;
	if (semantics(&x, req, lim) < 0)
		return -1;
	return (int)pos;
out:
	if (rc < 0)
		return -1;
more:
	if (len >= max_head)
		return fail(&x, 431, "request header section too large");
	return 0;
}

const struct fa_h1_header *fa_h1_find(const struct fa_h1_header *h, int n,
				      const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (fa_h1_header_eq(&h[i], name))
			return &h[i];
	return NULL;
}

bool fa_h1_has_token(const struct fa_h1_header *h, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = h->value, *end = h->value + h->value_len; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - p) == n && !strncasecmp(p, token, n))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

/*
 * "HTTP/1.x SP 3DIGIT [ SP reason ] CRLF" at the front of b[0..win): 1 with
 * *pos after it, 0 when the window ends first, -1 on error.
 */
static int status_line(struct ctx *x, const char *b, size_t *pos, size_t win,
		       struct fa_h1_response_head *res)
{
	static const char start[] = "HTTP/#.# ###";
	size_t k, i;
	char c;

	for (k = 0; start[k]; k++) {
		if (k == win)
			return 0;
		c = b[k];
		if (start[k] == '#' ? c >= '0' && c <= '9' : c == start[k])
			continue;
		return fail(x, 0, k <= 8 ? "invalid HTTP version"
					 : "invalid status code");
	}
	if (b[5] != '1')
		return fail(x, 0, "HTTP version not supported");
	res->minor = b[7] == '0' ? 0 : 1;
	res->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + b[11] - '0';
	if (res->status < 100 || res->status > 599)
		return fail(x, 0, "status code out of range");
	i = k;
	if (i < win && b[i] == ' ')
		i++;
	else if (i < win && b[i] != '\r' && b[i] != '\n')
		return fail(x, 0, "invalid status code");
	res->reason = b + i;
	while (i < win && is(b[i], C_FIELD))
		i++;
	if (i == win)
		return 0;
	if (b[i] == '\n')
		return fail(x, 0, "bare LF in status line");
	if (b[i] != '\r')
		return fail(x, 0, "invalid character in reason phrase");
	if (i + 1 == win)
		return 0;
	if (b[i + 1] != '\n')
		return fail(x, 0, "bare CR in status line");
	res->reason_len = (size_t)(b + i - res->reason);
	*pos = i + 2;
	return 1;
}

/* Sums up one field line of a response into hi: framing and Connection. */
static int response_field(struct ctx *x, const struct fa_h1_header *h,
			  struct fa_h1_response_head *res,
			  struct head_info *hi)
{
	const char *p = h->value, *end = p + h->value_len, *e;
	size_t n;

	if (fa_h1_header_eq(h, "Content-Length")) {
		if (++hi->lengths > 1)
			return fail(x, 0, "more than one Content-Length field");
		return content_length(x, h, &res->content_length);
	}
	if (fa_h1_header_eq(h, "Transfer-Encoding")) {
		hi->te = true;
		while (list_next(&p, end, &e, &n)) {
			if (!token_ok(e, n))
				hi->te_bad = true;
			if (hi->chunked_last)
				hi->chunked_early = true;
			hi->chunked_last = ieq(e, n, "chunked");
			hi->codings++;
		}
	} else if (fa_h1_header_eq(h, "Connection")) {
		while (list_next(&p, end, &e, &n)) {
			hi->close |= ieq(e, n, "close");
			hi->keep |= ieq(e, n, "keep-alive");
		}
	}
	return 0;
}

/* How the body of a complete response head is framed (RFC 9112 6.3). */
static int response_framing(struct ctx *x, struct fa_h1_response_head *res,
			    bool head_request)
{
	struct head_info hi;
	int i;

	memset(&hi, 0, sizeof(hi));
	for (i = 0; i < res->nheaders; i++)
		if (response_field(x, &res->headers[i], res, &hi) < 0)
			return -1;
	if (hi.te && transfer_coding(x, &hi, res->minor, 0, 0) < 0)
		return -1;
	res->chunked = hi.te;
	res->keep_alive = !hi.close && (res->minor == 1 || hi.keep);
	if (head_request || res->status < 200 || res->status == 204 ||
	    res->status == 304) {
		res->no_body = true;
		res->chunked = false;
		res->content_length = -1;
	} else if (!res->chunked && res->content_length < 0) {
		res->until_close = true;
		res->keep_alive = false;
	}
	return 0;
}

/* Prefixes err's message with the line it is about, when there is one. */
static int where(struct ctx *x)
{
	char msg[sizeof(x->err->msg)];

	if (x->err && x->line > 0) {
		memcpy(msg, x->err->msg, sizeof(msg));
		fa_error_set(x->err, FA_EINPUT, "line %d: %s", x->line, msg);
	}
	return -1;
}

int fa_h1_parse_response(const char *buf, size_t len, size_t max_head,
			 bool head_request, struct fa_h1_header *hdr_space,
			 int hdr_cap, struct fa_h1_response_head *res,
			 struct fa_error *err)
{
	struct ctx x = { .err = err, .line = 1 };
	size_t win, pos = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->headers = hdr_space;
	res->content_length = -1;
	if (max_head == 0)
		max_head = FA_H1_MAX_HEAD;
	if (max_head > INT_MAX)
		max_head = INT_MAX;
	win = len < max_head ? len : max_head;
	rc = status_line(&x, buf, &pos, win, res);
	if (rc > 0)
		rc = fields(&x, buf, &pos, win, hdr_space,
			    hdr_space && hdr_cap > 0 ? hdr_cap : 0,
			    &res->nheaders, false);
	if (rc < 0)
		return where(&x);
	if (rc == 0) {
		if (len >= max_head)
			return fail(&x, 0, "response head too large");
		return 0;
	}
	res->head_len = pos;
	if (response_framing(&x, res, head_request) < 0)
		return -1;
	return (int)pos;
}

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILERS, CH_DONE, CH_FAILED };

void fa_h1_chunked_init(struct fa_h1_chunked *c, int64_t max_body,
			struct fa_h1_header *trailer_space, int trailer_cap)
{
	memset(c, 0, sizeof(*c));
	c->max_body = max_body;
	c->trailers = trailer_space;
	c->trailer_cap = trailer_space && trailer_cap > 0 ? trailer_cap : 0;
	c->state = CH_SIZE;
}

/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted ) ) */
static int chunk_ext(struct ctx *x, const char *l, size_t n)
{
	size_t i = 0, s, j;

	while (i < n) {
		i = skip_ows(l, i, n);
		if (i == n || l[i] != ';')
			return fail(x, 400, "invalid chunk extension");
		i = skip_ows(l, i + 1, n);
		for (s = i; i < n && is(l[i], C_TCHAR); i++)
			;
		if (i == s)
			return fail(x, 400, "invalid chunk extension");
		j = skip_ows(l, i, n);
		if (j == n || l[j] != '=')
			continue;
		i = skip_ows(l, j + 1, n);
		if (i < n && l[i] == '"') {
			for (i++; i < n && l[i] != '"'; i++)
				if ((l[i] == '\\' && ++i == n) ||
				    !is(l[i], C_FIELD))
					return fail(x, 400, "invalid chunk "
						    "extension");
			if (i++ == n)
				return fail(x, 400, "invalid chunk extension");
		} else {
			for (s = i; i < n && is(l[i], C_TCHAR); i++)
				;
			if (i == s)
				return fail(x, 400, "invalid chunk extension");
		}
	}
	return 0;
}

/* chunk-size [ chunk-ext ], the line l[0..n) without its CRLF. */
static int size_line(struct ctx *x, const char *l, size_t n, uint64_t *size)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && is(l[i], C_HEX); i++) {
		if (v > (uint64_t)INT64_MAX >> 4)
			return fail(x, 400, "chunk size too large");
		v = v << 4 | (uint64_t)hexval(l[i]);
	}
	if (i == 0)
		return fail(x, 400, "invalid chunk size");
	*size = v;
	return chunk_ext(x, l + i, n - i);
}

/* One step of the decoder from in[*pos]: 1 to go on, 0 for more input. */
static int chunk_step(struct ctx *x, struct fa_h1_chunked *c, const char *in,
		      size_t n, size_t *pos, struct fa_buf *out)
{
	size_t p = *pos, win = n - p, k;
	const char *lf;
	uint64_t size;
	int rc, cnt = 0;

	switch (c->state) {
	case CH_SIZE:
		if (win > FA_H1_MAX_CHUNK_LINE)
			win = FA_H1_MAX_CHUNK_LINE;
		lf = win ? memchr(in + p, '\n', win) : NULL;
		if (!lf) {
			if (win == FA_H1_MAX_CHUNK_LINE)
				return fail(x, 400, "chunk size line too long");
			return 0;
		}
		k = (size_t)(lf - (in + p));
		if (k == 0 || lf[-1] != '\r')
			return fail(x, 400, "bare LF in chunk size line");
		if (size_line(x, in + p, k - 1, &size) < 0)
			return -1;
		if (c->max_body >= 0 &&
		    size > (uint64_t)(c->max_body - c->total))
			return fail(x, 413, "request body too large");
		c->left = size;
		c->state = size ? CH_DATA : CH_TRAILERS;
		*pos = p + k + 1;
		return 1;
	case CH_DATA:
		if (win == 0)
			return 0;
		k = c->left < win ? (size_t)c->left : win;
		if (out && fa_buf_append(out, in + p, k) != FA_OK)
			return fail(x, 413, "request body too large");
		c->left -= k;
		c->total += (int64_t)k;
		if (c->left == 0)
			c->state = CH_DATA_END;
		*pos = p + k;
		return 1;
	case CH_DATA_END:
		if (win == 0)
			return 0;
		if (in[p] != '\r' || (win > 1 && in[p + 1] != '\n'))
			return fail(x, 400, "chunk data not followed by CRLF");
		if (win == 1)
			return 0;
		c->state = CH_SIZE;
		*pos = p + 2;
		return 1;
	case CH_TRAILERS:
		if (win == 0)
			return 0;
		if (win > FA_H1_MAX_TRAILER)
			win = FA_H1_MAX_TRAILER;
		k = 0;
		rc = fields(x, in + p, &k, win, c->trailers,
			    c->trailers ? c->trailer_cap : INT_MAX, &cnt, true);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (win == FA_H1_MAX_TRAILER)
				return fail(x, 431, "trailer section too large");
			return 0;
		}
		c->ntrailers = c->trailers ? cnt : 0;
		c->state = CH_DONE;
		c->done = true;
		*pos = p + k;
		return 0;
	case CH_DONE:
		return 0;
	}
	return fail(x, 400, "chunked decoder used after an error");
}

enum fa_err fa_h1_chunked_decode(struct fa_h1_chunked *c, const char *in,
				 size_t n, struct fa_buf *out, size_t *used,
				 int *status, struct fa_error *err)
{
	struct ctx x = { .status = status, .err = err };
	size_t pos = 0;
	int rc;

	while ((rc = chunk_step(&x, c, in, n, &pos, out)) > 0)
		;
	*used = pos;
	if (rc < 0) {
		c->state = CH_FAILED;
		return FA_EINPUT;
	}
	return FA_OK;
}

const char *fa_h1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "";
}

static void put(struct fa_buf *out, const char *s, size_t n,
		enum fa_err *rc)
{
	if (*rc == FA_OK)
		*rc = fa_buf_append(out, s, n);
}

/* The FA_EUSAGE cases of fa_h1_response_head(), or NULL. */
static const char *response_problem(const struct fa_h1_response *r,
				    const char *reason)
{
	bool bodyless = r->status < 200 || r->status == 204 ||
			r->status == 304;
	const struct fa_h1_header *h;
	int i;

	if (r->status < 100 || r->status > 999)
		return "status out of range";
	if (!value_ok(reason, strlen(reason)))
		return "invalid reason phrase";
	for (i = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		if (!token_ok(h->name, h->name_len) ||
		    !value_ok(h->value, h->value_len))
			return "invalid response field";
		if (fa_h1_header_eq(h, "Content-Length") ||
		    fa_h1_header_eq(h, "Transfer-Encoding") ||
		    (r->status >= 200 && fa_h1_header_eq(h, "Connection")))
			return "framing field given to the response writer";
	}
	if (r->content_length < FA_H1_NO_LENGTH)
		return "invalid content length";
	if (bodyless)
		return NULL;
	if (r->content_length == FA_H1_CHUNKED && r->minor == 0)
		return "chunked response to HTTP/1.0";
	if (r->content_length == FA_H1_NO_LENGTH && r->keep_alive)
		return "response without a length on a kept-alive connection";
	return NULL;
}

enum fa_err fa_h1_response_head(struct fa_buf *out,
				const struct fa_h1_response *r,
				struct fa_error *err)
{
	const char *reason = r->reason ? r->reason : fa_h1_reason(r->status);
	const char *problem = response_problem(r, reason);
	size_t len0 = out->len;
	enum fa_err rc = FA_OK;
	char line[64];
	int i, k;

	if (problem)
		return fa_error_set(err, FA_EUSAGE, "HTTP response %d: %s",
				    r->status, problem);
	k = snprintf(line, sizeof(line), "HTTP/1.1 %d ", r->status);
	put(out, line, (size_t)k, &rc);
	put(out, reason, strlen(reason), &rc);
	put(out, "\r\n", 2, &rc);
	for (i = 0; i < r->nheaders; i++) {
		put(out, r->headers[i].name, r->headers[i].name_len, &rc);
		put(out, ": ", 2, &rc);
		put(out, r->headers[i].value, r->headers[i].value_len, &rc);
		put(out, "\r\n", 2, &rc);
	}
	if (r->status >= 200) {
		if (r->status != 204 && r->content_length >= 0) {
			k = snprintf(line, sizeof(line),
				     "Content-Length: %" PRId64 "\r\n",
				     r->content_length);
			put(out, line, (size_t)k, &rc);
		} else if (r->status != 204 && r->status != 304 &&
			   r->content_length == FA_H1_CHUNKED) {
			put(out, "Transfer-Encoding: chunked\r\n", 28, &rc);
		}
		if (!r->keep_alive)
			put(out, "Connection: close\r\n", 19, &rc);
		else if (r->minor == 0)
			put(out, "Connection: keep-alive\r\n", 24, &rc);
	}
	put(out, "\r\n", 2, &rc);
	if (rc != FA_OK) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
		return fa_error_set(err, rc, "HTTP response head does not "
				    "fit in the output buffer");
	}
	return FA_OK;
}

enum fa_err fa_h1_chunk(struct fa_buf *out, const void *data, size_t n)
{
	size_t len0 = out->len;
	enum fa_err rc = FA_OK;
	char line[32];
	int k;

	if (n == 0) {
		put(out, "0\r\n\r\n", 5, &rc);
		return rc;
	}
	k = snprintf(line, sizeof(line), "%zx\r\n", n);
	put(out, line, (size_t)k, &rc);
	put(out, data, n, &rc);
	put(out, "\r\n", 2, &rc);
	if (rc != FA_OK) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
	}
	return rc;
}

void fa_h1_date(char out[30], time_t t)
{
	static const char days[][4] = { "Thu", "Fri", "Sat", "Sun", "Mon",
					"Tue", "Wed" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
					  "Jun", "Jul", "Aug", "Sep", "Oct",
					  "Nov", "Dec" };
	int64_t s = (int64_t)t, z, era, y, day = s / 86400, sec = s % 86400;
	unsigned doe, yoe, doy, mp, d, m;
	char tmp[64];

	if (sec < 0) {
		sec += 86400;
		day--;
	}
	/* Days since 1970-01-01 to a civil date (Howard Hinnant's method). */
	z = day + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (m <= 2);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999;
	snprintf(tmp, sizeof(tmp), "%s, %02u %s %04d %02d:%02d:%02d GMT",
		 days[((day % 7) + 7) % 7], d, months[m - 1], (int)y,
		 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
	memcpy(out, tmp, 29);
	out[29] = '\0';
}

enum fa_err fa_h1_pct_decode(char *dst, size_t *dst_len, const char *src,
			     size_t n, bool plus_space, struct fa_error *err)
{
	size_t i, o = 0;
	char c;

	for (i = 0; i < n; i++) {
		c = src[i];
		if (c == '%') {
			if (n - i < 3 || !is(src[i + 1], C_HEX) ||
			    !is(src[i + 2], C_HEX)) {
				*dst_len = o;
				return fa_error_set(err, FA_EINPUT, "invalid "
						    "percent escape at byte %zu",
						    i);
			}
			c = (char)(hexval(src[i + 1]) << 4 |
				   hexval(src[i + 2]));
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0') {
			*dst_len = o;
			return fa_error_set(err, FA_EINPUT, "NUL byte at byte "
					    "%zu", i);
		}
		dst[o++] = c;
	}
	*dst_len = o;
	return FA_OK;
}

bool fa_h1_query_next(const char **q, size_t *qlen,
		      struct fa_h1_header *pair)
{
	const char *p = *q, *end, *amp, *eq;

	if (!p || *qlen == 0)
		return false;
	end = p + *qlen;
	while (p < end && *p == '&')
		p++;
	if (p == end) {
		*q = end;
		*qlen = 0;
		return false;
	}
	amp = memchr(p, '&', (size_t)(end - p));
	if (!amp)
		amp = end;
	eq = memchr(p, '=', (size_t)(amp - p));
	pair->name = p;
	pair->name_len = (size_t)((eq ? eq : amp) - p);
	pair->value = eq ? eq + 1 : amp;
	pair->value_len = eq ? (size_t)(amp - eq) - 1 : 0;
	*q = amp;
	*qlen = (size_t)(end - amp);
	return true;
}
