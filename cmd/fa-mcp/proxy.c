/*
 * fa-mcp proxy: the upstreams named, their names and lists merged for the
 * front, and the methods the proxy answers itself.  See proxy.h; the
 * sessions with the upstreams are upstream.c's.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"
#include "proxy.h"
#include "relay.h"
#include "upstream.h"

#define DEFAULT_TIMEOUT_MS 60000

static struct upstream *find_up(struct proxy *p, const char *name, size_t n);
static void report_collisions(struct proxy *p);

/* ---- setting up ---- */

struct proxy *proxy_new(void)
{
	struct proxy *p = calloc(1, sizeof(*p));

	p->sep = strdup("__");
	p->timeout_ms = DEFAULT_TIMEOUT_MS;
	return p;
}

void proxy_set_separator(struct proxy *p, const char *sep)
{
	free(p->sep);
	p->sep = strdup(sep);
}

void proxy_set_timeout(struct proxy *p, int ms)
{
	p->timeout_ms = ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

void proxy_set_era(struct proxy *p, int era)
{
	p->era = (enum cera)era;
}

enum fa_err proxy_header(struct proxy *p, const char *spec, struct fa_error *err)
{
	const char *eq = strchr(spec, '='), *colon;
	struct upstream *u = eq ? find_up(p, spec, (size_t)(eq - spec)) : NULL;

	if (!u)
		return fa_error_set(err, FA_EUSAGE, "--upstream-header '%s': give NAME=Header: value, "
				    "NAME an upstream's", spec);
	colon = strchr(eq + 1, ':');
	if (!colon || colon == eq + 1)
		return fa_error_set(err, FA_EUSAGE, "--upstream-header '%s': give NAME=Header: value", spec);
	u->headers = realloc(u->headers, (size_t)(u->nheaders + 1) * sizeof(*u->headers));
	u->headers[u->nheaders++] = strdup(eq + 1);
	return FA_OK;
}

/* A word quoted for fa_proc_split: '...' with each ' as '\''. */
static void quote_word(struct fa_buf *b, const char *w)
{
	fa_buf_putc(b, '\'');
	for (; *w; w++)
		*w == '\'' ? fa_buf_puts(b, "'\\''") : fa_buf_putc(b, *w);
	fa_buf_putc(b, '\'');
}

/* One server of an mcpServers object. */
static enum fa_err config_server(struct proxy *p, const char *file, const char *name, json_t *v,
				 struct fa_error *err)
{
	const char *command = json_string_value(json_object_get(v, "command"));
	const char *url = json_string_value(json_object_get(v, "url"));
	json_t *args = json_object_get(v, "args"), *x, *timeout = json_object_get(v, "timeout");
	struct upstream *u;
	struct fa_buf b;
	const char *k;
	size_t i;

	if (!json_is_object(v) || !command == !url)
		return fa_error_set(err, FA_EINPUT, "%s: server '%s': give \"command\" or \"url\"", file, name);
	fa_buf_init(&b, 0);
	fa_buf_printf(&b, "%s=", name);
	if (command) {
		fa_buf_puts(&b, "stdio:");
		quote_word(&b, command);
		json_array_foreach(args, i, x) {
			if (!json_is_string(x)) {
				fa_buf_release(&b);
				return fa_error_set(err, FA_EINPUT, "%s: server '%s': \"args\" are strings",
						    file, name);
			}
			fa_buf_putc(&b, ' ');
			quote_word(&b, json_string_value(x));
		}
	} else {
		fa_buf_puts(&b, url);
	}
	if (proxy_add(p, b.data, err)) {
		fa_buf_release(&b);
		err->code = FA_EINPUT;
		return FA_EINPUT;
	}
	fa_buf_release(&b);
	u = &p->ups[p->nups - 1];
	json_object_foreach(json_object_get(v, "env"), k, x) {
		char *kv = NULL;

		if (!json_is_string(x) || asprintf(&kv, "%s=%s", k, json_string_value(x)) < 0)
			return fa_error_set(err, FA_EINPUT, "%s: server '%s': env values are strings", file, name);
		u->env = realloc(u->env, (size_t)(u->nenv + 1) * sizeof(*u->env));
		u->env[u->nenv++] = kv;
	}
	json_object_foreach(json_object_get(v, "headers"), k, x) {
		char *h = NULL;

		if (!json_is_string(x) || asprintf(&h, "%s: %s", k, json_string_value(x)) < 0)
			return fa_error_set(err, FA_EINPUT, "%s: server '%s': header values are strings", file, name);
		u->headers = realloc(u->headers, (size_t)(u->nheaders + 1) * sizeof(*u->headers));
		u->headers[u->nheaders++] = h;
	}
	if (timeout) {
		if (!json_is_integer(timeout) || json_integer_value(timeout) < 1 ||
		    json_integer_value(timeout) > 86400000)
			return fa_error_set(err, FA_EINPUT, "%s: server '%s': \"timeout\" is milliseconds, "
					    "1 to 86400000", file, name);
		u->timeout_ms = (int)json_integer_value(timeout);
	}
	return FA_OK;
}

enum fa_err proxy_config(struct proxy *p, const char *file, struct fa_error *err)
{
	json_error_t je;
	json_t *root = json_load_file(file, 0, &je), *servers;
	const char *name;
	json_t *v;
	enum fa_err rc = FA_OK;

	if (!root)
		return fa_error_set(err, FA_EINPUT, "%s: line %d, column %d: %s", file, je.line, je.column,
				    je.text);
	servers = json_object_get(root, "mcpServers");
	if (!json_is_object(servers)) {
		json_decref(root);
		return fa_error_set(err, FA_EINPUT, "%s: no \"mcpServers\" object", file);
	}
	json_object_foreach(servers, name, v)
		if ((rc = config_server(p, file, name, v, err)))
			break;
	json_decref(root);
	return rc;
}

enum fa_err proxy_record(struct proxy *p, const char *file, struct fa_error *err)
{
	if (!(p->rec = recorder_open(file, err)))
		return err->code;
	return FA_OK;
}

enum fa_err proxy_replay(struct proxy *p, const char *file, struct fa_error *err)
{
	struct recording *r = recording_load(file, err);
	const char *const *names;
	enum fa_err rc = FA_OK;
	int n;

	if (!r)
		return err->code;
	names = recording_names(r, &n);
	for (int i = 0; i < n && !rc; i++) {
		char *spec = NULL;

		if (asprintf(&spec, "%s=replay:%s", names[i], file) < 0)
			return fa_error_set(err, FA_ENOMEM, "out of memory");
		rc = proxy_add(p, spec, err);
		free(spec);
	}
	recording_free(r);
	return rc;
}

int proxy_count(const struct proxy *p)
{
	return p->nups;
}

static bool good_name(const char *s, size_t n)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static struct upstream *find_up(struct proxy *p, const char *name, size_t n)
{
	for (int i = 0; i < p->nups; i++)
		if (strlen(p->ups[i].name) == n && !memcmp(p->ups[i].name, name, n))
			return &p->ups[i];
	return NULL;
}

enum fa_err proxy_add(struct proxy *p, const char *spec, struct fa_error *err)
{
	const char *eq = strchr(spec, '='), *v;
	struct upstream *u;

	if (!eq || !good_name(spec, (size_t)(eq - spec)))
		return fa_error_set(err, FA_EUSAGE, "upstream '%s': give NAME=URL or NAME=stdio:COMMAND "
				    "(NAME of letters, digits, '-' and '_')", spec);
	if (find_up(p, spec, (size_t)(eq - spec)))
		return fa_error_set(err, FA_EUSAGE, "upstream '%.*s' is named twice", (int)(eq - spec), spec);
	v = eq + 1;
	if (strncmp(v, "stdio:", 6) && strncmp(v, "http://", 7) && strncmp(v, "https://", 8) &&
	    strncmp(v, "replay:", 7))
		return fa_error_set(err, FA_EUSAGE, "upstream '%s': give an http:// or https:// URL, "
				    "stdio:COMMAND or replay:FILE", spec);
	p->ups = realloc(p->ups, (size_t)(p->nups + 1) * sizeof(*p->ups));
	u = &p->ups[p->nups++];
	*u = (struct upstream){ .p = p, .name = strndup(spec, (size_t)(eq - spec)) };
	if (!strncmp(v, "stdio:", 6))
		u->command = strdup(v + 6);
	else if (!strncmp(v, "replay:", 7))
		u->replay_file = strdup(v + 7);
	else
		u->url = strdup(v);
	snprintf(u->why, sizeof(u->why), "not started");
	return FA_OK;
}

enum fa_err proxy_filter(struct proxy *p, const char *spec, bool allow, struct fa_error *err)
{
	const char *eq = strchr(spec, '=');
	int from = 0, to = p->nups;

	if (eq) {
		struct upstream *u = find_up(p, spec, (size_t)(eq - spec));

		if (!u)
			return fa_error_set(err, FA_EUSAGE, "--%s '%s': no upstream named '%.*s' (name "
					    "the upstreams first)", allow ? "allow" : "deny", spec,
					    (int)(eq - spec), spec);
		from = (int)(u - p->ups);
		to = from + 1;
		spec = eq + 1;
	}
	for (int i = from; i < to; i++) {
		struct upstream *u = &p->ups[i];

		u->filters = realloc(u->filters, (size_t)(u->nfilters + 1) * sizeof(*u->filters));
		u->filters[u->nfilters++] = (struct filter){ strdup(spec), allow };
	}
	return FA_OK;
}

/* A tool of u passes its filters: some --allow matches (when any is given), no --deny. */
static bool allowed(const struct upstream *u, const char *name)
{
	bool any_allow = false, ok = false;

	for (int i = 0; i < u->nfilters; i++) {
		bool m = !fnmatch(u->filters[i].glob, name, 0);

		if (!u->filters[i].allow && m)
			return false;
		if (u->filters[i].allow) {
			any_allow = true;
			ok = ok || m;
		}
	}
	return !any_allow || ok;
}

int proxy_scope(const struct proxy *p, const char *path, size_t len)
{
	const char *slash;

	if (len < 6 || path[0] != '/' || memcmp(path + len - 4, "/mcp", 4))
		return 0;
	slash = memchr(path + 1, '/', len - 1);
	if (slash != path + len - 4)
		return 0;
	for (int i = 0; i < p->nups; i++)
		if (strlen(p->ups[i].name) == (size_t)(slash - path - 1) &&
		    !memcmp(p->ups[i].name, path + 1, (size_t)(slash - path - 1)))
			return i + 1;
	return 0;
}

static void on_resub(struct fa_timer *t)
{
	struct proxy *p = t->ctx;

	for (int i = 0; i < p->nups; i++)
		upstream_subs_update(&p->ups[i]);
}

void proxy_subs_changed(struct proxy *p)
{
	if (p->loop && p->resub.slot < 0)
		fa_timer_start(p->loop, &p->resub, 0);
}

void proxy_start(struct proxy *p, struct worker *w)
{
	p->w = w;
	p->loop = w->loop;
	fa_timer_init(&p->resub, on_resub, p);
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		upstream_init(u);
		if (upstream_connect(u)) {
			fprintf(stderr, "fa-mcp proxy: upstream '%s' (%s%s) speaks %s, %zu tools\n", u->name,
				u->command ? "stdio" : u->url ? u->url : "replay of ",
				u->replay_file ? u->replay_file : "", u->c.version ? u->c.version : "?",
				json_array_size(u->list[L_TOOLS]));
		} else {
			fprintf(stderr, "fa-mcp proxy: upstream '%s': %s; trying again\n", u->name, u->why);
			upstream_schedule_restart(u);
		}
	}
	report_collisions(p);
	fprintf(stderr, "fa-mcp proxy: serving %d upstream%s\n", p->nups, p->nups == 1 ? "" : "s");
}

void proxy_stop(struct proxy *p)
{
	if (p->loop)
		fa_timer_stop(p->loop, &p->resub);
	for (int i = 0; i < p->nups; i++)
		upstream_stop(&p->ups[i]);
	p->w = NULL;
	p->loop = NULL;
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		free(u->name);
		free(u->command);
		free(u->url);
		free(u->replay_file);
		for (int k = 0; k < u->nfilters; k++)
			free(u->filters[k].glob);
		free(u->filters);
		for (int k = 0; k < u->nenv; k++)
			free(u->env[k]);
		free(u->env);
		for (int k = 0; k < u->nheaders; k++)
			free(u->headers[k]);
		free(u->headers);
		for (int k = 0; k < u->ntools; k++)
			free(u->tools[k].name);
		free(u->tools);
	}
	free(p->ups);
	free(p->sep);
	recorder_close(p->rec);
	free(p);
}

/* ---- names ---- */

static bool prefixed(const struct proxy *p, int scope)
{
	return !scope && p->nups > 1 && p->sep[0];
}

/* What the front calls item name of u. */
static void shown_name(const struct proxy *p, const struct upstream *u, bool prefix, const char *name,
		       char *out, size_t n)
{
	if (prefix)
		snprintf(out, n, "%s%s%s", u->name, p->sep, name);
	else
		snprintf(out, n, "%s", name);
}

static void report_collisions(struct proxy *p)
{
	bool prefix = prefixed(p, 0);

	for (int l = 0; l < NLISTS; l++) {
		const char *field = l == L_RESOURCES ? "uri" : l == L_TEMPLATES ? "uriTemplate" : "name";
		bool named = l == L_TOOLS || l == L_PROMPTS;

		for (int i = 0; i < p->nups; i++)
			for (size_t a = 0; a < json_array_size(p->ups[i].list[l]); a++) {
				const char *na = json_string_value(json_object_get(json_array_get(p->ups[i].list[l], a), field));
				char sa[512];

				if (!na)
					continue;
				shown_name(p, &p->ups[i], prefix && named, na, sa, sizeof(sa));
				for (int j = i; j < p->nups; j++)
					for (size_t b = j == i ? a + 1 : 0; b < json_array_size(p->ups[j].list[l]); b++) {
						const char *nb = json_string_value(json_object_get(json_array_get(p->ups[j].list[l], b), field));
						char sb[512];

						if (!nb)
							continue;
						shown_name(p, &p->ups[j], prefix && named, nb, sb, sizeof(sb));
						if (!strcmp(sa, sb))
							fprintf(stderr, "fa-mcp proxy: collision: %s '%s' of upstream "
								"'%s' and of '%s'; the first is served\n",
								lists_of[l].key, sa, p->ups[i].name, p->ups[j].name);
					}
			}
	}
}

/*
 * The upstream a shown name of a tool or prompt belongs to, and its name
 * there (*real points into name or the upstream's list); NULL when none.
 */
static struct upstream *route_name(struct proxy *p, int scope, int l, const char *name,
				   const char **real)
{
	if (scope) {
		*real = name;
		return &p->ups[scope - 1];
	}
	if (prefixed(p, 0)) {
		const char *s = strstr(name, p->sep);

		/* the longest upstream name that prefixes it wins (a__b__c) */
		for (int i = 0; i < p->nups; i++) {
			size_t n = strlen(p->ups[i].name);

			if (!strncmp(name, p->ups[i].name, n) && !strncmp(name + n, p->sep, strlen(p->sep))) {
				*real = name + n + strlen(p->sep);
				return &p->ups[i];
			}
		}
		(void)s;
		return NULL;
	}
	for (int i = 0; i < p->nups; i++)
		for (size_t k = 0; k < json_array_size(p->ups[i].list[l]); k++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(p->ups[i].list[l], k),
								      "name")) ?: "", name)) {
				*real = name;
				return &p->ups[i];
			}
	*real = name;
	return p->nups == 1 ? &p->ups[0] : NULL;
}

/* The upstream whose resources (or templates, by their fixed start) hold uri. */
static struct upstream *route_uri(struct proxy *p, int scope, const char *uri)
{
	if (scope)
		return &p->ups[scope - 1];
	if (p->nups == 1)
		return &p->ups[0];
	for (int i = 0; i < p->nups; i++)
		for (size_t k = 0; k < json_array_size(p->ups[i].list[L_RESOURCES]); k++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(p->ups[i].list[L_RESOURCES], k),
								      "uri")) ?: "", uri))
				return &p->ups[i];
	for (int i = 0; i < p->nups; i++)
		for (size_t k = 0; k < json_array_size(p->ups[i].list[L_TEMPLATES]); k++) {
			const char *t = json_string_value(json_object_get(json_array_get(p->ups[i].list[L_TEMPLATES], k),
									  "uriTemplate"));
			size_t n = t ? strcspn(t, "{") : 0;

			if (n && !strncmp(uri, t, n))
				return &p->ups[i];
		}
	return NULL;
}

struct wanted {
	struct proxy *p;
	const struct upstream *u;
	int scope;
	json_t *set;
};

/*
 * A URI a front listener subscribed to, kept when it is u's.  The front
 * shows u's URIs as u does (resources are not renamed, only routed, as
 * resources/read is), so the URI asked of u is the client's own.
 */
static void want_uri(const char *uri, void *arg)
{
	struct wanted *x = arg;

	if (route_uri(x->p, x->scope, uri) == x->u)
		json_object_set_new(x->set, uri, json_true());
}

json_t *proxy_wanted(struct proxy *p, const struct upstream *u)
{
	struct wanted x = { p, u, 0, json_object() };

	for (struct listener *l = p->w ? p->w->listeners : NULL; l; l = l->next) {
		if (!(l->wants & LISTEN_UPDATES) || !l->subs)
			continue;
		x.scope = l->scope;
		l->subs(l, want_uri, &x);
	}
	return x.set;
}

/* ---- what the proxy answers itself ---- */

/* The capabilities of the upstreams in scope, merged. */
static json_t *merged_caps(struct proxy *p, int scope)
{
	json_t *caps = json_object();

	for (int i = 0; i < p->nups; i++) {
		const char *k;
		json_t *v;

		if (scope && scope != i + 1)
			continue;
		json_object_foreach(json_object_get(p->ups[i].c.server, "capabilities"), k, v) {
			json_t *have = json_object_get(caps, k);

			if (!have)
				json_object_set_new(caps, k, json_deep_copy(v));
			else if (json_is_object(have) && json_is_object(v))
				json_object_update_missing(have, v);
		}
	}
	/* the proxy asks for every list itself, and tells its clients of changes */
	return caps;
}

static json_t *proxy_info(struct proxy *p, int scope)
{
	if (scope || p->nups == 1) {
		json_t *si = json_object_get(p->ups[scope ? scope - 1 : 0].c.server, "serverInfo");

		if (si)
			return json_incref(si);
	}
	return json_pack("{s:s,s:s}", "name", "fa-mcp-proxy", "version", FA_VERSION);
}

static void initialize(struct proxy *p, struct reply *r, const struct fa_jr_msg *m)
{
	const char *asked = json_string_value(json_object_get(m->params, "protocolVersion"));
	json_t *res;

	if (!asked) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "initialize: \"protocolVersion\" is required", NULL);
		return;
	}
	res = json_pack("{s:s,s:o,s:o}", "protocolVersion", fa_mcp_negotiate(asked),
			"capabilities", merged_caps(p, r->scope), "serverInfo", proxy_info(p, r->scope));
	if (r->scope || p->nups == 1) {
		json_t *ins = json_object_get(p->ups[r->scope ? r->scope - 1 : 0].c.server, "instructions");

		if (ins)
			json_object_set(res, "instructions", ins);
	}
	mcp_answer(r, res);
}

static void discover(struct proxy *p, struct reply *r)
{
	json_t *versions = json_array();

	for (int i = 0; fa_mcp_versions[i]; i++)
		json_array_append_new(versions, json_string(fa_mcp_versions[i]));
	mcp_answer(r, mcp_cacheable(r, json_pack("{s:o,s:o}", "supportedVersions", versions,
						"capabilities", merged_caps(p, r->scope))));
}

/* A list of the upstreams in scope, names prefixed and tools filtered, paged. */
static void list(struct worker *w, struct reply *r, const struct fa_jr_msg *m, int l)
{
	struct proxy *p = w->app->proxy;
	bool prefix = prefixed(p, r->scope);
	json_t *all = json_array(), *seen = json_object();

	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];
		size_t k;
		json_t *item;

		if (r->scope && r->scope != i + 1)
			continue;
		json_array_foreach(u->list[l], k, item) {
			const char *name = json_string_value(json_object_get(item, "name"));
			char shown[512];
			json_t *copy;

			if (l == L_TOOLS && name && !allowed(u, name))
				continue;
			if (l == L_TOOLS || l == L_PROMPTS) {
				if (!name)
					continue;
				shown_name(p, u, prefix, name, shown, sizeof(shown));
				if (json_object_get(seen, shown))
					continue;               /* a collision: the first is served */
				json_object_set_new(seen, shown, json_true());
				copy = json_copy(item);
				json_object_set_new(copy, "name", json_string(shown));
				json_array_append_new(all, copy);
			} else {
				json_array_append(all, item);
			}
		}
	}
	json_decref(seen);
	mcp_page(w, r, m, lists_of[l].key, all);
}

/* tools/call and prompts/get: by the name, to its upstream. */
static void by_name(struct proxy *p, struct reply *r, const struct fa_jr_msg *m, int l)
{
	const char *name = json_string_value(json_object_get(m->params, "name")), *real = NULL;
	struct upstream *u;
	char msg[400];

	if (!name) {
		snprintf(msg, sizeof(msg), "%s: \"name\" is required", m->method);
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, msg, NULL);
		return;
	}
	u = route_name(p, r->scope, l, name, &real);
	if (!u || (l == L_TOOLS && !allowed(u, real))) {
		snprintf(msg, sizeof(msg), "unknown %s '%.300s'", l == L_TOOLS ? "tool" : "prompt", name);
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, msg, NULL);
		return;
	}
	upstream_forward(u, m, r, real == name ? NULL : real);
}

static void by_uri(struct proxy *p, struct reply *r, const struct fa_jr_msg *m)
{
	const char *uri = json_string_value(json_object_get(m->params, "uri"));
	struct upstream *u = uri ? route_uri(p, r->scope, uri) : NULL;

	if (!u) {
		if (uri)
			mcp_resource_not_found(r, uri);
		else
			mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "\"uri\" is required", NULL);
		return;
	}
	upstream_forward(u, m, r, NULL);
}

/*
 * resources/subscribe and unsubscribe (2025 era): the session keeps them
 * (relay.c's resources/updated go by them), and the upstream that holds
 * the resource is asked for what all the front's clients want
 * (proxy_subs_changed): a 2025 one in its session, a 2026 one in the
 * proxy's listen.
 */
static void subscribe(struct worker *w, struct reply *r, const struct fa_jr_msg *m)
{
	mcp_subscribe(w, r, m, !strcmp(m->method, "resources/subscribe"));
	proxy_subs_changed(w->app->proxy);
}

/* completion/complete: a prompt's by its name, a resource template's by its URI. */
static void complete(struct proxy *p, struct reply *r, const struct fa_jr_msg *m)
{
	json_t *ref = json_object_get(m->params, "ref");
	const char *type = json_string_value(json_object_get(ref, "type")) ?: "";
	const char *name = json_string_value(json_object_get(ref, "name")), *real = NULL;
	struct upstream *u = NULL;

	if (!strcmp(type, "ref/prompt") && name)
		u = route_name(p, r->scope, L_PROMPTS, name, &real);
	else if (json_string_value(json_object_get(ref, "uri")))
		u = route_uri(p, r->scope, json_string_value(json_object_get(ref, "uri")));
	if (!u) {
		mcp_fail(r, 200, FA_JR_INVALID_PARAMS, "completion/complete: no upstream has that ref", NULL);
		return;
	}
	if (real && real != name) {
		struct fa_jr_msg copy = *m;
		json_t *params = json_deep_copy(m->params);

		json_object_set_new(json_object_get(params, "ref"), "name", json_string(real));
		copy.params = params;
		upstream_forward(u, &copy, r, NULL);
		json_decref(params);
		return;
	}
	upstream_forward(u, m, r, NULL);
}

/* notifications/cancelled from a client: its request's upstream hears of it, by the proxy's id. */
static void cancelled(struct proxy *p, const char *from, const struct fa_jr_msg *m)
{
	json_t *rid = json_object_get(m->params, "requestId");

	for (int i = 0; i < p->nups; i++)
		if (upstream_cancel(&p->ups[i], from, rid, json_object_get(m->params, "reason")))
			return;
	mcp_listen_cancel(p->w, from, rid);
}

/* logging/setLevel: every upstream in scope hears it; the answer is the proxy's. */
static void set_level(struct proxy *p, struct reply *r, const struct fa_jr_msg *m)
{
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		if ((r->scope && r->scope != i + 1) || !u->up || u->replay ||
		    !json_object_get(json_object_get(u->c.server, "capabilities"), "logging"))
			continue;
		upstream_own_request(u, m->method, m->params);
	}
	/* the session's level, for the 2026 upstreams' _meta; and the answer */
	mcp_set_level(r, m);
}

void proxy_dispatch(struct worker *w, const struct fa_jr_msg *m, struct reply *r)
{
	struct proxy *p = w->app->proxy;
	const char *method = m->method;

	if (!r && (m->kind == FA_JR_RESULT || m->kind == FA_JR_ERROR)) {
		/* a client's answer to a request an upstream passed it */
		for (int i = 0; i < p->nups; i++)
			if (relay_client_answer(&p->ups[i], w->note_from, m))
				return;
		return;
	}
	if (!r) {
		if (!strcmp(method, "notifications/cancelled"))
			cancelled(p, w->note_from, m);
		return;
	}
	/* a 2026 client's retry of a call the proxy holds, with what the upstream asked answered */
	if (r->era == ERA_MODERN && m->params && upstream_resume(p, m, r))
		return;
	if (!strcmp(method, "tools/call"))
		return by_name(p, r, m, L_TOOLS);
	if (!strcmp(method, "tools/list"))
		return list(w, r, m, L_TOOLS);
	if (!strcmp(method, "prompts/list"))
		return list(w, r, m, L_PROMPTS);
	if (!strcmp(method, "prompts/get"))
		return by_name(p, r, m, L_PROMPTS);
	if (!strcmp(method, "resources/list"))
		return list(w, r, m, L_RESOURCES);
	if (!strcmp(method, "resources/templates/list"))
		return list(w, r, m, L_TEMPLATES);
	if (!strcmp(method, "resources/subscribe") || !strcmp(method, "resources/unsubscribe"))
		return subscribe(w, r, m);
	if (!strcmp(method, "resources/read"))
		return by_uri(p, r, m);
	if (!strcmp(method, "completion/complete"))
		return complete(p, r, m);
	if (r->era == ERA_MODERN && !strcmp(method, "server/discover"))
		return discover(p, r);
	if (r->era == ERA_MODERN && !strcmp(method, "subscriptions/listen"))
		return mcp_listen(w, r, m);         /* the upstreams' news reach it (upstream.c) */
	if (r->era == ERA_LEGACY && !strcmp(method, "initialize"))
		return initialize(p, r, m);
	if (!strcmp(method, "ping"))
		return mcp_answer(r, json_object());
	if (r->era == ERA_LEGACY && !strcmp(method, "logging/setLevel"))
		return set_level(p, r, m);
	if (r->scope || p->nups == 1)
		return upstream_forward(&p->ups[r->scope ? r->scope - 1 : 0], m, r, NULL);
	mcp_fail(r, r->era == ERA_MODERN ? 404 : 200, FA_JR_METHOD_NOT_FOUND, "method not found", NULL);
}

/* ---- /live, /ready, /metrics ---- */

static void ready(struct proxy *p, struct fa_hreq *rq)
{
	json_t *ups = json_object();
	bool all = true;
	struct fa_buf b;

	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];
		json_t *o = json_pack("{s:b,s:i}", "up", u->up, "restarts", u->restarts);

		if (u->up)
			json_object_set_new(o, "protocolVersion", json_string(u->c.version));
		else
			json_object_set_new(o, "error", json_string(u->why));
		json_object_set_new(ups, u->name, o);
		all = all && u->up;
	}
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, ups);
	json_decref(ups);
	fa_hres_simple(rq, all ? 200 : 503, "application/json", b.data);
	fa_buf_release(&b);
}

/* A Prometheus label value: \, " and newlines escaped. */
static void label(struct fa_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fa_buf_putc(b, '\\');
		if (*v == '\n')
			fa_buf_puts(b, "\\n");
		else
			fa_buf_putc(b, *v);
	}
}

static void tool_metrics(struct fa_buf *b, const struct upstream *u, const struct tool_stat *t)
{
	static const char *const names[] = { "fa_mcp_proxy_tool_calls_total", "fa_mcp_proxy_tool_errors_total",
					     "fa_mcp_proxy_tool_latency_seconds_sum" };

	for (int i = 0; i < 3; i++) {
		fa_buf_printf(b, "%s{upstream=\"%s\",tool=\"", names[i], u->name);
		label(b, t->name);
		if (i < 2)
			fa_buf_printf(b, "\"} %lu\n", i ? t->errors : t->calls);
		else
			fa_buf_printf(b, "\"} %.6f\n", (double)t->latency_ns / 1e9);
	}
}

static void metrics(struct proxy *p, struct fa_hreq *rq)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "# TYPE fa_mcp_proxy_up gauge\n# TYPE fa_mcp_proxy_restarts_total counter\n"
		    "# TYPE fa_mcp_proxy_requests_total counter\n# TYPE fa_mcp_proxy_errors_total counter\n"
		    "# TYPE fa_mcp_proxy_latency_seconds histogram\n# TYPE fa_mcp_proxy_tool_calls_total counter\n"
		    "# TYPE fa_mcp_proxy_tool_errors_total counter\n"
		    "# TYPE fa_mcp_proxy_tool_latency_seconds_sum counter\n");
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];
		unsigned long cum = 0;

		fa_buf_printf(&b, "fa_mcp_proxy_up{upstream=\"%s\"} %d\n", u->name, u->up);
		fa_buf_printf(&b, "fa_mcp_proxy_restarts_total{upstream=\"%s\"} %d\n", u->name, u->restarts);
		fa_buf_printf(&b, "fa_mcp_proxy_requests_total{upstream=\"%s\"} %lu\n", u->name, u->calls);
		fa_buf_printf(&b, "fa_mcp_proxy_errors_total{upstream=\"%s\"} %lu\n", u->name, u->errors);
		for (int k = 0; k < 8; k++) {
			cum += u->buckets[k];
			if (k < 7)
				fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_bucket{upstream=\"%s\",le=\"%g\"} %lu\n",
					      u->name, upstream_bucket_ms[k] / 1000, cum);
			else
				fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_bucket{upstream=\"%s\",le=\"+Inf\"} %lu\n",
					      u->name, cum);
		}
		fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_sum{upstream=\"%s\"} %.6f\n", u->name,
			      (double)u->latency_ns / 1e9);
		fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_count{upstream=\"%s\"} %" PRIu64 "\n",
			      u->name, u->answered);
		for (int k = 0; k < u->ntools; k++)
			tool_metrics(&b, u, &u->tools[k]);
	}
	fa_hres_simple(rq, 200, "text/plain; version=0.0.4", b.data);
	fa_buf_release(&b);
}

bool proxy_http(struct proxy *p, struct fa_hreq *rq)
{
	if (rq->method_len != 3 || memcmp(rq->method, "GET", 3))
		return false;
	if (rq->path_len == 6 && !memcmp(rq->path, "/ready", 6)) {
		ready(p, rq);
		return true;
	}
	if (rq->path_len == 8 && !memcmp(rq->path, "/metrics", 8)) {
		metrics(p, rq);
		return true;
	}
	return false;
}
