/*
 * hstatic: files of one directory over lib/http/hserver; see hstatic.h.
 * The HTTP rules (paths, types, ETags, 304) are lib/http/hfile's; this is
 * the opening, the checking and the sending.
 */
#include "http/hstatic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "http/hencode.h"
#include "http/hfile.h"

/* Bytes read and handed to the response at a time. */
#define CHUNK (64 * 1024)

struct fa_hstatic {
	int root;                       /* the directory, O_PATH */
	char real[PATH_MAX];            /* its real path, for the check without openat2 */
	bool openat2;                   /* the kernel has it */
};

/* One file on its way out: read as the client takes it, buf holding a piece. */
struct transfer {
	struct fa_hreq *rq;
	int fd;
	off_t off, left;
	char buf[];                     /* CHUNK bytes, or the whole of a smaller file */
};

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

struct fa_hstatic *fa_hstatic_new(const char *dir, struct fa_error *err)
{
	struct fa_hstatic *st = calloc(1, sizeof(*st));
	int probe;

	if (!st) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	if ((st->root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !realpath(dir, st->real)) {
		fa_error_set(err, FA_EINPUT, "cannot serve '%s': %s", dir, strerror(errno));
		fa_hstatic_free(st);
		return NULL;
	}
	/* seccomp filters and old kernels answer ENOSYS or EPERM */
	probe = sys_openat2(st->root, ".", O_PATH | O_CLOEXEC, RESOLVE_BENEATH);
	st->openat2 = probe >= 0;
	if (probe >= 0)
		close(probe);
	return st;
}

void fa_hstatic_free(struct fa_hstatic *st)
{
	if (!st)
		return;
	if (st->root >= 0)
		close(st->root);
	free(st);
}

/* Without openat2: whether the file fd opened lies under the directory. */
static bool beneath(const struct fa_hstatic *st, int fd)
{
	char link[64], real[PATH_MAX];
	size_t n = strlen(st->real);
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((len = readlink(link, real, sizeof(real) - 1)) < 0)
		return false;
	real[len] = '\0';
	return !strncmp(real, st->real, n) &&
	       (real[n] == '/' || real[n] == '\0' || (n == 1 && st->real[0] == '/'));
}

/* Opens rel ("" is the directory itself) beneath the directory; -1 with errno. */
static int open_beneath(const struct fa_hstatic *st, const char *rel)
{
	uint64_t flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd;

	if (!*rel)
		rel = ".";
	if (st->openat2)
		return sys_openat2(st->root, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if ((fd = openat(st->root, rel, (int)flags)) >= 0 && !beneath(st, fd)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

/* The status and reason for a file that did not open. */
static int open_failed(const char *path, size_t n, int e, struct fa_error *err)
{
	if (e == EXDEV || e == ELOOP)
		fa_error_set(err, FA_EINPUT, "'%.*s' leads outside the served directory",
			     (int)n, path);
	else if (e == EACCES)
		fa_error_set(err, FA_EINPUT, "'%.*s': %s", (int)n, path, strerror(e));
	else
		fa_error_set(err, FA_EINPUT, "no such file: '%.*s'", (int)n, path);
	return e == EACCES ? 403 : 404;
}

static void transfer_free(struct transfer *t)
{
	close(t->fd);
	free(t);
}

static void resume(struct fa_hreq *rq, void *arg);

/* Sends what the client has room for; ends at the file's end. */
static void pump(struct transfer *t)
{
	while (t->left > 0 && fa_hres_writable(t->rq)) {
		size_t want = t->left < CHUNK ? (size_t)t->left : CHUNK;
		ssize_t n = pread(t->fd, t->buf, want, t->off);

		if (n <= 0) {           /* it shrank or failed: the body cannot be whole */
			fa_hres_fail(t->rq);
			transfer_free(t);
			return;
		}
		fa_hres_write(t->rq, t->buf, (size_t)n);
		t->off += n;
		t->left -= n;
	}
	if (t->left > 0) {
		fa_hres_on_drain(t->rq, resume, t);
		return;
	}
	fa_hres_end(t->rq);
	transfer_free(t);
}

static void resume(struct fa_hreq *rq, void *arg)
{
	pump(arg);
}

/* The client left halfway. */
static void gone(struct fa_hreq *rq, void *arg)
{
	transfer_free(arg);
	fa_hres_end(rq);
}

/* A directory asked for without its '/': where it is, so relative links work. */
static void redirect_dir(struct fa_hreq *rq)
{
	struct fa_buf loc;

	fa_buf_init(&loc, 0);
	/* never "//host": a path of empty segments would name another site */
	fa_buf_printf(&loc, "/%.*s/", (int)rq->path_len - 1, rq->path + 1);
	while (loc.len > 2 && loc.data[1] == '/')
		memmove(loc.data + 1, loc.data + 2, loc.len-- - 1);
	if (rq->query)
		fa_buf_printf(&loc, "?%.*s", (int)rq->query_len, rq->query);
	fa_hres_header(rq, "Location", loc.data);
	fa_hres_start(rq, 301, NULL, 0);
	fa_hres_end(rq);
	fa_buf_release(&loc);
}

/*
 * The validators, and 304 when the request's match them.  A coded
 * representation's tag is the one the client holds (see lib/http/hencode).
 */
static bool not_modified(struct fa_hreq *rq, const struct stat *sb, const char *ctype)
{
	const struct fa_h1_header *inm = fa_hreq_header(rq, "if-none-match");
	const struct fa_h1_header *ims = fa_hreq_header(rq, "if-modified-since");
	int coding = fa_hres_coding(rq, ctype, (int64_t)sb->st_size);
	char etag[FA_HFILE_ETAG_MAX], coded[FA_HFILE_ETAG_MAX + 8], date[30];

	fa_hfile_etag(etag, (uint64_t)sb->st_ino, (int64_t)sb->st_size, sb->st_mtim);
	fa_henc_etag(coded, sizeof(coded), etag, (enum fa_zkind)coding);
	fa_h1_date(date, sb->st_mtime);
	fa_hres_header(rq, "Last-Modified", date);
	fa_hres_header(rq, "Cache-Control", "no-cache");
	if (!fa_hfile_not_modified(inm ? inm->value : NULL, inm ? inm->value_len : 0,
				   ims ? ims->value : NULL, ims ? ims->value_len : 0, coded,
				   sb->st_mtime)) {
		fa_hres_header(rq, "ETag", etag);       /* the server codes it with the body */
		return false;
	}
	fa_hres_header(rq, "ETag", coded);
	if (fa_henc_compressible(ctype))
		fa_hres_header(rq, "Vary", "Accept-Encoding");
	fa_hres_start(rq, 304, NULL, 0);
	fa_hres_end(rq);
	return true;
}

/*
 * The part of the file a Range asks for, in *first and *len: 206 (the
 * Content-Range header added), 200 for the whole file, or 416.
 */
static int range_of(struct fa_hreq *rq, const struct stat *sb, int64_t *first, int64_t *len)
{
	const struct fa_h1_header *range = fa_hreq_header(rq, "range");
	const struct fa_h1_header *if_range = fa_hreq_header(rq, "if-range");
	char etag[FA_HFILE_ETAG_MAX], cr[80];
	int64_t last = 0;
	int r;

	*first = 0;
	*len = sb->st_size;
	fa_hfile_etag(etag, (uint64_t)sb->st_ino, (int64_t)sb->st_size, sb->st_mtim);
	if (!range || rq->head ||
	    (if_range && !fa_hfile_if_range(if_range->value, if_range->value_len, etag,
					    sb->st_mtime)) ||
	    !(r = fa_hfile_range(range->value, range->value_len, sb->st_size, first, &last)))
		return 200;
	if (r < 0) {
		snprintf(cr, sizeof(cr), "bytes */%lld", (long long)sb->st_size);
		fa_hres_header(rq, "Content-Range", cr);
		return 416;
	}
	snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)*first, (long long)last,
		 (long long)sb->st_size);
	fa_hres_header(rq, "Content-Range", cr);
	*len = last - *first + 1;
	return 206;
}

/*
 * Answers with the open regular file fd named rel, whole or the range
 * asked for, and returns 0; or 416 for the caller to answer.  Takes fd.
 */
static int send_file(struct fa_hreq *rq, int fd, const struct stat *sb, const char *rel,
		     struct fa_error *err)
{
	const char *ctype = fa_hfile_type(rel);
	struct transfer *t;
	int64_t first, len;
	int status;

	if (not_modified(rq, sb, ctype)) {
		close(fd);
		return 0;
	}
	fa_hres_header(rq, "Accept-Ranges", "bytes");
	if ((status = range_of(rq, sb, &first, &len)) == 416) {
		close(fd);
		fa_error_set(err, FA_EINPUT, "the range is past the end of the file (%lld bytes)",
			     (long long)sb->st_size);
		return 416;
	}
	fa_hres_start(rq, status, ctype, len);
	if (rq->head || !len || !(t = malloc(sizeof(*t) + (size_t)(len < CHUNK ? len : CHUNK)))) {
		if (rq->head || !len)
			fa_hres_end(rq);
		else
			fa_hres_fail(rq);       /* no memory to send it with */
		close(fd);
		return 0;
	}
	*t = (struct transfer){ .rq = rq, .fd = fd, .off = first, .left = len };
	fa_hres_on_gone(rq, gone, t);
	pump(t);
	return 0;
}

/* Opens rel and looks at it; fd -1 and the status to answer when that fails. */
static int open_stat(const struct fa_hstatic *st, const struct fa_hreq *rq, const char *rel,
		     struct stat *sb, int *status, struct fa_error *err)
{
	int fd = open_beneath(st, rel);

	if (fd < 0) {
		*status = open_failed(rq->path, rq->path_len, errno, err);
		return -1;
	}
	if (fstat(fd, sb)) {
		*status = open_failed(rq->path, rq->path_len, errno, err);
		close(fd);
		return -1;
	}
	return fd;
}

int fa_hstatic_serve(struct fa_hstatic *st, struct fa_hreq *rq, struct fa_error *err)
{
	char rel[PATH_MAX];
	struct stat sb;
	int fd, status = 404;

	if (!rq->head && !(rq->method_len == 3 && !memcmp(rq->method, "GET", 3))) {
		fa_hres_header(rq, "Allow", "GET, HEAD");
		fa_error_set(err, FA_EINPUT, "files take GET and HEAD only");
		return 405;
	}
	if (fa_hfile_path(rq->path, rq->path_len, rel, sizeof(rel) - 16, err))
		return 400;
	if (fa_hfile_hidden(rel))
		return open_failed(rq->path, rq->path_len, ENOENT, err);
	if ((fd = open_stat(st, rq, rel, &sb, &status, err)) < 0)
		return status;
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		if (rq->path[rq->path_len - 1] != '/') {
			redirect_dir(rq);
			return 0;
		}
		strcat(rel, "index.html");      /* rel is "" or ends in '/' */
		if ((fd = open_stat(st, rq, rel, &sb, &status, err)) < 0)
			return status;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return open_failed(rq->path, rq->path_len, ENOENT, err);
	}
	return send_file(rq, fd, &sb, rel, err);
}
