/*
 * libFuzzer target for lib/http/jwt: tokens and key files from outside.
 *
 * The first byte chooses what the rest is: a token verified against a
 * secret and against a JWKS of an EC and an oct key (even), or a key file
 * (odd) parsed and, when it parses, used on a fixed token; claim paths are
 * tried on whatever claims verify.  A success must keep jwt.h's promises
 * (an object of claims, a NUL-terminated payload); a failure must say why.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_jwt.c lib/http/jwt.c lib/core/buf.c lib/core/err.c \
 *		-ljansson -lssl -lcrypto -o fuzz_jwt
 *	./fuzz_jwt -max_total_time=60 tests/fuzz/corpus/jwt
 */
#include "http/jwt.h"

#include <stdlib.h>
#include <string.h>

static void require(bool ok)
{
	if (!ok)
		abort();
}

static const char secret[] = "fuzzing-secret-fuzzing-secret-fuzzing-secret-fuzzing-secret-0123";
static const char jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
	"{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"ZnV6emluZy1zZWNyZXQtZnV6emluZy1zZWNyZXQtZnV6emluZy1zZWNyZXQtZnV6emluZy1zZWNyZXQtMDEyMw\"}]}";
/* HS256 over {"role":"r"} with the secret above: a token that verifies */
static const char fixed[] =
	"eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiciJ9.fZd5sqDIobblNKiDKvdpVXQLjkRjMwN7N2M-WzgrtGk";

static void verify(const struct fa_jwt_keys *k, const char *tok, size_t n)
{
	static const char *const paths[] = { ".role", ".a.b", ".x[0]", ".\"k\"[1].z" };
	struct fa_jwt_rules r = { .aud = (n & 1) ? "api" : NULL, .leeway_s = 5 };
	struct fa_error err = { 0 };
	struct fa_jwt t;

	if (fa_jwt_verify(k, &r, tok, n, 1e9, &t, &err)) {
		require(err.msg[0] && t.claims == NULL && t.payload == NULL);
		return;
	}
	require(json_is_object(t.claims) && t.payload[t.payload_len] == '\0');
	for (size_t i = 0; i < 4; i++)
		(void)fa_jwt_claim(t.claims, paths[i]);
	fa_jwt_release(&t);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct fa_jwt_keys *sk, *jk;
	struct fa_error err = { 0 };
	struct fa_jwt_keys *k;

	if (!sk) {
		sk = fa_jwt_keys_parse(secret, strlen(secret), "secret", &err);
		jk = fa_jwt_keys_parse(jwks, strlen(jwks), "jwks", &err);
		require(sk && jk);
	}
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		verify(sk, (const char *)data + 1, size - 1);
		verify(jk, (const char *)data + 1, size - 1);
		return 0;
	}
	k = fa_jwt_keys_parse((const char *)data + 1, size - 1, "fuzz", &err);
	require(k ? fa_jwt_keys_count(k) > 0 : err.msg[0] != '\0');
	if (k)
		verify(k, fixed, strlen(fixed));
	fa_jwt_keys_free(k);
	return 0;
}
