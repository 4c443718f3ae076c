/*
 * fa-mcp: notifications.  Two kinds travel from server to client:
 *
 * - request-scoped ones, on the stream of the request they belong to:
 *   progress and log messages, both made from the NOTICEs a statement
 *   raises ("progress: 3/10" is progress, anything else a log message at
 *   its severity), for a client that asked (a progressToken; a level set
 *   with logging/setLevel, or in 2026 a logLevel in the request's _meta);
 * - unsolicited ones, to listeners: list_changed after a reload, and
 *   resources/updated for subscribed URIs.  A listener is the stdio
 *   client after initialize, a 2025 session's GET stream, or a 2026
 *   subscriptions/listen request, whose notifications carry its
 *   subscriptionId.
 *
 * Reloads run on the signal thread; each worker's eventfd wakes it to
 * tell its own listeners, on its own thread.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "famcp.h"
#include "mcp/mcp.h"
#include "proxy.h"

#define META_SUB "io.modelcontextprotocol/subscriptionId"
#define KEEPALIVE_MS 15000

void reply_release(struct reply *r)
{
	json_decref(r->id);
	json_decref(r->progress);
	r->id = r->progress = NULL;
}

void peer_release(struct peer *p)
{
	for (int i = 0; i < p->nsubs; i++)
		free(p->subs[i]);
	free(p->subs);
	p->subs = NULL;
	p->nsubs = 0;
}

void peer_each_sub(struct peer *p, void (*fn)(const char *uri, void *arg), void *arg)
{
	for (int i = 0; i < p->nsubs; i++)
		fn(p->subs[i], arg);
}

/* A notification to r's stream; takes params. */
static void notify(struct reply *r, const char *method, json_t *params)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_notification(&b, method, params);
	r->notify(r, b.data, b.len);
	fa_buf_release(&b);
	json_decref(params);
}

static json_t *log_data(const PGresult *res, const char *msg)
{
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	json_t *o;

	if (!detail && !hint)
		return json_string(msg);
	o = json_pack("{s:s}", "message", msg);
	if (detail)
		json_object_set_new(o, "detail", json_string(detail));
	if (hint)
		json_object_set_new(o, "hint", json_string(hint));
	if (state)
		json_object_set_new(o, "sqlstate", json_string(state));
	return o;
}

/* 3 as 3, not 3.0: progress counts are mostly whole. */
static json_t *number(double v)
{
	if (v == (double)(json_int_t)v && v > -1e15 && v < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

void mcp_notice(struct reply *r, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), *text;
	double done, total;
	int level;
	json_t *p;

	if (!r->notify || !msg)
		return;
	if (fa_mcp_progress_notice(msg, &done, &total, &text)) {
		if (!r->progress)
			return;
		p = json_pack("{s:O,s:o}", "progressToken", r->progress, "progress", number(done));
		if (total >= 0)
			json_object_set_new(p, "total", number(total));
		if (text)
			json_object_set_new(p, "message", json_string(text));
		notify(r, "notifications/progress", p);
		return;
	}
	level = fa_mcp_level_of_pg(PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED));
	if (r->log_level < 0 || level < r->log_level)
		return;
	p = json_pack("{s:s,s:s,s:o}", "level", fa_mcp_level_name(level), "logger", "postgresql",
		      "data", log_data(res, msg));
	notify(r, "notifications/message", p);
}

/* ---- logging/setLevel, resources/subscribe ---- */

static void set_level(struct peer *p, void *arg)
{
	p->log_level = *(int *)arg;
}

void mcp_set_level(struct reply *r, const struct fa_jr_msg *m)
{
	int level = fa_mcp_level(json_string_value(json_object_get(m->params, "level")));

	if (level < 0) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "logging/setLevel: \"level\" must be one of debug, "
			 "info, notice, warning, error, critical, alert, emergency", NULL);
		return;
	}
	if (r->with_peer)
		r->with_peer(r, set_level, &level);
	mcp_answer(r, json_object());
}

struct sub_change {
	const char *uri;
	bool on;
};

static void change_sub(struct peer *p, void *arg)
{
	struct sub_change *c = arg;
	char **grown;

	for (int i = 0; i < p->nsubs; i++)
		if (!strcmp(p->subs[i], c->uri)) {
			if (!c->on) {
				free(p->subs[i]);
				p->subs[i] = p->subs[--p->nsubs];
			}
			return;
		}
	if (!c->on || !(grown = realloc(p->subs, (size_t)(p->nsubs + 1) * sizeof(*grown))))
		return;
	p->subs = grown;
	p->subs[p->nsubs++] = strdup(c->uri);
}

void mcp_subscribe(struct worker *w, struct reply *r, const struct fa_jr_msg *m, bool on)
{
	struct sub_change c = { json_string_value(json_object_get(m->params, "uri")), on };

	if (!c.uri) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, on ? "resources/subscribe: \"uri\" is required" :
			 "resources/unsubscribe: \"uri\" is required", NULL);
		return;
	}
	if (!r->with_peer || !r->with_peer(r, change_sub, &c)) {
		mcp_fail(r, 200, FA_JR_INVALID_REQUEST, "no session to hold the subscription", NULL);
		return;
	}
	mcp_answer(r, json_object());
}

/* ---- completion/complete ---- */

/* Whether ref names a prompt or a resource template this server has. */
static bool ref_known(struct worker *w, const json_t *ref)
{
	const char *type = json_string_value(json_object_get(ref, "type"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *uri = json_string_value(json_object_get(ref, "uri"));
	struct fa_sqlfile_set *set = app_files(w->app);

	for (size_t i = 0; type && i < set->nqueries; i++) {
		const struct fa_query *q = &set->queries[i];

		if (!strcmp(type, "ref/prompt") && name && q->prompt && !strcmp(q->name, name))
			return true;
		if (!strcmp(type, "ref/resource") && uri && q->resource && !strcmp(q->resource, uri))
			return true;
	}
	return false;
}

/*
 * The SQL files declare no value lists, so there is nothing to suggest:
 * the answer is an empty list, for a reference that exists.
 */
void mcp_complete(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	json_t *ref = json_object_get(m->params, "ref"), *arg = json_object_get(m->params, "argument");

	if (!json_is_object(ref) || !json_is_string(json_object_get(arg, "name"))) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "completion/complete: \"ref\" and \"argument\" "
			 "with a \"name\" are required", NULL);
		return;
	}
	if (!ref_known(w, ref)) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "completion/complete: no such prompt or resource "
			 "template", NULL);
		return;
	}
	mcp_answer(r, json_pack("{s:{s:[],s:i,s:b}}", "completion", "values", "total", 0, "hasMore", 0));
}

/* ---- listeners ---- */

static void keepalive_due(struct fa_timer *t)
{
	struct worker *w = t->ctx;

	for (struct listener *l = w->listeners; l; l = l->next)
		if (l->keepalive)
			l->keepalive(l);
	if (w->listeners)
		fa_timer_start(w->loop, &w->ping, KEEPALIVE_MS);
}

void listener_add(struct worker *w, struct listener *l)
{
	l->next = w->listeners;
	w->listeners = l;
	if (l->keepalive && w->ping.slot < 0)
		fa_timer_start(w->loop, &w->ping, KEEPALIVE_MS);
	if (w->app->proxy)
		proxy_subs_changed(w->app->proxy);
}

void listener_remove(struct worker *w, struct listener *l)
{
	for (struct listener **p = &w->listeners; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	if (!w->listeners)
		fa_timer_stop(w->loop, &w->ping);
	if (w->app->proxy)
		proxy_subs_changed(w->app->proxy);
}

void listener_tell(struct listener *l, const char *method, json_t *params)
{
	struct fa_buf b;

	if (l->sub_id) {
		if (!params)
			params = json_object();
		json_object_set_new(params, "_meta", json_pack("{s:O}", META_SUB, l->sub_id));
	}
	fa_buf_init(&b, 0);
	fa_jr_put_notification(&b, method, params);
	l->send(l, b.data, b.len);
	fa_buf_release(&b);
	json_decref(params);
}

static void tell_updates(struct worker *w, struct listener *l)
{
	struct fa_sqlfile_set *set = app_files(w->app);

	for (size_t i = 0; i < set->nqueries; i++) {
		const char *uri = set->queries[i].resource;

		if (uri && !strchr(uri, '{') && l->subscribed && l->subscribed(l, uri))
			listener_tell(l, "notifications/resources/updated", json_pack("{s:s}", "uri", uri));
	}
}

void mcp_changed(struct worker *w)
{
	unsigned gen = __atomic_load_n(&w->app->generation, __ATOMIC_ACQUIRE);

	if (gen == w->seen)
		return;
	w->seen = gen;
	for (struct listener *l = w->listeners, *next; l; l = next) {
		next = l->next;         /* a send may end a stream that is gone */
		if (l->wants & LISTEN_TOOLS)
			listener_tell(l, "notifications/tools/list_changed", NULL);
		if (l->wants & LISTEN_PROMPTS)
			listener_tell(l, "notifications/prompts/list_changed", NULL);
		if (l->wants & LISTEN_RESOURCES)
			listener_tell(l, "notifications/resources/list_changed", NULL);
		if (l->wants & LISTEN_UPDATES)
			tell_updates(w, l);
	}
}

static void on_wake(struct fa_io *io, uint32_t ev)
{
	struct worker *w = io->ctx;
	uint64_t n;

	if (read(w->wake_fd, &n, sizeof(n)) < 0)
		return;
	mcp_legacy_flush(w);
	mcp_changed(w);
}

/* Registers w with its app, to be woken by reloads. */
void worker_listen(struct worker *w)
{
	struct app *a = w->app;
	struct worker **grown;

	fa_timer_init(&w->ping, keepalive_due, w);
	w->seen = __atomic_load_n(&a->generation, __ATOMIC_ACQUIRE);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return;
	w->wake_io = (struct fa_io){ .fd = w->wake_fd, .cb = on_wake, .ctx = w };
	fa_loop_add(w->loop, &w->wake_io, FA_IN);
	pthread_mutex_lock(&a->lock);
	grown = realloc(a->workers, (size_t)(a->nworkers + 1) * sizeof(*grown));
	if (grown) {
		a->workers = grown;
		a->workers[a->nworkers++] = w;
	}
	pthread_mutex_unlock(&a->lock);
}

void worker_unlisten(struct worker *w)
{
	struct app *a = w->app;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nworkers; i++)
		if (a->workers[i] == w)
			a->workers[i] = a->workers[--a->nworkers];
	if (!a->nworkers) {
		free(a->workers);
		a->workers = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	fa_timer_stop(w->loop, &w->ping);
	if (w->wake_fd >= 0) {
		fa_loop_del(w->loop, &w->wake_io);
		close(w->wake_fd);
	}
}

/* After a reload: every worker tells its listeners, on its own thread. */
void mcp_wake_workers(struct app *a)
{
	uint64_t one = 1;

	__atomic_add_fetch(&a->generation, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nworkers; i++)
		if (a->workers[i]->wake_fd >= 0 && write(a->workers[i]->wake_fd, &one, sizeof(one)) < 0)
			continue;
	pthread_mutex_unlock(&a->lock);
}

/* ---- subscriptions/listen (2026) ---- */

struct listen {
	struct listener l;
	struct worker *w;
	struct reply *r;
	char **uris;
	int nuris;
	char *owner;                    /* r->from: NULL over stdio, else the 2025 session or "" */
};

static void listen_end(struct listener *l);

static void listen_send(struct listener *l, const char *msg, size_t len)
{
	struct listen *s = l->ctx;

	s->r->notify(s->r, msg, len);
}

static void listen_subs(struct listener *l, void (*fn)(const char *uri, void *arg), void *arg)
{
	struct listen *s = l->ctx;

	for (int i = 0; i < s->nuris; i++)
		fn(s->uris[i], arg);
}

static bool listen_subscribed(struct listener *l, const char *uri)
{
	struct listen *s = l->ctx;

	for (int i = 0; i < s->nuris; i++)
		if (!strcmp(s->uris[i], uri))
			return true;
	return false;
}

static void listen_free(struct listen *s)
{
	listener_remove(s->w, &s->l);
	for (int i = 0; i < s->nuris; i++)
		free(s->uris[i]);
	free(s->uris);
	free(s->owner);
	free(s);
}

/* The client went away: the stream ends with nobody to answer. */
static void listen_gone(struct reply *r)
{
	struct listen *s = r->gone_arg;

	listen_free(s);
	r->gone = NULL;
	r->done(r, 200, "", 0);
}

/* notifications/cancelled for the listen request: it ends with an empty result. */
bool mcp_listen_cancel(struct worker *w, const char *from, const json_t *request_id)
{
	for (struct listener *l = w->listeners; l; l = l->next) {
		struct listen *s = l->ctx;

		if (l->send != listen_send || !json_equal(l->sub_id, request_id) ||
		    !mcp_cancel_owns(s->owner, from))
			continue;
		s->r->gone = NULL;
		mcp_answer(s->r, json_object());
		listen_free(s);
		return true;
	}
	return false;
}

static void listen_end(struct listener *l)
{
	listen_gone(((struct listen *)l->ctx)->r);
}

void mcp_listeners_end(struct worker *w)
{
	for (struct listener *l = w->listeners, *next; l; l = next) {
		next = l->next;
		if (l->end)
			l->end(l);
	}
}

/* The honoured subset of what the client asked for, into s. */
static json_t *listen_accept(struct listen *s, const json_t *asked)
{
	static const struct { const char *key; unsigned bit; } kinds[] = {
		{ "toolsListChanged", LISTEN_TOOLS },
		{ "promptsListChanged", LISTEN_PROMPTS },
		{ "resourcesListChanged", LISTEN_RESOURCES },
	};
	json_t *ok = json_object(), *uris = json_object_get(asked, "resourceSubscriptions"), *v;
	size_t i;

	for (i = 0; i < 3; i++)
		if (json_is_true(json_object_get(asked, kinds[i].key))) {
			s->l.wants |= kinds[i].bit;
			json_object_set_new(ok, kinds[i].key, json_true());
		}
	if (json_is_array(uris) && json_array_size(uris)) {
		json_t *list = json_array();

		s->uris = calloc(json_array_size(uris), sizeof(*s->uris));
		json_array_foreach(uris, i, v)
			if (json_is_string(v)) {
				s->uris[s->nuris++] = strdup(json_string_value(v));
				json_array_append(list, v);
			}
		s->l.wants |= LISTEN_UPDATES;
		json_object_set_new(ok, "resourceSubscriptions", list);
	}
	return ok;
}

void mcp_listen(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	json_t *asked = json_object_get(m->params, "notifications");
	struct listen *s;

	if (!json_is_object(asked)) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "subscriptions/listen: \"notifications\" (an object) "
			 "is required", NULL);
		return;
	}
	if (!r->notify) {
		mcp_fail(r, 400, FA_JR_INVALID_REQUEST, "subscriptions/listen needs a stream: accept "
			 "text/event-stream", NULL);
		return;
	}
	s = calloc(1, sizeof(*s));
	s->w = w;
	s->r = r;
	s->owner = r->from ? strdup(r->from) : NULL;
	s->l = (struct listener){ .send = listen_send, .subscribed = listen_subscribed,
				  .subs = listen_subs, .end = listen_end, .sub_id = r->id,
				  .scope = r->scope, .ctx = s };
	listener_tell(&s->l, "notifications/subscriptions/acknowledged",
	     json_pack("{s:o}", "notifications", listen_accept(s, asked)));
	r->gone = listen_gone;
	r->gone_arg = s;
	listener_add(w, &s->l);
}
