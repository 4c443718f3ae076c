/*
 * Unit tests for lib/core/zcodec: gzip and zstd round trips fed in random
 * pieces, flushes, concatenated members and frames, truncated and
 * corrupt input, the bounded pull against a 1 GiB bomb, and the gzip and
 * zstd command-line tools on both sides (skipped with a note when one is
 * missing).  Random data; the seed is printed and may be given as the
 * first argument.  Throughput is printed, never asserted.
 */
#include "core/zcodec.h"

#define ZSTD_STATIC_LINKING_ONLY        /* ZSTD_getFrameHeader, estimates */
#include <zstd.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Resident memory now, in KiB (Linux /proc), or -1. */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = -1;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = -1;
		fclose(f);
	}
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ------------------------------------------------------------ data */

struct blob {
	char *p;
	size_t n;
};

static struct blob blob_random(size_t n)
{
	struct blob b = { malloc(n ? n : 1), n };
	size_t i;

	for (i = 0; i < n; i++)
		b.p[i] = (char)rnd();
	return b;
}

/* CSV-like rows: compresses the way real exports do. */
static struct blob blob_text(size_t n)
{
	static const char *words[] = { "alpha", "bravo", "charlie", "delta",
		"echo", "foxtrot", "golf", "hotel", "india", "juliett" };
	struct blob b = { malloc(n + 128), 0 };
	uint64_t id = 1;

	while (b.n < n)
		b.n += (size_t)sprintf(b.p + b.n,
			"%" PRIu64 ",%s %s,%u.%02u,2024-%02u-%02u\n", id++,
			words[rnd() % 10], words[rnd() % 10],
			(unsigned)(rnd() % 10000), (unsigned)(rnd() % 100),
			(unsigned)(rnd() % 12 + 1), (unsigned)(rnd() % 28 + 1));
	b.n = n;
	return b;
}

static struct blob blob_cat(struct blob a, struct blob b)
{
	struct blob c = { malloc(a.n + b.n + 1), a.n + b.n };

	if (a.n)
		memcpy(c.p, a.p, a.n);
	if (b.n)
		memcpy(c.p + a.n, b.p, b.n);
	return c;
}

/* A piece size for feeding or writing: mostly small, sometimes all. */
static size_t pick_piece(size_t left)
{
	size_t n;

	switch (rnd() % 5) {
	case 0: n = rnd_in(1, 16); break;
	case 1: n = rnd_in(1, 4096); break;
	case 2: n = rnd_in(1, 70000); break;
	case 3: n = rnd_in(1, 1 << 20); break;
	default: n = left; break;
	}
	return n < left ? n : left;
}

/* ------------------------------------------------------------ helpers */

/*
 * Compresses d in random pieces, flushing after a piece with probability
 * 1/flush_every (never if 0), then finishes.  The compressed stream is
 * appended to out.
 */
static enum fa_err encode(enum fa_zkind kind, int level, struct blob d,
			  unsigned flush_every, struct fa_buf *out,
			  struct fa_error *err)
{
	struct fa_z z;
	size_t off = 0, piece;
	enum fa_err rc = fa_z_init(&z, kind, level, err);

	while (rc == FA_OK && off < d.n) {
		piece = pick_piece(d.n - off);
		rc = fa_z_write(&z, d.p + off, piece, out, err);
		off += piece;
		if (rc == FA_OK && flush_every && rnd() % flush_every == 0)
			rc = fa_z_flush(&z, out, err);
	}
	if (rc == FA_OK)
		rc = fa_z_finish(&z, out, err);
	if (rc == FA_OK)
		CHECK(z.in_total == d.n, "%" PRIu64 " != %zu", z.in_total, d.n);
	fa_z_release(&z);
	return rc;
}

/*
 * Decodes c in random pieces into an out buffer of cap out_cap, drained
 * into res after every call as the header's loop does; checks the
 * bounds on the way.  finish says whether to call fa_unz_finish.
 */
static enum fa_err decode_cap(enum fa_zkind kind, unsigned wlog, struct blob c,
			      size_t out_cap, int finish, struct fa_buf *res,
			      struct fa_error *err)
{
	static const char none[1];
	struct fa_unz u;
	struct fa_buf out;
	const char *p = c.p ? c.p : none;
	size_t off = 0, used, piece;
	enum fa_err rc = fa_unz_init(&u, kind, wlog, err);

	fa_buf_init(&out, out_cap);
	while (rc == FA_OK && off < c.n) {
		piece = pick_piece(c.n - off);
		do {
			rc = fa_unz_feed(&u, p + off, piece, &used, &out, err);
			CHECK(used <= piece, "%zu > %zu", used, piece);
			CHECK(out.len <= out_cap && out.len <= FA_UNZ_STEP,
			      "out %zu cap %zu", out.len, out_cap);
			CHECK(rc != FA_OK || used == piece || u.more,
			      "stopped early at %zu", off);
			off += used;
			piece -= used;
			fa_buf_append(res, out.data, out.len);
			fa_buf_reset(&out);
		} while (rc == FA_OK && (piece > 0 || u.more));
	}
	if (rc == FA_OK && finish)
		rc = fa_unz_finish(&u, err);
	if (rc == FA_OK)
		CHECK(u.in_total == c.n, "in_total %" PRIu64 " != %zu",
		      u.in_total, c.n);
	fa_unz_release(&u);
	fa_buf_release(&out);
	return rc;
}

static size_t pick_cap(size_t expect)
{
	static const size_t caps[] = { 1, 7, 4096, 65536, 300000, 1 << 22 };
	size_t i = rnd() % 6;

	while (i < 2 && expect > 100000)
		i = rnd() % 6;          /* 1-byte steps through 1 MiB take long */
	return caps[i];
}

static enum fa_err decode(enum fa_zkind kind, struct blob c,
			  struct fa_buf *res, struct fa_error *err)
{
	return decode_cap(kind, 0, c, pick_cap(c.n * 4), 1, res, err);
}

static int same(struct fa_buf *b, struct blob d)
{
	return b->len == d.n && (d.n == 0 || memcmp(b->data, d.p, d.n) == 0);
}

/* The N of "at byte N" in msg, or -1. */
static long long offset_in(const char *msg)
{
	const char *s = strstr(msg, "at byte ");

	return s ? strtoll(s + 8, NULL, 10) : -1;
}

static const enum fa_zkind kinds[] = { FA_Z_NONE, FA_Z_GZIP, FA_Z_ZSTD };

/* ------------------------------------------------------------ tests */

static void test_detect(void)
{
	struct fa_error err = { 0 };
	enum fa_zkind k = FA_Z_NONE;
	size_t i;
	char path[64];

	CHECK(fa_z_detect("\x1f\x8b\x08\x00", 4) == FA_Z_GZIP, "gzip");
	CHECK(fa_z_detect("\x1f\x8b", 2) == FA_Z_GZIP, "gzip magic only");
	CHECK(fa_z_detect("\x1f", 1) == FA_Z_NONE, "one byte");
	CHECK(fa_z_detect("\x28\xb5\x2f\xfd", 4) == FA_Z_ZSTD, "zstd");
	CHECK(fa_z_detect("\x28\xb5\x2f", 3) == FA_Z_NONE, "short zstd");
	CHECK(fa_z_detect("\x5e\x2a\x4d\x18", 4) == FA_Z_ZSTD, "skippable");
	CHECK(fa_z_detect("\x28\xb5\x2f\xfe", 4) == FA_Z_NONE, "near zstd");
	CHECK(fa_z_detect("id,name\n", 8) == FA_Z_NONE, "text");
	CHECK(fa_z_detect("", 0) == FA_Z_NONE, "empty");
	for (i = 0; i < 3; i++) {
		CHECK(fa_z_parse(fa_z_name(kinds[i]), &k, &err) == FA_OK &&
		      k == kinds[i], "parse %s", fa_z_name(kinds[i]));
		snprintf(path, sizeof(path), "rows.csv%s", fa_z_suffix(kinds[i]));
		CHECK(fa_z_from_path(path) == kinds[i], "%s", path);
	}
	CHECK(fa_z_parse("ZStd", &k, &err) == FA_OK && k == FA_Z_ZSTD, "case");
	CHECK(fa_z_parse("lz4", &k, &err) == FA_EUSAGE &&
	      strstr(err.msg, "'lz4'") != NULL, "%s", err.msg);
	CHECK(fa_z_from_path("ROWS.GZ") == FA_Z_GZIP, "upper case .GZ");
	CHECK(fa_z_from_path("a.tar.zst") == FA_Z_ZSTD, ".zst");
	CHECK(fa_z_from_path("gz") == FA_Z_NONE, "bare gz");
	CHECK(fa_z_from_path("rows.gzip") == FA_Z_NONE, ".gzip");
	CHECK(fa_z_from_path("-") == FA_Z_NONE, "stdout");
}

static void test_levels(void)
{
	struct fa_error err = { 0 };
	struct fa_buf c;
	struct fa_z z;
	ZSTD_frameHeader fh;
	int level;

	CHECK(fa_z_init(&z, FA_Z_GZIP, 10, &err) == FA_EUSAGE &&
	      strcmp(err.msg, "gzip level 10 is out of range 1-9") == 0,
	      "%s", err.msg);
	fa_z_release(&z);
	CHECK(fa_z_init(&z, FA_Z_ZSTD, 20, &err) == FA_EUSAGE, "zstd 20");
	fa_z_release(&z);
	CHECK(fa_z_init(&z, FA_Z_ZSTD, -1, &err) == FA_EUSAGE, "zstd -1");
	fa_z_release(&z);
	CHECK(fa_z_init(&z, FA_Z_NONE, 5, &err) == FA_OK, "none ignores level");
	fa_z_release(&z);

	/* RFC 9659: no level may need a window over 8 MiB. */
	fa_buf_init(&c, 0);
	for (level = 1; level <= 19; level++) {
		fa_buf_reset(&c);
		CHECK(fa_z_init(&z, FA_Z_ZSTD, level, &err) == FA_OK &&
		      fa_z_write(&z, "x", 1, &c, &err) == FA_OK &&
		      fa_z_finish(&z, &c, &err) == FA_OK, "%s", err.msg);
		fa_z_release(&z);
		CHECK(ZSTD_getFrameHeader(&fh, c.data, c.len) == 0 &&
		      fh.windowSize <= (1u << 23) &&
		      fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN &&
		      fh.checksumFlag, "level %d window %llu", level,
		      (unsigned long long)fh.windowSize);
	}
	fa_buf_release(&c);
}

static void roundtrip(enum fa_zkind kind, int level, struct blob d,
		      const char *what)
{
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	enum fa_err rc;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	rc = encode(kind, level, d, rnd() % 2 ? 0 : 8, &c, &err);
	CHECK(rc == FA_OK, "%s %s level %d: %s", fa_z_name(kind), what, level,
	      err.msg);
	if (kind != FA_Z_NONE)
		CHECK(fa_z_detect(c.data, c.len) == kind, "%s %s detect",
		      fa_z_name(kind), what);
	else
		CHECK(same(&c, d), "none passes %s through", what);
	rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
	CHECK(rc == FA_OK && same(&r, d), "%s %s level %d: rc %d %s, %zu of "
	      "%zu bytes", fa_z_name(kind), what, level, rc, err.msg, r.len,
	      d.n);
	fa_buf_release(&c);
	fa_buf_release(&r);
}

static void test_roundtrips(void)
{
	struct blob rand1m = blob_random(1 << 20), text = blob_text(1 << 20);
	struct blob rep = { malloc(1 << 20), 1 << 20 }, one = blob_random(1);
	struct blob empty = { NULL, 0 };
	int i, j, min, max, def;

	for (i = 0; i < (1 << 20); i++)
		rep.p[i] = "0123456789abcdef,the same line again\n"[i % 38];
	for (i = 0; i < 3; i++) {
		fa_z_levels(kinds[i], &min, &max, &def);
		for (j = 0; j < 3; j++) {
			roundtrip(kinds[i], 0, empty, "0 bytes");
			roundtrip(kinds[i], 0, one, "1 byte");
		}
		roundtrip(kinds[i], 0, rand1m, "1 MiB random");
		roundtrip(kinds[i], 0, text, "1 MiB text");
		roundtrip(kinds[i], min, rep, "1 MiB repetitive");
		roundtrip(kinds[i], max, rep, "1 MiB repetitive");
		roundtrip(kinds[i], max, text, "1 MiB text");
	}
	free(rand1m.p);
	free(text.p);
	free(rep.p);
	free(one.p);
}

/* Flushing at each piece: a fresh decoder gets everything written so far. */
static void flush_kind(enum fa_zkind kind)
{
	struct blob d = blob_text(300000);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	struct fa_z z;
	size_t off = 0, piece, len;
	enum fa_err rc;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	fa_z_init(&z, kind, 0, &err);
	while (off < d.n) {
		piece = rnd_in(1, 30000);
		piece = piece < d.n - off ? piece : d.n - off;
		CHECK(fa_z_write(&z, d.p + off, piece, &c, &err) == FA_OK &&
		      fa_z_flush(&z, &c, &err) == FA_OK, "%s", err.msg);
		off += piece;
		len = c.len;
		CHECK(fa_z_flush(&z, &c, &err) == FA_OK && c.len == len,
		      "%s second flush added %zu bytes", fa_z_name(kind),
		      c.len - len);
		fa_buf_reset(&r);
		rc = decode_cap(kind, 0, (struct blob){ c.data, c.len },
				pick_cap(off), 0, &r, &err);
		CHECK(rc == FA_OK && r.len == off &&
		      memcmp(r.data, d.p, off) == 0,
		      "%s flushed at %zu: rc %d %s, got %zu bytes",
		      fa_z_name(kind), off, rc, err.msg, r.len);
	}
	/* Flushed but not finished: the decoder calls it truncated. */
	fa_buf_reset(&r);
	rc = decode_cap(kind, 0, (struct blob){ c.data, c.len }, 65536, 1, &r,
			&err);
	CHECK(rc == FA_EINPUT && offset_in(err.msg) == (long long)c.len,
	      "%s: rc %d %s", fa_z_name(kind), rc, err.msg);
	CHECK(fa_z_finish(&z, &c, &err) == FA_OK, "%s", err.msg);
	fa_buf_reset(&r);
	rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
	CHECK(rc == FA_OK && same(&r, d), "%s after finish: %s",
	      fa_z_name(kind), err.msg);
	fa_z_release(&z);
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(d.p);
}

static void test_flush(void)
{
	flush_kind(FA_Z_GZIP);
	flush_kind(FA_Z_ZSTD);
}

/* Members made apart, and by one encoder reused across finishes. */
static void concat_kind(enum fa_zkind kind)
{
	struct blob part[4] = { blob_text(100000), blob_random(5000),
				{ NULL, 0 }, blob_text(1) };
	struct blob all = { NULL, 0 }, t;
	struct fa_error err = { 0 };
	struct fa_buf c1, c2, r;
	struct fa_z z;
	int i;

	fa_buf_init(&c1, 0);
	fa_buf_init(&c2, 0);
	fa_buf_init(&r, 0);
	fa_z_init(&z, kind, 0, &err);
	for (i = 0; i < 4; i++) {
		CHECK(encode(kind, 0, part[i], 4, &c1, &err) == FA_OK, "%s",
		      err.msg);
		CHECK((!part[i].n ||
		       fa_z_write(&z, part[i].p, part[i].n, &c2, &err) == FA_OK) &&
		      fa_z_finish(&z, &c2, &err) == FA_OK, "%s", err.msg);
		t = blob_cat(all, part[i]);
		free(all.p);
		all = t;
	}
	fa_z_release(&z);
	CHECK(decode(kind, (struct blob){ c1.data, c1.len }, &r, &err) ==
	      FA_OK && same(&r, all), "%s members apart: %s", fa_z_name(kind),
	      err.msg);
	fa_buf_reset(&r);
	CHECK(decode(kind, (struct blob){ c2.data, c2.len }, &r, &err) ==
	      FA_OK && same(&r, all), "%s reused encoder: %s", fa_z_name(kind),
	      err.msg);
	for (i = 0; i < 4; i++)
		free(part[i].p);
	free(all.p);
	fa_buf_release(&c1);
	fa_buf_release(&c2);
	fa_buf_release(&r);
}

static void test_concat(void)
{
	concat_kind(FA_Z_GZIP);
	concat_kind(FA_Z_ZSTD);
}

static void truncated_kind(enum fa_zkind kind)
{
	struct blob d = blob_text(100000), e = blob_text(3000);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	size_t cuts[8], first, i;
	char want[128];
	enum fa_err rc;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	encode(kind, 0, d, 0, &c, &err);
	first = c.len;
	encode(kind, 0, e, 0, &c, &err);
	cuts[0] = 0, cuts[1] = 1, cuts[2] = 3, cuts[3] = 5, cuts[4] = 10;
	cuts[5] = first / 2, cuts[6] = first - 1, cuts[7] = first + 1;
	for (i = 0; i < 8; i++) {
		fa_buf_reset(&r);
		rc = decode_cap(kind, 0, (struct blob){ c.data, cuts[i] },
				65536, 1, &r, &err);
		snprintf(want, sizeof(want), "truncated %s stream at byte %zu",
			 fa_z_name(kind), cuts[i]);
		CHECK(rc == FA_EINPUT && strcmp(err.msg, want) == 0,
		      "rc %d '%s', want '%s'", rc, err.msg, want);
	}
	/* Cut where the first member ends: a whole stream, not truncated. */
	fa_buf_reset(&r);
	rc = decode_cap(kind, 0, (struct blob){ c.data, first }, 65536, 1, &r,
			&err);
	CHECK(rc == FA_OK && same(&r, d), "%s cut at member end: %s",
	      fa_z_name(kind), err.msg);
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(d.p);
	free(e.p);
}

static void test_truncated(void)
{
	truncated_kind(FA_Z_GZIP);
	truncated_kind(FA_Z_ZSTD);
}

/* Offset of the third zstd block header of a one-frame stream, or 0. */
static size_t zstd_third_block(const unsigned char *p, size_t n)
{
	size_t pos = ZSTD_frameHeaderSize(p, n), size;
	uint32_t h;
	int i;

	for (i = 0; i < 2 && pos + 3 <= n; i++) {
		h = p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16;
		if (h & 1)
			return 0;       /* last block */
		size = ((h >> 1) & 3) == 1 ? 1 : h >> 3;
		pos += 3 + size;
	}
	return pos + 3 <= n ? pos : 0;
}

/* Corrupt magic of the second member, then a zstd block header. */
static void corrupt_placed(enum fa_zkind kind)
{
	struct blob d = blob_text(1 << 20);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	size_t first, hdr;
	long long at;
	enum fa_err rc;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	encode(kind, 0, d, 0, &c, &err);
	first = c.len;
	encode(kind, 0, d, 0, &c, &err);
	c.data[first] ^= 0x40;
	rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
	at = offset_in(err.msg);
	CHECK(rc == FA_EINPUT && at >= (long long)first &&
	      at <= (long long)first + 16 && strncmp(err.msg, "corrupt ", 8) == 0,
	      "%s bad magic at %zu: rc %d %s", fa_z_name(kind), first, rc,
	      err.msg);
	c.data[first] ^= 0x40;
	if (kind == FA_Z_ZSTD) {
		hdr = zstd_third_block((unsigned char *)c.data, first);
		CHECK(hdr > 0, "no third block in %zu bytes", first);
		c.data[hdr] |= 6;       /* block type 3, reserved */
		fa_buf_reset(&r);
		rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
		at = offset_in(err.msg);
		CHECK(rc == FA_EINPUT && at >= 0 && at <= (long long)hdr &&
		      hdr - (size_t)at <= (128 << 10) + 3,
		      "zstd bad block header at %zu: rc %d %s", hdr, rc, err.msg);
	} else {
		hdr = first / 2;
		c.data[hdr] ^= 0x10;    /* inside the deflate data */
		fa_buf_reset(&r);
		rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
		at = offset_in(err.msg);
		CHECK(rc == FA_EINPUT && at > (long long)hdr &&
		      at <= (long long)first, "gzip damage at %zu: rc %d %s",
		      hdr, rc, err.msg);
	}
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(d.p);
}

/* Any one damaged byte: an error naming an offset, or (harmless byte)
 * the right output. */
static void corrupt_random(enum fa_zkind kind)
{
	struct blob d = blob_text(20000);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	size_t pos;
	long long at;
	enum fa_err rc;
	int i, detected = 0;
	unsigned char x;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	encode(kind, 0, d, 3, &c, &err);
	for (i = 0; i < 200; i++) {
		pos = rnd_in(0, c.len - 1);
		x = (unsigned char)rnd_in(1, 255);
		c.data[pos] ^= (char)x;
		fa_buf_reset(&r);
		rc = decode(kind, (struct blob){ c.data, c.len }, &r, &err);
		at = offset_in(err.msg);
		if (rc == FA_OK)
			CHECK(same(&r, d), "%s byte %zu ^ %u accepted, wrong output",
			      fa_z_name(kind), pos, x);
		else
			CHECK(rc == FA_EINPUT && at >= 0 && at <= (long long)c.len,
			      "%s byte %zu ^ %u: rc %d %s", fa_z_name(kind), pos,
			      x, rc, err.msg);
		detected += rc != FA_OK;
		c.data[pos] ^= (char)x;
	}
	printf("  %s: %d of 200 single-byte corruptions detected, the rest "
	       "harmless\n", fa_z_name(kind), detected);
	CHECK(detected > 150, "%s detected only %d", fa_z_name(kind), detected);
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(d.p);
}

static void test_corrupt(void)
{
	corrupt_placed(FA_Z_GZIP);
	corrupt_placed(FA_Z_ZSTD);
	corrupt_random(FA_Z_GZIP);
	corrupt_random(FA_Z_ZSTD);
}

/* A zstd frame asking for a 2^28 window, made with zstd's own API. */
static void big_window_frame(struct blob d, struct fa_buf *c)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer ib = { d.p, d.n, 0 };
	ZSTD_outBuffer ob;

	ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 28);
	fa_buf_grow(c, ZSTD_compressBound(d.n) + 64);
	ob.dst = c->data + c->len;
	ob.size = c->cap - c->len - 1;
	ob.pos = 0;
	ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue);
	while (ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) > 0)
		;
	c->len += ob.pos;
	ZSTD_freeCCtx(cc);
}

static void test_window(void)
{
	struct blob d = blob_text(50000);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	struct fa_unz u;
	ZSTD_frameHeader fh;
	size_t first;
	enum fa_err rc;
	char want[128];

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	encode(FA_Z_ZSTD, 0, d, 0, &c, &err);
	first = c.len;
	big_window_frame(d, &c);
	CHECK(ZSTD_getFrameHeader(&fh, c.data + first, c.len - first) == 0 &&
	      fh.windowSize == (1u << 28), "made window %llu",
	      (unsigned long long)fh.windowSize);
	rc = decode(FA_Z_ZSTD, (struct blob){ c.data, c.len }, &r, &err);
	snprintf(want, sizeof(want), "zstd frame at byte %zu needs a window "
		 "over the limit of 2^27 bytes", first);
	CHECK(rc == FA_EINPUT && strcmp(err.msg, want) == 0, "rc %d '%s'", rc,
	      err.msg);
	fa_buf_reset(&r);
	rc = decode_cap(FA_Z_ZSTD, 28, (struct blob){ c.data, c.len }, 65536,
			1, &r, &err);
	CHECK(rc == FA_OK && r.len == 2 * d.n &&
	      memcmp(r.data + d.n, d.p, d.n) == 0, "window 28: %s", err.msg);
	CHECK(fa_unz_init(&u, FA_Z_ZSTD, 99, &err) == FA_EUSAGE, "limit 99");
	fa_unz_release(&u);
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(d.p);
}

/* total bytes of zeros, compressed as kind on the fly, into c. */
static void bomb_make(enum fa_zkind kind, int level, uint64_t total,
		      const char *zeros, struct fa_buf *c)
{
	struct fa_error err = { 0 };
	struct fa_z z;
	enum fa_err rc = fa_z_init(&z, kind, level, &err);

	for (; total > 0 && rc == FA_OK; total -= 1 << 20)
		rc = fa_z_write(&z, zeros, 1 << 20, c, &err);
	if (rc == FA_OK)
		rc = fa_z_finish(&z, c, &err);
	fa_z_release(&z);
	CHECK(rc == FA_OK, "%s bomb: %s", fa_z_name(kind), err.msg);
}

/* Pulls c back through a 64 KiB buffer: every step bounded, memory flat. */
static void bomb_pull(enum fa_zkind kind, uint64_t total, const char *zeros,
		      struct fa_buf *c)
{
	static const size_t cap = 64 << 10;
	struct fa_error err = { 0 };
	struct fa_buf out;
	struct fa_unz u;
	uint64_t got = 0;
	size_t off = 0, used, calls = 0;
	long rss0 = rss_kib(), rss, peak = rss0;
	double t = now();
	enum fa_err rc = fa_unz_init(&u, kind, 0, &err);
	int bad = 0;

	fa_buf_init(&out, cap);
	while (rc == FA_OK && (off < c->len || u.more)) {
		rc = fa_unz_feed(&u, c->data + off, c->len - off < 65536 ?
				 c->len - off : 65536, &used, &out, &err);
		off += used;
		bad |= out.len > cap ||
		       (out.len && memcmp(out.data, zeros, out.len) != 0);
		got += out.len;
		fa_buf_reset(&out);
		if (++calls % 1024 == 0 && (rss = rss_kib()) > peak)
			peak = rss;
	}
	if (rc == FA_OK)
		rc = fa_unz_finish(&u, &err);
	t = now() - t;
	CHECK(rc == FA_OK && got == total && !bad && out.cap <= cap + 1,
	      "%s bomb: rc %d %s, %" PRIu64 " bytes, cap %zu", fa_z_name(kind),
	      rc, err.msg, got, out.cap);
	CHECK(peak - rss0 < 32 * 1024, "%s bomb grew RSS by %ld KiB",
	      fa_z_name(kind), peak - rss0);
	printf("  %s bomb: %" PRIu64 " MiB of zeros from %zu bytes pulled "
	       "through a 64 KiB buffer in %.2f s, RSS grew %ld KiB at most%s\n",
	       fa_z_name(kind), total >> 20, c->len, t, peak - rss0,
	       rss0 < 0 ? " (no /proc: not measured)" : "");
	fa_unz_release(&u);
	fa_buf_release(&out);
}

/* Into a 1 MiB buffer never drained: the cap stops it; drained, it goes on. */
static void bomb_undrained(enum fa_zkind kind, struct fa_buf *c)
{
	struct fa_error err = { 0 };
	struct fa_buf out;
	struct fa_unz u;
	size_t off = 0, used;
	enum fa_err rc = fa_unz_init(&u, kind, 0, &err);

	fa_buf_init(&out, 1 << 20);
	while (rc == FA_OK) {
		rc = fa_unz_feed(&u, c->data + off, c->len - off, &used, &out,
				 &err);
		off += used;
	}
	CHECK(rc == FA_ENOMEM && out.len == 1 << 20 &&
	      strstr(err.msg, "1048576-byte buffer limit") != NULL,
	      "%s undrained: rc %d %s", fa_z_name(kind), rc, err.msg);
	fa_buf_reset(&out);
	rc = fa_unz_feed(&u, c->data + off, c->len - off, &used, &out, &err);
	CHECK(rc == FA_OK && out.len > 0, "%s after draining: rc %d %s",
	      fa_z_name(kind), rc, err.msg);
	fa_unz_release(&u);
	fa_buf_release(&out);
}

static void bomb_kind(enum fa_zkind kind, int level, uint64_t total)
{
	char *zeros = calloc(1, 1 << 20);
	struct fa_buf c;

	fa_buf_init(&c, 64 << 20);
	bomb_make(kind, level, total, zeros, &c);
	bomb_pull(kind, total, zeros, &c);
	bomb_undrained(kind, &c);
	fa_buf_release(&c);
	free(zeros);
}

static void test_bomb(void)
{
	bomb_kind(FA_Z_ZSTD, 0, (uint64_t)1 << 30);
	bomb_kind(FA_Z_GZIP, 1, (uint64_t)256 << 20);
}

/* Encoders into a small buffer fail cleanly and stay failed. */
static void test_out_cap(void)
{
	struct blob d = blob_random(100000);
	struct fa_error err = { 0 };
	struct fa_buf c;
	struct fa_z z;
	enum fa_err rc;
	int i;

	for (i = 0; i < 3; i++) {
		fa_buf_init(&c, 1000);
		fa_z_init(&z, kinds[i], 0, &err);
		/* zstd may hold the input back until the end. */
		rc = fa_z_write(&z, d.p, d.n, &c, &err);
		if (rc == FA_OK)
			rc = fa_z_finish(&z, &c, &err);
		CHECK(rc == FA_ENOMEM && c.len <= 1000 &&
		      strstr(err.msg, "1000-byte buffer limit") != NULL,
		      "%s: rc %d %s", fa_z_name(kinds[i]), rc, err.msg);
		CHECK(fa_z_finish(&z, &c, &err) == FA_EWORK &&
		      strstr(err.msg, "cannot go on") != NULL,
		      "%s finished after an error: %s", fa_z_name(kinds[i]),
		      err.msg);
		fa_z_release(&z);
		fa_buf_release(&c);
	}
	free(d.p);
}

/* ------------------------------------------------------------ the CLIs */

static int have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/*
 * Puts in into a temporary file, runs fmt with each %s the file's path,
 * and appends its stdout to out.  0 if the command succeeded.
 */
static int run_filter(const char *fmt, struct blob in, struct fa_buf *out)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512], cmd[2048], buf[65536];
	FILE *f;
	size_t k;
	int fd, status;

	snprintf(path, sizeof(path), "%s/test_zcodec.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || (in.n && write(fd, in.p, in.n) != (ssize_t)in.n)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), fmt, path, path);
	f = popen(cmd, "r");
	if (!f) {
		unlink(path);
		return -1;
	}
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		fa_buf_append(out, buf, k);
	status = pclose(f);
	unlink(path);
	return status == 0 ? 0 : -1;
}

/* What the tool makes, we decode; what we make, the tool decodes. */
static void interop_kind(enum fa_zkind kind, const char *tool,
			 const char *const *makes, struct blob d)
{
	char unpack[64];
	struct blob twice = blob_cat(d, d);
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	struct fa_z z;
	int i;

	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	for (i = 0; makes[i]; i++) {
		fa_buf_reset(&c);
		fa_buf_reset(&r);
		CHECK(run_filter(makes[i], d, &c) == 0, "%s", makes[i]);
		CHECK(fa_z_detect(c.data, c.len) == kind, "detect %s", makes[i]);
		CHECK(decode(kind, (struct blob){ c.data, c.len }, &r, &err) ==
		      FA_OK && (same(&r, d) || same(&r, twice)),
		      "%s (%zu bytes): %s", makes[i], d.n, err.msg);
	}
	/* Ours, flushed and in two members, through the tool. */
	fa_buf_reset(&c);
	fa_buf_reset(&r);
	fa_z_init(&z, kind, 0, &err);
	for (i = 0; i < 2; i++) {
		fa_z_write(&z, d.p, d.n / 3, &c, &err);
		fa_z_flush(&z, &c, &err);
		fa_z_write(&z, d.p + d.n / 3, d.n - d.n / 3, &c, &err);
		CHECK(fa_z_finish(&z, &c, &err) == FA_OK, "%s", err.msg);
	}
	fa_z_release(&z);
	snprintf(unpack, sizeof(unpack), "%s -dc < '%%s'", tool);
	CHECK(run_filter(unpack, (struct blob){ c.data, c.len }, &r) == 0 &&
	      same(&r, twice), "%s of ours (%zu bytes): got %zu", unpack,
	      twice.n, r.len);
	fa_buf_release(&c);
	fa_buf_release(&r);
	free(twice.p);
}

static void test_interop(void)
{
	static const char *const gz[] = {
		"gzip -c < '%s'", "gzip -9 -c < '%s'", "gzip -1 -c '%s'",
		"(gzip -c < '%s'; gzip -1 -c < '%s')", NULL };
	static const char *const zst[] = {
		"zstd -q -c < '%s'", "zstd -q -19 -c '%s'",
		"cat '%s' | zstd -q -1 -c", "zstd -q -c --no-check '%s'",
		"(zstd -q -c < '%s'; zstd -q -3 -c '%s')", NULL };
	struct blob sets[3] = { { NULL, 0 }, blob_random(100000),
				blob_text(1 << 20) };
	struct fa_error err = { 0 };
	struct fa_buf c, r;
	ZSTD_frameHeader fh;
	int i;

	if (!have("gzip"))
		printf("  note: gzip not found, gzip interoperability skipped\n");
	else
		for (i = 0; i < 3; i++)
			interop_kind(FA_Z_GZIP, "gzip", gz, sets[i]);
	if (!have("zstd")) {
		printf("  note: zstd not found, zstd interoperability skipped\n");
		goto out;
	}
	for (i = 0; i < 3; i++)
		interop_kind(FA_Z_ZSTD, "zstd", zst, sets[i]);

	/* zstd --long=28 on a pipe declares a 2^28 window: over our limit. */
	fa_buf_init(&c, 0);
	fa_buf_init(&r, 0);
	run_filter("cat '%s' | zstd -q -c --long=28", sets[2], &c);
	if (ZSTD_getFrameHeader(&fh, c.data, c.len) != 0 ||
	    fh.windowSize <= (1u << 27)) {
		printf("  note: zstd --long=28 made a %llu-byte window, "
		       "window check skipped\n", (unsigned long long)fh.windowSize);
	} else {
		CHECK(decode(FA_Z_ZSTD, (struct blob){ c.data, c.len }, &r,
			     &err) == FA_EINPUT &&
		      strstr(err.msg, "at byte 0 needs a window") != NULL,
		      "%s", err.msg);
		fa_buf_reset(&r);
		CHECK(decode_cap(FA_Z_ZSTD, 28, (struct blob){ c.data, c.len },
				 FA_UNZ_STEP, 1, &r, &err) == FA_OK &&
		      same(&r, sets[2]), "--long=28 with limit 28: %s", err.msg);
	}
	fa_buf_release(&c);
	fa_buf_release(&r);
out:
	for (i = 0; i < 3; i++)
		free(sets[i].p);
}

/* ------------------------------------------------------------ speed */

static void speed_kind(enum fa_zkind kind, int level, struct blob d)
{
	struct fa_error err = { 0 };
	struct fa_buf c, out;
	struct fa_unz u;
	struct fa_z z;
	size_t off, used, piece, got = 0, zmem = 0;
	double te, td;
	int bad = 0;
	enum fa_err rc = FA_OK;

	fa_buf_init(&c, 0);
	fa_z_init(&z, kind, level, &err);
	te = now();
	for (off = 0; off < d.n && rc == FA_OK; off += piece) {
		piece = d.n - off < 65536 ? d.n - off : 65536;
		rc = fa_z_write(&z, d.p + off, piece, &c, &err);
	}
	if (rc == FA_OK)
		rc = fa_z_finish(&z, &c, &err);
	te = now() - te;
	if (z.zc)
		zmem = ZSTD_sizeof_CCtx(z.zc);
	fa_z_release(&z);

	fa_buf_init(&out, FA_UNZ_STEP);
	fa_unz_init(&u, kind, 0, &err);
	td = now();
	for (off = 0; rc == FA_OK && (off < c.len || u.more); off += used) {
		piece = c.len - off < 65536 ? c.len - off : 65536;
		rc = fa_unz_feed(&u, c.data + off, piece, &used, &out, &err);
		bad |= got + out.len > d.n ||
		       memcmp(out.data, d.p + got, out.len) != 0;
		got += out.len;
		fa_buf_reset(&out);
	}
	if (rc == FA_OK)
		rc = fa_unz_finish(&u, &err);
	td = now() - td;
	CHECK(rc == FA_OK && got == d.n && !bad, "%s speed run: %s",
	      fa_z_name(kind), err.msg);
	printf("  speed %s level %d: encode %.1f MB/s, decode %.0f MB/s, "
	       "%zu KiB of CSV to %.1f%%", fa_z_name(kind), z.level,
	       d.n / te / 1e6, d.n / td / 1e6, d.n >> 10, 100.0 * c.len / d.n);
	if (zmem)
		printf(", zstd encoder %zu KiB, decoder %zu KiB", zmem >> 10,
		       ZSTD_sizeof_DCtx(u.zd) >> 10);
	printf("\n");
	fa_unz_release(&u);
	fa_buf_release(&out);
	fa_buf_release(&c);
}

/* Each kind over text, round trip checked, with its speed printed: 4 MiB
   (level 19 on 512 KiB) in the suite, where speed is not asserted; 32 MiB
   (2 MiB) with FA_UNIT_SPEED=1 in the environment, for a figure worth
   reading. */
static void test_speed(void)
{
	int big = getenv("FA_UNIT_SPEED") != NULL;
	struct blob d = blob_text((size_t)(big ? 32 : 4) << 20);

	speed_kind(FA_Z_GZIP, 0, d);
	speed_kind(FA_Z_GZIP, 1, d);
	speed_kind(FA_Z_ZSTD, 0, d);
	speed_kind(FA_Z_ZSTD, 1, d);
	d.n = (size_t)(big ? 2048 : 512) << 10;         /* level 19 is slow */
	speed_kind(FA_Z_ZSTD, 19, d);
	printf("  zstd estimates: encoder level 1 %zu KiB, 3 %zu KiB, 19 %zu "
	       "KiB; decoder window 2 MiB %zu KiB, 8 MiB %zu KiB, 128 MiB "
	       "%zu KiB\n", ZSTD_estimateCStreamSize(1) >> 10,
	       ZSTD_estimateCStreamSize(3) >> 10,
	       ZSTD_estimateCStreamSize(19) >> 10,
	       ZSTD_estimateDStreamSize(1 << 21) >> 10,
	       ZSTD_estimateDStreamSize(1 << 23) >> 10,
	       ZSTD_estimateDStreamSize(1 << 27) >> 10);
	free(d.p);
}

int main(int argc, char **argv)
{
	rnd_seed("test_zcodec", argc, argv);
	RUN(test_detect);
	RUN(test_levels);
	RUN(test_roundtrips);
	RUN(test_flush);
	RUN(test_concat);
	RUN(test_truncated);
	RUN(test_corrupt);
	RUN(test_window);
	RUN(test_out_cap);
	RUN(test_bomb);
	RUN(test_interop);
	RUN(test_speed);
	return check_report("test_zcodec");
}
