/*
 * hclient over HTTP/2: the queue's requests become streams of one
 * h2client session, as many at once as max_streams and the server allow.
 * h2client does the protocol; this file does the socket, the slots that
 * carry each request, and the endings: refused streams go back to the
 * queue once, others end their request with a message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/hclient_int.h"

/* Frames gathered before a write. */
#define OUT_LIMIT (64 * 1024)

/* ---- slots ---- */

static void on_slot_timeout(struct fa_timer *t);

struct h2slot *hc_slot_get(struct fa_hclient *c)
{
	struct h2slot *s = c->free_slots;

	if (s) {
		c->free_slots = s->next;
	} else {
		if (!(s = calloc(1, sizeof(*s))))
			return NULL;
		s->c = c;
		fa_buf_init(&s->head, 0);
		fa_buf_init(&s->body, 0);
		fa_timer_init(&s->timer, on_slot_timeout, s);
	}
	s->prev = NULL;
	s->next = c->slots;
	if (c->slots)
		c->slots->prev = s;
	c->slots = s;
	c->nslots++;
	s->rq = NULL;
	s->open = s->got_bytes = false;
	s->status = s->nheaders = 0;
	s->id = 0;
	fa_buf_reset(&s->head);
	fa_buf_reset(&s->body);
	s->body.max = c->max_body;
	return s;
}

void hc_slot_release(struct fa_hclient *c, struct h2slot *s)
{
	fa_timer_stop(c->loop, &s->timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		c->slots = s->next;
	if (s->next)
		s->next->prev = s->prev;
	c->nslots--;
	s->next = c->free_slots;
	c->free_slots = s;
}

static void slot_free(struct h2slot *s)
{
	fa_buf_release(&s->head);
	fa_buf_release(&s->body);
	free(s);
}

/* Gives rq its one on_done; the client may be freed after it. */
void hc_notify(struct fa_hclient *c, struct fa_hclient_req *rq,
		   const struct fa_hclient_res *res, enum fa_err rc, const char *msg)
{
	bool was = c->notifying;

	c->queued--;
	c->notifying = true;
	rq->on_done(rq, res, rc, msg);
	c->notifying = was;
}

/* Ends the slot's request with rc; the slot goes when its stream has. */
static void slot_done(struct h2slot *s, enum fa_err rc, const char *msg)
{
	struct fa_hclient *c = s->c;
	struct fa_hclient_req *rq = s->rq;
	struct fa_hclient_res res = { .status = s->status, .headers = s->hdr,
				      .nheaders = s->nheaders };

	fa_timer_stop(c->loop, &s->timer);
	s->rq = NULL;
	if (!s->status)
		res.headers = NULL;
	if (rc == FA_OK && !rq->stream) {
		res.body = s->body.data ? s->body.data : "";
		res.body_len = s->body.len;
	}
	hc_notify(c, rq, &res, rc, msg);
	if (!s->open)
		hc_slot_release(c, s);
	if (!c->freed)
		hc_kick(c);
}

void hc_slot_fail(struct h2slot *s, enum fa_err rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int k = snprintf(msg, sizeof(msg), "%s: ", s->c->origin);

	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	va_end(ap);
	slot_done(s, rc, msg);
}

/* The server never processed the slot's request: back to the queue's
   front, for the next connection. */
static void slot_requeue(struct h2slot *s)
{
	struct fa_hclient *c = s->c;
	struct fa_hclient_req *rq = s->rq;

	fa_timer_stop(c->loop, &s->timer);
	s->rq = NULL;
	rq->tries++;
	hc_push_front(c, rq);
	if (!s->open)
		hc_slot_release(c, s);
}

/* ---- the session's output ---- */

/* Frees a session closed inside its own callbacks, once out of them. */
static void reap(struct fa_hclient *c)
{
	if (!c->in_h2 && c->h2_dead) {
		fa_h2client_free(c->h2_dead);
		c->h2_dead = NULL;
	}
}

static void broken(struct fa_hclient *c, enum fa_err rc, const char *why);

/* Frames out to the socket as far as it takes them: 0, or -1 when the
   connection ended. */
static int flush(struct fa_hclient *c)
{
	struct fa_error err;
	char why[160];
	enum fa_err rc;
	ssize_t k;

	for (;;) {
		if (c->out_off == c->out.len) {
			fa_buf_reset(&c->out);
			c->out_off = 0;
		}
		if (c->out.len < OUT_LIMIT) {
			c->in_h2++;
			rc = fa_h2client_send(c->h2, &c->out, OUT_LIMIT, &err);
			c->in_h2--;
			reap(c);
			if (c->freed || c->state != C_H2)
				return -1;
			if (rc != FA_OK) {
				broken(c, FA_ECONNECT, err.msg);
				return -1;
			}
		}
		if (c->out_off == c->out.len)
			break;
		k = hc_send(c, c->out.data + c->out_off, c->out.len - c->out_off, why,
			    sizeof(why));
		if (k < 0 && why[0]) {
			broken(c, FA_ECONNECT, why);
			return -1;
		}
		if (k < 0)
			break;
		c->out_off += (size_t)k;
	}
	hc_watch(c, c->out_off < c->out.len);
	return 0;
}

/* ---- starting streams ---- */

/* The queue's first request, taken off it; NULL when empty. */
struct fa_hclient_req *hc_pop(struct fa_hclient *c)
{
	struct fa_hclient_req *rq = c->head;

	if (rq && !(c->head = rq->next))
		c->tail = NULL;
	return rq;
}

/* rq back at the queue's front. */
void hc_push_front(struct fa_hclient *c, struct fa_hclient_req *rq)
{
	rq->next = c->head;
	c->head = rq;
	if (!c->tail)
		c->tail = rq;
}

/* Ends a request that never became a stream. */
void hc_refuse(struct fa_hclient *c, struct fa_hclient_req *rq, enum fa_err rc,
		   const char *why)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s: %s", c->origin, why);
	hc_notify(c, rq, &(struct fa_hclient_res){ 0 }, rc, msg);
}

/* rq is on slot s, a stream that started: its timeout runs. */
void hc_slot_arm(struct fa_hclient *c, struct h2slot *s, struct fa_hclient_req *rq)
{
	uint64_t now;

	s->rq = rq;
	s->open = true;
	if (c->timeout_ms > 0) {
		now = hc_now_ms();
		if (!rq->due_ms)
			rq->due_ms = now + (uint64_t)c->timeout_ms;
		fa_timer_start(c->loop, &s->timer, rq->due_ms > now ? rq->due_ms - now : 1);
	}
}

/* rq as a stream on slot s: 1, 0 when the session takes no more (rq
   stays queued), -1 when rq ended. */
static int submit(struct fa_hclient *c, struct h2slot *s, struct fa_hclient_req *rq)
{
	struct fa_h2client_req r = {
		.method = rq->method, .scheme = c->url.scheme, .authority = c->url.authority,
		.path = rq->target, .headers = rq->headers, .nheaders = rq->nheaders,
		.user_agent = c->ua, .body = rq->body, .body_len = rq->body_len,
		.content_length = hc_body_method(rq->method),
	};
	struct fa_error err;

	s->id = fa_h2client_submit(c->h2, &r, s, &err);
	if (!s->id) {
		hc_slot_release(c, s);
		if (err.code == FA_EWORK)
			return 0;
		hc_refuse(c, rq, err.code, err.msg);
		return -1;
	}
	hc_slot_arm(c, s, rq);
	return 1;
}

void hc_h2_kick(struct fa_hclient *c)
{
	struct fa_hclient_req *rq;
	struct h2slot *s;
	const char *why;
	uint32_t limit;

	if (!c->h2)
		return;
	limit = fa_h2client_max_streams(c->h2);
	if (limit > (uint32_t)c->max_streams)
		limit = (uint32_t)c->max_streams;
	while (c->head && (uint32_t)c->nslots < limit && !c->freed &&
	       !fa_h2client_goaway(c->h2, NULL, NULL)) {
		rq = hc_pop(c);
		if ((why = hc_request_problem(c, rq))) {
			hc_refuse(c, rq, FA_EUSAGE, why);
			continue;
		}
		if (!(s = hc_slot_get(c))) {
			hc_refuse(c, rq, FA_ENOMEM, "out of memory");
			continue;
		}
		if (submit(c, s, rq) == 0) {
			hc_push_front(c, rq);   /* GOAWAY came: it waits */
			break;
		}
	}
	if (!c->in_h2 && !c->freed && c->h2)
		flush(c);
}

/* ---- the session's callbacks ---- */

/* Keeps the head in the slot: the session reuses its buffer. */
static bool keep_head(struct h2slot *s, const struct fa_h1_header *h, int n)
{
	size_t total = 0, at = 0;
	int i;

	for (i = 0; i < n; i++)
		total += h[i].name_len + h[i].value_len + 2;
	fa_buf_reset(&s->head);
	if (fa_buf_grow(&s->head, total) != FA_OK)
		return false;
	for (i = 0; i < n; i++) {
		char *p = s->head.data + at;

		memcpy(p, h[i].name, h[i].name_len + 1);
		memcpy(p + h[i].name_len + 1, h[i].value, h[i].value_len + 1);
		s->hdr[i] = (struct fa_h1_header){ p, p + h[i].name_len + 1, h[i].name_len,
						   h[i].value_len };
		at += h[i].name_len + h[i].value_len + 2;
	}
	s->head.len = at;
	s->nheaders = n;
	return true;
}

/* Nonzero when the session must stop: the client or its connection went. */
static int gone(struct fa_hclient *c)
{
	return c->freed || (!c->h2 && !c->h3);
}

/* A request that ends before its stream: the stream is reset. */
static void cancel(struct h2slot *s)
{
	if (s->c->h2)
		fa_h2client_cancel(s->c->h2, (int32_t)s->id);
	else if (s->c->h3)
		fa_h3client_cancel(s->c->h3, s->id);
}

/* The name of a code that ended a stream, as its protocol knows it. */
static const char *code_name(struct fa_hclient *c, uint32_t code, char *buf, size_t n)
{
	if (!c->h3 || code == FA_H2CLIENT_HEAD_TOO_BIG)
		return fa_h2client_code_name(code);
	snprintf(buf, n, "HTTP/3 error 0x%x", code);
	return buf;
}

static int on_head(void *ctx, void *stream, int status, const struct fa_h1_header *h, int n)
{
	struct fa_hclient *c = ctx;
	struct h2slot *s = stream;
	const struct fa_h1_header *cl;
	struct fa_hclient_res res;
	unsigned long long len;

	if (gone(c))
		return 1;
	if (!s->rq)
		return 0;
	s->got_bytes = true;
	s->status = status;
	if (!keep_head(s, h, n)) {
		cancel(s);
		hc_slot_fail(s, FA_ENOMEM, "out of memory");
		return gone(c);
	}
	cl = fa_h1_find(s->hdr, n, "content-length");
	if (!s->rq->stream && cl && sscanf(cl->value, "%llu", &len) == 1 &&
	    len > c->max_body) {
		cancel(s);
		hc_slot_fail(s, FA_EINPUT, "response body of %llu bytes is over %zu "
			  "(max_body)", len, c->max_body);
		return gone(c);
	}
	if (s->rq->on_head) {
		res = (struct fa_hclient_res){ .status = status, .headers = s->hdr,
					       .nheaders = n };
		s->rq->on_head(s->rq, &res);
	}
	return gone(c);
}

static int on_data(void *ctx, void *stream, const char *p, size_t n)
{
	struct fa_hclient *c = ctx;
	struct h2slot *s = stream;

	if (gone(c))
		return 1;
	if (!s->rq)
		return 0;
	if (s->rq->stream) {
		s->rq->on_data(s->rq, p, n);
		return gone(c);
	}
	if (fa_buf_append(&s->body, p, n) != FA_OK) {
		cancel(s);
		hc_slot_fail(s, FA_EINPUT, "response body over %zu bytes (max_body)",
			  c->max_body);
	}
	return gone(c);
}

static int on_close(void *ctx, void *stream, uint32_t code)
{
	struct fa_hclient *c = ctx;
	struct h2slot *s = stream;
	struct fa_hclient_req *rq = s->rq;
	char name[40];

	if (gone(c))
		return 1;
	s->open = false;
	if (!rq) {
		hc_slot_release(c, s);
		return 0;
	}
	if (code == 0)
		slot_done(s, FA_OK, NULL);
	else if (code == FA_H2_REFUSED_STREAM && !s->got_bytes && rq->tries < 1) {
		slot_requeue(s);        /* on this connection, or the next after GOAWAY */
		hc_kick(c);
	}
	else if (code == FA_H2_REFUSED_STREAM && !s->got_bytes)
		hc_slot_fail(s, FA_ECONNECT, "%s %s: the server refused it again "
			  "(REFUSED_STREAM)", rq->method, rq->target);
	else if (code == FA_H2CLIENT_HEAD_TOO_BIG)
		hc_slot_fail(s, FA_EINPUT, "%s %s: malformed response: %s", rq->method,
			  rq->target, fa_h2client_code_name(code));
	else
		hc_slot_fail(s, FA_ECONNECT, "%s %s: the server reset the %s stream "
			  "(%s) %s", rq->method, rq->target, c->h3 ? "HTTP/3" : "HTTP/2",
			  code_name(c, code, name, sizeof(name)),
			  s->got_bytes ? "before the response was complete"
				       : "before any response");
	return gone(c);
}

const struct fa_h2client_ops hc_stream_ops = {
	.on_head = on_head, .on_data = on_data, .on_close = on_close,
};

/* ---- the connection ---- */

enum fa_err hc_h2_start(struct fa_hclient *c, struct fa_error *err)
{
	c->h2 = fa_h2client_new(NULL, &hc_stream_ops, c, err);
	if (!c->h2)
		return err->code;
	c->state = C_H2;
	/* the request that opened the connection goes back to the queue */
	fa_timer_stop(c->loop, &c->req_timer);
	c->started = false;
	fa_buf_reset(&c->out);
	c->out_off = 0;
	hc_h2_kick(c);
	return FA_OK;
}

/*
 * The connection ended under the streams: what the server never
 * processed (above GOAWAY's last stream id) goes back to the queue once,
 * the rest end with why.
 */
static void broken(struct fa_hclient *c, enum fa_err rc, const char *why)
{
	int32_t last = 0;
	uint32_t code = 0;
	bool goaway = c->h2 && fa_h2client_goaway(c->h2, &last, &code);
	struct h2slot *s;

	if (!goaway)
		last = INT32_MAX;       /* no word of what the server took */
	hc_conn_close(c);
	while ((s = c->slots) && !c->freed) {
		if (!s->got_bytes && s->id > last && s->rq->tries < 1)
			slot_requeue(s);
		else if (goaway && code)
			hc_slot_fail(s, rc, "%s %s: %s after GOAWAY (%s) %s", s->rq->method,
				  s->rq->target, why, fa_h2client_code_name(code),
				  s->got_bytes ? "before the response was complete"
					       : "before any response");
		else
			hc_slot_fail(s, rc, "%s %s: %s %s", s->rq->method, s->rq->target, why,
				  s->got_bytes ? "before the response was complete"
					       : "before any response");
	}
	if (!c->freed)
		hc_kick(c);
}

/* After GOAWAY, the connection closes once its last stream did. */
static void maybe_end(struct fa_hclient *c)
{
	if (c->h2 && c->nslots == 0 && fa_h2client_goaway(c->h2, NULL, NULL)) {
		hc_conn_close(c);
		hc_kick(c);
	}
}

void hc_h2_ready(struct fa_hclient *c, uint32_t revents)
{
	struct fa_error err;
	char why[160];
	enum fa_err rc;
	ssize_t k;
	int i;

	if ((revents & FA_OUT) && flush(c) < 0)
		return;
	if (fa_buf_grow(&c->in, READ_CHUNK) != FA_OK) {
		broken(c, FA_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < READS_PER_TURN; i++) {
		k = hc_recv(c, c->in.data, READ_CHUNK, why, sizeof(why));
		if (k < 0 && !why[0])
			break;
		if (k <= 0) {
			broken(c, FA_ECONNECT, k == 0 ? "connection closed" : why);
			return;
		}
		c->in_h2++;
		rc = fa_h2client_recv(c->h2, c->in.data, (size_t)k, &err);
		c->in_h2--;
		reap(c);
		if (c->freed || c->state != C_H2)
			return;
		if (rc != FA_OK) {
			flush(c);       /* the GOAWAY saying why, if it goes */
			if (c->state == C_H2)
				broken(c, FA_EINPUT, err.msg);
			return;
		}
	}
	if (i == READS_PER_TURN)
		hc_read_later(c);
	if (flush(c) < 0)
		return;
	if (fa_h2client_error(c->h2)) {
		snprintf(why, sizeof(why), "HTTP/2 protocol error: %s",
			 fa_h2client_error(c->h2));
		broken(c, FA_EINPUT, why);
		return;
	}
	maybe_end(c);
}

/* The connection's streams are gone: the slots of requests that ended
   already go, the others wait for their request's end. */
void hc_slots_closed(struct fa_hclient *c)
{
	struct h2slot *s, *next;

	for (s = c->slots; s; s = next) {
		next = s->next;
		s->open = false;
		if (!s->rq)
			hc_slot_release(c, s);
	}
}

/* The session goes (later, when inside its callbacks), with its streams. */
void hc_h2_close(struct fa_hclient *c)
{
	if (!c->h2)
		return;
	if (c->in_h2)
		c->h2_dead = c->h2;
	else
		fa_h2client_free(c->h2);
	c->h2 = NULL;
	hc_slots_closed(c);
}

void hc_h2_fail_all(struct fa_hclient *c, enum fa_err rc, const char *msg)
{
	struct h2slot *s;

	while ((s = c->slots)) {
		if (s->rq)
			slot_done(s, rc, msg);
		else
			hc_slot_release(c, s);
	}
}

void hc_h2_release(struct fa_hclient *c)
{
	struct h2slot *s;

	fa_h2client_free(c->h2);
	fa_h2client_free(c->h2_dead);
	c->h2 = c->h2_dead = NULL;
	while ((s = c->slots)) {
		c->slots = s->next;
		fa_timer_stop(c->loop, &s->timer);
		slot_free(s);
	}
	while ((s = c->free_slots)) {
		c->free_slots = s->next;
		slot_free(s);
	}
}

static void on_slot_timeout(struct fa_timer *t)
{
	struct h2slot *s = t->ctx;
	struct fa_hclient *c = s->c;

	if (!s->rq)
		return;
	hc_enter(c);
	cancel(s);
	hc_slot_fail(s, FA_ECONNECT, "%s %s: timeout after %d ms", s->rq->method,
		  s->rq->target, c->timeout_ms);
	if (!c->freed && c->h2)
		flush(c);
	else if (!c->freed && c->h3)
		hc_h3_flush(c);
	hc_leave(c);
}
