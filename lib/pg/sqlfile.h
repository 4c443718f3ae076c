/*
 * sqlfile: annotated .sql files into named queries.  It does no I/O.
 *
 * One query file serves every front end: a statement annotated once is an
 * HTTP route for fa-serve and a tool for fa-mcp.  Each statement is
 * preceded by "-- key: value" comment lines (the grammar is in fa-sql(5)):
 *
 *	-- name: item
 *	-- route: GET /items/:id
 *	-- param: id bigint  The item's id
 *	-- returns: one
 *	SELECT id, name, price FROM items WHERE id = :id;
 *
 * The caller reads the files and hands their text to a set; :name
 * placeholders come back as $1, $2... in order of first use, and params[i]
 * of a query describes $(i+1):
 *
 *	struct fa_sqlfile_set set;
 *	struct fa_error err;
 *	fa_sqlfile_set_init(&set);
 *	if (fa_sqlfile_set_add(&set, "routes/shop.sql", text, len, &err))
 *		die("%s", err.msg);         // "routes/shop.sql:12: ..."
 *	q = fa_sqlfile_match(&set, "GET", "/items/42", 9, &m);
 *	fa_sqlfile_set_release(&set);
 *
 * Ownership: the set owns every query and every string in it.  Adding a
 * file may move the queries array, so pointers into it are good until the
 * next add or the release; load every file first, then serve.
 */
#ifndef FA_SQLFILE_H
#define FA_SQLFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "pg/pgtext.h"

enum fa_returns {
	FA_RETURNS_MANY,        /* all rows, as an array (the default) */
	FA_RETURNS_ONE,         /* the first row, as an object; none is a 404 */
	FA_RETURNS_NONE,        /* nothing (204) */
	FA_RETURNS_STREAM,      /* rows streamed as they come */
};

/* Route methods as bits, for fa_route_match.allow. */
enum fa_method {
	FA_METHOD_GET = 1,
	FA_METHOD_POST = 2,
	FA_METHOD_PUT = 4,
	FA_METHOD_PATCH = 8,
	FA_METHOD_DELETE = 16,
	FA_METHOD_WS = 32,      /* a WebSocket: the statement runs for each message */
};

/* One "-- param:" line; a query's params are in $n order. */
struct fa_qparam {
	char *name;
	enum fa_qtype type;
	bool array;             /* TYPE[]: the value is an array literal */
	unsigned oid;           /* PostgreSQL's oid for it: 1007 for int[] */
	bool optional;          /* declared with "= DEFAULT" */
	char *def;              /* the default; NULL for "= null" or none */
	bool in_path;           /* a :segment of the route */
	char *description;      /* "" when none */
	char *schema;           /* "-- schema:" JSON Schema of a json/jsonb value, or NULL */
	int line;
};

/* A :param segment has param >= 0 (its index in params), a literal -1. */
struct fa_qseg {
	char *text;             /* the literal, or the param's name */
	int param;
};

/* A "-- content:" line: a column of a tool's rows as a content block. */
struct fa_qcontent {
	char *column;
	char *mime;             /* image/... and audio/... make those blocks */
	char *uri;              /* set: an embedded resource with this URI */
	int line;
};

/*
 * "-- auth: required | optional": whether the route needs a verified token
 * or also runs for anonymous requests; the server decides the default.
 */
enum fa_auth { FA_AUTH_DEFAULT, FA_AUTH_REQUIRED, FA_AUTH_OPTIONAL };

struct fa_query {
	char *name;             /* unique in the set, [a-z0-9_]{1,63} */
	const char *method;     /* "GET"...; NULL when not a route */
	char *path;             /* "/items/:id"; NULL when not a route */
	char *tool;             /* MCP tool description; NULL: not a tool */
	char *description;      /* the plain comment lines; "" when none */
	char *sql;              /* with $1..$n; "" for a bare listen route */
	struct fa_qparam *params;       /* params[i] is $(i+1) */
	int nparams;
	enum fa_returns returns;
	int timeout_ms;         /* statement timeout; 0: the server's */
	long limit;             /* at most this many rows; 0: no limit */
	/*
	 * The limit is in sql: a query is wrapped as SELECT * FROM (...) LIMIT
	 * n, so the server stops after n rows.  False for writes (their rows
	 * come from RETURNING): the caller must cut the rows itself.
	 */
	bool limit_in_sql;
	/*
	 * The statement reads only, by its words: a query with no INSERT,
	 * UPDATE, DELETE, MERGE or INTO outside quotes.  A function it calls
	 * may still write, so fa-serve retries only GET routes that read.
	 */
	bool read_only;
	/* It has UPDATE, DELETE, MERGE, TRUNCATE or DROP: it may change or remove rows. */
	bool destructive;
	char *listen;           /* NOTIFY channel streamed as SSE, or NULL */
	char *resource;         /* MCP resource URI ({name}: a template), or NULL */
	char *mime;             /* the resource's MIME type (text/plain unless given) */
	char *prompt;           /* MCP prompt description, or NULL: not a prompt */
	struct fa_qcontent *content;    /* "-- content:" lines, in order */
	int ncontent;
	int cache_s;            /* -1: no caching; 0: ETag only; else max-age */
	enum fa_auth auth;      /* "-- auth:"; FA_AUTH_DEFAULT when not given */
	const char *file;       /* the name given to add, the set's copy */
	int line;               /* the line of its "-- name:" */
	int sql_line;           /* the statement's first line; 0 when none */
	enum fa_method method_bit;      /* 0 when not a route */
	struct fa_qseg *segs;   /* the route's path, split at '/' */
	int nsegs;
};

struct fa_sqlfile_set {
	struct fa_query *queries;       /* in file order, files in add order */
	size_t nqueries;
	size_t cap;             /* private */
	char **files;           /* private: the names given to add */
	size_t nfiles;          /* private */
};

/* The most :param segments one route may have. */
#define FA_ROUTE_MAX_ARGS 16

struct fa_route_arg {
	const char *name;       /* the param's name */
	const char *value;      /* into the caller's path: still %-encoded */
	size_t len;
	int param;              /* index in query->params */
};

struct fa_route_match {
	const struct fa_query *query;   /* NULL when nothing matched */
	int nargs;
	struct fa_route_arg args[FA_ROUTE_MAX_ARGS];
	unsigned allow;         /* FA_METHOD_* bits of the routes of this path */
};

void fa_sqlfile_set_init(struct fa_sqlfile_set *set);

/* Frees every query and string; the set can be reused after init. */
void fa_sqlfile_set_release(struct fa_sqlfile_set *set);

/*
 * Parses one file's text (len bytes; NULs are an error) and adds its
 * queries.  name labels the file in messages and in query->file.  All or
 * nothing: on FA_EINPUT err says "NAME:LINE: what" and the set is as it
 * was; FA_ENOMEM when memory runs out.
 */
enum fa_err fa_sqlfile_set_add(struct fa_sqlfile_set *set, const char *name,
			       const char *text, size_t len,
			       struct fa_error *err);

/* The query called name, or NULL. */
const struct fa_query *fa_sqlfile_find(const struct fa_sqlfile_set *set,
				       const char *name);

/*
 * The route for method and path (len bytes, stopping at a '?'), or NULL.
 * HEAD matches GET routes; one trailing '/' on the path is ignored; a
 * literal segment wins over a :param one, leftmost first.  m receives the
 * :param values (pointing into path) and, in m->allow, the methods the
 * path has routes for: on NULL, none is a 404, some a 405.  No allocation.
 */
const struct fa_query *fa_sqlfile_match(const struct fa_sqlfile_set *set,
					const char *method, const char *path,
					size_t len, struct fa_route_match *m);

/*
 * Checks value (len bytes, PostgreSQL's text form; arrays as {...}) for
 * p's type with fa_pgtext_check(), so a bad value is the client's error
 * naming the parameter, not the server's.  FA_EINPUT with a message such
 * as "parameter 'id': \"12x\" is not a valid bigint".
 */
enum fa_err fa_qparam_check(const struct fa_qparam *p, const char *value,
			    size_t len, struct fa_error *err);

#endif
