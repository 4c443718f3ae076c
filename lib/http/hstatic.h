/*
 * hstatic: a directory's files served over lib/http/hserver, whichever
 * protocol carries the request (HTTP/1.1, h2, h3).  GET and HEAD only;
 * index.html for a directory; strong ETags and Last-Modified, with 304
 * for If-None-Match and If-Modified-Since; the content type by extension
 * (lib/http/hfile); one byte range (206) when the request asks for it.  A
 * file goes out in bounded chunks as the client takes them, so memory does
 * not grow with its size.
 *
 * Nothing outside the directory is reachable: the request path is checked
 * first (no "..", no encoded '/', no NUL: lib/http/hfile), and the file is
 * opened beneath the directory's descriptor with openat2(RESOLVE_BENEATH),
 * which refuses any symlink that leaves it; where the kernel lacks
 * openat2, the opened file's real path must lie under the directory's.
 * Hidden files (.git, .env) are not served.
 *
 *	struct fa_hstatic *st = fa_hstatic_new("public", &err);
 *	...in the handler, when no route matched:
 *	if ((status = fa_hstatic_serve(st, rq, &err)))
 *		answer status with err.msg, as the application answers errors;
 *
 * One struct serves every worker thread: it is read-only after _new.
 */
#ifndef FA_HSTATIC_H
#define FA_HSTATIC_H

#include "core/err.h"
#include "http/hserver.h"

struct fa_hstatic;

/* Opens directory dir for serving; FA_EINPUT when it is not a readable directory. */
struct fa_hstatic *fa_hstatic_new(const char *dir, struct fa_error *err);

void fa_hstatic_free(struct fa_hstatic *st);

/*
 * Answers rq from the directory (200, 206, 304, or a 301 that adds a
 * directory's missing '/') and returns 0; or answers nothing and returns
 * the status the caller should answer with, the reason in err: 400 for a
 * path that is refused, 404 for no such file (or one that is hidden or
 * outside the directory), 403 when it cannot be read, 405 for a method
 * other than GET and HEAD (the Allow header added), 416 for a range past
 * the end (Content-Range added).
 */
int fa_hstatic_serve(struct fa_hstatic *st, struct fa_hreq *rq, struct fa_error *err);

#endif
