/*
 * log: leveled diagnostics on stderr, prefixed with the program name.
 *
 * The tools call fa_log_init() once; library code logs through fa_log()
 * only for events a caller cannot otherwise see (never for errors it
 * returns).  Primary output never goes through here.
 */
#ifndef FA_LOG_H
#define FA_LOG_H

enum fa_log_level { FA_LOG_ERROR, FA_LOG_WARN, FA_LOG_INFO, FA_LOG_DEBUG };

/* Sets the prefix ("fa-pg") and the most verbose level printed. */
void fa_log_init(const char *prog, enum fa_log_level level);

void fa_log(enum fa_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The program name given to fa_log_init(), for messages built elsewhere. */
const char *fa_log_prog(void);

#endif
