/*
 * h1: a strict HTTP/1.1 request parser and response writer, and the
 * response-head parser of the client (RFC 9112, RFC 9110).  It does no I/O
 * and allocates nothing.
 *
 * fa-serve appends what it reads from a socket to a buffer and asks the
 * parser for the request head at its front:
 *
 *	struct fa_h1_header hdr[64];
 *	struct fa_h1_request req;
 *	rc = fa_h1_parse_request(b.data, b.len, &lim, hdr, 64, &req,
 *				 &status, &err);
 *	rc == 0: read more and call again (it parses from the start);
 *	rc < 0:  answer status (400, 413, 414, 417, 431, 501, 505) with
 *	         err.msg, then close the connection;
 *	rc > 0:  the head is buf[0..rc); req's pointers point into buf.
 *	         Content-Length body: the next req.content_length bytes;
 *	         chunked: fa_h1_chunked_decode() on the bytes after the head.
 *	         Then fa_buf_consume() the request and parse the next one:
 *	         a pipelined buffer holds several, the parser looks only at
 *	         the first.
 *
 * Strictness, against request smuggling: lines end in CRLF only (a bare
 * LF or bare CR is a 400); no obs-fold, no space before a colon, field
 * names are tokens, values hold no CTL but HTAB; exactly one SP between
 * the parts of the request line; only HTTP/1.x (1.2 to 1.9 are taken as
 * 1.1, RFC 9110 section 6.2; others are a 505); HTTP/1.1 needs exactly
 * one Host; Content-Length is one field line of digits (a repeated
 * Content-Length is a 400, even with the same value); Transfer-Encoding
 * must be exactly "chunked" (other codings 501, chunked not last 400),
 * never with Content-Length, never in HTTP/1.0; the request target is
 * origin-form, absolute-form (http or https, no userinfo, the path
 * extracted), asterisk-form for OPTIONS; CONNECT is a 501; the target
 * holds RFC 3986 characters only (no '#', no raw non-ASCII) and whole
 * %XX escapes; an HTTP/1.1 Expect other than 100-continue is a 417.
 * Trailer fields follow the same rules and may not be Content-Length or
 * Transfer-Encoding.  Empty lines (CRLF) before the request line are
 * skipped, as RFC 9112 section 2.2 asks.
 *
 * Errors are found in byte order, so a prefix of a request either needs
 * more bytes or fails the same way the whole request does.
 *
 * Ownership: every pointer the parser and the chunked decoder hand out
 * points into the caller's input (or to a static "/" for an absolute-form
 * target without a path); it is valid while those bytes stay in place.
 */
#ifndef FA_H1_H
#define FA_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"

/* Default limits: a head of 16 KiB (Node's default; nginx allows 4 lines
   of 8 KiB), 64 field lines, a target of 8 KiB (Apache's line limit). */
#define FA_H1_MAX_HEAD 16384
#define FA_H1_MAX_HEADERS 64
#define FA_H1_MAX_TARGET 8192
/* Fixed bounds of the chunked decoder: a chunk-size line with its
   extensions, and the trailer section. */
#define FA_H1_MAX_CHUNK_LINE 1024
#define FA_H1_MAX_TRAILER 8192

/* One field line, name and value (without surrounding whitespace). */
struct fa_h1_header {
	const char *name, *value;
	size_t name_len, value_len;
};

struct fa_h1_limits {
	size_t max_head;        /* the head, empty lines before it and the
				   final CRLFCRLF included: 431 past it */
	size_t max_target;      /* request-target bytes: 414 past it */
	int max_headers;        /* field lines: 431 past it (or hdr_cap) */
	int64_t max_body;       /* Content-Length above it: 413; -1: none */
};

struct fa_h1_request {
	const char *method;     /* a token, case-sensitive: "GET" */
	size_t method_len;
	const char *target;     /* as received */
	size_t target_len;
	const char *path;       /* "/a/b%20c", still percent-encoded; "*" */
	size_t path_len;
	const char *query;      /* after '?', NULL when there is no '?' */
	size_t query_len;
	const char *host;       /* authority of an absolute-form target, else
				   the Host value; NULL when neither */
	size_t host_len;
	int minor;              /* 0 or 1: HTTP/1.minor */
	struct fa_h1_header *headers;   /* hdr_space, in order received */
	int nheaders;
	int64_t content_length; /* -1: none (chunked, or no body) */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* 1.1 unless "close"; 1.0 with "keep-alive" */
	bool expect_continue;   /* HTTP/1.1 "Expect: 100-continue" */
	bool is_head;           /* method HEAD: answer without a body */
	size_t head_len;        /* bytes of the head, CRLFCRLF included */
};

/* Fills lim with the defaults above and no body limit. */
void fa_h1_limits_init(struct fa_h1_limits *lim);

/*
 * Parses the request head at the front of buf[0..len) into req, its field
 * lines into hdr_space[0..hdr_cap) (lim NULL: defaults).  Returns the head
 * length when it is complete, 0 when more bytes are needed, -1 with
 * *status and err (FA_EINPUT, a short reason) when the request is bad.
 * Each call parses from the start; the cost is O(min(len, max_head)).
 */
int fa_h1_parse_request(const char *buf, size_t len,
			const struct fa_h1_limits *lim,
			struct fa_h1_header *hdr_space, int hdr_cap,
			struct fa_h1_request *req, int *status,
			struct fa_error *err);

/* The first field line named name (case-insensitive), or NULL. */
const struct fa_h1_header *fa_h1_get(const struct fa_h1_request *req,
				     const char *name);

/* Whether h is named name, compared case-insensitively. */
bool fa_h1_header_eq(const struct fa_h1_header *h, const char *name);

/*
 * The streaming chunked decoder (RFC 9112 section 7.1).  Fields are
 * private except those marked read-only.
 */
struct fa_h1_chunked {
	int64_t max_body;       /* decoded bytes allowed; -1: no limit */
	int64_t total;          /* read-only: body bytes decoded so far */
	bool done;              /* read-only: last chunk and trailers read */
	struct fa_h1_header *trailers;  /* read-only once done */
	int ntrailers;
	int trailer_cap;
	uint64_t left;          /* data bytes left in the current chunk */
	int state;
};

/*
 * Sets up a decoder for one body.  Trailer fields go into
 * trailer_space[0..trailer_cap) (more: 431); with trailer_space NULL they
 * are checked and dropped.
 */
void fa_h1_chunked_init(struct fa_h1_chunked *c, int64_t max_body,
			struct fa_h1_header *trailer_space, int trailer_cap);

/*
 * Decodes in[0..n): appends the body data to out (NULL: drops it) and sets
 * *used to the bytes consumed.  A chunk-size line or the trailer section
 * is consumed only once it is whole, so the caller keeps in[*used..n) and
 * passes it again in front of new bytes.  Once c->done, c->trailers point
 * into this call's in, and *used ends after the final CRLF (what follows
 * is the next request); later calls consume nothing.  FA_EINPUT with
 * *status 400 (bad syntax), 413 (past max_body, or out is full: how much
 * of the chunk went in then depends on how the input was split) or 431
 * (trailers too large); c must not be used again after an error.
 */
enum fa_err fa_h1_chunked_decode(struct fa_h1_chunked *c, const char *in,
				 size_t n, struct fa_buf *out, size_t *used,
				 int *status, struct fa_error *err);

/*
 * A response head as the client reads it (fa_h1_parse_response).  Exactly
 * one of no_body, content_length >= 0, chunked and until_close says how
 * the body that follows the head is framed.
 */
struct fa_h1_response_head {
	int status;             /* 100..599 */
	int minor;              /* HTTP/1.minor: 0 or 1 (1.2 to 1.9 are 1) */
	const char *reason;     /* the reason phrase, may be empty */
	size_t reason_len;
	struct fa_h1_header *headers;   /* hdr_space, in order received */
	int nheaders;
	int64_t content_length; /* body bytes; -1 when framed otherwise */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool until_close;       /* no framing field: the body ends when the
				   connection does */
	bool no_body;           /* 1xx, 204, 304, or the answer to HEAD */
	bool keep_alive;        /* the connection may carry another request:
				   1.1 unless "close", 1.0 with "keep-alive",
				   never with until_close */
	size_t head_len;        /* bytes of the head, CRLFCRLF included */
};

/*
 * Parses the response head at the front of buf[0..len) into res, its field
 * lines into hdr_space[0..hdr_cap); head_request says the request was HEAD
 * (whose answer has no body).  Returns the head length when the head is
 * complete, 0 when more bytes are needed, -1 with err (FA_EINPUT, "line 3:
 * bare LF in field section") when it is malformed or longer than max_head
 * (0: FA_H1_MAX_HEAD).  A 1xx head (100 Continue, 103 Early Hints) is
 * returned like any other, with no_body: the caller drops its head_len
 * bytes and parses again for the final answer.
 *
 * As strict as the request parser: CRLF line ends only, no obs-fold, no
 * whitespace before a colon, exactly "HTTP/1.x SP 3DIGIT", the status in
 * 100..599, the reason phrase of HTAB, SP, VCHAR and obs-text (the SP
 * before an empty reason may be missing, as many servers write it); one
 * Content-Length of digits; Transfer-Encoding exactly "chunked", not with
 * Content-Length and not in HTTP/1.0.  Framing fields are checked even
 * when the status or the method means no body.  Errors are found in byte
 * order, so a prefix needs more bytes or fails the same way.
 */
int fa_h1_parse_response(const char *buf, size_t len, size_t max_head,
			 bool head_request, struct fa_h1_header *hdr_space,
			 int hdr_cap, struct fa_h1_response_head *res,
			 struct fa_error *err);

/* The first of h[0..n) named name (case-insensitive), or NULL. */
const struct fa_h1_header *fa_h1_find(const struct fa_h1_header *h, int n,
				      const char *name);

/* Whether h's value, a comma-separated list, holds token (case-insensitive). */
bool fa_h1_has_token(const struct fa_h1_header *h, const char *token);

/* content_length values that are not lengths. */
#define FA_H1_CHUNKED (-1)      /* Transfer-Encoding: chunked */
#define FA_H1_NO_LENGTH (-2)    /* no framing field: 1xx, 204, 304, or a
				   body that ends when the connection does */

struct fa_h1_response {
	int status;             /* 100..999 */
	const char *reason;     /* NULL: fa_h1_reason(status) */
	const struct fa_h1_header *headers;   /* written in order */
	int nheaders;
	int64_t content_length; /* bytes, FA_H1_CHUNKED or FA_H1_NO_LENGTH */
	bool keep_alive;
	int minor;              /* the request's HTTP/1.minor */
};

/*
 * Appends the response head for r to out: the status line, r's fields,
 * the framing field (none for 1xx and 204, nor Transfer-Encoding for 304),
 * "Connection: close" unless keep_alive, or "Connection: keep-alive" for
 * HTTP/1.0, and the empty line.  FA_EUSAGE (out unchanged) for a bad
 * status, reason, field name or value (no CR or LF: no response
 * splitting), a field the writer owns (Content-Length, Transfer-Encoding,
 * and Connection but in a 1xx), chunked to HTTP/1.0, or FA_H1_NO_LENGTH
 * with keep_alive on a response that has a body; FA_ENOMEM when out is
 * full.
 */
enum fa_err fa_h1_response_head(struct fa_buf *out,
				const struct fa_h1_response *r,
				struct fa_error *err);

/* Appends one chunk holding data[0..n); n == 0 writes the last chunk
   "0\r\n\r\n".  FA_ENOMEM when out is full (out unchanged). */
enum fa_err fa_h1_chunk(struct fa_buf *out, const void *data, size_t n);

/* The reason phrase of status ("Not Found"); "" for unknown ones. */
const char *fa_h1_reason(int status);

/* Writes t as an IMF-fixdate for the Date field: 29 characters and a NUL,
   "Sun, 06 Nov 1994 08:49:37 GMT". */
void fa_h1_date(char out[30], time_t t);

/*
 * Percent-decodes src[0..n) into dst, which needs room for n bytes (dst ==
 * src decodes in place), and sets *dst_len.  plus_space turns '+' into a
 * space, for query names and values.  FA_EINPUT for a '%' not followed by
 * two hex digits or an escape that decodes to NUL.
 */
enum fa_err fa_h1_pct_decode(char *dst, size_t *dst_len, const char *src,
			     size_t n, bool plus_space, struct fa_error *err);

/*
 * Splits the next name=value pair off the query string *q[0..*qlen) (as in
 * req->query) into pair (still encoded; a pair without '=' has an empty
 * value) and advances past it; empty pairs are skipped.  False at the end.
 */
bool fa_h1_query_next(const char **q, size_t *qlen,
		      struct fa_h1_header *pair);

#endif
