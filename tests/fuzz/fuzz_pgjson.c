/*
 * libFuzzer target for lib/pg/pgjson.
 *
 * The first byte chooses the type (text[], int[], box[] with ';', a
 * composite with an array field, an array of those, int2vector) and the
 * output cap; the rest is the value's text.  Whatever the text, the
 * output must be one valid JSON value (jansson parses it back; it only
 * refuses numbers too big for a double), unless the cap was hit; and text that parses as the type must give the same
 * JSON when written a second time (the scratch buffers leave no trace).
 *
 *	clang -fsanitize=fuzzer,address -Ilib tests/fuzz/fuzz_pgjson.c \
 *		lib/pg/pgjson.c lib/core/json.c lib/core/buf.c lib/core/err.c \
 *		-ljansson -o fuzz_pgjson
 *	./fuzz_pgjson -max_total_time=30
 */
#include "pg/pgjson.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct fa_pgjson_type t_text = { 25, FA_PGJSON_STRING, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_int = { 23, FA_PGJSON_NUMBER, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_json = { 114, FA_PGJSON_STRING, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_tstz = { 1184, FA_PGJSON_TIMESTAMPTZ, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type a_text = { 1009, FA_PGJSON_ARRAY, ',', false, &t_text, 0, NULL };
static const struct fa_pgjson_type a_int = { 1007, FA_PGJSON_ARRAY, ',', false, &t_int, 0, NULL };
static const struct fa_pgjson_type a_box = { 1020, FA_PGJSON_ARRAY, ';', false, &t_text, 0, NULL };
static const struct fa_pgjson_type a_tstz = { 1185, FA_PGJSON_ARRAY, ',', false, &t_tstz, 0, NULL };
static const struct fa_pgjson_type v_int = { 22, FA_PGJSON_ARRAY, ',', true, &t_int, 0, NULL };
static const struct fa_pgjson_field f_rec[] = {
	{ "id", &t_int }, { "tags", &a_text }, { "j", &t_json },
};
static const struct fa_pgjson_type r_rec = { 90001, FA_PGJSON_RECORD, 0, false, NULL, 3, f_rec };
static const struct fa_pgjson_type a_rec = { 90002, FA_PGJSON_ARRAY, ',', false, &r_rec, 0, NULL };
static const struct fa_pgjson_field f_deep[] = { { "r", &r_rec }, { "rs", &a_rec } };
static const struct fa_pgjson_type r_deep = { 90003, FA_PGJSON_RECORD, 0, false, NULL, 2, f_deep };

static const struct fa_pgjson_type *const types[] = {
	&a_text, &a_int, &a_box, &a_tstz, &v_int, &r_rec, &a_rec, &r_deep,
};

static void require(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct fa_pgjson_scratch sc;
	static int ready;
	const struct fa_pgjson_type *t;
	struct fa_buf a, b;
	enum fa_err rc;
	size_t cap;

	if (size < 1)
		return 0;
	if (!ready) {
		fa_pgjson_scratch_init(&sc, 0);
		ready = 1;
	}
	t = types[(data[0] & 7) % (sizeof(types) / sizeof(types[0]))];
	cap = data[0] & 0x80 ? 16 + (data[0] >> 3 & 15) * 16 : 0;
	fa_buf_init(&a, cap);
	fa_buf_init(&b, 0);
	rc = fa_pgjson_put(&a, t, (const char *)data + 1, size - 1, &sc);
	require(rc == FA_OK || (rc == FA_ENOMEM && cap));
	if (rc == FA_OK) {
		json_error_t e;
		json_t *v = json_loadb(a.data, a.len, JSON_DECODE_ANY | JSON_ALLOW_NUL |
				       JSON_DECODE_INT_AS_REAL, &e);

		/* jansson refuses numbers a double cannot hold; JSON does not */
		require(v != NULL || strstr(e.text, "overflow"));
		json_decref(v);
		require(fa_pgjson_put(&b, t, (const char *)data + 1, size - 1, &sc) == FA_OK);
		require(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	}
	fa_buf_release(&a);
	fa_buf_release(&b);
	return 0;
}
