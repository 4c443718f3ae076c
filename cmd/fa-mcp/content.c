/*
 * fa-mcp: resources, prompts, and tools whose columns are content blocks.
 * Each runs its statement whole (not row by row) and builds its answer
 * from the values of the result: a resource from the first row's first
 * column, a prompt's messages from the rows, a tool's blocks from the
 * columns its "-- content:" lines name.
 */
#include <stdlib.h>
#include <string.h>

#include "famcp.h"
#include "mcp/mcp.h"

#define BYTEA_OID 17

static void raw_result(struct fa_pgq *pq, PGresult *res)
{
	struct raw *x = pq->ctx;
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK && !x->res) {
		x->res = res;
		return;
	}
	if ((st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) && !x->err[0]) {
		struct fa_buf b;

		fa_buf_init(&b, 0);
		mcp_sql_error(&b, res);
		snprintf(x->err, sizeof(x->err), "%s", b.data ? b.data : "");
		fa_buf_release(&b);
	}
	PQclear(res);
}

static void raw_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	struct raw *x = pq->ctx;

	x->w->inflight--;
	if (rc && !x->err[0])
		snprintf(x->err, sizeof(x->err), "database unavailable: %.600s", msg ? msg : "no connection");
	x->finish(x);
	PQclear(x->res);
	stmt_run_release(&x->run, x->q);
	free(x->uri);
	free(x);
}

void mcp_raw_start(struct raw *x)
{
	x->run.pgq = (struct fa_pgq){ .on_result = raw_result, .on_done = raw_done, .ctx = x };
	mcp_submit(x->w, x->q, &x->run, x->q->resource || x->q->prompt);
}

struct raw *mcp_raw_new(struct worker *w, struct reply *r, const struct fa_query *q,
			void (*finish)(struct raw *x))
{
	struct raw *x = calloc(1, sizeof(*x));

	*x = (struct raw){ .w = w, .r = r, .q = q, .finish = finish };
	return x;
}

/* The column called name in res, or -1. */
static int column(const PGresult *res, const char *name)
{
	return res ? PQfnumber(res, name) : -1;
}

/* c's URI for row i: each {NAME} that names a column is that column's
 * value (empty when NULL); other text, and {NAME} of no column, as is. */
static void row_uri(const PGresult *res, int i, const char *uri, struct fa_buf *out)
{
	const char *s = uri;

	while (*s) {
		const char *e = *s == '{' ? strchr(s, '}') : NULL;
		char name[64];
		int col = -1;

		if (e && (size_t)(e - s - 1) < sizeof(name)) {
			memcpy(name, s + 1, (size_t)(e - s - 1));
			name[e - s - 1] = '\0';
			col = column(res, name);
		}
		if (col < 0) {
			fa_buf_putc(out, *s++);
			continue;
		}
		fa_buf_puts(out, PQgetvalue(res, i, col));
		s = e + 1;
	}
}

/* A block from row i's column col by c's MIME type; NULL for SQL NULL. */
static json_t *cell_block(const PGresult *res, int i, int col, const struct fa_qcontent *c)
{
	struct fa_buf uri;
	json_t *b;

	if (col < 0 || PQgetisnull(res, i, col))
		return NULL;
	if (!c->uri || !strchr(c->uri, '{'))
		return fa_mcp_block(PQgetvalue(res, i, col), (size_t)PQgetlength(res, i, col),
				    PQftype(res, col) == BYTEA_OID, c->mime, c->uri);
	fa_buf_init(&uri, 0);
	row_uri(res, i, c->uri, &uri);
	b = fa_mcp_block(PQgetvalue(res, i, col), (size_t)PQgetlength(res, i, col),
			 PQftype(res, col) == BYTEA_OID, c->mime, uri.data ? uri.data : "");
	fa_buf_release(&uri);
	return b;
}

/* ---- tools whose columns are blocks ---- */

static void tool_finish(struct raw *x)
{
	json_t *content = json_array();

	if (x->err[0]) {
		json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", x->err));
		mcp_answer(x->r, json_pack("{s:o,s:b}", "content", content, "isError", 1));
		return;
	}
	for (int i = 0; x->res && i < PQntuples(x->res); i++)
		for (int k = 0; k < x->q->ncontent; k++) {
			const struct fa_qcontent *c = &x->q->content[k];
			json_t *b = cell_block(x->res, i, column(x->res, c->column), c);

			if (b)
				json_array_append_new(content, b);
		}
	mcp_answer(x->r, json_pack("{s:o,s:b}", "content", content, "isError", 0));
}

void mcp_tool_blocks(struct worker *w, struct reply *r, const struct fa_query *q, const json_t *args)
{
	struct raw *x = mcp_raw_new(w, r, q, tool_finish);
	struct fa_error err = { 0 };

	if (stmt_run_init(&x->run, q, args, &err)) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, err.msg, NULL);
		stmt_run_release(&x->run, q);
		free(x);
		return;
	}
	mcp_raw_start(x);
}

/* ---- resources ---- */

void mcp_resources_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool templates)
{
	struct fa_sqlfile_set *set = app_files(w->app);
	json_t *list = json_array();

	for (size_t i = 0; i < set->nqueries; i++) {
		const struct fa_query *q = &set->queries[i];

		if (!q->resource || (strchr(q->resource, '{') != NULL) != templates)
			continue;
		json_t *item = json_pack("{s:s,s:s}", templates ? "uriTemplate" : "uri", q->resource,
					 "name", q->name);

		if (q->description[0])
			json_object_set_new(item, "description", json_string(q->description));
		json_object_set_new(item, "mimeType", json_string(q->mime));
		json_array_append_new(list, item);
	}
	if (mcp_schema_on(w->app))
		return mcp_schema_list(w, r, m, templates, list);
	mcp_page(w, r, m, templates ? "resourceTemplates" : "resources", list);
}

void mcp_resource_not_found(struct reply *r, const char *uri)
{
	json_t *data = json_pack("{s:s}", "uri", uri);
	char msg[300];

	snprintf(msg, sizeof(msg), "Resource not found: %.250s", uri);
	mcp_fail(r, 200, r->era == ERA_MODERN ? FA_JR_INVALID_PARAMS : FA_JR_RESOURCE_NOT_FOUND, msg, data);
	json_decref(data);
}

static void read_finish(struct raw *x)
{
	json_t *contents;

	if (x->err[0]) {
		mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, x->err, NULL);
		return;
	}
	if (!x->res || !PQntuples(x->res) || PQnfields(x->res) < 1 || PQgetisnull(x->res, 0, 0)) {
		mcp_resource_not_found(x->r, x->uri);
		return;
	}
	contents = fa_mcp_resource_contents(x->uri, x->q->mime, PQgetvalue(x->res, 0, 0),
					    (size_t)PQgetlength(x->res, 0, 0),
					    PQftype(x->res, 0) == BYTEA_OID);
	if (!contents) {
		mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, "the resource's bytes are malformed", NULL);
		return;
	}
	mcp_answer(x->r, mcp_cacheable(x->r, json_pack("{s:[o]}", "contents", contents)));
}

void mcp_resources_read(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	const char *uri = json_string_value(json_object_get(m->params, "uri"));
	struct fa_sqlfile_set *set = app_files(w->app);
	struct fa_error err = { 0 };

	if (!uri) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "resources/read: \"uri\" is required", NULL);
		return;
	}
	if (mcp_schema_read(w, r, uri))
		return;
	for (size_t i = 0; i < set->nqueries; i++) {
		const struct fa_query *q = &set->queries[i];
		struct raw *x;

		if (!q->resource)
			continue;
		x = mcp_raw_new(w, r, q, read_finish);
		if (stmt_run_init(&x->run, q, NULL, &err) == FA_ENOMEM ||
		    !fa_mcp_uri_match(q, uri, x->run.values, &err) || err.msg[0]) {
			stmt_run_release(&x->run, q);
			free(x);
			if (err.msg[0] && err.code != FA_ENOMEM) {
				mcp_fail(r, 200, FA_JR_INVALID_PARAMS, err.msg, NULL);
				return;
			}
			fa_error_clear(&err);
			continue;
		}
		x->uri = strdup(uri);
		mcp_raw_start(x);
		return;
	}
	mcp_resource_not_found(r, uri);
}

/* ---- prompts ---- */

void mcp_prompts_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	struct fa_sqlfile_set *set = app_files(w->app);
	json_t *list = json_array();

	for (size_t i = 0; i < set->nqueries; i++) {
		const struct fa_query *q = &set->queries[i];
		json_t *args = json_array();

		if (!q->prompt) {
			json_decref(args);
			continue;
		}
		for (int k = 0; k < q->nparams; k++)
			json_array_append_new(args, json_pack("{s:s,s:s,s:b}", "name", q->params[k].name,
							      "description", q->params[k].description,
							      "required", !q->params[k].optional));
		json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "name", q->name, "description",
						      q->prompt[0] ? q->prompt : q->description,
						      "arguments", args));
	}
	mcp_page(w, r, m, "prompts", list);
}

/* One row as a message: its role column (else "user") and its content. */
static json_t *row_message(const struct fa_query *q, const PGresult *res, int i)
{
	int rc = column(res, "role"), tc = column(res, "content");
	const char *role = rc >= 0 && !PQgetisnull(res, i, rc) ? PQgetvalue(res, i, rc) : "user";
	json_t *block = NULL;

	for (int k = 0; k < q->ncontent && !block; k++)
		block = cell_block(res, i, column(res, q->content[k].column), &q->content[k]);
	if (!block && tc >= 0 && !PQgetisnull(res, i, tc))
		block = json_pack("{s:s,s:s}", "type", "text", "text", PQgetvalue(res, i, tc));
	return block ? json_pack("{s:s,s:o}", "role", role, "content", block) : NULL;
}

static void prompt_finish(struct raw *x)
{
	json_t *messages = json_array(), *msg;

	if (x->err[0]) {
		json_decref(messages);
		mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, x->err, NULL);
		return;
	}
	for (int i = 0; x->res && i < PQntuples(x->res); i++)
		if ((msg = row_message(x->q, x->res, i)))
			json_array_append_new(messages, msg);
	mcp_answer(x->r, json_pack("{s:s,s:o}", "description", x->q->prompt[0] ? x->q->prompt :
				   x->q->description, "messages", messages));
}

void mcp_prompts_get(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	const char *name = json_string_value(json_object_get(m->params, "name"));
	const struct fa_query *q = name ? fa_sqlfile_find(app_files(w->app), name) : NULL;
	struct fa_error err = { 0 };
	struct raw *x;
	char msg[300];

	if (!q || !q->prompt) {
		snprintf(msg, sizeof(msg), "unknown prompt '%.250s'", name ? name : "");
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, msg, NULL);
		return;
	}
	x = mcp_raw_new(w, r, q, prompt_finish);
	if (stmt_run_init(&x->run, q, json_object_get(m->params, "arguments"), &err)) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, err.msg, NULL);
		stmt_run_release(&x->run, q);
		free(x);
		return;
	}
	mcp_raw_start(x);
}
