/*
 * gen: the value generators of fa-bench's parameters, with pgbench's
 * names and distributions.
 *
 *	N                               the constant N
 *	random(LB, UB)                  uniform over LB..UB
 *	random_gaussian(LB, UB, P)      normal, cut at P (>= 2) deviations
 *	random_exponential(LB, UB, P)   exponential with parameter P (> 0)
 *	random_zipfian(LB, UB, S)       Zipf with exponent S (1.001 .. 1000)
 *	seq(LB, UB)                     LB, LB+1, ... UB, then LB again; each
 *	                                connection takes every Nth value, so
 *	                                no two connections draw the same one
 *
 * LB, UB and N are whole-number expressions: numbers, + - * / %,
 * parentheses, and :name of a constant defined before (pgbench's
 * "random(1, 100000 * :scale)"), folded when parsed.
 *
 * A struct fa_gen is parsed once and shared read-only; each connection
 * draws from it with its own struct fa_gen_state.  No I/O, no locks.
 */
#ifndef FA_BENCH_GEN_H
#define FA_BENCH_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum fa_gen_kind { FA_GEN_CONST, FA_GEN_RANDOM, FA_GEN_GAUSSIAN, FA_GEN_EXPONENTIAL,
		   FA_GEN_ZIPFIAN, FA_GEN_SEQ };

struct fa_gen {
	enum fa_gen_kind kind;
	int64_t lb, ub;
	double param;
	/* Zipf by rejection-inversion: constants worked out at parse time */
	double hx1, hn, sval;
};

struct fa_gen_state {
	uint64_t rng;
	int64_t next;                   /* seq: the next offset from lb */
	int64_t step;
};

/*
 * Parses expr.  FA_EUSAGE with a message naming expr and the character
 * position (1-based) of what is wrong.
 */
enum fa_err fa_gen_parse(struct fa_gen *g, const char *expr, struct fa_error *err);

/* The same, with :name in expressions looked up as constants: lookup
   returns true with the value, false for a name that is not one. */
enum fa_err fa_gen_parse_with(struct fa_gen *g, const char *expr,
			      bool (*lookup)(void *ctx, const char *name, size_t len, int64_t *v),
			      void *ctx, struct fa_error *err);

/* A state for connection index of n, seeded with seed. */
void fa_gen_state_init(struct fa_gen_state *st, const struct fa_gen *g, uint64_t seed,
		       int index, int n);

int64_t fa_gen_next(const struct fa_gen *g, struct fa_gen_state *st);

/* A uniform double in [0, 1) from st's generator. */
double fa_gen_unit(struct fa_gen_state *st);

#endif
