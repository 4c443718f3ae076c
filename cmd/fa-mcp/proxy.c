/*
 * fa-mcp proxy: the upstreams, the ids rewritten between them and the
 * front's clients, and the methods the proxy answers itself.  See proxy.h.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "core/stats.h"
#include "mcp/mcp.h"
#include "proxy.h"
#include "replay.h"

#define META_PREFIX "io.modelcontextprotocol/"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_NS (10ull * 1000000000ull)       /* up this long: the backoff starts over */
#define SWEEP_MS 100
#define DEFAULT_TIMEOUT_MS 60000

/* A request forwarded upstream, until its answer (or the proxy's own). */
struct pend {
	long uid;                       /* the id upstream */
	struct reply *r;                /* the front's; NULL: a list the proxy refreshes */
	int list;                       /* the proxy's own: which list (enum lists) */
	json_t *token;                  /* the client's progressToken, or NULL */
	char method[48];
	char from[33];                  /* the client's session */
	uint64_t start_ns, due_ns;
	char *msg;                      /* queued: the message to send */
	size_t len;
	struct csend info;
	char name[256];                 /* info.name's storage */
	json_t *params;                 /* --record: the params sent, without _meta */
	struct pend *next;
};

enum lists { L_TOOLS, L_PROMPTS, L_RESOURCES, L_TEMPLATES, NLISTS };

static const struct {
	const char *method, *key;
	const char *cap;                /* the capability that says the list exists */
} lists_of[NLISTS] = {
	{ "tools/list", "tools", "tools" },
	{ "prompts/list", "prompts", "prompts" },
	{ "resources/list", "resources", "resources" },
	{ "resources/templates/list", "resourceTemplates", "resources" },
};

struct filter {
	char *glob;
	bool allow;
};

struct upstream {
	struct proxy *p;
	char *name;
	char *command;                  /* stdio: the command line */
	char *url;                      /* or Streamable HTTP (or HTTP+SSE) */
	char *replay_file;              /* or answers from a recording */
	struct recording *replay;
	const char *replay_name;        /* whose answers in it */
	char **env;
	int nenv;
	char **headers;
	int nheaders;
	struct filter *filters;
	int nfilters;
	int timeout_ms;
	struct client c;                /* the session; c.t its transport */
	bool up;
	bool serial;                    /* one request in flight (HTTP) */
	char why[512];                  /* why it is down */
	json_t *list[NLISTS];           /* as the upstream gave them */
	json_t *acc[NLISTS];            /* a refresh's pages so far */
	long next_id;
	struct pend *inflight;
	struct pend *queue, **queue_tail;
	struct fa_timer restart, sweep, kick;
	int backoff_ms;
	uint64_t up_since;
	int restarts;
	/* counts for /metrics */
	unsigned long calls, errors;
	uint64_t answered, latency_ns;
	unsigned long buckets[8];       /* answers by latency: le 1, 2.5, 10, 25, 100, 250, 1000 ms, +Inf */
};

struct proxy {
	struct upstream *ups;
	int nups;
	char *sep;
	int timeout_ms;
	enum cera era;                  /* to speak upstream: CERA_AUTO probes */
	struct recorder *rec;           /* --record, or NULL */
	struct worker *w;
	struct fa_loop *loop;
};

static void up_message(struct ctransport *t, const char *msg, size_t len);
static void up_fail(struct ctransport *t, enum fa_err rc, const char *msg);
static void kick(struct upstream *u);
static struct upstream *find_up(struct proxy *p, const char *name, size_t n);

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

/* A word quoted for client_split_words: '...' with each ' as '\''. */
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

/* ---- the pending requests ---- */

static bool same_from(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static struct pend *take_pend(struct pend **list, long uid)
{
	for (struct pend **pp = list; *pp; pp = &(*pp)->next)
		if ((*pp)->uid == uid) {
			struct pend *x = *pp;

			*pp = x->next;
			return x;
		}
	return NULL;
}

/* Frees x, whose client (if any) was answered already. */
static void pend_free(struct upstream *u, struct pend *x)
{
	json_decref(x->token);
	json_decref(x->params);
	free(x->msg);
	free(x);
}

/* Answers x's client with an error saying what became of its request. */
static void pend_fail(struct upstream *u, struct pend *x, int code, const char *msg)
{
	if (x->r) {
		u->errors++;
		mcp_fail(x->r, 200, code, msg, NULL);
		x->r = NULL;
		u->p->w->inflight--;
	}
	pend_free(u, x);
}

/* Every request of u, in flight and queued, fails with msg. */
static void fail_all(struct upstream *u, const char *msg)
{
	struct pend *x;

	while ((x = u->inflight)) {
		u->inflight = x->next;
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	while ((x = u->queue)) {
		u->queue = x->next;
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	u->queue_tail = &u->queue;
}

static void send_pend(struct upstream *u, struct pend *x)
{
	struct fa_error err = { 0 };

	x->info.version = u->c.version;
	x->info.modern = u->c.era == CERA_MODERN;
	x->info.name = x->name[0] ? x->name : NULL;
	x->start_ns = fa_now_ns();
	x->due_ns = x->start_ns + (uint64_t)u->timeout_ms * 1000000u;
	x->next = u->inflight;
	u->inflight = x;
	if (u->c.t->send(u->c.t, x->msg, x->len, &x->info, &err)) {
		char msg[700];

		take_pend(&u->inflight, x->uid);
		snprintf(msg, sizeof(msg), "upstream '%s': %.600s", u->name, err.msg);
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
		return;
	}
	free(x->msg);
	x->msg = NULL;
	if (!u->p->loop || u->sweep.slot >= 0)
		return;
	fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
}

/* Sends x now, or queues it behind the one in flight of a serial upstream. */
static void submit(struct upstream *u, struct pend *x)
{
	if (u->serial && (u->inflight || u->queue)) {
		x->next = NULL;
		*u->queue_tail = x;
		u->queue_tail = &x->next;
		return;
	}
	send_pend(u, x);
}

static void on_kick(struct fa_timer *t)
{
	struct upstream *u = t->ctx;
	struct pend *x;

	if (!u->up || u->inflight || !(x = u->queue))
		return;
	u->queue = x->next;
	if (!u->queue)
		u->queue_tail = &u->queue;
	send_pend(u, x);
}

/* The next queued request of a serial upstream goes, after this turn's I/O. */
static void kick(struct upstream *u)
{
	if (u->serial && u->queue && u->kick.slot < 0)
		fa_timer_start(u->p->loop, &u->kick, 0);
}

/* Requests past their time get an error; notifications/cancelled goes up for them. */
static void on_sweep(struct fa_timer *t)
{
	struct upstream *u = t->ctx;
	uint64_t now = fa_now_ns();
	struct pend **pp = &u->inflight;

	while (*pp) {
		struct pend *x = *pp;
		char msg[400];

		if (x->due_ns > now) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		snprintf(msg, sizeof(msg), "upstream '%s' did not answer %s within %d ms", u->name,
			 x->method, u->timeout_ms);
		if (u->up) {
			struct fa_buf b;
			json_t *params = json_pack("{s:I,s:s}", "requestId", (json_int_t)x->uid,
						   "reason", "timeout");
			struct csend info = { .method = "notifications/cancelled", .version = u->c.version,
					      .modern = u->c.era == CERA_MODERN };
			struct fa_error err = { 0 };

			fa_buf_init(&b, 0);
			fa_jr_put_notification(&b, "notifications/cancelled", params);
			u->c.t->send(u->c.t, b.data, b.len, &info, &err);
			fa_buf_release(&b);
			json_decref(params);
		}
		pend_fail(u, x, FA_JR_INTERNAL_ERROR, msg);
	}
	kick(u);
	if (u->inflight)
		fa_timer_start(u->p->loop, &u->sweep, SWEEP_MS);
}

/* ---- connecting ---- */

static void lists_release(struct upstream *u)
{
	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		json_decref(u->acc[i]);
		u->list[i] = u->acc[i] = NULL;
	}
}

/* The lists u's capabilities offer, read whole (blocking: at connect). */
static void read_lists(struct upstream *u)
{
	json_t *caps = json_object_get(u->c.server, "capabilities");
	struct fa_error err = { 0 };

	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		u->list[i] = NULL;
		if (!json_object_get(caps, lists_of[i].cap))
			continue;
		if (!(u->list[i] = client_list(&u->c, lists_of[i].method, lists_of[i].key, &err)))
			fprintf(stderr, "fa-mcp proxy: upstream '%s': %s: %s\n", u->name,
				lists_of[i].method, err.msg);
	}
}

/* Opens u's session (blocking); false with u->why set when it cannot. */
/* A replay upstream: its session and lists as recorded. */
static bool connect_replay(struct upstream *u)
{
	struct fa_error err = { 0 };
	const json_t *line, *lists;
	const char *const *names;
	int n;

	if (!u->replay && !(u->replay = recording_load(u->replay_file, &err))) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		return false;
	}
	names = recording_names(u->replay, &n);
	u->replay_name = recording_server(u->replay, u->name) ? u->name : n == 1 ? names[0] : NULL;
	if (!u->replay_name) {
		snprintf(u->why, sizeof(u->why), "%.300s holds no upstream named '%s'", u->replay_file, u->name);
		return false;
	}
	line = recording_server(u->replay, u->replay_name);
	u->c = (struct client){ .loop = u->p->loop, .server = json_incref(json_object_get(line, "server")),
				.version = json_string_value(json_object_get(line, "protocolVersion")) };
	u->c.era = u->c.version && !strcmp(u->c.version, FA_MCP_STATELESS_VERSION) ? CERA_MODERN : CERA_LEGACY;
	lists = json_object_get(line, "lists");
	for (int i = 0; i < NLISTS; i++) {
		json_decref(u->list[i]);
		u->list[i] = json_incref(json_object_get(lists, lists_of[i].key));
	}
	u->up = true;
	u->why[0] = 0;
	return true;
}

/* What the recording says of u's session: where, the server, its lists. */
static void record_server(struct upstream *u)
{
	json_t *l = json_object();

	if (!u->p->rec)
		return;
	for (int i = 0; i < NLISTS; i++)
		if (u->list[i])
			json_object_set(l, lists_of[i].key, u->list[i]);
	recorder_server(u->p->rec, u->name, u->command ? u->command : u->url, u->headers, u->nheaders,
			u->c.version, u->c.server, l);
	json_decref(l);
}

static bool connect_up(struct upstream *u)
{
	struct fa_error err = { 0 };
	struct ctransport *t;

	if (u->replay_file)
		return connect_replay(u);
	json_decref(u->c.server);
	u->c = (struct client){ .loop = u->p->loop, .era = u->p->era, .timeout_ms = u->timeout_ms };
	if (u->command)
		t = cstdio_new(u->p->loop, u->command, u->env, u->nenv, &err);
	else
		t = chttp_new(u->p->loop, u->url, u->headers, u->nheaders, NULL, NULL, u->timeout_ms, &err);
	if (!t) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		return false;
	}
	u->c.t = t;
	if (client_open(&u->c, &err)) {
		snprintf(u->why, sizeof(u->why), "%.500s", err.msg);
		client_close(&u->c);
		return false;
	}
	read_lists(u);
	record_server(u);
	t->on_message = up_message;
	t->on_fail = up_fail;
	t->client = u;
	u->serial = !u->command;
	u->up = true;
	u->up_since = fa_now_ns();
	u->why[0] = 0;
	return true;
}

static void schedule_restart(struct upstream *u)
{
	if (u->restart.slot >= 0)
		return;
	u->backoff_ms = !u->backoff_ms ? BACKOFF_MIN_MS :
			u->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : u->backoff_ms * 2;
	fa_timer_start(u->p->loop, &u->restart, (uint64_t)u->backoff_ms);
}

static void on_restart(struct fa_timer *t)
{
	struct upstream *u = t->ctx;

	if (u->c.t)
		client_close(&u->c);
	u->restarts++;
	if (connect_up(u)) {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' started again (restart %d)\n", u->name,
			u->restarts);
		kick(u);
		return;
	}
	fprintf(stderr, "fa-mcp proxy: upstream '%s': %s; trying again\n", u->name, u->why);
	schedule_restart(u);
}

/* Two names shown by the front that are the same: said at start. */
static void report_collisions(struct proxy *p);

void proxy_start(struct proxy *p, struct worker *w)
{
	p->w = w;
	p->loop = w->loop;
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		fa_timer_init(&u->restart, on_restart, u);
		fa_timer_init(&u->sweep, on_sweep, u);
		fa_timer_init(&u->kick, on_kick, u);
		u->queue_tail = &u->queue;
		if (!u->timeout_ms)
			u->timeout_ms = p->timeout_ms;
		if (connect_up(u)) {
			fprintf(stderr, "fa-mcp proxy: upstream '%s' (%s%s) speaks %s, %zu tools\n", u->name,
				u->command ? "stdio" : u->url ? u->url : "replay of ",
				u->replay_file ? u->replay_file : "", u->c.version ? u->c.version : "?",
				json_array_size(u->list[L_TOOLS]));
		} else {
			fprintf(stderr, "fa-mcp proxy: upstream '%s': %s; trying again\n", u->name, u->why);
			schedule_restart(u);
		}
	}
	report_collisions(p);
	fprintf(stderr, "fa-mcp proxy: serving %d upstream%s\n", p->nups, p->nups == 1 ? "" : "s");
}

void proxy_stop(struct proxy *p)
{
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		if (p->loop) {
			fa_timer_stop(p->loop, &u->restart);
			fa_timer_stop(p->loop, &u->sweep);
			fa_timer_stop(p->loop, &u->kick);
		}
		fail_all(u, "the proxy is stopping");
		if (u->c.t)
			client_close(&u->c);
		json_decref(u->c.server);
		u->c.server = NULL;
		recording_free(u->replay);
		u->replay = NULL;
		u->up = false;
		lists_release(u);
	}
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

/* ---- forwarding ---- */

/*
 * params for upstream u: the client's, with the name swapped for real,
 * the 2026 _meta keys taken out (the proxy's session speaks for the
 * client) and put back as u's era needs, and the progress token made the
 * proxy's own (uid).  A new reference.
 */
static json_t *up_params(struct upstream *u, const json_t *params, const char *real, long uid,
			 bool has_token)
{
	json_t *out = params ? json_copy((json_t *)params) : json_object();
	json_t *meta = json_object_get(params, "_meta"), *nm = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(meta, k, v)
		if (strncmp(k, META_PREFIX, strlen(META_PREFIX)) && strcmp(k, "progressToken"))
			json_object_set(nm, k, v);
	if (has_token)
		json_object_set_new(nm, "progressToken", json_integer(uid));
	if (u->c.era == CERA_MODERN) {
		json_object_set_new(nm, META_PREFIX "protocolVersion", json_string(u->c.version));
		json_object_set_new(nm, META_PREFIX "clientCapabilities", json_object());
		json_object_set_new(nm, META_PREFIX "clientInfo",
				    json_pack("{s:s,s:s}", "name", "fa-mcp-proxy", "version", FA_VERSION));
	}
	if (json_object_size(nm))
		json_object_set_new(out, "_meta", nm);
	else {
		json_object_del(out, "_meta");
		json_decref(nm);
	}
	if (real)
		json_object_set_new(out, "name", json_string(real));
	return out;
}

static void answer_back(struct upstream *u, struct pend *x, struct fa_jr_msg *m);

/* The recorded answer to m (its name now real), or an error naming the request. */
static void replay_answer(struct upstream *u, const struct fa_jr_msg *m, struct reply *r, const char *real)
{
	json_t *params = up_params(u, m->params, real, 0, false), *root;
	const json_t *line;
	struct pend x = { .r = r, .start_ns = fa_now_ns() };
	struct fa_jr_msg got = { 0 };

	json_object_del(params, "_meta");
	u->calls++;
	if (!(line = recording_match(u->replay, u->replay_name, m->method, params))) {
		struct fa_buf b, msg;

		fa_buf_init(&b, 0);
		fa_jr_put_json(&b, params);
		fa_buf_init(&msg, 0);
		fa_buf_printf(&msg, "replay: nothing recorded for %s %.300s%s (upstream '%s' in %s)", m->method,
			      b.data, b.len > 300 ? "..." : "", u->replay_name, recording_file(u->replay));
		u->errors++;
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, msg.data, NULL);
		fa_buf_release(&b);
		fa_buf_release(&msg);
		json_decref(params);
		return;
	}
	json_decref(params);
	root = json_pack("{s:s,s:n}", "jsonrpc", "2.0", "id");
	if (json_object_get(line, "error")) {
		got.kind = FA_JR_ERROR;
		json_object_set(root, "error", json_object_get(line, "error"));
	} else {
		got.kind = FA_JR_RESULT;
		/* a copy: a 2025 client's answer has the 2026 marks taken out */
		json_object_set_new(root, "result", json_deep_copy(json_object_get(line, "result")));
		got.result = json_object_get(root, "result");
	}
	got.root = root;
	u->p->w->inflight++;
	answer_back(u, &x, &got);
	json_decref(root);
}

/* Sends m on to u for r, the name (tools/call, prompts/get) now real. */
static void forward(struct upstream *u, const struct fa_jr_msg *m, struct reply *r, const char *real)
{
	struct pend *x;
	json_t *params, *id;
	struct fa_buf b;
	const char *name;

	if (!u->up) {
		char msg[700];

		snprintf(msg, sizeof(msg), "upstream '%s' is restarting: %s", u->name, u->why);
		u->errors++;
		mcp_fail(r, 200, FA_JR_INTERNAL_ERROR, msg, NULL);
		return;
	}
	if (u->replay)
		return replay_answer(u, m, r, real);
	x = calloc(1, sizeof(*x));
	x->uid = ++u->next_id;
	x->r = r;
	x->token = json_incref(r->progress);
	snprintf(x->method, sizeof(x->method), "%s", m->method);
	snprintf(x->from, sizeof(x->from), "%s", r->from ? r->from : "");
	params = up_params(u, m->params, real, x->uid, r->progress != NULL);
	if (u->p->rec) {
		x->params = json_copy(params);
		json_object_del(x->params, "_meta");
	}
	name = json_string_value(json_object_get(params, "name"));
	if (!name)
		name = json_string_value(json_object_get(params, "uri"));
	snprintf(x->name, sizeof(x->name), "%s", name ? name : "");
	x->info.method = x->method;
	id = json_integer(x->uid);
	fa_buf_init(&b, 0);
	fa_jr_put_request(&b, id, m->method, params);
	json_decref(id);
	json_decref(params);
	x->msg = fa_buf_detach(&b, &x->len);
	u->p->w->inflight++;
	u->calls++;
	submit(u, x);
}

static const double bucket_ms[7] = { 1, 2.5, 10, 25, 100, 250, 1000 };

static void observe(struct upstream *u, uint64_t ns)
{
	int i = 0;

	while (i < 7 && (double)ns / 1e6 > bucket_ms[i])
		i++;
	u->buckets[i]++;
	u->answered++;
	u->latency_ns += ns;
}

/* An answer from upstream for x: the client's id back, modern results complete. */
static void answer_back(struct upstream *u, struct pend *x, struct fa_jr_msg *m)
{
	struct fa_buf b;

	/* as the upstream answered, before the client's changes */
	if (u->p->rec && !u->replay)
		recorder_exchange(u->p->rec, u->name, x->method, x->params, m->root,
				  (double)(fa_now_ns() - x->start_ns) / 1e6);
	json_object_set(m->root, "id", x->r->id);
	if (m->kind == FA_JR_RESULT && json_is_object(m->result) && x->r->era == ERA_MODERN &&
	    !json_object_get(m->result, "resultType"))
		json_object_set_new(m->result, "resultType", json_string("complete"));
	if (m->kind == FA_JR_RESULT && json_is_object(m->result) && x->r->era == ERA_LEGACY &&
	    json_object_get(m->result, "resultType")) {
		/* a 2026 upstream's marks, which a 2025 client has no use for */
		json_t *meta = json_object_get(m->result, "_meta");

		json_object_del(m->result, "resultType");
		json_object_del(meta, META_PREFIX "serverInfo");
		if (meta && !json_object_size(meta))
			json_object_del(m->result, "_meta");
	}
	if (m->kind == FA_JR_ERROR)
		u->errors++;
	observe(u, fa_now_ns() - x->start_ns);
	fa_buf_init(&b, 0);
	fa_jr_put_json(&b, m->root);
	x->r->done(x->r, 200, b.data, b.len);
	x->r = NULL;
	u->p->w->inflight--;
	fa_buf_release(&b);
}

/* A list page of the proxy's own refresh; the next page asked for, or the list swapped in. */
static void list_page(struct upstream *u, struct pend *x, struct fa_jr_msg *m)
{
	int l = x->list;
	const char *next = json_string_value(json_object_get(m->result, "nextCursor"));

	if (m->kind != FA_JR_RESULT) {
		json_decref(u->acc[l]);
		u->acc[l] = NULL;
		return;
	}
	if (!u->acc[l])
		u->acc[l] = json_array();
	json_array_extend(u->acc[l], json_object_get(m->result, lists_of[l].key));
	if (next && *next) {
		struct pend *y = calloc(1, sizeof(*y));
		json_t *params = json_pack("{s:s}", "cursor", next), *id;
		struct fa_buf b;

		y->uid = ++u->next_id;
		y->list = l;
		snprintf(y->method, sizeof(y->method), "%s", lists_of[l].method);
		y->info.method = y->method;
		id = json_integer(y->uid);
		fa_buf_init(&b, 0);
		fa_jr_put_request(&b, id, lists_of[l].method, params);
		json_decref(id);
		json_decref(params);
		y->msg = fa_buf_detach(&b, &y->len);
		submit(u, y);
		return;
	}
	json_decref(u->list[l]);
	u->list[l] = u->acc[l];
	u->acc[l] = NULL;
}

static void refresh_list(struct upstream *u, int l)
{
	struct pend *x = calloc(1, sizeof(*x));
	json_t *id = json_integer(++u->next_id);
	struct fa_buf b;

	x->uid = json_integer_value(id);
	x->list = l;
	snprintf(x->method, sizeof(x->method), "%s", lists_of[l].method);
	x->info.method = x->method;
	fa_buf_init(&b, 0);
	fa_jr_put_request(&b, id, lists_of[l].method, NULL);
	json_decref(id);
	x->msg = fa_buf_detach(&b, &x->len);
	json_decref(u->acc[l]);
	u->acc[l] = NULL;
	submit(u, x);
}

/* Sends msg to the front's streams that hear of list changes (2025 era). */
static void broadcast(struct proxy *p, unsigned wants, const char *msg, size_t len)
{
	for (struct listener *l = p->w->listeners; l; l = l->next)
		if ((l->wants & wants) && !l->sub_id)
			l->send(l, msg, len);
}

/* A notification from upstream: to the client it belongs to, or to all. */
static void up_notification(struct upstream *u, struct fa_jr_msg *m)
{
	const char *method = m->method;
	struct fa_buf b;

	if (!strcmp(method, "notifications/progress")) {
		json_t *tok = json_object_get(m->params, "progressToken");

		for (struct pend *x = u->inflight; x; x = x->next)
			if (x->r && x->token && json_is_integer(tok) && json_integer_value(tok) == x->uid) {
				if (!x->r->notify)
					return;
				json_object_set(m->params, "progressToken", x->token);
				fa_buf_init(&b, 0);
				fa_jr_put_json(&b, m->root);
				x->r->notify(x->r, b.data, b.len);
				fa_buf_release(&b);
				return;
			}
		return;
	}
	if (!strcmp(method, "notifications/message")) {
		/* the one request in flight, when there is one; else nobody asked */
		struct pend *x = u->inflight;

		if (x && !x->next && x->r && x->r->notify) {
			fa_buf_init(&b, 0);
			fa_jr_put_json(&b, m->root);
			x->r->notify(x->r, b.data, b.len);
			fa_buf_release(&b);
		}
		return;
	}
	for (int l = 0; l < NLISTS; l++) {
		char ev[64];

		snprintf(ev, sizeof(ev), "notifications/%s/list_changed", l == L_TEMPLATES ? "resources" :
			 lists_of[l].key);
		if (!strcmp(method, ev)) {
			refresh_list(u, l);
			if (l == L_RESOURCES)
				refresh_list(u, L_TEMPLATES);
			fa_buf_init(&b, 0);
			fa_jr_put_notification(&b, method, NULL);
			broadcast(u->p, l == L_TOOLS ? LISTEN_TOOLS : l == L_PROMPTS ? LISTEN_PROMPTS :
				  LISTEN_RESOURCES, b.data, b.len);
			fa_buf_release(&b);
			return;
		}
	}
	if (!strcmp(method, "notifications/resources/updated")) {
		const char *uri = json_string_value(json_object_get(m->params, "uri"));

		fa_buf_init(&b, 0);
		fa_jr_put_json(&b, m->root);
		for (struct listener *l = u->p->w->listeners; l && uri; l = l->next)
			if ((l->wants & LISTEN_UPDATES) && !l->sub_id && l->subscribed &&
			    l->subscribed(l, uri))
				l->send(l, b.data, b.len);
		fa_buf_release(&b);
	}
}

/* A request of the upstream's own: ping answered, the rest refused. */
static void up_request(struct upstream *u, const struct fa_jr_msg *m)
{
	struct fa_buf b;
	char msg[300];

	fa_buf_init(&b, 0);
	if (!strcmp(m->method, "ping")) {
		json_t *empty = json_object();

		fa_jr_put_result(&b, m->id, empty);
		json_decref(empty);
	} else {
		snprintf(msg, sizeof(msg), "fa-mcp proxy does not pass on %.200s requests", m->method);
		fa_jr_put_error(&b, m->id, FA_JR_METHOD_NOT_FOUND, msg, NULL);
	}
	u->c.t->reply(u->c.t, b.data, b.len);
	fa_buf_release(&b);
}

static void up_message(struct ctransport *t, const char *msg, size_t len)
{
	struct upstream *u = t->client;
	struct fa_error err;
	struct fa_jr_msg m;
	struct pend *x;

	if (fa_jr_parse(&m, msg, len, &err)) {
		fprintf(stderr, "fa-mcp proxy: upstream '%s' sent a malformed message: %s\n", u->name, err.msg);
	} else if (m.kind == FA_JR_REQUEST) {
		up_request(u, &m);
	} else if (m.kind == FA_JR_NOTIFICATION) {
		up_notification(u, &m);
	} else if (json_is_integer(m.id) && (x = take_pend(&u->inflight, (long)json_integer_value(m.id)))) {
		if (x->r)
			answer_back(u, x, &m);
		else if (x->list >= 0)
			list_page(u, x, &m);
		pend_free(u, x);
		kick(u);
	}
	fa_jr_release(&m);
}

static void up_fail(struct ctransport *t, enum fa_err rc, const char *msg)
{
	struct upstream *u = t->client;
	char m[800];

	if (u->serial) {
		/* HTTP: the request in flight failed; the client reconnects for the next */
		snprintf(m, sizeof(m), "upstream '%s': %s", u->name, msg);
		while (u->inflight) {
			struct pend *x = u->inflight;

			u->inflight = x->next;
			pend_fail(u, x, FA_JR_INTERNAL_ERROR, m);
		}
		kick(u);
		return;
	}
	if (!u->up)
		return;
	u->up = false;
	snprintf(u->why, sizeof(u->why), "%s", msg);
	snprintf(m, sizeof(m), "upstream '%s' failed: %s; it is being restarted", u->name, msg);
	fprintf(stderr, "fa-mcp proxy: %s\n", m);
	fail_all(u, m);
	if (fa_now_ns() - u->up_since > STABLE_NS)
		u->backoff_ms = 0;
	/* the transport goes in the timer, not under its own callback */
	schedule_restart(u);
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
	forward(u, m, r, real == name ? NULL : real);
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
	forward(u, m, r, NULL);
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
		forward(u, &copy, r, NULL);
		json_decref(params);
		return;
	}
	forward(u, m, r, NULL);
}

/* notifications/cancelled from a client: its request's upstream hears of it, by the proxy's id. */
static void cancelled(struct proxy *p, const char *from, const struct fa_jr_msg *m)
{
	json_t *rid = json_object_get(m->params, "requestId");

	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];

		for (struct pend *x = u->inflight; x; x = x->next) {
			struct fa_buf b;
			json_t *params;
			struct csend info = { .method = "notifications/cancelled", .version = u->c.version,
					      .modern = u->c.era == CERA_MODERN };
			struct fa_error err = { 0 };

			if (!x->r || !json_equal(x->r->id, rid) || !same_from(x->from, from))
				continue;
			params = json_pack("{s:I}", "requestId", (json_int_t)x->uid);
			if (json_object_get(m->params, "reason"))
				json_object_set(params, "reason", json_object_get(m->params, "reason"));
			fa_buf_init(&b, 0);
			fa_jr_put_notification(&b, "notifications/cancelled", params);
			json_decref(params);
			take_pend(&u->inflight, x->uid);
			/* the client gave up on it: no answer */
			x->r->done(x->r, 200, "", 0);
			x->r = NULL;
			p->w->inflight--;
			pend_free(u, x);
			if (u->up)
				u->c.t->send(u->c.t, b.data, b.len, &info, &err);
			fa_buf_release(&b);
			kick(u);
			return;
		}
	}
}

/* logging/setLevel: every upstream in scope hears it; the answer is the proxy's. */
static void set_level(struct proxy *p, struct reply *r, const struct fa_jr_msg *m)
{
	for (int i = 0; i < p->nups; i++) {
		struct upstream *u = &p->ups[i];
		struct fa_buf b;
		json_t *id, *params;
		struct pend *x;

		if ((r->scope && r->scope != i + 1) || !u->up || u->replay ||
		    !json_object_get(json_object_get(u->c.server, "capabilities"), "logging"))
			continue;
		x = calloc(1, sizeof(*x));
		x->uid = ++u->next_id;
		x->list = -1;
		snprintf(x->method, sizeof(x->method), "%s", m->method);
		x->info.method = x->method;
		id = json_integer(x->uid);
		params = up_params(u, m->params, NULL, x->uid, false);
		fa_buf_init(&b, 0);
		fa_jr_put_request(&b, id, m->method, params);
		json_decref(id);
		json_decref(params);
		x->msg = fa_buf_detach(&b, &x->len);
		submit(u, x);
	}
	mcp_answer(r, json_object());
}

void proxy_dispatch(struct worker *w, const struct fa_jr_msg *m, struct reply *r)
{
	struct proxy *p = w->app->proxy;
	const char *method = m->method;

	if (!r) {
		if (!strcmp(method, "notifications/cancelled"))
			cancelled(p, w->note_from, m);
		return;
	}
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
	if (!strcmp(method, "resources/read") || !strcmp(method, "resources/subscribe") ||
	    !strcmp(method, "resources/unsubscribe"))
		return by_uri(p, r, m);
	if (!strcmp(method, "completion/complete"))
		return complete(p, r, m);
	if (r->era == ERA_MODERN && !strcmp(method, "server/discover"))
		return discover(p, r);
	if (r->era == ERA_LEGACY && !strcmp(method, "initialize"))
		return initialize(p, r, m);
	if (!strcmp(method, "ping"))
		return mcp_answer(r, json_object());
	if (r->era == ERA_LEGACY && !strcmp(method, "logging/setLevel"))
		return set_level(p, r, m);
	if (r->scope || p->nups == 1)
		return forward(&p->ups[r->scope ? r->scope - 1 : 0], m, r, NULL);
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

static void metrics(struct proxy *p, struct fa_hreq *rq)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "# TYPE fa_mcp_proxy_up gauge\n# TYPE fa_mcp_proxy_restarts_total counter\n"
		    "# TYPE fa_mcp_proxy_requests_total counter\n# TYPE fa_mcp_proxy_errors_total counter\n"
		    "# TYPE fa_mcp_proxy_latency_seconds histogram\n");
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
					      u->name, bucket_ms[k] / 1000, cum);
			else
				fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_bucket{upstream=\"%s\",le=\"+Inf\"} %lu\n",
					      u->name, cum);
		}
		fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_sum{upstream=\"%s\"} %.6f\n", u->name,
			      (double)u->latency_ns / 1e9);
		fa_buf_printf(&b, "fa_mcp_proxy_latency_seconds_count{upstream=\"%s\"} %" PRIu64 "\n",
			      u->name, u->answered);
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
