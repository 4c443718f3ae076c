/*
 * pgbinary: PostgreSQL binary COPY encoding of text values, without I/O.
 *
 * fa-copy reads CSV/TSV/NDJSON text.  When it knows the target columns'
 * types it can load with COPY ... FROM STDIN WITH (FORMAT binary), which
 * the server takes without parsing text (about twice as fast on
 * PostgreSQL 15).  This module turns one text value, as the type's text
 * input function would receive it (after CSV or COPY text unescaping),
 * into the bytes the type's binary receive function expects.  It parses
 * as strictly as the server's input function, so a value the server would
 * reject is rejected here first, with the server's own message, and the
 * loader can drop that row exactly as the server would have refused it.
 *
 *	struct fa_buf out;
 *	fa_buf_init(&out, 64 << 20);
 *	fa_pgbin_header(&out);
 *	for each row:
 *		size_t mark = out.len;
 *		fa_pgbin_row_begin(&out, ncols);
 *		for each column:
 *			rc = fa_pgbin_field(&out, oid[c], text, len, is_null, &err);
 *			FA_EINPUT: the server would reject the value: drop the
 *			    row (out.len = mark) and report err.msg with the line
 *			    and column name
 *			FA_EUSAGE: the value cannot be encoded faithfully here
 *			    (its meaning depends on session settings or on the
 *			    server version): send it through text COPY instead
 *	fa_pgbin_trailer(&out);
 *	send out.data, out.len as the COPY data
 *
 * The caller owns out; this module only appends to it, allocates nothing
 * else (the buffer grows, amortised, never per field) and keeps no state,
 * so separate buffers may be filled from separate threads.  When a call
 * fails, out is left as it was before that call.
 *
 * Assumptions, all true for fa-copy: the connection's client_encoding is
 * UTF8 (text is checked as the server checks it), LC_NUMERIC is "C"
 * (floats go through strtod()/strtof() exactly as the server parses them)
 * and the server has the default NAMEDATALEN of 64.  Type modifiers
 * (varchar(n), char(n), numeric(p,s), timestamp(p)) need nothing here:
 * the server applies them to binary input exactly as to text input.
 *
 * Supported types and what falls back (FA_EUSAGE) rather than guessing:
 *   bool, int2, int4, int8, oid, float4, float8, numeric (NaN, ±Infinity);
 *     integer and numeric spellings only PostgreSQL 16+ accepts (0x1F,
 *     1_000) and a numeric exponent after blanks ("1e 5", PostgreSQL 15
 *     only) fall back
 *   text, varchar, bpchar, name (clipped to 63 bytes as the server does),
 *     bytea (hex "\x..." and escape formats), uuid, json, jsonb
 *     (validated; nesting deeper than 4096 falls back; so do surrogate
 *     escapes in json that versions may treat differently)
 *   date, timestamp, timestamptz: "YYYY-MM-DD", optionally followed by
 *     " " or "T", "HH:MM[:SS[.frac]]" and an offset (+05, +05:30, +0530,
 *     Z, UTC), and the words infinity, -infinity and epoch.  Every other
 *     spelling (month names, DateStyle-dependent orders, BC, today, zone
 *     names) falls back, and so does a timestamptz without an offset: its
 *     meaning depends on the session TimeZone, which a client cannot know
 *     reliably.
 * Not supported (fa_pgbin_supported() is false): interval, whose input
 * depends on IntervalStyle and has too many spellings, and every other
 * type.
 */
#ifndef FA_PGBINARY_H
#define FA_PGBINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Type OIDs of the supported types, as in PostgreSQL's pg_type. */
enum fa_pgbin_type {
	FA_PGBIN_BOOL = 16,
	FA_PGBIN_BYTEA = 17,
	FA_PGBIN_NAME = 19,
	FA_PGBIN_INT8 = 20,
	FA_PGBIN_INT2 = 21,
	FA_PGBIN_INT4 = 23,
	FA_PGBIN_TEXT = 25,
	FA_PGBIN_OID = 26,
	FA_PGBIN_JSON = 114,
	FA_PGBIN_FLOAT4 = 700,
	FA_PGBIN_FLOAT8 = 701,
	FA_PGBIN_BPCHAR = 1042,
	FA_PGBIN_VARCHAR = 1043,
	FA_PGBIN_DATE = 1082,
	FA_PGBIN_TIMESTAMP = 1114,
	FA_PGBIN_TIMESTAMPTZ = 1184,
	FA_PGBIN_NUMERIC = 1700,
	FA_PGBIN_UUID = 2950,
	FA_PGBIN_JSONB = 3802,
};

/* True when values of the type with this OID can be encoded here. */
bool fa_pgbin_supported(unsigned int type_oid);

/* Appends the 19-byte file header (signature, flags, no extension).
 * FA_ENOMEM when out is at its cap. */
enum fa_err fa_pgbin_header(struct fa_buf *out);

/* Appends the end-of-data marker. FA_ENOMEM when out is at its cap. */
enum fa_err fa_pgbin_trailer(struct fa_buf *out);

/* Starts a tuple of nfields fields, which must then be appended one by
 * one.  FA_EUSAGE when nfields is not in 0..32767, FA_ENOMEM at the cap. */
enum fa_err fa_pgbin_row_begin(struct fa_buf *out, int nfields);

/*
 * Appends one field: SQL NULL when is_null (text is then ignored and may
 * be NULL), else the len bytes of text encoded for type_oid.  Returns
 * FA_OK; FA_EINPUT when the server's input function would reject the
 * value, with its message in err (e.g. invalid input syntax for type
 * integer: "12,5"); FA_EUSAGE when the type or this spelling of the value
 * cannot be encoded faithfully (send it as text); FA_ENOMEM at out's cap.
 * On failure out is unchanged.  err may be NULL.
 */
enum fa_err fa_pgbin_field(struct fa_buf *out, unsigned int type_oid,
			   const char *text, size_t len, bool is_null,
			   struct fa_error *err);

#endif
