/* Unit test for lib/core/loop.c: a callback that deletes and frees
   another io of the same turn does not get that io called. */
#include "core/loop.c"

#include <stdio.h>

#include "check.h"

struct pair {
	struct fa_loop *l;
	struct fa_io *io[2];
	int fds[2][2];
	int calls;
};

/* Whichever io runs first deletes and frees the other one. */
static void on_ready(struct fa_io *io, uint32_t ev)
{
	struct pair *p = io->ctx;
	int other = p->io[0] == io ? 1 : 0;

	(void)ev;
	p->calls++;
	if (p->io[other]) {
		fa_loop_del(p->l, p->io[other]);
		free(p->io[other]);     /* the sanitizers catch a call after this */
		p->io[other] = NULL;
	}
}

static void test_delete_in_turn(void)
{
	struct fa_error err = { 0 };
	struct pair p = { 0 };

	p.l = fa_loop_new(&err);
	CHECK(p.l != NULL);
	for (int i = 0; i < 2; i++) {
		CHECK(pipe(p.fds[i]) == 0);
		CHECK(write(p.fds[i][1], "x", 1) == 1);
		p.io[i] = calloc(1, sizeof(*p.io[i]));
		*p.io[i] = (struct fa_io){ .fd = p.fds[i][0], .cb = on_ready, .ctx = &p };
		CHECK(fa_loop_add(p.l, p.io[i], FA_IN) == FA_OK);
	}
	/* both are readable: one turn reports both, only the first runs */
	CHECK(fa_loop_run_once(p.l, 1000) == 2);
	CHECK(p.calls == 1, "%d calls", p.calls);
	/* the survivor goes on being served in later turns */
	CHECK(fa_loop_run_once(p.l, 1000) == 1);
	CHECK(p.calls == 2, "%d calls", p.calls);
	for (int i = 0; i < 2; i++) {
		free(p.io[i]);
		close(p.fds[i][0]);
		close(p.fds[i][1]);
	}
	fa_loop_free(p.l);
}

int main(int argc, char **argv)
{
	rnd_seed("test_loop", argc, argv);
	RUN(test_delete_in_turn);
	return check_report("test_loop");
}
