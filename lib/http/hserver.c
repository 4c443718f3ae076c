#include "http/hserver_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/h3.h"
#include "http/hmap.h"
#include "core/stats.h"
#include "http/tls.h"
#include "http/ws.h"

#define READ_CHUNK 65536
#define LINGER_MS 2000

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

/* ---- transport: the socket, or TLS over it ---- */

ssize_t hs_recv(struct fa_hconn *c, void *p, size_t n)
{
	ssize_t r;
	int want = 0;

	if (c->ssl) {
		c->tls_want_out = false;
		if ((r = fa_tls_read(c->ssl, p, n, &want)) >= 0)
			return r;
		c->tls_want_out = want == FA_TLS_WANT_WRITE;
		return want ? -1 : -2;
	}
	do
		r = read(c->io.fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	return r;
}

ssize_t hs_send(struct fa_hconn *c, const void *p, size_t n)
{
	ssize_t r;
	int want = 0;

	if (c->ssl) {
		if ((r = fa_tls_write(c->ssl, p, n, &want)) > 0)
			return r;
		return want ? -1 : -2;
	}
	do
		r = send(c->io.fd, p, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	return r;
}

/* ---- output ---- */

static void advance(struct fa_hconn *c);
static void refuse(struct fa_hconn *c, int status, const char *why);

void hs_want(struct fa_hconn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (c->state == C_H2) {
		if (fa_h2_want_read(c->h2) && !c->h2_broken)
			ev |= FA_IN;
		if (c->out.len || fa_h2_want_write(c->h2))
			ev |= FA_OUT;
	} else if (c->state == C_WS) {
		if (c->out.len < HS_HIGH_WATER)
			ev |= FA_IN;    /* a client that does not read stops being read */
		if (c->out.len || c->tls_want_out)
			ev |= FA_OUT;
	} else {
		/*
		 * Reading stays armed while a request is answered, so that the
		 * common case costs no epoll_ctl; input that arrives meanwhile
		 * (a pipelined request) disarms it until the answer is done.
		 */
		if (c->state == C_HEAD || c->state == C_BODY || c->state == C_LINGER ||
		    (c->state == C_HANDLING && !c->in_paused))
			ev |= FA_IN;
		if (c->out.len || c->tls_want_out)
			ev |= FA_OUT;
	}
	fa_loop_mod(c->w->loop, &c->io, ev);
}

int hs_write_out(struct fa_hconn *c)
{
	int progress = 0;

	while (c->out.len) {
		ssize_t n = hs_send(c, c->out.data, c->out.len);

		if (n == -1)
			break;
		if (n < 0) {
			hs_conn_close(c);
			return -1;
		}
		fa_buf_consume(&c->out, (size_t)n);
		progress = 1;
	}
	return progress;
}

bool hs_flush(struct fa_hconn *c)
{
	int progress;

	if (c->dead) {
		fa_buf_reset(&c->out);
		return false;
	}
	if ((progress = hs_write_out(c)) < 0)
		return false;
	if (c->out.len && (c->state == C_HANDLING || c->state == C_CLOSING || c->state == C_WS) &&
	    (progress || c->timer.slot < 0))
		hs_arm(c, c->w->s->o.send_timeout_ms);  /* a send timeout from the last progress */
	else if (!c->out.len && (c->state == C_HANDLING || c->state == C_WS))
		fa_timer_stop(c->w->loop, &c->timer);
	if (!c->out.len && c->state == C_CLOSING) {
		c->state = C_LINGER;
		if (c->ssl)
			SSL_shutdown(c->ssl);
		shutdown(c->io.fd, SHUT_WR);
		fa_timer_start(c->w->loop, &c->timer, LINGER_MS);
		fa_loop_mod(c->w->loop, &c->io, FA_IN);
		return false;
	}
	/*
	 * A session that stopped reading while its output was backed up: over
	 * TLS, records OpenSSL has taken already announce themselves no more.
	 */
	if (c->state == C_WS && c->ssl && c->out.len < HS_LOW_WATER && SSL_has_pending(c->ssl)) {
		hs_ws_read(c);
		return false;
	}
	if (c->res.resume && c->out.len < HS_LOW_WATER) {
		void (*resume)(struct fa_hreq *, void *) = c->res.resume;

		c->res.resume = NULL;
		resume(&c->rq, c->res.resume_arg);
		return false;   /* the producer may have ended (or closed) it */
	}
	hs_want(c);
	return true;
}

/* ---- connections ---- */

static void conn_io(struct fa_io *io, uint32_t ev);

static void on_timeout(struct fa_timer *t)
{
	struct fa_hconn *c = t->ctx;

	if (c->state == C_H2) {
		hs_h2_timeout(c);
		return;
	}
	if (c->state == C_LINGER) {
		hs_conn_close(c);
		return;
	}
	if (c->state == C_HANDLING || c->state == C_CLOSING || c->state == C_WS) {
		if (c->out.len)
			hs_conn_close(c);       /* the send timeout: the client took nothing */
		return;         /* else the application answers; its own timeouts apply */
	}
	if (c->state == C_HEAD && !c->in.len) {
		hs_conn_close(c);       /* an idle keep-alive connection */
		return;
	}
	refuse(c, 408, "request timeout");
}

void hs_arm(struct fa_hconn *c, int ms)
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

static void res_release(struct hs_res *res)
{
	fa_buf_release(&res->extra);
	fa_henc_release(&res->enc);
}

/* Frees a closed connection once no request of it is left to answer. */
void hs_conn_free(struct fa_hconn *c)
{
	if (c->reqs || (c->state == C_HANDLING && c->dead))
		return;
	if (c->buried)
		return;
	for (struct fa_hconn **p = &c->w->dirty; c->dirty && *p; p = &(*p)->dirty_next)
		if (*p == c) {
			*p = c->dirty_next;
			break;
		}
	c->buried = true;
	c->next = c->w->graveyard;      /* no longer on w->conns */
	c->w->graveyard = c;
}

/* Frees the connections closed during this turn. */
static void bury(struct hs_worker *w)
{
	struct fa_hconn *c;

	while ((c = w->graveyard)) {
		w->graveyard = c->next;
		fa_buf_release(&c->in);
		fa_buf_release(&c->out);
		fa_buf_release(&c->body);
		res_release(&c->res);
		hs_ws_free(c->ws);
		free(c);
	}
}

/*
 * Closes the socket.  A connection with requests the application is
 * still answering is only marked dead: its memory stays until their
 * fa_hres_end().
 */
void hs_conn_close(struct fa_hconn *c)
{
	struct hs_worker *w = c->w;

	if (!c->dead) {
		fa_timer_stop(w->loop, &c->timer);
		fa_loop_del(w->loop, &c->io);
		if (c->ssl)
			fa_tls_conn_free(c->ssl);
		c->ssl = NULL;
		close(c->io.fd);
		if (c->prev)
			c->prev->next = c->next;
		else
			w->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		w->nconns--;
		c->dead = true;
		if (c->state == C_H2) {
			hs_h2_closed(c);
		} else if (c->ws) {
			hs_ws_closed(c);
		} else if (c->state == C_HANDLING && c->res.abort) {
			void (*abort)(struct fa_hreq *, void *) = c->res.abort;

			c->res.abort = NULL;
			abort(&c->rq, c->res.abort_arg);
			return;         /* which may have ended the request and freed c */
		}
	}
	hs_conn_free(c);
}

static void peer_name(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	snprintf(out, n, "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

static void conn_new(struct hs_worker *w, int fd, bool tls)
{
	const struct fa_hserver_opts *o = &w->s->o;
	struct fa_hconn *c;
	struct fa_error err;
	int one = 1;

	if (w->nconns >= o->max_conns || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	if (tls && !(c->ssl = fa_tls_conn_new(o->tls, fd, &err))) {
		free(c);
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
	fa_buf_init(&c->res.extra, 64 * 1024);
	fa_timer_init(&c->timer, on_timeout, c);
	c->io = (struct fa_io){ .fd = fd, .cb = conn_io, .ctx = c };
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	fa_loop_add(w->loop, &c->io, FA_IN);
	hs_arm(c, o->header_timeout_ms);
}

static void on_accept(struct fa_io *io, uint32_t ev)
{
	struct listener *l = io->ctx;
	struct hs_worker *w = l->w;
	int fd;

	while (!w->stopping && (fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		conn_new(w, fd, l->tls);
}

/* Stop: no new connections; idle ones close; busy ones finish first. */
static void on_wake(struct fa_io *io, uint32_t ev)
{
	struct hs_worker *w = io->ctx;
	uint64_t v;
	struct fa_hconn *c, *next;

	if (read(w->wake_fd, &v, sizeof(v)) < 0)
		return;
	if (!w->s->stop || w->stopping)
		return;
	w->stopping = true;
	hs_h3_stop(w);
	for (int i = 0; i < w->nls; i++) {
		fa_loop_del(w->loop, &w->ls[i].io);
		close(w->ls[i].io.fd);
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		c->keep_alive = false;
		if (c->state == C_H2) {
			hs_h2_stop(c);
			continue;
		}
		if (c->state == C_WS) {
			hs_ws_stop(c);
			continue;
		}
		if (c->state == C_HANDLING && c->res.abort && c->res.abort_at_stop) {
			void (*abort)(struct fa_hreq *, void *) = c->res.abort;

			c->res.abort = NULL;    /* endless responses end now */
			abort(&c->rq, c->res.abort_arg);
			continue;
		}
		if ((c->state == C_HEAD && !c->in.len && !c->out.len) || c->state == C_LINGER)
			hs_conn_close(c);
	}
}

void hs_dirty(struct fa_hconn *c)
{
	if (c->dirty || c->dead)
		return;
	c->dirty = true;
	c->dirty_next = c->w->dirty;
	c->w->dirty = c;
}

/* Output produced during this turn goes out now, before the next wait. */
static void send_dirty(struct hs_worker *w)
{
	struct fa_hconn *c;

	while ((c = w->dirty)) {
		w->dirty = c->dirty_next;
		c->dirty = false;
		if (c->dead)
			continue;
		if (c->state == C_H2)
			hs_h2_pump(c);
		else if (c->state == C_WS)
			hs_ws_pump(c);
		else if (hs_flush(c) && c->state == C_HEAD && c->in.len)
			advance(c);     /* a pipelined request: a loop here, not recursion */
	}
}

static void *worker_main(void *arg)
{
	struct hs_worker *w = arg;
	const struct fa_hserver_opts *o = &w->s->o;

	if (o->init_worker)
		w->ctx = o->init_worker(w->index, w->loop, o->app);
	for (int i = 0; i < w->nls; i++)
		fa_loop_add(w->loop, &w->ls[i].io, FA_IN);
	hs_h3_run(w);
	fa_loop_add(w->loop, &w->wake_io, FA_IN);
	while (!w->stopping || w->conns || hs_h3_busy(w)) {
		if (fa_loop_run_once(w->loop, w->dirty || hs_h3_pending(w) ? 0 : 1000) < 0 &&
		    errno != EINTR)
			break;
		send_dirty(w);
		if (w->stopping)
			hs_h3_reap(w);
		hs_h3_turn(w);
		bury(w);
	}
	if (o->done_worker)
		o->done_worker(w->index, w->ctx, o->app);
	return NULL;
}

static enum fa_err add_listener(struct hs_worker *w, const char *addr, int *port, bool tls,
				struct fa_error *err)
{
	struct listener *l = &w->ls[w->nls];
	int fd = listen_on(addr, port, err);

	if (fd < 0)
		return err->code;
	w->nls++;
	*l = (struct listener){ .io = { .fd = fd, .cb = on_accept, .ctx = l }, .w = w, .tls = tls };
	return FA_OK;
}

static enum fa_err worker_init(struct fa_hserver *s, struct hs_worker *w, int i, struct fa_error *err)
{
	const struct fa_hserver_opts *o = &s->o;

	w->s = s;
	w->index = i;
	w->wake_fd = -1;
	if (o->listen && add_listener(w, o->listen, &s->port, false, err))
		return err->code;
	if (o->tls_listen && add_listener(w, o->tls_listen, &s->tls_port, true, err))
		return err->code;
	if (o->h3_listen) {
		int fd = hs_h3_bind(o->h3_listen, &s->h3_port, err);

		if (fd < 0 || hs_h3_init(w, fd, s->h3_port, err))
			return err->code;
	}
	if (!(w->loop = fa_loop_new(err)))
		return err->code;
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->wake_io = (struct fa_io){ .fd = w->wake_fd, .cb = on_wake, .ctx = w };
	return FA_OK;
}

struct fa_hserver *fa_hserver_new(const struct fa_hserver_opts *o, struct fa_error *err)
{
	struct fa_hserver *s = calloc(1, sizeof(*s));
	int n = o->threads > 0 ? o->threads : 1;

	if (!s || !(s->workers = calloc((size_t)n, sizeof(*s->workers)))) {
		free(s);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->o.threads = n;
	if (!o->listen && !o->tls_listen && !o->h3_listen) {
		fa_error_set(err, FA_EUSAGE, "nothing to listen on");
		s->o.threads = 0;
		fa_hserver_free(s);
		return NULL;
	}
	if (o->tls_listen && !o->tls) {
		fa_error_set(err, FA_EUSAGE, "a TLS listener needs a certificate");
		s->o.threads = 0;
		fa_hserver_free(s);
		return NULL;
	}
	if (o->h3_listen && (!o->h3_cert || !(s->h3ctx = fa_h3_ctx_new(o->h3_cert, o->h3_key, err)))) {
		if (!o->h3_cert)
			fa_error_set(err, FA_EUSAGE, "an HTTP/3 listener needs a certificate file");
		s->o.threads = 0;
		fa_hserver_free(s);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (worker_init(s, &s->workers[i], i, err)) {
			s->o.threads = i + 1;
			fa_hserver_free(s);
			return NULL;
		}
	if (s->h3_port)
		snprintf(s->alt_svc, sizeof(s->alt_svc), "h3=\":%d\"; ma=86400", s->h3_port);
	return s;
}

int fa_hserver_port(const struct fa_hserver *s)
{
	return s->port;
}

int fa_hserver_tls_port(const struct fa_hserver *s)
{
	return s->tls_port;
}

int fa_hserver_h3_port(const struct fa_hserver *s)
{
	return s->h3_port;
}

enum fa_err fa_hserver_reload_h3(struct fa_hserver *s, struct fa_error *err)
{
	return s->h3ctx ? fa_h3_ctx_reload(s->h3ctx, err) : FA_OK;
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
		struct hs_worker *w = &s->workers[i];

		while (w->conns)
			hs_conn_close(w->conns);
		bury(w);
		hs_h3_free(w);
		if (!w->stopping)
			for (int k = 0; k < w->nls; k++)
				close(w->ls[k].io.fd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		if (w->loop)
			fa_loop_free(w->loop);
	}
	free(s->workers);
	fa_h3_ctx_free(s->h3ctx);
	free(s);
}

/* ---- HTTP/1.1 requests ---- */

static void dispatch(struct fa_hconn *c);

/* A new HTTP/1.1 request on c, answered through the HTTP/1.1 framing. */
static void h1_request(struct fa_hconn *c)
{
	memset(&c->rq, 0, sizeof(c->rq));
	c->rq.conn = c;
	c->rq.proto = &hs_h1_proto;
	c->rq.res = &c->res;
	c->rq.w = c->w;
}

void hs_error_body(struct fa_buf *body, int status, const char *why)
{
	fa_hmap_error_json(body, status, NULL, why, NULL);      /* why may hold quotes */
}

/* An error before the application sees the request: answer and close. */
static void refuse(struct fa_hconn *c, int status, const char *why)
{
	struct fa_buf body;

	fa_buf_init(&body, 0);
	hs_error_body(&body, status, why);
	c->keep_alive = false;
	h1_request(c);
	c->state = C_HANDLING;
	hs_res_reset(&c->res);
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
	r = fa_h1_parse_request(c->in.data, c->in.len, &lim, c->hdrs, HS_MAX_HEADERS, &c->h1,
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
	h1_request(c);
	c->keep_alive = c->h1.keep_alive;
	c->state = C_BODY;
	fa_h1_chunked_init(&c->chunked, (int64_t)o->max_body, c->trailers, 16);
	c->chunked_used = 0;
	fa_buf_reset(&c->body);
	if (c->h1.expect_continue && c->in.len == c->h1.head_len && !c->sent_continue) {
		fa_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		c->sent_continue = true;
	}
	hs_arm(c, o->body_timeout_ms);
	return true;
}

/*
 * A cleartext connection that opens with the HTTP/2 preface: true once
 * it has switched, or while the bytes so far could still be the preface.
 */
static bool prior_knowledge(struct fa_hconn *c)
{
	size_t n = c->in.len < FA_H2_PREFACE_LEN ? c->in.len : FA_H2_PREFACE_LEN;

	if (c->ssl || c->requests || !c->w->s->o.h2 || memcmp(c->in.data, FA_H2_PREFACE, n))
		return false;
	if (n == FA_H2_PREFACE_LEN) {
		hs_h2_start(c, c->in.data, c->in.len);
		return true;
	}
	return true;
}

/* Parses what has arrived: head, body, then the application. */
static void advance(struct fa_hconn *c)
{
	if (c->state == C_HEAD && c->in.len && prior_knowledge(c))
		return;
	if (c->state == C_HEAD && c->in.len && !take_head(c))
		return;
	if (c->state == C_BODY && read_body(c))
		dispatch(c);
}

/*
 * Whether a request asks for a WebSocket (rq->websocket, the accept key
 * kept for fa_hres_websocket): false when it asked badly and was answered.
 */
static bool websocket_handshake(struct fa_hconn *c)
{
	struct fa_hreq *rq = &c->rq;
	struct fa_error err;
	struct fa_buf body;
	int status = 0, r;

	r = fa_ws_handshake(rq->method, rq->method_len, c->hdrs, c->h1.nheaders, c->ws_accept,
			    &status, &err);
	if (r == 0)
		return true;
	if (r > 0 && c->h1.minor >= 1) {
		rq->websocket = true;
		return true;
	}
	if (r > 0)
		fa_error_set(&err, FA_EINPUT, "a WebSocket needs HTTP/1.1");
	if (status == 426)
		fa_hres_header(rq, "Sec-WebSocket-Version", "13");
	fa_buf_init(&body, 0);
	hs_error_body(&body, status ? status : 400, err.msg);
	c->keep_alive = false;
	hs_want(c);
	fa_hres_simple(rq, status ? status : 400, "application/json", body.data);
	fa_buf_release(&body);
	return false;
}

static void dispatch(struct fa_hconn *c)
{
	struct hs_worker *w = c->w;
	struct fa_hreq *rq = &c->rq;

	c->state = C_HANDLING;
	c->requests++;
	hs_res_reset(&c->res);
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
	if (!c->ssl && w->s->o.h2 && hs_h2_upgrade(c))
		return;
	if (!websocket_handshake(c))
		return;
	hs_want(c);
	w->s->o.handler(rq, w->s->o.app);
}

/* After the TLS handshake: ALPN may have chosen HTTP/2. */
static bool tls_ready(struct fa_hconn *c)
{
	const char *alpn;

	if (c->tls_ready || !SSL_is_init_finished(c->ssl))
		return false;
	c->tls_ready = true;
	alpn = fa_tls_alpn(c->ssl);
	if (!alpn || strcmp(alpn, "h2") || !c->w->s->o.h2)
		return false;
	hs_h2_start(c, c->in.data, c->in.len);  /* takes c->in; c may be closed after */
	/*
	 * Read on to FA_TLS_WANT_READ, as tls.h asks: what came after these
	 * bytes may be inside OpenSSL already (read-ahead takes several
	 * records at once), where no epoll event would announce it.
	 */
	if (!c->dead)
		hs_h2_io(c, FA_IN);
	return true;
}

static void read_in(struct fa_hconn *c)
{
	for (;;) {
		ssize_t n;

		if (fa_buf_grow(&c->in, READ_CHUNK)) {
			refuse(c, c->state == C_HEAD ? 431 : 413, "request too large");
			return;
		}
		n = hs_recv(c, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
		if (n == -1)
			break;
		if (n <= 0) {
			hs_conn_close(c);
			return;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		if (c->state == C_HEAD && c->in.len == (size_t)n)
			hs_arm(c, c->w->s->o.header_timeout_ms);        /* a new request began */
		if (c->ssl && tls_ready(c))
			return;
		if (!c->ssl && (size_t)n < c->in.cap - (c->in.len - (size_t)n) - 1)
			break;  /* the socket is empty: no second read to learn EAGAIN */
	}
	if (c->ssl && tls_ready(c))
		return;
	if (c->tls_want_out)
		hs_want(c);
	advance(c);
}

/*
 * Whether a plain connection that is readable while its request is being
 * answered was closed by the client (as nginx tells a client that went
 * away from a pipelined request): a peek reads nothing from the stream.
 * Over TLS the bytes are records, not the end, so it says no.
 */
static bool peer_closed(struct fa_hconn *c)
{
	char b;
	ssize_t n;

	if (c->ssl)
		return false;
	do
		n = recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void conn_io(struct fa_io *io, uint32_t ev)
{
	struct fa_hconn *c = io->ctx;

	if (c->dead)
		return;         /* closed earlier in this turn */
	if (c->state == C_H2) {
		hs_h2_io(c, ev);
		return;
	}
	if ((ev & (EPOLLERR | EPOLLHUP)) && c->state != C_HEAD && c->state != C_BODY) {
		hs_conn_close(c);       /* reset or gone: no answer can reach it */
		return;
	}
	if (c->state == C_LINGER) {
		char drop[4096];
		ssize_t n;

		while ((n = read(c->io.fd, drop, sizeof(drop))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			hs_conn_close(c);
		return;
	}
	if (ev & FA_OUT && !c->tls_want_out) {
		hs_flush(c);
		return;         /* the connection may be gone */
	}
	if (c->state == C_WS) {
		hs_ws_read(c);
	} else if (c->state == C_HEAD || c->state == C_BODY) {
		read_in(c);
	} else if (c->state == C_HANDLING || c->state == C_CLOSING) {
		if (c->state == C_HANDLING && c->res.abort && peer_closed(c)) {
			hs_conn_close(c);       /* it left before its answer: abort */
			return;
		}
		c->in_paused = true;    /* read it once the answer is out */
		hs_want(c);
	}
}

/* ---- HTTP/1.1 responses ---- */

/* The HTTP/1.1 head. */
static void h1_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length)
{
	struct fa_hconn *c = rq->conn;
	struct fa_h1_header h[40];
	struct fa_h1_response r;
	struct fa_error err;

	/* decide now whether this is the last response: the head must say so */
	if (c->w->stopping || (c->w->s->o.keepalive_requests > 0 &&
			       c->requests >= c->w->s->o.keepalive_requests))
		c->keep_alive = false;
	c->chunked_out = length < 0 && !rq->head && c->h1.minor >= 1;
	if (length < 0 && c->h1.minor < 1)
		c->keep_alive = false;  /* HTTP/1.0: the end of the body is the close */
	r = (struct fa_h1_response){ .status = status, .headers = h,
				     .nheaders = hs_response_headers(c->w, &c->res, content_type,
								     true, h, 40),
				     /* 1xx, 204 and 304 carry no framing field */
				     .content_length = status < 200 || status == 204 || status == 304 ?
					     FA_H1_NO_LENGTH : length >= 0 ? length :
					     c->chunked_out ? FA_H1_CHUNKED : FA_H1_NO_LENGTH,
				     .keep_alive = c->keep_alive, .minor = c->h1.minor };
	fa_h1_response_head(&c->out, &r, &err);
}

/* Body bytes of the HTTP/1.1 response, chunked when its length is unknown. */
static void h1_send(struct fa_hreq *rq, const void *data, size_t n)
{
	struct fa_hconn *c = rq->conn;

	if (c->dead)
		return;
	if (c->chunked_out)
		fa_h1_chunk(&c->out, data, n);
	else
		fa_buf_append(&c->out, data, n);
	if (!(c->io.events & FA_OUT))
		hs_dirty(c);    /* out at the end of this turn, never under the application */
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

static void h1_end(struct fa_hreq *rq)
{
	struct fa_hconn *c = rq->conn;
	struct hs_worker *w = c->w;
	const struct fa_hserver_opts *o = &w->s->o;

	if (c->dead) {
		c->state = C_CLOSING;   /* no longer answering: free it now */
		if (o->on_done && rq->method)
			o->on_done(rq, o->app);
		hs_conn_free(c);
		return;
	}
	if (c->chunked_out)
		fa_h1_chunk(&c->out, NULL, 0);
	if (o->on_done && rq->method)
		o->on_done(rq, o->app);
	fa_buf_consume(&c->in, request_size(c));
	memset(&c->h1, 0, sizeof(c->h1));
	c->res.resume = NULL;
	c->res.abort = NULL;
	if (!c->keep_alive || w->stopping || (o->keepalive_requests > 0 &&
					       c->requests >= o->keepalive_requests)) {
		c->state = C_CLOSING;
		hs_flush(c);
		return;
	}
	c->state = C_HEAD;
	c->in_paused = false;
	hs_arm(c, c->in.len ? o->header_timeout_ms : o->keepalive_timeout_ms);
	if (c->in.len)
		hs_dirty(c);    /* a pipelined request waits: taken after this turn's output */
	else
		hs_flush(c);
}

/* A body cut off: no last chunk, and the connection closes after it. */
static void h1_reset(struct fa_hreq *rq)
{
	rq->conn->chunked_out = false;
	rq->conn->keep_alive = false;
	h1_end(rq);
}

static bool h1_writable(const struct fa_hreq *rq)
{
	return rq->conn->out.len < HS_HIGH_WATER;
}

/* hs_flush() calls res.resume once c->out is below its low-water mark. */
static void h1_on_drain(struct fa_hreq *rq)
{
	hs_want(rq->conn);
}

static bool h1_gone(const struct fa_hreq *rq)
{
	return rq->conn->dead;
}

const struct hs_proto hs_h1_proto = {
	.start = h1_start, .send = h1_send, .writable = h1_writable, .on_drain = h1_on_drain,
	.end = h1_end, .reset = h1_reset, .gone = h1_gone,
};

/* ---- a server process's signals ---- */

struct sigwaiter {
	struct fa_hserver *s;
	void (*on_hup)(void *arg);
	void *arg;
	sigset_t set;
};

static void *sigwait_main(void *p)
{
	struct sigwaiter *sw = p;
	int sig;

	while (sigwait(&sw->set, &sig) == 0) {
		if (sig == SIGHUP) {
			if (sw->on_hup)
				sw->on_hup(sw->arg);
			continue;
		}
		if (sig == SIGUSR2)     /* fa_hserver_run_signals() is done */
			break;
		fa_hserver_stop(sw->s);
		break;
	}
	return NULL;
}

enum fa_err fa_hserver_run_signals(struct fa_hserver *s, void (*on_hup)(void *arg), void *arg)
{
	struct sigwaiter sw = { .s = s, .on_hup = on_hup, .arg = arg };
	pthread_t t;
	enum fa_err rc;

	sigemptyset(&sw.set);
	sigaddset(&sw.set, SIGHUP);
	sigaddset(&sw.set, SIGINT);
	sigaddset(&sw.set, SIGTERM);
	sigaddset(&sw.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, sigwait_main, &sw) != 0)
		return fa_hserver_run(s);
	rc = fa_hserver_run(s);
	pthread_kill(t, SIGUSR2);       /* stopped another way: end the waiter */
	pthread_join(t, NULL);
	return rc;
}
