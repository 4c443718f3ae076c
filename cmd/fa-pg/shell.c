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

#include "env.h"
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

/* Completion candidates, refreshed from the catalog after each statement. */
static struct {
	char **words;
	int n;
	bool stale;
} cat = { NULL, 0, true };

static void catalog_refresh(struct session *s)
{
	PGresult *r;

	if (!cat.stale)
		return;
	for (int i = 0; i < cat.n; i++)
		free(cat.words[i]);
	free(cat.words);
	cat.words = NULL;
	cat.n = 0;
	cat.stale = false;
	r = PQexec(s->conn,
		   "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind IN "
		   "('r','p','v','m','f','S') AND pg_catalog.pg_table_is_visible(c.oid) "
		   "UNION SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
		   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
		   "('r','p','v','m','f') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' "
		   "UNION SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
		   "ON c.oid = a.attrelid WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN "
		   "('r','p','v','m','f') AND pg_catalog.pg_table_is_visible(c.oid) LIMIT 20000");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && (cat.words = calloc((size_t)PQntuples(r) + 1,
									 sizeof(char *)))) {
		for (int i = 0; i < PQntuples(r); i++)
			cat.words[cat.n++] = strdup(PQgetvalue(r, i, 0));
	}
	PQclear(r);
}

static bool after_relation_word(const char *buf, int start)
{
	static const char *const rel[] = { "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "\\d",
					   "\\dt", "\\d+", "\\dv", "\\di", "TRUNCATE", NULL };
	int e = start, b;

	while (e > 0 && isspace((unsigned char)buf[e - 1]))
		e--;
	b = e;
	while (b > 0 && !isspace((unsigned char)buf[b - 1]))
		b--;
	for (int i = 0; rel[i]; i++)
		if ((int)strlen(rel[i]) == e - b && strncasecmp(buf + b, rel[i], (size_t)(e - b)) == 0)
			return true;
	return false;
}

static int gen_index, gen_phase;
static bool gen_meta, gen_rel_only;

static char *generate(const char *text, int state)
{
	size_t n = strlen(text);
	bool lower = n && islower((unsigned char)text[0]);

	if (!state) {
		gen_index = 0;
		gen_phase = gen_meta ? 0 : gen_rel_only ? 2 : 1;
	}
	for (; gen_phase <= 2; gen_phase++, gen_index = 0) {
		const char *const *list = gen_phase == 0 ? metas : gen_phase == 1 ? keywords :
			(const char *const *)cat.words;
		int count = gen_phase == 2 ? cat.n : 1 << 30;

		for (; list && gen_index < count && list[gen_index]; gen_index++) {
			const char *w = list[gen_index];

			if (strncasecmp(w, text, n) != 0)
				continue;
			gen_index++;
			if (gen_phase == 1 && lower) {
				char *c = strdup(w);

				for (char *p = c; *p; p++)
					*p = (char)tolower((unsigned char)*p);
				return c;
			}
			return strdup(w);
		}
		if (gen_meta)
			break;
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;
	gen_meta = text[0] == '\\';
	gen_rel_only = after_relation_word(rl_line_buffer, start);
	catalog_refresh(sh->s);
	return rl_completion_matches(text, generate);
}

static void make_prompt(struct shell *x)
{
	struct session *s = x->s;
	char state = fa_sqlsplit_state(&x->sc.split);
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);
	const char *su = PQparameterStatus(s->conn, "is_superuser");

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

/* After each line: wait for -j/\\parallel work, recover a lost connection. */
static void after_line(struct shell *x)
{
	struct session *s = x->s;

	script_drain(&x->sc);
	out_end(s);
	interrupted = 0;
	cat.stale = true;
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		fprintf(stderr, "fa-pg: the connection to the server was lost; attempting reset: ");
		PQreset(s->conn);
		fprintf(stderr, "%s\n", PQstatus(s->conn) == CONNECTION_OK ? "succeeded" : "failed");
	}
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
	free(line);
	add_history_entry(x);
	after_line(x);
	x->quit = x->sc.quit;
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
	s->use_pager = isatty(1);
	session_term_size(s);
	rl_readline_name = "fa-pg";
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t\n(),;=<>";
	history_path(&x);
	using_history();
	stifle_history(HISTORY_MAX);
	if (x.history[0])
		read_history(x.history);
	printf("fa-pg %s (server %s)\nType \\? for help, \\q to quit.\n\n", FA_VERSION,
	       sv ? sv : "?");
	while (!x.quit) {
		char *line = read_line(&x, &eof);

		handle_line(&x, eof ? NULL : line);
	}
	if (x.history[0] && write_history(x.history) != 0)
		fprintf(stderr, "fa-pg: cannot write history to '%s'\n", x.history);
	script_finish(&x.sc, x.lineno);
	fa_buf_release(&x.entry);
	return FA_OK;
}
