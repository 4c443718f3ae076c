/*
 * Unit tests for lib/http/h3client against lib/http/h3, both pure: the
 * datagrams go from one to the other in memory, on a clock the test moves.
 * A request with a body and its answer, the server's stream limit honoured
 * (the client opens no more than its credit, and gets more as streams
 * close), a cancelled stream, and a certificate refused.  The certificate
 * is made at run time (GnuTLS), in a temporary directory.
 */
#include "http/h3client.c"
#include "check.h"

#include <gnutls/x509.h>
#include <time.h>
#include <unistd.h>

#include "core/stats.h"

static char dir[64], crt_path[96], key_path[96];

/* A self-signed P-256 certificate for localhost into crt_path and key_path. */
static bool make_cert(void)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	time_t now = time(NULL);
	FILE *f;
	bool ok = true;

	snprintf(dir, sizeof(dir), "/tmp/test_h3client.XXXXXX");
	if (!mkdtemp(dir))
		return false;
	snprintf(crt_path, sizeof(crt_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	gnutls_x509_privkey_init(&key);
	gnutls_x509_crt_init(&crt);
	ok &= !gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	ok &= !gnutls_x509_crt_set_version(crt, 3);
	ok &= !gnutls_x509_crt_set_serial(crt, "\x01", 1);
	ok &= !gnutls_x509_crt_set_activation_time(crt, now - 60);
	ok &= !gnutls_x509_crt_set_expiration_time(crt, now + 86400);
	ok &= !gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9);
	ok &= !gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						    GNUTLS_FSAN_SET);
	ok &= !gnutls_x509_crt_set_key(crt, key);
	ok &= !gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
	if (ok && !gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)) {
		ok = (f = fopen(crt_path, "w")) && fwrite(d.data, 1, d.size, f) == d.size;
		ok &= f && !fclose(f);
		gnutls_free(d.data);
	}
	if (ok && !gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d)) {
		ok = (f = fopen(key_path, "w")) && fwrite(d.data, 1, d.size, f) == d.size;
		ok &= f && !fclose(f);
		gnutls_free(d.data);
	}
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return ok;
}

/* ---- the server side: answers each request with its path and body ---- */

static struct fa_h3 *srv;
static struct fa_h3_ctx *sctx;

static void srv_request(void *ctx, struct fa_h3_stream *st, const struct fa_h3_request *r)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "%.*s %.*s", (int)r->path_len, r->path,
			 (int)r->body_len, r->body);
	struct fa_h1_header h = { "content-type", "text/plain", 12, 10 };

	if (r->path_len == 5 && !memcmp(r->path, "/hold", 5))
		return;         /* never answered: the client cancels it */
	fa_h3_respond(srv, st, 200, &h, 1, true);
	fa_h3_write(srv, st, body, (size_t)n);
	fa_h3_end(srv, st);
}

static void srv_drain(void *ctx, struct fa_h3_stream *st, void *user) {}
static void srv_close(void *ctx, struct fa_h3_stream *st, void *user) {}

static const struct fa_h3_ops srv_ops = { srv_request, srv_drain, srv_close };

/* ---- the client side: what each stream got ---- */

struct got {
	int status, closes;
	uint32_t code;
	char body[256];
	size_t len;
};

static int open_streams, most_open;

static int cl_head(void *ctx, void *stream, int status, const struct fa_h1_header *h, int n)
{
	((struct got *)stream)->status = status;
	return 0;
}

static int cl_data(void *ctx, void *stream, const char *p, size_t n)
{
	struct got *g = stream;

	if (g->len + n < sizeof(g->body)) {
		memcpy(g->body + g->len, p, n);
		g->len += n;
	}
	return 0;
}

static int cl_close(void *ctx, void *stream, uint32_t code)
{
	struct got *g = stream;

	g->code = code;
	g->closes++;
	open_streams--;
	return 0;
}

static const struct fa_h2client_ops cl_ops = { cl_head, cl_data, cl_close };

/* ---- the wire ---- */

static struct fa_h3_path cpath, spath;
static uint64_t clock_ns = 1000000000;

static void addr(struct sockaddr_storage *ss, socklen_t *len, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*sin);
}

/* Datagrams both ways, with the timers, for up to n rounds of 1 ms. */
static void exchange(struct fa_h3client *c, int n)
{
	struct fa_h3_limits lim;
	uint8_t buf[FA_H3_MAX_PACKET], reply[FA_H3_MAX_PACKET];
	struct fa_h3_path to;
	struct fa_error err;
	size_t k, rl;

	if (!sctx)
		sctx = fa_h3_ctx_new(crt_path, key_path, &err);
	fa_h3_limits_init(&lim);
	lim.max_streams = 3;
	for (int i = 0; i < n && !fa_h3client_done(c); i++, clock_ns += 1000000) {
		while ((k = fa_h3client_send(c, buf, sizeof(buf), clock_ns)) > 0) {
			if (!srv)
				srv = fa_h3_accept(sctx, &lim, &srv_ops, NULL, &spath, buf, k, clock_ns,
						   reply, &rl, &err);
			else
				fa_h3_recv(srv, &spath, buf, k, clock_ns);
		}
		while (srv && (k = fa_h3_send(srv, buf, sizeof(buf), &to, clock_ns)) > 0)
			fa_h3client_recv(c, &cpath, buf, k, clock_ns);
		fa_h3client_timeout(c, clock_ns);
		if (srv)
			fa_h3_timeout(srv, clock_ns);
	}
}

static struct fa_h3client *connect_to(struct fa_h3client_tls *tls)
{
	struct fa_error err;
	struct fa_h3client *c;

	fa_h3_free(srv);
	srv = NULL;
	addr(&cpath.local, &cpath.local_len, 40000);
	addr(&cpath.remote, &cpath.remote_len, 443);
	spath.local = cpath.remote;
	spath.local_len = cpath.remote_len;
	spath.remote = cpath.local;
	spath.remote_len = cpath.local_len;
	c = fa_h3client_new(tls, "localhost", &cpath, NULL, &cl_ops, NULL, clock_ns, &err);
	CHECK(c != NULL, "%s", err.msg);
	return c;
}

static struct fa_h2client_req req(const char *path, const char *body)
{
	return (struct fa_h2client_req){ .method = body ? "POST" : "GET", .scheme = "https",
					 .authority = "localhost", .path = path, .body = body,
					 .body_len = body ? strlen(body) : 0 };
}

/* ---- the tests ---- */

static void test_request(struct fa_h3client_tls *tls)
{
	struct fa_h3client *c = connect_to(tls);
	struct fa_h2client_req r = req("/echo", "hello");
	struct got g = { 0 };
	struct fa_error err;

	exchange(c, 50);
	CHECK(fa_h3client_ready(c), "%s", fa_h3client_error(c) ? fa_h3client_error(c) : "");
	CHECK(fa_h3client_streams_left(c) == 3);
	CHECK(fa_h3client_submit(c, &r, &g, &err) == 0);
	open_streams = 1;
	exchange(c, 50);
	CHECK(g.status == 200);
	CHECK(g.closes == 1 && g.code == 0);
	g.body[g.len] = '\0';
	CHECK_STR(g.body, "/echo hello");
	fa_h3client_free(c);
}

/* Ten requests, three streams of credit: never more than three open. */
static void test_stream_limit(struct fa_h3client_tls *tls)
{
	struct fa_h3client *c = connect_to(tls);
	struct fa_h2client_req r = req("/n", NULL);
	struct got g[10] = { 0 };
	struct fa_error err;
	int sent = 0, ok = 0;

	exchange(c, 50);
	open_streams = most_open = 0;
	for (int round = 0; round < 200 && sent < 10; round++) {
		while (sent < 10 && fa_h3client_streams_left(c) > 0) {
			CHECK(fa_h3client_submit(c, &r, &g[sent], &err) >= 0);
			sent++;
			if (++open_streams > most_open)
				most_open = open_streams;
		}
		if (sent < 10)  /* no credit: the client refuses to open one more */
			CHECK(fa_h3client_submit(c, &r, &g[9], &err) < 0 && err.code == FA_EWORK);
		exchange(c, 1);
	}
	exchange(c, 50);
	for (int i = 0; i < 10; i++)
		ok += g[i].status == 200 && g[i].closes == 1 && g[i].code == 0;
	CHECK(sent == 10 && ok == 10, "sent %d, answered %d", sent, ok);
	CHECK(most_open == 3, "%d streams open at once", most_open);
	fa_h3client_free(c);
}

static void test_cancel(struct fa_h3client_tls *tls)
{
	struct fa_h3client *c = connect_to(tls);
	struct fa_h2client_req r = req("/hold", NULL);
	struct got g = { 0 };
	struct fa_error err;
	int64_t id;

	exchange(c, 50);
	id = fa_h3client_submit(c, &r, &g, &err);
	exchange(c, 20);
	CHECK(g.closes == 0);
	fa_h3client_cancel(c, id);
	exchange(c, 50);
	CHECK(g.closes == 1 && g.code == NGHTTP3_H3_REQUEST_CANCELLED, "closes %d code 0x%x",
	      g.closes, g.code);
	CHECK(fa_h3client_streams_left(c) == 3);
	fa_h3client_free(c);
}

static void test_refused_certificate(void)
{
	struct fa_error err;
	struct fa_h3client_tls *strict = fa_h3client_tls_new(NULL, false, &err);
	struct fa_h3client *c = connect_to(strict);

	exchange(c, 50);
	CHECK(fa_h3client_done(c));
	CHECK(fa_h3client_error(c) && strstr(fa_h3client_error(c), "certificate was refused"),
	      "%s", fa_h3client_error(c) ? fa_h3client_error(c) : "(none)");
	fa_h3client_free(c);
	fa_h3client_tls_free(strict);
}

int main(int argc, char **argv)
{
	struct fa_error err;
	struct fa_h3client_tls *tls;

	rnd_seed("test_h3client", argc, argv);
	if (!make_cert()) {
		fprintf(stderr, "test_h3client: cannot make a certificate in %s\n", dir);
		return 1;
	}
	tls = fa_h3client_tls_new(NULL, true, &err);
	test_request(tls);
	test_stream_limit(tls);
	test_cancel(tls);
	test_refused_certificate();
	fa_h3_free(srv);
	fa_h3_ctx_free(sctx);
	fa_h3client_tls_free(tls);
	unlink(crt_path);
	unlink(key_path);
	rmdir(dir);
	return check_report("test_h3client");
}
