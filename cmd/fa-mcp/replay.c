/*
 * fa-mcp proxy: recordings written and read back.  See replay.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "mcp/jsonrpc.h"
#include "replay.h"

struct recorder {
	FILE *f;
};

struct recorder *recorder_open(const char *file, struct fa_error *err)
{
	struct recorder *rec;
	FILE *f = fopen(file, "w");

	if (!f) {
		fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", file, strerror(errno));
		return NULL;
	}
	rec = calloc(1, sizeof(*rec));
	rec->f = f;
	return rec;
}

void recorder_close(struct recorder *rec)
{
	if (!rec)
		return;
	fclose(rec->f);
	free(rec);
}

static void put_line(struct recorder *rec, json_t *line)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, line);
	fa_buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, rec->f);
	fflush(rec->f);
	fa_buf_release(&b);
	json_decref(line);
}

/* A header whose value is a secret: credentials, cookies, keys and tokens. */
static bool secret(const char *h, size_t n)
{
	static const char *const words[] = { "auth", "cookie", "key", "token", "secret", "password",
					     "session" };
	char name[128];

	snprintf(name, sizeof(name), "%.*s", (int)(n < 127 ? n : 127), h);
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

void recorder_server(struct recorder *rec, const char *name, const char *target, char **headers,
		     int nheaders, const char *version, const json_t *server, const json_t *lists)
{
	json_t *hs = json_array();

	if (!rec)
		return;
	for (int i = 0; i < nheaders; i++) {
		size_t n = strcspn(headers[i], ":");
		char h[600];

		if (secret(headers[i], n))
			snprintf(h, sizeof(h), "%.*s: [redacted]", (int)(n < 500 ? n : 500), headers[i]);
		else
			snprintf(h, sizeof(h), "%.590s", headers[i]);
		json_array_append_new(hs, json_string(h));
	}
	put_line(rec, json_pack("{s:s,s:s,s:s,s:o,s:s?,s:O?,s:O?}", "type", "server", "upstream", name,
				"target", target, "headers", hs, "protocolVersion", version,
				"server", server, "lists", lists));
}

void recorder_exchange(struct recorder *rec, const char *name, const char *method,
		       const json_t *params, const json_t *response, double ms, const json_t *notes)
{
	json_t *line;

	if (!rec)
		return;
	line = json_pack("{s:s,s:s,s:s,s:O?}", "type", "exchange", "upstream", name, "method", method,
			 "params", params);
	if (json_object_get(response, "error"))
		json_object_set(line, "error", json_object_get(response, "error"));
	else
		json_object_set(line, "result", json_object_get(response, "result"));
	json_object_set_new(line, "ms", json_real(ms));
	if (json_array_size(notes))
		json_object_set(line, "notifications", (json_t *)notes);
	put_line(rec, line);
}

void recorder_notification(struct recorder *rec, const char *name, const json_t *message)
{
	if (rec)
		put_line(rec, json_pack("{s:s,s:s,s:O}", "type", "notification", "upstream", name,
					"message", message));
}

/* ---- reading back ---- */

struct entry {
	json_t *line;                   /* the exchange line (owned) */
	bool used;
};

struct recording {
	char *file;
	json_t *servers;                /* name -> server line */
	const char **names;
	int nnames;
	struct entry *entries;
	size_t nentries;
};

/* name's entry in names, pointing into its (newest) server line. */
static void add_name(struct recording *r, const char *name)
{
	const char *s = json_string_value(json_object_get(json_object_get(r->servers, name), "upstream"));

	for (int i = 0; i < r->nnames; i++)
		if (!strcmp(r->names[i], name)) {
			r->names[i] = s;
			return;
		}
	r->names = realloc(r->names, (size_t)(r->nnames + 1) * sizeof(*r->names));
	r->names[r->nnames++] = s;
}

/* One line into r; false with err when it is not a recording's. */
static bool take_line(struct recording *r, json_t *line, const char *file, int lineno,
		      struct fa_error *err)
{
	const char *type = json_string_value(json_object_get(line, "type"));
	const char *name = json_string_value(json_object_get(line, "upstream"));

	if (!type || !name) {
		fa_error_set(err, FA_EINPUT, "%s: line %d: not a recording's line (no \"type\" or "
			     "\"upstream\")", file, lineno);
		return false;
	}
	if (!strcmp(type, "server")) {
		/* names point into the line: the old one goes only after they moved */
		json_t *old = json_incref(json_object_get(r->servers, name));

		json_object_set(r->servers, name, line);
		add_name(r, name);
		json_decref(old);
	} else if (!strcmp(type, "exchange") && json_string_value(json_object_get(line, "method"))) {
		r->entries = realloc(r->entries, (r->nentries + 1) * sizeof(*r->entries));
		r->entries[r->nentries++] = (struct entry){ json_incref(line), false };
	}
	return true;
}

struct recording *recording_load(const char *file, struct fa_error *err)
{
	FILE *f = fopen(file, "r");
	struct recording *r;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	if (!f) {
		fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", file, strerror(errno));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	r->file = strdup(file);
	r->servers = json_object();
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *v;

		lineno++;
		if (n == 1)
			continue;
		if (!(v = json_loadb(line, (size_t)n, 0, &je))) {
			fa_error_set(err, FA_EINPUT, "%s: line %d: %s", file, lineno, je.text);
			break;
		}
		if (!take_line(r, v, file, lineno, err)) {
			json_decref(v);
			break;
		}
		json_decref(v);
	}
	free(line);
	fclose(f);
	if (!err->code && !r->nnames)
		fa_error_set(err, FA_EINPUT, "%s: no upstream was recorded in it", file);
	if (err->code) {
		recording_free(r);
		return NULL;
	}
	return r;
}

void recording_free(struct recording *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nentries; i++)
		json_decref(r->entries[i].line);
	free(r->entries);
	free(r->names);
	json_decref(r->servers);
	free(r->file);
	free(r);
}

const char *recording_file(const struct recording *r)
{
	return r->file;
}

const char *const *recording_names(const struct recording *r, int *n)
{
	*n = r->nnames;
	return r->names;
}

const json_t *recording_server(const struct recording *r, const char *name)
{
	return json_object_get(r->servers, name);
}

/* params equal, an absent or null params being {} */
static bool same_params(const json_t *a, const json_t *b)
{
	if (!a || json_is_null(a) || (json_is_object(a) && !json_object_size(a)))
		return !b || json_is_null(b) || (json_is_object(b) && !json_object_size(b));
	return b && json_equal((json_t *)a, (json_t *)b);
}

const json_t *recording_match(struct recording *r, const char *name, const char *method,
			      const json_t *params)
{
	struct entry *last = NULL;

	for (size_t i = 0; i < r->nentries; i++) {
		struct entry *e = &r->entries[i];

		if (strcmp(json_string_value(json_object_get(e->line, "upstream")), name) ||
		    strcmp(json_string_value(json_object_get(e->line, "method")), method) ||
		    !same_params(json_object_get(e->line, "params"), params))
			continue;
		if (!e->used) {
			e->used = true;
			return e->line;
		}
		last = e;
	}
	return last ? last->line : NULL;
}
