#include "bench/bpg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "pg/sqlsplit.h"

#define STMT_NAME "fa_bench"

/* ---- configuration ------------------------------------------------------- */

void fa_bench_pg_init(struct fa_bench_pg *cfg, const struct fa_pg_target *t,
		      enum fa_bench_pg_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->target = t;
	cfg->mode = mode;
}

/* :name in a generator's expression: a constant defined before. */
static bool constant_of(void *ctx, const char *name, size_t len, int64_t *v)
{
	const struct fa_bench_pg *cfg = ctx;

	for (int i = 0; i < cfg->nvars; i++)
		if (strlen(cfg->names[i]) == len && !strncmp(cfg->names[i], name, len) &&
		    cfg->gens[i].kind == FA_GEN_CONST) {
			*v = cfg->gens[i].lb;
			return true;
		}
	return false;
}

static enum fa_err define(struct fa_bench_pg *cfg, const char *name, size_t n, const char *expr,
			  const char *what, struct fa_error *err)
{
	struct fa_gen g;
	struct fa_error gerr = { 0 };
	int i;

	if (!n || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return fa_error_set(err, FA_EUSAGE, "%s: a name must start with a letter or '_'", what);
	for (size_t k = 0; k < n; k++)
		if (!isalnum((unsigned char)name[k]) && name[k] != '_')
			return fa_error_set(err, FA_EUSAGE, "%s, position %zu: a name holds letters, "
					    "digits and '_'", what, k + 1);
	if (fa_gen_parse_with(&g, expr, constant_of, cfg, &gerr))
		return fa_error_set(err, FA_EUSAGE, "%s: %s", what, gerr.msg);
	for (i = 0; i < cfg->nvars; i++)
		if (strlen(cfg->names[i]) == n && !strncmp(cfg->names[i], name, n))
			break;
	if (i == FA_BENCH_PG_MAX_VARS)
		return fa_error_set(err, FA_EUSAGE, "%s: more than %d generators", what,
				    FA_BENCH_PG_MAX_VARS);
	if (i == cfg->nvars) {
		if (!(cfg->names[i] = strndup(name, n)))
			return fa_error_set(err, FA_ENOMEM, "out of memory");
		cfg->nvars++;
	}
	cfg->gens[i] = g;
	return FA_OK;
}

enum fa_err fa_bench_pg_define(struct fa_bench_pg *cfg, const char *def, struct fa_error *err)
{
	const char *eq = strchr(def, '=');
	char what[300];

	snprintf(what, sizeof(what), "-D '%.250s'", def);
	if (!eq)
		return fa_error_set(err, FA_EUSAGE, "%s: write NAME=GENERATOR, as in id=random(1,1000)",
				    what);
	return define(cfg, def, (size_t)(eq - def), eq + 1, what, err);
}

/* What the splitter puts for :name: the $n of its generator in the
   statement being lexed, or nothing. */
struct subst {
	struct fa_bench_pg *cfg;
	int gen[FA_BENCH_PG_MAX_VARS];  /* the statement's $k+1 is gen[k] */
	int n;
	char text[16];
	char unknown[64];
};

static const char *subst_var(void *ctx, const char *name, size_t len, char quote)
{
	struct subst *s = ctx;
	int g, k;

	for (g = 0; g < s->cfg->nvars; g++)
		if (strlen(s->cfg->names[g]) == len && !strncmp(s->cfg->names[g], name, len))
			break;
	if (g == s->cfg->nvars || quote) {
		if (!s->unknown[0])
			snprintf(s->unknown, sizeof(s->unknown), "%.*s", (int)(len < 60 ? len : 60), name);
		return NULL;
	}
	for (k = 0; k < s->n && s->gen[k] != g; k++)
		;
	if (k == s->n)
		s->gen[s->n++] = g;
	snprintf(s->text, sizeof(s->text), "$%d", k + 1);
	return s->text;
}

/* Takes a statement the splitter made, with the generators it named. */
static enum fa_err add_stmt(struct fa_bench_pg *cfg, struct subst *s, char *text,
			    const char *what, struct fa_error *err)
{
	struct fa_bench_pg_stmt *st;

	if (cfg->nstmts == FA_BENCH_PG_MAX_STMTS) {
		free(text);
		return fa_error_set(err, FA_EUSAGE, "%s: more than %d statements", what,
				    FA_BENCH_PG_MAX_STMTS);
	}
	st = &cfg->stmts[cfg->nstmts++];
	st->sql = text;
	st->nparams = s->n;
	memcpy(st->gen, s->gen, sizeof(st->gen));
	s->n = 0;
	return FA_OK;
}

static void drop_stmts(struct fa_bench_pg *cfg)
{
	for (int i = 0; i < cfg->nstmts; i++)
		free(cfg->stmts[i].sql);
	cfg->nstmts = 0;
}

/* Feeds text through the splitter with :name substitution. */
static enum fa_err lex_statement(struct fa_bench_pg *cfg, const char *sql, const char *what,
				 struct fa_error *err)
{
	struct fa_sqlsplit sp;
	struct fa_sql_item it;
	struct subst s = { .cfg = cfg };
	int lineno = 0;
	enum fa_err rc = FA_OK;
	const char *p = sql;

	drop_stmts(cfg);
	fa_sqlsplit_init(&sp, 1 << 20, subst_var, &s);
	while (*p && !rc) {
		size_t n = strcspn(p, "\n");

		fa_sqlsplit_feed(&sp, p, n, ++lineno);
		while (!rc && fa_sqlsplit_next(&sp, &it) > 0) {
			if (it.kind == FA_SQL_STMT)
				rc = add_stmt(cfg, &s, it.text, what, err);
			else
				free(it.text);
		}
		p += n + (p[n] == '\n');
	}
	if (!rc && fa_sqlsplit_finish(&sp, &it, NULL))
		rc = add_stmt(cfg, &s, it.text, what, err);
	fa_sqlsplit_release(&sp);
	if (!rc && s.unknown[0])
		rc = fa_error_set(err, FA_EUSAGE, "%s: :%s has no generator (define it with -D %s=...)",
				  what, s.unknown, s.unknown);
	else if (!rc && cfg->nstmts == 0)
		rc = fa_error_set(err, FA_EUSAGE, "%s: no SQL statement", what);
	if (rc)
		drop_stmts(cfg);
	return rc;
}

enum fa_err fa_bench_pg_statement(struct fa_bench_pg *cfg, const char *sql, struct fa_error *err)
{
	return lex_statement(cfg, sql, "-e", err);
}

/* "\set NAME EXPR" of a script */
static enum fa_err script_set(struct fa_bench_pg *cfg, const char *meta, const char *path,
			      int line, struct fa_error *err)
{
	const char *p = meta + 4, *name;
	char what[600];
	size_t n;

	snprintf(what, sizeof(what), "%.500s line %d", path, line);
	while (isspace((unsigned char)*p))
		p++;
	name = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	n = (size_t)(p - name);
	if (define(cfg, name, n, p, what, err))
		return err->code = FA_EINPUT;
	return FA_OK;
}

/* A line that is a \set, as pgbench writes them: one a line, whole. */
static bool is_set_line(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return !strncmp(line, "\\set", 4) && (line[4] == ' ' || line[4] == '\t');
}

enum fa_err fa_bench_pg_script(struct fa_bench_pg *cfg, const char *path, struct fa_error *err)
{
	FILE *f = fopen(path, "r");
	struct fa_sqlsplit sp;
	struct fa_sql_item it;
	struct subst s = { .cfg = cfg };
	char *line = NULL, what[600];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	enum fa_err rc = FA_OK;

	if (!f)
		return fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
	drop_stmts(cfg);
	snprintf(what, sizeof(what), "%.500s", path);
	fa_sqlsplit_init(&sp, 1 << 20, subst_var, &s);
	while (!rc && (n = getline(&line, &cap, f)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		/*
		 * \set lines are read here, not by the splitter, which would put
		 * $n for the :names in their expressions as it does in statements.
		 */
		if (is_set_line(line) && fa_sqlsplit_state(&sp) == '=') {
			rc = script_set(cfg, strstr(line, "\\set"), path, ++lineno, err);
			continue;
		}
		fa_sqlsplit_feed(&sp, line, (size_t)n, ++lineno);
		while (!rc && fa_sqlsplit_next(&sp, &it) > 0) {
			if (it.kind == FA_SQL_META && !strncmp(it.text, "\\set", 4) &&
			    (isspace((unsigned char)it.text[4]))) {
				rc = script_set(cfg, it.text, path, it.line, err);
			} else if (it.kind == FA_SQL_META) {
				rc = fa_error_set(err, FA_EINPUT, "%s line %d: %.40s: only \\set is "
						  "supported in scripts", path, it.line, it.text);
			} else {
				if (s.unknown[0])
					rc = fa_error_set(err, FA_EINPUT, "%s line %d: :%s has no \\set "
							  "before it", path, it.line, s.unknown);
				else
					rc = add_stmt(cfg, &s, it.text, what, err);
				continue;
			}
			free(it.text);
		}
	}
	if (!rc && fa_sqlsplit_finish(&sp, &it, NULL)) {
		if (s.unknown[0])
			rc = fa_error_set(err, FA_EINPUT, "%s line %d: :%s has no \\set before it", path,
					  it.line, s.unknown);
		else
			rc = add_stmt(cfg, &s, it.text, what, err);
	}
	fa_sqlsplit_release(&sp);
	free(line);
	fclose(f);
	if (!rc && cfg->nstmts == 0)
		rc = fa_error_set(err, FA_EINPUT, "%s: no SQL statement", path);
	if (rc) {
		if (err->code == FA_EUSAGE)
			err->code = rc = FA_EINPUT;
		drop_stmts(cfg);
	}
	return rc;
}

void fa_bench_pg_release(struct fa_bench_pg *cfg)
{
	drop_stmts(cfg);
	for (int i = 0; i < cfg->nvars; i++)
		free(cfg->names[i]);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- a connection -------------------------------------------------------- */

enum { C_CONNECTING, C_PREPARING, C_READY, C_DEAD };

struct pgc {
	const struct fa_bench_pg *cfg;
	struct fa_loop *loop;
	struct fa_bench_conn *bc;
	PGconn *pg;
	struct fa_io io;
	int state;
	bool pipeline;
	bool in_loop;
	struct fa_timer retry, tmo, fail;
	/* in flight, oldest first; NULL stands for the Prepare */
	struct fa_bench_req **fifo;
	int head, n, cap;
	/* how the head request is going */
	enum fa_bench_kind kind;
	char detail[8];
	char msg[256];
	/* parameters */
	struct fa_gen_state *gst;
	char (*vals)[24];               /* this request's draw of each generator */
	struct fa_buf text;
	char lasterr[256];
	uint64_t t0;                    /* when connecting began */
};

static void io_want(struct pgc *c, uint32_t ev)
{
	if (c->in_loop)
		fa_loop_mod(c->loop, &c->io, ev);
}

static void drop_pg(struct pgc *c)
{
	if (c->in_loop)
		fa_loop_del(c->loop, &c->io);
	c->in_loop = false;
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	fa_timer_stop(c->loop, &c->tmo);
	fa_timer_stop(c->loop, &c->fail);
}

/* Ends everything in flight with kind, closes, and reconnects after a pause. */
static void conn_lost(struct pgc *c, enum fa_bench_kind kind, const char *msg)
{
	int n = c->n, head = c->head;

	snprintf(c->lasterr, sizeof(c->lasterr), "%s", msg);
	c->n = 0;
	drop_pg(c);
	c->state = C_DEAD;
	fa_bench_down(c->bc, msg);
	for (int i = 0; i < n; i++) {
		struct fa_bench_req *r = c->fifo[(head + i) % c->cap];

		if (r)
			fa_bench_done(r, kind, NULL, msg);
	}
	fa_timer_start(c->loop, &c->retry, 100);
}

static void lost_now(struct pgc *c)
{
	char buf[256];

	conn_lost(c, FA_BENCH_ECONNECT,
		  c->pg ? fa_pg_conn_message(c->pg, buf, sizeof(buf)) : "connection lost");
}

static void arm_timeout(struct pgc *c)
{
	uint64_t t = fa_bench_conn_timeout(c->bc);
	struct fa_bench_req *r;

	fa_timer_stop(c->loop, &c->tmo);
	if (!t || !c->n)
		return;
	r = c->fifo[c->head];
	fa_timer_start_at(c->loop, &c->tmo, (r ? r->sent_ns : fa_now_ns()) + t);
}

static void on_timeout(struct fa_timer *t)
{
	struct pgc *c = t->ctx;
	char msg[128];

	snprintf(msg, sizeof(msg), "no answer within %.3g s", (double)fa_bench_conn_timeout(c->bc) / 1e9);
	conn_lost(c, FA_BENCH_ETIMEOUT, msg);
}

static void flush(struct pgc *c)
{
	int r = PQflush(c->pg);

	if (r < 0)
		lost_now(c);
	else
		io_want(c, r ? FA_IN | FA_OUT : FA_IN);
}

static void note_error(struct pgc *c, PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (c->kind != FA_BENCH_OK)
		return;
	c->kind = FA_BENCH_ESQL;
	snprintf(c->detail, sizeof(c->detail), "%s", st ? st : "?????");
	snprintf(c->msg, sizeof(c->msg), "%s%s%s", st ? st : "", st ? ": " : "",
		 m ? m : PQresultErrorMessage(res));
}

/* The head's results have ended: hand it back. */
static void complete_head(struct pgc *c)
{
	struct fa_bench_req *r;

	if (!c->n)
		return;
	r = c->fifo[c->head];
	c->head = (c->head + 1) % c->cap;
	c->n--;
	if (!r) {               /* the Prepare */
		if (c->kind != FA_BENCH_OK) {
			char msg[300];

			snprintf(msg, sizeof(msg), "cannot prepare the statement: %s", c->msg);
			c->kind = FA_BENCH_OK;
			conn_lost(c, FA_BENCH_ECONNECT, msg);
			return;
		}
		c->state = C_READY;
		fa_bench_handshake(c->bc, fa_now_ns() - c->t0);
		fa_bench_ready(c->bc);
	} else {
		fa_bench_done(r, c->kind, c->kind == FA_BENCH_OK ? NULL : c->detail,
			      c->kind == FA_BENCH_OK ? NULL : c->msg);
	}
	c->kind = FA_BENCH_OK;
	arm_timeout(c);
}

static void read_results(struct pgc *c)
{
	int nulls = 0;

	if (!PQconsumeInput(c->pg)) {
		lost_now(c);
		return;
	}
	while (c->pg && !PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		ExecStatusType st;

		if (!res) {
			if (!c->pipeline && c->n) {
				complete_head(c);
				continue;
			}
			if (++nulls > 1 || !c->n)
				break;
			continue;
		}
		nulls = 0;
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			complete_head(c);
			continue;
		}
		if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) {
			const char *ss = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			note_error(c, res);
			if (ss && fa_pg_sqlstate_ends_connection(ss)) {
				PQclear(res);
				lost_now(c);
				return;
			}
		}
		PQclear(res);
	}
	if (c->pg && PQstatus(c->pg) == CONNECTION_BAD)
		lost_now(c);
}

static void connected(struct pgc *c)
{
	const struct fa_bench_pg *cfg = c->cfg;

	c->pipeline = cfg->mode != FA_BENCH_PG_SIMPLE;
	if (PQsetnonblocking(c->pg, 1) != 0 || (c->pipeline && PQenterPipelineMode(c->pg) != 1)) {
		lost_now(c);
		return;
	}
	io_want(c, FA_IN);
	c->kind = FA_BENCH_OK;
	if (cfg->mode == FA_BENCH_PG_PREPARED) {
		bool ok = true;

		for (int i = 0; i < cfg->nstmts && ok; i++) {
			char name[32];

			snprintf(name, sizeof(name), STMT_NAME "_%d", i);
			ok = PQsendPrepare(c->pg, name, cfg->stmts[i].sql, cfg->stmts[i].nparams, NULL);
		}
		if (!ok || !PQpipelineSync(c->pg)) {
			lost_now(c);
			return;
		}
		c->state = C_PREPARING;
		c->fifo[c->head] = NULL;
		c->n = 1;
		flush(c);
		return;
	}
	c->state = C_READY;
	fa_bench_handshake(c->bc, fa_now_ns() - c->t0);
	fa_bench_ready(c->bc);
}

static void conn_io(struct fa_io *io, uint32_t ev)
{
	struct pgc *c = io->ctx;

	if (c->state == C_CONNECTING) {
		PostgresPollingStatusType ps = PQconnectPoll(c->pg);

		if (ps == PGRES_POLLING_OK) {
			connected(c);
		} else if (ps == PGRES_POLLING_FAILED) {
			lost_now(c);
		} else {
			/* libpq may have opened another socket (the next host) */
			fa_loop_del(c->loop, &c->io);
			c->io.fd = PQsocket(c->pg);
			fa_loop_add(c->loop, &c->io, ps == PGRES_POLLING_READING ? FA_IN : FA_OUT);
		}
		return;
	}
	if (ev & FA_OUT)
		flush(c);
	if (c->pg && (ev & ~(uint32_t)FA_OUT))
		read_results(c);
}

static void conn_start(struct pgc *c)
{
	struct fa_error err = { 0 };

	c->head = c->n = 0;
	c->kind = FA_BENCH_OK;
	c->t0 = fa_now_ns();
	if (!(c->pg = fa_pg_connect_start(c->cfg->target, "fa-bench", &err))) {
		snprintf(c->lasterr, sizeof(c->lasterr), "%.250s", err.msg);
		fa_bench_down(c->bc, err.msg);
		c->state = C_DEAD;
		fa_timer_start(c->loop, &c->retry, 100);
		return;
	}
	c->state = C_CONNECTING;
	c->io = (struct fa_io){ .fd = PQsocket(c->pg), .cb = conn_io, .ctx = c };
	fa_loop_add(c->loop, &c->io, FA_OUT);
	c->in_loop = true;
}

static void on_retry(struct fa_timer *t)
{
	conn_start(t->ctx);
}

static void on_fail(struct fa_timer *t)
{
	struct pgc *c = t->ctx;

	if (c->state != C_DEAD)
		lost_now(c);
}

static void *pg_open(const void *vcfg, struct fa_loop *loop, struct fa_bench_conn *bc,
		     struct fa_error *err)
{
	const struct fa_bench_pg *cfg = vcfg;
	struct pgc *c = calloc(1, sizeof(*c));
	int nv = cfg->nvars > 0 ? cfg->nvars : 1;

	if (!c || !(c->gst = calloc((size_t)nv, sizeof(*c->gst))) ||
	    !(c->vals = calloc((size_t)nv, sizeof(*c->vals))) ||
	    !(c->fifo = calloc(1024 + 1, sizeof(*c->fifo)))) {
		if (c) {
			free(c->gst);
			free(c->vals);
		}
		free(c);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	c->cap = 1024 + 1;
	c->cfg = cfg;
	c->loop = loop;
	c->bc = bc;
	fa_buf_init(&c->text, 1 << 24);
	for (int g = 0; g < cfg->nvars; g++)
		fa_gen_state_init(&c->gst[g], &cfg->gens[g], fa_bench_conn_seed(bc) + (uint64_t)g * 104729,
				  fa_bench_conn_index(bc), cfg->conns);
	fa_timer_init(&c->retry, on_retry, c);
	fa_timer_init(&c->tmo, on_timeout, c);
	fa_timer_init(&c->fail, on_fail, c);
	conn_start(c);
	return c;
}

/* The values of statement st's $1..$n from this request's draws. */
static void values_of(const struct pgc *c, const struct fa_bench_pg_stmt *st, const char **pv)
{
	for (int k = 0; k < st->nparams; k++)
		pv[k] = c->vals[st->gen[k]];
}

/* Simple mode: the statements as one text, values as literals. */
static bool send_simple(struct pgc *c)
{
	const struct fa_bench_pg *cfg = c->cfg;
	const char *pv[FA_BENCH_PG_MAX_VARS];

	if (cfg->nstmts == 1 && !cfg->stmts[0].nparams)
		return PQsendQuery(c->pg, cfg->stmts[0].sql);
	fa_buf_reset(&c->text);
	for (int i = 0; i < cfg->nstmts; i++) {
		values_of(c, &cfg->stmts[i], pv);
		if ((i && fa_buf_puts(&c->text, ";\n")) ||
		    fa_sql_bind_literals(&c->text, cfg->stmts[i].sql, cfg->stmts[i].nparams, pv))
			return false;
	}
	return !fa_buf_putc(&c->text, '\0') && PQsendQuery(c->pg, c->text.data);
}

static bool send_one(struct pgc *c)
{
	const struct fa_bench_pg *cfg = c->cfg;
	const char *pv[FA_BENCH_PG_MAX_VARS];

	/* each generator draws once a request: every statement sees the same value */
	for (int g = 0; g < cfg->nvars; g++)
		snprintf(c->vals[g], sizeof(c->vals[g]), "%lld",
			 (long long)fa_gen_next(&cfg->gens[g], &c->gst[g]));
	if (cfg->mode == FA_BENCH_PG_SIMPLE)
		return send_simple(c);
	for (int i = 0; i < cfg->nstmts; i++) {
		const struct fa_bench_pg_stmt *st = &cfg->stmts[i];
		char name[32];

		values_of(c, st, pv);
		if (cfg->mode == FA_BENCH_PG_EXTENDED) {
			if (!PQsendQueryParams(c->pg, st->sql, st->nparams, NULL, pv, NULL, NULL, 0))
				return false;
		} else {
			snprintf(name, sizeof(name), STMT_NAME "_%d", i);
			if (!PQsendQueryPrepared(c->pg, name, st->nparams, pv, NULL, NULL, 0))
				return false;
		}
	}
	return PQpipelineSync(c->pg);
}

static void pg_send(void *vc, struct fa_bench_req *r)
{
	struct pgc *c = vc;
	bool was_idle = c->n == 0;

	c->fifo[(c->head + c->n++) % c->cap] = r;
	if (was_idle)
		arm_timeout(c);
	if (c->state != C_READY || !send_one(c)) {
		/* not from inside send: the engine hears of it in a moment */
		fa_timer_start(c->loop, &c->fail, 0);
		return;
	}
	flush(c);
}

static void pg_close(void *vc)
{
	struct pgc *c = vc;

	drop_pg(c);
	fa_timer_stop(c->loop, &c->retry);
	fa_buf_release(&c->text);
	free(c->gst);
	free(c->vals);
	free(c->fifo);
	free(c);
}

const struct fa_bench_target fa_bench_pg_target = {
	.name = "pg",
	.open = pg_open,
	.send = pg_send,
	.close = pg_close,
};
