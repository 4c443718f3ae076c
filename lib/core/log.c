#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

/* Set once at start-up, before any thread exists. */
static const char *log_prog = "fa";
static enum fa_log_level log_level = FA_LOG_INFO;

void fa_log_init(const char *prog, enum fa_log_level level)
{
	log_prog = prog;
	log_level = level;
}

const char *fa_log_prog(void)
{
	return log_prog;
}

void fa_log(enum fa_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error: ", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s", log_prog, names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per message, so concurrent threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}
