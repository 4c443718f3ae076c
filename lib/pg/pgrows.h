/*
 * pgrows: rows of libpq results into a row writer (fmt).  One adapter for
 * every tool that prints query results: fa-pg, fa-copy out, fa-serve.
 *
 *	fa_pgrows_begin(&f, res);      once, from the first result's columns
 *	fa_pgrows_add(&f, res);        for each result (single-row mode or whole)
 *	fa_fmt_end(&f);
 */
#ifndef FA_PGROWS_H
#define FA_PGROWS_H

#include <libpq-fe.h>

#include "core/fmt.h"

/* Begins a result set with res's column names and types. */
enum fa_err fa_pgrows_begin(struct fa_fmt *f, const PGresult *res);

/* Writes every row of res. */
enum fa_err fa_pgrows_add(struct fa_fmt *f, const PGresult *res);

#endif
