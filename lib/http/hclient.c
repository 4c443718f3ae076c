#include "http/hclient.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/hclient_int.h"
#include "http/tls.h"

#ifndef FA_VERSION
#define FA_VERSION "dev"
#endif


/* ---- URLs ---- */

static bool ieq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Host characters: unreserved, sub-delims and '%' (RFC 3986 3.2.2), and
   ':' inside brackets. */
static bool host_chars_ok(const char *h, size_t n, bool bracketed)
{
	static const char extra[] = "-._~!$&'()*+,;=%";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!(c < 0x80 && ((c >= '0' && c <= '9') ||
				   ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
				   strchr(extra, c) || (bracketed && c == ':'))))
			return false;
	}
	return n > 0;
}

/* host[:port] or [v6]:port from a[0..n) into u; a message or NULL. */
static const char *authority(const char *a, size_t n, struct fa_url *u)
{
	const char *h = a, *close, *port = NULL;
	size_t hn = n, i;
	long v = 0;

	if (n > 0 && a[0] == '[') {
		close = memchr(a, ']', n);
		if (!close)
			return "no ']' after an IPv6 address";
		h = a + 1;
		hn = (size_t)(close - h);
		if (close + 1 < a + n && close[1] != ':')
			return "invalid character after ']'";
		port = close + 1 < a + n ? close + 2 : NULL;
	} else if ((close = memchr(a, ':', n)) != NULL) {
		hn = (size_t)(close - a);
		port = close + 1;
	}
	if (!host_chars_ok(h, hn, h != a))
		return hn ? "invalid host" : "no host";
	if (hn >= sizeof(u->host) || n >= sizeof(u->authority))
		return "host too long";
	memcpy(u->host, h, hn);
	memcpy(u->authority, a, n);
	if (!port)
		return NULL;
	for (i = 0; port + i < a + n; i++) {
		if (port[i] < '0' || port[i] > '9' || i == 5)
			return "invalid port";
		v = v * 10 + (port[i] - '0');
	}
	if (v < 1 || v > 65535)
		return "invalid port";
	u->port = (int)v;
	return NULL;
}

/* The path and query, checked: printable ASCII, no space. */
static const char *target(const char *t, struct fa_url *u)
{
	size_t n = strlen(t), i, k = 0;

	if (n == 0 || t[0] == '?')
		u->target[k++] = '/';
	if (n + k >= sizeof(u->target))
		return "path too long";
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return "the path holds a space, a control or a "
			       "non-ASCII byte (percent-encode it)";
	memcpy(u->target + k, t, n + 1);
	return NULL;
}

enum fa_err fa_url_parse(const char *url, struct fa_url *u,
			 struct fa_error *err)
{
	size_t s = strcspn(url, ":"), an;
	const char *a, *why;

	memset(u, 0, sizeof(*u));
	if (!(ieq(url, s, "http") || ieq(url, s, "https")) ||
	    strncmp(url + s, "://", 3) != 0)
		return fa_error_set(err, FA_EUSAGE, "'%s': not an http:// or "
				    "https:// URL", url);
	memcpy(u->scheme, s == 4 ? "http" : "https", s + 1);
	u->port = s == 4 ? 80 : 443;
	a = url + s + 3;
	an = strcspn(a, "/?#");
	if (memchr(a, '@', an))
		return fa_error_set(err, FA_EUSAGE, "'%s': user information "
				    "(user@host) is not supported", url);
	if (strchr(url, '#'))
		return fa_error_set(err, FA_EUSAGE, "'%s': a fragment ('#') is "
				    "never sent to the server; leave it out",
				    url);
	why = authority(a, an, u);
	if (!why)
		why = target(a + an, u);
	if (why)
		return fa_error_set(err, FA_EUSAGE, "'%s': %s", url, why);
	return FA_OK;
}

/* ---- the client ---- */

static void start(struct fa_hclient *c);

uint64_t hc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void destroy(struct fa_hclient *c)
{
	hc_h2_release(c);
	hc_h3_release(c);
	SSL_SESSION_free(c->session);
	if (c->own_tls)
		fa_tls_free(c->tls);
	fa_buf_release(&c->out);
	fa_buf_release(&c->in);
	fa_buf_release(&c->headbuf);
	fa_buf_release(&c->body);
	free(c);
}

void hc_enter(struct fa_hclient *c)
{
	c->depth++;
}

/* Leaves one of our entry points; frees c when it was freed meanwhile
   and this was the outermost. */
void hc_leave(struct fa_hclient *c)
{
	if (--c->depth == 0 && c->freed)
		destroy(c);
}

void hc_conn_close(struct fa_hclient *c)
{
	hc_h2_close(c);
	hc_h3_close(c);
	if (c->ssl) {
		fa_tls_conn_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->io.fd >= 0) {
		fa_loop_del(c->loop, &c->io);
		close(c->io.fd);
		c->io.fd = -1;
	}
	if (c->addrs)
		freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	fa_timer_stop(c->loop, &c->connect_timer);
	fa_timer_stop(c->loop, &c->again_timer);
	fa_buf_reset(&c->in);
	fa_buf_reset(&c->out);
	c->out_off = 0;
	c->served = 0;
	c->tls_wants_out = false;
	c->state = C_NONE;
}

/* Watches the socket for input, and for output when out (or OpenSSL)
   says so; epoll is told only of changes. */
void hc_watch(struct fa_hclient *c, bool out)
{
	fa_loop_mod(c->loop, &c->io, FA_IN | (out || c->tls_wants_out ? FA_OUT : 0));
}

/* After a turn's reads: input OpenSSL has decrypted, or holds in part,
   shows on no fd, so a timer comes back for it. */
void hc_read_later(struct fa_hclient *c)
{
	if (c->ssl && SSL_has_pending(c->ssl))
		fa_timer_start(c->loop, &c->again_timer, 0);
}

/* Why OpenSSL failed for good, into why. */
static void tls_why(struct fa_hclient *c, char *why, size_t wn)
{
	const char *r = fa_tls_conn_error(c->ssl);

	if (r && !strcmp(r, "I/O error") && errno)
		snprintf(why, wn, "connection lost (%s)", strerror(errno));
	else
		snprintf(why, wn, "TLS: %s", r ? r : "connection failed");
}

/*
 * Reads from the connection, through TLS when there is one: bytes, 0 at
 * the end, or -1 with why empty (nothing now) or saying what failed.
 */
ssize_t hc_recv(struct fa_hclient *c, void *p, size_t n, char *why, size_t wn)
{
	ssize_t k;
	int want;

	why[0] = '\0';
	if (c->ssl) {
		errno = 0;
		k = fa_tls_read(c->ssl, p, n, &want);
		c->tls_wants_out = k < 0 && want == FA_TLS_WANT_WRITE;
		if (k < 0 && !want)
			tls_why(c, why, wn);
		return k;
	}
	do
		k = recv(c->io.fd, p, n, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		snprintf(why, wn, "connection lost (%s)", strerror(errno));
	return k;
}

/* Writes to the connection: bytes, or -1 as for hc_recv(). */
ssize_t hc_send(struct fa_hclient *c, const void *p, size_t n, char *why, size_t wn)
{
	ssize_t k;
	int want;

	why[0] = '\0';
	if (c->ssl) {
		errno = 0;
		k = fa_tls_write(c->ssl, p, n, &want);
		if (k < 0 && !want)
			tls_why(c, why, wn);
		return k;
	}
	do
		k = send(c->io.fd, p, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		snprintf(why, wn, "connection lost (%s)", strerror(errno));
	return k;
}

/*
 * Ends the request in flight: on_done with rc and msg (NULL for FA_OK),
 * then the next one starts unless the client was freed in the callback.
 */
static void finish(struct fa_hclient *c, enum fa_err rc, const char *msg)
{
	struct fa_hclient_req *rq = c->head;
	struct fa_hclient_res res;
	bool was = c->notifying;

	fa_timer_stop(c->loop, &c->req_timer);
	c->head = rq->next;
	if (!c->head)
		c->tail = NULL;
	c->queued--;
	c->started = false;
	memset(&res, 0, sizeof(res));
	if (c->have_head) {
		res.status = c->res.status;
		res.headers = c->res.headers;
		res.nheaders = c->res.nheaders;
	}
	if (rc == FA_OK && !rq->stream) {
		res.body = c->body.data ? c->body.data : "";
		res.body_len = c->body.len;
	}
	c->have_head = false;
	c->notifying = true;
	rq->on_done(rq, &res, rc, msg);
	c->notifying = was;
	if (!c->freed)
		hc_kick(c);
}

/* The request in flight fails with a message about the connection, which
   is closed.  Returns -1, for callers to pass up. */
static int fail(struct fa_hclient *c, enum fa_err rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct fa_hclient *c, enum fa_err rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int k;

	k = snprintf(msg, sizeof(msg), "%s: ", c->origin);
	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	va_end(ap);
	hc_conn_close(c);
	finish(c, rc, msg);
	return -1;
}

static void fail_connect(struct fa_hclient *c, const char *why)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "cannot connect to %s: %.700s", c->origin, why);
	hc_conn_close(c);
	finish(c, FA_ECONNECT, msg);
}

/* ---- writing the request ---- */

/* RFC 9110 tchar: letters and digits first, as most bytes of a name are. */
static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool token_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool value_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return true;
}

/* A request target goes as given: no space or control may end it early. */
static bool target_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i]; i++)
		if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
			return false;
	return i > 0;
}

/* What is wrong with rq's method, target or fields, or NULL. */
const char *hc_request_problem(struct fa_hclient *c, const struct fa_hclient_req *rq)
{
	const struct fa_h1_header *h;
	int i;

	if (!rq->method || !token_ok(rq->method, strlen(rq->method)))
		return "invalid method";
	if (!rq->target || !target_ok(rq->target))
		return "invalid request target";
	if (rq->nheaders > NHDR)
		return "too many request fields";
	for (i = 0; i < rq->nheaders; i++) {
		h = &rq->headers[i];
		if (!token_ok(h->name, h->name_len) ||
		    !value_ok(h->value, h->value_len))
			return "invalid request field";
		if (fa_h1_header_eq(h, "Host") ||
		    fa_h1_header_eq(h, "Content-Length") ||
		    fa_h1_header_eq(h, "Transfer-Encoding"))
			return "the client writes Host and Content-Length, and "
			       "sends no Transfer-Encoding";
		if (fa_h1_header_eq(h, "Connection") &&
		    ieq(h->value, h->value_len, "close"))
			c->close_after = true;
	}
	return NULL;
}

bool hc_body_method(const char *m)
{
	return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

/* The request head and body into c->out; false when out of memory. */
static bool build_request(struct fa_hclient *c,
			  const struct fa_hclient_req *rq)
{
	const struct fa_h1_header *h;
	bool ok;
	int i;

	fa_buf_reset(&c->out);
	c->out_off = 0;
	/* puts, not printf: this runs for every request of a load test */
	ok = fa_buf_puts(&c->out, rq->method) == FA_OK;
	ok &= fa_buf_putc(&c->out, ' ') == FA_OK;
	ok &= fa_buf_puts(&c->out, rq->target) == FA_OK;
	ok &= fa_buf_puts(&c->out, " HTTP/1.1\r\nHost: ") == FA_OK;
	ok &= fa_buf_puts(&c->out, c->url.authority) == FA_OK;
	ok &= fa_buf_puts(&c->out, "\r\n") == FA_OK;
	if (!fa_h1_find(rq->headers, rq->nheaders, "User-Agent")) {
		ok &= fa_buf_puts(&c->out, "User-Agent: ") == FA_OK;
		ok &= fa_buf_puts(&c->out, c->ua) == FA_OK;
		ok &= fa_buf_puts(&c->out, "\r\n") == FA_OK;
	}
	for (i = 0; i < rq->nheaders; i++) {
		h = &rq->headers[i];
		ok &= fa_buf_append(&c->out, h->name, h->name_len) == FA_OK;
		ok &= fa_buf_puts(&c->out, ": ") == FA_OK;
		ok &= fa_buf_append(&c->out, h->value, h->value_len) == FA_OK;
		ok &= fa_buf_puts(&c->out, "\r\n") == FA_OK;
	}
	if (rq->body_len > 0 || hc_body_method(rq->method))
		ok &= fa_buf_printf(&c->out, "Content-Length: %zu\r\n",
				    rq->body_len) == FA_OK;
	ok &= fa_buf_puts(&c->out, "\r\n") == FA_OK;
	ok &= fa_buf_append(&c->out, rq->body, rq->body_len) == FA_OK;
	return ok;
}

/* A connection that broke while the request was in flight: sent again
   once on a new connection if it was reused and nothing came back (the
   server closed it while idle), else the request fails.  -1. */
static int broken(struct fa_hclient *c, const char *why)
{
	if (c->reused && !c->got_bytes && !c->retried) {
		c->retried = true;
		hc_conn_close(c);
		start(c);
		return -1;
	}
	if (!c->got_bytes)
		return fail(c, FA_ECONNECT, "%s before any response", why);
	return fail(c, FA_ECONNECT, "%s before the response was complete",
		    why);
}

/* Writes what it can of c->out: 0, or -1 when the request ended. */
static int write_some(struct fa_hclient *c)
{
	char why[160];
	ssize_t k;

	while (c->out_off < c->out.len) {
		k = hc_send(c, c->out.data + c->out_off,
			    c->out.len - c->out_off, why, sizeof(why));
		if (k < 0 && why[0])
			return broken(c, why);
		if (k < 0)
			break;
		c->out_off += (size_t)k;
	}
	hc_watch(c, c->out_off < c->out.len);
	return 0;
}

/* ---- connecting ---- */

static const char *const alpn_auto[] = { "h2", "http/1.1", NULL };
static const char *const alpn_h1[] = { "http/1.1", NULL };
static const char *const alpn_h2[] = { "h2", NULL };

/* The connection is up (TLS done, if any): the protocol is known, and
   the request in flight goes out, or HTTP/2 starts. */
static void ready(struct fa_hclient *c)
{
	const char *alpn = c->ssl ? fa_tls_alpn(c->ssl) : NULL;
	struct fa_error err;

	fa_timer_stop(c->loop, &c->connect_timer);
	if (c->ssl)
		c->proto = alpn && !strcmp(alpn, "h2") ? FA_HPROTO_H2 : FA_HPROTO_H1;
	else
		c->proto = c->want == FA_HPROTO_H2 ? FA_HPROTO_H2 : FA_HPROTO_H1;
	if (c->want == FA_HPROTO_H2 && c->proto != FA_HPROTO_H2) {
		fail_connect(c, "the server does not speak HTTP/2 (ALPN chose "
			     "no h2)");
		return;
	}
	if (c->proto == FA_HPROTO_H2) {
		if (hc_h2_start(c, &err) != FA_OK)
			fail(c, err.code, "%s", err.msg);
		return;
	}
	c->state = C_BUSY;
	c->reused = false;
	write_some(c);
}

/* Runs the TLS handshake as far as the socket allows. */
static void handshake(struct fa_hclient *c)
{
	const char *verify, *r;
	char why[300];
	int want, rc = fa_tls_handshake(c->ssl, &want);

	c->tls_wants_out = rc == 0 && want == FA_TLS_WANT_WRITE;
	if (rc == 0) {
		hc_watch(c, false);
		return;
	}
	if (rc > 0) {
		ready(c);
		return;
	}
	verify = fa_tls_verify_error(c->ssl);
	r = fa_tls_conn_error(c->ssl);
	if (verify)
		snprintf(why, sizeof(why), "TLS handshake failed: the "
			 "server's certificate was refused: %s", verify);
	else
		snprintf(why, sizeof(why), "TLS handshake failed: %s",
			 r ? r : "unknown error");
	fail_connect(c, why);
}

static void connected(struct fa_hclient *c)
{
	struct fa_error err;
	int one = 1;

	freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!c->tls) {
		ready(c);
		return;
	}
	c->ssl = fa_tls_client_conn_new(c->tls, c->io.fd, c->url.host,
					c->want == FA_HPROTO_H1 ? alpn_h1 :
					c->want == FA_HPROTO_H2 ? alpn_h2 :
					alpn_auto, &c->session, &err);
	if (!c->ssl) {
		fail_connect(c, err.msg);
		return;
	}
	c->state = C_HANDSHAKE;
	handshake(c);
}

/* Tries the addresses left in turn; ends the request when none answers. */
static void try_next(struct fa_hclient *c)
{
	struct addrinfo *ai;
	int fd;

	while ((ai = c->next_addr) != NULL) {
		c->next_addr = ai->ai_next;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(c->connect_err, sizeof(c->connect_err), "%s",
				 strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			snprintf(c->connect_err, sizeof(c->connect_err), "%s",
				 strerror(errno));
			close(fd);
			continue;
		}
		c->io.fd = fd;
		c->io.events = 0;
		if (fa_loop_add(c->loop, &c->io, FA_OUT) != FA_OK) {
			close(fd);
			c->io.fd = -1;
			snprintf(c->connect_err, sizeof(c->connect_err),
				 "cannot watch the socket: %s", strerror(errno));
			continue;
		}
		return;
	}
	fail_connect(c, c->connect_err);
}

/* The socket of a connect in progress is writable: done, or failed. */
static void connect_ready(struct fa_hclient *c)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == 0) {
		connected(c);
		return;
	}
	snprintf(c->connect_err, sizeof(c->connect_err), "%s", strerror(e));
	fa_loop_del(c->loop, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	try_next(c);
}

static void start_connect(struct fa_hclient *c)
{
	struct addrinfo hints;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->url.port);
	rc = getaddrinfo(c->url.host, port, &hints, &c->addrs);
	if (rc != 0) {
		c->addrs = NULL;
		fail_connect(c, rc == EAI_SYSTEM ? strerror(errno)
						 : gai_strerror(rc));
		return;
	}
	c->next_addr = c->addrs;
	snprintf(c->connect_err, sizeof(c->connect_err), "no address");
	c->state = C_CONNECTING;
	fa_timer_start(c->loop, &c->connect_timer,
		       (uint64_t)c->connect_timeout_ms);
	try_next(c);
}
/* ---- reading the response ---- */

/* Body bytes to the caller (stream) or into c->body; -1 when over. */
static int deliver(struct fa_hclient *c, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (c->head->stream) {
		c->head->on_data(c->head, p, n);
		return c->freed || !c->started ? -1 : 0;
	}
	if (fa_buf_append(&c->body, p, n) != FA_OK)
		return fail(c, FA_EINPUT, "response body over %zu bytes "
			    "(max_body)", c->max_body);
	return 0;
}

/* Points the head's strings into c->headbuf, where they stay put while
   c->in moves on; false when out of memory. */
static bool keep_head(struct fa_hclient *c, size_t len)
{
	const char *old = c->in.data;
	char *now;
	int i;

	fa_buf_reset(&c->headbuf);
	if (fa_buf_append(&c->headbuf, old, len) != FA_OK)
		return false;
	now = c->headbuf.data;
	c->res.reason = now + (c->res.reason - old);
	for (i = 0; i < c->res.nheaders; i++) {
		c->hdr[i].name = now + (c->hdr[i].name - old);
		c->hdr[i].value = now + (c->hdr[i].value - old);
	}
	fa_buf_consume(&c->in, len);
	return true;
}

/* What the head says the body is: 2 when there is none, 1 when it
   follows, -1 when the request ended. */
static int body_start(struct fa_hclient *c)
{
	const struct fa_h1_response_head *r = &c->res;
	bool stream = c->head->stream;

	if (r->no_body || r->content_length == 0)
		return 2;
	if (!stream && r->content_length > 0 &&
	    (uint64_t)r->content_length > c->max_body)
		return fail(c, FA_EINPUT, "response body of %" PRId64 " bytes "
			    "is over %zu (max_body)", r->content_length,
			    c->max_body);
	c->body.max = stream ? SIZE_MAX / 2 : c->max_body;
	if (r->chunked) {
		c->stage = S_CHUNKED;
		fa_h1_chunked_init(&c->ch, stream ? -1 : (int64_t)c->max_body,
				   NULL, 0);
	} else if (r->until_close) {
		c->stage = S_CLOSE;
	} else {
		c->stage = S_LENGTH;
		c->left = r->content_length;
	}
	return 1;
}

/* The head at the front of c->in, 1xx skipped: 2 when read and there is
   no body, 1 when the body follows, 0 for more bytes, -1 when the request
   ended. */
static int read_head(struct fa_hclient *c)
{
	struct fa_hclient_res res;
	struct fa_error err;
	int rc;

	for (;;) {
		rc = fa_h1_parse_response(c->in.data, c->in.len, 0,
					  !strcmp(c->head->method, "HEAD"),
					  c->hdr, NHDR, &c->res, &err);
		if (rc < 0)
			return fail(c, FA_EINPUT, "malformed response: %s",
				    err.msg);
		if (rc == 0 || c->res.status >= 200)
			break;
		if (c->res.status == 101)
			return fail(c, FA_EINPUT, "malformed response: 101 "
				    "Switching Protocols to a request that "
				    "asked for no upgrade");
		fa_buf_consume(&c->in, (size_t)rc);
	}
	if (rc == 0)
		return 0;
	if (!keep_head(c, (size_t)rc))
		return fail(c, FA_ENOMEM, "out of memory");
	c->have_head = true;
	if (c->head->on_head) {
		memset(&res, 0, sizeof(res));
		res.status = c->res.status;
		res.headers = c->res.headers;
		res.nheaders = c->res.nheaders;
		c->head->on_head(c->head, &res);
		if (c->freed || !c->started)
			return -1;
	}
	return body_start(c);
}

/* The chunked body in c->in: 1 when whole, 0 for more, -1 ended. */
static int read_chunked(struct fa_hclient *c)
{
	struct fa_error err;
	size_t used;
	int status;
	bool stream = c->head->stream;

	if (stream)
		fa_buf_reset(&c->body);
	if (fa_h1_chunked_decode(&c->ch, c->in.data, c->in.len, &c->body,
				 &used, &status, &err) != FA_OK) {
		if (status == 413)
			return fail(c, FA_EINPUT, "response body over %zu "
				    "bytes (max_body)", c->max_body);
		return fail(c, FA_EINPUT, "malformed response: chunked body: "
			    "%s", err.msg);
	}
	fa_buf_consume(&c->in, used);
	if (stream && c->body.len > 0) {
		c->head->on_data(c->head, c->body.data, c->body.len);
		if (c->freed || !c->started)
			return -1;
	}
	return c->ch.done ? 1 : 0;
}

/* The body bytes in c->in: 1 when whole, 0 for more, -1 ended. */
static int read_body(struct fa_hclient *c)
{
	size_t k;

	if (c->stage == S_CHUNKED)
		return read_chunked(c);
	k = c->stage == S_CLOSE || (uint64_t)c->left > c->in.len
	    ? c->in.len : (size_t)c->left;
	if (deliver(c, c->in.data, k) < 0)
		return -1;
	fa_buf_consume(&c->in, k);
	if (c->stage == S_CLOSE)
		return 0;
	c->left -= (int64_t)k;
	return c->left == 0;
}

/* The response is whole: the connection stays for the next request when
   both sides said so and nothing is left over. */
static void complete(struct fa_hclient *c)
{
	bool keep = c->res.keep_alive && !c->close_after &&
		    c->stage != S_CLOSE && c->in.len == 0 &&
		    c->out_off == c->out.len;

	if (keep) {
		c->state = C_IDLE;
		c->idle_ms = hc_now_ms();
		c->served++;
		hc_watch(c, false);
	} else {
		hc_conn_close(c);
	}
	finish(c, FA_OK, NULL);
}

/* Takes what c->in holds: -1 when the request ended, else 0. */
static int take(struct fa_hclient *c)
{
	int rc;

	if (c->stage == S_HEAD) {
		rc = read_head(c);
		if (rc <= 0)
			return rc;
		if (rc == 2) {
			complete(c);
			return -1;
		}
	}
	rc = read_body(c);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		complete(c);
		return -1;
	}
	return 0;
}

/* The connection reached its end while a response was awaited. */
static int end_of_input(struct fa_hclient *c, const char *why)
{
	if (c->stage == S_CLOSE) {
		complete(c);
		return -1;
	}
	return broken(c, why);
}

/* Reads and takes what came: -1 when the request ended. */
/* Reads and takes what came: -1 when the request ended. */
static int read_some(struct fa_hclient *c)
{
	char why[160];
	ssize_t k;
	int i;

	for (i = 0; i < READS_PER_TURN; i++) {
		if (fa_buf_grow(&c->in, READ_CHUNK) != FA_OK)
			return fail(c, FA_ENOMEM, "out of memory");
		k = hc_recv(c, c->in.data + c->in.len, READ_CHUNK, why,
			    sizeof(why));
		if (k < 0 && !why[0])
			break;
		if (k < 0)
			return end_of_input(c, why);
		if (k == 0)
			return end_of_input(c, "connection closed");
		c->got_bytes = true;
		c->in.len += (size_t)k;
		c->in.data[c->in.len] = '\0';
		if (take(c) < 0)
			return -1;
	}
	if (i == READS_PER_TURN)
		hc_read_later(c);
	hc_watch(c, c->out_off < c->out.len);
	return 0;
}

/* Whether a kept-alive connection may take the next request: the server
   has neither closed it nor said something unasked.  Over TLS, a session
   ticket that came meanwhile is read and kept quiet. */
static bool idle_ok(struct fa_hclient *c)
{
	char b[1];
	ssize_t k;
	int want;

	if (c->ssl) {
		k = fa_tls_read(c->ssl, b, 1, &want);
		c->tls_wants_out = k < 0 && want == FA_TLS_WANT_WRITE;
		return k < 0 && want;
	}
	k = recv(c->io.fd, b, 1, MSG_PEEK | MSG_DONTWAIT);
	return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* An idle kept-alive connection is readable: the server closed it (or
   said something unasked, which ends it as well). */
static void idle_ready(struct fa_hclient *c)
{
	if (!idle_ok(c))
		hc_conn_close(c);
	else
		hc_watch(c, false);
}

/* A request is in flight: send the rest, read what came (or the error
   or hang-up epoll reports beside FA_IN). */
static void busy_ready(struct fa_hclient *c, uint32_t revents)
{
	if ((revents & FA_OUT) && c->out_off < c->out.len &&
	    write_some(c) < 0)
		return;
	if ((revents & ~(uint32_t)FA_OUT) || c->ssl)
		read_some(c);
}

static void on_io(struct fa_io *io, uint32_t revents)
{
	struct fa_hclient *c = io->ctx;

	c->depth++;
	switch (c->state) {
	case C_CONNECTING:
		connect_ready(c);
		break;
	case C_HANDSHAKE:
		handshake(c);
		break;
	case C_IDLE:
		idle_ready(c);
		break;
	case C_BUSY:
		busy_ready(c, revents);
		break;
	case C_H2:
		hc_h2_ready(c, revents);
		break;
	case C_H3:
		hc_h3_ready(c, revents);
		break;
	}
	hc_leave(c);
}

static void on_read_again(struct fa_timer *t)
{
	struct fa_hclient *c = t->ctx;

	if (c->io.fd >= 0)
		on_io(&c->io, FA_IN);
}

static void on_connect_timeout(struct fa_timer *t)
{
	struct fa_hclient *c = t->ctx;
	char why[80];

	c->depth++;
	snprintf(why, sizeof(why), "timeout after %d ms%s",
		 c->connect_timeout_ms, c->state == C_HANDSHAKE ?
		 " (in the TLS handshake)" : "");
	fail_connect(c, why);
	hc_leave(c);
}

static void on_request_timeout(struct fa_timer *t)
{
	struct fa_hclient *c = t->ctx;

	c->depth++;
	fail(c, FA_ECONNECT, "%s %s: timeout after %d ms", c->head->method,
	     c->head->target, c->timeout_ms);
	hc_leave(c);
}

/* ---- requests ---- */

/* Sends the request in flight on the kept-alive connection if the server
   has not closed it meanwhile, else on a new one.  A connection that went
   idle within the same millisecond is taken as it is, without the recv()
   that asks: a server that closes at once says so first, and one that did
   not is caught by the retry of a request that got no byte of answer.
   That saves a system call a request in a closed loop (fa-bench). */
static void start(struct fa_hclient *c)
{
	if (c->state == C_IDLE && hc_now_ms() != c->idle_ms && !idle_ok(c))
		hc_conn_close(c);
	if (!build_request(c, c->head)) {
		fail(c, FA_ENOMEM, "out of memory");
		return;
	}
	if (c->state == C_NONE) {
		start_connect(c);
		return;
	}
	c->state = C_BUSY;
	c->reused = true;
	write_some(c);
}

/*
 * Starts what can start: over HTTP/2 the queue's requests as streams
 * allow; else the first request queued, when none is in flight (which
 * also opens the connection, whatever it will speak).
 */
void hc_kick(struct fa_hclient *c)
{
	const char *why;

	if (c->notifying || c->freed)
		return;
	if (c->want == FA_HPROTO_H3) {
		hc_h3_kick(c);
		return;
	}
	if (c->state == C_H2) {
		hc_h2_kick(c);
		return;
	}
	if (!c->head || c->started)
		return;
	c->started = true;
	c->got_bytes = c->retried = c->close_after = false;
	c->stage = S_HEAD;
	memset(&c->res, 0, sizeof(c->res));
	fa_buf_reset(&c->body);
	why = hc_request_problem(c, c->head);
	if (why) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: %s", c->origin, why);
		finish(c, FA_EUSAGE, msg);
		return;
	}
	if (c->timeout_ms > 0) {
		if (!c->head->due_ms)
			c->head->due_ms = hc_now_ms() + (uint64_t)c->timeout_ms;
		fa_timer_start(c->loop, &c->req_timer, (uint64_t)c->timeout_ms);
	}
	start(c);
}

void fa_hclient_request(struct fa_hclient *c, struct fa_hclient_req *rq)
{
	char msg[1024];

	rq->next = NULL;
	rq->tries = 0;
	rq->due_ms = 0;
	if (c->freed) {
		snprintf(msg, sizeof(msg), "%s: the client is closing",
			 c->origin);
		rq->on_done(rq, &(struct fa_hclient_res){ 0 }, FA_EINTR, msg);
		return;
	}
	if (c->tail)
		c->tail->next = rq;
	else
		c->head = rq;
	c->tail = rq;
	c->queued++;
	c->depth++;
	hc_kick(c);
	hc_leave(c);
}

int fa_hclient_pending(const struct fa_hclient *c)
{
	return c->queued;
}

enum fa_hproto fa_hclient_proto(const struct fa_hclient *c)
{
	return c->proto;
}

const char *fa_hproto_name(enum fa_hproto p)
{
	return p == FA_HPROTO_H1 ? "http/1.1" : p == FA_HPROTO_H2 ? "h2" :
	       p == FA_HPROTO_H3 ? "h3" : "auto";
}

/* The TLS context of an https client: the caller's, or one of its own. */
static bool setup_tls(struct fa_hclient *c, const struct fa_hclient_opts *o,
		      struct fa_error *err)
{
	struct fa_tls_client_opts to = { 0 };

	if (strcmp(c->url.scheme, "https") != 0)
		return true;
	if (c->want == FA_HPROTO_H3 && o && o->h3tls) {
		c->h3tls = o->h3tls;
		return true;
	}
	if (c->want == FA_HPROTO_H3) {
		c->h3tls = fa_h3client_tls_new(o ? o->ca_file : NULL, o && o->insecure, err);
		c->own_h3tls = c->h3tls != NULL;
		return c->h3tls != NULL;
	}
	if (o && o->tls) {
		c->tls = o->tls;
		return true;
	}
	if (o) {
		to.ca_file = o->ca_file;
		to.insecure = o->insecure;
	}
	c->tls = fa_tls_client_new(&to, err);
	c->own_tls = c->tls != NULL;
	return c->tls != NULL;
}

struct fa_hclient *fa_hclient_new(struct fa_loop *loop, const struct fa_url *u,
				  const struct fa_hclient_opts *o,
				  struct fa_error *err)
{
	struct fa_hclient *c;

	if (o && (o->proto < FA_HPROTO_AUTO || o->proto > FA_HPROTO_H3 ||
		  o->max_streams < 0)) {
		fa_error_set(err, FA_EUSAGE, "%s://%s: invalid protocol or "
			     "max_streams", u->scheme, u->authority);
		return NULL;
	}
	if (o && o->proto == FA_HPROTO_H3 && strcmp(u->scheme, "https")) {
		fa_error_set(err, FA_EUSAGE, "%s://%s: HTTP/3 needs an https URL",
			     u->scheme, u->authority);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->url = *u;
	snprintf(c->origin, sizeof(c->origin), strchr(u->host, ':') ?
		 "[%s]:%d" : "%s:%d", u->host, u->port);
	snprintf(c->ua, sizeof(c->ua), "%s", o && o->user_agent ?
		 o->user_agent : "fa/" FA_VERSION);
	c->connect_timeout_ms = o && o->connect_timeout_ms > 0 ?
				o->connect_timeout_ms : 10000;
	c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 0;
	c->max_body = o && o->max_body ? o->max_body : (size_t)64 << 20;
	c->want = o ? o->proto : FA_HPROTO_AUTO;
	c->max_streams = o && o->max_streams > 0 ? o->max_streams : 100;
	c->io.fd = -1;
	c->io.cb = on_io;
	c->io.ctx = c;
	fa_timer_init(&c->connect_timer, on_connect_timeout, c);
	fa_timer_init(&c->req_timer, on_request_timeout, c);
	fa_timer_init(&c->again_timer, on_read_again, c);
	hc_h3_init(c);
	fa_buf_init(&c->out, 0);
	fa_buf_init(&c->in, 0);
	fa_buf_init(&c->headbuf, 0);
	fa_buf_init(&c->body, 0);
	if (!setup_tls(c, o, err)) {
		destroy(c);
		return NULL;
	}
	return c;
}

void fa_hclient_free(struct fa_hclient *c)
{
	char msg[1024];

	if (!c || c->freed)
		return;
	c->depth++;
	c->freed = true;
	hc_conn_close(c);
	fa_timer_stop(c->loop, &c->req_timer);
	snprintf(msg, sizeof(msg), "%s: the client was closed before the "
		 "answer", c->origin);
	hc_h2_fail_all(c, FA_EINTR, msg);
	while (c->head)
		finish(c, FA_EINTR, msg);
	hc_leave(c);
}
