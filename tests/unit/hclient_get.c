/*
 * hclient_get: a small driver of lib/http/hclient for tests/hclient.bats
 * and for measuring it against h2load and wrk.  Closed loop: C clients
 * (connections), each keeping up to M requests in flight (HTTP/2 streams;
 * over HTTP/1.1 they queue), until N requests have ended.
 *
 * usage: hclient_get [options] URL
 *   --proto auto|h1|h2|h3   the protocol (default auto)
 *   --ca FILE            CA certificates to trust
 *   -k, --insecure       no certificate verification
 *   -n N                 requests in all (default 1)
 *   -c C                 clients, one connection each (default 1)
 *   -m M                 requests in flight per client, and max_streams (default 1)
 *   -X METHOD, -d BODY, -H 'Name: value' (up to 8)
 *   --timeout MS         each request's timeout
 *   --stream             print body bytes as they come (on_data)
 *   --until TEXT         with --stream: once TEXT came, free the client from
 *                        inside on_data (as a caller that has seen enough
 *                        would), and exit 0
 *   -q                   print no bodies
 *
 * stdout: the bodies of successful responses, each ending in a newline
 * (unless -q); stderr: one
 * line per failed request, "error E: msg", and at the end
 * "done ok=N failed=F proto=P status=S seconds=T rate=R" (S: the
 * last status).  Exits 0 when every request succeeded, else the code of
 * the first failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "http/hclient.h"
#include "http/tls.h"

struct job {
	struct fa_hclient_req rq;
	int client;
};

static struct fa_hclient **clients;
static int nclients, total, started, ended, ok, failed, first_rc, last_status;
static bool quiet, stream, stop;
static const char *until, *method = "GET", *body;
static struct fa_h1_header hdrs[8];
static int nhdrs;
static char target[4096];
static char seen[256];          /* the tail of the stream, for --until */
static enum fa_hproto proto;    /* of the last response */

static void next(struct job *j);

static void on_data(struct fa_hclient_req *rq, const char *p, size_t n)
{
	struct job *j = (struct job *)rq;
	size_t keep = strlen(seen), add = n < sizeof(seen) - 1 ? n : sizeof(seen) - 1;

	if (!quiet)
		fwrite(p, 1, n, stdout), fflush(stdout);
	if (!until)
		return;
	if (keep + add >= sizeof(seen))
		memmove(seen, seen + keep + add - (sizeof(seen) - 1), sizeof(seen) - 1 - add),
			keep = sizeof(seen) - 1 - add;
	memcpy(seen + keep, p + n - add, add);
	seen[keep + add] = '\0';
	if (strstr(seen, until) && !stop) {
		stop = true;
		proto = fa_hclient_proto(clients[j->client]);
		fa_hclient_free(clients[j->client]);    /* on_done(FA_EINTR) comes at once */
		clients[j->client] = NULL;
	}
}

static void on_done(struct fa_hclient_req *rq, const struct fa_hclient_res *res,
		    enum fa_err rc, const char *msg)
{
	struct job *j = (struct job *)rq;

	ended++;
	last_status = res->status;
	if (clients[j->client])
		proto = fa_hclient_proto(clients[j->client]);
	if (rc == FA_OK) {
		ok++;
		if (!quiet && !stream) {
			fwrite(res->body, 1, res->body_len, stdout);
			if (res->body_len && res->body[res->body_len - 1] != '\n')
				putchar('\n');
		}
	} else if (!(stop && rc == FA_EINTR)) {
		failed++;
		if (!first_rc)
			first_rc = rc;
		fprintf(stderr, "error %d: %s\n", rc, msg);
	}
	if (!stop)
		next(j);
}

static void next(struct job *j)
{
	if (started == total || !clients[j->client])
		return;
	started++;
	j->rq = (struct fa_hclient_req){ .method = method, .target = target,
					 .headers = hdrs, .nheaders = nhdrs,
					 .body = body, .body_len = body ? strlen(body) : 0,
					 .stream = stream, .on_data = on_data,
					 .on_done = on_done };
	fa_hclient_request(clients[j->client], &j->rq);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: hclient_get [--proto auto|h1|h2|h3] [--ca FILE] [-k] [-n N] "
			"[-c C] [-m M] [-X METHOD] [-d BODY] [-H FIELD] [--timeout MS] "
			"[--stream] [--until TEXT] [-q] URL\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct fa_hclient_opts o = { 0 };
	struct fa_error err;
	struct fa_loop *loop;
	struct fa_tls *tls = NULL;
	struct fa_url u;
	struct job *jobs;
	const char *url = NULL;
	int i, m = 1;
	double t0;

	total = 1;
	nclients = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-k") || !strcmp(a, "--insecure")) {
			o.insecure = true;
		} else if (!strcmp(a, "-q")) {
			quiet = true;
		} else if (!strcmp(a, "--stream")) {
			stream = true;
		} else if (a[0] == '-' && a[1] && !v) {
			return usage();
		} else if (!strcmp(a, "--proto")) {
			o.proto = !strcmp(v, "h1") ? FA_HPROTO_H1 : !strcmp(v, "h2") ? FA_HPROTO_H2
				: !strcmp(v, "h3") ? FA_HPROTO_H3 : !strcmp(v, "auto") ? FA_HPROTO_AUTO : (enum fa_hproto)-1;
			i++;
		} else if (!strcmp(a, "--ca")) {
			o.ca_file = argv[++i];
		} else if (!strcmp(a, "-n")) {
			total = atoi(argv[++i]);
		} else if (!strcmp(a, "-c")) {
			nclients = atoi(argv[++i]);
		} else if (!strcmp(a, "-m")) {
			m = atoi(argv[++i]);
		} else if (!strcmp(a, "-X")) {
			method = argv[++i];
		} else if (!strcmp(a, "-d")) {
			body = argv[++i];
		} else if (!strcmp(a, "--timeout")) {
			o.timeout_ms = atoi(argv[++i]);
		} else if (!strcmp(a, "--until")) {
			until = argv[++i];
		} else if (!strcmp(a, "-H") && nhdrs < 8) {
			const char *colon = strchr(v, ':');

			if (!colon)
				return usage();
			hdrs[nhdrs].name = v;
			hdrs[nhdrs].name_len = (size_t)(colon - v);
			hdrs[nhdrs].value = colon + 1 + strspn(colon + 1, " ");
			hdrs[nhdrs].value_len = strlen(hdrs[nhdrs].value);
			nhdrs++;
			i++;
		} else if (a[0] == '-' || url) {
			return usage();
		} else {
			url = a;
		}
	}
	if (!url || total < 1 || nclients < 1 || m < 1)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	o.max_streams = m;
	if (fa_url_parse(url, &u, &err) != FA_OK || !(loop = fa_loop_new(&err))) {
		fprintf(stderr, "hclient_get: %s\n", err.msg);
		return err.code;
	}
	snprintf(target, sizeof(target), "%s", u.target);
	if (nclients > 1 && !strcmp(u.scheme, "https")) {
		tls = fa_tls_client_new(&(struct fa_tls_client_opts){ .ca_file = o.ca_file,
								      .insecure = o.insecure },
					&err);
		if (!tls) {
			fprintf(stderr, "hclient_get: %s\n", err.msg);
			fa_loop_free(loop);
			return err.code;
		}
		o.tls = tls;
	}
	clients = calloc((size_t)nclients, sizeof(*clients));
	jobs = calloc((size_t)nclients * (size_t)m, sizeof(*jobs));
	for (i = 0; i < nclients; i++)
		if (!(clients[i] = fa_hclient_new(loop, &u, &o, &err))) {
			fprintf(stderr, "hclient_get: %s\n", err.msg);
			while (i-- > 0)
				fa_hclient_free(clients[i]);
			free(clients);
			free(jobs);
			fa_tls_free(tls);
			fa_loop_free(loop);
			return err.code;
		}
	t0 = seconds();
	for (i = 0; i < nclients * m; i++) {
		jobs[i].client = i % nclients;
		next(&jobs[i]);
	}
	while (ended < started && !stop)
		fa_loop_run_once(loop, 100);
	t0 = seconds() - t0;
	fflush(stdout);
	fprintf(stderr, "done ok=%d failed=%d proto=%s status=%d seconds=%.3f rate=%.0f\n", ok,
		failed, fa_hproto_name(proto), last_status, t0,
		(double)(ok + failed) / t0);
	for (i = 0; i < nclients; i++)
		fa_hclient_free(clients[i]);
	free(clients);
	free(jobs);
	fa_tls_free(tls);
	fa_loop_free(loop);
	return failed ? first_rc : 0;
}
