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

#endif
