/*
 * fa-pg: \bench [-c CONNS] [-T SECS | -n N] SQL runs one statement over
 * the pool, keeping every connection busy, and prints throughput and
 * latency percentiles from an HDR histogram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fapg.h"
#include "pg/sqlsplit.h"
#include "core/loop.h"
#include "core/opt.h"
#include "pg/pgpool.h"
#include "core/stats.h"

struct bench {
	struct session *s;
	struct fa_pool *pool;
	struct fa_pgq *qs;
	uint64_t *t0;
	struct fa_hist hist;
	uint64_t deadline;              /* 0 with -n */
	long limit, started, done, errors;
	char errmsg[1024];
};

static void bench_result(struct fa_pgq *q, PGresult *res)
{
	struct bench *b = q->ctx;
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR && !b->errors++) {
		struct fa_buf e;

		fa_buf_init(&e, sizeof(b->errmsg) - 1);
		fa_pg_error_render(&e, res, q->sql, false);
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", e.data ? e.data : "");
		fa_buf_release(&e);
	}
	PQclear(res);
}

static bool more(const struct bench *b)
{
	if (b->errors || interrupted)
		return false;
	if (b->deadline)
		return fa_now_ns() < b->deadline;
	return b->started < b->limit;
}

static void start_one(struct bench *b, struct fa_pgq *q)
{
	struct fa_pgq *one = q;

	b->t0[q - b->qs] = fa_now_ns();
	b->started++;
	fa_pool_submit(b->pool, &one, 1);
}

static void bench_done(struct fa_pgq *q, enum fa_err rc, const char *msg)
{
	struct bench *b = q->ctx;

	if (rc != FA_OK && !b->errors++)
		snprintf(b->errmsg, sizeof(b->errmsg), "%s\n", msg ? msg : "connection lost");
	fa_hist_record(&b->hist, fa_now_ns() - b->t0[q - b->qs]);
	b->done++;
	if (more(b))
		start_one(b, q);
}

struct bench_args {
	long conns, secs, n;
	const char *sql;
};

static enum fa_err parse(const char *args, struct bench_args *a)
{
	struct fa_error err = { 0 };
	const char *p = args;
	char *w;

	a->conns = 1;
	a->secs = 0;
	a->n = 0;
	for (;;) {
		const char *before = p;

		if (!(w = meta_arg(&p)))
			break;
		if (w[0] != '-') {
			free(w);
			a->sql = before;
			break;
		}
		{
			char *v = meta_arg(&p);
			long *dst = !strcmp(w, "-c") ? &a->conns : !strcmp(w, "-T") ? &a->secs :
				!strcmp(w, "-n") ? &a->n : NULL;

			if (!dst || !v || fa_opt_int(w, v, 1, 100000000, dst, &err)) {
				fprintf(stderr, "fa-pg: \\bench: %s\n", dst && v ? err.msg :
					"usage: \\bench [-c CONNS] [-T SECS | -n N] SQL");
				free(w);
				free(v);
				return FA_EUSAGE;
			}
			free(v);
		}
		free(w);
	}
	while (a->sql && (*a->sql == ' ' || *a->sql == '\t'))
		a->sql++;
	if (!a->sql || !*a->sql) {
		fprintf(stderr, "fa-pg: \\bench: usage: \\bench [-c CONNS] [-T SECS | -n N] SQL\n");
		return FA_EUSAGE;
	}
	if (!a->secs && !a->n)
		a->secs = 5;
	return FA_OK;
}

static void report(struct session *s, struct bench *b, long conns, double secs)
{
	const struct fa_hist *h = &b->hist;

	fa_buf_printf(&s->out, "%ld statements in %.2f s over %ld connection%s: %.1f tps\n",
		      b->done, secs, conns, conns == 1 ? "" : "s", (double)b->done / secs);
	fa_buf_printf(&s->out, "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		      (double)fa_hist_percentile(h, 50) / 1e6, (double)fa_hist_percentile(h, 90) / 1e6,
		      (double)fa_hist_percentile(h, 99) / 1e6, (double)h->max / 1e6);
	out_flush(s);
}

enum fa_err pool_bench(struct session *s, const char *args)
{
	struct fa_pool_opts o = { .depth = 1, .app = "fa-pg bench", .timeout_ms = -1,
				  .fail_fast = true };
	struct fa_error err = { 0 };
	struct bench_args a;
	struct bench b = { .s = s };
	struct fa_loop *loop;
	enum fa_err rc;
	uint64_t t0;

	if ((rc = parse(args, &a)))
		return rc;
	o.size = (int)a.conns;
	if (!(loop = fa_loop_new(&err)) || !(b.pool = fa_pool_new(loop, &s->target, &o, &err))) {
		fprintf(stderr, "fa-pg: \\bench: %s\n", err.msg);
		fa_loop_free(loop);
		return err.code;
	}
	b.qs = calloc((size_t)a.conns, sizeof(*b.qs));
	b.t0 = calloc((size_t)a.conns, sizeof(*b.t0));
	fa_hist_init(&b.hist);
	b.limit = a.n;
	t0 = fa_now_ns();
	b.deadline = a.secs ? t0 + (uint64_t)a.secs * 1000000000u : 0;
	for (long i = 0; i < a.conns && more(&b); i++) {
		b.qs[i] = (struct fa_pgq){ .sql = a.sql, .nparams = fa_sql_max_param(a.sql),
					   .prepare = true,
					   .params = s->params, .on_result = bench_result,
					   .on_done = bench_done, .ctx = &b };
		start_one(&b, &b.qs[i]);
	}
	while (fa_pool_pending(b.pool) > 0)
		if (fa_loop_run_once(loop, 100) < 0 && errno == EINTR && interrupted)
			fa_pool_cancel(b.pool);
	if (b.errors)
		fprintf(stderr, "fa-pg: \\bench stopped: %s", b.errmsg);
	report(s, &b, a.conns, (double)(fa_now_ns() - t0) / 1e9);
	interrupted = 0;
	fa_pool_free(b.pool);
	fa_loop_free(loop);
	fa_hist_release(&b.hist);
	free(b.qs);
	free(b.t0);
	return b.errors ? FA_EWORK : FA_OK;
}
