/*
 * fa-mcp client: Streamable HTTP.  Each message is one POST; the answer
 * comes back as a JSON body or as a text/event-stream whose events carry
 * messages.  The 2025 era's Mcp-Session-Id is kept from the initialize
 * answer and sent on, and the session is DELETEd at the end; the 2026
 * era sends Mcp-Method and Mcp-Name beside MCP-Protocol-Version.  An HTTP
 * error without a JSON-RPC error in its body becomes one for the request
 * (code -32000), so that the client's era probe sees an answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "core/buf.h"
#include "core/stats.h"
#include "http/hclient.h"
#include "http/sse.h"
#include "mcp/jsonrpc.h"

#define MAX_HEADERS 48
#define CLOSE_WAIT_MS 2000

struct chttp {
	struct ctransport t;
	struct fa_loop *loop;
	struct fa_url url;
	struct fa_hclient *hc;
	char **extra;                   /* the user's "Name: value" headers */
	int nextra;
	char auth[2048];
	char session[256];
	/* the POST in flight */
	struct fa_hclient_req rq;
	struct fa_h1_header hdr[MAX_HEADERS];
	int nh;
	char *body;
	json_t *id;                     /* of the request sent; NULL for a notification */
	bool sse;
	bool answered;
	struct fa_sse parser;
	struct fa_buf in;               /* a JSON body */
	bool busy;
};

static void set_hdr(struct chttp *h, const char *name, const char *value)
{
	if (h->nh < MAX_HEADERS)
		h->hdr[h->nh++] = (struct fa_h1_header){ name, value, strlen(name), strlen(value) };
}

/* A message to the client; an answer to our request counts as the answer. */
static void deliver(struct chttp *h, const char *msg, size_t n)
{
	h->answered = true;
	h->t.on_message(&h->t, msg, n);
}

/* An HTTP failure as a JSON-RPC error for the request, so the client hears it. */
static void synthesize(struct chttp *h, int status, const char *body, size_t n)
{
	struct fa_buf b, m;

	if (!h->id)
		return;
	fa_buf_init(&m, 0);
	fa_buf_printf(&m, "HTTP %d %s%s%.*s", status, fa_h1_reason(status), n ? ": " : "",
		      (int)(n < 200 ? n : 200), body ? body : "");
	fa_buf_init(&b, 0);
	fa_jr_put_error(&b, h->id, -32000, m.data, NULL);
	deliver(h, b.data, b.len);
	fa_buf_release(&b);
	fa_buf_release(&m);
}

static void on_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res)
{
	struct chttp *h = rq->ctx;

	for (int i = 0; i < res->nheaders; i++) {
		const struct fa_h1_header *x = &res->headers[i];

		if (fa_h1_header_eq(x, "mcp-session-id") && x->value_len < sizeof(h->session))
			snprintf(h->session, sizeof(h->session), "%.*s", (int)x->value_len, x->value);
		if (fa_h1_header_eq(x, "content-type") && x->value_len >= 17 &&
		    !strncasecmp(x->value, "text/event-stream", 17))
			h->sse = res->status / 100 == 2;
	}
}

static void on_data(struct fa_hclient_req *rq, const char *data, size_t n)
{
	struct chttp *h = rq->ctx;
	struct fa_error err = { 0 };

	if (!h->sse) {
		if (fa_buf_append(&h->in, data, n))
			h->t.on_fail(&h->t, FA_EINPUT, "the server's answer is over 64 MiB");
		return;
	}
	while (n) {
		struct fa_sse_event ev;
		size_t used = 0;
		int rc = fa_sse_feed(&h->parser, data, n, &used, &ev, &err);

		if (rc < 0) {
			h->t.on_fail(&h->t, FA_EINPUT, err.msg);
			return;
		}
		data += used;
		n -= used;
		if (rc > 0 && ev.data_len)
			deliver(h, ev.data, ev.data_len);
	}
}

static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		    const char *msg)
{
	struct chttp *h = rq->ctx;
	struct fa_jr_msg m;
	struct fa_error err;

	h->busy = false;
	if (rc) {
		h->t.on_fail(&h->t, rc, msg);
	} else if (h->sse) {
		if (h->id && !h->answered)
			h->t.on_fail(&h->t, FA_EINPUT, "the event stream ended without an answer");
	} else if (res->status / 100 == 2) {
		if (h->in.len)
			deliver(h, h->in.data, h->in.len);
		else if (h->id)
			h->t.on_fail(&h->t, FA_EINPUT, "the server answered a request with an empty body");
	} else if (h->in.len && !fa_jr_parse(&m, h->in.data, h->in.len, &err) &&
		   m.kind == FA_JR_ERROR && m.id) {
		deliver(h, h->in.data, h->in.len);      /* a JSON-RPC error of its own */
		fa_jr_release(&m);
	} else {
		if (h->in.len)
			fa_jr_release(&m);
		synthesize(h, res->status, h->in.data, h->in.len);
	}
	fa_buf_reset(&h->in);
}

/* The headers of one POST: ours, the era's, then the user's. */
static void post_headers(struct chttp *h, const struct csend *info)
{
	h->nh = 0;
	set_hdr(h, "Content-Type", "application/json");
	set_hdr(h, "Accept", "application/json, text/event-stream");
	if (info->version)
		set_hdr(h, "MCP-Protocol-Version", info->version);
	if (h->session[0] && !info->modern)
		set_hdr(h, "Mcp-Session-Id", h->session);
	if (info->modern) {
		set_hdr(h, "Mcp-Method", info->method);
		if (info->name)
			set_hdr(h, "Mcp-Name", info->name);
	}
	if (h->auth[0])
		set_hdr(h, "Authorization", h->auth);
	for (int i = 0; i < h->nextra && h->nh < MAX_HEADERS; i++) {
		const char *colon = strchr(h->extra[i], ':'), *v = colon + 1;

		while (*v == ' ' || *v == '\t')
			v++;
		h->hdr[h->nh++] = (struct fa_h1_header){ h->extra[i], v, (size_t)(colon - h->extra[i]),
							 strlen(v) };
	}
}

static enum fa_err ch_send(struct ctransport *t, const char *msg, size_t len,
			   const struct csend *info, struct fa_error *err)
{
	struct chttp *h = (struct chttp *)t;
	struct fa_jr_msg m;

	if (h->busy)
		return fa_error_set(err, FA_EWORK, "a request is still in flight");
	json_decref(h->id);
	h->id = NULL;
	if (!fa_jr_parse(&m, msg, len, err) && m.id)
		h->id = json_incref(m.id);
	fa_jr_release(&m);
	free(h->body);
	h->body = malloc(len);
	memcpy(h->body, msg, len);
	post_headers(h, info);
	h->sse = h->answered = false;
	fa_sse_release(&h->parser);
	fa_sse_init(&h->parser, 0);
	fa_buf_reset(&h->in);
	h->rq = (struct fa_hclient_req){ .method = "POST", .target = h->url.target, .headers = h->hdr,
					 .nheaders = h->nh, .body = h->body, .body_len = len,
					 .stream = true, .on_head = on_head, .on_data = on_data,
					 .on_done = on_done, .ctx = h };
	h->busy = true;
	fa_hclient_request(h->hc, &h->rq);
	/* a notification's 202 is awaited here: the next POST may go only after it */
	while (!h->id && h->busy)
		fa_loop_run_once(h->loop, 100);
	return FA_OK;
}

static void delete_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
			enum fa_err rc, const char *msg)
{
	*(bool *)rq->ctx = true;
}

/* The 2025 era's session ends with DELETE (a 405 is an answer too). */
static void end_session(struct chttp *h)
{
	struct fa_h1_header hdr = { "Mcp-Session-Id", h->session, 14, strlen(h->session) };
	bool done = false;
	struct fa_hclient_req rq = { .method = "DELETE", .target = h->url.target, .headers = &hdr,
				     .nheaders = 1, .on_done = delete_done, .ctx = &done };
	uint64_t until = fa_now_ns() + (uint64_t)CLOSE_WAIT_MS * 1000000u;

	fa_hclient_request(h->hc, &rq);
	while (!done && fa_now_ns() < until)
		fa_loop_run_once(h->loop, 50);
}

static void ch_close(struct ctransport *t)
{
	struct chttp *h = (struct chttp *)t;

	if (h->session[0] && !h->busy)
		end_session(h);
	fa_hclient_free(h->hc);
	fa_sse_release(&h->parser);
	fa_buf_release(&h->in);
	json_decref(h->id);
	free(h->body);
	free(h);
}

struct ctransport *chttp_new(struct fa_loop *loop, const char *url, char **headers, int nheaders,
			     const char *bearer, int timeout_ms, struct fa_error *err)
{
	struct chttp *h = calloc(1, sizeof(*h));
	struct fa_hclient_opts o = { .timeout_ms = timeout_ms, .max_body = 64u << 20 };

	if (fa_url_parse(url, &h->url, err) || !(h->hc = fa_hclient_new(loop, &h->url, &o, err))) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	h->extra = headers;
	h->nextra = nheaders;
	if (bearer)
		snprintf(h->auth, sizeof(h->auth), "Bearer %s", bearer);
	fa_buf_init(&h->in, 64u << 20);
	fa_sse_init(&h->parser, 0);
	h->t = (struct ctransport){ .send = ch_send, .close = ch_close };
	return &h->t;
}
