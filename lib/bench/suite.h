/*
 * suite: the scenario file of `fa-bench suite FILE`, parsed into argument
 * vectors.  Pure: text in, scenarios out; running them is the tool's.
 *
 * One scenario a line: a name, a colon, then the words of an fa-bench
 * command line (the command and its options), as a shell would split
 * them: 'single quotes' keep everything, "double quotes" keep everything
 * but \" and \\, a backslash outside quotes keeps the next character.
 * A line whose first word starts with '-' gives options for every
 * scenario after it (until the next such line, which replaces it).
 * Blank lines and lines starting with '#' are skipped; so is a '#' that
 * starts a word, to the end of its line.
 *
 *	# the options for what follows
 *	-d 5s -t 2
 *	select1: pg -c 8 -e 'select 1'
 *	items:   http -c 16 'http://127.0.0.1:8080/items/{1..1000}'
 *	items2:  http --h2 -c 2 -m 16 'http://127.0.0.1:8080/items/{1..1000}'
 *
 * A scenario's argv is the defaults' words, then its own; the suite
 * owns every string.
 */
#ifndef FA_BENCH_SUITE_H
#define FA_BENCH_SUITE_H

#include <stddef.h>

#include "core/err.h"

#define FA_BENCH_SUITE_MAX 1000         /* scenarios in a file */
#define FA_BENCH_SUITE_NAME 64          /* a name's length, with its NUL */

struct fa_bench_scenario {
	char name[FA_BENCH_SUITE_NAME]; /* letters, digits, '_', '-', '.' */
	int line;                       /* where it is written, from 1 */
	int argc;                       /* defaults, then its own words */
	char **argv;                    /* argc words and a NULL */
	int ndefaults;                  /* how many of argv came from a defaults line */
};

struct fa_bench_suite {
	struct fa_bench_scenario *sc;   /* owned */
	int n;
};

/*
 * Parses text (len bytes, NUL-terminated or not) of the file path into s.
 * FA_EINPUT naming path, the line and the column of the first fault: a
 * line without a name and colon, a name used twice, an unterminated quote,
 * a NUL byte, a scenario with no command, no scenario at all, more than
 * FA_BENCH_SUITE_MAX.  s is empty after an error.
 */
enum fa_err fa_bench_suite_parse(const char *text, size_t len, const char *path,
				 struct fa_bench_suite *s, struct fa_error *err);

void fa_bench_suite_release(struct fa_bench_suite *s);

#endif
