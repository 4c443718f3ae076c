/*
 * hclient: an HTTP/1.1 and HTTP/2 client, over TLS or not, on the event
 * loop, for fa-mcp's client and proxy and for fa-bench.  Nonblocking from
 * the connect on; the protocol parts (the response head, the SSE stream,
 * HTTP/2 framing) are pure modules (h1, sse, h2client), so they are
 * unit-tested and fuzzed apart from sockets.
 *
 * One struct fa_hclient is one connection to one origin, kept alive
 * between requests and opened again when the server closed it.
 * fa_hclient_request() queues requests, and each gets exactly one
 * on_done.  Over HTTP/1.1 they go one at a time (no pipelining: open more
 * clients for more at once); over HTTP/2 up to max_streams of them, and
 * no more than the server's SETTINGS_MAX_CONCURRENT_STREAMS, are in
 * flight at once, the rest wait in the queue.
 *
 * The protocol: opts.proto FA_HPROTO_AUTO speaks HTTP/1.1 to http URLs
 * and lets ALPN choose for https (h2 offered first); FA_HPROTO_H1 offers
 * only http/1.1; FA_HPROTO_H2 offers only h2 over TLS (a server that does
 * not take it is an error) and speaks h2 by prior knowledge (h2c, as
 * h2load and nghttp do) to http URLs.  fa_hclient_proto() says what the
 * connection speaks.
 *
 * FA_HPROTO_H3 speaks HTTP/3 (h3client: ngtcp2, nghttp3 and GnuTLS) on a
 * UDP socket to https URLs, with streams as for HTTP/2: up to max_streams
 * and the server's MAX_STREAMS credit at once, the rest queued until the
 * server gives more.  Requests wait for the handshake (no 0-RTT); one
 * that fails (no answer in connect_timeout_ms, the certificate refused,
 * ICMP saying nobody listens) ends every request queued with a message
 * naming host:port.  A connection that ends (the server's
 * CONNECTION_CLOSE, the idle timeout) ends its streams' requests with
 * the reason; the next request opens a new connection.
 *
 * TLS (OpenSSL): the certificate is verified against the system's CAs, or
 * opts.ca_file's, and must name the URL's host; opts.insecure skips that
 * (curl -k).  A refused certificate ends the request with FA_ECONNECT and
 * a message naming host:port and OpenSSL's reason.  Many clients of one
 * program can share one context (opts.tls), so the CAs load once.  When
 * a client connects again it offers the TLS session its server last
 * issued, so the handshake is a resumption.  As
 * tls.h says, OpenSSL writes with write(2): a program that speaks https
 * must ignore SIGPIPE.
 *
 *	struct fa_url u;
 *	fa_url_parse("http://127.0.0.1:8080/mcp", &u, &err);
 *	struct fa_hclient_opts o = { .timeout_ms = 10000 };
 *	struct fa_hclient *c = fa_hclient_new(loop, &u, &o, &err);
 *	struct fa_hclient_req rq = { .method = "POST", .target = u.target,
 *		.headers = hdrs, .nheaders = 2, .body = json, .body_len = n,
 *		.on_done = done, .ctx = me };
 *	fa_hclient_request(c, &rq);
 *	while (!finished) fa_loop_run_once(loop, -1);
 *	fa_hclient_free(c);
 *
 * A response body arrives whole in on_done (up to max_body), or, with
 * stream set, piece by piece in on_data as it comes (for text/event-stream
 * answers), on_done then ending it with no body.  Content-Length,
 * chunked, and close-delimited bodies are all read.
 *
 * Ownership: the caller owns each request and what it points to until its
 * on_done; the response and its strings are valid during the callback
 * only.  Host, Content-Length and, unless the caller gives one,
 * User-Agent are added; the caller's headers go as given (over HTTP/2
 * Host becomes :authority, names go in lower case and hop-by-hop fields
 * such as Connection are left out).
 *
 * The connection: the host is resolved with getaddrinfo(), which blocks
 * (fine for the numeric hosts and localhost this is used with; a name
 * that needs DNS stalls the loop meanwhile), then each address is tried
 * in turn with a nonblocking connect and TCP_NODELAY.  After a response
 * the connection is kept for the next request unless either side said
 * "Connection: close", the body ran to the end of the connection, or
 * bytes came that nobody asked for.  When the server closes a kept-alive
 * connection as the next request goes out, that request is sent once
 * more on a new connection, but only if not one byte of its answer came
 * (so a server that reads a request and closes without answering sees
 * it twice, whatever the method).  Before reusing a connection idle for
 * a millisecond or more, a peek asks whether the server closed it; one
 * that went idle within the same millisecond (a load test's next
 * request) is reused at once and relies on that retry.
 *
 * Over HTTP/2 the same holds for what the server says it never processed:
 * a stream refused (RST_STREAM REFUSED_STREAM) is sent once more on the
 * same connection, one above the last stream id of a GOAWAY once more on
 * a new connection.  After GOAWAY the streams the server took finish on
 * the old connection, and the queue waits for them before a new one
 * opens.  A stream reset otherwise, or cut off when the connection
 * breaks, ends its request alone; nothing else is sent again.  With
 * stream set, on_data gets the DATA frames' bytes as they come, without
 * a copy.  A timeout resets the one stream and keeps the connection; it
 * counts from the stream's start (or the connect it waited for), not the
 * time the request queued for a free stream.
 *
 * Callbacks may queue requests and may call fa_hclient_free(); the
 * memory then goes when the callback returns.  Freeing the client from
 * some other fd's callback is not safe while an event of this client may
 * be pending in the same fa_loop_run_once() turn: free it from a timer
 * callback (timers run after the turn's I/O) or between turns.
 */
#ifndef FA_HCLIENT_H
#define FA_HCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "http/h1.h"

/* http[s]://host[:port][/path][?query] */
struct fa_url {
	char scheme[8];                 /* "http" or "https" */
	char host[256];                 /* without brackets for IPv6 */
	int port;                       /* 80 or 443 unless given */
	char target[4096];              /* path and query, "/" when none */
	char authority[300];            /* for the Host header: host[:port] as written */
};

/* FA_EUSAGE with a message naming the URL when it is not one of the above:
   another scheme, user@ information, a '#' fragment, a bad host or port,
   or a path with spaces, controls or raw non-ASCII bytes. */
enum fa_err fa_url_parse(const char *url, struct fa_url *u, struct fa_error *err);

enum fa_hproto {
	FA_HPROTO_AUTO = 0,             /* ALPN for https, HTTP/1.1 for http */
	FA_HPROTO_H1,                   /* HTTP/1.1 */
	FA_HPROTO_H2,                   /* HTTP/2: ALPN h2, or h2c by prior knowledge */
	FA_HPROTO_H3,                   /* HTTP/3 over QUIC (UDP), https only */
};

struct fa_tls;
struct fa_h3client_tls;

struct fa_hclient_opts {
	int connect_timeout_ms;         /* 0: 10000 */
	int timeout_ms;                 /* a request's answer in full, from
					   its start (connect included) to
					   its last byte; 0: none */
	size_t max_body;                /* a whole body's cap; 0: 64 MiB;
					   not applied with stream */
	const char *user_agent;         /* NULL: "fa/VERSION" */
	enum fa_hproto proto;           /* see above; AUTO by default */
	int max_streams;                /* HTTP/2 requests in flight; 0: 100 */
	const char *ca_file;            /* PEM CAs to trust; NULL: the system's */
	bool insecure;                  /* https without verification (curl -k) */
	struct fa_tls *tls;             /* a shared fa_tls_client_new() context,
					   which then decides ca_file and
					   insecure; the caller keeps it
					   until the client is freed; NULL:
					   the client makes its own */
	struct fa_h3client_tls *h3tls;  /* the same for FA_HPROTO_H3 (GnuTLS:
					   QUIC's TLS is not OpenSSL's) */
};

struct fa_hclient_res {
	int status;                     /* 0 when no response came */
	const struct fa_h1_header *headers;     /* HTTP/2: names in lower case */
	int nheaders;
	const char *body;               /* the whole body, NUL-terminated (NULL
					   with stream, or without FA_OK) */
	size_t body_len;
};

struct fa_hclient_req {
	const char *method;
	const char *target;             /* "/mcp" */
	const struct fa_h1_header *headers;
	int nheaders;
	const char *body;
	size_t body_len;
	bool stream;                    /* body to on_data as it arrives
					   (de-chunked), whatever the status */
	/* the head arrived (optional); with stream, on_data follows */
	void (*on_head)(struct fa_hclient_req *rq, const struct fa_hclient_res *res);
	void (*on_data)(struct fa_hclient_req *rq, const char *data, size_t n);
	/*
	 * Exactly once: rc FA_OK with the response, or FA_ECONNECT (cannot
	 * connect, the TLS handshake or the certificate failed, the
	 * connection broke, the server reset the HTTP/2 stream or went away
	 * (GOAWAY) before answering it, a timeout) or FA_EINPUT (a malformed
	 * response, a body over max_body, an HTTP/2 protocol error) with msg
	 * naming the host:port and what happened; FA_EUSAGE for a request that cannot be written (a
	 * method or field that is no token, CR or LF in a value, a Host,
	 * Content-Length or Transfer-Encoding field of the caller's), FA_EINTR
	 * when fa_hclient_free() came first.  res->status is that of the head
	 * if one came, else 0.
	 */
	void (*on_done)(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
			enum fa_err rc, const char *msg);
	void *ctx;
	/* private */
	struct fa_hclient_req *next;
	int tries;                      /* sent again after a refusal */
	uint64_t due_ms;                /* its deadline, monotonic; 0: none yet */
};

struct fa_hclient;

/* A client for u's origin (o may be NULL); it connects on the first
   request.  NULL with err FA_EUSAGE when o->ca_file does not load. */
struct fa_hclient *fa_hclient_new(struct fa_loop *loop, const struct fa_url *u,
				  const struct fa_hclient_opts *o, struct fa_error *err);

/* Queues rq; its on_done may run before this returns when it cannot start. */
void fa_hclient_request(struct fa_hclient *c, struct fa_hclient_req *rq);

/* Requests queued or in flight. */
int fa_hclient_pending(const struct fa_hclient *c);

/* What the connection speaks (FA_HPROTO_H1, _H2 or _H3), or spoke
   when it is closed now; FA_HPROTO_AUTO before any connection was made. */
enum fa_hproto fa_hclient_proto(const struct fa_hclient *c);

/* "http/1.1", "h2", "h3" or "auto". */
const char *fa_hproto_name(enum fa_hproto p);

/* Closes the connection; requests in flight or queued get on_done(FA_EINTR)
   before it returns.  NULL is ignored. */
void fa_hclient_free(struct fa_hclient *c);

#endif
