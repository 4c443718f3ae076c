/*
 * jsonrpc: JSON-RPC 2.0 messages as MCP carries them.  It does no I/O:
 * bytes in, a message out; a message's parts in, bytes appended to a
 * caller's buffer.
 *
 * One message per parse: MCP has had no batches since 2025-06-18, so an
 * array is an invalid request.  Ids are kept exactly as sent (a string or
 * an integer) and echoed as they came.  A request's id must not be null.
 *
 *	struct fa_jr_msg m;
 *	struct fa_error err;
 *	int code = fa_jr_parse(&m, line, len, &err);
 *	if (code)
 *		fa_jr_put_error(&out, m.id, code, err.msg, NULL);   // m.id may be NULL
 *	else if (m.kind == FA_JR_REQUEST)
 *		... fa_jr_put_result(&out, m.id, result) ...
 *	fa_jr_release(&m);
 *
 * Parsing builds a jansson tree (a checked text directly, anything else
 * through json_loadb()); the message owns it until fa_jr_release().
 * Numbers are what jansson makes of them: integers exact within 64 bits,
 * other numbers as doubles (as a JavaScript peer holds them); a message
 * with an integer past 64 bits is read with every integer as a double.
 * The writers append one compact JSON text with no newline (the stdio
 * transport adds it; a JSON text never holds a raw newline).
 */
#ifndef FA_JSONRPC_H
#define FA_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_jr_code {
	FA_JR_PARSE_ERROR = -32700,      /* not JSON */
	FA_JR_INVALID_REQUEST = -32600,  /* JSON, but not a JSON-RPC message */
	FA_JR_METHOD_NOT_FOUND = -32601,
	FA_JR_INVALID_PARAMS = -32602,
	FA_JR_INTERNAL_ERROR = -32603,
	FA_JR_RESOURCE_NOT_FOUND = -32002,       /* MCP: resources/read of an unknown URI */
};

enum fa_jr_kind {
	FA_JR_REQUEST,          /* method and id */
	FA_JR_NOTIFICATION,     /* method, no id */
	FA_JR_RESULT,           /* id and result */
	FA_JR_ERROR,            /* id (maybe null) and error */
};

struct fa_jr_msg {
	enum fa_jr_kind kind;
	json_t *root;           /* owned: the whole message */
	json_t *id;             /* in root; NULL for a notification */
	const char *method;     /* in root; requests and notifications */
	json_t *params;         /* in root; NULL when absent */
	json_t *result;         /* in root; FA_JR_RESULT */
	int code;               /* FA_JR_ERROR: error.code */
	const char *message;    /* FA_JR_ERROR: error.message */
	json_t *data;           /* FA_JR_ERROR: error.data, or NULL */
};

/*
 * Parses the JSON text buf[0..len) into m.  Returns 0, or the code to
 * answer with: FA_JR_PARSE_ERROR when it is not JSON (err names the line
 * and column), FA_JR_INVALID_REQUEST when it is JSON but not a message
 * (err names the field).  m->id is set whenever an id could be read, so
 * the error answer carries it; release m either way.
 */
int fa_jr_parse(struct fa_jr_msg *m, const char *buf, size_t len, struct fa_error *err);

/*
 * A result as fa_jr_scan_result() finds it: its id, where its result's
 * bytes are in the message, and two keys of that result when it is an
 * object (MCP's resultType, and isError true).
 */
struct fa_jr_raw {
	long long id;
	size_t result_off, result_len;
	bool result_object;
	bool has_result_type;
	bool is_error;
};

/*
 * Reads buf[0..len) as {"jsonrpc":"2.0","id":N,"result":R} exactly, keys
 * in that order, N a positive integer of up to 18 digits, R any valid
 * JSON, without building a tree: for passing an answer on with its id
 * changed and nothing else.  True only when every byte is valid JSON that
 * fa_jr_parse() would take the same way (UTF-8 checked, no \u0000 or lone
 * surrogates, nesting under 64); false for anything else, which the
 * caller then parses whole.
 */
bool fa_jr_scan_result(const char *buf, size_t len, struct fa_jr_raw *r);

/* Frees what m owns; m may be released twice. */
void fa_jr_release(struct fa_jr_msg *m);

/* {"jsonrpc":"2.0","id":ID,"result":RESULT}; result NULL writes {}. */
enum fa_err fa_jr_put_result(struct fa_buf *out, const json_t *id, const json_t *result);

/*
 * {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M,"data":D}}; a
 * NULL id is written as null (an error about a message whose id could
 * not be read), a NULL data is left out.
 */
enum fa_err fa_jr_put_error(struct fa_buf *out, const json_t *id, int code,
			    const char *message, const json_t *data);

/* {"jsonrpc":"2.0","id":ID,"method":M,"params":P}; params may be NULL. */
enum fa_err fa_jr_put_request(struct fa_buf *out, const json_t *id, const char *method,
			      const json_t *params);

/* {"jsonrpc":"2.0","method":M,"params":P}; params may be NULL. */
enum fa_err fa_jr_put_notification(struct fa_buf *out, const char *method, const json_t *params);

/*
 * Appends v as compact JSON: keys in their order, strings escaped as
 * core/json does (invalid UTF-8 as \ufffd), a real as the shortest text
 * that reads back as the same double (6.49, not 6.4900000000000002).
 */
enum fa_err fa_jr_put_json(struct fa_buf *out, const json_t *v);

/*
 * The shortest %g text that reads back as d (0.1, not 0.10000000000000001),
 * into out; d finite.  Returns out.
 */
char *fa_jr_shortest(double d, char out[40]);

/* The same, indented by indent spaces a level, for people. */
enum fa_err fa_jr_put_json_pretty(struct fa_buf *out, const json_t *v, int indent);

#endif
