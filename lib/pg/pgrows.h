/*
 * pgrows: rows of libpq results into a row writer (fmt).  One adapter for
 * every tool that prints query results: fa-pg, fa-copy out, fa-serve,
 * fa-mcp.
 *
 * For json and ndjson, columns of arrays, composites and timestamps are
 * written as to_json() writes them (lib/pg/pgjson), with the types
 * described by a cache (lib/pg/pgtypes) that looks up the ones it does
 * not know yet on its own connection.
 *
 *	fa_pgrows_begin(&f, res, types);  once, from the first result's columns
 *	fa_pgrows_add(&f, res);        for each result (single-row mode or whole)
 *	fa_fmt_end(&f);
 */
#ifndef FA_PGROWS_H
#define FA_PGROWS_H

#include <libpq-fe.h>

#include "core/fmt.h"
#include "pg/pgtypes.h"

/*
 * Begins a result set with res's column names and types.  types (may be
 * NULL: arrays and composites are then strings, as in text) must outlive
 * the result set; a failed type lookup is not an error: those columns
 * are written as strings.
 */
enum fa_err fa_pgrows_begin(struct fa_fmt *f, const PGresult *res, struct fa_pgtypes *types);

/* Writes every row of res. */
enum fa_err fa_pgrows_add(struct fa_fmt *f, const PGresult *res);

#endif
