/*
 * hclient_int.h: what hclient.c (the connection, TLS, HTTP/1.1, the
 * queue) and hclient_h2.c (HTTP/2 streams) share.  Not for other modules.
 */
#ifndef FA_HCLIENT_INT_H
#define FA_HCLIENT_INT_H

#include <netdb.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "core/buf.h"
#include "http/h1.h"
#include "http/h2client.h"
#include "http/h3client.h"
#include "http/hclient.h"

#define NHDR FA_H1_MAX_HEADERS
#define READ_CHUNK 16384
#define READS_PER_TURN 16

/* the connection */
enum { C_NONE, C_CONNECTING, C_HANDSHAKE, C_IDLE, C_BUSY, C_H2, C_H3 };
/* an HTTP/1.1 response */
enum { S_HEAD, S_LENGTH, S_CHUNKED, S_CLOSE };

/*
 * One HTTP/2 or HTTP/3 stream and the request it carries.  A slot lives as long as
 * its stream: when its request ends early (a timeout, a body too big) rq
 * goes NULL and the slot waits for the stream's close.  Slots are reused
 * from a free list, their buffers with them.
 */
struct h2slot {
	struct fa_hclient *c;
	struct fa_hclient_req *rq;      /* NULL once the request ended */
	int64_t id;
	bool open;                      /* the session still knows the stream */
	bool got_bytes;
	int status, nheaders;
	struct fa_buf head;             /* the names and values of hdr */
	struct fa_h1_header hdr[NHDR];
	struct fa_buf body;
	struct fa_timer timer;
	struct h2slot *prev, *next;     /* in flight, or the free list (next) */
};

struct fa_hclient {
	struct fa_loop *loop;
	struct fa_url url;
	char origin[300];       /* host:port in messages, IPv6 bracketed */
	char ua[256];
	int connect_timeout_ms, timeout_ms;
	size_t max_body;
	int depth;              /* callbacks of ours on the stack */
	bool freed;             /* fa_hclient_free() ran: go when depth is 0 */
	bool notifying;         /* inside on_done: start nothing new */
	struct fa_hclient_req *head, *tail;     /* h1: head is the one in flight */
	int queued;             /* queued and in flight */

	/* the protocol */
	enum fa_hproto want, proto;
	int max_streams;
	struct fa_tls *tls;     /* https only */
	bool own_tls;

	/* the connection */
	int state;
	struct fa_io io;
	SSL *ssl;
	SSL_SESSION *session;   /* the last one the server issued, to resume */
	bool tls_wants_out;     /* OpenSSL waits for writability */
	struct addrinfo *addrs, *next_addr;
	char connect_err[160];
	struct fa_timer connect_timer, req_timer;
	struct fa_timer again_timer;    /* OpenSSL holds input epoll cannot see */
	int served;             /* responses read on this connection */
	uint64_t idle_ms;       /* hc_now_ms() when it last went idle */
	struct fa_buf out, in;
	size_t out_off;

	/* HTTP/1.1: the request in flight */
	bool started, reused, got_bytes, retried, close_after, have_head;
	int stage;
	int64_t left;
	struct fa_h1_response_head res;
	struct fa_h1_header hdr[NHDR];
	struct fa_buf headbuf, body;
	struct fa_h1_chunked ch;

	/* HTTP/2 */
	struct fa_h2client *h2;
	struct fa_h2client *h2_dead;    /* closed inside its own callbacks */
	int in_h2;                      /* calls into h2 on the stack */
	struct h2slot *slots, *free_slots;
	int nslots;                     /* streams open */

	/* HTTP/3 (the streams are the slots above) */
	struct fa_h3client_tls *h3tls;  /* https with FA_HPROTO_H3 */
	bool own_h3tls;
	struct fa_h3client *h3;
	struct fa_h3client *h3_dead;    /* closed inside its own callbacks */
	int in_h3;                      /* calls into h3 on the stack */
	bool h3_up;                     /* this connection's handshake finished */
	struct fa_h3_path path;
	struct fa_timer h3_timer;       /* ngtcp2's expiry */
};

/* hclient.c */
void hc_enter(struct fa_hclient *c);    /* around callbacks from the loop */
void hc_leave(struct fa_hclient *c);
bool hc_body_method(const char *method);
void hc_kick(struct fa_hclient *c);
void hc_conn_close(struct fa_hclient *c);
void hc_watch(struct fa_hclient *c, bool out);
void hc_read_later(struct fa_hclient *c);
ssize_t hc_recv(struct fa_hclient *c, void *p, size_t n, char *why, size_t wn);
ssize_t hc_send(struct fa_hclient *c, const void *p, size_t n, char *why, size_t wn);
const char *hc_request_problem(struct fa_hclient *c, const struct fa_hclient_req *rq);
uint64_t hc_now_ms(void);

/* hclient_h2.c: HTTP/2, and the slots (streams) HTTP/3 shares */
extern const struct fa_h2client_ops hc_stream_ops;
struct h2slot *hc_slot_get(struct fa_hclient *c);
void hc_slot_release(struct fa_hclient *c, struct h2slot *s);
void hc_slots_closed(struct fa_hclient *c);
void hc_slot_arm(struct fa_hclient *c, struct h2slot *s, struct fa_hclient_req *rq);
void hc_slot_fail(struct h2slot *s, enum fa_err rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hc_refuse(struct fa_hclient *c, struct fa_hclient_req *rq, enum fa_err rc, const char *why);
void hc_notify(struct fa_hclient *c, struct fa_hclient_req *rq,
	       const struct fa_hclient_res *res, enum fa_err rc, const char *msg);
struct fa_hclient_req *hc_pop(struct fa_hclient *c);
void hc_push_front(struct fa_hclient *c, struct fa_hclient_req *rq);
enum fa_err hc_h2_start(struct fa_hclient *c, struct fa_error *err);
void hc_h2_kick(struct fa_hclient *c);
void hc_h2_ready(struct fa_hclient *c, uint32_t revents);
void hc_h2_close(struct fa_hclient *c);
void hc_h2_fail_all(struct fa_hclient *c, enum fa_err rc, const char *msg);
void hc_h2_release(struct fa_hclient *c);

/* hclient_h3.c */
void hc_h3_kick(struct fa_hclient *c);
void hc_h3_ready(struct fa_hclient *c, uint32_t revents);
void hc_h3_flush(struct fa_hclient *c);
void hc_h3_close(struct fa_hclient *c);
void hc_h3_release(struct fa_hclient *c);
void hc_h3_init(struct fa_hclient *c);

#endif
