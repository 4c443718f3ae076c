/*
 * pgconn: where to connect, connecting, and PostgreSQL errors for people.
 *
 * Resolution order, the same in every tool: the -d/--db value (a URI, a
 * conninfo string, or a bare database name), else DATABASE_URL, else the
 * PG* variables libpq reads (PGHOST, PGPORT, PGDATABASE, PGUSER,
 * PGHOSTADDR, PGSERVICE), else the embedded default (pglocal).
 *
 * Errors are rendered the way psql renders them, with the SQLSTATE added
 * to the first line, and the caret under the error position:
 *
 *	ERROR:  42P01: relation "nope" does not exist
 *	LINE 1: select * from nope
 *	                      ^
 */
#ifndef FA_PGCONN_H
#define FA_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_pg_source { FA_PG_FLAG, FA_PG_DATABASE_URL, FA_PG_ENVIRONMENT, FA_PG_EMBEDDED };

struct fa_pg_target {
	enum fa_pg_source source;
	char *conninfo;         /* owned; "" means libpq defaults (PG*) */
};

/*
 * Chooses the target from the flag value (may be NULL) and envp.  For the
 * embedded default it creates and starts the cluster if needed, and sets
 * *announce to a one-line message for stderr when it did (else NULL).
 */
enum fa_err fa_pg_target_resolve(struct fa_pg_target *t, const char *db_flag,
				 char *const *envp, struct fa_buf *announce,
				 struct fa_error *err);
void fa_pg_target_release(struct fa_pg_target *t);

/*
 * FA_EUSAGE when t's conninfo is a URI or key=value string that libpq
 * cannot parse, so a tool can say so at once instead of at every attempt.
 */
enum fa_err fa_pg_target_check(const struct fa_pg_target *t, struct fa_error *err);

/* A short description of where the target came from ("--db", ...). */
const char *fa_pg_source_name(enum fa_pg_source s);

/*
 * Connects (blocking) with application_name app; FA_ECONNECT with libpq's
 * message on failure.  The caller owns the returned connection.
 */
PGconn *fa_pg_connect(const struct fa_pg_target *t, const char *app, struct fa_error *err);

/* Starts a nonblocking connection; poll it with PQconnectPoll(). */
PGconn *fa_pg_connect_start(const struct fa_pg_target *t, const char *app,
			    struct fa_error *err);

/*
 * Appends a psql-style rendering of an error result: severity, SQLSTATE,
 * message, DETAIL, HINT, the statement's LINE with a caret, CONTEXT.
 * query is the statement text as sent (for the caret), or NULL.  verbose
 * adds the source LOCATION and every other field, like \errverbose.
 */
void fa_pg_error_render(struct fa_buf *out, const PGresult *res, const char *query,
			bool verbose);

/*
 * True when an error with this SQLSTATE means the server is ending the
 * connection: it shuts down or terminates the backend (57P01, 57P02), or
 * the link broke (class 08).  NULL (libpq's own errors) is false: the
 * caller looks at PQstatus() for those.
 */
bool fa_pg_sqlstate_ends_connection(const char *sqlstate);

/* The connection's error message without libpq's trailing newline. */
const char *fa_pg_conn_message(PGconn *c, char *buf, size_t n);

#endif
