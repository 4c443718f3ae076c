/*
 * findmax: the highest open-loop rate that meets a latency goal.
 *
 * A closed-loop run first finds what the server does flat out (R).  Then
 * a bisection between 0 and 1.1 R runs the open loop at the midpoint for
 * the configured duration: a step meets the goal when every threshold of
 * the SLO holds and the achieved rate is within 5% of the one asked
 * (a server that falls behind builds a backlog, and its latency from the
 * intended send time then fails the SLO anyway).  The answer is the
 * highest rate that met it.  Each step goes to on_step as it ends, and
 * every step, with its percentiles, is returned as a JSON array (the
 * latency-against-throughput curve).
 */
#ifndef FA_BENCH_FINDMAX_H
#define FA_BENCH_FINDMAX_H

#include <jansson.h>
#include <stdbool.h>

#include "bench/engine.h"
#include "bench/report.h"

struct fa_bench_step {
	double rate;            /* asked; 0 for the closed-loop probe */
	double rps;             /* achieved */
	double p50, p99, max;   /* ms */
	unsigned long long errors;
	bool met;
};

struct fa_bench_findmax {
	const struct fa_bench_threshold *slo;
	int nslo;
	int steps;              /* bisection steps after the probe (default 7) */
	void (*on_step)(const struct fa_bench_step *s, void *ctx);
	void *ctx;
};

/*
 * Runs the search with cfg (whose rate is ignored; its duration is each
 * step's).  *best is the highest rate that met the SLO, 0 when none did;
 * *steps (owned by the caller) the steps.  Errors as fa_bench_run().
 */
enum fa_err fa_bench_find_max(const struct fa_bench_cfg *cfg, const struct fa_bench_findmax *fm,
			      double *best, json_t **steps, struct fa_error *err);

#endif
