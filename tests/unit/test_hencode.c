/*
 * Unit tests for lib/http/hencode: Accept-Encoding negotiation (a table of
 * headers, each also read from an exactly sized buffer with no NUL so
 * that the sanitizers catch an overread, long headers and random junk),
 * compressible content types, ETag suffixing, the zstd window and the
 * encoder's memory at several windows (printed), min_size, and round
 * trips with flushes between rows: after each flush everything so far
 * decodes, the finished body decodes to the input through lib/core/zcodec and
 * through the gzip and zstd commands.  Random data; the seed is printed
 * and may be given as the first argument.
 */
#include "http/hencode.h"

#define ZSTD_STATIC_LINKING_ONLY        /* ZSTD_getFrameHeader, sizeof_CCtx */
#include <zstd.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *kname(enum fa_zkind k)
{
	return fa_z_name(k);
}

/* fa_henc_choose() on a copy of s[0..n) with nothing after it. */
static enum fa_zkind choose_exact(const char *s, size_t n)
{
	char *copy = malloc(n ? n : 1);
	enum fa_zkind k;

	memcpy(copy, s, n);
	k = fa_henc_choose(copy, n);
	free(copy);
	return k;
}

/* ------------------------------------------------------ Accept-Encoding */

/* A string literal and its length, NULs inside included. */
#define LIT(s) s, sizeof(s) - 1

struct ae_case {
	const char *s;
	size_t len;             /* 0: strlen(s) */
	enum fa_zkind want;
};

static const struct ae_case ae_cases[] = {
	{ "gzip, deflate, br, zstd", 0, FA_Z_ZSTD },
	{ "gzip, deflate, br", 0, FA_Z_GZIP },
	{ "gzip;q=1, zstd;q=0.5", 0, FA_Z_GZIP },
	{ "*", 0, FA_Z_ZSTD },
	{ "*;q=0, gzip", 0, FA_Z_GZIP },
	{ "*;q=0", 0, FA_Z_NONE },
	{ "identity;q=0", 0, FA_Z_NONE },
	{ "identity", 0, FA_Z_NONE },
	{ "identity, gzip", 0, FA_Z_GZIP },       /* tie: gzip before identity */
	{ "identity;q=0.6, gzip;q=0.5", 0, FA_Z_NONE },
	{ "ZSTD", 0, FA_Z_ZSTD },
	{ "GZip", 0, FA_Z_GZIP },
	{ "gzip;q=0", 0, FA_Z_NONE },
	{ "gzip;q=0, gzip", 0, FA_Z_NONE },       /* listed twice: the lower q */
	{ "x-gzip", 0, FA_Z_GZIP },
	{ "X-GZIP;q=0.2, zstd;q=0.1", 0, FA_Z_GZIP },
	{ "br", 0, FA_Z_NONE },
	{ "br, compress, deflate", 0, FA_Z_NONE },
	{ "gzip;q=0.5", 0, FA_Z_GZIP },           /* unlisted identity loses */
	{ "zstd;q=0.001", 0, FA_Z_ZSTD },
	/* Invalid q: the element is absent. */
	{ "gzip;q=1.5", 0, FA_Z_NONE },
	{ "gzip;q=1.5, zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;q=1.001", 0, FA_Z_NONE },
	{ "gzip;q=1.000", 0, FA_Z_GZIP },
	{ "gzip;q=1.", 0, FA_Z_GZIP },
	{ "gzip;q=0.1234", 0, FA_Z_NONE },
	{ "gzip;q=.5", 0, FA_Z_NONE },
	{ "gzip;q=-0", 0, FA_Z_NONE },
	{ "gzip;q=", 0, FA_Z_NONE },
	{ "gzip;q", 0, FA_Z_NONE },
	{ "gzip;q=abc", 0, FA_Z_NONE },
	{ "gzip;q=0.5x", 0, FA_Z_NONE },
	{ "gzip;q=0x5, zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;q=0.5., zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;q=00, zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;q=\"0.5\"", 0, FA_Z_NONE },
	{ "gzip;q=0.5;q=1", 0, FA_Z_NONE },       /* repeated q */
	{ "gzip;q=0.5;q=1, zstd;q=0.1", 0, FA_Z_ZSTD },
	/* OWS around ";" is allowed, around "=" it is not. */
	{ "gzip ; q=0.8", 0, FA_Z_GZIP },
	{ "\tgzip\t;\tq=0.2\t, zstd;q=0.1", 0, FA_Z_GZIP },
	{ "gzip ; q = 0.8", 0, FA_Z_NONE },
	{ "gzip;q =0.8, zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;q= 0.8, zstd;q=0.1", 0, FA_Z_ZSTD },
	{ "gzip;Q=0.5, zstd;q=0.4", 0, FA_Z_GZIP },
	/* Ties: zstd, then gzip, then identity. */
	{ "zstd;q=0.5, gzip;q=0.5", 0, FA_Z_ZSTD },
	{ "gzip;q=0.500, zstd;q=0.5", 0, FA_Z_ZSTD },
	{ "gzip;q=0.501, zstd;q=0.5", 0, FA_Z_GZIP },
	/* "*" weighs what is not listed. */
	{ "*;q=0.5, zstd;q=0", 0, FA_Z_GZIP },
	{ "*, zstd;q=0", 0, FA_Z_GZIP },
	{ "deflate, gzip;q=0.9, *;q=0.1", 0, FA_Z_GZIP },
	{ "*;q=0.3, gzip;q=0.2", 0, FA_Z_ZSTD },
	{ "identity;q=0, *;q=0", 0, FA_Z_NONE },
	{ "*;q=0, identity", 0, FA_Z_NONE },
	/* Empty elements, whitespace, other parameters. */
	{ ",,gzip,", 0, FA_Z_GZIP },
	{ " , ,\t,", 0, FA_Z_NONE },
	{ "  gzip  ,  zstd  ", 0, FA_Z_ZSTD },
	{ "gzip;level=9;q=0.9, zstd;q=0.8", 0, FA_Z_GZIP },
	{ "gzip;;q=0.9;, zstd;q=0.8", 0, FA_Z_GZIP },
	{ "gzip;foo=\"a,zstd\", br", 0, FA_Z_GZIP },
	{ "gzip;foo=\"a\\\",zstd\"", 0, FA_Z_GZIP },
	{ "gzip;=5, zstd;q=0.1", 0, FA_Z_ZSTD },
	/* Malformed elements are absent; the rest still counts. */
	{ "gz ip", 0, FA_Z_NONE },
	{ "gzip zstd", 0, FA_Z_NONE },
	{ "gzip zstd, zstd;q=0.2", 0, FA_Z_ZSTD },
	{ ";q=1, gzip;q=0.3", 0, FA_Z_GZIP },
	{ "\"zstd\", gzip", 0, FA_Z_GZIP },
	{ "gzip;a=\"x, zstd", 0, FA_Z_NONE },     /* unterminated quote */
	{ "gzip;a=\"x\\", 0, FA_Z_NONE },
	{ LIT("gzip\0, zstd;q=0.1"), FA_Z_ZSTD },  /* NUL is no tchar */
	{ LIT("zstd\0"), FA_Z_NONE },
	{ "\xff\xfe, gzip", 0, FA_Z_GZIP },
	/* len, not NUL, ends the value. */
	{ "gzipzstd", 4, FA_Z_GZIP },
	{ "zstd;q=0.5", 8, FA_Z_NONE },
	{ "gzip, zstd", 5, FA_Z_GZIP },
};

static void test_choose(void)
{
	size_t i, n;
	enum fa_zkind k;

	for (i = 0; i < sizeof(ae_cases) / sizeof(ae_cases[0]); i++) {
		n = ae_cases[i].len ? ae_cases[i].len : strlen(ae_cases[i].s);
		k = choose_exact(ae_cases[i].s, n);
		CHECK(k == ae_cases[i].want, "'%.*s': %s, want %s", (int)n,
		      ae_cases[i].s, kname(k), kname(ae_cases[i].want));
	}
	CHECK(fa_henc_choose(NULL, 0) == FA_Z_NONE, "NULL");
	CHECK(fa_henc_choose(NULL, 12) == FA_Z_NONE, "NULL with a length");
	CHECK(fa_henc_choose("gzip", 0) == FA_Z_NONE, "empty");
	/* a coding the server has off counts as not offered */
	CHECK(fa_henc_choose_among("zstd, gzip", 10, false, true) == FA_Z_GZIP, "zstd off");
	CHECK(fa_henc_choose_among("zstd, gzip", 10, true, false) == FA_Z_ZSTD, "gzip off");
	CHECK(fa_henc_choose_among("*", 1, false, true) == FA_Z_GZIP, "* with zstd off");
	CHECK(fa_henc_choose_among("zstd", 4, false, true) == FA_Z_NONE, "only zstd, off");
	CHECK(fa_henc_choose_among("gzip, zstd", 10, false, false) == FA_Z_NONE, "both off");
	printf("  %zu Accept-Encoding cases\n", i);
}

/* n copies of unit followed by tail, in an exactly sized buffer. */
static enum fa_zkind choose_long(const char *unit, size_t copies,
				 const char *tail, size_t *len)
{
	size_t u = strlen(unit), t = strlen(tail), i;
	char *s = malloc(u * copies + t + 1);
	enum fa_zkind k;

	for (i = 0; i < copies; i++)
		memcpy(s + i * u, unit, u);
	memcpy(s + copies * u, tail, t);
	*len = copies * u + t;
	k = choose_exact(s, *len);
	free(s);
	return k;
}

static void test_choose_long(void)
{
	size_t len;
	enum fa_zkind k;

	k = choose_long("br;q=0.5, ", 100000, "zstd;q=0.1", &len);
	CHECK(k == FA_Z_ZSTD, "%zu bytes of br then zstd: %s", len, kname(k));
	k = choose_long("identity;q=0, ", 50000, "gzip;q=0.001", &len);
	CHECK(k == FA_Z_GZIP, "%zu bytes: %s", len, kname(k));
	k = choose_long(" ", 1000000, "gzip", &len);
	CHECK(k == FA_Z_GZIP, "a megabyte of spaces: %s", kname(k));
	k = choose_long(",", 1000000, "", &len);
	CHECK(k == FA_Z_NONE, "a megabyte of commas: %s", kname(k));
	k = choose_long("x", 1000000, ", zstd", &len);
	CHECK(k == FA_Z_ZSTD, "a megabyte token: %s", kname(k));
	k = choose_long("gzip;q=0.5;a=\"\\\"", 20000, "", &len);
	CHECK(k == FA_Z_NONE, "nested unterminated quotes: %s", kname(k));
}

/* Whether s[0..n) holds name in any case. */
static int holds(const char *s, size_t n, const char *name)
{
	size_t m = strlen(name), i;

	for (i = 0; i + m <= n; i++)
		if (strncasecmp(s + i, name, m) == 0)
			return 1;
	return 0;
}

/* Random junk from header-ish pieces: no crash, no overread, no invention. */
static void test_choose_random(void)
{
	static const char *const bits[] = {
		"gzip", "zstd", "x-gzip", "identity", "*", "br", ";", ",",
		" ", "\t", "q=", "Q=", "0", "1", ".", "5", "0.5", "1.000",
		"=", "\"", "\\", "a", "\0", "\xff" };
	char s[128];
	size_t n, len, i, counts[3] = { 0, 0, 0 };
	int round;
	enum fa_zkind k;

	for (round = 0; round < 200000; round++) {
		len = 0;
		for (n = rnd_in(0, 24); n > 0; n--) {
			const char *b = bits[rnd_in(0, sizeof(bits) /
							   sizeof(bits[0]) - 1)];
			size_t bl = b[0] ? strlen(b) : 1;

			if (len + bl > sizeof(s))
				break;
			memcpy(s + len, b, bl);
			len += bl;
		}
		k = choose_exact(s, len);
		CHECK(k == FA_Z_NONE || k == FA_Z_GZIP || k == FA_Z_ZSTD,
		      "kind %d", (int)k);
		if (k == FA_Z_ZSTD)
			CHECK(holds(s, len, "zstd") || holds(s, len, "*"),
			      "zstd from '%.*s'", (int)len, s);
		if (k == FA_Z_GZIP)
			CHECK(holds(s, len, "gzip") || holds(s, len, "*"),
			      "gzip from '%.*s'", (int)len, s);
		if ((unsigned)k < 3)
			counts[k]++;
	}
	for (i = 0; i < 3; i++)
		CHECK(counts[i] > 100, "%s chosen only %zu times", kname(i),
		      counts[i]);
	printf("  random headers: none %zu, gzip %zu, zstd %zu\n",
	       counts[0], counts[1], counts[2]);
}

/* ------------------------------------------------------------ Content-Type */

static void test_compressible(void)
{
	static const struct {
		const char *ctype;
		bool want;
	} cases[] = {
		{ "text/plain", true },
		{ "text/html; charset=utf-8", true },
		{ "text/csv;charset=utf-8", true },
		{ "TEXT/CSV", true },
		{ "  text/css", true },
		{ "text/event-stream", true },
		{ "application/json", true },
		{ "Application/JSON; charset=utf-8", true },
		{ "application/x-ndjson", true },
		{ "application/problem+json", true },
		{ "application/ld+json ; profile=x", true },
		{ "application/javascript", true },
		{ "application/xml", true },
		{ "application/atom+xml", true },
		{ "image/svg+xml", true },
		{ "image/SVG+XML;charset=utf-8", true },
		{ "image/png", false },
		{ "image/jpeg", false },
		{ "application/octet-stream", false },
		{ "application/gzip", false },
		{ "application/zstd", false },
		{ "application/jsonx", false },
		{ "application/json5", false },
		{ "application/+json", false },
		{ "model/gltf+json", false },
		{ "video/mp4", false },
		{ "text", false },
		{ "text/", false },
		{ "/json", false },
		{ "", false },
		{ "text/plain garbage", true },
		{ "text/pl\"ain", false },
	};
	size_t i;
	bool got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = fa_henc_compressible(cases[i].ctype);
		CHECK(got == cases[i].want, "'%s': %d", cases[i].ctype, got);
	}
	CHECK(!fa_henc_compressible(NULL), "NULL");
}

/* ------------------------------------------------------------ ETag */

static void test_etag(void)
{
	static const struct {
		const char *in;
		enum fa_zkind kind;
		const char *want;       /* NULL: not an entity-tag */
	} cases[] = {
		{ "\"abc\"", FA_Z_ZSTD, "\"abc-zstd\"" },
		{ "\"abc\"", FA_Z_GZIP, "\"abc-gzip\"" },
		{ "\"abc\"", FA_Z_NONE, "\"abc\"" },
		{ "W/\"abc\"", FA_Z_ZSTD, "W/\"abc-zstd\"" },
		{ "W/\"abc\"", FA_Z_NONE, "W/\"abc\"" },
		{ "\"\"", FA_Z_GZIP, "\"-gzip\"" },
		{ "\"5f3a-1c2b\"", FA_Z_GZIP, "\"5f3a-1c2b-gzip\"" },
		{ "abc", FA_Z_ZSTD, NULL },
		{ "\"abc", FA_Z_ZSTD, NULL },
		{ "abc\"", FA_Z_ZSTD, NULL },
		{ "\"", FA_Z_ZSTD, NULL },
		{ "W/abc", FA_Z_ZSTD, NULL },
		{ "w/\"abc\"", FA_Z_ZSTD, NULL },
		{ "W/\"", FA_Z_ZSTD, NULL },
		{ "\"a\"b\"", FA_Z_ZSTD, NULL },
		{ "\"a b\"", FA_Z_ZSTD, NULL },
		{ "", FA_Z_NONE, NULL },
	};
	char out[64];
	size_t i, n;

	CHECK(strcmp(fa_henc_etag_suffix(FA_Z_NONE), "") == 0, "none");
	CHECK(strcmp(fa_henc_etag_suffix(FA_Z_GZIP), "-gzip") == 0, "gzip");
	CHECK(strcmp(fa_henc_etag_suffix(FA_Z_ZSTD), "-zstd") == 0, "zstd");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		n = fa_henc_etag(out, sizeof(out), cases[i].in, cases[i].kind);
		if (cases[i].want)
			CHECK(n == strlen(cases[i].want) &&
			      strcmp(out, cases[i].want) == 0,
			      "%s %s: %zu '%s'", cases[i].in,
			      kname(cases[i].kind), n, out);
		else
			CHECK(n == 0 && out[0] == '\0', "%s: %zu '%s'",
			      cases[i].in, n, out);
	}
	CHECK(fa_henc_etag(out, sizeof(out), NULL, FA_Z_GZIP) == 0 &&
	      out[0] == '\0', "NULL");
	/* Too small: the length, and "" rather than a truncated tag. */
	CHECK(fa_henc_etag(NULL, 0, "\"abc\"", FA_Z_ZSTD) == 10, "length only");
	memset(out, 'x', sizeof(out));
	CHECK(fa_henc_etag(out, 10, "\"abc\"", FA_Z_ZSTD) == 10 &&
	      out[0] == '\0', "cap 10: '%s'", out);
	CHECK(fa_henc_etag(out, 11, "\"abc\"", FA_Z_ZSTD) == 10 &&
	      strcmp(out, "\"abc-zstd\"") == 0, "cap 11: '%s'", out);
}

/* ------------------------------------------------------------ helpers */

/* Decodes all of c[0..n) in a new decoder into out; FA_OK and finished. */
static enum fa_err decode_all(enum fa_zkind kind, const char *c, size_t n,
			      struct fa_buf *out, struct fa_error *err)
{
	struct fa_unz u;
	size_t used;
	enum fa_err rc;

	rc = fa_unz_init(&u, kind, 0, err);
	while (rc == FA_OK && (n > 0 || u.more)) {
		rc = fa_unz_feed(&u, c, n, &used, out, err);
		c += used;
		n -= used;
	}
	if (rc == FA_OK)
		rc = fa_unz_finish(&u, err);
	fa_unz_release(&u);
	return rc;
}

/* Feeds c[0..n) to a running decoder, pulling all it gives into out. */
static enum fa_err decode_more(struct fa_unz *u, const char *c, size_t n,
			       struct fa_buf *out, struct fa_error *err)
{
	size_t used;
	enum fa_err rc = FA_OK;

	while (rc == FA_OK && (n > 0 || u->more)) {
		rc = fa_unz_feed(u, c, n, &used, out, err);
		c += used;
		n -= used;
	}
	return rc;
}

/* One NDJSON-like row of random length into row; returns its length. */
static size_t make_row(char *row, size_t cap, size_t i)
{
	static const char *const words[] = {
		"alpha", "beta", "gamma", "delta", "paid", "pending",
		"shipped", "Berlin", "Paris", "Oslo", "Lima", "\"quoted\"" };
	size_t n, extra = rnd_in(0, 30);

	n = (size_t)snprintf(row, cap, "{\"id\":%zu,\"amount\":%u.%02u,"
			     "\"note\":\"", i, (unsigned)(rnd() % 100000),
			     (unsigned)(rnd() % 100));
	while (extra-- > 0 && n + 16 < cap) {
		const char *w = words[rnd_in(0, 11)];

		if (rnd() % 8 == 0)     /* some noise that does not compress */
			n += (size_t)snprintf(row + n, cap - n, "%08x ",
					      (unsigned)rnd());
		else
			n += (size_t)snprintf(row + n, cap - n, "%s ", w);
	}
	n += (size_t)snprintf(row + n, cap - n, "\"}\n");
	return n;
}

/* ------------------------------------------------------------ window */

static void test_window(void)
{
	static const unsigned logs[] = { 19, 20, 21, 23 };
	struct fa_error err = { 0 };
	struct fa_buf in, c;
	struct fa_henc e;
	struct fa_z z;
	char row[1024];
	size_t sizes[4], i;
	ZSTD_frameHeader fh;

	CHECK(fa_z_init_window(&z, FA_Z_ZSTD, 3, 9, &err) == FA_EUSAGE &&
	      strcmp(err.msg, "zstd window log 9 is out of range 10-23") == 0,
	      "%s", err.msg);
	fa_z_release(&z);
	CHECK(fa_z_init_window(&z, FA_Z_ZSTD, 3, 24, &err) == FA_EUSAGE,
	      "window log 24");
	fa_z_release(&z);
	CHECK(fa_z_init_window(&z, FA_Z_GZIP, 6, 99, &err) == FA_OK,
	      "gzip ignores the window: %s", err.msg);
	fa_z_release(&z);

	fa_buf_init(&in, 0);
	fa_buf_init(&c, 0);
	for (i = 0; in.len < (1 << 20); i++)
		fa_buf_append(&in, row, make_row(row, sizeof(row), i));
	printf("  zstd level 3 encoder after %zu KiB of rows:", in.len >> 10);
	for (i = 0; i < 4; i++) {
		fa_buf_reset(&c);
		CHECK(fa_z_init_window(&z, FA_Z_ZSTD, 3, logs[i], &err) ==
		      FA_OK && fa_z_write(&z, in.data, in.len, &c, &err) ==
		      FA_OK && fa_z_flush(&z, &c, &err) == FA_OK,
		      "window log %u: %s", logs[i], err.msg);
		sizes[i] = ZSTD_sizeof_CCtx(z.zc);
		fa_z_release(&z);
		CHECK(ZSTD_getFrameHeader(&fh, c.data, c.len) == 0 &&
		      fh.windowSize == 1ull << logs[i],
		      "window log %u: frame says %llu", logs[i],
		      (unsigned long long)fh.windowSize);
		printf(" 2^%u %zu KiB%s", logs[i], sizes[i] >> 10,
		       i < 3 ? "," : "\n");
	}
	for (i = 1; i < 4; i++)
		CHECK(sizes[i] > sizes[i - 1], "2^%u %zu vs 2^%u %zu",
		      logs[i], sizes[i], logs[i - 1], sizes[i - 1]);
	CHECK(FA_HENC_WINDOW_LOG == 19 && sizes[0] < 2200 * 1024,
	      "2^19 takes %zu", sizes[0]);

	/* fa_henc uses it, and fa_z_init() still lets the level choose. */
	fa_buf_reset(&c);
	CHECK(fa_henc_init(&e, FA_Z_ZSTD, 0, &err) == FA_OK &&
	      fa_henc_write(&e, in.data, in.len, &c, &err) == FA_OK &&
	      fa_henc_finish(&e, &c, &err) == FA_OK, "%s", err.msg);
	CHECK(ZSTD_getFrameHeader(&fh, c.data, c.len) == 0 &&
	      fh.windowSize == 1u << FA_HENC_WINDOW_LOG && fh.checksumFlag,
	      "fa_henc frame window %llu", (unsigned long long)fh.windowSize);
	fa_henc_release(&e);
	fa_buf_reset(&c);
	CHECK(fa_z_init(&z, FA_Z_ZSTD, 3, &err) == FA_OK &&
	      fa_z_write(&z, in.data, in.len, &c, &err) == FA_OK &&
	      fa_z_finish(&z, &c, &err) == FA_OK, "%s", err.msg);
	fa_z_release(&z);
	CHECK(ZSTD_getFrameHeader(&fh, c.data, c.len) == 0 &&
	      fh.windowSize == 1u << 21, "fa_z_init level 3 window %llu",
	      (unsigned long long)fh.windowSize);
	fa_buf_release(&in);
	fa_buf_release(&c);
}

/* ------------------------------------------------------------ min_size */

static void test_min_size(void)
{
	struct fa_error err = { 0 };
	struct fa_henc e;
	struct fa_buf out, r;
	char body[FA_HENC_MIN_SIZE + 1];
	enum fa_err rc;
	enum fa_zkind k;

	memset(body, 'a', sizeof(body));
	fa_buf_init(&out, 0);
	fa_buf_init(&r, 0);
	for (k = FA_Z_GZIP; k <= FA_Z_ZSTD; k++) {
		const char *name = kname(k);

		/* A short body goes out as is, whatever was negotiated. */
		fa_buf_reset(&out);
		CHECK(fa_henc_init(&e, k, 0, &err) == FA_OK && !e.started &&
		      e.min_size == FA_HENC_MIN_SIZE, "%s: %s", name, err.msg);
		fa_henc_write(&e, "hello ", 6, &out, &err);
		fa_henc_write(&e, "world", 5, &out, &err);
		CHECK(out.len == 0 && !e.started && e.kind == k,
		      "%s: held, %zu out", name, out.len);
		CHECK(fa_henc_finish(&e, &out, &err) == FA_OK && e.started &&
		      e.kind == FA_Z_NONE && out.len == 11 &&
		      memcmp(out.data, "hello world", 11) == 0,
		      "%s: short body %s, %zu bytes", name, kname(e.kind),
		      out.len);
		fa_henc_release(&e);

		/* An empty one is empty. */
		fa_buf_reset(&out);
		fa_henc_init(&e, k, 0, &err);
		CHECK(fa_henc_flush(&e, &out, &err) == FA_OK && !e.started,
		      "%s: flush of nothing", name);
		CHECK(fa_henc_finish(&e, &out, &err) == FA_OK &&
		      e.kind == FA_Z_NONE && out.len == 0, "%s: empty", name);
		fa_henc_release(&e);

		/* min_size 0: the coding is fixed, even for an empty body. */
		fa_buf_reset(&out);
		fa_buf_reset(&r);
		fa_henc_init(&e, k, 0, &err);
		e.min_size = 0;
		CHECK(fa_henc_finish(&e, &out, &err) == FA_OK && e.kind == k &&
		      out.len > 0 && decode_all(k, out.data, out.len, &r, &err)
		      == FA_OK && r.len == 0, "%s: empty, min_size 0: %s",
		      name, err.msg);
		fa_henc_release(&e);

		/* Reaching min_size starts compressing, with what was held. */
		fa_buf_reset(&out);
		fa_buf_reset(&r);
		fa_henc_init(&e, k, 0, &err);
		fa_henc_write(&e, body, FA_HENC_MIN_SIZE - 1, &out, &err);
		CHECK(!e.started && out.len == 0, "%s: below", name);
		fa_henc_write(&e, body, 2, &out, &err);
		CHECK(e.started && e.kind == k, "%s: at min_size", name);
		CHECK(fa_henc_finish(&e, &out, &err) == FA_OK &&
		      decode_all(k, out.data, out.len, &r, &err) == FA_OK &&
		      r.len == FA_HENC_MIN_SIZE + 1 &&
		      memcmp(r.data, body, r.len) == 0, "%s: %s", name,
		      err.msg);
		fa_henc_release(&e);

		/* A flush commits a short body to compression: it is a stream. */
		fa_buf_reset(&out);
		fa_buf_reset(&r);
		fa_henc_init(&e, k, 0, &err);
		fa_henc_write(&e, "{\"a\":1}\n", 8, &out, &err);
		CHECK(fa_henc_flush(&e, &out, &err) == FA_OK && e.started &&
		      e.kind == k && decode_all(k, out.data, out.len, &r,
						&err) == FA_EINPUT &&
		      r.len == 8 && memcmp(r.data, "{\"a\":1}\n", 8) == 0,
		      "%s: flushed short row, %zu decoded: %s", name, r.len,
		      err.msg);
		fa_henc_release(&e);

		/* Levels are checked at init. */
		CHECK(fa_henc_init(&e, k, 20, &err) == FA_EUSAGE &&
		      strstr(err.msg, "level 20 is out of range"), "%s: %s",
		      name, err.msg);
		CHECK(fa_henc_write(&e, "x", 1, &out, &err) == FA_EWORK,
		      "%s: write after a failed init", name);
		fa_henc_release(&e);
	}
	/* Identity is started from the beginning and passes bytes through. */
	fa_buf_reset(&out);
	CHECK(fa_henc_init(&e, FA_Z_NONE, 0, &err) == FA_OK && e.started,
	      "none started");
	fa_henc_write(&e, "abc", 3, &out, &err);
	fa_henc_flush(&e, &out, &err);
	CHECK(out.len == 3 && fa_henc_finish(&e, &out, &err) == FA_OK &&
	      out.len == 3 && memcmp(out.data, "abc", 3) == 0 &&
	      e.kind == FA_Z_NONE, "none passes through");
	fa_henc_release(&e);
	/* An out buffer at its cap is an error, not a crash. */
	fa_buf_release(&out);
	fa_buf_init(&out, 16);
	fa_henc_init(&e, FA_Z_GZIP, 0, &err);
	e.min_size = 0;
	rc = fa_henc_write(&e, body, sizeof(body), &out, &err);
	if (rc == FA_OK)
		rc = fa_henc_finish(&e, &out, &err);
	CHECK(rc == FA_ENOMEM && out.len <= 16, "cap: %s", err.msg);
	CHECK(fa_henc_finish(&e, &out, &err) == FA_EWORK, "after: %s",
	      err.msg);
	fa_henc_release(&e);
	fa_buf_release(&out);
	fa_buf_release(&r);
}

/* ------------------------------------------------------------ round trips */

static int have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Runs "tool -dc" on c[0..n) through temporary files; 0 if it gave want. */
static int tool_decodes(const char *tool, const char *c, size_t n,
			const struct fa_buf *want)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char in[512], out[600], cmd[1400];
	struct fa_buf got;
	char buf[65536];
	FILE *f;
	size_t k;
	int fd, ok = -1;

	snprintf(in, sizeof(in), "%s/test_hencode.XXXXXX", dir);
	fd = mkstemp(in);
	if (fd < 0)
		return -1;
	if (write(fd, c, n) != (ssize_t)n) {
		close(fd);
		unlink(in);
		return -1;
	}
	close(fd);
	snprintf(out, sizeof(out), "%s.out", in);
	snprintf(cmd, sizeof(cmd), "%s -dc < '%s' > '%s'", tool, in, out);
	fa_buf_init(&got, 0);
	if (system(cmd) == 0 && (f = fopen(out, "rb")) != NULL) {
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			fa_buf_append(&got, buf, k);
		fclose(f);
		ok = got.len == want->len &&
		     memcmp(got.data, want->data, got.len) == 0 ? 0 : -1;
	}
	fa_buf_release(&got);
	unlink(in);
	unlink(out);
	return ok;
}

/*
 * Rows through fa_henc in random pieces, flushed every few rows; after
 * each flush a running decoder has given back every byte so far.
 */
static void roundtrip_kind(enum fa_zkind kind, size_t total, int level)
{
	struct fa_error err = { 0 };
	struct fa_henc e;
	struct fa_buf in, out, r, all;
	struct fa_unz u;
	char row[1024];
	size_t n, off, piece, rows = 0, flushes = 0, bad = 0, sent = 0;
	const char *name = kname(kind);

	fa_buf_init(&in, 0);
	fa_buf_init(&out, 0);
	fa_buf_init(&r, 0);
	fa_buf_init(&all, 0);
	CHECK(fa_henc_init(&e, kind, level, &err) == FA_OK, "%s", err.msg);
	fa_unz_init(&u, kind, 0, &err);
	while (in.len < total) {
		n = make_row(row, sizeof(row), rows++);
		fa_buf_append(&in, row, n);
		for (off = 0; off < n; off += piece) {
			piece = rnd_in(1, n - off);
			if (fa_henc_write(&e, row + off, piece, &out, &err))
				bad++;
		}
		if (rnd() % 4 != 0)
			continue;
		if (fa_henc_flush(&e, &out, &err))
			bad++;
		flushes++;
		/* What the server sends now decodes to every row so far. */
		fa_buf_append(&all, out.data, out.len);
		if (decode_more(&u, out.data, out.len, &r, &err))
			bad++;
		sent += out.len;
		fa_buf_reset(&out);
		if (r.len != in.len || memcmp(r.data, in.data, in.len) != 0)
			bad++;
	}
	CHECK(bad == 0 && e.started && e.kind == kind,
	      "%s: %zu of %zu flushes did not decode: %s", name, bad, flushes,
	      err.msg);
	CHECK(fa_henc_finish(&e, &out, &err) == FA_OK, "%s", err.msg);
	fa_buf_append(&all, out.data, out.len);
	CHECK(decode_more(&u, out.data, out.len, &r, &err) == FA_OK &&
	      fa_unz_finish(&u, &err) == FA_OK && r.len == in.len &&
	      memcmp(r.data, in.data, in.len) == 0, "%s: running decoder: %s",
	      name, err.msg);
	fa_unz_release(&u);
	fa_buf_reset(&r);
	CHECK(decode_all(kind, all.data, all.len, &r, &err) == FA_OK &&
	      r.len == in.len && memcmp(r.data, in.data, in.len) == 0,
	      "%s: whole body: %s", name, err.msg);
	if (!have(name))
		printf("  note: %s not found, its check skipped\n", name);
	else
		CHECK(tool_decodes(name, all.data, all.len, &in) == 0,
		      "%s -dc of %zu bytes", name, all.len);
	printf("  %s level %d: %zu rows, %zu flushes, %zu -> %zu bytes\n",
	       name, level ? level : (kind == FA_Z_GZIP ? 6 : 3), rows,
	       flushes, in.len, all.len);
	fa_henc_release(&e);
	fa_buf_release(&in);
	fa_buf_release(&out);
	fa_buf_release(&r);
	fa_buf_release(&all);
}

static void test_roundtrips(void)
{
	roundtrip_kind(FA_Z_GZIP, 1 << 20, 0);
	roundtrip_kind(FA_Z_ZSTD, 1 << 20, 0);
	roundtrip_kind(FA_Z_GZIP, 3000, 1);
	roundtrip_kind(FA_Z_ZSTD, 3000, 19);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	rnd_seed("test_hencode", argc, argv);
	RUN(test_choose);
	RUN(test_choose_long);
	RUN(test_choose_random);
	RUN(test_compressible);
	RUN(test_etag);
	RUN(test_window);
	RUN(test_min_size);
	RUN(test_roundtrips);
	return check_report("test_hencode");
}
