#include "pg/pgtypes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Scalar descriptions, shared by every array of a built-in type. */
enum { STR, NUM, BOOL_, RAW, TS, TSTZ };
static const struct fa_pgjson_type scalars[] = {
	[STR] = { 0, FA_PGJSON_STRING, 0, false, NULL, 0, NULL },
	[NUM] = { 0, FA_PGJSON_NUMBER, 0, false, NULL, 0, NULL },
	[BOOL_] = { 0, FA_PGJSON_BOOL, 0, false, NULL, 0, NULL },
	[RAW] = { 0, FA_PGJSON_RAW, 0, false, NULL, 0, NULL },
	[TS] = { 0, FA_PGJSON_TIMESTAMP, 0, false, NULL, 0, NULL },
	[TSTZ] = { 0, FA_PGJSON_TIMESTAMPTZ, 0, false, NULL, 0, NULL },
};

#define ARR(oid, k, d) { oid, FA_PGJSON_ARRAY, d, false, &scalars[k], 0, NULL }
#define VEC(oid, k, d) { oid, FA_PGJSON_ARRAY, d, true, &scalars[k], 0, NULL }

/* int2vector and oidvector, and their arrays: nested JSON arrays. */
static const struct fa_pgjson_type int2vector = VEC(22, NUM, ',');
static const struct fa_pgjson_type oidvector = VEC(30, STR, ',');

/*
 * PostgreSQL 15's array types of built-in scalars, by OID (stable across
 * versions), from pg_type: typelem <> 0 AND typlen = -1 AND oid < 10000,
 * less record[] (its elements have no field names in text) and the
 * arrays of catalog row types, which are looked up like any composite.
 */
static const struct fa_pgjson_type builtin_arrays[] = {
	VEC(22, NUM, ','),	/* int2vector, as above */
	VEC(30, STR, ','),	/* oidvector, as above */
	ARR(143, STR, ','),	/* _xml */
	ARR(199, RAW, ','),	/* _json */
	ARR(271, STR, ','),	/* _xid8 */
	ARR(629, STR, ','),	/* _line */
	ARR(651, STR, ','),	/* _cidr */
	ARR(719, STR, ','),	/* _circle */
	ARR(775, STR, ','),	/* _macaddr8 */
	ARR(791, STR, ','),	/* _money */
	ARR(1000, BOOL_, ','),	/* _bool */
	ARR(1001, STR, ','),	/* _bytea */
	ARR(1002, STR, ','),	/* _char */
	ARR(1003, STR, ','),	/* _name */
	ARR(1005, NUM, ','),	/* _int2 */
	{ 1006, FA_PGJSON_ARRAY, ',', false, &int2vector, 0, NULL },	/* _int2vector */
	ARR(1007, NUM, ','),	/* _int4 */
	ARR(1008, STR, ','),	/* _regproc */
	ARR(1009, STR, ','),	/* _text */
	ARR(1010, STR, ','),	/* _tid */
	ARR(1011, STR, ','),	/* _xid */
	ARR(1012, STR, ','),	/* _cid */
	{ 1013, FA_PGJSON_ARRAY, ',', false, &oidvector, 0, NULL },	/* _oidvector */
	ARR(1014, STR, ','),	/* _bpchar */
	ARR(1015, STR, ','),	/* _varchar */
	ARR(1016, NUM, ','),	/* _int8 */
	ARR(1017, STR, ','),	/* _point */
	ARR(1018, STR, ','),	/* _lseg */
	ARR(1019, STR, ','),	/* _path */
	ARR(1020, STR, ';'),	/* _box */
	ARR(1021, NUM, ','),	/* _float4 */
	ARR(1022, NUM, ','),	/* _float8 */
	ARR(1027, STR, ','),	/* _polygon */
	ARR(1028, STR, ','),	/* _oid */
	ARR(1034, STR, ','),	/* _aclitem */
	ARR(1040, STR, ','),	/* _macaddr */
	ARR(1041, STR, ','),	/* _inet */
	ARR(1115, TS, ','),	/* _timestamp */
	ARR(1182, STR, ','),	/* _date */
	ARR(1183, STR, ','),	/* _time */
	ARR(1185, TSTZ, ','),	/* _timestamptz */
	ARR(1187, STR, ','),	/* _interval */
	ARR(1231, NUM, ','),	/* _numeric */
	ARR(1263, STR, ','),	/* _cstring */
	ARR(1270, STR, ','),	/* _timetz */
	ARR(1561, STR, ','),	/* _bit */
	ARR(1563, STR, ','),	/* _varbit */
	ARR(2201, STR, ','),	/* _refcursor */
	ARR(2207, STR, ','),	/* _regprocedure */
	ARR(2208, STR, ','),	/* _regoper */
	ARR(2209, STR, ','),	/* _regoperator */
	ARR(2210, STR, ','),	/* _regclass */
	ARR(2211, STR, ','),	/* _regtype */
	ARR(2949, STR, ','),	/* _txid_snapshot */
	ARR(2951, STR, ','),	/* _uuid */
	ARR(3221, STR, ','),	/* _pg_lsn */
	ARR(3643, STR, ','),	/* _tsvector */
	ARR(3644, STR, ','),	/* _gtsvector */
	ARR(3645, STR, ','),	/* _tsquery */
	ARR(3735, STR, ','),	/* _regconfig */
	ARR(3770, STR, ','),	/* _regdictionary */
	ARR(3807, RAW, ','),	/* _jsonb */
	ARR(3905, STR, ','),	/* _int4range */
	ARR(3907, STR, ','),	/* _numrange */
	ARR(3909, STR, ','),	/* _tsrange */
	ARR(3911, STR, ','),	/* _tstzrange */
	ARR(3913, STR, ','),	/* _daterange */
	ARR(3927, STR, ','),	/* _int8range */
	ARR(4073, STR, ','),	/* _jsonpath */
	ARR(4090, STR, ','),	/* _regnamespace */
	ARR(4097, STR, ','),	/* _regrole */
	ARR(4192, STR, ','),	/* _regcollation */
	ARR(5039, STR, ','),	/* _pg_snapshot */
	ARR(6150, STR, ','),	/* _int4multirange */
	ARR(6151, STR, ','),	/* _nummultirange */
	ARR(6152, STR, ','),	/* _tsmultirange */
	ARR(6153, STR, ','),	/* _tstzmultirange */
	ARR(6155, STR, ','),	/* _datemultirange */
	ARR(6157, STR, ','),	/* _int8multirange */
};

/*
 * Built-in OIDs below 10000 that are composites: the row types of the
 * bootstrap and shared catalogs (pg_type, pg_database...) and the arrays
 * of the first four (PostgreSQL 15: oid < 10000 AND typtype = 'c', and
 * their arrays).  They are looked up like user types; a later version
 * that adds one here would see its values as strings until it is listed.
 */
static bool builtin_composite(unsigned int oid)
{
	switch (oid) {
	case 71: case 75: case 81: case 83:     /* pg_type, pg_attribute, pg_proc, pg_class */
	case 210: case 270: case 272: case 273: /* and their arrays */
	case 1248: case 2842: case 2843:        /* pg_database, pg_authid, pg_auth_members */
	case 4066: case 6101:                   /* pg_shseclabel, pg_subscription */
		return true;
	}
	return false;
}

/* A type as the catalog describes it, then as pgjson wants it. */
struct entry {
	unsigned int oid;
	char typtype;
	char delim;
	unsigned int elem;              /* arrays */
	unsigned int base;              /* domains */
	int nfields;
	char **names;
	unsigned int *ftypes;
	const struct fa_pgjson_type *t; /* NULL until built */
	struct fa_pgjson_type *own;     /* what t points to when we made it */
	struct fa_pgjson_field *fields;
	bool building;
};

struct fa_pgtypes {
	const struct fa_pg_target *target;
	char *app;
	double failed_at;               /* monotonic seconds of the last failed connect */
	struct entry *v;
	size_t n, cap;
	struct fa_pgjson_scratch scratch;
};

struct fa_pgtypes *fa_pgtypes_new(const struct fa_pg_target *target, const char *app)
{
	struct fa_pgtypes *ty = calloc(1, sizeof(*ty));

	if (!ty)
		return NULL;
	ty->target = target;
	ty->app = strdup(app ? app : "fa");
	fa_pgjson_scratch_init(&ty->scratch, 0);
	return ty;
}

static void entry_release(struct entry *e)
{
	for (int i = 0; i < e->nfields; i++)
		free(e->names[i]);
	free(e->names);
	free(e->ftypes);
	free(e->fields);
	free(e->own);
}

void fa_pgtypes_free(struct fa_pgtypes *ty)
{
	if (!ty)
		return;
	for (size_t i = 0; i < ty->n; i++)
		entry_release(&ty->v[i]);
	free(ty->v);
	free(ty->app);
	fa_pgjson_scratch_release(&ty->scratch);
	free(ty);
}

struct fa_pgjson_scratch *fa_pgtypes_scratch(struct fa_pgtypes *ty)
{
	return &ty->scratch;
}

static const struct fa_pgjson_type *builtin_array(unsigned int oid)
{
	size_t lo = 0, hi = sizeof(builtin_arrays) / sizeof(builtin_arrays[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (builtin_arrays[mid].oid == oid)
			return &builtin_arrays[mid];
		if (builtin_arrays[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A cached entry; a linear search, as a process sees few types. */
static struct entry *find(struct fa_pgtypes *ty, unsigned int oid)
{
	for (size_t i = 0; ty && i < ty->n; i++)
		if (ty->v[i].oid == oid)
			return &ty->v[i];
	return NULL;
}

static const struct fa_pgjson_type *scalar(unsigned int oid)
{
	switch (fa_pgjson_scalar_kind(oid)) {
	case FA_PGJSON_NUMBER: return &scalars[NUM];
	case FA_PGJSON_BOOL: return &scalars[BOOL_];
	case FA_PGJSON_RAW: return &scalars[RAW];
	case FA_PGJSON_TIMESTAMP: return &scalars[TS];
	case FA_PGJSON_TIMESTAMPTZ: return &scalars[TSTZ];
	default: return &scalars[STR];
	}
}

/* Built in and not a composite: known without asking. */
static bool builtin_known(unsigned int oid)
{
	return oid < 10000 && !builtin_composite(oid);
}

bool fa_pgtypes_missing(struct fa_pgtypes *ty, unsigned int oid)
{
	const struct entry *e = find(ty, oid);

	return !builtin_known(oid) && (!e || !e->t);
}

const struct fa_pgjson_type *fa_pgtypes_get(struct fa_pgtypes *ty, unsigned int oid)
{
	const struct entry *e = find(ty, oid);
	const struct fa_pgjson_type *t;

	if (e && e->t)
		return e->t;
	if ((t = builtin_array(oid)))
		return t;
	return scalar(oid);
}

static struct entry *add(struct fa_pgtypes *ty, unsigned int oid)
{
	if (ty->n == ty->cap) {
		size_t cap = ty->cap ? ty->cap * 2 : 32;
		struct entry *v = realloc(ty->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		ty->v = v;
		ty->cap = cap;
	}
	memset(&ty->v[ty->n], 0, sizeof(ty->v[0]));
	ty->v[ty->n].oid = oid;
	return &ty->v[ty->n++];
}

/* Description of oid from its entry, building what it refers to first. */
static const struct fa_pgjson_type *build(struct fa_pgtypes *ty, unsigned int oid)
{
	struct entry *e = find(ty, oid);
	struct fa_pgjson_type *t;
	size_t at;

	if (!e || (builtin_known(oid) && e->typtype == 0))
		return fa_pgtypes_get(ty, oid);
	if (e->t)
		return e->t;
	if (e->building)        /* a cycle cannot happen; be safe anyway */
		return &scalars[STR];
	at = e - ty->v;         /* ty->v does not move while building */
	e->building = true;
	if (e->typtype == 'd') {
		e->t = build(ty, e->base);
	} else if (e->elem || e->typtype == 'c') {
		if (!(t = calloc(1, sizeof(*t))))
			goto out;
		t->oid = oid;
		if (e->elem) {
			t->kind = FA_PGJSON_ARRAY;
			t->delim = e->delim;
			t->elem = build(ty, e->elem);
		} else {
			if (e->nfields && !(e->fields = calloc((size_t)e->nfields, sizeof(*e->fields)))) {
				free(t);
				goto out;
			}
			t->kind = FA_PGJSON_RECORD;
			for (int i = 0; i < e->nfields; i++) {
				e->fields[i].name = e->names[i];
				e->fields[i].type = build(ty, e->ftypes[i]);
			}
			t->nfields = e->nfields;
			t->fields = e->fields;
		}
		e = &ty->v[at];
		e->own = t;
		e->t = t;
	} else {
		e->t = scalar(oid);
	}
out:
	e = &ty->v[at];
	e->building = false;
	return e->t ? e->t : &scalars[STR];
}

#define LOOKUP_SQL \
	"SELECT t.oid, t.typtype, CASE WHEN t.typlen = -1 THEN t.typelem ELSE 0 END, " \
	"t.typdelim, t.typbasetype, a.attname, a.atttypid " \
	"FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_attribute a " \
	"ON t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped " \
	"WHERE t.oid = ANY($1::pg_catalog.oid[]) ORDER BY t.oid, a.attnum"

static unsigned int num(const PGresult *r, int row, int col)
{
	return (unsigned int)strtoul(PQgetvalue(r, row, col), NULL, 10);
}

/* Adds oid to the ",1,2," list in want unless it is known or listed. */
static void want_add(struct fa_pgtypes *ty, struct fa_buf *want, unsigned int oid)
{
	char s[16];

	if (!oid || !fa_pgtypes_missing(ty, oid) || find(ty, oid))
		return;
	snprintf(s, sizeof(s), ",%u,", oid);
	if (want->len && strstr(want->data, s))
		return;
	fa_buf_puts(want, want->len ? s + 1 : s);
}

/* Adds the entries of one lookup's rows; lists what they refer to. */
static enum fa_err take_rows(struct fa_pgtypes *ty, const PGresult *r, struct fa_buf *next)
{
	int rows = PQntuples(r);

	for (int i = 0; i < rows;) {
		unsigned int oid = num(r, i, 0);
		struct entry *e = find(ty, oid);
		int j, k;

		for (j = i; j < rows && num(r, j, 0) == oid; j++)
			;
		if (e) {        /* asked twice: an element listed before its array's row */
			i = j;
			continue;
		}
		if (!(e = add(ty, oid)))
			return FA_ENOMEM;
		e->typtype = PQgetvalue(r, i, 1)[0];
		e->elem = num(r, i, 2);
		e->delim = PQgetvalue(r, i, 3)[0];
		e->base = num(r, i, 4);
		if (e->typtype == 'c' && !PQgetisnull(r, i, 5)) {
			e->names = calloc((size_t)(j - i), sizeof(*e->names));
			e->ftypes = calloc((size_t)(j - i), sizeof(*e->ftypes));
			if (!e->names || !e->ftypes)
				return FA_ENOMEM;
			for (k = i; k < j; k++) {
				if (!(e->names[k - i] = strdup(PQgetvalue(r, k, 5))))
					return FA_ENOMEM;
				e->ftypes[k - i] = num(r, k, 6);
				e->nfields++;
				want_add(ty, next, e->ftypes[k - i]);
			}
		}
		want_add(ty, next, e->elem);
		want_add(ty, next, e->base);
		i = j;
	}
	return FA_OK;
}

enum fa_err fa_pgtypes_load_conn(struct fa_pgtypes *ty, PGconn *conn, const unsigned int *oids,
				 int n, struct fa_error *err)
{
	struct fa_buf want, next;
	enum fa_err rc = FA_OK;
	size_t first = ty->n;

	fa_buf_init(&want, 0);
	fa_buf_init(&next, 0);
	for (int i = 0; i < n; i++)
		want_add(ty, &want, oids[i]);
	for (int round = 0; want.len && !rc && round < FA_PGJSON_DEPTH; round++) {
		char *list = NULL;
		PGresult *r;

		list = want.data;       /* ",1,2," is sent as "{1,2}" */
		list[0] = '{';
		list[want.len - 1] = '}';
		r = PQexecParams(conn, LOOKUP_SQL, 1, NULL, (const char *const *)&list, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = fa_error_set(err, FA_EWORK, "cannot look up result types: %s",
					  PQerrorMessage(conn));
		else
			rc = take_rows(ty, r, &next);
		PQclear(r);
		fa_buf_reset(&want);
		if (next.len)
			fa_buf_append(&want, next.data, next.len);
		fa_buf_reset(&next);
	}
	for (size_t i = first; i < ty->n && !rc; i++)
		build(ty, ty->v[i].oid);
	if (rc)         /* forget the half: it is asked for again next time */
		for (; ty->n > first; ty->n--)
			entry_release(&ty->v[ty->n - 1]);
	fa_buf_release(&want);
	fa_buf_release(&next);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum fa_err fa_pgtypes_load(struct fa_pgtypes *ty, const unsigned int *oids, int n,
			    struct fa_error *err)
{
	enum fa_err rc;
	PGconn *conn;
	int i;

	for (i = 0; i < n && !fa_pgtypes_missing(ty, oids[i]); i++)
		;
	if (i == n)
		return FA_OK;
	if (!ty->target)
		return fa_error_set(err, FA_EWORK, "cannot look up result types: no database");
	/*
	 * A server at max_connections would refuse every look-up: one try a
	 * second, not one per result, so that a request does not wait on it.
	 */
	if (ty->failed_at && now_s() - ty->failed_at < 1.0)
		return fa_error_set(err, FA_ECONNECT, "cannot look up result types: no connection");
	if (!(conn = fa_pg_connect(ty->target, ty->app, err))) {
		ty->failed_at = now_s();
		return FA_ECONNECT;
	}
	ty->failed_at = 0;
	rc = fa_pgtypes_load_conn(ty, conn, oids, n, err);
	PQfinish(conn);
	return rc;
}
