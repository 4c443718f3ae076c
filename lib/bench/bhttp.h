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
 * HTTP/1.1 carries one request at a time per connection, so streams is
 * 1.  The field is here for HTTP/2 (several streams per connection) once
 * hclient speaks it: the engine's depth is then streams.
 */
#ifndef FA_BENCH_BHTTP_H
#define FA_BENCH_BHTTP_H

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

void fa_bench_http_release(struct fa_bench_http *cfg);

#endif
