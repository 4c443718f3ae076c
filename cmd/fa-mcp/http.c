/*
 * fa-mcp: the Streamable HTTP transport, both eras on one endpoint.
 *
 * 2026-07-28 (a request whose _meta or MCP-Protocol-Version header names
 * it): POST only, no session; MCP-Protocol-Version, Mcp-Method and, for
 * tools/call, resources/read and prompts/get, Mcp-Name must agree with the
 * body, else 400 with -32020.  2025-11-25 and before: initialize opens a
 * session (Mcp-Session-Id), every later POST names it (400 without, 404
 * for one that is not open), DELETE ends it, and GET opens the session's
 * stream of list_changed and resources/updated.  An answer is JSON, or an
 * event stream when notifications of its own (progress, log messages) go
 * before it and the client accepts text/event-stream.  A foreign Origin
 * is 403.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "famcp.h"
#include "core/stats.h"
#include "http/haccess.h"
#include "http/sse.h"
#include "mcp/mcp.h"
#include "proxy.h"

#define MAX_SESSIONS 10000

struct session {
	char id[33];
	time_t last;
	struct peer peer;
};

struct hreply {
	struct reply r;
	struct fa_hreq *rq;
	struct app *a;
	char session[33];               /* set on an initialize answer */
	char sid[33];                   /* the session the request named */
	bool sse;                       /* the answer became an event stream */
	bool left;                      /* the client went away */
};

static bool hdr_is(const struct fa_h1_header *h, const char *v)
{
	return h && h->value_len == strlen(v) && !strncasecmp(h->value, v, h->value_len);
}

/* h's value, trimmed of optional white space, equals v exactly. */
static bool hdr_equals(const struct fa_h1_header *h, const char *v)
{
	const char *p;
	size_t n;

	if (!h || !v)
		return false;
	p = h->value;
	n = h->value_len;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n == strlen(v) && !memcmp(p, v, n);
}

static void send_json(struct fa_hreq *rq, int status, const char *body, size_t len)
{
	fa_hres_start(rq, status, "application/json", (int64_t)len);
	fa_hres_write(rq, body, len);
	fa_hres_end(rq);
}

/* An HTTP error with a JSON-RPC error body (id when one was read). */
static void http_fail(struct fa_hreq *rq, int status, const json_t *id, int code, const char *msg)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_error(&b, id, code, msg, NULL);
	send_json(rq, status, b.data, b.len);
	fa_buf_release(&b);
}

static void put_event(struct fa_hreq *rq, const char *msg, size_t len)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_sse_put_event(&b, "message", msg, len);
	fa_hres_write(rq, b.data, b.len);
	fa_hres_flush(rq);
	fa_buf_release(&b);
}

static void hreply_done(struct reply *r, int status, const char *msg, size_t len)
{
	struct hreply *h = (struct hreply *)r;

	if (h->sse) {
		if (len && !h->left)
			put_event(h->rq, msg, len);
		fa_hres_end(h->rq);
	} else if (!len) {
		/* a cancelled call: nobody waits for its answer */
		fa_hres_start(h->rq, 202, NULL, 0);
		fa_hres_end(h->rq);
	} else {
		if (h->session[0])
			fa_hres_header(h->rq, "Mcp-Session-Id", h->session);
		send_json(h->rq, status, msg, len);
	}
	reply_release(r);
	free(h);
}

static void hreply_abort(struct fa_hreq *rq, void *arg)
{
	struct hreply *h = arg;

	h->left = true;
	if (h->r.gone)
		h->r.gone(&h->r);
}

/* A notification of the request's own: the answer turns into an event stream. */
static void hreply_notify(struct reply *r, const char *msg, size_t len)
{
	struct hreply *h = (struct hreply *)r;

	if (!h->sse) {
		h->sse = true;
		if (h->session[0])
			fa_hres_header(h->rq, "Mcp-Session-Id", h->session);
		fa_hres_header(h->rq, "Cache-Control", "no-cache");
		fa_hres_start(h->rq, 200, "text/event-stream", -1);
		/* a stream may be endless (a listen): a shutdown ends it too */
		fa_hres_on_abort(h->rq, hreply_abort, h);
	}
	if (!h->left)
		put_event(h->rq, msg, len);
}

/* ---- Origin ---- */

/* localhost, 127.0.0.1 or [::1] over http or https, any port. */
static bool local_origin(const char *o, size_t n)
{
	static const char *const hosts[] = { "localhost", "127.0.0.1", "[::1]" };
	size_t skip = n > 7 && !strncmp(o, "http://", 7) ? 7 : n > 8 && !strncmp(o, "https://", 8) ? 8 : 0;

	if (!skip)
		return false;
	o += skip, n -= skip;
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(hosts[i]);

		if (n >= k && !strncasecmp(o, hosts[i], k) && (n == k || o[k] == ':'))
			return true;
	}
	return false;
}

static bool origin_ok(const struct app *a, const struct fa_h1_header *o)
{
	const char *list = a->origins;

	if (!o || local_origin(o->value, o->value_len))
		return true;
	while (list && *list) {
		size_t len = strcspn(list, ",");

		while (len && *list == ' ')
			list++, len--;
		if ((len == 1 && *list == '*') ||
		    (len == o->value_len && !strncasecmp(list, o->value, len)))
			return true;
		list += len + (list[len] == ',');
	}
	return false;
}

/* ---- sessions (2025 era) ---- */

static void session_new(struct app *a, char id[33])
{
	unsigned char r[16];
	int oldest = 0;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	for (size_t i = 0; i < sizeof(r); i++)
		sprintf(id + 2 * i, "%02x", r[i]);
	pthread_mutex_lock(&a->lock);
	if (a->nsessions == MAX_SESSIONS) {
		/* the one used longest ago makes room */
		for (int i = 1; i < a->nsessions; i++)
			if (a->sessions[i].last < a->sessions[oldest].last)
				oldest = i;
		peer_release(&a->sessions[oldest].peer);
		a->sessions[oldest] = a->sessions[--a->nsessions];
	}
	if (!a->sessions)
		a->sessions = calloc(MAX_SESSIONS, sizeof(*a->sessions));
	if (a->sessions) {
		a->sessions[a->nsessions] = (struct session){ .last = time(NULL), .peer = { .log_level = -1 } };
		memcpy(a->sessions[a->nsessions++].id, id, 33);
	}
	pthread_mutex_unlock(&a->lock);
}

/* Whether the session h names is open; end removes it. */
static bool session_find(struct app *a, const struct fa_h1_header *h, bool end)
{
	bool found = false;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nsessions && !found; i++) {
		if (!hdr_equals(h, a->sessions[i].id))
			continue;
		found = true;
		a->sessions[i].last = time(NULL);
		if (end) {
			peer_release(&a->sessions[i].peer);
			a->sessions[i] = a->sessions[--a->nsessions];
		}
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

/* Runs fn on the peer of session id under the lock; false when it is gone. */
static bool session_peer(struct app *a, const char *id, void (*fn)(struct peer *p, void *arg),
			 void *arg)
{
	bool found = false;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nsessions && !found; i++)
		if (!strcmp(a->sessions[i].id, id)) {
			fn(&a->sessions[i].peer, arg);
			found = true;
		}
	pthread_mutex_unlock(&a->lock);
	return found;
}

static bool hreply_peer(struct reply *r, void (*fn)(struct peer *p, void *arg), void *arg)
{
	struct hreply *h = (struct hreply *)r;
	const char *id = h->session[0] ? h->session : h->sid;

	return id[0] && session_peer(h->a, id, fn, arg);
}

void mcp_sessions_release(struct app *a)
{
	for (int i = 0; i < a->nsessions; i++)
		peer_release(&a->sessions[i].peer);
	free(a->sessions);
	a->sessions = NULL;
	a->nsessions = 0;
}

/* ---- POST ---- */

/* The 2026 headers must say what the body says. */
static bool modern_headers(struct fa_hreq *rq, const struct fa_jr_msg *m)
{
	const char *v = mcp_meta_version(m), *name = NULL;
	char msg[256];

	if (!hdr_equals(fa_hreq_header(rq, "mcp-protocol-version"), v ? v : FA_MCP_STATELESS_VERSION)) {
		http_fail(rq, 400, m->id, -32020, "Header mismatch: MCP-Protocol-Version header is missing "
			  "or does not match the body's _meta protocolVersion");
		return false;
	}
	if (!hdr_equals(fa_hreq_header(rq, "mcp-method"), m->method)) {
		snprintf(msg, sizeof(msg), "Header mismatch: Mcp-Method header is missing or does not "
			 "match the body's method '%s'", m->method);
		http_fail(rq, 400, m->id, -32020, msg);
		return false;
	}
	if (!strcmp(m->method, "tools/call") || !strcmp(m->method, "prompts/get"))
		name = json_string_value(json_object_get(m->params, "name"));
	else if (!strcmp(m->method, "resources/read"))
		name = json_string_value(json_object_get(m->params, "uri"));
	else
		return true;
	if (!hdr_equals(fa_hreq_header(rq, "mcp-name"), name ? name : "")) {
		snprintf(msg, sizeof(msg), "Header mismatch: Mcp-Name header is missing or does not "
			 "match the body's %s", strcmp(m->method, "resources/read") ? "name" : "uri");
		http_fail(rq, 400, m->id, -32020, msg);
		return false;
	}
	return true;
}

/* 2025 era: a known version header, and an open session after initialize. */
static bool legacy_headers(struct fa_hreq *rq, struct app *a, const struct fa_jr_msg *m)
{
	const struct fa_h1_header *pv = fa_hreq_header(rq, "mcp-protocol-version");
	const struct fa_h1_header *sid = fa_hreq_header(rq, "mcp-session-id");
	char v[64];

	if (pv) {
		snprintf(v, sizeof(v), "%.*s", (int)(pv->value_len < 63 ? pv->value_len : 63), pv->value);
		if (!fa_mcp_version_known(v) || !strcmp(v, FA_MCP_STATELESS_VERSION)) {
			http_fail(rq, 400, m->id, FA_JR_INVALID_REQUEST,
				  "unsupported MCP-Protocol-Version header");
			return false;
		}
	}
	if (m->kind == FA_JR_REQUEST && !strcmp(m->method, "initialize"))
		return true;
	if (!sid) {
		http_fail(rq, 400, m->id, FA_JR_INVALID_REQUEST,
			  "Mcp-Session-Id header is required: send initialize first");
		return false;
	}
	if (!session_find(a, sid, false)) {
		http_fail(rq, 404, m->id, FA_JR_INVALID_REQUEST, "session not found: initialize again");
		return false;
	}
	return true;
}

/* The session id a header names, trimmed, into out (33 bytes); "" when none. */
static void sid_of(const struct fa_h1_header *h, char out[33])
{
	const char *p = h ? h->value : "";
	size_t n = h ? h->value_len : 0;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	snprintf(out, 33, "%.*s", (int)(n < 32 ? n : 32), p);
}

/*
 * The session a request came in, into out (33 bytes): "" when none, and
 * for a 2026 request (whose session header goes unchecked) when it names
 * none that is open, so that no client passes for a session's own
 * (mcp_listen_cancel).
 */
static void from_of(struct fa_hreq *rq, struct app *a, enum era era, char out[33])
{
	const struct fa_h1_header *h = fa_hreq_header(rq, "mcp-session-id");

	sid_of(h, out);
	if (era == ERA_MODERN && out[0] && !session_find(a, h, false))
		out[0] = 0;
}

static bool accepts_sse(const struct fa_hreq *rq)
{
	const struct fa_h1_header *acc = fa_hreq_header(rq, "accept");

	return acc && memmem(acc->value, acc->value_len, "text/event-stream", 17);
}

static struct hreply *hreply_new(struct fa_hreq *rq, struct app *a, const struct fa_jr_msg *m,
				 enum era era)
{
	struct hreply *h = calloc(1, sizeof(*h));

	h->r = (struct reply){ .done = hreply_done, .id = json_incref(m->id), .era = era };
	if (era == ERA_LEGACY)
		h->r.with_peer = hreply_peer;
	/* notifications of its own need a stream to go before the answer */
	if (accepts_sse(rq))
		h->r.notify = hreply_notify;
	h->rq = rq;
	h->a = a;
	from_of(rq, a, era, h->sid);
	h->r.from = h->sid;
	/* a client that leaves before its answer cancels what it asked for
	   (a shutdown lets the answer come) */
	fa_hres_on_gone(rq, hreply_abort, h);
	return h;
}

static void post(struct fa_hreq *rq, struct app *a, struct worker *w, int scope)
{
	const struct fa_h1_header *ct = fa_hreq_header(rq, "content-type");
	struct fa_error err = { 0 };
	struct hreply *h;
	struct fa_jr_msg m;
	enum era era;
	int code;

	if (!ct || ct->value_len < 16 || strncasecmp(ct->value, "application/json", 16)) {
		http_fail(rq, 415, NULL, FA_JR_INVALID_REQUEST, "Content-Type must be application/json");
		return;
	}
	if ((code = fa_jr_parse(&m, rq->body, rq->body_len, &err))) {
		http_fail(rq, 400, m.id, code, err.msg);
		fa_jr_release(&m);
		return;
	}
	era = mcp_era(&m) == ERA_MODERN ||
	      hdr_equals(fa_hreq_header(rq, "mcp-protocol-version"), FA_MCP_STATELESS_VERSION) ?
	      ERA_MODERN : ERA_LEGACY;
	if (era == ERA_MODERN && (m.kind == FA_JR_RESULT || m.kind == FA_JR_ERROR)) {
		http_fail(rq, 400, m.id, FA_JR_INVALID_REQUEST, "a 2026-07-28 client sends no responses");
	} else if (era == ERA_MODERN ? !modern_headers(rq, &m) : !legacy_headers(rq, a, &m)) {
		;       /* answered */
	} else if (m.kind != FA_JR_REQUEST) {
		/* a notification, or a response to a request the proxy passed on */
		char sid[33];

		from_of(rq, a, era, sid);
		w->note_from = sid;
		mcp_dispatch(w, &m, NULL);
		w->note_from = NULL;
		fa_hres_start(rq, 202, NULL, 0);
		fa_hres_end(rq);
	} else {
		h = hreply_new(rq, a, &m, era);
		h->r.scope = scope;
		if (era == ERA_LEGACY && !strcmp(m.method, "initialize"))
			session_new(a, h->session);
		mcp_dispatch(w, &m, &h->r);
	}
	fa_jr_release(&m);
}

/* ---- GET: a 2025 session's stream of unsolicited notifications ---- */

struct gstream {
	struct listener l;
	struct fa_hreq *rq;
	struct worker *w;
	struct app *a;
	char sid[33];
};

static void gstream_send(struct listener *l, const char *msg, size_t len)
{
	struct gstream *g = l->ctx;

	put_event(g->rq, msg, len);
}

struct sub_check {
	const char *uri;
	bool yes;
};

static void check_sub(struct peer *p, void *arg)
{
	struct sub_check *c = arg;

	for (int i = 0; i < p->nsubs && !c->yes; i++)
		c->yes = !strcmp(p->subs[i], c->uri);
}

static bool gstream_subscribed(struct listener *l, const char *uri)
{
	struct gstream *g = l->ctx;
	struct sub_check c = { uri, false };

	session_peer(g->a, g->sid, check_sub, &c);
	return c.yes;
}

struct sub_each {
	void (*fn)(const char *uri, void *arg);
	void *arg;
};

static void each_sub(struct peer *p, void *arg)
{
	struct sub_each *e = arg;

	peer_each_sub(p, e->fn, e->arg);
}

static void gstream_subs(struct listener *l, void (*fn)(const char *uri, void *arg), void *arg)
{
	struct gstream *g = l->ctx;
	struct sub_each e = { fn, arg };

	session_peer(g->a, g->sid, each_sub, &e);
}

static void gstream_keepalive(struct listener *l)
{
	struct gstream *g = l->ctx;

	fa_hres_write(g->rq, ": ping\n\n", 8);
	fa_hres_flush(g->rq);
}

static void gstream_end(struct listener *l)
{
	struct gstream *g = l->ctx;

	listener_remove(g->w, l);
	fa_hres_end(g->rq);
	free(g);
}

static void gstream_abort(struct fa_hreq *rq, void *arg)
{
	struct gstream *g = arg;

	gstream_end(&g->l);
}

static void get_stream(struct fa_hreq *rq, struct app *a, struct worker *w, int scope)
{
	const struct fa_h1_header *sid = fa_hreq_header(rq, "mcp-session-id");
	struct gstream *g;

	if (!accepts_sse(rq)) {
		http_fail(rq, 406, NULL, FA_JR_INVALID_REQUEST, "GET opens an event stream: accept "
			  "text/event-stream");
		return;
	}
	if (!sid) {
		http_fail(rq, 400, NULL, FA_JR_INVALID_REQUEST, "Mcp-Session-Id header is required: "
			  "send initialize first");
		return;
	}
	if (!session_find(a, sid, false)) {
		http_fail(rq, 404, NULL, FA_JR_INVALID_REQUEST, "session not found: initialize again");
		return;
	}
	g = calloc(1, sizeof(*g));
	g->rq = rq;
	g->w = w;
	g->a = a;
	sid_of(sid, g->sid);
	g->l = (struct listener){ .send = gstream_send, .subscribed = gstream_subscribed,
				  .subs = gstream_subs, .keepalive = gstream_keepalive, .end = gstream_end,
				  .wants = LISTEN_TOOLS | LISTEN_PROMPTS | LISTEN_RESOURCES | LISTEN_UPDATES,
				  .scope = scope, .ctx = g };
	fa_hres_header(rq, "Cache-Control", "no-cache");
	fa_hres_start(rq, 200, "text/event-stream", -1);
	fa_hres_write(rq, ": stream open\n\n", 15);
	fa_hres_flush(rq);
	fa_hres_on_abort(rq, gstream_abort, g);
	listener_add(w, &g->l);
}

static bool path_is(const struct fa_hreq *rq, const char *p)
{
	return rq->path_len == strlen(p) && !memcmp(rq->path, p, rq->path_len);
}

static bool method_is(const struct fa_hreq *rq, const char *m)
{
	return rq->method_len == strlen(m) && !memcmp(rq->method, m, rq->method_len);
}

/* --auth-token: Authorization: Bearer TOKEN, compared in constant time. */
static bool authorized(const struct app *a, const struct fa_hreq *rq)
{
	const struct fa_h1_header *h = fa_hreq_header(rq, "authorization");
	size_t n = strlen(a->auth_token);
	unsigned char diff = 0;

	if (!h || h->value_len != 7 + n || strncasecmp(h->value, "Bearer ", 7))
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(h->value[7 + i] ^ a->auth_token[i]);
	return !diff;
}

void mcp_http_handle(struct fa_hreq *rq, void *arg)
{
	struct app *a = arg;
	const struct fa_h1_header *sid = fa_hreq_header(rq, "mcp-session-id");
	size_t n = strlen(a->endpoint);
	int scope = 0;

	if (!origin_ok(a, fa_hreq_header(rq, "origin"))) {
		http_fail(rq, 403, NULL, FA_JR_INVALID_REQUEST, "Origin not allowed");
		return;
	}
	if (path_is(rq, "/live") && method_is(rq, "GET")) {
		fa_hres_simple(rq, 200, "text/plain", "live\n");
		return;
	}
	if (a->auth_token && !authorized(a, rq)) {
		fa_hres_header(rq, "WWW-Authenticate", "Bearer");
		http_fail(rq, 401, NULL, FA_JR_INVALID_REQUEST, "a bearer token is required (Authorization: Bearer ...)");
		return;
	}
	if (a->proxy && proxy_http(a->proxy, rq))
		return;
	if (path_is(rq, "/sse") && method_is(rq, "GET")) {
		mcp_legacy_stream(rq, a, rq->worker_ctx);
		return;
	}
	if (path_is(rq, "/messages") && method_is(rq, "POST")) {
		mcp_legacy_post(rq, a, rq->worker_ctx);
		return;
	}
	if (a->proxy)
		scope = proxy_scope(a->proxy, rq->path, rq->path_len);
	if (!scope && (rq->path_len != n || memcmp(rq->path, a->endpoint, n))) {
		http_fail(rq, 404, NULL, FA_JR_INVALID_REQUEST, "no MCP endpoint here");
		return;
	}
	if (rq->method_len == 4 && !memcmp(rq->method, "POST", 4)) {
		post(rq, a, rq->worker_ctx, scope);
		return;
	}
	if (rq->method_len == 6 && !memcmp(rq->method, "DELETE", 6) && sid &&
	    !hdr_is(fa_hreq_header(rq, "mcp-protocol-version"), FA_MCP_STATELESS_VERSION)) {
		if (!session_find(a, sid, true)) {
			http_fail(rq, 404, NULL, FA_JR_INVALID_REQUEST, "session not found");
			return;
		}
		/* its subscriptions go with it */
		if (a->proxy)
			proxy_subs_changed(a->proxy);
		fa_hres_start(rq, 204, NULL, 0);
		fa_hres_end(rq);
		return;
	}
	if (rq->method_len == 3 && !memcmp(rq->method, "GET", 3) &&
	    !hdr_is(fa_hreq_header(rq, "mcp-protocol-version"), FA_MCP_STATELESS_VERSION)) {
		get_stream(rq, a, rq->worker_ctx, scope);
		return;
	}
	/* DELETE without a session is moot; 2026 has no GET stream */
	fa_hres_header(rq, "Allow", "GET, POST, DELETE");
	http_fail(rq, 405, NULL, FA_JR_INVALID_REQUEST, "method not allowed: POST JSON-RPC messages");
}

void *mcp_http_init_worker(int index, struct fa_loop *loop, void *app)
{
	return worker_new(app, loop);
}

void mcp_http_done_worker(int index, void *wctx, void *app)
{
	worker_free(wctx);
}

void mcp_http_done(const struct fa_hreq *rq, void *arg)
{
	struct app *a = arg;
	struct fa_buf b;

	if (!a->access_log)
		return;
	fa_buf_init(&b, 0);
	fa_haccess_line(&b, rq, a->log_json, (double)(fa_now_ns() - rq->t0) / 1e9);
	fwrite(b.data, 1, b.len, a->access_log);
	fflush(a->access_log);
	fa_buf_release(&b);
}
