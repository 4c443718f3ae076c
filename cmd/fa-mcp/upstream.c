/*
 * fa-mcp proxy: the upstreams' sessions, and the requests forwarded to
 * them.  See upstream.h; what an upstream sends of its own is relay.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/json.h"
#include "core/stats.h"
#include "mcp/mcp.h"
#include "relay.h"
#include "upstream.h"

static void up_message(struct ctransport *t, const char *msg, size_t len);
static void up_fail(struct ctransport *t, enum fa_err rc, const char *msg);
static void kick(struct upstream *u);
static void listen_open(struct upstream *u);
static void subs_follow(struct upstream *u);
static void own_request(struct upstream *u, const char *method, const json_t *params, int l);
static void pend_reply(struct upstream *u, struct pend *x, struct reply *r);

const struct list_kind lists_of[NLISTS] = {
	{ "tools/list", "tools", "tools" },
	{ "prompts/list", "prompts", "prompts" },
	{ "resources/list", "resources", "resources" },
	{ "resources/templates/list", "resourceTemplates", "resources" },
};

/* ---- the pending requests ---- */

bool upstream_same_from(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static struct pend *take_pend(struct pend **list, long uid)
{
	for (struct pend **pp = list; *pp; pp = &(*pp)->next)
		if ((*pp)->uid == uid) {
			struct pend *x = *pp;

			*pp = x->next;
			return x;
		}
	return NULL;
}

/* Frees x, whose client (if any) was answered already. */
static void pend_free(struct upstream *u, struct pend *x)
{
	if (x->uid == u->listen_uid) {
		/* the listen ended (the upstream answered it, or its connection broke): again, soon */
		u->listen_uid = 0;
		if (u->p->loop)
			fa_timer_start(u->p->loop, &u->relisten, RELISTEN_MS);
	}
	json_decref(x->token);
	json_decref(x->params);
	json_decref(x->notes);
	json_decref(x->asks);
	json_decref(x->answers);
	json_decref(x->rstate);
	json_decref(x->script);
	free(x->sent);
	free(x->held);
	free(x->msg);
	free(x);
}

/* The stat of tool name of u, from 1; 0 when MAX_TOOL_STATS are counted already. */
static int tool_of(struct upstream *u, const char *name)
{
	for (int i = 0; i < u->ntools; i++)
		if (!strcmp(u->tools[i].name, name))
			return i + 1;
	if (u->ntools == MAX_TOOL_STATS)
		return 0;
	u->tools = realloc(u->tools, (size_t)(u->ntools + 1) * sizeof(*u->tools));
	u->tools[u->ntools] = (struct tool_stat){ .name = strdup(name) };
	return ++u->ntools;
}

static void tool_error(struct upstream *u, const struct pend *x)
{
	u->errors++;
	if (x->tool)
		u->tools[x->tool - 1].errors++;
}

/* Answers x's client with an error saying what became of its request. */
static void pend_fail(struct upstream *u, struct pend *x, int code, const char *msg)
{
	if (x->r) {
		tool_error(u, x);
		x->r->gone = NULL;
		mcp_fail(x->r, 200, code, msg, NULL);
		x->r = NULL;
		u->p->w->inflight--;
	}
	pend_free(u, x);
}

/* x's client gets msg as its error (none when msg is NULL); x stays, its answer to be dropped. */
static void answer_drop(struct upstream *u, struct pend *x, const char *msg)
{
	if (x->r) {
		x->r->gone = NULL;
		if (msg) {
			tool_error(u, x);
			mcp_fail(x->r, 200, FA_JR_INTERNAL_ERROR, msg, NULL);
		} else {
			x->r->done(x->r, 200, "", 0);
		}
		x->r = NULL;
		u->p->w->inflight--;
	}
	x->list = -1;
}

/* Every request of u, in flight and queued, fails with msg. */
static void fail_all(struct upstream *u, const char *msg)
{
	struct pend *x;

	while ((x = u->inflight)) {
		u->inflight = x->next;
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	while ((x = u->queue)) {
		u->queue = x->next;
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	u->queue_tail = &u->queue;
}

static void send_pend(struct upstream *u, struct pend *x, struct ctransport *t)
{
	struct fa_error err = { 0 };

	x->info.version = u->c.version;
	x->info.modern = u->c.era == CERA_MODERN;
	x->info.name = x->name[0] ? x->name : NULL;
	x->start_ns = fa_now_ns();
	x->due_ns = x->uid == u->listen_uid ? UINT64_MAX : x->start_ns + (uint64_t)u->timeout_ms * 1000000u;
	x->next = u->inflight;
	x->t = t;
	u->inflight = x;
	if (t->send(t, x->msg, x->len, &x->info, &err)) {
		char msg[700];

		take_pend(&u->inflight, x->uid);
		snprintf(msg, sizeof(msg), "upstream '%s': %.600s", u->name, err.msg);
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
		return;
	}
	if (x->r && x->r->era == ERA_LEGACY && u->c.era == CERA_MODERN && !x->sent) {
		/* kept: an input_required answer sends it up again, answered */
		x->sent = x->msg;
		x->sent_len = x->len;
	} else {
		free(x->msg);
	}
	x->msg = NULL;
	if (!u->p->loop || u->sweep.slot >= 0)
		return;
	fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
}

static bool conn_busy(const struct upstream *u, const struct ctransport *t)
{
	for (const struct pend *x = u->inflight; x; x = x->next)
		if (x->t == t)
			return true;
	return false;
}

/* Another connection into u's session (timeout_ms: its requests' own, 0 none); NULL when it cannot have one. */
static struct ctransport *conn_new(struct upstream *u, int timeout_ms)
{
	struct fa_error err = { 0 };
	struct ctransport *t;

	if (u->one_conn)
		return NULL;
	if (!(t = chttp_clone(u->c.t, timeout_ms, &err))) {
		u->one_conn = true;
		return NULL;
	}
	t->on_message = up_message;
	t->on_fail = up_fail;
	t->client = u;
	return t;
}

/* Another connection into u's session, for requests that overlap; NULL when it cannot have one. */
static struct ctransport *conn_add(struct upstream *u)
{
	struct ctransport *t;

	if (u->nconns == UP_CONNS || !(t = conn_new(u, u->timeout_ms + 1000)))
		return NULL;
	u->conns[u->nconns++] = t;
	return t;
}

/*
 * A connection of a serial upstream with no request on it: an idle one,
 * else a new one, else one whose answered POST is still ending; NULL when
 * each has a request.
 */
static struct ctransport *free_conn(struct upstream *u)
{
	struct ctransport *ending = NULL, *t;

	for (int i = 0; i < u->nconns; i++) {
		if (conn_busy(u, u->conns[i]))
			continue;
		if (chttp_idle(u->conns[i]))
			return u->conns[i];
		ending = ending ? ending : u->conns[i];
	}
	return (t = conn_add(u)) ? t : ending;
}

/* Sends x now, or queues it while each connection of a serial upstream has a request. */
static void submit(struct upstream *u, struct pend *x)
{
	struct ctransport *t = u->c.t;

	/* the listen holds its POST open: a connection of its own, with no timeout */
	if (u->serial && x->uid == u->listen_uid && (u->listen_t || (u->listen_t = conn_new(u, 0))))
		return send_pend(u, x, u->listen_t);
	if (u->serial && (u->queue || !(t = free_conn(u)))) {
		x->next = NULL;
		*u->queue_tail = x;
		u->queue_tail = &x->next;
		return;
	}
	send_pend(u, x, t);
}

static void on_kick(struct fa_timer *timer)
{
	struct upstream *u = timer->ctx;
	struct ctransport *t;
	struct pend *x;

	while (u->up && (x = u->queue) && (t = free_conn(u))) {
		u->queue = x->next;
		if (!u->queue)
			u->queue_tail = &u->queue;
		send_pend(u, x, t);
	}
}

/* Every connection but c.t closed. */
static void conns_close(struct upstream *u)
{
	for (int i = 1; i < u->nconns; i++)
		u->conns[i]->close(u->conns[i]);
	if (u->listen_t)
		u->listen_t->close(u->listen_t);
	u->listen_t = NULL;
	u->nconns = 0;
	u->one_conn = false;
}

/* The next queued request of a serial upstream goes, after this turn's I/O. */
static void kick(struct upstream *u)
{
	if (u->serial && u->queue && u->kick.slot < 0)
		fa_timer_start(u->p->loop, &u->kick, 0);
	if (u->deferred)
		relay_deferred(u);      /* a call ended: whose a request is may be clear now */
}

/* Whether something has a time to keep: a request (the listen has none) or a client's answer. */
static bool sweep_wanted(const struct upstream *u)
{
	for (const struct pend *x = u->inflight; x; x = x->next)
		if (x->due_ns != UINT64_MAX)
			return true;
	return u->sreqs != NULL || u->deferred != NULL;
}

/* Requests past their time get an error; notifications/cancelled goes up for them. */
static void on_sweep(struct fa_timer *t)
{
	struct upstream *u = t->ctx;
	uint64_t now = fa_now_ns();
	struct pend **pp = &u->inflight;

	while (*pp) {
		struct pend *x = *pp;
		char msg[400];

		if (x->due_ns <= now && !x->r && x->held) {
			/* parked with its answer, and the client never came back for it */
			*pp = x->next;
			pend_free(u, x);
			continue;
		}
		if (x->due_ns > now || (u->serial && !x->r)) {
			pp = &x->next;
			continue;
		}
		snprintf(msg, sizeof(msg), "upstream '%s' did not answer %s within %d ms", u->name,
			 x->method, u->timeout_ms);
		if (u->serial) {
			/* its POST still holds the connection: it stays in flight,
			   unanswered, until the client's own timeout ends it */
			answer_drop(u, x, msg);
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		if (u->up && !u->replay) {
			struct fa_buf b;
			json_t *params = json_pack("{s:I,s:s}", "requestId", (json_int_t)x->uid,
						   "reason", "timeout");
			struct csend info = { .method = "notifications/cancelled", .version = u->c.version,
					      .modern = u->c.era == CERA_MODERN };
			struct fa_error err = { 0 };

			fa_buf_init(&b, 0);
			fa_jr_put_notification(&b, "notifications/cancelled", params);
			u->c.t->send(u->c.t, b.data, b.len, &info, &err);
			fa_buf_release(&b);
			json_decref(params);
		}
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	relay_sweep(u, now);
	kick(u);
	if (sweep_wanted(u))
		fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
}

/* ---- connecting ---- */

static void lists_release(struct upstream *u)
{
	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		json_decref(u->acc[i]);
		u->list[i] = u->acc[i] = NULL;
	}
}

/* The lists u's capabilities offer, read whole (blocking: at connect). */
static void read_lists(struct upstream *u)
{
	json_t *caps = json_object_get(u->c.server, "capabilities");
	struct fa_error err = { 0 };

	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		u->list[i] = NULL;
		if (!json_object_get(caps, lists_of[i].cap))
			continue;
		if (!(u->list[i] = client_list(&u->c, lists_of[i].method, lists_of[i].key, &err)))
			fprintf(stderr, "fa-mcp proxy: upstream '%s': %s: %s\n", u->name,
				lists_of[i].method, err.msg);
	}
}

/* Opens u's session (blocking); false with u->why set when it cannot. */
/* A replay upstream: its session and lists as recorded. */
static bool connect_replay(struct upstream *u)
{
	struct fa_error err = { 0 };
	const json_t *line, *lists;
	const char *const *names;
	int n;

	if (!u->replay && !(u->replay = recording_load(u->replay_file, &err))) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		return false;
	}
	names = recording_names(u->replay, &n);
	u->replay_name = recording_server(u->replay, u->name) ? u->name : n == 1 ? names[0] : NULL;
	if (!u->replay_name) {
		snprintf(u->why, sizeof(u->why), "%.300s holds no upstream named '%s'", u->replay_file, u->name);
		return false;
	}
	line = recording_server(u->replay, u->replay_name);
	u->c = (struct client){ .loop = u->p->loop, .server = json_incref(json_object_get(line, "server")),
				.version = json_string_value(json_object_get(line, "protocolVersion")) };
	u->c.era = u->c.version && !strcmp(u->c.version, FA_MCP_STATELESS_VERSION) ? CERA_MODERN : CERA_LEGACY;
	lists = json_object_get(line, "lists");
	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		u->list[i] = json_incref(json_object_get(lists, lists_of[i].key));
	}
	u->up = true;
	u->why[0] = 0;
	return true;
}

/* What the recording says of u's session: where, the server, its lists. */
static void record_server(struct upstream *u)
{
	json_t *l;

	if (!u->p->rec)
		return;
	l = json_object();
	for (int i = 0; i < NLISTS; i++)
		if (u->list[i])
			json_object_set(l, lists_of[i].key, u->list[i]);
	recorder_server(u->p->rec, u->name, u->command ? u->command : u->url, u->headers, u->nheaders,
			u->c.version, u->c.server, l);
	json_decref(l);
}

bool upstream_connect(struct upstream *u)
{
	struct fa_error err = { 0 };
	struct ctransport *t;
	enum fa_err rc;

	if (u->replay_file)
		return connect_replay(u);
	json_decref(u->c.server);
	u->c = (struct client){ .loop = u->p->loop, .era = u->p->era, .timeout_ms = u->timeout_ms };
	if (u->command)
		t = cstdio_new(u->p->loop, u->command, u->env, u->nenv, &err);
	else
		/* a second more than the proxy waits: its own message comes first */
		t = chttp_new(u->p->loop, u->url, u->headers, u->nheaders, NULL, NULL, u->timeout_ms + 1000, NULL, &err);
	if (!t) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		return false;
	}
	u->c.t = t;
	/* what the clients may be asked for through the proxy (2025 era) */
	u->c.caps = json_pack("{s:{},s:{s:{},s:{}},s:{}}", "sampling", "elicitation", "form", "url", "roots");
	rc = client_open(&u->c, &err);
	json_decref(u->c.caps);
	u->c.caps = NULL;
	if (rc) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		client_close(&u->c);
		return false;
	}
	read_lists(u);
	record_server(u);
	t->on_message = up_message;
	t->on_fail = up_fail;
	t->client = u;
	u->serial = !u->command;
	u->conns[0] = t;
	u->nconns = u->serial;
	u->up = true;
	u->up_since = fa_now_ns();
	u->why[0] = 0;
	u->listen_uid = 0;
	listen_open(u);
	if (u->url)
		chttp_stand(t);         /* a 2025 session's news and requests outside any call */
	return true;
}

/*
 * A 2025 upstream holds subscriptions in the one session the proxy has
 * with it, for all the front's clients: the URIs they want that it was
 * not asked for are subscribed, those nobody wants any more unsubscribed.
 * (Forwarding each client's own would let one client's unsubscribe end
 * another's.)  The answers are dropped.
 */
static void subs_follow(struct upstream *u)
{
	json_t *caps = json_object_get(u->c.server, "capabilities"), *want, *v, *params;
	const char *uri;

	if (!json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe")))
		return;
	want = proxy_wanted(u->p, u);
	json_object_foreach(want, uri, v)
		if (!json_object_get(u->subs_asked, uri)) {
			params = json_pack("{s:s}", "uri", uri);
			own_request(u, "resources/subscribe", params, -1);
			json_decref(params);
		}
	json_object_foreach(u->subs_asked, uri, v)
		if (!json_object_get(want, uri)) {
			params = json_pack("{s:s}", "uri", uri);
			own_request(u, "resources/unsubscribe", params, -1);
			json_decref(params);
		}
	json_decref(u->subs_asked);
	u->subs_asked = want;
}

/*
 * A 2026 upstream tells of list changes and resource updates only to a
 * subscriptions/listen: the proxy keeps one open (no timeout) for the
 * lists it says change and the URIs of its that the front's clients
 * subscribed to (when it offers subscriptions).
 */
static void listen_open(struct upstream *u)
{
	static const char *const kinds[][2] = { { "tools", "toolsListChanged" },
						{ "prompts", "promptsListChanged" },
						{ "resources", "resourcesListChanged" } };
	json_t *caps = json_object_get(u->c.server, "capabilities"), *want, *uris, *v;
	const char *uri;

	if (u->replay)
		return;
	if (u->c.era != CERA_MODERN) {
		/* a new session holds no subscriptions yet */
		json_decref(u->subs_asked);
		u->subs_asked = NULL;
		subs_follow(u);
		return;
	}
	want = json_object();
	for (int i = 0; i < 3; i++)
		if (json_is_true(json_object_get(json_object_get(caps, kinds[i][0]), "listChanged")))
			json_object_set_new(want, kinds[i][1], json_true());
	json_decref(u->subs_asked);
	u->subs_asked = NULL;
	if (json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe"))) {
		u->subs_asked = proxy_wanted(u->p, u);
		uris = json_array();
		json_object_foreach(u->subs_asked, uri, v)
			json_array_append_new(uris, json_string(uri));
		if (json_array_size(uris))
			json_object_set_new(want, "resourceSubscriptions", uris);
		else
			json_decref(uris);
	}
	if (!json_object_size(want)) {
		json_decref(want);
		return;
	}
	want = json_pack("{s:o}", "notifications", want);
	u->listen_uid = u->next_id + 1;
	own_request(u, "subscriptions/listen", want, -1);
	json_decref(want);
}

/*
 * The listen that was uid ends, a new one in its place: over HTTP its
 * POST's connection closes (the 2026 way to cancel), over stdio
 * notifications/cancelled goes; its answer, if one comes, is dropped.
 */
static void listen_end(struct upstream *u, long uid, struct ctransport *t)
{
	struct pend *x = take_pend(&u->inflight, uid);

	if (t) {
		t->close(t);
	} else if (u->up && !u->serial) {
		json_t *params = json_pack("{s:I}", "requestId", (json_int_t)uid);
		struct csend info = { .method = "notifications/cancelled", .version = u->c.version,
				      .modern = true };
		struct fa_error err = { 0 };
		struct fa_buf b;

		fa_buf_init(&b, 0);
		fa_jr_put_notification(&b, "notifications/cancelled", params);
		u->c.t->send(u->c.t, b.data, b.len, &info, &err);
		fa_buf_release(&b);
		json_decref(params);
	}
	if (x)
		pend_free(u, x);        /* not the listen any more: no relisten */
}

void upstream_subs_update(struct upstream *u)
{
	json_t *caps = json_object_get(u->c.server, "capabilities"), *want;
	long old = u->listen_uid;
	struct ctransport *old_t = NULL;
	bool same;

	if (u->up && !u->replay && u->c.era == CERA_LEGACY)
		return subs_follow(u);
	/* refused or stopping, or ended and about to open again anyway */
	if (!u->up || u->c.era != CERA_MODERN || u->replay || old < 0 || u->relisten.slot >= 0 ||
	    !json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe")))
		return;
	want = proxy_wanted(u->p, u);
	same = u->subs_asked ? json_equal(want, u->subs_asked) : !json_object_size(want);
	json_decref(want);
	if (same)
		return;
	/* the new one opens first, on a connection of its own: nothing is missed between */
	if (old) {
		old_t = u->listen_t;
		u->listen_t = NULL;
		u->listen_uid = 0;
	}
	listen_open(u);
	if (old)
		listen_end(u, old, old_t);
}

bool upstream_listen_ended(struct upstream *u, const json_t *rid)
{
	struct pend *x;

	if (u->listen_uid <= 0 || !json_is_integer(rid) || json_integer_value(rid) != u->listen_uid ||
	    !(x = take_pend(&u->inflight, u->listen_uid)))
		return false;
	pend_free(u, x);        /* the listen's end: again, soon */
	return true;
}

static void on_relisten(struct fa_timer *t)
{
	struct upstream *u = t->ctx;

	if (u->up && !u->listen_uid)
		listen_open(u);
}

void upstream_schedule_restart(struct upstream *u)
{
	if (u->restart.slot >= 0)
		return;
	u->backoff_ms = !u->backoff_ms ? BACKOFF_MIN_MS :
			u->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : u->backoff_ms * 2;
	fa_timer_start(u->p->loop, &u->restart, (uint64_t)u->backoff_ms);
}

static void on_restart(struct fa_timer *t)
{
	struct upstream *u = t->ctx;

	conns_close(u);
	if (u->c.t)
		client_close(&u->c);
	u->restarts++;
	if (upstream_connect(u)) {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' %s again (restart %d)\n", u->name,
			u->url ? "connected" : "started", u->restarts);
		kick(u);
		return;
	}
	fprintf(stderr, "fa-mcp proxy: upstream '%s': %s; trying again\n", u->name, u->why);
	upstream_schedule_restart(u);
}

/* Two names shown by the front that are the same: said at start. */
/* ---- forwarding ---- */

/* What a request to upstream u carries besides the client's params. */
struct up_req {
	const char *real;               /* the name to put in, or NULL to leave it */
	long uid;                       /* the progress token, when has_token */
	bool has_token;
	int log_level;                  /* -1: none */
};

static bool own_meta_key(const char *k)
{
	return !strncmp(k, META_PREFIX, strlen(META_PREFIX)) || !strcmp(k, "progressToken");
}

/* Whether a request to u has a _meta at all, given the client's. */
static bool has_meta(const struct upstream *u, const json_t *meta, const struct up_req *q)
{
	const char *k;
	json_t *v;

	if (q->has_token || u->c.era == CERA_MODERN)
		return true;
	json_object_foreach((json_t *)meta, k, v)
		if (!own_meta_key(k))
			return true;
	return false;
}

/* "key":value, after a comma when one came before (*n). */
static void put_member(struct fa_buf *b, int *n, const char *key, const json_t *v)
{
	if ((*n)++)
		fa_buf_putc(b, ',');
	fa_json_put_key(b, key, strlen(key));
	if (v)
		fa_jr_put_json(b, v);
}

/* The _meta of a request to u: the client's own keys, then the proxy's token and u's era's marks. */
static void put_meta(struct upstream *u, struct fa_buf *b, const json_t *meta, const struct up_req *q)
{
	const char *k;
	json_t *v;
	int n = 0;

	fa_buf_putc(b, '{');
	json_object_foreach((json_t *)meta, k, v)
		if (!own_meta_key(k))
			put_member(b, &n, k, v);
	if (q->has_token) {
		put_member(b, &n, "progressToken", NULL);
		fa_buf_printf(b, "%ld", q->uid);
	}
	if (u->c.era == CERA_MODERN) {
		if (u->c.version) {
			put_member(b, &n, META_PREFIX "protocolVersion", NULL);
			fa_json_put_string(b, u->c.version, strlen(u->c.version));
		}
		put_member(b, &n, META_PREFIX "clientCapabilities", NULL);
		fa_buf_puts(b, "{},\"" META_PREFIX "clientInfo\":{\"name\":\"fa-mcp-proxy\",\"version\":\"" FA_VERSION "\"}");
		/* the level the client set for its session, or asked for with this request */
		if (q->log_level >= 0) {
			const char *l = fa_mcp_level_name((enum fa_mcp_level)q->log_level);

			fa_buf_puts(b, ",\"" META_PREFIX "logLevel\":");
			fa_json_put_string(b, l, strlen(l));
		}
	}
	fa_buf_putc(b, '}');
}

/*
 * params for upstream u, written: the client's, with the name swapped
 * for q->real, the 2026 _meta keys taken out (the proxy's session speaks
 * for the client) and put back as u's era needs, and the progress token
 * made the proxy's own (q->uid).  Keys stay where the client put them; a
 * _meta or name it had not come last.  No tree is built: every call
 * forwarded goes through here.
 */
static void put_params(struct upstream *u, struct fa_buf *b, const json_t *params, const struct up_req *q)
{
	const json_t *meta = json_object_get(params, "_meta");
	bool want_meta = has_meta(u, meta, q), meta_done = false, name_done = !q->real;
	const char *k;
	json_t *v;
	int n = 0;

	fa_buf_putc(b, '{');
	json_object_foreach((json_t *)params, k, v) {
		if (!strcmp(k, "_meta")) {
			if (want_meta) {
				put_member(b, &n, "_meta", NULL);
				put_meta(u, b, meta, q);
			}
			meta_done = true;
		} else if (q->real && !strcmp(k, "name")) {
			put_member(b, &n, "name", NULL);
			fa_json_put_string(b, q->real, strlen(q->real));
			name_done = true;
		} else {
			put_member(b, &n, k, v);
		}
	}
	if (want_meta && !meta_done) {
		put_member(b, &n, "_meta", NULL);
		put_meta(u, b, meta, q);
	}
	if (!name_done) {
		put_member(b, &n, "name", NULL);
		fa_json_put_string(b, q->real, strlen(q->real));
	}
	fa_buf_putc(b, '}');
}

/* The request (method, params) to u under id q->uid, written into b. */
static void put_up_request(struct upstream *u, struct fa_buf *b, const char *method, const json_t *params,
			   const struct up_req *q)
{
	fa_buf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":", q->uid);
	fa_json_put_string(b, method, strlen(method));
	fa_buf_puts(b, ",\"params\":");
	put_params(u, b, params, q);
	fa_buf_putc(b, '}');
}

/* put_params() as a tree, for a recording and a replay: a new reference. */
static json_t *up_params(struct upstream *u, const json_t *params, const struct up_req *q)
{
	struct fa_buf b;
	json_t *out;

	fa_buf_init(&b, 0);
	put_params(u, &b, params, q);
	out = json_loadb(b.data, b.len, 0, NULL);
	fa_buf_release(&b);
	return out;
}

static void answer_back(struct upstream *u, struct pend *x, struct fa_jr_msg *m);

/*
 * The recorded exchange that answers m (its name now real) played to r,
 * or an error naming the request.
 */
static void replay_answer(struct upstream *u, const struct fa_jr_msg *m, struct reply *r, const char *real)
{
	json_t *params = up_params(u, m->params, &(struct up_req){ .real = real, .log_level = -1 });
	const json_t *line;
	struct pend *x;

	json_object_del(params, "_meta");
	u->calls++;
	if (!(line = recording_match(u->replay, u->replay_name, m->method, params))) {
		struct fa_buf b, msg;

		fa_buf_init(&b, 0);
		fa_jr_put_json(&b, params);
		fa_buf_init(&msg, 0);
		fa_buf_printf(&msg, "replay: nothing recorded for %s %.300s%s (upstream '%s' in %s)", m->method,
			      b.data, b.len > 300 ? "..." : "", u->replay_name, recording_file(u->replay));
		u->errors++;
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, msg.data, NULL);
		fa_buf_release(&b);
		fa_buf_release(&msg);
		json_decref(params);
		return;
	}
	json_decref(params);
	x = calloc(1, sizeof(*x));
	x->uid = ++u->next_id;
	pend_reply(u, x, r);
	x->list = -1;
	snprintf(x->method, sizeof(x->method), "%s", m->method);
	x->start_ns = fa_now_ns();
	x->due_ns = x->start_ns + (uint64_t)u->timeout_ms * 1000000u;
	x->script = json_incref((json_t *)line);
	x->next = u->inflight;
	u->inflight = x;
	u->p->w->inflight++;
	upstream_replay_step(u, x);
}

void upstream_replay_step(struct upstream *u, struct pend *x)
{
	json_t *notes = json_object_get(x->script, "notifications"), *root;
	struct fa_jr_msg got = { 0 };

	while (x->script_at < json_array_size(notes))
		if (relay_replay_note(u, x, json_array_get(notes, x->script_at++)))
			return;         /* a request the client answers first */
	take_pend(&u->inflight, x->uid);
	root = json_pack("{s:s,s:n}", "jsonrpc", "2.0", "id");
	if (json_object_get(x->script, "error")) {
		got.kind = FA_JR_ERROR;
		json_object_set(root, "error", json_object_get(x->script, "error"));
	} else {
		got.kind = FA_JR_RESULT;
		/* a copy: a 2025 client's answer has the 2026 marks taken out */
		json_object_set_new(root, "result", json_deep_copy(json_object_get(x->script, "result")));
		got.result = json_object_get(root, "result");
	}
	got.root = root;
	answer_back(u, x, &got);
	json_decref(root);
	pend_free(u, x);
}

/* Sends m on to u for r, the name (tools/call, prompts/get) now real. */
void upstream_forward(struct upstream *u, const struct fa_jr_msg *m, struct reply *r, const char *real)
{
	struct pend *x;
	struct up_req q;
	struct fa_buf b;
	const char *name;

	if (!u->up) {
		char msg[700];

		snprintf(msg, sizeof(msg), "upstream '%s' is restarting: %s", u->name, u->why);
		u->errors++;
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, msg, NULL);
		return;
	}
	if (u->replay)
		return replay_answer(u, m, r, real);
	x = calloc(1, sizeof(*x));
	x->uid = ++u->next_id;
	pend_reply(u, x, r);
	snprintf(x->method, sizeof(x->method), "%s", m->method);
	q = (struct up_req){ .real = real, .uid = x->uid, .has_token = r->progress != NULL,
			     .log_level = r->log_level };
	if (u->p->rec) {
		x->params = up_params(u, m->params, &q);
		json_object_del(x->params, "_meta");
	}
	name = real ? real : json_string_value(json_object_get(m->params, "name"));
	if (!name)
		name = json_string_value(json_object_get(m->params, "uri"));
	snprintf(x->name, sizeof(x->name), "%s", name ? name : "");
	x->info.method = x->method;
	fa_buf_init(&b, 0);
	put_up_request(u, &b, m->method, m->params, &q);
	x->msg = fa_buf_detach(&b, &x->len);
	u->p->w->inflight++;
	u->calls++;
	if (!strcmp(m->method, "tools/call") && (x->tool = tool_of(u, x->name)))
		u->tools[x->tool - 1].calls++;
	submit(u, x);
}

const double upstream_bucket_ms[7] = { 1, 2.5, 10, 25, 100, 250, 1000 };

static void observe(struct upstream *u, uint64_t ns)
{
	int i = 0;

	while (i < 7 && (double)ns / 1e6 > upstream_bucket_ms[i])
		i++;
	u->buckets[i]++;
	u->answered++;
	u->latency_ns += ns;
}

/* x's answer b to its client, counted (failed: an error or an isError result). */
static void answer_send(struct upstream *u, struct pend *x, bool failed, const struct fa_buf *b)
{
	uint64_t ns = fa_now_ns() - x->start_ns;

	if (failed)
		tool_error(u, x);
	observe(u, ns);
	if (x->tool)
		u->tools[x->tool - 1].latency_ns += ns;
	x->r->gone = NULL;
	x->r->done(x->r, 200, b->data, b->len);
	x->r = NULL;
	u->p->w->inflight--;
}

/* An answer from upstream for x: the client's id back, modern results complete. */
static void answer_back(struct upstream *u, struct pend *x, struct fa_jr_msg *m)
{
	struct fa_buf b;

	/* as the upstream answered, before the client's changes */
	if (u->p->rec && !u->replay)
		recorder_exchange(u->p->rec, u->name, x->method, x->params, m->root,
				  (double)(fa_now_ns() - x->start_ns) / 1e6, x->notes);
	json_object_set(m->root, "id", x->r->id);
	if (m->kind == FA_JR_RESULT && json_is_object(m->result) && x->r->era == ERA_MODERN &&
	    !json_object_get(m->result, "resultType"))
		json_object_set_new(m->result, "resultType", json_string("complete"));
	if (m->kind == FA_JR_RESULT && json_is_object(m->result) && x->r->era == ERA_LEGACY &&
	    json_object_get(m->result, "resultType")) {
		/* a 2026 upstream's marks, which a 2025 client has no use for */
		json_t *meta = json_object_get(m->result, "_meta");

		json_object_del(m->result, "resultType");
		json_object_del(meta, META_PREFIX "serverInfo");
		if (meta && !json_object_size(meta))
			json_object_del(m->result, "_meta");
	}
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, m->root);
	answer_send(u, x, m->kind == FA_JR_ERROR || json_is_true(json_object_get(m->result, "isError")), &b);
	fa_buf_release(&b);
}

/*
 * The answer msg to x passed on as it came, with the client's id (and a
 * 2026 client's resultType added), when nothing else in it changes: no
 * tree built, nothing written again.  false when it must go the long way
 * (answer_back): a recording, a 2025 client of a 2026 upstream.
 */
static bool answer_raw(struct upstream *u, struct pend *x, const char *msg, const struct fa_jr_raw *raw)
{
	const char *res = msg + raw->result_off;
	size_t n = raw->result_len;
	struct fa_buf b;

	if (!x->r || (u->p->rec && !u->replay) || (x->r->era == ERA_LEGACY && raw->has_result_type))
		return false;
	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
	fa_jr_put_json(&b, x->r->id);
	fa_buf_puts(&b, ",\"result\":");
	if (x->r->era == ERA_MODERN && raw->result_object && !raw->has_result_type) {
		/* before its closing brace, as answer_back's json_object_set_new() puts it */
		size_t k = n - 1;

		while (k > 1 && strchr(" \t\r\n", res[k - 1]))
			k--;
		fa_buf_append(&b, res, n - 1);
		fa_buf_puts(&b, res[k - 1] == '{' ? "\"resultType\":\"complete\"}" : ",\"resultType\":\"complete\"}");
	} else {
		fa_buf_append(&b, res, n);
	}
	fa_buf_putc(&b, '}');
	answer_send(u, x, raw->is_error, &b);
	fa_buf_release(&b);
	return true;
}

/* A list page of the proxy's own refresh; the next page asked for, or the list swapped in. */
static void list_page(struct upstream *u, struct pend *x, struct fa_jr_msg *m)
{
	int l = x->list;
	const char *next = json_string_value(json_object_get(m->result, "nextCursor"));

	if (m->kind != FA_JR_RESULT) {
		json_decref(u->acc[l]);
		u->acc[l] = NULL;
		return;
	}
	if (!u->acc[l])
		u->acc[l] = json_array();
	json_array_extend(u->acc[l], json_object_get(m->result, lists_of[l].key));
	if (next && *next) {
		json_t *params = json_pack("{s:s}", "cursor", next);

		own_request(u, lists_of[l].method, params, l);
		json_decref(params);
		return;
	}
	json_decref(u->list[l]);
	u->list[l] = u->acc[l];
	u->acc[l] = NULL;
	/* the news goes once the new list is here to be read */
	relay_changed(u->p, l);
}

void upstream_refresh(struct upstream *u, int l)
{
	json_decref(u->acc[l]);
	u->acc[l] = NULL;
	own_request(u, lists_of[l].method, NULL, l);
}


/* A result of 2026's that asks the client for input before it can be answered. */
static bool asks_input(const struct fa_jr_msg *m)
{
	const char *t = json_string_value(json_object_get(m->result, "resultType"));

	return m->kind == FA_JR_RESULT && t && !strcmp(t, "input_required");
}

void upstream_again(struct upstream *u, struct pend *x)
{
	json_t *root, *params;
	struct fa_buf b;

	if (x->script) {
		/* a replay's: on with the recording */
		json_decref(x->answers);
		x->answers = NULL;
		upstream_replay_step(u, x);
		return;
	}
	root = json_loadb(x->sent, x->sent_len, 0, NULL);
	params = json_object_get(root, "params");
	take_pend(&u->inflight, x->uid);
	json_object_set_new(params, "inputResponses", x->answers);
	x->answers = NULL;
	if (x->rstate)
		json_object_set(params, "requestState", x->rstate);
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, root);
	json_decref(root);
	free(x->msg);
	x->msg = fa_buf_detach(&b, &x->len);
	submit(u, x);
}

void upstream_fail_call(struct upstream *u, struct pend *x, const char *msg)
{
	take_pend(&u->inflight, x->uid);
	pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	kick(u);
}

/* The upstream's answer m to x, whose client (or the proxy's own refresh) gets it; x freed. */
static void answered(struct upstream *u, struct pend *x, struct fa_jr_msg *m)
{
	if (x->r && x->r->era == ERA_LEGACY && x->sent && asks_input(m)) {
		char msg[300];

		/* in flight still, while its client is asked */
		x->next = u->inflight;
		u->inflight = x;
		x->t = NULL;
		snprintf(msg, sizeof(msg), "upstream '%s' asks for input (input_required) during %s, and the "
			 "client's request has no stream to ask it on (it does not accept text/event-stream)",
			 u->name, x->method);
		if (!relay_ask_client(u, x, m))
			upstream_fail_call(u, x, msg);
		kick(u);
		return;
	}
	if (x->r)
		answer_back(u, x, m);
	else if (x->list >= 0)
		list_page(u, x, m);
	if (x->uid == u->listen_uid && m->kind == FA_JR_ERROR) {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' refused subscriptions/listen: %s; its "
			"list changes go unheard\n", u->name, m->message ? m->message : "");
		u->listen_uid = -1;
	}
	pend_free(u, x);
	kick(u);
}

/*
 * The upstream's answer msg to x, taken from inflight: to x's client.  A
 * parked call keeps it, in flight still, for the client's retry.
 */
static void answer_msg(struct upstream *u, struct pend *x, const char *msg, size_t len,
		       const struct fa_jr_raw *raw)
{
	struct fa_error err;
	struct fa_jr_msg m = { 0 };

	if (!x->r && x->state[0]) {
		x->held = strndup(msg, len);
		x->held_len = len;
		x->t = NULL;    /* its connection is free for others */
		x->next = u->inflight;
		u->inflight = x;
		return;
	}
	if (raw && answer_raw(u, x, msg, raw)) {
		pend_free(u, x);
		kick(u);
	} else if (!fa_jr_parse(&m, msg, len, &err)) {
		answered(u, x, &m);
	} else {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' sent a malformed message: %s\n", u->name, err.msg);
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, err.msg);
	}
	fa_jr_release(&m);
}

static void up_message(struct ctransport *t, const char *msg, size_t len)
{
	struct upstream *u = t->client;
	struct fa_error err;
	struct fa_jr_raw raw;
	struct fa_jr_msg m = { 0 };
	struct pend *x;

	/* most of what comes is a plain result: passed on without a tree when it can be */
	if (fa_jr_scan_result(msg, len, &raw)) {
		/* else an answer to nothing of the proxy's (timed out, cancelled) */
		if ((x = take_pend(&u->inflight, (long)raw.id)))
			answer_msg(u, x, msg, len, &raw);
		return;
	}
	if (fa_jr_parse(&m, msg, len, &err)) {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' sent a malformed message: %s\n", u->name, err.msg);
	} else if (m.kind == FA_JR_REQUEST) {
		relay_request(u, t, &m);
	} else if (m.kind == FA_JR_NOTIFICATION) {
		relay_notification(u, &m);
	} else if (json_is_integer(m.id) && (x = take_pend(&u->inflight, (long)json_integer_value(m.id)))) {
		answer_msg(u, x, msg, len, NULL);
	}
	fa_jr_release(&m);
}

/* ---- a 2026 client's call the upstream asks something during (multi round-trip) ---- */

/* x's client answered input_required with x's asks under a requestState; x parked. */
static void input_required(struct upstream *u, struct pend *x)
{
	unsigned char rnd[16];
	json_t *res;
	struct fa_buf b;

	if (!x->state[0]) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)rand();
		snprintf(x->state, sizeof(x->state), STATE_PREFIX);
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(x->state + strlen(STATE_PREFIX) + 2 * i, 3, "%02x", rnd[i]);
	}
	res = json_pack("{s:s,s:O,s:s}", "resultType", "input_required", "inputRequests", x->asks,
			"requestState", x->state);
	json_decref(x->asks);
	x->asks = NULL;
	fa_buf_init(&b, 0);
	fa_jr_put_result(&b, x->r->id, res);
	json_decref(res);
	x->r->gone = NULL;
	x->r->done(x->r, 200, b.data, b.len);
	fa_buf_release(&b);
	x->r = NULL;
	x->list = -1;
	u->p->w->inflight--;
}

void upstream_ask(struct upstream *u, struct pend *x, const char *key, const json_t *method,
		  const json_t *params)
{
	json_t *ask = json_pack("{s:O}", "method", method);

	if (params)
		json_object_set(ask, "params", (json_t *)params);
	if (!x->asks)
		x->asks = json_object();
	json_object_set_new(x->asks, key, ask);
	if (x->r)
		input_required(u, x);
}

/* The parked call whose requestState is state, and its upstream. */
static struct pend *parked(struct proxy *p, const char *state, struct upstream **up)
{
	for (int i = 0; i < p->nups; i++)
		for (struct pend *x = p->ups[i].inflight; x; x = x->next)
			if (!x->r && !strcmp(x->state, state)) {
				*up = &p->ups[i];
				return x;
			}
	return NULL;
}

bool upstream_resume(struct proxy *p, const struct fa_jr_msg *m, struct reply *r)
{
	const char *state = json_string_value(json_object_get(m->params, "requestState")), *key;
	json_t *v;
	struct upstream *u;
	struct pend *x;
	char msg[300];

	if (!state || strncmp(state, STATE_PREFIX, strlen(STATE_PREFIX)))
		return false;
	if (!(x = parked(p, state, &u))) {
		snprintf(msg, sizeof(msg), "%s: requestState '%.80s' names no call the proxy holds: it was "
			 "answered, or timed out", m->method, state);
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, msg, NULL);
		return true;
	}
	json_object_foreach(json_object_get(m->params, "inputResponses"), key, v)
		relay_input_response(u, x, key, v);
	pend_reply(u, x, r);
	u->p->w->inflight++;
	if (x->asks) {
		/* what the upstream asked while the client was away */
		input_required(u, x);
	} else if (x->script) {
		x->state[0] = '\0';
		upstream_replay_step(u, x);
	} else if (x->held) {
		char *held = x->held;
		struct fa_jr_raw raw;

		x->held = NULL;
		x->state[0] = '\0';
		take_pend(&u->inflight, x->uid);
		answer_msg(u, x, held, x->held_len, fa_jr_scan_result(held, x->held_len, &raw) ? &raw : NULL);
		free(held);
	} else {
		x->state[0] = '\0';
	}
	return true;
}

static void up_fail(struct ctransport *t, enum fa_err rc, const char *msg)
{
	struct upstream *u = t->client;
	char m[800];

	if (u->serial && !t->gone) {
		/* HTTP: the request on that connection failed; it connects again for the next */
		snprintf(m, sizeof(m), "upstream '%s': %s", u->name, msg);
		for (struct pend **pp = &u->inflight; *pp;) {
			struct pend *x = *pp;

			if (x->t != t) {
				pp = &x->next;
				continue;
			}
			*pp = x->next;
			pend_fail(u, x, FA_JR_INTERNAL_ERROR, m);
		}
		kick(u);
		return;
	}
	/* a child that ended, or an HTTP session that did: all of it starts again */
	if (!u->up)
		return;
	u->up = false;
	snprintf(u->why, sizeof(u->why), "%s", msg);
	snprintf(m, sizeof(m), "upstream '%s' failed: %s; it is being %s", u->name, msg,
		 u->serial ? "connected again" : "restarted");
	fprintf(stderr, "fa-mcp proxy: %s\n", m);
	fail_all(u, m);
	relay_drop(u);
	if (fa_now_ns() - u->up_since > STABLE_NS)
		u->backoff_ms = 0;
	/* the transport goes in the timer, not under its own callback */
	upstream_schedule_restart(u);
}


void upstream_init(struct upstream *u)
{
	fa_timer_init(&u->restart, on_restart, u);
	fa_timer_init(&u->sweep, on_sweep, u);
	fa_timer_init(&u->kick, on_kick, u);
	fa_timer_init(&u->relisten, on_relisten, u);
	u->queue_tail = &u->queue;
	if (!u->timeout_ms)
		u->timeout_ms = u->p->timeout_ms;
}

void upstream_stop(struct upstream *u)
{
	if (u->p->loop) {
		fa_timer_stop(u->p->loop, &u->restart);
		fa_timer_stop(u->p->loop, &u->sweep);
		fa_timer_stop(u->p->loop, &u->kick);
		fa_timer_stop(u->p->loop, &u->relisten);
	}
	u->listen_uid = -1;     /* its end is not to be mended */
	json_decref(u->subs_asked);
	u->subs_asked = NULL;
	fail_all(u, "the proxy is stopping");
	relay_drop(u);
	conns_close(u);
	if (u->c.t)
		client_close(&u->c);
	json_decref(u->c.server);
	u->c.server = NULL;
	recording_free(u->replay);
	u->replay = NULL;
	u->up = false;
	lists_release(u);
}

/* x's client gave up on it: no answer, and u hears of it by its own id (reason may be NULL). */
static void cancel_pend(struct upstream *u, struct pend *x, const json_t *reason)
{
	struct fa_buf b;
	json_t *params;
	struct csend info = { .method = "notifications/cancelled", .version = u->c.version,
			      .modern = u->c.era == CERA_MODERN };
	struct fa_error err = { 0 };

	if (u->serial || !take_pend(&u->inflight, x->uid)) {
		/* HTTP: its POST holds the connection until it ends; the answer is dropped */
		answer_drop(u, x, NULL);
		return;
	}
	params = json_pack("{s:I}", "requestId", (json_int_t)x->uid);
	if (reason)
		json_object_set(params, "reason", (json_t *)reason);
	fa_buf_init(&b, 0);
	fa_jr_put_notification(&b, "notifications/cancelled", params);
	json_decref(params);
	answer_drop(u, x, NULL);
	pend_free(u, x);
	if (u->up && !u->replay)
		u->c.t->send(u->c.t, b.data, b.len, &info, &err);
	fa_buf_release(&b);
	kick(u);
}

/* The client of x (forwarded) went away: as if it had cancelled. */
static void pend_gone(struct reply *r)
{
	struct pend *x = r->gone_arg;
	json_t *reason = json_string("the client went away");

	r->gone = NULL;
	cancel_pend(x->up, x, reason);
	json_decref(reason);
}

/* x, with its client r now (whose session and progress token it takes): r ending early cancels x. */
static void pend_reply(struct upstream *u, struct pend *x, struct reply *r)
{
	x->r = r;
	x->up = u;
	r->gone = pend_gone;
	r->gone_arg = x;
	snprintf(x->from, sizeof(x->from), "%s", r->from ? r->from : "");
	x->stdio = !r->from;
	json_decref(x->token);
	x->token = json_incref(r->progress);
}

bool upstream_cancel(struct upstream *u, const char *from, const json_t *rid, const json_t *reason)
{
	for (struct pend *x = u->inflight; x; x = x->next) {
		if (!x->r || !json_equal(x->r->id, (json_t *)rid) || !mcp_cancel_owns(x->stdio ? NULL : x->from, from))
			continue;
		cancel_pend(u, x, reason);
		return true;
	}
	return false;
}

/*
 * A request of the proxy's own to u: params (borrowed, may be NULL) with
 * the era's _meta put in; its answer goes to list l's refresh, or (-1)
 * is dropped.
 */
static void own_request(struct upstream *u, const char *method, const json_t *params, int l)
{
	struct pend *x = calloc(1, sizeof(*x));
	struct fa_buf b;

	x->uid = ++u->next_id;
	x->list = l;
	snprintf(x->method, sizeof(x->method), "%s", method);
	x->info.method = x->method;
	fa_buf_init(&b, 0);
	put_up_request(u, &b, method, params, &(struct up_req){ .uid = x->uid, .log_level = -1 });
	x->msg = fa_buf_detach(&b, &x->len);
	submit(u, x);
}

void upstream_own_request(struct upstream *u, const char *method, const json_t *params)
{
	own_request(u, method, params, -1);
}
