/*
 * json: a small, fast JSON writer over struct fa_buf.
 *
 * This is the encoding half of JSON only: it appends tokens to a caller's
 * buffer and never parses.  Strings are written in one pass that copies
 * runs of bytes needing no escape with a single memcpy, so long ASCII or
 * UTF-8 values cost little more than a copy.
 *
 *	struct fa_buf b;
 *	fa_buf_init(&b, 1 << 20);
 *	fa_buf_putc(&b, '{');
 *	fa_json_put_key(&b, "name", 4);
 *	fa_json_put_string(&b, val, len);
 *	fa_buf_putc(&b, '}');
 *
 * Output is always valid JSON text encoded in UTF-8, whatever the input
 * bytes: valid UTF-8 passes through unchanged (U+2028 and U+2029 too, as
 * JSON allows), and each byte that does not start a valid UTF-8 sequence
 * becomes the escape \ufffd.  The caller owns the buffer; every function
 * returns FA_ENOMEM when the buffer's cap would be passed, and may then
 * have appended part of the token.
 */
#ifndef FA_JSON_H
#define FA_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/*
 * Appends s[0..len) as a quoted JSON string.  " and \ are escaped, control
 * characters below 0x20 become \n \t \r \b \f or \u00XX, invalid UTF-8
 * bytes become \ufffd one for one.  s need not be NUL-terminated.
 */
enum fa_err fa_json_put_string(struct fa_buf *b, const char *s, size_t len);

/* Appends an object key: the quoted, escaped name followed by ':'. */
enum fa_err fa_json_put_key(struct fa_buf *b, const char *name, size_t len);

/*
 * True when s[0..len) is exactly a JSON number (RFC 8259 grammar: no
 * leading '+', no leading zeros, no "NaN" or "Infinity"), so it may be
 * appended raw.
 */
bool fa_json_is_number(const char *s, size_t len);

/*
 * Decodes one UTF-8 sequence at s (n bytes available).  Returns its length
 * (1 to 4) and stores the code point in *cp, or returns 0 when the bytes
 * are not a valid, shortest-form sequence of a Unicode scalar value
 * (overlong forms, surrogates and values above U+10FFFF are invalid).
 * Shared with lib/core/fmt, which measures display widths.
 */
int fa_json_utf8_decode(const char *s, size_t n, unsigned int *cp);

#endif
