#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/stats.h"

struct fa_loop {
	int epfd;
	struct fa_timer **heap;
	int nheap, capheap;
	/* the turn's events while they are dispatched, for fa_loop_del */
	struct epoll_event *turn;
	int turn_n, turn_i;
	bool no_pwait2;         /* the kernel has no epoll_pwait2 */
};

struct fa_loop *fa_loop_new(struct fa_error *err)
{
	struct fa_loop *l = calloc(1, sizeof(*l));

	if (!l) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		fa_error_set(err, FA_EWORK, "epoll_create1: %s", strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

void fa_loop_free(struct fa_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->heap);
	free(l);
}

static enum fa_err ctl(struct fa_loop *l, int op, struct fa_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->events = events;
	return epoll_ctl(l->epfd, op, io->fd, &ev) == 0 ? FA_OK : FA_EWORK;
}

enum fa_err fa_loop_add(struct fa_loop *l, struct fa_io *io, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, io, events);
}

enum fa_err fa_loop_mod(struct fa_loop *l, struct fa_io *io, uint32_t events)
{
	if (events == io->events)
		return FA_OK;
	return ctl(l, EPOLL_CTL_MOD, io, events);
}

void fa_loop_del(struct fa_loop *l, struct fa_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* events of this turn not yet dispatched: io may be freed after this */
	for (int i = l->turn_i + 1; i < l->turn_n; i++)
		if (l->turn[i].data.ptr == io)
			l->turn[i].data.ptr = NULL;
}

void fa_timer_init(struct fa_timer *t, void (*cb)(struct fa_timer *), void *ctx)
{
	t->due = 0;
	t->slot = -1;
	t->cb = cb;
	t->ctx = ctx;
}

static void heap_swap(struct fa_loop *l, int a, int b)
{
	struct fa_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->slot = a;
	l->heap[b]->slot = b;
}

static void heap_up(struct fa_loop *l, int i)
{
	while (i > 0 && l->heap[(i - 1) / 2]->due > l->heap[i]->due) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct fa_loop *l, int i)
{
	for (;;) {
		int c = 2 * i + 1;

		if (c >= l->nheap)
			return;
		if (c + 1 < l->nheap && l->heap[c + 1]->due < l->heap[c]->due)
			c++;
		if (l->heap[i]->due <= l->heap[c]->due)
			return;
		heap_swap(l, i, c);
		i = c;
	}
}

void fa_timer_stop(struct fa_loop *l, struct fa_timer *t)
{
	int i = t->slot;

	if (i < 0)
		return;
	t->slot = -1;
	if (--l->nheap == i)
		return;
	l->heap[i] = l->heap[l->nheap];
	l->heap[i]->slot = i;
	heap_down(l, i);
	heap_up(l, i);
}

enum fa_err fa_timer_start(struct fa_loop *l, struct fa_timer *t, uint64_t ms)
{
	return fa_timer_start_at(l, t, fa_now_ns() + ms * 1000000u);
}

enum fa_err fa_timer_start_at(struct fa_loop *l, struct fa_timer *t, uint64_t due)
{
	fa_timer_stop(l, t);
	if (l->nheap == l->capheap) {
		int cap = l->capheap ? l->capheap * 2 : 64;
		struct fa_timer **h = realloc(l->heap, (size_t)cap * sizeof(*h));

		if (!h)
			return FA_ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->due = due;
	t->slot = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->slot);
	return FA_OK;
}

static int run_timers(struct fa_loop *l)
{
	uint64_t now = fa_now_ns();
	int n = 0;

	while (l->nheap && l->heap[0]->due <= now) {
		struct fa_timer *t = l->heap[0];

		fa_timer_stop(l, t);
		t->cb(t);
		n++;
	}
	return n;
}

/*
 * Waits for events up to wait_ns (-1: no limit).  epoll_pwait2 keeps a
 * timer's nanoseconds (an open-loop schedule needs them); a kernel older
 * than 5.11 gets epoll_wait, rounding up to the millisecond.
 */
static int wait_events(struct fa_loop *l, struct epoll_event *evs, int max, int64_t wait_ns)
{
	struct timespec ts;
	int n;

	if (wait_ns < 0)
		return epoll_wait(l->epfd, evs, max, -1);
	if (!l->no_pwait2) {
		ts.tv_sec = (time_t)(wait_ns / 1000000000);
		ts.tv_nsec = (long)(wait_ns % 1000000000);
		n = epoll_pwait2(l->epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
	}
	return epoll_wait(l->epfd, evs, max, (int)((wait_ns + 999999) / 1000000));
}

int fa_loop_run_once(struct fa_loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int64_t wait_ns = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000;
	int n, i;

	if (l->nheap) {
		uint64_t now = fa_now_ns(), due = l->heap[0]->due;
		int64_t until = due <= now ? 0 : (int64_t)(due - now);

		if (wait_ns < 0 || until < wait_ns)
			wait_ns = until;
	}
	n = wait_events(l, evs, 64, wait_ns);
	if (n < 0)
		return -1;
	l->turn = evs;
	l->turn_n = n;
	for (i = 0; i < n; i++) {
		struct fa_io *io = evs[i].data.ptr;

		l->turn_i = i;
		if (io)         /* NULL: deleted by an earlier callback of this turn */
			io->cb(io, evs[i].events);
	}
	l->turn = NULL;
	l->turn_n = l->turn_i = 0;
	return n + run_timers(l);
}
