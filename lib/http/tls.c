#include "http/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ECDHE with AEAD ciphers only; TLS 1.3 suites are OpenSSL's defaults. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define SELF_SIGNED_SAN "DNS:localhost,IP:127.0.0.1,IP:::1"
#define SELF_SIGNED_DAYS 30

/* The protocols fa_tls_alpn() can name; the selection is not NUL-ended. */
static const char *const known_alpn[] = { "h2", "http/1.1" };

struct fa_tls {
	pthread_mutex_t lock;   /* guards ctx and fingerprint */
	SSL_CTX *ctx;           /* for new connections */
	char fingerprint[FA_TLS_FINGERPRINT_SIZE];
	char *cert_file, *key_file;
	bool self_signed;
	bool client;            /* fa_tls_client_new(): no certificate */
	unsigned char alpn[32]; /* the preference list, in ALPN wire format */
	unsigned alpn_len;
};

/*
 * SSL ex_data slot for the reason a connection failed.  Process-wide but
 * written once, before any connection exists (pthread_once).
 */
static pthread_once_t why_once = PTHREAD_ONCE_INIT;
static int why_index = -1;
static int session_index = -1;  /* a client's SSL_SESSION ** for resumption */

static void make_why_index(void)
{
	why_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	session_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The first OpenSSL error queued on this thread, as text; clears them all. */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (!e)
		snprintf(buf, size, "unknown OpenSSL error");
	else if (ERR_SYSTEM_ERROR(e))
		snprintf(buf, size, "%s", strerror(ERR_GET_REASON(e)));
	else if (r)
		snprintf(buf, size, "%s", r);
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* fa_error_set() with ": " and the OpenSSL reason after the message. */
static enum fa_err ssl_error(struct fa_error *err, enum fa_err code,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum fa_err ssl_error(struct fa_error *err, enum fa_err code,
			     const char *fmt, ...)
{
	char what[512], why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fa_error_set(err, code, "%s: %s", what,
			    ssl_reason(why, sizeof(why)));
}

/* Picks the first protocol of the server's list that the client offers. */
static int select_alpn(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	const struct fa_tls *tls = arg;
	const unsigned char *p, *c, *end = in + inlen;

	for (p = tls->alpn; p < tls->alpn + tls->alpn_len; p += 1 + p[0]) {
		for (c = in; c < end && c[0] <= end - c - 1; c += 1 + c[0]) {
			if (c[0] == p[0] && memcmp(c + 1, p + 1, p[0]) == 0) {
				*out = c + 1;
				*outlen = c[0];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_NOACK;    /* go on without ALPN */
}

/* Encodes the NULL-terminated list into out[0..*len) in ALPN wire
   format; only known names. */
static enum fa_err encode_alpn(const char *const *list, unsigned char *out,
			       size_t cap, unsigned *outlen,
			       struct fa_error *err)
{
	size_t i, k, len;

	*outlen = 0;
	for (i = 0; list && list[i]; i++) {
		for (k = 0; k < sizeof(known_alpn) / sizeof(*known_alpn); k++)
			if (strcmp(list[i], known_alpn[k]) == 0)
				break;
		if (k == sizeof(known_alpn) / sizeof(*known_alpn))
			return fa_error_set(err, FA_EUSAGE,
					    "unknown ALPN protocol '%s' "
					    "(h2 and http/1.1 are known)",
					    list[i]);
		len = strlen(list[i]);
		if (*outlen + 1 + len > cap)
			return fa_error_set(err, FA_EUSAGE,
					    "too many ALPN protocols");
		out[*outlen] = (unsigned char)len;
		memcpy(out + *outlen + 1, list[i], len);
		*outlen += 1 + (unsigned)len;
	}
	return FA_OK;
}

static enum fa_err set_alpn(struct fa_tls *tls, const char *const *list,
			    struct fa_error *err)
{
	return encode_alpn(list, tls->alpn, sizeof(tls->alpn), &tls->alpn_len,
			   err);
}

/* A server SSL_CTX with fa's settings and no certificate yet. */
static SSL_CTX *new_ctx(struct fa_tls *tls, struct fa_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_error(err, FA_EWORK, "cannot set TLS 1.2 ciphers");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls->alpn_len)
		SSL_CTX_set_alpn_select_cb(ctx, select_alpn, tls);
	return ctx;
}

/* Keeps PEM_read from asking a terminal for a passphrase; notes the ask. */
static int no_password(char *buf, int size, int rwflag, void *asked)
{
	*(int *)asked = 1;
	return -1;
}

/* Reads the private key in path, or says why not. */
static EVP_PKEY *read_key(const char *path, struct fa_error *err)
{
	BIO *in = BIO_new_file(path, "r");
	EVP_PKEY *key = NULL;
	unsigned long e;
	int asked = 0;

	if (in)
		key = PEM_read_bio_PrivateKey(in, NULL, no_password, &asked);
	BIO_free(in);
	if (key)
		return key;
	e = ERR_peek_error();
	if (asked || (ERR_GET_LIB(e) == ERR_LIB_OSSL_DECODER &&
		      ERR_GET_REASON(e) == ERR_R_UNSUPPORTED)) {
		/* OpenSSL says "bad password read" or "unsupported" */
		fa_error_set(err, FA_EUSAGE, "cannot load key '%s': %s", path,
			     asked ? "encrypted keys are not supported"
				   : "no PEM private key found");
		ERR_clear_error();
	} else {
		ssl_error(err, FA_EUSAGE, "cannot load key '%s'", path);
	}
	return NULL;
}

/* Loads tls's key file into ctx, which holds the certificate already. */
static enum fa_err load_key(struct fa_tls *tls, SSL_CTX *ctx,
			    struct fa_error *err)
{
	EVP_PKEY *key = read_key(tls->key_file, err);
	enum fa_err rc = FA_OK;

	if (!key)
		return err->code;
	if (!X509_check_private_key(SSL_CTX_get0_certificate(ctx), key)) {
		ERR_clear_error();
		rc = fa_error_set(err, FA_EUSAGE,
				  "key '%s' does not match certificate '%s'",
				  tls->key_file, tls->cert_file);
	} else if (!SSL_CTX_use_PrivateKey(ctx, key)) {
		rc = ssl_error(err, FA_EUSAGE, "cannot use key '%s'",
			       tls->key_file);
	}
	EVP_PKEY_free(key);
	return rc;
}

/* Loads the certificate chain and key files into ctx. */
static enum fa_err load_files(struct fa_tls *tls, SSL_CTX *ctx,
			      struct fa_error *err)
{
	if (!SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file))
		return ssl_error(err, FA_EUSAGE, "cannot load certificate '%s'",
				 tls->cert_file);
	return load_key(tls, ctx, err);
}

/* A random positive 127-bit serial number for x. */
static int set_serial(X509 *x)
{
	BIGNUM *serial = BN_new();
	int ok = serial &&
		 BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		 BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x));

	BN_free(serial);
	return ok;
}

/* Adds the extension nid with value (openssl.cnf syntax) to x. */
static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Fills in x's fields for key, as described for fa_tls_new(), and signs. */
static int build_cert(X509 *x, EVP_PKEY *key)
{
	static const unsigned char localhost[] = "localhost";
	X509_NAME *name = X509_get_subject_name(x);
	long days = SELF_SIGNED_DAYS * 86400L;

	return set_serial(x) && X509_set_version(x, X509_VERSION_3) &&
	       X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	       X509_gmtime_adj(X509_getm_notAfter(x), days) &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, localhost,
					  -1, -1, 0) &&
	       X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	       add_ext(x, NID_subject_alt_name, SELF_SIGNED_SAN) &&
	       add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	       X509_sign(x, key, EVP_sha256()) > 0;
}

/* Makes a throwaway key and certificate for localhost, for ctx. */
static enum fa_err make_self_signed(SSL_CTX *ctx, struct fa_error *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = key ? X509_new() : NULL;
	enum fa_err rc = FA_OK;

	if (!x || !build_cert(x, key) || !SSL_CTX_use_certificate(ctx, x) ||
	    !SSL_CTX_use_PrivateKey(ctx, key))
		rc = ssl_error(err, FA_EWORK,
			       "cannot make a self-signed certificate");
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Writes ctx's certificate's SHA-256 fingerprint, "AB:CD:...", to out. */
static void fingerprint(SSL_CTX *ctx, char out[FA_TLS_FINGERPRINT_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned i, len = 0;

	out[0] = '\0';
	if (!X509_digest(SSL_CTX_get0_certificate(ctx), EVP_sha256(), md,
			 &len))
		ERR_clear_error();
	for (i = 0; i < len && 3 * i + 3 <= FA_TLS_FINGERPRINT_SIZE; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < len ? ":" : "");
}

/* A complete context: settings, then the files or a self-signed pair. */
static SSL_CTX *build_ctx(struct fa_tls *tls,
			  char fp[FA_TLS_FINGERPRINT_SIZE],
			  struct fa_error *err)
{
	SSL_CTX *ctx = new_ctx(tls, err);
	enum fa_err rc;

	if (!ctx)
		return NULL;
	rc = tls->self_signed ? make_self_signed(ctx, err)
			      : load_files(tls, ctx, err);
	if (rc != FA_OK) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	fingerprint(ctx, fp);
	return ctx;
}

/* The current context, with a reference the caller drops (SSL_CTX_free). */
static SSL_CTX *current_ctx(struct fa_tls *tls)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&tls->lock);
	ctx = tls->ctx;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&tls->lock);
	return ctx;
}

/* Lets tickets issued under from resume under to. */
static void copy_ticket_keys(SSL_CTX *from, SSL_CTX *to)
{
	unsigned char keys[80];         /* name, HMAC and AES keys */

	if (SSL_CTX_get_tlsext_ticket_keys(from, keys, sizeof(keys)) <= 0 ||
	    SSL_CTX_set_tlsext_ticket_keys(to, keys, sizeof(keys)) <= 0)
		ERR_clear_error();      /* tickets just will not resume */
	OPENSSL_cleanse(keys, sizeof(keys));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct fa_tls *fa_tls_new(const struct fa_tls_opts *o, struct fa_error *err)
{
	struct fa_tls *tls;

	if (!o->self_signed && !o->cert_file) {
		fa_error_set(err, FA_EUSAGE, "no certificate file given");
		return NULL;
	}
	tls = calloc(1, sizeof(*tls));
	if (!tls) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_once(&why_once, make_why_index);
	pthread_mutex_init(&tls->lock, NULL);
	tls->self_signed = o->self_signed;
	tls->cert_file = dup_or_null(o->self_signed ? NULL : o->cert_file);
	tls->key_file = dup_or_null(o->self_signed ? NULL :
				    o->key_file ? o->key_file : o->cert_file);
	if (!o->self_signed && (!tls->cert_file || !tls->key_file))
		fa_error_set(err, FA_ENOMEM, "out of memory");
	else if (set_alpn(tls, o->alpn, err) == FA_OK)
		tls->ctx = build_ctx(tls, tls->fingerprint, err);
	if (!tls->ctx) {
		fa_tls_free(tls);
		return NULL;
	}
	return tls;
}

enum fa_err fa_tls_reload(struct fa_tls *tls, struct fa_error *err)
{
	char fp[FA_TLS_FINGERPRINT_SIZE];
	SSL_CTX *ctx, *old;

	if (tls->self_signed || tls->client)
		return FA_OK;
	ctx = build_ctx(tls, fp, err);
	if (!ctx)
		return err->code;
	old = current_ctx(tls);
	copy_ticket_keys(old, ctx);
	SSL_CTX_free(old);
	pthread_mutex_lock(&tls->lock);
	old = tls->ctx;
	tls->ctx = ctx;
	memcpy(tls->fingerprint, fp, sizeof(fp));
	pthread_mutex_unlock(&tls->lock);
	SSL_CTX_free(old);      /* lives on while its connections do */
	return FA_OK;
}

const char *fa_tls_fingerprint(struct fa_tls *tls)
{
	return tls->fingerprint;
}

/* Creates path with mode and writes one PEM object with put(). */
static enum fa_err write_file(const char *path, mode_t mode,
			      int (*put)(FILE *, void *), void *obj,
			      struct fa_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;

	if (!f) {
		fa_error_set(err, FA_EUSAGE, "cannot write '%s': %s", path,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return FA_EUSAGE;
	}
	ok = put(f, obj);
	if (fclose(f) != 0 && ok)
		return fa_error_set(err, FA_EUSAGE, "cannot write '%s': %s",
				    path, strerror(errno));
	if (!ok)
		return ssl_error(err, FA_EUSAGE, "cannot write '%s'", path);
	return FA_OK;
}

static int put_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

static int put_key(FILE *f, void *key)
{
	return PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
}

enum fa_err fa_tls_write_pem(struct fa_tls *tls, const char *cert_path,
			     const char *key_path, struct fa_error *err)
{
	SSL_CTX *ctx;
	enum fa_err rc;

	if (tls->client)
		return fa_error_set(err, FA_EUSAGE, "a client TLS context "
				    "has no certificate to write");
	ctx = current_ctx(tls);
	rc = write_file(cert_path, 0644, put_cert,
			SSL_CTX_get0_certificate(ctx), err);
	if (rc == FA_OK)
		rc = write_file(key_path, 0600, put_key,
				SSL_CTX_get0_privatekey(ctx), err);
	SSL_CTX_free(ctx);
	return rc;
}

void fa_tls_free(struct fa_tls *tls)
{
	if (!tls)
		return;
	SSL_CTX_free(tls->ctx);
	pthread_mutex_destroy(&tls->lock);
	free(tls->cert_file);
	free(tls->key_file);
	free(tls);
}

SSL *fa_tls_conn_new(struct fa_tls *tls, int fd, struct fa_error *err)
{
	SSL_CTX *ctx = current_ctx(tls);
	SSL *ssl;

	ERR_clear_error();
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);      /* ssl holds its own reference */
	if (!ssl) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS connection");
		return NULL;
	}
	if (!SSL_set_fd(ssl, fd)) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS connection");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/*
 * Maps a failed OpenSSL call's rc to the I/O convention.  A fatal error
 * is remembered for fa_tls_conn_error(), which also rules out sending
 * close_notify (OpenSSL forbids SSL_shutdown after one).
 */
static ssize_t io_result(SSL *ssl, int rc, int *want)
{
	int e = SSL_get_error(ssl, rc), saved;
	const char *why;

	*want = 0;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want = FA_TLS_WANT_READ;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = FA_TLS_WANT_WRITE;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	}
	saved = errno;
	why = e == SSL_ERROR_SYSCALL ? "I/O error" : "TLS error";
	if (e == SSL_ERROR_SSL && ERR_reason_error_string(ERR_peek_error()))
		why = ERR_reason_error_string(ERR_peek_error());
	SSL_set_ex_data(ssl, why_index, (void *)why);
	ERR_clear_error();
	errno = saved;
	return -1;
}

int fa_tls_handshake(SSL *ssl, int *want)
{
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(ssl);
	if (rc == 1)
		return 1;
	if (io_result(ssl, rc, want) < 0 && *want)
		return 0;
	if (!fa_tls_conn_error(ssl))
		SSL_set_ex_data(ssl, why_index, "peer closed during handshake");
	return -1;
}

ssize_t fa_tls_read(SSL *ssl, void *buf, size_t n, int *want)
{
	size_t got = 0;
	int rc;

	ERR_clear_error();
	rc = SSL_read_ex(ssl, buf, n, &got);
	if (rc == 1) {
		*want = 0;
		return (ssize_t)got;
	}
	return io_result(ssl, rc, want);
}

ssize_t fa_tls_write(SSL *ssl, const void *buf, size_t n, int *want)
{
	size_t put = 0;
	int rc;

	ERR_clear_error();
	rc = SSL_write_ex(ssl, buf, n, &put);
	if (rc == 1) {
		*want = 0;
		return (ssize_t)put;
	}
	return io_result(ssl, rc, want);
}

const char *fa_tls_alpn(SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned len = 0;
	size_t k;

	SSL_get0_alpn_selected(ssl, &p, &len);
	for (k = 0; p && k < sizeof(known_alpn) / sizeof(*known_alpn); k++)
		if (strlen(known_alpn[k]) == len &&
		    memcmp(p, known_alpn[k], len) == 0)
			return known_alpn[k];
	return NULL;
}

const char *fa_tls_conn_error(SSL *ssl)
{
	return why_index < 0 ? NULL : SSL_get_ex_data(ssl, why_index);
}

void fa_tls_conn_free(SSL *ssl)
{
	if (!ssl)
		return;
	ERR_clear_error();
	if (SSL_is_init_finished(ssl) && !fa_tls_conn_error(ssl))
		SSL_shutdown(ssl);      /* once: we do not wait for the reply */
	ERR_clear_error();
	SSL_free(ssl);
}

/* ---- the client side ---- */

/* A session the server issued: into the connection's slot, if it has one. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	SSL_SESSION **slot = SSL_get_ex_data(ssl, session_index);

	if (!slot)
		return 0;               /* OpenSSL frees it */
	SSL_SESSION_free(*slot);
	*slot = sess;
	return 1;                       /* the reference is the slot's now */
}

/* A client SSL_CTX: TLS 1.2 or later, the same TLS 1.2 ciphers as the
   server, verification against o's CAs unless o->insecure. */
static SSL_CTX *new_client_ctx(const struct fa_tls_client_opts *o,
			       struct fa_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_error(err, FA_EWORK, "cannot set TLS 1.2 ciphers");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
			   NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
				       SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
	if (o->insecure)
		return ctx;
	if (o->ca_file ? !SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL)
		       : !SSL_CTX_set_default_verify_paths(ctx)) {
		if (o->ca_file)
			ssl_error(err, FA_EUSAGE, "cannot load CA file '%s'",
				  o->ca_file);
		else
			ssl_error(err, FA_EUSAGE, "cannot load the system's "
				  "CA certificates");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct fa_tls *fa_tls_client_new(const struct fa_tls_client_opts *o,
				 struct fa_error *err)
{
	struct fa_tls *tls = calloc(1, sizeof(*tls));

	if (!tls) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_once(&why_once, make_why_index);
	pthread_mutex_init(&tls->lock, NULL);
	tls->client = true;
	ERR_clear_error();
	tls->ctx = new_client_ctx(o, err);
	if (!tls->ctx) {
		fa_tls_free(tls);
		return NULL;
	}
	return tls;
}

/* Sets what ssl verifies: host as an IP address, or as a DNS name that
   also goes out as SNI. */
static int set_peer_name(SSL *ssl, const char *host)
{
	unsigned char ip[16];

	if (inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	return SSL_set_tlsext_host_name(ssl, host) && SSL_set1_host(ssl, host);
}

SSL *fa_tls_client_conn_new(struct fa_tls *tls, int fd, const char *host,
			    const char *const *alpn, SSL_SESSION **session,
			    struct fa_error *err)
{
	unsigned char wire[32];
	unsigned len;
	SSL *ssl;

	if (encode_alpn(alpn, wire, sizeof(wire), &len, err) != FA_OK)
		return NULL;
	ERR_clear_error();
	ssl = SSL_new(tls->ctx);
	if (!ssl) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS connection");
		return NULL;
	}
	if (!SSL_set_fd(ssl, fd) || !set_peer_name(ssl, host) ||
	    (len && SSL_set_alpn_protos(ssl, wire, len) != 0) ||
	    (session && !SSL_set_ex_data(ssl, session_index, session)) ||
	    (session && *session && !SSL_set_session(ssl, *session))) {
		ssl_error(err, FA_ENOMEM, "cannot create TLS connection");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

const char *fa_tls_verify_error(SSL *ssl)
{
	long r = SSL_get_verify_result(ssl);

	if (r == X509_V_OK || SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE)
		return NULL;
	return X509_verify_cert_error_string(r);
}
