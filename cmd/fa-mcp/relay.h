/*
 * fa-mcp proxy: what an upstream sends of its own (notifications, and
 * requests for a client), relayed to the front.  Internal to proxy.c and
 * upstream.c, as upstream.h is; relay.c says how each goes.
 */
#ifndef FAMCP_RELAY_H
#define FAMCP_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "upstream.h"

/* A notification from u: recorded (--record) with its call, then to where it goes. */
void relay_notification(struct upstream *u, struct fa_jr_msg *m);

/*
 * One note of a recorded exchange, for x's client: a notification sent,
 * or a request the client answered then asked of it again (true: x then
 * waits for the answer, and upstream_replay_step() goes on after it).
 */
bool relay_replay_note(struct upstream *u, struct pend *x, const json_t *note);

/* The front's listeners hear that list l changed (the templates go with the resources). */
void relay_changed(struct proxy *p, int l);

/*
 * A request of u's own that came on connection t: ping answered,
 * sampling, elicitation and roots passed to the client whose call it
 * came during, the rest refused.
 */
void relay_request(struct upstream *u, struct ctransport *t, const struct fa_jr_msg *m);

/*
 * A client's response (from its session from) to a request of u's own:
 * true when it was one, then u gets it under its own id.
 */
bool relay_client_answer(struct upstream *u, const char *from, const struct fa_jr_msg *m);

/*
 * A 2026 client's answer value, under key in the inputResponses of its
 * retry of call x: true when key was one of u's requests in x, then u
 * gets value as its result.
 */
bool relay_input_response(struct upstream *u, const struct pend *x, const char *key, const json_t *value);

/*
 * A 2026 upstream's input_required result m to x, whose client is of
 * 2025 and takes requests: each of inputRequests asked of it, under an id
 * of the proxy's; x goes up again (upstream_again) when all are answered.
 * False when the client has no stream to be asked on.
 */
bool relay_ask_client(struct upstream *u, struct pend *x, const struct fa_jr_msg *m);

/* u's deferred requests tried again: the calls in flight changed. */
void relay_deferred(struct upstream *u);

/* u's requests with clients past their time: u hears the client did not answer. */
void relay_sweep(struct upstream *u, uint64_t now);

/* u's requests with clients let go: its session ended. */
void relay_drop(struct upstream *u);

#endif
