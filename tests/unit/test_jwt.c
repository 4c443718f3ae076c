/*
 * Unit tests of lib/http/jwt: strict base64url, key files, tokens made
 * here (HMAC by hand; EC, Ed25519 and RSA keys generated per run) checked
 * for signature, algorithm fit, structure and claims, claim paths, and
 * the cache of verified tokens.
 */
#include "http/jwt.c"
#include "check.h"

#include <openssl/hmac.h>

static const char secret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = a[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* header.payload, unsigned, into out. */
static void signing_input(const char *hdr, const char *claims, char *out)
{
	b64((const unsigned char *)hdr, strlen(hdr), out);
	strcat(out, ".");
	b64((const unsigned char *)claims, strlen(claims), out + strlen(out));
}

static void hs_token(const char *hdr, const char *claims, const char *key, char *out)
{
	unsigned char mac[64];
	unsigned int n = 0;
	const EVP_MD *md = strstr(hdr, "HS512") ? EVP_sha512() : strstr(hdr, "HS384") ? EVP_sha384() : EVP_sha256();

	signing_input(hdr, claims, out);
	HMAC(md, key, (int)strlen(key), (unsigned char *)out, strlen(out), mac, &n);
	strcat(out, ".");
	b64(mac, n, out + strlen(out));
}

static struct fa_jwt_keys *keys_of(const char *text, struct fa_error *err)
{
	return fa_jwt_keys_parse(text, strlen(text), "k", err);
}

static enum fa_err verify_at(struct fa_jwt_keys *k, const struct fa_jwt_rules *r, const char *tok,
			     double t, struct fa_error *err)
{
	struct fa_jwt out;
	enum fa_err rc = fa_jwt_verify(k, r, tok, strlen(tok), t, &out, err);

	if (!rc)
		fa_jwt_release(&out);
	return rc;
}

static void test_b64url(void)
{
	unsigned char out[64];
	size_t bad = 99;

	CHECK(fa_jwt_b64url_decode("aGVsbG8", 7, out, &bad) == 5 && !memcmp(out, "hello", 5));
	CHECK(fa_jwt_b64url_decode("", 0, out, &bad) == 0);
	CHECK(fa_jwt_b64url_decode("aGVsbG8=", 8, out, &bad) < 0 && bad == 7, "padding at %zu", bad);
	CHECK(fa_jwt_b64url_decode("aG+sbG8", 7, out, &bad) < 0 && bad == 2);
	CHECK(fa_jwt_b64url_decode("aGVsbG9", 7, out, &bad) < 0, "stray bits");
	CHECK(fa_jwt_b64url_decode("aGVsb", 5, out, &bad) < 0, "a lone sixth");
	CHECK(fa_jwt_b64url_decode("-_-_", 4, out, &bad) == 3 && out[0] == 0xfb && out[2] == 0xbf);
	/* round trips of random bytes */
	for (int i = 0; i < 200; i++) {
		unsigned char in[40], back[40];
		char enc[64];
		size_t n = rnd_below(40);

		for (size_t j = 0; j < n; j++)
			in[j] = (unsigned char)rnd();
		b64(in, n, enc);
		CHECK(fa_jwt_b64url_decode(enc, strlen(enc), back, &bad) == (long)n &&
		      !memcmp(in, back, n), "round trip of %zu bytes", n);
	}
}

static void test_keys(void)
{
	struct fa_error err = { 0 };
	struct fa_jwt_keys *k;

	CHECK(!keys_of("short\n", &err));
	CHECK_STR(err.msg, "k: a secret of 5 bytes; HMAC keys need 32 or more (RFC 7518 3.2)");
	CHECK(!keys_of("{\"keys\":[]}", &err));
	CHECK_STR(err.msg, "k: the key set is empty");
	CHECK(!keys_of("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"},{\"kty\":\"XX\",\"kid\":\"b\"}]}", &err));
	CHECK_STR(err.msg, "k: key 2 (kid \"b\"): \"kty\" is XX; fa knows oct, RSA, EC and OKP");
	CHECK(!keys_of("{\"kty\":\"oct\",\"k\":\"AA=A\"}", &err));
	CHECK_STR(err.msg, "k: \"k\": invalid base64url at byte 2");
	k = keys_of("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
		    "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
		    "{\"kty\":\"oct\",\"use\":\"sig\",\"k\":\"AAAA\"}]}", &err);
	CHECK(k && fa_jwt_keys_count(k) == 1, "%s", err.msg);
	fa_jwt_keys_free(k);
	CHECK(!keys_of("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\",\"use\":\"enc\"}]}", &err));
	CHECK_STR(err.msg, "k: no key of the set is for signatures");
	CHECK(!keys_of("{\"kty\":\"oct\",\"k\":\"AAAA\",\"use\":\"enc\"}", &err));
	CHECK_STR(err.msg, "k: \"use\" is \"enc\", not \"sig\"");
	CHECK(!keys_of(" {\"kty\":", &err));
	CHECK(strstr(err.msg, "k: line 1, column") != NULL, "%s", err.msg);
	CHECK(!keys_of("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", &err));
	CHECK_STR(err.msg, "k: no public key or certificate in this PEM");
	k = keys_of(secret, &err);
	CHECK(k && fa_jwt_keys_count(k) == 1);
	fa_jwt_keys_free(k);
}

static void test_hmac(void)
{
	struct fa_error err = { 0 };
	struct fa_jwt_keys *k = keys_of(secret, &err), *k32;
	struct fa_jwt_rules r = { 0 };
	struct fa_jwt out;
	char tok[2048];

	hs_token("{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"role\":\"r\",\"exp\":1000}", secret, tok);
	CHECK(!fa_jwt_verify(k, &r, tok, strlen(tok), 999, &out, &err), "%s", err.msg);
	CHECK_STR(json_string_value(fa_jwt_claim(out.claims, ".role")), "r");
	CHECK_STR(out.payload, "{\"sub\":\"a\",\"role\":\"r\",\"exp\":1000}");
	CHECK(out.until == 1000);
	fa_jwt_release(&out);
	CHECK(verify_at(k, &r, tok, 1000, &err) == FA_EINPUT);
	CHECK_STR(err.msg, "claims: the token expired 0 s ago");
	r.leeway_s = 5;
	CHECK(!verify_at(k, &r, tok, 1004, &err));
	r.leeway_s = 0;
	hs_token("{\"alg\":\"HS512\"}", "{}", secret, tok);
	CHECK(!verify_at(k, &r, tok, 0, &err), "%s", err.msg);
	/* a 32-byte key is too short for HS384 and HS512 (RFC 7518 3.2) */
	k32 = keys_of("0123456789abcdef0123456789abcdef", &err);
	CHECK(verify_at(k32, &r, tok, 0, &err));
	CHECK_STR(err.msg, "header: alg HS512 does not fit the key (oct, too short for it)");
	fa_jwt_keys_free(k32);
	/* tampered: one payload byte */
	hs_token("{\"alg\":\"HS256\"}", "{\"role\":\"r\"}", secret, tok);
	tok[strchr(tok, '.') - tok + 2] ^= 1;
	CHECK(verify_at(k, &r, tok, 0, &err));
	/* alg none, lower case or not; crit; no alg; a JWE */
	signing_input("{\"alg\":\"none\"}", "{}", tok);
	strcat(tok, ".");
	CHECK(verify_at(k, &r, tok, 0, &err));
	CHECK_STR(err.msg, "header: alg \"none\" (an unsigned token) is never accepted");
	signing_input("{\"alg\":\"None\"}", "{}", tok);
	strcat(tok, ".");
	CHECK(verify_at(k, &r, tok, 0, &err));
	hs_token("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", "{}", secret, tok);
	CHECK(verify_at(k, &r, tok, 0, &err));
	CHECK(strstr(err.msg, "crit") != NULL, "%s", err.msg);
	hs_token("{\"typ\":\"JWT\"}", "{}", secret, tok);
	CHECK(verify_at(k, &r, tok, 0, &err));
	CHECK_STR(err.msg, "header: \"alg\" is missing or not a string");
	CHECK(verify_at(k, &r, "a.b.c.d.e", 0, &err));
	CHECK(strstr(err.msg, "compact form") != NULL);
	CHECK(verify_at(k, &r, "eyJ!.e30.", 0, &err));
	CHECK_STR(err.msg, "header: invalid base64url at byte 3 of the token");
	hs_token("{\"alg\":\"HS256\"}", "[1]", secret, tok);
	CHECK(verify_at(k, &r, tok, 0, &err));
	CHECK_STR(err.msg, "claims: not a JSON object");
	/* nbf, aud, iss */
	hs_token("{\"alg\":\"HS256\"}", "{\"nbf\":100,\"aud\":[\"x\",\"api\"],\"iss\":\"me\"}", secret, tok);
	CHECK(verify_at(k, &r, tok, 50, &err));
	CHECK_STR(err.msg, "claims: the token is not valid for 50 s yet (nbf)");
	r = (struct fa_jwt_rules){ .aud = "api", .iss = "me" };
	CHECK(!verify_at(k, &r, tok, 100, &err), "%s", err.msg);
	r.aud = "web";
	CHECK(verify_at(k, &r, tok, 100, &err));
	CHECK_STR(err.msg, "claims: \"aud\" does not include \"web\"");
	r = (struct fa_jwt_rules){ .iss = "you" };
	CHECK(verify_at(k, &r, tok, 100, &err));
	r = (struct fa_jwt_rules){ 0 };
	hs_token("{\"alg\":\"HS256\"}", "{\"exp\":\"soon\"}", secret, tok);
	CHECK(verify_at(k, &r, tok, 0, &err));
	CHECK_STR(err.msg, "claims: \"exp\" is not a number");
	fa_jwt_keys_free(k);
}

/* A PEM public key of a new key pair, and the pair. */
static EVP_PKEY *gen(const char *type, const char *arg, char *pem, size_t n)
{
	EVP_PKEY *pk = !strcmp(type, "RSA") ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
		       arg ? EVP_PKEY_Q_keygen(NULL, NULL, type, arg) :
		       EVP_PKEY_Q_keygen(NULL, NULL, type);
	BIO *b = BIO_new(BIO_s_mem());
	long len;
	char *p;

	PEM_write_bio_PUBKEY(b, pk);
	len = BIO_get_mem_data(b, &p);
	snprintf(pem, n, "%.*s", (int)len, p);
	BIO_free(b);
	return pk;
}

static void pk_token(EVP_PKEY *pk, const char *alg, const char *claims, char *out)
{
	char hdr[64];
	unsigned char sig[1024], raw[200];
	size_t slen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const struct alg *a = alg_by_name(alg);

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", alg);
	signing_input(hdr, claims, out);
	pthread_once(&fetch_once, fetch_all);
	EVP_DigestSignInit(ctx, NULL, a->md >= 0 ? mds[a->md] : NULL, NULL, pk);
	EVP_DigestSign(ctx, sig, &slen, (unsigned char *)out, strlen(out));
	EVP_MD_CTX_free(ctx);
	strcat(out, ".");
	if (a->kty == K_EC) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
		int half = a->curve == C_P256 ? 32 : 48;

		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half);
		ECDSA_SIG_free(es);
		b64(raw, (size_t)(2 * half), out + strlen(out));
		return;
	}
	b64(sig, slen, out + strlen(out));
}

static void test_public_keys(void)
{
	struct fa_error err = { 0 };
	struct fa_jwt_rules r = { 0 };
	struct { const char *type, *arg, *alg; } cases[] = {
		{ "EC", "P-256", "ES256" },
		{ "EC", "P-384", "ES384" },
		{ "ED25519", NULL, "EdDSA" },
		{ "RSA", NULL, "RS256" },
	};
	char pem[4096], tok[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *pk = gen(cases[i].type, cases[i].arg, pem, sizeof(pem));
		struct fa_jwt_keys *k = keys_of(pem, &err);

		CHECK(k != NULL, "%s: %s", cases[i].alg, err.msg);
		pk_token(pk, cases[i].alg, "{\"role\":\"r\"}", tok);
		CHECK(!verify_at(k, &r, tok, 0, &err), "%s: %s", cases[i].alg, err.msg);
		/* the last signature byte changed */
		tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
		CHECK(verify_at(k, &r, tok, 0, &err), "%s tampered", cases[i].alg);
		/* an HMAC token keyed with the PEM text: algorithm confusion */
		hs_token("{\"alg\":\"HS256\"}", "{\"role\":\"r\"}", pem, tok);
		CHECK(verify_at(k, &r, tok, 0, &err));
		CHECK(strstr(err.msg, "does not fit") != NULL, "%s", err.msg);
		EVP_PKEY_free(pk);
		fa_jwt_keys_free(k);
	}
}

static void test_paths(void)
{
	struct fa_error err = { 0 };
	json_t *c = json_loads("{\"role\":\"a\",\"app\":{\"roles\":[\"x\",\"y\"],\"a.b\":\"dot\"}}", 0, NULL);

	CHECK(!fa_jwt_path_check(".role", &err));
	CHECK(!fa_jwt_path_check(".app.roles[1]", &err));
	CHECK(fa_jwt_path_check("role", &err) == FA_EUSAGE);
	CHECK_STR(err.msg, "claim path 'role': expected .key, .\"key\" or [N] at character 1");
	CHECK(fa_jwt_path_check(".a[x]", &err));
	CHECK(fa_jwt_path_check("", &err));
	CHECK_STR(json_string_value(fa_jwt_claim(c, ".role")), "a");
	CHECK_STR(json_string_value(fa_jwt_claim(c, ".app.roles[1]")), "y");
	CHECK_STR(json_string_value(fa_jwt_claim(c, ".app.\"a.b\"")), "dot");
	CHECK(fa_jwt_claim(c, ".app.roles[2]") == NULL);
	CHECK(fa_jwt_claim(c, ".nope.x") == NULL);
	json_decref(c);
}

static void test_cache(void)
{
	struct fa_jwt_cache *c = fa_jwt_cache_new(8);
	const struct fa_jwt_hit *h;
	char tok[32];
	int hits = 0;

	fa_jwt_cache_put(c, "tok1", 4, 1, 100, "r", "{}");
	h = fa_jwt_cache_get(c, "tok1", 4, 1, 99);
	CHECK(h && !strcmp(h->role, "r") && !strcmp(h->claims, "{}"));
	CHECK(!fa_jwt_cache_get(c, "tok1", 4, 1, 100), "expired");
	fa_jwt_cache_put(c, "tok1", 4, 1, 100, NULL, "{}");
	CHECK(!fa_jwt_cache_get(c, "tok1", 4, 2, 0), "other keys");
	CHECK(!fa_jwt_cache_get(c, "tok2", 4, 1, 0));
	/* more tokens than slots: never a wrong hit */
	for (int i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		fa_jwt_cache_put(c, tok, strlen(tok), 1, INFINITY, tok, "{}");
	}
	for (int i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		if ((h = fa_jwt_cache_get(c, tok, strlen(tok), 1, 0))) {
			hits++;
			CHECK_STR(h->role, tok);
		}
	}
	CHECK(hits > 0 && hits <= 8, "%d hits", hits);
	fa_jwt_cache_free(c);
}

int main(int argc, char **argv)
{
	rnd_seed("test_jwt", argc, argv);
	RUN(test_b64url);
	RUN(test_keys);
	RUN(test_hmac);
	RUN(test_public_keys);
	RUN(test_paths);
	RUN(test_cache);
	return check_report("test_jwt");
}
