/*
 * haccess: the access log line of a finished request, for the servers
 * over hserver (fa-serve, fa-mcp): nginx's combined format plus the
 * request's and the database's seconds, or one JSON object.  It only
 * formats; the caller writes the line (once per line, so that worker
 * threads may share one file).
 *
 *	struct fa_buf b;
 *	fa_buf_init(&b, 0);
 *	fa_haccess_line(&b, rq, false, secs);
 *	fwrite(b.data, 1, b.len, log);
 *	fa_buf_release(&b);
 */
#ifndef FA_HACCESS_H
#define FA_HACCESS_H

#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "http/hserver.h"

/*
 * Appends rq's line, ending in a newline, to out: the combined format
 * (fields escaped as nginx does, so none ends early or forges a line)
 * with secs and rq->app_ns as seconds, or with json one object with
 * time, client, method, path, status, bytes, referer, user_agent,
 * seconds and db_seconds.
 */
void fa_haccess_line(struct fa_buf *out, const struct fa_hreq *rq, bool json, double secs);

/* --log-format's value: "text" (false) or "json" (true) into *json;
   false for anything else. */
bool fa_haccess_format(const char *arg, bool *json);

/* --access-log's file, opened to append ("-": stderr); NULL with
   FA_EINPUT naming it when it cannot be.  fa_haccess_close() ends it. */
FILE *fa_haccess_open(const char *path, struct fa_error *err);
void fa_haccess_close(FILE *f);

#endif
