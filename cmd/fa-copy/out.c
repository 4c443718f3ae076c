/*
 * fa-copy out: a table or a query to stdout or a file.  csv, tsv, text and
 * binary come from COPY ... TO STDOUT (the server formats; parameters are
 * bound into the text as quoted literals, since COPY takes none); ndjson
 * and json stream the query's rows, bound properly, through the formatter.
 */
#include <pthread.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facopy.h"
#include "core/fmt.h"
#include "pg/pgrows.h"
#include "sink.h"
#include "pg/sqlsplit.h"
#include "core/stats.h"

static bool is_query(const char *s)
{
	return strpbrk(s, " \t\n") != NULL;
}

/* COPY (source) TO STDOUT WITH (...), parameters bound as literals. */
static enum fa_err copy_sql(const struct copy_args *a, const char *src, PGconn *pg,
			    struct fa_buf *sql, struct fa_error *err)
{
	static const char *const fmt[] = { "csv", "text", "text", "binary" };
	char lit[8];

	if (!is_query(src)) {
		fa_buf_printf(sql, "COPY %s TO STDOUT WITH (FORMAT %s", src, fmt[a->format]);
	} else {
		fa_buf_puts(sql, "COPY (");
		if (fa_sql_bind_literals(sql, src, a->nparams, (const char *const *)a->params))
			return fa_error_set(err, FA_EUSAGE, "the query uses $%d, but %d parameter%s "
					    "given after --", fa_sql_max_param(src), a->nparams,
					    a->nparams == 1 ? " was" : "s were");
		fa_buf_printf(sql, ") TO STDOUT WITH (FORMAT %s", fmt[a->format]);
	}
	if (a->header && a->format != CF_BINARY)
		fa_buf_puts(sql, ", HEADER");
	if (a->delim && a->format != CF_BINARY) {
		snprintf(lit, sizeof(lit), "%c", a->delim);
		fa_buf_puts(sql, ", DELIMITER ");
		fa_sql_quote_literal(sql, lit);
	}
	if (a->quote && a->format == CF_CSV) {
		snprintf(lit, sizeof(lit), "%c", a->quote);
		fa_buf_puts(sql, ", QUOTE ");
		fa_sql_quote_literal(sql, lit);
	}
	if (a->null_str && a->format != CF_BINARY) {
		fa_buf_puts(sql, ", NULL ");
		fa_sql_quote_literal(sql, a->null_str);
	}
	fa_buf_putc(sql, ')');
	return FA_OK;
}

static enum fa_err report(PGresult *r, const char *what, struct fa_error *err)
{
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return fa_error_set(err, FA_EWORK, "%s: %s%s%s", what, st ? st : "", st ? ": " : "",
			    m ? m : PQresultErrorMessage(r));
}

/* Streams COPY data into the sink; *rows from the closing "COPY n". */
static enum fa_err run_copy(PGconn *pg, const char *sql, struct sink *out, uint64_t *rows,
			    struct fa_error *err)
{
	PGresult *r = PQexec(pg, sql);
	enum fa_err rc = FA_OK;
	char *data;
	int n;

	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		rc = report(r, "cannot copy out", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	while ((n = PQgetCopyData(pg, &data, 0)) > 0) {
		if (!rc && !copy_interrupted)
			rc = sink_write(out, data, (size_t)n, err);
		PQfreemem(data);
		if ((rc || copy_interrupted) && !PQrequestCancel(pg))
			break;
	}
	while ((r = PQgetResult(pg))) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			*rows = strtoull(PQcmdTuples(r), NULL, 10);
		else if (!rc && !copy_interrupted)
			rc = report(r, "copy out failed", err);
		PQclear(r);
	}
	return copy_interrupted ? FA_EINTR : rc;
}

/* ndjson and json: the query's rows, streamed one at a time. */
static enum fa_err run_rows(const struct copy_args *a, PGconn *pg, const char *src,
			    struct sink *out, uint64_t *rows, struct fa_error *err)
{
	struct fa_fmt_opts o;
	struct fa_buf sel, buf;
	struct fa_fmt f;
	enum fa_err rc = FA_OK;
	bool begun = false;
	PGresult *r;
	/* arrays and composites as JSON; types looked up on a connection of its own */
	struct fa_pgtypes *types = fa_pgtypes_new(&a->target, "fa-copy types");

	fa_buf_init(&sel, 0);
	fa_buf_init(&buf, 0);
	fa_fmt_opts_init(&o);
	o.kind = a->format == CF_JSON ? FA_FMT_JSON : FA_FMT_NDJSON;
	fa_fmt_init(&f, &o, &buf);
	if (is_query(src))
		fa_buf_puts(&sel, src);
	else
		fa_buf_printf(&sel, "SELECT * FROM %s", src);
	if (!PQsendQueryParams(pg, sel.data, a->nparams, NULL, (const char *const *)a->params,
			       NULL, NULL, 0) || !PQsetSingleRowMode(pg))
		rc = fa_error_set(err, FA_EWORK, "%s", PQerrorMessage(pg));
	while ((r = PQgetResult(pg))) {
		ExecStatusType st = PQresultStatus(r);

		if (!rc && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)) {
			if (!begun && (begun = true))
				fa_pgrows_begin(&f, r, types);
			fa_pgrows_add(&f, r);
			*rows += (uint64_t)PQntuples(r);
			if (st == PGRES_TUPLES_OK)
				fa_fmt_end(&f);
			rc = sink_write(out, buf.data, buf.len, err);
			fa_buf_reset(&buf);
		} else if (!rc && st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			rc = report(r, "query failed", err);
		}
		PQclear(r);
		if (copy_interrupted && !rc) {
			PQrequestCancel(pg);
			rc = FA_EINTR;
		}
	}
	fa_fmt_release(&f);
	fa_pgtypes_free(types);
	fa_buf_release(&buf);
	fa_buf_release(&sel);
	return rc;
}

static void summary(const struct copy_args *a, uint64_t rows, const struct sink *out,
		    double secs)
{
	if (a->quiet)
		return;
	if (a->summary_json)
		fprintf(stderr, "{\"direction\":\"out\",\"rows\":%llu,\"bytes\":%llu,"
			"\"seconds\":%.3f}\n", (unsigned long long)rows,
			(unsigned long long)out->bytes, secs);
	else
		fprintf(stderr, "fa-copy: %llu row%s, %.1f MB in %.2f s (%.0f rows/s)\n",
			(unsigned long long)rows, rows == 1 ? "" : "s", (double)out->bytes / 1e6, secs,
			secs > 0 ? (double)rows / secs : 0.0);
}

/*
 * -j N on a table: N ranges of pages, each copied by its own connection
 * (all in one exported snapshot, as pg_dump -j does) into a spool file;
 * the parts are then written out in order, so the output is one stream.
 */
struct part {
	const struct copy_args *a;
	const char *snapshot;
	char sql[1024];
	FILE *spool;
	uint64_t rows;
	enum fa_err rc;
	struct fa_error err;
	pthread_t thread;
};

static void *part_main(void *arg)
{
	struct part *p = arg;
	struct sink s = { 0 };
	char set[128];
	PGconn *pg = fa_pg_connect(&p->a->target, "fa-copy", &p->err);

	if (!pg) {
		p->rc = p->err.code;
		return NULL;
	}
	snprintf(set, sizeof(set), "SET TRANSACTION SNAPSHOT '%s'", p->snapshot);
	PQclear(PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ"));
	PQclear(PQexec(pg, set));
	fa_buf_init(&s.buf, 0);
	s.fd = fileno(p->spool);
	s.name = "a spool file";
	p->rc = run_copy(pg, p->sql, &s, &p->rows, &p->err);
	if (!p->rc)
		p->rc = sink_flush(&s, &p->err);
	fa_buf_release(&s.buf);
	PQfinish(pg);
	return NULL;
}

/* The table's size in pages, and a snapshot every part will read. */
static enum fa_err plan_parts(PGconn *pg, const char *table, long *pages, char *snap,
			      size_t n, struct fa_error *err)
{
	const char *p[1] = { table };
	PGresult *r;

	PQclear(PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ"));
	r = PQexecParams(pg, "SELECT pg_catalog.pg_relation_size($1::pg_catalog.regclass) / "
			 "pg_catalog.current_setting('block_size')::bigint, pg_catalog.pg_export_snapshot()",
			 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		enum fa_err rc = report(r, table, err);

		PQclear(r);
		return rc;
	}
	*pages = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(snap, n, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return FA_OK;
}

/* Appends a finished part's spool to the output. */
static enum fa_err drain_part(struct part *p, struct sink *out, struct fa_error *err)
{
	char buf[1 << 16];
	size_t n;
	enum fa_err rc = FA_OK;

	rewind(p->spool);
	while (!rc && (n = fread(buf, 1, sizeof(buf), p->spool)) > 0)
		rc = sink_write(out, buf, n, err);
	return rc;
}

static enum fa_err build_part(struct part *p, struct copy_args *a, PGconn *pg, const char *table,
			      long from, long to, struct fa_error *err)
{
	struct fa_buf q, sql;
	enum fa_err rc;

	fa_buf_init(&q, 0);
	fa_buf_init(&sql, 0);
	fa_buf_printf(&q, "SELECT * FROM %s WHERE ctid >= '(%ld,0)'::pg_catalog.tid", table, from);
	if (to >= 0)
		fa_buf_printf(&q, " AND ctid < '(%ld,0)'::pg_catalog.tid", to);
	rc = copy_sql(a, q.data, pg, &sql, err);
	snprintf(p->sql, sizeof(p->sql), "%s", sql.data ? sql.data : "");
	if (!rc && !(p->spool = tmpfile()))
		rc = fa_error_set(err, FA_EWORK, "cannot create a spool file: %s", strerror(errno));
	fa_buf_release(&q);
	fa_buf_release(&sql);
	return rc;
}

static enum fa_err run_parallel(struct copy_args *a, PGconn *pg, const char *table,
				struct sink *out, uint64_t *rows, struct fa_error *err)
{
	struct part *parts = calloc((size_t)a->jobs, sizeof(*parts));
	int header = a->header, started = 0;
	enum fa_err rc;
	char snap[64];
	long pages = 0;

	if (!parts)
		return FA_ENOMEM;
	rc = plan_parts(pg, table, &pages, snap, sizeof(snap), err);
	for (int k = 0; !rc && k < a->jobs; k++) {
		a->header = k == 0 ? header : 0;        /* one header, on the first part */
		parts[k].a = a;
		parts[k].snapshot = snap;
		rc = build_part(&parts[k], a, pg, table, pages * k / a->jobs,
				k == a->jobs - 1 ? -1 : pages * (k + 1) / a->jobs, err);
		if (!rc && pthread_create(&parts[k].thread, NULL, part_main, &parts[k]) == 0)
			started++;
	}
	a->header = header;
	for (int k = 0; k < started; k++) {
		pthread_join(parts[k].thread, NULL);
		if (!rc && (rc = parts[k].rc))
			*err = parts[k].err;
		if (!rc)
			rc = drain_part(&parts[k], out, err);
		*rows += parts[k].rows;
	}
	for (int k = 0; k < a->jobs; k++)
		if (parts[k].spool)
			fclose(parts[k].spool);
	free(parts);
	PQclear(PQexec(pg, "COMMIT"));
	return rc;
}

/* Closes the sink; its error counts only when nothing failed before. */
static enum fa_err close_keeping(struct sink *out, enum fa_err rc, struct fa_error *err)
{
	struct fa_error cerr = { 0 };
	enum fa_err crc = sink_close(out, &cerr);

	if (rc || !crc)
		return rc;
	*err = cerr;
	return crc;
}

int copy_out(struct copy_args *a)
{
	struct fa_error err = { 0 };
	enum fa_zkind kind = a->compress_set ? a->compress :
		a->output ? fa_z_from_path(a->output) : FA_Z_NONE;
	uint64_t rows = 0, t0 = fa_now_ns();
	struct fa_buf sql;
	struct sink out;
	enum fa_err rc;
	PGconn *pg;

	if (a->noperands != 1)
		return copy_fail(FA_EUSAGE, "out takes one TABLE or QUERY (then -- and parameters)");
	if (a->nparams && !is_query(a->operands[0]))
		return copy_fail(FA_EUSAGE, "parameters after -- go with a QUERY, not a table");
	if (a->nparams > fa_sql_max_param(a->operands[0]))
		return copy_fail(FA_EUSAGE, "%d parameters after --, but the query uses %d "
				 "(options go before --)", a->nparams, fa_sql_max_param(a->operands[0]));
	if (a->rejects || a->resume || a->atomic || a->truncate || a->freeze || a->create ||
	    a->skip || a->limit || a->columns || a->encode)
		return copy_fail(FA_EUSAGE, "--rejects, --resume, --atomic, --truncate, --freeze, "
				 "--create, --skip, --limit, --columns and --encode are for in");
	if (!(pg = fa_pg_connect(&a->target, "fa-copy", &err)))
		return copy_fail(err.code, "%s", err.msg);
	fa_buf_init(&sql, 0);
	if ((rc = sink_open(&out, a->output, kind, &err)))
		goto done;
	if (a->jobs > 1 && (is_query(a->operands[0]) || a->format == CF_NDJSON ||
			    a->format == CF_JSON))
		rc = fa_error_set(&err, FA_EUSAGE, "out -j splits a table by pages: it takes a "
				  "TABLE (not a query) in csv, tsv or text");
	else if (a->jobs > 1 && a->format == CF_BINARY)
		rc = fa_error_set(&err, FA_EUSAGE, "out -j: binary parts cannot be joined into "
				  "one stream; use csv, tsv or text");
	else if (a->jobs > 1)
		rc = run_parallel(a, pg, a->operands[0], &out, &rows, &err);
	else if (a->format == CF_NDJSON || a->format == CF_JSON)
		rc = run_rows(a, pg, a->operands[0], &out, &rows, &err);
	else if (!(rc = copy_sql(a, a->operands[0], pg, &sql, &err)))
		rc = run_copy(pg, sql.data, &out, &rows, &err);
	rc = close_keeping(&out, rc, &err);
	if (!rc)
		summary(a, rows, &out, (double)(fa_now_ns() - t0) / 1e9);
done:
	if (rc == FA_EINTR)
		fprintf(stderr, "fa-copy: interrupted after %llu rows\n", (unsigned long long)rows);
	else if (rc)
		copy_fail(rc, "%s", err.msg);
	fa_buf_release(&sql);
	PQfinish(pg);
	return rc;
}
