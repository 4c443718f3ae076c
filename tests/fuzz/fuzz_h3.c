/*
 * libFuzzer target for what lib/http/h3 does itself (the protocols are
 * ngtcp2's and nghttp3's, fuzzed upstream):
 *
 * - the input as a datagram: finding its connection ID, a Version
 *   Negotiation for it, a Stateless Reset for it.  A reset must be smaller
 *   than the datagram, and a negotiation only answers a full-sized one;
 * - the input as a script for one response stream's buffer: each byte
 *   pair writes, lets nghttp3 read, acknowledges or ends.  What nghttp3 is
 *   given must be exactly the bytes written, in order; the count of
 *   unacknowledged bytes must stay right; nothing may leak (ASan).
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib tests/fuzz/fuzz_h3.c \
 *		lib/core/buf.c lib/core/err.c -lngtcp2 -lngtcp2_crypto_gnutls \
 *		-lnghttp3 -lgnutls -o fuzz_h3
 *	./fuzz_h3 -max_total_time=60
 */
#include "http/h3.c"

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void datagram(const uint8_t *p, size_t n)
{
	static struct fa_h3_ctx ctx = { .secret = { 42 } };
	uint8_t out[FA_H3_MAX_PACKET];
	const uint8_t *dcid;
	size_t len, k;
	int rc = fa_h3_packet_dcid(p, n, &dcid, &len);

	if (rc == 0) {
		require(dcid >= p && dcid + len <= p + n);
		k = fa_h3_stateless_reset(&ctx, p, n, dcid, len, out, sizeof(out));
		require(k == 0 || (k < n && n >= 41));
	}
	k = fa_h3_version_negotiation(p, n, out, sizeof(out));
	require(k == 0 || (rc == 1 && n >= 1200));
}

static void stub_request(void *c, struct fa_h3_stream *st, const struct fa_h3_request *r) {}
static void stub_drain(void *c, struct fa_h3_stream *st, void *user) {}
static void stub_close(void *c, struct fa_h3_stream *st, void *user) {}
static const struct fa_h3_ops stub_ops = { stub_request, stub_drain, stub_close };

/* Byte i of the written stream: a function of i, so what is given can be checked. */
static uint8_t byte_at(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 8));
}

static void stream_script(const uint8_t *p, size_t n)
{
	struct fa_h3 q = { .ops = &stub_ops };
	struct fa_h3_stream *st;
	uint8_t buf[4096];
	size_t written = 0, given = 0, acked = 0;

	fa_h3_limits_init(&q.lim);
	st = stream_new(&q, 0);
	st->has_body = true;
	st->user = &q;
	for (size_t i = 0; i + 1 < n; i += 2) {
		size_t arg = p[i + 1];

		switch (p[i] % 4) {
		case 0: {       /* write arg * 16 bytes */
			size_t k = arg * 16;

			for (size_t j = 0; j < k; j++)
				buf[j] = byte_at(written + j);
			fa_h3_write(&q, st, buf, k);
			if (!st->ended)
				written += k;
			break;
		}
		case 1: {       /* nghttp3 reads into 1 + arg % 16 vectors */
			nghttp3_vec vec[16];
			uint32_t flags = 0;
			nghttp3_ssize nv = read_body(NULL, 0, vec, 1 + arg % 16, &flags, &q, st);

			for (nghttp3_ssize v = 0; v < nv; v++)
				for (size_t j = 0; j < vec[v].len; j++)
					require(vec[v].base[j] == byte_at(given++));
			require(nv >= 0 || nv == NGHTTP3_ERR_WOULDBLOCK);
			require(!(flags & NGHTTP3_DATA_FLAG_EOF) || (st->ended && given == written));
			break;
		}
		case 2: {       /* the peer acknowledges up to arg * 64 of what was given */
			size_t k = arg * 64 < given - acked ? arg * 64 : given - acked;

			h_acked(NULL, 0, k, &q, st);
			acked += k;
			break;
		}
		default:
			fa_h3_end(&q, st);
		}
		require(st->buffered == written - acked);
		require(given <= written);
	}
	stream_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	datagram(data, size);
	stream_script(data, size);
	return 0;
}
