#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zlib.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- the opening handshake ---- */

enum fa_err fa_ws_accept(const char *key, size_t n, char accept[FA_WS_ACCEPT_LEN + 1],
			 struct fa_error *err)
{
	unsigned char raw[20], sha[SHA_DIGEST_LENGTH];
	char buf[24 + sizeof(WS_GUID)];

	/* 16 bytes in base64: 22 characters and "==" */
	if (n != 24 || key[22] != '=' || key[23] != '=' ||
	    EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
		return fa_error_set(err, FA_EINPUT, "Sec-WebSocket-Key '%.*s' is not 16 bytes "
				    "in base64", n > 64 ? 64 : (int)n, key);
	memcpy(buf, key, 24);
	memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1((const unsigned char *)buf, 24 + sizeof(WS_GUID) - 1, sha);
	EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
	return FA_OK;
}

int fa_ws_handshake(const char *method, size_t method_len, const struct fa_h1_header *h, int n,
		    char accept[FA_WS_ACCEPT_LEN + 1], int *status, struct fa_error *err)
{
	const struct fa_h1_header *up = fa_h1_find(h, n, "upgrade");
	const struct fa_h1_header *conn = fa_h1_find(h, n, "connection");
	const struct fa_h1_header *key = fa_h1_find(h, n, "sec-websocket-key");
	const struct fa_h1_header *ver = fa_h1_find(h, n, "sec-websocket-version");

	if (!up || !conn || !fa_h1_has_token(up, "websocket") || !fa_h1_has_token(conn, "upgrade"))
		return 0;
	*status = 400;
	if (method_len != 3 || memcmp(method, "GET", 3)) {
		fa_error_set(err, FA_EINPUT, "a WebSocket handshake must be GET, not %.*s",
			     (int)(method_len > 16 ? 16 : method_len), method);
		return -1;
	}
	if (!ver || ver->value_len != 2 || memcmp(ver->value, "13", 2)) {
		*status = 426;
		fa_error_set(err, FA_EINPUT, "Sec-WebSocket-Version must be 13");
		return -1;
	}
	if (!key) {
		fa_error_set(err, FA_EINPUT, "a WebSocket handshake needs Sec-WebSocket-Key");
		return -1;
	}
	return fa_ws_accept(key->value, key->value_len, accept, err) ? -1 : 1;
}

/* ---- permessage-deflate's negotiation (RFC 7692 section 7.1) ---- */

/* One "name[=value]" parameter, its value unquoted: false when malformed. */
static bool param(const char *p, size_t n, char *name, size_t nn, char *value, size_t vn)
{
	const char *eq = memchr(p, '=', n);
	size_t k = eq ? (size_t)(eq - p) : n;

	while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
		k--;
	if (!k || k >= nn)
		return false;
	memcpy(name, p, k);
	name[k] = '\0';
	value[0] = '\0';
	if (!eq)
		return true;
	n -= (size_t)(eq - p) + 1;      /* k left out the blanks before '=' */
	for (p = eq + 1; n && (*p == ' ' || *p == '\t' || *p == '"'); p++, n--)
		;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '"'))
		n--;
	if (!n || n >= vn)
		return false;
	memcpy(value, p, n);
	value[n] = '\0';
	return true;
}

/* A window size parameter's value: 8..15, or -1. */
static int bits(const char *v)
{
	return strlen(v) <= 2 && v[0] >= '0' && v[0] <= '9' && atoi(v) >= 8 && atoi(v) <= 15 &&
	       v[strspn(v, "0123456789")] == '\0' ? atoi(v) : -1;
}

/* One permessage-deflate offer's parameters p[0..n): false to decline it. */
static bool take_offer(const char *p, size_t n, struct fa_ws_deflate *d)
{
	bool seen[4] = { false };
	char name[32], value[16];

	*d = (struct fa_ws_deflate){ .on = true, .server_bits = 15 };
	while (n) {
		const char *semi = memchr(p, ';', n);
		size_t k = semi ? (size_t)(semi - p) : n;
		int b = 15, i;

		while (k && (*p == ' ' || *p == '\t'))
			p++, k--, n--;
		if (!param(p, k, name, sizeof(name), value, sizeof(value)))
			return false;
		i = !strcmp(name, "server_no_context_takeover") ? 0 :
		    !strcmp(name, "client_no_context_takeover") ? 1 :
		    !strcmp(name, "server_max_window_bits") ? 2 :
		    !strcmp(name, "client_max_window_bits") ? 3 : -1;
		if (i < 0 || seen[i] || (i < 2 && value[0]) || (i == 2 && !value[0]) ||
		    (value[0] && (b = bits(value)) < 0) || (i == 2 && b < 9))
			return false;   /* zlib's raw deflate has no 8-bit window */
		seen[i] = true;
		if (i == 0)
			d->server_no_context = true;
		else if (i == 1)
			d->client_no_context = true;
		else if (i == 2)
			d->server_bits = b;
		if (!semi)
			break;
		n -= k + 1;
		p = semi + 1;
	}
	return true;
}

bool fa_ws_deflate_offer(const char *offer, size_t n, struct fa_ws_deflate *d, char *resp,
			 size_t cap)
{
	static const char name[] = "permessage-deflate";
	const char *p = offer, *end = offer + n;

	*d = (struct fa_ws_deflate){ 0 };
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end, *semi;
		size_t k;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		semi = memchr(p, ';', (size_t)(e - p));
		for (k = (size_t)((semi ? semi : e) - p); k && (p[k - 1] == ' ' || p[k - 1] == '\t'); k--)
			;
		if (k == sizeof(name) - 1 && !strncasecmp(p, name, k) &&
		    take_offer(semi ? semi + 1 : e, semi ? (size_t)(e - semi - 1) : 0, d)) {
			snprintf(resp, cap, "%s%s%s", name,
				 d->server_no_context ? "; server_no_context_takeover" : "",
				 d->client_no_context ? "; client_no_context_takeover" : "");
			if (d->server_bits < 15)
				snprintf(resp + strlen(resp), cap - strlen(resp),
					 "; server_max_window_bits=%d", d->server_bits);
			return true;
		}
		*d = (struct fa_ws_deflate){ 0 };
		p = comma ? comma + 1 : end;
	}
	return false;
}

/* ---- UTF-8, a byte at a time (RFC 3629 section 4) ---- */

/* Takes byte b; false at the first byte no valid sequence can have. */
static bool utf8_step(struct fa_ws *ws, unsigned char b)
{
	if (ws->utf8_need) {
		if (b < ws->utf8_lo || b > ws->utf8_hi)
			return false;
		ws->utf8_need--;
		ws->utf8_lo = 0x80;
		ws->utf8_hi = 0xBF;
		return true;
	}
	if (b < 0x80)
		return true;
	ws->utf8_lo = 0x80;
	ws->utf8_hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF)
		ws->utf8_need = 1;
	else if (b >= 0xE0 && b <= 0xEF)
		ws->utf8_need = 2;
	else if (b >= 0xF0 && b <= 0xF4)
		ws->utf8_need = 3;
	else
		return false;
	if (b == 0xE0)
		ws->utf8_lo = 0xA0;     /* overlong */
	else if (b == 0xED)
		ws->utf8_hi = 0x9F;     /* surrogates */
	else if (b == 0xF0)
		ws->utf8_lo = 0x90;     /* overlong */
	else if (b == 0xF4)
		ws->utf8_hi = 0x8F;     /* past U+10FFFF */
	return true;
}

static bool utf8_run(struct fa_ws *ws, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!utf8_step(ws, (unsigned char)s[i]))
			return false;
	return true;
}

bool fa_ws_utf8(const char *s, size_t n)
{
	struct fa_ws v = { 0 };

	return utf8_run(&v, s, n) && !v.utf8_need;
}

/* ---- the reader ---- */

void fa_ws_init(struct fa_ws *ws, bool server, size_t max)
{
	memset(ws, 0, sizeof(*ws));
	ws->server = server;
	ws->max = max ? max : FA_WS_MAX;
	fa_buf_init(&ws->msg, ws->max + 1);
	fa_buf_init(&ws->raw, ws->max + 8);
}

enum fa_err fa_ws_use_deflate(struct fa_ws *ws, const struct fa_ws_deflate *d,
			      struct fa_error *err)
{
	if (!d->on)
		return FA_OK;
	ws->zin = calloc(1, sizeof(*ws->zin));
	ws->zout = calloc(1, sizeof(*ws->zout));
	if (!ws->zin || !ws->zout || inflateInit2(ws->zin, -15) != Z_OK ||
	    deflateInit2(ws->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -d->server_bits, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(ws->zin);
		free(ws->zout);
		ws->zin = ws->zout = NULL;
		return fa_error_set(err, FA_ENOMEM, "permessage-deflate: zlib cannot start");
	}
	ws->deflate = *d;
	return FA_OK;
}

void fa_ws_release(struct fa_ws *ws)
{
	fa_buf_release(&ws->msg);
	fa_buf_release(&ws->raw);
	if (ws->zin) {
		inflateEnd(ws->zin);
		deflateEnd(ws->zout);
		free(ws->zin);
		free(ws->zout);
	}
	ws->zin = ws->zout = NULL;
}

static int fail(struct fa_ws *ws, struct fa_error *err, int code, const char *why)
{
	ws->close_code = code;
	fa_error_set(err, FA_EINPUT, "%s", why);
	return -1;
}

static bool is_control(enum fa_ws_op op)
{
	return op & 0x8;
}

/* The first two bytes of a frame: what they alone can break. */
static int check_start(struct fa_ws *ws, struct fa_error *err)
{
	unsigned char b0 = ws->head[0], b1 = ws->head[1];
	enum fa_ws_op op = b0 & 0x0F;

	if (b0 & 0x30)
		return fail(ws, err, FA_WS_PROTOCOL, "reserved bits RSV2 or RSV3 set");
	if (op > FA_WS_BINARY && op != FA_WS_CLOSE && op != FA_WS_PING && op != FA_WS_PONG)
		return fail(ws, err, FA_WS_PROTOCOL, "unknown opcode");
	if (b0 & 0x40 && (!ws->deflate.on || op == FA_WS_CONT || is_control(op)))
		return fail(ws, err, FA_WS_PROTOCOL, "reserved bit RSV1 set");
	if (is_control(op) && !(b0 & 0x80))
		return fail(ws, err, FA_WS_PROTOCOL, "fragmented control frame");
	if (is_control(op) && (b1 & 0x7F) > 125)
		return fail(ws, err, FA_WS_PROTOCOL, "control frame over 125 bytes");
	if (ws->server != !!(b1 & 0x80))
		return fail(ws, err, FA_WS_PROTOCOL, ws->server ? "unmasked frame from a client" :
			    "masked frame from a server");
	if (op == FA_WS_CONT && ws->msg_op == FA_WS_CONT)
		return fail(ws, err, FA_WS_PROTOCOL, "continuation frame outside a message");
	if ((op == FA_WS_TEXT || op == FA_WS_BINARY) && ws->msg_op != FA_WS_CONT)
		return fail(ws, err, FA_WS_PROTOCOL, "new message before the last one ended");
	return 0;
}

/* Bytes of the head, known once two are in. */
static size_t head_size(const struct fa_ws *ws)
{
	unsigned len7 = ws->head[1] & 0x7F;

	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (ws->head[1] & 0x80 ? 4 : 0);
}

/* The whole head: length, mask, and the message's size so far. */
static int take_head_done(struct fa_ws *ws, struct fa_error *err)
{
	unsigned len7 = ws->head[1] & 0x7F;
	size_t at = 2, have;
	uint64_t len = len7;

	if (len7 >= 126) {
		len = 0;
		for (size_t i = 0; i < (len7 == 126 ? 2u : 8u); i++)
			len = len << 8 | ws->head[at++];
		if (len >> 63)
			return fail(ws, err, FA_WS_PROTOCOL, "frame length over 2^63");
	}
	if ((ws->masked = ws->head[1] & 0x80))
		memcpy(ws->mask, ws->head + at, 4);
	ws->op = ws->head[0] & 0x0F;
	ws->fin = ws->head[0] & 0x80;
	ws->rsv1 = ws->head[0] & 0x40;
	ws->left = len;
	ws->at = 0;
	ws->head_len = 0;
	ws->in_payload = true;
	if (is_control(ws->op)) {
		ws->ctl_len = 0;
		return 0;
	}
	if (ws->op != FA_WS_CONT) {
		ws->msg_op = ws->op;
		ws->msg_deflated = ws->rsv1;
	}
	have = ws->msg_deflated ? ws->raw.len : ws->msg.len;
	if (len > ws->max || have + len > ws->max)
		return fail(ws, err, FA_WS_TOO_BIG, "message over the size limit");
	return 0;
}

/* Takes head bytes from in[*i..n); 0 (the head may still be partial) or -1. */
static int take_head(struct fa_ws *ws, const char *in, size_t n, size_t *i, struct fa_error *err)
{
	while (*i < n) {
		ws->head[ws->head_len++] = (unsigned char)in[(*i)++];
		if (ws->head_len == 2 && check_start(ws, err))
			return -1;
		if (ws->head_len >= 2 && ws->head_len == head_size(ws))
			return take_head_done(ws, err);
	}
	return 0;
}

/* Payload bytes from in[*i..n), unmasked into the frame's place. */
static int take_payload(struct fa_ws *ws, const char *in, size_t n, size_t *i,
			struct fa_error *err)
{
	size_t k = n - *i < ws->left ? n - *i : (size_t)ws->left;
	struct fa_buf *b = ws->msg_deflated ? &ws->raw : &ws->msg;
	char *dst;

	if (!k)
		return 0;
	if (is_control(ws->op)) {
		dst = ws->ctl + ws->ctl_len;
		ws->ctl_len += k;
	} else {
		if (fa_buf_grow(b, k))
			return fail(ws, err, FA_WS_TOO_BIG, "message over the size limit");
		dst = b->data + b->len;
		b->len += k;
		b->data[b->len] = '\0';
	}
	for (size_t j = 0; j < k; j++)
		dst[j] = (char)(in[*i + j] ^ (ws->masked ? ws->mask[(ws->at + j) & 3] : 0));
	*i += k;
	ws->at += k;
	ws->left -= k;
	if (!is_control(ws->op) && ws->msg_op == FA_WS_TEXT && !ws->msg_deflated &&
	    !utf8_run(ws, dst, k))
		return fail(ws, err, FA_WS_BAD_DATA, "text message is not UTF-8");
	return 0;
}

/* A close frame's code and reason into m. */
static int close_frame(struct fa_ws *ws, struct fa_ws_msg *m, struct fa_error *err)
{
	int code;

	ws->ctl[ws->ctl_len] = '\0';
	*m = (struct fa_ws_msg){ .op = FA_WS_CLOSE, .data = ws->ctl, .code = FA_WS_NO_STATUS };
	if (!ws->ctl_len)
		return 1;
	if (ws->ctl_len == 1)
		return fail(ws, err, FA_WS_PROTOCOL, "close frame of one byte");
	code = (unsigned char)ws->ctl[0] << 8 | (unsigned char)ws->ctl[1];
	if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	      (code >= 3000 && code <= 4999)))
		return fail(ws, err, FA_WS_PROTOCOL, "close code that may not be sent");
	if (!fa_ws_utf8(ws->ctl + 2, ws->ctl_len - 2))
		return fail(ws, err, FA_WS_BAD_DATA, "close reason is not UTF-8");
	m->code = code;
	m->data = ws->ctl + 2;
	m->len = ws->ctl_len - 2;
	return 1;
}

/* Inflates the message's compressed bytes into ws->msg, at most max of them. */
static int inflate_msg(struct fa_ws *ws, struct fa_error *err)
{
	z_stream *z = ws->zin;
	int zr = Z_OK;

	if (fa_buf_append(&ws->raw, "\x00\x00\xff\xff", 4))
		return fail(ws, err, FA_WS_TOO_BIG, "message over the size limit");
	z->next_in = (Bytef *)ws->raw.data;
	z->avail_in = (uInt)ws->raw.len;
	do {
		/* msg holds max + 1: one byte more than max says it is too big */
		size_t room = ws->max + 1 - ws->msg.len;

		if (room > 16384)
			room = 16384;
		if (fa_buf_grow(&ws->msg, room))
			return fail(ws, err, FA_WS_TOO_BIG, "message over the size limit once inflated");
		z->next_out = (Bytef *)ws->msg.data + ws->msg.len;
		z->avail_out = (uInt)room;
		zr = inflate(z, Z_SYNC_FLUSH);
		ws->msg.len = (size_t)((char *)z->next_out - ws->msg.data);
		ws->msg.data[ws->msg.len] = '\0';
		if (ws->msg.len > ws->max)
			return fail(ws, err, FA_WS_TOO_BIG, "message over the size limit once inflated");
	} while ((z->avail_in || !z->avail_out) && zr == Z_OK);
	if (zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END)
		return fail(ws, err, FA_WS_BAD_DATA, "compressed message does not inflate");
	if (ws->deflate.client_no_context || zr == Z_STREAM_END)
		inflateReset(z);
	return 0;
}

/* A frame's last byte is in: a control frame or a whole message goes out. */
static int frame_done(struct fa_ws *ws, struct fa_ws_msg *m, struct fa_error *err)
{
	ws->in_payload = false;
	if (ws->op == FA_WS_CLOSE)
		return close_frame(ws, m, err);
	if (is_control(ws->op)) {
		ws->ctl[ws->ctl_len] = '\0';
		*m = (struct fa_ws_msg){ .op = ws->op, .data = ws->ctl, .len = ws->ctl_len };
		return 1;
	}
	if (!ws->fin)
		return 0;
	if (ws->msg_deflated && inflate_msg(ws, err))
		return -1;
	if (ws->msg_op == FA_WS_TEXT && !ws->msg_deflated && ws->utf8_need)
		return fail(ws, err, FA_WS_BAD_DATA, "text message ends inside a UTF-8 character");
	if (ws->msg_op == FA_WS_TEXT && ws->msg_deflated && !fa_ws_utf8(ws->msg.data, ws->msg.len))
		return fail(ws, err, FA_WS_BAD_DATA, "text message is not UTF-8");
	*m = (struct fa_ws_msg){ .op = ws->msg_op, .data = ws->msg.data ? ws->msg.data : "",
				 .len = ws->msg.len };
	ws->deliver_reset = true;
	return 1;
}

int fa_ws_feed(struct fa_ws *ws, const char *in, size_t n, size_t *used, struct fa_ws_msg *m,
	       struct fa_error *err)
{
	size_t i = 0;
	int rc = 0;

	*used = 0;
	if (ws->close_code)
		return fail(ws, err, ws->close_code, "the stream failed before");
	if (ws->deliver_reset) {
		fa_buf_reset(&ws->msg);
		fa_buf_reset(&ws->raw);
		ws->msg_op = FA_WS_CONT;
		ws->utf8_need = 0;
		ws->deliver_reset = false;
	}
	while (rc == 0) {
		if (!ws->in_payload) {
			if (i == n || take_head(ws, in, n, &i, err) < 0 || !ws->in_payload) {
				rc = ws->close_code ? -1 : 0;
				break;
			}
		}
		if (take_payload(ws, in, n, &i, err) < 0) {
			rc = -1;
			break;
		}
		if (ws->left)
			break;  /* all of in was taken */
		rc = frame_done(ws, m, err);
	}
	*used = i;
	return rc;
}

/* ---- writers ---- */

enum fa_err fa_ws_frame(struct fa_buf *out, enum fa_ws_op op, bool fin, bool rsv1,
			const void *data, size_t n, const unsigned char *mask)
{
	unsigned char h[14];
	size_t k = 2;
	const unsigned char *p = data;

	h[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	h[1] = mask ? 0x80 : 0;
	if (n < 126) {
		h[1] |= (unsigned char)n;
	} else if (n <= 0xFFFF) {
		h[1] |= 126;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[1] |= 127;
		for (int s = 56; s >= 0; s -= 8)
			h[k++] = (unsigned char)((uint64_t)n >> s);
	}
	if (mask)
		for (int j = 0; j < 4; j++)
			h[k++] = mask[j];
	if (fa_buf_append(out, h, k) || fa_buf_grow(out, n))
		return FA_ENOMEM;
	for (size_t j = 0; j < n; j++)
		out->data[out->len + j] = (char)(p[j] ^ (mask ? mask[j & 3] : 0));
	out->len += n;
	out->data[out->len] = '\0';
	return FA_OK;
}

/* data deflated and flushed, without the 00 00 ff ff tail, into z's output. */
static enum fa_err deflate_msg(struct fa_ws *ws, struct fa_buf *tmp, const void *data, size_t n)
{
	z_stream *z = ws->zout;

	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)n;
	do {
		if (fa_buf_grow(tmp, n / 2 + 64))
			return FA_ENOMEM;
		z->next_out = (Bytef *)tmp->data + tmp->len;
		z->avail_out = (uInt)(tmp->cap - tmp->len - 1);
		if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return FA_ENOMEM;
		tmp->len = (size_t)((char *)z->next_out - tmp->data);
	} while (z->avail_out == 0 || z->avail_in);
	if (tmp->len >= 4 && !memcmp(tmp->data + tmp->len - 4, "\x00\x00\xff\xff", 4))
		tmp->len -= 4;
	if (ws->deflate.server_no_context)
		deflateReset(z);
	return FA_OK;
}

enum fa_err fa_ws_message(struct fa_ws *ws, struct fa_buf *out, enum fa_ws_op op,
			  const void *data, size_t n)
{
	struct fa_buf tmp;
	enum fa_err rc;

	if (!ws->deflate.on || n < 32)  /* too small to gain */
		return fa_ws_frame(out, op, true, false, data, n, NULL);
	fa_buf_init(&tmp, 0);
	rc = deflate_msg(ws, &tmp, data, n);
	if (!rc)
		rc = fa_ws_frame(out, op, true, true, tmp.data, tmp.len, NULL);
	fa_buf_release(&tmp);
	return rc;
}

enum fa_err fa_ws_close(struct fa_buf *out, int code, const char *reason)
{
	char p[125];
	size_t n = reason ? strlen(reason) : 0;

	if (code == FA_WS_NO_STATUS || code <= 0)
		return fa_ws_frame(out, FA_WS_CLOSE, true, false, "", 0, NULL);
	if (n > 123)
		n = 123;
	while (n && ((unsigned char)reason[n] & 0xC0) == 0x80)
		n--;    /* cut before a continuation byte: on a character */
	p[0] = (char)(code >> 8);
	p[1] = (char)code;
	memcpy(p + 2, reason ? reason : "", n);
	return fa_ws_frame(out, FA_WS_CLOSE, true, false, p, n + 2, NULL);
}
