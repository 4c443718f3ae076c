/*
 * hserver_ws: WebSocket sessions of lib/http/hserver.  A request that
 * asked for a WebSocket and was taken with fa_hres_websocket() becomes a
 * session: input goes through lib/http/ws, pings are answered, pings of
 * our own find peers that went silent, and a close from either side ends
 * in the close handshake.  The session code is the same over both
 * carriers:
 *
 * HTTP/1.1: the connection becomes the session (state C_WS), answered
 * 101; its end is the connection's usual one (C_CLOSING, then C_LINGER),
 * so the client reads our close frame before the FIN.
 *
 * HTTP/2 (RFC 8441): an extended CONNECT's stream is the session,
 * answered 200; its DATA carries the frames both ways, and its end is
 * END_STREAM (RST_STREAM for a client that fell behind).
 *
 * Backpressure: HTTP/1.1 input is not read while the output is over the
 * high-water mark; the send timeout closes a client that takes nothing;
 * and output queued past max_out closes it at once, over either.
 */
#include "http/hserver_int.h"

#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

struct fa_hws {
	struct fa_hreq *rq;
	struct fa_hconn *c;             /* HTTP/1.1: the connection it took over; NULL over h2 */
	struct fa_ws rd;
	struct fa_hws_handlers h;
	void *arg;
	struct fa_timer timer;          /* pings; over h2 also the end, from the loop */
	size_t max_out;                 /* queued output past this closes the session */
	size_t leftover;                /* frames that came with the handshake */
	int code;                       /* the close code: the peer's, or ours */
	bool pong_due;                  /* a ping went out, no pong yet */
	bool close_sent;                /* our close frame is queued: nothing more goes out */
	bool overflow;                  /* the client stopped reading: close from the loop */
	bool told;                      /* on_close was called */
};

static void on_timer(struct fa_timer *t);

static bool gone(const struct fa_hws *ws)
{
	return ws->c ? ws->c->dead : fa_hres_gone(ws->rq);
}

/* Output queued and not yet taken by the client. */
static size_t queued(const struct fa_hws *ws)
{
	const struct hs_h2req *r = (const struct hs_h2req *)ws->rq;     /* rq comes first */

	return ws->c ? ws->c->out.len : r->st ? fa_h2_buffered(r->st) : 0;
}

/* What must not run under the caller: HTTP/1.1 at the end of the turn, h2 by the timer. */
static void later(struct fa_hws *ws)
{
	if (ws->c)
		hs_dirty(ws->c);
	else
		fa_timer_start(ws->rq->loop, &ws->timer, 0);
}

/* The 101 (HTTP/1.1) or 200 (h2) answer, and the extension agreed on. */
static void switch_protocols(struct fa_hws *ws)
{
	const struct fa_h1_header *ext = fa_hreq_header(ws->rq, "sec-websocket-extensions");
	struct fa_ws_deflate d = { 0 };
	struct fa_error err;
	char resp[160];
	bool agreed = ws->rq->w->s->o.ws_deflate && ext &&
		      fa_ws_deflate_offer(ext->value, ext->value_len, &d, resp, sizeof(resp)) &&
		      fa_ws_use_deflate(&ws->rd, &d, &err) == FA_OK;

	if (!ws->c) {
		if (agreed)
			fa_hres_header(ws->rq, "Sec-WebSocket-Extensions", resp);
		fa_hres_start(ws->rq, 200, NULL, -1);
		return;
	}
	fa_buf_printf(&ws->c->out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", ws->c->ws_accept);
	if (agreed)
		fa_buf_printf(&ws->c->out, "Sec-WebSocket-Extensions: %s\r\n", resp);
	fa_buf_puts(&ws->c->out, "\r\n");
	ws->rq->status = 101;
	ws->rq->res->started = true;
}

static void h2_abort(struct fa_hreq *rq, void *arg);

/* The carrier's side: the connection becomes the session, or the stream does. */
static void take_over(struct fa_hws *ws)
{
	struct fa_hconn *c = ws->c;

	if (!c) {
		((struct hs_h2req *)ws->rq)->ws = ws;
		fa_hres_on_abort(ws->rq, h2_abort, ws);
		return;
	}
	c->ws = ws;
	c->state = C_WS;
	c->keep_alive = false;
	/* the head stays in c->in for rq's strings; what follows it is frames */
	ws->leftover = c->in.len - c->h1.head_len;
	hs_dirty(c);
}

struct fa_hws *fa_hres_websocket(struct fa_hreq *rq, const struct fa_hws_handlers *h, void *arg)
{
	const struct fa_hserver_opts *o = &rq->w->s->o;
	bool h1 = rq->proto == &hs_h1_proto;
	struct fa_hws *ws;

	if (!rq->websocket || (!h1 && rq->proto != &hs_h2_proto) || fa_hres_gone(rq) ||
	    (h1 && rq->conn->ws) || !(ws = calloc(1, sizeof(*ws))))
		return NULL;
	*ws = (struct fa_hws){ .rq = rq, .c = h1 ? rq->conn : NULL, .h = *h, .arg = arg };
	ws->max_out = HS_HIGH_WATER * 4 + 2 * (o->ws_max_message ? o->ws_max_message : FA_WS_MAX);
	fa_ws_init(&ws->rd, true, o->ws_max_message);
	fa_timer_init(&ws->timer, on_timer, ws);
	switch_protocols(ws);
	take_over(ws);
	if (o->ws_ping_ms > 0)
		fa_timer_start(rq->loop, &ws->timer, (uint64_t)o->ws_ping_ms);
	return ws;
}

struct fa_hreq *fa_hws_request(struct fa_hws *ws)
{
	return ws->rq;
}

/* Queues a frame's bytes: false when the session no longer sends. */
static bool queue(struct fa_hws *ws, const struct fa_buf *frame)
{
	if (gone(ws) || ws->close_sent || ws->overflow)
		return false;
	if (queued(ws) + frame->len > ws->max_out) {
		ws->overflow = true;    /* the client takes nothing: end it, not the memory */
		later(ws);
		return false;
	}
	if (!ws->c) {
		fa_hres_write(ws->rq, frame->data, frame->len);
		return true;
	}
	fa_buf_append(&ws->c->out, frame->data, frame->len);
	ws->rq->bytes_out += frame->len;
	hs_dirty(ws->c);
	return true;
}

bool fa_hws_send(struct fa_hws *ws, int op, const void *data, size_t n)
{
	struct fa_buf f;
	bool ok;

	if (gone(ws) || ws->close_sent || ws->overflow)
		return false;
	fa_buf_init(&f, 0);
	ok = fa_ws_message(&ws->rd, &f, (enum fa_ws_op)op, data, n) == FA_OK && queue(ws, &f);
	fa_buf_release(&f);
	return ok;
}

/* Queues our close frame; the connection or the stream ends once it is out. */
static void start_close(struct fa_hws *ws, int code, const char *reason)
{
	struct fa_buf f;

	if (gone(ws) || ws->close_sent)
		return;
	fa_buf_init(&f, 0);
	fa_ws_close(&f, code, reason);
	ws->overflow = false;
	queue(ws, &f);
	fa_buf_release(&f);
	ws->close_sent = true;
	if (!ws->code)
		ws->code = code;
	if (!ws->c) {
		later(ws);      /* the stream's end, from the loop */
		return;
	}
	fa_timer_stop(ws->rq->loop, &ws->timer);
	ws->c->state = C_CLOSING;       /* out, then the FIN, then lingering */
	hs_dirty(ws->c);
}

void fa_hws_close(struct fa_hws *ws, int code, const char *reason)
{
	start_close(ws, code, reason);
}

/* A message or control frame from the peer. */
static void take(struct fa_hws *ws, const struct fa_ws_msg *m)
{
	struct fa_buf f;

	switch (m->op) {
	case FA_WS_PING:
		fa_buf_init(&f, 0);
		fa_ws_frame(&f, FA_WS_PONG, true, false, m->data, m->len, NULL);
		queue(ws, &f);
		fa_buf_release(&f);
		break;
	case FA_WS_PONG:
		ws->pong_due = false;
		break;
	case FA_WS_CLOSE:
		ws->code = m->code;
		start_close(ws, m->code, "");   /* the echo of its code */
		break;
	default:
		if (ws->h.on_message)
			ws->h.on_message(ws, m->op, m->data, m->len, ws->arg);
		break;
	}
}

/* Bytes from the peer through the reader; a violation closes with its code. */
static void feed(struct fa_hws *ws, const char *p, size_t n)
{
	struct fa_ws_msg m;
	struct fa_error err;
	size_t used;
	int rc;

	while (n && !ws->close_sent && !gone(ws)) {
		rc = fa_ws_feed(&ws->rd, p, n, &used, &m, &err);
		p += used;
		n -= used;
		if (rc < 0) {
			start_close(ws, ws->rd.close_code, err.msg);
			return;
		}
		if (rc == 0)
			return;
		take(ws, &m);
	}
}

void hs_ws_input(struct fa_hws *ws, const char *data, size_t n)
{
	feed(ws, data, n);
}

/* HTTP/1.1: the socket is readable; read to its end, unless our output is backed up. */
void hs_ws_read(struct fa_hconn *c)
{
	char buf[16384];
	ssize_t n;

	while (c->state == C_WS && !c->dead && c->out.len < HS_HIGH_WATER) {
		if ((n = hs_recv(c, buf, sizeof(buf))) == -1)
			break;
		if (n <= 0) {
			hs_conn_close(c);       /* gone without a close frame: 1006 */
			return;
		}
		feed(c->ws, buf, (size_t)n);
	}
	if (!c->dead)
		hs_dirty(c);
}

/* HTTP/1.1, at the end of a turn: the bytes that came with the handshake, an overflow, the output. */
void hs_ws_pump(struct fa_hconn *c)
{
	struct fa_hws *ws = c->ws;

	if (ws->leftover && c->state == C_WS) {
		size_t n = ws->leftover;

		ws->leftover = 0;
		feed(ws, c->in.data + c->in.len - n, n);
		c->in.len -= n;
	}
	if (ws->overflow) {
		hs_conn_close(c);
		return;
	}
	hs_flush(c);
}

/* The application hears the end, once. */
static void tell(struct fa_hws *ws)
{
	if (ws->told)
		return;
	ws->told = true;
	if (ws->h.on_close)
		ws->h.on_close(ws, ws->code ? ws->code : 1006, ws->arg);
}

/* h2: the session is over; the stream ends (reset when the client fell behind) and goes. */
static void h2_finish(struct fa_hws *ws, bool failed)
{
	struct fa_hreq *rq = ws->rq;

	fa_timer_stop(rq->loop, &ws->timer);
	tell(ws);
	((struct hs_h2req *)rq)->ws = NULL;
	if (failed)
		fa_hres_fail(rq);       /* logs it; rq may be freed */
	else
		fa_hres_end(rq);
	hs_ws_free(ws);
}

/* h2: the stream went (reset, the connection lost), or the server stops. */
static void h2_abort(struct fa_hreq *rq, void *arg)
{
	struct fa_hws *ws = arg;
	struct fa_buf f;

	if (!gone(ws) && !ws->close_sent) {     /* stopping: say so */
		fa_buf_init(&f, 0);
		fa_ws_close(&f, FA_WS_GOING_AWAY, "the server is stopping");
		queue(ws, &f);
		fa_buf_release(&f);
		ws->code = FA_WS_GOING_AWAY;
		ws->close_sent = true;
	}
	h2_finish(ws, false);
}

/* A ping due, or over h2 the end the session asked for. */
static void on_timer(struct fa_timer *t)
{
	struct fa_hws *ws = t->ctx;
	struct fa_buf f;

	if (!ws->c && (ws->close_sent || ws->overflow)) {
		h2_finish(ws, ws->overflow && !ws->close_sent);
		return;
	}
	if (ws->pong_due) {
		start_close(ws, FA_WS_GOING_AWAY, "no pong to the last ping");
		return;
	}
	fa_buf_init(&f, 0);
	fa_ws_frame(&f, FA_WS_PING, true, false, "fa", 2, NULL);
	ws->pong_due = queue(ws, &f);
	fa_buf_release(&f);
	fa_timer_start(ws->rq->loop, &ws->timer, (uint64_t)ws->rq->w->s->o.ws_ping_ms);
}

/* HTTP/1.1: the server stops; a going-away close to every session. */
void hs_ws_stop(struct fa_hconn *c)
{
	start_close(c->ws, FA_WS_GOING_AWAY, "the server is stopping");
}

/* HTTP/1.1: the connection is closed; the application hears it once, then the log. */
void hs_ws_closed(struct fa_hconn *c)
{
	struct fa_hws *ws = c->ws;
	const struct fa_hserver_opts *o = &c->w->s->o;

	fa_timer_stop(c->w->loop, &ws->timer);
	if (ws->told)
		return;
	tell(ws);
	if (o->on_done)
		o->on_done(&c->rq, o->app);
}

void hs_ws_free(struct fa_hws *ws)
{
	if (!ws)
		return;
	fa_ws_release(&ws->rd);
	free(ws);
}
