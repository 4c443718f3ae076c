#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUFFERED_ITEMS 4096

struct batch_item {
	struct batch *b;
	struct fa_pgq q;
	char *sql;
	char where[600];
	struct fa_buf out;              /* rows, tags and timing, until its turn */
	struct fa_buf err;              /* error text, printed in turn */
	struct fa_fmt fmt;
	bool begun, done, aborted;
	bool lost;                      /* the server ended its connection while it ran */
	long rows;
	uint64_t t0;
	enum fa_err rc;
};

void batch_init(struct batch *b, struct session *s)
{
	memset(b, 0, sizeof(*b));
	b->s = s;
}

static void item_free(struct batch_item *it)
{
	fa_fmt_release(&it->fmt);
	fa_buf_release(&it->out);
	fa_buf_release(&it->err);
	free(it->sql);
	free(it);
}

/* Prints finished items from the head on; streams the head's rows. */
static void print_ready(struct batch *b)
{
	struct session *s = b->s;

	while (b->head < b->n) {
		struct batch_item *it = b->items[b->head];

		if (it->out.len) {
			out_write(s, it->out.data, it->out.len);
			fa_buf_reset(&it->out);
		}
		if (!it->done)
			return;
		out_flush(s);
		if (it->err.len)
			fputs(it->err.data, stderr);
		b->items[b->head++] = NULL;
		item_free(it);
	}
}

static void pump(struct batch *b);

/*
 * The errors after which the connection is gone: libpq's own (no SQLSTATE:
 * "server closed the connection unexpectedly"), class 08, and the
 * server's shutdown and termination of the backend.
 */
static bool ends_connection(const char *sqlstate)
{
	return !sqlstate || fa_pg_sqlstate_ends_connection(sqlstate);
}

static void item_result(struct fa_pgq *q, PGresult *res)
{
	struct batch_item *it = q->ctx;
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_PIPELINE_ABORTED) {
		it->aborted = true;
	} else if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) {
		if (it->where[0])
			fa_buf_printf(&it->err, "fa-pg:%s: ", it->where);
		fa_pg_error_render(&it->err, res, it->sql, false);
		it->rc = FA_EWORK;
		it->lost |= ends_connection(PQresultErrorField(res, PG_DIAG_SQLSTATE));
	} else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
		fa_buf_printf(&it->err, "fa-pg:%s%sCOPY is not supported with -j or --pipeline "
			      "(use fa-copy)\n", it->where, it->where[0] ? ": " : " ");
		it->rc = FA_EWORK;
	} else {
		print_result(it->b->s, res, it->sql, it->where, &it->fmt, &it->begun, &it->rows);
	}
	PQclear(res);
	if (it->b->items[it->b->head] == it && it->out.len >= OUT_FLUSH_AT)
		print_ready(it->b);
}

static void item_done(struct fa_pgq *q, enum fa_err rc, const char *msg)
{
	struct batch_item *it = q->ctx;
	struct batch *b = it->b;
	char brief[128];

	statement_brief(brief, sizeof(brief), it->sql);
	if (it->lost) {
		/* the pool may end it with FA_ECONNECT too: one message */
		fa_buf_printf(&it->err, "fa-pg:%s%sconnection lost while running \"%s\": its outcome "
			      "is unknown; statements after it not yet started were not run\n",
			      it->where, it->where[0] ? ": " : " ", brief);
		it->rc = FA_ECONNECT;
	} else if (rc == FA_ECONNECT) {
		fa_buf_printf(&it->err, "fa-pg:%s%s\"%s\" did not complete: %s\n", it->where,
			      it->where[0] ? ": " : " ", brief, msg ? msg : "connection to server lost");
		it->rc = rc;
	} else if (rc != FA_OK) {
		fa_buf_printf(&it->err, "fa-pg:%s%s%s\n", it->where, it->where[0] ? ": " : " ",
			      msg ? msg : "failed");
		it->rc = rc;
	}
	if (it->begun)
		fa_fmt_end(&it->fmt);
	if (it->aborted && !it->rc) {
		b->aborted++;   /* summed up once, after the failed statement */
		it->rc = FA_EWORK;
	}
	{
		double ms = (double)(fa_now_ns() - it->t0) / 1e6;
		const struct fa_hist *h = timing_record(b->s, it->sql, ms);

		if (b->s->timing)
			timing_format(&it->out, ms, h);
	}
	it->done = true;
	if (it->rc && !b->rc)
		b->rc = it->rc;
	if (it->rc && (it->rc != FA_EWORK || !b->s->continue_on_error))
		b->stop = true;
	print_ready(b);
	pump(b);
}

static enum fa_err start_pool(struct batch *b)
{
	struct fa_pool_opts o = { .size = b->s->pipeline ? 1 : b->s->jobs, .depth = 1,
				  .app = "fa-pg", .timeout_ms = -1, .fail_fast = true };
	struct fa_error err = { 0 };

	if (!b->loop && !(b->loop = fa_loop_new(&err)))
		goto fail;
	if (!(b->pool = fa_pool_new(b->loop, &b->s->target, &o, &err)))
		goto fail;
	return FA_OK;
fail:
	fprintf(stderr, "fa-pg: %s\n", err.msg);
	return err.code ? err.code : FA_ECONNECT;
}

/*
 * Hands work to the pool only as fast as it can run, so that a failure
 * stops what comes after it: with -j at most N statements in flight, with
 * --pipeline one batch at a time (and only full batches until draining).
 */
static void pump(struct batch *b)
{
	long per = b->s->pipeline ? b->s->batch : 1;
	long limit = b->s->pipeline ? 1 : b->s->jobs;
	struct fa_pgq *one, **qs;

	if (b->s->pipeline && fa_pool_pending(b->pool) > 0)
		return;
	qs = per == 1 ? &one : malloc((size_t)per * sizeof(*qs));
	while (qs && !b->stop && b->unsent < b->n && fa_pool_pending(b->pool) < limit &&
	       (b->draining || b->n - b->unsent >= per)) {
		int k = 0;

		while (k < per && b->unsent < b->n) {
			struct batch_item *it = b->items[b->unsent++];

			it->t0 = fa_now_ns();
			qs[k++] = &it->q;
		}
		fa_pool_submit(b->pool, qs, k);
		if (b->s->pipeline)
			break;
	}
	if (qs != &one)
		free(qs);
}

static enum fa_err wait_some(struct batch *b, int timeout)
{
	if (fa_loop_run_once(b->loop, timeout) < 0 && errno == EINTR && interrupted) {
		fa_pool_cancel(b->pool);
		b->stop = true;
		return FA_EINTR;
	}
	return FA_OK;
}

static enum fa_err add_item(struct batch *b, const char *sql, const char *where, int np)
{
	struct batch_item *it = calloc(1, sizeof(*it));

	if (!it)
		return FA_ENOMEM;
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 256;
		struct batch_item **n = realloc(b->items, (size_t)cap * sizeof(*n));

		if (!n) {
			free(it);
			return FA_ENOMEM;
		}
		b->items = n;
		b->cap = cap;
	}
	it->b = b;
	it->sql = strdup(sql);
	snprintf(it->where, sizeof(it->where), "%s", where ? where : "");
	fa_buf_init(&it->out, 0);
	fa_buf_init(&it->err, 0);
	fa_fmt_init(&it->fmt, &b->s->fmt, &it->out);
	it->q = (struct fa_pgq){ .sql = it->sql, .nparams = np,
				 .params = b->s->params, .single_row = true,
				 .on_result = item_result, .on_done = item_done, .ctx = it };
	b->items[b->n++] = it;
	return FA_OK;
}

enum fa_err batch_add(struct batch *b, const char *sql, const char *where)
{
	enum fa_err rc;
	int np;

	if (b->stop)
		return b->rc;
	if ((rc = check_params(b->s, sql, where, &np)))
		return rc;
	if (!b->pool && (rc = start_pool(b)))
		return rc;
	if ((rc = add_item(b, sql, where, np)))
		return rc;
	pump(b);
	while (!b->stop && b->n - b->head > MAX_BUFFERED_ITEMS)
		if ((rc = wait_some(b, -1)))
			return rc;
	wait_some(b, 0);
	return b->stop ? b->rc : FA_OK;
}

enum fa_err batch_drain(struct batch *b)
{
	if (!b->pool)
		return b->rc;
	b->draining = true;
	pump(b);
	while (fa_pool_pending(b->pool) > 0 || (!b->stop && b->unsent < b->n)) {
		if (wait_some(b, -1) == FA_EINTR) {
			b->rc = FA_EINTR;
			break;
		}
		pump(b);
	}
	b->draining = false;
	print_ready(b);
	out_flush(b->s);
	if (b->aborted)
		fprintf(stderr, "fa-pg: the failed statement's pipeline batch was rolled back; "
			"%d statement%s after it in that batch did not run\n", b->aborted,
			b->aborted == 1 ? "" : "s");
	b->aborted = 0;
	/* what was never submitted after a stop is dropped */
	for (int i = b->head; i < b->n; i++)
		if (b->items[i])
			item_free(b->items[i]);
	b->n = b->head = b->unsent = 0;
	return b->rc;
}

void batch_release(struct batch *b)
{
	batch_drain(b);
	fa_pool_free(b->pool);
	fa_loop_free(b->loop);
	free(b->items);
	memset(b, 0, sizeof(*b));
}
