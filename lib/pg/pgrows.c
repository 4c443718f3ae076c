#include "pg/pgrows.h"

#include <stdlib.h>
#include <string.h>

#include "pg/pgjson.h"

#define STACK_COLS 64

static enum fa_err put_json(const void *type, void *scratch, struct fa_buf *out,
			    const char *s, size_t n)
{
	return fa_pgjson_put(out, type, s, n, scratch);
}

/* Gives the columns that fmt's own rules would not write as to_json a writer. */
static void json_columns(struct fa_fmt_col *cols, int n, struct fa_pgtypes *types)
{
	unsigned int stack[STACK_COLS];
	unsigned int *oids = n <= STACK_COLS ? stack : malloc((size_t)n * sizeof(*oids));
	struct fa_error err;

	if (oids) {
		for (int i = 0; i < n; i++)
			oids[i] = cols[i].type;
		(void)fa_pgtypes_load(types, oids, n, &err);    /* else: strings */
		if (oids != stack)
			free(oids);
	}
	for (int i = 0; i < n; i++) {
		const struct fa_pgjson_type *t = fa_pgtypes_get(types, cols[i].type);

		if (t->kind == fa_pgjson_scalar_kind(cols[i].type) &&
		    t->kind != FA_PGJSON_TIMESTAMP && t->kind != FA_PGJSON_TIMESTAMPTZ)
			continue;
		cols[i].json = put_json;
		cols[i].json_type = t;
		cols[i].json_ctx = fa_pgtypes_scratch(types);
	}
}

enum fa_err fa_pgrows_begin(struct fa_fmt *f, const PGresult *res, struct fa_pgtypes *types)
{
	int n = PQnfields(res);
	struct fa_fmt_col stack[STACK_COLS];
	struct fa_fmt_col *cols = n <= STACK_COLS ? stack : calloc((size_t)n, sizeof(*cols));
	enum fa_err rc;

	if (!cols)
		return FA_ENOMEM;
	memset(cols, 0, (size_t)n * sizeof(*cols));
	for (int i = 0; i < n; i++) {
		cols[i].name = PQfname(res, i);
		cols[i].type = PQftype(res, i);
	}
	if (types && (f->opt.kind == FA_FMT_JSON || f->opt.kind == FA_FMT_NDJSON))
		json_columns(cols, n, types);
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
