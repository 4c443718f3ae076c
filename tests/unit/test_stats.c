/* Unit test for lib/core/stats.c: bucket bounds and percentiles. */
#include "core/stats.c"

#include <stdio.h>

#include "check.h"

int main(void)
{
	struct fa_hist h, g;
	uint64_t v, p;
	unsigned seed = 12345, i;

	/* Every value lies within its bucket, and buckets are ordered. */
	for (v = 0; v < 5000000; v = v * 3 / 2 + 1) {
		unsigned b = bucket_of(v);

		CHECK(v <= bucket_top(b));
		CHECK(b == 0 || v > bucket_top(b - 1));
		CHECK(bucket_top(b) - v <= v / 64 + 1);
	}
	CHECK(bucket_of(UINT64_MAX) < FA_HIST_BUCKETS);

	fa_hist_init(&h);
	CHECK(fa_hist_percentile(&h, 50) == 0);
	for (i = 1; i <= 1000; i++)
		fa_hist_record(&h, i * 1000);
	CHECK(h.total == 1000 && h.min == 1000 && h.max == 1000000);
	p = fa_hist_percentile(&h, 50);
	CHECK(p >= 500000 && p <= 500000 + 500000 / 64 + 1);
	p = fa_hist_percentile(&h, 99);
	CHECK(p >= 990000 && p <= 990000 + 990000 / 64 + 1);
	CHECK(fa_hist_percentile(&h, 100) == 1000000);
	CHECK(fa_hist_percentile(&h, 0) == 1000);
	CHECK(fa_hist_mean(&h) > 500499 && fa_hist_mean(&h) < 500501);

	/* Merging two halves equals recording everything in one. */
	fa_hist_init(&g);
	printf("seed %u\n", seed);
	for (i = 0; i < 10000; i++) {
		seed = seed * 1103515245 + 12345;
		fa_hist_record(i % 2 ? &g : &h, seed % 100000);
	}
	fa_hist_merge(&h, &g);
	CHECK(h.total == 11000);
	fa_hist_release(&h);
	fa_hist_release(&g);
	return check_report("test_stats");
}
