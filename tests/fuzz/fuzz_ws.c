/*
 * libFuzzer target for lib/http/ws, the WebSocket frame reader.
 *
 * The first byte chooses the side (a server reading masked frames, or a
 * client reading unmasked ones), permessage-deflate, and the message
 * limit (the default or a tiny one); the next two seed where the input
 * is cut; the rest is the stream.  It is fed whole, then in pieces of 1
 * to 16 bytes: both must give the same messages and the same close code.
 * Every message keeps ws.h's promises: a known opcode, data
 * NUL-terminated and within the limit (125 bytes for control frames), text that is UTF-8, a close code
 * that may be sent.  The whole input is also tried as a
 * Sec-WebSocket-Extensions offer (fa_ws_deflate_offer).
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_ws.c lib/http/ws.c lib/http/h1.c lib/core/buf.c \
 *		lib/core/err.c -lz -lcrypto -o fuzz_ws
 *	./fuzz_ws -max_total_time=60 tests/fuzz/corpus/ws
 */
#include "http/ws.h"

#include <stdlib.h>
#include <string.h>

#include "pieces.h"

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
	*h = (*h ^ n) * 0x100000001b3ULL;
}

struct outcome {
	uint64_t hash;
	int msgs, code;
};

static void check_msg(const struct fa_ws_msg *m, size_t max)
{
	require(m->op == FA_WS_TEXT || m->op == FA_WS_BINARY || m->op == FA_WS_CLOSE ||
		m->op == FA_WS_PING || m->op == FA_WS_PONG);
	require(m->data && m->data[m->len] == '\0');
	/* the limit is a data message's; control frames have their own 125 */
	require(m->op == FA_WS_BINARY || m->op == FA_WS_TEXT ? m->len <= max : m->len <= 125);
	require(m->op != FA_WS_TEXT || fa_ws_utf8(m->data, m->len));
	require(m->op != FA_WS_CLOSE || m->code == FA_WS_NO_STATUS ||
		(m->code >= 1000 && m->code < 5000 && fa_ws_utf8(m->data, m->len)));
}

static void run(const unsigned char *in, size_t n, unsigned mode, uint32_t step_seed, bool whole,
		struct outcome *o)
{
	struct fa_ws_deflate d = { .on = true, .server_bits = 15, .client_no_context = mode & 8 };
	struct fa_error err;
	struct fa_ws ws;
	struct fa_ws_msg m;
	uint32_t x = step_seed | 1;
	size_t off = 0, len, used, max = mode & 2 ? 64 : 0;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	fa_ws_init(&ws, mode & 1, max);
	if (mode & 4)
		require(fa_ws_use_deflate(&ws, &d, &err) == FA_OK);
	while (off < n && rc >= 0) {
		len = fuzz_piece(&x, whole, n - off);
		for (size_t p = 0; p < len && rc >= 0; p += used) {
			rc = fa_ws_feed(&ws, (const char *)in + off + p, len - p, &used, &m, &err);
			require(used <= len - p);
			if (rc < 0) {
				require(ws.close_code >= 1002 && ws.close_code <= 1009);
				o->code = ws.close_code;
			} else if (rc == 0) {
				require(used == len - p);
			} else {
				check_msg(&m, ws.max);
				mix(&o->hash, &m.op, sizeof(m.op));
				mix(&o->hash, m.data, m.len);
				o->msgs++;
			}
		}
		off += len;
	}
	fa_ws_release(&ws);
}

/* The input as a Sec-WebSocket-Extensions value, in a buffer of its exact
   size: the answer fits and is NUL-terminated, an offer taken is sane. */
static void offer(const unsigned char *data, size_t size)
{
	char *copy = malloc(size ? size : 1), resp[128];
	struct fa_ws_deflate d;

	require(copy != NULL);
	memcpy(copy, data, size);
	memset(resp, 'x', sizeof(resp));
	if (fa_ws_deflate_offer(copy, size, &d, resp, sizeof(resp)))
		require(d.on && d.server_bits >= 9 && d.server_bits <= 15 &&
			memchr(resp, '\0', sizeof(resp)));
	free(copy);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct outcome a, b;

	offer(data, size);
	if (size < 3)
		return 0;
	run(data + 3, size - 3, data[0], 0, true, &a);
	run(data + 3, size - 3, data[0], (uint32_t)data[1] << 8 | data[2], false, &b);
	require(a.hash == b.hash && a.msgs == b.msgs && a.code == b.code);
	return 0;
}
