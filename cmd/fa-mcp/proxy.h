/*
 * fa-mcp proxy: MCP servers ("upstreams") behind one front, any transport
 * to any transport.
 *
 * The front is serve's own transports (stdio.c, http.c, legacy.c): they
 * hand each message to mcp_dispatch(), which hands it here when the app
 * has a proxy.  The proxy answers initialize, server/discover, ping and
 * the lists itself, and forwards the rest to the upstream a name or URI
 * belongs to.  Each upstream is one session the proxy holds, opened with
 * the client's code (client.c over cstdio.c or chttp.c, the era probed),
 * so a 2026-07-28 client reaches a 2025-11-25 upstream and the other way
 * round.  All of the front's clients share it: request ids are rewritten
 * to the proxy's own on the way up and mapped back on the way down, and
 * progress tokens with them, so that two clients may use the same ids.
 *
 * With more than one upstream, tool and prompt names are prefixed
 * ("NAME__tool"; --separator, "" for none, then the first upstream wins
 * a collision); collisions are said on stderr at start.  --allow and
 * --deny filter an upstream's tools by glob.  /NAME/mcp serves one
 * upstream alone, names unprefixed.
 *
 * A stdio upstream that dies is started again after a backoff (100 ms,
 * doubling to 10 s); its calls in flight get an error saying so, and
 * calls meanwhile an error saying it is restarting.
 *
 * Everything runs on the one loop of the worker that started it (the
 * HTTP front has one worker thread in proxy mode).
 */
#ifndef FAMCP_PROXY_H
#define FAMCP_PROXY_H

#include <stdbool.h>

#include "core/err.h"
#include "famcp.h"

struct proxy;

/* A proxy of no upstreams yet; separator "__" unless set. */
struct proxy *proxy_new(void);
void proxy_free(struct proxy *p);

/* "NAME=URL", "NAME=stdio:COMMAND ARGS" or "NAME=replay:FILE"; FA_EUSAGE naming spec when malformed. */
enum fa_err proxy_add(struct proxy *p, const char *spec, struct fa_error *err);

/* --upstream-header "NAME=Header: value": sent to HTTP upstream NAME. */
enum fa_err proxy_header(struct proxy *p, const char *spec, struct fa_error *err);

/*
 * The servers of a JSON file in the mcpServers layout MCP clients use:
 * {"mcpServers": {"NAME": {"command", "args", "env"} | {"url", "headers"}}},
 * each with an optional "timeout" in ms.  FA_EINPUT naming the file and
 * the server when malformed.
 */
enum fa_err proxy_config(struct proxy *p, const char *file, struct fa_error *err);

/* --record FILE: every upstream exchange as NDJSON (replay.h); FA_EINPUT when it cannot be written. */
enum fa_err proxy_record(struct proxy *p, const char *file, struct fa_error *err);

/* fa-mcp replay FILE: an upstream NAME=replay:FILE for each upstream recorded in it. */
enum fa_err proxy_replay(struct proxy *p, const char *file, struct fa_error *err);

/* --allow / --deny "NAME=GLOB" (or a bare GLOB for every upstream). */
enum fa_err proxy_filter(struct proxy *p, const char *spec, bool allow, struct fa_error *err);

/* The separator of prefixed names ("" for none). */
void proxy_set_separator(struct proxy *p, const char *sep);

/* The longest wait for an upstream's answer, for all (ms; 0: 60000). */
void proxy_set_timeout(struct proxy *p, int ms);

/* The era to speak upstream (enum cera of client.h; CERA_AUTO probes each). */
void proxy_set_era(struct proxy *p, int era);

/* How many upstreams were added. */
int proxy_count(const struct proxy *p);

/*
 * Connects every upstream on w's loop (blocking, before the front serves),
 * reads their lists and says collisions on stderr.  An upstream that
 * cannot start is said on stderr and tried again with backoff.
 */
void proxy_start(struct proxy *p, struct worker *w);

/* Ends every upstream's session (children stopped as the lifecycle asks). */
void proxy_stop(struct proxy *p);

/* A request (r) or notification (r NULL) of a front client, as mcp_dispatch. */
void proxy_dispatch(struct worker *w, const struct fa_jr_msg *m, struct reply *r);

/*
 * What the front's clients subscribed to may have changed (a listener
 * came or went, a resources/subscribe, a session ended): after this
 * turn, each 2026 upstream's listen asks for the URIs of its own that
 * they want, opened anew when they differ.
 */
void proxy_subs_changed(struct proxy *p);

/* The upstream a path "/NAME/mcp" names: its number from 1; 0 when none. */
int proxy_scope(const struct proxy *p, const char *path, size_t len);

/* GET /ready (503 while an upstream is down) and /metrics; false for other requests. */
bool proxy_http(struct proxy *p, struct fa_hreq *rq);

#endif
