/*
 * fa-mcp client: a server as a child process on stdio.  The command line
 * is split as a shell would split it (quotes, backslashes) and run without
 * a shell, in a process group of its own.  It is stopped the way the MCP
 * lifecycle asks: stdin closed, a wait, then SIGTERM, then SIGKILL.
 *
 * Messages to the child are gathered and written once a loop turn (a
 * timer of 0 ms, which runs after the turn's I/O): a proxy in front of
 * many clients sends one write for all the requests of a turn, not two
 * for each, and the child wakes once to read them.
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
#include "core/proc.h"

#define MAX_LINE (64u << 20)
#define STOP_WAIT_MS 2000
#define FLUSH_AT (256u << 10)           /* gathered this much: written at once */

struct cstdio {
	struct ctransport t;
	struct fa_loop *loop;
	struct fa_io out;               /* the child's stdout */
	struct fa_proc p;               /* p.in: its stdin; p.out is taken into out */
	char *name;                     /* argv[0], for messages */
	struct fa_buf line;
	struct fa_buf out_buf;          /* messages not yet written to its stdin (no cap: each was bounded when made) */
	struct fa_timer flush;          /* writes out_buf at the end of the turn */
	char gone[256];                 /* how it ended, once it has */
};

static void take_lines(struct cstdio *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (nl && !c->line.len && k <= c->line.max) {
			/* a whole line in what was read: no copy */
			if (k)
				c->t.on_message(&c->t, p, k);
			p += k + 1;
			n -= k + 1;
			continue;
		}
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

/* Ends the child as the MCP lifecycle asks (core/proc); its wait status in *status. */
static void stop_child(struct cstdio *c, int *status)
{
	fa_proc_stop(&c->p, STOP_WAIT_MS, status);
}

/* How the child ended, when its stdout closed: for messages. */
static void exit_reason(struct cstdio *c, char *msg, size_t n)
{
	int st = 0;

	if (c->gone[0] || c->p.pid <= 0) {
		snprintf(msg, n, "%s", c->gone[0] ? c->gone : "the server has stopped");
		return;
	}
	if (!fa_proc_reaped(&c->p, 100, &st)) {
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
	c->p.pid = 0;
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

/* The child is gone: err says how it ended. */
static enum fa_err gone_error(struct cstdio *c, struct fa_error *err)
{
	exit_reason(c, err->msg, sizeof(err->msg));
	err->code = FA_ECONNECT;
	return FA_ECONNECT;
}

/* Writes out_buf to the child's stdin, whole; FA_ECONNECT with err set when it cannot. */
static enum fa_err write_out(struct cstdio *c, struct fa_error *err)
{
	size_t off = 0;

	while (off < c->out_buf.len) {
		ssize_t k = c->p.in >= 0 ? write(c->p.in, c->out_buf.data + off, c->out_buf.len - off) : -1;

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fa_buf_reset(&c->out_buf);
			if (c->p.in < 0 || errno == EPIPE)
				return gone_error(c, err);
			return fa_error_set(err, FA_ECONNECT, "cannot write to the server '%s': %s",
					    c->name, strerror(errno));
		}
		off += (size_t)k;
	}
	fa_buf_reset(&c->out_buf);
	return FA_OK;
}

static void on_flush(struct fa_timer *timer)
{
	struct cstdio *c = timer->ctx;
	struct fa_error err = { 0 };

	if (write_out(c, &err))
		c->t.on_fail(&c->t, err.code, err.msg);
}

static enum fa_err cs_send(struct ctransport *t, const char *msg, size_t len,
			   const struct csend *info, struct fa_error *err)
{
	struct cstdio *c = (struct cstdio *)t;

	if (c->p.in < 0)
		return gone_error(c, err);
	if (fa_buf_append(&c->out_buf, msg, len) || fa_buf_putc(&c->out_buf, '\n'))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	if (c->out_buf.len >= FLUSH_AT) {
		fa_timer_stop(c->loop, &c->flush);
		return write_out(c, err);
	}
	if (c->flush.slot < 0)
		fa_timer_start(c->loop, &c->flush, 0);
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
	struct fa_error err = { 0 };
	int st;

	fa_timer_stop(c->loop, &c->flush);
	write_out(c, &err);             /* what was sent goes before stdin closes */
	if (c->out.fd >= 0) {
		fa_loop_del(c->loop, &c->out);
		close(c->out.fd);
	}
	stop_child(c, &st);
	fa_buf_release(&c->line);
	fa_buf_release(&c->out_buf);
	free(c->name);
	free(c);
}

struct ctransport *cstdio_new(struct fa_loop *loop, const char *command, char **env, int nenv,
			      struct fa_error *err)
{
	int n = 0;
	char **argv = fa_proc_split(command, &n);
	struct cstdio *c;

	if (!argv || !n) {
		fa_error_set(err, FA_EUSAGE, "--stdio '%s': %s", command, argv ? "no command" : "an open quote");
		fa_proc_argv_free(argv);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	c->loop = loop;
	c->name = strdup(argv[0]);
	fa_buf_init(&c->line, MAX_LINE);
	fa_buf_init(&c->out_buf, 0);
	fa_timer_init(&c->flush, on_flush, c);
	c->t = (struct ctransport){ .send = cs_send, .reply = cs_reply, .close = cs_close };
	c->out.fd = -1;
	if (fa_proc_spawn(&c->p, argv, env, nenv, false, err)) {
		fa_proc_argv_free(argv);
		cs_close(&c->t);
		return NULL;
	}
	fa_proc_argv_free(argv);
	c->out = (struct fa_io){ .fd = c->p.out, .cb = on_out, .ctx = c };
	c->p.out = -1;
	fcntl(c->out.fd, F_SETFL, fcntl(c->out.fd, F_GETFL) | O_NONBLOCK);
	fa_loop_add(loop, &c->out, FA_IN);
	return &c->t;
}
