/*
 * fa-serve: /metrics.  Each worker counts its own requests by route and
 * status, with a latency histogram per route, in cells only it writes
 * (plain relaxed stores, no lock, no atomic read-modify-write).  A scrape,
 * on any worker, walks every worker's cells with relaxed loads and sums
 * them.  A worker finds its cell for a route in a private hash table;
 * cells are also on a list that is only ever pushed at its head (a
 * release store), so a reader on another thread sees whole cells.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define NBUCKETS 12             /* the last one is +Inf */
#define NSTATUS 16              /* distinct statuses per route and worker */

static const double bucket_le[NBUCKETS - 1] = {
	0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

struct cell {
	char route[64];                 /* a route's name, or "-" */
	uint32_t status[NSTATUS];       /* 0: unused; 999: every other status */
	uint64_t count[NSTATUS];
	uint64_t lat[NBUCKETS];
	uint64_t sum_ns;
	struct cell *next;              /* set before the cell is published */
};

struct wmetrics {
	struct cell *head;              /* published list, read by scrapes */
	struct cell **tab;              /* the worker's own index by route */
	size_t cap, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void bump(uint64_t *x)
{
	__atomic_store_n(x, *x + 1, __ATOMIC_RELAXED);
}

struct wmetrics *metrics_new(void)
{
	return calloc(1, sizeof(struct wmetrics));
}

void metrics_free(struct wmetrics *m)
{
	struct cell *c, *next;

	if (!m)
		return;
	for (c = m->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(m->tab);
	free(m);
}

static bool grow(struct wmetrics *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct cell **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return false;
	for (size_t i = 0; i < m->cap; i++)
		if (m->tab[i]) {
			size_t k = hash(m->tab[i]->route) & (cap - 1);

			while (tab[k])
				k = (k + 1) & (cap - 1);
			tab[k] = m->tab[i];
		}
	free(m->tab);
	m->tab = tab;
	m->cap = cap;
	return true;
}

/* The worker's cell for route, made and published the first time. */
static struct cell *cell_for(struct wmetrics *m, const char *route)
{
	struct cell *c;
	size_t k;

	if ((m->n + 1) * 2 > m->cap && !grow(m))
		return NULL;
	for (k = hash(route) & (m->cap - 1); m->tab[k]; k = (k + 1) & (m->cap - 1))
		if (!strcmp(m->tab[k]->route, route))
			return m->tab[k];
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	snprintf(c->route, sizeof(c->route), "%s", route);
	c->next = m->head;
	__atomic_store_n(&m->head, c, __ATOMIC_RELEASE);
	m->tab[k] = c;
	m->n++;
	return c;
}

void metrics_count(struct wmetrics *m, const char *route, int status, uint64_t ns)
{
	struct cell *c = m ? cell_for(m, route && route[0] ? route : "-") : NULL;
	double secs = (double)ns / 1e9;
	int i, k = 0;

	if (!c)
		return;
	for (i = 0; i < NSTATUS - 1 && c->status[i] && c->status[i] != (uint32_t)status; i++)
		;
	if (i == NSTATUS - 1 && c->status[i] != (uint32_t)status)
		status = 999;
	if (!c->status[i])
		__atomic_store_n(&c->status[i], (uint32_t)status, __ATOMIC_RELAXED);
	bump(&c->count[i]);
	while (k < NBUCKETS - 1 && secs > bucket_le[k])
		k++;
	bump(&c->lat[k]);
	__atomic_store_n(&c->sum_ns, c->sum_ns + ns, __ATOMIC_RELAXED);
}

/* The sums over workers for one route. */
struct total {
	const char *route;
	uint32_t status[NSTATUS * 4];
	uint64_t count[NSTATUS * 4];
	int nstatus;
	uint64_t lat[NBUCKETS], sum_ns;
};

static void add_cell(struct total *t, const struct cell *c)
{
	for (int i = 0; i < NSTATUS; i++) {
		uint32_t st = __atomic_load_n(&c->status[i], __ATOMIC_RELAXED);
		int j;

		if (!st)
			break;
		for (j = 0; j < t->nstatus && t->status[j] != st; j++)
			;
		if (j == t->nstatus) {
			if (j == NSTATUS * 4)
				continue;
			t->status[t->nstatus++] = st;
		}
		t->count[j] += __atomic_load_n(&c->count[i], __ATOMIC_RELAXED);
	}
	for (int k = 0; k < NBUCKETS; k++)
		t->lat[k] += __atomic_load_n(&c->lat[k], __ATOMIC_RELAXED);
	t->sum_ns += __atomic_load_n(&c->sum_ns, __ATOMIC_RELAXED);
}

static int by_route(const void *x, const void *y)
{
	return strcmp(((const struct total *)x)->route, ((const struct total *)y)->route);
}

static void write_totals(struct fa_buf *b, struct total *t, size_t n)
{
	qsort(t, n, sizeof(*t), by_route);
	fa_buf_puts(b, "# HELP fa_http_requests_total Requests answered, by route and status.\n"
		    "# TYPE fa_http_requests_total counter\n");
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < t[i].nstatus; j++)
			fa_buf_printf(b, "fa_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
				      t[i].route, t[i].status[j], (unsigned long long)t[i].count[j]);
	fa_buf_puts(b, "# HELP fa_http_request_duration_seconds Time to answer, by route.\n"
		    "# TYPE fa_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (int k = 0; k < NBUCKETS; k++) {
			char le[16];

			cum += t[i].lat[k];
			if (k < NBUCKETS - 1)
				snprintf(le, sizeof(le), "%g", bucket_le[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			fa_buf_printf(b, "fa_http_request_duration_seconds_bucket{route=\"%s\","
				      "le=\"%s\"} %llu\n", t[i].route, le, (unsigned long long)cum);
		}
		fa_buf_printf(b, "fa_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			      "fa_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			      t[i].route, (double)t[i].sum_ns / 1e9, t[i].route,
			      (unsigned long long)cum);
	}
}

void metrics_write(struct fa_buf *b, struct app *a)
{
	struct total *t = NULL;
	size_t n = 0, cap = 0;

	for (int w = 0; w < a->nworkers; w++) {
		struct wctx *wc = __atomic_load_n(&a->workers[w], __ATOMIC_ACQUIRE);
		struct cell *c = wc && wc->metrics ?
			__atomic_load_n(&wc->metrics->head, __ATOMIC_ACQUIRE) : NULL;

		for (; c; c = c->next) {
			size_t i;

			for (i = 0; i < n && strcmp(t[i].route, c->route); i++)
				;
			if (i == n) {
				if (n == cap) {
					struct total *g = realloc(t, (cap = cap ? cap * 2 : 32) * sizeof(*t));

					if (!g)
						break;
					t = g;
				}
				memset(&t[n], 0, sizeof(t[n]));
				t[n++].route = c->route;
			}
			add_cell(&t[i], c);
		}
	}
	write_totals(b, t, n);
	free(t);
}
