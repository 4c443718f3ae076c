/*
 * Unit tests for lib/pg/pgbinary, and a small driver for tests/pgbinary.bats.
 *
 * Every expected payload below is what PostgreSQL 15 sent for the same
 * text, as hex: `SELECT encode(<type>send('<text>'::<type>), 'hex')`
 * (the send function is what COPY ... (FORMAT binary) writes per field);
 * every expected message is the server's SQLERRM for the same cast.
 *
 * Driver modes (the bats test compares them with a real server):
 *   --encode OID[,OID...]  stdin: rows of tab-separated values in COPY
 *                          text form (\N is NULL); stdout: binary COPY
 *   --check                stdin: lines "OID<tab>value"; stdout, one line
 *                          each: "OK <payload hex>" (jsonb: "OK -"),
 *                          "ERR <message>" or "SKIP <message>" (FA_EUSAGE),
 *                          escaped as COPY text output is
 *   --gen-values SEED N    edge and random values for --check
 *   --gen-rows SEED N      random valid rows for the columns in ROW_TYPES
 */
#include "pg/pgbinary.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void hex(const unsigned char *p, size_t n, char *outs)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(outs + 2 * i, "%02x", p[i]);
	outs[2 * n] = '\0';
}

enum { WHY_SIZE = 800 };

/* Says why a check failed; fmt has three %s (or %.*s-free) slots, each
 * shown clipped to 200 bytes so that huge test values stay readable. */
static void why_failed(char why[WHY_SIZE], const char *fmt, const char *a,
		       const char *b, const char *c)
{
	char ca[204], cb[204], cc[204];

	snprintf(ca, sizeof(ca), "%.200s", a);
	snprintf(cb, sizeof(cb), "%.200s", b);
	snprintf(cc, sizeof(cc), "%.200s", c);
	snprintf(why, WHY_SIZE, fmt, ca, cb, cc);
}

/* Encodes text as one field; the payload's hex goes to hexout. */
static enum fa_err encode(unsigned int oid, const char *text, size_t len,
			  char *hexout, size_t hexcap, struct fa_error *err)
{
	struct fa_buf b;
	enum fa_err rc;
	uint32_t n;

	fa_buf_init(&b, 1u << 24);
	fa_error_clear(err);
	rc = fa_pgbin_field(&b, oid, text, len, false, err);
	hexout[0] = '\0';
	if (rc == FA_OK) {
		const unsigned char *p = (const unsigned char *)b.data;

		n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
		if (n + 4 != b.len)
			strcpy(hexout, "length word does not match");
		else if (2 * (size_t)n + 1 <= hexcap)
			hex(p + 4, n, hexout);
		else
			strcpy(hexout, "too long to show");
	} else if (b.len != 0) {
		strcpy(hexout, "buffer changed on error");
	}
	fa_buf_release(&b);
	return rc;
}

static void expect_bytes(const char *file, int line, unsigned int oid,
			 const char *text, const char *want)
{
	char got[4096], why[WHY_SIZE] = "";
	struct fa_error err;
	enum fa_err rc;
	char oids[16];

	rc = encode(oid, text, strlen(text), got, sizeof(got), &err);
	snprintf(oids, sizeof(oids), "%u", oid);
	if (rc != FA_OK)
		why_failed(why, "type %s, \"%s\": %s", oids, text, err.msg);
	else if (strcmp(got, want) != 0)
		why_failed(why, "type %s, \"%s\": got %s", oids, text, got);
	check(file, line, why[0] == '\0', why);
}

static void expect_error(const char *file, int line, unsigned int oid,
			 const char *text, size_t len, enum fa_err code,
			 const char *want)
{
	char got[4096], oids[16], why[WHY_SIZE] = "";
	struct fa_error err;
	enum fa_err rc;

	rc = encode(oid, text, len, got, sizeof(got), &err);
	snprintf(oids, sizeof(oids), "%u", oid);
	if (rc != code)
		why_failed(why, "type %s, \"%s\": wrong result (%s)", oids, text,
			   rc == FA_OK ? got : err.msg);
	else if (got[0])
		why_failed(why, "type %s, \"%s\": %s", oids, text, got);
	else if (want && strcmp(err.msg, want) != 0)
		why_failed(why, "type %s, \"%s\": message %s", oids, text,
			   err.msg);
	check(file, line, why[0] == '\0', why);
}

#define BYTES(oid, text, want) expect_bytes(__FILE__, __LINE__, oid, text, want)
#define REJECT(oid, text, msg) \
	expect_error(__FILE__, __LINE__, oid, text, strlen(text), FA_EINPUT, msg)
#define FALLBACK(oid, text) \
	expect_error(__FILE__, __LINE__, oid, text, strlen(text), FA_EUSAGE, NULL)


/* ---- the unit tests ---- */

/* PostgreSQL 15's send output for these inputs (see the top comment). */
static const struct known {
	unsigned int oid;
	const char *text;
	const char *hex;
} known[] = {
	{ 16, "t", "01" },
	{ 16, " TRUE ", "01" },
	{ 16, "f", "00" },
	{ 16, "of", "00" },
	{ 16, "on", "01" },
	{ 16, "yes", "01" },
	{ 16, "n", "00" },
	{ 16, "0", "00" },
	{ 16, "1", "01" },
	{ 17, "\\x", "" },
	{ 17, "\\xDEADbeef", "deadbeef" },
	{ 17, "\\x 01 0a", "010a" },
	{ 17, "abc\\\\def", "6162635c646566" },
	{ 17, "ab\\001\\377", "616201ff" },
	{ 17, "é", "c3a9" },
	{ 19, "abc", "616263" },
	{ 20, "0", "0000000000000000" },
	{ 20, "-9223372036854775808", "8000000000000000" },
	{ 20, "9223372036854775807", "7fffffffffffffff" },
	{ 20, " +42 ", "000000000000002a" },
	{ 20, "-1", "ffffffffffffffff" },
	{ 21, "-32768", "8000" },
	{ 21, "32767", "7fff" },
	{ 21, "007", "0007" },
	{ 21, "-1", "ffff" },
	{ 23, "-2147483648", "80000000" },
	{ 23, "2147483647", "7fffffff" },
	{ 23, " 12 ", "0000000c" },
	{ 23, "+1", "00000001" },
	{ 23, "-0", "00000000" },
	{ 25, "", "" },
	{ 25, "héllo 😀", "68c3a96c6c6f20f09f9880" },
	{ 25, "a\tb", "610962" },
	{ 26, "0", "00000000" },
	{ 26, "4294967295", "ffffffff" },
	{ 26, "-1", "ffffffff" },
	{ 26, "-2147483648", "80000000" },
	{ 26, "2147483648", "80000000" },
	{ 114, " {\"a\": [1, 2.5e3, \"\\u00e9\"]} ",
	  "207b2261223a205b312c20322e3565332c20225c7530306539225d7d"
	  "20" },
	{ 114, "\"\\ud800\\udc00\"", "225c75643830305c756463303022" },
	{ 700, "1.5", "3fc00000" },
	{ 700, "-0", "80000000" },
	{ 700, "NaN", "7fc00000" },
	{ 700, "-Infinity", "ff800000" },
	{ 700, "3.4028235e38", "7f7fffff" },
	{ 700, "1e-45", "00000001" },
	{ 700, "0.1", "3dcccccd" },
	{ 701, "-0", "8000000000000000" },
	{ 701, "0", "0000000000000000" },
	{ 701, "NaN", "7ff8000000000000" },
	{ 701, "-nan", "fff8000000000000" },
	{ 701, "Infinity", "7ff0000000000000" },
	{ 701, "-inf", "fff0000000000000" },
	{ 701, "1e308", "7fe1ccf385ebc8a0" },
	{ 701, "4.9e-324", "0000000000000001" },
	{ 701, "1e-310", "000012688b70e62b" },
	{ 701, "0.1", "3fb999999999999a" },
	{ 701, "0x1p-3", "3fc0000000000000" },
	{ 701, "  2.5e-3  ", "3f647ae147ae147b" },
	{ 1042, "ab", "6162" },
	{ 1042, "ab   ", "6162202020" },
	{ 1043, "xyz", "78797a" },
	{ 1082, "2000-01-01", "00000000" },
	{ 1082, "1999-12-31", "ffffffff" },
	{ 1082, "2026-01-02", "0000251a" },
	{ 1082, "0001-01-01", "fff4dbf9" },
	{ 1082, "9999-12-31", "002c95d3" },
	{ 1082, "infinity", "7fffffff" },
	{ 1082, "-infinity", "80000000" },
	{ 1082, "epoch", "ffffd533" },
	{ 1082, "2026-01-02 23:59:60+15", "0000251a" },
	{ 1114, "2000-01-01 00:00:00", "0000000000000000" },
	{ 1114, "2026-01-02 03:04:05.123456", "0002ea5dbb16f580" },
	{ 1114, "2026-01-02T03:04:05Z", "0002ea5dbb151340" },
	{ 1114, "2026-01-02 24:00:00", "0002ea6f46972000" },
	{ 1114, "2026-01-02 23:59:60", "0002ea6f46972000" },
	{ 1114, "2026-01-02 03:04:05.9999995", "0002ea5dbb245580" },
	{ 1114, "0001-01-01 00:00:00", "ff1fe2ffc59c6000" },
	{ 1114, "9999-12-31 23:59:59.999999", "0380e70b913b7fff" },
	{ 1114, "infinity", "7fffffffffffffff" },
	{ 1114, "-infinity", "8000000000000000" },
	{ 1114, "epoch", "fffca2fec4c82000" },
	{ 1114, "2026-01-02 3:4:5+05:30", "0002ea5dbb151340" },
	{ 1184, "2026-01-02 03:04:05.123456+00", "0002ea5dbb16f580" },
	{ 1184, "2026-01-02T03:04:05Z", "0002ea5dbb151340" },
	{ 1184, "2026-01-02 03:04:05+05:30", "0002ea591ee90d40" },
	{ 1184, "2026-01-02 03:04:05-0800", "0002ea646fb23340" },
	{ 1184, "2026-01-02 03:04:05 UTC", "0002ea5dbb151340" },
	{ 1184, "2026-01-02 03:04:05+05:30:15", "0002ea591e042b80" },
	{ 1184, "1970-01-01 00:00:00+00", "fffca2fec4c82000" },
	{ 1184, "epoch", "fffca2fec4c82000" },
	{ 1184, "infinity", "7fffffffffffffff" },
	{ 1184, "-infinity", "8000000000000000" },
	{ 1184, "0001-01-01 00:00:00+15", "ff1fe2f332f5c400" },
	{ 1700, "0", "0000000000000000" },
	{ 1700, "-0", "0000000000000000" },
	{ 1700, "0.00", "0000000000000002" },
	{ 1700, "-0.00", "0000000000000002" },
	{ 1700, "1", "00010000000000000001" },
	{ 1700, "-1", "00010000400000000001" },
	{ 1700, "10000", "00010001000000000001" },
	{ 1700, "9999", "0001000000000000270f" },
	{ 1700, "0.0001", "0001ffff000000040001" },
	{ 1700, "0.000001", "0001fffe000000060064" },
	{ 1700, "1e20", "00010005000000000001" },
	{ 1700, "1e-20", "0001fffb000000140001" },
	{ 1700, "12345.678", "0003000100000003000109291a7c" },
	{ 1700, "00012.3400", "0002000000000004000c0d48" },
	{ 1700, "NaN", "00000000c0000000" },
	{ 1700, "Infinity", "00000000d0000020" },
	{ 1700, "-Infinity", "00000000f0000020" },
	{ 1700, "1.5e-3", "0001ffff00000004000f" },
	{ 1700, "-123456789012345678901234567890.123456789",
	  "000b000740000009000c0d801ed204d2162e23340d801ed204d2162e"
	  "2328" },
	{ 1700, "99999999999999999999", "0005000400000000270f270f270f270f270f" },
	{ 1700, "0e1073741822", "0000000000000000" },
	{ 1700, " +.5 ", "0001ffff000000011388" },
	{ 2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	  "a0eebc999c0b4ef8bb6d6bb9bd380a11" },
	{ 2950, "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}",
	  "a0eebc999c0b4ef8bb6d6bb9bd380a11" },
	{ 2950, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
	  "a0eebc999c0b4ef8bb6d6bb9bd380a11" },
};

static void test_known_bytes(void)
{
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		expect_bytes(__FILE__, __LINE__, known[i].oid, known[i].text,
			     known[i].hex);
}

/* The server's message for each, as SQLERRM gives it. */
static void test_rejects_numbers(void)
{
	REJECT(16, "o", "invalid input syntax for type boolean: \"o\"");
	REJECT(16, "01", "invalid input syntax for type boolean: \"01\"");
	REJECT(16, "truex", "invalid input syntax for type boolean: \"truex\"");
	REJECT(16, "", "invalid input syntax for type boolean: \"\"");
	REJECT(17, "\\x0", "invalid hexadecimal data: odd number of digits");
	REJECT(17, "\\x0 1", "invalid hexadecimal digit: \" \"");
	REJECT(17, "\\xé1", "invalid hexadecimal digit: \"é\"");
	REJECT(17, "ab\\400", "invalid input syntax for type bytea");
	REJECT(17, "ab\\", "invalid input syntax for type bytea");
	REJECT(20, "9223372036854775808",
	       "value \"9223372036854775808\" is out of range for type bigint");
	REJECT(20, "-9223372036854775809",
	       "value \"-9223372036854775809\" is out of range for type bigint");
	REJECT(20, "9223372036854775808x",
	       "invalid input syntax for type bigint: \"9223372036854775808x\"");
	REJECT(21, "32768", "value \"32768\" is out of range for type smallint");
	REJECT(21, "32768x", "invalid input syntax for type smallint: \"32768x\"");
	REJECT(21, "-32769x", "value \"-32769x\" is out of range for type smallint");
	REJECT(23, "12,5", "invalid input syntax for type integer: \"12,5\"");
	REJECT(23, "1.0", "invalid input syntax for type integer: \"1.0\"");
	REJECT(23, "99999999999",
	       "value \"99999999999\" is out of range for type integer");
	REJECT(23, "99999999999x",
	       "value \"99999999999x\" is out of range for type integer");
	REJECT(23, " ", "invalid input syntax for type integer: \" \"");
	REJECT(23, "-", "invalid input syntax for type integer: \"-\"");
	REJECT(23, "+-1", "invalid input syntax for type integer: \"+-1\"");
	REJECT(26, "4294967296", "value \"4294967296\" is out of range for type oid");
	REJECT(26, "-2147483649", "value \"-2147483649\" is out of range for type oid");
	REJECT(26, "4294967296x", "invalid input syntax for type oid: \"4294967296x\"");
	REJECT(26, "99999999999999999999x",
	       "value \"99999999999999999999x\" is out of range for type oid");
}

static void test_rejects_more(void)
{
	REJECT(700, "1e39", "\"1e39\" is out of range for type real");
	REJECT(700, " 1e400 ", "\" 1e400 \" is out of range for type real");
	REJECT(700, "1e-46", "\"1e-46\" is out of range for type real");
	REJECT(701, " 1e400x", "\"1e400\" is out of range for type double precision");
	REJECT(701, "1e-400", "\"1e-400\" is out of range for type double precision");
	REJECT(701, "infx", "invalid input syntax for type double precision: \"infx\"");
	REJECT(701, ".", "invalid input syntax for type double precision: \".\"");
	REJECT(701, "1,5", "invalid input syntax for type double precision: \"1,5\"");
	REJECT(1700, "1e", "invalid input syntax for type numeric: \"1e\"");
	REJECT(1700, "1.2.3", "invalid input syntax for type numeric: \"1.2.3\"");
	REJECT(1700, "Infinityx", "invalid input syntax for type numeric: \"Infinityx\"");
	REJECT(1700, "1 e5", "invalid input syntax for type numeric: \"1 e5\"");
	REJECT(1700, "1e99999999999999999999x", "value overflows numeric format");
	REJECT(1700, "0e1073741823", "value overflows numeric format");
	REJECT(1082, "2026-02-29", "date/time field value out of range: \"2026-02-29\"");
	REJECT(1082, "0000-01-01", "date/time field value out of range: \"0000-01-01\"");
	REJECT(1082, "2026-13-01", "date/time field value out of range: \"2026-13-01\"");
	REJECT(1082, "", "invalid input syntax for type date: \"\"");
	REJECT(1114, "2026-01-02 24:00:01",
	       "date/time field value out of range: \"2026-01-02 24:00:01\"");
	REJECT(1114, "2026-01-02 23:59:60.5",
	       "date/time field value out of range: \"2026-01-02 23:59:60.5\"");
	REJECT(1114, "2026-01-02 03:04:05+16",
	       "time zone displacement out of range: \"2026-01-02 03:04:05+16\"");
	REJECT(1114, "2026-13-01 23:00+16",
	       "time zone displacement out of range: \"2026-13-01 23:00+16\"");
	REJECT(1184, "2026-01-02 03:04:05+05:60",
	       "time zone displacement out of range: \"2026-01-02 03:04:05+05:60\"");
	REJECT(1184, "  ", "invalid input syntax for type timestamp with time zone: \"  \"");
	REJECT(2950, " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	       "invalid input syntax for type uuid: \" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
	REJECT(2950, "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
	       "invalid input syntax for type uuid: \"{a0eebc999c0b4ef8bb6d6bb9bd380a11\"");
	REJECT(3802, "\"\\u0000\"", "unsupported Unicode escape sequence: "
	       "\\u0000 cannot be converted to text");
	REJECT(3802, "\"\\ud800\"", "invalid input syntax for type json: "
	       "Unicode low surrogate must follow a high surrogate");
	REJECT(3802, "1e1000000000", "value overflows numeric format");
	REJECT(114, "[1,]", "invalid input syntax for type json: "
	       "token \"]\" at byte 4 is invalid");
	REJECT(114, "{\"a\":", "invalid input syntax for type json: "
	       "the input string ended unexpectedly");
	REJECT(114, "01", "invalid input syntax for type json: "
	       "token \"01\" at byte 1 is invalid");
	REJECT(114, "\"a\x01\"", "invalid input syntax for type json: "
	       "character with value 0x01 at byte 3 must be escaped");
}

/* Text the server checks as UTF-8 before any input function sees it. */
static void test_encoding(void)
{
	static const struct { const char *s; size_t len; const char *bytes; } bad[] = {
		{ "a\xff", 2, "0xff" },
		{ "\xc3\x28", 2, "0xc3 0x28" },
		{ "a\0b", 3, "0x00" },
		{ "\xed\xa0\x80", 3, "0xed 0xa0 0x80" },
		{ "x\xf0\x9f\x98", 4, "0xf0 0x9f 0x98" },
		{ "\xf4\x90\x80\x80", 4, "0xf4 0x90 0x80 0x80" },
		{ "\xc0\xaf", 2, "0xc0 0xaf" },
		{ "\xe2\x82", 2, "0xe2 0x82" },
	};
	static const unsigned int oids[] = { 25, 1043, 1042, 19, 17, 114, 3802 };
	char msg[128];
	size_t i, k;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "invalid byte sequence for encoding \"UTF8\": %s", bad[i].bytes);
		for (k = 0; k < sizeof(oids) / sizeof(oids[0]); k++)
			expect_error(__FILE__, __LINE__, oids[k], bad[i].s,
				     bad[i].len, FA_EINPUT, msg);
	}
}

/* Spellings whose meaning depends on the session or the server version. */
static void test_fallbacks(void)
{
	FALLBACK(23, "0x10");
	FALLBACK(20, "-0b101");
	FALLBACK(21, "1_000");
	FALLBACK(1700, "1e 5");
	FALLBACK(1700, "1_000.5");
	FALLBACK(1082, "today");
	FALLBACK(1082, "Jan 2 2026");
	FALLBACK(1082, "01/02/2026");
	FALLBACK(1082, "2026-01-02 BC");
	FALLBACK(1114, "2026-01-02 03:04:05.");
	FALLBACK(1114, "2026-01-02 03:04:05 Europe/Paris");
	FALLBACK(1184, "2026-01-02 03:04:05");
	FALLBACK(1184, "2026-01-02");
	FALLBACK(114, "\"\\ud800\"");
	FALLBACK(1186, "1 day");
	FALLBACK(600, "(1,2)");
}

static const char *long_text(char *buf, const char *head, char fill,
			     size_t n, const char *tail)
{
	size_t h = strlen(head);

	memcpy(buf, head, h);
	memset(buf + h, fill, n);
	strcpy(buf + h + n, tail);
	return buf;
}

/* Sizes at the limits of numeric, long floats, name clipping, nesting. */
static void test_edges(void)
{
	static char buf[140000];
	static char h[20000];
	char want[200];
	struct fa_error err;
	size_t i;

	BYTES(1700, long_text(buf, "1", '0', 131071, ""), "00017fff0000000003e8");
	REJECT(1700, long_text(buf, "1", '0', 131072, ""), "value overflows numeric format");
	BYTES(1700, long_text(buf, "0.", '0', 16382, "1"), "0001f00000003fff000a");
	REJECT(1700, long_text(buf, "0.", '0', 16383, "1"), "value overflows numeric format");
	BYTES(1700, long_text(buf, "", '0', 16383, ".0"), "0000000000000001");
	BYTES(701, long_text(buf, "0.5", '0', 500, ""), "3fe0000000000000");
	REJECT(701, long_text(buf, "1", '0', 400, ""), NULL);
	/* name: 63 bytes at most, never half a character */
	strcpy(want, "");
	for (i = 0; i < 31; i++)
		strcat(want, "c3a9");
	BYTES(19, long_text(buf, "", 'x', 0, "éééééééééééééééééééééééééééééééééééééééé"), want);
	for (i = 0; i < 4096; i++)
		buf[i] = '[', buf[8193 - i] = ']';
	buf[4096] = '1', buf[4097] = ' ', buf[8194] = '\0';
	CHECK(encode(114, buf, 8194, h, sizeof(h), &err) == FA_OK);
	memmove(buf + 1, buf, 8195);
	buf[0] = '[';
	strcat(buf, "]");
	FALLBACK(114, buf);
}

/* Header, trailer, tuples, NULL, the cap, and out left as it was. */
static void test_framing(void)
{
	static const char header[] = "5047434f50590aff0d0a00" "00000000" "00000000";
	struct fa_buf b;
	struct fa_error err;
	char h[128];

	fa_buf_init(&b, 0);
	CHECK(fa_pgbin_header(&b) == FA_OK && b.len == 19);
	hex((unsigned char *)b.data, b.len, h);
	CHECK(strcmp(h, header) == 0);
	fa_buf_reset(&b);
	CHECK(fa_pgbin_row_begin(&b, 3) == FA_OK);
	CHECK(fa_pgbin_field(&b, 23, NULL, 0, true, &err) == FA_OK);
	CHECK(fa_pgbin_field(&b, 1186, NULL, 0, true, &err) == FA_OK);
	CHECK(fa_pgbin_field(&b, 25, "a", 1, false, &err) == FA_OK);
	CHECK(fa_pgbin_trailer(&b) == FA_OK);
	CHECK(b.data[b.len] == '\0');
	hex((unsigned char *)b.data, b.len, h);
	CHECK(strcmp(h, "0003" "ffffffff" "ffffffff" "0000000161" "ffff") == 0);
	CHECK(fa_pgbin_row_begin(&b, -1) == FA_EUSAGE);
	CHECK(fa_pgbin_row_begin(&b, 32768) == FA_EUSAGE);
	CHECK(fa_pgbin_field(&b, 23, "x", 1, false, &err) == FA_EINPUT && b.len == 17);
	CHECK(b.data[b.len] == '\0');
	CHECK(fa_pgbin_field(&b, 25, NULL, 0, false, &err) == FA_OK && b.len == 21);
	b.len = 17;
	CHECK(err.code == FA_EINPUT);
	CHECK(fa_pgbin_field(&b, 23, "1", 1, false, NULL) == FA_OK && b.len == 25);
	fa_buf_release(&b);
	fa_buf_init(&b, 10);
	CHECK(fa_pgbin_header(&b) == FA_ENOMEM);
	CHECK(fa_pgbin_field(&b, 20, "1", 1, false, &err) == FA_ENOMEM && b.len == 0);
	CHECK(err.code == FA_ENOMEM && strstr(err.msg, "10 bytes"));
	CHECK(fa_pgbin_field(&b, 23, "1", 1, false, &err) == FA_OK && b.len == 8);
	fa_buf_release(&b);
}

static void test_supported(void)
{
	static const unsigned int yes[] = {
		16, 17, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043,
		1082, 1114, 1184, 1700, 2950, 3802,
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(fa_pgbin_supported(yes[i]));
	CHECK(!fa_pgbin_supported(0));
	CHECK(!fa_pgbin_supported(1186));	/* interval */
	CHECK(!fa_pgbin_supported(1083));	/* time */
	CHECK(!fa_pgbin_supported(18));	/* char */
}

static unsigned rn(unsigned n);

/* Random bytes, biased to what parsers look at: every call must end in a
 * defined result, leave out alone on failure, and frame its field. */
static void test_random_bytes(void)
{
	static const char pool[] = "0123456789+-.eExX:T Z\\\"{}[],_aftnu\t\n\xc3\xa9\xff";
	static const unsigned int oids[] = {
		16, 17, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043,
		1082, 1114, 1184, 1700, 2950, 3802,
	};
	char v[64], h[256];
	struct fa_error err;
	enum fa_err rc;
	size_t len, k;
	int i, bad = 0;

	for (i = 0; i < 40000; i++) {
		len = rn(sizeof(v));
		for (k = 0; k < len; k++)
			v[k] = pool[rn(sizeof(pool) - 1)];
		rc = encode(oids[rn(sizeof(oids) / sizeof(oids[0]))], v, len, h,
			    sizeof(h), &err);
		if (!(rc == FA_OK || rc == FA_EINPUT || rc == FA_EUSAGE) ||
		    strstr(h, "length") || strstr(h, "changed") ||
		    (rc != FA_OK && err.code != rc))
			bad++;
	}
	CHECK(bad == 0, "random bytes: bad results");
}

static void test_cases(void)
{
	test_known_bytes();
	test_rejects_numbers();
	test_rejects_more();
	test_encoding();
	test_fallbacks();
	test_edges();
	test_framing();
	test_supported();
	test_random_bytes();
}

/* ---- driver: COPY text form ---- */

/* The COPY text field s[0..len) unescaped into out; false for \N. */
static bool copy_unescape(const char *s, size_t len, struct fa_buf *out)
{
	static const char letters[] = "bfnrtv", codes[] = "\b\f\n\r\t\v";
	size_t i, k;
	int v;

	fa_buf_reset(out);
	if (len == 2 && s[0] == '\\' && s[1] == 'N')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < len) {
			c = s[++i];
			if (c >= '0' && c <= '7') {
				for (v = 0, k = 0; k < 3 && i < len &&
				     s[i] >= '0' && s[i] <= '7'; k++, i++)
					v = v * 8 + (s[i] - '0');
				i--;
				c = (char)v;
			} else if (c == 'x' && i + 1 < len && strchr("0123456789abcdefABCDEF", s[i + 1]) && s[i + 1]) {
				for (v = 0, k = 0, i++; k < 2 && i < len && s[i] &&
				     strchr("0123456789abcdefABCDEF", s[i]); k++, i++)
					v = v * 16 + (s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
				i--;
				c = (char)v;
			} else if (c && strchr(letters, c)) {
				c = codes[strchr(letters, c) - letters];
			}
		}
		fa_buf_putc(out, c);
	}
	return true;
}

/* As COPY TO writes text: backslash and \b \f \n \r \t \v escaped. */
static void copy_escape(FILE *f, const char *s, size_t len)
{
	static const char codes[] = "\b\f\n\r\t\v", letters[] = "bfnrtv";
	size_t i;

	for (i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(codes, s[i]) : NULL;

		if (s[i] == '\\')
			fputs("\\\\", f);
		else if (p)
			fprintf(f, "\\%c", letters[p - codes]);
		else
			fputc(s[i], f);
	}
}

static int parse_oids(const char *arg, unsigned int *oids, int max)
{
	int n = 0;
	char *end;

	while (*arg && n < max) {
		oids[n++] = (unsigned int)strtoul(arg, &end, 10);
		if (end == arg)
			return -1;
		arg = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* Splits line at tabs; returns the number of fields (at most max). */
static int split_tabs(char *line, size_t len, char **f, size_t *flen, int max)
{
	int n = 0;
	size_t start = 0, i;

	for (i = 0; i <= len && n < max; i++) {
		if (i == len || line[i] == '\t') {
			f[n] = line + start;
			flen[n++] = i - start;
			start = i + 1;
		}
	}
	return n;
}

/* One input line as a tuple appended to out; returns an exit status. */
static int encode_line(char *line, size_t len, long lineno,
		       const unsigned int *oids, int n, struct fa_buf *out)
{
	struct fa_buf val;
	struct fa_error err;
	char *f[256];
	size_t flen[256];
	int nf = split_tabs(line, len, f, flen, 256), c, rc = 0;

	if (nf != n) {
		fprintf(stderr, "line %ld: %d fields, expected %d\n", lineno, nf, n);
		return 4;
	}
	fa_buf_init(&val, 0);
	fa_pgbin_row_begin(out, n);
	for (c = 0; c < n && rc == 0; c++) {
		bool is_null = !copy_unescape(f[c], flen[c], &val);

		if (fa_pgbin_field(out, oids[c], val.data ? val.data : "", val.len,
				   is_null, &err) != FA_OK) {
			fprintf(stderr, "line %ld, column %d: %s\n", lineno, c + 1, err.msg);
			rc = err.code;
		}
	}
	fa_buf_release(&val);
	return rc;
}

static int drive_encode(const char *arg)
{
	unsigned int oids[256];
	int n = parse_oids(arg, oids, 256), rc = 0;
	struct fa_buf out;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;

	if (n <= 0)
		return fprintf(stderr, "--encode: bad type list '%s'\n", arg), 2;
	fa_buf_init(&out, 0);
	fa_pgbin_header(&out);
	while (rc == 0 && (len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			len--;
		rc = encode_line(line, (size_t)len, ++lineno, oids, n, &out);
		fwrite(out.data, 1, rc ? 0 : out.len, stdout);
		fa_buf_reset(&out);
	}
	fa_pgbin_trailer(&out);
	fwrite(out.data, 1, rc ? 0 : out.len, stdout);
	free(line);
	fa_buf_release(&out);
	return rc;
}

/* One "OID<tab>value" line: prints the verdict. */
static void check_one(unsigned int oid, const char *v, size_t len)
{
	static char hexbuf[1 << 21];
	struct fa_error err;
	enum fa_err rc = encode(oid, v, len, hexbuf, sizeof(hexbuf), &err);

	if (rc == FA_OK && oid == FA_PGBIN_JSONB)
		fputs("OK -", stdout);
	else if (rc == FA_OK)
		printf("OK %s", hexbuf);
	else if (rc == FA_EINPUT)
		fputs("ERR ", stdout), copy_escape(stdout, err.msg, strlen(err.msg));
	else
		fputs("SKIP ", stdout), copy_escape(stdout, err.msg, strlen(err.msg));
	putchar('\n');
}

static int drive_check(void)
{
	struct fa_buf val;
	char *line = NULL, *f[2];
	size_t cap = 0, flen[2];
	ssize_t len;

	fa_buf_init(&val, 0);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			len--;
		if (split_tabs(line, (size_t)len, f, flen, 2) != 2)
			return fprintf(stderr, "--check: want OID<tab>value\n"), 2;
		copy_unescape(f[1], flen[1], &val);
		check_one((unsigned int)strtoul(f[0], NULL, 10),
			  val.data ? val.data : "", val.len);
	}
	free(line);
	fa_buf_release(&val);
	return 0;
}

/* ---- driver: value generators ---- */

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rn((unsigned)n)];
}

#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

static void blanks(struct fa_buf *b)
{
	static const char *const pads[] = { "", "", "", "", "", " ", "  ", "\t", "\n" };

	fa_buf_puts(b, PICK(pads));
}

static void gen_digits(struct fa_buf *b, unsigned n)
{
	while (n--)
		fa_buf_putc(b, (char)('0' + rn(10)));
}

static void gen_int(struct fa_buf *b, int bits)
{
	uint64_t max = bits == 16 ? INT16_MAX : bits == 32 ? INT32_MAX : INT64_MAX;
	uint64_t mag = rn(5) == 0 ? max : (rnd() >> rn(64)) % max;
	bool neg = rn(2);

	if (neg && rn(3) == 0)
		mag = max + 1;
	blanks(b);
	fa_buf_puts(b, neg ? "-" : rn(5) == 0 ? "+" : "");
	if (rn(8) == 0)
		fa_buf_puts(b, "00");
	fa_buf_printf(b, "%" PRIu64, mag);
	blanks(b);
}

static void gen_int2(struct fa_buf *b) { gen_int(b, 16); }
static void gen_int4(struct fa_buf *b) { gen_int(b, 32); }
static void gen_int8(struct fa_buf *b) { gen_int(b, 64); }

static void gen_oid(struct fa_buf *b)
{
	blanks(b);
	if (rn(3) == 0)
		fa_buf_printf(b, "-%" PRIu64, rnd() % 2147483649u);
	else
		fa_buf_printf(b, "%" PRIu64, rnd() >> (32 + rn(32)));
	blanks(b);
}

static void gen_bool(struct fa_buf *b)
{
	static const char *const v[] = {
		"t", "f", "true", "FALSE", "yes", "no", "on", "off", "1", "0",
		" TRUE ", "y", "n", "tr", "fal", "OF", "Ye", "tRuE", "\toff\n",
	};

	fa_buf_puts(b, PICK(v));
}

static void gen_float(struct fa_buf *b, bool single)
{
	static const char *const words[] = {
		"NaN", "nan", "Infinity", "-Infinity", "inf", "-inf", "+inf",
		"-nan", "-0", "0.0", "-0.0e10", "1e308", "4.9e-324", "1e-310",
		"3.4028235e38", "1.17549435e-38", "1e-45", "0x1p-3", "1.5E+2",
	};
	static const char *const fmts[] = { "%.17g", "%.9g", "%g", "%.3e", "%a", "%.1f" };
	uint64_t bits = rnd();
	double d;
	float f;

	blanks(b);
	if (rn(5) == 0) {
		fa_buf_puts(b, PICK(words));
	} else if (single) {
		uint32_t fb = (uint32_t)bits;

		memcpy(&f, &fb, 4);
		if (f != f || f - f != 0)
			f = 1.5f;
		fa_buf_printf(b, PICK(fmts), (double)f);
	} else {
		memcpy(&d, &bits, 8);
		if (d != d || d - d != 0)
			d = -2.5;
		fa_buf_printf(b, PICK(fmts), d);
	}
	blanks(b);
}

static void gen_float4(struct fa_buf *b) { gen_float(b, true); }
static void gen_float8(struct fa_buf *b) { gen_float(b, false); }

static void gen_numeric_digits(struct fa_buf *b, unsigned intdigits,
			       unsigned fracdigits, bool exponent)
{
	unsigned ni = rn(intdigits + 1), nf = rn(fracdigits + 1);

	fa_buf_puts(b, rn(2) ? "-" : rn(4) ? "" : "+");
	if (ni == 0 && nf == 0)
		ni = 1;
	if (rn(6) == 0)
		fa_buf_puts(b, "000");
	gen_digits(b, ni);
	if (nf || rn(8) == 0) {
		fa_buf_putc(b, '.');
		gen_digits(b, nf);
		if (rn(6) == 0)
			fa_buf_puts(b, "0000");	/* trailing zeros set dscale */
	}
	if (exponent && rn(4) == 0)
		fa_buf_printf(b, "%se%s%u", "", rn(2) ? "-" : rn(2) ? "+" : "", rn(60));
}

static void gen_numeric(struct fa_buf *b)
{
	static const char *const words[] = {
		"NaN", "nan", "Infinity", "-Infinity", "inf", "-inf", "+inf",
		"0", "-0", "0.000001", "1e20", "-0.00", "99999999999999999999999",
	};

	blanks(b);
	if (rn(8) == 0)
		fa_buf_puts(b, PICK(words));
	else
		gen_numeric_digits(b, rn(4) ? 12 : 40, rn(4) ? 8 : 40, true);
	blanks(b);
}

/* For a numeric(12,3) column: at most 8 integer digits. */
static void gen_numeric_12_3(struct fa_buf *b)
{
	blanks(b);
	if (rn(20) == 0)
		fa_buf_puts(b, "NaN");
	else
		gen_numeric_digits(b, 8, 7, false);
	blanks(b);
}

static void gen_chars(struct fa_buf *b, unsigned max)
{
	static const char *const pool[] = {
		"a", "b", "Z", "0", " ", " ", "\t", "\n", "\\", "\"", "'", ",",
		"\r", "é", "中", "😀", "ß", "x", "N", "{", "}", "\x7f", "\x01",
	};
	unsigned n = rn(max + 1);

	while (n--)
		fa_buf_puts(b, PICK(pool));
}

static void gen_text(struct fa_buf *b) { gen_chars(b, 30); }
static void gen_name(struct fa_buf *b) { gen_chars(b, 45); }

static void gen_bpchar5(struct fa_buf *b)
{
	gen_chars(b, 5);
	if (rn(4) == 0)
		fa_buf_puts(b, "   ");
}

static void gen_varchar12(struct fa_buf *b)
{
	gen_chars(b, 12);
	if (rn(4) == 0)
		fa_buf_puts(b, "      ");
}

static void gen_bytea(struct fa_buf *b)
{
	static const char *const sep[] = { "", "", "", " ", "\n", "\t", "\r" };
	unsigned n = rn(24), i;

	if (rn(3)) {
		fa_buf_puts(b, "\\x");
		for (i = 0; i < n; i++)
			fa_buf_printf(b, rn(2) ? "%02x%s" : "%02X%s", rn(256), PICK(sep));
		return;
	}
	for (i = 0; i < n; i++) {
		switch (rn(4)) {
		case 0: fa_buf_puts(b, "\\\\"); break;
		case 1: fa_buf_printf(b, "\\%03o", rn(256)); break;
		default: gen_chars(b, 1); if (b->len && b->data[b->len - 1] == '\\') fa_buf_putc(b, '\\'); break;
		}
	}
	if (b->len >= 2 && b->data[0] == '\\' && b->data[1] == 'x')
		fa_buf_reset(b);
}

static void gen_uuid(struct fa_buf *b)
{
	unsigned char u[16];
	unsigned i, style = rn(5);

	for (i = 0; i < 16; i++)
		u[i] = (unsigned char)rn(256);
	if (style == 1)
		fa_buf_putc(b, '{');
	for (i = 0; i < 16; i++) {
		fa_buf_printf(b, style == 2 ? "%02X" : "%02x", u[i]);
		if ((style == 0 || style == 2) && (i == 3 || i == 5 || i == 7 || i == 9))
			fa_buf_putc(b, '-');
		if (style == 4 && i % 2 == 1 && i < 15)
			fa_buf_putc(b, '-');
	}
	if (style == 1)
		fa_buf_putc(b, '}');
}

static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static void gen_ymd(struct fa_buf *b)
{
	int y = (int)rn(4) ? 1900 + (int)rn(200) : 1 + (int)rn(9999);
	int m = 1 + (int)rn(12), d = 1 + (int)rn((unsigned)mdays[m - 1]);

	fa_buf_printf(b, rn(4) ? "%04d-%02d-%02d" : "%04d-%d-%d", y, m, d);
}

static void gen_time(struct fa_buf *b)
{
	unsigned r = rn(40);

	if (r == 0) {
		fa_buf_puts(b, "24:00:00");
		return;
	}
	fa_buf_printf(b, rn(5) ? "%02u:%02u" : "%u:%u", rn(24), rn(60));
	if (rn(5) == 0)
		return;
	fa_buf_printf(b, ":%02u", r == 1 ? 60 : rn(60));
	if (rn(2)) {
		fa_buf_putc(b, '.');
		gen_digits(b, 1 + rn(9));
	}
}

static void gen_zone(struct fa_buf *b)
{
	static const char *const zones[] = {
		"Z", "z", "UTC", " UTC", "+00", "-08", "+05:30", "+0530",
		"-3", " +01", "+05:30:15", "-11:59", "+14", "+15:59:59", " z",
	};

	fa_buf_puts(b, PICK(zones));
}

static void gen_datetime(struct fa_buf *b, bool time, bool zone)
{
	static const char *const words[] = {
		"infinity", "-infinity", "epoch", "Infinity", " EPOCH ", "-INFINITY",
	};

	blanks(b);
	if (rn(20) == 0) {
		fa_buf_puts(b, PICK(words));
		return;
	}
	gen_ymd(b);
	if (time) {
		fa_buf_puts(b, rn(3) ? " " : rn(2) ? "T" : "  ");
		gen_time(b);
		if (zone)
			gen_zone(b);
	}
	blanks(b);
}

static void gen_date(struct fa_buf *b) { gen_datetime(b, rn(4) == 0, rn(8) == 0); }
static void gen_timestamp(struct fa_buf *b) { gen_datetime(b, rn(8) != 0, rn(4) == 0); }
static void gen_timestamptz(struct fa_buf *b) { gen_datetime(b, rn(8) != 0, true); }

static void gen_json_value(struct fa_buf *b, int depth);

static void json_blank(struct fa_buf *b)
{
	static const char *const ws[] = { "", "", "", " ", "\n", "\t", "\r\n", "  " };

	fa_buf_puts(b, PICK(ws));
}

static void gen_json_string(struct fa_buf *b)
{
	static const char *const parts[] = {
		"a", "Z", " ", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00",
		"\\t", "é", "中", "😀", "\\b", "\\u0041", "'", "\\u20AC",
	};
	unsigned n = rn(8);

	fa_buf_putc(b, '"');
	while (n--)
		fa_buf_puts(b, PICK(parts));
	fa_buf_putc(b, '"');
}

static void gen_json_number(struct fa_buf *b)
{
	if (rn(2))
		fa_buf_putc(b, '-');
	if (rn(4) == 0)
		fa_buf_putc(b, '0');
	else
		fa_buf_printf(b, "%u", 1 + rn(100000));
	if (rn(3) == 0) {
		fa_buf_putc(b, '.');
		gen_digits(b, 1 + rn(6));
	}
	if (rn(4) == 0)
		fa_buf_printf(b, "%s%s%u", rn(2) ? "e" : "E", rn(2) ? "-" : rn(2) ? "+" : "", rn(30));
}

static void gen_json_container(struct fa_buf *b, int depth, bool object)
{
	unsigned n = rn(4), i;

	fa_buf_putc(b, object ? '{' : '[');
	for (i = 0; i < n; i++) {
		json_blank(b);
		if (i)
			fa_buf_putc(b, ',');
		json_blank(b);
		if (object) {
			gen_json_string(b);
			json_blank(b);
			fa_buf_putc(b, ':');
			json_blank(b);
		}
		gen_json_value(b, depth + 1);
	}
	json_blank(b);
	fa_buf_putc(b, object ? '}' : ']');
}

static void gen_json_value(struct fa_buf *b, int depth)
{
	static const char *const words[] = { "true", "false", "null" };

	switch (rn(depth > 3 ? 3 : 5)) {
	case 0: gen_json_number(b); break;
	case 1: gen_json_string(b); break;
	case 2: fa_buf_puts(b, PICK(words)); break;
	default: gen_json_container(b, depth, rn(2)); break;
	}
}

static void gen_json(struct fa_buf *b)
{
	json_blank(b);
	gen_json_value(b, 0);
	json_blank(b);
}

struct gen {
	unsigned int oid;
	void (*fn)(struct fa_buf *b);
	const char *column;	/* name and type in the --gen-rows table */
};

/* The columns of the round-trip table in tests/pgbinary.bats. */
static const struct gen row_types[] = {
	{ 16, gen_bool, "b bool" },
	{ 17, gen_bytea, "by bytea" },
	{ 19, gen_name, "nm name" },
	{ 20, gen_int8, "i8 int8" },
	{ 21, gen_int2, "i2 int2" },
	{ 23, gen_int4, "i4 int4" },
	{ 25, gen_text, "t text" },
	{ 26, gen_oid, "o oid" },
	{ 114, gen_json, "j json" },
	{ 700, gen_float4, "f4 float4" },
	{ 701, gen_float8, "f8 float8" },
	{ 1042, gen_bpchar5, "bp char(5)" },
	{ 1043, gen_varchar12, "vc varchar(12)" },
	{ 1082, gen_date, "d date" },
	{ 1114, gen_timestamp, "ts timestamp" },
	{ 1184, gen_timestamptz, "tz timestamptz" },
	{ 1700, gen_numeric, "n numeric" },
	{ 1700, gen_numeric_12_3, "n2 numeric(12,3)" },
	{ 2950, gen_uuid, "u uuid" },
	{ 3802, gen_json, "jb jsonb" },
	{ 1114, gen_timestamp, "ts0 timestamp(0)" },
	{ 1184, gen_timestamptz, "tz2 timestamptz(2)" },
	{ 1043, gen_text, "v varchar" },
	{ 1042, gen_bpchar5, "c bpchar" },
};

#define NROW_TYPES (sizeof(row_types) / sizeof(row_types[0]))

/* A random value the encoder takes (retried until it does). */
static bool gen_valid(const struct gen *g, struct fa_buf *v, struct fa_buf *scratch)
{
	struct fa_error err;
	int tries;

	for (tries = 0; tries < 200; tries++) {
		fa_buf_reset(v);
		fa_buf_reset(scratch);
		g->fn(v);
		if (fa_pgbin_field(scratch, g->oid, v->data ? v->data : "", v->len,
				   false, &err) == FA_OK)
			return true;
	}
	return false;
}

static int drive_gen_rows(unsigned long seed, long n)
{
	struct fa_buf v, scratch;
	size_t c;
	long r;

	rng_state ^= seed * 0x9E3779B97F4A7C15u;
	fa_buf_init(&v, 0);
	fa_buf_init(&scratch, 0);
	for (r = 1; r <= n; r++) {
		printf("%ld", r);
		for (c = 0; c < NROW_TYPES; c++) {
			putchar('\t');
			if (rn(10) == 0 || !gen_valid(&row_types[c], &v, &scratch))
				fputs("\\N", stdout);
			else
				copy_escape(stdout, v.data ? v.data : "", v.len);
		}
		putchar('\n');
	}
	fa_buf_release(&v);
	fa_buf_release(&scratch);
	return 0;
}

/* Inserts, deletes or replaces a few characters; ASCII only, so the
 * result stays UTF-8 when the deleted byte was ASCII. */
static void mutate(struct fa_buf *v)
{
	static const char alphabet[] = " +-.eE0123456789:TtZz_x\\{}[]\",ainfINF'";
	unsigned ops = 1 + rn(2);
	size_t at;

	while (ops--) {
		at = v->len ? rn((unsigned)v->len + 1) : 0;
		switch (rn(3)) {
		case 0:
			fa_buf_putc(v, ' ');
			memmove(v->data + at + 1, v->data + at, v->len - 1 - at);
			v->data[at] = alphabet[rn(sizeof(alphabet) - 1)];
			break;
		case 1:
			if (at < v->len) {
				memmove(v->data + at, v->data + at + 1, v->len - at - 1);
				v->data[--v->len] = '\0';
			}
			break;
		default:
			if (at < v->len)
				v->data[at] = alphabet[rn(sizeof(alphabet) - 1)];
			break;
		}
	}
}

static void print_value(unsigned int oid, const char *v, size_t len)
{
	struct fa_buf scratch;
	struct fa_error err;

	/* COPY refuses invalid UTF-8 anywhere in the line: leave such out */
	fa_buf_init(&scratch, 0);
	if (fa_pgbin_field(&scratch, FA_PGBIN_TEXT, v, len, false, &err) == FA_OK) {
		printf("%u\t", oid);
		copy_escape(stdout, v, len);
		putchar('\n');
	}
	fa_buf_release(&scratch);
}

/* Values every type gets, then each type's own edge cases. */
static const char *const common_edges[] = {
	"", " ", "0", "-0", "+1", "1.0", "1e5", "NaN", "inf", "-Infinity", "t",
	"on", "abc", "0x10", "1_000", "12,5", "\\x00", "{}", "[]", "null",
	"2026-01-02", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"x\"", "- 1",
};

struct edges {
	unsigned int oid;
	const char *const *v;
};

static const char *const bool_edges[] = {
	" t ", "TRU", "tr", "truex", "of", "o", "OFF", "n", "no", "ye", "01",
	"f ", "yes ", "\tfalse\n", "nO", "onn", "offf", "1 ", " 0", "2", NULL,
};
static const char *const int_edges[] = {
	" 12 ", "99999999999", "99999999999x", "-", "-2147483648", "2147483647",
	"2147483648", "-2147483649", "32767", "-32768", "32768", "-32769",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808",
	"-9223372036854775809", "32768x", "2147483648x", "9223372036854775808x",
	"-32769x", "-2147483649x", "-9223372036854775809x", "32768 5", "0x1F", "-0b101", "0o17", "1_0", "007",
	"+-1", "1 2", "\t-5\n", "1e3", " +0 ", "99999999999999999999999", NULL,
};
static const char *const oid_edges[] = {
	"-1", "-2147483648", "-2147483649", "4294967295", "4294967296",
	"4294967296x", "99999999999999999999x", " +5 ", "-0", "18446744073709551615",
	"18446744073709551616", "-18446744073709551615", NULL,
};
static const char *const float_edges[] = {
	"1e400", " 1e400 ", "1e-400", "1e-310", "nan", "-nan", "infx",
	"Infinity ", "-inf", "0x1p3", "1e400x", ".", "nan(12)", "1,5", "1e39",
	"1e-39", "1e-46", "3.4028236e38", "-0", "-0.0", "1e", "1e+", ".5", "5.",
	"+Infinity", "+inf", "INFINITY", "infinity x", "  nan  ", "1.7976931348623159e308",
	"4.9e-324", "2.4e-324", "1e-323", "123456789012345678901234567890", NULL,
};
static const char *const numeric_edges[] = {
	"1e 5", "1e1000", "1e-1000", "  -0.00 ", ".5", "5.", "-.5e3", "1e", "1e+",
	"e5", "+", "1.2.3", "Infinityx", "infinity", "-inf", "NaN ", " nan",
	"1e99999999999999999999", "1 e5", "00012.3400", "1e-5", "1.5e-3",
	"0.000001", "1e20", "0e1073741822", "0e1073741823", "0e-1073741822",
	"-1e-2", "123456789.987654321", "10000", "9999.9999", "0.0001",
	"100000000", "1e-4", "-0e5", "12345678901234567890123456789012345678901234567890",
	"1e1073741822", "1e+0", "1E-0", "+.1", "-.", "..1", "1..", NULL,
};
static const char *const text_edges[] = {
	"é", "😀", "a\tb", "a\nb", "trailing   ", "\\", "\x7f", "\x01", NULL,
};
static const char *const name_edges[] = {
	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc",
	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd",
	"ééééééééééééééééééééééééééééééééééééééé",
	"aéééééééééééééééééééééééééééééééééééééé",
	"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", NULL,
};
static const char *const bytea_edges[] = {
	"\\x", "\\x0", "\\x 01 0a", "\\x0 1", "\\xzz", "\\xé1", "\\x01 ",
	"abc\\\\def", "ab\\001", "ab\\400", "ab\\", "ab\\x", "\\X01", "\\xABcd",
	"\\x\t0a\n0B\r", "\\x 0", "ab\\3777", "\\\\x01", "é\\\\", "\\x0g", NULL,
};
static const char *const uuid_edges[] = {
	"{a0eebc999c0b4ef8bb6d6bb9bd380a11}", "A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11",
	" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
	"a0ee-bc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
	"a0eebc999c0b4ef8bb6d6bb9bd380a11}", "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
	"a-0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
	"a0eebc999c0b4ef8bb6d6bb9bd380a11 ", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-}", NULL,
};
static const char *const json_edges[] = {
	"1", " {\"a\":1} ", "01", "-0", "-", "1.", ".5", "1E+5", "1e", "+1",
	"\"\\u0000\"", "\"\\ud800\"", "\"\\ud800\\udc00\"", "\"\\udc00\"",
	"\"\\ud800x\"", "\"\\ud800\\ud800\"", "[1,]", "{\"a\":1,}", "{\"a\"}",
	"tru", "true false", "\"a\\qb\"", "\"\\/\"", "1e1000000000",
	"1e99999999999", "\"\\u00e9\"", "\"\\uD83D\\uDE00\"", "[1 2]", "{1:2}",
	"nul", "\"a\tb\"", "\"a\x01b\"", " \t\n\r1\r\n", "\f1", "1\v", "[[[]]]",
	"{\"a\":{\"b\":[1,{\"c\":null}]}}", "\"\\u12\"", "\"\\uzzzz\"", "\"abc",
	"[", "{", "{\"a\":", "]", "1]", "[1]]", "\"é\"", "é", "truex", "1x",
	"-01", "1.5e+", "0e5", "1e1073741823", "0e1073741823", "\"\\ud83d\"",
	"[\"\\ud83d\\u0041\"]", "{\"a\" : 1 , \"b\" : [ ] }", "NaN", "Infinity", NULL,
};
static const char *const date_edges[] = {
	" 2026-1-2 ", "2026-13-01", "2026-02-29", "2024-02-29", "0000-01-01",
	"2026-00-10", "2026-01-00", "2026-01-02 03:04:05", "2026-01-02 25:00",
	"2026-01-02 24:00:00", "2026-01-02 24:00:01", "2026-01-02 23:59:60",
	"2026-01-02 23:60:00", "2026-01-02T03:04:05Z", "2026-01-02 03:04:05+16",
	"2026-01-02 03:04:05 +05", "2026-01-02 03:04:05.9999995",
	"2026-01-02 03:04:05.", "2026-01-02 3:4:5", "epoch", "Infinity",
	"+infinity", "-infinity", "today", "2026-01-02t03:04:05z",
	"2026-01-02 03:04:05 UTC", "2026-01-02 03:04:05+05:30:15",
	"2026-01-02 03:04:05+0530", "2026-01-02 03:04:05+530",
	"2026-01-02 03:04:05-5", "20260102", "2026-01-02  03:04",
	"2026-01-02 03:04:05 BC", "2026-01-02 03:04:05Z ", "2026-01-02 03:04:05+05:3",
	"2026-13-01 25:00+16", "2026-13-01 23:00+16", "2026-12-01 25:00+16",
	"2026-01-02 24:00:00.000", "2026-01-02 23:59:60.5", "2026-01-02 00:00:60.5",
	"2026-01-02 12:30:60.000001", "2026-01-02 12:30:59.9999996",
	"2026-01-02 24:00:00.0000001", "2026-01-02 23:59:59.9999999",
	"2026-01-02 03:04:05+05:60", "2026-01-02 03:04:05+15:59:59",
	"2026-01-02 03:04:05+1530", "2026-01-02 03:04:05 -05:30", "2026-01-02 03",
	"2026-01-02T03", " EPOCH ", "infinity BC", "9999-12-31 23:59:59.999999+15",
	"0001-01-01 00:00:00-15", "0001-01-01", "2000-01-01", "1999-12-31 24:00:00",
	"2026-01-02 03:04:05+00:00:60", "2026-01-02 03:04:05Zulu", "2026-01-02 03:04:05 Z",
	"2026-01-02 03:04:05UTC", "2026-01-02 03:04:05 utc", "2026-01-02x", "2026-1-2T3:4",
	"2026-01-02 03:04:05.123456789012", "1970-01-01 00:00:00+00", "2026-01-02 003:04:05",
	"2026-01-02 03:004:05", "2026-01-02 03:04:005", "2026-01-02 03:04:05+12345",
	"2026-01-02 03:04:05+123", "2026-01-02 03:04:05+", "now", "allballs", NULL,
};

static const struct edges type_edges[] = {
	{ 16, bool_edges }, { 17, bytea_edges }, { 19, name_edges },
	{ 20, int_edges }, { 21, int_edges }, { 23, int_edges }, { 25, text_edges },
	{ 26, oid_edges }, { 114, json_edges }, { 700, float_edges },
	{ 701, float_edges }, { 1042, text_edges }, { 1043, text_edges },
	{ 1082, date_edges }, { 1114, date_edges }, { 1184, date_edges },
	{ 1700, numeric_edges }, { 2950, uuid_edges }, { 3802, json_edges },
};

static void (*gen_for(unsigned int oid))(struct fa_buf *)
{
	static const struct gen more[] = {
		{ 1043, gen_text, NULL }, { 1042, gen_text, NULL },
	};
	size_t i;

	for (i = 0; i < 2; i++)
		if (more[i].oid == oid)
			return more[i].fn;
	for (i = 0; i < NROW_TYPES; i++)
		if (row_types[i].oid == oid)
			return row_types[i].fn;
	return NULL;
}

/* Edge values, n random values and n mutated ones for every type. */
static int drive_gen_values(unsigned long seed, long n)
{
	struct fa_buf v;
	size_t t, k;
	long i;

	rng_state ^= seed * 0x9E3779B97F4A7C15u;
	fa_buf_init(&v, 0);
	for (t = 0; t < sizeof(type_edges) / sizeof(type_edges[0]); t++) {
		unsigned int oid = type_edges[t].oid;

		for (k = 0; k < sizeof(common_edges) / sizeof(common_edges[0]); k++)
			print_value(oid, common_edges[k], strlen(common_edges[k]));
		for (k = 0; type_edges[t].v[k]; k++)
			print_value(oid, type_edges[t].v[k], strlen(type_edges[t].v[k]));
		for (i = 0; i < 2 * n; i++) {
			fa_buf_reset(&v);
			gen_for(oid)(&v);
			if (i >= n)
				mutate(&v);
			print_value(oid, v.data ? v.data : "", v.len);
		}
	}
	fa_buf_release(&v);
	return 0;
}

/* The round-trip table: its columns, then the type OIDs for --encode. */
static int print_columns(void)
{
	size_t c;

	fputs("id int4", stdout);
	for (c = 0; c < NROW_TYPES; c++)
		printf(", %s", row_types[c].column);
	fputs("\n23", stdout);
	for (c = 0; c < NROW_TYPES; c++)
		printf(",%u", row_types[c].oid);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	rng_state = 88172645463325252u;  /* --gen-* mix their seed into it */
	if (argc == 3 && strcmp(argv[1], "--encode") == 0)
		return drive_encode(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--check") == 0)
		return drive_check();
	if (argc == 4 && strcmp(argv[1], "--gen-rows") == 0)
		return drive_gen_rows(strtoul(argv[2], NULL, 10), atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "--gen-values") == 0)
		return drive_gen_values(strtoul(argv[2], NULL, 10), atol(argv[3]));
	if (argc == 2 && strcmp(argv[1], "--columns") == 0)
		return print_columns();
	test_cases();
	return check_report("test_pgbinary");
}
