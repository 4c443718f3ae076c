/*
 * fa-serve: JWT to role.  A request's Authorization: Bearer token is
 * verified against the --jwt-secret keys (lib/http/jwt), its role claim
 * picks the database role and its claims become request.jwt.claims, both
 * set in the statement's own transaction by the pool (struct fa_pgq's
 * settings).  No token: --anon-role, unless the route says auth: required.
 * Verified tokens are cached per worker until they expire.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/json.h"
#include "http/hmap.h"
#include "serve.h"

/* The largest key file read. */
#define KEYFILE_MAX (1 << 20)

/* Tokens each worker remembers. */
#define CACHE_SLOTS 4096

static char *read_file(const char *path, size_t *len, struct fa_error *err)
{
	FILE *f = fopen(path, "rb");
	char *data = malloc(KEYFILE_MAX + 1);
	size_t n = 0;

	if (!f || !data) {
		fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	n = fread(data, 1, KEYFILE_MAX + 1, f);
	if (ferror(f) || n > KEYFILE_MAX) {
		fa_error_set(err, FA_EINPUT, "cannot read '%s': %s", path,
			     ferror(f) ? strerror(errno) : "larger than 1 MiB");
		goto fail;
	}
	fclose(f);
	*len = n;
	return data;
fail:
	if (f)
		fclose(f);
	free(data);
	return NULL;
}

enum fa_err auth_load(struct app *a, struct fa_error *err)
{
	struct keyset *ks, *old;
	size_t len = 0;
	char *data;

	if (!a->jwt_file)
		return FA_OK;
	if (!(data = read_file(a->jwt_file, &len, err)))
		return err->code;
	ks = calloc(1, sizeof(*ks));
	if (ks)
		ks->keys = fa_jwt_keys_parse(data, len, a->jwt_file, err);
	free(data);
	if (!ks || !ks->keys) {
		free(ks);
		return err->code ? err->code : FA_ENOMEM;
	}
	old = a->keys;
	ks->gen = old ? old->gen + 1 : 1;
	ks->retired = old;              /* requests in flight may still use it */
	__atomic_store_n(&a->keys, ks, __ATOMIC_RELEASE);
	return FA_OK;
}

void auth_release(struct app *a)
{
	struct keyset *ks = a->keys, *next;

	for (; ks; ks = next) {
		next = ks->retired;
		fa_jwt_keys_free(ks->keys);
		free(ks);
	}
	a->keys = NULL;
}

void auth_release_grant(struct grant *g)
{
	free(g->role);
	free(g->claims);
	*g = (struct grant){ 0 };
}

bool auth_expired(double until)
{
	struct timespec now;

	if (until <= 0 || until == INFINITY)
		return false;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec >= until;
}

/* A description fit for a quoted-string: no quote, backslash or control byte. */
static void quoted_safe(char *d, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		d[i] = s[i] == '"' || s[i] == '\\' ? '\'' : (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	d[i] = '\0';
}

/*
 * 401 with the challenge of RFC 6750: no error code when the request
 * carried no token, invalid_token when its token failed.
 */
static void unauthorized(struct fa_hreq *rq, bool had_token, const char *why)
{
	char desc[400], hdr[512];
	struct fa_buf b;

	quoted_safe(desc, sizeof(desc), why);
	if (had_token)
		snprintf(hdr, sizeof(hdr), "Bearer error=\"invalid_token\", error_description=\"%s\"",
			 desc);
	else
		snprintf(hdr, sizeof(hdr), "Bearer");
	fa_hres_header(rq, "WWW-Authenticate", hdr);
	fa_buf_init(&b, 0);
	fa_hmap_error_json(&b, 401, NULL, why, NULL);
	fa_hres_simple(rq, 401, "application/json", b.data);
	fa_buf_release(&b);
}

/* {"role":"anon"}: the claims of a request without a token. */
static char *anon_claims(const char *role)
{
	struct fa_buf b;
	char *s;

	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "{\"role\":");
	fa_json_put_string(&b, role, strlen(role));
	fa_buf_putc(&b, '}');
	s = strdup(b.data);
	fa_buf_release(&b);
	return s;
}

/* The role of a verified token: its claim, else --anon-role; NULL: none. */
static const char *role_of(const struct app *a, const char *claimed)
{
	return claimed ? claimed : a->anon_role;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Verifies tok, or finds it in the worker's cache: *out is the cache's
 * entry (role, claims and until, valid until the next put).  -1 with why.
 */
static int verify(struct wctx *w, const struct keyset *ks, const char *tok, size_t len,
		  const struct fa_jwt_hit **out, char *why, size_t whylen)
{
	const struct app *a = w->app;
	struct fa_error err = { 0 };
	struct fa_jwt t;
	const json_t *r;
	double now = now_s();

	if ((*out = fa_jwt_cache_get(w->jwt_cache, tok, len, ks->gen, now)))
		return 0;
	if (fa_jwt_verify(ks->keys, &a->jwt_rules, tok, len, now, &t, &err)) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	r = fa_jwt_claim(t.claims, a->role_claim);
	if (r && (!json_is_string(r) || !json_string_length(r) ||
		  strlen(json_string_value(r)) != json_string_length(r))) {
		snprintf(why, whylen, "claims: the role at %s is not a non-empty string",
			 a->role_claim);
		fa_jwt_release(&t);
		return -1;
	}
	fa_jwt_cache_put(w->jwt_cache, tok, len, ks->gen, t.until, r ? json_string_value(r) : NULL,
			 t.payload);
	fa_jwt_release(&t);
	if (!(*out = fa_jwt_cache_get(w->jwt_cache, tok, len, ks->gen, now))) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

/* Fails closed: a grant that could not be copied never runs as the login role. */
static int granted(struct fa_hreq *rq, struct grant *g)
{
	if (g->role && g->claims)
		return 0;
	auth_release_grant(g);
	fa_hres_simple(rq, 503, "application/json",
		       "{\"error\":{\"status\":503,\"message\":\"out of memory\"}}\n");
	return -1;
}

int auth_check(struct fa_hreq *rq, struct wctx *w, const struct fa_query *q, struct grant *g)
{
	const struct app *a = w->app;
	const struct fa_h1_header *h = fa_hreq_header(rq, "authorization");
	const struct keyset *ks = __atomic_load_n(&a->keys, __ATOMIC_ACQUIRE);
	enum fa_auth need = q->auth != FA_AUTH_DEFAULT ? q->auth :
			    AUTH_ON(a) ? a->auth_default : FA_AUTH_OPTIONAL;
	const struct fa_jwt_hit *hit;
	const char *tok;
	size_t len;
	char why[1100];

	*g = (struct grant){ .until = INFINITY };
	if (!h) {
		if (need == FA_AUTH_REQUIRED || !a->anon_role) {
			unauthorized(rq, false, need == FA_AUTH_REQUIRED ?
				     "this route needs a bearer token (auth: required)" :
				     "a bearer token is needed (fa-serve has no --anon-role)");
			return -1;
		}
		g->role = strdup(a->anon_role);
		g->claims = anon_claims(a->anon_role);
		return granted(rq, g);
	}
	if (h->value_len < 7 || strncasecmp(h->value, "Bearer ", 7)) {
		unauthorized(rq, true, "expected Authorization: Bearer TOKEN");
		return -1;
	}
	tok = h->value + 7;
	len = h->value_len - 7;
	while (len && *tok == ' ')
		tok++, len--;
	while (len && tok[len - 1] == ' ')
		len--;
	if (!ks) {
		unauthorized(rq, true, "fa-serve takes no tokens: it runs without --jwt-secret");
		return -1;
	}
	if (verify(w, ks, tok, len, &hit, why, sizeof(why))) {
		unauthorized(rq, true, why);
		return -1;
	}
	if (!role_of(a, hit->role)) {
		snprintf(why, sizeof(why), "claims: no role at %s (and fa-serve has no --anon-role)",
			 a->role_claim);
		unauthorized(rq, true, why);
		return -1;
	}
	g->role = strdup(role_of(a, hit->role));
	g->claims = strdup(hit->claims);
	g->until = hit->until;
	return granted(rq, g);
}

struct fa_jwt_cache *auth_cache_new(const struct app *a)
{
	return a->keys ? fa_jwt_cache_new(CACHE_SLOTS) : NULL;
}
