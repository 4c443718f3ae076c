#include "pg/pgpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

const double fa_pool_wait_le[FA_POOL_WAIT_BUCKETS] = {
	0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5
};

/* C_DEAD: closed, waiting for its retry timer to connect again. */
enum conn_state { C_CONNECTING, C_READY, C_DEAD };

struct pconn {
	struct fa_pool *pool;
	PGconn *pg;                     /* NULL while C_DEAD */
	struct fa_io io;
	struct fa_timer retry;          /* the next attempt to connect */
	enum conn_state state;
	PostgresPollingStatusType poll;
	struct fa_pgq *head, *tail;     /* sent, awaiting results, in order */
	int batches;                    /* batches in flight */
	bool head_started;              /* results of head have begun */
	bool checking;                  /* a ping is in flight: no work until it answers */
	bool replace;                   /* close and replace it once idle */
	bool was_ready;                 /* ready once before: the next is a reconnect */
	bool ending;                    /* the server said it closes this connection */
	int failures;                   /* attempts to connect failed in a row */
	uint64_t born_ns;               /* when it became ready */
	uint64_t idle_ns;               /* when its last batch ended */
	uint64_t max_age_ns;            /* lifetime less some jitter; 0: forever */
	struct fa_pgq ping;
	struct stmt *prepared;          /* statement "fa_<i>" is prepared[i] */
	int nprepared;
	PQnoticeReceiver notice_prev;   /* libpq's own (it ignores its arg), for the others */
};

/*
 * A statement prepared on a connection.  Its parameter types are part of
 * what it is: the same text with other types (a route reloaded with a
 * param's type changed) is another statement.
 */
struct stmt {
	char *sql;                      /* owned; NULL: the slot is free */
	int nparams;
	Oid *types;                     /* owned; NULL when the server infers them */
};

/* The pool's own Prepare in the queue: its error belongs to the query. */
struct prep {
	struct fa_pgq q;
	struct fa_pgq *user;
	struct pconn *c;
	int slot;
};

struct fa_pool {
	struct fa_loop *loop;
	struct fa_pg_target target;     /* a copy, for reconnecting */
	char *app;
	struct pconn *conns;
	int n, depth, pending;
	struct fa_pgq *qhead, *qtail;   /* waiting for a connection */
	struct fa_timer expire;         /* when the first waiting batch times out */
	struct fa_timer kick;           /* dispatch at the end of this loop turn */
	bool unnamed, fail_fast;
	uint64_t timeout_ns, lifetime_ns, idle_check_ns, backoff_max_ms;
	uint64_t rng;                   /* xorshift state, for jitter */
	struct fa_pool_stats st;        /* the counters; states are counted on demand */
	char lasterr[512];
};

static void conn_io(struct fa_io *io, uint32_t ev);
static void conn_open(struct pconn *c);
static void stmt_clear(struct stmt *st);

static uint64_t rnd(struct fa_pool *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return p->rng;
}

/*
 * The wait before the next attempt: none after a connection that worked,
 * then 100 ms doubling up to the cap, each drawn from [d/2, d] so that the
 * connections of many workers do not knock all at once.
 */
static uint64_t backoff_ms(struct fa_pool *p, int failures)
{
	uint64_t d = 100;

	if (failures <= 0)
		return 0;
	for (int i = 1; i < failures && d < p->backoff_max_ms; i++)
		d *= 2;
	if (d > p->backoff_max_ms)
		d = p->backoff_max_ms;
	return d / 2 + rnd(p) % (d / 2 + 1);
}

static void finish(struct fa_pool *p, struct fa_pgq *q, enum fa_err rc, const char *msg)
{
	if (!q->internal)
		p->pending--;
	q->on_done(q, rc, msg);
}

/* Ends every query of the list at *head with rc and msg. */
static void fail_list(struct fa_pool *p, struct fa_pgq **head, enum fa_err rc, const char *msg)
{
	struct fa_pgq *q;

	while ((q = *head)) {
		*head = q->next;
		finish(p, q, rc, msg);
	}
}

static void fail_queue(struct fa_pool *p, enum fa_err rc)
{
	struct fa_pgq *list = p->qhead;

	p->qhead = p->qtail = NULL;
	fail_list(p, &list, rc, p->lasterr);
}

/* A connection is ready or on its way: worth waiting for. */
static bool any_live(const struct fa_pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->conns[i].state != C_DEAD)
			return true;
	return false;
}

/* Arms the queue's timer for deadline (monotonic ns) unless it fires sooner. */
static void arm_expire(struct fa_pool *p, uint64_t deadline)
{
	uint64_t now;

	if (!p->timeout_ns || (p->expire.slot >= 0 && p->expire.due <= deadline))
		return;
	now = fa_now_ns();
	fa_timer_start(p->loop, &p->expire, deadline > now ? (deadline - now) / 1000000 + 1 : 0);
}

/* Puts the batches of the list first..last before everything queued. */
static void queue_front(struct fa_pool *p, struct fa_pgq *first, struct fa_pgq *last)
{
	uint64_t now = fa_now_ns();

	for (struct fa_pgq *q = first; q; q = q->next)
		q->queued_ns = now;
	last->next = p->qhead;
	if (!p->qhead)
		p->qtail = last;
	p->qhead = first;
	arm_expire(p, now + p->timeout_ns);
}

/* Closes c's connection and forgets what was prepared on it. */
static void conn_close(struct pconn *c)
{
	if (c->state != C_DEAD)
		fa_loop_del(c->pool->loop, &c->io);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = C_DEAD;
	c->head_started = c->checking = c->replace = c->ending = false;
	for (int j = 0; j < c->nprepared; j++)
		stmt_clear(&c->prepared[j]);
	c->nprepared = 0;
}

static void schedule(struct pconn *c)
{
	fa_timer_start(c->pool->loop, &c->retry, backoff_ms(c->pool, c->failures));
}

static void connect_failed(struct pconn *c)
{
	struct fa_pool *p = c->pool;

	p->st.connect_failures++;
	c->failures++;
	schedule(c);
	if (p->fail_fast && !any_live(p))
		fail_queue(p, FA_ECONNECT);
}

/*
 * The batches that were in flight on a lost connection: each goes back to
 * the queue when all of its queries may run again (they only read, were
 * not retried yet and delivered nothing), else each of its queries ends
 * with FA_ECONNECT, saying whether its outcome is unknown.
 */
static void requeue_or_fail(struct fa_pool *p, struct fa_pgq *q)
{
	struct fa_pgq *keep = NULL, *keep_last = NULL, *done = NULL, **dt = &done;
	char unknown[640], lost[640];

	snprintf(unknown, sizeof(unknown), "the connection was lost while the statement ran, "
		 "so its outcome is unknown: %s", p->lasterr);
	snprintf(lost, sizeof(lost), "the connection was lost: %s", p->lasterr);
	while (q) {
		struct fa_pgq *first = q, *last = q, *lead = q;
		bool again = true;

		/*
		 * Only a whole batch may go again: when its first queries have
		 * ended (a SET LOCAL of a read-only transaction, say), the rest
		 * alone would run without them.
		 */
		while (lead->internal && lead->next && !lead->last_in_batch)
			lead = lead->next;
		if (!lead->first_in_batch)
			again = false;
		for (;; last = last->next) {
			if (!last->internal && (!last->retry_safe || last->retried || last->delivered))
				again = false;
			if (last->last_in_batch || !last->next)
				break;
		}
		q = last->next;
		last->next = NULL;
		for (struct fa_pgq *b = first, *nx; b; b = nx) {
			nx = b->next;
			if (b->internal) {
				b->on_done(b, FA_ECONNECT, lost);
				continue;
			}
			b->next = NULL;
			if (again) {
				b->retried = true;
				p->st.retried++;
				keep_last ? (keep_last->next = b) : (keep = b);
				keep_last = b;
			} else {
				*dt = b;
				dt = &b->next;
			}
		}
	}
	if (keep)
		queue_front(p, keep, keep_last);
	while (done) {
		struct fa_pgq *b = done;

		done = b->next;
		p->st.lost++;
		finish(p, b, FA_ECONNECT, b->retry_safe ? lost : unknown);
	}
}

/* c failed while connecting or in use: replace it, and save its work. */
static void conn_lost(struct pconn *c)
{
	struct fa_pool *p = c->pool;
	struct fa_pgq *inflight = c->head;
	bool was_connecting = c->state == C_CONNECTING;

	if (!c->ending)          /* else lasterr holds the server's reason */
		fa_pg_conn_message(c->pg, p->lasterr, sizeof(p->lasterr));
	c->head = c->tail = NULL;
	c->batches = 0;
	conn_close(c);
	if (was_connecting) {
		connect_failed(c);
		return;
	}
	c->failures = 0;                /* it worked: the first attempt goes at once */
	schedule(c);
	requeue_or_fail(p, inflight);
}

/* Closes an idle connection on purpose (age, health) and opens a new one. */
static void conn_replace(struct pconn *c)
{
	conn_close(c);
	c->failures = 0;
	schedule(c);
}

static void want_write(struct pconn *c, bool on)
{
	fa_loop_mod(c->pool->loop, &c->io, FA_IN | (on ? FA_OUT : 0));
}

static void flush(struct pconn *c)
{
	int r = PQflush(c->pg);

	if (r < 0)
		conn_lost(c);
	else
		want_write(c, r == 1);
}

/* Single-row mode must be chosen before the query's results are parsed. */
static void arm_head(struct pconn *c)
{
	/* Fails (and is retried) while libpq still works on an earlier Sync. */
	if (c->state == C_READY && c->head && !c->head_started &&
	    (!c->head->single_row || PQsetSingleRowMode(c->pg)))
		c->head_started = true;
}

static void enqueue(struct pconn *c, struct fa_pgq *q)
{
	q->next = NULL;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
}

static void stmt_clear(struct stmt *st)
{
	free(st->sql);
	free(st->types);
	*st = (struct stmt){ 0 };
}

/* A NULL types array means every type is left to the server (0). */
static Oid type_at(const Oid *types, int i)
{
	return types ? types[i] : 0;
}

static bool stmt_is(const struct stmt *st, const struct fa_pgq *q)
{
	if (!st->sql || st->nparams != q->nparams || strcmp(st->sql, q->sql))
		return false;
	for (int i = 0; i < q->nparams; i++)
		if (type_at(st->types, i) != type_at(q->types, i))
			return false;
	return true;
}

/* Records q's text and types in a free slot; false when memory runs out. */
static bool stmt_set(struct stmt *st, const struct fa_pgq *q)
{
	st->nparams = q->nparams;
	if (!(st->sql = strdup(q->sql)) ||
	    (q->nparams && !(st->types = calloc((size_t)q->nparams, sizeof(Oid))))) {
		stmt_clear(st);
		return false;
	}
	for (int i = 0; i < q->nparams; i++)
		st->types[i] = type_at(q->types, i);
	return true;
}

static void prep_result(struct fa_pgq *pq, PGresult *res)
{
	struct prep *pr = pq->ctx;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* forget it, so the next call prepares again */
		stmt_clear(&pr->c->prepared[pr->slot]);
		/* a neighbour's error aborted it: the query goes again alone */
		if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED && pr->user->shared &&
		    !pr->user->delivered) {
			PQclear(res);
			return;
		}
		/* else the error is the query's own */
		pr->user->delivered = true;
		pr->user->on_result(pr->user, res);
		return;
	}
	PQclear(res);
}

static void prep_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	free(pq->ctx);
}

/* The statement name for q's text and types on c, sending a Prepare the first time. */
static const char *prepared_name(struct pconn *c, struct fa_pgq *q, char *name, size_t n)
{
	struct prep *pr;
	int i, free_slot = -1;

	for (i = 0; i < c->nprepared; i++) {
		if (stmt_is(&c->prepared[i], q)) {
			snprintf(name, n, "fa_%d", i);
			return name;
		}
		if (!c->prepared[i].sql && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0 && c->nprepared == FA_POOL_MAX_PREPARED)
		return NULL;
	i = free_slot >= 0 ? free_slot : c->nprepared;
	snprintf(name, n, "fa_%d", i);
	if (!(pr = calloc(1, sizeof(*pr))) || !stmt_set(&c->prepared[i], q) ||
	    !PQsendPrepare(c->pg, name, q->sql, q->nparams, q->types)) {
		if (pr)
			stmt_clear(&c->prepared[i]);
		free(pr);
		return NULL;
	}
	if (i == c->nprepared)
		c->nprepared++;
	*pr = (struct prep){ .q = { .on_result = prep_result, .on_done = prep_done,
				    .internal = true }, .user = q, .c = c, .slot = i };
	pr->q.ctx = pr;
	enqueue(c, &pr->q);
	return name;
}

static bool send_one(struct pconn *c, struct fa_pgq *q)
{
	const char *name = NULL;
	char buf[32];

	if (q->prepare && !c->pool->unnamed)
		name = prepared_name(c, q, buf, sizeof(buf));
	if (name)
		return PQsendQueryPrepared(c->pg, name, q->nparams, q->params, NULL, NULL, 0);
	return PQsendQueryParams(c->pg, q->sql, q->nparams, q->types, q->params, NULL, NULL, 0);
}

static void record_wait(struct fa_pool *p, uint64_t ns)
{
	double secs = (double)ns / 1e9;
	int k = 0;

	while (k < FA_POOL_WAIT_BUCKETS && secs > fa_pool_wait_le[k])
		k++;
	p->st.wait[k]++;
	p->st.wait_count++;
	p->st.wait_ns += ns;
}

/* A batch of one query that may share a Sync with others like it. */
static bool can_share(const struct fa_pgq *q)
{
	return q->shareable && q->last_in_batch && !q->alone;
}

/* Whether a query of the batch that starts at q wants a read-only transaction. */
static bool batch_read_only(const struct fa_pgq *q)
{
	for (; q; q = q->next) {
		if (q->read_only)
			return true;
		if (q->last_in_batch)
			break;
	}
	return false;
}

/* The query whose settings the batch at q runs with, or NULL. */
static struct fa_pgq *batch_settings(struct fa_pgq *q)
{
	for (; q; q = q->next) {
		if (q->nsettings > 0)
			return q;
		if (q->last_in_batch)
			break;
	}
	return NULL;
}

/* Whether q may share a transaction opened with s's settings. */
static bool same_settings(const struct fa_pgq *q, const struct fa_pgq *s)
{
	int n = s ? s->nsettings : 0;

	if (q->nsettings != n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(q->settings[i].name, s->settings[i].name) ||
		    strcmp(q->settings[i].value, s->settings[i].value))
			return false;
	return true;
}

/* The prelude of a batch: its settings, and the query that answers for it. */
struct prelude {
	struct fa_pgq q;
	struct fa_pgq *user;
};

/* A setting refused fails the batch: the answer of the query that gave it. */
static void prelude_result(struct fa_pgq *pq, PGresult *res)
{
	struct prelude *pl = pq->ctx;
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || !pl->user || pl->user->delivered) {
		PQclear(res);
		return;
	}
	pl->user->delivered = true;
	pl->user->settings_failed = true;
	pl->user->on_result(pl->user, res);
}

static void prelude_done(struct fa_pgq *pq, enum fa_err rc, const char *msg)
{
	free(pq->ctx);
}

/* One statement per count of settings, so each is prepared once per connection. */
static const char *const prelude_sql[] = {
	NULL,
	"SELECT pg_catalog.set_config($1, $2, true)",
	"SELECT pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true)",
	"SELECT pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true), "
	"pg_catalog.set_config($5, $6, true)",
	"SELECT pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true), "
	"pg_catalog.set_config($5, $6, true), pg_catalog.set_config($7, $8, true)",
};

static const Oid prelude_types[2 * (FA_PGQ_SETTINGS_MAX + 1)] = {
	25, 25, 25, 25, 25, 25, 25, 25,         /* text */
};

/*
 * The settings ahead of the batch they open: transaction_read_only for a
 * read-only one, then those of s (the batch's first query with any).
 */
static bool send_prelude(struct pconn *c, bool ro, const struct fa_pgq *s, struct fa_pgq *user)
{
	struct prelude *pl = calloc(1, sizeof(*pl));
	const char *params[2 * (FA_PGQ_SETTINGS_MAX + 1)];
	int n = 0;

	if (!pl)
		return false;
	if (ro) {
		params[2 * n] = "transaction_read_only";
		params[2 * n++ + 1] = "on";
	}
	for (int i = 0; s && i < s->nsettings && i < FA_PGQ_SETTINGS_MAX; i++) {
		params[2 * n] = s->settings[i].name;
		params[2 * n++ + 1] = s->settings[i].value;
	}
	pl->user = user;
	pl->q = (struct fa_pgq){ .sql = prelude_sql[n], .nparams = 2 * n, .params = params,
				 .types = prelude_types, .prepare = true, .internal = true,
				 .on_result = prelude_result, .on_done = prelude_done, .ctx = pl };
	if (!send_one(c, &pl->q)) {
		free(pl);
		return false;
	}
	pl->q.params = NULL;            /* sent: libpq has copied them */
	enqueue(c, &pl->q);
	return true;
}

/*
 * Moves one queued batch onto connection c, and with it the shareable
 * queries that follow it, up to FA_POOL_SHARE_MAX, all before one Sync.
 */
static bool send_batch(struct pconn *c, uint64_t now)
{
	struct fa_pool *p = c->pool;
	struct fa_pgq *q;
	bool idle = c->head == NULL, share = can_share(p->qhead), ro = batch_read_only(p->qhead);
	struct fa_pgq *set = batch_settings(p->qhead);
	int sent = 0;

	record_wait(p, now - p->qhead->queued_ns);
	if ((ro || set) && !send_prelude(c, ro, set, set ? set : p->qhead))
		return false;
	while ((q = p->qhead)) {
		if (sent && share && (!can_share(q) || q->read_only != ro || !same_settings(q, set)))
			break;
		if (sent && share)
			record_wait(p, now - q->queued_ns);
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		if (!send_one(c, q)) {
			finish(p, q, FA_EWORK, PQerrorMessage(c->pg));
			continue;
		}
		q->shared = share;
		enqueue(c, q);
		sent++;
		if (q->last_in_batch && (!share || sent == FA_POOL_SHARE_MAX))
			break;
	}
	if (PQpipelineSync(c->pg) != 1)
		return false;
	c->batches++;
	if (idle)
		arm_head(c);
	return true;
}

static void ping_result(struct fa_pgq *q, PGresult *res)
{
	PQclear(res);
}

static void ping_done(struct fa_pgq *q, enum fa_err rc, const char *msg)
{
	struct pconn *c = q->ctx;

	c->checking = false;
	c->idle_ns = fa_now_ns();
}

/* An empty query and a Sync: one round trip proves the connection works. */
static void ping(struct pconn *c)
{
	c->ping = (struct fa_pgq){ .sql = "", .on_result = ping_result, .on_done = ping_done,
				   .ctx = c, .internal = true, .last_in_batch = true };
	if (!PQsendQueryParams(c->pg, "", 0, NULL, NULL, NULL, NULL, 0) ||
	    PQpipelineSync(c->pg) != 1) {
		conn_lost(c);
		return;
	}
	enqueue(c, &c->ping);
	c->batches++;
	c->checking = true;
	arm_head(c);
	flush(c);
}

/*
 * Whether c may take a batch in this round.  An idle connection that is
 * too old or marked is replaced first, and one idle for a while is pinged
 * before it takes work again.
 */
static bool usable(struct pconn *c, int round, uint64_t now)
{
	struct fa_pool *p = c->pool;

	if (c->state != C_READY || c->checking || c->batches > round)
		return false;
	if (c->batches)
		return !c->replace;
	if (c->replace || (c->max_age_ns && now - c->born_ns > c->max_age_ns)) {
		conn_replace(c);
		return false;
	}
	if (p->idle_check_ns && now - c->idle_ns > p->idle_check_ns) {
		ping(c);
		return false;
	}
	return true;
}

static void dispatch(struct fa_pool *p)
{
	uint64_t now;

	if (!p->qhead)
		return;
	now = fa_now_ns();
	for (int round = 0; p->qhead && round < p->depth; round++) {
		for (int i = 0; i < p->n && p->qhead; i++) {
			struct pconn *c = &p->conns[i];

			if (!usable(c, round, now))
				continue;
			if (!send_batch(c, now)) {
				conn_lost(c);
				continue;
			}
			flush(c);
		}
	}
}

/* The queue's timer: batches that waited timeout_ns for a connection end. */
static void expire_due(struct fa_timer *t)
{
	struct fa_pool *p = t->ctx;
	uint64_t now = fa_now_ns(), soonest = UINT64_MAX;
	struct fa_pgq *q = p->qhead, *gone = NULL, **gt = &gone;
	char msg[640];

	p->qhead = p->qtail = NULL;
	while (q) {
		struct fa_pgq *first = q, *last = q;
		uint64_t deadline = first->queued_ns + p->timeout_ns;

		while (!last->last_in_batch && last->next)
			last = last->next;
		q = last->next;
		last->next = NULL;
		if (deadline <= now) {
			*gt = first;
			gt = &last->next;
			continue;
		}
		if (deadline < soonest)
			soonest = deadline;
		p->qtail ? (p->qtail->next = first) : (p->qhead = first);
		p->qtail = last;
	}
	if (soonest != UINT64_MAX)
		arm_expire(p, soonest);
	snprintf(msg, sizeof(msg), "no database connection within %.3g s: %s",
		 (double)p->timeout_ns / 1e9, p->lasterr[0] ? p->lasterr : "all busy");
	for (struct fa_pgq *g = gone; g; g = g->next)
		p->st.timeouts++;
	fail_list(p, &gone, FA_ECONNECT, msg);
}

void fa_pool_submit(struct fa_pool *p, struct fa_pgq **qs, int n)
{
	uint64_t now = fa_now_ns();

	for (int i = 0; i < n; i++) {
		struct fa_pgq *q = qs[i];

		q->next = NULL;
		q->first_in_batch = i == 0;
		q->last_in_batch = i == n - 1;
		q->queued_ns = now;
		q->delivered = q->retried = q->shared = q->alone = q->settings_failed = false;
		if (p->qtail)
			p->qtail->next = q;
		else
			p->qhead = q;
		p->qtail = q;
		p->pending++;
	}
	if (p->fail_fast && !any_live(p)) {
		fail_queue(p, FA_ECONNECT);
		return;
	}
	/*
	 * Not at once: timers run after the turn's I/O, so the queries of
	 * every request that arrived in this turn leave together, and the
	 * shareable ones share a Sync.
	 */
	if (p->kick.slot < 0)
		fa_timer_start(p->loop, &p->kick, 0);
	arm_expire(p, now + p->timeout_ns);
}

static void kick_due(struct fa_timer *t)
{
	dispatch(t->ctx);
}

/* The connection's health after a batch: a transaction left open is a leak. */
static void batch_ended(struct pconn *c)
{
	PGTransactionStatusType ts = PQtransactionStatus(c->pg);

	c->batches--;
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_UNKNOWN)
		c->replace = true;
	if (!c->batches)
		c->idle_ns = fa_now_ns();
}

/*
 * An error that says the connection is going: the server shuts down or
 * terminates the backend (57P01, 57P02), or the link broke (08...).  It
 * is not the query's to see: the connection is treated as lost, so a read
 * runs again elsewhere.  A read-only standby (25006, after failover)
 * answers the query, and its connection is replaced once idle so that the
 * next one finds the primary.
 */
static bool server_ends(struct pconn *c, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (!state)
		return false;
	if (!strcmp(state, "25006"))
		c->replace = true;
	if (!fa_pg_sqlstate_ends_connection(state))
		return false;
	snprintf(c->pool->lasterr, sizeof(c->pool->lasterr), "%s (SQLSTATE %s)",
		 msg ? msg : "the server closed the connection", state);
	c->ending = true;
	PQclear(res);
	return true;
}

/* Queues q, aborted by a neighbour in a shared Sync, first, to go alone. */
static void send_alone(struct fa_pool *p, struct fa_pgq *q)
{
	q->next = NULL;
	q->shared = false;
	queue_front(p, q, q);
}

/* One result of the head query; NULL ends it, SYNC ends the batch. */
static void on_result(struct pconn *c, PGresult *res)
{
	struct fa_pgq *q = c->head;
	ExecStatusType st;

	if (!res) {
		if (!q)
			return;
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->head_started = false;
		if (q->alone && !q->delivered)
			send_alone(c->pool, q);
		else
			finish(c->pool, q, FA_OK, NULL);
		arm_head(c);
		return;
	}
	st = PQresultStatus(res);
	/* a neighbour's error aborted it: not its answer, it runs again alone */
	if (st == PGRES_PIPELINE_ABORTED && q && q->shared && !q->delivered) {
		q->alone = true;
		PQclear(res);
		return;
	}
	if (st == PGRES_PIPELINE_SYNC) {
		PQclear(res);
		batch_ended(c);
		arm_head(c);
		return;
	}
	if (st == PGRES_FATAL_ERROR && server_ends(c, res))
		return;
	if (!q) {
		PQclear(res);
		return;
	}
	if (!q->internal)
		q->delivered = true;
	q->on_result(q, res);
}

static void read_results(struct pconn *c)
{
	if (!PQconsumeInput(c->pg)) {
		conn_lost(c);
		return;
	}
	while (c->state == C_READY) {
		PGresult *res;

		if (c->ending) {        /* nothing more it says counts */
			conn_lost(c);
			return;
		}
		arm_head(c);
		if (PQisBusy(c->pg))
			break;
		res = PQgetResult(c->pg);

		/* After a batch's last NULL, libpq reports SYNC; idle gives NULL. */
		if (!res && !c->head && c->batches == 0)
			break;
		on_result(c, res);
		if (!res && !c->head && c->batches == 0)
			break;
	}
	if (c->state == C_READY && PQstatus(c->pg) == CONNECTION_BAD)
		conn_lost(c);
}

/*
 * libpq parses a query's messages only after the results before it were
 * taken (PQisBusy, PQgetResult), so a notice belongs to the head.
 */
static void on_notice(void *arg, const PGresult *res)
{
	struct pconn *c = arg;
	struct fa_pgq *q = c->head;

	if (q && !q->internal && q->on_notice)
		q->on_notice(q, res);
	else if (c->notice_prev)
		c->notice_prev(NULL, res);
}

static void connected(struct pconn *c)
{
	struct fa_pool *p = c->pool;

	if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
		conn_lost(c);
		return;
	}
	c->notice_prev = PQsetNoticeReceiver(c->pg, on_notice, c);
	c->state = C_READY;
	c->failures = 0;
	c->born_ns = c->idle_ns = fa_now_ns();
	/* up to a tenth less, so connections made together do not all go together */
	c->max_age_ns = p->lifetime_ns ? p->lifetime_ns - rnd(p) % (p->lifetime_ns / 10 + 1) : 0;
	if (c->was_ready)
		p->st.reconnects++;
	c->was_ready = true;
	fa_loop_mod(p->loop, &c->io, FA_IN);
	/* the database is back: the others need not wait out their backoff */
	for (int i = 0; i < p->n; i++)
		if (p->conns[i].state == C_DEAD && p->conns[i].failures)
			fa_timer_start(p->loop, &p->conns[i].retry, 0);
}

static void connect_step(struct pconn *c)
{
	c->poll = PQconnectPoll(c->pg);
	switch (c->poll) {
	case PGRES_POLLING_OK:
		connected(c);
		break;
	case PGRES_POLLING_FAILED:
		conn_lost(c);
		break;
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		/*
		 * libpq closes its socket and opens another while it tries hosts
		 * in turn (target_session_attrs), and the new one may get the
		 * same number, which epoll forgot with the close: register afresh.
		 */
		fa_loop_del(c->pool->loop, &c->io);
		c->io.fd = PQsocket(c->pg);
		fa_loop_add(c->pool->loop, &c->io, c->poll == PGRES_POLLING_READING ? FA_IN : FA_OUT);
		break;
	default:
		break;
	}
}

static void conn_io(struct fa_io *io, uint32_t ev)
{
	struct pconn *c = io->ctx;

	if (c->state == C_CONNECTING)
		connect_step(c);
	else if (c->state == C_READY && (ev & FA_OUT))
		flush(c);
	if (c->state == C_READY && (ev & ~(uint32_t)FA_OUT))
		read_results(c);
	if (c->state == C_READY && c->batches == 0 && c->replace)
		conn_replace(c);
	dispatch(c->pool);
}

/* Starts connecting c; a failure now is retried after backoff. */
static void conn_open(struct pconn *c)
{
	struct fa_pool *p = c->pool;
	struct fa_error err = { 0 };

	if (!(c->pg = fa_pg_connect_start(&p->target, p->app, &err))) {
		snprintf(p->lasterr, sizeof(p->lasterr), "%.500s", err.msg);
		connect_failed(c);
		return;
	}
	c->state = C_CONNECTING;
	c->io = (struct fa_io){ .fd = PQsocket(c->pg), .cb = conn_io, .ctx = c };
	c->poll = PGRES_POLLING_WRITING;
	fa_loop_add(p->loop, &c->io, FA_OUT);
}

static void retry_due(struct fa_timer *t)
{
	struct pconn *c = t->ctx;

	if (c->state == C_DEAD)
		conn_open(c);
}

static uint64_t ms_or(int ms, int dflt)
{
	return (uint64_t)(ms > 0 ? ms : ms == 0 ? dflt : 0);
}

struct fa_pool *fa_pool_new(struct fa_loop *loop, const struct fa_pg_target *t,
			    const struct fa_pool_opts *o, struct fa_error *err)
{
	struct fa_pool *p;

	if (fa_pg_target_check(t, err))
		return NULL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->conns = calloc((size_t)o->size, sizeof(*p->conns))) ||
	    !(p->target.conninfo = strdup(t->conninfo)) ||
	    !(p->app = strdup(o->app ? o->app : "fa"))) {
		fa_pool_free(p);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	p->loop = loop;
	p->target.source = t->source;
	p->n = o->size;
	p->depth = o->depth > 0 ? o->depth : 1;
	p->unnamed = o->unnamed;
	p->fail_fast = o->fail_fast;
	p->timeout_ns = ms_or(o->timeout_ms, FA_POOL_TIMEOUT_MS) * 1000000u;
	p->lifetime_ns = ms_or(o->lifetime_ms, 0) * 1000000u;
	p->idle_check_ns = ms_or(o->idle_check_ms, FA_POOL_IDLE_CHECK_MS) * 1000000u;
	p->backoff_max_ms = ms_or(o->backoff_max_ms, FA_POOL_BACKOFF_MAX_MS);
	if (p->backoff_max_ms < 100)
		p->backoff_max_ms = 100;
	p->rng = (fa_now_ns() ^ (uint64_t)(uintptr_t)p) | 1;
	fa_timer_init(&p->expire, expire_due, p);
	fa_timer_init(&p->kick, kick_due, p);
	for (int i = 0; i < p->n; i++) {
		struct pconn *c = &p->conns[i];

		c->pool = p;
		c->state = C_DEAD;
		fa_timer_init(&c->retry, retry_due, c);
		if (!(c->prepared = calloc(FA_POOL_MAX_PREPARED, sizeof(*c->prepared)))) {
			fa_pool_free(p);
			fa_error_set(err, FA_ENOMEM, "out of memory");
			return NULL;
		}
	}
	for (int i = 0; i < p->n; i++)
		conn_open(&p->conns[i]);
	/* a tool that fails fast says so now, as a plain connect would */
	if (p->fail_fast && !any_live(p)) {
		fa_error_set(err, FA_ECONNECT, "%s", p->lasterr);
		fa_pool_free(p);
		return NULL;
	}
	return p;
}

int fa_pool_pending(const struct fa_pool *p)
{
	return p->pending;
}

void fa_pool_stats(const struct fa_pool *p, struct fa_pool_stats *st)
{
	*st = p->st;
	st->pending = p->pending;
	st->ready = st->connecting = st->dead = 0;
	for (int i = 0; i < p->n; i++) {
		const struct pconn *c = &p->conns[i];

		st->ready += c->state == C_READY;
		st->connecting += c->state == C_CONNECTING;
		st->dead += c->state == C_DEAD;
	}
}

/* Takes q's batch out of the queue and ends it; false when q is not queued. */
static bool unqueue(struct fa_pool *p, struct fa_pgq *q)
{
	struct fa_pgq *before = NULL, *prev = NULL, *b, *first, *last;

	for (b = p->qhead; b && b != q; prev = b, b = b->next)
		if (b->first_in_batch)
			before = prev;
	if (!b)
		return false;
	if (b->first_in_batch)
		before = prev;
	first = before ? before->next : p->qhead;
	for (last = q; !last->last_in_batch && last->next; last = last->next)
		;
	if (before)
		before->next = last->next;
	else
		p->qhead = last->next;
	if (p->qtail == last)
		p->qtail = before;
	last->next = NULL;
	fail_list(p, &first, FA_EINTR, "cancelled before it was sent");
	return true;
}

static void cancel_backend(PGconn *pg)
{
	PGcancel *cn = PQgetCancel(pg);
	char errbuf[256];

	if (cn) {
		PQcancel(cn, errbuf, sizeof(errbuf));
		PQfreeCancel(cn);
	}
}

bool fa_pool_cancel_query(struct fa_pool *p, struct fa_pgq *q)
{
	if (unqueue(p, q))
		return true;
	for (int i = 0; i < p->n; i++) {
		struct pconn *c = &p->conns[i];
		struct fa_pgq *h = c->head;

		while (h && h->internal)
			h = h->next;
		if (c->state == C_READY && h == q) {
			cancel_backend(c->pg);
			return true;
		}
		for (; h; h = h->next)
			if (h == q)
				return true;
	}
	return false;
}

void fa_pool_cancel(struct fa_pool *p)
{
	for (int i = 0; i < p->n; i++) {
		struct pconn *c = &p->conns[i];

		if (c->state == C_READY && c->head)
			cancel_backend(c->pg);
	}
}

void fa_pool_free(struct fa_pool *p)
{
	if (!p)
		return;
	snprintf(p->lasterr, sizeof(p->lasterr), "interrupted");
	if (p->conns && p->loop) {
		fa_timer_stop(p->loop, &p->expire);
		fa_timer_stop(p->loop, &p->kick);
	}
	for (int i = 0; p->conns && i < p->n; i++) {
		struct pconn *c = &p->conns[i];
		struct fa_pgq *head = c->head;

		if (!c->pool)
			continue;
		fa_timer_stop(p->loop, &c->retry);
		c->head = c->tail = NULL;
		conn_close(c);
		fail_list(p, &head, FA_EINTR, p->lasterr);
		free(c->prepared);
	}
	fail_queue(p, FA_EINTR);
	fa_pg_target_release(&p->target);
	free(p->app);
	free(p->conns);
	free(p);
}
