/*
 * h3client: the client side of HTTP/3 (RFC 9114) over QUIC (ngtcp2 0.12
 * with its GnuTLS backend, nghttp3 0.8), without I/O, for hclient.  The
 * caller owns the UDP socket, as h3.h's caller does on the server side:
 *
 *	tls = fa_h3client_tls_new(ca_file, insecure, &err);     (once a run)
 *	h3 = fa_h3client_new(tls, "localhost", &path, &opts, &ops, me, now, &err);
 *	id = fa_h3client_submit(h3, &req, stream_ctx, &err);  (once ready)
 *	on a datagram:  fa_h3client_recv(h3, &path, pkt, n, now);  (ops fire)
 *	to send:        while ((n = fa_h3client_send(h3, buf, cap, now)) > 0) send
 *	at expiry:      fa_h3client_timeout(h3, now);
 *	fa_h3client_free(h3);
 *
 * Requests are described as for h2client (struct fa_h2client_req), and
 * the ops are the same three: each stream reports its final head once,
 * its body as it comes (straight from nghttp3, no copy), then its end
 * once: 0 when whole, FA_H2_REFUSED_STREAM when the server did not
 * process it (H3_REQUEST_REJECTED, or above its GOAWAY), else the HTTP/3
 * or QUIC code that cut it off.
 *
 * Streams open only within the server's MAX_STREAMS:
 * fa_h3client_streams_left() says how many more may start now; it grows
 * as the server credits closed streams.  Nothing is sent before the
 * handshake: no 0-RTT.
 *
 * The certificate is verified by GnuTLS against the CAs of the fa_h3client_tls
 * and must name the host (DNS or IP address), unless it was made insecure.
 * When the connection ends, fa_h3client_error() says why in words: the
 * certificate refused, the handshake timed out, the server's
 * CONNECTION_CLOSE and its code, the idle timeout.
 *
 * The ops may call fa_h3client_submit() and fa_h3client_cancel(), not
 * fa_h3client_free(): an op that returns nonzero stops the connection's
 * processing (fa_h3client_recv returns false), and the caller then frees
 * it.  Times are nanoseconds on CLOCK_MONOTONIC.
 */
#ifndef FA_H3CLIENT_H
#define FA_H3CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "http/h2client.h"
#include "http/h3.h"

struct fa_h3client;
struct fa_h3client_tls;

struct fa_h3client_opts {
	uint32_t window;                /* each stream's receive window; 0: 1 MiB */
	uint64_t max_field_section;     /* a response head's limit; 0: 64 KiB */
	int handshake_timeout_ms;       /* 0: 10000 */
	int idle_timeout_ms;            /* 0: 30000 */
	size_t qpack_encoder_table;     /* QPACK dynamic table our requests may
					   use, within the server's; 0: none */
};

/* CAs for verifying servers: ca_file's (PEM), or the system's when NULL;
   none with insecure.  NULL with FA_EUSAGE naming the file that did not load. */
struct fa_h3client_tls *fa_h3client_tls_new(const char *ca_file, bool insecure,
					    struct fa_error *err);
void fa_h3client_tls_free(struct fa_h3client_tls *tls);

/*
 * A connection to host (for SNI and the certificate check) over path
 * (the caller's socket's local address and the server's); its Initial
 * waits in fa_h3client_send().  NULL with err.  tls is shared, the
 * caller keeps it until the connection is freed.
 */
struct fa_h3client *fa_h3client_new(struct fa_h3client_tls *tls, const char *host,
				    const struct fa_h3_path *path,
				    const struct fa_h3client_opts *o,
				    const struct fa_h2client_ops *ops, void *ctx, uint64_t now,
				    struct fa_error *err);

/* True once the handshake is done and requests may go. */
bool fa_h3client_ready(const struct fa_h3client *h3);

/* Requests that may start now: the server's stream credit left, 0 before
   the handshake or after GOAWAY. */
uint64_t fa_h3client_streams_left(const struct fa_h3client *h3);

/* Opens a stream for r; its id (>= 0), or -1 with err: FA_EWORK when no
   stream may open now, FA_EUSAGE for a request that cannot be sent. */
int64_t fa_h3client_submit(struct fa_h3client *h3, const struct fa_h2client_req *r,
			   void *stream, struct fa_error *err);

/* Resets a stream (H3_REQUEST_CANCELLED); its on_close follows. */
void fa_h3client_cancel(struct fa_h3client *h3, int64_t id);

/* One datagram in; false when the connection is over (send what is left,
   then free it) or an op asked to stop. */
bool fa_h3client_recv(struct fa_h3client *h3, const struct fa_h3_path *path,
		      const uint8_t *pkt, size_t n, uint64_t now);

/* The next datagram to send, into out (FA_H3_MAX_PACKET bytes or more);
   0 when nothing more is due now. */
size_t fa_h3client_send(struct fa_h3client *h3, uint8_t *out, size_t cap, uint64_t now);

/* When fa_h3client_timeout() is due; UINT64_MAX: never. */
uint64_t fa_h3client_expiry(const struct fa_h3client *h3);
/* Loss recovery and the idle and handshake timeouts; false when over. */
bool fa_h3client_timeout(struct fa_h3client *h3, uint64_t now);

/* Closes with H3_NO_ERROR: fa_h3client_send() gives the CONNECTION_CLOSE next. */
void fa_h3client_close(struct fa_h3client *h3, uint64_t now);

/* True when the connection is over. */
bool fa_h3client_done(const struct fa_h3client *h3);

/* Why the connection ended, or NULL while it has not. */
const char *fa_h3client_error(const struct fa_h3client *h3);

/* Frees the connection without calling any op.  NULL is ignored. */
void fa_h3client_free(struct fa_h3client *h3);

#endif
