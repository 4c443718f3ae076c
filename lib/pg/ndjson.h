/*
 * ndjson: NDJSON lines to PostgreSQL COPY text-format rows.  No I/O.
 *
 * fa-copy loads newline-delimited JSON: one object per line, whose keys
 * name table columns.  The caller describes the target columns once, then
 * hands over one line at a time (without its '\n'; a trailing '\r' is
 * whitespace) and gets back a COPY TEXT row: tab-separated, \N for NULL,
 * backslash, tab, newline and carriage return escaped, '\n' at the end.
 *
 *	struct fa_ndjson m;
 *	uint64_t *present = calloc(FA_NDJSON_WORDS(ncols), sizeof(uint64_t));
 *	if (fa_ndjson_init(&m, cols, ncols, strict, &err) != FA_OK) ...;
 *	while (read a line) {
 *		rc = fa_ndjson_parse(&m, line, len, present, &err);
 *		if (rc < 0) report("line %d, %s", lineno, err.msg);
 *		if (rc <= 0) continue;          (0: blank line, skipped)
 *		pick the COPY batch whose column set equals present;
 *		fa_ndjson_emit(&m, true, &batch->buf, &err);
 *	}
 *	fa_ndjson_release(&m);
 *
 * The present set is a bitset of FA_NDJSON_WORDS(ncols) 64-bit words:
 * bit i % 64 of word i / 64 is set when the line had a key for column i
 * (an explicit null counts as present: NULL, not the default).  Unused
 * high bits are zero, so two sets compare equal with memcmp() and the
 * words can be hashed as they are; any column count works.  Emitting only
 * the present columns and running COPY with that column list lets the
 * server fill the defaults of the missing ones.  fa_ndjson_row() is the
 * one-call form that emits every column, missing ones as NULL.
 *
 * Value mapping, per column type (OIDs as in pg_type):
 *   string   the decoded text; in a json (114) or jsonb (3802) column the
 *            JSON string literal, quotes and escapes as written
 *   number   the literal exactly as written (12345678901234567890 and 0.1
 *            arrive unchanged; the server parses them for the column type)
 *   true     t in a bool (16) column, else the JSON literal true (what ->>
 *            gives, so text columns read naturally); false likewise
 *   null     NULL
 *   object,  compact JSON text (whitespace outside strings removed, keys,
 *   array    order, escapes and numbers as written), whatever the column
 *            type: the server decides whether it fits
 *
 * Keys match column names exactly, byte for byte after JSON unescaping,
 * case-sensitive, as PostgreSQL stores them (an unquoted identifier is
 * stored lower-case).  A key that is no column is ignored, or an error in
 * strict mode.  A repeated key that names a column is an error: jsonb
 * would keep the last value silently, but in a bulk load a repeated key is
 * more likely a bug upstream than a correction.  Repeats of ignored keys,
 * and inside nested values, are not checked (jsonb keeps the last).
 *
 * The whole line is validated as RFC 8259 JSON in UTF-8, nested values
 * too, with two PostgreSQL rules added: a \u escape must not be a lone
 * surrogate, and \u0000 cannot go into a non-json column (json keeps
 * it; jsonb will refuse it).  The parser is hand-written rather than
 * jansson because jansson keeps neither number text nor big integers.
 *
 * Errors are FA_EINPUT with a message naming the 1-based byte offset in
 * the line and, where there is one, the column: 'column "level" at byte
 * 37: duplicate key', 'byte 12: invalid JSON: expected ':' after a key'.
 * The caller adds the line number.  Output that would pass the out
 * buffer's cap is FA_ENOMEM; out is then left as it was before the call.
 *
 * Ownership: the caller owns m, cols (copied at init), the present words
 * and out.  After fa_ndjson_parse() the struct points into line, which
 * must stay valid and unchanged until the last fa_ndjson_emit() for it.
 * Nothing is allocated per line.  A struct fa_ndjson is not thread-safe;
 * use one per thread.
 */
#ifndef FA_NDJSON_H
#define FA_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* The number of uint64_t words in a present set for ncols columns. */
#define FA_NDJSON_WORDS(ncols) (((size_t)(ncols) + 63) / 64)

/* Type OIDs the mapping treats specially (pg_type.oid). */
enum {
	FA_NDJSON_BOOL = 16,
	FA_NDJSON_JSON = 114,
	FA_NDJSON_JSONB = 3802,
};

struct fa_ndjson_col {
	const char *name;       /* column name as stored, NUL-terminated */
	unsigned int type;      /* type OID; only bool, json, jsonb matter */
};

struct fa_ndjson_val;           /* private: a value's span in the line */

/* The fields are private except those marked read-only or settable. */
struct fa_ndjson {
	int ncols;              /* read-only */
	bool strict_extra;      /* settable: a key naming no column fails */
	struct fa_ndjson_col *cols;
	size_t *name_len;
	int *slots;             /* open-addressing hash: column index or -1 */
	unsigned int mask;
	size_t max_name;
	char *key;              /* scratch for keys with escapes */
	struct fa_ndjson_val *vals;
	uint64_t *present;
	const char *line;
};

/*
 * Sets up m for rows of the ncols columns in cols (names are copied).
 * FA_EUSAGE when ncols < 1 or a name is listed twice, FA_ENOMEM when
 * malloc fails; err says which.  Release m with fa_ndjson_release().
 */
enum fa_err fa_ndjson_init(struct fa_ndjson *m,
			   const struct fa_ndjson_col *cols, int ncols,
			   bool strict_extra, struct fa_error *err);

/* Frees what init allocated; m can be set up again with init. */
void fa_ndjson_release(struct fa_ndjson *m);

/*
 * Parses one line and records its values.  Returns 1 for a row, 0 for a
 * blank line (empty or only JSON whitespace; nothing recorded), -1 with
 * err filled (FA_EINPUT) for anything else.  present, when not NULL,
 * receives FA_NDJSON_WORDS(ncols) words (see above).
 */
int fa_ndjson_parse(struct fa_ndjson *m, const char *line, size_t len,
		    uint64_t *present, struct fa_error *err);

/*
 * Appends the COPY row of the last line parsed: every column (missing ones
 * as \N), or with only_present the present columns in column order, which
 * is an empty line when none was.  FA_ENOMEM past out's cap (out unchanged).
 */
enum fa_err fa_ndjson_emit(const struct fa_ndjson *m, bool only_present,
			   struct fa_buf *out, struct fa_error *err);

/*
 * fa_ndjson_parse() then fa_ndjson_emit() of every column.  Returns 1 when
 * a row was appended, 0 for a blank line, -1 with err filled on error
 * (out unchanged).
 */
int fa_ndjson_row(struct fa_ndjson *m, const char *line, size_t len,
		  struct fa_buf *out, uint64_t *present, struct fa_error *err);

/* True when column col is in the present set. */
static inline bool fa_ndjson_has(const uint64_t *present, int col)
{
	return (present[col / 64] >> (col % 64)) & 1;
}

#endif
