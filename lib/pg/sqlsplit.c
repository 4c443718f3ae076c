#include "pg/sqlsplit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The lexer keeps psql's state across lines (open quote, comment depth,
 * parentheses, BEGIN ATOMIC depth) and copies the line into the query
 * buffer in runs: line[copy..pos) is text lexed but not yet stored, so
 * ordinary text costs one append per run, not one per character.
 */

/* psql variable reference: :name, :'name', :"name" or :{?name} */
struct var_ref {
	const char *name;
	size_t len;
	size_t total;           /* bytes of the reference, colon included */
	char quote;             /* 0, '\'', '"' or '?' */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_ident_start(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' ||
	       u >= 0x80;
}

static bool is_var_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_ident_cont(char c)
{
	return is_var_char(c) || c == '$';
}

/* Characters that mean nothing to the splitter outside quotes. */
static bool is_plain(char c)
{
	switch (c) {
	case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
	case '-': case '/': case '\'': case '"': case '$': case ';':
	case '\\': case ':': case '(': case ')':
		return false;
	}
	return !is_ident_start(c);
}

static void reset_lexer(struct fa_sqlsplit *s)
{
	s->quote = 0;
	s->comment_depth = 0;
	s->paren_depth = 0;
	s->begin_depth = 0;
	s->words = 0;
}

static void drop_query(struct fa_sqlsplit *s)
{
	fa_buf_reset(&s->query);
	s->newlines = 0;
	s->tokens = false;
	s->overflow = false;
	s->line_nl = false;
}

static int too_long(struct fa_sqlsplit *s)
{
	s->err_line = s->query.len ? s->query_line : s->lineno;
	fa_buf_reset(&s->query);
	s->newlines = 0;
	s->overflow = true;
	return -1;
}

/* Stores the line breaks owed since the query buffer last grew. */
static int put_newlines(struct fa_sqlsplit *s)
{
	if (s->newlines == 0 || s->overflow)
		return 0;
	s->line_nl = false;
	for (; s->newlines > 0; s->newlines--)
		if (fa_buf_putc(&s->query, '\n') != FA_OK)
			return too_long(s);
	return 0;
}

/* Stores text in the query buffer, after the line breaks it is owed. */
static int put(struct fa_sqlsplit *s, const char *p, size_t n)
{
	if (n == 0 || s->overflow)
		return 0;
	if (s->query.len == 0) {
		s->query_line = s->lineno;
		s->newlines = 0;
	}
	if (put_newlines(s) < 0)
		return -1;
	s->line_nl = false;
	if (fa_buf_append(&s->query, p, n) != FA_OK)
		return too_long(s);
	return 0;
}

/* Stores the lexed run line[copy..pos). */
static int flush(struct fa_sqlsplit *s)
{
	const char *p = s->line + s->copy;
	size_t n = s->pos - s->copy;

	s->copy = s->pos;
	return put(s, p, n);
}

/* Consumes n bytes, dropping them if nothing is pending (leading blanks). */
static void skip(struct fa_sqlsplit *s, size_t n)
{
	bool empty = s->query.len == 0 && s->copy == s->pos;

	s->pos += n;
	if (empty)
		s->copy = s->pos;
}

/* Hands a copy of b to the caller as an item. */
static int emit(struct fa_sqlsplit *s, struct fa_sql_item *item,
		enum fa_sql_kind kind, const struct fa_buf *b, int line)
{
	char *t = malloc(b->len + 1);

	if (!t) {
		s->err_line = line;
		return -1;
	}
	if (b->len)
		memcpy(t, b->data, b->len);
	t[b->len] = '\0';
	item->kind = kind;
	item->text = t;
	item->len = b->len;
	item->line = line;
	return 1;
}

static bool match_var(const char *p, size_t n, struct var_ref *v)
{
	char q = n > 1 ? p[1] : 0;
	size_t i = 1, start;

	if (q == '\'' || q == '"')
		i = 2;
	else if (q == '{' && n > 2 && p[2] == '?')
		i = 3, q = '?';
	else
		q = 0;
	start = i;
	while (i < n && is_var_char(p[i]))
		i++;
	if (i == start)
		return false;
	if (q) {
		if (i >= n || p[i] != (q == '?' ? '}' : q))
			return false;
		i++;
	}
	v->name = p + start;
	v->len = i - start - (q ? 1 : 0);
	v->total = i;
	v->quote = q;
	return true;
}

static const char *var_value(struct fa_sqlsplit *s, const struct var_ref *v)
{
	if (v->quote == '?')
		return s->var(s->ctx, v->name, v->len, 0) ? "TRUE" : "FALSE";
	return s->var(s->ctx, v->name, v->len, v->quote);
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/*
 * psql's heuristic for SQL-standard routine bodies: once a statement starts
 * CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (and CASE inside it) opens
 * a block that END closes, and ';' inside it does not end the statement.
 */
static void track_word(struct fa_sqlsplit *s, const char *w, size_t n)
{
	const char *c = s->word;

	if (s->words == 0)
		memset(s->word, 0, sizeof(s->word));
	if (s->words < sizeof(s->word) &&
	    (word_is(w, n, "create") || word_is(w, n, "function") ||
	     word_is(w, n, "procedure") || word_is(w, n, "or") ||
	     word_is(w, n, "replace")))
		s->word[s->words] = (char)(w[0] | 0x20);
	if (s->words < UINT_MAX)
		s->words++;
	if (c[0] != 'c' || s->paren_depth > 0)
		return;
	if (!(c[1] == 'f' || c[1] == 'p' ||
	      (c[1] == 'o' && c[2] == 'r' && (c[3] == 'f' || c[3] == 'p'))))
		return;
	if (word_is(w, n, "begin"))
		s->begin_depth++;
	else if (word_is(w, n, "case") && s->begin_depth > 0)
		s->begin_depth++;
	else if (word_is(w, n, "end") && s->begin_depth > 0)
		s->begin_depth--;
}

static int open_quote(struct fa_sqlsplit *s, char q, size_t n)
{
	s->quote = q;
	s->quote_line = s->lineno;
	s->comment_depth = 0;
	if (q != '*')
		s->tokens = true;
	s->pos += n;
	return 0;
}

static int lex_word(struct fa_sqlsplit *s)
{
	const char *w = s->line + s->pos;
	size_t n = 1, left = s->len - s->pos;

	while (n < left && is_ident_cont(w[n]))
		n++;
	s->tokens = true;
	if (n == 1 && (w[0] == 'e' || w[0] == 'E') && left > 1 && w[1] == '\'')
		return open_quote(s, 'e', 2);
	track_word(s, w, n);
	s->pos += n;
	return 0;
}

/* $tag$ or $$ opens a dollar quote; $1 and a lone $ are plain text. */
static int lex_dollar_open(struct fa_sqlsplit *s)
{
	const char *l = s->line;
	size_t j = s->pos + 1;

	if (j < s->len && is_ident_start(l[j]))
		while (j < s->len && is_var_char(l[j]))
			j++;
	s->tokens = true;
	if (j >= s->len || l[j] != '$') {
		s->pos++;
		return 0;
	}
	fa_buf_reset(&s->tag);
	if (fa_buf_append(&s->tag, l + s->pos, j + 1 - s->pos) != FA_OK) {
		s->pos = s->len;
		return too_long(s);
	}
	return open_quote(s, '$', j + 1 - s->pos);
}

static int lex_semicolon(struct fa_sqlsplit *s, struct fa_sql_item *item)
{
	int rc = 0;

	if (s->paren_depth > 0 || s->begin_depth > 0) {
		s->pos++;
		return 0;
	}
	if (flush(s) < 0 || put_newlines(s) < 0)
		return -1;
	s->pos++;
	s->copy = s->pos;
	s->words = 0;
	if (s->tokens && !s->overflow)
		rc = emit(s, item, FA_SQL_STMT, &s->query, s->query_line);
	drop_query(s);
	return rc;
}

/* :name and friends outside quotes; "::" is a cast, not a variable. */
static int lex_colon(struct fa_sqlsplit *s)
{
	struct var_ref v;
	const char *val;

	s->tokens = true;
	if (s->pos + 1 < s->len && s->line[s->pos + 1] == ':') {
		s->pos += 2;
		return 0;
	}
	if (!s->var || !match_var(s->line + s->pos, s->len - s->pos, &v)) {
		s->pos++;
		return 0;
	}
	val = var_value(s, &v);
	if (!val) {
		s->pos += v.total;
		return 0;
	}
	if (flush(s) < 0)
		return -1;
	s->pos += v.total;
	s->copy = s->pos;
	return put(s, val, strlen(val));
}

static int meta_put(struct fa_sqlsplit *s, const char *p, size_t n)
{
	return fa_buf_append(&s->meta, p, n) == FA_OK ? 0 : -1;
}

/* psql takes the rest of the line verbatim as these commands' argument. */
static bool is_whole_line(const char *name, size_t n)
{
	static const char *const cmds[] = {
		"!", "ef", "ev", "sf", "sf+", "sv", "sv+", "h", "help",
	};
	size_t i;

	if (word_is(name, n, "copy"))
		return true;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strlen(cmds[i]) == n && memcmp(name, cmds[i], n) == 0)
			return true;
	return false;
}

/* psql: an argument of these that starts with '|' takes the rest of the line. */
static bool is_filepipe(const char *name, size_t n)
{
	static const char *const cmds[] = { "g", "gx", "o", "out", "w", "write" };
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strlen(cmds[i]) == n && memcmp(name, cmds[i], n) == 0)
			return true;
	return false;
}

/* The end of a quoted meta-command argument starting at i (q: ' " `). */
static size_t meta_quote_end(const char *l, size_t i, size_t n, char q)
{
	for (i++; i < n; i++) {
		if (q == '\'' && l[i] == '\\')
			i++;
		else if (l[i] == q && q == '\'' && i + 1 < n && l[i + 1] == q)
			i++;
		else if (l[i] == q)
			return i + 1;
	}
	return n;
}

/* Copies a backquoted argument, expanding plain :name as psql does. */
static int meta_backquote(struct fa_sqlsplit *s)
{
	const char *l = s->line;
	size_t end = meta_quote_end(l, s->pos, s->len, '`');
	struct var_ref v;
	const char *val;
	size_t i;

	for (i = s->pos; i < end; i++) {
		if (l[i] != ':' || !s->var || !match_var(l + i, end - i, &v) ||
		    v.quote != 0 || !(val = var_value(s, &v)))
			continue;
		if (meta_put(s, l + s->pos, i - s->pos) < 0 ||
		    meta_put(s, val, strlen(val)) < 0)
			return -1;
		s->pos = i + v.total;
		i = s->pos - 1;
	}
	if (meta_put(s, l + s->pos, end - s->pos) < 0)
		return -1;
	s->pos = end;
	return 0;
}

/* One step through a meta-command's arguments; 1 at their end. */
static int meta_arg_step(struct fa_sqlsplit *s)
{
	const char *l = s->line;
	size_t i = s->pos, end = i + 1;
	struct var_ref v;
	const char *val;

	if (l[i] == '\\') {
		if (i + 1 < s->len && l[i + 1] == '\\')
			s->pos += 2;
		return 1;
	}
	if (l[i] == '`')
		return meta_backquote(s);
	if (l[i] == '\'' || l[i] == '"') {
		end = meta_quote_end(l, i, s->len, l[i]);
	} else if (l[i] == ':' && s->var && match_var(l + i, s->len - i, &v)) {
		end = i + v.total;
		if ((val = var_value(s, &v))) {
			s->pos = end;
			return meta_put(s, val, strlen(val));
		}
	} else {
		while (end < s->len && !strchr("\\'\"`:|", l[end]))
			end++;
	}
	s->pos = end;
	return meta_put(s, l + i, end - i);
}

/* Lexes the arguments of the command called name. */
static int meta_args(struct fa_sqlsplit *s, const char *name, size_t n)
{
	bool whole = is_whole_line(name, n), pipe = is_filepipe(name, n);
	const char *l = s->line;
	int rc = 0;

	while (rc == 0 && s->pos < s->len) {
		if (whole || (pipe && l[s->pos] == '|' && is_space(l[s->pos - 1]))) {
			rc = meta_put(s, l + s->pos, s->len - s->pos);
			s->pos = s->len;
		} else {
			rc = meta_arg_step(s);
		}
	}
	return rc < 0 ? -1 : 0;
}

/* A backslash command: to the end of the line or to a "\\" separator. */
static int lex_meta(struct fa_sqlsplit *s, struct fa_sql_item *item)
{
	const char *l = s->line;
	size_t name = s->pos + 1, end = name;
	int rc;

	/* psql: a line holding only commands adds no line break to the query */
	if (s->line_nl && s->newlines > 0) {
		s->newlines--;
		s->line_nl = false;
	}
	fa_buf_reset(&s->meta);
	while (end < s->len && !is_space(l[end]) && l[end] != '\\')
		end++;
	rc = meta_put(s, l + s->pos, end - s->pos);
	s->pos = end;
	if (rc == 0)
		rc = meta_args(s, l + name, end - name);
	if (rc < 0) {
		s->err_line = s->lineno;
		s->pos = s->copy = s->len;
		return -1;
	}
	s->copy = s->pos;
	while (s->meta.len > 0 && is_space(s->meta.data[s->meta.len - 1]))
		s->meta.len--;
	s->meta.data[s->meta.len] = '\0';
	return emit(s, item, FA_SQL_META, &s->meta, s->lineno);
}

/* "\;" and "\:" store a literal ';' or ':'; any other backslash is a command. */
static int lex_backslash(struct fa_sqlsplit *s, struct fa_sql_item *item)
{
	char d = s->pos + 1 < s->len ? s->line[s->pos + 1] : '\0';

	if (flush(s) < 0)
		return -1;
	if (d != ';' && d != ':')
		return lex_meta(s, item);
	if (d == ';')
		s->words = 0;
	s->tokens = true;
	s->pos += 2;
	s->copy = s->pos;
	return put(s, &d, 1);
}

/* Blanks and -- comments: dropped before a statement, kept inside one. */
static int lex_blank(struct fa_sqlsplit *s)
{
	size_t n = 1;

	if (s->line[s->pos] == '-') {
		n = s->len - s->pos;
		if (s->keep_comments) {
			s->pos += n;
			return 0;
		}
	} else {
		while (s->pos + n < s->len && is_space(s->line[s->pos + n]))
			n++;
	}
	skip(s, n);
	return 0;
}

/* One token outside quotes and comments; 1 when an item is ready. */
static int lex_normal(struct fa_sqlsplit *s, struct fa_sql_item *item)
{
	const char *l = s->line;
	char c = l[s->pos];
	char d = s->pos + 1 < s->len ? l[s->pos + 1] : '\0';

	if (is_space(c) || (c == '-' && d == '-'))
		return lex_blank(s);
	if (is_ident_start(c))
		return lex_word(s);
	switch (c) {
	case '/':
		if (d == '*')
			return open_quote(s, '*', 2);
		break;
	case '\'': case '"':
		return open_quote(s, c, 1);
	case '$': return lex_dollar_open(s);
	case ';': return lex_semicolon(s, item);
	case '\\': return lex_backslash(s, item);
	case ':': return lex_colon(s);
	case '(': s->paren_depth++; break;
	case ')': if (s->paren_depth > 0) s->paren_depth--; break;
	}
	s->tokens = true;
	for (s->pos++; s->pos < s->len && is_plain(l[s->pos]); s->pos++)
		;
	return 0;
}

/* Inside '' or "": the quote doubled stays inside. */
static void lex_doubled(struct fa_sqlsplit *s)
{
	const char *l = s->line;
	const char *e = memchr(l + s->pos, s->quote, s->len - s->pos);

	if (!e) {
		s->pos = s->len;
		return;
	}
	s->pos = (size_t)(e - l) + 1;
	if (s->pos < s->len && l[s->pos] == s->quote)
		s->pos++;
	else
		s->quote = 0;
}

/* Inside E'': a backslash escapes the next character. */
static void lex_estring(struct fa_sqlsplit *s)
{
	const char *l = s->line;

	while (s->pos < s->len) {
		char c = l[s->pos++];

		if (c == '\\') {
			if (s->pos < s->len)
				s->pos++;
		} else if (c == '\'') {
			if (s->pos < s->len && l[s->pos] == '\'')
				s->pos++;
			else {
				s->quote = 0;
				return;
			}
		}
	}
}

static void lex_dollar(struct fa_sqlsplit *s)
{
	const char *l = s->line, *p;
	size_t i;

	while (s->pos < s->len) {
		p = memchr(l + s->pos, '$', s->len - s->pos);
		if (!p) {
			s->pos = s->len;
			return;
		}
		i = (size_t)(p - l);
		if (s->len - i >= s->tag.len &&
		    memcmp(p, s->tag.data, s->tag.len) == 0) {
			s->pos = i + s->tag.len;
			s->quote = 0;
			return;
		}
		s->pos = i + 1;
	}
}

/* Inside a slash-star comment, which nests. */
static void lex_comment(struct fa_sqlsplit *s)
{
	const char *l = s->line;

	while (s->pos < s->len) {
		char c = l[s->pos];
		char d = s->pos + 1 < s->len ? l[s->pos + 1] : '\0';

		if (c == '/' && d == '*') {
			s->comment_depth++;
			s->pos += 2;
		} else if (c == '*' && d == '/') {
			s->pos += 2;
			if (s->comment_depth == 0) {
				s->quote = 0;
				return;
			}
			s->comment_depth--;
		} else {
			s->pos++;
		}
	}
}

void fa_sqlsplit_init(struct fa_sqlsplit *s, size_t max_stmt_bytes,
		      const char *(*var)(void *ctx, const char *name,
					 size_t len, char quote),
		      void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->max = max_stmt_bytes;
	s->var = var;
	s->ctx = ctx;
	fa_buf_init(&s->query, max_stmt_bytes);
	fa_buf_init(&s->meta, max_stmt_bytes);
	fa_buf_init(&s->tag, max_stmt_bytes);
}

void fa_sqlsplit_release(struct fa_sqlsplit *s)
{
	fa_buf_release(&s->query);
	fa_buf_release(&s->meta);
	fa_buf_release(&s->tag);
}

enum fa_err fa_sqlsplit_feed(struct fa_sqlsplit *s, const char *line,
			     size_t len, int lineno)
{
	if (s->pos < s->len)
		return FA_EUSAGE;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	s->line = line;
	s->len = len;
	s->pos = 0;
	s->copy = 0;
	s->lineno = lineno;
	/* psql ignores an empty line unless it is inside a quote or comment */
	s->line_nl = s->query.len > 0 && (len > 0 || s->quote != 0);
	if (s->line_nl)
		s->newlines++;
	return FA_OK;
}

int fa_sqlsplit_next(struct fa_sqlsplit *s, struct fa_sql_item *item)
{
	int rc;

	while (s->pos < s->len) {
		switch (s->quote) {
		case 0:
			rc = lex_normal(s, item);
			if (rc != 0)
				return rc;
			break;
		case 'e': lex_estring(s); break;
		case '$': lex_dollar(s); break;
		case '*': lex_comment(s); break;
		default: lex_doubled(s); break;
		}
	}
	return flush(s);
}

void fa_sqlsplit_skip_line(struct fa_sqlsplit *s)
{
	s->pos = s->len;
	s->copy = s->len;
}

char *fa_sqlsplit_take_pending(struct fa_sqlsplit *s, size_t *len, int *line)
{
	char *t = NULL;

	if (len)
		*len = 0;
	if (s->tokens && !s->overflow) {
		if (line)
			*line = s->query_line;
		t = fa_buf_detach(&s->query, len);
	}
	fa_sqlsplit_reset(s);
	return t;
}

const char *fa_sqlsplit_pending(const struct fa_sqlsplit *s, size_t *len)
{
	if (len)
		*len = s->query.len;
	return s->query.data ? s->query.data : "";
}

bool fa_sqlsplit_finish(struct fa_sqlsplit *s, struct fa_sql_item *item,
			char *unterminated)
{
	char st = fa_sqlsplit_state(s);
	bool got = false;

	if (unterminated)
		*unterminated = (st == '\'' || st == '"' || st == '$' ||
				 st == '*') ? st : 0;
	s->pos = s->copy = s->len;
	/* empty lines at the end of an open quote belong to it, as in psql */
	for (; s->newlines > 0 && !s->overflow; s->newlines--)
		(void)fa_buf_putc(&s->query, '\n');
	if (s->tokens && !s->overflow)
		got = emit(s, item, FA_SQL_STMT, &s->query, s->query_line) == 1;
	fa_sqlsplit_reset(s);
	return got;
}

char fa_sqlsplit_state(const struct fa_sqlsplit *s)
{
	switch (s->quote) {
	case '\'': case 'e': return '\'';
	case '"': return '"';
	case '$': return '$';
	case '*': return '*';
	}
	if (s->paren_depth > 0)
		return '(';
	if (s->begin_depth > 0 || s->query.len > 0 || s->overflow)
		return '-';
	return '=';
}

void fa_sqlsplit_reset(struct fa_sqlsplit *s)
{
	drop_query(s);
	reset_lexer(s);
}

/* Appends s with each character of dup doubled, between quotes q. */
static enum fa_err quote_doubling(struct fa_buf *b, const char *open,
				  const char *s, const char *dup, char q)
{
	const char *p;

	if (fa_buf_puts(b, open) != FA_OK)
		return FA_ENOMEM;
	for (p = s; *p; p++)
		if ((strchr(dup, *p) && fa_buf_putc(b, *p) != FA_OK) ||
		    fa_buf_putc(b, *p) != FA_OK)
			return FA_ENOMEM;
	return fa_buf_putc(b, q);
}

enum fa_err fa_sql_quote_literal(struct fa_buf *b, const char *s)
{
	if (strchr(s, '\\'))
		return quote_doubling(b, " E'", s, "'\\", '\'');
	return quote_doubling(b, "'", s, "'", '\'');
}

enum fa_err fa_sql_quote_ident(struct fa_buf *b, const char *s)
{
	return quote_doubling(b, "\"", s, "\"", '"');
}

/* Skips a quoted run starting at q (the opening quote); E'' honours backslashes. */
static const char *skip_quoted(const char *q, bool backslash)
{
	char c = *q++;

	while (*q) {
		if (backslash && *q == '\\' && q[1])
			q += 2;
		else if (*q == c && q[1] == c)
			q += 2;
		else if (*q++ == c)
			break;
	}
	return q;
}

static const char *skip_comment(const char *q)
{
	int depth = 0;

	do {
		if (q[0] == '/' && q[1] == '*')
			depth++, q += 2;
		else if (q[0] == '*' && q[1] == '/')
			depth--, q += 2;
		else
			q++;
	} while (*q && depth > 0);
	return q;
}

/* At '$': past a $tag$...$tag$ string, or just past the '$'. */
static const char *skip_dollar(const char *q)
{
	const char *e = q + 1, *end;
	size_t n;

	if (is_ident_start(*e))
		while (is_var_char(*e))         /* a tag has no '$' of its own */
			e++;
	if (*e != '$')
		return q + 1;
	n = (size_t)(e - q + 1);
	for (end = e + 1; (end = strchr(end, '$')); end++)
		if (strncmp(end, q, n) == 0)
			return end + n;
	return q + strlen(q);
}

/*
 * The next $n outside quotes, comments and dollar quotes at or after q:
 * returns where it starts and sets *n and *end; NULL when there is none.
 */
static const char *next_param(const char *q, long *n, const char **end)
{
	while (*q) {
		if (*q == '\'' || *q == '"') {
			q = skip_quoted(q, false);
		} else if ((*q == 'E' || *q == 'e') && q[1] == '\'') {
			q = skip_quoted(q + 1, true);
		} else if (q[0] == '-' && q[1] == '-') {
			q += strcspn(q, "\n");
		} else if (q[0] == '/' && q[1] == '*') {
			q = skip_comment(q);
		} else if (*q == '$' && q[1] >= '0' && q[1] <= '9') {
			*n = strtol(q + 1, (char **)end, 10);
			return q;
		} else if (*q == '$') {
			q = skip_dollar(q);
		} else if (is_ident_cont(*q)) {
			while (is_ident_cont(*q))       /* a$1 is an identifier */
				q++;
		} else {
			q++;
		}
	}
	return NULL;
}

int fa_sql_max_param(const char *q)
{
	const char *end;
	long n;
	int max = 0;

	while ((q = next_param(q, &n, &end))) {
		if (n > max && n <= 65535)
			max = (int)n;
		q = end;
	}
	return max;
}

enum fa_err fa_sql_bind_literals(struct fa_buf *out, const char *sql, int nvalues,
				 const char *const *values)
{
	const char *p = sql, *at, *end;
	long n;

	while ((at = next_param(p, &n, &end))) {
		if (n < 1 || n > nvalues)
			return FA_EUSAGE;
		fa_buf_append(out, p, (size_t)(at - p));
		if (values[n - 1])
			fa_sql_quote_literal(out, values[n - 1]);
		else
			fa_buf_puts(out, "NULL");
		p = end;
	}
	return fa_buf_puts(out, p);
}
