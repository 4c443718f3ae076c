/*
 * hserver_h3: HTTP/3 for lib/http/hserver.  Each worker has its own UDP
 * socket on the --h3-listen address (SO_REUSEPORT) and its own QUIC
 * connections; lib/http/h3 does the protocol, this file the datagrams
 * (recvmsg with the local address from IP_PKTINFO / IPV6_PKTINFO, sendmsg
 * from that same address), the timers, and the join of streams to the
 * application's requests through hs_h3_proto.
 *
 * The kernel picks a worker for a datagram by its addresses, so a client
 * that changes port (NAT rebinding, migration) may land on another
 * worker.  The first byte of every connection ID we issue names the
 * worker that owns the connection: a datagram for a connection unknown
 * here whose ID names another worker is handed to that worker's inbox (a
 * list under a lock, and an eventfd to wake it), not dropped.  One whose
 * ID names no live connection gets a Stateless Reset (at most
 * RESETS_PER_SECOND a second per worker).
 */
#include "http/hserver_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stats.h"
#include "http/h3.h"

#define RECV_BATCH 64           /* datagrams read per wakeup */
#define SEND_BATCH 64           /* datagrams sent per connection per turn */
#define INBOX_MAX 4096          /* datagrams waiting for a worker from the others */
#define RESETS_PER_SECOND 100

/* A datagram handed over from another worker. */
struct handed {
	struct handed *next;
	struct fa_h3_path path;
	size_t n;
	uint8_t data[];
};

struct hs_h3conn;

/* An HTTP/3 request: the application's struct fa_hreq (first) and its stream. */
struct hs_h3req {
	struct fa_hreq rq;
	struct hs_res res;
	struct hs_h3conn *qc;
	struct fa_h3_stream *st;        /* NULL once the stream closed */
	bool resume_now;
	struct hs_h3req *prev, *next;
};

struct hs_h3conn {
	struct hs_h3 *h;
	struct fa_h3 *q;
	struct fa_timer timer;
	struct hs_h3req *reqs;
	char peer[64];
	bool dirty, dead;
	uint64_t rx_ns;                 /* the last packet from the client */
	struct hs_h3conn *dirty_next;
	struct hs_h3conn *prev, *next;
};

struct hs_h3 {
	struct hs_worker *w;
	struct fa_io io;
	struct fa_h3_limits lim;
	struct hs_h3conn *conns, *dirty, *graveyard;
	int nconns;
	bool stopping;
	uint64_t stop_ns;       /* when stopping began */
	bool no_gso;            /* the kernel refused UDP_SEGMENT once */
	uint16_t port;          /* the bound port, for the local address of replies */
	/* datagrams other workers hand over: the only state shared between them */
	pthread_mutex_t lock;
	struct handed *inbox;
	int ninbox;
	struct fa_io inbox_io;  /* an eventfd */
	time_t reset_second;
	int resets;
};

static const struct fa_h3_ops ops;

/* ---- the socket ---- */

int hs_h3_bind(const char *addr, int *port, struct fa_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char host[256], portbuf[16];
	const char *colon = strrchr(addr, ':');
	size_t len = colon ? (size_t)(colon - addr) : 0;
	int fd = -1, one = 1, rc;

	if (!colon || !colon[1] || len >= sizeof(host)) {
		fa_error_set(err, FA_EUSAGE, "HTTP/3 listen address '%s': want HOST:PORT", addr);
		return -1;
	}
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']')
		memcpy(host, addr + 1, len - 2), host[len - 2] = '\0';
	else
		memcpy(host, addr, len), host[len] = '\0';
	snprintf(portbuf, sizeof(portbuf), "%d", *port > 0 ? *port : atoi(colon + 1));
	if ((rc = getaddrinfo(host[0] ? host : NULL, portbuf, &hints, &res)) != 0) {
		fa_error_set(err, FA_EUSAGE, "HTTP/3 listen address '%s': %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
		} else {
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
			setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fa_error_set(err, FA_EWORK, "cannot listen on UDP '%s': %s", addr, strerror(errno));
		return -1;
	}
	if (*port <= 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/*
 * The address a datagram came to, from its IP_PKTINFO / IPV6_PKTINFO, and
 * its ECN bits from IP_TOS / IPV6_TCLASS.
 */
static bool local_addr(struct msghdr *m, uint16_t port, struct fa_h3_path *p)
{
	bool found = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
			int tclass = 0;

			if (c->cmsg_type == IP_TOS)
				tclass = *(uint8_t *)CMSG_DATA(c);
			else
				memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
			p->ecn = (uint8_t)(tclass & 0x3);
			continue;
		}
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in *sa = (struct sockaddr_in *)&p->local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
						    .sin_addr = pi.ipi_addr };
			p->local_len = sizeof(*sa);
			found = true;
			continue;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&p->local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*sa = (struct sockaddr_in6){ .sin6_family = AF_INET6,
						     .sin6_port = htons(port),
						     .sin6_addr = pi.ipi6_addr };
			p->local_len = sizeof(*sa);
			found = true;
		}
	}
	return found;
}

/* Appends one control message to m, whose buffer has room for it. */
static void add_cmsg(struct msghdr *m, int level, int type, const void *data, size_t n)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)m->msg_control + m->msg_controllen);

	memset(c, 0, CMSG_SPACE(n));
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(c), data, n);
	m->msg_controllen += CMSG_SPACE(n);
}

/*
 * Datagrams out, from the local address the peer sent to, with their ECN
 * bits.  gso > 0: data is several datagrams of gso bytes (the last may be
 * shorter) that the kernel splits (UDP_SEGMENT): one system call for all.
 * -1 when the kernel refuses GSO, 0 when the socket is full, 1 when sent.
 */
static int send_dgrams(int fd, const struct fa_h3_path *p, const uint8_t *data, size_t n,
		       size_t gso)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) +
			 CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)data, n };
	struct msghdr m = { .msg_name = (void *)&p->remote, .msg_namelen = p->remote_len,
			    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf };
	bool v4 = p->local.ss_family == AF_INET;
	int tclass = p->ecn;
	ssize_t r;

	if (v4) {
		struct in_pktinfo pi = { .ipi_spec_dst =
						 ((const struct sockaddr_in *)&p->local)->sin_addr };

		add_cmsg(&m, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (p->local.ss_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr =
						  ((const struct sockaddr_in6 *)&p->local)->sin6_addr };

		add_cmsg(&m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (tclass)
		add_cmsg(&m, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &tclass,
			 sizeof(tclass));
	if (gso && gso < n) {
		uint16_t seg = (uint16_t)gso;

		add_cmsg(&m, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
	}
	if (!m.msg_controllen)
		m.msg_control = NULL;
	do
		r = sendmsg(fd, &m, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return 1;
	return gso && gso < n && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) ? -1 : 0;
}

static bool send_one(int fd, const struct fa_h3_path *p, const uint8_t *data, size_t n)
{
	return send_dgrams(fd, p, data, n, 0) > 0;
}

/* ---- connections ---- */

static void conn_timeout(struct fa_timer *t);

static void req_free(struct hs_h3req *r)
{
	struct hs_h3conn *qc = r->qc;

	if (r->prev)
		r->prev->next = r->next;
	else
		qc->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	fa_buf_release(&r->res.extra);
	fa_henc_release(&r->res.enc);
	free(r);
}

static void dirty(struct hs_h3conn *qc)
{
	if (qc->dirty || qc->dead)
		return;
	qc->dirty = true;
	qc->dirty_next = qc->h->dirty;
	qc->h->dirty = qc;
}

/*
 * The connection is over: its streams end, answered requests go, the
 * application is told about the others and frees them with fa_hres_end().
 */
static void conn_close(struct hs_h3conn *qc)
{
	struct hs_h3 *h = qc->h;

	if (qc->dead)
		return;
	qc->dead = true;
	fa_timer_stop(h->w->loop, &qc->timer);
	if (qc->prev)
		qc->prev->next = qc->next;
	else
		h->conns = qc->next;
	if (qc->next)
		qc->next->prev = qc->prev;
	h->nconns--;
	for (struct hs_h3req *r = qc->reqs; r; r = r->next)
		r->st = NULL;
	for (struct hs_h3req *r = qc->reqs, *next; r; r = next) {
		void (*abort)(struct fa_hreq *, void *) = r->res.abort;

		next = r->next;
		if (r->res.ended) {
			req_free(r);
		} else if (abort) {
			r->res.abort = NULL;
			abort(&r->rq, r->res.abort_arg);
		}
	}
	qc->next = h->graveyard;        /* freed after this turn, once no request is left */
	h->graveyard = qc;
}

static void rearm(struct hs_h3conn *qc)
{
	uint64_t exp = fa_h3_expiry(qc->q), now = fa_now_ns();

	if (exp == UINT64_MAX) {
		fa_timer_stop(qc->h->w->loop, &qc->timer);
		return;
	}
	fa_timer_start(qc->h->w->loop, &qc->timer, exp > now ? (exp - now + 999999) / 1000000 : 0);
}

/* Producers that asked while their stream had room. */
static void run_resumes(struct hs_h3conn *qc)
{
	for (int guard = 0; guard < 1000 && !qc->dead; guard++) {
		struct hs_h3req *r = qc->reqs;
		void (*resume)(struct fa_hreq *, void *);

		while (r && !r->resume_now)
			r = r->next;
		if (!r)
			return;
		r->resume_now = false;
		if ((resume = r->res.resume)) {
			r->res.resume = NULL;
			resume(&r->rq, r->res.resume_arg);
		}
	}
}

static bool same_path(const struct fa_h3_path *a, const struct fa_h3_path *b)
{
	return a->ecn == b->ecn && a->remote_len == b->remote_len &&
	       a->local_len == b->local_len && !memcmp(&a->remote, &b->remote, a->remote_len) &&
	       !memcmp(&a->local, &b->local, a->local_len);
}

/* A run of datagrams of one path: GSO when there are several, else one by one. */
static bool send_run(struct hs_h3 *h, const struct fa_h3_path *p, const uint8_t *data,
		     size_t n, size_t seg)
{
	int rc;

	if (!h->no_gso && n > seg) {
		if ((rc = send_dgrams(h->io.fd, p, data, n, seg)) >= 0)
			return rc > 0;
		h->no_gso = true;       /* this kernel or device cannot: never again */
	}
	for (size_t off = 0; off < n; off += seg)
		if (!send_one(h->io.fd, p, data + off, n - off < seg ? n - off : seg))
			return false;
	return true;
}

/*
 * Datagrams out until QUIC has nothing more for now, gathered into runs of
 * one path and one size for GSO; closes a finished connection.
 */
static void flush(struct hs_h3conn *qc)
{
	static _Thread_local uint8_t buf[64 * 1024];
	struct fa_h3_path run, p;
	uint64_t now = fa_now_ns();
	size_t used = 0, seg = 0, n;

	run_resumes(qc);
	if (qc->dead)
		return;
	for (int i = 0; i < SEND_BATCH; i++) {
		if (used + FA_H3_MAX_PACKET > sizeof(buf)) {
			if (!send_run(qc->h, &run, buf, used, seg))
				goto sent;      /* the socket buffer is full: QUIC resends */
			used = 0;
		}
		if (!(n = fa_h3_send(qc->q, buf + used, FA_H3_MAX_PACKET, &p, now)))
			break;
		if (used && (!same_path(&run, &p) || n > seg)) {
			if (!send_run(qc->h, &run, buf, used, seg))
				goto sent;
			memmove(buf, buf + used, n);
			used = 0;
		}
		if (!used) {
			run = p;
			seg = n;
		}
		used += n;
		if (n < seg) {          /* a short one ends the run */
			if (!send_run(qc->h, &run, buf, used, seg))
				goto sent;
			used = 0;
		}
	}
	if (used)
		send_run(qc->h, &run, buf, used, seg);
sent:
	if (fa_h3_done(qc->q)) {
		conn_close(qc);
		return;
	}
	rearm(qc);
}

static void conn_timeout(struct fa_timer *t)
{
	struct hs_h3conn *qc = t->ctx;

	fa_h3_timeout(qc->q, fa_now_ns());
	flush(qc);
}

static struct hs_h3conn *find(struct hs_h3 *h, const uint8_t *dcid, size_t len)
{
	for (struct hs_h3conn *qc = h->conns; qc; qc = qc->next)
		if (fa_h3_owns(qc->q, dcid, len))
			return qc;
	return NULL;
}

static void accept_conn(struct hs_h3 *h, const struct fa_h3_path *p, const uint8_t *pkt,
			size_t n)
{
	const struct fa_hserver_opts *o = &h->w->s->o;
	struct hs_h3conn *qc;
	struct fa_error err;
	uint8_t reply[FA_H3_MAX_PACKET];
	size_t reply_len = 0;

	if (h->stopping || h->nconns >= o->max_conns || !(qc = calloc(1, sizeof(*qc))))
		return;
	qc->h = h;
	qc->rx_ns = fa_now_ns();
	fa_timer_init(&qc->timer, conn_timeout, qc);
	getnameinfo((const struct sockaddr *)&p->remote, p->remote_len, qc->peer,
		    sizeof(qc->peer), NULL, 0, NI_NUMERICHOST);
	if (!(qc->q = fa_h3_accept(h->w->s->h3ctx, &h->lim, &ops, qc, p, pkt, n, fa_now_ns(),
				   reply, &reply_len, &err))) {
		free(qc);
		if (reply_len)
			send_one(h->io.fd, p, reply, reply_len);
		return;
	}
	qc->next = h->conns;
	if (h->conns)
		h->conns->prev = qc;
	h->conns = qc;
	h->nconns++;
	dirty(qc);
}

/* Queues a copy of the datagram for the worker that owns its connection. */
static void hand_over(struct hs_h3 *to, const struct fa_h3_path *p, const uint8_t *pkt,
		      size_t n)
{
	struct handed *d = malloc(sizeof(*d) + n);
	uint64_t one = 1;
	bool wake;

	if (!d)
		return;
	d->path = *p;
	d->n = n;
	memcpy(d->data, pkt, n);
	pthread_mutex_lock(&to->lock);
	if (to->ninbox >= INBOX_MAX) {
		pthread_mutex_unlock(&to->lock);
		free(d);
		return;         /* dropped, as the network may: QUIC resends */
	}
	wake = !to->inbox;
	d->next = to->inbox;
	to->inbox = d;
	to->ninbox++;
	pthread_mutex_unlock(&to->lock);
	if (wake && write(to->inbox_io.fd, &one, sizeof(one)) < 0)
		return;
}

/* A short-header datagram for no connection of ours: a Stateless Reset, rate-limited. */
static void reset(struct hs_h3 *h, const struct fa_h3_path *p, const uint8_t *pkt, size_t n,
		  const uint8_t *dcid, size_t dcid_len)
{
	uint8_t out[FA_H3_MAX_PACKET];
	time_t now = time(NULL);
	size_t k;

	if (now != h->reset_second) {
		h->reset_second = now;
		h->resets = 0;
	}
	if (h->resets >= RESETS_PER_SECOND)
		return;
	if ((k = fa_h3_stateless_reset(h->w->s->h3ctx, pkt, n, dcid, dcid_len, out, sizeof(out)))) {
		h->resets++;
		send_one(h->io.fd, p, out, k);
	}
}

static void on_datagram(struct hs_h3 *h, const struct fa_h3_path *p, const uint8_t *pkt,
			size_t n, bool handed)
{
	const uint8_t *dcid;
	size_t dcid_len;
	struct hs_h3conn *qc;
	int rc = fa_h3_packet_dcid(pkt, n, &dcid, &dcid_len);

	if (rc == 1) {
		uint8_t out[FA_H3_MAX_PACKET];
		size_t k = fa_h3_version_negotiation(pkt, n, out, sizeof(out));

		if (k)
			send_one(h->io.fd, p, out, k);
		return;
	}
	if (rc < 0)
		return;
	if (!(qc = find(h, dcid, dcid_len))) {
		struct fa_hserver *s = h->w->s;

		if (pkt[0] & 0x80)
			accept_conn(h, p, pkt, n);      /* a long header: a new client */
		else if (!handed && dcid_len == FA_H3_CIDLEN && dcid[0] != h->w->index &&
			 dcid[0] < s->o.threads && s->workers[dcid[0]].h3)
			hand_over(s->workers[dcid[0]].h3, p, pkt, n);
		else
			reset(h, p, pkt, n, dcid, dcid_len);
		return;
	}
	qc->rx_ns = fa_now_ns();
	fa_h3_recv(qc->q, p, pkt, n, qc->rx_ns);
	dirty(qc);
}

static void on_read(struct fa_io *io, uint32_t ev)
{
	struct hs_h3 *h = io->ctx;
	uint8_t buf[65536];

	for (int i = 0; i < RECV_BATCH; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct fa_h3_path p = { 0 };
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &p.remote, .msg_namelen = sizeof(p.remote),
				    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(io->fd, &m, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		p.remote_len = m.msg_namelen;
		if (!n || !local_addr(&m, h->port, &p))
			continue;
		on_datagram(h, &p, buf, (size_t)n, false);
	}
}

/* Datagrams other workers handed over, in the order they came. */
static void on_inbox(struct fa_io *io, uint32_t ev)
{
	struct hs_h3 *h = io->ctx;
	struct handed *list, *rev = NULL, *d;
	uint64_t v;

	if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&h->lock);
	list = h->inbox;
	h->inbox = NULL;
	h->ninbox = 0;
	pthread_mutex_unlock(&h->lock);
	while ((d = list)) {
		list = d->next;
		d->next = rev;
		rev = d;
	}
	while ((d = rev)) {
		rev = d->next;
		on_datagram(h, &d->path, d->data, d->n, true);
		free(d);
	}
}

/* ---- requests ---- */

static struct hs_h3req *h3req(const struct fa_hreq *rq)
{
	return (struct hs_h3req *)rq;
}

/* A copy of what the stream holds, after the struct in one allocation (as hserver_h2.c). */
static struct hs_h3req *req_new(const struct fa_h3_request *h)
{
	size_t target = h->query ? (size_t)(h->query + h->query_len - h->path) : h->path_len;
	size_t n = h->method_len + target + h->body_len + 3;
	struct fa_h1_header *hd;
	struct hs_h3req *r;
	char *p;

	for (int i = 0; i < h->nheaders; i++)
		n += h->headers[i].name_len + h->headers[i].value_len + 2;
	if (!(r = calloc(1, sizeof(*r) + (size_t)h->nheaders * sizeof(*hd) + n)))
		return NULL;
	hd = (struct fa_h1_header *)(r + 1);
	p = (char *)(hd + h->nheaders);
#define PUT(dst, s, len) do { dst = p; memcpy(p, s, len); p[len] = '\0'; p += (len) + 1; } while (0)
	PUT(r->rq.method, h->method, h->method_len);
	r->rq.method_len = h->method_len;
	PUT(r->rq.path, h->path, target);
	r->rq.path_len = h->path_len;
	if (h->query) {
		r->rq.query = r->rq.path + (h->query - h->path);
		r->rq.query_len = h->query_len;
	}
	for (int i = 0; i < h->nheaders; i++) {
		PUT(hd[i].name, h->headers[i].name, h->headers[i].name_len);
		hd[i].name_len = h->headers[i].name_len;
		PUT(hd[i].value, h->headers[i].value, h->headers[i].value_len);
		hd[i].value_len = h->headers[i].value_len;
	}
	PUT(r->rq.body, h->body, h->body_len);
#undef PUT
	r->rq.headers = hd;
	r->rq.nheaders = h->nheaders;
	r->rq.body_len = h->body_len;
	return r;
}

static void on_request(void *ctx, struct fa_h3_stream *st, const struct fa_h3_request *h)
{
	struct hs_h3conn *qc = ctx;
	struct hs_worker *w = qc->h->w;
	struct hs_h3req *r = req_new(h);
	struct fa_hreq *rq;

	if (!r) {
		fa_h3_reset(qc->q, st);
		return;
	}
	r->qc = qc;
	r->st = st;
	fa_buf_init(&r->res.extra, 64 * 1024);
	r->next = qc->reqs;
	if (qc->reqs)
		qc->reqs->prev = r;
	qc->reqs = r;
	fa_h3_stream_set_user(st, r);
	rq = &r->rq;
	rq->proto = &hs_h3_proto;
	rq->res = &r->res;
	rq->w = w;
	rq->worker = w->index;
	rq->loop = w->loop;
	rq->worker_ctx = w->ctx;
	rq->t0 = fa_now_ns();
	rq->peer = qc->peer;
	rq->version = "HTTP/3.0";
	rq->head = h->method_len == 4 && !memcmp(h->method, "HEAD", 4);
	dirty(qc);
	if (h->error) {
		struct fa_buf body;

		fa_buf_init(&body, 0);
		hs_error_body(&body, h->error, h->error == 413 ? "request body too large" :
					      h->error == 431 ? "request header fields too large" :
					      "malformed request");
		fa_hres_simple(rq, h->error, "application/json", body.data);
		fa_buf_release(&body);
		return;
	}
	w->s->o.handler(rq, w->s->o.app);
}

static void on_drain(void *ctx, struct fa_h3_stream *st, void *user)
{
	struct hs_h3req *r = user;

	r->resume_now = true;
	dirty(r->qc);
}

static void on_close(void *ctx, struct fa_h3_stream *st, void *user)
{
	struct hs_h3req *r = user;
	void (*abort)(struct fa_hreq *, void *) = r->res.abort;

	r->st = NULL;
	if (r->res.ended) {
		req_free(r);
		return;
	}
	if (abort) {
		r->res.abort = NULL;
		abort(&r->rq, r->res.abort_arg);
	}
}

static const struct fa_h3_ops ops = { on_request, on_drain, on_close };

/* ---- responses ---- */

static void h3_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length)
{
	struct hs_h3req *r = h3req(rq);
	struct fa_h1_header h[42];
	char len[24];
	bool bodyless = status < 200 || status == 204 || status == 304;
	int n;

	if (!r->st)
		return;
	n = hs_response_headers(rq->w, &r->res, content_type, false, h, 40);
	if (length >= 0 && !bodyless) {
		snprintf(len, sizeof(len), "%lld", (long long)length);
		h[n++] = (struct fa_h1_header){ "content-length", len, 14, strlen(len) };
	}
	fa_h3_respond(r->qc->q, r->st, status, h, n, !bodyless && !rq->head && length != 0);
	dirty(r->qc);
}

static void h3_send(struct fa_hreq *rq, const void *data, size_t n)
{
	struct hs_h3req *r = h3req(rq);

	if (!r->st || r->qc->dead)
		return;
	fa_h3_write(r->qc->q, r->st, data, n);
	dirty(r->qc);
}

static void h3_finish(struct hs_h3req *r, bool failed)
{
	struct hs_h3conn *qc = r->qc;
	const struct fa_hserver_opts *o = &qc->h->w->s->o;

	if (o->on_done && r->rq.method)
		o->on_done(&r->rq, o->app);
	r->res.resume = NULL;
	r->res.abort = NULL;
	if (r->st && !qc->dead) {
		if (failed)
			fa_h3_reset(qc->q, r->st);
		else
			fa_h3_end(qc->q, r->st);
		dirty(qc);
		return;                 /* freed when the stream closes */
	}
	req_free(r);
}

static void h3_end(struct fa_hreq *rq)
{
	h3_finish(h3req(rq), false);
}

static void h3_reset(struct fa_hreq *rq)
{
	h3_finish(h3req(rq), true);
}

static bool h3_writable(const struct fa_hreq *rq)
{
	const struct hs_h3req *r = h3req(rq);

	return !r->st || !fa_h3_stream_full(r->st);
}

static void h3_on_drain(struct fa_hreq *rq)
{
	struct hs_h3req *r = h3req(rq);

	if (!r->st || !fa_h3_stream_full(r->st)) {
		r->resume_now = true;
		dirty(r->qc);
	}
}

static bool h3_gone(const struct fa_hreq *rq)
{
	return !h3req(rq)->st;
}

const struct hs_proto hs_h3_proto = {
	.start = h3_start, .send = h3_send, .writable = h3_writable, .on_drain = h3_on_drain,
	.end = h3_end, .reset = h3_reset, .gone = h3_gone,
};

/* ---- the worker's side ---- */

enum fa_err hs_h3_init(struct hs_worker *w, int fd, int port, struct fa_error *err)
{
	const struct fa_hserver_opts *o = &w->s->o;
	struct hs_h3 *h = calloc(1, sizeof(*h));

	if (!h) {
		close(fd);
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	}
	h->w = w;
	h->port = (uint16_t)port;
	h->io = (struct fa_io){ .fd = fd, .cb = on_read, .ctx = h };
	h->inbox_io = (struct fa_io){ .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), .cb = on_inbox,
				      .ctx = h };
	pthread_mutex_init(&h->lock, NULL);
	w->h3 = h;
	if (h->inbox_io.fd < 0)
		return fa_error_set(err, FA_EWORK, "eventfd: %s", strerror(errno));
	fa_h3_limits_init(&h->lim);
	h->lim.cid_tag = (uint8_t)w->index;
	h->lim.retry = o->h3_retry;
	if (o->h2_max_streams)
		h->lim.max_streams = o->h2_max_streams;
	if (o->h2_max_header_list)
		h->lim.max_field_section = o->h2_max_header_list;
	h->lim.max_body = o->max_body;
	if (o->keepalive_timeout_ms > 0)
		h->lim.idle_timeout_ms = o->keepalive_timeout_ms;
	/* a handshake is the first part of a request's head: no longer than that */
	if (o->header_timeout_ms > 0 && o->header_timeout_ms < h->lim.handshake_timeout_ms)
		h->lim.handshake_timeout_ms = o->header_timeout_ms;
	return FA_OK;
}

void hs_h3_run(struct hs_worker *w)
{
	if (!w->h3)
		return;
	fa_loop_add(w->loop, &w->h3->io, FA_IN);
	fa_loop_add(w->loop, &w->h3->inbox_io, FA_IN);
}

/* Output of this turn, and connections closed in it freed. */
void hs_h3_turn(struct hs_worker *w)
{
	struct hs_h3 *h = w->h3;
	struct hs_h3conn *qc, *list;

	if (!h)
		return;
	/* those made dirty while this runs go out on the next turn, which does not wait */
	list = h->dirty;
	h->dirty = NULL;
	while ((qc = list)) {
		list = qc->dirty_next;
		qc->dirty = false;
		if (!qc->dead)
			flush(qc);
	}
	for (struct hs_h3conn **p = &h->graveyard; (qc = *p);) {
		if (qc->reqs || qc->dirty) {
			p = &qc->next;  /* the application still answers one */
			continue;
		}
		*p = qc->next;
		fa_h3_free(qc->q);
		free(qc);
	}
	if (h->stopping && h->io.fd >= 0 && !h->conns) {
		fa_loop_del(w->loop, &h->io);
		close(h->io.fd);
		h->io.fd = -1;
	}
}

/* True when output waits for the next turn. */
bool hs_h3_pending(const struct hs_worker *w)
{
	return w->h3 && w->h3->dirty;
}

/* True while connections are open (the worker runs on while stopping). */
bool hs_h3_busy(const struct hs_worker *w)
{
	return w->h3 && (w->h3->conns || w->h3->graveyard);
}

/* Stop: GOAWAY on every connection; endless responses end now, others finish. */
void hs_h3_stop(struct hs_worker *w)
{
	struct hs_h3 *h = w->h3;

	if (!h)
		return;
	h->stopping = true;
	h->stop_ns = fa_now_ns();
	for (struct hs_h3conn *qc = h->conns, *next; qc; qc = next) {
		next = qc->next;
		fa_h3_shutdown(qc->q);
		for (struct hs_h3req *r = qc->reqs, *rn; r; r = rn) {
			void (*abort)(struct fa_hreq *, void *) = r->res.abort;

			rn = r->next;
			if (abort && !r->res.ended && r->res.abort_at_stop) {
				r->res.abort = NULL;
				abort(&r->rq, r->res.abort_arg);
			}
		}
		dirty(qc);
	}
}

/* True when every request of qc has its whole answer written. */
static bool answered(const struct hs_h3conn *qc)
{
	for (const struct hs_h3req *r = qc->reqs; r; r = r->next)
		if (!r->res.ended)
			return false;
	return true;
}

/*
 * Once stopping, a connection closes when it is idle (no request left on
 * it, every stream closed), or when its answers are all written and
 * either the client took them (its streams closed), or it has gone quiet
 * for GONE_MS (a live client acknowledges within a round trip, and
 * answers the probes of what it has not), or --send-timeout has passed
 * since the grace below ended: a slow client still taking a long answer
 * gets it, a vanished one does not hold the drain until QUIC's idle
 * timeout.  A request its client never finished is answered (408) by the
 * header and body timeouts, so the longer of the two is the grace: past
 * it, answered connections go as above.
 */
#define GONE_MS 2000

void hs_h3_reap(struct hs_worker *w)
{
	const struct fa_hserver_opts *o = &w->s->o;
	struct hs_h3 *h = w->h3;
	int grace = o->header_timeout_ms > o->body_timeout_ms ? o->header_timeout_ms
							      : o->body_timeout_ms;
	uint64_t now = fa_now_ns(), late_ns, send_ns = (uint64_t)o->send_timeout_ms * 1000000;
	uint64_t gone_ns = send_ns < GONE_MS * 1000000ull ? send_ns : GONE_MS * 1000000ull;

	if (!h || !h->stopping)
		return;
	late_ns = h->stop_ns + (uint64_t)grace * 1000000;
	for (struct hs_h3conn *qc = h->conns, *next; qc; qc = next) {
		bool open = fa_h3_streams(qc->q) > 0;

		next = qc->next;
		if ((!qc->reqs && !open) ||
		    (answered(qc) && (!open || now - qc->rx_ns >= gone_ns ||
				      (now > late_ns && now - late_ns >= send_ns)))) {
			fa_h3_close(qc->q, now);
			flush(qc);      /* the CONNECTION_CLOSE */
			conn_close(qc);
		}
	}
}

void hs_h3_free(struct hs_worker *w)
{
	struct hs_h3 *h = w->h3;

	if (!h)
		return;
	while (h->conns)
		conn_close(h->conns);
	for (struct hs_h3conn *qc; (qc = h->graveyard);) {
		h->graveyard = qc->next;
		while (qc->reqs)
			req_free(qc->reqs);
		fa_h3_free(qc->q);
		free(qc);
	}
	if (h->io.fd >= 0)
		close(h->io.fd);
	if (h->inbox_io.fd >= 0)
		close(h->inbox_io.fd);
	for (struct handed *d; (d = h->inbox);) {
		h->inbox = d->next;
		free(d);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
	w->h3 = NULL;
}
