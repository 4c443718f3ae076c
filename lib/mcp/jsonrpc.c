#include "mcp/jsonrpc.h"

#include "core/json.h"

#include <string.h>

static int invalid(struct fa_error *err, const char *why)
{
	fa_error_set(err, FA_EINPUT, "invalid JSON-RPC message: %s", why);
	return FA_JR_INVALID_REQUEST;
}

/* A string, or an integer (JSON-RPC allows numbers; MCP says integers). */
static bool id_ok(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

static int parse_error_object(struct fa_jr_msg *m, json_t *e, struct fa_error *err)
{
	json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message");

	if (!json_is_object(e))
		return invalid(err, "\"error\" must be an object");
	if (!json_is_integer(code))
		return invalid(err, "\"error.code\" must be an integer");
	if (!json_is_string(msg))
		return invalid(err, "\"error.message\" must be a string");
	m->kind = FA_JR_ERROR;
	m->code = (int)json_integer_value(code);
	m->message = json_string_value(msg);
	m->data = json_object_get(e, "data");
	return 0;
}

/* An integral id that became a double (every integer does, past 64 bits) is an integer again. */
static json_t *integer_id(json_t *root, json_t *id)
{
	double d;

	if (!json_is_real(id))
		return id;
	d = json_real_value(id);
	if (d != (double)(json_int_t)d || d > 9.0e18 || d < -9.0e18)
		return id;
	json_object_set_new(root, "id", json_integer((json_int_t)d));
	return json_object_get(root, "id");
}

static int classify(struct fa_jr_msg *m, struct fa_error *err)
{
	json_t *root = m->root, *v = json_object_get(root, "jsonrpc");
	json_t *id = integer_id(root, json_object_get(root, "id"));
	json_t *method = json_object_get(root, "method");
	json_t *result = json_object_get(root, "result"), *error = json_object_get(root, "error");

	if (id && id_ok(id))
		m->id = id;
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0"))
		return invalid(err, "\"jsonrpc\" must be \"2.0\"");
	if (method) {
		if (!json_is_string(method))
			return invalid(err, "\"method\" must be a string");
		if (result || error)
			return invalid(err, "a request has no \"result\" or \"error\"");
		m->method = json_string_value(method);
		m->params = json_object_get(root, "params");
		if (m->params && !json_is_object(m->params))
			return invalid(err, "\"params\" must be an object");
		if (!id) {
			m->kind = FA_JR_NOTIFICATION;
			return 0;
		}
		if (!id_ok(id))
			return invalid(err, "\"id\" must be a string or an integer");
		m->kind = FA_JR_REQUEST;
		return 0;
	}
	if (result && error)
		return invalid(err, "a response has \"result\" or \"error\", not both");
	if (result) {
		if (!id_ok(id))
			return invalid(err, "a result's \"id\" must be a string or an integer");
		m->kind = FA_JR_RESULT;
		m->result = result;
		return 0;
	}
	if (error) {
		if (id && !json_is_null(id) && !id_ok(id))
			return invalid(err, "an error's \"id\" must be a string, an integer or null");
		return parse_error_object(m, error, err);
	}
	return invalid(err, "no \"method\", \"result\" or \"error\"");
}

int fa_jr_parse(struct fa_jr_msg *m, const char *buf, size_t len, struct fa_error *err)
{
	json_error_t je;

	*m = (struct fa_jr_msg){ 0 };
	m->root = json_loadb(buf, len, JSON_DECODE_ANY, &je);
	/* an integer past 64 bits is valid JSON: read it as JavaScript would, a double */
	if (!m->root && strstr(je.text, "too big integer"))
		m->root = json_loadb(buf, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
	if (!m->root) {
		fa_error_set(err, FA_EINPUT, "not JSON: line %d, column %d: %s", je.line, je.column,
			     je.text);
		return FA_JR_PARSE_ERROR;
	}
	if (json_is_array(m->root))
		return invalid(err, "batches (arrays) are not supported");
	if (!json_is_object(m->root))
		return invalid(err, "a message is a JSON object");
	return classify(m, err);
}

void fa_jr_release(struct fa_jr_msg *m)
{
	json_decref(m->root);
	*m = (struct fa_jr_msg){ 0 };
}

static int dump_cb(const char *s, size_t n, void *ctx)
{
	return fa_buf_append(ctx, s, n) == FA_OK ? 0 : -1;
}

enum fa_err fa_jr_put_json(struct fa_buf *out, const json_t *v)
{
	if (json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER))
		return FA_ENOMEM;
	return FA_OK;
}

/* {"jsonrpc":"2.0","id":ID, with id null when absent. */
static enum fa_err put_head(struct fa_buf *out, const json_t *id)
{
	enum fa_err rc = fa_buf_puts(out, "{\"jsonrpc\":\"2.0\",\"id\":");

	if (!rc)
		rc = id ? fa_jr_put_json(out, id) : fa_buf_puts(out, "null");
	return rc;
}

enum fa_err fa_jr_put_result(struct fa_buf *out, const json_t *id, const json_t *result)
{
	enum fa_err rc = put_head(out, id);

	if (!rc)
		rc = fa_buf_puts(out, ",\"result\":");
	if (!rc)
		rc = result ? fa_jr_put_json(out, result) : fa_buf_puts(out, "{}");
	return rc ? rc : fa_buf_putc(out, '}');
}

enum fa_err fa_jr_put_error(struct fa_buf *out, const json_t *id, int code,
			    const char *message, const json_t *data)
{
	const char *m = message ? message : "";
	enum fa_err rc = put_head(out, id);

	/* the message may quote the input, invalid UTF-8 and all: escaped, never refused */
	if (!rc)
		rc = fa_buf_printf(out, ",\"error\":{\"code\":%d,\"message\":", code);
	if (!rc)
		rc = fa_json_put_string(out, m, strlen(m));
	if (!rc && data) {
		rc = fa_buf_puts(out, ",\"data\":");
		if (!rc)
			rc = fa_jr_put_json(out, data);
	}
	return rc ? rc : fa_buf_puts(out, "}}");
}

static enum fa_err put_call(struct fa_buf *out, const json_t *id, const char *method,
			    const json_t *params)
{
	json_t *m = json_string(method);
	enum fa_err rc = m ? FA_OK : FA_ENOMEM;

	if (!rc)
		rc = id ? put_head(out, id) : fa_buf_puts(out, "{\"jsonrpc\":\"2.0\"");
	if (!rc)
		rc = fa_buf_puts(out, ",\"method\":");
	if (!rc)
		rc = fa_jr_put_json(out, m);
	if (!rc && params) {
		rc = fa_buf_puts(out, ",\"params\":");
		if (!rc)
			rc = fa_jr_put_json(out, params);
	}
	json_decref(m);
	return rc ? rc : fa_buf_putc(out, '}');
}

enum fa_err fa_jr_put_request(struct fa_buf *out, const json_t *id, const char *method,
			      const json_t *params)
{
	return put_call(out, id, method, params);
}

enum fa_err fa_jr_put_notification(struct fa_buf *out, const char *method, const json_t *params)
{
	return put_call(out, NULL, method, params);
}
