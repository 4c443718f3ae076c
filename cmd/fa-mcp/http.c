/*
 * fa-mcp: the Streamable HTTP transport, both eras on one endpoint.
 *
 * 2026-07-28 (a request whose _meta or MCP-Protocol-Version header names
 * it): POST only, no session; MCP-Protocol-Version, Mcp-Method and, for
 * tools/call, resources/read and prompts/get, Mcp-Name must agree with the
 * body, else 400 with -32020.  2025-11-25 and before: initialize opens a
 * session (Mcp-Session-Id), every later POST names it (400 without, 404
 * for one that is not open), DELETE ends it.  Answers are JSON; no SSE
 * stream is offered yet, so GET is 405.  A foreign Origin is 403.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "famcp.h"
#include "mcp/mcp.h"

#define MAX_SESSIONS 10000

struct session {
	char id[33];
	time_t last;
};

struct hreply {
	struct reply r;
	struct fa_hreq *rq;
	char session[33];               /* set on an initialize answer */
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

static void hreply_done(struct reply *r, int status, const char *msg, size_t len)
{
	struct hreply *h = (struct hreply *)r;

	if (h->session[0])
		fa_hres_header(h->rq, "Mcp-Session-Id", h->session);
	send_json(h->rq, status, msg, len);
	json_decref(r->id);
	free(h);
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
		a->sessions[oldest] = a->sessions[--a->nsessions];
	}
	if (!a->sessions)
		a->sessions = calloc(MAX_SESSIONS, sizeof(*a->sessions));
	if (a->sessions) {
		memcpy(a->sessions[a->nsessions].id, id, 33);
		a->sessions[a->nsessions++].last = time(NULL);
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
		if (end)
			a->sessions[i] = a->sessions[--a->nsessions];
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

void mcp_sessions_release(struct app *a)
{
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

static void post(struct fa_hreq *rq, struct app *a, struct worker *w)
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
		if (m.kind == FA_JR_NOTIFICATION)
			mcp_dispatch(w, &m, NULL);
		fa_hres_start(rq, 202, NULL, 0);
		fa_hres_end(rq);
	} else {
		h = calloc(1, sizeof(*h));
		h->r = (struct reply){ .done = hreply_done, .id = json_incref(m.id), .era = era };
		h->rq = rq;
		if (era == ERA_LEGACY && !strcmp(m.method, "initialize"))
			session_new(a, h->session);
		mcp_dispatch(w, &m, &h->r);
	}
	fa_jr_release(&m);
}

void mcp_http_handle(struct fa_hreq *rq, void *arg)
{
	struct app *a = arg;
	const struct fa_h1_header *sid = fa_hreq_header(rq, "mcp-session-id");
	size_t n = strlen(a->endpoint);

	if (rq->path_len != n || memcmp(rq->path, a->endpoint, n)) {
		http_fail(rq, 404, NULL, FA_JR_INVALID_REQUEST, "no MCP endpoint here");
		return;
	}
	if (!origin_ok(a, fa_hreq_header(rq, "origin"))) {
		http_fail(rq, 403, NULL, FA_JR_INVALID_REQUEST, "Origin not allowed");
		return;
	}
	if (rq->method_len == 4 && !memcmp(rq->method, "POST", 4)) {
		post(rq, a, rq->worker_ctx);
		return;
	}
	if (rq->method_len == 6 && !memcmp(rq->method, "DELETE", 6) && sid &&
	    !hdr_is(fa_hreq_header(rq, "mcp-protocol-version"), FA_MCP_STATELESS_VERSION)) {
		if (!session_find(a, sid, true)) {
			http_fail(rq, 404, NULL, FA_JR_INVALID_REQUEST, "session not found");
			return;
		}
		fa_hres_start(rq, 204, NULL, 0);
		fa_hres_end(rq);
		return;
	}
	/* no server-initiated stream (GET) yet; DELETE without a session is moot */
	fa_hres_header(rq, "Allow", "POST, DELETE");
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
