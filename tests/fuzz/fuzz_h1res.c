/*
 * libFuzzer target for the client side of lib/http/h1: the response head
 * parser, and the chunked decoder behind it.
 *
 * The first byte chooses the options (the answer to HEAD, a tiny head
 * limit, few header slots) and the second where the input is cut; the
 * rest is the input.  The head parser runs on the whole input and on the
 * prefix before the cut: a complete head has exactly one body framing and
 * every pointer inside it, and a prefix either needs more bytes or gives
 * exactly the same result.  Then the input is read as a client reads a
 * connection (interim 1xx heads skipped, bodies by Content-Length, chunked
 * or to the end), once whole and once in two pieces: both must see the
 * same responses, bodies and error.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_h1res.c lib/http/h1.c lib/core/buf.c \
 *		lib/core/err.c -o fuzz_h1res
 *	./fuzz_h1res -max_total_time=60 tests/fuzz/corpus/h1res
 */
#include "http/h1.h"

#include <stdlib.h>
#include <string.h>

#define NHDR 8

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * 0x100000001b3ULL;
}

struct opts {
	bool head;
	size_t max_head;
	int cap;
};

/* What a parse gave, summed up so that two parses can be compared. */
struct outcome {
	int rc;
	uint64_t hash;
	char msg[1024];
};

static void inside(const char *p, size_t n, const char *buf, size_t len)
{
	require(p >= buf && p + n <= buf + len);
}

static void parse(const struct opts *o, const char *buf, size_t len,
		  struct outcome *out)
{
	struct fa_h1_header hdr[NHDR];
	struct fa_h1_response_head r;
	struct fa_error err = { FA_OK, "" };
	int i;

	memset(out, 0, sizeof(*out));
	out->rc = fa_h1_parse_response(buf, len, o->max_head, o->head, hdr,
				       o->cap, &r, &err);
	if (out->rc < 0) {
		require(out->rc == -1 && err.code == FA_EINPUT);
		memcpy(out->msg, err.msg, sizeof(out->msg));
		return;
	}
	if (out->rc == 0)
		return;
	require((size_t)out->rc == r.head_len && r.head_len <= len);
	require(r.head_len >= 4 && memcmp(buf + r.head_len - 4, "\r\n\r\n",
					   4) == 0);
	require(r.no_body + r.chunked + r.until_close +
		(r.content_length >= 0) == 1);
	require(!(r.until_close && r.keep_alive));
	require(r.status >= 100 && r.status <= 599);
	require(r.minor == 0 || r.minor == 1);
	require(r.nheaders >= 0 && r.nheaders <= o->cap);
	inside(r.reason, r.reason_len, buf, r.head_len);
	mix(&out->hash, (uint64_t)(r.reason - buf));
	mix(&out->hash, r.reason_len);
	for (i = 0; i < r.nheaders; i++) {
		inside(hdr[i].name, hdr[i].name_len, buf, r.head_len);
		inside(hdr[i].value, hdr[i].value_len, buf, r.head_len);
		require(hdr[i].name_len > 0);
		require(!memchr(hdr[i].value, '\r', hdr[i].value_len) &&
			!memchr(hdr[i].value, '\n', hdr[i].value_len));
		mix(&out->hash, (uint64_t)(hdr[i].name - buf));
		mix(&out->hash, hdr[i].name_len);
		mix(&out->hash, (uint64_t)(hdr[i].value - buf));
		mix(&out->hash, hdr[i].value_len);
	}
	mix(&out->hash, (uint64_t)r.status);
	mix(&out->hash, (uint64_t)r.minor);
	mix(&out->hash, (uint64_t)r.content_length);
	mix(&out->hash, (uint64_t)(r.chunked | r.until_close << 1 |
				   r.no_body << 2 | r.keep_alive << 3));
}

/* A client reading a connection: what it saw, summed up. */
struct reader {
	const struct opts *o;
	struct fa_buf in;
	int stage;              /* 0 head, 1 length, 2 chunked, 3 to close, 4 failed */
	int64_t left;
	struct fa_h1_chunked ch;
	uint64_t hash;
	int responses;
	char msg[1024];
};

static void failed(struct reader *rd, const struct fa_error *err)
{
	rd->stage = 4;
	memcpy(rd->msg, err->msg, sizeof(rd->msg));
}

/* Takes the body bytes at the front of rd->in; false when more are needed. */
static bool body(struct reader *rd)
{
	struct fa_error err = { FA_OK, "" };
	struct fa_buf out;
	enum fa_err rc;
	size_t k, used, i;
	int st;

	if (rd->stage == 1 || rd->stage == 3) {
		k = rd->stage == 3 || (uint64_t)rd->left > rd->in.len
		    ? rd->in.len : (size_t)rd->left;
		for (i = 0; i < k; i++)
			mix(&rd->hash, (unsigned char)rd->in.data[i]);
		fa_buf_consume(&rd->in, k);
		if (rd->stage == 3)
			return false;
		rd->left -= (int64_t)k;
		return rd->left == 0;
	}
	fa_buf_init(&out, 0);
	rc = fa_h1_chunked_decode(&rd->ch, rd->in.data, rd->in.len, &out, &used,
				  &st, &err);
	for (i = 0; i < out.len; i++)   /* what came before an error too */
		mix(&rd->hash, (unsigned char)out.data[i]);
	fa_buf_release(&out);
	require(used <= rd->in.len);
	fa_buf_consume(&rd->in, used);
	if (rc != FA_OK) {
		failed(rd, &err);
		return false;
	}
	return rd->ch.done;
}

static void feed(struct reader *rd, const char *p, size_t n)
{
	struct fa_h1_header hdr[NHDR];
	struct fa_h1_response_head r;
	struct fa_error err = { FA_OK, "" };
	int rc;

	fa_buf_append(&rd->in, p, n);
	while (rd->stage != 4) {
		if (rd->stage != 0) {
			if (!body(rd))
				return;
			rd->stage = 0;
			mix(&rd->hash, 0xb0d1);
			continue;
		}
		rc = fa_h1_parse_response(rd->in.data, rd->in.len,
					  rd->o->max_head, rd->o->head, hdr,
					  rd->o->cap, &r, &err);
		if (rc < 0)
			failed(rd, &err);
		if (rc <= 0)
			return;
		mix(&rd->hash, (uint64_t)r.status);
		rd->responses++;
		fa_buf_consume(&rd->in, (size_t)rc);
		if (r.no_body)
			continue;
		rd->stage = r.chunked ? 2 : r.until_close ? 3 : 1;
		rd->left = r.content_length;
		fa_h1_chunked_init(&rd->ch, -1, NULL, 0);
		if (rd->stage == 1 && rd->left == 0)
			rd->stage = 0;
	}
}

static void read_all(const struct opts *o, const char *in, size_t n,
		     size_t cut, struct reader *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->o = o;
	fa_buf_init(&rd->in, 0);
	feed(rd, in, cut);
	feed(rd, in + cut, n - cut);
	mix(&rd->hash, (uint64_t)rd->stage);
	mix(&rd->hash, rd->in.len);
	fa_buf_release(&rd->in);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct outcome whole, part;
	struct reader r1, r2;
	struct opts o;
	const char *in;
	size_t n, cut;

	if (size < 2)
		return 0;
	o.head = data[0] & 1;
	o.max_head = data[0] & 2 ? 24 + (data[0] >> 2) : 0;
	o.cap = data[0] & 4 ? 1 + (data[0] >> 6) : NHDR;
	in = (const char *)data + 2;
	n = size - 2;
	cut = n ? data[1] % (n + 1) : 0;

	parse(&o, in, n, &whole);
	parse(&o, in, cut, &part);
	require(part.rc == 0 || (part.rc == whole.rc &&
				 part.hash == whole.hash &&
				 strcmp(part.msg, whole.msg) == 0));
	if (whole.rc > 0) {     /* what follows the head changes nothing */
		parse(&o, in, (size_t)whole.rc, &part);
		require(part.rc == whole.rc && part.hash == whole.hash);
	}

	read_all(&o, in, n, n, &r1);
	read_all(&o, in, n, cut, &r2);
	require(r1.hash == r2.hash && r1.responses == r2.responses &&
		strcmp(r1.msg, r2.msg) == 0);
	return 0;
}
