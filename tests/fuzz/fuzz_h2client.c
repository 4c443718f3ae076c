/*
 * libFuzzer target for lib/http/h2client: arbitrary bytes as a server
 * would send them, to a client session with a few requests in flight
 * (one with a body), fed in two parts with the client's output taken in
 * between.  The ops keep what a caller would (heads, some body bytes),
 * stop the session on one stream, and submit a new request from a close.
 */
#include <stdint.h>
#include <string.h>

#include "http/h2client.h"

static struct fa_h2client *cur;
static size_t kept;

static const struct fa_h2client_req get = { .method = "GET", .scheme = "http",
					    .authority = "h", .path = "/", .user_agent = "f" };

static int on_head(void *ctx, void *stream, int status, const struct fa_h1_header *h, int n)
{
	for (int i = 0; i < n; i++)
		kept += h[i].name_len + h[i].value_len;
	return (uintptr_t)stream == 3 && status == 299;
}

static int on_data(void *ctx, void *stream, const char *p, size_t n)
{
	kept += n ? (unsigned char)p[n - 1] : 0;
	return 0;
}

static int on_close(void *ctx, void *stream, uint32_t code)
{
	struct fa_error err;

	if ((uintptr_t)stream == 1)
		fa_h2client_submit(cur, &get, (void *)9, &err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fa_h2client_ops ops = { on_head, on_data, on_close };
	struct fa_h2client_req post = get;
	struct fa_error err;
	struct fa_buf out;
	size_t half = size / 2;

	if (!(cur = fa_h2client_new(NULL, &ops, NULL, &err)))
		return 0;
	post.method = "POST";
	post.body = "hello";
	post.body_len = 5;
	for (uintptr_t i = 1; i <= 4; i++)
		fa_h2client_submit(cur, i == 2 ? &post : &get, (void *)i, &err);
	fa_buf_init(&out, 0);
	fa_h2client_send(cur, &out, 1 << 20, &err);
	if (!fa_h2client_recv(cur, data, half, &err)) {
		fa_buf_reset(&out);
		fa_h2client_send(cur, &out, 1 << 20, &err);
		if (!fa_h2client_recv(cur, data + half, size - half, &err))
			fa_h2client_send(cur, &out, 1 << 20, &err);
	}
	fa_h2client_error(cur);
	fa_buf_release(&out);
	fa_h2client_free(cur);
	return 0;
}
