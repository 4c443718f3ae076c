/*
 * fa-pg: the interactive shell.  readline's callback interface runs under
 * our own poll(), so Ctrl-C at the prompt clears the line and the query
 * buffer, and Ctrl-C during a query cancels the query, never the shell.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "core/env.h"
#include "fapg.h"
#include "script.h"

#define HISTORY_MAX 2000

struct shell {
	struct session *s;
	struct script sc;
	struct fa_buf entry;            /* lines of the statement being typed */
	char history[1024];
	char prompt[256];
	int lineno;
	bool quit;
	bool got_line;
	char *line;
};

/* readline's callbacks carry no context: one shell per process. */
static struct shell *sh;

static const char *const keywords[] = {
	"ABORT", "ALTER", "ANALYZE", "AND", "AS", "ASC", "BEGIN", "BETWEEN", "BY", "CASCADE",
	"CASE", "CHECKPOINT", "COMMENT", "COMMIT", "CONSTRAINT", "COPY", "CREATE", "CROSS",
	"DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXCEPT", "EXISTS",
	"EXPLAIN", "FALSE", "FETCH", "FOREIGN", "FROM", "FULL", "FUNCTION", "GRANT", "GROUP",
	"HAVING", "IN", "INDEX", "INNER", "INSERT", "INTERSECT", "INTO", "IS", "JOIN", "KEY",
	"LATERAL", "LEFT", "LIKE", "LIMIT", "LISTEN", "LOCK", "MATERIALIZED", "NOT", "NOTIFY",
	"NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER", "OVER", "PARTITION", "PREPARE",
	"PRIMARY", "REFERENCES", "REFRESH", "REINDEX", "RELEASE", "RETURNING", "REVOKE",
	"RIGHT", "ROLLBACK", "SAVEPOINT", "SCHEMA", "SELECT", "SEQUENCE", "SET", "SHOW",
	"TABLE", "THEN", "TRUE", "TRUNCATE", "UNION", "UNIQUE", "UNLISTEN", "UPDATE", "USING",
	"VACUUM", "VALUES", "VIEW", "WHEN", "WHERE", "WINDOW", "WITH", NULL
};

static const char *const metas[] = {
	"\\?", "\\bench", "\\c", "\\conninfo", "\\d", "\\d+", "\\df", "\\di", "\\dn", "\\ds",
	"\\dt", "\\dt+", "\\du", "\\dv", "\\echo", "\\errverbose", "\\g", "\\gset", "\\i",
	"\\l", "\\l+", "\\o", "\\p", "\\parallel", "\\pset", "\\q", "\\r", "\\set", "\\timing",
	"\\unset", "\\watch", "\\x", NULL
};

/*
 * Completion candidates, refreshed from the catalog after each statement:
 * relations (quoted where they need it) and, separately, columns.
 */
struct words {
	char **w;
	int n;
};

static struct {
	struct words rels, cols;
	bool stale;
} cat = { .stale = true };

static void words_free(struct words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->w[i]);
	free(w->w);
	w->w = NULL;
	w->n = 0;
}

static void words_load(struct session *s, struct words *w, const char *sql)
{
	PGresult *r = PQexec(s->conn, sql);

	words_free(w);
	if (PQresultStatus(r) == PGRES_TUPLES_OK &&
	    (w->w = calloc((size_t)PQntuples(r) + 1, sizeof(char *))))
		for (int i = 0; i < PQntuples(r); i++)
			w->w[w->n++] = strdup(PQgetvalue(r, i, 0));
	PQclear(r);
}

#define USER_SCHEMAS "n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' " \
	"AND n.nspname !~ '^pg_toast'"

static void catalog_refresh(struct session *s)
{
	if (!cat.stale)
		return;
	cat.stale = false;
	words_load(s, &cat.rels,
		   "SELECT pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c "
		   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
		   "('r','p','v','m','f','S') AND pg_catalog.pg_table_is_visible(c.oid) AND "
		   USER_SCHEMAS " UNION SELECT pg_catalog.quote_ident(n.nspname) || '.' || "
		   "pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c "
		   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
		   "('r','p','v','m','f') AND " USER_SCHEMAS " LIMIT 10000");
	words_load(s, &cat.cols,
		   "SELECT DISTINCT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a "
		   "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n "
		   "ON n.oid = c.relnamespace WHERE a.attnum > 0 AND NOT a.attisdropped AND "
		   "c.relkind IN ('r','p','v','m','f') AND pg_catalog.pg_table_is_visible(c.oid) AND "
		   USER_SCHEMAS " LIMIT 10000");
}

/* The word before position start, as [*b, *e). */
static void previous_word(const char *buf, int start, int *b, int *e)
{
	*e = start;
	while (*e > 0 && isspace((unsigned char)buf[*e - 1]))
		(*e)--;
	*b = *e;
	while (*b > 0 && !isspace((unsigned char)buf[*b - 1]))
		(*b)--;
}

static bool after_relation_word(const char *buf, int start)
{
	static const char *const rel[] = { "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "\\d",
					   "\\dt", "\\d+", "\\dv", "\\di", "TRUNCATE", NULL };
	int b, e;

	previous_word(buf, start, &b, &e);
	for (int i = 0; rel[i]; i++)
		if ((int)strlen(rel[i]) == e - b && strncasecmp(buf + b, rel[i], (size_t)(e - b)) == 0)
			return true;
	return false;
}

/* What a word may be, from where it stands. */
enum context { C_META, C_START, C_RELATION, C_ANY };
static enum context gen_ctx;
static int gen_index, gen_phase;

/* Case-insensitive prefix match that looks through a candidate's opening quote. */
static bool matches(const char *cand, const char *text, size_t n)
{
	if (cand[0] == '"' && text[0] != '"')
		cand++;
	return strncasecmp(cand, text, n) == 0;
}

static const char *const *phase_list(int phase, int *count)
{
	*count = 1 << 30;
	switch (phase) {
	case 0: return metas;
	case 1: return keywords;
	case 2: *count = cat.rels.n; return (const char *const *)cat.rels.w;
	default: *count = cat.cols.n; return (const char *const *)cat.cols.w;
	}
}

/* Phases: 0 metas, 1 keywords, 2 relations, 3 columns; the context picks a range. */
static char *generate(const char *text, int state)
{
	static const int first[] = { 0, 1, 2, 1 }, last[] = { 0, 1, 2, 3 };
	size_t n = strlen(text);
	bool lower = n && islower((unsigned char)text[0]);
	int count;

	if (!state) {
		gen_index = 0;
		gen_phase = first[gen_ctx];
	}
	for (; gen_phase <= last[gen_ctx]; gen_phase++, gen_index = 0) {
		const char *const *list = phase_list(gen_phase, &count);

		for (; list && gen_index < count && list[gen_index]; gen_index++) {
			const char *w = list[gen_index];
			char *c;

			if (!matches(w, text, n))
				continue;
			gen_index++;
			c = strdup(w);
			if (gen_phase == 1 && lower)
				for (char *p = c; *p; p++)
					*p = (char)tolower((unsigned char)*p);
			return c;
		}
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	int b, e;

	rl_attempted_completion_over = 1;
	previous_word(rl_line_buffer, start, &b, &e);
	if (text[0] == '\\')
		gen_ctx = C_META;
	else if (after_relation_word(rl_line_buffer, start))
		gen_ctx = C_RELATION;
	else if (b == e && fa_sqlsplit_state(&sh->sc.split) == '=')
		gen_ctx = C_START;      /* the first word of a statement */
	else
		gen_ctx = C_ANY;
	catalog_refresh(sh->s);
	return rl_completion_matches(text, generate);
}

static void make_prompt(struct shell *x)
{
	struct session *s = x->s;
	char state = fa_sqlsplit_state(&x->sc.split);
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);
	const char *su = PQparameterStatus(s->conn, "is_superuser");

	if (PQstatus(s->conn) != CONNECTION_OK) {
		/* psql's prompt without a connection: no database, '!', '?' */
		snprintf(x->prompt, sizeof(x->prompt), "!?> ");
		return;
	}
	snprintf(x->prompt, sizeof(x->prompt), "%s%c%s%c ", PQdb(s->conn), state,
		 ts == PQTRANS_INTRANS ? "*" : ts == PQTRANS_INERROR ? "!" : "",
		 su && !strcmp(su, "on") ? '#' : '>');
}

static void on_line(char *line)
{
	sh->got_line = true;
	sh->line = line;
	rl_callback_handler_remove();
}

/*
 * After each line: wait for -j/\\parallel work, then reset a connection
 * just lost (once: after a failed reset the next statement tries again),
 * or keep a copy of the settings a SET changed.
 */
static void after_line(struct shell *x)
{
	struct session *s = x->s;

	script_drain(&x->sc);
	x->sc.stop = x->sc.quit;        /* -j work lost its connection: the next line runs */
	out_end(s);
	interrupted = 0;
	cat.stale = true;
	if (s->lost || (PQstatus(s->conn) == CONNECTION_BAD && !s->reset_failed))
		session_reset(s);
	else if (PQstatus(s->conn) == CONNECTION_OK)
		settings_snapshot(&s->settings, s->conn);
}

/*
 * A lost connection stops the line: what follows it on the line (a
 * COMMIT, say) must not run in a new session.  Returns how many
 * statements and meta-commands were dropped, the unfinished one included.
 */
static int drop_rest_of_line(struct shell *x)
{
	struct fa_sql_item it;
	const char *rest;
	int n = 0, got;

	while ((got = fa_sqlsplit_next(&x->sc.split, &it)) != 0)
		if (got > 0) {
			free(it.text);
			n++;
		}
	if ((rest = fa_sqlsplit_pending(&x->sc.split, NULL)))
		while (*rest && isspace((unsigned char)*rest))
			rest++;
	if (rest && *rest)
		n++;
	fa_sqlsplit_reset(&x->sc.split);
	x->sc.stop = false;
	return n;
}

/* A statement typed over several lines is one history entry. */
static void add_history_entry(struct shell *x)
{
	if (fa_sqlsplit_state(&x->sc.split) == '=' && x->entry.len) {
		add_history(x->entry.data);
		fa_buf_reset(&x->entry);
	}
}

static void handle_line(struct shell *x, char *line)
{
	int dropped = 0;

	if (!line) {            /* Ctrl-D */
		printf("\\q\n");
		x->quit = true;
		return;
	}
	if (!strcmp(line, "help")) {
		printf("You are using fa-pg, a PostgreSQL shell.\n"
		       "Type:  \\? for help with fa-pg commands\n"
		       "       \\q to quit\n"
		       "       SQL statements end with a semicolon\n");
		free(line);
		return;
	}
	if (!strcmp(line, "quit") || !strcmp(line, "exit")) {
		x->quit = true;
		free(line);
		return;
	}
	if (x->entry.len)
		fa_buf_putc(&x->entry, '\n');
	fa_buf_puts(&x->entry, line);
	session_term_size(x->s);
	script_feed(&x->sc, line, strlen(line), ++x->lineno);
	if (x->sc.stop && !x->sc.quit)
		dropped = drop_rest_of_line(x);
	free(line);
	add_history_entry(x);
	after_line(x);
	if (dropped)
		fprintf(stderr, "fa-pg: the rest of the line was not run (%d more)\n", dropped);
	x->quit = x->sc.quit;
}

static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	resized = 1;
}

/* poll() is interrupted by a resize; readline then learns the new size. */
static void catch_resize(void)
{
	struct sigaction sa = { .sa_handler = on_winch };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

/* Waits for one line; Ctrl-C clears the line and the query buffer. */
static char *read_line(struct shell *x, bool *eof)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };

	make_prompt(x);
	x->got_line = false;
	rl_callback_handler_install(x->prompt, on_line);
	while (!x->got_line) {
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR && resized) {
				resized = 0;
				rl_resize_terminal();
			}
			if (errno == EINTR && interrupted) {
				interrupted = 0;
				rl_free_line_state();
				rl_callback_sigcleanup();
				rl_callback_handler_remove();
				fa_sqlsplit_reset(&x->sc.split);
				fa_buf_reset(&x->entry);
				printf("\n");
				make_prompt(x);
				rl_callback_handler_install(x->prompt, on_line);
			}
			continue;
		}
		rl_callback_read_char();
	}
	*eof = x->line == NULL;
	return x->line;
}

/*
 * A statement typed over several lines is one history entry; the history
 * file holds one entry per line, so newlines are stored as \\x01 (as psql does).
 */
static void history_swap(char from, char to)
{
	HIST_ENTRY **list = history_list();

	for (int i = 0; list && list[i]; i++)
		for (char *p = list[i]->line; *p; p++)
			if (*p == from)
				*p = to;
}

static void history_path(struct shell *x)
{
	const char *p = fa_env_nonempty(x->s->envp, "FA_PG_HISTORY");
	const char *home = fa_env_nonempty(x->s->envp, "HOME");

	if (p)
		snprintf(x->history, sizeof(x->history), "%s", p);
	else if (home)
		snprintf(x->history, sizeof(x->history), "%s/.fa_pg_history", home);
}

enum fa_err run_shell(struct session *s)
{
	struct shell x = { .s = s };
	const char *sv = PQparameterStatus(s->conn, "server_version");
	bool eof = false;

	sh = &x;
	fa_buf_init(&x.entry, 0);
	script_init(&x.sc, s, NULL);
	x.sc.keep_going = true;
	rl_catch_signals = 0;
	signal(SIGPIPE, SIG_IGN);       /* a pager quit early is no reason to die */
	catch_resize();
	s->use_pager = isatty(1);
	session_term_size(s);
	rl_readline_name = "fa-pg";
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t\n(),;=<>";
	history_path(&x);
	using_history();
	stifle_history(HISTORY_MAX);
	if (x.history[0] && read_history(x.history) == 0)
		history_swap('\x01', '\n');
	printf("fa-pg %s (server %s)\nType \\? for help, \\q to quit.\n\n", FA_VERSION,
	       sv ? sv : "?");
	while (!x.quit) {
		char *line = read_line(&x, &eof);

		handle_line(&x, eof ? NULL : line);
	}
	history_swap('\n', '\x01');
	if (x.history[0] && write_history(x.history) != 0)
		fprintf(stderr, "fa-pg: cannot write history to '%s'\n", x.history);
	fa_sqlsplit_reset(&x.sc.split);        /* like psql: Ctrl-D drops an unfinished statement */
	script_finish(&x.sc, x.lineno);
	fa_buf_release(&x.entry);
	words_free(&cat.rels);
	words_free(&cat.cols);
	return FA_OK;
}
