/*
 * pgtext: PostgreSQL values in their text form, checked before a query
 * runs.  It does no I/O.
 *
 * A value that comes from a client (a path segment, a query string, a
 * JSON body) is bound as a parameter of a declared type.  Checking it here
 * first turns a bad value into the client's error that names it ("12x" is
 * not a valid int: a 400), where letting PostgreSQL reject it would be an
 * error of the statement.  The checks follow PostgreSQL 15's input
 * functions (int4in, numeric_in, array_in...), except that dates and
 * times must be ISO 8601, so that the answer does not depend on the
 * server's DateStyle:
 *
 *	enum fa_qtype t;
 *	struct fa_error err;
 *	if (!fa_pgtext_type_parse("int", 3, &t))
 *		...;
 *	if (fa_pgtext_check(t, false, "12x", 3, &err))
 *		puts(err.msg);      // "12x" is not a valid int
 *
 * Nothing is allocated that outlives a call.
 */
#ifndef FA_PGTEXT_H
#define FA_PGTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* The types a value may be declared as; each may also be an array. */
enum fa_qtype {
	FA_QTYPE_TEXT,
	FA_QTYPE_INT,           /* int4 */
	FA_QTYPE_BIGINT,        /* int8 */
	FA_QTYPE_NUMERIC,
	FA_QTYPE_FLOAT,         /* float8 */
	FA_QTYPE_BOOL,
	FA_QTYPE_DATE,
	FA_QTYPE_TIMESTAMPTZ,
	FA_QTYPE_UUID,
	FA_QTYPE_JSON,
	FA_QTYPE_JSONB,
};

/* "int", "timestamptz"... (without "[]"); "?" for a value out of the enum. */
const char *fa_pgtext_type_name(enum fa_qtype type);

/* The type called name[0..n) ("int", not "int[]"); false when none is. */
bool fa_pgtext_type_parse(const char *name, size_t n, enum fa_qtype *type);

/* PostgreSQL's oid for the type, or for its array type: 23, 1007 for int. */
unsigned fa_pgtext_type_oid(enum fa_qtype type, bool array);

/*
 * Checks that value (len bytes; arrays as {...} literals) is valid input
 * for type, or for an array of it.  The value must be UTF-8 without NUL
 * bytes.  FA_EINPUT with a message that quotes the value (cut at 40
 * bytes): "\"12x\" is not a valid int", "\"1e400\" is out of range for
 * float", "array element \"x\" is not a valid int".
 */
enum fa_err fa_pgtext_check(enum fa_qtype type, bool array, const char *value,
			    size_t len, struct fa_error *err);

#endif
