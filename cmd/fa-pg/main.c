/*
 * fa-pg: a pooled PostgreSQL query shell.  Interactive like psql on a
 * terminal; for scripts it speaks csv/tsv/json/ndjson, binds parameters,
 * and runs statements in parallel (-j) or pipelined (--pipeline).
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fapg.h"
#include "core/log.h"
#include "core/opt.h"
#include "pg/pglocal.h"

extern char **environ;

enum {
	OPT_CONTINUE = FA_OPT_LONG, OPT_PIPELINE, OPT_BATCH, OPT_NULL, OPT_TIMING,
	OPT_LOCAL, OPT_COMPLETE, OPT_VERSION,
};

static const struct fa_opt options[] = {
	{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database: URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "command", 'c', FA_OPT_REQUIRED, "SQL", "run SQL (statements and meta-commands); repeatable", NULL },
	{ "file", 'f', FA_OPT_REQUIRED, "FILE", "run the script in FILE ('-' for stdin); repeatable", "@file" },
	{ "format", 'F', FA_OPT_REQUIRED, "FORMAT", "output format: table, csv, tsv, json, ndjson", "table csv tsv json ndjson" },
	{ "expanded", 'x', FA_OPT_NONE, NULL, "expanded table output (one line per column)", NULL },
	{ "tuples-only", 't', FA_OPT_NONE, NULL, "print rows only: no header, no row count", NULL },
	{ "output", 'o', FA_OPT_REQUIRED, "FILE", "write results to FILE", "@file" },
	{ "set", 'v', FA_OPT_REQUIRED, "NAME=VALUE", "set a variable for :NAME interpolation", NULL },
	{ "single-transaction", '1', FA_OPT_NONE, NULL, "run everything in one transaction", NULL },
	{ "continue-on-error", OPT_CONTINUE, FA_OPT_NONE, NULL, "go on after a failed statement (exit 1 at the end)", NULL },
	{ "jobs", 'j', FA_OPT_REQUIRED, "N", "run statements concurrently over N connections, output in order", NULL },
	{ "pipeline", OPT_PIPELINE, FA_OPT_NONE, NULL, "send statements in pipeline mode, one round trip per batch", NULL },
	{ "batch", OPT_BATCH, FA_OPT_REQUIRED, "N", "statements per pipeline batch (one transaction each; default 1000)", NULL },
	{ "null", OPT_NULL, FA_OPT_REQUIRED, "STRING", "how NULL is shown in table output", NULL },
	{ "timing", OPT_TIMING, FA_OPT_NONE, NULL, "print each statement's time", NULL },
	{ "echo", 'e', FA_OPT_NONE, NULL, "print each statement before running it", NULL },
	{ "quiet", 'q', FA_OPT_NONE, NULL, "no command tags or messages", NULL },
	{ "local", OPT_LOCAL, FA_OPT_REQUIRED, "ACTION", "manage the embedded database: status, start, stop, remove, conninfo", "status start stop remove conninfo" },
	{ "complete", OPT_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", OPT_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-pg",
	.usage = "[OPTION]... [-c SQL | -f FILE]... [-- PARAM...]\n--local ACTION",
	.summary = "A pooled PostgreSQL shell: interactive on a terminal, and for scripts\n"
		   "csv/tsv/json/ndjson output, bound parameters ($1, $2...), parallel\n"
		   "and pipelined execution.",
	.opts = options,
	.footer = "Without -c or -f, statements come from stdin: the interactive shell when\n"
		  "stdin is a terminal, a script otherwise.\n\n"
		  "Exit status: 0 success, 1 a statement failed, 2 usage error, 3 cannot\n"
		  "connect or the connection was lost, 4 input unreadable or malformed,\n"
		  "5 memory limit reached, 130 interrupted.\n",
};

/* The -c and -f options, run in the order given. */
struct source {
	bool is_file;
	const char *text;
};

struct args {
	struct source *src;
	int nsrc;
	const char *db;
	const char *output;
	const char *local;
};

static int usage_error(const char *msg)
{
	return fa_opt_usage_error(&tool, msg, stderr);
}

static int local_action(struct session *s, const char *action)
{
	struct fa_local l;
	struct fa_error err = { 0 };
	enum fa_local_event ev;
	struct fa_buf out;
	enum fa_err rc;

	if ((rc = fa_local_init(&l, s->envp, &err)))
		goto fail;
	fa_buf_init(&out, 0);
	if (strcmp(action, "status") == 0) {
		fa_local_describe(&l, &out);
	} else if (strcmp(action, "start") == 0 || strcmp(action, "conninfo") == 0) {
		if ((rc = fa_local_ensure(&l, &ev, &err)))
			goto fail;
		if (ev != FA_LOCAL_RUNNING && strcmp(action, "start") == 0)
			fprintf(stderr, "fa-pg: %s the embedded PostgreSQL in %s\n",
				ev == FA_LOCAL_CREATED ? "created and started" : "started", l.dir);
		fa_local_conninfo(&l, &out);
		fa_buf_putc(&out, '\n');
	} else if (strcmp(action, "stop") == 0) {
		if ((rc = fa_local_stop(&l, &err)))
			goto fail;
	} else if (strcmp(action, "remove") == 0) {
		if ((rc = fa_local_remove(&l, &err)))
			goto fail;
	} else {
		return usage_error("--local takes status, start, stop, remove or conninfo");
	}
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	fa_buf_release(&out);
	return 0;
fail:
	fprintf(stderr, "fa-pg: %s\n", err.msg);
	return rc;
}

static void session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->envp = environ;
	s->out_fd = 1;
	s->jobs = 1;
	s->batch = 1000;
	vars_init(&s->vars);
	settings_init(&s->settings);
	fa_buf_init(&s->out, 0);
	s->fmt.kind = FA_FMT_TABLE;
	s->fmt.header = true;
	s->fmt.footer = true;
	s->fmt.null_str = s->fmt_null;
	s->fmt.csv_delim = ',';
	s->fmt.term_width = 80;
	/* Tables hold rows to size their columns: past this many they print in
	   chunks, each sized on its own, as psql does with FETCH_COUNT. */
	s->fmt.chunk_rows = TABLE_CHUNK_ROWS;
}

static void session_release(struct session *s)
{
	out_flush(s);
	if (s->out_fd > 2)
		close(s->out_fd);
	PQfinish(s->conn);
	free(s->last_error_verbose);
	free(s->last_query);
	for (int i = 0; i < s->ntimings; i++) {
		free(s->timings[i].text);
		fa_hist_release(&s->timings[i].hist);
	}
	free(s->timings);
	fa_pg_target_release(&s->target);
	fa_pgtypes_free(s->types);
	fa_pg_target_release(&s->types_target);
	vars_release(&s->vars);
	settings_release(&s->settings);
	fa_buf_release(&s->out);
}

static int set_var(struct session *s, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[128];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return usage_error("--set takes NAME=VALUE");
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	if (!vars_valid_name(name))
		return usage_error("variable names are letters, digits and underscores");
	vars_set(&s->vars, name, eq + 1);
	return 0;
}

/* Applies one parsed option; returns -1 to go on, or an exit status. */
static int apply_option(struct session *s, struct args *a, int key, const char *arg,
			int argc, char **argv)
{
	struct fa_error err = { 0 };
	long n;

	switch (key) {
	case 'd': a->db = arg; break;
	case 'c': case 'f':
		a->src = realloc(a->src, (size_t)(a->nsrc + 1) * sizeof(*a->src));
		a->src[a->nsrc++] = (struct source){ key == 'f', arg };
		break;
	case 'F':
		if ((n = fa_fmt_kind_parse(arg)) < 0)
			return usage_error("--format takes table, csv, tsv, json or ndjson");
		s->fmt.kind = (enum fa_fmt_kind)n;
		break;
	case 'x': s->fmt.expanded = 1; break;
	case 't': s->fmt.header = false; s->fmt.footer = false; break;
	case 'o': a->output = arg; break;
	case 'v': return set_var(s, arg) ? FA_EUSAGE : -1;
	case '1': s->single_txn = true; break;
	case OPT_CONTINUE: s->continue_on_error = true; break;
	case 'j': case OPT_BATCH:
		if (fa_opt_int(key == 'j' ? "jobs" : "batch", arg, 1, key == 'j' ? 256 : 1000000,
			       &n, &err))
			return usage_error(err.msg);
		if (key == 'j')
			s->jobs = (int)n;
		else
			s->batch = n;
		break;
	case OPT_PIPELINE: s->pipeline = true; break;
	case OPT_NULL: snprintf(s->fmt_null, sizeof(s->fmt_null), "%s", arg); break;
	case OPT_TIMING: s->timing = true; break;
	case 'e': s->echo = true; break;
	case 'q': s->quiet = true; break;
	case OPT_LOCAL: a->local = arg; break;
	case OPT_COMPLETE: return fa_opt_print_completions(&tool, arg, argc - optind, argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case OPT_VERSION: printf("fa-pg %s (libpq %d)\n", FA_VERSION, PQlibVersion()); return 0;
	}
	return -1;
}

static int parse_args(struct session *s, struct args *a, int argc, char **argv)
{
	struct fa_opt_parser p;
	struct fa_error err = { 0 };
	const char *arg;
	int key, rc;

	fa_opt_parser_init(&p, options);
	while ((key = fa_opt_next(&p, argc, argv, &arg, &err)) != -1) {
		if (key == '?') {
			fa_opt_parser_release(&p);
			return usage_error(err.msg);
		}
		if ((rc = apply_option(s, a, key, arg, argc, argv)) >= 0) {
			fa_opt_parser_release(&p);
			return rc;
		}
	}
	fa_opt_parser_release(&p);
	s->nparams = argc - optind;
	s->params = (const char *const *)argv + optind;
	if (s->pipeline && s->jobs > 1)
		return usage_error("--pipeline and --jobs do not combine: choose one");
	if (s->jobs > 1 && s->single_txn)
		return usage_error("--jobs runs statements on separate connections, so it cannot "
				   "be one transaction: drop --single-transaction or --jobs");
	if (s->pipeline && s->single_txn)
		return usage_error("--pipeline already runs each batch in one transaction; "
				   "use --batch to size it instead of --single-transaction");
	return -1;
}

static int open_output(struct session *s, const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return 0;
	s->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->out_fd < 0) {
		fprintf(stderr, "fa-pg: cannot open '%s': %s\n", path, strerror(errno));
		s->out_fd = 1;
		return FA_EINPUT;
	}
	return 0;
}

static enum fa_err run_sources(struct session *s, void *arg)
{
	struct args *a = arg;
	enum fa_err rc = FA_OK, r;
	FILE *f;

	for (int i = 0; i < a->nsrc && !interrupted; i++) {
		if (!a->src[i].is_file) {
			r = run_command(s, a->src[i].text);
		} else if (strcmp(a->src[i].text, "-") == 0) {
			r = run_script(s, stdin, "<stdin>");
		} else if (!(f = fopen(a->src[i].text, "r"))) {
			fprintf(stderr, "fa-pg: cannot open '%s': %s\n", a->src[i].text, strerror(errno));
			r = FA_EINPUT;
		} else {
			r = run_script(s, f, a->src[i].text);
			fclose(f);
		}
		if (r != FA_OK) {
			rc = r;
			if (r != FA_EWORK || !s->continue_on_error)
				break;
		}
	}
	return rc;
}

static enum fa_err run_stdin(struct session *s, void *arg)
{
	return run_script(s, stdin, "<stdin>");
}

int main(int argc, char **argv)
{
	struct session s;
	struct args a = { 0 };
	struct fa_error err = { 0 };
	int rc;

	setlocale(LC_ALL, "");
	fa_log_init("fa-pg", FA_LOG_INFO);
	session_init(&s);
	if ((rc = parse_args(&s, &a, argc, argv)) >= 0)
		goto out;
	if (a.local) {
		rc = local_action(&s, a.local);
		goto out;
	}
	if ((rc = open_output(&s, a.output)))
		goto out;
	s.interactive = a.nsrc == 0 && isatty(0);
	if ((rc = session_target(&s, a.db, &err)) ||
	    (rc = session_connect(&s, &err))) {
		fprintf(stderr, "fa-pg: %s\n", err.msg);
		goto out;
	}
	if (s.interactive)
		rc = run_shell(&s);
	else if (a.nsrc)
		rc = single_transaction(&s, run_sources, &a);
	else
		rc = single_transaction(&s, run_stdin, NULL);
	if (interrupted && rc == FA_OK)
		rc = FA_EINTR;
out:
	free(a.src);
	session_release(&s);
	return rc;
}
