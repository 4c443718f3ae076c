#include "core/fmt.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

enum json_kind { J_STRING, J_NUMBER, J_BOOL, J_RAW };

/* A table cell or header after psql's display formatting, in a buffer. */
struct cell {
	size_t off;
	size_t len;
	unsigned int width;	/* of the widest line */
	unsigned int lines;
};

/* A cursor over the '\n'-separated lines of a formatted cell. */
struct lines {
	const char *p;
	const char *end;
	bool done;		/* the last line has been taken */
};

/* Per-column state, kept in f->cols. */
struct col {
	bool right;		/* table: right-aligned (numeric types) */
	enum json_kind json;
	enum fa_err (*json_put)(const void *, void *, struct fa_buf *, const char *, size_t);
	const void *json_type;
	void *json_ctx;
	struct cell head;	/* in f->heads: json key, or display form */
	unsigned int width;	/* table: widest header or cell in the chunk */
	struct lines cur;	/* table: lines of the cell being printed */
};

/* While formatting one cell: where it goes and how wide it gets. */
struct cellfmt {
	struct fa_buf *dst;
	enum fa_err err;
	unsigned int linew;	/* width of the current line so far */
	unsigned int width;
	unsigned int lines;
};

static struct col *cols_of(struct fa_fmt *f)
{
	return (struct col *)(void *)f->cols.data;
}

static struct cell *cells_of(struct fa_fmt *f)
{
	return (struct cell *)(void *)f->cells.data;
}

/*
 * Output goes through these; the first error sticks in f->err.  They copy
 * straight into out while it has room (fa_buf keeps cap <= max + 1, so
 * the cap is respected) and leave it NUL-terminated as fa_buf promises;
 * that saves a call per field on the streaming paths.
 */
static inline void put(struct fa_fmt *f, const void *p, size_t n)
{
	struct fa_buf *b = f->out;

	if (f->err != FA_OK)
		return;
	if (b->cap - b->len <= n) {
		f->err = fa_buf_append(b, p, n);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void putch(struct fa_fmt *f, char c)
{
	put(f, &c, 1);
}

static void puts_(struct fa_fmt *f, const char *s)
{
	put(f, s, strlen(s));
}

static void repeat(struct fa_fmt *f, char c, unsigned int n)
{
	char chunk[64];
	unsigned int k;

	if (n == 0)
		return;
	memset(chunk, c, sizeof(chunk));
	for (; n > 0; n -= k) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		put(f, chunk, k);
	}
}

/* Length of value i: lens[i], or strlen when lens is NULL or negative. */
static size_t value_len(const char *const *vals, const int *lens, int i)
{
	if (lens && lens[i] >= 0)
		return (size_t)lens[i];
	return strlen(vals[i]);
}

/*
 * Display width.  psql measures text with its own Unicode tables, not the
 * C library's wcwidth(), so these ranges reproduce psql 15 exactly: they
 * were measured by printing every code point from U+00A0 to U+10FFFF
 * through psql 15's aligned format and reading back the padding.  Code
 * points in zero_width take no column, those in double_width two, all
 * others one.  psql 15 uses Unicode 14; a newer psql may differ slightly.
 */
struct range {
	unsigned int first;
	unsigned int last;
};

static const struct range zero_width[] = {
	{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF},
	{0x05C1, 0x05C2}, {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A},
	{0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
	{0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0711, 0x0711}, {0x0730, 0x074A},
	{0x07A6, 0x07B0}, {0x07EB, 0x07F3}, {0x07FD, 0x07FD}, {0x0816, 0x0819},
	{0x081B, 0x0823}, {0x0825, 0x0827}, {0x0829, 0x082D}, {0x0859, 0x085B},
	{0x0898, 0x089F}, {0x08CA, 0x08E1}, {0x08E3, 0x0902}, {0x093A, 0x093A},
	{0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D}, {0x0951, 0x0957},
	{0x0962, 0x0963}, {0x0981, 0x0981}, {0x09BC, 0x09BC}, {0x09C1, 0x09C4},
	{0x09CD, 0x09CD}, {0x09E2, 0x09E3}, {0x09FE, 0x0A02}, {0x0A3C, 0x0A3C},
	{0x0A41, 0x0A51}, {0x0A70, 0x0A71}, {0x0A75, 0x0A75}, {0x0A81, 0x0A82},
	{0x0ABC, 0x0ABC}, {0x0AC1, 0x0AC8}, {0x0ACD, 0x0ACD}, {0x0AE2, 0x0AE3},
	{0x0AFA, 0x0B01}, {0x0B3C, 0x0B3C}, {0x0B3F, 0x0B3F}, {0x0B41, 0x0B44},
	{0x0B4D, 0x0B56}, {0x0B62, 0x0B63}, {0x0B82, 0x0B82}, {0x0BC0, 0x0BC0},
	{0x0BCD, 0x0BCD}, {0x0C00, 0x0C00}, {0x0C04, 0x0C04}, {0x0C3C, 0x0C3C},
	{0x0C3E, 0x0C40}, {0x0C46, 0x0C56}, {0x0C62, 0x0C63}, {0x0C81, 0x0C81},
	{0x0CBC, 0x0CBC}, {0x0CBF, 0x0CBF}, {0x0CC6, 0x0CC6}, {0x0CCC, 0x0CCD},
	{0x0CE2, 0x0CE3}, {0x0D00, 0x0D01}, {0x0D3B, 0x0D3C}, {0x0D41, 0x0D44},
	{0x0D4D, 0x0D4D}, {0x0D62, 0x0D63}, {0x0D81, 0x0D81}, {0x0DCA, 0x0DCA},
	{0x0DD2, 0x0DD6}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E},
	{0x0EB1, 0x0EB1}, {0x0EB4, 0x0EBC}, {0x0EC8, 0x0ECD}, {0x0F18, 0x0F19},
	{0x0F35, 0x0F35}, {0x0F37, 0x0F37}, {0x0F39, 0x0F39}, {0x0F71, 0x0F7E},
	{0x0F80, 0x0F84}, {0x0F86, 0x0F87}, {0x0F8D, 0x0FBC}, {0x0FC6, 0x0FC6},
	{0x102D, 0x1030}, {0x1032, 0x1037}, {0x1039, 0x103A}, {0x103D, 0x103E},
	{0x1058, 0x1059}, {0x105E, 0x1060}, {0x1071, 0x1074}, {0x1082, 0x1082},
	{0x1085, 0x1086}, {0x108D, 0x108D}, {0x109D, 0x109D}, {0x135D, 0x135F},
	{0x1712, 0x1714}, {0x1732, 0x1733}, {0x1752, 0x1753}, {0x1772, 0x1773},
	{0x17B4, 0x17B5}, {0x17B7, 0x17BD}, {0x17C6, 0x17C6}, {0x17C9, 0x17D3},
	{0x17DD, 0x17DD}, {0x180B, 0x180D}, {0x180F, 0x180F}, {0x1885, 0x1886},
	{0x18A9, 0x18A9}, {0x1920, 0x1922}, {0x1927, 0x1928}, {0x1932, 0x1932},
	{0x1939, 0x193B}, {0x1A17, 0x1A18}, {0x1A1B, 0x1A1B}, {0x1A56, 0x1A56},
	{0x1A58, 0x1A60}, {0x1A62, 0x1A62}, {0x1A65, 0x1A6C}, {0x1A73, 0x1A7F},
	{0x1AB0, 0x1B03}, {0x1B34, 0x1B34}, {0x1B36, 0x1B3A}, {0x1B3C, 0x1B3C},
	{0x1B42, 0x1B42}, {0x1B6B, 0x1B73}, {0x1B80, 0x1B81}, {0x1BA2, 0x1BA5},
	{0x1BA8, 0x1BA9}, {0x1BAB, 0x1BAD}, {0x1BE6, 0x1BE6}, {0x1BE8, 0x1BE9},
	{0x1BED, 0x1BED}, {0x1BEF, 0x1BF1}, {0x1C2C, 0x1C33}, {0x1C36, 0x1C37},
	{0x1CD0, 0x1CD2}, {0x1CD4, 0x1CE0}, {0x1CE2, 0x1CE8}, {0x1CED, 0x1CED},
	{0x1CF4, 0x1CF4}, {0x1CF8, 0x1CF9}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20F0},
	{0x2CEF, 0x2CF1}, {0x2D7F, 0x2D7F}, {0x2DE0, 0x2DFF}, {0x302A, 0x302D},
	{0x3099, 0x309A}, {0xA66F, 0xA672}, {0xA674, 0xA67D}, {0xA69E, 0xA69F},
	{0xA6F0, 0xA6F1}, {0xA802, 0xA802}, {0xA806, 0xA806}, {0xA80B, 0xA80B},
	{0xA825, 0xA826}, {0xA82C, 0xA82C}, {0xA8C4, 0xA8C5}, {0xA8E0, 0xA8F1},
	{0xA8FF, 0xA8FF}, {0xA926, 0xA92D}, {0xA947, 0xA951}, {0xA980, 0xA982},
	{0xA9B3, 0xA9B3}, {0xA9B6, 0xA9B9}, {0xA9BC, 0xA9BD}, {0xA9E5, 0xA9E5},
	{0xAA29, 0xAA2E}, {0xAA31, 0xAA32}, {0xAA35, 0xAA36}, {0xAA43, 0xAA43},
	{0xAA4C, 0xAA4C}, {0xAA7C, 0xAA7C}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4},
	{0xAAB7, 0xAAB8}, {0xAABE, 0xAABF}, {0xAAC1, 0xAAC1}, {0xAAEC, 0xAAED},
	{0xAAF6, 0xAAF6}, {0xABE5, 0xABE5}, {0xABE8, 0xABE8}, {0xABED, 0xABED},
	{0xFB1E, 0xFB1E}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
	{0x101FD, 0x101FD}, {0x102E0, 0x102E0}, {0x10376, 0x1037A},
	{0x10A01, 0x10A0F}, {0x10A38, 0x10A3F}, {0x10AE5, 0x10AE6},
	{0x10D24, 0x10D27}, {0x10EAB, 0x10EAC}, {0x10F46, 0x10F50},
	{0x10F82, 0x10F85}, {0x11001, 0x11001}, {0x11038, 0x11046},
	{0x11070, 0x11070}, {0x11073, 0x11074}, {0x1107F, 0x11081},
	{0x110B3, 0x110B6}, {0x110B9, 0x110BA}, {0x110C2, 0x110C2},
	{0x11100, 0x11102}, {0x11127, 0x1112B}, {0x1112D, 0x11134},
	{0x11173, 0x11173}, {0x11180, 0x11181}, {0x111B6, 0x111BE},
	{0x111C9, 0x111CC}, {0x111CF, 0x111CF}, {0x1122F, 0x11231},
	{0x11234, 0x11234}, {0x11236, 0x11237}, {0x1123E, 0x1123E},
	{0x112DF, 0x112DF}, {0x112E3, 0x112EA}, {0x11300, 0x11301},
	{0x1133B, 0x1133C}, {0x11340, 0x11340}, {0x11366, 0x11374},
	{0x11438, 0x1143F}, {0x11442, 0x11444}, {0x11446, 0x11446},
	{0x1145E, 0x1145E}, {0x114B3, 0x114B8}, {0x114BA, 0x114BA},
	{0x114BF, 0x114C0}, {0x114C2, 0x114C3}, {0x115B2, 0x115B5},
	{0x115BC, 0x115BD}, {0x115BF, 0x115C0}, {0x115DC, 0x115DD},
	{0x11633, 0x1163A}, {0x1163D, 0x1163D}, {0x1163F, 0x11640},
	{0x116AB, 0x116AB}, {0x116AD, 0x116AD}, {0x116B0, 0x116B5},
	{0x116B7, 0x116B7}, {0x1171D, 0x1171F}, {0x11722, 0x11725},
	{0x11727, 0x1172B}, {0x1182F, 0x11837}, {0x11839, 0x1183A},
	{0x1193B, 0x1193C}, {0x1193E, 0x1193E}, {0x11943, 0x11943},
	{0x119D4, 0x119DB}, {0x119E0, 0x119E0}, {0x11A01, 0x11A0A},
	{0x11A33, 0x11A38}, {0x11A3B, 0x11A3E}, {0x11A47, 0x11A47},
	{0x11A51, 0x11A56}, {0x11A59, 0x11A5B}, {0x11A8A, 0x11A96},
	{0x11A98, 0x11A99}, {0x11C30, 0x11C3D}, {0x11C3F, 0x11C3F},
	{0x11C92, 0x11CA7}, {0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3},
	{0x11CB5, 0x11CB6}, {0x11D31, 0x11D45}, {0x11D47, 0x11D47},
	{0x11D90, 0x11D91}, {0x11D95, 0x11D95}, {0x11D97, 0x11D97},
	{0x11EF3, 0x11EF4}, {0x16AF0, 0x16AF4}, {0x16B30, 0x16B36},
	{0x16F4F, 0x16F4F}, {0x16F8F, 0x16F92}, {0x16FE4, 0x16FE4},
	{0x1BC9D, 0x1BC9E}, {0x1CF00, 0x1CF46}, {0x1D167, 0x1D169},
	{0x1D17B, 0x1D182}, {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD},
	{0x1D242, 0x1D244}, {0x1DA00, 0x1DA36}, {0x1DA3B, 0x1DA6C},
	{0x1DA75, 0x1DA75}, {0x1DA84, 0x1DA84}, {0x1DA9B, 0x1DAAF},
	{0x1E000, 0x1E02A}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE},
	{0x1E2EC, 0x1E2EF}, {0x1E8D0, 0x1E8D6}, {0x1E944, 0x1E94A},
	{0xE0100, 0xE01EF}
};

static const struct range double_width[] = {
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC},
	{0x23F0, 0x23F0}, {0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615},
	{0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693}, {0x26A1, 0x26A1},
	{0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
	{0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
	{0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B},
	{0x2728, 0x2728}, {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755},
	{0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0}, {0x27BF, 0x27BF},
	{0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x2E80, 0x2E99},
	{0x2E9B, 0x2EF3}, {0x2F00, 0x2FD5}, {0x2FF0, 0x2FFB}, {0x3000, 0x3029},
	{0x302E, 0x303E}, {0x3041, 0x3096}, {0x309B, 0x30FF}, {0x3105, 0x312F},
	{0x3131, 0x318E}, {0x3190, 0x31E3}, {0x31F0, 0x321E}, {0x3220, 0x3247},
	{0x3250, 0x4DBF}, {0x4E00, 0xA48C}, {0xA490, 0xA4C6}, {0xA960, 0xA97C},
	{0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52},
	{0xFE54, 0xFE66}, {0xFE68, 0xFE6B}, {0xFF01, 0xFF60}, {0xFFE0, 0xFFE6},
	{0x16FE0, 0x16FE3}, {0x16FF0, 0x16FF1}, {0x17000, 0x187F7},
	{0x18800, 0x18CD5}, {0x18D00, 0x18D08}, {0x1AFF0, 0x1AFF3},
	{0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE}, {0x1B000, 0x1B122},
	{0x1B150, 0x1B152}, {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB},
	{0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
	{0x1F191, 0x1F19A}, {0x1F200, 0x1F202}, {0x1F210, 0x1F23B},
	{0x1F240, 0x1F248}, {0x1F250, 0x1F251}, {0x1F260, 0x1F265},
	{0x1F300, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
	{0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
	{0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
	{0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D},
	{0x1F54B, 0x1F54E}, {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A},
	{0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
	{0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
	{0x1F6D5, 0x1F6D7}, {0x1F6DD, 0x1F6DF}, {0x1F6EB, 0x1F6EC},
	{0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB}, {0x1F7F0, 0x1F7F0},
	{0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF},
	{0x1FA70, 0x1FA74}, {0x1FA78, 0x1FA7C}, {0x1FA80, 0x1FA86},
	{0x1FA90, 0x1FAAC}, {0x1FAB0, 0x1FABA}, {0x1FAC0, 0x1FAC5},
	{0x1FAD0, 0x1FAD9}, {0x1FAE0, 0x1FAE7}, {0x1FAF0, 0x1FAF6},
	{0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}
};

static bool in_ranges(unsigned int cp, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;

	if (n == 0 || cp < r[0].first || cp > r[n - 1].last)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp > r[mid].last)
			lo = mid + 1;
		else if (cp < r[mid].first)
			hi = mid;
		else
			return true;
	}
	return false;
}

/* Columns taken by code point cp (>= U+00A0, so never a control). */
static unsigned int ucs_width(unsigned int cp)
{
	if (in_ranges(cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
		return 0;
	if (in_ranges(cp, double_width,
		      sizeof(double_width) / sizeof(double_width[0])))
		return 2;
	return 1;
}

int fa_fmt_width(const char *s, size_t len)
{
	const char *end = s + len;
	unsigned int cp;
	int n, width = 0;

	while (s < end) {
		if ((unsigned char)*s < 0x80) {
			if ((unsigned char)*s >= 0x20 && *s != 0x7f)
				width++;
			s++;
			continue;
		}
		n = fa_json_utf8_decode(s, end - s, &cp);
		if (n == 0) {
			s++;
			continue;
		}
		if (cp >= 0xa0)
			width += ucs_width(cp);
		s += n;
	}
	return width;
}

/*
 * Cell formatting: what psql's mbvalidate() and pg_wcsformat() do to a
 * value before printing it aligned.  Newlines split lines; CR shows as
 * \r, a tab as spaces to the next multiple of 8, other ASCII controls as
 * \xNN, C1 controls as \uNNNN; bytes that are not valid UTF-8 are dropped.
 */
static void emit(struct cellfmt *st, const char *p, size_t n,
		 unsigned int width)
{
	if (st->err == FA_OK)
		st->err = fa_buf_append(st->dst, p, n);
	st->linew += width;
}

static void format_control(struct cellfmt *st, unsigned char c)
{
	char hex[8];

	if (c == '\n') {
		if (st->linew > st->width)
			st->width = st->linew;
		st->linew = 0;
		st->lines++;
		emit(st, "\n", 1, 0);
	} else if (c == '\r') {
		emit(st, "\\r", 2, 2);
	} else if (c == '\t') {
		do
			emit(st, " ", 1, 1);
		while (st->linew % 8 != 0);
	} else {
		snprintf(hex, sizeof(hex), "\\x%02X", c);
		emit(st, hex, 4, 4);
	}
}

/* Formats the multibyte character at s; returns the bytes it took. */
static size_t format_utf8(struct cellfmt *st, const char *s, const char *end)
{
	char hex[8];
	unsigned int cp;
	int n = fa_json_utf8_decode(s, end - s, &cp);

	/* psql also drops U+nFFFE and U+nFFFF outside the first plane. */
	if (n == 0 || (cp > 0xffff && (cp & 0xfffe) == 0xfffe))
		return 1;
	if (cp < 0xa0) {
		snprintf(hex, sizeof(hex), "\\u%04X", cp);
		emit(st, hex, 6, 6);
	} else {
		emit(st, s, n, ucs_width(cp));
	}
	return n;
}

/* Appends the display form of s[0..n) to dst and describes it in *c. */
static enum fa_err format_cell(struct fa_buf *dst, const char *s, size_t n,
			       struct cell *c)
{
	struct cellfmt st = { dst, FA_OK, 0, 0, 1 };
	const char *nul = memchr(s, '\0', n);
	const char *end = nul ? nul : s + n;	/* psql sees a C string */
	const char *run;

	c->off = dst->len;
	if (fa_buf_grow(dst, end - s) != FA_OK)	/* also: data is never NULL */
		return FA_ENOMEM;
	while (s < end) {
		for (run = s; s < end && *s >= 0x20 && *s < 0x7f; s++)
			;
		emit(&st, run, s - run, s - run);
		if (s == end)
			break;
		if ((unsigned char)*s < 0x80)
			format_control(&st, *s++);
		else
			s += format_utf8(&st, s, end);
	}
	c->width = st.linew > st.width ? st.linew : st.width;
	c->lines = st.lines;
	c->len = dst->len - c->off;
	return st.err;
}

/* Takes the next line of l; sets l->done when it was the last one. */
static const char *line_next(struct lines *l, size_t *len, unsigned int *width)
{
	const char *s = l->p;
	const char *nl = memchr(s, '\n', l->end - s);

	if (nl) {
		*len = nl - s;
		l->p = nl + 1;
	} else {
		*len = l->end - s;
		l->p = l->end;
		l->done = true;
	}
	*width = fa_fmt_width(s, *len);
	return s;
}

static void lines_init(struct lines *l, const struct fa_buf *b,
		       const struct cell *c)
{
	l->p = b->data + c->off;
	l->end = l->p + c->len;
	l->done = false;
}

/*
 * csv: psql --csv's quoting rule, plus COPY's rule that a value equal to
 * the NULL string is quoted (so "" is not NULL).
 */
static void csv_field(struct fa_fmt *f, const char *s, size_t n, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *q;
	size_t i;

	for (i = 0; i < n && !f->csv_special[p[i]]; i++)
		;
	if (i < n || (n == 2 && s[0] == '\\' && s[1] == '.') ||
	    f->opt.csv_delim == '\\' || f->opt.csv_delim == '.')
		quote = true;
	if (!quote) {
		put(f, s, n);
		return;
	}
	putch(f, '"');
	while ((q = memchr(s, '"', n)) != NULL) {
		put(f, s, q - s + 1);
		putch(f, '"');
		n -= q - s + 1;
		s = q + 1;
	}
	put(f, s, n);
	putch(f, '"');
}

static void csv_row(struct fa_fmt *f, const char *const *vals,
		    const int *lens)
{
	const char *null_str = f->opt.null_str;
	size_t null_len = strlen(null_str), n;
	int i;

	for (i = 0; i < f->ncols; i++) {
		if (i > 0)
			putch(f, f->opt.csv_delim);
		if (!vals[i]) {
			csv_field(f, null_str, null_len, false);
			continue;
		}
		n = value_len(vals, lens, i);
		csv_field(f, vals[i], n, n == null_len &&
			  memcmp(vals[i], null_str, n) == 0);
	}
	if (f->ncols > 0)	/* psql prints nothing for zero-column rows */
		putch(f, '\n');
}

/* tsv: COPY TO's text format escapes. */
static char tsv_escape(char c)
{
	switch (c) {
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	case '\v': return 'v';
	case '\\': return '\\';
	}
	return 0;
}

static void tsv_field(struct fa_fmt *f, const char *s, size_t n)
{
	const char *end = s + n, *run = s, *p;
	char esc[2] = { '\\', 0 };

	for (p = s; p < end; p++) {
		if ((unsigned char)*p >= 0x20 && *p != '\\')
			continue;
		esc[1] = tsv_escape(*p);
		if (!esc[1])
			continue;
		put(f, run, p - run);
		put(f, esc, 2);
		run = p + 1;
	}
	put(f, run, end - run);
}

static void tsv_row(struct fa_fmt *f, const char *const *vals,
		    const int *lens)
{
	int i;

	for (i = 0; i < f->ncols; i++) {
		if (i > 0)
			putch(f, '\t');
		if (vals[i])
			tsv_field(f, vals[i], value_len(vals, lens, i));
		else
			put(f, "\\N", 2);
	}
	putch(f, '\n');		/* COPY writes an empty line for no columns */
}

/* Writes the csv or tsv header line from the caller's column names. */
static void text_header(struct fa_fmt *f, const struct fa_fmt_col *cols)
{
	const char *name;
	int i;

	for (i = 0; i < f->ncols; i++) {
		name = cols[i].name ? cols[i].name : "";
		if (f->opt.kind == FA_FMT_CSV) {
			if (i > 0)
				putch(f, f->opt.csv_delim);
			csv_field(f, name, strlen(name), false);
		} else {
			if (i > 0)
				putch(f, '\t');
			tsv_field(f, name, strlen(name));
		}
	}
	putch(f, '\n');
}

/* json: a value by its column's type, falling back to a string. */
static void json_value(struct fa_fmt *f, const struct col *c, const char *s,
		       size_t n)
{
	if (c->json_put) {
		if (f->err == FA_OK)
			f->err = c->json_put(c->json_type, c->json_ctx, f->out, s, n);
		return;
	}
	switch (c->json) {
	case J_NUMBER:
		if (fa_json_is_number(s, n)) {
			put(f, s, n);
			return;
		}
		break;
	case J_BOOL:
		if (n == 1 && (*s == 't' || *s == 'f')) {
			puts_(f, *s == 't' ? "true" : "false");
			return;
		}
		break;
	case J_RAW:
		if (n > 0) {
			put(f, s, n);
			return;
		}
		break;
	case J_STRING:
		break;
	}
	if (f->err == FA_OK)
		f->err = fa_json_put_string(f->out, s, n);
}

static void json_row(struct fa_fmt *f, const char *const *vals,
		     const int *lens)
{
	const struct col *c = cols_of(f);
	bool array = f->opt.kind == FA_FMT_JSON;
	int i;

	if (array && f->nrows > 0)
		put(f, ",\n{", 3);
	else if (array)
		put(f, "[{", 2);
	else
		putch(f, '{');
	for (i = 0; i < f->ncols; i++) {
		if (i > 0)
			putch(f, ',');
		put(f, f->heads.data + c[i].head.off, c[i].head.len);
		if (vals[i])
			json_value(f, &c[i], vals[i], value_len(vals, lens, i));
		else
			put(f, "null", 4);
	}
	put(f, "}\n", array ? 1 : 2);
}

/*
 * table: buffering.  Each row's cells are formatted for display on the
 * way in, so a chunk is printed from f->text without looking back at the
 * caller's values.
 */
static void table_row(struct fa_fmt *f, const char *const *vals,
		      const int *lens)
{
	size_t need = (size_t)f->ncols * sizeof(struct cell);
	const char *s;
	struct cell *c;
	int i;

	if (fa_buf_grow(&f->cells, need) != FA_OK) {
		f->err = FA_ENOMEM;
		return;
	}
	c = (struct cell *)(void *)(f->cells.data + f->cells.len);
	for (i = 0; i < f->ncols && f->err == FA_OK; i++) {
		s = vals[i] ? vals[i] : f->opt.null_str;
		f->err = format_cell(&f->text, s, vals[i] ?
				     value_len(vals, lens, i) : strlen(s), &c[i]);
	}
	f->cells.len += need;
}

/* Sets each column's width for the buffered chunk; returns the total. */
static unsigned int table_widths(struct fa_fmt *f, unsigned long nrows)
{
	struct col *c = cols_of(f);
	const struct cell *cell = cells_of(f);
	unsigned int total = 0;
	unsigned long r;
	int i;

	for (i = 0; i < f->ncols; i++)
		c[i].width = c[i].head.width;
	for (r = 0; r < nrows; r++) {
		for (i = 0; i < f->ncols; i++, cell++)
			if (cell->width > c[i].width)
				c[i].width = cell->width;
	}
	for (i = 0; i < f->ncols; i++)
		total += c[i].width + 3;
	return f->ncols > 0 ? total - 1 : 0;	/* " a | b " less one */
}

static void table_footer(struct fa_fmt *f)
{
	char line[48];
	int n;

	if (!f->opt.footer)
		return;
	n = snprintf(line, sizeof(line), "(%lu row%s)\n", f->nrows,
		     f->nrows == 1 ? "" : "s");
	put(f, line, n);
}

/* Centered over the table, or flush left when it is as wide. */
static void table_title(struct fa_fmt *f, unsigned int total)
{
	size_t mark = f->text.len;
	struct cell c;

	if (format_cell(&f->text, f->opt.title, strlen(f->opt.title), &c)
	    == FA_OK && c.width < total)
		repeat(f, ' ', (total - c.width) / 2);
	f->text.len = mark;	/* it was only measured */
	if (f->text.data)
		f->text.data[mark] = '\0';
	puts_(f, f->opt.title);
	putch(f, '\n');
}

/*
 * Header lines, centered; a multi-line name ends its lines with '+'.  As
 * in psql, these lines keep their trailing spaces.
 */
static void aligned_header(struct fa_fmt *f)
{
	struct col *c = cols_of(f);
	int i, pending = f->ncols;
	unsigned int w, space;
	const char *s;
	size_t n;

	for (i = 0; i < f->ncols; i++)
		lines_init(&c[i].cur, &f->heads, &c[i].head);
	while (pending > 0) {
		for (i = 0; i < f->ncols; i++) {
			putch(f, ' ');
			if (c[i].cur.done) {
				repeat(f, ' ', c[i].width);
			} else {
				s = line_next(&c[i].cur, &n, &w);
				space = c[i].width - w;
				repeat(f, ' ', space / 2);
				put(f, s, n);
				repeat(f, ' ', (space + 1) / 2);
				pending -= c[i].cur.done;
			}
			putch(f, c[i].cur.done ? ' ' : '+');
			if (i < f->ncols - 1)
				putch(f, '|');
		}
		putch(f, '\n');
	}
}

static void aligned_rule(struct fa_fmt *f)
{
	const struct col *c = cols_of(f);
	int i;

	putch(f, '-');
	for (i = 0; i < f->ncols; i++) {
		repeat(f, '-', c[i].width);
		if (i < f->ncols - 1)
			put(f, "-+-", 3);
	}
	putch(f, '-');
	putch(f, '\n');
}

/*
 * One display line of column i.  psql pads a left-aligned value only when
 * something follows it on the line: a later column or a '+' mark.
 */
static bool aligned_cell_line(struct fa_fmt *f, struct col *c, bool last)
{
	unsigned int w;
	const char *s;
	size_t n;

	putch(f, ' ');
	if (c->cur.done) {	/* fewer lines than its neighbours */
		if (!last)
			repeat(f, ' ', c->width + 1);
		return false;
	}
	s = line_next(&c->cur, &n, &w);
	if (c->right)
		repeat(f, ' ', c->width - w);
	put(f, s, n);
	if (!c->right && (!last || !c->cur.done))
		repeat(f, ' ', c->width - w);
	if (!c->cur.done)
		putch(f, '+');
	else if (!last)
		putch(f, ' ');
	return !c->cur.done;
}

static void aligned_row(struct fa_fmt *f, const struct cell *cell)
{
	struct col *c = cols_of(f);
	bool more;
	int i;

	for (i = 0; i < f->ncols; i++)
		lines_init(&c[i].cur, &f->text, &cell[i]);
	do {
		more = false;
		for (i = 0; i < f->ncols; i++) {
			more |= aligned_cell_line(f, &c[i], i == f->ncols - 1);
			if (i < f->ncols - 1)
				putch(f, '|');
		}
		putch(f, '\n');
	} while (more);
}

static void aligned_print(struct fa_fmt *f, unsigned long nrows,
			  unsigned int total, bool start, bool stop)
{
	const struct cell *cell = cells_of(f);
	unsigned long r;

	if (start && f->opt.header) {
		if (f->opt.title)
			table_title(f, total);
		aligned_header(f);
		aligned_rule(f);
	}
	for (r = 0; f->ncols > 0 && r < nrows; r++)
		aligned_row(f, cell + r * f->ncols);
	if (stop) {
		table_footer(f);
		putch(f, '\n');
	}
}

/*
 * Expanded (\x) output.  The record line is psql's
 * print_aligned_vertical_line() for border 1: the label may run past the
 * header column, eating into the "-+-" and the data dashes.
 */
static void vertical_rule(struct fa_fmt *f, unsigned long record,
			  int hwidth, int dwidth)
{
	char label[48];
	int len = 0;

	putch(f, '-');
	if (record) {
		len = snprintf(label, sizeof(label), "[ RECORD %lu ]", record);
		put(f, label, len);
	}
	len++;
	if (len < hwidth)
		repeat(f, '-', hwidth - len);
	len -= hwidth;
	if (len-- <= 0)
		putch(f, '-');
	if (len-- <= 0)
		putch(f, '+');
	if (len-- <= 0)
		putch(f, '-');
	if (len < 0)
		len = 0;
	if (len < dwidth)
		repeat(f, '-', dwidth - len);
	putch(f, '\n');
}

/* One "name | value" pair; either side may take several lines. */
static void vertical_field(struct fa_fmt *f, struct col *c,
			   const struct cell *cell, unsigned int hwidth,
			   unsigned int dwidth, bool dmulti)
{
	struct lines data;
	unsigned int w;
	const char *s;
	size_t n;

	lines_init(&c->cur, &f->heads, &c->head);
	lines_init(&data, &f->text, cell);
	while (!c->cur.done || !data.done) {
		if (!c->cur.done) {
			s = line_next(&c->cur, &n, &w);
			put(f, s, n);
			repeat(f, ' ', hwidth - w);
			putch(f, c->cur.done ? ' ' : '+');
		} else {
			repeat(f, ' ', hwidth + 1);
		}
		putch(f, '|');
		if (!data.done) {
			putch(f, ' ');
			s = line_next(&data, &n, &w);
			put(f, s, n);
			if (!data.done && dmulti) {
				repeat(f, ' ', dwidth - w);
				putch(f, '+');
			}
		}
		putch(f, '\n');
	}
}

static void vertical_print(struct fa_fmt *f, unsigned long nrows,
			   bool start, bool stop)
{
	struct col *c = cols_of(f);
	const struct cell *cell = cells_of(f);
	unsigned int hwidth = 0, dwidth = 0;
	bool dmulti = false;
	unsigned long r, i, ncells = nrows * f->ncols;
	int j;

	if (ncells == 0 && start && stop) {	/* psql's empty-result case */
		table_footer(f);
		putch(f, '\n');
		return;
	}
	for (j = 0; j < f->ncols; j++)
		if (c[j].head.width > hwidth)
			hwidth = c[j].head.width;
	for (i = 0; i < ncells; i++) {
		if (cell[i].width > dwidth)
			dwidth = cell[i].width;
		dmulti |= cell[i].lines > 1;
	}
	if (start && f->opt.header && f->opt.title) {
		puts_(f, f->opt.title);
		putch(f, '\n');
	}
	for (r = 0; ncells > 0 && r < nrows; r++) {
		if (f->opt.header)
			vertical_rule(f, f->printed + r + 1, hwidth, dwidth);
		else if (r > 0 || !start)
			vertical_rule(f, 0, hwidth, dwidth);
		for (j = 0; j < f->ncols; j++)
			vertical_field(f, &c[j], cell++, hwidth, dwidth, dmulti);
	}
	if (stop)
		putch(f, '\n');
}

/* Prints the buffered rows as one chunk and empties the buffer. */
static void table_flush(struct fa_fmt *f, bool stop)
{
	unsigned long nrows = f->nrows - f->printed;
	bool start = f->printed == 0;
	unsigned int total = table_widths(f, nrows);
	int x = f->opt.expanded;
	bool chunked = f->opt.chunk_rows > 0 && f->nrows >= f->opt.chunk_rows;

	/*
	 * Auto mode decides by width, except that psql, to keep one layout
	 * for all chunks, goes expanded whenever the first chunk is full.
	 */
	if (x == 1 || (x == 2 && chunked) ||
	    (x == 2 && f->opt.term_width > 0 && f->ncols > 1 &&
	     total > (unsigned int)f->opt.term_width))
		vertical_print(f, nrows, start, stop);
	else
		aligned_print(f, nrows, total, start, stop);
	f->printed = f->nrows;
	fa_buf_reset(&f->cells);
	fa_buf_reset(&f->text);
}

/* Public interface. */

void fa_fmt_opts_init(struct fa_fmt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = FA_FMT_TABLE;
	o->header = true;
	o->footer = true;
	o->csv_delim = ',';
}

void fa_fmt_init(struct fa_fmt *f, const struct fa_fmt_opts *o,
		 struct fa_buf *out)
{
	memset(f, 0, sizeof(*f));
	f->opt = *o;
	if (!f->opt.null_str)
		f->opt.null_str = "";
	if (!f->opt.csv_delim)
		f->opt.csv_delim = ',';
	f->out = out;
	f->csv_special['"'] = 1;
	f->csv_special['\r'] = 1;
	f->csv_special['\n'] = 1;
	f->csv_special[(unsigned char)f->opt.csv_delim] = 1;
	fa_buf_init(&f->cols, 0);
	fa_buf_init(&f->heads, 0);
	fa_buf_init(&f->cells, o->mem_max);
	fa_buf_init(&f->text, o->mem_max);
}

static bool type_is_numeric(unsigned int type)
{
	switch (type) {
	case FA_OID_INT2: case FA_OID_INT4: case FA_OID_INT8:
	case FA_OID_FLOAT4: case FA_OID_FLOAT8: case FA_OID_NUMERIC:
	case FA_OID_OID: case FA_OID_XID: case FA_OID_XID8: case FA_OID_CID:
	case FA_OID_MONEY:
		return true;
	}
	return false;
}

static enum json_kind type_json(unsigned int type)
{
	switch (type) {
	case FA_OID_INT2: case FA_OID_INT4: case FA_OID_INT8:
	case FA_OID_FLOAT4: case FA_OID_FLOAT8: case FA_OID_NUMERIC:
		return J_NUMBER;
	case FA_OID_BOOL:
		return J_BOOL;
	case FA_OID_JSON: case FA_OID_JSONB:
		return J_RAW;
	}
	return J_STRING;
}

/* Fills the column table and the headings the format will print. */
static enum fa_err setup_cols(struct fa_fmt *f, const struct fa_fmt_col *in)
{
	size_t size = (size_t)f->ncols * sizeof(struct col);
	struct col *c;
	int i;

	if (fa_buf_grow(&f->cols, size) != FA_OK)
		return FA_ENOMEM;
	f->cols.len = size;
	c = cols_of(f);
	memset(c, 0, size);
	for (i = 0; i < f->ncols; i++) {
		const char *name = in[i].name ? in[i].name : "";
		size_t len = strlen(name);

		c[i].right = type_is_numeric(in[i].type);
		c[i].json = type_json(in[i].type);
		c[i].json_put = in[i].json;
		c[i].json_type = in[i].json_type;
		c[i].json_ctx = in[i].json_ctx;
		c[i].head.off = f->heads.len;
		if (f->opt.kind == FA_FMT_TABLE) {
			if (format_cell(&f->heads, name, len, &c[i].head) != FA_OK)
				return FA_ENOMEM;
		} else if (f->opt.kind == FA_FMT_JSON ||
			   f->opt.kind == FA_FMT_NDJSON) {
			if (fa_json_put_key(&f->heads, name, len) != FA_OK)
				return FA_ENOMEM;
			c[i].head.len = f->heads.len - c[i].head.off;
		}
	}
	return FA_OK;
}

enum fa_err fa_fmt_begin(struct fa_fmt *f, int ncols,
			 const struct fa_fmt_col *cols)
{
	f->err = FA_OK;
	f->nrows = 0;
	f->printed = 0;
	f->ncols = 0;
	f->active = false;
	fa_buf_reset(&f->cols);
	fa_buf_reset(&f->heads);
	fa_buf_reset(&f->cells);
	fa_buf_reset(&f->text);
	if (ncols < 0 || (unsigned int)f->opt.kind > FA_FMT_NDJSON)
		return f->err = FA_EUSAGE;
	f->ncols = ncols;
	f->active = true;
	f->err = setup_cols(f, cols);
	if (f->err == FA_OK && f->opt.header &&
	    (f->opt.kind == FA_FMT_CSV || f->opt.kind == FA_FMT_TSV))
		text_header(f, cols);
	return f->err;
}

enum fa_err fa_fmt_row(struct fa_fmt *f, const char *const *vals,
		       const int *lens)
{
	if (!f->active)
		return FA_EUSAGE;
	if (f->err != FA_OK)
		return f->err;
	switch (f->opt.kind) {
	case FA_FMT_TABLE:
		table_row(f, vals, lens);
		break;
	case FA_FMT_CSV:
		csv_row(f, vals, lens);
		break;
	case FA_FMT_TSV:
		tsv_row(f, vals, lens);
		break;
	case FA_FMT_JSON:
	case FA_FMT_NDJSON:
		json_row(f, vals, lens);
		break;
	}
	if (f->err != FA_OK)
		return f->err;
	f->nrows++;
	if (f->opt.kind == FA_FMT_TABLE && f->opt.chunk_rows > 0 &&
	    f->nrows - f->printed >= f->opt.chunk_rows)
		table_flush(f, false);
	return f->err;
}

enum fa_err fa_fmt_end(struct fa_fmt *f)
{
	if (!f->active)
		return FA_EUSAGE;
	f->active = false;
	if (f->err != FA_OK)
		return f->err;
	if (f->opt.kind == FA_FMT_TABLE)
		table_flush(f, true);
	else if (f->opt.kind == FA_FMT_JSON)
		puts_(f, f->nrows > 0 ? "]\n" : "[]\n");
	return f->err;
}

void fa_fmt_release(struct fa_fmt *f)
{
	fa_buf_release(&f->cols);
	fa_buf_release(&f->heads);
	fa_buf_release(&f->cells);
	fa_buf_release(&f->text);
	f->active = false;
}

int fa_fmt_kind_parse(const char *name)
{
	static const struct {
		const char *name;
		enum fa_fmt_kind kind;
	} kinds[] = {
		{ "table", FA_FMT_TABLE }, { "aligned", FA_FMT_TABLE },
		{ "csv", FA_FMT_CSV }, { "tsv", FA_FMT_TSV },
		{ "json", FA_FMT_JSON }, { "ndjson", FA_FMT_NDJSON },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(name, kinds[i].name) == 0)
			return (int)kinds[i].kind;
	return -1;
}
