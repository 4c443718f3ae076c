/*
 * hserver_int: what lib/http/hserver.c (workers, sockets, TLS, HTTP/1.1),
 * lib/http/hserver_h2.c (HTTP/2 streams) and lib/http/hserver_res.c (responses,
 * content coding) share.  Not for applications: they see lib/http/hserver.h
 * only.
 *
 * A connection belongs to one worker thread.  It starts as HTTP/1.1 (or
 * as TLS, whose ALPN may pick h2); a cleartext one switches to HTTP/2 on
 * the client preface or an "Upgrade: h2c" request.  An HTTP/1.1
 * connection carries one request at a time in c->rq; an HTTP/2 one
 * carries a struct fa_hreq per stream, listed in c->reqs.
 */
#ifndef FA_HSERVER_INT_H
#define FA_HSERVER_INT_H

#include <pthread.h>
#include <time.h>
#include <openssl/ssl.h>

#include "http/h2.h"
#include "http/hencode.h"
#include "http/hserver.h"

#define HS_MAX_HEADERS 100
#define HS_HIGH_WATER (256 * 1024)
#define HS_LOW_WATER (64 * 1024)

/*
 * C_LINGER: the last response is out and writing is shut down; input is
 * read and dropped until the client closes (or LINGER_MS pass), because
 * closing with unread input makes the kernel reset the connection, and a
 * reset can destroy the response before the client reads it.
 * C_H2: the connection speaks HTTP/2; its streams have their own states.
 * C_WS: the connection is a WebSocket session (hserver_ws.c); its close
 * handshake ends in C_CLOSING like a last response.
 */
enum conn_state { C_HEAD, C_BODY, C_HANDLING, C_CLOSING, C_LINGER, C_H2, C_WS };

struct hs_worker;

/* What one response needs, whichever protocol carries it. */
struct hs_res {
	struct fa_buf extra;            /* headers added before start */
	bool started, ended;
	bool coding_failed;             /* the body is broken: end it as failed */
	struct fa_henc enc;             /* content coding, when enc.kind != NONE */
	void (*resume)(struct fa_hreq *rq, void *arg);
	void *resume_arg;
	void (*abort)(struct fa_hreq *rq, void *arg);
	void *abort_arg;
	bool abort_at_stop;             /* fa_hres_on_abort: also at shutdown */
};

/*
 * What a protocol does for the response side (hserver_res.c), which knows
 * no protocol: one table each for HTTP/1.1 (hserver.c), HTTP/2
 * (hserver_h2.c) and HTTP/3 (hserver_h3.c), set in rq->proto when the
 * request is made.  Content coding is done before these see the bytes.
 */
struct hs_proto {
	/* The head; length is -1 when unknown (always so once coded). */
	void (*start)(struct fa_hreq *rq, int status, const char *content_type, int64_t length);
	/* Body bytes as they go on the wire; dropped once the client is gone. */
	void (*send)(struct fa_hreq *rq, const void *data, size_t n);
	bool (*writable)(const struct fa_hreq *rq);
	/* rq->res->resume is set: call it once there is room, never from here. */
	void (*on_drain)(struct fa_hreq *rq);
	/* The body is whole; rq may be freed by this. */
	void (*end)(struct fa_hreq *rq);
	/* The body is cut off: tell the client (close, RST_STREAM); rq may be freed. */
	void (*reset)(struct fa_hreq *rq);
	/* True once the client has gone away. */
	bool (*gone)(const struct fa_hreq *rq);
};

extern const struct hs_proto hs_h1_proto, hs_h2_proto, hs_h3_proto;

/* An HTTP/2 request: the application's struct fa_hreq (first) and its stream. */
struct hs_h2req {
	struct fa_hreq rq;
	struct hs_res res;
	struct fa_hconn *c;
	struct fa_h2_stream *st;        /* NULL once the stream closed */
	bool resume_now;                /* on_drain asked while not full */
	struct fa_hws *ws;              /* a WebSocket session (RFC 8441) once it began */
	struct hs_h2req *prev, *next;
};

struct fa_hconn {
	struct hs_worker *w;
	struct fa_io io;
	struct fa_timer timer;
	enum conn_state state;
	SSL *ssl;                       /* NULL: cleartext */
	bool tls_ready;                 /* handshake done, ALPN looked at */
	bool tls_want_out;              /* TLS must write before it can read */
	struct fa_buf in, out, body;
	struct fa_h1_request h1;
	struct fa_h1_header hdrs[HS_MAX_HEADERS];
	struct fa_h1_chunked chunked;
	struct fa_h1_header trailers[16];
	size_t chunked_used;            /* request bytes the decoder has taken */
	struct fa_hreq rq;              /* the HTTP/1.1 request */
	struct hs_res res;              /* and its response */
	int requests;
	bool keep_alive, chunked_out, sent_continue;
	bool in_paused;                 /* input arrived while answering: not read until done */
	bool dead;                      /* closed while the application answers */
	char peer[64];
	/* HTTP/2 */
	struct fa_h2 *h2;
	struct hs_h2req *reqs;          /* requests not yet ended or not yet closed */
	int timer_kind;                 /* what the timer measures now */
	bool dirty;                     /* on the worker's list of output to send */
	struct fa_hconn *dirty_next;
	bool h2_broken;                 /* the peer broke the protocol: GOAWAY, no more input */
	bool in_close;                  /* hs_conn_close() is running */
	bool buried;                    /* on the worker's list to free after this turn */
	/* WebSocket: the handshake's answer, then the session */
	char ws_accept[32];
	struct fa_hws *ws;
	struct fa_hconn *prev, *next;
};

struct listener {
	struct fa_io io;
	struct hs_worker *w;
	bool tls;
};

struct hs_worker {
	struct fa_hserver *s;
	int index;
	pthread_t thread;
	struct fa_loop *loop;
	struct listener ls[2];
	int nls;
	struct fa_io wake_io;
	int wake_fd;
	void *ctx;
	struct fa_hconn *conns;
	int nconns;
	/* connections with output to send once the callbacks of this turn are done */
	struct fa_hconn *dirty;
	/*
	 * Connections to free once this turn is over: the loop may still hold
	 * an event for one, and the application may still be on the stack.
	 */
	struct fa_hconn *graveyard;
	struct hs_h3 *h3;               /* HTTP/3: the UDP socket and its connections */
	char date[30];                  /* the Date header of this second */
	time_t date_t;
	bool stopping;
};

struct fa_hserver {
	struct fa_hserver_opts o;
	struct hs_worker *workers;
	int port, tls_port, h3_port;
	struct fa_h3_ctx *h3ctx;        /* HTTP/3's certificate (GnuTLS) */
	char alt_svc[40];               /* h3=":PORT"; ma=86400, on TCP responses */
	volatile int stop;
};

/* hserver.c */
void hs_want(struct fa_hconn *c);
void hs_conn_close(struct fa_hconn *c);
void hs_conn_free(struct fa_hconn *c);
void hs_arm(struct fa_hconn *c, int ms);
/* Sends c's output at the end of this loop turn (one write for many pieces). */
void hs_dirty(struct fa_hconn *c);
/* >0 bytes, 0 the peer closed, -1 try later, -2 failed */
ssize_t hs_recv(struct fa_hconn *c, void *p, size_t n);
ssize_t hs_send(struct fa_hconn *c, const void *p, size_t n);
/* Sends what it can of c->out and moves the connection on; false when it is gone. */
bool hs_flush(struct fa_hconn *c);
/* Writes c->out until it is empty or the socket is full: 1 progress, 0 none, -1 closed. */
int hs_write_out(struct fa_hconn *c);
/* Server, Date, Content-Type, Alt-Svc (when alt_svc and HTTP/3 is on), the application's. */
int hs_response_headers(struct hs_worker *w, struct hs_res *res, const char *content_type,
			bool alt_svc, struct fa_h1_header *h, int cap);

/* hserver_res.c */
void hs_res_reset(struct hs_res *res);
void hs_error_body(struct fa_buf *body, int status, const char *why);
/* Starts content coding for a response when the request allows it. */
void hs_encode_start(struct fa_hreq *rq, struct hs_res *res, const char *content_type,
		     int64_t *length, int status);

/* hserver_h2.c */
void hs_h2_start(struct fa_hconn *c, const char *initial, size_t n);
bool hs_h2_upgrade(struct fa_hconn *c);
void hs_h2_io(struct fa_hconn *c, uint32_t ev);
void hs_h2_timeout(struct fa_hconn *c);
void hs_h2_closed(struct fa_hconn *c);
void hs_h2_stop(struct fa_hconn *c);
void hs_h2_pump(struct fa_hconn *c);

/* hserver_ws.c */
void hs_ws_read(struct fa_hconn *c);
void hs_ws_pump(struct fa_hconn *c);
void hs_ws_stop(struct fa_hconn *c);
void hs_ws_closed(struct fa_hconn *c);
void hs_ws_free(struct fa_hws *ws);
/* Frames from an HTTP/2 stream's DATA. */
void hs_ws_input(struct fa_hws *ws, const char *data, size_t n);

/* hserver_h3.c */
/* A UDP socket for HTTP/3 on addr (port: the one bound first, or 0). */
int hs_h3_bind(const char *addr, int *port, struct fa_error *err);
enum fa_err hs_h3_init(struct hs_worker *w, int fd, int port, struct fa_error *err);
void hs_h3_run(struct hs_worker *w);
void hs_h3_turn(struct hs_worker *w);
bool hs_h3_pending(const struct hs_worker *w);
bool hs_h3_busy(const struct hs_worker *w);
void hs_h3_stop(struct hs_worker *w);
void hs_h3_reap(struct hs_worker *w);
void hs_h3_free(struct hs_worker *w);

#endif
