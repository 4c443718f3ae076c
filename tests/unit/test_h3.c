/*
 * Unit tests for lib/http/h3: the response bytes a stream keeps until
 * they are acknowledged (chunks that never move, freed from the front,
 * backpressure and its drain), and the look at a datagram's header that
 * finds its connection.  The QUIC and HTTP/3 protocols themselves are
 * ngtcp2's and nghttp3's; tests/fa-serve-h3.bats drives them end to end.
 */
#include "http/h3.c"
#include "check.h"

static int drains;

static void stub_request(void *ctx, struct fa_h3_stream *st, const struct fa_h3_request *r) {}

static void stub_drain(void *ctx, struct fa_h3_stream *st, void *user)
{
	drains++;
}

static void stub_close(void *ctx, struct fa_h3_stream *st, void *user) {}

static const struct fa_h3_ops stub_ops = { stub_request, stub_drain, stub_close };

static size_t chunks(const struct fa_h3_stream *st)
{
	size_t n = 0;

	for (const struct chunk *c = st->head; c; c = c->next)
		n++;
	return n;
}

/*
 * Random writes, reads of random vector counts and acknowledgements of
 * random sizes: what nghttp3 is given is the bytes written, in order; the
 * chunks held never exceed what is unacknowledged plus two.
 */
static void test_buffer_random(void)
{
	struct fa_h3 q = { .ops = &stub_ops };
	struct fa_h3_stream *st;
	uint8_t *ref = malloc(4 << 20);
	size_t written = 0, given = 0, acked = 0;
	bool bad_bytes = false, bad_chunks = false;

	fa_h3_limits_init(&q.lim);
	st = stream_new(&q, 0);
	st->has_body = true;
	st->user = &q;
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rnd() % 3000);
		nghttp3_vec vec[16];
		uint32_t flags = 0;
		nghttp3_ssize nv;

		if (written + n < (4u << 20) && rnd() % 3) {
			uint8_t buf[3000];

			for (size_t i = 0; i < n; i++)
				buf[i] = ref[written + i] = (uint8_t)rnd();
			fa_h3_write(&q, st, buf, n);
			written += n;
		}
		nv = read_body(NULL, 0, vec, 1 + (size_t)(rnd() % 16), &flags, &q, st);
		for (nghttp3_ssize i = 0; i < nv; i++) {
			if (memcmp(vec[i].base, ref + given, vec[i].len))
				bad_bytes = true;
			given += vec[i].len;
		}
		if (given > acked && rnd() % 2) {
			size_t k = 1 + (size_t)(rnd() % (given - acked));

			h_acked(NULL, 0, k, &q, st);
			acked += k;
		}
		if (chunks(st) > (written - acked) / CHUNK + 2)
			bad_chunks = true;
		CHECK(st->buffered == written - acked, "buffered %zu, want %zu", st->buffered,
		      written - acked);
	}
	CHECK(!bad_bytes, "nghttp3 was given other bytes than were written");
	CHECK(!bad_chunks, "acknowledged chunks were kept");
	CHECK(given <= written && acked <= given);
	stream_free(st);
	free(ref);
}

/* The stream is full at stream_buffer; on_drain once it falls below a quarter. */
static void test_backpressure(void)
{
	struct fa_h3 q = { .ops = &stub_ops };
	struct fa_h3_stream *st;
	static uint8_t buf[64 * 1024];
	nghttp3_vec vec[16];
	uint32_t flags = 0;
	size_t given = 0;
	nghttp3_ssize nv;

	fa_h3_limits_init(&q.lim);
	q.lim.stream_buffer = 128 * 1024;
	st = stream_new(&q, 0);
	st->has_body = true;
	st->user = &q;
	drains = 0;
	fa_h3_write(&q, st, buf, sizeof(buf));
	CHECK(!fa_h3_stream_full(st));
	fa_h3_write(&q, st, buf, sizeof(buf));
	CHECK(fa_h3_stream_full(st));
	while ((nv = read_body(NULL, 0, vec, 16, &flags, &q, st)) > 0)
		for (nghttp3_ssize i = 0; i < nv; i++)
			given += vec[i].len;
	CHECK(nv == NGHTTP3_ERR_WOULDBLOCK, "no more bytes yet: WOULDBLOCK, got %ld", (long)nv);
	CHECK(given == 2 * sizeof(buf));
	h_acked(NULL, 0, 64 * 1024, &q, st);
	CHECK(drains == 0, "still half full: no drain yet");
	h_acked(NULL, 0, 40 * 1024, &q, st);
	CHECK(drains == 1, "under a quarter: one drain, got %d", drains);
	CHECK(!fa_h3_stream_full(st));
	fa_h3_end(&q, st);
	nv = read_body(NULL, 0, vec, 16, &flags, &q, st);
	CHECK(nv == 0 && (flags & NGHTTP3_DATA_FLAG_EOF), "the end: EOF with no bytes");
	stream_free(st);
}

/* Datagrams: junk is not QUIC; a short header's DCID has our length. */
static void test_packet_dcid(void)
{
	uint8_t pkt[1200] = { 0x40 }, out[FA_H3_MAX_PACKET];
	const uint8_t *dcid = NULL;
	size_t len = 0;

	for (int i = 1; i < 64; i++)
		pkt[i] = (uint8_t)i;
	CHECK(fa_h3_packet_dcid(pkt, 0, &dcid, &len) == -1);
	CHECK(fa_h3_packet_dcid(pkt, sizeof(pkt), &dcid, &len) == 0);
	CHECK(len == FA_H3_CIDLEN && dcid == pkt + 1);
	/* a long header of version 0x1a2a3a4a, padded as an Initial is: version negotiation */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0xc0;
	memcpy(pkt + 1, "\x1a\x2a\x3a\x4a", 4);
	pkt[5] = 8;                     /* DCID length, then 8 bytes */
	pkt[14] = 8;                    /* SCID length */
	CHECK(fa_h3_packet_dcid(pkt, sizeof(pkt), &dcid, &len) == 1);
	CHECK(fa_h3_version_negotiation(pkt, sizeof(pkt), out, sizeof(out)) > 0);
	/* a short one gets none: no amplification */
	CHECK(fa_h3_packet_dcid(pkt, 64, &dcid, &len) == -1);
}

/* A Stateless Reset is smaller than the datagram it answers, and looks like a short header. */
static void test_stateless_reset(void)
{
	struct fa_h3_ctx ctx = { 0 };
	uint8_t pkt[200], out[FA_H3_MAX_PACKET];
	size_t k;

	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)rnd();
	pkt[0] = 0x40;
	for (size_t n = 0; n <= sizeof(pkt); n++) {
		k = fa_h3_stateless_reset(&ctx, pkt, n, pkt + 1, FA_H3_CIDLEN, out, sizeof(out));
		if (n < 41) {
			CHECK(k == 0, "%zu bytes: no reset, got %zu", n, k);
			continue;
		}
		CHECK(k > 0 && k < n, "%zu bytes: a reset of %zu", n, k);
		CHECK((out[0] & 0xc0) == 0x40);
	}
	pkt[0] = 0xc0;          /* a long header: never */
	CHECK(fa_h3_stateless_reset(&ctx, pkt, sizeof(pkt), pkt + 1, FA_H3_CIDLEN, out,
				    sizeof(out)) == 0);
	pkt[0] = 0x40;          /* a DCID not of our length: never */
	CHECK(fa_h3_stateless_reset(&ctx, pkt, sizeof(pkt), pkt + 1, 8, out, sizeof(out)) == 0);
}

/*
 * Address validation: no token and --h3-retry: a Retry; its token verifies
 * for the same address and gives back the first DCID; for another address,
 * or forged, it does not, and a CONNECTION_CLOSE is the answer.
 */
static void test_retry_token(void)
{
	struct fa_h3_ctx ctx = { .secret = { 1, 2, 3 } };
	struct fa_h3_limits lim;
	struct fa_h3_path path = { 0 }, other;
	struct sockaddr_in *sin = (struct sockaddr_in *)&path.remote;
	uint8_t reply[FA_H3_MAX_PACKET], token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
	ngtcp2_pkt_hd hd = { .version = NGTCP2_PROTO_VER_V1, .type = NGTCP2_PKT_INITIAL };
	ngtcp2_cid odcid, retry_scid = { .datalen = FA_H3_CIDLEN, .data = { 7 } };
	size_t reply_len = 0;
	ngtcp2_ssize tlen;

	fa_h3_limits_init(&lim);
	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(4433) };
	path.remote_len = sizeof(*sin);
	ngtcp2_cid_init(&hd.dcid, (const uint8_t *)"client-chosen-id", 16);
	ngtcp2_cid_init(&hd.scid, (const uint8_t *)"client-scid", 11);
	/* no token, no --h3-retry: go on */
	CHECK(check_token(&ctx, &lim, &path, &hd, 1000, &odcid, reply, &reply_len) == 0);
	/* no token, --h3-retry: a Retry */
	lim.retry = true;
	CHECK(check_token(&ctx, &lim, &path, &hd, 1000, &odcid, reply, &reply_len) == -1);
	CHECK(reply_len > 0 && reply_len < 200, "a Retry of %zu bytes", reply_len);
	/* the token such a Retry carries verifies for this address */
	tlen = ngtcp2_crypto_generate_retry_token(token, ctx.secret, sizeof(ctx.secret),
						  hd.version, (struct sockaddr *)sin,
						  path.remote_len, &retry_scid, &hd.dcid, 1000);
	CHECK(tlen > 0);
	hd.token = (ngtcp2_vec){ token, (size_t)tlen };
	hd.dcid = retry_scid;
	CHECK(check_token(&ctx, &lim, &path, &hd, 2000, &odcid, reply, &reply_len) == 1);
	CHECK(odcid.datalen == 16 && !memcmp(odcid.data, "client-chosen-id", 16));
	/* from another port it does not: a close, never a connection */
	other = path;
	((struct sockaddr_in *)&other.remote)->sin_port = htons(4434);
	CHECK(check_token(&ctx, &lim, &other, &hd, 2000, &odcid, reply, &reply_len) == -1);
	CHECK(reply_len > 0);
	/* nor once it is too old (10 s), nor forged */
	CHECK(check_token(&ctx, &lim, &path, &hd, 1000 + 11 * NGTCP2_SECONDS, &odcid, reply,
			  &reply_len) == -1);
	token[tlen / 2] ^= 1;
	CHECK(check_token(&ctx, &lim, &path, &hd, 2000, &odcid, reply, &reply_len) == -1);
}

/* Resets: twice the stream limit in a second pass, one more does not; a
   second later, again.  A stream of ours counts once, however often it is
   reset or stopped. */
static void test_reset_limit(void)
{
	struct fa_h3 q = { .now = 5 * NGTCP2_SECONDS };
	struct fa_h3_stream st = { .q = &q, .id = 4 };
	uint32_t ok = 0;

	fa_h3_limits_init(&q.lim);
	q.lim.max_streams = 10;
	q.streams = &st;
	for (int i = 0; i < 50; i++)
		CHECK(!too_many_resets(&q, 4), "stream 4's reset %d counted again", i);
	while (!too_many_resets(&q, 8 + 4 * (int64_t)ok) && ok < 1000)
		ok++;
	CHECK(ok == 19, "%u resets passed besides stream 4's, want 19", ok);
	CHECK(q.quic.last_error.error_code == NGHTTP3_H3_EXCESSIVE_LOAD);
	q.now += 2 * NGTCP2_SECONDS;
	CHECK(!too_many_resets(&q, 1000), "a new second starts afresh");
}

int main(int argc, char **argv)
{
	rnd_seed("test_h3", argc, argv);
	RUN(test_buffer_random);
	RUN(test_backpressure);
	RUN(test_packet_dcid);
	RUN(test_stateless_reset);
	RUN(test_retry_token);
	RUN(test_reset_limit);
	return check_report("test_h3");
}
