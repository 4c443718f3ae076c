/*
 * fa-copy: bulk COPY in and out of PostgreSQL.  Pipelines pipe data into
 * it; parallel, resumable, with a reject file, so nothing is ever
 * silently lost.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facopy.h"
#include "core/opt.h"

extern char **environ;

volatile int copy_interrupted;

enum {
	O_DELIM = FA_OPT_LONG, O_QUOTE, O_NULL, O_HEADER, O_COLUMNS, O_BATCH, O_ATOMIC,
	O_REJECTS, O_RESUME, O_TRUNCATE, O_FREEZE, O_CREATE, O_SKIP, O_LIMIT, O_ENCODE,
	O_PROGRESS, O_SUMMARY, O_COMPRESS, O_COMPLETE, O_VERSION, O_RETRIES,
};

static const struct fa_opt options[] = {
	{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database: URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "format", 'F', FA_OPT_REQUIRED, "FORMAT", "csv (default), tsv, text, binary, ndjson; out also json", "csv tsv text binary ndjson json" },
	{ "delimiter", O_DELIM, FA_OPT_REQUIRED, "CHAR", "field delimiter (csv ',', tsv and text tab)", NULL },
	{ "quote", O_QUOTE, FA_OPT_REQUIRED, "CHAR", "csv quote character (default '\"')", NULL },
	{ "null", O_NULL, FA_OPT_REQUIRED, "STRING", "the text of NULL (csv: unquoted empty, text: \\N)", NULL },
	{ "header", O_HEADER, FA_OPT_OPTIONAL, "match", "in: skip the header line, or map columns by its names (=match); out: write one", "match" },
	{ "columns", O_COLUMNS, FA_OPT_REQUIRED, "LIST", "in: the columns the input holds, comma-separated, in order", NULL },
	{ "jobs", 'j', FA_OPT_REQUIRED, "N", "in: load over N connections (batches commit independently); out: a table in N parts", NULL },
	{ "batch-rows", O_BATCH, FA_OPT_REQUIRED, "N", "records per batch (default 50000)", NULL },
	{ "atomic", O_ATOMIC, FA_OPT_NONE, NULL, "in: one transaction on one connection: all or nothing", NULL },
	{ "rejects", O_REJECTS, FA_OPT_REQUIRED, "FILE", "in: write bad records to FILE (and why to FILE.log) and go on", "@file" },
	{ "resume", O_RESUME, FA_OPT_REQUIRED, "ID", "in: record committed batches under ID; rerun to load only the rest", NULL },
	{ "retries", O_RETRIES, FA_OPT_REQUIRED, "N", "in, with --resume: reconnect up to N times per batch when the connection is lost (default 8)", NULL },
	{ "truncate", O_TRUNCATE, FA_OPT_NONE, NULL, "in: empty the table first", NULL },
	{ "freeze", O_FREEZE, FA_OPT_NONE, NULL, "in: COPY FREEZE (with --truncate, as one transaction)", NULL },
	{ "create", O_CREATE, FA_OPT_NONE, NULL, "in: create the table if missing, from the header or NDJSON keys", NULL },
	{ "skip", O_SKIP, FA_OPT_REQUIRED, "N", "in: skip N records (after the header)", NULL },
	{ "limit", O_LIMIT, FA_OPT_REQUIRED, "N", "in: load at most N records", NULL },
	{ "encode", O_ENCODE, FA_OPT_REQUIRED, "HOW", "in: auto (binary COPY when every column type allows), text, binary", "auto text binary" },
	{ "progress", O_PROGRESS, FA_OPT_REQUIRED, "KIND", "in: auto (a bar on a terminal), bar, ndjson (lines on stderr), none", "auto bar ndjson none" },
	{ "summary", O_SUMMARY, FA_OPT_REQUIRED, "KIND", "final summary on stderr: text (default) or json", "text json" },
	{ "output", 'o', FA_OPT_REQUIRED, "FILE", "out: write to FILE (compressed by its .gz/.zst suffix)", "@file" },
	{ "compress", O_COMPRESS, FA_OPT_REQUIRED, "KIND", "out: zstd, gzip or none", "zstd gzip none" },
	{ "quiet", 'q', FA_OPT_NONE, NULL, "no summary, no progress", NULL },
	{ "complete", O_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", O_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-copy",
	.usage = "in [OPTION]... TABLE [FILE]...\nout [OPTION]... TABLE|QUERY [-- PARAM...]",
	.summary = "Bulk COPY in and out of PostgreSQL: compressed input detected (gzip, zstd),\n"
		   "parallel batches, a reject file for bad records, resumable loads.",
	.opts = options,
	.operands = "in out",
	.later = "@file",
	.footer = "FILE '-' or none reads stdin.  A QUERY is anything with a space in it.\n\n"
		  "Exit status: 0 success, 1 the load failed or records were rejected, 2 usage\n"
		  "error, 3 cannot connect, 4 input unreadable or malformed, 5 memory limit\n"
		  "reached, 130 interrupted.\n",
};

int copy_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("fa-copy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int usage_error(const char *msg)
{
	return fa_opt_usage_error(&tool, msg, stderr);
}

static int choose(const char *opt, const char *arg, const char *const *names, int *out)
{
	char msg[256];

	for (int i = 0; names[i]; i++)
		if (strcmp(arg, names[i]) == 0) {
			*out = i;
			return -1;
		}
	snprintf(msg, sizeof(msg), "--%s does not take '%s'", opt, arg);
	return usage_error(msg);
}

static int one_char(const char *opt, const char *arg, char *out)
{
	char msg[128];

	if (strlen(arg) != 1 || arg[0] == '\n' || arg[0] == '\r') {
		snprintf(msg, sizeof(msg), "--%s takes one character, not '%s'", opt, arg);
		return usage_error(msg);
	}
	*out = arg[0];
	return -1;
}

static int number(const char *opt, const char *arg, long min, long max, long *out)
{
	return fa_opt_number(&tool, opt, arg, min, max, out, stderr);
}

/* Applies one option; -1 to go on, else an exit status. */
static int apply(struct copy_args *a, int key, const char *arg, int argc, char **argv)
{
	static const char *const formats[] = { "csv", "tsv", "text", "binary", "ndjson", "json", NULL };
	static const char *const encodes[] = { "auto", "text", "binary", NULL };
	static const char *const progress[] = { "auto", "bar", "ndjson", "none", NULL };
	static const char *const summary[] = { "text", "json", NULL };
	struct fa_error err = { 0 };
	int v, rc = -1;
	long n;

	switch (key) {
	case 'd': a->db = arg; break;
	case 'F': if ((rc = choose("format", arg, formats, &v)) < 0) a->format = (enum copy_format)v; break;
	case O_DELIM: rc = one_char("delimiter", arg, &a->delim); break;
	case O_QUOTE: rc = one_char("quote", arg, &a->quote); break;
	case O_NULL: a->null_str = arg; break;
	case O_HEADER:
		if (arg && strcmp(arg, "match") != 0)
			return usage_error("--header takes no value, or =match");
		a->header = arg ? 2 : 1;
		break;
	case O_COLUMNS: a->columns = arg; break;
	case 'j': if ((rc = number("jobs", arg, 1, 64, &n)) < 0) a->jobs = (int)n; break;
	case O_BATCH: rc = number("batch-rows", arg, 1, 100000000, &a->batch_rows); break;
	case O_ATOMIC: a->atomic = true; break;
	case O_REJECTS: a->rejects = arg; break;
	case O_RESUME: a->resume = arg; break;
	case O_RETRIES:
		if ((rc = number("retries", arg, 0, 1000, &n)) < 0) {
			a->retries = (int)n;
			a->retries_set = true;
		}
		break;
	case O_TRUNCATE: a->truncate = true; break;
	case O_FREEZE: a->freeze = true; break;
	case O_CREATE: a->create = true; break;
	case O_SKIP: rc = number("skip", arg, 0, (long)1 << 62, &a->skip); break;
	case O_LIMIT: rc = number("limit", arg, 1, (long)1 << 62, &a->limit); break;
	case O_ENCODE: rc = choose("encode", arg, encodes, &a->encode); break;
	case O_PROGRESS: if ((rc = choose("progress", arg, progress, &v)) < 0) a->progress = v; break;
	case O_SUMMARY: if ((rc = choose("summary", arg, summary, &v)) < 0) a->summary_json = v; break;
	case 'o': a->output = arg; break;
	case O_COMPRESS:
		if (fa_z_parse(arg, &a->compress, &err))
			return usage_error("--compress takes zstd, gzip or none");
		a->compress_set = true;
		break;
	case 'q': a->quiet = true; break;
	case O_COMPLETE: return fa_opt_print_completions(&tool, arg, argc - optind, argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case O_VERSION: printf("fa-copy %s\n", FA_VERSION); return 0;
	}
	return rc;
}

static int parse(struct copy_args *a, int argc, char **argv, const char **dir)
{
	struct fa_opt_parser p;
	struct fa_error err = { 0 };
	const char *arg;
	int key, rc, end = argc;

	if (argc > 2 && strcmp(argv[1], "--complete") == 0) {
		/* the words may hold "--": take them all */
		return fa_opt_print_completions(&tool, argv[2], argc - 3, argv + 3, stdout);
	}
	/* Parameters follow the first "--"; getopt would move it, so cut there. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			a->params = argv + i + 1;
			a->nparams = argc - i - 1;
			break;
		}
	fa_opt_parser_init(&p, options);
	while ((key = fa_opt_next(&p, end, argv, &arg, &err)) != -1) {
		rc = key == '?' ? usage_error(err.msg) : apply(a, key, arg, end, argv);
		if (rc >= 0) {
			fa_opt_parser_release(&p);
			return rc;
		}
	}
	fa_opt_parser_release(&p);
	if (optind >= end)
		return usage_error("say 'in' or 'out'");
	*dir = argv[optind];
	a->operands = argv + optind + 1;
	a->noperands = end - optind - 1;
	return -1;
}

static void on_signal(int sig)
{
	copy_interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct copy_args a = { .envp = environ, .jobs = 1, .batch_rows = 50000, .retries = 8 };
	struct fa_error err = { 0 };
	struct fa_buf note;
	const char *dir = NULL;
	int rc;

	setlocale(LC_ALL, "");
	if ((rc = parse(&a, argc, argv, &dir)) >= 0)
		return rc;
	if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
		return usage_error("the first word is 'in' or 'out'");
	fa_buf_init(&note, 4096);
	rc = fa_pg_target_resolve(&a.target, a.db, environ, &note, &err);
	if (rc)
		return copy_fail(rc, "%s", err.msg);
	if (note.len && !a.quiet)
		fprintf(stderr, "fa-copy: %s\n", note.data);
	fa_buf_release(&note);
	install_signals();
	rc = strcmp(dir, "in") == 0 ? copy_in(&a) : copy_out(&a);
	fa_pg_target_release(&a.target);
	return rc;
}
