#include "bench/svg.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "bench/report.h"
#include "core/stats.h"

#define W 760
#define H 300
#define ML 70           /* margins: left, right, top, bottom */
#define MR 70
#define MT 40
#define MB 50
#define PW (W - ML - MR)
#define PH (H - MT - MB)
#define MAX_NINES 6     /* the spectrum's x axis ends at 99.9999% */

/* A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
static double nice_top(double v)
{
	double p, m;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void text(struct fa_buf *o, double x, double y, const char *anchor, const char *s)
{
	fa_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x, y, anchor, s);
}

static void frame(struct fa_buf *o, int y0, const char *title)
{
	fa_buf_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		      "stroke=\"#999\"/>\n", ML, y0 + MT, PW, PH);
	fa_buf_printf(o, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n", ML, y0 + MT - 14,
		      title);
}

/* y gridlines and labels for 0..top on the left (or right) */
static void y_axis(struct fa_buf *o, int y0, double top, bool right, const char *unit)
{
	char label[64];

	for (int i = 0; i <= 4; i++) {
		double y = y0 + MT + PH - PH * i / 4.0;

		if (!right)
			fa_buf_printf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
				      ML, y, ML + PW, y);
		snprintf(label, sizeof(label), "%g%s", top * i / 4.0, i == 4 ? unit : "");
		text(o, right ? ML + PW + 6 : ML - 6, y + 4, right ? "start" : "end", label);
	}
}

/* x of a percentile on the 1/(1-p) log axis */
static double px(double pct)
{
	double v = pct >= 100 ? pow(10, MAX_NINES) : 1.0 / (1.0 - pct / 100.0);

	if (v > pow(10, MAX_NINES))
		v = pow(10, MAX_NINES);
	return ML + PW * log10(v) / MAX_NINES;
}

static void spectrum_line(struct fa_buf *o, const struct fa_hist *h, double top, const char *color)
{
	struct fa_hist_piter it;
	bool first = true;

	fa_buf_printf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
	fa_hist_piter_init(&it, h, 5);
	while (fa_hist_piter_next(&it)) {
		double ms = (double)it.value / 1e6, y = MT + PH - PH * (ms / top);

		if (it.percentile >= 100 - pow(10, 2 - MAX_NINES) && it.percentile < 100)
			continue;
		fa_buf_printf(o, "%s%.1f,%.1f", first ? "" : " ", px(it.percentile), y);
		first = false;
	}
	fa_buf_puts(o, "\"/>\n");
}

static void spectrum(struct fa_buf *o, const struct fa_hist *lat, const struct fa_hist *svc)
{
	static const char *const labels[] = { "0%", "90%", "99%", "99.9%", "99.99%", "99.999%",
					      "99.9999%" };
	double top = nice_top((double)lat->max / 1e6);

	frame(o, 0, "Latency by percentile (ms)");
	y_axis(o, 0, top, false, " ms");
	for (int i = 0; i <= MAX_NINES; i++) {
		double x = ML + PW * i / (double)MAX_NINES;

		fa_buf_printf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n",
			      x, MT, x, MT + PH);
		text(o, x, MT + PH + 16, "middle", labels[i]);
	}
	spectrum_line(o, svc, top, "#2a7");
	spectrum_line(o, lat, top, "#c33");
	fa_buf_printf(o, "<text x=\"%d\" y=\"%d\" fill=\"#c33\">latency from the intended send</text>\n",
		      ML + 10, MT + 16);
	fa_buf_printf(o, "<text x=\"%d\" y=\"%d\" fill=\"#2a7\">service time</text>\n", ML + 10, MT + 32);
}

static void timeline(struct fa_buf *o, const json_t *secs, int y0)
{
	size_t n = json_array_size(secs), i;
	double rmax = 0, lmax = 0, tmax = 0;
	json_t *s;
	char label[32];

	json_array_foreach(secs, i, s) {
		double r = json_number_value(json_object_get(s, "rps"));
		double l = json_number_value(json_object_get(s, "p99"));
		double t = json_number_value(json_object_get(s, "t"));

		rmax = r > rmax ? r : rmax;
		lmax = l > lmax ? l : lmax;
		tmax = t > tmax ? t : tmax;
	}
	rmax = nice_top(rmax);
	lmax = nice_top(lmax);
	tmax = tmax > 0 ? tmax : 1;
	frame(o, y0, "Per second: requests (blue, left) and p99 ms (red, right)");
	y_axis(o, y0, rmax, false, "/s");
	y_axis(o, y0, lmax, true, " ms");
	for (int k = 0; k <= 4; k++) {
		snprintf(label, sizeof(label), "%gs", round(tmax * k / 4.0 * 10) / 10);
		text(o, ML + PW * k / 4.0, y0 + MT + PH + 16, "middle", label);
	}
	json_array_foreach(secs, i, s) {
		double t = json_number_value(json_object_get(s, "t"));
		double len = json_number_value(json_object_get(s, "len"));
		double r = json_number_value(json_object_get(s, "rps"));
		double x0 = ML + PW * (t - len) / tmax, x1 = ML + PW * t / tmax;
		double h = PH * r / rmax;

		fa_buf_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			      "fill=\"#8ac\"/>\n", x0 + 0.5, y0 + MT + PH - h, x1 - x0 - 1 > 0.5 ? x1 - x0 - 1 : 0.5, h);
	}
	fa_buf_puts(o, "<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"1.5\" points=\"");
	json_array_foreach(secs, i, s) {
		double t = json_number_value(json_object_get(s, "t"));
		double len = json_number_value(json_object_get(s, "len"));
		double l = json_number_value(json_object_get(s, "p99"));

		fa_buf_printf(o, "%s%.1f,%.1f", i ? " " : "", ML + PW * (t - len / 2) / tmax,
			      y0 + MT + PH - PH * l / lmax);
	}
	fa_buf_puts(o, "\"/>\n");
	if (!n)
		text(o, ML + PW / 2.0, y0 + MT + PH / 2.0, "middle", "(the run was shorter than a second)");
}

enum fa_err fa_bench_svg(const json_t *doc, struct fa_buf *out, struct fa_error *err)
{
	struct fa_hist lat, svc;

	if (fa_bench_hist_read(json_object_get(doc, "histogram"), &lat, err))
		return err->code;
	if (fa_bench_hist_read(json_object_get(doc, "service_histogram"), &svc, err)) {
		fa_hist_release(&lat);
		return err->code;
	}
	fa_buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
		      W, 2 * H, W, 2 * H);
	fa_buf_printf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, 2 * H);
	spectrum(out, &lat, &svc);
	timeline(out, json_object_get(doc, "seconds"), H);
	fa_buf_puts(out, "</svg>\n");
	fa_hist_release(&lat);
	fa_hist_release(&svc);
	return FA_OK;
}
