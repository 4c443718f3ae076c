/*
 * libFuzzer target for lib/http/h2: arbitrary bytes after the client preface,
 * as a peer would send them, with an application that answers each
 * request (large bodies included, so flow control and drains run), resets
 * some, and leaves some open.
 */
#include <stdint.h>
#include <string.h>

#include "http/h2.h"

static struct fa_h2 *cur;

static void on_request(void *ctx, struct fa_h2_stream *st, const struct fa_h2_request *r)
{
	static const char big[70000];
	struct fa_h1_header h = { "content-type", "text/plain", 12, 10 };

	fa_h2_stream_set_user(st, (void *)1);
	switch (r->path_len % 4) {
	case 0:
		fa_h2_respond(cur, st, r->error ? r->error : 200, &h, 1, true);
		fa_h2_write(cur, st, r->body, r->body_len);
		fa_h2_end(cur, st);
		break;
	case 1:
		fa_h2_respond(cur, st, 200, &h, 1, true);
		fa_h2_write(cur, st, big, sizeof(big));
		fa_h2_write(cur, st, big, sizeof(big));
		fa_h2_end(cur, st);
		break;
	case 2:
		fa_h2_reset(cur, st);
		break;
	default:
		break;          /* answered never: the session ends with it open */
	}
}

static void on_drain(void *ctx, struct fa_h2_stream *st, void *user)
{
	fa_h2_write(cur, st, "more", 4);
}

static void on_close(void *ctx, struct fa_h2_stream *st, void *user)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fa_h2_ops ops = { on_request, on_drain, on_close };
	struct fa_h2_limits lim;
	struct fa_error err;
	struct fa_buf out;
	size_t half = size / 2;

	fa_h2_limits_init(&lim);
	lim.max_body = 4096;
	lim.max_header_list = 2048;
	if (!(cur = fa_h2_new(&lim, &ops, NULL, &err)))
		return 0;
	fa_buf_init(&out, 0);
	if (!fa_h2_recv(cur, FA_H2_PREFACE, FA_H2_PREFACE_LEN, &err) &&
	    !fa_h2_recv(cur, data, half, &err)) {
		fa_h2_send(cur, &out, 1 << 20, &err);
		fa_buf_reset(&out);
		if (!fa_h2_recv(cur, data + half, size - half, &err))
			fa_h2_send(cur, &out, 1 << 20, &err);
	}
	fa_buf_release(&out);
	fa_h2_free(cur);
	return 0;
}
