/*
 * fa-copy in: files (or stdin) into a table through the load engine.
 * Compression is detected from the first bytes; each input file is its
 * own load (its own header, line numbers and resume batches).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pg/copyin.h"
#include "facopy.h"
#include "core/json.h"
#include "core/stats.h"

#define READ_CHUNK (1u << 20)

/* Where the engine's callbacks write: rejected records, notices. */
struct sinks {
	FILE *rows, *log;               /* --rejects FILE and FILE.log */
	const char *file;               /* the input the records came from */
	bool bar;                       /* a progress bar shares the terminal line */
};

/* One input: its name, its descriptor, how much of it was read. */
struct input {
	const char *name;
	int fd;
	uint64_t size;                  /* 0 when unknown (a pipe) */
	volatile uint64_t read;
};

struct progress {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int kind;                       /* 1 bar, 2 ndjson */
	struct fa_copyin *load;
	struct input *in;
	uint64_t t0;
};

static void on_reject(void *ctx, uint64_t line, const char *rec, size_t len,
		      const char *sqlstate, const char *message)
{
	struct sinks *r = ctx;
	struct fa_buf b;

	fwrite(rec, 1, len, r->rows);
	fputc('\n', r->rows);
	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "{\"file\":");
	fa_json_put_string(&b, r->file, strlen(r->file));
	fa_buf_printf(&b, ",\"line\":%llu,\"sqlstate\":\"%s\",\"error\":",
		      (unsigned long long)line, sqlstate);
	fa_json_put_string(&b, message, strlen(message));
	fa_buf_puts(&b, "}\n");
	fwrite(b.data, 1, b.len, r->log);
	fa_buf_release(&b);
}

/* A lost connection, a reconnection, a batch looked up: a line on stderr. */
static void on_notice(void *ctx, const char *message)
{
	const struct sinks *r = ctx;

	fprintf(stderr, "%sfa-copy: %s\n", r->bar ? "\r\033[K" : "", message);
}

static int open_rejects(struct sinks *r, const char *path)
{
	char log[4096];

	snprintf(log, sizeof(log), "%s.log", path);
	if (!(r->rows = fopen(path, "a")))
		return copy_fail(FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
	if (!(r->log = fopen(log, "a")))
		return copy_fail(FA_EINPUT, "cannot open '%s': %s", log, strerror(errno));
	return 0;
}

static void human(double v, char *out, size_t n)
{
	if (v >= 1e9)
		snprintf(out, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

static void show_progress(struct progress *p, bool last)
{
	struct fa_copyin_stats st;
	double secs = (double)(fa_now_ns() - p->t0) / 1e9;
	char rows[32], rate[32];

	fa_copyin_stats(p->load, &st);
	if (p->kind == 2) {
		fprintf(stderr, "{\"file\":\"%s\",\"records\":%llu,\"loaded\":%llu,\"rejected\":%llu,"
			"\"bytes\":%llu,\"seconds\":%.1f}\n", p->in->name,
			(unsigned long long)st.records, (unsigned long long)st.loaded,
			(unsigned long long)st.rejected, (unsigned long long)p->in->read, secs);
		return;
	}
	human((double)st.loaded, rows, sizeof(rows));
	human(secs > 0 ? (double)st.loaded / secs : 0, rate, sizeof(rate));
	fprintf(stderr, "\r\033[K%s rows  %.1f MB  %s rows/s  %.1f MB/s", rows,
		(double)p->in->read / 1e6, rate, secs > 0 ? (double)p->in->read / 1e6 / secs : 0);
	if (p->in->size) {
		double frac = (double)p->in->read / (double)p->in->size;
		double eta = frac > 0.001 ? secs / frac - secs : 0;

		fprintf(stderr, "  %3.0f%%  ETA %d:%02d", frac * 100, (int)eta / 60, (int)eta % 60);
	}
	if (last)
		fputs("\r\033[K", stderr);
}

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += p->kind == 2 ? 1 : 0;
		ts.tv_nsec += p->kind == 2 ? 0 : 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (!p->stop)
			show_progress(p, false);
	}
	pthread_mutex_unlock(&p->mu);
	show_progress(p, true);
	return NULL;
}

static void progress_start(struct progress *p, int kind, struct fa_copyin *load,
			   struct input *in)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	if (!kind)
		return;
	p->load = load;
	p->in = in;
	p->t0 = fa_now_ns();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_create(&p->thread, NULL, progress_main, p);
}

static void progress_stop(struct progress *p)
{
	if (!p->kind)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

/* Reads until n bytes or the end; -1 on error. */
static ssize_t read_some(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR && !copy_interrupted)
			continue;
		if (r < 0)
			return copy_interrupted && got ? (ssize_t)got : -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Decompresses raw[0..n) into the load, in bounded pieces. */
static enum fa_err feed_unz(struct fa_copyin *load, struct fa_unz *u, const char *raw,
			    size_t n, struct fa_buf *out, struct fa_error *err)
{
	size_t off = 0, used;
	enum fa_err rc;

	do {
		used = 0;
		rc = fa_unz_feed(u, raw + off, n - off, &used, out, err);
		off += used;
		if (rc && rc != FA_ENOMEM)
			return rc;
		if (out->len && (rc = fa_copyin_feed(load, out->data, out->len, err)))
			return rc;
		fa_buf_reset(out);
	} while (off < n || u->more);
	return FA_OK;
}

static enum fa_err feed_input(struct fa_copyin *load, struct input *in, struct fa_error *err)
{
	char *raw = malloc(READ_CHUNK);
	struct fa_unz u = { 0 };
	struct fa_buf out;
	enum fa_zkind kind;
	enum fa_err rc = FA_OK;
	ssize_t n;

	fa_buf_init(&out, 16u << 20);
	n = raw ? read_some(in->fd, raw, READ_CHUNK) : -1;
	kind = n > 0 ? fa_z_detect(raw, (size_t)n) : FA_Z_NONE;
	if (kind != FA_Z_NONE)
		rc = fa_unz_init(&u, kind, 0, err);
	while (!rc && n > 0 && !copy_interrupted) {
		in->read += (uint64_t)n;
		rc = kind == FA_Z_NONE ? fa_copyin_feed(load, raw, (size_t)n, err) :
			feed_unz(load, &u, raw, (size_t)n, &out, err);
		if (!rc && !fa_copyin_input_done(load))
			n = read_some(in->fd, raw, READ_CHUNK);
		else
			n = 0;
	}
	if (n < 0 && !rc && !copy_interrupted)
		rc = fa_error_set(err, FA_EINPUT, "cannot read: %s", strerror(errno));
	/* a load that stopped at --limit read only part of the stream, on purpose */
	if (!rc && !copy_interrupted && kind != FA_Z_NONE && !fa_copyin_input_done(load))
		rc = fa_unz_finish(&u, err);
	if (kind != FA_Z_NONE)
		fa_unz_release(&u);
	fa_buf_release(&out);
	free(raw);
	return rc;
}

static enum fa_copyin_format engine_format(const struct copy_args *a, char *delim)
{
	*delim = a->delim;
	switch (a->format) {
	case CF_TSV:
		if (!*delim)
			*delim = '\t';
		return FA_CI_TEXT;
	case CF_TEXT: return FA_CI_TEXT;
	case CF_NDJSON: return FA_CI_NDJSON;
	default: return FA_CI_CSV;
	}
}

static void engine_opts(const struct copy_args *a, struct fa_copyin_opts *o, struct sinks *r)
{
	memset(o, 0, sizeof(*o));
	o->target = &a->target;
	o->table = a->operands[0];
	o->columns = a->columns;
	o->format = engine_format(a, &o->delim);
	o->quote = a->quote;
	o->null_str = a->null_str;
	o->header = a->header > 0;
	o->header_match = a->header == 2;
	o->jobs = a->jobs;
	o->batch_rows = a->batch_rows;
	o->skip = a->skip;
	o->limit = a->limit;
	o->atomic = a->atomic;
	o->truncate = a->truncate;
	o->freeze = a->freeze;
	o->create = a->create;
	o->binary = a->encode != 1;
	o->binary_only = a->encode == 2;
	o->rejects = a->rejects != NULL;
	o->retries = a->retries;
	o->interrupted = &copy_interrupted;
	o->on_reject = on_reject;
	o->on_notice = on_notice;
	o->ctx = r;
}

static void summary_json(const struct copy_args *a, const struct input *in,
			 const struct fa_copyin_stats *st, double secs, const char *error)
{
	struct fa_buf b;

	fa_buf_init(&b, 0);
	fa_buf_puts(&b, "{\"direction\":\"in\",\"file\":");
	fa_json_put_string(&b, in->name, strlen(in->name));
	fa_buf_puts(&b, ",\"table\":");
	fa_json_put_string(&b, a->operands[0], strlen(a->operands[0]));
	fa_buf_printf(&b, ",\"records\":%llu,\"loaded\":%llu,\"rejected\":%llu,"
		      "\"skipped_resume\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"rows_per_s\":%.0f,"
		      "\"batches_committed\":%llu,\"reconnects\":%llu,\"encoding\":\"%s\","
		      "\"committed_lines\":",
		      (unsigned long long)st->records, (unsigned long long)st->loaded,
		      (unsigned long long)st->rejected, (unsigned long long)st->skipped_resume,
		      (unsigned long long)in->read, secs, secs > 0 ? (double)st->loaded / secs : 0.0,
		      (unsigned long long)st->batches_committed, (unsigned long long)st->reconnects,
		      st->binary_used ? "binary" : "text");
	fa_json_put_string(&b, st->committed, strlen(st->committed));
	fa_buf_puts(&b, ",\"unknown_lines\":");
	fa_json_put_string(&b, st->unknown, strlen(st->unknown));
	fa_buf_puts(&b, ",\"error\":");
	if (error)
		fa_json_put_string(&b, error, strlen(error));
	else
		fa_buf_puts(&b, "null");
	fa_buf_puts(&b, "}\n");
	fputs(b.data, stderr);
	fa_buf_release(&b);
}

static void summary_text(const struct copy_args *a, const struct input *in,
			 const struct fa_copyin_stats *st, double secs, enum fa_err rc)
{
	char rate[32];

	human(secs > 0 ? (double)st->loaded / secs : 0, rate, sizeof(rate));
	fprintf(stderr, "fa-copy: %s %llu row%s into %s from %s in %.2f s (%s rows/s, %.1f MB/s%s)",
		rc ? "committed" : "loaded", (unsigned long long)st->loaded,
		st->loaded == 1 ? "" : "s", a->operands[0], in->name, secs, rate,
		secs > 0 ? (double)in->read / 1e6 / secs : 0, st->binary_used ? ", binary COPY" : "");
	if (st->skipped_resume)
		fprintf(stderr, "; %llu already loaded by an earlier run",
			(unsigned long long)st->skipped_resume);
	if (st->rejected)
		fprintf(stderr, "; %llu rejected: see %s and %s.log", (unsigned long long)st->rejected,
			a->rejects, a->rejects);
	if (st->reconnects)
		fprintf(stderr, "; %llu reconnection%s", (unsigned long long)st->reconnects,
			st->reconnects == 1 ? "" : "s");
	fputc('\n', stderr);
	if (rc && rc != FA_EUSAGE) {
		fprintf(stderr, "fa-copy: committed input lines: %s; ",
			st->committed[0] ? st->committed : "none");
		if (st->unknown[0])
			fprintf(stderr, "commit unknown (the connection was lost before COMMIT "
				"answered): %s; ", st->unknown);
		fprintf(stderr, "nothing else of %s was loaded%s\n", in->name,
			a->atomic ? " (--atomic: all or nothing)" :
			a->resume ? ": run the same command again to load the rest" :
			" (with --resume ID a rerun loads only the rest)");
	}
}

static enum fa_err open_input(struct input *in, const char *name, struct fa_error *err)
{
	struct stat sb;

	in->name = name;
	in->read = 0;
	in->size = 0;
	in->fd = 0;
	if (strcmp(name, "-") == 0) {
		in->name = "stdin";
	} else if ((in->fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
		return fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", name, strerror(errno));
	}
	if (fstat(in->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		in->size = (uint64_t)sb.st_size;
	return FA_OK;
}

/* Loads one input; returns its exit status. */
static int load_one(struct copy_args *a, const char *name, struct sinks *r, int progress,
		    bool first)
{
	struct fa_error err = { 0 }, ferr = { 0 };
	struct fa_copyin_opts o;
	struct fa_copyin_stats st;
	struct fa_copyin *load;
	struct progress p;
	struct input in;
	char resume[1024];
	enum fa_err rc, frc;
	uint64_t t0 = fa_now_ns();

	if ((rc = open_input(&in, name, &err)))
		return copy_fail(rc, "%s", err.msg);
	r->file = in.name;
	r->bar = progress == 1;
	engine_opts(a, &o, r);
	o.truncate = a->truncate && first;      /* several files: empty the table once */
	if (a->resume) {
		/* several inputs: each keeps its own batches */
		snprintf(resume, sizeof(resume), "%s%s%s", a->resume, a->noperands > 2 ? ":" : "",
			 a->noperands > 2 ? in.name : "");
		o.resume_id = resume;
	}
	if (!(load = fa_copyin_new(&o, &err))) {
		if (in.fd > 0)
			close(in.fd);
		return copy_fail(err.code, "%s", err.msg);
	}
	progress_start(&p, progress, load, &in);
	rc = feed_input(load, &in, &err);
	if (copy_interrupted)
		fa_copyin_cancel(load);
	frc = fa_copyin_finish(load, &ferr);
	progress_stop(&p);
	/* the engine's own account of a failure beats "the load stopped" */
	if (frc && (!rc || rc == FA_EWORK)) {
		rc = frc;
		err = ferr;
	}
	fa_copyin_stats(load, &st);
	if (rc && rc != FA_EINTR)
		fprintf(stderr, "fa-copy: %s%s %s\n", in.name,
			strncmp(err.msg, "line", 4) ? ":" : "", err.msg);
	if (!a->quiet && a->summary_json)
		summary_json(a, &in, &st, (double)(fa_now_ns() - t0) / 1e9, rc ? err.msg : NULL);
	else if (!a->quiet || rc)
		summary_text(a, &in, &st, (double)(fa_now_ns() - t0) / 1e9, rc);
	fa_copyin_free(load);
	if (in.fd > 0)
		close(in.fd);
	if (rc == FA_EINTR || copy_interrupted)
		return FA_EINTR;
	return rc ? (int)rc : st.rejected ? FA_EWORK : 0;
}

int copy_in(struct copy_args *a)
{
	struct sinks r = { 0 };
	char *stdin_only[] = { "-" };
	char **files = a->noperands > 1 ? a->operands + 1 : stdin_only;
	int nfiles = a->noperands > 1 ? a->noperands - 1 : 1, rc = 0, progress;

	if (a->noperands < 1)
		return copy_fail(FA_EUSAGE, "in needs a TABLE (then files, or stdin)");
	if (a->nparams)
		return copy_fail(FA_EUSAGE, "in takes no parameters after --");
	if (a->retries_set && !a->resume)
		return copy_fail(FA_EUSAGE, "--retries needs --resume: only the progress table tells "
				 "whether a batch whose COMMIT went unanswered was loaded");
	if (a->format == CF_JSON || a->format == CF_BINARY)
		return copy_fail(FA_EUSAGE, "in reads csv, tsv, text or ndjson%s",
				 a->format == CF_BINARY ? " (binary input: use psql's \\copy for now)" : "");
	if (a->rejects && (rc = open_rejects(&r, a->rejects)))
		return rc;
	progress = a->quiet || a->progress == 3 ? 0 : a->progress == 2 ? 2 :
		a->progress == 1 || isatty(2) ? 1 : 0;
	for (int i = 0; i < nfiles && !rc; i++)
		rc = load_one(a, files[i], &r, progress, i == 0);
	if (r.rows)
		fclose(r.rows);
	if (r.log)
		fclose(r.log);
	return rc;
}
