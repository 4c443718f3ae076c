/*
 * libFuzzer target for lib/http/hfile: what a request's path and headers
 * become for a file.  The first byte picks the function (its low two bits)
 * and, for ranges, the file's size (the rest); the other bytes are the
 * input.  Each answer must keep hfile.h's promises:
 *
 *	fa_hfile_path: refused, or a relative path with no "..", "." or empty
 *	segment, no leading '/', no NUL and no '\', within the room given;
 *	fa_hfile_range: 1 only with 0 <= first <= last < size, -1 only when
 *	size is 0 or the range starts at or past it;
 *	fa_hfile_date_parse: a time that parses the same the second time
 *	and is taken by If-Modified-Since and If-Range as that time;
 *	fa_hfile_not_modified: the same with W/ taken off the tag compared.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_hfile.c lib/http/hfile.c lib/core/buf.c \
 *		lib/core/err.c -o fuzz_hfile
 *	./fuzz_hfile -max_total_time=60 tests/fuzz/corpus/hfile
 */
#include "http/hfile.h"

#include <stdlib.h>
#include <string.h>

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void check_path(const char *in, size_t n, size_t cap)
{
	char out[512];
	struct fa_error err = { FA_OK, "" };
	size_t len;

	if (fa_hfile_path(in, n, out, cap, &err)) {
		require(err.code == FA_EINPUT && err.msg[0]);
		return;
	}
	len = strlen(out);
	require(len < cap && out[0] != '/' && !strchr(out, '\\'));
	for (const char *s = out; *s; s += *s == '/') {
		size_t seg = strcspn(s, "/");

		require(seg > 0 || !s[0]);
		require(!(seg == 2 && s[0] == '.' && s[1] == '.'));
		require(!(seg == 1 && s[0] == '.'));
		s += seg;
	}
	(void)fa_hfile_type(out);
	(void)fa_hfile_hidden(out);
}

static void check_range(const char *in, size_t n, int64_t size)
{
	int64_t first = -7, last = -7;
	int r = fa_hfile_range(in, n, size, &first, &last);

	if (r > 0)
		require(first >= 0 && first <= last && last < size);
	else if (r < 0)
		require(first == -7 && last == -7);
}

static void check_date(const char *in, size_t n)
{
	time_t t, again;
	char etag[FA_HFILE_ETAG_MAX];

	if (!fa_hfile_date_parse(in, n, &t))
		return;
	require(fa_hfile_date_parse(in, n, &again) && again == t);
	fa_hfile_etag(etag, 1, 2, (struct timespec){ t, 0 });
	require(fa_hfile_not_modified(NULL, 0, in, n, etag, t));
	/* If-Range takes what opens with a quote for an entity-tag */
	require(fa_hfile_if_range(in, n, etag, t) == (in[0] != '"'));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;

	if (!size)
		return 0;
	switch (data[0] & 3) {
	case 0:
		check_path(in, n, 1 + (data[0] >> 2) * 8);
		break;
	case 1:
		check_range(in, n, (int64_t)(data[0] >> 2) * 37);
		break;
	case 2:
		check_date(in, n);
		break;
	default:
		require(fa_hfile_not_modified(in, n, NULL, 0, "\"v1\"", 0) ==
			fa_hfile_not_modified(in, n, NULL, 0, "W/\"v1\"", 0));
		break;
	}
	return 0;
}
