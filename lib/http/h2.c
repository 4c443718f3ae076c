#include "http/h2.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#define MAX_FIELDS 100
/* A header list this many times over the limit is an attack, not a mistake. */
#define BOMB_FACTOR 4

struct field {
	uint32_t name, name_len, value, value_len;     /* offsets into hbuf */
};

struct fa_h2_stream {
	struct fa_h2 *h2;
	int32_t id;
	void *user;
	struct fa_buf hbuf;             /* names and values, NUL-separated */
	struct field fields[MAX_FIELDS];
	int nfields;
	struct field method, path, authority, protocol;
	size_t list_size;               /* RFC 9113's header list size */
	struct fa_h1_header hdrs[MAX_FIELDS];
	struct fa_h2_request req;
	struct fa_buf body, out;
	int error;                      /* a status to answer instead (413, 431) */
	bool headers_done, complete, dispatched, eof, deferred, full, responded;
	bool tunnel;                    /* an extended CONNECT: DATA goes to ops.on_data */
	struct fa_h2_stream *next_drain;
	struct fa_h2_stream *prev, *next;       /* every stream of the session */
};

struct fa_h2 {
	nghttp2_session *s;
	struct fa_h2_limits lim;
	struct fa_h2_ops ops;
	void *ctx;
	int streams, incomplete;
	struct fa_h2_stream *drains;
	struct fa_h2_stream *all;
};

void fa_h2_limits_init(struct fa_h2_limits *lim)
{
	*lim = (struct fa_h2_limits){ .max_streams = 100, .window = 65535, .max_frame = 16384,
				      .max_header_list = 32768, .max_body = 1 << 20,
				      .stream_buffer = 64 * 1024 };
}

/* ---- streams ---- */

static struct fa_h2_stream *stream_new(struct fa_h2 *h2, int32_t id)
{
	struct fa_h2_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->h2 = h2;
	st->id = id;
	fa_buf_init(&st->hbuf, (size_t)h2->lim.max_header_list + 1024);
	fa_buf_init(&st->body, h2->lim.max_body);
	fa_buf_init(&st->out, 0);
	h2->streams++;
	h2->incomplete++;
	st->next = h2->all;
	if (h2->all)
		h2->all->prev = st;
	h2->all = st;
	return st;
}

static void stream_free(struct fa_h2_stream *st)
{
	struct fa_h2 *h2 = st->h2;

	for (struct fa_h2_stream **p = &h2->drains; *p; p = &(*p)->next_drain)
		if (*p == st) {
			*p = st->next_drain;
			break;
		}
	if (st->prev)
		st->prev->next = st->next;
	else
		h2->all = st->next;
	if (st->next)
		st->next->prev = st->prev;
	h2->streams--;
	if (!st->complete)
		h2->incomplete--;
	fa_buf_release(&st->hbuf);
	fa_buf_release(&st->body);
	fa_buf_release(&st->out);
	free(st);
}

static bool store(struct fa_h2_stream *st, struct field *f, const uint8_t *name, size_t nlen,
		  const uint8_t *value, size_t vlen)
{
	size_t at = st->hbuf.len;

	if (fa_buf_append(&st->hbuf, name, nlen) || fa_buf_putc(&st->hbuf, '\0') ||
	    fa_buf_append(&st->hbuf, value, vlen) || fa_buf_putc(&st->hbuf, '\0'))
		return false;
	*f = (struct field){ (uint32_t)at, (uint32_t)nlen, (uint32_t)(at + nlen + 1),
			     (uint32_t)vlen };
	return true;
}

static const char *at(const struct fa_h2_stream *st, uint32_t off)
{
	return st->hbuf.data + off;
}

/* Points the request view into the stream's storage (which no longer grows). */
static void build_request(struct fa_h2_stream *st)
{
	struct fa_h2_request *r = &st->req;
	const char *path = at(st, st->path.value), *q;

	for (int i = 0; i < st->nfields; i++)
		st->hdrs[i] = (struct fa_h1_header){ at(st, st->fields[i].name),
						     at(st, st->fields[i].value),
						     st->fields[i].name_len,
						     st->fields[i].value_len };
	r->method = at(st, st->method.value);
	r->method_len = st->method.value_len;
	r->path = path;
	r->path_len = st->path.value_len;
	if ((q = memchr(path, '?', r->path_len))) {
		r->query = q + 1;
		r->query_len = r->path_len - (size_t)(q + 1 - path);
		r->path_len = (size_t)(q - path);
	}
	r->authority = st->authority.value_len ? at(st, st->authority.value) : NULL;
	r->authority_len = st->authority.value_len;
	r->headers = st->hdrs;
	r->nheaders = st->nfields;
	r->body = st->body.data ? st->body.data : "";
	r->body_len = st->body.len;
	r->error = st->error;
	r->protocol = st->protocol.value_len ? at(st, st->protocol.value) : NULL;
	r->protocol_len = st->protocol.value_len;
}

/* RFC 9113 section 8.3.1: an origin-form :path (or "*" for OPTIONS) of visible ASCII. */
static bool path_ok(const struct fa_h2_stream *st)
{
	const unsigned char *p = (const unsigned char *)at(st, st->path.value);
	size_t n = st->path.value_len;

	if (!st->method.value_len || !n)
		return false;
	if (n == 1 && p[0] == '*')
		return st->method.value_len == 7 && !memcmp(at(st, st->method.value), "OPTIONS", 7);
	if (p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '#')
			return false;
	return true;
}

static void dispatch(struct fa_h2_stream *st)
{
	struct fa_h2 *h2 = st->h2;

	if (st->dispatched)
		return;
	st->dispatched = true;
	if (!st->complete) {
		st->complete = true;
		h2->incomplete--;
	}
	if (!st->error && !path_ok(st))
		st->error = 400;
	build_request(st);
	h2->ops.on_request(h2->ctx, st, &st->req);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct fa_h2 *h2 = ud;
	struct fa_h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(st = stream_new(h2, f->hd.stream_id)))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct fa_h2 *h2 = ud;
	struct fa_h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	struct field *slot = NULL;

	if (!st)
		return 0;
	st->list_size += nlen + vlen + 32;
	if (st->list_size > (size_t)h2->lim.max_header_list * BOMB_FACTOR) {
		nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (st->headers_done || st->error)
		return 0;               /* trailers, or a request refused already */
	if (st->list_size > h2->lim.max_header_list) {
		st->error = 431;
		return 0;
	}
	if (nlen && name[0] == ':') {
		if (nlen == 7 && !memcmp(name, ":method", 7))
			slot = &st->method;
		else if (nlen == 5 && !memcmp(name, ":path", 5))
			slot = &st->path;
		else if (nlen == 10 && !memcmp(name, ":authority", 10))
			slot = &st->authority;
		else if (nlen == 9 && !memcmp(name, ":protocol", 9))
			slot = &st->protocol;
		else
			return 0;       /* :scheme; nghttp2 checked the set */
	} else if (st->nfields < MAX_FIELDS) {
		slot = &st->fields[st->nfields++];
	} else {
		st->error = 431;
		return 0;
	}
	if (!store(st, slot, name, nlen, value, vlen))
		st->error = 431;
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct fa_h2 *h2 = ud;
	struct fa_h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (st && st->tunnel) {
		if (st->user && h2->ops.on_data)
			h2->ops.on_data(h2->ctx, st, st->user, (const char *)data, len);
		return 0;
	}
	if (!st || st->dispatched)
		return 0;               /* answered early (413): the rest is dropped */
	if (fa_buf_append(&st->body, data, len)) {
		st->error = 413;
		dispatch(st);
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct fa_h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	if (!(st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id)))
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !st->headers_done && st->protocol.value_len &&
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		st->headers_done = st->tunnel = true;   /* nghttp2 checked it is a CONNECT */
		dispatch(st);
		return 0;
	}
	if (f->hd.type == NGHTTP2_HEADERS)
		st->headers_done = true;
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
		dispatch(st);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct fa_h2 *h2 = ud;
	struct fa_h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	if (st->user && h2->ops.on_close)
		h2->ops.on_close(h2->ctx, st, st->user);
	stream_free(st);
	return 0;
}

/* Hands queued body bytes to nghttp2 as the windows allow. */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct fa_h2 *h2 = ud;
	struct fa_h2_stream *st = src->ptr;
	size_t n = st->out.len < len ? st->out.len : len;

	if (!n && !st->eof) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n) {
		memcpy(buf, st->out.data, n);
		fa_buf_consume(&st->out, n);
	}
	if (!st->out.len && st->eof)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (st->full && st->out.len < h2->lim.stream_buffer / 4) {
		st->full = false;
		st->next_drain = h2->drains;
		h2->drains = st;
	}
	return (ssize_t)n;
}

/* ---- the session ---- */

static nghttp2_option *make_options(const struct fa_h2_limits *lim)
{
	nghttp2_option *opt;

	if (nghttp2_option_new(&opt))
		return NULL;
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
	nghttp2_option_set_max_continuations(opt, 8);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
	return opt;
}

static nghttp2_session_callbacks *make_callbacks(void)
{
	nghttp2_session_callbacks *cb;

	if (nghttp2_session_callbacks_new(&cb))
		return NULL;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	return cb;
}

struct fa_h2 *fa_h2_new(const struct fa_h2_limits *lim, const struct fa_h2_ops *ops, void *ctx,
			struct fa_error *err)
{
	struct fa_h2 *h2 = calloc(1, sizeof(*h2));
	nghttp2_session_callbacks *cb = make_callbacks();
	nghttp2_option *opt = make_options(lim);
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lim->max_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, lim->window },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, lim->max_frame },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_header_list },
		{ NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 },        /* RFC 8441 */
	};
	int rc = -1;

	if (h2 && cb && opt) {
		h2->lim = *lim;
		h2->ops = *ops;
		h2->ctx = ctx;
		rc = nghttp2_session_server_new2(&h2->s, cb, h2, opt);
		if (!rc)
			rc = nghttp2_submit_settings(h2->s, NGHTTP2_FLAG_NONE, set, 5);
	}
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (rc) {
		fa_error_set(err, FA_ENOMEM, "cannot start an HTTP/2 session: %s",
			     nghttp2_strerror(rc));
		fa_h2_free(h2);
		return NULL;
	}
	return h2;
}

/* base64url (RFC 4648 section 5) without padding, as HTTP2-Settings uses it. */
static size_t unbase64url(const char *in, size_t n, uint8_t *out, size_t cap)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t len = 0;
	int bits = 0;

	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *p = memchr(abc, in[i], 64);

		if (!p || !in[i])
			return (size_t)-1;
		acc = acc << 6 | (uint32_t)(p - abc);
		if ((bits += 6) >= 8) {
			if (len == cap)
				return (size_t)-1;
			out[len++] = (uint8_t)(acc >> (bits -= 8));
		}
	}
	return len;
}

static bool copy_field(struct fa_h2_stream *st, struct field *f, const char *name,
		       const char *value, size_t vlen)
{
	return store(st, f, (const uint8_t *)name, strlen(name), (const uint8_t *)value, vlen);
}

/* Copies an HTTP/1.1 request into stream 1's storage, names lowered. */
static bool adopt_request(struct fa_h2_stream *st, const struct fa_h2_request *r)
{
	char target[8192 + 2];
	int n = snprintf(target, sizeof(target), "%.*s%s%.*s", (int)r->path_len, r->path,
			 r->query ? "?" : "", r->query ? (int)r->query_len : 0,
			 r->query ? r->query : "");

	if (n < 0 || (size_t)n >= sizeof(target) ||
	    !copy_field(st, &st->method, ":method", r->method, r->method_len) ||
	    !copy_field(st, &st->path, ":path", target, (size_t)n))
		return false;
	for (int i = 0; i < r->nheaders && st->nfields < MAX_FIELDS; i++) {
		struct field *f = &st->fields[st->nfields++];
		size_t off;

		if (!store(st, f, (const uint8_t *)r->headers[i].name, r->headers[i].name_len,
			   (const uint8_t *)r->headers[i].value, r->headers[i].value_len))
			return false;
		for (off = 0; off < f->name_len; off++)
			st->hbuf.data[f->name + off] =
				(char)tolower((unsigned char)st->hbuf.data[f->name + off]);
	}
	return true;
}

struct fa_h2_stream *fa_h2_upgrade(struct fa_h2 *h2, const char *settings, size_t len,
				   bool head, struct fa_error *err)
{
	uint8_t payload[256];
	size_t n = unbase64url(settings, len, payload, sizeof(payload));
	struct fa_h2_stream *st;
	int rc;

	if (n == (size_t)-1 || n % 6) {
		fa_error_set(err, FA_EINPUT, "malformed HTTP2-Settings header");
		return NULL;
	}
	if (!(st = stream_new(h2, 1))) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	if ((rc = nghttp2_session_upgrade2(h2->s, payload, n, head, st))) {
		stream_free(st);
		fa_error_set(err, FA_EINPUT, "HTTP/2 upgrade refused: %s", nghttp2_strerror(rc));
		return NULL;
	}
	return st;
}

/* For the server after fa_h2_upgrade(): the request that asked for it. */
void fa_h2_upgraded_request(struct fa_h2_stream *st, const struct fa_h2_request *r)
{
	if (!adopt_request(st, r))
		st->error = 431;
	st->headers_done = true;
	dispatch(st);
}

enum fa_err fa_h2_recv(struct fa_h2 *h2, const void *data, size_t n, struct fa_error *err)
{
	ssize_t rc = nghttp2_session_mem_recv(h2->s, data, n);

	if (rc < 0) {
		/*
		 * Errors nghttp2 calls fatal (floods of SETTINGS or PING acks,
		 * too many CONTINUATIONs) queue no GOAWAY: queue one, so the
		 * client learns why and the server knows the session is over.
		 */
		nghttp2_session_terminate_session(h2->s, rc == NGHTTP2_ERR_FLOODED ||
						  rc == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ?
						  NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
		return fa_error_set(err, FA_EINPUT, "HTTP/2: %s", nghttp2_strerror((int)rc));
	}
	return FA_OK;
}

static void run_drains(struct fa_h2 *h2)
{
	while (h2->drains) {
		struct fa_h2_stream *st = h2->drains;

		h2->drains = st->next_drain;
		if (st->user && h2->ops.on_drain)
			h2->ops.on_drain(h2->ctx, st, st->user);
	}
}

enum fa_err fa_h2_send(struct fa_h2 *h2, struct fa_buf *out, size_t limit, struct fa_error *err)
{
	for (int round = 0; round < 4; round++) {
		while (out->len < limit) {
			const uint8_t *p;
			ssize_t n = nghttp2_session_mem_send(h2->s, &p);

			if (n < 0)
				return fa_error_set(err, FA_EWORK, "HTTP/2: %s",
						    nghttp2_strerror((int)n));
			if (!n || fa_buf_append(out, p, (size_t)n))
				break;
		}
		if (!h2->drains)
			break;
		run_drains(h2);
	}
	return FA_OK;
}

bool fa_h2_want_read(const struct fa_h2 *h2)
{
	return nghttp2_session_want_read(h2->s);
}

bool fa_h2_want_write(const struct fa_h2 *h2)
{
	return nghttp2_session_want_write(h2->s);
}

int fa_h2_streams(const struct fa_h2 *h2)
{
	return h2->streams;
}

int fa_h2_incomplete(const struct fa_h2 *h2)
{
	return h2->incomplete;
}

void fa_h2_stream_set_user(struct fa_h2_stream *st, void *user)
{
	st->user = user;
}

static bool hop_by_hop(const struct fa_h1_header *h)
{
	static const char *const names[] = { "connection", "keep-alive", "proxy-connection",
					     "transfer-encoding", "upgrade", NULL };

	for (int i = 0; names[i]; i++)
		if (fa_h1_header_eq(h, names[i]))
			return true;
	return false;
}

enum fa_err fa_h2_respond(struct fa_h2 *h2, struct fa_h2_stream *st, int status,
			  const struct fa_h1_header *h, int n, bool body)
{
	nghttp2_nv nv[64];
	char code[8], names[4096];
	size_t used = 0;
	int k = 0;
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_body };

	snprintf(code, sizeof(code), "%03d", status % 1000);
	nv[k++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE };
	for (int i = 0; i < n && k < 64; i++) {
		if (hop_by_hop(&h[i]) || used + h[i].name_len > sizeof(names))
			continue;
		for (size_t j = 0; j < h[i].name_len; j++)
			names[used + j] = (char)tolower((unsigned char)h[i].name[j]);
		nv[k++] = (nghttp2_nv){ (uint8_t *)names + used, (uint8_t *)h[i].value,
					h[i].name_len, h[i].value_len, NGHTTP2_NV_FLAG_NONE };
		used += h[i].name_len;
	}
	st->responded = true;
	if (nghttp2_submit_response(h2->s, st->id, nv, (size_t)k, body ? &prd : NULL))
		return FA_EWORK;
	return FA_OK;
}

static void resume(struct fa_h2 *h2, struct fa_h2_stream *st)
{
	if (st->deferred) {
		st->deferred = false;
		nghttp2_session_resume_data(h2->s, st->id);
	}
}

void fa_h2_write(struct fa_h2 *h2, struct fa_h2_stream *st, const void *data, size_t n)
{
	if (!n || fa_buf_append(&st->out, data, n))
		return;
	if (st->out.len >= h2->lim.stream_buffer)
		st->full = true;
	resume(h2, st);
}

void fa_h2_end(struct fa_h2 *h2, struct fa_h2_stream *st)
{
	st->eof = true;
	resume(h2, st);
}

void fa_h2_reset(struct fa_h2 *h2, struct fa_h2_stream *st)
{
	nghttp2_submit_rst_stream(h2->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

size_t fa_h2_buffered(const struct fa_h2_stream *st)
{
	return st->out.len;
}

bool fa_h2_stream_full(const struct fa_h2_stream *st)
{
	return st->out.len >= st->h2->lim.stream_buffer;
}

void fa_h2_shutdown(struct fa_h2 *h2)
{
	nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(h2->s), NGHTTP2_NO_ERROR,
			      NULL, 0);
}

void fa_h2_terminate(struct fa_h2 *h2, uint32_t code)
{
	nghttp2_session_terminate_session(h2->s, code);
}

/* nghttp2_session_del() runs no close callbacks: the streams go here. */
void fa_h2_free(struct fa_h2 *h2)
{
	if (!h2)
		return;
	if (h2->s)
		nghttp2_session_del(h2->s);
	while (h2->all)
		stream_free(h2->all);
	free(h2);
}
