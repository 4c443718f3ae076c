/*
 * h2client: the client side of HTTP/2 (RFC 9113) over nghttp2, without
 * I/O, for hclient.  The caller feeds the bytes it reads to
 * fa_h2client_recv() and writes what fa_h2client_send() appends:
 *
 *	h2 = fa_h2client_new(&opts, &ops, me, &err);    (queues the preface)
 *	id = fa_h2client_submit(h2, &req, stream_ctx, &err);
 *	on input:  fa_h2client_recv(h2, bytes, n, &err);  (ops fire)
 *	on output: fa_h2client_send(h2, &out, limit, &err); write out
 *	fa_h2client_free(h2);
 *
 * Each stream reports its final response head once (ops.on_head; 1xx
 * heads and trailers are skipped), its body as it arrives (ops.on_data,
 * straight from nghttp2's buffer, no copy), and then its end exactly once
 * (ops.on_close) with 0 when the response was whole or the HTTP/2 error
 * code that cut it off.  A stream the server never processed (refused,
 * or above GOAWAY's last stream id, or never sent after GOAWAY) closes
 * with NGHTTP2_REFUSED_STREAM (7), which is safe to send again elsewhere.
 *
 * Header field names and values arrive in one buffer of the session,
 * reused for every head, so receiving allocates nothing per field; what
 * ops.on_head gets is valid during the call only.  A head of more than
 * FA_H1_MAX_HEADERS fields or max_header_list bytes resets its stream,
 * which closes with FA_H2CLIENT_HEAD_TOO_BIG.
 *
 * The ops may call fa_h2client_submit() and fa_h2client_cancel(), not
 * fa_h2client_free(): to stop, an op returns nonzero and the current
 * fa_h2client_recv() ends at once with FA_EINTR.
 */
#ifndef FA_H2CLIENT_H
#define FA_H2CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"

/* nghttp2's code for a stream that was not processed: retry is safe. */
#define FA_H2_REFUSED_STREAM 7
/* Not HTTP/2's: a response head over our limits (fields or bytes); the
   stream was reset. */
#define FA_H2CLIENT_HEAD_TOO_BIG 0x10000

struct fa_h2client;

struct fa_h2client_opts {
	uint32_t window;                /* each stream's receive window; 0: 8 MiB */
	uint32_t max_header_list;       /* a response head's limit; 0: 64 KiB */
};

struct fa_h2client_req {
	const char *method, *scheme, *authority, *path;
	/* names any case (sent lowered); hop-by-hop ones are dropped */
	const struct fa_h1_header *headers;
	int nheaders;
	const char *user_agent;         /* added unless headers hold one; NULL: none */
	const char *body;               /* read as the window allows: the caller */
	size_t body_len;                /* keeps it until the stream closes */
	bool content_length;            /* send content-length even when 0 */
};

struct fa_h2client_ops {
	/* The final head: status and fields, names lower case.  Nonzero stops. */
	int (*on_head)(void *ctx, void *stream, int status, const struct fa_h1_header *h, int n);
	/* Body bytes.  Nonzero stops. */
	int (*on_data)(void *ctx, void *stream, const char *p, size_t n);
	/* The stream's end: code 0 (whole) or an HTTP/2 error code.  Nonzero stops. */
	int (*on_close)(void *ctx, void *stream, uint32_t code);
};

/* The most fields fa_h2client_fields() writes. */
#define FA_H2CLIENT_MAX_FIELDS (FA_H1_MAX_HEADERS + 6)

/*
 * r's fields as HTTP/2 and HTTP/3 send them into out (room for
 * FA_H2CLIENT_MAX_FIELDS): the pseudo-fields, user-agent, content-length
 * (its digits in clen), then the caller's with names lowered into names
 * and hop-by-hop ones left out.  The count, or -1 for too many fields or
 * no memory.  out points into r, names and clen.
 */
int fa_h2client_fields(const struct fa_h2client_req *r, struct fa_buf *names,
		       char clen[24], struct fa_h1_header *out);

/* A client session with its preface and SETTINGS queued; NULL with err. */
struct fa_h2client *fa_h2client_new(const struct fa_h2client_opts *o,
				    const struct fa_h2client_ops *ops, void *ctx,
				    struct fa_error *err);

/*
 * Queues a request; stream is the caller's pointer for the ops.  The
 * stream id (> 0), or 0 with FA_EUSAGE (too many fields) or FA_EWORK
 * (the session takes no new streams: GOAWAY came, or ids ran out).
 */
int32_t fa_h2client_submit(struct fa_h2client *h2, const struct fa_h2client_req *r, void *stream,
			   struct fa_error *err);

/*
 * Processes input; FA_EINPUT when nghttp2 refuses it outright, FA_EINTR
 * when an op asked to stop.  Most protocol errors of the server's only
 * queue a GOAWAY: once fa_h2client_send() has put that out,
 * fa_h2client_error() says so.
 */
enum fa_err fa_h2client_recv(struct fa_h2client *h2, const void *data, size_t n,
			     struct fa_error *err);

/* Appends frames to out until it holds about limit bytes or nothing is ready. */
enum fa_err fa_h2client_send(struct fa_h2client *h2, struct fa_buf *out, size_t limit,
			     struct fa_error *err);

/* Resets a stream (RST_STREAM CANCEL); its on_close follows with that code. */
void fa_h2client_cancel(struct fa_h2client *h2, int32_t id);

bool fa_h2client_want_read(const struct fa_h2client *h2);
bool fa_h2client_want_write(const struct fa_h2client *h2);

/* Streams the server allows open at once (its SETTINGS; 100 before they came). */
uint32_t fa_h2client_max_streams(const struct fa_h2client *h2);

/* True once GOAWAY came (or the session ended): submit nothing more.
   *last_id, if not NULL, gets the last stream the server took. */
bool fa_h2client_goaway(const struct fa_h2client *h2, int32_t *last_id, uint32_t *code);

/* Why the session ended on an error of the server's (we sent GOAWAY with
   an error code), e.g. "Remote peer returned unexpected data ...", or NULL. */
const char *fa_h2client_error(const struct fa_h2client *h2);

/* The name of an HTTP/2 error code: "REFUSED_STREAM", "PROTOCOL_ERROR",
   or of FA_H2CLIENT_HEAD_TOO_BIG. */
const char *fa_h2client_code_name(uint32_t code);

/* Frees the session without calling any op.  NULL is ignored. */
void fa_h2client_free(struct fa_h2client *h2);

#endif
