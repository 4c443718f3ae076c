/*
 * fa-pg: \d and friends, from the system catalogs.  Patterns work as in
 * psql: schema.name, * and ? wildcards, "quoted" parts literal and
 * case-sensitive, others folded to lower case.  Patterns are bound as
 * parameters, never pasted into the SQL.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fapg.h"

/* Appends the regular expression for one pattern part. */
static void pattern_part(struct fa_buf *re, const char *p, size_t n)
{
	bool quoted = false;

	fa_buf_puts(re, "^(");
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '"') {
			if (quoted && i + 1 < n && p[i + 1] == '"') {
				fa_buf_putc(re, '"');
				i++;
			} else {
				quoted = !quoted;
			}
		} else if (!quoted && c == '*') {
			fa_buf_puts(re, ".*");
		} else if (!quoted && c == '?') {
			fa_buf_putc(re, '.');
		} else {
			if (strchr("|*+?()[]{}.^$\\", c))
				fa_buf_putc(re, '\\');
			fa_buf_putc(re, quoted ? c : (char)tolower((unsigned char)c));
		}
	}
	fa_buf_puts(re, ")$");
}

/* Splits "schema.name" at its first unquoted dot into two regexes. */
static void pattern_split(const char *pat, char **schema, char **name)
{
	struct fa_buf a, b;
	bool quoted = false;
	const char *dot = NULL;

	for (const char *p = pat; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '.' && !quoted && !dot)
			dot = p;
	}
	fa_buf_init(&a, 0);
	fa_buf_init(&b, 0);
	if (dot) {
		pattern_part(&a, pat, (size_t)(dot - pat));
		pattern_part(&b, dot + 1, strlen(dot + 1));
		*schema = fa_buf_detach(&a, NULL);
	} else {
		pattern_part(&b, pat, strlen(pat));
		*schema = NULL;
	}
	*name = fa_buf_detach(&b, NULL);
	fa_buf_release(&a);
}

/*
 * Appends the WHERE conditions for a name pattern: the name column
 * against $1, the schema column against $2 (when given), visibility or the
 * system-schema filter otherwise.  Fills params.
 */
static int pattern_where(struct fa_buf *q, const char *pat, bool system, const char *namecol,
			 const char *schemacol, const char *visible, char **params)
{
	int n = 0;

	params[0] = params[1] = NULL;
	if (pat) {
		pattern_split(pat, &params[1], &params[0]);
		fa_buf_printf(q, " AND %s OPERATOR(pg_catalog.~) $1 COLLATE pg_catalog.default", namecol);
		n = 1;
		if (params[1]) {
			fa_buf_printf(q, " AND %s OPERATOR(pg_catalog.~) $2 COLLATE pg_catalog.default",
				      schemacol);
			n = 2;
		} else if (visible) {
			fa_buf_printf(q, " AND %s", visible);
		}
	} else if (!system) {
		fa_buf_printf(q, " AND %s <> 'pg_catalog' AND %s <> 'information_schema'"
			      " AND %s !~ '^pg_toast'", schemacol, schemacol, schemacol);
		if (visible)
			fa_buf_printf(q, " AND %s", visible);
	}
	return n;
}

static enum fa_err run_listing(struct session *s, struct fa_buf *q, const char *title,
			       const char *pat, bool system, const char *namecol,
			       const char *schemacol, const char *visible, const char *order)
{
	char *params[2], empty[300];
	int n = pattern_where(q, pat, system, namecol, schemacol, visible, params);
	bool relations = strcmp(title, "List of relations") == 0;
	enum fa_err rc;

	if (pat)
		snprintf(empty, sizeof(empty), "Did not find any relation named \"%s\".", pat);
	else
		snprintf(empty, sizeof(empty), "Did not find any relations.");
	fa_buf_printf(q, " ORDER BY %s", order);
	rc = meta_query(s, q->data, title, n, (const char *const *)params,
			relations ? empty : NULL,
			strcmp(title, "List of roles") == 0 ? "" : NULL);  /* as psql: no count */
	free(params[0]);
	free(params[1]);
	fa_buf_release(q);
	return rc;
}

static const char relkind_names[] =
	"CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' "
	"WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' "
	"WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' "
	"WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END";

static enum fa_err list_relations(struct session *s, const char *kinds, bool plus,
				  bool system, const char *pat)
{
	struct fa_buf q;
	bool index = strchr(kinds, 'i') != NULL;
	bool am = strpbrk(kinds, "rmi") != NULL;       /* psql shows it only for these */

	fa_buf_init(&q, 0);
	fa_buf_printf(&q, "SELECT n.nspname AS \"Schema\", c.relname AS \"Name\", %s AS \"Type\", "
		      "pg_catalog.pg_get_userbyid(c.relowner) AS \"Owner\"", relkind_names);
	if (index)
		fa_buf_puts(&q, ", c2.relname AS \"Table\"");
	if (plus)
		fa_buf_printf(&q, ", CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 't' THEN "
			    "'temporary' WHEN 'u' THEN 'unlogged' END AS \"Persistence\"%s, "
			    "pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) AS \"Size\", "
			    "pg_catalog.obj_description(c.oid, 'pg_class') AS \"Description\"",
			    am ? ", am.amname AS \"Access method\"" : "");
	fa_buf_puts(&q, " FROM pg_catalog.pg_class c"
		    " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		    " LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam");
	if (index)
		fa_buf_puts(&q, " LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid"
			    " LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid");
	fa_buf_puts(&q, " WHERE c.relkind IN (");
	for (const char *k = kinds; *k; k++)
		fa_buf_printf(&q, "%s'%c'", k == kinds ? "" : ",", *k);
	fa_buf_putc(&q, ')');
	return run_listing(s, &q, "List of relations", pat, system, "c.relname", "n.nspname",
			   "pg_catalog.pg_table_is_visible(c.oid)", "1, 2");
}

static enum fa_err list_functions(struct session *s, bool plus, bool system, const char *pat)
{
	struct fa_buf q;

	fa_buf_init(&q, 0);
	fa_buf_puts(&q, "SELECT n.nspname AS \"Schema\", p.proname AS \"Name\", "
		    "pg_catalog.pg_get_function_result(p.oid) AS \"Result data type\", "
		    "pg_catalog.pg_get_function_arguments(p.oid) AS \"Argument data types\", "
		    "CASE p.prokind WHEN 'a' THEN 'agg' WHEN 'w' THEN 'window' WHEN 'p' THEN 'proc' "
		    "ELSE 'func' END AS \"Type\"");
	if (plus)
		fa_buf_puts(&q, ", CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN "
			    "'stable' ELSE 'volatile' END AS \"Volatility\", "
			    "CASE p.proparallel WHEN 'r' THEN 'restricted' WHEN 's' THEN 'safe' "
			    "ELSE 'unsafe' END AS \"Parallel\", "
			    "pg_catalog.pg_get_userbyid(p.proowner) AS \"Owner\", "
			    "CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END AS \"Security\", "
			    "pg_catalog.array_to_string(p.proacl, E'\\n') AS \"Access privileges\", "
			    "l.lanname AS \"Language\", "
			    "CASE WHEN l.lanname IN ('internal', 'c') THEN NULL ELSE p.prosrc END "
			    "AS \"Source code\", "
			    "pg_catalog.obj_description(p.oid, 'pg_proc') AS \"Description\"");
	fa_buf_puts(&q, " FROM pg_catalog.pg_proc p"
		    " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
		    " LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE true");
	return run_listing(s, &q, "List of functions", pat, system, "p.proname", "n.nspname",
			   "pg_catalog.pg_function_is_visible(p.oid)", "1, 2, 4");
}

static enum fa_err list_schemas(struct session *s, bool plus, bool system, const char *pat)
{
	struct fa_buf q;

	fa_buf_init(&q, 0);
	fa_buf_puts(&q, "SELECT n.nspname AS \"Name\", "
		    "pg_catalog.pg_get_userbyid(n.nspowner) AS \"Owner\"");
	if (plus)
		fa_buf_puts(&q, ", pg_catalog.array_to_string(n.nspacl, E'\\n') AS \"Access privileges\", "
			    "pg_catalog.obj_description(n.oid, 'pg_namespace') AS \"Description\"");
	fa_buf_puts(&q, " FROM pg_catalog.pg_namespace n WHERE true");
	if (!system && !pat)
		fa_buf_puts(&q, " AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'");
	return run_listing(s, &q, "List of schemas", pat, true, "n.nspname", "n.nspname",
			   NULL, "1");
}

static enum fa_err list_roles(struct session *s, bool plus, bool system, const char *pat)
{
	struct fa_buf q;

	fa_buf_init(&q, 0);
	fa_buf_puts(&q, "SELECT r.rolname AS \"Role name\", pg_catalog.concat_ws(', ', "
		    "CASE WHEN r.rolsuper THEN 'Superuser' END, "
		    "CASE WHEN NOT r.rolinherit THEN 'No inheritance' END, "
		    "CASE WHEN r.rolcreaterole THEN 'Create role' END, "
		    "CASE WHEN r.rolcreatedb THEN 'Create DB' END, "
		    "CASE WHEN NOT r.rolcanlogin THEN 'Cannot login' END, "
		    "CASE WHEN r.rolreplication THEN 'Replication' END, "
		    "CASE WHEN r.rolbypassrls THEN 'Bypass RLS' END) AS \"Attributes\", "
		    "ARRAY(SELECT b.rolname FROM pg_catalog.pg_auth_members m "
		    "JOIN pg_catalog.pg_roles b ON m.roleid = b.oid WHERE m.member = r.oid) "
		    "AS \"Member of\"");
	if (plus)
		fa_buf_puts(&q, ", pg_catalog.shobj_description(r.oid, 'pg_authid') AS \"Description\"");
	fa_buf_puts(&q, " FROM pg_catalog.pg_roles r WHERE true");
	if (!system && !pat)
		fa_buf_puts(&q, " AND r.rolname !~ '^pg_'");
	return run_listing(s, &q, "List of roles", pat, true, "r.rolname", "r.rolname", NULL, "1");
	/* psql prints \du without a row count: run_listing knows the title */
}

static enum fa_err list_databases(struct session *s, bool plus, const char *pat)
{
	struct fa_buf q;

	fa_buf_init(&q, 0);
	fa_buf_puts(&q, "SELECT d.datname AS \"Name\", "
		    "pg_catalog.pg_get_userbyid(d.datdba) AS \"Owner\", "
		    "pg_catalog.pg_encoding_to_char(d.encoding) AS \"Encoding\", "
		    "d.datcollate AS \"Collate\", d.datctype AS \"Ctype\", "
		    "d.daticulocale AS \"ICU Locale\", CASE d.datlocprovider WHEN 'c' THEN 'libc' "
		    "WHEN 'i' THEN 'icu' END AS \"Locale Provider\", "
		    "pg_catalog.array_to_string(d.datacl, E'\\n') AS \"Access privileges\"");
	if (plus)
		fa_buf_puts(&q, ", CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT') "
			    "THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname)) "
			    "ELSE 'No Access' END AS \"Size\", "
			    "pg_catalog.shobj_description(d.oid, 'pg_database') AS \"Description\"");
	fa_buf_puts(&q, " FROM pg_catalog.pg_database d WHERE true");
	return run_listing(s, &q, "List of databases", pat, true, "d.datname", "d.datname",
			   NULL, "1");
}

enum fa_err describe_object(struct session *s, const char *pat, bool plus, bool system);

enum fa_err describe(struct session *s, const char *cmd, const char *pattern)
{
	size_t n = strlen(cmd);
	bool plus = n && cmd[n - 1] == '+';
	char base[16];
	bool system;

	if (session_ready(s) == FA_ECONNECT)
		return FA_ECONNECT;
	if (plus)
		n--;
	system = n > 1 && cmd[n - 1] == 'S';
	if (system)
		n--;
	snprintf(base, sizeof(base), "%.*s", (int)(n < sizeof(base) ? n : sizeof(base) - 1), cmd);
	if (!strcmp(base, "d"))
		return pattern ? describe_object(s, pattern, plus, system) :
			list_relations(s, "rpvmSf", plus, system, NULL);
	if (base[0] == 'd' && strspn(base + 1, "tivmsE") == strlen(base + 1) && base[1]) {
		char kinds[16] = "";

		for (const char *k = base + 1; *k; k++)
			strcat(kinds, *k == 't' ? "rp" : *k == 'i' ? "iI" : *k == 's' ? "S" :
			       *k == 'E' ? "f" : *k == 'v' ? "v" : "m");
		return list_relations(s, kinds, plus, system, pattern);
	}
	if (!strcmp(base, "df"))
		return list_functions(s, plus, system, pattern);
	if (!strcmp(base, "dn"))
		return list_schemas(s, plus, system, pattern);
	if (!strcmp(base, "du") || !strcmp(base, "dg"))
		return list_roles(s, plus, system, pattern);
	if (!strcmp(base, "l") || !strcmp(base, "list"))
		return list_databases(s, plus, pattern);
	fprintf(stderr, "fa-pg: invalid command \\%s\nTry \\? for help.\n", cmd);
	return FA_EUSAGE;
}

enum fa_err meta_query(struct session *s, const char *sql, const char *title,
		       int nparams, const char *const *params, const char *empty_msg,
		       const char *footer)
{
	PGresult *r = PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	struct fa_fmt_opts o = s->fmt;
	enum fa_err rc = FA_OK;
	struct fa_fmt f;
	bool begun = false;
	long rows = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0 && empty_msg) {
		fprintf(stderr, "%s\n", empty_msg);
		PQclear(r);
		return FA_OK;
	}
	o.title = title;
	if (footer)
		o.footer = false;
	fa_fmt_init(&f, &o, &s->out);
	rc = print_result(s, r, sql, NULL, &f, &begun, &rows);
	fa_fmt_release(&f);
	if (footer && s->fmt.kind == FA_FMT_TABLE) {
		/* psql: the footers, then the blank line that ends a table */
		if (s->out.len && s->out.data[s->out.len - 1] == '\n' && s->out.len > 1 &&
		    s->out.data[s->out.len - 2] == '\n')
			s->out.len--;
		fa_buf_printf(&s->out, "%s%s\n", footer,
			      *footer && footer[strlen(footer) - 1] != '\n' ? "\n" : "");
	}
	out_flush(s);
	PQclear(r);
	return rc;
}

/* One query's rows, each formatted by fmt from its columns, under heading. */
static void footer_section(struct session *s, struct fa_buf *out, const char *heading,
			   const char *sql, const char *oid)
{
	PGresult *r = PQexecParams(s->conn, sql, 1, NULL, &oid, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
		fa_buf_printf(out, "%s:\n", heading);
		for (int i = 0; i < PQntuples(r); i++)
			fa_buf_printf(out, "    %s\n", PQgetvalue(r, i, 0));
	}
	PQclear(r);
}

static void table_footers(struct session *s, struct fa_buf *out, const char *oid)
{
	footer_section(s, out, "Indexes",
		"SELECT '\"' || c2.relname || '\"' || CASE WHEN i.indisprimary THEN "
		"' PRIMARY KEY,' WHEN con.contype = 'u' THEN ' UNIQUE CONSTRAINT,' "
		"WHEN i.indisunique THEN ' UNIQUE,' ELSE '' END || ' ' || "
		"pg_catalog.regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid, 0, true), "
		"'^.* USING ', '') || CASE WHEN NOT i.indisvalid THEN ' INVALID' ELSE '' END "
		"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c2 ON c2.oid = i.indexrelid "
		"LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid "
		"AND con.contype IN ('p','u','x') WHERE i.indrelid = $1 "
		"ORDER BY i.indisprimary DESC, c2.relname", oid);
	footer_section(s, out, "Check constraints",
		"SELECT '\"' || conname || '\" ' || "
		"pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint "
		"WHERE conrelid = $1 AND contype = 'c' ORDER BY conname", oid);
	footer_section(s, out, "Foreign-key constraints",
		"SELECT '\"' || conname || '\" ' || "
		"pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint "
		"WHERE conrelid = $1 AND contype = 'f' ORDER BY conname", oid);
	footer_section(s, out, "Referenced by",
		"SELECT 'TABLE \"' || conrelid::pg_catalog.regclass::text || "
		"'\" CONSTRAINT \"' || conname || '\" ' || "
		"pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint "
		"WHERE confrelid = $1 AND contype = 'f' ORDER BY conname", oid);
}

static const char columns_sql[] =
	"SELECT a.attname AS \"Column\", "
	"pg_catalog.format_type(a.atttypid, a.atttypmod) AS \"Type\", "
	"COALESCE((SELECT co.collname FROM pg_catalog.pg_collation co, pg_catalog.pg_type t "
	"WHERE co.oid = a.attcollation AND t.oid = a.atttypid "
	"AND a.attcollation <> t.typcollation), '') AS \"Collation\", "
	"CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS \"Nullable\", "
	"CASE WHEN a.attidentity = 'a' THEN 'generated always as identity' "
	"WHEN a.attidentity = 'd' THEN 'generated by default as identity' "
	"WHEN a.attgenerated = 's' THEN 'generated always as (' || "
	"pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) || ') stored' "
	"ELSE COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid, true), '') END AS \"Default\"";

static const char *kind_title(char k);

/* psql's \d lays out every column left-aligned: a number is shown as text. */
#define STATS_TARGET_SQL "CASE WHEN a.attstattarget = -1 THEN NULL " \
	"ELSE a.attstattarget::pg_catalog.text END AS \"Stats target\""

static const char storage_sql[] =
	", CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external' "
	"WHEN 'm' THEN 'main' WHEN 'x' THEN 'extended' END AS \"Storage\"";
static const char table_plus_sql[] =
	", CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' ELSE '' END "
	"AS \"Compression\", " STATS_TARGET_SQL;

/* The footers of \d+ : a view's definition, a table's access method. */
static void plus_footers(struct session *s, struct fa_buf *out, const char *oid, bool view)
{
	PGresult *r = PQexecParams(s->conn, view ?
		"SELECT pg_catalog.pg_get_viewdef($1::pg_catalog.oid, true)" :
		"SELECT am.amname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am am "
		"ON am.oid = c.relam WHERE c.oid = $1", 1, NULL, &oid, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		fa_buf_printf(out, "%s%s%s", out->len && out->data[out->len - 1] != '\n' ? "\n" : "",
			      view ? "View definition:\n" : "Access method: ", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static enum fa_err describe_columns(struct session *s, const char *oid, char kind,
				    const char *qualname, bool plus)
{
	bool table = kind == 'r' || kind == 'p' || kind == 'm';
	bool view = kind == 'v' || kind == 'm';
	struct fa_buf q, title, foot;
	enum fa_err rc;

	fa_buf_init(&q, 0);
	fa_buf_init(&title, 0);
	fa_buf_init(&foot, 0);
	fa_buf_puts(&q, columns_sql);
	if (plus)
		fa_buf_printf(&q, "%s%s, pg_catalog.col_description(a.attrelid, a.attnum) "
			      "AS \"Description\"", storage_sql, table ? table_plus_sql : "");
	fa_buf_puts(&q, " FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d "
		    "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
		    "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum");
	fa_buf_printf(&title, "%s \"%s\"", kind_title(kind), qualname);
	if (kind == 'r' || kind == 'p')
		table_footers(s, &foot, oid);
	if (plus && (view || kind == 'r'))
		plus_footers(s, &foot, oid, view);
	rc = meta_query(s, q.data, title.data, 1, &oid, NULL, foot.len ? foot.data : "");
	fa_buf_release(&q);
	fa_buf_release(&title);
	fa_buf_release(&foot);
	return rc;
}

static const char *kind_title(char k)
{
	switch (k) {
	case 'r': return "Table";
	case 'p': return "Partitioned table";
	case 'v': return "View";
	case 'm': return "Materialized view";
	case 'f': return "Foreign table";
	case 'i': case 'I': return "Index";
	case 'S': return "Sequence";
	default: return "Relation";
	}
}

/* Appends the one value sql yields for oid, if it yields one. */
static void footer_value(struct session *s, struct fa_buf *out, const char *sql, const char *oid)
{
	PGresult *r = PQexecParams(s->conn, sql, 1, NULL, &oid, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		fa_buf_puts(out, PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* psql: "primary key, btree, for table "s.t"" under an index. */
static void index_footer(struct session *s, struct fa_buf *out, const char *oid)
{
	footer_value(s, out,
		"SELECT CASE WHEN i.indisprimary THEN 'primary key, ' WHEN i.indisunique THEN "
		"'unique, ' ELSE '' END || am.amname || ', for table \"' || "
		"n.nspname || '.' || t.relname || '\"' || CASE WHEN i.indpred IS NOT NULL THEN "
		"', predicate (' || pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) || ')' "
		"ELSE '' END || CASE WHEN NOT i.indisvalid THEN ', invalid' ELSE '' END "
		"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
		"JOIN pg_catalog.pg_am am ON am.oid = c.relam "
		"JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE i.indexrelid = $1",
		oid);
}

/* psql: which column owns the sequence, if any. */
static void sequence_footer(struct session *s, struct fa_buf *out, const char *oid)
{
	footer_value(s, out,
		"SELECT CASE d.deptype WHEN 'i' THEN 'Sequence for identity column: ' "
		"ELSE 'Owned by: ' END || n.nspname || '.' || c.relname || '.' || a.attname "
		"FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.refobjid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid "
		"WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		"AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		"AND d.objid = $1 AND d.deptype IN ('a', 'i')", oid);
}

static enum fa_err describe_index_or_seq(struct session *s, const char *oid, char kind,
					 const char *qualname, bool plus)
{
	char title[600];
	struct fa_buf q, foot;
	enum fa_err rc;

	fa_buf_init(&q, 0);
	fa_buf_init(&foot, 0);
	if (kind == 'S') {
		fa_buf_puts(&q, "SELECT pg_catalog.format_type(seqtypid, NULL) AS \"Type\", "
			    "seqstart AS \"Start\", seqmin AS \"Minimum\", seqmax AS \"Maximum\", "
			    "seqincrement AS \"Increment\", CASE WHEN seqcycle THEN 'yes' ELSE 'no' END "
			    "AS \"Cycles?\", seqcache AS \"Cache\" "
			    "FROM pg_catalog.pg_sequence WHERE seqrelid = $1");
		sequence_footer(s, &foot, oid);
	} else {
		fa_buf_printf(&q, "SELECT a.attname AS \"Column\", "
			      "pg_catalog.format_type(a.atttypid, a.atttypmod) AS \"Type\", "
			      "'yes' AS \"Key?\", pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, true) "
			      "AS \"Definition\"%s%s FROM pg_catalog.pg_attribute a "
			      "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
			      "ORDER BY a.attnum", plus ? storage_sql : "",
			      plus ? ", " STATS_TARGET_SQL : "");
		index_footer(s, &foot, oid);
	}
	snprintf(title, sizeof(title), "%s \"%s\"", kind_title(kind), qualname);
	rc = meta_query(s, q.data, title, 1, &oid, NULL, foot.len ? foot.data : "");
	fa_buf_release(&q);
	fa_buf_release(&foot);
	return rc;
}

enum fa_err describe_object(struct session *s, const char *pat, bool plus, bool system)
{
	struct fa_buf q;
	char *params[2], empty[300];
	int n;
	PGresult *r;
	enum fa_err rc = FA_OK;

	fa_buf_init(&q, 0);
	fa_buf_puts(&q, "SELECT c.oid::text, c.relkind, n.nspname || '.' || c.relname "
		    "FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n "
		    "ON n.oid = c.relnamespace WHERE true");
	n = pattern_where(&q, pat, system, "c.relname", "n.nspname",
			  "pg_catalog.pg_table_is_visible(c.oid)", params);
	fa_buf_puts(&q, " ORDER BY 3");
	r = PQexecParams(s->conn, q.data, n, NULL, (const char *const *)params, NULL, NULL, 0);
	free(params[0]);
	free(params[1]);
	fa_buf_release(&q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		report_error(s, r, NULL, NULL);
		PQclear(r);
		return FA_EWORK;
	}
	if (PQntuples(r) == 0) {
		snprintf(empty, sizeof(empty), "Did not find any relation named \"%s\".", pat);
		fprintf(stderr, "%s\n", empty);
		PQclear(r);
		return FA_EWORK;
	}
	for (int i = 0; i < PQntuples(r) && rc == FA_OK; i++) {
		char k = PQgetvalue(r, i, 1)[0];

		if (k == 'i' || k == 'I' || k == 'S')
			rc = describe_index_or_seq(s, PQgetvalue(r, i, 0), k, PQgetvalue(r, i, 2),
						   plus);
		else
			rc = describe_columns(s, PQgetvalue(r, i, 0), k, PQgetvalue(r, i, 2), plus);
	}
	PQclear(r);
	return rc;
}
