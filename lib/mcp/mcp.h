/*
 * mcp: Model Context Protocol messages for SQL files, without I/O.
 *
 * The versions fa-mcp speaks and how one is chosen, a query of a SQL file
 * as an MCP tool (its JSON Schema from the "-- param:" lines, its
 * annotations from the statement's words), tools/call arguments into the
 * text values the statement binds, and the result of a call from the rows
 * that fmt wrote as JSON.  Transports (stdio, Streamable HTTP) live with
 * the tool; they hand messages here and write what comes back.
 *
 * jansson values returned are new references the caller owns.
 */
#ifndef FA_MCP_H
#define FA_MCP_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"
#include "pg/sqlfile.h"

/* The protocol versions spoken, newest first; NULL-terminated. */
extern const char *const fa_mcp_versions[];

/* The newest version with sessions (initialize), and the stateless one. */
#define FA_MCP_SESSION_VERSION "2025-11-25"
#define FA_MCP_STATELESS_VERSION "2026-07-28"

/* True when v (may be NULL) is one of fa_mcp_versions. */
bool fa_mcp_version_known(const char *v);

/*
 * The version to answer an initialize that asked for asked (may be NULL):
 * asked itself when it is a version with sessions that fa-mcp speaks,
 * else FA_MCP_SESSION_VERSION, as the lifecycle's negotiation says.
 */
const char *fa_mcp_negotiate(const char *asked);

/* The dialect of the input schemas: JSON Schema 2020-12. */
#define FA_MCP_JSON_SCHEMA "https://json-schema.org/draft/2020-12/schema"

/*
 * The Tool object of query q: name, title, description, inputSchema (one
 * property per parameter, required unless it has a default; a json
 * parameter's "-- schema:" in $defs, referred to by $ref),
 * outputSchema, and annotations (readOnlyHint, destructiveHint,
 * idempotentHint, openWorldHint).  NULL when memory runs out.
 */
json_t *fa_mcp_tool(const struct fa_query *q);

/*
 * The arguments object of a tools/call into values[i] for q->params[i]:
 * PostgreSQL's text form (arrays as {...} literals, json as its text),
 * NULL for SQL NULL or an absent optional parameter (values[i] then takes
 * the default).  Each value is checked against its declared type.
 * FA_EINPUT with a message naming the argument ("argument 'id': ...",
 * "missing argument 'id' (int)", "unknown argument 'x'"): the caller
 * answers -32602.  The caller frees each values[i] with free().
 */
enum fa_err fa_mcp_args(const struct fa_query *q, const json_t *args, char **values,
			struct fa_error *err);

/*
 * A JSON value as the text PostgreSQL reads for a parameter of a type the
 * server infers: a string as it is, a number or boolean as written, an
 * array as an array literal ({1,2}, {"a b",NULL}; one with objects in it
 * as its JSON text), an object as its JSON text.  NULL for JSON null (SQL
 * NULL) or when memory runs out; the caller frees the text.
 */
char *fa_mcp_value_text(const json_t *v);

/*
 * Appends the result object of a call whose rows are the JSON text
 * rows[0..len) (an array, as fmt's json writes it): the rows as text
 * content, and as structuredContent {"rows": [...]} (many), the row
 * itself (one), or {"rows": []} with "done" (none).  A "one" call with no
 * row is an error result saying so.
 */
enum fa_err fa_mcp_put_rows(struct fa_buf *out, enum fa_returns returns, const char *rows,
			    size_t len);

/*
 * As fa_mcp_put_rows for many rows, with "truncated" in structuredContent
 * ({"rows": [...], "truncated": false}): whether rows past a limit the
 * caller applied were left out.
 */
enum fa_err fa_mcp_put_rows_truncated(struct fa_buf *out, const char *rows, size_t len,
				      bool truncated);

/*
 * Appends the result object of a call that failed in the database: a
 * tool error (isError) with the message as its text ("ERROR 23505: ...",
 * the SQLSTATE in it).  No structuredContent, which would have to match
 * the outputSchema of rows.  A tool error, not a protocol error: the
 * model reads it and may try again.
 */
enum fa_err fa_mcp_put_tool_error(struct fa_buf *out, const char *message);

/*
 * A value of a row as an MCP content block, by its declared MIME type:
 * image/... an image, audio/... audio (data in base64), a uri given an
 * embedded resource (text, or a blob in base64 for a binary value), else
 * text.  bytea says the value is PostgreSQL's hex text of a bytea
 * (\x0a1b...), to be decoded first; other binary values are taken as
 * base64 already.  NULL when the hex is malformed or memory runs out.
 */
json_t *fa_mcp_block(const char *value, size_t len, bool bytea, const char *mime, const char *uri);

/*
 * A resource's contents entry: {"uri", "mimeType", "text" | "blob"} (blob
 * for a bytea value, in base64).
 */
json_t *fa_mcp_resource_contents(const char *uri, const char *mime, const char *value, size_t len,
				 bool bytea);

/*
 * Matches uri against a resource URI template of query q ("shop://items/{id}")
 * and puts each {part}'s text into values[i] for q->params[i] (malloc'd,
 * percent-decoded).  False when it does not match; FA_EINPUT in err when
 * it matches but a value is not valid for its parameter's type.
 */
bool fa_mcp_uri_match(const struct fa_query *q, const char *uri, char **values, struct fa_error *err);

/*
 * Log levels of notifications/message, RFC 5424's severities from the
 * least severe up: a client that set a level gets that level and above.
 */
enum fa_mcp_level {
	FA_MCP_DEBUG, FA_MCP_INFO, FA_MCP_NOTICE, FA_MCP_WARNING,
	FA_MCP_ERROR, FA_MCP_CRITICAL, FA_MCP_ALERT, FA_MCP_EMERGENCY
};

/* The level called name ("warning"), or -1 when name (may be NULL) is none. */
int fa_mcp_level(const char *name);
const char *fa_mcp_level_name(enum fa_mcp_level level);

/* The level of a PostgreSQL notice by its severity word (NOTICE, WARNING,
   INFO, LOG, DEBUG1..5): DEBUG is debug, LOG and INFO info, and so on. */
enum fa_mcp_level fa_mcp_level_of_pg(const char *severity);

/*
 * Pagination: a list's next page starts at an offset, handed to the
 * client as an opaque cursor and checked when it comes back.
 * fa_mcp_cursor() writes the cursor of offset into out (at least 24
 * bytes); fa_mcp_cursor_offset() reads one back, false when it is not one
 * of ours.
 */
void fa_mcp_cursor(char *out, size_t n, size_t offset);
bool fa_mcp_cursor_offset(const char *cursor, size_t *offset);

/*
 * A notice that reports progress: "progress: DONE[/TOTAL][ MESSAGE]"
 * (numbers, as RAISE NOTICE 'progress: %/%', i, n writes them).  True
 * with its parts when msg is one; *total is -1 without a total, *text
 * NULL without a message (else it points into msg).
 */
bool fa_mcp_progress_notice(const char *msg, double *done, double *total, const char **text);

#endif
