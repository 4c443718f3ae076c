/*
 * h3client: HTTP/3 client connections (see h3client.h).  ngtcp2 does
 * QUIC, its GnuTLS backend the handshake and the certificate check,
 * nghttp3 the framing and QPACK; this file joins them to the three ops
 * hclient already gives HTTP/2 streams.
 */
#include "http/h3client.h"

#include <arpa/inet.h>
#include <ctype.h>
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

struct fa_h3client_tls {
	gnutls_certificate_credentials_t cred;
	bool insecure;
};

/* One request stream: the caller's body to send, the response's fields. */
struct stream {
	int64_t id;
	void *user;
	const char *body;
	size_t body_len;
	bool body_given, head_done, ended, too_big;
	int status, nfields;
	struct fa_buf fields;           /* name\0value\0 pairs of the head */
	struct stream *prev, *next;
};

struct fa_h3client {
	struct fa_quic quic;            /* first: ngtcp2's and nghttp3's user data */
	struct fa_h3client_tls *tls;
	const struct fa_h2client_ops *ops;
	void *ctx;
	uint64_t max_field_section;
	size_t qpack_encoder_table;
	gnutls_session_t session;
	ngtcp2_crypto_conn_ref ref;
	struct fa_h3_path path;
	struct stream *streams;
	struct fa_buf names;            /* lowered request field names */
	uint8_t closebuf[FA_H3_MAX_PACKET];
	size_t closelen;
	bool goaway, stop, over;
	char why[300];                  /* set once the connection is over */
	struct fa_h1_header hdr[FA_H1_MAX_HEADERS];
};

/* ---- the CAs ---- */

struct fa_h3client_tls *fa_h3client_tls_new(const char *ca_file, bool insecure,
					    struct fa_error *err)
{
	struct fa_h3client_tls *t = calloc(1, sizeof(*t));
	int rc;

	if (!t || gnutls_certificate_allocate_credentials(&t->cred)) {
		free(t);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	t->insecure = insecure;
	if (insecure)
		return t;
	rc = ca_file ? gnutls_certificate_set_x509_trust_file(t->cred, ca_file,
							      GNUTLS_X509_FMT_PEM)
		     : gnutls_certificate_set_x509_system_trust(t->cred);
	if (rc <= 0 && ca_file) {
		fa_error_set(err, FA_EUSAGE, "cannot load CAs from '%s': %s", ca_file,
			     rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
		fa_h3client_tls_free(t);
		return NULL;
	}
	return t;
}

void fa_h3client_tls_free(struct fa_h3client_tls *t)
{
	if (!t)
		return;
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* ---- streams ---- */

static struct stream *stream_new(struct fa_h3client *h3, void *user)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->user = user;
	fa_buf_init(&st->fields, (size_t)h3->max_field_section);
	st->next = h3->streams;
	if (h3->streams)
		h3->streams->prev = st;
	h3->streams = st;
	return st;
}

static void stream_free(struct fa_h3client *h3, struct stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		h3->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	fa_buf_release(&st->fields);
	free(st);
}

/* An op's answer: nonzero stops the connection (the caller frees it). */
static int op_result(struct fa_h3client *h3, int rc)
{
	if (rc)
		h3->stop = true;
	return rc ? NGHTTP3_ERR_CALLBACK_FAILURE : 0;
}

/* ---- nghttp3 callbacks ---- */

/* 0 when the response was whole, else the code it ended with. */
static uint32_t close_code(const struct stream *st, uint64_t code)
{
	if (st->ended && st->head_done && !st->too_big)
		return 0;
	if (st->too_big)
		return FA_H2CLIENT_HEAD_TOO_BIG;
	if (code == NGHTTP3_H3_REQUEST_REJECTED && !st->head_done)
		return FA_H2_REFUSED_STREAM;
	/* a stream that ended early is never whole, whatever its code says */
	if (code == NGHTTP3_H3_NO_ERROR || code == 0)
		return NGHTTP3_H3_REQUEST_INCOMPLETE;
	return (uint32_t)code;
}

static int h_stream_close(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	struct fa_h3client *h3 = u;
	struct stream *st = su;
	int rc;

	if (!st)
		return 0;
	rc = h3->ops->on_close(h3->ctx, st->user, close_code(st, code));
	stream_free(h3, st);
	return op_result(h3, rc);
}

static int h_recv_data(nghttp3_conn *c, int64_t id, const uint8_t *data, size_t n, void *u,
		       void *su)
{
	struct fa_h3client *h3 = u;
	struct stream *st = su;

	fa_quic_consume(&h3->quic, id, n);
	if (!st || !st->head_done || st->too_big)
		return 0;
	return op_result(h3, h3->ops->on_data(h3->ctx, st->user, (const char *)data, n));
}

static int h_begin_headers(nghttp3_conn *c, int64_t id, void *u, void *su)
{
	struct stream *st = su;

	if (st) {
		fa_buf_reset(&st->fields);
		st->nfields = 0;
		st->status = 0;
	}
	return 0;
}

static int h_header(nghttp3_conn *c, int64_t id, int32_t token, nghttp3_rcbuf *name,
		    nghttp3_rcbuf *value, uint8_t flags, void *u, void *su)
{
	struct stream *st = su;
	nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);

	if (!st || st->too_big)
		return 0;
	if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
		/* three digits, 1xx to 5xx; else 0, and the response is refused */
		if (v.len == 3 && v.base[0] >= '1' && v.base[0] <= '5' && isdigit(v.base[1]) &&
		    isdigit(v.base[2]))
			st->status = (v.base[0] - '0') * 100 + (v.base[1] - '0') * 10 +
				     (v.base[2] - '0');
		return 0;
	}
	if (n.len && n.base[0] == ':')
		return 0;
	if (st->nfields == FA_H1_MAX_HEADERS || fa_buf_append(&st->fields, n.base, n.len) ||
	    fa_buf_append(&st->fields, "", 1) || fa_buf_append(&st->fields, v.base, v.len) ||
	    fa_buf_append(&st->fields, "", 1))
		st->too_big = true;
	else
		st->nfields++;
	return 0;
}

/* The head is whole: 1xx heads are skipped, the final one goes to on_head. */
static int h_end_headers(nghttp3_conn *c, int64_t id, int fin, void *u, void *su)
{
	struct fa_h3client *h3 = u;
	struct stream *st = su;
	const char *p;

	if (!st || st->head_done)
		return 0;
	if (st->too_big || !st->status) {
		st->too_big = true;
		ngtcp2_conn_shutdown_stream(h3->quic.conn, id, NGHTTP3_H3_REQUEST_CANCELLED);
		return 0;
	}
	if (st->status < 200)
		return 0;
	st->head_done = true;
	p = st->fields.data;
	for (int i = 0; i < st->nfields; i++) {
		const char *v = p + strlen(p) + 1;

		h3->hdr[i] = (struct fa_h1_header){ p, v, strlen(p), strlen(v) };
		p = v + strlen(v) + 1;
	}
	return op_result(h3, h3->ops->on_head(h3->ctx, st->user, st->status, h3->hdr,
					      st->nfields));
}

static int h_end_stream(nghttp3_conn *c, int64_t id, void *u, void *su)
{
	struct stream *st = su;

	if (st)
		st->ended = true;
	return 0;
}

/* GOAWAY: no new streams; nghttp3 rejects those above its id. */
static int h_shutdown(nghttp3_conn *c, int64_t id, void *u)
{
	((struct fa_h3client *)u)->goaway = true;
	return 0;
}

static const nghttp3_callbacks http_callbacks = {
	.stream_close = h_stream_close,
	.recv_data = h_recv_data,
	.deferred_consume = fa_quic_deferred,
	.begin_headers = h_begin_headers,
	.recv_header = h_header,
	.end_headers = h_end_headers,
	.stop_sending = fa_quic_stop_sending,
	.end_stream = h_end_stream,
	.reset_stream = fa_quic_reset_stream,
	.shutdown = h_shutdown,
};

/* The handshake is done: nghttp3 and its three unidirectional streams. */
static int setup_http(struct fa_h3client *h3)
{
	nghttp3_settings s;

	nghttp3_settings_default(&s);
	s.max_field_section_size = h3->max_field_section;
	s.qpack_max_dtable_capacity = 4096;
	s.qpack_blocked_streams = 16;
	s.qpack_encoder_max_dtable_capacity = h3->qpack_encoder_table;
	if (nghttp3_conn_client_new(&h3->quic.http, &http_callbacks, &s, NULL, h3) ||
	    fa_quic_open_streams(&h3->quic))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* ---- ngtcp2 callbacks ---- */

static int q_handshake_done(ngtcp2_conn *c, void *u)
{
	return setup_http(u);
}

/* A client's reset tokens need not be derivable: random ones do. */
static int q_new_cid(ngtcp2_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t len, void *u)
{
	if (getrandom(cid->data, len, 0) != (ssize_t)len ||
	    getrandom(token, NGTCP2_STATELESS_RESET_TOKENLEN, 0) !=
	    NGTCP2_STATELESS_RESET_TOKENLEN)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->datalen = len;
	return 0;
}

static const ngtcp2_callbacks quic_callbacks = {
	.client_initial = ngtcp2_crypto_client_initial_cb,
	.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
	.handshake_completed = q_handshake_done,
	.encrypt = ngtcp2_crypto_encrypt_cb,
	.decrypt = ngtcp2_crypto_decrypt_cb,
	.hp_mask = ngtcp2_crypto_hp_mask_cb,
	.recv_stream_data = fa_quic_recv_stream_data,
	.acked_stream_data_offset = fa_quic_acked,
	.stream_close = fa_quic_stream_close,
	.recv_retry = ngtcp2_crypto_recv_retry_cb,
	.rand = fa_quic_rand,
	.get_new_connection_id = q_new_cid,
	.update_key = ngtcp2_crypto_update_key_cb,
	.stream_reset = fa_quic_stream_reset,
	.extend_max_stream_data = fa_quic_max_stream_data,
	.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
	.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
	.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
	.stream_stop_sending = fa_quic_stream_stop_sending,
	.version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- the connection ---- */

/* GnuTLS for QUIC: TLS 1.3 only, ALPN h3, SNI for names, the certificate
   checked against host unless insecure. */
static enum fa_err tls_session(struct fa_h3client *h3, const char *host, struct fa_error *err)
{
	gnutls_datum_t alpn = { (unsigned char *)"h3", 2 };
	unsigned char addr[16];
	int rc;

	if ((rc = gnutls_init(&h3->session, GNUTLS_CLIENT)) ||
	    (rc = gnutls_priority_set_direct(h3->session, "%DISABLE_TLS13_COMPAT_MODE:NORMAL:"
					     "-VERS-ALL:+VERS-TLS1.3", NULL)) ||
	    (rc = gnutls_credentials_set(h3->session, GNUTLS_CRD_CERTIFICATE, h3->tls->cred)))
		return fa_error_set(err, FA_EWORK, "HTTP/3 TLS session: %s", gnutls_strerror(rc));
	if (ngtcp2_crypto_gnutls_configure_client_session(h3->session))
		return fa_error_set(err, FA_EWORK, "HTTP/3 TLS session: cannot configure for QUIC");
	h3->ref = (ngtcp2_crypto_conn_ref){ fa_quic_get_conn, h3 };
	gnutls_session_set_ptr(h3->session, &h3->ref);
	gnutls_alpn_set_protocols(h3->session, &alpn, 1, GNUTLS_ALPN_MANDATORY);
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		gnutls_server_name_set(h3->session, GNUTLS_NAME_DNS, host, strlen(host));
	if (!h3->tls->insecure)
		gnutls_session_set_verify_cert(h3->session, host, 0);
	return FA_OK;
}

static void settings(const struct fa_h3client_opts *o, uint64_t now, ngtcp2_settings *s,
		     ngtcp2_transport_params *p)
{
	uint64_t window = o && o->window ? o->window : 1 << 20;
	int idle = o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 30000;
	int hs = o && o->handshake_timeout_ms > 0 ? o->handshake_timeout_ms : 10000;

	ngtcp2_settings_default(s);
	s->initial_ts = now;
	s->handshake_timeout = (uint64_t)hs * NGTCP2_MILLISECONDS;
	s->max_stream_window = 4 * window;
	s->max_window = 64 * window;
	ngtcp2_transport_params_default(p);
	p->initial_max_stream_data_bidi_local = window;
	p->initial_max_stream_data_uni = window;
	p->initial_max_data = 16 * window;
	p->initial_max_streams_uni = 3;
	p->max_idle_timeout = (uint64_t)idle * NGTCP2_MILLISECONDS;
	p->active_connection_id_limit = 7;
}

struct fa_h3client *fa_h3client_new(struct fa_h3client_tls *tls, const char *host,
				    const struct fa_h3_path *path,
				    const struct fa_h3client_opts *o,
				    const struct fa_h2client_ops *ops, void *ctx, uint64_t now,
				    struct fa_error *err)
{
	struct fa_h3client *h3 = calloc(1, sizeof(*h3));
	ngtcp2_path np = fa_quic_path(path);
	ngtcp2_settings s;
	ngtcp2_transport_params p;
	ngtcp2_cid dcid, scid;

	if (!h3) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	h3->tls = tls;
	h3->ops = ops;
	h3->ctx = ctx;
	h3->path = *path;
	h3->max_field_section = o && o->max_field_section ? o->max_field_section : 65536;
	h3->qpack_encoder_table = o ? o->qpack_encoder_table : 0;
	fa_buf_init(&h3->names, 0);
	ngtcp2_connection_close_error_default(&h3->quic.last_error);
	settings(o, now, &s, &p);
	dcid.datalen = 18;
	scid.datalen = 16;
	fa_quic_rand(dcid.data, dcid.datalen, NULL);
	fa_quic_rand(scid.data, scid.datalen, NULL);
	if (ngtcp2_conn_client_new(&h3->quic.conn, &dcid, &scid, &np, NGTCP2_PROTO_VER_V1,
				   &quic_callbacks, &s, &p, NULL, h3)) {
		fa_error_set(err, FA_EWORK, "cannot start a QUIC connection");
		fa_h3client_free(h3);
		return NULL;
	}
	if (tls_session(h3, host, err)) {
		fa_h3client_free(h3);
		return NULL;
	}
	ngtcp2_conn_set_tls_native_handle(h3->quic.conn, h3->session);
	return h3;
}

bool fa_h3client_ready(const struct fa_h3client *h3)
{
	return h3->quic.http && !h3->over;
}

uint64_t fa_h3client_streams_left(const struct fa_h3client *h3)
{
	if (!fa_h3client_ready(h3) || h3->goaway)
		return 0;
	return ngtcp2_conn_get_streams_bidi_left(h3->quic.conn);
}

/* The request body: all of it at once, from the caller's memory. */
static nghttp3_ssize read_body(nghttp3_conn *c, int64_t id, nghttp3_vec *vec, size_t veccnt,
			       uint32_t *flags, void *u, void *su)
{
	struct stream *st = su;

	*flags |= NGHTTP3_DATA_FLAG_EOF;
	if (st->body_given || !st->body_len)
		return 0;
	st->body_given = true;
	vec[0].base = (uint8_t *)st->body;
	vec[0].len = st->body_len;
	return 1;
}

int64_t fa_h3client_submit(struct fa_h3client *h3, const struct fa_h2client_req *r,
			   void *user, struct fa_error *err)
{
	struct fa_h1_header f[FA_H2CLIENT_MAX_FIELDS];
	nghttp3_nv nv[FA_H2CLIENT_MAX_FIELDS];
	nghttp3_data_reader dr = { read_body };
	struct stream *st;
	char clen[24];
	int64_t id;
	int k;

	if (!fa_h3client_streams_left(h3)) {
		fa_error_set(err, FA_EWORK, "no HTTP/3 stream may open now");
		return -1;
	}
	if ((k = fa_h2client_fields(r, &h3->names, clen, f)) < 0) {
		fa_error_set(err, FA_EUSAGE, "more than %d request fields", FA_H1_MAX_HEADERS);
		return -1;
	}
	for (int i = 0; i < k; i++)
		nv[i] = (nghttp3_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].name_len,
				      f[i].value_len, NGHTTP3_NV_FLAG_NONE };
	if (!(st = stream_new(h3, user))) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return -1;
	}
	st->body = r->body;
	st->body_len = r->body_len;
	if (ngtcp2_conn_open_bidi_stream(h3->quic.conn, &id, NULL) ||
	    nghttp3_conn_submit_request(h3->quic.http, id, nv, (size_t)k, r->body_len ? &dr : NULL,
					st)) {
		stream_free(h3, st);
		fa_error_set(err, FA_EWORK, "cannot open an HTTP/3 stream");
		return -1;
	}
	st->id = id;
	return id;
}

void fa_h3client_cancel(struct fa_h3client *h3, int64_t id)
{
	if (!h3->over)
		ngtcp2_conn_shutdown_stream(h3->quic.conn, id, NGHTTP3_H3_REQUEST_CANCELLED);
}

/* ---- why it ended ---- */

static const char *tls_why(struct fa_h3client *h3, char *buf, size_t n)
{
	unsigned status = gnutls_session_get_verify_cert_status(h3->session);
	gnutls_datum_t out = { 0 };
	uint8_t alert = ngtcp2_conn_get_tls_alert(h3->quic.conn);

	if (status && !gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
								     &out, 0)) {
		while (out.size && out.data[out.size - 1] == ' ')
			out.size--;
		snprintf(buf, n, "TLS handshake failed: the server's certificate was refused: %.*s",
			 (int)out.size, (char *)out.data);
		gnutls_free(out.data);
	} else {
		snprintf(buf, n, "TLS handshake failed: %s",
			 alert ? gnutls_alert_get_name((gnutls_alert_description_t)alert)
			       : "no reason given");
	}
	return buf;
}

/* What the server's CONNECTION_CLOSE said. */
static void peer_why(struct fa_h3client *h3)
{
	ngtcp2_connection_close_error e;
	bool app;

	ngtcp2_conn_get_connection_close_error(h3->quic.conn, &e);
	app = e.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
	if ((app && e.error_code == NGHTTP3_H3_NO_ERROR) || (!app && !e.error_code))
		snprintf(h3->why, sizeof(h3->why), "the server closed the connection");
	else
		snprintf(h3->why, sizeof(h3->why), "the server closed the connection with "
			 "%s error 0x%llx%s%.*s", app ? "HTTP/3" : "QUIC",
			 (unsigned long long)e.error_code, e.reasonlen ? ": " : "",
			 (int)e.reasonlen, e.reason ? (const char *)e.reason : "");
}

/* Ends the connection with why; a CONNECTION_CLOSE goes out unless silent. */
static void end(struct fa_h3client *h3, const char *why, bool silent, uint64_t now)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize w;

	if (h3->over)
		return;
	h3->over = true;
	snprintf(h3->why, sizeof(h3->why), "%s", why);
	if (silent)
		return;
	ngtcp2_path_storage_zero(&ps);
	w = ngtcp2_conn_write_connection_close(h3->quic.conn, &ps.path, &pi, h3->closebuf,
					       sizeof(h3->closebuf), &h3->quic.last_error, now);
	h3->closelen = w > 0 ? (size_t)w : 0;
}

bool fa_h3client_recv(struct fa_h3client *h3, const struct fa_h3_path *path,
		      const uint8_t *pkt, size_t n, uint64_t now)
{
	ngtcp2_path np = fa_quic_path(path);
	ngtcp2_pkt_info pi = { 0 };
	char buf[300];
	int rc;

	if (h3->over)
		return false;
	rc = ngtcp2_conn_read_pkt(h3->quic.conn, &np, &pi, pkt, n, now);
	if (!rc && !h3->stop)
		return true;
	if (h3->stop) {
		end(h3, "stopped", true, now);
	} else if (rc == NGTCP2_ERR_DRAINING) {
		peer_why(h3);
		h3->over = true;
	} else if (rc == NGTCP2_ERR_CRYPTO) {
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
			&h3->quic.last_error, ngtcp2_conn_get_tls_alert(h3->quic.conn), NULL, 0);
		end(h3, tls_why(h3, buf, sizeof(buf)), false, now);
	} else if (rc == NGTCP2_ERR_DROP_CONN) {
		end(h3, "QUIC: the connection was dropped", true, now);
	} else {
		if (!h3->quic.last_error.error_code)
			ngtcp2_connection_close_error_set_transport_error_liberr(&h3->quic.last_error,
										 rc, NULL, 0);
		snprintf(buf, sizeof(buf), "QUIC: %s", ngtcp2_strerror(rc));
		end(h3, buf, false, now);
	}
	return false;
}

size_t fa_h3client_send(struct fa_h3client *h3, uint8_t *out, size_t cap, uint64_t now)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize w;

	if (h3->over) {
		size_t k = h3->closelen;

		memcpy(out, h3->closebuf, k);
		h3->closelen = 0;
		return k;
	}
	ngtcp2_path_storage_zero(&ps);
	if ((w = fa_quic_write(&h3->quic, out, cap, &ps, &pi, now)) >= 0)
		return (size_t)w;
	end(h3, "cannot write to the connection", false, now);
	return fa_h3client_send(h3, out, cap, now);
}

uint64_t fa_h3client_expiry(const struct fa_h3client *h3)
{
	return h3->over ? UINT64_MAX : ngtcp2_conn_get_expiry(h3->quic.conn);
}

bool fa_h3client_timeout(struct fa_h3client *h3, uint64_t now)
{
	int rc;

	if (h3->over)
		return false;
	if (now < ngtcp2_conn_get_expiry(h3->quic.conn))
		return true;
	rc = ngtcp2_conn_handle_expiry(h3->quic.conn, now);
	if (!rc)
		return true;
	if (rc == NGTCP2_ERR_HANDSHAKE_TIMEOUT || (rc == NGTCP2_ERR_IDLE_CLOSE &&
						    !ngtcp2_conn_get_handshake_completed(h3->quic.conn)))
		end(h3, "no answer to the QUIC handshake (timeout)", true, now);
	else if (rc == NGTCP2_ERR_IDLE_CLOSE)
		end(h3, "idle timeout", true, now);
	else
		end(h3, ngtcp2_strerror(rc), false, now);
	return false;
}

void fa_h3client_close(struct fa_h3client *h3, uint64_t now)
{
	ngtcp2_connection_close_error_set_application_error(&h3->quic.last_error, NGHTTP3_H3_NO_ERROR,
							    NULL, 0);
	end(h3, "closed", false, now);
}

bool fa_h3client_done(const struct fa_h3client *h3)
{
	return h3->over;
}

const char *fa_h3client_error(const struct fa_h3client *h3)
{
	return h3->over ? h3->why : NULL;
}

void fa_h3client_free(struct fa_h3client *h3)
{
	if (!h3)
		return;
	while (h3->streams)
		stream_free(h3, h3->streams);
	if (h3->quic.http)
		nghttp3_conn_del(h3->quic.http);
	if (h3->quic.conn)
		ngtcp2_conn_del(h3->quic.conn);
	if (h3->session)
		gnutls_deinit(h3->session);
	fa_buf_release(&h3->names);
	free(h3);
}
