/*
 * batch: runs a script's statements over the pool, for -j N (each
 * statement autocommits on one of N connections) and --pipeline (batches
 * of --batch statements on one connection, one Sync and so one implicit
 * transaction per batch).  Output is printed in input order: the oldest
 * unfinished statement streams, later ones are buffered until their turn.
 */
#ifndef FAPG_BATCH_H
#define FAPG_BATCH_H

#include "fapg.h"
#include "core/loop.h"
#include "pg/pgpool.h"

struct batch_item;

struct batch {
	struct session *s;
	struct fa_loop *loop;
	struct fa_pool *pool;
	struct batch_item **items;      /* not yet printed, in input order */
	int n, cap;
	int head;                       /* first not yet printed */
	int unsent;                     /* first not yet submitted */
	int aborted;                    /* statements skipped by a failed batch */
	enum fa_err rc;
	bool stop;
	bool draining;                  /* send partial batches too */
};

void batch_init(struct batch *b, struct session *s);
/* Queues a statement; returns the first failure seen so far. */
enum fa_err batch_add(struct batch *b, const char *sql, const char *where);
/* Runs everything queued to completion and prints it. */
enum fa_err batch_drain(struct batch *b);
void batch_release(struct batch *b);

#endif
