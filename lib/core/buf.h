/*
 * buf: a growable byte buffer with a hard cap.
 *
 * Every buffer that grows from network or file input has a limit; going
 * past it is an error (FA_ENOMEM), never a crash.  The contents are always
 * NUL-terminated so they can be used as a C string when no NUL was
 * appended.
 *
 *	struct fa_buf b;
 *	fa_buf_init(&b, 1 << 20);
 *	if (fa_buf_append(&b, data, n) != FA_OK) ...;
 *	use(b.data, b.len);
 *	fa_buf_release(&b);
 *
 * The buffer owns b.data until fa_buf_release(), or until fa_buf_detach()
 * hands it to the caller ("you now own the storage").
 */
#ifndef FA_BUF_H
#define FA_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

struct fa_buf {
	char *data;     /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;     /* hard limit on len; 0 means SIZE_MAX/2 */
};

/* Sets up an empty buffer that may hold at most max bytes. */
void fa_buf_init(struct fa_buf *b, size_t max);

/* Frees the storage; the buffer can be reused after fa_buf_init(). */
void fa_buf_release(struct fa_buf *b);

/* Empties the buffer, keeping its storage for reuse. */
void fa_buf_reset(struct fa_buf *b);

/* Makes room for n more bytes; FA_ENOMEM past the cap or on malloc failure. */
enum fa_err fa_buf_grow(struct fa_buf *b, size_t n);

enum fa_err fa_buf_append(struct fa_buf *b, const void *p, size_t n);
enum fa_err fa_buf_puts(struct fa_buf *b, const char *s);
enum fa_err fa_buf_putc(struct fa_buf *b, char c);
enum fa_err fa_buf_printf(struct fa_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum fa_err fa_buf_vprintf(struct fa_buf *b, const char *fmt, va_list ap);

/* Removes the first n bytes, moving the rest to the front. */
void fa_buf_consume(struct fa_buf *b, size_t n);

/* Returns the storage, which the caller now owns and frees; empties b. */
char *fa_buf_detach(struct fa_buf *b, size_t *len);

#endif
