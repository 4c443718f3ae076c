/*
 * pgjson: PostgreSQL values in their text output form, written as JSON
 * the way PostgreSQL's to_json() writes them.  It does no I/O.
 *
 * A result column of type int[] arrives as the text "{1,2,NULL}"; a
 * column of a composite type as "(1,\"a b\",)".  Given a description of
 * the type (struct fa_pgjson_type: what its elements or fields are, built
 * by lib/pg/pgtypes from the catalog), fa_pgjson_put() parses that text
 * (array_out's and record_out's quoting) and appends [1,2,null] or
 * {"id":1,"name":"a b","note":null}:
 *
 *	struct fa_pgjson_scratch sc;
 *	fa_pgjson_scratch_init(&sc, 0);
 *	fa_pgjson_put(&out, type, "{1,2,NULL}", 10, &sc);    appends [1,2,null]
 *	fa_pgjson_scratch_release(&sc);
 *
 * What to_json does, and so what this does: int2/4/8, float4/8 and
 * numeric are numbers, except NaN and the infinities, which are strings;
 * bool is true/false; json and jsonb go in as they are; timestamp and
 * timestamptz are ISO 8601 with a 'T' and, for timestamptz, a "+HH:MM"
 * offset ("2026-01-02T03:04:05+00:00", read from the server's ISO
 * DateStyle output; other DateStyles pass through as strings); arrays are
 * JSON arrays, nested for more dimensions, without their explicit lower
 * bounds ("[0:1]={1,2}" is [1,2]); composites are objects keyed by field
 * name; everything else is a string of the text output.  Two things
 * to_json does that this cannot: anonymous records (the text has no field
 * names; the caller gives them FA_PGJSON_STRING) and types with a cast to
 * json (hstore), which stay strings.
 *
 * A value whose text does not parse as its type says (a composite that
 * gained a field since its description was read, say) is written whole
 * as a JSON string, as before arrays and records were understood: the
 * output is valid JSON whatever the input.
 */
#ifndef FA_PGJSON_H
#define FA_PGJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_pgjson_kind {
	FA_PGJSON_STRING,
	FA_PGJSON_NUMBER,       /* a number when it is a valid JSON number */
	FA_PGJSON_BOOL,         /* t and f */
	FA_PGJSON_RAW,          /* json, jsonb */
	FA_PGJSON_TIMESTAMP,    /* ' ' becomes 'T' */
	FA_PGJSON_TIMESTAMPTZ,  /* and "+HH" becomes "+HH:MM" */
	FA_PGJSON_ARRAY,        /* elem, delim, vector */
	FA_PGJSON_RECORD,       /* nfields, fields */
};

struct fa_pgjson_type;

struct fa_pgjson_field {
	const char *name;
	const struct fa_pgjson_type *type;
};

/* How to write a value of one type; owned by whoever built it. */
struct fa_pgjson_type {
	unsigned int oid;
	enum fa_pgjson_kind kind;
	char delim;                             /* arrays: ',' (';' for box) */
	bool vector;                            /* int2vector, oidvector: "1 2" */
	const struct fa_pgjson_type *elem;      /* arrays */
	int nfields;                            /* records */
	const struct fa_pgjson_field *fields;
};

/*
 * Nesting of arrays in records in arrays... deeper than this is written
 * as a string; so is an array of more than FA_PGJSON_MAXDIM dimensions.
 */
#define FA_PGJSON_DEPTH 16
#define FA_PGJSON_MAXDIM 32

/*
 * Scratch space for unescaped elements and fields, one buffer per level
 * of nesting, kept between calls so that a row costs no allocation once
 * they have grown.  max caps each buffer (0: no cap but fa_buf's).
 */
struct fa_pgjson_scratch {
	struct fa_buf level[FA_PGJSON_DEPTH];
};

void fa_pgjson_scratch_init(struct fa_pgjson_scratch *sc, size_t max);
void fa_pgjson_scratch_release(struct fa_pgjson_scratch *sc);

/*
 * Appends the value s[0..n) (text output of type t) to out as JSON.
 * FA_ENOMEM when out or a scratch buffer is full (out may then hold part
 * of the value); otherwise FA_OK, even for text that does not parse.
 */
enum fa_err fa_pgjson_put(struct fa_buf *out, const struct fa_pgjson_type *t,
			  const char *s, size_t n, struct fa_pgjson_scratch *sc);

/*
 * The kind to_json gives a built-in scalar type: FA_PGJSON_NUMBER for
 * int2 (21), FA_PGJSON_BOOL for bool (16)...; FA_PGJSON_STRING for any
 * other oid, arrays and composites included.
 */
enum fa_pgjson_kind fa_pgjson_scalar_kind(unsigned int oid);

#endif
