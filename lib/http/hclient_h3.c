/*
 * hclient over HTTP/3: the queue's requests become streams of one
 * h3client connection on a connected UDP socket, as many at once as
 * max_streams and the server's stream credit allow.  h3client does the
 * protocol; this file does the socket, ngtcp2's timer and the endings.
 * The slots and the stream callbacks are HTTP/2's (hclient_h2.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stats.h"
#include "http/hclient_int.h"

/* Datagrams read in one turn before others get theirs. */
#define DGRAMS_PER_TURN 64

/* Frees a connection closed inside its own callbacks, once out of them. */
static void reap(struct fa_hclient *c)
{
	if (!c->in_h3 && c->h3_dead) {
		fa_h3client_free(c->h3_dead);
		c->h3_dead = NULL;
	}
}

/* Every request queued (none became a stream) ends with msg. */
static void fail_queue(struct fa_hclient *c, enum fa_err rc, const char *msg)
{
	struct fa_hclient_req *list = c->head, *rq;

	c->head = c->tail = NULL;
	while ((rq = list) && !c->freed) {
		list = rq->next;
		hc_notify(c, rq, &(struct fa_hclient_res){ 0 }, rc, msg);
	}
	while ((rq = list)) {           /* freed meanwhile: the rest go back */
		list = rq->next;
		rq->next = NULL;
		if (c->tail)
			c->tail->next = rq;
		else
			c->head = rq;
		c->tail = rq;
	}
}

/*
 * The connection ended with why: streams in flight fail with it, and if
 * the handshake never finished, so does the queue ("cannot connect").
 */
static void broken(struct fa_hclient *c, const char *why)
{
	bool connected = c->h3_up;
	char msg[400];
	struct h2slot *s;

	c->h3_up = false;
	snprintf(msg, sizeof(msg), "%s", why);
	hc_conn_close(c);
	while ((s = c->slots) && !c->freed) {
		if (!s->rq) {
			hc_slot_release(c, s);
			continue;
		}
		hc_slot_fail(s, FA_ECONNECT, "%s %s: %s %s", s->rq->method, s->rq->target, msg,
			     s->got_bytes ? "before the response was complete"
					  : "before any response");
	}
	if (!connected && !c->freed) {
		char m[1024];

		snprintf(m, sizeof(m), "cannot connect to %s: %.700s", c->origin, msg);
		fail_queue(c, FA_ECONNECT, m);
		if (c->head && !c->freed)       /* queued meanwhile: a new try, later */
			fa_timer_start(c->loop, &c->h3_timer, 0);
		return;
	}
	if (!c->freed)
		hc_kick(c);
}

/* Why the socket failed, as broken() says it. */
static void socket_broken(struct fa_hclient *c, int e)
{
	char why[160];

	snprintf(why, sizeof(why), "%s", strerror(e));
	broken(c, why);
}

/* ngtcp2's next expiry on the loop's timer. */
static void arm(struct fa_hclient *c)
{
	uint64_t due = fa_h3client_expiry(c->h3);

	if (due == UINT64_MAX)
		fa_timer_stop(c->loop, &c->h3_timer);
	else
		fa_timer_start_at(c->loop, &c->h3_timer, due);
}

/* Datagrams out until h3client has nothing more; the timer rearmed. */
void hc_h3_flush(struct fa_hclient *c)
{
	uint8_t buf[FA_H3_MAX_PACKET];
	size_t n;
	ssize_t k;

	if (!c->h3 || c->in_h3)
		return;
	while ((n = fa_h3client_send(c->h3, buf, sizeof(buf), fa_now_ns())) > 0) {
		do
			k = send(c->io.fd, buf, n, 0);
		while (k < 0 && errno == EINTR);
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			socket_broken(c, errno);
			return;
		}
		/* a datagram the kernel had no room for is lost: QUIC sends it again */
	}
	if (fa_h3client_done(c->h3)) {
		broken(c, fa_h3client_error(c->h3));
		return;
	}
	arm(c);
}

/* The queue's requests as streams, as far as the credit goes. */
static void start_streams(struct fa_hclient *c)
{
	struct fa_h2client_req r = { .scheme = c->url.scheme, .authority = c->url.authority,
				     .user_agent = c->ua };
	struct fa_hclient_req *rq;
	struct fa_error err;
	struct h2slot *s;
	const char *why;

	while (c->head && !c->freed && c->h3 && c->nslots < c->max_streams &&
	       fa_h3client_streams_left(c->h3) > 0) {
		rq = hc_pop(c);
		if ((why = hc_request_problem(c, rq))) {
			hc_refuse(c, rq, FA_EUSAGE, why);
			continue;
		}
		if (!(s = hc_slot_get(c))) {
			hc_refuse(c, rq, FA_ENOMEM, "out of memory");
			continue;
		}
		r.method = rq->method;
		r.path = rq->target;
		r.headers = rq->headers;
		r.nheaders = rq->nheaders;
		r.body = rq->body;
		r.body_len = rq->body_len;
		r.content_length = hc_body_method(rq->method);
		if ((s->id = fa_h3client_submit(c->h3, &r, s, &err)) < 0) {
			hc_slot_release(c, s);
			hc_refuse(c, rq, err.code == FA_EWORK ? FA_ECONNECT : err.code, err.msg);
			continue;
		}
		hc_slot_arm(c, s, rq);
	}
}

/* The first address of the host, a UDP socket connected to it, and the
   connection's Initial on its way.  Failures end the queue. */
static void connect_h3(struct fa_hclient *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct fa_h3client_opts o = { .handshake_timeout_ms = c->timeout_ms > 0 &&
				      c->timeout_ms < c->connect_timeout_ms ? c->timeout_ms :
				      c->connect_timeout_ms };
	struct fa_error err = { 0 };
	char port[8], why[300];
	int rc, fd = -1;

	c->h3_up = false;
	snprintf(port, sizeof(port), "%d", c->url.port);
	if ((rc = getaddrinfo(c->url.host, port, &hints, &ai)) != 0) {
		snprintf(why, sizeof(why), "%s", rc == EAI_SYSTEM ? strerror(errno)
								   : gai_strerror(rc));
		goto fail;
	}
	memset(&c->path, 0, sizeof(c->path));
	c->path.remote_len = ai->ai_addrlen;
	memcpy(&c->path.remote, ai->ai_addr, ai->ai_addrlen);
	c->path.local_len = sizeof(c->path.local);
	if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&c->path.local, &c->path.local_len) < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	freeaddrinfo(ai);
	ai = NULL;
	c->io.fd = fd;
	c->io.events = 0;
	if (fa_loop_add(c->loop, &c->io, FA_IN) != FA_OK) {
		snprintf(why, sizeof(why), "cannot watch the socket: %s", strerror(errno));
		goto fail;
	}
	if (!(c->h3 = fa_h3client_new(c->h3tls, c->url.host, &c->path, &o, &hc_stream_ops, c,
				      fa_now_ns(), &err))) {
		snprintf(why, sizeof(why), "%.290s", err.msg);
		goto fail;
	}
	c->state = C_H3;
	hc_h3_flush(c);
	return;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (fd >= 0 && c->io.fd != fd)
		close(fd);
	broken(c, why);
}

void hc_h3_kick(struct fa_hclient *c)
{
	if (c->in_h3 || c->freed)
		return;         /* after the callbacks, the caller kicks again */
	if (!c->h3) {
		if (c->head)
			connect_h3(c);
		return;
	}
	if (fa_h3client_ready(c->h3) && !c->h3_up) {
		c->h3_up = true;
		c->proto = FA_HPROTO_H3;
	}
	start_streams(c);
	hc_h3_flush(c);
}

/* One datagram in; false when the connection went (broken() ran). */
static bool take(struct fa_hclient *c, const uint8_t *p, size_t n)
{
	bool ok;

	c->in_h3++;
	ok = fa_h3client_recv(c->h3, &c->path, p, n, fa_now_ns());
	c->in_h3--;
	reap(c);
	if (c->freed || !c->h3)
		return false;
	if (!ok) {
		hc_h3_flush(c);         /* the CONNECTION_CLOSE, and broken() */
		return false;
	}
	return true;
}

void hc_h3_ready(struct fa_hclient *c, uint32_t revents)
{
	uint8_t buf[65536];
	ssize_t k;
	int i;

	for (i = 0; i < DGRAMS_PER_TURN; i++) {
		do
			k = recv(c->io.fd, buf, sizeof(buf), 0);
		while (k < 0 && errno == EINTR);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (k < 0) {
			socket_broken(c, errno);   /* ECONNREFUSED: nobody listens */
			return;
		}
		if (!take(c, buf, (size_t)k))
			return;
	}
	if (i == DGRAMS_PER_TURN)
		fa_timer_start(c->loop, &c->again_timer, 0);
	hc_h3_kick(c);
}

static void on_h3_timer(struct fa_timer *t)
{
	struct fa_hclient *c = t->ctx;
	bool ok;

	hc_enter(c);
	if (!c->h3) {           /* a connect failed: the queue tries again */
		hc_kick(c);
		hc_leave(c);
		return;
	}
	c->in_h3++;
	ok = fa_h3client_timeout(c->h3, fa_now_ns());
	c->in_h3--;
	reap(c);
	if (!c->freed && c->h3) {
		if (ok)
			hc_h3_kick(c);
		else
			hc_h3_flush(c);
	}
	hc_leave(c);
}

/* The connection goes (later, when inside its callbacks), with its streams. */
void hc_h3_close(struct fa_hclient *c)
{
	if (!c->h3)
		return;
	if (c->in_h3)
		c->h3_dead = c->h3;
	else
		fa_h3client_free(c->h3);
	c->h3 = NULL;
	fa_timer_stop(c->loop, &c->h3_timer);
	hc_slots_closed(c);
}

void hc_h3_release(struct fa_hclient *c)
{
	fa_h3client_free(c->h3);
	fa_h3client_free(c->h3_dead);
	c->h3 = c->h3_dead = NULL;
	if (c->own_h3tls)
		fa_h3client_tls_free(c->h3tls);
	c->h3tls = NULL;
}

void hc_h3_init(struct fa_hclient *c)
{
	fa_timer_init(&c->h3_timer, on_h3_timer, c);
}
