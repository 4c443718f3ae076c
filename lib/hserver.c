#include "hserver.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hmap.h"
#include "stats.h"

#define MAX_HEADERS 100
#define READ_CHUNK 65536
#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)

/*
 * C_LINGER: the last response is out and writing is shut down; input is
 * read and dropped until the client closes (or LINGER_MS pass), because
 * closing with unread input makes the kernel reset the connection, and a
 * reset can destroy the response before the client reads it.
 */
enum conn_state { C_HEAD, C_BODY, C_HANDLING, C_CLOSING, C_LINGER };

#define LINGER_MS 2000

struct worker;

struct fa_hconn {
	struct worker *w;
	struct fa_io io;
	struct fa_timer timer;
	enum conn_state state;
	struct fa_buf in, out, body, extra;     /* extra: headers added before start */
	struct fa_h1_request h1;
	struct fa_h1_header hdrs[MAX_HEADERS];
	struct fa_h1_chunked chunked;
	struct fa_h1_header trailers[16];
	size_t chunked_used;            /* request bytes the decoder has taken */
	struct fa_hreq rq;
	int requests;
	bool keep_alive, chunked_out, started, sent_continue;
	bool dead;                      /* closed while the application answers */
	char peer[64];
	void (*resume)(struct fa_hreq *rq, void *arg);
	void *resume_arg;
	void (*abort)(struct fa_hreq *rq, void *arg);
	void *abort_arg;
	struct fa_hconn *prev, *next;
};

struct worker {
	struct fa_hserver *s;
	int index;
	pthread_t thread;
	struct fa_loop *loop;
	struct fa_io listen_io, wake_io;
	int wake_fd;
	void *ctx;
	struct fa_hconn *conns;
	int nconns;
	bool stopping;
};

struct fa_hserver {
	struct fa_hserver_opts o;
	struct worker *workers;
	int port;
	volatile int stop;
};

/* ---- listening ---- */

/* "host:port", "[v6]:port" or ":port" into host (NULL: any) and port. */
static enum fa_err split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn,
			      struct fa_error *err)
{
	const char *colon = strrchr(addr, ':');
	size_t len;

	if (!colon || !colon[1])
		return fa_error_set(err, FA_EUSAGE, "listen address '%s': want HOST:PORT", addr);
	len = (size_t)(colon - addr);
	if (strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
	    atoi(colon + 1) > 65535)
		return fa_error_set(err, FA_EUSAGE, "listen address '%s': port must be 0 to 65535", addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']')
		addr++, len -= 2;
	if (len >= hn)
		return fa_error_set(err, FA_EUSAGE, "listen address '%s': host too long", addr);
	memcpy(host, addr, len);
	host[len] = '\0';
	snprintf(port, pn, "%s", colon + 1);
	return FA_OK;
}

static int bind_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Every worker binds the same address: the kernel spreads connections. */
static int listen_on(const char *addr, int *port, struct fa_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char host[256], portbuf[16];
	int fd = -1, rc;

	if (split_addr(addr, host, sizeof(host), portbuf, sizeof(portbuf), err))
		return -1;
	if (*port > 0)
		snprintf(portbuf, sizeof(portbuf), "%d", *port);
	if ((rc = getaddrinfo(host[0] ? host : NULL, portbuf, &hints, &res)) != 0) {
		fa_error_set(err, FA_EUSAGE, "listen address '%s': %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = bind_one(ai);
	freeaddrinfo(res);
	if (fd < 0) {
		fa_error_set(err, FA_EWORK, "cannot listen on '%s': %s", addr, strerror(errno));
		return -1;
	}
	if (*port <= 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &len);
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/* ---- output ---- */

static void conn_close(struct fa_hconn *c);
static void advance(struct fa_hconn *c);
static void refuse(struct fa_hconn *c, int status, const char *why);

static void want(struct fa_hconn *c)
{
	uint32_t ev = 0;

	if (c->state == C_HEAD || c->state == C_BODY)
		ev |= FA_IN;
	if (c->out.len)
		ev |= FA_OUT;
	fa_loop_mod(c->w->loop, &c->io, ev);
}

/*
 * Writes what it can; closes a closing connection once everything is out.
 * False when the connection is gone.
 */
static bool flush_out(struct fa_hconn *c)
{
	if (c->dead) {
		fa_buf_reset(&c->out);
		return false;
	}
	while (c->out.len) {
		ssize_t n = write(c->io.fd, c->out.data, c->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(c);
			return false;
		}
		fa_buf_consume(&c->out, (size_t)n);
	}
	if (!c->out.len && c->state == C_CLOSING) {
		c->state = C_LINGER;
		shutdown(c->io.fd, SHUT_WR);
		fa_timer_start(c->w->loop, &c->timer, LINGER_MS);
		fa_loop_mod(c->w->loop, &c->io, FA_IN);
		return false;
	}
	if (c->resume && c->out.len < LOW_WATER) {
		void (*resume)(struct fa_hreq *, void *) = c->resume;

		c->resume = NULL;
		resume(&c->rq, c->resume_arg);
		return false;   /* the producer may have ended (or closed) it */
	}
	want(c);
	return true;
}

/* ---- connections ---- */

static void conn_io(struct fa_io *io, uint32_t ev);

static void on_timeout(struct fa_timer *t)
{
	struct fa_hconn *c = t->ctx;

	if (c->state == C_LINGER) {
		conn_close(c);
		return;
	}
	if (c->state == C_HANDLING)
		return;         /* the application answers; its own timeouts apply */
	if (c->state == C_HEAD && !c->in.len) {
		conn_close(c);  /* an idle keep-alive connection */
		return;
	}
	refuse(c, 408, "request timeout");
}

static void arm(struct fa_hconn *c, int ms)
{
	if (ms > 0)
		fa_timer_start(c->w->loop, &c->timer, (uint64_t)ms);
}

void fa_hserver_stop(struct fa_hserver *s)
{
	uint64_t one = 1;

	s->stop = 1;
	for (int i = 0; i < s->o.threads; i++)
		if (write(s->workers[i].wake_fd, &one, sizeof(one)) < 0)
			continue;
}

/*
 * Closes the socket.  A connection whose request the application is still
 * answering is only marked dead: its memory stays until fa_hres_end().
 */
static void conn_close(struct fa_hconn *c)
{
	struct worker *w = c->w;

	if (!c->dead) {
		fa_timer_stop(w->loop, &c->timer);
		fa_loop_del(w->loop, &c->io);
		close(c->io.fd);
		if (c->prev)
			c->prev->next = c->next;
		else
			w->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		w->nconns--;
	}
	if (c->state == C_HANDLING && !c->dead) {
		c->dead = true;
		if (c->abort)
			c->abort(&c->rq, c->abort_arg);
		return;
	}
	fa_buf_release(&c->in);
	fa_buf_release(&c->out);
	fa_buf_release(&c->body);
	fa_buf_release(&c->extra);
	free(c);
}

static void peer_name(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	snprintf(out, n, "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

static void conn_new(struct worker *w, int fd)
{
	const struct fa_hserver_opts *o = &w->s->o;
	struct fa_hconn *c;
	int one = 1;

	if (w->nconns >= o->max_conns || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(fd, c->peer, sizeof(c->peer));
	c->w = w;
	c->state = C_HEAD;
	fa_buf_init(&c->in, o->max_head + o->max_body + READ_CHUNK);
	fa_buf_init(&c->out, 0);
	fa_buf_init(&c->body, o->max_body);
	fa_buf_init(&c->extra, 64 * 1024);
	fa_timer_init(&c->timer, on_timeout, c);
	c->io = (struct fa_io){ .fd = fd, .cb = conn_io, .ctx = c };
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	fa_loop_add(w->loop, &c->io, FA_IN);
	arm(c, o->header_timeout_ms);
}

static void on_accept(struct fa_io *io, uint32_t ev)
{
	struct worker *w = io->ctx;
	int fd;

	while (!w->stopping && (fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		conn_new(w, fd);
}

/* Stop: no new connections; idle ones close; busy ones finish first. */
static void on_wake(struct fa_io *io, uint32_t ev)
{
	struct worker *w = io->ctx;
	uint64_t v;
	struct fa_hconn *c, *next;

	if (read(w->wake_fd, &v, sizeof(v)) < 0)
		return;
	if (!w->s->stop || w->stopping)
		return;
	w->stopping = true;
	fa_loop_del(w->loop, &w->listen_io);
	close(w->listen_io.fd);
	for (c = w->conns; c; c = next) {
		next = c->next;
		c->keep_alive = false;
		if (c->state == C_HANDLING && c->abort) {
			void (*abort)(struct fa_hreq *, void *) = c->abort;

			c->abort = NULL;        /* endless responses end now */
			abort(&c->rq, c->abort_arg);
			continue;
		}
		if ((c->state == C_HEAD && !c->in.len && !c->out.len) || c->state == C_LINGER)
			conn_close(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct fa_hserver_opts *o = &w->s->o;

	if (o->init_worker)
		w->ctx = o->init_worker(w->index, w->loop, o->app);
	fa_loop_add(w->loop, &w->listen_io, FA_IN);
	fa_loop_add(w->loop, &w->wake_io, FA_IN);
	while (!w->stopping || w->conns)
		if (fa_loop_run_once(w->loop, 1000) < 0 && errno != EINTR)
			break;
	if (o->done_worker)
		o->done_worker(w->index, w->ctx, o->app);
	return NULL;
}

struct fa_hserver *fa_hserver_new(const struct fa_hserver_opts *o, struct fa_error *err)
{
	struct fa_hserver *s = calloc(1, sizeof(*s));

	if (!s || !(s->workers = calloc((size_t)(o->threads > 0 ? o->threads : 1),
					sizeof(*s->workers)))) {
		free(s);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	s->o = *o;
	if (s->o.threads <= 0)
		s->o.threads = 1;
	for (int i = 0; i < s->o.threads; i++) {
		struct worker *w = &s->workers[i];
		int fd;

		w->s = s;
		w->index = i;
		w->wake_fd = -1;
		if ((fd = listen_on(o->listen, &s->port, err)) < 0 || !(w->loop = fa_loop_new(err))) {
			if (fd >= 0)
				close(fd);
			s->o.threads = i;
			fa_hserver_free(s);
			return NULL;
		}
		w->listen_io = (struct fa_io){ .fd = fd, .cb = on_accept, .ctx = w };
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->wake_io = (struct fa_io){ .fd = w->wake_fd, .cb = on_wake, .ctx = w };
	}
	return s;
}

int fa_hserver_port(const struct fa_hserver *s)
{
	return s->port;
}

enum fa_err fa_hserver_run(struct fa_hserver *s)
{
	for (int i = 1; i < s->o.threads; i++)
		pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
	worker_main(&s->workers[0]);
	for (int i = 1; i < s->o.threads; i++)
		pthread_join(s->workers[i].thread, NULL);
	return FA_OK;
}

void fa_hserver_free(struct fa_hserver *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->o.threads; i++) {
		struct worker *w = &s->workers[i];

		while (w->conns)
			conn_close(w->conns);
		if (!w->stopping && w->listen_io.fd > 0)
			close(w->listen_io.fd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		fa_loop_free(w->loop);
	}
	free(s->workers);
	free(s);
}

/* ---- requests ---- */

static void dispatch(struct fa_hconn *c);

/* An error before the application sees the request: answer and close. */
static void refuse(struct fa_hconn *c, int status, const char *why)
{
	struct fa_buf body;

	fa_buf_init(&body, 0);
	fa_hmap_error_json(&body, status, NULL, why, NULL);     /* why may hold quotes */
	c->keep_alive = false;
	memset(&c->rq, 0, sizeof(c->rq));
	c->rq.conn = c;
	c->state = C_HANDLING;
	fa_hres_simple(&c->rq, status, "application/json", body.data);
	fa_buf_release(&body);
}

/* Body by Content-Length or chunks; true once it is all here. */
static bool read_body(struct fa_hconn *c)
{
	const char *p = c->in.data + c->h1.head_len;
	size_t have = c->in.len - c->h1.head_len;
	struct fa_error err;

	if (!c->h1.chunked) {
		if (c->h1.content_length > 0 && have < (size_t)c->h1.content_length)
			return false;
		c->rq.body = p;
		c->rq.body_len = c->h1.content_length > 0 ? (size_t)c->h1.content_length : 0;
		return true;
	}
	for (;;) {
		size_t used = 0;
		int status = 400;

		if (fa_h1_chunked_decode(&c->chunked, p + c->chunked_used, have - c->chunked_used,
					 &c->body, &used, &status, &err)) {
			refuse(c, status, err.msg);
			return false;
		}
		c->chunked_used += used;
		if (c->chunked.done)
			break;
		if (!used)
			return false;
	}
	c->rq.body = c->body.data ? c->body.data : "";
	c->rq.body_len = c->body.len;
	return true;
}

/* A complete head: checks sizes, answers Expect, then waits for the body. */
static bool take_head(struct fa_hconn *c)
{
	const struct fa_hserver_opts *o = &c->w->s->o;
	struct fa_h1_limits lim;
	struct fa_error err;
	int status = 0, r;

	fa_h1_limits_init(&lim);
	lim.max_head = o->max_head;
	lim.max_body = (int64_t)o->max_body;
	r = fa_h1_parse_request(c->in.data, c->in.len, &lim, c->hdrs, MAX_HEADERS, &c->h1,
				&status, &err);

	if (r == 0) {
		if (c->in.len > o->max_head)
			refuse(c, 431, "request header fields too large");
		return false;
	}
	if (r < 0) {
		refuse(c, status ? status : 400, err.msg);
		return false;
	}
	memset(&c->rq, 0, sizeof(c->rq));
	c->rq.conn = c;
	c->keep_alive = c->h1.keep_alive;
	c->state = C_BODY;
	fa_h1_chunked_init(&c->chunked, (int64_t)o->max_body, c->trailers, 16);
	c->chunked_used = 0;
	fa_buf_reset(&c->body);
	if (c->h1.expect_continue && c->in.len == c->h1.head_len && !c->sent_continue) {
		fa_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		c->sent_continue = true;
	}
	arm(c, o->body_timeout_ms);
	return true;
}

/* Parses what has arrived: head, body, then the application. */
static void advance(struct fa_hconn *c)
{
	if (c->state == C_HEAD && c->in.len && !take_head(c))
		return;
	if (c->state == C_BODY && read_body(c))
		dispatch(c);
}

static void dispatch(struct fa_hconn *c)
{
	struct worker *w = c->w;
	struct fa_hreq *rq = &c->rq;

	c->state = C_HANDLING;
	c->requests++;
	c->started = false;
	c->sent_continue = false;
	fa_timer_stop(w->loop, &c->timer);
	rq->method = c->h1.method;
	rq->method_len = c->h1.method_len;
	rq->path = c->h1.path;
	rq->path_len = c->h1.path_len;
	rq->query = c->h1.query;
	rq->query_len = c->h1.query_len;
	rq->headers = c->hdrs;
	rq->nheaders = c->h1.nheaders;
	rq->head = c->h1.is_head;
	rq->worker = w->index;
	rq->loop = w->loop;
	rq->worker_ctx = w->ctx;
	rq->t0 = fa_now_ns();
	rq->peer = c->peer;
	rq->version = c->h1.minor >= 1 ? "HTTP/1.1" : "HTTP/1.0";
	want(c);
	w->s->o.handler(rq, w->s->o.app);
}

static void read_in(struct fa_hconn *c)
{
	for (;;) {
		ssize_t n;

		if (fa_buf_grow(&c->in, READ_CHUNK)) {
			refuse(c, c->state == C_HEAD ? 431 : 413, "request too large");
			return;
		}
		n = read(c->io.fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		if (c->state == C_HEAD && c->in.len == (size_t)n)
			arm(c, c->w->s->o.header_timeout_ms);   /* a new request began */
	}
	advance(c);
}

static void conn_io(struct fa_io *io, uint32_t ev)
{
	struct fa_hconn *c = io->ctx;

	if (c->state == C_LINGER) {
		char drop[4096];
		ssize_t n;

		while ((n = read(c->io.fd, drop, sizeof(drop))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	if (ev & FA_OUT) {
		flush_out(c);
		return;         /* the connection may be gone */
	}
	if (c->state == C_HEAD || c->state == C_BODY)
		read_in(c);
}

/* ---- responses ---- */

void fa_hres_header(struct fa_hreq *rq, const char *name, const char *value)
{
	fa_buf_printf(&rq->conn->extra, "%s: %s\n", name, value);
}

/* Server, Date, Content-Type and the headers the application added, as an array. */
static int response_headers(struct fa_hconn *c, const char *content_type, char *date,
			    struct fa_h1_header *h, int cap)
{
	const char *p = c->extra.data, *end = p ? p + c->extra.len : NULL;
	int n = 0;

	fa_h1_date(date, time(NULL));
	h[n++] = (struct fa_h1_header){ "Server", "fa-serve", 6, 8 };
	h[n++] = (struct fa_h1_header){ "Date", date, 4, strlen(date) };
	if (content_type)
		h[n++] = (struct fa_h1_header){ "Content-Type", content_type, 12,
						strlen(content_type) };
	while (p && p < end && n < cap) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!colon || !eol)
			break;
		h[n++] = (struct fa_h1_header){ p, colon + 2, (size_t)(colon - p),
						(size_t)(eol - colon - 2) };
		p = eol + 1;
	}
	return n;
}

void fa_hres_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length)
{
	struct fa_hconn *c = rq->conn;
	struct fa_h1_header h[40];
	struct fa_h1_response r;
	struct fa_error err;
	char date[30];

	if (c->started)
		return;
	c->started = true;
	rq->status = status;
	/* decide now whether this is the last response: the head must say so */
	if (c->w->stopping || (c->w->s->o.keepalive_requests > 0 &&
			       c->requests >= c->w->s->o.keepalive_requests))
		c->keep_alive = false;
	c->chunked_out = length < 0 && !rq->head && c->h1.minor >= 1;
	if (length < 0 && c->h1.minor < 1)
		c->keep_alive = false;  /* HTTP/1.0: the end of the body is the close */
	r = (struct fa_h1_response){ .status = status, .headers = h,
				     .nheaders = response_headers(c, content_type, date, h, 40),
				     /* 1xx, 204 and 304 carry no framing field */
				     .content_length = status < 200 || status == 204 || status == 304 ?
					     FA_H1_NO_LENGTH : length >= 0 ? length :
					     c->chunked_out ? FA_H1_CHUNKED : FA_H1_NO_LENGTH,
				     .keep_alive = c->keep_alive, .minor = c->h1.minor };
	fa_h1_response_head(&c->out, &r, &err);
	fa_buf_reset(&c->extra);
}

void fa_hres_write(struct fa_hreq *rq, const void *data, size_t n)
{
	struct fa_hconn *c = rq->conn;

	if (!n || rq->head)
		return;
	rq->bytes_out += n;
	if (c->dead)
		return;
	if (c->chunked_out)
		fa_h1_chunk(&c->out, data, n);
	else
		fa_buf_append(&c->out, data, n);
	if (c->out.len >= HIGH_WATER)
		flush_out(c);
	else if (!(c->io.events & FA_OUT))
		want(c);        /* streamed bytes go out on the loop's next turn */
}

bool fa_hres_writable(const struct fa_hreq *rq)
{
	return rq->conn->out.len < HIGH_WATER;
}

void fa_hres_on_drain(struct fa_hreq *rq, void (*resume)(struct fa_hreq *, void *), void *arg)
{
	rq->conn->resume = resume;
	rq->conn->resume_arg = arg;
	want(rq->conn);
}

/* Bytes of the finished request in c->in: its head and its body. */
static size_t request_size(const struct fa_hconn *c)
{
	if (c->state != C_HANDLING || !c->h1.head_len)
		return c->in.len;
	if (c->h1.chunked)
		return c->h1.head_len + c->chunked_used;
	return c->h1.head_len + (c->h1.content_length > 0 ? (size_t)c->h1.content_length : 0);
}

void fa_hres_on_abort(struct fa_hreq *rq, void (*abort)(struct fa_hreq *, void *), void *arg)
{
	rq->conn->abort = abort;
	rq->conn->abort_arg = arg;
}

bool fa_hres_gone(const struct fa_hreq *rq)
{
	return rq->conn->dead;
}

void fa_hres_end(struct fa_hreq *rq)
{
	struct fa_hconn *c = rq->conn;
	struct worker *w = c->w;
	const struct fa_hserver_opts *o = &w->s->o;

	if (c->dead) {
		c->state = C_CLOSING;   /* no longer answering: free it now */
		if (o->on_done && rq->method)
			o->on_done(rq, o->app);
		conn_close(c);
		return;
	}
	if (!c->started)
		fa_hres_start(rq, 204, NULL, 0);
	if (c->chunked_out)
		fa_h1_chunk(&c->out, NULL, 0);
	if (o->on_done && rq->method)
		o->on_done(rq, o->app);
	fa_buf_consume(&c->in, request_size(c));
	memset(&c->h1, 0, sizeof(c->h1));
	c->resume = NULL;
	c->abort = NULL;
	if (!c->keep_alive || w->stopping || (o->keepalive_requests > 0 &&
					       c->requests >= o->keepalive_requests)) {
		c->state = C_CLOSING;
		flush_out(c);
		return;
	}
	c->state = C_HEAD;
	arm(c, c->in.len ? o->header_timeout_ms : o->keepalive_timeout_ms);
	/* a pipelined request may be waiting already */
	if (flush_out(c) && c->in.len)
		advance(c);
}

void fa_hres_fail(struct fa_hreq *rq)
{
	struct fa_hconn *c = rq->conn;

	c->chunked_out = false;         /* no last chunk */
	c->keep_alive = false;
	fa_hres_end(rq);
}

void fa_hres_simple(struct fa_hreq *rq, int status, const char *content_type, const char *body)
{
	size_t n = body ? strlen(body) : 0;

	fa_hres_start(rq, status, content_type, (int64_t)n);
	fa_hres_write(rq, body, n);
	fa_hres_end(rq);
}

const struct fa_h1_header *fa_hreq_header(const struct fa_hreq *rq, const char *name)
{
	for (int i = 0; i < rq->nheaders; i++)
		if (fa_h1_header_eq(&rq->headers[i], name))
			return &rq->headers[i];
	return NULL;
}
