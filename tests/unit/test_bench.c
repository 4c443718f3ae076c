/*
 * Unit test for lib/bench's pure parts: the generators (gen), the
 * thresholds, the Mann-Whitney U test and the histogram's JSON form
 * (report), the open-loop arrival times (engine) and the suite file
 * (suite).
 */
#include "bench/gen.c"
#include "bench/report.c"
#include "bench/engine.c"
#include "bench/suite.c"

#include <stdio.h>

#include "check.h"

static void test_gen_parse(void)
{
	struct fa_gen g;
	struct fa_error err;

	CHECK(fa_gen_parse(&g, "42", &err) == FA_OK && g.kind == FA_GEN_CONST && g.lb == 42);
	CHECK(fa_gen_parse(&g, " random( 1 , 10 ) ", &err) == FA_OK && g.lb == 1 && g.ub == 10);
	CHECK(fa_gen_parse(&g, "random_zipfian(1, 1000, 1.1)", &err) == FA_OK);
	CHECK(fa_gen_parse(&g, "random(1,", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 10") != NULL, "%s", err.msg);
	CHECK(fa_gen_parse(&g, "random(5, 1)", &err) == FA_EUSAGE);
	CHECK(fa_gen_parse(&g, "random_gaussian(1, 10, 1.5)", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "at least 2.0") != NULL, "%s", err.msg);
	CHECK(fa_gen_parse(&g, "random_zipfian(1, 10, 1)", &err) == FA_EUSAGE);
	CHECK(fa_gen_parse(&g, "random_exponential(1, 10, 0)", &err) == FA_EUSAGE);
	CHECK(fa_gen_parse(&g, "rand(1, 10)", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 1") != NULL, "%s", err.msg);
	CHECK(fa_gen_parse(&g, "seq(1, 10) x", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 12") != NULL, "%s", err.msg);
	CHECK(fa_gen_parse(&g, "random(1 10)", &err) == FA_EUSAGE);
}

static bool scale_only(void *ctx, const char *name, size_t len, int64_t *v)
{
	(void)ctx;
	if (len == 5 && !strncmp(name, "scale", 5)) {
		*v = 3;
		return true;
	}
	return false;
}

static void test_gen_expressions(void)
{
	struct fa_gen g;
	struct fa_error err;

	CHECK(fa_gen_parse_with(&g, "random(1, 100000 * :scale)", scale_only, NULL, &err) == FA_OK,
	      "%s", err.msg);
	CHECK(g.lb == 1 && g.ub == 300000);
	CHECK(fa_gen_parse(&g, "(2 + 3) * 4 - 10 / 3 % 2", &err) == FA_OK && g.lb == 19, "%lld",
	      (long long)g.lb);
	CHECK(fa_gen_parse(&g, "-(2)", &err) == FA_OK && g.lb == -2);
	CHECK(fa_gen_parse(&g, "seq(-5, 5 * 2)", &err) == FA_OK && g.lb == -5 && g.ub == 10);
	CHECK(fa_gen_parse(&g, "7 % 0", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 3") && strstr(err.msg, "division by zero"), "%s", err.msg);
	CHECK(fa_gen_parse_with(&g, "random(1, :nope)", scale_only, NULL, &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 11"), "%s", err.msg);
	CHECK(fa_gen_parse(&g, "9223372036854775807 + 1", &err) == FA_EUSAGE);
	CHECK(fa_gen_parse(&g, "(1 + 2", &err) == FA_EUSAGE);
	CHECK(fa_gen_parse(&g, "random_gaussian(1, 10, x)", &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 24"), "%s", err.msg);
}

/* Draws n values of expr; counts[v - lb] for each. */
static void draw(const char *expr, int n, uint64_t *counts, int64_t lb, int64_t ub)
{
	struct fa_gen g;
	struct fa_gen_state st;
	struct fa_error err;

	CHECK(fa_gen_parse(&g, expr, &err) == FA_OK, "%s", err.msg);
	fa_gen_state_init(&st, &g, rnd(), 0, 1);
	for (int i = 0; i < n; i++) {
		int64_t v = fa_gen_next(&g, &st);

		if (v < lb || v > ub) {
			CHECK(false, "%s drew %lld", expr, (long long)v);
			return;
		}
		counts[v - lb]++;
	}
}

static void test_gen_draws(void)
{
	uint64_t c[100];
	double chi = 0;
	struct fa_gen g;
	struct fa_gen_state a, b;
	struct fa_error err;

	/* uniform: a chi-square over 100 cells stays far below 200 */
	memset(c, 0, sizeof(c));
	draw("random(1, 100)", 100000, c, 1, 100);
	for (int i = 0; i < 100; i++)
		chi += ((double)c[i] - 1000) * ((double)c[i] - 1000) / 1000;
	CHECK(chi < 200, "uniform chi-square %f", chi);
	/* Zipf s=2: P(1) = 1/zeta(2) over 100 values, about 0.6087 */
	memset(c, 0, sizeof(c));
	draw("random_zipfian(1, 100, 2)", 100000, c, 1, 100);
	CHECK(c[0] > 59000 && c[0] < 62500, "zipf P(1) %llu", (unsigned long long)c[0]);
	CHECK(c[1] > 14000 && c[1] < 16500, "zipf P(2) %llu", (unsigned long long)c[1]);
	/* gaussian: symmetric around the middle */
	memset(c, 0, sizeof(c));
	draw("random_gaussian(1, 100, 2.5)", 100000, c, 1, 100);
	CHECK(c[49] + c[50] > 5 * (c[0] + c[99]));
	/* exponential: the first decile holds most */
	memset(c, 0, sizeof(c));
	draw("random_exponential(1, 100, 5)", 100000, c, 1, 100);
	{
		uint64_t low = 0;

		for (int i = 0; i < 10; i++)
			low += c[i];
		/* P(x < 0.1) = (1 - e^-0.5) / (1 - e^-5), about 0.396 */
		CHECK(low > 38000 && low < 41500, "exponential first decile %llu", (unsigned long long)low);
	}
	/* seq: two connections take turns and never meet */
	fa_gen_parse(&g, "seq(10, 19)", &err);
	fa_gen_state_init(&a, &g, 1, 0, 2);
	fa_gen_state_init(&b, &g, 1, 1, 2);
	CHECK(fa_gen_next(&g, &a) == 10 && fa_gen_next(&g, &b) == 11);
	CHECK(fa_gen_next(&g, &a) == 12 && fa_gen_next(&g, &b) == 13);
	for (int i = 0; i < 3; i++)
		fa_gen_next(&g, &a);
	CHECK(fa_gen_next(&g, &a) == 10, "seq wraps");
}

static void test_thresholds(void)
{
	struct fa_bench_threshold t[FA_BENCH_MAX_THRESHOLDS];
	struct fa_error err;
	struct fa_buf out;
	json_t *doc;
	int n;

	CHECK(fa_bench_thresholds_parse("--threshold", "p99<5ms,errors<0.1%,rate>10000", t, &n, &err) == FA_OK);
	CHECK(n == 3 && t[0].value == 5 && !strcmp(t[0].op, "<"));
	CHECK(t[1].percent && t[1].value == 0.1 && !strcmp(t[2].metric, "rate"));
	CHECK(fa_bench_thresholds_parse("--threshold", "p999 <= 2s, max<100us", t, &n, &err) == FA_OK);
	CHECK(n == 2 && t[0].value == 2000 && !strcmp(t[0].op, "<=") && fabs(t[1].value - 0.1) < 1e-12);
	CHECK(fa_bench_thresholds_parse("--threshold", "p99<5ms,", t, &n, &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 9"), "%s", err.msg);
	CHECK(fa_bench_thresholds_parse("--threshold", "p99=5", t, &n, &err) == FA_EUSAGE);
	CHECK(strstr(err.msg, "position 4"), "%s", err.msg);
	CHECK(fa_bench_thresholds_parse("--threshold", "p99<5h", t, &n, &err) == FA_EUSAGE);

	doc = json_pack("{s:f,s:I,s:I,s:f}", "p99", 4.0, "requests", (json_int_t)1000,
			"errors", (json_int_t)2, "rps", 12000.0);
	fa_buf_init(&out, 0);
	fa_bench_thresholds_parse("--threshold", "p99<5ms,errors<0.1%,rate>10000", t, &n, &err);
	CHECK(!fa_bench_thresholds_check(t, n, doc, &out));
	CHECK(out.data && strstr(out.data, "errors<0.1%") && !strstr(out.data, "p99"), "%s", out.data);
	fa_bench_thresholds_parse("--threshold", "p99<5ms,errors<=2,rps>=12000", t, &n, &err);
	fa_buf_reset(&out);
	CHECK(fa_bench_thresholds_check(t, n, doc, &out));
	fa_buf_release(&out);
	json_decref(doc);
}

static void test_mann_whitney(void)
{
	double a[10], b[10], c[10];

	for (int i = 0; i < 10; i++) {
		a[i] = 100 + i;
		b[i] = 100 + i + 0.5;   /* interleaved: the same */
		c[i] = 200 + i;         /* all above */
	}
	CHECK(fa_bench_mann_whitney(a, 10, b, 10) > 0.5);
	CHECK(fa_bench_mann_whitney(a, 10, c, 10) < 0.001);
	CHECK(fa_bench_mann_whitney(c, 10, a, 10) < 0.001);
	CHECK(fa_bench_mann_whitney(a, 10, a, 10) > 0.9);
	CHECK(fa_bench_mann_whitney(a, 1, c, 10) == 1.0);
}

static void test_hist_json(void)
{
	struct fa_hist h, back;
	struct fa_error err;
	json_t *o;
	bool same = true;

	fa_bench_hist_init(&h, 3, &err);
	for (int i = 0; i < 20000; i++)
		fa_hist_record(&h, 1000 + rnd() % 100000000);
	o = fa_bench_hist_json(&h);
	CHECK(fa_bench_hist_read(o, &back, &err) == FA_OK, "%s", err.msg);
	CHECK(back.total == h.total && back.min == h.min && back.max == h.max);
	for (size_t i = 0; i < h.len; i++)
		if (h.counts[i] != back.counts[i])
			same = false;
	CHECK(same, "counters differ after a round trip through JSON");
	CHECK(fa_hist_percentile(&back, 99.9) == fa_hist_percentile(&h, 99.9));
	fa_hist_release(&back);
	json_object_set_new(o, "count", json_integer(5));
	CHECK(fa_bench_hist_read(o, &back, &err) == FA_EINPUT);
	json_decref(o);
	fa_hist_release(&h);
}

static void test_arrivals(void)
{
	/* constant rate: the k-th arrival at k / rate */
	CHECK(fabs(arrival_time(10, 100, 100, 0) - 0.1) < 1e-12);
	/* a ramp from 0 to 100 over 10 s has 500 arrivals by its end */
	CHECK(fabs(arrival_time(500, 0, 100, 10) - 10) < 1e-9);
	CHECK(fabs(arrival_time(125, 0, 100, 10) - 5) < 1e-9);
	/* then the rate stays */
	CHECK(fabs(arrival_time(600, 0, 100, 10) - 11) < 1e-9);
	/* arrivals only move forward */
	for (double k = 0, last = -1; k < 2000; k += 7.3) {
		double t = arrival_time(k, 50, 400, 3);

		CHECK(t > last);
		last = t;
	}
}

static void test_suite(void)
{
	struct fa_bench_suite s;
	struct fa_error err;
	const char *ok =
		"# comment\n"
		"\n"
		"-d 2s -t 1\n"
		"a: pg -e 'select 1 # not a comment' -c 2   # a comment\n"
		"b.2-x: http \"http://h/{1..9}\" -H \"X-A: \\\"q\\\"\" it\\ s ''\r\n"
		"-n 5\n"
		"c: mcp --tool t URL k:=1";

	CHECK(fa_bench_suite_parse(ok, strlen(ok), "s.txt", &s, &err) == FA_OK, "%s", err.msg);
	CHECK(s.n == 3);
	CHECK(!strcmp(s.sc[0].name, "a") && s.sc[0].line == 4 && s.sc[0].ndefaults == 4);
	CHECK(s.sc[0].argc == 9 && !strcmp(s.sc[0].argv[0], "-d") && !strcmp(s.sc[0].argv[4], "pg"));
	CHECK(!strcmp(s.sc[0].argv[6], "select 1 # not a comment") && s.sc[0].argv[9] == NULL);
	CHECK(!strcmp(s.sc[1].name, "b.2-x") && s.sc[1].argc == 10, "%d", s.sc[1].argc);
	CHECK(!strcmp(s.sc[1].argv[5], "http://h/{1..9}"));
	CHECK(!strcmp(s.sc[1].argv[7], "X-A: \"q\""), "%s", s.sc[1].argv[7]);
	CHECK(!strcmp(s.sc[1].argv[8], "it s") && !strcmp(s.sc[1].argv[9], ""));
	CHECK(s.sc[2].line == 7 && s.sc[2].ndefaults == 2 && !strcmp(s.sc[2].argv[0], "-n"));
	fa_bench_suite_release(&s);

	struct {
		const char *text, *msg;
	} bad[] = {
		{ "a: pg\nb pg\n", "s.txt line 2, column 1: 'b'" },
		{ "a: pg\n\n  a: http\n", "s.txt line 3: scenario 'a' is already on line 1" },
		{ "a: pg -e 'x\n", "s.txt line 1, column 10: the quote '" },
		{ "a: pg -e \"x\\\"\n", "line 1, column 10: the quote \"" },
		{ "a:\n", "line 1: scenario 'a' has no command" },
		{ "# nothing\n-d 1s\n", "s.txt: no scenario" },
		{ "a: pg\nb:c: pg\n", "line 2, column 1" },
		{ "a: pg\nb: p\0g\n", "line 2, column 5: a NUL byte" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i].text);

		if (strstr(bad[i].msg, "NUL"))
			len = 12;
		CHECK(fa_bench_suite_parse(bad[i].text, len, "s.txt", &s, &err) == FA_EINPUT, "%zu", i);
		CHECK(strstr(err.msg, bad[i].msg) != NULL, "%zu: %s", i, err.msg);
		CHECK(s.n == 0 && s.sc == NULL);
	}
}

int main(int argc, char **argv)
{
	rnd_seed("test_bench", argc, argv);
	RUN(test_gen_parse);
	RUN(test_gen_expressions);
	RUN(test_gen_draws);
	RUN(test_thresholds);
	RUN(test_mann_whitney);
	RUN(test_hist_json);
	RUN(test_arrivals);
	RUN(test_suite);
	return check_report("test_bench");
}
