#include "bench/engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/loop.h"

struct bthread;

struct fa_bench_conn {
	struct bthread *th;
	void *tc;                       /* the target's connection */
	int index;                      /* over every thread */
	bool ready;
	bool in_free;                   /* on th's list of connections with room */
	uint64_t hold_until;            /* after a connect error: wait before sending */
	int inflight;
	struct fa_bench_req *reqs;      /* depth slots */
	int *free_slots, nfree;
	struct fa_bench_conn *next_free;
};

struct bthread {
	struct fa_bench *b;
	int id;
	pthread_t tid;
	struct fa_loop *loop;
	struct fa_bench_conn *conns;
	int nconns;
	char setup_err[512];
	int ready_conns;

	struct fa_hist lat, svc, lag, ivl, hs;
	uint64_t requests, errors, late, dropped, ivl_count, ivl_errors;
	struct fa_bench_result errs;    /* only its error table is used */

	/* handed over once a second */
	pthread_mutex_t mu;
	struct fa_hist pub;
	uint64_t pub_count, pub_errors;

	/* the schedule */
	double share;                   /* this thread's part of the rate */
	double phase;                   /* where its first arrival falls, in arrivals */
	double k;                       /* arrivals so far (continuous) */
	uint64_t next_ns;               /* the next intended send; UINT64_MAX: none */
	uint64_t *backlog;              /* ring of intended times */
	uint32_t bl_head, bl_len, bl_cap;
	uint64_t budget;                /* with count: measured requests to issue */
	uint64_t issued;                /* closed loop: measured requests sent */
	uint64_t scheduled;             /* open loop: measured requests scheduled */
	uint64_t rng;

	bool issuing;
	bool dispatching;
	struct fa_bench_conn *free_head;
	struct fa_timer sched, kick, tick;
	uint64_t next_tick;
};

struct fa_bench {
	const struct fa_bench_cfg *cfg;
	struct bthread *th;
	/* the start: threads say they are set up, then wait for go */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int set_up;
	bool go;
	bool abort;
	uint64_t start_ns;              /* load begins (warmup included) */
	uint64_t measure_ns;            /* measuring begins */
	uint64_t end_ns;                /* no measured send after this; UINT64_MAX with count */
	atomic_int running;
	atomic_bool stop;
};

const char *fa_bench_kind_name(enum fa_bench_kind k)
{
	static const char *const names[] = { "ok", "connect", "timeout", "status", "protocol",
					     "sqlstate", "mcp" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

enum fa_err fa_bench_hist_init(struct fa_hist *h, int digits, struct fa_error *err)
{
	return fa_hist_init_range(h, 1, 3600000000000ULL, digits, err);
}

void fa_bench_errs_add(struct fa_bench_result *dst, enum fa_bench_kind kind,
		       const char *detail, uint64_t n, const char *msg)
{
	struct fa_bench_errcount *e;

	if (!detail)
		detail = "";
	for (int i = 0; i < dst->nerrs; i++) {
		e = &dst->errs[i];
		if (e->kind == kind && !strncmp(e->detail, detail, sizeof(e->detail) - 1)) {
			e->n += n;
			if (!e->first[0] && msg)
				snprintf(e->first, sizeof(e->first), "%s", msg);
			return;
		}
	}
	/* past the table's end, the last entry takes the rest */
	e = &dst->errs[dst->nerrs < FA_BENCH_MAX_ERRKINDS ? dst->nerrs++ : FA_BENCH_MAX_ERRKINDS - 1];
	if (e->n == 0) {
		e->kind = kind;
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
		snprintf(e->first, sizeof(e->first), "%s", msg ? msg : "");
	}
	e->n += n;
}

uint64_t fa_bench_conn_seed(const struct fa_bench_conn *bc)
{
	return bc->th->b->cfg->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)bc->index * 7919 + 1;
}

int fa_bench_conn_index(const struct fa_bench_conn *bc)
{
	return bc->index;
}

uint64_t fa_bench_conn_timeout(const struct fa_bench_conn *bc)
{
	return bc->th->b->cfg->timeout_ns;
}

/* ---- the schedule ------------------------------------------------------- */

static double unit_random(uint64_t *s)
{
	/* xorshift64*: enough for arrival times */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/*
 * The time (ns after start) of the k-th arrival of a thread whose rate
 * climbs linearly from `from` to `to` over D seconds, then stays: the t
 * where the integral of the rate reaches k.
 */
static double arrival_time(double k, double from, double to, double d)
{
	double a, n_d;

	if (d <= 0 || from == to)
		return k / to;
	n_d = (from + to) * d / 2;
	if (k >= n_d)
		return d + (k - n_d) / to;
	a = (to - from) / (2 * d);
	return (-from + sqrt(from * from + 4 * a * k)) / (2 * a);
}

static void schedule_next(struct bthread *th)
{
	const struct fa_bench_cfg *cfg = th->b->cfg;
	double from = (cfg->ramp_ns ? cfg->ramp_from : cfg->rate) * th->share;
	double to = cfg->rate * th->share, t;

	/* evenly spaced: arrival k at k - 1 + phase; Poisson: unit exponential steps */
	if (cfg->poisson) {
		th->k += -log(1.0 - unit_random(&th->rng));
		t = arrival_time(th->k, from, to, (double)cfg->ramp_ns / 1e9);
	} else {
		th->k += 1.0;
		t = arrival_time(th->k - 1.0 + th->phase, from, to, (double)cfg->ramp_ns / 1e9);
	}
	th->next_ns = th->b->start_ns + (uint64_t)(t * 1e9);
}

/* With -n: every measured request of this thread is sent (closed loop)
   or scheduled (open loop; the backlog may still hold some). */
static bool budget_spent(const struct bthread *th)
{
	const struct fa_bench_cfg *cfg = th->b->cfg;

	return cfg->count && (cfg->rate > 0 ? th->scheduled : th->issued) >= th->budget;
}

/* May a request meant for `when` still be issued? */
static bool may_issue(struct bthread *th, uint64_t when)
{
	struct fa_bench *b = th->b;

	if (!th->issuing)
		return false;
	if (when >= b->measure_ns && budget_spent(th))
		return false;
	return when < b->end_ns;
}

/* ---- connections with room --------------------------------------------- */

static void push_free(struct fa_bench_conn *c)
{
	struct bthread *th = c->th;

	if (c->in_free || !c->ready || !c->nfree)
		return;
	c->in_free = true;
	c->next_free = th->free_head;
	th->free_head = c;
}

static struct fa_bench_conn *pop_free(struct bthread *th, uint64_t now)
{
	struct fa_bench_conn *c, **pc = &th->free_head;

	while ((c = *pc)) {
		if (!c->ready || !c->nfree) {
			*pc = c->next_free;
			c->in_free = false;
			continue;
		}
		if (c->hold_until > now) {
			pc = &c->next_free;
			continue;
		}
		return c;
	}
	return NULL;
}

static void send_on(struct bthread *th, struct fa_bench_conn *c, uint64_t intended, uint64_t now)
{
	struct fa_bench_req *r = &c->reqs[c->free_slots[--c->nfree]];

	if (intended >= th->b->measure_ns)
		th->issued++;
	r->intended_ns = intended;
	r->sent_ns = now;
	r->conn = c;
	c->inflight++;
	th->b->cfg->target->send(c->tc, r);
}

static bool backlog_push(struct bthread *th, uint64_t when)
{
	if (th->bl_len == th->bl_cap) {
		uint32_t cap = th->bl_cap ? th->bl_cap * 2 : 1024;
		uint64_t *n;

		if (cap > FA_BENCH_BACKLOG_MAX || !(n = malloc(cap * sizeof(*n))))
			return false;
		for (uint32_t i = 0; i < th->bl_len; i++)
			n[i] = th->backlog[(th->bl_head + i) % th->bl_cap];
		free(th->backlog);
		th->backlog = n;
		th->bl_head = 0;
		th->bl_cap = cap;
	}
	th->backlog[(th->bl_head + th->bl_len++) % th->bl_cap] = when;
	return true;
}

/* Sends what can go now: backlog first (open loop), or fills every free slot. */
static void dispatch(struct bthread *th)
{
	const struct fa_bench_cfg *cfg = th->b->cfg;
	uint64_t now = fa_now_ns();
	struct fa_bench_conn *c;

	if (th->dispatching)
		return;
	th->dispatching = true;
	if (cfg->rate > 0) {
		while (th->bl_len && (c = pop_free(th, now))) {
			uint64_t when = th->backlog[th->bl_head];

			th->bl_head = (th->bl_head + 1) % th->bl_cap;
			th->bl_len--;
			send_on(th, c, when, now);
		}
	} else {
		while (may_issue(th, now) && (c = pop_free(th, now)))
			send_on(th, c, now, now);
	}
	th->dispatching = false;
}

static void on_kick(struct fa_timer *t)
{
	dispatch(t->ctx);
}

static void kick(struct bthread *th)
{
	if (th->kick.slot < 0)
		fa_timer_start(th->loop, &th->kick, 0);
}

/* Open loop: moves every send due by now into the backlog. */
static void on_sched(struct fa_timer *t)
{
	struct bthread *th = t->ctx;
	uint64_t now = fa_now_ns();

	while (th->next_ns <= now && may_issue(th, th->next_ns)) {
		bool measured = th->next_ns >= th->b->measure_ns;

		if (measured)
			th->scheduled++;
		if (!backlog_push(th, th->next_ns) && measured)
			th->dropped++;
		schedule_next(th);
	}
	dispatch(th);
	if (may_issue(th, th->next_ns))
		fa_timer_start_at(th->loop, &th->sched, th->next_ns);
}

/* ---- what targets call ------------------------------------------------- */

void fa_bench_ready(struct fa_bench_conn *c)
{
	if (!c->ready) {
		c->ready = true;
		c->th->ready_conns++;
	}
	push_free(c);
	kick(c->th);
}

void fa_bench_handshake(struct fa_bench_conn *c, uint64_t ns)
{
	fa_hist_record(&c->th->hs, ns);
}

void fa_bench_down(struct fa_bench_conn *c, const char *msg)
{
	if (c->ready) {
		c->ready = false;
		c->th->ready_conns--;
	}
	if (msg && !c->th->setup_err[0])
		snprintf(c->th->setup_err, sizeof(c->th->setup_err), "%s", msg);
}

void fa_bench_done(struct fa_bench_req *r, enum fa_bench_kind kind, const char *detail,
		   const char *msg)
{
	struct fa_bench_conn *c = r->conn;
	struct bthread *th = c->th;
	uint64_t now = fa_now_ns();

	c->free_slots[c->nfree++] = (int)(r - c->reqs);
	c->inflight--;
	if (kind == FA_BENCH_ECONNECT)
		c->hold_until = now + 100000000ULL;     /* 100 ms before the next try */
	if (r->intended_ns >= th->b->measure_ns && r->intended_ns < th->b->end_ns) {
		th->requests++;
		th->ivl_count++;
		if (kind != FA_BENCH_OK) {
			th->errors++;
			th->ivl_errors++;
			fa_bench_errs_add(&th->errs, kind, detail, 1, msg);
		}
		/* a transport failure has no answer to time */
		if (kind != FA_BENCH_ECONNECT && kind != FA_BENCH_ETIMEOUT) {
			fa_hist_record(&th->lat, now - r->intended_ns);
			fa_hist_record(&th->ivl, now - r->intended_ns);
			fa_hist_record(&th->svc, now - r->sent_ns);
			if (th->b->cfg->rate > 0) {
				fa_hist_record(&th->lag, r->sent_ns - r->intended_ns);
				if (r->sent_ns - r->intended_ns > FA_BENCH_LATE_NS)
					th->late++;
			}
		}
	}
	push_free(c);
	/*
	 * The next request goes at once, as pgbench and wrk send theirs; but
	 * not from inside a send (a target that fails synchronously would
	 * recurse): then after this turn's I/O.
	 */
	if (th->dispatching)
		kick(th);
	else
		dispatch(th);
}

/* ---- a thread ----------------------------------------------------------- */

static void publish(struct bthread *th)
{
	pthread_mutex_lock(&th->mu);
	fa_hist_merge(&th->pub, &th->ivl);
	th->pub_count += th->ivl_count;
	th->pub_errors += th->ivl_errors;
	pthread_mutex_unlock(&th->mu);
	fa_hist_reset(&th->ivl);
	th->ivl_count = th->ivl_errors = 0;
}

static void on_tick(struct fa_timer *t)
{
	struct bthread *th = t->ctx;

	publish(th);
	th->next_tick += 1000000000ULL;
	fa_timer_start_at(th->loop, &th->tick, th->next_tick);
}

static void open_conns(struct bthread *th)
{
	const struct fa_bench_cfg *cfg = th->b->cfg;
	struct fa_error err = { 0 };

	for (int i = 0; i < th->nconns; i++) {
		struct fa_bench_conn *c = &th->conns[i];

		c->th = th;
		c->reqs = calloc((size_t)cfg->depth, sizeof(*c->reqs));
		c->free_slots = calloc((size_t)cfg->depth, sizeof(*c->free_slots));
		if (!c->reqs || !c->free_slots) {
			snprintf(th->setup_err, sizeof(th->setup_err), "out of memory");
			return;
		}
		for (int s = 0; s < cfg->depth; s++)
			c->free_slots[c->nfree++] = cfg->depth - 1 - s;
		c->tc = cfg->target->open(cfg->target_cfg, th->loop, c, &err);
		if (!c->tc) {
			snprintf(th->setup_err, sizeof(th->setup_err), "%.500s", err.msg);
			return;
		}
	}
}

static void wait_ready(struct bthread *th)
{
	const struct fa_bench_cfg *cfg = th->b->cfg;
	uint64_t until = fa_now_ns() + (cfg->connect_timeout_ns ? cfg->connect_timeout_ns :
					10000000000ULL);

	while (!th->setup_err[0] && th->ready_conns < th->nconns && !th->b->stop) {
		if (fa_now_ns() >= until) {
			snprintf(th->setup_err, sizeof(th->setup_err),
				 "%d of %d connections not ready within %.0f s",
				 th->nconns - th->ready_conns, th->nconns,
				 (double)(until - th->b->start_ns) / 1e9);
			break;
		}
		if (fa_loop_run_once(th->loop, 50) < 0 && errno != EINTR)
			break;
		if (th->b->cfg->stop && *th->b->cfg->stop)
			th->b->stop = true;
	}
}

static void run_load(struct bthread *th)
{
	struct fa_bench *b = th->b;
	const struct fa_bench_cfg *cfg = b->cfg;
	uint64_t grace = cfg->timeout_ns ? cfg->timeout_ns : 10000000000ULL, stop_at = 0;

	th->issuing = true;
	th->next_tick = b->measure_ns + 1000000000ULL;
	fa_timer_start_at(th->loop, &th->tick, th->next_tick);
	if (cfg->rate > 0) {
		th->next_ns = 0;
		schedule_next(th);
		fa_timer_start_at(th->loop, &th->sched, th->next_ns);
	}
	for (int i = 0; i < th->nconns; i++)
		push_free(&th->conns[i]);
	dispatch(th);
	for (;;) {
		uint64_t now;
		int inflight = 0;

		if (fa_loop_run_once(th->loop, 20) < 0 && errno != EINTR)
			break;
		now = fa_now_ns();
		if (th->issuing && (b->stop || now >= b->end_ns || (budget_spent(th) && !th->bl_len))) {
			/*
			 * Arrivals due before the end whose timer has not run yet (a
			 * busy turn) join the backlog, so each scheduled request is
			 * either sent or counted dropped.
			 */
			if (cfg->rate > 0 && !b->stop)
				on_sched(&th->sched);
			th->issuing = false;
			stop_at = now;
			fa_timer_stop(th->loop, &th->sched);
		}
		if (th->issuing)
			dispatch(th);   /* connections held after an error come back */
		if (th->issuing)
			continue;
		/* what the schedule meant to send and never could */
		for (; th->bl_len; th->bl_len--, th->bl_head = (th->bl_head + 1) % th->bl_cap)
			if (th->backlog[th->bl_head] >= b->measure_ns)
				th->dropped++;
		for (int i = 0; i < th->nconns; i++)
			inflight += th->conns[i].inflight;
		if (!inflight || now >= stop_at + grace || b->stop)
			break;
	}
	fa_timer_stop(th->loop, &th->tick);
	fa_timer_stop(th->loop, &th->kick);
	publish(th);
}

static void *thread_main(void *arg)
{
	struct bthread *th = arg;
	struct fa_bench *b = th->b;
	struct fa_error err = { 0 };

	if (!(th->loop = fa_loop_new(&err)))
		snprintf(th->setup_err, sizeof(th->setup_err), "%.500s", err.msg);
	else
		open_conns(th);
	if (!th->setup_err[0])
		wait_ready(th);
	pthread_mutex_lock(&b->mu);
	b->set_up++;
	pthread_cond_broadcast(&b->cv);
	while (!b->go)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	if (!b->abort)
		run_load(th);
	for (int i = 0; i < th->nconns; i++)
		if (th->conns[i].tc)
			b->cfg->target->close(th->conns[i].tc);
	atomic_fetch_sub(&b->running, 1);
	return NULL;
}

/* ---- the caller's thread ------------------------------------------------ */

static void collect_second(struct fa_bench *b, struct fa_bench_result *res, struct fa_hist *h,
			   double t, double len)
{
	struct fa_bench_second s = { .t = t, .len = len };
	struct fa_bench_second *n;

	fa_hist_reset(h);
	for (int i = 0; i < b->cfg->threads; i++) {
		struct bthread *th = &b->th[i];

		pthread_mutex_lock(&th->mu);
		fa_hist_merge(h, &th->pub);
		s.count += th->pub_count;
		s.errors += th->pub_errors;
		th->pub_count = th->pub_errors = 0;
		fa_hist_reset(&th->pub);
		pthread_mutex_unlock(&th->mu);
	}
	s.p50 = fa_hist_percentile(h, 50);
	s.p90 = fa_hist_percentile(h, 90);
	s.p99 = fa_hist_percentile(h, 99);
	s.max = h->max;
	if ((n = realloc(res->secs, (size_t)(res->nsecs + 1) * sizeof(*n)))) {
		res->secs = n;
		res->secs[res->nsecs++] = s;
	}
	if (b->cfg->on_second)
		b->cfg->on_second(&s, b->cfg->ctx);
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static enum fa_err check_cfg(const struct fa_bench_cfg *cfg, struct fa_error *err)
{
	if (cfg->threads < 1 || cfg->conns < cfg->threads)
		return fa_error_set(err, FA_EUSAGE, "%d connections cannot be shared by %d threads: "
				    "give at least one per thread", cfg->conns, cfg->threads);
	if (cfg->depth < 1)
		return fa_error_set(err, FA_EUSAGE, "requests in flight per connection must be >= 1");
	if (cfg->rate < 0 || (cfg->ramp_ns && cfg->ramp_from < 0))
		return fa_error_set(err, FA_EUSAGE, "a rate must not be negative");
	if (cfg->rate > 0 && cfg->rate / cfg->threads < 1e-6)
		return fa_error_set(err, FA_EUSAGE, "rate %g is too low for %d threads",
				    cfg->rate, cfg->threads);
	return FA_OK;
}

static void merge_thread(struct fa_bench_result *res, struct bthread *th)
{
	fa_hist_merge(&res->lat, &th->lat);
	fa_hist_merge(&res->svc, &th->svc);
	fa_hist_merge(&res->lag, &th->lag);
	fa_hist_merge(&res->hs, &th->hs);
	res->requests += th->requests;
	res->errors += th->errors;
	res->late += th->late;
	res->dropped += th->dropped;
	for (int e = 0; e < th->errs.nerrs; e++)
		fa_bench_errs_add(res, th->errs.errs[e].kind, th->errs.errs[e].detail,
				  th->errs.errs[e].n, th->errs.errs[e].first);
}

static enum fa_err init_threads(struct fa_bench *b, struct fa_error *err)
{
	const struct fa_bench_cfg *cfg = b->cfg;
	int per = cfg->conns / cfg->threads, extra = cfg->conns % cfg->threads, idx = 0;

	for (int i = 0; i < cfg->threads; i++) {
		struct bthread *th = &b->th[i];

		th->b = b;
		th->id = i;
		th->nconns = per + (i < extra);
		th->share = 1.0 / cfg->threads;
		th->phase = (double)i / cfg->threads;
		th->rng = cfg->seed * 2654435761u + (uint64_t)i * 40503 + 1;
		th->budget = cfg->count / (uint64_t)cfg->threads +
			     ((uint64_t)i < cfg->count % (uint64_t)cfg->threads);
		pthread_mutex_init(&th->mu, NULL);
		fa_timer_init(&th->sched, on_sched, th);
		fa_timer_init(&th->kick, on_kick, th);
		fa_timer_init(&th->tick, on_tick, th);
		if (fa_bench_hist_init(&th->lat, cfg->digits, err))
			return err->code;
		th->svc = th->lag = th->ivl = th->pub = th->hs = th->lat;
		if (!(th->conns = calloc((size_t)th->nconns, sizeof(*th->conns))))
			return fa_error_set(err, FA_ENOMEM, "out of memory");
		for (int c = 0; c < th->nconns; c++)
			th->conns[c].index = idx++;
	}
	return FA_OK;
}

static void free_threads(struct fa_bench *b)
{
	for (int i = 0; i < b->cfg->threads; i++) {
		struct bthread *th = &b->th[i];

		for (int c = 0; c < th->nconns && th->conns; c++) {
			free(th->conns[c].reqs);
			free(th->conns[c].free_slots);
		}
		free(th->conns);
		free(th->backlog);
		fa_hist_release(&th->lat);
		fa_hist_release(&th->svc);
		fa_hist_release(&th->lag);
		fa_hist_release(&th->ivl);
		fa_hist_release(&th->pub);
		fa_hist_release(&th->hs);
		fa_loop_free(th->loop);
		pthread_mutex_destroy(&th->mu);
	}
	free(b->th);
}

/* Once a second until every thread is done, then the short last second. */
static void watch(struct fa_bench *b, struct fa_bench_result *res)
{
	struct fa_hist h;
	struct fa_error err;
	uint64_t next = b->measure_ns + 1000000000ULL + 20000000ULL, last = b->measure_ns;

	fa_bench_hist_init(&h, b->cfg->digits, &err);   /* checked when the threads' were made */
	while (atomic_load(&b->running) > 0) {
		uint64_t now = fa_now_ns(), until = now + 20000000ULL;

		if (b->cfg->stop && *b->cfg->stop)
			b->stop = true;
		if (now >= next) {
			collect_second(b, res, &h, (double)(next - 20000000ULL - b->measure_ns) / 1e9, 1.0);
			last = next - 20000000ULL;
			next += 1000000000ULL;
		}
		sleep_until(until < next ? until : next);
	}
	{
		uint64_t end = fa_now_ns();

		if (end > last + 100000000ULL && end > b->measure_ns)
			collect_second(b, res, &h, (double)(end - b->measure_ns) / 1e9,
				       (double)(end - (last > b->measure_ns ? last : b->measure_ns)) / 1e9);
	}
	fa_hist_release(&h);
}

enum fa_err fa_bench_run(const struct fa_bench_cfg *cfg, struct fa_bench_result *res,
			 struct fa_error *err)
{
	struct fa_bench b = { .cfg = cfg };
	enum fa_err rc;
	double cpu0;
	uint64_t t_end;
	int started = 0;

	memset(res, 0, sizeof(*res));
	if ((rc = check_cfg(cfg, err)))
		return rc;
	if ((rc = fa_bench_hist_init(&res->lat, cfg->digits, err)))
		return rc;
	res->svc = res->lag = res->hs = res->lat;
	if (!(b.th = calloc((size_t)cfg->threads, sizeof(*b.th))))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	b.start_ns = fa_now_ns();
	if ((rc = init_threads(&b, err))) {
		free_threads(&b);
		return rc;
	}
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	atomic_store(&b.running, 0);
	for (int i = 0; i < cfg->threads; i++) {
		int e;

		atomic_fetch_add(&b.running, 1);
		if ((e = pthread_create(&b.th[i].tid, NULL, thread_main, &b.th[i])) != 0) {
			atomic_fetch_sub(&b.running, 1);
			fa_error_set(err, FA_ENOMEM, "cannot start thread %d of %d: %s", i + 1,
				     cfg->threads, strerror(e));
			b.abort = true;
			break;
		}
		started++;
	}
	pthread_mutex_lock(&b.mu);
	while (b.set_up < started)
		pthread_cond_wait(&b.cv, &b.mu);
	for (int i = 0; i < started; i++)
		if (b.th[i].setup_err[0] && !err->msg[0]) {
			fa_error_set(err, FA_ECONNECT, "%s", b.th[i].setup_err);
			b.abort = true;
		}
	if (b.stop)
		b.abort = true;
	cpu0 = cpu_seconds();
	b.start_ns = fa_now_ns();
	b.measure_ns = b.start_ns + cfg->warmup_ns;
	b.end_ns = cfg->duration_ns ? b.measure_ns + cfg->duration_ns : UINT64_MAX;
	b.go = true;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.mu);
	if (!b.abort)
		watch(&b, res);
	for (int i = 0; i < started; i++)
		pthread_join(b.th[i].tid, NULL);
	t_end = fa_now_ns();
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&b.cv);
	if (b.abort) {
		free_threads(&b);
		fa_bench_result_release(res);
		return err->code ? err->code : FA_EINTR;
	}
	for (int i = 0; i < cfg->threads; i++)
		merge_thread(res, &b.th[i]);
	res->cpu = cpu_seconds() - cpu0;
	/* measured time: to the end of the duration, or to the last answer */
	res->elapsed = (double)((cfg->duration_ns && !b.stop && t_end > b.end_ns ? b.end_ns : t_end) -
				b.measure_ns) / 1e9;
	res->interrupted = b.stop;
	free_threads(&b);
	return FA_OK;
}

void fa_bench_result_release(struct fa_bench_result *res)
{
	fa_hist_release(&res->lat);
	fa_hist_release(&res->svc);
	fa_hist_release(&res->lag);
	fa_hist_release(&res->hs);
	free(res->secs);
	res->secs = NULL;
	res->nsecs = 0;
}
