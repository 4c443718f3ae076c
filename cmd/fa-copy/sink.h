/*
 * sink: where fa-copy out writes: stdout or a file, compressed by
 * --compress or the file's .gz/.zst suffix, buffered in large writes.
 */
#ifndef FACOPY_SINK_H
#define FACOPY_SINK_H

#include <stdint.h>

#include "core/buf.h"
#include "core/zcodec.h"

struct sink {
	int fd;
	const char *name;               /* for messages: the path or "stdout" */
	struct fa_z z;
	struct fa_buf buf;
	uint64_t bytes;                 /* uncompressed bytes written */
};

/* Opens path (NULL or "-": stdout) with compression kind. */
enum fa_err sink_open(struct sink *s, const char *path, enum fa_zkind kind,
		      struct fa_error *err);
enum fa_err sink_write(struct sink *s, const void *p, size_t n, struct fa_error *err);
/* Writes out what is buffered (uncompressed sinks), keeping the file open. */
enum fa_err sink_flush(struct sink *s, struct fa_error *err);
/* Ends the compressed stream, writes everything, closes a file. */
enum fa_err sink_close(struct sink *s, struct fa_error *err);

#endif
