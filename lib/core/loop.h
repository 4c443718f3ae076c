/*
 * loop: an epoll event loop with timers.  One loop per thread; nothing
 * here locks.  Callers embed struct fa_io and struct fa_timer in their own
 * structures and keep them alive while registered.
 *
 *	struct fa_loop *l = fa_loop_new(&err);
 *	io.fd = fd; io.cb = on_ready; io.ctx = me;
 *	fa_loop_add(l, &io, FA_IN);
 *	fa_timer_start(l, &t, 5000);
 *	while (!done) fa_loop_run_once(l, -1);
 */
#ifndef FA_LOOP_H
#define FA_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum { FA_IN = 1, FA_OUT = 4 };   /* EPOLLIN, EPOLLOUT */

struct fa_io {
	int fd;
	uint32_t events;
	void (*cb)(struct fa_io *io, uint32_t revents);
	void *ctx;
};

struct fa_timer {
	uint64_t due;           /* monotonic ns */
	int slot;               /* index in the heap, -1 when idle */
	void (*cb)(struct fa_timer *t);
	void *ctx;
};

struct fa_loop;

struct fa_loop *fa_loop_new(struct fa_error *err);
void fa_loop_free(struct fa_loop *l);

enum fa_err fa_loop_add(struct fa_loop *l, struct fa_io *io, uint32_t events);
enum fa_err fa_loop_mod(struct fa_loop *l, struct fa_io *io, uint32_t events);
/* io gets no more events, not even those of the turn being dispatched,
   so a callback may delete and free another io of the same turn. */
void fa_loop_del(struct fa_loop *l, struct fa_io *io);

/* (Re)arms t to fire once after ms milliseconds. */
enum fa_err fa_timer_start(struct fa_loop *l, struct fa_timer *t, uint64_t ms);
/* (Re)arms t to fire once at due (fa_now_ns() time, to the nanosecond
   where the kernel has epoll_pwait2); a past due fires in the next turn. */
enum fa_err fa_timer_start_at(struct fa_loop *l, struct fa_timer *t, uint64_t due);
void fa_timer_stop(struct fa_loop *l, struct fa_timer *t);
void fa_timer_init(struct fa_timer *t, void (*cb)(struct fa_timer *), void *ctx);

/*
 * Waits up to timeout_ms (-1: until something happens) and runs the
 * callbacks that are due.  Returns the number of events and timers run,
 * or -1 with errno set (EINTR when a signal arrived).
 */
int fa_loop_run_once(struct fa_loop *l, int timeout_ms);

#endif
