/*
 * opt: one option table per tool, from which --help, parsing and shell
 * completion all come, so the three cannot drift apart.  Man pages are
 * hand-written; tests/docs.bats checks them against the same table.
 *
 *	static const struct fa_opt opts[] = {
 *		{ "db", 'd', FA_OPT_REQUIRED, "CONNINFO", "database to connect to", NULL },
 *		...
 *		{ 0 }
 *	};
 *	struct fa_opt_parser p;
 *	fa_opt_parser_init(&p, opts);
 *	while ((key = fa_opt_next(&p, argc, argv, &arg)) != -1) ...
 *
 * Long-only options use keys >= FA_OPT_LONG.  The table must outlive the
 * parser.  Nothing here prints: text goes into caller-owned buffers.
 */
#ifndef FA_OPT_H
#define FA_OPT_H

#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"

#define FA_OPT_LONG 256

enum fa_opt_arg { FA_OPT_NONE, FA_OPT_REQUIRED, FA_OPT_OPTIONAL };

struct fa_opt {
	const char *name;       /* long name without the dashes */
	int key;                /* short option character, or >= FA_OPT_LONG */
	enum fa_opt_arg arg;
	const char *argname;    /* "N", "FILE", ...; NULL without argument */
	const char *help;       /* one line, no trailing full stop */
	const char *words;      /* completion: space-separated choices, "@file",
				   "@dir", or NULL for free text */
};

struct fa_opt_tool {
	const char *name;       /* "fa-pg" */
	const char *usage;      /* lines after "usage: ", '\n'-separated */
	const char *summary;    /* one sentence */
	const struct fa_opt *opts;  /* terminated by an entry with name NULL */
	const char *footer;     /* text after the options, or NULL */
	const char *operands;   /* completion of the first operand, as fa_opt.words */
	const char *later;      /* completion of the operands after it */
};

struct fa_opt_parser {
	const struct fa_opt *opts;
	void *longopts;         /* struct option[], owned */
	char shortopts[256];
};

enum fa_err fa_opt_parser_init(struct fa_opt_parser *p, const struct fa_opt *opts);
void fa_opt_parser_release(struct fa_opt_parser *p);

/*
 * Returns the key of the next option (its argument in *arg), -1 when the
 * options end (optind then indexes the first operand), or '?' after an
 * unknown option or a missing argument, with the message in err.
 */
int fa_opt_next(struct fa_opt_parser *p, int argc, char **argv,
		const char **arg, struct fa_error *err);

/* Appends the --help text. */
void fa_opt_usage(const struct fa_opt_tool *t, struct fa_buf *out);

/*
 * Shell completion: given the words of the command line typed so far and
 * the index of the word under the cursor, appends candidates one per line.
 * A line "@file" or "@dir" asks the shell for its own file completion.
 */
void fa_opt_complete(const struct fa_opt_tool *t, int cword, int nwords,
		     char **words, struct fa_buf *out);

/*
 * The --complete N WORDS... protocol every tool offers: n is the index
 * of the word under the cursor among words (words[0] is the tool's name).
 * FA_EUSAGE when n is not a number.
 */
enum fa_err fa_opt_complete_arg(const struct fa_opt_tool *t, const char *n, int nwords,
				char **words, struct fa_buf *out);

/*
 * For a tool's --help and --complete: writes the usage text, or the
 * completions of fa_opt_complete_arg(), to f (the caller's stdout).
 * Returns the exit status: 0, or FA_EUSAGE for a bad n.
 */
int fa_opt_print_usage(const struct fa_opt_tool *t, FILE *f);
int fa_opt_print_completions(const struct fa_opt_tool *t, const char *n, int nwords,
			     char **words, FILE *f);

/*
 * A usage error as every tool says it, to f (the caller's stderr):
 * "NAME: msg" and a line pointing at NAME --help.  Returns FA_EUSAGE.
 */
int fa_opt_usage_error(const struct fa_opt_tool *t, const char *msg, FILE *f);

/*
 * Reads the options of argv[0..argc) with t's table and calls apply with
 * each one's key and argument.  An unknown option or a missing argument
 * is a usage error, said to f.  Returns -1 once the options end (optind
 * then indexes the first operand), or the first status >= 0 that apply
 * returned (apply returns -1 to go on).
 */
int fa_opt_each(const struct fa_opt_tool *t, int argc, char **argv,
		int (*apply)(int key, const char *arg, void *ctx), void *ctx, FILE *f);

/* Parses a whole number in [min, max] for option name; FA_EUSAGE otherwise. */
enum fa_err fa_opt_int(const char *name, const char *arg, long min, long max,
		       long *out, struct fa_error *err);

/*
 * fa_opt_int for an apply() callback: -1 (go on) with the number in *out,
 * else the usage error, said to f as fa_opt_usage_error says it.
 */
int fa_opt_number(const struct fa_opt_tool *t, const char *name, const char *arg, long min,
		  long max, long *out, FILE *f);

/*
 * A duration written as a number and a unit ("500ms", "2s", "5min", "1h")
 * into milliseconds, 1 to INT_MAX; false for anything else.  The one
 * reading of durations for options and SQL-file keys alike.
 */
bool fa_duration_ms(const char *s, long long *ms);

/* A duration for option name in [min_ms, max_ms]; FA_EUSAGE otherwise. */
enum fa_err fa_opt_duration(const char *name, const char *arg, long min_ms, long max_ms,
			    long *out, struct fa_error *err);

#endif
