/*
 * fa-mcp client: one session, in the era the server speaks.
 *
 * auto follows the 2026-07-28 versioning page: a server/discover probe
 * with the _meta block first; a DiscoverResult, or a modern error naming
 * supported versions (-32022), means the stateless era; anything else
 * (another error, a 400 without a modern error, a result without
 * supportedVersions, no answer in time) means
 * a server of the initialize era, and the client falls back to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "core/stats.h"
#include "mcp/jsonrpc.h"
#include "mcp/mcp.h"

#define PROBE_TIMEOUT_MS 5000
#define MAX_PAGES 10000                 /* of one list: a server that never ends it is broken */

static struct client *of(struct ctransport *t)
{
	return t->client;
}

/*
 * A request of the server's: ping is answered; the rest (sampling,
 * elicitation, roots) need capabilities fa-mcp does not declare, and get
 * -32601 at once, so that the server's tool does not wait for them.
 */
static void answer_server(struct client *c, const struct fa_jr_msg *m)
{
	struct fa_buf b;
	char msg[300];
	json_t *empty;

	fa_buf_init(&b, 0);
	if (!strcmp(m->method, "ping")) {
		empty = json_object();
		fa_jr_put_result(&b, m->id, empty);
		json_decref(empty);
	} else {
		snprintf(msg, sizeof(msg), "fa-mcp does not take %.200s requests", m->method);
		fa_jr_put_error(&b, m->id, -32601, msg, NULL);
	}
	c->t->reply(c->t, b.data, b.len);
	fa_buf_release(&b);
}

static void on_message(struct ctransport *t, const char *msg, size_t len)
{
	struct client *c = of(t);
	struct fa_error err;
	struct fa_jr_msg m;

	if (fa_jr_parse(&m, msg, len, &err)) {
		c->fail = FA_EINPUT;
		snprintf(c->fail_msg, sizeof(c->fail_msg), "the server sent a malformed message: %.900s", err.msg);
	} else if (m.kind == FA_JR_REQUEST) {
		answer_server(c, &m);
	} else if ((m.kind == FA_JR_RESULT || m.kind == FA_JR_ERROR) && json_is_integer(m.id) &&
		   json_integer_value(m.id) == c->want_id) {
		c->answer = json_incref(m.root);
	}
	/* notifications: not asked for, let go */
	fa_jr_release(&m);
}

static void on_fail(struct ctransport *t, enum fa_err rc, const char *msg)
{
	struct client *c = of(t);

	if (c->fail)
		return;
	c->fail = rc;
	snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", msg);
}

static json_t *client_info(void)
{
	return json_pack("{s:s,s:s}", "name", "fa-mcp", "version", FA_VERSION);
}

/* params with the 2026 _meta block added (params may be NULL). */
static json_t *with_meta(const struct client *c, json_t *params)
{
	json_t *meta;

	if (!params)
		params = json_object();
	if (!(meta = json_object_get(params, "_meta"))) {
		meta = json_object();
		json_object_set_new(params, "_meta", meta);
	}
	json_object_set_new(meta, "io.modelcontextprotocol/protocolVersion", json_string(c->version));
	json_object_set_new(meta, "io.modelcontextprotocol/clientCapabilities", json_object());
	json_object_set_new(meta, "io.modelcontextprotocol/clientInfo", client_info());
	return params;
}

/* Sends one message and runs the loop until its answer, a failure or the time. */
static enum fa_err exchange(struct client *c, const char *method, json_t *params, bool notify,
			    int timeout_ms, json_t **answer, struct fa_error *err)
{
	struct csend info = { .method = method, .version = c->version, .modern = c->era == CERA_MODERN };
	json_t *id = notify ? NULL : json_integer(++c->next_id);
	uint64_t until = fa_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct fa_buf b;
	enum fa_err rc;

	info.name = json_string_value(json_object_get(params, "name"));
	if (!info.name)
		info.name = json_string_value(json_object_get(params, "uri"));
	fa_buf_init(&b, 0);
	notify ? fa_jr_put_notification(&b, method, params) : fa_jr_put_request(&b, id, method, params);
	json_decref(id);
	c->want_id = notify ? -1 : c->next_id;
	for (int tries = 0;; tries++) {
		struct fa_error again = { 0 };

		c->answer = NULL;
		rc = c->t->send(c->t, b.data, b.len, &info, err);
		if (rc && !c->fail) {   /* the way is broken: no era probe can go on */
			c->fail = rc;
			snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", err->msg);
		}
		while (!rc && !notify && !c->answer && !c->fail) {
			uint64_t now = fa_now_ns();

			if (now >= until) {
				fa_buf_release(&b);
				return fa_error_set(err, FA_ECONNECT, "no answer to %s within %d ms", method,
						    timeout_ms);
			}
			fa_loop_run_once(c->loop, (int)((until - now) / 1000000u) + 1);
		}
		/* a 401 the transport can answer with a new token: once more */
		if (rc || !c->fail || tries || !c->t->reauth)
			break;
		if (!c->t->reauth(c->t, &again)) {
			if (again.code)
				snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", again.msg);
			break;
		}
		c->fail = FA_OK;
	}
	fa_buf_release(&b);
	if (!rc && c->fail)
		rc = fa_error_set(err, c->fail, "%s", c->fail_msg);
	*answer = c->answer;
	c->answer = NULL;
	return rc;
}

/* A response into its result, or its error into err (FA_EWORK). */
static enum fa_err take(json_t *answer, json_t **result, int *code, struct fa_error *err)
{
	json_t *e = json_object_get(answer, "error");

	*code = 0;
	if (e) {
		*code = (int)json_integer_value(json_object_get(e, "code"));
		fa_error_set(err, FA_EWORK, "%s (%d)", json_string_value(json_object_get(e, "message")) ?
			     json_string_value(json_object_get(e, "message")) : "error", *code);
		json_decref(answer);
		return FA_EWORK;
	}
	*result = json_incref(json_object_get(answer, "result"));
	json_decref(answer);
	if (!json_is_object(*result)) {
		json_decref(*result);
		*result = NULL;
		return fa_error_set(err, FA_EINPUT, "the server's answer has no result object");
	}
	return FA_OK;
}

enum fa_err client_request(struct client *c, const char *method, json_t *params, json_t **result,
			   struct fa_error *err)
{
	json_t *answer = NULL;
	enum fa_err rc;
	int code;

	if (c->era == CERA_MODERN)
		params = with_meta(c, params);
	rc = exchange(c, method, params, false, c->timeout_ms, &answer, err);
	json_decref(params);
	return rc ? rc : take(answer, result, &code, err);
}

/*
 * The versions an initialize may settle on: the server's own, and
 * 2024-11-05, the first, which servers on old SDKs (server-postgres 0.6.2)
 * still answer with; what the commands use of it is the same.
 */
static bool speaks(const char *v)
{
	return v && ((fa_mcp_version_known(v) && strcmp(v, FA_MCP_STATELESS_VERSION)) ||
		     !strcmp(v, "2024-11-05"));
}

json_t *client_list(struct client *c, const char *method, const char *key, struct fa_error *err)
{
	json_t *all = json_array(), *res = NULL;
	const char *cursor = NULL;
	char *next = NULL;
	enum fa_err rc;

	for (int pages = 0; pages < MAX_PAGES; pages++) {
		rc = client_request(c, method, next ? json_pack("{s:s}", "cursor", next) : NULL, &res, err);
		free(next);
		next = NULL;
		if (rc) {
			json_decref(all);
			return NULL;
		}
		json_array_extend(all, json_object_get(res, key));
		cursor = json_string_value(json_object_get(res, "nextCursor"));
		next = cursor && *cursor ? strdup(cursor) : NULL;
		json_decref(res);
		if (!next)
			return all;
	}
	free(next);
	json_decref(all);
	fa_error_set(err, FA_EINPUT, "%s: still more pages after %d", method, MAX_PAGES);
	return NULL;
}

/* The 2025 handshake: initialize, then notifications/initialized. */
static enum fa_err initialize(struct client *c, struct fa_error *err)
{
	json_t *params = json_pack("{s:s,s:o,s:o}", "protocolVersion", FA_MCP_SESSION_VERSION,
				   "capabilities", c->caps ? json_incref(c->caps) : json_object(),
				   "clientInfo", client_info());
	json_t *answer = NULL, *result = NULL;
	const char *v;
	enum fa_err rc;
	int code;

	c->era = CERA_LEGACY;
	c->version = NULL;
	rc = exchange(c, "initialize", params, false, c->timeout_ms, &answer, err);
	json_decref(params);
	if (rc || (rc = take(answer, &result, &code, err)))
		return rc;
	v = json_string_value(json_object_get(result, "protocolVersion"));
	if (!speaks(v)) {
		rc = fa_error_set(err, FA_EINPUT, "the server answered initialize with protocol version %s%s%s",
				  v ? "'" : "", v ? v : "none", v ? "', which fa-mcp does not speak" : "");
		json_decref(result);
		return rc;
	}
	c->version = v;         /* held by c->server */
	c->server = result;
	return exchange(c, "notifications/initialized", NULL, true, c->timeout_ms, &answer, err);
}

/* server/discover in the 2026 era; FA_OK when the server speaks it. */
static enum fa_err discover(struct client *c, struct fa_error *err)
{
	json_t *answer = NULL, *result = NULL, *params;
	enum fa_err rc;
	int code;

	c->era = CERA_MODERN;
	c->version = FA_MCP_STATELESS_VERSION;
	params = with_meta(c, NULL);
	rc = exchange(c, "server/discover", params, false,
		      c->timeout_ms < PROBE_TIMEOUT_MS ? c->timeout_ms : PROBE_TIMEOUT_MS, &answer, err);
	json_decref(params);
	if (rc || (rc = take(answer, &result, &code, err)))
		return rc;
	/* a server of the initialize era may answer an unknown method with {} */
	if (!json_is_array(json_object_get(result, "supportedVersions"))) {
		json_decref(result);
		return fa_error_set(err, FA_EWORK, "the answer to server/discover has no supportedVersions");
	}
	c->server = result;
	return FA_OK;
}

enum fa_err client_open(struct client *c, struct fa_error *err)
{
	enum cera asked = c->era;
	enum fa_err rc;

	c->t->client = c;
	c->t->on_message = on_message;
	c->t->on_fail = on_fail;
	if (asked == CERA_LEGACY)
		return initialize(c, err);
	rc = discover(c, err);
	if (!rc || asked == CERA_MODERN)
		return rc;
	/* a broken transport or a malformed answer says nothing about the era */
	if (c->fail)
		return rc;
	c->fail = FA_OK;
	fa_error_clear(err);
	return initialize(c, err);
}

void client_close(struct client *c)
{
	if (c->t)
		c->t->close(c->t);
	c->t = NULL;
	json_decref(c->server);
	c->server = NULL;
}
