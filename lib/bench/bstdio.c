#include "bench/bstdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/proc.h"
#include "core/stats.h"
#include "mcp/jsonrpc.h"

#define MAX_LINE (64u << 20)
#define MAX_PENDING (64u << 20)
#define RETRY_MS 100
#define LOST_WAIT_MS 100
#define CLOSE_WAIT_MS 1000

enum fa_err fa_bench_mcp_stdio(struct fa_bench_mcp *cfg, const char *command,
			       struct fa_error *err)
{
	int n = 0;
	char **argv = fa_proc_split(command, &n);

	if (!argv || !n) {
		fa_proc_argv_free(argv);
		return fa_error_set(err, FA_EUSAGE, "--stdio '%s': %s", command,
				    argv ? "no command" : "an open quote");
	}
	fa_proc_argv_free(cfg->argv);
	free(cfg->command);
	cfg->argv = argv;
	if (!(cfg->command = strdup(command)))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	return FA_OK;
}

/* ---- a child --------------------------------------------------------------- */

enum { S_DEAD, S_INIT, S_READY };

struct call {
	unsigned long long id;
	struct fa_bench_req *r;
};

struct child {
	const struct fa_bench_mcp *cfg;
	struct fa_loop *loop;
	struct fa_bench_conn *bc;
	struct fa_proc p;
	struct fa_io out;               /* its stdout, while p.out >= 0 */
	struct fa_io in;                /* its stdin, watched while writes are pending */
	bool in_watched;
	int state;
	uint64_t t0;
	unsigned long long next_id;
	struct fa_buf wbuf;             /* lines not yet written */
	size_t woff;
	struct fa_buf line;             /* a line read in part */
	struct call *calls;             /* in flight, oldest first */
	int ncalls, capcalls;
	struct fa_timer tmo, retry, fail, refuse;
	char failmsg[512];              /* for the fail timer */
	bool up_once;                   /* a handshake has succeeded: the engine keeps sending */
	bool cannot_start;              /* the last start failed: calls are refused */
	char why[512];                  /* why the child is down, while it is */
};

static void start(struct child *c);

/* Stops the child (not the struct): its calls end with kind and msg. */
static void lost(struct child *c, enum fa_bench_kind kind, const char *msg)
{
	int st, n = c->ncalls;
	struct call *calls = c->calls;

	if (c->p.out >= 0)
		fa_loop_del(c->loop, &c->out);
	if (c->in_watched)
		fa_loop_del(c->loop, &c->in);
	c->in_watched = false;
	fa_proc_stop(&c->p, LOST_WAIT_MS, &st);
	fa_timer_stop(c->loop, &c->tmo);
	fa_timer_stop(c->loop, &c->fail);
	fa_buf_reset(&c->wbuf);
	fa_buf_reset(&c->line);
	c->woff = 0;
	c->state = S_DEAD;
	snprintf(c->why, sizeof(c->why), "%s", msg);
	/* before its first handshake the run cannot start; after, calls
	   made meanwhile wait for the next child's handshake, and end with
	   it if it fails, so a run of -n requests always ends */
	if (!c->up_once)
		fa_bench_down(c->bc, msg);
	/* ended from a copy: fa_bench_done may send on other connections */
	c->calls = NULL;
	c->ncalls = c->capcalls = 0;
	for (int i = 0; i < n; i++)
		fa_bench_done(calls[i].r, kind, NULL, msg);
	free(calls);
	fa_timer_start(c->loop, &c->retry, RETRY_MS);
}

/* Ends the calls made while the child is down. */
static void on_refuse(struct fa_timer *t)
{
	struct child *c = t->ctx;
	struct call *calls = c->calls;
	int n = c->ncalls;

	if (c->state != S_DEAD || !c->cannot_start)
		return;                 /* they wait for the next child's handshake */
	c->calls = NULL;
	c->ncalls = c->capcalls = 0;
	fa_timer_stop(c->loop, &c->tmo);
	for (int i = 0; i < n; i++)
		fa_bench_done(calls[i].r, FA_BENCH_ECONNECT, NULL, c->why);
	free(calls);
}

static void on_fail(struct fa_timer *t)
{
	struct child *c = t->ctx;

	lost(c, FA_BENCH_ECONNECT, c->failmsg);
}

/* Fails the child from a turn of its own (never inside send). */
static void fail_later(struct child *c, const char *msg)
{
	if (c->fail.slot >= 0)
		return;
	snprintf(c->failmsg, sizeof(c->failmsg), "%s", msg);
	fa_timer_start(c->loop, &c->fail, 0);
}

static void on_in(struct fa_io *io, uint32_t ev);

/* Writes what is pending; watches stdin while the pipe is full. */
static void flush(struct child *c)
{
	char msg[512];

	while (c->woff < c->wbuf.len) {
		ssize_t k = write(c->p.in, c->wbuf.data + c->woff, c->wbuf.len - c->woff);

		if (k > 0) {
			c->woff += (size_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && errno == EAGAIN) {
			if (!c->in_watched) {
				c->in = (struct fa_io){ .fd = c->p.in, .cb = on_in, .ctx = c };
				c->in_watched = !fa_loop_add(c->loop, &c->in, FA_OUT);
			}
			return;
		} else {
			snprintf(msg, sizeof(msg), "cannot write to the MCP server '%s': %s",
				 c->cfg->command, strerror(errno));
			fail_later(c, msg);
			return;
		}
	}
	fa_buf_reset(&c->wbuf);
	c->woff = 0;
	if (c->in_watched)
		fa_loop_del(c->loop, &c->in);
	c->in_watched = false;
}

static void on_in(struct fa_io *io, uint32_t ev)
{
	flush(io->ctx);
}

static void put_line_end(struct child *c)
{
	if (fa_buf_putc(&c->wbuf, '\n'))
		fail_later(c, "more than 64 MiB waiting to be written to the MCP server");
}

/* How the child ended once its stdout closed, naming the command. */
static void exit_reason(struct child *c, char *msg, size_t n)
{
	int st = 0;

	if (!fa_proc_reaped(&c->p, LOST_WAIT_MS, &st))
		snprintf(msg, n, "the MCP server '%s' closed its standard output", c->cfg->command);
	else if (WIFSIGNALED(st))
		snprintf(msg, n, "the MCP server '%s' was killed by signal %d", c->cfg->command,
			 WTERMSIG(st));
	else
		snprintf(msg, n, "the MCP server '%s' exited with status %d", c->cfg->command,
			 WEXITSTATUS(st));
}

static void garbage(struct child *c, const char *why, const char *p, size_t n)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "the MCP server '%s' wrote %s: '%.*s'%s", c->cfg->command, why,
		 (int)(n > 60 ? 60 : n), p, n > 60 ? "..." : "");
	lost(c, FA_BENCH_EPROTOCOL, msg);
}

static void arm_timeout(struct child *c)
{
	uint64_t t = fa_bench_conn_timeout(c->bc);

	if (!t || !c->ncalls)
		fa_timer_stop(c->loop, &c->tmo);
	else
		fa_timer_start_at(c->loop, &c->tmo, c->calls[0].r->sent_ns + t);
}

/* Calls older than the timeout end as timeouts; their answers, if they come, are ignored. */
static void on_timeout(struct fa_timer *tm)
{
	struct child *c = tm->ctx;
	uint64_t t = fa_bench_conn_timeout(c->bc), now = fa_now_ns();
	char msg[512];
	int k = 0;

	while (k < c->ncalls && c->calls[k].r->sent_ns + t <= now)
		k++;
	if (!k) {
		arm_timeout(c);
		return;
	}
	struct call *old = malloc((size_t)k * sizeof(*old));

	if (old)
		memcpy(old, c->calls, (size_t)k * sizeof(*old));
	memmove(c->calls, c->calls + k, (size_t)(c->ncalls - k) * sizeof(*c->calls));
	c->ncalls -= k;
	arm_timeout(c);
	snprintf(msg, sizeof(msg), "no answer from the MCP server '%s' within %.3g s",
		 c->cfg->command, (double)t / 1e9);
	for (int i = 0; old && i < k; i++)
		fa_bench_done(old[i].r, FA_BENCH_ETIMEOUT, NULL, msg);
	free(old);
}

static void answer_request(struct child *c, const struct fa_jr_msg *m)
{
	if (!strcmp(m->method, "ping"))
		fa_jr_put_result(&c->wbuf, m->id, NULL);
	else
		fa_jr_put_error(&c->wbuf, m->id, FA_JR_METHOD_NOT_FOUND, "fa-bench answers only ping",
				NULL);
	put_line_end(c);
	flush(c);
}

static void put_call(struct child *c, unsigned long long id)
{
	fa_buf_printf(&c->wbuf, "{\"jsonrpc\":\"2.0\",\"id\":%llu,%s", id, c->cfg->call);
	put_line_end(c);
}

static void handshake_answer(struct child *c, const struct fa_jr_msg *m, const char *p, size_t n)
{
	char msg[512];

	if (!json_is_integer(m->id) || json_integer_value(m->id) != 1) {
		garbage(c, "an answer to no request", p, n);
		return;
	}
	if (m->kind == FA_JR_ERROR) {
		snprintf(msg, sizeof(msg), "the MCP server '%s' refused %s: %.300s",
			 c->cfg->command, c->cfg->modern ? "server/discover" : "initialize",
			 m->message ? m->message : "an error");
		lost(c, FA_BENCH_ECONNECT, msg);
		return;
	}
	if (!c->cfg->modern) {          /* 2026-07-28 has no session to open */
		fa_jr_put_notification(&c->wbuf, "notifications/initialized", NULL);
		put_line_end(c);
	}
	for (int i = 0; i < c->ncalls; i++)     /* made while it started again */
		put_call(c, c->calls[i].id);
	flush(c);
	c->state = S_READY;
	fa_bench_handshake(c->bc, fa_now_ns() - c->t0);
	if (!c->up_once)
		fa_bench_ready(c->bc);
	c->up_once = true;
}

static void on_line(struct child *c, const char *p, size_t n)
{
	struct fa_jr_msg m;
	struct fa_error err = { 0 };
	long long id;
	int i;

	if (fa_jr_parse(&m, p, n, &err)) {
		fa_jr_release(&m);
		garbage(c, "a line that is not JSON-RPC", p, n);
		return;
	}
	if (m.kind == FA_JR_REQUEST) {
		answer_request(c, &m);
	} else if (m.kind == FA_JR_NOTIFICATION) {
		;                               /* logging, progress: not ours to judge */
	} else if (c->state == S_INIT) {
		handshake_answer(c, &m, p, n);
	} else if (!json_is_integer(m.id)) {
		garbage(c, "an answer with an id fa-bench never sent", p, n);
	} else {
		id = json_integer_value(m.id);
		for (i = 0; i < c->ncalls && c->calls[i].id != (unsigned long long)id; i++)
			;
		if (i < c->ncalls) {            /* else: a call that timed out */
			struct fa_bench_req *r = c->calls[i].r;

			memmove(c->calls + i, c->calls + i + 1,
				(size_t)(c->ncalls - i - 1) * sizeof(*c->calls));
			c->ncalls--;
			if (!i)
				arm_timeout(c);
			fa_bench_mcp_judge(r, &m);
		}
	}
	fa_jr_release(&m);
}

/* Splits what was read into lines; stops when the child was lost on one. */
static void take(struct child *c, const char *p, size_t n)
{
	while (n && c->state != S_DEAD) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!c->line.len && nl) {
			if (k)
				on_line(c, p, k);
		} else if (fa_buf_append(&c->line, p, k)) {
			garbage(c, "a line over 64 MiB", c->line.data, c->line.len);
			return;
		} else if (nl) {
			if (c->line.len)
				on_line(c, c->line.data, c->line.len);
			fa_buf_reset(&c->line);
		}
		if (!nl)
			return;
		p += k + 1;
		n -= k + 1;
	}
}

static void on_out(struct fa_io *io, uint32_t ev)
{
	struct child *c = io->ctx;
	char chunk[65536], msg[512];
	ssize_t n;

	while (c->state != S_DEAD && (n = read(c->p.out, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;
		}
		take(c, chunk, (size_t)n);
	}
	if (c->state == S_DEAD)
		return;
	exit_reason(c, msg, sizeof(msg));
	lost(c, FA_BENCH_ECONNECT, msg);
}

/* Starts the child and its handshake; false with err when it cannot start. */
static bool spawn(struct child *c, struct fa_error *err)
{
	if (fa_proc_spawn(&c->p, c->cfg->argv, NULL, 0, false, err))
		return false;
	fcntl(c->p.in, F_SETFL, fcntl(c->p.in, F_GETFL) | O_NONBLOCK);
	fcntl(c->p.out, F_SETFL, fcntl(c->p.out, F_GETFL) | O_NONBLOCK);
	c->out = (struct fa_io){ .fd = c->p.out, .cb = on_out, .ctx = c };
	fa_loop_add(c->loop, &c->out, FA_IN);
	c->state = S_INIT;
	if (!c->next_id)
		c->next_id = 2;
	c->t0 = fa_now_ns();
	fa_bench_mcp_put_handshake(c->cfg, &c->wbuf);
	put_line_end(c);
	flush(c);
	return true;
}

static void start(struct child *c)
{
	struct fa_error err = { 0 };

	c->cannot_start = !spawn(c, &err);
	if (c->cannot_start) {
		snprintf(c->why, sizeof(c->why), "%.500s", err.msg);
		if (!c->up_once)
			fa_bench_down(c->bc, err.msg);
		else if (c->ncalls && c->refuse.slot < 0)
			fa_timer_start(c->loop, &c->refuse, 0);
		fa_timer_start(c->loop, &c->retry, 1000);
	}
}

static void on_retry(struct fa_timer *t)
{
	start(t->ctx);
}

static void *stdio_open(const void *vcfg, struct fa_loop *loop, struct fa_bench_conn *bc,
			struct fa_error *err)
{
	struct child *c = calloc(1, sizeof(*c));

	if (!c) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	c->cfg = vcfg;
	c->loop = loop;
	c->bc = bc;
	c->p = (struct fa_proc){ .pid = 0, .in = -1, .out = -1 };
	fa_buf_init(&c->wbuf, MAX_PENDING);
	fa_buf_init(&c->line, MAX_LINE);
	fa_timer_init(&c->tmo, on_timeout, c);
	fa_timer_init(&c->retry, on_retry, c);
	fa_timer_init(&c->fail, on_fail, c);
	fa_timer_init(&c->refuse, on_refuse, c);
	if (!spawn(c, err)) {
		fa_buf_release(&c->wbuf);
		fa_buf_release(&c->line);
		free(c);
		return NULL;
	}
	return c;
}

static void stdio_send(void *vc, struct fa_bench_req *r)
{
	struct child *c = vc;

	if (c->ncalls == c->capcalls) {
		int cap = c->capcalls ? c->capcalls * 2 : 4;
		struct call *n = realloc(c->calls, (size_t)cap * sizeof(*n));

		if (!n) {
			fail_later(c, "out of memory");
			return;
		}
		c->calls = n;
		c->capcalls = cap;
	}
	c->calls[c->ncalls++] = (struct call){ c->next_id++, r };
	if (c->ncalls == 1)
		arm_timeout(c);
	if (c->state == S_READY) {
		put_call(c, c->calls[c->ncalls - 1].id);
		flush(c);
	} else if (c->cannot_start && c->refuse.slot < 0) {
		fa_timer_start(c->loop, &c->refuse, 0);
	}                               /* else written once a handshake is done */
}

static void stdio_close(void *vc)
{
	struct child *c = vc;
	int st;

	if (c->p.out >= 0)
		fa_loop_del(c->loop, &c->out);
	if (c->in_watched)
		fa_loop_del(c->loop, &c->in);
	fa_proc_stop(&c->p, CLOSE_WAIT_MS, &st);
	fa_timer_stop(c->loop, &c->tmo);
	fa_timer_stop(c->loop, &c->retry);
	fa_timer_stop(c->loop, &c->fail);
	fa_timer_stop(c->loop, &c->refuse);
	fa_buf_release(&c->wbuf);
	fa_buf_release(&c->line);
	free(c->calls);
	free(c);
}

const struct fa_bench_target fa_bench_mcp_stdio_target = {
	.name = "mcp",
	.open = stdio_open,
	.send = stdio_send,
	.close = stdio_close,
};
