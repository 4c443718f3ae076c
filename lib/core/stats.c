#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The layout (HdrHistogram's): bucket 0 holds sub-bucket-count values at
 * the finest unit; each later bucket holds half as many sub-buckets'
 * worth of new values at twice the unit, so the relative precision stays
 * the same.  Counter index = (bucket + 1) * sub_half + sub - sub_half.
 */

static int log2_floor(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

enum fa_err fa_hist_init_range(struct fa_hist *h, uint64_t lowest, uint64_t highest,
			       int digits, struct fa_error *err)
{
	uint64_t largest_single, untrackable;
	int sub_magnitude;

	memset(h, 0, sizeof(*h));
	if (lowest < 1 || highest < 2 * lowest || highest > (UINT64_C(1) << 62))
		return fa_error_set(err, FA_EUSAGE, "histogram range %llu..%llu: needs 1 <= lowest "
				    "and 2 * lowest <= highest <= 2^62",
				    (unsigned long long)lowest, (unsigned long long)highest);
	if (digits < 1 || digits > 5)
		return fa_error_set(err, FA_EUSAGE, "histogram digits %d: must be 1 to 5", digits);
	largest_single = 2;
	for (int i = 0; i < digits; i++)
		largest_single *= 10;
	sub_magnitude = log2_floor(largest_single - 1) + 1;       /* ceil(log2) */
	h->lowest = lowest;
	h->highest = highest;
	h->digits = digits;
	h->unit_magnitude = log2_floor(lowest);
	h->sub_half_magnitude = sub_magnitude - 1;
	h->sub_half = UINT64_C(1) << h->sub_half_magnitude;
	h->sub_mask = ((h->sub_half << 1) - 1) << h->unit_magnitude;
	untrackable = (h->sub_half << 1) << h->unit_magnitude;
	h->buckets = 1;
	while (untrackable <= highest) {
		untrackable <<= 1;
		h->buckets++;
	}
	h->len = (size_t)(h->buckets + 1) * h->sub_half;
	return FA_OK;
}

void fa_hist_init(struct fa_hist *h)
{
	struct fa_error err;

	fa_hist_init_range(h, 1, FA_HIST_DEFAULT_HIGHEST, FA_HIST_DEFAULT_DIGITS, &err);
}

void fa_hist_release(struct fa_hist *h)
{
	free(h->counts);
	h->counts = NULL;
	fa_hist_reset(h);
}

void fa_hist_reset(struct fa_hist *h)
{
	if (h->counts)
		memset(h->counts, 0, h->len * sizeof(*h->counts));
	h->total = h->min = h->max = 0;
	h->sum = h->sumsq = 0;
}

size_t fa_hist_index_of(const struct fa_hist *h, uint64_t v)
{
	int bucket, ceil2;
	uint64_t sub;

	if (v > h->highest)
		v = h->highest;
	ceil2 = 64 - __builtin_clzll(v | h->sub_mask);
	bucket = ceil2 - h->unit_magnitude - (h->sub_half_magnitude + 1);
	sub = v >> (bucket + h->unit_magnitude);
	return ((size_t)(bucket + 1) << h->sub_half_magnitude) + (size_t)(sub - h->sub_half);
}

uint64_t fa_hist_index_value(const struct fa_hist *h, size_t i)
{
	int bucket = (int)(i >> h->sub_half_magnitude) - 1;
	uint64_t sub = (i & (h->sub_half - 1)) + h->sub_half;

	if (bucket < 0) {
		sub -= h->sub_half;
		bucket = 0;
	}
	return sub << (bucket + h->unit_magnitude);
}

/* The width of the range of values that share v's counter. */
static uint64_t range_size(const struct fa_hist *h, uint64_t v)
{
	size_t i = fa_hist_index_of(h, v);
	int bucket = (int)(i >> h->sub_half_magnitude) - 1;

	return UINT64_C(1) << (h->unit_magnitude + (bucket < 0 ? 0 : bucket));
}

uint64_t fa_hist_highest_equivalent(const struct fa_hist *h, uint64_t v)
{
	uint64_t low = fa_hist_index_value(h, fa_hist_index_of(h, v));

	return low + range_size(h, low) - 1;
}

static enum fa_err alloc_counts(struct fa_hist *h)
{
	if (!h->counts && !(h->counts = calloc(h->len, sizeof(*h->counts))))
		return FA_ENOMEM;
	return FA_OK;
}

enum fa_err fa_hist_record_n(struct fa_hist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return FA_OK;
	if (alloc_counts(h))
		return FA_ENOMEM;
	h->counts[fa_hist_index_of(h, v)] += n;
	if (!h->total || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->total += n;
	h->sum += (double)v * (double)n;
	h->sumsq += (double)v * (double)v * (double)n;
	return FA_OK;
}

enum fa_err fa_hist_record(struct fa_hist *h, uint64_t v)
{
	return fa_hist_record_n(h, v, 1);
}

enum fa_err fa_hist_add_index(struct fa_hist *h, size_t i, uint64_t n)
{
	if (i >= h->len)
		return FA_EUSAGE;
	if (alloc_counts(h))
		return FA_ENOMEM;
	h->counts[i] += n;
	return FA_OK;
}

bool fa_hist_same_layout(const struct fa_hist *a, const struct fa_hist *b)
{
	return a->lowest == b->lowest && a->highest == b->highest && a->digits == b->digits;
}

enum fa_err fa_hist_merge(struct fa_hist *dst, const struct fa_hist *src)
{
	if (!src->total || !src->counts)
		return FA_OK;
	if (alloc_counts(dst))
		return FA_ENOMEM;
	if (fa_hist_same_layout(dst, src)) {
		for (size_t i = 0; i < src->len; i++)
			dst->counts[i] += src->counts[i];
	} else {
		for (size_t i = 0; i < src->len; i++) {
			uint64_t low;

			if (!src->counts[i])
				continue;
			low = fa_hist_index_value(src, i);
			dst->counts[fa_hist_index_of(dst, low + range_size(src, low) / 2)] +=
				src->counts[i];
		}
	}
	if (!dst->total || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->total += src->total;
	dst->sum += src->sum;
	dst->sumsq += src->sumsq;
	return FA_OK;
}

uint64_t fa_hist_percentile(const struct fa_hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->total || !h->counts)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	want = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < h->len; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = fa_hist_highest_equivalent(h, fa_hist_index_value(h, i));

			return v > h->max ? h->max : v < h->min ? h->min : v;
		}
	}
	return h->max;
}

double fa_hist_mean(const struct fa_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

double fa_hist_stddev(const struct fa_hist *h)
{
	double m, var;

	if (h->total < 2)
		return 0.0;
	m = fa_hist_mean(h);
	var = h->sumsq / (double)h->total - m * m;
	return var > 0 ? sqrt(var) : 0.0;
}

void fa_hist_piter_init(struct fa_hist_piter *it, const struct fa_hist *h, int ticks_per_half)
{
	memset(it, 0, sizeof(*it));
	it->h = h;
	it->ticks_per_half = ticks_per_half > 0 ? ticks_per_half : 1;
}

/* The next level: the distance to 100% halves every ticks_per_half steps. */
static double next_level(double level, int ticks_per_half)
{
	double halvings = floor(log2(100.0 / (100.0 - level)));
	double ticks = (double)ticks_per_half * pow(2.0, halvings + 1);

	return level + 100.0 / ticks;
}

bool fa_hist_piter_next(struct fa_hist_piter *it)
{
	const struct fa_hist *h = it->h;

	if (it->finished || !h->total || !h->counts)
		return false;
	if (it->running >= h->total) {
		/* the last step: everything, at the highest value recorded */
		it->finished = true;
		it->value = h->max;
		it->percentile = 100.0;
		it->count = h->total;
		return true;
	}
	while (it->index < h->len) {
		uint64_t c = h->counts[it->index];

		if (!it->included) {
			it->running += c;
			it->included = true;
		}
		if (c && 100.0 * (double)it->running / (double)h->total >= it->level) {
			uint64_t v = fa_hist_highest_equivalent(h, fa_hist_index_value(h, it->index));

			it->value = v > h->max ? h->max : v;
			it->percentile = it->level;
			it->count = it->running;
			it->level = next_level(it->level, it->ticks_per_half);
			return true;
		}
		it->index++;
		it->included = false;
	}
	it->running = h->total;
	return fa_hist_piter_next(it);
}

uint64_t fa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
