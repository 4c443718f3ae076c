/*
 * sqlload: annotated SQL files from disk into a set (sqlfile does the
 * parsing; this reads).  A path is a file, or a directory whose *.sql
 * files are read in name order.  Used by every tool that serves SQL files
 * (fa-serve routes, fa-mcp tools), so they read the same paths the same way.
 */
#ifndef FA_SQLLOAD_H
#define FA_SQLLOAD_H

#include "core/err.h"
#include "pg/sqlfile.h"

/* The largest SQL file read, in bytes. */
#define FA_SQLLOAD_MAX (64u << 20)

/*
 * A new set with every path's queries, or NULL with err: FA_EINPUT
 * ("cannot open 'x.sql': No such file or directory", or sqlfile's
 * "x.sql:12: ..."), FA_ENOMEM.  The caller releases and frees the set.
 */
struct fa_sqlfile_set *fa_sqlload(char *const *paths, int n, struct fa_error *err);

/*
 * The files a server serves, read again on reload while other threads
 * read the current set: a reload swaps the whole set atomically, and the
 * sets before it stay until fa_sqlfiles_release(), since requests in
 * flight may still point into them.
 *
 *	struct fa_sqlfiles f;
 *	if (fa_sqlfiles_init(&f, paths, n, &err)) ... say err.msg, exit;
 *	q = fa_sqlfile_find(fa_sqlfiles_get(&f), "item");    (any thread)
 *	fa_sqlfiles_reload(&f, &err);                          (SIGHUP)
 *	fa_sqlfiles_release(&f);
 */
struct fa_sqlfiles {
	struct fa_sqlfile_set *cur;     /* read it with fa_sqlfiles_get() */
	struct fa_sqlfile_set **retired;
	int nretired;
	char *const *paths;             /* the caller's, kept for reloads */
	int npaths;
};

/* Reads the paths (fa_sqlload's errors). */
enum fa_err fa_sqlfiles_init(struct fa_sqlfiles *f, char *const *paths, int n, struct fa_error *err);

/* The current set. */
struct fa_sqlfile_set *fa_sqlfiles_get(struct fa_sqlfiles *f);

/* Reads the paths again; on an error the current set stays and err says why.
   One reloader at a time (the signal thread). */
enum fa_err fa_sqlfiles_reload(struct fa_sqlfiles *f, struct fa_error *err);

/* Frees every set, current and retired. */
void fa_sqlfiles_release(struct fa_sqlfiles *f);

#endif
