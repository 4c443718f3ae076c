/*
 * fa-mcp: annotated SQL files as a Model Context Protocol server.
 *
 *	fa-mcp serve [OPTION]... FILE|DIR...
 *
 * Every query with a "-- tool:" line is a tool; over stdio (the default)
 * or Streamable HTTP (--listen), in the 2025-11-25 era and the stateless
 * 2026-07-28 one.
 */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opt.h"
#include "famcp.h"
#include "pg/sqlload.h"

extern char **environ;

enum {
	O_POOL = FA_OPT_LONG, O_POOL_TIMEOUT, O_READ_ONLY, O_ORIGIN, O_ENDPOINT, O_MAX_MESSAGE,
	O_STDIO, O_COMPLETE, O_VERSION,
};

static const struct fa_opt options[] = {
	{ "stdio", O_STDIO, FA_OPT_NONE, NULL, "serve on stdin and stdout, one JSON message a line (the default)", NULL },
	{ "listen", 'l', FA_OPT_REQUIRED, "ADDR:PORT", "serve Streamable HTTP there instead (:0 picks a free port)", NULL },
	{ "endpoint", O_ENDPOINT, FA_OPT_REQUIRED, "PATH", "the MCP endpoint's path over HTTP (default /mcp)", NULL },
	{ "allow-origin", O_ORIGIN, FA_OPT_REQUIRED, "ORIGINS", "browser origins allowed besides localhost (comma-separated, or *)", NULL },
	{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database: URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "threads", 't', FA_OPT_REQUIRED, "N", "HTTP worker threads, each with its own connections (default: cores)", NULL },
	{ "pool", O_POOL, FA_OPT_REQUIRED, "N", "database connections per worker (default 2)", NULL },
	{ "pool-timeout", O_POOL_TIMEOUT, FA_OPT_REQUIRED, "MS", "longest wait for a database connection (default 5000)", NULL },
	{ "read-only", O_READ_ONLY, FA_OPT_NONE, NULL, "offer only tools that read, each in a READ ONLY transaction", NULL },
	{ "max-message", O_MAX_MESSAGE, FA_OPT_REQUIRED, "BYTES", "largest message accepted (default 4194304)", NULL },
	{ "complete", O_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", O_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-mcp",
	.usage = "serve [OPTION]... FILE|DIR...",
	.summary = "Serves the queries of annotated SQL files (see fa-sql(5)) that have a \"tool:\"\n"
		   "line as Model Context Protocol tools, over stdio or Streamable HTTP, to clients\n"
		   "of protocol 2025-11-25 (and 2025-06-18, 2025-03-26) and the stateless 2026-07-28.",
	.opts = options,
	.operands = "serve",
	.later = "@file",
	.footer = "Exit status: 0 success (stdin closed, or stopped by SIGTERM over HTTP), 1 the\n"
		  "server failed, 2 usage error, 3 cannot connect, 4 a SQL file is unreadable or\n"
		  "malformed, 130 interrupted (SIGINT or SIGTERM over stdio).\n",
};

struct args {
	struct fa_hserver_opts h;
	const char *db;
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "fa-mcp: %s\nTry 'fa-mcp --help' for more information.\n", msg);
	return FA_EUSAGE;
}

static int number(const char *opt, const char *arg, long min, long max, long *out)
{
	struct fa_error err = { 0 };

	if (fa_opt_int(opt, arg, min, max, out, &err))
		return usage_error(err.msg);
	return -1;
}

static int apply(struct args *s, struct app *a, int key, const char *arg, int argc, char **argv)
{
	long n;
	int rc = -1;

	switch (key) {
	case O_STDIO: s->h.listen = NULL; break;
	case 'l': s->h.listen = arg; break;
	case O_ENDPOINT:
		if (arg[0] != '/')
			return usage_error("--endpoint takes a path that starts with '/'");
		a->endpoint = arg;
		break;
	case O_ORIGIN: a->origins = arg; break;
	case 'd': s->db = arg; break;
	case 't': if ((rc = number("threads", arg, 1, 256, &n)) < 0) s->h.threads = (int)n; break;
	case O_POOL: if ((rc = number("pool", arg, 1, 64, &n)) < 0) a->pool_size = (int)n; break;
	case O_POOL_TIMEOUT: if ((rc = number("pool-timeout", arg, 1, 3600000, &n)) < 0) a->pool_timeout_ms = (int)n; break;
	case O_READ_ONLY: a->read_only = true; break;
	case O_MAX_MESSAGE: if ((rc = number("max-message", arg, 1024, 1L << 30, &n)) < 0) a->max_message = (size_t)n; break;
	case O_COMPLETE: return fa_opt_print_completions(&tool, arg, argc - optind, argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case O_VERSION: printf("fa-mcp %s\n", FA_VERSION); return 0;
	}
	return rc;
}

static int parse(struct args *s, struct app *a, int argc, char **argv)
{
	struct fa_opt_parser p;
	struct fa_error err = { 0 };
	const char *arg;
	int key, rc;

	fa_opt_parser_init(&p, options);
	while ((key = fa_opt_next(&p, argc, argv, &arg, &err)) != -1) {
		rc = key == '?' ? usage_error(err.msg) : apply(s, a, key, arg, argc, argv);
		if (rc >= 0) {
			fa_opt_parser_release(&p);
			return rc;
		}
	}
	fa_opt_parser_release(&p);
	if (optind >= argc || strcmp(argv[optind], "serve"))
		return usage_error(optind >= argc ? "give a command: serve" :
				   "unknown command (the one command is serve)");
	if (++optind >= argc)
		return usage_error("give the SQL files (FILE.sql or a directory of them)");
	return -1;
}

/* SIGHUP: the new files replace the old whole; a broken one leaves the old. */
static void reload(struct app *a)
{
	struct fa_error err = { 0 };
	struct fa_sqlfile_set *set = fa_sqlload(a->paths, a->npaths, &err), *old;

	if (!set) {
		fprintf(stderr, "fa-mcp: %s; the old tools stay\n", err.msg);
		return;
	}
	old = __atomic_exchange_n(&a->files, set, __ATOMIC_ACQ_REL);
	a->retired = realloc(a->retired, (size_t)(a->nretired + 1) * sizeof(*a->retired));
	a->retired[a->nretired++] = old;
	fprintf(stderr, "fa-mcp: reloaded %zu queries\n", set->nqueries);
}

static void *signal_main(void *arg)
{
	struct app *a = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (sigwait(&set, &sig) == 0) {
		if (sig == SIGHUP) {
			reload(a);
			continue;
		}
		fa_hserver_stop(a->server);
		break;
	}
	return NULL;
}

static int serve_http(struct args *s, struct app *a)
{
	struct fa_error err = { 0 };
	pthread_t sigthread;
	sigset_t block;
	int rc;

	s->h.app = a;
	s->h.handler = mcp_http_handle;
	s->h.init_worker = mcp_http_init_worker;
	s->h.done_worker = mcp_http_done_worker;
	s->h.max_body = a->max_message;
	if (!(a->server = fa_hserver_new(&s->h, &err))) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return err.code;
	}
	fprintf(stderr, "fa-mcp: listening on %s (port %d), endpoint %s, %d worker%s\n", s->h.listen,
		fa_hserver_port(a->server), a->endpoint, s->h.threads, s->h.threads == 1 ? "" : "s");
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&sigthread, NULL, signal_main, a);
	rc = fa_hserver_run(a->server);
	pthread_kill(sigthread, SIGTERM);
	pthread_join(sigthread, NULL);
	fa_hserver_free(a->server);
	mcp_sessions_release(a);
	return rc;
}

int main(int argc, char **argv)
{
	struct app a = { .pool_size = 2, .pool_timeout_ms = FA_POOL_TIMEOUT_MS, .endpoint = "/mcp",
			 .max_message = 4u << 20, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct args s = { .h = {
		.listen = NULL, .max_head = 16384, .header_timeout_ms = 60000, .body_timeout_ms = 60000,
		.keepalive_timeout_ms = 75000, .keepalive_requests = 1 << 30, .max_conns = 10000,
		.send_timeout_ms = 60000, .h2 = true, .zstd_level = 3, .gzip_level = 6,
		.compress_min = 1024 } };
	struct fa_error err = { 0 };
	struct fa_buf note;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	setlocale(LC_ALL, "");
	s.h.threads = cores > 0 ? (int)cores : 1;
	if ((rc = parse(&s, &a, argc, argv)) >= 0)
		return rc;
	a.paths = argv + optind;
	a.npaths = argc - optind;
	if (!(a.files = fa_sqlload(a.paths, a.npaths, &err))) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return FA_EINPUT;
	}
	fa_buf_init(&note, 4096);
	rc = fa_pg_target_resolve(&a.target, s.db, environ, &note, &err);
	if (note.len)
		fprintf(stderr, "fa-mcp: %s\n", note.data);
	fa_buf_release(&note);
	if (!rc)
		rc = fa_pg_target_check(&a.target, &err);
	if (rc)
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
	else
		rc = s.h.listen ? serve_http(&s, &a) : mcp_stdio(&a);
	fa_pg_target_release(&a.target);
	for (int i = 0; i < a.nretired; i++) {
		fa_sqlfile_set_release(a.retired[i]);
		free(a.retired[i]);
	}
	free(a.retired);
	fa_sqlfile_set_release(a.files);
	free(a.files);
	return rc;
}
