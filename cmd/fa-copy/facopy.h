/*
 * fa-copy internals: the options shared by `in` and `out`, and the two
 * directions.
 */
#ifndef FACOPY_H
#define FACOPY_H

#include <stdbool.h>

#include "core/err.h"
#include "pg/pgconn.h"
#include "core/zcodec.h"

enum copy_format { CF_CSV, CF_TSV, CF_TEXT, CF_BINARY, CF_NDJSON, CF_JSON };

struct copy_args {
	char *const *envp;
	const char *db;
	struct fa_pg_target target;
	enum copy_format format;
	char delim, quote;              /* 0: the format's default */
	const char *null_str;
	int header;                     /* 0 none, 1 skip/write, 2 match (in) */
	const char *columns;
	int jobs;
	long batch_rows;
	bool atomic, truncate, freeze, create;
	const char *rejects;
	const char *resume;
	int retries;                    /* with resume: reconnections per batch */
	bool retries_set;
	long skip, limit;
	int encode;                     /* in: 0 auto, 1 text, 2 binary */
	int progress;                   /* 0 auto, 1 bar, 2 ndjson, 3 none */
	bool summary_json;
	const char *output;
	enum fa_zkind compress;
	bool compress_set;
	bool quiet;
	char **operands;                /* after the direction word */
	int noperands;
	char **params;                  /* after -- */
	int nparams;
};

/* Set by SIGINT/SIGTERM. */
extern volatile int copy_interrupted;

int copy_in(struct copy_args *a);
int copy_out(struct copy_args *a);

/* Prints "fa-copy: MESSAGE" on stderr; returns code. */
int copy_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
