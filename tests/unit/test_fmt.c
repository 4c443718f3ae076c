/*
 * Unit tests for lib/core/fmt.
 *
 * Every expected table and csv output below is what psql 15 printed for
 * the same values, copied byte for byte; the psql command is given above
 * it (run as `psql -X -c QUERY` against a PostgreSQL 15 server, output to
 * a pipe).  tsv expectations are COPY ... TO STDOUT (HEADER) output, and
 * ndjson ones row_to_json() output, for the same reason.
 *
 * The file includes fmt.c to reach its static helpers.
 */
#include "core/fmt.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* Prints s with control and non-ASCII bytes visible, for failure reports. */
static void show(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			fputs("\\n\n\t", stderr);
		else if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(stderr, "\\%03o", c);
		else
			fputc(c, stderr);
	}
	fputc('\n', stderr);
}

/* One check that got is exactly want; a failure shows both. */
static void check_text(const char *file, int line, const char *got,
		       const char *want)
{
	bool same = strcmp(got, want) == 0;

	check(file, line, same, "output differs");
	if (same)
		return;
	fprintf(stderr, "want:\n\t");
	show(want);
	fprintf(stderr, "got:\n\t");
	show(got);
}

#define CHECK_TEXT(got, want) check_text(__FILE__, __LINE__, got, want)

/* A result set as libpq would hand it over; NULL is SQL NULL. */
struct rs {
	int ncols;
	struct fa_fmt_col cols[20];
	int nrows;
	const char *v[16][20];
};

static struct fa_fmt_opts opts(enum fa_fmt_kind kind)
{
	struct fa_fmt_opts o;

	fa_fmt_opts_init(&o);
	o.kind = kind;
	return o;
}

/* Feeds one result set to an existing writer. */
static void feed(struct fa_fmt *f, const struct rs *r)
{
	int i;

	CHECK(fa_fmt_begin(f, r->ncols, r->cols) == FA_OK);
	for (i = 0; i < r->nrows; i++)
		CHECK(fa_fmt_row(f, r->v[i], NULL) == FA_OK);
	CHECK(fa_fmt_end(f) == FA_OK);
}

/* Formats r with o; the result lives until the next call. */
static const char *render(const struct fa_fmt_opts *o, const struct rs *r)
{
	static struct fa_buf out;
	struct fa_fmt f;

	fa_buf_release(&out);
	fa_buf_init(&out, 0);
	fa_fmt_init(&f, o, &out);
	feed(&f, r);
	fa_fmt_release(&f);
	return out.data ? out.data : "";
}

/*
 * psql -c "select null::text as n, ''::text as e, 'a,b' as c,
 *   E'l1\nline2' as nl, 42 as num, 'é日本' as u, 3.5::numeric as x"
 */
static const struct rs d1 = {
	7,
	{ { .name = "n", .type = FA_OID_TEXT }, { .name = "e", .type = FA_OID_TEXT }, { .name = "c", .type = FA_OID_TEXT },
	  { .name = "nl", .type = FA_OID_TEXT }, { .name = "num", .type = FA_OID_INT4 }, { .name = "u", .type = FA_OID_TEXT },
	  { .name = "x", .type = FA_OID_NUMERIC } },
	1,
	{ { NULL, "", "a,b", "l1\nline2", "42", "é日本", "3.5" } },
};

/* select repeat('x', g) as b, g * 1000 as a, 'z' as c
 *   from generate_series(1,5) g */
static const struct rs d5 = {
	3,
	{ { .name = "b", .type = FA_OID_TEXT }, { .name = "a", .type = FA_OID_INT4 }, { .name = "c", .type = FA_OID_TEXT } },
	5,
	{ { "x", "1000", "z" }, { "xx", "2000", "z" }, { "xxx", "3000", "z" },
	  { "xxxx", "4000", "z" }, { "xxxxx", "5000", "z" } },
};

/* select 1 as a, 'hello' as longername, null as n, '' as e,
 *   E'l1\nline2' as nl from generate_series(1,2) */
static const struct rs d6 = {
	5,
	{ { .name = "a", .type = FA_OID_INT4 }, { .name = "longername", .type = FA_OID_TEXT },
	  { .name = "n", .type = FA_OID_TEXT }, { .name = "e", .type = FA_OID_TEXT }, { .name = "nl", .type = FA_OID_TEXT } },
	2,
	{ { "1", "hello", NULL, "", "l1\nline2" },
	  { "1", "hello", NULL, "", "l1\nline2" } },
};

/* select g as a from generate_series(1,12) g */
static const struct rs d7 = {
	1,
	{ { .name = "a", .type = FA_OID_INT4 } },
	12,
	{ { "1" }, { "2" }, { "3" }, { "4" }, { "5" }, { "6" }, { "7" },
	  { "8" }, { "9" }, { "10" }, { "11" }, { "12" } },
};

/* "select" (one row, no columns) and "select where false" */
static const struct rs zero_cols = { 0, { { 0 } }, 1, { { NULL } } };
static const struct rs zero_cols_rows = { 0, { { 0 } }, 0, { { NULL } } };

/* select 1 as a, 'b' as b where false */
static const struct rs zero_rows = {
	2, { { .name = "a", .type = FA_OID_INT4 }, { .name = "b", .type = FA_OID_TEXT } }, 0, { { NULL } },
};

static void test_table_basic(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	/* psql -c "$D1" */
	CHECK_TEXT(render(&o, &d1),
		" n | e |  c  |  nl   | num |   u   |  x  \n"
		"---+---+-----+-------+-----+-------+-----\n"
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"(1 row)\n"
		"\n");

	/* psql -t -c "$D1" */
	o.header = o.footer = false;
	CHECK_TEXT(render(&o, &d1),
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"\n");

	/* psql -P footer=off -P null=NULL -c "$D1" */
	o.header = true;
	o.null_str = "NULL";
	CHECK_TEXT(render(&o, &d1),
		"  n   | e |  c  |  nl   | num |   u   |  x  \n"
		"------+---+-----+-------+-----+-------+-----\n"
		" NULL |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"      |   |     | line2 |     |       | \n"
		"\n");

	/* psql -P 'title=List of relations' -c "$D1" */
	o = opts(FA_FMT_TABLE);
	o.title = "List of relations";
	CHECK_TEXT(render(&o, &d1),
		"            List of relations\n"
		" n | e |  c  |  nl   | num |   u   |  x  \n"
		"---+---+-----+-------+-----+-------+-----\n"
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"(1 row)\n"
		"\n");

	/* psql -P 'title=A title that is longer ...' -c "$D1" */
	o.title = "A title that is longer than the table is wide, really long";
	CHECK_TEXT(render(&o, &d1),
		"A title that is longer than the table is wide, really long\n"
		" n | e |  c  |  nl   | num |   u   |  x  \n"
		"---+---+-----+-------+-----+-------+-----\n"
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"(1 row)\n"
		"\n");
}

static void test_table_types(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	/*
	 * psql -c "select 1::int2 as i2, 22::int8 as i8, 1.5::float4 as f4,
	 *   2.5::float8 as f8, 3::numeric as n, 4::oid as o, '5'::xid as x,
	 *   '6'::cid as c, 7::money as m, true as b, '{\"a\":1}'::json as j
	 *   union all select null,null,null,null,null,null,null,null,null,
	 *   null,null"
	 */
	static const struct rs r = {
		11,
		{ { .name = "i2", .type = FA_OID_INT2 }, { .name = "i8", .type = FA_OID_INT8 },
		  { .name = "f4", .type = FA_OID_FLOAT4 }, { .name = "f8", .type = FA_OID_FLOAT8 },
		  { .name = "n", .type = FA_OID_NUMERIC }, { .name = "o", .type = FA_OID_OID },
		  { .name = "x", .type = FA_OID_XID }, { .name = "c", .type = FA_OID_CID },
		  { .name = "m", .type = FA_OID_MONEY }, { .name = "b", .type = FA_OID_BOOL },
		  { .name = "j", .type = FA_OID_JSON } },
		2,
		{ { "1", "22", "1.5", "2.5", "3", "4", "5", "6", "$7.00", "t",
		    "{\"a\":1}" },
		  { NULL } },
	};

	CHECK_TEXT(render(&o, &r),
		" i2 | i8 | f4  | f8  | n | o | x | c |   m   | b |    j    \n"
		"----+----+-----+-----+---+---+---+---+-------+---+---------\n"
		"  1 | 22 | 1.5 | 2.5 | 3 | 4 | 5 | 6 | $7.00 | t | {\"a\":1}\n"
		"    |    |     |     |   |   |   |   |       |   | \n"
		"(2 rows)\n"
		"\n");
}

static void test_table_controls(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	/* select E'a\tb' as t, E'x\x01y\x7f' as c, E'\u0085z' as c1,
	 *   E'ab\tc\td' as t2, E'cr\r\n' as cr */
	static const struct rs r = {
		5,
		{ { .name = "t", .type = FA_OID_TEXT }, { .name = "c", .type = FA_OID_TEXT },
		  { .name = "c1", .type = FA_OID_TEXT }, { .name = "t2", .type = FA_OID_TEXT },
		  { .name = "cr", .type = FA_OID_TEXT } },
		1,
		{ { "a\tb", "x\001y\177", "\302\205z", "ab\tc\td", "cr\r\n" } },
	};

	/* psql -c "$above" */
	CHECK_TEXT(render(&o, &r),
		"     t     |     c      |   c1    |        t2         |  cr  \n"
		"-----------+------------+---------+-------------------+------\n"
		" a       b | x\\x01y\\x7F | \\u0085z | ab      c       d | cr\\r+\n"
		"           |            |         |                   | \n"
		"(1 row)\n"
		"\n");

	/* psql -x -c "$above" */
	o.expanded = 1;
	CHECK_TEXT(render(&o, &r),
		"-[ RECORD 1 ]---------\n"
		"t  | a       b\n"
		"c  | x\\x01y\\x7F\n"
		"c1 | \\u0085z\n"
		"t2 | ab      c       d\n"
		"cr | cr\\r             +\n"
		"   | \n"
		"\n");
}

static void test_table_multiline_header(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	/* select 1 as "multi<newline>line", 'v' as b, E'a\nb\nc' as c */
	static const struct rs r = {
		3,
		{ { .name = "multi\nline", .type = FA_OID_INT4 }, { .name = "b", .type = FA_OID_TEXT },
		  { .name = "c", .type = FA_OID_TEXT } },
		1,
		{ { "1", "v", "a\nb\nc" } },
	};

	CHECK_TEXT(render(&o, &r),
		" multi+| b | c \n"
		" line  |   |   \n"
		"-------+---+---\n"
		"     1 | v | a+\n"
		"       |   | b+\n"
		"       |   | c\n"
		"(1 row)\n"
		"\n");

	/* psql -x */
	o.expanded = 1;
	CHECK_TEXT(render(&o, &r),
		"-[ RECORD 1 ]\n"
		"multi+| 1\n"
		"line  |\n"
		"b     | v\n"
		"c     | a+\n"
		"      | b+\n"
		"      | c\n"
		"\n");
}

static void test_table_zero(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	/* psql -c "select" */
	CHECK_TEXT(render(&o, &zero_cols), "--\n(1 row)\n\n");
	/* psql -c "select where false" */
	CHECK_TEXT(render(&o, &zero_cols_rows), "--\n(0 rows)\n\n");
	/* psql -c "select 1 as a, 'b' as b where false" */
	CHECK_TEXT(render(&o, &zero_rows),
		" a | b \n"
		"---+---\n"
		"(0 rows)\n"
		"\n");

	/* psql -x -c "select"; psql -x -c "select 1 as a, 'b' as b where false" */
	o.expanded = 1;
	CHECK_TEXT(render(&o, &zero_cols), "(1 row)\n\n");
	CHECK_TEXT(render(&o, &zero_rows), "(0 rows)\n\n");
}

static void test_expanded(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	o.expanded = 1;
	/* psql -x -c "$D1" */
	CHECK_TEXT(render(&o, &d1),
		"-[ RECORD 1 ]\n"
		"n   | \n"
		"e   | \n"
		"c   | a,b\n"
		"nl  | l1   +\n"
		"    | line2\n"
		"num | 42\n"
		"u   | é日本\n"
		"x   | 3.5\n"
		"\n");

	/* psql -x -c "$D6" */
	CHECK_TEXT(render(&o, &d6),
		"-[ RECORD 1 ]-----\n"
		"a          | 1\n"
		"longername | hello\n"
		"n          | \n"
		"e          | \n"
		"nl         | l1   +\n"
		"           | line2\n"
		"-[ RECORD 2 ]-----\n"
		"a          | 1\n"
		"longername | hello\n"
		"n          | \n"
		"e          | \n"
		"nl         | l1   +\n"
		"           | line2\n"
		"\n");

	/* psql -x -t -c "$D6" */
	o.header = o.footer = false;
	CHECK_TEXT(render(&o, &d6),
		"a          | 1\n"
		"longername | hello\n"
		"n          | \n"
		"e          | \n"
		"nl         | l1   +\n"
		"           | line2\n"
		"-----------+------\n"
		"a          | 1\n"
		"longername | hello\n"
		"n          | \n"
		"e          | \n"
		"nl         | l1   +\n"
		"           | line2\n"
		"\n");

	/* psql -x -c "select g as a from generate_series(1,12) g" */
	o = opts(FA_FMT_TABLE);
	o.expanded = 1;
	CHECK_TEXT(render(&o, &d7),
		"-[ RECORD 1 ]\na | 1\n-[ RECORD 2 ]\na | 2\n"
		"-[ RECORD 3 ]\na | 3\n-[ RECORD 4 ]\na | 4\n"
		"-[ RECORD 5 ]\na | 5\n-[ RECORD 6 ]\na | 6\n"
		"-[ RECORD 7 ]\na | 7\n-[ RECORD 8 ]\na | 8\n"
		"-[ RECORD 9 ]\na | 9\n-[ RECORD 10 ]\na | 10\n"
		"-[ RECORD 11 ]\na | 11\n-[ RECORD 12 ]\na | 12\n"
		"\n");
}

/* The five records of d5 in expanded form, as psql prints them. */
#define D5_EXPANDED \
	"-[ RECORD 1 ]\nb | x\na | 1000\nc | z\n" \
	"-[ RECORD 2 ]\nb | xx\na | 2000\nc | z\n" \
	"-[ RECORD 3 ]\nb | xxx\na | 3000\nc | z\n" \
	"-[ RECORD 4 ]\nb | xxxx\na | 4000\nc | z\n" \
	"-[ RECORD 5 ]\nb | xxxxx\na | 5000\nc | z\n" \
	"\n"

#define D5_ALIGNED \
	"   b   |  a   | c \n" \
	"-------+------+---\n" \
	" x     | 1000 | z\n" \
	" xx    | 2000 | z\n" \
	" xxx   | 3000 | z\n" \
	" xxxx  | 4000 | z\n" \
	" xxxxx | 5000 | z\n" \
	"(5 rows)\n" \
	"\n"

static void test_expanded_auto(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	/* select 'abcdefghij' as b */
	static const struct rs one = {
		1, { { .name = "b", .type = FA_OID_TEXT } }, 1, { { "abcdefghij" } },
	};

	o.expanded = 2;
	/* psql -P expanded=auto -P columns=20 -c "$D5": 18 wide, fits */
	o.term_width = 20;
	CHECK_TEXT(render(&o, &d5), D5_ALIGNED);
	/* psql -P expanded=auto -P columns=16 -c "$D5" */
	o.term_width = 16;
	CHECK_TEXT(render(&o, &d5), D5_EXPANDED);
	/* no width known (psql writing to a pipe): never expanded */
	o.term_width = 0;
	CHECK_TEXT(render(&o, &d5), D5_ALIGNED);
	/* psql -P expanded=auto -P columns=5 -c "select 'abcdefghij' as b" */
	o.term_width = 5;
	CHECK_TEXT(render(&o, &one),
		"     b      \n"
		"------------\n"
		" abcdefghij\n"
		"(1 row)\n"
		"\n");
}

static void test_chunks(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	/* psql -v FETCH_COUNT=2 -c "$D5": each chunk sized on its own */
	o.chunk_rows = 2;
	CHECK_TEXT(render(&o, &d5),
		" b  |  a   | c \n"
		"----+------+---\n"
		" x  | 1000 | z\n"
		" xx | 2000 | z\n"
		" xxx  | 3000 | z\n"
		" xxxx | 4000 | z\n"
		" xxxxx | 5000 | z\n"
		"(5 rows)\n"
		"\n");

	/* psql -v FETCH_COUNT=2 -t -c "$D5" */
	o.header = o.footer = false;
	CHECK_TEXT(render(&o, &d5),
		" x  | 1000 | z\n"
		" xx | 2000 | z\n"
		" xxx  | 3000 | z\n"
		" xxxx | 4000 | z\n"
		" xxxxx | 5000 | z\n"
		"\n");

	/* psql -v FETCH_COUNT=2 -x -t -c "$D5" */
	o.expanded = 1;
	CHECK_TEXT(render(&o, &d5),
		"b | x\na | 1000\nc | z\n--+-----\n"
		"b | xx\na | 2000\nc | z\n--+-----\n"
		"b | xxx\na | 3000\nc | z\n--+-----\n"
		"b | xxxx\na | 4000\nc | z\n--+------\n"
		"b | xxxxx\na | 5000\nc | z\n"
		"\n");

	/* psql -v FETCH_COUNT=2 -x -c "$D5" */
	o.header = o.footer = true;
	CHECK_TEXT(render(&o, &d5), D5_EXPANDED);

	/* psql -v FETCH_COUNT=2 -P expanded=auto -P columns=200 -c "$D5":
	 * more than one chunk forces expanded, however wide the terminal */
	o.expanded = 2;
	o.term_width = 200;
	CHECK_TEXT(render(&o, &d5), D5_EXPANDED);
	/* psql -v FETCH_COUNT=10 -P expanded=auto -P columns=200 -c "$D5" */
	o.chunk_rows = 10;
	CHECK_TEXT(render(&o, &d5), D5_ALIGNED);

	/* psql -v FETCH_COUNT=5 -c "select g as a from generate_series(1,12) g" */
	o = opts(FA_FMT_TABLE);
	o.chunk_rows = 5;
	CHECK_TEXT(render(&o, &d7),
		" a \n---\n 1\n 2\n 3\n 4\n 5\n"
		"  6\n  7\n  8\n  9\n 10\n"
		" 11\n 12\n"
		"(12 rows)\n"
		"\n");
}

/* The writer prints each chunk as soon as it is full, so memory stays put. */
static void test_chunks_stream(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	struct fa_buf out;
	struct fa_fmt f;
	const char *row[1] = { "x" };
	size_t before;
	int i;

	o.chunk_rows = 100;
	fa_buf_init(&out, 0);
	fa_fmt_init(&f, &o, &out);
	CHECK(fa_fmt_begin(&f, 1, d5.cols) == FA_OK);
	for (i = 0; i < 99; i++)
		CHECK(fa_fmt_row(&f, row, NULL) == FA_OK);
	before = out.len;
	CHECK(before == 0);
	CHECK(fa_fmt_row(&f, row, NULL) == FA_OK);
	CHECK(out.len > before);
	CHECK(f.cells.len == 0 && f.text.len == 0);
	CHECK(fa_fmt_end(&f) == FA_OK);
	CHECK(strstr(out.data, "(100 rows)\n\n") != NULL);
	fa_fmt_release(&f);
	fa_buf_release(&out);
}

/* One writer, several result sets, as for a script of statements. */
static void test_reuse(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);
	struct fa_buf out;
	struct fa_fmt f;

	fa_buf_init(&out, 0);
	fa_fmt_init(&f, &o, &out);
	feed(&f, &zero_rows);
	feed(&f, &zero_cols);
	feed(&f, &zero_rows);
	/* psql -c "select 1 as a, 'b' as b where false" -c "select" -c ... */
	CHECK_TEXT(out.data,
		" a | b \n---+---\n(0 rows)\n\n"
		"--\n(1 row)\n\n"
		" a | b \n---+---\n(0 rows)\n\n");
	fa_fmt_release(&f);
	fa_buf_release(&out);
}

static void test_width(void)
{
	CHECK(fa_fmt_width("abc", 3) == 3);
	CHECK(fa_fmt_width("é", strlen("é")) == 1);
	CHECK(fa_fmt_width("日本", strlen("日本")) == 4);
	CHECK(fa_fmt_width("e\xcc\x81", 3) == 1);	/* e + U+0301 */
	CHECK(fa_fmt_width("\xe2\x80\x8b", 3) == 1);	/* U+200B, as psql */
	CHECK(fa_fmt_width("\xd9\x8b", 2) == 0);	/* U+064B arabic mark */
	CHECK(fa_fmt_width("\xf0\x9f\x98\x80", 4) == 2);	/* U+1F600 */
	CHECK(fa_fmt_width("\xed\x95\x9c", 3) == 2);	/* U+D55C hangul */
	CHECK(ucs_width(0xa0) == 1 && ucs_width(0x1100) == 2 &&
	      ucs_width(0x115f) == 2 && ucs_width(0x1160) == 1 &&
	      ucs_width(0x3fffd) == 2 && ucs_width(0x10ffff) == 1);
}

static void test_csv(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_CSV);
	/* select '\.' as d, 'q"x' as q, ' sp ' as s, E'cr\r' as cr,
	 *   E'lf\nx' as lf, 'a,b' as "c,d", 'é日本' as "q""h" */
	static const struct rs q = {
		7,
		{ { .name = "d", .type = FA_OID_TEXT }, { .name = "q", .type = FA_OID_TEXT },
		  { .name = "s", .type = FA_OID_TEXT }, { .name = "cr", .type = FA_OID_TEXT },
		  { .name = "lf", .type = FA_OID_TEXT }, { .name = "c,d", .type = FA_OID_TEXT },
		  { .name = "q\"h", .type = FA_OID_TEXT } },
		1,
		{ { "\\.", "q\"x", " sp ", "cr\r", "lf\nx", "a,b", "é日本" } },
	};
	/* select 'a;b' as x, 'a,b' as y, null as z */
	static const struct rs semi = {
		3,
		{ { .name = "x", .type = FA_OID_TEXT }, { .name = "y", .type = FA_OID_TEXT },
		  { .name = "z", .type = FA_OID_TEXT } },
		1,
		{ { "a;b", "a,b", NULL } },
	};

	/*
	 * psql --csv -c "$D1" prints ",,\"a,b\",..." here: it writes NULL and
	 * the empty string alike.  fa keeps them apart the way
	 * psql -c "copy (select null::text as n, ''::text as e, 'a,b' as c)
	 *   to stdout (format csv, header)" does: ",\"\",\"a,b\"".
	 */
	CHECK_TEXT(render(&o, &d1),
		"n,e,c,nl,num,u,x\n"
		",\"\",\"a,b\",\"l1\n"
		"line2\",42,é日本,3.5\n");

	/* psql --csv -c "$above" */
	CHECK_TEXT(render(&o, &q),
		"d,q,s,cr,lf,\"c,d\",\"q\"\"h\"\n"
		"\"\\.\",\"q\"\"x\", sp ,\"cr\r\",\"lf\n"
		"x\",\"a,b\",é日本\n");

	/* psql --csv -c "select 1 as a, 'b' as b where false"; "select" */
	CHECK_TEXT(render(&o, &zero_rows), "a,b\n");
	CHECK_TEXT(render(&o, &zero_cols), "\n");

	/* psql --csv -t -c "$above" */
	o.header = false;
	CHECK_TEXT(render(&o, &q),
		"\"\\.\",\"q\"\"x\", sp ,\"cr\r\",\"lf\n"
		"x\",\"a,b\",é日本\n");
	CHECK_TEXT(render(&o, &zero_cols), "");

	/* psql --csv -P csv_fieldsep=';' -c "$above" */
	o = opts(FA_FMT_CSV);
	o.csv_delim = ';';
	CHECK_TEXT(render(&o, &semi), "x;y;z\n\"a;b\";a,b;\n");

	/* psql --csv -P null=NULL -c "select null as n, 'x' as v"; a
	 * value spelled like null_str is quoted (COPY's rule again) */
	o = opts(FA_FMT_CSV);
	o.null_str = "NULL";
	{
		static const struct rs r = {
			2, { { .name = "n", .type = FA_OID_TEXT }, { .name = "v", .type = FA_OID_TEXT } },
			2, { { NULL, "x" }, { "NULL", "" } },
		};

		CHECK_TEXT(render(&o, &r), "n,v\nNULL,x\n\"NULL\",\n");
	}
}

static void test_tsv(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TSV);
	/* psql -c "copy (select E'a\tb\nc\\\\d\re' as \"x\\ty\", null as n,
	 *   ''::text as e, E'\x01\x08\x0b\x0c' as ctl, 'é日本' as u)
	 *   to stdout (header)" */
	static const struct rs r = {
		5,
		{ { .name = "x\\ty", .type = FA_OID_TEXT }, { .name = "n", .type = FA_OID_TEXT },
		  { .name = "e", .type = FA_OID_TEXT }, { .name = "ctl", .type = FA_OID_TEXT },
		  { .name = "u", .type = FA_OID_TEXT } },
		1,
		{ { "a\tb\nc\\d\re", NULL, "", "\001\b\v\f", "é日本" } },
	};
	/* copy (select from generate_series(1,2)) to stdout (header) */
	static const struct rs z = { 0, { { 0 } }, 2, { { NULL } } };

	CHECK_TEXT(render(&o, &r),
		"x\\\\ty\tn\te\tctl\tu\n"
		"a\\tb\\nc\\\\d\\re\t\\N\t\t\001\\b\\v\\f\té日本\n");
	CHECK_TEXT(render(&o, &z), "\n\n\n");
	o.header = false;
	CHECK_TEXT(render(&o, &z), "\n\n");
}

/*
 * psql -At -c "select row_to_json(t) from (select 1::int2 as i2,
 *   -22::int8 as i8, 1.5::float4 as f4, '-2.5e-10'::float8 as f8,
 *   3.25::numeric as n, 4::oid as o, 'NaN'::numeric as nan,
 *   'Infinity'::float8 as inf, '-Infinity'::numeric as ninf, '5'::xid as x,
 *   7::money as m, true as b, false as bf, '{\"a\": [1, 2]}'::json as j,
 *   '{\"b\":1}'::jsonb as jb, null::int as nul,
 *   E'q\"\\\\\n\t\x01é日本' as s, '' as e, 1 as i2) t"
 * (PostgreSQL 15 writes oid as a string; fa writes it as a number.)
 */
static const struct rs jtypes = {
	19,
	{ { .name = "i2", .type = FA_OID_INT2 }, { .name = "i8", .type = FA_OID_INT8 }, { .name = "f4", .type = FA_OID_FLOAT4 },
	  { .name = "f8", .type = FA_OID_FLOAT8 }, { .name = "n", .type = FA_OID_NUMERIC }, { .name = "o", .type = FA_OID_OID },
	  { .name = "nan", .type = FA_OID_NUMERIC }, { .name = "inf", .type = FA_OID_FLOAT8 },
	  { .name = "ninf", .type = FA_OID_NUMERIC }, { .name = "x", .type = FA_OID_XID },
	  { .name = "m", .type = FA_OID_MONEY }, { .name = "b", .type = FA_OID_BOOL }, { .name = "bf", .type = FA_OID_BOOL },
	  { .name = "j", .type = FA_OID_JSON }, { .name = "jb", .type = FA_OID_JSONB }, { .name = "nul", .type = FA_OID_INT4 },
	  { .name = "s", .type = FA_OID_TEXT }, { .name = "e", .type = FA_OID_TEXT }, { .name = "i2", .type = FA_OID_INT4 } },
	1,
	{ { "1", "-22", "1.5", "-2.5e-10", "3.25", "4", "NaN", "Infinity",
	    "-Infinity", "5", "$7.00", "t", "f", "{\"a\": [1, 2]}",
	    "{\"b\": 1}", NULL, "q\"\\\n\t\001é日本", "", "1" } },
};

#define JTYPES_OBJECT \
	"{\"i2\":1,\"i8\":-22,\"f4\":1.5,\"f8\":-2.5e-10,\"n\":3.25,\"o\":\"4\"," \
	"\"nan\":\"NaN\",\"inf\":\"Infinity\",\"ninf\":\"-Infinity\"," \
	"\"x\":\"5\",\"m\":\"$7.00\",\"b\":true,\"bf\":false," \
	"\"j\":{\"a\": [1, 2]},\"jb\":{\"b\": 1},\"nul\":null," \
	"\"s\":\"q\\\"\\\\\\n\\t\\u0001é日本\",\"e\":\"\",\"i2\":1}"

static void test_json(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_NDJSON);
	/* values that are not JSON numbers or booleans stay strings */
	static const struct rs odd = {
		4,
		{ { .name = "i", .type = FA_OID_INT4 }, { .name = "f", .type = FA_OID_FLOAT8 },
		  { .name = "b", .type = FA_OID_BOOL }, { .name = "j", .type = FA_OID_JSON } },
		2,
		{ { "+1", "1.", "true", "" }, { "01", "-0", "f", "null" } },
	};
	static const struct rs bad = {
		1, { { .name = "k\xff", .type = FA_OID_TEXT } }, 1, { { "a\xc3(\xe6\x97" } },
	};
	struct rs two = jtypes;

	CHECK_TEXT(render(&o, &jtypes), JTYPES_OBJECT "\n");
	CHECK_TEXT(render(&o, &zero_rows), "");
	CHECK_TEXT(render(&o, &zero_cols), "{}\n");
	CHECK_TEXT(render(&o, &odd),
		"{\"i\":\"+1\",\"f\":\"1.\",\"b\":\"true\",\"j\":\"\"}\n"
		"{\"i\":\"01\",\"f\":-0,\"b\":false,\"j\":null}\n");
	/* invalid UTF-8 becomes U+FFFD, one per byte, in keys and values */
	CHECK_TEXT(render(&o, &bad),
		"{\"k\\ufffd\":\"a\\ufffd(\\ufffd\\ufffd\"}\n");

	o.kind = FA_FMT_JSON;
	CHECK_TEXT(render(&o, &jtypes), "[" JTYPES_OBJECT "]\n");
	two.nrows = 2;
	memcpy(two.v[1], jtypes.v[0], sizeof(two.v[1]));
	CHECK_TEXT(render(&o, &two),
		"[" JTYPES_OBJECT ",\n" JTYPES_OBJECT "]\n");
	CHECK_TEXT(render(&o, &zero_rows), "[]\n");
	CHECK_TEXT(render(&o, &zero_cols), "[{}]\n");
}

/* Values are taken by length, not up to a NUL. */
static void test_lengths(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_CSV);
	struct fa_buf out;
	struct fa_fmt f;
	const char *vals[2] = { "abcdef", "x,y" };
	int lens[2] = { 3, 1 };

	fa_buf_init(&out, 0);
	fa_fmt_init(&f, &o, &out);
	CHECK(fa_fmt_begin(&f, 2, d5.cols) == FA_OK);
	CHECK(fa_fmt_row(&f, vals, lens) == FA_OK);
	CHECK(fa_fmt_end(&f) == FA_OK);
	CHECK_TEXT(out.data, "b,a\nabc,x\n");
	fa_fmt_release(&f);
	fa_buf_release(&out);
}

static void test_errors(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_CSV);
	struct fa_buf out;
	struct fa_fmt f;
	const char *big[1] = { "0123456789012345678901234567890123456789" };

	fa_buf_init(&out, 16);
	fa_fmt_init(&f, &o, &out);
	CHECK(fa_fmt_row(&f, big, NULL) == FA_EUSAGE);	/* before begin */
	CHECK(fa_fmt_begin(&f, 1, d5.cols) == FA_OK);
	CHECK(fa_fmt_row(&f, big, NULL) == FA_ENOMEM);	/* out is full */
	fa_buf_reset(&out);
	CHECK(fa_fmt_row(&f, big, NULL) == FA_ENOMEM);	/* and it sticks */
	CHECK(fa_fmt_end(&f) == FA_ENOMEM);
	CHECK(fa_fmt_end(&f) == FA_EUSAGE);
	CHECK(fa_fmt_begin(&f, 1, d5.cols) == FA_OK);	/* until begin */
	CHECK(fa_fmt_end(&f) == FA_OK);
	fa_fmt_release(&f);
	fa_buf_release(&out);

	/* the table writer's own buffer has a cap too */
	o = opts(FA_FMT_TABLE);
	o.mem_max = 32;
	fa_buf_init(&out, 0);
	fa_fmt_init(&f, &o, &out);
	CHECK(fa_fmt_begin(&f, 1, d5.cols) == FA_OK);
	CHECK(fa_fmt_row(&f, big, NULL) == FA_ENOMEM);
	CHECK(fa_fmt_end(&f) == FA_ENOMEM);
	fa_fmt_release(&f);
	fa_buf_release(&out);

	CHECK(fa_fmt_kind_parse("table") == FA_FMT_TABLE);
	CHECK(fa_fmt_kind_parse("aligned") == FA_FMT_TABLE);
	CHECK(fa_fmt_kind_parse("csv") == FA_FMT_CSV);
	CHECK(fa_fmt_kind_parse("tsv") == FA_FMT_TSV);
	CHECK(fa_fmt_kind_parse("json") == FA_FMT_JSON);
	CHECK(fa_fmt_kind_parse("ndjson") == FA_FMT_NDJSON);
	CHECK(fa_fmt_kind_parse("xml") == -1);
}

/*
 * Round trips: random values through csv and tsv, read back with a
 * reader for each (RFC 4180 with unquoted-empty = NULL; COPY text), must
 * come back the same, NULLs included.
 */
#define RT_COLS 4
#define RT_ROWS 200

static char rt_vals[RT_ROWS][RT_COLS][16];
static const char *rt_ptrs[RT_ROWS][RT_COLS];

static void rt_fill(void)
{
	static const char *atoms[] = {
		"a", ",", "\"", "\n", "\r", "\t", "\\", " ", ".", "é", "N", "\b",
	};
	int r, c, k, n;

	for (r = 0; r < RT_ROWS; r++) {
		for (c = 0; c < RT_COLS; c++) {
			rt_vals[r][c][0] = '\0';
			n = rand() % 6;
			for (k = 0; k < n; k++)
				strcat(rt_vals[r][c], atoms[rand() % 12]);
			if (rand() % 5 == 0 && n == 2)
				strcpy(rt_vals[r][c], "\\.");
			rt_ptrs[r][c] = rand() % 7 == 0 ? NULL : rt_vals[r][c];
		}
	}
}

/* Reads one csv field at *p into dst; false for NULL (unquoted, empty). */
static bool csv_read(const char **p, char *dst)
{
	const char *s = *p;
	char *start = dst;
	bool quoted = *s == '"';

	if (quoted) {
		for (s++; !(s[0] == '"' && s[1] != '"'); s++) {
			if (s[0] == '"')	/* a doubled quote */
				s++;
			*dst++ = *s;
		}
		s++;			/* the closing quote */
	} else {
		while (*s != ',' && *s != '\n')
			*dst++ = *s++;
	}
	*dst = '\0';
	*p = s + 1;			/* past ',' or newline */
	return quoted || dst != start;
}

static bool tsv_read(const char **p, char *dst)
{
	static const char from[] = "bfnrtv\\", to[] = "\b\f\n\r\t\v\\";
	const char *s = *p;

	if (s[0] == '\\' && s[1] == 'N') {
		*p = s + 3;
		return false;
	}
	for (; *s != '\t' && *s != '\n'; s++) {
		if (*s == '\\') {
			s++;
			*dst++ = to[strchr(from, *s) - from];
		} else {
			*dst++ = *s;
		}
	}
	*dst = '\0';
	*p = s + 1;
	return true;
}

static void test_round_trip(enum fa_fmt_kind kind)
{
	struct fa_fmt_opts o = opts(kind);
	static const struct fa_fmt_col cols[RT_COLS] = {
		{ .name = "a", .type = FA_OID_TEXT }, { .name = "b", .type = FA_OID_TEXT },
		{ .name = "c", .type = FA_OID_TEXT }, { .name = "d", .type = FA_OID_TEXT },
	};
	char field[128];
	struct fa_buf out;
	struct fa_fmt f;
	const char *p;
	bool notnull;
	int r, c, bad = 0;

	o.header = false;
	fa_buf_init(&out, 0);
	fa_fmt_init(&f, &o, &out);
	CHECK(fa_fmt_begin(&f, RT_COLS, cols) == FA_OK);
	for (r = 0; r < RT_ROWS; r++)
		CHECK(fa_fmt_row(&f, rt_ptrs[r], NULL) == FA_OK);
	CHECK(fa_fmt_end(&f) == FA_OK);
	p = out.data;
	for (r = 0; r < RT_ROWS; r++) {
		for (c = 0; c < RT_COLS; c++) {
			notnull = kind == FA_FMT_CSV ? csv_read(&p, field) :
				  tsv_read(&p, field);
			if (notnull != (rt_ptrs[r][c] != NULL) ||
			    (notnull && strcmp(field, rt_ptrs[r][c]) != 0))
				bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(*p == '\0');
	fa_fmt_release(&f);
	fa_buf_release(&out);
}

int main(int argc, char **argv)
{
	unsigned int seed = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10)
				     : (unsigned int)time(NULL);

	printf("test_fmt: seed %u\n", seed);
	srand(seed);
	test_table_basic();
	test_table_types();
	test_table_controls();
	test_table_multiline_header();
	test_table_zero();
	test_expanded();
	test_expanded_auto();
	test_chunks();
	test_chunks_stream();
	test_reuse();
	test_width();
	test_csv();
	test_tsv();
	test_json();
	test_lengths();
	test_errors();
	rt_fill();
	test_round_trip(FA_FMT_CSV);
	test_round_trip(FA_FMT_TSV);
	return check_report("test_fmt");
}
