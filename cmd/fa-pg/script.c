/*
 * fa-pg: scripts.  Statements and meta-commands come from the splitter;
 * statements run one by one, or go to the batch runner for -j and
 * --pipeline, where a meta-command is a barrier.
 */
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define MAX_STATEMENT (256u << 20)

/* psql interpolation: :name raw, :'name' as a literal, :"name" as an identifier. */
static const char *lookup_var(void *ctx, const char *name, size_t len, char quote)
{
	struct script *sc = ctx;
	char key[128];
	const char *v;

	if (len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	if (!(v = vars_get(&sc->s->vars, key)))
		return NULL;
	fa_buf_reset(&sc->scratch);
	if (quote == '\'')
		fa_sql_quote_literal(&sc->scratch, v);
	else if (quote == '"')
		fa_sql_quote_ident(&sc->scratch, v);
	else
		fa_buf_puts(&sc->scratch, v);
	return sc->scratch.data;
}

static void note_result(struct script *sc, enum fa_err r)
{
	if (r == FA_OK)
		return;
	if (sc->rc == FA_OK || sc->rc == FA_EWORK)
		sc->rc = r;
	if (sc->keep_going) {
		sc->rc = FA_OK;
		sc->stop = r == FA_ECONNECT;    /* the shell drops the rest of the line */
	} else if (r != FA_EWORK || !sc->s->continue_on_error)
		sc->stop = true;
}

/* \g, \gset, \watch and \r use up the query buffer; the rest leave it. */
bool meta_takes_buffer(const char *cmd)
{
	static const char *const names[] = { "g", "gset", "watch", "r", "reset", NULL };
	size_t n = strcspn(cmd, " \t");

	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncmp(cmd, names[i], n) == 0)
			return true;
	return false;
}

static void run_item(struct script *sc, struct fa_sql_item *it)
{
	struct session *s = sc->s;
	char where[600];
	char *pending;
	enum fa_err r;

	if (sc->name)
		snprintf(where, sizeof(where), "%s:%d", sc->name, it->line);
	if (it->kind == FA_SQL_STMT) {
		if (s->jobs > 1 || s->pipeline)
			r = batch_add(&sc->batch, it->text, sc->name ? where : NULL);
		else
			r = run_statement(s, it->text, sc->name ? where : NULL);
		free(s->last_query);
		s->last_query = strdup(it->text);
		note_result(sc, r);
		return;
	}
	note_result(sc, batch_drain(&sc->batch));
	if (sc->stop)
		return;
	pending = fa_sqlsplit_pending(&sc->split, NULL) ?
		strdup(fa_sqlsplit_pending(&sc->split, NULL)) : strdup("");
	r = run_meta(s, it->text + 1, &pending, sc->name ? where : NULL, &sc->quit);
	if (meta_takes_buffer(it->text + 1))
		fa_sqlsplit_reset(&sc->split);
	if (r != FA_OK)
		fa_sqlsplit_skip_line(&sc->split);      /* as psql does */
	free(pending);
	note_result(sc, r);
	if (sc->quit)
		sc->stop = true;
}

static void drain_items(struct script *sc)
{
	struct fa_sql_item it;
	int got;

	while (!sc->stop && (got = fa_sqlsplit_next(&sc->split, &it)) != 0) {
		if (got < 0) {
			fprintf(stderr, "fa-pg:%s:%d: statement longer than %u MiB\n",
				sc->name ? sc->name : "", sc->split.err_line, MAX_STATEMENT >> 20);
			note_result(sc, FA_EINPUT);
			continue;
		}
		run_item(sc, &it);
		free(it.text);
		if (interrupted)
			note_result(sc, FA_EINTR);
	}
}

void script_init(struct script *sc, struct session *s, const char *name)
{
	memset(sc, 0, sizeof(*sc));
	sc->s = s;
	sc->name = name;
	fa_buf_init(&sc->scratch, 0);
	fa_sqlsplit_init(&sc->split, MAX_STATEMENT, lookup_var, sc);
	batch_init(&sc->batch, s);
}

enum fa_err script_feed(struct script *sc, const char *line, size_t n, int lineno)
{
	fa_sqlsplit_feed(&sc->split, line, n, lineno);
	drain_items(sc);
	return sc->rc;
}

void script_drain(struct script *sc)
{
	note_result(sc, batch_drain(&sc->batch));
}

/* Runs BEGIN/COMMIT/ROLLBACK for -1 quietly. */
static enum fa_err txn(struct session *s, const char *sql)
{
	PGresult *r = PQexec(s->conn, sql);
	enum fa_err rc = PQresultStatus(r) == PGRES_COMMAND_OK ? FA_OK : FA_EWORK;

	if (rc)
		report_error(s, r, sql, NULL);
	if (rc && conn_gone(s->conn, !PQresultErrorField(r, PG_DIAG_SQLSTATE))) {
		s->lost = true;
		rc = FA_ECONNECT;
		if (!strcmp(sql, "COMMIT"))
			fprintf(stderr, "fa-pg: connection lost while running the COMMIT of -1: "
				"whether the transaction was committed is unknown\n");
		else if (!strcmp(sql, "BEGIN"))
			fprintf(stderr, "fa-pg: connection lost before the script began: "
				"nothing was run\n");
	}
	PQclear(r);
	return rc;
}

enum fa_err script_finish(struct script *sc, int lastline)
{
	struct fa_sql_item it;
	char open = 0;
	bool last = !sc->stop && fa_sqlsplit_finish(&sc->split, &it, &open);

	if (last && !open)
		run_item(sc, &it);
	if (last)
		free(it.text);
	if (!sc->stop && open) {
		fprintf(stderr, "fa-pg:%s:%d: input ended inside %s\n", sc->name, lastline,
			open == '\'' ? "a quoted string" : open == '"' ? "a quoted identifier" :
			open == '$' ? "a dollar-quoted string" : open == '*' ? "a /* comment" :
			"parentheses");
		note_result(sc, FA_EINPUT);
	}
	if (!sc->stop || sc->rc == FA_EWORK)
		note_result(sc, batch_drain(&sc->batch));
	batch_release(&sc->batch);
	fa_sqlsplit_release(&sc->split);
	fa_buf_release(&sc->scratch);
	return sc->rc;
}

enum fa_err single_transaction(struct session *s, enum fa_err (*body)(struct session *, void *),
			       void *arg)
{
	enum fa_err rc;

	if (!s->single_txn)
		return body(s, arg);
	if ((rc = txn(s, "BEGIN")))
		return rc;
	rc = body(s, arg);
	if (rc == FA_OK)
		return txn(s, "COMMIT");
	if (!s->lost && PQstatus(s->conn) == CONNECTION_OK) {
		txn(s, "ROLLBACK");
		fprintf(stderr, "fa-pg: the transaction was rolled back; nothing was committed\n");
	}
	return rc;
}

enum fa_err run_script(struct session *s, FILE *f, const char *name)
{
	struct script sc;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	FILE *saved = s->script;

	script_init(&sc, s, name);
	s->script = f;
	while (!sc.stop && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			n--;
		script_feed(&sc, line, (size_t)n, lineno);
	}
	if (ferror(f) && !sc.stop) {
		fprintf(stderr, "fa-pg: cannot read '%s'\n", name);
		note_result(&sc, FA_EINPUT);
	}
	free(line);
	s->script = saved;
	return script_finish(&sc, lineno);
}


enum fa_err run_command(struct session *s, const char *sql)
{
	const char *text = sql, *nl;
	struct script sc;
	int lineno = 0;

	script_init(&sc, s, NULL);    /* like psql: no position prefix for -c */
	while (!sc.stop && *text) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text);
		script_feed(&sc, text, (size_t)(nl - text), ++lineno);
		text = *nl ? nl + 1 : nl;
	}
	return script_finish(&sc, lineno);
}

