/*
 * Unit tests for lib/http/h2client: the client session against a server
 * session of nghttp2's own, in memory, bytes passed back and forth until
 * neither side has more.  The server is raw nghttp2 so that a test can
 * make it do what a well-behaved fa_h2 never would: GOAWAY naming a
 * lower stream, RST_STREAM, a response head over our limits.
 *
 * Usage: test_h2client [seed]
 */
#include "http/h2client.c"

#include "check.h"

/* ---- the server ---- */

#define MAX_REQ 256

struct sreq {
	int32_t id;
	char method[16], path[256], ua[64], ctype[64], clen[16], upper[8];
	size_t body;
	int nfields;
};

struct server {
	nghttp2_session *s;
	struct sreq req[MAX_REQ];
	int nreq;
	bool answer;                    /* answer each request as it ends */
	size_t body_size;               /* of each answer */
	char *body;
};

static struct server srv;

static struct sreq *sreq_of(int32_t id)
{
	for (int i = 0; i < srv.nreq; i++)
		if (srv.req[i].id == id)
			return &srv.req[i];
	return NULL;
}

static int s_begin(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	if (f->hd.type == NGHTTP2_HEADERS && srv.nreq < MAX_REQ)
		srv.req[srv.nreq++] = (struct sreq){ .id = f->hd.stream_id };
	return 0;
}

static void copy(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	snprintf(dst, cap, "%.*s", (int)n, (const char *)v);
}

static int s_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		    const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct sreq *r = sreq_of(f->hd.stream_id);

	if (!r)
		return 0;
	r->nfields++;
	if (nlen == 7 && !memcmp(name, ":method", 7))
		copy(r->method, sizeof(r->method), value, vlen);
	else if (nlen == 5 && !memcmp(name, ":path", 5))
		copy(r->path, sizeof(r->path), value, vlen);
	else if (nlen == 10 && !memcmp(name, "user-agent", 10))
		copy(r->ua, sizeof(r->ua), value, vlen);
	else if (nlen == 12 && !memcmp(name, "content-type", 12))
		copy(r->ctype, sizeof(r->ctype), value, vlen);
	else if (nlen == 14 && !memcmp(name, "content-length", 14))
		copy(r->clen, sizeof(r->clen), value, vlen);
	for (size_t i = 0; i < nlen; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			copy(r->upper, sizeof(r->upper), name, nlen);
	return 0;
}

static int s_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
		  size_t len, void *ud)
{
	struct sreq *r = sreq_of(id);

	if (r)
		r->body += len;
	return 0;
}

static ssize_t s_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
		      uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	size_t *left = src->ptr, n = *left < len ? *left : len;

	memset(buf, 'x', n);
	*left -= n;
	if (!*left) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		free(left);
	}
	return (ssize_t)n;
}

/* Answers stream id: 200, "x-test: yes", and n bytes of 'x'. */
static void s_respond(int32_t id, size_t n)
{
	static char len[24];
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, 0 },
		{ (uint8_t *)"x-test", (uint8_t *)"yes", 6, 3, 0 },
		{ (uint8_t *)"content-length", (uint8_t *)len, 14, 0, 0 },
	};
	size_t *left = malloc(sizeof(*left));
	nghttp2_data_provider prd = { .source.ptr = left, .read_callback = s_read };

	*left = n;
	snprintf(len, sizeof(len), "%zu", n);
	nv[2].valuelen = strlen(len);
	if (!n)
		free(left);
	nghttp2_submit_response(srv.s, id, nv, 3, n ? &prd : NULL);
}

static int s_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && srv.answer)
		s_respond(f->hd.stream_id, srv.body_size);
	return 0;
}

static void server_start(uint32_t max_streams)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry set[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams } };

	memset(&srv, 0, sizeof(srv));
	srv.answer = true;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, s_begin);
	nghttp2_session_callbacks_set_on_header_callback(cb, s_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, s_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, s_frame);
	nghttp2_session_server_new(&srv.s, cb, NULL);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(srv.s, NGHTTP2_FLAG_NONE, set, 1);
}

static void server_stop(void)
{
	nghttp2_session_del(srv.s);
}

/* ---- the client's side ---- */

#define MAX_STREAMS 256

struct cstream {
	int status, nheaders, heads, closes;
	uint32_t code;
	size_t data;
	char xtest[8];
};

static struct cstream cs[MAX_STREAMS];
static int stop_after_heads = -1;      /* an op returns nonzero then */
static int heads_seen;

static int c_head(void *ctx, void *stream, int status, const struct fa_h1_header *h, int n)
{
	struct cstream *s = stream;
	const struct fa_h1_header *x = fa_h1_find(h, n, "x-test");

	s->heads++;
	s->status = status;
	s->nheaders = n;
	if (x)
		snprintf(s->xtest, sizeof(s->xtest), "%.*s", (int)x->value_len, x->value);
	return ++heads_seen == stop_after_heads;
}

static int c_data(void *ctx, void *stream, const char *p, size_t n)
{
	((struct cstream *)stream)->data += n;
	return 0;
}

static int c_close(void *ctx, void *stream, uint32_t code)
{
	struct cstream *s = stream;

	s->closes++;
	s->code = code;
	return 0;
}

static const struct fa_h2client_ops cops = { c_head, c_data, c_close };

/* Passes bytes both ways until neither side has any; returns false if the
   client's input failed (err says why). */
static bool pump(struct fa_h2client *h2, struct fa_error *err)
{
	struct fa_buf out;
	bool more = true, ok = true;

	fa_buf_init(&out, 0);
	while (more && ok) {
		const uint8_t *p;
		ssize_t n;

		more = false;
		fa_buf_reset(&out);
		CHECK(fa_h2client_send(h2, &out, 1 << 20, err) == FA_OK, "%s", err->msg);
		if (out.len) {
			more = true;
			CHECK(nghttp2_session_mem_recv(srv.s, (uint8_t *)out.data, out.len) ==
			      (ssize_t)out.len);
		}
		while ((n = nghttp2_session_mem_send(srv.s, &p)) > 0) {
			more = true;
			if (fa_h2client_recv(h2, p, (size_t)n, err) != FA_OK) {
				ok = false;
				break;
			}
		}
	}
	fa_buf_release(&out);
	return ok;
}

static struct fa_h2client *client(void)
{
	struct fa_error err;
	struct fa_h2client *h2 = fa_h2client_new(NULL, &cops, NULL, &err);

	CHECK(h2 != NULL, "%s", err.msg);
	memset(cs, 0, sizeof(cs));
	heads_seen = 0;
	stop_after_heads = -1;
	return h2;
}

static int32_t get(struct fa_h2client *h2, int i, const char *path)
{
	struct fa_h2client_req r = { .method = "GET", .scheme = "http", .authority = "h:1",
				     .path = path, .user_agent = "fa/test" };
	struct fa_error err;
	int32_t id = fa_h2client_submit(h2, &r, &cs[i], &err);

	CHECK(id > 0, "%s", err.msg);
	return id;
}

/* ---- tests ---- */

static void test_get(void)
{
	struct fa_h1_header h[] = { { "Content-Type", "text/plain", 12, 10 },
				    { "Connection", "close", 10, 5 },
				    { "X-Up", "1", 4, 1 } };
	struct fa_h2client_req r = { .method = "POST", .scheme = "https", .authority = "h:1",
				     .path = "/p?q=1", .headers = h, .nheaders = 3,
				     .user_agent = "fa/test", .body = "hello", .body_len = 5 };
	struct fa_h2client *h2 = client();
	struct fa_error err;

	server_start(100);
	srv.body_size = 10;
	CHECK(fa_h2client_max_streams(h2) == 100);
	CHECK(get(h2, 0, "/a") == 1);
	CHECK(fa_h2client_submit(h2, &r, &cs[1], &err) == 3, "%s", err.msg);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(srv.nreq == 2);
	CHECK_STR(srv.req[0].method, "GET");
	CHECK_STR(srv.req[0].path, "/a");
	CHECK_STR(srv.req[0].ua, "fa/test");
	CHECK_STR(srv.req[0].clen, "");
	CHECK_STR(srv.req[1].method, "POST");
	CHECK_STR(srv.req[1].path, "/p?q=1");
	CHECK_STR(srv.req[1].ctype, "text/plain");
	CHECK_STR(srv.req[1].clen, "5");
	CHECK_STR(srv.req[1].upper, "");         /* names went lowered */
	CHECK(srv.req[1].body == 5);
	CHECK(srv.req[1].nfields == 8, "%d fields (Connection is dropped)",
	      srv.req[1].nfields);
	for (int i = 0; i < 2; i++) {
		CHECK(cs[i].heads == 1 && cs[i].status == 200 && cs[i].nheaders == 2);
		CHECK_STR(cs[i].xtest, "yes");
		CHECK(cs[i].data == 10);
		CHECK(cs[i].closes == 1 && cs[i].code == 0);
	}
	fa_h2client_free(h2);
	server_stop();
}

/* Many streams, big bodies: flow control keeps them going. */
static void test_many(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	int n = (int)rnd_in(50, MAX_STREAMS), i, whole = 0;

	server_start(MAX_STREAMS);
	srv.body_size = rnd_in(0, 200000);
	for (i = 0; i < n; i++)
		get(h2, i, "/many");
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(fa_h2client_max_streams(h2) == MAX_STREAMS);
	for (i = 0; i < n; i++)
		whole += cs[i].closes == 1 && cs[i].code == 0 && cs[i].data == srv.body_size;
	CHECK(whole == n, "%d of %d streams whole, bodies of %zu", whole, n, srv.body_size);
	fa_h2client_free(h2);
	server_stop();
}

/* After GOAWAY the session takes no new stream. */
static bool get_after_goaway(struct fa_h2client *h2)
{
	struct fa_h2client_req r = { .method = "GET", .scheme = "http", .authority = "h:1",
				     .path = "/late" };
	struct fa_error err;
	int32_t id = fa_h2client_submit(h2, &r, &cs[MAX_STREAMS - 1], &err);

	CHECK(id == 0 && err.code == FA_EWORK);
	CHECK_STR(err.msg, "the server is closing the connection (GOAWAY)");
	return id != 0;
}

/* GOAWAY naming stream 3: 5 and 7 are refused, 1 and 3 finish. */
static void test_goaway(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	int32_t last;
	uint32_t code;

	server_start(100);
	srv.answer = false;
	for (int i = 0; i < 4; i++)
		get(h2, i, "/g");
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(srv.nreq == 4);
	nghttp2_submit_goaway(srv.s, NGHTTP2_FLAG_NONE, 3, NGHTTP2_NO_ERROR, NULL, 0);
	s_respond(1, 3);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(fa_h2client_goaway(h2, &last, &code) && last == 3 && code == 0);
	CHECK(cs[0].closes == 1 && cs[0].code == 0 && cs[0].data == 3);
	CHECK(cs[1].closes == 0, "stream 3 is the server's still");
	CHECK(cs[2].closes == 1 && cs[2].code == FA_H2_REFUSED_STREAM);
	CHECK(cs[3].closes == 1 && cs[3].code == FA_H2_REFUSED_STREAM);
	CHECK(!get_after_goaway(h2));
	s_respond(3, 0);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(cs[1].closes == 1 && cs[1].code == 0 && cs[1].status == 200);
	fa_h2client_free(h2);
	server_stop();
}

/* A request still unsent when GOAWAY comes is refused, never sent. */
static void test_goaway_unsent(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	const uint8_t *p;
	ssize_t n;

	server_start(100);
	get(h2, 0, "/a");
	CHECK(pump(h2, &err), "%s", err.msg);
	get(h2, 1, "/b");               /* queued in the session only */
	nghttp2_submit_goaway(srv.s, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
	while ((n = nghttp2_session_mem_send(srv.s, &p)) > 0)
		CHECK(fa_h2client_recv(h2, p, (size_t)n, &err) == FA_OK, "%s", err.msg);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(srv.nreq == 1, "the server saw %d requests", srv.nreq);
	CHECK(cs[0].closes == 1 && cs[0].code == 0);
	CHECK(cs[1].closes == 1 && cs[1].code == FA_H2_REFUSED_STREAM);
	fa_h2client_free(h2);
	server_stop();
}

/* RST_STREAM after the head: the stream ends with the server's code. */
static void test_reset(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)"200", 7, 3, 0 } };

	server_start(100);
	srv.answer = false;
	get(h2, 0, "/r");
	get(h2, 1, "/r");
	CHECK(pump(h2, &err), "%s", err.msg);
	nghttp2_submit_headers(srv.s, NGHTTP2_FLAG_NONE, 1, NULL, nv, 1, NULL);
	CHECK(pump(h2, &err), "%s", err.msg);
	nghttp2_submit_rst_stream(srv.s, NGHTTP2_FLAG_NONE, 1, NGHTTP2_INTERNAL_ERROR);
	nghttp2_submit_rst_stream(srv.s, NGHTTP2_FLAG_NONE, 3, NGHTTP2_REFUSED_STREAM);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(cs[0].heads == 1 && cs[0].closes == 1 && cs[0].code == NGHTTP2_INTERNAL_ERROR, "heads %d closes %d code %u", cs[0].heads, cs[0].closes, cs[0].code);
	CHECK(cs[1].heads == 0 && cs[1].closes == 1 && cs[1].code == FA_H2_REFUSED_STREAM);
	CHECK_STR(fa_h2client_code_name(cs[0].code), "INTERNAL_ERROR");
	CHECK_STR(fa_h2client_code_name(99), "unknown error code");
	CHECK_STR(fa_h2client_code_name(FA_H2CLIENT_HEAD_TOO_BIG),
		  "the response head is over the client's limits");
	fa_h2client_free(h2);
	server_stop();
}

/* 1xx heads are skipped; the final one is reported once. */
static void test_informational(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)"103", 7, 3, 0 },
			    { (uint8_t *)"link", (uint8_t *)"</s.css>", 4, 8, 0 } };

	server_start(100);
	srv.answer = false;
	get(h2, 0, "/i");
	CHECK(pump(h2, &err), "%s", err.msg);
	nghttp2_submit_headers(srv.s, NGHTTP2_FLAG_NONE, 1, NULL, nv, 2, NULL);
	s_respond(1, 4);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(cs[0].heads == 1 && cs[0].status == 200 && cs[0].data == 4 && cs[0].code == 0);
	fa_h2client_free(h2);
	server_stop();
}

/* A head of more fields than we keep: the stream is reset, no head. */
static void test_big_head(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	nghttp2_nv nv[MAX_FIELDS + 2];
	char names[MAX_FIELDS + 1][16];

	server_start(100);
	srv.answer = false;
	get(h2, 0, "/big");
	CHECK(pump(h2, &err), "%s", err.msg);
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)"200", 7, 3, 0 };
	for (int i = 0; i <= MAX_FIELDS; i++) {
		snprintf(names[i], sizeof(names[i]), "x-%d", i);
		nv[i + 1] = (nghttp2_nv){ (uint8_t *)names[i], (uint8_t *)"v",
					  strlen(names[i]), 1, 0 };
	}
	nghttp2_submit_response(srv.s, 1, nv, MAX_FIELDS + 2, NULL);
	CHECK(pump(h2, &err), "%s", err.msg);
	CHECK(cs[0].heads == 0 && cs[0].closes == 1 && cs[0].code == FA_H2CLIENT_HEAD_TOO_BIG,
	      "heads %d closes %d code %u", cs[0].heads, cs[0].closes, cs[0].code);
	fa_h2client_free(h2);
	server_stop();
}

/* An op that returns nonzero stops the input at once. */
static void test_stop(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;

	server_start(100);
	for (int i = 0; i < 3; i++)
		get(h2, i, "/s");
	stop_after_heads = 1;
	CHECK(!pump(h2, &err));
	CHECK(err.code == FA_EINTR);
	CHECK(heads_seen == 1, "%d heads", heads_seen);
	fa_h2client_free(h2);
	server_stop();
}

/* Bytes that are no HTTP/2: FA_EINPUT, and GOAWAY is queued. */
static void test_garbage(void)
{
	struct fa_h2client *h2 = client();
	struct fa_error err;
	struct fa_buf out;

	fa_buf_init(&out, 0);
	CHECK(fa_h2client_error(h2) == NULL);
	fa_h2client_recv(h2, "HTTP/1.1 200 OK\r\n\r\n", 19, &err);
	CHECK(fa_h2client_send(h2, &out, 1 << 16, &err) == FA_OK);
	CHECK(out.len > 0 && fa_h2client_goaway(h2, NULL, NULL));
	CHECK(fa_h2client_error(h2) && strstr(fa_h2client_error(h2), "SETTINGS"), "%s",
	      fa_h2client_error(h2) ? fa_h2client_error(h2) : "(none)");
	fa_buf_release(&out);
	fa_h2client_free(h2);
}

int main(int argc, char **argv)
{
	rnd_seed("test_h2client", argc, argv);
	RUN(test_get);
	RUN(test_many);
	RUN(test_goaway);
	RUN(test_goaway_unsent);
	RUN(test_reset);
	RUN(test_informational);
	RUN(test_big_head);
	RUN(test_stop);
	RUN(test_garbage);
	return check_report("test_h2client");
}
