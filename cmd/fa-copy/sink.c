#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SINK_FLUSH_AT (256 * 1024)

enum fa_err sink_open(struct sink *s, const char *path, enum fa_zkind kind,
		      struct fa_error *err)
{
	memset(s, 0, sizeof(*s));
	fa_buf_init(&s->buf, 0);
	s->fd = 1;
	s->name = "stdout";
	if (path && strcmp(path, "-") != 0) {
		s->name = path;
		s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->fd < 0)
			return fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
	}
	return fa_z_init(&s->z, kind, 0, err);
}

static enum fa_err drain(struct sink *s, struct fa_error *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < s->buf.len) {
		n = write(s->fd, s->buf.data + off, s->buf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fa_error_set(err, FA_EWORK, "cannot write %s: %s", s->name, strerror(errno));
		off += (size_t)n;
	}
	fa_buf_reset(&s->buf);
	return FA_OK;
}

enum fa_err sink_write(struct sink *s, const void *p, size_t n, struct fa_error *err)
{
	enum fa_err rc;

	s->bytes += n;
	rc = s->z.kind == FA_Z_NONE ? fa_buf_append(&s->buf, p, n) :
		fa_z_write(&s->z, p, n, &s->buf, err);
	if (rc)
		return rc;
	return s->buf.len >= SINK_FLUSH_AT ? drain(s, err) : FA_OK;
}

enum fa_err sink_flush(struct sink *s, struct fa_error *err)
{
	return drain(s, err);
}

enum fa_err sink_close(struct sink *s, struct fa_error *err)
{
	enum fa_err rc = FA_OK;

	if (s->z.kind != FA_Z_NONE)
		rc = fa_z_finish(&s->z, &s->buf, err);
	if (!rc)
		rc = drain(s, err);
	if (!rc && s->fd > 2 && close(s->fd) < 0)
		rc = fa_error_set(err, FA_EWORK, "cannot write %s: %s", s->name, strerror(errno));
	fa_z_release(&s->z);
	fa_buf_release(&s->buf);
	return rc;
}
