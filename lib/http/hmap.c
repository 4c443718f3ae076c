#include "http/hmap.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"

int fa_hmap_status(const char *st)
{
	if (!st || strlen(st) != 5)
		return 500;
	if (!strcmp(st, "23505") || !strcmp(st, "23503") || !strcmp(st, "23P01"))
		return 409;
	if (!strcmp(st, "23514") || !strcmp(st, "23502"))
		return 422;
	if (!strncmp(st, "22", 2))
		return 400;
	if (!strcmp(st, "42501"))       /* insufficient privilege: RLS, GRANT */
		return 403;
	if (!strcmp(st, "57014"))
		return 504;
	if (!strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P03") ||
	    !strncmp(st, "53", 2))
		return 503;
	/* serialization, deadlock; a read-only standby after failover */
	if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "25006"))
		return 503;
	return 500;
}

static void put(struct fa_buf *out, const char *key, const char *v)
{
	if (!v)
		return;
	fa_buf_printf(out, ",\"%s\":", key);
	fa_json_put_string(out, v, strlen(v));
}

void fa_hmap_error_json(struct fa_buf *out, int status, const char *sqlstate,
			const char *message, const char *detail)
{
	fa_buf_printf(out, "{\"error\":{\"status\":%d", status);
	put(out, "sqlstate", sqlstate);
	put(out, "message", message ? message : "error");
	put(out, "detail", detail);
	fa_buf_puts(out, "}}\n");
}

struct media {
	const char *type;
	int kind;
	const char *ctype;
};

static const struct media medias[] = {
	{ "application/json", FA_FMT_JSON, "application/json" },
	{ "application/x-ndjson", FA_FMT_NDJSON, "application/x-ndjson" },
	{ "application/jsonl", FA_FMT_NDJSON, "application/x-ndjson" },
	{ "text/csv", FA_FMT_CSV, "text/csv; charset=utf-8" },
	{ "text/*", FA_FMT_CSV, "text/csv; charset=utf-8" },
	{ "application/*", FA_FMT_JSON, "application/json" },
	{ "*/*", FA_FMT_JSON, "application/json" },
	{ NULL, 0, NULL },
};

/*
 * An RFC 9110 qvalue, "0" to "1" with up to three decimals, read within
 * n bytes, in thousandths; anything else counts as 0.
 */
static int qvalue(const char *s, size_t n)
{
	int v, scale = 100;
	size_t i = 1;

	if (!n || (s[0] != '0' && s[0] != '1'))
		return 0;
	v = (s[0] - '0') * 1000;
	if (n > 1 && s[1] == '.')
		for (i = 2; i < n && i < 5 && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
			v += (s[i] - '0') * scale;
	if (v > 1000 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t' && s[i] != ','))
		return 0;
	return v;
}

/* One "type/sub;q=0.5" element of the list: its media entry and q (0..1000). */
static const struct media *element(const char *p, size_t n, int *q)
{
	size_t tlen = 0;
	const char *semi;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (tlen < n && p[tlen] != ';' && p[tlen] != ' ' && p[tlen] != '\t')
		tlen++;
	*q = 1000;
	for (semi = memchr(p, ';', n); semi; semi = memchr(semi + 1, ';', n - (size_t)(semi + 1 - p))) {
		const char *s = semi + 1;

		while (s < p + n && (*s == ' ' || *s == '\t'))
			s++;
		if (s + 2 <= p + n && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=')
			*q = qvalue(s + 2, (size_t)(p + n - s - 2));
	}
	for (const struct media *m = medias; m->type; m++)
		if (strlen(m->type) == tlen && !strncasecmp(m->type, p, tlen))
			return m;
	return NULL;
}

int fa_hmap_accept(const char *accept, size_t len, const char **ctype)
{
	const struct media *best = NULL;
	int bestq = 0, q;
	size_t off = 0;

	*ctype = medias[0].ctype;
	if (!accept || !len)
		return FA_FMT_JSON;
	while (off < len) {
		const char *comma = memchr(accept + off, ',', len - off);
		size_t n = comma ? (size_t)(comma - accept) - off : len - off;
		const struct media *m = element(accept + off, n, &q);

		if (m && q > bestq) {
			best = m;
			bestq = q;
		}
		off += n + 1;
	}
	if (!best)
		return -1;
	*ctype = best->ctype;
	return best->kind;
}
