/*
 * bhttp: fa-bench's HTTP target, over lib/http/hclient: one client (one
 * connection, kept alive) per benchmark connection.
 *
 * The URL's path may hold generated parts: {LB..UB} is a uniform random
 * whole number in that range, drawn afresh for each request, as in
 * http://127.0.0.1:8080/items/{1..100000}.  Status 4xx and 5xx count as
 * errors of their class; a broken or refused connection as connect; no
 * full answer within the timeout as timeout; a malformed answer as
 * protocol.
 *
 * The protocol is hclient's choice by default (HTTP/1.1 for http, ALPN
 * for https), or HTTP/1.1, HTTP/2 or HTTP/3 as asked (h2c by prior
 * knowledge for http; HTTP/3 only to https URLs, over UDP).  HTTP/1.1 carries one request at a time per connection; over
 * HTTP/2 streams requests are in flight on each (the engine's depth).
 * For https, fa_bench_http_tls() makes one TLS context (the CAs load
 * once) that every connection of every thread shares.  Each connection
 * records, when it closes, the protocol it spoke, so the report can say
 * what ALPN chose.
 */
#ifndef FA_BENCH_BHTTP_H
#define FA_BENCH_BHTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/engine.h"
#include "bench/gen.h"
#include "http/hclient.h"

#define FA_BENCH_HTTP_MAX_PARTS 16
#define FA_BENCH_HTTP_MAX_HEADERS 64

struct fa_bench_http {
	struct fa_url url;
	const char *method;                     /* "GET" */
	const char *body;                       /* NULL: none */
	size_t body_len;
	struct fa_h1_header headers[FA_BENCH_HTTP_MAX_HEADERS];
	int nheaders;
	int streams;                            /* requests in flight per connection (1 for HTTP/1.1) */
	enum fa_hproto proto;                   /* FA_HPROTO_AUTO, _H1, _H2 or _H3 */
	const char *ca_file;                    /* https: CAs to trust, or NULL */
	bool insecure;                          /* https: no verification */
	struct fa_tls *tls;                     /* owned: https, from fa_bench_http_tls() */
	struct fa_h3client_tls *h3tls;          /* owned: the same for HTTP/3 (GnuTLS) */
	atomic_uint *spoken;                    /* owned: bit 1 << enum fa_hproto for each
						   protocol a connection spoke */
	/* the target split at its generated parts: text[0] gen[0] text[1] ... */
	char *text[FA_BENCH_HTTP_MAX_PARTS + 1];        /* owned */
	struct fa_gen gens[FA_BENCH_HTTP_MAX_PARTS];
	int nparts;
	int conns;
};

extern const struct fa_bench_target fa_bench_http_target;

/* Parses url (with its {LB..UB} parts); FA_EUSAGE naming the URL and the
   position of what is wrong. */
enum fa_err fa_bench_http_init(struct fa_bench_http *cfg, const char *url, struct fa_error *err);

/* Adds a "Name: value" header; FA_EUSAGE when it has no ':'.  h is
   borrowed and must outlive cfg. */
enum fa_err fa_bench_http_header(struct fa_bench_http *cfg, char *h, struct fa_error *err);

/* For an https URL, loads the TLS context from ca_file and insecure (set
   them first); nothing for http.  FA_EUSAGE naming a CA file that would
   not load. */
enum fa_err fa_bench_http_tls(struct fa_bench_http *cfg, struct fa_error *err);

/* What the connections spoke: "http/1.1", "h2", "http/1.1 and h2", "h3", or
   NULL when none connected.  Read it after the run. */
const char *fa_bench_http_spoken(const struct fa_bench_http *cfg);

void fa_bench_http_release(struct fa_bench_http *cfg);

#endif
