/*
 * fa-mcp: annotated SQL files as a Model Context Protocol server, and a
 * client of MCP servers for the shell.
 *
 *	fa-mcp serve [OPTION]... FILE|DIR...
 *	fa-mcp call|list|read|prompt|discover|shell [OPTION]... TARGET ...
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
#include "commands.h"
#include "famcp.h"
#include "http/haccess.h"
#include "mcp/mcp.h"
#include "pg/sqlload.h"
#include "proxy.h"

extern char **environ;

enum {
	O_POOL = FA_OPT_LONG, O_POOL_TIMEOUT, O_READ_ONLY, O_ORIGIN, O_ENDPOINT, O_MAX_MESSAGE,
	O_PAGE_SIZE, O_STDIO, O_ENV, O_BEARER, O_CACERT, O_INSECURE, O_CLIENT_ID, O_CLIENT_SECRET, O_CLIENT_KEY, O_TIMEOUT,
	O_PROTOCOL, O_COMPLETE, O_VERSION, O_SQL_TOOL, O_SCHEMA_RES, O_SQL_TIMEOUT, O_SQL_LIMIT,
	O_ALLOW, O_DENY, O_SEPARATOR, O_CONFIG, O_UPSTREAM_HEADER, O_AUTH_TOKEN, O_RECORD,
	O_ACCESS_LOG, O_LOG_FORMAT,
};

static const struct fa_opt options[] = {
	{ "listen", 'l', FA_OPT_REQUIRED, "ADDR:PORT", "serve: Streamable HTTP there instead of stdio (:0 picks a free port)", NULL },
	{ "endpoint", O_ENDPOINT, FA_OPT_REQUIRED, "PATH", "the MCP endpoint's path over HTTP (default /mcp)", NULL },
	{ "allow-origin", O_ORIGIN, FA_OPT_REQUIRED, "ORIGINS", "browser origins allowed besides localhost (comma-separated, or *)", NULL },
	{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database: URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "threads", 't', FA_OPT_REQUIRED, "N", "HTTP worker threads, each with its own connections (default: cores)", NULL },
	{ "pool", O_POOL, FA_OPT_REQUIRED, "N", "database connections per worker (default 2)", NULL },
	{ "pool-timeout", O_POOL_TIMEOUT, FA_OPT_REQUIRED, "MS", "longest wait for a database connection (default 5000)", NULL },
	{ "read-only", O_READ_ONLY, FA_OPT_NONE, NULL, "offer only tools that read, each in a READ ONLY transaction", NULL },
	{ "sql-tool", O_SQL_TOOL, FA_OPT_NONE, NULL, "serve: add the tool 'query' for any read-only SQL (and the tables as resources)", NULL },
	{ "sql-timeout", O_SQL_TIMEOUT, FA_OPT_REQUIRED, "DURATION", "the query tool's statement_timeout, as 500ms, 30s or 5min (default 30s)", NULL },
	{ "sql-limit", O_SQL_LIMIT, FA_OPT_REQUIRED, "N", "the most rows the query tool returns (default 1000)", NULL },
	{ "schema-resources", O_SCHEMA_RES, FA_OPT_NONE, NULL, "serve: each table and view as a resource of its columns and keys", NULL },
	{ "max-message", O_MAX_MESSAGE, FA_OPT_REQUIRED, "BYTES", "largest message accepted (default 4194304)", NULL },
	{ "page-size", O_PAGE_SIZE, FA_OPT_REQUIRED, "N", "serve: list entries per page, then a nextCursor (default 100)", NULL },
	{ "allow", O_ALLOW, FA_OPT_REQUIRED, "[NAME=]GLOB", "proxy: offer only the tools that match (repeatable)", NULL },
	{ "deny", O_DENY, FA_OPT_REQUIRED, "[NAME=]GLOB", "proxy: hide the tools that match (repeatable)", NULL },
	{ "config", O_CONFIG, FA_OPT_REQUIRED, "FILE", "proxy: upstreams from a JSON file in the mcpServers layout", "@file" },
	{ "upstream-header", O_UPSTREAM_HEADER, FA_OPT_REQUIRED, "NAME=H: V", "proxy: send this header to HTTP upstream NAME (repeatable)", NULL },
	{ "auth-token", O_AUTH_TOKEN, FA_OPT_REQUIRED, "FILE", "serve, proxy: HTTP requests need Authorization: Bearer and the token in FILE", "@file" },
	{ "access-log", O_ACCESS_LOG, FA_OPT_REQUIRED, "FILE", "serve, proxy: log each HTTP request to FILE ('-': stderr)", "@file" },
	{ "log-format", O_LOG_FORMAT, FA_OPT_REQUIRED, "KIND", "access log format: text or json", "text json" },
	{ "record", O_RECORD, FA_OPT_REQUIRED, "FILE", "proxy: write every upstream exchange to FILE as NDJSON, for replay", "@file" },
	{ "separator", O_SEPARATOR, FA_OPT_REQUIRED, "SEP", "proxy: between an upstream's name and its tools' (default __; '' for none)", NULL },
	{ "stdio", O_STDIO, FA_OPT_REQUIRED, "COMMAND", "client: run this server (split as a shell would, no shell) instead of a URL", NULL },
	{ "env", O_ENV, FA_OPT_REQUIRED, "KEY=VALUE", "client: add to the --stdio server's environment (repeatable)", NULL },
	{ "header", 'H', FA_OPT_REQUIRED, "NAME: VALUE", "client: send this HTTP header too (repeatable)", NULL },
	{ "bearer", O_BEARER, FA_OPT_REQUIRED, "TOKEN", "client: send Authorization: Bearer TOKEN", NULL },
	{ "cacert", O_CACERT, FA_OPT_REQUIRED, "FILE", "client: PEM CAs to trust for https (default: the system's)", "@file" },
	{ "insecure", 'k', FA_OPT_NONE, NULL, "client: https without checking the certificate (as curl -k)", NULL },
	{ "client-id", O_CLIENT_ID, FA_OPT_REQUIRED, "ID", "client: after a 401, get a token by OAuth client credentials as ID", NULL },
	{ "client-secret", O_CLIENT_SECRET, FA_OPT_REQUIRED, "SECRET", "client: the secret of --client-id", NULL },
	{ "client-key", O_CLIENT_KEY, FA_OPT_REQUIRED, "FILE", "client: or its PEM private key, for a signed assertion (private_key_jwt)", NULL },
	{ "timeout", O_TIMEOUT, FA_OPT_REQUIRED, "MS", "client, proxy: longest wait for each answer (default 30000)", NULL },
	{ "protocol", O_PROTOCOL, FA_OPT_REQUIRED, "VERSION", "client, proxy upstreams: 2025-11-25, 2026-07-28 or auto (default: probe, then fall back)", "auto 2025-11-25 2026-07-28" },
	{ "format", 'F', FA_OPT_REQUIRED, "KIND", "client: output as json, ndjson or text", "json ndjson text" },
	{ "complete", O_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", O_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-mcp",
	.usage = "serve [OPTION]... FILE|DIR...\n"
		 "call [OPTION]... TARGET TOOL [KEY=VALUE | KEY:=JSON]...\n"
		 "list [OPTION]... TARGET [tools | resources | templates | prompts]\n"
		 "read [OPTION]... TARGET URI\n"
		 "prompt [OPTION]... TARGET NAME [KEY=VALUE]...\n"
		 "discover [OPTION]... TARGET\n"
		 "shell [OPTION]... TARGET\n"
		 "proxy [OPTION]... NAME=URL|NAME=stdio:COMMAND|NAME=replay:FILE...\n"
		 "replay [OPTION]... FILE",
	.summary = "Serves the queries of annotated SQL files (see fa-sql(5)) that have a \"tool:\"\n"
		   "line as Model Context Protocol tools, over stdio or Streamable HTTP, to clients\n"
		   "of protocol 2025-11-25 (and 2025-06-18, 2025-03-26) and the stateless 2026-07-28;\n"
		   "and calls MCP servers from the shell: TARGET is an http:// URL, or left out with\n"
		   "--stdio COMMAND.  proxy puts MCP servers behind one endpoint (stdio, or\n"
		   "Streamable HTTP with --listen), their tools prefixed NAME__ when there are several;\n"
		   "replay answers as the servers of a proxy's --record FILE did.",
	.opts = options,
	.operands = "serve call list read prompt discover shell proxy replay",
	.later = "@file",
	.footer = "Exit status: 0 success (serve: stdin closed, or SIGTERM over HTTP), 1 the server\n"
		  "failed (call: the tool answered isError), 2 usage error, 3 cannot connect (or\n"
		  "start the --stdio server), 4 a SQL file is unreadable or malformed (client: a\n"
		  "malformed answer or a protocol error), 130 interrupted.\n",
};

struct args {
	struct fa_hserver_opts h;
	const char *db;
	struct cargs c;
	/* proxy: --allow, --deny (allows[i]: 1, 0) and --upstream-header (2),
	   applied once the upstreams are named */
	char **filters;
	int *allows;
	int nfilters;
	const char *config;
	const char *auth_token;
	const char *record;
	const char *access_log;
	const char *separator;
};

/* Appends arg to a repeatable option's list. */
static void add(char ***list, int *n, const char *arg)
{
	*list = realloc(*list, (size_t)(*n + 1) * sizeof(**list));
	(*list)[(*n)++] = (char *)arg;
}

static int usage_error(const char *msg)
{
	return fa_opt_usage_error(&tool, msg, stderr);
}

static int number(const char *opt, const char *arg, long min, long max, long *out)
{
	return fa_opt_number(&tool, opt, arg, min, max, out, stderr);
}

static int duration(const char *opt, const char *arg, long *out)
{
	struct fa_error err = { 0 };

	if (fa_opt_duration(opt, arg, 1, 86400000, out, &err))
		return usage_error(err.msg);
	return -1;
}

/* What apply() works on: the arguments, the app, and argv for --complete. */
struct parsing {
	struct args *s;
	struct app *a;
	int argc;
	char **argv;
};

static int apply(int key, const char *arg, void *ctx)
{
	struct parsing *ps = ctx;
	struct args *s = ps->s;
	struct app *a = ps->a;
	long n;
	int rc = -1;

	switch (key) {
	case O_STDIO: s->c.stdio = arg; break;
	case O_ENV:
		if (!strchr(arg, '=') || arg[0] == '=')
			return usage_error("--env takes KEY=VALUE");
		add(&s->c.env, &s->c.nenv, arg);
		break;
	case 'H':
		if (!strchr(arg, ':') || arg[0] == ':')
			return usage_error("--header takes 'Name: value'");
		add(&s->c.headers, &s->c.nheaders, arg);
		break;
	case O_BEARER: s->c.bearer = arg; break;
	case O_CACERT: s->c.cacert = arg; break;
	case 'k': s->c.insecure = true; break;
	case O_ALLOW:
	case O_DENY:
	case O_UPSTREAM_HEADER:
		s->allows = realloc(s->allows, (size_t)(s->nfilters + 1) * sizeof(*s->allows));
		s->allows[s->nfilters] = key == O_ALLOW ? 1 : key == O_DENY ? 0 : 2;
		add(&s->filters, &s->nfilters, arg);
		break;
	case O_CONFIG: s->config = arg; break;
	case O_RECORD: s->record = arg; break;
	case O_ACCESS_LOG: s->access_log = arg; break;
	case O_LOG_FORMAT:
		if (!fa_haccess_format(arg, &a->log_json))
			return usage_error("--log-format takes text or json");
		break;
	case O_AUTH_TOKEN: s->auth_token = arg; break;
	case O_SEPARATOR: s->separator = arg; break;
	case O_CLIENT_ID: s->c.cred.client_id = arg; break;
	case O_CLIENT_SECRET: s->c.cred.client_secret = arg; break;
	case O_CLIENT_KEY: s->c.cred.key_file = arg; break;
	case O_TIMEOUT: if ((rc = number("timeout", arg, 1, 86400000, &n)) < 0) s->c.timeout_ms = (int)n; break;
	case O_PROTOCOL:
		if (!strcmp(arg, "auto"))
			s->c.era = CERA_AUTO;
		else if (!strcmp(arg, FA_MCP_STATELESS_VERSION))
			s->c.era = CERA_MODERN;
		else if (fa_mcp_version_known(arg))
			s->c.era = CERA_LEGACY;
		else
			return usage_error("--protocol takes auto, 2025-11-25 or 2026-07-28");
		break;
	case 'F':
		if (!strcmp(arg, "json"))
			s->c.format = CF_JSON;
		else if (!strcmp(arg, "ndjson"))
			s->c.format = CF_NDJSON;
		else if (!strcmp(arg, "text"))
			s->c.format = CF_TEXT;
		else
			return usage_error("--format takes json, ndjson or text");
		break;
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
	case O_PAGE_SIZE: if ((rc = number("page-size", arg, 1, 1000000, &n)) < 0) a->page_size = (int)n; break;
	case O_POOL_TIMEOUT: if ((rc = number("pool-timeout", arg, 1, 3600000, &n)) < 0) a->pool_timeout_ms = (int)n; break;
	case O_READ_ONLY: a->read_only = true; break;
	case O_SQL_TOOL: a->sql_tool = true; break;
	case O_SCHEMA_RES: a->schema_resources = true; break;
	case O_SQL_TIMEOUT: if ((rc = duration("sql-timeout", arg, &n)) < 0) a->sql_timeout_ms = (int)n; break;
	case O_SQL_LIMIT: if ((rc = number("sql-limit", arg, 1, 1000000, &n)) < 0) a->sql_limit = n; break;
	case O_MAX_MESSAGE: if ((rc = number("max-message", arg, 1024, 1L << 30, &n)) < 0) a->max_message = (size_t)n; break;
	case O_COMPLETE: return fa_opt_print_completions(&tool, arg, ps->argc - optind, ps->argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case O_VERSION: printf("fa-mcp %s\n", FA_VERSION); return 0;
	}
	return rc;
}

static int parse(struct args *s, struct app *a, int argc, char **argv)
{
	struct parsing ps = { s, a, argc, argv };
	int rc = fa_opt_each(&tool, argc, argv, apply, &ps, stderr);

	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("give a command: serve, call, list, read, prompt, discover, shell, proxy "
				   "or replay");
	s->c.command = argv[optind++];
	if (!strcmp(s->c.command, "serve")) {
		if (optind >= argc)
			return usage_error("give the SQL files (FILE.sql or a directory of them)");
		return -1;
	}
	if (!strcmp(s->c.command, "replay")) {
		if (optind + 1 != argc)
			return usage_error("replay: give one recording, as fa-mcp proxy --record wrote it");
		return -1;
	}
	if (!strcmp(s->c.command, "proxy")) {
		if (optind >= argc && !s->config)
			return usage_error("proxy: give the upstreams, NAME=URL or NAME=stdio:COMMAND, or --config");
		return -1;
	}
	if (strcmp(s->c.command, "call") && strcmp(s->c.command, "list") &&
	    strcmp(s->c.command, "read") && strcmp(s->c.command, "prompt") &&
	    strcmp(s->c.command, "discover") && strcmp(s->c.command, "shell"))
		return usage_error("unknown command: the commands are serve, call, list, read, prompt, "
				   "discover, shell, proxy and replay");
	if (!s->c.stdio && optind >= argc)
		return usage_error("give the server: an http:// URL, or --stdio COMMAND");
	if (!s->c.stdio)
		s->c.url = argv[optind++];
	s->c.words = argv + optind;
	s->c.nwords = argc - optind;
	if (!strcmp(s->c.command, "call") && !s->c.nwords)
		return usage_error("call: give the tool's name");
	if (!s->c.cred.client_id != (!s->c.cred.client_secret && !s->c.cred.key_file) ||
	    (s->c.cred.client_secret && s->c.cred.key_file))
		return usage_error("--client-id goes with one of --client-secret and --client-key");
	return -1;
}

/* SIGHUP: the new files replace the old whole; a broken one leaves the old. */
void mcp_reload(struct app *a)
{
	struct fa_error err = { 0 };

	if (a->proxy)
		return;         /* the upstreams say what changed themselves */
	if (fa_sqlfiles_reload(&a->files, &err)) {
		fprintf(stderr, "fa-mcp: %s; the old tools stay\n", err.msg);
		return;
	}
	fprintf(stderr, "fa-mcp: reloaded %zu queries\n", app_files(a)->nqueries);
	mcp_wake_workers(a);
}

static void on_hup(void *a)
{
	mcp_reload(a);
}

static int serve_http(struct args *s, struct app *a)
{
	struct fa_error err = { 0 };
	int rc;

	s->h.app = a;
	s->h.server_name = "fa-mcp";
	s->h.handler = mcp_http_handle;
	s->h.init_worker = mcp_http_init_worker;
	s->h.done_worker = mcp_http_done_worker;
	s->h.on_done = mcp_http_done;
	s->h.max_body = a->max_message;
	if (s->access_log && !(a->access_log = fa_haccess_open(s->access_log, &err))) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return err.code;
	}
	if (!(a->server = fa_hserver_new(&s->h, &err))) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return err.code;
	}
	fprintf(stderr, "fa-mcp: listening on %s (port %d), endpoint %s, %d worker%s\n", s->h.listen,
		fa_hserver_port(a->server), a->endpoint, s->h.threads, s->h.threads == 1 ? "" : "s");
	rc = fa_hserver_run_signals(a->server, on_hup, a);
	fa_hserver_free(a->server);
	fa_haccess_close(a->access_log);
	mcp_sessions_release(a);
	return rc;
}

/* --auth-token FILE: its first line, the token; an exit status on failure, else -1. */
static int read_token(struct args *s, struct app *a)
{
	char line[4096];
	FILE *f;
	size_t n;

	if (!s->auth_token)
		return -1;
	if (!(f = fopen(s->auth_token, "r"))) {
		fprintf(stderr, "fa-mcp: cannot open '%s': %s\n", s->auth_token, strerror(errno));
		return FA_EINPUT;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = 0;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = 0;
	if (!n) {
		fprintf(stderr, "fa-mcp: '%s' holds no token\n", s->auth_token);
		return FA_EINPUT;
	}
	a->auth_token = strdup(line);
	return -1;
}

/* fa-mcp proxy: the upstreams of the operands behind stdio or --listen. */
static int proxy_main(struct args *s, struct app *a, int argc, char **argv)
{
	struct fa_error err = { 0 };
	int rc = read_token(s, a);

	a->proxy = proxy_new();
	if (rc < 0 && s->config && proxy_config(a->proxy, s->config, &err)) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		rc = err.code;
	}
	if (rc < 0 && !strcmp(s->c.command, "replay")) {
		if (proxy_replay(a->proxy, argv[optind], &err)) {
			fprintf(stderr, "fa-mcp: %s\n", err.msg);
			rc = err.code;
		}
		optind = argc;
	}
	if (rc < 0 && s->record && proxy_record(a->proxy, s->record, &err)) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		rc = err.code;
	}
	if (s->separator)
		proxy_set_separator(a->proxy, s->separator);
	proxy_set_timeout(a->proxy, s->c.timeout_ms);
	proxy_set_era(a->proxy, s->c.era);
	for (int i = optind; i < argc && rc < 0; i++)
		if (proxy_add(a->proxy, argv[i], &err))
			rc = usage_error(err.msg);
	for (int i = 0; i < s->nfilters && rc < 0; i++)
		if (s->allows[i] == 2 ? proxy_header(a->proxy, s->filters[i], &err) :
		    proxy_filter(a->proxy, s->filters[i], s->allows[i], &err))
			rc = usage_error(err.msg);
	if (rc < 0) {
		s->h.threads = 1;       /* the upstreams live on one loop */
		rc = s->h.listen ? serve_http(s, a) : mcp_stdio(a);
	}
	proxy_free(a->proxy);
	a->proxy = NULL;
	free(s->filters);
	free(s->allows);
	free(a->auth_token);
	return rc;
}

int main(int argc, char **argv)
{
	struct app a = { .pool_size = 2, .page_size = 100, .pool_timeout_ms = FA_POOL_TIMEOUT_MS, .endpoint = "/mcp",
			 .sql_timeout_ms = 30000, .sql_limit = 1000,
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
	s.c.timeout_ms = 30000;
	rc = parse(&s, &a, argc, argv);
	/* a server that dies or closes its end is an error to report, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (rc < 0 && (!strcmp(s.c.command, "proxy") || !strcmp(s.c.command, "replay")))
		rc = proxy_main(&s, &a, argc, argv);
	else if (rc < 0 && strcmp(s.c.command, "serve"))
		rc = mcp_client_main(&s.c);
	if (rc >= 0) {
		free(s.c.env);
		free(s.c.headers);
		return rc;
	}
	if ((rc = read_token(&s, &a)) >= 0)
		return rc;
	if (fa_sqlfiles_init(&a.files, argv + optind, argc - optind, &err)) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return FA_EINPUT;
	}
	mcp_sql_tool_check(&a);
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
	fa_sqlfiles_release(&a.files);
	free(a.auth_token);
	return rc;
}
