/*
 * pglocal: the embedded default database.
 *
 * When no database is given, fa uses a private PostgreSQL cluster that it
 * creates (initdb: UTF-8, trust over a unix socket only, no TCP) and starts
 * with the installed server's pg_ctl.  It lives under a home directory:
 * $FA_HOME, else $XDG_STATE_HOME/fa, else ~/.local/state/fa (/var/lib/fa
 * for root, whose home other users cannot enter).  Layout:
 *
 *	HOME/pg/data    the cluster
 *	HOME/pg/run     the unix socket directory
 *	HOME/pg/log     the server log
 *	HOME/pg.lock    held while creating, starting, stopping or removing
 *
 * Invoked as root, the server runs as the 'postgres' user (else 'nobody'),
 * since PostgreSQL refuses to run as root; the database role and database
 * are named after the invoking user, so plain libpq defaults work.
 *
 * Two processes that call fa_local_ensure() at once serialise on the lock:
 * one creates and starts the cluster, the other then finds it running.
 */
#ifndef FA_PGLOCAL_H
#define FA_PGLOCAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

struct fa_local {
	char home[512];
	char dir[560];          /* home/pg */
	char data[600];
	char sock[600];
	char log[600];
	char lock[600];
	char bindir[512];       /* where initdb and pg_ctl are */
	char role[64];          /* database role and database name */
	bool as_root;
	uid_t run_uid;          /* the server's user */
	gid_t run_gid;
	char run_user[64];
};

/* What fa_local_ensure() did, so the caller can announce it once. */
enum fa_local_event { FA_LOCAL_RUNNING, FA_LOCAL_STARTED, FA_LOCAL_CREATED };

/*
 * Works out the paths from envp (FA_HOME, XDG_STATE_HOME, HOME, and
 * FA_PG_BINDIR to choose the server's bin directory); touches nothing.
 */
enum fa_err fa_local_init(struct fa_local *l, char *const *envp, struct fa_error *err);

/* Creates the cluster if missing and starts it if stopped. */
enum fa_err fa_local_ensure(struct fa_local *l, enum fa_local_event *ev,
			    struct fa_error *err);

/* True when the server answers on its socket. */
bool fa_local_running(const struct fa_local *l);

/* True when the cluster has been created. */
bool fa_local_exists(const struct fa_local *l);

enum fa_err fa_local_stop(struct fa_local *l, struct fa_error *err);

/* Stops the server and deletes HOME/pg entirely. */
enum fa_err fa_local_remove(struct fa_local *l, struct fa_error *err);

/* Appends a libpq conninfo string for the cluster. */
void fa_local_conninfo(const struct fa_local *l, struct fa_buf *out);

/* Appends a human description: paths, state, server version. */
void fa_local_describe(const struct fa_local *l, struct fa_buf *out);

#endif
