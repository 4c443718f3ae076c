/*
 * pgtypes: what the JSON writers (lib/pg/pgjson) need to know of a result
 * column's type, found once per type OID and kept.
 *
 * Built-in scalar and array types are known without asking the server.
 * Any other type (a composite, an array of composites, a domain, an enum)
 * is read from the catalog, with its element and field types, the first
 * time a result has a column of it:
 *
 *	struct fa_pgtypes *ty = fa_pgtypes_new(&target, "fa-pg");
 *	fa_pgtypes_load(ty, oids, n, &err);     once per result set: asks the
 *	                                        server only for new OIDs
 *	const struct fa_pgjson_type *t = fa_pgtypes_get(ty, oid);
 *	fa_pgjson_put(out, t, value, len, fa_pgtypes_scratch(ty));
 *	fa_pgtypes_free(ty);
 *
 * The lookup runs on a connection of the cache's own, opened for it and
 * closed after it (blocking), because the caller's connection is busy
 * streaming the rows whose types are wanted.  One query per level of
 * nesting, and only the first result set that has a new type pays it.
 *
 * A cache belongs to one thread (fa-serve and fa-mcp keep one per
 * worker): there is no lock.  Descriptions returned stay valid until
 * fa_pgtypes_free().
 *
 * Altered types: a description is read once per process.  After ALTER
 * TYPE ... ADD/DROP ATTRIBUTE, a value whose field count no longer
 * matches is written whole as a JSON string (never with wrong keys); a
 * renamed or retyped field keeps its old name or type until the process
 * restarts (fa-serve and fa-mcp: restart after a migration that alters
 * types a route returns).  A dropped and re-created type has a new OID
 * and is read afresh.
 */
#ifndef FA_PGTYPES_H
#define FA_PGTYPES_H

#include <libpq-fe.h>

#include "core/err.h"
#include "pg/pgconn.h"
#include "pg/pgjson.h"

struct fa_pgtypes;

/*
 * A cache that connects to target (kept by pointer: it must outlive the
 * cache) as application_name app when it has a type to look up.  target
 * may be NULL: then only built-in types are known.  NULL when out of
 * memory.
 */
struct fa_pgtypes *fa_pgtypes_new(const struct fa_pg_target *target, const char *app);
void fa_pgtypes_free(struct fa_pgtypes *ty);

/*
 * Makes sure each of oids[0..n) is described: looks up those that are
 * neither built in nor already known, with what they contain.  FA_OK
 * when nothing was missing; else the error of the connection or query
 * (the types stay unknown and are asked for again next time, but after
 * a failed connect not for a second: FA_ECONNECT at once meanwhile).
 */
enum fa_err fa_pgtypes_load(struct fa_pgtypes *ty, const unsigned int *oids, int n,
			    struct fa_error *err);

/* The same over a connection the caller has, which must be idle. */
enum fa_err fa_pgtypes_load_conn(struct fa_pgtypes *ty, PGconn *conn, const unsigned int *oids,
				 int n, struct fa_error *err);

/*
 * How to write a value of type oid: the built-in or cached description,
 * else a plain string's.  ty may be NULL (built-in types only).
 */
const struct fa_pgjson_type *fa_pgtypes_get(struct fa_pgtypes *ty, unsigned int oid);

/* True when fa_pgtypes_get(ty, oid) would need a catalog lookup first. */
bool fa_pgtypes_missing(struct fa_pgtypes *ty, unsigned int oid);

/* The scratch buffers for fa_pgjson_put(), the cache's own (one thread). */
struct fa_pgjson_scratch *fa_pgtypes_scratch(struct fa_pgtypes *ty);

#endif
