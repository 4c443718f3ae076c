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

/* A decimal number (the third argument). */
static const char *decimal(const char *p, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(p, &end);
	if (end == p || errno || !isfinite(*d))
		return NULL;
	return end;
}

/*
 * Whole-number expressions, folded when parsed: numbers, :name of a
 * constant (through lookup), + - * / %, unary minus and parentheses.
 */
struct ex {
	const char *expr, *p;
	bool (*lookup)(void *ctx, const char *name, size_t len, int64_t *v);
	void *ctx;
	struct fa_error *err;
	bool failed;
};

static int64_t ex_sum(struct ex *x);

static int64_t ex_fail(struct ex *x, const char *at, const char *what)
{
	if (!x->failed)
		bad(x->err, x->expr, at, what);
	x->failed = true;
	return 0;
}

static int64_t ex_primary(struct ex *x)
{
	const char *at = x->p = skip_ws(x->p);

	if (*x->p == '(') {
		int64_t v;

		x->p++;
		v = ex_sum(x);
		x->p = skip_ws(x->p);
		if (*x->p != ')')
			return ex_fail(x, x->p, "expected ')'");
		x->p++;
		return v;
	}
	if (*x->p == '-') {
		int64_t v;

		x->p++;
		v = ex_primary(x);
		if (v == INT64_MIN)
			return ex_fail(x, at, "the value is out of range");
		return -v;
	}
	if (*x->p == ':') {
		const char *name = ++x->p;
		int64_t v;

		while (isalnum((unsigned char)*x->p) || *x->p == '_')
			x->p++;
		if (x->p == name)
			return ex_fail(x, at, "expected a name after ':'");
		if (!x->lookup || !x->lookup(x->ctx, name, (size_t)(x->p - name), &v))
			return ex_fail(x, at, "this name is not a constant defined before "
				       "(expressions take constants only for now)");
		return v;
	}
	if (isdigit((unsigned char)*x->p)) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(x->p, &end, 10);
		if (errno)
			return ex_fail(x, at, "the number is out of range");
		x->p = end;
		return v;
	}
	return ex_fail(x, at, "expected a whole number");
}

static int64_t ex_product(struct ex *x)
{
	int64_t v = ex_primary(x);

	for (;;) {
		const char *at = x->p = skip_ws(x->p);
		char op = *x->p;
		int64_t r;

		if (x->failed || (op != '*' && op != '/' && op != '%'))
			return v;
		x->p++;
		r = ex_primary(x);
		if (op != '*' && r == 0)
			return ex_fail(x, at, "division by zero");
		if (op == '*' ? __builtin_mul_overflow(v, r, &v) : (v == INT64_MIN && r == -1))
			return ex_fail(x, at, "the value is out of range");
		if (op == '/')
			v /= r;
		else if (op == '%')
			v %= r;
	}
}

static int64_t ex_sum(struct ex *x)
{
	int64_t v = ex_product(x);

	for (;;) {
		const char *at = x->p = skip_ws(x->p);
		char op = *x->p;
		int64_t r;

		if (x->failed || (op != '+' && op != '-'))
			return v;
		x->p++;
		r = ex_product(x);
		if (op == '+' ? __builtin_add_overflow(v, r, &v) : __builtin_sub_overflow(v, r, &v))
			return ex_fail(x, at, "the value is out of range");
	}
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
	return fa_gen_parse_with(g, expr, NULL, NULL, err);
}

enum fa_err fa_gen_parse_with(struct fa_gen *g, const char *expr,
			      bool (*lookup)(void *ctx, const char *name, size_t len, int64_t *v),
			      void *ctx, struct fa_error *err)
{
	struct ex x = { .expr = expr, .lookup = lookup, .ctx = ctx, .err = err };
	const char *p = skip_ws(expr), *name = p;
	size_t n;
	int nargs = 0;

	memset(g, 0, sizeof(*g));
	while (isalpha((unsigned char)*p) || *p == '_')
		p++;
	n = (size_t)(p - name);
	for (size_t i = 0; n && i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == n && !strncmp(funcs[i].name, name, n)) {
			g->kind = funcs[i].kind;
			nargs = funcs[i].nargs;
		}
	if (!nargs) {
		if (n)
			return bad(err, expr, name, "expected a number, random(), random_gaussian(), "
				   "random_exponential(), random_zipfian() or seq()");
		/* a constant expression */
		x.p = expr;
		g->lb = g->ub = ex_sum(&x);
		if (!x.failed && *skip_ws(x.p))
			ex_fail(&x, skip_ws(x.p), "unexpected text");
		g->kind = FA_GEN_CONST;
		return x.failed ? FA_EUSAGE : FA_OK;
	}
	p = skip_ws(p);
	if (*p != '(')
		return bad(err, expr, p, "expected '('");
	for (int a = 0; a < nargs; a++) {
		p = skip_ws(p + 1);
		if (a < 2) {
			x.p = p;
			*(a == 0 ? &g->lb : &g->ub) = ex_sum(&x);
			if (x.failed)
				return FA_EUSAGE;
			p = x.p;
		} else {
			const char *at = p;

			if (!(p = decimal(p, &g->param)))
				return bad(err, expr, at, "expected a number");
		}
		p = skip_ws(p);
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
