/* fa-pg: a lost connection, and the shell's reset that keeps its settings. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fapg.h"
#include "reconnect.h"

#define MAX_CUSTOM_NAMES 100

/*
 * What SET left in the session, in the order to put it back: ordinary
 * settings first (a role may not be allowed to make them), then the
 * session authorization, then the role.  Custom names (myapp.tenant) are
 * not in pg_settings: their current values are read by name.
 */
static const char snapshot_sql[] =
	"SELECT name, setting FROM ("
	" SELECT 0 AS o, name, setting FROM pg_catalog.pg_settings WHERE source = 'session'"
	" UNION ALL SELECT 1, n, pg_catalog.current_setting(n, true)"
	"  FROM pg_catalog.unnest($1::text[]) AS u(n)"
	"  WHERE pg_catalog.current_setting(n, true) IS NOT NULL"
	" UNION ALL SELECT 2, 'session_authorization',"
	"  pg_catalog.current_setting('session_authorization')"
	"  WHERE pg_catalog.current_setting('session_authorization') <> $2"
	" UNION ALL SELECT 3, 'role', pg_catalog.current_setting('role')"
	"  WHERE pg_catalog.current_setting('role') <> 'none'"
	") AS s ORDER BY o, name COLLATE \"C\"";

void settings_init(struct saved_settings *st)
{
	vars_init(&st->set);
	vars_init(&st->custom);
	st->dirty = false;
}

void settings_release(struct saved_settings *st)
{
	vars_release(&st->set);
	vars_release(&st->custom);
	st->dirty = false;
}

/* The length of the word at p: letters, digits, _ and $. */
static size_t word_len(const char *p)
{
	size_t n = 0;

	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$')
		n++;
	return n;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(p, w, n) == 0;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* SET [SESSION] a.b ...: remembers the name a.b, folded to lower case. */
static void note_custom(struct saved_settings *st, const char *sql)
{
	const char *p = skip_space(sql);
	size_t n = word_len(p), len = 0;
	char name[128];

	if (!word_is(p, n, "set"))
		return;
	p = skip_space(p + n);
	n = word_len(p);
	if (word_is(p, n, "local"))
		return;
	if (word_is(p, n, "session"))
		p = skip_space(p + n);
	while ((n = word_len(p)) && !isdigit((unsigned char)*p) && len + n + 1 < sizeof(name)) {
		for (size_t i = 0; i < n; i++)
			name[len++] = (char)tolower((unsigned char)p[i]);
		p += n;
		if (*p != '.')
			break;
		name[len++] = *p++;
	}
	name[len] = '\0';
	if (!len || name[len - 1] == '.' || !strchr(name, '.') ||
	    (!vars_get(&st->custom, name) && st->custom.n >= MAX_CUSTOM_NAMES))
		return;
	vars_set(&st->custom, name, "");
}

void settings_note(struct saved_settings *st, const char *sql, const char *tag)
{
	if (strcmp(tag, "SET") && strcmp(tag, "RESET") && strncmp(tag, "DISCARD", 7))
		return;
	st->dirty = true;
	if (!strcmp(tag, "SET"))
		note_custom(st, sql);
}

void settings_snapshot(struct saved_settings *st, PGconn *c)
{
	struct fa_buf names;
	const char *params[2];
	PGresult *r;

	if (!st->dirty || PQtransactionStatus(c) != PQTRANS_IDLE)
		return;
	/* the names are plain identifiers: an array literal needs no escaping */
	fa_buf_init(&names, 0);
	fa_buf_putc(&names, '{');
	for (int i = 0; i < st->custom.n; i++)
		fa_buf_printf(&names, "%s\"%s\"", i ? "," : "", st->custom.v[i].name);
	fa_buf_putc(&names, '}');
	params[0] = names.data;
	params[1] = PQuser(c);
	r = PQexecParams(c, snapshot_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		vars_release(&st->set);
		for (int i = 0; i < PQntuples(r); i++)
			vars_set(&st->set, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	}
	st->dirty = PQstatus(c) != CONNECTION_OK;
	PQclear(r);
	fa_buf_release(&names);
}

int settings_restore(const struct saved_settings *st, PGconn *c, struct fa_buf *done)
{
	int failed = 0;

	for (int i = 0; i < st->set.n; i++) {
		const char *p[2] = { st->set.v[i].name, st->set.v[i].value };
		PGresult *r = PQexecParams(c, "SELECT pg_catalog.set_config($1, $2, false)", 2, NULL,
					   p, NULL, NULL, 0);

		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			fa_buf_printf(done, "%s%s", done->len ? ", " : "", p[0]);
		} else {
			const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			char buf[512];

			fprintf(stderr, "fa-pg: cannot restore %s to '%s': %s\n", p[0], p[1],
				m ? m : fa_pg_conn_message(c, buf, sizeof(buf)));
			failed++;
		}
		PQclear(r);
	}
	return failed;
}

bool conn_gone(PGconn *c, bool client_error)
{
	if (PQstatus(c) == CONNECTION_BAD)
		return true;
	return client_error && !PQconsumeInput(c);
}

void statement_brief(char *out, size_t n, const char *sql)
{
	size_t len = strcspn(sql, "\n"), max = 60;
	bool more = *skip_space(sql + len) != '\0';

	while (len && isspace((unsigned char)sql[len - 1]))
		len--;
	if (len > max) {
		len = max;
		while (len && ((unsigned char)sql[len] & 0xC0) == 0x80)
			len--;  /* not inside a UTF-8 sequence */
		more = true;
	}
	snprintf(out, n, "%.*s%s", (int)len, sql, more ? " ..." : "");
}

const char *txn_fate(PGTransactionStatusType before, const char *sql)
{
	const char *p = sql ? skip_space(sql) : "";
	size_t n = word_len(p);
	const char *next = skip_space(p + n);
	size_t n2 = word_len(next);

	if (before != PQTRANS_INTRANS && before != PQTRANS_INERROR)
		return NULL;
	if ((word_is(p, n, "rollback") && !word_is(next, n2, "to")) || word_is(p, n, "abort"))
		return NULL;    /* it was ending that way */
	if (before == PQTRANS_INTRANS && (word_is(p, n, "commit") || word_is(p, n, "end") ||
					  (word_is(p, n, "prepare") && word_is(next, n2, "transaction"))))
		return "whether the transaction in progress was committed is unknown";
	return "the transaction in progress was lost: nothing in it was committed";
}

/* Says what happened, as psql does, and what it means for this session. */
enum fa_err session_reset(struct session *s)
{
	const char *note = s->lost_note ? s->lost_note : txn_fate(s->txn, NULL);
	struct fa_buf done;
	char msg[512];
	int failed;

	out_flush(s);
	fputs("The connection to the server was lost. Attempting reset: ", stderr);
	PQreset(s->conn);
	s->reset_failed = PQstatus(s->conn) != CONNECTION_OK;
	fputs(s->reset_failed ? "Failed.\n" : "Succeeded.\n", stderr);
	if (note)
		fprintf(stderr, "fa-pg: %s\n", note);
	s->lost = false;
	s->lost_note = NULL;
	s->txn = PQTRANS_IDLE;
	if (s->reset_failed) {
		fprintf(stderr, "fa-pg: %s\nfa-pg: not connected: the next statement tries again\n",
			fa_pg_conn_message(s->conn, msg, sizeof(msg)));
		return FA_ECONNECT;
	}
	if (!s->settings.set.n)
		return FA_OK;
	fa_buf_init(&done, 0);
	failed = settings_restore(&s->settings, s->conn, &done);
	if (done.len)
		fprintf(stderr, "fa-pg: restored %d session setting%s: %s\n",
			s->settings.set.n - failed, s->settings.set.n - failed == 1 ? "" : "s",
			done.data);
	fa_buf_release(&done);
	return failed ? FA_EWORK : FA_OK;
}

enum fa_err session_ready(struct session *s)
{
	if (!s->interactive || (!s->lost && PQstatus(s->conn) == CONNECTION_OK))
		return FA_OK;
	return session_reset(s);
}
