/*
 * jwt: JSON Web Tokens (RFC 7519) signed with JWS compact serialization
 * (RFC 7515), verified with OpenSSL.  No I/O: the caller reads the key
 * file and passes its bytes, and passes the time.
 *
 *	keys = fa_jwt_keys_parse(bytes, len, "jwt.key", &err);
 *	if (fa_jwt_verify(keys, &rules, token, len, now, &t, &err)) ... 401, err.msg
 *	role = fa_jwt_claim(t.claims, path);
 *	fa_jwt_release(&t);
 *
 * Algorithms (RFC 7518, RFC 8037): HS256/384/512 against a secret,
 * RS256/384/512 and PS256/384/512 against an RSA key of 2048 bits or more,
 * ES256/384/512 against an EC key on P-256/P-384/P-521, EdDSA against an
 * Ed25519 or Ed448 key.  The token's alg must fit the key's type (an HMAC
 * token never verifies against an RSA public key, whatever its bytes), and
 * "none" is never accepted.  Base64url is strict: no padding, no other
 * alphabet, no stray bits.  A "crit" header is rejected (we understand no
 * extension).
 *
 * A key set is immutable once parsed and may be read by many threads.
 */
#ifndef FA_JWT_H
#define FA_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The longest token looked at; longer ones are refused unread. */
#define FA_JWT_MAX 16384

struct fa_jwt_keys;

/*
 * Parses a key file's bytes: a JWKS ({"keys":[...]}, keys chosen by the
 * token's kid; its keys for encryption, by "use" or "alg", are left out), one JWK (kty oct, RSA, EC or OKP), a PEM public key (SPKI
 * or PKCS#1) or certificate, or else a raw HMAC secret (one trailing
 * newline dropped; at least 32 bytes).  name is the file's name, for
 * messages ("jwt.json: key 2 (kid "a"): ...").  NULL with FA_EINPUT or
 * FA_ENOMEM.  The caller frees the set with fa_jwt_keys_free().
 */
struct fa_jwt_keys *fa_jwt_keys_parse(const char *data, size_t len, const char *name,
				      struct fa_error *err);
void fa_jwt_keys_free(struct fa_jwt_keys *k);
/* How many keys the set holds. */
int fa_jwt_keys_count(const struct fa_jwt_keys *k);

/* What a token must satisfy besides its signature. */
struct fa_jwt_rules {
	const char *aud;        /* must be in "aud" (string or array); NULL: not checked */
	const char *iss;        /* must equal "iss"; NULL: not checked */
	double leeway_s;        /* clock skew allowed on exp and nbf */
};

/* A verified token. */
struct fa_jwt {
	json_t *claims;         /* owned: the payload, a JSON object */
	char *payload;          /* owned: the payload's JSON text as signed, NUL-terminated */
	size_t payload_len;
	double until;           /* exp + leeway; INFINITY without exp */
};

/*
 * Verifies tok[0..len) at now (seconds since the epoch): structure,
 * header, key, signature, then exp, nbf, aud and iss.  On FA_OK the caller
 * owns *out (fa_jwt_release); else err says why, naming the part and the
 * position ("header: invalid base64url at byte 12"), and *out is empty.
 * The message never repeats the token's bytes beyond a short field.
 */
enum fa_err fa_jwt_verify(const struct fa_jwt_keys *k, const struct fa_jwt_rules *r,
			  const char *tok, size_t len, double now, struct fa_jwt *out,
			  struct fa_error *err);
void fa_jwt_release(struct fa_jwt *t);

/*
 * A claim path: ".role", ".app.role", ".\"https://x.io/role\"",
 * ".roles[0]".  fa_jwt_path_check() says whether path is well formed
 * (FA_EUSAGE and where it is not); fa_jwt_claim() follows it into claims
 * and returns the value there (borrowed) or NULL.
 */
enum fa_err fa_jwt_path_check(const char *path, struct fa_error *err);
const json_t *fa_jwt_claim(const json_t *claims, const char *path);

/*
 * Strict base64url without padding (RFC 7515 section 2): decodes
 * s[0..n) into out, which holds n * 3 / 4 + 1 bytes.  Returns the length,
 * or -1 with *bad the offset of the first byte in error.
 */
long fa_jwt_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *bad);

/*
 * A cache of verified tokens for one thread: a token seen again skips the
 * signature check while it has not expired (until) and the keys have not
 * changed (gen, the caller's count of key reloads).  Direct-mapped by the
 * token's hash, compared in full, so a collision is a miss, never a
 * wrong hit.  Memory: slots entries of the token and the two strings.
 */
struct fa_jwt_cache;

struct fa_jwt_hit {
	const char *role;       /* NULL: the token names none */
	const char *claims;     /* the payload's JSON text */
	double until;           /* exp + leeway; INFINITY without exp */
};

struct fa_jwt_cache *fa_jwt_cache_new(int slots);
void fa_jwt_cache_free(struct fa_jwt_cache *c);
/* The entry for tok, or NULL; the strings stay valid until the next put. */
const struct fa_jwt_hit *fa_jwt_cache_get(struct fa_jwt_cache *c, const char *tok, size_t len,
					  uint64_t gen, double now);
/* Remembers tok's role and claims until until; copies everything. */
void fa_jwt_cache_put(struct fa_jwt_cache *c, const char *tok, size_t len, uint64_t gen,
		      double until, const char *role, const char *claims);

#endif
