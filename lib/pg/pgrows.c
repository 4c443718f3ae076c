#include "pg/pgrows.h"

#include <stdlib.h>

#define STACK_COLS 64

enum fa_err fa_pgrows_begin(struct fa_fmt *f, const PGresult *res)
{
	int n = PQnfields(res);
	struct fa_fmt_col stack[STACK_COLS];
	struct fa_fmt_col *cols = n <= STACK_COLS ? stack : calloc((size_t)n, sizeof(*cols));
	enum fa_err rc;

	if (!cols)
		return FA_ENOMEM;
	for (int i = 0; i < n; i++) {
		cols[i].name = PQfname(res, i);
		cols[i].type = PQftype(res, i);
	}
	rc = fa_fmt_begin(f, n, cols);
	if (cols != stack)
		free(cols);
	return rc;
}

enum fa_err fa_pgrows_add(struct fa_fmt *f, const PGresult *res)
{
	int nf = PQnfields(res), nt = PQntuples(res);
	const char *stackv[STACK_COLS];
	int stackl[STACK_COLS];
	const char **vals = nf <= STACK_COLS ? stackv : malloc((size_t)nf * sizeof(*vals));
	int *lens = nf <= STACK_COLS ? stackl : malloc((size_t)nf * sizeof(*lens));
	enum fa_err rc = FA_OK;

	if (!vals || !lens)
		rc = FA_ENOMEM;
	for (int r = 0; r < nt && rc == FA_OK; r++) {
		for (int c = 0; c < nf; c++) {
			vals[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
			lens[c] = PQgetlength(res, r, c);
		}
		rc = fa_fmt_row(f, vals, lens);
	}
	if (vals != stackv) {
		free(vals);
		free(lens);
	}
	return rc;
}
