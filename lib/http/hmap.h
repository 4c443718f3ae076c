/*
 * hmap: what HTTP makes of PostgreSQL, and what a client asks for.
 * Pure functions: an SQLSTATE to a status, an error as a JSON body, and
 * the Accept header to one of the row formats.
 */
#ifndef FA_HMAP_H
#define FA_HMAP_H

#include <stddef.h>

#include "core/buf.h"
#include "core/fmt.h"

/*
 * The HTTP status for a PostgreSQL error: unique and foreign key 409,
 * check and not-null 422, invalid text 400, insufficient privilege (42501:
 * a GRANT or row-level security refused) 403, statement timeout 504,
 * connection trouble, serialization failures, deadlocks and a read-only
 * standby (25006, after failover) 503, the rest 500.
 */
int fa_hmap_status(const char *sqlstate);

/* {"error":{"status":N,"sqlstate":"...","message":"...","detail":"..."}} */
void fa_hmap_error_json(struct fa_buf *out, int status, const char *sqlstate,
			const char *message, const char *detail);

/*
 * The best row format the Accept header allows: JSON by default, NDJSON
 * for application/x-ndjson (and application/jsonl), CSV for text/csv, by
 * q-value then by order; -1 when it names only types fa cannot make
 * (406).  *ctype gets the Content-Type to send.
 */
int fa_hmap_accept(const char *accept, size_t len, const char **ctype);

#endif
