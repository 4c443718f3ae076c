/*
 * zcodec: streaming gzip and zstd compression and decompression, no I/O.
 *
 * fa-copy decompresses its input whatever its compression (fa_z_detect()
 * on the first bytes says which) and compresses its output; the HTTP
 * server compresses streamed responses (Content-Encoding: gzip or zstd,
 * the names fa_z_name() gives) and calls fa_z_flush() at row boundaries
 * so NDJSON and SSE consumers see every row promptly.  Bytes come from
 * the caller and go into a caller-owned struct fa_buf; nothing here reads
 * or writes a file.  FA_Z_NONE passes bytes through, so callers need no
 * second code path for uncompressed data.
 *
 * Decoding is pulled in bounded steps so that a small zip bomb cannot
 * take memory: one fa_unz_feed() appends at most FA_UNZ_STEP bytes, never
 * past out's cap, and says how much input it used.  Call it again, with
 * the rest of the input or none, while input remains or u.more is set:
 *
 *	struct fa_unz u;
 *	fa_unz_init(&u, fa_z_detect(head, nhead), 0, &err);
 *	while ((n = read(fd, in, sizeof(in))) > 0) {
 *		p = in;
 *		do {
 *			if (fa_unz_feed(&u, p, n, &used, &out, &err)) goto fail;
 *			p += used, n -= used;
 *			consume(out.data, out.len);
 *			fa_buf_reset(&out);
 *		} while (n > 0 || u.more);
 *	}
 *	rc = fa_unz_finish(&u, &err);		(truncated input is an error)
 *	fa_unz_release(&u);
 *
 * Concatenated gzip members (cat a.gz b.gz) and zstd frames decode as
 * one stream, as gzip -d and zstd -d do; bytes after the last one that
 * do not start another are corrupt input (gzip -d only warns about
 * them, zstd -d refuses them too).  Errors name the compressed
 * byte offset, "corrupt gzip stream at byte 1042: invalid distance too
 * far back"; the caller puts the file name in front.  A gzip offset is
 * where zlib noticed the damage, a few bytes past it or, when only the
 * CRC shows it, the member's end; a zstd offset is the start of the
 * damaged block (give or take its 3-byte header) or, for a bad frame
 * header or a window over the limit, of the frame.
 *
 * Encoding appends everything it produces to out, so out needs room for
 * it: drain out after each call.  Incompressible input grows by well
 * under 0.1% plus the header, and each flush costs a few bytes.  After
 * fa_z_finish() the same struct fa_z starts a new stream on the next
 * write, so a server can keep one per connection instead of one per
 * response.  No call allocates once the contexts and out have grown.
 *
 * Memory, allocated by _init or, for zstd, on the first frame, and kept
 * (zstd's as measured with libzstd 1.5):
 *	gzip decode	about 40 KiB (inflate state and its 32 KiB window)
 *	zstd decode	the frame's window plus about 0.5 MiB: 2.5 MiB for
 *			what fa_z writes at the default level, 8.5 MiB at
 *			level 19; frames may ask for up to 2^window_log_max
 *			(default 2^27: 128.5 MiB at most)
 *	gzip encode	about 260 KiB at every level
 *	zstd encode	1.3 MiB at level 1, 3.5 MiB at the default level 3,
 *			90 MiB at level 19; fa_z_init_window() trims it,
 *			to 2.0 MiB at level 3 with a 2^19 window
 * plus the caller's out buffers.
 */
#ifndef FA_ZCODEC_H
#define FA_ZCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum fa_zkind { FA_Z_NONE, FA_Z_GZIP, FA_Z_ZSTD };

/* fa_z_detect() needs this many leading bytes to tell every kind apart. */
#define FA_Z_MAGIC_MAX 4

/* The most one fa_unz_feed() call appends to its out buffer. */
#define FA_UNZ_STEP (256 * 1024)

/* zstd frames may declare windows up to 2^this by default. */
#define FA_UNZ_WINDOW_LOG_DEFAULT 27

/*
 * The compression that p[0..n) starts with: gzip (1f 8b), zstd (28 b5 2f
 * fd, or a skippable frame), else FA_Z_NONE, also when n is too short.
 */
enum fa_zkind fa_z_detect(const void *p, size_t n);

/* "none", "gzip" or "zstd": the fa option value and HTTP content coding. */
const char *fa_z_name(enum fa_zkind kind);

/* "", ".gz" or ".zst": the file name suffix for output of that kind. */
const char *fa_z_suffix(enum fa_zkind kind);

/* Parses "none", "gzip" or "zstd" (any case); FA_EUSAGE naming s if unknown. */
enum fa_err fa_z_parse(const char *s, enum fa_zkind *kind,
		       struct fa_error *err);

/* The kind a file name's suffix asks for (.gz, .zst, any case), else NONE. */
enum fa_zkind fa_z_from_path(const char *path);

/* A decoder.  Fields above "private" may be read, not written. */
struct fa_unz {
	enum fa_zkind kind;
	int more;               /* the last feed stopped at its output limit */
	uint64_t in_total;      /* compressed bytes used so far */
	uint64_t out_total;     /* decompressed bytes produced so far */
	/* private */
	struct z_stream_s *gz;
	struct ZSTD_DCtx_s *zd;
	size_t hint;            /* zstd: input size that ends the current block */
	uint64_t piece_at;      /* zstd: where the block being read began */
	uint64_t frame_at;      /* zstd: where the frame being read began */
	unsigned window_log;    /* zstd: the window limit, log2 */
	unsigned members;       /* gzip members or zstd frames completed */
	int at_end;             /* the last byte used ended a member or frame */
	int failed;             /* an error was returned; only release is left */
};

/*
 * Sets up a decoder of kind.  window_log_max bounds the zstd window (and
 * so the decoder's memory) at 2^window_log_max bytes; 0 means
 * FA_UNZ_WINDOW_LOG_DEFAULT.  FA_EUSAGE if it is out of range, FA_ENOMEM.
 * Call fa_unz_release() even when this fails.
 */
enum fa_err fa_unz_init(struct fa_unz *u, enum fa_zkind kind,
			unsigned window_log_max, struct fa_error *err);

/*
 * Decompresses from in[0..n), appending at most FA_UNZ_STEP bytes to out
 * and never growing it past out->max; *used tells how much of in was
 * taken.  Sets u->more when it stopped at that limit: call again, with
 * in + *used (or no input at all), until all input is used and u->more
 * is clear.  FA_EINPUT naming the offset on corrupt data or a zstd
 * window over the limit; after that the decoder is done.  FA_ENOMEM when
 * out is full and output remains: drain out and call again.
 */
enum fa_err fa_unz_feed(struct fa_unz *u, const void *in, size_t n,
			size_t *used, struct fa_buf *out, struct fa_error *err);

/*
 * Checks, once all input has been fed and all output pulled, that the
 * stream ended where a gzip member or zstd frame ends: FA_EINPUT
 * "truncated gzip stream at byte N" if not (also for empty input).
 */
enum fa_err fa_unz_finish(struct fa_unz *u, struct fa_error *err);

/* Frees the decoder's contexts. */
void fa_unz_release(struct fa_unz *u);

/* An encoder.  Fields above "private" may be read, not written. */
struct fa_z {
	enum fa_zkind kind;
	int level;
	uint64_t in_total;      /* bytes written since init */
	uint64_t out_total;     /* compressed bytes produced since init */
	/* private */
	struct z_stream_s *gz;
	struct ZSTD_CCtx_s *zc;
	unsigned window_log;    /* zstd: 0, or the window asked for, log2 */
	int dirty;              /* input written since the last flush */
	int failed;
};

/* The levels fa_z_init() takes for kind; 0 stands for *def. */
void fa_z_levels(enum fa_zkind kind, int *min, int *max, int *def);

/*
 * Sets up an encoder of kind at level (0: the default, gzip 6, zstd 3;
 * gzip takes 1-9, zstd 1-19, none ignores it).  zstd frames get a
 * checksum and a window of at most 2^23 bytes (8 MiB, what RFC 9659 lets
 * HTTP use).  FA_EUSAGE for a level out of range, FA_ENOMEM.  Call
 * fa_z_release() even when this fails.
 */
enum fa_err fa_z_init(struct fa_z *z, enum fa_zkind kind, int level,
		      struct fa_error *err);

/* The zstd window logs fa_z_init_window() takes (2^23: RFC 9659's limit). */
#define FA_Z_WINDOW_LOG_MIN 10
#define FA_Z_WINDOW_LOG_MAX 23

/*
 * fa_z_init() with the zstd window set to 2^window_log bytes instead of
 * what the level picks (0 keeps that), to bound the encoder's memory
 * and the decoder's.  gzip's window is always 32 KiB and ignores it.
 * FA_EUSAGE for a window log out of range as well.
 */
enum fa_err fa_z_init_window(struct fa_z *z, enum fa_zkind kind, int level,
			     unsigned window_log, struct fa_error *err);

/*
 * Compresses in[0..n), appending what is ready to out; the encoder keeps
 * the rest until later calls.  FA_ENOMEM if out would pass its cap;
 * after any error the encoder is done.
 */
enum fa_err fa_z_write(struct fa_z *z, const void *in, size_t n,
		       struct fa_buf *out, struct fa_error *err);

/*
 * Appends to out everything needed to decode all input so far (gzip
 * Z_SYNC_FLUSH, zstd ZSTD_e_flush); the stream goes on.  Costs a few
 * bytes, and nothing when nothing was written since the last flush.
 */
enum fa_err fa_z_flush(struct fa_z *z, struct fa_buf *out,
		       struct fa_error *err);

/*
 * Ends the stream (gzip trailer, zstd frame end) into out.  The next
 * write starts a new stream, which decodes as a concatenated member.
 */
enum fa_err fa_z_finish(struct fa_z *z, struct fa_buf *out,
			struct fa_error *err);

/* Frees the encoder's contexts. */
void fa_z_release(struct fa_z *z);

#endif
