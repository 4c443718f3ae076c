/*
 * Unit tests for lib/http/hfile: request paths into relative paths (and
 * the ways out refused), content types, ETags, HTTP-dates, the 304 rules
 * and byte ranges.  Random paths (built from the pieces traversal is made of) must
 * either be refused or give a path with no "..", no leading '/', no empty
 * segment and no NUL.
 *
 * Usage: test_hfile [seed]
 */
#include "http/hfile.c"
#include "http/h1.h"

#include "check.h"

/* "ok:REL" or "err:MESSAGE" for path p. */
static const char *norm(const char *p)
{
	static char shown[1200];
	char out[256];
	struct fa_error err = { 0 };

	if (fa_hfile_path(p, strlen(p), out, sizeof(out), &err))
		snprintf(shown, sizeof(shown), "err:%s", err.msg);
	else
		snprintf(shown, sizeof(shown), "ok:%s", out);
	return shown;
}

/* "/xxx.../xxx..." of nseg segments of n bytes each. */
static const char *long_path(size_t n, int nseg)
{
	static char p[1024];
	size_t at = 0;

	while (nseg--) {
		p[at++] = '/';
		memset(p + at, 'x', n);
		at += n;
	}
	p[at] = '\0';
	return p;
}

static void test_paths(void)
{
	CHECK_STR(norm("/"), "ok:");
	CHECK_STR(norm("/index.html"), "ok:index.html");
	CHECK_STR(norm("/a/b/c.js"), "ok:a/b/c.js");
	CHECK_STR(norm("/a/b/"), "ok:a/b/");
	CHECK_STR(norm("//a//./b/./"), "ok:a/b/");
	CHECK_STR(norm("/./"), "ok:");
	CHECK_STR(norm("/a/."), "ok:a");
	CHECK_STR(norm("/caf%C3%A9%20menu.txt"), "ok:caf\xc3\xa9 menu.txt");
	CHECK_STR(norm("/a%2eb"), "ok:a.b");
	CHECK_STR(norm("/.../x"), "ok:.../x");
	CHECK_STR(norm("/../x"), "err:path '/../x': a '..' segment at byte 1");
	CHECK_STR(norm("/a/.."), "err:path '/a/..': a '..' segment at byte 3");
	CHECK_STR(norm("/%2e%2e/x"), "err:path '/%2e%2e/x': a '..' segment at byte 1");
	CHECK_STR(norm("/.%2E/x"), "err:path '/.%2E/x': a '..' segment at byte 1");
	CHECK_STR(norm("/a%2f..%2fb"), "err:path '/a%2f..%2fb': an encoded '/' at byte 2");
	CHECK_STR(norm("/a%2F"), "err:path '/a%2F': an encoded '/' at byte 2");
	CHECK_STR(norm("/a%00b"), "err:path '/a%00b': a NUL at byte 2");
	CHECK_STR(norm("/..%5cx"), "err:path '/..%5cx': a '\\' at byte 3");
	CHECK_STR(norm("/a\\b"), "err:path '/a\\b': a '\\' at byte 2");
	CHECK_STR(norm("/a%zz"), "err:path '/a%zz': a '%' without two hex digits at byte 2");
	CHECK_STR(norm("/a%2"), "err:path '/a%2': a '%' without two hex digits at byte 2");
	CHECK_STR(norm("a"), "err:path 'a': does not start with '/'");
	/* a segment over 255 bytes, and a whole path over the room given */
	CHECK(!strncmp(norm(long_path(300, 1)), "err:", 4));
	CHECK(!strncmp(norm(long_path(200, 2)), "err:", 4));
	CHECK(!strncmp(norm(long_path(120, 2)), "ok:", 3));
}

static void test_hidden(void)
{
	CHECK(fa_hfile_hidden(".git/HEAD"));
	CHECK(fa_hfile_hidden("a/.env"));
	CHECK(fa_hfile_hidden("a/.well-knownx/y"));
	CHECK(!fa_hfile_hidden(".well-known/security.txt"));
	CHECK(!fa_hfile_hidden("a/b.c/d"));
	CHECK(!fa_hfile_hidden(""));
	CHECK(!fa_hfile_hidden("a/"));
}

static void test_types(void)
{
	CHECK_STR(fa_hfile_type("index.html"), "text/html; charset=utf-8");
	CHECK_STR(fa_hfile_type("a/b/app.MJS"), "text/javascript; charset=utf-8");
	CHECK_STR(fa_hfile_type("x.woff2"), "font/woff2");
	CHECK_STR(fa_hfile_type("x.wasm"), "application/wasm");
	CHECK_STR(fa_hfile_type("x.tar.gz"), "application/octet-stream");
	CHECK_STR(fa_hfile_type("dir.css/README"), "application/octet-stream");
	CHECK_STR(fa_hfile_type(".css"), "text/css; charset=utf-8");
	CHECK_STR(fa_hfile_type("noext"), "application/octet-stream");
}

static void test_dates(void)
{
	time_t t = 0;
	char buf[30];

	CHECK(fa_hfile_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) && t == 784111777);
	t = 0;
	CHECK(fa_hfile_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t) && t == 784111777);
	t = 0;
	CHECK(fa_hfile_date_parse("Sun Nov  6 08:49:37 1994", 24, &t) && t == 784111777);
	CHECK(!fa_hfile_date_parse("Sun, 06 Nov 1994 08:49:37 GMT junk", 34, &t));
	CHECK(!fa_hfile_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", 29, &t));
	/* found by fuzz_hfile: a literal that differs after the numbers */
	CHECK(!fa_hfile_date_parse("Sun, 06 Nov 1994 08:49:37 G.T", 29, &t));
	CHECK(!fa_hfile_date_parse("Sun, 06 Nov 1994 -8:49:37 GMT", 29, &t));
	CHECK(!fa_hfile_date_parse("yesterday", 9, &t));
	CHECK(!fa_hfile_date_parse("", 0, &t));
	/* what fa_h1_date writes reads back */
	for (int i = 0; i < 100; i++) {
		time_t when = (time_t)rnd_below(2000000000u);

		fa_h1_date(buf, when);
		CHECK(fa_hfile_date_parse(buf, strlen(buf), &t) && t == when, "%s", buf);
	}
}

/* fa_hfile_not_modified() against the tag "v1", the headers as strings or NULL. */
static bool not_modified(const char *inm, const char *ims, time_t mtime)
{
	return fa_hfile_not_modified(inm, inm ? strlen(inm) : 0, ims, ims ? strlen(ims) : 0,
				     "\"v1\"", mtime);
}

static void test_conditional(void)
{
	char etag[FA_HFILE_ETAG_MAX];
	const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";

	fa_hfile_etag(etag, 0x1234, 99, (struct timespec){ 784111777, 5 });
	CHECK_STR(etag, "\"1234-63-ae1b981bc490a05\"");
#define NM(inm, ims, mtime) not_modified(inm, ims, mtime)
	CHECK(NM("\"v1\"", NULL, 0));
	CHECK(NM("W/\"v1\"", NULL, 0));
	CHECK(NM("\"a\", \"v1\" ,\"b\"", NULL, 0));
	CHECK(NM("*", NULL, 0));
	CHECK(!NM("\"v2\"", NULL, 0));
	CHECK(!NM("\"v1", NULL, 0));
	CHECK(!NM("", NULL, 0));
	CHECK(NM(NULL, d, 784111777));
	CHECK(NM(NULL, d, 784111000));
	CHECK(!NM(NULL, d, 784111778));
	CHECK(!NM(NULL, "not a date", 0));
	CHECK(!NM(NULL, NULL, 0));
	/* If-None-Match decides alone */
	CHECK(!NM("\"v2\"", d, 0));
#undef NM
}

/* "F-L" (or "ignore", "416") for Range v against 1000 bytes. */
static const char *range(const char *v, int64_t size)
{
	static char shown[64];
	int64_t first = -1, last = -1;
	int r = fa_hfile_range(v, strlen(v), size, &first, &last);

	if (r > 0)
		snprintf(shown, sizeof(shown), "%lld-%lld", (long long)first, (long long)last);
	else
		snprintf(shown, sizeof(shown), "%s", r ? "416" : "ignore");
	return shown;
}

static void test_ranges(void)
{
	CHECK_STR(range("bytes=0-99", 1000), "0-99");
	CHECK_STR(range("bytes=0-0", 1000), "0-0");
	CHECK_STR(range("BYTES=10-", 1000), "10-999");
	CHECK_STR(range("bytes=990-5000", 1000), "990-999");
	CHECK_STR(range("bytes=-100", 1000), "900-999");
	CHECK_STR(range("bytes=-5000", 1000), "0-999");
	CHECK_STR(range("bytes=999-", 1000), "999-999");
	CHECK_STR(range("bytes=1000-", 1000), "416");
	CHECK_STR(range("bytes=-0", 1000), "416");
	CHECK_STR(range("bytes=0-", 0), "416");
	CHECK_STR(range("bytes=5-4", 1000), "ignore");
	CHECK_STR(range("bytes=0-1,5-6", 1000), "ignore");
	CHECK_STR(range("bytes=-", 1000), "ignore");
	CHECK_STR(range("bytes=a-1", 1000), "ignore");
	CHECK_STR(range("bytes=1-2x", 1000), "ignore");
	CHECK_STR(range("items=0-1", 1000), "ignore");
	CHECK_STR(range("bytes=", 1000), "ignore");
	CHECK_STR(range("bytes=1234567890123456789-", 1000), "ignore");
	CHECK(fa_hfile_if_range("\"v1\"", 4, "\"v1\"", 0));
	CHECK(!fa_hfile_if_range("W/\"v1\"", 6, "\"v1\"", 0));
	CHECK(!fa_hfile_if_range("\"v2\"", 4, "\"v1\"", 0));
	CHECK(fa_hfile_if_range("Sun, 06 Nov 1994 08:49:37 GMT", 29, "\"v1\"", 784111777));
	CHECK(!fa_hfile_if_range("Sun, 06 Nov 1994 08:49:37 GMT", 29, "\"v1\"", 784111778));
}

/* Random paths of traversal's pieces: refused, or harmless. */
static void test_random(void)
{
	static const char *const pieces[] = { "/", "..", ".", "%2e", "%2E", "%2f", "%5c", "a", "b.txt",
					      "%00", "%", "%4", "//", "\\", "%41", ".git" };
	char path[256], out[256];

	for (int i = 0; i < 20000; i++) {
		struct fa_error err = { 0 };
		size_t n = 1;
		int k = (int)rnd_in(1, 12);

		path[0] = '/';
		while (k--) {
			const char *p = pieces[rnd_below(sizeof(pieces) / sizeof(pieces[0]))];

			memcpy(path + n, p, strlen(p));
			n += strlen(p);
		}
		path[n] = '\0';
		if (fa_hfile_path(path, n, out, sizeof(out), &err))
			continue;
		CHECK(out[0] != '/' && !strstr(out, "//") && strlen(out) < sizeof(out), "%s -> %s",
		      path, out);
		for (char *s = out; *s; s += strcspn(s, "/"), s += *s == '/')
			CHECK(strncmp(s, "../", 3) && strcmp(s, ".."), "%s -> %s", path, out);
		CHECK(!strchr(out, '\\'), "%s -> %s", path, out);
	}
}

int main(int argc, char **argv)
{
	rnd_seed("test_hfile", argc, argv);
	RUN(test_paths);
	RUN(test_hidden);
	RUN(test_types);
	RUN(test_dates);
	RUN(test_conditional);
	RUN(test_ranges);
	RUN(test_random);
	return check_report("test_hfile");
}
