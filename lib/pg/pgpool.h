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
 *
 * Faults are normal.  A connection that dies is replaced in the background:
 * the first attempt at once, then after exponential backoff with jitter
 * (100 ms doubling, capped at backoff_max_ms).  Meanwhile queries wait in
 * the queue for a ready connection at most timeout_ms, then end with
 * FA_ECONNECT.  Batches in flight on a connection that dies are sent again
 * once, on another connection, when every query in them is retry_safe and
 * none has delivered a result yet; the others end with FA_ECONNECT and a
 * message saying their outcome is unknown.  A connection is closed and
 * replaced, never reused, when a batch leaves it inside a transaction
 * (BEGIN without COMMIT, or a failed one), when a statement fails with
 * SQLSTATE 25006 (a standby after failover: the next connection finds the
 * primary through target_session_attrs), and when it is older than
 * lifetime_ms.  A connection idle for idle_check_ms is pinged (an empty
 * query, one round trip) before it takes work again.
 *
 * A query's settings (read_only, role, claims) go ahead of its batch in
 * the same pipeline, as one prepared set_config() of each: see settings.
 *
 * 25006 also comes from a query marked read_only that tried to write; the
 * connection is replaced then too, which costs a reconnect, not a result.
 */
#ifndef FA_PGPOOL_H
#define FA_PGPOOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "pg/pgconn.h"

/* A setting local to a query's transaction: set_config(name, value, true). */
struct fa_pgset {
	const char *name;
	const char *value;
};

/* The most settings a query carries (read_only takes one more of its own). */
#define FA_PGQ_SETTINGS_MAX 3

struct fa_pgq {
	const char *sql;
	int nparams;
	const char *const *params;
	const Oid *types;               /* parameter types, or NULL: the server infers */
	bool single_row;                /* stream rows as PGRES_SINGLE_TUPLE */
	bool prepare;                   /* prepare once per connection, run by name */
	bool retry_safe;                /* reads only: may run again after a lost connection */
	/*
	 * Reads only, alone in its batch: may share one Sync (one implicit
	 * transaction, one flush) with other such queries.  A neighbour's
	 * error cannot change it: it is sent again alone when that error
	 * aborted it.  Never set it on a statement that may write: a later
	 * neighbour's error would roll its write back after its success.
	 */
	bool shareable;
	/*
	 * Runs in a READ ONLY transaction: the pool opens its batch (or the
	 * shared Sync it joins, of read-only queries only) with one
	 * set_config('transaction_read_only', 'on', true), prepared, so a
	 * write anywhere in it fails with SQLSTATE 25006.
	 */
	bool read_only;
	/*
	 * Settings local to the transaction, such as an authenticated
	 * request's role and request.jwt.claims: the pool opens the batch
	 * (or the shared Sync it joins, of queries with equal settings only)
	 * with one prepared SELECT set_config($1, $2, true), ..., read_only's
	 * included, in the same pipeline: no round trip of their own.
	 * Queries with different settings never share a transaction.  A
	 * setting the server refuses (a role that does not exist, or that
	 * the login role may not take) fails the batch, and that error is
	 * the result of the query that gave them.  The first query of a batch with
	 * settings gives them for the whole batch; the strings are the
	 * caller's, read only while the batch is sent.
	 */
	const struct fa_pgset *settings;
	int nsettings;                  /* at most FA_PGQ_SETTINGS_MAX */
	/* Set by the pool before on_result hands over the settings' own error. */
	bool settings_failed;
	void (*on_result)(struct fa_pgq *q, PGresult *res);
	void (*on_done)(struct fa_pgq *q, enum fa_err rc, const char *msg);
	/*
	 * Optional: a NOTICE, WARNING, INFO or LOG the server sent while this
	 * query ran (a RAISE in a function it called); notice is libpq's and
	 * valid during the call only.  Without it, notices go where libpq's
	 * default receiver sends them (stderr).
	 */
	void (*on_notice)(struct fa_pgq *q, const PGresult *notice);
	void *ctx;
	/* private */
	struct fa_pgq *next;
	uint64_t queued_ns;             /* when it began to wait for a connection */
	bool first_in_batch;
	bool last_in_batch;
	bool internal;                  /* the pool's own Prepare or ping, not counted */
	bool delivered;                 /* on_result has run: too late to retry */
	bool retried;                   /* sent again once already */
	bool shared;                    /* sent with others before one Sync */
	bool alone;                     /* aborted by a neighbour: next time on its own */
};

struct fa_pool_opts {
	int size;                       /* connections */
	int depth;                      /* batches in flight per connection */
	const char *app;                /* application_name */
	bool unnamed;                   /* never prepare by name (PgBouncer < 1.21) */
	int timeout_ms;                 /* wait for a connection; 0: FA_POOL_TIMEOUT_MS, <0: no limit */
	int lifetime_ms;                /* replace connections this old; 0: never */
	int idle_check_ms;              /* ping after this long idle; 0: FA_POOL_IDLE_CHECK_MS, <0: never */
	int backoff_max_ms;             /* reconnect backoff cap; 0: FA_POOL_BACKOFF_MAX_MS */
	/*
	 * For command-line tools: while no connection is ready or being
	 * opened (every one failed its last attempt), queries fail at once
	 * with the last error instead of waiting for the next attempt.
	 */
	bool fail_fast;
};

#define FA_POOL_TIMEOUT_MS 5000
#define FA_POOL_IDLE_CHECK_MS 10000
#define FA_POOL_BACKOFF_MAX_MS 5000

/* The most shareable queries sent before one Sync. */
#define FA_POOL_SHARE_MAX 32

/* Statements a connection keeps prepared; past this they run unnamed. */
#define FA_POOL_MAX_PREPARED 256

struct fa_pool;

/*
 * Starts size connections (nonblocking) to a copy of t; the ones that fail
 * are retried in the background, so a database that is down at start is
 * not an error.  NULL (FA_ENOMEM, or FA_ECONNECT for a conninfo libpq
 * rejects) only when no connection can even be attempted.
 */
struct fa_pool *fa_pool_new(struct fa_loop *loop, const struct fa_pg_target *t,
			    const struct fa_pool_opts *o, struct fa_error *err);

/*
 * Queues a batch of n queries (n >= 1) for one connection.  When none is
 * ready within timeout_ms, every query's on_done gets FA_ECONNECT.
 */
void fa_pool_submit(struct fa_pool *p, struct fa_pgq **qs, int n);

/* Queries queued or in flight. */
int fa_pool_pending(const struct fa_pool *p);

/* Upper bounds, in seconds, of the buckets of fa_pool_stats.wait. */
#define FA_POOL_WAIT_BUCKETS 10
extern const double fa_pool_wait_le[FA_POOL_WAIT_BUCKETS];

/* The pool's state, for metrics; read on the pool's own thread. */
struct fa_pool_stats {
	int ready, connecting, dead;    /* connections by state */
	int pending;                    /* queries queued or in flight */
	/* counters since the pool began */
	uint64_t reconnects;            /* connections made again after one was lost */
	uint64_t connect_failures;      /* attempts to connect that failed */
	uint64_t timeouts;              /* queries that found no connection in time */
	uint64_t retried;               /* queries sent again after a lost connection */
	uint64_t lost;                  /* queries ended by a lost connection */
	/* how long batches waited for a connection: counts per bucket (not cumulative) */
	uint64_t wait[FA_POOL_WAIT_BUCKETS + 1];        /* the last: above every bound */
	uint64_t wait_count;
	uint64_t wait_ns;               /* their sum */
};
void fa_pool_stats(const struct fa_pool *p, struct fa_pool_stats *st);

/*
 * Cancels q.  Still queued, its batch leaves the queue and each of its
 * queries ends with FA_EINTR, now; running (the first query its
 * connection awaits), the server gets a cancel request (which blocks
 * while it connects, a local round trip) and q ends with the error that
 * causes, SQLSTATE 57014; sent but waiting behind others, it runs.
 * Returns whether q was found.
 */
bool fa_pool_cancel_query(struct fa_pool *p, struct fa_pgq *q);

/* Sends a cancel request for everything in flight. */
void fa_pool_cancel(struct fa_pool *p);

/* Closes every connection; queries still pending get on_done(FA_EINTR). */
void fa_pool_free(struct fa_pool *p);

#endif
