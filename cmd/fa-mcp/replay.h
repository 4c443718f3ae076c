/*
 * fa-mcp proxy's recordings: every upstream exchange as one NDJSON line,
 * and the answers read back for replay.
 *
 * A recording holds, per upstream, a "server" line written when its
 * session opens (how it was reached, with secret headers redacted; the
 * protocol version; what initialize or server/discover answered; its
 * lists), then an "exchange" line per request answered (method, params
 * without _meta, the response's result or error, the milliseconds it
 * took, the notifications about it: progress, log messages, and list
 * changes while it was the one in flight; and the upstream's requests to
 * the client during it, with the client's response).  Lines are flushed as they are written, so a recording cut
 * short is whole up to its last line.
 *
 * Replay matches a request on its method and params (without _meta):
 * the recorded exchanges that match answer in the order they were
 * recorded, the last one again once they are used up, so a replay is
 * deterministic.  Its notifications go before its answer, in their order
 * (at once: their timing is not played back), and its requests are asked
 * of the client again in their place.
 */
#ifndef FAMCP_REPLAY_H
#define FAMCP_REPLAY_H

#include <jansson.h>

#include "core/err.h"

struct recorder;

/* Opens file for writing (truncated); NULL with err FA_EINPUT when it cannot. */
struct recorder *recorder_open(const char *file, struct fa_error *err);
void recorder_close(struct recorder *rec);

/*
 * The "server" line of upstream name: target is the command line or URL,
 * headers "Name: value" (secret ones redacted), server what initialize
 * or discover answered, lists an object of its lists ("tools": [...]).
 */
void recorder_server(struct recorder *rec, const char *name, const char *target, char **headers,
		     int nheaders, const char *version, const json_t *server, const json_t *lists);

/*
 * An "exchange" line: the request's method and params, the whole response
 * message, and the notifications about it that came before (notes, an
 * array of {"ms": since the request, "message": ...}, or NULL).
 */
void recorder_exchange(struct recorder *rec, const char *name, const char *method,
		       const json_t *params, const json_t *response, double ms, const json_t *notes);

/* A "notification" line: one that no request in flight was about (replay does not send it). */
void recorder_notification(struct recorder *rec, const char *name, const json_t *message);

struct recording;

/* Reads a recording; NULL with err (FA_EINPUT, naming the file and line) when it cannot. */
struct recording *recording_load(const char *file, struct fa_error *err);
void recording_free(struct recording *r);

/* The file it was read from. */
const char *recording_file(const struct recording *r);

/* The names of the upstreams recorded, in order; *n of them (borrowed). */
const char *const *recording_names(const struct recording *r, int *n);

/* The "server" line of upstream name, or NULL (borrowed). */
const json_t *recording_server(const struct recording *r, const char *name);

/*
 * The response recorded for method and params (without _meta) of
 * upstream name: an object with "result" or "error" (borrowed), or NULL
 * when none matches.
 */
const json_t *recording_match(struct recording *r, const char *name, const char *method,
			      const json_t *params);

#endif
