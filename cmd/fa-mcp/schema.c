/*
 * fa-mcp: what @modelcontextprotocol/server-postgres offers, done better.
 *
 * --sql-tool adds the tool "query": one statement of any SQL, its params
 * bound as $1..$n, run on connections of its own (w->sql_pool, so that a
 * SET or a held advisory lock never reaches the SQL files' tools) in one
 * batch:
 *
 *	guard   default_transaction_read_only on (for the session: a
 *	        procedure that COMMITs starts its next transaction read-only
 *	        too), transaction_read_only on, statement_timeout
 *	the statement, rows streamed, cut at --sql-limit
 *	resets  what a statement may leave on the connection: settings, role,
 *	        session user, prepared statements, cursors, LISTENs,
 *	        advisory locks (each one is allowed to any role, in a READ
 *	        ONLY transaction: one that failed would undo those before it)
 *
 * The extended protocol refuses a second statement, and the lexer refuses
 * it before the database sees it, with a clearer message.
 *
 * --schema-resources (implied by --sql-tool) offers each table and view
 * the role may use as postgres://DB/SCHEMA/TABLE/schema, a JSON document
 * of its columns, keys and comments, and the template of those URIs; the
 * catalog is read at each resources/list, templates/list and read, on the
 * worker's pool, READ ONLY, with prepared statements.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "famcp.h"
#include "mcp/mcp.h"
#include "pg/sqlsplit.h"

#define SCHEMA_MIME "application/json"
#define TEXT_OID 25

/* ---- the query tool ---- */

json_t *mcp_sql_tool(const struct app *a)
{
	char desc[600];
	json_t *input = json_pack(
		"{s:s,s:{s:{s:s,s:s},s:{s:s,s:{},s:s}},s:[s],s:b}", "type", "object", "properties",
		"sql", "type", "string", "description", "One SQL statement; $1, $2... for params",
		"params", "type", "array", "items", "description",
		"Values bound to $1, $2... in order (never pasted into the SQL); null is NULL",
		"required", "sql", "additionalProperties", 0);
	json_t *output = json_pack("{s:s,s:{s:{s:s,s:{s:s}},s:{s:s}},s:[s,s]}", "type", "object",
				   "properties", "rows", "type", "array", "items", "type", "object",
				   "truncated", "type", "boolean", "required", "rows", "truncated");

	snprintf(desc, sizeof(desc), "Runs one SQL statement against PostgreSQL in a READ ONLY "
		 "transaction (statement_timeout %d ms, at most %ld rows; truncated says when rows "
		 "were left out) and returns its rows. The tables are the resources "
		 "postgres://DB/SCHEMA/TABLE/schema.", a->sql_timeout_ms, a->sql_limit);
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:{s:b,s:b,s:b,s:b}}", "name", MCP_SQL_TOOL,
			 "title", "Read-only SQL query", "description", desc, "inputSchema", input,
			 "outputSchema", output, "annotations", "readOnlyHint", 1, "destructiveHint", 0,
			 "idempotentHint", 1, "openWorldHint", 0);
}

void mcp_sql_tool_check(struct app *a)
{
	const struct fa_query *q = fa_sqlfile_find(app_files(a), MCP_SQL_TOOL);

	if (a->sql_tool && q && q->tool)
		fprintf(stderr, "fa-mcp: %s:%d: the tool '%s' is hidden by --sql-tool's\n", q->file, q->line,
			MCP_SQL_TOOL);
}

/* True when statement s is a COPY: its data would flow outside the pipeline. */
static bool is_copy(const char *s)
{
	for (;;) {
		s += strspn(s, " \t\r\n");
		if (strncmp(s, "/*", 2) || !strstr(s + 2, "*/"))
			break;
		s = strstr(s + 2, "*/") + 2;    /* nested comments: the lexer checked them */
	}
	return !strncasecmp(s, "copy", 4) && !((s[4] >= 'a' && s[4] <= 'z') || (s[4] >= 'A' &&
		s[4] <= 'Z') || (s[4] >= '0' && s[4] <= '9') || s[4] == '_' || s[4] == '$');
}

/*
 * How many statements the lexer finds in sql (a psql meta-command counts
 * too); *copy says whether one is a COPY.
 */
static int statements(const char *sql, bool *copy)
{
	struct fa_sqlsplit sp;
	struct fa_sql_item it;
	int n = 0, lineno = 0;

	fa_sqlsplit_init(&sp, 64u << 20, NULL, NULL);
	for (const char *line = sql; line; ) {
		const char *nl = strchr(line, '\n');

		fa_sqlsplit_feed(&sp, line, nl ? (size_t)(nl - line) : strlen(line), ++lineno);
		for (int rc; (rc = fa_sqlsplit_next(&sp, &it)) != 0; n++)
			if (rc > 0) {
				*copy |= is_copy(it.text);
				free(it.text);
			}
		line = nl ? nl + 1 : NULL;
	}
	if (fa_sqlsplit_finish(&sp, &it, NULL)) {
		*copy |= is_copy(it.text);
		free(it.text);
		n++;
	}
	fa_sqlsplit_release(&sp);
	return n;
}

/* What a statement may leave on its connection, undone after it. */
static const char *const resets[] = {
	"RESET SESSION AUTHORIZATION", "RESET ROLE", "RESET ALL", "CLOSE ALL", "DEALLOCATE ALL", "UNLISTEN *",
	"SELECT pg_catalog.pg_advisory_unlock_all()",
};
#define NRESETS (int)(sizeof(resets) / sizeof(resets[0]))

struct sqlcall {
	struct worker *w;
	struct reply *r;                /* NULL once answered */
	char *sql;                      /* the statement, a copy: the message goes before it runs */
	char **values;
	int nvalues;
	char timeout[24];
	const char *guard_values[1];
	struct fa_pgq guard, stmt, reset[NRESETS];
	int pending;                    /* queries of the batch not done yet */
	struct callrows out;
	bool cancelled;
	struct sqlcall *next;           /* w->sqlcalls */
};

/*
 * A tool error in c->out.err for what the database would refuse less clearly:
 * two statements or none, COPY (its data would leave the pipeline), params
 * that do not match the $n the statement uses (a Bind that does not match
 * is a protocol violation, 08P01, which would cost the connection).
 */
static bool refused(struct sqlcall *c, const char *sql)
{
	char msg[200];
	bool copy = false;
	int n = statements(sql, &copy), used = fa_sql_max_param(sql);

	if (n > 1)
		snprintf(msg, sizeof(msg), "ERROR 42601: the query tool runs one statement at a time: "
			 "send each in a call of its own");
	else if (n == 0)
		snprintf(msg, sizeof(msg), "ERROR 42601: the SQL holds no statement");
	else if (copy)
		snprintf(msg, sizeof(msg), "ERROR 0A000: COPY to or from the client is not offered: use SELECT");
	else if (used != c->nvalues && used)
		snprintf(msg, sizeof(msg), "ERROR 42P02: the statement uses $1 to $%d, but params holds "
			 "%d value%s", used, c->nvalues, c->nvalues == 1 ? "" : "s");
	else if (used != c->nvalues)
		snprintf(msg, sizeof(msg), "ERROR 42P02: the statement uses no $n, but params holds "
			 "%d value%s", c->nvalues, c->nvalues == 1 ? "" : "s");
	else
		return false;
	fa_mcp_put_tool_error(&c->out.err, msg);
	return true;
}

static void sqlcall_free(struct sqlcall *c)
{
	for (struct sqlcall **p = &c->w->sqlcalls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	for (int i = 0; i < c->nvalues; i++)
		free(c->values[i]);
	free(c->values);
	free(c->sql);
	callrows_release(&c->out);
	free(c);
}

/* The params array into c->values; false with a message in err. */
static bool bind_params(struct sqlcall *c, const json_t *params, struct fa_error *err)
{
	size_t i;
	json_t *v;

	if (!params || json_is_null(params))
		return true;
	if (!json_is_array(params)) {
		fa_error_set(err, FA_EINPUT, "argument 'params': want an array of values");
		return false;
	}
	c->values = calloc(json_array_size(params) + 1, sizeof(*c->values));
	json_array_foreach(params, i, v) {
		if (!json_is_null(v) && !(c->values[i] = fa_mcp_value_text(v))) {
			fa_error_set(err, FA_ENOMEM, "out of memory");
			return false;
		}
		c->nvalues++;
	}
	return true;
}

/* The arguments checked: sql a string of one statement, params an array. */
static const char *checked_sql(struct sqlcall *c, const json_t *args, struct fa_error *err)
{
	const char *key, *sql = json_string_value(json_object_get(args, "sql"));
	json_t *v;

	if (args && !json_is_object(args)) {
		fa_error_set(err, FA_EINPUT, "\"arguments\" must be an object");
		return NULL;
	}
	json_object_foreach((json_t *)args, key, v)
		if (strcmp(key, "sql") && strcmp(key, "params")) {
			fa_error_set(err, FA_EINPUT, "unknown argument '%s'", key);
			return NULL;
		}
	if (!sql) {
		fa_error_set(err, FA_EINPUT, json_object_get(args, "sql") ? "argument 'sql': want a string"
			     : "missing argument 'sql' (text)");
		return NULL;
	}
	return bind_params(c, json_object_get(args, "params"), err) ? sql : NULL;
}

/* The guard's error, if any, is the call's answer: the first error of the batch. */
static void guard_result(struct fa_pgq *pq, PGresult *res)
{
	struct sqlcall *c = pq->ctx;

	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		callrows_error(&c->out, res);
	PQclear(res);
}

static void stmt_result(struct fa_pgq *pq, PGresult *res)
{
	struct sqlcall *c = pq->ctx;

	callrows_take(&c->out, res, c->w->app->sql_limit, c->w->types);
	PQclear(res);
}

/* A NOTICE the statement raised: a log message (or progress) for the client. */
static void stmt_notice(struct fa_pgq *pq, const PGresult *notice)
{
	struct sqlcall *c = pq->ctx;

	if (c->r)
		mcp_notice(c->r, notice);
}

/* The answer, once the statement is done: rows, or a tool error. */
static void sqlcall_gone(struct reply *r);

static void sqlcall_answer(struct sqlcall *c, enum fa_err rc, const char *msg)
{
	struct fa_buf res;

	c->r->gone = NULL;
	fa_buf_init(&res, 0);
	if (!callrows_end(&c->out, rc, msg, &res))
		fa_mcp_put_rows_truncated(&res, CALLROWS_JSON(&c->out), CALLROWS_LEN(&c->out),
					  c->out.truncated);
	mcp_answer_text(c->r, &res);
	fa_buf_release(&res);
	c->r = NULL;
}

/* Each query of the batch ends here; the statement's end answers, the last frees. */
static void batch_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	struct sqlcall *c = pq->ctx;

	if (c->r && c->cancelled) {
		c->r->gone = NULL;
		c->r->done(c->r, 200, "", 0);  /* the client gave up on it: no answer */
		c->r = NULL;
	}
	if (c->r && (pq == &c->stmt || rc != FA_OK))
		sqlcall_answer(c, rc, msg);
	if (--c->pending)
		return;
	c->w->inflight--;
	sqlcall_free(c);
}

static void drop_result(struct fa_pgq *pq, PGresult *res)
{
	PQclear(res);
}

/* The guard, the statement and the resets, as one batch on the query tool's pool. */
static void sqlcall_submit(struct sqlcall *c)
{
	struct fa_pgq *batch[2 + NRESETS];

	snprintf(c->timeout, sizeof(c->timeout), "%d", c->w->app->sql_timeout_ms);
	c->guard_values[0] = c->timeout;
	c->guard = (struct fa_pgq){ .sql = "SELECT pg_catalog.set_config('default_transaction_read_only', "
		"'on', false), pg_catalog.set_config('transaction_read_only', 'on', true), "
		"pg_catalog.set_config('statement_timeout', $1, true)", .nparams = 1,
		.params = c->guard_values, .retry_safe = true, .on_result = guard_result,
		.on_done = batch_done, .ctx = c };
	c->stmt = (struct fa_pgq){ .sql = c->sql, .nparams = c->nvalues,
		.params = (const char *const *)c->values, .single_row = true, .retry_safe = true,
		.on_result = stmt_result, .on_done = batch_done, .on_notice = stmt_notice, .ctx = c };
	batch[0] = &c->guard;
	batch[1] = &c->stmt;
	for (int i = 0; i < NRESETS; i++) {
		c->reset[i] = (struct fa_pgq){ .sql = resets[i], .retry_safe = true,
			.on_result = drop_result, .on_done = batch_done, .ctx = c };
		batch[2 + i] = &c->reset[i];
	}
	c->pending = 2 + NRESETS;
	c->w->inflight++;
	c->next = c->w->sqlcalls;
	c->w->sqlcalls = c;
	c->r->gone = sqlcall_gone;
	c->r->gone_arg = c;
	fa_pool_submit(c->w->sql_pool, batch, 2 + NRESETS);
}

static void sqlcall_cancel(struct sqlcall *c)
{
	c->cancelled = true;
	/*
	 * The guard first: the pool still counts it as the head while the
	 * statement after it runs, and a cancel request stops whatever the
	 * backend runs (queued, the whole batch leaves the queue).
	 */
	if (!fa_pool_cancel_query(c->w->sql_pool, &c->guard))
		fa_pool_cancel_query(c->w->sql_pool, &c->stmt);
}

bool mcp_sql_cancel(struct worker *w, const char *from, const json_t *request_id)
{
	for (struct sqlcall *c = w->sqlcalls; c; c = c->next)
		if (c->r && !c->cancelled && json_equal(c->r->id, request_id) && mcp_cancel_owns(c->r->from, from)) {
			sqlcall_cancel(c);
			return true;
		}
	return false;
}

/* The HTTP client went away before the answer: as if it had cancelled. */
static void sqlcall_gone(struct reply *r)
{
	struct sqlcall *c = r->gone_arg;

	r->gone = NULL;
	if (c->r && !c->cancelled)
		sqlcall_cancel(c);
}

/* The query tool's own pool, made at its first call. */
static bool sql_pool(struct worker *w)
{
	struct fa_pool_opts o = { .size = w->app->pool_size, .depth = 64, .app = "fa-mcp query",
				  .timeout_ms = w->app->pool_timeout_ms, .unnamed = true };
	struct fa_error err = { 0 };

	if (!w->sql_pool && !(w->sql_pool = fa_pool_new(w->loop, &w->app->target, &o, &err)))
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
	return w->sql_pool != NULL;
}

void mcp_sql_call(struct worker *w, struct reply *r, const json_t *args)
{
	struct sqlcall *c = calloc(1, sizeof(*c));
	struct fa_error err = { 0 };
	const char *sql;

	*c = (struct sqlcall){ .w = w, .r = r };
	callrows_init(&c->out);
	if (!(sql = checked_sql(c, args, &err)) || !sql_pool(w)) {
		mcp_fail(r, 200, sql ? FA_JR_INTERNAL_ERROR : FA_JR_INVALID_PARAMS,
			 sql ? "no database pool" : err.msg, NULL);
		sqlcall_free(c);
		return;
	}
	if (refused(c, sql)) {
		mcp_answer_text(r, &c->out.err);
		sqlcall_free(c);
		return;
	}
	if (!(c->sql = strdup(sql))) {
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, "out of memory", NULL);
		sqlcall_free(c);
		return;
	}
	sqlcall_submit(c);
}

/* ---- the tables as resources ---- */

/* Tables, partitioned tables, views, materialized views, foreign tables. */
#define KINDS "c.relkind IN ('r', 'p', 'v', 'm', 'f')"
#define KIND_NAME "CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' " \
	"WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' ELSE 'table' END"
/* What information_schema shows the role: a relation it holds a privilege on. */
#define VISIBLE "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND " \
	"(pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, " \
	"REFERENCES, TRIGGER') OR pg_catalog.has_any_column_privilege(c.oid, 'SELECT, INSERT, " \
	"UPDATE, REFERENCES'))"
#define FROM_RELATIONS " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " \
	"ON n.oid = c.relnamespace WHERE " KINDS " AND " VISIBLE
/* The names of the columns numbered in KEY of relation REL, in order, as JSON. */
#define KEY_NAMES(KEY, REL) "(SELECT pg_catalog.json_agg(a.attname ORDER BY k.i) FROM " \
	"pg_catalog.unnest(" KEY ") WITH ORDINALITY k(num, i) JOIN pg_catalog.pg_attribute a " \
	"ON a.attrelid = " REL " AND a.attnum = k.num)"
#define ACTION(CH) "CASE " CH " WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' " \
	"WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END"

static const char list_sql[] =
	"SELECT pg_catalog.current_database(), n.nspname, c.relname, " KIND_NAME ", "
	"pg_catalog.obj_description(c.oid, 'pg_class')" FROM_RELATIONS
	" AND NOT c.relispartition ORDER BY 2, 3";

/* The columns of relation c, in order, as JSON. */
#define COLUMNS \
	"(SELECT pg_catalog.json_agg(pg_catalog.json_build_object('name', a.attname, 'type', " \
	"pg_catalog.format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull, " \
	"'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'comment', " \
	"pg_catalog.col_description(c.oid, a.attnum)) ORDER BY a.attnum) " \
	"FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d " \
	"ON d.adrelid = a.attrelid AND d.adnum = a.attnum " \
	"WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)"

static const char read_sql[] =
	"SELECT pg_catalog.json_build_object('database', pg_catalog.current_database(), "
	"'schema', n.nspname, 'name', c.relname, 'kind', " KIND_NAME ", "
	"'comment', pg_catalog.obj_description(c.oid, 'pg_class'), "
	"'columns', COALESCE(" COLUMNS ", '[]'), "
	"'primaryKey', (SELECT " KEY_NAMES("p.conkey", "p.conrelid") " FROM pg_catalog.pg_constraint p "
	"WHERE p.conrelid = c.oid AND p.contype = 'p'), "
	"'foreignKeys', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
	"'name', f.conname, 'columns', " KEY_NAMES("f.conkey", "f.conrelid") ", "
	"'references', pg_catalog.json_build_object('schema', rn.nspname, 'table', r.relname, "
	"'columns', " KEY_NAMES("f.confkey", "f.confrelid") "), "
	"'onUpdate', " ACTION("f.confupdtype") ", 'onDelete', " ACTION("f.confdeltype") ") "
	"ORDER BY f.conname) FROM pg_catalog.pg_constraint f "
	"JOIN pg_catalog.pg_class r ON r.oid = f.confrelid "
	"JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace "
	"WHERE f.conrelid = c.oid AND f.contype = 'f'), '[]'), "
	"'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END)"
	FROM_RELATIONS " AND $1 = pg_catalog.current_database() AND n.nspname = $2 AND c.relname = $3";

static struct fa_qparam name_params[] = {
	{ .name = "database", .type = FA_QTYPE_TEXT, .oid = TEXT_OID, .description = "" },
	{ .name = "schema", .type = FA_QTYPE_TEXT, .oid = TEXT_OID, .description = "" },
	{ .name = "table", .type = FA_QTYPE_TEXT, .oid = TEXT_OID, .description = "" },
};

/* The catalog's statements as queries of a SQL file: prepared, read only. */
static struct fa_query list_query = { .name = "schema_list", .sql = (char *)list_sql,
				      .read_only = true };
static struct fa_query db_query = { .name = "schema_db",
				    .sql = "SELECT pg_catalog.current_database()", .read_only = true };
static struct fa_query read_query = { .name = "schema_read", .sql = (char *)read_sql, .params = name_params, .nparams = 3,
				      .resource = "postgres://{database}/{schema}/{table}/schema",
				      .mime = SCHEMA_MIME, .read_only = true };

bool mcp_schema_on(const struct app *a)
{
	return a->schema_resources || a->sql_tool;
}

/* A name as one URI path segment: every byte but [A-Za-z0-9-._~] as %XX. */
static void put_segment(struct fa_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch))
			fa_buf_putc(b, (char)ch);
		else
			fa_buf_printf(b, "%%%02X", ch);
	}
}

/* postgres://DB/SCHEMA/TABLE/schema, or the template with {schema} and {table}. */
static char *table_uri(const char *db, const char *schema, const char *table)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "postgres://");
	put_segment(&b, db);
	fa_buf_putc(&b, '/');
	if (schema)
		put_segment(&b, schema);
	else
		fa_buf_puts(&b, "{schema}");
	fa_buf_putc(&b, '/');
	if (table)
		put_segment(&b, table);
	else
		fa_buf_puts(&b, "{table}");
	fa_buf_puts(&b, "/schema");
	return fa_buf_detach(&b, NULL);
}

/* One row of list_sql as a Resource. */
static json_t *table_item(const PGresult *res, int i)
{
	char *uri = table_uri(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	char name[300], desc[400];
	json_t *item;

	snprintf(name, sizeof(name), "%s.%s", PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	snprintf(desc, sizeof(desc), "Columns, keys and comments of %s %s", PQgetvalue(res, i, 3), name);
	item = json_pack("{s:s,s:s,s:s,s:s}", "uri", uri, "name", name, "description",
			 PQgetisnull(res, i, 4) ? desc : PQgetvalue(res, i, 4), "mimeType", SCHEMA_MIME);
	free(uri);
	return item;
}

static void list_finish(struct raw *x)
{
	bool templates = x->q == &db_query;
	struct fa_jr_msg m = { .method = templates ? "resources/templates/list" : "resources/list",
			       .params = x->params };
	json_t *list = x->list;

	x->list = NULL;
	if (x->err[0]) {
		json_decref(list);
		json_decref(x->params);
		mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, x->err, NULL);
		return;
	}
	for (int i = 0; x->res && i < PQntuples(x->res); i++) {
		char *uri = templates ? table_uri(PQgetvalue(x->res, i, 0), NULL, NULL) : NULL;

		json_array_append_new(list, templates ? json_pack("{s:s,s:s,s:s,s:s}", "uriTemplate", uri,
			"name", "table_schema", "description", "Columns, keys and comments of a table "
			"or view, by its schema and name", "mimeType", SCHEMA_MIME) : table_item(x->res, i));
		free(uri);
	}
	mcp_page(x->w, x->r, &m, templates ? "resourceTemplates" : "resources", list);
	json_decref(x->params);
}

void mcp_schema_list(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool templates,
		     json_t *list)
{
	struct raw *x;

	if (!w->pool) {
		json_decref(list);
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, "no database pool", NULL);
		return;
	}
	x = mcp_raw_new(w, r, templates ? &db_query : &list_query, list_finish);
	x->list = list;
	x->params = json_incref(m->params);
	x->run.values = calloc(1, sizeof(*x->run.values));
	x->run.types = calloc(1, sizeof(*x->run.types));
	mcp_raw_start(x);
}

static void read_finish(struct raw *x)
{
	json_t *contents;

	if (x->err[0]) {
		mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, x->err, NULL);
		return;
	}
	if (!x->res || !PQntuples(x->res) || PQgetisnull(x->res, 0, 0)) {
		mcp_resource_not_found(x->r, x->uri);
		return;
	}
	contents = fa_mcp_resource_contents(x->uri, SCHEMA_MIME, PQgetvalue(x->res, 0, 0),
					    (size_t)PQgetlength(x->res, 0, 0), false);
	mcp_answer(x->r, mcp_cacheable(x->r, json_pack("{s:[o]}", "contents", contents)));
}

bool mcp_schema_read(struct worker *w, struct reply *r, const char *uri)
{
	struct fa_error err = { 0 };
	struct raw *x;

	if (!mcp_schema_on(w->app) || strncmp(uri, "postgres://", 11) || !w->pool)
		return false;
	x = mcp_raw_new(w, r, &read_query, read_finish);
	x->run.values = calloc(4, sizeof(*x->run.values));
	x->run.types = calloc(4, sizeof(*x->run.types));
	if (!fa_mcp_uri_match(&read_query, uri, x->run.values, &err) || err.msg[0]) {
		stmt_run_release(&x->run, &read_query);
		free(x);
		return false;
	}
	x->uri = strdup(uri);
	mcp_raw_start(x);
	return true;
}
