/*
 * hfile: request paths into safe relative paths, content types, ETags and
 * the conditional-request rules for files.  No I/O: see hfile.h.
 */
#include "http/hfile.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Decodes the segment path[at..at + n) into seg; a decoded byte
 * that would change how the path splits, or end it, is refused.
 */
static enum fa_err decode_segment(const char *path, size_t plen, size_t at, size_t n,
				  char *seg, size_t *len, struct fa_error *err)
{
	const char *p = path + at;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		size_t here = at + i;
		char c = p[i];

		if (c == '%') {
			if (i + 2 >= n || hex(p[i + 1]) < 0 || hex(p[i + 2]) < 0)
				return fa_error_set(err, FA_EINPUT, "path '%.*s': a '%%' without two "
						    "hex digits at byte %zu", (int)plen, path, here);
			c = (char)(hex(p[i + 1]) << 4 | hex(p[i + 2]));
			i += 2;
			if (c == '/')
				return fa_error_set(err, FA_EINPUT, "path '%.*s': an encoded '/' at "
						    "byte %zu", (int)plen, path, here);
		}
		if (c == '\0' || c == '\\')
			return fa_error_set(err, FA_EINPUT, "path '%.*s': %s at byte %zu",
					    (int)plen, path, c ? "a '\\'" : "a NUL", here);
		seg[o++] = c;
	}
	*len = o;
	return FA_OK;
}

enum fa_err fa_hfile_path(const char *path, size_t n, char *out, size_t cap,
			  struct fa_error *err)
{
	size_t at = 1, o = 0;

	if (!n || path[0] != '/')
		return fa_error_set(err, FA_EINPUT, "path '%.*s': does not start with '/'",
				    (int)n, path);
	while (at <= n) {
		const char *slash = memchr(path + at, '/', n - at);
		size_t len = slash ? (size_t)(slash - path) - at : n - at, dlen = 0;
		char seg[256];

		if (len >= sizeof(seg) || o + len + 2 > cap)
			return fa_error_set(err, FA_EINPUT, "path '%.*s': too long at byte %zu",
					    (int)n, path, at);
		if (decode_segment(path, n, at, len, seg, &dlen, err))
			return FA_EINPUT;
		if (dlen == 2 && seg[0] == '.' && seg[1] == '.')
			return fa_error_set(err, FA_EINPUT, "path '%.*s': a '..' segment at byte %zu",
					    (int)n, path, at);
		if (dlen && !(dlen == 1 && seg[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, seg, dlen);
			o += dlen;
		}
		at += len + 1;
	}
	/* a directory asked for: the trailing '/' stays */
	if (n > 1 && path[n - 1] == '/' && o)
		out[o++] = '/';
	out[o] = '\0';
	return FA_OK;
}

bool fa_hfile_hidden(const char *rel)
{
	for (const char *p = rel; *p; p += *p == '/') {
		size_t len = strcspn(p, "/");

		if (*p == '.' && !(len == 11 && !strncmp(p, ".well-known", 11)))
			return true;
		p += len;
	}
	return false;
}

/* The types of the web's usual files; the rest are bytes. */
static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
};

const char *fa_hfile_type(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

void fa_hfile_etag(char out[FA_HFILE_ETAG_MAX], uint64_t ino, int64_t size,
		   struct timespec mtime)
{
	uint64_t ns = (uint64_t)mtime.tv_sec * 1000000000u + (uint64_t)mtime.tv_nsec;

	snprintf(out, FA_HFILE_ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)ino,
		 (unsigned long long)size, (unsigned long long)ns);
}

/* One member of an If-None-Match list, W/ and spaces off, against the tag. */
static bool tag_matches(const char *t, size_t n, const char *etag)
{
	while (n && (*t == ' ' || *t == '\t'))
		t++, n--;
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n >= 2 && t[0] == 'W' && t[1] == '/')
		t += 2, n -= 2;
	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	return (n == 1 && *t == '*') || (n == strlen(etag) && !memcmp(t, etag, n));
}

bool fa_hfile_not_modified(const char *inm, size_t inm_len, const char *ims, size_t ims_len,
			   const char *etag, time_t mtime)
{
	time_t since;

	if (inm) {
		while (inm_len) {
			const char *comma = memchr(inm, ',', inm_len);
			size_t len = comma ? (size_t)(comma - inm) : inm_len;

			if (tag_matches(inm, len, etag))
				return true;
			inm += len + (comma != NULL);
			inm_len -= len + (comma != NULL);
		}
		return false;
	}
	return ims && fa_hfile_date_parse(ims, ims_len, &since) && mtime <= since;
}

/* Digits at *p (at most 18 of them) into *out, advancing *p; false when none. */
static bool number(const char **p, const char *end, int64_t *out)
{
	const char *start = *p;
	int64_t v = 0;

	while (*p < end && **p >= '0' && **p <= '9' && *p - start < 18)
		v = v * 10 + (*(*p)++ - '0');
	*out = v;
	return *p > start && (*p == end || **p < '0' || **p > '9');
}

int fa_hfile_range(const char *v, size_t n, int64_t size, int64_t *first, int64_t *last)
{
	const char *p = v, *end = v + n;
	int64_t a = -1, b = -1;

	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p < 7 || strncasecmp(p, "bytes=", 6) || memchr(p, ',', (size_t)(end - p)))
		return 0;
	p += 6;
	if (*p != '-' && !number(&p, end, &a))
		return 0;
	if (p == end || *p++ != '-' || (p < end && !number(&p, end, &b)) || p != end ||
	    (a < 0 && b < 0) || (a >= 0 && b >= 0 && b < a))
		return 0;
	if (a < 0) {                    /* the last b bytes */
		if (!b || !size)
			return -1;
		*first = b < size ? size - b : 0;
		*last = size - 1;
		return 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= 0 && b < size ? b : size - 1;
	return 1;
}

bool fa_hfile_if_range(const char *v, size_t n, const char *etag, time_t mtime)
{
	time_t t;

	if (n && v[0] == '"')
		return n == strlen(etag) && !memcmp(v, etag, n);
	return fa_hfile_date_parse(v, n, &t) && t == mtime;
}

static int month(const char *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (!strncmp(names + 3 * i, m, 3) && m[3] == '\0')
			return i;
	return -1;
}

/* Whether sscanf took all of s: its %n ran (end >= 0) and stopped at the NUL. */
static bool whole(const char *s, int end)
{
	return end >= 0 && !s[end];
}

/* The three forms through sscanf; %n checks nothing is left over. */
static bool scan_date(const char *s, struct tm *tm)
{
	char mon[8], wday[16];
	int end = -1;

	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wday, &tm->tm_mday, mon,
		   &tm->tm_year, &tm->tm_hour, &tm->tm_min, &tm->tm_sec, &end) == 7 && whole(s, end))
		tm->tm_year -= 1900;
	else if (end = -1, sscanf(s, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wday,
				  &tm->tm_mday, mon, &tm->tm_year, &tm->tm_hour, &tm->tm_min,
				  &tm->tm_sec, &end) == 7 && whole(s, end))
		tm->tm_year += tm->tm_year < 70 ? 100 : 0;
	else if (end = -1, sscanf(s, "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &tm->tm_mday,
				  &tm->tm_hour, &tm->tm_min, &tm->tm_sec, &tm->tm_year,
				  &end) == 7 && whole(s, end))
		tm->tm_year -= 1900;
	else
		return false;
	tm->tm_mon = month(mon);
	return tm->tm_mon >= 0 && tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_hour >= 0 &&
	       tm->tm_hour < 24 && tm->tm_min >= 0 && tm->tm_min < 60 && tm->tm_sec >= 0 &&
	       tm->tm_sec <= 60 && tm->tm_year >= 70;
}

bool fa_hfile_date_parse(const char *s, size_t n, time_t *out)
{
	struct tm tm = { 0 };
	char buf[64];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!scan_date(buf, &tm))
		return false;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}
