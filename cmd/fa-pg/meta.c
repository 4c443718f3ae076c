/* fa-pg: meta-commands (the backslash commands psql users type every day). */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fapg.h"
#include "pg/sqlsplit.h"
#include "core/opt.h"

static const char help_text[] =
	"General\n"
	"  \\q                      quit\n"
	"  \\? [commands]           this help\n"
	"  \\echo [TEXT]            print TEXT\n"
	"  \\errverbose             show the last error in full\n"
	"Query buffer\n"
	"  \\g [FILE]               run the query buffer (or the last query), to FILE\n"
	"  \\gset [PREFIX]          run it and store the one row's columns in variables\n"
	"  \\watch [SEC]            run it every SEC seconds (default 2) until Ctrl-C\n"
	"  \\p                      show the query buffer\n"
	"  \\r                      reset (clear) the query buffer\n"
	"Input/output\n"
	"  \\i FILE                 run the script in FILE\n"
	"  \\o [FILE]               send results to FILE, or back to stdout\n"
	"Informational (+ adds detail, S includes system objects)\n"
	"  \\d[S+] [NAME]           list relations, or describe table/view/index/sequence\n"
	"  \\dt[S+] \\di[S+] \\dv[S+] \\ds[S+] [PATTERN]  tables, indexes, views, sequences\n"
	"  \\df[S+] [PATTERN]       functions\n"
	"  \\dn[S+] [PATTERN]       schemas\n"
	"  \\du[S+] [PATTERN]       roles\n"
	"  \\l[+] [PATTERN]         databases\n"
	"Formatting\n"
	"  \\x [on|off|auto]        expanded output\n"
	"  \\pset format|null|tuples_only|expanded [VALUE]\n"
	"  \\timing [on|off]        show each statement's time (and p50/p99 per statement)\n"
	"Connection\n"
	"  \\c [DBNAME [USER]]      connect to another database\n"
	"  \\conninfo               where you are connected\n"
	"Variables\n"
	"  \\set [NAME [VALUE]]     set a variable, or list them all\n"
	"  \\unset NAME             unset a variable\n"
	"  use them as :NAME, :'NAME' (a literal) or :\"NAME\" (an identifier)\n"
	"Pool\n"
	"  \\bench [-c CONNS] [-T SECS | -n N] SQL\n"
	"                          run SQL over CONNS connections: tps and latency percentiles\n"
	"  \\parallel [N]           run the following statements over N connections\n";

char *meta_arg(const char **p)
{
	const char *s = *p;
	struct fa_buf b;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "");
	while (*s && !isspace((unsigned char)*s)) {
		if (*s == '\'') {
			for (s++; *s && !(*s == '\'' && s[1] != '\''); s++) {
				if (*s == '\'')
					s++;        /* '' inside quotes */
				fa_buf_putc(&b, *s);
			}
			if (*s)
				s++;
		} else {
			fa_buf_putc(&b, *s++);
		}
	}
	*p = s;
	return fa_buf_detach(&b, NULL);
}

static void say(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->quiet)
		return;
	va_start(ap, fmt);
	fa_buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	out_flush(s);
}

static enum fa_err meta_usage(const char *cmd, const char *what)
{
	fprintf(stderr, "fa-pg: \\%s: %s\n", cmd, what);
	return FA_EUSAGE;
}

/* on/off/toggle for \timing and \x; returns -1 when value is not a boolean. */
static int parse_onoff(const char *v, int current)
{
	if (!v)
		return !current;
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static enum fa_err cmd_expanded(struct session *s, const char *v)
{
	int x = v && !strcmp(v, "auto") ? 2 : parse_onoff(v, s->fmt.expanded != 0);

	if (x < 0)
		return meta_usage("x", "takes on, off or auto");
	s->fmt.expanded = x;
	say(s, "Expanded display is %s.\n", x == 2 ? "used automatically" : x ? "on" : "off");
	return FA_OK;
}

static const char *const format_names[] = { "table", "csv", "tsv", "json", "ndjson" };

static enum fa_err cmd_pset(struct session *s, const char *args)
{
	char *name = meta_arg(&args), *val = meta_arg(&args);
	enum fa_err rc = FA_OK;
	int k;

	if (!name) {
		rc = meta_usage("pset", "takes format, null, tuples_only or expanded");
	} else if (!strcmp(name, "format")) {
		if (val && (k = fa_fmt_kind_parse(val)) >= 0)
			s->fmt.kind = (enum fa_fmt_kind)k;
		else if (val)
			rc = meta_usage("pset", "format is table, csv, tsv, json or ndjson");
		if (!rc)
			say(s, "Output format is %s.\n", format_names[s->fmt.kind]);
	} else if (!strcmp(name, "null")) {
		snprintf(s->fmt_null, sizeof(s->fmt_null), "%s", val ? val : "");
		say(s, "Null display is \"%s\".\n", s->fmt_null);
	} else if (!strcmp(name, "tuples_only")) {
		s->fmt.header = s->fmt.footer = parse_onoff(val, !s->fmt.header) == 0;
		say(s, "Tuples only is %s.\n", s->fmt.header ? "off" : "on");
	} else if (!strcmp(name, "expanded") || !strcmp(name, "x")) {
		rc = cmd_expanded(s, val);
	} else {
		rc = meta_usage("pset", "unknown option (format, null, tuples_only, expanded)");
	}
	free(name);
	free(val);
	return rc;
}

static enum fa_err cmd_set(struct session *s, const char *args)
{
	char *name = meta_arg(&args), *v;
	struct fa_buf val;

	if (!name) {
		for (int i = 0; i < s->vars.n; i++)
			fa_buf_printf(&s->out, "%s = '%s'\n", s->vars.v[i].name, s->vars.v[i].value);
		out_flush(s);
		return FA_OK;
	}
	if (!vars_valid_name(name)) {
		free(name);
		return meta_usage("set", "variable names are letters, digits and underscores");
	}
	fa_buf_init(&val, 0);
	fa_buf_puts(&val, "");
	while ((v = meta_arg(&args))) {
		fa_buf_puts(&val, v);
		free(v);
	}
	vars_set(&s->vars, name, val.data);
	fa_buf_release(&val);
	free(name);
	return FA_OK;
}

static enum fa_err cmd_output(struct session *s, const char *args)
{
	char *file = meta_arg(&args);
	int fd = 1;

	out_flush(s);
	if (file && (fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "fa-pg: cannot open '%s': %s\n", file, strerror(errno));
		free(file);
		return FA_EINPUT;
	}
	if (s->out_fd > 2)
		close(s->out_fd);
	s->out_fd = fd;
	free(file);
	return FA_OK;
}

static enum fa_err cmd_include(struct session *s, const char *args)
{
	char *file = meta_arg(&args);
	enum fa_err rc;
	FILE *f;

	if (!file)
		return meta_usage("i", "needs a file name");
	if (!(f = fopen(file, "r"))) {
		fprintf(stderr, "fa-pg: cannot open '%s': %s\n", file, strerror(errno));
		free(file);
		return FA_EINPUT;
	}
	rc = run_script(s, f, file);
	fclose(f);
	free(file);
	return rc;
}

/* The query for \g, \gset, \watch: the buffer, else the last one run. */
static const char *buffer_or_last(struct session *s, char **query)
{
	const char *q = query && *query ? *query : NULL;

	while (q && isspace((unsigned char)*q))
		q++;
	if (q && *q)
		return q;
	return s->last_query;
}

static void remember(struct session *s, const char *q)
{
	if (q != s->last_query) {
		free(s->last_query);
		s->last_query = strdup(q);
	}
}

static enum fa_err cmd_go(struct session *s, const char *args, char **query, const char *where)
{
	const char *q = buffer_or_last(s, query);
	char *file = meta_arg(&args);
	int saved = s->out_fd;
	enum fa_err rc;

	if (!q) {
		free(file);
		return meta_usage("g", "the query buffer is empty");
	}
	remember(s, q);
	q = s->last_query;
	if (file) {
		out_flush(s);
		s->out_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->out_fd < 0) {
			fprintf(stderr, "fa-pg: cannot open '%s': %s\n", file, strerror(errno));
			s->out_fd = saved;
			free(file);
			return FA_EINPUT;
		}
	}
	rc = run_statement(s, q, where);
	if (file) {
		out_flush(s);
		close(s->out_fd);
		s->out_fd = saved;
	}
	free(file);
	return rc;
}

static enum fa_err cmd_gset(struct session *s, const char *args, char **query)
{
	const char *q = buffer_or_last(s, query);
	char *prefix = meta_arg(&args);
	enum fa_err rc = FA_OK;
	PGresult *r;

	if (!q) {
		free(prefix);
		return meta_usage("gset", "the query buffer is empty");
	}
	remember(s, q);
	if (session_ready(s) == FA_ECONNECT) {
		free(prefix);
		return FA_ECONNECT;
	}
	r = PQexecParams(s->conn, s->last_query, fa_sql_max_param(s->last_query), NULL, s->params,
			 NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		report_error(s, r, s->last_query, NULL);
		rc = FA_EWORK;
	} else if (PQntuples(r) != 1) {
		fprintf(stderr, "fa-pg: \\gset: %s rows returned\n", PQntuples(r) ? "more than one" : "no");
		rc = FA_EWORK;
	} else {
		for (int c = 0; c < PQnfields(r); c++) {
			char name[256];

			snprintf(name, sizeof(name), "%s%s", prefix ? prefix : "", PQfname(r, c));
			vars_set(&s->vars, name, PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c));
		}
	}
	PQclear(r);
	free(prefix);
	return rc;
}

static enum fa_err cmd_watch(struct session *s, const char *args, char **query, const char *where)
{
	const char *q = buffer_or_last(s, query);
	char *sec = meta_arg(&args), stamp[64];
	double every = sec ? strtod(sec, NULL) : 2.0;
	enum fa_err rc = FA_OK;
	struct timespec ts;
	time_t now;

	free(sec);
	if (!q)
		return meta_usage("watch", "the query buffer is empty");
	if (every <= 0)
		every = 2.0;
	remember(s, q);
	while (!interrupted && rc == FA_OK) {
		now = time(NULL);
		strftime(stamp, sizeof(stamp), "%c", localtime(&now));
		fa_buf_printf(&s->out, "%s (every %gs)\n\n", stamp, every);
		rc = run_statement(s, s->last_query, where);
		ts.tv_sec = (time_t)every;
		ts.tv_nsec = (long)((every - (double)ts.tv_sec) * 1e9);
		while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	interrupted = 0;
	return rc == FA_EINTR ? FA_OK : rc;
}

static enum fa_err cmd_echo(struct session *s, const char *args)
{
	char *a;
	bool first = true;

	while ((a = meta_arg(&args))) {
		fa_buf_printf(&s->out, "%s%s", first ? "" : " ", a);
		first = false;
		free(a);
	}
	fa_buf_putc(&s->out, '\n');
	out_flush(s);
	return FA_OK;
}

static enum fa_err cmd_connect(struct session *s, const char *args)
{
	char *db = meta_arg(&args), *user = meta_arg(&args);
	const char *keys[] = { "host", "port", "user", "dbname", "fallback_application_name", NULL };
	const char *vals[] = { PQhost(s->conn), PQport(s->conn), user ? user : PQuser(s->conn),
			       db ? db : PQdb(s->conn), "fa-pg", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	enum fa_err rc = FA_OK;
	char msg[512];

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fa-pg: \\c: %s\nPrevious connection kept\n",
			fa_pg_conn_message(c, msg, sizeof(msg)));
		PQfinish(c);
		rc = FA_ECONNECT;
	} else {
		PQfinish(s->conn);
		s->conn = c;
		/* another database, other type OIDs */
		fa_pgtypes_free(s->types);
		s->types = NULL;
		/* a new session: nothing of the old one to restore or report */
		settings_release(&s->settings);
		s->lost = s->reset_failed = false;
		s->lost_note = NULL;
		s->txn = PQTRANS_IDLE;
		say(s, "You are now connected to database \"%s\" as user \"%s\".\n", PQdb(c), PQuser(c));
	}
	free(db);
	free(user);
	return rc;
}

static enum fa_err cmd_conninfo(struct session *s)
{
	const char *host = PQhost(s->conn);

	if (host && host[0] == '/')
		say(s, "You are connected to database \"%s\" as user \"%s\" via socket in \"%s\" at port \"%s\".\n",
		    PQdb(s->conn), PQuser(s->conn), host, PQport(s->conn));
	else
		say(s, "You are connected to database \"%s\" as user \"%s\" on host \"%s\" at port \"%s\".\n",
		    PQdb(s->conn), PQuser(s->conn), host ? host : "", PQport(s->conn));
	return FA_OK;
}

static enum fa_err cmd_parallel(struct session *s, const char *args)
{
	char *n = meta_arg(&args);
	struct fa_error err = { 0 };
	long v = 1;

	if (n && fa_opt_int("parallel", n, 1, 256, &v, &err)) {
		free(n);
		return meta_usage("parallel", "takes a number of connections from 1 to 256");
	}
	free(n);
	s->jobs = (int)v;
	say(s, v > 1 ? "Statements now run over %ld connections.\n" :
	    "Statements now run one at a time.\n", v);
	return FA_OK;
}

/* The command word: letters, then an optional S and/or +. */
static size_t command_word(const char *cmd)
{
	size_t n = 0;

	while (cmd[n] && !isspace((unsigned char)cmd[n]))
		n++;
	return n;
}

static enum fa_err dispatch_more(struct session *s, const char *name, const char *args,
				 char **query, const char *where)
{
	if (!strcmp(name, "g"))
		return cmd_go(s, args, query, where);
	if (!strcmp(name, "gset"))
		return cmd_gset(s, args, query);
	if (!strcmp(name, "watch"))
		return cmd_watch(s, args, query, where);
	if (!strcmp(name, "i") || !strcmp(name, "include"))
		return cmd_include(s, args);
	if (!strcmp(name, "o") || !strcmp(name, "out"))
		return cmd_output(s, args);
	if (!strcmp(name, "c") || !strcmp(name, "connect"))
		return cmd_connect(s, args);
	if (!strcmp(name, "conninfo"))
		return cmd_conninfo(s);
	if (!strcmp(name, "bench"))
		return pool_bench(s, args);
	if (!strcmp(name, "parallel"))
		return cmd_parallel(s, args);
	if (name[0] == 'd' || name[0] == 'l') {
		char *pat = meta_arg(&args);
		enum fa_err rc = describe(s, name, pat);

		free(pat);
		return rc;
	}
	fprintf(stderr, "fa-pg: invalid command \\%s\nTry \\? for help.\n", name);
	return FA_EUSAGE;
}

enum fa_err run_meta(struct session *s, const char *cmd, char **query, const char *where,
		     bool *quit)
{
	size_t n = command_word(cmd);
	const char *args = cmd + n;
	char name[32], *a;

	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), cmd);
	if (!strcmp(name, "q") || !strcmp(name, "quit")) {
		*quit = true;
		return FA_OK;
	}
	if (!strcmp(name, "?")) {
		out_write(s, help_text, sizeof(help_text) - 1);
		out_flush(s);
		return FA_OK;
	}
	if (!strcmp(name, "x")) {
		enum fa_err rc;

		a = meta_arg(&args);
		rc = cmd_expanded(s, a);
		free(a);
		return rc;
	}
	if (!strcmp(name, "timing")) {
		int t;

		a = meta_arg(&args);
		t = parse_onoff(a, s->timing);
		free(a);
		if (t < 0)
			return meta_usage("timing", "takes on or off");
		s->timing = t;
		say(s, "Timing is %s.\n", t ? "on" : "off");
		return FA_OK;
	}
	if (!strcmp(name, "pset"))
		return cmd_pset(s, args);
	if (!strcmp(name, "set"))
		return cmd_set(s, args);
	if (!strcmp(name, "unset")) {
		if (!(a = meta_arg(&args)))
			return meta_usage("unset", "needs a variable name");
		vars_set(&s->vars, a, NULL);
		free(a);
		return FA_OK;
	}
	if (!strcmp(name, "echo"))
		return cmd_echo(s, args);
	if (!strcmp(name, "errverbose")) {
		if (s->last_error_verbose)
			fputs(s->last_error_verbose, stderr);
		else
			fprintf(stderr, "There is no previous error.\n");
		return FA_OK;
	}
	if (!strcmp(name, "r") || !strcmp(name, "reset")) {
		if (query && *query)
			**query = '\0';
		say(s, "Query buffer reset (cleared).\n");
		return FA_OK;
	}
	if (!strcmp(name, "p") || !strcmp(name, "print")) {
		const char *q = buffer_or_last(s, query);

		fa_buf_printf(&s->out, "%s\n", q ? q : "Query buffer is empty.");
		out_flush(s);
		return FA_OK;
	}
	return dispatch_more(s, name, args, query, where);
}
