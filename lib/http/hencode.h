/*
 * hencode: HTTP content coding for responses, decisions and bytes, no I/O.
 *
 * When a response starts, the HTTP server asks three questions and then
 * keeps one struct fa_henc for the body:
 *
 *	kind = fa_henc_compressible(ctype)
 *		? fa_henc_choose(ae, ae_len) : FA_Z_NONE;
 *	fa_henc_init(&e, kind, 0, &err);
 *	fa_henc_write(&e, row, n, &out, &err);	 (as rows come)
 *	fa_henc_flush(&e, &out, &err);		 (row or event boundary)
 *	fa_henc_finish(&e, &out, &err);
 *	fa_henc_release(&e);
 *
 * Bytes go into the caller's out buffer, which the server drains.  A body
 * that ends shorter than e.min_size goes out uncompressed (it fits in a
 * packet with its headers either way, and gzip would allocate 260 KiB
 * for it), so e.kind is only final once e.started is set, and out gets
 * no bytes before that.  The server sends its headers (Content-Encoding
 * from fa_z_name(e.kind), the ETag from fa_henc_etag()) once a call has
 * set e.started, ahead of the bytes that call put in out.  A stream whose
 * headers go out before any body (SSE) sets e.min_size to 0 before the
 * first write: then e.kind never changes.  Every response whose coding
 * depends on Accept-Encoding, compressed or not, needs "Vary:
 * Accept-Encoding".
 *
 * ETags: a compressed representation is a different sequence of bytes, so
 * it gets its own strong ETag, the identity one with the coding appended
 * inside the quotes ("abc" becomes "abc-zstd"), as Apache's mod_deflate
 * does.  Caches then never serve one coding's bytes for another's, and
 * range requests stay meaningful.  If-None-Match is compared against the
 * ETag of the representation this request negotiated: a client that got
 * "abc-gzip" sends that back, and gets 304 only while it would get gzip.
 *
 * zstd encoders here use a 2^19-byte window (FA_HENC_WINDOW_LOG) rather
 * than the 2^21 zstd picks for level 3.  Measured with libzstd 1.5.4,
 * ZSTD_sizeof_CCtx() at level 3 after 1 MiB of flushed NDJSON:
 *	window log 19	2.0 MiB
 *	window log 20	2.5 MiB
 *	window log 21	3.5 MiB (the level's own, what fa_z_init() gives)
 *	window log 23	9.5 MiB (RFC 9659's ceiling)
 * and on 16 MiB of NDJSON rows the output was 0.1646 of the input at 19
 * against 0.1661 at 21 and 23: rows repeat their keys within a few
 * hundred bytes, so a long window buys nothing, while a server with many
 * streams saves 1.5 MiB on each.  Below 19 the level's hash tables
 * (0.75 MiB) and stream buffers dominate: 1.7 MiB at 18, 1.6 at 17.
 * Clients decoding it need only a 512 KiB window, too.
 */
#ifndef FA_HENCODE_H
#define FA_HENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/zcodec.h"

/* Bodies shorter than this go out uncompressed (the default e.min_size). */
#define FA_HENC_MIN_SIZE 1024

/* zstd response streams use a window of 2^this bytes: see above. */
#define FA_HENC_WINDOW_LOG 19

/*
 * The coding to send for an Accept-Encoding value s[0..len) (RFC 9110
 * 12.5.3; s need not be NUL-terminated, NULL or empty means identity):
 * zstd, gzip (x-gzip too) or FA_Z_NONE for identity.  The acceptable one
 * (q > 0) with the highest q wins, ties going to zstd, then gzip, then
 * identity; "*" weighs every coding not listed.  Names and "q" are
 * case-insensitive; OWS may surround ";" but not "=" (RFC 9110's weight
 * is OWS ";" OWS "q=" qvalue), so "gzip ; q = 0.8" has an invalid q.  An
 * element with an invalid or repeated q (over 1, more than 3 decimals,
 * quoted, missing) or other malformed syntax counts as absent; other
 * parameters are ignored.  A coding listed twice takes its lower q, as
 * refusing is the safe reading.  identity not listed is acceptable
 * (unless "*;q=0") but loses to any listed coding.  When nothing is
 * acceptable ("identity;q=0" alone, "*;q=0") this is FA_Z_NONE as
 * well: like most servers, fa sends identity rather than 406.
 */
enum fa_zkind fa_henc_choose(const char *s, size_t len);

/* The same choice among the codings the server has on: one that is off
   counts as not offered, so "zstd, gzip" with zstd off gets gzip. */
enum fa_zkind fa_henc_choose_among(const char *s, size_t len, bool zstd_ok, bool gzip_ok);

/*
 * Whether a body of Content-Type ctype is worth compressing: any text
 * type, application/json, application/x-ndjson, application/javascript,
 * application/xml, any application type ending in +json and any type
 * ending in +xml (image/svg+xml); case-insensitive, parameters ignored.
 * False for NULL and the rest, mostly compressed already (images,
 * archives) or unknown.
 */
bool fa_henc_compressible(const char *ctype);

/* "", "-gzip" or "-zstd": what fa_henc_etag() puts inside the quotes. */
const char *fa_henc_etag_suffix(enum fa_zkind kind);

/*
 * Writes into out[0..cap) the ETag of etag's representation in coding
 * kind: "abc" becomes "abc-zstd", W/"abc" becomes W/"abc-zstd", and
 * FA_Z_NONE leaves it as is.  Returns the new tag's length; when that
 * is cap or more, out gets "" instead of a truncated tag, as it does
 * (returning 0) when etag is not an entity-tag.
 */
size_t fa_henc_etag(char *out, size_t cap, const char *etag,
		    enum fa_zkind kind);

/*
 * One response body's encoder.  The caller may read kind and started and
 * set min_size before the first write; the rest is private.
 */
struct fa_henc {
	enum fa_zkind kind;     /* the coding of what goes to out */
	size_t min_size;        /* shorter bodies go out uncompressed */
	bool started;           /* kind is final; out may have bytes */
	/* private */
	struct fa_z z;          /* set up when started */
	struct fa_buf hold;     /* the body so far, until started */
	int level;
	bool failed;            /* an error was returned */
};

/*
 * Sets up e for a body in kind at level (0: the default, zstd 3, gzip 6).
 * Allocates nothing yet: the encoder comes when the body proves long
 * enough.  FA_EUSAGE for a level out of range.  Call fa_henc_release()
 * even when this fails.
 */
enum fa_err fa_henc_init(struct fa_henc *e, enum fa_zkind kind, int level,
			 struct fa_error *err);

/*
 * Takes n bytes of body, appending to out what is ready.  Until the body
 * reaches e->min_size it is held here and out gets nothing.  FA_ENOMEM
 * past out's cap; after any error only release is left.
 */
enum fa_err fa_henc_write(struct fa_henc *e, const void *p, size_t n,
			  struct fa_buf *out, struct fa_error *err);

/*
 * A row or event boundary: appends to out what makes everything written
 * so far decodable.  Body held short of min_size starts compressing here
 * (a flushed body is a stream, likely long); nothing written, nothing to do.
 */
enum fa_err fa_henc_flush(struct fa_henc *e, struct fa_buf *out,
			  struct fa_error *err);

/*
 * Ends the body into out (gzip trailer, zstd frame end).  A body that
 * never started and is shorter than min_size goes out as is, and e->kind
 * becomes FA_Z_NONE.  Nothing may be written after this.
 */
enum fa_err fa_henc_finish(struct fa_henc *e, struct fa_buf *out,
			   struct fa_error *err);

/* Frees the encoder and anything held. */
void fa_henc_release(struct fa_henc *e);

#endif
