/*
 * script: the runner behind -c, -f, stdin, \i and the interactive shell.
 * Lines go in; statements run (one by one, or through the batch runner
 * for -j and --pipeline) and meta-commands run in order.
 */
#ifndef FAPG_SCRIPT_H
#define FAPG_SCRIPT_H

#include "batch.h"
#include "fapg.h"
#include "pg/sqlsplit.h"

struct script {
	struct session *s;
	const char *name;               /* for "name:line" in messages; NULL in the shell */
	struct fa_sqlsplit split;
	struct fa_buf scratch;          /* the last interpolated variable */
	struct batch batch;
	enum fa_err rc;                 /* first failure, for the exit status */
	bool keep_going;                /* the shell: errors never stop it */
	bool stop;
	bool quit;                      /* \q */
};

void script_init(struct script *sc, struct session *s, const char *name);
/* Feeds one line (without its newline) and runs what it completes. */
enum fa_err script_feed(struct script *sc, const char *line, size_t n, int lineno);
/* Waits for statements handed to the batch runner and prints them. */
void script_drain(struct script *sc);
/* Runs a last statement without semicolon; reports input ending inside quotes. */
enum fa_err script_finish(struct script *sc, int lastline);

#endif
