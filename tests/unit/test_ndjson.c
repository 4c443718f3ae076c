/*
 * Unit tests for lib/pg/ndjson.
 *
 * Fixed lines check each value kind, each escape and each error with its
 * byte position.  Then, with the seed printed (give one as argv[1] to
 * replay), random objects written with random whitespace and escapes go
 * through fa_ndjson_parse/emit, the COPY text is parsed back and compared
 * with what was written; and mutated lines must be accepted exactly when
 * jansson accepts them as an object.
 */
#include "pg/ndjson.c"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

enum { TEXT = 25, INT8 = 20, NUMERIC = 1700, BOOL = 16, JSON = 114,
       JSONB = 3802 };

static struct fa_ndjson m;
static struct fa_buf out;
static struct fa_error err;
static uint64_t present[32];

static void setup(const struct fa_ndjson_col *cols, int n, bool strict)
{
	fa_ndjson_release(&m);
	if (fa_ndjson_init(&m, cols, n, strict, &err) != FA_OK) {
		fprintf(stderr, "FAIL init: %s\n", err.msg);
		exit(1);
	}
}

/* The line must give exactly the row want (every column). */
static void check_row(const char *file, int line, const char *in,
		      size_t len, const char *want)
{
	int rc;

	fa_buf_reset(&out);
	fa_error_clear(&err);
	rc = fa_ndjson_row(&m, in, len, &out, present, &err);
	check_fmt(file, line, rc == 1 && strcmp(out.data, want) == 0, in,
		  "\n  want %s  got  %s%s", want, rc == 1 ? out.data : "(error) ",
		  rc == 1 ? "" : err.msg);
}

#define CHECK_ROW(in, want) \
	check_row(__FILE__, __LINE__, in, sizeof(in) - 1, want)

/* The line must fail with code and exactly the message want. */
static void check_err(const char *file, int line, const char *in,
		      size_t len, enum fa_err code, const char *want)
{
	int rc;

	fa_buf_reset(&out);
	fa_error_clear(&err);
	rc = fa_ndjson_row(&m, in, len, &out, present, &err);
	check_fmt(file, line, rc == -1 && err.code == code &&
		  strcmp(err.msg, want) == 0 && out.len == 0, in,
		  "\n  want %s\n  got  %d %s", want, rc,
		  rc == -1 ? err.msg : out.data);
}

#define CHECK_ERR(in, want) \
	check_err(__FILE__, __LINE__, in, sizeof(in) - 1, FA_EINPUT, want)

static const struct fa_ndjson_col kinds[] = {
	{ "t", TEXT }, { "j", JSON }, { "b", JSONB }, { "f", BOOL },
	{ "n", NUMERIC }, { "i", INT8 },
};

static void test_values(void)
{
	setup(kinds, 6, false);
	CHECK_ROW("{\"t\":\"hi\",\"j\":\"hi\",\"b\":\"hi\",\"f\":true,"
		  "\"n\":0.1,\"i\":12345678901234567890}",
		  "hi\t\"hi\"\t\"hi\"\tt\t0.1\t12345678901234567890\n");
	CHECK_ROW("{\"n\":-12345678901234567890.000000000000000000001,"
		  "\"i\":1E+400,\"t\":-0,\"j\":1.5e-7}",
		  "-0\t1.5e-7\t\\N\t\\N\t"
		  "-12345678901234567890.000000000000000000001\t1E+400\n");
	CHECK_ROW("{\"t\":true,\"j\":false,\"b\":true,\"f\":false}",
		  "true\tfalse\ttrue\tf\t\\N\t\\N\n");
	CHECK_ROW("{\"t\":null,\"j\":null,\"b\":null,\"f\":null,\"n\":null,"
		  "\"i\":null}", "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n");
	CHECK(present[0] == 0x3f);
	/* nested values: compact JSON text, numbers and escapes as written */
	CHECK_ROW("{ \"j\" : { \"a\" : [ 1 , 2.50 , \"x y\\tz\" ] ,\r\n"
		  "\t\"b\" : { } , \"c\" : [ ] , \"d\":null } ,"
		  "\"b\":[true,false,null,{\"k\":\"\\u00e9\\\\\"}],"
		  "\"t\":[1, {\"a\" : 12345678901234567890}]}",
		  "[1,{\"a\":12345678901234567890}]\t"
		  "{\"a\":[1,2.50,\"x y\\\\tz\"],\"b\":{},\"c\":[],\"d\":null}\t"
		  "[true,false,null,{\"k\":\"\\\\u00e9\\\\\\\\\"}]\t"
		  "\\N\t\\N\t\\N\n");
	/* a string into json stays a quoted literal, escapes as written */
	CHECK_ROW("{\"j\":\"a\\\"b\\\\c\\n\\u00e9\",\"b\":\"\"}",
		  "\\N\t\"a\\\\\"b\\\\\\\\c\\\\n\\\\u00e9\"\t\"\"\t"
		  "\\N\t\\N\t\\N\n");
	CHECK_ROW("{\"t\":\"\",\"i\":\"42\",\"f\":\"yes\",\"n\":[1]}",
		  "\t\\N\t\\N\tyes\t[1]\t42\n");
	CHECK_ROW("{}", "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n");
	CHECK(present[0] == 0);
	CHECK_ROW("  {\"t\" :\"x\"}  \r", "x\t\\N\t\\N\t\\N\t\\N\t\\N\n");
}

static void test_escapes(void)
{
	static const struct fa_ndjson_col one[] = { { "t", TEXT } };

	setup(one, 1, false);
	/* \t \n \\ \r \b \f \v become COPY escapes, the rest plain UTF-8 */
	CHECK_ROW("{\"t\":\"a\\tb\\nc\\\\d\\re\\bf\\fg\\u000bh\"}",
		  "a\\tb\\nc\\\\d\\re\\bf\\fg\\vh\n");
	CHECK_ROW("{\"t\":\"\\u00e9\\u00E9\\u65e5\\ud83d\\ude00\\uD83D\\uDE00"
		  "\\\"\\/\"}", "éé日😀😀\"/\n");
	CHECK_ROW("{\"t\":\"\\u0009\\u000a\\u000D\\u005c\\u0001\\u007f\"}",
		  "\\t\\n\\r\\\\\001\177\n");
	CHECK_ROW("{\"t\":\"é日本😀 raw\"}", "é日本😀 raw\n");
	CHECK_ROW("{\"t\":\"\\\\.\"}", "\\\\.\n");
	CHECK_ROW("{\"t\":\"\\\\N\"}", "\\\\N\n");
	/* keys are unescaped before matching */
	CHECK_ROW("{\"\\u0074\":\"x\"}", "x\n");
}

static void test_keys(void)
{
	static const struct fa_ndjson_col cols[] = {
		{ "id", INT8 }, { "Name", TEXT }, { "café", TEXT },
		{ "a\tb", TEXT },
	};

	setup(cols, 4, false);
	CHECK_ROW("{\"name\":\"x\",\"ID\":1,\"zz\":{\"deep\":[1]}}",
		  "\\N\t\\N\t\\N\t\\N\n");
	CHECK(present[0] == 0);
	CHECK_ROW("{\"caf\\u00e9\":1,\"a\\tb\":2,\"Name\":3,\"id\":4}",
		  "4\t3\t1\t2\n");
	CHECK(present[0] == 0xf);
	CHECK_ROW("{\"café\":1,\"caf\\u00e9x\":2,\"a\\u0009b\\u0000\":3}",
		  "\\N\t\\N\t1\t\\N\n");
	/* duplicates of a column are errors, even spelt differently */
	CHECK_ERR("{\"id\":1,\"id\":2}",
		  "column \"id\" at byte 9: duplicate key");
	CHECK_ERR("{\"café\":1, \"caf\\u00e9\":2}",
		  "column \"café\" at byte 13: duplicate key");
	CHECK_ROW("{\"x\":1,\"x\":2}", "\\N\t\\N\t\\N\t\\N\n");
	/* strict mode: a key that is no column is an error */
	m.strict_extra = true;
	CHECK_ERR("{\"id\":1,\"nope\":2}",
		  "key \"nope\" at byte 9: no such column");
	CHECK_ERR("{\"caf\\u00e9 \":2}",
		  "key \"caf\\u00e9 \" at byte 2: no such column");
	CHECK_ERR("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "ééé\":1}", "key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaé...\" at byte 2: no such column");
	CHECK_ROW("{\"id\":1}", "1\t\\N\t\\N\t\\N\n");
}

static void test_errors(void)
{
	setup(kinds, 6, false);
	CHECK_ERR("[1,2]", "byte 1: not a JSON object");
	CHECK_ERR("  42", "byte 3: not a JSON object");
	CHECK_ERR("\"t\"", "byte 1: not a JSON object");
	CHECK_ERR("null", "byte 1: not a JSON object");
	CHECK_ERR("{\"t\":1,}", "byte 8: invalid JSON: unexpected '}', "
		  "expected a string key");
	CHECK_ERR("{\"t\" 1}", "byte 6: invalid JSON: unexpected '1', "
		  "expected ':' after a key");
	CHECK_ERR("{\"t\":1 \"j\":2}", "byte 8: invalid JSON: unexpected "
		  "'\"', expected ',' or '}'");
	CHECK_ERR("{\"t\":[1 2]}", "byte 9: invalid JSON: unexpected '2', "
		  "expected ',' or ']'");
	CHECK_ERR("{\"t\":1} x", "byte 9: invalid JSON: unexpected 'x', "
		  "expected the end of the line after the object");
	CHECK_ERR("{\"t\":1}{}", "byte 8: invalid JSON: unexpected '{', "
		  "expected the end of the line after the object");
	CHECK_ERR("{\"t\":\"abc", "byte 10: invalid JSON: unexpected end "
		  "of line, expected '\"' to end the string");
	CHECK_ERR("{\"t\":", "byte 6: invalid JSON: unexpected end of line, "
		  "expected a value");
	CHECK_ERR("{", "byte 2: invalid JSON: unexpected end of line, "
		  "expected a string key");
	CHECK_ERR("{\"t\":tru}", "byte 6: invalid JSON: unexpected 't', "
		  "expected a value");
	CHECK_ERR("{\"t\":nul", "byte 6: invalid JSON: unexpected 'n', "
		  "expected a value");
	CHECK_ERR("{\"t\":'x'}", "byte 6: invalid JSON: unexpected ''', "
		  "expected a value");
	CHECK_ERR("{t:1}", "byte 2: invalid JSON: unexpected 't', "
		  "expected a string key");
	CHECK_ERR("{\"t\":01}", "byte 6: invalid JSON: invalid number");
	CHECK_ERR("{\"t\":1.}", "byte 6: invalid JSON: invalid number");
	CHECK_ERR("{\"t\":.5}", "byte 6: invalid JSON: unexpected '.', "
		  "expected a value");
	CHECK_ERR("{\"t\":-}", "byte 6: invalid JSON: invalid number");
	CHECK_ERR("{\"t\":1e}", "byte 6: invalid JSON: invalid number");
	CHECK_ERR("{\"t\":+1}", "byte 6: invalid JSON: unexpected '+', "
		  "expected a value");
	CHECK_ERR("{\"t\":NaN}", "byte 6: invalid JSON: unexpected 'N', "
		  "expected a value");
	CHECK_ERR("{\"t\":\"a\\qb\"}", "byte 8: invalid JSON: invalid escape "
		  "in a string");
	CHECK_ERR("{\"t\":\"\\u12\"}", "byte 7: invalid JSON: \\u must be "
		  "followed by four hex digits");
	CHECK_ERR("{\"t\":\"\\ud800\"}", "byte 7: invalid JSON: high "
		  "surrogate in \\u escape without a low one");
	CHECK_ERR("{\"t\":\"\\ud800\\u0041\"}", "byte 7: invalid JSON: high "
		  "surrogate in \\u escape without a low one");
	CHECK_ERR("{\"j\":[\"\\udc00\"]}", "byte 8: invalid JSON: lone low "
		  "surrogate in \\u escape");
	CHECK_ERR("{\"t\":\"a\tb\"}", "byte 8: invalid JSON: control "
		  "character in a string");
	CHECK_ERR("{\"t\":\"a\xff\"}", "byte 8: invalid JSON: invalid UTF-8");
	CHECK_ERR("{\"t\":\"\xc3\"}", "byte 7: invalid JSON: invalid UTF-8");
	CHECK_ERR("{\"t\":\"\xed\xa0\x80\"}", "byte 7: invalid JSON: "
		  "invalid UTF-8");
	CHECK_ERR("{\"t\":1,\0}", "byte 8: invalid JSON: unexpected byte "
		  "0x00, expected a string key");
	CHECK_ERR("{\"t\":\"x\\u0000\"}", "column \"t\" at byte 6: "
		  "\\u0000 cannot be converted to text");
	/* json keeps \u0000 (jsonb will refuse it, which is the server's call) */
	CHECK_ROW("{\"j\":\"x\\u0000\",\"t\":[\"\\u0000\"]}",
		  "[\"\\\\u0000\"]\t\"x\\\\u0000\"\t\\N\t\\N\t\\N\t\\N\n");
}

static void test_depth(void)
{
	struct fa_buf line;
	int i;

	setup(kinds, 6, false);
	fa_buf_init(&line, 0);
	fa_buf_puts(&line, "{\"j\":");
	for (i = 0; i < 1000; i++)
		fa_buf_puts(&line, i % 2 ? "{\"k\":" : "[");
	fa_buf_puts(&line, "1");
	for (i = 999; i >= 0; i--)
		fa_buf_puts(&line, i % 2 ? "}" : "]");
	fa_buf_puts(&line, "}");
	CHECK(fa_ndjson_row(&m, line.data, line.len, &out, present, &err) == 1);
	fa_buf_reset(&line);
	fa_buf_puts(&line, "{\"x\":");
	for (i = 0; i < 100000; i++)
		fa_buf_putc(&line, '[');
	fa_buf_reset(&out);
	CHECK(fa_ndjson_row(&m, line.data, line.len, &out, present, &err) == -1);
	CHECK(strcmp(err.msg, "byte 1006: invalid JSON: nested more than "
		     "1000 levels deep") == 0);
	fa_buf_release(&line);
}

static void test_blank_and_limits(void)
{
	static const char *blank[] = { "", " ", "\r", " \t\r\n " };
	static const struct fa_ndjson_col dup[] = { { "a", TEXT }, { "a", INT8 } };
	struct fa_buf small;
	struct fa_ndjson m2;
	size_t i;

	setup(kinds, 6, false);
	fa_buf_reset(&out);
	fa_buf_puts(&out, "kept\n");
	for (i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
		present[0] = 99;
		CHECK(fa_ndjson_row(&m, blank[i], strlen(blank[i]), &out,
				    present, &err) == 0);
		CHECK(present[0] == 0);
	}
	CHECK(strcmp(out.data, "kept\n") == 0);
	/* a row past the buffer's cap leaves the buffer as it was */
	fa_buf_init(&small, 32);
	fa_buf_puts(&small, "abc");
	CHECK(fa_ndjson_row(&m, "{\"t\":\"0123456789abcdef0123456789\"}", 34, &small,
			    present, &err) == -1);
	CHECK(err.code == FA_ENOMEM && small.len == 3);
	CHECK(strcmp(small.data, "abc") == 0);
	CHECK(fa_ndjson_row(&m, "{\"t\":1}", 7, &small, NULL, &err) == 1);
	CHECK(strcmp(small.data, "abc1\t\\N\t\\N\t\\N\t\\N\t\\N\n") == 0);
	fa_buf_release(&small);
	CHECK(fa_ndjson_init(&m2, dup, 2, false, &err) == FA_EUSAGE);
	CHECK(strcmp(err.msg, "column \"a\" listed twice") == 0);
	CHECK(fa_ndjson_init(&m2, dup, 0, false, &err) == FA_EUSAGE);
}

static void test_present_only(void)
{
	static const struct fa_ndjson_col cols[] = {
		{ "a", TEXT }, { "b", TEXT }, { "c", TEXT },
	};

	setup(cols, 3, false);
	CHECK(fa_ndjson_parse(&m, "{\"c\":1,\"a\":null}", 16, present,
			      &err) == 1);
	CHECK(present[0] == 5);
	fa_buf_reset(&out);
	CHECK(fa_ndjson_emit(&m, true, &out, &err) == FA_OK);
	CHECK(fa_ndjson_emit(&m, false, &out, &err) == FA_OK);
	CHECK(strcmp(out.data, "\\N\t1\n\\N\t\\N\t1\n") == 0);
	CHECK(fa_ndjson_parse(&m, "{}", 2, present, &err) == 1);
	fa_buf_reset(&out);
	CHECK(fa_ndjson_emit(&m, true, &out, &err) == FA_OK);
	CHECK(strcmp(out.data, "\n") == 0);
}

static void test_wide(void)
{
	struct fa_ndjson_col cols[200];
	char names[200][16], line[4096], want[4096];
	int i, n = 0, w = 0;

	for (i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "c%d", i);
		cols[i].name = names[i];
		cols[i].type = TEXT;
	}
	setup(cols, 200, false);
	n += sprintf(line + n, "{");
	for (i = 199; i >= 0; i -= 3)
		n += sprintf(line + n, "%s\"c%d\":%d", i == 199 ? "" : ",", i, i);
	sprintf(line + n, "}");
	for (i = 0; i < 200; i++) {
		if (i % 3 == 199 % 3)
			w += sprintf(want + w, "%d", i);
		else
			w += sprintf(want + w, "\\N");
		w += sprintf(want + w, i == 199 ? "\n" : "\t");
	}
	check_row(__FILE__, __LINE__, line, strlen(line), want);
	for (i = 0; i < 200; i++)
		CHECK(fa_ndjson_has(present, i) == (i % 3 == 199 % 3));
	CHECK(present[3] >> 8 == 0);	/* bits past column 199 stay clear */
	CHECK(fa_ndjson_has(present, 64) == (64 % 3 == 1) &&
	      fa_ndjson_has(present, 199));
}

/* ---- random round trip ------------------------------------------------ */

static bool small_numbers;

/* A number in [0, n) from the high bits (so that old seeds replay). */
static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() >> 32) % n;
}

/* A random code point from a mix that reaches every escaping path. */
static unsigned long rand_cp(void)
{
	unsigned long cp;

	switch (rn(8)) {
	case 0:
		return 1 + rn(31);
	case 1:
		return (unsigned char)"\\\"/\t\n\r\x7f"[rn(7)];
	case 2:
		return 0x80 + rn(0x780);
	case 3:
		cp = 0x800 + rn(0xf800);
		return cp >= 0xd800 && cp <= 0xdfff ? 0xe9 : cp;
	case 4:
		return 0x10000 + rn(0x100000);
	default:
		return 0x20 + rn(0x5f);
	}
}

/* Appends cp to a JSON string, escaped one of the ways JSON allows. */
static void write_cp(struct fa_buf *json, unsigned long cp)
{
	static const char from[] = "\"\\/\b\f\n\r\t", *to[] = {
		"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" };
	const char *f = cp && cp < 0x80 ? strchr(from, (int)cp) : NULL;
	bool must = cp < 0x20 || cp == '"' || cp == '\\';
	const char *hex = rn(2) ? "\\u%04lx" : "\\u%04lX";
	char u[4];
	int way = rn(3);

	if (!must && way == 0) {
		fa_buf_append(json, u, utf8_encode(cp, u));
	} else if (f && way != 2) {
		fa_buf_puts(json, to[f - from]);
	} else if (cp >= 0x10000) {
		fa_buf_printf(json, hex, 0xd800 + ((cp - 0x10000) >> 10));
		fa_buf_printf(json, hex, 0xdc00 + ((cp - 0x10000) & 0x3ff));
	} else {
		fa_buf_printf(json, hex, cp);
	}
}

/* Writes the JSON string for the UTF-8 text s[0..n). */
static void write_string(struct fa_buf *json, const char *s, size_t n)
{
	unsigned int cp;
	int k;

	fa_buf_putc(json, '"');
	while (n > 0) {
		k = fa_json_utf8_decode(s, n, &cp);
		write_cp(json, cp);
		s += k;
		n -= k;
	}
	fa_buf_putc(json, '"');
}

/* A random string: its text in raw, its JSON literal in json. */
static void gen_string(struct fa_buf *json, struct fa_buf *raw)
{
	int i, n = rn(12);
	char u[4];

	fa_buf_reset(raw);
	for (i = 0; i < n; i++)
		fa_buf_append(raw, u, utf8_encode(rand_cp(), u));
	write_string(json, raw->data ? raw->data : "", raw->len);
}

static void gen_digits(struct fa_buf *b, int max)
{
	int i, n = 1 + rn(max);

	fa_buf_putc(b, (char)('1' + rn(9)));
	for (i = 1; i < n; i++)
		fa_buf_putc(b, (char)('0' + rn(10)));
}

static void gen_number(struct fa_buf *b)
{
	int max = small_numbers ? 6 : 30;

	if (rn(3) == 0)
		fa_buf_putc(b, '-');
	if (rn(5) == 0)
		fa_buf_putc(b, '0');
	else
		gen_digits(b, max);
	if (rn(2)) {
		fa_buf_putc(b, '.');
		if (rn(2))
			fa_buf_putc(b, '0');
		gen_digits(b, max);
	}
	if (rn(4) == 0) {
		fa_buf_puts(b, rn(2) ? "e" : "E");
		fa_buf_puts(b, rn(3) == 0 ? "" : rn(2) ? "+" : "-");
		gen_digits(b, 2);
	}
}

static void ws(struct fa_buf *b)
{
	static const char *spaces[] = { " ", "\t", "  \r\n", " \t " };

	if (rn(4) == 0)
		fa_buf_puts(b, spaces[rn(4)]);
}

static void put2(struct fa_buf *a, struct fa_buf *b, const char *s)
{
	fa_buf_puts(a, s);
	fa_buf_puts(b, s);
}

/* A scalar of kind 2 to 6 (string, number, true, false, null). */
static void gen_scalar(struct fa_buf *json, struct fa_buf *compact, int kind)
{
	struct fa_buf raw;
	size_t mark = json->len;

	fa_buf_init(&raw, 0);
	if (kind == 2)
		gen_string(json, &raw);
	else if (kind == 3)
		gen_number(json);
	else
		fa_buf_puts(json, kind == 4 ? "true" : kind == 5 ? "false" : "null");
	fa_buf_append(compact, json->data + mark, json->len - mark);
	fa_buf_release(&raw);
}

/*
 * A random object or array (any value below the top): spaced out in json,
 * compact in compact.
 */
static void gen_nested(struct fa_buf *json, struct fa_buf *compact, int depth)
{
	int i, n, kind = depth == 0 ? rn(2) : depth > 3 ? 2 + rn(5) : rn(7);

	if (kind > 1) {
		gen_scalar(json, compact, kind);
		return;
	}
	put2(json, compact, kind ? "[" : "{");
	n = rn(4);
	for (i = 0; i < n; i++) {
		if (i)
			put2(json, compact, ",");
		ws(json);
		if (kind == 0) {
			gen_scalar(json, compact, 2);
			ws(json);
			put2(json, compact, ":");
			ws(json);
		}
		gen_nested(json, compact, depth + 1);
		ws(json);
	}
	put2(json, compact, kind ? "]" : "}");
}

#define MAXCOLS 150

struct schema {
	int n;
	struct fa_ndjson_col cols[MAXCOLS];
	char names[MAXCOLS][32];
};

static void gen_schema(struct schema *s, bool json_only)
{
	static const char *stems[] = { "c", "Col", "é", "tab\t", "q\"",
				       "😀", "back\\", "" };
	static const unsigned int types[] = { TEXT, INT8, NUMERIC, BOOL,
					      JSON, JSONB };
	int i;

	s->n = 1 + rn(rn(4) ? 20 : MAXCOLS);
	for (i = 0; i < s->n; i++) {
		snprintf(s->names[i], sizeof(s->names[i]), "%s%d",
			 stems[rn(8)], i);
		s->cols[i].name = s->names[i];
		s->cols[i].type = json_only ? JSON : types[rn(6)];
	}
}

/* What one column of a generated row should come back as. */
struct field {
	bool present, null;
	struct fa_buf text;
};

/* A random value for a column of type: JSON into line, expectation in f. */
static void gen_field(struct fa_buf *line, unsigned int type, struct field *f)
{
	bool json = type == JSON || type == JSONB;
	size_t mark = line->len;
	struct fa_buf raw;

	f->null = false;
	fa_buf_reset(&f->text);
	switch (rn(6)) {
	case 0:
		fa_buf_init(&raw, 0);
		gen_string(line, &raw);
		if (json)
			fa_buf_append(&f->text, line->data + mark, line->len - mark);
		else
			fa_buf_append(&f->text, raw.data, raw.len);
		fa_buf_release(&raw);
		break;
	case 1:
		gen_number(line);
		fa_buf_append(&f->text, line->data + mark, line->len - mark);
		break;
	case 2:
	case 3:
		fa_buf_puts(line, rn(2) ? "true" : "false");
		if (type == BOOL)
			fa_buf_putc(&f->text, line->data[mark]);
		else
			fa_buf_append(&f->text, line->data + mark, line->len - mark);
		break;
	case 4:
		fa_buf_puts(line, "null");
		f->null = true;
		break;
	default:
		gen_nested(line, &f->text, 0);
	}
}

/* One key: value member, with a separator when it is not the first. */
static void gen_member(struct fa_buf *line, const char *key, bool first)
{
	if (!first)
		fa_buf_putc(line, ',');
	ws(line);
	write_string(line, key, strlen(key));
	ws(line);
	fa_buf_putc(line, ':');
	ws(line);
}

/* A random line for schema s, in random key order, with extra keys. */
static void gen_row(const struct schema *s, bool extras, struct fa_buf *line,
		    struct field *f)
{
	struct fa_buf junk;
	int order[MAXCOLS], i, j, t;
	bool first = true;
	char key[32];

	for (i = 0; i < s->n; i++)
		order[i] = i;
	for (i = s->n - 1; i > 0; i--) {
		j = rn(i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	fa_buf_reset(line);
	fa_buf_init(&junk, 0);
	ws(line);
	fa_buf_putc(line, '{');
	for (i = 0; i < s->n; i++) {
		if (extras && rn(5) == 0) {
			snprintf(key, sizeof(key), "x%u", rn(1000));
			gen_member(line, key, first);
			gen_nested(line, &junk, 1);
			first = false;
		}
		f[order[i]].present = rn(3) != 0;
		f[order[i]].null = true;
		if (!f[order[i]].present)
			continue;
		gen_member(line, s->cols[order[i]].name, first);
		gen_field(line, s->cols[order[i]].type, &f[order[i]]);
		ws(line);
		first = false;
	}
	fa_buf_putc(line, '}');
	ws(line);
	fa_buf_release(&junk);
}

/* Splits a COPY text row into unescaped fields; the count, or -1. */
static int parse_copy(const char *row, size_t len, struct field *f, int max)
{
	static const char from[] = "tnrbfv\\", to[] = "\t\n\r\b\f\v\\";
	const char *c;
	int n = 0;
	size_t i;

	if (len == 0 || row[len - 1] != '\n')
		return -1;
	fa_buf_reset(&f[0].text);
	f[0].null = false;
	for (i = 0; i + 1 < len; i++) {
		if (row[i] == '\t') {
			if (++n >= max)
				return -1;
			fa_buf_reset(&f[n].text);
			f[n].null = false;
		} else if (row[i] == '\n' || row[i] == '\r') {
			return -1;
		} else if (row[i] != '\\') {
			fa_buf_putc(&f[n].text, row[i]);
		} else if (row[++i] == 'N' && f[n].text.len == 0 &&
			   (row[i + 1] == '\t' || row[i + 1] == '\n')) {
			f[n].null = true;
		} else if (row[i] && (c = strchr(from, row[i]))) {
			fa_buf_putc(&f[n].text, to[c - from]);
		} else {
			return -1;
		}
	}
	return n + 1;
}

static bool same_field(const struct field *a, const struct field *b)
{
	if (a->null || b->null)
		return a->null == b->null;
	return a->text.len == b->text.len &&
	       (a->text.len == 0 || memcmp(a->text.data, b->text.data,
					   a->text.len) == 0);
}

/* The row emitted for schema s must read back as want (present only?). */
static void check_emitted(const struct schema *s, struct field *want,
			  struct field *got, bool only_present,
			  const struct fa_buf *line)
{
	int i, k = 0, n, npresent = 0;
	bool same;

	for (i = 0; i < s->n; i++)
		npresent += want[i].present;
	fa_buf_reset(&out);
	CHECK(fa_ndjson_emit(&m, only_present, &out, &err) == FA_OK);
	if (only_present && npresent == 0) {
		CHECK(out.len == 1 && out.data[0] == '\n');
		return;
	}
	n = parse_copy(out.data, out.len, got, MAXCOLS);
	CHECK(n == (only_present ? npresent : s->n));
	for (i = 0; i < s->n && n > 0; i++) {
		if (only_present && !want[i].present)
			continue;
		same = k < n && same_field(&want[i], &got[k]);
		CHECK(same, "column %d of %s\n  got row %s", i, line->data,
		      out.data);
		if (!same)
			return;
		k++;
	}
}

static void test_round_trip(void)
{
	static struct field want[MAXCOLS], got[MAXCOLS];
	struct schema s;
	struct fa_buf line;
	int round, row, i, rc;
	bool ok;

	for (i = 0; i < MAXCOLS; i++) {
		fa_buf_init(&want[i].text, 0);
		fa_buf_init(&got[i].text, 0);
	}
	fa_buf_init(&line, 0);
	for (round = 0; round < 300; round++) {
		gen_schema(&s, false);
		setup(s.cols, s.n, round % 2);
		for (row = 0; row < 20; row++) {
			gen_row(&s, !m.strict_extra, &line, want);
			memset(present, 0xff, sizeof(present));
			rc = fa_ndjson_parse(&m, line.data, line.len, present,
					     &err);
			CHECK(rc == 1, "%s\n  %s", line.data, err.msg);
			if (rc != 1)
				continue;
			ok = present[FA_NDJSON_WORDS(s.n) - 1] >> 1 >>
			     ((s.n - 1) % 64) == 0;
			for (i = 0; i < s.n; i++)
				ok &= fa_ndjson_has(present, i) == want[i].present;
			CHECK(ok);
			check_emitted(&s, want, got, false, &line);
			check_emitted(&s, want, got, true, &line);
		}
	}
	for (i = 0; i < MAXCOLS; i++) {
		fa_buf_release(&want[i].text);
		fa_buf_release(&got[i].text);
	}
	fa_buf_release(&line);
}

/* ---- mutated lines against jansson ------------------------------------ */

static void mutate(struct fa_buf *line)
{
	static const char alphabet[] = "{}[]:,\"\\ 0123456789eE.+-tfnulx\t"
				       "\xff\xc3\x80\x01\x1f";
	size_t at = rn((uint32_t)line->len + 1);
	char c = alphabet[rn(sizeof(alphabet) - 1)];

	switch (rn(3)) {
	case 0:
		if (at < line->len) {
			memmove(line->data + at, line->data + at + 1,
				line->len - at - 1);
			line->data[--line->len] = '\0';
		}
		break;
	case 1:
		fa_buf_putc(line, ' ');
		memmove(line->data + at + 1, line->data + at, line->len - at - 1);
		line->data[at] = c;
		break;
	default:
		if (at < line->len)
			line->data[at] = c;
	}
}

static void test_against_jansson(void)
{
	static struct field want[MAXCOLS];
	struct schema s;
	struct fa_buf line;
	json_error_t jerr;
	json_t *j;
	int i, rc, agreed = 0;
	bool jok;

	for (i = 0; i < MAXCOLS; i++)
		fa_buf_init(&want[i].text, 0);
	fa_buf_init(&line, 0);
	small_numbers = true;
	for (i = 0; i < 20000; i++) {
		if (i % 50 == 0) {
			gen_schema(&s, true);
			setup(s.cols, s.n, false);
		}
		gen_row(&s, true, &line, want);
		mutate(&line);
		if (rn(2))
			mutate(&line);
		rc = fa_ndjson_parse(&m, line.data, line.len, NULL, &err);
		j = json_loadb(line.data, line.len, JSON_ALLOW_NUL, &jerr);
		jok = j && json_is_object(j);
		json_decref(j);
		if (rc == 0 || (rc < 0 && strstr(err.msg, "duplicate key")) ||
		    (!j && (strstr(jerr.text, "overflow") ||
			    strstr(jerr.text, "too big") ||
			    strstr(jerr.text, "NUL byte"))))
			continue;
		agreed++;
		CHECK((rc == 1) == jok, "ndjson %s, jansson %s: %s",
		      rc == 1 ? "ok" : err.msg,
		      jok ? "ok" : j ? "not an object" : jerr.text, line.data);
	}
	small_numbers = false;
	CHECK(agreed > 15000);
	for (i = 0; i < MAXCOLS; i++)
		fa_buf_release(&want[i].text);
	fa_buf_release(&line);
}

int main(int argc, char **argv)
{
	uint64_t seed = rnd_seed("test_ndjson", argc, argv);

	/* mixed as before, so that old seeds replay */
	rng_state = seed * 0x9e3779b97f4a7c15ULL | 1;
	fa_buf_init(&out, 0);
	test_values();
	test_escapes();
	test_keys();
	test_errors();
	test_depth();
	test_blank_and_limits();
	test_present_only();
	test_wide();
	test_round_trip();
	test_against_jansson();
	fa_ndjson_release(&m);
	fa_buf_release(&out);
	return check_report("test_ndjson");
}
