/*
 * libFuzzer target for lib/mcp/jsonrpc.
 *
 * Any bytes are one message: the parser returns 0 or one of the two codes
 * it documents, a message it accepts has the fields its kind promises, and
 * an accepted request written back out parses again to the same kind, id
 * and method.  Errors are written with whatever id was read.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_jsonrpc.c lib/mcp/jsonrpc.c lib/core/buf.c lib/core/err.c \
 *		-ljansson -o fuzz_jsonrpc
 */
#include "mcp/jsonrpc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fa_jr_msg m, again;
	struct fa_error err;
	struct fa_buf out;
	int code = fa_jr_parse(&m, (const char *)data, size, &err);

	fa_buf_init(&out, 1 << 20);
	require(code == 0 || code == FA_JR_PARSE_ERROR || code == FA_JR_INVALID_REQUEST);
	if (code) {
		require(fa_jr_put_error(&out, m.id, code, err.msg, NULL) == FA_OK);
		require(fa_jr_parse(&again, out.data, out.len, &err) == 0 && again.kind == FA_JR_ERROR);
		fa_jr_release(&again);
	} else if (m.kind == FA_JR_REQUEST || m.kind == FA_JR_NOTIFICATION) {
		require(m.method != NULL);
		require((m.kind == FA_JR_REQUEST) == (m.id != NULL));
		require(fa_jr_put_request(&out, m.id, m.method, m.params) == FA_OK);
		require(fa_jr_parse(&again, out.data, out.len, &err) == 0);
		require(again.kind == m.kind && !strcmp(again.method, m.method));
		require(!m.id || json_equal(again.id, m.id));
		fa_jr_release(&again);
	} else if (m.kind == FA_JR_RESULT) {
		require(m.id && m.result);
	} else {
		require(m.message != NULL);
	}
	fa_buf_release(&out);
	fa_jr_release(&m);
	return 0;
}
