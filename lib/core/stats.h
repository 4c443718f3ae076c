/*
 * stats: an HdrHistogram, and the monotonic clock.
 *
 * A histogram covers values from lowest to highest (lowest >= 1) and keeps
 * every value to `digits` significant decimal digits (1 to 5): a value is
 * known to within 1 part in 10^digits over the whole range, in fixed
 * memory decided at init (about 2^(digits*3.3) * log2(highest/lowest)
 * counters of 8 bytes).  Values above highest are counted in the top
 * bucket; min, max, mean and the standard deviation stay exact whatever
 * the value.  Counts are 64-bit, so merging adds them exactly: per-thread
 * histograms of the same layout merge without losing anything, and
 * percentiles of the merge are those of one histogram fed every value.
 *
 *	struct fa_hist h;
 *	fa_hist_init_range(&h, 1, 3600000000000, 3, &err);   // 1 ns .. 1 h
 *	fa_hist_record(&h, ns);
 *	p99 = fa_hist_percentile(&h, 99.0);
 *	fa_hist_release(&h);
 *
 * fa_hist_init() gives the layout the tools' timings use: 1 ns to one day
 * at 2 digits (40 KiB).  The counters are allocated on the first record,
 * so an unused histogram costs nothing; the struct is owned by the caller
 * and not thread-safe (one per thread, merged afterwards).
 */
#ifndef FA_STATS_H
#define FA_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define FA_HIST_DEFAULT_HIGHEST 86400000000000ULL      /* one day in ns */
#define FA_HIST_DEFAULT_DIGITS 2

struct fa_hist {
	/* layout, fixed at init */
	uint64_t lowest, highest;
	int digits;
	int unit_magnitude;             /* floor(log2(lowest)) */
	int sub_half_magnitude;         /* log2(sub-buckets per bucket) - 1 */
	uint64_t sub_half;              /* sub-buckets in each half bucket */
	uint64_t sub_mask;
	int buckets;
	size_t len;                     /* counters */
	uint64_t *counts;               /* len counters, NULL until the first record */
	/* exact summaries */
	uint64_t total;
	uint64_t min, max;
	double sum, sumsq;
};

/* The tools' default layout (see above); cannot fail. */
void fa_hist_init(struct fa_hist *h);

/*
 * A histogram for lowest..highest at digits significant digits.
 * FA_EUSAGE with a message for lowest < 1, highest < 2 * lowest, or
 * digits outside 1..5.  Allocates nothing yet.
 */
enum fa_err fa_hist_init_range(struct fa_hist *h, uint64_t lowest, uint64_t highest,
			       int digits, struct fa_error *err);

/* Frees the counters; the layout stays, so h may record again. */
void fa_hist_release(struct fa_hist *h);

/* Zeroes the counts and summaries, keeping the layout and memory. */
void fa_hist_reset(struct fa_hist *h);

/* Records value once, or n times.  FA_ENOMEM if the counters cannot be had. */
enum fa_err fa_hist_record(struct fa_hist *h, uint64_t value);
enum fa_err fa_hist_record_n(struct fa_hist *h, uint64_t value, uint64_t n);

/*
 * Adds src into dst.  With the same layout the counters add exactly;
 * otherwise each of src's buckets is recorded into dst at its middle value
 * (as precise as the coarser layout).  min, max, sum and count are exact.
 */
enum fa_err fa_hist_merge(struct fa_hist *dst, const struct fa_hist *src);

/* True when a and b have the same layout (their counters line up). */
bool fa_hist_same_layout(const struct fa_hist *a, const struct fa_hist *b);

/*
 * The value at percentile p (0..100): the highest value equivalent to the
 * bucket that holds the p-th percent of the counts, capped at max; 0 for
 * an empty histogram, min for p <= 0, max for p >= 100.
 */
uint64_t fa_hist_percentile(const struct fa_hist *h, double p);
double fa_hist_mean(const struct fa_hist *h);
double fa_hist_stddev(const struct fa_hist *h);

/* Counter access, for serialising: the lowest value of counter i, and the
   highest value it stands for. */
uint64_t fa_hist_index_value(const struct fa_hist *h, size_t i);
uint64_t fa_hist_highest_equivalent(const struct fa_hist *h, uint64_t v);
size_t fa_hist_index_of(const struct fa_hist *h, uint64_t v);

/*
 * Adds n to counter i directly (for reading a histogram back); the
 * summaries are the caller's to set.  FA_EUSAGE when i is out of range.
 */
enum fa_err fa_hist_add_index(struct fa_hist *h, size_t i, uint64_t n);

/*
 * The percentile spectrum, as HdrHistogram prints it: levels that halve
 * the distance to 100% ticks_per_half times per halving, each with the
 * value reached there and the count up to it; the last step is 100%.
 *
 *	struct fa_hist_piter it;
 *	fa_hist_piter_init(&it, &h, 5);
 *	while (fa_hist_piter_next(&it)) use(it.value, it.percentile, it.count);
 */
struct fa_hist_piter {
	const struct fa_hist *h;
	int ticks_per_half;
	size_t index;
	bool included;                  /* counts[index] is in running */
	bool finished;
	uint64_t running;
	double level;                   /* the next percentile to report */
	/* the step just reached */
	uint64_t value;
	double percentile;
	uint64_t count;
};
void fa_hist_piter_init(struct fa_hist_piter *it, const struct fa_hist *h, int ticks_per_half);
bool fa_hist_piter_next(struct fa_hist_piter *it);

/* Monotonic clock in nanoseconds. */
uint64_t fa_now_ns(void);

#endif
