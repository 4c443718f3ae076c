/*
 * fa-mcp shell TARGET: many commands in one session.  On a terminal,
 * lines are read with readline, kept in a history file, and Tab completes
 * commands, tool, prompt and resource names, and the argument names of a
 * tool's input schema (or a prompt's arguments); otherwise standard input
 * is a script, one command a line.  Words are split as a shell splits
 * them (quotes, backslashes), so values may hold spaces.
 *
 * The status: a lost connection ends the shell with its status (3 or 4);
 * otherwise 0, or, for a script, the status of the last command that
 * failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "commands.h"
#include "core/env.h"
#include "core/proc.h"

#define HISTORY_MAX 2000

extern char **environ;

struct shell {
	struct client *c;
	struct cargs *a;
	json_t *tools, *prompts, *resources;    /* the server's, for completion */
	char history[1024];
};

/* readline's completion callbacks carry no context: one shell per process. */
static struct shell *sh;

static const char *const commands[] = {
	"call", "discover", "format", "help", "prompt", "prompts", "quit", "read", "resources",
	"templates", "tools", NULL
};

static const char help[] =
	"tools | resources | templates | prompts     list what the server offers\n"
	"call TOOL [KEY=VALUE | KEY:=JSON]...        call a tool (\"call\" may be left out)\n"
	"read URI                                    read a resource\n"
	"prompt NAME [KEY=VALUE]...                  get a prompt's messages\n"
	"discover                                    the server's era, version and info\n"
	"format json | ndjson | text                 how answers are printed\n"
	"help                                        this text\n"
	"quit                                        end the session (or Ctrl-D)\n";

/* The items of a list method, or NULL when the server offers none. */
static json_t *fetch(struct client *c, const char *method, const char *key)
{
	struct fa_error err = { 0 };

	return client_list(c, method, key, &err);
}

static void refresh(struct shell *x)
{
	json_decref(x->tools);
	json_decref(x->prompts);
	json_decref(x->resources);
	x->tools = fetch(x->c, "tools/list", "tools");
	x->prompts = fetch(x->c, "prompts/list", "prompts");
	x->resources = fetch(x->c, "resources/list", "resources");
}

/* The item of items whose key is name, or NULL. */
static json_t *named(const json_t *items, const char *key, const char *name)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
		if (!strcmp(json_string_value(json_object_get(it, key)) ?: "", name))
			return it;
	return NULL;
}

/* ---- completion ---- */

static const char *cands[4096];         /* the candidates of this completion */
static int ncands;

static void cand(const char *s)
{
	if (s && ncands < (int)(sizeof(cands) / sizeof(cands[0])))
		cands[ncands++] = s;
}

static void cand_names(const json_t *items, const char *key)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
		cand(json_string_value(json_object_get(it, key)));
}

/* A tool's argument names, or a prompt's, each offered with its '='. */
static char arg_names[512][128];

static void cand_args(const json_t *tool, const json_t *prompt)
{
	const char *k;
	json_t *v;
	size_t i;
	int n = 0;

	json_object_foreach(json_object_get(json_object_get(tool, "inputSchema"), "properties"), k, v)
		if (n < 512) {
			snprintf(arg_names[n], sizeof(arg_names[n]), "%s=", k);
			cand(arg_names[n++]);
		}
	json_array_foreach(json_object_get(prompt, "arguments"), i, v)
		if (n < 512 && json_string_value(json_object_get(v, "name"))) {
			snprintf(arg_names[n], sizeof(arg_names[n]), "%s=",
				 json_string_value(json_object_get(v, "name")));
			cand(arg_names[n++]);
		}
}

static char *next_cand(const char *text, int state)
{
	static int i;
	size_t n = strlen(text);

	if (!state)
		i = 0;
	while (i < ncands) {
		const char *s = cands[i++];

		if (!strncmp(s, text, n))
			return strdup(s);
	}
	return NULL;
}

/* The candidates for the word at start, from the words before it. */
static char **complete(const char *text, int start, int end)
{
	char *before = strndup(rl_line_buffer, (size_t)start);
	int nw = 0;
	char **w = fa_proc_split(before, &nw);
	const char *first = nw ? w[0] : NULL;
	const json_t *tool = NULL, *prompt = NULL;

	free(before);
	ncands = 0;
	rl_attempted_completion_over = 1;
	rl_completion_append_character = ' ';
	if (!w) {
		;                               /* inside a quote */
	} else if (!nw) {
		for (int i = 0; commands[i]; i++)
			cand(commands[i]);
		cand_names(sh->tools, "name");
	} else if (nw == 1 && !strcmp(first, "call")) {
		cand_names(sh->tools, "name");
	} else if (nw == 1 && !strcmp(first, "prompt")) {
		cand_names(sh->prompts, "name");
	} else if (nw == 1 && !strcmp(first, "read")) {
		cand_names(sh->resources, "uri");
	} else if (nw == 1 && !strcmp(first, "format")) {
		cand("json"), cand("ndjson"), cand("text");
	} else if (!strcmp(first, "call") || !strcmp(first, "prompt") || (tool = named(sh->tools, "name", first))) {
		if (!strcmp(first, "call"))
			tool = named(sh->tools, "name", w[1]);
		if (!strcmp(first, "prompt"))
			prompt = named(sh->prompts, "name", w[1]);
		cand_args(tool, prompt);
		rl_completion_append_character = '\0';
	}
	for (int i = 0; w && i < nw; i++)
		free(w[i]);
	free(w);
	(void)end;
	return rl_completion_matches(text, next_cand);
}

/* ---- commands ---- */

static int set_format(struct shell *x, char **w, int n)
{
	static const char *const names[] = { "json", "ndjson", "text" };

	for (int i = 0; n == 2 && i < 3; i++)
		if (!strcmp(w[1], names[i])) {
			x->a->format = (enum cformat)i;
			return 0;
		}
	fprintf(stderr, "fa-mcp: format takes json, ndjson or text\n");
	return FA_EUSAGE;
}

/*
 * Runs one line; its status.  *lost is set when the session broke (the
 * shell cannot go on), *quit on quit.
 */
static int run_line(struct shell *x, const char *line, bool *quit, bool *lost)
{
	struct fa_error err = { 0 };
	struct cargs a = *x->a;
	int n = 0, rc = 0;
	char **w = fa_proc_split(line, &n);

	if (!w) {
		fprintf(stderr, "fa-mcp: an open quote\n");
		return FA_EUSAGE;
	}
	a.words = w + 1;
	a.nwords = n - 1;
	a.tools = x->tools;             /* arguments typed from the schemas at hand */
	if (!n || w[0][0] == '#') {
		;
	} else if (!strcmp(w[0], "quit") || !strcmp(w[0], "exit") || !strcmp(w[0], "\\q")) {
		*quit = true;
	} else if (!strcmp(w[0], "help") || !strcmp(w[0], "?")) {
		fputs(help, stdout);
	} else if (!strcmp(w[0], "format")) {
		rc = set_format(x, w, n);
	} else if (!strcmp(w[0], "tools") || !strcmp(w[0], "resources") || !strcmp(w[0], "templates") ||
		   !strcmp(w[0], "prompts")) {
		a.command = "list";
		a.words = w;
		a.nwords = 1;
		if (n > 1)
			rc = fa_error_set(&err, FA_EUSAGE, "%s takes nothing more", w[0]);
		else if (!(rc = client_command(x->c, &a, &err)))
			refresh(x);     /* what completion and argument types go by, anew */
	} else if (!strcmp(w[0], "call") || !strcmp(w[0], "read") || !strcmp(w[0], "prompt") ||
		   !strcmp(w[0], "discover")) {
		a.command = w[0];
		if (n < 2 && strcmp(w[0], "discover"))
			rc = fa_error_set(&err, FA_EUSAGE, "%s: give the %s", w[0],
					  !strcmp(w[0], "read") ? "URI" : "name");
		else
			rc = client_command(x->c, &a, &err);
	} else if (named(x->tools, "name", w[0])) {
		a.command = "call";
		a.words = w;
		a.nwords = n;
		rc = client_command(x->c, &a, &err);
	} else {
		rc = fa_error_set(&err, FA_EUSAGE, "'%s' is neither a command nor a tool (try help)", w[0]);
	}
	if (rc && err.msg[0])
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
	*lost = x->c->fail != FA_OK;
	for (int i = 0; i < n; i++)
		free(w[i]);
	free(w);
	fflush(stdout);
	return rc;
}

static void history_path(struct shell *x)
{
	const char *p = fa_env_nonempty(environ, "FA_MCP_HISTORY");
	const char *home = fa_env_nonempty(environ, "HOME");

	if (p)
		snprintf(x->history, sizeof(x->history), "%s", p);
	else if (home)
		snprintf(x->history, sizeof(x->history), "%s/.fa_mcp_history", home);
}

/*
 * Ctrl-C at the prompt drops the line, as in a shell; during a request it
 * is let go (the request runs to its answer or --timeout), never the end
 * of the session.
 */
static void on_sigint(int sig)
{
	(void)sig;
	if (write(STDOUT_FILENO, "\n", 1) < 0)
		return;
	rl_on_new_line();
	rl_replace_line("", 0);
	rl_redisplay();
}

/* The terminal: readline with history and completion. */
static int interactive(struct shell *x)
{
	const char *name = json_string_value(json_object_get(json_object_get(x->c->server, "serverInfo"), "name"));
	struct sigaction sa = { .sa_handler = on_sigint };
	char prompt[160];
	bool quit = false, lost = false;
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	rl_catch_signals = 0;
	rl_readline_name = "fa-mcp";
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t\n";
	history_path(x);
	using_history();
	stifle_history(HISTORY_MAX);
	if (x->history[0])
		read_history(x->history);
	snprintf(prompt, sizeof(prompt), "%.100s> ", name ? name : "mcp");
	printf("fa-mcp %s: %s, protocol %s\nType help for the commands, quit to end.\n", FA_VERSION,
	       name ? name : "a server", x->c->version ? x->c->version : "?");
	while (!quit && !lost) {
		char *line = readline(prompt);

		if (!line) {
			putchar('\n');
			break;
		}
		if (line[strspn(line, " \t")])
			add_history(line);
		rc = run_line(x, line, &quit, &lost);
		free(line);
	}
	if (x->history[0] && write_history(x->history) != 0)
		fprintf(stderr, "fa-mcp: cannot write history to '%s'\n", x->history);
	return lost ? rc : 0;
}

/* Standard input as a script. */
static int script(struct shell *x)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool quit = false, lost = false;
	int rc = 0, last = 0;

	while (!quit && !lost && (len = getline(&line, &cap, stdin)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[len - 1] = 0;
		if ((rc = run_line(x, line, &quit, &lost)))
			last = rc;
	}
	free(line);
	return last;
}

int mcp_shell(struct client *c, struct cargs *a, struct fa_error *err)
{
	struct shell x = { .c = c, .a = a };
	int rc;

	if (a->nwords)
		return fa_error_set(err, FA_EUSAGE, "shell takes only the server; commands come on its input");
	sh = &x;
	refresh(&x);
	rc = isatty(STDIN_FILENO) ? interactive(&x) : script(&x);
	json_decref(x.tools);
	json_decref(x.prompts);
	json_decref(x.resources);
	sh = NULL;
	err->msg[0] = 0;                /* each failure was said as it came */
	return rc;
}
