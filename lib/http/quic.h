/*
 * quic: what the two sides of HTTP/3 share, h3 (the server) and h3client
 * (the client): nghttp3 over ngtcp2's streams, without I/O.  Each side's
 * connection struct begins with a struct fa_quic and is given to ngtcp2
 * and nghttp3 as their user data, so the callbacks below, which read only
 * the struct fa_quic, serve both sides; each side adds its own for what
 * differs (requests or responses, stream credit, reset limits).
 *
 * fa_quic_write() is the write loop both sides run: nghttp3's stream
 * bytes into ngtcp2's packets, one datagram a call.
 */
#ifndef FA_QUIC_H
#define FA_QUIC_H

#include <stdint.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "http/h3.h"

struct fa_quic {
	ngtcp2_conn *conn;
	nghttp3_conn *http;             /* NULL until the handshake set it up */
	ngtcp2_connection_close_error last_error;       /* what to close with */
};

/* n bytes of stream id were used: the peer may send as many more. */
void fa_quic_consume(struct fa_quic *q, int64_t id, size_t n);

/* ngtcp2's callbacks (user data: the struct fa_quic).  stream_close gives
   a server's peer its stream credit back for streams nghttp3 never knew. */
int fa_quic_recv_stream_data(ngtcp2_conn *c, uint32_t flags, int64_t id, uint64_t off,
			     const uint8_t *data, size_t n, void *u, void *su);
int fa_quic_acked(ngtcp2_conn *c, int64_t id, uint64_t off, uint64_t n, void *u, void *su);
int fa_quic_stream_close(ngtcp2_conn *c, uint32_t flags, int64_t id, uint64_t code, void *u,
			 void *su);
int fa_quic_stream_reset(ngtcp2_conn *c, int64_t id, uint64_t size, uint64_t code, void *u,
			 void *su);
int fa_quic_stream_stop_sending(ngtcp2_conn *c, int64_t id, uint64_t code, void *u, void *su);
int fa_quic_max_stream_data(ngtcp2_conn *c, int64_t id, uint64_t max, void *u, void *su);
void fa_quic_rand(uint8_t *dest, size_t n, const ngtcp2_rand_ctx *rctx);
/* For ngtcp2_crypto_conn_ref: ref->user_data is the struct fa_quic. */
ngtcp2_conn *fa_quic_get_conn(ngtcp2_crypto_conn_ref *ref);

/* nghttp3's callbacks (user data: the struct fa_quic). */
int fa_quic_deferred(nghttp3_conn *c, int64_t id, size_t n, void *u, void *su);
int fa_quic_stop_sending(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su);
int fa_quic_reset_stream(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su);

/* HTTP/3's control stream and QPACK's two, opened and given to q->http
   (set up already): 0, or -1. */
int fa_quic_open_streams(struct fa_quic *q);

/* A datagram's two ends as ngtcp2 takes them (pointing into p). */
ngtcp2_path fa_quic_path(const struct fa_h3_path *p);

/*
 * The next datagram into out, its path and packet info into ps and pi:
 * its length, 0 when nothing is due now, or -1 with q->last_error set
 * when the connection must close.
 */
ngtcp2_ssize fa_quic_write(struct fa_quic *q, uint8_t *out, size_t cap,
			   ngtcp2_path_storage *ps, ngtcp2_pkt_info *pi, uint64_t now);

#endif
