/*
 * fa-serve: requests to queries.  A request is matched to a route, its
 * parameters are gathered (path, query string, JSON or form body) and
 * checked against their declared types, the statement runs on the
 * worker's pool (prepared once per connection), and the rows go out as
 * JSON, NDJSON or CSV as the client's Accept asks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/fmt.h"
#include "http/haccess.h"
#include "http/hencode.h"
#include "http/hmap.h"
#include "http/ws.h"
#include "core/json.h"
#include "pg/ndjson.h"
#include "pg/pgrows.h"
#include "serve.h"
#include "core/stats.h"

#define BUFFER_BEFORE_STREAM (256 * 1024)

/* One request in flight: its parameters, its query, its output. */
struct call {
	struct fa_hreq *rq;
	struct wctx *w;
	const struct fa_query *q;
	struct fa_pgq pgq;
	char **values;                  /* $1..$n, NULL for SQL NULL */
	Oid *types;                     /* their declared types */
	struct fa_fmt fmt;
	struct fa_buf out;
	const char *ctype;
	int kind;
	long rows;
	bool begun, streaming, failed;
	int status;
	struct fa_buf err;
	uint64_t t0;
	struct sse_sub *sse;            /* a listen route's snapshot, or NULL */
	struct wsess *wss;              /* a WS route's session, or NULL: rows go there */
	struct grant grant;             /* the role and claims it runs as */
	struct fa_pgset settings[3];    /* role, claims, statement_timeout */
	char timeout[16];
};

/*
 * A failure answered whole.  503 says the database is away for now (lost,
 * restarting, no connection within --pool-timeout): Retry-After tells
 * clients when to try again, since the pool reconnects by itself.
 */
static void answer_failed(struct fa_hreq *rq, int status, const char *body)
{
	if (status == 503)
		fa_hres_header(rq, "Retry-After", "1");
	fa_hres_simple(rq, status, "application/json", body);
}

static void answer_error(struct fa_hreq *rq, int status, const char *sqlstate,
			 const char *message, const char *detail)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_hmap_error_json(&b, status, sqlstate, message, detail);
	answer_failed(rq, status, b.data);
	fa_buf_release(&b);
}

static void ws_rows(struct call *c);
static void ws_done(struct call *c);

static void call_free(struct call *c)
{
	for (int i = 0; c->values && i < c->q->nparams; i++)
		free(c->values[i]);
	free(c->values);
	free(c->types);
	fa_fmt_release(&c->fmt);
	fa_buf_release(&c->out);
	fa_buf_release(&c->err);
	auth_release_grant(&c->grant);
	free(c);
}

/* ---- parameters ---- */

static char *dup_decoded(const char *s, size_t n, bool plus, struct fa_error *err)
{
	char *d = malloc(n + 1);
	size_t len = n;

	if (!d || fa_h1_pct_decode(d, &len, s, n, plus, err)) {
		free(d);
		return NULL;
	}
	d[len] = '\0';
	return d;
}

static int param_index(const struct fa_query *q, const char *name, size_t n)
{
	for (int i = 0; i < q->nparams; i++)
		if (strlen(q->params[i].name) == n && !memcmp(q->params[i].name, name, n))
			return i;
	return -1;
}

/* name=value&... (a query string or a form body) into the values. */
static enum fa_err take_pairs(struct call *c, const char *q, size_t n, struct fa_error *err)
{
	struct fa_h1_header pair;

	while (q && fa_h1_query_next(&q, &n, &pair)) {
		char *name = dup_decoded(pair.name, pair.name_len, true, err);
		int i = name ? param_index(c->q, name, strlen(name)) : -1;

		free(name);
		if (!name)
			return FA_EINPUT;
		if (i < 0 || c->values[i])
			continue;
		if (!(c->values[i] = dup_decoded(pair.value, pair.value_len, true, err)))
			return FA_EINPUT;
	}
	return FA_OK;
}

/* One field of a COPY text row, unescaped; NULL for \N. */
static char *copy_field(const char *p, size_t n)
{
	char *v, *d;

	if (n == 2 && p[0] == '\\' && p[1] == 'N')
		return NULL;
	if (!(v = d = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\' || i + 1 == n) {
			*d++ = p[i];
			continue;
		}
		switch (p[++i]) {
		case 't': *d++ = '\t'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'v': *d++ = '\v'; break;
		default: *d++ = p[i]; break;
		}
	}
	*d = '\0';
	return v;
}

/* Whether a body is a JSON object (else it can only be the body parameter). */
static bool is_object(const char *body, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", body[i]))
			return body[i] == '{';
	return false;
}

/*
 * A JSON body: object keys to parameters, through lib/pg/ndjson so numbers
 * arrive exactly as written (0.1 stays 0.1); a parameter named body takes
 * the whole body when no key names it.
 */
static enum fa_err take_json(struct call *c, const char *body_p, size_t body_n,
			     struct fa_error *err)
{
	int n = c->q->nparams, body = param_index(c->q, "body", 4);
	struct fa_ndjson_col *cols = calloc((size_t)n + 1, sizeof(*cols));
	uint64_t present[FA_NDJSON_WORDS(64 * 16)];
	struct fa_ndjson m;
	struct fa_buf row;
	enum fa_err rc = FA_OK;
	const char *p;

	if (!is_object(body_p, body_n) && body >= 0) {
		free(cols);
		if (!c->values[body])
			c->values[body] = strndup(body_p, body_n);
		return FA_OK;
	}
	for (int i = 0; i < n; i++)
		cols[i] = (struct fa_ndjson_col){ c->q->params[i].name, c->q->params[i].oid };
	fa_buf_init(&row, 0);
	if (!n || n > 64 * 16 || fa_ndjson_init(&m, cols, n, false, err)) {
		free(cols);
		return n ? FA_EINPUT : FA_OK;
	}
	if (fa_ndjson_parse(&m, body_p, body_n, present, err) < 0)
		rc = fa_error_set(err, FA_EINPUT, "body: invalid JSON: %s", err->msg);
	else if (!fa_ndjson_emit(&m, false, &row, err))
		for (int i = 0, at = 0; i < n; i++) {
			size_t len = strcspn(row.data + at, "\t\n");

			p = row.data + at;
			if (fa_ndjson_has(present, i) && !c->values[i])
				c->values[i] = copy_field(p, len);
			at += (int)len + 1;
		}
	if (!rc && body >= 0 && !fa_ndjson_has(present, body) && !c->values[body])
		c->values[body] = strndup(body_p, body_n);
	fa_ndjson_release(&m);
	fa_buf_release(&row);
	free(cols);
	return rc;
}

static bool content_type_is(const struct fa_hreq *rq, const char *type)
{
	const struct fa_h1_header *h = fa_hreq_header(rq, "content-type");
	size_t n = strlen(type);

	return h && h->value_len >= n && !strncasecmp(h->value, type, n);
}

/* The path's parameters, then the query string's. */
static enum fa_err gather_target(struct call *c, const struct fa_route_match *m,
				 struct fa_error *err)
{
	enum fa_err rc = FA_OK;

	c->values = calloc((size_t)c->q->nparams + 1, sizeof(*c->values));
	for (int i = 0; i < m->nargs && !rc; i++)
		if (!(c->values[m->args[i].param] = dup_decoded(m->args[i].value, m->args[i].len,
								 false, err)))
			rc = FA_EINPUT;
	if (!rc && c->rq->query)
		rc = take_pairs(c, c->rq->query, c->rq->query_len, err);
	return rc;
}

/* Defaults for what is missing, then every value's type. */
static enum fa_err gather_check(struct call *c, struct fa_error *err)
{
	enum fa_err rc = FA_OK;

	for (int i = 0; i < c->q->nparams && !rc; i++) {
		const struct fa_qparam *p = &c->q->params[i];

		if (!c->values[i] && p->optional && p->def)
			c->values[i] = strdup(p->def);
		else if (!c->values[i] && !p->optional)
			rc = fa_error_set(err, FA_EINPUT, "missing parameter '%s' (%s)", p->name,
					  fa_pgtext_type_name(p->type));
		else if (c->values[i] && fa_qparam_check(p, c->values[i], strlen(c->values[i]), err))
			rc = FA_EINPUT;
	}
	return rc;
}

/* Path, query string, then body; defaults; then every value's type. */
static enum fa_err gather(struct call *c, const struct fa_route_match *m, struct fa_error *err)
{
	enum fa_err rc = gather_target(c, m, err);

	if (!rc && c->rq->body_len && content_type_is(c->rq, "application/x-www-form-urlencoded"))
		rc = take_pairs(c, c->rq->body, c->rq->body_len, err);
	else if (!rc && c->rq->body_len)
		rc = take_json(c, c->rq->body, c->rq->body_len, err);
	return rc ? rc : gather_check(c, err);
}

/*
 * A WS route's message: a JSON object's keys to the named parameters, as a
 * body's; anything else is the value of the first parameter the path and
 * query string left unset (the one named body, when there is one).
 */
static enum fa_err gather_message(struct call *c, const struct fa_route_match *m,
				  const char *msg, size_t n, struct fa_error *err)
{
	enum fa_err rc = gather_target(c, m, err);
	int i = param_index(c->q, "body", 4);

	if (!rc && memchr(msg, '\0', n)) {     /* a binary message: no text value holds it */
		rc = fa_error_set(err, FA_EINPUT, "the message holds a NUL byte, which no "
				  "parameter can take");
	} else if (!rc && is_object(msg, n)) {
		rc = take_json(c, msg, n, err);
	} else if (!rc) {
		for (int k = 0; i < 0 && k < c->q->nparams; k++)
			if (!c->values[k])
				i = k;
		if (i >= 0 && !c->values[i])
			c->values[i] = strndup(msg, n);
	}
	return rc ? rc : gather_check(c, err);
}

/* ---- results ---- */

static void start_stream(struct call *c)
{
	if (!c->streaming) {
		c->streaming = true;
		fa_hres_start(c->rq, 200, c->ctype, -1);
	}
	fa_hres_write(c->rq, c->out.data, c->out.len);
	fa_buf_reset(&c->out);
}

static void take_rows(struct call *c, PGresult *res, bool last)
{
	bool one = c->q->returns == FA_RETURNS_ONE;

	if (!c->begun) {
		fa_pgrows_begin(&c->fmt, res, c->w->types);
		c->begun = true;
	}
	if (PQntuples(res) && (!one || !c->rows) && (!c->q->limit || c->rows < c->q->limit)) {
		fa_pgrows_add(&c->fmt, res);
		c->rows += PQntuples(res);
	}
	if (last && !one)
		fa_fmt_end(&c->fmt);
	if (c->wss)
		ws_rows(c);
	else if (!one && !c->sse &&
	    (c->q->returns == FA_RETURNS_STREAM || c->out.len >= BUFFER_BEFORE_STREAM))
		start_stream(c);
}

static void on_result(struct fa_pgq *pq, PGresult *res)
{
	struct call *c = pq->ctx;
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
		if (!c->failed)
			take_rows(c, res, st == PGRES_TUPLES_OK);
	} else if (st == PGRES_PIPELINE_ABORTED && !c->failed) {
		c->failed = true;
		c->status = 500;
		fa_hmap_error_json(&c->err, 500, NULL, "the statement did not run", NULL);
	} else if (st == PGRES_FATAL_ERROR && !c->failed) {
		const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		c->failed = true;
		c->status = fa_hmap_status(s);
		/* the token's role: one that does not exist is the token's fault */
		if (pq->settings_failed)
			c->status = s && !strcmp(s, "42501") ? 403 : 401;
		fa_hmap_error_json(&c->err, c->status, s,
				   PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
				   PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	}
	PQclear(res);
}

/* FNV-1a over the representation: the body and its format. */
static uint64_t body_hash(const struct call *c)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)c->kind;

	for (size_t i = 0; i < c->out.len; i++)
		h = (h ^ (unsigned char)c->out.data[i]) * 1099511628211ULL;
	return h;
}

/*
 * Buffered GET answers carry an ETag; a matching If-None-Match gets 304.
 * A compressed representation's tag has its coding appended (lib/http/hencode),
 * so the tag compared is the one this request's Accept-Encoding selects.
 */
static bool not_modified(struct call *c)
{
	const struct fa_h1_header *inm = fa_hreq_header(c->rq, "if-none-match");
	int coding = fa_hres_coding(c->rq, c->ctype, (int64_t)c->out.len);
	char etag[24], coded[48], age[32];

	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)body_hash(c));
	fa_henc_etag(coded, sizeof(coded), etag, (enum fa_zkind)coding);
	if (c->q->cache_s > 0) {
		snprintf(age, sizeof(age), "max-age=%d", c->q->cache_s);
		fa_hres_header(c->rq, "Cache-Control", age);
	}
	if (!inm || (!memmem(inm->value, inm->value_len, coded, strlen(coded)) &&
		     !(inm->value_len == 1 && inm->value[0] == '*'))) {
		fa_hres_header(c->rq, "ETag", etag);    /* the server codes it with the body */
		return false;
	}
	fa_hres_header(c->rq, "ETag", coded);
	if (fa_henc_compressible(c->ctype))
		fa_hres_header(c->rq, "Vary", "Accept-Encoding");
	fa_hres_start(c->rq, 304, NULL, 0);
	fa_hres_end(c->rq);
	return true;
}

static void finish_ok(struct call *c)
{
	struct fa_hreq *rq = c->rq;

	switch (c->q->returns) {
	case FA_RETURNS_NONE:
		fa_hres_start(rq, 204, NULL, 0);
		fa_hres_end(rq);
		return;
	case FA_RETURNS_ONE:
		if (!c->rows) {
			answer_error(rq, 404, NULL, "not found", NULL);
			return;
		}
		break;
	default:
		if (!c->begun)          /* a write without RETURNING: an empty list */
			fa_buf_puts(&c->out, c->kind == FA_FMT_JSON ? "[]\n" : "");
		break;
	}
	if (c->streaming) {
		start_stream(c);
		fa_hres_end(rq);
		return;
	}
	if (c->q->method_bit == FA_METHOD_GET && not_modified(c))
		return;
	fa_hres_start(rq, 200, c->ctype, (int64_t)c->out.len);
	fa_hres_write(rq, c->out.data, c->out.len);
	fa_hres_end(rq);
}

static void on_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	struct call *c = pq->ctx;
	uint64_t ns = fa_now_ns() - c->t0;

	__atomic_add_fetch(&c->w->db_ns, ns, __ATOMIC_RELAXED);
	if (rc != FA_OK && !c->failed) {
		c->failed = true;
		c->status = 503;
		fa_hmap_error_json(&c->err, 503, NULL, "database unavailable", msg);
	}
	if (c->wss) {
		ws_done(c);
		call_free(c);
		return;
	}
	c->rq->app_ns = ns;
	if (c->sse && c->failed)
		sse_cancel(c->sse);
	if (c->sse && !c->failed)
		sse_start(c->sse, c->out.data ? c->out.data : "[]", c->out.data ? c->out.len : 2);
	else if (c->failed && !c->streaming)
		answer_failed(c->rq, c->status, c->err.data);
	else if (c->failed)
		fa_hres_fail(c->rq);    /* a cut-off body must not look complete */
	else
		finish_ok(c);
	call_free(c);
}

/* ---- routes ---- */

/* The formatter of kind and the statement with its values and their types. */
static void call_query(struct call *c, int kind)
{
	struct fa_fmt_opts o;

	fa_fmt_opts_init(&o);
	o.kind = kind;
	fa_fmt_init(&c->fmt, &o, &c->out);
	/* declared types go with the values: "x IS NULL OR col = x" needs them */
	c->types = calloc((size_t)c->q->nparams + 1, sizeof(*c->types));
	for (int i = 0; i < c->q->nparams; i++)
		c->types[i] = c->q->params[i].oid;
	c->t0 = fa_now_ns();
	c->pgq = (struct fa_pgq){ .sql = c->q->sql, .nparams = c->q->nparams,
				  .params = (const char *const *)c->values, .types = c->types,
				  .single_row = true, .prepare = !c->w->app->unnamed,
				  .on_result = on_result, .on_done = on_done, .ctx = c };
}

/* Role, claims and timeout, local to the statement's transaction, sent in its batch. */
static void call_settings(struct call *c, const struct grant *g)
{
	if (g->role) {
		c->settings[c->pgq.nsettings++] = (struct fa_pgset){ "role", g->role };
		c->settings[c->pgq.nsettings++] = (struct fa_pgset){ "request.jwt.claims",
								     g->claims };
	}
	if (c->q->timeout_ms > 0) {
		snprintf(c->timeout, sizeof(c->timeout), "%d", c->q->timeout_ms);
		c->settings[c->pgq.nsettings++] = (struct fa_pgset){ "statement_timeout", c->timeout };
	}
	c->pgq.settings = c->settings;
}

static void run_route(struct fa_hreq *rq, struct wctx *w, const struct fa_route_match *m,
		      struct sse_sub *sse, struct grant *g)
{
	const struct fa_h1_header *acc = fa_hreq_header(rq, "accept");
	struct call *c = calloc(1, sizeof(*c));
	struct fa_error err = { 0 };
	struct fa_pgq *one;

	c->rq = rq;
	c->w = w;
	c->q = m->query;
	fa_buf_init(&c->out, 0);
	fa_buf_init(&c->err, 0);
	c->sse = sse;
	c->grant = *g;                  /* the call owns it now */
	*g = (struct grant){ 0 };
	c->kind = sse ? FA_FMT_JSON : fa_hmap_accept(acc ? acc->value : NULL,
						       acc ? acc->value_len : 0, &c->ctype);
	if (c->kind < 0) {
		answer_error(rq, 406, NULL, "this route answers application/json, "
			     "application/x-ndjson or text/csv", NULL);
		call_free(c);
		return;
	}
	if (gather(c, m, &err)) {
		if (sse)
			sse_cancel(sse);
		answer_error(rq, 400, NULL, err.msg, NULL);
		call_free(c);
		return;
	}
	/* one row is an object: NDJSON's line, without the array */
	call_query(c, c->kind == FA_FMT_JSON && c->q->returns == FA_RETURNS_ONE ? FA_FMT_NDJSON :
		   c->kind);
	/* sent again after a lost connection only if it cannot write */
	c->pgq.retry_safe = c->q->method_bit == FA_METHOD_GET && c->q->read_only;
	/* alone with a timeout: in a pipeline its timer may count its neighbours' time too */
	c->pgq.shareable = c->pgq.retry_safe && c->q->timeout_ms <= 0;
	call_settings(c, &c->grant);
	/* a stream's own connection takes no settings: with them it shares the pool */
	if (c->q->returns == FA_RETURNS_STREAM && !sse && !c->pgq.nsettings) {
		stream_run(w, rq, &c->pgq);     /* its own connection: backpressure */
		return;
	}
	one = &c->pgq;
	fa_pool_submit(w->pool, &one, 1);
}

/* ---- WS routes: the statement runs for each message ---- */

#define WS_QUEUE 64                     /* messages waiting for the one that runs */
#define WS_QUEUE_BYTES (8u << 20)

/*
 * A WS route's session.  Its messages run one at a time, in order, so the
 * replies come back in the order of the messages; the others wait in a
 * bounded queue (a size_t length, then the bytes).  The call that runs
 * holds the session: once the client has gone, it frees it.
 */
struct wsess {
	struct fa_hws *ws;              /* NULL once the session ended */
	struct wctx *w;
	struct fa_route_match m;        /* its args point into the request: used while ws lives */
	struct grant grant;
	bool busy;                      /* a message's statement runs */
	struct fa_buf queue;
	int queued;
};

static void wsess_drop(struct wsess *s)
{
	if (s->ws || s->busy)
		return;
	auth_release_grant(&s->grant);
	fa_buf_release(&s->queue);
	free(s);
}

static void ws_run(struct wsess *s, const char *data, size_t n);

/* The next message waiting, if the session is still there. */
static void ws_next(struct wsess *s)
{
	size_t n;
	char *msg;

	if (!s->ws || !s->queued)
		return;
	memcpy(&n, s->queue.data, sizeof(n));
	msg = malloc(n + 1);
	memcpy(msg, s->queue.data + sizeof(n), n);
	fa_buf_consume(&s->queue, sizeof(n) + n);
	s->queued--;
	ws_run(s, msg, n);
	free(msg);
}

/* Each whole line of c->out (a row, in NDJSON) goes out as one text message. */
static void ws_rows(struct call *c)
{
	size_t at = 0;
	char *nl;

	while (at < c->out.len && (nl = memchr(c->out.data + at, '\n', c->out.len - at))) {
		if (c->wss->ws)
			fa_hws_send(c->wss->ws, FA_WS_TEXT, c->out.data + at,
				    (size_t)(nl - c->out.data) - at);
		at = (size_t)(nl - c->out.data) + 1;
	}
	fa_buf_consume(&c->out, at);
}

/* The statement is done: its last rows, or its error as a message; the socket stays. */
static void ws_done(struct call *c)
{
	struct wsess *s = c->wss;
	size_t n = c->err.len;

	if (!c->failed)
		ws_rows(c);
	while (n && c->err.data[n - 1] == '\n')
		n--;
	if (c->failed && s->ws)
		fa_hws_send(s->ws, FA_WS_TEXT, c->err.data, n);
	s->busy = false;
	if (s->ws)
		ws_next(s);
	else
		wsess_drop(s);
}

static void ws_message(struct fa_hws *ws, int op, const char *data, size_t n, void *arg)
{
	struct wsess *s = arg;

	if (auth_expired(s->grant.until))
		return fa_hws_close(ws, 1008, AUTH_EXPIRED);
	if (!s->busy)
		return ws_run(s, data, n);
	if (s->queued >= WS_QUEUE || fa_buf_append(&s->queue, &n, sizeof(n)) ||
	    fa_buf_append(&s->queue, data, n))
		return fa_hws_close(ws, 1008, "too many messages waiting for their statements");
	s->queued++;
}

/* Runs the statement for one message; its rows go back as it finishes. */
static void ws_run(struct wsess *s, const char *data, size_t n)
{
	struct call *c = calloc(1, sizeof(*c));
	struct fa_error err = { 0 };
	struct fa_pgq *one;

	*c = (struct call){ .rq = fa_hws_request(s->ws), .w = s->w, .q = s->m.query, .wss = s };
	fa_buf_init(&c->out, 0);
	fa_buf_init(&c->err, 0);
	s->busy = true;
	if (gather_message(c, &s->m, data, n, &err)) {
		c->failed = true;
		fa_hmap_error_json(&c->err, 400, NULL, err.msg, NULL);
		ws_done(c);
		call_free(c);
		return;
	}
	call_query(c, FA_FMT_NDJSON);
	c->rq = NULL;   /* the session may end before the statement does */
	call_settings(c, &s->grant);
	one = &c->pgq;
	fa_pool_submit(s->w->pool, &one, 1);
}

static void ws_closed(struct fa_hws *ws, int code, void *arg)
{
	struct wsess *s = arg;

	s->ws = NULL;
	wsess_drop(s);
}

static void ws_route(struct fa_hreq *rq, struct wctx *w, const struct fa_route_match *m,
		     struct grant *g)
{
	static const struct fa_hws_handlers h = { .on_message = ws_message, .on_close = ws_closed };
	struct wsess *s = calloc(1, sizeof(*s));

	*s = (struct wsess){ .w = w, .m = *m, .grant = *g };
	*g = (struct grant){ 0 };       /* the session owns it now */
	fa_buf_init(&s->queue, WS_QUEUE_BYTES);
	if (!(s->ws = fa_hres_websocket(rq, &h, s))) {
		wsess_drop(s);
		answer_error(rq, 400, NULL, "a WebSocket needs HTTP/1.1 here", NULL);
	}
}

/* A listen route: the stream (SSE or WebSocket) starts after its statement's snapshot. */
static void listen_route(struct fa_hreq *rq, struct wctx *w, const struct fa_route_match *m,
			 struct grant *g)
{
	struct sse_sub *s;

	if (!m->query->sql[0])
		return sse_subscribe(rq, w, m->query->listen, g->until);
	if ((s = sse_open(rq, w, m->query->listen, g->until)))
		run_route(rq, w, m, s, g);
}

static bool origin_allowed(const char *list, const char *origin, size_t n);

/*
 * A browser's WebSocket is not held back by the same-origin policy as its
 * fetch is, so a page of another site could read what a WS or listen route
 * sends (RFC 6455 section 10.2).  A request that names an Origin, as
 * browsers' do, is taken when that origin is the server's own (its host
 * is the Host, or h2's :authority) or --cors allows it.
 */
static bool ws_origin_ok(struct fa_hreq *rq, const struct app *a)
{
	const struct fa_h1_header *o = fa_hreq_header(rq, "origin");
	const struct fa_h1_header *h = fa_hreq_header(rq, "host");
	const char *host;
	size_t n;

	if (!o || (a->cors && origin_allowed(a->cors, o->value, o->value_len)))
		return true;
	if (!h || !(host = memmem(o->value, o->value_len, "://", 3)))
		return false;
	host += 3;
	n = o->value_len - (size_t)(host - o->value);
	return n == h->value_len && !strncasecmp(host, h->value, n);
}

/*
 * A request for a WebSocket: WS routes and listen routes take one; other
 * routes say they do not.
 */
static void websocket(struct fa_hreq *rq, struct wctx *w, struct app *a,
		      struct fa_sqlfile_set *routes)
{
	struct fa_route_match m;
	struct grant g = { 0 };

	if (!fa_sqlfile_match(routes, "WS", rq->path, rq->path_len, &m) &&
	    (!fa_sqlfile_match(routes, "GET", rq->path, rq->path_len, &m) || !m.query->listen)) {
		if (m.query || m.allow)
			return answer_error(rq, 400, NULL, "this route does not take a WebSocket: "
					    "WS and listen routes do", NULL);
		return answer_error(rq, 404, NULL, "no such route", NULL);
	}
	if (!ws_origin_ok(rq, a))
		return answer_error(rq, 403, NULL, "a WebSocket from a page of another origin",
				    "allow its origin with --cors");
	if ((AUTH_ON(a) || m.query->auth == FA_AUTH_REQUIRED) && auth_check(rq, w, m.query, &g))
		return;         /* 401, answered */
	if (m.query->listen)
		listen_route(rq, w, &m, &g);
	else
		ws_route(rq, w, &m, &g);
	auth_release_grant(&g);
}

/* Field by field, so /metrics on another worker reads no torn values. */
static void stats_store(struct fa_pool_stats *dst, const struct fa_pool_stats *src)
{
	__atomic_store_n(&dst->ready, src->ready, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->connecting, src->connecting, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->dead, src->dead, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->pending, src->pending, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->reconnects, src->reconnects, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->connect_failures, src->connect_failures, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->timeouts, src->timeouts, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->retried, src->retried, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->lost, src->lost, __ATOMIC_RELAXED);
	for (int k = 0; k <= FA_POOL_WAIT_BUCKETS; k++)
		__atomic_store_n(&dst->wait[k], src->wait[k], __ATOMIC_RELAXED);
	__atomic_store_n(&dst->wait_count, src->wait_count, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->wait_ns, src->wait_ns, __ATOMIC_RELAXED);
}

static void stats_add(struct fa_pool_stats *sum, const struct fa_pool_stats *w)
{
	sum->ready += __atomic_load_n(&w->ready, __ATOMIC_RELAXED);
	sum->connecting += __atomic_load_n(&w->connecting, __ATOMIC_RELAXED);
	sum->dead += __atomic_load_n(&w->dead, __ATOMIC_RELAXED);
	sum->pending += __atomic_load_n(&w->pending, __ATOMIC_RELAXED);
	sum->reconnects += __atomic_load_n(&w->reconnects, __ATOMIC_RELAXED);
	sum->connect_failures += __atomic_load_n(&w->connect_failures, __ATOMIC_RELAXED);
	sum->timeouts += __atomic_load_n(&w->timeouts, __ATOMIC_RELAXED);
	sum->retried += __atomic_load_n(&w->retried, __ATOMIC_RELAXED);
	sum->lost += __atomic_load_n(&w->lost, __ATOMIC_RELAXED);
	for (int k = 0; k <= FA_POOL_WAIT_BUCKETS; k++)
		sum->wait[k] += __atomic_load_n(&w->wait[k], __ATOMIC_RELAXED);
	sum->wait_count += __atomic_load_n(&w->wait_count, __ATOMIC_RELAXED);
	sum->wait_ns += __atomic_load_n(&w->wait_ns, __ATOMIC_RELAXED);
}

/* The pool's state, for /metrics on whichever worker answers it. */
static void publish_pool(struct wctx *w)
{
	struct fa_pool_stats st;

	fa_pool_stats(w->pool, &st);
	stats_store(&w->pool_now, &st);
}

static void publish_due(struct fa_timer *t)
{
	struct wctx *w = t->ctx;

	publish_pool(w);
	fa_timer_start(w->loop, &w->publish, 1000);
}

static void metrics_pool(struct fa_buf *b, const struct fa_pool_stats *st)
{
	uint64_t cum = 0;

	fa_buf_printf(b, "# HELP fa_pool_connections Database connections of all workers, by state.\n"
		      "# TYPE fa_pool_connections gauge\n"
		      "fa_pool_connections{state=\"ready\"} %d\n"
		      "fa_pool_connections{state=\"connecting\"} %d\n"
		      "fa_pool_connections{state=\"broken\"} %d\n"
		      "# HELP fa_pool_queries Queries queued or in flight.\n"
		      "# TYPE fa_pool_queries gauge\nfa_pool_queries %d\n",
		      st->ready, st->connecting, st->dead, st->pending);
	fa_buf_printf(b, "# HELP fa_pool_reconnects_total Connections made again after one was lost or replaced.\n"
		      "# TYPE fa_pool_reconnects_total counter\nfa_pool_reconnects_total %llu\n"
		      "# HELP fa_pool_connect_failures_total Attempts to connect that failed.\n"
		      "# TYPE fa_pool_connect_failures_total counter\nfa_pool_connect_failures_total %llu\n"
		      "# HELP fa_pool_timeouts_total Queries that found no connection within --pool-timeout.\n"
		      "# TYPE fa_pool_timeouts_total counter\nfa_pool_timeouts_total %llu\n"
		      "# HELP fa_pool_retries_total Read-only queries sent again after a lost connection.\n"
		      "# TYPE fa_pool_retries_total counter\nfa_pool_retries_total %llu\n"
		      "# HELP fa_pool_lost_total Queries ended by a lost connection.\n"
		      "# TYPE fa_pool_lost_total counter\nfa_pool_lost_total %llu\n",
		      (unsigned long long)st->reconnects, (unsigned long long)st->connect_failures,
		      (unsigned long long)st->timeouts, (unsigned long long)st->retried,
		      (unsigned long long)st->lost);
	fa_buf_puts(b, "# HELP fa_pool_wait_seconds Time queries waited for a database connection.\n"
		    "# TYPE fa_pool_wait_seconds histogram\n");
	for (int k = 0; k < FA_POOL_WAIT_BUCKETS; k++) {
		cum += st->wait[k];
		fa_buf_printf(b, "fa_pool_wait_seconds_bucket{le=\"%g\"} %llu\n", fa_pool_wait_le[k],
			      (unsigned long long)cum);
	}
	fa_buf_printf(b, "fa_pool_wait_seconds_bucket{le=\"+Inf\"} %llu\n"
		      "fa_pool_wait_seconds_sum %.6f\nfa_pool_wait_seconds_count %llu\n",
		      (unsigned long long)(cum + st->wait[FA_POOL_WAIT_BUCKETS]),
		      (double)st->wait_ns / 1e9, (unsigned long long)st->wait_count);
}

static void metrics(struct fa_hreq *rq, struct app *a)
{
	uint64_t e4 = 0, e5 = 0, db = 0;
	struct fa_pool_stats pool = { 0 };
	struct fa_buf b;

	publish_pool(rq->worker_ctx);
	for (int i = 0; i < a->nworkers; i++) {
		struct wctx *w = __atomic_load_n(&a->workers[i], __ATOMIC_ACQUIRE);

		if (!w)
			continue;
		e4 += __atomic_load_n(&w->errors4xx, __ATOMIC_RELAXED);
		e5 += __atomic_load_n(&w->errors5xx, __ATOMIC_RELAXED);
		db += __atomic_load_n(&w->db_ns, __ATOMIC_RELAXED);
		stats_add(&pool, &w->pool_now);
	}
	fa_buf_init(&b, 0);
	metrics_write(&b, a);
	fa_buf_printf(&b, "# TYPE fa_http_errors_total counter\nfa_http_errors_total{class=\"4xx\"} %llu\n"
		      "fa_http_errors_total{class=\"5xx\"} %llu\n"
		      "# TYPE fa_db_seconds_total counter\nfa_db_seconds_total %.6f\n",
		      (unsigned long long)e4, (unsigned long long)e5, (double)db / 1e9);
	metrics_pool(&b, &pool);
	fa_hres_simple(rq, 200, "text/plain; version=0.0.4", b.data);
	fa_buf_release(&b);
}

static void ready_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	struct fa_hreq *rq = pq->ctx;

	if (rc == FA_OK)
		fa_hres_simple(rq, 200, "text/plain", "ready\n");
	else
		answer_error(rq, 503, NULL, "database unavailable", msg);
	free(pq);
}

static void ready_result(struct fa_pgq *pq, PGresult *res)
{
	PQclear(res);
}

static bool is(const struct fa_hreq *rq, const char *path)
{
	return rq->path_len == strlen(path) && !memcmp(rq->path, path, rq->path_len);
}

/* Is origin[0..n) in the --cors list? */
static bool origin_allowed(const char *list, const char *origin, size_t n)
{
	while (list && *list) {
		size_t len = strcspn(list, ",");

		while (len && *list == ' ')
			list++, len--;
		if ((len == 1 && *list == '*') || (len == n && !strncasecmp(list, origin, n)))
			return true;
		list += len + (list[len] == ',');
	}
	return false;
}

/* CORS: the allow headers on every answer; preflights answered here. */
static bool cors(struct fa_hreq *rq, const struct app *a)
{
	const struct fa_h1_header *o = fa_hreq_header(rq, "origin");
	const struct fa_h1_header *rh = fa_hreq_header(rq, "access-control-request-headers");
	char v[512];

	if (!a->cors || !o || !origin_allowed(a->cors, o->value, o->value_len))
		return false;
	snprintf(v, sizeof(v), "%.*s", (int)o->value_len, o->value);
	fa_hres_header(rq, "Access-Control-Allow-Origin", v);
	fa_hres_header(rq, "Vary", "Origin");
	if (rq->method_len != 7 || memcmp(rq->method, "OPTIONS", 7) ||
	    !fa_hreq_header(rq, "access-control-request-method"))
		return false;
	fa_hres_header(rq, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
	if (rh) {
		snprintf(v, sizeof(v), "%.*s", (int)rh->value_len, rh->value);
		fa_hres_header(rq, "Access-Control-Allow-Headers", v);
	}
	fa_hres_header(rq, "Access-Control-Max-Age", "600");
	fa_hres_start(rq, 204, NULL, 0);
	fa_hres_end(rq);
	return true;
}

/* No route: a file of --static, else 404. */
static void static_or_404(struct fa_hreq *rq, struct app *a)
{
	struct fa_error err = { 0 };
	int status;

	if (!a->files)
		return answer_error(rq, 404, NULL, "no such route", NULL);
	if ((status = fa_hstatic_serve(a->files, rq, &err)))
		answer_error(rq, status, NULL, status == 404 ? "not found" : err.msg,
			     status == 404 ? err.msg : NULL);
}

void serve_handle(struct fa_hreq *rq, void *arg)
{
	struct app *a = arg;
	struct wctx *w = rq->worker_ctx;
	struct fa_sqlfile_set *routes = fa_sqlfiles_get(&a->routes);
	struct fa_route_match m;
	struct grant g = { 0 };
	char method[16];

	if (cors(rq, a))
		return;         /* a preflight, answered */

	if (is(rq, "/live"))
		return fa_hres_simple(rq, 200, "text/plain", "ok\n");
	if (is(rq, "/metrics"))
		return metrics(rq, a);
	if (is(rq, "/ready")) {
		struct fa_pool_stats st;
		struct fa_pgq *pq;

		/* no connection ready: say so now, not after --pool-timeout */
		fa_pool_stats(w->pool, &st);
		if (!st.ready)
			return answer_error(rq, 503, NULL, "database unavailable",
					    "no database connection is ready");
		pq = calloc(1, sizeof(*pq));

		*pq = (struct fa_pgq){ .sql = "SELECT 1", .on_result = ready_result,
				       .on_done = ready_done, .ctx = rq };
		return fa_pool_submit(w->pool, &pq, 1);
	}
	if (rq->websocket)
		return websocket(rq, w, a, routes);
	snprintf(method, sizeof(method), "%.*s", (int)rq->method_len, rq->method);
	if (!strcmp(method, "HEAD"))
		snprintf(method, sizeof(method), "GET");
	/* auth: required is never open, even on a server without keys */
	if (fa_sqlfile_match(routes, method, rq->path, rq->path_len, &m) &&
	    (AUTH_ON(a) || m.query->auth == FA_AUTH_REQUIRED) && auth_check(rq, w, m.query, &g))
		return;         /* 401, answered */
	if (m.query && m.query->listen) {
		listen_route(rq, w, &m, &g);
		auth_release_grant(&g);
		return;
	}
	if (!m.query) {
		if (m.allow == FA_METHOD_WS) {
			fa_hres_header(rq, "Upgrade", "websocket");
			return answer_error(rq, 426, NULL, "this route is a WebSocket: ask for "
					    "an upgrade to one", NULL);
		}
		if (m.allow) {
			char allow[64] = "";

			for (int b = 0; b < 5; b++)
				if (m.allow & (1u << b))
					snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
						 allow[0] ? ", " : "", (const char *[]){ "GET, HEAD", "POST",
						 "PUT", "PATCH", "DELETE" }[b]);
			fa_hres_header(rq, "Allow", allow);
			return answer_error(rq, 405, NULL, "method not allowed", NULL);
		}
		return static_or_404(rq, a);
	}
	run_route(rq, w, &m, NULL, &g);
	auth_release_grant(&g);
}

/* ---- workers, logging ---- */

void *serve_init_worker(int index, struct fa_loop *loop, void *arg)
{
	struct app *a = arg;
	struct wctx *w = calloc(1, sizeof(*w));
	struct fa_pool_opts o = { .size = a->pool_size, .depth = 64, .app = "fa-serve",
				  .unnamed = a->unnamed, .timeout_ms = a->pool_timeout_ms,
				  .lifetime_ms = a->pool_lifetime_ms };
	struct fa_error err = { 0 };

	w->app = a;
	w->loop = loop;
	w->metrics = metrics_new();
	w->jwt_cache = auth_cache_new(a);
	w->types = fa_pgtypes_new(&a->target, "fa-serve types");
	if (!(w->pool = fa_pool_new(loop, &a->target, &o, &err)))
		fprintf(stderr, "fa-serve: worker %d: %s\n", index, err.msg);
	fa_timer_init(&w->publish, publish_due, w);
	if (w->pool)
		publish_due(&w->publish);
	__atomic_store_n(&a->workers[index], w, __ATOMIC_RELEASE);
	return w;
}

void serve_done_worker(int index, void *ctx, void *arg)
{
	struct wctx *w = ctx;
	struct app *a = arg;

	__atomic_store_n(&a->workers[index], NULL, __ATOMIC_RELEASE);
	fa_timer_stop(w->loop, &w->publish);
	sse_release(w);
	fa_pool_free(w->pool);
	fa_pgtypes_free(w->types);
	metrics_free(w->metrics);
	fa_jwt_cache_free(w->jwt_cache);
	free(w);
}

/* One line a request, written whole: workers share the file. */
static void access_log(struct app *a, const struct fa_hreq *rq, double secs)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_haccess_line(&b, rq, a->log_json, secs);
	fwrite(b.data, 1, b.len, a->access_log);
	fflush(a->access_log);
	fa_buf_release(&b);
}

/* The route a finished request went to, found again: "" when none. */
static const char *route_of(const struct fa_hreq *rq, struct app *a)
{
	struct fa_sqlfile_set *routes = fa_sqlfiles_get(&a->routes);
	struct fa_route_match m;
	char method[16];

	if (is(rq, "/live") || is(rq, "/metrics") || is(rq, "/ready"))
		return "";
	if (rq->websocket && fa_sqlfile_match(routes, "WS", rq->path, rq->path_len, &m))
		return m.query->name;
	snprintf(method, sizeof(method), "%.*s", (int)rq->method_len, rq->method);
	if (!strcmp(method, "HEAD"))
		snprintf(method, sizeof(method), "GET");
	return fa_sqlfile_match(routes, method, rq->path, rq->path_len, &m) ? m.query->name : "";
}

void serve_done(const struct fa_hreq *rq, void *arg)
{
	struct app *a = arg;
	struct wctx *w = rq->worker_ctx;
	uint64_t ns = fa_now_ns() - rq->t0;

	if (w) {
		if (rq->status >= 500)
			__atomic_store_n(&w->errors5xx, w->errors5xx + 1, __ATOMIC_RELAXED);
		else if (rq->status >= 400)
			__atomic_store_n(&w->errors4xx, w->errors4xx + 1, __ATOMIC_RELAXED);
		metrics_count(w->metrics, route_of(rq, a), rq->status, ns);
	}
	if (a->access_log)
		access_log(a, rq, (double)ns / 1e9);
}
