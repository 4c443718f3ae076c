#include "pg/copyin.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "pg/csvrec.h"
#include "pg/ndjson.h"
#include "pg/pgbinary.h"
#include "pg/sqlsplit.h"

#include <jansson.h>

#define QUEUE_PER_JOB 2
#define PROGRESS_TABLE "fa_copy_progress"
#define MAX_BATCH_BYTES (64u << 20)
#define MAX_RECORD_BYTES (256u << 20)
/* the rejected records of one batch, held until it commits */
#define MAX_HELD_BYTES (2 * MAX_BATCH_BYTES + MAX_RECORD_BYTES)
/* reconnecting: the first try at once, then waits from 0.5 s doubling to 5 s */
#define RETRY_FIRST_MS 500
#define RETRY_CAP_MS 5000

struct batch {
	uint64_t index;                 /* 0, 1, 2... in input order */
	uint64_t first_line;            /* input line of its first record */
	uint64_t last_line;
	uint32_t nrec;
	char *data;                     /* the records as read, owned */
	size_t len;
	struct batch *next;
};

/* A record of a batch being isolated. */
struct rec {
	size_t off, size;               /* size includes the line terminator */
	size_t len;                     /* without it */
	uint64_t line;
};

/* Why a COPY failed: the server's words, and the record if it named one. */
struct failure {
	char sqlstate[8];
	char message[1024];
	long bad;                       /* record index in the batch, or -1 */
	uint64_t line;                  /* input line, when known, else 0 */
};

/* Input line ranges, as (first, last) pairs. */
struct ranges {
	uint64_t *v;
	size_t n, cap;
};

struct worker {
	struct fa_copyin *c;
	int id;                         /* 1, 2... in messages */
	PGconn *pg;                     /* NULL after a loss, until reconnected */
	PGcancel *cancel;               /* changes under c->mu */
	struct fa_buf conv;             /* rows encoded in binary */
	struct fa_buf scratch;          /* decoded fields */
	struct fa_rec_field *fields;    /* ncols + 1, to catch an extra field */
	struct fa_ndjson nd;
	bool nd_ready;
	uint64_t loaded, rejected;      /* in the batch being run */
	struct fa_buf held;             /* its rejected records, until it commits */
	bool end_sent;                  /* an autocommit COPY's end went out */
	bool in_doubt;                  /* its COMMIT went out, the answer was lost */
	bool progress_dup;              /* its progress row was there already */
	uint64_t rng;                   /* for the jitter of reconnection waits */
};

struct fa_copyin {
	struct fa_copyin_opts o;
	char *qualified;                /* the table as the server names it */
	char **colnames;                /* loaded columns, in input order */
	unsigned int *types;
	int ncols;
	char *copy_sql;                 /* COPY t (cols) FROM STDIN WITH (...) */
	char *copy_sql_bin;             /* the same in binary, when every type allows */
	bool prepared;

	struct fa_rec_opts ro;
	struct fa_rec_scanner scan;
	struct fa_buf pending;          /* [records of the batch being cut | tail] */
	size_t batch_bytes;
	uint32_t batch_recs;
	uint64_t batch_line;
	uint64_t nd_line;               /* NDJSON: line where pending starts */
	uint64_t next_index;
	bool header_done, input_done;
	long to_skip;
	uint64_t taken;

	uint64_t *done;                 /* resume: batches an earlier run committed */
	size_t ndone;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *qhead, *qtail;
	int queued, nworkers;
	bool closing, failed, cancelled;
	enum fa_err fail_code;
	uint64_t fail_last;             /* the last line of the batch that failed */
	pthread_t *threads;
	struct worker *workers;
	struct fa_copyin_stats st;
	struct ranges committed;        /* input lines of committed batches */
	struct ranges unknown;          /* ... of batches that may have committed */
};

static void quiet_notice(void *arg, const char *msg)
{
}

/* ---- small SQL helpers ---- */

static enum fa_err exec_sql(PGconn *pg, const char *sql, int n, const char *const *params,
			    PGresult **out, struct failure *f)
{
	/* without parameters, the simple protocol: it takes several statements */
	PGresult *r = n ? PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0) : PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	const char *m, *s;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (out)
			*out = r;
		else
			PQclear(r);
		return FA_OK;
	}
	m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (f) {
		snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", s ? s : "");
		snprintf(f->message, sizeof(f->message), "%s", m ? m : PQerrorMessage(pg));
		f->bad = -1;
	}
	PQclear(r);
	return PQstatus(pg) == CONNECTION_BAD ? FA_ECONNECT : FA_EWORK;
}

static enum fa_err fail_err(struct fa_error *err, enum fa_err rc, const struct failure *f,
			    const char *what)
{
	return fa_error_set(err, rc, "%s: %s%s%s", what, f->sqlstate, f->sqlstate[0] ? ": " : "",
			    f->message);
}

/* Errors no row can cause: connection, transaction conflicts, resources, cancel. */
static bool fatal_state(const char *st)
{
	return !st[0] || !strncmp(st, "08", 2) || !strncmp(st, "40", 2) ||
	       !strncmp(st, "53", 2) || !strncmp(st, "57", 2) || !strncmp(st, "58", 2) ||
	       !strncmp(st, "XX", 2);
}

/* ---- preparing the target: table, columns, create, resume, truncate ---- */

/* Names NUL-separated in a buffer, as a text[] literal: {"a","b"}. */
static void array_literal(struct fa_buf *out, const char *names, int n)
{
	fa_buf_putc(out, '{');
	for (int i = 0; i < n; i++, names += strlen(names) + 1) {
		fa_buf_puts(out, i ? ",\"" : "\"");
		for (const char *p = names; *p; p++) {
			if (*p == '"' || *p == '\\')
				fa_buf_putc(out, '\\');
			fa_buf_putc(out, *p);
		}
		fa_buf_putc(out, '"');
	}
	fa_buf_putc(out, '}');
}

/*
 * The table's loaded columns: all of them, or the n names given (each the
 * column's name or its quoted form), in that order.
 */
static enum fa_err describe_table(struct fa_copyin *c, PGconn *pg, const char *names, int n,
				  struct fa_error *err)
{
	struct fa_buf arr;
	const char *params[2] = { c->o.table, "" };
	struct failure f;
	PGresult *r;
	enum fa_err rc;

	fa_buf_init(&arr, 0);
	if (n)
		array_literal(&arr, names, n);
	params[1] = n ? arr.data : NULL;
	rc = exec_sql(pg, "WITH want AS (SELECT x AS name, o FROM "
		      "pg_catalog.unnest($2::text[]) WITH ORDINALITY AS u(x, o)) "
		      "SELECT $1::pg_catalog.regclass::text, a.attname, a.atttypid "
		      "FROM pg_catalog.pg_attribute a LEFT JOIN want w ON w.name = a.attname "
		      "OR w.name = pg_catalog.quote_ident(a.attname) "
		      "OR w.name = '\"' || pg_catalog.replace(a.attname, '\"', '\"\"') || '\"' "
		      "WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 "
		      "AND NOT a.attisdropped AND a.attgenerated = '' "
		      "AND ($2 IS NULL OR w.name IS NOT NULL) ORDER BY COALESCE(w.o, a.attnum)",
		      2, params, &r, &f);
	fa_buf_release(&arr);
	if (rc)
		return fail_err(err, FA_EWORK, &f, c->o.table);
	if (n && PQntuples(r) != n) {
		PQclear(r);
		return fa_error_set(err, FA_EUSAGE, "%s has no column named by the %s",
				    c->o.table, c->o.header_match ? "header" : "column list");
	}
	c->ncols = PQntuples(r);
	c->qualified = strdup(c->ncols ? PQgetvalue(r, 0, 0) : c->o.table);
	c->types = calloc((size_t)c->ncols + 1, sizeof(*c->types));
	c->colnames = calloc((size_t)c->ncols + 1, sizeof(*c->colnames));
	for (int i = 0; i < c->ncols; i++) {
		c->types[i] = (unsigned int)strtoul(PQgetvalue(r, i, 2), NULL, 10);
		c->colnames[i] = strdup(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return FA_OK;
}

static bool table_exists(PGconn *pg, const char *table)
{
	const char *p[1] = { table };
	PGresult *r;
	bool yes = false;

	if (exec_sql(pg, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p, &r, NULL) == FA_OK) {
		yes = PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
	}
	return yes;
}

/* --create: text columns named by the header (or NDJSON keys, typed by value). */
static enum fa_err create_table(struct fa_copyin *c, PGconn *pg, char **names, const char **types,
				int n, struct fa_error *err)
{
	struct fa_buf sql;
	struct failure f;
	enum fa_err rc;

	fa_buf_init(&sql, 0);
	fa_buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (", c->o.table);
	for (int i = 0; i < n; i++) {
		char *q = PQescapeIdentifier(pg, names[i], strlen(names[i]));

		fa_buf_printf(&sql, "%s%s %s", i ? ", " : "", q ? q : "\"?\"", types ? types[i] : "text");
		PQfreemem(q);
	}
	fa_buf_putc(&sql, ')');
	rc = exec_sql(pg, sql.data, 0, NULL, NULL, &f) ? fail_err(err, FA_EWORK, &f, "--create") : FA_OK;
	fa_buf_release(&sql);
	return rc;
}

static enum fa_err load_resume_state(struct fa_copyin *c, PGconn *pg, struct fa_error *err)
{
	char rows[32];
	const char *params[3] = { c->o.resume_id, c->qualified, rows };
	struct failure f;
	PGresult *r;

	snprintf(rows, sizeof(rows), "%ld", c->o.batch_rows);
	if (exec_sql(pg, "CREATE TABLE IF NOT EXISTS " PROGRESS_TABLE " (id text NOT NULL, "
		     "target text NOT NULL, batch bigint NOT NULL, batch_rows bigint NOT NULL, "
		     "first_line bigint, last_line bigint, loaded bigint, rejected bigint, "
		     "committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, batch))",
		     0, NULL, NULL, &f) ||
	    exec_sql(pg, "SELECT batch, batch_rows, target FROM " PROGRESS_TABLE
		     " WHERE id = $1 ORDER BY batch", 1, params, &r, &f))
		return fail_err(err, FA_EWORK, &f, "--resume");
	c->done = calloc((size_t)PQntuples(r) + 1, sizeof(*c->done));
	for (int i = 0; i < PQntuples(r); i++) {
		if (strcmp(PQgetvalue(r, i, 1), rows) || strcmp(PQgetvalue(r, i, 2), c->qualified)) {
			fa_error_set(err, FA_EUSAGE, "--resume %s: the earlier run loaded %s in batches "
				     "of %s rows; resume with the same table and --batch-rows",
				     c->o.resume_id, PQgetvalue(r, i, 2), PQgetvalue(r, i, 1));
			PQclear(r);
			return FA_EUSAGE;
		}
		c->done[c->ndone++] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
	}
	PQclear(r);
	return FA_OK;
}

static bool resume_done(const struct fa_copyin *c, uint64_t index)
{
	size_t lo = 0, hi = c->ndone;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->done[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->ndone && c->done[lo] == index;
}

static void put_char_option(struct fa_buf *b, const char *name, char ch)
{
	char s[2] = { ch, 0 };

	fa_buf_printf(b, ", %s ", name);
	fa_sql_quote_literal(b, s);
}

/* Binary COPY needs every loaded column's type encodable on the client. */
static bool binary_possible(const struct fa_copyin *c)
{
	if (!c->o.binary || c->o.format == FA_CI_NDJSON || !c->ncols)
		return false;
	for (int i = 0; i < c->ncols; i++)
		if (!fa_pgbin_supported(c->types[i]))
			return false;
	return true;
}

/* Why binary COPY cannot be used, for --encode binary. */
static const char *binary_obstacle(const struct fa_copyin *c)
{
	static __thread char why[256];

	if (c->o.format == FA_CI_NDJSON)
		return "NDJSON input is loaded as text";
	for (int i = 0; i < c->ncols; i++)
		if (!fa_pgbin_supported(c->types[i])) {
			snprintf(why, sizeof(why), "column \"%s\" has a type (oid %u) encoded only as text",
				 c->colnames[i], c->types[i]);
			return why;
		}
	return "not possible here";
}

/* COPY t (columns) FROM STDIN WITH (...), for csv/text; NDJSON builds its own. */
static void build_copy_sql(struct fa_copyin *c, PGconn *pg)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_buf_printf(&b, "COPY %s (", c->qualified);
	for (int i = 0; i < c->ncols; i++) {
		char *q = PQescapeIdentifier(pg, c->colnames[i], strlen(c->colnames[i]));

		fa_buf_printf(&b, "%s%s", i ? ", " : "", q ? q : "\"?\"");
		PQfreemem(q);
	}
	fa_buf_printf(&b, ") FROM STDIN WITH (FORMAT %s",
		      c->o.format == FA_CI_CSV ? "csv" : "text");
	if (c->o.format != FA_CI_NDJSON) {
		put_char_option(&b, "DELIMITER", c->ro.delim);
		if (c->o.format == FA_CI_CSV)
			put_char_option(&b, "QUOTE", c->ro.quote);
		if (c->o.null_str) {
			fa_buf_puts(&b, ", NULL ");
			fa_sql_quote_literal(&b, c->o.null_str);
		}
	}
	if (c->o.freeze)
		fa_buf_puts(&b, ", FREEZE");
	fa_buf_putc(&b, ')');
	c->copy_sql = fa_buf_detach(&b, NULL);
	if (binary_possible(c)) {
		size_t at = strstr(c->copy_sql, " FROM STDIN WITH (") - c->copy_sql;

		fa_buf_init(&b, 0);
		fa_buf_printf(&b, "%.*s FROM STDIN WITH (FORMAT binary%s)", (int)at, c->copy_sql,
			      c->o.freeze ? ", FREEZE" : "");
		c->copy_sql_bin = fa_buf_detach(&b, NULL);
		c->st.binary_used = true;
	}
}

/* ---- NDJSON: records are non-blank lines ---- */

/* A record's length without its LF or CRLF. */
static size_t record_len(const char *p, size_t n)
{
	if (n && p[n - 1] == '\n')
		n--;
	if (n && p[n - 1] == '\r')
		n--;
	return n;
}


static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Complete lines of data[0..n), at most max non-blank ones (0: any). */
static size_t nd_scan(const char *data, size_t n, size_t max, uint32_t *recs, uint64_t *lines,
		      bool final)
{
	size_t off = 0;

	while (off < n && (!max || *recs < max)) {
		const char *nl = memchr(data + off, '\n', n - off);
		size_t end = nl ? (size_t)(nl - data) : n;

		if (!nl && !final)
			break;
		*recs += !blank(data + off, end - off);
		*lines += 1;
		off = nl ? end + 1 : n;
	}
	return off;
}

/* The records of a batch, for isolating bad ones. */
static struct rec *batch_records(const struct fa_copyin *c, const struct batch *b)
{
	struct rec *r = calloc((size_t)b->nrec + 1, sizeof(*r));
	size_t k = 0;

	if (!r)
		return NULL;
	if (c->o.format == FA_CI_NDJSON) {
		uint64_t line = b->first_line;

		for (size_t off = 0; off < b->len && k < b->nrec; line++) {
			const char *nl = memchr(b->data + off, '\n', b->len - off);
			size_t end = nl ? (size_t)(nl - b->data) + 1 : b->len;

			if (!blank(b->data + off, end - off - (nl != NULL)))
				r[k++] = (struct rec){ off, end - off, record_len(b->data + off, end - off),
						       line };
			off = end;
		}
	} else {
		struct fa_rec_iter it;
		struct fa_rec_span sp;

		fa_rec_iter_init(&it, &c->ro, b->data, b->len, b->first_line);
		while (k < b->nrec && fa_rec_iter_next(&it, &sp))
			r[k++] = (struct rec){ sp.off, sp.size, sp.len, sp.line };
	}
	return r;
}

/* ---- the queue ---- */

static void add_range(struct ranges *r, uint64_t first, uint64_t last)
{
	if (r->n + 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		uint64_t *n = realloc(r->v, cap * sizeof(*n));

		if (!n)
			return;
		r->v = n;
		r->cap = cap;
	}
	r->v[r->n++] = first;
	r->v[r->n++] = last;
}

static enum fa_err enqueue(struct fa_copyin *c, struct batch *b)
{
	enum fa_err rc = FA_OK;

	pthread_mutex_lock(&c->mu);
	while (c->queued >= QUEUE_PER_JOB * c->nworkers && !c->failed && !c->cancelled)
		pthread_cond_wait(&c->cv, &c->mu);
	if (c->failed || c->cancelled) {
		rc = c->cancelled ? FA_EINTR : FA_EWORK;
		free(b->data);
		free(b);
	} else {
		if (c->qtail)
			c->qtail->next = b;
		else
			c->qhead = b;
		c->qtail = b;
		c->queued++;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Cuts pending[0..batch_bytes) into a batch for the workers. */
static enum fa_err emit_batch(struct fa_copyin *c, uint64_t next_line)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b || !(b->data = malloc(c->batch_bytes + 1))) {
		free(b);
		return FA_ENOMEM;
	}
	memcpy(b->data, c->pending.data, c->batch_bytes);
	b->len = c->batch_bytes;
	b->nrec = c->batch_recs;
	b->index = c->next_index++;
	b->first_line = c->batch_line;
	b->last_line = next_line > c->batch_line ? next_line - 1 : c->batch_line;
	fa_buf_consume(&c->pending, c->batch_bytes);
	pthread_mutex_lock(&c->mu);
	c->st.records += b->nrec;
	pthread_mutex_unlock(&c->mu);
	c->taken += b->nrec;
	c->batch_bytes = 0;
	c->batch_recs = 0;
	c->batch_line = next_line;
	return enqueue(c, b);
}

/* ---- cutting input into batches ---- */

/*
 * Finds complete records after the batch so far: at most max (0: any),
 * all that is left when final.  Sets *used, *nrec and *next_line.
 */
static enum fa_err scan_more(struct fa_copyin *c, bool final, size_t max, size_t *used,
			     uint32_t *nrec, uint64_t *next_line, struct fa_error *err)
{
	const char *data = c->pending.data + c->batch_bytes;
	size_t n = c->pending.len - c->batch_bytes;
	uint64_t before = c->scan.records;
	enum fa_err rc;

	*nrec = 0;
	if (c->o.format == FA_CI_NDJSON) {
		uint64_t lines = 0;

		*used = nd_scan(data ? data : "", n, max, nrec, &lines, final);
		c->nd_line += lines;
		*next_line = c->nd_line;
		return FA_OK;
	}
	rc = fa_rec_scan(&c->scan, data ? data : "", n, max, used, err);
	/* at the end, fewer records than asked means only an unterminated one is left */
	if (!rc && final && (!max || c->scan.records - before < max)) {
		size_t more = 0;

		rc = fa_rec_finish(&c->scan, data + *used, n - *used, &more, err);
		*used += more;
	}
	*nrec = (uint32_t)(c->scan.records - before);
	*next_line = c->scan.line;
	return rc;
}

/* The header record: its field names, for --header=match and --create. */
static enum fa_err read_header(struct fa_copyin *c, bool final, struct fa_buf *names,
			       int *nnames, bool *got, struct fa_error *err)
{
	struct fa_rec_field f[1600];
	struct fa_buf scratch;
	uint64_t line;
	uint32_t nrec;
	size_t used, nf;
	enum fa_err rc;

	*got = false;
	if ((rc = scan_more(c, final, 1, &used, &nrec, &line, err)) || !nrec)
		return rc;
	fa_buf_init(&scratch, MAX_RECORD_BYTES);
	rc = fa_rec_fields(&c->ro, c->pending.data, record_len(c->pending.data, used), 1, f, 1600,
			   &nf, &scratch, err);
	for (size_t i = 0; !rc && i < nf; i++) {
		fa_buf_append(names, f[i].ptr, f[i].len);
		fa_buf_putc(names, '\0');
	}
	*nnames = (int)nf;
	fa_buf_release(&scratch);
	fa_buf_consume(&c->pending, used);
	c->batch_line = line;
	*got = true;
	return rc;
}

/* --columns 'a, b' as NUL-separated names. */
static int split_columns(const char *list, struct fa_buf *out)
{
	int n = 0;

	while (list && *list) {
		size_t len = strcspn(list, ",");
		const char *s = list, *e = list + len;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		fa_buf_append(out, s, (size_t)(e - s));
		fa_buf_putc(out, '\0');
		n++;
		list += len + (list[len] == ',');
	}
	return n;
}

/* --create from NDJSON: the first object's keys, typed by their values. */
static enum fa_err create_from_json(struct fa_copyin *c, PGconn *pg, struct fa_error *err)
{
	const char *p = c->pending.data ? c->pending.data : "";
	const char *nl = memchr(p, '\n', c->pending.len);
	json_t *obj = json_loadb(p, nl ? (size_t)(nl - p) : c->pending.len, 0, NULL);
	const char *key, *types[1600];
	char *names[1600];
	json_t *v;
	int n = 0;
	enum fa_err rc;

	if (!json_is_object(obj)) {
		json_decref(obj);
		return fa_error_set(err, FA_EINPUT, "--create: line 1 is not a JSON object");
	}
	json_object_foreach(obj, key, v) {
		if (n == 1600)
			break;
		names[n] = (char *)key;
		types[n++] = json_is_boolean(v) ? "boolean" : json_is_number(v) ? "numeric" :
			json_is_object(v) || json_is_array(v) ? "jsonb" : "text";
	}
	rc = create_table(c, pg, names, types, n, err);
	json_decref(obj);
	return rc;
}

static enum fa_err create_from_header(struct fa_copyin *c, PGconn *pg, const char *names,
				      int n, struct fa_error *err)
{
	char **arr = calloc((size_t)n + 1, sizeof(*arr));
	enum fa_err rc;

	if (!arr)
		return FA_ENOMEM;
	for (int i = 0; i < n; i++, names += strlen(names) + 1)
		arr[i] = (char *)names;
	rc = create_table(c, pg, arr, NULL, n, err);
	free(arr);
	return rc;
}

static enum fa_err truncate_table(struct fa_copyin *c, PGconn *pg, struct fa_error *err)
{
	struct fa_buf sql;
	struct failure f;
	enum fa_err rc = FA_OK;

	fa_buf_init(&sql, 0);
	fa_buf_printf(&sql, "TRUNCATE %s", c->qualified);
	if (exec_sql(pg, sql.data, 0, NULL, NULL, &f))
		rc = fail_err(err, FA_EWORK, &f, "--truncate");
	fa_buf_release(&sql);
	return rc;
}

static enum fa_err start_ndjson(struct fa_copyin *c, struct fa_error *err)
{
	struct fa_ndjson_col *cols = calloc((size_t)c->ncols + 1, sizeof(*cols));
	enum fa_err rc = cols ? FA_OK : FA_ENOMEM;

	for (int i = 0; i < c->ncols && cols; i++)
		cols[i] = (struct fa_ndjson_col){ c->colnames[i], c->types[i] };
	for (int w = 0; w < c->nworkers && !rc; w++) {
		rc = fa_ndjson_init(&c->workers[w].nd, cols, c->ncols, false, err);
		c->workers[w].nd_ready = rc == FA_OK;
	}
	free(cols);
	return rc;
}

/* Everything that needs the header (or the first line): once, before batch 0. */
static enum fa_err prepare(struct fa_copyin *c, const char *hnames, int nh, struct fa_error *err)
{
	PGconn *pg = c->workers[0].pg;
	struct fa_buf cols;
	struct failure f;
	enum fa_err rc = FA_OK;
	int n = 0;

	fa_buf_init(&cols, 0);
	if (c->o.create && !table_exists(pg, c->o.table)) {
		if (c->o.format == FA_CI_NDJSON)
			rc = create_from_json(c, pg, err);
		else if (nh)
			rc = create_from_header(c, pg, hnames, nh, err);
		else
			rc = fa_error_set(err, FA_EUSAGE, "--create needs a header (--header) or NDJSON");
	}
	n = c->o.header_match ? nh : split_columns(c->o.columns, &cols);
	if (!rc)
		rc = describe_table(c, pg, c->o.header_match ? hnames : cols.data, n, err);
	fa_buf_release(&cols);
	if (!rc && c->o.resume_id)
		rc = load_resume_state(c, pg, err);
	if (!rc && c->o.atomic && exec_sql(pg, "BEGIN", 0, NULL, NULL, &f))
		rc = fail_err(err, FA_EWORK, &f, "BEGIN");
	if (!rc && c->o.truncate && !c->ndone)  /* a rerun keeps what the first run loaded */
		rc = truncate_table(c, pg, err);
	if (!rc)
		build_copy_sql(c, pg);
	if (!rc && c->o.binary_only && !c->copy_sql_bin)
		rc = fa_error_set(err, FA_EUSAGE, "--encode binary: %s", binary_obstacle(c));
	for (int i = 0; !rc && i < c->nworkers; i++)
		if (!(c->workers[i].fields = calloc((size_t)c->ncols + 2, sizeof(struct fa_rec_field))))
			rc = FA_ENOMEM;
	if (!rc && c->o.format == FA_CI_NDJSON)
		rc = start_ndjson(c, err);
	c->prepared = rc == FA_OK;
	return rc;
}

static enum fa_err take_header(struct fa_copyin *c, bool final, bool *wait,
			       struct fa_error *err)
{
	struct fa_buf names;
	enum fa_err rc = FA_OK;
	bool got = true;
	int n = 0;

	fa_buf_init(&names, 0);
	*wait = false;
	if (c->o.header && c->o.format != FA_CI_NDJSON)
		rc = read_header(c, final, &names, &n, &got, err);
	else if (c->o.format == FA_CI_NDJSON && c->o.create && !final &&
		 !memchr(c->pending.data ? c->pending.data : "", '\n', c->pending.len))
		got = false;            /* --create needs the first line whole */
	if (!rc && !got) {
		*wait = !final;
		if (final && c->o.header)
			rc = prepare(c, NULL, 0, err);  /* empty input */
	} else if (!rc) {
		c->header_done = true;
		rc = prepare(c, names.data, n, err);
	}
	fa_buf_release(&names);
	return rc;
}

/* How many more records the current batch may take (0: none, limit hit). */
static size_t room(const struct fa_copyin *c)
{
	uint64_t r = (uint64_t)c->o.batch_rows - c->batch_recs;

	if (c->o.limit && c->taken + c->batch_recs + r > (uint64_t)c->o.limit)
		r = (uint64_t)c->o.limit - c->taken - c->batch_recs;
	return (size_t)r;
}

static enum fa_err skip_records(struct fa_copyin *c, bool final, bool *wait,
				struct fa_error *err)
{
	uint64_t next;
	uint32_t nrec;
	size_t used;
	enum fa_err rc = scan_more(c, false, (size_t)c->to_skip, &used, &nrec, &next, err);

	fa_buf_consume(&c->pending, used);
	c->to_skip -= nrec;
	c->batch_line = next;
	*wait = !rc && !nrec;
	if (*wait && final)
		c->to_skip = 0; /* fewer records than --skip: nothing to load */
	return rc;
}

/* Cuts as many batches as the pending input allows; all of it when final. */
static enum fa_err cut(struct fa_copyin *c, bool final, struct fa_error *err)
{
	enum fa_err rc = FA_OK;
	bool wait;

	while (!rc && !c->input_done) {
		size_t used, max;
		uint32_t nrec;
		uint64_t next;

		if (!c->header_done && !c->prepared) {
			if ((rc = take_header(c, final, &wait, err)) || wait)
				return rc;
			c->header_done = true;
			continue;
		}
		if (c->to_skip > 0) {
			if ((rc = skip_records(c, final, &wait, err)) || (wait && !final))
				return rc;
			continue;
		}
		if ((max = room(c)) == 0) {
			c->input_done = true;
			return c->batch_recs ? emit_batch(c, c->batch_line) : FA_OK;
		}
		rc = scan_more(c, false, max, &used, &nrec, &next, err);
		c->batch_bytes += used;
		c->batch_recs += nrec;
		if (rc)
			break;
		if (c->batch_recs >= (uint32_t)c->o.batch_rows || c->batch_bytes >= MAX_BATCH_BYTES ||
		    (c->o.limit && c->taken + c->batch_recs >= (uint64_t)c->o.limit)) {
			rc = emit_batch(c, next);
			continue;
		}
		if (nrec)
			continue;
		if (!final)
			return FA_OK;
		rc = scan_more(c, true, 0, &used, &nrec, &next, err);
		c->batch_bytes += used;
		c->batch_recs += nrec;
		c->input_done = true;
		if (!rc && c->batch_recs)
			rc = emit_batch(c, next + (used && c->pending.data[c->batch_bytes - 1] != '\n'));
	}
	/* a malformed record (UTF-8, quoting): the records before it still load */
	if (rc == FA_EINPUT && c->batch_recs)
		emit_batch(c, c->scan.line);
	return rc;
}

bool fa_copyin_input_done(const struct fa_copyin *c)
{
	return c->input_done;
}

enum fa_err fa_copyin_feed(struct fa_copyin *c, const void *data, size_t n,
			   struct fa_error *err)
{
	if (c->input_done)
		return FA_OK;
	if (c->failed || c->cancelled)
		return fa_error_set(err, c->cancelled ? FA_EINTR : FA_EWORK, "the load stopped");
	if (fa_buf_append(&c->pending, data, n))
		return fa_error_set(err, FA_EINPUT, "line %llu: a record longer than %u MiB",
				    (unsigned long long)c->batch_line, MAX_RECORD_BYTES >> 20);
	pthread_mutex_lock(&c->mu);
	c->st.bytes += n;
	pthread_mutex_unlock(&c->mu);
	return cut(c, false, err);
}

/* ---- loading: COPY, savepoints, isolating bad records ---- */

/* "COPY t, line 42, column x: ..." : the line (from 1) of the COPY data. */
static long context_line(PGresult *r)
{
	const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
	const char *at = ctx ? strstr(ctx, ", line ") : NULL;

	return at ? strtol(at + 7, NULL, 10) : -1;
}

static void take_failure(PGconn *pg, PGresult *r, struct failure *f, long *line)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", st ? st : "");
	snprintf(f->message, sizeof(f->message), "%s", m ? m : PQerrorMessage(pg));
	f->bad = -1;
	*line = r ? context_line(r) : -1;
}

/*
 * One COPY of data[0..len) with sql; on failure fills f and *line with the
 * server's line (from 1, within data) when it named one.  Sets end_sent
 * once the end of the data went out: an autocommit COPY may commit from
 * then on, whether or not its answer arrives.
 */
static enum fa_err copy_data(struct worker *w, const char *sql, const char *data, size_t len,
			     struct failure *f, long *line)
{
	PGconn *pg = w->pg;
	PGresult *r = PQexec(pg, sql);
	enum fa_err rc = FA_OK;
	size_t off = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		take_failure(pg, r, f, line);
		PQclear(r);
		return PQstatus(pg) == CONNECTION_BAD ? FA_ECONNECT : FA_EWORK;
	}
	PQclear(r);
	while (off < len) {
		size_t n = len - off < (1u << 20) ? len - off : (1u << 20);

		if (PQputCopyData(pg, data + off, (int)n) != 1)
			break;
		off += n;
	}
	if (PQputCopyEnd(pg, off < len ? "fa-copy: could not send the data" : NULL) == 1 &&
	    off == len)
		w->end_sent = true;
	while ((r = PQgetResult(pg))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == FA_OK) {
			take_failure(pg, r, f, line);
			rc = FA_EWORK;
		}
		PQclear(r);
	}
	if (PQstatus(pg) == CONNECTION_BAD) {
		if (rc == FA_OK)
			take_failure(pg, NULL, f, line);
		rc = FA_ECONNECT;
	}
	return rc;
}

/* The record of recs[lo..hi) holding absolute input line abs, or -1. */
static long record_at_line(const struct rec *recs, long lo, long hi, uint64_t abs)
{
	long found = -1;

	for (long i = lo; i < hi && recs[i].line <= abs; i++)
		found = i;
	return found;
}

/* NDJSON rows sharing one set of keys, loaded by one COPY of those columns. */
struct group {
	uint64_t *sig;
	struct fa_buf rows;
	long *idx;                      /* batch record of each row */
	long n, cap;
};

static struct group *group_for(struct group *g, int *ng, const uint64_t *sig, size_t words)
{
	for (int i = 0; i < *ng; i++)
		if (!memcmp(g[i].sig, sig, words * sizeof(*sig)))
			return &g[i];
	if (*ng == 64)
		return NULL;
	g[*ng].sig = malloc(words * sizeof(*sig));
	memcpy(g[*ng].sig, sig, words * sizeof(*sig));
	fa_buf_init(&g[*ng].rows, 0);
	return &g[(*ng)++];
}

static void group_add(struct group *g, long rec)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->idx = realloc(g->idx, (size_t)g->cap * sizeof(*g->idx));
	}
	g->idx[g->n++] = rec;
}

/* COPY t (the present columns) FROM STDIN; no column at all: DEFAULT VALUES. */
static void group_sql(const struct fa_copyin *c, PGconn *pg, const struct group *g,
		      struct fa_buf *sql)
{
	int k = 0;

	fa_buf_reset(sql);
	fa_buf_printf(sql, "COPY %s (", c->qualified);
	for (int i = 0; i < c->ncols; i++) {
		if (!fa_ndjson_has(g->sig, i))
			continue;
		char *q = PQescapeIdentifier(pg, c->colnames[i], strlen(c->colnames[i]));

		fa_buf_printf(sql, "%s%s", k++ ? ", " : "", q ? q : "\"?\"");
		PQfreemem(q);
	}
	fa_buf_puts(sql, ") FROM STDIN");
	if (!k) {
		fa_buf_reset(sql);
		fa_buf_printf(sql, "INSERT INTO %s SELECT FROM pg_catalog.generate_series(1, %ld)",
			      c->qualified, g->n);
	}
}

static enum fa_err copy_group(struct worker *w, const struct group *g, struct failure *f)
{
	struct fa_buf sql;
	enum fa_err rc;
	long line = -1;

	fa_buf_init(&sql, 0);
	group_sql(w->c, w->pg, g, &sql);
	if (strncmp(sql.data, "INSERT", 6) == 0)
		rc = exec_sql(w->pg, sql.data, 0, NULL, NULL, f);
	else
		rc = copy_data(w, sql.data, g->rows.data ? g->rows.data : "", g->rows.len, f, &line);
	if (rc && line >= 1 && line <= g->n)
		f->bad = g->idx[line - 1];
	fa_buf_release(&sql);
	return rc;
}

/* NDJSON records [lo, hi), grouped by key set, one COPY per group. */
static enum fa_err copy_ndjson(struct worker *w, const struct batch *b, const struct rec *recs,
			       long lo, long hi, const unsigned char *skip, struct failure *f)
{
	size_t words = FA_NDJSON_WORDS(w->c->ncols);
	uint64_t sig[64];
	struct group g[64];
	struct fa_error err;
	enum fa_err rc = FA_OK;
	int ng = 0;

	memset(g, 0, sizeof(g));
	for (long i = lo; i < hi && !rc; i++) {
		struct group *gr;

		if (skip[i] || fa_ndjson_parse(&w->nd, b->data + recs[i].off,
					       record_len(b->data + recs[i].off, recs[i].size),
					       sig, &err) != 1)
			continue;
		if (!(gr = group_for(g, &ng, sig, words)))
			rc = FA_ENOMEM;
		else if (!(rc = fa_ndjson_emit(&w->nd, true, &gr->rows, &err)))
			group_add(gr, i);
	}
	for (int i = 0; i < ng && !rc; i++)
		rc = copy_group(w, &g[i], f);
	for (int i = 0; i < ng; i++) {
		free(g[i].sig);
		free(g[i].idx);
		fa_buf_release(&g[i].rows);
	}
	return rc;
}

/* Newlines inside the first record of data (quoted CSV fields). */
static uint64_t first_record_newlines(const struct fa_rec_opts *ro, const char *data, size_t len,
				      uint64_t first_line)
{
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	uint64_t n = 0;

	if (ro->format != FA_REC_CSV)
		return 0;
	fa_rec_iter_init(&it, ro, data, len, first_line);
	if (!fa_rec_iter_next(&it, &sp))
		return 0;
	for (size_t i = 0; i < sp.len; i++)
		n += data[sp.off + i] == '\n';
	return n;
}

/*
 * Encodes the records of data[0..len) in binary COPY format into w->conv.
 * False when any record will not encode faithfully (a field count the
 * table does not have, a value the server would reject or read through
 * session settings): the caller then sends the text, and the server rules.
 */
static bool encode_binary(struct worker *w, const char *data, size_t len, uint64_t first_line)
{
	const struct fa_copyin *c = w->c;
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	struct fa_error err;
	size_t nf;

	fa_buf_reset(&w->conv);
	fa_pgbin_header(&w->conv);
	fa_rec_iter_init(&it, &c->ro, data, len, first_line);
	while (fa_rec_iter_next(&it, &sp)) {
		if (fa_rec_fields(&c->ro, data + sp.off, sp.len, sp.line, w->fields,
				  (size_t)c->ncols + 1, &nf, &w->scratch, &err) ||
		    nf != (size_t)c->ncols || fa_pgbin_row_begin(&w->conv, c->ncols))
			return false;
		for (size_t i = 0; i < nf; i++)
			if (fa_pgbin_field(&w->conv, c->types[i], w->fields[i].ptr, w->fields[i].len,
					   w->fields[i].is_null, &err))
				return false;
	}
	return fa_pgbin_trailer(&w->conv) == FA_OK;
}

/*
 * The first line of a record of data: the nth (from 1), or the one that
 * holds line end_line.
 */
static uint64_t record_start(const struct fa_rec_opts *ro, const char *data, size_t len,
			     uint64_t first_line, uint64_t nth, uint64_t end_line)
{
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	uint64_t k = 0, found = end_line;

	fa_rec_iter_init(&it, ro, data, len, first_line);
	while (fa_rec_iter_next(&it, &sp)) {
		if (++k == nth)
			return sp.line;
		if (!nth && sp.line > end_line)
			break;
		found = sp.line;
	}
	return nth ? first_line : found;
}

/* Loads records [lo, hi) of b (all of it when recs is NULL). */
static enum fa_err copy_range(struct worker *w, const struct batch *b, const struct rec *recs,
			      long lo, long hi, const unsigned char *skip, struct failure *f)
{
	const char *data = b->data;
	size_t len = b->len;
	uint64_t first = b->first_line;
	enum fa_err rc;
	long line = -1;

	f->bad = -1;
	f->line = 0;
	if (w->c->o.format == FA_CI_NDJSON) {
		rc = copy_ndjson(w, b, recs, lo, hi, skip, f);
		if (rc && f->bad >= 0)
			f->line = recs[f->bad].line;
		return rc;
	}
	if (recs) {
		data = b->data + recs[lo].off;
		len = recs[hi - 1].off + recs[hi - 1].size - recs[lo].off;
		first = recs[lo].line;
	}
	if (w->c->copy_sql_bin && encode_binary(w, data, len, first)) {
		/* binary rows are one line each to COPY: the named line is a record */
		rc = copy_data(w, w->c->copy_sql_bin, w->conv.data, w->conv.len, f, &line);
		if (rc && line >= 1)
			f->line = record_start(&w->c->ro, data, len, first, (uint64_t)line, 0);
		if (rc && line >= 1 && recs)
			f->bad = lo + line - 1 < hi ? lo + line - 1 : -1;
		return rc;
	}
	rc = copy_data(w, w->c->copy_sql, data, len, f, &line);
	if (rc && line >= 1) {
		/*
		 * COPY names the line where the record ends, counting newlines
		 * inside quotes, except in the stream's first record (it does
		 * not know the line ending yet): add those back.
		 */
		uint64_t end = first + (uint64_t)line - 1 +
			first_record_newlines(&w->c->ro, data, len, first);

		if (recs)
			f->bad = record_at_line(recs, lo, hi, end);
		/* name the record by its first line, as the reject log does */
		f->line = record_start(&w->c->ro, data, len, first, 0, end);
	}
	return rc;
}

static long live(const unsigned char *skip, long lo, long hi)
{
	long n = 0;

	for (long i = lo; i < hi; i++)
		n += !skip || !skip[i];
	return n;
}

/* copy_range inside a savepoint when asked, so a failure leaves the transaction usable. */
static enum fa_err attempt(struct worker *w, const struct batch *b, const struct rec *recs,
			   long lo, long hi, const unsigned char *skip, bool sp, struct failure *f)
{
	struct failure f2;
	enum fa_err rc;

	if (sp && exec_sql(w->pg, "SAVEPOINT fa_copy", 0, NULL, NULL, f))
		return FA_EWORK;
	rc = copy_range(w, b, recs, lo, hi, skip, f);
	if (sp && exec_sql(w->pg, rc ? "ROLLBACK TO SAVEPOINT fa_copy; RELEASE SAVEPOINT fa_copy" :
			   "RELEASE SAVEPOINT fa_copy", 0, NULL, NULL, &f2)) {
		*f = f2;
		snprintf(f->sqlstate, sizeof(f->sqlstate), "XX000");   /* fatal: stop */
		return FA_EWORK;
	}
	return rc;
}

/* A held reject in worker.held: this, the record, the message and its NUL. */
struct held {
	uint64_t line;
	size_t len, mlen;
	char sqlstate[8];
};

/*
 * Holds a rejected record until its batch commits: a batch rolled back
 * and loaded again (after a lost connection) must not reject it twice.
 */
static enum fa_err reject(struct worker *w, const struct batch *b, const struct rec *r,
			  const char *sqlstate, const char *message, struct failure *f)
{
	struct held h = { .line = r->line, .len = r->len, .mlen = strlen(message) };

	snprintf(h.sqlstate, sizeof(h.sqlstate), "%s", sqlstate);
	if (fa_buf_append(&w->held, &h, sizeof(h)) ||
	    fa_buf_append(&w->held, b->data + r->off, r->len) ||
	    fa_buf_append(&w->held, message, h.mlen + 1)) {
		snprintf(f->sqlstate, sizeof(f->sqlstate), "54000");
		snprintf(f->message, sizeof(f->message), "the rejected records of one batch take "
			 "over %u MiB: use a smaller --batch-rows", MAX_HELD_BYTES >> 20);
		f->line = r->line;
		return FA_ENOMEM;
	}
	w->rejected++;
	return FA_OK;
}

/* The held rejects of a committed batch to on_reject; with c->mu held. */
static void deliver_rejects(struct worker *w)
{
	const struct fa_copyin *c = w->c;
	size_t off = 0;

	while (off + sizeof(struct held) <= w->held.len) {
		struct held h;
		const char *rec = w->held.data + off + sizeof(h);

		memcpy(&h, w->held.data + off, sizeof(h));
		if (c->o.on_reject)
			c->o.on_reject(c->o.ctx, h.line, rec, h.len, h.sqlstate, rec + h.len);
		off += sizeof(h) + h.len + h.mlen + 1;
	}
	fa_buf_reset(&w->held);
}

static enum fa_err isolate(struct worker *w, const struct batch *b, const struct rec *recs,
			   long lo, long hi, unsigned char *skip, struct failure *f);

/* Loads [lo, hi); what fails is isolated further.  An error that stops the batch goes to out. */
static enum fa_err load_part(struct worker *w, const struct batch *b, const struct rec *recs,
			     long lo, long hi, unsigned char *skip, struct failure *out)
{
	struct failure f;
	enum fa_err rc;
	long n = live(skip, lo, hi);

	if (!n)
		return FA_OK;
	if ((rc = attempt(w, b, recs, lo, hi, skip, true, &f)) == FA_OK) {
		w->loaded += (uint64_t)n;
		return FA_OK;
	}
	if (rc == FA_EWORK && !fatal_state(f.sqlstate))
		rc = isolate(w, b, recs, lo, hi, skip, &f);
	if (rc)
		*out = f;
	return rc;
}

/*
 * [lo, hi) failed with f: reject the record the server named and load the
 * rest around it, or split in two when it named none.  An error that stops
 * the batch replaces f.
 */
static enum fa_err isolate(struct worker *w, const struct batch *b, const struct rec *recs,
			   long lo, long hi, unsigned char *skip, struct failure *f)
{
	long bad = f->bad, mid;
	enum fa_err rc;

	if (live(skip, lo, hi) == 1) {
		while (skip && skip[lo])
			lo++;
		bad = lo;
	}
	if (bad >= lo && bad < hi && !(skip && skip[bad])) {
		if ((rc = load_part(w, b, recs, lo, bad, skip, f)) ||
		    (rc = reject(w, b, &recs[bad], f->sqlstate, f->message, f)))
			return rc;
		return load_part(w, b, recs, bad + 1, hi, skip, f);
	}
	mid = lo + (hi - lo) / 2;
	if ((rc = load_part(w, b, recs, lo, mid, skip, f)))
		return rc;
	return load_part(w, b, recs, mid, hi, skip, f);
}

/* NDJSON lines are checked here first: a malformed one never reaches the server. */
static enum fa_err ndjson_check(struct worker *w, const struct batch *b, const struct rec *recs,
				unsigned char *skip, struct failure *f)
{
	uint64_t sig[64];
	struct fa_error err;
	enum fa_err rc;

	for (long i = 0; i < (long)b->nrec; i++) {
		if (fa_ndjson_parse(&w->nd, b->data + recs[i].off,
				    record_len(b->data + recs[i].off, recs[i].size), sig, &err) >= 0)
			continue;
		if (!w->c->o.rejects) {
			snprintf(f->sqlstate, sizeof(f->sqlstate), "22P02");
			snprintf(f->message, sizeof(f->message), "%s", err.msg);
			f->line = recs[i].line;
			return FA_EINPUT;
		}
		skip[i] = 1;
		if ((rc = reject(w, b, &recs[i], "22P02", err.msg, f)))
			return rc;
	}
	return FA_OK;
}

static enum fa_err record_progress(struct worker *w, const struct batch *b, struct failure *f)
{
	const struct fa_copyin *c = w->c;
	char idx[24], rows[24], first[24], last[24], loaded[24], rejected[24];
	const char *p[8] = { c->o.resume_id, c->qualified, idx, rows, first, last, loaded, rejected };

	snprintf(idx, sizeof(idx), "%llu", (unsigned long long)b->index);
	snprintf(rows, sizeof(rows), "%ld", c->o.batch_rows);
	snprintf(first, sizeof(first), "%llu", (unsigned long long)b->first_line);
	snprintf(last, sizeof(last), "%llu", (unsigned long long)b->last_line);
	snprintf(loaded, sizeof(loaded), "%llu", (unsigned long long)w->loaded);
	snprintf(rejected, sizeof(rejected), "%llu", (unsigned long long)w->rejected);
	return exec_sql(w->pg, "INSERT INTO " PROGRESS_TABLE " (id, target, batch, batch_rows, "
			"first_line, last_line, loaded, rejected) VALUES ($1, $2, $3, $4, $5, $6, "
			"$7, $8)", 8, p, NULL, f);
}

/* The connection is gone (rc may be a statement's error the loss caused). */
static bool lost(const struct worker *w, enum fa_err rc)
{
	return rc == FA_ECONNECT || !w->pg || PQstatus(w->pg) == CONNECTION_BAD;
}

/*
 * Loads one batch: whole, or with its bad records isolated; commits it.
 * When the connection is lost after the COMMIT (or an autocommit COPY's
 * end) went out, the batch may have committed: in_doubt says so.
 */
static enum fa_err load_batch(struct worker *w, const struct batch *b, struct failure *f)
{
	const struct fa_copyin *c = w->c;
	/* NDJSON may take several COPYs (one per key set): one transaction */
	bool txn = !c->o.atomic && (c->o.resume_id || c->o.rejects || c->o.format == FA_CI_NDJSON);
	bool sp = c->o.rejects && (txn || c->o.atomic);
	unsigned char *skip = calloc(b->nrec + 1, 1);
	struct rec *recs = NULL;
	enum fa_err rc = FA_OK;
	bool commit_sent = false;

	w->end_sent = w->in_doubt = w->progress_dup = false;
	if (txn)
		rc = exec_sql(w->pg, "BEGIN", 0, NULL, NULL, f);
	if (!rc && c->o.format == FA_CI_NDJSON && (recs = batch_records(c, b)))
		rc = ndjson_check(w, b, recs, skip, f);
	if (!rc && (rc = attempt(w, b, recs, 0, b->nrec, skip, sp, f)) == FA_OK)
		w->loaded = b->nrec - w->rejected;
	if (rc == FA_EWORK && c->o.rejects && !fatal_state(f->sqlstate)) {
		if (!recs)
			recs = batch_records(c, b);
		rc = isolate(w, b, recs, 0, b->nrec, skip, f);
	}
	if (!rc && c->o.resume_id && (rc = record_progress(w, b, f)) == FA_EWORK)
		w->progress_dup = strcmp(f->sqlstate, "23505") == 0;
	if (txn && !rc) {
		commit_sent = true;
		rc = exec_sql(w->pg, "COMMIT", 0, NULL, NULL, f);
	} else if (txn && !lost(w, rc)) {
		exec_sql(w->pg, "ROLLBACK", 0, NULL, NULL, NULL);
	}
	if (rc && lost(w, rc) && !c->o.atomic)
		w->in_doubt = txn ? commit_sent : w->end_sent;
	free(recs);
	free(skip);
	return rc;
}

/* ---- lost connections: reconnecting, and batches whose COMMIT went unanswered ---- */

/* Formats a line for on_notice; the callback runs under c->mu, as on_reject does. */
static void notice(struct fa_copyin *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notice(struct fa_copyin *c, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (!c->o.on_notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	c->o.on_notice(c->o.ctx, msg);
	pthread_mutex_unlock(&c->mu);
}

/* The first line of a message (libpq's go on with hints on further lines). */
static const char *first_line(char *out, size_t n, const char *msg)
{
	size_t len = strcspn(msg, "\n");

	snprintf(out, n, "%.*s", (int)len, msg);
	return out;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * How long to wait before reconnection attempt n (from 1): not at all for
 * the first, then 0.5 s doubling up to 5 s, each drawn from [d/2, d] so
 * that workers which lost the server together do not come back together.
 */
static long backoff_ms(int n, uint64_t *rng)
{
	long d = RETRY_FIRST_MS;

	if (n <= 1)
		return 0;
	for (int i = 2; i < n && d < RETRY_CAP_MS; i++)
		d *= 2;
	if (d > RETRY_CAP_MS)
		d = RETRY_CAP_MS;
	/* xorshift64 */
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return d / 2 + (long)(*rng % (uint64_t)(d / 2 + 1));
}

static bool interrupted(const struct fa_copyin *c)
{
	return c->o.interrupted && *c->o.interrupted;
}

/*
 * Waits ms, or less when the load stops meanwhile: false then.  A signal
 * wakes no condition variable, so the wait goes in slices of 0.1 s.
 */
static bool pause_ms(struct fa_copyin *c, long ms)
{
	uint64_t end = now_ms() + (uint64_t)ms, now;
	struct timespec ts;
	bool go;

	pthread_mutex_lock(&c->mu);
	while (!c->failed && !c->cancelled && !interrupted(c) && (now = now_ms()) < end) {
		long slice = end - now < 100 ? (long)(end - now) : 100;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += slice * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	go = !c->failed && !c->cancelled && !interrupted(c);
	pthread_mutex_unlock(&c->mu);
	return go;
}

/* Takes pg as the worker's connection (NULL: drops the one it has). */
static void set_connection(struct worker *w, PGconn *pg)
{
	struct fa_copyin *c = w->c;
	PGcancel *cancel = pg ? PQgetCancel(pg) : NULL, *old_cancel;
	PGconn *old = w->pg;

	if (pg)
		PQsetNoticeProcessor(pg, quiet_notice, NULL);
	pthread_mutex_lock(&c->mu);             /* fa_copyin_cancel reads it */
	old_cancel = w->cancel;
	w->cancel = cancel;
	w->pg = pg;
	pthread_mutex_unlock(&c->mu);
	PQfreeCancel(old_cancel);
	PQfinish(old);
}

/*
 * After a lost connection (f says why): connects again, at once, then
 * after growing waits, while the batch has attempts left (*attempt counts
 * them).  FA_ECONNECT with f saying why when it gives up; FA_EINTR when
 * the load stops meanwhile.
 */
static enum fa_err reconnect(struct worker *w, int *attempt, struct failure *f)
{
	struct fa_copyin *c = w->c;
	struct fa_error err = { 0 };
	char loss[400], reason[512], when[32];
	uint64_t t0 = now_ms();
	int first = *attempt + 1;

	first_line(loss, sizeof(loss), f->message[0] ? f->message : "no answer");
	snprintf(reason, sizeof(reason), "connection lost (%s)", loss);
	set_connection(w, NULL);
	while (*attempt < c->o.retries) {
		long ms = backoff_ms(++*attempt, &w->rng);
		PGconn *pg;

		if (ms)
			snprintf(when, sizeof(when), "in %.1f s", (double)ms / 1000);
		else
			snprintf(when, sizeof(when), "now");
		notice(c, "worker %d: %s; reconnecting %s (attempt %d of %d)", w->id, reason, when,
		       *attempt, c->o.retries);
		if (!pause_ms(c, ms)) {
			snprintf(f->message, sizeof(f->message), "connection lost (%s)", loss);
			return c->cancelled || interrupted(c) ? FA_EINTR : FA_ECONNECT;
		}
		if ((pg = fa_pg_connect(c->o.target, "fa-copy", &err))) {
			set_connection(w, pg);
			pthread_mutex_lock(&c->mu);
			c->st.reconnects++;
			pthread_mutex_unlock(&c->mu);
			notice(c, "worker %d: reconnected after %d attempt%s in %.1f s", w->id,
			       *attempt - first + 1, *attempt > first ? "s" : "",
			       (double)(now_ms() - t0) / 1000);
			return FA_OK;
		}
		first_line(reason, sizeof(reason), err.msg);
	}
	snprintf(f->sqlstate, sizeof(f->sqlstate), "08006");
	if (c->o.retries)
		snprintf(f->message, sizeof(f->message), "connection lost (%s); no connection after "
			 "%d attempts (--retries %d): %s", loss, *attempt, c->o.retries,
			 *attempt >= first ? reason : "no attempts left for this batch");
	else
		snprintf(f->message, sizeof(f->message), "connection lost (%s); --retries 0", loss);
	return FA_ECONNECT;
}

/* Whether batch b is recorded in fa_copy_progress; if so its counts become the worker's. */
static enum fa_err look_up(struct worker *w, const struct batch *b, bool *found,
			   struct failure *f)
{
	char idx[24];
	const char *p[2] = { w->c->o.resume_id, idx };
	PGresult *r;
	enum fa_err rc;

	snprintf(idx, sizeof(idx), "%llu", (unsigned long long)b->index);
	rc = exec_sql(w->pg, "SELECT loaded, rejected FROM " PROGRESS_TABLE
		      " WHERE id = $1 AND batch = $2", 2, p, &r, f);
	if (rc)
		return rc;
	if ((*found = PQntuples(r) == 1)) {
		w->loaded = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		w->rejected = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return FA_OK;
}

/*
 * Connects again after a loss and settles a COMMIT left in doubt by
 * looking the batch up: *done when it committed.  Clears *doubt once
 * settled either way.
 */
static enum fa_err recover(struct worker *w, const struct batch *b, int *attempt, bool *doubt,
			   bool *done, struct failure *f)
{
	enum fa_err rc;
	bool found;

	*done = false;
	for (;;) {
		if ((rc = reconnect(w, attempt, f)) || !*doubt)
			return rc;
		if ((rc = look_up(w, b, &found, f)) == FA_OK)
			break;
		if (!lost(w, rc))
			return rc;
	}
	*doubt = false;
	*done = found;
	notice(w->c, "batch %llu (lines %llu-%llu): commit unknown, %s",
	       (unsigned long long)b->index, (unsigned long long)b->first_line,
	       (unsigned long long)b->last_line,
	       found ? "found committed" : "not committed: loading it again");
	return FA_OK;
}

/*
 * Runs one batch to its end.  With resume bookkeeping a lost connection is
 * not the end: the worker reconnects (at most retries times for the batch)
 * and loads the batch again, unless the lost attempt turns out to have
 * committed.  A batch loaded again after its first attempt committed
 * unseen (the server answered late) trips on its progress row's key: that
 * settles it too, so a batch never loads twice.
 */
static enum fa_err run_batch(struct worker *w, const struct batch *b, struct failure *f)
{
	struct fa_copyin *c = w->c;
	bool retry = c->o.resume_id && !c->o.atomic;
	bool doubt = false, ever_doubt = false, done, found;
	int attempt = 0;
	enum fa_err rc;

	for (;;) {
		w->loaded = w->rejected = 0;
		fa_buf_reset(&w->held);
		memset(f, 0, sizeof(*f));
		if (!w->pg) {
			rc = FA_ECONNECT;
			snprintf(f->message, sizeof(f->message), "no connection");
		} else if ((rc = load_batch(w, b, f)) == FA_OK) {
			return FA_OK;
		}
		if (ever_doubt && w->progress_dup && look_up(w, b, &found, f) == FA_OK && found) {
			notice(c, "batch %llu (lines %llu-%llu): committed by the attempt whose COMMIT "
			       "went unanswered", (unsigned long long)b->index,
			       (unsigned long long)b->first_line, (unsigned long long)b->last_line);
			return FA_OK;
		}
		doubt = doubt || w->in_doubt;
		ever_doubt = ever_doubt || doubt;
		if (!lost(w, rc))
			break;
		if (!retry) {
			char why[400];

			snprintf(f->message, sizeof(f->message), "connection lost (%s)",
				 first_line(why, sizeof(why), f->message[0] ? f->message : "no answer"));
			rc = FA_ECONNECT;
			break;
		}
		if ((rc = recover(w, b, &attempt, &doubt, &done, f)) || done)
			break;
	}
	w->in_doubt = doubt;
	return rc;
}

/* ---- workers ---- */

static void finish_batch(struct worker *w, const struct batch *b, enum fa_err rc,
			 const struct failure *f)
{
	struct fa_copyin *c = w->c;

	pthread_mutex_lock(&c->mu);
	if (rc == FA_OK) {
		c->st.loaded += w->loaded;
		c->st.rejected += w->rejected;
		c->st.batches_committed++;
		add_range(&c->committed, b->first_line, b->last_line);
		deliver_rejects(w);
	} else {
		c->st.batches_failed++;
		if (w->in_doubt)
			add_range(&c->unknown, b->first_line, b->last_line);
		if (!c->failed && !c->cancelled) {
			c->fail_code = rc;
			c->st.fail_line = f->line ? f->line : b->first_line;
			c->fail_last = b->last_line;
			snprintf(c->st.fail_sqlstate, sizeof(c->st.fail_sqlstate), "%s", f->sqlstate);
			snprintf(c->st.fail_message, sizeof(c->st.fail_message), "%s", f->message);
		}
		c->failed = true;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Takes the next batch; NULL when closing and none is left. *run is false after a stop. */
static struct batch *next_batch(struct fa_copyin *c, bool *run)
{
	struct batch *b;

	pthread_mutex_lock(&c->mu);
	while (!c->qhead && !c->closing)
		pthread_cond_wait(&c->cv, &c->mu);
	if ((b = c->qhead)) {
		c->qhead = b->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->queued--;
		pthread_cond_broadcast(&c->cv);
	}
	*run = !c->failed && !c->cancelled;
	if (b && *run && resume_done(c, b->index)) {
		c->st.skipped_resume += b->nrec;
		*run = false;
	}
	pthread_mutex_unlock(&c->mu);
	return b;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct failure f;
	struct batch *b;
	bool run;

	while ((b = next_batch(w->c, &run))) {
		if (run) {
			enum fa_err rc;

			rc = run_batch(w, b, &f);
			finish_batch(w, b, rc, &f);
		}
		free(b->data);
		free(b);
	}
	return NULL;
}

/* ---- lifecycle ---- */

static enum fa_err check_opts(struct fa_copyin *c, struct fa_error *err)
{
	struct fa_copyin_opts *o = &c->o;

	if (o->batch_rows <= 0)
		o->batch_rows = 50000;
	if (o->jobs <= 0)
		o->jobs = 1;
	if (o->freeze && !o->truncate)
		return fa_error_set(err, FA_EUSAGE, "--freeze needs --truncate: COPY FREEZE "
				    "loads a table emptied in the same transaction");
	if (o->freeze)
		o->atomic = true;
	if (o->atomic && o->resume_id)
		return fa_error_set(err, FA_EUSAGE, "--resume with --atomic: an atomic load "
				    "commits all or nothing, so nothing is left to resume");
	if (o->header_match && o->columns)
		return fa_error_set(err, FA_EUSAGE, "--header=match and --columns both name the "
				    "columns: choose one");
	if (o->atomic)
		o->jobs = 1;
	return FA_OK;
}

static enum fa_err setup_scanner(struct fa_copyin *c, struct fa_error *err)
{
	fa_rec_opts_init(&c->ro, c->o.format == FA_CI_CSV ? FA_REC_CSV : FA_REC_TEXT);
	if (c->o.delim)
		c->ro.delim = c->o.delim;
	if (c->o.quote) {
		c->ro.quote = c->o.quote;
		c->ro.escape = c->o.quote;
	}
	if (c->o.null_str)
		c->ro.null_str = c->o.null_str;
	/* with rejects the server judges encodings record by record; the
	   scanner could only stop the whole load */
	if (c->o.rejects)
		c->ro.validate_utf8 = false;
	if (c->o.format == FA_CI_NDJSON)
		return FA_OK;
	return fa_rec_init(&c->scan, &c->ro, err);
}

static enum fa_err start_workers(struct fa_copyin *c, struct fa_error *err)
{
	c->nworkers = c->o.jobs;
	c->workers = calloc((size_t)c->nworkers, sizeof(*c->workers));
	c->threads = calloc((size_t)c->nworkers, sizeof(*c->threads));
	if (!c->workers || !c->threads)
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	for (int i = 0; i < c->nworkers; i++) {
		struct worker *w = &c->workers[i];
		PGconn *pg;

		w->c = c;
		w->id = i + 1;
		w->rng = now_ms() * 0x9E3779B97F4A7C15ull + (uint64_t)w->id;
		fa_buf_init(&w->conv, 0);
		fa_buf_init(&w->scratch, 0);
		fa_buf_init(&w->held, MAX_HELD_BYTES);
		if (!(pg = fa_pg_connect(c->o.target, "fa-copy", err)))
			return err->code;
		set_connection(w, pg);
	}
	for (int i = 0; i < c->nworkers; i++)
		if (pthread_create(&c->threads[i], NULL, worker_main, &c->workers[i]) != 0)
			return fa_error_set(err, FA_EWORK, "cannot start a worker thread");
	return FA_OK;
}

struct fa_copyin *fa_copyin_new(const struct fa_copyin_opts *o, struct fa_error *err)
{
	struct fa_copyin *c = calloc(1, sizeof(*c));

	if (!c) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	c->o = *o;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	fa_buf_init(&c->pending, MAX_BATCH_BYTES + MAX_RECORD_BYTES);
	c->to_skip = o->skip;
	c->batch_line = c->nd_line = 1;
	if (check_opts(c, err) || setup_scanner(c, err) || start_workers(c, err)) {
		fa_copyin_free(c);
		return NULL;
	}
	return c;
}

static int range_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* "1-50000, 100001-150000": input line ranges, merged, into out[0..n). */
static void describe_ranges(struct ranges *r, char *out, size_t n)
{
	struct fa_buf b;
	size_t i = 0;

	if (r->n)
		qsort(r->v, r->n / 2, 2 * sizeof(*r->v), range_cmp);
	fa_buf_init(&b, n - 1);
	while (i < r->n) {
		uint64_t first = r->v[i], last = r->v[i + 1];

		for (i += 2; i < r->n && r->v[i] <= last + 1; i += 2)
			if (r->v[i + 1] > last)
				last = r->v[i + 1];
		if (fa_buf_printf(&b, "%s%llu-%llu", b.len ? ", " : "", (unsigned long long)first,
				  (unsigned long long)last))
			break;
	}
	snprintf(out, n, "%s", b.data ? b.data : "");
	fa_buf_release(&b);
}

/* Atomic: one commit at the end, or nothing at all. */
static enum fa_err end_atomic(struct fa_copyin *c, enum fa_err rc, struct fa_error *err)
{
	struct failure f;
	bool ok = rc == FA_OK && !c->failed && !c->cancelled;

	if (!c->prepared)
		return rc;
	if (ok && exec_sql(c->workers[0].pg, "COMMIT", 0, NULL, NULL, &f) == FA_OK)
		return FA_OK;
	if (!ok)
		exec_sql(c->workers[0].pg, "ROLLBACK", 0, NULL, NULL, NULL);
	else
		rc = fail_err(err, FA_EWORK, &f, "COMMIT");
	c->st.loaded = 0;
	c->st.batches_committed = 0;
	c->committed.n = 0;
	return rc;
}

enum fa_err fa_copyin_finish(struct fa_copyin *c, struct fa_error *err)
{
	enum fa_err rc = FA_OK;

	if (!c->failed && !c->cancelled)
		rc = cut(c, true, err);
	pthread_mutex_lock(&c->mu);
	c->closing = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nworkers; i++)
		if (c->threads[i])
			pthread_join(c->threads[i], NULL);
	memset(c->threads, 0, sizeof(*c->threads) * (size_t)c->nworkers);
	if (c->o.atomic)
		rc = end_atomic(c, rc, err);
	describe_ranges(&c->committed, c->st.committed, sizeof(c->st.committed));
	describe_ranges(&c->unknown, c->st.unknown, sizeof(c->st.unknown));
	if (c->cancelled)
		return fa_error_set(err, FA_EINTR, "interrupted");
	if (c->failed && !rc && c->fail_code == FA_ECONNECT)
		rc = fa_error_set(err, FA_ECONNECT, "lines %llu-%llu: %s",
				  (unsigned long long)c->st.fail_line,
				  (unsigned long long)c->fail_last, c->st.fail_message);
	else if (c->failed && !rc)
		rc = fa_error_set(err, c->fail_code ? c->fail_code : FA_EWORK, "line %llu: %s%s%s",
				  (unsigned long long)c->st.fail_line, c->st.fail_sqlstate,
				  c->st.fail_sqlstate[0] ? ": " : "", c->st.fail_message);
	return rc;
}

void fa_copyin_cancel(struct fa_copyin *c)
{
	char errbuf[256];

	pthread_mutex_lock(&c->mu);
	c->cancelled = true;
	pthread_cond_broadcast(&c->cv);
	/* under the lock: a worker that reconnects replaces its cancel */
	for (int i = 0; i < c->nworkers; i++)
		if (c->workers[i].cancel)
			PQcancel(c->workers[i].cancel, errbuf, sizeof(errbuf));
	pthread_mutex_unlock(&c->mu);
}

void fa_copyin_stats(struct fa_copyin *c, struct fa_copyin_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	pthread_mutex_unlock(&c->mu);
}

void fa_copyin_free(struct fa_copyin *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->closing = c->cancelled = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; c->threads && i < c->nworkers; i++)
		if (c->threads[i])
			pthread_join(c->threads[i], NULL);
	for (int i = 0; c->workers && i < c->nworkers; i++) {
		PQfreeCancel(c->workers[i].cancel);
		PQfinish(c->workers[i].pg);
		fa_buf_release(&c->workers[i].conv);
		fa_buf_release(&c->workers[i].scratch);
		fa_buf_release(&c->workers[i].held);
		free(c->workers[i].fields);
		if (c->workers[i].nd_ready)
			fa_ndjson_release(&c->workers[i].nd);
	}
	while (c->qhead) {
		struct batch *b = c->qhead;

		c->qhead = b->next;
		free(b->data);
		free(b);
	}
	for (int i = 0; i < c->ncols; i++)
		free(c->colnames[i]);
	free(c->colnames);
	free(c->types);
	free(c->qualified);
	free(c->copy_sql);
	free(c->copy_sql_bin);
	free(c->done);
	free(c->committed.v);
	free(c->unknown.v);
	free(c->workers);
	free(c->threads);
	fa_buf_release(&c->pending);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}
