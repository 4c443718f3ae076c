/*
 * check.h: the harness every C unit test in tests/unit shares.
 *
 * A unit test is one .c file built into one binary; it includes the code
 * under test, then this header, and counts every assertion so that the
 * last line it prints says how many checks ran and how many failed:
 *
 *	#include "layer/foo.c"
 *	#include "check.h"
 *
 *	static void test_parse(void)
 *	{
 *		CHECK(foo_parse("1") == 1);
 *		CHECK(n == 3, "got %d items", n);
 *		CHECK_STR(foo_name(2), "two");
 *	}
 *
 *	int main(int argc, char **argv)
 *	{
 *		rnd_seed("test_foo", argc, argv);
 *		RUN(test_parse);
 *		return check_report("test_foo");
 *	}
 *
 * A failed check prints "FAIL file:line what" to stderr, with the message
 * or the two strings after it, and the run goes on.  check_report()
 * prints "test_foo: N checks, F failed" and returns the exit status, 1
 * when any check failed.  A helper that checks on behalf of its caller
 * takes the caller's file and line and calls check() or check_str().
 *
 * Everything here is static: each test is a single translation unit.  The
 * functions are static inline only so that a test need not use them all.
 */
#ifndef FA_TEST_CHECK_H
#define FA_TEST_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static inline void check_fmt(const char *file, int line, bool ok,
			     const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Counts one check; when !ok, counts a failure and prints "FAIL file:line"
 * and what (if not empty), then fmt.  CHECK passes ": " and its message
 * as fmt, or ": " alone when it has none, which prints nothing.
 */
static inline void check_fmt(const char *file, int line, bool ok,
			     const char *what, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL %s:%d%s%s", file, line, *what ? " " : "", what);
	if (strcmp(fmt, ": ") != 0) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
}

/* One check at file:line; what says what failed ("" for nothing). */
static inline void check(const char *file, int line, bool ok,
			 const char *what)
{
	check_fmt(file, line, ok, what, ": ");
}

/*
 * One check that got and want are the same string, or both NULL; a
 * failure prints both.  what may be NULL.
 */
static inline void check_str(const char *file, int line, const char *got,
			     const char *want, const char *what)
{
	bool same = got && want ? strcmp(got, want) == 0 : got == want;

	check(file, line, same, what ? what : "");
	if (!same)
		fprintf(stderr, "  got:  [%s]\n  want: [%s]\n",
			got ? got : "(null)", want ? want : "(null)");
}

/* CHECK(cond) or CHECK(cond, "printf format", args...) */
#define CHECK(cond, ...) \
	check_fmt(__FILE__, __LINE__, (cond), #cond, ": " __VA_ARGS__)
#define CHECK_STR(got, want) check_str(__FILE__, __LINE__, (got), (want), NULL)

/* Prints the summary line for test name; the exit status for main. */
static inline int check_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, checks, failures);
	return failures != 0;
}

/* Seconds on the monotonic clock, for timings that are printed. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RUN(test_x) runs test_x() and prints "test_x: ok (0.1 s)" or FAILED. */
#define RUN(test) run_test(#test, test)

static inline void run_test(const char *name, void (*test)(void))
{
	double t = now();
	int before = failures;

	test();
	printf("%s: %s (%.1f s)\n", name, failures == before ? "ok" : "FAILED",
	       now() - t);
	fflush(stdout);
}

/*
 * Random data: xorshift64.  main seeds rng_state (never with 0) from a
 * seed it prints, so that a failing run can be replayed.
 */
static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * The seed of this run: argv[1] if given (decimal, or hex after 0x), else
 * the time and pid.  Prints "name: seed N", seeds rng_state with it (a
 * test may mix it further) and returns it.
 */
static inline uint64_t rnd_seed(const char *name, int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
				 : (uint64_t)time(NULL) ^
				   (uint64_t)getpid() << 32;

	printf("%s: seed %" PRIu64 "\n", name, seed);
	rng_state = seed ? seed : 1;
	return seed;
}

/* A number in [lo, hi]. */
static inline size_t rnd_in(size_t lo, size_t hi)
{
	return lo + (size_t)(rnd() % (hi - lo + 1));
}

/* A number in [0, n), or 0 for n == 0. */
static inline uint32_t rnd_below(uint32_t n)
{
	return n ? (uint32_t)((rnd() >> 11) % n) : 0;
}

#endif
