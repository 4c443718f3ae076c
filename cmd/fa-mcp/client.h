/*
 * fa-mcp's client side: a session with one MCP server over a transport
 * (a child on stdio; Streamable HTTP, or the HTTP+SSE transport it falls
 * back to), in whichever era the server speaks, for the client commands
 * and the shell.  Requests go one at a time: client_request() runs the
 * loop until its answer comes, the transport fails, or the timeout
 * passes; after a 401 it asks the transport to get a token (reauth) and
 * sends the request once more.  The server's own requests are answered
 * meanwhile (ping) or refused (-32601).
 */
#ifndef FAMCP_CLIENT_H
#define FAMCP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "core/loop.h"
#include "coauth.h"

/* What a transport needs beyond the message, for HTTP's headers. */
struct csend {
	const char *method;             /* the JSON-RPC method */
	const char *name;               /* params.name or params.uri, or NULL */
	const char *version;            /* the protocol version in use, or NULL before one is */
	bool modern;                    /* 2026-07-28: Mcp-Method and Mcp-Name go too */
};

/*
 * A way to the server.  send queues one message; every message that
 * comes back goes to on_message; a failure of the transport (the child
 * died, the connection broke, a malformed answer) to on_fail with
 * FA_ECONNECT or FA_EINPUT.  close ends the session cleanly.  The memory
 * of msg stays the caller's in send and reply.
 */
struct ctransport {
	enum fa_err (*send)(struct ctransport *t, const char *msg, size_t len,
			    const struct csend *info, struct fa_error *err);
	/*
	 * After a failure: true when the transport got new credentials and
	 * the message should go again (HTTP after a 401, when it may run
	 * OAuth); false otherwise, with err set when trying failed.  NULL
	 * when it never can.
	 */
	bool (*reauth)(struct ctransport *t, struct fa_error *err);
	/* an answer to a request of the server's, sent without waiting for anything */
	void (*reply)(struct ctransport *t, const char *msg, size_t len);
	void (*close)(struct ctransport *t);
	void (*on_message)(struct ctransport *t, const char *msg, size_t len);
	void (*on_fail)(struct ctransport *t, enum fa_err rc, const char *msg);
	void *client;                   /* set by the client */
	/* true while on_message has a message that no request of the
	   client's carried (chttp_stand()'s stream): one of the server's own */
	bool unrelated;
	/* set with on_fail when the server ended the session (a 2025 one
	   answered 404): it needs a new one, opened from the start */
	bool gone;
};

/* A child process speaking MCP on its stdin and stdout (stderr passes through). */
struct fa_tls;

struct ctransport *cstdio_new(struct fa_loop *loop, const char *command, char **env, int nenv,
			      struct fa_error *err);

/*
 * Streamable HTTP (or HTTP+SSE) to url, with extra headers ("Name: value"),
 * a bearer token, and client credentials for OAuth after a 401 (cred may
 * be NULL; it and what it points to must outlive the transport).  An
 * https URL is checked with tls (fa_tls_client_new(), which must outlive
 * the transport), or with the system's CAs when tls is NULL.
 */
struct ctransport *chttp_new(struct fa_loop *loop, const char *url, char **headers, int nheaders,
			     const char *bearer, const struct coauth *cred, int timeout_ms,
			     struct fa_tls *tls, struct fa_error *err);

/*
 * Another connection into t's session (a chttp_new() transport, opened):
 * its own POSTs, the same URL, headers, token and Mcp-Session-Id, so that
 * requests go at once on each; closing it leaves the session open.  Its
 * requests time out after timeout_ms (0: never).  NULL with err for an
 * HTTP+SSE session, whose answers come on t's stream.
 */
struct ctransport *chttp_clone(struct ctransport *t, int timeout_ms, struct fa_error *err);

/* True when no POST of t is still going (answered or not). */
bool chttp_idle(const struct ctransport *t);

/*
 * The 2025 era's GET stream of t's session (opened: Mcp-Session-Id
 * known), for what the server sends outside any request (list changes,
 * its own requests); its messages go to on_message with t->unrelated set.
 * Opened again a second after it ends or fails; a server that answers
 * the GET 405, or without an event stream, has none, and it is let be.
 */
void chttp_stand(struct ctransport *t);

enum cera { CERA_AUTO, CERA_LEGACY, CERA_MODERN };

struct client {
	struct fa_loop *loop;
	struct ctransport *t;
	enum cera era;                  /* asked for, then found */
	const char *version;            /* in use once connected */
	json_t *server;                 /* what initialize or discover answered */
	json_t *caps;                   /* the capabilities initialize declares (borrowed); NULL: none */
	long next_id;
	int timeout_ms;
	/* the request being waited for */
	long want_id;
	json_t *answer;                 /* the whole response message */
	enum fa_err fail;
	char fail_msg[1024];
};

/* Connects: probes the era (auto) and initializes when it is the 2025 one. */
enum fa_err client_open(struct client *c, struct fa_error *err);

/*
 * Sends method with params (stolen) and waits for the answer: FA_OK with
 * *result (a new reference), FA_EWORK with a JSON-RPC error's message in
 * err, or the transport's failure.
 */
enum fa_err client_request(struct client *c, const char *method, json_t *params, json_t **result,
			   struct fa_error *err);

/*
 * A whole list (tools/list and the like): the key arrays of every page,
 * following nextCursor, as one new array; NULL with err set as
 * client_request() sets it.
 */
json_t *client_list(struct client *c, const char *method, const char *key, struct fa_error *err);

/* Ends the session (DELETE over HTTP, stdin closed for a child). */
void client_close(struct client *c);

#endif
