#include "bench/findmax.h"

#include <string.h>

/* One run at rate (0: closed loop), judged against the SLO. */
static enum fa_err step(const struct fa_bench_cfg *base, const struct fa_bench_findmax *fm,
			double rate, struct fa_bench_step *st, json_t *steps, struct fa_error *err)
{
	struct fa_bench_cfg cfg = *base;
	struct fa_bench_result res;
	struct fa_buf why;
	json_t *doc;
	enum fa_err rc;

	cfg.rate = rate;
	cfg.ramp_ns = 0;
	cfg.on_second = NULL;
	if ((rc = fa_bench_run(&cfg, &res, err)))
		return rc;
	doc = fa_bench_doc(NULL, &res);
	fa_buf_init(&why, 0);
	memset(st, 0, sizeof(*st));
	st->rate = rate;
	st->rps = json_number_value(json_object_get(doc, "rps"));
	st->p50 = json_number_value(json_object_get(doc, "p50"));
	st->p99 = json_number_value(json_object_get(doc, "p99"));
	st->max = json_number_value(json_object_get(doc, "max"));
	st->errors = (unsigned long long)res.errors;
	st->met = fa_bench_thresholds_check(fm->slo, fm->nslo, doc, &why) &&
		  (rate <= 0 || st->rps >= 0.95 * rate);
	json_array_append_new(steps, json_pack("{s:f,s:f,s:f,s:f,s:f,s:I,s:b}", "rate", rate,
					       "rps", st->rps, "p50", st->p50, "p99", st->p99,
					       "max", st->max, "errors", (json_int_t)st->errors,
					       "met", st->met));
	if (fm->on_step)
		fm->on_step(st, fm->ctx);
	fa_buf_release(&why);
	json_decref(doc);
	rc = res.interrupted ? FA_EINTR : FA_OK;
	fa_bench_result_release(&res);
	return rc;
}

enum fa_err fa_bench_find_max(const struct fa_bench_cfg *cfg, const struct fa_bench_findmax *fm,
			      double *best, json_t **steps, struct fa_error *err)
{
	struct fa_bench_step st;
	double lo = 0, hi;
	enum fa_err rc;

	*best = 0;
	*steps = json_array();
	if ((rc = step(cfg, fm, 0, &st, *steps, err)))
		return rc;
	hi = st.rps * 1.1;
	for (int i = 0; i < (fm->steps > 0 ? fm->steps : 7) && hi > 1; i++) {
		double mid = (lo + hi) / 2;

		if ((rc = step(cfg, fm, mid, &st, *steps, err)))
			return rc;
		if (st.met)
			lo = *best = mid;
		else
			hi = mid;
	}
	return FA_OK;
}
