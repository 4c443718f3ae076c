/*
 * quic: nghttp3 over ngtcp2's streams, for both sides of HTTP/3 (see
 * quic.h).
 */
#include "http/quic.h"

#include <string.h>
#include <sys/random.h>

void fa_quic_consume(struct fa_quic *q, int64_t id, size_t n)
{
	ngtcp2_conn_extend_max_stream_offset(q->conn, id, n);
	ngtcp2_conn_extend_max_offset(q->conn, n);
}

int fa_quic_recv_stream_data(ngtcp2_conn *c, uint32_t flags, int64_t id, uint64_t off,
			     const uint8_t *data, size_t n, void *u, void *su)
{
	struct fa_quic *q = u;
	nghttp3_ssize used;

	if (!q->http)
		return 0;
	used = nghttp3_conn_read_stream(q->http, id, data, n, flags & NGTCP2_STREAM_DATA_FLAG_FIN);
	if (used < 0) {
		ngtcp2_connection_close_error_set_application_error(
			&q->last_error, nghttp3_err_infer_quic_app_error_code((int)used), NULL, 0);
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	fa_quic_consume(q, id, (size_t)used);
	return 0;
}

int fa_quic_acked(ngtcp2_conn *c, int64_t id, uint64_t off, uint64_t n, void *u, void *su)
{
	struct fa_quic *q = u;

	if (q->http && nghttp3_conn_add_ack_offset(q->http, id, n))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

int fa_quic_stream_close(ngtcp2_conn *c, uint32_t flags, int64_t id, uint64_t code, void *u,
			 void *su)
{
	struct fa_quic *q = u;
	int rc;

	if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
		code = NGHTTP3_H3_NO_ERROR;
	if (!q->http)
		return 0;
	rc = nghttp3_conn_close_stream(q->http, id, code);
	if (rc == NGHTTP3_ERR_STREAM_NOT_FOUND) {
		if (ngtcp2_conn_is_server(c) && ngtcp2_is_bidi_stream(id))
			ngtcp2_conn_extend_max_streams_bidi(c, 1);
		return 0;
	}
	return rc ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

int fa_quic_stream_reset(ngtcp2_conn *c, int64_t id, uint64_t size, uint64_t code, void *u,
			 void *su)
{
	struct fa_quic *q = u;

	if (q->http && nghttp3_conn_shutdown_stream_read(q->http, id))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

int fa_quic_stream_stop_sending(ngtcp2_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	return fa_quic_stream_reset(c, id, 0, code, u, su);
}

int fa_quic_max_stream_data(ngtcp2_conn *c, int64_t id, uint64_t max, void *u, void *su)
{
	struct fa_quic *q = u;

	if (q->http && nghttp3_conn_unblock_stream(q->http, id))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

void fa_quic_rand(uint8_t *dest, size_t n, const ngtcp2_rand_ctx *rctx)
{
	if (getrandom(dest, n, 0) != (ssize_t)n)
		memset(dest, 0, n);
}

ngtcp2_conn *fa_quic_get_conn(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct fa_quic *)ref->user_data)->conn;
}

int fa_quic_deferred(nghttp3_conn *c, int64_t id, size_t n, void *u, void *su)
{
	fa_quic_consume(u, id, n);
	return 0;
}

int fa_quic_stop_sending(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	ngtcp2_conn_shutdown_stream_read(((struct fa_quic *)u)->conn, id, code);
	return 0;
}

int fa_quic_reset_stream(nghttp3_conn *c, int64_t id, uint64_t code, void *u, void *su)
{
	ngtcp2_conn_shutdown_stream_write(((struct fa_quic *)u)->conn, id, code);
	return 0;
}

int fa_quic_open_streams(struct fa_quic *q)
{
	int64_t ctrl, enc, dec;

	if (ngtcp2_conn_open_uni_stream(q->conn, &ctrl, NULL) ||
	    nghttp3_conn_bind_control_stream(q->http, ctrl) ||
	    ngtcp2_conn_open_uni_stream(q->conn, &enc, NULL) ||
	    ngtcp2_conn_open_uni_stream(q->conn, &dec, NULL) ||
	    nghttp3_conn_bind_qpack_streams(q->http, enc, dec))
		return -1;
	return 0;
}

ngtcp2_path fa_quic_path(const struct fa_h3_path *p)
{
	return (ngtcp2_path){ { (struct sockaddr *)&p->local, p->local_len },
			      { (struct sockaddr *)&p->remote, p->remote_len }, NULL };
}

/* nghttp3's next stream bytes into vec (id -1: none); -1 on its error. */
static nghttp3_ssize stream_data(struct fa_quic *q, int64_t *id, int *fin, nghttp3_vec *vec,
				 size_t n)
{
	nghttp3_ssize nv = 0;

	*id = -1;
	*fin = 0;
	if (q->http && ngtcp2_conn_get_max_data_left(q->conn))
		nv = nghttp3_conn_writev_stream(q->http, id, fin, vec, n);
	if (nv < 0)
		ngtcp2_connection_close_error_set_application_error(
			&q->last_error, nghttp3_err_infer_quic_app_error_code((int)nv), NULL, 0);
	return nv;
}

ngtcp2_ssize fa_quic_write(struct fa_quic *q, uint8_t *out, size_t cap,
			   ngtcp2_path_storage *ps, ngtcp2_pkt_info *pi, uint64_t now)
{
	nghttp3_vec vec[16];
	ngtcp2_ssize data_len, w;
	int64_t id;
	int fin;

	for (;;) {
		nghttp3_ssize nv = stream_data(q, &id, &fin, vec, 16);
		uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);

		if (nv < 0)
			return -1;
		w = ngtcp2_conn_writev_stream(q->conn, &ps->path, pi, out, cap, &data_len, flags, id,
					      (const ngtcp2_vec *)vec, (size_t)nv, now);
		if (w == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
			nghttp3_conn_block_stream(q->http, id);
			continue;
		}
		if (w == NGTCP2_ERR_STREAM_SHUT_WR) {
			nghttp3_conn_shutdown_stream_write(q->http, id);
			continue;
		}
		if (w < 0 && w != NGTCP2_ERR_WRITE_MORE) {
			ngtcp2_connection_close_error_set_transport_error_liberr(&q->last_error,
										 (int)w, NULL, 0);
			return -1;
		}
		if (data_len >= 0 && id >= 0 &&
		    nghttp3_conn_add_write_offset(q->http, id, (size_t)data_len)) {
			ngtcp2_connection_close_error_set_application_error(
				&q->last_error, NGHTTP3_H3_INTERNAL_ERROR, NULL, 0);
			return -1;
		}
		if (w == NGTCP2_ERR_WRITE_MORE)
			continue;
		if (w == 0)
			ngtcp2_conn_update_pkt_tx_time(q->conn, now);
		return w;
	}
}
