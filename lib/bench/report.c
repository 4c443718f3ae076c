#include "bench/report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MS(ns) ((double)(ns) / 1e6)

/* ---- histograms ---------------------------------------------------------- */

json_t *fa_bench_hist_json(const struct fa_hist *h)
{
	json_t *o = json_object(), *counts = json_array();

	for (size_t i = 0; h->counts && i < h->len; i++)
		if (h->counts[i])
			json_array_append_new(counts, json_pack("[I,I]", (json_int_t)i,
								(json_int_t)h->counts[i]));
	json_object_set_new(o, "unit", json_string("ns"));
	json_object_set_new(o, "lowest", json_integer((json_int_t)h->lowest));
	json_object_set_new(o, "highest", json_integer((json_int_t)h->highest));
	json_object_set_new(o, "digits", json_integer(h->digits));
	json_object_set_new(o, "count", json_integer((json_int_t)h->total));
	json_object_set_new(o, "min", json_integer((json_int_t)h->min));
	json_object_set_new(o, "max", json_integer((json_int_t)h->max));
	json_object_set_new(o, "sum", json_real(h->sum));
	json_object_set_new(o, "sumsq", json_real(h->sumsq));
	json_object_set_new(o, "counts", counts);
	return o;
}

static json_int_t int_of(const json_t *o, const char *key, bool *ok)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*ok = false;
		return 0;
	}
	return json_integer_value(v);
}

enum fa_err fa_bench_hist_read(const json_t *o, struct fa_hist *h, struct fa_error *err)
{
	bool ok = json_is_object(o);
	json_int_t lowest = ok ? int_of(o, "lowest", &ok) : 0, highest = ok ? int_of(o, "highest", &ok) : 0;
	json_int_t digits = ok ? int_of(o, "digits", &ok) : 0;
	json_t *counts = ok ? json_object_get(o, "counts") : NULL, *pair;
	uint64_t total = 0;
	size_t i;

	if (!ok || !json_is_array(counts))
		return fa_error_set(err, FA_EINPUT, "histogram: needs lowest, highest, digits and counts");
	if (fa_hist_init_range(h, (uint64_t)lowest, (uint64_t)highest, (int)digits, err))
		return fa_error_set(err, FA_EINPUT, "histogram: %s", err->msg);
	json_array_foreach(counts, i, pair) {
		json_t *ix = json_array_get(pair, 0), *n = json_array_get(pair, 1);

		if (!json_is_integer(ix) || !json_is_integer(n) || json_integer_value(n) < 0 ||
		    fa_hist_add_index(h, (size_t)json_integer_value(ix), (uint64_t)json_integer_value(n))) {
			fa_hist_release(h);
			return fa_error_set(err, FA_EINPUT, "histogram: counts[%zu] is not a valid "
					    "[index, count] pair", i);
		}
		total += (uint64_t)json_integer_value(n);
	}
	h->total = total;
	h->min = (uint64_t)int_of(o, "min", &ok);
	h->max = (uint64_t)int_of(o, "max", &ok);
	h->sum = json_number_value(json_object_get(o, "sum"));
	h->sumsq = json_number_value(json_object_get(o, "sumsq"));
	if ((json_int_t)total != int_of(o, "count", &ok) || !ok) {
		fa_hist_release(h);
		return fa_error_set(err, FA_EINPUT, "histogram: count, min or max missing, or count "
				    "is not the sum of the counts");
	}
	return FA_OK;
}

/* ---- the document -------------------------------------------------------- */

static void put_num(json_t *o, const char *key, double v)
{
	json_object_set_new(o, key, json_real(round(v * 1e6) / 1e6));
}

/* The latency keys, in ms, of h into o. */
static void put_latency(json_t *o, const struct fa_hist *h, bool all)
{
	put_num(o, "p50", MS(fa_hist_percentile(h, 50)));
	put_num(o, "p90", MS(fa_hist_percentile(h, 90)));
	put_num(o, "p99", MS(fa_hist_percentile(h, 99)));
	put_num(o, "p999", MS(fa_hist_percentile(h, 99.9)));
	put_num(o, "p9999", MS(fa_hist_percentile(h, 99.99)));
	put_num(o, "max", MS(h->max));
	put_num(o, "mean", MS(fa_hist_mean(h)));
	if (all) {
		put_num(o, "min", MS(h->min));
		put_num(o, "stddev", MS(fa_hist_stddev(h)));
	}
}

static json_t *host_json(void)
{
	json_t *o = json_object();
	struct utsname u;
	char name[256] = "", when[64];
	time_t now = time(NULL);
	struct tm tm;

	gethostname(name, sizeof(name) - 1);
	json_object_set_new(o, "hostname", json_string(name));
	json_object_set_new(o, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	if (uname(&u) == 0)
		json_object_set_new(o, "kernel", json_sprintf("%s %s %s", u.sysname, u.release,
							      u.machine));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "finished", json_string(when));
	return o;
}

static json_t *errors_json(const struct fa_bench_result *res)
{
	json_t *a = json_array();

	for (int i = 0; i < res->nerrs; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s}",
			"kind", fa_bench_kind_name(res->errs[i].kind), "detail", res->errs[i].detail,
			"count", (json_int_t)res->errs[i].n, "first", res->errs[i].first));
	return a;
}

static json_t *seconds_json(const struct fa_bench_result *res)
{
	json_t *a = json_array();

	for (int i = 0; i < res->nsecs; i++) {
		const struct fa_bench_second *s = &res->secs[i];
		json_t *o = json_object();

		put_num(o, "t", s->t);
		put_num(o, "len", s->len);
		put_num(o, "rps", s->len > 0 ? (double)s->count / s->len : 0);
		json_object_set_new(o, "requests", json_integer((json_int_t)s->count));
		json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
		put_num(o, "p50", MS(s->p50));
		put_num(o, "p90", MS(s->p90));
		put_num(o, "p99", MS(s->p99));
		put_num(o, "max", MS(s->max));
		json_array_append_new(a, o);
	}
	return a;
}

/* The keys that follow from the totals and the histograms. */
static void put_derived(json_t *doc, const struct fa_hist *lat, const struct fa_hist *svc,
			const struct fa_hist *lag)
{
	json_int_t requests = json_integer_value(json_object_get(doc, "requests"));
	json_int_t errors = json_integer_value(json_object_get(doc, "errors"));
	double elapsed = json_number_value(json_object_get(doc, "elapsed_s"));
	double cpu = json_number_value(json_object_get(doc, "cpu_s"));
	json_t *s = json_object();

	if (!json_object_get(doc, "rps"))
		put_num(doc, "rps", elapsed > 0 ? (double)requests / elapsed : 0);
	put_num(doc, "error_rate", requests ? (double)errors / (double)requests : 0);
	put_num(doc, "cpu_per_request_us", requests ? cpu * 1e6 / (double)requests : 0);
	put_latency(doc, lat, true);
	put_latency(s, svc, false);
	json_object_set_new(doc, "service", s);
	if (lag && lag->total) {
		json_t *l = json_object();

		put_num(l, "mean", MS(fa_hist_mean(lag)));
		put_num(l, "p99", MS(fa_hist_percentile(lag, 99)));
		put_num(l, "max", MS(lag->max));
		json_object_set_new(doc, "lag", l);
	}
}

json_t *fa_bench_doc(json_t *config, const struct fa_bench_result *res)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "fa_bench", json_integer(1));
	json_object_set_new(doc, "version", json_string(FA_VERSION));
	json_object_set_new(doc, "unit", json_string("ms"));
	json_object_set_new(doc, "config", config ? config : json_object());
	json_object_set_new(doc, "host", host_json());
	json_object_set_new(doc, "requests", json_integer((json_int_t)res->requests));
	json_object_set_new(doc, "errors", json_integer((json_int_t)res->errors));
	put_num(doc, "elapsed_s", res->elapsed);
	put_num(doc, "cpu_s", res->cpu);
	json_object_set_new(doc, "late", json_integer((json_int_t)res->late));
	json_object_set_new(doc, "dropped", json_integer((json_int_t)res->dropped));
	json_object_set_new(doc, "interrupted", json_boolean(res->interrupted));
	put_derived(doc, &res->lat, &res->svc, &res->lag);
	if (res->hs.total) {
		json_t *h = json_object();

		json_object_set_new(h, "count", json_integer((json_int_t)res->hs.total));
		put_num(h, "p50", MS(fa_hist_percentile(&res->hs, 50)));
		put_num(h, "p99", MS(fa_hist_percentile(&res->hs, 99)));
		put_num(h, "max", MS(res->hs.max));
		put_num(h, "mean", MS(fa_hist_mean(&res->hs)));
		json_object_set_new(doc, "handshake", h);
	}
	json_object_set_new(doc, "errors_by_kind", errors_json(res));
	json_object_set_new(doc, "seconds", seconds_json(res));
	json_object_set_new(doc, "histogram", fa_bench_hist_json(&res->lat));
	json_object_set_new(doc, "service_histogram", fa_bench_hist_json(&res->svc));
	json_object_set_new(doc, "lag_histogram", fa_bench_hist_json(&res->lag));
	return doc;
}

json_t *fa_bench_doc_load(const char *path, struct fa_error *err)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);

	if (!doc) {
		fa_error_set(err, FA_EINPUT, "'%s' line %d, column %d: %s", path, je.line, je.column,
			     je.text);
		return NULL;
	}
	if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "fa_bench")) ||
	    (!json_is_object(json_object_get(doc, "histogram")) &&
	     !json_is_array(json_object_get(doc, "scenarios")))) {
		json_decref(doc);
		fa_error_set(err, FA_EINPUT, "'%s': not a fa-bench --json document (no \"fa_bench\" "
			     "key, or neither \"histogram\" nor \"scenarios\")", path);
		return NULL;
	}
	return doc;
}

/* ---- merge ------------------------------------------------------------- */

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void add_int(json_t *dst, const json_t *src, const char *key)
{
	json_object_set_new(dst, key, json_integer(json_integer_value(json_object_get(dst, key)) +
						   json_integer_value(json_object_get(src, key))));
}

/* Per-second series side by side: rates and counts add, percentiles take
   the highest (no per-second histograms are kept). */
static void merge_seconds(json_t *dst, const json_t *src)
{
	json_t *a = json_object_get(dst, "seconds"), *b = json_object_get(src, "seconds");
	size_t i;
	json_t *s;

	json_array_foreach(b, i, s) {
		json_t *d = json_array_get(a, i);
		static const char *const pk[] = { "p50", "p90", "p99", "max" };

		if (!d) {
			json_array_append(a, s);
			continue;
		}
		put_num(d, "rps", num(d, "rps") + num(s, "rps"));
		add_int(d, s, "requests");
		add_int(d, s, "errors");
		for (int k = 0; k < 4; k++)
			if (num(s, pk[k]) > num(d, pk[k]))
				put_num(d, pk[k], num(s, pk[k]));
	}
}

static void merge_errors(json_t *dst, const json_t *src)
{
	json_t *a = json_object_get(dst, "errors_by_kind"), *e, *d;
	size_t i, j;

	json_array_foreach(json_object_get(src, "errors_by_kind"), i, e) {
		bool found = false;

		json_array_foreach(a, j, d)
			if (json_equal(json_object_get(d, "kind"), json_object_get(e, "kind")) &&
			    json_equal(json_object_get(d, "detail"), json_object_get(e, "detail"))) {
				add_int(d, e, "count");
				found = true;
				break;
			}
		if (!found)
			json_array_append(a, e);
	}
}

json_t *fa_bench_doc_merge(json_t *const *docs, int n, struct fa_error *err)
{
	static const char *const hk[] = { "histogram", "service_histogram", "lag_histogram" };
	struct fa_hist h[3], one;
	json_t *out, *hosts = json_array();
	double rps = 0, elapsed = 0;

	out = json_deep_copy(docs[0]);
	for (int k = 0; k < 3; k++) {
		json_t *o = json_object_get(docs[0], hk[k]);

		if (o ? fa_bench_hist_read(o, &h[k], err) : fa_bench_hist_init(&h[k], 3, err)) {
			for (int j = 0; j < k; j++)
				fa_hist_release(&h[j]);
			json_decref(out);
			json_decref(hosts);
			return NULL;
		}
	}
	for (int i = 0; i < n; i++) {
		rps += num(docs[i], "rps");
		if (num(docs[i], "elapsed_s") > elapsed)
			elapsed = num(docs[i], "elapsed_s");
		json_array_append(hosts, json_object_get(docs[i], "host"));
		if (i == 0)
			continue;
		for (int k = 0; k < 3; k++) {
			json_t *o = json_object_get(docs[i], hk[k]);

			if (!o)
				continue;
			if (fa_bench_hist_read(o, &one, err)) {
				fa_error_set(err, FA_EINPUT, "run %d of the merge: %s", i + 1, err->msg);
				json_decref(out);
				out = NULL;
				break;
			}
			fa_hist_merge(&h[k], &one);
			fa_hist_release(&one);
		}
		if (!out)
			break;
		add_int(out, docs[i], "requests");
		add_int(out, docs[i], "errors");
		add_int(out, docs[i], "late");
		add_int(out, docs[i], "dropped");
		put_num(out, "cpu_s", num(out, "cpu_s") + num(docs[i], "cpu_s"));
		merge_errors(out, docs[i]);
		merge_seconds(out, docs[i]);
	}
	if (out) {
		/* the runs went side by side: their rates add */
		put_num(out, "rps", rps);
		put_num(out, "elapsed_s", elapsed);
		json_object_set_new(out, "merged", json_integer(n));
		json_object_set(out, "hosts", hosts);
		put_derived(out, &h[0], &h[1], &h[2]);
		for (int k = 0; k < 3; k++)
			json_object_set_new(out, hk[k], fa_bench_hist_json(&h[k]));
	}
	json_decref(hosts);
	for (int k = 0; k < 3; k++)
		fa_hist_release(&h[k]);
	return out;
}

/* ---- text --------------------------------------------------------------- */

static void latency_line(struct fa_buf *out, const char *label, const json_t *o)
{
	fa_buf_printf(out, "%-8s p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  p99.99 %.3f  max %.3f\n",
		      label, num(o, "p50"), num(o, "p90"), num(o, "p99"), num(o, "p999"),
		      num(o, "p9999"), num(o, "max"));
}

void fa_bench_summary(const json_t *doc, struct fa_buf *out)
{
	const json_t *cfg = json_object_get(doc, "config"), *lag = json_object_get(doc, "lag");
	json_int_t requests = json_integer_value(json_object_get(doc, "requests"));
	json_int_t errors = json_integer_value(json_object_get(doc, "errors"));
	const char *target = json_string_value(json_object_get(cfg, "target"));
	const char *proto = json_string_value(json_object_get(cfg, "protocol"));
	json_t *e;
	size_t i;

	fa_buf_printf(out, "%s%s%s%s: %lld requests in %.2f s: %.1f per second, %lld errors (%.2f%%)%s\n",
		      target ? target : "run", proto ? " (" : "", proto ? proto : "", proto ? ")" : "",
		      (long long)requests, num(doc, "elapsed_s"),
		      num(doc, "rps"), (long long)errors,
		      requests ? 100.0 * (double)errors / (double)requests : 0.0,
		      json_is_true(json_object_get(doc, "interrupted")) ? ", interrupted" : "");
	if (json_object_get(doc, "merged"))
		fa_buf_printf(out, "merged from %lld runs\n",
			      (long long)json_integer_value(json_object_get(doc, "merged")));
	fa_buf_printf(out, "latency ms, from the intended send time:\n");
	latency_line(out, "", doc);
	fa_buf_printf(out, "service time ms, from the actual send:\n");
	latency_line(out, "", json_object_get(doc, "service"));
	if (lag)
		fa_buf_printf(out, "schedule lag ms: mean %.3f  p99 %.3f  max %.3f; %lld late "
			      "(> %.0f ms), %lld dropped\n", num(lag, "mean"), num(lag, "p99"),
			      num(lag, "max"), (long long)json_integer_value(json_object_get(doc, "late")),
			      MS(FA_BENCH_LATE_NS),
			      (long long)json_integer_value(json_object_get(doc, "dropped")));
	if (json_object_get(doc, "handshake")) {
		const json_t *h = json_object_get(doc, "handshake");

		fa_buf_printf(out, "handshakes ms (%lld connections opened): p50 %.3f  p99 %.3f  max %.3f\n",
			      (long long)json_integer_value(json_object_get(h, "count")), num(h, "p50"),
			      num(h, "p99"), num(h, "max"));
	}
	json_array_foreach(json_object_get(doc, "errors_by_kind"), i, e) {
		const char *d = json_string_value(json_object_get(e, "detail"));
		const char *f = json_string_value(json_object_get(e, "first"));

		fa_buf_printf(out, "errors: %s%s%s: %lld%s%s\n",
			      json_string_value(json_object_get(e, "kind")), d && *d ? " " : "",
			      d ? d : "", (long long)json_integer_value(json_object_get(e, "count")),
			      f && *f ? ", first: " : "", f ? f : "");
	}
	fa_buf_printf(out, "generator CPU: %.2f us per request (%.2f s in all)\n",
		      num(doc, "cpu_per_request_us"), num(doc, "cpu_s"));
}

void fa_bench_hgrm(const struct fa_hist *h, struct fa_buf *out)
{
	struct fa_hist_piter it;

	fa_buf_printf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		      "1/(1-Percentile)");
	fa_hist_piter_init(&it, h, 5);
	while (fa_hist_piter_next(&it)) {
		double p = it.percentile / 100.0;

		if (p < 1.0)
			fa_buf_printf(out, "%12.3f %2.12f %10llu %14.2f\n", MS(it.value), p,
				      (unsigned long long)it.count, 1.0 / (1.0 - p));
		else
			fa_buf_printf(out, "%12.3f %2.12f %10llu\n", MS(it.value), p,
				      (unsigned long long)it.count);
	}
	fa_buf_printf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", MS(fa_hist_mean(h)),
		      MS(fa_hist_stddev(h)));
	fa_buf_printf(out, "#[Max     = %12.3f, Total count    = %12llu]\n", MS(h->max),
		      (unsigned long long)h->total);
	fa_buf_printf(out, "#[Buckets = %12d, SubBuckets     = %12llu]\n", h->buckets,
		      (unsigned long long)(h->sub_half * 2));
}

/* ---- thresholds ---------------------------------------------------------- */

static const char *const latency_metrics[] = { "p50", "p90", "p99", "p999", "p9999", "max", "mean" };

static bool is_latency(const char *m)
{
	for (size_t i = 0; i < sizeof(latency_metrics) / sizeof(latency_metrics[0]); i++)
		if (!strcmp(m, latency_metrics[i]))
			return true;
	return false;
}

static enum fa_err tbad_opt(struct fa_error *err, const char *opt, const char *spec,
			    const char *at, const char *what)
{
	return fa_error_set(err, FA_EUSAGE, "%s '%s', position %d: %s", opt, spec,
			    (int)(at - spec) + 1, what);
}

#define tbad(err, spec, at, what) tbad_opt(err, opt, spec, at, what)

enum fa_err fa_bench_thresholds_parse(const char *opt, const char *spec,
				      struct fa_bench_threshold *t, int *n, struct fa_error *err)
{
	const char *p = spec;

	*n = 0;
	for (;;) {
		struct fa_bench_threshold *x = &t[*n];
		const char *start = p, *m;
		char *end;
		size_t len;

		if (*n == FA_BENCH_MAX_THRESHOLDS)
			return tbad(err, spec, p, "too many thresholds");
		memset(x, 0, sizeof(*x));
		while (*p == ' ')
			p++;
		m = p;
		while (isalnum((unsigned char)*p))
			p++;
		len = (size_t)(p - m);
		if (!len || len >= sizeof(x->metric))
			return tbad(err, spec, m, "expected p50, p90, p99, p999, p9999, max, mean, "
				    "errors or rate");
		memcpy(x->metric, m, len);
		if (!strcmp(x->metric, "rps"))
			strcpy(x->metric, "rate");
		if (!is_latency(x->metric) && strcmp(x->metric, "errors") && strcmp(x->metric, "rate"))
			return tbad(err, spec, m, "expected p50, p90, p99, p999, p9999, max, mean, "
				    "errors or rate");
		while (*p == ' ')
			p++;
		if (*p != '<' && *p != '>')
			return tbad(err, spec, p, "expected <, <=, > or >=");
		x->op[0] = *p++;
		if (*p == '=')
			x->op[1] = *p++;
		while (*p == ' ')
			p++;
		x->value = strtod(p, &end);
		if (end == p || !isfinite(x->value) || x->value < 0)
			return tbad(err, spec, p, "expected a number");
		p = end;
		if (is_latency(x->metric)) {
			static const struct { const char *u; double ms; } units[] = {
				{ "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 }, { "s", 1000 },
			};
			size_t ul = strspn(p, "nsmu");
			bool found = ul == 0;

			for (size_t i = 0; i < 4 && !found; i++)
				if (strlen(units[i].u) == ul && !strncmp(p, units[i].u, ul)) {
					x->value *= units[i].ms;
					found = true;
				}
			if (!found)
				return tbad(err, spec, p, "expected a unit: ns, us, ms or s");
			p += ul;
		} else if (!strcmp(x->metric, "errors") && *p == '%') {
			x->percent = true;
			p++;
		} else if (!strcmp(x->metric, "rate") && !strncmp(p, "/s", 2)) {
			p += 2;
		}
		while (*p == ' ')
			p++;
		snprintf(x->text, sizeof(x->text), "%.*s", (int)(p - start), start);
		(*n)++;
		if (!*p)
			return FA_OK;
		if (*p != ',')
			return tbad(err, spec, p, "expected ',' between thresholds");
		p++;
	}
}

bool fa_bench_thresholds_check(const struct fa_bench_threshold *t, int n, const json_t *doc,
			       struct fa_buf *out)
{
	bool all = true;

	for (int i = 0; i < n; i++) {
		const struct fa_bench_threshold *x = &t[i];
		double v, requests = num(doc, "requests");
		const char *unit = "";
		bool ok;

		if (!strcmp(x->metric, "rate")) {
			v = num(doc, "rps");
			unit = " per second";
		} else if (!strcmp(x->metric, "errors")) {
			v = num(doc, "errors");
			if (x->percent) {
				v = requests > 0 ? 100.0 * v / requests : 0;
				unit = "%";
			}
		} else {
			v = num(doc, x->metric);
			unit = " ms";
		}
		ok = x->op[0] == '<' ? (x->op[1] ? v <= x->value : v < x->value) :
					(x->op[1] ? v >= x->value : v > x->value);
		if (!ok) {
			fa_buf_printf(out, "threshold not met: %s (was %.6g%s)\n", x->text, v, unit);
			all = false;
		}
	}
	return all;
}

/* ---- compare ----------------------------------------------------------- */

struct ranked {
	double v;
	int from;               /* 0: a, 1: b */
};

static int by_value(const void *x, const void *y)
{
	double a = ((const struct ranked *)x)->v, b = ((const struct ranked *)y)->v;

	return a < b ? -1 : a > b;
}

double fa_bench_mann_whitney(const double *a, int na, const double *b, int nb)
{
	int n = na + nb;
	struct ranked *r;
	double ra = 0, ties = 0, u, mu, sigma, z;

	if (na < 2 || nb < 2 || !(r = malloc((size_t)n * sizeof(*r))))
		return 1.0;
	for (int i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 0 };
	for (int i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 1 };
	qsort(r, (size_t)n, sizeof(*r), by_value);
	for (int i = 0; i < n;) {
		int j = i;
		double rank, t;

		while (j + 1 < n && r[j + 1].v == r[i].v)
			j++;
		rank = (i + j + 2) / 2.0;       /* ranks from 1, ties share their average */
		t = j - i + 1;
		ties += t * t * t - t;
		for (int k = i; k <= j; k++)
			if (r[k].from == 0)
				ra += rank;
		i = j + 1;
	}
	free(r);
	u = ra - na * (na + 1) / 2.0;
	mu = na * (double)nb / 2.0;
	sigma = sqrt(na * (double)nb / 12.0 * ((n + 1) - ties / ((double)n * (n - 1))));
	if (sigma == 0)
		return 1.0;
	z = (fabs(u - mu) - 0.5) / sigma;       /* with continuity correction */
	if (z < 0)
		z = 0;
	return erfc(z / sqrt(2.0));
}

/* The full seconds' values of key. */
static int samples(const json_t *doc, const char *key, double **out)
{
	json_t *secs = json_object_get(doc, "seconds"), *s;
	size_t i;
	int n = 0;

	*out = calloc(json_array_size(secs) + 1, sizeof(**out));
	json_array_foreach(secs, i, s)
		if (num(s, "len") >= 0.9 && *out)
			(*out)[n++] = num(s, key);
	return *out ? n : 0;
}

void fa_bench_compare(const json_t *old, const json_t *new_, double max_regress,
		      struct fa_buf *out, bool *regressed)
{
	static const struct { const char *key, *label; bool higher_better, sampled; } ms[] = {
		{ "rps", "rps", true, true }, { "p50", "p50 ms", false, true },
		{ "p90", "p90 ms", false, true }, { "p99", "p99 ms", false, true },
		{ "p999", "p99.9 ms", false, false }, { "max", "max ms", false, false },
	};

	*regressed = false;
	fa_buf_printf(out, "%-10s %14s %14s %9s  %s\n", "metric", "old", "new", "change", "verdict");
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		double a = num(old, ms[i].key), b = num(new_, ms[i].key);
		double change = a != 0 ? 100.0 * (b - a) / a : 0;
		char verdict[64] = "";

		if (ms[i].sampled) {
			double *sa, *sb, p;
			int na = samples(old, ms[i].key, &sa), nb = samples(new_, ms[i].key, &sb);

			p = fa_bench_mann_whitney(sa, na, sb, nb);
			free(sa);
			free(sb);
			if (p >= 0.05) {
				snprintf(verdict, sizeof(verdict), "~ (p=%.2f)", p);
			} else {
				bool better = ms[i].higher_better ? b > a : b < a;
				double worse_pct = ms[i].higher_better ? -change : change;

				snprintf(verdict, sizeof(verdict), "%s (p=%.3f)", better ? "better" : "worse", p);
				if (!better && max_regress >= 0 && worse_pct > max_regress)
					*regressed = true;
			}
		}
		fa_buf_printf(out, "%-10s %14.3f %14.3f %+8.1f%%  %s\n", ms[i].label, a, b, change, verdict);
	}
}

/* The result of the scenario called name in a suite's document, or NULL. */
static const json_t *scenario_result(const json_t *suite, const char *name, bool *found)
{
	size_t i;
	json_t *sc;

	*found = false;
	json_array_foreach(json_object_get(suite, "scenarios"), i, sc) {
		const char *n = json_string_value(json_object_get(sc, "name"));

		if (n && !strcmp(n, name)) {
			const json_t *r = json_object_get(sc, "result");

			*found = true;
			return json_is_object(json_object_get(r, "histogram")) ? r : NULL;
		}
	}
	return NULL;
}

void fa_bench_compare_suites(const json_t *old, const json_t *new_, double max_regress,
			     struct fa_buf *out, bool *regressed)
{
	size_t i;
	json_t *sc;
	bool found;

	*regressed = false;
	json_array_foreach(json_object_get(new_, "scenarios"), i, sc) {
		const char *name = json_string_value(json_object_get(sc, "name"));
		const json_t *a, *b;
		bool r, in_old;

		if (!name)
			continue;
		a = scenario_result(old, name, &in_old);
		b = scenario_result(new_, name, &found);
		fa_buf_printf(out, "%s== %s", i ? "\n" : "", name);
		if (!in_old)
			fa_buf_printf(out, ": only in the new suite\n");
		else if (!a || !b)
			fa_buf_printf(out, ": no result in the %s suite\n", !a ? "old" : "new");
		else {
			fa_buf_printf(out, "\n");
			fa_bench_compare(a, b, max_regress, out, &r);
			*regressed = *regressed || r;
		}
	}
	json_array_foreach(json_object_get(old, "scenarios"), i, sc) {
		const char *name = json_string_value(json_object_get(sc, "name"));

		if (name && (scenario_result(new_, name, &found), !found))
			fa_buf_printf(out, "\n== %s: only in the old suite\n", name);
	}
}
