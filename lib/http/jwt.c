#include "http/jwt.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* ---- keys ---- */

enum kty { K_OCT, K_RSA, K_EC, K_OKP };
enum curve { C_NONE, C_P256, C_P384, C_P521, C_ED25519, C_ED448 };

struct key {
	char *kid;                      /* NULL: none */
	char *alg;                      /* the JWK's own "alg", which restricts it; or NULL */
	enum kty kty;
	enum curve curve;
	unsigned char *secret;          /* oct */
	size_t secret_len;
	EVP_MAC_CTX *hmac[3];           /* oct: keyed HMAC-SHA256/384/512, copied per token */
	EVP_PKEY *pkey;                 /* the others */
};

struct fa_jwt_keys {
	struct key *keys;
	int n;
};

static const char *const kty_names[] = { "oct", "RSA", "EC", "OKP" };

/*
 * The digests and HMAC, fetched once for the process: OpenSSL 3 looks an
 * algorithm up (under a lock) each time EVP_sha256() or HMAC() is used,
 * which costs more than the hashing of a token.  Kept until exit.
 */
static const char *const md_names[3] = { "SHA256", "SHA384", "SHA512" };
static EVP_MD *mds[3];
static EVP_MAC *hmac_alg;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (int i = 0; i < 3; i++)
		mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* An oct key's HMAC contexts, keyed once; false when OpenSSL fails. */
static bool hmac_ready(struct key *k)
{
	pthread_once(&fetch_once, fetch_all);
	for (int i = 0; i < 3; i++) {
		OSSL_PARAM p[2] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
								     (char *)md_names[i], 0),
				    OSSL_PARAM_construct_end() };

		if (!hmac_alg || !(k->hmac[i] = EVP_MAC_CTX_new(hmac_alg)) ||
		    EVP_MAC_init(k->hmac[i], k->secret, k->secret_len, p) != 1)
			return false;
	}
	return true;
}

void fa_jwt_keys_free(struct fa_jwt_keys *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->n; i++) {
		free(k->keys[i].kid);
		free(k->keys[i].alg);
		if (k->keys[i].secret)
			OPENSSL_cleanse(k->keys[i].secret, k->keys[i].secret_len);
		free(k->keys[i].secret);
		for (int j = 0; j < 3; j++)
			EVP_MAC_CTX_free(k->keys[i].hmac[j]);
		EVP_PKEY_free(k->keys[i].pkey);
	}
	free(k->keys);
	free(k);
}

int fa_jwt_keys_count(const struct fa_jwt_keys *k)
{
	return k ? k->n : 0;
}

static int b64v(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long fa_jwt_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *bad)
{
	unsigned acc = 0, bits = 0;
	long o = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64v((unsigned char)s[i]);

		if (v < 0) {
			*bad = i;
			return -1;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	/* a lone sixth of a byte, or bits past the last byte that are not 0 */
	if (n % 4 == 1 || acc) {
		*bad = n ? n - 1 : 0;
		return -1;
	}
	return o;
}

/* A JWK member that is base64url: decoded into a new buffer. */
static unsigned char *jwk_bytes(json_t *jwk, const char *member, size_t *len, const char *where,
				struct fa_error *err)
{
	json_t *v = json_object_get(jwk, member);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), bad = 0;
	unsigned char *out;
	long got;

	if (!s) {
		fa_error_set(err, FA_EINPUT, "%s: \"%s\" is missing or not a string", where, member);
		return NULL;
	}
	if (!(out = malloc(n * 3 / 4 + 1))) {
		fa_error_set(err, FA_ENOMEM, "%s: out of memory", where);
		return NULL;
	}
	if ((got = fa_jwt_b64url_decode(s, n, out, &bad)) <= 0) {
		free(out);
		fa_error_set(err, FA_EINPUT, "%s: \"%s\": invalid base64url at byte %zu", where,
			     member, got < 0 ? bad : 0);
		return NULL;
	}
	*len = (size_t)got;
	return out;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *jwk_rsa(json_t *jwk, const char *where, struct fa_error *err)
{
	size_t nl = 0, el = 0;
	unsigned char *n = jwk_bytes(jwk, "n", &nl, where, err);
	unsigned char *e = n ? jwk_bytes(jwk, "e", &el, where, err) : NULL;
	BIGNUM *bn = e ? BN_bin2bn(n, (int)nl, NULL) : NULL, *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;

	if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		pk = from_params("RSA", bld);
	if (!pk && e)
		fa_error_set(err, FA_EINPUT, "%s: not a usable RSA public key", where);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pk;
}

static const struct { const char *jwk, *ossl; enum curve c; size_t len; } curves[] = {
	{ "P-256", "prime256v1", C_P256, 32 },
	{ "P-384", "secp384r1", C_P384, 48 },
	{ "P-521", "secp521r1", C_P521, 66 },
	{ "Ed25519", "ED25519", C_ED25519, 32 },
	{ "Ed448", "ED448", C_ED448, 57 },
};

static int curve_by_jwk(const char *crv)
{
	for (size_t i = 0; crv && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (!strcmp(curves[i].jwk, crv))
			return (int)i;
	return -1;
}

static EVP_PKEY *jwk_ec(json_t *jwk, struct key *k, bool okp, const char *where,
			struct fa_error *err)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	int ci = curve_by_jwk(crv);
	size_t xl = 0, yl = 0;
	unsigned char *x = NULL, *y = NULL, pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (ci < 0 || (curves[ci].c >= C_ED25519) != okp) {
		fa_error_set(err, FA_EINPUT, "%s: unsupported \"crv\" for kty %s: %s", where,
			     okp ? "OKP" : "EC", crv ? crv : "(none)");
		return NULL;
	}
	k->curve = curves[ci].c;
	if (!(x = jwk_bytes(jwk, "x", &xl, where, err)))
		return NULL;
	if (okp) {
		if (xl == curves[ci].len)
			pk = EVP_PKEY_new_raw_public_key(k->curve == C_ED25519 ? EVP_PKEY_ED25519 :
							 EVP_PKEY_ED448, NULL, x, xl);
	} else if ((y = jwk_bytes(jwk, "y", &yl, where, err)) && xl == curves[ci].len &&
		   yl == xl && (bld = OSSL_PARAM_BLD_new())) {
		pt[0] = 4;
		memcpy(pt + 1, x, xl);
		memcpy(pt + 1 + xl, y, yl);
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						    curves[ci].ossl, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * xl))
			pk = from_params("EC", bld);
	}
	if (!pk && (okp || y))
		fa_error_set(err, FA_EINPUT, "%s: not a usable %s public key (wrong length, or "
			     "not a point on the curve)", where, crv);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pk;
}

/* What an EVP_PKEY from PEM is, in JWK terms. */
static bool classify(struct key *k, const char *where, struct fa_error *err)
{
	char group[64] = "";
	size_t gl = 0;

	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_RSA: k->kty = K_RSA; return true;
	case EVP_PKEY_ED25519: k->kty = K_OKP; k->curve = C_ED25519; return true;
	case EVP_PKEY_ED448: k->kty = K_OKP; k->curve = C_ED448; return true;
	case EVP_PKEY_EC:
		k->kty = K_EC;
		EVP_PKEY_get_group_name(k->pkey, group, sizeof(group), &gl);
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(group, curves[i].ossl))
				k->curve = curves[i].c;
		if (k->curve != C_NONE)
			return true;
		fa_error_set(err, FA_EINPUT, "%s: EC curve %s is not one JWS uses (P-256, P-384, "
			     "P-521)", where, group[0] ? group : "(unnamed)");
		return false;
	}
	fa_error_set(err, FA_EINPUT, "%s: a %s key cannot verify JWS signatures", where,
		     EVP_PKEY_get0_type_name(k->pkey));
	return false;
}

/* RFC 7518 3.3: RSA keys of 2048 bits or more. */
static bool rsa_size_ok(struct key *k, const char *where, struct fa_error *err)
{
	if (k->kty != K_RSA || EVP_PKEY_get_bits(k->pkey) >= 2048)
		return true;
	fa_error_set(err, FA_EINPUT, "%s: RSA key of %d bits; JWS needs 2048 or more", where,
		     EVP_PKEY_get_bits(k->pkey));
	return false;
}

static char *dup_member(json_t *jwk, const char *member)
{
	const char *s = json_string_value(json_object_get(jwk, member));

	return s ? strdup(s) : NULL;
}

/* One JWK object into k. */
static bool parse_jwk(json_t *jwk, struct key *k, const char *where, struct fa_error *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	int t = -1;

	for (int i = 0; kty && i < 4; i++)
		if (!strcmp(kty, kty_names[i]))
			t = i;
	if (!json_is_object(jwk) || t < 0) {
		fa_error_set(err, FA_EINPUT, "%s: \"kty\" is %s; fa knows oct, RSA, EC and OKP",
			     where, kty ? kty : "missing");
		return false;
	}
	if (use && strcmp(use, "sig")) {
		fa_error_set(err, FA_EINPUT, "%s: \"use\" is \"%s\", not \"sig\"", where, use);
		return false;
	}
	k->kty = (enum kty)t;
	k->kid = dup_member(jwk, "kid");
	k->alg = dup_member(jwk, "alg");
	switch (k->kty) {
	case K_OCT:
		if (!(k->secret = jwk_bytes(jwk, "k", &k->secret_len, where, err)))
			return false;
		if (!hmac_ready(k)) {
			fa_error_set(err, FA_ENOMEM, "%s: OpenSSL cannot key HMAC", where);
			return false;
		}
		break;
	case K_RSA:
		if (!(k->pkey = jwk_rsa(jwk, where, err)))
			return false;
		return rsa_size_ok(k, where, err);
	case K_EC:
	case K_OKP:
		if (!(k->pkey = jwk_ec(jwk, k, k->kty == K_OKP, where, err)))
			return false;
		break;
	}
	return true;
}

static struct fa_jwt_keys *keys_new(int n, struct fa_error *err)
{
	struct fa_jwt_keys *ks = calloc(1, sizeof(*ks));

	if (ks && !(ks->keys = calloc((size_t)(n > 0 ? n : 1), sizeof(*ks->keys)))) {
		free(ks);
		ks = NULL;
	}
	if (!ks)
		fa_error_set(err, FA_ENOMEM, "out of memory");
	return ks;
}

static const struct alg *alg_by_name(const char *s);

/* A JWK of a set that verifies signatures: "use" sig or none, a JWS "alg" or none. */
static bool for_signing(json_t *jwk)
{
	const char *use = json_string_value(json_object_get(jwk, "use"));
	json_t *alg = json_object_get(jwk, "alg");

	return (!use || !strcmp(use, "sig")) && (!alg || alg_by_name(json_string_value(alg)));
}

static struct fa_jwt_keys *parse_json(const char *data, size_t len, const char *name,
				      struct fa_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *arr;
	struct fa_jwt_keys *ks = NULL;
	char where[300];
	size_t i, n;

	if (!root) {
		fa_error_set(err, FA_EINPUT, "%s: line %d, column %d: %s", name, je.line, je.column,
			     je.text);
		return NULL;
	}
	arr = json_object_get(root, "keys");
	if (arr && !json_is_array(arr)) {
		fa_error_set(err, FA_EINPUT, "%s: \"keys\" is not an array", name);
		goto out;
	}
	n = arr ? json_array_size(arr) : 1;
	if (arr && !n) {
		fa_error_set(err, FA_EINPUT, "%s: the key set is empty", name);
		goto out;
	}
	if (!(ks = keys_new((int)n, err)))
		goto out;
	for (i = 0; i < n; i++) {
		json_t *jwk = arr ? json_array_get(arr, i) : root;
		const char *kid = json_string_value(json_object_get(jwk, "kid"));

		if (arr)
			snprintf(where, sizeof(where), "%s: key %zu%s%s%s", name, i + 1,
				 kid ? " (kid \"" : "", kid ? kid : "", kid ? "\")" : "");
		else
			snprintf(where, sizeof(where), "%s", name);
		if (arr && !for_signing(jwk))
			continue;       /* an encryption key of the set (Keycloak lists them) */
		if (!parse_jwk(jwk, &ks->keys[ks->n++], where, err)) {
			fa_jwt_keys_free(ks);
			ks = NULL;
			goto out;
		}
	}
	if (!ks->n) {
		fa_error_set(err, FA_EINPUT, "%s: no key of the set is for signatures", name);
		fa_jwt_keys_free(ks);
		ks = NULL;
	}
out:
	json_decref(root);
	return ks;
}

static struct fa_jwt_keys *parse_pem(const char *data, size_t len, const char *name,
				     struct fa_error *err)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pk = NULL;
	X509 *cert = NULL;
	struct fa_jwt_keys *ks;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pk, "PEM", NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (bio && dctx && !OSSL_DECODER_from_bio(dctx, bio))
		pk = NULL;
	OSSL_DECODER_CTX_free(dctx);
	if (!pk && bio && BIO_reset(bio) >= 0 && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		pk = X509_get_pubkey(cert);
	X509_free(cert);
	BIO_free(bio);
	ERR_clear_error();
	if (!pk) {
		fa_error_set(err, FA_EINPUT, "%s: no public key or certificate in this PEM", name);
		return NULL;
	}
	if (!(ks = keys_new(1, err))) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	ks->n = 1;
	ks->keys[0].pkey = pk;
	if (!classify(&ks->keys[0], name, err) || !rsa_size_ok(&ks->keys[0], name, err)) {
		fa_jwt_keys_free(ks);
		return NULL;
	}
	return ks;
}

struct fa_jwt_keys *fa_jwt_keys_parse(const char *data, size_t len, const char *name,
				      struct fa_error *err)
{
	struct fa_jwt_keys *ks;
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", data[i]))
		i++;
	if (i < len && data[i] == '{')
		return parse_json(data, len, name, err);
	if (memmem(data, len, "-----BEGIN ", 11))
		return parse_pem(data, len, name, err);
	if (len && data[len - 1] == '\n')
		len -= 1 + (len > 1 && data[len - 2] == '\r');
	if (len < 32) {
		fa_error_set(err, FA_EINPUT, "%s: a secret of %zu bytes; HMAC keys need 32 or more "
			     "(RFC 7518 3.2)", name, len);
		return NULL;
	}
	if (!(ks = keys_new(1, err)))
		return NULL;
	ks->n = 1;
	ks->keys[0].kty = K_OCT;
	if (!(ks->keys[0].secret = malloc(len))) {
		fa_jwt_keys_free(ks);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(ks->keys[0].secret, data, len);
	ks->keys[0].secret_len = len;
	if (!hmac_ready(&ks->keys[0])) {
		fa_jwt_keys_free(ks);
		fa_error_set(err, FA_ENOMEM, "%s: OpenSSL cannot key HMAC", name);
		return NULL;
	}
	return ks;
}

/* ---- algorithms ---- */

struct alg {
	const char *name;
	enum kty kty;
	int md;                         /* index in mds, -1: none (EdDSA) */
	bool pss;
	enum curve curve;               /* EC: the one curve it uses */
};

static const struct alg algs[] = {
	{ "HS256", K_OCT, 0, false, C_NONE },
	{ "HS384", K_OCT, 1, false, C_NONE },
	{ "HS512", K_OCT, 2, false, C_NONE },
	{ "RS256", K_RSA, 0, false, C_NONE },
	{ "RS384", K_RSA, 1, false, C_NONE },
	{ "RS512", K_RSA, 2, false, C_NONE },
	{ "PS256", K_RSA, 0, true, C_NONE },
	{ "PS384", K_RSA, 1, true, C_NONE },
	{ "PS512", K_RSA, 2, true, C_NONE },
	{ "ES256", K_EC, 0, false, C_P256 },
	{ "ES384", K_EC, 1, false, C_P384 },
	{ "ES512", K_EC, 2, false, C_P521 },
	{ "EdDSA", K_OKP, -1, false, C_NONE },
};

static const struct alg *alg_by_name(const char *s)
{
	for (size_t i = 0; s && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(algs[i].name, s))
			return &algs[i];
	return NULL;
}

/* Whether key k may verify a signature made with a. */
static bool fits(const struct key *k, const struct alg *a)
{
	if (k->kty != a->kty || (k->alg && strcmp(k->alg, a->name)))
		return false;
	if (a->kty == K_EC && k->curve != a->curve)
		return false;
	/* RFC 7518 3.2: a key at least as long as the hash */
	return a->kty != K_OCT || k->secret_len >= (size_t)(32 + 16 * a->md);
}

static bool verify_hmac(const struct key *k, const struct alg *a, const unsigned char *in,
			size_t inlen, const unsigned char *sig, size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(k->hmac[a->md]);
	bool ok = ctx && EVP_MAC_update(ctx, in, inlen) == 1 &&
		  EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) == 1;

	EVP_MAC_CTX_free(ctx);
	return ok && maclen == siglen && !CRYPTO_memcmp(mac, sig, siglen);
}

/* JWS's R || S, each as long as the curve's order, into DER for OpenSSL. */
static int ecdsa_der(const struct key *k, const unsigned char *sig, size_t siglen,
		     unsigned char **der)
{
	size_t half = k->curve == C_P256 ? 32 : k->curve == C_P384 ? 48 : 66;
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	int n;

	if (siglen != 2 * half || !(es = ECDSA_SIG_new()))
		return -1;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (!r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	n = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return n;
}

static bool verify_pkey(const struct key *k, const struct alg *a, const unsigned char *in,
			size_t inlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int derlen = 0;
	bool ok = false;

	if (a->kty == K_EC) {
		if ((derlen = ecdsa_der(k, sig, siglen, &der)) < 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	pthread_once(&fetch_once, fetch_all);
	if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, a->md >= 0 ? mds[a->md] : NULL, NULL,
					 k->pkey) != 1)
		goto out;
	if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mds[a->md]) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, in, inlen) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* ---- tokens ---- */

void fa_jwt_release(struct fa_jwt *t)
{
	json_decref(t->claims);
	free(t->payload);
	*t = (struct fa_jwt){ 0 };
}

/* Decodes part name (at offset off of the token) into a new NUL-terminated buffer. */
static unsigned char *part(const char *name, const char *s, size_t n, size_t off, size_t *len,
			   struct fa_error *err)
{
	unsigned char *out = malloc(n * 3 / 4 + 2);
	size_t bad = 0;
	long got;

	if (!out) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	if ((got = fa_jwt_b64url_decode(s, n, out, &bad)) < 0) {
		free(out);
		fa_error_set(err, FA_EINPUT, "%s: invalid base64url at byte %zu of the token", name,
			     off + bad);
		return NULL;
	}
	out[got] = '\0';
	*len = (size_t)got;
	return out;
}

static json_t *parse_object(const char *name, const unsigned char *s, size_t n,
			    struct fa_error *err)
{
	json_error_t je;
	json_t *v = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, &je);

	if (!v) {
		fa_error_set(err, FA_EINPUT, "%s: invalid JSON at column %d: %s", name, je.column,
			     je.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		fa_error_set(err, FA_EINPUT, "%s: not a JSON object", name);
		return NULL;
	}
	return v;
}

/* The header's alg, checked, and its kid (borrowed from hdr). */
static const struct alg *check_header(json_t *hdr, const char **kid, struct fa_error *err)
{
	json_t *alg = json_object_get(hdr, "alg"), *k = json_object_get(hdr, "kid");
	const struct alg *a;

	if (!json_is_string(alg)) {
		fa_error_set(err, FA_EINPUT, "header: \"alg\" is missing or not a string");
		return NULL;
	}
	if (!strcasecmp(json_string_value(alg), "none")) {
		fa_error_set(err, FA_EINPUT, "header: alg \"none\" (an unsigned token) is never accepted");
		return NULL;
	}
	if (!(a = alg_by_name(json_string_value(alg)))) {
		fa_error_set(err, FA_EINPUT, "header: unsupported alg \"%.20s\"", json_string_value(alg));
		return NULL;
	}
	if (json_object_get(hdr, "crit")) {
		fa_error_set(err, FA_EINPUT, "header: \"crit\" names extensions fa does not understand");
		return NULL;
	}
	if (k && !json_is_string(k)) {
		fa_error_set(err, FA_EINPUT, "header: \"kid\" is not a string");
		return NULL;
	}
	*kid = json_string_value(k);
	return a;
}

/* Tries the keys that fit; the message says which check failed. */
static enum fa_err check_signature(const struct fa_jwt_keys *ks, const struct alg *a,
				   const char *kid, const char *tok, size_t signed_len,
				   const unsigned char *sig, size_t siglen, struct fa_error *err)
{
	int tried = 0, named = 0;

	for (int i = 0; i < ks->n; i++) {
		const struct key *k = &ks->keys[i];

		if (kid && k->kid && strcmp(kid, k->kid))
			continue;
		if (kid && k->kid)
			named++;
		if (!fits(k, a))
			continue;
		tried++;
		if (k->kty == K_OCT ? verify_hmac(k, a, (const unsigned char *)tok, signed_len, sig, siglen)
				    : verify_pkey(k, a, (const unsigned char *)tok, signed_len, sig, siglen))
			return FA_OK;
	}
	if (tried)
		return fa_error_set(err, FA_EINPUT, "signature: does not verify (%s)", a->name);
	if (kid && !named && ks->n > 1)
		return fa_error_set(err, FA_EINPUT, "header: no key has kid \"%.40s\"", kid);
	return fa_error_set(err, FA_EINPUT, "header: alg %s does not fit the key%s (%s%s)", a->name,
			    ks->n > 1 ? "s" : "", kty_names[ks->keys[0].kty],
			    ks->keys[0].kty == K_OCT && a->kty == K_OCT ? ", too short for it" : "");
}

static enum fa_err check_time(json_t *claims, const char *name, double *out, struct fa_error *err)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return FA_OK;
	if (!json_is_number(v))
		return fa_error_set(err, FA_EINPUT, "claims: \"%s\" is not a number", name);
	*out = json_number_value(v);
	return FA_OK;
}

static bool aud_has(json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), want);
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), want))
			return true;
	return false;
}

static enum fa_err check_claims(json_t *c, const struct fa_jwt_rules *r, double now,
				double *until, struct fa_error *err)
{
	double exp = INFINITY, nbf = -INFINITY;
	const char *iss = json_string_value(json_object_get(c, "iss"));

	if (check_time(c, "exp", &exp, err) || check_time(c, "nbf", &nbf, err))
		return err->code;
	if (now >= exp + r->leeway_s)
		return fa_error_set(err, FA_EINPUT, "claims: the token expired %.0f s ago",
				    now - exp);
	if (now + r->leeway_s < nbf)
		return fa_error_set(err, FA_EINPUT, "claims: the token is not valid for %.0f s yet "
				    "(nbf)", nbf - now);
	if (r->aud && !aud_has(json_object_get(c, "aud"), r->aud))
		return fa_error_set(err, FA_EINPUT, "claims: \"aud\" does not include \"%s\"", r->aud);
	if (r->iss && (!iss || strcmp(iss, r->iss)))
		return fa_error_set(err, FA_EINPUT, "claims: \"iss\" is not \"%s\"", r->iss);
	*until = exp + r->leeway_s;
	return FA_OK;
}

enum fa_err fa_jwt_verify(const struct fa_jwt_keys *ks, const struct fa_jwt_rules *r,
			  const char *tok, size_t len, double now, struct fa_jwt *out,
			  struct fa_error *err)
{
	const char *d1 = memchr(tok, '.', len), *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	unsigned char *hdr = NULL, *sig = NULL;
	size_t hlen = 0, slen = 0;
	json_t *h = NULL;
	const struct alg *a = NULL;
	const char *kid = NULL;
	enum fa_err rc;

	*out = (struct fa_jwt){ 0 };
	if (len > FA_JWT_MAX)
		return fa_error_set(err, FA_EINPUT, "a token of %zu bytes, over the limit of %d", len,
				    FA_JWT_MAX);
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
		return fa_error_set(err, FA_EINPUT, "not a JWS in compact form (three base64url parts "
				    "separated by dots)");
	if (!(hdr = part("header", tok, (size_t)(d1 - tok), 0, &hlen, err)) ||
	    !(h = parse_object("header", hdr, hlen, err)) || !(a = check_header(h, &kid, err)) ||
	    !(out->payload = (char *)part("payload", d1 + 1, (size_t)(d2 - d1 - 1),
					  (size_t)(d1 + 1 - tok), &out->payload_len, err)) ||
	    !(sig = part("signature", d2 + 1, len - (size_t)(d2 + 1 - tok), (size_t)(d2 + 1 - tok),
			 &slen, err)))
		goto fail;
	if (check_signature(ks, a, kid, tok, (size_t)(d2 - tok), sig, slen, err))
		goto fail;
	/* the payload only now: unsigned bytes are never parsed past the header */
	if (!(out->claims = parse_object("claims", (unsigned char *)out->payload,
					 out->payload_len, err)) ||
	    check_claims(out->claims, r, now, &out->until, err))
		goto fail;
	if (memchr(out->payload, '\0', out->payload_len)) {
		fa_error_set(err, FA_EINPUT, "claims: a NUL byte in the payload");
		goto fail;
	}
	rc = FA_OK;
	goto done;
fail:
	rc = err->code ? err->code : FA_EINPUT;
	fa_jwt_release(out);
done:
	json_decref(h);
	free(hdr);
	free(sig);
	return rc;
}

/* ---- claim paths ---- */

/*
 * One step of a path at *p: a key (".name" or ".\"any text\"") into
 * key[0..klen), or an index ("[N]") into *idx.  0 at the end, 1 for a
 * step, -1 when malformed.
 */
static int path_step(const char **p, const char **key, size_t *klen, long *idx)
{
	const char *s = *p;

	if (!*s)
		return 0;
	*key = NULL;
	if (*s == '[') {
		char *end;

		if (s[1] < '0' || s[1] > '9')
			return -1;
		*idx = strtol(s + 1, &end, 10);
		if (*end != ']')
			return -1;
		*p = end + 1;
		return 1;
	}
	if (*s != '.')
		return -1;
	s++;
	if (*s == '"') {
		const char *q = strchr(s + 1, '"');

		if (!q)
			return -1;
		*key = s + 1;
		*klen = (size_t)(q - s - 1);
		*p = q + 1;
		return 1;
	}
	*key = s;
	*klen = strcspn(s, ".[\"");
	*p = s + *klen;
	return *klen ? 1 : -1;
}

enum fa_err fa_jwt_path_check(const char *path, struct fa_error *err)
{
	const char *p = path, *key;
	size_t klen;
	long idx;
	int r, steps = 0;

	while ((r = path_step(&p, &key, &klen, &idx)) > 0)
		steps++;
	if (r < 0 || !steps)
		return fa_error_set(err, FA_EUSAGE, "claim path '%s': expected .key, .\"key\" or [N] "
				    "at character %zu", path, (size_t)(p - path) + 1);
	return FA_OK;
}

const json_t *fa_jwt_claim(const json_t *claims, const char *path)
{
	const json_t *v = claims;
	const char *p = path, *key;
	size_t klen;
	long idx;
	int r;

	while (v && (r = path_step(&p, &key, &klen, &idx)) != 0) {
		if (r < 0)
			return NULL;
		if (key) {
			char name[256];

			if (klen >= sizeof(name))
				return NULL;
			memcpy(name, key, klen);
			name[klen] = '\0';
			v = json_object_get(v, name);
		} else {
			v = json_array_get(v, (size_t)idx);
		}
	}
	return v;
}

/* ---- the cache ---- */

struct slot {
	char *tok;                      /* owned; NULL: empty */
	size_t len;
	uint64_t hash, gen;
	double until;
	char *role, *claims;            /* owned */
	struct fa_jwt_hit hit;
};

struct fa_jwt_cache {
	struct slot *slots;
	size_t n;
	uint64_t seed;
};

struct fa_jwt_cache *fa_jwt_cache_new(int slots)
{
	struct fa_jwt_cache *c = calloc(1, sizeof(*c));

	if (!c || !(c->slots = calloc((size_t)(slots > 0 ? slots : 1), sizeof(*c->slots)))) {
		free(c);
		return NULL;
	}
	c->n = (size_t)(slots > 0 ? slots : 1);
	/* per cache, so that no one can aim tokens at one slot in advance */
	c->seed = (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ULL;
	return c;
}

static void slot_clear(struct slot *s)
{
	free(s->tok);
	free(s->role);
	free(s->claims);
	*s = (struct slot){ 0 };
}

void fa_jwt_cache_free(struct fa_jwt_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		slot_clear(&c->slots[i]);
	free(c->slots);
	free(c);
}

static uint64_t hash(const struct fa_jwt_cache *c, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ c->seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

const struct fa_jwt_hit *fa_jwt_cache_get(struct fa_jwt_cache *c, const char *tok, size_t len,
					  uint64_t gen, double now)
{
	uint64_t h = hash(c, tok, len);
	struct slot *s = &c->slots[h % c->n];

	if (!s->tok || s->hash != h || s->len != len || memcmp(s->tok, tok, len))
		return NULL;
	if (s->gen != gen || now >= s->until) {
		slot_clear(s);
		return NULL;
	}
	return &s->hit;
}

void fa_jwt_cache_put(struct fa_jwt_cache *c, const char *tok, size_t len, uint64_t gen,
		      double until, const char *role, const char *claims)
{
	uint64_t h = hash(c, tok, len);
	struct slot *s = &c->slots[h % c->n];

	slot_clear(s);
	s->tok = malloc(len ? len : 1);
	s->claims = strdup(claims);
	s->role = role ? strdup(role) : NULL;
	if (!s->tok || !s->claims || (role && !s->role)) {
		slot_clear(s);
		return;
	}
	memcpy(s->tok, tok, len);
	s->len = len;
	s->hash = h;
	s->gen = gen;
	s->until = until;
	s->hit = (struct fa_jwt_hit){ s->role, s->claims, until };
}
