/*
 * Unit tests for lib/fmt.
 *
 * Every expected table and csv output below is what psql 15 printed for
 * the same values, copied byte for byte; the psql command is given above
 * it (run as `psql -X -c QUERY` against a PostgreSQL 15 server, output to
 * a pipe).  tsv expectations are COPY ... TO STDOUT (HEADER) output, and
 * ndjson ones row_to_json() output, for the same reason.
 *
 * The file includes fmt.c to reach its static helpers.
 */
#include "fmt.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int checks, failures;

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

static void expect_str(const char *file, int line, const char *got,
		       const char *want)
{
	checks++;
	if (strcmp(got, want) == 0)
		return;
	failures++;
	fprintf(stderr, "FAIL %s:%d output differs\nwant:\n\t", file, line);
	show(want);
	fprintf(stderr, "got:\n\t");
	show(got);
}

static void expect(const char *file, int line, int ok, const char *what)
{
	checks++;
	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL %s:%d %s\n", file, line, what);
}

#define EXPECT_STR(got, want) expect_str(__FILE__, __LINE__, got, want)
#define EXPECT(cond) expect(__FILE__, __LINE__, (cond), #cond)

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

	EXPECT(fa_fmt_begin(f, r->ncols, r->cols) == FA_OK);
	for (i = 0; i < r->nrows; i++)
		EXPECT(fa_fmt_row(f, r->v[i], NULL) == FA_OK);
	EXPECT(fa_fmt_end(f) == FA_OK);
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
	{ { "n", FA_OID_TEXT }, { "e", FA_OID_TEXT }, { "c", FA_OID_TEXT },
	  { "nl", FA_OID_TEXT }, { "num", FA_OID_INT4 }, { "u", FA_OID_TEXT },
	  { "x", FA_OID_NUMERIC } },
	1,
	{ { NULL, "", "a,b", "l1\nline2", "42", "é日本", "3.5" } },
};

/* select repeat('x', g) as b, g * 1000 as a, 'z' as c
 *   from generate_series(1,5) g */
static const struct rs d5 = {
	3,
	{ { "b", FA_OID_TEXT }, { "a", FA_OID_INT4 }, { "c", FA_OID_TEXT } },
	5,
	{ { "x", "1000", "z" }, { "xx", "2000", "z" }, { "xxx", "3000", "z" },
	  { "xxxx", "4000", "z" }, { "xxxxx", "5000", "z" } },
};

/* select 1 as a, 'hello' as longername, null as n, '' as e,
 *   E'l1\nline2' as nl from generate_series(1,2) */
static const struct rs d6 = {
	5,
	{ { "a", FA_OID_INT4 }, { "longername", FA_OID_TEXT },
	  { "n", FA_OID_TEXT }, { "e", FA_OID_TEXT }, { "nl", FA_OID_TEXT } },
	2,
	{ { "1", "hello", NULL, "", "l1\nline2" },
	  { "1", "hello", NULL, "", "l1\nline2" } },
};

/* select g as a from generate_series(1,12) g */
static const struct rs d7 = {
	1,
	{ { "a", FA_OID_INT4 } },
	12,
	{ { "1" }, { "2" }, { "3" }, { "4" }, { "5" }, { "6" }, { "7" },
	  { "8" }, { "9" }, { "10" }, { "11" }, { "12" } },
};

/* "select" (one row, no columns) and "select where false" */
static const struct rs zero_cols = { 0, { { NULL, 0 } }, 1, { { NULL } } };
static const struct rs zero_cols_rows = { 0, { { NULL, 0 } }, 0, { { NULL } } };

/* select 1 as a, 'b' as b where false */
static const struct rs zero_rows = {
	2, { { "a", FA_OID_INT4 }, { "b", FA_OID_TEXT } }, 0, { { NULL } },
};

static void test_table_basic(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	/* psql -c "$D1" */
	EXPECT_STR(render(&o, &d1),
		" n | e |  c  |  nl   | num |   u   |  x  \n"
		"---+---+-----+-------+-----+-------+-----\n"
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"(1 row)\n"
		"\n");

	/* psql -t -c "$D1" */
	o.header = o.footer = false;
	EXPECT_STR(render(&o, &d1),
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"\n");

	/* psql -P footer=off -P null=NULL -c "$D1" */
	o.header = true;
	o.null_str = "NULL";
	EXPECT_STR(render(&o, &d1),
		"  n   | e |  c  |  nl   | num |   u   |  x  \n"
		"------+---+-----+-------+-----+-------+-----\n"
		" NULL |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"      |   |     | line2 |     |       | \n"
		"\n");

	/* psql -P 'title=List of relations' -c "$D1" */
	o = opts(FA_FMT_TABLE);
	o.title = "List of relations";
	EXPECT_STR(render(&o, &d1),
		"            List of relations\n"
		" n | e |  c  |  nl   | num |   u   |  x  \n"
		"---+---+-----+-------+-----+-------+-----\n"
		"   |   | a,b | l1   +|  42 | é日本 | 3.5\n"
		"   |   |     | line2 |     |       | \n"
		"(1 row)\n"
		"\n");

	/* psql -P 'title=A title that is longer ...' -c "$D1" */
	o.title = "A title that is longer than the table is wide, really long";
	EXPECT_STR(render(&o, &d1),
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
		{ { "i2", FA_OID_INT2 }, { "i8", FA_OID_INT8 },
		  { "f4", FA_OID_FLOAT4 }, { "f8", FA_OID_FLOAT8 },
		  { "n", FA_OID_NUMERIC }, { "o", FA_OID_OID },
		  { "x", FA_OID_XID }, { "c", FA_OID_CID },
		  { "m", FA_OID_MONEY }, { "b", FA_OID_BOOL },
		  { "j", FA_OID_JSON } },
		2,
		{ { "1", "22", "1.5", "2.5", "3", "4", "5", "6", "$7.00", "t",
		    "{\"a\":1}" },
		  { NULL } },
	};

	EXPECT_STR(render(&o, &r),
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
		{ { "t", FA_OID_TEXT }, { "c", FA_OID_TEXT },
		  { "c1", FA_OID_TEXT }, { "t2", FA_OID_TEXT },
		  { "cr", FA_OID_TEXT } },
		1,
		{ { "a\tb", "x\001y\177", "\302\205z", "ab\tc\td", "cr\r\n" } },
	};

	/* psql -c "$above" */
	EXPECT_STR(render(&o, &r),
		"     t     |     c      |   c1    |        t2         |  cr  \n"
		"-----------+------------+---------+-------------------+------\n"
		" a       b | x\\x01y\\x7F | \\u0085z | ab      c       d | cr\\r+\n"
		"           |            |         |                   | \n"
		"(1 row)\n"
		"\n");

	/* psql -x -c "$above" */
	o.expanded = 1;
	EXPECT_STR(render(&o, &r),
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
		{ { "multi\nline", FA_OID_INT4 }, { "b", FA_OID_TEXT },
		  { "c", FA_OID_TEXT } },
		1,
		{ { "1", "v", "a\nb\nc" } },
	};

	EXPECT_STR(render(&o, &r),
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
	EXPECT_STR(render(&o, &r),
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
	EXPECT_STR(render(&o, &zero_cols), "--\n(1 row)\n\n");
	/* psql -c "select where false" */
	EXPECT_STR(render(&o, &zero_cols_rows), "--\n(0 rows)\n\n");
	/* psql -c "select 1 as a, 'b' as b where false" */
	EXPECT_STR(render(&o, &zero_rows),
		" a | b \n"
		"---+---\n"
		"(0 rows)\n"
		"\n");

	/* psql -x -c "select"; psql -x -c "select 1 as a, 'b' as b where false" */
	o.expanded = 1;
	EXPECT_STR(render(&o, &zero_cols), "(1 row)\n\n");
	EXPECT_STR(render(&o, &zero_rows), "(0 rows)\n\n");
}

static void test_expanded(void)
{
	struct fa_fmt_opts o = opts(FA_FMT_TABLE);

	o.expanded = 1;
	/* psql -x -c "$D1" */
	EXPECT_STR(render(&o, &d1),
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
	EXPECT_STR(render(&o, &d6),
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
	EXPECT_STR(render(&o, &d6),
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
	EXPECT_STR(render(&o, &d7),
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
		1, { { "b", FA_OID_TEXT } }, 1, { { "abcdefghij" } },
	};

	o.expanded = 2;
	/* psql -P expanded=auto -P columns=20 -c "$D5": 18 wide, fits */
	o.term_width = 20;
	EXPECT_STR(render(&o, &d5), D5_ALIGNED);
	/* psql -P expanded=auto -P columns=16 -c "$D5" */
	o.term_width = 16;
	EXPECT_STR(render(&o, &d5), D5_EXPANDED);
	/* no width known (psql writing to a pipe): never expanded */
	o.term_width = 0;
	EXPECT_STR(render(&o, &d5), D5_ALIGNED);
	/* psql -P expanded=auto -P columns=5 -c "select 'abcdefghij' as b" */
	o.term_width = 5;
	EXPECT_STR(render(&o, &one),
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
	EXPECT_STR(render(&o, &d5),
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
	EXPECT_STR(render(&o, &d5),
		" x  | 1000 | z\n"
		" xx | 2000 | z\n"
		" xxx  | 3000 | z\n"
		" xxxx | 4000 | z\n"
		" xxxxx | 5000 | z\n"
		"\n");

	/* psql -v FETCH_COUNT=2 -x -t -c "$D5" */
	o.expanded = 1;
	EXPECT_STR(render(&o, &d5),
		"b | x\na | 1000\nc | z\n--+-----\n"
		"b | xx\na | 2000\nc | z\n--+-----\n"
		"b | xxx\na | 3000\nc | z\n--+-----\n"
		"b | xxxx\na | 4000\nc | z\n--+------\n"
		"b | xxxxx\na | 5000\nc | z\n"
		"\n");

	/* psql -v FETCH_COUNT=2 -x -c "$D5" */
	o.header = o.footer = true;
	EXPECT_STR(render(&o, &d5), D5_EXPANDED);

	/* psql -v FETCH_COUNT=2 -P expanded=auto -P columns=200 -c "$D5":
	 * more than one chunk forces expanded, however wide the terminal */
	o.expanded = 2;
	o.term_width = 200;
	EXPECT_STR(render(&o, &d5), D5_EXPANDED);
	/* psql -v FETCH_COUNT=10 -P expanded=auto -P columns=200 -c "$D5" */
	o.chunk_rows = 10;
	EXPECT_STR(render(&o, &d5), D5_ALIGNED);

	/* psql -v FETCH_COUNT=5 -c "select g as a from generate_series(1,12) g" */
	o = opts(FA_FMT_TABLE);
	o.chunk_rows = 5;
	EXPECT_STR(render(&o, &d7),
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
	EXPECT(fa_fmt_begin(&f, 1, d5.cols) == FA_OK);
	for (i = 0; i < 99; i++)
		EXPECT(fa_fmt_row(&f, row, NULL) == FA_OK);
	before = out.len;
	EXPECT(before == 0);
	EXPECT(fa_fmt_row(&f, row, NULL) == FA_OK);
	EXPECT(out.len > before);
	EXPECT(f.cells.len == 0 && f.text.len == 0);
	EXPECT(fa_fmt_end(&f) == FA_OK);
	EXPECT(strstr(out.data, "(100 rows)\n\n") != NULL);
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
	EXPECT_STR(out.data,
		" a | b \n---+---\n(0 rows)\n\n"
		"--\n(1 row)\n\n"
		" a | b \n---+---\n(0 rows)\n\n");
	fa_fmt_release(&f);
	fa_buf_release(&out);
}

static void test_width(void)
{
	EXPECT(fa_fmt_width("abc", 3) == 3);
	EXPECT(fa_fmt_width("é", strlen("é")) == 1);
	EXPECT(fa_fmt_width("日本", strlen("日本")) == 4);
	EXPECT(fa_fmt_width("e\xcc\x81", 3) == 1);	/* e + U+0301 */
	EXPECT(fa_fmt_width("\xe2\x80\x8b", 3) == 0);	/* U+200B */
	EXPECT(fa_fmt_width("\xf0\x9f\x98\x80", 4) == 2);	/* U+1F600 */
	EXPECT(fa_fmt_width("\xed\x95\x9c", 3) == 2);	/* U+D55C hangul */
	EXPECT(ucs_width(0xa0) == 1 && ucs_width(0x1100) == 2 &&
	       ucs_width(0x115f) == 2 && ucs_width(0x1160) == 0 &&
	       ucs_width(0x3fffd) == 2 && ucs_width(0x10ffff) == 1);
}
