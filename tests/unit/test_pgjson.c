/*
 * Unit tests for lib/pg/pgjson: array and record text output to JSON.
 *
 * The expected JSON is what PostgreSQL 15's to_json() printed for the
 * value whose text output is the input (checked with psql), except where
 * a comment says the input is malformed and falls back to a string.
 */
#include "pg/pgjson.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const struct fa_pgjson_type t_text = { 25, FA_PGJSON_STRING, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_int = { 23, FA_PGJSON_NUMBER, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_float = { 701, FA_PGJSON_NUMBER, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_bool = { 16, FA_PGJSON_BOOL, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_jsonb = { 3802, FA_PGJSON_RAW, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_ts = { 1114, FA_PGJSON_TIMESTAMP, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_tstz = { 1184, FA_PGJSON_TIMESTAMPTZ, 0, false, NULL, 0, NULL };
static const struct fa_pgjson_type t_point = { 600, FA_PGJSON_STRING, 0, false, NULL, 0, NULL };

static const struct fa_pgjson_type a_text = { 1009, FA_PGJSON_ARRAY, ',', false, &t_text, 0, NULL };
static const struct fa_pgjson_type a_int = { 1007, FA_PGJSON_ARRAY, ',', false, &t_int, 0, NULL };
static const struct fa_pgjson_type a_float = { 1022, FA_PGJSON_ARRAY, ',', false, &t_float, 0, NULL };
static const struct fa_pgjson_type a_bool = { 1000, FA_PGJSON_ARRAY, ',', false, &t_bool, 0, NULL };
static const struct fa_pgjson_type a_jsonb = { 3807, FA_PGJSON_ARRAY, ',', false, &t_jsonb, 0, NULL };
static const struct fa_pgjson_type a_box = { 1020, FA_PGJSON_ARRAY, ';', false, &t_point, 0, NULL };
static const struct fa_pgjson_type a_tstz = { 1185, FA_PGJSON_ARRAY, ',', false, &t_tstz, 0, NULL };
static const struct fa_pgjson_type v_int2 = { 22, FA_PGJSON_ARRAY, ',', true, &t_int, 0, NULL };

/* create type pair as (id int, name text, tags text[]) */
static const struct fa_pgjson_field f_pair[] = {
	{ "id", &t_int }, { "name", &t_text }, { "tags", &a_text },
};
static const struct fa_pgjson_type r_pair = { 90001, FA_PGJSON_RECORD, 0, false, NULL, 3, f_pair };
static const struct fa_pgjson_type a_pair = { 90002, FA_PGJSON_ARRAY, ',', false, &r_pair, 0, NULL };
/* create type outer as (p pair, ps pair[], ok bool) */
static const struct fa_pgjson_field f_outer[] = {
	{ "p", &r_pair }, { "ps", &a_pair }, { "ok", &t_bool },
};
static const struct fa_pgjson_type r_outer = { 90003, FA_PGJSON_RECORD, 0, false, NULL, 3, f_outer };
static const struct fa_pgjson_type r_empty = { 90004, FA_PGJSON_RECORD, 0, false, NULL, 0, NULL };

static struct fa_pgjson_scratch sc;

static void expect_at(const char *file, int line, const struct fa_pgjson_type *t,
		      const char *in, const char *want)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	check(file, line, fa_pgjson_put(&b, t, in, strlen(in), &sc) == FA_OK, "put failed");
	check_str(file, line, b.data ? b.data : "", want, in);
	fa_buf_release(&b);
}

#define EXPECT(t, in, want) expect_at(__FILE__, __LINE__, (t), (in), (want))

static void test_arrays(void)
{
	EXPECT(&a_text, "{vegan}", "[\"vegan\"]");
	EXPECT(&a_text, "{}", "[]");
	EXPECT(&a_text, "{\"a,b\",NULL,\"NULL\",\"\"}", "[\"a,b\",null,\"NULL\",\"\"]");
	EXPECT(&a_text, "{\"a \\\"q\\\" \\\\ b\",x}", "[\"a \\\"q\\\" \\\\ b\",\"x\"]");
	EXPECT(&a_text, "{\"{x}\",\" sp \"}", "[\"{x}\",\" sp \"]");
	EXPECT(&a_text, "{null,Null}", "[null,null]");
	EXPECT(&a_int, "{1,2,NULL}", "[1,2,null]");
	EXPECT(&a_int, "{{1,2},{3,4}}", "[[1,2],[3,4]]");
	EXPECT(&a_int, "{{{1},{2}},{{3},{4}}}", "[[[1],[2]],[[3],[4]]]");
	EXPECT(&a_int, "[0:1]={1,2}", "[1,2]");
	EXPECT(&a_int, "[-2:-1][1:1]={{1},{2}}", "[[1],[2]]");
	EXPECT(&a_float, "{1.5,NaN,Infinity,-Infinity,1e+100,-0}",
	       "[1.5,\"NaN\",\"Infinity\",\"-Infinity\",1e+100,-0]");
	EXPECT(&a_bool, "{t,f,NULL}", "[true,false,null]");
	EXPECT(&a_jsonb, "{\"{\\\"a\\\": [1, 2]}\",\"\\\"s\\\"\",null,NULL}",
	       "[{\"a\": [1, 2]},\"s\",null,null]");
	EXPECT(&a_box, "{(1,1),(0,0);(3,3),(2,2)}", "[\"(1,1),(0,0)\",\"(3,3),(2,2)\"]");
	EXPECT(&a_tstz, "{\"2026-01-02 03:04:05+00\",\"1999-12-31 23:59:59.5+05:30\",infinity}",
	       "[\"2026-01-02T03:04:05+00:00\",\"1999-12-31T23:59:59.5+05:30\",\"infinity\"]");
	EXPECT(&a_tstz, "{\"0001-01-01 00:00:00+00 BC\"}", "[\"0001-01-01T00:00:00+00:00 BC\"]");
	EXPECT(&v_int2, "1 2 -3", "[1,2,-3]");
	EXPECT(&v_int2, "", "[]");
	EXPECT(&a_text, "{\"é\\\\\"}", "[\"é\\\\\"]");
}

static void test_scalars(void)
{
	EXPECT(&t_ts, "2026-01-02 03:04:05", "\"2026-01-02T03:04:05\"");
	EXPECT(&t_ts, "12345-01-02 03:04:05", "\"12345-01-02T03:04:05\"");
	EXPECT(&t_tstz, "2026-01-02 03:04:05-08", "\"2026-01-02T03:04:05-08:00\"");
	EXPECT(&t_tstz, "1900-01-02 03:04:05+00:09:21", "\"1900-01-02T03:04:05+00:09:21\"");
	/* DateStyle SQL or Postgres: left alone */
	EXPECT(&t_tstz, "Fri Jan 02 03:04:05 2026 UTC", "\"Fri Jan 02 03:04:05 2026 UTC\"");
	EXPECT(&t_int, "12", "12");
	EXPECT(&t_int, "NaN", "\"NaN\"");
	EXPECT(&t_bool, "t", "true");
	EXPECT(&t_jsonb, "", "\"\"");
}

static void test_records(void)
{
	EXPECT(&r_pair, "(1,apple,\"{fruit,red}\")",
	       "{\"id\":1,\"name\":\"apple\",\"tags\":[\"fruit\",\"red\"]}");
	EXPECT(&r_pair, "(,\"\",)", "{\"id\":null,\"name\":\"\",\"tags\":null}");
	EXPECT(&r_pair, "(2,\"a \"\"q\"\", \\\\ b\",{})",
	       "{\"id\":2,\"name\":\"a \\\"q\\\", \\\\ b\",\"tags\":[]}");
	EXPECT(&r_pair, "(3,\"(x)\",\"{\"\"a,b\"\",NULL,\"\"NULL\"\",\"\"\"\"}\")",
	       "{\"id\":3,\"name\":\"(x)\",\"tags\":[\"a,b\",null,\"NULL\",\"\"]}");
	EXPECT(&a_pair, "{\"(1,a,{x})\",NULL,\"(,,)\"}",
	       "[{\"id\":1,\"name\":\"a\",\"tags\":[\"x\"]},null,{\"id\":null,\"name\":null,\"tags\":null}]");
	EXPECT(&r_outer, "(\"(1,a,{})\",\"{\"\"(2,b,{y})\"\"}\",t)",
	       "{\"p\":{\"id\":1,\"name\":\"a\",\"tags\":[]},\"ps\":[{\"id\":2,\"name\":\"b\",\"tags\":[\"y\"]}],\"ok\":true}");
	EXPECT(&r_empty, "()", "{}");
	/* a field more or less than the type has: the text as a string */
	EXPECT(&r_pair, "(1,a)", "\"(1,a)\"");
	EXPECT(&r_pair, "(1,a,{},x)", "\"(1,a,{},x)\"");
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"", "{", "}", "{1,2", "{1,,2}", "{1}x", "[0:1]{1}", "[0:1={1}", "{\"a}",
		"{a\"b}", "{{1},2", "{\\}", "1,2",
	};
	char want[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\"", bad[i]);
		if (strchr(bad[i], '"') || strchr(bad[i], '\\'))
			continue;
		EXPECT(&a_int, bad[i], want);
	}
	EXPECT(&a_text, "{\"a}", "\"{\\\"a}\"");
	EXPECT(&a_text, "{\\}", "\"{\\\\}\"");
	EXPECT(&r_pair, "(1,\"a,{})", "\"(1,\\\"a,{})\"");
	EXPECT(&r_pair, "(1,a,{}", "\"(1,a,{}\"");
	EXPECT(&r_pair, "x(1,a,{})", "\"x(1,a,{})\"");
}

/*
 * Random strings through array_out's quoting: an element is quoted when
 * it is empty, "NULL" in any case, or holds a quote, backslash, brace,
 * the delimiter or white space; quotes and backslashes get a backslash.
 */
static void quote_elem(struct fa_buf *b, const char *s, size_t n)
{
	bool q = n == 0 || (n == 4 && !strncasecmp(s, "NULL", 4));

	for (size_t i = 0; i < n; i++)
		q |= strchr("\"\\{},; \t\n", s[i]) != NULL;
	if (q)
		fa_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fa_buf_putc(b, '\\');
		fa_buf_putc(b, s[i]);
	}
	if (q)
		fa_buf_putc(b, '"');
}

static void test_random_strings(void)
{
	static const char alphabet[] = "ab \"\\{},;NUL()\t\xc3\xa9";
	struct fa_buf in, want, got;

	fa_buf_init(&in, 0);
	fa_buf_init(&want, 0);
	fa_buf_init(&got, 0);
	for (int round = 0; round < 2000; round++) {
		int n = (int)rnd_below(6);
		char s[16];

		fa_buf_reset(&in);
		fa_buf_reset(&want);
		fa_buf_reset(&got);
		fa_buf_putc(&in, '{');
		fa_buf_putc(&want, '[');
		for (int i = 0; i < n; i++) {
			size_t len = rnd_below(5);

			for (size_t k = 0; k < len; k++)
				s[k] = alphabet[rnd_below(sizeof(alphabet) - 1)];
			if (i > 0) {
				fa_buf_putc(&in, ',');
				fa_buf_putc(&want, ',');
			}
			quote_elem(&in, s, len);
			fa_json_put_string(&want, s, len);
		}
		fa_buf_putc(&in, '}');
		fa_buf_putc(&want, ']');
		fa_pgjson_put(&got, &a_text, in.data, in.len, &sc);
		CHECK_STR(got.data, want.data);
	}
	fa_buf_release(&in);
	fa_buf_release(&want);
	fa_buf_release(&got);
}

static void test_caps(void)
{
	struct fa_buf b;

	fa_buf_init(&b, 8);
	CHECK(fa_pgjson_put(&b, &a_text, "{abcdef,ghijkl}", 15, &sc) == FA_ENOMEM);
	fa_buf_release(&b);
}

int main(int argc, char **argv)
{
	rnd_seed("test_pgjson", argc, argv);
	fa_pgjson_scratch_init(&sc, 0);
	RUN(test_arrays);
	RUN(test_scalars);
	RUN(test_records);
	RUN(test_malformed);
	RUN(test_random_strings);
	RUN(test_caps);
	fa_pgjson_scratch_release(&sc);
	return check_report("test_pgjson");
}
