/*
 * libFuzzer target for lib/http/h1.
 *
 * The first byte chooses the limits (defaults or tiny ones) and the second
 * where the input is cut; the rest is the input.  The request parser runs
 * on the whole input and on the prefix before the cut: a complete head
 * lies inside the input with every pointer in it, an error has one of the
 * documented statuses, and the prefix either needs more bytes or gives
 * exactly the same result.  The chunked decoder runs on the input in one
 * piece and in two: both must agree on the data, the trailers, the bytes
 * consumed and the error.  The URL helpers and the response writer get
 * the input too: a head the writer accepts has no line break of its own.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_h1.c lib/http/h1.c lib/core/buf.c lib/core/err.c -o fuzz_h1
 *	./fuzz_h1 -max_total_time=60 tests/fuzz/corpus/h1
 */
#include "http/h1.h"

#include <stdlib.h>
#include <string.h>

#define NHDR 16

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * 0x100000001b3ULL;
}

/* A pointer as an offset into buf, or a mark for NULL or elsewhere. */
static uint64_t off(const char *p, size_t n, const char *buf, size_t len)
{
	if (!p)
		return UINT64_MAX;
	if (p >= buf && p + n <= buf + len)
		return (uint64_t)(p - buf);
	require(n == 1 && p[0] == '/');         /* the static "/" */
	return UINT64_MAX - 1;
}

/* What a parse gave, summed up so that two parses can be compared. */
struct outcome {
	int rc, status;
	uint64_t hash;
	char msg[1024];
};

static void parse(const char *buf, size_t len,
		  const struct fa_h1_limits *lim, struct outcome *o)
{
	struct fa_h1_header hdr[NHDR];
	struct fa_h1_request r;
	struct fa_error err = { FA_OK, "" };
	int i;

	memset(o, 0, sizeof(*o));
	o->rc = fa_h1_parse_request(buf, len, lim, hdr, NHDR, &r, &o->status,
				    &err);
	if (o->rc < 0) {
		require(o->rc == -1 && err.code == FA_EINPUT);
		require(o->status == 400 || o->status == 413 ||
			o->status == 414 || o->status == 417 ||
			o->status == 431 || o->status == 501 ||
			o->status == 505);
		memcpy(o->msg, err.msg, sizeof(o->msg));
		return;
	}
	if (o->rc == 0)
		return;
	require((size_t)o->rc == r.head_len && r.head_len <= len);
	require(r.head_len >= 4 && memcmp(buf + r.head_len - 4, "\r\n\r\n",
					   4) == 0);
	require(r.minor == 0 || r.minor == 1);
	require(r.nheaders >= 0 && r.nheaders <= NHDR && r.headers == hdr);
	require(!(r.chunked && r.content_length >= 0));
	mix(&o->hash, off(r.method, r.method_len, buf, r.head_len));
	mix(&o->hash, r.method_len);
	mix(&o->hash, off(r.target, r.target_len, buf, r.head_len));
	mix(&o->hash, r.target_len);
	mix(&o->hash, off(r.path, r.path_len, buf, r.head_len));
	mix(&o->hash, r.path_len);
	mix(&o->hash, off(r.query, r.query_len, buf, r.head_len));
	mix(&o->hash, r.query_len);
	mix(&o->hash, off(r.host, r.host_len, buf, r.head_len));
	mix(&o->hash, r.host_len);
	require(r.method_len > 0 && r.target_len > 0 && r.path_len > 0);
	for (i = 0; i < r.nheaders; i++) {
		require(hdr[i].name >= buf && hdr[i].name_len > 0 &&
			hdr[i].name + hdr[i].name_len <= buf + r.head_len);
		require(hdr[i].value >= buf &&
			hdr[i].value + hdr[i].value_len <= buf + r.head_len);
		require(memchr(hdr[i].value, '\r', hdr[i].value_len) == NULL &&
			memchr(hdr[i].value, '\n', hdr[i].value_len) == NULL);
		mix(&o->hash, (uint64_t)(hdr[i].name - buf));
		mix(&o->hash, hdr[i].name_len);
		mix(&o->hash, (uint64_t)(hdr[i].value - buf));
		mix(&o->hash, hdr[i].value_len);
	}
	mix(&o->hash, (uint64_t)r.minor);
	mix(&o->hash, (uint64_t)r.nheaders);
	mix(&o->hash, (uint64_t)r.content_length);
	mix(&o->hash, (uint64_t)(r.chunked | r.keep_alive << 1 |
				 r.expect_continue << 2 | r.is_head << 3));
}

/* What a chunked decode gave. */
struct decoded {
	enum fa_err rc;
	int status;
	bool done;
	size_t used;
	uint64_t hash;
	char msg[1024];
};

/* Decodes in[0..n) fed in two pieces, the first ending at cut. */
static void dechunk(const char *in, size_t n, size_t cut, int64_t max_body,
		    struct decoded *d)
{
	struct fa_h1_header tr[4];
	struct fa_h1_chunked c;
	struct fa_error err = { FA_OK, "" };
	struct fa_buf pend, out;
	size_t used, end, fed = 0;
	int piece, i;

	memset(d, 0, sizeof(*d));
	fa_buf_init(&pend, 0);
	fa_buf_init(&out, 0);
	fa_h1_chunked_init(&c, max_body, tr, 4);
	for (piece = 0; piece < 2 && d->rc == FA_OK && !c.done; piece++) {
		end = piece == 0 ? cut : n;
		fa_buf_append(&pend, in + fed, end - fed);
		fed = end;
		d->rc = fa_h1_chunked_decode(&c, pend.data, pend.len, &out,
					     &used, &d->status, &err);
		require(used <= pend.len);
		if (c.done) {
			require(c.ntrailers >= 0 && c.ntrailers <= 4);
			for (i = 0; i < c.ntrailers; i++) {
				require(tr[i].name >= pend.data &&
					tr[i].name + tr[i].name_len <=
					pend.data + used);
				require(tr[i].value >= pend.data &&
					tr[i].value + tr[i].value_len <=
					pend.data + used);
				mix(&d->hash, tr[i].name_len);
				mix(&d->hash, tr[i].value_len);
			}
		}
		fa_buf_consume(&pend, used);
		d->used += used;
	}
	require((int64_t)out.len == c.total);
	require(max_body < 0 || c.total <= max_body);
	for (i = 0; i < (int)out.len; i++)
		mix(&d->hash, (unsigned char)out.data[i]);
	d->done = c.done;
	if (d->rc != FA_OK) {
		require(d->rc == FA_EINPUT);
		require(d->status == 400 || d->status == 413 ||
			d->status == 431);
		memcpy(d->msg, err.msg, sizeof(d->msg));
	}
	fa_buf_release(&pend);
	fa_buf_release(&out);
}

static void url_helpers(const char *in, size_t n)
{
	struct fa_h1_header pair;
	const char *q = in;
	size_t qlen = n, dlen, seen = 0;
	char *dst = malloc(n ? n : 1);

	if (fa_h1_pct_decode(dst, &dlen, in, n, true, NULL) == FA_OK)
		require(dlen <= n && memchr(dst, '\0', dlen) == NULL);
	else
		require(dlen <= n);
	while (fa_h1_query_next(&q, &qlen, &pair)) {
		require(pair.name >= in && pair.name + pair.name_len <= in + n);
		require(pair.value >= in &&
			pair.value + pair.value_len <= in + n);
		require(q >= pair.value + pair.value_len && q + qlen == in + n);
		require(++seen <= n);
	}
	free(dst);
}

/* Field name = the input up to the first ':', value = the rest. */
static void writer(const char *in, size_t n, unsigned char opt)
{
	struct fa_h1_header h;
	struct fa_h1_response r;
	struct fa_buf out;
	const char *colon = memchr(in, ':', n);
	size_t i, lines = 0;

	h.name = in;
	h.name_len = colon ? (size_t)(colon - in) : n;
	h.value = colon ? colon + 1 : in + n;
	h.value_len = colon ? n - h.name_len - 1 : 0;
	memset(&r, 0, sizeof(r));
	r.status = 100 + opt;
	r.headers = &h;
	r.nheaders = 1;
	r.content_length = (int64_t)(opt & 3) - 2;
	r.keep_alive = opt & 4;
	r.minor = (opt >> 3) & 1;
	fa_buf_init(&out, 0);
	if (fa_h1_response_head(&out, &r, NULL) == FA_OK) {
		for (i = 0; i < out.len; i++) {
			if (out.data[i] == '\n') {
				require(i > 0 && out.data[i - 1] == '\r');
				lines++;
			} else if (out.data[i] == '\r') {
				require(i + 1 < out.len && out.data[i + 1] == '\n');
			}
		}
		require(lines >= 3 && lines <= 5);
		require(memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
	}
	fa_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct fa_h1_limits lim;
	struct outcome whole, part;
	struct decoded d1, d2;
	const char *in;
	size_t n, cut;
	int64_t max_body;

	if (size < 2)
		return 0;
	fa_h1_limits_init(&lim);
	if (data[0] & 1) {
		lim.max_head = 16 + (data[0] >> 1);
		lim.max_target = 1 + (data[0] >> 3);
		lim.max_headers = 1 + (data[0] >> 5);
		lim.max_body = data[1];
	}
	max_body = data[0] & 2 ? (int64_t)data[1] : -1;
	in = (const char *)data + 2;
	n = size - 2;
	cut = n ? data[1] % (n + 1) : 0;

	parse(in, n, &lim, &whole);
	parse(in, cut, &lim, &part);
	require(part.rc == 0 || (part.rc == whole.rc &&
				 part.status == whole.status &&
				 part.hash == whole.hash &&
				 strcmp(part.msg, whole.msg) == 0));
	if (whole.rc > 0) {     /* what follows the head changes nothing */
		parse(in, (size_t)whole.rc, &lim, &part);
		require(part.rc == whole.rc && part.hash == whole.hash);
	}

	dechunk(in, n, n, max_body, &d1);
	dechunk(in, n, cut, max_body, &d2);
	require(d1.rc == d2.rc && d1.status == d2.status &&
		d1.done == d2.done && d1.used == d2.used &&
		d1.hash == d2.hash && strcmp(d1.msg, d2.msg) == 0);

	url_helpers(in, n);
	writer(in, n, data[0]);
	return 0;
}
