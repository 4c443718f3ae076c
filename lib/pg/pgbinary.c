/*
 * pgbinary: each parser below mirrors a PostgreSQL input function (the
 * names are given) and writes what the matching send function would.
 * Where PostgreSQL versions disagree on a spelling, or where a value's
 * meaning depends on session settings, the answer is FA_EUSAGE: the value
 * goes through text COPY and the server decides.
 */
#include "pg/pgbinary.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMEDATALEN 64
#define FIELD_MAX 0x3fffffff		/* MaxAllocSize: 1 GB - 1 */
#define MAX_TZDISP_HOUR 15
#define POSTGRES_EPOCH_JDATE 2451545
#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY INT64_C(86400000000)
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define NUMERIC_DSCALE_MAX 0x3FFF
#define JSON_MAX_DEPTH 4096
#define MSG_VALUE_MAX 900		/* bytes of a value quoted in a message */

/* ---- output ---- */

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Makes room for a length word and n bytes (a payload, plus any scratch
 * space the caller wants past it); returns where the payload goes.
 * Nothing counts as written until field_close(). */
static unsigned char *field_open(struct fa_buf *out, size_t n,
				 struct fa_error *err)
{
	if (fa_buf_grow(out, 4 + n) != FA_OK) {
		fa_error_set(err, FA_ENOMEM,
			     "binary COPY buffer is full (limit %zu bytes)",
			     out->max);
		return NULL;
	}
	return (unsigned char *)out->data + out->len + 4;
}

/* Commits a field whose n-byte payload field_open() made room for. */
static enum fa_err field_close(struct fa_buf *out, size_t n,
			       struct fa_error *err)
{
	if (n > FIELD_MAX)
		return fa_error_set(err, FA_EINPUT,
				    "value too long: %zu bytes (the limit is 1 GB)",
				    n);
	put32((unsigned char *)out->data + out->len, (uint32_t)n);
	out->len += 4 + n;
	out->data[out->len] = '\0';
	return FA_OK;
}

/* A field of 1, 2, 4 or 8 bytes holding v, big-endian. */
static enum fa_err put_fixed(struct fa_buf *out, size_t size, uint64_t v,
			     struct fa_error *err)
{
	unsigned char *p = field_open(out, size, err);

	if (!p)
		return FA_ENOMEM;
	switch (size) {
	case 1: p[0] = (unsigned char)v; break;
	case 2: put16(p, (uint16_t)v); break;
	case 4: put32(p, (uint32_t)v); break;
	default: put64(p, v); break;
	}
	return field_close(out, size, err);
}

/* ---- messages and characters ---- */

static int shown(size_t len)
{
	return (int)(len > MSG_VALUE_MAX ? MSG_VALUE_MAX : len);
}

static enum fa_err bad_syntax(struct fa_error *err, const char *type,
			      const char *s, size_t len)
{
	return fa_error_set(err, FA_EINPUT,
			    "invalid input syntax for type %s: \"%.*s\"", type,
			    shown(len), s);
}

static enum fa_err out_of_range(struct fa_error *err, const char *type,
				const char *s, size_t len)
{
	return fa_error_set(err, FA_EINPUT,
			    "value \"%.*s\" is out of range for type %s",
			    shown(len), s, type);
}

static enum fa_err newer_only(struct fa_error *err, const char *type,
			      const char *s, size_t len)
{
	return fa_error_set(err, FA_EUSAGE,
			    "\"%.*s\" is read differently by PostgreSQL versions "
			    "for type %s: send it as text", shown(len), s, type);
}

/* isspace() in the C locale, as the server's input functions use it. */
static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && is_space(s[i]))
		i++;
	return i;
}

/* pg_strncasecmp(s, word, strlen(word)) == 0 on a NUL-terminated s. */
static bool starts_ci(const char *s, const char *word)
{
	for (; *word; s++, word++)
		if (lower(*s) != lower(*word))
			return false;
	return true;
}

/* s[0..n) equals word, case-insensitively. */
static bool equals_ci(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != word[i])
			return false;
	return true;
}


/* ---- bool: boolin(), parse_bool_with_len() ---- */

/* s[0..n) is a prefix of word, case-insensitively, at least min long. */
static bool prefix_ci(const char *s, size_t n, const char *word, size_t min)
{
	size_t i;

	if (n < min || n > strlen(word))
		return false;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != word[i])
			return false;
	return true;
}

/* 1 true, 0 false, -1 not a boolean. */
static int parse_bool(const char *s, size_t len)
{
	size_t i = skip_space(s, len, 0);

	while (len > i && is_space(s[len - 1]))
		len--;
	s += i;
	len -= i;
	if (len == 0)
		return -1;
	switch (lower(s[0])) {
	case 't': return prefix_ci(s, len, "true", 1) ? 1 : -1;
	case 'f': return prefix_ci(s, len, "false", 1) ? 0 : -1;
	case 'y': return prefix_ci(s, len, "yes", 1) ? 1 : -1;
	case 'n': return prefix_ci(s, len, "no", 1) ? 0 : -1;
	case 'o':	/* "o" alone is ambiguous */
		if (prefix_ci(s, len, "on", 2))
			return 1;
		return prefix_ci(s, len, "off", 2) ? 0 : -1;
	case '1': return len == 1 ? 1 : -1;
	case '0': return len == 1 ? 0 : -1;
	}
	return -1;
}

static enum fa_err enc_bool(struct fa_buf *out, const char *s, size_t len,
			    struct fa_error *err)
{
	int v = parse_bool(s, len);

	if (v < 0)
		return bad_syntax(err, "boolean", s, len);
	return put_fixed(out, 1, (uint64_t)v, err);
}

/* ---- integers: pg_strtoint16/32/64() of PostgreSQL 15, oidin() ---- */

struct int_type {
	const char *name;
	size_t size;
	uint64_t max;
};

static const struct int_type int2_type = { "smallint", 2, INT16_MAX };
static const struct int_type int4_type = { "integer", 4, INT32_MAX };
static const struct int_type int8_type = { "bigint", 8, INT64_MAX };

/* PostgreSQL 16 and later also read 0x1F, 0o17, 0b101 and 1_000. */
static bool newer_int_syntax(const char *s, size_t len)
{
	size_t i = skip_space(s, len, 0);

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i + 1 < len && s[i] == '0' && s[i + 1] != '\0' &&
	    strchr("xXoObB", s[i + 1]))
		return true;
	for (; i + 1 < len; i++)
		if (is_digit(s[i]) && s[i + 1] == '_')
			return true;
	return false;
}

static enum fa_err int_syntax(struct fa_error *err, const char *type,
			      const char *s, size_t len)
{
	if (newer_int_syntax(s, len))
		return newer_only(err, type, s, len);
	return bad_syntax(err, type, s, len);
}

/* Blanks, an optional sign, digits, blanks.  The server accumulates the
 * digits as a negative number, so a magnitude past -MIN is out of range
 * at once (before trailing junk is seen) while MAX + 1 is out of range
 * only once the rest has proved valid. */
static enum fa_err parse_int(const struct int_type *t, const char *s,
			     size_t len, uint64_t *v, struct fa_error *err)
{
	size_t i = skip_space(s, len, 0);
	bool neg = false;
	uint64_t acc = 0, lim, cut;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == len || !is_digit(s[i]))
		return int_syntax(err, t->name, s, len);
	lim = t->max + 1;
	cut = lim / 10;
	for (; i < len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (acc > cut || (acc == cut && d > lim % 10))
			return out_of_range(err, t->name, s, len);
		acc = acc * 10 + d;
	}
	if (skip_space(s, len, i) != len)
		return int_syntax(err, t->name, s, len);
	if (!neg && acc == lim)
		return out_of_range(err, t->name, s, len);
	*v = neg ? 0 - acc : acc;	/* two's complement, as sent */
	return FA_OK;
}

static enum fa_err enc_int(struct fa_buf *out, const struct int_type *t,
			   const char *s, size_t len, struct fa_error *err)
{
	uint64_t v;
	enum fa_err rc = parse_int(t, s, len, &v, err);

	return rc != FA_OK ? rc : put_fixed(out, t->size, v, err);
}

/* oidin(): strtoul() semantics, so "-1" is 4294967295; values that fit
 * neither uint32 nor int32 are out of range. */
static enum fa_err enc_oid(struct fa_buf *out, const char *s, size_t len,
			   struct fa_error *err)
{
	size_t i = skip_space(s, len, 0);
	bool neg = false, overflow = false;
	uint64_t acc = 0, cvt;
	uint32_t r;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == len || !is_digit(s[i]))
		return bad_syntax(err, "oid", s, len);
	for (; i < len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (acc > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			acc = acc * 10 + d;
	}
	if (overflow)
		return out_of_range(err, "oid", s, len);
	if (skip_space(s, len, i) != len)
		return bad_syntax(err, "oid", s, len);
	cvt = neg ? 0 - acc : acc;
	r = (uint32_t)cvt;
	if (cvt != r && cvt != (uint64_t)(int64_t)(int32_t)r)
		return out_of_range(err, "oid", s, len);
	return put_fixed(out, 4, r, err);
}

/* ---- floats: float4in(), float8in_internal() of PostgreSQL 12+ ---- */

/* What the server does when strtod() fails: look for the spellings some
 * C libraries lack, else tell underflow to a denormal (accepted) from a
 * real overflow.  1: *d holds the value; 0: out of range; -1: syntax. */
static int float_fixup(const char *num, char **end, double *d, int e,
		       bool single)
{
	static const struct { const char *word; int sign; } words[] = {
		{ "NaN", 0 }, { "Infinity", 1 }, { "+Infinity", 1 },
		{ "-Infinity", -1 }, { "inf", 1 }, { "+inf", 1 },
		{ "-inf", -1 },
	};
	double huge = single ? (double)HUGE_VALF : HUGE_VAL;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (starts_ci(num, words[i].word)) {
			*d = words[i].sign ? words[i].sign * (double)INFINITY
					   : (double)NAN;
			*end = (char *)num + strlen(words[i].word);
			return 1;
		}
	}
	if (e != ERANGE)
		return -1;
	return *d == 0.0 || *d >= huge || *d <= -huge ? 0 : 1;
}

static enum fa_err float_range(struct fa_error *err, bool single,
			       const char *s, size_t len, const char *num,
			       const char *end)
{
	if (single)	/* float4in quotes its whole input */
		return fa_error_set(err, FA_EINPUT,
				    "\"%.*s\" is out of range for type real",
				    shown(len), s);
	return fa_error_set(err, FA_EINPUT,
			    "\"%.*s\" is out of range for type double precision",
			    shown((size_t)(end - num)), num);
}

/* float4send(), float8send(): the IEEE bits, big-endian. */
static enum fa_err float_close(struct fa_buf *out, unsigned char *p,
			       bool single, double d, struct fa_error *err)
{
	float f = (float)d;
	uint32_t b32;
	uint64_t b64;

	if (single) {
		memcpy(&b32, &f, 4);
		put32(p, b32);
		return field_close(out, 4, err);
	}
	memcpy(&b64, &d, 8);
	put64(p, b64);
	return field_close(out, 8, err);
}

/* The value is copied, NUL-terminated for strtod(), into the buffer past
 * the 8 payload bytes: no allocation however long it is. */
static enum fa_err enc_float(struct fa_buf *out, bool single, const char *s,
			     size_t len, struct fa_error *err)
{
	const char *type = single ? "real" : "double precision";
	unsigned char *p = field_open(out, 8 + len + 1, err);
	char *copy, *num, *end;
	double d;
	int e, ok = 1;

	if (!p)
		return FA_ENOMEM;
	copy = (char *)p + 8;
	memcpy(copy, s, len);
	copy[len] = '\0';
	for (num = copy; *num && is_space(*num); num++)
		;
	if (*num == '\0')
		return bad_syntax(err, type, s, len);
	errno = 0;
	d = single ? (double)strtof(num, &end) : strtod(num, &end);
	e = errno;
	if (end == num || e != 0)
		ok = float_fixup(num, &end, &d, e, single);
	if (ok == 0)
		return float_range(err, single, s, len, num, end);
	while (ok > 0 && *end && is_space(*end))
		end++;
	if (ok < 0 || end != copy + len)
		return bad_syntax(err, type, s, len);
	return float_close(out, p, single, d, err);
}

/* ---- numeric: numeric_in(), set_var_from_str() of PostgreSQL 15 ---- */

/* A parsed numeric: decimal digits in the input, not copied. */
struct num {
	const char *digits;	/* the first digit */
	size_t ndec;		/* decimal digits, the point not counted */
	size_t dp_at;		/* digits before a point inside the run */
	int64_t dweight;	/* power of ten of the first digit */
	int64_t dscale;		/* digits after the point */
	uint16_t sign;		/* NUMERIC_POS, _NEG, _NAN, _PINF, _NINF */
};

enum num_status { NUM_OK, NUM_SYNTAX, NUM_OVERFLOW, NUM_NEWER };

/* Decimal digit k of the value, 0 outside the given digits. */
static int num_digit(const struct num *n, int64_t k)
{
	if (k < 0 || (uint64_t)k >= n->ndec)
		return 0;
	return n->digits[(size_t)k < n->dp_at ? k : k + 1] - '0';
}

/* The base-10000 weight of the digit holding decimal power p. */
static int64_t nbase_weight(int64_t p)
{
	return p >= 0 ? p / 4 : -((-p - 1) / 4 + 1);
}

/* Weights of the first and last non-zero base-10000 digits; false if
 * the value is zero. */
static bool num_bounds(const struct num *n, int64_t *first, int64_t *last)
{
	int64_t f = 0, l = (int64_t)n->ndec - 1;

	while (f <= l && num_digit(n, f) == 0)
		f++;
	if (f > l)
		return false;
	while (num_digit(n, l) == 0)
		l--;
	*first = nbase_weight(n->dweight - f);
	*last = nbase_weight(n->dweight - l);
	return true;
}

/* NaN and the infinities, spelled as float8in() accepts them. */
static bool num_special(const char *s, size_t len, size_t *ip, struct num *n)
{
	static const struct { const char *word; uint16_t sign; } words[] = {
		{ "nan", NUMERIC_NAN }, { "infinity", NUMERIC_PINF },
		{ "+infinity", NUMERIC_PINF }, { "-infinity", NUMERIC_NINF },
		{ "inf", NUMERIC_PINF }, { "+inf", NUMERIC_PINF },
		{ "-inf", NUMERIC_NINF },
	};
	size_t k, wl;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		wl = strlen(words[k].word);
		if (len - *ip >= wl && equals_ci(s + *ip, wl, words[k].word)) {
			n->sign = words[k].sign;
			*ip += wl;
			return true;
		}
	}
	return false;
}

/* The exponent, read by strtol() in PostgreSQL 15; 16 reads it by hand
 * and no longer skips blanks before it. */
static enum num_status num_exponent(const char *s, size_t len, size_t *ip,
				    int64_t *exp)
{
	size_t i = *ip;
	bool neg = false;
	uint64_t acc = 0;

	if (i < len && is_space(s[i]))
		return NUM_NEWER;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == len || !is_digit(s[i]))
		return NUM_SYNTAX;
	for (; i < len && is_digit(s[i]); i++)
		if (acc < INT_MAX)
			acc = acc * 10 + (uint64_t)(s[i] - '0');
	if (acc >= INT_MAX / 2)
		return NUM_OVERFLOW;
	*exp = neg ? -(int64_t)acc : (int64_t)acc;
	*ip = i;
	return NUM_OK;
}

/* Digits with at most one point, as set_var_from_str() reads them. */
static enum num_status num_digits(const char *s, size_t len, size_t *ip,
				  struct num *n)
{
	size_t i = *ip;
	bool have_dp = false;

	if (i < len && s[i] == '.') {
		have_dp = true;
		i++;
	}
	if (i == len || !is_digit(s[i]))
		return NUM_SYNTAX;
	n->digits = s + i;
	n->dweight = -1;
	n->dp_at = SIZE_MAX;
	for (; i < len; i++) {
		if (is_digit(s[i])) {
			n->ndec++;
			*(have_dp ? &n->dscale : &n->dweight) += 1;
		} else if (s[i] == '.' && !have_dp) {
			have_dp = true;
			n->dp_at = n->ndec;
		} else {
			break;
		}
	}
	if (n->dp_at == SIZE_MAX)
		n->dp_at = n->ndec;
	*ip = i;
	return i < len && s[i] == '.' ? NUM_SYNTAX : NUM_OK;
}

/* Parses without writing anything; also checks what make_result() would
 * refuse (a weight beyond int16, a display scale beyond 16383). */
static enum num_status num_scan(const char *s, size_t len, struct num *n)
{
	size_t i = skip_space(s, len, 0);
	enum num_status st;
	int64_t first, last, exp;

	memset(n, 0, sizeof(*n));
	if (num_special(s, len, &i, n))
		return skip_space(s, len, i) == len ? NUM_OK : NUM_SYNTAX;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		n->sign = s[i++] == '-' ? NUMERIC_NEG : NUMERIC_POS;
	st = num_digits(s, len, &i, n);
	if (st == NUM_OK && i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		st = num_exponent(s, len, &i, &exp);
		if (st == NUM_OK) {
			n->dweight += exp;
			n->dscale = n->dscale - exp < 0 ? 0 : n->dscale - exp;
		}
	}
	if (st == NUM_OK && skip_space(s, len, i) != len)
		st = NUM_SYNTAX;
	if (st == NUM_SYNTAX && newer_int_syntax(s, len))
		return NUM_NEWER;
	if (st != NUM_OK)
		return st;
	if (n->dscale > NUMERIC_DSCALE_MAX)
		return NUM_OVERFLOW;
	if (num_bounds(n, &first, &last) &&
	    (first > INT16_MAX || first < INT16_MIN))
		return NUM_OVERFLOW;
	return NUM_OK;
}

static enum fa_err num_error(struct fa_error *err, enum num_status st,
			     const char *s, size_t len)
{
	if (st == NUM_OVERFLOW)
		return fa_error_set(err, FA_EINPUT,
				    "value overflows numeric format");
	if (st == NUM_NEWER)
		return newer_only(err, "numeric", s, len);
	return bad_syntax(err, "numeric", s, len);
}

/* numeric_send(): ndigits, weight, sign, dscale, then base-10000 digits
 * without leading or trailing zero digits; zero has no digits. */
static enum fa_err enc_numeric(struct fa_buf *out, const char *s,
			       size_t len, struct fa_error *err)
{
	struct num n;
	enum num_status st = num_scan(s, len, &n);
	int64_t first = 0, last = 1, w;
	size_t ndigits;
	unsigned char *p, *q;

	if (st != NUM_OK)
		return num_error(err, st, s, len);
	if (n.sign >= NUMERIC_NAN)	/* what numeric_send() shows for them */
		n.dscale = n.sign == NUMERIC_NAN ? 0 : 32;
	else if (!num_bounds(&n, &first, &last))
		n.sign = NUMERIC_POS;
	ndigits = (size_t)(first - last + 1);
	p = field_open(out, 8 + 2 * ndigits, err);
	if (!p)
		return FA_ENOMEM;
	put16(p, (uint16_t)ndigits);
	put16(p + 2, (uint16_t)(int16_t)first);
	put16(p + 4, n.sign);
	put16(p + 6, (uint16_t)n.dscale);
	for (w = first, q = p + 8; w >= last; w--, q += 2) {
		int64_t k = n.dweight - 4 * w - 3;

		put16(q, (uint16_t)(num_digit(&n, k) * 1000 +
				    num_digit(&n, k + 1) * 100 +
				    num_digit(&n, k + 2) * 10 +
				    num_digit(&n, k + 3)));
	}
	return field_close(out, 8 + 2 * ndigits, err);
}

/* ---- text: the server's encoding check, textin(), namein(), ... ---- */

/* pg_utf8_islegal(): one sequence of n bytes. */
static bool utf8_legal(const unsigned char *s, size_t n)
{
	unsigned char a;

	switch (n) {
	case 4:
		if (s[3] < 0x80 || s[3] > 0xBF)
			return false;
		/* fall through */
	case 3:
		if (s[2] < 0x80 || s[2] > 0xBF)
			return false;
		/* fall through */
	case 2:
		a = s[1];
		switch (s[0]) {
		case 0xE0: if (a < 0xA0 || a > 0xBF) return false; break;
		case 0xED: if (a < 0x80 || a > 0x9F) return false; break;
		case 0xF0: if (a < 0x90 || a > 0xBF) return false; break;
		case 0xF4: if (a < 0x80 || a > 0x8F) return false; break;
		default: if (a < 0x80 || a > 0xBF) return false; break;
		}
		/* fall through */
	case 1:
		return !(s[0] >= 0x80 && s[0] < 0xC2) && s[0] <= 0xF4;
	}
	return false;
}

/* pg_utf_mblen(): the length the lead byte announces. */
static size_t utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		return 2;
	if ((c & 0xF0) == 0xE0)
		return 3;
	if ((c & 0xF8) == 0xF0)
		return 4;
	return 1;
}

/* pg_verify_mbstr() for UTF8: NUL bytes and malformed sequences fail.
 * On failure reports the bytes as report_invalid_encoding() does. */
static enum fa_err utf8_check(const char *text, size_t len,
			      struct fa_error *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n, j;
	char bytes[8 * 5 + 1] = "";

	while (i < len) {
		if (s[i] >= 0x80) {
			n = utf8_len(s[i]);
			if (n > len - i || !utf8_legal(s + i, n))
				break;
			i += n;
		} else if (s[i] != 0) {
			i++;
		} else {
			break;
		}
	}
	if (i == len)
		return FA_OK;
	n = utf8_len(s[i]);
	for (j = 0; j < n && j < len - i; j++)
		sprintf(bytes + strlen(bytes), j ? " 0x%02x" : "0x%02x", s[i + j]);
	return fa_error_set(err, FA_EINPUT,
			    "invalid byte sequence for encoding \"UTF8\": %s",
			    bytes);
}

/* text, varchar, bpchar: the bytes themselves (the server applies
 * varchar(n) and char(n) to them as to text input).  name: namein()
 * clips to NAMEDATALEN - 1 bytes on a character boundary, while
 * namerecv() would refuse, so clip here. */
static enum fa_err enc_text(struct fa_buf *out, const char *s, size_t len,
			    bool is_name, struct fa_error *err)
{
	unsigned char *p;
	enum fa_err rc = utf8_check(s, len, err);

	if (rc != FA_OK)
		return rc;
	if (is_name && len >= NAMEDATALEN) {
		len = NAMEDATALEN - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	p = field_open(out, len, err);
	if (!p)
		return FA_ENOMEM;
	memcpy(p, s, len);
	return field_close(out, len, err);
}

/* ---- bytea: byteain(), hex_decode() ---- */

static enum fa_err bad_hex(struct fa_error *err, const char *c)
{
	return fa_error_set(err, FA_EINPUT, "invalid hexadecimal digit: \"%.*s\"",
			    (int)utf8_len((unsigned char)*c), c);
}

/* "\x" then pairs of hex digits; blanks only between pairs. */
static enum fa_err bytea_hex(struct fa_buf *out, const char *s, size_t len,
			     struct fa_error *err)
{
	unsigned char *p = field_open(out, len / 2, err);
	size_t i = 2, n = 0;
	int hi, lo;

	if (!p)
		return FA_ENOMEM;
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++;
			continue;
		}
		hi = hex_value(s[i]);
		if (hi < 0)
			return bad_hex(err, s + i);
		if (++i == len)
			return fa_error_set(err, FA_EINPUT,
					    "invalid hexadecimal data: odd number of digits");
		lo = hex_value(s[i]);
		if (lo < 0)
			return bad_hex(err, s + i);
		i++;
		p[n++] = (unsigned char)(hi << 4 | lo);
	}
	return field_close(out, n, err);
}

/* The escape format: \\ is a backslash, \ooo (first digit 0-3) a byte. */
static enum fa_err bytea_escape(struct fa_buf *out, const char *s,
				size_t len, struct fa_error *err)
{
	unsigned char *p = field_open(out, len, err);
	size_t i, n = 0;

	if (!p)
		return FA_ENOMEM;
	for (i = 0; i < len; n++) {
		if (s[i] != '\\') {
			p[n] = (unsigned char)s[i++];
		} else if (i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
			   s[i + 2] >= '0' && s[i + 2] <= '7' &&
			   s[i + 3] >= '0' && s[i + 3] <= '7') {
			p[n] = (unsigned char)((s[i + 1] - '0') << 6 |
					       (s[i + 2] - '0') << 3 |
					       (s[i + 3] - '0'));
			i += 4;
		} else if (i + 1 < len && s[i + 1] == '\\') {
			p[n] = '\\';
			i += 2;
		} else {
			return fa_error_set(err, FA_EINPUT,
					    "invalid input syntax for type bytea");
		}
	}
	return field_close(out, n, err);
}

static enum fa_err enc_bytea(struct fa_buf *out, const char *s, size_t len,
			     struct fa_error *err)
{
	enum fa_err rc = utf8_check(s, len, err);

	if (rc != FA_OK)
		return rc;
	if (len >= 2 && s[0] == '\\' && s[1] == 'x')
		return bytea_hex(out, s, len, err);
	return bytea_escape(out, s, len, err);
}

/* ---- uuid: string_to_uuid() ---- */

/* 32 hex digits, optionally in braces, a hyphen allowed after any group
 * of four; nothing else, not even blanks. */
static enum fa_err enc_uuid(struct fa_buf *out, const char *s, size_t len,
			    struct fa_error *err)
{
	unsigned char *p = field_open(out, 16, err);
	bool braces = len > 0 && s[0] == '{';
	size_t i = braces, k;

	if (!p)
		return FA_ENOMEM;
	for (k = 0; k < 16; k++) {
		if (i + 1 >= len || hex_value(s[i]) < 0 ||
		    hex_value(s[i + 1]) < 0)
			return bad_syntax(err, "uuid", s, len);
		p[k] = (unsigned char)(hex_value(s[i]) << 4 |
				       hex_value(s[i + 1]));
		i += 2;
		if (i < len && s[i] == '-' && k % 2 == 1 && k < 15)
			i++;
	}
	if (braces && (i >= len || s[i++] != '}'))
		return bad_syntax(err, "uuid", s, len);
	if (i != len)
		return bad_syntax(err, "uuid", s, len);
	return field_close(out, 16, err);
}

/* ---- json, jsonb: json_in(), jsonb_in() and the server's JSON lexer ---- */

struct json {
	const char *s;
	size_t len, i;
	bool jsonb;
	int depth;
	unsigned char stack[JSON_MAX_DEPTH / 8];	/* bit set: an object */
	struct fa_error *err;
};

/* What the lexer takes as part of a word or number token. */
static bool json_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || (unsigned char)c >= 0x80;
}

static void json_space(struct json *j)
{
	while (j->i < j->len && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
				 j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

/* The token starting at byte start is not what the grammar wants. */
static enum fa_err json_bad(struct json *j, size_t start)
{
	size_t end = start;

	if (start >= j->len)
		return fa_error_set(j->err, FA_EINPUT,
				    "invalid input syntax for type json: "
				    "the input string ended unexpectedly");
	while (end < j->len && (json_alnum(j->s[end]) || j->s[end] == '-' ||
				j->s[end] == '.' || j->s[end] == '+'))
		end++;
	if (end == start)
		end++;
	return fa_error_set(j->err, FA_EINPUT,
			    "invalid input syntax for type json: "
			    "token \"%.*s\" at byte %zu is invalid",
			    shown(end - start), j->s + start, start + 1);
}

/* true, false, null: the whole word must match. */
static enum fa_err json_word(struct json *j)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t end = j->i, k;

	while (end < j->len && json_alnum(j->s[end]))
		end++;
	for (k = 0; k < 3; k++) {
		if (end - j->i == strlen(words[k]) &&
		    memcmp(j->s + j->i, words[k], end - j->i) == 0) {
			j->i = end;
			return FA_OK;
		}
	}
	return json_bad(j, j->i);
}

static size_t json_digits(const struct json *j, size_t i)
{
	while (i < j->len && is_digit(j->s[i]))
		i++;
	return i;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; jsonb stores numbers as
 * numeric, so what numeric_in() refuses fails there too. */
static enum fa_err json_number(struct json *j)
{
	const char *s = j->s;
	size_t start = j->i, i = start + (s[start] == '-'), k;
	struct num n;

	if (i < j->len && s[i] == '0')
		i++;
	else if ((k = json_digits(j, i)) > i)
		i = k;
	else
		return json_bad(j, start);
	if (i < j->len && s[i] == '.') {
		k = json_digits(j, i + 1);
		if (k == i + 1)
			return json_bad(j, start);
		i = k;
	}
	if (i < j->len && (s[i] == 'e' || s[i] == 'E')) {
		i += 1 + (i + 1 < j->len && (s[i + 1] == '+' || s[i + 1] == '-'));
		if ((k = json_digits(j, i)) == i)
			return json_bad(j, start);
		i = k;
	}
	if (i < j->len && json_alnum(s[i]))
		return json_bad(j, start);
	if (j->jsonb && num_scan(s + start, i - start, &n) == NUM_OVERFLOW)
		return fa_error_set(j->err, FA_EINPUT,
				    "value overflows numeric format");
	j->i = i;
	return FA_OK;
}

/* Surrogate escapes out of order: jsonb refuses them; json versions have
 * differed, so let the server decide. */
static enum fa_err json_surrogate(struct json *j)
{
	if (j->jsonb)
		return fa_error_set(j->err, FA_EINPUT,
				    "invalid input syntax for type json: "
				    "Unicode low surrogate must follow a high surrogate");
	return fa_error_set(j->err, FA_EUSAGE,
			    "json value with unpaired Unicode surrogate escapes: "
			    "send it as text");
}

/* One \uXXXX escape; *hi is a pending high surrogate or -1. */
static enum fa_err json_codepoint(struct json *j, long cp, long *hi)
{
	bool bad;

	if (cp >= 0xD800 && cp <= 0xDBFF) {
		bad = *hi >= 0;
		*hi = cp;
	} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
		bad = *hi < 0;
		*hi = -1;
	} else {
		bad = *hi >= 0;
		if (!bad && cp == 0 && j->jsonb)
			return fa_error_set(j->err, FA_EINPUT,
					    "unsupported Unicode escape sequence: "
					    "\\u0000 cannot be converted to text");
	}
	return bad ? json_surrogate(j) : FA_OK;
}

/* The escape at *ip (a backslash); moves *ip past it. */
static enum fa_err json_escape(struct json *j, size_t *ip, long *hi)
{
	size_t i = *ip + 1, k;
	long cp = 0;
	char c = i < j->len ? j->s[i] : '\0';

	if (i >= j->len)
		return json_bad(j, i);
	if (c == 'u') {
		for (k = 1; k <= 4; k++) {
			if (i + k >= j->len || hex_value(j->s[i + k]) < 0)
				return fa_error_set(j->err, FA_EINPUT,
						    "invalid input syntax for type json: "
						    "\"\\u\" must be followed by four "
						    "hexadecimal digits (byte %zu)", i);
			cp = cp * 16 + hex_value(j->s[i + k]);
		}
		*ip = i + 5;
		return json_codepoint(j, cp, hi);
	}
	if (c == '\0' || !strchr("\"\\/bfnrt", c))
		return fa_error_set(j->err, FA_EINPUT,
				    "invalid input syntax for type json: escape "
				    "sequence \"\\%.*s\" at byte %zu is invalid",
				    (int)utf8_len((unsigned char)c), j->s + i, i);
	*ip = i + 1;
	return *hi >= 0 ? json_surrogate(j) : FA_OK;
}

/* A string at j->i (on its opening quote). */
static enum fa_err json_string(struct json *j)
{
	size_t i = j->i + 1;
	long hi = -1;
	enum fa_err rc;
	unsigned char c;

	for (;;) {
		if (i >= j->len)
			return json_bad(j, i);
		c = (unsigned char)j->s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return fa_error_set(j->err, FA_EINPUT,
					    "invalid input syntax for type json: character "
					    "with value 0x%02x at byte %zu must be escaped",
					    c, i + 1);
		if (c == '\\' && (rc = json_escape(j, &i, &hi)) != FA_OK)
			return rc;
		if (c != '\\' && hi >= 0)
			return json_surrogate(j);
		if (c != '\\')
			i++;
	}
	j->i = i + 1;
	return hi >= 0 ? json_surrogate(j) : FA_OK;
}

/* An object key and its colon. */
static enum fa_err json_key(struct json *j)
{
	enum fa_err rc;

	json_space(j);
	if (j->i >= j->len || j->s[j->i] != '"')
		return json_bad(j, j->i);
	if ((rc = json_string(j)) != FA_OK)
		return rc;
	json_space(j);
	if (j->i >= j->len || j->s[j->i] != ':')
		return json_bad(j, j->i);
	j->i++;
	return FA_OK;
}

static bool json_in_object(const struct json *j)
{
	int d = j->depth - 1;

	return j->stack[d / 8] & (1u << (d % 8));
}

/* Where a value is expected: a scalar, an empty container, or the start
 * of one (then *want stays true: its first value is expected). */
static enum fa_err json_value(struct json *j, bool *want)
{
	char c = j->i < j->len ? j->s[j->i] : '\0';
	bool object = c == '{';

	if (j->i >= j->len)
		return json_bad(j, j->i);
	*want = false;
	if (c == '"')
		return json_string(j);
	if (c == '-' || is_digit(c))
		return json_number(j);
	if (c != '{' && c != '[')
		return json_word(j);
	if (j->depth == JSON_MAX_DEPTH)
		return fa_error_set(j->err, FA_EUSAGE,
				    "json nested deeper than %d levels: "
				    "send it as text", JSON_MAX_DEPTH);
	j->stack[j->depth / 8] &= (unsigned char)~(1u << (j->depth % 8));
	j->stack[j->depth / 8] |= (unsigned char)(object << (j->depth % 8));
	j->depth++;
	j->i++;
	json_space(j);
	if (j->i < j->len && j->s[j->i] == (object ? '}' : ']')) {
		j->i++;
		j->depth--;
		return FA_OK;
	}
	*want = true;
	return object ? json_key(j) : FA_OK;
}

/* After a value inside a container: a comma or the closing bracket. */
static enum fa_err json_next(struct json *j, bool *want)
{
	bool object = json_in_object(j);

	if (j->i < j->len && j->s[j->i] == ',') {
		j->i++;
		*want = true;
		return object ? json_key(j) : FA_OK;
	}
	if (j->i < j->len && j->s[j->i] == (object ? '}' : ']')) {
		j->i++;
		j->depth--;
		return FA_OK;
	}
	return json_bad(j, j->i);
}

/* Accepts exactly one JSON value with optional blanks around it. */
static enum fa_err json_check(const char *s, size_t len, bool jsonb,
			      struct fa_error *err)
{
	struct json j;
	bool want = true;
	enum fa_err rc;

	j.s = s;
	j.len = len;
	j.i = 0;
	j.jsonb = jsonb;
	j.depth = 0;
	j.err = err;
	for (;;) {
		json_space(&j);
		if (want)
			rc = json_value(&j, &want);
		else if (j.depth == 0)
			return j.i == len ? FA_OK : json_bad(&j, j.i);
		else
			rc = json_next(&j, &want);
		if (rc != FA_OK)
			return rc;
	}
}

/* json_send() is the text; jsonb_send() is version 1 and the text. */
static enum fa_err enc_json(struct fa_buf *out, const char *s, size_t len,
			    bool jsonb, struct fa_error *err)
{
	unsigned char *p;
	enum fa_err rc = utf8_check(s, len, err);

	if (rc == FA_OK)
		rc = json_check(s, len, jsonb, err);
	if (rc != FA_OK)
		return rc;
	p = field_open(out, len + jsonb, err);
	if (!p)
		return FA_ENOMEM;
	if (jsonb)
		*p++ = 1;
	memcpy(p, s, len);
	return field_close(out, len + jsonb, err);
}

/* ---- date, timestamp, timestamptz ----
 * The ISO 8601 subset of date_in() and timestamp[tz]_in() that reads the
 * same whatever the DateStyle and the server version. */

enum dt_special { DT_FINITE, DT_INFINITY, DT_NINFINITY, DT_EPOCH };
enum dt_status { DT_OK, DT_EMPTY, DT_FIELD, DT_TZ, DT_OTHER };

struct dt {
	int year, mon, day, hour, min, sec;
	int64_t fsec;		/* microseconds, rounded as the server does */
	int tz;			/* offset east of UTC, seconds */
	bool has_tz, tz_bad;
	enum dt_special special;
};

/* A whole run of min..max digits. */
static bool dt_number(const char *s, size_t len, size_t *ip, size_t min,
		      size_t max, int *v)
{
	size_t i = *ip, n = 0;
	int acc = 0;

	for (; i + n < len && is_digit(s[i + n]); n++)
		if (n < max)
			acc = acc * 10 + (s[i + n] - '0');
	if (n < min || n > max)
		return false;
	*v = acc;
	*ip = i + n;
	return true;
}

/* ParseFractionalSecond(): rint(strtod(".ddd") * 1000000). */
static bool dt_fraction(const char *s, size_t len, size_t *ip, int64_t *fsec)
{
	char buf[64];
	size_t i = *ip + 1, n = 0;

	while (i + n < len && is_digit(s[i + n]))
		n++;
	if (n == 0 || n > sizeof(buf) - 2)
		return false;
	buf[0] = '.';
	memcpy(buf + 1, s + i, n);
	buf[n + 1] = '\0';
	*fsec = (int64_t)rint(strtod(buf, NULL) * 1000000);
	*ip = i + n;
	return true;
}

/* YYYY-M[M]-D[D] */
static bool dt_date(const char *s, size_t len, size_t *ip, struct dt *t)
{
	return dt_number(s, len, ip, 4, 4, &t->year) &&
	       *ip < len && s[(*ip)++] == '-' &&
	       dt_number(s, len, ip, 1, 2, &t->mon) &&
	       *ip < len && s[(*ip)++] == '-' &&
	       dt_number(s, len, ip, 1, 2, &t->day);
}

/* H[H]:M[M][:S[S][.frac]] */
static bool dt_time(const char *s, size_t len, size_t *ip, struct dt *t)
{
	if (!dt_number(s, len, ip, 1, 2, &t->hour) || *ip >= len ||
	    s[(*ip)++] != ':' || !dt_number(s, len, ip, 1, 2, &t->min))
		return false;
	if (*ip >= len || s[*ip] != ':')
		return true;
	(*ip)++;
	if (!dt_number(s, len, ip, 1, 2, &t->sec))
		return false;
	if (*ip < len && s[*ip] == '.')
		return dt_fraction(s, len, ip, &t->fsec);
	return true;
}

/* ":N" or ":NN" at *ip, if there. */
static bool dt_colon_field(const char *s, size_t len, size_t *ip, int *v)
{
	size_t i = *ip + 1;

	if (*ip >= len || s[*ip] != ':')
		return true;
	if (!dt_number(s, len, &i, 1, 2, v))
		return false;
	*ip = i;
	return true;
}

/* DecodeTimezone(): +H[H][:M[M][:S[S]]] or +HMM, +HHMM. */
static bool dt_offset(const char *s, size_t len, size_t *ip, struct dt *t)
{
	size_t i = *ip + 1, start = i;
	int sign = s[*ip] == '-' ? -1 : 1, hr = 0, min = 0, sec = 0;

	if (!dt_number(s, len, &i, 1, 4, &hr))
		return false;
	if (i - start > 2) {
		if (i < len && s[i] == ':')
			return false;
		min = hr % 100;
		hr /= 100;
	} else {
		size_t after_hour = i;

		if (!dt_colon_field(s, len, &i, &min))
			return false;
		if (i > after_hour && !dt_colon_field(s, len, &i, &sec))
			return false;
	}
	t->tz_bad = hr > MAX_TZDISP_HOUR || min >= 60 || sec >= 60;
	t->tz = sign * ((hr * 60 + min) * 60 + sec);
	t->has_tz = true;
	*ip = i;
	return true;
}

/* An offset, or Z or UTC (both +00). */
static bool dt_zone(const char *s, size_t len, size_t *ip, struct dt *t)
{
	size_t i = *ip, n;

	if (s[i] == '+' || s[i] == '-')
		return dt_offset(s, len, ip, t);
	if (lower(s[i]) == 'z')
		n = 1;
	else if (len - i >= 3 && equals_ci(s + i, 3, "utc"))
		n = 3;
	else
		return false;
	if (i + n < len && lower(s[i + n]) >= 'a' && lower(s[i + n]) <= 'z')
		return false;
	t->has_tz = true;
	t->tz = 0;
	*ip = i + n;
	return true;
}

static enum dt_status dt_word(const char *s, size_t len, struct dt *t)
{
	if (equals_ci(s, len, "infinity"))
		t->special = DT_INFINITY;
	else if (equals_ci(s, len, "-infinity"))
		t->special = DT_NINFINITY;
	else if (equals_ci(s, len, "epoch"))
		t->special = DT_EPOCH;
	else
		return DT_OTHER;
	return DT_OK;
}

static bool is_leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* The server's checks, in its order: the time fields as they are read,
 * then the offset, then the date, then the time of day as a whole. */
static enum dt_status dt_validate(const struct dt *t)
{
	static const int mdays[2][12] = {
		{ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
		{ 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
	};
	int64_t tod;

	if (t->min > 59 || t->sec > 60 || t->fsec > USECS_PER_SEC ||
	    t->hour > 24 ||
	    (t->hour == 24 && (t->min > 0 || t->sec > 0 || t->fsec > 0)))
		return DT_FIELD;
	if (t->tz_bad)
		return DT_TZ;
	if (t->year == 0 || t->mon < 1 || t->mon > 12 || t->day < 1 ||
	    t->day > mdays[is_leap(t->year)][t->mon - 1])
		return DT_FIELD;
	tod = ((t->hour * 60 + t->min) * 60 + t->sec) * USECS_PER_SEC + t->fsec;
	return tod > USECS_PER_DAY ? DT_FIELD : DT_OK;
}

static enum dt_status dt_parse(const char *s, size_t len, struct dt *t)
{
	size_t i = skip_space(s, len, 0), end = len;

	memset(t, 0, sizeof(*t));
	while (end > i && is_space(s[end - 1]))
		end--;
	if (i == end)
		return DT_EMPTY;
	if (!is_digit(s[i]))
		return dt_word(s + i, end - i, t);
	if (!dt_date(s, end, &i, t))
		return DT_OTHER;
	if (i == end)
		return dt_validate(t);
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (is_space(s[i]))
		i = skip_space(s, end, i);
	else
		return DT_OTHER;
	if (!dt_time(s, end, &i, t))
		return DT_OTHER;
	i = skip_space(s, end, i);
	if (i < end && !dt_zone(s, end, &i, t))
		return DT_OTHER;
	return i == end ? dt_validate(t) : DT_OTHER;
}

/* date2j(): the Julian day number. */
static int64_t date2j(int64_t y, int64_t m, int64_t d)
{
	int64_t julian, century;

	if (m > 2) {
		m += 1;
		y += 4800;
	} else {
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

static enum fa_err dt_error(struct fa_error *err, enum dt_status st,
			    const char *type, const char *s, size_t len)
{
	if (st == DT_EMPTY)
		return bad_syntax(err, type, s, len);
	if (st == DT_FIELD)
		return fa_error_set(err, FA_EINPUT,
				    "date/time field value out of range: \"%.*s\"",
				    shown(len), s);
	if (st == DT_TZ)
		return fa_error_set(err, FA_EINPUT,
				    "time zone displacement out of range: \"%.*s\"",
				    shown(len), s);
	return fa_error_set(err, FA_EUSAGE,
			    "%s \"%.*s\" is not in the ISO 8601 form read here: "
			    "send it as text", type, shown(len), s);
}

/* date_send(): days since 2000-01-01; timestamp_send(): microseconds
 * since 2000-01-01 00:00 (UTC for timestamptz); infinities are the
 * extreme integers. */
static enum fa_err enc_datetime(struct fa_buf *out, unsigned int oid,
				const char *s, size_t len, struct fa_error *err)
{
	const char *type = oid == FA_PGBIN_DATE ? "date" :
			   oid == FA_PGBIN_TIMESTAMP ? "timestamp" :
			   "timestamp with time zone";
	struct dt t;
	enum dt_status st = dt_parse(s, len, &t);
	bool date = oid == FA_PGBIN_DATE;
	int64_t days, us;

	if (st != DT_OK)
		return dt_error(err, st, type, s, len);
	if (t.special == DT_INFINITY || t.special == DT_NINFINITY) {
		bool pos = t.special == DT_INFINITY;

		return date ? put_fixed(out, 4, pos ? INT32_MAX : (uint32_t)INT32_MIN, err)
			    : put_fixed(out, 8, pos ? INT64_MAX : (uint64_t)INT64_MIN, err);
	}
	if (t.special == DT_EPOCH) {
		t.year = 1970;
		t.mon = t.day = 1;
	}
	days = date2j(t.year, t.mon, t.day) - POSTGRES_EPOCH_JDATE;
	if (date)
		return put_fixed(out, 4, (uint32_t)(int32_t)days, err);
	if (oid == FA_PGBIN_TIMESTAMPTZ && !t.has_tz && t.special != DT_EPOCH)
		return fa_error_set(err, FA_EUSAGE,
				    "timestamp with time zone \"%.*s\" has no UTC "
				    "offset, so it depends on the session TimeZone: "
				    "send it as text", shown(len), s);
	us = days * USECS_PER_DAY +
	     ((t.hour * 60 + t.min) * 60 + t.sec) * USECS_PER_SEC + t.fsec;
	if (oid == FA_PGBIN_TIMESTAMPTZ)
		us -= t.tz * USECS_PER_SEC;
	return put_fixed(out, 8, (uint64_t)us, err);
}

/* ---- the API ---- */

bool fa_pgbin_supported(unsigned int type_oid)
{
	switch (type_oid) {
	case FA_PGBIN_BOOL: case FA_PGBIN_BYTEA: case FA_PGBIN_NAME:
	case FA_PGBIN_INT8: case FA_PGBIN_INT2: case FA_PGBIN_INT4:
	case FA_PGBIN_TEXT: case FA_PGBIN_OID: case FA_PGBIN_JSON:
	case FA_PGBIN_FLOAT4: case FA_PGBIN_FLOAT8: case FA_PGBIN_BPCHAR:
	case FA_PGBIN_VARCHAR: case FA_PGBIN_DATE: case FA_PGBIN_TIMESTAMP:
	case FA_PGBIN_TIMESTAMPTZ: case FA_PGBIN_NUMERIC: case FA_PGBIN_UUID:
	case FA_PGBIN_JSONB:
		return true;
	}
	return false;
}

enum fa_err fa_pgbin_header(struct fa_buf *out)
{
	static const unsigned char header[19] = {
		'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xFF, '\r', '\n', 0,
		0, 0, 0, 0,	/* flags */
		0, 0, 0, 0,	/* header extension length */
	};

	return fa_buf_append(out, header, sizeof(header));
}

enum fa_err fa_pgbin_trailer(struct fa_buf *out)
{
	return fa_buf_append(out, "\377\377", 2);
}

enum fa_err fa_pgbin_row_begin(struct fa_buf *out, int nfields)
{
	unsigned char n[2];

	if (nfields < 0 || nfields > INT16_MAX)
		return FA_EUSAGE;
	put16(n, (uint16_t)nfields);
	return fa_buf_append(out, n, 2);
}

static enum fa_err put_null(struct fa_buf *out, struct fa_error *err)
{
	unsigned char *p = field_open(out, 0, err);

	if (!p)
		return FA_ENOMEM;
	put32(p - 4, UINT32_MAX);
	out->len += 4;
	out->data[out->len] = '\0';
	return FA_OK;
}

enum fa_err fa_pgbin_field(struct fa_buf *out, unsigned int type_oid,
			   const char *text, size_t len, bool is_null,
			   struct fa_error *err)
{
	if (is_null)
		return put_null(out, err);
	if (!text)	/* an empty value given as NULL, 0 */
		text = "";
	switch (type_oid) {
	case FA_PGBIN_BOOL: return enc_bool(out, text, len, err);
	case FA_PGBIN_INT2: return enc_int(out, &int2_type, text, len, err);
	case FA_PGBIN_INT4: return enc_int(out, &int4_type, text, len, err);
	case FA_PGBIN_INT8: return enc_int(out, &int8_type, text, len, err);
	case FA_PGBIN_OID: return enc_oid(out, text, len, err);
	case FA_PGBIN_FLOAT4: return enc_float(out, true, text, len, err);
	case FA_PGBIN_FLOAT8: return enc_float(out, false, text, len, err);
	case FA_PGBIN_NUMERIC: return enc_numeric(out, text, len, err);
	case FA_PGBIN_TEXT: case FA_PGBIN_VARCHAR: case FA_PGBIN_BPCHAR:
		return enc_text(out, text, len, false, err);
	case FA_PGBIN_NAME: return enc_text(out, text, len, true, err);
	case FA_PGBIN_BYTEA: return enc_bytea(out, text, len, err);
	case FA_PGBIN_UUID: return enc_uuid(out, text, len, err);
	case FA_PGBIN_JSON: return enc_json(out, text, len, false, err);
	case FA_PGBIN_JSONB: return enc_json(out, text, len, true, err);
	case FA_PGBIN_DATE: case FA_PGBIN_TIMESTAMP: case FA_PGBIN_TIMESTAMPTZ:
		return enc_datetime(out, type_oid, text, len, err);
	}
	return fa_error_set(err, FA_EUSAGE,
			    "type OID %u has no binary encoder: send it as text",
			    type_oid);
}
