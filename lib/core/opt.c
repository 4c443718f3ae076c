#include "core/opt.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static size_t count_opts(const struct fa_opt *opts)
{
	size_t n = 0;

	while (opts[n].name)
		n++;
	return n;
}

enum fa_err fa_opt_parser_init(struct fa_opt_parser *p, const struct fa_opt *opts)
{
	size_t n = count_opts(opts), i, s = 0;
	struct option *lo = calloc(n + 1, sizeof(*lo));

	if (!lo)
		return FA_ENOMEM;
	p->shortopts[s++] = ':';        /* report missing arguments as ':' */
	for (i = 0; i < n; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].arg == FA_OPT_NONE ? no_argument :
			opts[i].arg == FA_OPT_REQUIRED ? required_argument :
			optional_argument;
		lo[i].val = opts[i].key;
		if (opts[i].key < FA_OPT_LONG && s + 3 < sizeof(p->shortopts)) {
			p->shortopts[s++] = (char)opts[i].key;
			if (opts[i].arg != FA_OPT_NONE)
				p->shortopts[s++] = ':';
			if (opts[i].arg == FA_OPT_OPTIONAL)
				p->shortopts[s++] = ':';
		}
	}
	p->shortopts[s] = '\0';
	p->opts = opts;
	p->longopts = lo;
	return FA_OK;
}

void fa_opt_parser_release(struct fa_opt_parser *p)
{
	free(p->longopts);
	p->longopts = NULL;
}

int fa_opt_next(struct fa_opt_parser *p, int argc, char **argv,
		const char **arg, struct fa_error *err)
{
	int key;

	opterr = 0;
	key = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);
	*arg = optarg;
	if (key == '?' || key == ':') {
		const char *word = argv[optind - 1];

		if (key == ':')
			fa_error_set(err, FA_EUSAGE, "option '%s' needs an argument", word);
		else if (optopt && optopt < FA_OPT_LONG && word[0] == '-' && word[1] != '-')
			fa_error_set(err, FA_EUSAGE, "unknown option '-%c'", optopt);
		else
			fa_error_set(err, FA_EUSAGE, "unknown option '%s'", word);
		return '?';
	}
	return key;
}

static void usage_option(const struct fa_opt *o, struct fa_buf *out)
{
	size_t start = out->len, width;

	if (o->key < FA_OPT_LONG)
		fa_buf_printf(out, "  -%c, --%s", o->key, o->name);
	else
		fa_buf_printf(out, "      --%s", o->name);
	if (o->arg == FA_OPT_REQUIRED)
		fa_buf_printf(out, " %s", o->argname);
	else if (o->arg == FA_OPT_OPTIONAL)
		fa_buf_printf(out, "[=%s]", o->argname);
	width = out->len - start;
	if (width < 30)
		fa_buf_printf(out, "%*s", (int)(30 - width), "");
	else
		fa_buf_printf(out, "\n%30s", "");
	fa_buf_printf(out, "%s\n", o->help);
}

void fa_opt_usage(const struct fa_opt_tool *t, struct fa_buf *out)
{
	const char *u = t->usage, *nl;
	const struct fa_opt *o;
	const char *lead = "usage: ";

	while (*u) {
		nl = strchr(u, '\n');
		if (!nl)
			nl = u + strlen(u);
		fa_buf_printf(out, "%s%s %.*s\n", lead, t->name, (int)(nl - u), u);
		lead = "       ";
		u = *nl ? nl + 1 : nl;
	}
	fa_buf_printf(out, "\n%s\n\nOptions:\n", t->summary);
	for (o = t->opts; o->name; o++)
		usage_option(o, out);
	if (t->footer)
		fa_buf_printf(out, "\n%s", t->footer);
}

static const struct fa_opt *find_long(const struct fa_opt *opts, const char *w, size_t n)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == n && strncmp(opts->name, w, n) == 0)
			return opts;
	return NULL;
}

static const struct fa_opt *find_short(const struct fa_opt *opts, char c)
{
	for (; opts->name; opts++)
		if (opts->key == c)
			return opts;
	return NULL;
}

/* The option whose argument the word at index i would be, if any. */
static const struct fa_opt *wants_arg(const struct fa_opt *opts, const char *prev)
{
	const struct fa_opt *o = NULL;

	if (prev[0] != '-' || prev[1] == '\0')
		return NULL;
	if (prev[1] == '-' && !strchr(prev, '='))
		o = find_long(opts, prev + 2, strlen(prev + 2));
	else if (prev[1] != '-' && prev[2] == '\0')
		o = find_short(opts, prev[1]);
	return o && o->arg == FA_OPT_REQUIRED ? o : NULL;
}

static void complete_words(const char *words, const char *cur, struct fa_buf *out)
{
	const char *w = words, *end;
	size_t n = strlen(cur);

	if (!words)
		return;
	if (words[0] == '@') {
		fa_buf_printf(out, "%s\n", words);
		return;
	}
	while (*w) {
		end = strchr(w, ' ');
		if (!end)
			end = w + strlen(w);
		if ((size_t)(end - w) >= n && strncmp(w, cur, n) == 0)
			fa_buf_printf(out, "%.*s\n", (int)(end - w), w);
		w = *end ? end + 1 : end;
	}
}

void fa_opt_complete(const struct fa_opt_tool *t, int cword, int nwords,
		     char **words, struct fa_buf *out)
{
	const char *cur = cword < nwords ? words[cword] : "";
	const struct fa_opt *o;
	const char *eq;
	int i, operands = 0;

	for (i = 1; i < cword && i < nwords; i++) {
		if (strcmp(words[i], "--") == 0)
			return;         /* parameters follow: nothing to offer */
		if (words[i][0] != '-' && !(i > 1 && wants_arg(t->opts, words[i - 1])))
			operands++;
	}
	if (cword >= 1 && cword - 1 < nwords && (o = wants_arg(t->opts, words[cword - 1]))) {
		complete_words(o->words, cur, out);
		return;
	}
	if (strncmp(cur, "--", 2) == 0 && (eq = strchr(cur, '='))) {
		o = find_long(t->opts, cur + 2, (size_t)(eq - cur - 2));
		if (o && o->words && o->words[0] != '@') {
			struct fa_buf tmp;
			const char *p;

			fa_buf_init(&tmp, 0);
			complete_words(o->words, eq + 1, &tmp);
			for (p = tmp.data; p && *p; p = strchr(p, '\n') + 1)
				fa_buf_printf(out, "%.*s%.*s\n", (int)(eq + 1 - cur), cur,
					      (int)(strchr(p, '\n') - p), p);
			fa_buf_release(&tmp);
		}
		return;
	}
	if (cur[0] == '-') {
		for (o = t->opts; o->name; o++)
			if (strncmp(o->name, cur + 2, cur[1] == '-' ? strlen(cur + 2) : 0) == 0)
				fa_buf_printf(out, "--%s\n", o->name);
		return;
	}
	complete_words(operands ? t->later : t->operands, cur, out);
}

enum fa_err fa_opt_complete_arg(const struct fa_opt_tool *t, const char *n, int nwords,
				char **words, struct fa_buf *out)
{
	long cword;

	if (fa_opt_int("complete", n, 0, 1000, &cword, NULL) != FA_OK)
		return FA_EUSAGE;
	fa_opt_complete(t, (int)cword, nwords, words, out);
	return FA_OK;
}

enum fa_err fa_opt_int(const char *name, const char *arg, long min, long max,
		       long *out, struct fa_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return fa_error_set(err, FA_EUSAGE,
				    "option '--%s' takes a whole number from %ld to %ld, not '%s'",
				    name, min, max, arg);
	*out = v;
	return FA_OK;
}

bool fa_duration_ms(const char *s, long long *ms)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 },
	};
	size_t n = strspn(s, "0123456789");
	long long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	if (v == 0 || v > INT_MAX)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].unit) != 0)
			continue;
		if (v > INT_MAX / units[i].ms)
			return false;
		*ms = v * units[i].ms;
		return true;
	}
	return false;
}

enum fa_err fa_opt_duration(const char *name, const char *arg, long min_ms, long max_ms,
			    long *out, struct fa_error *err)
{
	long long ms;

	if (!fa_duration_ms(arg, &ms) || ms < min_ms || ms > max_ms)
		return fa_error_set(err, FA_EUSAGE, "option '--%s' takes a duration such as 500ms, "
				    "30s or 5min, from %ldms to %ldms, not '%s'", name, min_ms, max_ms, arg);
	*out = (long)ms;
	return FA_OK;
}

int fa_opt_print_usage(const struct fa_opt_tool *t, FILE *f)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_opt_usage(t, &b);
	fwrite(b.data ? b.data : "", 1, b.len, f);
	fa_buf_release(&b);
	return 0;
}

int fa_opt_print_completions(const struct fa_opt_tool *t, const char *n, int nwords,
			     char **words, FILE *f)
{
	struct fa_buf b;
	enum fa_err rc;

	fa_buf_init(&b, 0);
	rc = fa_opt_complete_arg(t, n, nwords, words, &b);
	fwrite(b.data ? b.data : "", 1, b.len, f);
	fa_buf_release(&b);
	return rc;
}

int fa_opt_usage_error(const struct fa_opt_tool *t, const char *msg, FILE *f)
{
	fprintf(f, "%s: %s\nTry '%s --help' for more information.\n", t->name, msg, t->name);
	return FA_EUSAGE;
}

int fa_opt_number(const struct fa_opt_tool *t, const char *name, const char *arg, long min,
		  long max, long *out, FILE *f)
{
	struct fa_error err = { 0 };

	if (fa_opt_int(name, arg, min, max, out, &err))
		return fa_opt_usage_error(t, err.msg, f);
	return -1;
}

int fa_opt_each(const struct fa_opt_tool *t, int argc, char **argv,
		int (*apply)(int key, const char *arg, void *ctx), void *ctx, FILE *f)
{
	struct fa_opt_parser p;
	struct fa_error err = { 0 };
	const char *arg;
	int key, rc = -1;

	if (fa_opt_parser_init(&p, t->opts) != FA_OK)
		return fa_opt_usage_error(t, "out of memory", f);
	while (rc < 0 && (key = fa_opt_next(&p, argc, argv, &arg, &err)) != -1)
		rc = key == '?' ? fa_opt_usage_error(t, err.msg, f) : apply(key, arg, ctx);
	fa_opt_parser_release(&p);
	return rc;
}
