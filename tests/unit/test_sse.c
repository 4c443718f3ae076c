/*
 * Unit tests for lib/http/sse: the Server-Sent Events parser.
 *
 * A stream's events are rendered as one line ("{message|a\nb|id|-1} ...",
 * and "E <msg>" for an error) and compared.  Every stream is fed whole,
 * byte by byte, split in two at every position and in random pieces; all
 * must give the same line.  Random streams made of the pieces that matter
 * (field names, colons, spaces, CR, LF, NUL, a BOM) are also checked
 * against a reference written the plain way: the whole input cut into
 * lines first, then each line read as the WHATWG standard says.
 *
 * Usage: test_sse [seed]
 */
#include "http/sse.c"

#include <inttypes.h>
#include <stdlib.h>

#include "check.h"

static void put_shown(struct fa_buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			fa_buf_puts(out, "\\r");
		else if (c == '\n')
			fa_buf_puts(out, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			fa_buf_printf(out, "\\x%02x", c);
		else
			fa_buf_putc(out, (char)c);
	}
}

static void render(struct fa_buf *out, const struct fa_sse_event *ev)
{
	fa_buf_puts(out, "{");
	put_shown(out, ev->type, ev->type_len);
	fa_buf_puts(out, "|");
	put_shown(out, ev->data, ev->data_len);
	fa_buf_puts(out, "|");
	put_shown(out, ev->id, ev->id_len);
	fa_buf_printf(out, "|%" PRId64 "}", ev->retry);
}

/* Feeds in[0..n) in pieces ending at the cuts (ascending, < n) and
   renders every event, then the last ID and the retry time. */
static void feed_cuts(const char *in, size_t n, const size_t *cuts, int ncuts,
		      size_t max, struct fa_buf *out)
{
	struct fa_sse s;
	struct fa_sse_event ev;
	struct fa_error err = { FA_OK, "" };
	size_t from = 0, to, used, idn;
	const char *id;
	char *piece;
	int k, rc = 0;

	fa_buf_reset(out);
	fa_sse_init(&s, max);
	for (k = 0; k <= ncuts && rc >= 0; k++) {
		to = k < ncuts ? cuts[k] : n;
		/* an exact copy of each piece: ASan sees reads past it */
		piece = malloc(to - from ? to - from : 1);
		memcpy(piece, in + from, to - from);
		for (size_t p = 0; p < to - from; p += used) {
			rc = fa_sse_feed(&s, piece + p, to - from - p, &used,
					 &ev, &err);
			if (rc < 0) {
				fa_buf_printf(out, "E %s", err.msg);
				break;
			}
			if (rc > 0)
				render(out, &ev);
			else if (used != to - from - p)
				fa_buf_puts(out, "(0 without taking it all)");
		}
		free(piece);
		from = to;
	}
	if (rc >= 0) {
		id = fa_sse_last_id(&s, &idn);
		fa_buf_puts(out, " last=");
		put_shown(out, id, idn);
		fa_buf_printf(out, " retry=%" PRId64, s.retry);
	}
	fa_sse_release(&s);
}

static struct fa_buf got, want, tmp;

/* Every way of feeding in[0..n) gives expect. */
static void check_stream(const char *in, size_t n, size_t max,
			 const char *expect, const char *file, int line)
{
	size_t cuts[8], i;
	char what[64];
	int k, nc;

	feed_cuts(in, n, NULL, 0, max, &got);
	check_str(file, line, got.data, expect, "whole");
	for (i = 1; i < n; i++) {
		cuts[0] = i;
		feed_cuts(in, n, cuts, 1, max, &tmp);
		snprintf(what, sizeof(what), "cut at %zu", i);
		check_str(file, line, tmp.data, expect, what);
	}
	for (k = 0; k < 20 && n > 1; k++) {
		nc = (int)rnd_below(8);
		for (i = 0; i < (size_t)nc; i++)
			cuts[i] = rnd_in(1, n - 1);
		for (i = 1; i < (size_t)nc; i++)        /* sorted */
			for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		feed_cuts(in, n, cuts, nc, max, &tmp);
		check_str(file, line, tmp.data, expect, "random pieces");
	}
	/* byte by byte */
	{
		size_t *all = malloc(n * sizeof(*all));

		for (i = 1; i < n; i++)
			all[i - 1] = i;
		feed_cuts(in, n, all, n ? (int)n - 1 : 0, max, &tmp);
		check_str(file, line, tmp.data, expect, "byte by byte");
		free(all);
	}
}

#define CHECK_SSE(in, expect) \
	check_stream((in), sizeof(in) - 1, 0, (expect), __FILE__, __LINE__)
#define CHECK_SSE_MAX(max, in, expect) \
	check_stream((in), sizeof(in) - 1, (max), (expect), __FILE__, __LINE__)

/* The examples of the WHATWG standard, section 9.2.6. */
static void test_spec_examples(void)
{
	CHECK_SSE("data: YHOO\ndata: +2\ndata: 10\n\n",
		  "{message|YHOO\\n+2\\n10||-1} last= retry=-1");
	CHECK_SSE(": test stream\n\ndata: first event\nid: 1\n\n"
		  "data:second event\nid\n\ndata:  third event\n",
		  "{message|first event|1|-1}{message|second event||-1}"
		  " last= retry=-1");
	CHECK_SSE("data\n\ndata\ndata\n\ndata:",
		  "{message|||-1}{message|\\n||-1} last= retry=-1");
	CHECK_SSE("data:test\n\ndata: test\n\n",
		  "{message|test||-1}{message|test||-1} last= retry=-1");
}

static void test_fields(void)
{
	CHECK_SSE("", " last= retry=-1");
	CHECK_SSE("\n\n\r\n", " last= retry=-1");
	/* event types: set for one event only; empty is "message" */
	CHECK_SSE("event: add\ndata: 1\n\ndata: 2\n\n",
		  "{add|1||-1}{message|2||-1} last= retry=-1");
	CHECK_SSE("event: add\n\ndata: 2\n\n", "{message|2||-1} last= retry=-1");
	CHECK_SSE("event:\ndata: 2\n\n", "{message|2||-1} last= retry=-1");
	CHECK_SSE("event: a\nevent: b\ndata\n\n", "{b|||-1} last= retry=-1");
	/* ids: sticky, reset by an empty one, never with a NUL */
	CHECK_SSE("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
		  "{message|a|7|-1}{message|b|7|-1}{message|c||-1}"
		  " last= retry=-1");
	CHECK_SSE("id: 1\ndata: a\n\nid: 2\x00x\ndata: b\n\n",
		  "{message|a|1|-1}{message|b|1|-1} last=1 retry=-1");
	CHECK_SSE("id: 5\n\n", " last=5 retry=-1");
	CHECK_SSE("id: 5\n", " last= retry=-1");     /* no empty line yet */
	CHECK_SSE("data: a\nid: 3\n\n", "{message|a|3|-1} last=3 retry=-1");
	/* retry: digits only */
	CHECK_SSE("retry: 1000\n\n", " last= retry=1000");
	CHECK_SSE("retry: 1000\ndata: x\n\n", "{message|x||1000} last= retry=1000");
	CHECK_SSE("retry: 10\nretry: 1x\nretry: -1\nretry:\nretry: 2 \n"
		  "retry:  3\n", " last= retry=10");
	CHECK_SSE("retry: 9223372036854775807\n",
		  " last= retry=9223372036854775807");
	CHECK_SSE("retry: 5\nretry: 9223372036854775808\n", " last= retry=5");
	/* names are case-sensitive and whole; one space is dropped */
	CHECK_SSE("DATA: a\ndatas: b\n data: c\n\n", " last= retry=-1");
	CHECK_SSE("data:a:b\n\n", "{message|a:b||-1} last= retry=-1");
	CHECK_SSE("data:  two\n\n", "{message| two||-1} last= retry=-1");
	CHECK_SSE("data:\tx\n\n", "{message|\\x09x||-1} last= retry=-1");
	CHECK_SSE("data: a\x00" "b\n\n", "{message|a\\x00b||-1} last= retry=-1");
	CHECK_SSE("data: \xc3\xa9\xff\n\n",
		  "{message|\\xc3\\xa9\\xff||-1} last= retry=-1");
	/* comments, also between data lines */
	CHECK_SSE(":c\ndata: a\n: more\ndata: b\n:\n\n",
		  "{message|a\\nb||-1} last= retry=-1");
	CHECK_SSE("data: unfinished", " last= retry=-1");
	CHECK_SSE("data: no empty line\n", " last= retry=-1");
}

static void test_line_ends(void)
{
	CHECK_SSE("data: a\r\n\r\ndata: b\r\rdata: c\n\n",
		  "{message|a||-1}{message|b||-1}{message|c||-1}"
		  " last= retry=-1");
	CHECK_SSE("data: a\r\ndata: b\r\n\r\n",
		  "{message|a\\nb||-1} last= retry=-1");
	CHECK_SSE("data: a\n\rdata: b\r\n\n",
		  "{message|a||-1}{message|b||-1} last= retry=-1");
	/* CR LF LF is one line end then an empty line */
	CHECK_SSE("data: a\r\n\n", "{message|a||-1} last= retry=-1");
	/* CR CR: two line ends */
	CHECK_SSE("data: a\r\r", "{message|a||-1} last= retry=-1");
	CHECK_SSE("\r\n\r\ndata: x\r\n\r\n", "{message|x||-1} last= retry=-1");
}

static void test_bom(void)
{
	CHECK_SSE("\xEF\xBB\xBF" "data: a\n\n", "{message|a||-1} last= retry=-1");
	CHECK_SSE("\xEF\xBB\xBF\n" "data: a\n\n",
		  "{message|a||-1} last= retry=-1");
	/* one BOM only, and only at the very start */
	CHECK_SSE("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n", " last= retry=-1");
	CHECK_SSE("\ndata: a\n\n\xEF\xBB\xBF" "data: b\n\n",
		  "{message|a||-1} last= retry=-1");
	CHECK_SSE("\xEF\xBB" "data: a\n\n", " last= retry=-1");
}

static void test_limits(void)
{
	/* a line of 16 bytes fits, 17 do not */
	CHECK_SSE_MAX(16, "data: 0123456789\n\n",
		      "{message|0123456789||-1} last= retry=-1");
	CHECK_SSE_MAX(16, "data: 01234567890\n\n",
		      "E event stream: a line is over 16 bytes");
	CHECK_SSE_MAX(16, ": a comment that is far too long\n",
		      "E event stream: a line is over 16 bytes");
	/* the data with each line's '\n': 10 + 1 + 4 + 1 fits, one more not */
	CHECK_SSE_MAX(16, "data: 0123456789\ndata: abcd\n\n",
		      "{message|0123456789\\nabcd||-1} last= retry=-1");
	CHECK_SSE_MAX(16, "data: 0123456789\ndata: abcde\n\n",
		      "E event stream: the data of one event is over 16 bytes");
	/* the cap is per event */
	CHECK_SSE_MAX(16, "data: 0123456789\n\ndata: 0123456789\n\n",
		      "{message|0123456789||-1}{message|0123456789||-1}"
		      " last= retry=-1");
}

static void test_after_error(void)
{
	struct fa_sse s;
	struct fa_sse_event ev;
	struct fa_error err = { FA_OK, "" };
	size_t used;

	fa_sse_init(&s, 4);
	CHECK(fa_sse_feed(&s, "data: x\n", 8, &used, &ev, &err) == -1);
	CHECK(used == 0, "used %zu", used);
	CHECK(fa_sse_feed(&s, "\n", 1, &used, &ev, &err) == -1 && used == 0);
	CHECK_STR(err.msg, "event stream: fed after an error");
	fa_sse_release(&s);

	/* an event's strings stay until the next feed; then they are new */
	fa_sse_init(&s, 0);
	CHECK(fa_sse_feed(&s, "event: e\ndata: 1\n\ndata: 2\n\n", 27, &used,
			  &ev, &err) == 1 && used == 18);
	CHECK_STR(ev.type, "e");
	CHECK_STR(ev.data, "1");
	CHECK(fa_sse_feed(&s, "data: 2\n\n", 9, &used, &ev, &err) == 1);
	CHECK_STR(ev.type, "message");
	CHECK_STR(ev.data, "2");
	CHECK(fa_sse_feed(&s, "", 0, &used, &ev, &err) == 0 && used == 0);
	fa_sse_release(&s);
}

/* ---- the reference: whole lines first, then the standard's steps ---- */

struct ref {
	struct fa_buf data, type, id, last;
	int64_t retry;
};

static void ref_line(struct ref *r, const char *l, size_t n,
		     struct fa_buf *out)
{
	struct fa_sse_event ev;
	const char *colon, *v;
	size_t nl, vn;

	if (n == 0) {
		fa_buf_reset(&r->last);
		fa_buf_append(&r->last, r->id.data ? r->id.data : "", r->id.len);
		if (r->data.len > 0) {
			ev.type = r->type.len ? r->type.data : "message";
			ev.type_len = r->type.len ? r->type.len : 7;
			ev.data = r->data.data;
			ev.data_len = r->data.len - 1;
			ev.id = r->last.data;
			ev.id_len = r->last.len;
			ev.retry = r->retry;
			render(out, &ev);
		}
		fa_buf_reset(&r->data);
		fa_buf_reset(&r->type);
		return;
	}
	if (l[0] == ':')
		return;
	colon = memchr(l, ':', n);
	nl = colon ? (size_t)(colon - l) : n;
	v = colon ? colon + 1 : l + n;
	vn = n - nl - (colon ? 1 : 0);
	if (vn && *v == ' ')
		v++, vn--;
	if (nl == 4 && !memcmp(l, "data", 4)) {
		fa_buf_append(&r->data, v, vn);
		fa_buf_putc(&r->data, '\n');
	} else if (nl == 5 && !memcmp(l, "event", 5)) {
		fa_buf_reset(&r->type);
		fa_buf_append(&r->type, v, vn);
	} else if (nl == 2 && !memcmp(l, "id", 2) && !memchr(v, 0, vn)) {
		fa_buf_reset(&r->id);
		fa_buf_append(&r->id, v, vn);
	} else if (nl == 5 && !memcmp(l, "retry", 5) && vn > 0 && vn < 19 &&
		   strspn(v, "0123456789") >= vn) {
		r->retry = strtoll(v, NULL, 10);
	}
}

static void reference(const char *in, size_t n, struct fa_buf *out)
{
	struct ref r;
	size_t i = 0, s;

	fa_buf_init(&r.data, 0);
	fa_buf_init(&r.type, 0);
	fa_buf_init(&r.id, 0);
	fa_buf_init(&r.last, 0);
	r.retry = -1;
	fa_buf_reset(out);
	if (n >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3))
		i = 3;
	for (s = i; i < n; i++) {
		if (in[i] != '\r' && in[i] != '\n')
			continue;
		ref_line(&r, in + s, i - s, out);
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			i++;
		s = i + 1;
	}
	/* a line cut by the end of input is no line: nothing more */
	fa_buf_puts(out, " last=");
	put_shown(out, r.last.data ? r.last.data : "", r.last.len);
	fa_buf_printf(out, " retry=%" PRId64, r.retry);
	fa_buf_release(&r.data);
	fa_buf_release(&r.type);
	fa_buf_release(&r.id);
	fa_buf_release(&r.last);
}

static void test_random_streams(void)
{
	static const char *const parts[] = {
		"data", "data", "data:", "data: ", "event:", "event: x",
		"id:", "id: ", "id", "retry:", "retry: ", "1", "42", ":",
		" ", "a", "b", "\r", "\n", "\r\n", "\n\n", "\r\n\r\n",
		"\x00", "\xEF\xBB\xBF", "\xc3\xa9", "x",
	};
	struct fa_buf in;
	int round, k, n, failed = 0;

	fa_buf_init(&in, 0);
	for (round = 0; round < 600 && !failed; round++) {
		fa_buf_reset(&in);
		n = (int)rnd_in(0, 40);
		for (k = 0; k < n; k++) {
			const char *p = parts[rnd_below(sizeof(parts) /
							sizeof(parts[0]))];

			fa_buf_append(&in, p, *p ? strlen(p) : 1);
		}
		reference(in.data ? in.data : "", in.len, &want);
		feed_cuts(in.data ? in.data : "", in.len, NULL, 0, 0, &got);
		if (strcmp(got.data, want.data) != 0) {
			tmp.len = 0;
			put_shown(&tmp, in.data, in.len);
			CHECK(0, "round %d: input [%s]\n  got:  %s\n  want: %s",
			      round, tmp.data, got.data, want.data);
			failed = 1;
			continue;
		}
		check_stream(in.data ? in.data : "", in.len, 0, want.data,
			     __FILE__, __LINE__);
	}
	fa_buf_release(&in);
}

/* A long stream in pieces of a few bytes: the buffers do not grow with it. */
static void test_long_stream(void)
{
	static const char ev[] = "id: 12\r\nevent: tick\r\ndata: {\"n\":1}\r\n"
				 ": keep-alive\r\n\r\n";
	struct fa_sse s;
	struct fa_sse_event e;
	struct fa_error err;
	size_t off = 0, used, piece;
	int k, events = 0, bad = 0;
	double t = now();

	fa_sse_init(&s, 64);
	for (k = 0; k < 100000; k++) {
		for (off = 0; off < sizeof(ev) - 1; off += piece) {
			piece = rnd_in(1, 9);
			if (piece > sizeof(ev) - 1 - off)
				piece = sizeof(ev) - 1 - off;
			for (size_t p = 0; p < piece; p += used) {
				int rc = fa_sse_feed(&s, ev + off + p,
						     piece - p, &used, &e, &err);

				bad |= rc < 0;
				if (rc > 0) {
					events++;
					bad |= e.data_len != 7 ||
					       memcmp(e.type, "tick", 5) != 0;
				}
			}
		}
	}
	CHECK(!bad && events == 100000, "%d events", events);
	CHECK(s.line.cap <= 65 && s.data.cap <= 65);
	printf("test_sse: %d events in pieces of 1 to 9 bytes: %.0f k events/s\n",
	       events, events / (now() - t) / 1e3);
	fa_sse_release(&s);
}

int main(int argc, char **argv)
{
	rnd_seed("test_sse", argc, argv);
	fa_buf_init(&got, 0);
	fa_buf_init(&want, 0);
	fa_buf_init(&tmp, 0);
	RUN(test_spec_examples);
	RUN(test_fields);
	RUN(test_line_ends);
	RUN(test_bom);
	RUN(test_limits);
	RUN(test_after_error);
	RUN(test_random_streams);
	RUN(test_long_stream);
	fa_buf_release(&got);
	fa_buf_release(&want);
	fa_buf_release(&tmp);
	return check_report("test_sse");
}
