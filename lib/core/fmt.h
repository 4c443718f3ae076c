/*
 * fmt: streaming writers for query results, in the output formats of
 * fa-pg (and later fa-serve): psql's aligned table (with \x expanded
 * mode), csv, tsv, json and ndjson.
 *
 * The writer knows nothing of libpq: it takes column names with type OIDs
 * as plain numbers, then rows of values as text (NULL pointer = SQL NULL),
 * and appends the formatted bytes to a caller's struct fa_buf.  It does no
 * I/O; the caller writes out->data out whenever it likes (say, when
 * out->len passes 64 KiB) and empties it with fa_buf_reset().
 *
 *	struct fa_fmt_opts o;
 *	struct fa_fmt f;
 *	fa_fmt_opts_init(&o);
 *	o.kind = FA_FMT_CSV;
 *	fa_fmt_init(&f, &o, &out);
 *	fa_fmt_begin(&f, ncols, cols);            once per result set
 *	for each row: fa_fmt_row(&f, vals, lens); then flush out if large
 *	fa_fmt_end(&f);
 *	... more result sets with the same f ...
 *	fa_fmt_release(&f);
 *
 * Formats, and where they follow psql byte for byte (psql 15, checked):
 *
 *  table   psql's default "aligned" format with border 1: centered headers,
 *          numeric types right-aligned, '+' marks on multi-line cells,
 *          control characters shown as psql shows them (\r, \xNN, tabs
 *          to 8 columns), invalid UTF-8 bytes dropped, "(N rows)" footer
 *          and a blank line, a centered title.  Display widths come from a
 *          built-in table of zero-width and wide code points measured from
 *          psql 15 (Unicode 14), not from the C library's locale.  The
 *          table needs every row to size its columns, so rows are buffered
 *          until fa_fmt_end(); with chunk_rows > 0 they are printed every
 *          chunk_rows rows, each chunk sized on its own and the header only
 *          above the first, exactly as psql does with FETCH_COUNT.
 *          expanded = 1 is psql's \x ("-[ RECORD 1 ]-+---"); expanded = 2
 *          is \x auto: expanded when the aligned table would be wider
 *          than term_width (never when term_width <= 0, like psql writing
 *          to a pipe) and there is more than one column; with chunks,
 *          decided per chunk, except that once a first chunk of
 *          chunk_rows rows fills up the whole result is expanded, as psql
 *          does with FETCH_COUNT.
 *  csv     psql --csv: header line, fields quoted when they contain the
 *          delimiter, a quote, CR or LF or are exactly "\.", quotes
 *          doubled, "\n" line ends, spaces never quoted, NULL written as
 *          null_str.  One deliberate difference: a non-NULL value equal to
 *          null_str is quoted, so with the default "" an empty string is
 *          written "" and stays distinct from NULL (COPY ... CSV's rule;
 *          psql --csv writes both as nothing).
 *  tsv     PostgreSQL COPY TO text format, so any value survives: tab
 *          separated, \b \f \n \r \t \v and backslash escaped with a
 *          backslash, NULL as \N (null_str is not used), plus a header
 *          line of column names escaped the same way when header is on.
 *          This is what COPY (...) TO STDOUT (HEADER) prints; psql -At
 *          prints values raw and cannot be read back.
 *  json    one array per result set: "[" rows separated by ",\n" "]\n",
 *          an empty result is "[]\n".  Each row is an object whose keys
 *          are the column names in order (duplicates kept).  Values are
 *          what to_json() gives: int2/4/8, float4/8 and numeric values are
 *          JSON numbers when they are valid JSON numbers (NaN and Infinity
 *          stay strings), bool t/f is true/false, json and jsonb go in
 *          raw, NULL is null, all else is a string (oid too, as to_json
 *          writes it) -- unless the column has a json writer of its own
 *          (struct fa_fmt_col), which lib/pg/pgrows gives to arrays,
 *          composites and timestamps.
 *  ndjson  the same objects, one per line, no array.
 *
 * csv, tsv, json and ndjson stream: nothing is kept between rows and a
 * row costs no allocation once the output buffer has grown.
 */
#ifndef FA_FMT_H
#define FA_FMT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_fmt_kind {
	FA_FMT_TABLE,
	FA_FMT_CSV,
	FA_FMT_TSV,
	FA_FMT_JSON,
	FA_FMT_NDJSON,
};

/* The PostgreSQL type OIDs the writers treat specially. */
enum fa_fmt_oid {
	FA_OID_BOOL = 16,
	FA_OID_BYTEA = 17,
	FA_OID_INT8 = 20,
	FA_OID_INT2 = 21,
	FA_OID_INT4 = 23,
	FA_OID_TEXT = 25,
	FA_OID_OID = 26,
	FA_OID_XID = 28,
	FA_OID_CID = 29,
	FA_OID_JSON = 114,
	FA_OID_FLOAT4 = 700,
	FA_OID_FLOAT8 = 701,
	FA_OID_MONEY = 790,
	FA_OID_NUMERIC = 1700,
	FA_OID_JSONB = 3802,
	FA_OID_XID8 = 5069,
};

struct fa_fmt_opts {
	enum fa_fmt_kind kind;
	int expanded;		/* table: 0 off, 1 on, 2 auto (psql \x) */
	bool header;		/* column names (and title); off is like psql -t */
	bool footer;		/* table: "(N rows)"; off is \pset footer off */
	const char *null_str;	/* table and csv text for NULL; NULL means "" */
	int term_width;		/* table, expanded auto: columns available */
	const char *title;	/* table: line above the header, or NULL */
	char csv_delim;		/* csv field separator; 0 means ',' */
	size_t chunk_rows;	/* table: print every chunk_rows rows; 0 = all */
	size_t mem_max;		/* table: cap on each buffer of held rows; 0 none */
};

/*
 * A result column: name (copied by fa_fmt_begin) and type OID.  For json
 * and ndjson, json (when not NULL) writes each non-NULL value of the
 * column in place of the rules above: lib/pg/pgrows sets it to write
 * arrays and composites as to_json() does (lib/pg/pgjson); json_type and
 * json_ctx are passed back to it and must outlive the result set.
 */
struct fa_fmt_col {
	const char *name;
	unsigned int type;
	enum fa_err (*json)(const void *json_type, void *json_ctx, struct fa_buf *out,
			    const char *s, size_t n);
	const void *json_type;
	void *json_ctx;
};

/*
 * A writer.  The caller owns the struct; only the first three members
 * are meant to be read (nrows counts the rows of the current result set).
 * The rest is private scratch storage, kept between result sets so that
 * reusing a writer does not allocate again.
 */
struct fa_fmt {
	struct fa_fmt_opts opt;
	struct fa_buf *out;
	unsigned long nrows;

	enum fa_err err;	/* first error of this result set, sticky */
	int ncols;
	bool active;		/* between begin and end */
	unsigned long printed;	/* table rows already printed in chunks */
	unsigned char csv_special[256];
	struct fa_buf cols;	/* per-column state (struct col in fmt.c) */
	struct fa_buf heads;	/* json keys, or table headers as displayed */
	struct fa_buf cells;	/* table: buffered cells (struct cell) */
	struct fa_buf text;	/* table: their bytes as displayed */
};

/* Fills o with the defaults: table, header and footer on, ',' for csv. */
void fa_fmt_opts_init(struct fa_fmt_opts *o);

/*
 * Sets up a writer that appends to out.  Copies *o (the strings it points
 * to must outlive the writer); out stays the caller's.
 */
void fa_fmt_init(struct fa_fmt *f, const struct fa_fmt_opts *o,
		 struct fa_buf *out);

/*
 * Starts a result set of ncols columns (0 is allowed, as psql allows
 * "SELECT;"); writes the csv or tsv header line.  Names are copied.
 */
enum fa_err fa_fmt_begin(struct fa_fmt *f, int ncols,
			 const struct fa_fmt_col *cols);

/*
 * Adds one row of ncols values; vals[i] == NULL is SQL NULL.  lens[i] is
 * the byte length of vals[i], or lens may be NULL for NUL-terminated
 * values.  The values are not kept after the call.  FA_ENOMEM when out or
 * the table's buffer (mem_max) is full; the error sticks until the next
 * fa_fmt_begin().
 */
enum fa_err fa_fmt_row(struct fa_fmt *f, const char *const *vals,
		       const int *lens);

/* Ends the result set: prints a buffered table, closes a json array. */
enum fa_err fa_fmt_end(struct fa_fmt *f);

/* Frees the writer's storage (not out). */
void fa_fmt_release(struct fa_fmt *f);

/*
 * The kind named by name: "table" or "aligned", "csv", "tsv", "json",
 * "ndjson"; -1 when unknown.
 */
int fa_fmt_kind_parse(const char *name);

/*
 * Display width of s[0..len) in terminal columns the way psql counts it,
 * for text with no control characters (what the table writer prints).
 */
int fa_fmt_width(const char *s, size_t len);

#endif
