#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

char **fa_proc_split(const char *s, int *n)
{
	char **w = calloc(strlen(s) / 2 + 2, sizeof(*w));
	struct fa_buf b;
	char q = 0;
	bool in_word = false;

	*n = 0;
	if (!w)
		return NULL;
	fa_buf_init(&b, 0);
	for (;; s++) {
		if (!q && (!*s || *s == ' ' || *s == '\t' || *s == '\n')) {
			if (in_word) {
				char *d = fa_buf_detach(&b, NULL);

				w[(*n)++] = d ? d : strdup("");        /* '' is an empty word */
			}
			in_word = false;
			if (!*s)
				break;
			continue;
		}
		if (!*s) {              /* an open quote */
			fa_buf_release(&b);
			fa_proc_argv_free(w);
			*n = 0;
			return NULL;
		}
		in_word = true;
		if (*s == q && q) {
			q = 0;
		} else if (!q && (*s == '\'' || *s == '"')) {
			q = *s;
		} else if (*s == '\\' && q != '\'' && s[1] &&
			   (!q || strchr("\"\\$`", s[1]))) {
			fa_buf_putc(&b, *++s);
		} else {
			fa_buf_putc(&b, *s);
		}
	}
	fa_buf_release(&b);
	return w;
}

void fa_proc_argv_free(char **argv)
{
	if (!argv)
		return;
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* The child: its pipes as stdin and stdout, the extra environment, exec;
   errno goes back on report when exec fails. */
static void child(int in, int out, int report, bool quiet, char *const *argv, char **env,
		  int nenv)
{
	sigset_t none;
	int e;

	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	if (quiet) {
		int dn = open("/dev/null", O_WRONLY);

		if (dn >= 0 && dn != STDERR_FILENO) {
			dup2(dn, STDERR_FILENO);
			close(dn);
		}
	}
	/* a group of its own: Ctrl-C at the terminal is the parent's to
	   handle, and the child hears of it by EOF */
	setpgid(0, 0);
	/* a parent that takes signals on a thread of its own blocks them
	   elsewhere, and exec keeps the mask: the child must hear its own */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int i = 0; i < nenv; i++)
		putenv(env[i]);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

enum fa_err fa_proc_spawn(struct fa_proc *p, char *const *argv, char **env, int nenv,
			  bool quiet, struct fa_error *err)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, rep[2] = { -1, -1 }, e = 0;

	*p = (struct fa_proc){ .pid = 0, .in = -1, .out = -1 };
	if (!argv || !argv[0])
		return fa_error_set(err, FA_EUSAGE, "no command to start");
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) {
		e = errno;
		for (int i = 0; i < 2; i++) {
			if (to[i] >= 0)
				close(to[i]);
			if (from[i] >= 0)
				close(from[i]);
		}
		return fa_error_set(err, FA_ECONNECT, "cannot start '%s': %s", argv[0], strerror(e));
	}
	if ((p->pid = fork()) == 0)
		child(to[0], from[1], rep[1], quiet, argv, env, nenv);
	e = errno;
	close(to[0]);
	close(from[1]);
	close(rep[1]);
	if (p->pid > 0 && read(rep[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
		e = 0;
	close(rep[0]);
	if (p->pid < 0 || e) {
		if (p->pid > 0)
			waitpid(p->pid, NULL, 0);
		p->pid = 0;
		close(to[1]);
		close(from[0]);
		return fa_error_set(err, FA_ECONNECT, "cannot start '%s': %s", argv[0], strerror(e));
	}
	p->in = to[1];
	p->out = from[0];
	return FA_OK;
}

bool fa_proc_reaped(struct fa_proc *p, int ms, int *status)
{
	struct timespec ts = { 0, 5 * 1000000L };

	if (p->pid <= 0)
		return true;
	for (int waited = 0;; waited += 5) {
		if (waitpid(p->pid, status, WNOHANG) == p->pid) {
			p->pid = 0;
			return true;
		}
		if (waited >= ms)
			return false;
		nanosleep(&ts, NULL);
	}
}

void fa_proc_stop(struct fa_proc *p, int wait_ms, int *status)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
	/* the signals go to the child's whole group (it has its own, see
	   child()): a shell's children would otherwise outlive it and keep
	   its pipes, and whoever reads them, waiting */
	if (p->pid > 0 && !fa_proc_reaped(p, wait_ms, status)) {
		kill(-p->pid, SIGTERM);
		if (!fa_proc_reaped(p, wait_ms, status)) {
			kill(-p->pid, SIGKILL);
			waitpid(p->pid, status, 0);
		}
	}
	p->pid = 0;
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
}
