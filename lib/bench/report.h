/*
 * report: what fa-bench makes of a run.  Everything goes through one
 * JSON document (the --json file), so that a run just made, a merge of
 * several machines' runs and a run read back from disk are summarised,
 * checked against thresholds and compared by the same code.
 *
 * The document (keys documented in fa-bench(1)): latencies are in
 * milliseconds ("unit": "ms") except inside "histogram" objects, which
 * keep the HdrHistogram losslessly in nanoseconds (its layout, exact
 * summaries and the non-zero counters as [index, count] pairs), so
 * merged documents have exact percentiles.
 *
 * Ownership: functions returning json_t * give the caller a new
 * reference (json_decref() it); text goes into caller-owned buffers.
 * Nothing here prints.
 */
#ifndef FA_BENCH_REPORT_H
#define FA_BENCH_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "bench/engine.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/stats.h"

/* A histogram as a JSON object, and back (FA_EINPUT naming what is wrong). */
json_t *fa_bench_hist_json(const struct fa_hist *h);
enum fa_err fa_bench_hist_read(const json_t *obj, struct fa_hist *h, struct fa_error *err);

/*
 * The document of a run: config (stolen: the caller's object of options)
 * with the host, the totals, the latency, service-time and schedule-lag
 * summaries, errors by kind, the per-second series and the histograms.
 */
json_t *fa_bench_doc(json_t *config, const struct fa_bench_result *res);

/* Reads a document from path, a run's or a suite's ("scenarios");
   FA_EINPUT naming the file (and line) when it is neither. */
json_t *fa_bench_doc_load(const char *path, struct fa_error *err);

/* The documents of several runs made at once, merged: histograms
   exactly, counts and rates added.  NULL with err when one lacks a
   histogram or they disagree on the layout. */
json_t *fa_bench_doc_merge(json_t *const *docs, int n, struct fa_error *err);

/* The human summary of a document. */
void fa_bench_summary(const json_t *doc, struct fa_buf *out);

/* HdrHistogram's percentile-spectrum text of h (values in ns), in
   milliseconds, as HdrHistogram's own tools print it. */
void fa_bench_hgrm(const struct fa_hist *h, struct fa_buf *out);

/* --threshold: "p99<5ms,errors<0.1%,rate>10000" */
#define FA_BENCH_MAX_THRESHOLDS 16
struct fa_bench_threshold {
	char metric[8];         /* p50 p90 p99 p999 p9999 max mean errors rate */
	char op[3];             /* < <= > >= */
	double value;           /* ms for latencies, per second for rate, a count
				   or (percent) a share of requests for errors */
	bool percent;
	char text[64];          /* as written */
};
/* opt ("--threshold", "--slo") names the option in error messages. */
enum fa_err fa_bench_thresholds_parse(const char *opt, const char *spec,
				      struct fa_bench_threshold *t, int *n, struct fa_error *err);
/* Appends a line for each threshold not met; true when all are. */
bool fa_bench_thresholds_check(const struct fa_bench_threshold *t, int n, const json_t *doc,
			       struct fa_buf *out);

/*
 * Mann-Whitney U over two samples: the two-sided p-value by the normal
 * approximation with a tie correction (1 when either sample has fewer
 * than 2 values).
 */
double fa_bench_mann_whitney(const double *a, int na, const double *b, int nb);

/*
 * Compares two documents: a line per metric with both values, the change
 * and a verdict ("~" when the per-second samples do not differ
 * significantly, p >= 0.05).  *regressed is set when rps fell, or p50,
 * p90 or p99 rose, significantly and by more than max_regress percent
 * (max_regress < 0: never).
 */
void fa_bench_compare(const json_t *old, const json_t *new_, double max_regress,
		      struct fa_buf *out, bool *regressed);

/* Two suites' documents, scenario by scenario (by name), each pair as
   fa_bench_compare() does; a scenario in one suite only, or without a
   result, is said so.  *regressed: any pair regressed. */
void fa_bench_compare_suites(const json_t *old, const json_t *new_, double max_regress,
			     struct fa_buf *out, bool *regressed);

#endif
