/* fa-pg: connection, output buffering and Ctrl-C handling. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/env.h"

#include "fapg.h"

volatile sig_atomic_t interrupted;
static PGcancel *volatile cancel_obj;

/* PQcancel() is async-signal-safe: the handler may call it. */
static void on_sigint(int sig)
{
	char errbuf[256];
	PGcancel *c = cancel_obj;

	interrupted = 1;
	if (c)
		PQcancel(c, errbuf, sizeof(errbuf));
}

void cancel_arm(PGconn *c)
{
	PGcancel *old = cancel_obj;

	cancel_obj = NULL;
	PQfreeCancel(old);
	cancel_obj = PQgetCancel(c);
}

void cancel_disarm(void)
{
	PGcancel *old = cancel_obj;

	cancel_obj = NULL;
	PQfreeCancel(old);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int term_rows = 24;

void session_term_size(struct session *s)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
		term_rows = ws.ws_row;
		s->fmt.term_width = ws.ws_col;
	}
}

static size_t count_lines(const struct fa_buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

/* $PAGER, else less (quitting at once when the text fits), else more. */
static void open_pager(struct session *s)
{
	const char *p = fa_env_get(s->envp, "PAGER");

	if (p && !*p)
		return;         /* PAGER="" turns paging off, as in psql */
	if (!p)
		p = access("/usr/bin/less", X_OK) == 0 ? "less -SFRX" : "more";
	s->pager = popen(p, "w");
}

void out_end(struct session *s)
{
	out_flush(s);
	if (s->pager) {
		pclose(s->pager);
		s->pager = NULL;
	}
}

void out_flush(struct session *s)
{
	size_t off = 0;
	ssize_t n;
	int fd = s->out_fd;

	if (!s->pager && s->use_pager && fd == 1 && count_lines(&s->out) >= (size_t)term_rows - 1)
		open_pager(s);
	if (s->pager)
		fd = fileno(s->pager);
	while (off < s->out.len) {
		n = write(fd, s->out.data + off, s->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;  /* EPIPE and friends: the reader is gone */
		off += (size_t)n;
	}
	fa_buf_reset(&s->out);
}

void out_write(struct session *s, const void *p, size_t n)
{
	fa_buf_append(&s->out, p, n);
	if (s->out.len >= OUT_FLUSH_AT)
		out_flush(s);
}

void out_note(struct session *s, const char *text, size_t n)
{
	if (s->fmt.kind == FA_FMT_JSON || s->fmt.kind == FA_FMT_NDJSON) {
		out_flush(s);
		fwrite(text, 1, n, stderr);
	} else {
		out_write(s, text, n);
	}
}

enum fa_err session_target(struct session *s, const char *db, struct fa_error *err)
{
	struct fa_buf note;
	enum fa_err rc;

	fa_buf_init(&note, 4096);
	rc = fa_pg_target_resolve(&s->target, db, s->envp, &note, err);
	if (rc == FA_OK && note.len && !s->quiet)
		fprintf(stderr, "fa-pg: %s\n", note.data);
	fa_buf_release(&note);
	return rc;
}

static void on_notice(void *arg, const char *msg)
{
	struct session *s = arg;

	if (!s->quiet)
		fputs(msg, stderr);
}

enum fa_err session_connect(struct session *s, struct fa_error *err)
{
	PGconn *c = fa_pg_connect(&s->target, "fa-pg", err);

	if (!c)
		return FA_ECONNECT;
	PQfinish(s->conn);
	s->conn = c;
	PQsetNoticeProcessor(c, on_notice, s);
	install_signals();
	return FA_OK;
}
