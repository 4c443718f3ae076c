/*
 * Unit tests for lib/http/ws: the handshake, the reader's rules and the
 * close code each violation earns, fragmentation fed in random pieces,
 * UTF-8 across fragments, permessage-deflate both ways and its limit.
 */
#include "http/ws.c"
#include "check.h"

static const unsigned char MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Feeds all of in[0..n) in pieces of 1..step bytes; the messages' ops and data
   go to log ("T:hello|P:|"), the result is the last feed's. */
static int feed_all(struct fa_ws *ws, const char *in, size_t n, size_t step, struct fa_buf *log,
		    struct fa_error *err)
{
	size_t off = 0;
	int rc = 0;

	while (off < n && rc >= 0) {
		size_t len = step ? 1 + rnd() % step : n - off, used;
		struct fa_ws_msg m;

		if (len > n - off)
			len = n - off;
		for (size_t p = 0; p < len && rc >= 0; p += used) {
			rc = fa_ws_feed(ws, in + off + p, len - p, &used, &m, err);
			if (rc > 0) {
				fa_buf_printf(log, "%c%d:", "?TB?????CPQ"[m.op], m.code);
				fa_buf_append(log, m.data, m.len);
				fa_buf_putc(log, '|');
			}
			if (rc == 0 && used != len - p)
				return -99;
		}
		off += len;
	}
	return rc;
}

/* One client frame (masked) into b. */
static void cframe(struct fa_buf *b, enum fa_ws_op op, bool fin, const char *s, size_t n)
{
	fa_ws_frame(b, op, fin, false, s, n, MASK);
}

static void test_accept(void)
{
	char acc[FA_WS_ACCEPT_LEN + 1];
	struct fa_error err;
	struct fa_h1_header h[4] = {
		{ "Upgrade", "websocket", 7, 9 }, { "Connection", "keep-alive, Upgrade", 10, 19 },
		{ "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", 17, 24 },
		{ "Sec-WebSocket-Version", "13", 21, 2 },
	};
	int status = 0;

	/* RFC 6455 section 1.3's example */
	CHECK(fa_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, acc, &err) == FA_OK);
	CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK(fa_ws_accept("dGhlIHNhbXBsZSBub25jZQ", 22, acc, &err) == FA_EINPUT);
	CHECK(fa_ws_accept("dGhlIHNhbXBsZSBub25j!!==", 24, acc, &err) == FA_EINPUT);
	CHECK(fa_ws_handshake("GET", 3, h, 4, acc, &status, &err) == 1);
	CHECK(fa_ws_handshake("POST", 4, h, 4, acc, &status, &err) == -1 && status == 400);
	CHECK(fa_ws_handshake("GET", 3, h, 1, acc, &status, &err) == 0, "no Connection: not one");
	h[3].value = "8";
	h[3].value_len = 1;
	CHECK(fa_ws_handshake("GET", 3, h, 4, acc, &status, &err) == -1 && status == 426);
	CHECK(fa_ws_handshake("GET", 3, h, 3, acc, &status, &err) == -1 && status == 426);
}

static void test_fragments(void)
{
	struct fa_buf in, log;
	struct fa_error err;
	struct fa_ws ws;
	static const char want[] = "P0:p1|T0:hello \xc3\xa9|B0:\xff\x00|C1000:bye|";

	fa_buf_init(&in, 0);
	fa_buf_init(&log, 0);
	cframe(&in, FA_WS_TEXT, false, "hel", 3);
	cframe(&in, FA_WS_PING, true, "p1", 2);         /* between fragments */
	cframe(&in, FA_WS_CONT, false, "", 0);
	cframe(&in, FA_WS_CONT, false, "lo \xc3", 4);      /* a character across frames */
	cframe(&in, FA_WS_CONT, true, "\xa9", 1);
	cframe(&in, FA_WS_BINARY, true, "\xff\x00", 2);
	cframe(&in, FA_WS_CLOSE, true, "\x03\xe8" "bye", 5);
	for (size_t step = 0; step <= 7; step += 7) {
		fa_ws_init(&ws, true, 64);
		fa_buf_reset(&log);
		CHECK(feed_all(&ws, in.data, in.len, step, &log, &err) == 1, "%s", err.msg);
		CHECK(log.len == sizeof(want) - 1 && !memcmp(log.data, want, sizeof(want) - 1),
		      "step %zu: %s", step, log.data);
		fa_ws_release(&ws);
	}
	fa_buf_release(&in);
	fa_buf_release(&log);
}

/* Bytes in[0..n) as a client sends them: the close code they earn. */
static int code_of(const char *in, size_t n, size_t max)
{
	struct fa_buf log;
	struct fa_error err;
	struct fa_ws ws;
	int rc, code;

	fa_buf_init(&log, 0);
	fa_ws_init(&ws, true, max);
	rc = feed_all(&ws, in, n, 3, &log, &err);
	code = rc < 0 ? ws.close_code : 0;
	fa_ws_release(&ws);
	fa_buf_release(&log);
	return code;
}

/* One client frame after another, and the close code the bytes earn. */
static const struct violation {
	const char *what;
	struct { int op; bool fin, rsv1; const char *p; size_t n; } f[2];
	size_t max;
	int code;
} violations[] = {
	{ "opcode 3", { { 3, true, false, "x", 1 } }, 0, 1002 },
	{ "opcode 11", { { 0xB, true, false, "x", 1 } }, 0, 1002 },
	{ "RSV1 without deflate", { { FA_WS_TEXT, true, true, "x", 1 } }, 0, 1002 },
	{ "ping of 126", { { FA_WS_PING, true, false, NULL, 126 } }, 0, 1002 },
	{ "fragmented ping", { { FA_WS_PING, false, false, "x", 1 } }, 0, 1002 },
	{ "continuation alone", { { FA_WS_CONT, true, false, "x", 1 } }, 0, 1002 },
	{ "text inside text", { { FA_WS_TEXT, false, false, "x", 1 },
				{ FA_WS_TEXT, true, false, "x", 1 } }, 0, 1002 },
	{ "overlong", { { FA_WS_TEXT, true, false, "a\xc0\xaf", 3 } }, 0, 1007 },
	{ "surrogate", { { FA_WS_TEXT, true, false, "\xed\xa0\x80", 3 } }, 0, 1007 },
	{ "cut character", { { FA_WS_TEXT, true, false, "\xe2\x82", 2 } }, 0, 1007 },
	{ "over max across fragments", { { FA_WS_TEXT, false, false, NULL, 100 },
					 { FA_WS_CONT, true, false, NULL, 100 } }, 150, 1009 },
	{ "at max", { { FA_WS_TEXT, false, false, NULL, 100 },
		      { FA_WS_CONT, true, false, NULL, 100 } }, 200, 0 },
	{ "close of one byte", { { FA_WS_CLOSE, true, false, "\x03", 1 } }, 0, 1002 },
	{ "close 1005 on the wire", { { FA_WS_CLOSE, true, false, "\x03\xed", 2 } }, 0, 1002 },
	{ "close reason not UTF-8", { { FA_WS_CLOSE, true, false, "\x0f\xa0\xff", 3 } }, 0, 1007 },
};

static void test_violations(void)
{
	char big[200];
	struct fa_buf b;

	memset(big, 'x', sizeof(big));
	fa_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++) {
		const struct violation *v = &violations[i];

		fa_buf_reset(&b);
		for (int k = 0; k < 2 && v->f[k].n; k++)
			fa_ws_frame(&b, v->f[k].op, v->f[k].fin, v->f[k].rsv1,
				    v->f[k].p ? v->f[k].p : big, v->f[k].n, MASK);
		CHECK(code_of(b.data, b.len, v->max) == v->code, "%s", v->what);
	}
	fa_buf_reset(&b);
	fa_ws_frame(&b, FA_WS_TEXT, true, false, "hi", 2, NULL);
	CHECK(code_of(b.data, b.len, 0) == 1002, "unmasked");
	fa_buf_reset(&b);
	fa_buf_append(&b, "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00" "abcd", 14);
	CHECK(code_of(b.data, b.len, 0) == 1002, "length with its top bit");
	fa_buf_release(&b);
}

static void test_utf8(void)
{
	CHECK(fa_ws_utf8("\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9", 11));
	CHECK(!fa_ws_utf8("\xf4\x90\x80\x80", 4), "past U+10FFFF");
	CHECK(!fa_ws_utf8("\xf0\x8f\xbf\xbf", 4), "overlong 4");
	CHECK(!fa_ws_utf8("\xff", 1));
	CHECK(fa_ws_utf8("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
}

/* A message compressed by a client's deflater, one frame. */
static void compress_frame(struct fa_buf *b, const char *s, size_t n)
{
	z_stream z = { 0 };
	unsigned char out[4096];

	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)s;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = sizeof(out);
	deflate(&z, Z_SYNC_FLUSH);
	fa_ws_frame(b, FA_WS_TEXT, true, true, out, sizeof(out) - z.avail_out - 4, MASK);
	deflateEnd(&z);
}

static void test_deflate(void)
{
	struct fa_ws_deflate d;
	char resp[200], text[3000];
	struct fa_buf b, log, out;
	struct fa_error err;
	struct fa_ws ws, cl;
	const char *o1 = "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, "
			 "permessage-deflate; client_max_window_bits; server_no_context_takeover";

	CHECK(fa_ws_deflate_offer(o1, strlen(o1), &d, resp, sizeof(resp)) && d.on);
	CHECK_STR(resp, "permessage-deflate; server_no_context_takeover");
	CHECK(!fa_ws_deflate_offer("permessage-deflate; foo", 23, &d, resp, sizeof(resp)));
	CHECK(!fa_ws_deflate_offer("permessage-deflate; server_no_context_takeover; "
				   "server_no_context_takeover", 75, &d, resp, sizeof(resp)));
	CHECK(fa_ws_deflate_offer("permessage-deflate;server_max_window_bits=\"10\"", 46, &d,
				  resp, sizeof(resp)) && d.server_bits == 10);
	CHECK_STR(resp, "permessage-deflate; server_max_window_bits=10");
	/* blanks around '=' (RFC 7230's BWS): the value is still 11 */
	CHECK(fa_ws_deflate_offer("permessage-deflate; server_max_window_bits  =  11", 49, &d,
				  resp, sizeof(resp)) && d.server_bits == 11);

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "abcab "[i % 6];
	fa_buf_init(&b, 0);
	fa_buf_init(&log, 0);
	fa_buf_init(&out, 0);
	compress_frame(&b, text, sizeof(text));
	compress_frame(&b, text, 10);
	d = (struct fa_ws_deflate){ .on = true, .server_bits = 15 };
	fa_ws_init(&ws, true, sizeof(text));
	CHECK(fa_ws_use_deflate(&ws, &d, &err) == FA_OK);
	CHECK(feed_all(&ws, b.data, b.len, 5, &log, &err) == 1, "%s", err.msg);
	CHECK(log.len == sizeof(text) + 4 + 10 + 4, "got %zu", log.len);
	fa_ws_release(&ws);
	fa_ws_init(&ws, true, sizeof(text) - 1);        /* a bomb: small on the wire */
	fa_ws_use_deflate(&ws, &d, &err);
	CHECK(feed_all(&ws, b.data, b.len, 0, &log, &err) < 0 && ws.close_code == 1009);
	fa_ws_release(&ws);

	/* the server's writer, read back by a reader that accepts unmasked frames */
	fa_ws_init(&ws, true, 0);
	fa_ws_use_deflate(&ws, &d, &err);
	fa_ws_init(&cl, false, 0);
	fa_ws_use_deflate(&cl, &d, &err);
	CHECK(fa_ws_message(&ws, &out, FA_WS_TEXT, text, sizeof(text)) == FA_OK);
	CHECK(fa_ws_message(&ws, &out, FA_WS_TEXT, text, sizeof(text)) == FA_OK);
	CHECK(out.len < 200 && (out.data[0] & 0x40), "%zu bytes", out.len);
	fa_buf_reset(&log);
	CHECK(feed_all(&cl, out.data, out.len, 0, &log, &err) == 1, "%s", err.msg);
	CHECK(log.len == 2 * (sizeof(text) + 4), "got %zu", log.len);
	fa_ws_release(&cl);
	fa_ws_release(&ws);
	fa_buf_release(&b);
	fa_buf_release(&out);
	fa_buf_release(&log);
}

static void test_close_writer(void)
{
	char reason[200];
	struct fa_buf b;

	memset(reason, 'a', sizeof(reason));
	memcpy(reason + 122, "\xc3\xa9", 2);    /* é across the cut at 123 */
	reason[199] = '\0';
	fa_buf_init(&b, 0);
	fa_ws_close(&b, 1009, reason);
	CHECK(b.len == 2 + 2 + 122 && fa_ws_utf8(b.data + 4, 122), "len %zu", b.len);
	fa_buf_release(&b);
}

int main(int argc, char **argv)
{
	rnd_seed("test_ws", argc, argv);
	RUN(test_accept);
	RUN(test_fragments);
	RUN(test_violations);
	RUN(test_utf8);
	RUN(test_deflate);
	RUN(test_close_writer);
	return check_report("test_ws");
}
