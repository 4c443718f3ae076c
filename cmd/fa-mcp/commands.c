/*
 * fa-mcp client commands: call, list, read, prompt, discover.  Each opens
 * one session with the target, does its one thing, prints the answer on
 * stdout and closes the session cleanly; shell (shell.c) does many in one
 * session.
 *
 * Exit status: 0 done; 1 the tool answered isError (its text on stderr);
 * 2 usage; 3 the server could not be reached or started, or broke off;
 * 4 the server's answer was malformed or an error of the protocol.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "http/tls.h"
#include "mcp/jsonrpc.h"

/* The tool's declared JSON type of key, or NULL when unknown. */
static const json_t *declared_type(const json_t *tool, const char *key)
{
	return json_object_get(json_object_get(json_object_get(json_object_get(tool, "inputSchema"),
								  "properties"), key), "type");
}

static bool type_has(const json_t *type, const char *name)
{
	size_t i;
	json_t *v;

	if (json_is_string(type))
		return !strcmp(json_string_value(type), name);
	json_array_foreach(type, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	return false;
}

/*
 * KEY=VALUE is a string unless the tool's schema wants no string there (a
 * number, a boolean, an array): then VALUE is read as JSON.  KEY:=JSON is
 * always JSON.
 */
static enum fa_err parse_arg(const char *a, const json_t *tool, json_t *args, struct fa_error *err)
{
	const char *eq = strchr(a, '=');
	bool raw = eq && eq > a && eq[-1] == ':';
	char key[256];
	json_t *v, *type;
	size_t klen;

	if (!eq || eq == a)
		return fa_error_set(err, FA_EUSAGE, "argument '%s': want KEY=VALUE or KEY:=JSON", a);
	klen = (size_t)(eq - a) - raw;
	snprintf(key, sizeof(key), "%.*s", (int)(klen < 255 ? klen : 255), a);
	type = tool ? (json_t *)declared_type(tool, key) : NULL;
	if (raw || (type && !type_has(type, "string"))) {
		if (!(v = json_loads(eq + 1, JSON_DECODE_ANY, NULL)))
			return fa_error_set(err, FA_EUSAGE, "argument '%s': '%s' is not JSON", key, eq + 1);
	} else {
		v = json_string(eq + 1);
	}
	json_object_set_new(args, key, v);
	return FA_OK;
}

/* The tool called name from tools (or, when NULL, tools/list), or NULL. */
static json_t *find_tool(struct client *c, const json_t *tools, const char *name)
{
	struct fa_error err = { 0 };
	json_t *res = NULL, *tool = NULL, *t;
	size_t i;

	if (!tools && !(res = client_list(c, "tools/list", "tools", &err)))
		return NULL;
	json_array_foreach(tools ? tools : res, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")) ?: "", name))
			tool = json_incref(t);
	json_decref(res);
	return tool;
}

static void print_json(const json_t *v, bool pretty)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	if (!fa_jr_put_json_pretty(&b, v, pretty ? 2 : 0) && b.data)
		puts(b.data);
	fa_buf_release(&b);
}

/* The text blocks of content, one per line, to f; how many there were. */
static int print_texts(const json_t *content, FILE *f)
{
	size_t i;
	json_t *b;
	int n = 0;

	json_array_foreach(content, i, b)
		if (json_is_string(json_object_get(b, "text"))) {
			fprintf(f, "%s\n", json_string_value(json_object_get(b, "text")));
			n++;
		}
	return n;
}

/* True when every block of content is text. */
static bool all_text(const json_t *content)
{
	size_t i;
	json_t *b;

	json_array_foreach(content, i, b)
		if (!json_is_string(json_object_get(b, "text")))
			return false;
	return true;
}

/*
 * A call's answer: its structuredContent (rows one a line with -F ndjson),
 * else its text blocks, else the content blocks as JSON; -F text prints
 * only the text blocks.  isError: the text on stderr, status 1.
 */
static int print_call(const json_t *res, enum cformat fmt)
{
	const json_t *sc = json_object_get(res, "structuredContent");
	const json_t *content = json_object_get(res, "content"), *rows, *row;
	size_t i;

	if (json_is_true(json_object_get(res, "isError"))) {
		if (!print_texts(content, stderr))
			fprintf(stderr, "fa-mcp: the tool failed and said nothing more\n");
		return FA_EWORK;
	}
	if (fmt == CF_TEXT || (!sc && all_text(content))) {
		print_texts(content, stdout);
		return FA_OK;
	}
	if (sc && fmt == CF_NDJSON && (rows = json_object_get(sc, "rows")) && json_is_array(rows)) {
		json_array_foreach(rows, i, row)
			print_json(row, false);
		return FA_OK;
	}
	print_json(sc ? sc : content, fmt == CF_JSON);
	return FA_OK;
}

static int cmd_call(struct client *c, struct cargs *a, struct fa_error *err)
{
	json_t *args = json_object(), *tool = NULL, *res = NULL;
	bool need_schema = false;
	int rc;

	for (int i = 1; i < a->nwords; i++)
		need_schema |= !strstr(a->words[i], ":=");
	if (need_schema)
		tool = find_tool(c, a->tools, a->words[0]);
	for (int i = 1; i < a->nwords; i++)
		if ((rc = parse_arg(a->words[i], tool, args, err))) {
			json_decref(tool);
			json_decref(args);
			return rc;
		}
	json_decref(tool);
	if ((rc = client_request(c, "tools/call", json_pack("{s:s,s:o}", "name", a->words[0],
							    "arguments", args), &res, err)))
		return rc == FA_EWORK ? FA_EINPUT : rc;
	rc = print_call(res, a->format);
	json_decref(res);
	return rc;
}

/* What list can list: the method, and the key of its array in the result. */
static const struct {
	const char *what, *method, *key;
} lists[] = {
	{ "tools", "tools/list", "tools" },
	{ "resources", "resources/list", "resources" },
	{ "templates", "resources/templates/list", "resourceTemplates" },
	{ "prompts", "prompts/list", "prompts" },
};

/* An item's name and description, for -F text: a resource by its URI. */
static void print_item(const json_t *it)
{
	const char *name = json_string_value(json_object_get(it, "uri"));

	if (!name)
		name = json_string_value(json_object_get(it, "uriTemplate"));
	if (!name)
		name = json_string_value(json_object_get(it, "name"));
	printf("%s\t%s\n", name ? name : "", json_string_value(json_object_get(it, "description")) ?: "");
}

static int cmd_list(struct client *c, struct cargs *a, struct fa_error *err)
{
	const char *what = a->nwords ? a->words[0] : "tools";
	json_t *res = NULL, *items, *it;
	size_t i, k;

	for (k = 0; k < sizeof(lists) / sizeof(lists[0]) && strcmp(what, lists[k].what); k++)
		;
	if (k == sizeof(lists) / sizeof(lists[0]))
		return fa_error_set(err, FA_EUSAGE, "list: '%s' is not one of tools, resources, "
				    "templates or prompts", what);
	if (!(res = client_list(c, lists[k].method, lists[k].key, err)))
		return err->code == FA_EWORK ? FA_EINPUT : err->code;
	items = res;
	if (a->format == CF_TEXT)
		json_array_foreach(items, i, it)
			print_item(it);
	else if (a->format == CF_NDJSON)
		json_array_foreach(items, i, it)
			print_json(it, false);
	else
		print_json(items, true);
	json_decref(res);
	return FA_OK;
}

/* read URI: each content's text, or the whole contents as JSON (blobs, -F json). */
static int cmd_read(struct client *c, struct cargs *a, struct fa_error *err)
{
	json_t *res = NULL, *contents, *it;
	size_t i;
	int rc;

	if (a->nwords != 1)
		return fa_error_set(err, FA_EUSAGE, "read: give one URI");
	if ((rc = client_request(c, "resources/read", json_pack("{s:s}", "uri", a->words[0]), &res, err)))
		return rc == FA_EWORK ? FA_EINPUT : rc;
	contents = json_object_get(res, "contents");
	if (a->format == CF_TEXT)
		json_array_foreach(contents, i, it)
			if (json_is_string(json_object_get(it, "text")))
				printf("%s\n", json_string_value(json_object_get(it, "text")));
	if (a->format == CF_NDJSON)
		json_array_foreach(contents, i, it)
			print_json(it, false);
	if (a->format == CF_JSON)
		print_json(contents, true);
	json_decref(res);
	return FA_OK;
}

/* prompt NAME [KEY=VALUE]...: the messages (arguments are strings). */
static int cmd_prompt(struct client *c, struct cargs *a, struct fa_error *err)
{
	json_t *args = json_object(), *res = NULL, *msgs, *m;
	size_t i;
	int rc;

	if (!a->nwords) {
		json_decref(args);
		return fa_error_set(err, FA_EUSAGE, "prompt: give the prompt's name");
	}
	for (int k = 1; k < a->nwords; k++) {
		const char *eq = strchr(a->words[k], '=');
		char key[256];

		if (!eq || eq == a->words[k]) {
			json_decref(args);
			return fa_error_set(err, FA_EUSAGE, "argument '%s': want KEY=VALUE", a->words[k]);
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - a->words[k] < 255 ? eq - a->words[k] : 255),
			 a->words[k]);
		json_object_set_new(args, key, json_string(eq + 1));
	}
	if ((rc = client_request(c, "prompts/get", json_pack("{s:s,s:o}", "name", a->words[0],
							     "arguments", args), &res, err)))
		return rc == FA_EWORK ? FA_EINPUT : rc;
	msgs = json_object_get(res, "messages");
	if (a->format == CF_TEXT)
		json_array_foreach(msgs, i, m)
			printf("%s: %s\n", json_string_value(json_object_get(m, "role")) ?: "",
			       json_string_value(json_object_get(json_object_get(m, "content"), "text")) ?: "");
	else if (a->format == CF_NDJSON)
		json_array_foreach(msgs, i, m)
			print_json(m, false);
	else
		print_json(msgs, true);
	json_decref(res);
	return FA_OK;
}

static int cmd_discover(struct client *c, struct cargs *a)
{
	json_t *out = json_pack("{s:s,s:s,s:O}", "era", c->era == CERA_MODERN ? "2026-07-28 (stateless)" :
				"initialize", "protocolVersion", c->version ? c->version : "",
				"server", c->server);

	print_json(out, a->format != CF_NDJSON);
	json_decref(out);
	return FA_OK;
}

int client_command(struct client *c, struct cargs *a, struct fa_error *err)
{
	if (!strcmp(a->command, "call"))
		return cmd_call(c, a, err);
	if (!strcmp(a->command, "list"))
		return cmd_list(c, a, err);
	if (!strcmp(a->command, "read"))
		return cmd_read(c, a, err);
	if (!strcmp(a->command, "prompt"))
		return cmd_prompt(c, a, err);
	return cmd_discover(c, a);
}

int mcp_client_main(struct cargs *a)
{
	struct fa_error err = { 0 };
	struct fa_loop *loop = fa_loop_new(&err);
	struct client c = { .loop = loop, .era = a->era, .timeout_ms = a->timeout_ms };
	struct fa_tls *tls = NULL;
	int rc;

	if (!loop) {
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
		return FA_EWORK;
	}
	if (!a->stdio && (a->cacert || a->insecure)) {
		struct fa_tls_client_opts o = { .ca_file = a->cacert, .insecure = a->insecure };

		if (!(tls = fa_tls_client_new(&o, &err))) {
			fprintf(stderr, "fa-mcp: %s\n", err.msg);
			fa_loop_free(loop);
			return err.code;
		}
	}
	/* a --stdio server that is gone is an EPIPE to report, not a death */
	signal(SIGPIPE, SIG_IGN);
	c.t = a->stdio ? cstdio_new(loop, a->stdio, a->env, a->nenv, &err) :
	      chttp_new(loop, a->url, a->headers, a->nheaders, a->bearer,
			a->cred.client_id ? &a->cred : NULL, a->timeout_ms, tls, &err);
	rc = c.t ? client_open(&c, &err) : err.code;
	if (rc == FA_EWORK)
		rc = FA_EINPUT;         /* the handshake's error: the protocol failed */
	if (!rc && !strcmp(a->command, "shell"))
		rc = mcp_shell(&c, a, &err);
	else if (!rc)
		rc = client_command(&c, a, &err);
	if (rc && err.msg[0])
		fprintf(stderr, "fa-mcp: %s\n", err.msg);
	client_close(&c);
	fa_loop_free(loop);
	fa_tls_free(tls);               /* after the connections that used it */
	return rc;
}
