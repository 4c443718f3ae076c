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
 */
enum conn_state { C_HEAD, C_BODY, C_HANDLING, C_CLOSING, C_LINGER, C_H2 };

struct worker;

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

/* An HTTP/2 request: the application's struct fa_hreq and its stream. */
struct hs_h2req {
	struct fa_hreq rq;
	struct hs_res res;
	struct fa_hconn *c;
	struct fa_h2_stream *st;        /* NULL once the stream closed */
	bool resume_now;                /* on_drain asked while not full */
	struct hs_h2req *prev, *next;
};

struct fa_hconn {
	struct worker *w;
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
	struct fa_hconn *prev, *next;
};

struct listener {
	struct fa_io io;
	struct worker *w;
	bool tls;
};

struct worker {
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
	char date[30];                  /* the Date header of this second */
	time_t date_t;
	bool stopping;
};

struct fa_hserver {
	struct fa_hserver_opts o;
	struct worker *workers;
	int port, tls_port;
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
/* Writes c->out until it is empty or the socket is full: 1 progress, 0 none, -1 closed. */
int hs_write_out(struct fa_hconn *c);
int hs_response_headers(struct worker *w, struct hs_res *res, const char *content_type,
			struct fa_h1_header *h, int cap);
/* HTTP/1.1 framing of a response (hserver.c) */
void hs_h1_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length);
void hs_h1_send(struct fa_hconn *c, const void *data, size_t n);
void hs_h1_end(struct fa_hreq *rq);

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
void hs_h2_res_start(struct hs_h2req *r, int status, const char *content_type, int64_t length);
void hs_h2_res_send(struct hs_h2req *r, const void *data, size_t n);
void hs_h2_res_end(struct hs_h2req *r, bool failed);
bool hs_h2_res_writable(const struct hs_h2req *r);
void hs_h2_res_on_drain(struct hs_h2req *r);

#endif
