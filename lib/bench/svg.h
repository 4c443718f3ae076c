/*
 * svg: fa-bench's charts, as one self-contained SVG file written by hand
 * (no fonts, scripts or links to fetch): the latency percentile spectrum
 * (latency and service time against 1/(1-percentile) on a log axis, the
 * plot HdrHistogram users know), and throughput and p99 for each second
 * of the run.
 *
 * It reads a fa-bench JSON document (report.h), so a run, a merge or a
 * file read back are drawn alike.  Text goes into the caller's buffer.
 */
#ifndef FA_BENCH_SVG_H
#define FA_BENCH_SVG_H

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"

/* FA_EINPUT when the document's histograms cannot be read. */
enum fa_err fa_bench_svg(const json_t *doc, struct fa_buf *out, struct fa_error *err);

#endif
