#include "bench/bmcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/proc.h"
#include "core/stats.h"
#include "http/sse.h"
#include "http/tls.h"
#include "mcp/jsonrpc.h"

#define VERSION FA_BENCH_MCP_VERSION

/* ---- configuration ------------------------------------------------------- */

enum fa_err fa_bench_mcp_init(struct fa_bench_mcp *cfg, const char *url, const char *tool,
			      struct fa_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (url && fa_url_parse(url, &cfg->url, err))
		return err->code;
	if (!(cfg->tool = strdup(tool)) || !(cfg->args = json_object()))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	return FA_OK;
}

enum fa_err fa_bench_mcp_arg(struct fa_bench_mcp *cfg, const char *kv, struct fa_error *err)
{
	const char *eq = strchr(kv, '=');
	char key[256];
	json_t *v;

	if (!eq || eq == kv || (eq == kv + 1 && kv[0] == ':'))
		return fa_error_set(err, FA_EUSAGE, "argument '%s': write KEY=VALUE or KEY:=JSON", kv);
	if (eq[-1] == ':') {
		json_error_t je;

		snprintf(key, sizeof(key), "%.*s", (int)(eq - 1 - kv), kv);
		if (!(v = json_loads(eq + 1, JSON_DECODE_ANY, &je)))
			return fa_error_set(err, FA_EUSAGE, "argument '%s', position %d: %s", kv,
					    (int)(eq + 1 - kv) + je.position, je.text);
	} else {
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		v = json_string(eq + 1);
	}
	json_object_set_new(cfg->args, key, v);
	return FA_OK;
}

enum fa_err fa_bench_mcp_header(struct fa_bench_mcp *cfg, char *h, struct fa_error *err)
{
	char *colon = strchr(h, ':'), *v;
	struct fa_h1_header *x;

	if (!colon || colon == h)
		return fa_error_set(err, FA_EUSAGE, "-H '%s': write 'Name: value'", h);
	if (cfg->nheaders == FA_BENCH_MCP_MAX_HEADERS)
		return fa_error_set(err, FA_EUSAGE, "-H '%s': too many headers", h);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	x = &cfg->headers[cfg->nheaders++];
	*x = (struct fa_h1_header){ h, v, (size_t)(colon - h), strlen(v) };
	return FA_OK;
}

enum fa_err fa_bench_mcp_protocol(struct fa_bench_mcp *cfg, const char *version,
				  struct fa_error *err)
{
	if (strcmp(version, FA_BENCH_MCP_VERSION) && strcmp(version, FA_BENCH_MCP_MODERN))
		return fa_error_set(err, FA_EUSAGE, "--protocol '%s': use %s or %s", version,
				    FA_BENCH_MCP_VERSION, FA_BENCH_MCP_MODERN);
	cfg->modern = !strcmp(version, FA_BENCH_MCP_MODERN);
	return FA_OK;
}

/* The _meta block a 2026-07-28 request carries. */
static json_t *modern_meta(void)
{
	return json_pack("{s:s,s:{}}", "io.modelcontextprotocol/protocolVersion", FA_BENCH_MCP_MODERN,
			 "io.modelcontextprotocol/clientCapabilities");
}

enum fa_err fa_bench_mcp_finish(struct fa_bench_mcp *cfg, struct fa_error *err)
{
	json_t *params = json_pack("{s:s,s:O}", "name", cfg->tool, "arguments", cfg->args);
	struct fa_buf b;

	if (params && cfg->modern)
		json_object_set_new(params, "_meta", modern_meta());

	fa_buf_init(&b, 1 << 20);
	fa_buf_puts(&b, "\"method\":\"tools/call\",\"params\":");
	if (!params || fa_jr_put_json(&b, params) || fa_buf_puts(&b, "}")) {
		json_decref(params);
		fa_buf_release(&b);
		return fa_error_set(err, FA_EUSAGE, "the tool's arguments are over 1 MiB");
	}
	json_decref(params);
	free(cfg->call);
	cfg->call = fa_buf_detach(&b, NULL);
	return FA_OK;
}

enum fa_err fa_bench_mcp_tls(struct fa_bench_mcp *cfg, const char *ca_file, bool insecure,
			     struct fa_error *err)
{
	struct fa_tls_client_opts o = { .ca_file = ca_file, .insecure = insecure };

	if (strcmp(cfg->url.scheme, "https") || cfg->tls)
		return FA_OK;
	cfg->tls = fa_tls_client_new(&o, err);
	return cfg->tls ? FA_OK : err->code;
}

void fa_bench_mcp_release(struct fa_bench_mcp *cfg)
{
	fa_tls_free(cfg->tls);
	free(cfg->tool);
	free(cfg->call);
	free(cfg->command);
	fa_proc_argv_free(cfg->argv);
	json_decref(cfg->args);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- shared with the stdio target -------------------------------------- */

void fa_bench_mcp_judge(struct fa_bench_req *r, const struct fa_jr_msg *m)
{
	json_t *is_error;

	if (m->kind == FA_JR_ERROR) {
		fa_bench_done(r, FA_BENCH_EMCP, "rpc", m->message);
	} else if (m->kind != FA_JR_RESULT) {
		fa_bench_done(r, FA_BENCH_EPROTOCOL, NULL, "the answer is not a JSON-RPC result");
	} else if ((is_error = json_object_get(m->result, "isError")) && json_is_true(is_error)) {
		json_t *c = json_array_get(json_object_get(m->result, "content"), 0);
		const char *t = json_string_value(json_object_get(c, "text"));

		fa_bench_done(r, FA_BENCH_EMCP, "isError", t ? t : "isError");
	} else {
		fa_bench_done(r, FA_BENCH_OK, NULL, NULL);
	}
}

enum fa_err fa_bench_mcp_put_handshake(const struct fa_bench_mcp *cfg, struct fa_buf *out)
{
	json_t *params = cfg->modern ? json_pack("{s:o}", "_meta", modern_meta()) :
		json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion", FA_BENCH_MCP_VERSION,
			  "capabilities", "clientInfo", "name", "fa-bench", "version", FA_VERSION);
	json_t *id = json_integer(1);
	enum fa_err rc = params && id ? fa_jr_put_request(out, id, cfg->modern ? "server/discover" :
							  "initialize", params) : FA_ENOMEM;

	json_decref(params);
	json_decref(id);
	return rc;
}

/* ---- a session ------------------------------------------------------------- */

enum { S_INIT, S_NOTIFY, S_READY };

struct session {
	const struct fa_bench_mcp *cfg;
	struct fa_hclient *client;
	struct fa_bench_conn *bc;
	int state;
	uint64_t t0;
	unsigned long long next_id;
	char sid[256];
	struct fa_h1_header hdr[FA_BENCH_MCP_MAX_HEADERS + 5];
	int nhdr;
	struct fa_hclient_req rq;
	struct fa_bench_req *r;         /* the request in flight */
	struct fa_buf body;
};

/* The headers of every POST: the caller's, then the protocol's. */
static void set_headers(struct session *s)
{
	const struct fa_bench_mcp *cfg = s->cfg;

	s->nhdr = 0;
	for (int i = 0; i < cfg->nheaders; i++)
		s->hdr[s->nhdr++] = cfg->headers[i];
	s->hdr[s->nhdr++] = (struct fa_h1_header){ "Content-Type", "application/json", 12, 16 };
	s->hdr[s->nhdr++] = (struct fa_h1_header){ "Accept", "application/json, text/event-stream", 6, 35 };
	if (cfg->modern) {
		const char *method = s->state == S_INIT ? "server/discover" : "tools/call";

		s->hdr[s->nhdr++] = (struct fa_h1_header){ "MCP-Protocol-Version", FA_BENCH_MCP_MODERN,
							   20, strlen(FA_BENCH_MCP_MODERN) };
		s->hdr[s->nhdr++] = (struct fa_h1_header){ "Mcp-Method", method, 10, strlen(method) };
		if (s->state != S_INIT)
			s->hdr[s->nhdr++] = (struct fa_h1_header){ "Mcp-Name", cfg->tool, 8,
								   strlen(cfg->tool) };
	} else if (s->state != S_INIT) {
		s->hdr[s->nhdr++] = (struct fa_h1_header){ "MCP-Protocol-Version", VERSION, 20,
							   strlen(VERSION) };
	}
	if (s->sid[0])
		s->hdr[s->nhdr++] = (struct fa_h1_header){ "Mcp-Session-Id", s->sid, 14, strlen(s->sid) };
}

static bool is_sse(const struct fa_hclient_res *res)
{
	for (int i = 0; i < res->nheaders; i++) {
		const struct fa_h1_header *x = &res->headers[i];

		if (x->name_len == 12 && !strncasecmp(x->name, "content-type", 12))
			return x->value_len >= 17 && !strncasecmp(x->value, "text/event-stream", 17);
	}
	return false;
}

/* The JSON-RPC answer in a response: the body, or the last event with data. */
static int answer(const struct fa_hclient_res *res, struct fa_jr_msg *m, struct fa_error *err)
{
	struct fa_sse sse;
	const char *p = res->body;
	size_t n = res->body_len;
	int rc = -1;

	if (!res->body || !res->body_len)
		return fa_error_set(err, FA_EINPUT, "an empty answer"), -1;
	if (!is_sse(res))
		return fa_jr_parse(m, res->body, res->body_len, err) ? -1 : 0;
	fa_sse_init(&sse, 0);
	while (n) {
		struct fa_sse_event ev;
		size_t used = 0;
		int got = fa_sse_feed(&sse, p, n, &used, &ev, err);

		if (got < 0 || !used)
			break;
		p += used;
		n -= used;
		if (got > 0 && ev.data_len) {
			if (!rc)
				fa_jr_release(m);
			rc = fa_jr_parse(m, ev.data, ev.data_len, err) ? -1 : 0;
			if (!rc && (m->kind == FA_JR_RESULT || m->kind == FA_JR_ERROR))
				break;
		}
	}
	fa_sse_release(&sse);
	if (rc)
		fa_error_set(err, FA_EINPUT, "no JSON-RPC answer in the event stream");
	return rc;
}

typedef void done_fn(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
		     enum fa_err rc, const char *msg);

static void post(struct session *s, const char *body, size_t len, done_fn *cb);

static void session_failed(struct session *s, const char *what, const char *msg)
{
	char m[512];

	snprintf(m, sizeof(m), "MCP %s: %.400s", what, msg);
	fa_bench_down(s->bc, m);
}

/* The handshake is over: calls may go. */
static void ready(struct session *s)
{
	s->state = S_READY;
	set_headers(s);
	fa_bench_handshake(s->bc, fa_now_ns() - s->t0);
	fa_bench_ready(s->bc);
}

static void on_handshake(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
			 enum fa_err rc, const char *msg)
{
	struct session *s = rq->ctx;
	struct fa_jr_msg m;
	struct fa_error err = { 0 };
	char status[64];
	const char *what = s->state == S_NOTIFY ? "notifications/initialized" :
		s->cfg->modern ? "server/discover" : "initialize";

	if (rc) {
		session_failed(s, what, msg ? msg : "failed");
		return;
	}
	if (res->status / 100 != 2) {
		snprintf(status, sizeof(status), "HTTP status %d", res->status);
		session_failed(s, what, status);
		return;
	}
	if (s->state == S_NOTIFY) {
		ready(s);
		return;
	}
	if (answer(res, &m, &err)) {
		session_failed(s, what, err.msg[0] ? err.msg : "malformed answer");
		return;
	}
	if (m.kind != FA_JR_RESULT) {
		session_failed(s, what, m.kind == FA_JR_ERROR && m.message ? m.message : "not a result");
		fa_jr_release(&m);
		return;
	}
	fa_jr_release(&m);
	if (s->cfg->modern) {           /* stateless: no session, no notification */
		ready(s);
		return;
	}
	for (int i = 0; i < res->nheaders; i++) {
		const struct fa_h1_header *x = &res->headers[i];

		if (x->name_len == 14 && !strncasecmp(x->name, "mcp-session-id", 14) &&
		    x->value_len < sizeof(s->sid))
			snprintf(s->sid, sizeof(s->sid), "%.*s", (int)x->value_len, x->value);
	}
	s->state = S_NOTIFY;
	set_headers(s);
	fa_buf_reset(&s->body);
	fa_jr_put_notification(&s->body, "notifications/initialized", NULL);
	post(s, s->body.data, s->body.len, on_handshake);
}

static void on_call(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		    const char *msg)
{
	struct session *s = rq->ctx;
	struct fa_bench_req *r = s->r;
	struct fa_jr_msg m;
	struct fa_error err = { 0 };

	s->r = NULL;
	if (!r || rc == FA_EINTR)
		return;
	if (rc == FA_ECONNECT) {
		fa_bench_done(r, msg && strstr(msg, "timeout after") ? FA_BENCH_ETIMEOUT :
			      FA_BENCH_ECONNECT, NULL, msg);
		return;
	}
	if (rc) {
		fa_bench_done(r, FA_BENCH_EPROTOCOL, NULL, msg);
		return;
	}
	if (res->status >= 400) {
		char detail[8], m2[64];

		snprintf(detail, sizeof(detail), "%dxx", res->status / 100 % 10);
		snprintf(m2, sizeof(m2), "status %d", res->status);
		fa_bench_done(r, FA_BENCH_ESTATUS, detail, m2);
		return;
	}
	if (answer(res, &m, &err)) {
		fa_bench_done(r, FA_BENCH_EPROTOCOL, NULL, err.msg);
		return;
	}
	fa_bench_mcp_judge(r, &m);
	fa_jr_release(&m);
}

static void post(struct session *s, const char *body, size_t len, done_fn *cb)
{
	s->rq = (struct fa_hclient_req){
		.method = "POST", .target = s->cfg->url.target, .headers = s->hdr,
		.nheaders = s->nhdr, .body = body, .body_len = len,
		.on_done = cb,
		.ctx = s,
	};
	fa_hclient_request(s->client, &s->rq);
}

static void *mcp_open(const void *vcfg, struct fa_loop *loop, struct fa_bench_conn *bc,
		      struct fa_error *err)
{
	const struct fa_bench_mcp *cfg = vcfg;
	struct session *s = calloc(1, sizeof(*s));
	struct fa_hclient_opts o = { 0 };
	uint64_t t = fa_bench_conn_timeout(bc);

	if (!s) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	o.timeout_ms = t ? (int)((t + 999999) / 1000000) : 0;
	o.tls = cfg->tls;
	if (!(s->client = fa_hclient_new(loop, &cfg->url, &o, err))) {
		free(s);
		return NULL;
	}
	s->cfg = cfg;
	s->bc = bc;
	s->next_id = 2;
	fa_buf_init(&s->body, 1 << 20);
	s->t0 = fa_now_ns();
	set_headers(s);
	fa_bench_mcp_put_handshake(cfg, &s->body);
	post(s, s->body.data, s->body.len, on_handshake);
	return s;
}

static void mcp_send(void *vs, struct fa_bench_req *r)
{
	struct session *s = vs;

	s->r = r;
	fa_buf_reset(&s->body);
	fa_buf_printf(&s->body, "{\"jsonrpc\":\"2.0\",\"id\":%llu,%s", s->next_id++, s->cfg->call);
	post(s, s->body.data, s->body.len, on_call);
}

static void mcp_close(void *vs)
{
	struct session *s = vs;

	s->r = NULL;
	fa_hclient_free(s->client);
	fa_buf_release(&s->body);
	free(s);
}

const struct fa_bench_target fa_bench_mcp_target = {
	.name = "mcp",
	.open = mcp_open,
	.send = mcp_send,
	.close = mcp_close,
};
