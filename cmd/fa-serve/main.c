/*
 * fa-serve: annotated SQL files served over HTTP.  fa-serve routes.sql
 * turns each route into an endpoint; see fa-sql(5) for the file format.
 */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/opt.h"
#include "pg/sqlload.h"
#include "serve.h"
#include "http/haccess.h"
#include "http/hstatic.h"
#include "http/tls.h"

extern char **environ;

static struct fa_tls *tls_ctx;          /* for SIGHUP */
static char h3_tmp[64];                 /* HTTP/3's copy of a self-signed certificate */
static bool h3_self;

enum {
	O_POOL = FA_OPT_LONG, O_MAX_BODY, O_MAX_HEAD, O_HEADER_TO, O_BODY_TO, O_KA_TO, O_KA_REQ,
	O_MAX_CONNS, O_ACCESS_LOG, O_LOG_FORMAT, O_CHECK, O_UNNAMED, O_CORS, O_COMPLETE, O_VERSION,
	O_POOL_TIMEOUT, O_POOL_LIFETIME,
	O_TLS_LISTEN, O_TLS_CERT, O_TLS_KEY, O_TLS_SELF, O_NO_H2, O_H2_STREAMS, O_H2_WINDOW,
	O_H2_FRAME, O_H2_HEADERS, O_SEND_TO, O_COMPRESS_MIN, O_ZSTD, O_GZIP, O_H3_LISTEN,
	O_H3_RETRY, O_STATIC, O_JWT_SECRET, O_JWT_AUD, O_JWT_ISS, O_JWT_LEEWAY, O_JWT_ROLE, O_ANON_ROLE, O_AUTH,
	O_WS_PING, O_WS_MAX,
};

static const struct fa_opt options[] = {
	{ "listen", 'l', FA_OPT_REQUIRED, "ADDR:PORT", "where to listen (default 127.0.0.1:8080; :0 picks a free port)", NULL },
	{ "tls-listen", O_TLS_LISTEN, FA_OPT_REQUIRED, "ADDR:PORT", "also listen for TLS there: HTTP/2 or HTTP/1.1 by ALPN (alone, no cleartext default)", NULL },
	{ "tls-cert", O_TLS_CERT, FA_OPT_REQUIRED, "FILE", "PEM certificate, then its chain (reloaded on SIGHUP)", "@file" },
	{ "tls-key", O_TLS_KEY, FA_OPT_REQUIRED, "FILE", "PEM private key (default: in the --tls-cert file)", "@file" },
	{ "tls-self-signed", O_TLS_SELF, FA_OPT_NONE, NULL, "a throwaway certificate for localhost (its fingerprint is printed)", NULL },
	{ "h3-listen", O_H3_LISTEN, FA_OPT_REQUIRED, "ADDR:PORT", "also serve HTTP/3 (QUIC, UDP) there, with the TLS certificate; TCP responses say Alt-Svc", NULL },
	{ "h3-retry", O_H3_RETRY, FA_OPT_NONE, NULL, "HTTP/3: prove each client's address with a Retry before any handshake work", NULL },
	{ "no-http2", O_NO_H2, FA_OPT_NONE, NULL, "HTTP/1.1 only: no h2 by ALPN, no h2c", NULL },
	{ "h2-max-streams", O_H2_STREAMS, FA_OPT_REQUIRED, "N", "concurrent HTTP/2 streams per connection (default 100)", NULL },
	{ "h2-window", O_H2_WINDOW, FA_OPT_REQUIRED, "BYTES", "HTTP/2 initial stream window for request bodies (default 65535)", NULL },
	{ "h2-max-frame", O_H2_FRAME, FA_OPT_REQUIRED, "BYTES", "largest HTTP/2 frame we accept (default 16384)", NULL },
	{ "h2-max-header-list", O_H2_HEADERS, FA_OPT_REQUIRED, "BYTES", "largest decoded HTTP/2 header list, 431 past it (default 32768)", NULL },
	{ "send-timeout", O_SEND_TO, FA_OPT_REQUIRED, "MS", "close a client that takes no response bytes for this long (default 60000)", NULL },
	{ "ws-ping", O_WS_PING, FA_OPT_REQUIRED, "SECS", "WebSocket: a ping this often; a peer without a pong by the next is closed, 0: none (default 30)", NULL },
	{ "ws-max-message", O_WS_MAX, FA_OPT_REQUIRED, "BYTES", "WebSocket: largest message, inflated, closed with 1009 past it (default 1048576)", NULL },
	{ "compress-min", O_COMPRESS_MIN, FA_OPT_REQUIRED, "BYTES", "bodies of known length below it are not compressed (default 1024)", NULL },
	{ "zstd-level", O_ZSTD, FA_OPT_REQUIRED, "N", "zstd level for Accept-Encoding: zstd, 0 turns zstd off (default 3)", NULL },
	{ "gzip-level", O_GZIP, FA_OPT_REQUIRED, "N", "gzip level for Accept-Encoding: gzip, 0 turns gzip off (default 6)", NULL },
	{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database: URI, conninfo or name (default: DATABASE_URL, PG*, embedded)", NULL },
	{ "threads", 't', FA_OPT_REQUIRED, "N", "worker threads, each with its own loop and connections (default: cores)", NULL },
	{ "pool", O_POOL, FA_OPT_REQUIRED, "N", "database connections per worker (default 2)", NULL },
	{ "pool-timeout", O_POOL_TIMEOUT, FA_OPT_REQUIRED, "MS", "longest wait for a database connection, then 503 (default 5000)", NULL },
	{ "pool-max-lifetime", O_POOL_LIFETIME, FA_OPT_REQUIRED, "MS", "replace database connections older than this (default 0: never)", NULL },
	{ "max-body", O_MAX_BODY, FA_OPT_REQUIRED, "BYTES", "largest request body, 413 past it (default 1048576)", NULL },
	{ "max-header", O_MAX_HEAD, FA_OPT_REQUIRED, "BYTES", "largest request head, 431 past it (default 16384)", NULL },
	{ "header-timeout", O_HEADER_TO, FA_OPT_REQUIRED, "MS", "time to receive a request head, 408 past it (default 60000)", NULL },
	{ "body-timeout", O_BODY_TO, FA_OPT_REQUIRED, "MS", "time to receive a body, 408 past it (default 60000)", NULL },
	{ "keepalive-timeout", O_KA_TO, FA_OPT_REQUIRED, "MS", "idle keep-alive connections close after it (default 75000)", NULL },
	{ "keepalive-requests", O_KA_REQ, FA_OPT_REQUIRED, "N", "requests per connection before it closes (default 1000)", NULL },
	{ "max-conns", O_MAX_CONNS, FA_OPT_REQUIRED, "N", "connections per worker (default 10000)", NULL },
	{ "access-log", O_ACCESS_LOG, FA_OPT_REQUIRED, "FILE", "log each request to FILE ('-': stderr)", "@file" },
	{ "log-format", O_LOG_FORMAT, FA_OPT_REQUIRED, "KIND", "access log format: text or json", "text json" },
	{ "jwt-secret", O_JWT_SECRET, FA_OPT_REQUIRED, "FILE", "verify Authorization: Bearer tokens with this key: a secret, PEM, JWK or JWKS (reloaded on SIGHUP)", "@file" },
	{ "jwt-aud", O_JWT_AUD, FA_OPT_REQUIRED, "AUD", "tokens must name AUD in their aud claim", NULL },
	{ "jwt-iss", O_JWT_ISS, FA_OPT_REQUIRED, "ISS", "tokens must have iss ISS", NULL },
	{ "jwt-leeway", O_JWT_LEEWAY, FA_OPT_REQUIRED, "SECONDS", "clock skew allowed on exp and nbf (default 0)", NULL },
	{ "jwt-role-claim", O_JWT_ROLE, FA_OPT_REQUIRED, "PATH", "where the token's role is in its claims (default .role)", NULL },
	{ "anon-role", O_ANON_ROLE, FA_OPT_REQUIRED, "ROLE", "the role of requests without a token (default: they get 401)", NULL },
	{ "auth", O_AUTH, FA_OPT_REQUIRED, "MODE", "routes without '-- auth:' are required (a token) or optional (default optional)", "required optional" },
	{ "static", O_STATIC, FA_OPT_REQUIRED, "DIR", "serve DIR's files (GET, HEAD) where no route matches: index.html, ETag, 304", "@dir" },
	{ "cors", O_CORS, FA_OPT_REQUIRED, "ORIGINS", "allow these origins (comma-separated, or *) with CORS, preflights included", NULL },
	{ "check", O_CHECK, FA_OPT_NONE, NULL, "check the route files, print the routes, and exit", NULL },
	{ "unnamed-statements", O_UNNAMED, FA_OPT_NONE, NULL, "never prepare named statements (for PgBouncer in transaction mode)", NULL },
	{ "complete", O_COMPLETE, FA_OPT_REQUIRED, "N", "print shell completions for the word at index N of the words that follow", NULL },
	{ "help", 'h', FA_OPT_NONE, NULL, "show this help", NULL },
	{ "version", O_VERSION, FA_OPT_NONE, NULL, "show the version", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static const struct fa_opt_tool tool = {
	.name = "fa-serve",
	.usage = "[OPTION]... FILE|DIR...",
	.summary = "Serves annotated SQL files (see fa-sql(5)) as an HTTP API: JSON, NDJSON or CSV\n"
		   "by Accept, parameters bound and type-checked, /live, /ready and /metrics.",
	.opts = options,
	.later = "@file",
	.operands = "@file",
	.footer = "Exit status: 0 success (stopped by SIGTERM or SIGINT after draining), 1 the\n"
		  "server failed, 2 usage error, 3 cannot connect, 4 a route file is unreadable\n"
		  "or malformed, 5 memory limit reached.\n",
};

static int usage_error(const char *msg)
{
	return fa_opt_usage_error(&tool, msg, stderr);
}

/*
 * SIGHUP: a new set replaces the old one whole, or, when a file is
 * broken, the old routes stay.
 */
static void reload(struct app *a)
{
	struct fa_error err = { 0 };

	if (fa_sqlfiles_reload(&a->routes, &err)) {
		fprintf(stderr, "fa-serve: %s\nfa-serve: reload failed; the old routes stay\n", err.msg);
		return;
	}
	fprintf(stderr, "fa-serve: reloaded %zu queries\n", fa_sqlfiles_get(&a->routes)->nqueries);
}

/* New certificates for new connections; open ones keep theirs. */
static void reload_tls(void)
{
	struct fa_error err = { 0 };

	if (!tls_ctx)
		return;
	if (fa_tls_reload(tls_ctx, &err))
		fprintf(stderr, "fa-serve: %s; the old certificate stays\n", err.msg);
	else
		fprintf(stderr, "fa-serve: certificate SHA-256 %s\n", fa_tls_fingerprint(tls_ctx));
}

/* HTTP/3 reads the same files again (a self-signed certificate does not change). */
static void reload_h3(struct app *a)
{
	struct fa_error err = { 0 };

	if (a->server && !h3_self && fa_hserver_reload_h3(a->server, &err))
		fprintf(stderr, "fa-serve: %s; HTTP/3 keeps the old certificate\n", err.msg);
}

/* New keys for new tokens; the cached ones of the old keys are stale. */
static void reload_keys(struct app *a)
{
	struct fa_error err = { 0 };

	if (!a->jwt_file)
		return;
	if (auth_load(a, &err))
		fprintf(stderr, "fa-serve: %s; the old keys stay\n", err.msg);
	else
		fprintf(stderr, "fa-serve: reloaded %d JWT key%s from '%s'\n",
			fa_jwt_keys_count(a->keys->keys), fa_jwt_keys_count(a->keys->keys) == 1 ? "" : "s",
			a->jwt_file);
}

/* SIGHUP, on the server's signal thread. */
static void on_hup(void *a)
{
	reload(a);
	reload_tls();
	reload_h3(a);
	reload_keys(a);
}

static void print_routes(const struct app *a)
{
	const struct fa_sqlfile_set *set = a->routes.cur;

	for (size_t i = 0; i < set->nqueries; i++) {
		const struct fa_query *q = &set->queries[i];

		if (q->method)
			printf("%-6s %-30s %s (%s:%d)\n", q->method, q->path, q->name, q->file, q->line);
	}
}

/* Routes that need a token on a server that can verify none stay closed: say so. */
static void warn_open(const struct app *a)
{
	const struct fa_sqlfile_set *set = a->routes.cur;

	if (a->jwt_file)
		return;
	for (size_t i = 0; i < set->nqueries; i++)
		if (set->queries[i].method && (set->queries[i].auth == FA_AUTH_REQUIRED ||
		    (a->anon_role && a->auth_default == FA_AUTH_REQUIRED &&
		     set->queries[i].auth == FA_AUTH_DEFAULT)))
			fprintf(stderr, "fa-serve: warning: route %s (%s:%d) needs a token, and "
				"without --jwt-secret none verifies: it answers 401\n",
				set->queries[i].name, set->queries[i].file, set->queries[i].line);
}

struct serve_args {
	struct fa_hserver_opts h;
	struct fa_tls_opts tls;
	bool listen_given;
	const char *db;
	const char *access_log;
	const char *static_dir;         /* --static */
	bool check;
};

static int number(const char *opt, const char *arg, long min, long max, long *out)
{
	return fa_opt_number(&tool, opt, arg, min, max, out, stderr);
}

/* What apply() works on: the arguments, the app, and argv for --complete. */
struct parsing {
	struct serve_args *s;
	struct app *a;
	int argc;
	char **argv;
};

static int apply(int key, const char *arg, void *ctx)
{
	struct parsing *ps = ctx;
	struct serve_args *s = ps->s;
	struct app *a = ps->a;
	long n = 0;
	int rc = -1;

	switch (key) {
	case 'l': s->h.listen = arg; s->listen_given = true; break;
	case O_TLS_LISTEN: s->h.tls_listen = arg; break;
	case O_TLS_CERT: s->tls.cert_file = arg; break;
	case O_TLS_KEY: s->tls.key_file = arg; break;
	case O_TLS_SELF: s->tls.self_signed = true; break;
	case O_H3_LISTEN: s->h.h3_listen = arg; break;
	case O_H3_RETRY: s->h.h3_retry = true; break;
	case O_NO_H2: s->h.h2 = false; break;
	case O_H2_STREAMS: if ((rc = number("h2-max-streams", arg, 1, 1L << 20, &n)) < 0) s->h.h2_max_streams = (uint32_t)n; break;
	case O_H2_WINDOW: if ((rc = number("h2-window", arg, 1, 2147483647L, &n)) < 0) s->h.h2_window = (uint32_t)n; break;
	case O_H2_FRAME: if ((rc = number("h2-max-frame", arg, 16384, 16777215L, &n)) < 0) s->h.h2_max_frame = (uint32_t)n; break;
	case O_H2_HEADERS: if ((rc = number("h2-max-header-list", arg, 1024, 1L << 24, &n)) < 0) s->h.h2_max_header_list = (uint32_t)n; break;
	case O_SEND_TO: if ((rc = number("send-timeout", arg, 1, 3600000, &n)) < 0) s->h.send_timeout_ms = (int)n; break;
	case O_WS_PING: if ((rc = number("ws-ping", arg, 0, 86400, &n)) < 0) s->h.ws_ping_ms = (int)n * 1000; break;
	case O_WS_MAX: if ((rc = number("ws-max-message", arg, 1, 1L << 30, &n)) < 0) s->h.ws_max_message = (size_t)n; break;
	case O_COMPRESS_MIN: if ((rc = number("compress-min", arg, 0, 1L << 30, &n)) < 0) s->h.compress_min = (size_t)n; break;
	case O_ZSTD: if ((rc = number("zstd-level", arg, 0, 19, &n)) < 0) s->h.zstd_level = (int)n; break;
	case O_GZIP: if ((rc = number("gzip-level", arg, 0, 9, &n)) < 0) s->h.gzip_level = (int)n; break;
	case 'd': s->db = arg; break;
	case 't': if ((rc = number("threads", arg, 1, 256, &n)) < 0) s->h.threads = (int)n; break;
	case O_POOL: if ((rc = number("pool", arg, 1, 64, &n)) < 0) a->pool_size = (int)n; break;
	case O_POOL_TIMEOUT: if ((rc = number("pool-timeout", arg, 1, 3600000, &n)) < 0) a->pool_timeout_ms = (int)n; break;
	case O_POOL_LIFETIME: if ((rc = number("pool-max-lifetime", arg, 0, 1L << 30, &n)) < 0) a->pool_lifetime_ms = (int)n; break;
	case O_MAX_BODY: if ((rc = number("max-body", arg, 0, 1L << 34, &n)) < 0) s->h.max_body = (size_t)n; break;
	case O_MAX_HEAD: if ((rc = number("max-header", arg, 1024, 1L << 20, &n)) < 0) s->h.max_head = (size_t)n; break;
	case O_HEADER_TO: if ((rc = number("header-timeout", arg, 1, 3600000, &n)) < 0) s->h.header_timeout_ms = (int)n; break;
	case O_BODY_TO: if ((rc = number("body-timeout", arg, 1, 3600000, &n)) < 0) s->h.body_timeout_ms = (int)n; break;
	case O_KA_TO: if ((rc = number("keepalive-timeout", arg, 1, 3600000, &n)) < 0) s->h.keepalive_timeout_ms = (int)n; break;
	case O_KA_REQ: if ((rc = number("keepalive-requests", arg, 1, 1L << 30, &n)) < 0) s->h.keepalive_requests = (int)n; break;
	case O_MAX_CONNS: if ((rc = number("max-conns", arg, 1, 1L << 20, &n)) < 0) s->h.max_conns = (int)n; break;
	case O_ACCESS_LOG: s->access_log = arg; break;
	case O_LOG_FORMAT:
		if (!fa_haccess_format(arg, &a->log_json))
			return usage_error("--log-format takes text or json");
		break;
	case O_CHECK: s->check = true; break;
	case O_UNNAMED: a->unnamed = true; break;
	case O_CORS: a->cors = arg; break;
	case O_STATIC: s->static_dir = arg; break;
	case O_JWT_SECRET: a->jwt_file = arg; break;
	case O_JWT_AUD: a->jwt_rules.aud = arg; break;
	case O_JWT_ISS: a->jwt_rules.iss = arg; break;
	case O_JWT_LEEWAY: if ((rc = number("jwt-leeway", arg, 0, 86400, &n)) < 0) a->jwt_rules.leeway_s = (double)n; break;
	case O_JWT_ROLE: {
		struct fa_error err = { 0 };

		if (fa_jwt_path_check(arg, &err))
			return usage_error(err.msg);
		a->role_claim = arg;
		break;
	}
	case O_ANON_ROLE:
		if (!*arg)
			return usage_error("--anon-role needs a role name");
		a->anon_role = arg;
		break;
	case O_AUTH:
		if (strcmp(arg, "required") && strcmp(arg, "optional"))
			return usage_error("--auth takes required or optional");
		a->auth_default = !strcmp(arg, "required") ? FA_AUTH_REQUIRED : FA_AUTH_OPTIONAL;
		break;
	case O_COMPLETE: return fa_opt_print_completions(&tool, arg, ps->argc - optind, ps->argv + optind, stdout);
	case 'h': return fa_opt_print_usage(&tool, stdout);
	case O_VERSION: printf("fa-serve %s\n", FA_VERSION); return 0;
	}
	return rc;
}

static int parse(struct serve_args *s, struct app *a, int argc, char **argv)
{
	struct parsing ps = { s, a, argc, argv };
	int rc = fa_opt_each(&tool, argc, argv, apply, &ps, stderr);

	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("give the route files (FILE.sql or a directory of them)");
	if (s->h.tls_listen && !s->tls.cert_file && !s->tls.self_signed)
		return usage_error("--tls-listen needs --tls-cert FILE or --tls-self-signed");
	if ((s->tls.cert_file || s->tls.key_file || s->tls.self_signed) && !s->h.tls_listen)
		return usage_error("--tls-cert, --tls-key and --tls-self-signed go with --tls-listen");
	if (s->tls.cert_file && s->tls.self_signed)
		return usage_error("--tls-cert and --tls-self-signed exclude each other");
	if (s->h.h3_retry && !s->h.h3_listen)
		return usage_error("--h3-retry goes with --h3-listen");
	if (s->h.h3_listen && !s->h.tls_listen)
		return usage_error("--h3-listen goes with --tls-listen, whose certificate it uses");
	if (!a->jwt_file && (a->jwt_rules.aud || a->jwt_rules.iss || a->jwt_rules.leeway_s))
		return usage_error("--jwt-aud, --jwt-iss and --jwt-leeway go with --jwt-secret");
	if (s->h.tls_listen && !s->listen_given)
		s->h.listen = NULL;     /* TLS alone unless cleartext is asked for too */
	return -1;
}

/*
 * HTTP/3's TLS is GnuTLS, which reads PEM files: a self-signed
 * certificate is written to a private temporary directory, read once
 * fa_hserver_new() has loaded it, and removed then (h3_tmp_remove()).
 */
static int h3_self_signed(struct serve_args *s)
{
	static char cert[96], key[96];
	const char *tmp = getenv("TMPDIR");
	struct fa_error err = { 0 };

	snprintf(h3_tmp, sizeof(h3_tmp), "%s/fa-serve-h3.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (strlen(h3_tmp) > 40 || !mkdtemp(h3_tmp)) {
		h3_tmp[0] = '\0';
		fprintf(stderr, "fa-serve: no temporary directory for the HTTP/3 certificate\n");
		return FA_EWORK;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", h3_tmp);
	snprintf(key, sizeof(key), "%s/key.pem", h3_tmp);
	if (fa_tls_write_pem(tls_ctx, cert, key, &err)) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		return err.code;
	}
	s->h.h3_cert = cert;
	s->h.h3_key = key;
	h3_self = true;
	return FA_OK;
}

static void h3_tmp_remove(const struct serve_args *s)
{
	if (!h3_tmp[0])
		return;
	unlink(s->h.h3_cert);
	unlink(s->h.h3_key);
	rmdir(h3_tmp);
	h3_tmp[0] = '\0';
}

/* The certificate first: a bad one fails before any database is started. */
static int start_tls(struct serve_args *s)
{
	static const char *const alpn_h2[] = { "h2", "http/1.1", NULL };
	static const char *const alpn_h1[] = { "http/1.1", NULL };
	struct fa_error err = { 0 };

	if (!s->h.tls_listen)
		return FA_OK;
	s->tls.alpn = s->h.h2 ? alpn_h2 : alpn_h1;
	if (!(tls_ctx = s->h.tls = fa_tls_new(&s->tls, &err))) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		return err.code;
	}
	if (s->h.h3_listen && !s->tls.cert_file)
		return h3_self_signed(s);
	s->h.h3_cert = s->tls.cert_file;
	s->h.h3_key = s->tls.key_file;
	return FA_OK;
}

static void say_where(const struct serve_args *s, const struct app *a)
{
	if (s->h.listen)
		fprintf(stderr, "fa-serve: listening on %s (port %d), %d worker%s\n", s->h.listen,
			fa_hserver_port(a->server), s->h.threads, s->h.threads == 1 ? "" : "s");
	if (s->h.tls_listen)
		fprintf(stderr, "fa-serve: TLS on %s (port %d), %d worker%s, certificate SHA-256 %s\n",
			s->h.tls_listen, fa_hserver_tls_port(a->server), s->h.threads,
			s->h.threads == 1 ? "" : "s", fa_tls_fingerprint(tls_ctx));
	if (s->h.h3_listen)
		fprintf(stderr, "fa-serve: HTTP/3 on %s (UDP port %d)\n", s->h.h3_listen,
			fa_hserver_h3_port(a->server));
}

static int serve(struct serve_args *s, struct app *a)
{
	struct fa_error err = { 0 };
	struct fa_buf note;
	int rc;

	if ((rc = start_tls(s))) {
		h3_tmp_remove(s);
		return rc;
	}
	fa_buf_init(&note, 4096);
	rc = fa_pg_target_resolve(&a->target, s->db, environ, &note, &err);
	if (note.len)
		fprintf(stderr, "fa-serve: %s\n", note.data);
	fa_buf_release(&note);
	if (!rc)
		rc = fa_pg_target_check(&a->target, &err);
	if (!rc && !(a->server = fa_hserver_new(&s->h, &err)))
		rc = err.code;
	h3_tmp_remove(s);
	if (rc) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		goto out;
	}
	a->nworkers = s->h.threads;
	a->workers = calloc((size_t)a->nworkers, sizeof(*a->workers));
	say_where(s, a);
	rc = fa_hserver_run_signals(a->server, on_hup, a);
out:
	fa_hserver_free(a->server);
	free(a->workers);
	fa_pg_target_release(&a->target);
	fa_tls_free(tls_ctx);                   /* after every connection is gone */
	tls_ctx = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	struct app a = { .pool_size = 2, .pool_timeout_ms = FA_POOL_TIMEOUT_MS, .role_claim = ".role",
			 .auth_default = FA_AUTH_OPTIONAL };
	struct serve_args s = { .h = {
		.listen = "127.0.0.1:8080", .max_head = 16384, .max_body = 1 << 20,
		.header_timeout_ms = 60000, .body_timeout_ms = 60000,
		.keepalive_timeout_ms = 75000, .keepalive_requests = 1000, .max_conns = 10000,
		.send_timeout_ms = 60000, .h2 = true, .zstd_level = 3, .gzip_level = 6,
		.compress_min = 1024, .ws_ping_ms = 30000, .ws_max_message = 1 << 20, .ws_deflate = true,
		.server_name = "fa-serve", .handler = serve_handle, .init_worker = serve_init_worker,
		.done_worker = serve_done_worker, .on_done = serve_done } };
	sigset_t block;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct fa_error err = { 0 };
	int rc;

	setlocale(LC_ALL, "");
	s.h.threads = cores > 0 ? (int)cores : 1;
	s.h.app = &a;
	if ((rc = parse(&s, &a, argc, argv)) >= 0)
		return rc;
	rc = 0;
	if (fa_sqlfiles_init(&a.routes, argv + optind, argc - optind, &err)) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		return FA_EINPUT;
	}
	if (auth_load(&a, &err)) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		rc = err.code;
		goto out;
	}
	warn_open(&a);
	if (s.check) {
		print_routes(&a);
		goto out;
	}
	if (s.static_dir && !(a.files = fa_hstatic_new(s.static_dir, &err))) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		rc = err.code;
		goto out;
	}
	if (s.access_log && !(a.access_log = fa_haccess_open(s.access_log, &err))) {
		fprintf(stderr, "fa-serve: %s\n", err.msg);
		rc = err.code;
		goto out;
	}
	/* blocked from the start (none is lost before the server runs), then taken
	   by the signal thread of fa_hserver_run_signals() */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = serve(&s, &a);
out:
	fa_haccess_close(a.access_log);
	fa_hstatic_free(a.files);
	fa_sqlfiles_release(&a.routes);
	auth_release(&a);
	return rc;
}
