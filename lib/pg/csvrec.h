/*
 * csvrec: splits CSV, TSV and PostgreSQL text-format input into records,
 * and records into fields, for bulk loads.  It does no I/O.
 *
 * fa-copy reads input in large chunks and sends it to COPY in batches that
 * must end on record boundaries: a quoted CSV field may hold newlines, so
 * a line splitter would cut such a record in two.  The scanner finds the
 * boundaries 16 bytes at a time (SSE2; 8 in a word elsewhere), counts
 * physical lines so that errors can say "line N", and can validate UTF-8
 * on the way.  It keeps no
 * per-record data: when a batch fails, fa_rec_iter walks that batch again
 * to get each record's offset, length and line.
 *
 *	struct fa_rec_scanner s;
 *	fa_rec_opts_init(&o, FA_REC_CSV);  (then change o.delim and so on)
 *	if (fa_rec_init(&s, &o, &err)) usage error;
 *	while (read more into buf after the kept tail) {
 *		first_line = s.line;
 *		rc = fa_rec_scan(&s, buf, len, max_rows, &used, &err);
 *		send buf[0..used) as a batch (first record on first_line);
 *		keep buf[used..len) as the tail, at the front of buf;
 *		if (rc) report err.msg and stop;
 *		if (s.end_marker) stop;            (text format "\.")
 *	}
 *	rc = fa_rec_finish(&s, tail, tail_len, &used, &err);
 *	send tail[0..used) as the last batch;
 *
 * Each call resumes where the last one stopped, so the tail is not scanned
 * again; the caller must pass it unchanged at the front of data.  Records
 * end at LF or CRLF outside quotes.  The rules are those of PostgreSQL's
 * COPY FROM, so that a batch split here is a batch COPY accepts: in CSV a
 * quote character opens or closes quoting anywhere in a field, and a bare
 * CR outside quotes is data (COPY rejects it: files with CR-only line ends
 * are not supported); in text format a backslash escapes the next byte,
 * newline included, and "\." alone on a line ends the data.  "\." followed
 * by a newline after other data on its line is an error, as in PostgreSQL
 * 18 (older servers silently stop there).
 *
 * Ownership: all input is borrowed and nothing is allocated, except the
 * caller's scratch buffer that fa_rec_fields() grows for decoded fields.
 */
#ifndef FA_CSVREC_H
#define FA_CSVREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_rec_format {
	FA_REC_CSV,     /* RFC 4180, as COPY ... (FORMAT csv) reads it */
	FA_REC_TEXT,    /* COPY's text format; TSV is text with a tab delimiter */
};

struct fa_rec_opts {
	enum fa_rec_format format;
	char delim;             /* ',' for CSV, tab for text */
	char quote;             /* CSV only: '"' */
	char escape;            /* CSV only, inside quotes: '"', so "" is one " */
	bool validate_utf8;     /* report invalid UTF-8 and NUL bytes (default) */
	const char *null_str;   /* fields: the raw text of NULL; CSV "" (unquoted
				   only), text "\N"; borrowed */
};

/* The fields are private except those marked read-only. */
struct fa_rec_scanner {
	struct fa_rec_opts opts;
	uint64_t line;          /* read-only: physical line (from 1) where the
				   next record starts */
	uint64_t records;       /* read-only: complete records so far */
	uint64_t offset;        /* read-only: input bytes consumed so far */
	bool end_marker;        /* read-only: text-format "\." ended the data */

	size_t pos;             /* how far into the pending record it got */
	uint64_t pos_line;      /* the line at pos */
	uint64_t quote_line;    /* where the open quoted field began */
	bool in_quotes;
	uint64_t stop_word[4];  /* bytes the fast search stops at, 8 times */
	uint64_t stop_high;     /* 0x80 in every byte when validating, else 0 */
};

/* One record of a batch, as fa_rec_iter_next() yields it. */
struct fa_rec_span {
	size_t off;             /* where it starts in the batch */
	size_t len;             /* its bytes, without the LF or CRLF that ends it */
	size_t size;            /* len plus that terminator */
	uint64_t line;          /* physical line it starts on */
};

/* Walks the records of a batch again; all fields private. */
struct fa_rec_iter {
	struct fa_rec_scanner s;
	const char *data;
	size_t n, off;
};

/* One parsed field: ptr points into the record or into the scratch buffer. */
struct fa_rec_field {
	const char *ptr;
	size_t len;
	bool is_null;
};

/* Fills o with the defaults for format, validate_utf8 on. */
void fa_rec_opts_init(struct fa_rec_opts *o, enum fa_rec_format format);

/*
 * Sets up a scanner the caller owns, copying o (null_str stays borrowed).
 * FA_EUSAGE when the options are ones PostgreSQL refuses: delimiter, quote
 * and escape must be ASCII other than CR and LF, delimiter and quote must
 * differ, the null string must not hold the delimiter, quote, CR or LF.
 */
enum fa_err fa_rec_init(struct fa_rec_scanner *s, const struct fa_rec_opts *o,
			struct fa_error *err);

/*
 * Scans data[0..n), which starts with all of the tail the last call left
 * (new bytes go after it), and sets
 * *used to the bytes of the complete records in it (at most max_records of
 * them, 0: no limit), which s->records counts.  FA_EINPUT on invalid UTF-8
 * ("line L, byte B: invalid UTF-8 sequence 0x..", B counted from 0 at the
 * start of the input), a NUL byte or a misplaced "\."; *used then still
 * covers the good records before the bad one, and s must be set up again
 * before reuse.
 * Once s->end_marker is set, *used is always 0.
 */
enum fa_err fa_rec_scan(struct fa_rec_scanner *s, const char *data, size_t n,
			size_t max_records, size_t *used,
			struct fa_error *err);

/*
 * Ends the input: scans tail[0..n) like fa_rec_scan() without a limit and
 * takes what is left, without a final newline, as the last record.
 * *used is n unless an end marker stops it early.  FA_EINPUT "unterminated
 * quoted field starting at line N" when the input ends inside quotes.
 */
enum fa_err fa_rec_finish(struct fa_rec_scanner *s, const char *tail, size_t n,
			  size_t *used, struct fa_error *err);

/*
 * Walks batch[0..n), records that a scan accepted and whose first starts on
 * first_line, without validating again; the batch is borrowed.  A record
 * without a final newline is the batch's last one.
 */
void fa_rec_iter_init(struct fa_rec_iter *it, const struct fa_rec_opts *o,
		      const char *batch, size_t n, uint64_t first_line);

/* Fills *span with the next record; false when there is none. */
bool fa_rec_iter_next(struct fa_rec_iter *it, struct fa_rec_span *span);

/*
 * Splits rec[0..len) (one record without its line terminator) into at most
 * max fields and sets *nfields, with COPY's rules: CSV quotes removed and
 * text-format escapes decoded, NULL where the raw field is o->null_str (in
 * CSV an unquoted one only).  Fields needing no decoding point into rec,
 * the others into scratch, which is emptied first: both must outlive the
 * fields.  FA_EINPUT "line L: more than N fields" or an unterminated quote;
 * FA_ENOMEM when rec does not fit under scratch's cap.
 */
enum fa_err fa_rec_fields(const struct fa_rec_opts *o, const char *rec,
			  size_t len, uint64_t line, struct fa_rec_field *fields,
			  size_t max, size_t *nfields, struct fa_buf *scratch,
			  struct fa_error *err);

#endif
