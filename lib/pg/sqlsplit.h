/*
 * sqlsplit: a psql-compatible SQL script lexer that splits text into
 * statements and backslash meta-commands.  It does no I/O.
 *
 * The caller feeds one line at a time (without its '\n'; a trailing '\r'
 * is dropped) and then pops items until there are none:
 *
 *	struct fa_sqlsplit sp;
 *	struct fa_sql_item it;
 *	fa_sqlsplit_init(&sp, 1 << 20, get_var, vars);
 *	while (read a line) {
 *		fa_sqlsplit_feed(&sp, line, len, ++lineno);
 *		while ((rc = fa_sqlsplit_next(&sp, &it)) != 0) {
 *			if (rc < 0) report("line %d: statement too long", sp.err_line);
 *			else run(it.kind, it.text, it.line), free(it.text);
 *		}
 *	}
 *	if (fa_sqlsplit_finish(&sp, &it, &open)) run the last statement;
 *	if (open) report("unterminated quoted string at line %d", sp.quote_line);
 *	fa_sqlsplit_release(&sp);
 *
 * Lexing pauses after each meta-command so the caller can act on it before
 * the rest of the line is lexed: "\set x 1 \\ select :x;" sees x set, and
 * "\g" can take the pending query buffer with fa_sqlsplit_take_pending().
 * The lexer follows psql's rules: '' and E'' strings, "" identifiers,
 * $tag$ dollar quotes, -- and nesting slash-star comments, parentheses and
 * CREATE FUNCTION ... BEGIN ATOMIC ... END bodies hide ';'; "\;" and "\:"
 * put a literal ';' or ':' in the statement.  standard_conforming_strings
 * is assumed on.  A statement's text is what psql would send, less the
 * ';': leading whitespace and leading -- comments are dropped (set
 * keep_comments to keep the comments), empty lines outside quotes too.
 * A meta-command ends at an unquoted backslash ("\\" is eaten), or at
 * the end of the line for \copy \! \h \ef \ev \sf \sv, and for an
 * argument of \g \o \w that starts with '|'.
 *
 * Ownership: the fed line is borrowed and must stay valid until next()
 * returns 0; item texts are malloc'd and owned by the caller.
 */
#ifndef FA_SQLSPLIT_H
#define FA_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_sql_kind {
	FA_SQL_STMT = 1,        /* text without its ';' */
	FA_SQL_META = 2,        /* "\cmd args", trailing whitespace trimmed */
};

struct fa_sql_item {
	enum fa_sql_kind kind;
	char *text;             /* NUL-terminated, malloc'd: the caller frees it */
	size_t len;
	int line;               /* line of its first character */
};

/* The fields are private except those marked read-only or settable. */
struct fa_sqlsplit {
	size_t max;             /* cap on one statement or meta-command */
	const char *(*var)(void *ctx, const char *name, size_t len, char quote);
	void *ctx;
	bool keep_comments;     /* settable: keep leading -- comment lines */
	int err_line;           /* read-only: where the too-long text began */
	int quote_line;         /* read-only: where the open quote began */

	const char *line;       /* the fed line, borrowed */
	size_t len, pos, copy;  /* line[copy..pos) is lexed, not yet stored */
	int lineno;

	struct fa_buf query;    /* the pending statement */
	int query_line;
	size_t newlines;        /* line breaks owed before the next text */
	bool line_nl;           /* one is this line's, and it stored nothing */
	bool tokens;            /* query holds more than blanks and comments */
	bool overflow;          /* query outgrew max: skip to its end */
	struct fa_buf meta;
	struct fa_buf tag;      /* the open dollar quote's $tag$ */

	char quote;             /* 0, '\'', 'e' (E''), '"', '$', '*' */
	int comment_depth;
	int paren_depth;
	int begin_depth;
	unsigned words;         /* identifiers so far in this statement */
	char word[4];           /* their initials, for CREATE [OR REPLACE] F/P */
};

/*
 * Sets up a splitter the caller owns.  max_stmt_bytes caps one statement
 * (0: no cap).  var(ctx, name, len, quote) returns the text that replaces
 * a psql variable: quote is 0 for :name, '\'' for :'name', '"' for
 * :"name", and the text must already be quoted (fa_sql_quote_literal).
 * NULL leaves the reference as written, as psql does for an unset
 * variable.  The text is copied at once and not lexed again.  A NULL var
 * turns interpolation off.
 */
void fa_sqlsplit_init(struct fa_sqlsplit *s, size_t max_stmt_bytes,
		      const char *(*var)(void *ctx, const char *name,
					 size_t len, char quote),
		      void *ctx);

/* Frees the buffers; the splitter can be reused after fa_sqlsplit_init(). */
void fa_sqlsplit_release(struct fa_sqlsplit *s);

/*
 * Gives the splitter the next line, which it borrows until next() returns
 * 0.  FA_EUSAGE if the previous line has not been lexed to its end.
 */
enum fa_err fa_sqlsplit_feed(struct fa_sqlsplit *s, const char *line,
			     size_t len, int lineno);

/*
 * Lexes on and returns 1 with the next item in *item (the caller frees
 * item->text), 0 when the line is used up, or -1 when a statement or
 * meta-command outgrew the cap: it is dropped (a statement up to its ';'),
 * s->err_line says where it began, and the next call carries on.  *item
 * is only filled when 1 is returned.
 */
int fa_sqlsplit_next(struct fa_sqlsplit *s, struct fa_sql_item *item);

/*
 * Drops the rest of the current line: psql does this when a meta-command
 * fails or is unknown, so "\bad \\ select 1;" does not run the select.
 */
void fa_sqlsplit_skip_line(struct fa_sqlsplit *s);

/*
 * Returns the pending query buffer (as psql's \g would send it) and
 * empties it, forgetting open parentheses; NULL when it holds only blanks
 * and comments.  The caller frees the text; *len and *line may be NULL.
 */
char *fa_sqlsplit_take_pending(struct fa_sqlsplit *s, size_t *len, int *line);

/* The pending query buffer, still owned by the splitter (for \p and \w). */
const char *fa_sqlsplit_pending(const struct fa_sqlsplit *s, size_t *len);

/*
 * Ends the input: returns true with the statement left without a ';', if
 * it holds more than blanks and comments.  *unterminated (may be NULL) is
 * set to '\'', '"', '$' or '*' if the input ended inside a quote or
 * comment (s->quote_line says where it began), else 0.  Then resets.
 */
bool fa_sqlsplit_finish(struct fa_sqlsplit *s, struct fa_sql_item *item,
			char *unterminated);

/*
 * What psql's %R prompt shows: '=' nothing pending, '-' a statement goes
 * on, '\'' '"' '$' inside a quote, '*' inside a comment, '(' in parentheses.
 */
char fa_sqlsplit_state(const struct fa_sqlsplit *s);

/* Empties the query buffer and forgets open quotes and parentheses (\r). */
void fa_sqlsplit_reset(struct fa_sqlsplit *s);

/*
 * Append s as a SQL literal, like PQescapeLiteral: 'O''Brien', or
 * " E'a\\b'" (leading space included) when s holds a backslash.
 * FA_ENOMEM when b is full.
 */
enum fa_err fa_sql_quote_literal(struct fa_buf *b, const char *s);

/* Append s as a quoted identifier: "a""b".  FA_ENOMEM when b is full. */
enum fa_err fa_sql_quote_ident(struct fa_buf *b, const char *s);

/*
 * The highest positional parameter ($1, $2...) the statement uses, outside
 * quotes, comments and dollar-quoted strings; 0 when none.
 */
int fa_sql_max_param(const char *sql);

/*
 * Appends sql with each $n replaced by values[n-1] as a quoted literal
 * (NULL as NULL), for statements that cannot take bound parameters, such
 * as COPY (query) TO STDOUT.  FA_EUSAGE when $n has no value.
 */
enum fa_err fa_sql_bind_literals(struct fa_buf *out, const char *sql, int nvalues,
				 const char *const *values);

#endif
