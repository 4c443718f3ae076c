/*
 * Unit tests for lib/http/tls: a server connection from fa_tls and an OpenSSL
 * client over a nonblocking socketpair, each driven in turn until both
 * are done.  Covers ALPN selection, bytes both ways (with a write that
 * fills the socket), clean close, EOF, reset, garbage, refused protocol
 * versions and ciphers, the self-signed certificate's fields and
 * fingerprint, session resumption, loading files, mismatched and broken
 * files, and reload, also while another thread opens connections; and
 * the client side (fa_tls_client_*): verification against the system's
 * CAs or a CA file, by name and by address, insecure, ALPN offers.  Works
 * in a temporary directory under /tmp (the current directory meanwhile).
 * Random data; the seed is printed and may be given as the first argument.
 */
#include "http/tls.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define FP_SIZE FA_TLS_FINGERPRINT_SIZE

#include "check.h"

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot write %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Runs a shell command in the test directory. */
static void sh(const char *cmd)
{
	CHECK(system(cmd) == 0, "%s", cmd);
}

static const char *const alpn_both[] = { "h2", "http/1.1", NULL };

static struct fa_tls *self_signed(const char *const *alpn)
{
	struct fa_tls_opts o = { .self_signed = true, .alpn = alpn };
	struct fa_error err = { 0 };
	struct fa_tls *tls = fa_tls_new(&o, &err);

	CHECK(tls != NULL, "%s", err.msg);
	return tls;
}

/* ------------------------------------------------------------ client */

struct client_opts {
	const char *alpn;       /* comma-separated, NULL: offer none */
	int max_proto;          /* 0: any */
	const char *ciphers;    /* TLS 1.2 cipher list, NULL: default */
	const char *ca_file;    /* verify the server against it */
	long options;           /* SSL_OP_* */
};

/* ALPN wire format from "a,b"; returns its length. */
static unsigned wire(const char *list, unsigned char *out)
{
	unsigned n = 0;
	const char *p = list, *comma;
	size_t len;

	while (*p) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		out[n] = (unsigned char)len;
		memcpy(out + n + 1, p, len);
		n += 1 + (unsigned)len;
		p += len + (comma != NULL);
	}
	return n;
}

/* Lets the client offer versions below 1.2, so that the server refuses. */
static void allow_old(SSL_CTX *ctx)
{
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
}

static SSL_CTX *client_ctx(const struct client_opts *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	unsigned char protos[64];

	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, c->options);
	if (c->alpn)
		CHECK(SSL_CTX_set_alpn_protos(ctx, protos,
					      wire(c->alpn, protos)) == 0,
		      "%s", c->alpn);
	if (c->max_proto && c->max_proto < TLS1_2_VERSION)
		allow_old(ctx);
	if (c->max_proto)
		SSL_CTX_set_max_proto_version(ctx, c->max_proto);
	if (c->ciphers)
		CHECK(SSL_CTX_set_cipher_list(ctx, c->ciphers), "%s",
		      c->ciphers);
	if (c->ca_file) {
		CHECK(SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL),
		      "%s", c->ca_file);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
}

/* ------------------------------------------------------------ pairs */

struct pair {
	int fd[2];              /* server, client */
	SSL *srv, *cli;
	int srv_rc, cli_rc;     /* handshake: 1 done, -1 failed */
};

static int pair_open(struct pair *p, struct fa_tls *tls, SSL_CTX *cctx,
		     SSL_SESSION *resume)
{
	struct fa_error err = { 0 };

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd) != 0) {
		CHECK(0, "socketpair: %s", strerror(errno));
		p->fd[0] = p->fd[1] = -1;
		return -1;
	}
	p->srv = fa_tls_conn_new(tls, p->fd[0], &err);
	CHECK(p->srv != NULL, "%s", err.msg);
	p->cli = SSL_new(cctx);
	SSL_set_fd(p->cli, p->fd[1]);
	SSL_set_connect_state(p->cli);
	SSL_set_tlsext_host_name(p->cli, "localhost");
	SSL_set1_host(p->cli, "localhost");
	if (resume)
		SSL_set_session(p->cli, resume);
	return p->srv ? 0 : -1;
}

static void pair_close(struct pair *p)
{
	fa_tls_conn_free(p->srv);
	if (p->cli_rc == 1) {
		/* else OpenSSL marks the client's session not resumable */
		SSL_shutdown(p->cli);
		ERR_clear_error();
	}
	SSL_free(p->cli);
	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
}

/* One step of the client's handshake: 1 done, 0 more, -1 failed. */
static int client_step(SSL *cli)
{
	int rc;

	ERR_clear_error();
	rc = SSL_get_error(cli, SSL_do_handshake(cli));
	ERR_clear_error();
	if (rc == SSL_ERROR_NONE)
		return 1;
	return rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Steps both handshakes in turn; a failed side is not stepped again. */
static void handshake(struct pair *p)
{
	int i, want;

	for (i = 0; i < 50 && (p->srv_rc == 0 || p->cli_rc == 0); i++) {
		if (p->cli_rc == 0)
			p->cli_rc = client_step(p->cli);
		if (p->srv_rc == 0) {
			p->srv_rc = fa_tls_handshake(p->srv, &want);
			CHECK(p->srv_rc != 0 || want == FA_TLS_WANT_READ ||
			      want == FA_TLS_WANT_WRITE, "want %d", want);
		}
	}
}

/* Opens a pair and handshakes; 0 when both sides finished. */
static int connect_pair(struct pair *p, struct fa_tls *tls, SSL_CTX *cctx,
			SSL_SESSION *resume)
{
	if (pair_open(p, tls, cctx, resume) != 0)
		return -1;
	handshake(p);
	return p->srv_rc == 1 && p->cli_rc == 1 ? 0 : -1;
}

/* The client's side of a transfer: OpenSSL directly; >0, or -1 to wait. */
static ssize_t cli_io(SSL *ssl, void *buf, size_t n, int writing)
{
	size_t done = 0;
	int rc;

	ERR_clear_error();
	rc = writing ? SSL_write_ex(ssl, buf, n, &done)
		     : SSL_read_ex(ssl, buf, n, &done);
	if (rc == 1)
		return (ssize_t)done;
	rc = SSL_get_error(ssl, rc);
	ERR_clear_error();
	CHECK(rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE,
	      "client error %d", rc);
	return -1;
}

/* The server writes until the socket is full; returns what it wrote. */
static size_t srv_write_all(SSL *srv, const unsigned char *p, size_t n,
			    int *waits)
{
	size_t sent = 0;
	ssize_t r = 0;
	int want = 0;

	while (sent < n && (r = fa_tls_write(srv, p + sent, n - sent,
					     &want)) > 0)
		sent += (size_t)r;
	CHECK(r > 0 || (r == -1 && want), "write %zd want %d", r, want);
	*waits += r == -1 && want == FA_TLS_WANT_WRITE;
	return sent;
}

/*
 * Sends n random bytes one way and checks they arrive.  to_client: the
 * server writes with fa_tls_write, else reads with fa_tls_read.  Returns
 * how often the server's write asked to wait for writability.
 */
static int transfer(struct pair *p, size_t n, int to_client)
{
	unsigned char *out = malloc(n), *in = malloc(n);
	size_t sent = 0, got = 0, i, steps = 0;
	ssize_t r;
	int want = 0, waits = 0;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)rnd();
	while (got < n && steps++ < 100000) {
		if (sent < n && to_client)
			sent += srv_write_all(p->srv, out + sent, n - sent,
					      &waits);
		else if (sent < n && (r = cli_io(p->cli, out + sent,
						 n - sent, 1)) > 0)
			sent += (size_t)r;
		if (to_client) {
			r = cli_io(p->cli, in + got, n - got, 0);
		} else {
			r = fa_tls_read(p->srv, in + got, n - got, &want);
			CHECK(r > 0 || (r == -1 && want == FA_TLS_WANT_READ),
			      "read %zd want %d", r, want);
		}
		got += r > 0 ? (size_t)r : 0;
	}
	CHECK(got == n && memcmp(in, out, n) == 0,
	      "%zu of %zu bytes arrived intact", got, n);
	free(out);
	free(in);
	return waits;
}

/* The server's certificate as the client saw it, digested here. */
static void peer_fingerprint(SSL *cli, char out[FP_SIZE])
{
	X509 *x = SSL_get1_peer_certificate(cli);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;

	out[0] = '\0';
	if (x && X509_digest(x, EVP_sha256(), md, &len))
		for (i = 0; i < len; i++)
			sprintf(out + 3 * i, "%02X%s", md[i],
				i + 1 < len ? ":" : "");
	X509_free(x);
}

/* Handshakes a fresh client against tls; its peer fingerprint, or "". */
static void served_fingerprint(struct fa_tls *tls, char out[FP_SIZE])
{
	struct client_opts co = { 0 };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;

	out[0] = '\0';
	if (connect_pair(&p, tls, cctx, NULL) == 0)
		peer_fingerprint(p.cli, out);
	CHECK(out[0] != '\0', "handshake failed");
	pair_close(&p);
	SSL_CTX_free(cctx);
}

/* ------------------------------------------------------------ tests */

/* What the server chooses for a client offering offer ("" for none). */
static void expect_alpn(struct fa_tls *tls, const char *offer,
			const char *want)
{
	struct client_opts co = { .alpn = *offer ? offer : NULL };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;
	const char *got;
	int rc = connect_pair(&p, tls, cctx, NULL);

	CHECK(rc == 0, "offer '%s': handshake %d/%d", offer, p.srv_rc,
	      p.cli_rc);
	got = fa_tls_alpn(p.srv);
	CHECK(want ? got && strcmp(got, want) == 0 : got == NULL,
	      "offer '%s': got %s, want %s", offer, got ? got : "none",
	      want ? want : "none");
	pair_close(&p);
	SSL_CTX_free(cctx);
}

static void test_alpn(void)
{
	static const char *const h1_only[] = { "http/1.1", NULL };
	static const char *const bad[] = { "h2", "spdy/3", NULL };
	struct fa_tls *tls = self_signed(alpn_both);
	struct fa_tls *h1 = self_signed(h1_only), *none = self_signed(NULL);
	struct fa_tls_opts o = { .self_signed = true, .alpn = bad };
	struct fa_error err = { 0 };

	expect_alpn(tls, "h2,http/1.1", "h2");
	expect_alpn(tls, "http/1.1,h2", "h2");          /* server's order */
	expect_alpn(tls, "http/1.1", "http/1.1");
	expect_alpn(tls, "", NULL);
	expect_alpn(tls, "spdy/3,foo", NULL);           /* NOACK: no failure */
	expect_alpn(h1, "h2,http/1.1", "http/1.1");
	expect_alpn(h1, "h2", NULL);
	expect_alpn(none, "h2,http/1.1", NULL);
	CHECK(fa_tls_new(&o, &err) == NULL && err.code == FA_EUSAGE &&
	      strstr(err.msg, "'spdy/3'"), "%s", err.msg);
	fa_tls_free(tls);
	fa_tls_free(h1);
	fa_tls_free(none);
}

static void test_exchange(void)
{
	struct fa_tls *tls = self_signed(alpn_both);
	struct client_opts co = { .alpn = "h2" };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;
	int waits;

	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "handshake");
	transfer(&p, 1, 0);
	transfer(&p, 1, 1);
	transfer(&p, 100000, 0);
	waits = transfer(&p, 3 << 20, 1);
	CHECK(waits > 0, "a 3 MiB write never had to wait");
	transfer(&p, 17, 0);
	pair_close(&p);

	/* The handshake also happens inside the first read. */
	CHECK(pair_open(&p, tls, cctx, NULL) == 0, "open");
	transfer(&p, 5000, 0);
	CHECK(SSL_is_init_finished(p.srv), "not finished");
	pair_close(&p);
	SSL_CTX_free(cctx);
	fa_tls_free(tls);
}

/* Reads on the server until something other than WANT_READ. */
static ssize_t server_read(struct pair *p, int *want)
{
	char buf[256];
	ssize_t r = -1;
	int i;

	for (i = 0; i < 20; i++) {
		r = fa_tls_read(p->srv, buf, sizeof(buf), want);
		if (r != -1 || *want != FA_TLS_WANT_READ)
			break;
	}
	return r;
}

/* The client goes away abruptly; what the server's next read says. */
static ssize_t after_client_close(struct pair *p, int *want)
{
	close(p->fd[1]);
	p->fd[1] = -1;
	return server_read(p, want);
}

static void test_close(void)
{
	struct fa_tls *tls = self_signed(alpn_both);
	struct client_opts co = { 0 };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;
	ssize_t r;
	int want;

	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "handshake");
	SSL_shutdown(p.cli);
	r = server_read(&p, &want);
	CHECK(r == 0, "close_notify: read %zd want %d", r, want);
	pair_close(&p);

	/* EOF without close_notify, as many HTTP clients end. */
	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "handshake");
	transfer(&p, 10, 1);            /* the client reads the tickets too */
	r = after_client_close(&p, &want);
	CHECK(r == 0, "EOF: read %zd want %d (%s)", r, want,
	      fa_tls_conn_error(p.srv));
	pair_close(&p);

	/* Closing with unread bytes resets the connection: fatal, not 0. */
	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "handshake");
	r = after_client_close(&p, &want);
	CHECK(r == -1 && want == 0 && fa_tls_conn_error(p.srv),
	      "reset: read %zd want %d", r, want);
	printf("  reset: %s: %s\n", fa_tls_conn_error(p.srv), strerror(errno));
	pair_close(&p);
	SSL_CTX_free(cctx);
	fa_tls_free(tls);
}

/* Plain HTTP on a TLS port: fails, and leaves no error queued. */
static void test_garbage(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fa_tls *tls = self_signed(alpn_both);
	struct client_opts co = { 0 };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;
	ssize_t r;
	int want;

	CHECK(pair_open(&p, tls, cctx, NULL) == 0, "open");
	CHECK(write(p.fd[1], http, sizeof(http) - 1) > 0, "write");
	r = fa_tls_handshake(p.srv, &want);
	CHECK(r == -1 && want == 0, "garbage: handshake %zd want %d", r, want);
	CHECK(ERR_peek_error() == 0, "error queue not empty");
	CHECK(fa_tls_conn_error(p.srv) != NULL, "no reason");
	printf("  plain HTTP: %s\n", fa_tls_conn_error(p.srv));
	pair_close(&p);
	SSL_CTX_free(cctx);
	fa_tls_free(tls);
}

/* A client with co must fail to connect; the server says why: reason. */
static void expect_refused(struct fa_tls *tls, const struct client_opts *co,
			   const char *what, const char *reason)
{
	const char *why;

	SSL_CTX *cctx = client_ctx(co);
	struct pair p;

	pair_open(&p, tls, cctx, NULL);
	handshake(&p);
	CHECK(p.srv_rc == -1, "%s: server handshake %d", what, p.srv_rc);
	CHECK(p.cli_rc != 1, "%s: client handshake %d", what, p.cli_rc);
	why = fa_tls_conn_error(p.srv);
	CHECK(why && strcmp(why, reason) == 0, "%s: %s", what, why);
	CHECK(ERR_peek_error() == 0, "%s: error queue not empty", what);
	printf("  %s refused: %s\n", what, why);
	pair_close(&p);
	SSL_CTX_free(cctx);
}

static void test_versions(void)
{
	struct fa_tls *tls = self_signed(alpn_both);
	struct client_opts tls11 = { .max_proto = TLS1_1_VERSION };
	struct client_opts cbc = { .max_proto = TLS1_2_VERSION,
				   .ciphers = "ECDHE-ECDSA-AES128-SHA" };
	struct client_opts tls12 = { .max_proto = TLS1_2_VERSION,
				     .alpn = "h2" };
	SSL_CTX *cctx = client_ctx(&tls12);
	const char *cipher, *alpn;
	struct pair p;

	expect_refused(tls, &tls11, "TLS 1.1", "unsupported protocol");
	expect_refused(tls, &cbc, "a CBC cipher", "no shared cipher");
	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "TLS 1.2 handshake");
	cipher = SSL_get_cipher_name(p.srv);
	alpn = fa_tls_alpn(p.srv);
	CHECK(strcmp(SSL_get_version(p.srv), "TLSv1.2") == 0, "%s",
	      SSL_get_version(p.srv));
	CHECK(strncmp(cipher, "ECDHE-ECDSA-", 12) == 0 &&
	      (strstr(cipher, "GCM") || strstr(cipher, "CHACHA20")),
	      "%s", cipher);
	CHECK(alpn && strcmp(alpn, "h2") == 0, "ALPN on TLS 1.2");
	transfer(&p, 1000, 1);
	pair_close(&p);
	SSL_CTX_free(cctx);
	fa_tls_free(tls);
}

/* Checks the self-signed certificate's fields as a client sees them. */
static void check_cert_fields(X509 *x)
{
	EVP_PKEY *key = X509_get0_pubkey(x);
	time_t now = time(NULL), t;
	int days = 0, secs = 0;

	CHECK(X509_get_version(x) == X509_VERSION_3, "version %ld",
	      X509_get_version(x));
	CHECK(X509_check_host(x, "localhost", 0, 0, NULL) == 1, "localhost");
	CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1, "IP:127.0.0.1");
	CHECK(X509_check_ip_asc(x, "::1", 0) == 1, "IP:::1");
	CHECK(X509_check_host(x, "example.com", 0, 0, NULL) != 1, "other");
	CHECK(EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256,
	      "P-256");
	CHECK(X509_get_signature_nid(x) == NID_ecdsa_with_SHA256, "sig %d",
	      X509_get_signature_nid(x));
	t = now - 3500;
	CHECK(X509_cmp_time(X509_get0_notBefore(x), &t) < 0, "notBefore late");
	t = now - 3700;
	CHECK(X509_cmp_time(X509_get0_notBefore(x), &t) > 0, "notBefore early");
	ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
	CHECK(days == 29 || (days == 30 && secs == 0),
	      "notAfter in %d days %d s", days, secs);
	CHECK(ASN1_INTEGER_get(X509_get0_serialNumber(x)) != 1, "serial");
}

/* The fingerprint's form: 32 uppercase hex pairs joined by colons. */
static void check_fingerprint_form(const char *fp)
{
	size_t i;
	int ok = strlen(fp) == 95;

	for (i = 0; fp[i]; i++)
		ok &= i % 3 == 2 ? fp[i] == ':'
				 : strchr("0123456789ABCDEF", fp[i]) != NULL;
	CHECK(ok, "'%s'", fp);
}

/* A client that trusts the written certificate verifies the server. */
static void check_verified(struct fa_tls *tls, struct fa_tls *other)
{
	struct client_opts co = { .ca_file = "ss.crt" };
	SSL_CTX *cctx = client_ctx(&co);
	struct pair p;
	long v;

	CHECK(connect_pair(&p, tls, cctx, NULL) == 0, "verified handshake");
	v = SSL_get_verify_result(p.cli);
	CHECK(v == X509_V_OK, "verify: %s", X509_verify_cert_error_string(v));
	if (p.cli_rc == 1)
		check_cert_fields(SSL_get0_peer_certificate(p.cli));
	pair_close(&p);
	CHECK(connect_pair(&p, other, cctx, NULL) != 0, "other one verified");
	pair_close(&p);
	SSL_CTX_free(cctx);
}

static void test_self_signed(void)
{
	struct fa_tls *tls = self_signed(alpn_both), *other = self_signed(NULL);
	char fp[FP_SIZE], seen[FP_SIZE];
	struct fa_error err = { 0 };

	if (!tls || !other)
		return;
	snprintf(fp, sizeof(fp), "%s", fa_tls_fingerprint(tls));
	check_fingerprint_form(fp);
	served_fingerprint(tls, seen);
	CHECK(strcmp(seen, fp) == 0, "%s != %s", seen, fp);
	CHECK(strcmp(fa_tls_fingerprint(other), fp) != 0, "two alike");
	CHECK(fa_tls_write_pem(tls, "ss.crt", "ss.key", &err) == FA_OK,
	      "%s", err.msg);
	check_verified(tls, other);
	CHECK(fa_tls_reload(tls, &err) == FA_OK, "%s", err.msg);
	CHECK(strcmp(fa_tls_fingerprint(tls), fp) == 0, "reload changed it");
	fa_tls_free(tls);
	fa_tls_free(other);
}

/* Connects resuming *sess if set; whether the server resumed. */
static int resumed(struct fa_tls *tls, SSL_CTX *cctx, SSL_SESSION **sess)
{
	struct pair p;
	int reused = -1;

	if (connect_pair(&p, tls, cctx, *sess) == 0) {
		transfer(&p, 100, 1);   /* the client takes TLS 1.3 tickets */
		reused = SSL_session_reused(p.srv);
		SSL_SESSION_free(*sess);
		*sess = SSL_get1_session(p.cli);
	}
	CHECK(reused >= 0, "handshake");
	pair_close(&p);
	return reused;
}

static void test_resumption(void)
{
	struct fa_tls *tls = self_signed(alpn_both);
	struct client_opts all[] = {
		{ 0 },
		{ .max_proto = TLS1_2_VERSION },
		{ .max_proto = TLS1_2_VERSION, .options = SSL_OP_NO_TICKET },
	};
	const char *names[] = { "TLS 1.3 ticket", "TLS 1.2 ticket",
				"TLS 1.2 session cache" };
	SSL_SESSION *sess;
	SSL_CTX *cctx;
	size_t i;

	for (i = 0; i < 3; i++) {
		cctx = client_ctx(&all[i]);
		sess = NULL;
		CHECK(resumed(tls, cctx, &sess) == 0, "%s: resumed", names[i]);
		CHECK(resumed(tls, cctx, &sess) == 1, "%s: not resumed",
		      names[i]);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cctx);
	}
	fa_tls_free(tls);
}

/* Loads cert and key (NULL: from cert); must give the fingerprint fp. */
static void expect_loaded(const char *cert, const char *key, const char *fp)
{
	struct fa_tls_opts o = { .cert_file = cert, .key_file = key };
	struct fa_error err = { 0 };
	struct fa_tls *tls = fa_tls_new(&o, &err);
	char seen[FP_SIZE];

	CHECK(tls != NULL, "%s", err.msg);
	if (!tls)
		return;
	CHECK(strcmp(fa_tls_fingerprint(tls), fp) == 0, "fingerprint");
	served_fingerprint(tls, seen);
	CHECK(strcmp(seen, fp) == 0, "served %s", seen);
	fa_tls_free(tls);
}

static void test_files(void)
{
	struct fa_tls *a = self_signed(NULL), *b = self_signed(NULL);
	struct fa_error err = { 0 };
	struct stat st;

	if (!a || !b)
		return;
	CHECK(fa_tls_write_pem(a, "a.crt", "a.key", &err) == FA_OK, "%s",
	      err.msg);
	CHECK(fa_tls_write_pem(b, "b.crt", "b.key", &err) == FA_OK, "%s",
	      err.msg);
	CHECK(stat("a.key", &st) == 0 && (st.st_mode & 0777) == 0600,
	      "key mode %o", (unsigned)st.st_mode & 0777);
	expect_loaded("a.crt", "a.key", fa_tls_fingerprint(a));
	sh("cat a.crt a.key > both.pem");
	expect_loaded("both.pem", NULL, fa_tls_fingerprint(a));
	fa_tls_free(a);
	fa_tls_free(b);
}

/* fa_tls_new(cert, key) must fail with FA_EUSAGE, naming named. */
static void expect_load_error(const char *cert, const char *key,
			      const char *named)
{
	struct fa_tls_opts o = { .cert_file = cert, .key_file = key };
	struct fa_error err = { 0 };
	struct fa_tls *tls = fa_tls_new(&o, &err);
	char quoted[160];

	snprintf(quoted, sizeof(quoted), "'%s'", named);
	CHECK(tls == NULL && err.code == FA_EUSAGE && strstr(err.msg, quoted) &&
	      err.msg[strlen(err.msg) - 1] != '.', "%s", err.msg);
	printf("  %s\n", err.msg);
	fa_tls_free(tls);
}

/* Writes the key in from to to, encrypted with a passphrase. */
static void write_encrypted(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	EVP_PKEY *key = in ? PEM_read_PrivateKey(in, NULL, NULL, NULL) : NULL;

	CHECK(key && out && PEM_write_PrivateKey(out, key, EVP_aes_128_cbc(),
						 NULL, 0, NULL, "secret"),
	      "cannot write %s", to);
	EVP_PKEY_free(key);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static void test_bad_files(void)
{
	struct fa_tls_opts none = { 0 };
	struct fa_error err = { 0 };
	struct fa_tls *a = self_signed(NULL);

	put_file("junk.pem", "not a certificate\n");
	write_encrypted("a.key", "enc.key");
	expect_load_error("missing.crt", "a.key", "missing.crt");
	expect_load_error("junk.pem", "a.key", "junk.pem");
	expect_load_error("a.crt", "junk.pem", "junk.pem");
	expect_load_error("a.crt", "missing.key", "missing.key");
	expect_load_error("a.crt", "b.key", "b.key");
	expect_load_error("a.crt", NULL, "a.crt");      /* no key in it */
	expect_load_error("a.crt", "enc.key", "enc.key");
	CHECK(fa_tls_new(&none, &err) == NULL && err.code == FA_EUSAGE,
	      "%s", err.msg);
	CHECK(fa_tls_write_pem(a, "no/such.crt", "x.key", &err) == FA_EUSAGE
	      && strstr(err.msg, "'no/such.crt'"), "%s", err.msg);
	printf("  %s\n", err.msg);
	fa_tls_free(a);
}

/* Reload must fail naming file, and keep serving the fingerprint fp. */
static void expect_reload_error(struct fa_tls *tls, const char *file,
				const char *fp)
{
	struct fa_error err = { 0 };
	char seen[FP_SIZE];

	CHECK(fa_tls_reload(tls, &err) == FA_EUSAGE && strstr(err.msg, file),
	      "%s", err.msg);
	printf("  %s\n", err.msg);
	CHECK(strcmp(fa_tls_fingerprint(tls), fp) == 0, "changed to %s",
	      fa_tls_fingerprint(tls));
	served_fingerprint(tls, seen);
	CHECK(strcmp(seen, fp) == 0, "served %s", seen);
}

static void test_reload(void)
{
	struct fa_tls_opts o = { .cert_file = "live.crt",
				 .key_file = "live.key" };
	struct client_opts co = { 0 };
	SSL_CTX *cctx = client_ctx(&co);
	struct fa_error err = { 0 };
	char fp_a[FP_SIZE], fp_b[FP_SIZE];
	struct fa_tls *tls;
	SSL_SESSION *sess = NULL;
	struct pair old;

	sh("cp a.crt live.crt && cp a.key live.key");
	tls = fa_tls_new(&o, &err);
	CHECK(tls != NULL, "%s", err.msg);
	if (!tls)
		return;
	snprintf(fp_a, sizeof(fp_a), "%s", fa_tls_fingerprint(tls));
	CHECK(resumed(tls, cctx, &sess) == 0, "first");
	CHECK(connect_pair(&old, tls, cctx, NULL) == 0, "old connection");

	put_file("live.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n");
	expect_reload_error(tls, "'live.crt'", fp_a);

	sh("cp b.crt live.crt && cp b.key live.key");
	CHECK(fa_tls_reload(tls, &err) == FA_OK, "%s", err.msg);
	snprintf(fp_b, sizeof(fp_b), "%s", fa_tls_fingerprint(tls));
	CHECK(strcmp(fp_b, fp_a) != 0, "reload kept %s", fp_a);
	expect_loaded("b.crt", "b.key", fp_b);
	transfer(&old, 3000, 1);        /* still on the old certificate */
	transfer(&old, 3000, 0);
	pair_close(&old);
	CHECK(resumed(tls, cctx, &sess) == 1, "ticket from before reload");

	sh("cp a.crt live.crt");        /* b's key does not match */
	expect_reload_error(tls, "'live.key'", fp_b);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	fa_tls_free(tls);
}

struct reloader {
	struct fa_tls *tls;
	int rounds, failed;
};

static void *reload_loop(void *arg)
{
	struct reloader *r = arg;
	struct fa_error err;
	int i;

	for (i = 0; i < r->rounds; i++)
		if (fa_tls_reload(r->tls, &err) != FA_OK)
			r->failed++;
	return NULL;
}

/* Connections keep working while another thread reloads. */
static void test_reload_threads(void)
{
	struct fa_tls_opts o = { .cert_file = "b.crt", .key_file = "b.key",
				 .alpn = alpn_both };
	struct client_opts co = { .alpn = "h2" };
	struct reloader r = { .rounds = 100 };
	struct fa_error err = { 0 };
	SSL_CTX *cctx = client_ctx(&co);
	pthread_t th;
	struct pair p;
	int i, ok = 0;

	r.tls = fa_tls_new(&o, &err);
	CHECK(r.tls != NULL, "%s", err.msg);
	if (r.tls && pthread_create(&th, NULL, reload_loop, &r) == 0) {
		for (i = 0; i < 100; i++) {
			ok += connect_pair(&p, r.tls, cctx, NULL) == 0 &&
			      strcmp(fa_tls_alpn(p.srv), "h2") == 0;
			pair_close(&p);
		}
		pthread_join(th, NULL);
		CHECK(ok == 100 && r.failed == 0,
		      "%d connected, %d reloads failed", ok, r.failed);
	}
	fa_tls_free(r.tls);
	SSL_CTX_free(cctx);
}

/* ------------------------------------------------------ client side */

/* The client side's resumption slot, shared by the pairs of a test. */
static SSL_SESSION *resume_slot;

/* A pair whose client is fa_tls_client_conn_new(cli) for host; the
   handshake runs.  Returns the client's result (1 or -1). */
static int client_pair(struct pair *p, struct fa_tls *srv, struct fa_tls *cli,
		       const char *host, const char *const *alpn)
{
	struct fa_error err = { 0 };

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd) != 0) {
		CHECK(0, "socketpair: %s", strerror(errno));
		return -1;
	}
	p->srv = fa_tls_conn_new(srv, p->fd[0], &err);
	p->cli = fa_tls_client_conn_new(cli, p->fd[1], host, alpn, &resume_slot, &err);
	CHECK(p->srv && p->cli, "%s", err.msg);
	if (!p->cli)
		return -1;
	handshake(p);
	return p->cli_rc;
}

static void test_client(void)
{
	static const char *const h1[] = { "http/1.1", NULL };
	static const char *const bad[] = { "spdy/3", NULL };
	struct fa_tls *srv = self_signed(alpn_both), *sys, *ca, *insecure;
	struct fa_error err = { 0 };
	struct pair p;

	CHECK(fa_tls_write_pem(srv, "cli.crt", "cli.key", &err) == FA_OK, "%s", err.msg);
	sys = fa_tls_client_new(&(struct fa_tls_client_opts){ 0 }, &err);
	ca = fa_tls_client_new(&(struct fa_tls_client_opts){ .ca_file = "cli.crt" }, &err);
	insecure = fa_tls_client_new(&(struct fa_tls_client_opts){ .insecure = true }, &err);
	CHECK(sys && ca && insecure, "%s", err.msg);
	if (!sys || !ca || !insecure)
		return;
	/* the system's CAs do not know a self-signed certificate */
	CHECK(client_pair(&p, srv, sys, "localhost", alpn_both) == -1);
	CHECK_STR(fa_tls_verify_error(p.cli), "self-signed certificate");
	pair_close(&p);
	/* its own certificate as the CA: by name and by address */
	CHECK(client_pair(&p, srv, ca, "localhost", alpn_both) == 1);
	CHECK(fa_tls_verify_error(p.cli) == NULL);
	CHECK_STR(fa_tls_alpn(p.cli), "h2");
	pair_close(&p);
	CHECK(client_pair(&p, srv, ca, "127.0.0.1", h1) == 1);
	CHECK_STR(fa_tls_alpn(p.cli), "http/1.1");
	pair_close(&p);
	CHECK(client_pair(&p, srv, ca, "::1", NULL) == 1);
	CHECK(fa_tls_alpn(p.cli) == NULL);
	pair_close(&p);
	/* names the certificate does not hold */
	CHECK(client_pair(&p, srv, ca, "other.example", alpn_both) == -1);
	CHECK_STR(fa_tls_verify_error(p.cli), "hostname mismatch");
	pair_close(&p);
	CHECK(client_pair(&p, srv, ca, "10.0.0.1", alpn_both) == -1);
	CHECK_STR(fa_tls_verify_error(p.cli), "IP address mismatch");
	pair_close(&p);
	/* insecure: anything goes */
	CHECK(client_pair(&p, srv, insecure, "other.example", alpn_both) == 1);
	CHECK(fa_tls_verify_error(p.cli) == NULL);
	pair_close(&p);
	/* mistakes */
	/* resumption: a session came with the last connection, and the
	   next one resumes it once the server's ticket has been read */
	CHECK(client_pair(&p, srv, ca, "localhost", alpn_both) == 1);
	{
		char b[1];
		int want;

		CHECK(fa_tls_write(p.srv, "x", 1, &want) == 1);
		CHECK(fa_tls_read(p.cli, b, 1, &want) == 1);   /* the ticket comes first */
	}
	CHECK(resume_slot != NULL);
	CHECK(!SSL_session_reused(p.cli));
	pair_close(&p);
	CHECK(client_pair(&p, srv, ca, "localhost", alpn_both) == 1);
	CHECK(SSL_session_reused(p.cli), "the session was not resumed");
	pair_close(&p);
	SSL_SESSION_free(resume_slot);
	resume_slot = NULL;
	CHECK(fa_tls_client_conn_new(ca, 0, "localhost", bad, NULL, &err) == NULL &&
	      err.code == FA_EUSAGE);
	CHECK_STR(err.msg, "unknown ALPN protocol 'spdy/3' (h2 and http/1.1 are known)");
	CHECK(fa_tls_client_new(&(struct fa_tls_client_opts){ .ca_file = "none.crt" }, &err) ==
	      NULL && err.code == FA_EUSAGE);
	CHECK(strncmp(err.msg, "cannot load CA file 'none.crt': ", 32) == 0, "%s", err.msg);
	CHECK(fa_tls_reload(ca, &err) == FA_OK);
	CHECK_STR(fa_tls_fingerprint(ca), "");
	CHECK(fa_tls_write_pem(ca, "x.crt", "x.key", &err) == FA_EUSAGE);
	fa_tls_free(sys);
	fa_tls_free(ca);
	fa_tls_free(insecure);
	fa_tls_free(srv);
}

static void cleanup(const char *dir)
{
	static const char *const names[] = { "cli.crt", "cli.key", "ss.crt", "ss.key", "a.crt",
		"a.key", "b.crt", "b.key", "both.pem", "enc.key", "junk.pem",
		"live.crt", "live.key" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		unlink(names[i]);
	CHECK(chdir("/") == 0 && rmdir(dir) == 0, "cannot remove %s", dir);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/test_tls.XXXXXX";

	rnd_seed("test_tls", argc, argv);
	signal(SIGPIPE, SIG_IGN);       /* as lib/http/tls.h asks */
	if (!mkdtemp(dir) || chdir(dir) != 0) {
		perror(dir);
		return 1;
	}
	RUN(test_alpn);
	RUN(test_exchange);
	RUN(test_close);
	RUN(test_garbage);
	RUN(test_versions);
	RUN(test_self_signed);
	RUN(test_resumption);
	RUN(test_files);
	RUN(test_bad_files);
	RUN(test_reload);
	RUN(test_reload_threads);
	RUN(test_client);
	cleanup(dir);
	return check_report("test_tls");
}
