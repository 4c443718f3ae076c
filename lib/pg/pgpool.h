/*
 * pgpool: PostgreSQL connections driven by an event loop.
 *
 * Every connection is nonblocking and in pipeline mode.  Work is submitted
 * as batches: a batch is a list of queries sent back to back to one
 * connection and closed by one Sync, so it runs as one implicit
 * transaction (an error aborts the rest of the batch, which get
 * PGRES_PIPELINE_ABORTED).  A batch of one query is plain autocommit.
 * depth batches may be in flight per connection: depth 1 gives one round
 * trip per batch with clear error semantics; more overlaps round trips.
 *
 * A query marked prepare is prepared once per connection (the pool names
 * it) and then executed by name: parse and plan once, not per call.  A
 * statement is its text and its parameter types together: the same text
 * with other types is prepared again, under another name.
 *
 * Results are handed to the query's on_result callback, which owns and
 * must PQclear() them; on_done runs once when the query's results end.
 * Queries are caller-owned and must stay alive until on_done.
 */
#ifndef FA_PGPOOL_H
#define FA_PGPOOL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/err.h"
#include "core/loop.h"
#include "pg/pgconn.h"

struct fa_pgq {
	const char *sql;
	int nparams;
	const char *const *params;
	const Oid *types;               /* parameter types, or NULL: the server infers */
	bool single_row;                /* stream rows as PGRES_SINGLE_TUPLE */
	bool prepare;                   /* prepare once per connection, run by name */
	void (*on_result)(struct fa_pgq *q, PGresult *res);
	void (*on_done)(struct fa_pgq *q, enum fa_err rc, const char *msg);
	void *ctx;
	/* private */
	struct fa_pgq *next;
	bool last_in_batch;
	bool internal;                  /* the pool's own Prepare, not counted */
};

struct fa_pool_opts {
	int size;                       /* connections */
	int depth;                      /* batches in flight per connection */
	const char *app;                /* application_name */
	bool unnamed;                   /* never prepare by name (PgBouncer < 1.21) */
};

/* Statements a connection keeps prepared; past this they run unnamed. */
#define FA_POOL_MAX_PREPARED 256

struct fa_pool;

/* Starts size connections (nonblocking); FA_ECONNECT if none can start. */
struct fa_pool *fa_pool_new(struct fa_loop *loop, const struct fa_pg_target *t,
			    const struct fa_pool_opts *o, struct fa_error *err);

/*
 * Queues a batch of n queries (n >= 1) for one connection.  If no
 * connection can be made, every query's on_done gets FA_ECONNECT.
 */
void fa_pool_submit(struct fa_pool *p, struct fa_pgq **qs, int n);

/* Queries queued or in flight. */
int fa_pool_pending(const struct fa_pool *p);

/* The pool's state, for metrics; read on the pool's own thread. */
struct fa_pool_stats {
	int ready, connecting, dead;    /* connections by state */
	int pending;                    /* queries queued or in flight */
};
void fa_pool_stats(const struct fa_pool *p, struct fa_pool_stats *st);

/* Sends a cancel request for everything in flight. */
void fa_pool_cancel(struct fa_pool *p);

/* Closes every connection; queries still pending get on_done(FA_EINTR). */
void fa_pool_free(struct fa_pool *p);

#endif
