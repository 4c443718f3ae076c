/*
 * tls: the server side of TLS 1.2 and 1.3 (OpenSSL) for nonblocking
 * sockets, with ALPN for HTTP/2 and certificate reload.
 *
 * One struct fa_tls holds the certificate, the settings and the session
 * cache; every worker thread shares it and makes one SSL per accepted
 * socket.  The I/O helpers never block and share one convention: bytes
 * (>0); 0 when the peer closed (close_notify, or EOF without it); or
 * -1 with *want saying which readiness to wait for, FA_TLS_WANT_READ or
 * FA_TLS_WANT_WRITE, and *want = 0 when the connection failed for good.
 *
 *	struct fa_tls *tls = fa_tls_new(&opts, &err);	(once, at start)
 *	SSL *ssl = fa_tls_conn_new(tls, fd, &err);	(per accepted fd)
 *	n = fa_tls_read(ssl, buf, sizeof(buf), &want);	(handshakes too)
 *	if (n < 0 && want) wait for want on fd, then call again;
 *	proto = fa_tls_alpn(ssl);		("h2"; "http/1.1" or NULL: 1.1)
 *	fa_tls_conn_free(ssl); close(fd);
 *
 * OpenSSL takes whole records off the socket, so after a read it may hold
 * bytes the fd no longer shows: read until -1 with FA_TLS_WANT_READ before
 * waiting for readability.  A write that asked to wait must be retried
 * with the same bytes (they may have moved, and more may follow them).
 * OpenSSL writes with write(2), so the process must ignore SIGPIPE.
 *
 * fa_tls_reload() (SIGHUP, from any thread) reads the files again into a
 * new context and switches to it only if all of it loaded; connections
 * already open keep the context they started with.  TLS session tickets
 * stay valid across a reload.
 *
 * The client side (hclient) shares the type and the I/O helpers: one
 * context from fa_tls_client_new() holds the trusted CAs and is shared by
 * every connection of a program, fa_tls_client_conn_new() starts one with
 * SNI, the name to verify and the ALPN offer, and the handshake runs with
 * fa_tls_handshake() as on the server.  After a failed handshake
 * fa_tls_verify_error() says why the certificate was refused.
 */
#ifndef FA_TLS_H
#define FA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "core/err.h"

enum { FA_TLS_WANT_READ = 1, FA_TLS_WANT_WRITE = 2 };

/* "AA:BB:..." for a SHA-256 digest, with its NUL. */
#define FA_TLS_FINGERPRINT_SIZE 96

struct fa_tls_opts {
	const char *cert_file;  /* PEM: the certificate, then its chain */
	const char *key_file;   /* PEM private key; NULL: in cert_file */
	bool self_signed;       /* no files: a throwaway cert for localhost */
	const char *const *alpn; /* "h2", "http/1.1" in preference order,
				    NULL-terminated; NULL: no ALPN */
};

struct fa_tls;

/*
 * Makes a server context from o: loads and checks the files, or makes a
 * self-signed certificate (EC P-256, CN and DNS localhost, IP 127.0.0.1
 * and ::1, valid from an hour ago for 30 days).  NULL on error, with
 * FA_EUSAGE naming the file that would not load or match, or a protocol
 * in o->alpn other than "h2" and "http/1.1".
 */
struct fa_tls *fa_tls_new(const struct fa_tls_opts *o, struct fa_error *err);

/*
 * Loads cert_file and key_file again and switches to them if they load
 * and match; otherwise says why and keeps the old ones.  Safe while other
 * threads call fa_tls_conn_new().  A self-signed context is kept: FA_OK.
 */
enum fa_err fa_tls_reload(struct fa_tls *tls, struct fa_error *err);

/*
 * The SHA-256 fingerprint of the certificate in use, as openssl x509
 * -fingerprint -sha256 prints it after the '='.  tls owns the string;
 * it changes at the next successful reload, so read it on that thread.
 */
const char *fa_tls_fingerprint(struct fa_tls *tls);

/*
 * Saves the certificate in use (the leaf, without its chain) to cert_path
 * and its key to key_path (mode 0600), both PEM, so that a self-signed
 * certificate can be handed to clients.  FA_EUSAGE naming a file that
 * cannot be written.
 */
enum fa_err fa_tls_write_pem(struct fa_tls *tls, const char *cert_path,
			     const char *key_path, struct fa_error *err);

/* The client's settings: whom to trust. */
struct fa_tls_client_opts {
	const char *ca_file;    /* PEM CA certificates; NULL: the system store */
	bool insecure;          /* verify nothing (curl -k): tests, never production */
};

/*
 * A client context from o.  NULL on error, with FA_EUSAGE naming a CA
 * file that would not load.  fa_tls_reload() of it does nothing, and it
 * has no certificate to fingerprint or write.
 */
struct fa_tls *fa_tls_client_new(const struct fa_tls_client_opts *o, struct fa_error *err);

/*
 * A client connection on the nonblocking socket fd (connected, or still
 * connecting) to host: a DNS name goes out as SNI and must match the
 * certificate, an IP address must be in its subjectAltName.  alpn is the
 * offer in preference order ("h2", "http/1.1"), NULL-terminated; NULL or
 * empty: no ALPN.  session, if not NULL, is the caller's slot for TLS
 * session resumption: a session in it is offered, and each session the
 * server issues on this connection replaces it (the slot holds one
 * reference; SSL_SESSION_free() it when done, after the connection).
 * The caller owns the connection, as with fa_tls_conn_new().  NULL with
 * FA_EUSAGE for an unknown protocol, FA_ENOMEM when OpenSSL cannot make
 * one.
 */
SSL *fa_tls_client_conn_new(struct fa_tls *tls, int fd, const char *host, const char *const *alpn,
			    SSL_SESSION **session, struct fa_error *err);

/*
 * Why the server's certificate was refused ("self-signed certificate",
 * "hostname mismatch", "certificate has expired"), or NULL when it was
 * not (or not yet checked).
 */
const char *fa_tls_verify_error(SSL *ssl);

/* Frees the context; free its connections first (ALPN looks at it). */
void fa_tls_free(struct fa_tls *tls);

/*
 * A server connection on the nonblocking socket fd, using the current
 * certificate.  The caller owns it: fa_tls_conn_free(), then close(fd).
 * NULL with FA_ENOMEM if OpenSSL cannot make one.
 */
SSL *fa_tls_conn_new(struct fa_tls *tls, int fd, struct fa_error *err);

/*
 * Runs the handshake as far as the socket allows: 1 when done, 0 to be
 * called again when *want is ready, -1 when it failed (or the peer left).
 * Optional: the first fa_tls_read() or fa_tls_write() does it too.
 */
int fa_tls_handshake(SSL *ssl, int *want);

/* Reads at most n bytes into buf; the result convention is above. */
ssize_t fa_tls_read(SSL *ssl, void *buf, size_t n, int *want);

/*
 * Writes part or all of buf[0..n), n > 0, and says how much; whole
 * records only, so a short count just means the socket is full.
 */
ssize_t fa_tls_write(SSL *ssl, const void *buf, size_t n, int *want);

/* The protocol ALPN chose: "h2", "http/1.1", or NULL when none was. */
const char *fa_tls_alpn(SSL *ssl);

/*
 * Why the last call on ssl failed for good, e.g. "unsupported protocol"
 * or "I/O error" (then errno says more), or NULL if none has.  For logs.
 */
const char *fa_tls_conn_error(SSL *ssl);

/*
 * Sends close_notify if the socket takes it at once, then frees ssl.
 * The fd stays open.  NULL is ignored.
 */
void fa_tls_conn_free(SSL *ssl);

#endif
