/*
 * fa-mcp client: a server as a child process on stdio.  The command line
 * is split as a shell would split it (quotes, backslashes) and run without
 * a shell, in a process group of its own.  It is stopped the way the MCP
 * lifecycle asks: stdin closed, a wait, then SIGTERM, then SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "core/buf.h"

#define MAX_LINE (64u << 20)
#define STOP_WAIT_MS 2000

struct cstdio {
	struct ctransport t;
	struct fa_loop *loop;
	struct fa_io out;               /* the child's stdout */
	int in;                         /* the child's stdin */
	pid_t pid;
	char *name;                     /* argv[0], for messages */
	struct fa_buf line;
	char gone[256];                 /* how it ended, once it has */
};

char **client_split_words(const char *s, int *n)
{
	char **w = calloc(strlen(s) / 2 + 2, sizeof(*w));
	struct fa_buf b;
	char q = 0;
	bool in_word = false;

	*n = 0;
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
			for (int i = 0; i < *n; i++)
				free(w[i]);
			free(w);
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

static void take_lines(struct cstdio *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (fa_buf_append(&c->line, p, k)) {
			c->t.on_fail(&c->t, FA_EINPUT, "the server wrote a line over 64 MiB");
			return;
		}
		if (!nl)
			return;
		if (c->line.len)
			c->t.on_message(&c->t, c->line.data, c->line.len);
		fa_buf_reset(&c->line);
		p += k + 1;
		n -= k + 1;
	}
}

/* Waits up to ms for the child to end; true when it did. */
static bool reaped(pid_t pid, int *status, int ms)
{
	struct timespec ts = { 0, 10 * 1000000L };

	for (int waited = 0; waited <= ms; waited += 10) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * Ends the child as the MCP lifecycle asks: its stdin closed, a wait,
 * SIGTERM, a wait, SIGKILL.  Its wait status in *status.
 */
static void stop_child(struct cstdio *c, int *status)
{
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	if (c->pid <= 0)
		return;
	if (!reaped(c->pid, status, STOP_WAIT_MS)) {
		kill(c->pid, SIGTERM);
		if (!reaped(c->pid, status, STOP_WAIT_MS)) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, status, 0);
		}
	}
	c->pid = 0;
}

/* How the child ended, when its stdout closed: for messages. */
static void exit_reason(struct cstdio *c, char *msg, size_t n)
{
	int st = 0;

	if (c->gone[0] || c->pid <= 0) {
		snprintf(msg, n, "%s", c->gone[0] ? c->gone : "the server has stopped");
		return;
	}
	if (!reaped(c->pid, &st, 100)) {
		snprintf(c->gone, sizeof(c->gone), "the server '%s' closed its standard output",
			 c->name);
		stop_child(c, &st);
	} else if (WIFSIGNALED(st)) {
		snprintf(c->gone, sizeof(c->gone), "the server '%s' was killed by signal %d",
			 c->name, WTERMSIG(st));
	} else {
		snprintf(c->gone, sizeof(c->gone),
			 "the server '%s' exited with status %d before answering", c->name,
			 WEXITSTATUS(st));
	}
	c->pid = 0;
	snprintf(msg, n, "%s", c->gone);
}



static void on_out(struct fa_io *io, uint32_t ev)
{
	struct cstdio *c = io->ctx;
	char chunk[65536], msg[512];
	ssize_t n;

	while ((n = read(c->out.fd, chunk, sizeof(chunk))) > 0)
		take_lines(c, chunk, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		fa_loop_del(c->loop, &c->out);
		close(c->out.fd);
		c->out.fd = -1;
		exit_reason(c, msg, sizeof(msg));
		c->t.on_fail(&c->t, FA_ECONNECT, msg);
	}
}

static enum fa_err cs_send(struct ctransport *t, const char *msg, size_t len,
			   const struct csend *info, struct fa_error *err)
{
	struct cstdio *c = (struct cstdio *)t;
	const char *parts[2] = { msg, "\n" };
	size_t lens[2] = { len, 1 };

	for (int i = 0; i < 2; i++)
		while (lens[i]) {
			ssize_t k = c->in >= 0 ? write(c->in, parts[i], lens[i]) : -1;

			if (k < 0 && errno == EINTR)
				continue;
			if (c->in < 0 || (k < 0 && errno == EPIPE)) {
				/* it is gone: say how it ended */
				exit_reason(c, err->msg, sizeof(err->msg));
				err->code = FA_ECONNECT;
				return FA_ECONNECT;
			}
			if (k <= 0)
				return fa_error_set(err, FA_ECONNECT, "cannot write to the server '%s': %s",
						    c->name, strerror(errno));
			parts[i] += k;
			lens[i] -= (size_t)k;
		}
	return FA_OK;
}

static void cs_reply(struct ctransport *t, const char *msg, size_t len)
{
	struct fa_error err = { 0 };

	if (cs_send(t, msg, len, NULL, &err))
		t->on_fail(t, err.code, err.msg);
}

static void cs_close(struct ctransport *t)
{
	struct cstdio *c = (struct cstdio *)t;
	int st;

	if (c->out.fd >= 0) {
		fa_loop_del(c->loop, &c->out);
		close(c->out.fd);
	}
	stop_child(c, &st);
	fa_buf_release(&c->line);
	free(c->name);
	free(c);
}

/* The child: its pipes as stdin and stdout, the extra environment, exec. */
static void child(int in, int out, int report, char **argv, char **env, int nenv)
{
	int e;

	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	/* a group of its own: Ctrl-C at the terminal is fa-mcp's to handle
	   (the shell keeps its server), and the server hears of it by EOF */
	setpgid(0, 0);
	for (int i = 0; i < nenv; i++)
		putenv(env[i]);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

struct ctransport *cstdio_new(struct fa_loop *loop, const char *command, char **env, int nenv,
			      struct fa_error *err)
{
	int to[2], from[2], rep[2], n = 0, e = 0;
	char **argv = client_split_words(command, &n);
	struct cstdio *c;

	if (!argv || !n) {
		fa_error_set(err, FA_EUSAGE, "--stdio '%s': %s", command, argv ? "no command" : "an open quote");
		free(argv);
		return NULL;
	}
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) {
		fa_error_set(err, FA_ECONNECT, "cannot start '%s': %s", argv[0], strerror(errno));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	c->loop = loop;
	c->name = strdup(argv[0]);
	if ((c->pid = fork()) == 0)
		child(to[0], from[1], rep[1], argv, env, nenv);
	close(to[0]);
	close(from[1]);
	close(rep[1]);
	if (c->pid < 0 || read(rep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		fa_error_set(err, FA_ECONNECT, "cannot start '%s': %s", argv[0], strerror(c->pid < 0 ? errno : e));
		if (c->pid > 0)
			waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	close(rep[0]);
	for (int i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	c->in = to[1];
	c->out = (struct fa_io){ .fd = from[0], .cb = on_out, .ctx = c };
	fa_buf_init(&c->line, MAX_LINE);
	c->t = (struct ctransport){ .send = cs_send, .reply = cs_reply, .close = cs_close };
	if (!c->pid) {
		cs_close(&c->t);
		return NULL;
	}
	fcntl(c->out.fd, F_SETFL, fcntl(c->out.fd, F_GETFL) | O_NONBLOCK);
	fa_loop_add(loop, &c->out, FA_IN);
	return &c->t;
}
