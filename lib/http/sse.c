#include "http/sse.h"

#include <string.h>

void fa_sse_init(struct fa_sse *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max ? max : FA_SSE_MAX;
	fa_buf_init(&s->line, s->max);
	fa_buf_init(&s->data, s->max);
	fa_buf_init(&s->type, s->max);
	fa_buf_init(&s->id, s->max);
	fa_buf_init(&s->last_id, s->max);
	s->retry = -1;
}

void fa_sse_release(struct fa_sse *s)
{
	fa_buf_release(&s->line);
	fa_buf_release(&s->data);
	fa_buf_release(&s->type);
	fa_buf_release(&s->id);
	fa_buf_release(&s->last_id);
}

static bool named(const char *name, size_t n, const char *field)
{
	return n == strlen(field) && memcmp(name, field, n) == 0;
}

/* Replaces b's contents by p[0..n); it fits, since a line did. */
static void set(struct fa_buf *b, const char *p, size_t n)
{
	fa_buf_reset(b);
	fa_buf_append(b, p, n);
}

/* "retry": ASCII digits only, else ignored (so is a number past int64). */
static void retry(struct fa_sse *s, const char *v, size_t n)
{
	int64_t ms = 0;
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return;
		if (ms > (INT64_MAX - (v[i] - '0')) / 10)
			return;
		ms = ms * 10 + (v[i] - '0');
	}
	s->retry = ms;
}

/* One field line l[0..n) that is not a comment. */
static int field(struct fa_sse *s, const char *l, size_t n,
		 struct fa_error *err)
{
	const char *colon = memchr(l, ':', n), *v = l + n;
	size_t name_len = n, vn = 0;

	if (colon) {
		name_len = (size_t)(colon - l);
		v = colon + 1;
		vn = n - name_len - 1;
		if (vn > 0 && v[0] == ' ') {
			v++;
			vn--;
		}
	}
	if (named(l, name_len, "data")) {
		if (fa_buf_append(&s->data, v, vn) != FA_OK ||
		    fa_buf_putc(&s->data, '\n') != FA_OK) {
			s->failed = true;
			fa_error_set(err, FA_EINPUT, "event stream: the data of "
				     "one event is over %zu bytes", s->max);
			return -1;
		}
	} else if (named(l, name_len, "event")) {
		set(&s->type, v, vn);
	} else if (named(l, name_len, "id")) {
		if (!memchr(v, '\0', vn))
			set(&s->id, v, vn);
	} else if (named(l, name_len, "retry")) {
		retry(s, v, vn);
	}
	return 0;
}

/* The empty line: 1 with *ev when there is an event to hand out. */
static int dispatch(struct fa_sse *s, struct fa_sse_event *ev)
{
	set(&s->last_id, s->id.data ? s->id.data : "", s->id.len);
	if (s->data.len == 0) {
		fa_buf_reset(&s->type);
		return 0;
	}
	s->data.data[--s->data.len] = '\0';     /* the last '\n' */
	ev->type = s->type.len ? s->type.data : "message";
	ev->type_len = s->type.len ? s->type.len : 7;
	ev->data = s->data.data;
	ev->data_len = s->data.len;
	ev->id = s->last_id.data;
	ev->id_len = s->last_id.len;
	ev->retry = s->retry;
	s->dispatched = true;
	return 1;
}

/* One whole line l[0..n) without its end: 1 when it ends an event. */
static int line(struct fa_sse *s, const char *l, size_t n,
		struct fa_sse_event *ev, struct fa_error *err)
{
	if (!s->started) {
		s->started = true;
		if (n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) {
			l += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return dispatch(s, ev);
	if (l[0] == ':')
		return 0;
	return field(s, l, n, err);
}

/* The index of the first CR or LF in in[i..n), or n. */
static size_t line_end(const char *in, size_t i, size_t n)
{
	while (i < n && in[i] != '\r' && in[i] != '\n')
		i++;
	return i;
}

static int too_long(struct fa_sse *s, struct fa_error *err)
{
	s->failed = true;
	fa_error_set(err, FA_EINPUT, "event stream: a line is over %zu bytes",
		     s->max);
	return -1;
}

int fa_sse_feed(struct fa_sse *s, const char *in, size_t n, size_t *used,
		struct fa_sse_event *ev, struct fa_error *err)
{
	size_t i = 0, e;
	int rc = 0;

	*used = 0;
	if (s->failed) {
		fa_error_set(err, FA_EINPUT, "event stream: fed after an error");
		return -1;
	}
	if (s->dispatched) {
		fa_buf_reset(&s->data);
		fa_buf_reset(&s->type);
		s->dispatched = false;
	}
	while (i < n && rc == 0) {
		if (s->cr && in[i] == '\n') {
			s->cr = false;
			i++;
			continue;
		}
		s->cr = false;
		e = line_end(in, i, n);
		if (fa_buf_append(&s->line, in + i, e - i) != FA_OK) {
			*used = i;
			return too_long(s, err);
		}
		if (e == n) {
			i = n;
			break;
		}
		s->cr = in[e] == '\r';
		i = e + 1;
		rc = line(s, s->line.data, s->line.len, ev, err);
		fa_buf_reset(&s->line);
	}
	*used = i;
	return rc;
}

const char *fa_sse_last_id(const struct fa_sse *s, size_t *len)
{
	if (len)
		*len = s->last_id.len;
	return s->last_id.data ? s->last_id.data : "";
}

enum fa_err fa_sse_put_event(struct fa_buf *b, const char *name, const char *data, size_t n)
{
	size_t i = 0;

	if (name)
		fa_buf_printf(b, "event: %s\n", name);
	do {
		size_t k = i;

		while (k < n && data[k] != '\r' && data[k] != '\n')
			k++;
		fa_buf_puts(b, "data: ");
		fa_buf_append(b, data + i, k - i);
		fa_buf_putc(b, '\n');
		i = k + (k < n && data[k] == '\r' && k + 1 < n && data[k + 1] == '\n') + (k < n);
	} while (i < n);
	return fa_buf_putc(b, '\n');
}
