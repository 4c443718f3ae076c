/*
 * fa-serve: stream routes with backpressure.  A streamed statement runs on
 * a connection of its own, not on the worker's shared pipeline, so that
 * the server can stop reading rows while the client is slow: libpq's
 * socket then fills, and TCP flow control holds the database back, instead
 * of the rows piling up in fa-serve's memory.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

struct stream {
	struct wctx *w;
	struct fa_hreq *rq;
	struct fa_pgq *q;
	PGconn *pg;
	struct fa_io io;
	bool connecting, paused;
};

static void stream_end(struct stream *s, enum fa_err rc, const char *msg)
{
	struct fa_pgq *q = s->q;

	fa_loop_del(s->w->loop, &s->io);
	PQfinish(s->pg);
	free(s);
	q->on_done(q, rc, msg);         /* ends the response, frees the call */
}

static void resume(struct fa_hreq *rq, void *arg);

/* Hands over the results libpq has; pauses when the client falls behind. */
static void pump(struct stream *s)
{
	PGresult *res;

	while (!PQisBusy(s->pg)) {
		if (!(res = PQgetResult(s->pg))) {
			stream_end(s, FA_OK, NULL);
			return;
		}
		s->q->on_result(s->q, res);
		if (!fa_hres_writable(s->rq)) {
			s->paused = true;
			fa_loop_mod(s->w->loop, &s->io, 0);
			fa_hres_on_drain(s->rq, resume, s);
			return;
		}
	}
	fa_hres_flush(s->rq);   /* waiting on the database: let the rows so far go */
}

static void resume(struct fa_hreq *rq, void *arg)
{
	struct stream *s = arg;

	s->paused = false;
	fa_loop_mod(s->w->loop, &s->io, FA_IN);
	pump(s);
}

static void send_query(struct stream *s)
{
	char msg[512];

	if (!PQsendQueryParams(s->pg, s->q->sql, s->q->nparams, s->q->types, s->q->params, NULL,
			       NULL, 0) || !PQsetSingleRowMode(s->pg)) {
		stream_end(s, FA_ECONNECT, fa_pg_conn_message(s->pg, msg, sizeof(msg)));
		return;
	}
	fa_loop_mod(s->w->loop, &s->io, FA_IN);
}

static void on_io(struct fa_io *io, uint32_t ev)
{
	struct stream *s = io->ctx;
	char msg[512];

	if (s->connecting) {
		PostgresPollingStatusType st = PQconnectPoll(s->pg);

		if (st == PGRES_POLLING_FAILED) {
			stream_end(s, FA_ECONNECT, fa_pg_conn_message(s->pg, msg, sizeof(msg)));
		} else if (st == PGRES_POLLING_OK) {
			s->connecting = false;
			send_query(s);
		} else {
			/* a multi-host conninfo may switch sockets: see pgpool.c */
			fa_loop_del(s->w->loop, &s->io);
			s->io.fd = PQsocket(s->pg);
			fa_loop_add(s->w->loop, &s->io, st == PGRES_POLLING_READING ? FA_IN : FA_OUT);
		}
		return;
	}
	if (!PQconsumeInput(s->pg)) {
		stream_end(s, FA_ECONNECT, fa_pg_conn_message(s->pg, msg, sizeof(msg)));
		return;
	}
	pump(s);
}

/* The client left: stop the statement, end the response. */
static void on_abort(struct fa_hreq *rq, void *arg)
{
	struct stream *s = arg;
	PGcancel *cancel = PQgetCancel(s->pg);
	char errbuf[256];

	if (cancel && !s->connecting) {
		PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
	stream_end(s, FA_EINTR, "the client went away");
}

void stream_run(struct wctx *w, struct fa_hreq *rq, struct fa_pgq *q)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct fa_error err = { 0 };

	if (!s || !(s->pg = fa_pg_connect_start(&w->app->target, "fa-serve stream", &err))) {
		free(s);
		q->on_done(q, FA_ECONNECT, err.msg);
		return;
	}
	*s = (struct stream){ .w = w, .rq = rq, .q = q, .pg = s->pg, .connecting = true };
	s->io = (struct fa_io){ .fd = PQsocket(s->pg), .cb = on_io, .ctx = s };
	fa_loop_add(w->loop, &s->io, FA_OUT);
	fa_hres_on_abort(rq, on_abort, s);
}
