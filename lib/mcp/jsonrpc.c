#include "mcp/jsonrpc.h"

#include "core/json.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *fast_tree(const char *buf, size_t len);

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
	m->root = fast_tree(buf, len);
	if (!m->root)
		m->root = json_loadb(buf, len, JSON_DECODE_ANY, &je);
	/* an integer past 64 bits is valid JSON: read it as JavaScript would, a double */
	if (!m->root && json_error_code(&je) == json_error_numeric_overflow)
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

char *fa_jr_shortest(double d, char out[40])
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	return out;
}

/* A double as the shortest text that reads back as it (jansson writes 17 digits). */
static enum fa_err put_real(struct fa_buf *out, double d)
{
	char buf[40];

	if (d != d || d - d != 0)
		return fa_buf_puts(out, "null");        /* NaN and infinities are not JSON */
	fa_jr_shortest(d, buf);
	/* still a JSON number that reads back as a real: 1 would be an integer */
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return fa_buf_puts(out, buf);
}

static enum fa_err put_value(struct fa_buf *out, const json_t *v, int indent, int depth);

static enum fa_err put_newline(struct fa_buf *out, int indent, int depth)
{
	enum fa_err rc = indent ? fa_buf_putc(out, '\n') : FA_OK;

	for (int i = 0; !rc && i < indent * depth; i++)
		rc = fa_buf_putc(out, ' ');
	return rc;
}

static enum fa_err put_container(struct fa_buf *out, const json_t *v, int indent, int depth)
{
	bool obj = json_is_object(v);
	size_t n = obj ? json_object_size(v) : json_array_size(v), i = 0;
	enum fa_err rc = fa_buf_putc(out, obj ? '{' : '[');
	const char *key;
	json_t *x;

	if (obj) {
		json_object_foreach((json_t *)v, key, x) {
			if (!rc && i++)
				rc = fa_buf_putc(out, ',');
			if (!rc)
				rc = put_newline(out, indent, depth + 1);
			if (!rc)
				rc = fa_json_put_string(out, key, strlen(key));
			if (!rc)
				rc = fa_buf_puts(out, indent ? ": " : ":");
			if (!rc)
				rc = put_value(out, x, indent, depth + 1);
		}
	} else {
		json_array_foreach(v, i, x) {
			if (!rc && i)
				rc = fa_buf_putc(out, ',');
			if (!rc)
				rc = put_newline(out, indent, depth + 1);
			if (!rc)
				rc = put_value(out, x, indent, depth + 1);
		}
	}
	if (!rc && n)
		rc = put_newline(out, indent, depth);
	return rc ? rc : fa_buf_putc(out, obj ? '}' : ']');
}

/* i in decimal, without printf: every id and count of every message goes through here. */
static enum fa_err put_integer(struct fa_buf *out, json_int_t i)
{
	char d[24], *p = d + sizeof(d);
	unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (i < 0)
		*--p = '-';
	return fa_buf_append(out, p, (size_t)(d + sizeof(d) - p));
}

static enum fa_err put_value(struct fa_buf *out, const json_t *v, int indent, int depth)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return put_container(out, v, indent, depth);
	case JSON_STRING:
		return fa_json_put_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return put_integer(out, json_integer_value(v));
	case JSON_REAL:
		return put_real(out, json_real_value(v));
	case JSON_TRUE:
		return fa_buf_puts(out, "true");
	case JSON_FALSE:
		return fa_buf_puts(out, "false");
	default:
		return fa_buf_puts(out, "null");
	}
}

enum fa_err fa_jr_put_json(struct fa_buf *out, const json_t *v)
{
	return put_value(out, v, 0, 0);
}

enum fa_err fa_jr_put_json_pretty(struct fa_buf *out, const json_t *v, int indent)
{
	return put_value(out, v, indent, 0);
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

/* ---- fa_jr_scan_result: a result's parts without a tree ---- */

#define SCAN_DEPTH 64

struct scan {
	const char *p, *end;
};

static void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool scan_byte(struct scan *s, char c)
{
	scan_ws(s);
	if (s->p >= s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* A string at s->p (its opening quote); a surrogate escape or \u0000 is left to jansson. */
static bool scan_string(struct scan *s)
{
	s->p++;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;
		unsigned int cp;
		int k;

		if (c == '"') {
			s->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (s->end - s->p < 2)
				return false;
			c = (unsigned char)s->p[1];
			if (c == 'u') {
				if (s->end - s->p < 6 || (k = hex4(s->p + 2)) <= 0 || (k >= 0xd800 && k <= 0xdfff))
					return false;
				s->p += 6;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				s->p += 2;
			} else {
				return false;
			}
		} else if (c >= 0x80) {
			if (!(k = fa_json_utf8_decode(s->p, (size_t)(s->end - s->p), &cp)))
				return false;
			s->p += k;
		} else {
			s->p++;
		}
	}
	return false;
}

static bool scan_digits(struct scan *s)
{
	const char *from = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from;
}

/* A number, strictly as RFC 8259 has it. */
static bool scan_number(struct scan *s)
{
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!scan_digits(s))
		return false;
	if (s->p < s->end && *s->p == '.' && (s->p++, !scan_digits(s)))
		return false;
	if (s->p < s->end && (*s->p | 0x20) == 'e') {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!scan_digits(s))
			return false;
	}
	return true;
}

static bool scan_word(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return false;
	s->p += n;
	return true;
}

static bool scan_value(struct scan *s, int depth, struct fa_jr_raw *r);

/* An object's or an array's members up to its closing byte; r: note the keys of a result. */
static bool scan_members(struct scan *s, bool object, int depth, struct fa_jr_raw *r)
{
	char close = object ? '}' : ']';

	s->p++;
	scan_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return true;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen = 0;

		scan_ws(s);
		if (object) {
			if (s->p >= s->end || *s->p != '"')
				return false;
			key = s->p;
			if (!scan_string(s))
				return false;
			klen = (size_t)(s->p - key);
			if (!scan_byte(s, ':'))
				return false;
		}
		scan_ws(s);
		if (r && key) {
			/* a result's own keys, which the caller looks at: escapes in them go the long way */
			if (memchr(key, '\\', klen))
				return false;
			if (klen == 12 && !memcmp(key, "\"resultType\"", 12))
				r->has_result_type = true;
			if (klen == 9 && !memcmp(key, "\"isError\"", 9))
				r->is_error = scan_word(&(struct scan){ s->p, s->end }, "true", 4);
		}
		if (!scan_value(s, depth + 1, NULL))
			return false;
		scan_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		return scan_byte(s, close);
	}
}

static bool scan_value(struct scan *s, int depth, struct fa_jr_raw *r)
{
	scan_ws(s);
	if (s->p >= s->end || depth >= SCAN_DEPTH)
		return false;
	switch (*s->p) {
	case '{':
		if (r)
			r->result_object = true;
		return scan_members(s, true, depth, r);
	case '[':
		return scan_members(s, false, depth, NULL);
	case '"':
		return scan_string(s);
	case 't':
		return scan_word(s, "true", 4);
	case 'f':
		return scan_word(s, "false", 5);
	case 'n':
		return scan_word(s, "null", 4);
	default:
		return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && scan_number(s);
	}
}

static bool scan_key(struct scan *s, const char *key)
{
	size_t n = strlen(key);

	scan_ws(s);
	return scan_word(s, key, n) && scan_byte(s, ':');
}

bool fa_jr_scan_result(const char *buf, size_t len, struct fa_jr_raw *r)
{
	struct scan s = { buf, buf + len };
	const char *from;

	*r = (struct fa_jr_raw){ 0 };
	if (!scan_byte(&s, '{') || !scan_key(&s, "\"jsonrpc\"") || (scan_ws(&s), !scan_word(&s, "\"2.0\"", 5)) ||
	    !scan_byte(&s, ',') || !scan_key(&s, "\"id\""))
		return false;
	scan_ws(&s);
	for (from = s.p; s.p < s.end && *s.p >= '0' && *s.p <= '9'; s.p++)
		r->id = r->id * 10 + (*s.p - '0');
	if (s.p == from || s.p - from > 18 || *from == '0' || !scan_byte(&s, ',') || !scan_key(&s, "\"result\""))
		return false;
	scan_ws(&s);
	from = s.p;
	if (!scan_value(&s, 1, r))
		return false;
	r->result_off = (size_t)(from - buf);
	r->result_len = (size_t)(s.p - from);
	if (!scan_byte(&s, '}'))
		return false;
	scan_ws(&s);
	return s.p == s.end;
}

/* ---- fa_jr_parse's fast path: the tree built from bytes scan_value() passed ---- */

/*
 * jansson's reader takes about 6 us for a 250-byte tools/call, most of it
 * in its lexer; building the same tree from a checked text takes 1.5 us.
 * So a text scan_value() accepts (every byte valid as jansson would take
 * it) is built here, and anything else (a \u escape of a surrogate, an
 * integer past 64 bits, a real out of range, nesting past SCAN_DEPTH, or
 * any error at all) goes to jansson, which then answers exactly as before.
 */

/* Reals are read in the C locale whatever setlocale() chose: JSON's point is '.'. */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void c_numeric_init(void)
{
	c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Writes c as UTF-8 at out; returns the bytes written. */
static size_t put_utf8(char *out, unsigned int c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | c >> 12);
	out[1] = (char)(0x80 | (c >> 6 & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

/*
 * The string at s->p (its quote, already checked) decoded into tmp, NUL
 * ended; its length in *n.  Without escapes it is used where it lies
 * (not NUL ended) and tmp is not touched.
 */
static const char *build_string(struct scan *s, struct fa_buf *tmp, size_t *n)
{
	const char *from = ++s->p, *q = memchr(from, '"', (size_t)(s->end - from));
	const char *esc = memchr(from, '\\', (size_t)(q - from));

	if (!esc) {
		s->p = q + 1;
		*n = (size_t)(q - from);
		return from;
	}
	fa_buf_reset(tmp);
	while (*s->p != '"') {
		char u[4];
		const char *run = s->p;

		while (*s->p != '"' && *s->p != '\\')
			s->p++;
		if (fa_buf_append(tmp, run, (size_t)(s->p - run)))
			return NULL;
		if (*s->p == '"')
			break;
		switch (s->p[1]) {
		case 'b': u[0] = '\b'; break;
		case 'f': u[0] = '\f'; break;
		case 'n': u[0] = '\n'; break;
		case 'r': u[0] = '\r'; break;
		case 't': u[0] = '\t'; break;
		case 'u': break;
		default: u[0] = s->p[1]; break;         /* " \ / */
		}
		if (s->p[1] == 'u') {
			if (fa_buf_append(tmp, u, put_utf8(u, (unsigned int)hex4(s->p + 2))))
				return NULL;
			s->p += 6;
		} else {
			if (fa_buf_putc(tmp, u[0]))
				return NULL;
			s->p += 2;
		}
	}
	s->p++;
	*n = tmp->len;
	return tmp->data;       /* a buf's data is NUL ended */
}

static json_t *build_number(struct scan *s)
{
	const char *from = s->p;
	bool real = false;
	long long v = 0;
	double d;
	char *end;

	scan_number(s);
	for (const char *p = from; p < s->p; p++)
		if (*p == '.' || *p == 'e' || *p == 'E')
			real = true;
	if (!real) {
		/* exact, or past 64 bits: then jansson reads every integer as a double */
		for (const char *p = from + (*from == '-'); p < s->p; p++) {
			int digit = *p - '0';

			if (*from == '-' ? v < (LLONG_MIN + digit) / 10 : v > (LLONG_MAX - digit) / 10)
				return NULL;
			v = v * 10 + (*from == '-' ? -digit : digit);
		}
		return json_integer(v);
	}
	pthread_once(&c_numeric_once, c_numeric_init);
	if (!c_numeric)
		return NULL;
	errno = 0;
	d = strtod_l(from, &end, c_numeric);
	if (errno == ERANGE || end != s->p)
		return NULL;
	return json_real(d);
}

static json_t *build_value(struct scan *s, struct fa_buf *tmp);

static json_t *build_members(struct scan *s, bool object, struct fa_buf *tmp)
{
	json_t *c = object ? json_object() : json_array(), *v;
	char close = object ? '}' : ']';

	s->p++;
	scan_ws(s);
	if (*s->p == close) {
		s->p++;
		return c;
	}
	while (c) {
		char kbuf[64];
		const char *key = NULL;
		size_t klen;
		bool bad;

		scan_ws(s);
		if (object) {
			if (!(key = build_string(s, tmp, &klen)))
				goto fail;
			/* the key must outlive the value's own strings in tmp */
			if (klen < sizeof(kbuf)) {
				memcpy(kbuf, key, klen);
				kbuf[klen] = '\0';
				key = kbuf;
			} else if (!(key = strndup(key, klen))) {
				goto fail;
			}
			scan_byte(s, ':');
			scan_ws(s);
		}
		v = build_value(s, tmp);
		bad = !v || (object ? json_object_set_new_nocheck(c, key, v) : json_array_append_new(c, v));
		if (key != kbuf)
			free((char *)key);      /* strndup'ed, or NULL */
		if (bad)
			goto fail;
		scan_ws(s);
		if (*s->p == ',') {
			s->p++;
			continue;
		}
		s->p++;
		return c;
	}
	return NULL;
fail:
	json_decref(c);
	return NULL;
}

/* A value at s->p of a text scan_value() accepted: no checks but what jansson would refuse. */
static json_t *build_value(struct scan *s, struct fa_buf *tmp)
{
	const char *str;
	size_t n;

	scan_ws(s);
	switch (*s->p) {
	case '{':
		return build_members(s, true, tmp);
	case '[':
		return build_members(s, false, tmp);
	case '"':
		return (str = build_string(s, tmp, &n)) ? json_stringn_nocheck(str, n) : NULL;
	case 't':
		s->p += 4;
		return json_true();
	case 'f':
		s->p += 5;
		return json_false();
	case 'n':
		s->p += 4;
		return json_null();
	default:
		return build_number(s);
	}
}

static json_t *fast_tree(const char *buf, size_t len)
{
	struct scan s = { buf, buf + len };
	struct fa_buf tmp;
	json_t *root;

	if (!scan_value(&s, 0, NULL) || (scan_ws(&s), s.p != s.end))
		return NULL;
	s.p = buf;
	fa_buf_init(&tmp, 0);
	root = build_value(&s, &tmp);
	fa_buf_release(&tmp);
	return root;
}
