/*
 * fa-pg internals: the session shared by the script runner, the
 * interactive shell and the meta-commands.
 */
#ifndef FAPG_H
#define FAPG_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fmt.h"
#include "pg/pgconn.h"
#include "pg/pgtypes.h"
#include "core/stats.h"
#include "reconnect.h"
#include "vars.h"

#define OUT_FLUSH_AT (64 * 1024)
#define TABLE_CHUNK_ROWS 100000

/* Latency samples kept per statement text for \timing summaries. */
struct stmt_timing {
	char *text;
	struct fa_hist hist;
};

struct session {
	char *const *envp;
	struct fa_pg_target target;
	PGconn *conn;
	struct fa_pgtypes *types;       /* json: result types, for conn's database */
	struct fa_pg_target types_target; /* where types looks them up: conn's settings */
	struct vars vars;

	struct fa_fmt_opts fmt;         /* \pset and -F, -x, -t */
	char fmt_null[64];
	int out_fd;                     /* 1, or the \o file */
	struct fa_buf out;
	bool use_pager;                 /* interactive, stdout a terminal */
	FILE *pager;                    /* open while a tall result is paged */

	bool interactive;
	bool quiet;
	bool echo;
	bool timing;
	bool continue_on_error;
	bool single_txn;
	int jobs;                       /* -j, and \parallel */
	bool pipeline;
	long batch;                     /* statements per pipeline sync */

	int nparams;                    /* positional parameters for $1... */
	const char *const *params;

	FILE *script;                   /* where COPY FROM STDIN reads data */
	char *last_query;               /* for \g and \watch with an empty buffer */
	char *last_error_verbose;       /* for \errverbose */

	struct stmt_timing *timings;
	int ntimings;

	/* A lost connection (reconnect.c) */
	struct saved_settings settings; /* the shell's copy, put back after a reset */
	PGTransactionStatusType txn;    /* when the last statement was sent */
	bool lost;                      /* lost, and no reset tried since */
	bool reset_failed;              /* the last reset failed: the next statement tries */
	const char *lost_note;          /* what the loss did to a transaction, not yet said */
};

/* Set by the SIGINT handler; a running query is cancelled through cancel. */
extern volatile sig_atomic_t interrupted;
void cancel_arm(PGconn *c);
void cancel_disarm(void);

/* Where timing and echo lines go: stdout, but stderr for json/ndjson. */
void out_note(struct session *s, const char *text, size_t n);

/* Output (stdout or \o), buffered; flushed at OUT_FLUSH_AT and at the end. */
void out_write(struct session *s, const void *p, size_t n);
void out_flush(struct session *s);
/* Ends a statement's output: flushes it and closes the pager, if any. */
void out_end(struct session *s);
/* Reads the terminal's size into the session (expanded auto, pager). */
void session_term_size(struct session *s);

/*
 * The shell: says the connection was lost and resets it as psql does,
 * then restores the saved settings.  FA_OK, FA_ECONNECT when the reset
 * failed, FA_EWORK when a setting could not be restored.
 */
enum fa_err session_reset(struct session *s);
/* The shell: resets first when the connection is lost; FA_OK elsewhere. */
enum fa_err session_ready(struct session *s);

/* Resolves where to connect, announcing an embedded start on stderr. */
enum fa_err session_target(struct session *s, const char *db, struct fa_error *err);

/*
 * Connects the session's main connection; FA_ECONNECT with a message in err.
 */
enum fa_err session_connect(struct session *s, struct fa_error *err);

/*
 * Runs one statement on the main connection and prints its results.
 * where ("file:line") prefixes error messages, or NULL.  Returns FA_OK,
 * FA_EWORK on an SQL error, FA_ECONNECT when the connection is lost (a
 * script is told which statement's outcome is unknown; the shell resets
 * after the line), FA_EINTR when cancelled by Ctrl-C.
 */
enum fa_err run_statement(struct session *s, const char *sql, const char *where);

/* Prints one result (rows, command tag or error) to the session output. */
enum fa_err print_result(struct session *s, PGresult *res, const char *sql,
			 const char *where, struct fa_fmt *f, bool *begun, long *rows);

/* Renders and prints an error result, keeping it for \errverbose. */
void report_error(struct session *s, const PGresult *res, const char *sql,
		  const char *where);

/* Records one latency for \timing summaries; the statement's histogram. */
const struct fa_hist *timing_record(struct session *s, const char *sql, double ms);
/* Appends the \timing line for one run, with p50/p99 from h when it has them. */
void timing_format(struct fa_buf *b, double ms, const struct fa_hist *h);

/* Scripts: runs every statement and meta-command read from f. */
enum fa_err run_script(struct session *s, FILE *f, const char *name);
/* -1: runs body inside BEGIN/COMMIT, rolling back (and saying so) on failure. */
enum fa_err single_transaction(struct session *s, enum fa_err (*body)(struct session *, void *),
			       void *arg);
/* Runs the text of one -c option as a script. */
enum fa_err run_command(struct session *s, const char *sql);

/* The interactive shell on a terminal. */
enum fa_err run_shell(struct session *s);

/*
 * Meta-commands (\d, \set, ...).  cmd is the text after the backslash;
 * query is the pending query buffer (for \g, \gset, \watch), or NULL.
 * Sets *quit for \q.
 */
enum fa_err run_meta(struct session *s, const char *cmd, char **query, const char *where,
		     bool *quit);

/*
 * Runs a catalog query as a titled table; with no rows and empty_msg set,
 * prints empty_msg to stderr instead.  footer (may be NULL) follows the rows.
 */
enum fa_err meta_query(struct session *s, const char *sql, const char *title,
		       int nparams, const char *const *params, const char *empty_msg,
		       const char *footer);

/* \d and friends; cmd is the command name ("d", "dt+", ...). */
enum fa_err describe(struct session *s, const char *cmd, const char *pattern);

/* \bench [-c CONNS] [-T SECS | -n N] SQL */
enum fa_err pool_bench(struct session *s, const char *args);

/* Splits the next whitespace-separated argument off *p, honouring '...' quotes. */
char *meta_arg(const char **p);

/* True for the meta-commands that use up the query buffer (\\g, \\r...). */
bool meta_takes_buffer(const char *cmd);

/* Sets *np to the statement's highest $n; FA_EUSAGE (said on stderr) past the operands. */
enum fa_err check_params(const struct session *s, const char *sql, const char *where, int *np);


#endif
