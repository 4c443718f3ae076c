/*
 * Unit tests for lib/http/hclient: the HTTP/1.1 client, against a small
 * server in the same loop on 127.0.0.1.
 *
 * The server accepts, parses each request with fa_h1_parse_request() and
 * hands it to the test's script, which answers with bytes (at once, or in
 * timed pieces), closes, or stays silent.  It counts connections and
 * requests, so a test can tell whether the client kept its connection.
 * Every request records its callbacks; each test checks that on_done ran
 * exactly once, with the code and message it should.
 *
 * Usage: test_hclient [seed]
 */
#include "http/hclient.c"

#include <arpa/inet.h>
#include <fcntl.h>

#include "check.h"
#include "http/sse.h"

/* ---- the server ---- */

#define MAX_CONNS 16

struct sconn {
	int fd, id, nreq;
	struct fa_io io;
	struct fa_buf in;
	struct fa_timer t;              /* the next piece of a slow answer */
	const char *const *pieces;
	int npieces, next_piece;
	bool close_after_pieces;
};

struct server;
typedef void script_fn(struct sconn *sc, const struct fa_h1_request *req,
		       const char *body, size_t body_len);

struct server {
	struct fa_loop *loop;
	int lfd, port;
	struct fa_io lio;
	struct sconn conns[MAX_CONNS];
	int accepted, requests;
	script_fn *script;
	char last_head[4096];           /* the last request head */
	char last_body[4096];
};

static struct server srv;
static struct fa_loop *loop;

static void sc_close(struct sconn *sc)
{
	if (sc->fd < 0)
		return;
	fa_timer_stop(loop, &sc->t);
	fa_loop_del(loop, &sc->io);
	close(sc->fd);
	sc->fd = -1;
}

/* Sends all of s (small answers fit in the socket buffer). */
static void sc_send(struct sconn *sc, const char *s, size_t n)
{
	ssize_t k;

	while (n > 0 && sc->fd >= 0) {
		k = send(sc->fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			usleep(1000);
			continue;
		}
		if (k < 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static void sc_puts(struct sconn *sc, const char *s)
{
	sc_send(sc, s, strlen(s));
}

static void on_piece(struct fa_timer *t)
{
	struct sconn *sc = t->ctx;

	if (sc->fd < 0)
		return;
	sc_puts(sc, sc->pieces[sc->next_piece++]);
	if (sc->next_piece < sc->npieces)
		fa_timer_start(loop, &sc->t, 2);
	else if (sc->close_after_pieces)
		sc_close(sc);
}

/* Sends pieces[0..n) one every 2 ms. */
static void sc_pieces(struct sconn *sc, const char *const *pieces, int n,
		      bool close_after)
{
	sc->pieces = pieces;
	sc->npieces = n;
	sc->next_piece = 0;
	sc->close_after_pieces = close_after;
	fa_timer_start(loop, &sc->t, 1);
}

/* Whole requests at the front of sc->in go to the script. */
static void sc_requests(struct sconn *sc)
{
	struct fa_h1_header hdr[32];
	struct fa_h1_request req;
	struct fa_error err;
	size_t body;
	int rc, status;

	while (sc->fd >= 0 && sc->in.len > 0) {
		rc = fa_h1_parse_request(sc->in.data, sc->in.len, NULL, hdr, 32,
					 &req, &status, &err);
		if (rc < 0) {
			fprintf(stderr, "server: bad request: %s\n", err.msg);
			sc_close(sc);
			return;
		}
		body = req.content_length > 0 ? (size_t)req.content_length : 0;
		if (rc == 0 || sc->in.len < (size_t)rc + body)
			return;
		snprintf(srv.last_head, sizeof(srv.last_head), "%.*s", rc,
			 sc->in.data);
		snprintf(srv.last_body, sizeof(srv.last_body), "%.*s",
			 (int)body, sc->in.data + rc);
		srv.requests++;
		srv.script(sc, &req, sc->in.data + rc, body);
		sc->nreq++;
		fa_buf_consume(&sc->in, (size_t)rc + body);
	}
}

static void on_sconn(struct fa_io *io, uint32_t revents)
{
	struct sconn *sc = io->ctx;
	char b[4096];
	ssize_t k = recv(sc->fd, b, sizeof(b), 0);

	if (k <= 0) {
		if (k == 0 || errno != EAGAIN)
			sc_close(sc);
		return;
	}
	fa_buf_append(&sc->in, b, (size_t)k);
	sc_requests(sc);
}

static void on_accept(struct fa_io *io, uint32_t revents)
{
	struct sconn *sc;
	int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	if (srv.accepted == MAX_CONNS) {
		close(fd);
		return;
	}
	sc = &srv.conns[srv.accepted];
	memset(sc, 0, sizeof(*sc));
	sc->fd = fd;
	sc->id = srv.accepted++;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fa_buf_init(&sc->in, 0);
	fa_timer_init(&sc->t, on_piece, sc);
	sc->io.fd = fd;
	sc->io.cb = on_sconn;
	sc->io.ctx = sc;
	fa_loop_add(loop, &sc->io, FA_IN);
}

/* A listening socket on 127.0.0.1, any port; returns the port. */
static int listen_any(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("test_hclient: listen");
		exit(2);
	}
	srv.lfd = fd;
	return ntohs(a.sin_port);
}

static void server_start(script_fn *script)
{
	int i;

	memset(&srv, 0, sizeof(srv));
	for (i = 0; i < MAX_CONNS; i++)
		srv.conns[i].fd = -1;
	srv.loop = loop;
	srv.port = listen_any();
	srv.script = script;
	srv.lio.fd = srv.lfd;
	srv.lio.cb = on_accept;
	fa_loop_add(loop, &srv.lio, FA_IN);
}

static void server_stop(void)
{
	int i;

	for (i = 0; i < srv.accepted; i++) {
		sc_close(&srv.conns[i]);
		fa_buf_release(&srv.conns[i].in);
	}
	fa_loop_del(loop, &srv.lio);
	close(srv.lfd);
}

/* ---- the client side ---- */

struct call {
	struct fa_hclient_req rq;
	int done, heads, datas;
	enum fa_err rc;
	int status;
	char msg[1024];
	struct fa_buf body;             /* whole, or what on_data gave */
	char ctype[64];
	bool head_before_data, data_before_head;
	struct fa_sse sse;              /* with stream: the events */
	struct fa_buf events;
};

static void on_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res)
{
	struct call *k = rq->ctx;

	k->heads++;
	k->status = res->status;
}

static void on_data(struct fa_hclient_req *rq, const char *data, size_t n)
{
	struct call *k = rq->ctx;
	struct fa_sse_event ev;
	struct fa_error err;
	size_t used;
	int rc;

	k->datas++;
	if (!k->heads)
		k->data_before_head = true;
	fa_buf_append(&k->body, data, n);
	while (n > 0) {
		rc = fa_sse_feed(&k->sse, data, n, &used, &ev, &err);
		if (rc < 0) {
			fa_buf_printf(&k->events, "E %s;", err.msg);
			return;
		}
		if (rc > 0)
			fa_buf_printf(&k->events, "%s:%s:%s;", ev.type, ev.id,
				      ev.data);
		data += used;
		n -= used;
	}
}

static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
		    enum fa_err rc, const char *msg)
{
	struct call *k = rq->ctx;
	const struct fa_h1_header *h;

	k->done++;
	k->rc = rc;
	k->status = res->status;
	snprintf(k->msg, sizeof(k->msg), "%s", msg ? msg : "");
	if (res->body) {
		fa_buf_append(&k->body, res->body, res->body_len);
		if (res->body[res->body_len] != '\0')
			fa_buf_puts(&k->events, "body not NUL-terminated;");
	}
	h = fa_h1_find(res->headers, res->nheaders, "Content-Type");
	if (h)
		snprintf(k->ctype, sizeof(k->ctype), "%.*s", (int)h->value_len,
			 h->value);
}

static void call_init(struct call *k, const char *method, const char *target)
{
	memset(k, 0, sizeof(*k));
	k->rq.method = method;
	k->rq.target = target;
	k->rq.on_head = on_head;
	k->rq.on_data = on_data;
	k->rq.on_done = on_done;
	k->rq.ctx = k;
	fa_buf_init(&k->body, 0);
	fa_buf_init(&k->events, 0);
	fa_sse_init(&k->sse, 0);
}

static void call_release(struct call *k)
{
	fa_buf_release(&k->body);
	fa_buf_release(&k->events);
	fa_sse_release(&k->sse);
}

/* Runs the loop until every call is done (or 5 s have passed). */
static bool run_until_done(struct call *const *k, int n)
{
	double end = now() + 5;
	int i;

	for (;;) {
		for (i = 0; i < n && k[i]->done; i++)
			;
		if (i == n)
			return true;
		if (now() > end)
			return false;
		fa_loop_run_once(loop, 20);
	}
}

static void run_for(int ms)
{
	double end = now() + ms / 1000.0;

	while (now() < end)
		fa_loop_run_once(loop, 5);
}

static struct fa_hclient *client(const struct fa_hclient_opts *o)
{
	struct fa_url u;
	struct fa_error err;
	char url[64];
	struct fa_hclient *c;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
	if (fa_url_parse(url, &u, &err) != FA_OK) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
	c = fa_hclient_new(loop, &u, o, &err);
	if (!c) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
	return c;
}

/* One request, run to its end; checks on_done ran once. */
static void one(struct fa_hclient *c, struct call *k, const char *file,
		int line)
{
	struct call *list[1] = { k };

	fa_hclient_request(c, &k->rq);
	check(file, line, run_until_done(list, 1), "on_done within 5 s");
	check(file, line, k->done == 1, "on_done exactly once");
}

#define ONE(c, k) one((c), (k), __FILE__, __LINE__)

static char expect_msg[1024];

/* expect_msg = "127.0.0.1:PORT: " and fmt. */
static const char *at_port(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *at_port(const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(expect_msg, sizeof(expect_msg), "127.0.0.1:%d: ",
			 srv.port);

	va_start(ap, fmt);
	vsnprintf(expect_msg + k, sizeof(expect_msg) - (size_t)k, fmt, ap);
	va_end(ap);
	return expect_msg;
}

/* ---- scripts ---- */

/* GET /len: "hello" by Content-Length; POST echoes its body; HEAD says
   a length it does not send; /204 has no body; /continue sends 100 and
   103 first. */
static void script_basic(struct sconn *sc, const struct fa_h1_request *req,
			 const char *body, size_t n)
{
	char head[256];

	if (req->is_head) {
		sc_puts(sc, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	} else if (req->path_len == 4 && !memcmp(req->path, "/204", 4)) {
		sc_puts(sc, "HTTP/1.1 204 No Content\r\n\r\n");
	} else if (req->path_len == 9 && !memcmp(req->path, "/continue", 9)) {
		sc_puts(sc, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early "
			"Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\n"
			"Content-Length: 2\r\n\r\nok");
	} else if (body && n > 0) {
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n\r\n", n);
		sc_puts(sc, head);
		sc_send(sc, body, n);
	} else {
		sc_puts(sc, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			"Content-Length: 5\r\n\r\nhello");
	}
}

static void test_content_length(void)
{
	static const struct fa_h1_header hdrs[] = {
		{ "Content-Type", "application/json", 12, 16 },
		{ "X-Trace", "a b", 7, 3 },
	};
	struct fa_hclient *c;
	struct call k;
	char want[512];

	server_start(script_basic);
	c = client(NULL);
	call_init(&k, "GET", "/len");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200, "%d %s", k.rc, k.msg);
	CHECK_STR(k.body.data, "hello");
	CHECK_STR(k.ctype, "text/plain");
	CHECK(k.heads == 1 && k.datas == 0);
	snprintf(want, sizeof(want), "GET /len HTTP/1.1\r\nHost: 127.0.0.1:%d"
		 "\r\nUser-Agent: fa/" FA_VERSION "\r\n\r\n", srv.port);
	CHECK_STR(srv.last_head, want);
	call_release(&k);

	/* a body goes with Content-Length, the caller's fields as given */
	call_init(&k, "POST", "/mcp?x=1");
	k.rq.headers = hdrs;
	k.rq.nheaders = 2;
	k.rq.body = "{\"a\":1}";
	k.rq.body_len = 7;
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200);
	CHECK_STR(k.body.data, "{\"a\":1}");
	CHECK_STR(k.ctype, "application/json");
	CHECK_STR(srv.last_body, "{\"a\":1}");
	snprintf(want, sizeof(want), "POST /mcp?x=1 HTTP/1.1\r\nHost: "
		 "127.0.0.1:%d\r\nUser-Agent: fa/" FA_VERSION "\r\n"
		 "Content-Type: application/json\r\nX-Trace: a b\r\n"
		 "Content-Length: 7\r\n\r\n", srv.port);
	CHECK_STR(srv.last_head, want);
	call_release(&k);

	/* POST without a body still says its length */
	call_init(&k, "POST", "/empty");
	ONE(c, &k);
	CHECK(strstr(srv.last_head, "Content-Length: 0\r\n") != NULL);
	call_release(&k);

	/* HEAD, 204 and interim 1xx answers: no body read, the connection
	   still in step */
	call_init(&k, "HEAD", "/h");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200 && k.body.len == 0);
	call_release(&k);
	call_init(&k, "GET", "/204");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 204 && k.body.len == 0);
	call_release(&k);
	call_init(&k, "GET", "/continue");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 201 && k.heads == 1);
	CHECK_STR(k.body.data, "ok");
	call_release(&k);
	call_init(&k, "GET", "/len");
	ONE(c, &k);
	CHECK_STR(k.body.data, "hello");
	call_release(&k);
	CHECK(srv.accepted == 1 && srv.requests == 7, "%d connections, %d "
	      "requests", srv.accepted, srv.requests);
	fa_hclient_free(c);
	server_stop();
}

static void script_chunked(struct sconn *sc, const struct fa_h1_request *req,
			   const char *body, size_t n)
{
	sc_puts(sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
}

static void test_chunked(void)
{
	struct fa_hclient *c;
	struct call k;
	int i;

	server_start(script_chunked);
	c = client(NULL);
	for (i = 0; i < 2; i++) {
		call_init(&k, "GET", "/");
		ONE(c, &k);
		CHECK(k.rc == FA_OK && k.status == 200, "%s", k.msg);
		CHECK_STR(k.body.data, "hello world");
		call_release(&k);
	}
	CHECK(srv.accepted == 1, "%d connections", srv.accepted);
	fa_hclient_free(c);
	server_stop();
}

static void script_until_close(struct sconn *sc,
			       const struct fa_h1_request *req,
			       const char *body, size_t n)
{
	sc_puts(sc, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
		"the body ends ");
	sc_puts(sc, "with the connection");
	sc_close(sc);
}

static void test_until_close(void)
{
	struct fa_hclient *c;
	struct call k;
	int i;

	server_start(script_until_close);
	c = client(NULL);
	for (i = 0; i < 2; i++) {
		call_init(&k, "GET", "/");
		ONE(c, &k);
		CHECK(k.rc == FA_OK && k.status == 200, "%s", k.msg);
		CHECK_STR(k.body.data, "the body ends with the connection");
		call_release(&k);
	}
	CHECK(srv.accepted == 2, "%d connections", srv.accepted);
	fa_hclient_free(c);
	server_stop();
}

/* Three requests queued at once go one after the other on one
   connection. */
static void test_keep_alive(void)
{
	struct fa_hclient *c;
	struct call k[3], *list[3] = { &k[0], &k[1], &k[2] };
	int i;

	server_start(script_basic);
	c = client(NULL);
	for (i = 0; i < 3; i++) {
		call_init(&k[i], "POST", "/echo");
		k[i].rq.body = i == 0 ? "one" : i == 1 ? "two" : "three";
		k[i].rq.body_len = strlen(k[i].rq.body);
		fa_hclient_request(c, &k[i].rq);
	}
	CHECK(fa_hclient_pending(c) == 3);
	CHECK(run_until_done(list, 3));
	CHECK(fa_hclient_pending(c) == 0);
	for (i = 0; i < 3; i++) {
		CHECK(k[i].done == 1 && k[i].rc == FA_OK);
		CHECK_STR(k[i].body.data, k[i].rq.body);
		call_release(&k[i]);
	}
	CHECK(srv.accepted == 1 && srv.requests == 3, "%d connections, %d "
	      "requests", srv.accepted, srv.requests);
	fa_hclient_free(c);
	server_stop();
}

/* Answers, then closes the idle connection a little later. */
static void script_close_idle(struct sconn *sc, const struct fa_h1_request *req,
			      const char *body, size_t n)
{
	script_basic(sc, req, body, n);
	sc_close(sc);
}

/* Takes the second request of a connection and closes without a word:
   what a server that timed out an idle connection looks like when the
   request crosses the close. */
static void script_drop_second(struct sconn *sc,
			       const struct fa_h1_request *req,
			       const char *body, size_t n)
{
	if (sc->nreq == 1)
		sc_close(sc);
	else
		script_basic(sc, req, body, n);
}

/* Answers the first request of the first connection only. */
static void script_drop_all_but_first(struct sconn *sc,
				      const struct fa_h1_request *req,
				      const char *body, size_t n)
{
	if (sc->id == 0 && sc->nreq == 0)
		script_basic(sc, req, body, n);
	else
		sc_close(sc);
}

static void test_reconnect(void)
{
	struct fa_hclient *c;
	struct call k;

	/* the close is seen while idle: the next request connects anew */
	server_start(script_close_idle);
	c = client(NULL);
	call_init(&k, "GET", "/a");
	ONE(c, &k);
	CHECK(k.rc == FA_OK);
	call_release(&k);
	run_for(50);
	CHECK(c->state == C_NONE, "the client saw the close");
	call_init(&k, "GET", "/b");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200, "%s", k.msg);
	CHECK_STR(k.body.data, "hello");
	call_release(&k);
	CHECK(srv.accepted == 2, "%d connections", srv.accepted);
	fa_hclient_free(c);
	server_stop();

	/* the close crosses the request: sent again once, on a new one */
	server_start(script_drop_second);
	c = client(NULL);
	call_init(&k, "GET", "/a");
	ONE(c, &k);
	call_release(&k);
	call_init(&k, "GET", "/b");
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200, "%s", k.msg);
	CHECK_STR(k.body.data, "hello");
	call_release(&k);
	CHECK(srv.accepted == 2 && srv.requests == 3, "%d connections, %d "
	      "requests", srv.accepted, srv.requests);
	fa_hclient_free(c);
	server_stop();

	/* only once: the second try, on a new connection, is not repeated */
	server_start(script_drop_all_but_first);
	c = client(NULL);
	call_init(&k, "GET", "/a");
	ONE(c, &k);
	CHECK(k.rc == FA_OK);
	call_release(&k);
	call_init(&k, "GET", "/b");
	ONE(c, &k);
	CHECK(k.rc == FA_ECONNECT && k.status == 0);
	CHECK_STR(k.msg, at_port("connection closed before any response"));
	call_release(&k);
	CHECK(srv.accepted == 2 && srv.requests == 3, "%d connections, %d "
	      "requests", srv.accepted, srv.requests);
	/* and a first request on a new connection is never repeated */
	call_init(&k, "GET", "/c");
	ONE(c, &k);
	CHECK(k.rc == FA_ECONNECT);
	call_release(&k);
	CHECK(srv.accepted == 3 && srv.requests == 4, "%d connections, %d "
	      "requests", srv.accepted, srv.requests);
	fa_hclient_free(c);
	server_stop();
}

static const char *bad_answer;

static void script_bad(struct sconn *sc, const struct fa_h1_request *req,
		       const char *body, size_t n)
{
	sc_puts(sc, bad_answer);
	sc_close(sc);
}

/* An answer that fails the request with rc and a message after the
   "127.0.0.1:PORT: ". */
static void check_bad(const struct fa_hclient_opts *o, const char *answer,
		      enum fa_err rc, int status, const char *msg,
		      const char *file, int line)
{
	struct fa_hclient *c;
	struct call k;

	bad_answer = answer;
	server_start(script_bad);
	c = client(o);
	call_init(&k, "GET", "/");
	one(c, &k, file, line);
	check(file, line, k.rc == rc && k.status == status, "code and status");
	check_str(file, line, k.msg, rc == FA_OK ? "" : at_port("%s", msg),
		  NULL);
	if (rc != FA_OK)
		check(file, line, c->state == C_NONE, "the connection is closed");
	call_release(&k);
	fa_hclient_free(c);
	server_stop();
}

#define CHECK_BAD(o, answer, rc, status, msg) \
	check_bad((o), (answer), (rc), (status), (msg), __FILE__, __LINE__)

static void test_malformed(void)
{
	struct fa_hclient_opts o = { .max_body = 10 };

	CHECK_BAD(NULL, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
		  "Bad Header\r\n\r\nhello", FA_EINPUT, 0,
		  "malformed response: line 3: whitespace before a colon");
	CHECK_BAD(NULL, "HTTP/2 200 OK\r\nContent-Length: 1\r\n\r\nx",
		  FA_EINPUT, 0, "malformed response: line 1: invalid HTTP "
		  "version");
	CHECK_BAD(NULL, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", FA_EINPUT, 0,
		  "malformed response: both Content-Length and "
		  "Transfer-Encoding");
	CHECK_BAD(NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhelloX\r\n", FA_EINPUT, 200, "malformed response: "
		  "chunked body: chunk data not followed by CRLF");
	CHECK_BAD(NULL, "HTTP/1.1 101 Switching Protocols\r\nContent-Length: "
		  "0\r\n\r\n", FA_EINPUT, 0, "malformed response: 101 "
		  "Switching Protocols to a request that asked for no "
		  "upgrade");
	CHECK_BAD(NULL, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		  FA_ECONNECT, 200, "connection closed before the response "
		  "was complete");
	CHECK_BAD(NULL, "HTTP/1.1 200 OK\r\nContent-", FA_ECONNECT, 0,
		  "connection closed before the response was complete");
	/* max_body, known up front or found on the way */
	CHECK_BAD(&o, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
		  "hello world", FA_EINPUT, 200, "response body of 11 bytes is "
		  "over 10 (max_body)");
	CHECK_BAD(&o, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
		  "helloworld", FA_OK, 200, "");
	CHECK_BAD(&o, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", FA_EINPUT, 200,
		  "response body over 10 bytes (max_body)");
	CHECK_BAD(&o, "HTTP/1.1 200 OK\r\n\r\nhello world", FA_EINPUT, 200,
		  "response body over 10 bytes (max_body)");
}

static void test_refused(void)
{
	struct fa_url u;
	struct fa_error err;
	struct fa_hclient *c;
	struct call k[2], *list[2] = { &k[0], &k[1] };
	char url[64], want[128];
	int port = listen_any();

	close(srv.lfd);                 /* nobody listens there now */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	CHECK(fa_url_parse(url, &u, &err) == FA_OK);
	c = fa_hclient_new(loop, &u, NULL, &err);
	call_init(&k[0], "GET", "/x");
	call_init(&k[1], "GET", "/y");
	fa_hclient_request(c, &k[0].rq);
	fa_hclient_request(c, &k[1].rq);
	CHECK(run_until_done(list, 2));
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: "
		 "Connection refused", port);
	CHECK(k[0].done == 1 && k[0].rc == FA_ECONNECT && k[0].status == 0);
	CHECK_STR(k[0].msg, want);
	CHECK(k[1].done == 1 && k[1].rc == FA_ECONNECT);
	CHECK_STR(k[1].msg, want);
	call_release(&k[0]);
	call_release(&k[1]);
	fa_hclient_free(c);

	/* a name that does not resolve fails the request, not the caller */
	CHECK(fa_url_parse("http://no-such-host.invalid:1/", &u, &err) == FA_OK);
	c = fa_hclient_new(loop, &u, NULL, &err);
	call_init(&k[0], "GET", "/");
	fa_hclient_request(c, &k[0].rq);
	CHECK(k[0].done == 1 && k[0].rc == FA_ECONNECT);
	CHECK(strncmp(k[0].msg, "cannot connect to no-such-host.invalid:1: ",
		      42) == 0, "%s", k[0].msg);
	call_release(&k[0]);
	fa_hclient_free(c);
}

/* A listener whose accept queue is full drops SYNs: connects hang. */
static void test_connect_timeout(void)
{
	struct fa_hclient_opts o = { .connect_timeout_ms = 150 };
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct fa_hclient *c;
	struct call k;
	int fill[4], i;
	double t;

	listen_any();
	listen(srv.lfd, 0);
	getsockname(srv.lfd, (struct sockaddr *)&a, &len);
	srv.port = ntohs(a.sin_port);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(20000);
	c = client(&o);
	call_init(&k, "GET", "/");
	t = now();
	ONE(c, &k);
	t = now() - t;
	snprintf(expect_msg, sizeof(expect_msg), "cannot connect to "
		 "127.0.0.1:%d: timeout after 150 ms", srv.port);
	CHECK(k.rc == FA_ECONNECT);
	CHECK_STR(k.msg, expect_msg);
	CHECK(t >= 0.14 && t < 2, "%.3f s", t);
	call_release(&k);
	fa_hclient_free(c);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(srv.lfd);
}

static void script_silent(struct sconn *sc, const struct fa_h1_request *req,
			  const char *body, size_t n)
{
}

static void test_timeout(void)
{
	struct fa_hclient_opts o = { .timeout_ms = 200 };
	struct fa_hclient *c;
	struct call k;
	double t;

	server_start(script_silent);
	c = client(&o);
	call_init(&k, "POST", "/slow");
	t = now();
	ONE(c, &k);
	t = now() - t;
	CHECK(k.rc == FA_ECONNECT && k.status == 0);
	CHECK_STR(k.msg, at_port("POST /slow: timeout after 200 ms"));
	CHECK(t >= 0.19 && t < 2, "%.3f s", t);
	CHECK(c->state == C_NONE);
	call_release(&k);
	fa_hclient_free(c);
	server_stop();
}

/* An event stream cut where it hurts (a CR and its LF apart, a field name
   from its value), each fragment one chunk, sent 2 ms apart. */
static const char *const sse_body[] = {
	":ok\r\n", "\r\n", "id: 1", "\r", "\n", "event: ", "message\r\n",
	"data: ", "{\"a\":1}", "\n", "\n", "event: progress\r", "data",
	"\n: 50%\ndata: ", "half", "\n\n",
};
#define NSSE (int)(sizeof(sse_body) / sizeof(sse_body[0]))
static char *sse_chunks[NSSE + 2];

static void script_sse(struct sconn *sc, const struct fa_h1_request *req,
		       const char *body, size_t n)
{
	struct fa_buf b;
	int i;

	if (!sse_chunks[0]) {
		sse_chunks[0] = strdup("HTTP/1.1 200 OK\r\nContent-Type: "
				       "text/event-stream\r\nTransfer-Encoding: "
				       "chunked\r\n\r\n");
		for (i = 0; i <= NSSE; i++) {
			fa_buf_init(&b, 0);
			fa_h1_chunk(&b, i < NSSE ? sse_body[i] : "",
				    i < NSSE ? strlen(sse_body[i]) : 0);
			sse_chunks[i + 1] = fa_buf_detach(&b, NULL);
		}
	}
	sc_pieces(sc, (const char *const *)sse_chunks, NSSE + 2, false);
}

static void test_stream(void)
{
	struct fa_hclient *c;
	struct call k;

	server_start(script_sse);
	c = client(NULL);
	call_init(&k, "GET", "/sse");
	k.rq.stream = true;
	ONE(c, &k);
	CHECK(k.rc == FA_OK && k.status == 200, "%s", k.msg);
	CHECK(k.heads == 1 && !k.data_before_head);
	CHECK(k.datas >= 10, "on_data %d times", k.datas);
	CHECK_STR(k.body.data, ":ok\r\n\r\nid: 1\r\nevent: message\r\ndata: "
		  "{\"a\":1}\n\nevent: progress\rdata\n: 50%\ndata: half\n\n");
	CHECK_STR(k.events.data, "message:1:{\"a\":1};progress:1:\nhalf;");
	call_release(&k);
	/* the connection stays for the next request */
	call_init(&k, "GET", "/sse");
	k.rq.stream = true;
	ONE(c, &k);
	CHECK(k.rc == FA_OK && srv.accepted == 1);
	call_release(&k);
	fa_hclient_free(c);
	server_stop();
	for (int i = 0; i < NSSE + 2; i++) {
		free(sse_chunks[i]);
		sse_chunks[i] = NULL;
	}
}

/* ---- free, usage errors ---- */

static struct fa_hclient *freeing;

static void on_done_free(struct fa_hclient_req *rq,
			 const struct fa_hclient_res *res, enum fa_err rc,
			 const char *msg)
{
	on_done(rq, res, rc, msg);
	fa_hclient_free(freeing);
}

static void on_done_requeue(struct fa_hclient_req *rq,
			    const struct fa_hclient_res *res, enum fa_err rc,
			    const char *msg)
{
	struct call *k = rq->ctx;

	on_done(rq, res, rc, msg);
	/* the response stays readable after queueing another */
	fa_hclient_request(freeing, &k[1].rq);
	CHECK(res->body && strcmp(res->body, "hello") == 0);
}

static void test_free(void)
{
	struct fa_hclient *c;
	struct call k[3], *list[2];
	int i;

	/* in flight and queued: each gets FA_EINTR, once */
	server_start(script_silent);
	c = client(NULL);
	for (i = 0; i < 3; i++) {
		call_init(&k[i], "GET", "/");
		fa_hclient_request(c, &k[i].rq);
	}
	run_for(30);
	CHECK(srv.requests == 1 && k[0].done == 0);
	fa_hclient_free(c);
	for (i = 0; i < 3; i++) {
		CHECK(k[i].done == 1 && k[i].rc == FA_EINTR, "request %d", i);
		CHECK_STR(k[i].msg, at_port("the client was closed before the "
					    "answer"));
		call_release(&k[i]);
	}
	server_stop();

	/* while connecting */
	server_start(script_silent);
	c = client(NULL);
	call_init(&k[0], "GET", "/");
	fa_hclient_request(c, &k[0].rq);
	fa_hclient_free(c);
	CHECK(k[0].done == 1 && k[0].rc == FA_EINTR);
	call_release(&k[0]);
	fa_hclient_free(NULL);
	server_stop();

	/* from inside on_done: the others still get theirs */
	server_start(script_basic);
	c = freeing = client(NULL);
	for (i = 0; i < 3; i++) {
		call_init(&k[i], "GET", "/len");
		if (i == 0)
			k[i].rq.on_done = on_done_free;
		fa_hclient_request(c, &k[i].rq);
	}
	list[0] = &k[0];
	CHECK(run_until_done(list, 1));
	CHECK(k[0].rc == FA_OK && k[1].rc == FA_EINTR && k[2].rc == FA_EINTR);
	for (i = 0; i < 3; i++) {
		CHECK(k[i].done == 1, "request %d", i);
		call_release(&k[i]);
	}
	server_stop();

	/* queueing from inside on_done */
	server_start(script_basic);
	c = freeing = client(NULL);
	call_init(&k[0], "GET", "/len");
	call_init(&k[1], "GET", "/len");
	k[0].rq.on_done = on_done_requeue;
	k[0].rq.ctx = k;        /* on_done_requeue finds k[1] from there */
	fa_hclient_request(c, &k[0].rq);
	list[0] = &k[0];
	list[1] = &k[1];
	CHECK(run_until_done(list, 2));
	CHECK(k[0].rc == FA_OK && k[1].rc == FA_OK && srv.accepted == 1);
	call_release(&k[0]);
	call_release(&k[1]);
	fa_hclient_free(c);
	server_stop();
}

static void test_usage(void)
{
	static const struct fa_h1_header crlf[] = {
		{ "X-A", "a\r\nX-Injected: 1", 3, 17 } };
	static const struct fa_h1_header host[] = { { "host", "x", 4, 1 } };
	struct fa_hclient *c;
	struct call k;

	server_start(script_basic);
	c = client(NULL);
	call_init(&k, "GET", "/");
	k.rq.headers = crlf;
	k.rq.nheaders = 1;
	fa_hclient_request(c, &k.rq);
	CHECK(k.done == 1 && k.rc == FA_EUSAGE);
	CHECK_STR(k.msg, at_port("invalid request field"));
	call_release(&k);
	call_init(&k, "GET", "/");
	k.rq.headers = host;
	k.rq.nheaders = 1;
	fa_hclient_request(c, &k.rq);
	CHECK(k.done == 1 && k.rc == FA_EUSAGE);
	call_release(&k);
	call_init(&k, "GET", "/a b");
	fa_hclient_request(c, &k.rq);
	CHECK(k.done == 1 && k.rc == FA_EUSAGE);
	call_release(&k);
	call_init(&k, "G T", "/");
	fa_hclient_request(c, &k.rq);
	CHECK(k.done == 1 && k.rc == FA_EUSAGE);
	call_release(&k);
	CHECK(srv.accepted == 0);
	/* a good one after them */
	call_init(&k, "GET", "/len");
	ONE(c, &k);
	CHECK(k.rc == FA_OK);
	call_release(&k);
	fa_hclient_free(c);
	server_stop();
}

/* ---- URLs ---- */

static void check_url(const char *in, const char *want, const char *file,
		      int line)
{
	struct fa_url u;
	struct fa_error err = { FA_OK, "" };
	char got[5000];

	if (fa_url_parse(in, &u, &err) == FA_OK)
		snprintf(got, sizeof(got), "%s|%s|%d|%s|%s", u.scheme, u.host,
			 u.port, u.authority, u.target);
	else
		snprintf(got, sizeof(got), "E%d %s", err.code, err.msg);
	check_str(file, line, got, want, in);
}

#define CHECK_URL(in, want) check_url((in), (want), __FILE__, __LINE__)

static void test_url(void)
{
	struct fa_url u;
	struct fa_error err;
	struct fa_hclient_opts o = { 0 };
	struct fa_hclient *c;

	CHECK_URL("http://127.0.0.1:8080/mcp",
		  "http|127.0.0.1|8080|127.0.0.1:8080|/mcp");
	CHECK_URL("http://example.com", "http|example.com|80|example.com|/");
	CHECK_URL("HTTPS://Example.com?q=1",
		  "https|Example.com|443|Example.com|/?q=1");
	CHECK_URL("http://[::1]:9000/a/b?c=d&e",
		  "http|::1|9000|[::1]:9000|/a/b?c=d&e");
	CHECK_URL("http://[::1]/", "http|::1|80|[::1]|/");
	CHECK_URL("http://localhost:1/%20x", "http|localhost|1|localhost:1|/%20x");
	CHECK_URL("http://h:65535", "http|h|65535|h:65535|/");
	CHECK_URL("ftp://h/", "E2 'ftp://h/': not an http:// or https:// URL");
	CHECK_URL("http:/h/", "E2 'http:/h/': not an http:// or https:// URL");
	CHECK_URL("127.0.0.1:8080",
		  "E2 '127.0.0.1:8080': not an http:// or https:// URL");
	CHECK_URL("http://user:pw@h/", "E2 'http://user:pw@h/': user "
		  "information (user@host) is not supported");
	CHECK_URL("http://h/a#frag", "E2 'http://h/a#frag': a fragment ('#') "
		  "is never sent to the server; leave it out");
	CHECK_URL("http://h:0/", "E2 'http://h:0/': invalid port");
	CHECK_URL("http://h:65536/", "E2 'http://h:65536/': invalid port");
	CHECK_URL("http://h:/", "E2 'http://h:/': invalid port");
	CHECK_URL("http://h:8x/", "E2 'http://h:8x/': invalid port");
	CHECK_URL("http:///p", "E2 'http:///p': no host");
	CHECK_URL("http://:80/p", "E2 'http://:80/p': no host");
	CHECK_URL("http://[::1/", "E2 'http://[::1/': no ']' after an IPv6 "
		  "address");
	CHECK_URL("http://[::1]x/", "E2 'http://[::1]x/': invalid character "
		  "after ']'");
	CHECK_URL("http://h h/", "E2 'http://h h/': invalid host");
	CHECK_URL("http://h/a b", "E2 'http://h/a b': the path holds a space, "
		  "a control or a non-ASCII byte (percent-encode it)");
	CHECK_URL("http://h/\xc3\xa9", "E2 'http://h/\xc3\xa9': the path holds "
		  "a space, a control or a non-ASCII byte (percent-encode it)");

	CHECK(fa_url_parse("https://127.0.0.1:8443/mcp", &u, &err) == FA_OK);
	c = fa_hclient_new(loop, &u, &(struct fa_hclient_opts){ .insecure = true }, &err);
	CHECK(c != NULL && fa_hclient_proto(c) == FA_HPROTO_AUTO, "%s", err.msg);
	fa_hclient_free(c);
	o.ca_file = "/nonexistent/ca.pem";
	CHECK(fa_hclient_new(loop, &u, &o, &err) == NULL && err.code == FA_EUSAGE);
	CHECK(strncmp(err.msg, "cannot load CA file '/nonexistent/ca.pem': ", 43) == 0,
	      "%s", err.msg);
	o.ca_file = NULL;
	o.proto = (enum fa_hproto)7;
	CHECK(fa_hclient_new(loop, &u, &o, &err) == NULL && err.code == FA_EUSAGE);
	CHECK_STR(err.msg, "https://127.0.0.1:8443: invalid protocol or max_streams");
	CHECK_STR(fa_hproto_name(FA_HPROTO_H1), "http/1.1");
	CHECK_STR(fa_hproto_name(FA_HPROTO_H2), "h2");
	CHECK_STR(fa_hproto_name(FA_HPROTO_AUTO), "auto");
}

int main(int argc, char **argv)
{
	struct fa_error err;

	rnd_seed("test_hclient", argc, argv);
	loop = fa_loop_new(&err);
	if (!loop) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	RUN(test_url);
	RUN(test_content_length);
	RUN(test_chunked);
	RUN(test_until_close);
	RUN(test_keep_alive);
	RUN(test_reconnect);
	RUN(test_malformed);
	RUN(test_refused);
	RUN(test_timeout);
	RUN(test_connect_timeout);
	RUN(test_stream);
	RUN(test_free);
	RUN(test_usage);
	fa_loop_free(loop);
	return check_report("test_hclient");
}
