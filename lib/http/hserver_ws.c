/*
 * hserver_ws: WebSocket sessions of lib/http/hserver.  An HTTP/1.1
 * request that asked for a WebSocket and was taken with
 * fa_hres_websocket() turns its connection into a session (state C_WS):
 * input goes through lib/http/ws, pings are answered, pings of our own
 * find peers that went silent, and a close from either side ends in the
 * close handshake and then the connection's usual end (C_CLOSING, then
 * C_LINGER), so the client reads our close frame before the FIN.
 *
 * Backpressure: input is not read while the output is over the
 * high-water mark, the send timeout closes a client that takes nothing,
 * and output past ws_max_out closes it at once.
 */
#include "http/hserver_int.h"

#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

struct fa_hws {
	struct fa_hconn *c;
	struct fa_ws rd;
	struct fa_hws_handlers h;
	void *arg;
	struct fa_timer ping;
	size_t max_out;                 /* queued output past this closes the session */
	size_t leftover;                /* frames that came with the handshake */
	int code;                       /* the close code: the peer's, or ours */
	bool pong_due;                  /* a ping went out, no pong yet */
	bool close_sent;                /* our close frame is queued: nothing more goes out */
	bool overflow;                  /* the client stopped reading: close at the end of the turn */
	bool told;                      /* on_close was called */
};

static void on_ping(struct fa_timer *t);

/* The 101 answer, and the extension agreed on. */
static void switch_protocols(struct fa_hconn *c, struct fa_hws *ws)
{
	const struct fa_h1_header *ext = fa_hreq_header(&c->rq, "sec-websocket-extensions");
	struct fa_ws_deflate d = { 0 };
	struct fa_error err;
	char resp[160];

	fa_buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", c->ws_accept);
	if (c->w->s->o.ws_deflate && ext &&
	    fa_ws_deflate_offer(ext->value, ext->value_len, &d, resp, sizeof(resp)) &&
	    fa_ws_use_deflate(&ws->rd, &d, &err) == FA_OK)
		fa_buf_printf(&c->out, "Sec-WebSocket-Extensions: %s\r\n", resp);
	fa_buf_puts(&c->out, "\r\n");
}

struct fa_hws *fa_hres_websocket(struct fa_hreq *rq, const struct fa_hws_handlers *h, void *arg)
{
	struct fa_hconn *c = rq->conn;
	const struct fa_hserver_opts *o = &rq->w->s->o;
	struct fa_hws *ws;

	if (rq->proto != &hs_h1_proto || !rq->websocket || c->dead || c->ws ||
	    !(ws = calloc(1, sizeof(*ws))))
		return NULL;
	ws->c = c;
	ws->h = *h;
	ws->arg = arg;
	ws->max_out = HS_HIGH_WATER * 4 + 2 * (o->ws_max_message ? o->ws_max_message : FA_WS_MAX);
	fa_ws_init(&ws->rd, true, o->ws_max_message);
	switch_protocols(c, ws);
	rq->status = 101;
	rq->res->started = true;
	c->ws = ws;
	c->state = C_WS;
	c->keep_alive = false;
	/* the head stays in c->in for rq's strings; what follows it is frames */
	ws->leftover = c->in.len - c->h1.head_len;
	fa_timer_init(&ws->ping, on_ping, ws);
	if (o->ws_ping_ms > 0)
		fa_timer_start(c->w->loop, &ws->ping, (uint64_t)o->ws_ping_ms);
	hs_dirty(c);
	return ws;
}

struct fa_hreq *fa_hws_request(struct fa_hws *ws)
{
	return &ws->c->rq;
}

/* Queues a frame's bytes: false when the session no longer sends. */
static bool queue(struct fa_hws *ws, struct fa_buf *frame)
{
	struct fa_hconn *c = ws->c;

	if (c->dead || ws->close_sent || ws->overflow)
		return false;
	if (c->out.len + frame->len > ws->max_out) {
		ws->overflow = true;    /* the client takes nothing: end it, not the memory */
		hs_dirty(c);
		return false;
	}
	fa_buf_append(&c->out, frame->data, frame->len);
	c->rq.bytes_out += frame->len;
	hs_dirty(c);
	return true;
}

bool fa_hws_send(struct fa_hws *ws, int op, const void *data, size_t n)
{
	struct fa_buf f;
	bool ok;

	if (ws->c->dead || ws->close_sent || ws->overflow)
		return false;
	fa_buf_init(&f, 0);
	ok = fa_ws_message(&ws->rd, &f, (enum fa_ws_op)op, data, n) == FA_OK && queue(ws, &f);
	fa_buf_release(&f);
	return ok;
}

/* Queues our close frame; the connection ends once it is out. */
static void start_close(struct fa_hws *ws, int code, const char *reason)
{
	struct fa_hconn *c = ws->c;
	struct fa_buf f;

	if (c->dead || ws->close_sent)
		return;
	fa_buf_init(&f, 0);
	fa_ws_close(&f, code, reason);
	ws->overflow = false;
	queue(ws, &f);
	fa_buf_release(&f);
	ws->close_sent = true;
	if (!ws->code)
		ws->code = code;
	fa_timer_stop(c->w->loop, &ws->ping);
	c->state = C_CLOSING;           /* out, then the FIN, then lingering */
	hs_dirty(c);
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

	while (n && !ws->close_sent && !ws->c->dead) {
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

/* The socket is readable: read to its end, unless our output is backed up. */
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

/* At the end of a turn: the bytes that came with the handshake, an overflow, the output. */
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

/* The peer went quiet: no pong since the last ping. */
static void on_ping(struct fa_timer *t)
{
	struct fa_hws *ws = t->ctx;
	struct fa_hconn *c = ws->c;
	struct fa_buf f;

	if (ws->pong_due) {
		start_close(ws, FA_WS_GOING_AWAY, "no pong to the last ping");
		return;
	}
	fa_buf_init(&f, 0);
	fa_ws_frame(&f, FA_WS_PING, true, false, "fa", 2, NULL);
	ws->pong_due = queue(ws, &f);
	fa_buf_release(&f);
	fa_timer_start(c->w->loop, &ws->ping, (uint64_t)c->w->s->o.ws_ping_ms);
}

/* The server stops: a going-away close to every session. */
void hs_ws_stop(struct fa_hconn *c)
{
	start_close(c->ws, FA_WS_GOING_AWAY, "the server is stopping");
}

/* The connection is closed: the application hears it once, then the log. */
void hs_ws_closed(struct fa_hconn *c)
{
	struct fa_hws *ws = c->ws;
	const struct fa_hserver_opts *o = &c->w->s->o;

	fa_timer_stop(c->w->loop, &ws->ping);
	if (ws->told)
		return;
	ws->told = true;
	if (ws->h.on_close)
		ws->h.on_close(ws, ws->code ? ws->code : 1006, ws->arg);
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
