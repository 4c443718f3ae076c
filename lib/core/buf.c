#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fa_buf_init(struct fa_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void fa_buf_release(struct fa_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void fa_buf_reset(struct fa_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

enum fa_err fa_buf_grow(struct fa_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return FA_ENOMEM;
	need = b->len + n + 1;
	if (need <= b->cap)
		return FA_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return FA_ENOMEM;
	b->data = p;
	b->cap = cap;
	return FA_OK;
}

enum fa_err fa_buf_append(struct fa_buf *b, const void *p, size_t n)
{
	if (fa_buf_grow(b, n) != FA_OK)
		return FA_ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return FA_OK;
}

enum fa_err fa_buf_puts(struct fa_buf *b, const char *s)
{
	return fa_buf_append(b, s, strlen(s));
}

enum fa_err fa_buf_putc(struct fa_buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return FA_OK;
	}
	return fa_buf_append(b, &c, 1);
}

enum fa_err fa_buf_vprintf(struct fa_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL,
		      b->data ? b->cap - b->len : 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return FA_EWORK;
	if (b->data && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return FA_OK;
	}
	if (fa_buf_grow(b, (size_t)n) != FA_OK)
		return FA_ENOMEM;
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
	return FA_OK;
}

enum fa_err fa_buf_printf(struct fa_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum fa_err rc;

	va_start(ap, fmt);
	rc = fa_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void fa_buf_consume(struct fa_buf *b, size_t n)
{
	if (n >= b->len) {
		fa_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *fa_buf_detach(struct fa_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
