/*
 * fa-serve internals: the application behind lib/http/hserver.  One struct
 * app for the process, one struct wctx per worker thread (its own pool on
 * its own loop: no locks on the request path).
 */
#ifndef FASERVE_H
#define FASERVE_H

#include <stdio.h>

#include "http/hserver.h"
#include "http/hstatic.h"
#include "http/jwt.h"
#include "pg/pgconn.h"
#include "pg/pgpool.h"
#include "pg/pgtypes.h"
#include "pg/sqlfile.h"
#include "pg/sqlload.h"

/* The --jwt-secret keys as loaded once; a reload makes a new one. */
struct keyset {
	struct fa_jwt_keys *keys;
	uint64_t gen;                   /* 1, 2, ...: cached tokens of older keys are stale */
	struct keyset *retired;         /* the one before, kept until exit */
};

/* Who a request runs as: both owned, both NULL when auth is off. */
struct grant {
	char *role;
	char *claims;                   /* JSON text for request.jwt.claims */
	double until;                   /* the token's exp + leeway; 0 or INFINITY: none */
};

struct app {
	struct fa_sqlfiles routes;      /* the route files, swapped whole on reload */
	/* auth: on when jwt_file or anon_role is given */
	const char *jwt_file;           /* --jwt-secret */
	struct keyset *keys;            /* read with __atomic_load_n; swapped on SIGHUP */
	struct fa_jwt_rules jwt_rules;  /* --jwt-aud, --jwt-iss, --jwt-leeway */
	const char *role_claim;         /* --jwt-role-claim, ".role" */
	const char *anon_role;          /* --anon-role, or NULL */
	enum fa_auth auth_default;      /* --auth: for routes without "-- auth:" */
	const char *cors;               /* allowed origins, comma-separated, or "*" */
	struct fa_hstatic *files;       /* --static: where no route matches; or NULL */
	struct fa_pg_target target;
	int pool_size;
	int pool_timeout_ms;            /* wait for a connection, then 503 */
	int pool_lifetime_ms;           /* replace older connections; 0: never */
	bool unnamed;
	FILE *access_log;
	bool log_json;
	struct fa_hserver *server;
	struct wctx **workers;          /* for /metrics */
	int nworkers;
};

struct sse_sub;

struct wctx {
	struct app *app;
	struct fa_loop *loop;
	struct fa_pool *pool;
	/*
	 * Result types for JSON (arrays, composites): looked up once per type
	 * by this worker, blocking it for one catalog query the first time.
	 */
	struct fa_pgtypes *types;
	/* listen routes: one LISTEN connection per worker, shared by all subscribers */
	PGconn *listen;
	struct fa_io listen_io;
	struct fa_timer ping;
	struct sse_sub *subs;
	char **channels;                /* channels LISTENed to so far */
	int nchannels;
	/* counters written by this worker only, read by /metrics */
	uint64_t errors5xx, errors4xx, db_ns;
	struct fa_pool_stats pool_now;  /* published every second and on /metrics */
	struct fa_timer publish;
	struct wmetrics *metrics;       /* by route and status, see metrics.c */
	struct fa_jwt_cache *jwt_cache; /* verified tokens; NULL without --jwt-secret */
};

/* Whether requests run as a role of their own (--jwt-secret or --anon-role). */
#define AUTH_ON(a) ((a)->jwt_file || (a)->anon_role)
/* Reads --jwt-secret into a new key set (start, and SIGHUP). */
enum fa_err auth_load(struct app *a, struct fa_error *err);
/* Frees every key set, current and retired. */
void auth_release(struct app *a);
/*
 * The role and claims request rq runs q as, into *g (the caller releases
 * it); -1 when it answered 401 instead.
 */
int auth_check(struct fa_hreq *rq, struct wctx *w, const struct fa_query *q, struct grant *g);
void auth_release_grant(struct grant *g);
/*
 * A session or stream lives no longer than the token that opened it:
 * true once the clock is past until (the grant's; 0 or INFINITY: never).
 */
bool auth_expired(double until);
#define AUTH_EXPIRED "the token has expired: connect again with a new one"
struct fa_jwt_cache *auth_cache_new(const struct app *a);

void serve_handle(struct fa_hreq *rq, void *app);
/* A worker's counters by route; written only by that worker. */
struct wmetrics *metrics_new(void);
void metrics_free(struct wmetrics *m);
/* Counts one answer of route (NULL or "": no route, counted as "-"). */
void metrics_count(struct wmetrics *m, const char *route, int status, uint64_t ns);
/* Appends every worker's sums in the Prometheus text format. */
void metrics_write(struct fa_buf *b, struct app *a);
/*
 * A stream route: the statement runs on its own connection, read only as
 * fast as the client takes the rows; results go to q's callbacks.
 */
void stream_run(struct wctx *w, struct fa_hreq *rq, struct fa_pgq *q);
/*
 * A listen route: the request becomes a Server-Sent Events stream.  until:
 * the token's exp (+ leeway; 0 or INFINITY: none), after which the stream
 * is ended (an "error" event, or WebSocket close 1008) at its next event
 * or ping, and sends nothing more.
 */
void sse_subscribe(struct fa_hreq *rq, struct wctx *w, const char *channel, double until);
/*
 * A listen route with a statement, in three steps: sse_open LISTENs and
 * holds notifications (NULL: it answered 503); the statement runs; then
 * sse_start sends its rows (a JSON array) as the "snapshot" event and the
 * held notifications, or sse_cancel forgets the subscriber when it failed.
 */
struct sse_sub *sse_open(struct fa_hreq *rq, struct wctx *w, const char *channel, double until);
void sse_start(struct sse_sub *s, const char *snapshot, size_t len);
void sse_cancel(struct sse_sub *s);
/* Ends every stream of the worker (stop) and closes its LISTEN connection. */
void sse_release(struct wctx *w);
void *serve_init_worker(int index, struct fa_loop *loop, void *app);
void serve_done_worker(int index, void *wctx, void *app);
void serve_done(const struct fa_hreq *rq, void *app);

#endif
