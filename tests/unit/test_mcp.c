/*
 * Unit tests for what the query tool of fa-mcp takes from lib: params
 * into parameter text (mcp), rows with "truncated" (mcp), and durations
 * (opt, shared with the SQL files' timeout key).
 */
#include "core/opt.h"
#include "mcp/mcp.c"
#include "check.h"

/* The text of the JSON value json for a parameter; "(null)" for NULL. */
static void value_is(const char *file, int line, const char *json, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *got = fa_mcp_value_text(v);

	check_str(file, line, got ? got : "(null)", want, json);
	free(got);
	json_decref(v);
}
#define VALUE_IS(json, want) value_is(__FILE__, __LINE__, (json), (want))

static void test_value_text(void)
{
	VALUE_IS("\"x'; DROP TABLE t; --\"", "x'; DROP TABLE t; --");
	VALUE_IS("42", "42");
	VALUE_IS("0.1", "0.1");
	VALUE_IS("true", "true");
	VALUE_IS("null", "(null)");
	VALUE_IS("[1,\"a b\",null]", "{\"1\",\"a b\",NULL}");
	VALUE_IS("[[1],[2]]", "{{\"1\"},{\"2\"}}");
	VALUE_IS("{\"k\":[1]}", "{\"k\":[1]}");
	VALUE_IS("[{\"k\":1}]", "[{\"k\":1}]");     /* objects in an array: its JSON */
}

static void test_rows_truncated(void)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	CHECK(fa_mcp_put_rows_truncated(&b, "[{\"a\":1},\n{\"a\":2}]\n", 18, true) == FA_OK);
	CHECK_STR(b.data, "{\"content\":[{\"type\":\"text\",\"text\":\"[{\\\"a\\\":1},\\n{\\\"a\\\":2}]\"}],"
		  "\"structuredContent\":{\"rows\":[{\"a\":1},{\"a\":2}],\"truncated\":true},\"isError\":false}");
	fa_buf_reset(&b);
	CHECK(fa_mcp_put_rows_truncated(&b, "", 0, false) == FA_OK);
	CHECK_STR(b.data, "{\"content\":[{\"type\":\"text\",\"text\":\"[]\"}],"
		  "\"structuredContent\":{\"rows\":[],\"truncated\":false},\"isError\":false}");
	fa_buf_reset(&b);
	CHECK(fa_mcp_put_rows(&b, FA_RETURNS_MANY, "[]", 2) == FA_OK);
	CHECK_STR(b.data, "{\"content\":[{\"type\":\"text\",\"text\":\"[]\"}],"
		  "\"structuredContent\":{\"rows\":[]},\"isError\":false}");
	fa_buf_release(&b);
}

static void test_duration(void)
{
	struct fa_error err = { 0 };
	long long ms = 0;
	long out = 0;

	CHECK(fa_duration_ms("500ms", &ms) && ms == 500);
	CHECK(fa_duration_ms("30s", &ms) && ms == 30000);
	CHECK(fa_duration_ms("5min", &ms) && ms == 300000);
	CHECK(fa_duration_ms("1h", &ms) && ms == 3600000);
	CHECK(!fa_duration_ms("30", &ms) && !fa_duration_ms("0s", &ms) && !fa_duration_ms("s", &ms));
	CHECK(!fa_duration_ms("-1s", &ms) && !fa_duration_ms("1.5s", &ms) && !fa_duration_ms("2 s", &ms));
	CHECK(!fa_duration_ms("999999999h", &ms) && !fa_duration_ms("99999999999999999999ms", &ms));
	CHECK(fa_opt_duration("sql-timeout", "2s", 1, 86400000, &out, &err) == FA_OK && out == 2000);
	CHECK(fa_opt_duration("sql-timeout", "2d", 1, 86400000, &out, &err) == FA_EUSAGE);
	CHECK_STR(err.msg, "option '--sql-timeout' takes a duration such as 500ms, 30s or 5min, "
		  "from 1ms to 86400000ms, not '2d'");
	CHECK(fa_opt_duration("sql-timeout", "25h", 1, 86400000, &out, &err) == FA_EUSAGE);
}

int main(int argc, char **argv)
{
	rnd_seed("test_mcp", argc, argv);
	RUN(test_value_text);
	RUN(test_rows_truncated);
	RUN(test_duration);
	return check_report("test_mcp");
}
