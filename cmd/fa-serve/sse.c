/*
 * fa-serve: listen routes.  Each subscriber's response is a Server-Sent
 * Events stream, or a WebSocket session when the request asked for one
 * (each payload one text message); each worker keeps one LISTEN
 * connection for all the channels its subscribers want, and fans every
 * NOTIFY out to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/hmap.h"
#include "http/sse.h"
#include "http/ws.h"
#include "serve.h"

#define PING_MS 15000

/*
 * A subscriber.  While its route's statement runs (pending), the
 * notifications that arrive are held, to follow the snapshot: LISTEN came
 * first, so none is lost between the snapshot and the stream.
 */
struct sse_sub {
	struct fa_hreq *rq;
	struct wctx *w;
	char *channel;
	bool pending;
	bool dropped;                   /* the worker stopped while it was pending */
	struct fa_buf held;             /* events that came while pending; payloads
					   ending in NUL for a WebSocket */
	struct fa_hws *ws;              /* a WebSocket session, once it began */
	double until;                   /* its token's end (0 or INFINITY: none) */
	struct sse_sub *next;
};


static void forget_sub(struct wctx *w, struct sse_sub *s)
{
	for (struct sse_sub **p = &w->subs; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
}

static void unlink_sub(struct wctx *w, struct sse_sub *s)
{
	forget_sub(w, s);
	fa_buf_release(&s->held);
	free(s->channel);
	free(s);
}

/* The client left, or the server stops: end this stream. */
static void on_abort(struct fa_hreq *rq, void *arg)
{
	struct sse_sub *s = arg;
	struct wctx *w = s->w;

	unlink_sub(w, s);
	fa_hres_end(rq);
}

/* One event into b: the channel names it, the payload is its data. */
static void put_event(struct fa_buf *b, const char *name, const char *payload)
{
	fa_sse_put_event(b, name, payload, strlen(payload));
}

/* s, started, ends for its token: an "error" event and the end, or close 1008; s freed. */
static void end_expired(struct sse_sub *s)
{
	struct fa_hreq *rq = s->rq;
	struct fa_buf b;

	if (s->ws) {            /* its on_close frees it */
		forget_sub(s->w, s);
		fa_hws_close(s->ws, 1008, AUTH_EXPIRED);
		return;
	}
	fa_buf_init(&b, 0);
	put_event(&b, "error", "{\"error\":\"" AUTH_EXPIRED "\"}");
	fa_hres_write(rq, b.data, b.len);
	fa_buf_release(&b);
	unlink_sub(s->w, s);
	fa_hres_end(rq);
}

static void send_event(struct sse_sub *s, const char *channel, const char *payload)
{
	struct fa_buf b;

	if (s->pending && s->rq->websocket) {
		fa_buf_append(&s->held, payload, strlen(payload) + 1);
		return;
	}
	if (s->pending) {
		put_event(&s->held, channel, payload);
		return;
	}
	if (s->ws) {
		fa_hws_send(s->ws, FA_WS_TEXT, payload, strlen(payload));
		return;
	}
	fa_buf_init(&b, 0);
	put_event(&b, channel, payload);
	fa_hres_write(s->rq, b.data, b.len);
	fa_hres_flush(s->rq);
	fa_buf_release(&b);
}

static void on_notify(struct fa_io *io, uint32_t ev)
{
	struct wctx *w = io->ctx;
	PGnotify *n;

	if (!PQconsumeInput(w->listen)) {
		fprintf(stderr, "fa-serve: LISTEN connection lost: %s", PQerrorMessage(w->listen));
		sse_release(w);
		return;
	}
	while ((n = PQnotifies(w->listen))) {
		for (struct sse_sub *s = w->subs, *next; s; s = next) {
			next = s->next;
			if (strcmp(s->channel, n->relname))
				continue;
			if (!s->pending && auth_expired(s->until))
				end_expired(s);
			else
				send_event(s, n->relname, n->extra);
		}
		PQfreemem(n);
	}
}

/* A comment line now and then keeps proxies from closing quiet streams. */
static void on_ping(struct fa_timer *t)
{
	struct wctx *w = t->ctx;

	for (struct sse_sub *s = w->subs, *next; s; s = next) {
		next = s->next;
		if (s->pending)
			continue;
		if (auth_expired(s->until)) {
			end_expired(s);
		} else if (!s->ws) {    /* hserver pings WebSockets itself */
			fa_hres_write(s->rq, ": ping\n\n", 8);
			fa_hres_flush(s->rq);
		}
	}
	if (w->subs)
		fa_timer_start(w->loop, &w->ping, PING_MS);
}

static bool listening(struct wctx *w, const char *channel)
{
	for (int i = 0; i < w->nchannels; i++)
		if (!strcmp(w->channels[i], channel))
			return true;
	return false;
}

/* Connects the worker's LISTEN connection and LISTENs to channel once. */
static const char *ensure_listen(struct wctx *w, const char *channel)
{
	static __thread char msg[1100];
	struct fa_error err = { 0 };
	char *ident, sql[320];
	PGresult *r;

	if (!w->listen) {
		if (!(w->listen = fa_pg_connect(&w->app->target, "fa-serve listen", &err))) {
			snprintf(msg, sizeof(msg), "%s", err.msg);
			return msg;
		}
		w->listen_io = (struct fa_io){ .fd = PQsocket(w->listen), .cb = on_notify, .ctx = w };
		fa_loop_add(w->loop, &w->listen_io, FA_IN);
		fa_timer_init(&w->ping, on_ping, w);
	}
	if (listening(w, channel))
		return NULL;
	ident = PQescapeIdentifier(w->listen, channel, strlen(channel));
	snprintf(sql, sizeof(sql), "LISTEN %s", ident ? ident : "\"?\"");
	PQfreemem(ident);
	r = PQexec(w->listen, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		PQclear(r);
		return msg;
	}
	PQclear(r);
	w->channels = realloc(w->channels, (size_t)(w->nchannels + 1) * sizeof(*w->channels));
	w->channels[w->nchannels++] = strdup(channel);
	return NULL;
}

static void unavailable(struct fa_hreq *rq, const char *why)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_hmap_error_json(&b, 503, NULL, "cannot listen", why);
	fa_hres_simple(rq, 503, "application/json", b.data);
	fa_buf_release(&b);
}

struct sse_sub *sse_open(struct fa_hreq *rq, struct wctx *w, const char *channel, double until)
{
	const char *why = ensure_listen(w, channel);
	struct sse_sub *s;

	if (why || !(s = calloc(1, sizeof(*s)))) {
		unavailable(rq, why);
		return NULL;
	}
	*s = (struct sse_sub){ .rq = rq, .w = w, .channel = strdup(channel), .pending = true,
			       .until = until, .next = w->subs };
	fa_buf_init(&s->held, 16u << 20);
	w->subs = s;
	return s;
}

/* A WebSocket subscriber's session ended: forget it. */
static void ws_closed(struct fa_hws *ws, int code, void *arg)
{
	struct sse_sub *s = arg;

	unlink_sub(s->w, s);
}

/* The session: the snapshot as one message, then what came meanwhile. */
static void start_ws(struct sse_sub *s, const char *snapshot, size_t len)
{
	static const struct fa_hws_handlers h = { .on_close = ws_closed };
	struct fa_hreq *rq = s->rq;

	if (!(s->ws = fa_hres_websocket(rq, &h, s))) {
		forget_sub(s->w, s);
		fa_hres_simple(rq, 400, "application/json",
			       "{\"error\":\"a WebSocket needs HTTP/1.1 here\"}\n");
		fa_buf_release(&s->held);
		free(s->channel);
		free(s);
		return;
	}
	while (snapshot && len && snapshot[len - 1] == '\n')
		len--;
	if (snapshot)
		fa_hws_send(s->ws, FA_WS_TEXT, snapshot, len);
	for (size_t at = 0; at < s->held.len; at += strlen(s->held.data + at) + 1)
		fa_hws_send(s->ws, FA_WS_TEXT, s->held.data + at, strlen(s->held.data + at));
	fa_buf_release(&s->held);
}

void sse_start(struct sse_sub *s, const char *snapshot, size_t len)
{
	struct fa_hreq *rq = s->rq;
	struct wctx *w = s->w;
	struct fa_buf b;

	if (s->dropped || fa_hres_gone(rq)) {
		if (!s->dropped)
			forget_sub(w, s);
		s->dropped ? unavailable(rq, "the server is stopping") : fa_hres_end(rq);
		fa_buf_release(&s->held);
		free(s->channel);
		free(s);
		return;
	}
	s->pending = false;
	if (rq->websocket)
		return start_ws(s, snapshot, len);
	fa_hres_header(rq, "Cache-Control", "no-cache");
	fa_hres_start(rq, 200, "text/event-stream", -1);
	fa_hres_on_abort(rq, on_abort, s);
	fa_buf_init(&b, 0);
	fa_buf_puts(&b, ": listening\n\n");
	if (snapshot) {
		struct fa_buf rows;

		fa_buf_init(&rows, 0);
		fa_buf_append(&rows, snapshot, len);
		while (rows.len && rows.data[rows.len - 1] == '\n')
			rows.len--;
		fa_buf_putc(&rows, '\0');
		put_event(&b, "snapshot", rows.data);
		fa_buf_release(&rows);
	}
	fa_buf_append(&b, s->held.data ? s->held.data : "", s->held.len);
	fa_hres_write(rq, b.data, b.len);
	fa_hres_flush(rq);
	fa_buf_release(&b);
	fa_buf_release(&s->held);
	fa_timer_start(w->loop, &w->ping, PING_MS);
}

void sse_cancel(struct sse_sub *s)
{
	if (!s->dropped)
		forget_sub(s->w, s);
	fa_buf_release(&s->held);
	free(s->channel);
	free(s);
}

void sse_subscribe(struct fa_hreq *rq, struct wctx *w, const char *channel, double until)
{
	struct sse_sub *s = sse_open(rq, w, channel, until);

	if (s)
		sse_start(s, NULL, 0);
}

void sse_release(struct wctx *w)
{
	while (w->subs) {
		struct sse_sub *s = w->subs;
		struct fa_hreq *rq = s->rq;

		if (s->pending) {       /* its statement's end frees it */
			forget_sub(w, s);
			s->dropped = true;
			continue;
		}
		if (s->ws) {            /* its on_close frees it */
			forget_sub(w, s);
			fa_hws_close(s->ws, 1011, "the LISTEN connection was lost");
			continue;
		}
		unlink_sub(w, s);
		fa_hres_end(rq);
	}
	if (w->listen) {
		fa_timer_stop(w->loop, &w->ping);
		fa_loop_del(w->loop, &w->listen_io);
		PQfinish(w->listen);
		w->listen = NULL;
	}
	for (int i = 0; i < w->nchannels; i++)
		free(w->channels[i]);
	free(w->channels);
	w->channels = NULL;
	w->nchannels = 0;
}
