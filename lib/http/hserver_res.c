/*
 * hserver_res: the response side of lib/http/hserver, whichever protocol
 * carries it: headers, content coding (lib/http/hencode), body bytes, the end.
 * It knows no protocol: each request's rq->proto frames the bytes (HTTP/1.1
 * in hserver.c, HTTP/2 streams in hserver_h2.c, HTTP/3 in hserver_h3.c).
 */
#include "http/hserver_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void hs_res_reset(struct hs_res *res)
{
	res->started = res->ended = res->coding_failed = false;
	res->resume = NULL;
	res->abort = NULL;
	fa_buf_reset(&res->extra);
}

void fa_hres_header(struct fa_hreq *rq, const char *name, const char *value)
{
	fa_buf_printf(&rq->res->extra, "%s: %s\n", name, value);
}

/* Server, Date, Content-Type and the headers the application added, as an array. */
int hs_response_headers(struct hs_worker *w, struct hs_res *res, const char *content_type,
			bool alt_svc, struct fa_h1_header *h, int cap)
{
	const char *p = res->extra.data, *end = p ? p + res->extra.len : NULL;
	const char *server = w->s->o.server_name ? w->s->o.server_name : "fa";
	time_t now = time(NULL);
	int n = 0;

	if (now != w->date_t) {
		fa_h1_date(w->date, now);
		w->date_t = now;
	}
	h[n++] = (struct fa_h1_header){ "Server", server, 6, strlen(server) };
	h[n++] = (struct fa_h1_header){ "Date", w->date, 4, strlen(w->date) };
	if (content_type)
		h[n++] = (struct fa_h1_header){ "Content-Type", content_type, 12,
						strlen(content_type) };
	if (alt_svc && w->s->h3_port)
		h[n++] = (struct fa_h1_header){ "Alt-Svc", w->s->alt_svc, 7, strlen(w->s->alt_svc) };
	while (p && p < end && n < cap) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!colon || !eol)
			break;
		h[n++] = (struct fa_h1_header){ p, colon + 2, (size_t)(colon - p),
						(size_t)(eol - colon - 2) };
		p = eol + 1;
	}
	return n;
}

/* The coding a response would get; FA_Z_NONE when it goes as it is. */
int fa_hres_coding(const struct fa_hreq *rq, const char *content_type, int64_t length)
{
	const struct fa_hserver_opts *o = &rq->w->s->o;
	const struct fa_h1_header *ae;
	enum fa_zkind kind;

	if (!content_type || !fa_henc_compressible(content_type) ||
	    (length >= 0 && (size_t)length < o->compress_min) ||
	    !(ae = fa_hreq_header(rq, "accept-encoding")))
		return FA_Z_NONE;
	/* a coding switched off (level 0) is as if the client had not offered it */
	kind = fa_henc_choose_among(ae->value, ae->value_len, o->zstd_level > 0,
				    o->gzip_level > 0);
	return kind;
}

/* Rewrites an ETag the application set into the coded representation's. */
static void etag_for(struct hs_res *res, enum fa_zkind kind)
{
	char *p = res->extra.data ? strstr(res->extra.data, "ETag: ") : NULL;
	char *eol, tag[128], coded[160];
	struct fa_buf b;
	size_t n;

	if (!p || !(eol = strchr(p, '\n')) || (n = (size_t)(eol - p - 6)) >= sizeof(tag))
		return;
	memcpy(tag, p + 6, n);
	tag[n] = '\0';
	if (!fa_henc_etag(coded, sizeof(coded), tag, kind))
		return;
	fa_buf_init(&b, 0);
	fa_buf_append(&b, res->extra.data, (size_t)(p - res->extra.data));
	fa_buf_printf(&b, "ETag: %s", coded);
	fa_buf_puts(&b, eol);
	fa_buf_reset(&res->extra);
	fa_buf_append(&res->extra, b.data, b.len);
	fa_buf_release(&b);
}

void hs_encode_start(struct fa_hreq *rq, struct hs_res *res, const char *content_type,
		     int64_t *length, int status)
{
	const struct fa_hserver_opts *o = &rq->w->s->o;
	enum fa_zkind kind;
	struct fa_error err;

	res->enc.kind = FA_Z_NONE;
	/* a 206 is a range of the identity representation's bytes: never coded */
	if (status < 200 || status == 204 || status == 206 || status == 304 || *length == 0 ||
	    !content_type ||
	    !fa_henc_compressible(content_type) || (!o->zstd_level && !o->gzip_level))
		return;
	fa_buf_puts(&res->extra, "Vary: Accept-Encoding\n");
	if ((kind = (enum fa_zkind)fa_hres_coding(rq, content_type, *length)) == FA_Z_NONE)
		return;
	if (fa_henc_init(&res->enc, kind, kind == FA_Z_ZSTD ? o->zstd_level : o->gzip_level,
			 &err)) {
		fa_henc_release(&res->enc);
		res->enc.kind = FA_Z_NONE;
		return;
	}
	res->enc.min_size = 0;
	rq->encoding = fa_z_name(kind);
	fa_buf_printf(&res->extra, "Content-Encoding: %s\n", rq->encoding);
	etag_for(res, kind);
	*length = -1;
}

void fa_hres_start(struct fa_hreq *rq, int status, const char *content_type, int64_t length)
{
	struct hs_res *res = rq->res;

	if (res->started)
		return;
	res->started = true;
	rq->status = status;
	hs_encode_start(rq, res, content_type, &length, status);
	rq->proto->start(rq, status, content_type, length);
	fa_buf_reset(&res->extra);
}

/* Bytes as they go on the wire (after content coding). */
static void send_body(struct fa_hreq *rq, const void *data, size_t n)
{
	if (n)
		rq->proto->send(rq, data, n);
}

/* Runs the encoder step and sends what it produced. */
static void encoded(struct fa_hreq *rq, int step, const void *data, size_t n)
{
	struct hs_res *res = rq->res;
	struct fa_buf z;
	struct fa_error err;
	enum fa_err rc;

	fa_buf_init(&z, 0);
	rc = step == 0 ? fa_henc_write(&res->enc, data, n, &z, &err) :
	     step == 1 ? fa_henc_flush(&res->enc, &z, &err) :
			 fa_henc_finish(&res->enc, &z, &err);
	if (!rc)
		send_body(rq, z.data, z.len);
	else
		res->coding_failed = true;      /* the client must not take it as whole */
	fa_buf_release(&z);
}

void fa_hres_write(struct fa_hreq *rq, const void *data, size_t n)
{
	if (!n || rq->head)
		return;
	rq->bytes_out += n;
	if (rq->res->enc.kind != FA_Z_NONE)
		encoded(rq, 0, data, n);
	else
		send_body(rq, data, n);
}

void fa_hres_flush(struct fa_hreq *rq)
{
	if (rq->res->enc.kind != FA_Z_NONE && !rq->head)
		encoded(rq, 1, NULL, 0);
}

bool fa_hres_writable(const struct fa_hreq *rq)
{
	return rq->proto->writable(rq);
}

void fa_hres_on_drain(struct fa_hreq *rq, void (*resume)(struct fa_hreq *, void *), void *arg)
{
	struct hs_res *res = rq->res;

	res->resume = resume;
	res->resume_arg = arg;
	rq->proto->on_drain(rq);
}

void fa_hres_on_abort(struct fa_hreq *rq, void (*abort)(struct fa_hreq *, void *), void *arg)
{
	struct hs_res *res = rq->res;

	res->abort = abort;
	res->abort_arg = arg;
	res->abort_at_stop = true;
}

void fa_hres_on_gone(struct fa_hreq *rq, void (*gone)(struct fa_hreq *, void *), void *arg)
{
	struct hs_res *res = rq->res;

	res->abort = gone;
	res->abort_arg = arg;
	res->abort_at_stop = false;
}

bool fa_hres_gone(const struct fa_hreq *rq)
{
	return rq->proto->gone(rq);
}

/* The encoder's last bytes, and its memory back. */
static void finish_coding(struct fa_hreq *rq, bool failed)
{
	struct hs_res *res = rq->res;

	if (res->enc.kind != FA_Z_NONE && !failed && !rq->head)
		encoded(rq, 2, NULL, 0);
	fa_henc_release(&res->enc);
	memset(&res->enc, 0, sizeof(res->enc));
}

static void end(struct fa_hreq *rq, bool failed)
{
	struct hs_res *res = rq->res;

	if (res->ended)
		return;
	if (!res->started)
		fa_hres_start(rq, 204, NULL, 0);
	finish_coding(rq, failed);
	failed |= res->coding_failed;
	res->ended = true;
	if (failed)
		rq->proto->reset(rq);
	else
		rq->proto->end(rq);
}

void fa_hres_end(struct fa_hreq *rq)
{
	end(rq, false);
}

/*
 * A response that failed after its head went out: HTTP/1.1 closes the
 * connection without the last chunk, HTTP/2 and HTTP/3 reset the stream,
 * so the client can tell the body was cut off.
 */
void fa_hres_fail(struct fa_hreq *rq)
{
	end(rq, true);
}

void fa_hres_simple(struct fa_hreq *rq, int status, const char *content_type, const char *body)
{
	size_t n = body ? strlen(body) : 0;

	fa_hres_start(rq, status, content_type, (int64_t)n);
	fa_hres_write(rq, body, n);
	fa_hres_end(rq);
}

const struct fa_h1_header *fa_hreq_header(const struct fa_hreq *rq, const char *name)
{
	for (int i = 0; i < rq->nheaders; i++)
		if (fa_h1_header_eq(&rq->headers[i], name))
			return &rq->headers[i];
	return NULL;
}
