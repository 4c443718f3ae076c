/*
 * fa-mcp proxy: one upstream, the session the proxy holds with an MCP
 * server, and the requests forwarded to it.  Internal to proxy.c,
 * upstream.c and relay.c (what the upstream sends of its own); proxy.h
 * is the interface.
 *
 * A request forwarded gets the upstream's own id (a counter) and waits in
 * inflight until its answer, which goes back to its client with the
 * client's id; an HTTP upstream takes one at a time on each of up to
 * UP_CONNS connections into its session (serial), the rest wait in
 * queue.  A sweep timer answers those past the upstream's
 * timeout.  A stdio upstream whose child ends is started again from a
 * timer, with backoff.  A replay upstream answers from a recording.  A
 * 2026 upstream gets a subscriptions/listen of the proxy's (listen_uid),
 * an HTTP 2025 one keeps its session's GET stream open, for their list
 * changes and the resources the front's clients subscribed to.
 */
#ifndef FAMCP_UPSTREAM_H
#define FAMCP_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "famcp.h"
#include "replay.h"

#define META_PREFIX "io.modelcontextprotocol/"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_NS (10ull * 1000000000ull)       /* up this long: the backoff starts over */
#define SWEEP_MS 100
#define RELISTEN_MS 1000                /* after a 2026 upstream's listen ended */
#define UP_CONNS 8                      /* an HTTP upstream's connections, each one request at a time */

/* A request forwarded upstream, until its answer (or the proxy's own). */
struct pend {
	long uid;                       /* the id upstream */
	struct reply *r;                /* the front's; NULL: a list the proxy refreshes */
	struct upstream *up;            /* whose, for r's going away */
	int list;                       /* the proxy's own: which list (enum lists) */
	int tool;                       /* tools/call: its tool_stat in the upstream's, from 1 */
	json_t *token;                  /* the client's progressToken, or NULL */
	char method[48];
	char from[33];                  /* the client's session */
	bool stdio;                     /* its client is the stdio front's (no session at all) */
	uint64_t start_ns, due_ns;
	struct ctransport *t;           /* the connection it went on */
	char *msg;                      /* queued: the message to send */
	size_t len;
	struct csend info;
	char name[256];                 /* info.name's storage */
	json_t *params;                 /* --record: the params sent, without _meta */
	json_t *notes;                  /* --record: the notifications about it, {ms, message} */
	/*
	 * A 2026 client's call the upstream asked something during: the
	 * client got it in band (input_required) and r is NULL until its
	 * retry brings state back, with the answers.
	 */
	char state[48];                 /* requestState given; "" when not parked */
	json_t *asks;                   /* inputRequests not yet given to the client */
	char *held;                     /* the upstream's answer, come while parked */
	size_t held_len;
	/*
	 * A 2025 client's call a 2026 upstream answered input_required: the
	 * client is asked each request, and the call goes up again (sent,
	 * with answers and rstate put in) once waiting is 0.
	 */
	char *sent;                     /* the request as it went up */
	size_t sent_len;
	json_t *answers, *rstate;
	int waiting;
	/* a replay upstream's: the exchange played, and how far (its notes) */
	json_t *script;
	size_t script_at;
	struct pend *next;
};

#define STATE_PREFIX "fa-mcp-proxy."

/*
 * A request of the upstream's own (sampling, elicitation, roots) passed
 * to the client whose call it came during, under an id of the proxy's,
 * until the client answers or the upstream's timeout passes.
 */
struct sreq {
	long fid;                       /* the id the client sees */
	json_t *uid;                    /* the upstream's id */
	char method[48];
	char from[33];                  /* the client's session */
	long call;                      /* the uid of the call it came during */
	char key[64];                   /* uid NULL: the inputRequests key it was of the call's result */
	json_t *note;                   /* --record: its entry in the call's notes, for the response */
	uint64_t due_ns;
	struct sreq *next;
};

/*
 * A request of the upstream's own that came while calls of several
 * clients were in flight (over stdio, or the session's own stream, which
 * say nothing of the call): it waits until the calls in flight are one
 * client's (a call that asks cannot end before its answer, so the others
 * ending tells whose it is), or the upstream's timeout.
 */
struct deferred {
	json_t *msg;                    /* the request as it came */
	uint64_t due_ns;
	struct deferred *next;
};

enum lists { L_TOOLS, L_PROMPTS, L_RESOURCES, L_TEMPLATES, NLISTS };

/* What each list is called: its method, its key in a result, the capability that offers it. */
struct list_kind {
	const char *method, *key;
	const char *cap;
};
extern const struct list_kind lists_of[NLISTS];

struct filter {
	char *glob;
	bool allow;
};

/* /metrics by tool: one of an upstream's tools and what its calls did. */
struct tool_stat {
	char *name;
	unsigned long calls, errors;    /* errors: JSON-RPC errors, isError results, failures */
	uint64_t latency_ns;            /* of the answers, added up */
};

#define MAX_TOOL_STATS 256              /* tools counted per upstream; the rest only in its totals */

struct upstream {
	struct proxy *p;
	char *name;
	char *command;                  /* stdio: the command line */
	char *url;                      /* or Streamable HTTP (or HTTP+SSE) */
	char *replay_file;              /* or answers from a recording */
	struct recording *replay;
	const char *replay_name;        /* whose answers in it */
	char **env;
	int nenv;
	char **headers;
	int nheaders;
	struct filter *filters;
	int nfilters;
	int timeout_ms;
	struct client c;                /* the session; c.t its transport */
	bool up;
	bool serial;                    /* HTTP: one request in flight a connection */
	struct ctransport *conns[UP_CONNS];     /* HTTP: c.t, then clones of it as requests overlap */
	int nconns;
	bool one_conn;                  /* an HTTP+SSE upstream: c.t alone */
	struct ctransport *listen_t;    /* HTTP: the connection of the 2026 listen, which has no timeout */
	char why[512];                  /* why it is down */
	json_t *list[NLISTS];           /* as the upstream gave them */
	json_t *acc[NLISTS];            /* a refresh's pages so far */
	long next_id;
	long listen_uid;                /* a 2026 upstream: the proxy's subscriptions/listen, or 0 */
	json_t *subs_asked;             /* the URIs it was asked to tell of (a set: an object), or NULL */
	struct pend *inflight;
	struct pend *queue, **queue_tail;
	struct sreq *sreqs;             /* its requests with clients */
	struct deferred *deferred;      /* its requests no client can be told for yet */
	struct fa_timer restart, sweep, kick, relisten;
	int backoff_ms;
	uint64_t up_since;
	int restarts;
	/* counts for /metrics */
	unsigned long calls, errors;
	uint64_t answered, latency_ns;
	unsigned long buckets[8];       /* answers by latency: le 1, 2.5, 10, 25, 100, 250, 1000 ms, +Inf */
	struct tool_stat *tools;
	int ntools;
};

struct proxy {
	struct upstream *ups;
	int nups;
	char *sep;
	int timeout_ms;
	enum cera era;                  /* to speak upstream: CERA_AUTO probes */
	struct recorder *rec;           /* --record, or NULL */
	long next_fid;                  /* ids of the upstreams' requests to clients */
	struct worker *w;
	struct fa_loop *loop;
	struct fa_timer resub;          /* the front's subscriptions changed: the listens follow */
};

/* Timers and the queue set up, the timeout defaulted: before the first connect. */
void upstream_init(struct upstream *u);

/* Opens u's session and reads its lists (blocking); false with u->why set. */
bool upstream_connect(struct upstream *u);

/* Another try at connecting after the backoff. */
void upstream_schedule_restart(struct upstream *u);

/* Its requests failed, its session closed, its lists and recording let go. */
void upstream_stop(struct upstream *u);

/*
 * Sends m on to u for r, with the name of a tools/call or prompts/get now
 * real (NULL: as it is); r is answered when the upstream answers, fails,
 * or the timeout passes.
 */
void upstream_forward(struct upstream *u, const struct fa_jr_msg *m, struct reply *r, const char *real);

/*
 * notifications/cancelled of client from for its request rid: true when
 * u had it in flight (then u hears of it by its own id, and r is ended
 * without an answer).
 */
bool upstream_cancel(struct upstream *u, const char *from, const json_t *rid, const json_t *reason);

/* A request of the proxy's own (logging/setLevel), whose answer is dropped. */
void upstream_own_request(struct upstream *u, const char *method, const json_t *params);

/*
 * What u is asked to tell of brought up to date with what the front's
 * clients subscribed to (proxy_wanted): a 2025 upstream's session
 * subscribed or unsubscribed, a 2026 upstream's listen opened anew (the
 * old one then ended) when that changed.
 */
void upstream_subs_update(struct upstream *u);

/*
 * notifications/cancelled of u for request rid: true when it ended the
 * proxy's listen (as a 2026 server over stdio tears one down), which is
 * then opened again after RELISTEN_MS.
 */
bool upstream_listen_ended(struct upstream *u, const json_t *rid);

/*
 * The URIs of u's resources that the front's listeners subscribed to,
 * as u calls them: a set (an object of true), a new reference.
 */
json_t *proxy_wanted(struct proxy *p, const struct upstream *u);

/* List l of u read again (its answer swaps it in, and the front hears of it). */
void upstream_refresh(struct upstream *u, int l);

/*
 * A 2026 client's call x parked, or still with its client: the upstream's
 * request key {method, params} goes to the client in band, as an
 * input_required result (at once while x has a client, or with the
 * answer to its next retry).
 */
void upstream_ask(struct upstream *u, struct pend *x, const char *key, const json_t *method,
		  const json_t *params);

/*
 * A request of a 2026 client that carries a requestState of the proxy's
 * (STATE_PREFIX): the parked call it names takes r as its client again,
 * and the upstream gets the answers in inputResponses.  False when the
 * state is not the proxy's (then the request goes on as any other).
 */
bool upstream_resume(struct proxy *p, const struct fa_jr_msg *m, struct reply *r);

/* x, whose client answered every request of its input_required, goes up again with the answers. */
void upstream_again(struct upstream *u, struct pend *x);

/*
 * A replay's call x played on: the recorded notifications sent, a
 * recorded request asked of the client (x then waits for its answer), and
 * at the end the recorded answer (x freed).
 */
void upstream_replay_step(struct upstream *u, struct pend *x);

/* x, in flight, fails: its client gets msg. */
void upstream_fail_call(struct upstream *u, struct pend *x, const char *msg);

/* Two clients' session ids are the same (NULL is ""). */
bool upstream_same_from(const char *a, const char *b);

/* The latency histogram's bounds, in ms, for /metrics (the last bucket is +Inf). */
extern const double upstream_bucket_ms[7];

#endif
