/*
 * libFuzzer target for lib/mcp/jsonrpc.
 *
 * Any bytes are one message: the parser returns 0 or one of the two codes
 * it documents, a message it accepts has the fields its kind promises, and
 * an accepted request written back out parses again to the same kind, id
 * and method.  Errors are written with whatever id was read.  What
 * fa_jr_scan_result() takes, the parser takes as a result of the same
 * id, and the result's bytes read alone are the parser's result.  The
 * tree the parser builds is jansson's own reading of the bytes.
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
	struct fa_jr_raw raw;

	if (fa_jr_scan_result((const char *)data, size, &raw)) {
		/* an integer past 64 bits makes every number a double, as fa_jr_parse() does */
		int as_real = json_is_real(m.id) ? JSON_DECODE_INT_AS_REAL : 0;
		json_t *res = json_loadb((const char *)data + raw.result_off, raw.result_len,
					 JSON_DECODE_ANY | as_real, NULL);

		require(code == 0 && m.kind == FA_JR_RESULT && json_number_value(m.id) == (double)raw.id);
		require(json_equal(res, m.result));
		json_decref(res);
	}
	{
		json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

		if (!j)
			j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
		require(!j == !m.root);
		/* an id read as a double may have become an integer again */
		if (j && !json_is_real(json_object_get(j, "id")))
			require(json_equal(j, m.root));
		json_decref(j);
	}
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
