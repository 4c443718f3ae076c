/*
 * proc: child processes that speak over pipes (an MCP server on stdio).
 *
 * A command line is split as a shell splits it (quotes and backslashes,
 * no expansions) and run without a shell, in a process group of its own,
 * with pipes for its stdin and stdout; its stderr passes through or goes
 * to /dev/null.  It is stopped the way the MCP lifecycle asks: stdin
 * closed, a wait, SIGTERM, a wait, SIGKILL.  Nothing here touches the
 * event loop: the caller adds the pipes to its own.
 *
 *	int n;
 *	char **argv = fa_proc_split("fa-mcp serve 'my tools.sql'", &n);
 *	struct fa_proc p;
 *	if (fa_proc_spawn(&p, argv, NULL, 0, false, &err)) ...;
 *	fa_proc_argv_free(argv);
 *	... write(p.in, ...), read(p.out, ...) ...
 *	fa_proc_stop(&p, 2000, &status);
 */
#ifndef FA_PROC_H
#define FA_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"

struct fa_proc {
	pid_t pid;              /* 0 once reaped */
	int in;                 /* the child's stdin, ours to write; -1 when closed */
	int out;                /* the child's stdout, ours to read; -1 when closed */
};

/*
 * Splits s into words as sh does for quoting (quotes, backslashes; no
 * expansions): a NULL-terminated array of *n words, each malloc'd, which
 * the caller frees with fa_proc_argv_free(); NULL on an open quote.
 */
char **fa_proc_split(const char *s, int *n);

/* Frees what fa_proc_split() returned; NULL is fine. */
void fa_proc_argv_free(char **argv);

/*
 * Starts argv[0] (looked up in PATH) with argv, the nenv "NAME=value"
 * strings of env added to the environment, and stderr to /dev/null when
 * quiet.  Both pipes are close-on-exec and blocking; the caller sets
 * O_NONBLOCK if it wants.  FA_ECONNECT naming argv[0] when it cannot be
 * started (not found, not executable).
 */
enum fa_err fa_proc_spawn(struct fa_proc *p, char *const *argv, char **env, int nenv,
			  bool quiet, struct fa_error *err);

/* Waits up to ms for the child to end, reaping it; true when it has. */
bool fa_proc_reaped(struct fa_proc *p, int ms, int *status);

/*
 * Ends the child: stdin closed, up to wait_ms for it to leave, SIGTERM,
 * wait_ms more, SIGKILL, both signals to its whole process group (what a
 * shell it ran started goes too).  Its wait status in *status.  Closes out
 * too.
 */
void fa_proc_stop(struct fa_proc *p, int wait_ms, int *status);

#endif
