/*
 * hserver: the HTTP server core.  N worker threads, each with its own
 * event loop and its own listening socket on the same address
 * (SO_REUSEPORT), so no lock is taken on the request path.  Connections
 * speak HTTP/1.1 (lib/http/h1) or HTTP/2 (lib/http/h2: by ALPN over TLS, by prior
 * knowledge or "Upgrade: h2c" in cleartext), and a UDP socket HTTP/3
 * (lib/http/h3, QUIC), behind one request/response
 * model, so the application never asks which protocol carries a request.
 * Responses are compressed (zstd or gzip, lib/http/hencode) when the request's
 * Accept-Encoding allows it and the content type is worth it.
 *
 * The application gives one handler.  It receives each request with a
 * response to fill, on the worker thread that owns the connection, and may
 * answer at once or later (after a database round trip) from the same
 * thread:
 *
 *	static void handle(struct fa_hreq *rq, void *app)
 *	{
 *		fa_hres_start(rq, 200, "application/json", -1);
 *		fa_hres_write(rq, "[]", 2);
 *		fa_hres_end(rq);
 *	}
 *
 * A response whose length is unknown (-1) goes out chunked.  Writes are
 * buffered per connection; fa_hres_writable() tells a streaming producer
 * to pause while the client is slow (backpressure).
 *
 * A request that asks for a WebSocket (rq->websocket) may be taken with
 * fa_hres_websocket() instead of a response: the server answers 101 and
 * the connection becomes a session of messages (lib/http/ws frames them),
 * with ping and pong, the close handshake and the limits of the options
 * handled here; the application sees messages and, once, the end.
 */
#ifndef FA_HSERVER_H
#define FA_HSERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"
#include "core/loop.h"

struct fa_hconn;
struct fa_tls;
struct hs_proto;
struct hs_res;
struct hs_worker;

/* One request, valid until fa_hres_end(); strings are not NUL-terminated. */
struct fa_hreq {
	struct fa_hconn *conn;
	const char *method;
	size_t method_len;
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
	const struct fa_h1_header *headers;
	int nheaders;
	const char *body;
	size_t body_len;
	bool head;                      /* HEAD: the body is not sent */
	bool websocket;                 /* asks for a WebSocket: fa_hres_websocket() takes it */
	int worker;                     /* index of the worker thread */
	struct fa_loop *loop;           /* that thread's loop */
	void *worker_ctx;               /* what init_worker returned for it */
	uint64_t t0;                    /* when the head was complete (ns) */
	int status;                     /* set by fa_hres_start() */
	uint64_t bytes_out;
	const char *peer;               /* the client's address, "127.0.0.1" */
	const char *version;            /* "HTTP/1.1", "HTTP/1.0", "HTTP/2.0" or "HTTP/3.0" */
	uint64_t app_ns;                /* time the application reports (the database's) */
	const char *encoding;           /* the content coding sent: "gzip", "zstd" or NULL */
	/* private: the protocol that carries the request (hserver_int.h) */
	const struct hs_proto *proto;
	struct hs_res *res;
	struct hs_worker *w;
};

struct fa_hserver_opts {
	const char *listen;             /* "host:port", "[::1]:port" or ":port"; NULL: none */
	const char *tls_listen;         /* the same, for TLS (needs tls) */
	struct fa_tls *tls;             /* certificates; owned by the caller */
	const char *h3_listen;          /* HTTP/3 over UDP there; NULL: none */
	const char *h3_cert, *h3_key;   /* PEM files for it (GnuTLS); key NULL: in cert */
	bool h3_retry;                  /* validate every client address with a Retry */
	int threads;
	size_t max_head;                /* 431 past this */
	size_t max_body;                /* 413 past this */
	int header_timeout_ms;          /* 408 when the head takes longer */
	int body_timeout_ms;
	int keepalive_timeout_ms;
	int keepalive_requests;
	int max_conns;                  /* per worker */
	int send_timeout_ms;            /* a client that takes nothing for this long is closed */
	/* WebSocket sessions */
	size_t ws_max_message;          /* 1009 past this (inflated size); 0: FA_WS_MAX */
	int ws_ping_ms;                 /* a ping this often; no pong by the next: closed; 0: none */
	bool ws_deflate;                /* accept permessage-deflate offers */
	/* HTTP/2 settings */
	uint32_t h2_max_streams, h2_window, h2_max_frame, h2_max_header_list;
	bool h2;                        /* false: HTTP/1.1 only */
	/* content coding: level 0 means off */
	int zstd_level, gzip_level;
	size_t compress_min;            /* bodies of known length below it go as they are */
	const char *server_name;        /* the Server header; NULL: "fa" */
	void (*handler)(struct fa_hreq *rq, void *app);
	/* per worker thread, on that thread, before it serves: returns worker_ctx */
	void *(*init_worker)(int index, struct fa_loop *loop, void *app);
	void (*done_worker)(int index, void *worker_ctx, void *app);
	/* after each response: for the access log and metrics */
	void (*on_done)(const struct fa_hreq *rq, void *app);
	void *app;
};

struct fa_hserver;

/* Binds the listeners (so errors surface before serving); FA_EUSAGE, FA_EWORK. */
struct fa_hserver *fa_hserver_new(const struct fa_hserver_opts *o, struct fa_error *err);

/* The ports actually bound (for ":0"); 0 when that listener is off. */
int fa_hserver_port(const struct fa_hserver *s);
int fa_hserver_tls_port(const struct fa_hserver *s);
int fa_hserver_h3_port(const struct fa_hserver *s);

/* Reads HTTP/3's certificate and key again for new connections (SIGHUP). */
enum fa_err fa_hserver_reload_h3(struct fa_hserver *s, struct fa_error *err);

/* Serves until fa_hserver_stop(); then drains in-flight requests and returns. */
enum fa_err fa_hserver_run(struct fa_hserver *s);

/* From any thread or after a signal: stop accepting, finish what is in flight. */
void fa_hserver_stop(struct fa_hserver *s);

/*
 * fa_hserver_run() for a server process: SIGHUP, SIGINT and SIGTERM are
 * blocked in this thread (so in the workers it starts) and taken by a
 * thread of their own, where SIGHUP calls on_hup(arg) (a reload) and
 * SIGINT or SIGTERM stop the server.  SIGPIPE is ignored.
 */
enum fa_err fa_hserver_run_signals(struct fa_hserver *s, void (*on_hup)(void *arg), void *arg);

void fa_hserver_free(struct fa_hserver *s);

/* Starts the response: status, content type, length (-1: chunked). */
void fa_hres_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length);
/* Adds a header before the body; name and value are copied. */
void fa_hres_header(struct fa_hreq *rq, const char *name, const char *value);
void fa_hres_write(struct fa_hreq *rq, const void *data, size_t n);
/* Ends the response; the request and its strings are gone after this. */
void fa_hres_end(struct fa_hreq *rq);
/*
 * Ends a response that failed after its head went out: the connection
 * closes without the body's proper end (no last chunk), so the client
 * can tell the body was cut off.
 */
void fa_hres_fail(struct fa_hreq *rq);
/* A whole response in one call, for errors and small bodies. */
void fa_hres_simple(struct fa_hreq *rq, int status, const char *content_type, const char *body);
/* False while the connection's output buffer is over its high-water mark. */
bool fa_hres_writable(const struct fa_hreq *rq);
/* Calls resume once the buffer has drained below its low-water mark. */
void fa_hres_on_drain(struct fa_hreq *rq, void (*resume)(struct fa_hreq *rq, void *arg), void *arg);
/*
 * Calls abort if the client goes away before the response ends (for
 * responses that never end by themselves, like event streams).  The
 * request stays valid until fa_hres_end(), which the application must
 * still call; writes after the client left are dropped.
 */
void fa_hres_on_abort(struct fa_hreq *rq, void (*abort)(struct fa_hreq *rq, void *arg), void *arg);
/*
 * Calls gone if the client goes away before the response ends, for
 * responses that do end by themselves (a slow answer the client may stop
 * waiting for): as fa_hres_on_abort, but a server shutdown lets them
 * finish instead.  One or the other: the later call wins.
 */
void fa_hres_on_gone(struct fa_hreq *rq, void (*gone)(struct fa_hreq *rq, void *arg), void *arg);
/*
 * Marks a boundary in a streamed body (a row batch, an event): what was
 * written so far is compressed and sent rather than held for more.
 */
void fa_hres_flush(struct fa_hreq *rq);
/*
 * The content coding a response of this type and length would get
 * (FA_Z_NONE, FA_Z_GZIP, FA_Z_ZSTD), so the application can name the
 * representation's ETag before it starts the response.
 */
int fa_hres_coding(const struct fa_hreq *rq, const char *content_type, int64_t length);
/* True once the client has gone away. */
bool fa_hres_gone(const struct fa_hreq *rq);

/* A WebSocket session, from fa_hres_websocket(). */
struct fa_hws;

struct fa_hws_handlers {
	/* A whole message, FA_WS_TEXT (UTF-8) or FA_WS_BINARY; data is valid until it returns. */
	void (*on_message)(struct fa_hws *ws, int op, const char *data, size_t n, void *arg);
	/*
	 * The session is over (code: the peer's close code, or 1006 when the
	 * connection just ended); ws is freed once this returns.  Called once,
	 * from the loop, never from inside a fa_hws_* call.
	 */
	void (*on_close)(struct fa_hws *ws, int code, void *arg);
};

/*
 * Takes a request with rq->websocket: answers 101 (with permessage-deflate
 * when offered and ws_deflate allows) and returns the session, which now
 * owns rq (valid until on_close returns; the access log sees it then, as
 * status 101).  NULL when rq cannot become one (not HTTP/1.1): answer it.
 */
struct fa_hws *fa_hres_websocket(struct fa_hreq *rq, const struct fa_hws_handlers *h, void *arg);
/* The request the session came from: its worker, loop, path, headers. */
struct fa_hreq *fa_hws_request(struct fa_hws *ws);
/*
 * Queues one message (FA_WS_TEXT or FA_WS_BINARY).  False when the session
 * is closing, or the client has not taken what was queued before (past a
 * bound): it is then closed, never buffered without end.
 */
bool fa_hws_send(struct fa_hws *ws, int op, const void *data, size_t n);
/* Starts the close handshake with code and reason; on_close follows. */
void fa_hws_close(struct fa_hws *ws, int code, const char *reason);

/* Looks a request header up (case-insensitive); NULL when absent. */
const struct fa_h1_header *fa_hreq_header(const struct fa_hreq *rq, const char *name);

#endif
