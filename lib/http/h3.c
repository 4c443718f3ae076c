/*
 * h3: HTTP/3 server connections (see h3.h).  ngtcp2 does QUIC, its GnuTLS
 * backend the handshake, nghttp3 the HTTP/3 framing and QPACK; this file
 * joins them and keeps each request stream's bytes.
 */
#include "http/h3.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "core/buf.h"
#include "http/quic.h"

#define CHUNK 16384
#define MAX_FIELDS 100

/* A certificate and key as GnuTLS holds them, shared by the context and
   the connections that started with them: GnuTLS does not count its
   credentials, so this does, and the last one out frees them. */
struct cred {
	gnutls_certificate_credentials_t g;
	int refs;                       /* atomic */
};

struct fa_h3_ctx {
	pthread_mutex_t lock;           /* cur, against a reload */
	struct cred *cur;
	char *cert_file, *key_file;
	uint8_t secret[32];             /* stateless reset tokens */
};

/* Response bytes that never move while QUIC may still resend them. */
struct chunk {
	struct chunk *next;
	size_t len;
	uint8_t data[CHUNK];
};

struct fa_h3_stream {
	struct fa_h3 *q;
	int64_t id;
	void *user;
	/* the request */
	struct fa_buf fields;           /* name\0value\0 pairs */
	int nfields;
	size_t method, path, authority; /* offsets of the pseudo-fields' values + 1; 0: absent */
	struct fa_buf body;
	int error;
	bool requested;                 /* on_request was called */
	/* the response */
	struct chunk *head, *tail;
	size_t acked_off;               /* acknowledged bytes in head */
	struct chunk *given;            /* where nghttp3 reads next */
	size_t given_off;
	size_t buffered;                /* written and not yet acknowledged */
	bool responded, ended, has_body, was_full;
	bool reset_counted;             /* by too_many_resets */
	struct fa_h3_stream *prev, *next;
};

struct fa_h3 {
	struct fa_quic quic;            /* first: ngtcp2's and nghttp3's user data */
	struct fa_h3_ctx *ctx;
	struct fa_h3_limits lim;
	const struct fa_h3_ops *ops;
	void *user;
	gnutls_session_t tls;
	struct cred *cred;              /* tls's certificate */
	ngtcp2_crypto_conn_ref ref;
	ngtcp2_cid scid, odcid;
	struct fa_h3_path path;         /* for the close packet */
	uint8_t closebuf[FA_H3_MAX_PACKET];
	size_t closelen;
	bool closebuf_due;              /* send the close packet (again) */
	bool closing, draining, dead;
	uint64_t close_until;
	struct fa_h3_stream *streams;
	int nstreams;
	uint64_t now;                   /* of the datagram being read */
	uint64_t resets_since;          /* a second of stream resets, from then */
	uint32_t resets;
};

void fa_h3_limits_init(struct fa_h3_limits *lim)
{
	*lim = (struct fa_h3_limits){ .max_streams = 100, .max_field_section = 16384,
				      .qpack_table = 4096, .max_body = 1 << 20,
				      .stream_buffer = 256 * 1024, .window = 256 * 1024,
				      .idle_timeout_ms = 30000, .handshake_timeout_ms = 10000 };
}

/* ---- the certificate ---- */

static enum fa_err load_cred(struct fa_h3_ctx *ctx, struct cred **out, struct fa_error *err)
{
	struct cred *c = calloc(1, sizeof(*c));
	int rc;

	if (!c || (rc = gnutls_certificate_allocate_credentials(&c->g)) != 0) {
		free(c);
		return fa_error_set(err, FA_ENOMEM, "HTTP/3 credentials: out of memory");
	}
	if ((rc = gnutls_certificate_set_x509_key_file(c->g, ctx->cert_file, ctx->key_file,
						       GNUTLS_X509_FMT_PEM)) < 0) {
		gnutls_certificate_free_credentials(c->g);
		free(c);
		return fa_error_set(err, FA_EUSAGE, "cannot load '%s' and '%s' for HTTP/3: %s",
				    ctx->cert_file, ctx->key_file, gnutls_strerror(rc));
	}
	c->refs = 1;
	*out = c;
	return FA_OK;
}

/* The current credentials, for a new connection: one more holder. */
static struct cred *cred_get(struct fa_h3_ctx *ctx)
{
	struct cred *c;

	pthread_mutex_lock(&ctx->lock);
	c = ctx->cur;
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ctx->lock);
	return c;
}

static void cred_put(struct cred *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		gnutls_certificate_free_credentials(c->g);
		free(c);
	}
}

struct fa_h3_ctx *fa_h3_ctx_new(const char *cert_file, const char *key_file,
				struct fa_error *err)
{
	struct fa_h3_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx)
		pthread_mutex_init(&ctx->lock, NULL);
	if (!ctx || !(ctx->cert_file = strdup(cert_file)) ||
	    !(ctx->key_file = strdup(key_file ? key_file : cert_file))) {
		fa_h3_ctx_free(ctx);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	if (getrandom(ctx->secret, sizeof(ctx->secret), 0) != (ssize_t)sizeof(ctx->secret) ||
	    load_cred(ctx, &ctx->cur, err)) {
		if (!err->code)
			fa_error_set(err, FA_EWORK, "no random bytes for HTTP/3");
		fa_h3_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * New connections get the new credentials; open ones keep theirs until
 * they end (cred_put).  Any thread, while workers run.
 */
enum fa_err fa_h3_ctx_reload(struct fa_h3_ctx *ctx, struct fa_error *err)
{
	struct cred *c, *old;

	if (load_cred(ctx, &c, err))
		return err->code;
	pthread_mutex_lock(&ctx->lock);
	old = ctx->cur;
	ctx->cur = c;
	pthread_mutex_unlock(&ctx->lock);
	cred_put(old);
	return FA_OK;
}

void fa_h3_ctx_free(struct fa_h3_ctx *ctx)
{
	if (!ctx)
		return;
	cred_put(ctx->cur);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->cert_file);
	free(ctx->key_file);
	free(ctx);
}

/* ---- packets before a connection ---- */

int fa_h3_packet_dcid(const uint8_t *pkt, size_t n, const uint8_t **dcid, size_t *dcid_len)
{
	ngtcp2_version_cid vc;
	int rc;

	if (!n)
		return -1;      /* ngtcp2 asserts on an empty datagram */
	rc = ngtcp2_pkt_decode_version_cid(&vc, pkt, n, FA_H3_CIDLEN);
	if (rc == NGTCP2_ERR_VERSION_NEGOTIATION)
		return 1;
	if (rc)
		return -1;
	*dcid = vc.dcid;
	*dcid_len = vc.dcidlen;
	return 0;
}

size_t fa_h3_version_negotiation(const uint8_t *pkt, size_t n, uint8_t *out, size_t cap)
{
	ngtcp2_version_cid vc;
	uint32_t sv[] = { NGTCP2_PROTO_VER_V1 };
	uint8_t unused;
	ngtcp2_ssize w;

	if (!n || ngtcp2_pkt_decode_version_cid(&vc, pkt, n, FA_H3_CIDLEN) !=
	    NGTCP2_ERR_VERSION_NEGOTIATION || getrandom(&unused, 1, 0) != 1)
		return 0;
	w = ngtcp2_pkt_write_version_negotiation(out, cap, unused, vc.scid, vc.scidlen,
						 vc.dcid, vc.dcidlen, sv, 1);
	return w > 0 ? (size_t)w : 0;
}

size_t fa_h3_stateless_reset(struct fa_h3_ctx *ctx, const uint8_t *pkt, size_t n,
			     const uint8_t *dcid, size_t dcid_len, uint8_t *out, size_t cap)
{
	uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], unpredictable[64];
	size_t len;
	ngtcp2_cid cid;
	ngtcp2_ssize w;

	/*
	 * Smaller than what came, so two endpoints cannot loop; nothing for
	 * datagrams under 41 bytes, the least a short-header packet with a
	 * 20-byte DCID is (RFC 9000, 10.3): no probing with tiny ones.
	 */
	if (!n || (pkt[0] & 0x80) || dcid_len != FA_H3_CIDLEN || n < 41)
		return 0;
	len = n - 1 - NGTCP2_STATELESS_RESET_TOKENLEN - 1;
	if (len > sizeof(unpredictable))
		len = sizeof(unpredictable);
	ngtcp2_cid_init(&cid, dcid, dcid_len);
	if (ngtcp2_crypto_generate_stateless_reset_token(token, ctx->secret, sizeof(ctx->secret),
							 &cid) ||
	    getrandom(unpredictable, len, 0) != (ssize_t)len)
		return 0;
	w = ngtcp2_pkt_write_stateless_reset(out, cap, token, unpredictable, len);
	return w > 0 ? (size_t)w : 0;
}

/* ---- streams ---- */

static struct fa_h3_stream *stream_new(struct fa_h3 *q, int64_t id)
{
	struct fa_h3_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->q = q;
	st->id = id;
	fa_buf_init(&st->fields, (size_t)q->lim.max_field_section + 1024);
	fa_buf_init(&st->body, q->lim.max_body);
	st->next = q->streams;
	if (q->streams)
		q->streams->prev = st;
	q->streams = st;
	q->nstreams++;
	return st;
}

static void stream_free(struct fa_h3_stream *st)
{
	struct fa_h3 *q = st->q;

	if (st->prev)
		st->prev->next = st->next;
	else
		q->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	q->nstreams--;
	while (st->head) {
		struct chunk *c = st->head;

		st->head = c->next;
		free(c);
	}
	fa_buf_release(&st->fields);
	fa_buf_release(&st->body);
	free(st);
}

/*
 * Acknowledged bytes leave the front of the chunk list.  A chunk that can
 * still grow (the tail) or that nghttp3 still reads from stays.
 */
static void stream_acked(struct fa_h3_stream *st, uint64_t n)
{
	st->buffered -= n < st->buffered ? (size_t)n : st->buffered;
	while (st->head) {
		struct chunk *c = st->head;
		size_t left = c->len - st->acked_off;

		if (n < left) {
			st->acked_off += (size_t)n;
			return;
		}
		n -= left;
		st->acked_off = c->len;
		if (c->len < CHUNK || c == st->given)
			return;
		st->head = c->next;
		st->acked_off = 0;
		free(c);
	}
	st->tail = NULL;
}

/* ---- nghttp3 callbacks ---- */

static int h_acked(nghttp3_conn *c, int64_t id, uint64_t n, void *u, void *su)
{
	struct fa_h3 *q = u;
	struct fa_h3_stream *st = su;

	if (!st)
		return 0;
	stream_acked(st, n);
	if (st->was_full && st->buffered < q->lim.stream_buffer / 4 && st->user && !st->ended) {
		st->was_full = false;
		q->ops->on_drain(q->user, st, st->user);
	}
	return 0;
}

/* The stream is closed both ways: its credit goes back to the client. */
static int h_stream_close(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	struct fa_h3 *q = u;
	struct fa_h3_stream *st = su;

	if (ngtcp2_is_bidi_stream(id))
		ngtcp2_conn_extend_max_streams_bidi(q->quic.conn, 1);
	if (!st)
		return 0;
	if (st->user)
		q->ops->on_close(q->user, st, st->user);
	stream_free(st);
	return 0;
}

static int h_recv_data(nghttp3_conn *c, int64_t id, const uint8_t *data, size_t n, void *u,
		       void *su)
{
	struct fa_h3_stream *st = su;

	if (st && !st->error && fa_buf_append(&st->body, data, n))
		st->error = 413;
	fa_quic_consume(u, id, n);
	return 0;
}

static int h_begin_headers(nghttp3_conn *c, int64_t id, void *u, void *su)
{
	struct fa_h3 *q = u;
	struct fa_h3_stream *st = su;

	if (st)
		return 0;               /* trailers would come here; not kept */
	if (!(st = stream_new(q, id)))
		return NGHTTP3_ERR_CALLBACK_FAILURE;
	nghttp3_conn_set_stream_user_data(c, id, st);
	return 0;
}

static int h_header(nghttp3_conn *c, int64_t id, int32_t token, nghttp3_rcbuf *name,
		    nghttp3_rcbuf *value, uint8_t flags, void *u, void *su)
{
	struct fa_h3_stream *st = su;
	nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
	size_t at;

	if (!st || st->error)
		return 0;
	if (st->nfields >= MAX_FIELDS) {
		st->error = 431;
		return 0;
	}
	at = st->fields.len + n.len + 1;
	if (fa_buf_append(&st->fields, n.base, n.len) || fa_buf_append(&st->fields, "", 1) ||
	    fa_buf_append(&st->fields, v.base, v.len) || fa_buf_append(&st->fields, "", 1)) {
		st->error = 431;
		return 0;
	}
	if (token == NGHTTP3_QPACK_TOKEN__METHOD)
		st->method = at + 1;
	else if (token == NGHTTP3_QPACK_TOKEN__PATH)
		st->path = at + 1;
	else if (token == NGHTTP3_QPACK_TOKEN__AUTHORITY)
		st->authority = at + 1;
	st->nfields++;
	return 0;
}

/* The request is whole: its fields as struct fa_h1_header, then the application. */
static void deliver(struct fa_h3 *q, struct fa_h3_stream *st)
{
	struct fa_h1_header h[MAX_FIELDS + 1];
	struct fa_h3_request r = { .headers = h };
	const char *p = st->fields.data, *end = p + st->fields.len;
	const char *q_mark;

	if (st->requested)
		return;
	st->requested = true;
	while (p && p < end) {
		const char *v = p + strlen(p) + 1;

		if (*p != ':')
			h[r.nheaders++] = (struct fa_h1_header){ p, v, strlen(p), strlen(v) };
		p = v + strlen(v) + 1;
	}
	if (st->authority)
		h[r.nheaders++] = (struct fa_h1_header){ "host", st->fields.data + st->authority - 1,
							 4, strlen(st->fields.data + st->authority - 1) };
	if (!st->method || !st->path)
		st->error = st->error ? st->error : 400;
	r.method = st->method ? st->fields.data + st->method - 1 : "GET";
	r.method_len = strlen(r.method);
	r.path = st->path ? st->fields.data + st->path - 1 : "/";
	r.path_len = strlen(r.path);
	if ((q_mark = memchr(r.path, '?', r.path_len))) {
		r.query = q_mark + 1;
		r.query_len = r.path_len - (size_t)(r.query - r.path);
		r.path_len = (size_t)(q_mark - r.path);
	}
	r.body = st->body.data ? st->body.data : "";
	r.body_len = st->body.len;
	r.error = st->error;
	q->ops->on_request(q->user, st, &r);
}

static int h_end_stream(nghttp3_conn *c, int64_t id, void *u, void *su)
{
	if (su)
		deliver(u, su);
	return 0;
}

static const nghttp3_callbacks http_callbacks = {
	.acked_stream_data = h_acked,
	.stream_close = h_stream_close,
	.recv_data = h_recv_data,
	.deferred_consume = fa_quic_deferred,
	.begin_headers = h_begin_headers,
	.recv_header = h_header,
	.stop_sending = fa_quic_stop_sending,
	.end_stream = h_end_stream,
	.reset_stream = fa_quic_reset_stream,
};

/* Once 1-RTT keys are there: nghttp3 and its three unidirectional streams. */
static int setup_http(struct fa_h3 *q)
{
	nghttp3_settings s;

	if (q->quic.http)
		return 0;
	if (ngtcp2_conn_get_max_local_streams_uni(q->quic.conn) < 3)
		return -1;
	nghttp3_settings_default(&s);
	s.max_field_section_size = q->lim.max_field_section;
	s.qpack_max_dtable_capacity = q->lim.qpack_table;
	s.qpack_blocked_streams = 16;
	if (nghttp3_conn_server_new(&q->quic.http, &http_callbacks, &s, NULL, q))
		return -1;
	nghttp3_conn_set_max_client_streams_bidi(q->quic.http, q->lim.max_streams);
	return fa_quic_open_streams(&q->quic);
}

/* ---- ngtcp2 callbacks ---- */

/*
 * Streams opened and reset at once cost the server work and the client
 * nothing ("rapid reset"): more than twice the stream limit in a second
 * closes the connection with H3_EXCESSIVE_LOAD.  A client that cancels a
 * request sends both RESET_STREAM and STOP_SENDING: a stream of ours
 * counts once.
 */
static bool too_many_resets(struct fa_h3 *q, int64_t id)
{
	struct fa_h3_stream *st = q->streams;

	while (st && st->id != id)
		st = st->next;
	if (st && st->reset_counted)
		return false;
	if (st)
		st->reset_counted = true;
	if (q->now - q->resets_since > NGTCP2_SECONDS) {
		q->resets_since = q->now;
		q->resets = 0;
	}
	if (++q->resets <= 2 * (q->lim.max_streams ? q->lim.max_streams : 100))
		return false;
	ngtcp2_connection_close_error_set_application_error(&q->quic.last_error,
							    NGHTTP3_H3_EXCESSIVE_LOAD, NULL, 0);
	return true;
}

static int q_stream_reset(ngtcp2_conn *c, int64_t id, uint64_t size, uint64_t code, void *u,
			  void *su)
{
	struct fa_h3 *q = u;

	if (too_many_resets(q, id))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return fa_quic_stream_reset(c, id, size, code, u, su);
}

static int q_stop_sending(ngtcp2_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	return q_stream_reset(c, id, 0, code, u, su);
}

static int q_max_remote_bidi(ngtcp2_conn *c, uint64_t max, void *u)
{
	struct fa_h3 *q = u;

	if (q->quic.http)
		nghttp3_conn_set_max_client_streams_bidi(q->quic.http, max);
	return 0;
}

static int q_new_cid(ngtcp2_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t len, void *u)
{
	struct fa_h3 *q = u;

	if (getrandom(cid->data, len, 0) != (ssize_t)len)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->data[0] = q->lim.cid_tag;
	cid->datalen = len;
	if (ngtcp2_crypto_generate_stateless_reset_token(token, q->ctx->secret,
							 sizeof(q->ctx->secret), cid))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int q_recv_tx_key(ngtcp2_conn *c, ngtcp2_crypto_level level, void *u)
{
	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	return setup_http(u) ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static const ngtcp2_callbacks quic_callbacks = {
	.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
	.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
	.encrypt = ngtcp2_crypto_encrypt_cb,
	.decrypt = ngtcp2_crypto_decrypt_cb,
	.hp_mask = ngtcp2_crypto_hp_mask_cb,
	.recv_stream_data = fa_quic_recv_stream_data,
	.acked_stream_data_offset = fa_quic_acked,
	.stream_close = fa_quic_stream_close,
	.rand = fa_quic_rand,
	.get_new_connection_id = q_new_cid,
	.update_key = ngtcp2_crypto_update_key_cb,
	.stream_reset = q_stream_reset,
	.extend_max_remote_streams_bidi = q_max_remote_bidi,
	.extend_max_stream_data = fa_quic_max_stream_data,
	.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
	.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
	.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
	.stream_stop_sending = q_stop_sending,
	.version_negotiation = ngtcp2_crypto_version_negotiation_cb,
	.recv_tx_key = q_recv_tx_key,
};

/* ---- the connection ---- */

/* ALPN must be h3: nothing else is spoken here. */
static int client_hello(gnutls_session_t s, unsigned int type, unsigned when,
			unsigned int incoming, const gnutls_datum_t *msg)
{
	gnutls_datum_t alpn;

	if (gnutls_alpn_get_selected_protocol(s, &alpn) || alpn.size != 2 ||
	    memcmp(alpn.data, "h3", 2))
		return -1;
	return 0;
}

static int tls_session(struct fa_h3 *q, struct fa_error *err)
{
	gnutls_datum_t alpn = { (unsigned char *)"h3", 2 };
	int rc;

	if ((rc = gnutls_init(&q->tls, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET)) ||
	    (rc = gnutls_priority_set_direct(q->tls, "%DISABLE_TLS13_COMPAT_MODE:NORMAL:"
					     "-VERS-ALL:+VERS-TLS1.3", NULL)) ||
	    (rc = gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE,
					 (q->cred = cred_get(q->ctx))->g)))
		return fa_error_set(err, FA_EWORK, "HTTP/3 TLS session: %s", gnutls_strerror(rc));
	gnutls_handshake_set_hook_function(q->tls, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
					   client_hello);
	if (ngtcp2_crypto_gnutls_configure_server_session(q->tls))
		return fa_error_set(err, FA_EWORK, "HTTP/3 TLS session: cannot configure for QUIC");
	q->ref = (ngtcp2_crypto_conn_ref){ fa_quic_get_conn, q };
	gnutls_session_set_ptr(q->tls, &q->ref);
	gnutls_alpn_set_protocols(q->tls, &alpn, 1,
				  GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
	return FA_OK;
}

/* A Retry for this Initial into reply: the client comes back with a token. */
static size_t write_retry(struct fa_h3_ctx *ctx, const struct fa_h3_limits *lim,
			  const struct fa_h3_path *path, const ngtcp2_pkt_hd *hd, uint64_t now,
			  uint8_t *reply)
{
	uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
	ngtcp2_cid scid;
	ngtcp2_ssize tlen, w;

	scid.datalen = FA_H3_CIDLEN;
	fa_quic_rand(scid.data, FA_H3_CIDLEN, NULL);
	scid.data[0] = lim->cid_tag;
	tlen = ngtcp2_crypto_generate_retry_token(token, ctx->secret, sizeof(ctx->secret),
						  hd->version, (const struct sockaddr *)&path->remote,
						  path->remote_len, &scid, &hd->dcid, now);
	if (tlen < 0)
		return 0;
	w = ngtcp2_crypto_write_retry(reply, FA_H3_MAX_PACKET, hd->version, &hd->scid, &scid,
				      &hd->dcid, token, (size_t)tlen);
	return w > 0 ? (size_t)w : 0;
}

/*
 * The Initial's token: 1 when it is a Retry token that verified (*odcid
 * is the client's first DCID), 0 to go on without one, -1 when it does
 * not verify (*reply holds a CONNECTION_CLOSE, INVALID_TOKEN) or a Retry
 * was written instead (*reply_len says).
 */
static int check_token(struct fa_h3_ctx *ctx, const struct fa_h3_limits *lim,
		       const struct fa_h3_path *path, const ngtcp2_pkt_hd *hd, uint64_t now,
		       ngtcp2_cid *odcid, uint8_t *reply, size_t *reply_len)
{
	uint64_t timeout = (uint64_t)(lim->retry_token_ms > 0 ? lim->retry_token_ms : 10000) *
			   NGTCP2_MILLISECONDS;
	ngtcp2_ssize w;

	if (hd->token.len && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
		if (!ngtcp2_crypto_verify_retry_token(odcid, hd->token.base, hd->token.len,
						      ctx->secret, sizeof(ctx->secret),
						      hd->version,
						      (const struct sockaddr *)&path->remote,
						      path->remote_len, &hd->dcid, timeout, now))
			return 1;
		w = ngtcp2_crypto_write_connection_close(reply, FA_H3_MAX_PACKET, hd->version,
							 &hd->scid, &hd->dcid,
							 NGTCP2_INVALID_TOKEN, NULL, 0);
		*reply_len = w > 0 ? (size_t)w : 0;
		return -1;
	}
	if (!lim->retry)
		return 0;       /* a NEW_TOKEN token is never ours: ignored */
	*reply_len = write_retry(ctx, lim, path, hd, now, reply);
	return -1;
}

struct fa_h3 *fa_h3_accept(struct fa_h3_ctx *ctx, const struct fa_h3_limits *lim,
			   const struct fa_h3_ops *ops, void *user, const struct fa_h3_path *path,
			   const uint8_t *pkt, size_t n, uint64_t now, uint8_t *reply,
			   size_t *reply_len, struct fa_error *err)
{
	ngtcp2_pkt_hd hd;
	ngtcp2_settings s;
	ngtcp2_transport_params p;
	ngtcp2_path np = fa_quic_path(path);
	ngtcp2_cid odcid;
	struct fa_h3 *q;
	int validated;

	*reply_len = 0;
	if (ngtcp2_accept(&hd, pkt, n)) {
		fa_error_set(err, FA_EWORK, "not a QUIC Initial packet");
		return NULL;
	}
	if (hd.type != NGTCP2_PKT_INITIAL) {
		fa_error_set(err, FA_EWORK, "a 0-RTT packet before its Initial");
		return NULL;
	}
	if ((validated = check_token(ctx, lim, path, &hd, now, &odcid, reply, reply_len)) < 0) {
		fa_error_set(err, FA_EWORK, *reply_len ? "answered with a Retry or a close" :
				 "no Retry could be written");
		return NULL;
	}
	if (!(q = calloc(1, sizeof(*q)))) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	q->ctx = ctx;
	q->lim = *lim;
	q->ops = ops;
	q->user = user;
	q->path = *path;
	q->odcid = hd.dcid;
	q->scid.datalen = FA_H3_CIDLEN;
	fa_quic_rand(q->scid.data, FA_H3_CIDLEN, NULL);
	q->scid.data[0] = lim->cid_tag;
	ngtcp2_connection_close_error_default(&q->quic.last_error);

	ngtcp2_settings_default(&s);
	s.initial_ts = now;
	s.max_window = 4 * (uint64_t)lim->window * (lim->max_streams ? lim->max_streams : 1);
	s.max_stream_window = 4 * (uint64_t)lim->window;
	s.handshake_timeout = (uint64_t)lim->handshake_timeout_ms * NGTCP2_MILLISECONDS;
	/* no qlog: 0.12's writer has a known flaw */

	ngtcp2_transport_params_default(&p);
	p.initial_max_stream_data_bidi_local = lim->window;
	p.initial_max_stream_data_bidi_remote = lim->window;
	p.initial_max_stream_data_uni = lim->window;
	p.initial_max_data = (uint64_t)lim->window * 4;
	p.initial_max_streams_bidi = lim->max_streams;
	p.initial_max_streams_uni = 3;
	p.max_idle_timeout = (uint64_t)lim->idle_timeout_ms * NGTCP2_MILLISECONDS;
	p.active_connection_id_limit = 7;
	p.original_dcid = hd.dcid;
	if (validated) {
		/* the address is proven: ngtcp2 lifts the 3x limit for it */
		p.original_dcid = odcid;
		p.retry_scid = hd.dcid;
		p.retry_scid_present = 1;
		s.token = hd.token;
	}
	p.stateless_reset_token_present = 1;
	if (ngtcp2_crypto_generate_stateless_reset_token(p.stateless_reset_token, ctx->secret,
							 sizeof(ctx->secret), &q->scid) ||
	    ngtcp2_conn_server_new(&q->quic.conn, &hd.scid, &q->scid, &np, hd.version,
				   &quic_callbacks, &s, &p, NULL, q)) {
		fa_error_set(err, FA_EWORK, "cannot start a QUIC connection");
		fa_h3_free(q);
		return NULL;
	}
	if (tls_session(q, err)) {
		fa_h3_free(q);
		return NULL;
	}
	ngtcp2_conn_set_tls_native_handle(q->quic.conn, q->tls);
	if (!fa_h3_recv(q, path, pkt, n, now) && !q->closelen) {
		fa_error_set(err, FA_EWORK, "the first packet did not start a connection");
		fa_h3_free(q);
		return NULL;
	}
	return q;
}

/* An error: CONNECTION_CLOSE goes out, then the closing period (3 PTO). */
static void start_closing(struct fa_h3 *q, uint64_t now)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize w;

	if (q->closing || q->draining || q->dead)
		return;
	q->closing = true;
	q->close_until = now + 3 * ngtcp2_conn_get_pto(q->quic.conn);
	if (q->quic.last_error.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_IDLE_CLOSE) {
		q->dead = true;
		return;
	}
	ngtcp2_path_storage_zero(&ps);
	w = ngtcp2_conn_write_connection_close(q->quic.conn, &ps.path, &pi, q->closebuf,
					       sizeof(q->closebuf), &q->quic.last_error, now);
	if (w <= 0) {
		q->dead = true;
		return;
	}
	q->closelen = (size_t)w;
	q->closebuf_due = true;
}

bool fa_h3_recv(struct fa_h3 *q, const struct fa_h3_path *path, const uint8_t *pkt,
		size_t n, uint64_t now)
{
	ngtcp2_path np = fa_quic_path(path);
	ngtcp2_pkt_info pi = { .ecn = path->ecn };
	int rc;

	if (q->dead || q->draining)
		return false;
	if (q->closing) {
		q->closebuf_due = true;         /* the peer did not hear it: again */
		return false;
	}
	q->path = *path;
	q->now = now;
	rc = ngtcp2_conn_read_pkt(q->quic.conn, &np, &pi, pkt, n, now);
	if (!rc)
		return true;
	if (rc == NGTCP2_ERR_DRAINING) {
		q->draining = true;
		q->close_until = now + 3 * ngtcp2_conn_get_pto(q->quic.conn);
		return false;
	}
	if (rc == NGTCP2_ERR_DROP_CONN || rc == NGTCP2_ERR_RETRY) {
		q->dead = true;
		return false;
	}
	if (!q->quic.last_error.error_code) {
		if (rc == NGTCP2_ERR_CRYPTO)
			ngtcp2_connection_close_error_set_transport_error_tls_alert(
				&q->quic.last_error, ngtcp2_conn_get_tls_alert(q->quic.conn), NULL, 0);
		else
			ngtcp2_connection_close_error_set_transport_error_liberr(&q->quic.last_error, rc,
										 NULL, 0);
	}
	start_closing(q, now);
	return false;
}

static void copy_path(struct fa_h3_path *out, const ngtcp2_path *p, uint8_t ecn)
{
	out->ecn = ecn;
	memcpy(&out->local, p->local.addr, p->local.addrlen);
	out->local_len = p->local.addrlen;
	memcpy(&out->remote, p->remote.addr, p->remote.addrlen);
	out->remote_len = p->remote.addrlen;
}

/* One datagram of stream data and whatever else QUIC has to say. */
size_t fa_h3_send(struct fa_h3 *q, uint8_t *out, size_t cap, struct fa_h3_path *path,
		  uint64_t now)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize w;

	if (q->closebuf_due) {
		q->closebuf_due = false;
		*path = q->path;
		path->ecn = 0;
		memcpy(out, q->closebuf, q->closelen);
		return q->closelen;
	}
	if (q->closing || q->draining || q->dead)
		return 0;
	ngtcp2_path_storage_zero(&ps);
	w = fa_quic_write(&q->quic, out, cap, &ps, &pi, now);
	if (w < 0) {
		start_closing(q, now);
		return fa_h3_send(q, out, cap, path, now);
	}
	if (w > 0)
		copy_path(path, &ps.path, (uint8_t)pi.ecn);
	return (size_t)w;
}

uint64_t fa_h3_expiry(struct fa_h3 *q)
{
	if (q->closing || q->draining)
		return q->close_until;
	return ngtcp2_conn_get_expiry(q->quic.conn);
}

bool fa_h3_timeout(struct fa_h3 *q, uint64_t now)
{
	int rc;

	if (q->closing || q->draining) {
		if (now >= q->close_until)
			q->dead = true;
		return !q->dead;
	}
	if (q->dead)
		return false;
	if (now < ngtcp2_conn_get_expiry(q->quic.conn))
		return true;
	if ((rc = ngtcp2_conn_handle_expiry(q->quic.conn, now)) != 0) {
		if (rc == NGTCP2_ERR_IDLE_CLOSE || rc == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
			/* silently, as QUIC's idle timeout is: a client that
			   stalled its handshake gets no closing period's state */
			q->dead = true;
			return false;
		}
		ngtcp2_connection_close_error_set_transport_error_liberr(&q->quic.last_error, rc,
									 NULL, 0);
		start_closing(q, now);
		return false;
	}
	return true;
}

bool fa_h3_done(const struct fa_h3 *q)
{
	return q->dead;
}

bool fa_h3_owns(struct fa_h3 *q, const uint8_t *dcid, size_t len)
{
	ngtcp2_cid ids[8];
	size_t n;

	if (len == q->odcid.datalen && !memcmp(dcid, q->odcid.data, len))
		return true;
	if (!q->quic.conn || (n = ngtcp2_conn_get_num_scid(q->quic.conn)) > 8)
		return len == q->scid.datalen && !memcmp(dcid, q->scid.data, len);
	ngtcp2_conn_get_scid(q->quic.conn, ids);
	for (size_t i = 0; i < n; i++)
		if (ids[i].datalen == len && !memcmp(ids[i].data, dcid, len))
			return true;
	return false;
}

void fa_h3_close(struct fa_h3 *q, uint64_t now)
{
	ngtcp2_connection_close_error_set_application_error(&q->quic.last_error, NGHTTP3_H3_NO_ERROR,
							    NULL, 0);
	start_closing(q, now);
}

void fa_h3_shutdown(struct fa_h3 *q)
{
	if (q->quic.http)
		nghttp3_conn_shutdown(q->quic.http);
}

int fa_h3_streams(const struct fa_h3 *q)
{
	return q->nstreams;
}

/* ---- responses ---- */

/* nghttp3 takes the bytes not yet given; EOF once the body ended. */
static nghttp3_ssize read_body(nghttp3_conn *c, int64_t id, nghttp3_vec *vec, size_t veccnt,
			       uint32_t *flags, void *u, void *su)
{
	struct fa_h3_stream *st = su;
	size_t n = 0;

	while (st->given && n < veccnt) {
		struct chunk *ch = st->given;

		if (st->given_off < ch->len) {
			vec[n].base = ch->data + st->given_off;
			vec[n].len = ch->len - st->given_off;
			st->given_off = ch->len;
			n++;
		}
		if (!ch->next)
			break;
		st->given = ch->next;
		st->given_off = 0;
	}
	if (n)
		return (nghttp3_ssize)n;
	if (st->ended) {
		*flags |= NGHTTP3_DATA_FLAG_EOF;
		return 0;
	}
	return NGHTTP3_ERR_WOULDBLOCK;
}

void fa_h3_respond(struct fa_h3 *q, struct fa_h3_stream *st, int status,
		   const struct fa_h1_header *h, int n, bool body)
{
	nghttp3_nv nv[64];
	char names[4096], code[8];
	size_t used = 0;
	int k = 0;
	nghttp3_data_reader dr = { read_body };

	if (!q->quic.http || st->responded)
		return;
	st->responded = true;
	st->has_body = body;
	snprintf(code, sizeof(code), "%03d", status % 1000);
	nv[k++] = (nghttp3_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3, 0 };
	for (int i = 0; i < n && k < 64; i++) {
		if (used + h[i].name_len > sizeof(names))
			break;
		for (size_t j = 0; j < h[i].name_len; j++)
			names[used + j] = (char)tolower((unsigned char)h[i].name[j]);
		nv[k++] = (nghttp3_nv){ (uint8_t *)names + used, (uint8_t *)h[i].value,
					h[i].name_len, h[i].value_len, 0 };
		used += h[i].name_len;
	}
	nghttp3_conn_submit_response(q->quic.http, st->id, nv, (size_t)k, body ? &dr : NULL);
}

void fa_h3_write(struct fa_h3 *q, struct fa_h3_stream *st, const void *data, size_t n)
{
	const uint8_t *p = data;

	if (!st->has_body || st->ended)
		return;
	while (n) {
		struct chunk *c = st->tail;
		size_t k;

		if (!c || c->len == CHUNK) {
			if (!(c = malloc(sizeof(*c)))) {
				fa_h3_reset(q, st);
				return;
			}
			c->next = NULL;
			c->len = 0;
			if (st->tail)
				st->tail->next = c;
			else
				st->head = c;
			st->tail = c;
			if (!st->given) {
				st->given = c;
				st->given_off = 0;
			}
		}
		k = CHUNK - c->len < n ? CHUNK - c->len : n;
		memcpy(c->data + c->len, p, k);
		c->len += k;
		p += k;
		n -= k;
		st->buffered += k;
	}
	if (fa_h3_stream_full(st))
		st->was_full = true;
	if (q->quic.http)
		nghttp3_conn_resume_stream(q->quic.http, st->id);
}

void fa_h3_end(struct fa_h3 *q, struct fa_h3_stream *st)
{
	st->ended = true;
	if (st->has_body && q->quic.http)
		nghttp3_conn_resume_stream(q->quic.http, st->id);
}

void fa_h3_reset(struct fa_h3 *q, struct fa_h3_stream *st)
{
	st->ended = true;
	ngtcp2_conn_shutdown_stream(q->quic.conn, st->id, NGHTTP3_H3_INTERNAL_ERROR);
}

bool fa_h3_stream_full(const struct fa_h3_stream *st)
{
	return st->buffered >= st->q->lim.stream_buffer;
}

size_t fa_h3_buffered(const struct fa_h3_stream *st)
{
	return st->buffered;
}

/* User data on a stream: what on_drain and on_close get back. */
void fa_h3_stream_set_user(struct fa_h3_stream *st, void *user)
{
	st->user = user;
}

void fa_h3_free(struct fa_h3 *q)
{
	if (!q)
		return;
	while (q->streams)
		stream_free(q->streams);
	if (q->quic.http)
		nghttp3_conn_del(q->quic.http);
	if (q->quic.conn)
		ngtcp2_conn_del(q->quic.conn);
	if (q->tls)
		gnutls_deinit(q->tls);
	cred_put(q->cred);
	free(q);
}
