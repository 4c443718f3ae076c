#include "core/zcodec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* zlib counts in unsigned int; bigger inputs go in slices of this. */
#define ZLIB_SLICE (1u << 30)

/* gzip and zlib's windowBits for "gzip format only". */
#define GZIP_WBITS (15 + 16)

/* A zstd frame header fits in this; it starts the input slicing anew. */
#define ZSTD_HEADER_PREFIX 5

/* What fa_z_write asks out to have free at least before each step. */
#define ENC_ROOM (64 * 1024)

/* ------------------------------------------------------------ names */

enum fa_zkind fa_z_detect(const void *p, size_t n)
{
	const unsigned char *b = p;

	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return FA_Z_GZIP;
	if (n < 4)
		return FA_Z_NONE;
	if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return FA_Z_ZSTD;
	/* Skippable frames, 0x184d2a50 to 0x184d2a5f little-endian. */
	if ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d &&
	    b[3] == 0x18)
		return FA_Z_ZSTD;
	return FA_Z_NONE;
}

const char *fa_z_name(enum fa_zkind kind)
{
	switch (kind) {
	case FA_Z_GZIP: return "gzip";
	case FA_Z_ZSTD: return "zstd";
	case FA_Z_NONE: break;
	}
	return "none";
}

const char *fa_z_suffix(enum fa_zkind kind)
{
	switch (kind) {
	case FA_Z_GZIP: return ".gz";
	case FA_Z_ZSTD: return ".zst";
	case FA_Z_NONE: break;
	}
	return "";
}

enum fa_err fa_z_parse(const char *s, enum fa_zkind *kind,
		       struct fa_error *err)
{
	enum fa_zkind k;

	for (k = FA_Z_NONE; k <= FA_Z_ZSTD; k++) {
		if (strcasecmp(s, fa_z_name(k)) == 0) {
			*kind = k;
			return FA_OK;
		}
	}
	return fa_error_set(err, FA_EUSAGE,
			    "unknown compression '%s' (use gzip, zstd or none)",
			    s);
}

enum fa_zkind fa_z_from_path(const char *path)
{
	size_t n = strlen(path);

	if (n > 3 && strcasecmp(path + n - 3, ".gz") == 0)
		return FA_Z_GZIP;
	if (n > 4 && strcasecmp(path + n - 4, ".zst") == 0)
		return FA_Z_ZSTD;
	return FA_Z_NONE;
}

/* ------------------------------------------------------------ decoder */

enum fa_err fa_unz_init(struct fa_unz *u, enum fa_zkind kind,
			unsigned window_log_max, struct fa_error *err)
{
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->hint = ZSTD_HEADER_PREFIX;
	u->window_log = window_log_max ? window_log_max
				       : FA_UNZ_WINDOW_LOG_DEFAULT;
	if (kind == FA_Z_GZIP) {
		u->gz = calloc(1, sizeof(*u->gz));
		if (!u->gz || inflateInit2(u->gz, GZIP_WBITS) != Z_OK) {
			free(u->gz);
			u->gz = NULL;
			return fa_error_set(err, FA_ENOMEM,
					    "cannot allocate a gzip decoder");
		}
	} else if (kind == FA_Z_ZSTD) {
		u->zd = ZSTD_createDCtx();
		if (!u->zd)
			return fa_error_set(err, FA_ENOMEM,
					    "cannot allocate a zstd decoder");
		if (u->window_log > INT_MAX ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(u->zd,
				ZSTD_d_windowLogMax, (int)u->window_log)))
			return fa_error_set(err, FA_EUSAGE,
					    "zstd window limit 2^%u is out of range",
					    u->window_log);
	}
	return FA_OK;
}

void fa_unz_release(struct fa_unz *u)
{
	if (u->gz) {
		inflateEnd(u->gz);
		free(u->gz);
		u->gz = NULL;
	}
	ZSTD_freeDCtx(u->zd);
	u->zd = NULL;
}

/* The error for inflate's return ret, found at u->in_total. */
static enum fa_err gunzip_error(struct fa_unz *u, int ret,
				struct fa_error *err)
{
	if (ret == Z_MEM_ERROR)
		return fa_error_set(err, FA_ENOMEM,
				    "out of memory in gzip stream at byte %llu",
				    (unsigned long long)u->in_total);
	return fa_error_set(err, FA_EINPUT,
			    "corrupt gzip stream at byte %llu: %s",
			    (unsigned long long)u->in_total,
			    u->gz->msg ? u->gz->msg : "invalid data");
}

/*
 * Inflates in[0..n) into dst[0..room) until either runs out, going on
 * from one gzip member to the next; with u->more set, first lets out what
 * inflate still holds.  Sets *used and *made.
 */
static enum fa_err gunzip_run(struct fa_unz *u, const unsigned char *in,
			      size_t n, size_t *used, unsigned char *dst,
			      size_t room, size_t *made, struct fa_error *err)
{
	z_stream *zs = u->gz;
	size_t slice, took;
	int ret, pending = u->more;
	uInt avail_out;

	zs->next_out = dst;
	zs->avail_out = (uInt)room;
	while (zs->avail_out > 0 && (*used < n || pending)) {
		pending = 0;
		slice = n - *used < ZLIB_SLICE ? n - *used : ZLIB_SLICE;
		zs->next_in = (Bytef *)(in ? in + *used : in);
		zs->avail_in = (uInt)slice;
		avail_out = zs->avail_out;
		ret = inflate(zs, Z_NO_FLUSH);
		took = slice - zs->avail_in;
		*used += took;
		u->in_total += took;
		if (took)
			u->at_end = 0;
		if (ret == Z_STREAM_END) {
			u->members++;
			u->at_end = 1;
			inflateReset(zs);
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			return gunzip_error(u, ret, err);
		} else if (!took && zs->avail_out == avail_out) {
			break;          /* no progress: cannot happen, but never spin */
		}
	}
	*made = room - zs->avail_out;
	return FA_OK;
}

/* The error for ZSTD_decompressStream's return code. */
static enum fa_err unzstd_error(struct fa_unz *u, size_t code,
				struct fa_error *err)
{
	switch (ZSTD_getErrorCode(code)) {
	case ZSTD_error_frameParameter_windowTooLarge:
		return fa_error_set(err, FA_EINPUT,
				    "zstd frame at byte %llu needs a window over "
				    "the limit of 2^%u bytes",
				    (unsigned long long)u->frame_at,
				    u->window_log);
	case ZSTD_error_memory_allocation:
		return fa_error_set(err, FA_ENOMEM,
				    "out of memory in zstd stream at byte %llu",
				    (unsigned long long)u->frame_at);
	case ZSTD_error_prefix_unknown:
	case ZSTD_error_frameParameter_unsupported:
		return fa_error_set(err, FA_EINPUT,
				    "corrupt zstd stream at byte %llu: %s",
				    (unsigned long long)u->frame_at,
				    ZSTD_getErrorName(code));
	default:
		return fa_error_set(err, FA_EINPUT,
				    "corrupt zstd stream at byte %llu: %s",
				    (unsigned long long)u->piece_at,
				    ZSTD_getErrorName(code));
	}
}

/*
 * Decompresses in[0..n) into dst[0..room) until either runs out.  The
 * input goes in pieces of the size zstd says ends its current block, so
 * zstd decodes each block straight from in (no copy) and an error can
 * be placed at the block that has it.  Sets *used and *made.
 */
static enum fa_err unzstd_run(struct fa_unz *u, const unsigned char *in,
			      size_t n, size_t *used, unsigned char *dst,
			      size_t room, size_t *made, struct fa_error *err)
{
	ZSTD_outBuffer ob = { dst, room, 0 };
	ZSTD_inBuffer ib;
	size_t ret, before;

	/* At a frame's end with no input, nothing is held: do not start
	 * another frame. */
	while (ob.pos < ob.size && (*used < n || (u->more && !u->at_end))) {
		ib.src = in ? in + *used : in;
		ib.size = n - *used < u->hint ? n - *used : u->hint;
		ib.pos = 0;
		before = ob.pos;
		ret = ZSTD_decompressStream(u->zd, &ob, &ib);
		if (ZSTD_isError(ret))
			return unzstd_error(u, ret, err);
		if (!ib.pos && ob.pos == before)
			break;          /* wants more input */
		*used += ib.pos;
		u->in_total += ib.pos;
		if (ret == 0) {
			u->members++;
			u->at_end = 1;
			u->frame_at = u->piece_at = u->in_total;
			u->hint = ZSTD_HEADER_PREFIX;
		} else {
			u->at_end = 0;
			if (ib.pos == u->hint)
				u->piece_at = u->in_total;
			u->hint = ret;
		}
		u->more = 0;
	}
	*made = ob.pos;
	return FA_OK;
}

/* FA_Z_NONE: output is input. */
static void copy_run(struct fa_unz *u, const unsigned char *in, size_t n,
		     size_t *used, unsigned char *dst, size_t room,
		     size_t *made)
{
	*made = n < room ? n : room;
	if (*made)
		memcpy(dst, in, *made);
	*used = *made;
	u->in_total += *made;
}

enum fa_err fa_unz_feed(struct fa_unz *u, const void *in, size_t n,
			size_t *used, struct fa_buf *out, struct fa_error *err)
{
	size_t room, made = 0;
	unsigned char *dst;
	enum fa_err rc = FA_OK;

	*used = 0;
	if (u->failed)
		return fa_error_set(err, FA_EINPUT,
				    "%s stream cannot go on after an error",
				    fa_z_name(u->kind));
	if (n == 0 && !u->more)
		return FA_OK;
	room = out->max - out->len;
	if (room == 0)
		return fa_error_set(err, FA_ENOMEM,
				    "%s data decompressed by byte %llu pass "
				    "the %zu-byte buffer limit", fa_z_name(u->kind),
				    (unsigned long long)u->in_total, out->max);
	if (room > FA_UNZ_STEP)
		room = FA_UNZ_STEP;
	if (fa_buf_grow(out, room) != FA_OK)
		return fa_error_set(err, FA_ENOMEM,
				    "cannot allocate %zu bytes for %s output",
				    room, fa_z_name(u->kind));
	dst = (unsigned char *)out->data + out->len;
	if (u->kind == FA_Z_GZIP)
		rc = gunzip_run(u, in, n, used, dst, room, &made, err);
	else if (u->kind == FA_Z_ZSTD)
		rc = unzstd_run(u, in, n, used, dst, room, &made, err);
	else
		copy_run(u, in, n, used, dst, room, &made);
	out->len += made;
	out->data[out->len] = '\0';
	u->out_total += made;
	u->more = rc == FA_OK && made == room;
	if (rc != FA_OK)
		u->failed = 1;
	return rc;
}

enum fa_err fa_unz_finish(struct fa_unz *u, struct fa_error *err)
{
	if (u->failed)
		return fa_error_set(err, FA_EINPUT,
				    "%s stream cannot go on after an error",
				    fa_z_name(u->kind));
	if (u->more)
		return fa_error_set(err, FA_EWORK,
				    "%s stream finished with output not yet "
				    "pulled at byte %llu", fa_z_name(u->kind),
				    (unsigned long long)u->in_total);
	if (u->kind == FA_Z_NONE || (u->members && u->at_end))
		return FA_OK;
	return fa_error_set(err, FA_EINPUT, "truncated %s stream at byte %llu",
			    fa_z_name(u->kind),
			    (unsigned long long)u->in_total);
}

/* ------------------------------------------------------------ encoder */

void fa_z_levels(enum fa_zkind kind, int *min, int *max, int *def)
{
	switch (kind) {
	case FA_Z_GZIP:
		*min = 1, *max = 9, *def = 6;
		return;
	case FA_Z_ZSTD:
		/*
		 * zstd's own parameters for levels 1-19 never use a window
		 * over 2^23, what RFC 9659 allows HTTP; 20-22 would, so they
		 * are not offered (the unit test checks every level).
		 */
		*min = 1, *max = 19, *def = 3;
		return;
	case FA_Z_NONE:
		break;
	}
	*min = *max = *def = 0;
}

static enum fa_err gzip_init(struct fa_z *z, struct fa_error *err)
{
	z->gz = calloc(1, sizeof(*z->gz));
	if (!z->gz || deflateInit2(z->gz, z->level, Z_DEFLATED, GZIP_WBITS, 8,
				   Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z->gz);
		z->gz = NULL;
		return fa_error_set(err, FA_ENOMEM,
				    "cannot allocate a gzip encoder");
	}
	return FA_OK;
}

static enum fa_err zstd_init(struct fa_z *z, struct fa_error *err)
{
	z->zc = ZSTD_createCCtx();
	if (!z->zc)
		return fa_error_set(err, FA_ENOMEM,
				    "cannot allocate a zstd encoder");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->zc,
			ZSTD_c_compressionLevel, z->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->zc,
			ZSTD_c_checksumFlag, 1)))
		return fa_error_set(err, FA_EUSAGE,
				    "zstd rejects compression level %d",
				    z->level);
	if (z->window_log &&
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->zc, ZSTD_c_windowLog,
						(int)z->window_log)))
		return fa_error_set(err, FA_EUSAGE,
				    "zstd rejects window log %u", z->window_log);
	return FA_OK;
}

enum fa_err fa_z_init(struct fa_z *z, enum fa_zkind kind, int level,
		      struct fa_error *err)
{
	return fa_z_init_window(z, kind, level, 0, err);
}

enum fa_err fa_z_init_window(struct fa_z *z, enum fa_zkind kind, int level,
			     unsigned window_log, struct fa_error *err)
{
	int min, max, def;

	memset(z, 0, sizeof(*z));
	z->kind = kind;
	if (kind == FA_Z_NONE)
		return FA_OK;
	fa_z_levels(kind, &min, &max, &def);
	z->level = level ? level : def;
	if (z->level < min || z->level > max)
		return fa_error_set(err, FA_EUSAGE,
				    "%s level %d is out of range %d-%d",
				    fa_z_name(kind), level, min, max);
	if (kind == FA_Z_ZSTD && window_log &&
	    (window_log < FA_Z_WINDOW_LOG_MIN ||
	     window_log > FA_Z_WINDOW_LOG_MAX))
		return fa_error_set(err, FA_EUSAGE,
				    "zstd window log %u is out of range %d-%d",
				    window_log, FA_Z_WINDOW_LOG_MIN,
				    FA_Z_WINDOW_LOG_MAX);
	if (kind == FA_Z_ZSTD)
		z->window_log = window_log;
	return kind == FA_Z_GZIP ? gzip_init(z, err) : zstd_init(z, err);
}

void fa_z_release(struct fa_z *z)
{
	if (z->gz) {
		deflateEnd(z->gz);
		free(z->gz);
		z->gz = NULL;
	}
	ZSTD_freeCCtx(z->zc);
	z->zc = NULL;
}

/* Grows out so that *room bytes (at least one) can be written at its end. */
static enum fa_err out_room(struct fa_z *z, struct fa_buf *out, size_t *room,
			    struct fa_error *err)
{
	size_t left = out->max - out->len;
	size_t want = left < ENC_ROOM ? left : ENC_ROOM;

	if (left == 0)
		return fa_error_set(err, FA_ENOMEM,
				    "%s output after %llu input bytes passes "
				    "the %zu-byte buffer limit", fa_z_name(z->kind),
				    (unsigned long long)z->in_total, out->max);
	if (fa_buf_grow(out, want) != FA_OK)
		return fa_error_set(err, FA_ENOMEM,
				    "cannot allocate %zu bytes for %s output",
				    want, fa_z_name(z->kind));
	*room = out->cap - out->len - 1;
	if (*room > left)
		*room = left;
	if (*room > ZLIB_SLICE)
		*room = ZLIB_SLICE;
	return FA_OK;
}

/* Deflates in[0..n), then flushes as flush asks, until deflate is done. */
static enum fa_err gzip_run(struct fa_z *z, const unsigned char *in,
			    size_t n, int flush, struct fa_buf *out,
			    struct fa_error *err)
{
	z_stream *zs = z->gz;
	size_t done = 0, slice, room;
	enum fa_err rc;
	int ret;

	for (;;) {
		slice = n - done < ZLIB_SLICE ? n - done : ZLIB_SLICE;
		if ((rc = out_room(z, out, &room, err)) != FA_OK)
			return rc;
		zs->next_in = (Bytef *)(in ? in + done : in);
		zs->avail_in = (uInt)slice;
		zs->next_out = (Bytef *)out->data + out->len;
		zs->avail_out = (uInt)room;
		ret = deflate(zs, done + slice == n ? flush : Z_NO_FLUSH);
		done += slice - zs->avail_in;
		out->len += room - zs->avail_out;
		out->data[out->len] = '\0';
		if (ret == Z_STREAM_ERROR)
			return fa_error_set(err, FA_EWORK,
					    "gzip encoder failed after %llu bytes",
					    (unsigned long long)z->in_total);
		if (flush == Z_FINISH ? ret == Z_STREAM_END
				      : done == n && zs->avail_out > 0)
			break;
	}
	if (flush == Z_FINISH)
		deflateReset(zs);
	return FA_OK;
}

/* Compresses in[0..n) with zstd's end directive mode until it is done. */
static enum fa_err zstd_run(struct fa_z *z, const void *in, size_t n,
			    ZSTD_EndDirective mode, struct fa_buf *out,
			    struct fa_error *err)
{
	ZSTD_inBuffer ib = { in, n, 0 };
	ZSTD_outBuffer ob;
	size_t left, room;
	enum fa_err rc;

	for (;;) {
		if ((rc = out_room(z, out, &room, err)) != FA_OK)
			return rc;
		ob.dst = out->data + out->len;
		ob.size = room;
		ob.pos = 0;
		left = ZSTD_compressStream2(z->zc, &ob, &ib, mode);
		out->len += ob.pos;
		out->data[out->len] = '\0';
		if (ZSTD_isError(left))
			return fa_error_set(err, FA_EWORK,
					    "zstd encoder failed after %llu bytes: %s",
					    (unsigned long long)z->in_total,
					    ZSTD_getErrorName(left));
		if (mode == ZSTD_e_continue ? ib.pos == ib.size : left == 0)
			break;
	}
	return FA_OK;
}

/* Runs the encoder: what is 0 to write, 1 to flush, 2 to end the stream. */
static enum fa_err enc_run(struct fa_z *z, const void *in, size_t n,
			   int what, struct fa_buf *out, struct fa_error *err)
{
	static const int gzip_mode[] = { Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH };
	static const ZSTD_EndDirective zstd_mode[] = {
		ZSTD_e_continue, ZSTD_e_flush, ZSTD_e_end };
	size_t before = out->len;
	enum fa_err rc = FA_OK;

	if (z->failed)
		return fa_error_set(err, FA_EWORK,
				    "%s encoder cannot go on after an error",
				    fa_z_name(z->kind));
	if (z->kind == FA_Z_GZIP)
		rc = gzip_run(z, in, n, gzip_mode[what], out, err);
	else if (z->kind == FA_Z_ZSTD)
		rc = zstd_run(z, in, n, zstd_mode[what], out, err);
	else if (n && fa_buf_append(out, in, n) != FA_OK)
		rc = fa_error_set(err, FA_ENOMEM,
				  "output after %llu bytes passes the %zu-byte "
				  "buffer limit", (unsigned long long)z->in_total,
				  out->max);
	z->out_total += out->len - before;
	if (rc != FA_OK)
		z->failed = 1;
	return rc;
}

enum fa_err fa_z_write(struct fa_z *z, const void *in, size_t n,
		       struct fa_buf *out, struct fa_error *err)
{
	enum fa_err rc;

	if (n == 0)
		return FA_OK;
	rc = enc_run(z, in, n, 0, out, err);
	z->in_total += n;
	z->dirty = 1;
	return rc;
}

enum fa_err fa_z_flush(struct fa_z *z, struct fa_buf *out,
		       struct fa_error *err)
{
	if (!z->dirty)
		return FA_OK;
	z->dirty = 0;
	return enc_run(z, NULL, 0, 1, out, err);
}

enum fa_err fa_z_finish(struct fa_z *z, struct fa_buf *out,
			struct fa_error *err)
{
	z->dirty = 0;
	return enc_run(z, NULL, 0, 2, out, err);
}
