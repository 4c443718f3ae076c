/*
 * fa-mcp proxy: relay.c: what an upstream sends of its own, relayed to
 * the front.
 *
 * Notifications: progress and log messages go to the client of the call
 * they are about (progress under the client's own token), list changes
 * to the front's listeners of both eras once the new list is read, and
 * resource updates to the listeners subscribed to them; with --record
 * they go with the exchange of their call.  Requests (sampling,
 * elicitation, roots) go to the client whose call they came during,
 * under an id of the proxy's, and that client's response back under the
 * upstream's; ping is answered and the rest refused.  Internal to the
 * proxy, beside upstream.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "mcp/mcp.h"
#include "proxy.h"
#include "relay.h"

static void note_deliver(struct upstream *u, struct pend *x, struct fa_jr_msg *m, bool live);

static bool replay_ask(struct upstream *u, struct pend *x, const json_t *req);

bool relay_replay_note(struct upstream *u, struct pend *x, const json_t *note)
{
	json_t *msg = json_deep_copy(json_object_get(note, "message"));
	struct fa_jr_msg nm = { .kind = FA_JR_NOTIFICATION, .root = msg,
				.method = json_string_value(json_object_get(msg, "method")),
				.params = json_object_get(msg, "params") };
	bool waits = false;

	if (json_object_get(note, "response"))
		waits = replay_ask(u, x, msg);
	else if (nm.method && !json_object_get(msg, "id"))
		note_deliver(u, x, &nm, false);
	json_decref(msg);
	return waits;
}

/* method (params taken) to the front's streams that hear of list changes, in both eras. */
static void broadcast(struct proxy *p, unsigned wants, const char *method, json_t *params)
{
	for (struct listener *l = p->w->listeners, *next; l; l = next) {
		next = l->next;
		if (l->wants & wants)
			listener_tell(l, method, json_incref(params));
	}
	json_decref(params);
}

/* The front's listeners hear that list l (not the templates, which go with the resources) changed. */
void relay_changed(struct proxy *p, int l)
{
	static const char *const methods[] = { "notifications/tools/list_changed",
					       "notifications/prompts/list_changed",
					       "notifications/resources/list_changed" };
	static const unsigned wants[] = { LISTEN_TOOLS, LISTEN_PROMPTS, LISTEN_RESOURCES };

	if (l != L_TEMPLATES)
		broadcast(p, wants[l], methods[l], NULL);
	/* which upstream holds a URI may have changed with them */
	if (l == L_RESOURCES || l == L_TEMPLATES)
		proxy_subs_changed(p);
}

/*
 * The call a notification from u is about: progress by its token; the
 * rest the one client's call in flight (the proxy's own list reads aside).
 */
static struct pend *note_owner(struct upstream *u, const struct fa_jr_msg *m)
{
	json_t *tok = json_object_get(m->params, "progressToken");
	struct pend *one = NULL;

	for (struct pend *x = u->inflight; x; x = x->next) {
		if (!x->r)
			continue;
		if (!strcmp(m->method, "notifications/progress")) {
			if (x->token && json_is_integer(tok) && json_integer_value(tok) == x->uid)
				return x;
		} else if (one) {
			return NULL;
		} else {
			one = x;
		}
	}
	return one;
}

/* m on x's request's own stream (when it has one), as it is now. */
static void note_send(struct pend *x, const struct fa_jr_msg *m)
{
	struct fa_buf b;

	if (!x || !x->r || !x->r->notify)
		return;
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, m->root);
	x->r->notify(x->r, b.data, b.len);
	fa_buf_release(&b);
}

/*
 * A list changed: a live upstream's list is read again, and the front's
 * listeners hear of it when it is in (list_page); from a recording, at once.
 */
static bool list_changed(struct upstream *u, const char *method, bool live)
{
	for (int l = 0; l < NLISTS; l++) {
		char ev[64];

		snprintf(ev, sizeof(ev), "notifications/%s/list_changed", l == L_TEMPLATES ? "resources" :
			 lists_of[l].key);
		if (strcmp(method, ev))
			continue;
		if (live) {
			upstream_refresh(u, l);
			if (l == L_RESOURCES)
				upstream_refresh(u, L_TEMPLATES);
		} else {
			relay_changed(u->p, l);
		}
		return true;
	}
	return false;
}

/*
 * A notification from upstream (or, not live, from a recording) to where
 * it goes: progress and log messages to the client of call x (progress
 * under its own token), list changes and resource updates to the front's
 * listeners.
 */
static void note_deliver(struct upstream *u, struct pend *x, struct fa_jr_msg *m, bool live)
{
	if (!strcmp(m->method, "notifications/progress")) {
		if (x && x->token) {
			json_object_set(m->params, "progressToken", x->token);
			note_send(x, m);
		}
	} else if (!strcmp(m->method, "notifications/message")) {
		note_send(x, m);
	} else if (!list_changed(u, m->method, live) &&
		   !strcmp(m->method, "notifications/resources/updated")) {
		const char *uri = json_string_value(json_object_get(m->params, "uri"));
		bool told = false;

		for (struct listener *l = u->p->w->listeners, *next; l && uri; l = next) {
			next = l->next;
			if ((l->wants & LISTEN_UPDATES) && l->subscribed && l->subscribed(l, uri)) {
				listener_tell(l, m->method, json_pack("{s:s}", "uri", uri));
				told = true;
			}
		}
		/* nobody wants it now (a session that ended unsubscribed no
		   one): the upstream is asked for less */
		if (!told && live)
			proxy_subs_changed(u->p);
	}
}

/* --record: m kept with the call it is about, to go with its exchange, or a line of its own. */
static void note_record(struct upstream *u, struct pend *x, const struct fa_jr_msg *m)
{
	json_t *msg;

	if (!u->p->rec)
		return;
	msg = json_deep_copy(m->root);
	if (!x) {
		recorder_notification(u->p->rec, u->name, msg);
		json_decref(msg);
		return;
	}
	if (!x->notes)
		x->notes = json_array();
	json_array_append_new(x->notes, json_pack("{s:f,s:o}", "ms",
						  (double)(fa_now_ns() - x->start_ns) / 1e6, "message", msg));
}

/* A notification from upstream: recorded, then to the client it belongs to, or to all. */
static bool sreq_cancelled(struct upstream *u, struct fa_jr_msg *m);

void relay_notification(struct upstream *u, struct fa_jr_msg *m)
{
	struct pend *x;

	if (!strcmp(m->method, "notifications/subscriptions/acknowledged"))
		return;         /* the proxy's own listen, as it asked */
	if (!strcmp(m->method, "notifications/cancelled") &&
	    upstream_listen_ended(u, json_object_get(m->params, "requestId")))
		return;
	if (!strcmp(m->method, "notifications/cancelled") && sreq_cancelled(u, m))
		return;
	x = note_owner(u, m);
	note_record(u, x, m);
	note_deliver(u, x, m, true);
}

/* ---- the upstream's own requests ---- */

static void up_answer_error(struct upstream *u, const json_t *id, int code, const char *msg)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_error(&b, id, code, msg, NULL);
	u->c.t->reply(u->c.t, b.data, b.len);
	fa_buf_release(&b);
}

/*
 * --record: request msg (a copy is kept), asked of x's client, noted with
 * x's exchange; the note (a reference) is for the response to fill in.
 */
static json_t *note_ask(struct upstream *u, struct pend *x, const json_t *msg)
{
	json_t *note;

	if (!u->p->rec)
		return NULL;
	if (!x->notes)
		x->notes = json_array();
	note = json_pack("{s:f,s:o}", "ms", (double)(fa_now_ns() - x->start_ns) / 1e6, "message",
			 json_deep_copy(msg));
	json_array_append(x->notes, note);
	return note;
}

/* --record: the client's answer to s, with s's note: {"result": R} or {"error": E}. */
static void note_result(struct sreq *s, const json_t *result)
{
	if (s->note && result)
		json_object_set_new(s->note, "response", json_pack("{s:O}", "result", result));
}

static void note_answer(struct sreq *s, const struct fa_jr_msg *m)
{
	const json_t *error = json_object_get(m->root, "error");

	if (m->kind == FA_JR_RESULT)
		note_result(s, m->result);
	else if (s->note && error)
		json_object_set_new(s->note, "response", json_pack("{s:O}", "error", error));
}

static void sreq_free(struct sreq *s)
{
	json_decref(s->note);
	json_decref(s->uid);
	free(s);
}

/* Every request of u's own still with a client is let go: its session ended. */
void relay_drop(struct upstream *u)
{
	struct sreq *s;
	struct deferred *d;

	while ((s = u->sreqs)) {
		u->sreqs = s->next;
		sreq_free(s);
	}
	while ((d = u->deferred)) {
		u->deferred = d->next;
		json_decref(d->msg);
		free(d);
	}
}

static void pass_request(struct upstream *u, struct ctransport *t, const struct fa_jr_msg *m, bool defer);
static struct pend *owner(struct upstream *u, const struct ctransport *t, bool *several);

/* d as a message of its own, passed on now (or refused, past its time or with no call left); d freed. */
static void deferred_pass(struct upstream *u, struct deferred *d)
{
	struct fa_jr_msg m = { .kind = FA_JR_REQUEST, .root = d->msg, .id = json_object_get(d->msg, "id"),
			       .method = json_string_value(json_object_get(d->msg, "method")),
			       .params = json_object_get(d->msg, "params") };

	pass_request(u, NULL, &m, false);
	json_decref(d->msg);
	free(d);
}

void relay_deferred(struct upstream *u)
{
	for (struct deferred **pp = &u->deferred; *pp;) {
		struct deferred *d = *pp;
		bool several;

		owner(u, NULL, &several);
		if (several) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		deferred_pass(u, d);
	}
}

/* Those past the timeout: the upstream hears the client did not answer. */
void relay_sweep(struct upstream *u, uint64_t now)
{
	for (struct deferred **pp = &u->deferred; *pp;) {
		struct deferred *d = *pp;

		if (d->due_ns > now) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		deferred_pass(u, d);    /* still several: refused, saying so */
	}
	for (struct sreq **pp = &u->sreqs; *pp;) {
		struct sreq *s = *pp;
		char msg[300];

		if (s->due_ns > now) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		snprintf(msg, sizeof(msg), "fa-mcp proxy: the client did not answer %s within %d ms",
			 s->method, u->timeout_ms);
		/* one of an input_required's: its call's own timeout ends the call */
		if (u->up && s->uid)
			up_answer_error(u, s->uid, FA_JR_INTERNAL_ERROR, msg);
		sreq_free(s);
	}
}

/*
 * The client call a request of u's own came during: over HTTP the one
 * whose POST's stream (connection t) carried it; over stdio, or the
 * session's own stream (or t NULL: a deferred one), the one in flight,
 * or one of the calls in flight when they are all one client's.  NULL
 * when there is none, or (*several) calls of several clients.
 */
static struct pend *owner(struct upstream *u, const struct ctransport *t, bool *several)
{
	bool exact = u->serial && t && !t->unrelated;
	struct pend *o = NULL;

	*several = false;
	for (struct pend *x = u->inflight; x && exact; x = x->next)
		if (x->t == t && (x->r || x->state[0]))
			return x;
	for (struct pend *x = u->inflight; x && !exact; x = x->next) {
		if (!x->r && !x->state[0])
			continue;
		if (o && !upstream_same_from(o->from, x->from)) {
			*several = true;
			return NULL;
		}
		if (!o)
			o = x;
	}
	return o;
}

/* Why m cannot go to the client of call x (NULL: none), in msg; false when it can. */
static bool cannot_pass(struct upstream *u, const struct fa_jr_msg *m, const struct pend *x,
			bool several, char *msg, size_t n)
{
	if (!x)
		snprintf(msg, n, "fa-mcp proxy cannot tell which client %s of upstream '%s' is for: %s",
			 m->method, u->name, several ? "calls of several clients are in flight" :
			 "no client's call is in flight");
	else if (!x->r->notify)
		snprintf(msg, n, "fa-mcp proxy: the client's %s has no stream to carry %s (it does not "
			 "accept text/event-stream)", x->method, m->method);
	else
		return false;
	return true;
}

/*
 * A request of u's own for call x's client, listed until it is answered
 * or its time passes: uid the upstream's id (NULL: an entry of an
 * input_required result or a recording, under key, or "fa-FID" when key
 * is NULL).  --record notes req with x's exchange when req is given.
 */
static struct sreq *sreq_new(struct upstream *u, struct pend *x, const char *method, const json_t *uid,
			     const char *key, const json_t *req)
{
	struct sreq *s = calloc(1, sizeof(*s));

	s->fid = ++u->p->next_fid;
	s->uid = json_incref((json_t *)uid);
	if (key)
		snprintf(s->key, sizeof(s->key), "%s", key);
	else
		snprintf(s->key, sizeof(s->key), "fa-%ld", s->fid);
	snprintf(s->method, sizeof(s->method), "%s", method ? method : "");
	snprintf(s->from, sizeof(s->from), "%s", x->from);
	s->call = x->uid;
	s->due_ns = fa_now_ns() + (uint64_t)u->timeout_ms * 1000000u;
	s->next = u->sreqs;
	u->sreqs = s;
	s->note = req ? note_ask(u, x, req) : NULL;
	if (u->sweep.slot < 0)
		fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
	return s;
}

/* s's request, with params, to x's client on its call's stream, under the proxy's id. */
static void sreq_send(struct pend *x, const struct sreq *s, const json_t *params)
{
	json_t *id = json_integer(s->fid);
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_request(&b, id, s->method, params);
	x->r->notify(x->r, b.data, b.len);
	fa_buf_release(&b);
	json_decref(id);
}

/* sampling, elicitation, roots: to the client whose call it came during, under a new id. */
static void pass_request(struct upstream *u, struct ctransport *t, const struct fa_jr_msg *m, bool defer)
{
	bool several;
	struct pend *x = owner(u, t, &several);
	/* a 2026 client takes no requests: it gets them in band, in an input_required result */
	bool in_band = x && (!x->r || x->r->era == ERA_MODERN);
	struct sreq *s;
	struct fa_buf b;
	char msg[400];

	if (!x && several && defer) {
		struct deferred *d = calloc(1, sizeof(*d)), **tail = &u->deferred;

		d->msg = json_deep_copy(m->root);
		d->due_ns = fa_now_ns() + (uint64_t)u->timeout_ms * 1000000u;
		while (*tail)
			tail = &(*tail)->next;
		*tail = d;
		if (u->sweep.slot < 0)
			fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
		return;
	}
	if (!in_band && cannot_pass(u, m, x, several, msg, sizeof(msg))) {
		up_answer_error(u, m->id, FA_JR_INTERNAL_ERROR, msg);
		return;
	}
	s = sreq_new(u, x, m->method, m->id, NULL, m->root);
	if (in_band) {
		upstream_ask(u, x, s->key, json_object_get(m->root, "method"), m->params);
		return;
	}
	json_object_set_new(m->root, "id", json_integer(s->fid));
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, m->root);
	x->r->notify(x->r, b.data, b.len);
	fa_buf_release(&b);
}

/*
 * notifications/cancelled of u for a request of its own with a client:
 * the client hears of it under the proxy's id, on the stream of the call
 * it came during while that is in flight; true when it was one.
 */
static bool sreq_cancelled(struct upstream *u, struct fa_jr_msg *m)
{
	json_t *rid = json_object_get(m->params, "requestId");

	for (struct sreq **pp = &u->sreqs; *pp; pp = &(*pp)->next) {
		struct sreq *s = *pp;

		if (!json_equal(s->uid, rid))
			continue;
		*pp = s->next;
		json_object_set_new(m->params, "requestId", json_integer(s->fid));
		for (struct pend *x = u->inflight; x; x = x->next)
			if (x->uid == s->call)
				note_send(x, m);
		sreq_free(s);
		return true;
	}
	return false;
}

/* The client's answer m to s, one of call x's input_required: kept, and x goes up again after the last. */
static void input_answer(struct upstream *u, struct sreq *s, const struct fa_jr_msg *m)
{
	struct pend *x = u->inflight;
	char msg[400];

	while (x && x->uid != s->call)
		x = x->next;
	if (!x || !x->answers)
		return;         /* the call ended meanwhile */
	note_answer(s, m);
	if (m->kind != FA_JR_RESULT) {
		snprintf(msg, sizeof(msg), "the client refused %s, which upstream '%s' asked for (input_required): %s",
			 s->method, u->name, m->message ? m->message : "");
		upstream_fail_call(u, x, msg);
		return;
	}
	json_object_set(x->answers, s->key, m->result);
	if (--x->waiting == 0)
		upstream_again(u, x);
}

bool relay_ask_client(struct upstream *u, struct pend *x, const struct fa_jr_msg *m)
{
	const char *key;
	json_t *req;

	if (!x->r->notify)
		return false;
	json_decref(x->answers);
	json_decref(x->rstate);
	x->answers = json_object();
	x->rstate = json_incref(json_object_get(m->result, "requestState"));
	x->waiting = 0;
	json_object_foreach(json_object_get(m->result, "inputRequests"), key, req) {
		struct sreq *s = sreq_new(u, x, json_string_value(json_object_get(req, "method")), NULL, key, req);

		sreq_send(x, s, json_object_get(req, "params"));
		x->waiting++;
	}
	if (!x->waiting)
		upstream_again(u, x);   /* a requestState alone: up again at once */
	return true;
}

/*
 * A request recorded during a replayed call, asked of x's client again:
 * in band (2026) or on the call's stream (2025), under an id of the
 * proxy's; its answer goes nowhere but on with the replay.  False when
 * the client cannot be asked (then the replay goes on without it).
 */
static bool replay_ask(struct upstream *u, struct pend *x, const json_t *req)
{
	const char *method = json_string_value(json_object_get(req, "method"));
	struct sreq *s;

	if (!method || (x->r->era != ERA_MODERN && !x->r->notify))
		return false;
	s = sreq_new(u, x, method, NULL, NULL, NULL);
	if (x->r->era == ERA_MODERN) {
		upstream_ask(u, x, s->key, json_object_get(req, "method"), json_object_get(req, "params"));
		return true;
	}
	json_decref(x->answers);
	x->answers = json_object();
	x->waiting = 1;
	sreq_send(x, s, json_object_get(req, "params"));
	return true;
}

bool relay_client_answer(struct upstream *u, const char *from, const struct fa_jr_msg *m)
{
	for (struct sreq **pp = &u->sreqs; *pp; pp = &(*pp)->next) {
		struct sreq *s = *pp;
		struct fa_buf b;

		if (!json_is_integer(m->id) || json_integer_value(m->id) != s->fid || !upstream_same_from(s->from, from))
			continue;
		*pp = s->next;
		if (!s->uid) {
			input_answer(u, s, m);
			sreq_free(s);
			return true;
		}
		note_answer(s, m);
		json_object_set(m->root, "id", s->uid);
		fa_buf_init(&b, 0);
		fa_jr_put_json(&b, m->root);
		if (u->up)
			u->c.t->reply(u->c.t, b.data, b.len);
		fa_buf_release(&b);
		sreq_free(s);
		return true;
	}
	return false;
}

/* The upstream's request s answered with result (borrowed); s freed. */
static void sreq_answer(struct upstream *u, struct sreq *s, const json_t *result)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_result(&b, s->uid, result);
	if (u->up && !u->replay)
		u->c.t->reply(u->c.t, b.data, b.len);
	fa_buf_release(&b);
	sreq_free(s);
}

bool relay_input_response(struct upstream *u, const struct pend *x, const char *key, const json_t *value)
{
	char *end;
	long fid;

	if (strncmp(key, "fa-", 3) || (fid = strtol(key + 3, &end, 10)) <= 0 || *end)
		return false;
	for (struct sreq **pp = &u->sreqs; *pp; pp = &(*pp)->next) {
		struct sreq *s = *pp;

		if (s->fid != fid || s->call != x->uid)
			continue;
		*pp = s->next;
		note_result(s, value);
		sreq_answer(u, s, value);
		return true;
	}
	return false;
}

/* A request of the upstream's own: ping answered, those for a client passed on, the rest refused. */
void relay_request(struct upstream *u, struct ctransport *t, const struct fa_jr_msg *m)
{
	struct fa_buf b;
	json_t *empty;
	char msg[300];

	if (!strcmp(m->method, "sampling/createMessage") || !strcmp(m->method, "elicitation/create") ||
	    !strcmp(m->method, "roots/list"))
		return pass_request(u, t, m, true);
	if (strcmp(m->method, "ping")) {
		snprintf(msg, sizeof(msg), "fa-mcp proxy does not pass on %.200s requests", m->method);
		up_answer_error(u, m->id, FA_JR_METHOD_NOT_FOUND, msg);
		return;
	}
	empty = json_object();
	fa_buf_init(&b, 0);
	fa_jr_put_result(&b, m->id, empty);
	json_decref(empty);
	u->c.t->reply(u->c.t, b.data, b.len);
	fa_buf_release(&b);
}
