/*
 * haccess: one access log line of a finished request.  See haccess.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "http/haccess.h"

/*
 * Text for the combined format, escaped as nginx does: '"', '\', control
 * bytes and bytes >= 0x7f as \xXX, so a field cannot end early or forge a
 * line.
 */
static void log_escaped(struct fa_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fa_buf_printf(b, "\\x%02X", c);
		else
			fa_buf_putc(b, (char)c);
	}
}

/* A header's value for the log, or "-". */
static void log_header(struct fa_buf *b, const struct fa_hreq *rq, const char *name, bool json)
{
	const struct fa_h1_header *h = fa_hreq_header(rq, name);

	if (json) {
		h ? fa_json_put_string(b, h->value, h->value_len) : fa_buf_puts(b, "null");
		return;
	}
	fa_buf_putc(b, '"');
	h ? log_escaped(b, h->value, h->value_len) : fa_buf_putc(b, '-');
	fa_buf_putc(b, '"');
}

void fa_haccess_line(struct fa_buf *out, const struct fa_hreq *rq, bool json, double secs)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	struct fa_buf b;

	fa_buf_init(&b, 0);
	if (json) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		fa_buf_printf(&b, "{\"time\":\"%s\",\"client\":\"%s\",\"method\":", when, rq->peer);
		fa_json_put_string(&b, rq->method, rq->method_len);
		fa_buf_puts(&b, ",\"path\":");
		fa_json_put_string(&b, rq->path, rq->path_len);
		fa_buf_printf(&b, ",\"status\":%d,\"bytes\":%llu,\"referer\":", rq->status,
			      (unsigned long long)rq->bytes_out);
		log_header(&b, rq, "referer", true);
		fa_buf_puts(&b, ",\"user_agent\":");
		log_header(&b, rq, "user-agent", true);
		fa_buf_printf(&b, ",\"seconds\":%.6f,\"db_seconds\":%.6f}\n", secs,
			      (double)rq->app_ns / 1e9);
	} else {
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", gmtime_r(&now, &tm));
		fa_buf_printf(&b, "%s - - [%s] \"", rq->peer, when);
		log_escaped(&b, rq->method, rq->method_len);
		fa_buf_putc(&b, ' ');
		log_escaped(&b, rq->path, rq->path_len);
		if (rq->query) {
			fa_buf_putc(&b, '?');
			log_escaped(&b, rq->query, rq->query_len);
		}
		fa_buf_printf(&b, " %s\" %d %llu ", rq->version ? rq->version : "HTTP/1.1",
			      rq->status, (unsigned long long)rq->bytes_out);
		log_header(&b, rq, "referer", false);
		fa_buf_putc(&b, ' ');
		log_header(&b, rq, "user-agent", false);
		fa_buf_printf(&b, " %.3f %.3f\n", secs, (double)rq->app_ns / 1e9);
	}
	fa_buf_append(out, b.data, b.len);
	fa_buf_release(&b);
}


bool fa_haccess_format(const char *arg, bool *json)
{
	if (strcmp(arg, "text") && strcmp(arg, "json"))
		return false;
	*json = !strcmp(arg, "json");
	return true;
}

FILE *fa_haccess_open(const char *path, struct fa_error *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "a") : stderr;

	if (!f)
		fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
	return f;
}

void fa_haccess_close(FILE *f)
{
	if (f && f != stderr)
		fclose(f);
}
