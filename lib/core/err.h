/*
 * err: the one error enumeration of libfa.
 *
 * Every library function that can fail returns an enum fa_err and, where
 * a message helps, fills a caller-owned struct fa_error.  The numeric
 * values are also the exit statuses of every fa binary, so scripts can
 * rely on them; each man page lists them under EXIT STATUS.
 */
#ifndef FA_ERR_H
#define FA_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum fa_err {
	FA_OK = 0,
	FA_EWORK = 1,       /* the work failed: SQL error, rows rejected, peer error */
	FA_EUSAGE = 2,      /* bad flag, bad argument */
	FA_ECONNECT = 3,    /* cannot connect, or the connection was lost */
	FA_EINPUT = 4,      /* input unreadable or malformed */
	FA_ENOMEM = 5,      /* a configured memory limit was hit, or malloc failed */
	FA_ETHRESHOLD = 6,  /* fa-bench: a --threshold or --max-regress limit was not met */
	FA_EINTR = 130,     /* interrupted by SIGINT or SIGTERM */
};

/* A message slot owned by the caller; library functions fill it on error. */
struct fa_error {
	enum fa_err code;
	char msg[1024];
};

/* Sets err->code and formats the message (no trailing newline); returns code. */
enum fa_err fa_error_set(struct fa_error *err, enum fa_err code,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum fa_err fa_error_setv(struct fa_error *err, enum fa_err code,
			  const char *fmt, va_list ap);

/* Clears a slot before reuse. */
void fa_error_clear(struct fa_error *err);

/* A short name for an error code, as listed in the man pages. */
const char *fa_err_name(enum fa_err code);

#endif
