#include "pg/csvrec.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* What the byte a step looked at meant for the scan. */
enum step {
	STEP_ON,        /* keep scanning */
	STEP_RECORD,    /* a record ended just before c->i */
	STEP_MORE,      /* the bytes at c->i are cut short: resume there */
	STEP_END,       /* text-format end marker at c->i */
	STEP_FAIL,      /* err is set */
};

/* One scan call's view of data[0..n). */
struct cursor {
	const unsigned char *p;
	size_t n;
	size_t i;       /* next byte to look at */
	size_t rec;     /* start of the pending record */
	uint64_t line;  /* physical line of p[i] */
	bool eof;       /* nothing follows p[n - 1] */
	size_t block_end;       /* the last block next_stop() loaded ended here */
	uint64_t mask;          /* and these of its bytes are stop bytes */
};

void fa_rec_opts_init(struct fa_rec_opts *o, enum fa_rec_format format)
{
	o->format = format;
	o->delim = format == FA_REC_CSV ? ',' : '\t';
	o->quote = '"';
	o->escape = '"';
	o->validate_utf8 = true;
	o->null_str = format == FA_REC_CSV ? "" : "\\N";
}

static bool plain_char(char c)
{
	return c > 0 && c != '\n' && c != '\r';
}

/* PostgreSQL's own checks on COPY's DELIMITER, QUOTE, ESCAPE and NULL. */
static enum fa_err check_opts(const struct fa_rec_opts *o, struct fa_error *err)
{
	const char *null = o->null_str ? o->null_str : "";

	if (!plain_char(o->delim))
		return fa_error_set(err, FA_EUSAGE, "delimiter must be one ASCII "
				    "character other than newline and carriage return");
	if (o->format == FA_REC_TEXT &&
	    strchr("\\.abcdefghijklmnopqrstuvwxyz0123456789", o->delim))
		return fa_error_set(err, FA_EUSAGE, "delimiter '%c' cannot be "
				    "used in text format", o->delim);
	if (o->format == FA_REC_CSV) {
		if (!plain_char(o->quote) || !plain_char(o->escape))
			return fa_error_set(err, FA_EUSAGE, "quote and escape must "
					    "each be one ASCII character other "
					    "than newline and carriage return");
		if (o->quote == o->delim)
			return fa_error_set(err, FA_EUSAGE, "delimiter and quote "
					    "must differ");
		if (strchr(null, o->quote))
			return fa_error_set(err, FA_EUSAGE, "null string must not "
					    "contain the quote character");
	}
	if (strchr(null, o->delim))
		return fa_error_set(err, FA_EUSAGE, "null string must not "
				    "contain the delimiter");
	if (strpbrk(null, "\r\n"))
		return fa_error_set(err, FA_EUSAGE, "null string must not "
				    "contain newline or carriage return");
	return FA_OK;
}

/* Sets up s from options already checked. */
static void setup(struct fa_rec_scanner *s, const struct fa_rec_opts *o)
{
	bool csv = o->format == FA_REC_CSV;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	if (!s->opts.null_str)
		s->opts.null_str = "";
	s->line = 1;
	s->pos_line = 1;
	s->stop_word[0] = ONES * '\n';
	s->stop_word[1] = ONES * (unsigned char)(csv ? o->quote : '\\');
	s->stop_word[2] = ONES * (unsigned char)(csv ? o->escape : '\\');
	/* a zero word makes the search stop at NUL bytes */
	s->stop_word[3] = o->validate_utf8 ? 0 : ONES * '\n';
	s->stop_high = o->validate_utf8 ? HIGHS : 0;
}

enum fa_err fa_rec_init(struct fa_rec_scanner *s, const struct fa_rec_opts *o,
			struct fa_error *err)
{
	enum fa_err rc = check_opts(o, err);

	if (rc == FA_OK)
		setup(s, o);
	return rc;
}

static inline bool stops(const struct fa_rec_scanner *s, unsigned char c)
{
	return c == '\n' || c == (unsigned char)s->stop_word[1] ||
	       c == (unsigned char)s->stop_word[2] ||
	       (s->opts.validate_utf8 && (c == 0 || c >= 0x80));
}

/*
 * The fast path looks at a block of bytes at a time and gets a mask of
 * those that need a look (stop bytes): with SSE2 16 bytes, one bit each;
 * else 8 bytes in a word, the 0x80 bit each.  The word version may also
 * flag a byte just above a true stop byte (zero_bytes() errs only above a
 * true zero); step() passes over such a byte, so that costs nothing.
 */
#if defined(__SSE2__)

#define BLOCK 16

struct stop_set {
	__m128i byte[4];
	bool high;
};

static void stop_set_load(struct stop_set *st, const struct fa_rec_scanner *s)
{
	int k;

	for (k = 0; k < 4; k++)
		st->byte[k] = _mm_set1_epi8((char)s->stop_word[k]);
	st->high = s->stop_high != 0;
}

static inline uint64_t block_mask(const struct stop_set *st,
				  const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(v, st->byte[0]),
			     _mm_cmpeq_epi8(v, st->byte[1])),
		_mm_or_si128(_mm_cmpeq_epi8(v, st->byte[2]),
			     _mm_cmpeq_epi8(v, st->byte[3])));

	if (st->high)
		m = _mm_or_si128(m, v);
	return (uint64_t)_mm_movemask_epi8(m);
}

/* The first flagged byte in m, and m without the bytes before byte d. */
#define MASK_FIRST(m) ((size_t)__builtin_ctzll(m))
#define MASK_FROM(m, d) ((m) & (~0ULL << (d)))

#else

#define BLOCK 8

struct stop_set {
	uint64_t word[4];
	uint64_t high;
};

static void stop_set_load(struct stop_set *st, const struct fa_rec_scanner *s)
{
	memcpy(st->word, s->stop_word, sizeof(st->word));
	st->high = s->stop_high;
}

/* 0x80 in the lowest zero byte of w, and maybe in bytes above it. */
static inline uint64_t zero_bytes(uint64_t w)
{
	return (w - ONES) & ~w & HIGHS;
}

static inline uint64_t block_mask(const struct stop_set *st,
				  const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);       /* p[0] in the lowest byte */
#endif
	return zero_bytes(w ^ st->word[0]) | zero_bytes(w ^ st->word[1]) |
	       zero_bytes(w ^ st->word[2]) | zero_bytes(w ^ st->word[3]) |
	       (w & st->high);
}

#define MASK_FIRST(m) ((size_t)__builtin_ctzll(m) >> 3)
#define MASK_FROM(m, d) ((m) & (~0ULL << ((d) * 8)))

#endif

/*
 * The index of the first stop byte at or after c->i, or n.  The mask of the
 * last block stays in the cursor, so that stop bytes close together do not
 * load it again.
 */
static size_t next_stop(const struct fa_rec_scanner *s,
			const struct stop_set *st, struct cursor *c)
{
	size_t i = c->i;
	uint64_t m;

	if (i < c->block_end) {
		m = MASK_FROM(c->mask, i - (c->block_end - BLOCK));
		if (m)
			return c->block_end - BLOCK + MASK_FIRST(m);
		i = c->block_end;
	}
	while (c->n - i >= BLOCK) {
		m = block_mask(st, c->p + i);
		if (m) {
			c->mask = m;
			c->block_end = i + BLOCK;
			return i + MASK_FIRST(m);
		}
		i += BLOCK;
	}
	while (i < c->n && !stops(s, c->p[i]))
		i++;
	return i;
}

/*
 * Length of the UTF-8 sequence at p[0..avail) (p[0] >= 0x80): 0 if it is
 * invalid, with *bad the bytes up to the offending one, or -1 if it is
 * valid so far but cut short.  Overlong forms and surrogates are invalid.
 */
static int utf8_seq(const unsigned char *p, size_t avail, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len, k;

	*bad = 1;
	if (c < 0xC2 || c > 0xF4)
		return 0;
	len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	for (k = 1; k < len && k < avail; k++) {
		if (p[k] < lo || p[k] > hi) {
			*bad = k + 1;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return k < len ? -1 : (int)len;
}

static enum step fail_utf8(const struct fa_rec_scanner *s,
			   const struct cursor *c, size_t bad, bool cut,
			   struct fa_error *err)
{
	char hex[32];
	size_t k, at = 0;

	for (k = 0; k < bad && k < 4 && c->i + k < c->n; k++)
		at += (size_t)snprintf(hex + at, sizeof(hex) - at, " 0x%02x",
				       c->p[c->i + k]);
	hex[at] = '\0';
	fa_error_set(err, FA_EINPUT, "line %" PRIu64 ", byte %" PRIu64
		     ": invalid UTF-8 sequence%s%s", c->line,
		     s->offset + c->i, hex,
		     cut ? " (cut short by the end of input)" : "");
	return STEP_FAIL;
}

/* Validates the run of non-ASCII bytes at c->i, or reports the NUL there. */
static enum step step_utf8(const struct fa_rec_scanner *s, struct cursor *c,
			   struct fa_error *err)
{
	size_t bad;
	int len;

	while (c->i < c->n && c->p[c->i] >= 0x80) {
		len = utf8_seq(c->p + c->i, c->n - c->i, &bad);
		if (len > 0) {
			c->i += (size_t)len;
			continue;
		}
		if (len < 0 && !c->eof)
			return STEP_MORE;
		return fail_utf8(s, c, len < 0 ? c->n - c->i : bad, len < 0, err);
	}
	if (c->i < c->n && c->p[c->i] == 0) {
		fa_error_set(err, FA_EINPUT, "line %" PRIu64 ", byte %" PRIu64
			     ": NUL byte, which PostgreSQL text cannot hold",
			     c->line, s->offset + c->i);
		return STEP_FAIL;
	}
	return STEP_ON;
}

/*
 * CSV quote or escape: an escape inside quotes takes a following quote or
 * escape as data (with escape == quote that is a doubled quote), so it
 * looks one byte ahead.
 */
static enum step step_quote(struct fa_rec_scanner *s, struct cursor *c)
{
	unsigned char ch = c->p[c->i], next;
	unsigned char q = (unsigned char)s->opts.quote;
	unsigned char e = (unsigned char)s->opts.escape;

	if (!s->in_quotes) {
		if (ch == q) {
			s->in_quotes = true;
			s->quote_line = c->line;
		}
		c->i++;
		return STEP_ON;
	}
	if (ch == e) {
		if (c->i + 1 >= c->n && !c->eof)
			return STEP_MORE;
		next = c->i + 1 < c->n ? c->p[c->i + 1] : 0;
		if (next == q || next == e) {
			c->i += 2;
			return STEP_ON;
		}
	}
	if (ch == q)
		s->in_quotes = false;
	c->i++;
	return STEP_ON;
}

/* Text-format "\.": the end of the data when alone on its line. */
static enum step step_dot(struct cursor *c, struct fa_error *err)
{
	size_t j = c->i + 2;

	if (j < c->n && c->p[j] == '\r')
		j++;
	if (j >= c->n && !c->eof)
		return STEP_MORE;
	if (j < c->n && c->p[j] != '\n') {
		c->i += 2;
		return STEP_ON;
	}
	if (c->i == c->rec)
		return STEP_END;
	fa_error_set(err, FA_EINPUT, "line %" PRIu64 ": end-of-data marker "
		     "\\. is not alone on its line", c->line);
	return STEP_FAIL;
}

/*
 * Text-format backslash: it escapes the next byte, newline included.  A
 * non-ASCII byte after it is left for the UTF-8 check to see.
 */
static enum step step_backslash(struct cursor *c, struct fa_error *err)
{
	unsigned char next;

	if (c->i + 1 >= c->n) {
		if (!c->eof)
			return STEP_MORE;
		c->i++;
		return STEP_ON;
	}
	next = c->p[c->i + 1];
	if (next == '.')
		return step_dot(c, err);
	if (next == '\n')
		c->line++;
	c->i += next == 0 || next >= 0x80 ? 1 : 2;
	return STEP_ON;
}

/* Looks at the byte at c->i, which next_stop() stopped at. */
static enum step step(struct fa_rec_scanner *s, struct cursor *c,
		      struct fa_error *err)
{
	unsigned char ch = c->p[c->i];

	if (ch == '\n') {
		c->i++;
		c->line++;
		return s->in_quotes ? STEP_ON : STEP_RECORD;
	}
	if (s->opts.format == FA_REC_TEXT && ch == '\\')
		return step_backslash(c, err);
	if (s->opts.format == FA_REC_CSV &&
	    (ch == (unsigned char)s->opts.quote ||
	     ch == (unsigned char)s->opts.escape))
		return step_quote(s, c);
	if (s->opts.validate_utf8 && (ch == 0 || ch >= 0x80))
		return step_utf8(s, c, err);
	c->i++;
	return STEP_ON;
}

/* fa_rec_scan() and fa_rec_finish(); eof: nothing follows data[n - 1]. */
static enum fa_err scan(struct fa_rec_scanner *s, const char *data, size_t n,
			size_t max, bool eof, size_t *used,
			struct fa_error *err)
{
	struct cursor c = {
		.p = (const unsigned char *)data, .n = n,
		.i = s->pos < n ? s->pos : n, .rec = 0,
		.line = s->pos_line, .eof = eof,
	};
	struct stop_set set;
	uint64_t found = 0;
	enum step st = STEP_ON;

	*used = 0;
	if (s->end_marker)
		return FA_OK;
	stop_set_load(&set, s);
	for (;;) {
		c.i = next_stop(s, &set, &c);
		if (c.i >= n)
			break;
		st = step(s, &c, err);
		if (st == STEP_RECORD) {
			c.rec = c.i;
			s->line = c.line;
			if (++found == max)
				break;
		} else if (st != STEP_ON) {
			break;
		}
	}
	s->records += found;
	s->offset += c.rec;
	s->pos = c.i - c.rec;
	s->pos_line = c.line;
	s->end_marker = st == STEP_END;
	*used = c.rec;
	return st == STEP_FAIL ? FA_EINPUT : FA_OK;
}

enum fa_err fa_rec_scan(struct fa_rec_scanner *s, const char *data, size_t n,
			size_t max_records, size_t *used,
			struct fa_error *err)
{
	return scan(s, data, n, max_records, false, used, err);
}

enum fa_err fa_rec_finish(struct fa_rec_scanner *s, const char *tail, size_t n,
			  size_t *used, struct fa_error *err)
{
	enum fa_err rc = scan(s, tail, n, 0, true, used, err);

	if (rc != FA_OK || s->end_marker || *used == n)
		return rc;
	if (s->in_quotes)
		return fa_error_set(err, FA_EINPUT, "unterminated quoted field "
				    "starting at line %" PRIu64, s->quote_line);
	s->records++;
	s->offset += n - *used;
	s->pos = 0;
	s->line = s->pos_line;
	*used = n;
	return FA_OK;
}

void fa_rec_iter_init(struct fa_rec_iter *it, const struct fa_rec_opts *o,
		      const char *batch, size_t n, uint64_t first_line)
{
	struct fa_rec_opts plain = *o;

	plain.validate_utf8 = false;
	setup(&it->s, &plain);
	it->s.line = first_line;
	it->s.pos_line = first_line;
	it->data = batch;
	it->n = n;
	it->off = 0;
}

/* The record's length without its LF or CRLF (an escaped CR is data). */
static size_t span_len(const struct fa_rec_opts *o, const char *p, size_t size)
{
	size_t len = size, k = 0;

	if (len == 0 || p[len - 1] != '\n')
		return len;
	len--;
	if (len == 0 || p[len - 1] != '\r')
		return len;
	if (o->format == FA_REC_TEXT)
		while (k < len - 1 && p[len - 2 - k] == '\\')
			k++;
	return k % 2 ? len : len - 1;
}

bool fa_rec_iter_next(struct fa_rec_iter *it, struct fa_rec_span *span)
{
	const char *p = it->data + it->off;
	size_t left = it->n - it->off, used = 0;
	uint64_t line = it->s.line;

	if (left == 0 || it->s.end_marker)
		return false;
	if (scan(&it->s, p, left, 1, true, &used, NULL) == FA_OK && used > 0) {
		span->len = span_len(&it->s.opts, p, used);
	} else if (it->s.end_marker) {
		return false;
	} else {
		used = left;    /* the last record, without a newline */
		span->len = left;
	}
	span->off = it->off;
	span->size = used;
	span->line = line;
	it->off += used;
	return true;
}

/* One fa_rec_fields() call: the record, and where decoded bytes go. */
struct fields {
	const struct fa_rec_opts *o;
	const char *rec;
	size_t len;
	size_t i;               /* next byte of rec */
	char *out;              /* next free byte of the scratch buffer */
	size_t null_len;
};

static void raw_field(const struct fields *fp, size_t start, size_t end,
		      bool may_be_null, struct fa_rec_field *f)
{
	f->ptr = fp->rec + start;
	f->len = end - start;
	f->is_null = may_be_null && f->len == fp->null_len &&
		     memcmp(f->ptr, fp->o->null_str, f->len) == 0;
}

/* A CSV field with quotes in it, from its start, decoded into fp->out. */
static bool csv_quoted(struct fields *fp, struct fa_rec_field *f)
{
	const char *r = fp->rec;
	char d = fp->o->delim, q = fp->o->quote, e = fp->o->escape, ch;
	bool inq = false;

	f->ptr = fp->out;
	f->is_null = false;
	for (; fp->i < fp->len; fp->i++) {
		ch = r[fp->i];
		if (!inq && ch == d)
			break;
		if (!inq && ch == q) {
			inq = true;
			continue;
		}
		if (inq && ch == e && fp->i + 1 < fp->len &&
		    (r[fp->i + 1] == q || r[fp->i + 1] == e)) {
			ch = r[++fp->i];
		} else if (inq && ch == q) {
			inq = false;
			continue;
		}
		*fp->out++ = ch;
	}
	f->len = (size_t)(fp->out - f->ptr);
	return !inq;
}

/* The CSV field at fp->i; false if its quotes are not closed. */
static bool csv_field(struct fields *fp, struct fa_rec_field *f)
{
	size_t start = fp->i, i = start;

	while (i < fp->len && fp->rec[i] != fp->o->delim &&
	       fp->rec[i] != fp->o->quote)
		i++;
	if (i < fp->len && fp->rec[i] == fp->o->quote)
		return csv_quoted(fp, f);
	raw_field(fp, start, i, true, f);
	fp->i = i;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escape whose letter is at r[i] into *out; returns its end. */
static size_t text_escape(const char *r, size_t len, size_t i, char *out)
{
	static const char from[] = "bfnrtv", to[] = "\b\f\n\r\t\v";
	const char *at;
	char c = r[i++];
	int v = 0, k = 0;

	if (c >= '0' && c <= '7') {
		for (v = c - '0'; k < 2 && i < len && r[i] >= '0' && r[i] <= '7'; k++)
			v = v * 8 + (r[i++] - '0');
		*out = (char)(v & 0xff);
	} else if (c == 'x' && i < len && hex_digit(r[i]) >= 0) {
		for (; k < 2 && i < len && hex_digit(r[i]) >= 0; k++)
			v = v * 16 + hex_digit(r[i++]);
		*out = (char)v;
	} else if (c != '\0' && (at = strchr(from, c)) != NULL) {
		*out = to[at - from];
	} else {
		*out = c;
	}
	return i;
}

/* The text-format field at fp->i, decoded when it holds a backslash. */
static void text_field(struct fields *fp, struct fa_rec_field *f)
{
	const char *r = fp->rec;
	size_t start = fp->i, i = start;

	while (i < fp->len && r[i] != fp->o->delim && r[i] != '\\')
		i++;
	if (i == fp->len || r[i] != '\\') {
		raw_field(fp, start, i, true, f);
		fp->i = i;
		return;
	}
	f->ptr = fp->out;
	for (i = start; i < fp->len && r[i] != fp->o->delim;) {
		if (r[i] != '\\')
			*fp->out++ = r[i++];
		else if (i + 1 < fp->len)   /* a backslash at the end is dropped */
			i = text_escape(r, fp->len, i + 1, fp->out++);
		else
			i++;
	}
	f->len = (size_t)(fp->out - f->ptr);
	f->is_null = i - start == fp->null_len &&
		     memcmp(r + start, fp->o->null_str, fp->null_len) == 0;
	fp->i = i;
}

enum fa_err fa_rec_fields(const struct fa_rec_opts *o, const char *rec,
			  size_t len, uint64_t line, struct fa_rec_field *fields,
			  size_t max, size_t *nfields, struct fa_buf *scratch,
			  struct fa_error *err)
{
	const char *null = o->null_str ? o->null_str : "";
	struct fa_rec_opts opts = *o;
	struct fields fp = { .o = &opts, .rec = rec, .len = len };
	size_t k = 0;

	opts.null_str = null;
	fp.null_len = strlen(null);
	*nfields = 0;
	fa_buf_reset(scratch);
	if (fa_buf_grow(scratch, len) != FA_OK)     /* decoding never grows */
		return fa_error_set(err, FA_ENOMEM, "line %" PRIu64 ": record of "
				    "%zu bytes is over the limit of %zu", line,
				    len, scratch->max);
	fp.out = scratch->data;
	for (;;) {
		if (k == max)
			return fa_error_set(err, FA_EINPUT, "line %" PRIu64 ": more "
					    "than %zu fields", line, max);
		if (o->format == FA_REC_TEXT)
			text_field(&fp, &fields[k]);
		else if (!csv_field(&fp, &fields[k]))
			return fa_error_set(err, FA_EINPUT, "line %" PRIu64 ", field "
					    "%zu: unterminated quoted field",
					    line, k + 1);
		k++;
		if (fp.i >= len)
			break;
		fp.i++;         /* the delimiter */
	}
	scratch->len = (size_t)(fp.out - scratch->data);
	scratch->data[scratch->len] = '\0';
	*nfields = k;
	return FA_OK;
}
