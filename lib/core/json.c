#include "core/json.h"

#include <stdint.h>
#include <string.h>

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

int fa_json_utf8_decode(const char *s, size_t n, unsigned int *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int c, min;
	int len, i;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2)		/* continuation byte, or overlong 2-byte lead */
		return 0;
	if (c >= 0xf5)		/* would be above U+10FFFF */
		return 0;
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	c &= 0x7f >> len;	/* the lead byte's payload bits */
	if (n < (size_t)len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * fa_buf_append() without the call while b has room (fa_buf keeps
 * cap <= max + 1, and the data NUL-terminated, which this does too).
 */
static inline enum fa_err append(struct fa_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n)
		return fa_buf_append(b, p, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return FA_OK;
}

/* An ASCII byte that goes into a JSON string as it is. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * True when none of the 8 bytes in x needs a second look: no control
 * byte, no quote, no backslash, no byte >= 0x80.  The "has a zero byte"
 * tests are exact for the word as a whole, which is all we ask.
 */
static int word_plain(uint64_t x)
{
	uint64_t q = x ^ (ONES * '"');
	uint64_t bs = x ^ (ONES * '\\');
	uint64_t bad = ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
		       ((bs - ONES) & ~bs) | x;

	return (bad & HIGHS) == 0;
}

/* Returns the first byte at or after p that is not plain ASCII. */
static const unsigned char *skip_plain(const unsigned char *p,
				       const unsigned char *end)
{
	uint64_t x;

	while (end - p >= 8) {
		memcpy(&x, p, 8);
		if (!word_plain(x))
			break;
		p += 8;
	}
	while (p < end && plain(*p))
		p++;
	return p;
}

static enum fa_err put_escape(struct fa_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"':  return append(b, "\\\"", 2);
	case '\\': return append(b, "\\\\", 2);
	case '\n': return append(b, "\\n", 2);
	case '\t': return append(b, "\\t", 2);
	case '\r': return append(b, "\\r", 2);
	case '\b': return append(b, "\\b", 2);
	case '\f': return append(b, "\\f", 2);
	}
	if (c >= 0x80)		/* a byte of invalid UTF-8 */
		return append(b, "\\ufffd", 6);
	return append(b, u, sizeof(u));
}

enum fa_err fa_json_put_string(struct fa_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len, *run = p;
	unsigned int cp;
	int n;

	/* Room for the common case up front: nothing to escape. */
	if (fa_buf_grow(b, len + 2) != FA_OK || append(b, "\"", 1) != FA_OK)
		return FA_ENOMEM;
	for (;;) {
		p = skip_plain(p, end);
		if (p == end)
			break;
		if (*p >= 0x80) {
			n = fa_json_utf8_decode((const char *)p, end - p, &cp);
			if (n > 0) {	/* valid UTF-8 stays in the run */
				p += n;
				continue;
			}
		}
		if (append(b, run, p - run) != FA_OK ||
		    put_escape(b, *p) != FA_OK)
			return FA_ENOMEM;
		run = ++p;
	}
	if (append(b, run, end - run) != FA_OK)
		return FA_ENOMEM;
	return append(b, "\"", 1);
}

enum fa_err fa_json_put_key(struct fa_buf *b, const char *name, size_t len)
{
	if (fa_json_put_string(b, name, len) != FA_OK)
		return FA_ENOMEM;
	return append(b, ":", 1);
}

/* Skips one or more digits at s[*i]; false when there is none. */
static bool digits(const char *s, size_t len, size_t *i)
{
	size_t start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i > start;
}

bool fa_json_is_number(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i >= len || s[i] < '1' || s[i] > '9' || !digits(s, len, &i))
		return false;
	if (i < len && s[i] == '.') {
		i++;
		if (!digits(s, len, &i))
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digits(s, len, &i))
			return false;
	}
	return i == len;
}
