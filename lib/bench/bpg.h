/*
 * bpg: fa-bench's PostgreSQL target.
 *
 * Each connection is its own nonblocking libpq connection on its
 * thread's loop (not a pool: the benchmark decides what is in flight
 * where).  One statement runs per request, with its parameters drawn
 * from generators (bench/gen), in one of three modes as pgbench names
 * them:
 *
 *	simple     the simple query protocol, the values put into the text
 *	           as literals; one statement in flight per connection
 *	extended   Parse/Bind/Execute/Sync each time, in pipeline mode
 *	prepared   prepared once per connection, then Bind/Execute/Sync
 *
 * In the last two, depth requests may be in flight per connection
 * (--pipeline), each closed by its own Sync, so each is its own
 * transaction and an error ends only its own request.
 *
 * A request is one statement, or the several statements of a script, sent
 * together and closed by one Sync (in simple mode, one Query message):
 * they run as one transaction unless the script says BEGIN/COMMIT
 * itself.  Statements are written with :name placeholders, which become
 * each statement's own $n for the generators named; every generator draws
 * once per request, so all the statements of one request see the same
 * value.  A pgbench-style script (\set NAME EXPR lines and statements) is
 * read by fa_bench_pg_script().
 */
#ifndef FA_BENCH_BPG_H
#define FA_BENCH_BPG_H

#include "bench/engine.h"
#include "bench/gen.h"
#include "pg/pgconn.h"

enum fa_bench_pg_mode { FA_BENCH_PG_SIMPLE, FA_BENCH_PG_EXTENDED, FA_BENCH_PG_PREPARED };

#define FA_BENCH_PG_MAX_VARS 64

#define FA_BENCH_PG_MAX_STMTS 32

/* One statement of a request: its text with $n, and which generator each
   $n takes its value from. */
struct fa_bench_pg_stmt {
	char *sql;                              /* owned */
	int nparams;
	int gen[FA_BENCH_PG_MAX_VARS];          /* $k+1 is generator gen[k] */
};

struct fa_bench_pg {
	const struct fa_pg_target *target;      /* borrowed */
	enum fa_bench_pg_mode mode;
	struct fa_bench_pg_stmt stmts[FA_BENCH_PG_MAX_STMTS];
	int nstmts;
	int nvars;
	char *names[FA_BENCH_PG_MAX_VARS];      /* owned */
	struct fa_gen gens[FA_BENCH_PG_MAX_VARS];
	int conns;                              /* connections in all, for seq() */
};

extern const struct fa_bench_target fa_bench_pg_target;

/*
 * Sets up cfg (which the caller zeroes first) for target and mode.
 * Adds the generator NAME=EXPR (as -D gives it); FA_EUSAGE naming the
 * definition and the position of the error.
 */
void fa_bench_pg_init(struct fa_bench_pg *cfg, const struct fa_pg_target *t,
		      enum fa_bench_pg_mode mode);
enum fa_err fa_bench_pg_define(struct fa_bench_pg *cfg, const char *def, struct fa_error *err);

/* The statements of -e: :name placeholders of defined generators become
   $n; FA_EUSAGE for a :name with no generator. */
enum fa_err fa_bench_pg_statement(struct fa_bench_pg *cfg, const char *sql,
				  struct fa_error *err);

/* A pgbench-style script: \set lines and statements.  FA_EINPUT, naming
   the file and line, for anything else. */
enum fa_err fa_bench_pg_script(struct fa_bench_pg *cfg, const char *path,
			       struct fa_error *err);

void fa_bench_pg_release(struct fa_bench_pg *cfg);

#endif
