#include "bench/bhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/h3client.h"
#include "http/tls.h"

/* ---- configuration ------------------------------------------------------- */

/* One {LB..UB} at p (after the '{'); its end in *end. */
static enum fa_err part(struct fa_bench_http *cfg, const char *url, const char *p,
			const char **end, struct fa_error *err)
{
	const char *close = strchr(p, '}'), *dots = strstr(p, "..");
	char expr[128];
	struct fa_error gerr = { 0 };

	if (!close || !dots || dots > close || close - p > 100)
		return fa_error_set(err, FA_EUSAGE, "URL '%s', position %d: a generated part is "
				    "{LB..UB}, as in /items/{1..100000}", url, (int)(p - url));
	snprintf(expr, sizeof(expr), "random(%.*s,%.*s)", (int)(dots - p), p,
		 (int)(close - dots - 2), dots + 2);
	if (cfg->nparts == FA_BENCH_HTTP_MAX_PARTS)
		return fa_error_set(err, FA_EUSAGE, "URL '%s': more than %d generated parts", url,
				    FA_BENCH_HTTP_MAX_PARTS);
	if (fa_gen_parse(&cfg->gens[cfg->nparts], expr, &gerr))
		return fa_error_set(err, FA_EUSAGE, "URL '%s', position %d: {%.*s} is not two whole "
				    "numbers LB..UB with LB <= UB", url, (int)(p - url),
				    (int)(close - p), p);
	*end = close + 1;
	return FA_OK;
}

enum fa_err fa_bench_http_init(struct fa_bench_http *cfg, const char *url, struct fa_error *err)
{
	struct fa_buf plain;
	const char *p, *tstart, *seg;
	enum fa_err rc = FA_OK;

	memset(cfg, 0, sizeof(*cfg));
	cfg->method = "GET";
	cfg->streams = 1;
	if (!(cfg->spoken = malloc(sizeof(*cfg->spoken))))
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	atomic_init(cfg->spoken, 0);
	/* the URL with each generated part as "0", to check the rest */
	fa_buf_init(&plain, 16384);
	for (p = url; *p && !rc;) {
		if (*p == '{') {
			const char *end;

			if (!(rc = part(cfg, url, p + 1, &end, err))) {
				cfg->nparts++;
				fa_buf_putc(&plain, '0');
				p = end;
			}
		} else {
			fa_buf_putc(&plain, *p++);
		}
	}
	if (!rc && (fa_buf_putc(&plain, '\0') || fa_url_parse(plain.data, &cfg->url, err)))
		rc = err->code ? err->code : FA_EUSAGE;
	fa_buf_release(&plain);
	if (rc)
		return rc;
	/* the target as written: after scheme://authority */
	tstart = strstr(url, "://");
	tstart = tstart ? tstart + 3 : url;
	tstart += strcspn(tstart, "/?");
	seg = tstart;
	cfg->nparts = 0;
	for (p = tstart;; p++) {
		if (*p == '{' || !*p) {
			const char *end = p;

			if (!(cfg->text[cfg->nparts] = *seg || p != seg ? strndup(seg, (size_t)(p - seg)) :
							 strdup("")))
				return fa_error_set(err, FA_ENOMEM, "out of memory");
			if (!*p)
				break;
			part(cfg, url, p + 1, &end, err);
			cfg->nparts++;
			seg = end;
			p = end - 1;
		}
	}
	if (!*cfg->text[0] && !cfg->nparts) {
		free(cfg->text[0]);
		cfg->text[0] = strdup("/");
	}
	return FA_OK;
}

enum fa_err fa_bench_http_header(struct fa_bench_http *cfg, char *h, struct fa_error *err)
{
	char *colon = strchr(h, ':'), *v;
	struct fa_h1_header *x;

	if (!colon || colon == h)
		return fa_error_set(err, FA_EUSAGE, "-H '%s': write 'Name: value'", h);
	if (cfg->nheaders == FA_BENCH_HTTP_MAX_HEADERS)
		return fa_error_set(err, FA_EUSAGE, "-H '%s': more than %d headers", h,
				    FA_BENCH_HTTP_MAX_HEADERS);
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	x = &cfg->headers[cfg->nheaders++];
	x->name = h;
	x->name_len = (size_t)(colon - h);
	x->value = v;
	x->value_len = strlen(v);
	return FA_OK;
}

enum fa_err fa_bench_http_tls(struct fa_bench_http *cfg, struct fa_error *err)
{
	struct fa_tls_client_opts o = { .ca_file = cfg->ca_file, .insecure = cfg->insecure };

	if (cfg->proto == FA_HPROTO_H3 && strcmp(cfg->url.scheme, "https"))
		return fa_error_set(err, FA_EUSAGE, "--h3: '%s://%s' is not https (HTTP/3 is "
				    "always TLS)", cfg->url.scheme, cfg->url.authority);
	if (strcmp(cfg->url.scheme, "https") || cfg->tls || cfg->h3tls)
		return FA_OK;
	if (cfg->proto == FA_HPROTO_H3) {
		cfg->h3tls = fa_h3client_tls_new(cfg->ca_file, cfg->insecure, err);
		return cfg->h3tls ? FA_OK : err->code;
	}
	cfg->tls = fa_tls_client_new(&o, err);
	return cfg->tls ? FA_OK : err->code;
}

const char *fa_bench_http_spoken(const struct fa_bench_http *cfg)
{
	unsigned s = cfg->spoken ? atomic_load(cfg->spoken) : 0;
	bool h1 = s & (1u << FA_HPROTO_H1), h2 = s & (1u << FA_HPROTO_H2);

	if (s & (1u << FA_HPROTO_H3))
		return "h3";
	return h1 && h2 ? "http/1.1 and h2" : h1 ? "http/1.1" : h2 ? "h2" : NULL;
}

void fa_bench_http_release(struct fa_bench_http *cfg)
{
	for (int i = 0; i <= cfg->nparts; i++)
		free(cfg->text[i]);
	fa_tls_free(cfg->tls);
	fa_h3client_tls_free(cfg->h3tls);
	free(cfg->spoken);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- a connection -------------------------------------------------------- */

struct hreq {
	struct fa_hclient_req rq;
	struct fa_bench_req *r;
	char target[4096 + FA_BENCH_HTTP_MAX_PARTS * 24];
	struct fa_bench_conn *bc;
};

struct hconn {
	const struct fa_bench_http *cfg;
	struct fa_hclient *client;
	struct fa_bench_conn *bc;
	struct fa_gen_state gst[FA_BENCH_HTTP_MAX_PARTS];
	struct hreq *slots;             /* streams of them */
	int nslots;
};

static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res, enum fa_err rc,
		    const char *msg)
{
	struct hreq *h = rq->ctx;
	struct fa_bench_req *r = h->r;

	h->r = NULL;
	if (!r || rc == FA_EINTR)
		return;         /* the run is over */
	if (rc == FA_ECONNECT)
		fa_bench_done(r, msg && strstr(msg, "timeout after") ? FA_BENCH_ETIMEOUT :
			      FA_BENCH_ECONNECT, NULL, msg);
	else if (rc != FA_OK)
		fa_bench_done(r, FA_BENCH_EPROTOCOL, NULL, msg);
	else if (res->status >= 400) {
		char detail[8], m[64];

		snprintf(detail, sizeof(detail), "%dxx", res->status / 100 % 10);
		snprintf(m, sizeof(m), "status %d", res->status);
		fa_bench_done(r, FA_BENCH_ESTATUS, detail, m);
	} else
		fa_bench_done(r, FA_BENCH_OK, NULL, NULL);
}

static void *http_open(const void *vcfg, struct fa_loop *loop, struct fa_bench_conn *bc,
		       struct fa_error *err)
{
	const struct fa_bench_http *cfg = vcfg;
	struct hconn *c = calloc(1, sizeof(*c));
	struct fa_hclient_opts o = { 0 };
	uint64_t t = fa_bench_conn_timeout(bc);

	if (!c || !(c->slots = calloc((size_t)cfg->streams, sizeof(*c->slots)))) {
		free(c);
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	o.timeout_ms = t ? (int)((t + 999999) / 1000000) : 0;
	o.max_body = 64u << 20;
	o.proto = cfg->proto;
	o.max_streams = cfg->streams;
	o.ca_file = cfg->ca_file;
	o.insecure = cfg->insecure;
	o.tls = cfg->tls;
	o.h3tls = cfg->h3tls;
	if (!(c->client = fa_hclient_new(loop, &cfg->url, &o, err))) {
		free(c->slots);
		free(c);
		return NULL;
	}
	c->cfg = cfg;
	c->bc = bc;
	c->nslots = cfg->streams;
	for (int i = 0; i < cfg->nparts; i++)
		fa_gen_state_init(&c->gst[i], &cfg->gens[i], fa_bench_conn_seed(bc) + (uint64_t)i * 7727,
				  fa_bench_conn_index(bc), cfg->conns);
	/* hclient connects with the first request */
	fa_bench_ready(bc);
	return c;
}

static void build_target(struct hconn *c, char *out, size_t n)
{
	const struct fa_bench_http *cfg = c->cfg;
	size_t len = 0;

	for (int i = 0; i <= cfg->nparts && len < n; i++) {
		len += (size_t)snprintf(out + len, n - len, "%s", cfg->text[i]);
		if (i < cfg->nparts && len < n)
			len += (size_t)snprintf(out + len, n - len, "%lld",
						(long long)fa_gen_next(&cfg->gens[i], &c->gst[i]));
	}
}

static void http_send(void *vc, struct fa_bench_req *r)
{
	struct hconn *c = vc;
	const struct fa_bench_http *cfg = c->cfg;
	struct hreq *h = NULL;

	for (int i = 0; i < c->nslots; i++)
		if (!c->slots[i].r) {
			h = &c->slots[i];
			break;
		}
	if (!h)
		return;         /* the engine never sends past streams */
	h->r = r;
	if (cfg->nparts)
		build_target(c, h->target, sizeof(h->target));
	h->rq = (struct fa_hclient_req){
		.method = cfg->method, .target = cfg->nparts ? h->target : cfg->text[0],
		.headers = cfg->headers, .nheaders = cfg->nheaders,
		.body = cfg->body, .body_len = cfg->body_len,
		.on_done = on_done, .ctx = h,
	};
	fa_hclient_request(c->client, &h->rq);
}

static void http_close(void *vc)
{
	struct hconn *c = vc;

	for (int i = 0; i < c->nslots; i++)
		c->slots[i].r = NULL;
	if (fa_hclient_proto(c->client) != FA_HPROTO_AUTO)
		atomic_fetch_or(c->cfg->spoken, 1u << fa_hclient_proto(c->client));
	fa_hclient_free(c->client);
	free(c->slots);
	free(c);
}

const struct fa_bench_target fa_bench_http_target = {
	.name = "http",
	.open = http_open,
	.send = http_send,
	.close = http_close,
};
