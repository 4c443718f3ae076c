/*
 * Unit tests for lib/http/h1: the HTTP/1.1 request parser, the chunked decoder,
 * the response writer, the URL helpers and the client's response parser.
 *
 * Parser checks render the result as one line ("M=GET P=/ V=1 KA ...",
 * "E400 <reason>" or "MORE") and compare it.  Every input is also parsed
 * one prefix at a time (each prefix needs more bytes, or gives exactly the
 * whole input's result) and with a second request behind it (the parser
 * looks only at the first).  Chunked bodies are decoded whole, split in
 * two at every position and byte by byte, and must decode the same.
 * Random requests are pipelined and fed in random pieces, random bodies
 * are chunked and decoded back, and random mutations of requests must
 * keep the prefix rule.
 *
 * Usage: test_h1 [seed]
 */
#include "http/h1.c"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"

/* Appends p[0..n) with CR, LF, tab, NUL and other controls escaped. */
static void put_shown(struct fa_buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			fa_buf_puts(out, "\\r");
		else if (c == '\n')
			fa_buf_puts(out, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			fa_buf_printf(out, "\\x%02x", c);
		else
			fa_buf_putc(out, (char)c);
	}
}

/* ---- request parser ---- */

static struct fa_h1_header hdr[FA_H1_MAX_HEADERS];

static void render(struct fa_buf *out, int rc, int status,
		   const struct fa_error *err, const struct fa_h1_request *r)
{
	int i;

	fa_buf_reset(out);
	if (rc < 0) {
		fa_buf_printf(out, "E%d %s", status, err->msg);
		return;
	}
	if (rc == 0) {
		fa_buf_puts(out, "MORE");
		return;
	}
	fa_buf_puts(out, "M=");
	put_shown(out, r->method, r->method_len);
	fa_buf_puts(out, " P=");
	put_shown(out, r->path, r->path_len);
	if (r->query) {
		fa_buf_puts(out, " Q=");
		put_shown(out, r->query, r->query_len);
	}
	if (r->host) {
		fa_buf_puts(out, " H=");
		put_shown(out, r->host, r->host_len);
	}
	fa_buf_printf(out, " V=%d", r->minor);
	if (r->content_length >= 0)
		fa_buf_printf(out, " CL=%" PRId64, r->content_length);
	if (r->chunked)
		fa_buf_puts(out, " TE");
	if (r->keep_alive)
		fa_buf_puts(out, " KA");
	if (r->expect_continue)
		fa_buf_puts(out, " EC");
	if (r->is_head)
		fa_buf_puts(out, " HEAD");
	for (i = 0; i < r->nheaders; i++) {
		fa_buf_puts(out, " [");
		put_shown(out, r->headers[i].name, r->headers[i].name_len);
		fa_buf_puts(out, ":");
		put_shown(out, r->headers[i].value, r->headers[i].value_len);
		fa_buf_puts(out, "]");
	}
}

static struct fa_buf got, want, tmp;

/* Parses in[0..n) and renders the result into out; checks invariants. */
static int parse_into(const struct fa_h1_limits *lim, const char *in,
		      size_t n, struct fa_buf *out, const char *file, int line)
{
	struct fa_h1_request req;
	struct fa_error err = { FA_OK, "" };
	int status = 0, rc, i;
	char *copy = malloc(n ? n : 1);       /* exact size: ASan sees overreads */

	memcpy(copy, in, n);
	rc = fa_h1_parse_request(copy, n, lim, hdr, FA_H1_MAX_HEADERS, &req,
				 &status, &err);
	render(out, rc, status, &err, &req);
	if (rc > 0) {
		check(file, line,
		      (size_t)rc == req.head_len && req.head_len <= n,
		      "head length within the input");
		for (i = 0; i < req.nheaders; i++)
			check(file, line, req.headers[i].name >= copy &&
			      req.headers[i].value + req.headers[i].value_len <=
			      copy + rc, "field inside the head");
		check(file, line, req.method >= copy &&
		      req.target + req.target_len <= copy + rc,
		      "request line inside the head");
	}
	if (rc < 0)
		check(file, line,
		      status >= 400 && status <= 505 && err.code == FA_EINPUT,
		      "error status and code");
	free(copy);
	return rc;
}

/*
 * Checks the prefix rule on in[0..n) whose whole result is rendered in
 * whole: every prefix needs more bytes or gives the same result.
 */
static void check_prefixes(const struct fa_h1_limits *lim, const char *in,
			   size_t n, const char *whole, int whole_rc,
			   const char *file, int line)
{
	size_t k, step = n > 3000 ? 97 : 1;
	char what[80];
	int rc;

	for (k = 0; k < n; k += step) {
		rc = parse_into(lim, in, k, &tmp, file, line);
		if (rc == 0)
			continue;
		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		check_str(file, line, tmp.data, whole, what);
		if (whole_rc > 0)
			check(file, line, (size_t)rc == (size_t)whole_rc, what);
	}
}

static void check_parse(const struct fa_h1_limits *lim, const char *in,
			size_t n, const char *expect, const char *file, int line)
{
	static const char next[] = "GET /next HTTP/1.1\r\nHost: n\r\n\r\n";
	struct fa_buf both;
	int rc;

	rc = parse_into(lim, in, n, &got, file, line);
	check_str(file, line, got.data, expect, "whole");
	if (rc > 0)     /* every test input is one head, nothing after it */
		check(file, line, (size_t)rc == n, "head length");
	check_prefixes(lim, in, n, got.data, rc, file, line);
	if (rc != 0) {
		fa_buf_init(&both, 0);
		fa_buf_append(&both, in, n);
		fa_buf_puts(&both, next);
		check(file, line,
		      parse_into(lim, both.data, both.len, &tmp, file, line) == rc,
		      "pipelined head length");
		check_str(file, line, tmp.data, expect, "pipelined");
		fa_buf_release(&both);
	}
}

#define CHECK_PARSE(in, expect) \
	check_parse(NULL, (in), sizeof(in) - 1, (expect), __FILE__, __LINE__)
#define CHECK_PARSE_L(lim, in, n, expect) \
	check_parse((lim), (in), (n), (expect), __FILE__, __LINE__)

#define H11 " HTTP/1.1\r\nHost: h\r\n"

static void test_valid(void)
{
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		    "M=GET P=/ H=example.com V=1 KA [Host:example.com]");
	CHECK_PARSE("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/a/b Q=x=1&y H=h V=1 KA [Host:h]");
	CHECK_PARSE("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/a Q= H=h V=1 KA [Host:h]");
	CHECK_PARSE("GET /a/?q=/x?y&%41=%2f HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/a/ Q=q=/x?y&%41=%2f H=h V=1 KA [Host:h]");
	CHECK_PARSE("GET //x/./../!$&'()*+,;=:@-._~ HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=//x/./../!$&'()*+,;=:@-._~ H=h V=1 KA [Host:h]");
	/* absolute-form: the authority is the host, not the Host field */
	CHECK_PARSE("GET http://example.com:8080/p?q HTTP/1.1\r\n"
		    "Host: other\r\n\r\n",
		    "M=GET P=/p Q=q H=example.com:8080 V=1 KA [Host:other]");
	CHECK_PARSE("GET HTTPS://example.com HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/ H=example.com V=1 KA [Host:h]");
	CHECK_PARSE("GET http://[::1]:80?x HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/ Q=x H=[::1]:80 V=1 KA [Host:h]");
	CHECK_PARSE("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=OPTIONS P=* H=h V=1 KA [Host:h]");
	CHECK_PARSE("OPTIONS /x HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=OPTIONS P=/x H=h V=1 KA [Host:h]");
	CHECK_PARSE("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=HEAD P=/x H=h V=1 KA HEAD [Host:h]");
	/* methods are case-sensitive tokens: "head" is not HEAD */
	CHECK_PARSE("head /x HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=head P=/x H=h V=1 KA [Host:h]");
	CHECK_PARSE("M-SEARCH!#$%&'*+.^_`|~9 /x HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=M-SEARCH!#$%&'*+.^_`|~9 P=/x H=h V=1 KA [Host:h]");
	/* HTTP/1.0: no Host needed, keep-alive only when asked for */
	CHECK_PARSE("GET / HTTP/1.0\r\n\r\n", "M=GET P=/ V=0");
	CHECK_PARSE("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		    "M=GET P=/ V=0 KA [Connection:Keep-Alive]");
	/* HTTP/1.2 to 1.9 are processed as 1.1 (RFC 9110 6.2) */
	CHECK_PARSE("GET / HTTP/1.2\r\nHost: h\r\n\r\n",
		    "M=GET P=/ H=h V=1 KA [Host:h]");
	/* empty lines before the request line are skipped */
	CHECK_PARSE("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		    "M=GET P=/ H=h V=1 KA [Host:h]");
	/* values lose surrounding whitespace, keep inner whitespace and
	   obs-text; names may use every tchar */
	CHECK_PARSE("GET /" H11 "X-A: \t a \t b \t\r\nX-B:\r\nX-C:   \r\n"
		    "!#$%&'*+-.^_`|~0aZ:v\r\nX-U: caf\xc3\xa9\r\n\r\n",
		    "M=GET P=/ H=h V=1 KA [Host:h] [X-A:a \\x09 b] [X-B:] [X-C:] "
		    "[!#$%&'*+-.^_`|~0aZ:v] [X-U:caf\\xc3\\xa9]");
	/* Host forms */
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		    "M=GET P=/ H=[::1]:8080 V=1 KA [Host:[::1]:8080]");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost:\r\n\r\n",
		    "M=GET P=/ H= V=1 KA [Host:]");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a.b-c_d~e%41:\r\n\r\n",
		    "M=GET P=/ H=a.b-c_d~e%41: V=1 KA [Host:a.b-c_d~e%41:]");
	CHECK_PARSE("GET / HTTP/1.0\r\nhOsT: x\r\n\r\n",
		    "M=GET P=/ H=x V=0 [hOsT:x]");
}

static void test_framing(void)
{
	CHECK_PARSE("POST /" H11 "Content-Length: 5\r\n\r\n",
		    "M=POST P=/ H=h V=1 CL=5 KA [Host:h] [Content-Length:5]");
	CHECK_PARSE("POST /" H11 "content-length: 007\r\n\r\n",
		    "M=POST P=/ H=h V=1 CL=7 KA [Host:h] [content-length:007]");
	CHECK_PARSE("POST /" H11 "Content-Length:  0 \r\n\r\n",
		    "M=POST P=/ H=h V=1 CL=0 KA [Host:h] [Content-Length:0]");
	CHECK_PARSE("POST /" H11 "Content-Length: 9223372036854775807\r\n\r\n",
		    "M=POST P=/ H=h V=1 CL=9223372036854775807 KA [Host:h] "
		    "[Content-Length:9223372036854775807]");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked\r\n\r\n",
		    "M=POST P=/ H=h V=1 TE KA [Host:h] "
		    "[Transfer-Encoding:chunked]");
	CHECK_PARSE("POST /" H11 "transfer-encoding:  CHUNKED \r\n\r\n",
		    "M=POST P=/ H=h V=1 TE KA [Host:h] "
		    "[transfer-encoding:CHUNKED]");

	/* both framings: the classic CL.TE / TE.CL smuggling */
	CHECK_PARSE("POST /" H11 "Content-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		    "E400 both Content-Length and Transfer-Encoding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked\r\n"
		    "Content-Length: 5\r\n\r\n",
		    "E400 both Content-Length and Transfer-Encoding");
	/* repeated Content-Length is refused even with equal values */
	CHECK_PARSE("POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
		    "E400 more than one Content-Length field");
	CHECK_PARSE("POST /" H11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
		    "E400 more than one Content-Length field");
	CHECK_PARSE("POST /" H11 "Content-Length: 5, 5\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: +5\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: -5\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: 5 5\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: 0x5\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: 5.0\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length:\r\n\r\n",
		    "E400 invalid Content-Length");
	CHECK_PARSE("POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n",
		    "E400 Content-Length too large");
	CHECK_PARSE("POST /" H11 "Content-Length: 99999999999999999999\r\n\r\n",
		    "E400 Content-Length too large");
	/* Transfer-Encoding: only "chunked", alone */
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: gzip\r\n\r\n",
		    "E501 transfer coding not supported");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: identity\r\n\r\n",
		    "E501 transfer coding not supported");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n",
		    "E501 transfer coding not supported");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: gzip\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		    "E501 transfer coding not supported");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n",
		    "E400 chunked is not the final transfer coding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n",
		    "E400 chunked is not the final transfer coding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		    "E400 chunked is not the final transfer coding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked,\r\n\r\n",
		    "E400 invalid Transfer-Encoding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding:\r\n\r\n",
		    "E400 invalid Transfer-Encoding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chun ked\r\n\r\n",
		    "E400 invalid Transfer-Encoding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n",
		    "E400 invalid Transfer-Encoding");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n",
		    "E400 invalid Transfer-Encoding");
	CHECK_PARSE("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		    "E400 Transfer-Encoding in HTTP/1.0");
	CHECK_PARSE("POST /" H11 "Transfer-Encoding: chunked\x0b\r\n\r\n",
		    "E400 invalid character in field value");
}

static void test_field_syntax(void)
{
	/* obs-fold, and whitespace before the first field line */
	CHECK_PARSE("GET /" H11 "X: a\r\n b\r\n\r\n",
		    "E400 field line starts with whitespace (obs-fold)");
	CHECK_PARSE("GET /" H11 "X: a\r\n\tb\r\n\r\n",
		    "E400 field line starts with whitespace (obs-fold)");
	CHECK_PARSE("GET / HTTP/1.1\r\n Host: h\r\n\r\n",
		    "E400 field line starts with whitespace (obs-fold)");
	/* whitespace between name and colon */
	CHECK_PARSE("GET / HTTP/1.1\r\nHost : h\r\n\r\n",
		    "E400 whitespace before a colon");
	CHECK_PARSE("GET /" H11 "Content-Length\t: 0\r\n\r\n",
		    "E400 whitespace before a colon");
	/* names are tokens */
	CHECK_PARSE("GET /" H11 "X(y): a\r\n\r\n",
		    "E400 invalid character in field name");
	CHECK_PARSE("GET /" H11 "X\xc3\xa9: a\r\n\r\n",
		    "E400 invalid character in field name");
	CHECK_PARSE("GET /" H11 "X\0Y: a\r\n\r\n",
		    "E400 invalid character in field name");
	CHECK_PARSE("GET /" H11 ": a\r\n\r\n", "E400 empty field name");
	CHECK_PARSE("GET /" H11 "NoColon\r\n\r\n",
		    "E400 field line without a colon");
	/* values: no CTL but HTAB */
	CHECK_PARSE("GET /" H11 "X: a\x01z\r\n\r\n",
		    "E400 invalid character in field value");
	CHECK_PARSE("GET /" H11 "X: a\x7fz\r\n\r\n",
		    "E400 invalid character in field value");
	CHECK_PARSE("GET /" H11 "X: a\0z\r\n\r\n",
		    "E400 invalid character in field value");
	CHECK_PARSE("GET /" H11 "X: a\x1b\r\n\r\n",
		    "E400 invalid character in field value");
	/* CRLF only */
	CHECK_PARSE("GET / HTTP/1.1\nHost: h\r\n\r\n",
		    "E400 bare LF in request line");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\n\r\n",
		    "E400 bare LF in field section");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\n\n",
		    "E400 bare LF in field section");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\nX: y\n\r\n",
		    "E400 bare LF in field section");
	CHECK_PARSE("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		    "E400 bare LF before the request line");
	CHECK_PARSE("GET / HTTP/1.1\rHost: h\r\n\r\n",
		    "E400 bare CR in request line");
	CHECK_PARSE("GET / HTTP/1.1\r\nX: a\rb\r\nHost: h\r\n\r\n",
		    "E400 invalid character in field value");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\n\rX",
		    "E400 bare CR in field section");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n",
		    "E400 invalid character in field value");
	CHECK_PARSE("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		    "E400 bare CR before the request line");
	/* incomplete heads */
	CHECK_PARSE("", "MORE");
	CHECK_PARSE("\r\n", "MORE");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\n", "MORE");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: h\r\n\r", "MORE");
}

static void test_request_line(void)
{
	CHECK_PARSE("GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
		    "E400 invalid request target");
	CHECK_PARSE("GET /  HTTP/1.1\r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE("GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", "E400 invalid method");
	CHECK_PARSE("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", "E400 invalid method");
	CHECK_PARSE("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "E400 invalid method");
	CHECK_PARSE("GET\r\n\r\n", "E400 invalid method");
	CHECK_PARSE("GET /\r\n\r\n", "E400 invalid request target");
	CHECK_PARSE("GET / HTTP/1.1", "MORE");
	CHECK_PARSE("GET / http/1.1\r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE("GET / HTTP/1.10\r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE("GET / HTTP/11\r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE("GET / HTTP/1.x\r\nHost: h\r\n\r\n",
		    "E400 invalid HTTP version");
	CHECK_PARSE("GET / HTTP/2.0\r\nHost: h\r\n\r\n",
		    "E505 HTTP version not supported");
	CHECK_PARSE("GET / HTTP/0.9\r\nHost: h\r\n\r\n",
		    "E505 HTTP version not supported");
	CHECK_PARSE("GET / HTTP/3.0\r\n\r\n", "E505 HTTP version not supported");
	/* Host */
	CHECK_PARSE("GET / HTTP/1.1\r\n\r\n", "E400 missing Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
		    "E400 more than one Host field");
	CHECK_PARSE("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
		    "E400 more than one Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
		    "E400 invalid Host field");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: [a[b]\r\n\r\n",
		    "E400 invalid Host field");
	/* target forms */
	CHECK_PARSE("GET *" H11 "\r\n", "E400 asterisk-form target without "
		    "OPTIONS");
	CHECK_PARSE("CONNECT example.com:443" H11 "\r\n",
		    "E501 CONNECT not supported");
	CHECK_PARSE("CONNECT /" H11 "\r\n", "E501 CONNECT not supported");
	CHECK_PARSE("GET example.com:443" H11 "\r\n",
		    "E400 invalid request target");
	CHECK_PARSE("GET a/b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET ftp://a/b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET http:///b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET http://:80/b" H11 "\r\n",
		    "E400 invalid request target");
	CHECK_PARSE("GET http://u@a/b" H11 "\r\n",
		    "E400 invalid request target");
	CHECK_PARSE("GET http:/a/b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /a#b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /%zz" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /%4" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /a?%" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /a[b]" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /a\"b" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /caf\xc3\xa9" H11 "\r\n",
		    "E400 invalid request target");
	CHECK_PARSE("GET /a{b}" H11 "\r\n", "E400 invalid request target");
	CHECK_PARSE("GET /a\\b" H11 "\r\n", "E400 invalid request target");
}

static void test_connection(void)
{
	CHECK_PARSE("GET /" H11 "Connection: close\r\n\r\n",
		    "M=GET P=/ H=h V=1 [Host:h] [Connection:close]");
	CHECK_PARSE("GET /" H11 "Connection: foo, CLOSE\r\n\r\n",
		    "M=GET P=/ H=h V=1 [Host:h] [Connection:foo, CLOSE]");
	CHECK_PARSE("GET /" H11 "Connection: upgrade\r\nConnection: Close\r\n\r\n",
		    "M=GET P=/ H=h V=1 [Host:h] [Connection:upgrade] "
		    "[Connection:Close]");
	CHECK_PARSE("GET /" H11 "Connection: keep-alive\r\n\r\n",
		    "M=GET P=/ H=h V=1 KA [Host:h] [Connection:keep-alive]");
	CHECK_PARSE("GET /" H11 "Connection: closed\r\n\r\n",
		    "M=GET P=/ H=h V=1 KA [Host:h] [Connection:closed]");
	CHECK_PARSE("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		    "M=GET P=/ V=0 [Connection:keep-alive, close]");
	CHECK_PARSE("GET / HTTP/1.0\r\nConnection: close ,keep-alive\r\n\r\n",
		    "M=GET P=/ V=0 [Connection:close ,keep-alive]");
	CHECK_PARSE("GET / HTTP/1.0\r\nConnection: x,keep-alive\r\n\r\n",
		    "M=GET P=/ V=0 KA [Connection:x,keep-alive]");
	/* Expect */
	CHECK_PARSE("POST /" H11 "Content-Length: 3\r\nExpect: 100-continue\r\n"
		    "\r\n",
		    "M=POST P=/ H=h V=1 CL=3 KA EC [Host:h] [Content-Length:3] "
		    "[Expect:100-continue]");
	CHECK_PARSE("POST /" H11 "Expect: 100-Continue\r\n\r\n",
		    "M=POST P=/ H=h V=1 KA EC [Host:h] [Expect:100-Continue]");
	CHECK_PARSE("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
		    "M=POST P=/ V=0 [Expect:100-continue]");
	CHECK_PARSE("POST / HTTP/1.0\r\nExpect: x\r\n\r\n",
		    "M=POST P=/ V=0 [Expect:x]");
	CHECK_PARSE("POST /" H11 "Expect: 200-ok\r\n\r\n",
		    "E417 unsupported expectation");
	CHECK_PARSE("POST /" H11 "Expect: 100-continue, x\r\n\r\n",
		    "E417 unsupported expectation");
}

static void test_limits(void)
{
	struct fa_h1_limits lim, def;
	struct fa_buf b;
	int i;

	fa_h1_limits_init(&def);
	CHECK(def.max_head == 16384 && def.max_target == 8192 &&
	      def.max_headers == 64 && def.max_body == -1);
	lim = def;
	lim.max_head = 64;
	lim.max_target = 16;
	lim.max_headers = 3;
	lim.max_body = 100;
	fa_buf_init(&b, 0);

	/* a target of exactly max_target bytes, then one more */
	fa_buf_puts(&b, "GET /23456789abcdefg HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "M=GET P=/23456789abcdefg H=h V=1 KA [Host:h]");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET /23456789abcdefgX HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len, "E414 request target too long");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET /23456789abcdefgX");      /* known early */
	CHECK_PARSE_L(&lim, b.data, b.len, "E414 request target too long");
	/* 414 also with default limits */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET /");
	for (i = 0; i < 8191; i++)
		fa_buf_putc(&b, 'a');
	fa_buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(parse_into(NULL, b.data, b.len, &got, __FILE__, __LINE__) > 0);
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET /");
	for (i = 0; i < 8192; i++)
		fa_buf_putc(&b, 'a');
	fa_buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK_PARSE_L(NULL, b.data, b.len, "E414 request target too long");

	/* a head of exactly max_head bytes, then one more */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789012345678"
		    "9012345678901\r\n\r\n");
	CHECK(b.len == 64);
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "M=GET P=/ H=h V=1 KA [Host:h] "
		      "[X:01234567890123456789012345678901]");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789012345678"
		    "90123456789012\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "E431 request header section too large");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nX: 01234567890123"
		    "4567890123456789\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "E431 request header section too large");
	/* an endless head: 431 once max_head bytes are in */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\nX: ");
	while (b.len < 64)
		fa_buf_putc(&b, 'x');
	CHECK_PARSE_L(&lim, b.data, 63, "MORE");
	CHECK_PARSE_L(&lim, b.data, 64, "E431 request header section too large");
	fa_buf_reset(&b);
	while (b.len < 64)
		fa_buf_puts(&b, "\r\n");
	CHECK_PARSE_L(&lim, b.data, 64, "E431 request header section too large");
	fa_buf_reset(&b);
	while (b.len < 20000)
		fa_buf_puts(&b, "X-Long: 0123456789\r\n");
	CHECK_PARSE_L(NULL, b.data, b.len, "E400 invalid method");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\n");
	while (b.len < 20000)
		fa_buf_printf(&b, "X-Long: %0300d\r\n", 7);
	CHECK_PARSE_L(NULL, b.data, b.len,
		      "E431 request header section too large");

	/* field lines: max_headers, then one more; and the caller's space */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "M=GET P=/ H=h V=1 KA [Host:h] [A:1] [B:2]");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len, "E431 too many header fields");
	{
		struct fa_h1_request req;
		struct fa_error err;
		int status = 0;

		CHECK(fa_h1_parse_request(b.data, b.len, NULL, hdr, 2, &req,
					  &status, &err) == -1 &&
		      status == 431);
		CHECK(fa_h1_parse_request(b.data, b.len, NULL, NULL, 0, &req,
					  &status, &err) == -1 &&
		      status == 431);
	}
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 64; i++)
		fa_buf_printf(&b, "Host%d: h\r\n", i);
	fa_buf_puts(&b, "\r\n");
	CHECK(parse_into(NULL, b.data, b.len, &got, __FILE__, __LINE__) < 0);
	CHECK_STR(got.data, "E400 missing Host field");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 65; i++)
		fa_buf_printf(&b, "Host%d: h\r\n", i);
	fa_buf_puts(&b, "\r\n");
	CHECK_PARSE_L(NULL, b.data, b.len, "E431 too many header fields");

	/* body size */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
	lim.max_head = 1024;
	CHECK_PARSE_L(&lim, b.data, b.len,
		      "M=PUT P=/ H=h V=1 CL=100 KA [Host:h] "
		      "[Content-Length:100]");
	fa_buf_reset(&b);
	fa_buf_puts(&b, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n");
	CHECK_PARSE_L(&lim, b.data, b.len, "E413 request body too large");
	fa_buf_release(&b);
}

static void test_get(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Id: 1\r\n"
				 "x-id: 2\r\n\r\n";
	struct fa_h1_request req;
	struct fa_error err;
	const struct fa_h1_header *h;
	int status;

	CHECK(fa_h1_parse_request(in, sizeof(in) - 1, NULL, hdr, 8, &req,
				  &status, &err) == (int)sizeof(in) - 1);
	h = fa_h1_get(&req, "X-ID");
	CHECK(h && h->value_len == 1 && h->value[0] == '1');
	CHECK(fa_h1_get(&req, "X-I") == NULL);
	CHECK(fa_h1_get(&req, "X-Idx") == NULL);
	CHECK(fa_h1_header_eq(&req.headers[2], "X-ID"));
	CHECK(!fa_h1_header_eq(&req.headers[2], "X-I"));
	/* err and status may be left out */
	CHECK(fa_h1_parse_request("GET\r\n", 5, NULL, hdr, 8, &req, NULL,
				  NULL) == -1);
}

/* ---- chunked decoder ---- */

struct dech {
	int64_t max_body;
	int trailer_cap;        /* -1: no trailer space */
	size_t out_max;         /* 0: no limit */
};

static struct fa_h1_header trailer_space[8];

/*
 * Decodes in[0..n) fed in pieces ending at cuts[], the way a server does
 * (unconsumed bytes stay in front of the next ones), and renders the data,
 * the trailers, "done", the bytes consumed and any error.
 */
static void dechunk(const struct dech *d, const char *in, size_t n,
		    const size_t *cuts, size_t ncuts, struct fa_buf *out)
{
	struct fa_h1_chunked c;
	struct fa_error err = { FA_OK, "" };
	struct fa_buf pend, data;
	size_t fed = 0, consumed = 0, k, end, used;
	enum fa_err rc = FA_OK;
	int status = 0, i;

	fa_buf_reset(out);
	fa_buf_init(&pend, 0);
	fa_buf_init(&data, d->out_max);
	fa_h1_chunked_init(&c, d->max_body,
			   d->trailer_cap >= 0 ? trailer_space : NULL,
			   d->trailer_cap);
	for (k = 0; k <= ncuts && rc == FA_OK && !c.done; k++) {
		end = k < ncuts ? cuts[k] : n;
		fa_buf_append(&pend, in + fed, end - fed);
		fed = end;
		rc = fa_h1_chunked_decode(&c, pend.data, pend.len, &data,
					  &used, &status, &err);
		if (used > pend.len)
			fa_buf_puts(out, "OVERRUN ");
		if (c.done) {
			for (i = 0; i < c.ntrailers; i++) {
				fa_buf_puts(out, "[");
				put_shown(out, c.trailers[i].name,
					  c.trailers[i].name_len);
				fa_buf_puts(out, ":");
				put_shown(out, c.trailers[i].value,
					  c.trailers[i].value_len);
				fa_buf_puts(out, "] ");
			}
		}
		fa_buf_consume(&pend, used);
		consumed += used;
	}
	fa_buf_puts(out, "D=");
	put_shown(out, data.data, data.len);
	if ((int64_t)data.len != c.total)
		fa_buf_puts(out, " BADTOTAL");
	if (c.done)
		fa_buf_puts(out, " done");
	fa_buf_printf(out, " used=%zu", consumed);
	if (rc != FA_OK)
		fa_buf_printf(out, " E%d %s", status, err.msg);
	if (c.done) {       /* a done decoder takes nothing more */
		rc = fa_h1_chunked_decode(&c, "1\r\nx\r\n", 6, &data, &used,
					  &status, &err);
		if (rc != FA_OK || used != 0)
			fa_buf_puts(out, " NOTDONE");
	}
	fa_buf_release(&pend);
	fa_buf_release(&data);
}

static void check_chunked(const struct dech *d, const char *in, size_t n,
			  const char *expect, const char *file, int line)
{
	size_t cuts[2048], k;
	char what[64];

	dechunk(d, in, n, NULL, 0, &got);
	check_str(file, line, got.data, expect, "whole");
	for (k = 0; k <= n; k++) {
		cuts[0] = k;
		dechunk(d, in, n, cuts, 1, &got);
		snprintf(what, sizeof(what), "split at %zu", k);
		check_str(file, line, got.data, expect, what);
	}
	for (k = 0; k < n && k < 2048; k++)
		cuts[k] = k;
	dechunk(d, in, n, cuts, k, &got);
	check_str(file, line, got.data, expect, "byte by byte");
}

static const struct dech plain = { -1, 8, 0 };

#define CHECK_CHUNKED(in, expect) \
	check_chunked(&plain, (in), sizeof(in) - 1, (expect), __FILE__, \
		      __LINE__)
#define CHECK_CHUNKED_D(d, in, expect) \
	check_chunked((d), (in), sizeof(in) - 1, (expect), __FILE__, __LINE__)

static void test_chunked(void)
{
	static const struct dech small = { 5, 1, 0 }, nospace = { -1, -1, 0 },
				 outcap = { -1, 8, 4 };
	char big[1100];

	CHECK_CHUNKED("5\r\nhello\r\n0\r\n\r\n", "D=hello done used=15");
	CHECK_CHUNKED("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		      "D=hello world done used=26");
	CHECK_CHUNKED("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
		      "D=0123456789abcdefghij done used=35");
	CHECK_CHUNKED("0005\r\nhello\r\n000\r\n\r\n", "D=hello done used=20");
	CHECK_CHUNKED("0\r\n\r\n", "D= done used=5");
	CHECK_CHUNKED("3\r\na\r\n\r\n0\r\n\r\n", "D=a\\r\\n done used=13");
	/* what follows the body is left for the next request */
	CHECK_CHUNKED("1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
		      "D=x done used=11");
	/* extensions */
	CHECK_CHUNKED("5;a=b\r\nhello\r\n0;last\r\n\r\n",
		      "D=hello done used=24");
	CHECK_CHUNKED("5 ; a = \"q\\\"x; y\" ;b;c=d\r\nhello\r\n0\r\n\r\n",
		      "D=hello done used=38");
	CHECK_CHUNKED("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "D=hello done used=20");
	/* trailers */
	CHECK_CHUNKED("5\r\nhello\r\n0\r\nX-A: 1\r\nx-b:  two \r\n\r\n",
		      "[X-A:1] [x-b:two] D=hello done used=35");
	CHECK_CHUNKED_D(&nospace, "0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
			"D= done used=21");
	CHECK_CHUNKED_D(&small, "0\r\nX-A: 1\r\n\r\n",
			"[X-A:1] D= done used=13");
	CHECK_CHUNKED_D(&small, "0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
			"D= used=3 E431 too many header fields");
	/* incomplete */
	CHECK_CHUNKED("5\r\nhel", "D=hel used=6");
	CHECK_CHUNKED("5\r\nhello\r\n0\r\n", "D=hello used=13");
	CHECK_CHUNKED("5\r\nhello\r\n0\r\nX: y\r\n", "D=hello used=13");

	/* bad sizes */
	CHECK_CHUNKED("g\r\nhello\r\n", "D= used=0 E400 invalid chunk size");
	CHECK_CHUNKED("\r\nhello\r\n", "D= used=0 E400 invalid chunk size");
	CHECK_CHUNKED("-1\r\nhello\r\n", "D= used=0 E400 invalid chunk size");
	CHECK_CHUNKED("+1\r\nh\r\n", "D= used=0 E400 invalid chunk size");
	CHECK_CHUNKED(" 5\r\nhello\r\n", "D= used=0 E400 invalid chunk size");
	CHECK_CHUNKED("0x5\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5 \r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a=\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a=b c\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a \r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a=\"x\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a=\"x\\\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a=\"\x01\"\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5;a\x01\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("5\0\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	CHECK_CHUNKED("8000000000000000\r\n",
		      "D= used=0 E400 chunk size too large");
	CHECK_CHUNKED("10000000000000000\r\n",
		      "D= used=0 E400 chunk size too large");
	CHECK_CHUNKED("7fffffffffffffff\r\nab", "D=ab used=20");
	CHECK_CHUNKED("00000000000000000000001\r\nx\r\n0\r\n\r\n",
		      "D=x done used=33");
	CHECK_CHUNKED("5\nhello\r\n", "D= used=0 E400 bare LF in chunk size line");
	CHECK_CHUNKED("\nhello\r\n", "D= used=0 E400 bare LF in chunk size line");
	CHECK_CHUNKED("5\r\r\nhello\r\n",
		      "D= used=0 E400 invalid chunk extension");
	memset(big, 'a', sizeof(big));
	memcpy(big, "1;x=", 4);
	check_chunked(&plain, big, 1023, "D= used=0", __FILE__, __LINE__);
	check_chunked(&plain, big, 1024,
		      "D= used=0 E400 chunk size line too long",
		      __FILE__, __LINE__);
	big[1021] = '\r';
	big[1022] = '\n';
	check_chunked(&plain, big, 1024, "D=a used=1024", __FILE__, __LINE__);
	/* the CRLF after the data */
	CHECK_CHUNKED("5\r\nhelloX\r\n0\r\n\r\n",
		      "D=hello used=8 E400 chunk data not followed by CRLF");
	CHECK_CHUNKED("5\r\nhello\n0\r\n\r\n",
		      "D=hello used=8 E400 chunk data not followed by CRLF");
	CHECK_CHUNKED("5\r\nhello\r0\r\n\r\n",
		      "D=hello used=8 E400 chunk data not followed by CRLF");
	CHECK_CHUNKED("5\r\nhello0\r\n\r\n",
		      "D=hello used=8 E400 chunk data not followed by CRLF");
	CHECK_CHUNKED("5\r\nhello\r", "D=hello used=8");
	/* trailers follow the field rules */
	CHECK_CHUNKED("0\r\nX: a\r\n b\r\n\r\n",
		      "D= used=3 E400 field line starts with whitespace "
		      "(obs-fold)");
	CHECK_CHUNKED("0\r\nX : a\r\n\r\n",
		      "D= used=3 E400 whitespace before a colon");
	CHECK_CHUNKED("0\r\nX: a\x01\r\n\r\n",
		      "D= used=3 E400 invalid character in field value");
	CHECK_CHUNKED("0\r\nX: a\n\r\n", "D= used=3 E400 bare LF in field section");
	CHECK_CHUNKED("0\r\n\n", "D= used=3 E400 bare LF in field section");
	CHECK_CHUNKED("0\r\n\rx", "D= used=3 E400 bare CR in field section");
	CHECK_CHUNKED("0\r\nContent-Length: 5\r\n\r\n",
		      "D= used=3 E400 framing field in trailer section");
	CHECK_CHUNKED("0\r\ntransfer-encoding: chunked\r\n\r\n",
		      "D= used=3 E400 framing field in trailer section");
	/* limits */
	CHECK_CHUNKED_D(&small, "5\r\nhello\r\n0\r\n\r\n", "D=hello done used=15");
	CHECK_CHUNKED_D(&small, "6\r\nhello!\r\n0\r\n\r\n",
			"D= used=0 E413 request body too large");
	CHECK_CHUNKED_D(&small, "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
			"D=abc used=8 E413 request body too large");
	/* a full out: how much got in depends on the pieces, so whole only */
	dechunk(&outcap, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 20, NULL, 0, &got);
	CHECK_STR(got.data, "D=abc used=11 E413 request body too large");
	{
		struct fa_buf tr;
		int i;

		fa_buf_init(&tr, 0);
		fa_buf_puts(&tr, "0\r\n");
		for (i = 0; tr.len < 8192 + 3; i++)
			fa_buf_puts(&tr, "X: 0123456789abcdef\r\n");
		fa_buf_puts(&tr, "\r\n");
		check_chunked(&nospace, tr.data, tr.len,
			      "D= used=3 E431 trailer section too large",
			      __FILE__, __LINE__);
		fa_buf_release(&tr);
	}
	/* out NULL drops the data; a failed decoder stays failed */
	{
		struct fa_h1_chunked c;
		struct fa_error err;
		size_t used;
		int status = 0;

		fa_h1_chunked_init(&c, -1, NULL, 0);
		CHECK(fa_h1_chunked_decode(&c, "3\r\nabc\r\n0\r\n\r\n", 13, NULL,
					   &used, &status, &err) == FA_OK);
		CHECK(c.done && used == 13 && c.total == 3 && c.ntrailers == 0);
		fa_h1_chunked_init(&c, -1, NULL, 0);
		CHECK(fa_h1_chunked_decode(&c, "x\r\n", 3, NULL, &used,
					   &status, &err) == FA_EINPUT);
		CHECK(fa_h1_chunked_decode(&c, "0\r\n\r\n", 5, NULL, &used,
					   &status, &err) == FA_EINPUT);
		CHECK(used == 0 && status == 400);
		CHECK(fa_h1_chunked_decode(&c, NULL, 0, NULL, &used, &status,
					   &err) == FA_EINPUT);
		fa_h1_chunked_init(&c, -1, NULL, 0);
		CHECK(fa_h1_chunked_decode(&c, NULL, 0, NULL, &used, &status,
					   &err) == FA_OK && used == 0);
	}
}

/* Random bodies through fa_h1_chunk() and back, in random pieces. */
static void test_chunk_round_trip(void)
{
	struct fa_buf body, enc, pend, dec;
	struct fa_h1_chunked c;
	struct fa_error err;
	size_t n, k, fed, used, piece;
	int round, status;

	fa_buf_init(&body, 0);
	fa_buf_init(&enc, 0);
	fa_buf_init(&pend, 0);
	fa_buf_init(&dec, 0);
	for (round = 0; round < 200; round++) {
		fa_buf_reset(&body);
		fa_buf_reset(&enc);
		fa_buf_reset(&pend);
		fa_buf_reset(&dec);
		n = rnd_below(5000);
		for (k = 0; k < n; k++)
			fa_buf_putc(&body, (char)rnd_below(256));
		for (k = 0; k < n; k += piece) {
			piece = 1 + rnd_below(700);
			if (piece > n - k)
				piece = n - k;
			fa_h1_chunk(&enc, body.data + k, piece);
		}
		fa_h1_chunk(&enc, NULL, 0);
		fa_h1_chunked_init(&c, -1, NULL, 0);
		for (fed = 0; fed < enc.len && !c.done; fed += piece) {
			piece = 1 + rnd_below(rnd_below(2) ? 10 : 2000);
			if (piece > enc.len - fed)
				piece = enc.len - fed;
			fa_buf_append(&pend, enc.data + fed, piece);
			if (fa_h1_chunked_decode(&c, pend.data, pend.len, &dec,
						 &used, &status, &err) != FA_OK)
				break;
			fa_buf_consume(&pend, used);
		}
		CHECK(c.done && pend.len == 0 && dec.len == n &&
		      (n == 0 || memcmp(dec.data, body.data, n) == 0));
	}
	fa_buf_release(&body);
	fa_buf_release(&enc);
	fa_buf_release(&pend);
	fa_buf_release(&dec);
}

/* ---- response writer ---- */

static void test_response(void)
{
	static const struct fa_h1_header json[] = {
		{ "Content-Type", "application/json", 12, 16 },
		{ "Date", "Sun, 06 Nov 1994 08:49:37 GMT", 4, 29 },
	};
	struct fa_h1_header bad;
	struct fa_h1_response r;
	struct fa_error err;
	struct fa_buf b;

	fa_buf_init(&b, 0);
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.headers = json;
	r.nheaders = 2;
	r.content_length = 5;
	r.keep_alive = true;
	r.minor = 1;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		  "Content-Length: 5\r\n\r\n");
	fa_buf_reset(&b);
	r.nheaders = 1;
	r.content_length = FA_H1_CHUNKED;
	r.keep_alive = false;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	fa_buf_reset(&b);
	r.nheaders = 0;
	r.status = 404;
	r.content_length = 0;
	r.keep_alive = true;
	r.minor = 0;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		  "Connection: keep-alive\r\n\r\n");
	fa_buf_reset(&b);
	r.minor = 1;
	r.status = 204;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 204 No Content\r\n\r\n");
	fa_buf_reset(&b);
	r.status = 304;
	r.content_length = 10;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
	fa_buf_reset(&b);
	r.content_length = FA_H1_CHUNKED;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 304 Not Modified\r\n\r\n");
	fa_buf_reset(&b);
	r.status = 100;
	r.keep_alive = false;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 100 Continue\r\n\r\n");
	fa_buf_reset(&b);
	{
		static const struct fa_h1_header up[] = {
			{ "Connection", "upgrade", 10, 7 },
			{ "Upgrade", "websocket", 7, 9 },
		};

		r.status = 101;
		r.headers = up;
		r.nheaders = 2;
		CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
		CHECK_STR(b.data, "HTTP/1.1 101 Switching Protocols\r\n"
			  "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n");
		r.nheaders = 0;
		fa_buf_reset(&b);
	}
	r.status = 599;
	r.content_length = FA_H1_NO_LENGTH;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 599 \r\nConnection: close\r\n\r\n");
	fa_buf_reset(&b);
	r.status = 200;
	r.reason = "Fine\tThanks";
	r.content_length = 2;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_OK);
	CHECK_STR(b.data, "HTTP/1.1 200 Fine\tThanks\r\nContent-Length: 2\r\n"
		  "Connection: close\r\n\r\n");

	/* refusals leave out unchanged */
	fa_buf_reset(&b);
	fa_buf_puts(&b, "x");
	r.reason = "OK\r\nX: y";
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.reason = NULL;
	r.headers = &bad;
	r.nheaders = 1;
	bad = (struct fa_h1_header){ "X", "a\r\nSet-Cookie: b", 1, 16 };
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	CHECK_STR(err.msg, "HTTP response 200: invalid response field");
	bad = (struct fa_h1_header){ "X Y", "a", 3, 1 };
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	bad = (struct fa_h1_header){ "", "a", 0, 1 };
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	bad = (struct fa_h1_header){ "content-length", "1", 14, 1 };
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	bad = (struct fa_h1_header){ "Connection", "close", 10, 5 };
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.nheaders = 0;
	r.status = 99;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.status = 1000;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.status = 200;
	r.minor = 0;
	r.content_length = FA_H1_CHUNKED;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.minor = 1;
	r.content_length = FA_H1_NO_LENGTH;
	r.keep_alive = true;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	r.content_length = -3;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_EUSAGE);
	CHECK_STR(b.data, "x");
	fa_buf_release(&b);

	/* a full buffer */
	fa_buf_init(&b, 20);
	fa_buf_puts(&b, "abc");
	r.content_length = 1;
	CHECK(fa_h1_response_head(&b, &r, &err) == FA_ENOMEM);
	CHECK(b.len == 3);
	CHECK_STR(b.data, "abc");
	CHECK(fa_h1_chunk(&b, "0123456789abcdef", 16) == FA_ENOMEM);
	CHECK_STR(b.data, "abc");
	fa_buf_release(&b);

	/* chunks */
	fa_buf_init(&b, 0);
	CHECK(fa_h1_chunk(&b, "hello", 5) == FA_OK);
	CHECK(fa_h1_chunk(&b, NULL, 0) == FA_OK);
	CHECK_STR(b.data, "5\r\nhello\r\n0\r\n\r\n");
	fa_buf_reset(&b);
	{
		char d[300];

		memset(d, 'z', sizeof(d));
		CHECK(fa_h1_chunk(&b, d, sizeof(d)) == FA_OK);
		CHECK(b.len == 5 + 300 + 2 && memcmp(b.data, "12c\r\nzz", 7) == 0 &&
		      memcmp(b.data + 305, "\r\n", 2) == 0);
	}
	fa_buf_release(&b);

	CHECK_STR(fa_h1_reason(200), "OK");
	CHECK_STR(fa_h1_reason(404), "Not Found");
	CHECK_STR(fa_h1_reason(413), "Content Too Large");
	CHECK_STR(fa_h1_reason(431), "Request Header Fields Too Large");
	CHECK_STR(fa_h1_reason(505), "HTTP Version Not Supported");
	CHECK_STR(fa_h1_reason(299), "");
}

static void test_date(void)
{
	char d[30], want_d[64];
	struct tm tm;
	time_t t;
	int k;

	fa_h1_date(d, 0);
	CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	fa_h1_date(d, 784111777);
	CHECK_STR(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	fa_h1_date(d, 951782400);
	CHECK_STR(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	fa_h1_date(d, 4107542399);
	CHECK_STR(d, "Sun, 28 Feb 2100 23:59:59 GMT");
	fa_h1_date(d, -1);
	CHECK_STR(d, "Wed, 31 Dec 1969 23:59:59 GMT");
	for (k = 0; k < 2000; k++) {
		static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					      "Fri", "Sat" };
		static const char *mons[] = { "Jan", "Feb", "Mar", "Apr", "May",
					      "Jun", "Jul", "Aug", "Sep", "Oct",
					      "Nov", "Dec" };

		t = (time_t)((int64_t)rnd_below(1u << 31) * 2 + rnd_below(2));
		gmtime_r(&t, &tm);
		snprintf(want_d, sizeof(want_d),
			 "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
			 tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		fa_h1_date(d, t);
		if (strcmp(d, want_d) != 0) {
			CHECK_STR(d, want_d);
			break;
		}
	}
}

/* ---- URL helpers ---- */

static const char *decode(const char *s, bool plus)
{
	static char out[1100];
	struct fa_error err;
	size_t n;

	if (fa_h1_pct_decode(out, &n, s, strlen(s), plus, &err) != FA_OK) {
		snprintf(out, sizeof(out), "E %s", err.msg);
		return out;
	}
	out[n] = '\0';
	return out;
}

static void test_url(void)
{
	struct fa_h1_header p;
	struct fa_buf b;
	const char *q;
	size_t qlen, n;
	char s[16];

	CHECK_STR(decode("a%20b", false), "a b");
	CHECK_STR(decode("a+b", true), "a b");
	CHECK_STR(decode("a+b", false), "a+b");
	CHECK_STR(decode("%2F%2f", false), "//");
	CHECK_STR(decode("%e2%82%AC", false), "\xe2\x82\xac");
	CHECK_STR(decode("%2B+", true), "+ ");
	CHECK_STR(decode("", false), "");
	CHECK_STR(decode("%zz", false), "E invalid percent escape at byte 0");
	CHECK_STR(decode("ab%4", false), "E invalid percent escape at byte 2");
	CHECK_STR(decode("ab%", false), "E invalid percent escape at byte 2");
	CHECK_STR(decode("%4g", false), "E invalid percent escape at byte 0");
	CHECK_STR(decode("x%00", false), "E NUL byte at byte 3");
	memcpy(s, "a%41%42+c", 10);      /* in place */
	CHECK(fa_h1_pct_decode(s, &n, s, 9, true, NULL) == FA_OK && n == 5 &&
	      memcmp(s, "aAB c", 5) == 0);

	fa_buf_init(&b, 0);
	q = "a=1&&b=&c&=d&e=f=g&";
	qlen = strlen(q);
	while (fa_h1_query_next(&q, &qlen, &p)) {
		fa_buf_append(&b, p.name, p.name_len);
		fa_buf_putc(&b, '=');
		fa_buf_append(&b, p.value, p.value_len);
		fa_buf_putc(&b, '|');
	}
	CHECK_STR(b.data, "a=1|b=|c=|=d|e=f=g|");
	q = "x=%41";
	qlen = 5;
	CHECK(fa_h1_query_next(&q, &qlen, &p) && p.name_len == 1 &&
	      p.value_len == 3 && qlen == 0);
	CHECK(!fa_h1_query_next(&q, &qlen, &p));
	q = NULL;
	qlen = 0;
	CHECK(!fa_h1_query_next(&q, &qlen, &p));
	q = "&&";
	qlen = 2;
	CHECK(!fa_h1_query_next(&q, &qlen, &p) && qlen == 0);
	fa_buf_release(&b);
}

/* The byte-class table against the RFC definitions. */
static void test_classes(void)
{
	const char *tchar = "!#$%&'*+-.^_`|~", *unres = "-._~",
		   *sub = "!$&'()*+,;=";
	int c, bad = 0, want_bits;
	bool alnum;

	for (c = 0; c < 256; c++) {
		alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			(c >= 'A' && c <= 'Z');
		want_bits = 0;
		if (c && (alnum || strchr(tchar, c)))
			want_bits |= C_TCHAR;
		if (c == '\t' || (c >= 0x20 && c != 0x7f))
			want_bits |= C_FIELD;
		if (c && (alnum || strchr(unres, c) || strchr(sub, c) ||
			  strchr(":@/?%[]", c)))
			want_bits |= C_TARGET;
		if (c && (alnum || strchr(unres, c) || strchr(sub, c) ||
			  strchr(":[]%", c)))
			want_bits |= C_HOST;
		if (c && strchr("0123456789abcdefABCDEF", c))
			want_bits |= C_HEX;
		if (cls[c] != want_bits)
			bad++;
	}
	CHECK(bad == 0);

	/* value_ok() looks at 8 bytes at a time: every byte everywhere */
	{
		char v[19];
		int at;

		bad = 0;
		for (c = 0; c < 256; c++) {
			for (at = 0; at < 19; at++) {
				memset(v, 'a', sizeof(v));
				v[at] = (char)c;
				if (value_ok(v, sizeof(v)) !=
				    ((cls[c] & C_FIELD) != 0))
					bad++;
				if (!value_ok(v, (size_t)at))
					bad++;
			}
		}
		CHECK(bad == 0);
	}
}

/* ---- random requests ---- */

struct gen {
	char method[16], path[64], query[64], names[8][16], values[8][32];
	int minor, nh, framing;         /* 0 none, 1 Content-Length, 2 chunked */
	bool has_query, close;
	size_t body_len;
	char body[300];
};

static void rand_str(char *s, int n, const char *alphabet)
{
	size_t m = strlen(alphabet);
	int i;

	for (i = 0; i < n; i++)
		s[i] = alphabet[rnd_below((uint32_t)m)];
	s[n] = '\0';
}

static const char tchars[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstu"
			     "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char pchars[] = "abcXYZ019-._~!$&'()*+,;=:@/";

static void gen_request(struct gen *g, struct fa_buf *out)
{
	static const char *methods[] = { "GET", "POST", "PUT", "DELETE",
					  "HEAD", "PATCH" };
	size_t k;
	int i;

	memset(g, 0, sizeof(*g));
	if (rnd_below(4))
		strcpy(g->method, methods[rnd_below(6)]);
	else
		rand_str(g->method, 1 + (int)rnd_below(10), tchars);
	g->path[0] = '/';
	rand_str(g->path + 1, (int)rnd_below(30), pchars);
	g->has_query = rnd_below(2);
	if (g->has_query)
		rand_str(g->query, (int)rnd_below(30), "ab=&%2F?/+");
	for (k = 0; g->query[k]; k++)      /* keep escapes whole */
		if (g->query[k] == '%')
			g->query[k] = 'p';
	g->minor = (int)rnd_below(2);
	g->nh = (int)rnd_below(6);
	for (i = 0; i < g->nh; i++) {
		rand_str(g->names[i], 1 + (int)rnd_below(12), tchars);
		g->names[i][0] = 'X';   /* never one of the special fields */
		g->names[i][1] = '\0' == g->names[i][1] ? '\0' : '-';
		rand_str(g->values[i], (int)rnd_below(20), "abc \t\"',;=XYZ\x80\xff");
		k = strlen(g->values[i]);
		while (k > 0 && (g->values[i][k - 1] == ' ' ||
				 g->values[i][k - 1] == '\t'))
			g->values[i][--k] = '\0';
		if (k && (g->values[i][0] == ' ' || g->values[i][0] == '\t'))
			g->values[i][0] = 'v';
	}
	g->framing = (int)rnd_below(g->minor ? 3 : 2);
	g->close = rnd_below(3) == 0;
	if (g->framing)
		g->body_len = rnd_below(sizeof(g->body));
	for (k = 0; k < g->body_len; k++)
		g->body[k] = (char)rnd_below(256);

	fa_buf_printf(out, "%s %s%s%s HTTP/1.%d\r\n", g->method, g->path,
		      g->has_query ? "?" : "", g->query, g->minor);
	if (g->minor)
		fa_buf_puts(out, "Host: example.com\r\n");
	for (i = 0; i < g->nh; i++)
		fa_buf_printf(out, "%s:%s%s%s\r\n", g->names[i],
			      rnd_below(2) ? " " : "", g->values[i],
			      rnd_below(2) ? " \t" : "");
	if (g->close)
		fa_buf_puts(out, "Connection: close\r\n");
	else if (!g->minor)
		fa_buf_puts(out, "Connection: keep-alive\r\n");
	if (g->framing == 1)
		fa_buf_printf(out, "Content-Length: %zu\r\n", g->body_len);
	if (g->framing == 2)
		fa_buf_puts(out, "Transfer-Encoding: chunked\r\n");
	fa_buf_puts(out, "\r\n");
	if (g->framing == 1)
		fa_buf_append(out, g->body, g->body_len);
	if (g->framing == 2) {
		for (k = 0; k < g->body_len; k += 50)
			fa_h1_chunk(out, g->body + k,
				    g->body_len - k < 50 ? g->body_len - k : 50);
		fa_buf_puts(out, "0\r\n\r\n");
	}
}

static bool same(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Checks req against the request g generated. */
static bool matches(const struct gen *g, const struct fa_h1_request *r)
{
	int i, extra = (g->minor ? 1 : 0) + (g->close || !g->minor) +
		       (g->framing ? 1 : 0);

	if (!same(r->method, r->method_len, g->method) ||
	    !same(r->path, r->path_len, g->path) || r->minor != g->minor ||
	    (r->query != NULL) != g->has_query ||
	    (g->has_query && !same(r->query, r->query_len, g->query)) ||
	    r->keep_alive == g->close || r->nheaders != g->nh + extra ||
	    r->chunked != (g->framing == 2) ||
	    r->content_length != (g->framing == 1 ? (int64_t)g->body_len : -1))
		return false;
	for (i = 0; i < g->nh; i++) {
		const struct fa_h1_header *h = &r->headers[i + (g->minor ? 1 : 0)];

		if (!same(h->name, h->name_len, g->names[i]) ||
		    !same(h->value, h->value_len, g->values[i]))
			return false;
	}
	return true;
}

/*
 * Several random requests in one stream, fed in random pieces to a loop
 * that does what fa-serve does: parse the head, take the body, consume.
 */
static void test_pipeline(void)
{
	struct gen g[6];
	struct fa_buf stream, pend, body;
	struct fa_h1_request req;
	struct fa_h1_chunked c;
	struct fa_error err;
	size_t fed, used, piece;
	int round, n, i, rc, status, bad = 0;

	fa_buf_init(&stream, 0);
	fa_buf_init(&pend, 0);
	fa_buf_init(&body, 0);
	for (round = 0; round < 500; round++) {
		fa_buf_reset(&stream);
		fa_buf_reset(&pend);
		n = 1 + (int)rnd_below(6);
		for (i = 0; i < n; i++)
			gen_request(&g[i], &stream);
		fed = 0;
		for (i = 0; i < n; i++) {
			/* the head */
			for (;;) {
				rc = fa_h1_parse_request(pend.data, pend.len,
							 NULL, hdr, 16, &req,
							 &status, &err);
				if (rc != 0 || fed == stream.len)
					break;
				piece = 1 + rnd_below(rnd_below(2) ? 8 : 400);
				if (piece > stream.len - fed)
					piece = stream.len - fed;
				fa_buf_append(&pend, stream.data + fed, piece);
				fed += piece;
			}
			if (rc <= 0 || !matches(&g[i], &req)) {
				fprintf(stderr, "round %d request %d: rc %d %s\n",
					round, i, rc, rc < 0 ? err.msg : "");
				bad++;
				break;
			}
			fa_buf_consume(&pend, (size_t)rc);
			/* the body */
			fa_buf_reset(&body);
			if (req.content_length >= 0) {
				while (pend.len < (size_t)req.content_length) {
					piece = 1 + rnd_below(100);
					if (piece > stream.len - fed)
						piece = stream.len - fed;
					fa_buf_append(&pend, stream.data + fed,
						      piece);
					fed += piece;
				}
				fa_buf_append(&body, pend.data,
					      (size_t)req.content_length);
				fa_buf_consume(&pend,
					       (size_t)req.content_length);
			} else if (req.chunked) {
				fa_h1_chunked_init(&c, -1, NULL, 0);
				for (;;) {
					if (fa_h1_chunked_decode(&c, pend.data,
								 pend.len, &body,
								 &used, &status,
								 &err) != FA_OK)
						break;
					fa_buf_consume(&pend, used);
					if (c.done || fed == stream.len)
						break;
					piece = 1 + rnd_below(60);
					if (piece > stream.len - fed)
						piece = stream.len - fed;
					fa_buf_append(&pend, stream.data + fed,
						      piece);
					fed += piece;
				}
			}
			if (body.len != g[i].body_len ||
			    (body.len && memcmp(body.data, g[i].body,
						body.len) != 0)) {
				fprintf(stderr, "round %d request %d: body\n",
					round, i);
				bad++;
				break;
			}
		}
		if (!bad && (fed != stream.len || pend.len != 0))
			bad++;
	}
	CHECK(bad == 0);
	fa_buf_release(&stream);
	fa_buf_release(&pend);
	fa_buf_release(&body);
}

/* Random damage to random requests keeps the prefix rule and the bounds. */
static void test_mutations(void)
{
	static const char bytes[] = "\r\n \t:,;\"\0\x01\x7f\x80/?%*0aZ";
	struct gen g;
	struct fa_buf b;
	int round, k, rc, before = failures;

	fa_buf_init(&b, 0);
	for (round = 0; round < 1500 && failures == before; round++) {
		fa_buf_reset(&b);
		gen_request(&g, &b);
		for (k = 1 + (int)rnd_below(3); k > 0 && b.len > 0; k--) {
			size_t at = rnd_below((uint32_t)b.len);
			char c = rnd_below(2) ? bytes[rnd_below(sizeof(bytes) - 1)]
					: (char)rnd_below(256);

			switch (rnd_below(3)) {
			case 0:
				b.data[at] = c;
				break;
			case 1:
				memmove(b.data + at, b.data + at + 1,
					b.len - at - 1);
				b.len--;
				break;
			default:
				fa_buf_putc(&b, 0);
				memmove(b.data + at + 1, b.data + at,
					b.len - at - 1);
				b.data[at] = c;
			}
		}
		rc = parse_into(NULL, b.data, b.len, &got, __FILE__, __LINE__);
		check_prefixes(NULL, b.data, b.len, got.data, rc, __FILE__,
			       __LINE__);
	}
	fa_buf_release(&b);
}

/* Requests a second on a pipelined buffer of typical requests. */
static void test_throughput(void)
{
	static const char in[] =
		"GET /api/items/42?fields=id,name HTTP/1.1\r\n"
		"Host: api.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\n"
		"Accept: application/json\r\n"
		"Accept-Encoding: gzip, deflate, br, zstd\r\n"
		"Accept-Language: en-US,en;q=0.5\r\n"
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc\r\n"
		"Connection: keep-alive\r\n"
		"\r\n";
	struct fa_h1_request req;
	struct fa_error err;
	int k, status, n = 200000;
	long sum = 0;
	double s = now();

	for (k = 0; k < n; k++)
		sum += fa_h1_parse_request(in, sizeof(in) - 1, NULL, hdr, 64,
					   &req, &status, &err);
	s = now() - s;
	CHECK(sum == (long)n * (long)(sizeof(in) - 1));
	printf("test_h1: parse a %zu-byte head: %.2f M requests/s, %.0f MB/s\n",
	       sizeof(in) - 1, n / s / 1e6, n * (double)(sizeof(in) - 1) / s / 1e6);
}

/* ---- response head parser (the client's side) ---- */

static void render_res(struct fa_buf *out, int rc, const struct fa_error *err,
		       const struct fa_h1_response_head *r)
{
	int i;

	fa_buf_reset(out);
	if (rc < 0) {
		fa_buf_printf(out, "E %s", err->msg);
		return;
	}
	if (rc == 0) {
		fa_buf_puts(out, "MORE");
		return;
	}
	fa_buf_printf(out, "S=%d V=%d R=", r->status, r->minor);
	put_shown(out, r->reason, r->reason_len);
	if (r->content_length >= 0)
		fa_buf_printf(out, " CL=%" PRId64, r->content_length);
	if (r->chunked)
		fa_buf_puts(out, " TE");
	if (r->until_close)
		fa_buf_puts(out, " UC");
	if (r->no_body)
		fa_buf_puts(out, " NB");
	if (r->keep_alive)
		fa_buf_puts(out, " KA");
	for (i = 0; i < r->nheaders; i++) {
		fa_buf_puts(out, " [");
		put_shown(out, r->headers[i].name, r->headers[i].name_len);
		fa_buf_puts(out, ":");
		put_shown(out, r->headers[i].value, r->headers[i].value_len);
		fa_buf_puts(out, "]");
	}
}

struct res_opts {
	size_t max_head;
	bool head;
	int cap;
};

/* Parses in[0..n) (an exact copy: ASan sees overreads) into out; checks
   the invariants every result keeps. */
static int parse_res_into(const struct res_opts *o, const char *in, size_t n,
			  struct fa_buf *out, const char *file, int line)
{
	struct fa_h1_response_head res;
	struct fa_error err = { FA_OK, "" };
	char *copy = malloc(n ? n : 1);
	int rc, i, framings;

	memcpy(copy, in, n);
	rc = fa_h1_parse_response(copy, n, o->max_head, o->head, hdr, o->cap,
				  &res, &err);
	render_res(out, rc, &err, &res);
	if (rc > 0) {
		framings = res.no_body + res.chunked + res.until_close +
			   (res.content_length >= 0);
		check(file, line, framings == 1, "exactly one framing");
		check(file, line, (size_t)rc == res.head_len && res.head_len <= n &&
		      memcmp(copy + rc - 4, "\r\n\r\n", 4) == 0, "head length");
		check(file, line, !(res.until_close && res.keep_alive),
		      "a close-delimited body is not kept alive");
		for (i = 0; i < res.nheaders; i++)
			check(file, line, res.headers[i].name >= copy &&
			      res.headers[i].value + res.headers[i].value_len <=
			      copy + rc, "field inside the head");
	}
	if (rc < 0)
		check(file, line, rc == -1 && err.code == FA_EINPUT, "error code");
	free(copy);
	return rc;
}

/* The whole result, every prefix (more, or the same), and the head with a
   body and a next response behind it (the same). */
static void check_res(const struct res_opts *o, const char *in, size_t n,
		      const char *expect, const char *file, int line)
{
	struct fa_buf more;
	char what[64];
	size_t k;
	int rc, prc;

	rc = parse_res_into(o, in, n, &got, file, line);
	check_str(file, line, got.data, expect, "whole");
	if (rc > 0)
		check(file, line, (size_t)rc == n, "the whole input is the head");
	for (k = 0; k < n; k++) {
		prc = parse_res_into(o, in, k, &tmp, file, line);
		if (prc == 0)
			continue;
		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		check_str(file, line, tmp.data, got.data, what);
	}
	if (rc != 0) {
		fa_buf_init(&more, 0);
		fa_buf_append(&more, in, n);
		fa_buf_puts(&more, "body\r\nHTTP/1.1 200 OK\r\n\r\n");
		check(file, line, parse_res_into(o, more.data, more.len, &tmp,
						 file, line) == rc, "followed");
		check_str(file, line, tmp.data, got.data, "followed");
		fa_buf_release(&more);
	}
}

static const struct res_opts res_def = { 0, false, FA_H1_MAX_HEADERS };
static const struct res_opts res_head = { 0, true, FA_H1_MAX_HEADERS };

#define CHECK_RES(in, expect) \
	check_res(&res_def, (in), sizeof(in) - 1, (expect), __FILE__, __LINE__)
#define CHECK_RES_O(o, in, expect) \
	check_res((o), (in), sizeof(in) - 1, (expect), __FILE__, __LINE__)

static void test_response_valid(void)
{
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		  "S=200 V=1 R=OK CL=5 KA [Content-Length:5]");
	CHECK_RES("HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n",
		  "S=200 V=1 R=OK TE KA [transfer-encoding:Chunked]");
	CHECK_RES("HTTP/1.1 200 OK\r\n\r\n", "S=200 V=1 R=OK UC");
	CHECK_RES("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n",
		  "S=200 V=1 R=OK UC [Connection:keep-alive]");
	CHECK_RES("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		  "S=200 V=0 R=OK CL=0 [Content-Length:0]");
	CHECK_RES("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
		  "Content-Length: 1\r\n\r\n",
		  "S=200 V=0 R=OK CL=1 KA [Connection:Keep-Alive] "
		  "[Content-Length:1]");
	CHECK_RES("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n"
		  "Content-Length: 1\r\n\r\n",
		  "S=200 V=1 R=OK CL=1 [Connection:foo, close] "
		  "[Content-Length:1]");
	CHECK_RES("HTTP/1.9 404 Not  Found \r\nContent-Length: 007\r\n\r\n",
		  "S=404 V=1 R=Not  Found  CL=7 KA [Content-Length:007]");
	/* no reason phrase, with and without its SP */
	CHECK_RES("HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n",
		  "S=200 V=1 R= CL=1 KA [Content-Length:1]");
	CHECK_RES("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n",
		  "S=200 V=1 R= CL=1 KA [Content-Length:1]");
	CHECK_RES("HTTP/1.1 599 \xe9t\xe9\t!\r\n\r\n",
		  "S=599 V=1 R=\\xe9t\\xe9\\x09! UC");
	/* no body whatever the fields say */
	CHECK_RES("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
		  "S=204 V=1 R=No Content NB KA [Content-Length:3]");
	CHECK_RES("HTTP/1.1 304 Not Modified\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  "S=304 V=1 R=Not Modified NB KA "
		  "[Transfer-Encoding:chunked]");
	CHECK_RES("HTTP/1.1 100 Continue\r\n\r\n",
		  "S=100 V=1 R=Continue NB KA");
	CHECK_RES("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n"
		  "\r\n", "S=103 V=1 R=Early Hints NB KA "
		  "[Link:</a>; rel=preload]");
	CHECK_RES_O(&res_head, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
		    "S=200 V=1 R=OK NB KA [Content-Length:100]");
	CHECK_RES_O(&res_head, "HTTP/1.0 200 OK\r\n\r\n", "S=200 V=0 R=OK NB");
	CHECK_RES("HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Tab:\tv\t\r\n"
		  "Content-Length: 0\r\n\r\n",
		  "S=200 V=1 R=OK CL=0 KA [X-Empty:] [X-Tab:v] "
		  "[Content-Length:0]");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615"
		  "\r\n\r\n", "E Content-Length too large");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807"
		  "\r\n\r\n", "S=200 V=1 R=OK CL=9223372036854775807 KA "
		  "[Content-Length:9223372036854775807]");
}

static void test_response_errors(void)
{
	struct res_opts o = res_def;

	CHECK_RES("HTTP/2 200 OK\r\n\r\n", "E line 1: invalid HTTP version");
	CHECK_RES("HTTP/2.0 200 OK\r\n\r\n",
		  "E line 1: HTTP version not supported");
	CHECK_RES("HTTP/0.9 200 OK\r\n\r\n",
		  "E line 1: HTTP version not supported");
	CHECK_RES("http/1.1 200 OK\r\n\r\n", "E line 1: invalid HTTP version");
	CHECK_RES("\r\nHTTP/1.1 200 OK\r\n\r\n",
		  "E line 1: invalid HTTP version");
	CHECK_RES("HTTP/1.1  200 OK\r\n\r\n", "E line 1: invalid status code");
	CHECK_RES("HTTP/1.1 20 OK\r\n\r\n", "E line 1: invalid status code");
	CHECK_RES("HTTP/1.1 2000 OK\r\n\r\n", "E line 1: invalid status code");
	CHECK_RES("HTTP/1.1 099 Low\r\n\r\n",
		  "E line 1: status code out of range");
	CHECK_RES("HTTP/1.1 600 High\r\n\r\n",
		  "E line 1: status code out of range");
	CHECK_RES("HTTP/1.1 200 OK\n\r\n", "E line 1: bare LF in status line");
	CHECK_RES("HTTP/1.1 200\n\r\n", "E line 1: bare LF in status line");
	CHECK_RES("HTTP/1.1 200 OK\rX\r\n", "E line 1: bare CR in status line");
	CHECK_RES("HTTP/1.1 200 O\x01K\r\n\r\n",
		  "E line 1: invalid character in reason phrase");
	CHECK_RES("HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 5\n\r\n",
		  "E line 3: bare LF in field section");
	CHECK_RES("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		  "E line 3: field line starts with whitespace (obs-fold)");
	CHECK_RES("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		  "E line 2: whitespace before a colon");
	CHECK_RES("HTTP/1.1 200 OK\r\nX: a\x00z\r\n\r\n",
		  "E line 2: invalid character in field value");
	CHECK_RES("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		  "E line 2: field line without a colon");
	CHECK_RES("HTTP/1.1 200 OK\r\n\rX", "E line 2: bare CR in field section");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "Content-Length: 1\r\n\r\n",
		  "E more than one Content-Length field");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
		  "E invalid Content-Length");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		  "E invalid Content-Length");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		  "E invalid Content-Length");
	CHECK_RES("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  "E both Content-Length and Transfer-Encoding");
	CHECK_RES("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		  "E transfer coding not supported");
	CHECK_RES("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		  "E transfer coding not supported");
	CHECK_RES("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		  "E chunked is not the final transfer coding");
	CHECK_RES("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  "E chunked is not the final transfer coding");
	CHECK_RES("HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		  "E invalid Transfer-Encoding");
	CHECK_RES("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		  "E Transfer-Encoding in HTTP/1.0");
	/* framing is checked even when there is no body */
	CHECK_RES_O(&res_head, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		    "E invalid Content-Length");
	CHECK_RES("HTTP/1.1 204 OK\r\nContent-Length: 1\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  "E both Content-Length and Transfer-Encoding");
	/* limits */
	o.max_head = 34;
	CHECK_RES_O(&o, "HTTP/1.1 200 OK\r\nX: 0123456789\r\n\r\n",
		    "S=200 V=1 R=OK UC [X:0123456789]");
	CHECK_RES_O(&o, "HTTP/1.1 200 OK\r\nX: 01234567890\r\n\r\n",
		    "E response head too large");
	o.max_head = 0;
	o.cap = 2;
	CHECK_RES_O(&o, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n",
		    "S=200 V=1 R=OK UC [A:1] [B:2]");
	CHECK_RES_O(&o, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
		    "E line 4: too many header fields");
	CHECK(fa_h1_parse_response("HTTP/1.1 200 OK\r\n\r\n", 19, 0, false,
				   NULL, 0, &(struct fa_h1_response_head){ 0 },
				   NULL) == 19);
}

static void test_response_find(void)
{
	static const char in[] = "HTTP/1.1 200 OK\r\ncontent-type: a\r\n"
				 "Content-Type: b\r\nContent-Length: 0\r\n\r\n";
	struct fa_h1_response_head r;
	const struct fa_h1_header *h;

	CHECK(fa_h1_parse_response(in, sizeof(in) - 1, 0, false, hdr, 8, &r,
				   NULL) == (int)sizeof(in) - 1);
	h = fa_h1_find(r.headers, r.nheaders, "Content-TYPE");
	CHECK(h && h->value_len == 1 && h->value[0] == 'a');
	CHECK(fa_h1_find(r.headers, r.nheaders, "Content-Typ") == NULL);
	CHECK(fa_h1_find(r.headers, 0, "content-type") == NULL);
}

/* A random response: interim 1xx heads, then a final one whose body is
   framed by Content-Length or chunked (or none); what it should read as. */
struct gen_res {
	int status, interim;
	int framing;            /* 0 none (204/304), 1 length, 2 chunked */
	size_t body_len;
	char body[400];
};

static void gen_response(struct gen_res *g, struct fa_buf *out)
{
	static const int st[] = { 200, 201, 204, 304, 400, 404, 500, 503 };
	size_t k, step;
	int i;

	memset(g, 0, sizeof(*g));
	g->interim = (int)rnd_below(3);
	for (i = 0; i < g->interim; i++)
		fa_buf_printf(out, "HTTP/1.1 1%02u Info\r\nX-I: %d\r\n\r\n",
			      rnd_below(4), i);
	g->status = st[rnd_below(8)];
	g->framing = g->status == 204 || g->status == 304 ? 0
						     : 1 + (int)rnd_below(2);
	if (g->framing)
		g->body_len = rnd_below(sizeof(g->body));
	for (k = 0; k < g->body_len; k++)
		g->body[k] = (char)rnd_below(256);
	fa_buf_printf(out, "HTTP/1.1 %d %s\r\nX-A: %u\r\n", g->status,
		      fa_h1_reason(g->status), rnd_below(1000));
	if (g->framing == 1)
		fa_buf_printf(out, "Content-Length: %zu\r\n\r\n", g->body_len);
	else if (g->framing == 2)
		fa_buf_puts(out, "Transfer-Encoding: chunked\r\n\r\n");
	else
		fa_buf_puts(out, "\r\n");
	if (g->framing == 1)
		fa_buf_append(out, g->body, g->body_len);
	if (g->framing == 2) {
		step = 1 + rnd_below(100);
		for (k = 0; k < g->body_len; k += step)
			fa_h1_chunk(out, g->body + k, g->body_len - k < step ?
				    g->body_len - k : step);
		fa_buf_puts(out, rnd_below(2) ? "0\r\n\r\n"
					      : "0\r\nX-T: 1\r\n\r\n");
	}
}

/* What a client reading one response at a time does with the bytes it
   has: 1 when the response at the front is whole (its body in body),
   0 for more.  *used: the bytes the response took. */
struct res_reader {
	int stage;              /* 0 head, 1 length body, 2 chunked body */
	struct fa_h1_response_head res;
	struct fa_h1_chunked ch;
	int64_t left;
	int status;
};

static int read_res(struct res_reader *rr, struct fa_buf *in,
		    struct fa_buf *body, struct fa_error *err)
{
	size_t used, k;
	int rc, st;

	for (;;) {
		if (rr->stage == 0) {
			rc = fa_h1_parse_response(in->data, in->len, 0, false,
						  hdr, FA_H1_MAX_HEADERS,
						  &rr->res, err);
			if (rc <= 0)
				return rc;
			rr->status = rr->res.status;
			fa_buf_consume(in, (size_t)rc);
			if (rr->res.no_body && rr->res.status < 200)
				continue;
			if (rr->res.no_body)
				return 1;
			rr->stage = rr->res.chunked ? 2 : 1;
			rr->left = rr->res.content_length;
			fa_h1_chunked_init(&rr->ch, -1, NULL, 0);
		}
		if (rr->stage == 1) {
			k = (size_t)rr->left < in->len ? (size_t)rr->left
						       : in->len;
			fa_buf_append(body, in->data, k);
			fa_buf_consume(in, k);
			rr->left -= (int64_t)k;
			return rr->left == 0 ? 1 : 0;
		}
		if (fa_h1_chunked_decode(&rr->ch, in->data, in->len, body,
					 &used, &st, err) != FA_OK)
			return -1;
		fa_buf_consume(in, used);
		return rr->ch.done ? 1 : 0;
	}
}

/* Random responses in one stream, fed in random pieces: each reads back
   with its status and body, interim heads skipped. */
static void test_response_stream(void)
{
	struct gen_res g[5];
	struct fa_buf stream, in, body;
	struct res_reader rr;
	struct fa_error err;
	size_t fed, piece;
	int round, n, i, rc, bad = 0;

	fa_buf_init(&stream, 0);
	fa_buf_init(&in, 0);
	fa_buf_init(&body, 0);
	for (round = 0; round < 300 && !bad; round++) {
		fa_buf_reset(&stream);
		fa_buf_reset(&in);
		n = 1 + (int)rnd_below(5);
		for (i = 0; i < n; i++)
			gen_response(&g[i], &stream);
		memset(&rr, 0, sizeof(rr));
		fa_buf_reset(&body);
		i = 0;
		for (fed = 0; fed < stream.len && !bad;) {
			piece = 1 + rnd_below(rnd_below(2) ? 8 : 200);
			if (piece > stream.len - fed)
				piece = stream.len - fed;
			fa_buf_append(&in, stream.data + fed, piece);
			fed += piece;
			while ((rc = read_res(&rr, &in, &body, &err)) > 0) {
				bad |= i >= n || rr.status != g[i].status ||
				       body.len != g[i].body_len ||
				       memcmp(body.data ? body.data : "", g[i].body,
					      body.len) != 0;
				i++;
				memset(&rr, 0, sizeof(rr));
				fa_buf_reset(&body);
			}
			if (rc < 0) {
				CHECK(0, "round %d: %s", round, err.msg);
				bad = 1;
			}
		}
		CHECK(!bad && i == n && in.len == 0,
		      "round %d: %d of %d responses read", round, i, n);
		bad |= i != n;
	}
	fa_buf_release(&stream);
	fa_buf_release(&in);
	fa_buf_release(&body);
}

/* Random byte mutations of a valid head keep the prefix rule. */
static void test_response_mutations(void)
{
	static const char base[] = "HTTP/1.1 200 OK\r\nContent-Type: text/"
				   "event-stream\r\nTransfer-Encoding: chunked"
				   "\r\nConnection: keep-alive\r\n\r\n";
	static const char alphabet[] = "\r\n :\t\x00\x7f\x80HTTP/1.0 2chunked,";
	char m[sizeof(base)];
	int round, k;

	for (round = 0; round < 400; round++) {
		memcpy(m, base, sizeof(base));
		for (k = (int)rnd_below(4); k >= 0; k--)
			m[rnd_below(sizeof(base) - 1)] =
				alphabet[rnd_below(sizeof(alphabet) - 1)];
		parse_res_into(&res_def, m, sizeof(base) - 1, &want, __FILE__,
			       __LINE__);
		check_res(&res_def, m, sizeof(base) - 1, want.data, __FILE__,
			  __LINE__);
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = rnd_seed("test_h1", argc, argv);

	/* mixed as before, so that old seeds replay */
	rng_state = seed * 2654435761u + 1;
	fa_buf_init(&got, 0);
	fa_buf_init(&want, 0);
	fa_buf_init(&tmp, 0);
	test_classes();
	test_valid();
	test_framing();
	test_field_syntax();
	test_request_line();
	test_connection();
	test_limits();
	test_get();
	test_chunked();
	test_chunk_round_trip();
	test_response();
	test_date();
	test_url();
	test_pipeline();
	test_mutations();
	test_response_valid();
	test_response_errors();
	test_response_find();
	test_response_stream();
	test_response_mutations();
	test_throughput();
	fa_buf_release(&got);
	fa_buf_release(&want);
	fa_buf_release(&tmp);
	return check_report("test_h1");
}
