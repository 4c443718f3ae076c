/*
 * fa-mcp client: OAuth's client credentials grant (see coauth.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "coauth.h"
#include "core/buf.h"
#include "core/stats.h"

#define MAX_ANSWER (1u << 20)
#define URL_MAX 4608

bool coauth_param(const char *challenge, const char *param, char *out, size_t n)
{
	size_t plen = strlen(param), k = 0;
	const char *p = challenge;

	for (; (p = strcasestr(p, param)); p += plen) {
		const char *v = p + plen;

		if ((p > challenge && p[-1] != ' ' && p[-1] != ',' && p[-1] != '\t') || *v != '=')
			continue;
		v++;
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				if (*v == '\\' && v[1])
					v++;
				if (k + 1 < n)
					out[k++] = *v;
			}
		} else {
			for (; *v && *v != ',' && *v != ' '; v++)
				if (k + 1 < n)
					out[k++] = *v;
		}
		out[k] = 0;
		return true;
	}
	return false;
}

/* One exchange on a connection of its own: the status and body (NUL-terminated). */
struct fetch {
	bool done;
	enum fa_err rc;
	int status;
	struct fa_buf body;
	char msg[512];
};

static void fetch_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		       const char *msg)
{
	struct fetch *f = rq->ctx;

	f->done = true;
	f->rc = rc;
	f->status = res->status;
	if (rc)
		snprintf(f->msg, sizeof(f->msg), "%s", msg);
	else if (res->body)
		fa_buf_append(&f->body, res->body, res->body_len);
}

static enum fa_err fetch(struct fa_loop *loop, const char *method, const char *url,
			 const struct fa_h1_header *hdr, int nh, const char *body, int timeout_ms,
			 struct fetch *f, struct fa_error *err)
{
	struct fa_hclient_opts o = { .timeout_ms = timeout_ms, .max_body = MAX_ANSWER };
	struct fa_hclient *c;
	struct fa_url u;
	struct fa_hclient_req rq = { .method = method, .headers = hdr, .nheaders = nh, .body = body,
				     .body_len = body ? strlen(body) : 0, .on_done = fetch_done, .ctx = f };

	memset(f, 0, sizeof(*f));
	fa_buf_init(&f->body, MAX_ANSWER);
	if (fa_url_parse(url, &u, err) || !(c = fa_hclient_new(loop, &u, &o, err)))
		return err->code;
	rq.target = u.target;
	fa_hclient_request(c, &rq);
	while (!f->done)
		fa_loop_run_once(loop, 100);
	fa_hclient_free(c);
	if (f->rc)
		return fa_error_set(err, f->rc, "%s %s: %s", method, url, f->msg);
	return FA_OK;
}

/* The JSON object at url, or NULL (with err) when there is none. */
static json_t *get_json(struct fa_loop *loop, const char *url, int timeout_ms, struct fa_error *err)
{
	struct fa_h1_header accept = { "Accept", "application/json", 6, 16 };
	struct fetch f;
	json_t *v = NULL;

	if (!fetch(loop, "GET", url, &accept, 1, NULL, timeout_ms, &f, err)) {
		if (f.status != 200)
			fa_error_set(err, FA_ECONNECT, "GET %s: HTTP %d", url, f.status);
		else if (!(v = json_loadb(f.body.data, f.body.len, 0, NULL)) || !json_is_object(v))
			fa_error_set(err, FA_EINPUT, "GET %s: the answer is no JSON object", url);
	}
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	fa_buf_release(&f.body);
	return v;
}

/* The first of the urls that answers a JSON object. */
static json_t *first_json(struct fa_loop *loop, char urls[][URL_MAX], int n, int timeout_ms,
			  struct fa_error *err)
{
	json_t *v = NULL;

	for (int i = 0; i < n && !v; i++) {
		fa_error_clear(err);
		v = get_json(loop, urls[i], timeout_ms, err);
	}
	return v;
}

/* application/x-www-form-urlencoded of s, appended to b. */
static void form_put(struct fa_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("-._~", ch))
			fa_buf_putc(b, (char)ch);
		else if (ch == ' ')
			fa_buf_putc(b, '+');
		else
			fa_buf_printf(b, "%%%02X", ch);
	}
}

static bool has_string(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* The protected resource's metadata, from the challenge or the well-known URIs. */
static json_t *resource_metadata(struct fa_loop *loop, const struct fa_url *m, const char *challenge,
				 int timeout_ms, struct fa_error *err)
{
	char urls[2][URL_MAX];
	int n = 0;
	const char *path = strcmp(m->target, "/") ? m->target : "";
	char *q;

	if (coauth_param(challenge, "resource_metadata", urls[0], sizeof(urls[0])))
		return get_json(loop, urls[0], timeout_ms, err);
	snprintf(urls[n], sizeof(urls[n]), "%s://%s/.well-known/oauth-protected-resource%s", m->scheme,
		 m->authority, path);
	if ((q = strchr(urls[n], '?')))
		*q = 0;
	n++;
	snprintf(urls[n++], sizeof(urls[n]), "%s://%s/.well-known/oauth-protected-resource", m->scheme,
		 m->authority);
	return first_json(loop, urls, n, timeout_ms, err);
}

/* The authorization server's metadata, from the well-known URIs of its issuer. */
static json_t *server_metadata(struct fa_loop *loop, const char *issuer, int timeout_ms,
			       struct fa_error *err)
{
	char urls[3][URL_MAX];
	struct fa_url a;
	size_t plen;
	int n = 0;

	if (fa_url_parse(issuer, &a, err))
		return NULL;
	plen = strlen(a.target);
	while (plen && a.target[plen - 1] == '/')
		a.target[--plen] = 0;
	snprintf(urls[n++], sizeof(urls[0]), "%s://%s/.well-known/oauth-authorization-server%s",
		 a.scheme, a.authority, a.target);
	snprintf(urls[n++], sizeof(urls[0]), "%s://%s/.well-known/openid-configuration%s", a.scheme,
		 a.authority, a.target);
	if (plen)
		snprintf(urls[n++], sizeof(urls[0]), "%s://%s%s/.well-known/openid-configuration",
			 a.scheme, a.authority, a.target);
	return first_json(loop, urls, n, timeout_ms, err);
}

/* The scope to ask for: the challenge's, else all the resource supports, else none. */
static void scope_of(const char *challenge, const json_t *prm, struct fa_buf *scope)
{
	char s[1024];
	size_t i;
	json_t *v;

	if (coauth_param(challenge, "scope", s, sizeof(s))) {
		fa_buf_puts(scope, s);
		return;
	}
	json_array_foreach(json_object_get(prm, "scopes_supported"), i, v)
		if (json_is_string(v))
			fa_buf_printf(scope, "%s%s", scope->len ? " " : "", json_string_value(v));
}

/* base64url without padding of p[0..n), appended to b. */
static void b64url_put(struct fa_buf *b, const void *p, size_t n)
{
	unsigned char *out = malloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock(out, p, (int)n);

	for (int i = 0; i < len && out[i] != '='; i++)
		fa_buf_putc(b, out[i] == '+' ? '-' : out[i] == '/' ? '_' : (char)out[i]);
	free(out);
}

/* The signature of what with key, as JWS wants it: ECDSA as r || s. */
static enum fa_err sign(EVP_PKEY *key, const struct fa_buf *what, struct fa_buf *sig,
			struct fa_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[1024], raw[132];
	size_t n = sizeof(der);
	const unsigned char *p = der;
	enum fa_err rc = FA_OK;

	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &n, (const unsigned char *)what->data, what->len) != 1) {
		rc = fa_error_set(err, FA_EUSAGE, "--client-key: the key cannot sign with SHA-256");
	} else if (EVP_PKEY_base_id(key) == EVP_PKEY_EC) {
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
		const BIGNUM *r, *s;
		int half = (EVP_PKEY_bits(key) + 7) / 8;

		if (!es || half * 2 > (int)sizeof(raw)) {
			rc = fa_error_set(err, FA_EUSAGE, "--client-key: a malformed ECDSA signature");
		} else {
			ECDSA_SIG_get0(es, &r, &s);
			BN_bn2binpad(r, raw, half);
			BN_bn2binpad(s, raw + half, half);
			fa_buf_append(sig, raw, (size_t)half * 2);
		}
		ECDSA_SIG_free(es);
	} else {
		fa_buf_append(sig, der, n);
	}
	EVP_MD_CTX_free(md);
	return rc;
}

/*
 * A client assertion (RFC 7523) signed with the PEM key of path: ES256
 * for a P-256 key, RS256 for RSA; issued by and about the client, for the
 * authorization server (aud: its issuer), good for five minutes.
 */
static enum fa_err assertion(const char *path, const char *client_id, const char *issuer,
			     struct fa_buf *out, struct fa_error *err)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	struct fa_buf sig;
	unsigned char id[16];
	char jti[33];
	json_t *claims;
	char *text;
	long now = (long)time(NULL);
	enum fa_err rc;

	if (f)
		fclose(f);
	if (!key)
		return fa_error_set(err, FA_EUSAGE, "--client-key '%s': %s", path,
				    f ? "no PEM private key in it" : strerror(errno));
	if (EVP_PKEY_base_id(key) != EVP_PKEY_EC && EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		return fa_error_set(err, FA_EUSAGE, "--client-key '%s': an EC (P-256) or RSA key, please", path);
	}
	RAND_bytes(id, sizeof(id));
	for (int i = 0; i < 16; i++)
		snprintf(jti + 2 * i, 3, "%02x", id[i]);
	b64url_put(out, EVP_PKEY_base_id(key) == EVP_PKEY_EC ? "{\"alg\":\"ES256\",\"typ\":\"JWT\"}" :
		   "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27);
	fa_buf_putc(out, '.');
	claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", client_id, "sub", client_id, "aud", issuer,
			   "iat", (json_int_t)now, "exp", (json_int_t)now + 300, "jti", jti);
	text = json_dumps(claims, JSON_COMPACT);
	b64url_put(out, text, strlen(text));
	free(text);
	json_decref(claims);
	fa_buf_init(&sig, 0);
	if (!(rc = sign(key, out, &sig, err))) {
		fa_buf_putc(out, '.');
		b64url_put(out, sig.data, sig.len);
	}
	fa_buf_release(&sig);
	EVP_PKEY_free(key);
	return rc;
}

/* The token request and its answer. */
static enum fa_err ask_token(struct fa_loop *loop, const char *endpoint, const json_t *asm,
			     const char *issuer, const char *resource, const char *scope,
			     const struct coauth *cred, int timeout_ms, char *token, size_t n,
			     struct fa_error *err)
{
	const json_t *methods = json_object_get(asm, "token_endpoint_auth_methods_supported");
	bool post = json_is_array(methods) && !has_string(methods, "client_secret_basic") &&
		    has_string(methods, "client_secret_post");
	struct fa_h1_header hdr[3];
	struct fa_buf body, basic;
	unsigned char b64[2048];
	char auth[2100];
	struct fetch f;
	json_t *v = NULL;
	enum fa_err rc;

	fa_buf_init(&body, 0);
	fa_buf_puts(&body, "grant_type=client_credentials&resource=");
	form_put(&body, resource);
	if (scope[0]) {
		fa_buf_puts(&body, "&scope=");
		form_put(&body, scope);
	}
	fa_buf_init(&basic, 1500);
	if (cred->client_secret) {
		form_put(&basic, cred->client_id);
		fa_buf_putc(&basic, ':');
		form_put(&basic, cred->client_secret);
	}
	if (cred->key_file) {
		struct fa_buf jwt;

		fa_buf_init(&jwt, 0);
		if ((rc = assertion(cred->key_file, cred->client_id, issuer, &jwt, err))) {
			fa_buf_release(&jwt);
			fa_buf_release(&body);
			fa_buf_release(&basic);
			return rc;
		}
		fa_buf_puts(&body, "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
			    "%3Ajwt-bearer&client_assertion=");
		fa_buf_append(&body, jwt.data, jwt.len);
		fa_buf_release(&jwt);
		post = true;            /* no Basic header: the assertion authenticates */
	} else if (post) {
		fa_buf_puts(&body, "&client_id=");
		form_put(&body, cred->client_id);
		fa_buf_puts(&body, "&client_secret=");
		form_put(&body, cred->client_secret);
	}
	b64[0] = 0;
	if (basic.len)
		EVP_EncodeBlock(b64, (const unsigned char *)basic.data, (int)basic.len);
	snprintf(auth, sizeof(auth), "Basic %s", b64);
	hdr[0] = (struct fa_h1_header){ "Content-Type", "application/x-www-form-urlencoded", 12, 33 };
	hdr[1] = (struct fa_h1_header){ "Accept", "application/json", 6, 16 };
	hdr[2] = (struct fa_h1_header){ "Authorization", auth, 13, strlen(auth) };
	rc = fetch(loop, "POST", endpoint, hdr, post ? 2 : 3, body.data, timeout_ms, &f, err);
	fa_buf_release(&body);
	fa_buf_release(&basic);
	if (rc)
		return rc;
	v = json_loadb(f.body.data, f.body.len, 0, NULL);
	if (f.status != 200)
		rc = fa_error_set(err, FA_ECONNECT, "the token endpoint %s refused the client credentials: "
				  "HTTP %d%s%s%s%s", endpoint, f.status,
				  json_string_value(json_object_get(v, "error")) ? ", " : "",
				  json_string_value(json_object_get(v, "error")) ?: "",
				  json_string_value(json_object_get(v, "error_description")) ? ": " : "",
				  json_string_value(json_object_get(v, "error_description")) ?: "");
	else if (!json_is_string(json_object_get(v, "access_token")) ||
		 strlen(json_string_value(json_object_get(v, "access_token"))) >= n)
		rc = fa_error_set(err, FA_EINPUT, "the token endpoint %s answered without a usable access_token",
				  endpoint);
	else
		snprintf(token, n, "%s", json_string_value(json_object_get(v, "access_token")));
	json_decref(v);
	fa_buf_release(&f.body);
	return rc;
}

/* err's message, after what failed (what names one URL: %s). */
static enum fa_err failed(struct fa_error *err, const char *what, const char *url)
{
	char was[sizeof(err->msg)], head[600];

	snprintf(was, sizeof(was), "%s", err->msg);
	snprintf(head, sizeof(head), what, url);
	return fa_error_set(err, err->code ? err->code : FA_ECONNECT, "%s: %s", head, was);
}

enum fa_err coauth_token(struct fa_loop *loop, const char *mcp, const char *challenge,
			 const struct coauth *cred, int timeout_ms, char *token, size_t n,
			 struct fa_error *err)
{
	json_t *prm = NULL, *asm = NULL;
	const char *issuer, *endpoint, *resource;
	struct fa_buf scope;
	struct fa_url m;
	enum fa_err rc;

	if (fa_url_parse(mcp, &m, err))
		return err->code;
	if (!(prm = resource_metadata(loop, &m, challenge, timeout_ms, err)))
		return failed(err, "no protected resource metadata for %s", mcp);
	issuer = json_string_value(json_array_get(json_object_get(prm, "authorization_servers"), 0));
	resource = json_string_value(json_object_get(prm, "resource"));
	if (!issuer) {
		json_decref(prm);
		return fa_error_set(err, FA_EINPUT, "the protected resource metadata of %s names no "
				    "authorization server", mcp);
	}
	if (!(asm = server_metadata(loop, issuer, timeout_ms, err))) {
		rc = failed(err, "no metadata of the authorization server %s", issuer);
		json_decref(prm);
		return rc;
	}
	if (!(endpoint = json_string_value(json_object_get(asm, "token_endpoint")))) {
		rc = fa_error_set(err, FA_EINPUT, "the authorization server %s has no token_endpoint", issuer);
	} else {
		fa_buf_init(&scope, 0);
		scope_of(challenge, prm, &scope);
		rc = ask_token(loop, endpoint, asm, json_string_value(json_object_get(asm, "issuer")) ?: issuer,
			       resource ? resource : mcp, scope.data ? scope.data : "", cred, timeout_ms,
			       token, n, err);
		fa_buf_release(&scope);
	}
	json_decref(asm);
	json_decref(prm);
	return rc;
}
