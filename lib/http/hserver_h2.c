/*
 * hserver_h2: HTTP/2 connections of lib/http/hserver.  lib/http/h2 does the
 * protocol; this file joins its streams to the application's requests,
 * moves bytes between the session and the socket, and keeps the
 * connection's timers.
 */
#include "http/hserver_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/stats.h"

#define OUT_LIMIT (64 * 1024)

enum { T_NONE, T_IDLE, T_HEAD, T_SEND };

/* ---- requests ---- */

static void req_free(struct hs_h2req *r)
{
	struct fa_hconn *c = r->c;

	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	fa_buf_release(&r->res.extra);
	fa_henc_release(&r->res.enc);
	free(r);
}

static void kick(struct fa_hconn *c)
{
	hs_dirty(c);
}

/* Copies n bytes to *p, NUL-terminated, and moves *p past them. */
static const char *put(char **p, const char *s, size_t n)
{
	char *at = *p;

	if (n)
		memcpy(at, s, n);
	at[n] = '\0';
	*p += n + 1;
	return at;
}

/*
 * A request with its own copy of what the stream holds (method, target,
 * headers, body), after the struct in one allocation: the stream's
 * storage goes when it closes (RST_STREAM, the connection lost), while
 * the application may still be running the request and read them after.
 */
static struct hs_h2req *req_new(const struct fa_h2_request *h)
{
	/* the target as sent: the query stays right after the path and its '?' */
	size_t target = h->query ? (size_t)(h->query + h->query_len - h->path) : h->path_len;
	size_t n = h->method_len + target + h->body_len + 3;
	bool host = h->authority != NULL;  /* :authority stands as Host (RFC 9113 8.3.1) */
	struct fa_h1_header *hd;
	struct hs_h2req *r;
	char *p;

	for (int i = 0; i < h->nheaders; i++) {
		n += h->headers[i].name_len + h->headers[i].value_len + 2;
		host = host && !fa_h1_header_eq(&h->headers[i], "host");
	}
	if (host)
		n += sizeof("host") + h->authority_len + 1;
	if (!(r = calloc(1, sizeof(*r) + (size_t)(h->nheaders + host) * sizeof(*hd) + n)))
		return NULL;
	hd = (struct fa_h1_header *)(r + 1);
	p = (char *)(hd + h->nheaders + host);
	r->rq.method = put(&p, h->method, h->method_len);
	r->rq.method_len = h->method_len;
	r->rq.path = put(&p, h->path, target);
	r->rq.path_len = h->path_len;
	if (h->query) {
		r->rq.query = r->rq.path + (h->query - h->path);
		r->rq.query_len = h->query_len;
	}
	for (int i = 0; i < h->nheaders; i++) {
		hd[i].name = put(&p, h->headers[i].name, h->headers[i].name_len);
		hd[i].name_len = h->headers[i].name_len;
		hd[i].value = put(&p, h->headers[i].value, h->headers[i].value_len);
		hd[i].value_len = h->headers[i].value_len;
	}
	if (host) {
		hd[h->nheaders] = (struct fa_h1_header){ .name = put(&p, "host", 4), .name_len = 4,
							 .value_len = h->authority_len };
		hd[h->nheaders].value = put(&p, h->authority, h->authority_len);
	}
	r->rq.headers = hd;
	r->rq.nheaders = h->nheaders + host;
	r->rq.body = put(&p, h->body, h->body_len);
	r->rq.body_len = h->body_len;
	return r;
}

static void on_request(void *ctx, struct fa_h2_stream *st, const struct fa_h2_request *h)
{
	struct fa_hconn *c = ctx;
	struct hs_worker *w = c->w;
	struct hs_h2req *r = req_new(h);
	struct fa_hreq *rq;

	if (!r) {
		fa_h2_reset(c->h2, st);
		return;
	}
	r->c = c;
	r->st = st;
	fa_buf_init(&r->res.extra, 64 * 1024);
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	fa_h2_stream_set_user(st, r);
	c->requests++;
	rq = &r->rq;
	rq->conn = c;
	rq->proto = &hs_h2_proto;
	rq->res = &r->res;
	rq->w = w;
	rq->worker = w->index;
	rq->loop = w->loop;
	rq->worker_ctx = w->ctx;
	rq->t0 = fa_now_ns();
	rq->peer = c->peer;
	rq->version = "HTTP/2.0";
	rq->head = h->method_len == 4 && !memcmp(h->method, "HEAD", 4);
	/* RFC 8441: an extended CONNECT for the websocket protocol */
	rq->websocket = h->protocol && h->protocol_len == 9 && !memcmp(h->protocol, "websocket", 9);
	if (h->error) {
		struct fa_buf body;

		fa_buf_init(&body, 0);
		hs_error_body(&body, h->error, h->error == 413 ? "request body too large" :
					      h->error == 431 ? "request header fields too large" :
					      "malformed request");
		fa_hres_simple(rq, h->error, "application/json", body.data);
		fa_buf_release(&body);
		return;
	}
	w->s->o.handler(rq, w->s->o.app);
}

static void on_drain(void *ctx, struct fa_h2_stream *st, void *user)
{
	struct hs_h2req *r = user;
	void (*resume)(struct fa_hreq *, void *) = r->res.resume;

	r->resume_now = false;
	if (resume) {
		r->res.resume = NULL;
		resume(&r->rq, r->res.resume_arg);
	}
}

/* The stream is gone: done, or reset by the client. */
static void on_close(void *ctx, struct fa_h2_stream *st, void *user)
{
	struct hs_h2req *r = user;
	void (*abort)(struct fa_hreq *, void *) = r->res.abort;

	r->st = NULL;
	if (r->res.ended) {
		req_free(r);
		return;
	}
	if (abort) {
		r->res.abort = NULL;
		abort(&r->rq, r->res.abort_arg);
	}
}

/* ---- responses ---- */

/* The stream of a request: rq is the first member of its struct hs_h2req. */
static struct hs_h2req *h2req(const struct fa_hreq *rq)
{
	return (struct hs_h2req *)rq;
}

static void h2_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length)
{
	struct hs_h2req *r = h2req(rq);
	struct fa_h1_header h[42];
	char len[24];
	bool bodyless = status < 200 || status == 204 || status == 304;
	int n;

	if (!r->st)
		return;
	n = hs_response_headers(r->c->w, &r->res, content_type, true, h, 40);
	if (length >= 0 && !bodyless) {
		snprintf(len, sizeof(len), "%lld", (long long)length);
		h[n++] = (struct fa_h1_header){ "content-length", len, 14, strlen(len) };
	}
	fa_h2_respond(r->c->h2, r->st, status, h, n, !bodyless && !r->rq.head && length != 0);
	kick(r->c);
}

static void h2_send(struct fa_hreq *rq, const void *data, size_t n)
{
	struct hs_h2req *r = h2req(rq);

	if (!r->st || r->c->dead)
		return;
	fa_h2_write(r->c->h2, r->st, data, n);
	kick(r->c);
}

static void h2_finish(struct hs_h2req *r, bool failed)
{
	struct fa_hconn *c = r->c;
	const struct fa_hserver_opts *o = &c->w->s->o;

	if (o->on_done && r->rq.method)
		o->on_done(&r->rq, o->app);
	r->res.resume = NULL;
	r->res.abort = NULL;
	if (r->st && !c->dead) {
		if (failed)
			fa_h2_reset(c->h2, r->st);
		else
			fa_h2_end(c->h2, r->st);
		kick(c);
		return;                 /* freed when the stream closes */
	}
	req_free(r);
	if (c->dead && !c->in_close)
		hs_conn_free(c);
}

static void h2_end(struct fa_hreq *rq)
{
	h2_finish(h2req(rq), false);
}

/* RST_STREAM: the client sees the body cut off. */
static void h2_reset(struct fa_hreq *rq)
{
	h2_finish(h2req(rq), true);
}

static bool h2_writable(const struct fa_hreq *rq)
{
	const struct hs_h2req *r = h2req(rq);

	return !r->st || !fa_h2_stream_full(r->st);
}

/* A stream with room resumes at the next pump; a full one on lib/http/h2's on_drain. */
static void h2_on_drain(struct fa_hreq *rq)
{
	struct hs_h2req *r = h2req(rq);

	if (!r->st || !fa_h2_stream_full(r->st)) {
		r->resume_now = true;
		kick(r->c);
	}
}

static bool h2_gone(const struct fa_hreq *rq)
{
	return !h2req(rq)->st;
}

const struct hs_proto hs_h2_proto = {
	.start = h2_start, .send = h2_send, .writable = h2_writable, .on_drain = h2_on_drain,
	.end = h2_end, .reset = h2_reset, .gone = h2_gone,
};

/* ---- the connection ---- */

/* A WebSocket's DATA (RFC 8441): frames for its session, once it has one. */
static void on_data(void *ctx, struct fa_h2_stream *st, void *user, const char *data, size_t n)
{
	struct hs_h2req *r = user;

	if (r->ws)
		hs_ws_input(r->ws, data, n);
}

static const struct fa_h2_ops ops = { on_request, on_drain, on_close, on_data };

static struct fa_h2 *session(struct fa_hconn *c)
{
	const struct fa_hserver_opts *o = &c->w->s->o;
	struct fa_h2_limits lim;
	struct fa_error err;

	fa_h2_limits_init(&lim);
	if (o->h2_max_streams)
		lim.max_streams = o->h2_max_streams;
	if (o->h2_window)
		lim.window = o->h2_window;
	if (o->h2_max_frame)
		lim.max_frame = o->h2_max_frame;
	if (o->h2_max_header_list)
		lim.max_header_list = o->h2_max_header_list;
	lim.max_body = o->max_body;
	return fa_h2_new(&lim, &ops, c, &err);
}

/* What the timer should measure now, and for how long. */
static int timer_kind(struct fa_hconn *c, int *ms)
{
	const struct fa_hserver_opts *o = &c->w->s->o;

	if (fa_h2_incomplete(c->h2)) {
		*ms = o->header_timeout_ms;
		return T_HEAD;
	}
	if (c->out.len || fa_h2_want_write(c->h2)) {
		*ms = o->send_timeout_ms;       /* frames the client does not take */
		return T_SEND;
	}
	for (struct hs_h2req *r = c->reqs; r; r = r->next)
		if (c->out.len || (r->st && fa_h2_buffered(r->st))) {
			*ms = o->send_timeout_ms;
			return T_SEND;
		}
	if (!fa_h2_streams(c->h2)) {
		*ms = o->keepalive_timeout_ms;
		return T_IDLE;
	}
	*ms = 0;
	return T_NONE;
}

static void update_timer(struct fa_hconn *c, bool progress)
{
	int ms, kind = timer_kind(c, &ms);

	if (kind == c->timer_kind && !(kind == T_SEND && progress))
		return;
	c->timer_kind = kind;
	if (kind == T_NONE || ms <= 0)
		fa_timer_stop(c->w->loop, &c->timer);
	else
		hs_arm(c, ms);
}

/* Resumes producers that asked while their stream had room. */
static void run_resumes(struct fa_hconn *c)
{
	for (int guard = 0; guard < 1000; guard++) {
		struct hs_h2req *r = c->reqs;

		while (r && !r->resume_now)
			r = r->next;
		if (!r)
			return;
		r->resume_now = false;
		on_drain(c, r->st, r);
		if (c->dead)
			return;
	}
}

/*
 * Frames out to the socket until it is full or nothing is left.  True
 * when the connection was closed: c may be freed then, and is not to be
 * touched.
 */
static bool pump(struct fa_hconn *c)
{
	struct fa_error err;
	bool progress = false;
	int wrote;

	run_resumes(c);
	for (int round = 0; !c->dead && round < 16; round++) {
		if (!c->out.len && fa_h2_send(c->h2, &c->out, OUT_LIMIT, &err)) {
			hs_conn_close(c);
			return true;
		}
		if (!c->out.len)
			break;
		if ((wrote = hs_write_out(c)) < 0)
			return true;
		progress |= wrote > 0;
		if (c->out.len)
			break;          /* the socket is full */
	}
	if (c->dead)
		return true;
	/* GOAWAY went out, or the session ended; a broken one reads no more */
	if (!c->out.len && !fa_h2_want_write(c->h2) &&
	    (c->h2_broken || !fa_h2_want_read(c->h2))) {
		hs_conn_close(c);
		return true;
	}
	update_timer(c, progress);
	hs_want(c);
	return false;
}

void hs_h2_pump(struct fa_hconn *c)
{
	pump(c);
}

static void feed(struct fa_hconn *c, const void *p, size_t n)
{
	struct fa_error err;

	if (n && fa_h2_recv(c->h2, p, n, &err))
		c->h2_broken = true;    /* GOAWAY is queued; read no more */
}

void hs_h2_start(struct fa_hconn *c, const char *initial, size_t n)
{
	if (!(c->h2 = session(c))) {
		hs_conn_close(c);
		return;
	}
	c->state = C_H2;
	c->timer_kind = T_NONE;
	fa_timer_stop(c->w->loop, &c->timer);
	fa_buf_reset(&c->body);
	feed(c, initial, n);
	fa_buf_reset(&c->in);
	hs_h2_pump(c);
}

/* An "Upgrade: h2c" request without a body that we can take (RFC 7540 section 3.2). */
static const struct fa_h1_header *wants_h2c(struct fa_hconn *c)
{
	const struct fa_hreq *rq = &c->rq;
	const struct fa_h1_header *up = fa_hreq_header(rq, "upgrade");
	const struct fa_h1_header *conn = fa_hreq_header(rq, "connection");
	const struct fa_h1_header *set = fa_hreq_header(rq, "http2-settings");

	if (!up || !conn || !set || c->h1.minor < 1 || c->h1.chunked ||
	    c->h1.content_length > 0 || c->requests != 1 || !fa_h1_has_token(up, "h2c") ||
	    !fa_h1_has_token(conn, "upgrade") || !fa_h1_has_token(conn, "http2-settings"))
		return NULL;
	return set;
}

/* The request that asked for h2c, without its hop-by-hop fields. */
static int upgrade_request(struct fa_hconn *c, struct fa_h2_request *r,
			   struct fa_h1_header *h, int cap)
{
	int n = 0;

	for (int i = 0; i < c->rq.nheaders && n < cap; i++)
		if (!fa_h1_header_eq(&c->rq.headers[i], "connection") &&
		    !fa_h1_header_eq(&c->rq.headers[i], "upgrade") &&
		    !fa_h1_header_eq(&c->rq.headers[i], "http2-settings"))
			h[n++] = c->rq.headers[i];
	*r = (struct fa_h2_request){ .method = c->rq.method, .method_len = c->rq.method_len,
				     .path = c->rq.path, .path_len = c->rq.path_len,
				     .query = c->rq.query, .query_len = c->rq.query_len,
				     .headers = h, .nheaders = n, .body = "" };
	return n;
}

bool hs_h2_upgrade(struct fa_hconn *c)
{
	const struct fa_h1_header *set = wants_h2c(c);
	struct fa_h1_header h[HS_MAX_HEADERS];
	struct fa_h2_request r;
	struct fa_h2_stream *st;
	struct fa_error err;
	size_t head = c->h1.head_len;

	if (!set || !(c->h2 = session(c)))
		return false;
	if (!(st = fa_h2_upgrade(c->h2, set->value, set->value_len, c->rq.head, &err))) {
		fa_h2_free(c->h2);
		c->h2 = NULL;
		return false;   /* answered over HTTP/1.1 instead */
	}
	fa_buf_puts(&c->out, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			     "Upgrade: h2c\r\n\r\n");
	c->state = C_H2;
	c->timer_kind = T_NONE;
	c->requests = 0;
	upgrade_request(c, &r, h, HS_MAX_HEADERS);
	fa_h2_upgraded_request(st, &r);         /* copies it, then dispatches */
	if (c->dead)
		return true;
	fa_buf_consume(&c->in, head);
	feed(c, c->in.data, c->in.len);
	fa_buf_reset(&c->in);
	hs_h2_pump(c);
	return true;
}

void hs_h2_io(struct fa_hconn *c, uint32_t ev)
{
	char buf[32768];

	if ((ev & (EPOLLERR | EPOLLHUP)) && !(ev & FA_IN)) {
		hs_conn_close(c);       /* reset: nothing to read, nothing can be sent */
		return;
	}
	while ((ev & FA_IN) && !c->h2_broken && fa_h2_want_read(c->h2)) {
		ssize_t n = hs_recv(c, buf, sizeof(buf));

		if (n == -1)
			break;
		if (n <= 0) {
			hs_conn_close(c);
			return;
		}
		feed(c, buf, (size_t)n);
		if (c->dead)
			return;
		if (c->timer_kind == T_IDLE)
			c->timer_kind = T_NONE; /* activity: the idle time starts again */
		if (!c->ssl && (size_t)n < sizeof(buf))
			break;  /* the socket is empty */
	}
	hs_h2_pump(c);
}

void hs_h2_timeout(struct fa_hconn *c)
{
	if (c->timer_kind == T_IDLE) {
		fa_h2_shutdown(c->h2);          /* GOAWAY, then close once it is out */
		c->timer_kind = T_NONE;
		hs_h2_pump(c);
		return;
	}
	fa_h2_terminate(c->h2, 0);              /* NO_ERROR: we simply stop waiting */
	c->h2_broken = true;
	if (!pump(c))
		hs_conn_close(c);               /* the GOAWAY could not go out whole */
}

/* Server shutdown: GOAWAY; endless streams (events) end now, others finish. */
void hs_h2_stop(struct fa_hconn *c)
{
	fa_h2_shutdown(c->h2);
	for (struct hs_h2req *r = c->reqs, *next; r; r = next) {
		void (*abort)(struct fa_hreq *, void *) = r->res.abort;

		next = r->next;
		if (abort && !r->res.ended && r->res.abort_at_stop) {
			r->res.abort = NULL;
			abort(&r->rq, r->res.abort_arg);
		}
	}
	if (!c->dead)
		hs_h2_pump(c);
}

/* The socket closed: streams end, answered requests go, the rest are told. */
void hs_h2_closed(struct fa_hconn *c)
{
	c->in_close = true;
	fa_h2_free(c->h2);
	c->h2 = NULL;
	for (struct hs_h2req *r = c->reqs; r; r = r->next)
		r->st = NULL;
	for (struct hs_h2req *r = c->reqs, *next; r; r = next) {
		void (*abort)(struct fa_hreq *, void *) = r->res.abort;

		next = r->next;
		if (r->res.ended) {
			req_free(r);
		} else if (abort) {
			r->res.abort = NULL;
			abort(&r->rq, r->res.abort_arg);
		}
	}
	c->in_close = false;
}
