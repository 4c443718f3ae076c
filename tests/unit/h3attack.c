/*
 * h3attack: a misbehaving HTTP/3 client for tests/fa-bench-h3.bats, built
 * on lib/http/h3client (included whole, to reach its ngtcp2 and nghttp3
 * handles).  One attack a run, against https://127.0.0.1:PORT/items/1:
 *
 *   h3attack PORT flood         open request streams that never end (HEADERS
 *                               without FIN) as far as the server's credit
 *                               goes, for a second; then a second connection
 *                               asks GET /items/1.  Prints "opened=N other=S".
 *   h3attack PORT resets        open streams and reset them at once (RESET_STREAM
 *                               and STOP_SENDING), as fast as credit comes, for
 *                               up to 5 s.  Prints "reset=N closed: REASON".
 *   h3attack PORT fields N      one request with a field of N bytes, then a
 *                               plain one on the same connection.  Prints
 *                               "status=S code=C then=S2".
 *   h3attack PORT qpack N       one request with N copies of a 2900-byte cookie,
 *                               which QPACK's dynamic table sends as one
 *                               insert and N references, then a plain one.
 *                               Prints "status=S code=C sent=B then=S2".
 *   h3attack PORT stall MS      one Initial, then silence: nothing the server
 *                               sends is read by QUIC or acknowledged.  Counts
 *                               the bytes that come for MS ms; then probes the
 *                               server's connection ID with a short-header
 *                               packet every 100 ms for up to 10 s until a
 *                               Stateless Reset says the server dropped it.
 *                               Prints "sent=S received=R early_reset=0|1
 *                               reset=0|1".
 *   h3attack PORT slow PATH     GET PATH, read slowly: one datagram every 1-2 ms
 *                               (the rest wait in the socket, or are lost and
 *                               sent again), acknowledged as QUIC does, for up
 *                               to 60 s.  Prints "status=S bytes=N closed=0|1
 *                               error=E" (E the connection's error, or -).
 *
 * The certificate is not verified (a test's self-signed one).  Exit 0
 * when the attack ran to its end, 1 when it could not (no handshake).
 */
#include "../../lib/http/h3client.c"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stats.h"

struct conn {
	int fd;
	struct fa_h3_path path;
	struct fa_h3client *h3;
	long sent, recvd;
};

/* What the ops saw of the streams: the last one's status and code. */
static int last_status, closed;
static uint32_t last_code;

static int op_head(void *ctx, void *st, int status, const struct fa_h1_header *h, int n)
{
	last_status = status;
	return 0;
}

static long body_bytes;

static int op_data(void *ctx, void *st, const char *p, size_t n)
{
	body_bytes += (long)n;
	return 0;
}

static int op_close(void *ctx, void *st, uint32_t code)
{
	last_code = code;
	closed++;
	return 0;
}

static const struct fa_h2client_ops ops = { op_head, op_data, op_close };
static struct fa_h3client_tls *tls;

static void close_conn(struct conn *c)
{
	fa_h3client_free(c->h3);
	close(c->fd);
}

static void die(const char *what)
{
	fprintf(stderr, "h3attack: %s\n", what);
	exit(1);
}

static int udp_to(int port, struct fa_h3_path *path)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&path->remote;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(path, 0, sizeof(*path));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	path->remote_len = sizeof(*sin);
	path->local_len = sizeof(path->local);
	if (fd < 0 || connect(fd, (struct sockaddr *)sin, sizeof(*sin)) ||
	    getsockname(fd, (struct sockaddr *)&path->local, &path->local_len))
		die("cannot open a UDP socket");
	return fd;
}

static void flush(struct conn *c)
{
	uint8_t buf[FA_H3_MAX_PACKET];
	size_t n;

	while ((n = fa_h3client_send(c->h3, buf, sizeof(buf), fa_now_ns())) > 0)
		if (send(c->fd, buf, n, 0) > 0)
			c->sent += (long)n;
}

/* Reads, times out and writes for up to ms, or until done() says so. */
static void run(struct conn *c, int ms, bool (*done)(struct conn *c))
{
	uint64_t end = fa_now_ns() + (uint64_t)ms * 1000000;
	uint8_t buf[65536];

	flush(c);
	while (!fa_h3client_done(c->h3) && !(done && done(c))) {
		uint64_t now = fa_now_ns(), due = fa_h3client_expiry(c->h3);
		uint64_t until = due < end ? due : end;
		struct pollfd p = { c->fd, POLLIN, 0 };
		ssize_t k;

		if (now >= end)
			return;
		poll(&p, 1, until > now ? (int)((until - now) / 1000000) + 1 : 0);
		while ((k = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
			c->recvd += k;
			fa_h3client_recv(c->h3, &c->path, buf, (size_t)k, fa_now_ns());
		}
		fa_h3client_timeout(c->h3, fa_now_ns());
		flush(c);
	}
}

static bool ready(struct conn *c)
{
	return fa_h3client_ready(c->h3);
}

static void open_conn(struct conn *c, int port, const struct fa_h3client_opts *o)
{
	struct fa_error err;

	memset(c, 0, sizeof(*c));
	c->fd = udp_to(port, &c->path);
	if (!(c->h3 = fa_h3client_new(tls, "127.0.0.1", &c->path, o, &ops, NULL, fa_now_ns(),
				      &err)))
		die(err.msg);
	run(c, 5000, ready);
	if (!ready(c))
		die(fa_h3client_error(c->h3) ? fa_h3client_error(c->h3) : "no handshake");
}

static int want_closed;

static bool all_closed(struct conn *c)
{
	return closed >= want_closed;
}

/* GET /items/1 with extra fields; its status once closed (0: none). */
static int get(struct conn *c, const struct fa_h1_header *h, int n)
{
	struct fa_h2client_req r = { .method = "GET", .scheme = "https",
				     .authority = "127.0.0.1", .path = "/items/1",
				     .headers = h, .nheaders = n };
	struct fa_error err;

	last_status = 0;
	want_closed = closed + 1;
	if (fa_h3client_submit(c->h3, &r, NULL, &err) < 0)
		die(err.msg);
	run(c, 5000, all_closed);
	return last_status;
}

/* ---- the attacks ---- */

/* A body that never comes: the request stays open. */
static nghttp3_ssize never(nghttp3_conn *h, int64_t id, nghttp3_vec *vec, size_t n,
			   uint32_t *flags, void *u, void *su)
{
	return NGHTTP3_ERR_WOULDBLOCK;
}

static const nghttp3_nv get_nv[] = {
	{ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
	{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
	{ (uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0 },
	{ (uint8_t *)":path", (uint8_t *)"/items/1", 5, 8, 0 },
};

static int flood(int port)
{
	static const nghttp3_data_reader dr = { never };
	struct conn c, other;
	uint64_t end = fa_now_ns() + 1000000000ull;
	int opened = 0;
	int64_t id;

	open_conn(&c, port, NULL);
	while (fa_now_ns() < end && !fa_h3client_done(c.h3)) {
		while (ngtcp2_conn_get_streams_bidi_left(c.h3->quic.conn) > 0) {
			if (ngtcp2_conn_open_bidi_stream(c.h3->quic.conn, &id, NULL) ||
			    nghttp3_conn_submit_request(c.h3->quic.http, id, get_nv, 4, &dr, NULL))
				die("cannot open a stream");
			opened++;
		}
		run(&c, 50, NULL);
	}
	open_conn(&other, port, NULL);
	printf("opened=%d other=%d\n", opened, get(&other, NULL, 0));
	close_conn(&c);
	close_conn(&other);
	return 0;
}

static int resets(int port)
{
	struct conn c;
	uint64_t end = fa_now_ns() + 5000000000ull;
	int n = 0;
	int64_t id;

	open_conn(&c, port, NULL);
	while (fa_now_ns() < end && !fa_h3client_done(c.h3)) {
		while (ngtcp2_conn_get_streams_bidi_left(c.h3->quic.conn) > 0) {
			if (ngtcp2_conn_open_bidi_stream(c.h3->quic.conn, &id, NULL) ||
			    nghttp3_conn_submit_request(c.h3->quic.http, id, get_nv, 4, NULL, NULL))
				die("cannot open a stream");
			flush(&c);
			ngtcp2_conn_shutdown_stream(c.h3->quic.conn, id, NGHTTP3_H3_REQUEST_CANCELLED);
			n++;
		}
		run(&c, 20, NULL);
	}
	printf("reset=%d closed: %s\n", n, fa_h3client_error(c.h3) ? fa_h3client_error(c.h3)
								  : "no");
	close_conn(&c);
	return 0;
}

static int fields(int port, long n)
{
	struct conn c;
	char *v = malloc((size_t)n);
	struct fa_h1_header h = { "x-big", v, 5, (size_t)n };
	int st;

	if (!v)
		die("out of memory");
	memset(v, 'a', (size_t)n);
	open_conn(&c, port, NULL);
	st = get(&c, &h, 1);
	printf("status=%d code=0x%x ", st, last_code);
	printf("then=%d\n", get(&c, NULL, 0));
	free(v);
	close_conn(&c);
	return 0;
}

static int qpack(int port, long n)
{
	struct fa_h1_header h[FA_H1_MAX_HEADERS];
	static char v[2900];
	struct conn c;
	long before;
	int st;

	if (n < 1 || n > FA_H1_MAX_HEADERS)
		die("qpack N: 1 to 64");
	memset(v, 'b', sizeof(v));
	for (long i = 0; i < n; i++)
		h[i] = (struct fa_h1_header){ "cookie", v, 6, sizeof(v) };
	/* nghttp3's encoder uses QPACK's dynamic table only when allowed to */
	open_conn(&c, port, &(struct fa_h3client_opts){ .qpack_encoder_table = 4096 });
	run(&c, 100, NULL);     /* the server's SETTINGS, with its table's size */
	before = c.sent;
	st = get(&c, h, (int)n);
	printf("status=%d code=0x%x sent=%ld ", st, last_code, c.sent - before);
	printf("then=%d\n", get(&c, NULL, 0));
	close_conn(&c);
	return 0;
}

/* The server's connection ID, from the long header of its first datagram. */
static bool server_cid(const uint8_t *p, ssize_t n, uint8_t *cid, size_t *len)
{
	size_t dl;

	if (n < 7 || !(p[0] & 0x80))
		return false;
	dl = p[5];
	if ((size_t)n < 7 + dl || (size_t)n < 7 + dl + p[6 + dl] || p[6 + dl] > 20)
		return false;
	*len = p[6 + dl];
	memcpy(cid, p + 7 + dl, *len);
	return true;
}

/* A short-header datagram to cid; true when a Stateless Reset (a
   short-header datagram) answers within ms. */
static bool probe(struct conn *c, const uint8_t *cid, size_t len, int ms)
{
	uint8_t pkt[64], buf[65536];
	uint64_t end = fa_now_ns() + (uint64_t)ms * 1000000;
	ssize_t k;

	fa_quic_rand(pkt, sizeof(pkt), NULL);
	pkt[0] = (uint8_t)(0x40 | (pkt[0] & 0x3f));
	memcpy(pkt + 1, cid, len);
	if (send(c->fd, pkt, sizeof(pkt), 0) > 0)
		c->sent += (long)sizeof(pkt);
	while (fa_now_ns() < end) {
		struct pollfd p = { c->fd, POLLIN, 0 };

		poll(&p, 1, (int)((end - fa_now_ns()) / 1000000) + 1);
		while ((k = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
			c->recvd += k;
			if (!(buf[0] & 0x80))
				return true;
		}
	}
	return false;
}

static int stall(int port, long ms)
{
	uint8_t buf[65536], cid[20];
	size_t cidlen = 0;
	uint64_t end;
	bool early = false, probed = false, reset = false;
	struct conn c;
	struct fa_error err;
	size_t n;
	ssize_t k;

	memset(&c, 0, sizeof(c));
	c.fd = udp_to(port, &c.path);
	if (!(c.h3 = fa_h3client_new(tls, "127.0.0.1", &c.path, NULL, &ops, NULL, fa_now_ns(),
				     &err)))
		die(err.msg);
	n = fa_h3client_send(c.h3, buf, sizeof(buf), fa_now_ns());     /* the Initial */
	if (!n || send(c.fd, buf, n, 0) != (ssize_t)n)
		die("cannot send the Initial");
	c.sent = (long)n;
	end = fa_now_ns() + (uint64_t)ms * 1000000;
	while (fa_now_ns() < end) {
		struct pollfd p = { c.fd, POLLIN, 0 };

		poll(&p, 1, (int)((end - fa_now_ns()) / 1000000) + 1);
		while ((k = recv(c.fd, buf, sizeof(buf), 0)) > 0) {
			c.recvd += k;
			if (!cidlen && !server_cid(buf, k, cid, &cidlen))
				cidlen = 0;
		}
		if (cidlen && !probed) {        /* while the handshake may still go on */
			early = probe(&c, cid, cidlen, 200);
			probed = true;
		}
	}
	printf("sent=%ld received=%ld ", c.sent, c.recvd);
	if (!cidlen)
		die("the server sent nothing");
	for (end = fa_now_ns() + 10000000000ull; !reset && fa_now_ns() < end;)
		reset = probe(&c, cid, cidlen, 100);
	printf("early_reset=%d reset=%d\n", early, reset);
	close_conn(&c);
	return 0;
}

/* A client alive and taking its answer, slowly: the server must not close on it mid-answer. */
static int slow(int port, const char *path)
{
	struct fa_h3client_opts o = { 0 };
	struct fa_h2client_req r = { .method = "GET", .scheme = "https", .authority = "127.0.0.1",
				     .path = path };
	struct fa_error err;
	struct conn c;
	uint8_t buf[65536];
	uint64_t end;
	ssize_t k;

	open_conn(&c, port, &o);
	want_closed = closed + 1;
	if (fa_h3client_submit(c.h3, &r, NULL, &err) < 0)
		die(err.msg);
	flush(&c);
	end = fa_now_ns() + 60000000000ull;
	while (!fa_h3client_done(c.h3) && closed < want_closed && fa_now_ns() < end) {
		struct pollfd p = { c.fd, POLLIN, 0 };

		poll(&p, 1, 1);
		usleep(1000);
		if ((k = recv(c.fd, buf, sizeof(buf), 0)) > 0) {
			c.recvd += k;
			fa_h3client_recv(c.h3, &c.path, buf, (size_t)k, fa_now_ns());
		}
		fa_h3client_timeout(c.h3, fa_now_ns());
		flush(&c);
	}
	printf("status=%d bytes=%ld closed=%d error=%s\n", last_status, body_bytes, closed >= want_closed,
	       fa_h3client_error(c.h3) ? fa_h3client_error(c.h3) : "-");
	close_conn(&c);
	return 0;
}

int main(int argc, char **argv)
{
	struct fa_error err;
	int port = argc > 2 ? atoi(argv[1]) : 0;
	long n = argc > 3 ? atol(argv[3]) : 0;
	int rc = -1;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!port || !(tls = fa_h3client_tls_new(NULL, true, &err)))
		die("usage: h3attack PORT flood|resets|fields N|qpack N|stall MS|slow PATH");
	if (!strcmp(argv[2], "flood"))
		rc = flood(port);
	else if (!strcmp(argv[2], "resets"))
		rc = resets(port);
	else if (!strcmp(argv[2], "fields") && n > 0)
		rc = fields(port, n);
	else if (!strcmp(argv[2], "qpack"))
		rc = qpack(port, n);
	else if (!strcmp(argv[2], "stall") && n > 0)
		rc = stall(port, n);
	else if (!strcmp(argv[2], "slow") && argc > 3)
		rc = slow(port, argv[3]);
	else
		die("usage: h3attack PORT flood|resets|fields N|qpack N|stall MS|slow PATH");
	fa_h3client_tls_free(tls);
	return rc;
}
