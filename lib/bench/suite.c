#include "bench/suite.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* The words of one line, each its own allocation. */
struct words {
	char **w;
	int n;
};

static void words_release(struct words *ws)
{
	for (int i = 0; i < ws->n; i++)
		free(ws->w[i]);
	free(ws->w);
	ws->w = NULL;
	ws->n = 0;
}

static enum fa_err words_add(struct words *ws, struct fa_buf *b, struct fa_error *err)
{
	char **w = realloc(ws->w, (size_t)(ws->n + 2) * sizeof(*w));
	size_t len;

	if (!w || fa_buf_putc(b, '\0'))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	ws->w = w;
	if (!(ws->w[ws->n] = fa_buf_detach(b, &len)))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	ws->w[++ws->n] = NULL;
	return FA_OK;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits line (n bytes, no newline) as a shell would, into ws. */
static enum fa_err split(const char *line, size_t n, const char *path, int lineno,
			 struct words *ws, struct fa_error *err)
{
	struct fa_buf b;
	size_t i = 0;
	enum fa_err rc = FA_OK;

	fa_buf_init(&b, 1u << 20);
	while (!rc) {
		size_t start;
		char q = 0;

		while (i < n && blank(line[i]))
			i++;
		if (i == n || line[i] == '#')
			break;
		start = i;
		for (; i < n && (q || !blank(line[i])) && !rc; i++) {
			char c = line[i];

			if (q == '\'' && c != '\'')
				rc = fa_buf_putc(&b, c);
			else if (q == '"' && c == '\\' && i + 1 < n && (line[i + 1] == '"' || line[i + 1] == '\\'))
				rc = fa_buf_putc(&b, line[++i]);
			else if (q == '"' && c != '"')
				rc = fa_buf_putc(&b, c);
			else if (q)
				q = 0;
			else if (c == '\'' || c == '"')
				q = c;
			else if (c == '\\' && i + 1 < n)
				rc = fa_buf_putc(&b, line[++i]);
			else
				rc = fa_buf_putc(&b, c);
		}
		if (rc)
			rc = fa_error_set(err, FA_EINPUT, "%s line %d, column %zu: the word is over 1 MiB",
					  path, lineno, start + 1);
		else if (q)
			rc = fa_error_set(err, FA_EINPUT, "%s line %d, column %zu: the quote %c opened here "
					  "is not closed on its line", path, lineno, start + 1, q);
		else
			rc = words_add(ws, &b, err);
	}
	fa_buf_release(&b);
	return rc;
}

/* "name:" as the first word: its length without the colon, or 0. */
static size_t name_len(const char *w)
{
	size_t k = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");

	return k && w[k] == ':' && !w[k + 1] ? k : 0;
}

static enum fa_err add_scenario(struct fa_bench_suite *s, const struct words *defs, struct words *ws,
				const char *path, int lineno, struct fa_error *err)
{
	struct fa_bench_scenario *sc, *grown;
	size_t k = name_len(ws->w[0]);
	int argc = defs->n + ws->n - 1;

	if (!k || k >= FA_BENCH_SUITE_NAME)
		return fa_error_set(err, FA_EINPUT, "%s line %d, column 1: '%.80s': a scenario starts with "
				    "its name (letters, digits, '_', '-', '.', at most %d) and a colon, as "
				    "in 'items: http URL'", path, lineno, ws->w[0], FA_BENCH_SUITE_NAME - 1);
	if (ws->n < 2)
		return fa_error_set(err, FA_EINPUT, "%s line %d: scenario '%.*s' has no command (pg, http "
				    "or mcp)", path, lineno, (int)k, ws->w[0]);
	for (int i = 0; i < s->n; i++)
		if (strlen(s->sc[i].name) == k && !strncmp(s->sc[i].name, ws->w[0], k))
			return fa_error_set(err, FA_EINPUT, "%s line %d: scenario '%s' is already on line %d",
					    path, lineno, s->sc[i].name, s->sc[i].line);
	if (s->n == FA_BENCH_SUITE_MAX)
		return fa_error_set(err, FA_EINPUT, "%s line %d: more than %d scenarios", path, lineno,
				    FA_BENCH_SUITE_MAX);
	if (!(grown = realloc(s->sc, (size_t)(s->n + 1) * sizeof(*grown))))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	s->sc = grown;
	sc = &s->sc[s->n];
	memset(sc, 0, sizeof(*sc));
	if (!(sc->argv = calloc((size_t)argc + 1, sizeof(*sc->argv))))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	s->n++;
	memcpy(sc->name, ws->w[0], k);
	sc->line = lineno;
	for (int i = 0; i < defs->n; i++)
		if (!(sc->argv[sc->argc++] = strdup(defs->w[i])))
			return fa_error_set(err, FA_ENOMEM, "out of memory");
	sc->ndefaults = defs->n;
	/* the words move over; the name is dropped */
	for (int i = 1; i < ws->n; i++) {
		sc->argv[sc->argc++] = ws->w[i];
		ws->w[i] = NULL;
	}
	return FA_OK;
}

enum fa_err fa_bench_suite_parse(const char *text, size_t len, const char *path,
				 struct fa_bench_suite *s, struct fa_error *err)
{
	struct words defs = { 0 }, ws = { 0 };
	const char *p = text, *end = text + len;
	const char *nul = memchr(text, '\0', len);
	int lineno = 0;
	enum fa_err rc = FA_OK;

	memset(s, 0, sizeof(*s));
	if (nul) {
		const char *ls = text;

		for (const char *q = text; q < nul; q++)
			if (*q == '\n') {
				lineno++;
				ls = q + 1;
			}
		return fa_error_set(err, FA_EINPUT, "%s line %d, column %d: a NUL byte (not a text file?)",
				    path, lineno + 1, (int)(nul - ls) + 1);
	}
	while (!rc && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		rc = split(p, n, path, lineno, &ws, err);
		if (!rc && ws.n && ws.w[0][0] == '-') {
			words_release(&defs);
			defs = ws;
			ws = (struct words){ 0 };
		} else if (!rc && ws.n) {
			rc = add_scenario(s, &defs, &ws, path, lineno, err);
		}
		words_release(&ws);
		p += n + (nl != NULL);
	}
	words_release(&defs);
	if (!rc && !s->n)
		rc = fa_error_set(err, FA_EINPUT, "%s: no scenario (write one a line, as in "
				  "'items: http URL')", path);
	if (rc)
		fa_bench_suite_release(s);
	return rc;
}

void fa_bench_suite_release(struct fa_bench_suite *s)
{
	for (int i = 0; i < s->n; i++) {
		for (int j = 0; j < s->sc[i].argc; j++)
			free(s->sc[i].argv[j]);
		free(s->sc[i].argv);
	}
	free(s->sc);
	memset(s, 0, sizeof(*s));
}
