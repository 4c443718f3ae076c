/*
 * libFuzzer target for lib/pg/csvrec.
 *
 * The first two bytes choose the options, a record limit and where the
 * input is cut in two; the rest is the input.  It is scanned in one piece
 * and in two, and both must agree on every record (offset, length, line),
 * the count, the error and the end marker; every record is parsed into
 * fields, which must lie inside the record or the scratch buffer.
 *
 *	clang -fsanitize=fuzzer,address -Ilib tests/fuzz/fuzz_csvrec.c \
 *		lib/pg/csvrec.c lib/core/buf.c lib/core/err.c -o fuzz_csvrec
 *	./fuzz_csvrec -max_total_time=30
 */
#include "pg/csvrec.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8

/* What one run saw, summed up so that two runs can be compared. */
struct outcome {
	uint64_t hash;
	uint64_t records;
	uint64_t line;
	size_t used;
	enum fa_err rc;
	bool end_marker;
	char msg[1024];
};

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * 0x100000001b3ULL;
}

static void check_fields(const struct fa_rec_opts *o, const char *rec,
			 size_t len, uint64_t line, struct fa_buf *scratch)
{
	struct fa_rec_field f[MAX_FIELDS];
	struct fa_error err;
	size_t n = 0, k;
	const char *p;

	if (fa_rec_fields(o, rec, len, line, f, MAX_FIELDS, &n, scratch,
			  &err) != FA_OK)
		return;
	require(n >= 1 && n <= MAX_FIELDS);
	for (k = 0; k < n; k++) {
		p = f[k].ptr;
		require((p >= rec && p + f[k].len <= rec + len) ||
			(p >= scratch->data &&
			 p + f[k].len <= scratch->data + scratch->len));
	}
}

/* Walks a batch that starts at input offset base. */
static void batch(const struct fa_rec_opts *o, const char *b, size_t n,
		  uint64_t line, size_t base, struct outcome *out,
		  struct fa_buf *scratch)
{
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	size_t off = 0;

	fa_rec_iter_init(&it, o, b, n, line);
	while (fa_rec_iter_next(&it, &sp)) {
		require(sp.off == off && sp.len <= sp.size && sp.size > 0);
		off += sp.size;
		mix(&out->hash, base + sp.off);
		mix(&out->hash, sp.len);
		mix(&out->hash, sp.line);
		check_fields(o, b + sp.off, sp.len, sp.line, scratch);
	}
	require(off == n);
}

/* Scans in[0..n) as if read in two pieces ending at cut and n. */
static void run(const struct fa_rec_opts *o, const char *in, size_t n,
		size_t cut, size_t max, struct outcome *out)
{
	struct fa_rec_scanner s;
	struct fa_error err = { FA_OK, "" };
	struct fa_buf scratch;
	size_t off = 0, used, end;
	uint64_t line;
	int piece;

	memset(out, 0, sizeof(*out));
	fa_buf_init(&scratch, 0);
	require(fa_rec_init(&s, o, &err) == FA_OK);
	for (piece = 0; piece < 2 && out->rc == FA_OK && !s.end_marker; piece++) {
		end = piece == 0 ? cut : n;
		do {
			line = s.line;
			out->rc = fa_rec_scan(&s, in + off, end - off, max, &used,
					      &err);
			require(used <= end - off);
			batch(o, in + off, used, line, off, out, &scratch);
			off += used;
		} while (used > 0 && out->rc == FA_OK);
	}
	if (out->rc == FA_OK && !s.end_marker) {
		line = s.line;
		out->rc = fa_rec_finish(&s, in + off, n - off, &used, &err);
		batch(o, in + off, used, line, off, out, &scratch);
		off += used;
	}
	require(s.offset == off);
	out->records = s.records;
	out->line = s.line;
	out->used = off;
	out->end_marker = s.end_marker;
	memcpy(out->msg, err.msg, sizeof(out->msg));
	fa_buf_release(&scratch);
}

static void options(struct fa_rec_opts *o, unsigned char c)
{
	static const char delims[] = ",\t|;";

	fa_rec_opts_init(o, c & 1 ? FA_REC_TEXT : FA_REC_CSV);
	o->validate_utf8 = c & 2;
	o->delim = delims[(c >> 2) & 3];
	if (c & 16)
		o->escape = '\\';
	if (c & 32)
		o->null_str = "NULL";
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct fa_rec_opts o;
	struct outcome whole, split;
	struct fa_buf scratch;
	size_t n, cut, max;
	const char *in;

	if (size < 2)
		return 0;
	options(&o, data[0]);
	max = data[0] >> 6;
	in = (const char *)data + 2;
	n = size - 2;
	cut = n ? data[1] % (n + 1) : 0;
	run(&o, in, n, n, 0, &whole);
	run(&o, in, n, cut, max, &split);
	require(whole.hash == split.hash && whole.records == split.records &&
		whole.line == split.line && whole.used == split.used &&
		whole.rc == split.rc && whole.end_marker == split.end_marker);
	require(whole.rc == FA_OK || strcmp(whole.msg, split.msg) == 0);
	require(whole.rc == FA_OK || whole.rc == FA_EINPUT);
	fa_buf_init(&scratch, 0);
	check_fields(&o, in, n, 1, &scratch);     /* any bytes at all */
	fa_buf_release(&scratch);
	return 0;
}
