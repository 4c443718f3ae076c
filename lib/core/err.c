#include "core/err.h"

#include <stdio.h>

enum fa_err fa_error_setv(struct fa_error *err, enum fa_err code,
			  const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

enum fa_err fa_error_set(struct fa_error *err, enum fa_err code,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fa_error_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void fa_error_clear(struct fa_error *err)
{
	err->code = FA_OK;
	err->msg[0] = '\0';
}

const char *fa_err_name(enum fa_err code)
{
	switch (code) {
	case FA_OK: return "success";
	case FA_EWORK: return "the work failed";
	case FA_EUSAGE: return "usage error";
	case FA_ECONNECT: return "cannot connect";
	case FA_EINPUT: return "input unreadable or malformed";
	case FA_ENOMEM: return "memory limit reached";
	case FA_ETHRESHOLD: return "threshold not met";
	case FA_EINTR: return "interrupted";
	}
	return "unknown error";
}
