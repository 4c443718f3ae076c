#include "pg/pgconn.h"

#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "pg/pglocal.h"

static const char *const pg_env_vars[] = {
	"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", NULL
};

const char *fa_pg_source_name(enum fa_pg_source s)
{
	switch (s) {
	case FA_PG_FLAG: return "--db";
	case FA_PG_DATABASE_URL: return "DATABASE_URL";
	case FA_PG_ENVIRONMENT: return "PG* environment";
	case FA_PG_EMBEDDED: return "embedded default";
	}
	return "?";
}

static enum fa_err use_embedded(struct fa_pg_target *t, char *const *envp,
				struct fa_buf *announce, struct fa_error *err)
{
	enum fa_local_event ev;
	struct fa_local l;
	struct fa_buf ci;
	enum fa_err rc;

	if ((rc = fa_local_init(&l, envp, err)) || (rc = fa_local_ensure(&l, &ev, err)))
		return rc;
	fa_buf_init(&ci, 0);
	fa_local_conninfo(&l, &ci);
	t->conninfo = fa_buf_detach(&ci, NULL);
	if (announce && ev != FA_LOCAL_RUNNING)
		fa_buf_printf(announce, "%s the embedded PostgreSQL in %s (socket %s)",
			      ev == FA_LOCAL_CREATED ? "created and started" : "started",
			      l.dir, l.sock);
	return FA_OK;
}

enum fa_err fa_pg_target_resolve(struct fa_pg_target *t, const char *db_flag,
				 char *const *envp, struct fa_buf *announce,
				 struct fa_error *err)
{
	const char *url = fa_env_nonempty(envp, "DATABASE_URL");
	int i;

	t->conninfo = NULL;
	if (db_flag || url) {
		t->source = db_flag ? FA_PG_FLAG : FA_PG_DATABASE_URL;
		t->conninfo = strdup(db_flag ? db_flag : url);
		return t->conninfo ? FA_OK : FA_ENOMEM;
	}
	for (i = 0; pg_env_vars[i]; i++) {
		if (fa_env_nonempty(envp, pg_env_vars[i])) {
			t->source = FA_PG_ENVIRONMENT;
			t->conninfo = strdup("");
			return t->conninfo ? FA_OK : FA_ENOMEM;
		}
	}
	t->source = FA_PG_EMBEDDED;
	return use_embedded(t, envp, announce, err);
}

void fa_pg_target_release(struct fa_pg_target *t)
{
	free(t->conninfo);
	t->conninfo = NULL;
}

/* A bare database name is not parsed: libpq takes it as dbname. */
enum fa_err fa_pg_target_check(const struct fa_pg_target *t, struct fa_error *err)
{
	const char *ci = t->conninfo;
	PQconninfoOption *opts;
	char *msg = NULL;
	size_t n;

	if (!strchr(ci, '=') && strncmp(ci, "postgres://", 11) && strncmp(ci, "postgresql://", 13))
		return FA_OK;
	if ((opts = PQconninfoParse(ci, &msg))) {
		PQconninfoFree(opts);
		return FA_OK;
	}
	fa_error_set(err, FA_EUSAGE, "invalid connection string (%s): %s",
		     fa_pg_source_name(t->source), msg ? msg : "out of memory");
	PQfreemem(msg);
	n = strlen(err->msg);
	while (n && err->msg[n - 1] == '\n')
		err->msg[--n] = '\0';
	return FA_EUSAGE;
}

bool fa_pg_sqlstate_ends_connection(const char *sqlstate)
{
	return sqlstate && (!strncmp(sqlstate, "08", 2) || !strcmp(sqlstate, "57P01") ||
			    !strcmp(sqlstate, "57P02"));
}

const char *fa_pg_conn_message(PGconn *c, char *buf, size_t n)
{
	size_t len;

	snprintf(buf, n, "%s", c ? PQerrorMessage(c) : "out of memory");
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
}

static PGconn *connect_with(const struct fa_pg_target *t, const char *app, bool start,
			    struct fa_error *err)
{
	/* expand_dbname: the dbname value may be a URI or a conninfo string. */
	const char *keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { t->conninfo, app, NULL };
	char msg[512];
	PGconn *c;

	if (!t->conninfo[0])
		keys[0] = "fallback_application_name", vals[0] = app, keys[1] = NULL;
	c = start ? PQconnectStartParams(keys, vals, 1) : PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) == CONNECTION_BAD) {
		fa_error_set(err, FA_ECONNECT, "cannot connect (%s): %s",
			     fa_pg_source_name(t->source), fa_pg_conn_message(c, msg, sizeof(msg)));
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGconn *fa_pg_connect(const struct fa_pg_target *t, const char *app, struct fa_error *err)
{
	return connect_with(t, app, false, err);
}

PGconn *fa_pg_connect_start(const struct fa_pg_target *t, const char *app,
			    struct fa_error *err)
{
	return connect_with(t, app, true, err);
}

/* Display columns of the UTF-8 text [s, e): one per character, tabs as one. */
static size_t utf8_chars(const char *s, const char *e)
{
	size_t n = 0;

	for (; s < e; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Byte offset of the 1-based character position pos in q. */
static size_t char_offset(const char *q, long pos)
{
	size_t i = 0;

	for (; q[i] && pos > 1; i++)
		if (((unsigned char)q[i + 1] & 0xC0) != 0x80)
			pos--;
	return i;
}

/*
 * Like psql: the line of the statement holding the error, cut to about 60
 * columns around the error with "..." where cut, and a caret beneath.
 */
static void render_position(struct fa_buf *out, const char *q, long pos)
{
	enum { WIDTH = 60, RIGHT = 10 };
	size_t off = char_offset(q, pos), col;
	const char *ls = q, *le, *p, *start, *end;
	int lineno = 1;
	bool cut_left = false, cut_right = false;

	for (p = q; p < q + off; p++)
		if (*p == '\n') {
			lineno++;
			ls = p + 1;
		}
	le = ls + strcspn(ls, "\r\n");
	start = ls;
	end = le;
	col = utf8_chars(ls, q + off);
	if (utf8_chars(ls, le) > WIDTH) {
		if (col > WIDTH - RIGHT) {
			while (utf8_chars(start, q + off) > WIDTH - RIGHT - 3)
				start++;
			while (((unsigned char)*start & 0xC0) == 0x80)
				start++;
			cut_left = true;
		}
		end = start;
		while (end < le && utf8_chars(start, end) < WIDTH - (cut_left ? 3 : 0))
			end++;
		while (end < le && ((unsigned char)*end & 0xC0) == 0x80)
			end++;
		cut_right = end < le;
	}
	fa_buf_printf(out, "LINE %d: %s%.*s%s\n", lineno, cut_left ? "..." : "",
		      (int)(end - start), start, cut_right ? "..." : "");
	col = (size_t)snprintf(NULL, 0, "LINE %d: ", lineno) + (cut_left ? 3 : 0) +
		utf8_chars(start, q + off);
	fa_buf_printf(out, "%*s^\n", (int)col, "");
}

static void field(struct fa_buf *out, const PGresult *res, int code, const char *label)
{
	const char *v = PQresultErrorField(res, code);

	if (v)
		fa_buf_printf(out, "%s:  %s\n", label, v);
}

void fa_pg_error_render(struct fa_buf *out, const PGresult *res, const char *query,
			bool verbose)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	const char *file, *line, *func;

	if (!msg) {     /* a client-side error: libpq's own text */
		const char *m = PQresultErrorMessage(res);

		fa_buf_puts(out, *m ? m : "ERROR:  unknown error\n");
		if (out->len && out->data[out->len - 1] != '\n')
			fa_buf_putc(out, '\n');
		return;
	}
	fa_buf_printf(out, "%s:  %s%s%s\n", sev ? sev : "ERROR", state ? state : "",
		      state ? ": " : "", msg);
	field(out, res, PG_DIAG_MESSAGE_DETAIL, "DETAIL");
	field(out, res, PG_DIAG_MESSAGE_HINT, "HINT");
	if (pos && query)
		render_position(out, query, strtol(pos, NULL, 10));
	if (verbose) {
		field(out, res, PG_DIAG_INTERNAL_QUERY, "QUERY");
		field(out, res, PG_DIAG_SCHEMA_NAME, "SCHEMA NAME");
		field(out, res, PG_DIAG_TABLE_NAME, "TABLE NAME");
		field(out, res, PG_DIAG_COLUMN_NAME, "COLUMN NAME");
		field(out, res, PG_DIAG_DATATYPE_NAME, "DATATYPE NAME");
		field(out, res, PG_DIAG_CONSTRAINT_NAME, "CONSTRAINT NAME");
	}
	field(out, res, PG_DIAG_CONTEXT, "CONTEXT");
	file = PQresultErrorField(res, PG_DIAG_SOURCE_FILE);
	line = PQresultErrorField(res, PG_DIAG_SOURCE_LINE);
	func = PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION);
	if (verbose && file)
		fa_buf_printf(out, "LOCATION:  %s%s%s:%s\n", func ? func : "", func ? ", " : "",
			      file, line ? line : "?");
}
