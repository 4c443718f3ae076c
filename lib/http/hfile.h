/*
 * hfile: what HTTP makes of a file, without touching one.  A request path
 * becomes a relative path safe to open beneath a served directory (or is
 * refused, saying why and where), a file name its content type, a file's
 * identity its strong ETag, and a request's If-None-Match and
 * If-Modified-Since a yes or no for 304.  lib/http/hstatic does the file
 * I/O around these:
 *
 *	if (fa_hfile_path(rq->path, rq->path_len, rel, sizeof(rel), &err))
 *		answer 400 with err.msg;
 *	open rel beneath the directory, fstat it;
 *	fa_hfile_etag(etag, st.st_ino, st.st_size, st.st_mtim);
 *	if (fa_hfile_not_modified(inm, inm_len, ims, ims_len, etag, st.st_mtime))
 *		answer 304;
 *	answer 200 with fa_hfile_type(rel) and the bytes.
 *
 * Every function is pure: bytes in, bytes out.
 */
#ifndef FA_HFILE_H
#define FA_HFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

/* Room for any tag fa_hfile_etag() writes, with its quotes and NUL. */
#define FA_HFILE_ETAG_MAX 64

/*
 * Turns the request path path[0..n) (as it came, percent-encoded, without
 * the query) into out: the segments percent-decoded and joined by '/',
 * without a leading '/', "." and empty segments dropped; "" is the root.
 * A path that ends in '/' (or is "/") keeps its trailing '/', so the caller
 * knows a directory was asked for.  FA_EINPUT, naming the byte offset in
 * the path, for: a ".." segment (plain or encoded), an encoded '/' or '\',
 * a NUL or a '\', a bad escape, a path not starting with '/', a segment
 * over 255 bytes, or a result over cap - 1 bytes.
 */
enum fa_err fa_hfile_path(const char *path, size_t n, char *out, size_t cap,
			  struct fa_error *err);

/*
 * Whether a relative path from fa_hfile_path() names a hidden file or
 * passes through a hidden directory (a segment starting with '.', such as
 * .git or .env), which are not served; ".well-known" is not hidden.
 */
bool fa_hfile_hidden(const char *rel);

/*
 * The content type of a file by its name's extension (html, css, js, mjs,
 * json, svg, png, jpg, jpeg, gif, webp, ico, txt, wasm, woff2, ...),
 * case-insensitive; "application/octet-stream" for any other.  Text types
 * carry "; charset=utf-8".  The string is static.
 */
const char *fa_hfile_type(const char *name);

/*
 * Writes into out the strong entity-tag of a file's version: its inode,
 * size and modification time, in hex between double quotes.  Any change
 * of content through a write changes the size or the time.
 */
void fa_hfile_etag(char out[FA_HFILE_ETAG_MAX], uint64_t ino, int64_t size,
		   struct timespec mtime);

/*
 * Whether a GET or HEAD may answer 304 (RFC 9110 13.1.2 and 13.1.3): when
 * If-None-Match (inm[0..inm_len), or NULL) is present it alone decides, true
 * when it is "*" or lists etag (weak comparison: W/ is ignored); else
 * If-Modified-Since (ims, an HTTP-date, or NULL) decides, true when mtime
 * is not later than it.  A date that does not parse counts as absent.
 */
bool fa_hfile_not_modified(const char *inm, size_t inm_len, const char *ims, size_t ims_len,
			   const char *etag, time_t mtime);

/*
 * A Range header v[0..n) (RFC 9110 14.2) against a representation of size
 * bytes: 1, with the bytes *first to *last (inclusive), for one range that
 * is satisfiable ("bytes=0-99", "bytes=100-", "bytes=-100"); 0 when the
 * header is to be ignored and the whole representation sent (another unit,
 * a malformed range, or several ranges); -1 when the range starts past the
 * end (416).
 */
int fa_hfile_range(const char *v, size_t n, int64_t size, int64_t *first, int64_t *last);

/*
 * Whether If-Range v[0..n) lets a Range apply (RFC 9110 13.1.5): an
 * entity-tag that is etag (strong comparison: a weak one never matches),
 * or an HTTP-date equal to mtime.
 */
bool fa_hfile_if_range(const char *v, size_t n, const char *etag, time_t mtime);

/*
 * Parses an HTTP-date (RFC 9110 5.6.7) in any of its three forms:
 * "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT" and
 * "Sun Nov  6 08:49:37 1994".  False when s[0..n) is none of them.
 */
bool fa_hfile_date_parse(const char *s, size_t n, time_t *out);

#endif
