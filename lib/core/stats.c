#include "core/stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void fa_hist_init(struct fa_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void fa_hist_release(struct fa_hist *h)
{
	free(h->counts);
	fa_hist_init(h);
}

/* Values below FA_HIST_SUB map linearly; above, by exponent and top bits. */
static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < FA_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);        /* >= 6 */
	return (e - 5) * FA_HIST_SUB + (unsigned)((v >> (e - 6)) & (FA_HIST_SUB - 1));
}

/* The largest value that falls into bucket b. */
static uint64_t bucket_top(unsigned b)
{
	unsigned e, m;

	if (b < FA_HIST_SUB)
		return b;
	e = b / FA_HIST_SUB + 5;
	m = b % FA_HIST_SUB;
	return ((uint64_t)(FA_HIST_SUB + m) << (e - 6)) + ((uint64_t)1 << (e - 6)) - 1;
}

enum fa_err fa_hist_record(struct fa_hist *h, uint64_t v)
{
	if (!h->counts && !(h->counts = calloc(FA_HIST_BUCKETS, sizeof(*h->counts))))
		return FA_ENOMEM;
	h->counts[bucket_of(v)]++;
	if (!h->total || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->total++;
	h->sum += (double)v;
	return FA_OK;
}

enum fa_err fa_hist_merge(struct fa_hist *dst, const struct fa_hist *src)
{
	if (!src->total)
		return FA_OK;
	if (!dst->counts && !(dst->counts = calloc(FA_HIST_BUCKETS, sizeof(*dst->counts))))
		return FA_ENOMEM;
	for (unsigned b = 0; b < FA_HIST_BUCKETS; b++)
		dst->counts[b] += src->counts[b];
	if (!dst->total || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->total += src->total;
	dst->sum += src->sum;
	return FA_OK;
}

uint64_t fa_hist_percentile(const struct fa_hist *h, double p)
{
	uint64_t want, seen = 0, top;

	if (!h->total)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	want = (uint64_t)((p / 100.0) * (double)h->total + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < FA_HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= want) {
			top = bucket_top(b);
			return top > h->max ? h->max : top < h->min ? h->min : top;
		}
	}
	return h->max;
}

double fa_hist_mean(const struct fa_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

uint64_t fa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
