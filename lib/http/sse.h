/*
 * sse: a Server-Sent Events parser, the "event stream interpretation" of
 * the WHATWG HTML standard (section 9.2.6), for the client side of MCP's
 * Streamable HTTP and anything else that reads text/event-stream.  It does
 * no I/O: the caller feeds it body bytes in whatever pieces they came, and
 * takes the events out one at a time.
 *
 *	struct fa_sse s;
 *	struct fa_sse_event ev;
 *	fa_sse_init(&s, 0);
 *	while (n > 0) {            // for each piece p[0..n) of the body
 *		rc = fa_sse_feed(&s, p, n, &used, &ev, &err);
 *		if (rc < 0) fail(err.msg);
 *		p += used, n -= used;
 *		if (rc > 0) handle(&ev);
 *	}
 *	fa_sse_release(&s);
 *
 * What it follows: lines end in CRLF, LF or CR (a CR at the end of one
 * piece and an LF at the start of the next are one line end); a UTF-8 BOM
 * at the very start is dropped; lines starting with ':' are comments; a
 * line without ':' is a field with an empty value; one space after the
 * colon is dropped; "event" sets the type, "data" adds a line to the data,
 * "id" sets the last event ID unless its value holds a NUL, "retry" of
 * ASCII digits only sets the reconnection time, other fields are ignored;
 * an empty line dispatches the event, unless no data came (then the type
 * is forgotten, and the ID still becomes the last event ID).  At the end
 * of the stream an event without its empty line is dropped, so there is
 * nothing to call then.
 *
 * What it does not: decode UTF-8.  Bytes pass through as they came
 * (invalid sequences are not replaced by U+FFFD), which is what a caller
 * handing the data to a JSON parser wants.
 *
 * Limits: a line, and the data of one event, may hold at most max bytes;
 * past it fa_sse_feed() fails (FA_EINPUT), since a stream that never ends
 * its lines or its events would grow without bound.
 *
 * Ownership: an event's strings belong to the parser and stay valid until
 * the next fa_sse_feed() or fa_sse_release().
 */
#ifndef FA_SSE_H
#define FA_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* The default limit of a line and of one event's data. */
#define FA_SSE_MAX (1 << 20)

struct fa_sse_event {
	const char *type;       /* "message" unless an "event" field said */
	size_t type_len;
	const char *data;       /* the data lines joined by '\n', NUL-terminated */
	size_t data_len;
	const char *id;         /* the last event ID, "" when none was set */
	size_t id_len;
	int64_t retry;          /* the reconnection time in ms, as the stream
				   last set it; -1 when it never did */
};

/* A parser; its fields are private except those marked read-only. */
struct fa_sse {
	size_t max;
	struct fa_buf line, data, type, id, last_id;
	int64_t retry;          /* read-only: as in struct fa_sse_event */
	bool cr;                /* the last byte fed was a CR */
	bool started;           /* the first line (and any BOM) is behind */
	bool dispatched;        /* an event is out: clear its buffers first */
	bool failed;
};

/* Sets up s for one stream; max 0 means FA_SSE_MAX. */
void fa_sse_init(struct fa_sse *s, size_t max);

/* Frees what s holds; it can be set up again with fa_sse_init(). */
void fa_sse_release(struct fa_sse *s);

/*
 * Reads in[0..n) up to the end of the next event and sets *used to the
 * bytes it took.  1: an event is in *ev (the caller feeds in[*used..n)
 * next); 0: all of in was taken, no event yet; -1: a line or an event's
 * data is over max, err says which (FA_EINPUT), and s must not be fed
 * again.
 */
int fa_sse_feed(struct fa_sse *s, const char *in, size_t n, size_t *used,
		struct fa_sse_event *ev, struct fa_error *err);

/* The last event ID (what a reconnecting client sends as Last-Event-ID),
   "" when none was set; valid until the next feed. */
const char *fa_sse_last_id(const struct fa_sse *s, size_t *len);

/*
 * The writing side: appends one event to b, "event: NAME" (none when name
 * is NULL) and one "data:" line per line of data[0..n) (CR, LF and CRLF
 * all end a line, so the reader gets the lines back joined by LF), then
 * the blank line that dispatches it.
 */
enum fa_err fa_sse_put_event(struct fa_buf *b, const char *name, const char *data, size_t n);

#endif
