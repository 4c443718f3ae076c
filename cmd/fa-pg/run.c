/* fa-pg: running one statement on the main connection and printing it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fapg.h"
#include "pg/pgrows.h"
#include "pg/sqlsplit.h"

#define MAX_TIMED_TEXTS 1000

void report_error(struct session *s, const PGresult *res, const char *sql,
		  const char *where)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	if (where)
		fa_buf_printf(&b, "fa-pg:%s: ", where);
	fa_pg_error_render(&b, res, sql, false);
	out_flush(s);   /* results before the error stay before it */
	fputs(b.data, stderr);
	fa_buf_reset(&b);
	fa_pg_error_render(&b, res, sql, true);
	free(s->last_error_verbose);
	s->last_error_verbose = fa_buf_detach(&b, NULL);
}

static void add_rows(struct session *s, struct fa_fmt *f, const PGresult *res, long *rows)
{
	fa_pgrows_add(f, res);
	*rows += PQntuples(res);
	if (f->out == &s->out && s->out.len >= OUT_FLUSH_AT)
		out_flush(s);
}

/* JSON consumers read stdout as JSON: command tags would break it. */
static bool tags_wanted(const struct session *s)
{
	return !s->quiet && s->fmt.kind != FA_FMT_JSON && s->fmt.kind != FA_FMT_NDJSON;
}

/*
 * The type cache for json output, made on first use.  Its lookups go to
 * the database s->conn is connected to (after \\c too), with the same
 * settings, password included.
 */
static struct fa_pgtypes *types_of(struct session *s)
{
	PQconninfoOption *opts;
	struct fa_buf ci;

	if (s->types || !s->conn || !(opts = PQconninfo(s->conn)))
		return s->types;
	fa_buf_init(&ci, 0);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		fa_buf_printf(&ci, "%s='", o->keyword);
		for (const char *p = o->val; *p; p++) {
			if (*p == '\\' || *p == '\'')
				fa_buf_putc(&ci, '\\');
			fa_buf_putc(&ci, *p);
		}
		fa_buf_puts(&ci, "' ");
	}
	PQconninfoFree(opts);
	fa_pg_target_release(&s->types_target);
	s->types_target.source = s->target.source;
	s->types_target.conninfo = fa_buf_detach(&ci, NULL);
	if (s->types_target.conninfo)
		s->types = fa_pgtypes_new(&s->types_target, "fa-pg types");
	return s->types;
}

enum fa_err print_result(struct session *s, PGresult *res, const char *sql,
			 const char *where, struct fa_fmt *f, bool *begun, long *rows)
{
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
		if (!*begun)
			fa_pgrows_begin(f, res, types_of(s));
		*begun = true;
		add_rows(s, f, res, rows);
		return FA_OK;
	case PGRES_TUPLES_OK:
		if (!*begun)
			fa_pgrows_begin(f, res, types_of(s));
		add_rows(s, f, res, rows);
		fa_fmt_end(f);
		*begun = false;
		return FA_OK;
	case PGRES_COMMAND_OK:
		if (tags_wanted(s)) {
			/* into the result's own output, which -j keeps in order */
			fa_buf_puts(f->out, PQcmdStatus(res));
			fa_buf_putc(f->out, '\n');
		}
		return FA_OK;
	case PGRES_EMPTY_QUERY:
	case PGRES_PIPELINE_SYNC:
		return FA_OK;
	case PGRES_PIPELINE_ABORTED:
		return FA_EWORK;
	default:
		report_error(s, res, sql, where);
		return FA_EWORK;
	}
}

static enum fa_err copy_out(struct session *s)
{
	char *line;
	int n;

	while ((n = PQgetCopyData(s->conn, &line, 0)) > 0) {
		out_write(s, line, (size_t)n);
		PQfreemem(line);
	}
	return n == -1 ? FA_OK : FA_EWORK;
}

/* COPY FROM STDIN reads the script's own following lines up to "\." */
static enum fa_err copy_in(struct session *s)
{
	FILE *in = s->script ? s->script : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) > 0) {
		if (strcmp(line, "\\.\n") == 0 || strcmp(line, "\\.") == 0 ||
		    strcmp(line, "\\.\r\n") == 0)
			break;
		if (PQputCopyData(s->conn, line, (int)n) != 1)
			break;
	}
	free(line);
	PQputCopyEnd(s->conn, interrupted ? "cancelled by user" : NULL);
	return FA_OK;
}

const struct fa_hist *timing_record(struct session *s, const char *sql, double ms)
{
	int i;

	for (i = 0; i < s->ntimings; i++)
		if (strcmp(s->timings[i].text, sql) == 0)
			break;
	if (i == s->ntimings) {
		struct stmt_timing *t;

		if (s->ntimings >= MAX_TIMED_TEXTS)
			return NULL;
		t = realloc(s->timings, (size_t)(s->ntimings + 1) * sizeof(*t));
		if (!t)
			return NULL;
		s->timings = t;
		t[i].text = strdup(sql);
		fa_hist_init(&t[i].hist);
		s->ntimings++;
	}
	fa_hist_record(&s->timings[i].hist, (uint64_t)(ms * 1e6));
	return &s->timings[i].hist;
}

/* "Time: 1.234 ms", and the statement's p50/p99 once it has run twice. */
void timing_format(struct fa_buf *b, double ms, const struct fa_hist *h)
{
	fa_buf_printf(b, "Time: %.3f ms", ms);
	if (ms >= 1000.0) {
		long sec = (long)(ms / 1000.0);

		fa_buf_printf(b, " (%02ld:%02ld.%03ld)", sec / 60, sec % 60,
			      (long)(ms - (double)sec * 1000.0));
	}
	if (h && h->total > 1)
		fa_buf_printf(b, " (p50 %.3f ms, p99 %.3f ms over %llu runs)",
			      (double)fa_hist_percentile(h, 50) / 1e6,
			      (double)fa_hist_percentile(h, 99) / 1e6, (unsigned long long)h->total);
	fa_buf_putc(b, '\n');
}

static void print_timing(struct session *s, const char *sql, double ms)
{
	const struct fa_hist *h = timing_record(s, sql, ms);
	struct fa_buf b;

	if (!s->timing)
		return;
	fa_buf_init(&b, 0);
	timing_format(&b, ms, h);
	out_note(s, b.data, b.len);
	fa_buf_release(&b);
}

/*
 * A script names the statement whose outcome is unknown and stops; the
 * shell's own statements leave the telling to its reset.  sent: the
 * statement went to the server (else it did not run at all).
 */
static enum fa_err lost_connection(struct session *s, const char *sql, const char *where,
				   bool sent)
{
	const char *fate = txn_fate(s->txn, sql);
	char brief[128];

	out_flush(s);
	s->lost = true;
	if (s->interactive && !where) {
		s->lost_note = fate;
		return FA_ECONNECT;
	}
	statement_brief(brief, sizeof(brief), sql);
	if (sent)
		fprintf(stderr, "fa-pg:%s%sconnection lost while running \"%s\": its outcome is "
			"unknown; nothing after it was run\n", where ? where : "", where ? ": " : " ",
			brief);
	else
		fprintf(stderr, "fa-pg:%s%sconnection lost before running \"%s\": neither it nor "
			"anything after it was run\n", where ? where : "", where ? ": " : " ", brief);
	if (fate)
		fprintf(stderr, "fa-pg: %s\n", fate);
	s->txn = PQTRANS_IDLE;  /* said */
	return FA_ECONNECT;
}

/* An error of libpq's own, with no SQLSTATE: perhaps the connection is gone. */
static bool client_error(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) &&
	       !PQresultErrorField(res, PG_DIAG_SQLSTATE);
}

enum fa_err check_params(const struct session *s, const char *sql, const char *where,
				int *np)
{
	*np = fa_sql_max_param(sql);
	if (*np <= s->nparams)
		return FA_OK;
	fprintf(stderr, "fa-pg:%s%sstatement uses $%d, but %d parameter%s given after --\n",
		where ? where : "", where ? ": " : " ", *np, s->nparams,
		s->nparams == 1 ? " was" : "s were");
	return FA_EUSAGE;
}

enum fa_err run_statement(struct session *s, const char *sql, const char *where)
{
	enum fa_err rc = FA_OK, r;
	struct fa_fmt f;
	bool begun = false;
	long rows = 0;
	uint64_t t0;
	PGresult *res;
	bool copied = false, gone_hint = false;
	int np;

	if ((rc = check_params(s, sql, where, &np)))
		return rc;
	if ((rc = session_ready(s))) {
		if (rc == FA_EWORK)
			fprintf(stderr, "fa-pg: the statement was not run, as not every setting "
				"could be restored: run it again to run it all the same\n");
		return rc;
	}
	if (s->echo) {
		out_note(s, sql, strlen(sql));
		out_note(s, "\n", 1);
	}
	t0 = fa_now_ns();
	s->txn = PQtransactionStatus(s->conn);
	cancel_arm(s->conn);
	if (!PQsendQueryParams(s->conn, sql, np, NULL, s->params, NULL, NULL, 0)) {
		char msg[512];

		cancel_disarm();
		fprintf(stderr, "fa-pg:%s%s%s\n", where ? where : "", where ? ": " : " ",
			fa_pg_conn_message(s->conn, msg, sizeof(msg)));
		return conn_gone(s->conn, true) ? lost_connection(s, sql, where, false) : FA_EWORK;
	}
	PQsetSingleRowMode(s->conn);
	fa_fmt_init(&f, &s->fmt, &s->out);
	while ((res = PQgetResult(s->conn))) {
		ExecStatusType st = PQresultStatus(res);

		gone_hint |= client_error(res);
		if (st == PGRES_COMMAND_OK && s->interactive)
			settings_note(&s->settings, sql, PQcmdStatus(res));
		if (st == PGRES_COPY_OUT)
			r = copy_out(s), copied = true;
		else if (st == PGRES_COPY_IN)
			r = copy_in(s);
		else if (copied && st == PGRES_COMMAND_OK)
			r = FA_OK;      /* psql prints no "COPY n" after data */
		else
			r = print_result(s, res, sql, where, &f, &begun, &rows);
		PQclear(res);
		if (r != FA_OK)
			rc = r;
	}
	cancel_disarm();
	if (begun)
		fa_fmt_end(&f);
	fa_fmt_release(&f);
	print_timing(s, sql, (double)(fa_now_ns() - t0) / 1e6);
	out_end(s);
	if (conn_gone(s->conn, gone_hint))
		return lost_connection(s, sql, where, true);
	s->txn = PQtransactionStatus(s->conn);
	if (interrupted && !s->interactive)
		return FA_EINTR;
	return rc;
}
