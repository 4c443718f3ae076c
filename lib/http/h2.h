/*
 * h2: the server side of HTTP/2 (RFC 9113) over nghttp2, without I/O.
 *
 * The HTTP server feeds the bytes it reads to fa_h2_recv() and sends what
 * fa_h2_send() appends to its output buffer.  In between, nghttp2 does
 * the framing, HPACK and flow control, and this module turns streams into
 * requests and responses:
 *
 *	h2 = fa_h2_new(&limits, &ops, conn, &err);
 *	on input:	fa_h2_recv(h2, bytes, n, &err);   (ops.on_request fires)
 *	a response:	fa_h2_respond(h2, st, 200, hdrs, n, true);
 *			fa_h2_write(h2, st, body, len); ... fa_h2_end(h2, st);
 *	on output:	fa_h2_send(h2, &out);  then write out to the socket
 *	the end:	when neither fa_h2_want_read() nor fa_h2_want_write()
 *
 * A request reaches ops.on_request once its headers and body are complete
 * (END_STREAM); an extended CONNECT (RFC 8441, ":protocol", which the
 * server's SETTINGS_ENABLE_CONNECT_PROTOCOL allows) reaches it once its
 * headers are, and its DATA then goes to ops.on_data as it comes.  The response body is queued per stream and handed to
 * nghttp2 as its flow-control windows allow, so a stream whose client
 * reads slowly holds only its own queue: fa_h2_buffered() lets the
 * producer pause, and ops.on_drain says when to go on.  ops.on_close
 * reports a stream that is gone (done, or reset by the client); after it
 * the stream pointer is invalid.
 *
 * Abuse is bounded by nghttp2 options and limits checked here: stream
 * resets are rate-limited (CVE-2023-44487), CONTINUATION frames per header
 * block are capped (CVE-2024-28182), SETTINGS entries and queued
 * SETTINGS/PING acknowledgements are capped (floods), and decoded header
 * lists over max_header_list bytes end the connection (HPACK bombs).  In
 * each case nghttp2 queues GOAWAY; fa_h2_recv() fails, the server sends
 * what is queued and closes.
 */
#ifndef FA_H2_H
#define FA_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"

/* The client connection preface: a cleartext connection that starts
   with it speaks HTTP/2 by prior knowledge. */
#define FA_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define FA_H2_PREFACE_LEN 24

struct fa_h2;
struct fa_h2_stream;

struct fa_h2_limits {
	uint32_t max_streams;           /* SETTINGS_MAX_CONCURRENT_STREAMS */
	uint32_t window;                /* SETTINGS_INITIAL_WINDOW_SIZE */
	uint32_t max_frame;             /* SETTINGS_MAX_FRAME_SIZE */
	uint32_t max_header_list;       /* SETTINGS_MAX_HEADER_LIST_SIZE */
	size_t max_body;                /* request bodies over it get a 413 */
	size_t stream_buffer;           /* queued response bytes per stream */
};

/* A complete request; its pointers are valid until the stream closes. */
struct fa_h2_request {
	const char *method, *path, *query, *authority;
	size_t method_len, path_len, query_len, authority_len;
	const struct fa_h1_header *headers;     /* names in lower case */
	int nheaders;
	const char *body;
	size_t body_len;
	int error;              /* not to be served: answer this status (400, 413, 431) */
	const char *protocol;   /* an extended CONNECT's ":protocol", else NULL */
	size_t protocol_len;
};

struct fa_h2_ops {
	void (*on_request)(void *ctx, struct fa_h2_stream *st, const struct fa_h2_request *r);
	void (*on_drain)(void *ctx, struct fa_h2_stream *st, void *user);
	void (*on_close)(void *ctx, struct fa_h2_stream *st, void *user);
	/* An extended CONNECT's DATA, as it comes (flow control takes it as read). */
	void (*on_data)(void *ctx, struct fa_h2_stream *st, void *user, const char *data,
			size_t n);
};

/* The defaults: 100 streams, 64 KiB windows, 16 KiB frames, 32 KiB of headers. */
void fa_h2_limits_init(struct fa_h2_limits *lim);

/* A server session; ctx goes to every op.  NULL with err set on failure. */
struct fa_h2 *fa_h2_new(const struct fa_h2_limits *lim, const struct fa_h2_ops *ops, void *ctx,
			struct fa_error *err);

/*
 * Starts the session after an HTTP/1.1 "Upgrade: h2c": settings is the
 * HTTP2-Settings header's value (base64url), and the request that carried
 * it becomes stream 1, whose stream is returned for the response.
 */
struct fa_h2_stream *fa_h2_upgrade(struct fa_h2 *h2, const char *settings, size_t len,
				   bool head, struct fa_error *err);

/* Dispatches stream 1 of an upgrade: the HTTP/1.1 request r, copied. */
void fa_h2_upgraded_request(struct fa_h2_stream *st, const struct fa_h2_request *r);

/* Processes input; FA_EINPUT when the peer broke the protocol (GOAWAY is queued). */
enum fa_err fa_h2_recv(struct fa_h2 *h2, const void *data, size_t n, struct fa_error *err);

/*
 * Appends frames to out until out holds about limit bytes or nothing is
 * ready; runs the drain callbacks of streams whose queues emptied.
 */
enum fa_err fa_h2_send(struct fa_h2 *h2, struct fa_buf *out, size_t limit, struct fa_error *err);

bool fa_h2_want_read(const struct fa_h2 *h2);
bool fa_h2_want_write(const struct fa_h2 *h2);
/* Streams open (requests being received or answered). */
int fa_h2_streams(const struct fa_h2 *h2);
/* Streams whose request is still arriving (for the header/body timeout). */
int fa_h2_incomplete(const struct fa_h2 *h2);

/* The application's pointer for a stream (its request). */
void fa_h2_stream_set_user(struct fa_h2_stream *st, void *user);

/*
 * Starts a response.  Header names are sent in lower case; Connection and
 * other hop-by-hop fields are dropped.  With body false the stream ends
 * with the headers.
 */
enum fa_err fa_h2_respond(struct fa_h2 *h2, struct fa_h2_stream *st, int status,
			  const struct fa_h1_header *h, int n, bool body);
/* Queues body bytes; they go out as the stream's window allows. */
void fa_h2_write(struct fa_h2 *h2, struct fa_h2_stream *st, const void *data, size_t n);
/* The body is complete. */
void fa_h2_end(struct fa_h2 *h2, struct fa_h2_stream *st);
/* Abandons the stream (RST_STREAM INTERNAL_ERROR): the client sees it cut off. */
void fa_h2_reset(struct fa_h2 *h2, struct fa_h2_stream *st);
/* Response bytes queued on the stream and not yet framed. */
size_t fa_h2_buffered(const struct fa_h2_stream *st);

/* True while the stream's queue is over stream_buffer: the producer should pause. */
bool fa_h2_stream_full(const struct fa_h2_stream *st);

/* Graceful shutdown: GOAWAY naming the last stream taken; open ones finish. */
void fa_h2_shutdown(struct fa_h2 *h2);
/* An error of the connection's own (a timeout): GOAWAY with code, then close. */
void fa_h2_terminate(struct fa_h2 *h2, uint32_t code);

/* Frees the session and every stream, without calling on_close. */
void fa_h2_free(struct fa_h2 *h2);

#endif
