/*
 * Unit tests for lib/mcp/jsonrpc: every kind of message, every way a
 * message can be wrong with the code it earns, ids echoed as sent, and
 * random bytes that must never crash the parser (seed printed).  The
 * result scanner takes only what the parser takes, and reads it the same.
 */
#include "mcp/jsonrpc.c"

#include "check.h"

/* Parses s; checks the code returned and, when want_err, a part of the message. */
static int parse_s(struct fa_jr_msg *m, const char *s, struct fa_error *err)
{
	return fa_jr_parse(m, s, strlen(s), err);
}

static void test_kinds(void)
{
	struct fa_jr_msg m;
	struct fa_error err;

	CHECK(parse_s(&m, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\",\"params\":{}}", &err) == 0);
	CHECK(m.kind == FA_JR_REQUEST);
	CHECK_STR(m.method, "tools/list");
	CHECK(json_integer_value(m.id) == 7);
	CHECK(json_is_object(m.params));
	fa_jr_release(&m);

	CHECK(parse_s(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &err) == 0);
	CHECK(m.kind == FA_JR_NOTIFICATION && !m.id && !m.params);
	fa_jr_release(&m);

	CHECK(parse_s(&m, "{\"jsonrpc\":\"2.0\",\"id\":\"a-1\",\"result\":{\"x\":1}}", &err) == 0);
	CHECK(m.kind == FA_JR_RESULT);
	CHECK_STR(json_string_value(m.id), "a-1");
	fa_jr_release(&m);

	CHECK(parse_s(&m, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"bad\",\"data\":[1]}}",
		      &err) == 0);
	CHECK(m.kind == FA_JR_ERROR && m.code == -32700 && !m.id);
	CHECK_STR(m.message, "bad");
	CHECK(json_is_array(m.data));
	fa_jr_release(&m);
	fa_jr_release(&m);      /* twice is harmless */
}

static void check_bad(const char *file, int line, const char *s, int want, const char *part,
		      bool has_id)
{
	struct fa_jr_msg m;
	struct fa_error err = { 0 };
	int code = parse_s(&m, s, &err);

	check_fmt(file, line, code == want, s, "\n  want code %d, got %d (%s)", want, code, err.msg);
	check_fmt(file, line, strstr(err.msg, part) != NULL, s, "\n  want '%s' in '%s'", part, err.msg);
	check_fmt(file, line, (m.id != NULL) == has_id, s, "\n  id %s", m.id ? "read" : "not read");
	fa_jr_release(&m);
}

#define CHECK_BAD(s, want, part, has_id) check_bad(__FILE__, __LINE__, s, want, part, has_id)

static void test_bad(void)
{
	CHECK_BAD("", FA_JR_PARSE_ERROR, "not JSON", false);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",", FA_JR_PARSE_ERROR, "line 1, column", false);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"} x", FA_JR_PARSE_ERROR, "not JSON", false);
	CHECK_BAD("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}]", FA_JR_INVALID_REQUEST, "batches", false);
	CHECK_BAD("42", FA_JR_INVALID_REQUEST, "a JSON object", false);
	CHECK_BAD("{\"id\":1,\"method\":\"a\"}", FA_JR_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", true);
	CHECK_BAD("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"a\"}", FA_JR_INVALID_REQUEST, "\"2.0\"", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", FA_JR_INVALID_REQUEST, "\"method\" must be a string", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"a\"}", FA_JR_INVALID_REQUEST, "\"id\" must be", false);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"a\"}", FA_JR_INVALID_REQUEST, "\"id\" must be", false);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"a\"}", FA_JR_INVALID_REQUEST, "\"id\" must be", false);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"a\",\"params\":[1]}", FA_JR_INVALID_REQUEST,
		  "\"params\" must be an object", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1}", FA_JR_INVALID_REQUEST, "no \"method\"", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", FA_JR_INVALID_REQUEST, "not both", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}", FA_JR_INVALID_REQUEST,
		  "error.code", true);
	CHECK_BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"result\":1}", FA_JR_INVALID_REQUEST,
		  "no \"result\"", true);
}

static void check_out(const char *file, int line, struct fa_buf *b, const char *want)
{
	check_fmt(file, line, b->data && !strcmp(b->data, want), "", "\n  want %s\n  got  %s", want,
		  b->data ? b->data : "(nothing)");
	fa_buf_reset(b);
}

#define CHECK_OUT(b, want) check_out(__FILE__, __LINE__, b, want)

static void test_writers(void)
{
	struct fa_buf b;
	json_t *id = json_string("q\"1"), *n = json_integer(12), *obj = json_pack("{s:i,s:[s]}", "b", 2, "a", "x/y");

	fa_buf_init(&b, 0);
	CHECK(fa_jr_put_result(&b, n, obj) == FA_OK);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"b\":2,\"a\":[\"x/y\"]}}");
	fa_jr_put_result(&b, id, NULL);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":\"q\\\"1\",\"result\":{}}");
	fa_jr_put_error(&b, NULL, FA_JR_PARSE_ERROR, "not JSON: line 1", NULL);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"not JSON: line 1\"}}");
	fa_jr_put_error(&b, n, FA_JR_INVALID_PARAMS, "bad", obj);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":12,\"error\":{\"code\":-32602,\"message\":\"bad\",\"data\":{\"b\":2,\"a\":[\"x/y\"]}}}");
	fa_jr_put_request(&b, n, "tools/call", obj);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\",\"params\":{\"b\":2,\"a\":[\"x/y\"]}}");
	/* a message quoting invalid UTF-8 of the input is escaped, not refused */
	CHECK(fa_jr_put_error(&b, NULL, FA_JR_PARSE_ERROR, "near '\xcc\x84T'", NULL) == FA_OK);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"near '\u0304T'\"}}");
	fa_jr_put_error(&b, NULL, FA_JR_PARSE_ERROR, "near '\xccT'", NULL);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"near '\\ufffdT'\"}}");
	fa_jr_put_notification(&b, "notifications/initialized", NULL);
	CHECK_OUT(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	/* integers are written without printf: both ends of 64 bits, zero, and signs */
	{
		json_t *ints = json_pack("[I,I,i,i,i]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, 0, -7, 1000);

		fa_jr_put_json(&b, ints);
		CHECK_OUT(&b, "[-9223372036854775808,9223372036854775807,0,-7,1000]");
		json_decref(ints);
	}
	/* what is written parses back to the same kind, id and method */
	{
		struct fa_jr_msg m;
		struct fa_error err;

		fa_jr_put_request(&b, id, "ping", NULL);
		CHECK(fa_jr_parse(&m, b.data, b.len, &err) == 0 && m.kind == FA_JR_REQUEST);
		CHECK(json_equal(m.id, id));
		fa_jr_release(&m);
		fa_buf_reset(&b);
	}
	/* reals as their shortest text; pretty output indents */
	{
		json_t *r = json_pack("{s:f,s:f,s:f,s:f,s:[],s:{}}", "a", 6.49, "b", 1.0, "c", 1e300,
				      "d", 0.1 + 0.2, "e", "f");

		fa_jr_put_json(&b, r);
		CHECK_OUT(&b, "{\"a\":6.49,\"b\":1.0,\"c\":1e+300,\"d\":0.30000000000000004,\"e\":[],\"f\":{}}");
		fa_jr_put_json_pretty(&b, r, 2);
		CHECK(b.data && !strncmp(b.data, "{\n  \"a\": 6.49,\n  \"b\": 1.0,", 25), "%s", b.data);
		fa_buf_reset(&b);
		json_decref(r);
	}
	json_decref(id);
	json_decref(n);
	json_decref(obj);
	fa_buf_release(&b);
}

/* Random bytes and mutated messages: any answer, never a crash or a leak. */
static void test_random(void)
{
	static const char base[] = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
				   "\"params\":{\"name\":\"x\",\"arguments\":{\"a\":[1,2,{\"b\":null}]}}}";
	char buf[sizeof(base)];
	int ok = 0;

	for (int i = 0; i < 20000; i++) {
		struct fa_jr_msg m;
		struct fa_error err;
		size_t n = sizeof(base) - 1;

		memcpy(buf, base, sizeof(base));
		for (int k = rnd_below(4); k >= 0; k--)
			buf[rnd_below((uint32_t)n)] = (char)rnd_below(256);
		if (rnd_below(4) == 0)
			n = rnd_below((uint32_t)n);
		ok += fa_jr_parse(&m, buf, n, &err) == 0;
		fa_jr_release(&m);
	}
	CHECK(ok > 0 && ok < 20000, "%d of 20000 parsed", ok);
}

/* When the scanner takes s, the parser does too, with the same id, result and keys. */
static bool scan_agrees(const char *s, size_t n)
{
	struct fa_jr_raw raw;
	struct fa_jr_msg m;
	struct fa_error err;
	json_t *res;
	bool ok;

	if (!fa_jr_scan_result(s, n, &raw))
		return true;
	if (fa_jr_parse(&m, s, n, &err) || m.kind != FA_JR_RESULT) {
		fa_jr_release(&m);
		return false;
	}
	/* an integer past 64 bits makes every number a double, as fa_jr_parse() does */
	res = json_loadb(s + raw.result_off, raw.result_len,
			 JSON_DECODE_ANY | (json_is_real(m.id) ? JSON_DECODE_INT_AS_REAL : 0), NULL);
	ok = json_number_value(m.id) == (double)raw.id && json_equal(res, m.result) &&
	     raw.result_object == json_is_object(m.result) &&
	     raw.has_result_type == (json_object_get(m.result, "resultType") != NULL) &&
	     raw.is_error == json_is_true(json_object_get(m.result, "isError"));
	json_decref(res);
	fa_jr_release(&m);
	return ok;
}

static bool scans(const char *s)
{
	struct fa_jr_raw raw;

	return fa_jr_scan_result(s, strlen(s), &raw);
}

static void test_scan(void)
{
	static const char base[] = "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"content\":[{\"type\":\"text\","
				   "\"text\":\"caf\u00e9 \\u00e9\\n\"}],\"isError\":true,\"n\":[-0.5e+3,0,null,false],"
				   "\"resultType\":\"complete\"}}";
	static const char bytes[] = "{}[]\",:\\ 0-.eEtnu\x80\xc3\xa9";      /* what to put in */
	struct fa_jr_raw raw;
	char buf[sizeof(base)];
	int took = 0;

	CHECK(fa_jr_scan_result(base, strlen(base), &raw));
	CHECK(raw.id == 12 && raw.result_object && raw.is_error && raw.has_result_type);
	CHECK(base[raw.result_off] == '{' && base[raw.result_off + raw.result_len - 1] == '}');
	CHECK(scan_agrees(base, strlen(base)));
	CHECK(scans(" { \"jsonrpc\" : \"2.0\" , \"id\" : 3 , \"result\" : [ ] } "));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"x\"}}"));
	CHECK(!scans("{\"id\":3,\"jsonrpc\":\"2.0\",\"result\":{}}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"result\":{}}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}} x"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"\\u0000\"}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"\\ud800\"}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"\xc3\"}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":01}"));
	CHECK(!scans("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"result\\u0054ype\":1}}"));
	for (int i = 0; i < 50000; i++) {
		size_t n = sizeof(base) - 1;

		memcpy(buf, base, sizeof(base));
		for (int k = rnd_below(3); k >= 0; k--)
			buf[rnd_below((uint32_t)n)] = bytes[rnd_below(sizeof(bytes) - 1)];
		if (rnd_below(8) == 0)
			n = rnd_below((uint32_t)n);
		took += fa_jr_scan_result(buf, n, &raw);
		CHECK(scan_agrees(buf, n), "%.*s", (int)n, buf);
	}
	CHECK(took > 0 && took < 50000, "%d of 50000 scanned", took);
}

/*
 * The tree fa_jr_parse() gives is jansson's own reading of the same bytes,
 * key order and integer-or-real kept: both written out must be the same
 * text.  jansson reads every number as a double when one integer is past
 * 64 bits, as fa_jr_parse() does.
 */
static bool tree_agrees(const char *s, size_t n)
{
	struct fa_jr_msg m;
	struct fa_error err;
	struct fa_buf a, b;
	json_t *j = json_loadb(s, n, JSON_DECODE_ANY, NULL), *id;
	int code = fa_jr_parse(&m, s, n, &err);
	double d;
	bool ok;

	if (!j)
		j = json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
	/* and, as it does, an id that became a double is an integer again when it is one */
	id = json_object_get(j, "id");
	d = json_is_real(id) ? json_real_value(id) : 0.5;
	if (d == (double)(json_int_t)d && d <= 9.0e18 && d >= -9.0e18)
		json_object_set_new(j, "id", json_integer((json_int_t)d));
	if (!j || !m.root) {
		ok = !j && !m.root && code == FA_JR_PARSE_ERROR;
	} else {
		fa_buf_init(&a, 0);
		fa_buf_init(&b, 0);
		ok = !fa_jr_put_json(&a, j) && !fa_jr_put_json(&b, m.root) && a.len == b.len &&
		     !memcmp(a.data, b.data, a.len);
		fa_buf_release(&a);
		fa_buf_release(&b);
	}
	json_decref(j);
	fa_jr_release(&m);
	return ok;
}

static bool tree_same(const char *s)
{
	return tree_agrees(s, strlen(s));
}

static void test_tree(void)
{
	static const char base[] = "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"tools/call\","
				   "\"params\":{\"name\":\"caf\u00e9\",\"arguments\":{\"a\":[1,-0,2.50,-1e-3,true,"
				   "false,null,\"\\u00e9\\u20ac\\/\\\"\\\\\\b\\f\\n\\r\\t\"],\"a\":{},\"\":[]},"
				   "\"_meta\":{\"progressToken\":9223372036854775807}}}";
	static const char bytes[] = "{}[]\",:\\ 0-.eE1tnu\x80\xc3\xa9\x01";
	char deep[200], buf[sizeof(base)];
	char key[300];
	int took = 0;

	CHECK(tree_same(base));
	CHECK(tree_same(" {\"a\" : [ 1 , 2 ] , \"b\":\"x\"} \n"));
	CHECK(tree_same("{\"id\":9223372036854775808,\"x\":1}"));       /* every number a double */
	CHECK(tree_same("{\"id\":-9223372036854775809}"));
	CHECK(tree_same("[1e400]") && tree_same("[1e-400]") && tree_same("[-0.0]"));
	CHECK(tree_same("{\"k\":1,\"k\":2,\"j\":3}"));                   /* the last of a key, in its place */
	CHECK(tree_same("\"\\ud83d\\ude00\"") && tree_same("\"\\ud800\"") && tree_same("\"\\u0000\""));
	CHECK(tree_same("{\"\\u0041b\\n\":\"v\"}") && tree_same("") && tree_same("  ") && tree_same("{} {}"));
	memset(key, 'k', sizeof(key));
	snprintf(key, sizeof(key), "{\"%.*s\":{\"%.*s\":1}}", 70, key + 200, 63, key + 200);
	CHECK(tree_same(key));
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CHECK(tree_agrees(deep, sizeof(deep)));                          /* deeper than the scanner: jansson's */
	for (int i = 0; i < 50000; i++) {
		size_t n = sizeof(base) - 1;
		json_t *j;

		memcpy(buf, base, sizeof(base));
		for (int k = rnd_below(3); k >= 0; k--)
			buf[rnd_below((uint32_t)n)] = bytes[rnd_below(sizeof(bytes) - 1)];
		if (rnd_below(8) == 0)
			n = rnd_below((uint32_t)n);
		j = json_loadb(buf, n, JSON_DECODE_ANY, NULL);
		took += j != NULL;
		json_decref(j);
		CHECK(tree_agrees(buf, n), "%.*s", (int)n, buf);
	}
	CHECK(took > 0 && took < 50000, "%d of 50000 were JSON", took);
}

int main(int argc, char **argv)
{
	rnd_seed("test_jsonrpc", argc, argv);
	RUN(test_kinds);
	RUN(test_bad);
	RUN(test_writers);
	RUN(test_random);
	RUN(test_scan);
	RUN(test_tree);
	return check_report("test_jsonrpc");
}
