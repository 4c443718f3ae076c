/*
 * fa-mcp: the HTTP+SSE transport of protocol 2024-11-05, for old clients.
 *
 * A client GETs /sse and keeps the event stream; its first event,
 * "endpoint", names where to POST: /messages?sessionId=ID.  Each POST is
 * answered 202 at once, and the JSON-RPC answer goes as a "message" event
 * down the stream.  The stream lives on one worker thread and a POST may
 * land on another, so answers wait in the session's outbox, under the
 * app's lock, and the owner's eventfd wakes it to write them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "famcp.h"
#include "http/sse.h"

#define OUTBOX_MAX (64u << 20)

struct ssess {
	char id[33];
	struct app *a;
	struct worker *w;               /* the stream's worker */
	struct fa_hreq *rq;             /* the stream */
	struct fa_buf out;              /* events for the owner to write (under a->lock) */
	struct peer peer;
	struct listener l;
	struct ssess *next;             /* a->legacy */
};

/* The session called id; the caller holds a->lock. */
static struct ssess *find(struct app *a, const char *id)
{
	for (struct ssess *s = a->legacy; s; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	return NULL;
}

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* An event for session id, from any thread; false when it is gone. */
static bool post_event(struct app *a, const char *id, const char *msg, size_t len)
{
	struct ssess *s;
	bool ok = false;

	pthread_mutex_lock(&a->lock);
	if ((s = find(a, id)) && s->out.len + len < OUTBOX_MAX) {
		fa_sse_put_event(&s->out, "message", msg, len);
		wake(s->w);
		ok = true;
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void mcp_legacy_flush(struct worker *w)
{
	struct app *a = w->app;

	pthread_mutex_lock(&a->lock);
	for (struct ssess *s = a->legacy; s; s = s->next)
		if (s->w == w && s->out.len) {
			fa_hres_write(s->rq, s->out.data, s->out.len);
			fa_hres_flush(s->rq);
			fa_buf_reset(&s->out);
		}
	pthread_mutex_unlock(&a->lock);
}

/* ---- the stream ---- */

static void unlink_session(struct ssess *s)
{
	struct app *a = s->a;

	pthread_mutex_lock(&a->lock);
	for (struct ssess **p = &a->legacy; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&a->lock);
}

static void stream_end(struct listener *l)
{
	struct ssess *s = l->ctx;

	unlink_session(s);
	listener_remove(s->w, &s->l);
	fa_hres_end(s->rq);
	fa_buf_release(&s->out);
	peer_release(&s->peer);
	free(s);
}

static void stream_abort(struct fa_hreq *rq, void *arg)
{
	struct ssess *s = arg;

	stream_end(&s->l);
}

/* list_changed and the like, on the owner's thread: straight down the stream. */
static void stream_send(struct listener *l, const char *msg, size_t len)
{
	struct ssess *s = l->ctx;

	post_event(s->a, s->id, msg, len);
	mcp_legacy_flush(s->w);
}

static void check_sub(struct peer *p, void *arg)
{
	const char **uri = arg;

	for (int i = 0; i < p->nsubs && *uri; i++)
		if (!strcmp(p->subs[i], *uri))
			*uri = NULL;
}

static bool stream_subscribed(struct listener *l, const char *uri)
{
	struct ssess *s = l->ctx;

	pthread_mutex_lock(&s->a->lock);
	check_sub(&s->peer, &uri);
	pthread_mutex_unlock(&s->a->lock);
	return uri == NULL;
}

static void stream_subs(struct listener *l, void (*fn)(const char *uri, void *arg), void *arg)
{
	struct ssess *s = l->ctx;

	pthread_mutex_lock(&s->a->lock);
	peer_each_sub(&s->peer, fn, arg);
	pthread_mutex_unlock(&s->a->lock);
}

static void stream_keepalive(struct listener *l)
{
	struct ssess *s = l->ctx;

	fa_hres_write(s->rq, ": ping\n\n", 8);
	fa_hres_flush(s->rq);
}

void mcp_legacy_stream(struct fa_hreq *rq, struct app *a, struct worker *w)
{
	struct ssess *s = calloc(1, sizeof(*s));
	unsigned char r[16];
	char endpoint[80];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	for (size_t i = 0; i < sizeof(r); i++)
		sprintf(s->id + 2 * i, "%02x", r[i]);
	s->a = a;
	s->w = w;
	s->rq = rq;
	s->peer.log_level = -1;
	fa_buf_init(&s->out, 0);
	s->l = (struct listener){ .send = stream_send, .subscribed = stream_subscribed,
				  .subs = stream_subs, .keepalive = stream_keepalive, .end = stream_end,
				  .wants = LISTEN_TOOLS | LISTEN_PROMPTS | LISTEN_RESOURCES | LISTEN_UPDATES,
				  .ctx = s };
	fa_hres_header(rq, "Cache-Control", "no-cache");
	fa_hres_start(rq, 200, "text/event-stream", -1);
	fa_hres_on_abort(rq, stream_abort, s);
	snprintf(endpoint, sizeof(endpoint), "/messages?sessionId=%s", s->id);
	pthread_mutex_lock(&a->lock);
	fa_sse_put_event(&s->out, "endpoint", endpoint, strlen(endpoint));
	s->next = a->legacy;
	a->legacy = s;
	pthread_mutex_unlock(&a->lock);
	listener_add(w, &s->l);
	mcp_legacy_flush(w);
}

/* ---- the POSTs ---- */

struct lreply {
	struct reply r;
	struct app *a;
	char id[33];
};

static void lreply_done(struct reply *r, int status, const char *msg, size_t len)
{
	struct lreply *x = (struct lreply *)r;

	if (len)
		post_event(x->a, x->id, msg, len);      /* a session gone takes it along */
	reply_release(r);
	free(x);
}

static void lreply_notify(struct reply *r, const char *msg, size_t len)
{
	struct lreply *x = (struct lreply *)r;

	post_event(x->a, x->id, msg, len);
}

struct peer_call {
	void (*fn)(struct peer *p, void *arg);
	void *arg;
};

static bool lreply_peer(struct reply *r, void (*fn)(struct peer *p, void *arg), void *arg)
{
	struct lreply *x = (struct lreply *)r;
	struct ssess *s;

	pthread_mutex_lock(&x->a->lock);
	if ((s = find(x->a, x->id)))
		fn(&s->peer, arg);
	pthread_mutex_unlock(&x->a->lock);
	return s != NULL;
}

/* The sessionId of the query string into id (33 bytes); false when none fits. */
static bool session_param(const struct fa_hreq *rq, char id[33])
{
	const char *q = rq->query, *end = rq->query + rq->query_len;

	while (q && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t n = (size_t)((amp ? amp : end) - q);

		if (n > 10 && n - 10 <= 32 && !memcmp(q, "sessionId=", 10)) {
			memcpy(id, q + 10, n - 10);
			id[n - 10] = '\0';
			return true;
		}
		q = amp ? amp + 1 : end;
	}
	return false;
}

static void simple(struct fa_hreq *rq, int status, const char *text)
{
	fa_hres_simple(rq, status, "text/plain; charset=utf-8", text);
}

void mcp_legacy_post(struct fa_hreq *rq, struct app *a, struct worker *w)
{
	struct fa_error err = { 0 };
	struct fa_jr_msg m;
	struct lreply *x;
	char id[33];
	bool open;
	int code;

	if (!session_param(rq, id)) {
		simple(rq, 400, "sessionId is required: GET /sse first\n");
		return;
	}
	pthread_mutex_lock(&a->lock);
	open = find(a, id) != NULL;
	pthread_mutex_unlock(&a->lock);
	if (!open) {
		simple(rq, 404, "session not found: GET /sse again\n");
		return;
	}
	if ((code = fa_jr_parse(&m, rq->body, rq->body_len, &err))) {
		struct fa_buf b;

		fa_buf_init(&b, 0);
		fa_jr_put_error(&b, m.id, code, err.msg, NULL);
		post_event(a, id, b.data, b.len);
		fa_buf_release(&b);
		fa_jr_release(&m);
		simple(rq, 400, "malformed JSON-RPC message: the error went down the stream\n");
		return;
	}
	simple(rq, 202, "Accepted\n");
	if (m.kind == FA_JR_REQUEST) {
		x = calloc(1, sizeof(*x));
		x->r = (struct reply){ .done = lreply_done, .notify = lreply_notify, .with_peer = lreply_peer,
				       .id = json_incref(m.id), .era = ERA_LEGACY };
		x->a = a;
		memcpy(x->id, id, sizeof(x->id));
		x->r.from = x->id;
		mcp_dispatch(w, &m, &x->r);
	} else {
		/* a notification, or a response to a request the proxy passed on */
		w->note_from = id;
		mcp_dispatch(w, &m, NULL);
		w->note_from = NULL;
	}
	fa_jr_release(&m);
}
