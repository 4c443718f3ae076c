/*
 * fa-mcp client: Streamable HTTP, and the HTTP+SSE transport of 2024-11-05
 * that servers before it speak.
 *
 * Streamable HTTP: each message is one POST; the answer comes back as a
 * JSON body or as a text/event-stream whose events carry messages.  The
 * 2025 era's Mcp-Session-Id is kept from the answers of a session's
 * initialize on and sent on, and the session is DELETEd at the end; the
 * 2026 era sends Mcp-Method and Mcp-Name beside MCP-Protocol-Version.  An
 * HTTP error without a JSON-RPC error in its body becomes one for the
 * request (code -32000), so that the client's era probe sees an answer.
 *
 * A POST's event stream that ends before the answer, after an event with
 * an id, is resumed as the 2025-11-25 transport page says: after the
 * stream's retry time (1 s when it set none), a GET with Last-Event-ID on
 * a second connection, whose events carry the answer; again when that one
 * ends too, up to MAX_RESUMES times in a row.
 *
 * A 401 with --client-id and --client-secret given gets a token by OAuth's
 * client credentials grant (coauth.c), and the message goes once more.
 *
 * Requests of the server's get their answers by POST on a third
 * connection, since the first may be busy with the stream that carried
 * them.
 *
 * The fallback, as the spec's backwards-compatibility section says: when
 * the POST of initialize is answered 400, 404 or 405 without a JSON-RPC
 * error of its own, the URL is opened with GET as an event stream (on the
 * second connection, kept open), its first event, "endpoint", names where
 * to POST, and the answers come as "message" events on the stream.
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
#define END_WAIT_MS 1000                /* for the end of an answered POST */
#define RETRY_MS 1000                   /* before resuming, when the stream set no retry */
#define MAX_RESUMES 5

enum legacy { L_NO, L_WAIT_ENDPOINT, L_ON };

struct chttp {
	struct ctransport t;
	struct fa_loop *loop;
	struct fa_url url;
	struct fa_hclient *hc;          /* POSTs and the DELETE */
	struct fa_hclient *rhc;         /* answers to the server's requests, while a POST streams */
	char **extra;                   /* the user's "Name: value" headers */
	int nextra;
	char auth[4096];
	char session[256];
	const struct coauth *cred;      /* for OAuth's client credentials grant, or NULL */
	struct fa_tls *tls;             /* https: the caller's context, or NULL */
	bool auth_wanted;               /* a 401 that cred may answer */
	int auth_tries;
	char target_url[4400];          /* the URL as given, for OAuth's resource */
	int timeout_ms;
	/* the POST in flight, and what it carried */
	struct fa_hclient_req rq;
	struct fa_h1_header hdr[MAX_HEADERS];
	int nh;
	char *body;
	size_t body_len;
	json_t *id;                     /* of the request sent; NULL for a notification */
	char method[64];
	char *name;                     /* Mcp-Name, or NULL */
	char version[32];               /* MCP-Protocol-Version, or "" */
	bool modern;
	int status;
	char challenge[512];            /* WWW-Authenticate of a 401 */
	bool sse;
	bool answered;                  /* the answer to id came, by POST or GET */
	struct fa_sse parser;
	struct fa_buf in;               /* a JSON body */
	bool busy;
	/* the GET stream: a resumed answer, or the legacy transport's channel */
	struct fa_hclient *ghc;
	struct fa_hclient_req grq;
	struct fa_h1_header ghdr[MAX_HEADERS];
	int ngh;
	struct fa_sse gparser;
	int gstatus;
	bool gsse;
	bool gbusy;
	char last_id[512];
	struct fa_timer resume;
	int resumes;
	/* legacy HTTP+SSE */
	enum legacy legacy;
	int post_status;                /* what the POST of initialize got */
	char post_target[sizeof(((struct fa_url *)0)->target)];
	bool closing;
	bool dropping;                  /* hc goes, with the end of an answered POST */
	bool clone;                     /* another way into a session (chttp_clone): its end is not ours */
	/* chttp_stand(): the session's own GET stream */
	struct fa_hclient *shc;
	struct fa_hclient_req srq;
	struct fa_h1_header shdr[MAX_HEADERS];
	struct fa_sse sparser;
	bool ssse;                      /* it answered with an event stream */
	bool sbusy;
	struct fa_timer restand;
};

static void add_hdr(struct fa_h1_header *a, int *n, const char *name, const char *value)
{
	if (*n < MAX_HEADERS)
		a[(*n)++] = (struct fa_h1_header){ name, value, strlen(name), strlen(value) };
}

/* Authorization and the user's headers, after ours. */
static void user_headers(struct chttp *h, struct fa_h1_header *a, int *n)
{
	if (h->auth[0])
		add_hdr(a, n, "Authorization", h->auth);
	for (int i = 0; i < h->nextra && *n < MAX_HEADERS; i++) {
		const char *colon = strchr(h->extra[i], ':'), *v = colon + 1;

		while (*v == ' ' || *v == '\t')
			v++;
		a[(*n)++] = (struct fa_h1_header){ h->extra[i], v, (size_t)(colon - h->extra[i]), strlen(v) };
	}
}

static bool is_event_stream(const struct fa_hclient_res *res)
{
	for (int i = 0; i < res->nheaders; i++) {
		const struct fa_h1_header *x = &res->headers[i];

		if (fa_h1_header_eq(x, "content-type") && x->value_len >= 17 &&
		    !strncasecmp(x->value, "text/event-stream", 17))
			return true;
	}
	return false;
}

/* True when msg is the response to the request in flight. */
static bool answers(const struct chttp *h, const char *msg, size_t n)
{
	json_t *v;
	bool yes;

	if (!h->id || !(v = json_loadb(msg, n, 0, NULL)))
		return false;
	yes = json_equal(json_object_get(v, "id"), h->id) &&
	      (json_object_get(v, "result") || json_object_get(v, "error"));
	json_decref(v);
	return yes;
}

/* A message to the client. */
static void deliver(struct chttp *h, const char *msg, size_t n)
{
	if (answers(h, msg, n))
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


static void start_get(struct chttp *h, const char *last_id);
static void on_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res);
static void on_data(struct fa_hclient_req *rq, const char *data, size_t n);
static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		    const char *msg);

/* Sends the message of ch_send (again, after a fallback) to where it goes. */
static void post(struct chttp *h)
{
	h->nh = 0;
	add_hdr(h->hdr, &h->nh, "Content-Type", "application/json");
	add_hdr(h->hdr, &h->nh, "Accept", "application/json, text/event-stream");
	if (h->legacy == L_NO) {
		if (h->version[0])
			add_hdr(h->hdr, &h->nh, "MCP-Protocol-Version", h->version);
		if (h->session[0] && !h->modern)
			add_hdr(h->hdr, &h->nh, "Mcp-Session-Id", h->session);
		if (h->modern) {
			add_hdr(h->hdr, &h->nh, "Mcp-Method", h->method);
			if (h->name)
				add_hdr(h->hdr, &h->nh, "Mcp-Name", h->name);
		}
	}
	user_headers(h, h->hdr, &h->nh);
	h->sse = false;
	h->status = 0;
	fa_sse_release(&h->parser);
	fa_sse_init(&h->parser, 0);
	fa_buf_reset(&h->in);
	h->rq = (struct fa_hclient_req){ .method = "POST",
					 .target = h->legacy == L_ON ? h->post_target : h->url.target,
					 .headers = h->hdr, .nheaders = h->nh, .body = h->body,
					 .body_len = h->body_len, .stream = true, .on_head = on_head,
					 .on_data = on_data, .on_done = on_done, .ctx = h };
	h->busy = true;
	fa_hclient_request(h->hc, &h->rq);
}

/*
 * The legacy stream's endpoint event: where messages go from now on.  A
 * path, or a URL of the same origin (the POSTs carry the Authorization of
 * the target, so they go nowhere else), or a path relative to the URL's.
 */
static void endpoint(struct chttp *h, const char *uri)
{
	struct fa_error err = { 0 };
	struct fa_url u;
	const char *slash;

	if (!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8)) {
		if (fa_url_parse(uri, &u, &err) || strcasecmp(u.scheme, h->url.scheme) ||
		    strcasecmp(u.host, h->url.host) || u.port != h->url.port) {
			h->t.on_fail(&h->t, FA_EINPUT, "the server's endpoint event names another origin");
			return;
		}
		snprintf(h->post_target, sizeof(h->post_target), "%s", u.target);
	} else if (uri[0] == '/') {
		snprintf(h->post_target, sizeof(h->post_target), "%s", uri);
	} else {
		slash = strrchr(h->url.target, '/');
		snprintf(h->post_target, sizeof(h->post_target), "%.*s%s",
			 (int)(slash ? slash - h->url.target + 1 : 0), h->url.target, uri);
	}
	h->legacy = L_ON;
	post(h);
}

/* Feeds an event stream's bytes to p: each message event to the client. */
static void feed_events(struct chttp *h, struct fa_sse *p, const char *data, size_t n, bool get)
{
	struct fa_error err = { 0 };

	while (n) {
		struct fa_sse_event ev;
		size_t used = 0;
		int rc = fa_sse_feed(p, data, n, &used, &ev, &err);

		if (rc < 0) {
			h->t.on_fail(&h->t, FA_EINPUT, err.msg);
			return;
		}
		data += used;
		n -= used;
		if (rc == 0 || !ev.data_len)
			continue;
		if (get && h->legacy == L_WAIT_ENDPOINT) {
			if (ev.type_len == 8 && !memcmp(ev.type, "endpoint", 8))
				endpoint(h, ev.data);
		} else if (ev.type_len == 7 && !memcmp(ev.type, "message", 7)) {
			deliver(h, ev.data, ev.data_len);
		}
	}
}

/* A stream ended before the answer: resumed from its last event id if it gave one. */
static void stream_ended(struct chttp *h, const struct fa_sse *p)
{
	size_t n = 0;
	const char *id = fa_sse_last_id(p, &n);
	char msg[128];

	if (h->legacy == L_NO && n && n < sizeof(h->last_id) && h->resumes < MAX_RESUMES) {
		memcpy(h->last_id, id, n);
		h->last_id[n] = 0;
		h->resumes++;
		fa_timer_start(h->loop, &h->resume, p->retry >= 0 ? (uint64_t)p->retry : RETRY_MS);
		return;
	}
	snprintf(msg, sizeof(msg), "the event stream ended without an answer%s",
		 h->resumes ? ", resumed as often as it may be" : "");
	h->t.on_fail(&h->t, FA_EINPUT, msg);
}

static void on_resume(struct fa_timer *t)
{
	struct chttp *h = t->ctx;

	if (h->id && !h->answered)
		start_get(h, h->last_id);
}

static void on_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res)
{
	struct chttp *h = rq->ctx;

	h->status = res->status;
	h->sse = res->status / 100 == 2 && is_event_stream(res);
	h->challenge[0] = 0;
	for (int i = 0; i < res->nheaders; i++) {
		const struct fa_h1_header *x = &res->headers[i];

		if (fa_h1_header_eq(x, "www-authenticate"))
			snprintf(h->challenge, sizeof(h->challenge), "%.*s",
				 (int)(x->value_len < 400 ? x->value_len : 400), x->value);
		if (h->legacy != L_NO)
			continue;

		if (fa_h1_header_eq(x, "mcp-session-id") && x->value_len < sizeof(h->session))
			snprintf(h->session, sizeof(h->session), "%.*s", (int)x->value_len, x->value);
	}
}

static void on_data(struct fa_hclient_req *rq, const char *data, size_t n)
{
	struct chttp *h = rq->ctx;

	if (h->sse)
		feed_events(h, &h->parser, data, n, false);
	else if (fa_buf_append(&h->in, data, n))
		h->t.on_fail(&h->t, FA_EINPUT, "the server's answer is over 64 MiB");
}

/* A JSON-RPC error for our request in an HTTP error's body. */
static bool own_error(struct chttp *h)
{
	struct fa_error err;
	struct fa_jr_msg m;
	bool yes;

	if (!h->in.len)
		return false;
	/* the message needs its release whatever the parse said */
	yes = !fa_jr_parse(&m, h->in.data, h->in.len, &err) && m.kind == FA_JR_ERROR && m.id;
	fa_jr_release(&m);
	return yes;
}

/*
 * 401 and 403 end the session, unless client credentials may get a token
 * after a 401 (ch_reauth, called by the client outside the callbacks).
 */
static void unauthorized(struct chttp *h, int st)
{
	char m[1200];

	snprintf(m, sizeof(m), "%.300s: HTTP %d %s%s%s%s: %s", h->url.target, st, fa_h1_reason(st),
		 h->challenge[0] ? " (WWW-Authenticate: " : "", h->challenge, h->challenge[0] ? ")" : "",
		 st == 403 ? "the token is not good enough" :
		 h->auth[0] ? "the token was refused" : "give a token with --bearer, or --client-id "
		 "and --client-secret");
	h->auth_wanted = st == 401 && h->cred && h->auth_tries < 2;
	h->t.on_fail(&h->t, FA_ECONNECT, m);
}

static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		    const char *msg)
{
	struct chttp *h = rq->ctx;
	int st = res->status;

	h->busy = false;
	if (h->closing || h->dropping)
		return;
	if (rc) {
		h->t.on_fail(&h->t, rc, msg);
	} else if (h->sse) {
		if (h->id && !h->answered)
			stream_ended(h, &h->parser);
	} else if (st / 100 == 2) {
		/* legacy: answers come on the stream; a notification's body says nothing */
		if (h->legacy == L_ON || !h->id)
			;
		else if (!h->in.len)
			h->t.on_fail(&h->t, FA_EINPUT, "the server answered a request with an empty body");
		else
			deliver(h, h->in.data, h->in.len);
	} else if (st == 404 && h->legacy == L_NO && h->session[0] && !h->modern &&
		   strcmp(h->method, "initialize")) {
		/* the 2025 transport page: a 404 for a session means a new one is needed */
		char m[400];

		snprintf(m, sizeof(m), "%.300s answered HTTP 404: the session is gone", h->url.target);
		h->session[0] = 0;
		h->t.gone = true;
		h->t.on_fail(&h->t, FA_ECONNECT, m);
	} else if (own_error(h)) {
		deliver(h, h->in.data, h->in.len);
	} else if (st == 401 || st == 403) {
		unauthorized(h, st);
	} else if (h->legacy == L_NO && !strcmp(h->method, "initialize") &&
		   (st == 400 || st == 404 || st == 405)) {
		h->post_status = st;
		h->legacy = L_WAIT_ENDPOINT;
		start_get(h, NULL);
	} else {
		synthesize(h, st, h->in.data, h->in.len);
	}
	fa_buf_reset(&h->in);
}

static void g_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res)
{
	struct chttp *h = rq->ctx;

	h->gstatus = res->status;
	h->gsse = res->status / 100 == 2 && is_event_stream(res);
}

static void g_data(struct fa_hclient_req *rq, const char *data, size_t n)
{
	struct chttp *h = rq->ctx;

	if (h->gsse)
		feed_events(h, &h->gparser, data, n, true);
}

static void g_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		   const char *msg)
{
	struct chttp *h = rq->ctx;
	char m[1024];

	h->gbusy = false;
	if (rc == FA_EINTR || h->closing)
		return;
	if (h->legacy == L_WAIT_ENDPOINT) {
		if (rc)
			snprintf(m, sizeof(m), "%.200s answered POST with HTTP %d, and its GET failed: %.600s",
				 h->url.target, h->post_status, msg);
		else
			snprintf(m, sizeof(m), "%.200s answered POST with HTTP %d, and GET with HTTP %d %s: "
				 "neither Streamable HTTP nor HTTP+SSE is served there", h->url.target,
				 h->post_status, res->status, h->gsse ? "and no endpoint event" :
				 "without an event stream");
		h->t.on_fail(&h->t, FA_ECONNECT, m);
	} else if (h->legacy == L_ON) {
		h->t.on_fail(&h->t, FA_ECONNECT, rc ? msg : "the server closed its event stream");
	} else if (rc) {
		h->t.on_fail(&h->t, rc, msg);
	} else if (!h->gsse) {
		snprintf(m, sizeof(m), "resuming the answer, GET %.200s was answered with HTTP %d, "
			 "not an event stream", h->url.target, res->status);
		h->t.on_fail(&h->t, FA_EINPUT, m);
	} else if (h->id && !h->answered) {
		stream_ended(h, &h->gparser);
	}
}

/* A GET of the URL as an event stream on the second connection. */
static void start_get(struct chttp *h, const char *last_id)
{
	struct fa_hclient_opts o = { .max_body = 64u << 20, .tls = h->tls };
	struct fa_error err = { 0 };

	if (h->gbusy) {                 /* a stream still open from before: not this one */
		fa_hclient_free(h->ghc);
		h->ghc = NULL;
	}
	if (!h->ghc && !(h->ghc = fa_hclient_new(h->loop, &h->url, &o, &err))) {
		h->t.on_fail(&h->t, err.code, err.msg);
		return;
	}
	h->ngh = 0;
	add_hdr(h->ghdr, &h->ngh, "Accept", "text/event-stream");
	if (h->legacy == L_NO) {
		if (h->version[0])
			add_hdr(h->ghdr, &h->ngh, "MCP-Protocol-Version", h->version);
		if (h->session[0] && !h->modern)
			add_hdr(h->ghdr, &h->ngh, "Mcp-Session-Id", h->session);
	}
	if (last_id)
		add_hdr(h->ghdr, &h->ngh, "Last-Event-ID", last_id);
	user_headers(h, h->ghdr, &h->ngh);
	fa_sse_release(&h->gparser);
	fa_sse_init(&h->gparser, 0);
	h->gsse = false;
	h->gstatus = 0;
	h->gbusy = true;
	h->grq = (struct fa_hclient_req){ .method = "GET", .target = h->url.target, .headers = h->ghdr,
					  .nheaders = h->ngh, .stream = true, .on_head = g_head,
					  .on_data = g_data, .on_done = g_done, .ctx = h };
	fa_hclient_request(h->ghc, &h->grq);
}

/*
 * The POST before this one is still going though its answer came: the
 * legacy transport's 202 may come after the answer it sent on the stream,
 * and a server may keep an answered event stream open.  A moment for its
 * end, then its connection goes and a new one takes the next POST.
 */
static enum fa_err end_post(struct chttp *h, struct fa_error *err)
{
	struct fa_hclient_opts o = { .timeout_ms = h->timeout_ms, .max_body = 64u << 20,
				     .tls = h->tls };
	uint64_t until = fa_now_ns() + (uint64_t)END_WAIT_MS * 1000000u;

	if (h->id && !h->answered)
		return fa_error_set(err, FA_EWORK, "a request is still in flight");
	while (h->busy && fa_now_ns() < until)
		fa_loop_run_once(h->loop, 10);
	if (!h->busy)
		return FA_OK;
	h->dropping = true;
	fa_hclient_free(h->hc);
	h->dropping = false;
	h->busy = false;
	if (!(h->hc = fa_hclient_new(h->loop, &h->url, &o, err)))
		return err->code;
	return FA_OK;
}

static enum fa_err ch_send(struct ctransport *t, const char *msg, size_t len,
			   const struct csend *info, struct fa_error *err)
{
	struct chttp *h = (struct chttp *)t;
	struct fa_jr_msg m;
	enum fa_err rc;

	if (h->busy && (rc = end_post(h, err)))
		return rc;
	json_decref(h->id);
	h->id = NULL;
	if (!fa_jr_parse(&m, msg, len, err) && m.id)
		h->id = json_incref(m.id);
	fa_jr_release(&m);
	h->answered = false;
	h->resumes = 0;
	free(h->body);
	h->body = malloc(len);
	memcpy(h->body, msg, len);
	h->body_len = len;
	snprintf(h->method, sizeof(h->method), "%s", info->method);
	free(h->name);
	h->name = info->name ? strdup(info->name) : NULL;
	snprintf(h->version, sizeof(h->version), "%s", info->version ? info->version : "");
	h->modern = info->modern;
	if (!strcmp(h->method, "initialize"))
		h->session[0] = 0;      /* a new session: only its answers name it */
	post(h);
	/* a notification's 202 is awaited here: the next POST may go only after it */
	while (!h->id && h->busy)
		fa_loop_run_once(h->loop, 100);
	return FA_OK;
}

/* One answer to a request of the server's, in flight on rhc. */
struct creply {
	struct fa_hclient_req rq;
	struct fa_h1_header hdr[MAX_HEADERS];
	char body[];
};

static void reply_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		       const char *msg)
{
	free(rq->ctx);
}

static void ch_reply(struct ctransport *t, const char *msg, size_t len)
{
	struct chttp *h = (struct chttp *)t;
	struct fa_hclient_opts o = { .timeout_ms = 10000, .tls = h->tls };
	struct fa_error err = { 0 };
	struct creply *r;
	int n = 0;

	if (!h->rhc && !(h->rhc = fa_hclient_new(h->loop, &h->url, &o, &err)))
		return;
	r = calloc(1, sizeof(*r) + len);
	memcpy(r->body, msg, len);
	add_hdr(r->hdr, &n, "Content-Type", "application/json");
	add_hdr(r->hdr, &n, "Accept", "application/json, text/event-stream");
	if (h->legacy == L_NO && h->version[0])
		add_hdr(r->hdr, &n, "MCP-Protocol-Version", h->version);
	if (h->legacy == L_NO && h->session[0] && !h->modern)
		add_hdr(r->hdr, &n, "Mcp-Session-Id", h->session);
	user_headers(h, r->hdr, &n);
	r->rq = (struct fa_hclient_req){ .method = "POST",
					 .target = h->legacy == L_ON ? h->post_target : h->url.target,
					 .headers = r->hdr, .nheaders = n, .body = r->body, .body_len = len,
					 .on_done = reply_done, .ctx = r };
	fa_hclient_request(h->rhc, &r->rq);
}

static bool ch_reauth(struct ctransport *t, struct fa_error *err)
{
	struct chttp *h = (struct chttp *)t;
	char token[4000];

	if (!h->auth_wanted)
		return false;
	h->auth_wanted = false;
	h->auth_tries++;
	if (coauth_token(h->loop, h->target_url, h->challenge, h->cred, h->timeout_ms, token,
			 sizeof(token), err))
		return false;
	snprintf(h->auth, sizeof(h->auth), "Bearer %s", token);
	return true;
}

static void delete_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
			enum fa_err rc, const char *msg)
{
	*(bool *)rq->ctx = true;
}

/* The 2025 era's session ends with DELETE (a 405 is an answer too). */
static void end_session(struct chttp *h)
{
	struct fa_h1_header hdr[MAX_HEADERS];
	int n = 0;
	bool done = false;
	struct fa_hclient_req rq = { .method = "DELETE", .target = h->url.target, .headers = hdr,
				     .on_done = delete_done, .ctx = &done };
	uint64_t until = fa_now_ns() + (uint64_t)CLOSE_WAIT_MS * 1000000u;

	add_hdr(hdr, &n, "Mcp-Session-Id", h->session);
	if (h->version[0])
		add_hdr(hdr, &n, "MCP-Protocol-Version", h->version);
	user_headers(h, hdr, &n);
	rq.nheaders = n;
	fa_hclient_request(h->hc, &rq);
	while (!done && fa_now_ns() < until)
		fa_loop_run_once(h->loop, 50);
}

static void ch_close(struct ctransport *t)
{
	struct chttp *h = (struct chttp *)t;
	struct fa_error err = { 0 };

	fa_timer_stop(h->loop, &h->resume);
	fa_timer_stop(h->loop, &h->restand);
	if (h->busy)
		end_post(h, &err);
	if (h->legacy == L_NO && h->session[0] && !h->busy && h->hc && !h->clone)
		end_session(h);
	h->closing = true;
	fa_hclient_free(h->ghc);
	fa_hclient_free(h->shc);
	fa_sse_release(&h->sparser);
	fa_hclient_free(h->rhc);
	fa_hclient_free(h->hc);
	fa_sse_release(&h->parser);
	fa_sse_release(&h->gparser);
	fa_buf_release(&h->in);
	json_decref(h->id);
	free(h->body);
	free(h->name);
	free(h);
}

/* ---- the session's standing GET stream ---- */

static void s_head(struct fa_hclient_req *rq, const struct fa_hclient_res *res)
{
	struct chttp *h = rq->ctx;

	h->ssse = res->status / 100 == 2 && is_event_stream(res);
}

static void s_data(struct fa_hclient_req *rq, const char *data, size_t n)
{
	struct chttp *h = rq->ctx;
	struct fa_error err = { 0 };

	while (h->ssse && n) {
		struct fa_sse_event ev;
		size_t used = 0;
		int rc = fa_sse_feed(&h->sparser, data, n, &used, &ev, &err);

		if (rc < 0) {
			/* a broken stream says nothing of the session: dropped (its
			   s_done sees FA_EINTR) and opened again, as if it had ended */
			struct fa_hclient *c = h->shc;

			h->shc = NULL;
			fa_hclient_free(c);
			fa_timer_start(h->loop, &h->restand, RETRY_MS);
			return;
		}
		data += used;
		n -= used;
		if (rc == 0 || !ev.data_len || ev.type_len != 7 || memcmp(ev.type, "message", 7))
			continue;
		h->t.unrelated = true;
		h->t.on_message(&h->t, ev.data, ev.data_len);
		h->t.unrelated = false;
	}
}

static void s_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		   const char *msg)
{
	struct chttp *h = rq->ctx;

	h->sbusy = false;
	/* a server without one says so (405, no event stream); the rest ended a stream that was */
	if (rc == FA_EINTR || h->closing || (!rc && !h->ssse))
		return;
	fa_timer_start(h->loop, &h->restand, RETRY_MS);
}

void chttp_stand(struct ctransport *t)
{
	struct chttp *h = (struct chttp *)t;
	struct fa_hclient_opts o = { .tls = h->tls };
	struct fa_error err = { 0 };
	int n = 0;

	if (h->legacy != L_NO || !h->session[0] || h->sbusy ||
	    (!h->shc && !(h->shc = fa_hclient_new(h->loop, &h->url, &o, &err))))
		return;
	add_hdr(h->shdr, &n, "Accept", "text/event-stream");
	add_hdr(h->shdr, &n, "Mcp-Session-Id", h->session);
	if (h->version[0])
		add_hdr(h->shdr, &n, "MCP-Protocol-Version", h->version);
	user_headers(h, h->shdr, &n);
	fa_sse_release(&h->sparser);
	fa_sse_init(&h->sparser, 0);
	h->ssse = false;
	h->sbusy = true;
	h->srq = (struct fa_hclient_req){ .method = "GET", .target = h->url.target, .headers = h->shdr,
					  .nheaders = n, .stream = true, .on_head = s_head,
					  .on_data = s_data, .on_done = s_done, .ctx = h };
	fa_hclient_request(h->shc, &h->srq);
}

static void on_restand(struct fa_timer *t)
{
	chttp_stand(&((struct chttp *)t->ctx)->t);
}

bool chttp_idle(const struct ctransport *t)
{
	return !((const struct chttp *)t)->busy;
}

struct ctransport *chttp_clone(struct ctransport *t, int timeout_ms, struct fa_error *err)
{
	struct chttp *o = (struct chttp *)t, *h;

	if (o->legacy != L_NO) {
		fa_error_set(err, FA_EUSAGE, "an HTTP+SSE session has one way in");
		return NULL;
	}
	if (!(t = chttp_new(o->loop, o->target_url, o->extra, o->nextra, NULL, o->cred, timeout_ms,
			    o->tls, err)))
		return NULL;
	h = (struct chttp *)t;
	memcpy(h->auth, o->auth, sizeof(h->auth));
	memcpy(h->session, o->session, sizeof(h->session));
	h->clone = true;
	return t;
}

struct ctransport *chttp_new(struct fa_loop *loop, const char *url, char **headers, int nheaders,
			     const char *bearer, const struct coauth *cred, int timeout_ms,
			     struct fa_tls *tls, struct fa_error *err)
{
	struct chttp *h = calloc(1, sizeof(*h));
	struct fa_hclient_opts o = { .timeout_ms = timeout_ms, .max_body = 64u << 20, .tls = tls };

	if (fa_url_parse(url, &h->url, err) || !(h->hc = fa_hclient_new(loop, &h->url, &o, err))) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	h->cred = cred;
	h->tls = tls;
	h->timeout_ms = timeout_ms;
	snprintf(h->target_url, sizeof(h->target_url), "%s", url);
	h->extra = headers;
	h->nextra = nheaders;
	if (bearer)
		snprintf(h->auth, sizeof(h->auth), "Bearer %s", bearer);
	fa_buf_init(&h->in, 64u << 20);
	fa_sse_init(&h->parser, 0);
	fa_sse_init(&h->gparser, 0);
	fa_timer_init(&h->resume, on_resume, h);
	fa_timer_init(&h->restand, on_restand, h);
	fa_sse_init(&h->sparser, 0);
	h->t = (struct ctransport){ .send = ch_send, .reauth = ch_reauth, .reply = ch_reply,
				    .close = ch_close };
	return &h->t;
}
