/*
 * Unit tests for lib/pg/csvrec: record splitting and field parsing.
 *
 * Most checks feed an input through run(), which drives the scanner the
 * way fa-copy does (pieces cut at given offsets, a kept tail, a record
 * limit) and renders every record of every batch as "<line>:<bytes>|",
 * then "END|" for a "\." marker, "E:<message>" for an error and
 * "#<records>".  Splitting the same input anywhere must not change it.
 * A naive byte-at-a-time splitter and UTF-8 decoder check the fast one
 * on random input; random rows go through CSV and text encoding and back.
 *
 * Usage: test_csvrec [seed]
 */
#include "pg/csvrec.c"

#include <stdlib.h>
#include <time.h>

#include "check.h"

#define CHECK_STR_AT(got, want, what) \
	check_str(__FILE__, __LINE__, (got), (want), (what))

static struct fa_rec_opts opts(enum fa_rec_format f, bool validate)
{
	struct fa_rec_opts o;

	fa_rec_opts_init(&o, f);
	o.validate_utf8 = validate;
	return o;
}

/* Appends p[0..n) with LF, CR, tab and NUL shown as \n \r \t \0. */
static void put_shown(struct fa_buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '\n': fa_buf_puts(out, "\\n"); break;
		case '\r': fa_buf_puts(out, "\\r"); break;
		case '\t': fa_buf_puts(out, "\\t"); break;
		case '\0': fa_buf_puts(out, "\\0"); break;
		default: fa_buf_putc(out, p[i]);
		}
	}
}

static void emit_batch(const struct fa_rec_opts *o, const char *b, size_t n,
		       uint64_t line, struct fa_buf *out)
{
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	size_t off = 0;

	fa_rec_iter_init(&it, o, b, n, line);
	while (fa_rec_iter_next(&it, &sp)) {
		if (sp.off != off || sp.len > sp.size)
			fa_buf_puts(out, "BADSPAN|");
		off = sp.off + sp.size;
		fa_buf_printf(out, "%" PRIu64 ":", sp.line);
		put_shown(out, b + sp.off, sp.len);
		fa_buf_putc(out, '|');
	}
	if (off != n)
		fa_buf_puts(out, "SHORT|");
}

/* Reports what ended the scan; true if nothing did. */
static bool scan_outcome(const struct fa_rec_scanner *s, enum fa_err rc,
			 const struct fa_error *err, struct fa_buf *out)
{
	if (rc != FA_OK) {
		fa_buf_printf(out, "E:%s", err->msg);
		return false;
	}
	if (s->end_marker) {
		fa_buf_puts(out, "END|");
		return false;
	}
	return true;
}

/*
 * Feeds in[0..n) in pieces ending at cuts[0..ncuts), scanning after each
 * with at most max records a call, and renders what comes out into out.
 */
static void run(const struct fa_rec_opts *o, const char *in, size_t n,
		const size_t *cuts, size_t ncuts, size_t max, struct fa_buf *out)
{
	struct fa_rec_scanner s;
	struct fa_error err;
	struct fa_buf tail;
	size_t used, fed = 0, k, end;
	uint64_t line;
	enum fa_err rc = fa_rec_init(&s, o, &err);

	fa_buf_reset(out);
	fa_buf_init(&tail, 0);
	for (k = 0; rc == FA_OK && k <= ncuts; k++) {
		end = k < ncuts ? cuts[k] : n;
		fa_buf_append(&tail, in + fed, end - fed);
		fed = end;
		do {
			line = s.line;
			rc = fa_rec_scan(&s, tail.data, tail.len, max, &used, &err);
			emit_batch(o, tail.data, used, line, out);
			fa_buf_consume(&tail, used);
			if (!scan_outcome(&s, rc, &err, out))
				goto done;
		} while (used > 0);
	}
	line = s.line;
	rc = fa_rec_finish(&s, tail.data, tail.len, &used, &err);
	emit_batch(o, tail.data, used, line, out);
	scan_outcome(&s, rc, &err, out);
done:
	fa_buf_printf(out, "#%" PRIu64, s.records);
	fa_buf_release(&tail);
}

static struct fa_buf got, want;

/* The rendering of in (a C string) in one piece. */
static const char *whole(const struct fa_rec_opts *o, const char *in)
{
	run(o, in, strlen(in), NULL, 0, 0, &got);
	return got.data;
}

/*
 * Checks that in renders as expect in one piece, in every two pieces, one
 * byte at a time, and one record a call.
 */
static void check_splits(const struct fa_rec_opts *o, const char *in,
			 size_t n, const char *expect, const char *file,
			 int line)
{
	size_t cuts[4096], k;
	char what[64];

	run(o, in, n, NULL, 0, 0, &got);
	check_str(file, line, got.data, expect, "whole");
	for (k = 0; k <= n; k++) {
		cuts[0] = k;
		run(o, in, n, cuts, 1, 0, &got);
		snprintf(what, sizeof(what), "split at %zu", k);
		check_str(file, line, got.data, expect, what);
	}
	for (k = 0; k < n && k < 4096; k++)
		cuts[k] = k;
	run(o, in, n, cuts, k, 0, &got);
	check_str(file, line, got.data, expect, "byte by byte");
	run(o, in, n, cuts, k, 1, &got);
	check_str(file, line, got.data, expect, "byte by byte, one record");
	run(o, in, n, NULL, 0, 1, &got);
	check_str(file, line, got.data, expect, "one record a call");
}

#define CHECK_SPLITS(o, in, expect) \
	check_splits((o), (in), sizeof(in) - 1, (expect), __FILE__, __LINE__)

static void test_csv_records(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);

	CHECK_SPLITS(&o, "a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n",
		     "1:a,b|2:\"x,y\",\"he said \"\"hi\"\"\"|#2");
	/* LF, CRLF, newlines and CRLF inside quotes, CR alone, no final LF */
	CHECK_SPLITS(&o, "h1,h2\r\n\"multi\r\nline\",x\r\n\"cr\ronly\",y\n"
		     "last,\"q\n\n\"\nbare\rcr\r\nend",
		     "1:h1,h2|2:\"multi\\r\\nline\",x|4:\"cr\\ronly\",y|"
		     "5:last,\"q\\n\\n\"|8:bare\\rcr|9:end|#6");
	/* empty lines are records; a quote opens anywhere, as in COPY */
	CHECK_SPLITS(&o, "\n\r\nab\"c\nd\"e\n\"\"\"\"\n",
		     "1:|2:|3:ab\"c\\nd\"e|5:\"\"\"\"|#4");
	CHECK_STR(whole(&o, ""), "#0");
	CHECK_STR(whole(&o, "\n"), "1:|#1");
	CHECK_STR(whole(&o, "x\n\n"), "1:x|2:|#2");
	/* a closing quote at the very end of a piece */
	CHECK_SPLITS(&o, "\"a\"\n\"\"\n\"b\"", "1:\"a\"|2:\"\"|3:\"b\"|#3");
}

static void test_csv_escape(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);

	o.escape = '\\';
	CHECK_SPLITS(&o, "\"a\\\"\nb\",c\n\"d\\\\\"\ne\n\"f\\g\"\n",
		     "1:\"a\\\"\\nb\",c|3:\"d\\\\\"|4:e|5:\"f\\g\"|#4");
	/* outside quotes the escape is data */
	CHECK_SPLITS(&o, "a\\\"b\nc\"\n", "1:a\\\"b\\nc\"|#1");
	o.quote = '\'';
	o.escape = '\'';
	o.delim = ';';
	CHECK_SPLITS(&o, "'a;''\n';\"\n", "1:'a;''\\n';\"|#1");
}

static void test_unterminated(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);

	CHECK_SPLITS(&o, "a\n\"b\n\"\"c\nd",
		     "1:a|E:unterminated quoted field starting at line 2#1");
	CHECK_SPLITS(&o, "x\ny,\"abc",
		     "1:x|E:unterminated quoted field starting at line 2#1");
	CHECK_SPLITS(&o, "\"a\"\n\"b\"x\"\n\n",
		     "1:\"a\"|E:unterminated quoted field starting at line 2#1");
}

static void test_max_records(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	const char *in = "a\n\"b\nc\"\nd\ne\n";
	struct fa_rec_scanner s;
	struct fa_error err;
	size_t used, off = 0;

	CHECK(fa_rec_init(&s, &o, &err) == FA_OK);
	CHECK(fa_rec_scan(&s, in, strlen(in), 2, &used, &err) == FA_OK);
	CHECK(used == 8 && s.records == 2 && s.line == 4 && s.offset == 8);
	off += used;
	CHECK(fa_rec_scan(&s, in + off, strlen(in) - off, 1, &used, &err) == 0);
	CHECK(used == 2 && s.records == 3 && s.line == 5);
	off += used;
	CHECK(fa_rec_scan(&s, in + off, strlen(in) - off, 0, &used, &err) == 0);
	CHECK(used == 2 && s.records == 4 && s.line == 6 && s.offset == 12);
	CHECK(fa_rec_finish(&s, in + 12, 0, &used, &err) == FA_OK);
	CHECK(used == 0 && s.records == 4);
}

/* The scanner resumes where it stopped instead of rescanning the tail. */
static void test_resume(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	const char *in = "\"abc\ndef,ghi\xc3";
	struct fa_rec_scanner s;
	struct fa_error err;
	size_t used;

	fa_rec_init(&s, &o, &err);
	CHECK(fa_rec_scan(&s, in, strlen(in), 0, &used, &err) == FA_OK);
	CHECK(used == 0 && s.records == 0 && s.in_quotes);
	CHECK(s.pos == strlen(in) - 1 && s.pos_line == 2 && s.line == 1);
}

static void test_text_records(void)
{
	struct fa_rec_opts o = opts(FA_REC_TEXT, true);

	/* an escaped newline is data; "\\." is a backslash and a dot */
	CHECK_SPLITS(&o, "a\\tb\tc\\\nd\n\\\\.\n\\.\nignored\n",
		     "1:a\\tb\\tc\\\\nd|3:\\\\.|END|#2");
	CHECK_SPLITS(&o, "a\r\n\\.\r\nx", "1:a|END|#1");
	CHECK_SPLITS(&o, "a\n\\.", "1:a|END|#1");
	CHECK_SPLITS(&o, "\\.\n", "END|#0");
	CHECK_SPLITS(&o, "\\.x\n\\.\\.y\n", "1:\\.x|2:\\.\\.y|#2");
	CHECK_SPLITS(&o, "a\nb\\.\nc\n",
		     "1:a|E:line 2: end-of-data marker \\. is not alone on "
		     "its line#1");
	CHECK_SPLITS(&o, "a\nb\\.", "1:a|E:line 2: end-of-data marker \\. is "
		     "not alone on its line#1");
	/* an escaped CR before the LF is data, an unescaped one is not */
	CHECK_SPLITS(&o, "a\\\r\nb\\\\\r\nc\\", "1:a\\\\r|2:b\\\\|3:c\\|#3");
	/* in CSV "\." is an ordinary record */
	o = opts(FA_REC_CSV, true);
	CHECK_SPLITS(&o, "\\.\nx\n", "1:\\.|2:x|#2");
}

static void test_utf8(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	struct fa_rec_opts off = opts(FA_REC_CSV, false);

	CHECK_SPLITS(&o, "\xc3\xa9,\xe2\x82\xac\n\xf0\x9d\x84\x9e,\xf4\x8f\xbf\xbf\n",
		     "1:\xc3\xa9,\xe2\x82\xac|2:\xf0\x9d\x84\x9e,\xf4\x8f\xbf\xbf|#2");
	CHECK_SPLITS(&o, "ok\nab\xc0\x80\n",
		     "1:ok|E:line 2, byte 5: invalid UTF-8 sequence 0xc0#1");
	CHECK_SPLITS(&o, "\xe0\x80\x80",
		     "E:line 1, byte 0: invalid UTF-8 sequence 0xe0 0x80#0");
	CHECK_SPLITS(&o, "\xf0\x8f\xbf\xbf",
		     "E:line 1, byte 0: invalid UTF-8 sequence 0xf0 0x8f#0");
	CHECK_SPLITS(&o, "a,b\nc,\xed\xa0\x80\n",
		     "1:a,b|E:line 2, byte 6: invalid UTF-8 sequence 0xed 0xa0#1");
	CHECK_SPLITS(&o, "x\n\xe2\x82",
		     "1:x|E:line 2, byte 2: invalid UTF-8 sequence 0xe2 0x82 "
		     "(cut short by the end of input)#1");
	CHECK_SPLITS(&o, "x\n\xe2\x82\n",
		     "1:x|E:line 2, byte 2: invalid UTF-8 sequence 0xe2 0x82 "
		     "0x0a#1");
	CHECK_SPLITS(&o, "\"q\n\x80\"\n",
		     "E:line 2, byte 3: invalid UTF-8 sequence 0x80#0");
	CHECK_SPLITS(&o, "0123456789abcdef\n\xf4\x90\x80\x80\n",
		     "1:0123456789abcdef|E:line 2, byte 17: invalid UTF-8 "
		     "sequence 0xf4 0x90#1");
	CHECK_SPLITS(&o, "a\n\n\xf5\n", "1:a|2:|E:line 3, byte 3: invalid "
		     "UTF-8 sequence 0xf5#2");
	CHECK_SPLITS(&o, "a\nb\0c\n", "1:a|E:line 2, byte 3: NUL byte, which "
		     "PostgreSQL text cannot hold#1");
	/* after a text-format backslash, too */
	o = opts(FA_REC_TEXT, true);
	CHECK_SPLITS(&o, "\\\xc3\xa9\n\\\xff\n", "1:\\\xc3\xa9|E:line 2, "
		     "byte 5: invalid UTF-8 sequence 0xff#1");
	CHECK_SPLITS(&off, "\xff\xc0\x80\n\0\n", "1:\xff\xc0\x80|2:\\0|#2");
}

/* Parses rec (a C string) and renders its fields as [..] or N for NULL. */
static const char *fields(const struct fa_rec_opts *o, const char *rec,
			  size_t max)
{
	struct fa_rec_field f[16];
	struct fa_buf scratch;
	struct fa_error err;
	size_t n = 0, k;
	enum fa_err rc;

	fa_buf_init(&scratch, 0);
	fa_buf_reset(&got);
	rc = fa_rec_fields(o, rec, strlen(rec), 7, f, max, &n, &scratch, &err);
	for (k = 0; k < n; k++) {
		if (f[k].is_null) {
			fa_buf_puts(&got, "N");
			continue;
		}
		fa_buf_putc(&got, '[');
		put_shown(&got, f[k].ptr, f[k].len);
		fa_buf_putc(&got, ']');
	}
	if (rc != FA_OK)
		fa_buf_printf(&got, "E%d:%s", rc, err.msg);
	fa_buf_release(&scratch);
	return got.data;
}

static void test_csv_fields(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);

	CHECK_STR(fields(&o, "a,,\"\",x", 16), "[a]N[][x]");
	CHECK_STR(fields(&o, "\"a\"\"b\",\"c,d\",\"e\nf\",g\"h\"i,", 16),
		  "[a\"b][c,d][e\\nf][ghi]N");
	CHECK_STR(fields(&o, "", 16), "N");
	CHECK_STR(fields(&o, " a , \"b\" ", 16), "[ a ][ b ]");
	CHECK_STR(fields(&o, "a,b,c", 2), "E4:line 7: more than 2 fields");
	CHECK_STR(fields(&o, "a,\"b", 16),
		  "E4:line 7, field 2: unterminated quoted field");
	o.null_str = "NULL";
	CHECK_STR(fields(&o, "NULL,\"NULL\",,NULLx", 16), "N[NULL][][NULLx]");
	o = opts(FA_REC_CSV, true);
	o.escape = '\\';
	CHECK_STR(fields(&o, "\"a\\\"b\",\"c\\\\d\",\"e\\f\",g\\h,\"\"\"", 16),
		  "E4:line 7, field 5: unterminated quoted field");
	o.delim = '\t';
	CHECK_STR(fields(&o, "a,b\t\"c\td\"", 16), "[a,b][c\\td]");
}

static void test_text_fields(void)
{
	struct fa_rec_opts o = opts(FA_REC_TEXT, true);

	CHECK_STR(fields(&o, "a\t\t\\N\tb\\tc\t\\101\\x41\\x\\z\\\\\t\\N2\t\\0", 16),
		  "[a][]N[b\\tc][AAxz\\][N2][\\0]");
	CHECK_STR(fields(&o, "\\b\\f\\n\\r\\v\\x4a\\x4G\\1234\\777\\\t", 16),
		  "[\b\f\\n\\r\v\x4a\x04G\x53" "4\xff\\t]");
	CHECK_STR(fields(&o, "ab\\", 16), "[ab]");
	CHECK_STR(fields(&o, "", 16), "[]");
	CHECK_STR(fields(&o, "\\N", 16), "N");
	CHECK_STR(fields(&o, "a\tb\tc", 2), "E4:line 7: more than 2 fields");
	o.delim = '|';
	o.null_str = "";
	CHECK_STR(fields(&o, "x||\\||\t", 16), "[x]N[|][\\t]");
}

/* Undecoded fields point into the record; a tiny cap is FA_ENOMEM. */
static void test_field_memory(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	struct fa_rec_field f[4];
	struct fa_buf scratch;
	struct fa_error err;
	const char *rec = "abc,\"de\"";
	size_t n;

	fa_buf_init(&scratch, 0);
	CHECK(fa_rec_fields(&o, rec, 8, 1, f, 4, &n, &scratch, &err) == FA_OK);
	CHECK(n == 2 && f[0].ptr == rec && f[1].ptr == scratch.data);
	fa_buf_release(&scratch);
	fa_buf_init(&scratch, 4);
	CHECK(fa_rec_fields(&o, rec, 8, 3, f, 4, &n, &scratch, &err) ==
	      FA_ENOMEM);
	CHECK_STR(err.msg, "line 3: record of 8 bytes is over the limit of 4");
	fa_buf_release(&scratch);
}

static void test_options(void)
{
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	struct fa_rec_scanner s;
	struct fa_error err;

	CHECK(fa_rec_init(&s, &o, &err) == FA_OK);
	o.delim = '\n';
	CHECK(fa_rec_init(&s, &o, &err) == FA_EUSAGE);
	o.delim = '"';
	CHECK(fa_rec_init(&s, &o, &err) == FA_EUSAGE);
	CHECK_STR(err.msg, "delimiter and quote must differ");
	o.delim = (char)0xe9;
	CHECK(fa_rec_init(&s, &o, &err) == FA_EUSAGE);
	o = opts(FA_REC_CSV, true);
	o.null_str = "a,b";
	CHECK(fa_rec_init(&s, &o, &err) == FA_EUSAGE);
	o.null_str = NULL;
	CHECK(fa_rec_init(&s, &o, &err) == FA_OK);
	o = opts(FA_REC_TEXT, true);
	o.delim = 'n';
	CHECK(fa_rec_init(&s, &o, &err) == FA_EUSAGE);
	CHECK_STR(err.msg, "delimiter 'n' cannot be used in text format");
	o.delim = ',';
	o.quote = '\n';         /* ignored in text format */
	CHECK(fa_rec_init(&s, &o, &err) == FA_OK);
}

/*
 * The reference splitter: byte at a time, PostgreSQL's rules as its
 * CopyReadLineText() has them (quote toggling with last_was_esc), no
 * UTF-8 check.  Renders like run().
 */
static void ref_split(const struct fa_rec_opts *o, const unsigned char *p,
		      size_t n, struct fa_buf *out)
{
	size_t i = 0, rec = 0, end;
	uint64_t line = 1, rec_line = 1, quote_line = 0, records = 0;
	bool inq = false, esc = false, csv = o->format == FA_REC_CSV;
	bool cr_escaped = false;
	unsigned char q = (unsigned char)o->quote, e = (unsigned char)o->escape;
	size_t closed_at = SIZE_MAX;    /* the last closing quote */

	if (e == q)
		e = 0;          /* COPY just toggles then */

	fa_buf_reset(out);
	for (; i <= n; i++) {
		if (i == n || (p[i] == '\n' && !inq)) {
			if (i == n && inq) {
				fa_buf_printf(out, "E:unterminated quoted field "
					      "starting at line %" PRIu64, quote_line);
				break;
			}
			if (i == n && rec == n)
				break;
			end = i;
			if (i < n && end > rec && p[end - 1] == '\r' && !cr_escaped)
				end--;
			fa_buf_printf(out, "%" PRIu64 ":", rec_line);
			put_shown(out, (const char *)p + rec, end - rec);
			fa_buf_putc(out, '|');
			records++;
			if (i == n)
				break;
			rec = i + 1;
			rec_line = ++line;
			cr_escaped = false;
			continue;
		}
		if (p[i] == '\n')
			line++;
		if (!csv && p[i] == '\\') {
			if (i + 1 < n && p[i + 1] == '.' &&
			    (i + 2 == n || p[i + 2] == '\n' ||
			     (p[i + 2] == '\r' && (i + 3 == n || p[i + 3] == '\n')))) {
				if (i == rec) {
					fa_buf_puts(out, "END|");
				} else {
					fa_buf_printf(out, "E:line %" PRIu64 ": end-of-data "
						      "marker \\. is not alone on its "
						      "line", line);
				}
				break;
			}
			if (i + 1 < n) {
				i++;
				if (p[i] == '\n')
					line++;
				cr_escaped = p[i] == '\r';
			}
			continue;
		}
		cr_escaped = false;
		if (!csv)
			continue;
		if (inq && p[i] == e)
			esc = !esc;
		if (p[i] == q && !esc) {
			inq = !inq;
			/* a doubled quote does not open a new quoted part */
			if (inq && !(e == 0 && closed_at != SIZE_MAX &&
				     closed_at + 1 == i))
				quote_line = line;
			if (!inq)
				closed_at = i;
		}
		if (p[i] != e)
			esc = false;
	}
	fa_buf_printf(out, "#%" PRIu64, records);
}

/* Random cut points and record limit for one run. */
static void run_random(const struct fa_rec_opts *o, const char *in, size_t n,
		       struct fa_buf *out)
{
	size_t cuts[64], ncuts = rnd_below(8), k;

	for (k = 0; k < ncuts; k++)
		cuts[k] = n ? rnd_below((uint32_t)n + 1) : 0;
	for (k = 1; k < ncuts; k++)     /* insertion sort */
		for (size_t j = k; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	run(o, in, n, cuts, ncuts, rnd_below(4), out);
}

static void random_opts(struct fa_rec_opts *o)
{
	static const char esc[] = "\"\\";

	*o = opts(rnd_below(2) ? FA_REC_CSV : FA_REC_TEXT, false);
	if (o->format == FA_REC_CSV)
		o->escape = esc[rnd_below(2)];
}

static void test_against_reference(void)
{
	static const char alphabet[] = "a,\"\n\r\\.\t\xc3\xa9";
	struct fa_rec_opts o;
	char in[64];
	size_t n, k;
	int round, bad = 0;

	for (round = 0; round < 200000 && bad < 5; round++) {
		random_opts(&o);
		n = rnd_below(sizeof(in));
		for (k = 0; k < n; k++)
			in[k] = alphabet[rnd_below(sizeof(alphabet) - 1)];
		ref_split(&o, (const unsigned char *)in, n, &want);
		run_random(&o, in, n, &got);
		if (strcmp(got.data, want.data) == 0)
			continue;
		bad++;
		fa_buf_reset(&got);
		put_shown(&got, in, n);
		fprintf(stderr, "input (%s, escape %c): %s\n",
			o.format == FA_REC_CSV ? "csv" : "text", o.escape, got.data);
		run_random(&o, in, n, &got);
		CHECK_STR(got.data, want.data);
	}
	CHECK(bad == 0);
}

/* Offset of the first byte that is not UTF-8 (or is NUL), or -1. */
static long ref_utf8_bad(const unsigned char *p, size_t n)
{
	size_t i = 0, len, k;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] == 0)
				return (long)i;
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0)
			len = 2, cp = p[i] & 0x1F, min = 0x80;
		else if ((p[i] & 0xF0) == 0xE0)
			len = 3, cp = p[i] & 0x0F, min = 0x800;
		else if ((p[i] & 0xF8) == 0xF0)
			len = 4, cp = p[i] & 0x07, min = 0x10000;
		else
			return (long)i;
		for (k = 1; k < len; k++) {
			if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
				return (long)i;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return (long)i;
		i += len;
	}
	return -1;
}

static void test_utf8_random(void)
{
	static const char *const pieces[] = {
		"a", "\n", ",", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "0123456789",
	};
	struct fa_rec_opts o = opts(FA_REC_CSV, true);
	char in[96], prefix[64];
	const char *error;
	size_t n, k, lines;
	long bad;
	int round;

	for (round = 0; round < 100000; round++) {
		for (n = 0; n < 64;) {
			if (rnd_below(16) == 0) {     /* no quote: no quoting errors */
				in[n] = (char)rnd_below(256);
				n += in[n] != '"' && in[n] != '|';
				continue;
			}
			strcpy(in + n, pieces[rnd_below(10)]);
			n += strlen(in + n);
		}
		bad = ref_utf8_bad((const unsigned char *)in, n);
		run_random(&o, in, n, &got);
		error = strncmp(got.data, "E:", 2) == 0 ? got.data :
			strstr(got.data, "|E:") ? strstr(got.data, "|E:") + 1 : NULL;
		if (bad < 0) {
			CHECK(error == NULL);
			continue;
		}
		for (k = 0, lines = 1; k < (size_t)bad; k++)
			lines += in[k] == '\n';
		snprintf(prefix, sizeof(prefix), "E:line %zu, byte %ld: ", lines,
			 bad);
		if (!error || strncmp(error, prefix, strlen(prefix)) != 0)
			CHECK_STR_AT(got.data, prefix, "first invalid byte");
	}
}

/* Random rows: each field NULL or a string of these pieces. */
static const char *const field_pieces[] = {
	"a", "b", ",", "\"", "\n", "\r", " ", "\t", "\\", "|", "N", ".",
	"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "0", "x7",
};
#define NPIECES (sizeof(field_pieces) / sizeof(field_pieces[0]))

struct row {
	size_t n;
	bool null[8];
	char val[8][64];
};

static void random_row(struct row *r)
{
	size_t k, len;

	r->n = 1 + rnd_below(6);
	for (k = 0; k < r->n; k++) {
		r->null[k] = rnd_below(8) == 0;
		r->val[k][0] = '\0';
		for (len = rnd_below(8); len > 0 && !r->null[k]; len--)
			strcat(r->val[k], field_pieces[rnd_below(NPIECES)]);
	}
}

static void csv_encode(const struct row *r, struct fa_buf *b)
{
	const char *v, *s;
	size_t k;

	for (k = 0; k < r->n; k++) {
		v = r->val[k];
		if (k)
			fa_buf_putc(b, ',');
		if (r->null[k])
			continue;
		if (*v && !strpbrk(v, ",\"\r\n") && rnd_below(4)) {
			fa_buf_puts(b, v);
			continue;
		}
		fa_buf_putc(b, '"');
		for (s = v; *s; s++) {
			if (*s == '"')
				fa_buf_putc(b, '"');
			fa_buf_putc(b, *s);
		}
		fa_buf_putc(b, '"');
	}
}

static void text_encode_char(char c, struct fa_buf *b)
{
	switch (c) {
	case '\\': fa_buf_puts(b, "\\\\"); return;
	case '\t': fa_buf_puts(b, rnd_below(2) ? "\\t" : "\\\t"); return;
	case '\r': fa_buf_puts(b, rnd_below(2) ? "\\r" : "\\015"); return;
	case '\n': fa_buf_puts(b, rnd_below(2) ? "\\n" : "\\\n"); return;
	}
	if (c == 'a' && rnd_below(2))
		fa_buf_puts(b, rnd_below(2) ? "\\x61" : "\\141");
	else if (c == 'b' && rnd_below(2))
		fa_buf_puts(b, "\\x62");
	else
		fa_buf_putc(b, c);
}

static void text_encode(const struct row *r, struct fa_buf *b)
{
	const char *s;
	size_t k;

	for (k = 0; k < r->n; k++) {
		if (k)
			fa_buf_putc(b, '\t');
		if (r->null[k]) {
			fa_buf_puts(b, "\\N");
			continue;
		}
		for (s = r->val[k]; *s; s++)
			text_encode_char(*s, b);
	}
}

/* Checks the records of a batch against rows[*next..]. */
static void check_batch(const struct fa_rec_opts *o, const char *b, size_t n,
			uint64_t line, const struct row *rows, size_t nrows,
			const uint64_t *row_line, size_t *next)
{
	struct fa_rec_iter it;
	struct fa_rec_span sp;
	struct fa_rec_field f[8];
	struct fa_buf scratch;
	struct fa_error err;
	const struct row *r;
	size_t nf, k;
	bool same;

	fa_buf_init(&scratch, 0);
	fa_rec_iter_init(&it, o, b, n, line);
	while (fa_rec_iter_next(&it, &sp)) {
		CHECK(*next < nrows);
		if (*next >= nrows)
			break;
		r = &rows[*next];
		CHECK(sp.line == row_line[(*next)++]);
		same = fa_rec_fields(o, b + sp.off, sp.len, sp.line, f, 8, &nf,
				     &scratch, &err) == FA_OK && nf == r->n;
		for (k = 0; same && k < nf; k++)
			same = f[k].is_null == r->null[k] &&
			       (r->null[k] || (f[k].len == strlen(r->val[k]) &&
				memcmp(f[k].ptr, r->val[k], f[k].len) == 0));
		CHECK(same);
		if (!same)
			fprintf(stderr, "  record at line %" PRIu64 "\n", sp.line);
	}
	fa_buf_release(&scratch);
}

/* Encodes random rows, scans them in random pieces and parses them back. */
static void round_trip(enum fa_rec_format format)
{
	static struct row rows[200];
	uint64_t row_line[200], line;
	struct fa_rec_opts o = opts(format, true);
	struct fa_rec_scanner s;
	struct fa_error err;
	struct fa_buf in;
	size_t nrows = 1 + rnd_below(200), k, next = 0, off = 0, used, end = 0;
	size_t mark;

	fa_buf_init(&in, 0);
	fa_buf_reset(&in);
	for (k = 0; k < nrows; k++) {
		random_row(&rows[k]);
		row_line[k] = 1;
		for (size_t j = 0; j < in.len; j++)
			row_line[k] += in.data[j] == '\n';
		mark = in.len;
		(format == FA_REC_CSV ? csv_encode : text_encode)(&rows[k], &in);
		/* the last one may go without, unless that would lose it */
		if (k + 1 < nrows || rnd_below(2) || in.len == mark)
			fa_buf_puts(&in, rnd_below(2) ? "\n" : "\r\n");
	}
	fa_rec_init(&s, &o, &err);
	while (off < in.len) {
		end += rnd_below(200);        /* never less than the last time */
		end = end > in.len ? in.len : end;
		line = s.line;
		CHECK(fa_rec_scan(&s, in.data + off, end - off, rnd_below(5), &used,
				  &err) == FA_OK);
		check_batch(&o, in.data + off, used, line, rows, nrows, row_line,
			    &next);
		off += used;
		if (used == 0 && end == in.len)
			break;
	}
	line = s.line;
	CHECK(fa_rec_finish(&s, in.data + off, in.len - off, &used, &err) == 0);
	check_batch(&o, in.data + off, used, line, rows, nrows, row_line,
		    &next);
	CHECK(next == nrows && s.records == nrows && s.offset == in.len);
	fa_buf_release(&in);
}

/*
 * Typical rows: numbers, names, a date, now and then a quoted field.  The
 * names are Latin, or with utf8 set Cyrillic (two bytes a letter).
 */
static size_t make_bench_input(struct fa_buf *b, size_t size, bool utf8)
{
	static const char *const names[] = { "Smith", "Jones", "Garcia",
		"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2",
		"\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2",
		"\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0" };
	size_t rows = 0;

	fa_buf_reset(b);
	while (b->len < size) {
		fa_buf_printf(b, "%u,%s %s,user%u@example.com,2024-%02u-%02u,",
			      rnd_below(1000000), names[rnd_below(3) + (utf8 ? 3 : 0)],
			      names[rnd_below(3) + (utf8 ? 3 : 0)], rnd_below(100000),
			      1 + rnd_below(12), 1 + rnd_below(28));
		if (rnd_below(4) == 0)
			fa_buf_puts(b, "\"Some text, with a comma\"");
		else
			fa_buf_printf(b, "%u.%02u", rnd_below(10000), rnd_below(100));
		fa_buf_puts(b, "\n");
		rows++;
	}
	return rows;
}

/* Scans b in 1 MiB reads, as fa-copy would; returns MB/s. */
static double bench(const struct fa_rec_opts *o, const struct fa_buf *b,
		    size_t rows, int rounds)
{
	struct fa_rec_scanner s;
	struct fa_error err;
	size_t off, end, used;
	double t0 = now();
	int k;

	for (k = 0; k < rounds; k++) {
		fa_rec_init(&s, o, &err);
		for (off = 0, end = 0; end < b->len; off += used) {
			end = end + (1 << 20) > b->len ? b->len : end + (1 << 20);
			CHECK(fa_rec_scan(&s, b->data + off, end - off, 0, &used,
					  &err) == FA_OK);
		}
		CHECK(s.records == rows && off == b->len);
	}
	return (double)b->len * rounds / (now() - t0) / 1e6;
}

static void test_throughput(void)
{
	struct fa_buf b;
	struct fa_rec_opts o;
	size_t rows;

	fa_buf_init(&b, 0);
	rows = make_bench_input(&b, 32 << 20, false);
	o = opts(FA_REC_CSV, true);
	printf("test_csvrec: scan CSV, UTF-8 check:      %8.0f MB/s\n",
	       bench(&o, &b, rows, 4));
	o.validate_utf8 = false;
	printf("test_csvrec: scan CSV, no UTF-8 check:   %8.0f MB/s\n",
	       bench(&o, &b, rows, 4));
	o = opts(FA_REC_TEXT, true);
	o.delim = ',';
	printf("test_csvrec: scan text, UTF-8 check:     %8.0f MB/s\n",
	       bench(&o, &b, rows, 4));
	rows = make_bench_input(&b, 32 << 20, true);
	o = opts(FA_REC_CSV, true);
	printf("test_csvrec: scan CSV, Cyrillic names:   %8.0f MB/s\n",
	       bench(&o, &b, rows, 4));
	fa_buf_release(&b);
}

int main(int argc, char **argv)
{
	uint64_t seed = rnd_seed("test_csvrec", argc, argv);
	int k;

	/* mixed as before, so that old seeds replay */
	rng_state = seed * 2654435761u + 1;
	fa_buf_init(&got, 0);
	fa_buf_init(&want, 0);
	test_csv_records();
	test_csv_escape();
	test_unterminated();
	test_max_records();
	test_resume();
	test_text_records();
	test_utf8();
	test_csv_fields();
	test_text_fields();
	test_field_memory();
	test_options();
	test_against_reference();
	test_utf8_random();
	for (k = 0; k < 300; k++) {
		round_trip(FA_REC_CSV);
		round_trip(FA_REC_TEXT);
	}
	test_throughput();
	fa_buf_release(&got);
	fa_buf_release(&want);
	return check_report("test_csvrec");
}
