/*
 * h3: HTTP/3 server connections over QUIC (ngtcp2 0.12 with its GnuTLS
 * crypto backend, nghttp3 0.8), without I/O.  The caller owns the UDP
 * socket: it hands each datagram in with the addresses it travelled
 * between (fa_h3_recv), takes the datagrams to send out (fa_h3_send), and
 * calls fa_h3_timeout() when fa_h3_expiry() says.  Requests come out the
 * way lib/http/h2 gives them (struct fa_h3_request, names in lower case),
 * and responses go in through fa_h3_respond(), fa_h3_write() and
 * fa_h3_end().
 *
 * Response bytes are copied into chunks that never move and are freed only
 * once the peer acknowledged them (QUIC may resend them until then);
 * fa_h3_stream_full() tells a producer to wait, and on_drain says when to
 * go on.  A stream's credit (MAX_STREAMS) is given back only once it is
 * fully closed.  No 0-RTT, no qlog, no session tickets.
 *
 *	struct fa_h3_ctx *ctx = fa_h3_ctx_new("cert.pem", "key.pem", &err);
 *	// a datagram whose DCID matches no connection:
 *	struct fa_h3 *q = fa_h3_accept(ctx, &lim, &ops, user, &path, pkt, n, now, &err);
 *	while ((n = fa_h3_send(q, buf, sizeof(buf), &to, now)) > 0)
 *		sendto(...);
 */
#ifndef FA_H3_H
#define FA_H3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "http/h1.h"

#define FA_H3_CIDLEN 16         /* the length of the connection IDs we issue */
#define FA_H3_MAX_PACKET 1500   /* a buffer for one datagram out */

struct fa_h3_ctx;
struct fa_h3;
struct fa_h3_stream;

struct fa_h3_limits {
	uint32_t max_streams;           /* concurrent request streams */
	uint64_t max_field_section;     /* SETTINGS_MAX_FIELD_SECTION_SIZE */
	size_t qpack_table;             /* QPACK dynamic table capacity we allow */
	size_t max_body;                /* request bodies over it get a 413 */
	size_t stream_buffer;           /* unacknowledged response bytes per stream */
	uint32_t window;                /* per-stream flow control window */
	int idle_timeout_ms;
	int handshake_timeout_ms;
	uint8_t cid_tag;                /* first byte of every connection ID issued: whose it is */
	bool retry;                     /* validate addresses with a Retry first */
	int retry_token_ms;             /* how long a Retry token is good for */
};

/* Both ends of a datagram, and its ECN bits; the caller's storage. */
struct fa_h3_path {
	struct sockaddr_storage local, remote;
	socklen_t local_len, remote_len;
	uint8_t ecn;            /* the IP header's two ECN bits, in and out */
};

/* A complete request; its pointers are valid until the stream closes. */
struct fa_h3_request {
	const char *method, *path, *query;
	size_t method_len, path_len, query_len;
	const struct fa_h1_header *headers;     /* names in lower case; :authority as host */
	int nheaders;
	const char *body;
	size_t body_len;
	int error;              /* not to be served: answer this status (400, 413) */
};

struct fa_h3_ops {
	void (*on_request)(void *ctx, struct fa_h3_stream *st, const struct fa_h3_request *r);
	/* the stream's buffered bytes fell below a quarter of stream_buffer */
	void (*on_drain)(void *ctx, struct fa_h3_stream *st, void *user);
	/* the stream is gone (answered and acknowledged, or reset); st is freed after */
	void (*on_close)(void *ctx, struct fa_h3_stream *st, void *user);
};

/* 100 streams, 16 KiB of fields, a 4 KiB QPACK table, 30 s idle, 10 s handshake. */
void fa_h3_limits_init(struct fa_h3_limits *lim);

/* Certificate and key (PEM files) and a random secret for stateless resets. */
struct fa_h3_ctx *fa_h3_ctx_new(const char *cert_file, const char *key_file,
				struct fa_error *err);
/* Reads the files again for new connections; on failure the old ones stay. */
enum fa_err fa_h3_ctx_reload(struct fa_h3_ctx *ctx, struct fa_error *err);
void fa_h3_ctx_free(struct fa_h3_ctx *ctx);

/*
 * The destination connection ID of a datagram, so the caller can find its
 * connection.  0: found; 1: a long header of a version we do not speak
 * (the caller may answer fa_h3_version_negotiation()); -1: not QUIC.
 */
int fa_h3_packet_dcid(const uint8_t *pkt, size_t n, const uint8_t **dcid, size_t *dcid_len);

/* A Version Negotiation packet answering pkt into out; its length, or 0. */
size_t fa_h3_version_negotiation(const uint8_t *pkt, size_t n, uint8_t *out, size_t cap);

/*
 * A Stateless Reset answering a short-header datagram whose connection
 * is unknown here, into out: its length, or 0 when none is due (a long
 * header, a DCID not of our length, a datagram too small to answer with
 * a smaller one).  The token comes from ctx's secret and the DCID, as
 * the one the connection announced did.
 */
size_t fa_h3_stateless_reset(struct fa_h3_ctx *ctx, const uint8_t *pkt, size_t n,
			     const uint8_t *dcid, size_t dcid_len, uint8_t *out, size_t cap);

/*
 * A new connection from a client's first Initial packet, which it reads.
 * NULL when the packet starts none: then *reply_len bytes of reply (at
 * least FA_H3_MAX_PACKET of room) are to be sent back to path's remote, a
 * Retry (lim->retry and no token) or a CONNECTION_CLOSE (a token that
 * does not verify), or none (err says why; drop it).  Only a Retry token
 * that verified is ever given to ngtcp2; others are ignored.
 */
struct fa_h3 *fa_h3_accept(struct fa_h3_ctx *ctx, const struct fa_h3_limits *lim,
			   const struct fa_h3_ops *ops, void *user, const struct fa_h3_path *path,
			   const uint8_t *pkt, size_t n, uint64_t now, uint8_t *reply,
			   size_t *reply_len, struct fa_error *err);

/* Feeds one datagram; false when the connection is over (send, then free). */
bool fa_h3_recv(struct fa_h3 *q, const struct fa_h3_path *path, const uint8_t *pkt,
		size_t n, uint64_t now);

/*
 * The next datagram to send into out (at least FA_H3_MAX_PACKET bytes),
 * and where to (path); 0 when there is nothing more for now.
 */
size_t fa_h3_send(struct fa_h3 *q, uint8_t *out, size_t cap, struct fa_h3_path *path,
		  uint64_t now);

/* When fa_h3_timeout() is due (ns, on the clock of now); UINT64_MAX: never. */
uint64_t fa_h3_expiry(struct fa_h3 *q);
/* Timers: loss recovery, idle.  False when the connection is over. */
bool fa_h3_timeout(struct fa_h3 *q, uint64_t now);

/* True when the connection is over and nothing is left to send: free it. */
bool fa_h3_done(const struct fa_h3 *q);

/* True when dcid is one of the connection's IDs. */
bool fa_h3_owns(struct fa_h3 *q, const uint8_t *dcid, size_t len);

/* Closes now with NO_ERROR: fa_h3_send() gives the CONNECTION_CLOSE next. */
void fa_h3_close(struct fa_h3 *q, uint64_t now);

/* Server shutdown: GOAWAY; open streams finish, new ones are refused. */
void fa_h3_shutdown(struct fa_h3 *q);
/* Open request streams. */
int fa_h3_streams(const struct fa_h3 *q);

/* What on_drain and on_close get back as user for this stream. */
void fa_h3_stream_set_user(struct fa_h3_stream *st, void *user);

/* The response head: names are lowered; body false: the stream ends with it. */
void fa_h3_respond(struct fa_h3 *q, struct fa_h3_stream *st, int status,
		   const struct fa_h1_header *h, int n, bool body);
/* Body bytes, copied. */
void fa_h3_write(struct fa_h3 *q, struct fa_h3_stream *st, const void *data, size_t n);
/* The body is whole. */
void fa_h3_end(struct fa_h3 *q, struct fa_h3_stream *st);
/* The body is cut off: RESET_STREAM (H3_INTERNAL_ERROR). */
void fa_h3_reset(struct fa_h3 *q, struct fa_h3_stream *st);
/* True while the stream holds stream_buffer unacknowledged bytes or more. */
bool fa_h3_stream_full(const struct fa_h3_stream *st);
size_t fa_h3_buffered(const struct fa_h3_stream *st);

/* Frees the connection and its streams; on_close is not called. */
void fa_h3_free(struct fa_h3 *q);

#endif
