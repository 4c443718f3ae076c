/*
 * Unit tests for lib/core/json.
 *
 * The escaping of valid text is checked against PostgreSQL's own to_json()
 * (the command is given above the expectation); invalid UTF-8, which the
 * server never sends, against the rule in json.h.  Random strings, seed
 * printed, must come out as JSON that a strict reader accepts and that
 * decodes back to the input.
 */
#include "core/json.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* fa_json_put_string(s[0..len)) must give exactly want. */
static void check_json(const char *file, int line, const char *s,
		       size_t len, const char *want)
{
	struct fa_buf b;
	bool same;

	fa_buf_init(&b, 0);
	same = fa_json_put_string(&b, s, len) == FA_OK &&
	       strcmp(b.data, want) == 0;
	check_fmt(file, line, same, "", "\n  want %s\n  got  %s", want,
		  b.data ? b.data : "(error)");
	fa_buf_release(&b);
}

#define CHECK_JSON(s, want) \
	check_json(__FILE__, __LINE__, s, sizeof(s) - 1, want)

static void test_escapes(void)
{
	/*
	 * psql -At -c "select to_json(string_agg(chr(g), '') || 'x\"y\\z' ||
	 *   chr(127) || 'é日本😀' || chr(8232)) from generate_series(1,31) g"
	 */
	CHECK_JSON("\001\002\003\004\005\006\007\b\t\n\013\f\r\016\017\020"
		   "\021\022\023\024\025\026\027\030\031\032\033\034\035\036"
		   "\037x\"y\\z\177é日本😀\u2028",
		   "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t"
		   "\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013"
		   "\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
		   "\\u001c\\u001d\\u001e\\u001fx\\\"y\\\\z\177é日本😀\u2028\"");
	CHECK_JSON("", "\"\"");
	CHECK_JSON("plain ascii, long enough for two words", 
		   "\"plain ascii, long enough for two words\"");
	CHECK_JSON("nul\0inside", "\"nul\\u0000inside\"");
}

static void test_invalid_utf8(void)
{
	CHECK_JSON("a\xff" "b", "\"a\\ufffdb\"");
	CHECK_JSON("\x80", "\"\\ufffd\"");			/* lone continuation */
	CHECK_JSON("\xc3", "\"\\ufffd\"");			/* truncated at the end */
	CHECK_JSON("\xe6\x97" "x", "\"\\ufffd\\ufffdx\"");	/* truncated */
	CHECK_JSON("\xc0\x80", "\"\\ufffd\\ufffd\"");		/* overlong NUL */
	CHECK_JSON("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong */
	CHECK_JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	CHECK_JSON("\xf4\x90\x80\x80",
		   "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	CHECK_JSON("\xf5", "\"\\ufffd\"");
	CHECK_JSON("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	CHECK_JSON("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");	/* U+D7FF */
	CHECK_JSON("\xee\x80\x80", "\"\xee\x80\x80\"");	/* U+E000 */
}

/* A special byte at every offset, so both the word and byte loops see it. */
static void test_offsets(void)
{
	char in[40], want[64];
	struct fa_buf b;
	size_t i;

	fa_buf_init(&b, 0);
	for (i = 0; i < 24; i++) {
		memset(in, 'a', sizeof(in));
		in[i] = '"';
		snprintf(want, sizeof(want), "\"%.*s\\\"%.*s\"", (int)i, in,
			 (int)(sizeof(in) - i - 1), in + i + 1);
		fa_buf_reset(&b);
		CHECK(fa_json_put_string(&b, in, sizeof(in)) == FA_OK);
		CHECK(strcmp(b.data, want) == 0);

		in[i] = '\xe9';		/* invalid alone */
		snprintf(want, sizeof(want), "\"%.*s\\ufffd%.*s\"", (int)i, in,
			 (int)(sizeof(in) - i - 1), in + i + 1);
		fa_buf_reset(&b);
		CHECK(fa_json_put_string(&b, in, sizeof(in)) == FA_OK);
		CHECK(strcmp(b.data, want) == 0);
	}
	fa_buf_release(&b);
}

static void test_key_and_cap(void)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	CHECK(fa_json_put_key(&b, "a\"b", 3) == FA_OK);
	CHECK(strcmp(b.data, "\"a\\\"b\":") == 0);
	fa_buf_release(&b);

	fa_buf_init(&b, 8);
	CHECK(fa_json_put_string(&b, "abcdef", 6) == FA_OK);	/* 8 bytes */
	fa_buf_reset(&b);
	CHECK(fa_json_put_string(&b, "abcdefg", 7) == FA_ENOMEM);
	fa_buf_reset(&b);
	CHECK(fa_json_put_string(&b, "\001\001", 2) == FA_ENOMEM);
	fa_buf_release(&b);
}

static void test_numbers(void)
{
	static const char *yes[] = {
		"0", "-0", "1", "-22", "3.25", "-2.5e-10", "1e+100", "1E5",
		"0.5", "123456789012345678901234567890.5", "1.5e300",
	};
	static const char *no[] = {
		"", "-", "+1", "01", "1.", ".5", "1e", "1e+", "NaN", "Infinity",
		"-Infinity", " 1", "1 ", "0x10", "1,5", "$7.00", "--1", "1.2.3",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(fa_json_is_number(yes[i], strlen(yes[i])));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!fa_json_is_number(no[i], strlen(no[i])));
	CHECK(!fa_json_is_number("12", 0));
	CHECK(fa_json_is_number("12x", 2));	/* only len bytes count */
}

static void test_decode(void)
{
	unsigned int cp = 0;

	CHECK(fa_json_utf8_decode("A", 1, &cp) == 1 && cp == 'A');
	CHECK(fa_json_utf8_decode("é", 2, &cp) == 2 && cp == 0xe9);
	CHECK(fa_json_utf8_decode("日", 3, &cp) == 3 && cp == 0x65e5);
	CHECK(fa_json_utf8_decode("😀", 4, &cp) == 4 && cp == 0x1f600);
	CHECK(fa_json_utf8_decode("日", 2, &cp) == 0);	/* n too small */
	CHECK(fa_json_utf8_decode("\xc1\xbf", 2, &cp) == 0);
	CHECK(fa_json_utf8_decode("\xf0\x8f\xbf\xbf", 4, &cp) == 0);
	CHECK(fa_json_utf8_decode("", 0, &cp) == 0);
}

/*
 * A strict reader for one JSON string: returns the decoded bytes' length
 * in out, or -1 when s is not exactly one valid JSON string.
 */
static int read_json_string(const char *s, size_t n, char *out)
{
	const char *end = s + n;
	unsigned int cp;
	int len = 0, k;

	if (n < 2 || *s != '"' || end[-1] != '"')
		return -1;
	for (s++, end--; s < end; s += k) {
		if (*s == '\\') {
			const char *esc = strchr("\"\\/bfnrtu", s[1]);

			if (!esc || s + 1 >= end)
				return -1;
			if (s[1] == 'u') {
				if (end - s < 6 || sscanf(s + 2, "%4x", &cp) != 1)
					return -1;
				if (cp == 0xfffd)
					out[len++] = '?';
				else
					out[len++] = (char)cp;
				k = 6;
			} else {
				out[len++] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrtu"];
				k = 2;
			}
			continue;
		}
		if ((unsigned char)*s < 0x20 || *s == '"')
			return -1;
		k = fa_json_utf8_decode(s, end - s, &cp);
		if (k == 0)
			return -1;
		memcpy(out + len, s, k);
		len += k;
	}
	return len;
}

static void test_random(void)
{
	static const char *atoms[] = {
		"a", "Z", " ", "\"", "\\", "\n", "\t", "\001", "\037", "\177",
		"é", "日本", "😀", "/", "\xff", "\xc3", "\xe6\x97",
	};
	char in[256], back[1024];
	struct fa_buf b;
	int i, k, n, bad = 0;
	size_t len;

	fa_buf_init(&b, 0);
	for (i = 0; i < 2000; i++) {
		len = 0;
		n = rand() % 24;
		for (k = 0; k < n; k++) {
			const char *a = atoms[rand() % 17];

			memcpy(in + len, a, strlen(a));
			len += strlen(a);
		}
		fa_buf_reset(&b);
		CHECK(fa_json_put_string(&b, in, len) == FA_OK);
		n = read_json_string(b.data, b.len, back);
		if (n < 0) {
			bad++;
			continue;
		}
		/* invalid bytes came back as '?': compare the rest exactly */
		for (k = 0; k < n && (size_t)k < len; k++)
			if (back[k] == '?' && (unsigned char)in[k] >= 0x80)
				in[k] = '?';
		if ((size_t)n != len || memcmp(back, in, len) != 0)
			bad++;
	}
	CHECK(bad == 0);
	fa_buf_release(&b);
}

int main(int argc, char **argv)
{
	unsigned int seed = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10)
				     : (unsigned int)time(NULL);

	printf("test_json: seed %u\n", seed);
	srand(seed);
	test_escapes();
	test_invalid_utf8();
	test_offsets();
	test_key_and_cap();
	test_numbers();
	test_decode();
	test_random();
	return check_report("test_json");
}
