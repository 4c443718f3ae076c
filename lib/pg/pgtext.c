#include "pg/pgtext.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"

static const struct {
	const char *name;
	unsigned oid, array_oid;
} qtypes[] = {
	[FA_QTYPE_TEXT] = { "text", 25, 1009 },
	[FA_QTYPE_INT] = { "int", 23, 1007 },
	[FA_QTYPE_BIGINT] = { "bigint", 20, 1016 },
	[FA_QTYPE_NUMERIC] = { "numeric", 1700, 1231 },
	[FA_QTYPE_FLOAT] = { "float", 701, 1022 },
	[FA_QTYPE_BOOL] = { "bool", 16, 1000 },
	[FA_QTYPE_DATE] = { "date", 1082, 1182 },
	[FA_QTYPE_TIMESTAMPTZ] = { "timestamptz", 1184, 1185 },
	[FA_QTYPE_UUID] = { "uuid", 2950, 2951 },
	[FA_QTYPE_JSON] = { "json", 114, 199 },
	[FA_QTYPE_JSONB] = { "jsonb", 3802, 3807 },
};
#define NQTYPES (sizeof(qtypes) / sizeof(qtypes[0]))

const char *fa_pgtext_type_name(enum fa_qtype type)
{
	return (size_t)type < NQTYPES ? qtypes[type].name : "?";
}

bool fa_pgtext_type_parse(const char *name, size_t n, enum fa_qtype *type)
{
	for (size_t i = 0; i < NQTYPES; i++)
		if (strlen(qtypes[i].name) == n && memcmp(qtypes[i].name, name, n) == 0) {
			*type = (enum fa_qtype)i;
			return true;
		}
	return false;
}

unsigned fa_pgtext_type_oid(enum fa_qtype type, bool array)
{
	if ((size_t)type >= NQTYPES)
		return 0;
	return array ? qtypes[type].array_oid : qtypes[type].oid;
}

/* A value is valid, malformed, or well formed but out of the type's range. */
enum verdict { OK, INVALID, RANGE };

static bool pg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Trims PostgreSQL white space from both ends of s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
	while (*n > 0 && pg_space(s[0]))
		s++, (*n)--;
	while (*n > 0 && pg_space(s[*n - 1]))
		(*n)--;
	return s;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* [+-]digits in [min, max], as int4in and int8in read it (PostgreSQL 15). */
static enum verdict check_int(const char *s, size_t n, long long min,
			      long long max)
{
	unsigned long long v = 0, lim;
	bool neg = false;
	size_t i = 0;

	s = trim(s, &n);
	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return INVALID;
	lim = neg ? (unsigned long long)(-(min + 1)) + 1 : (unsigned long long)max;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return INVALID;
		if (v > (ULLONG_MAX - 9) / 10)
			v = ULLONG_MAX;         /* keeps checking the syntax */
		else
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v > lim ? RANGE : OK;
}

/* What numeric_in's limits depend on. */
struct decimal {
	long lead;              /* the first non-zero digit's place */
	bool zero;              /* all digits are 0 */
	long frac;              /* digits after the point */
	long exp;               /* the exponent, saturated at +-1e9 */
};

static void read_exponent(const char *s, size_t n, size_t *i, long *exp)
{
	bool neg = false;

	(*i)++;
	if (*i < n && (s[*i] == '+' || s[*i] == '-'))
		neg = s[(*i)++] == '-';
	for (*exp = 0; *i < n && isdigit((unsigned char)s[*i]); (*i)++)
		if (*exp < 1000000000L)
			*exp = *exp * 10 + (s[*i] - '0');
	if (neg)
		*exp = -*exp;
}

/* digits[.digits] or .digits, then an optional exponent; no sign. */
static bool decimal_syntax(const char *s, size_t n, struct decimal *d)
{
	size_t i = 0, digits = 0;
	long ints = 0, zeros = 0;

	memset(d, 0, sizeof(*d));
	d->zero = true;
	for (; i < n && isdigit((unsigned char)s[i]); i++, digits++)
		if (!d->zero || s[i] != '0')
			d->zero = false, ints++;
	if (i < n && s[i] == '.')
		for (i++; i < n && isdigit((unsigned char)s[i]); i++, digits++) {
			d->frac++;
			if (d->zero && s[i] == '0')
				zeros++;
			else
				d->zero = false;
		}
	if (digits == 0)
		return false;
	d->lead = ints > 0 ? ints : -zeros;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		read_exponent(s, n, &i, &d->exp);
		if (!isdigit((unsigned char)s[i - 1]))
			return false;
	}
	return i == n;
}

/* NaN, Infinity and inf with an optional sign (not for NaN). */
static bool special_number(const char *s, size_t n)
{
	if (word_eq(s, n, "nan"))
		return true;
	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		s++, n--;
	return word_eq(s, n, "infinity") || word_eq(s, n, "inf");
}

/* A decimal number with an optional sign; *d describes it. */
static bool signed_decimal(const char *s, size_t n, struct decimal *d)
{
	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		s++, n--;
	return decimal_syntax(s, n, d);
}

/* numeric_in: at most 131072 digits before the point, 16383 after. */
static enum verdict check_numeric(const char *s, size_t n)
{
	struct decimal d;

	s = trim(s, &n);
	if (special_number(s, n))
		return OK;
	if (!signed_decimal(s, n, &d))
		return INVALID;
	if ((!d.zero && d.lead + d.exp > 131072) || d.frac - d.exp > 16383)
		return RANGE;
	return OK;
}

/* As float8in: a decimal number within double's range (denormals pass). */
static enum verdict check_float(const char *s, size_t n)
{
	char small[128], *copy = small;
	enum verdict v = OK;
	struct decimal d;
	double x;

	s = trim(s, &n);
	if (special_number(s, n))
		return OK;
	if (!signed_decimal(s, n, &d))
		return INVALID;
	if (n >= sizeof(small) && !(copy = malloc(n + 1)))
		return OK;              /* the server will judge */
	memcpy(copy, s, n);
	copy[n] = '\0';
	errno = 0;
	x = strtod(copy, NULL);
	if (errno == ERANGE && (x == 0.0 || x >= HUGE_VAL || x <= -HUGE_VAL))
		v = RANGE;
	if (copy != small)
		free(copy);
	return v;
}

/* As parse_bool_with_len: prefixes of true, false, yes, no; on, of(f), 1, 0. */
static enum verdict check_bool(const char *s, size_t n)
{
	static const char *const words[] = { "true", "false", "yes", "no" };
	size_t i;

	s = trim(s, &n);
	if (n == 1 && (s[0] == '1' || s[0] == '0'))
		return OK;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n > 0 && n <= strlen(words[i]) && strncasecmp(s, words[i], n) == 0)
			return OK;
	if (word_eq(s, n, "on") || word_eq(s, n, "of") || word_eq(s, n, "off"))
		return OK;
	return INVALID;
}

/* Exactly w digits at s[*i] into *v. */
static bool digits(const char *s, size_t n, size_t *i, int w, int *v)
{
	int k;

	*v = 0;
	for (k = 0; k < w; k++, (*i)++) {
		if (*i >= n || !isdigit((unsigned char)s[*i]))
			return false;
		*v = *v * 10 + (s[*i] - '0');
	}
	return true;
}

/* YYYY-MM-DD at s[*i], a real day of years 1 to 9999. */
static enum verdict iso_date(const char *s, size_t n, size_t *i)
{
	static const int mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	int y, m, d;
	bool leap;

	if (!digits(s, n, i, 4, &y) || *i >= n || s[(*i)++] != '-' ||
	    !digits(s, n, i, 2, &m) || *i >= n || s[(*i)++] != '-' ||
	    !digits(s, n, i, 2, &d))
		return INVALID;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y == 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !leap))
		return RANGE;
	return OK;
}

static enum verdict check_date(const char *s, size_t n)
{
	size_t i = 0;
	enum verdict v;

	s = trim(s, &n);
	if (word_eq(s, n, "infinity") || word_eq(s, n, "-infinity"))
		return OK;
	v = iso_date(s, n, &i);
	return v != OK ? v : i == n ? OK : INVALID;
}

/* Z, or +H, +HH, +HH:MM, +HHMM (or -), with an optional blank before it. */
static enum verdict iso_zone(const char *s, size_t n, size_t i)
{
	int h, m = 0;

	if (i < n && s[i] == ' ')
		i++;
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		return OK;
	if (i >= n || (s[i] != '+' && s[i] != '-'))
		return INVALID;
	i++;
	if (!digits(s, n, &i, 1, &h))
		return INVALID;
	if (i < n && isdigit((unsigned char)s[i]))
		h = h * 10 + (s[i++] - '0');
	if (i < n && s[i] == ':')
		i++;
	if (i < n && !digits(s, n, &i, 2, &m))
		return INVALID;
	if (i != n)
		return INVALID;
	return h > 15 || m > 59 ? RANGE : OK;
}

/* YYYY-MM-DD[( |T)HH:MM[:SS[.[frac]]]][zone] */
static enum verdict check_timestamptz(const char *s, size_t n)
{
	size_t i = 0;
	int h, m, sec = 0;
	bool frac_zero = true;
	enum verdict v;

	s = trim(s, &n);
	if (word_eq(s, n, "infinity") || word_eq(s, n, "-infinity"))
		return OK;
	if ((v = iso_date(s, n, &i)) != OK || i == n)
		return v;
	if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
		return INVALID;
	i++;
	if (!digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' ||
	    !digits(s, n, &i, 2, &m))
		return INVALID;
	if (i < n && s[i] == ':') {
		i++;
		if (!digits(s, n, &i, 2, &sec))
			return INVALID;
		if (i < n && s[i] == '.')
			for (i++; i < n && isdigit((unsigned char)s[i]); i++)
				frac_zero = frac_zero && s[i] == '0';
	}
	if (h > 24 || m > 59 || sec > 60 || (sec == 60 && !frac_zero) ||
	    (h == 24 && (m || sec || !frac_zero)))
		return RANGE;
	return i == n ? OK : iso_zone(s, n, i);
}

/* As uuid_in: 32 hex digits, '-' allowed after any group of four, in {} or not. */
static enum verdict check_uuid(const char *s, size_t n)
{
	size_t i = 0;
	int k;

	if (n > 0 && s[0] == '{')
		i++;
	for (k = 0; k < 16; k++) {
		if (i + 2 > n || !isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return INVALID;
		i += 2;
		if (i < n && s[i] == '-' && k % 2 == 1 && k < 15)
			i++;
	}
	if (s[0] == '{' && (i >= n || s[i++] != '}'))
		return INVALID;
	return i == n ? OK : INVALID;
}

static enum verdict check_json(const char *s, size_t n, bool nul_ok,
			       char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
		       (nul_ok ? JSON_ALLOW_NUL : 0), &jerr);
	if (j) {
		json_decref(j);
		return OK;
	}
	/* PostgreSQL takes numbers of any size; jansson stops at double's */
	if (json_error_code(&jerr) == json_error_numeric_overflow)
		return OK;
	if (json_error_code(&jerr) == json_error_null_character)
		snprintf(why, whylen, "\\u0000 is not allowed in jsonb");
	else
		snprintf(why, whylen, "%s", jerr.text);
	return INVALID;
}

static enum verdict check_scalar(enum fa_qtype t, const char *s, size_t n,
				 char *why, size_t whylen)
{
	switch (t) {
	case FA_QTYPE_TEXT: return OK;
	case FA_QTYPE_INT: return check_int(s, n, INT32_MIN, INT32_MAX);
	case FA_QTYPE_BIGINT: return check_int(s, n, INT64_MIN, INT64_MAX);
	case FA_QTYPE_NUMERIC: return check_numeric(s, n);
	case FA_QTYPE_FLOAT: return check_float(s, n);
	case FA_QTYPE_BOOL: return check_bool(s, n);
	case FA_QTYPE_DATE: return check_date(s, n);
	case FA_QTYPE_TIMESTAMPTZ: return check_timestamptz(s, n);
	case FA_QTYPE_UUID: return check_uuid(s, n);
	case FA_QTYPE_JSON: return check_json(s, n, true, why, whylen);
	case FA_QTYPE_JSONB: return check_json(s, n, false, why, whylen);
	}
	return INVALID;
}

/* An array literal {...}, nested up to six levels, as array_in reads it. */
struct array {
	const char *s;
	size_t n, i;
	enum fa_qtype type;
	char *tmp;              /* an element, unescaped */
	int dims[6];
	bool malformed;
	const char *bad;        /* the element that failed its type */
	size_t badlen;
	enum verdict verdict;
	char why[160];
};

static void skip_space(struct array *a)
{
	while (a->i < a->n && pg_space(a->s[a->i]))
		a->i++;
}

static bool element(struct array *a)
{
	const char *s = a->s;
	size_t len = 0, keep = 0, start = a->i;
	bool quoted = s[a->i] == '"', escaped = false, closed = false;

	if (quoted)
		a->i++;
	for (; a->i < a->n; a->i++) {
		char c = s[a->i];

		if (c == '\\') {
			if (++a->i == a->n)
				break;
			a->tmp[len++] = s[a->i];
			keep = len;
			escaped = true;
			continue;
		}
		if (quoted && c == '"') {
			a->i++;
			closed = true;
			break;
		}
		if (!quoted && (c == ',' || c == '}'))
			break;
		if (!quoted && (c == '{' || c == '"'))
			return false;
		a->tmp[len++] = c;
		if (quoted || !pg_space(c))
			keep = len;
	}
	if (quoted && !closed)
		return false;
	if (!quoted && (a->i == a->n || keep == 0))
		return false;
	len = quoted ? len : keep;
	if (!quoted && !escaped && word_eq(a->tmp, len, "null"))
		return true;
	a->verdict = check_scalar(a->type, a->tmp, len, a->why, sizeof(a->why));
	if (a->verdict != OK) {
		a->bad = s + start;
		a->badlen = a->i - start;
	}
	return a->verdict == OK;
}

/* At '{': one level and the levels within; false when malformed or bad. */
static bool array_level(struct array *a, int depth)
{
	int count = 0, kind = 0;        /* 1 elements, 2 sub-arrays */

	a->i++;
	skip_space(a);
	if (a->i < a->n && a->s[a->i] == '}') {
		if (depth > 0)
			return false;   /* array_in: no {} inside */
		a->i++;
	} else {
		for (;;) {
			bool sub;

			skip_space(a);
			if (a->i == a->n)
				return false;
			sub = a->s[a->i] == '{';
			if ((kind && kind != (sub ? 2 : 1)) || (sub && depth == 5))
				return false;
			kind = sub ? 2 : 1;
			if (sub ? !array_level(a, depth + 1) : !element(a))
				return false;
			count++;
			skip_space(a);
			if (a->i < a->n && a->s[a->i] == ',') {
				a->i++;
				continue;
			}
			if (a->i < a->n && a->s[a->i] == '}') {
				a->i++;
				break;
			}
			return false;
		}
	}
	if (a->dims[depth] < 0)
		a->dims[depth] = count;
	return a->dims[depth] == count;
}

static enum verdict check_array(struct array *a)
{
	size_t i;
	bool ok;

	for (i = 0; i < 6; i++)
		a->dims[i] = -1;
	a->i = 0;
	skip_space(a);
	if (a->i == a->n || a->s[a->i] != '{')
		return INVALID;
	if (!(a->tmp = malloc(a->n + 1)))
		return OK;              /* the server will judge */
	ok = array_level(a, 0);
	free(a->tmp);
	skip_space(a);
	if (ok && a->i == a->n)
		return OK;
	return a->bad ? a->verdict : INVALID;
}

/* value as a short quoted string for a message: "12x", "aaaa...". */
static void show(char *out, size_t cap, const char *v, size_t n)
{
	size_t i, o = 0, max = 40;

	out[o++] = '"';
	for (i = 0; i < n && i < max && o + 6 < cap; i++)
		out[o++] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f ||
			    (unsigned char)v[i] >= 0x80) ? '?' : v[i];
	if (i < n)
		o += (size_t)snprintf(out + o, cap - o, "...");
	snprintf(out + o, cap - o, "\"");
}

static bool valid_utf8(const char *s, size_t n)
{
	unsigned int cp;
	size_t i = 0;
	int k;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			if (s[i] == '\0')
				return false;
			i++;
			continue;
		}
		if ((k = fa_json_utf8_decode(s + i, n - i, &cp)) == 0)
			return false;
		i += (size_t)k;
	}
	return true;
}


enum fa_err fa_pgtext_check(enum fa_qtype type, bool array, const char *value,
			    size_t len, struct fa_error *err)
{
	const char *tname = fa_pgtext_type_name(type);
	struct array a = { .s = value, .n = len, .type = type };
	char shown[64], why[160] = "";
	enum verdict v;

	if (!valid_utf8(value, len))
		return fa_error_set(err, FA_EINPUT, "value is not valid UTF-8 or "
				    "holds a NUL byte");
	v = array ? check_array(&a) : check_scalar(type, value, len, why, sizeof(why));
	if (v == OK)
		return FA_OK;
	if (array && a.bad) {
		show(shown, sizeof(shown), a.bad, a.badlen);
		return fa_error_set(err, FA_EINPUT, "array element %s %s %s%s%s", shown,
				    v == RANGE ? "is out of range for" : "is not a valid",
				    tname, a.why[0] ? ": " : "", a.why);
	}
	show(shown, sizeof(shown), value, len);
	if (array)
		return fa_error_set(err, FA_EINPUT, "%s is not a valid %s[] array literal",
				    shown, tname);
	return fa_error_set(err, FA_EINPUT, "%s %s %s%s%s", shown,
			    v == RANGE ? "is out of range for" : "is not a valid", tname,
			    why[0] ? ": " : "", why);
}
