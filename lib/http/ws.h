/*
 * ws: the WebSocket protocol (RFC 6455) without I/O, and its
 * permessage-deflate extension (RFC 7692).  The opening handshake is
 * checked and answered from a request's header fields; a reader takes the
 * bytes of a connection in whatever pieces they came and yields whole
 * messages and control frames; writers append frames to a buffer.
 *
 *	struct fa_ws ws;
 *	struct fa_ws_msg m;
 *	fa_ws_init(&ws, true, 1 << 20);
 *	while (n > 0) {            // for each piece p[0..n) read
 *		rc = fa_ws_feed(&ws, p, n, &used, &m, &err);
 *		if (rc < 0) { send_close(ws.close_code, err.msg); break; }
 *		p += used, n -= used;
 *		if (rc > 0) handle(&m);
 *	}
 *	fa_ws_release(&ws);
 *
 * The reader enforces what RFC 6455 section 5 asks of a peer, and names
 * the close code each violation earns (ws.close_code): frames from a
 * client masked and from a server not (1002); reserved bits clear unless
 * an extension gave them a meaning (1002); opcodes 3-7 and 11-15 unknown
 * (1002); control frames of at most 125 bytes and never fragmented
 * (1002), allowed between the fragments of a message; a continuation only
 * inside a message, a new message only after the last one ended (1002);
 * a close frame's code one that may be sent on the wire, and its reason
 * UTF-8 (1002, 1007); text messages UTF-8, checked as the bytes arrive
 * so a bad one fails at its first bad byte (1007); a message over max
 * bytes, counted after inflating when compressed (1009).
 *
 * Ownership: a message's data belongs to the reader and stays valid until
 * the next fa_ws_feed() or fa_ws_release().
 */
#ifndef FA_WS_H
#define FA_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"

enum fa_ws_op {
	FA_WS_CONT = 0x0, FA_WS_TEXT = 0x1, FA_WS_BINARY = 0x2,
	FA_WS_CLOSE = 0x8, FA_WS_PING = 0x9, FA_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 section 7.4.1) this module sends or names. */
enum fa_ws_code {
	FA_WS_NORMAL = 1000, FA_WS_GOING_AWAY = 1001, FA_WS_PROTOCOL = 1002,
	FA_WS_NO_STATUS = 1005, FA_WS_BAD_DATA = 1007, FA_WS_POLICY = 1008,
	FA_WS_TOO_BIG = 1009, FA_WS_INTERNAL = 1011,
};

/* The default limit of one message. */
#define FA_WS_MAX (1 << 20)
/* Sec-WebSocket-Accept's length: base64 of a SHA-1. */
#define FA_WS_ACCEPT_LEN 28

/* permessage-deflate as agreed in the handshake (fa_ws_deflate_offer). */
struct fa_ws_deflate {
	bool on;
	bool server_no_context;         /* the server resets its deflater per message */
	bool client_no_context;         /* the client resets its own: ours may too */
	int server_bits;                /* the server's window: 9..15 */
};

/* What fa_ws_feed() yields: a whole data message or one control frame. */
struct fa_ws_msg {
	enum fa_ws_op op;               /* TEXT, BINARY, CLOSE, PING or PONG */
	const char *data;               /* NUL-terminated; a close's: the reason */
	size_t len;
	int code;                       /* CLOSE: its code, FA_WS_NO_STATUS when none */
};

/* A reader; fields are private except those marked read-only. */
struct fa_ws {
	size_t max;
	bool server;                    /* reads a client's frames: masked */
	struct fa_ws_deflate deflate;
	int close_code;                 /* read-only: once feed failed, the code to close with */
	/* the frame being read */
	unsigned char head[14];
	size_t head_len;
	bool in_payload;
	enum fa_ws_op op;
	bool fin, rsv1;
	unsigned char mask[4];
	bool masked;
	uint64_t left, at;              /* payload bytes to come; taken so far */
	/* the data message being assembled */
	enum fa_ws_op msg_op;           /* FA_WS_CONT: none */
	bool msg_deflated;
	struct fa_buf msg, raw;         /* raw: its compressed bytes */
	uint8_t utf8_need, utf8_lo, utf8_hi;
	/* the control frame being read */
	char ctl[126];
	size_t ctl_len;
	bool deliver_reset;             /* a message went out: clear msg first */
	struct z_stream_s *zin, *zout;  /* inflater and deflater, when deflate.on */
};

/*
 * Whether a request asks for a WebSocket (GET, "Upgrade: websocket" and
 * "Connection: upgrade"): 0 no; 1 yes and well formed, with accept set to
 * the Sec-WebSocket-Accept value; -1 yes but malformed, with *status (400,
 * or 426 for another version: answer "Sec-WebSocket-Version: 13") and err.
 */
int fa_ws_handshake(const char *method, size_t method_len, const struct fa_h1_header *h, int n,
		    char accept[FA_WS_ACCEPT_LEN + 1], int *status, struct fa_error *err);

/* The Sec-WebSocket-Accept value for a key: FA_EINPUT unless it is 16 bytes in base64. */
enum fa_err fa_ws_accept(const char *key, size_t n, char accept[FA_WS_ACCEPT_LEN + 1],
			 struct fa_error *err);

/*
 * The server's answer to a Sec-WebSocket-Extensions offer: the first
 * permessage-deflate offer whose parameters it can honour is taken, into
 * *d, and its response goes to resp (NUL-terminated); others are
 * declined.  False (d->on false) when nothing was taken.
 */
bool fa_ws_deflate_offer(const char *offer, size_t n, struct fa_ws_deflate *d, char *resp,
			 size_t cap);

/* A reader of a client's (server true) or a server's frames; max 0: FA_WS_MAX. */
void fa_ws_init(struct fa_ws *ws, bool server, size_t max);

/* Turns permessage-deflate on as agreed; FA_ENOMEM when zlib cannot start. */
enum fa_err fa_ws_use_deflate(struct fa_ws *ws, const struct fa_ws_deflate *d,
			      struct fa_error *err);

/* Frees what ws holds; fa_ws_init() sets it up again. */
void fa_ws_release(struct fa_ws *ws);

/*
 * Reads in[0..n) up to the end of the next message or control frame and
 * sets *used to the bytes it took.  1: one is in *m (feed in[*used..n)
 * next); 0: all of in was taken, none yet; -1: the peer broke the
 * protocol, err says how (FA_EINPUT) and ws->close_code what to close
 * with; ws must not be fed again.
 */
int fa_ws_feed(struct fa_ws *ws, const char *in, size_t n, size_t *used, struct fa_ws_msg *m,
	       struct fa_error *err);

/*
 * Appends one frame: op, FIN as given, the payload masked with mask (a
 * client's frame) or not (mask NULL: a server's).  rsv1 marks a
 * compressed message's first frame.
 */
enum fa_err fa_ws_frame(struct fa_buf *out, enum fa_ws_op op, bool fin, bool rsv1,
			const void *data, size_t n, const unsigned char *mask);

/* Appends a server's whole message, compressed when ws has deflate on. */
enum fa_err fa_ws_message(struct fa_ws *ws, struct fa_buf *out, enum fa_ws_op op,
			  const void *data, size_t n);

/* Appends a close frame with code and reason (cut to fit 125 bytes, on a character). */
enum fa_err fa_ws_close(struct fa_buf *out, int code, const char *reason);

/* Whether s[0..n) is valid UTF-8. */
bool fa_ws_utf8(const char *s, size_t n);

#endif
