/*
 * Unit tests for lib/pg/pgtext: values in PostgreSQL's text form, accepted
 * or rejected per type as PostgreSQL 15's input functions would, with the
 * exact message for each rejection.
 */
#include "pg/pgtext.c"

#include <stdio.h>

#include "check.h"

/* Checks value against type t ("int", "int[]"); want NULL means valid. */
static void value(const char *t, const char *v, size_t len, const char *want,
		  const char *file, int line)
{
	enum fa_qtype type = FA_QTYPE_TEXT;
	struct fa_error e;
	size_t n = strlen(t);
	bool array = n > 2 && strcmp(t + n - 2, "[]") == 0;

	check(file, line, fa_pgtext_type_parse(t, n - (array ? 2 : 0), &type), t);
	fa_error_clear(&e);
	if (fa_pgtext_check(type, array, v, len, &e) == FA_OK) {
		check_str(file, line, want ? "(valid)" : NULL, want, NULL);
		return;
	}
	check(file, line, e.code == FA_EINPUT, "FA_EINPUT");
	check_str(file, line, e.msg, want ? want : "(valid)", NULL);
}
#define VALID(t, v) value((t), (v), strlen(v), NULL, __FILE__, __LINE__)
#define INVALID(t, v, msg) value((t), (v), strlen(v), (msg), __FILE__, __LINE__)
#define BAD(t, v) value((t), (v), strlen(v), \
			"\"" v "\" is not a valid " t, __FILE__, __LINE__)
#define RANGE(t, v) value((t), (v), strlen(v), \
			  "\"" v "\" is out of range for " t, __FILE__, __LINE__)

/* Names and oids, both ways. */
static void test_types(void)
{
	enum fa_qtype t = FA_QTYPE_TEXT;

	CHECK(fa_pgtext_type_parse("timestamptz", 11, &t) && t == FA_QTYPE_TIMESTAMPTZ);
	CHECK(fa_pgtext_type_parse("jsonb", 5, &t) && t == FA_QTYPE_JSONB);
	CHECK(!fa_pgtext_type_parse("int[]", 5, &t));
	CHECK(!fa_pgtext_type_parse("integer", 7, &t));
	CHECK(!fa_pgtext_type_parse("in", 2, &t));
	CHECK(strcmp(fa_pgtext_type_name(FA_QTYPE_BIGINT), "bigint") == 0);
	CHECK(strcmp(fa_pgtext_type_name((enum fa_qtype)99), "?") == 0);
	CHECK(fa_pgtext_type_oid(FA_QTYPE_INT, false) == 23);
	CHECK(fa_pgtext_type_oid(FA_QTYPE_INT, true) == 1007);
	CHECK(fa_pgtext_type_oid(FA_QTYPE_UUID, false) == 2950);
	CHECK(fa_pgtext_type_oid(FA_QTYPE_JSONB, true) == 3807);
}

static void test_values(void)
{
	VALID("text", "");
	VALID("text", "anything at all, even 'quotes' and \xc3\xa9");
	INVALID("text", "bad \xc3(", "value is not valid UTF-8 or "
		"holds a NUL byte");
	value("text", "a\0b", 3, "value is not valid UTF-8 or "
	      "holds a NUL byte", __FILE__, __LINE__);

	VALID("int", "0");
	VALID("int", " -2147483648 ");
	VALID("int", "+2147483647");
	VALID("int", "007");
	RANGE("int", "2147483648");
	RANGE("int", "-2147483649");
	RANGE("int", "99999999999999999999999");
	BAD("int", "");
	BAD("int", "-");
	BAD("int", "12x");
	BAD("int", "1.0");
	BAD("int", "1 2");
	BAD("int", "0x10");
	VALID("bigint", "-9223372036854775808");
	VALID("bigint", "9223372036854775807");
	RANGE("bigint", "9223372036854775808");
	RANGE("bigint", "-9223372036854775809");
	BAD("bigint", "1e3");

	VALID("numeric", "12.50");
	VALID("numeric", "-.5");
	VALID("numeric", "5.");
	VALID("numeric", "1e-7");
	VALID("numeric", " +1.5E+10 ");
	VALID("numeric", "NaN");
	VALID("numeric", "-Infinity");
	VALID("numeric", "9e131071");
	VALID("numeric", "0.000e131074");
	VALID("numeric", "0e1000000");
	VALID("numeric", "1e-16383");
	RANGE("numeric", "1e131072");
	RANGE("numeric", "1e99999999999999999999");
	RANGE("numeric", "1e-16384");
	RANGE("numeric", "0.1e-16383");
	BAD("numeric", ".");
	BAD("numeric", "1e+");
	BAD("numeric", "12,5");
	BAD("numeric", "1e");
	BAD("numeric", "--1");
	BAD("numeric", "+NaN");

	VALID("float", "3.25");
	VALID("float", "-1e308");
	VALID("float", "4.9e-324");
	VALID("float", "inf");
	VALID("float", "-Infinity");
	VALID("float", "nan");
	RANGE("float", "1e309");
	RANGE("float", "1e-400");
	BAD("float", "1.2.3");
	BAD("float", "");

	VALID("bool", "true");
	VALID("bool", "T");
	VALID("bool", "fal");
	VALID("bool", " yes ");
	VALID("bool", "n");
	VALID("bool", "on");
	VALID("bool", "OFF");
	VALID("bool", "of");
	VALID("bool", "1");
	VALID("bool", "0");
	BAD("bool", "o");
	BAD("bool", "truex");
	BAD("bool", "2");
	BAD("bool", "10");
	BAD("bool", "onn");

	VALID("date", "2024-02-29");
	VALID("date", " 1999-12-31 ");
	VALID("date", "infinity");
	VALID("date", "-Infinity");
	RANGE("date", "2023-02-29");
	RANGE("date", "2024-13-01");
	RANGE("date", "2024-04-31");
	RANGE("date", "0000-01-01");
	BAD("date", "2024-1-01");
	BAD("date", "20240101");
	BAD("date", "2024-01-01x");
	BAD("date", "today");

	VALID("timestamptz", "2024-02-29");
	VALID("timestamptz", "2024-02-29T12:30");
	VALID("timestamptz", "2024-02-29 12:30:15");
	VALID("timestamptz", "2024-02-29T12:30:15.123456Z");
	VALID("timestamptz", "2024-02-29T12:30:15+02");
	VALID("timestamptz", "2024-02-29T12:30:15-05:30");
	VALID("timestamptz", "2024-02-29 12:30:15 +0530");
	VALID("timestamptz", "2024-02-29T24:00:00");
	VALID("timestamptz", "2016-12-31T23:59:60Z");
	VALID("timestamptz", "infinity");
	RANGE("timestamptz", "2024-02-29T24:00:01");
	RANGE("timestamptz", "2024-02-29T12:60");
	RANGE("timestamptz", "2024-02-30T12:00");
	RANGE("timestamptz", "2024-02-29T12:00+16");
	BAD("timestamptz", "2024-02-29T12");
	VALID("timestamptz", "2024-02-29T12:30:15.");
	RANGE("timestamptz", "2016-12-31T23:59:60.5");
	BAD("timestamptz", "2024-02-29T12:30 CET");
	VALID("timestamptz", "2024-02-29T12:30+1");
	BAD("timestamptz", "2024-02-29T12:30+123");
	BAD("timestamptz", "2024-02-29X12:30");

	VALID("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	VALID("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
	VALID("uuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}");
	VALID("uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11");
	VALID("uuid", "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11");
	VALID("uuid", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}");
	BAD("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1");
	BAD("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111");
	BAD("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-");
	BAD("uuid", "a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	BAD("uuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	BAD("uuid", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	BAD("uuid", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	BAD("uuid", "");

	VALID("json", "{\"a\": [1, 2.5, true, null, \"x\"]}");
	VALID("json", "42");
	VALID("json", " \"str\" ");
	VALID("json", "123456789012345678901234567890");
	VALID("json", "1e400");
	VALID("json", "\"\\u0000\"");
	VALID("jsonb", "[]");
	INVALID("jsonb", "\"\\u0000\"", "\"\"\\u0000\"\" is not a "
		"valid jsonb: \\u0000 is not allowed in jsonb");
	INVALID("json", "{", "\"{\" is not a valid json: string or "
		"'}' expected near end of file");
	INVALID("json", "", "\"\" is not a valid json: unexpected "
		"token near end of file");
	INVALID("json", "{'a': 1}", "\"{'a': 1}\" is not a valid "
		"json: string or '}' expected near '''");
	INVALID("json", "[1] [2]", "\"[1] [2]\" is not a valid "
		"json: end of file expected near '['");

	VALID("int[]", "{}");
	VALID("int[]", " { 1 , -2,NULL, null } ");
	VALID("int[]", "{{1,2},{3,4}}");
	VALID("int[]", "{\"1\",\" 2\"}");
	VALID("text[]", "{a b,\"c,d\",\"e\\\"f\",g\\,h,\"NULL\",\"\"}");
	VALID("date[]", "{2024-01-01,infinity}");
	VALID("jsonb[]", "{\"{\\\"a\\\": 1}\",null}");
	VALID("bool[]", "{t,f,yes}");
	INVALID("int[]", "{1,x,3}", "array element \"x\" is not a "
		"valid int");
	INVALID("int[]", "{1,\"99999999999\"}", "array element "
		"\"\"99999999999\"\" is out of range for int");
	INVALID("jsonb[]", "{\"{\"}", "array element \"\"{\"\" is "
		"not a valid jsonb: string or '}' expected near end of file");
	INVALID("int[]", "1,2", "\"1,2\" is not a valid int[] array "
		"literal");
	INVALID("int[]", "{1,2", "\"{1,2\" is not a valid int[] "
		"array literal");
	INVALID("int[]", "{1,}", "\"{1,}\" is not a valid int[] "
		"array literal");
	INVALID("int[]", "{,1}", "\"{,1}\" is not a valid int[] "
		"array literal");
	INVALID("int[]", "{{1,2},{3}}", "\"{{1,2},{3}}\" is not a "
		"valid int[] array literal");
	INVALID("int[]", "{{1},2}", "\"{{1},2}\" is not a valid "
		"int[] array literal");
	INVALID("int[]", "{1}x", "\"{1}x\" is not a valid int[] "
		"array literal");
	INVALID("text[]", "{a\"b}", "\"{a\"b}\" is not a valid "
		"text[] array literal");
	INVALID("text[]", "{\"ab\\\"}", "\"{\"ab\\\"}\" is not a "
		"valid text[] array literal");
	INVALID("int[]", "{{{{{{{1}}}}}}}", "\"{{{{{{{1}}}}}}}\" is "
		"not a valid int[] array literal");
	VALID("int[]", "{{{{{{1}}}}}}");
	INVALID("int[]", "{{}}", "\"{{}}\" is not a valid int[] "
		"array literal");

	/* a long value is cut short in the message */
	INVALID("int", "1234567890123456789012345678901234567890x",
		"\"1234567890123456789012345678901234567890...\" "
		"is not a valid int");
}

int main(void)
{
	test_types();
	test_values();
	return check_report("test_pgtext");
}
