#include "bench/gen.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum fa_gen_kind kind;
	int nargs;
} funcs[] = {
	{ "random", FA_GEN_RANDOM, 2 },
	{ "random_gaussian", FA_GEN_GAUSSIAN, 3 },
	{ "random_exponential", FA_GEN_EXPONENTIAL, 3 },
	{ "random_zipfian", FA_GEN_ZIPFIAN, 3 },
	{ "seq", FA_GEN_SEQ, 2 },
};

/* ---- Zipf by rejection-inversion (Hörmann and Derflinger, 1996) --------- */

/* (e^x - 1) / x and log(1 + x) / x, both well-behaved near 0 */
static double expm1_over(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x / 2 + x * x / 6;
}

static double log1p_over(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x / 2 + x * x / 3;
}

/* H, the integral of h(x) = x^-s, shifted so that H(1) = 0, and its inverse */
static double zh_integral(double x, double s)
{
	double lx = log(x);

	return expm1_over((1 - s) * lx) * lx;
}

static double zh(double x, double s)
{
	return exp(-s * log(x));
}

static double zh_inverse(double x, double s)
{
	double t = x * (1 - s);

	if (t < -1)
		t = -1;
	return exp(log1p_over(t) * x);
}

static void zipf_setup(struct fa_gen *g)
{
	double s = g->param, n = (double)(g->ub - g->lb + 1);

	g->hx1 = zh_integral(1.5, s) - 1;
	g->hn = zh_integral(n + 0.5, s);
	g->sval = 2 - zh_inverse(zh_integral(2.5, s) - zh(2, s), s);
}

static int64_t zipf_draw(const struct fa_gen *g, struct fa_gen_state *st)
{
	double s = g->param, n = (double)(g->ub - g->lb + 1);

	for (;;) {
		double u = g->hn + fa_gen_unit(st) * (g->hx1 - g->hn);
		double x = zh_inverse(u, s);
		double k = floor(x + 0.5);

		if (k < 1)
			k = 1;
		else if (k > n)
			k = n;
		if (k - x <= g->sval || u >= zh_integral(k + 0.5, s) - zh(k, s))
			return g->lb + (int64_t)k - 1;
	}
}

/* ---- parsing ------------------------------------------------------------ */

static enum fa_err bad(struct fa_error *err, const char *expr, const char *at, const char *what)
{
	return fa_error_set(err, FA_EUSAGE, "generator '%s', position %d: %s", expr,
			    (int)(at - expr) + 1, what);
}

static const char *skip_ws(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* A number: integers for the bounds, any decimal for the parameter. */
static const char *number(const char *p, bool integer, double *d, int64_t *i)
{
	char *end;

	errno = 0;
	if (integer) {
		long long v = strtoll(p, &end, 10);

		if (end == p || errno)
			return NULL;
		*i = v;
		*d = (double)v;
	} else {
		*d = strtod(p, &end);
		if (end == p || errno || !isfinite(*d))
			return NULL;
	}
	return end;
}

static enum fa_err check_args(struct fa_gen *g, const char *expr, const char *at,
			      struct fa_error *err)
{
	if (g->lb > g->ub)
		return bad(err, expr, at, "the lower bound is above the upper one");
	if ((double)g->ub - (double)g->lb >= 9.2e18)
		return bad(err, expr, at, "the range is too wide");
	if (g->kind == FA_GEN_GAUSSIAN && g->param < 2.0)
		return bad(err, expr, at, "random_gaussian's parameter must be at least 2.0");
	if (g->kind == FA_GEN_EXPONENTIAL && g->param <= 0.0)
		return bad(err, expr, at, "random_exponential's parameter must be above 0");
	if (g->kind == FA_GEN_ZIPFIAN && (g->param < 1.001 || g->param > 1000.0))
		return bad(err, expr, at, "random_zipfian's parameter must be from 1.001 to 1000");
	if (g->kind == FA_GEN_ZIPFIAN)
		zipf_setup(g);
	return FA_OK;
}

enum fa_err fa_gen_parse(struct fa_gen *g, const char *expr, struct fa_error *err)
{
	const char *p = skip_ws(expr), *name = p;
	size_t n;
	int nargs = 0;

	memset(g, 0, sizeof(*g));
	if (*p == '-' || isdigit((unsigned char)*p)) {
		double d;

		if (!(p = number(p, true, &d, &g->lb)) || *skip_ws(p))
			return bad(err, expr, p ? skip_ws(p) : name, "expected a whole number");
		g->kind = FA_GEN_CONST;
		g->ub = g->lb;
		return FA_OK;
	}
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	n = (size_t)(p - name);
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == n && !strncmp(funcs[i].name, name, n)) {
			g->kind = funcs[i].kind;
			nargs = funcs[i].nargs;
		}
	if (!nargs)
		return bad(err, expr, name, "expected a number, random(), random_gaussian(), "
			   "random_exponential(), random_zipfian() or seq()");
	p = skip_ws(p);
	if (*p != '(')
		return bad(err, expr, p, "expected '('");
	for (int a = 0; a < nargs; a++) {
		double d;
		int64_t *dst = a == 0 ? &g->lb : &g->ub;
		const char *q;

		p = skip_ws(p + 1);
		if (!(q = number(p, a < 2, &d, a < 2 ? dst : dst)))
			return bad(err, expr, p, a < 2 ? "expected a whole number" : "expected a number");
		if (a == 2)
			g->param = d;
		p = skip_ws(q);
		if (a < nargs - 1 && *p != ',')
			return bad(err, expr, p, nargs == 2 ? "expected ',': this takes 2 arguments" :
				   "expected ',': this takes 3 arguments");
	}
	if (*p != ')')
		return bad(err, expr, p, "expected ')'");
	if (*skip_ws(p + 1))
		return bad(err, expr, skip_ws(p + 1), "unexpected text after ')'");
	return check_args(g, expr, name, err);
}

/* ---- drawing ------------------------------------------------------------ */

double fa_gen_unit(struct fa_gen_state *st)
{
	/* splitmix64 */
	uint64_t z = (st->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

void fa_gen_state_init(struct fa_gen_state *st, const struct fa_gen *g, uint64_t seed,
		       int index, int n)
{
	uint64_t span = (uint64_t)(g->ub - g->lb) + 1;

	st->rng = seed;
	st->step = n > 0 ? n : 1;
	st->next = span ? (int64_t)((uint64_t)index % span) : 0;
}

int64_t fa_gen_next(const struct fa_gen *g, struct fa_gen_state *st)
{
	uint64_t span = (uint64_t)(g->ub - g->lb) + 1;
	double r;

	switch (g->kind) {
	case FA_GEN_CONST:
		return g->lb;
	case FA_GEN_RANDOM:
		return g->lb + (int64_t)(fa_gen_unit(st) * (double)span);
	case FA_GEN_SEQ: {
		int64_t v = g->lb + st->next;

		st->next = (int64_t)(((uint64_t)st->next + (uint64_t)st->step) % span);
		return v;
	}
	case FA_GEN_EXPONENTIAL: {
		double cut = exp(-g->param);

		r = -log(cut + (1.0 - cut) * (1.0 - fa_gen_unit(st))) / g->param;
		break;
	}
	case FA_GEN_GAUSSIAN: {
		double z;

		do {    /* Box-Muller, cut at param deviations */
			double u1 = 1.0 - fa_gen_unit(st), u2 = fa_gen_unit(st);

			z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
		} while (z < -g->param || z >= g->param);
		r = (z + g->param) / (2.0 * g->param);
		break;
	}
	case FA_GEN_ZIPFIAN:
		return zipf_draw(g, st);
	default:
		return g->lb;
	}
	if (r >= 1.0)
		r = 0.9999999999999999;
	return g->lb + (int64_t)(r * (double)span);
}
