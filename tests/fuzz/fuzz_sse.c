/*
 * libFuzzer target for lib/http/sse, the event-stream parser.
 *
 * The first byte chooses the limit (the default or a tiny one), the next
 * two seed where the input is cut; the rest is the stream.  It is fed
 * whole, then in pieces of 1 to 16 bytes at those cuts: both must give the
 * same events, the same last event ID and retry time, and the same error.
 * Every event keeps the promises of sse.h: its data is NUL-terminated and
 * within the limit, its type is never empty, its ID holds no NUL.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *		tests/fuzz/fuzz_sse.c lib/http/sse.c lib/core/buf.c \
 *		lib/core/err.c -o fuzz_sse
 *	./fuzz_sse -max_total_time=60 tests/fuzz/corpus/sse
 */
#include "http/sse.h"

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
	size_t i;

	for (i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
	*h = (*h ^ n) * 0x100000001b3ULL;
}

struct outcome {
	uint64_t hash;
	int events;
	char msg[1024];
};

static void check_event(const struct fa_sse_event *ev, size_t max)
{
	require(ev->data && ev->data[ev->data_len] == '\0');
	require(ev->data_len < max);
	require(ev->type && ev->type_len > 0 && ev->type_len <= max);
	require(ev->id && !memchr(ev->id, '\0', ev->id_len));
	require(ev->retry >= -1);
}

/* Feeds in[0..n) whole, or in pieces whose lengths come from step_seed. */
static void run(const char *in, size_t n, size_t max, uint32_t step_seed,
		bool whole, struct outcome *o)
{
	struct fa_sse s;
	struct fa_sse_event ev;
	struct fa_error err = { FA_OK, "" };
	uint32_t x = step_seed | 1;
	size_t off = 0, len, used, p, idn;
	const char *id;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	fa_sse_init(&s, max);
	while (off < n && rc >= 0) {
		len = fuzz_piece(&x, whole, n - off);
		for (p = 0; p < len; p += used) {
			rc = fa_sse_feed(&s, in + off + p, len - p, &used, &ev,
					 &err);
			require(used <= len - p);
			if (rc < 0) {
				memcpy(o->msg, err.msg, sizeof(o->msg));
				break;
			}
			if (rc == 0) {
				require(used == len - p);
				continue;
			}
			check_event(&ev, s.max);
			mix(&o->hash, ev.type, ev.type_len);
			mix(&o->hash, ev.data, ev.data_len);
			mix(&o->hash, ev.id, ev.id_len);
			mix(&o->hash, &ev.retry, sizeof(ev.retry));
			o->events++;
		}
		off += len;
	}
	if (rc >= 0) {
		id = fa_sse_last_id(&s, &idn);
		require(!memchr(id, '\0', idn));
		mix(&o->hash, id, idn);
		mix(&o->hash, &s.retry, sizeof(s.retry));
	}
	fa_sse_release(&s);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct outcome a, b;
	size_t max;

	if (size < 3)
		return 0;
	max = data[0] & 1 ? 8 + (data[0] >> 1) : 0;
	run((const char *)data + 3, size - 3, max, 0, true, &a);
	run((const char *)data + 3, size - 3, max,
	    (uint32_t)data[1] << 8 | data[2], false, &b);
	require(a.hash == b.hash && a.events == b.events &&
		strcmp(a.msg, b.msg) == 0);
	return 0;
}
