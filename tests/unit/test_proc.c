/*
 * Unit tests for core/proc: the shell-like splitter, and a child started,
 * spoken to over its pipes and stopped, including one that ignores EOF
 * and SIGTERM.
 */
#include "core/proc.c"
#include "check.h"

#include <sys/wait.h>

static void split_is(const char *file, int line, const char *s, int want_n, const char **want)
{
	int n = -1;
	char **w = fa_proc_split(s, &n);

	check_fmt(file, line, w != NULL, s, ": NULL");
	if (!w)
		return;
	check_fmt(file, line, n == want_n, s, ": %d words, want %d", n, want_n);
	for (int i = 0; i < n && i < want_n; i++)
		check_str(file, line, w[i], want[i], s);
	check_fmt(file, line, w[n] == NULL, s, ": not NULL-terminated");
	fa_proc_argv_free(w);
}

#define SPLIT(s, n, ...) split_is(__FILE__, __LINE__, s, n, (const char *[]){ __VA_ARGS__ })

static void test_split(void)
{
	int n = 0;

	SPLIT("fa-mcp serve x.sql", 3, "fa-mcp", "serve", "x.sql");
	SPLIT("  a\t b\n", 2, "a", "b");
	SPLIT("sh -c 'exit 7'", 3, "sh", "-c", "exit 7");
	SPLIT("a\" b \"c", 1, "a b c");
	SPLIT("'' x", 2, "", "x");
	SPLIT("a\\ b \"\\$x\" '\\n'", 3, "a b", "$x", "\\n");
	SPLIT("", 0, NULL);
	CHECK(fa_proc_split("sh -c 'open", &n) == NULL);
	CHECK(fa_proc_split("\"", &n) == NULL);
}

static void test_spawn(void)
{
	struct fa_error err = { 0 };
	struct fa_proc p;
	char *cat[] = { "cat", NULL }, *stubborn[] = { "sh", "-c", "trap '' TERM; while :; do :; done", NULL };
	char *none[] = { "no-such-fa-command", NULL }, buf[16];
	int st = -1;

	CHECK(fa_proc_spawn(&p, none, NULL, 0, true, &err) == FA_ECONNECT);
	CHECK_STR(err.msg, "cannot start 'no-such-fa-command': No such file or directory");
	CHECK(p.pid == 0 && p.in < 0 && p.out < 0);

	CHECK(fa_proc_spawn(&p, cat, NULL, 0, true, &err) == FA_OK, "%s", err.msg);
	CHECK(write(p.in, "hi\n", 3) == 3);
	CHECK(read(p.out, buf, sizeof(buf)) == 3 && !memcmp(buf, "hi\n", 3));
	fa_proc_stop(&p, 1000, &st);                    /* cat ends on EOF */
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	CHECK(p.pid == 0 && p.in < 0 && p.out < 0);

	CHECK(fa_proc_spawn(&p, stubborn, NULL, 0, true, &err) == FA_OK, "%s", err.msg);
	fa_proc_stop(&p, 100, &st);                     /* only SIGKILL ends it */
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
}

int main(int argc, char **argv)
{
	rnd_seed("test_proc", argc, argv);
	RUN(test_split);
	RUN(test_spawn);
	return check_report("test_proc");
}
