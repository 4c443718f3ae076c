/*
 * copyin: the bulk load engine behind fa-copy in (and later fa-pg's \copy).
 *
 * Decompressed input is fed in chunks of any size; the engine cuts it into
 * batches on record boundaries (a quoted CSV field with newlines never
 * splits), and N worker threads, each with its own connection, load the
 * batches with COPY FROM STDIN.  Every batch commits on its own, unless
 * atomic, where one connection loads everything in one transaction.
 *
 * Nothing is lost silently.  Without rejects the first failed batch stops
 * the load and the result says which batches committed.  With rejects a
 * failed batch is split (around the line the server names, else by
 * bisection) until the bad records are isolated; each goes to on_reject
 * with its input line and the server's error, and loaded + rejected =
 * read, exactly.  With a resume id each batch's commit records its number
 * in fa_copy_progress in the same transaction, so the same command run
 * again after a crash skips what committed and loads the rest; and a
 * worker whose connection is lost reconnects (up to retries times per
 * batch, with exponential backoff and jitter) and goes on: a batch whose
 * COMMIT got no answer is looked up in fa_copy_progress, skipped when it
 * is there and loaded again when it is not, so every record loads once.
 *
 *	struct fa_copyin *c = fa_copyin_new(&opts, &err);
 *	while ((n = read(...)) > 0)
 *		if (fa_copyin_feed(c, buf, n, &err)) break;
 *	fa_copyin_finish(c, &err);
 *	fa_copyin_stats(c, &st);
 *	fa_copyin_free(c);
 *
 * feed() blocks while the workers are busy (bounded memory: at most
 * 2 * jobs batches wait).  Callbacks run on worker threads, one at a time;
 * a batch's rejected records reach on_reject once the batch commits.
 */
#ifndef FA_COPYIN_H
#define FA_COPYIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "pg/pgconn.h"

enum fa_copyin_format { FA_CI_CSV, FA_CI_TEXT, FA_CI_NDJSON, FA_CI_BINARY };

struct fa_copyin_opts {
	const struct fa_pg_target *target;
	const char *table;              /* as typed: name, schema.name, "Quoted" */
	const char *columns;            /* comma-separated, or NULL for all */
	enum fa_copyin_format format;
	char delim;                     /* csv ',' ; text '\t' */
	char quote;                     /* csv '"' */
	const char *null_str;           /* NULL: the format's default */
	bool header;                    /* first record is a header: skip it */
	bool header_match;              /* ... and map columns by its names */
	int jobs;
	long batch_rows;
	long skip;                      /* records to skip after the header */
	long limit;                     /* records to load at most; 0 = all */
	bool atomic;                    /* one transaction on one connection */
	bool truncate;
	bool freeze;                    /* COPY FREEZE (needs truncate; runs atomic) */
	bool create;                    /* create a missing table from the header or NDJSON keys */
	bool binary;                    /* encode csv/text as binary COPY when possible */
	bool binary_only;               /* ... and fail when it is not */
	const char *resume_id;          /* NULL: no resume bookkeeping */
	int retries;                    /* with resume_id: reconnections per batch */
	/* set by a signal handler to stop: a wait to reconnect ends within 0.1 s */
	volatile int *interrupted;
	bool rejects;                   /* isolate bad records instead of stopping */
	/* a rejected record: its input line, raw bytes, the server's error */
	void (*on_reject)(void *ctx, uint64_t line, const char *rec, size_t len,
			  const char *sqlstate, const char *message);
	/* a line for people: a lost connection, a reconnection, a batch looked up */
	void (*on_notice)(void *ctx, const char *message);
	void *ctx;
};

struct fa_copyin_stats {
	uint64_t records;               /* read from the input (after header/skip) */
	uint64_t loaded;                /* committed */
	uint64_t rejected;
	uint64_t skipped_resume;        /* in batches committed by an earlier run */
	uint64_t bytes;                 /* input bytes fed */
	uint64_t batches_committed;
	uint64_t batches_failed;
	uint64_t reconnects;            /* connections made again after a loss */
	bool binary_used;
	/* the failure that stopped the load, if any */
	uint64_t fail_line;
	char fail_sqlstate[8];
	char fail_message[1024];
	/* committed batches as input line ranges, "1-10000, 20001-30000" */
	char committed[1024];
	/* batches whose COMMIT was sent but never answered: maybe committed */
	char unknown[256];
};

struct fa_copyin;

/*
 * Connects jobs connections, checks the table and columns, prepares the
 * resume bookkeeping and truncates if asked.  FA_ECONNECT, FA_EWORK (no
 * such table...), FA_EUSAGE (bad option combination) with a message.
 */
struct fa_copyin *fa_copyin_new(const struct fa_copyin_opts *o, struct fa_error *err);

/* Feeds input bytes; FA_EWORK once the load has failed (stop feeding). */
enum fa_err fa_copyin_feed(struct fa_copyin *c, const void *data, size_t n,
			   struct fa_error *err);

/* True once the engine needs no more input (--limit reached). */
bool fa_copyin_input_done(const struct fa_copyin *c);

/* End of input: loads the rest, waits, commits an atomic load. */
enum fa_err fa_copyin_finish(struct fa_copyin *c, struct fa_error *err);

/* From another thread or a signal's aftermath: stop, roll back in-flight batches. */
void fa_copyin_cancel(struct fa_copyin *c);

/* A consistent snapshot of the counters; safe while the load runs. */
void fa_copyin_stats(struct fa_copyin *c, struct fa_copyin_stats *st);

void fa_copyin_free(struct fa_copyin *c);

#endif
