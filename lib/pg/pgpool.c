#include "pg/pgpool.h"

#include <stdlib.h>
#include <string.h>

enum conn_state { C_CONNECTING, C_READY, C_DEAD };

struct pconn {
	struct fa_pool *pool;
	PGconn *pg;
	struct fa_io io;
	enum conn_state state;
	PostgresPollingStatusType poll;
	struct fa_pgq *head, *tail;     /* sent, awaiting results, in order */
	int batches;                    /* batches in flight */
	bool head_started;              /* results of head have begun */
	struct stmt *prepared;          /* statement "fa_<i>" is prepared[i] */
	int nprepared;
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
	struct pconn *conns;
	int n, depth, pending;
	struct fa_pgq *qhead, *qtail;   /* waiting for a connection */
	bool unnamed;
	char lasterr[512];
};

static void conn_io(struct fa_io *io, uint32_t ev);

static void finish(struct fa_pool *p, struct fa_pgq *q, enum fa_err rc, const char *msg)
{
	if (!q->internal)
		p->pending--;
	q->on_done(q, rc, msg);
}

static void fail_queue(struct fa_pool *p, struct fa_pgq **head, enum fa_err rc)
{
	struct fa_pgq *q;

	while ((q = *head)) {
		*head = q->next;
		finish(p, q, rc, p->lasterr);
	}
}

static bool any_alive(const struct fa_pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->conns[i].state != C_DEAD)
			return true;
	return false;
}

static void conn_dead(struct pconn *c)
{
	struct fa_pool *p = c->pool;

	fa_pg_conn_message(c->pg, p->lasterr, sizeof(p->lasterr));
	if (c->state != C_DEAD)
		fa_loop_del(p->loop, &c->io);
	c->state = C_DEAD;
	fail_queue(p, &c->head, FA_ECONNECT);
	c->tail = NULL;
	c->batches = 0;
	if (!any_alive(p)) {
		fail_queue(p, &p->qhead, FA_ECONNECT);
		p->qtail = NULL;
	}
}

static void want_write(struct pconn *c, bool on)
{
	fa_loop_mod(c->pool->loop, &c->io, FA_IN | (on ? FA_OUT : 0));
}

static void flush(struct pconn *c)
{
	int r = PQflush(c->pg);

	if (r < 0)
		conn_dead(c);
	else
		want_write(c, r == 1);
}

/* Single-row mode must be chosen before the query's results are parsed. */
static void arm_head(struct pconn *c)
{
	/* Fails (and is retried) while libpq still works on an earlier Sync. */
	if (c->head && !c->head_started &&
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
		/* forget it, so the next call prepares again, and tell the query */
		stmt_clear(&pr->c->prepared[pr->slot]);
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

/* Moves one queued batch onto connection c. */
static bool send_batch(struct pconn *c)
{
	struct fa_pool *p = c->pool;
	struct fa_pgq *q;
	bool idle = c->head == NULL;

	while ((q = p->qhead)) {
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		if (!send_one(c, q)) {
			finish(p, q, FA_EWORK, PQerrorMessage(c->pg));
			continue;
		}
		enqueue(c, q);
		if (q->last_in_batch)
			break;
	}
	if (PQpipelineSync(c->pg) != 1)
		return false;
	c->batches++;
	if (idle)
		arm_head(c);
	return true;
}

static void dispatch(struct fa_pool *p)
{
	for (int round = 0; p->qhead && round < p->depth; round++) {
		for (int i = 0; i < p->n && p->qhead; i++) {
			struct pconn *c = &p->conns[i];

			if (c->state != C_READY || c->batches > round)
				continue;
			if (!send_batch(c)) {
				conn_dead(c);
				continue;
			}
			flush(c);
		}
	}
}

void fa_pool_submit(struct fa_pool *p, struct fa_pgq **qs, int n)
{
	for (int i = 0; i < n; i++) {
		qs[i]->next = NULL;
		qs[i]->last_in_batch = i == n - 1;
		if (p->qtail)
			p->qtail->next = qs[i];
		else
			p->qhead = qs[i];
		p->qtail = qs[i];
		p->pending++;
	}
	if (!any_alive(p)) {
		fail_queue(p, &p->qhead, FA_ECONNECT);
		p->qtail = NULL;
		return;
	}
	dispatch(p);
}

/* One result of the head query; NULL ends it, SYNC ends the batch. */
static void on_result(struct pconn *c, PGresult *res)
{
	struct fa_pgq *q = c->head;

	if (!res) {
		if (!q)
			return;
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->head_started = false;
		finish(c->pool, q, FA_OK, NULL);
		arm_head(c);
		return;
	}
	if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
		PQclear(res);
		c->batches--;
		arm_head(c);
		return;
	}
	if (q)
		q->on_result(q, res);
	else
		PQclear(res);
}

static void read_results(struct pconn *c)
{
	if (!PQconsumeInput(c->pg)) {
		conn_dead(c);
		return;
	}
	while (c->state == C_READY) {
		PGresult *res;

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
	if (PQstatus(c->pg) == CONNECTION_BAD)
		conn_dead(c);
}

static void connected(struct pconn *c)
{
	if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
		conn_dead(c);
		return;
	}
	c->state = C_READY;
	fa_loop_mod(c->pool->loop, &c->io, FA_IN);
	dispatch(c->pool);
}

static void connect_step(struct pconn *c)
{
	c->poll = PQconnectPoll(c->pg);
	switch (c->poll) {
	case PGRES_POLLING_OK:
		connected(c);
		break;
	case PGRES_POLLING_FAILED:
		conn_dead(c);
		break;
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		/* libpq may switch sockets while trying hosts in turn */
		if (PQsocket(c->pg) != c->io.fd) {
			fa_loop_del(c->pool->loop, &c->io);
			c->io.fd = PQsocket(c->pg);
			fa_loop_add(c->pool->loop, &c->io, 0);
		}
		fa_loop_mod(c->pool->loop, &c->io, c->poll == PGRES_POLLING_READING ? FA_IN : FA_OUT);
		break;
	default:
		break;
	}
}

static void conn_io(struct fa_io *io, uint32_t ev)
{
	struct pconn *c = io->ctx;

	if (c->state == C_CONNECTING) {
		connect_step(c);
		return;
	}
	if (c->state != C_READY)
		return;
	if (ev & FA_OUT)
		flush(c);
	if (c->state == C_READY && (ev & ~(uint32_t)FA_OUT))
		read_results(c);
	if (c->state == C_READY)
		dispatch(c->pool);
}

static bool conn_start(struct fa_pool *p, struct pconn *c, const struct fa_pg_target *t,
		       const char *app, struct fa_error *err)
{
	c->pool = p;
	c->state = C_DEAD;
	if (!(c->prepared = calloc(FA_POOL_MAX_PREPARED, sizeof(*c->prepared))))
		return false;
	if (!(c->pg = fa_pg_connect_start(t, app, err)))
		return false;
	c->state = C_CONNECTING;
	c->io = (struct fa_io){ .fd = PQsocket(c->pg), .cb = conn_io, .ctx = c };
	c->poll = PGRES_POLLING_WRITING;
	fa_loop_add(p->loop, &c->io, FA_OUT);
	return true;
}

struct fa_pool *fa_pool_new(struct fa_loop *loop, const struct fa_pg_target *t,
			    const struct fa_pool_opts *o, struct fa_error *err)
{
	struct fa_pool *p = calloc(1, sizeof(*p));
	int started = 0;

	if (!p || !(p->conns = calloc((size_t)o->size, sizeof(*p->conns)))) {
		free(p);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	p->loop = loop;
	p->n = o->size;
	p->depth = o->depth > 0 ? o->depth : 1;
	p->unnamed = o->unnamed;
	for (int i = 0; i < p->n; i++)
		started += conn_start(p, &p->conns[i], t, o->app ? o->app : "fa", err);
	if (!started) {
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
	*st = (struct fa_pool_stats){ .pending = p->pending };
	for (int i = 0; i < p->n; i++) {
		const struct pconn *c = &p->conns[i];

		st->ready += c->state == C_READY;
		st->connecting += c->state == C_CONNECTING;
		st->dead += c->state == C_DEAD;
	}
}

void fa_pool_cancel(struct fa_pool *p)
{
	char errbuf[256];

	for (int i = 0; i < p->n; i++) {
		struct pconn *c = &p->conns[i];
		PGcancel *cn;

		if (c->state != C_READY || !c->head || !(cn = PQgetCancel(c->pg)))
			continue;
		PQcancel(cn, errbuf, sizeof(errbuf));
		PQfreeCancel(cn);
	}
}

void fa_pool_free(struct fa_pool *p)
{
	if (!p)
		return;
	snprintf(p->lasterr, sizeof(p->lasterr), "interrupted");
	for (int i = 0; i < p->n; i++) {
		struct pconn *c = &p->conns[i];

		if (c->state != C_DEAD)
			fa_loop_del(p->loop, &c->io);
		fail_queue(p, &c->head, FA_EINTR);
		PQfinish(c->pg);
		for (int j = 0; c->prepared && j < c->nprepared; j++)
			stmt_clear(&c->prepared[j]);
		free(c->prepared);
	}
	fail_queue(p, &p->qhead, FA_EINTR);
	free(p->conns);
	free(p);
}
