#include "mcp/mcp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "http/h1.h"
#include "mcp/jsonrpc.h"

const char *const fa_mcp_versions[] = {
	FA_MCP_STATELESS_VERSION, FA_MCP_SESSION_VERSION, "2025-06-18", "2025-03-26", "2024-11-05", NULL
};

bool fa_mcp_version_known(const char *v)
{
	for (int i = 0; v && fa_mcp_versions[i]; i++)
		if (!strcmp(v, fa_mcp_versions[i]))
			return true;
	return false;
}

const char *fa_mcp_negotiate(const char *asked)
{
	if (fa_mcp_version_known(asked) && strcmp(asked, FA_MCP_STATELESS_VERSION))
		return asked;
	return FA_MCP_SESSION_VERSION;
}

/* ---- tools ---- */

/* The JSON Schema of one value of type t (not an array). */
static json_t *scalar_schema(enum fa_qtype t)
{
	switch (t) {
	case FA_QTYPE_INT:
	case FA_QTYPE_BIGINT:
		return json_pack("{s:s}", "type", "integer");
	case FA_QTYPE_NUMERIC:
		/* a string keeps every digit that a JSON number would round */
		return json_pack("{s:[s,s]}", "type", "number", "string");
	case FA_QTYPE_FLOAT:
		return json_pack("{s:s}", "type", "number");
	case FA_QTYPE_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case FA_QTYPE_DATE:
		return json_pack("{s:s,s:s}", "type", "string", "format", "date");
	case FA_QTYPE_TIMESTAMPTZ:
		return json_pack("{s:s,s:s}", "type", "string", "format", "date-time");
	case FA_QTYPE_UUID:
		return json_pack("{s:s,s:s}", "type", "string", "format", "uuid");
	case FA_QTYPE_JSON:
	case FA_QTYPE_JSONB:
		return json_object();           /* any JSON value */
	case FA_QTYPE_TEXT:
	default:
		return json_pack("{s:s}", "type", "string");
	}
}

/* A scalar default's text as JSON: a number or boolean when the type allows. */
static json_t *scalar_default(enum fa_qtype t, const char *s, size_t n)
{
	json_t *v;

	if (t != FA_QTYPE_TEXT && t != FA_QTYPE_NUMERIC && (v = json_loadb(s, n, JSON_DECODE_ANY, NULL))) {
		if (json_is_number(v) || json_is_boolean(v))
			return v;
		json_decref(v);
	}
	return json_stringn(s, n);
}

/* An array literal's default ({1,2}, {"a b",c}) as a JSON array. */
static json_t *array_default(enum fa_qtype t, const char *s)
{
	json_t *a = json_array();
	size_t n = strlen(s);

	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return a;
	for (const char *e = s + 1, *end = s + n - 1; e < end; ) {
		size_t k = strcspn(e, ",}");

		if (k >= 2 && e[0] == '"' && e[k - 1] == '"')
			json_array_append_new(a, json_stringn(e + 1, k - 2));
		else if (k == 4 && !strncasecmp(e, "null", 4))
			json_array_append_new(a, json_null());
		else if (k)
			json_array_append_new(a, scalar_default(t, e, k));
		e += k + 1;
	}
	return a;
}

/* The default as JSON, of the schema's type. */
static json_t *default_json(const struct fa_qparam *p)
{
	json_t *v;

	if (!p->def)
		return json_null();
	if (p->array)
		return array_default(p->type, p->def);
	if (!p->array && p->type != FA_QTYPE_TEXT && p->type != FA_QTYPE_NUMERIC &&
	    (v = json_loads(p->def, JSON_DECODE_ANY, NULL))) {
		if (json_is_number(v) || json_is_boolean(v))
			return v;
		json_decref(v);
	}
	return json_string(p->def);
}

static json_t *param_schema(const struct fa_qparam *p)
{
	json_t *s = scalar_schema(p->type);

	if (s && p->array)
		s = json_pack("{s:s,s:o}", "type", "array", "items", s);
	if (!s)
		return NULL;
	if (p->description && p->description[0])
		json_object_set_new(s, "description", json_string(p->description));
	if (p->optional)
		json_object_set_new(s, "default", default_json(p));
	return s;
}

static json_t *output_schema(enum fa_returns r)
{
	if (r == FA_RETURNS_ONE)
		return json_pack("{s:s}", "type", "object");
	return json_pack("{s:s,s:{s:{s:s,s:{s:s}}},s:[s]}", "type", "object", "properties", "rows",
			 "type", "array", "items", "type", "object", "required", "rows");
}

/*
 * A parameter's declared schema ("-- schema:") goes in $defs under its
 * name, and the property refers to it, keeping its description and
 * default beside the $ref.
 */
static json_t *defined_schema(const struct fa_qparam *p, json_t *defs)
{
	json_t *def = json_loads(p->schema, 0, NULL), *s;
	char ref[300];

	if (!def)
		return param_schema(p);
	json_object_set_new(defs, p->name, def);
	snprintf(ref, sizeof(ref), "#/$defs/%s", p->name);
	s = json_pack("{s:s}", "$ref", ref);
	if (p->description && p->description[0])
		json_object_set_new(s, "description", json_string(p->description));
	if (p->optional)
		json_object_set_new(s, "default", default_json(p));
	return s;
}

json_t *fa_mcp_tool(const struct fa_query *q)
{
	json_t *props = json_object(), *req = json_array(), *defs = json_object(), *tool;

	for (int i = 0; props && req && i < q->nparams; i++) {
		const struct fa_qparam *p = &q->params[i];

		json_object_set_new(props, p->name, p->schema && !p->array ? defined_schema(p, defs) :
				    param_schema(p));
		if (!p->optional)
			json_array_append_new(req, json_string(p->name));
	}
	tool = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o,s:b}}", "name", q->name,
			 "description", q->tool && q->tool[0] ? q->tool : q->description,
			 "inputSchema", "$schema", FA_MCP_JSON_SCHEMA, "type", "object",
			 "properties", props, "required", req, "additionalProperties", 0);
	if (tool && json_object_size(defs))
		json_object_set(json_object_get(tool, "inputSchema"), "$defs", defs);
	json_decref(defs);
	if (!tool)
		return NULL;
	if (!q->ncontent)       /* content blocks have no structured result */
		json_object_set_new(tool, "outputSchema", output_schema(q->returns));
	json_object_set_new(tool, "annotations",
			    json_pack("{s:b,s:b,s:b,s:b}", "readOnlyHint", q->read_only,
				      "destructiveHint", q->destructive,
				      "idempotentHint", q->read_only, "openWorldHint", 0));
	return tool;
}

/* ---- arguments ---- */

/* One element of an array literal, quoted as array_in reads it. */
static enum fa_err put_element(struct fa_buf *b, const char *s)
{
	enum fa_err rc = fa_buf_putc(b, '"');

	for (; !rc && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = fa_buf_putc(b, '\\');
		if (!rc)
			rc = fa_buf_putc(b, *s);
	}
	return rc ? rc : fa_buf_putc(b, '"');
}

static char *scalar_text(const json_t *v, bool as_json);

/* A JSON array as a PostgreSQL array literal: {1,2}, {"a b",NULL}, {{1},{2}}. */
static enum fa_err put_array(struct fa_buf *b, const json_t *a, bool as_json, const char *name,
			     struct fa_error *err)
{
	size_t i;
	json_t *v;
	enum fa_err rc = fa_buf_putc(b, '{');

	json_array_foreach(a, i, v) {
		char *s;

		if (!rc && i)
			rc = fa_buf_putc(b, ',');
		if (rc)
			return rc;
		if (json_is_array(v) && !as_json) {
			rc = put_array(b, v, as_json, name, err);
			continue;
		}
		if (json_is_null(v)) {
			rc = fa_buf_puts(b, "NULL");
			continue;
		}
		if (!(s = scalar_text(v, as_json)))
			return fa_error_set(err, FA_EINPUT, "argument '%s': element %zu is an object", name, i);
		rc = put_element(b, s);
		free(s);
	}
	return rc ? rc : fa_buf_putc(b, '}');
}

/*
 * A real as the shortest text that reads back as the same double: what
 * the client (JavaScript's JSON.stringify, say) wrote for it, so 0.1
 * stays 0.1.  Digits past a double's precision were lost when the
 * message was read; a numeric argument that needs them goes as a string.
 */
static char *real_text(double d)
{
	char buf[40];

	return strdup(fa_jr_shortest(d, buf));
}

/* A scalar's text: strings as they are, numbers and booleans as written. */
static char *scalar_text(const json_t *v, bool as_json)
{
	if (as_json)
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_real(v))
		return real_text(json_real_value(v));
	if (json_is_number(v) || json_is_boolean(v))
		return json_dumps(v, JSON_ENCODE_ANY);
	return NULL;
}

char *fa_mcp_value_text(const json_t *v)
{
	struct fa_buf b;

	if (json_is_array(v)) {
		fa_buf_init(&b, 0);
		if (put_array(&b, v, false, "params", NULL)) {
			fa_buf_release(&b);
			return json_dumps(v, JSON_COMPACT);
		}
		return fa_buf_detach(&b, NULL);
	}
	return scalar_text(v, json_is_object(v));
}

/* One argument into the text PostgreSQL reads; NULL with err on failure. */
static char *arg_text(const struct fa_qparam *p, const json_t *v, struct fa_error *err)
{
	bool as_json = p->type == FA_QTYPE_JSON || p->type == FA_QTYPE_JSONB;
	struct fa_buf b;
	char *s;

	if (p->array) {
		if (!json_is_array(v)) {
			fa_error_set(err, FA_EINPUT, "argument '%s': want an array", p->name);
			return NULL;
		}
		fa_buf_init(&b, 0);
		if (put_array(&b, v, as_json, p->name, err)) {
			if (!err->msg[0])
				fa_error_set(err, FA_ENOMEM, "out of memory");
			fa_buf_release(&b);
			return NULL;
		}
		return fa_buf_detach(&b, NULL);
	}
	/* JSON Schema's integer takes 1e3 and 1000.0 as well as 1000 */
	if (json_is_real(v) && (p->type == FA_QTYPE_INT || p->type == FA_QTYPE_BIGINT) &&
	    json_real_value(v) == (double)(long long)json_real_value(v)) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)json_real_value(v));
		return strdup(buf);
	}
	if (!(s = scalar_text(v, as_json)))
		fa_error_set(err, FA_EINPUT, "argument '%s': want %s, not %s", p->name,
			     fa_pgtext_type_name(p->type), json_is_array(v) ? "an array" : "an object");
	return s;
}

enum fa_err fa_mcp_args(const struct fa_query *q, const json_t *args, char **values,
			struct fa_error *err)
{
	const char *key;
	json_t *v;

	fa_error_clear(err);
	if (args && !json_is_object(args))
		return fa_error_set(err, FA_EINPUT, "\"arguments\" must be an object");
	json_object_foreach((json_t *)args, key, v) {
		bool known = false;

		for (int i = 0; i < q->nparams && !known; i++)
			known = !strcmp(q->params[i].name, key);
		if (!known)
			return fa_error_set(err, FA_EINPUT, "unknown argument '%s'", key);
	}
	for (int i = 0; i < q->nparams; i++) {
		const struct fa_qparam *p = &q->params[i];

		v = args ? json_object_get(args, p->name) : NULL;
		if (!v || json_is_null(v)) {
			if (!p->optional && !v)
				return fa_error_set(err, FA_EINPUT, "missing argument '%s' (%s%s)", p->name,
						    fa_pgtext_type_name(p->type), p->array ? "[]" : "");
			if (!p->optional)
				return fa_error_set(err, FA_EINPUT, "argument '%s' may not be null", p->name);
			if (!v && p->def && !(values[i] = strdup(p->def)))
				return fa_error_set(err, FA_ENOMEM, "out of memory");
			continue;
		}
		if (!(values[i] = arg_text(p, v, err)))
			return err->code ? err->code : fa_error_set(err, FA_ENOMEM, "out of memory");
		if (fa_qparam_check(p, values[i], strlen(values[i]), err))
			return FA_EINPUT;
	}
	return FA_OK;
}

/* ---- results ---- */

/*
 * Appends JSON text as one line: fmt separates rows with newlines, and a
 * raw newline can only be white space (inside strings it is escaped), so
 * dropping them keeps the value and the stdio framing.
 */
static enum fa_err put_one_line(struct fa_buf *out, const char *s, size_t n)
{
	enum fa_err rc = FA_OK;

	while (n && !rc) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) : n;

		rc = fa_buf_append(out, s, k);
		k += nl != NULL;
		s += k;
		n -= k;
	}
	return rc;
}

/* The first element of a JSON array text, without its brackets; 0 when empty. */
static size_t first_row(const char *rows, size_t len, const char **row)
{
	size_t a = 0, b = len;

	while (a < b && rows[a] != '[')
		a++;
	while (b > a && rows[b - 1] != ']')
		b--;
	if (b <= a + 1)
		return 0;
	a++;
	b--;
	while (a < b && strchr(" \n\r\t", rows[a]))
		a++;
	while (b > a && strchr(" \n\r\t", rows[b - 1]))
		b--;
	*row = rows + a;
	return b - a;
}

/* Rows as text and as structuredContent {"rows": [...], then tail (its end). */
static enum fa_err put_many(struct fa_buf *out, const char *rows, size_t len, const char *tail)
{
	enum fa_err rc;

	if (!len)
		rows = "[]", len = 2;
	rc = fa_buf_puts(out, "{\"content\":[{\"type\":\"text\",\"text\":");
	if (!rc)
		rc = fa_json_put_string(out, rows, len);
	if (!rc)
		rc = fa_buf_puts(out, "}],\"structuredContent\":{\"rows\":");
	if (!rc)
		rc = put_one_line(out, rows, len);
	if (!rc)
		rc = fa_buf_puts(out, tail);
	return rc ? rc : fa_buf_puts(out, ",\"isError\":false}");
}

enum fa_err fa_mcp_put_rows(struct fa_buf *out, enum fa_returns returns, const char *rows,
			    size_t len)
{
	const char *row = NULL;
	size_t n;
	enum fa_err rc;

	while (len && strchr(" \n\r\t", rows[len - 1]))
		len--;
	if (returns == FA_RETURNS_ONE) {
		if (!(n = first_row(rows, len, &row)))
			return fa_mcp_put_tool_error(out, "not found: the query returned no row");
		rc = fa_buf_puts(out, "{\"content\":[{\"type\":\"text\",\"text\":");
		if (!rc)
			rc = fa_json_put_string(out, row, n);
		if (!rc)
			rc = fa_buf_puts(out, "}],\"structuredContent\":");
		if (!rc)
			rc = put_one_line(out, row, n);
		return rc ? rc : fa_buf_puts(out, ",\"isError\":false}");
	}
	return put_many(out, rows, len, "}");
}

enum fa_err fa_mcp_put_rows_truncated(struct fa_buf *out, const char *rows, size_t len,
				      bool truncated)
{
	while (len && strchr(" \n\r\t", rows[len - 1]))
		len--;
	return put_many(out, rows, len, truncated ? ",\"truncated\":true}" : ",\"truncated\":false}");
}

enum fa_err fa_mcp_put_tool_error(struct fa_buf *out, const char *message)
{
	const char *m = message ? message : "the statement failed";
	enum fa_err rc = fa_buf_puts(out, "{\"content\":[{\"type\":\"text\",\"text\":");

	if (!rc)
		rc = fa_json_put_string(out, m, strlen(m));
	return rc ? rc : fa_buf_puts(out, "}],\"isError\":true}");
}

/* ---- content blocks, resources ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* n bytes as base64 (RFC 4648), NUL-terminated; NULL when memory runs out. */
static char *base64(const unsigned char *p, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* PostgreSQL's \x hex text of a bytea as base64; NULL when malformed. */
static char *bytea_base64(const char *v, size_t len)
{
	unsigned char *raw;
	char *out;
	size_t n;

	if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2)
		return NULL;
	n = (len - 2) / 2;
	if (!(raw = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			free(raw);
			return NULL;
		}
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	out = base64(raw, n);
	free(raw);
	return out;
}

/* The value as base64: decoded from bytea hex, or taken as base64 already. */
static char *as_base64(const char *value, size_t len, bool bytea)
{
	return bytea ? bytea_base64(value, len) : strndup(value, len);
}

static bool is_text_mime(const char *mime)
{
	return !strncmp(mime, "text/", 5) || !strcmp(mime, "application/json") ||
	       !strcmp(mime, "application/xml");
}

json_t *fa_mcp_resource_contents(const char *uri, const char *mime, const char *value, size_t len,
				 bool bytea)
{
	json_t *r;
	char *data;

	if (!bytea && is_text_mime(mime))
		return json_pack("{s:s,s:s,s:s%}", "uri", uri, "mimeType", mime, "text", value, len);
	if (!(data = as_base64(value, len, bytea)))
		return NULL;
	r = json_pack("{s:s,s:s,s:s}", "uri", uri, "mimeType", mime, "blob", data);
	free(data);
	return r;
}

json_t *fa_mcp_block(const char *value, size_t len, bool bytea, const char *mime, const char *uri)
{
	const char *type = !strncmp(mime, "image/", 6) ? "image" : !strncmp(mime, "audio/", 6) ? "audio" : NULL;
	json_t *b;
	char *data;

	if (uri) {
		json_t *res = fa_mcp_resource_contents(uri, mime, value, len, bytea);

		return res ? json_pack("{s:s,s:o}", "type", "resource", "resource", res) : NULL;
	}
	if (!type)
		return json_pack("{s:s,s:s%}", "type", "text", "text", value, len);
	if (!(data = as_base64(value, len, bytea)))
		return NULL;
	b = json_pack("{s:s,s:s,s:s}", "type", type, "data", data, "mimeType", mime);
	free(data);
	return b;
}

/* A URI part with its %XX escapes decoded (malloc'd); NULL with err when one is malformed. */
static char *pct_decoded(const char *s, size_t n, struct fa_error *err)
{
	char *out = malloc(n + 1);
	size_t len;

	if (!out) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	if (fa_h1_pct_decode(out, &len, s, n, false, err)) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

bool fa_mcp_uri_match(const struct fa_query *q, const char *uri, char **values, struct fa_error *err)
{
	const char *t = q->resource, *u = uri;

	fa_error_clear(err);
	while (*t) {
		const char *open = strchr(t, '{');
		size_t lit = open ? (size_t)(open - t) : strlen(t), vlen, n;
		const char *next;
		int i;

		if (strncmp(t, u, lit))
			return false;
		t += lit;
		u += lit;
		if (!open)
			return *u == '\0';
		n = strcspn(t + 1, "}");
		next = t + 1 + n + 1;
		/* a part runs to the next literal character, never over a '/' */
		vlen = *next ? strcspn(u, (char[]){ *next, '/', '\0' }) : strcspn(u, "/");
		for (i = 0; i < q->nparams; i++)
			if (strlen(q->params[i].name) == n && !strncmp(q->params[i].name, t + 1, n))
				break;
		if (i == q->nparams || !vlen)
			return false;
		free(values[i]);
		if (!(values[i] = pct_decoded(u, vlen, err)))
			return err->code != FA_ENOMEM;  /* a bad escape: matches, with a bad value */
		if (fa_qparam_check(&q->params[i], values[i], strlen(values[i]), err))
			return true;    /* it matches, with a bad value: the caller says so */
		t = next;
		u += vlen;
	}
	return *u == '\0';
}

/* ---- log levels, cursors, progress ---- */

static const char *const level_names[] = {
	"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
};

int fa_mcp_level(const char *name)
{
	for (int i = 0; name && i < 8; i++)
		if (!strcmp(name, level_names[i]))
			return i;
	return -1;
}

const char *fa_mcp_level_name(enum fa_mcp_level level)
{
	return level_names[(unsigned)level < 8 ? level : FA_MCP_INFO];
}

enum fa_mcp_level fa_mcp_level_of_pg(const char *severity)
{
	if (!severity)
		return FA_MCP_NOTICE;
	if (!strncmp(severity, "DEBUG", 5))
		return FA_MCP_DEBUG;
	if (!strcmp(severity, "LOG") || !strcmp(severity, "INFO"))
		return FA_MCP_INFO;
	if (!strcmp(severity, "WARNING"))
		return FA_MCP_WARNING;
	if (!strcmp(severity, "ERROR"))
		return FA_MCP_ERROR;
	if (!strcmp(severity, "FATAL"))
		return FA_MCP_CRITICAL;
	if (!strcmp(severity, "PANIC"))
		return FA_MCP_EMERGENCY;
	return FA_MCP_NOTICE;
}

#define CURSOR_PREFIX "fa1."

void fa_mcp_cursor(char *out, size_t n, size_t offset)
{
	snprintf(out, n, CURSOR_PREFIX "%zu", offset);
}

bool fa_mcp_cursor_offset(const char *cursor, size_t *offset)
{
	const char *p = cursor;
	size_t v = 0;

	if (!p || strncmp(p, CURSOR_PREFIX, 4))
		return false;
	p += 4;
	if (*p < '0' || *p > '9' || (*p == '0' && p[1]))
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (*p)
		return false;
	*offset = v;
	return true;
}

/* A number at *p (digits with an optional fraction), moving *p past it. */
static bool number_at(const char **p, double *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	*v = strtod(*p, &end);
	*p = end;
	return true;
}

bool fa_mcp_progress_notice(const char *msg, double *done, double *total, const char **text)
{
	const char *p = msg;

	if (!p || strncmp(p, "progress:", 9))
		return false;
	p += 9;
	while (*p == ' ')
		p++;
	if (!number_at(&p, done))
		return false;
	*total = -1;
	if (*p == '/' && (p++, !number_at(&p, total)))
		return false;
	if (*p && *p != ' ')
		return false;
	while (*p == ' ')
		p++;
	*text = *p ? p : NULL;
	return true;
}
