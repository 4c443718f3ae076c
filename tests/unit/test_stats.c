/*
 * Unit test for lib/core/stats.c: the HdrHistogram's layout and
 * precision, percentiles of known distributions, exact merges, and the
 * percentile spectrum.
 */
#include "core/stats.c"

#include <stdio.h>

#include "check.h"

/* Every value lies in its counter's range, ranges are ordered, and the
   range is within 10^-digits of the value. */
static void check_layout(int digits, uint64_t lowest, uint64_t highest)
{
	struct fa_hist h;
	struct fa_error err;
	uint64_t v, div = 1;
	size_t prev = 0;

	CHECK(fa_hist_init_range(&h, lowest, highest, digits, &err) == FA_OK, "%s", err.msg);
	for (int i = 0; i < digits; i++)
		div *= 10;
	for (v = lowest; v <= highest; v = v + v / 97 + 1) {
		size_t i = fa_hist_index_of(&h, v);
		uint64_t low = fa_hist_index_value(&h, i), high = fa_hist_highest_equivalent(&h, v);

		CHECK(i < h.len, "index %zu of %" PRIu64 " past %zu", i, v, h.len);
		CHECK(i >= prev);
		CHECK(low <= v && v <= high, "%" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", v, low, high);
		CHECK(high - low <= low / div + lowest, "range of %" PRIu64 " too wide at %d digits",
		      v, digits);
		prev = i;
	}
	CHECK(fa_hist_index_of(&h, UINT64_MAX) < h.len);
	fa_hist_release(&h);
}

static void test_layout(void)
{
	struct fa_hist h;
	struct fa_error err;

	for (int d = 1; d <= 5; d++) {
		check_layout(d, 1, 3600000000000ULL);
		check_layout(d, 1000, 3600000000000ULL);
	}
	CHECK(fa_hist_init_range(&h, 1, 1000, 0, &err) == FA_EUSAGE);
	CHECK(fa_hist_init_range(&h, 1, 1000, 6, &err) == FA_EUSAGE);
	CHECK(fa_hist_init_range(&h, 0, 1000, 3, &err) == FA_EUSAGE);
	CHECK(fa_hist_init_range(&h, 100, 150, 3, &err) == FA_EUSAGE);
	/* the default layout stays small: 2 digits over a day */
	fa_hist_init(&h);
	CHECK(h.len * sizeof(uint64_t) <= 64 * 1024, "default layout is %zu counters", h.len);
}

/* 1..N uniformly: the p-th percentile is p*N/100 to the histogram's precision. */
static void test_uniform(void)
{
	struct fa_hist h;
	struct fa_error err;
	static const double ps[] = { 1, 10, 50, 90, 99, 99.9, 99.99 };

	fa_hist_init_range(&h, 1, 3600000000ULL, 3, &err);
	CHECK(fa_hist_percentile(&h, 50) == 0);
	for (uint64_t v = 1; v <= 1000000; v++)
		fa_hist_record(&h, v);
	CHECK(h.total == 1000000 && h.min == 1 && h.max == 1000000);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		double want = ps[i] * 10000.0;
		uint64_t got = fa_hist_percentile(&h, ps[i]);

		CHECK((double)got >= want && (double)got <= want * 1.001 + 1,
		      "p%g of 1..1e6: %" PRIu64 ", want %.0f", ps[i], got, want);
	}
	CHECK(fa_hist_percentile(&h, 100) == 1000000);
	CHECK(fa_hist_percentile(&h, 0) == 1);
	CHECK(fa_hist_mean(&h) > 500000.4 && fa_hist_mean(&h) < 500000.6);
	/* stddev of 1..N is N/sqrt(12) */
	CHECK(fabs(fa_hist_stddev(&h) - 1000000 / sqrt(12.0)) < 1.0, "stddev %f", fa_hist_stddev(&h));
	fa_hist_reset(&h);
	CHECK(h.total == 0 && fa_hist_percentile(&h, 99) == 0);
	fa_hist_release(&h);
}

/* A bimodal load: 99% at 1 ms, 1% at 1 s; p99 is 1 ms, p99.5 is 1 s. */
static void test_bimodal(void)
{
	struct fa_hist h;
	struct fa_error err;
	uint64_t p;

	fa_hist_init_range(&h, 1000, 3600000000000ULL, 3, &err);
	fa_hist_record_n(&h, 1000000, 9900);
	fa_hist_record_n(&h, 1000000000, 100);
	p = fa_hist_percentile(&h, 99);
	CHECK(p >= 1000000 && p <= 1001000, "p99 %" PRIu64, p);
	p = fa_hist_percentile(&h, 99.5);
	CHECK(p == 1000000000, "p99.5 %" PRIu64, p);
	CHECK(fa_hist_percentile(&h, 50) <= 1001000);
	/* below lowest counts in the first counter; above highest in the last */
	fa_hist_record(&h, 3);
	fa_hist_record(&h, 7200000000000ULL);
	CHECK(h.min == 3 && h.max == 7200000000000ULL);
	CHECK(fa_hist_percentile(&h, 100) == 7200000000000ULL);
	fa_hist_release(&h);
}

/* Two halves merged equal one histogram fed everything, counter by counter. */
static void test_merge(void)
{
	struct fa_hist a, b, all, other;
	struct fa_error err;
	bool same = true;

	fa_hist_init_range(&a, 1, 3600000000000ULL, 3, &err);
	fa_hist_init_range(&b, 1, 3600000000000ULL, 3, &err);
	fa_hist_init_range(&all, 1, 3600000000000ULL, 3, &err);
	for (int i = 0; i < 200000; i++) {
		/* log-uniform over 1 us .. 10 s */
		uint64_t v = (uint64_t)exp(log(1000.0) + (double)(rnd() % 1000000) / 1e6 * log(1e7));

		fa_hist_record(i % 3 ? &a : &b, v);
		fa_hist_record(&all, v);
	}
	CHECK(fa_hist_merge(&a, &b) == FA_OK);
	CHECK(a.total == all.total && a.min == all.min && a.max == all.max);
	for (size_t i = 0; i < a.len; i++)
		if (a.counts[i] != all.counts[i])
			same = false;
	CHECK(same, "merged counters differ from the single histogram's");
	for (double p = 0; p <= 100; p += 0.5)
		CHECK(fa_hist_percentile(&a, p) == fa_hist_percentile(&all, p), "p%g", p);
	CHECK(fabs(a.sum - all.sum) < 1e-6 * all.sum);

	/* another layout: counts and extremes exact, percentiles to the coarser precision */
	fa_hist_init_range(&other, 1000, 3600000000000ULL, 2, &err);
	CHECK(!fa_hist_same_layout(&other, &all));
	fa_hist_merge(&other, &all);
	CHECK(other.total == all.total && other.max == all.max && other.min == all.min);
	{
		double p99a = (double)fa_hist_percentile(&all, 99), p99o = (double)fa_hist_percentile(&other, 99);

		CHECK(fabs(p99a - p99o) <= p99a * 0.02, "p99 %f vs %f", p99a, p99o);
	}
	/* merging an empty histogram changes nothing */
	fa_hist_reset(&b);
	fa_hist_merge(&a, &b);
	CHECK(a.total == all.total);
	fa_hist_release(&a);
	fa_hist_release(&b);
	fa_hist_release(&all);
	fa_hist_release(&other);
}

/* The spectrum climbs to 100% with nondecreasing values and counts. */
static void test_spectrum(void)
{
	struct fa_hist h;
	struct fa_hist_piter it;
	struct fa_error err;
	uint64_t lastv = 0, lastc = 0;
	double lastp = -1;
	int steps = 0;

	fa_hist_init_range(&h, 1, 3600000000000ULL, 3, &err);
	for (uint64_t v = 1; v <= 10000; v++)
		fa_hist_record(&h, v * 1000);
	fa_hist_piter_init(&it, &h, 5);
	while (fa_hist_piter_next(&it)) {
		CHECK(it.value >= lastv && it.count >= lastc && it.percentile > lastp);
		/* at level L, at least L% of the counts are at or below the value */
		CHECK((double)it.count >= it.percentile / 100.0 * 10000 - 1e-6);
		lastv = it.value;
		lastc = it.count;
		lastp = it.percentile;
		steps++;
	}
	CHECK(lastp == 100.0 && lastc == 10000 && lastv == 10000000);
	CHECK(steps > 50 && steps < 400, "%d steps", steps);
	/* the first step is 0% at the lowest value */
	fa_hist_piter_init(&it, &h, 5);
	CHECK(fa_hist_piter_next(&it) && it.percentile == 0 && it.value >= 1000 && it.value < 1002);
	fa_hist_release(&h);
}

int main(int argc, char **argv)
{
	rnd_seed("test_stats", argc, argv);
	RUN(test_layout);
	RUN(test_uniform);
	RUN(test_bimodal);
	RUN(test_merge);
	RUN(test_spectrum);
	return check_report("test_stats");
}
