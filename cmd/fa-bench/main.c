/*
 * fa-bench: load from the terminal, for PostgreSQL and HTTP.
 *
 *	fa-bench pg [OPTION]... [-e SQL | -f FILE]
 *	fa-bench http [OPTION]... URL
 *	fa-bench mcp [OPTION]... --tool NAME URL [KEY=VALUE | KEY:=JSON]...
 *	fa-bench mcp [OPTION]... --tool NAME --stdio COMMAND [KEY=VALUE | KEY:=JSON]...
 *	fa-bench compare [OPTION]... OLD.json NEW.json
 *	fa-bench merge [OPTION]... RUN.json...
 *
 * Options, wiring and exit codes only: the engine, the targets and the
 * reports are lib/bench.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bhttp.h"
#include "bench/bmcp.h"
#include "bench/bpg.h"
#include "bench/bstdio.h"
#include "bench/engine.h"
#include "bench/findmax.h"
#include "bench/report.h"
#include "bench/suite.h"
#include "bench/svg.h"
#include "core/opt.h"

extern char **environ;

enum {
	O_RATE = FA_OPT_LONG, O_RAMP, O_POISSON, O_WARMUP, O_TIMEOUT, O_DIGITS, O_SEED, O_DB,
	O_PIPELINE, O_TOOL, O_STDIO, O_PROTOCOL, O_METHOD, O_BODY, O_H1, O_H2, O_H3, O_CACERT, O_INSECURE, O_JSON, O_HGRM, O_SVG, O_PROGRESS, O_THRESHOLD,
	O_MAX_REGRESS, O_FIND_MAX, O_SLO, O_COMPLETE, O_VERSION,
};

static const struct fa_opt options[] = {
	{ "connections", 'c', FA_OPT_REQUIRED, "N", "connections in all (default 10)", NULL },
	{ "threads", 't', FA_OPT_REQUIRED, "N", "threads, each with its own connections (default: cores, at most -c)", NULL },
	{ "duration", 'd', FA_OPT_REQUIRED, "TIME", "measure this long: 500ms, 5s, 2min (default 10s)", NULL },
	{ "requests", 'n', FA_OPT_REQUIRED, "N", "measure exactly N requests instead", NULL },
	{ "warmup", O_WARMUP, FA_OPT_REQUIRED, "TIME", "load this long first, unrecorded", NULL },
	{ "rate", O_RATE, FA_OPT_REQUIRED, "R", "open loop: R requests per second on a fixed schedule", NULL },
	{ "ramp", O_RAMP, FA_OPT_REQUIRED, "FROM:TO/TIME", "open loop: the rate climbs from FROM to TO over TIME", NULL },
	{ "poisson", O_POISSON, FA_OPT_NONE, NULL, "open loop: Poisson arrivals instead of evenly spaced ones", NULL },
	{ "timeout", O_TIMEOUT, FA_OPT_REQUIRED, "TIME", "a request with no answer this long is an error (default 10s)", NULL },
	{ "digits", O_DIGITS, FA_OPT_REQUIRED, "N", "histogram precision in significant digits, 1 to 5 (default 3)", NULL },
	{ "seed", O_SEED, FA_OPT_REQUIRED, "N", "seed of the generators and arrivals (default: from the clock)", NULL },
	{ "db", O_DB, FA_OPT_REQUIRED, "CONNINFO", "pg: database URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "sql", 'e', FA_OPT_REQUIRED, "SQL", "pg: the statement to run, with :name parameters", NULL },
	{ "file", 'f', FA_OPT_REQUIRED, "FILE", "pg: a pgbench-style script: \\set lines and statements, one transaction a request", "@file" },
	{ "define", 'D', FA_OPT_REQUIRED, "NAME=GEN", "pg: :NAME draws from GEN: 5, random(1,1000), random_zipfian(1,1000,1.1), seq(1,1000)...", NULL },
	{ "mode", 'M', FA_OPT_REQUIRED, "MODE", "pg: simple, extended or prepared (default prepared)", "simple extended prepared" },
	{ "pipeline", O_PIPELINE, FA_OPT_REQUIRED, "N", "pg: N statements, mcp --stdio: N calls in flight per connection (default 1)", NULL },
	{ "tool", O_TOOL, FA_OPT_REQUIRED, "NAME", "mcp: the tool to call", NULL },
	{ "stdio", O_STDIO, FA_OPT_REQUIRED, "COMMAND", "mcp: start the server from COMMAND, one child per connection, instead of a URL", NULL },
	{ "protocol", O_PROTOCOL, FA_OPT_REQUIRED, "VERSION", "mcp: 2025-11-25 (initialize and a session; the default) or 2026-07-28 (stateless: server/discover, _meta on each call)", NULL },
	{ "header", 'H', FA_OPT_REQUIRED, "NAME: VALUE", "http, mcp: send this header too (repeatable)", NULL },
	{ "method", O_METHOD, FA_OPT_REQUIRED, "METHOD", "http: the request method (default GET)", NULL },
	{ "body", O_BODY, FA_OPT_REQUIRED, "TEXT", "http: the request body (@FILE reads it from FILE)", NULL },
	{ "h1", O_H1, FA_OPT_NONE, NULL, "http: HTTP/1.1 only (default: HTTP/1.1 for http, ALPN for https)", NULL },
	{ "h2", O_H2, FA_OPT_NONE, NULL, "http: HTTP/2 only (h2c by prior knowledge for http)", NULL },
	{ "h3", O_H3, FA_OPT_NONE, NULL, "http: HTTP/3 over QUIC (UDP) to an https URL", NULL },
	{ "streams", 'm', FA_OPT_REQUIRED, "N", "http: with --h2 or --h3, N requests in flight per connection (default 1)", NULL },
	{ "cacert", O_CACERT, FA_OPT_REQUIRED, "FILE", "http, mcp: PEM CAs to trust for https (default: the system's)", "@file" },
	{ "insecure", 'k', FA_OPT_NONE, NULL, "http, mcp: https without verifying the certificate", NULL },
	{ "json", O_JSON, FA_OPT_REQUIRED, "FILE", "write the whole result as JSON (- for stdout)", "@file" },
	{ "hgrm", O_HGRM, FA_OPT_REQUIRED, "FILE", "write the latency percentile spectrum, HdrHistogram's text", "@file" },
	{ "svg", O_SVG, FA_OPT_REQUIRED, "FILE", "write charts: the percentile spectrum, and rate and p99 each second", "@file" },
	{ "progress", O_PROGRESS, FA_OPT_REQUIRED, "KIND", "each second on stderr: auto, text, ndjson or none (default auto)", "auto text ndjson none" },
	{ "threshold", O_THRESHOLD, FA_OPT_REQUIRED, "SPEC", "exit 6 unless met, as in 'p99<5ms,errors<0.1%,rate>10000'", NULL },
	{ "find-max", O_FIND_MAX, FA_OPT_NONE, NULL, "search the highest open-loop rate that meets --slo, each step lasting -d", NULL },
	{ "slo", O_SLO, FA_OPT_REQUIRED, "SPEC", "--find-max: the goal, as --threshold writes it (default 'p99<10ms')", NULL },
	{ "max-regress", O_MAX_REGRESS, FA_OPT_REQUIRED, "PCT", "compare: exit 6 on a significant regression over PCT percent", NULL },
	{ "complete", O_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", O_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-bench",
	.usage = "pg [OPTION]... [-e SQL | -f FILE]\n"
		 "http [OPTION]... URL\n"
		 "mcp [OPTION]... --tool NAME URL [KEY=VALUE | KEY:=JSON]...\n"
		 "mcp [OPTION]... --tool NAME --stdio COMMAND [KEY=VALUE | KEY:=JSON]...\n"
		 "compare [OPTION]... OLD.json NEW.json\n"
		 "merge [OPTION]... RUN.json...\n"
		 "suite [OPTION]... FILE",
	.summary = "Puts load on PostgreSQL, an HTTP server or an MCP server's tool and reports throughput and HDR latency\n"
		   "percentiles: closed loop (-c connections) or open loop (--rate), latency measured\n"
		   "from each request's intended send time; compares and merges --json results; runs\n"
		   "the scenarios of a suite file one after another into one JSON.",
	.opts = options,
	.operands = "pg http mcp compare merge suite",
	.later = "@file",
	.footer = "Exit status: 0 success, 1 every request failed, 2 usage error, 3 cannot connect,\n"
		  "4 a --json input or suite file unreadable or malformed, 5 out of memory, 6 a --threshold or\n"
		  "--max-regress limit was not met, 130 interrupted.\n",
};

struct args {
	struct fa_bench_cfg cfg;
	const char *command;
	const char *db, *sql, *file, *json, *hgrm, *svg, *threshold, *body;
	const char *progress;
	char **defines;
	int ndefines;
	char **headers;
	int nheaders;
	const char *method;
	const char *tool_name;
	const char *stdio;
	const char *protocol;
	enum fa_bench_pg_mode mode;
	double max_regress;
	bool h1, h2, h3;
	int streams;
	const struct fa_bench_http *http;       /* the http command's, for what it spoke */
	const char *cacert;
	bool insecure;
	bool rate_given;
	bool find_max;
	const char *slo;
	/* suite: a scenario's options override the suite's, -d and -n each other */
	bool scenario, scenario_d, scenario_n;
	bool keep;                      /* keep the result's document in kept */
	bool quiet;                     /* nothing on stdout: a suite's JSON goes there */
	json_t *kept;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int usage_error(const char *msg)
{
	return fa_opt_usage_error(&tool, msg, stderr);
}

static int number(const char *opt, const char *arg, long min, long max, long *out)
{
	return fa_opt_number(&tool, opt, arg, min, max, out, stderr);
}

static int duration(const char *opt, const char *arg, uint64_t *ns)
{
	long long ms;
	char msg[256];

	if (!fa_duration_ms(arg, &ms)) {
		snprintf(msg, sizeof(msg), "option '--%s' takes a duration such as 500ms, 5s or 2min, "
			 "not '%.100s'", opt, arg);
		return usage_error(msg);
	}
	*ns = (uint64_t)ms * 1000000ULL;
	return -1;
}

static int rate(const char *opt, const char *arg, double *out)
{
	char *end, msg[256];
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v > 0) || v > 1e9) {
		snprintf(msg, sizeof(msg), "option '--%s' takes a rate per second above 0, not '%.100s'",
			 opt, arg);
		return usage_error(msg);
	}
	*out = v;
	return -1;
}

/* --ramp FROM:TO/TIME */
static int ramp(struct args *a, const char *arg)
{
	char from[64], to[64], msg[300];
	const char *colon = strchr(arg, ':'), *slash = colon ? strchr(colon, '/') : NULL;
	int rc;

	if (!colon || !slash || colon - arg >= 64 || slash - colon > 64) {
		snprintf(msg, sizeof(msg), "--ramp '%.100s': write FROM:TO/TIME, as in 100:5000/30s", arg);
		return usage_error(msg);
	}
	snprintf(from, sizeof(from), "%.*s", (int)(colon - arg), arg);
	snprintf(to, sizeof(to), "%.*s", (int)(slash - colon - 1), colon + 1);
	if (!strcmp(from, "0"))
		a->cfg.ramp_from = 0;
	else if ((rc = rate("ramp", from, &a->cfg.ramp_from)) >= 0)
		return rc;
	if ((rc = rate("ramp", to, &a->cfg.rate)) >= 0)
		return rc;
	return duration("ramp", slash + 1, &a->cfg.ramp_ns);
}

static void add(char ***list, int *n, const char *arg)
{
	char **l = realloc(*list, (size_t)(*n + 1) * sizeof(**list));

	if (!l)
		abort();
	*list = l;
	(*list)[(*n)++] = (char *)arg;
}

struct parsing {
	struct args *a;
	int argc;
	char **argv;
};

static int apply(int key, const char *arg, void *ctx)
{
	struct parsing *ps = ctx;
	struct args *a = ps->a;
	long n;
	int rc = -1;

	switch (key) {
	case 'c': if ((rc = number("connections", arg, 1, 100000, &n)) < 0) a->cfg.conns = (int)n; break;
	case 't': if ((rc = number("threads", arg, 1, 1024, &n)) < 0) a->cfg.threads = (int)n; break;
	case 'd':
		rc = duration("duration", arg, &a->cfg.duration_ns);
		if (a->scenario) {
			a->scenario_d = true;
			a->cfg.count = 0;
		}
		break;
	case 'n':
		if ((rc = number("requests", arg, 1, 1000000000000L, &n)) < 0)
			a->cfg.count = (uint64_t)n;
		if (a->scenario) {
			a->scenario_n = true;
			a->cfg.duration_ns = 0;
		}
		break;
	case O_WARMUP: rc = duration("warmup", arg, &a->cfg.warmup_ns); break;
	case O_RATE: rc = rate("rate", arg, &a->cfg.rate); a->rate_given = true; break;
	case O_RAMP: rc = ramp(a, arg); break;
	case O_POISSON: a->cfg.poisson = true; break;
	case O_TIMEOUT: rc = duration("timeout", arg, &a->cfg.timeout_ns); break;
	case O_DIGITS: if ((rc = number("digits", arg, 1, 5, &n)) < 0) a->cfg.digits = (int)n; break;
	case O_SEED: if ((rc = number("seed", arg, 0, 0x7fffffffffffffffL, &n)) < 0) a->cfg.seed = (uint64_t)n; break;
	case O_DB: a->db = arg; break;
	case 'e': a->sql = arg; break;
	case 'f': a->file = arg; break;
	case 'D': add(&a->defines, &a->ndefines, arg); break;
	case 'M':
		if (!strcmp(arg, "simple"))
			a->mode = FA_BENCH_PG_SIMPLE;
		else if (!strcmp(arg, "extended"))
			a->mode = FA_BENCH_PG_EXTENDED;
		else if (!strcmp(arg, "prepared"))
			a->mode = FA_BENCH_PG_PREPARED;
		else
			rc = usage_error("option '--mode' takes simple, extended or prepared");
		break;
	case O_PIPELINE: if ((rc = number("pipeline", arg, 1, 1000, &n)) < 0) a->cfg.depth = (int)n; break;
	case 'H': add(&a->headers, &a->nheaders, arg); break;
	case O_TOOL: a->tool_name = arg; break;
	case O_STDIO: a->stdio = arg; break;
	case O_PROTOCOL: a->protocol = arg; break;
	case O_METHOD: a->method = arg; break;
	case O_BODY: a->body = arg; break;
	case O_H1: a->h1 = true; a->h2 = a->h3 = false; break;
	case O_H2: a->h2 = true; a->h1 = a->h3 = false; break;
	case O_H3: a->h3 = true; a->h1 = a->h2 = false; break;
	case 'm': if ((rc = number("streams", arg, 1, 1000, &n)) < 0) a->streams = (int)n; break;
	case O_CACERT: a->cacert = arg; break;
	case 'k': a->insecure = true; break;
	case O_JSON: a->json = arg; break;
	case O_HGRM: a->hgrm = arg; break;
	case O_SVG: a->svg = arg; break;
	case O_PROGRESS:
		if (strcmp(arg, "auto") && strcmp(arg, "text") && strcmp(arg, "ndjson") && strcmp(arg, "none"))
			rc = usage_error("option '--progress' takes auto, text, ndjson or none");
		a->progress = arg;
		break;
	case O_THRESHOLD: a->threshold = arg; break;
	case O_FIND_MAX: a->find_max = true; break;
	case O_SLO: a->slo = arg; break;
	case O_MAX_REGRESS: {
		char *end;

		a->max_regress = strtod(arg, &end);
		if (end == arg || (*end && strcmp(end, "%")) || a->max_regress < 0)
			rc = usage_error("option '--max-regress' takes a percentage such as 5 or 5%");
		break;
	}
	case O_COMPLETE: return fa_opt_print_completions(&tool, arg, ps->argc - optind, ps->argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case O_VERSION: printf("fa-bench %s\n", FA_VERSION); return 0;
	}
	return rc;
}

/* ---- progress ------------------------------------------------------------ */

struct progress {
	bool ndjson, text;
};

static void on_second(const struct fa_bench_second *s, void *ctx)
{
	struct progress *p = ctx;
	double rps = s->len > 0 ? (double)s->count / s->len : 0;

	if (p->ndjson)
		fprintf(stderr, "{\"t\":%.3f,\"rps\":%.1f,\"requests\":%llu,\"errors\":%llu,"
			"\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}\n", s->t, rps,
			(unsigned long long)s->count, (unsigned long long)s->errors, s->p50 / 1e6,
			s->p90 / 1e6, s->p99 / 1e6, s->max / 1e6);
	else if (p->text)
		fprintf(stderr, "%7.1fs %10.1f/s  p99 %9.3f ms  max %9.3f ms  errors %llu\n", s->t, rps,
			s->p99 / 1e6, s->max / 1e6, (unsigned long long)s->errors);
}

/* ---- outputs ------------------------------------------------------------ */

static int write_text(const char *path, const char *data, size_t len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f || fwrite(data, 1, len, f) != len || (f != stdout && fclose(f) != 0)) {
		fprintf(stderr, "fa-bench: cannot write '%s': %s\n", path, strerror(errno));
		return FA_EINPUT;
	}
	if (f == stdout)
		fflush(stdout);
	return 0;
}

static int write_json(const char *path, const json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
	int rc;

	if (!s)
		return FA_ENOMEM;
	rc = write_text(path, s, strlen(s));
	if (!rc && !strcmp(path, "-"))
		write_text(path, "\n", 1);
	free(s);
	return rc;
}

/* Summary on stdout (unless the JSON goes there), files, thresholds. */
static int report(const struct args *a, const json_t *doc, const struct fa_hist *lat)
{
	struct fa_buf out;
	struct fa_bench_threshold th[FA_BENCH_MAX_THRESHOLDS];
	struct fa_error err = { 0 };
	int nth = 0, rc = 0;

	fa_buf_init(&out, 0);
	if (a->threshold && fa_bench_thresholds_parse("--threshold", a->threshold, th, &nth, &err)) {
		fa_buf_release(&out);
		return usage_error(err.msg);
	}
	if (!a->quiet && (!a->json || strcmp(a->json, "-"))) {
		fa_bench_summary(doc, &out);
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		fflush(stdout);
	}
	if (a->json)
		rc = write_json(a->json, doc);
	if (!rc && a->hgrm && lat) {
		fa_buf_reset(&out);
		fa_bench_hgrm(lat, &out);
		rc = write_text(a->hgrm, out.data ? out.data : "", out.len);
	}
	if (!rc && a->svg) {
		fa_buf_reset(&out);
		if (fa_bench_svg(doc, &out, &err)) {
			fprintf(stderr, "fa-bench: --svg: %s\n", err.msg);
			rc = err.code;
		} else {
			rc = write_text(a->svg, out.data, out.len);
		}
	}
	if (!rc && nth) {
		fa_buf_reset(&out);
		if (!fa_bench_thresholds_check(th, nth, doc, &out)) {
			fprintf(stderr, "fa-bench: %s", out.data);
			rc = FA_ETHRESHOLD;
		}
	}
	fa_buf_release(&out);
	return rc;
}

/* ---- the load commands ----------------------------------------------------- */

static json_t *config_json(const struct args *a, const char *target_desc)
{
	const struct fa_bench_cfg *c = &a->cfg;
	json_t *o = json_object();

	json_object_set_new(o, "target", json_string(a->command));
	json_object_set_new(o, "what", json_string(target_desc));
	json_object_set_new(o, "threads", json_integer(c->threads));
	json_object_set_new(o, "connections", json_integer(c->conns));
	json_object_set_new(o, "depth", json_integer(c->depth));
	json_object_set_new(o, "model", json_string(c->rate > 0 ? "open" : "closed"));
	if (c->rate > 0)
		json_object_set_new(o, "rate", json_real(c->rate));
	if (c->ramp_ns)
		json_object_set_new(o, "ramp", json_pack("{s:f,s:f,s:f}", "from", c->ramp_from,
							 "to", c->rate, "seconds", c->ramp_ns / 1e9));
	json_object_set_new(o, "poisson", json_boolean(c->poisson));
	json_object_set_new(o, "duration_s", json_real(c->duration_ns / 1e9));
	json_object_set_new(o, "requests", json_integer((json_int_t)c->count));
	json_object_set_new(o, "warmup_s", json_real(c->warmup_ns / 1e9));
	json_object_set_new(o, "timeout_s", json_real(c->timeout_ns / 1e9));
	json_object_set_new(o, "digits", json_integer(c->digits));
	json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
	if (!strcmp(a->command, "pg"))
		json_object_set_new(o, "mode", json_string(a->mode == FA_BENCH_PG_SIMPLE ? "simple" :
							   a->mode == FA_BENCH_PG_EXTENDED ? "extended" :
							   "prepared"));
	if (a->http) {
		const char *spoken = fa_bench_http_spoken(a->http);

		json_object_set_new(o, "protocol", spoken ? json_string(spoken) : json_null());
		json_object_set_new(o, "streams", json_integer(a->http->streams));
	}
	return o;
}

static void on_step(const struct fa_bench_step *s, void *ctx)
{
	FILE *f = ctx;

	if (!f)
		return;
	if (s->rate > 0)
		fprintf(f, "%12.1f %12.1f %10.3f %10.3f %10.3f %8llu  %s\n", s->rate, s->rps, s->p50, s->p99,
		       s->max, s->errors, s->met ? "met" : "not met");
	else
		fprintf(f, "%12s %12.1f %10.3f %10.3f %10.3f %8llu  %s\n", "closed loop", s->rps, s->p50,
		       s->p99, s->max, s->errors, s->met ? "met" : "not met");
	fflush(f);
}

/* --find-max: the steps as they go, then the answer. */
static int find_max(struct args *a, const char *desc)
{
	struct fa_bench_threshold slo[FA_BENCH_MAX_THRESHOLDS];
	struct fa_bench_findmax fm = { .slo = slo, .on_step = on_step };
	/* the table on stdout, unless the JSON goes there */
	FILE *out = a->quiet || (a->json && !strcmp(a->json, "-")) ? NULL : stdout;
	struct fa_error err = { 0 };
	json_t *steps = NULL;
	double best;
	int rc;

	if (fa_bench_thresholds_parse("--slo", a->slo ? a->slo : "p99<10ms", slo, &fm.nslo, &err))
		return usage_error(err.msg);
	fm.ctx = out;
	if (out) {
		fprintf(out, "%s: the highest rate with %s, %.3g s a step\n", desc,
			a->slo ? a->slo : "p99<10ms", a->cfg.duration_ns / 1e9);
		fprintf(out, "%12s %12s %10s %10s %10s %8s  %s\n", "rate asked", "achieved", "p50 ms",
			"p99 ms", "max ms", "errors", "SLO");
	}
	rc = fa_bench_find_max(&a->cfg, &fm, &best, &steps, &err);
	if (rc && rc != FA_EINTR)
		fprintf(stderr, "fa-bench: %s\n", err.msg);
	if (!rc) {
		if (out)
			fprintf(out, "highest rate meeting the SLO: %.1f per second\n", best);
		if (a->json || a->keep) {
			json_t *doc = json_pack("{s:i,s:s,s:s,s:f,s:O}", "fa_bench", 1, "find_max", desc,
						"slo", a->slo ? a->slo : "p99<10ms", "best_rate", best,
						"steps", steps);

			if (a->json)
				rc = write_json(a->json, doc);
			if (a->keep)
				a->kept = json_incref(doc);
			json_decref(doc);
		}
		if (!rc && best <= 0)
			rc = FA_ETHRESHOLD;
	}
	json_decref(steps);
	return rc;
}

static int run(struct args *a, const char *desc)
{
	struct fa_bench_result res;
	struct fa_error err = { 0 };
	struct progress pr = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	json_t *doc;
	int rc;

	/* auto: text on a terminal, else nothing (ndjson is asked for) */
	if (!a->progress || !strcmp(a->progress, "auto")) {
		pr.text = isatty(2);
	} else {
		pr.text = !strcmp(a->progress, "text");
		pr.ndjson = !strcmp(a->progress, "ndjson");
	}
	a->cfg.on_second = on_second;
	a->cfg.ctx = &pr;
	a->cfg.stop = &interrupted;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (a->find_max)
		return find_max(a, desc);
	if ((rc = fa_bench_run(&a->cfg, &res, &err))) {
		if (rc == FA_EINTR)
			return FA_EINTR;
		fprintf(stderr, "fa-bench: %s\n", err.msg);
		return rc;
	}
	doc = fa_bench_doc(config_json(a, desc), &res);
	rc = report(a, doc, &res.lat);
	if (a->keep)
		a->kept = json_incref(doc);
	json_decref(doc);
	if (!rc && res.requests && res.errors == res.requests) {
		fprintf(stderr, "fa-bench: every request failed\n");
		rc = res.errs[0].kind == FA_BENCH_ECONNECT ? FA_ECONNECT : FA_EWORK;
	}
	if (!rc && res.interrupted)
		rc = FA_EINTR;
	fa_bench_result_release(&res);
	return rc;
}

static int cmd_pg(struct args *a, int nops)
{
	struct fa_pg_target target = { 0 };
	struct fa_bench_pg pg;
	struct fa_error err = { 0 };
	struct fa_buf note;
	int rc;

	if (nops)
		return usage_error("pg: the statement goes with -e SQL or -f FILE, not as an operand");
	if (!a->sql && !a->file)
		return usage_error("pg: give the statement with -e SQL or a script with -f FILE");
	if (a->sql && a->file)
		return usage_error("pg: give -e SQL or -f FILE, not both");
	if (a->mode == FA_BENCH_PG_SIMPLE && a->cfg.depth > 1)
		return usage_error("pg: --pipeline needs -M extended or -M prepared");
	fa_bench_pg_init(&pg, &target, a->mode);
	pg.conns = a->cfg.conns;
	for (int i = 0; i < a->ndefines; i++)
		if (fa_bench_pg_define(&pg, a->defines[i], &err)) {
			fa_bench_pg_release(&pg);
			return usage_error(err.msg);
		}
	if (a->sql ? fa_bench_pg_statement(&pg, a->sql, &err) : fa_bench_pg_script(&pg, a->file, &err)) {
		fa_bench_pg_release(&pg);
		if (err.code == FA_EUSAGE)
			return usage_error(err.msg);
		fprintf(stderr, "fa-bench: %s\n", err.msg);
		return err.code;
	}
	fa_buf_init(&note, 4096);
	rc = fa_pg_target_resolve(&target, a->db, environ, &note, &err);
	if (note.len)
		fprintf(stderr, "fa-bench: %s\n", note.data);
	fa_buf_release(&note);
	if (!rc)
		rc = fa_pg_target_check(&target, &err);
	if (rc) {
		fprintf(stderr, "fa-bench: %s\n", err.msg);
	} else {
		a->cfg.target = &fa_bench_pg_target;
		a->cfg.target_cfg = &pg;
		rc = run(a, a->file ? a->file : pg.stmts[0].sql);
	}
	fa_pg_target_release(&target);
	fa_bench_pg_release(&pg);
	return rc;
}

static char *read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct fa_buf b;
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	fa_buf_init(&b, 64u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fa_buf_append(&b, chunk, n)) {
			fclose(f);
			fa_buf_release(&b);
			return NULL;
		}
	fclose(f);
	fa_buf_putc(&b, '\0');
	return fa_buf_detach(&b, len);
}

static int cmd_http(struct args *a, char **ops, int nops)
{
	struct fa_bench_http http;
	struct fa_error err = { 0 };
	char *body = NULL;
	int rc;

	if (a->streams > 1 && !a->h2 && !a->h3)
		return usage_error("-m: several requests in flight on a connection need --h2 or --h3");
	if (nops != 1)
		return usage_error(nops ? "http: give one URL" : "http: give the URL, as in http://127.0.0.1:8080/");
	if (a->cfg.depth > 1)
		return usage_error("--pipeline is for pg; HTTP/1.1 carries one request at a time");
	if (fa_bench_http_init(&http, ops[0], &err)) {
		fa_bench_http_release(&http);
		return usage_error(err.msg);
	}
	http.conns = a->cfg.conns;
	http.proto = a->h3 ? FA_HPROTO_H3 : a->h2 ? FA_HPROTO_H2 : a->h1 ? FA_HPROTO_H1 :
		     FA_HPROTO_AUTO;
	http.streams = a->streams > 0 ? a->streams : 1;
	http.ca_file = a->cacert;
	http.insecure = a->insecure;
	if (fa_bench_http_tls(&http, &err)) {
		fa_bench_http_release(&http);
		return usage_error(err.msg);
	}
	a->http = &http;
	a->cfg.depth = http.streams;
	if (a->method)
		http.method = a->method;
	for (int i = 0; i < a->nheaders; i++)
		if (fa_bench_http_header(&http, a->headers[i], &err)) {
			fa_bench_http_release(&http);
			return usage_error(err.msg);
		}
	if (a->body && a->body[0] == '@') {
		size_t len;

		if (!(body = read_body(a->body + 1, &len))) {
			fprintf(stderr, "fa-bench: cannot read '%s': %s\n", a->body + 1, strerror(errno));
			fa_bench_http_release(&http);
			return FA_EINPUT;
		}
		http.body = body;
		http.body_len = len - 1;
	} else if (a->body) {
		http.body = a->body;
		http.body_len = strlen(a->body);
	}
	a->cfg.target = &fa_bench_http_target;
	a->cfg.target_cfg = &http;
	rc = run(a, ops[0]);
	fa_bench_http_release(&http);
	free(body);
	return rc;
}

static int cmd_mcp(struct args *a, char **ops, int nops)
{
	struct fa_bench_mcp mcp;
	struct fa_error err = { 0 };
	int rc, first = a->stdio ? 0 : 1;

	if (!a->tool_name)
		return usage_error("mcp: give the tool with --tool NAME");
	if (!a->stdio && nops < 1)
		return usage_error("mcp: give the server's URL, as in http://127.0.0.1:8000/mcp, "
				   "or its command with --stdio");
	if (a->stdio && (a->nheaders || a->cacert || a->insecure))
		return usage_error("-H, --cacert and -k are for an MCP server at a URL, not --stdio");
	if (!a->stdio && a->cfg.depth > 1)
		return usage_error("--pipeline is for pg and mcp --stdio; an MCP session over HTTP/1.1 carries one call at a time");
	if (fa_bench_mcp_init(&mcp, a->stdio ? NULL : ops[0], a->tool_name, &err) ||
	    (a->stdio && fa_bench_mcp_stdio(&mcp, a->stdio, &err))) {
		fa_bench_mcp_release(&mcp);
		return usage_error(err.msg);
	}
	if (a->protocol)
		fa_bench_mcp_protocol(&mcp, a->protocol, &err);
	for (int i = first; i < nops && !err.code; i++)
		fa_bench_mcp_arg(&mcp, ops[i], &err);
	for (int i = 0; i < a->nheaders && !err.code; i++)
		fa_bench_mcp_header(&mcp, a->headers[i], &err);
	if (!err.code)
		fa_bench_mcp_finish(&mcp, &err);
	if (!err.code && !a->stdio)
		fa_bench_mcp_tls(&mcp, a->cacert, a->insecure, &err);
	if (err.code) {
		fa_bench_mcp_release(&mcp);
		return usage_error(err.msg);
	}
	a->cfg.target = a->stdio ? &fa_bench_mcp_stdio_target : &fa_bench_mcp_target;
	a->cfg.target_cfg = &mcp;
	rc = run(a, a->stdio ? a->stdio : ops[0]);
	fa_bench_mcp_release(&mcp);
	return rc;
}

static int cmd_merge(struct args *a, char **ops, int nops)
{
	json_t **docs;
	json_t *out;
	struct fa_error err = { 0 };
	struct fa_hist lat;
	int rc = 0, n = 0;

	if (nops < 1)
		return usage_error("merge: give the --json files of the runs");
	if (!(docs = calloc((size_t)nops, sizeof(*docs))))
		return FA_ENOMEM;
	for (; n < nops; n++)
		if (!(docs[n] = fa_bench_doc_load(ops[n], &err))) {
			fprintf(stderr, "fa-bench: %s\n", err.msg);
			rc = err.code;
			break;
		} else if (json_object_get(docs[n], "scenarios")) {
			fprintf(stderr, "fa-bench: '%s' is a suite's document: merge runs of one scenario, "
				"written with --json on its line\n", ops[n]);
			rc = FA_EINPUT;
			n++;
			break;
		}
	if (!rc && !(out = fa_bench_doc_merge(docs, nops, &err))) {
		fprintf(stderr, "fa-bench: %s\n", err.msg);
		rc = err.code;
	} else if (!rc) {
		if (fa_bench_hist_read(json_object_get(out, "histogram"), &lat, &err) == FA_OK) {
			rc = report(a, out, &lat);
			fa_hist_release(&lat);
		}
		json_decref(out);
	}
	for (int i = 0; i < n; i++)
		json_decref(docs[i]);
	free(docs);
	return rc;
}

static int cmd_compare(struct args *a, char **ops, int nops)
{
	json_t *d[2] = { NULL, NULL };
	struct fa_error err = { 0 };
	struct fa_buf out;
	bool regressed;
	int rc = 0;

	if (nops != 2)
		return usage_error("compare: give two --json files, OLD and NEW");
	for (int i = 0; i < 2 && !rc; i++)
		if (!(d[i] = fa_bench_doc_load(ops[i], &err))) {
			fprintf(stderr, "fa-bench: %s\n", err.msg);
			rc = err.code;
		}
	if (!rc && !json_object_get(d[0], "scenarios") != !json_object_get(d[1], "scenarios")) {
		fprintf(stderr, "fa-bench: compare: '%s' is a suite's document and '%s' a run's: "
			"compare two of a kind\n", ops[json_object_get(d[0], "scenarios") ? 0 : 1],
			ops[json_object_get(d[0], "scenarios") ? 1 : 0]);
		rc = FA_EINPUT;
	}
	if (!rc) {
		fa_buf_init(&out, 0);
		if (json_object_get(d[0], "scenarios"))
			fa_bench_compare_suites(d[0], d[1], a->max_regress, &out, &regressed);
		else
			fa_bench_compare(d[0], d[1], a->max_regress, &out, &regressed);
		fwrite(out.data, 1, out.len, stdout);
		fa_buf_release(&out);
		if (regressed) {
			fprintf(stderr, "fa-bench: a significant regression over %g%%\n", a->max_regress);
			rc = FA_ETHRESHOLD;
		}
	}
	json_decref(d[0]);
	json_decref(d[1]);
	return rc;
}

/* One command after the options: the defaults that depend on the options,
   the checks across them, then the command. */
static int load(struct args *a, int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	bool threads_given;
	int rc;

	a->command = argv[optind++];
	threads_given = a->cfg.threads > 0;
	if (!threads_given)
		a->cfg.threads = (int)(cores > 0 ? cores : 1);
	if (a->cfg.threads > a->cfg.conns) {
		if (threads_given) {
			return usage_error("-t: more threads than connections (-c): each thread needs one");
		}
		a->cfg.threads = a->cfg.conns;
	}
	if (a->cfg.duration_ns && a->cfg.count) {
		return usage_error("give -d DURATION or -n REQUESTS, not both");
	}
	if (!a->cfg.duration_ns && !a->cfg.count)
		a->cfg.duration_ns = 10000000000ULL;
	{
		/* malformed limits are usage errors before any connection is made */
		struct fa_bench_threshold t[FA_BENCH_MAX_THRESHOLDS];
		struct fa_error err = { 0 };
		int n;

		if ((a->threshold && fa_bench_thresholds_parse("--threshold", a->threshold, t, &n, &err)) ||
		    (a->slo && fa_bench_thresholds_parse("--slo", a->slo, t, &n, &err))) {
			return usage_error(err.msg);
		}
	}
	if (a->find_max && (a->cfg.count || a->rate_given || a->cfg.ramp_ns)) {
		return usage_error("--find-max sets the rate itself, for -d a step: leave out -n, --rate and --ramp");
	}
	if ((a->cfg.poisson || a->cfg.ramp_ns) && a->cfg.rate <= 0 && !a->find_max) {
		return usage_error("--poisson needs --rate or --ramp");
	}
	if (a->scenario && strcmp(a->command, "pg") && strcmp(a->command, "http") && strcmp(a->command, "mcp"))
		rc = usage_error("a suite's scenario runs pg, http or mcp");
	else if (!strcmp(a->command, "pg"))
		rc = cmd_pg(a, argc - optind);
	else if (!strcmp(a->command, "http"))
		rc = cmd_http(a, argv + optind, argc - optind);
	else if (!strcmp(a->command, "mcp"))
		rc = cmd_mcp(a, argv + optind, argc - optind);
	else if (!strcmp(a->command, "merge"))
		rc = cmd_merge(a, argv + optind, argc - optind);
	else if (!strcmp(a->command, "compare"))
		rc = cmd_compare(a, argv + optind, argc - optind);
	else
		rc = usage_error("unknown command: the commands are pg, http, mcp, compare, merge and suite");
	return rc;
}

/* ---- suite ----------------------------------------------------------------- */

static char **copy_list(char **l, int n)
{
	char **c = n ? malloc((size_t)n * sizeof(*c)) : NULL;

	if (n && !c)
		abort();
	if (n)
		memcpy(c, l, (size_t)n * sizeof(*c));
	return c;
}

/* The suite's options, then the scenario's words, into *s (a copy of base
   that owns its lists).  -1 when they parse, else the exit status. */
static int scenario_args(const struct args *base, const struct fa_bench_scenario *sc, char **argv,
			 struct args *s)
{
	struct parsing ps = { s, sc->argc + 1, argv };
	int rc;

	*s = *base;
	s->defines = copy_list(base->defines, base->ndefines);
	s->headers = copy_list(base->headers, base->nheaders);
	s->json = s->hgrm = s->svg = NULL;
	s->scenario = true;
	argv[0] = "fa-bench";
	memcpy(argv + 1, sc->argv, (size_t)(sc->argc + 1) * sizeof(*argv));
	optind = 0;             /* getopt starts afresh */
	rc = fa_opt_each(&tool, sc->argc + 1, argv, apply, &ps, stderr);
	if (rc < 0 && optind >= sc->argc + 1)
		rc = usage_error("the scenario gives no command: pg, http or mcp");
	else if (rc < 0 && strcmp(argv[optind], "pg") && strcmp(argv[optind], "http") &&
		 strcmp(argv[optind], "mcp"))
		rc = usage_error("a scenario's command is pg, http or mcp");
	else if (rc == 0)
		rc = usage_error("--help, --version and --complete have no place in a scenario");
	return rc;
}

static void scenario_release(struct args *s)
{
	free(s->defines);
	free(s->headers);
	json_decref(s->kept);
}

static json_t *scenario_json(const struct fa_bench_scenario *sc, int rc, json_t *result)
{
	json_t *words = json_array();

	for (int i = 0; i < sc->argc; i++)
		json_array_append_new(words, json_string(sc->argv[i]));
	return json_pack("{s:s,s:i,s:o,s:i,s:O?}", "name", sc->name, "line", sc->line, "argv", words,
			 "exit", rc, "result", result ? result : json_null());
}

/* " word", quoted for a shell when it needs to be. */
static void print_word(const char *w)
{
	if (*w && !strpbrk(w, " \t\n\"'#()[]{}*?$;&|<>\\`~!")) {
		printf(" %s", w);
		return;
	}
	printf(" '");
	for (; *w; w++)
		if (*w == '\'')
			printf("'\\''");
		else
			putchar(*w);
	putchar('\'');
}

/* Runs every scenario of the file in turn; one JSON of them all. */
static int cmd_suite(struct args *a, char **ops, int nops)
{
	struct fa_bench_suite suite;
	struct fa_error err = { 0 };
	json_t *all;
	char *text, **argv = NULL;
	size_t len;
	int rc = 0, maxc = 0;
	bool stdout_json = a->json && !strcmp(a->json, "-");

	if (nops != 1)
		return usage_error("suite: give one scenario file");
	if (a->hgrm || a->svg)
		return usage_error("suite: --hgrm and --svg belong on a scenario's line");
	if (!(text = read_body(ops[0], &len))) {
		fprintf(stderr, "fa-bench: cannot read '%s': %s\n", ops[0], strerror(errno));
		return FA_EINPUT;
	}
	rc = fa_bench_suite_parse(text, len - 1, ops[0], &suite, &err);
	free(text);
	if (rc) {
		fprintf(stderr, "fa-bench: %s\n", err.msg);
		return rc;
	}
	for (int i = 0; i < suite.n; i++)
		maxc = suite.sc[i].argc > maxc ? suite.sc[i].argc : maxc;
	if (!(argv = calloc((size_t)maxc + 2, sizeof(*argv))))
		abort();
	/* every scenario's options are checked before the first runs */
	for (int i = 0; i < suite.n && !rc; i++) {
		struct args s;

		if ((rc = scenario_args(a, &suite.sc[i], argv, &s)) >= 0)
			fprintf(stderr, "fa-bench: in scenario '%s', %s line %d\n", suite.sc[i].name,
				ops[0], suite.sc[i].line);
		rc = rc < 0 ? 0 : rc;
		scenario_release(&s);
	}
	if (rc) {
		free(argv);
		fa_bench_suite_release(&suite);
		return rc;
	}
	all = json_pack("{s:i,s:s,s:[]}", "fa_bench", 1, "suite", ops[0], "scenarios");
	for (int i = 0; i < suite.n && rc != FA_EINTR; i++) {
		const struct fa_bench_scenario *sc = &suite.sc[i];
		struct args s;
		int src;

		if (!stdout_json) {
			printf("%s== %s (%s line %d):", i ? "\n" : "", sc->name, ops[0], sc->line);
			for (int k = 0; k < sc->argc; k++)
				print_word(sc->argv[k]);
			printf("\n");
			fflush(stdout);
		}
		scenario_args(a, sc, argv, &s);
		s.keep = true;
		s.quiet = stdout_json;
		src = load(&s, sc->argc + 1, argv);
		json_array_append_new(json_object_get(all, "scenarios"), scenario_json(sc, src, s.kept));
		if (src && !rc)
			rc = src;
		if (src == FA_EINTR || interrupted)
			rc = FA_EINTR;
		scenario_release(&s);
	}
	if (a->json) {
		int wrc = write_json(a->json, all);

		rc = rc ? rc : wrc;
	}
	json_decref(all);
	free(argv);
	fa_bench_suite_release(&suite);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { .cfg = { .conns = 10, .depth = 1, .digits = 3,
				   .timeout_ns = 10000000000ULL }, .mode = FA_BENCH_PG_PREPARED,
			  .max_regress = -1, .command = "" };
	struct parsing ps = { &a, argc, argv };
	int rc;

	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);       /* OpenSSL writes with write(2) (http/tls.h) */
	a.cfg.seed = (uint64_t)fa_now_ns();
	rc = fa_opt_each(&tool, argc, argv, apply, &ps, stderr);
	if (rc >= 0)
		goto out;
	if (optind >= argc) {
		rc = usage_error("give a command: pg, http, mcp, compare, merge or suite");
		goto out;
	}
	if (!strcmp(argv[optind], "suite")) {
		optind++;
		rc = cmd_suite(&a, argv + optind, argc - optind);
	} else {
		rc = load(&a, argc, argv);
	}
out:
	free(a.defines);
	free(a.headers);
	return rc < 0 ? 0 : rc;
}
