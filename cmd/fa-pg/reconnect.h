/*
 * reconnect: what fa-pg does when the connection to the server is lost.
 *
 * The shell resets the connection as psql does, and then puts back the
 * session's settings.  It cannot read them from a session that is gone,
 * so it keeps a copy: after a line whose statements ran SET, RESET or
 * DISCARD, once no transaction is open, settings_snapshot() reads what
 * the session has set (pg_settings with source 'session', the custom
 * names the user SET, the role and session authorization).  Nothing is
 * read after other statements.  Scripts do not reconnect: they stop,
 * naming the statement whose outcome is unknown.
 */
#ifndef FAPG_RECONNECT_H
#define FAPG_RECONNECT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "vars.h"

struct saved_settings {
	struct vars set;                /* name and value, in the order to restore them */
	struct vars custom;             /* names with a dot the user SET (values unused) */
	bool dirty;                     /* SET, RESET or DISCARD ran since the last copy */
};

void settings_init(struct saved_settings *st);
void settings_release(struct saved_settings *st);

/* After a successful statement with command tag tag: marks the copy stale. */
void settings_note(struct saved_settings *st, const char *sql, const char *tag);

/*
 * Reads the session's settings into st when it is stale and no
 * transaction is open on c (a SET may yet be rolled back).  Silent: a
 * failure keeps the previous copy.
 */
void settings_snapshot(struct saved_settings *st, PGconn *c);

/*
 * Applies the copy to c (a new session).  Appends the names restored to
 * done (", "-separated), says on stderr which could not be, and returns
 * how many could not.
 */
int settings_restore(const struct saved_settings *st, PGconn *c, struct fa_buf *done);

/*
 * True when c has lost its server: libpq says so, or, after an error of
 * libpq's own (no SQLSTATE; client_error), c can no longer read: libpq 15
 * reports a failed write that way and keeps the status CONNECTION_OK.
 */
bool conn_gone(PGconn *c, bool client_error);

/* The statement's first line, at most 60 characters, " ..." when cut: for messages. */
void statement_brief(char *out, size_t n, const char *sql);

/*
 * What a lost connection did to the transaction that was open (before, the
 * status when sql was sent; sql may be NULL): a sentence, or NULL when none
 * was open or it was ending with ROLLBACK anyway.
 */
const char *txn_fate(PGTransactionStatusType before, const char *sql);

#endif
