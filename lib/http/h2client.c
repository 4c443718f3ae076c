#include "http/h2client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#define MAX_FIELDS FA_H1_MAX_HEADERS
/* Request fields beyond the caller's: the four pseudo-fields,
   user-agent, content-length. */

/*
 * One record per stream, from a free list, so that a request costs no
 * malloc once the session has warmed up.  It carries what nghttp2 keeps
 * no room for: the caller's pointer before the stream opens, the body
 * still to send, whether the final head came.
 */
struct stream {
	void *user;
	int32_t id;
	const char *body;
	size_t left;
	bool headed;
	bool too_big;                   /* its head was over our limits */
	struct stream *next;            /* the free list, or the unsent list */
	struct stream *next_alloc;      /* every record, for fa_h2client_free() */
};

struct field {
	uint32_t name, name_len, value, value_len;      /* offsets into hbuf */
};

struct fa_h2client {
	nghttp2_session *s;
	struct fa_h2client_ops ops;
	void *ctx;
	bool stop;                      /* an op asked to stop */
	bool got_settings, goaway;
	int32_t goaway_last;
	uint32_t goaway_code;
	struct stream *free;
	struct stream *unsent;          /* submitted, HEADERS not yet out */
	struct stream *pool;            /* every record allocated */

	/* the head being received (header blocks never interleave) */
	struct fa_buf hbuf;
	struct field fields[MAX_FIELDS];
	struct fa_h1_header hdr[MAX_FIELDS];
	int nfields, status;
	bool head_bad;                  /* too many fields, or too big */
	struct fa_buf names;            /* lowered request field names */
	char why[200];                  /* nghttp2's word on a connection error */
	bool failed;                    /* we sent GOAWAY with an error */
};

static struct stream *stream_get(struct fa_h2client *h2)
{
	struct stream *st = h2->free, *keep;

	if (st) {
		h2->free = st->next;
	} else {
		if (!(st = malloc(sizeof(*st))))
			return NULL;
		st->next_alloc = h2->pool;
		h2->pool = st;
	}
	keep = st->next_alloc;
	memset(st, 0, sizeof(*st));
	st->next_alloc = keep;
	return st;
}

static void stream_put(struct fa_h2client *h2, struct stream *st)
{
	st->next = h2->free;
	h2->free = st;
}

/* Takes st off the unsent list, if it is there. */
static void unsent_remove(struct fa_h2client *h2, struct stream *st)
{
	for (struct stream **p = &h2->unsent; *p; p = &(*p)->next)
		if (*p == st) {
			*p = st->next;
			st->next = NULL;
			return;
		}
}

/* An op's answer: nonzero stops the session's input. */
static int op_result(struct fa_h2client *h2, int rc)
{
	if (rc)
		h2->stop = true;
	return rc ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct fa_h2client *h2 = ud;

	fa_buf_reset(&h2->hbuf);
	h2->nfields = 0;
	h2->status = 0;
	h2->head_bad = false;
	return 0;
}

static int parse_status(const uint8_t *v, size_t n)
{
	if (n != 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
	    v[2] > '9')
		return -1;
	return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct fa_h2client *h2 = ud;
	struct field *fd;
	size_t at = h2->hbuf.len;

	if (nlen == 7 && !memcmp(name, ":status", 7)) {
		h2->status = parse_status(value, vlen);
		return 0;
	}
	if (nlen && name[0] == ':')
		return 0;               /* nghttp2 checked the set */
	if (h2->nfields == MAX_FIELDS) {
		h2->head_bad = true;
		return 0;
	}
	if (fa_buf_append(&h2->hbuf, name, nlen) || fa_buf_putc(&h2->hbuf, '\0') ||
	    fa_buf_append(&h2->hbuf, value, vlen) || fa_buf_putc(&h2->hbuf, '\0')) {
		h2->head_bad = true;
		return 0;
	}
	fd = &h2->fields[h2->nfields++];
	*fd = (struct field){ (uint32_t)at, (uint32_t)nlen, (uint32_t)(at + nlen + 1),
			      (uint32_t)vlen };
	return 0;
}

/* A whole header block: the final head goes to the caller. */
static int headers_done(struct fa_h2client *h2, const nghttp2_frame *f)
{
	struct stream *st = nghttp2_session_get_stream_user_data(h2->s, f->hd.stream_id);
	int i;

	if (!st || st->headed || h2->status < 200)
		return 0;               /* 1xx, trailers, or a stream we dropped */
	if (h2->head_bad) {
		/* over our limits: the stream is of no use */
		st->too_big = true;
		nghttp2_submit_rst_stream(h2->s, NGHTTP2_FLAG_NONE, f->hd.stream_id,
					  NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	st->headed = true;
	for (i = 0; i < h2->nfields; i++)
		h2->hdr[i] = (struct fa_h1_header){ h2->hbuf.data + h2->fields[i].name,
						    h2->hbuf.data + h2->fields[i].value,
						    h2->fields[i].name_len,
						    h2->fields[i].value_len };
	return op_result(h2, h2->ops.on_head(h2->ctx, st->user, h2->status, h2->hdr,
					     h2->nfields));
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct fa_h2client *h2 = ud;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		return headers_done(h2, f);
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
			h2->got_settings = true;
		return 0;
	case NGHTTP2_GOAWAY:
		h2->goaway = true;
		h2->goaway_last = f->goaway.last_stream_id;
		h2->goaway_code = f->goaway.error_code;
		return 0;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct fa_h2client *h2 = ud;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (!st || !st->headed)
		return 0;
	return op_result(h2, h2->ops.on_data(h2->ctx, st->user, (const char *)data, len));
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct fa_h2client *h2 = ud;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	void *user;

	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	unsent_remove(h2, st);
	/* NO_ERROR without the server's END_STREAM is still a cut-off answer */
	if (code == NGHTTP2_NO_ERROR && (!st->headed || !nghttp2_session_get_stream_remote_close(s, id)))
		code = NGHTTP2_STREAM_CLOSED;
	if (st->too_big)
		code = FA_H2CLIENT_HEAD_TOO_BIG;
	user = st->user;
	stream_put(h2, st);
	return op_result(h2, h2->ops.on_close(h2->ctx, user, code));
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct fa_h2client *h2 = ud;
	struct stream *st;

	if (f->hd.type == NGHTTP2_HEADERS &&
	    (st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id)))
		unsent_remove(h2, st);
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR) {
		h2->failed = true;
		if (!h2->why[0])
			snprintf(h2->why, sizeof(h2->why), "%s",
				 fa_h2client_code_name(f->goaway.error_code));
	}
	return 0;
}

/* A request that never went out (GOAWAY came first): the server never
   saw it, so it is refused. */
static int on_frame_not_send(nghttp2_session *s, const nghttp2_frame *f, int lib_error,
			     void *ud)
{
	struct fa_h2client *h2 = ud;
	struct stream *st;
	void *user;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	for (st = h2->unsent; st && st->id != f->hd.stream_id; st = st->next)
		;
	if (!st || nghttp2_session_get_stream_user_data(s, f->hd.stream_id))
		return 0;               /* open: on_stream_close reports it */
	unsent_remove(h2, st);
	user = st->user;
	stream_put(h2, st);
	return op_result(h2, h2->ops.on_close(h2->ctx, user, NGHTTP2_REFUSED_STREAM));
}

/* nghttp2 says what broke the connection (it queues GOAWAY itself). */
static int on_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud)
{
	struct fa_h2client *h2 = ud;

	if (!h2->why[0])
		snprintf(h2->why, sizeof(h2->why), "%.*s", (int)len, msg);
	return 0;
}

/* The request body, from the caller's memory as the windows allow. */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct stream *st = src->ptr;
	size_t n = st->left < len ? st->left : len;

	memcpy(buf, st->body, n);
	st->body += n;
	st->left -= n;
	if (!st->left)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- the session ---- */

static nghttp2_session_callbacks *make_callbacks(void)
{
	nghttp2_session_callbacks *cb;

	if (nghttp2_session_callbacks_new(&cb))
		return NULL;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
	nghttp2_session_callbacks_set_error_callback2(cb, on_error);
	return cb;
}

static nghttp2_option *make_options(uint32_t max_header_list)
{
	nghttp2_option *opt;

	if (nghttp2_option_new(&opt))
		return NULL;
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_max_continuations(opt, 16);
	nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
	return opt;
}

struct fa_h2client *fa_h2client_new(const struct fa_h2client_opts *o,
				    const struct fa_h2client_ops *ops, void *ctx,
				    struct fa_error *err)
{
	uint32_t window = !o || !o->window ? 8u << 20 :
			  o->window > NGHTTP2_MAX_WINDOW_SIZE ? NGHTTP2_MAX_WINDOW_SIZE : o->window;
	uint32_t hlist = o && o->max_header_list ? o->max_header_list : 64u << 10;
	struct fa_h2client *h2 = calloc(1, sizeof(*h2));
	nghttp2_session_callbacks *cb = make_callbacks();
	nghttp2_option *opt = make_options(hlist);
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, hlist },
	};
	int rc = NGHTTP2_ERR_NOMEM;

	if (h2 && cb && opt) {
		h2->ops = *ops;
		h2->ctx = ctx;
		fa_buf_init(&h2->hbuf, (size_t)hlist + 2 * MAX_FIELDS);
		fa_buf_init(&h2->names, 0);
		rc = nghttp2_session_client_new2(&h2->s, cb, h2, opt);
		if (!rc)
			rc = nghttp2_submit_settings(h2->s, NGHTTP2_FLAG_NONE, set, 3);
		/* the connection's window, as large as a stream's, once */
		if (!rc)
			rc = nghttp2_session_set_local_window_size(h2->s, NGHTTP2_FLAG_NONE, 0,
								   (int32_t)window);
	}
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (rc) {
		fa_error_set(err, FA_ENOMEM, "cannot start an HTTP/2 session: %s",
			     nghttp2_strerror(rc));
		fa_h2client_free(h2);
		return NULL;
	}
	return h2;
}

static bool hop_by_hop(const struct fa_h1_header *h)
{
	static const char *const names[] = { "connection", "keep-alive", "proxy-connection",
					     "transfer-encoding", "upgrade", "host", NULL };

	for (int i = 0; names[i]; i++)
		if (fa_h1_header_eq(h, names[i]))
			return true;
	return false;
}

static nghttp2_nv nv_of(const struct fa_h1_header *h)
{
	return (nghttp2_nv){ (uint8_t *)h->name, (uint8_t *)h->value, h->name_len, h->value_len,
			     NGHTTP2_NV_FLAG_NONE };
}

static struct fa_h1_header field(const char *name, size_t nlen, const char *value)
{
	return (struct fa_h1_header){ name, value, nlen, strlen(value) };
}

int fa_h2client_fields(const struct fa_h2client_req *r, struct fa_buf *names,
		       char clen[24], struct fa_h1_header *out)
{
	size_t total = 0, used = 0;
	int i, k = 0;

	for (i = 0; i < r->nheaders; i++)
		total += r->headers[i].name_len;
	fa_buf_reset(names);
	if (r->nheaders > FA_H1_MAX_HEADERS || fa_buf_grow(names, total + 1))
		return -1;
	out[k++] = field(":method", 7, r->method);
	out[k++] = field(":scheme", 7, r->scheme);
	out[k++] = field(":authority", 10, r->authority);
	out[k++] = field(":path", 5, r->path);
	if (r->user_agent && !fa_h1_find(r->headers, r->nheaders, "User-Agent"))
		out[k++] = field("user-agent", 10, r->user_agent);
	if (r->body_len || r->content_length) {
		snprintf(clen, 24, "%zu", r->body_len);
		out[k++] = field("content-length", 14, clen);
	}
	for (i = 0; i < r->nheaders; i++) {
		const struct fa_h1_header *h = &r->headers[i];
		char *lower = names->data + used;

		if (hop_by_hop(h) || fa_h1_header_eq(h, "content-length"))
			continue;
		for (size_t j = 0; j < h->name_len; j++) {
			char c = h->name[j];

			lower[j] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		used += h->name_len;
		out[k++] = (struct fa_h1_header){ lower, h->value, h->name_len, h->value_len };
	}
	return k;
}

int32_t fa_h2client_submit(struct fa_h2client *h2, const struct fa_h2client_req *r, void *user,
			   struct fa_error *err)
{
	struct fa_h1_header f[FA_H2CLIENT_MAX_FIELDS];
	nghttp2_nv nv[FA_H2CLIENT_MAX_FIELDS];
	char clen[24];
	nghttp2_data_provider prd;
	struct stream *st;
	int32_t id;
	int k;

	if (r->nheaders > MAX_FIELDS) {
		fa_error_set(err, FA_EUSAGE, "more than %d request fields", MAX_FIELDS);
		return 0;
	}
	if (h2->goaway) {
		fa_error_set(err, FA_EWORK, "the server is closing the connection (GOAWAY)");
		return 0;
	}
	if ((k = fa_h2client_fields(r, &h2->names, clen, f)) < 0 || !(st = stream_get(h2))) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return 0;
	}
	for (int i = 0; i < k; i++)
		nv[i] = nv_of(&f[i]);
	st->body = r->body;
	st->left = r->body_len;
	st->user = user;
	prd.source.ptr = st;
	prd.read_callback = read_body;
	id = nghttp2_submit_request(h2->s, NULL, nv, (size_t)k, r->body_len ? &prd : NULL, st);
	if (id < 0) {
		stream_put(h2, st);
		fa_error_set(err, FA_EWORK, "cannot start an HTTP/2 stream: %s",
			     nghttp2_strerror(id));
		return 0;
	}
	st->id = id;
	st->next = h2->unsent;
	h2->unsent = st;
	return id;
}

enum fa_err fa_h2client_recv(struct fa_h2client *h2, const void *data, size_t n,
			     struct fa_error *err)
{
	ssize_t rc = nghttp2_session_mem_recv(h2->s, data, n);

	if (h2->stop) {
		h2->stop = false;
		return fa_error_set(err, FA_EINTR, "stopped");
	}
	if (rc < 0) {
		nghttp2_session_terminate_session(h2->s, rc == NGHTTP2_ERR_FLOODED ?
						  NGHTTP2_ENHANCE_YOUR_CALM :
						  NGHTTP2_PROTOCOL_ERROR);
		return fa_error_set(err, FA_EINPUT, "HTTP/2: %s", h2->why[0] ? h2->why :
				    nghttp2_strerror((int)rc));
	}
	return FA_OK;
}

enum fa_err fa_h2client_send(struct fa_h2client *h2, struct fa_buf *out, size_t limit,
			     struct fa_error *err)
{
	while (out->len < limit) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(h2->s, &p);

		if (h2->stop) {
			h2->stop = false;
			return fa_error_set(err, FA_EINTR, "stopped");
		}
		if (n < 0)
			return fa_error_set(err, FA_EWORK, "HTTP/2: %s", nghttp2_strerror((int)n));
		if (!n)
			break;
		if (fa_buf_append(out, p, (size_t)n))
			return fa_error_set(err, FA_ENOMEM, "out of memory");
	}
	return FA_OK;
}

void fa_h2client_cancel(struct fa_h2client *h2, int32_t id)
{
	nghttp2_submit_rst_stream(h2->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

bool fa_h2client_want_read(const struct fa_h2client *h2)
{
	return nghttp2_session_want_read(h2->s);
}

bool fa_h2client_want_write(const struct fa_h2client *h2)
{
	return nghttp2_session_want_write(h2->s);
}

uint32_t fa_h2client_max_streams(const struct fa_h2client *h2)
{
	if (!h2->got_settings)
		return 100;
	return nghttp2_session_get_remote_settings(h2->s,
						   NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool fa_h2client_goaway(const struct fa_h2client *h2, int32_t *last_id, uint32_t *code)
{
	if (last_id)
		*last_id = h2->goaway_last;
	if (code)
		*code = h2->goaway_code;
	return h2->goaway || (!nghttp2_session_want_read(h2->s) &&
			      !nghttp2_session_want_write(h2->s));
}

const char *fa_h2client_error(const struct fa_h2client *h2)
{
	return h2->failed ? h2->why : NULL;
}

const char *fa_h2client_code_name(uint32_t code)
{
	static const char *const names[] = {
		"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
		"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
		"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
		"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
	};

	if (code == FA_H2CLIENT_HEAD_TOO_BIG)
		return "the response head is over the client's limits";
	return code < sizeof(names) / sizeof(*names) ? names[code] : "unknown error code";
}

void fa_h2client_free(struct fa_h2client *h2)
{
	struct stream *st;

	if (!h2)
		return;
	if (h2->s)
		nghttp2_session_del(h2->s);     /* runs no callbacks */
	while ((st = h2->pool)) {
		h2->pool = st->next_alloc;
		free(st);
	}
	fa_buf_release(&h2->hbuf);
	fa_buf_release(&h2->names);
	free(h2);
}
