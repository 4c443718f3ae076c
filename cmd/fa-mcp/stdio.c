/*
 * fa-mcp: the stdio transport.  One JSON-RPC message per line on stdin,
 * one per line on stdout, nothing else on stdout; logs go to stderr.
 * Calls run concurrently on the pool, so answers may come out of order;
 * each carries its request's id.  The server ends when stdin closes and
 * the calls in flight have answered.  What goes out is gathered and
 * written once a loop turn (a timer of 0 ms, after the turn's I/O): one
 * write for the answers of a turn, not two for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "famcp.h"

struct sio {
	struct app *a;
	struct worker *w;
	struct fa_loop *loop;           /* w's, kept for put_line() while w is freed */
	struct peer peer;               /* what the one client set */
	struct listener hears;          /* the client, once it initialized */
	struct fa_io in;
	struct fa_buf line;             /* a line not yet ended */
	struct fa_buf out;              /* lines not yet written to stdout */
	struct fa_timer flush;          /* writes out at the end of the turn */
	bool skipping;                  /* in a line over the size limit */
	bool eof;
};

static volatile sig_atomic_t stop_sig, reload_sig;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_sig = 1;
	else
		stop_sig = sig;
}

#define FLUSH_AT (256u << 10)           /* gathered this much: written at once */

/* What was gathered to stdout, whole, even when stdout is a slow pipe. */
static void flush_out(struct sio *s)
{
	size_t off = 0;

	while (off < s->out.len) {
		ssize_t k = write(STDOUT_FILENO, s->out.data + off, s->out.len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;          /* the client is gone; its answers with it */
		off += (size_t)k;
	}
	fa_buf_reset(&s->out);
}

static void on_flush(struct fa_timer *t)
{
	flush_out(t->ctx);
}

/* msg and a newline to stdout, at the end of this turn. */
static void put_line(struct sio *s, const char *msg, size_t len)
{
	if (fa_buf_append(&s->out, msg, len) || fa_buf_putc(&s->out, '\n'))
		return;         /* out of memory (out has no cap: each answer was bounded when made) */
	if (s->out.len >= FLUSH_AT)
		flush_out(s);
	else if (s->flush.slot < 0)
		fa_timer_start(s->loop, &s->flush, 0);
}

static void reply_done(struct reply *r, int status, const char *msg, size_t len)
{
	if (len)
		put_line(r->ctx, msg, len);
	reply_release(r);
	free(r);
}

static void reply_notify(struct reply *r, const char *msg, size_t len)
{
	put_line(r->ctx, msg, len);
}

static bool with_peer(struct reply *r, void (*fn)(struct peer *p, void *arg), void *arg)
{
	struct sio *s = r->ctx;

	fn(&s->peer, arg);
	return true;
}

static void hears_send(struct listener *l, const char *msg, size_t len)
{
	put_line(l->ctx, msg, len);
}

static bool hears_subscribed(struct listener *l, const char *uri)
{
	struct sio *s = l->ctx;

	for (int i = 0; i < s->peer.nsubs; i++)
		if (!strcmp(s->peer.subs[i], uri))
			return true;
	return false;
}

static void hears_subs(struct listener *l, void (*fn)(const char *uri, void *arg), void *arg)
{
	struct sio *s = l->ctx;

	peer_each_sub(&s->peer, fn, arg);
}

static void error_line(struct sio *s, const json_t *id, int code, const char *message)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_error(&b, id, code, message, NULL);
	put_line(s, b.data, b.len);
	fa_buf_release(&b);
}

static void handle_line(struct sio *s, const char *line, size_t len)
{
	struct fa_error err = { 0 };
	struct fa_jr_msg m;
	struct reply *r;
	int code;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return;
	if ((code = fa_jr_parse(&m, line, len, &err))) {
		error_line(s, m.id, code, err.msg);
		fa_jr_release(&m);
		return;
	}
	if (m.kind == FA_JR_REQUEST) {
		r = calloc(1, sizeof(*r));
		*r = (struct reply){ .done = reply_done, .notify = reply_notify, .with_peer = with_peer,
				     .ctx = s, .id = json_incref(m.id), .era = mcp_era(&m) };
		/* a 2025 client hears of reloads from its initialize on */
		if (r->era == ERA_LEGACY && !strcmp(m.method, "initialize") && !s->hears.send) {
			s->hears = (struct listener){ .send = hears_send, .subscribed = hears_subscribed,
						      .subs = hears_subs, .wants = LISTEN_TOOLS | LISTEN_PROMPTS |
						      LISTEN_RESOURCES | LISTEN_UPDATES, .ctx = s };
			listener_add(s->w, &s->hears);
		}
		mcp_dispatch(s->w, &m, r);
	} else {
		/* a response: to a request the proxy passed on; serve sends none */
		mcp_dispatch(s->w, &m, NULL);
	}
	fa_jr_release(&m);
}

/* Splits what came in into lines; a line over the limit is refused whole. */
static void take(struct sio *s, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (nl && !s->line.len && !s->skipping && k <= s->line.max) {
			/* a whole line in what was read: no copy */
			handle_line(s, p, k);
			p += k + 1;
			n -= k + 1;
			continue;
		}
		if (!s->skipping && fa_buf_append(&s->line, p, k)) {
			char msg[96];

			snprintf(msg, sizeof(msg), "message over %zu bytes", s->a->max_message);
			error_line(s, NULL, FA_JR_INVALID_REQUEST, msg);
			fa_buf_reset(&s->line);
			s->skipping = true;
		}
		if (!nl)
			return;
		if (!s->skipping)
			handle_line(s, s->line.data ? s->line.data : "", s->line.len);
		fa_buf_reset(&s->line);
		s->skipping = false;
		p += k + 1;
		n -= k + 1;
	}
}

static void on_stdin(struct fa_io *io, uint32_t ev)
{
	struct sio *s = io->ctx;
	char chunk[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		take(s, chunk, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (s->line.len && !s->skipping)
			handle_line(s, s->line.data, s->line.len);     /* a last line without newline */
		fa_loop_del(s->w->loop, &s->in);
		s->eof = true;
	}
}

/* stdin that epoll cannot watch (a regular file): read it as it comes. */
static void read_blocking(struct sio *s, struct fa_loop *loop)
{
	char chunk[65536];
	ssize_t n;

	while (!stop_sig && (n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		take(s, chunk, (size_t)n);
		while (!stop_sig && s->w->inflight > 0)
			fa_loop_run_once(loop, 100);
		if (reload_sig) {
			reload_sig = 0;
			mcp_reload(s->a);
		}
	}
	if (s->line.len && !s->skipping)
		handle_line(s, s->line.data, s->line.len);
	s->eof = true;
}

int mcp_stdio(struct app *a)
{
	struct fa_error err = { 0 };
	struct fa_loop *loop = fa_loop_new(&err);
	struct sio s = { .a = a, .peer = { .log_level = -1 } };
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = 0;

	if (!loop) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return FA_EWORK;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fa_buf_init(&s.line, a->max_message);
	fa_buf_init(&s.out, 0);
	fa_timer_init(&s.flush, on_flush, &s);
	s.loop = loop;
	s.w = worker_new(a, loop);
	s.in = (struct fa_io){ .fd = STDIN_FILENO, .cb = on_stdin, .ctx = &s };
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	if (fa_loop_add(loop, &s.in, FA_IN) != FA_OK) {
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) & ~O_NONBLOCK);
		read_blocking(&s, loop);
	}
	while (!stop_sig && (!s.eof || s.w->inflight > 0)) {
		if (fa_loop_run_once(loop, -1) < 0 && errno != EINTR)
			break;
		if (reload_sig) {
			reload_sig = 0;
			mcp_reload(a);
		}
	}
	if (stop_sig)
		rc = FA_EINTR;
	if (s.hears.send)
		listener_remove(s.w, &s.hears);
	worker_free(s.w);
	/* what the calls still in flight were answered on the way out goes too */
	fa_timer_stop(loop, &s.flush);
	flush_out(&s);
	fa_buf_release(&s.out);
	peer_release(&s.peer);
	fa_buf_release(&s.line);
	fa_loop_free(loop);
	return rc;
}
