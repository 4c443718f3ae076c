/*
 * stats: an HDR-style latency histogram.
 *
 * Values (nanoseconds) fall into log-linear buckets: 64 sub-buckets per
 * power of two, so every recorded value is known to within 1/64 (about
 * 1.6%) over the whole range from 1 ns to centuries, in fixed memory
 * (16 KiB, allocated on the first record).  Histograms merge by adding
 * counts, so per-thread histograms combine without locks.
 *
 *	struct fa_hist h;
 *	fa_hist_init(&h);
 *	fa_hist_record(&h, ns);
 *	p99 = fa_hist_percentile(&h, 99.0);
 *	fa_hist_release(&h);
 */
#ifndef FA_STATS_H
#define FA_STATS_H

#include <stdint.h>

#include "core/err.h"

#define FA_HIST_SUB 64
#define FA_HIST_BUCKETS (64 * FA_HIST_SUB)

struct fa_hist {
	uint32_t *counts;       /* FA_HIST_BUCKETS, NULL until the first record */
	uint64_t total;
	uint64_t min, max;
	double sum;
};

void fa_hist_init(struct fa_hist *h);
void fa_hist_release(struct fa_hist *h);
enum fa_err fa_hist_record(struct fa_hist *h, uint64_t value);
/* Adds src's counts into dst. */
enum fa_err fa_hist_merge(struct fa_hist *dst, const struct fa_hist *src);
/* The value at percentile p (0..100): the bucket's upper bound, capped at max. */
uint64_t fa_hist_percentile(const struct fa_hist *h, double p);
double fa_hist_mean(const struct fa_hist *h);

/* Monotonic clock in nanoseconds. */
uint64_t fa_now_ns(void);

#endif
