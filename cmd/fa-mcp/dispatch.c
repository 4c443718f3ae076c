/*
 * fa-mcp: what each method answers, whichever transport carried it.
 * tools/call runs the tool's statement on the worker's pool; everything
 * else answers at once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "famcp.h"
#include "mcp/mcp.h"
#include "pg/pgrows.h"
#include "proxy.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_LOG_LEVEL "io.modelcontextprotocol/logLevel"
#define LIST_TTL_MS 60000

static void drop_result(struct fa_pgq *pq, PGresult *res);
static void ignore_done(struct fa_pgq *pq, enum fa_err rc, const char *msg);

struct fa_sqlfile_set *app_files(struct app *a)
{
	return fa_sqlfiles_get(&a->files);
}

static json_t *meta_of(const struct fa_jr_msg *m)
{
	return m->params ? json_object_get(m->params, "_meta") : NULL;
}

const char *mcp_meta_version(const struct fa_jr_msg *m)
{
	return json_string_value(json_object_get(meta_of(m), META_VERSION));
}

enum era mcp_era(const struct fa_jr_msg *m)
{
	return json_object_get(meta_of(m), META_VERSION) ? ERA_MODERN : ERA_LEGACY;
}

static void answer(struct reply *r, int status, struct fa_buf *b)
{
	r->done(r, status, b->data ? b->data : "", b->len);
}

void mcp_fail(struct reply *r, int status, int code, const char *message, json_t *data)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_error(&b, r->id, code, message, data);
	answer(r, status, &b);
	fa_buf_release(&b);
}

#define SERVER_NAME "fa-mcp"
#define SERVER_TITLE "fa-mcp: SQL files as MCP tools"

static json_t *server_info(void)
{
	return json_pack("{s:s,s:s,s:s}", "name", SERVER_NAME, "title", SERVER_TITLE,
			 "version", FA_VERSION);
}

/* What a modern call result ends with, written once instead of per call. */
#define MODERN_TAIL ",\"resultType\":\"complete\",\"_meta\":{\"io.modelcontextprotocol/serverInfo\":" \
	"{\"name\":\"" SERVER_NAME "\",\"title\":\"" SERVER_TITLE "\",\"version\":\"" FA_VERSION "\"}}}"

/* A result object answered; modern results say they are complete. */
void mcp_answer(struct reply *r, json_t *result)
{
	struct fa_buf b;

	if (r->era == ERA_MODERN) {
		json_object_set_new(result, "resultType", json_string("complete"));
		json_object_set_new(result, "_meta", json_pack("{s:o}", "io.modelcontextprotocol/serverInfo",
								 server_info()));
	}
	fa_buf_init(&b, 0);
	fa_jr_put_result(&b, r->id, result);
	answer(r, 200, &b);
	fa_buf_release(&b);
	json_decref(result);
}

/* A list result that may be cached (2026): for ttlMs, by anyone. */
json_t *mcp_cacheable(struct reply *r, json_t *result)
{
	if (r->era == ERA_MODERN) {
		json_object_set_new(result, "ttlMs", json_integer(LIST_TTL_MS));
		json_object_set_new(result, "cacheScope", json_string("public"));
	}
	return result;
}

static json_t *capabilities(void)
{
	return json_pack("{s:{s:b},s:{s:b},s:{s:b,s:b},s:{},s:{}}", "tools", "listChanged", 1,
			 "prompts", "listChanged", 1, "resources", "listChanged", 1, "subscribe", 1,
			 "logging", "completions");
}

static void initialize(struct reply *r, const struct fa_jr_msg *m)
{
	const char *asked = json_string_value(json_object_get(m->params, "protocolVersion"));

	if (!asked) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "initialize: \"protocolVersion\" is required", NULL);
		return;
	}
	mcp_answer(r, json_pack("{s:s,s:o,s:o,s:s}", "protocolVersion", fa_mcp_negotiate(asked),
				   "capabilities", capabilities(), "serverInfo", server_info(),
				   "instructions", "Each tool runs one SQL statement of fa-mcp's files "
				   "against PostgreSQL; its rows come back as structuredContent.rows."));
}

static void discover(struct reply *r)
{
	json_t *versions = json_array();

	for (int i = 0; fa_mcp_versions[i]; i++)
		json_array_append_new(versions, json_string(fa_mcp_versions[i]));
	mcp_answer(r, mcp_cacheable(r, json_pack("{s:o,s:o}", "supportedVersions", versions,
						"capabilities", capabilities())));
}

/* A query is a tool when it says so and the server may run it. */
static bool is_tool(const struct app *a, const struct fa_query *q)
{
	return q->tool && (!a->read_only || q->read_only) &&
	       !(a->sql_tool && !strcmp(q->name, MCP_SQL_TOOL));      /* --sql-tool's query hides it */
}

/*
 * Answers the page of all (the whole list, which this takes) that m's
 * cursor asks for, as key, with a nextCursor while more follow.  A cursor
 * past the end (the list shrank in a reload) gets an empty last page.
 */
void mcp_page(struct worker *w, struct reply *r, const struct fa_jr_msg *m, const char *key,
	      json_t *all)
{
	json_t *cursor = json_object_get(m->params, "cursor"), *page, *result;
	size_t off = 0, n = json_array_size(all), size = (size_t)w->app->page_size, end;
	char next[32], msg[96];

	if (cursor && !(json_is_string(cursor) && (!json_string_value(cursor)[0] ||
						   fa_mcp_cursor_offset(json_string_value(cursor), &off)))) {
		json_decref(all);
		snprintf(msg, sizeof(msg), "%s: invalid cursor", m->method);
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, msg, NULL);
		return;
	}
	if (off > n)
		off = n;
	end = size && n - off > size ? off + size : n;
	page = json_array();
	for (size_t i = off; i < end; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	result = json_pack("{s:o}", key, page);
	if (end < n) {
		fa_mcp_cursor(next, sizeof(next), end);
		json_object_set_new(result, "nextCursor", json_string(next));
	}
	mcp_answer(r, mcp_cacheable(r, result));
}

static void tools_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	struct fa_sqlfile_set *set = app_files(w->app);
	json_t *tools = json_array();

	for (size_t i = 0; i < set->nqueries; i++)
		if (is_tool(w->app, &set->queries[i]))
			json_array_append_new(tools, fa_mcp_tool(&set->queries[i]));
	if (w->app->sql_tool)
		json_array_append_new(tools, mcp_sql_tool(w->app));
	mcp_page(w, r, m, "tools", tools);
}

/* ---- running a statement ---- */

enum fa_err stmt_run_init(struct stmt_run *run, const struct fa_query *q, const json_t *args,
			  struct fa_error *err)
{
	*run = (struct stmt_run){ 0 };
	run->values = calloc((size_t)q->nparams + 1, sizeof(*run->values));
	run->types = calloc((size_t)q->nparams + 1, sizeof(*run->types));
	if (!run->values || !run->types)
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	return fa_mcp_args(q, args, run->values, err);
}

void stmt_run_release(struct stmt_run *run, const struct fa_query *q)
{
	for (int i = 0; run->values && i < q->nparams; i++)
		free(run->values[i]);
	free(run->values);
	free(run->types);
	*run = (struct stmt_run){ 0 };
}

/* ---- tools/call ---- */

struct call {
	struct worker *w;
	struct reply *r;
	const struct fa_query *q;
	struct stmt_run run;
	struct callrows out;
	bool cancelled;
	struct call *next;              /* w->calls */
};

static void call_unlink(struct call *c)
{
	for (struct call **p = &c->w->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
}

static void call_cancel(struct call *c)
{
	c->cancelled = true;
	fa_pool_cancel_query(c->w->pool, &c->run.pgq);
}

/*
 * Whether a notifications/cancelled from "from" may end a request of owner
 * (both a reply's from: NULL over stdio, else the request's 2025 session
 * or "").  Over stdio there is one client.  Over HTTP a 2026 client
 * cancels by closing the stream (the 2026-07-28 cancellation page: "No
 * notifications/cancelled message is required or expected"); a
 * notification on another POST names only a request id, which another
 * client may use too, so it is taken only from the open 2025 session the
 * request came in (--auth-token is one token for every client: it tells
 * none apart).
 */
bool mcp_cancel_owns(const char *owner, const char *from)
{
	if (!owner || !from)
		return !owner && !from;
	return *owner && !strcmp(owner, from);
}

bool mcp_call_cancel(struct worker *w, const char *from, const json_t *request_id)
{
	for (struct call *c = w->calls; c; c = c->next)
		if (!c->cancelled && json_equal(c->r->id, request_id) && mcp_cancel_owns(c->r->from, from)) {
			call_cancel(c);
			return true;
		}
	return false;
}

/* The HTTP client went away before the answer: as if it had cancelled. */
static void call_gone(struct reply *r)
{
	struct call *c = r->gone_arg;

	r->gone = NULL;
	if (!c->cancelled)
		call_cancel(c);
}

void mcp_sql_error(struct fa_buf *out, const PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

	fa_buf_printf(out, "ERROR %s: %s%s%s", s ? s : "", msg ? msg : "the statement did not run",
		      detail ? "\nDETAIL: " : "", detail ? detail : "");
}

void callrows_init(struct callrows *s)
{
	struct fa_fmt_opts o;

	memset(s, 0, sizeof(*s));
	fa_buf_init(&s->rows, 0);
	fa_buf_init(&s->err, 0);
	fa_fmt_opts_init(&o);
	o.kind = FA_FMT_JSON;
	fa_fmt_init(&s->fmt, &o, &s->rows);
}

void callrows_release(struct callrows *s)
{
	fa_fmt_release(&s->fmt);
	fa_buf_release(&s->rows);
	fa_buf_release(&s->err);
}

void callrows_error(struct callrows *s, const PGresult *res)
{
	if (s->failed)
		return;
	s->failed = true;
	mcp_sql_error(&s->err, res);
}

void callrows_take(struct callrows *s, const PGresult *res, long limit, struct fa_pgtypes *types)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) {
		callrows_error(s, res);
		return;
	}
	if ((st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) || s->failed)
		return;
	if (!s->begun) {
		fa_pgrows_begin(&s->fmt, res, types);
		s->begun = true;
	}
	if (!PQntuples(res))
		return;
	if (limit && s->nrows >= limit) {
		s->truncated = true;
		return;
	}
	fa_pgrows_add(&s->fmt, res);
	s->nrows += PQntuples(res);
}

bool callrows_end(struct callrows *s, enum fa_err rc, const char *msg, struct fa_buf *out)
{
	if (rc != FA_OK && !s->failed)
		fa_buf_printf(&s->err, "database unavailable: %s", msg ? msg : "no connection");
	if (rc != FA_OK || s->failed) {
		fa_mcp_put_tool_error(out, s->err.data);
		return true;
	}
	if (s->begun)
		fa_fmt_end(&s->fmt);
	return false;
}

static void call_free(struct call *c)
{
	stmt_run_release(&c->run, c->q);
	callrows_release(&c->out);
	free(c);
}

static void call_result(struct fa_pgq *pq, PGresult *res)
{
	struct call *c = pq->ctx;

	callrows_take(&c->out, res, c->q->limit, c->w->types);
	PQclear(res);
}

static void call_notice(struct fa_pgq *pq, const PGresult *notice)
{
	struct call *c = pq->ctx;

	mcp_notice(c->r, notice);
}

static void call_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	struct call *c = pq->ctx;
	struct fa_buf res;

	c->w->inflight--;
	call_unlink(c);
	c->r->gone = NULL;
	if (c->cancelled) {
		/* the client gave up on it: no answer (the transport still ends r) */
		c->r->done(c->r, 200, "", 0);
		call_free(c);
		return;
	}
	fa_buf_init(&res, 0);
	if (!callrows_end(&c->out, rc, msg, &res))
		fa_mcp_put_rows(&res, c->q->returns, CALLROWS_JSON(&c->out), CALLROWS_LEN(&c->out));
	mcp_answer_text(c->r, &res);
	fa_buf_release(&res);
	call_free(c);
}

void mcp_answer_text(struct reply *r, struct fa_buf *res)
{
	struct fa_buf out;

	if (r->era == ERA_MODERN && res->len && res->data[res->len - 1] == '}') {
		res->data[--res->len] = '\0';
		fa_buf_puts(res, MODERN_TAIL);
	}
	fa_buf_init(&out, 0);
	fa_buf_puts(&out, "{\"jsonrpc\":\"2.0\",\"id\":");
	fa_jr_put_json(&out, r->id);
	fa_buf_puts(&out, ",\"result\":");
	fa_buf_append(&out, res->data, res->len);
	fa_buf_putc(&out, '}');
	answer(r, 200, &out);
	fa_buf_release(&out);
}

static void drop_result(struct fa_pgq *pq, PGresult *res)
{
	PQclear(res);
}

static void ignore_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
}

/* SET LOCAL of the statement's timeout, for its implicit transaction. */
static bool settings(struct stmt_run *run, const struct fa_query *q)
{
	if (q->timeout_ms <= 0)
		return false;
	snprintf(run->setsql, sizeof(run->setsql),
		 "SELECT pg_catalog.set_config('statement_timeout', '%d', true)", q->timeout_ms);
	return true;
}

/*
 * A read-only call runs in a READ ONLY transaction, which the pool opens;
 * without a timeout of its own it may share a Sync with other such calls
 * (nothing in it can write, so no neighbour's error can undo a write).
 */
void mcp_submit(struct worker *w, const struct fa_query *q, struct stmt_run *run, bool read_only)
{
	struct fa_pgq *batch[2];

	for (int i = 0; i < q->nparams; i++)
		run->types[i] = q->params[i].oid;
	run->pgq.sql = q->sql;
	run->pgq.nparams = q->nparams;
	run->pgq.params = (const char *const *)run->values;
	run->pgq.types = run->types;
	run->pgq.prepare = true;
	run->pgq.retry_safe = q->read_only;
	run->pgq.read_only = read_only || q->read_only || w->app->read_only;
	w->inflight++;
	if (settings(run, q)) {
		run->setq = (struct fa_pgq){ .sql = run->setsql, .on_result = drop_result,
					     .on_done = ignore_done, .retry_safe = true };
		batch[0] = &run->setq;
		batch[1] = &run->pgq;
		fa_pool_submit(w->pool, batch, 2);
		return;
	}
	run->pgq.shareable = run->pgq.read_only && q->read_only;
	batch[0] = &run->pgq;
	fa_pool_submit(w->pool, batch, 1);
}

static void tools_call(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	const char *name = json_string_value(json_object_get(m->params, "name"));
	const struct fa_query *q = name ? fa_sqlfile_find(app_files(w->app), name) : NULL;
	struct fa_error err = { 0 };
	struct call *c;

	if (!name) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "tools/call: \"name\" is required", NULL);
		return;
	}
	if (w->app->sql_tool && !strcmp(name, MCP_SQL_TOOL))
		return mcp_sql_call(w, r, json_object_get(m->params, "arguments"));
	if (!q || !is_tool(w->app, q)) {
		snprintf(err.msg, sizeof(err.msg), "unknown tool '%s'", name);
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, err.msg, NULL);
		return;
	}
	if (!w->pool) {
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, "no database pool", NULL);
		return;
	}
	if (q->ncontent) {
		mcp_tool_blocks(w, r, q, json_object_get(m->params, "arguments"));
		return;
	}
	c = calloc(1, sizeof(*c));
	c->w = w;
	c->r = r;
	c->q = q;
	callrows_init(&c->out);
	if (stmt_run_init(&c->run, q, json_object_get(m->params, "arguments"), &err)) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, err.msg, NULL);
		call_free(c);
		return;
	}
	c->run.pgq = (struct fa_pgq){ .single_row = true, .on_result = call_result,
				      .on_done = call_done, .on_notice = call_notice, .ctx = c };
	c->next = w->calls;
	w->calls = c;
	r->gone = call_gone;
	r->gone_arg = c;
	mcp_submit(w, q, &c->run, false);
}

/* ---- the methods ---- */

/* A modern request's _meta: the version and the capabilities are required. */
static bool modern_ok(struct reply *r, const struct fa_jr_msg *m)
{
	json_t *meta = meta_of(m), *supported;
	const char *v = mcp_meta_version(m);

	if (!v || !json_is_object(json_object_get(meta, META_CAPS))) {
		mcp_fail(r, 400, FA_JR_INVALID_PARAMS, "_meta needs \"" META_VERSION "\" (a string) and \""
			 META_CAPS "\" (an object)", NULL);
		return false;
	}
	if (!strcmp(v, FA_MCP_STATELESS_VERSION))
		return true;
	supported = json_pack("{s:[s],s:s}", "supported", FA_MCP_STATELESS_VERSION, "requested", v);
	mcp_fail(r, 400, -32022, "Unsupported protocol version", supported);
	json_decref(supported);
	return false;
}

static void get_level(struct peer *p, void *arg)
{
	*(int *)arg = p->log_level;
}

/* What r may hear besides its answer: progress, log messages. */
static void hearing(struct reply *r, const struct fa_jr_msg *m)
{
	json_t *meta = meta_of(m);

	r->progress = json_incref(json_object_get(meta, "progressToken"));
	r->log_level = -1;
	if (r->era == ERA_MODERN)
		r->log_level = fa_mcp_level(json_string_value(json_object_get(meta, META_LOG_LEVEL)));
	else if (r->with_peer && !r->with_peer(r, get_level, &r->log_level))
		r->log_level = -1;
}

static void notification(struct worker *w, const struct fa_jr_msg *m)
{
	json_t *id = json_object_get(m->params, "requestId");

	if (!strcmp(m->method, "notifications/cancelled") && !mcp_call_cancel(w, w->note_from, id) &&
	    !mcp_sql_cancel(w, w->note_from, id))
		mcp_listen_cancel(w, w->note_from, id);
	/* initialized and the rest: nothing to do */
}

void mcp_dispatch(struct worker *w, const struct fa_jr_msg *m, struct reply *r)
{
	const char *method = m->method;

	if (!r && w->app->proxy)
		return proxy_dispatch(w, m, NULL);
	if (!r)
		return m->kind == FA_JR_NOTIFICATION ? notification(w, m) : (void)0;
	if (r->era == ERA_MODERN && !modern_ok(r, m))
		return;
	hearing(r, m);
	if (w->app->proxy)
		return proxy_dispatch(w, m, r);
	if (!strcmp(method, "tools/call"))
		return tools_call(w, r, m);
	if (!strcmp(method, "tools/list"))
		return tools_list(w, r, m);
	if (r->era == ERA_MODERN && !strcmp(method, "server/discover"))
		return discover(r);
	if (r->era == ERA_LEGACY && !strcmp(method, "initialize"))
		return initialize(r, m);
	if (r->era == ERA_LEGACY && !strcmp(method, "ping"))
		return mcp_answer(r, json_object());
	if (!strcmp(method, "resources/list"))
		return mcp_resources_list(w, r, m, false);
	if (!strcmp(method, "resources/templates/list"))
		return mcp_resources_list(w, r, m, true);
	if (!strcmp(method, "resources/read"))
		return mcp_resources_read(w, r, m);
	if (!strcmp(method, "prompts/list"))
		return mcp_prompts_list(w, r, m);
	if (!strcmp(method, "prompts/get"))
		return mcp_prompts_get(w, r, m);
	if (!strcmp(method, "completion/complete"))
		return mcp_complete(w, r, m);
	if (r->era == ERA_LEGACY && !strcmp(method, "logging/setLevel"))
		return mcp_set_level(r, m);
	if (r->era == ERA_LEGACY && !strcmp(method, "resources/subscribe"))
		return mcp_subscribe(w, r, m, true);
	if (r->era == ERA_LEGACY && !strcmp(method, "resources/unsubscribe"))
		return mcp_subscribe(w, r, m, false);
	if (r->era == ERA_MODERN && !strcmp(method, "subscriptions/listen"))
		return mcp_listen(w, r, m);
	mcp_fail(r, r->era == ERA_MODERN ? 404 : 200, FA_JR_METHOD_NOT_FOUND, "method not found", NULL);
}

struct worker *worker_new(struct app *a, struct fa_loop *loop)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct fa_pool_opts o = { .size = a->pool_size, .depth = 64, .app = "fa-mcp",
				  .timeout_ms = a->pool_timeout_ms };
	struct fa_error err = { 0 };

	w->app = a;
	w->loop = loop;
	w->types = fa_pgtypes_new(&a->target, "fa-mcp types");
	worker_listen(w);
	if (a->proxy)
		proxy_start(a->proxy, w);
	else if (!(w->pool = fa_pool_new(loop, &a->target, &o, &err)))
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
	return w;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	mcp_listeners_end(w);
	worker_unlisten(w);
	if (w->app->proxy)
		proxy_stop(w->app->proxy);
	fa_pool_free(w->pool);
	fa_pool_free(w->sql_pool);
	fa_pgtypes_free(w->types);
	free(w);
}
