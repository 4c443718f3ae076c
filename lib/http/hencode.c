#include "http/hencode.h"

#include <string.h>
#include <strings.h>

/* Weights are kept in thousandths, q=0.5 as 500; -1 marks "not listed". */
#define Q_ONE 1000
#define Q_UNLISTED (-1)

/* ------------------------------------------------------------ lexing */

/* A position in a header value that is not NUL-terminated. */
struct cur {
	const char *p;
	const char *end;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static bool is_tchar(char ch)
{
	unsigned char c = (unsigned char)ch;

	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ows(struct cur *c)
{
	while (c->p < c->end && is_ows(*c->p))
		c->p++;
}

/* Takes the token at c (maybe empty); *n gets its length. */
static const char *token(struct cur *c, size_t *n)
{
	const char *start = c->p;

	while (c->p < c->end && is_tchar(*c->p))
		c->p++;
	*n = (size_t)(c->p - start);
	return start;
}

/* Takes the quoted-string c is at; false if it runs off the end. */
static bool quoted(struct cur *c)
{
	char ch;

	c->p++;
	while (c->p < c->end) {
		ch = *c->p++;
		if (ch == '"')
			return true;
		if (ch == '\\') {
			if (c->p == c->end)
				return false;
			c->p++;
		}
	}
	return false;
}

/* Moves c to the comma ending the element, or the end; quoted ones do not. */
static void skip_element(struct cur *c)
{
	while (c->p < c->end && *c->p != ',') {
		if (*c->p == '"')
			quoted(c);
		else
			c->p++;
	}
}

/* ------------------------------------------------------ Accept-Encoding */

/* RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3"0" ]. */
static bool qvalue(const char *p, size_t n, int *q)
{
	int v, scale = 100;
	size_t i;

	if (n == 0 || n > 5 || (p[0] != '0' && p[0] != '1'))
		return false;
	if (n > 1 && p[1] != '.')
		return false;
	v = (p[0] - '0') * Q_ONE;
	for (i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v += (p[i] - '0') * scale;
	}
	if (v > Q_ONE)
		return false;
	*q = v;
	return true;
}

/*
 * Parses the parameters after a coding, *( OWS ";" OWS [ name [ "="
 * value ] ] ), leaving c where they end.  *q gets the weight (1 if none);
 * false if it is invalid or repeated, or a parameter is malformed.
 */
static bool params(struct cur *c, int *q)
{
	bool have_q = false, is_q;
	const char *name, *v;
	size_t nlen, vlen;

	*q = Q_ONE;
	skip_ows(c);
	while (c->p < c->end && *c->p == ';') {
		c->p++;
		skip_ows(c);
		name = token(c, &nlen);
		v = NULL;
		vlen = 0;
		if (c->p < c->end && *c->p == '=') {
			c->p++;
			v = c->p;
			if (c->p < c->end && *c->p == '"') {
				if (!quoted(c))
					return false;
				vlen = (size_t)(c->p - v);
			} else {
				token(c, &vlen);
			}
		}
		is_q = nlen == 1 && (*name == 'q' || *name == 'Q');
		if ((nlen == 0 && v) ||
		    (is_q && (have_q || !v || !qvalue(v, vlen, q))))
			return false;
		have_q = have_q || is_q;
		skip_ows(c);
	}
	return true;
}

/* The weights of the codings fa can make, as listed. */
struct weights {
	int zstd, gzip, identity, star;
};

static bool named(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Records coding p[0..n) at q; a coding listed twice keeps its lower q. */
static void note(struct weights *w, const char *p, size_t n, int q)
{
	int *slot;

	if (named(p, n, "zstd"))
		slot = &w->zstd;
	else if (named(p, n, "gzip") || named(p, n, "x-gzip"))
		slot = &w->gzip;
	else if (named(p, n, "identity"))
		slot = &w->identity;
	else if (named(p, n, "*"))
		slot = &w->star;
	else
		return;
	if (*slot == Q_UNLISTED || q < *slot)
		*slot = q;
}

/* The weight of a coding listed at q, or left to "*" (else to otherwise). */
static int weight(int q, int star, int otherwise)
{
	if (q != Q_UNLISTED)
		return q;
	return star != Q_UNLISTED ? star : otherwise;
}

enum fa_zkind fa_henc_choose(const char *s, size_t len)
{
	return fa_henc_choose_among(s, len, true, true);
}

enum fa_zkind fa_henc_choose_among(const char *s, size_t len, bool zstd_ok, bool gzip_ok)
{
	struct weights w = { Q_UNLISTED, Q_UNLISTED, Q_UNLISTED, Q_UNLISTED };
	struct cur c;
	const char *name;
	size_t nlen;
	int q, zstd, gzip, identity;

	if (!s || len == 0)
		return FA_Z_NONE;
	c.p = s;
	c.end = s + len;
	while (c.p < c.end) {
		if (*c.p == ',' || is_ows(*c.p)) {
			c.p++;          /* empty elements are allowed */
			continue;
		}
		name = token(&c, &nlen);
		if (nlen > 0 && params(&c, &q) &&
		    (c.p == c.end || *c.p == ','))
			note(&w, name, nlen, q);
		skip_element(&c);
	}
	zstd = zstd_ok ? weight(w.zstd, w.star, 0) : 0;
	gzip = gzip_ok ? weight(w.gzip, w.star, 0) : 0;
	/* Unlisted identity stays acceptable, below any listed coding. */
	identity = weight(w.identity, w.star, 1);
	if (zstd > 0 && zstd >= gzip && zstd >= identity)
		return FA_Z_ZSTD;
	if (gzip > 0 && gzip >= identity)
		return FA_Z_GZIP;
	return FA_Z_NONE;
}

/* ------------------------------------------------------------ Content-Type */

static bool ends_with(const char *p, size_t n, const char *tail)
{
	size_t t = strlen(tail);

	return n > t && strncasecmp(p + n - t, tail, t) == 0;
}

bool fa_henc_compressible(const char *ctype)
{
	struct cur c;
	const char *type, *sub;
	size_t tlen, slen;

	if (!ctype)
		return false;
	c.p = ctype;
	c.end = ctype + strlen(ctype);
	skip_ows(&c);
	type = token(&c, &tlen);
	if (tlen == 0 || c.p == c.end || *c.p != '/')
		return false;
	c.p++;
	sub = token(&c, &slen);
	if (slen == 0 || (c.p < c.end && *c.p != ';' && !is_ows(*c.p)))
		return false;
	if (named(type, tlen, "text") || ends_with(sub, slen, "+xml"))
		return true;
	if (!named(type, tlen, "application"))
		return false;
	return named(sub, slen, "json") || named(sub, slen, "x-ndjson") ||
	       named(sub, slen, "javascript") || named(sub, slen, "xml") ||
	       ends_with(sub, slen, "+json");
}

/* ------------------------------------------------------------ ETag */

const char *fa_henc_etag_suffix(enum fa_zkind kind)
{
	switch (kind) {
	case FA_Z_GZIP: return "-gzip";
	case FA_Z_ZSTD: return "-zstd";
	case FA_Z_NONE: break;
	}
	return "";
}

/* RFC 9110 entity-tag: [ "W/" ] DQUOTE *etagc DQUOTE. */
static bool is_etag(const char *t, size_t n)
{
	size_t i = strncmp(t, "W/", 2) == 0 ? 2 : 0;
	unsigned char ch;

	if (n < i + 2 || t[i] != '"' || t[n - 1] != '"')
		return false;
	for (i++; i < n - 1; i++) {
		ch = (unsigned char)t[i];
		if (ch < 0x21 || ch == '"' || ch == 0x7f)
			return false;
	}
	return true;
}

size_t fa_henc_etag(char *out, size_t cap, const char *etag,
		    enum fa_zkind kind)
{
	const char *suffix = fa_henc_etag_suffix(kind);
	size_t n = etag ? strlen(etag) : 0, slen = strlen(suffix);
	size_t total = n + slen;

	if (cap)
		out[0] = '\0';
	if (!etag || !is_etag(etag, n))
		return 0;
	if (total >= cap)
		return total;
	memcpy(out, etag, n - 1);
	memcpy(out + n - 1, suffix, slen);
	out[total - 1] = '"';
	out[total] = '\0';
	return total;
}

/* ------------------------------------------------------------ encoder */

enum fa_err fa_henc_init(struct fa_henc *e, enum fa_zkind kind, int level,
			 struct fa_error *err)
{
	int min, max, def;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->level = level;
	e->min_size = FA_HENC_MIN_SIZE;
	fa_buf_init(&e->hold, 0);
	if (kind == FA_Z_NONE) {
		e->started = true;
		return fa_z_init(&e->z, kind, 0, err);
	}
	/* Checked now, so that a bad level is not found mid-response. */
	fa_z_levels(kind, &min, &max, &def);
	e->failed = level && (level < min || level > max);
	if (e->failed)
		return fa_error_set(err, FA_EUSAGE,
				    "%s level %d is out of range %d-%d",
				    fa_z_name(kind), level, min, max);
	return FA_OK;
}

void fa_henc_release(struct fa_henc *e)
{
	fa_z_release(&e->z);
	fa_buf_release(&e->hold);
}

/* Fixes the coding: sets up the encoder and gives it what was held. */
static enum fa_err start(struct fa_henc *e, struct fa_buf *out,
			 struct fa_error *err)
{
	enum fa_err rc;

	e->started = true;
	rc = fa_z_init_window(&e->z, e->kind, e->level, FA_HENC_WINDOW_LOG,
			      err);
	if (rc == FA_OK && e->hold.len)
		rc = fa_z_write(&e->z, e->hold.data, e->hold.len, out, err);
	fa_buf_release(&e->hold);
	return rc;
}

/* Returns rc, remembering a failure: the encoder may be half set up. */
static enum fa_err done(struct fa_henc *e, enum fa_err rc)
{
	if (rc != FA_OK)
		e->failed = true;
	return rc;
}

static enum fa_err failed(struct fa_error *err)
{
	return fa_error_set(err, FA_EWORK,
			    "response encoder cannot go on after an error");
}

enum fa_err fa_henc_write(struct fa_henc *e, const void *p, size_t n,
			  struct fa_buf *out, struct fa_error *err)
{
	enum fa_err rc;

	if (e->failed)
		return failed(err);
	if (n == 0)
		return FA_OK;
	if (!e->started) {
		if (e->hold.len < e->min_size &&
		    n < e->min_size - e->hold.len) {
			if (fa_buf_append(&e->hold, p, n) != FA_OK)
				return done(e, fa_error_set(err, FA_ENOMEM,
						"cannot hold %zu bytes of "
						"response body", n));
			return FA_OK;
		}
		if ((rc = start(e, out, err)) != FA_OK)
			return done(e, rc);
	}
	return done(e, fa_z_write(&e->z, p, n, out, err));
}

enum fa_err fa_henc_flush(struct fa_henc *e, struct fa_buf *out,
			  struct fa_error *err)
{
	enum fa_err rc;

	if (e->failed)
		return failed(err);
	if (!e->started) {
		if (e->hold.len == 0)
			return FA_OK;
		if ((rc = start(e, out, err)) != FA_OK)
			return done(e, rc);
	}
	return done(e, fa_z_flush(&e->z, out, err));
}

enum fa_err fa_henc_finish(struct fa_henc *e, struct fa_buf *out,
			   struct fa_error *err)
{
	enum fa_err rc;

	if (e->failed)
		return failed(err);
	if (!e->started) {
		if (e->hold.len < e->min_size)
			e->kind = FA_Z_NONE;
		if ((rc = start(e, out, err)) != FA_OK)
			return done(e, rc);
	}
	return done(e, fa_z_finish(&e->z, out, err));
}
