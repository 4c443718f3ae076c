/*
 * engine: fa-bench's load engine, the same for every target.
 *
 * N threads, each with its own event loop, its own connections and its
 * own histograms; nothing is shared on the request path.  The threads'
 * histograms are merged exactly when the run ends, and once a second
 * each thread hands its last second's histogram to the caller's thread
 * (one lock per thread per second) for live progress and the per-second
 * series.
 *
 * Two load models:
 *
 * - Closed loop (rate 0): every connection keeps depth requests in
 *   flight, sending the next as soon as one completes, like wrk.
 * - Open loop (rate > 0): one schedule of intended send times on
 *   CLOCK_MONOTONIC, rate per second overall (each thread takes its
 *   share, phase-shifted), constant, ramped linearly from ramp_from to
 *   rate over ramp_ns, and with poisson as a Poisson process of that
 *   rate.  A request due while every connection is busy waits in a
 *   backlog.  Latency counts from the intended send time, so a stalled
 *   server shows as the latency every scheduled request saw
 *   (coordinated omission corrected, as wrk2 does); the service time,
 *   from the actual send, is recorded apart, and so is the schedule lag
 *   (actual send minus intended).  A send more than FA_BENCH_LATE_NS
 *   behind is late; one still in the backlog when the run ends, or that
 *   found the backlog full, is dropped.
 *
 * A target (pg, http, ...) implements struct fa_bench_target: it opens
 * one connection's state on a thread's loop, says when it is ready, sends
 * one request when asked and reports its end with fa_bench_done().
 *
 * Ownership: the caller owns cfg and whatever it points to for the run;
 * fa_bench_run() fills a result the caller releases with
 * fa_bench_result_release().
 */
#ifndef FA_BENCH_ENGINE_H
#define FA_BENCH_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/stats.h"

#define FA_BENCH_LATE_NS 10000000ULL    /* 10 ms behind schedule */
#define FA_BENCH_BACKLOG_MAX (1u << 20) /* scheduled sends waiting, per thread */
#define FA_BENCH_MAX_ERRKINDS 32

/* How a request ended. */
enum fa_bench_kind {
	FA_BENCH_OK,
	FA_BENCH_ECONNECT,      /* cannot connect, or the connection broke */
	FA_BENCH_ETIMEOUT,      /* no complete answer within the timeout */
	FA_BENCH_ESTATUS,       /* HTTP status 4xx or 5xx (detail: "4xx", "5xx") */
	FA_BENCH_EPROTOCOL,     /* a malformed answer */
	FA_BENCH_ESQL,          /* PostgreSQL error (detail: the SQLSTATE) */
	FA_BENCH_EMCP,          /* an MCP tool answered isError, or a JSON-RPC error */
};

/* "connect", "timeout", "status", "protocol", "sqlstate", "mcp". */
const char *fa_bench_kind_name(enum fa_bench_kind k);

struct fa_bench_conn;                   /* the engine's, per connection */

/* One request as the engine tracks it; the target sees it between send and done. */
struct fa_bench_req {
	uint64_t intended_ns;           /* when the schedule meant it to go */
	uint64_t sent_ns;               /* when it went */
	struct fa_bench_conn *conn;
	void *target_data;              /* free for the target */
};

struct fa_bench_target {
	const char *name;
	/*
	 * Opens one connection's state on loop (cfg is the target's own
	 * configuration, shared read-only by every thread).  It calls
	 * fa_bench_ready() when it can take requests, at once or later.
	 * NULL with err on failure.
	 */
	void *(*open)(const void *cfg, struct fa_loop *loop, struct fa_bench_conn *bc,
		      struct fa_error *err);
	/* Sends r; later (never from inside send) calls fa_bench_done(r, ...). */
	void (*send)(void *conn, struct fa_bench_req *r);
	/* Closes; requests in flight are forgotten (no fa_bench_done needed). */
	void (*close)(void *conn);
};

/* From a target: the connection is ready (again) for requests. */
void fa_bench_ready(struct fa_bench_conn *bc);
/* From a target: the connection is down; it says ready once it is back. */
void fa_bench_down(struct fa_bench_conn *bc, const char *msg);
/* From a target: a request ended.  detail (may be NULL) refines the kind
   ("5xx", a SQLSTATE); msg (may be NULL) is kept for the first of each. */
void fa_bench_done(struct fa_bench_req *r, enum fa_bench_kind kind, const char *detail,
		   const char *msg);
/* From a target: opening the connection (connect, a protocol handshake)
   took ns; kept apart from the requests' latency. */
void fa_bench_handshake(struct fa_bench_conn *bc, uint64_t ns);
/* A seed for this connection's random generators (differs per connection). */
uint64_t fa_bench_conn_seed(const struct fa_bench_conn *bc);
/* The connection's number, 0 .. conns - 1 over every thread. */
int fa_bench_conn_index(const struct fa_bench_conn *bc);
/* The configured request timeout in ns (0: none). */
uint64_t fa_bench_conn_timeout(const struct fa_bench_conn *bc);

struct fa_bench_second;

struct fa_bench_cfg {
	const struct fa_bench_target *target;
	const void *target_cfg;
	int threads;                    /* >= 1 */
	int conns;                      /* in all, >= threads */
	int depth;                      /* requests in flight per connection, >= 1 */
	double rate;                    /* open loop: requests per second; 0: closed loop */
	double ramp_from;               /* with ramp_ns: the rate at the start */
	uint64_t ramp_ns;               /* 0: no ramp */
	bool poisson;                   /* Poisson arrivals instead of evenly spaced */
	uint64_t duration_ns;           /* measured time; 0 with count */
	uint64_t count;                 /* measured requests; 0 with duration */
	uint64_t warmup_ns;             /* load before measuring, not recorded */
	uint64_t timeout_ns;            /* per request; 0: none */
	uint64_t connect_timeout_ns;    /* the first connections; 0: 10 s */
	int digits;                     /* histogram significant digits, 1..5 */
	uint64_t seed;
	volatile sig_atomic_t *stop;    /* set (by a signal handler) to end early */
	/* Called on fa_bench_run's thread after each second of measuring. */
	void (*on_second)(const struct fa_bench_second *s, void *ctx);
	void *ctx;
};

/* One second of the run, every thread together. */
struct fa_bench_second {
	double t;                       /* seconds since measuring began, at its end */
	double len;                     /* its length in seconds (the last may be short) */
	uint64_t count;                 /* requests completed in it */
	uint64_t errors;
	uint64_t p50, p90, p99, max;    /* latency ns (from intended send time) */
};

struct fa_bench_errcount {
	enum fa_bench_kind kind;
	char detail[16];
	uint64_t n;
	char first[256];                /* the first one's message */
};

struct fa_bench_result {
	struct fa_hist lat;             /* from intended send time, ns */
	struct fa_hist svc;             /* from actual send time, ns */
	struct fa_hist lag;             /* open loop: actual minus intended send, ns */
	struct fa_hist hs;              /* connections' handshakes, ns */
	uint64_t requests;              /* measured requests completed, errors included */
	uint64_t errors;
	uint64_t late, dropped;
	struct fa_bench_errcount errs[FA_BENCH_MAX_ERRKINDS];
	int nerrs;
	double elapsed;                 /* measured seconds */
	double cpu;                     /* the process's user + system CPU seconds for the run */
	struct fa_bench_second *secs;   /* owned */
	int nsecs;
	bool interrupted;
};

/*
 * Runs the benchmark.  FA_EUSAGE for a bad cfg; FA_ECONNECT when a
 * connection could not be opened before the start (err says which and
 * why); FA_OK otherwise, also when requests failed (they are in res).
 */
enum fa_err fa_bench_run(const struct fa_bench_cfg *cfg, struct fa_bench_result *res,
			 struct fa_error *err);
void fa_bench_result_release(struct fa_bench_result *res);

/* Adds src's errors into dst's table. */
void fa_bench_errs_add(struct fa_bench_result *dst, enum fa_bench_kind kind,
		       const char *detail, uint64_t n, const char *msg);

/* The layout every fa-bench latency histogram uses: 1 ns .. 1 h at digits. */
enum fa_err fa_bench_hist_init(struct fa_hist *h, int digits, struct fa_error *err);

#endif
