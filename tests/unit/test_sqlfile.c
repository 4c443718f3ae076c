/*
 * Unit tests for lib/pg/sqlfile: annotated query files and route matching
 * (the value checks themselves are in test_pgtext.c).
 *
 * Most checks load a file's text into a fresh set with load(), named
 * "t.sql"; errors are compared with the exact "t.sql:LINE: message".
 */
#include "pg/sqlfile.c"

#include <stdio.h>

#include "check.h"

static struct fa_sqlfile_set set;
static struct fa_error err;

/* Loads text as t.sql into an empty set; the status of the add. */
static enum fa_err load(const char *text)
{
	fa_sqlfile_set_release(&set);
	fa_error_clear(&err);
	return fa_sqlfile_set_add(&set, "t.sql", text, strlen(text), &err);
}

/* Loads text and checks that it fails with exactly msg. */
static void load_fails(const char *text, const char *msg, const char *file,
		       int line)
{
	enum fa_err rc = load(text);

	check(file, line, rc == FA_EINPUT, "load() returns FA_EINPUT");
	check_str(file, line, rc == FA_OK ? "(loaded)" : err.msg, msg, NULL);
	check(file, line, set.nqueries == 0, "the set stays empty");
}
#define LOAD_FAILS(text, msg) load_fails((text), (msg), __FILE__, __LINE__)

/* Loads one block and checks its SQL. */
static const struct fa_query *load_one(const char *text, const char *sql,
				       const char *file, int line)
{
	if (load(text) != FA_OK) {
		check(file, line, false, err.msg);
		return NULL;
	}
	check(file, line, set.nqueries == 1, "one query");
	check_str(file, line, set.queries[0].sql, sql, NULL);
	return &set.queries[0];
}
#define LOAD_ONE(text, sql) load_one((text), (sql), __FILE__, __LINE__)

static void test_every_key(void)
{
	const struct fa_query *q = LOAD_ONE(
		"-- name: item\n"
		"-- route: GET /items/:id\n"
		"-- tool: Fetch one item by id\n"
		"-- param: id bigint  The item's id\n"
		"-- returns: one\n"
		"-- timeout: 2s\n"
		"-- cache: 1min\n"
		"SELECT id, name, price\n"
		"  FROM items WHERE id = :id;\n",
		"SELECT id, name, price\n  FROM items WHERE id = $1");

	if (!q)
		return;
	CHECK_STR(q->name, "item");
	CHECK_STR(q->method, "GET");
	CHECK(q->method_bit == FA_METHOD_GET);
	CHECK_STR(q->path, "/items/:id");
	CHECK_STR(q->tool, "Fetch one item by id");
	CHECK_STR(q->description, "");
	CHECK(q->returns == FA_RETURNS_ONE);
	CHECK(q->timeout_ms == 2000);
	CHECK(q->cache_s == 60);
	CHECK(q->limit == 0);
	CHECK(q->listen == NULL);
	CHECK_STR(q->file, "t.sql");
	CHECK(q->line == 1);
	CHECK(q->sql_line == 8);
	CHECK(q->nparams == 1);
	CHECK_STR(q->params[0].name, "id");
	CHECK(q->params[0].type == FA_QTYPE_BIGINT);
	CHECK(!q->params[0].array);
	CHECK(q->params[0].oid == 20);
	CHECK(!q->params[0].optional);
	CHECK(q->params[0].in_path);
	CHECK_STR(q->params[0].description, "The item's id");
	CHECK(q->params[0].line == 4);
	CHECK(q->nsegs == 2);
	CHECK(q->nsegs == 2 && q->segs[0].param == -1 && q->segs[1].param == 0);

	q = LOAD_ONE(
		"-- Products, newest first.\n"
		"--\n"
		"-- Filtered by category when one is given.\n"
		"-- name: products\n"
		"-- route: GET /products\n"
		"-- tool:\n"
		"-- param: category text = null  Only this category\n"
		"-- param: tags text[] = '{a b,c}'\n"
		"-- param: max int = 50  Page size\n"
		"-- param: label text = 'it''s'\n"
		"-- returns: stream\n"
		"-- limit: 1000\n"
		"-- timeout: 500ms\n"
		"-- cache: etag\n"
		"SELECT * FROM p WHERE (:category IS NULL OR c = :category)\n"
		"  AND t && :tags AND l = :label LIMIT :max\n",
		"SELECT * FROM (\nSELECT * FROM p WHERE ($1 IS NULL OR c = $1)\n"
		"  AND t && $2 AND l = $3 LIMIT $4\n) AS fa_limited LIMIT 1000");
	if (!q)
		return;
	CHECK_STR(q->description, "Products, newest first.\n\n"
		  "Filtered by category when one is given.");
	CHECK_STR(q->tool, q->description);
	CHECK(q->returns == FA_RETURNS_STREAM);
	CHECK(q->limit == 1000);
	CHECK(q->timeout_ms == 500);
	CHECK(q->cache_s == 0);
	CHECK(q->line == 4);
	CHECK(q->nparams == 4);
	if (q->nparams != 4)
		return;
	CHECK_STR(q->params[0].name, "category");
	CHECK(q->params[0].optional && q->params[0].def == NULL);
	CHECK_STR(q->params[0].description, "Only this category");
	CHECK(!q->params[0].in_path);
	CHECK_STR(q->params[1].name, "tags");
	CHECK(q->params[1].array && q->params[1].type == FA_QTYPE_TEXT);
	CHECK(q->params[1].oid == 1009);
	CHECK_STR(q->params[1].def, "{a b,c}");
	CHECK_STR(q->params[1].description, "");
	CHECK_STR(q->params[2].name, "label");
	CHECK_STR(q->params[2].def, "it's");
	CHECK_STR(q->params[3].name, "max");
	CHECK_STR(q->params[3].def, "50");
	CHECK(q->params[3].type == FA_QTYPE_INT);

	/* a bare listen route, and a tool that is not a route */
	CHECK(load("-- name: events\n"
		   "-- route: GET /events\n"
		   "-- listen: order_status\n"
		   "\n"
		   "-- name: ping\n"
		   "-- tool: Says pong\n"
		   "-- returns: none\n"
		   "SELECT 'pong'\n") == FA_OK);
	CHECK(set.nqueries == 2);
	if (set.nqueries == 2) {
		CHECK_STR(set.queries[0].listen, "order_status");
		CHECK_STR(set.queries[0].sql, "");
		CHECK(set.queries[0].sql_line == 0);
		CHECK(set.queries[1].path == NULL && set.queries[1].method == NULL);
		CHECK(set.queries[1].returns == FA_RETURNS_NONE);
		CHECK(set.queries[1].cache_s == -1);
	}
	/* listen with a statement, ended by a lone ';' and at the end of the text */
	CHECK(load("-- name: a\n-- route: GET /a\n-- listen: ch\n;\n"
		   "-- name: b\n-- route: GET /b\n-- listen: ch\n"
		   "SELECT status FROM orders;\n"
		   "-- name: c\n-- route: GET /c\n-- listen: ch") == FA_OK);
	CHECK(set.nqueries == 3);
	if (set.nqueries == 3) {
		CHECK_STR(set.queries[0].sql, "");
		CHECK_STR(set.queries[1].sql, "SELECT status FROM orders");
		CHECK_STR(set.queries[2].sql, "");
	}
}

static void test_auth(void)
{
	const struct fa_query *q;

	q = LOAD_ONE("-- name: a\n-- route: GET /a\n-- auth: required\nSELECT 1;", "SELECT 1");
	CHECK(q && q->auth == FA_AUTH_REQUIRED);
	q = LOAD_ONE("-- name: a\n-- route: GET /a\n-- auth: optional\nSELECT 1;", "SELECT 1");
	CHECK(q && q->auth == FA_AUTH_OPTIONAL);
	q = LOAD_ONE("-- name: a\n-- route: GET /a\nSELECT 1;", "SELECT 1");
	CHECK(q && q->auth == FA_AUTH_DEFAULT);
}

static void test_placeholders(void)
{
	const struct fa_query *q;

	/* numbered by first use; :'a' is :a; reuse keeps the number */
	q = LOAD_ONE("-- name: x\n-- param: a int\n-- param: b text\n"
		     "SELECT :b, :a, :b || 'x', :'a';",
		     "SELECT $1, $2, $1 || 'x', $2");
	CHECK(q && q->nparams == 2 && strcmp(q->params[0].name, "b") == 0 &&
	      strcmp(q->params[1].name, "a") == 0);

	/* quotes, comments, casts, dollar quotes and slices are left alone */
	LOAD_ONE("-- name: x\n-- param: a int\n"
		 "SELECT ':a', \":a\", E'\\':a', $$ :a $$, $t$ :a; $t$,\n"
		 "  /* :a; /* :b */ */ :a::int, x[1:2], y[:a:3] -- :zz;\n"
		 "  , z[lo\\:hi], z[lo : hi]",
		 "SELECT ':a', \":a\", E'\\':a', $$ :a $$, $t$ :a; $t$,\n"
		 "  /* :a; /* :b */ */ $1::int, x[1:2], y[$1:3] -- :zz;\n"
		 "  , z[lo:hi], z[lo : hi]");

	/* blank lines and comments before the statement; comments within kept */
	LOAD_ONE("-- a file comment\n\n"
		 "-- name: x\n-- param: v text\n"
		 "INSERT INTO t VALUES (:v) -- the value\n"
		 "RETURNING id\n"
		 ";\n\n-- a trailing comment\n",
		 "INSERT INTO t VALUES ($1) -- the value\nRETURNING id");

	/* slash-star comments between blocks, and one inside a block */
	CHECK(load("/* a file\n * comment */\n-- name: a\nSELECT 1;\n"
		   "/* between */ -- and more\n-- name: b\n/* b's */\nSELECT 2;")
	      == FA_OK);
	CHECK(set.nqueries == 2);
	if (set.nqueries == 2) {
		CHECK_STR(set.queries[0].sql, "SELECT 1");
		CHECK(set.queries[0].line == 3 && set.queries[0].sql_line == 4);
		CHECK_STR(set.queries[1].sql, "/* b's */\nSELECT 2");
	}
	LOAD_FAILS("-- name: a\n/* only */\n-- name: b\nSELECT 1;",
		   "t.sql:1: no statement follows the annotations of 'a'");

	/* a body with semicolons stays one statement */
	LOAD_ONE("-- name: f\n"
		 "DO $$ BEGIN PERFORM 1; END $$; ",
		 "DO $$ BEGIN PERFORM 1; END $$");
	LOAD_ONE("-- name: f\n-- param: n int\n"
		 "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT :n; "
		 "SELECT 2; END;\n",
		 "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT $1; "
		 "SELECT 2; END");
	LOAD_FAILS("-- name: f\n-- param: n int\n"
		   "DO $$ BEGIN PERFORM 1; END $$; ",
		   "t.sql:2: parameter 'n' is not used in the statement");

	/* more blocks in one file, some on the same lines */
	CHECK(load("-- name: a\nSELECT 1;\n-- name: b\nSELECT 2; -- after\n"
		   "-- name: c\r\nSELECT 3\r\n;") == FA_OK);
	CHECK(set.nqueries == 3);
	if (set.nqueries == 3) {
		CHECK_STR(set.queries[1].sql, "SELECT 2");
		CHECK_STR(set.queries[2].sql, "SELECT 3");
		CHECK(set.queries[2].line == 5 && set.queries[2].sql_line == 6);
	}
}

static void test_errors(void)
{
	LOAD_FAILS("-- name: x\n-- nmae: y\nSELECT 1;",
		   "t.sql:2: unknown key 'nmae:' (a description line may not "
		   "start with a lower-case word and a colon)");
	LOAD_FAILS("-- name: x\n-- name: y\nSELECT 1;",
		   "t.sql:2: 'name:' given twice (first at line 1)");
	LOAD_FAILS("-- name: X\nSELECT 1;",
		   "t.sql:1: bad name 'X': use 1 to 63 of a-z, 0-9 and _");
	LOAD_FAILS("-- name: x\nSELECT 1;\n-- name: x\nSELECT 2;",
		   "t.sql:3: duplicate name 'x' (first at t.sql:1)");
	LOAD_FAILS("-- name: x\n-- param: id integer\nSELECT :id;",
		   "t.sql:2: unknown type 'integer' for parameter 'id': use text, "
		   "int, bigint, numeric, float, bool, date, timestamptz, uuid, "
		   "json or jsonb, or one of them followed by []");
	LOAD_FAILS("-- name: x\n-- param: id\nSELECT :id;",
		   "t.sql:2: parameter 'id' has no type");
	LOAD_FAILS("-- name: x\n-- param: 1d int\nSELECT 1;",
		   "t.sql:2: bad parameter name '1d': use a-z, A-Z, 0-9 and _, not "
		   "starting with a digit");
	LOAD_FAILS("-- name: x\n-- param: a int\n-- param: a int\nSELECT :a;",
		   "t.sql:3: parameter 'a' is declared twice");
	LOAD_FAILS("-- name: x\n-- param: n int = 1.5\nSELECT :n;",
		   "t.sql:2: default of parameter 'n': \"1.5\" is not a valid int");
	LOAD_FAILS("-- name: x\n-- param: n text = 'abc\nSELECT :n;",
		   "t.sql:2: unterminated quoted default for parameter 'n'");
	LOAD_FAILS("-- name: x\n-- param: n text =\nSELECT :n;",
		   "t.sql:2: missing default after '=' for parameter 'n'");
	LOAD_FAILS("-- name: x\n-- route: get /x\nSELECT 1;",
		   "t.sql:2: bad route method 'get': use GET, POST, PUT, PATCH, "
		   "DELETE or WS");
	LOAD_FAILS("-- name: x\n-- route: GET x\nSELECT 1;",
		   "t.sql:2: route path 'x' must start with '/'");
	LOAD_FAILS("-- name: x\n-- route: GET /x/\nSELECT 1;",
		   "t.sql:2: route path '/x/' has an empty segment (no '//' and no "
		   "trailing '/')");
	LOAD_FAILS("-- name: x\n-- route: GET /a//b\nSELECT 1;",
		   "t.sql:2: route path '/a//b' has an empty segment (no '//' and "
		   "no trailing '/')");
	LOAD_FAILS("-- name: x\n-- route: GET /a b\nSELECT 1;",
		   "t.sql:2: bad route 'GET /a b': write METHOD /path");
	LOAD_FAILS("-- name: x\n-- route: GET /a%20b\nSELECT 1;",
		   "t.sql:2: bad route segment 'a%20b': use A-Z, a-z, 0-9, '-', "
		   "'.', '_' and '~', or :name");
	LOAD_FAILS("-- name: x\n-- route: GET /a/..\nSELECT 1;",
		   "t.sql:2: bad route segment '..': use A-Z, a-z, 0-9, '-', '.', "
		   "'_' and '~', or :name");
	LOAD_FAILS("-- name: x\n-- route: GET /:I-d\nSELECT 1;",
		   "t.sql:2: bad route parameter ':I-d': use :name with a-z, A-Z, "
		   "0-9 and _");
	LOAD_FAILS("-- name: x\n-- route: GET /:a/:a\n-- param: a int\n"
		   "SELECT :a;",
		   "t.sql:2: route parameter ':a' appears twice");
	LOAD_FAILS("-- name: x\n-- route: GET /x/:id\nSELECT 1;",
		   "t.sql:2: route parameter ':id' is not declared (add '-- "
		   "param: id TYPE')");
	LOAD_FAILS("-- name: x\n-- route: GET /x/:id\n-- param: id int = 1\n"
		   "SELECT :id;",
		   "t.sql:3: route parameter 'id' cannot have a default");
	LOAD_FAILS("-- name: a\n-- route: GET /x/:id\n-- param: id int\n"
		   "SELECT :id;\n"
		   "-- name: b\n-- route: GET /x/:key\n-- param: key text\n"
		   "SELECT :key;",
		   "t.sql:5: route GET /x/:key has the same pattern as GET /x/:id "
		   "(t.sql:1)");
	LOAD_FAILS("-- name: x\n-- param: a int\nSELECT :a,\n :b;",
		   "t.sql:4: ':b' is not a declared parameter (add '-- param: b "
		   "TYPE')");
	LOAD_FAILS("-- name: x\n-- param: a int\n-- param: b int\nSELECT :a;",
		   "t.sql:3: parameter 'b' is not used in the statement");
	LOAD_FAILS("-- name: x\n-- param: t text\nSELECT * FROM :\"t\";",
		   "t.sql:3: :\"t\" would be an identifier: a bound parameter can "
		   "only be a value");
	LOAD_FAILS("-- name: x\n-- param: t text\nSELECT :{?t};",
		   "t.sql:3: :{?t} cannot be used in a query file");
	LOAD_FAILS("-- name: x\n-- param: a int\nSELECT :a, $2;",
		   "t.sql:3: positional parameter $2: write :name placeholders");
	LOAD_FAILS("-- name: x\nSELECT 1;\nSELECT 2;",
		   "t.sql:3: more than one statement in the block of 'x' (line 1): "
		   "each needs its own '-- name:'");
	LOAD_FAILS("-- name: x\nSELECT 1; SELECT 2;",
		   "t.sql:2: more than one statement in the block of 'x' (line 1): "
		   "each needs its own '-- name:'");
	LOAD_FAILS("-- just a comment\nSELECT 1;",
		   "t.sql:2: statement without a '-- name:' annotation");
	LOAD_FAILS("-- name: x\nSELECT 1;\n\nSELECT 2;",
		   "t.sql:4: statement without a '-- name:' annotation");
	LOAD_FAILS("-- name: x\nSELECT 1;\n-- the next\nSELECT 2;",
		   "t.sql:4: statement without a '-- name:' annotation");
	LOAD_FAILS("-- route: GET /x\nSELECT 1;",
		   "t.sql:1: route without a name (add '-- name: NAME')");
	LOAD_FAILS("-- About x\n-- returns: one\nSELECT 1;",
		   "t.sql:1: annotations without a name (add '-- name: NAME')");
	LOAD_FAILS("-- name: x\n\nSELECT 1;",
		   "t.sql:1: no statement follows the annotations of 'x'");
	LOAD_FAILS("-- name: x\n-- returns: one",
		   "t.sql:1: no statement follows the annotations of 'x'");
	LOAD_FAILS("-- name: x\n-- returns: all\nSELECT 1;",
		   "t.sql:2: bad returns 'all': use many, one, none or stream");
	LOAD_FAILS("-- name: x\n-- timeout: 2\nSELECT 1;",
		   "t.sql:2: bad timeout '2': write a number and ms, s, min or h, "
		   "as in 500ms or 2s");
	LOAD_FAILS("-- name: x\n-- timeout: 0s\nSELECT 1;",
		   "t.sql:2: bad timeout '0s': write a number and ms, s, min or h, "
		   "as in 500ms or 2s");
	LOAD_FAILS("-- name: x\n-- timeout: 999999999h\nSELECT 1;",
		   "t.sql:2: bad timeout '999999999h': write a number and ms, s, "
		   "min or h, as in 500ms or 2s");
	LOAD_FAILS("-- name: x\n-- limit: -1\nSELECT 1;",
		   "t.sql:2: bad limit '-1': write a positive number of rows");
	LOAD_FAILS("-- name: x\n-- returns: one\n-- limit: 5\nSELECT 1;",
		   "t.sql:3: limit applies to returns many or stream only");
	LOAD_FAILS("-- name: x\n-- route: GET /x\n-- cache: 1500ms\nSELECT 1;",
		   "t.sql:3: bad cache '1500ms': write etag, or whole seconds as in "
		   "30s or 5min");
	LOAD_FAILS("-- name: x\n-- route: GET /x\n-- auth: maybe\nSELECT 1;",
		   "t.sql:3: bad auth 'maybe': use required or optional");
	LOAD_FAILS("-- name: x\n-- auth: required\n-- auth: optional\nSELECT 1;",
		   "t.sql:3: 'auth:' given twice (first at line 2)");
	LOAD_FAILS("-- name: x\n-- route: POST /x\n-- cache: 5s\nSELECT 1;",
		   "t.sql:3: cache applies to GET routes only");
	LOAD_FAILS("-- name: x\n-- cache: 5s\nSELECT 1;",
		   "t.sql:2: cache applies to GET routes only");
	LOAD_FAILS("-- name: x\n-- listen: Orders\n",
		   "t.sql:2: bad listen channel 'Orders': use a-z, 0-9 and _, not "
		   "starting with a digit");
	LOAD_FAILS("-- name: x\n-- listen: ch\n",
		   "t.sql:2: listen needs a GET route");
	LOAD_FAILS("-- name: x\n-- route: POST /x\n-- listen: ch\n",
		   "t.sql:2: a listen route must be GET");
	LOAD_FAILS("-- name: x\n-- route: GET /x\n-- tool: t\n-- listen: ch\n",
		   "t.sql:3: a listen route cannot be a tool");
	LOAD_FAILS("-- name: x\n-- route: GET /x\n-- listen: ch\n-- returns: one\n",
		   "t.sql:4: returns does not apply to a listen route");
	LOAD_FAILS("-- name: x\n-- route: GET /x/:id\n-- param: id int\n"
		   "-- listen: ch\n",
		   "t.sql:3: parameter 'id' is not used in the statement");
	LOAD_FAILS("-- name: x\n\\set a 1\n",
		   "t.sql:2: psql meta-command '\\set a 1' in a query file");
	LOAD_FAILS("-- name: x\nSELECT 'abc\n\n;",
		   "t.sql:2: unterminated quoted string");
	LOAD_FAILS("-- name: x\nSELECT $f$ abc;\n",
		   "t.sql:2: unterminated dollar-quoted string");
	LOAD_FAILS("-- name: x\nSELECT 1 /* abc;\n",
		   "t.sql:2: unterminated /* comment");
	LOAD_FAILS("-- name: a\nSELECT 1\n\n-- name: b\nSELECT 2;",
		   "t.sql:4: '-- name:' inside a statement: is the ';' after the "
		   "statement above missing?");
}

/* Text with a NUL byte needs its length given. */
static void test_nul(void)
{
	static const char text[] = "-- name: a\nSELECT 1;\n-- name: b\nSELECT '\0';";

	fa_sqlfile_set_release(&set);
	CHECK(fa_sqlfile_set_add(&set, "t.sql", text, sizeof(text) - 1, &err) ==
	      FA_EINPUT);
	CHECK_STR(err.msg, "t.sql:4: NUL byte in the file");
	CHECK(set.nqueries == 0);
}

static void test_files(void)
{
	static const char a[] = "-- name: one\n-- route: GET /one\nSELECT 1;\n";
	static const char b[] = "\n\n-- name: one\nSELECT 1;\n";
	static const char c[] = "-- name: two\n-- route: GET /one\nSELECT 1;\n";
	static const char d[] = "-- name: two\n-- route: POST /one\nSELECT 2;\n";

	fa_sqlfile_set_release(&set);
	CHECK(fa_sqlfile_set_add(&set, "a.sql", a, strlen(a), &err) == FA_OK);
	CHECK(fa_sqlfile_set_add(&set, "b.sql", b, strlen(b), &err) == FA_EINPUT);
	CHECK_STR(err.msg, "b.sql:3: duplicate name 'one' (first at a.sql:1)");
	CHECK(fa_sqlfile_set_add(&set, "c.sql", c, strlen(c), &err) == FA_EINPUT);
	CHECK_STR(err.msg, "c.sql:1: route GET /one has the same pattern as GET "
		  "/one (a.sql:1)");
	CHECK(set.nqueries == 1);
	CHECK(fa_sqlfile_set_add(&set, "d.sql", d, strlen(d), &err) == FA_OK);
	CHECK(set.nqueries == 2);
	CHECK(fa_sqlfile_find(&set, "one") == &set.queries[0]);
	CHECK(fa_sqlfile_find(&set, "two") == &set.queries[1]);
	CHECK(fa_sqlfile_find(&set, "three") == NULL);
	CHECK_STR(set.queries[0].file, "a.sql");
	CHECK_STR(set.queries[1].file, "d.sql");
}

static const char routes[] =
	"-- name: items\n-- route: GET /items\nSELECT 1;\n"
	"-- name: item\n-- route: GET /items/:id\n-- param: id int\nSELECT :id;\n"
	"-- name: item_new\n-- route: GET /items/new\nSELECT 2;\n"
	"-- name: item_put\n-- route: PUT /items/:id\n-- param: id int\n"
	"SELECT :id;\n"
	"-- name: review\n-- route: GET /items/:id/reviews/:rid\n"
	"-- param: rid int\n-- param: id int\nSELECT :rid, :id;\n"
	"-- name: lit_first\n-- route: GET /x/:b/c\n-- param: b text\n"
	"SELECT :b;\n"
	"-- name: param_first\n-- route: GET /:a/b/c\n-- param: a text\n"
	"SELECT :a;\n"
	"-- name: d\n-- route: GET /:a/b/d\n-- param: a text\nSELECT :a;\n"
	"-- name: root\n-- route: GET /\nSELECT 3;\n"
	"-- name: chat\n-- route: WS /chat/:room\n-- param: room text\nSELECT :room;\n";

/* The route for method and path, or "-" with the allowed methods. */
static const char *route(const char *method, const char *path)
{
	static char out[256];
	struct fa_route_match m;
	const struct fa_query *q;
	int i, n;

	q = fa_sqlfile_match(&set, method, path, strlen(path), &m);
	if (!q) {
		snprintf(out, sizeof(out), "- allow=%u", m.allow);
		return out;
	}
	n = snprintf(out, sizeof(out), "%s", q->name);
	for (i = 0; i < m.nargs; i++)
		n += snprintf(out + n, sizeof(out) - (size_t)n, " %s$%d=%.*s",
			      m.args[i].name, m.args[i].param + 1,
			      (int)m.args[i].len, m.args[i].value);
	CHECK(m.query == q);
	return out;
}

static void test_routes(void)
{
	CHECK(load(routes) == FA_OK);
	CHECK_STR(route("GET", "/items"), "items");
	CHECK_STR(route("GET", "/items/"), "items");
	CHECK_STR(route("GET", "/items?x=1"), "items");
	CHECK_STR(route("GET", "/items/?x=/1"), "items");
	CHECK_STR(route("GET", "/items/42"), "item id$1=42");
	CHECK_STR(route("HEAD", "/items/42"), "item id$1=42");
	CHECK_STR(route("GET", "/items/a%2Fb/"), "item id$1=a%2Fb");
	CHECK_STR(route("GET", "/items/new"), "item_new");
	CHECK_STR(route("PUT", "/items/new"), "item_put id$1=new");
	CHECK_STR(route("GET", "/items/7/reviews/9"),
		  "review id$2=7 rid$1=9");
	CHECK_STR(route("GET", "/x/b/c"), "lit_first b$1=b");
	CHECK_STR(route("GET", "/y/b/c"), "param_first a$1=y");
	CHECK_STR(route("GET", "/x/b/d"), "d a$1=x");
	CHECK_STR(route("GET", "/"), "root");
	CHECK_STR(route("GET", ""), "- allow=0");
	CHECK_STR(route("GET", "items"), "- allow=0");
	CHECK_STR(route("GET", "//"), "- allow=0");
	CHECK_STR(route("GET", "/items//"), "- allow=0");
	CHECK_STR(route("GET", "/items//42"), "- allow=0");
	CHECK_STR(route("GET", "/Items"), "- allow=0");
	CHECK_STR(route("GET", "/nothing/here"), "- allow=0");
	CHECK_STR(route("DELETE", "/items/42"), "- allow=5");
	CHECK_STR(route("POST", "/items"), "- allow=1");
	CHECK_STR(route("BREW", "/items/42"), "- allow=5");
	CHECK_STR(route("get", "/items"), "- allow=1");
	CHECK_STR(route("WS", "/chat/lobby"), "chat room$1=lobby");
	CHECK_STR(route("GET", "/chat/lobby"), "- allow=32");
}

/* limit: queries are wrapped so the server stops; writes are not. */
static void test_limit(void)
{
	const struct fa_query *q;

	q = LOAD_ONE("-- name: q\n-- limit: 3\nSELECT i FROM t -- the rows\n;\n",
		     "SELECT * FROM (\nSELECT i FROM t -- the rows\n) AS fa_limited LIMIT 3");
	CHECK(q && q->limit == 3 && q->limit_in_sql);
	q = LOAD_ONE("-- name: q\n-- limit: 5\n/* c */ (VALUES (1))",
		     "SELECT * FROM (\n/* c */ (VALUES (1))\n) AS fa_limited LIMIT 5");
	q = LOAD_ONE("-- name: q\n-- limit: 2\nWITH x AS (SELECT 'insert' AS \"update\", $$delete$$) TABLE x",
		     "SELECT * FROM (\nWITH x AS (SELECT 'insert' AS \"update\", $$delete$$) TABLE x\n) AS fa_limited LIMIT 2");
	q = LOAD_ONE("-- name: q\n-- limit: 2\nWITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
		     "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x");
	CHECK(q && q->limit == 2 && !q->limit_in_sql);
	q = LOAD_ONE("-- name: q\n-- limit: 2\nINSERT INTO t SELECT 1 RETURNING *",
		     "INSERT INTO t SELECT 1 RETURNING *");
	CHECK(q && !q->limit_in_sql);
	q = LOAD_ONE("-- name: q\n-- limit: 2\nSELECT * FROM t FOR UPDATE", "SELECT * FROM t FOR UPDATE");
	q = LOAD_ONE("-- name: q\nSELECT 1", "SELECT 1");
	CHECK(q && !q->limit_in_sql);
}

/* resource, prompt, arg and content: the keys fa-mcp reads. */
static void test_mcp_keys(void)
{
	const struct fa_query *q;

	q = LOAD_ONE("-- name: item_doc\n-- resource: shop://items/{id} application/json\n"
		     "-- param: id int\nSELECT row_to_json(i) FROM items i WHERE id = :id",
		     "SELECT row_to_json(i) FROM items i WHERE id = $1");
	CHECK(q && !strcmp(q->resource, "shop://items/{id}") && !strcmp(q->mime, "application/json"));
	q = LOAD_ONE("-- name: r\n-- resource: test://static-text\nSELECT 'x'", "SELECT 'x'");
	CHECK(q && !strcmp(q->mime, "text/plain"));
	q = LOAD_ONE("-- name: greet\n-- prompt: Say hello\n-- arg: who  Whom to greet\n"
		     "SELECT 'user' AS role, 'Hello ' || :who AS content",
		     "SELECT 'user' AS role, 'Hello ' || $1 AS content");
	CHECK(q && !strcmp(q->prompt, "Say hello") && q->nparams == 1);
	CHECK(q && q->params[0].type == FA_QTYPE_TEXT && !q->params[0].optional);
	CHECK(q && !strcmp(q->params[0].description, "Whom to greet"));
	q = LOAD_ONE("-- name: pic\n-- tool:\n-- content: img image/png\n"
		     "-- content: doc text/plain test://doc\nSELECT 1 AS img, 2 AS doc",
		     "SELECT 1 AS img, 2 AS doc");
	CHECK(q && q->ncontent == 2 && !strcmp(q->content[0].column, "img") &&
	      !strcmp(q->content[0].mime, "image/png") && !q->content[0].uri &&
	      !strcmp(q->content[1].uri, "test://doc"));
	LOAD_FAILS("-- name: r\n-- resource: shop://items/{id}\nSELECT 1",
		   "t.sql:2: resource 'shop://items/{id}': {id} is not a declared parameter");
	LOAD_FAILS("-- name: r\n-- resource: shop://items\n-- param: id int\nSELECT :id",
		   "t.sql:2: resource 'shop://items': every parameter must be a {part} of its URI");
	LOAD_FAILS("-- name: r\n-- resource: items\nSELECT 1",
		   "t.sql:2: bad resource 'items': give a URI such as shop://items/{id}, then a "
		   "MIME type if not text/plain");
	LOAD_FAILS("-- name: r\n-- content: img\nSELECT 1",
		   "t.sql:2: bad content 'img': write COLUMN MIME [URI], as in 'img image/png'");
	LOAD_FAILS("-- name: r\n-- content: img image/png\nSELECT 1",
		   "t.sql:2: content applies to tools and prompts (add '-- tool:' or '-- prompt:')");
}

/* read_only and destructive, from the statement's words outside quotes. */
static void test_kinds(void)
{
	static const struct { const char *sql; bool ro, destroys; } t[] = {
		{ "SELECT 1", true, false },
		{ "with x as (select 'delete' as \"update\", $$drop$$) table x", true, false },
		{ "VALUES (1) /* insert */", true, false },
		{ "SELECT * FROM t FOR UPDATE", false, true },
		{ "SELECT * INTO t2 FROM t", false, false },
		{ "INSERT INTO t VALUES (1)", false, false },
		{ "UPDATE t SET a = 1", false, true },
		{ "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", false, true },
		{ "TRUNCATE t", false, true },
		{ "CALL p()", false, false },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct fa_query *q;

		snprintf(text, sizeof(text), "-- name: q\n%s", t[i].sql);
		q = LOAD_ONE(text, t[i].sql);
		CHECK(q && q->read_only == t[i].ro, "%s: read_only %d", t[i].sql, q ? q->read_only : -1);
		CHECK(q && q->destructive == t[i].destroys, "%s: destructive", t[i].sql);
	}
}

/* fa_qparam_check() is fa_pgtext_check() with the parameter's name in front. */
static void test_values(void)
{
	struct fa_qparam p = { .name = "id", .type = FA_QTYPE_BIGINT };
	struct fa_qparam a = { .name = "ids", .type = FA_QTYPE_INT, .array = true };
	struct fa_error e;

	CHECK(fa_qparam_check(&p, "42", 2, &e) == FA_OK);
	fa_error_clear(&e);
	CHECK(fa_qparam_check(&p, "12x", 3, &e) == FA_EINPUT);
	CHECK_STR(e.msg, "parameter 'id': \"12x\" is not a valid bigint");
	CHECK(fa_qparam_check(&a, "{1,2}", 5, &e) == FA_OK);
	CHECK(fa_qparam_check(&a, "{1,x}", 5, &e) == FA_EINPUT);
	CHECK_STR(e.msg, "parameter 'ids': array element \"x\" is not a valid int");
	/* a default is checked when the file is read */
	CHECK(load("-- name: q\n-- param: n int = 1.5\nSELECT :n;\n") == FA_EINPUT);
	CHECK_STR(err.msg, "t.sql:2: default of parameter 'n': \"1.5\" is not a valid int");
}

/* examples/routes/shop.sql parses, and its routes are where fa-sql(5) says. */
static void test_examples(const char *dir)
{
	char path[4096], text[1 << 16];
	size_t i, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/shop.sql", dir);
	if (!(f = fopen(path, "rb"))) {
		check(__FILE__, __LINE__, false, path);
		return;
	}
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	CHECK(n < sizeof(text));
	fa_sqlfile_set_release(&set);
	CHECK(fa_sqlfile_set_add(&set, "shop.sql", text, n, &err) == FA_OK);
	CHECK_STR(set.nqueries ? "" : err.msg, "");
	CHECK(set.nqueries == 11);
	for (i = 0; i < set.nqueries; i++)
		CHECK(set.queries[i].path && (set.queries[i].sql[0] ||
					      set.queries[i].listen));
	CHECK_STR(route("GET", "/products?category=Books"), "products");
	CHECK_STR(route("GET", "/products/7"), "product id$1=7");
	CHECK_STR(route("PATCH", "/products/7/stock"), "update_stock id$2=7");
	CHECK_STR(route("GET", "/customers/5/orders"), "customer_orders id$1=5");
	CHECK_STR(route("GET", "/orders/42"), "order id$1=42");
	CHECK_STR(route("DELETE", "/orders/42"), "delete_order id$1=42");
	CHECK_STR(route("POST", "/orders"), "create_order");
	CHECK_STR(route("GET", "/orders/export"), "export_orders");
	CHECK_STR(route("GET", "/orders/events"), "order_events");
	CHECK_STR(route("GET", "/orders/live"), "orders_live");
	CHECK_STR(route("PATCH", "/orders/42/status"), "set_order_status id$2=42");
	CHECK_STR(route("PUT", "/orders/42"), "- allow=17");
}

/* argv[1]: the examples/routes directory (default: from the top of the tree). */
int main(int argc, char **argv)
{
	fa_sqlfile_set_init(&set);
	test_every_key();
	test_auth();
	test_placeholders();
	test_errors();
	test_nul();
	test_files();
	test_routes();
	test_values();
	test_limit();
	test_kinds();
	test_mcp_keys();
	test_examples(argc > 1 ? argv[1] : "examples/routes");
	fa_sqlfile_set_release(&set);
	return check_report("test_sqlfile");
}
