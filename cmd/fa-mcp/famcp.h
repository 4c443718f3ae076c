/*
 * fa-mcp internals: the SQL files' queries as MCP tools, served over stdio
 * or Streamable HTTP, in both protocol eras: 2025-11-25 and before
 * (initialize, sessions) and the stateless 2026-07-28 (a _meta block on
 * every request, server/discover).
 *
 * One struct app for the process; one struct worker per event loop (the
 * stdio loop, or each HTTP worker thread), with its own database pool.
 * A message goes to mcp_dispatch() with a struct reply that says where its
 * answer goes; the transport frees the reply in its done callback.
 */
#ifndef FAMCP_H
#define FAMCP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/fmt.h"
#include "core/loop.h"
#include "http/hserver.h"
#include "mcp/jsonrpc.h"
#include "pg/pgconn.h"
#include "pg/pgpool.h"
#include "pg/pgtypes.h"
#include "pg/sqlfile.h"
#include "pg/sqlload.h"

struct session;
struct ssess;
struct listener;
struct call;
struct sqlcall;

/*
 * What a 2025-era client set for itself: over stdio the process's one
 * client, over HTTP one session.  Reached only through reply.with_peer,
 * which holds the transport's lock meanwhile.
 */
struct peer {
	int log_level;                  /* enum fa_mcp_level; -1: logging/setLevel never came */
	char **subs;                    /* resources/subscribe URIs (owned) */
	int nsubs;
};

void peer_release(struct peer *p);
/* Each URI p subscribed to, to fn (the caller holds what guards p). */
void peer_each_sub(struct peer *p, void (*fn)(const char *uri, void *arg), void *arg);

struct app {
	struct fa_sqlfiles files;       /* swapped whole on SIGHUP */
	struct fa_pg_target target;
	int pool_size;
	int pool_timeout_ms;
	bool read_only;                 /* every call in a READ ONLY transaction */
	bool sql_tool;                  /* --sql-tool: the "query" tool (schema.c) */
	bool schema_resources;          /* tables as resources: --schema-resources or --sql-tool */
	int sql_timeout_ms;             /* the query tool's statement_timeout */
	long sql_limit;                 /* the query tool's most rows */
	const char *origins;            /* allowed Origin values besides localhost */
	char *auth_token;               /* --auth-token: the bearer token HTTP requests need, or NULL */
	FILE *access_log;               /* --access-log, or NULL */
	bool log_json;                  /* --log-format json */
	const char *endpoint;           /* "/mcp" */
	size_t max_message;
	/* 2025-era sessions of the HTTP transport, shared by its workers */
	pthread_mutex_t lock;
	struct session *sessions;
	int nsessions;
	struct ssess *legacy;           /* HTTP+SSE (2024-11-05) sessions, under lock */
	struct fa_hserver *server;
	/* the workers, woken by reload to tell their listeners */
	struct worker **workers;
	int nworkers;
	unsigned generation;            /* reloads so far */
	int page_size;                  /* list entries per page */
	struct proxy *proxy;            /* fa-mcp proxy: messages go there (proxy.h) */
};

struct worker {
	struct app *app;
	struct fa_loop *loop;
	struct fa_pool *pool;
	struct fa_pool *sql_pool;       /* the query tool's own connections; made on first use */
	struct fa_pgtypes *types;       /* result types for JSON, looked up once per type */
	struct sqlcall *sqlcalls;       /* its calls, for cancellation */
	int inflight;                   /* tool calls running */
	struct call *calls;             /* those tools/call, for cancellation */
	struct listener *listeners;     /* streams of unsolicited notifications */
	unsigned seen;                  /* the reload generation told to them */
	int wake_fd;                    /* eventfd: a reload happened */
	struct fa_io wake_io;
	struct fa_timer ping;           /* keeps idle streams alive */
	const char *note_from;          /* the session of the notification being dispatched */
};

/*
 * A stream that hears list_changed and resources/updated: the stdio
 * client, a 2025 session's GET stream, a 2026 subscriptions/listen.  It
 * lives on one worker, which calls send from its own thread.
 */
enum { LISTEN_TOOLS = 1, LISTEN_PROMPTS = 2, LISTEN_RESOURCES = 4, LISTEN_UPDATES = 8 };
struct listener {
	void (*send)(struct listener *l, const char *msg, size_t len);
	/* whether uri was subscribed to (resources/updated) */
	bool (*subscribed)(struct listener *l, const char *uri);
	/* each URI subscribed to, to fn (optional): what the proxy asks its
	   upstreams to tell of */
	void (*subs)(struct listener *l, void (*fn)(const char *uri, void *arg), void *arg);
	/* SSE comment to keep an idle HTTP stream open (optional) */
	void (*keepalive)(struct listener *l);
	/* the worker stops: end the stream, remove and free l (optional) */
	void (*end)(struct listener *l);
	unsigned wants;                 /* LISTEN_* */
	json_t *sub_id;                 /* 2026: the subscriptionId tagging each one */
	int scope;                      /* the proxy: the upstream a /NAME/mcp path named (reply.scope) */
	void *ctx;
	struct listener *next;
};

/* l hears from now on (and, in the proxy, what it subscribed to is asked of the upstreams). */
void listener_add(struct worker *w, struct listener *l);
/* One notification to l (params taken, may be NULL), tagged with its subscriptionId in 2026. */
void listener_tell(struct listener *l, const char *method, json_t *params);
void listener_remove(struct worker *w, struct listener *l);

enum era { ERA_LEGACY, ERA_MODERN };

/*
 * Where one request's answer goes.  done gets the HTTP status the answer
 * would have on Streamable HTTP (200, 400 for a malformed modern request,
 * 404 for an unknown modern method) and one JSON-RPC message; it must
 * free the reply.  Notifications get no reply.
 */
struct reply {
	void (*done)(struct reply *r, int status, const char *msg, size_t len);
	/*
	 * Optional: a notification that belongs to this request (progress, a
	 * log message), sent before done on the request's own stream.
	 */
	void (*notify)(struct reply *r, const char *msg, size_t len);
	/* Optional (2025 era): runs fn on the client's peer under the
	   transport's lock; false when there is none (a session gone). */
	bool (*with_peer)(struct reply *r, void (*fn)(struct peer *p, void *arg), void *arg);
	void *ctx;
	json_t *id;                     /* a reference of its own */
	enum era era;
	/* set by a method whose answer may never come by itself (a listen):
	   the transport calls it when the client went away, and it ends r */
	void (*gone)(struct reply *r);
	void *gone_arg;
	/* set by mcp_dispatch */
	int log_level;                  /* send log messages this severe and up; -1: none */
	json_t *progress;               /* _meta.progressToken (a reference), or NULL */
	/* set by the transport, for the proxy: whose request (the session
	   id, "" or NULL when it has none) and the upstream a /NAME/mcp
	   path named (from 1; 0: all) */
	const char *from;
	int scope;
};

/* A reply's own references (id, progress token) dropped: for transports' done. */
void reply_release(struct reply *r);

/* A notice the server raised during r's statement: a progress or a log notification. */
void mcp_notice(struct reply *r, const PGresult *notice);

/* notify.c: the methods about notifications, and reload's news. */
void mcp_set_level(struct reply *r, const struct fa_jr_msg *m);
void mcp_subscribe(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool on);
void mcp_listen(struct worker *w, struct reply *r, const struct fa_jr_msg *m);
void mcp_complete(struct worker *w, struct reply *r, const struct fa_jr_msg *m);
/* Tells w's listeners what the reloads since the last call changed. */
void mcp_changed(struct worker *w);
/*
 * Whether a notifications/cancelled from session from (NULL over stdio,
 * "" over HTTP without one) may end a request whose reply's from is owner:
 * over stdio the one client's; over HTTP only within the same open 2025
 * session (a 2026 client cancels by closing its stream).
 */
bool mcp_cancel_owns(const char *owner, const char *from);

/*
 * notifications/cancelled from session from for a tools/call of w: it
 * gets no answer, and its statement is taken from the queue or cancelled
 * on the server.  False when no call of w that from owns has that id.
 */
bool mcp_call_cancel(struct worker *w, const char *from, const json_t *request_id);

/*
 * notifications/cancelled from "from" (a reply's from: NULL over stdio,
 * else the 2025 session it came in, or ""): ends the subscriptions/listen
 * whose request id is request_id when it is that client's (over HTTP:
 * came in the same open 2025 session); false when none.
 */
bool mcp_listen_cancel(struct worker *w, const char *from, const json_t *request_id);
/* Ends every stream of w that can end (the worker stops). */
void mcp_listeners_end(struct worker *w);
/* A worker joins (or leaves) the app's list that reloads wake. */
void worker_listen(struct worker *w);
void worker_unlisten(struct worker *w);
/* After a reload: each worker's listeners hear of it, on its own thread. */
void mcp_wake_workers(struct app *a);

/* The era of a message: modern when its params carry a protocol version in _meta. */
enum era mcp_era(const struct fa_jr_msg *m);

/* The protocol version the _meta block of a modern message names, or NULL. */
const char *mcp_meta_version(const struct fa_jr_msg *m);

/*
 * Answers one request or notification of era r->era on worker w (now, or
 * later for tools/call).  r is NULL for a notification; a request's r is
 * the caller's, done exactly once.
 */
void mcp_dispatch(struct worker *w, const struct fa_jr_msg *m, struct reply *r);

/* A statement's run on the pool: its values, types and queries. */
struct stmt_run {
	char **values;
	Oid *types;
	struct fa_pgq setq, pgq;        /* pgq's callbacks and ctx are the caller's */
	char setsql[200];
};

/* Values from a call's arguments (checked: FA_EINPUT names the bad one). */
enum fa_err stmt_run_init(struct stmt_run *run, const struct fa_query *q, const json_t *args,
			  struct fa_error *err);
void stmt_run_release(struct stmt_run *run, const struct fa_query *q);

/*
 * Submits q's statement with run's values on w's pool, in a READ ONLY
 * transaction when read_only (or q reads only, or --read-only) and with
 * q's timeout.  run->pgq's on_result, on_done and ctx must be set; its
 * on_done must decrement w->inflight.
 */
void mcp_submit(struct worker *w, const struct fa_query *q, struct stmt_run *run, bool read_only);

/* A result object's JSON text answered as mcp_answer does; res is the caller's (appended to). */
void mcp_answer_text(struct reply *r, struct fa_buf *res);

/* A result answered (modern: resultType and serverInfo added); takes result. */
void mcp_answer(struct reply *r, json_t *result);

/* The page of the list all (taken) that m's cursor asks for, answered as key. */
void mcp_page(struct worker *w, struct reply *r, const struct fa_jr_msg *m, const char *key,
	      json_t *all);

/* A list result with the 2026 caching hints (ttlMs, cacheScope). */
json_t *mcp_cacheable(struct reply *r, json_t *result);

/* A statement run whole (content.c, schema.c); finish builds the answer from res. */
struct raw {
	struct worker *w;
	struct reply *r;
	const struct fa_query *q;
	struct stmt_run run;
	PGresult *res;                  /* the first rows, or NULL */
	char err[640];                  /* the statement's error, or "" */
	char *uri;                      /* resources/read: the URI asked for */
	json_t *list;                   /* schema listing: the items so far, for finish to take */
	json_t *params;                 /* schema listing: the request's params (its cursor), finish's */
	void (*finish)(struct raw *x);
};

/*
 * A raw run of q for r; the caller sets up x->run's values, then starts
 * it: q runs on w's pool (READ ONLY for resources and prompts), finish
 * answers, and x with its run, res and uri is freed after finish.
 */
struct raw *mcp_raw_new(struct worker *w, struct reply *r, const struct fa_query *q,
			void (*finish)(struct raw *x));
void mcp_raw_start(struct raw *x);

/* An unknown resource: -32002 with the URI before 2026, -32602 after. */
void mcp_resource_not_found(struct reply *r, const char *uri);

/* content.c: resources, prompts, and tools whose columns are content blocks. */
void mcp_resources_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool templates);
void mcp_resources_read(struct worker *w, struct reply *r, const struct fa_jr_msg *m);
void mcp_prompts_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m);
void mcp_prompts_get(struct worker *w, struct reply *r, const struct fa_jr_msg *m);
void mcp_tool_blocks(struct worker *w, struct reply *r, const struct fa_query *q, const json_t *args);

/* A SQL error as the model reads it: "ERROR 23505: message", then its DETAIL line. */
void mcp_sql_error(struct fa_buf *out, const PGresult *res);

/*
 * What a tool's statement gave, for its answer: its rows as a JSON array,
 * at most a limit of them, or the first error (a SQL error as above).
 * Shared by the SQL files' tools (dispatch.c) and the query tool (schema.c).
 */
struct callrows {
	struct fa_fmt fmt;
	struct fa_buf rows, err;
	long nrows;
	bool begun, failed, truncated;
};

void callrows_init(struct callrows *s);
void callrows_release(struct callrows *s);
/* A result of the statement: rows up to limit (0: none; past it truncated
   is set and they are dropped), or the error, unless one came before. */
void callrows_take(struct callrows *s, const PGresult *res, long limit, struct fa_pgtypes *types);
/* The first error only (a failed query beside the statement). */
void callrows_error(struct callrows *s, const PGresult *res);
/* The end: true with a tool error result in out when the statement failed
   or the database could not run it (rc); else false with s->rows done. */
bool callrows_end(struct callrows *s, enum fa_err rc, const char *msg, struct fa_buf *out);
/* s->rows, or an empty array when no row description came. */
#define CALLROWS_JSON(s) ((s)->rows.data ? (s)->rows.data : "[]")
#define CALLROWS_LEN(s) ((s)->rows.data ? (s)->rows.len : 2)

/*
 * schema.c: what server-postgres offers.  The tool "query" (--sql-tool):
 * one statement of any SQL, with bound params, in a READ ONLY transaction
 * on connections of its own (w->sql_pool), with a timeout and a row
 * limit.  And each table and view as a resource of its columns, keys and
 * comments, postgres://DB/SCHEMA/TABLE/schema, read from the catalog at
 * each list and read.
 */
#define MCP_SQL_TOOL "query"

/* The Tool object of the query tool. */
json_t *mcp_sql_tool(const struct app *a);

/* Says on stderr when --sql-tool hides a SQL file's tool named query. */
void mcp_sql_tool_check(struct app *a);

/* tools/call of the query tool with its arguments (may be NULL); answers r. */
void mcp_sql_call(struct worker *w, struct reply *r, const json_t *args);

/* notifications/cancelled for a call of the query tool, as mcp_call_cancel; false when none. */
bool mcp_sql_cancel(struct worker *w, const char *from, const json_t *request_id);

/* True when the tables are resources. */
bool mcp_schema_on(const struct app *a);

/* Answers the page m asks for of a resources list: list (taken) and the tables, or the table template. */
void mcp_schema_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool templates,
		     json_t *list);

/* False when uri is not a table's (or the tables are not resources); else answers r. */
bool mcp_schema_read(struct worker *w, struct reply *r, const char *uri);

/* Sends a JSON-RPC error as r's answer (and frees r). */
void mcp_fail(struct reply *r, int status, int code, const char *message, json_t *data);

/* A worker's pool and loop; NULL when the database target is unusable. */
struct worker *worker_new(struct app *a, struct fa_loop *loop);
void worker_free(struct worker *w);

/* The current set of queries (reloads swap it). */
struct fa_sqlfile_set *app_files(struct app *a);

/* SIGHUP's work: the files read again; a broken one leaves the old set (said on stderr). */
void mcp_reload(struct app *a);

/* stdio: serves messages from stdin until it closes; returns the exit status. */
int mcp_stdio(struct app *a);

/* Streamable HTTP on the hserver: the request handler and worker hooks. */
void mcp_http_handle(struct fa_hreq *rq, void *app);
void *mcp_http_init_worker(int index, struct fa_loop *loop, void *app);
void mcp_http_done_worker(int index, void *wctx, void *app);
/* After each HTTP response: its --access-log line. */
void mcp_http_done(const struct fa_hreq *rq, void *app);
void mcp_sessions_release(struct app *a);

/* legacy.c: the HTTP+SSE transport (GET /sse, POST /messages?sessionId=). */
void mcp_legacy_stream(struct fa_hreq *rq, struct app *a, struct worker *w);
void mcp_legacy_post(struct fa_hreq *rq, struct app *a, struct worker *w);
/* Writes what other threads left for w's legacy streams. */
void mcp_legacy_flush(struct worker *w);

#endif
